/* test-socket-io.c: LsLocalSocket buffered writes and reads
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 * Peers are an LsLocalServer (the fixture's pair) or a raw descriptor.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* Reads everything on ready-read and checks it against the pattern. */
typedef struct
{
  guint    seed;
  guint64  received;
  gboolean mismatch;
  guint    ready_reads;
  gboolean disconnected;
} Sink;

static void
sink_on_ready_read (LsLocalSocket *socket,
                    Sink          *sink)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize size = 0;
  const guint8 *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  sink->ready_reads++;
  if (size > 0 && !ls_test_pattern_check (data, size, sink->received, sink->seed))
    sink->mismatch = TRUE;
  sink->received += size;
}

static void
sink_attach (Sink          *sink,
             LsLocalSocket *socket,
             guint          seed)
{
  memset (sink, 0, sizeof *sink);
  sink->seed = seed;
  g_signal_connect (socket, "ready-read", G_CALLBACK (sink_on_ready_read), sink);
  g_signal_connect (socket, "disconnected", G_CALLBACK (ls_test_on_flag), &sink->disconnected);
}

typedef struct
{
  Sink          *sink;
  guint64        want;
  LsLocalSocket *writer;
  gint64        *written;
} DeliveredCond;

static gboolean
delivered (gpointer data)
{
  DeliveredCond *c = data;

  return c->sink->received >= c->want &&
         ls_local_socket_get_bytes_to_write (c->writer) == 0 &&
         *c->written >= (gint64) c->want;
}

static void
test_io_write_buffered (LsTestFixture *f,
                        gconstpointer  test_data)
{
  Sink sink;
  LsTestSignalLog *log;
  gint64 written = 0;
  g_autofree guint8 *data = ls_test_pattern_new (2000, 1);
  g_autoptr(GBytes) second = g_bytes_new (data + 1000, 1000);
  DeliveredCond cond = { &sink, 2000, NULL, &written };
  g_autofree char *rest = NULL;

  cond.writer = f->client;
  sink_attach (&sink, f->peer, 1);
  log = ls_test_signal_log_new (f->client);
  g_signal_connect (f->client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (f->client, data, 1000), ==, 1000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 1000);
  g_assert_cmpint (ls_local_socket_write_bytes (f->client, second), ==, 1000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 2000);
  /* Nothing left yet: bytes leave from the event loop. */
  g_assert_cmpint (written, ==, 0);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  g_assert_true (ls_test_run_until_cond (delivered, &cond, 10000));
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.received, ==, 2000);
  g_assert_cmpint (written, ==, 2000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);
  g_assert_cmpuint (ls_test_log_count (ls_test_signal_log_get (log), "bytes-written"), >=, 1);
  rest = ls_test_log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "");

  /* Zero-length writes are fine and send nothing. */
  g_assert_cmpint (ls_local_socket_write (f->client, data, 0), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);

  ls_test_signal_log_free (log);
}

static void
test_io_flush (LsTestFixture *f,
               gconstpointer  test_data)
{
  Sink sink;
  gint64 written = 0;
  g_autofree guint8 *data = ls_test_pattern_new (500, 2);
  DeliveredCond cond = { &sink, 500, NULL, &written };

  cond.writer = f->client;
  sink_attach (&sink, f->peer, 2);
  g_signal_connect (f->client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &written);

  g_assert_false (ls_local_socket_flush (f->client));
  g_assert_cmpint (ls_local_socket_write (f->client, data, 500), ==, 500);
  g_assert_true (ls_local_socket_flush (f->client));
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);
  g_assert_false (ls_local_socket_flush (f->client));

  g_assert_true (ls_test_run_until_cond (delivered, &cond, 10000));
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.received, ==, 500);
  g_assert_cmpint (written, ==, 500);

}

