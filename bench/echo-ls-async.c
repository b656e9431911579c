/* echo-ls-async: echo server on LsLocalServer written with the asynchronous calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * accept_async in a loop; per connection read_bytes_async (64 KiB) ->
 * write_all_async -> read again, as echo-gio does with GIO streams. An
 * empty read (end of stream) or an error ends the connection. Nothing tuned.
 *
 * Built a second time with -DECHO_CANCELLABLE as echo-ls-async-cancellable:
 * the same, with a GCancellable per connection passed to every call (as a
 * server does that can cancel a connection's I/O), never cancelled: what a
 * cancellable costs when nothing is cancelled.
 *
 * Usage: echo-ls-async SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <ls/ls.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define READ_SIZE (64 * 1024)

#ifdef ECHO_CANCELLABLE
/* The connection's cancellable travels as the callbacks' user data. */
# define CONN_CANCELLABLE(user_data) ((GCancellable *) (user_data))
# define CONN_NEW_DATA() ((gpointer) g_cancellable_new ())
# define CONN_FREE_DATA(user_data) g_object_unref (user_data)
#else
# define CONN_CANCELLABLE(user_data) NULL
# define CONN_NEW_DATA() NULL
# define CONN_FREE_DATA(user_data) ((void) (user_data))
#endif

static void on_read (GObject *source, GAsyncResult *result, gpointer user_data);

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  LsLocalSocket *socket = LS_LOCAL_SOCKET (source);

  if (!ls_local_socket_write_all_finish (socket, result, NULL))
    {
      CONN_FREE_DATA (user_data);
      g_object_unref (socket);
      return;
    }
  ls_local_socket_read_bytes_async (socket, READ_SIZE, CONN_CANCELLABLE (user_data), on_read,
                                    user_data);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LsLocalSocket *socket = LS_LOCAL_SOCKET (source);
  g_autoptr(GBytes) data = ls_local_socket_read_bytes_finish (socket, result, NULL);

  if (data == NULL || g_bytes_get_size (data) == 0)
    {
      /* The end of the stream (or an error): done with this connection. */
      CONN_FREE_DATA (user_data);
      g_object_unref (socket);
      return;
    }
  ls_local_socket_write_all_async (socket, data, CONN_CANCELLABLE (user_data), on_written,
                                   user_data);
}

static void
on_accepted (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  LsLocalServer *server = LS_LOCAL_SERVER (source);
  g_autoptr(GError) error = NULL;
  LsLocalSocket *socket = ls_local_server_accept_finish (server, result, &error);
  gpointer conn_data;

  if (socket == NULL)
    {
      if (ls_local_server_is_listening (server))
        fprintf (stderr, "accept: %s\n", error->message);
      return;
    }
  /* The socket reference goes with the read/write chain. */
  conn_data = CONN_NEW_DATA ();
  ls_local_socket_read_bytes_async (socket, READ_SIZE, CONN_CANCELLABLE (conn_data), on_read,
                                    conn_data);
  ls_local_server_accept_async (server, NULL, on_accepted, NULL);
}

static gboolean
on_sigterm (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(LsLocalServer) server = NULL;
  struct rlimit rl;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  signal (SIGPIPE, SIG_IGN);

  loop = g_main_loop_new (NULL, FALSE);
  server = ls_local_server_new ();
  /* As echo-epoll and echo-uv: the kernel's largest backlog, so that
   * run-bench --idle 100000 queues connections in the same batches for
   * every server (the default, 50, as Qt's, works too, only with more
   * context switches while the load generator connects). */
  ls_local_server_set_listen_backlog_size (server, SOMAXCONN);
  if (!ls_local_server_listen (server, argv[1], &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  ls_local_server_accept_async (server, NULL, on_accepted, NULL);
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_unix_signal_add (SIGINT, on_sigterm, loop);

  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);

  ls_local_server_close (server);
  return 0;
}
