/* ls-activation-helper.c: a socket-activated program for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ls-activation-helper check NAME   listen_activated (NAME, "-" for the
 *                                     first), print the outcome, close
 *   ls-activation-helper echo NAME    the same, then echo one connection
 *                                     back until it ends
 *
 * Prints “listening FULL-NAME SERVER-NAME” or “error CODE MESSAGE”, then
 * after closing “closed FILE-STILL-THERE(0|1)”. Run it under
 * systemd-socket-activate, or with descriptors placed at 3.. and the
 * LISTEN_* variables set.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <ls/ls.h>

static void
on_ready_read (LsLocalSocket *socket, gpointer user_data)
{
  g_autoptr(GBytes) data = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, data);
}

static void
on_disconnected (LsLocalSocket *socket, gpointer user_data)
{
  g_main_loop_quit (user_data);
}

int
main (int argc, char **argv)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  const char *name;
  struct stat st;

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s check|echo NAME\n", argv[0]);
      return 2;
    }
  name = strcmp (argv[2], "-") == 0 ? NULL : argv[2];
  if (!ls_local_server_listen_activated (server, name, &error))
    {
      printf ("error %d %s\n", error->code, error->message);
      /* The recorded error matches. */
      if (ls_local_server_get_server_error (server) != (LsSocketError) error->code)
        return 3;
      return 0;
    }
  printf ("listening %s %s\n", ls_local_server_get_full_server_name (server),
          ls_local_server_get_server_name (server));
  fflush (stdout);
  path = g_strdup (ls_local_server_get_full_server_name (server));

  if (strcmp (argv[1], "echo") == 0)
    {
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      g_autoptr(LsLocalSocket) socket = NULL;
      gboolean timed_out = FALSE;

      if (!ls_local_server_wait_for_new_connection (server, 30000, &timed_out, NULL) ||
          (socket = ls_local_server_next_pending_connection (server)) == NULL)
        return 4;
      g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), NULL);
      g_signal_connect (socket, "disconnected", G_CALLBACK (on_disconnected), loop);
      on_ready_read (socket, NULL);
      g_main_loop_run (loop);
    }

  ls_local_server_close (server);
  g_clear_object (&server);
  printf ("closed %d\n", path[0] == '/' && lstat (path, &st) == 0 ? 1 : 0);
  return 0;
}
