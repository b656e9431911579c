/* ls-local-socket-message.c: framed messages (as Qt's QDataStream frames a
 * QByteArray) and descriptor passing on an LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-private.h"

#include <errno.h>
#include <fcntl.h>

/* ------------------------------------------------------------------------ */
/* Messages, framed as Qt's QDataStream frames a QByteArray                  */
/* ------------------------------------------------------------------------ */

#define FRAME_HEADER_SIZE 4
/* QDataStream's null QByteArray; 0xFFFFFFFE and up cannot be written. */
#define NULL_FRAME_LENGTH 0xFFFFFFFFu

typedef enum
{
  FRAME_INCOMPLETE,
  FRAME_COMPLETE,
  FRAME_TOO_LARGE,
} FrameStatus;

/* Looks at the frame at the front of the input and sets *length to its
 * payload size (0 for a null frame). An incomplete frame raises the
 * read-buffer cap to its full size, so that a message larger than
 * read-buffer-size can still be assembled; nothing is allocated for it
 * before its bytes arrive. */
static FrameStatus
frame_status (LsLocalSocket *self,
              guint32       *length)
{
  gsize need = FRAME_HEADER_SIZE;
  FrameStatus status = FRAME_INCOMPLETE;

  *length = 0;
  if (self->input.len >= FRAME_HEADER_SIZE)
    {
      guint32 header;

      memcpy (&header, ls_input_buffer_peek_data (&self->input), sizeof header);
      *length = GUINT32_FROM_BE (header);
      if (*length == NULL_FRAME_LENGTH)
        *length = 0;
      if (*length > self->max_message_size)
        {
          need = 0;
          status = FRAME_TOO_LARGE;
        }
      else
        {
          need = FRAME_HEADER_SIZE + (gsize) *length;
          if (self->input.len >= need)
            status = FRAME_COMPLETE;
        }
    }
  if (status != FRAME_COMPLETE && self->message_need != need)
    {
      self->message_need = need;
      ls_local_socket_update_watch_internal (self);
    }
  return status;
}

/**
 * ls_local_socket_write_message:
 * @self: a connected socket
 * @message: the message to send
 * @error: return location for an error
 *
 * Queues @message as one frame, the way Qt's `QDataStream` writes a
 * `QByteArray` (`stream << array` or `stream.writeBytes()`): a 32-bit
 * big-endian length, then the bytes. A Qt peer reads it with
 * `stream >> array`; an Ls peer with [method@Ls.LocalSocket.read_message].
 *
 * Like [method@Ls.LocalSocket.write_bytes], @message is queued without
 * copying and leaves when the main loop runs, on
 * [method@Ls.LocalSocket.flush] or a wait call.
 *
 * A message of 0xFFFFFFFE bytes or more cannot be framed: the call fails
 * with %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE and writes nothing. On a socket
 * that is not connected it fails with %LS_SOCKET_ERROR_UNKNOWN ("the
 * socket is not connected"), also on a socket that is not open, where
 * [method@Ls.LocalSocket.write] records nothing: a call that reports its
 * failure in a GError records it too. Either failure is recorded for
 * [method@Ls.LocalSocket.get_error] and
 * [method@Ls.LocalSocket.get_error_string].
 *
 * Returns: %TRUE if the message was queued
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_message (LsLocalSocket  *self,
                               GBytes         *message,
                               GError        **error)
{
  gsize size;
  guint32 header;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  size = g_bytes_get_size (message);
  if (size >= NULL_FRAME_LENGTH - 1)
    {
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                                              "Cannot write a message to “%s”: Datagram too large "
                                              "(%" G_GSIZE_FORMAT " bytes; a frame holds at most %u)",
                                              ls_local_socket_display_name_internal (self), size,
                                              NULL_FRAME_LENGTH - 2);
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return FALSE;
    }

  header = GUINT32_TO_BE ((guint32) size);
  if (ls_local_socket_queue_output_internal (self, g_bytes_new (&header, sizeof header)) < 0)
    {
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return FALSE;
    }
  ls_local_socket_queue_output_internal (self, g_bytes_ref (message));
  return TRUE;
}

/**
 * ls_local_socket_read_message:
 * @self: a socket
 * @error: return location for an error
 *
 * Takes the next complete message framed as Qt's `QDataStream` frames a
 * `QByteArray` (see [method@Ls.LocalSocket.write_message]). When none is
 * complete yet, returns %NULL without an error and consumes nothing, like
 * a rolled-back `QDataStream` transaction: call it again on the next
 * [signal@Ls.LocalSocket::ready-read]. A null `QByteArray` reads as an
 * empty message.
 *
 * A frame larger than [property@Ls.LocalSocket:read-buffer-size] is still
 * assembled: the socket keeps reading until it is complete. A frame that
 * announces more than [property@Ls.LocalSocket:max-message-size] fails
 * with %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE (also recorded for
 * [method@Ls.LocalSocket.get_error]) and consumes nothing; nothing is
 * allocated for it.
 *
 * ```c
 * static void
 * on_ready_read (LsLocalSocket *socket, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   GBytes *message;
 *
 *   while ((message = ls_local_socket_read_message (socket, &error)) != NULL)
 *     {
 *       handle_message (message);
 *       g_bytes_unref (message);
 *     }
 *   if (error != NULL)
 *     ls_local_socket_abort (socket);
 * }
 * ```
 *
 * Returns: (transfer full) (nullable): the message, or %NULL if none is
 *   complete yet or on error
 *
 * Since: 1.2
 */
