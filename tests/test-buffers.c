/* test-buffers.c: unit tests of the socket's buffers: the block pool
 * (lib/src/ls-block-pool.c), LsInputBuffer (lib/src/ls-input-buffer.c),
 * LsOutputQueue (lib/src/ls-output-queue.c) and the descriptors that go
 * with the stream, LsFdQueue (lib/src/ls-fd-queue.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-block-pool-private.h"
#include "ls-fd-queue-private.h"
#include "ls-input-buffer-private.h"
#include "ls-output-queue-private.h"
#include "ls-local-socket.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* More than the shared pool and the thread's cache hold together, so that
 * taking this many leaves both empty. */
#define DRAIN_BLOCKS 20

static void
drain_pool (guint8 **blocks)
{
  for (guint i = 0; i < DRAIN_BLOCKS; i++)
    blocks[i] = ls_block_acquire ();
}

static void
refill_pool (guint8 **blocks)
{
  for (guint i = 0; i < DRAIN_BLOCKS; i++)
    ls_block_release (blocks[i]);
}

/* Appends @text to @buffer as a read of strlen (@text) bytes would. */
static void
fake_read (LsInputBuffer *buffer,
           const char    *text)
{
  gsize n = strlen (text);
  guint8 *block;
  guint8 *target = ls_input_buffer_begin_read (buffer, LS_BLOCK_SIZE, &block);

  memcpy (target, text, n);
  ls_input_buffer_end_read (buffer, block, n);
}

static void
assert_bytes (GBytes     *bytes,
              const char *expected)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  g_assert_cmpmem (data, size, expected, strlen (expected));
  g_bytes_unref (bytes);
}

/* ------------------------------------------------------------------------ */
/* Block pool                                                                */
/* ------------------------------------------------------------------------ */

static void
test_pool_thread_cache (void)
{
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *block;

  drain_pool (blocks);
  /* The block given back last is the one the thread gets next. */
  block = ls_block_acquire ();
  ls_block_release (block);
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);
  refill_pool (blocks);
}

static void
test_pool_shared (void)
{
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *first, *second;

  drain_pool (blocks);
  first = ls_block_acquire ();
  second = ls_block_acquire ();
  /* The first goes to the thread's cache, the second to the shared pool;
   * they come back in that order. */
  ls_block_release (first);
  ls_block_release (second);
  g_assert_true (ls_block_acquire () == first);
  g_assert_true (ls_block_acquire () == second);
  ls_block_release (first);
  ls_block_release (second);
  refill_pool (blocks);
}

static gpointer
release_two (gpointer data)
{
  guint8 **pair = data;

  /* The first lands in this thread's cache (freed when the thread exits),
   * the second in the shared pool. */
  ls_block_release (pair[0]);
  ls_block_release (pair[1]);
  return NULL;
}

static void
test_pool_other_thread (void)
{
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *pair[2];
  GThread *thread;

  drain_pool (blocks);
  pair[0] = ls_block_acquire ();
  pair[1] = ls_block_acquire ();
  memset (pair[0], 0xaa, LS_BLOCK_SIZE);
  memset (pair[1], 0xbb, LS_BLOCK_SIZE);
  thread = g_thread_new ("release", release_two, pair);
  g_thread_join (thread);

  /* This thread's cache is empty: the block freed in the shared pool by
   * the other thread comes back, intact. */
  g_assert_true (ls_block_acquire () == pair[1]);
  g_assert_cmpint (pair[1][0], ==, 0xbb);
  g_assert_cmpint (pair[1][LS_BLOCK_SIZE - 1], ==, 0xbb);
  ls_block_release (pair[1]);
  refill_pool (blocks);
}

/* ------------------------------------------------------------------------ */
/* LsInputBuffer                                                             */
/* ------------------------------------------------------------------------ */

static void
test_input_empty (void)
{
  LsInputBuffer buffer = { 0 };

  g_assert_null (buffer.data);
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, 100), ==, 0);
  assert_bytes (ls_input_buffer_peek (&buffer, 10), "");
  assert_bytes (ls_input_buffer_take (&buffer, 10), "");
  ls_input_buffer_clear (&buffer);
  ls_input_buffer_clear (&buffer);
  g_assert_null (buffer.data);
  g_assert_cmpuint (buffer.len, ==, 0);
}

