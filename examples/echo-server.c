/* echo-server.c: an Ls echo server, the way a Qt programmer would write it.
 *
 *   echo-server NAME [--max-clients N]
 *
 * Listens on NAME (relative names live in $TMPDIR or /tmp, like Qt), echoes
 * every byte back, and exits after N clients have come and gone (default:
 * runs forever).
 */
#include <ls/ls.h>
#include <stdlib.h>

typedef struct
{
  GMainLoop *loop;
  int        clients_left;   /* < 0: unlimited */
} EchoServer;

static void
on_ready_read (LsLocalSocket *socket,
               gpointer       user_data)
{
  g_autoptr(GBytes) data = ls_local_socket_read_all (socket);

  g_print ("server: echoing %" G_GSIZE_FORMAT " bytes\n", g_bytes_get_size (data));
  ls_local_socket_write_bytes (socket, data);
}

static void
on_disconnected (LsLocalSocket *socket,
                 EchoServer    *server)
{
  g_print ("server: client left\n");
  /* The server handed us the only reference. */
  g_object_unref (socket);
  if (server->clients_left > 0 && --server->clients_left == 0)
    g_main_loop_quit (server->loop);
}

static void
on_new_connection (LsLocalServer *listener,
                   EchoServer    *server)
{
  LsLocalSocket *socket;

  while ((socket = ls_local_server_next_pending_connection (listener)) != NULL)
    {
      g_print ("server: new client\n");
      g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), NULL);
      g_signal_connect (socket, "disconnected", G_CALLBACK (on_disconnected), server);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LsLocalServer) listener = NULL;
  g_autoptr(GError) error = NULL;
  EchoServer server = { .clients_left = -1 };

  if (argc < 2)
    {
      g_printerr ("usage: %s NAME [--max-clients N]\n", argv[0]);
      return 2;
    }
  if (argc >= 4 && g_str_equal (argv[2], "--max-clients"))
    server.clients_left = atoi (argv[3]);

  listener = ls_local_server_new ();
  ls_local_server_set_socket_options (listener, LS_SOCKET_OPTION_USER_ACCESS);
  if (!ls_local_server_listen (listener, argv[1], &error))
    {
      g_printerr ("server: %s\n", error->message);
      return 1;
    }
  g_print ("server: listening on %s\n", ls_local_server_get_full_server_name (listener));

  server.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (listener, "new-connection", G_CALLBACK (on_new_connection), &server);
  g_main_loop_run (server.loop);
  g_main_loop_unref (server.loop);
  return 0;
}
