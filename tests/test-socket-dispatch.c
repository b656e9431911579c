/* test-socket-dispatch.c: LsLocalSocket in the main loop: fairness, nested iteration, worker threads
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>

#define MIB (1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Fairness                                                                 */
/* ------------------------------------------------------------------------ */

/* Two sockets of one context echoing a byte back and forth are always
 * ready; the event core polls again while it finds work, but must return to
 * the main loop often enough for a timer of the same priority to run. */
typedef struct
{
  guint64 echoes;
  guint   ticks;
} Busy;

static void
busy_echo_cb (LsLocalSocket *socket,
              gpointer       data)
{
  Busy *busy = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);

  busy->echoes++;
  ls_local_socket_write_bytes (socket, bytes);
}

static gboolean
busy_tick_cb (gpointer data)
{
  Busy *busy = data;

  busy->ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
busy_ticked_enough (gpointer data)
{
  return ((Busy *) data)->ticks >= 10;
}

static void
test_busy_pair_fair (LsTestFixture *f,
                     gconstpointer  test_data)
{
  Busy busy = { 0 };
  guint timer;

  g_signal_connect (f->client, "ready-read", G_CALLBACK (busy_echo_cb), &busy);
  g_signal_connect (f->peer, "ready-read", G_CALLBACK (busy_echo_cb), &busy);
  timer = g_timeout_add (10, busy_tick_cb, &busy);
  g_assert_cmpint (ls_local_socket_write (f->client, (const guint8 *) "x", 1), ==, 1);

  g_assert_true (ls_test_run_until_cond (busy_ticked_enough, &busy, 10000));
  g_test_message ("%" G_GUINT64_FORMAT " echoes during %u ticks", busy.echoes, busy.ticks);
  /* Both directions kept going all along: the ping-pong was not starved
   * either. */
  g_assert_cmpuint (busy.echoes, >, 100);
  g_source_remove (timer);
}

/* A ready-read handler that runs the main context itself (a nested
 * dispatch of the event core, which also re-polls) while two connections
 * echo 1 MiB each: every byte must come back once, in order. */
typedef struct
{
  guint64  received;
  gboolean mismatch;
} EchoCheck;

static void
nested_echo_cb (LsLocalSocket *socket,
                gpointer       data)
{
  guint *nested = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, bytes);
  for (int i = 0; i < 3; i++)
    *nested += g_main_context_iteration (NULL, FALSE);
}

static void
echo_check_cb (LsLocalSocket *socket,
               gpointer       data)
{
  EchoCheck *check = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize size;
  const guint8 *got = g_bytes_get_data (bytes, &size);

  if (!ls_test_pattern_check (got, size, check->received, 7))
    check->mismatch = TRUE;
  check->received += size;
}

static gboolean
both_echoed (gpointer data)
{
  EchoCheck *checks = data;

  return checks[0].received >= MIB && checks[1].received >= MIB;
}

static void
test_nested_iteration_in_handler (LsTestFixture *f,
                                  gconstpointer  test_data)
{
  g_autofree guint8 *data = ls_test_pattern_new (MIB, 7);
  /* The fixture's pair, and a second connection to the same server. */
  LsLocalSocket *clients[2] = { f->client, NULL };
  LsLocalSocket *peers[2] = { f->peer, NULL };
  EchoCheck checks[2] = { { 0 } };
  guint nested = 0;

  ls_test_connect_pair (f->server, f->path, &clients[1], &peers[1]);
  for (int i = 0; i < 2; i++)
    {
      g_signal_connect (peers[i], "ready-read", G_CALLBACK (nested_echo_cb), &nested);
      g_signal_connect (clients[i], "ready-read", G_CALLBACK (echo_check_cb), &checks[i]);
      g_assert_cmpint (ls_local_socket_write (clients[i], data, MIB), ==, MIB);
    }

  g_assert_true (ls_test_run_until_cond (both_echoed, checks, 30000));
  g_test_message ("%u nested dispatches", nested);
  g_assert_cmpuint (nested, >, 0);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpuint (checks[i].received, ==, MIB);
      g_assert_false (checks[i].mismatch);
      g_assert_cmpint (ls_local_socket_get_bytes_available (peers[i]), ==, 0);
    }
  g_object_unref (clients[1]);
  g_object_unref (peers[1]);
}