static void
test_input_small_read_copied (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *block;

  drain_pool (blocks);
  fake_read (&buffer, "hello");
  /* A small read does not keep the block: an idle connection pins none. */
  g_assert_false (buffer.pooled);
  g_assert_cmpuint (buffer.len, ==, 5);
  g_assert_cmpuint (buffer.alloc, ==, 5);
  block = ls_block_acquire ();
  g_assert_true (block != buffer.data);
  ls_block_release (block);
  ls_input_buffer_clear (&buffer);
  g_assert_null (buffer.data);
  refill_pool (blocks);
}

static void
test_input_large_read_pooled (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *data;
  guint8 *block;
  GBytes *bytes;
  gsize n = LS_BLOCK_SIZE / 4 + 1;
  guint8 *blocks[DRAIN_BLOCKS];

  drain_pool (blocks);
  data = ls_input_buffer_begin_read (&buffer, LS_BLOCK_SIZE, &block);
  g_assert_true (data == block);
  memset (data, 'x', n);
  ls_input_buffer_end_read (&buffer, block, n);
  g_assert_true (buffer.pooled);
  g_assert_true (buffer.data == block);
  g_assert_cmpuint (buffer.alloc, ==, LS_BLOCK_SIZE);
  g_assert_cmpuint (buffer.len, ==, n);

  /* Taking all of it hands the block over without a copy; freeing the
   * GBytes gives it back to the pool. */
  bytes = ls_input_buffer_take (&buffer, n);
  g_assert_true (g_bytes_get_data (bytes, NULL) == block);
  g_assert_null (buffer.data);
  g_assert_false (buffer.pooled);
  g_assert_cmpuint (buffer.len, ==, 0);
  g_bytes_unref (bytes);
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);
  refill_pool (blocks);
}

static void
test_input_failed_read (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *block;
  guint8 *again;

  ls_input_buffer_begin_read (&buffer, LS_BLOCK_SIZE, &block);
  g_assert_nonnull (block);
  ls_input_buffer_end_read (&buffer, block, 0);
  g_assert_null (buffer.data);
  g_assert_cmpuint (buffer.len, ==, 0);
  /* The block went back to this thread's cache. */
  again = ls_block_acquire ();
  g_assert_true (again == block);
  ls_block_release (again);

  /* A read after the content that brought nothing changes nothing. */
  fake_read (&buffer, "abc");
  ls_input_buffer_begin_read (&buffer, 16, &block);
  g_assert_null (block);
  ls_input_buffer_end_read (&buffer, NULL, 0);
  g_assert_cmpuint (buffer.len, ==, 3);
  assert_bytes (ls_input_buffer_take (&buffer, 3), "abc");
}

static void
test_input_partial_take (void)
{
  LsInputBuffer buffer = { 0 };

  fake_read (&buffer, "abcdef");
  assert_bytes (ls_input_buffer_take (&buffer, 2), "ab");
  g_assert_cmpuint (buffer.start, ==, 2);
  g_assert_cmpuint (buffer.len, ==, 4);
  assert_bytes (ls_input_buffer_peek (&buffer, 3), "cde");
  assert_bytes (ls_input_buffer_peek (&buffer, 100), "cdef");
  g_assert_cmpuint (buffer.len, ==, 4);
  /* More than is buffered takes what is there. */
  assert_bytes (ls_input_buffer_take (&buffer, 100), "cdef");
  /* Emptied from the middle: the memory goes. */
  g_assert_null (buffer.data);
  g_assert_cmpuint (buffer.start, ==, 0);
  g_assert_cmpuint (buffer.alloc, ==, 0);
}

