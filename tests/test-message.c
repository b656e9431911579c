/* test-message.c: tests of LsLocalSocket's framed messages (QDataStream's
 * QByteArray framing: a 32-bit big-endian length, then the bytes)
 *
 * Peers are another LsLocalSocket (through an LsLocalServer) or a raw
 * descriptor of a socketpair, which writes frames byte by byte or with
 * hostile lengths.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KIB 1024
#define MIB (1024 * 1024)
/* A guard against hangs, not a measurement. */
#define HANG_GUARD_MS 60000

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static guint8 *
pattern_new (gsize size,
             guint seed)
{
  guint8 *data = g_malloc (size + 1);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (((i ^ (i >> 9) ^ (i >> 17)) * 13u) + seed);
  return data;
}

static GBytes *
pattern_bytes (gsize size,
               guint seed)
{
  return g_bytes_new_take (pattern_new (size, seed), size);
}

static void
raw_write_all (int         fd,
               const void *data,
               gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      ssize_t n = write (fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      size -= n;
    }
}

static void
raw_write_frame_header (int     fd,
                        guint32 length)
{
  guint32 be = GUINT32_TO_BE (length);

  raw_write_all (fd, &be, sizeof be);
}

/* Reads exactly @size bytes from a blocking descriptor. */
static void
raw_read_exact (int    fd,
                void  *data,
                gsize  size)
{
  guint8 *p = data;

  while (size > 0)
    {
      ssize_t n = read (fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      size -= n;
    }
}

/* An LsLocalSocket on one end of a socketpair, the raw descriptor on the
 * other. */
typedef struct
{
  LsLocalSocket *socket;
  int            fd;
} RawPeer;

static void
raw_peer_init (RawPeer *peer)
{
  g_autoptr(GError) error = NULL;
  int sv[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  peer->socket = ls_local_socket_new ();
  g_assert_true (ls_local_socket_set_socket_descriptor (peer->socket, sv[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  peer->fd = sv[1];
}

static void
raw_peer_clear (RawPeer *peer)
{
  g_clear_object (&peer->socket);
  if (peer->fd >= 0)
    close (peer->fd);
  peer->fd = -1;
}

/* Two LsLocalSockets connected through an LsLocalServer. */
typedef struct
{
  char          *dir;
  LsLocalServer *server;
  LsLocalSocket *client;
  LsLocalSocket *peer;
} Pair;

static void
pair_init (Pair *pair)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  gboolean timed_out = FALSE;

  pair->dir = ls_test_make_tmpdir ();
  path = g_build_filename (pair->dir, "m", NULL);
  pair->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (pair->server, path, &error));
  g_assert_no_error (error);
  pair->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (pair->client, path);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  if (!ls_local_server_has_pending_connections (pair->server))
    {
      g_assert_true (ls_local_server_wait_for_new_connection (pair->server, HANG_GUARD_MS,
                                                              &timed_out, &error));
      g_assert_no_error (error);
    }
  pair->peer = ls_local_server_next_pending_connection (pair->server);
  g_assert_nonnull (pair->peer);
}

static void
pair_clear (Pair *pair)
{
  g_clear_object (&pair->client);
  g_clear_object (&pair->peer);
  g_clear_object (&pair->server);
  ls_test_remove_tmpdir (pair->dir);
  g_clear_pointer (&pair->dir, g_free);
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @socket has a complete message and returns it;
 * a tick keeps the hang guard checked. */
static GBytes *
loop_read_message (LsLocalSocket *socket)
{
  GSource *tick = g_timeout_source_new (50);
  gint64 deadline = g_get_monotonic_time () + (gint64) HANG_GUARD_MS * 1000;
  GBytes *message;

  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, NULL);
  for (;;)
    {
      g_autoptr(GError) error = NULL;

      message = ls_local_socket_read_message (socket, &error);
      g_assert_no_error (error);
      if (message != NULL)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_destroy (tick);
  g_source_unref (tick);
  return message;
}

/* Blocks (no main loop) until @socket buffers @size bytes. */
static void
wait_bytes_available (LsLocalSocket *socket,
                      gint64         size)
{
  while (ls_local_socket_get_bytes_available (socket) < size)
    g_assert_true (ls_local_socket_wait_for_ready_read (socket, HANG_GUARD_MS));
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), ==, size);
}

static void
assert_no_message (LsLocalSocket *socket)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  gint64 before = ls_local_socket_get_bytes_available (socket);

  g_assert_false (ls_local_socket_can_read_message (socket));
  message = ls_local_socket_read_message (socket, &error);
  g_assert_no_error (error);
  g_assert_null (message);
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), ==, before);
}

