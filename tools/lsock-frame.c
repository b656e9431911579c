/* lsock-frame.c: Qt's message framing over the byte API of LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A frame is a 32-bit big-endian length N and N bytes (QDataStream's
 * writeBytes (), and `<< QByteArray`); N = 0xFFFFFFFF is a null
 * QByteArray, read here as an empty message. Reading never consumes a
 * partial frame, like a rolled-back QDataStream transaction, and never
 * believes a length above the caller's limit (nothing is consumed then
 * either: the stream cannot be resynchronised, the caller gives up).
 *
 * TODO: switch to ls_local_socket_write_message () / _read_message () /
 * _can_read_message () once the framing branch is merged; the library
 * keeps its own max-message-size property, which replaces @max_size.
 */
#include "lsock-frame.h"

#include <string.h>

static gboolean
peek_length (LsLocalSocket *socket,
             guint32       *length)
{
  g_autoptr(GBytes) header = NULL;
  const guint8 *p;

  if (ls_local_socket_get_bytes_available (socket) < LSOCK_FRAME_HEADER_SIZE)
    return FALSE;
  header = ls_local_socket_peek (socket, LSOCK_FRAME_HEADER_SIZE);
  if (header == NULL || g_bytes_get_size (header) < LSOCK_FRAME_HEADER_SIZE)
    return FALSE;
  p = g_bytes_get_data (header, NULL);
  *length = ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
  return TRUE;
}

/* What the frame in front of the buffer needs in total, or -1 when its
 * header has not arrived. */
static gint64
frame_size (guint32 length)
{
  if (length == LSOCK_FRAME_NULL)
    return LSOCK_FRAME_HEADER_SIZE;
  return (gint64) LSOCK_FRAME_HEADER_SIZE + length;
}

gboolean
lsock_frame_write (LsLocalSocket  *socket,
                   GBytes         *message,
                   guint32         max_size,
                   GError        **error)
{
  gsize size = g_bytes_get_size (message);
  guint8 header[LSOCK_FRAME_HEADER_SIZE];

  /* 0xFFFFFFFF would read back as a null array: Qt cannot frame more. */
  if (size > max_size || size >= LSOCK_FRAME_NULL - 1)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                   "message of %" G_GSIZE_FORMAT " bytes is larger than the limit of %u bytes",
                   size, max_size);
      return FALSE;
    }
  header[0] = (size >> 24) & 0xff;
  header[1] = (size >> 16) & 0xff;
  header[2] = (size >> 8) & 0xff;
  header[3] = size & 0xff;
  /* Header and body go into the write buffer together: a frame is never
   * half queued. */
  if (ls_local_socket_write (socket, header, sizeof header) != sizeof header ||
      (size > 0 && ls_local_socket_write_bytes (socket, message) != (gssize) size))
    {
      g_set_error (error, LS_SOCKET_ERROR, ls_local_socket_get_error (socket),
                   "%s", ls_local_socket_get_error_string (socket));
      return FALSE;
    }
  return TRUE;
}

gboolean
lsock_frame_can_read (LsLocalSocket *socket,
                      guint32        max_size)
{
  guint32 length;

  if (!peek_length (socket, &length))
    return FALSE;
  /* A hostile length is "readable": reading reports the error. */
  if (length != LSOCK_FRAME_NULL && length > max_size)
    return TRUE;
  return ls_local_socket_get_bytes_available (socket) >= frame_size (length);
}

GBytes *
lsock_frame_read (LsLocalSocket  *socket,
                  guint32         max_size,
                  GError        **error)
{
  g_autoptr(GBytes) header = NULL;
  GBytes *body;
  guint32 length;

  if (!peek_length (socket, &length))
    return NULL;
  if (length != LSOCK_FRAME_NULL && length > max_size)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                   "incoming message announces %u bytes, more than the limit of %u bytes",
                   length, max_size);
      return NULL;
    }
  if (ls_local_socket_get_bytes_available (socket) < frame_size (length))
    return NULL;

  header = ls_local_socket_read (socket, LSOCK_FRAME_HEADER_SIZE);
  if (length == LSOCK_FRAME_NULL || length == 0)
    return g_bytes_new (NULL, 0);
  body = ls_local_socket_read (socket, length);
  /* Cannot happen while the buffer holds the whole frame; checked so a
   * library change shows up as an error, not as a desynchronised stream. */
  if (body == NULL || g_bytes_get_size (body) != length)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                   "short read inside a message (%" G_GSIZE_FORMAT " of %u bytes)",
                   body ? g_bytes_get_size (body) : 0, length);
      g_clear_pointer (&body, g_bytes_unref);
      return NULL;
    }
  return body;
}

/* Bytes of an incomplete frame still buffered (for the end-of-stream
 * check): what remains after the last complete frame was taken. */
gint64
lsock_frame_pending (LsLocalSocket *socket)
{
  return ls_local_socket_get_bytes_available (socket);
}