static void
test_io_write_unconnected (LsTestFixture *f,
                           gconstpointer  test_data)
{
  LsTestRawPair pair;
  LsLocalSocket *socket = ls_local_socket_new ();
  g_autofree guint8 *big = ls_test_pattern_new (4 * MIB, 3);
  g_autoptr(GBytes) bytes = g_bytes_new_static ("abc", 3);

  gint64 to_write;

  /* Never connected: refused, nothing recorded (as in Qt). */
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, bytes), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_assert_cmpstr (ls_local_socket_get_error_string (socket), ==, "Unknown error");
  g_object_unref (socket);

  /* CLOSING after disconnect_from_server (data still pending) queues new
   * data too, as in Qt: it leaves before the close. */
  ls_test_raw_pair_init (&pair, f->dir);
  g_assert_cmpint (ls_local_socket_write (pair.client, big, 4 * MIB), ==, 4 * MIB);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  to_write = ls_local_socket_get_bytes_to_write (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "abc", 3), ==, 3);
  g_assert_cmpint (ls_local_socket_write_bytes (pair.client, bytes), ==, 3);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, to_write + 6);

  /* After close () (still CLOSING, the device closed): refused. */
  ls_local_socket_close (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, to_write + 6);

  /* And UNCONNECTED after an abort. */
  ls_local_socket_abort (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  ls_test_raw_pair_clear (&pair);
}

typedef struct
{
  Sink          *a;
  Sink          *b;
  LsLocalSocket *sa;
  LsLocalSocket *sb;
  gint64        *wa;
  gint64        *wb;
  guint64        size;
} BothCond;

static gboolean
both_delivered (gpointer data)
{
  BothCond *c = data;

  return c->a->received >= c->size && c->b->received >= c->size &&
         ls_local_socket_get_bytes_to_write (c->sa) == 0 &&
         ls_local_socket_get_bytes_to_write (c->sb) == 0 &&
         *c->wa >= (gint64) c->size && *c->wb >= (gint64) c->size;
}

