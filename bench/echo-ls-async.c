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
#include "echo-ls-main.h"

#include <stdio.h>

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

static void
start (LsLocalServer *server)
{
  ls_local_server_accept_async (server, NULL, on_accepted, NULL);
}

int
main (int    argc,
      char **argv)
{
  return echo_ls_main (argc, argv, start);
}
