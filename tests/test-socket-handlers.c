/* test-socket-handlers.c: LsLocalSocket unreffed from inside every signal handler, and finalised with data pending
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 * The peer is a raw descriptor, so that nothing but the socket under test
 * holds a reference.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Unref from inside every signal handler                                   */
/* ------------------------------------------------------------------------ */

typedef enum
{
  SC_CONNECT_OK,
  SC_CONNECT_FAIL,
  SC_RECONNECT,
  SC_EAGAIN_TIMEOUT,
  SC_EAGAIN_ACCEPT,
  SC_EAGAIN_WAIT,
  SC_PEER_DATA,
  SC_PEER_DATA_WAIT,
  SC_WRITE,
  SC_PEER_CLOSE,
  SC_PEER_CLOSE_WAIT,
  SC_DISCONNECT,
  SC_DISCONNECT_PENDING,
  SC_DISCONNECT_DRAINED,
  SC_WRITE_PEER_GONE,
  SC_CLOSE,
  SC_ABORT,
} Scenario;

typedef struct
{
  const char *path;
  const char *signal;
  Scenario    scenario;
  int         value;  /* state or error to react to; -1: any */
} UnrefCase;

typedef struct
{
  LsLocalSocket *target;
  int            value;
  gboolean       fired;
  gulong         handler_id;
} UnrefCtx;

static void
unref_fire (LsLocalSocket *socket,
            UnrefCtx      *ctx)
{
  g_assert_true (socket == ctx->target);
  if (ctx->fired)
    return;
  ctx->fired = TRUE;
  g_signal_handler_disconnect (socket, ctx->handler_id);
  g_object_unref (socket);
}

static void
unref_on_plain (LsLocalSocket *socket,
                UnrefCtx      *ctx)
{
  unref_fire (socket, ctx);
}

static void
unref_on_value (LsLocalSocket *socket,
                int            value,
                UnrefCtx      *ctx)
{
  if (ctx->value < 0 || value == ctx->value)
    unref_fire (socket, ctx);
}

static void
unref_on_bytes_written (LsLocalSocket *socket,
                        gint64         n,
                        UnrefCtx      *ctx)
{
  unref_fire (socket, ctx);
}

