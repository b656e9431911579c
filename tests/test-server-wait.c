/* test-server-wait.c: LsLocalServer wait_for_new_connection()
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <unistd.h>


static void
test_wait_timeout (LsTestFixture *f,
                   gconstpointer  test_data)
{
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = FALSE;

  g_assert_false (ls_local_server_wait_for_new_connection (server, 100, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  timed_out = FALSE;
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, NULL));
  g_assert_cmpuint (log->count, ==, 0);
  g_assert_true (ls_local_server_is_listening (server));
  /* A timeout is not an error. */
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_UNKNOWN);

}

static void
test_wait_success (LsTestFixture *f,
                   gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = TRUE;
  LsLocalSocket *socket;
  LsTestDelayed later;
  int fd, fd2;

  /* A client already waiting: new-connection is emitted inside the call. */
  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_local_server_wait_for_new_connection (server, -1, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 1);
  g_assert_true (ls_local_server_has_pending_connections (server));

  /* Nothing new, but something is queued: TRUE and timed out (Qt). */
  g_assert_true (ls_local_server_wait_for_new_connection (server, 50, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);
  g_assert_cmpuint (log->count, ==, 1);

  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  ls_test_assert_exchange (socket, fd, "wait");
  g_object_unref (socket);

  /* A client that arrives while we block. */
  ls_test_delayed_start (&later, -1, LS_TEST_DELAYED_CONNECT, path);
  timed_out = TRUE;
  g_assert_true (ls_local_server_wait_for_new_connection (server, 10000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 2);
  ls_test_delayed_join (&later);
  fd2 = later.result;
  g_assert_cmpint (fd2, >=, 0);
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  ls_test_assert_exchange (socket, fd2, "wait-later");
  g_object_unref (socket);
  g_assert_cmpuint (log->not_queued, ==, 0);

  close (fd);
  close (fd2);
}

static void
test_wait_beyond_max (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = ls_local_server_new ();
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = TRUE;
  LsLocalSocket *a, *b;
  int fds[3];

  ls_local_server_set_max_pending_connections (server, 1);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  /* Fixed wait: no more than one is accepted. */
  ls_test_run_for (200);
  g_assert_cmpuint (log->count, ==, 1);

  /* An explicit wait accepts even when the queue is at its maximum. */
  g_assert_true (ls_local_server_wait_for_new_connection (server, 2000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 2);
  a = ls_local_server_next_pending_connection (server);
  b = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  ls_test_assert_exchange (a, fds[0], "beyond-a");
  ls_test_assert_exchange (b, fds[1], "beyond-b");

  g_object_unref (a);
  g_object_unref (b);
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
  g_object_unref (server);
}

static void
test_wait_not_listening (void)
{
  LsLocalServer *server = ls_local_server_new ();
  GError *error = NULL;
  gboolean timed_out = TRUE;

  g_assert_false (ls_local_server_wait_for_new_connection (server, 1000, &timed_out, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_false (timed_out);
  /* As in Qt (API.md, naming rule): the recorded error stays as it was. */
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, "");
  g_clear_error (&error);
  g_assert_false (ls_local_server_is_listening (server));

  /* After a failed listen, its error survives the failed wait. */
  g_assert_false (ls_local_server_listen (server, "", NULL));
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);

  /* error may be NULL */
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, NULL));
  g_object_unref (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/wait/timeout", LsTestFixture, NULL,
              ls_test_fixture_setup, test_wait_timeout, ls_test_fixture_teardown);
  g_test_add ("/ls/server/wait/success", LsTestFixture, NULL,
              ls_test_fixture_setup, test_wait_success, ls_test_fixture_teardown);
  g_test_add ("/ls/server/wait/beyond-max", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_wait_beyond_max, ls_test_fixture_teardown);
  g_test_add_func ("/ls/server/wait/not-listening", test_wait_not_listening);

  return g_test_run ();
}
