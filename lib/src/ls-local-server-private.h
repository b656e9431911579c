/* ls-local-server-private.h: shared by the files that make up LsLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#ifndef LS_COMPILATION
# error "ls-local-server-private.h is private to the Ls library"
#endif

#include "ls-local-server.h"
#include "ls-names-private.h"

G_BEGIN_DECLS

/* listen () after the name is resolved: binds @address (not taken), names
 * the server @server_name, records any error. The caller has checked that
 * the server is not listening. */
gboolean ls_local_server_listen_address_internal (LsLocalServer    *self,
                                                  const LsAddress  *address,
                                                  const char       *server_name,
                                                  GError          **error);

/* Records @local_error (taken) for the Qt-style accessors, then propagates
 * it to @error. */
void     ls_local_server_take_error_internal     (LsLocalServer    *self,
                                                  GError          **error,
                                                  GError           *local_error);

/* Defined in ls-local-server-gio.c: drops the GSocket that
 * ls_local_server_listen_socket () adopted, if any; called by close (). */
void     ls_local_server_release_gsocket         (LsLocalServer    *self);

G_END_DECLS
