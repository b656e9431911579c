/* ls-local-socket-stream.c: the byte-stream API of LsLocalSocket: write, read,
 * read_line, peek, flush and the buffer counts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-private.h"

/* Whether write() queues: while connected, and while a graceful close the
 * application asked for still delivers (as in Qt, what it writes then is
 * delivered too), unless close() closed the device. */
static inline gboolean
can_queue_output (LsLocalSocket *self)
{
  return self->fd >= 0 &&
         (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
          (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->is_open));
}

/* Inline in write() and write_bytes (), which every reply goes through.
 * @record_unopened: record the refusal even on a socket that is not open
 * (the calls that report it in a GError too). */
static inline gssize
queue_output (LsLocalSocket *self,
              GBytes        *bytes,
              gboolean       record_unopened)
{
  gsize size = g_bytes_get_size (bytes);

  if (G_UNLIKELY (self->has_owner && !pthread_equal (self->owner_thread, pthread_self ())))
    {
      g_critical ("ls_local_socket_write: the socket connected to “%s” belongs to another "
                  "thread; writing from a second thread would corrupt the stream",
                  ls_local_socket_display_name_internal (self));
      g_bytes_unref (bytes);
      return -1;
    }
  if (G_UNLIKELY (!can_queue_output (self)))
    {
      /* As in Qt: a socket that is not open (never connected, its connect
       * failed, or closed) refuses and keeps its error, as
       * QIODevice::write () does; one still open after its connection
       * ended records UNKNOWN, as QAbstractSocket::writeData () does. */
      if (self->is_open || record_unopened)
        ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_UNKNOWN,
                                                "Cannot write to “%s”: the socket is not connected",
                                                ls_local_socket_display_name_internal (self));
      g_bytes_unref (bytes);
      return -1;
    }
  if (size == 0)
    {
      g_bytes_unref (bytes);
      return 0;
    }
  /* Written after the current dispatch (or at the next iteration): one
   * write per socket however many times the application wrote. Without a
   * main loop, by the next flush or wait call, as in Qt. */
  if (ls_output_queue_push (&self->output, bytes, size) && self->watch != NULL)
    ls_local_socket_schedule_flush_internal (self);
  return size;
}

gssize
ls_local_socket_queue_output_internal (LsLocalSocket *self,
                                       GBytes        *bytes)
{
  return queue_output (self, bytes, TRUE);
}

/**
 * ls_local_socket_write:
 * @self: a connected socket
 * @data: (array length=size) (element-type guint8): bytes to send
 * @size: the number of bytes
 *
 * Queues @data for sending (copying it). Everything is queued; nothing is
 * dropped. The data leaves when the main loop runs, on
 * [method@Ls.LocalSocket.flush] or a wait call. While
 * [method@Ls.LocalSocket.disconnect_from_server] still delivers queued
 * data (%LS_LOCAL_SOCKET_STATE_CLOSING), what is written is delivered too,
 * as in Qt.
 *
 * On a socket that cannot write it returns -1. As in Qt, that records
 * %LS_SOCKET_ERROR_UNKNOWN only on a socket still open after its connection
 * ended; one that is not open (never connected, its connect failed, or
 * closed with [method@Ls.LocalSocket.close] or [method@Ls.LocalSocket.abort])
 * keeps its error.
 *
 * Returns: @size, or -1 if the socket cannot write
 *
 * Since: 1.0
 */
gssize
ls_local_socket_write (LsLocalSocket *self,
                       const guint8  *data,
                       gsize          size)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), -1);
  g_return_val_if_fail (data != NULL || size == 0, -1);

  return queue_output (self, g_bytes_new (data, size), FALSE);
}

/**
 * ls_local_socket_write_bytes:
 * @self: a connected socket
 * @bytes: bytes to send
 *
 * Queues @bytes for sending without copying them, as
 * [method@Ls.LocalSocket.write] does.
 *
 * Returns: the size of @bytes, or -1 if the socket cannot write
 *
 * Since: 1.0
 */
gssize
ls_local_socket_write_bytes (LsLocalSocket *self,
                             GBytes        *bytes)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), -1);
  g_return_val_if_fail (bytes != NULL, -1);

  return queue_output (self, g_bytes_ref (bytes), FALSE);
}

/* Removes @n buffered bytes (0 < @n <= len): into @dest when it is not
 * NULL, else returned. */
