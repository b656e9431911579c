/* ls-input-buffer-private.h: a socket's received, not yet read bytes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-input-buffer-private.h is private to the Ls library."
#endif

#include <string.h>
#include <glib.h>

#include "ls-block-pool-private.h"

G_BEGIN_DECLS

/* data[start .. start + len) is unread. A buffer holds no memory while it
 * is empty (data NULL), so an idle connection costs nothing. A big read
 * lands in a pooled block (pooled), which the application gets without a
 * copy and which goes back to the pool when its GBytes is freed. All zero
 * is a valid empty buffer.
 *
 * line_scanned: the first line_scanned unread bytes are known to hold no
 * newline, so that looking for a line after more data arrived scans only
 * what is new (a peer that sends a long line in many pieces would
 * otherwise cost a scan of the whole buffer per piece). Always <= len; a
 * guint32 that fills the hole after pooled (a line longer than 4 GiB is
 * merely scanned again from there). */
typedef struct
{
  guint8   *data;
  gsize     start;
  gsize     len;
  gsize     alloc;
  gboolean  pooled;
  guint32   line_scanned;
} LsInputBuffer;

/* Makes room for @space more bytes after the content (compacting it to the
 * front or growing the memory) and returns where they go. Only for a
 * buffer that holds something; an empty one reads through
 * ls_input_buffer_begin_read (). */
guint8       *ls_input_buffer_tail       (LsInputBuffer *buffer,
                                          gsize          space);

/* A copy of the first @max_size bytes (at most len), left in place. */
GBytes       *ls_input_buffer_peek       (LsInputBuffer *buffer,
                                          gsize          max_size);

/* Where a read of up to @space bytes goes: into a pooled block when the
 * buffer is empty (*block, to be passed to ls_input_buffer_end_read ()),
 * else after the content (*block NULL). */
static inline guint8 *
ls_input_buffer_begin_read (LsInputBuffer  *buffer,
                            gsize           space,
                            guint8        **block)
{
  if (buffer->len == 0)
    return *block = ls_block_acquire ();
  *block = NULL;
  return ls_input_buffer_tail (buffer, space);
}

/* Ends what ls_input_buffer_begin_read () began: @n bytes arrived (0 when
 * the read failed or nobody wants them). A big read keeps its block; a
 * small one is copied out so that the block goes back at once and an idle
 * connection never pins 64 KiB. */
static inline void
ls_input_buffer_end_read (LsInputBuffer *buffer,
                          guint8        *block,
                          gsize          n)
{
  if (block == NULL)
    buffer->len += n;
  else if (n > LS_BLOCK_SIZE / 4)
    {
      buffer->data = block;
      buffer->alloc = LS_BLOCK_SIZE;
      buffer->pooled = TRUE;
      buffer->start = 0;
      buffer->len = n;
    }
  else
    {
      if (n > 0)
        {
          buffer->data = g_memdup2 (block, n);
          buffer->alloc = n;
          buffer->start = 0;
          buffer->len = n;
        }
      ls_block_release (block);
    }
}

/* ls_input_buffer_end_read () for a read that is announced at once (the
 * socket's ready-read): the block is kept whatever the size, so that a
 * handler that takes everything gets it without a copy (see
 * ls_input_buffer_take ()). ls_input_buffer_settle () must follow the
 * announcement. */
static inline void
ls_input_buffer_end_read_kept (LsInputBuffer *buffer,
                               guint8        *block,
                               gsize          n)
{
  if (block == NULL || n == 0)
    ls_input_buffer_end_read (buffer, block, n);
  else
    {
      buffer->data = block;
      buffer->alloc = LS_BLOCK_SIZE;
      buffer->pooled = TRUE;
      buffer->start = 0;
      buffer->len = n;
    }
}

void          ls_input_buffer_settle_slow (LsInputBuffer *buffer);