static void
test_input_append_and_compact (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *tail;

  fake_read (&buffer, "0123456789");
  g_assert_cmpuint (buffer.alloc, ==, 10);
  assert_bytes (ls_input_buffer_take (&buffer, 6), "012345");
  g_assert_cmpuint (buffer.start, ==, 6);

  /* 4 unread + 6 new fit in 10 once the unread bytes move to the front. */
  tail = ls_input_buffer_tail (&buffer, 6);
  g_assert_cmpuint (buffer.start, ==, 0);
  g_assert_cmpuint (buffer.alloc, ==, 10);
  g_assert_true (tail == buffer.data + 4);
  memcpy (tail, "abcdef", 6);
  ls_input_buffer_end_read (&buffer, NULL, 6);
  assert_bytes (ls_input_buffer_peek (&buffer, 100), "6789abcdef");

  /* No room: the memory at least doubles. */
  tail = ls_input_buffer_tail (&buffer, 1);
  g_assert_cmpuint (buffer.alloc, ==, 20);
  *tail = '!';
  ls_input_buffer_end_read (&buffer, NULL, 1);
  assert_bytes (ls_input_buffer_take (&buffer, 11), "6789abcdef!");
  g_assert_null (buffer.data);
}

static void
test_input_pooled_grows_off_pool (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *block;
  guint8 *tail;
  gsize n = LS_BLOCK_SIZE - 10;

  drain_pool (blocks);
  ls_input_buffer_begin_read (&buffer, LS_BLOCK_SIZE, &block);
  memset (block, 'y', n);
  ls_input_buffer_end_read (&buffer, block, n);
  g_assert_true (buffer.pooled);

  /* A pooled block never grows: the content moves to the heap and the
   * block goes back. */
  tail = ls_input_buffer_tail (&buffer, 100);
  g_assert_false (buffer.pooled);
  g_assert_true (buffer.data != block);
  g_assert_cmpuint (buffer.alloc, ==, 2 * LS_BLOCK_SIZE);
  g_assert_cmpint (buffer.data[0], ==, 'y');
  g_assert_cmpint (buffer.data[n - 1], ==, 'y');
  memset (tail, 'z', 100);
  ls_input_buffer_end_read (&buffer, NULL, 100);
  g_assert_cmpuint (buffer.len, ==, n + 100);
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);

  ls_input_buffer_clear (&buffer);
  g_assert_null (buffer.data);
  refill_pool (blocks);
}

static void
test_input_line_length (void)
{
  LsInputBuffer buffer = { 0 };

  fake_read (&buffer, "one\ntwo\nthree");
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, buffer.len), ==, 4);
  /* The newline must lie within the limit. */
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, 3), ==, 0);
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, 4), ==, 4);
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, 1000), ==, 4);

  /* Measured from the unread start, not the memory's. */
  assert_bytes (ls_input_buffer_take (&buffer, 4), "one\n");
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, buffer.len), ==, 4);
  assert_bytes (ls_input_buffer_take (&buffer, 4), "two\n");
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, buffer.len), ==, 0);

  /* A line completed by a later read, after compaction. */
  memcpy (ls_input_buffer_tail (&buffer, 2), "!\n", 2);
  ls_input_buffer_end_read (&buffer, NULL, 2);
  g_assert_cmpuint (buffer.start, ==, 0);
  g_assert_cmpuint (ls_input_buffer_line_length (&buffer, buffer.len), ==, 7);
  assert_bytes (ls_input_buffer_take (&buffer, 7), "three!\n");
}

/* ------------------------------------------------------------------------ */
/* LsOutputQueue                                                             */
/* ------------------------------------------------------------------------ */

static void
push_text (LsOutputQueue *queue,
           const char    *text)
{
  ls_output_queue_push (queue, g_bytes_new (text, strlen (text)), strlen (text));
}

/* The unsent bytes, through the iovecs a send would use. */
static char *
unsent (LsOutputQueue *queue)
{
  struct iovec iov[LS_OUTPUT_QUEUE_MAX_IOV];
  gsize n_iov = ls_output_queue_fill_iov (queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, G_MAXSIZE);
  GString *text = g_string_new (NULL);

  for (gsize i = 0; i < n_iov; i++)
    g_string_append_len (text, iov[i].iov_base, iov[i].iov_len);
  return g_string_free (text, FALSE);
}

static void
assert_unsent (LsOutputQueue *queue,
               const char    *expected)
{
  g_autofree char *text = unsent (queue);

  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (queue->len, ==, strlen (expected));
}

