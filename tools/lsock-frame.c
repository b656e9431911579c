/* lsock-frame.c: Qt's message framing, through the Ls 1.2 message calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A frame is a 32-bit big-endian length N and N bytes (QDataStream's
 * writeBytes (), and `<< QByteArray`); N = 0xFFFFFFFF is a null
 * QByteArray, read as an empty message. The library assembles frames
 * (beyond read-buffer-size if need be), never consumes a partial one and
 * never believes a length above max-message-size: lsock only sets that
 * limit from --max-message-size.
 */
#include "lsock-frame.h"

static void
apply_limit (LsLocalSocket *socket,
             guint32        max_size)
{
  if (ls_local_socket_get_max_message_size (socket) != max_size)
    ls_local_socket_set_max_message_size (socket, max_size);
}

gboolean
lsock_frame_write (LsLocalSocket  *socket,
                   GBytes         *message,
                   guint32         max_size,
                   GError        **error)
{
  if (g_bytes_get_size (message) > max_size)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                   "message of %" G_GSIZE_FORMAT " bytes is larger than the limit of %u bytes",
                   g_bytes_get_size (message), max_size);
      return FALSE;
    }
  return ls_local_socket_write_message (socket, message, error);
}

GBytes *
lsock_frame_read (LsLocalSocket  *socket,
                  guint32         max_size,
                  GError        **error)
{
  apply_limit (socket, max_size);
  return ls_local_socket_read_message (socket, error);
}

gboolean
lsock_frame_can_read (LsLocalSocket *socket,
                      guint32        max_size)
{
  apply_limit (socket, max_size);
  return ls_local_socket_can_read_message (socket);
}

gint64
lsock_frame_pending (LsLocalSocket *socket)
{
  return ls_local_socket_get_bytes_available (socket);
}