static void
assert_message_equal (GBytes *message,
                      GBytes *expected)
{
  g_assert_nonnull (message);
  g_assert_cmpuint (g_bytes_get_size (message), ==, g_bytes_get_size (expected));
  g_assert_true (g_bytes_equal (message, expected));
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static const gsize round_trip_sizes[] = { 0, 1, 64 * KIB, 5 * MIB };

static void
round_trip (gint64 read_buffer_size)
{
  Pair pair;

  pair_init (&pair);
  ls_local_socket_set_read_buffer_size (pair.peer, read_buffer_size);
  ls_local_socket_set_read_buffer_size (pair.client, read_buffer_size);

  for (guint i = 0; i < G_N_ELEMENTS (round_trip_sizes); i++)
    {
      gsize size = round_trip_sizes[i];
      g_autoptr(GBytes) request = pattern_bytes (size, 1 + i);
      g_autoptr(GBytes) reply = pattern_bytes (size, 101 + i);
      g_autoptr(GBytes) got_request = NULL;
      g_autoptr(GBytes) got_reply = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("message of %" G_GSIZE_FORMAT " bytes, read-buffer-size %" G_GINT64_FORMAT,
                      size, read_buffer_size);
      g_assert_true (ls_local_socket_write_message (pair.client, request, &error));
      g_assert_no_error (error);
      g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 4 + (gint64) size);

      got_request = loop_read_message (pair.peer);
      assert_message_equal (got_request, request);
      g_assert_cmpint (ls_local_socket_get_bytes_available (pair.peer), ==, 0);

      g_assert_true (ls_local_socket_write_message (pair.peer, reply, &error));
      g_assert_no_error (error);
      got_reply = loop_read_message (pair.client);
      assert_message_equal (got_reply, reply);
    }

  /* Several messages in a row, read in one go once all are there. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) message = pattern_bytes (1000 * i, 7);

      g_assert_true (ls_local_socket_write_message (pair.client, message, NULL));
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) expected = pattern_bytes (1000 * i, 7);
      g_autoptr(GBytes) message = loop_read_message (pair.peer);

      assert_message_equal (message, expected);
    }

  pair_clear (&pair);
}

static void
test_round_trip (void)
{
  round_trip (0);
}

/* Messages larger than the read buffer are assembled all the same. */
static void
test_round_trip_small_read_buffer (void)
{
  round_trip (4 * KIB);
}

/* The bytes on the wire are QDataStream's. */
static void
test_wire_format (void)
{
  RawPeer peer;
  g_autoptr(GBytes) message = g_bytes_new_static ("hello", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  guint8 wire[4 + 5 + 4];
  static const guint8 expected[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0 };

  raw_peer_init (&peer);
  g_assert_true (ls_local_socket_write_message (peer.socket, message, NULL));
  g_assert_true (ls_local_socket_write_message (peer.socket, empty, NULL));
  while (ls_local_socket_get_bytes_to_write (peer.socket) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (peer.socket, HANG_GUARD_MS));
  raw_read_exact (peer.fd, wire, sizeof wire);
  g_assert_cmpmem (wire, sizeof wire, expected, sizeof expected);
  raw_peer_clear (&peer);
}

/* Qt's null QByteArray (length 0xFFFFFFFF) reads as an empty message. */
static void
test_null_frame (void)
{
  RawPeer peer;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;

  raw_peer_init (&peer);
  raw_write_frame_header (peer.fd, 0xFFFFFFFFu);
  raw_write_frame_header (peer.fd, 1);
  raw_write_all (peer.fd, "x", 1);
  wait_bytes_available (peer.socket, 9);

  g_assert_true (ls_local_socket_can_read_message (peer.socket));
  first = ls_local_socket_read_message (peer.socket, NULL);
  g_assert_nonnull (first);
  g_assert_cmpuint (g_bytes_get_size (first), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 5);

  second = ls_local_socket_read_message (peer.socket, NULL);
  g_assert_nonnull (second);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second), "x", 1);
  assert_no_message (peer.socket);
  raw_peer_clear (&peer);
}

