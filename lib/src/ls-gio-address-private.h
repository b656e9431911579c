/* ls-gio-address-private.h: LsAddress <-> GUnixSocketAddress at the GIO boundary
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#ifndef LS_COMPILATION
# error "ls-gio-address-private.h is private to the Ls library"
#endif

#include <gio/gio.h>

#include "ls-names-private.h"

G_BEGIN_DECLS

/* Fills @address from a GUnixSocketAddress of type PATH, ABSTRACT or
 * ABSTRACT_PADDED, bound or connected to exactly as GIO would (no $TMPDIR,
 * a relative path stays relative, a padded abstract address keeps its full
 * length). Anything else fails with UNSUPPORTED_SOCKET_OPERATION; an empty
 * name, or one GIO may have cut short, with SERVER_NOT_FOUND. @operation
 * is a phrase such as "listen on" for the message. */
gboolean        ls_gio_address_to_ls      (GSocketAddress            *gaddress,
                                           const char                *operation,
                                           LsAddress                 *address,
                                           GError                   **error);

/* What errors call @gaddress: its path or abstract name, else a
 * description. */
char           *ls_gio_address_describe   (GSocketAddress            *gaddress);

/* A GUnixSocketAddress for what getsockname()/getpeername() returned: an
 * unnamed socket gives an ANONYMOUS address, a padded abstract address
 * stays ABSTRACT_PADDED (without the padding in its path). */
GSocketAddress *ls_gio_address_from_native (const struct sockaddr_un *addr,
                                            socklen_t                 addr_len);

/* getsockname() (@peer FALSE) or getpeername() of @fd as a
 * GUnixSocketAddress; NULL if it fails or @fd < 0. */
GSocketAddress *ls_gio_address_of_fd      (int                        fd,
                                           gboolean                   peer);

G_END_DECLS