static inline GBytes *
take_input (LsLocalSocket *self,
            gsize          n,
            guint8        *dest)
{
  gboolean was_full = !ls_local_socket_read_allowed_internal (self);
  gboolean handed_over;
  GBytes *bytes = NULL;

  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_consumed (self->fdq, n);

  /* A frame being assembled is forgotten once a read empties the buffer
   * from its middle (the whole buffer handed over keeps it). */
  handed_over = n == self->input.len && self->input.start == 0;
  if (dest != NULL)
    {
      memcpy (dest, ls_input_buffer_peek_data (&self->input), n);
      ls_input_buffer_drop (&self->input, n);
    }
  else
    bytes = ls_input_buffer_take (&self->input, n);
  if (!handed_over && self->input.len == 0)
    self->message_need = 0;

  if (was_full && ls_local_socket_read_allowed_internal (self))
    ls_local_socket_update_watch_internal (self);
  return bytes;
}

GBytes *
ls_local_socket_take_input_internal (LsLocalSocket *self,
                                     gsize          n)
{
  if (n == 0)
    return g_bytes_new (NULL, 0);
  return take_input (self, n, NULL);
}

void
ls_local_socket_take_input_into_internal (LsLocalSocket *self,
                                          guint8        *dest,
                                          gsize          n)
{
  if (n > 0)
    take_input (self, n, dest);
}

/**
 * ls_local_socket_read:
 * @self: a socket
 * @max_size: the most bytes to read
 *
 * Takes up to @max_size buffered bytes. Never blocks.
 *
 * Returns: (transfer full): the bytes read, possibly empty
 *
 * Since: 1.0
 */
GBytes *
ls_local_socket_read (LsLocalSocket *self,
                      gsize          max_size)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return ls_local_socket_take_input_internal (self, MIN (max_size, self->input.len));
}

/**
 * ls_local_socket_read_all:
 * @self: a socket
 *
 * Takes all buffered bytes. Never blocks.
 *
 * Returns: (transfer full): the bytes read, possibly empty
 *
 * Since: 1.0
 */
GBytes *
ls_local_socket_read_all (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return ls_local_socket_take_input_internal (self, self->input.len);
}

/**
 * ls_local_socket_read_line:
 * @self: a socket
 * @max_size: the most bytes to return, or 0 for no limit
 *
 * Takes buffered bytes up to and including the first newline, at most
 * @max_size - 1 of them (Qt's rule, which leaves room for a C string's
 * terminating NUL: a @max_size of 1 returns nothing); without a newline,
 * whatever is buffered (within the same limit). Check
 * [method@Ls.LocalSocket.can_read_line] first to read whole lines only.
 *
 * Returns: (transfer full): the line, possibly empty
 *
 * Since: 1.0
 */
GBytes *
ls_local_socket_read_line (LsLocalSocket *self,
                           gsize          max_size)
{
  gsize limit, n;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  /* Qt's rule: at most max_size - 1 bytes (room for a C string's NUL). */
  limit = max_size == 0 ? self->input.len : MIN (max_size - 1, self->input.len);
  if (self->input.len == 0 || limit == 0)
    return g_bytes_new (NULL, 0);
  n = ls_input_buffer_line_length (&self->input, limit);
  return ls_local_socket_take_input_internal (self, n > 0 ? n : limit);
}

/**
 * ls_local_socket_peek:
 * @self: a socket
 * @max_size: the most bytes to return
 *
 * Copies up to @max_size buffered bytes without removing them.
 *
 * Returns: (transfer full): the bytes, possibly empty
 *
 * Since: 1.0
 */
GBytes *
ls_local_socket_peek (LsLocalSocket *self,
                      gsize          max_size)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return ls_input_buffer_peek (&self->input, max_size);
}

/**
 * ls_local_socket_can_read_line:
 * @self: a socket
 *
 * Gets whether a whole line (ending in a newline) is buffered.
 *
 * Returns: whether a whole line (ending in a newline) is buffered
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_can_read_line (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  return ls_input_buffer_line_length (&self->input, self->input.len) > 0;
}

/**
 * ls_local_socket_get_bytes_available:
 * @self: a socket
 *
 * Gets the number of buffered bytes ready to read.
 *
 * Returns: the number of buffered bytes ready to read
 *
 * Since: 1.0
 */
gint64
ls_local_socket_get_bytes_available (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), 0);

  return self->input.len;
}

/**
 * ls_local_socket_get_bytes_to_write:
 * @self: a socket
 *
 * Gets the number of queued bytes not yet written to the kernel.
 *
 * Returns: the number of queued bytes not yet written to the kernel
 *
 * Since: 1.0
 */
gint64
ls_local_socket_get_bytes_to_write (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), 0);

  return self->output.len;
}

/**
 * ls_local_socket_flush:
 * @self: a socket
 *
 * Writes as much queued data as the kernel takes now, without blocking.
 *
 * Returns: %TRUE if something was written
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_flush (LsLocalSocket *self)
{
  gssize written;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->fd < 0 || self->output.len == 0)
    return FALSE;
  ls_local_socket_hold_internal (self);
  written = ls_local_socket_flush_output_internal (self);
  ls_local_socket_unhold_internal (self);
  return written > 0;
}
