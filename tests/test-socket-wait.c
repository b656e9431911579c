/* test-socket-wait.c: LsLocalSocket wait_for_ready_read, _bytes_written, _disconnected
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 * The peer is a raw descriptor; a helper thread acts on it while the test
 * blocks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static void
assert_healthy_timeout (LsLocalSocket   *socket,
                        LsTestSignalLog *log,
                        const char      *path)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  ls_test_assert_error_text (ls_local_socket_get_error_string (socket), "time", path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
}

static void
test_wait_ready_read (LsTestFixture *f,
                      gconstpointer  test_data)
{
  LsTestRawPair pair;
  LsTestSignalLog *log;
  LsTestDelayed delayed;

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);

  /* A zero timeout that finds nothing records a timeout too, as in Qt
   * (issue 23), without error-occurred (deliberate fix 10). */
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));
  assert_healthy_timeout (pair.client, log, pair.path);
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 100));
  assert_healthy_timeout (pair.client, log, pair.path);

  ls_test_raw_write_all (pair.peer_fd, "a", 1);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  ls_test_assert_bytes_str (ls_local_socket_read_all (pair.client), "a");

  /* Data already in the kernel: even a zero timeout sees it. */
  ls_test_signal_log_clear (log);
  ls_test_raw_write_all (pair.peer_fd, "b", 1);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 0));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  ls_test_assert_bytes_str (ls_local_socket_read_all (pair.client), "b");

  /* No timeout, data arrives later. */
  ls_test_signal_log_clear (log);
  ls_test_delayed_start (&delayed, pair.peer_fd, LS_TEST_DELAYED_WRITE, "c");
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, -1));
  ls_test_delayed_join (&delayed);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  ls_test_assert_bytes_str (ls_local_socket_read_all (pair.client), "c");
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  /* Unconnected: FALSE at once, whatever the timeout. */
  ls_local_socket_abort (pair.client);
  ls_test_signal_log_clear (log);
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

static void
test_wait_bytes_written (LsTestFixture *f,
                         gconstpointer  test_data)
{
  const gsize big = 8 * MIB;
  LsTestRawPair pair;
  LsTestSignalLog *log;
  LsTestReader reader;
  gint64 written = 0;
  g_autofree guint8 *data = ls_test_pattern_new (300 + big, 31);
  guint rounds = 0;
  gboolean timed_out = FALSE;

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (pair.client, data, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 0));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "bytes-written ");
  g_assert_cmpint (written, ==, 100);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);

  g_assert_cmpint (ls_local_socket_write (pair.client, data + 100, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, -1));
  g_assert_cmpint (written, ==, 200);
  g_assert_cmpint (ls_local_socket_write (pair.client, data + 200, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 1000));
  g_assert_cmpint (written, ==, 300);

  /* Nothing queued: nothing to wait for. */
  g_assert_false (ls_local_socket_wait_for_bytes_written (pair.client, 100));

  /* The peer does not read: the kernel buffer fills and a wait times out,
   * the connection stays healthy and no error-occurred is emitted. */
  g_assert_cmpint (ls_local_socket_write (pair.client, data + 300, big), ==, (gssize) big);
  while (rounds++ < 100000)
    if (!ls_local_socket_wait_for_bytes_written (pair.client, 100))
      {
        timed_out = TRUE;
        break;
      }
  g_assert_true (timed_out);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), >, 0);
  ls_test_signal_log_clear (log);
  g_assert_false (ls_local_socket_wait_for_bytes_written (pair.client, 0));
  assert_healthy_timeout (pair.client, log, pair.path);

  /* Once the peer reads, everything arrives, in order. */
  ls_test_reader_start (&reader, pair.peer_fd, 31);
  while (ls_local_socket_get_bytes_to_write (pair.client) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 10000));
  g_assert_cmpint (written, ==, (gint64) (300 + big));
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_test_reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, 300 + big);
  g_assert_false (reader.mismatch);

  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

static void
test_wait_disconnected (LsTestFixture *f,
                        gconstpointer  test_data)
{
  const gsize size = 4 * MIB;
  LsTestRawPair pair;
  LsTestSignalLog *log;
  LsTestDelayed delayed;
  LsTestReader reader;
  g_autofree guint8 *data = ls_test_pattern_new (size, 41);
  g_autofree char *rest = NULL;

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);

  /* As in Qt, a zero timeout records a timeout too. */
  g_assert_false (ls_local_socket_wait_for_disconnected (pair.client, 0));
  assert_healthy_timeout (pair.client, log, pair.path);
  g_assert_false (ls_local_socket_wait_for_disconnected (pair.client, 100));
  assert_healthy_timeout (pair.client, log, pair.path);

  /* The peer hangs up while we wait without a timeout. */
  ls_test_delayed_start (&delayed, pair.peer_fd, LS_TEST_DELAYED_CLOSE, NULL);
  g_assert_true (ls_local_socket_wait_for_disconnected (pair.client, -1));
  ls_test_delayed_join (&delayed);
  pair.peer_fd = -1;
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  ls_test_assert_socket_ended (pair.client);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);

  /* CLOSING with pending data: waiting flushes everything, then closes. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  ls_test_reader_start (&reader, pair.peer_fd, 41);
  g_assert_true (ls_local_socket_wait_for_disconnected (pair.client, -1));
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) state-changed(0) read-channel-finished disconnected ");
  ls_test_assert_socket_ended (pair.client);
  ls_test_reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/socket/wait/ready-read", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_wait_ready_read, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/wait/bytes-written", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_wait_bytes_written, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/wait/disconnected", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_wait_disconnected, ls_test_fixture_teardown);

  return g_test_run ();
}
