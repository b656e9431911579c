/* consumer.c: a program built against Ls as a meson subproject
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ls/ls.h>
#include <glib/gstdio.h>
#include <string.h>

#if !LS_CHECK_VERSION (1, 2, 0)
# error "the subproject's headers are older than 1.2"
#endif

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ls-sub-XXXXXX", &error);
  g_autofree char *name = NULL;
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) conn = NULL;
  g_autoptr(GBytes) data = NULL;
  gboolean timed_out = FALSE;
  int ret = 1;

  if (ls_get_major_version () != LS_MAJOR_VERSION ||
      ls_get_minor_version () != LS_MINOR_VERSION ||
      ls_get_micro_version () != LS_MICRO_VERSION)
    {
      g_printerr ("runtime version differs from the headers\n");
      return 1;
    }
  g_print ("Ls %u.%u.%u\n", ls_get_major_version (), ls_get_minor_version (),
           ls_get_micro_version ());

  if (dir == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  name = g_build_filename (dir, "s", NULL);

  if (!ls_local_server_listen (server, name, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      goto out;
    }
  ls_local_socket_connect_to_server (client, name);
  if (!ls_local_socket_wait_for_connected (client, 5000))
    {
      g_printerr ("connect: %s\n", ls_local_socket_get_error_string (client));
      goto out;
    }
  if (!ls_local_server_wait_for_new_connection (server, 5000, &timed_out, &error))
    {
      g_printerr ("accept: %s\n", error ? error->message : "timed out");
      goto out;
    }
  conn = ls_local_server_next_pending_connection (server);
  ls_local_socket_write (client, (const guint8 *) "ping", 4);
  ls_local_socket_flush (client);
  if (conn == NULL || !ls_local_socket_wait_for_ready_read (conn, 5000))
    {
      g_printerr ("no data\n");
      goto out;
    }
  data = ls_local_socket_read_all (conn);
  if (g_bytes_get_size (data) != 4 || memcmp (g_bytes_get_data (data, NULL), "ping", 4) != 0)
    {
      g_printerr ("wrong data\n");
      goto out;
    }
  g_print ("ok: ping received through the subproject build\n");
  ret = 0;

out:
  if (conn != NULL)
    ls_local_socket_close (conn);
  ls_local_socket_close (client);
  ls_local_server_close (server);
  g_remove (name);
  g_rmdir (dir);
  return ret;
}
