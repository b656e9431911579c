/* ls-local-socket-private.h: what LsLocalServer needs of LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ls-local-socket.h"
#include "ls-event-core-private.h"

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

G_END_DECLS