/* A frame written byte by byte: nothing until the last byte, nothing
 * consumed meanwhile. */
static void
test_split_frame (void)
{
  RawPeer peer;
  const gsize payload = 300;
  g_autofree guint8 *frame = g_malloc (4 + payload);
  g_autoptr(GBytes) expected = pattern_bytes (payload, 9);
  g_autoptr(GBytes) message = NULL;

  raw_peer_init (&peer);
  /* Also beyond a tiny read buffer: the header and the frame still fit. */
  ls_local_socket_set_read_buffer_size (peer.socket, 2);
  *(guint32 *) frame = GUINT32_TO_BE ((guint32) payload);
  memcpy (frame + 4, g_bytes_get_data (expected, NULL), payload);

  for (gsize i = 0; i < 4 + payload - 1; i++)
    {
      raw_write_all (peer.fd, frame + i, 1);
      wait_bytes_available (peer.socket, i + 1);
      assert_no_message (peer.socket);
    }
  raw_write_all (peer.fd, frame + 4 + payload - 1, 1);
  wait_bytes_available (peer.socket, 4 + payload);
  g_assert_true (ls_local_socket_can_read_message (peer.socket));
  message = ls_local_socket_read_message (peer.socket, NULL);
  assert_message_equal (message, expected);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 0);
  raw_peer_clear (&peer);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */
/* ------------------------------------------------------------------------ */

static void
test_hostile_length (void)
{
  RawPeer peer;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autofree guint8 *junk = pattern_new (100, 3);

  raw_peer_init (&peer);
  ls_local_socket_set_read_buffer_size (peer.socket, 16);
  raw_write_frame_header (peer.fd, 0xFFFFFFF0u);
  raw_write_all (peer.fd, junk, 10);
  wait_bytes_available (peer.socket, 14);

  g_assert_false (ls_local_socket_can_read_message (peer.socket));
  message = ls_local_socket_read_message (peer.socket, &error);
  g_assert_null (message);
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_cmpint (ls_local_socket_get_error (peer.socket), ==, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_nonnull (strstr (ls_local_socket_get_error_string (peer.socket), "message"));
  /* Nothing consumed, and the read buffer cap holds: the socket does not
   * start collecting 4 GiB. */
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 14);
  g_assert_cmpint (ls_local_socket_get_state (peer.socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  raw_write_all (peer.fd, junk + 10, 90);
  wait_bytes_available (peer.socket, 16);
  ls_test_run_for (50);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 16);
  g_clear_error (&error);
  g_assert_null (ls_local_socket_read_message (peer.socket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 16);

  /* The raw bytes stay readable. */
  {
    g_autoptr(GBytes) raw = ls_local_socket_read (peer.socket, 4);
    guint32 be;

    memcpy (&be, g_bytes_get_data (raw, NULL), 4);
    g_assert_cmpuint (GUINT32_FROM_BE (be), ==, 0xFFFFFFF0u);
  }
  raw_peer_clear (&peer);
}

/* max-message-size is inclusive, and checked before the payload arrives. */
static void
test_max_message_size_limit (void)
{
  RawPeer peer;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;

  raw_peer_init (&peer);
  ls_local_socket_set_max_message_size (peer.socket, 10);
  raw_write_frame_header (peer.fd, 11);
  wait_bytes_available (peer.socket, 4);
  g_assert_null (ls_local_socket_read_message (peer.socket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 4);

  ls_local_socket_set_max_message_size (peer.socket, 11);
  assert_no_message (peer.socket);
  raw_write_all (peer.fd, "hello world", 11);
  wait_bytes_available (peer.socket, 15);
  message = ls_local_socket_read_message (peer.socket, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "hello world", 11);
  raw_peer_clear (&peer);
}

/* A writer thread, so that a big write does not block the test (the
 * receiver runs in this thread). */
typedef struct
{
  int     fd;
  GBytes *data;
} Writer;

static gpointer
writer_thread (gpointer user_data)
{
  Writer *writer = user_data;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (writer->data, &size);

  raw_write_all (writer->fd, data, size);
  return NULL;
}

static GThread *
write_in_thread (Writer *writer,
                 int     fd,
                 GBytes *data)
{
  writer->fd = fd;
  writer->data = data;
  return g_thread_new ("writer", writer_thread, writer);
}

static GBytes *
frame_new (GBytes *payload)
{
  gsize size = g_bytes_get_size (payload);
  guint8 *frame = g_malloc (4 + size);
  guint32 be = GUINT32_TO_BE ((guint32) size);

  memcpy (frame, &be, 4);
  if (size > 0)
    memcpy (frame + 4, g_bytes_get_data (payload, NULL), size);
  return g_bytes_new_take (frame, 4 + size);
}

/* The cap is raised to exactly the frame: what follows it waits in the
 * kernel until the frame is read. */
static void
test_larger_than_read_buffer (void)
{
  RawPeer peer;
  const gsize payload = 100 * KIB;
  g_autoptr(GBytes) big = pattern_bytes (payload, 11);
  g_autoptr(GBytes) big_frame = frame_new (big);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autoptr(GBytes) wire_bytes = NULL;
  GThread *thread;
  Writer writer;

  raw_peer_init (&peer);
  ls_local_socket_set_read_buffer_size (peer.socket, KIB);
  g_byte_array_append (wire, g_bytes_get_data (big_frame, NULL), g_bytes_get_size (big_frame));
  g_byte_array_append (wire, (const guint8 *) "\0\0\0\x0a" "0123456789", 14);
  wire_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&wire));
  thread = write_in_thread (&writer, peer.fd, wire_bytes);

  wait_bytes_available (peer.socket, KIB);
  /* Only the message API lifts the cap; the frame at the front is then
   * read in full, and not one byte beyond. */
  while (!ls_local_socket_can_read_message (peer.socket))
    g_assert_true (ls_local_socket_wait_for_ready_read (peer.socket, HANG_GUARD_MS));
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 4 + payload);
  ls_test_run_for (50);
  g_thread_join (thread);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, 4 + payload);
  message = ls_local_socket_read_message (peer.socket, NULL);
  assert_message_equal (message, big);
  g_clear_pointer (&message, g_bytes_unref);

  wait_bytes_available (peer.socket, 14);
  message = ls_local_socket_read_message (peer.socket, NULL);
  g_assert_nonnull (message);
  g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "0123456789", 10);
  g_clear_pointer (&message, g_bytes_unref);

  /* Without the message API, read-buffer-size holds as before. */
  raw_write_all (peer.fd, g_bytes_get_data (big_frame, NULL), 4 * KIB);
  wait_bytes_available (peer.socket, KIB);
  ls_test_run_for (50);
  g_assert_cmpint (ls_local_socket_get_bytes_available (peer.socket), ==, KIB);
  raw_peer_clear (&peer);
}