static void
test_unref_in_handler (LsTestFixture *f,
                       gconstpointer  data)
{
  const UnrefCase *uc = data;
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "u", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree guint8 *big = NULL;
  UnrefCtx ctx = { NULL, uc->value, FALSE, 0 };
  LsLocalSocket *socket = ls_local_socket_new ();
  LsLocalSocket *weak = socket;
  LsTestBacklog backlog = { 0 };
  gboolean use_backlog = uc->scenario == SC_EAGAIN_TIMEOUT || uc->scenario == SC_EAGAIN_ACCEPT ||
                         uc->scenario == SC_EAGAIN_WAIT;
  LsTestDelayed delayed;
  int listen_fd = -1;
  int peer_fd = -1;
  int extra_fd = -1;
  GCallback callback;

  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &weak);
  ctx.target = socket;
  if (g_str_equal (uc->signal, "state-changed") || g_str_equal (uc->signal, "error-occurred"))
    callback = G_CALLBACK (unref_on_value);
  else if (g_str_equal (uc->signal, "bytes-written"))
    callback = G_CALLBACK (unref_on_bytes_written);
  else
    callback = G_CALLBACK (unref_on_plain);
  ctx.handler_id = g_signal_connect (socket, uc->signal, callback, &ctx);

  if (use_backlog)
    ls_test_backlog_fill (&backlog, f->dir);
  else
    listen_fd = ls_test_raw_listen (path, 8);

  switch (uc->scenario)
    {
    case SC_CONNECT_OK:
      ls_local_socket_connect_to_server (socket, path);
      peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      break;

    case SC_CONNECT_FAIL:
      ls_local_socket_connect_to_server (socket, missing);
      break;

    case SC_EAGAIN_TIMEOUT:
      ls_local_socket_set_connect_timeout (socket, 200);
      ls_local_socket_connect_to_server (socket, backlog.path);
      ls_test_run_until (&ctx.fired, 10000);
      break;

    case SC_EAGAIN_ACCEPT:
      ls_local_socket_connect_to_server (socket, backlog.path);
      g_assert_false (ctx.fired);
      extra_fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      g_assert_cmpint (extra_fd, >=, 0);
      ls_test_run_until (&ctx.fired, 10000);
      break;

    case SC_EAGAIN_WAIT:
      ls_local_socket_connect_to_server (socket, backlog.path);
      g_assert_false (ctx.fired);
      ls_test_delayed_start (&delayed, backlog.listen_fd, LS_TEST_DELAYED_ACCEPT, NULL);
      /* Our only reference goes away inside this call. */
      ls_local_socket_wait_for_connected (socket, 10000);
      ls_test_delayed_join (&delayed);
      extra_fd = delayed.result;
      g_assert_cmpint (extra_fd, >=, 0);
      break;

    default:
      ls_local_socket_connect_to_server (socket, path);
      g_assert_false (ctx.fired);
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      g_assert_cmpint (peer_fd, >=, 0);
      switch (uc->scenario)
        {
        case SC_RECONNECT:
          ls_local_socket_connect_to_server (socket, path);
          break;
        case SC_PEER_DATA:
          ls_test_raw_write_all (peer_fd, "data", 4);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_DATA_WAIT:
          ls_test_raw_write_all (peer_fd, "data", 4);
          /* Our only reference goes away inside this call. */
          ls_local_socket_wait_for_ready_read (socket, 5000);
          break;
        case SC_WRITE:
          /* Unref while most of it is still queued. */
          big = ls_test_pattern_new (4 * MIB, 1);
          g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_CLOSE:
          /* Unread data left behind in the finalised socket. */
          ls_test_raw_write_all (peer_fd, "tail", 4);
          close (peer_fd);
          peer_fd = -1;
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_CLOSE_WAIT:
          close (peer_fd);
          peer_fd = -1;
          ls_local_socket_wait_for_ready_read (socket, 5000);
          break;
        case SC_DISCONNECT:
          ls_local_socket_disconnect_from_server (socket);
          break;
        case SC_DISCONNECT_PENDING:
          {
            LsTestReader reader;

            /* Unreffed while closing with data queued: the socket lives on
             * until every byte is delivered (API.md fix 11; Qt drops it),
             * then goes with its descriptor. */
            big = ls_test_pattern_new (4 * MIB, 1);
            g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
            ls_local_socket_disconnect_from_server (socket);
            ls_test_reader_start (&reader, peer_fd, 1);
            ls_test_reader_finish (&reader);
            g_assert_cmpuint (reader.total, ==, 4 * MIB);
            g_assert_false (reader.mismatch);
            ls_test_run_until ((gboolean *) &ctx.fired, 10000);
          }
          break;
        case SC_DISCONNECT_DRAINED:
          {
            LsTestReader reader;

            /* The closing socket finishes from the main loop, when the
             * peer has taken the last byte. */
            big = ls_test_pattern_new (4 * MIB, 1);
            g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
            ls_local_socket_disconnect_from_server (socket);
            g_assert_false (ctx.fired);
            ls_test_reader_start (&reader, peer_fd, 1);
            ls_test_run_until (&ctx.fired, 10000);
            ls_test_reader_finish (&reader);
            g_assert_cmpuint (reader.total, ==, 4 * MIB);
            g_assert_false (reader.mismatch);
          }
          break;
        case SC_WRITE_PEER_GONE:
          /* The flush at the end of the dispatch finds the peer gone
           * (EPIPE). The peer only stops reading, so no end-of-file
           * reaches the read path first. */
          g_assert_no_errno (shutdown (peer_fd, SHUT_RD));
          g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "lost", 4), ==, 4);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_CLOSE:
          ls_local_socket_close (socket);
          break;
        case SC_ABORT:
          ls_local_socket_abort (socket);
          break;
        default:
          g_assert_not_reached ();
        }
      break;
    }

  g_assert_true (ctx.fired);
  /* Let anything the library deferred run on the freed object, if it did
   * (a fixed wait: nothing may touch it, which valgrind would see). */
  ls_test_run_for (50);
  g_assert_null (weak);

  /* The descriptor went with the object. */
  if (peer_fd >= 0)
    {
      g_assert_true (ls_test_raw_sees_eof (peer_fd, 5000));
      close (peer_fd);
    }
  if (extra_fd >= 0)
    close (extra_fd);
  if (listen_fd >= 0)
    close (listen_fd);
  if (use_backlog)
    ls_test_backlog_clear (&backlog);
}

