/* test-socket-eagain.c: LsLocalSocket connecting into a full listen backlog (EAGAIN)
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 * The peer is a raw listener with backlog 1 whose queue is full.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static LsLocalSocket *
connect_into_full_backlog (LsTestBacklog          *backlog,
                           int               connect_timeout,
                           LsTestSignalLog **log_out)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);

  ls_local_socket_set_connect_timeout (socket, connect_timeout);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), ==, connect_timeout);
  ls_local_socket_connect_to_server (socket, backlog->path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) ");
  g_assert_false (ls_local_socket_is_valid (socket));
  *log_out = log;
  return socket;
}

static void
on_state_flag_unconnected (LsLocalSocket      *socket,
                           LsLocalSocketState  state,
                           gboolean           *flag)
{
  if (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    *flag = TRUE;
}

static void
test_eagain_timeout (LsTestFixture *f,
                     gconstpointer  test_data)
{
  LsTestBacklog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  gboolean unconnected = FALSE;
  gint64 cpu0, cpu1, wall0, wall1;
  const char *want = "state-changed(2) error-occurred(5) state-changed(0) ";

  ls_test_backlog_fill (&backlog, f->dir);
  socket = connect_into_full_backlog (&backlog, 600, &log);
  g_signal_connect (socket, "state-changed", G_CALLBACK (on_state_flag_unconnected), &unconnected);

  /* While it retries, the process must sleep, not spin: a busy retry
   * (Qt's write notifier on an unconnected socket) burns a full core. */
  cpu0 = ls_test_cpu_time_us ();
  wall0 = g_get_monotonic_time ();
  /* A fixed period: the CPU time of these 300 ms is the measure. */
  ls_test_run_for (300);
  cpu1 = ls_test_cpu_time_us ();
  wall1 = g_get_monotonic_time ();
  g_test_message ("retrying for %" G_GINT64_FORMAT " us used %" G_GINT64_FORMAT " us CPU",
                  wall1 - wall0, cpu1 - cpu0);
  g_assert_cmpint (cpu1 - cpu0, <, (wall1 - wall0) / 2);

  g_assert_true (ls_test_run_until (&unconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_assert_socket_fresh (socket);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  ls_test_assert_error_text (ls_local_socket_get_error_string (socket), "connect", backlog.path);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");

  /* And it really stopped: no further attempts or signals.
   * A fixed wait: asserts that nothing comes. */
  ls_test_run_for (200);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  ls_test_backlog_clear (&backlog);
}

static void
test_eagain_accept_in_loop (LsTestFixture *f,
                            gconstpointer  test_data)
{
  LsTestBacklog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  gboolean connected = FALSE;
  GArray *accepted = g_array_new (FALSE, FALSE, sizeof (int));
  guint got = 0;
  int fd;

  ls_test_backlog_fill (&backlog, f->dir);
  socket = connect_into_full_backlog (&backlog, 20000, &log);
  g_signal_connect (socket, "connected", G_CALLBACK (ls_test_on_flag), &connected);

  /* Let it retry a little, then make room in the backlog.
   * A fixed wait: the socket must still be connecting after it. */
  ls_test_run_for (50);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_array_append_val (accepted, fd);

  g_assert_true (ls_test_run_until (&connected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  ls_test_assert_connected_to (socket, backlog.path, backlog.path);

  /* The connection is real: exactly one of the queued connections gets
   * the bytes. */
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "hello", 5), ==, 5);
  g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
  g_assert_no_errno (fcntl (backlog.listen_fd, F_SETFL, O_NONBLOCK));
  while ((fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
    g_array_append_val (accepted, fd);
  for (guint i = 0; i < accepted->len; i++)
    {
      char buf[16];
      ssize_t n = recv (g_array_index (accepted, int, i), buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        {
          g_assert_cmpmem (buf, n, "hello", 5);
          got++;
        }
      close (g_array_index (accepted, int, i));
    }
  g_assert_cmpuint (got, ==, 1);

  g_array_unref (accepted);
  ls_test_signal_log_free (log);
  g_object_unref (socket);
  ls_test_backlog_clear (&backlog);
}

static void
test_eagain_wait_for_connected (LsTestFixture *f,
                                gconstpointer  test_data)
{
  LsTestBacklog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  LsTestDelayed delayed;

  ls_test_backlog_fill (&backlog, f->dir);
  socket = connect_into_full_backlog (&backlog, 20000, &log);
  ls_test_signal_log_clear (log);

  /* Timeouts: FALSE, SOCKET_TIMEOUT recorded, no signal, still trying. */
  g_assert_false (ls_local_socket_wait_for_connected (socket, 0));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  g_assert_false (ls_local_socket_wait_for_connected (socket, 100));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  /* Room appears while we block without a timeout: signals inside the call,
   * and the successful connect resets the error. */
  ls_test_delayed_start (&delayed, backlog.listen_fd, LS_TEST_DELAYED_ACCEPT, NULL);
  g_assert_true (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(3) connected ");
  ls_test_delayed_join (&delayed);
  g_assert_cmpint (delayed.result, >=, 0);
  close (delayed.result);
  ls_test_assert_connected_to (socket, backlog.path, backlog.path);

  /* Already connected: TRUE at once. */
  g_assert_true (ls_local_socket_wait_for_connected (socket, 0));
  g_assert_true (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(3) connected ");

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  ls_test_backlog_clear (&backlog);
}

static void
test_eagain_connect_while_connecting (LsTestFixture *f,
                                      gconstpointer  test_data)
{
  LsTestBacklog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;

  ls_test_backlog_fill (&backlog, f->dir);
  socket = connect_into_full_backlog (&backlog, 300, &log);

  ls_local_socket_connect_to_server (socket, backlog.path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);

  /* abort() cancels the attempt: the timeout never fires afterwards. */
  ls_local_socket_abort (socket);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_test_signal_log_clear (log);
  /* Fixed wait, past the 300 ms timeout: nothing may fire. */
  ls_test_run_for (600);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  ls_test_assert_socket_fresh (socket);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  ls_test_backlog_clear (&backlog);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/socket/eagain/timeout", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_eagain_timeout, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/eagain/accept-in-loop", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_eagain_accept_in_loop, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/eagain/wait-for-connected", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_eagain_wait_for_connected, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/eagain/connect-while-connecting", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_eagain_connect_while_connecting, ls_test_fixture_teardown);

  return g_test_run ();
}
