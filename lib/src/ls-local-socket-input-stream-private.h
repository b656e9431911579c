/* ls-local-socket-input-stream-private.h: the input half of the socket's
 * GIOStream view, reading from the socket's own buffer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-input-stream-private.h is private to the Ls library."
#endif

#include "ls-local-socket-io-stream-private.h"

G_BEGIN_DECLS

#define LS_TYPE_LOCAL_SOCKET_INPUT_STREAM (ls_local_socket_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (LsLocalSocketInputStream, ls_local_socket_input_stream, LS, LOCAL_SOCKET_INPUT_STREAM, GInputStream)

LsLocalSocketInputStream *ls_local_socket_input_stream_new    (LsLocalSocketIOStream    *view);

/* Something happened on the socket (or to the view): completes the
 * pending read if it can now, wakes the sources that can go on. Its
 * callback may do anything. */
void                      ls_local_socket_input_stream_update (LsLocalSocketInputStream *self);

/* The socket's direct reader (LsDirectReadFunc, @data the stream): the
 * main loop found the socket readable with nothing buffered. A pending
 * read takes the bytes straight into its buffer; just after a read of the
 * view completed, they are left in the kernel for the read its callback
 * will likely make (ls_local_socket_io_stream_hold_reading ()). */
gboolean                  ls_local_socket_input_stream_on_readable (LsLocalSocket *socket,
                                                                    gpointer       data);

/* Whether the pending call is a read that receives straight from the
 * kernel (the view polls the socket for it), and the socket found
 * readable (or hung up) for it. */
gboolean                  ls_local_socket_input_stream_polls     (LsLocalSocketInputStream *self,
                                                                  LsLocalSocket            *socket);
void                      ls_local_socket_input_stream_on_polled (LsLocalSocketInputStream *self,
                                                                  LsLocalSocket            *socket);

/* Whether a call or a pollable source waits for the socket's events. */
gboolean                  ls_local_socket_input_stream_waits  (LsLocalSocketInputStream *self);

/* The view is going away: the stream fails from now on. */
void                      ls_local_socket_input_stream_orphan (LsLocalSocketInputStream *self);

G_END_DECLS
