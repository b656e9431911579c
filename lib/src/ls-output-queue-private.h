/* ls-output-queue-private.h: a socket's written, not yet sent bytes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-output-queue-private.h is private to the Ls library."
#endif

#include <sys/uio.h>
#include <glib.h>

G_BEGIN_DECLS

/* The most chunks one send gathers. */
#define LS_OUTPUT_QUEUE_MAX_IOV 64

/* head, sent up to offset, then the GBytes of rest, in order; len counts
 * the bytes not yet sent. Most writes are one chunk, which needs no list
 * node. No chunk is empty, and rest is empty whenever head is NULL. All
 * zero is a valid empty queue. */
typedef struct
{
  GBytes  *head;
  GQueue   rest;
  gsize    offset;
  gsize    len;
} LsOutputQueue;

void   ls_output_queue_clear_slow (LsOutputQueue *queue);
/* Cuts the first @n_iov entries of @iov after @limit bytes; returns how
 * many entries remain. */
gsize  ls_output_queue_limit_iov (struct iovec  *iov,
                                  gsize          n_iov,
                                  gsize          limit);

/* Drops every unsent byte; the queue stays usable. Inline: every
 * connection's end clears a queue that is nearly always empty. */
static inline void
ls_output_queue_clear (LsOutputQueue *queue)
{
  if (queue->head != NULL)
    ls_output_queue_clear_slow (queue);
  queue->offset = 0;
  queue->len = 0;
}

/* Queues @bytes (owned, not empty) after everything else; @size is its
 * size, which every caller has at hand. Returns TRUE when the queue was
 * empty, i.e. a send must now be arranged. */
static inline gboolean
ls_output_queue_push (LsOutputQueue *queue,
                      GBytes        *bytes,
                      gsize          size)
{
  queue->len += size;
  if (queue->head != NULL)
    {
      g_queue_push_tail (&queue->rest, bytes);
      return FALSE;
    }
  queue->head = bytes;
  return TRUE;
}

/* Points @iov at the unsent bytes, at most @max_iov chunks and @limit
 * bytes (G_MAXSIZE: no limit), for one sendmsg (). Returns the number of
 * entries used; 0 when the queue is empty. */
static inline gsize
ls_output_queue_fill_iov (LsOutputQueue *queue,
                          struct iovec  *iov,
                          gsize          max_iov,
                          gsize          limit)
{
  const guint8 *data;
  gsize size;
  gsize n_iov = 1;

  if (queue->head == NULL || max_iov == 0)
    return 0;
  data = g_bytes_get_data (queue->head, &size);
  iov[0].iov_base = (guint8 *) data + queue->offset;
  iov[0].iov_len = size - queue->offset;
  for (GList *link = queue->rest.head; link != NULL && n_iov < max_iov; link = link->next)
    {
      data = g_bytes_get_data (link->data, &size);
      iov[n_iov].iov_base = (guint8 *) data;
      iov[n_iov].iov_len = size;
      n_iov++;
    }
  if (G_UNLIKELY (limit != G_MAXSIZE))
    n_iov = ls_output_queue_limit_iov (iov, n_iov, limit);
  return n_iov;
}

/* When @borrowed (a GBytes over memory that is about to go, pushed on an
 * empty queue and sent from at once) is still at the head, replaces it
 * with a copy of what is left of it: only what the kernel refused is
 * copied. */
static inline void
ls_output_queue_settle_borrowed (LsOutputQueue *queue,
                                 GBytes        *borrowed)
{
  gsize size;
  const guint8 *data;

  if (queue->head != borrowed)
    return;
  data = g_bytes_get_data (borrowed, &size);
  queue->head = g_bytes_new (data + queue->offset, size - queue->offset);
  queue->offset = 0;
  g_bytes_unref (borrowed);
}

/* @n bytes (at most len) were sent: drops them from the front. */
static inline void
ls_output_queue_consume (LsOutputQueue *queue,
                         gsize          n)
{
  queue->len -= n;
  while (n > 0)
    {
      gsize left = g_bytes_get_size (queue->head) - queue->offset;

      if (n < left)
        {
          queue->offset += n;
          break;
        }
      n -= left;
      queue->offset = 0;
      g_bytes_unref (queue->head);
      queue->head = g_queue_pop_head (&queue->rest);
    }
}

G_END_DECLS
