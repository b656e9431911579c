/* test-socket-close.c: LsLocalSocket disconnect, abort, close and the peer leaving
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static void
test_close_disconnect_idle (LsTestFixture *f,
                            gconstpointer  test_data)
{
  LsTestSignalLog *log;
  LsTestSignalLog *peer_log;
  gboolean peer_disconnected = FALSE;
  const char *want = "state-changed(6) state-changed(0) read-channel-finished disconnected ";

  log = ls_test_signal_log_new (f->client);
  peer_log = ls_test_signal_log_new (f->peer);
  g_signal_connect (f->peer, "disconnected", G_CALLBACK (ls_test_on_flag), &peer_disconnected);

  ls_local_socket_disconnect_from_server (f->client);
  /* Synchronous. */
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_assert_socket_ended (f->client);
  g_assert_null (ls_local_socket_get_peer_credentials (f->client));

  /* The peer sees an orderly close. */
  g_assert_true (ls_test_run_until (&peer_disconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (peer_log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpint (ls_local_socket_get_error (f->peer), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_socket_ended (f->peer);
  /* The text still names the server after the names were cleared. */
  ls_test_assert_error_text (ls_local_socket_get_error_string (f->peer), "remote closed", f->path);

  /* Again: nothing. */
  ls_local_socket_disconnect_from_server (f->client);
  ls_local_socket_disconnect_from_server (f->peer);
  /* Fixed wait: asserts that nothing comes. */
  ls_test_run_for (30);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  ls_test_signal_log_free (peer_log);
}

static void
test_close_disconnect_pending (LsTestFixture *f,
                               gconstpointer  test_data)
{
  const gsize size = 4 * MIB;
  LsTestRawPair pair;
  LsTestReader reader;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  gint64 written = 0;
  g_autofree guint8 *data = ls_test_pattern_new (size, 21);
  g_autofree char *rest = NULL;

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (ls_test_on_flag), &disconnected);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), >, 0);
  /* disconnect may already push some bytes out (bytes-written), but it
   * cannot finish: 4 MiB do not fit into the kernel buffer. */
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) ");
  g_clear_pointer (&rest, g_free);

  ls_test_reader_start (&reader, pair.peer_fd, 21);
  g_assert_true (ls_test_run_until (&disconnected, 60000));
  ls_test_reader_finish (&reader);

  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  g_assert_cmpint (reader.error, ==, 0);
  g_assert_cmpint (written, ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  ls_test_assert_socket_ended (pair.client);
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) state-changed(0) read-channel-finished disconnected ");

  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