static const UnrefCase unref_cases[] = {
  { "/ls/socket/unref-in-handler/connected", "connected", SC_CONNECT_OK, -1 },
  { "/ls/socket/unref-in-handler/connected-after-eagain", "connected", SC_EAGAIN_ACCEPT, -1 },
  { "/ls/socket/unref-in-handler/connected-in-wait", "connected", SC_EAGAIN_WAIT, -1 },
  { "/ls/socket/unref-in-handler/state-changed-connected-in-wait", "state-changed", SC_EAGAIN_WAIT, 3 },
  { "/ls/socket/unref-in-handler/state-changed-connecting", "state-changed", SC_CONNECT_OK, 2 },
  { "/ls/socket/unref-in-handler/state-changed-connected", "state-changed", SC_CONNECT_OK, 3 },
  { "/ls/socket/unref-in-handler/state-changed-connecting-failure", "state-changed", SC_CONNECT_FAIL, 2 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-failure", "state-changed", SC_CONNECT_FAIL, 0 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-timeout", "state-changed", SC_EAGAIN_TIMEOUT, 0 },
  { "/ls/socket/unref-in-handler/state-changed-closing-peer-closed", "state-changed", SC_PEER_CLOSE, 6 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-peer-closed", "state-changed", SC_PEER_CLOSE, 0 },
  { "/ls/socket/unref-in-handler/state-changed-closing-disconnect", "state-changed", SC_DISCONNECT_PENDING, 6 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-disconnect", "state-changed", SC_DISCONNECT, 0 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-abort", "state-changed", SC_ABORT, 0 },
  { "/ls/socket/unref-in-handler/error-occurred-connect", "error-occurred", SC_CONNECT_FAIL, 2 },
  { "/ls/socket/unref-in-handler/error-occurred-connect-timeout", "error-occurred", SC_EAGAIN_TIMEOUT, 5 },
  { "/ls/socket/unref-in-handler/error-occurred-operation", "error-occurred", SC_RECONNECT, 19 },
  { "/ls/socket/unref-in-handler/error-occurred-peer-closed", "error-occurred", SC_PEER_CLOSE, 1 },
  { "/ls/socket/unref-in-handler/error-occurred-peer-closed-in-wait", "error-occurred", SC_PEER_CLOSE_WAIT, 1 },
  { "/ls/socket/unref-in-handler/ready-read", "ready-read", SC_PEER_DATA, -1 },
  { "/ls/socket/unref-in-handler/ready-read-in-wait", "ready-read", SC_PEER_DATA_WAIT, -1 },
  { "/ls/socket/unref-in-handler/bytes-written", "bytes-written", SC_WRITE, -1 },
  { "/ls/socket/unref-in-handler/bytes-written-closing", "bytes-written", SC_DISCONNECT_PENDING, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-peer-closed", "read-channel-finished", SC_PEER_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-disconnect", "read-channel-finished", SC_DISCONNECT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-peer-closed", "disconnected", SC_PEER_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/disconnected-peer-closed-in-wait", "disconnected", SC_PEER_CLOSE_WAIT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-disconnect", "disconnected", SC_DISCONNECT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-abort", "disconnected", SC_ABORT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-drained", "disconnected", SC_DISCONNECT_DRAINED, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-drained", "read-channel-finished", SC_DISCONNECT_DRAINED, -1 },
  { "/ls/socket/unref-in-handler/disconnected-write-peer-gone", "disconnected", SC_WRITE_PEER_GONE, -1 },
  { "/ls/socket/unref-in-handler/error-occurred-write-peer-gone", "error-occurred", SC_WRITE_PEER_GONE, 1 },
  { "/ls/socket/unref-in-handler/about-to-close-close", "about-to-close", SC_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/about-to-close-abort", "about-to-close", SC_ABORT, -1 },
};

/* ------------------------------------------------------------------------ */
/* Finalising with data pending, in every state                             */
/* ------------------------------------------------------------------------ */

static gboolean
is_gone (gpointer data)
{
  return *(LsLocalSocket **) data == NULL;
}

static void
finalize_and_check (LsLocalSocket *socket)
{
  LsLocalSocket *weak = socket;

  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &weak);
  g_object_unref (socket);
  /* A socket closing with data queued lives until the data is delivered
   * (the test's reader takes it); any other goes at once. */
  ls_test_run_until_cond (is_gone, &weak, 20000);
  g_assert_null (weak);
}

static void
test_finalize_pending (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const gsize size = 4 * MIB;
  g_autofree guint8 *data = ls_test_pattern_new (size, 51);
  LsTestRawPair pair;
  LsTestReader reader;
  LsTestBacklog backlog;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  LsLocalSocket *socket;

  /* CONNECTED, with unread input and unsent output. */
  ls_test_raw_pair_init (&pair, f->dir);
  ls_test_raw_write_all (pair.peer_fd, "xyz", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_test_reader_start (&reader, pair.peer_fd, 51);
  finalize_and_check (g_steal_pointer (&pair.client));
  ls_test_reader_finish (&reader);
  g_assert_false (reader.mismatch);
  ls_test_raw_pair_clear (&pair);

  /* CLOSING, output still queued. */
  ls_test_raw_pair_init (&pair, f->dir);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  ls_test_reader_start (&reader, pair.peer_fd, 51);
  finalize_and_check (g_steal_pointer (&pair.client));
  ls_test_reader_finish (&reader);
  g_assert_false (reader.mismatch);
  ls_test_raw_pair_clear (&pair);

  /* CONNECTING (backlog full, retry timer armed): nothing fires afterwards. */
  ls_test_backlog_fill (&backlog, f->dir);
  socket = ls_local_socket_new ();
  ls_local_socket_set_connect_timeout (socket, 200);
  ls_local_socket_connect_to_server (socket, backlog.path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  finalize_and_check (socket);
  /* Fixed wait: the retry timer and the timeout must not fire. */
  ls_test_run_for (400);
  ls_test_backlog_clear (&backlog);

  /* UNCONNECTED after the peer left, unread data in the buffer. */
  ls_test_raw_pair_init (&pair, f->dir);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (ls_test_on_flag), &disconnected);
  ls_test_raw_write_all (pair.peer_fd, "left", 4);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 4);
  ls_test_signal_log_free (log);
  finalize_and_check (g_steal_pointer (&pair.client));
  ls_test_raw_pair_clear (&pair);

  /* UNCONNECTED after a failed connect. */
  socket = ls_local_socket_new ();
  ls_local_socket_connect_to_server (socket, "/nonexistent-ls-test-dir/x");
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  finalize_and_check (socket);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (unref_cases); i++)
    g_test_add (unref_cases[i].path, LsTestFixture, &unref_cases[i],
                ls_test_fixture_setup_dir, test_unref_in_handler, ls_test_fixture_teardown);

  g_test_add ("/ls/socket/finalize/pending", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_finalize_pending, ls_test_fixture_teardown);

  return g_test_run ();
}