/* The same through the main loop, with ready-read handlers. */
typedef struct
{
  GPtrArray *messages;
  GError    *error;
  gint64     max_buffered;
} Collector;

static void
collector_on_ready_read (LsLocalSocket *socket,
                         Collector     *collector)
{
  GBytes *message;

  collector->max_buffered = MAX (collector->max_buffered,
                                 ls_local_socket_get_bytes_available (socket));
  while ((message = ls_local_socket_read_message (socket, &collector->error)) != NULL)
    g_ptr_array_add (collector->messages, message);
}

static gboolean
collector_done (Collector *collector,
                guint      n)
{
  return collector->messages->len >= n || collector->error != NULL;
}

static void
run_until_collected (Collector *collector,
                     guint      n)
{
  GSource *tick = g_timeout_source_new (50);
  gint64 deadline = g_get_monotonic_time () + (gint64) HANG_GUARD_MS * 1000;

  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, NULL);
  while (!collector_done (collector, n))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_destroy (tick);
  g_source_unref (tick);
}

static void
test_larger_than_read_buffer_in_loop (void)
{
  RawPeer peer;
  g_autoptr(GBytes) big = pattern_bytes (MIB, 12);
  g_autoptr(GBytes) frame = frame_new (big);
  Collector collector = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  GThread *thread;
  Writer writer;

  raw_peer_init (&peer);
  ls_local_socket_set_read_buffer_size (peer.socket, 4 * KIB);
  g_signal_connect (peer.socket, "ready-read", G_CALLBACK (collector_on_ready_read), &collector);
  thread = write_in_thread (&writer, peer.fd, frame);
  run_until_collected (&collector, 1);
  g_thread_join (thread);
  g_assert_no_error (collector.error);
  g_assert_cmpuint (collector.messages->len, ==, 1);
  assert_message_equal (collector.messages->pdata[0], big);
  g_assert_cmpint (collector.max_buffered, <=, 4 + MIB);

  g_ptr_array_unref (collector.messages);
  raw_peer_clear (&peer);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_write_unconnected (void)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  g_autoptr(GBytes) message = g_bytes_new_static ("abc", 3);
  g_autoptr(GError) error = NULL;

  g_assert_false (ls_local_socket_write_message (socket, message, &error));
  /* The code and text write() records: Qt leaves error() as it was. */
  g_assert_error (error, LS_SOCKET_ERROR, (gint) ls_local_socket_get_error (socket));
  g_assert_cmpstr (error->message, ==, ls_local_socket_get_error_string (socket));
  g_assert_nonnull (strstr (error->message, "write"));
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_clear_error (&error);

  /* Same after a connection ended. */
  {
    RawPeer peer;

    raw_peer_init (&peer);
    ls_local_socket_abort (peer.socket);
    g_assert_false (ls_local_socket_write_message (peer.socket, message, &error));
    g_assert_error (error, LS_SOCKET_ERROR, (gint) ls_local_socket_get_error (peer.socket));
    g_assert_cmpint (ls_local_socket_get_bytes_to_write (peer.socket), ==, 0);
    raw_peer_clear (&peer);
  }
  g_object_unref (socket);
}