static void
test_io_bidirectional (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const gsize size = 8 * MIB;
  Sink at_client, at_peer;
  gint64 client_written = 0, peer_written = 0;
  g_autofree guint8 *up = ls_test_pattern_new (size, 11);
  g_autofree guint8 *down = ls_test_pattern_new (size, 77);
  BothCond cond;

  sink_attach (&at_client, f->client, 77);
  sink_attach (&at_peer, f->peer, 11);
  g_signal_connect (f->client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &client_written);
  g_signal_connect (f->peer, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &peer_written);

  g_assert_cmpint (ls_local_socket_write (f->client, up, size), ==, (gssize) size);
  g_assert_cmpint (ls_local_socket_write (f->peer, down, size), ==, (gssize) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->peer), ==, (gint64) size);

  cond = (BothCond) { &at_client, &at_peer, f->client, f->peer,
                      &client_written, &peer_written, size };
  g_assert_true (ls_test_run_until_cond (both_delivered, &cond, 300000));

  g_assert_cmpuint (at_peer.received, ==, size);
  g_assert_cmpuint (at_client.received, ==, size);
  g_assert_false (at_peer.mismatch);
  g_assert_false (at_client.mismatch);
  g_assert_cmpint (client_written, ==, (gint64) size);
  g_assert_cmpint (peer_written, ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_available (f->client), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_available (f->peer), ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_state (f->peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_test_message ("ready-read: client %u, peer %u", at_client.ready_reads, at_peer.ready_reads);

}

typedef struct
{
  gboolean inside;
  gboolean reentered;
  guint    count;
  int      peer_fd;
} Reentry;

static void
on_ready_read_reentry (LsLocalSocket *socket,
                       Reentry       *r)
{
  if (r->inside)
    r->reentered = TRUE;
  r->inside = TRUE;
  r->count++;
  if (r->count == 1)
    {
      /* More data arrives while we are inside the handler, and we block
       * for it: ready-read must not be emitted recursively. */
      ls_test_raw_write_all (r->peer_fd, "more", 4);
      ls_local_socket_wait_for_ready_read (socket, 200);
      ls_local_socket_flush (socket);
    }
  /* Deliberately reads nothing. */
  r->inside = FALSE;
}

static gboolean
bytes_available_is (LsLocalSocket *socket,
                    gint64         n)
{
  return ls_local_socket_get_bytes_available (socket) == n;
}

static gboolean
available_104 (gpointer data)
{
  return bytes_available_is (data, 104);
}

/* A counter has reached a target. */
typedef struct
{
  const guint *count;
  guint        target;
} CountAtLeast;

static gboolean
count_at_least (gpointer data)
{
  CountAtLeast *c = data;

  return *c->count >= c->target;
}

static void
test_io_ready_read_not_recursive (LsTestFixture *f,
                                  gconstpointer  test_data)
{
  LsTestRawPair pair;
  Reentry r = { 0 };
  char chunk[100];
  guint before;

  ls_test_raw_pair_init (&pair, f->dir);
  r.peer_fd = pair.peer_fd;
  memset (chunk, 'x', sizeof chunk);
  g_signal_connect (pair.client, "ready-read", G_CALLBACK (on_ready_read_reentry), &r);

  ls_test_raw_write_all (pair.peer_fd, chunk, sizeof chunk);
  g_assert_true (ls_test_run_until_cond (available_104, pair.client, 10000));
  /* Fixed wait: nothing may re-enter or fire again meanwhile. */
  ls_test_run_for (100);
  g_assert_false (r.reentered);
  g_assert_cmpuint (r.count, >=, 1);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 104);

  /* One arrival, one ready-read: unread buffered data does not make it
   * fire again and again. */
  before = r.count;
  ls_test_raw_write_all (pair.peer_fd, chunk, sizeof chunk);
  {
    CountAtLeast c = { &r.count, before + 1 };

    ls_test_run_until_cond (count_at_least, &c, 10000);
  }
  g_assert_cmpuint (r.count, ==, before + 1);
  /* Fixed wait: no further ready-read may come. */
  ls_test_run_for (200);
  g_assert_cmpuint (r.count, ==, before + 1);
  g_assert_false (r.reentered);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 204);

  ls_test_raw_pair_clear (&pair);
}

static void
test_io_read_semantics (LsTestFixture *f,
                        gconstpointer  test_data)
{
  LsTestRawPair pair;
  const char *text = "hello world\nsecond line\nab\nrest";
  gint64 len = strlen (text);

  ls_test_raw_pair_init (&pair, f->dir);
  ls_test_raw_write_all (pair.peer_fd, text, len);
  while (ls_local_socket_get_bytes_available (pair.client) < len)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);

  /* peek does not consume. */
  ls_test_assert_bytes_str (ls_local_socket_peek (pair.client, 5), "hello");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);
  ls_test_assert_bytes_str (ls_local_socket_peek (pair.client, 1000), text);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);

  ls_test_assert_bytes_str (ls_local_socket_read (pair.client, 5), "hello");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len - 5);
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), " world\n");
  /* A limit of N returns at most N - 1 bytes (Qt's rule), counting the
   * newline, and cuts a line in two; 1 returns nothing. */
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 1), "");
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 4), "sec");
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "ond line\n");
  /* A limit one past the line's length returns the whole line. */
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 4), "ab\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 4);
  /* read(max) with less available returns what there is. */
  ls_test_assert_bytes_str (ls_local_socket_read (pair.client, 100), "rest");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* Empty buffer: empty results, never NULL. */
  ls_test_assert_bytes_str (ls_local_socket_read_all (pair.client), "");
  ls_test_assert_bytes_str (ls_local_socket_read (pair.client, 10), "");
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "");
  ls_test_assert_bytes_str (ls_local_socket_peek (pair.client, 10), "");
  g_assert_false (ls_local_socket_can_read_line (pair.client));

  /* read_line(2) returns one byte (read_line(1) none); the newline is then a line of its own. */
  ls_test_raw_write_all (pair.peer_fd, "x\ny", 3);
  while (ls_local_socket_get_bytes_available (pair.client) < 3)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 2), "x");
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "\n");
  /* Without a newline, read_line returns what is buffered (QIODevice). */
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "y");

  /* read_all takes everything, binary-safe. */
  ls_test_raw_write_all (pair.peer_fd, "a\0b\nc", 5);
  while (ls_local_socket_get_bytes_available (pair.client) < 5)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  {
    g_autoptr(GBytes) all = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const char *d = g_bytes_get_data (all, &n);

    g_assert_cmpmem (d, n, "a\0b\nc", 5);
  }
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  ls_test_raw_pair_clear (&pair);
}

