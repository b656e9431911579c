/* ls-block-pool.c: the recycled 64 KiB blocks sockets read into
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-block-pool-private.h"

/* Read blocks are recycled: a bulk transfer hands each one to the
 * application as a GBytes and gets it back when that is freed, instead of
 * making glibc grow, fault in and trim heap pages for every chunk. GBytes
 * may be freed in any thread, hence the lock. */
#define BLOCK_POOL_SIZE 16
static GMutex   block_pool_lock;
static gpointer block_pool[BLOCK_POOL_SIZE];
static guint    block_pool_len;

/* One block cached per thread spares the lock for every small message. The
 * __thread pointer is the fast path; the GPrivate only frees it when the
 * thread exits. */
typedef struct
{
  gpointer block;
} ThreadBlockCache;

static __thread ThreadBlockCache *thread_cache;

static void
thread_cache_free (gpointer data)
{
  ThreadBlockCache *cache = data;

  thread_cache = NULL;
  g_free (cache->block);
  g_free (cache);
}

static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

static ThreadBlockCache *
get_thread_cache (void)
{
  if (G_UNLIKELY (thread_cache == NULL))
    {
      thread_cache = g_new0 (ThreadBlockCache, 1);
      g_private_set (&thread_cache_key, thread_cache);
    }
  return thread_cache;
}

guint8 *
ls_block_acquire (void)
{
  ThreadBlockCache *cache = get_thread_cache ();
  gpointer block = cache->block;

  if (block != NULL)
    {
      cache->block = NULL;
      return block;
    }

  g_mutex_lock (&block_pool_lock);
  if (block_pool_len > 0)
    block = block_pool[--block_pool_len];
  g_mutex_unlock (&block_pool_lock);
  return block != NULL ? block : g_malloc (LS_BLOCK_SIZE);
}

void
ls_block_release (gpointer block)
{
  ThreadBlockCache *cache = get_thread_cache ();

  if (cache->block == NULL)
    {
      cache->block = block;
      return;
    }

  g_mutex_lock (&block_pool_lock);
  if (block_pool_len < BLOCK_POOL_SIZE)
    {
      block_pool[block_pool_len++] = block;
      block = NULL;
    }
  g_mutex_unlock (&block_pool_lock);
  g_free (block);
}
