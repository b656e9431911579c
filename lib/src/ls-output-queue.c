/* ls-output-queue.c: a socket's written, not yet sent bytes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-output-queue-private.h"

void
ls_output_queue_clear_slow (LsOutputQueue *queue)
{
  g_clear_pointer (&queue->head, g_bytes_unref);
  g_queue_clear_full (&queue->rest, (GDestroyNotify) g_bytes_unref);
}

gsize
ls_output_queue_limit_iov (struct iovec *iov,
                           gsize         n_iov,
                           gsize         limit)
{
  gsize sum = 0;

  for (gsize i = 0; i < n_iov; i++)
    {
      if (iov[i].iov_len >= limit - sum)
        {
          iov[i].iov_len = limit - sum;
          return i + 1;
        }
      sum += iov[i].iov_len;
    }
  return n_iov;
}
