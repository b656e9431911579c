/* echo-ls-main.c: the process around the Ls echo servers (see echo-ls-main.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "echo-ls-main.h"

#include <glib-unix.h>
#include <stdio.h>
#include "bench-process.h"
#include <sys/socket.h>

static gboolean
on_sigterm (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
echo_ls_main (int    argc,
              char **argv,
              void (*start) (LsLocalServer *server))
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(LsLocalServer) server = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  bench_process_setup ();

  loop = g_main_loop_new (NULL, FALSE);
  server = ls_local_server_new ();
  /* As echo-epoll, echo-uv and echo-gio: the kernel's largest backlog, so
   * that run-bench --idle 100000 queues connections in the same batches
   * for every server (the default, 50, as Qt's, works too, only with more
   * context switches while the load generator connects). */
  ls_local_server_set_listen_backlog_size (server, SOMAXCONN);
  if (!ls_local_server_listen (server, argv[1], &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  start (server);
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_unix_signal_add (SIGINT, on_sigterm, loop);

  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);

  ls_local_server_close (server);
  return 0;
}
