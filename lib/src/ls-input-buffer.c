/* ls-input-buffer.c: a socket's received, not yet read bytes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-input-buffer-private.h"

guint8 *
ls_input_buffer_tail (LsInputBuffer *buffer,
                      gsize          space)
{
  gsize needed;

  if (buffer->start > 0 && buffer->start + buffer->len + space > buffer->alloc)
    {
      memmove (buffer->data, buffer->data + buffer->start, buffer->len);
      buffer->start = 0;
    }
  needed = buffer->start + buffer->len + space;
  if (needed > buffer->alloc && buffer->pooled)
    {
      /* A pooled block never grows: its size is what the pool hands out. */
      gsize alloc = MAX (needed, buffer->alloc * 2);
      guint8 *data = g_malloc (alloc);

      memcpy (data, buffer->data + buffer->start, buffer->len);
      ls_block_release (buffer->data);
      buffer->data = data;
      buffer->alloc = alloc;
      buffer->start = 0;
      buffer->pooled = FALSE;
    }
  else if (needed > buffer->alloc)
    {
      gsize alloc = MAX (needed, buffer->alloc * 2);

      buffer->data = g_realloc (buffer->data, alloc);
      buffer->alloc = alloc;
    }
  return buffer->data + buffer->start + buffer->len;
}

GBytes *
ls_input_buffer_peek (LsInputBuffer *buffer,
                      gsize          max_size)
{
  if (buffer->len == 0)
    return g_bytes_new (NULL, 0);
  return g_bytes_new (ls_input_buffer_peek_data (buffer), MIN (max_size, buffer->len));
}

void
ls_input_buffer_settle_slow (LsInputBuffer *buffer)
{
  guint8 *data;

  if (buffer->len == 0)
    {
      ls_input_buffer_clear (buffer);
      return;
    }
  data = g_memdup2 (buffer->data + buffer->start, buffer->len);
  ls_block_release (buffer->data);
  buffer->data = data;
  buffer->alloc = buffer->len;
  buffer->start = 0;
  buffer->pooled = FALSE;
}
