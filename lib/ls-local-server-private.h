/* ls-local-server-private.h: shared by the files that make up LsLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-server-private.h is private to Ls."
#endif

#include "ls-local-server.h"

G_BEGIN_DECLS

/* Records @local_error (owned) for the Qt-style accessors and hands it on
 * to @error. */
void ls_local_server_take_error (LsLocalServer  *self,
                                 GError        **error,
                                 GError         *local_error);

G_END_DECLS