typedef struct
{
  GPtrArray *lines;
  guint      ready_reads;
} LineState;

static void
on_ready_read_lines (LsLocalSocket *socket,
                     LineState     *state)
{
  state->ready_reads++;
  while (ls_local_socket_can_read_line (socket))
    {
      g_autoptr(GBytes) line = ls_local_socket_read_line (socket, 0);
      gsize n = 0;
      const char *d = g_bytes_get_data (line, &n);

      g_ptr_array_add (state->lines, g_strndup (d, n));
    }
}

static void
run_until_ready_reads (LineState *state,
                       guint      target)
{
  CountAtLeast c = { &state->ready_reads, target };

  ls_test_run_until_cond (count_at_least, &c, 10000);
  g_assert_cmpuint (state->ready_reads, ==, target);
}

static void
test_io_line_protocol (LsTestFixture *f,
                       gconstpointer  test_data)
{
  LsTestRawPair pair;
  LineState state = { g_ptr_array_new_with_free_func (g_free), 0 };
  gulong id;

  ls_test_raw_pair_init (&pair, f->dir);
  id = g_signal_connect (pair.client, "ready-read", G_CALLBACK (on_ready_read_lines), &state);

  /* Through the event loop. */
  ls_test_raw_write_all (pair.peer_fd, "he", 2);
  run_until_ready_reads (&state, 1);
  g_assert_cmpuint (state.lines->len, ==, 0);
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 2);

  ls_test_raw_write_all (pair.peer_fd, "llo\nwor", 7);
  run_until_ready_reads (&state, 2);
  g_assert_cmpuint (state.lines->len, ==, 1);
  g_assert_cmpstr (state.lines->pdata[0], ==, "hello\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);

  ls_test_raw_write_all (pair.peer_fd, "ld\n", 3);
  run_until_ready_reads (&state, 3);
  g_assert_cmpuint (state.lines->len, ==, 2);
  g_assert_cmpstr (state.lines->pdata[1], ==, "world\n");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* The same with wait_for_ready_read and no handler. */
  g_signal_handler_disconnect (pair.client, id);
  ls_test_raw_write_all (pair.peer_fd, "he", 2);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 2);
  ls_test_raw_write_all (pair.peer_fd, "llo\nwor", 7);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "hello\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  ls_test_raw_write_all (pair.peer_fd, "ld\n", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  ls_test_assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "world\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));

  g_ptr_array_unref (state.lines);
  ls_test_raw_pair_clear (&pair);
}

typedef struct
{
  Sink          *sink;
  LsLocalSocket *socket;
} BoundedSink;

/* All 512 bytes arrived; checked between every two dispatches, so the bound
 * holds all along. */
static gboolean
sink_has_512_bounded (gpointer data)
{
  BoundedSink *b = data;

  g_assert_cmpint (ls_local_socket_get_bytes_available (b->socket), <=, 128);
  return b->sink->received >= 512;
}