static void
test_close_abort (LsTestFixture *f,
                  gconstpointer  test_data)
{
  const gsize size = 4 * MIB;
  LsTestRawPair pair;
  LsTestReader reader;
  LsTestSignalLog *log;
  g_autofree guint8 *data = ls_test_pattern_new (size, 22);
  const char *want = "state-changed(0) read-channel-finished disconnected about-to-close ";

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);

  ls_test_raw_write_all (pair.peer_fd, "abc", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_test_signal_log_clear (log);

  ls_local_socket_abort (pair.client);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_assert_socket_fresh (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* The queued data was dropped: the loop never ran, so nothing left. */
  ls_test_reader_start (&reader, pair.peer_fd, 22);
  ls_test_reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, 0);

  ls_local_socket_abort (pair.client);
  /* Fixed wait: asserts that nothing comes. */
  ls_test_run_for (50);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

static void
test_close_close (LsTestFixture *f,
                  gconstpointer  test_data)
{
  const gsize size = 1 * MIB;
  LsTestRawPair pair;
  LsTestReader reader;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  g_autofree guint8 *data = ls_test_pattern_new (size, 23);
  g_autofree char *rest = NULL;

  /* Nothing pending: about-to-close first, the read buffer is dropped. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  ls_test_raw_write_all (pair.peer_fd, "abc", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  ls_test_signal_log_clear (log);
  ls_local_socket_close (pair.client);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "about-to-close state-changed(6) state-changed(0) read-channel-finished disconnected ");
  ls_test_assert_socket_fresh (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);
  g_assert_true (ls_test_raw_sees_eof (pair.peer_fd, 5000));
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);

  /* Pending data is still flushed. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (ls_test_on_flag), &disconnected);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_close (pair.client);
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "about-to-close state-changed(6) ");
  g_clear_pointer (&rest, g_free);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  ls_test_reader_start (&reader, pair.peer_fd, 23);
  g_assert_true (ls_test_run_until (&disconnected, 60000));
  ls_test_reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==,
                   "about-to-close state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpuint (ls_test_log_count (ls_test_signal_log_get (log), "about-to-close"), ==, 1);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

typedef struct
{
  gint state_at_disconnected;
  gint state_at_read_channel_finished;
} StateAt;

static void
on_disconnected_state (LsLocalSocket *socket,
                       StateAt       *at)
{
  at->state_at_disconnected = ls_local_socket_get_state (socket);
}

static void
on_read_channel_finished_state (LsLocalSocket *socket,
                                StateAt       *at)
{
  at->state_at_read_channel_finished = ls_local_socket_get_state (socket);
}

static void
test_close_peer_closed (LsTestFixture *f,
                        gconstpointer  test_data)
{
  LsTestRawPair pair;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  StateAt at = { -1, -1 };
  const char *want = "ready-read error-occurred(1) state-changed(6) state-changed(0) "
                     "read-channel-finished disconnected ";

  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (ls_test_on_flag), &disconnected);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_disconnected_state), &at);
  g_signal_connect (pair.client, "read-channel-finished",
                    G_CALLBACK (on_read_channel_finished_state), &at);

  ls_test_raw_write_all (pair.peer_fd, "bye", 3);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  g_assert_cmpint (at.state_at_disconnected, ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (at.state_at_read_channel_finished, ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);

  /* Received data stays readable. */
  ls_test_assert_socket_ended (pair.client);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_error_text (ls_local_socket_get_error_string (pair.client), "", pair.path);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_all (pair.client), "bye");
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "x", 1), ==, -1);
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));

  /* Each signal once (a fixed wait:
   * asserts that nothing more comes). */
  ls_test_run_for (100);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);

  /* Noticed inside wait_for_ready_read: FALSE, the sequence inside the call. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_socket_ended (pair.client);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

static void
test_close_write_after_peer_closed (LsTestFixture *f,
                                    gconstpointer  test_data)
{
  LsTestRawPair pair;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  const char *text;
  g_autofree guint8 *data = ls_test_pattern_new (1000, 9);

  /* A missing MSG_NOSIGNAL must kill this test, whoever ignored SIGPIPE. */
  signal (SIGPIPE, SIG_DFL);

  /* Before we noticed: the write is queued (still CONNECTED), flushing it
   * hits EPIPE -> PEER_CLOSED and teardown. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, 1000);
  g_assert_false (ls_local_socket_flush (pair.client));
  text = ls_test_signal_log_get (log);
  g_test_message ("flush after peer close: %s", text);
  g_assert_true (g_str_has_prefix (text, "error-occurred(1) "));
  g_assert_cmpuint (ls_test_log_count (text, "error-occurred(1)"), ==, 1);
  g_assert_cmpuint (ls_test_log_count (text, "state-changed(0)"), ==, 1);
  g_assert_cmpuint (ls_test_log_count (text, "disconnected"), ==, 1);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_socket_ended (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  /* After we noticed: -1 and no further signal. */
  ls_test_signal_log_clear (log);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, -1);
  /* Fixed wait: asserts that nothing comes. */
  ls_test_run_for (50);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);

  /* Through the event loop (whichever of EOF or EPIPE is seen first). */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (ls_test_on_flag), &disconnected);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, 1000);
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  /* Fixed wait: a second error or disconnected must not come. */
  ls_test_run_for (50);
  text = ls_test_signal_log_get (log);
  g_test_message ("write after peer close, event loop: %s", text);
  g_assert_true (g_str_has_prefix (text, "error-occurred(1) "));
  g_assert_cmpuint (ls_test_log_count (text, "error-occurred(1)"), ==, 1);
  g_assert_cmpuint (ls_test_log_count (text, "disconnected"), ==, 1);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_socket_ended (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, -1);
  ls_test_signal_log_free (log);
  ls_test_raw_pair_clear (&pair);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/socket/close/disconnect-idle", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_close_disconnect_idle, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/close/disconnect-pending", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_disconnect_pending, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/close/abort", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_abort, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/close/close", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_close, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/close/peer-closed", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_peer_closed, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/close/write-after-peer-closed", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_write_after_peer_closed, ls_test_fixture_teardown);

  return g_test_run ();
}
