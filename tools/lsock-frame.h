/* lsock-frame.h: Qt's message framing (QDataStream::writeBytes) over the
 * byte API of LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The shapes mirror ls_local_socket_write_message (), _read_message () and
 * _can_read_message () of the Ls 1.2 contract, so that lsock can switch to
 * the library calls by replacing the bodies in lsock-frame.c.
 */
#pragma once

#include <ls/ls.h>

G_BEGIN_DECLS

/* Qt's null QByteArray: read as an empty message. */
#define LSOCK_FRAME_NULL             0xFFFFFFFFu
#define LSOCK_FRAME_HEADER_SIZE      4
#define LSOCK_FRAME_DEFAULT_MAX_SIZE (16u * 1024 * 1024)

gboolean  lsock_frame_write      (LsLocalSocket  *socket,
                                  GBytes         *message,
                                  guint32         max_size,
                                  GError        **error);
GBytes   *lsock_frame_read       (LsLocalSocket  *socket,
                                  guint32         max_size,
                                  GError        **error);
gboolean  lsock_frame_can_read   (LsLocalSocket  *socket,
                                  guint32         max_size);
gint64    lsock_frame_pending    (LsLocalSocket  *socket);

G_END_DECLS
