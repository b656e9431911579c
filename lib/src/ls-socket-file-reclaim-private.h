/* ls-socket-file-reclaim-private.h: reclaiming a stale socket file safely
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-socket-file-reclaim-private.h is private to Ls."
#endif

#include <gio/gio.h>

#include "ls-enums.h"

G_BEGIN_DECLS

/* Takes the lock “@basename.lock” in @dir_fd (see ls-socket-file-reclaim.c).
 * Returns its descriptor (close it to release), or -1 with @error set:
 * ADDRESS_IN_USE when another process holds it. */
int      ls_socket_file_lock     (int          dir_fd,
                                  const char  *basename,
                                  const char  *full_name,
                                  GError     **error);

/* With the lock held: removes a stale socket at @basename; FALSE with
 * @error set (ADDRESS_IN_USE) when a live socket or anything that is not
 * a socket is there. TRUE when the name is free (or was freed). */
gboolean ls_socket_file_reclaim  (int          dir_fd,
                                  const char  *basename,
                                  const char  *full_name,
                                  GError     **error);

G_END_DECLS
