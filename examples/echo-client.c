/* echo-client.c: connects to an Ls (or Qt) server, sends a few messages and
 * prints the echoes, using the Qt-style blocking calls.
 *
 *   echo-client NAME [MESSAGE...]
 */
#include <ls/ls.h>

int
main (int   argc,
      char *argv[])
{
  static const char *default_messages[] = { "hello", "from", "Ls" };
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  const char **messages = default_messages;
  int n_messages = G_N_ELEMENTS (default_messages);

  if (argc < 2)
    {
      g_printerr ("usage: %s NAME [MESSAGE...]\n", argv[0]);
      return 2;
    }
  if (argc > 2)
    {
      messages = (const char **) argv + 2;
      n_messages = argc - 2;
    }

  ls_local_socket_connect_to_server (socket, argv[1]);
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_CONNECTED)
    {
      g_printerr ("client: %s\n", ls_local_socket_get_error_string (socket));
      return 1;
    }
  g_print ("client: connected to %s\n", ls_local_socket_get_full_server_name (socket));

  for (int i = 0; i < n_messages; i++)
    {
      gsize expected = strlen (messages[i]);
      GString *reply = g_string_new (NULL);

      ls_local_socket_write (socket, (const guint8 *) messages[i], expected);
      while (reply->len < expected && ls_local_socket_wait_for_ready_read (socket, 5000))
        {
          g_autoptr(GBytes) data = ls_local_socket_read_all (socket);
          g_string_append_len (reply, g_bytes_get_data (data, NULL), g_bytes_get_size (data));
        }
      if (reply->len != expected)
        {
          g_printerr ("client: no echo for '%s': %s\n", messages[i],
                      ls_local_socket_get_error_string (socket));
          g_string_free (reply, TRUE);
          return 1;
        }
      g_print ("client: sent '%s', got back '%s'\n", messages[i], reply->str);
      g_string_free (reply, TRUE);
    }

  ls_local_socket_disconnect_from_server (socket);
  g_print ("client: disconnected\n");
  return 0;
}