static void
test_write_too_large (void)
{
#if GLIB_SIZEOF_SIZE_T > 4
  RawPeer peer;
  static const guint8 data[16];
  g_autoptr(GError) error = NULL;
  /* Never read: the size alone is refused. */
  g_autoptr(GBytes) huge = g_bytes_new_static (data, 0xFFFFFFFEu);

  raw_peer_init (&peer);
  g_assert_false (ls_local_socket_write_message (peer.socket, huge, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_cmpint (ls_local_socket_get_error (peer.socket), ==, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (peer.socket), ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (peer.socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  raw_peer_clear (&peer);
#else
  g_test_skip ("needs a 64-bit gsize");
#endif
}

/* ------------------------------------------------------------------------ */
/* The property                                                             */
/* ------------------------------------------------------------------------ */

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           guint      *count)
{
  g_assert_cmpstr (pspec->name, ==, "max-message-size");
  (*count)++;
}

static void
test_max_message_size_property (void)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  guint notified = 0;
  guint value = 0;

  g_assert_cmpuint (ls_local_socket_get_max_message_size (socket), ==, 16777216);
  g_object_get (socket, "max-message-size", &value, NULL);
  g_assert_cmpuint (value, ==, 16777216);
  g_signal_connect (socket, "notify::max-message-size", G_CALLBACK (on_notify), &notified);

  ls_local_socket_set_max_message_size (socket, 16777216);
  g_assert_cmpuint (notified, ==, 0);
  ls_local_socket_set_max_message_size (socket, 100);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpuint (ls_local_socket_get_max_message_size (socket), ==, 100);
  g_object_set (socket, "max-message-size", 100u, NULL);
  g_assert_cmpuint (notified, ==, 1);
  g_object_set (socket, "max-message-size", G_MAXUINT, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_cmpuint (ls_local_socket_get_max_message_size (socket), ==, G_MAXUINT);
  g_object_unref (socket);
}

/* ------------------------------------------------------------------------ */
/* Handlers that end the socket while reading messages                      */
/* ------------------------------------------------------------------------ */

typedef enum
{
  ACTION_CLOSE,
  ACTION_ABORT,
  ACTION_DISCONNECT,
  ACTION_UNREF,
} Action;

typedef struct
{
  Action  action;
  guint   read;
  guint   ready_reads;
  GError *error;
} Ender;

static void
ender_on_ready_read (LsLocalSocket *socket,
                     Ender         *ender)
{
  GBytes *message;

  ender->ready_reads++;
  while ((message = ls_local_socket_read_message (socket, &ender->error)) != NULL)
    {
      g_bytes_unref (message);
      if (++ender->read != 1)
        continue;
      switch (ender->action)
        {
        case ACTION_CLOSE:
          ls_local_socket_close (socket);
          break;
        case ACTION_ABORT:
          ls_local_socket_abort (socket);
          break;
        case ACTION_DISCONNECT:
          ls_local_socket_disconnect_from_server (socket);
          break;
        case ACTION_UNREF:
          /* The last reference: the socket must outlive the emission. */
          g_object_unref (socket);
          return;
        }
    }
}

static void
test_handler_ends_socket (gconstpointer data)
{
  Action action = GPOINTER_TO_UINT (data);
  Ender ender = { action };
  RawPeer peer;
  LsLocalSocket *weak;
  g_autoptr(GBytes) one = g_bytes_new_static ("one", 3);
  g_autoptr(GBytes) f1 = frame_new (one);
  g_autoptr(GBytes) big = pattern_bytes (8 * KIB, 4);
  g_autoptr(GBytes) f2 = frame_new (big);

  raw_peer_init (&peer);
  weak = peer.socket;
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  /* One complete frame, then a second one only partly there, then a third
   * that needs more than the read buffer. */
  ls_local_socket_set_read_buffer_size (peer.socket, 1024);
  g_signal_connect (peer.socket, "ready-read", G_CALLBACK (ender_on_ready_read), &ender);
  raw_write_all (peer.fd, g_bytes_get_data (f1, NULL), g_bytes_get_size (f1));
  raw_write_all (peer.fd, g_bytes_get_data (f1, NULL), g_bytes_get_size (f1));
  raw_write_all (peer.fd, g_bytes_get_data (f2, NULL), 2000);
  if (action == ACTION_UNREF)
    peer.socket = NULL;     /* the handler owns it now */

  {
    gboolean done = FALSE;

    while (!done)
      {
        ls_test_run_for (20);
        done = ender.read >= 1;
      }
  }
  ls_test_run_for (50);
  g_assert_no_error (ender.error);
  g_assert_cmpuint (ender.read, >=, 1);
  switch (action)
    {
    case ACTION_UNREF:
      g_assert_null (weak);
      break;
    case ACTION_CLOSE:
    case ACTION_ABORT:
      g_assert_cmpuint (ender.read, ==, 1);
      g_assert_cmpint (ls_local_socket_get_bytes_available (weak), ==, 0);
      g_assert_cmpint (ls_local_socket_get_state (weak), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      g_assert_false (ls_local_socket_can_read_message (weak));
      break;
    case ACTION_DISCONNECT:
      /* Received data stays readable after a disconnect. */
      g_assert_cmpuint (ender.read, ==, 2);
      g_assert_cmpint (ls_local_socket_get_state (weak), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      break;
    }
  if (weak != NULL)
    g_object_remove_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  raw_peer_clear (&peer);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/message/round-trip", test_round_trip);
  g_test_add_func ("/ls/message/round-trip-small-read-buffer", test_round_trip_small_read_buffer);
  g_test_add_func ("/ls/message/wire-format", test_wire_format);
  g_test_add_func ("/ls/message/null-frame", test_null_frame);
  g_test_add_func ("/ls/message/split-frame", test_split_frame);
  g_test_add_func ("/ls/message/hostile-length", test_hostile_length);
  g_test_add_func ("/ls/message/max-message-size/limit", test_max_message_size_limit);
  g_test_add_func ("/ls/message/max-message-size/property", test_max_message_size_property);
  g_test_add_func ("/ls/message/larger-than-read-buffer", test_larger_than_read_buffer);
  g_test_add_func ("/ls/message/larger-than-read-buffer-in-loop", test_larger_than_read_buffer_in_loop);
  g_test_add_func ("/ls/message/write-unconnected", test_write_unconnected);
  g_test_add_func ("/ls/message/write-too-large", test_write_too_large);
  g_test_add_data_func ("/ls/message/handler/close", GUINT_TO_POINTER (ACTION_CLOSE),
                        test_handler_ends_socket);
  g_test_add_data_func ("/ls/message/handler/abort", GUINT_TO_POINTER (ACTION_ABORT),
                        test_handler_ends_socket);
  g_test_add_data_func ("/ls/message/handler/disconnect", GUINT_TO_POINTER (ACTION_DISCONNECT),
                        test_handler_ends_socket);
  g_test_add_data_func ("/ls/message/handler/unref", GUINT_TO_POINTER (ACTION_UNREF),
                        test_handler_ends_socket);

  return g_test_run ();
}
