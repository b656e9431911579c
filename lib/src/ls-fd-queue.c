/* ls-fd-queue.c: descriptors travelling with a socket's byte stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-fd-queue-private.h"

#include <unistd.h>

typedef struct
{
  guint64  position;
  guint64  end;        /* output: where the write they came with ends */
  int     *fds;
  guint    n_fds;
} Entry;

struct _LsFdQueue
{
  /* Output: each entry's descriptors go with the byte at stream position
   * `position` (bytes sent so far + bytes queued before it), in a send
   * that ends by `end`. */
  GQueue   output;
  guint64  out_sent;

  /* Input: each entry becomes takeable once in_read reaches `position`
   * (the end of the read that brought it). */
  GQueue   input;
  guint64  in_read;
  guint    in_count;
};

void
ls_fd_close_all (const int *fds,
                 guint      n_fds)
{
  for (guint i = 0; i < n_fds; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  ls_fd_close_all (entry->fds, entry->n_fds);
  g_free (entry->fds);
  g_free (entry);
}

static Entry *
entry_new (guint64  position,
           guint64  end,
           int     *fds,
           guint    n_fds)
{
  Entry *entry = g_new (Entry, 1);

  entry->position = position;
  entry->end = end;
  entry->fds = fds;
  entry->n_fds = n_fds;
  return entry;
}

LsFdQueue *
ls_fd_queue_new (void)
{
  return g_new0 (LsFdQueue, 1);
}

void
ls_fd_queue_free (LsFdQueue *queue)
{
  ls_fd_queue_clear_output (queue);
  ls_fd_queue_clear_input (queue);
  g_free (queue);
}

void
ls_fd_queue_push_output (LsFdQueue *queue,
                         gsize      unsent,
                         gsize      size,
                         int       *fds,
                         guint      n_fds)
{
  guint64 position = queue->out_sent + unsent;

  g_queue_push_tail (&queue->output, entry_new (position, position + size, fds, n_fds));
}

const int *
ls_fd_queue_plan_send (LsFdQueue *queue,
                       guint     *n_fds,
                       gsize     *limit)
{
  Entry *head = g_queue_peek_head (&queue->output);

  *n_fds = 0;
  *limit = G_MAXSIZE;
  if (head == NULL)
    return NULL;
  if (head->position > queue->out_sent)
    {
      /* Stop just before the byte that carries descriptors. */
      *limit = head->position - queue->out_sent;
      return NULL;
    }
  /* The kernel ends the peer's read after the bytes that brought
   * descriptors, and the peer ties them to the end of that read: a send
   * that went on into the next write's bytes would hold them back until
   * those were read too. The next entry starts at this end or later. */
  *limit = head->end - queue->out_sent;
  *n_fds = head->n_fds;
  return head->fds;
}

void
ls_fd_queue_sent (LsFdQueue *queue,
                  gsize      n,
                  gboolean   with_fds)
{
  queue->out_sent += n;
  /* Once a byte of the send left, its descriptors left with it. */
  if (with_fds && n > 0)
    entry_free (g_queue_pop_head (&queue->output));
}

void
ls_fd_queue_clear_output (LsFdQueue *queue)
{
  g_queue_clear_full (&queue->output, entry_free);
}

gboolean
ls_fd_queue_has_output (LsFdQueue *queue)
{
  return queue->output.length > 0;
}

guint
ls_fd_queue_push_input (LsFdQueue *queue,
                        gsize      unread,
                        int       *fds,
                        guint      n_fds)
{
  g_queue_push_tail (&queue->input, entry_new (queue->in_read + unread, 0, fds, n_fds));
  queue->in_count += n_fds;
  return queue->in_count;
}

void
ls_fd_queue_consumed (LsFdQueue *queue,
                      gsize      n)
{
  queue->in_read += n;
}

GUnixFDList *
ls_fd_queue_take_input (LsFdQueue *queue)
{
  GArray *fds = NULL;
  Entry *entry;
  guint n;

  while ((entry = g_queue_peek_head (&queue->input)) != NULL &&
         entry->position <= queue->in_read)
    {
      g_queue_pop_head (&queue->input);
      if (fds == NULL)
        fds = g_array_new (FALSE, FALSE, sizeof (int));
      g_array_append_vals (fds, entry->fds, entry->n_fds);
      queue->in_count -= entry->n_fds;
      g_free (entry->fds);
      g_free (entry);
    }
  if (fds == NULL)
    return NULL;
  n = fds->len;
  /* g_unix_fd_list_new_from_array() takes the descriptors (not the array). */
  {
    GUnixFDList *list = g_unix_fd_list_new_from_array ((const gint *) (gpointer) fds->data, n);

    g_array_free (fds, TRUE);
    return list;
  }
}

gboolean
ls_fd_queue_has_input (LsFdQueue *queue)
{
  return queue->input.length > 0;
}

void
ls_fd_queue_clear_input (LsFdQueue *queue)
{
  g_queue_clear_full (&queue->input, entry_free);
  queue->in_count = 0;
}
