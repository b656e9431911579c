/* ls-single-instance-private.h: what the modules of LsSingleInstance share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-single-instance-private.h is private to Ls."
#endif

#include "ls-single-instance.h"

G_BEGIN_DECLS

typedef enum
{
  LS_SINGLE_INSTANCE_ROLE_NONE,
  LS_SINGLE_INSTANCE_ROLE_PRIMARY,
  LS_SINGLE_INSTANCE_ROLE_SECONDARY,
} LsSingleInstanceRole;

/* The acknowledgement of QtLocalPeer: three raw bytes, not a frame. */
#define LS_QT_LOCAL_PEER_ACK     "ack"
#define LS_QT_LOCAL_PEER_ACK_LEN 3

/* ls-single-instance.c */
LsSingleInstanceRole ls_single_instance_get_role_internal     (LsSingleInstance *self);
/* The path the name resolves to, for error messages. */
const char          *ls_single_instance_display_name_internal (LsSingleInstance *self);

/* ls-single-instance-qt.c: QtLocalPeer's names and lock on Linux */

/* Qt's qChecksum (): CRC-16/X.25 (ISO 3309), as QtLocalPeer applies it to
 * the UTF-8 bytes of the application id. */
guint16  ls_qt_checksum                (const guint8  *data,
                                        gsize          size);
/* "qtsingleapp-<prefix>-<checksum>-<uid>", QtLocalPeer's socket name for
 * @id (relative: it lives in the temporary directory). */
char    *ls_qt_local_peer_socket_name  (const char    *id);
/* The lock file QtLocalPeer holds while it is the primary instance. */
char    *ls_qt_local_peer_lock_path    (const char    *socket_name);
/* Opens @lock_path and takes QtLocalPeer's lock (an exclusive fcntl()
 * record lock on the whole file, here on the open file description).
 * Returns the descriptor, whose closing releases the lock; -1 with
 * *@taken FALSE when another process holds it; -1 with @error set when the
 * file cannot be opened or locked. */
int      ls_qt_local_peer_lock         (const char    *lock_path,
                                        const char    *display_name,
                                        gboolean      *taken,
                                        GError       **error);

G_END_DECLS