/* ------------------------------------------------------------------------ */
/* A client in a worker thread with its own main context                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *path;
  GThread    *worker;
  gboolean    wrong_thread;
  GString    *received;
  gint        done;
} ThreadCtx;

static void
thread_check_plain (LsLocalSocket *socket,
                    ThreadCtx     *ctx)
{
  if (g_thread_self () != ctx->worker)
    ctx->wrong_thread = TRUE;
}

static void
thread_check_value (LsLocalSocket *socket,
                    int            value,
                    ThreadCtx     *ctx)
{
  if (g_thread_self () != ctx->worker)
    ctx->wrong_thread = TRUE;
}

static void
thread_on_ready_read (LsLocalSocket *socket,
                      ThreadCtx     *ctx)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize n = 0;
  const char *d = g_bytes_get_data (bytes, &n);

  g_string_append_len (ctx->received, d, n);
}

static gboolean
got_pong (gpointer data)
{
  return g_str_equal (((ThreadCtx *) data)->received->str, "pong\n");
}

static gpointer
thread_client_main (gpointer data)
{
  ThreadCtx *ctx = data;
  GMainContext *context = g_main_context_new ();
  LsLocalSocket *socket;
  LsTestSignalLog *log;

  g_main_context_push_thread_default (context);
  ctx->worker = g_thread_self ();

  socket = ls_local_socket_new ();
  log = ls_test_signal_log_new (socket);
  g_signal_connect (socket, "connected", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "disconnected", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "ready-read", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "state-changed", G_CALLBACK (thread_check_value), ctx);
  g_signal_connect (socket, "bytes-written", G_CALLBACK (thread_check_value), ctx);
  g_signal_connect (socket, "ready-read", G_CALLBACK (thread_on_ready_read), ctx);

  ls_local_socket_connect_to_server (socket, ctx->path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "ping\n", 5), ==, 5);
  /* Only this thread's context is iterated here: the reply must be
   * dispatched on it. */
  g_assert_true (ls_test_run_until_cond (got_pong, ctx, 20000));

  ls_test_signal_log_clear (log);
  ls_local_socket_disconnect_from_server (socket);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_false (ctx->wrong_thread);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_atomic_int_set (&ctx->done, 1);
  return NULL;
}

typedef struct
{
  GPtrArray *peers;
  GString   *request;
  gboolean   peer_disconnected;
} EchoServer;

static void
echo_on_ready_read (LsLocalSocket *socket,
                    EchoServer    *echo)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize n = 0;
  const char *d = g_bytes_get_data (bytes, &n);

  g_string_append_len (echo->request, d, n);
  if (g_str_equal (echo->request->str, "ping\n"))
    g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "pong\n", 5), ==, 5);
}

static void
echo_on_new_connection (LsLocalServer *server,
                        EchoServer    *echo)
{
  LsLocalSocket *peer;

  while ((peer = ls_local_server_next_pending_connection (server)) != NULL)
    {
      g_signal_connect (peer, "ready-read", G_CALLBACK (echo_on_ready_read), echo);
      g_signal_connect (peer, "disconnected", G_CALLBACK (ls_test_on_flag), &echo->peer_disconnected);
      g_ptr_array_add (echo->peers, peer);
    }
}

static gboolean
thread_done (gpointer data)
{
  return g_atomic_int_get (&((ThreadCtx *) data)->done);
}

static void
test_thread_client (LsTestFixture *f,
                    gconstpointer  test_data)
{
  LsLocalServer *server = f->server;
  EchoServer echo = { g_ptr_array_new_with_free_func (g_object_unref), g_string_new (NULL), FALSE };
  ThreadCtx ctx = { f->path, NULL, FALSE, g_string_new (NULL), 0 };
  GThread *thread;

  g_signal_connect (server, "new-connection", G_CALLBACK (echo_on_new_connection), &echo);

  thread = g_thread_new ("ls-test-client", thread_client_main, &ctx);
  g_assert_true (ls_test_run_until_cond (thread_done, &ctx, 60000));
  g_thread_join (thread);

  g_assert_cmpstr (ctx.received->str, ==, "pong\n");
  g_assert_cmpstr (echo.request->str, ==, "ping\n");
  g_assert_cmpuint (echo.peers->len, ==, 1);
  g_assert_true (ls_test_run_until (&echo.peer_disconnected, 10000));

  g_string_free (ctx.received, TRUE);
  g_string_free (echo.request, TRUE);
  g_ptr_array_unref (echo.peers);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/socket/fairness/busy-pair", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_busy_pair_fair, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/fairness/nested-iteration", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_nested_iteration_in_handler, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/thread/worker-context", LsTestFixture, NULL,
              ls_test_fixture_setup, test_thread_client, ls_test_fixture_teardown);

  return g_test_run ();
}
