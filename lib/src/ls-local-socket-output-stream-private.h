/* ls-local-socket-output-stream-private.h: the output half of the socket's
 * GIOStream view, queueing on the socket's own output
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-output-stream-private.h is private to the Ls library."
#endif

#include "ls-local-socket-io-stream-private.h"

G_BEGIN_DECLS

#define LS_TYPE_LOCAL_SOCKET_OUTPUT_STREAM (ls_local_socket_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (LsLocalSocketOutputStream, ls_local_socket_output_stream, LS, LOCAL_SOCKET_OUTPUT_STREAM, GOutputStream)

LsLocalSocketOutputStream *ls_local_socket_output_stream_new    (LsLocalSocketIOStream    *view);

/* Something happened on the socket (or to the view): completes the
 * pending write or flush if it can now, wakes the sources that can go on.
 * Its callback may do anything. */
void                       ls_local_socket_output_stream_update (LsLocalSocketOutputStream *self);

/* Whether a call or a pollable source waits for the socket's events. */
gboolean                   ls_local_socket_output_stream_waits  (LsLocalSocketOutputStream *self);

/* The view is going away: the stream fails from now on. */
void                       ls_local_socket_output_stream_orphan (LsLocalSocketOutputStream *self);

G_END_DECLS
