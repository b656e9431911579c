/* ls-local-socket-private.h: what LsLocalServer needs of LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-private.h is private to the Ls library."
#endif

#include "ls-local-socket.h"
#include "ls-event-core-private.h"
#include "ls-names-private.h"

G_BEGIN_DECLS

/* Wraps a freshly accepted descriptor (owned) on @core's context; names are
 * the server's GRefStrings (shared), as Qt 6 reports them. NULL with @error set on failure, in
 * which case @fd is closed. */
LsLocalSocket *ls_local_socket_new_accepted (LsEventCore      *core,
                                             int               fd,
                                             char             *server_name,
                                             char             *full_server_name,
                                             LsSocketOptions   options,
                                             GError          **error);

/* connect_to_server () with the address already made: @address (owned,
 * nullable: resolve the server-name property as connect_to_server does) is
 * connected to, or @address_error (owned, nullable) is reported as the
 * failure, with the usual signals. @name (nullable) becomes the server-name. */
void           ls_local_socket_connect_to_address_internal (LsLocalSocket *self,
                                                            LsAddress     *address,
                                                            GError        *address_error,
                                                            const char    *name);

/* Notes that ls_local_socket_get_socket () attached a GSocket (qdata), so
 * that the end of the connection drops it through
 * ls_local_socket_release_gsocket () (ls-local-socket-gio.c). Sockets that
 * never ask for one pay nothing. */
void           ls_local_socket_mark_gsocket    (LsLocalSocket    *self);
void           ls_local_socket_release_gsocket (LsLocalSocket    *self);

G_END_DECLS