/* After the announcement of a kept read: what is still buffered of a small
 * one moves to a right-sized copy and the block goes back, so that an idle
 * connection never pins 64 KiB. (So does a big read's small remainder.) */
static inline void
ls_input_buffer_settle (LsInputBuffer *buffer)
{
  if (G_UNLIKELY (buffer->pooled && buffer->len <= LS_BLOCK_SIZE / 4))
    ls_input_buffer_settle_slow (buffer);
}

/* Drops the content and frees (or gives back) the memory. */
static inline void
ls_input_buffer_clear (LsInputBuffer *buffer)
{
  if (buffer->pooled)
    ls_block_release (buffer->data);
  else
    g_free (buffer->data);
  buffer->data = NULL;
  buffer->pooled = FALSE;
  buffer->start = buffer->len = buffer->alloc = 0;
  buffer->line_scanned = 0;
}

/* Removes the first @n bytes (at most len) and returns them. The whole
 * content starting at the front is handed over without a copy. Inline:
 * every read of the application goes through here. */
static inline GBytes *
ls_input_buffer_take (LsInputBuffer *buffer,
                      gsize          n)
{
  GBytes *bytes;

  n = MIN (n, buffer->len);
  if (n == 0)
    return g_bytes_new (NULL, 0);
  /* What stays after the first n bytes was scanned as far as before. */
  buffer->line_scanned = buffer->line_scanned > n ? buffer->line_scanned - (guint32) n : 0;

  if (n == buffer->len && buffer->start == 0)
    {
      /* The whole buffer: hand it over without copying. */
      if (!buffer->pooled)
        bytes = g_bytes_new_take (buffer->data, n);
      else if (n > LS_BLOCK_SIZE / 4)
        bytes = g_bytes_new_with_free_func (buffer->data, n, ls_block_release, buffer->data);
      else if (ls_block_try_lend ())
        bytes = g_bytes_new_with_free_func (buffer->data, n, ls_block_return_lent, buffer->data);
      else
        {
          /* Too many small reads lent out already. */
          bytes = g_bytes_new (buffer->data, n);
          ls_block_release (buffer->data);
        }
      buffer->data = NULL;
      buffer->pooled = FALSE;
      buffer->len = buffer->alloc = 0;
    }
  else
    {
      bytes = g_bytes_new (buffer->data + buffer->start, n);
      buffer->start += n;
      buffer->len -= n;
      if (buffer->len == 0)
        ls_input_buffer_clear (buffer);
    }
  return bytes;
}

/* Removes the first @n bytes (at most len) without handing them out. */
static inline void
ls_input_buffer_drop (LsInputBuffer *buffer,
                      gsize          n)
{
  if (n >= buffer->len)
    ls_input_buffer_clear (buffer);
  else
    {
      buffer->start += n;
      buffer->len -= n;
    }
}

/* The unread bytes (len of them). */
static inline const guint8 *
ls_input_buffer_peek_data (const LsInputBuffer *buffer)
{
  return buffer->data + buffer->start;
}

/* Length of the first line (with its newline) within the first @limit
 * bytes, or 0 when there is no newline there. Scans only what no earlier
 * call scanned (see line_scanned). */
static inline gsize
ls_input_buffer_line_length (LsInputBuffer *buffer,
                             gsize          limit)
{
  const guint8 *start;
  const guint8 *newline;
  gsize end, from;

  if (buffer->len == 0)
    return 0;
  start = ls_input_buffer_peek_data (buffer);
  end = MIN (limit, buffer->len);
  from = MIN ((gsize) buffer->line_scanned, end);
  newline = memchr (start + from, '\n', end - from);
  if (newline != NULL)
    return (gsize) (newline - start) + 1;
  /* A shorter limit than before scanned nothing new: keep what is known. */
  if (end > buffer->line_scanned)
    buffer->line_scanned = (guint32) MIN (end, G_MAXUINT32);
  return 0;
}

G_END_DECLS