GBytes *
ls_local_socket_read_message (LsLocalSocket  *self,
                              GError        **error)
{
  g_autoptr(GBytes) frame = NULL;
  guint32 length;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (frame_status (self, &length))
    {
    case FRAME_INCOMPLETE:
      return NULL;
    case FRAME_TOO_LARGE:
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                                              "Cannot read a message from “%s”: Datagram too large "
                                              "(the peer announced %u bytes; max-message-size is %u)",
                                              ls_local_socket_display_name_internal (self), length,
                                              self->max_message_size);
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return NULL;
    case FRAME_COMPLETE:
    default:
      break;
    }

  /* The whole frame comes out without a copy when it is all that is
   * buffered (the common case); the message is a slice of it. */
  self->message_need = 0;
  frame = ls_local_socket_take_input_internal (self, FRAME_HEADER_SIZE + (gsize) length);
  if (length == 0)
    return g_bytes_new (NULL, 0);
  return g_bytes_new_from_bytes (frame, FRAME_HEADER_SIZE, length);
}

/**
 * ls_local_socket_can_read_message:
 * @self: a socket
 *
 * Gets whether a complete message is buffered, so that
 * [method@Ls.LocalSocket.read_message] returns it. A frame that announces
 * more than [property@Ls.LocalSocket:max-message-size] is not readable:
 * this returns %FALSE and read_message() reports the error.
 *
 * Returns: whether a complete message is buffered
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_can_read_message (LsLocalSocket *self)
{
  guint32 length;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  return frame_status (self, &length) == FRAME_COMPLETE;
}

/**
 * ls_local_socket_get_max_message_size: (get-property max-message-size)
 * @self: a socket
 *
 * Gets the largest message [method@Ls.LocalSocket.read_message] accepts.
 *
 * Returns: the limit in bytes
 *
 * Since: 1.2
 */
guint
ls_local_socket_get_max_message_size (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), LS_LOCAL_SOCKET_DEFAULT_MAX_MESSAGE_SIZE);

  return self->max_message_size;
}

/**
 * ls_local_socket_set_max_message_size: (set-property max-message-size)
 * @self: a socket
 * @size: the largest message to accept, in bytes
 *
 * Sets the largest message [method@Ls.LocalSocket.read_message] accepts.
 *
 * Since: 1.2
 */
