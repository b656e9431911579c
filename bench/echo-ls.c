/* echo-ls: echo server on LsLocalServer, written the way the README teaches
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * new-connection -> next_pending_connection; ready-read -> read_all ->
 * write_bytes; disconnected -> unref. Nothing tuned.
 *
 * Usage: echo-ls SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include "echo-ls-main.h"

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

static void
start (LsLocalServer *server)
{
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), NULL);
}

int
main (int    argc,
      char **argv)
{
  return echo_ls_main (argc, argv, start);
}