static void
test_output_empty (void)
{
  /* All zero is an empty queue. */
  LsOutputQueue queue = { 0 };
  struct iovec iov[4];

  g_assert_cmpuint (ls_output_queue_fill_iov (&queue, iov, 4, G_MAXSIZE), ==, 0);
  ls_output_queue_clear (&queue);
  ls_output_queue_clear (&queue);
  g_assert_null (queue.head);
  g_assert_cmpuint (queue.len, ==, 0);
  g_assert_cmpuint (queue.rest.length, ==, 0);
}

static void
test_output_push (void)
{
  LsOutputQueue queue = { 0 };

  /* Only the first push into an empty queue asks for a send. */
  g_assert_true (ls_output_queue_push (&queue, g_bytes_new ("ab", 2), 2));
  g_assert_false (ls_output_queue_push (&queue, g_bytes_new ("cd", 2), 2));
  g_assert_false (ls_output_queue_push (&queue, g_bytes_new ("e", 1), 1));
  g_assert_cmpuint (queue.rest.length, ==, 2);
  assert_unsent (&queue, "abcde");
  ls_output_queue_clear (&queue);
  g_assert_true (ls_output_queue_push (&queue, g_bytes_new ("f", 1), 1));
  assert_unsent (&queue, "f");
  ls_output_queue_clear (&queue);
}

static void
test_output_partial_consume (void)
{
  LsOutputQueue queue = { 0 };

  push_text (&queue, "hello");
  push_text (&queue, " ");
  push_text (&queue, "world");

  ls_output_queue_consume (&queue, 2);
  g_assert_cmpuint (queue.offset, ==, 2);
  assert_unsent (&queue, "llo world");
  /* Across a chunk boundary, into the middle of the next. */
  ls_output_queue_consume (&queue, 5);
  g_assert_cmpuint (queue.offset, ==, 1);
  assert_unsent (&queue, "orld");
  ls_output_queue_consume (&queue, 4);
  g_assert_null (queue.head);
  g_assert_cmpuint (queue.len, ==, 0);
  g_assert_cmpuint (queue.offset, ==, 0);
}

static void
test_output_consume_at_boundaries (void)
{
  LsOutputQueue queue = { 0 };

  push_text (&queue, "aaa");
  push_text (&queue, "bb");
  push_text (&queue, "c");

  /* Exactly the head: the next chunk becomes the head, from its start. */
  ls_output_queue_consume (&queue, 3);
  g_assert_cmpuint (queue.offset, ==, 0);
  g_assert_cmpuint (queue.rest.length, ==, 1);
  assert_unsent (&queue, "bbc");
  /* Exactly the two chunks left. */
  ls_output_queue_consume (&queue, 3);
  g_assert_null (queue.head);
  g_assert_cmpuint (queue.rest.length, ==, 0);
  g_assert_cmpuint (queue.len, ==, 0);

  /* Nothing sent changes nothing. */
  push_text (&queue, "d");
  ls_output_queue_consume (&queue, 0);
  assert_unsent (&queue, "d");
  ls_output_queue_clear (&queue);
}

static void
test_output_iov_past_max (void)
{
  LsOutputQueue queue = { 0 };
  struct iovec iov[LS_OUTPUT_QUEUE_MAX_IOV];
  guint chunks = LS_OUTPUT_QUEUE_MAX_IOV + 36;
  gsize n_iov;

  for (guint i = 0; i < chunks; i++)
    {
      char text[2] = { 'A' + i % 26, 0 };

      push_text (&queue, text);
    }
  g_assert_cmpuint (queue.len, ==, chunks);

  n_iov = ls_output_queue_fill_iov (&queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, G_MAXSIZE);
  g_assert_cmpuint (n_iov, ==, LS_OUTPUT_QUEUE_MAX_IOV);
  for (gsize i = 0; i < n_iov; i++)
    {
      g_assert_cmpuint (iov[i].iov_len, ==, 1);
      g_assert_cmpint (*(char *) iov[i].iov_base, ==, 'A' + i % 26);
    }

  /* A send of everything the iovecs held leaves the rest, in order. */
  ls_output_queue_consume (&queue, LS_OUTPUT_QUEUE_MAX_IOV);
  g_assert_cmpuint (queue.len, ==, 36);
  n_iov = ls_output_queue_fill_iov (&queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, G_MAXSIZE);
  g_assert_cmpuint (n_iov, ==, 36);
  g_assert_cmpint (*(char *) iov[0].iov_base, ==, 'A' + LS_OUTPUT_QUEUE_MAX_IOV % 26);

  /* Fewer iovecs than chunks, as a caller may ask. */
  g_assert_cmpuint (ls_output_queue_fill_iov (&queue, iov, 3, G_MAXSIZE), ==, 3);
  ls_output_queue_clear (&queue);
  g_assert_null (queue.head);
}

