/* ls-block-pool-private.h: the recycled 64 KiB blocks sockets read into
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-block-pool-private.h is private to the Ls library."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* The size of every block, and of the most one read takes in. */
#define LS_BLOCK_SIZE (64 * 1024)

/* One block cached per thread spares the pool's lock for every small
 * message; the fast paths below are inline because every read takes a
 * block and most give it back at once. NULL until the thread first takes
 * or gives back a block. */
typedef struct
{
  gpointer block;
} LsBlockCache;

/* initial-exec: read without a __tls_get_addr call (twice per read). It
 * takes 8 bytes of static TLS, which glibc keeps room for in libraries
 * loaded after start-up (dlopen () by PyGObject or GJS). */
#define LS_BLOCK_TLS_MODEL __attribute__ ((tls_model ("initial-exec")))
G_GNUC_INTERNAL extern __thread LsBlockCache *ls_block_thread_cache LS_BLOCK_TLS_MODEL;

/* The paths through the shared pool (and the cache's creation). */
guint8 *ls_block_acquire_slow (void);
void    ls_block_release_slow (gpointer block);

/* A block of LS_BLOCK_SIZE bytes (uninitialised): the calling thread's
 * cached one, else one from the shared pool, else a new one. */
static inline guint8 *
ls_block_acquire (void)
{
  LsBlockCache *cache = ls_block_thread_cache;

  if (G_LIKELY (cache != NULL && cache->block != NULL))
    {
      guint8 *block = cache->block;

      cache->block = NULL;
      return block;
    }
  return ls_block_acquire_slow ();
}

/* Gives @block (from ls_block_acquire ()) back; any thread may, so it is a
 * GDestroyNotify for the GBytes that hand blocks to the application. */
static inline void
ls_block_release (gpointer block)
{
  LsBlockCache *cache = ls_block_thread_cache;

  if (G_LIKELY (cache != NULL && cache->block == NULL))
    {
      cache->block = block;
      return;
    }
  ls_block_release_slow (block);
}

/* Small reads are lent too (see ls_input_buffer_take ()), but a GBytes
 * of a few bytes that the application keeps would pin a whole block: at
 * most this many are out at once, beyond that small reads are copied as
 * before. Four serve ping-pong and small bursts; each block lent beyond the
 * first also stays in the pool afterwards (measured: 16 cost 190 KB of
 * RSS once, 4 cost 40 KB; see bench/results/socket-cost.md). */
#define LS_BLOCK_MAX_LENT 4

/* Counts one more small read lent out; FALSE (nothing counted) when
 * LS_BLOCK_MAX_LENT are out already. */
gboolean ls_block_try_lend    (void);
/* The GDestroyNotify of a lent block: any thread, any time (also after
 * the socket that read into it is gone). */
void     ls_block_return_lent (gpointer block);
/* How many lent blocks are out (for the tests). */
guint    ls_block_lent_count  (void);

G_END_DECLS