void
ls_local_socket_set_max_message_size (LsLocalSocket *self,
                                      guint          size)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (self->max_message_size == size)
    return;
  self->max_message_size = size;
  /* A frame being assembled may now be too large, or allowed. */
  if (self->message_need > 0)
    {
      guint32 length;

      frame_status (self, &length);
    }
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_MAX_MESSAGE_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Descriptor passing                                                        */
/* ------------------------------------------------------------------------ */

/* Duplicates @n_fds (at least one) descriptors, close-on-exec and above
 * the standard ones, for the output queue to own. NULL, with the error
 * recorded and nothing left open, if one cannot be duplicated. */
static int *
duplicate_fds (LsLocalSocket *self,
               const int     *fds,
               gint           n_fds)
{
  int *copies = g_new (int, n_fds);

  for (gint i = 0; i < n_fds; i++)
    {
      copies[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 3);
      if (copies[i] < 0)
        {
          int saved_errno = errno;
          gboolean exhausted = saved_errno == EMFILE || saved_errno == ENFILE;

          ls_fd_close_all (copies, i);
          g_free (copies);
          ls_local_socket_record_errorf_internal (self,
                                                  exhausted ? LS_SOCKET_ERROR_SOCKET_RESOURCE
                                                            : LS_SOCKET_ERROR_UNKNOWN,
                                                  "Cannot write descriptors to “%s”: cannot "
                                                  "duplicate descriptor %d (%s)",
                                                  ls_local_socket_display_name_internal (self),
                                                  fds[i], g_strerror (saved_errno));
          return NULL;
        }
    }
  return copies;
}

/**
 * ls_local_socket_write_with_fds:
 * @self: a connected socket
 * @data: the bytes to send, at least one
 * @fd_list: (nullable): the descriptors to send with the first byte of @data
 * @error: return location for an error
 *
 * Queues @data like [method@Ls.LocalSocket.write_bytes], with duplicates
 * of the descriptors in @fd_list attached to its first byte (`SCM_RIGHTS`).
 * The peer, an Ls socket with [property@Ls.LocalSocket:accept-fds], gets
 * them from [method@Ls.LocalSocket.take_fds] once it has read that data
 * (without accept-fds its kernel drops them). @fd_list
 * stays the caller's; the duplicates are closed once sent (or when the
 * output is dropped).
 *
 * The byte that carries descriptors always starts a `sendmsg()` of its
 * own, and that send carries no byte written after @data, so however the
 * kernel splits the stream, the descriptors arrive with the data they were
 * written with, in order, and the peer has them once it has read @data.
 *
 * Qt peers ignore descriptors (the kernel closes them on their side) but
 * read the data as usual.
 *
 * Fails, writing nothing, when @data is empty
 * (%LS_SOCKET_ERROR_OPERATION), when @fd_list holds more than 253
 * descriptors, the most one message carries (%LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE),
 * when a descriptor cannot be duplicated (%LS_SOCKET_ERROR_SOCKET_RESOURCE
 * when out of descriptors) or when the socket is not connected
 * (%LS_SOCKET_ERROR_UNKNOWN, as [method@Ls.LocalSocket.write_message]).
 * Each failure is also recorded for [method@Ls.LocalSocket.get_error_string].
 *
 * Returns: %TRUE if the data and descriptors were queued
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_with_fds (LsLocalSocket  *self,
                                GBytes         *data,
                                GUnixFDList    *fd_list,
                                GError        **error)
{
  const int *fds = NULL;
  int *copies;
  gint n_fds = 0;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (fd_list != NULL)
    fds = g_unix_fd_list_peek_fds (fd_list, &n_fds);
  if (g_bytes_get_size (data) == 0)
    {
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_OPERATION,
                                              "Cannot write descriptors to “%s”: Operation error "
                                              "(descriptors travel with a byte, and the data is empty)",
                                              ls_local_socket_display_name_internal (self));
      goto fail;
    }
  if (n_fds > LS_FD_QUEUE_MAX_PER_MESSAGE)
    {
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                                              "Cannot write descriptors to “%s”: Datagram too large "
                                              "(%d descriptors; one write carries at most %d)",
                                              ls_local_socket_display_name_internal (self), n_fds,
                                              LS_FD_QUEUE_MAX_PER_MESSAGE);
      goto fail;
    }
  /* Not connected (or the wrong thread): the checks of write(), which
   * queue nothing for empty data. */
  if (ls_local_socket_queue_output_internal (self, g_bytes_new (NULL, 0)) < 0)
    goto fail;
  if (n_fds == 0)
    {
      ls_local_socket_queue_output_internal (self, g_bytes_ref (data));
      return TRUE;
    }

  copies = duplicate_fds (self, fds, n_fds);
  if (copies == NULL)
    goto fail;

  if (self->fdq == NULL)
    self->fdq = ls_fd_queue_new ();
  ls_fd_queue_push_output (self->fdq, self->output.len, g_bytes_get_size (data), copies, n_fds);
  ls_local_socket_queue_output_internal (self, g_bytes_ref (data));
  return TRUE;