static void
test_output_iov_limit (void)
{
  LsOutputQueue queue = { 0 };
  struct iovec iov[LS_OUTPUT_QUEUE_MAX_IOV];
  gsize n_iov;

  push_text (&queue, "0123");
  push_text (&queue, "4567");
  push_text (&queue, "89");
  ls_output_queue_consume (&queue, 1);

  /* The limit cuts inside the second chunk. */
  n_iov = ls_output_queue_fill_iov (&queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, 5);
  g_assert_cmpuint (n_iov, ==, 2);
  g_assert_cmpuint (iov[0].iov_len, ==, 3);
  g_assert_cmpmem (iov[0].iov_base, 3, "123", 3);
  g_assert_cmpuint (iov[1].iov_len, ==, 2);
  g_assert_cmpmem (iov[1].iov_base, 2, "45", 2);

  /* A limit exactly at a chunk's end ends the iovecs there. */
  n_iov = ls_output_queue_fill_iov (&queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, 3);
  g_assert_cmpuint (n_iov, ==, 1);
  g_assert_cmpuint (iov[0].iov_len, ==, 3);

  /* A limit beyond everything changes nothing. */
  n_iov = ls_output_queue_fill_iov (&queue, iov, LS_OUTPUT_QUEUE_MAX_IOV, 1000);
  g_assert_cmpuint (n_iov, ==, 3);
  g_assert_cmpuint (iov[2].iov_len, ==, 2);
  ls_output_queue_clear (&queue);
}

/* ------------------------------------------------------------------------ */
/* Kept reads: the block lent to the application                           */
/* ------------------------------------------------------------------------ */

/* Reads @text as the socket does: kept in the block, whatever its size. */
static guint8 *
kept_read (LsInputBuffer *buffer,
           const char    *text)
{
  gsize n = strlen (text);
  guint8 *block;
  guint8 *target = ls_input_buffer_begin_read (buffer, LS_BLOCK_SIZE, &block);

  g_assert_nonnull (block);
  memcpy (target, text, n);
  ls_input_buffer_end_read_kept (buffer, block, n);
  return block;
}

static void
test_kept_small_read_lent (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *block;
  GBytes *bytes;

  drain_pool (blocks);
  block = kept_read (&buffer, "ping");
  g_assert_true (buffer.pooled);
  g_assert_true (buffer.data == block);
  g_assert_cmpuint (buffer.len, ==, 4);

  /* Taken whole: the block itself, no copy; settling finds nothing. */
  bytes = ls_input_buffer_take (&buffer, 4);
  g_assert_true (g_bytes_get_data (bytes, NULL) == block);
  g_assert_cmpuint (ls_block_lent_count (), ==, 1);
  ls_input_buffer_settle (&buffer);
  g_assert_null (buffer.data);
  g_assert_false (buffer.pooled);
  assert_bytes (bytes, "ping");
  g_assert_cmpuint (ls_block_lent_count (), ==, 0);
  /* Freed: back in this thread's cache. */
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);
  refill_pool (blocks);
}

static void
test_kept_read_settles (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *blocks[DRAIN_BLOCKS];
  guint8 *block;

  drain_pool (blocks);
  block = kept_read (&buffer, "abcdef");
  assert_bytes (ls_input_buffer_take (&buffer, 2), "ab");
  g_assert_cmpuint (ls_block_lent_count (), ==, 0);

  /* Left buffered after the announcement: copied to fit, block back. */
  ls_input_buffer_settle (&buffer);
  g_assert_false (buffer.pooled);
  g_assert_true (buffer.data != block);
  g_assert_cmpuint (buffer.start, ==, 0);
  g_assert_cmpuint (buffer.alloc, ==, 4);
  assert_bytes (ls_input_buffer_peek (&buffer, 100), "cdef");
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);
  assert_bytes (ls_input_buffer_take (&buffer, 4), "cdef");
  g_assert_null (buffer.data);

  /* A big read's remainder stays where it is when it is big. */
  ls_input_buffer_begin_read (&buffer, LS_BLOCK_SIZE, &block);
  memset (block, 'q', LS_BLOCK_SIZE);
  ls_input_buffer_end_read_kept (&buffer, block, LS_BLOCK_SIZE);
  g_bytes_unref (ls_input_buffer_take (&buffer, 100));
  ls_input_buffer_settle (&buffer);
  g_assert_true (buffer.pooled);
  g_assert_true (buffer.data == block);
  ls_input_buffer_clear (&buffer);
  refill_pool (blocks);
}

