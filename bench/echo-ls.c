/* echo-ls: echo server on LsLocalServer, written the way the README teaches
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * new-connection -> next_pending_connection; ready-read -> read_all ->
 * write_bytes; disconnected -> unref. Nothing tuned.
 *
 * Usage: echo-ls SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <ls/ls.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>

static void
on_ready_read (LsLocalSocket *socket,
               gpointer       user_data)
{
  g_autoptr(GBytes) data = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, data);
}

static void
on_disconnected (LsLocalSocket *socket,
                 gpointer       user_data)
{
  g_object_unref (socket);
}

static void
on_new_connection (LsLocalServer *server,
                   gpointer       user_data)
{
  LsLocalSocket *socket = ls_local_server_next_pending_connection (server);

  if (socket == NULL)
    return;
  g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), NULL);
  g_signal_connect (socket, "disconnected", G_CALLBACK (on_disconnected), NULL);
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
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), NULL);
  if (!ls_local_server_listen (server, argv[1], &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_unix_signal_add (SIGINT, on_sigterm, loop);

  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);

  ls_local_server_close (server);
  return 0;
}
