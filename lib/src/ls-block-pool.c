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

/* The __thread pointer is the fast path (ls-block-pool-private.h); the
 * GPrivate only frees the cache when the thread exits. */
__thread LsBlockCache *ls_block_thread_cache LS_BLOCK_TLS_MODEL;

static void
thread_cache_free (gpointer data)
{
  LsBlockCache *cache = data;

  ls_block_thread_cache = NULL;
  g_free (cache->block);
  g_free (cache);
}

static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

static LsBlockCache *
get_thread_cache (void)
{
  if (G_UNLIKELY (ls_block_thread_cache == NULL))
    {
      ls_block_thread_cache = g_new0 (LsBlockCache, 1);
      g_private_set (&thread_cache_key, ls_block_thread_cache);
    }
  return ls_block_thread_cache;
}

guint8 *
ls_block_acquire_slow (void)
{
  LsBlockCache *cache = get_thread_cache ();
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
ls_block_release_slow (gpointer block)
{
  LsBlockCache *cache = get_thread_cache ();

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

static gint blocks_lent;

gboolean
ls_block_try_lend (void)
{
  if (g_atomic_int_add (&blocks_lent, 1) < LS_BLOCK_MAX_LENT)
    return TRUE;
  g_atomic_int_add (&blocks_lent, -1);
  return FALSE;
}

void
ls_block_return_lent (gpointer block)
{
  g_atomic_int_add (&blocks_lent, -1);
  ls_block_release (block);
}

guint
ls_block_lent_count (void)
{
  return (guint) g_atomic_int_get (&blocks_lent);
}