fail:
  g_set_error_literal (error, LS_SOCKET_ERROR, self->error,
                       self->error_string ? self->error_string : LS_LOCAL_SOCKET_UNKNOWN_ERROR_TEXT);
  return FALSE;
}

/**
 * ls_local_socket_get_accept_fds: (get-property accept-fds)
 * @self: a socket
 *
 * Gets whether the socket receives descriptors a peer sends.
 *
 * Returns: the value of [property@Ls.LocalSocket:accept-fds]
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_get_accept_fds (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  return self->accept_fds;
}

/**
 * ls_local_socket_set_accept_fds: (set-property accept-fds)
 * @self: a socket
 * @accept: whether to receive descriptors
 *
 * Sets whether the socket receives descriptors a peer sends, from the
 * next read on; see [property@Ls.LocalSocket:accept-fds].
 *
 * Since: 1.2
 */
void
ls_local_socket_set_accept_fds (LsLocalSocket *self,
                                gboolean       accept)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  accept = !!accept;
  if (self->accept_fds == (guint) accept)
    return;
  self->accept_fds = accept;
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_ACCEPT_FDS);
}

/**
 * ls_local_socket_take_fds:
 * @self: a socket
 *
 * Takes the descriptors that arrived with bytes the application has
 * already read (with [method@Ls.LocalSocket.read],
 * [method@Ls.LocalSocket.read_all], [method@Ls.LocalSocket.read_line],
 * [method@Ls.LocalSocket.read_message] and the like; not
 * [method@Ls.LocalSocket.peek]), in the order they arrived. They are
 * close-on-exec and now the caller's. Only a socket with
 * [property@Ls.LocalSocket:accept-fds] receives descriptors; without it
 * this returns %NULL.
 *
 * Descriptors are tied to the position in the stream where the read that
 * brought them ended, which lies within the data they were written with:
 * once the application has read all of that data (for example the whole
 * message), they are here; never before it has read its first byte.
 *
 * Descriptors never taken are closed when the read buffer is dropped
 * ([method@Ls.LocalSocket.abort], [method@Ls.LocalSocket.close], a new
 * connection) or the socket is disposed; after the peer has closed they
 * stay takeable as the data stays readable. A peer that makes more than
 * 1024 descriptors wait untaken gets the connection aborted with
 * %LS_SOCKET_ERROR_SOCKET_RESOURCE, as does one whose descriptors were lost
 * on the way (this process out of descriptors).
 *
 * Returns: (transfer full) (nullable): the descriptors, or %NULL when none
 *   is ready
 *
 * Since: 1.2
 */
GUnixFDList *
ls_local_socket_take_fds (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  if (self->fdq == NULL)
    return NULL;
  return ls_fd_queue_take_input (self->fdq);
}