static void
test_io_read_buffer_size (LsTestFixture *f,
                          gconstpointer  test_data)
{
  LsTestRawPair pair;
  g_autofree guint8 *data = ls_test_pattern_new (512, 5);
  Sink sink;

  ls_test_raw_pair_init (&pair, f->dir);
  ls_local_socket_set_read_buffer_size (pair.client, 128);
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (pair.client), ==, 128);

  ls_test_raw_write_all (pair.peer_fd, data, 256);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  /* The rest stays in the kernel until we read (a fixed wait: nothing may
   * arrive meanwhile). */
  ls_test_run_for (100);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  {
    g_autoptr(GBytes) first = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const guint8 *d = g_bytes_get_data (first, &n);

    g_assert_cmpuint (n, ==, 128);
    g_assert_true (ls_test_pattern_check (d, n, 0, 5));
  }
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  {
    g_autoptr(GBytes) second = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const guint8 *d = g_bytes_get_data (second, &n);

    g_assert_cmpuint (n, ==, 128);
    g_assert_true (ls_test_pattern_check (d, n, 128, 5));
  }
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));

  /* Through the event loop: reading in ready-read resumes the flow, and
   * the buffer never holds more than 128 bytes. */
  sink_attach (&sink, pair.client, 5);
  sink.received = 256;
  ls_test_raw_write_all (pair.peer_fd, data + 256, 256);
  {
    BoundedSink b = { &sink, pair.client };

    ls_test_run_until_cond (sink_has_512_bounded, &b, 10000);
  }
  g_assert_cmpuint (sink.received, ==, 512);
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.ready_reads, >=, 2);

  ls_test_raw_pair_clear (&pair);
}

/* A bytes-written handler that writes and flushes more: the bytes its
 * flush wrote are announced once it returns, so a writer driven by
 * bytes-written never stalls, and every byte is announced once. */
typedef struct
{
  gint64 announced;
  guint  emissions;
  guint  chunks_left;
  gboolean nested;
  gboolean in_handler;
} Feeder;

static void
feed_on_bytes_written (LsLocalSocket *socket, gint64 n, Feeder *feeder)
{
  g_assert_false (feeder->in_handler);   /* never recursively */
  feeder->in_handler = TRUE;
  feeder->announced += n;
  feeder->emissions++;
  if (feeder->chunks_left > 0)
    {
      feeder->chunks_left--;
      g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "0123456789", 10), ==, 10);
      /* Written inside the emission: no nested signal. */
      g_assert_true (ls_local_socket_flush (socket));
    }
  feeder->in_handler = FALSE;
}

static void
test_bytes_written_handler_flushes (LsTestFixture *f, gconstpointer data)
{
  Feeder feeder = { .chunks_left = 3 };
  g_autoptr(GString) received = g_string_new (NULL);

  g_signal_connect (f->client, "bytes-written", G_CALLBACK (feed_on_bytes_written), &feeder);
  g_assert_cmpint (ls_local_socket_write (f->client, (const guint8 *) "start", 5), ==, 5);
  g_assert_true (ls_local_socket_flush (f->client));
  /* One emission for the first write, one for each chunk flushed inside. */
  g_assert_cmpuint (feeder.emissions, ==, 4);
  g_assert_cmpint (feeder.announced, ==, 5 + 3 * 10);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);
  while (received->len < 35)
    {
      g_autoptr(GBytes) bytes = NULL;

      g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
      bytes = ls_local_socket_read_all (f->peer);
      g_string_append_len (received, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  g_assert_cmpstr (received->str, ==, "start012345678901234567890123456789");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/socket/io/write-buffered", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_io_write_buffered, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/bytes-written-handler-flushes", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_bytes_written_handler_flushes,
              ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/flush", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_io_flush, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/write-unconnected", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_io_write_unconnected, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/bidirectional-8mib", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_io_bidirectional, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/ready-read-not-recursive", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_io_ready_read_not_recursive, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/read-semantics", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_io_read_semantics, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/line-protocol", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_io_line_protocol, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/io/read-buffer-size", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_io_read_buffer_size, ls_test_fixture_teardown);

  return g_test_run ();
}