static gpointer
check_and_unref (gpointer data)
{
  assert_bytes (data, "from another thread");
  return NULL;
}

static void
test_kept_read_freed_on_other_thread (void)
{
  LsInputBuffer buffer = { 0 };
  guint8 *block;
  GBytes *bytes;
  GThread *thread;

  block = kept_read (&buffer, "from another thread");
  bytes = ls_input_buffer_take (&buffer, buffer.len);
  g_assert_true (g_bytes_get_data (bytes, NULL) == block);
  g_assert_cmpuint (ls_block_lent_count (), ==, 1);

  /* The block goes to that thread's cache, which frees it when the thread
   * ends (valgrind and ASan check that). */
  thread = g_thread_new ("unref", check_and_unref, bytes);
  g_thread_join (thread);
  g_assert_cmpuint (ls_block_lent_count (), ==, 0);
}

static void
test_kept_read_lend_limit (void)
{
  LsInputBuffer buffer = { 0 };
  GBytes *lent[LS_BLOCK_MAX_LENT];
  guint8 *block;
  GBytes *copied;

  for (guint i = 0; i < LS_BLOCK_MAX_LENT; i++)
    {
      block = kept_read (&buffer, "x");
      lent[i] = ls_input_buffer_take (&buffer, 1);
      g_assert_true (g_bytes_get_data (lent[i], NULL) == block);
    }
  g_assert_cmpuint (ls_block_lent_count (), ==, LS_BLOCK_MAX_LENT);

  /* One more is copied, and its block goes back at once. */
  block = kept_read (&buffer, "y");
  copied = ls_input_buffer_take (&buffer, 1);
  g_assert_true (g_bytes_get_data (copied, NULL) != block);
  g_assert_cmpuint (ls_block_lent_count (), ==, LS_BLOCK_MAX_LENT);
  g_assert_true (ls_block_acquire () == block);
  ls_block_release (block);
  assert_bytes (copied, "y");

  for (guint i = 0; i < LS_BLOCK_MAX_LENT; i++)
    assert_bytes (lent[i], "x");
  g_assert_cmpuint (ls_block_lent_count (), ==, 0);
}

static void
read_all_into (LsLocalSocket *socket,
               gpointer       data)
{
  GBytes **bytes = data;

  g_assert_null (*bytes);
  *bytes = ls_local_socket_read_all (socket);
}

/* Through a socket: read_all () in ready-read takes the block, which
 * outlives the socket. */
static void
test_kept_read_outlives_socket (void)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  GError *error = NULL;
  GBytes *bytes = NULL;
  int fds[2];

  g_signal_connect (socket, "ready-read", G_CALLBACK (read_all_into), &bytes);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, fds[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  g_assert_cmpint (write (fds[1], "outlives", 8), ==, 8);
  g_assert_true (ls_local_socket_wait_for_ready_read (socket, 5000));
  g_assert_nonnull (bytes);
  g_assert_cmpuint (ls_block_lent_count (), ==, 1);

  g_object_unref (socket);
  close (fds[1]);
  assert_bytes (bytes, "outlives");
  g_assert_cmpuint (ls_block_lent_count (), ==, 0);
}

/* Owned descriptors that closing skips (-1), @n of them. */
static int *
no_fds (guint n)
{
  int *fds = g_new (int, n);

  for (guint i = 0; i < n; i++)
    fds[i] = -1;
  return fds;
}

/* Sends are planned so that the byte carrying descriptors starts a send,
 * and the send ends with the write they came with (issue 23.1): a send
 * going on into the next write's bytes would hold them back at the peer
 * until those were read too. */
