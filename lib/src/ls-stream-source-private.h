/* ls-stream-source-private.h: the pollable sources of the socket's streams,
 * woken by the socket's own events instead of polling a descriptor
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-stream-source-private.h is private to the Ls library."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* Whether @stream can go on now (readable, writable, or failing). */
typedef gboolean (*LsStreamSourceReady) (gpointer stream);

/* A source for g_pollable_*_stream_create_source (): it calls its
 * GPollableSourceFunc while @ready (@stream) holds, from the moment
 * ls_stream_sources_wake () finds it so (or at once if it holds already),
 * and when @cancellable (nullable) is cancelled. It holds @stream and is
 * listed in *@sources, the stream's list, while it exists (@sources NULL:
 * never woken, for a source that must fire at once). */
GSource *ls_stream_source_new   (gpointer              stream,
                                 LsStreamSourceReady   ready,
                                 GSList              **sources,
                                 GCancellable         *cancellable,
                                 const char           *name);

/* Wakes those of @sources whose stream can go on. */
void     ls_stream_sources_wake (GSList               *sources);

G_END_DECLS
