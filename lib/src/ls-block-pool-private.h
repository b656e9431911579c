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

/* A block of LS_BLOCK_SIZE bytes (uninitialised): the calling thread's
 * cached one, else one from the shared pool, else a new one. */
guint8 *ls_block_acquire (void);

/* Gives @block (from ls_block_acquire ()) back; any thread may, so it is a
 * GDestroyNotify for the GBytes that hand blocks to the application. */
void    ls_block_release (gpointer block);

G_END_DECLS