static void
test_fd_queue_plan (void)
{
  LsFdQueue *queue = ls_fd_queue_new ();
  guint n_fds;
  gsize limit;

  /* 3 plain bytes queued, then a write of 5 with one descriptor, 7 plain
   * bytes, a write of 4 with two descriptors, and nothing after it. */
  ls_fd_queue_push_output (queue, 3, 5, no_fds (1), 1);
  ls_fd_queue_push_output (queue, 3 + 5 + 7, 4, no_fds (2), 2);
  g_assert_true (ls_fd_queue_has_output (queue));

  g_assert_null (ls_fd_queue_plan_send (queue, &n_fds, &limit));
  g_assert_cmpuint (limit, ==, 3);
  ls_fd_queue_sent (queue, 3, FALSE);

  g_assert_nonnull (ls_fd_queue_plan_send (queue, &n_fds, &limit));
  g_assert_cmpuint (n_fds, ==, 1);
  g_assert_cmpuint (limit, ==, 5);
  /* The kernel took part of it: the descriptors left with that part. */
  ls_fd_queue_sent (queue, 2, TRUE);

  g_assert_null (ls_fd_queue_plan_send (queue, &n_fds, &limit));
  g_assert_cmpuint (limit, ==, 3 + 7);
  ls_fd_queue_sent (queue, 10, FALSE);

  g_assert_nonnull (ls_fd_queue_plan_send (queue, &n_fds, &limit));
  g_assert_cmpuint (n_fds, ==, 2);
  g_assert_cmpuint (limit, ==, 4);
  ls_fd_queue_sent (queue, 4, TRUE);

  g_assert_false (ls_fd_queue_has_output (queue));
  g_assert_null (ls_fd_queue_plan_send (queue, &n_fds, &limit));
  g_assert_cmpuint (n_fds, ==, 0);
  g_assert_cmpuint (limit, ==, G_MAXSIZE);
  ls_fd_queue_free (queue);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/buffers/pool/thread-cache", test_pool_thread_cache);
  g_test_add_func ("/ls/buffers/pool/shared", test_pool_shared);
  g_test_add_func ("/ls/buffers/pool/other-thread", test_pool_other_thread);
  g_test_add_func ("/ls/buffers/input/empty", test_input_empty);
  g_test_add_func ("/ls/buffers/input/small-read-copied", test_input_small_read_copied);
  g_test_add_func ("/ls/buffers/input/large-read-pooled", test_input_large_read_pooled);
  g_test_add_func ("/ls/buffers/input/failed-read", test_input_failed_read);
  g_test_add_func ("/ls/buffers/input/partial-take", test_input_partial_take);
  g_test_add_func ("/ls/buffers/input/append-and-compact", test_input_append_and_compact);
  g_test_add_func ("/ls/buffers/input/pooled-grows-off-pool", test_input_pooled_grows_off_pool);
  g_test_add_func ("/ls/buffers/input/line-length", test_input_line_length);
  g_test_add_func ("/ls/buffers/kept/small-read-lent", test_kept_small_read_lent);
  g_test_add_func ("/ls/buffers/kept/settles", test_kept_read_settles);
  g_test_add_func ("/ls/buffers/kept/freed-on-other-thread", test_kept_read_freed_on_other_thread);
  g_test_add_func ("/ls/buffers/kept/lend-limit", test_kept_read_lend_limit);
  g_test_add_func ("/ls/buffers/kept/outlives-socket", test_kept_read_outlives_socket);
  g_test_add_func ("/ls/buffers/output/empty", test_output_empty);
  g_test_add_func ("/ls/buffers/output/push", test_output_push);
  g_test_add_func ("/ls/buffers/output/partial-consume", test_output_partial_consume);
  g_test_add_func ("/ls/buffers/output/consume-at-boundaries", test_output_consume_at_boundaries);
  g_test_add_func ("/ls/buffers/output/iov-past-max", test_output_iov_past_max);
  g_test_add_func ("/ls/buffers/output/iov-limit", test_output_iov_limit);
  g_test_add_func ("/ls/buffers/fd-queue/plan", test_fd_queue_plan);

  return g_test_run ();
}
