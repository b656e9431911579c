/* ls-local-socket-async.c: GIO-style asynchronous calls on LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-async-private.h"

/* The entry points: each checks its call, starts it (an LsSocketResult,
 * ls-local-socket-async-ops.c), and lets the socket's events return it. */

static void
read_start (LsLocalSocket       *self,
            SocketOpKind         kind,
            gsize                count,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  SocketAsync *sa;
  LsSocketResult *op = ls_socket_async_call_begin (self, &sa, kind, cancellable, callback,
                                                   user_data, source_tag);

  if (op == NULL)
    return;
  if (sa->read_op != NULL)
    {
      ls_socket_async_call_fail (sa, op, g_error_new (G_IO_ERROR, G_IO_ERROR_PENDING,
                                                      "Cannot read from “%s”: another read is "
                                                      "pending", socket_async_display_name (sa)));
      return;
    }
  op->count = count;
  sa->read_op = op;
  ls_socket_async_read_try (sa);
  ls_socket_async_call_end (sa);
}

static GBytes *
bytes_finish (LsLocalSocket  *self,
              GAsyncResult   *result,
              gpointer        source_tag,
              GError        **error)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);
  g_return_val_if_fail (ls_socket_result_is_valid (result, self, source_tag), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return ls_socket_result_propagate_bytes (result, error);
}

static gboolean
boolean_finish (LsLocalSocket  *self,
                GAsyncResult   *result,
                gpointer        source_tag,
                GError        **error)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (ls_socket_result_is_valid (result, self, source_tag), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return ls_socket_result_propagate_boolean (result, error);
}

/* A write on a socket that is not open (never connected, its connect
 * failed, or closed): refused as QIODevice::write () refuses, which
 * records nothing on the socket (its last error is about something
 * else); the call's error says why. A socket still open after its
 * connection ended records UNKNOWN when it refuses, as Qt's
 * QAbstractSocket does: the sync calls handle that. */
static gboolean
write_refused (SocketAsync    *sa,
               LsSocketResult *op)
{
  if (G_LIKELY (sa->socket->is_open))
    return FALSE;
  ls_socket_async_call_fail (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                                  "Cannot write to “%s”: %s",
                                                  socket_async_display_name (sa),
                                                  sa->closed ? "the socket was closed"
                                                             : "the socket is not connected"));
  return TRUE;
}

/* A write whose data is queued: done once the queue has drained as far as
 * its end. */
static void
write_queued (SocketAsync    *sa,
              LsSocketResult *op)
{
  gsize queued = sa->socket->output.len;

  if (queued == 0)
    ls_socket_op_return_boolean (sa, op, TRUE);
  else
    {
      op->target = sa->written + (gint64) queued;
      ls_socket_op_enqueue (op, &sa->write_ops);
    }
  ls_socket_async_call_end (sa);
}

/* Public API -------------------------------------------------------------- */

/**
 * ls_local_socket_connect_to_server_async:
 * @self: a socket
 * @name: (nullable): the server's name, as for
 *   [method@Ls.LocalSocket.connect_to_server]; %NULL for
 *   [property@Ls.LocalSocket:server-name]
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when the connection is made or has failed
 * @user_data: (closure): data for @callback
 *
 * Connects to a server like [method@Ls.LocalSocket.connect_to_server],
 * with the same signals, and calls @callback when the socket is connected or
 * the attempt failed. While the server's listen backlog is full the attempt
 * is retried until [property@Ls.LocalSocket:connect-timeout], then fails
 * with %LS_SOCKET_ERROR_SOCKET_TIMEOUT. Cancelling gives the attempt up.
 *
 * As with the sync call, a socket that is connected or connecting fails
 * with %LS_SOCKET_ERROR_OPERATION, and one that is closing
 * (%LS_LOCAL_SOCKET_STATE_CLOSING) connects again at once, to its current
 * server name (@name is ignored then): the closing connection goes with
 * its unsent output and unread input, as in Qt, and the calls pending on
 * it complete (see [method@Ls.LocalSocket.disconnect_async]).
 *
 * Like every asynchronous call of Ls, @callback runs in the thread-default
 * main context of the calling thread, never before this call has returned.
 * Call [method@Ls.LocalSocket.connect_to_server_finish] from it.
 *
 * Since: 1.2
 */
void
ls_local_socket_connect_to_server_async (LsLocalSocket       *self,
                                         const char          *name,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  SocketAsync *sa;
  LsSocketResult *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = ls_socket_async_call_begin (self, &sa, OP_CONNECT, cancellable, callback, user_data,
                                   ls_local_socket_connect_to_server_async);
  if (op == NULL)
    return;
  /* The call holds the socket: the signals' handlers cannot drop it. */
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
      self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      /* The sync call reports it (error-occurred, recorded error). */
      ls_local_socket_connect_to_server (self, name);
      ls_socket_async_call_fail (sa, op, ls_socket_async_recorded_error (sa, "connect to",
                                                                         "the socket is already connected"));
      return;
    }
  sa->connect_op = op;
  /* A closing socket connects again to its current name, as in Qt. */
  if (name != NULL && self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      g_free (sa->name);
      sa->name = g_strdup (name);
    }
  /* Its signals return the call (connected, or UNCONNECTED); a closing
   * connection that it replaces returns the calls pending on that. */
  ls_local_socket_connect_to_server (self, name);
  ls_socket_async_call_end (sa);
}

/**
 * ls_local_socket_connect_to_server_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.connect_to_server_async].
 *
 * Returns: %TRUE if the socket is connected
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_connect_to_server_finish (LsLocalSocket  *self,
                                          GAsyncResult   *result,
                                          GError        **error)
{
  return boolean_finish (self, result, ls_local_socket_connect_to_server_async, error);
}

/**
 * ls_local_socket_read_bytes_async:
 * @self: a socket
 * @count: the most bytes to return
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when bytes are read
 * @user_data: (closure): data for @callback
 *
 * Reads 1 to @count bytes as soon as any are buffered, like
 * `g_input_stream_read_bytes_async()`. At the end of the stream (the peer
 * closed the connection, or it was disconnected gracefully, and all it sent
 * has been read) the result is empty. Buffered data is returned before the
 * end is reported.
 *
 * Only one read-type call (this one, [method@Ls.LocalSocket.read_line_async],
 * [method@Ls.LocalSocket.read_message_async]) may be pending on a socket;
 * another fails with %G_IO_ERROR_PENDING. A cancelled call fails with
 * %G_IO_ERROR_CANCELLED and reads nothing, even when the data has reached
 * the socket. On a socket that is not connected, or that is closed or
 * aborted meanwhile, or whose connection a
 * [method@Ls.LocalSocket.connect_to_server] while closing replaces (which
 * drops the data not read yet, as in Qt), it fails with an
 * %LS_SOCKET_ERROR.
 * [signal@Ls.LocalSocket::ready-read] is still emitted.
 *
 * As with every asynchronous call of a socket, the call holds a reference
 * on the socket until @callback has run, which is in the thread-default
 * main context of the calling thread, never inside this call. The result
 * is an opaque [iface@Gio.AsyncResult], for the matching `_finish`
 * function of this socket only.
 *
 * Since: 1.2
 */
void
ls_local_socket_read_bytes_async (LsLocalSocket       *self,
                                  gsize                count,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  SocketAsync *sa;
  LsSocketResult *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (count > 0)
    {
      read_start (self, OP_READ_BYTES, count, cancellable, callback, user_data,
                  ls_local_socket_read_bytes_async);
      return;
    }
  /* Nothing asked, nothing read (whatever else is pending). */
  op = ls_socket_async_call_begin (self, &sa, OP_READ_BYTES, cancellable, callback, user_data,
                                   ls_local_socket_read_bytes_async);
  if (op == NULL)
    return;
  ls_socket_op_return_bytes (sa, op, g_bytes_new (NULL, 0), FALSE);
  ls_socket_async_call_end (sa);
}

/**
 * ls_local_socket_read_bytes_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.read_bytes_async].
 *
 * Returns: (transfer full): the bytes read; empty at the end of the stream
 *
 * Since: 1.2
 */
GBytes *
ls_local_socket_read_bytes_finish (LsLocalSocket  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  return bytes_finish (self, result, ls_local_socket_read_bytes_async, error);
}

/**
 * ls_local_socket_read_line_async:
 * @self: a socket
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when a line is read
 * @user_data: (closure): data for @callback
 *
 * Reads the next line, through its newline (`\n`, included). At the end of
 * the stream the rest of the data is returned even without a newline, and
 * after that an empty result. When [property@Ls.LocalSocket:read-buffer-size]
 * is set and fills without a newline, its content is returned as it is.
 *
 * The rules of [method@Ls.LocalSocket.read_bytes_async] apply.
 *
 * Since: 1.2
 */
void
ls_local_socket_read_line_async (LsLocalSocket       *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  read_start (self, OP_READ_LINE, 0, cancellable, callback, user_data,
              ls_local_socket_read_line_async);
}

/**
 * ls_local_socket_read_line_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.read_line_async].
 *
 * Returns: (transfer full): the line with its newline; the rest of the
 *   data at the end of the stream; empty after that
 *
 * Since: 1.2
 */
GBytes *
ls_local_socket_read_line_finish (LsLocalSocket  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return bytes_finish (self, result, ls_local_socket_read_line_async, error);
}

/**
 * ls_local_socket_read_message_async:
 * @self: a socket
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when a message is read
 * @user_data: (closure): data for @callback
 *
 * Reads the next message framed as [method@Ls.LocalSocket.read_message]
 * reads it (Qt's `QDataStream` framing of a `QByteArray`). At the end of
 * the stream the result is %NULL without an error; a stream that ends
 * within a message fails with %LS_SOCKET_ERROR_PEER_CLOSED. A frame larger
 * than [property@Ls.LocalSocket:max-message-size] fails with
 * %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE, as the sync call does.
 *
 * The rules of [method@Ls.LocalSocket.read_bytes_async] apply.
 *
 * Since: 1.2
 */
void
ls_local_socket_read_message_async (LsLocalSocket       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  read_start (self, OP_READ_MESSAGE, 0, cancellable, callback, user_data,
              ls_local_socket_read_message_async);
}

/**
 * ls_local_socket_read_message_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.read_message_async].
 *
 * Returns: (transfer full) (nullable): the message (a null `QByteArray`
 *   reads as an empty one), or %NULL at the end of the stream or on error
 *
 * Since: 1.2
 */
GBytes *
ls_local_socket_read_message_finish (LsLocalSocket  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  return bytes_finish (self, result, ls_local_socket_read_message_async, error);
}

/**
 * ls_local_socket_write_all_async:
 * @self: a socket
 * @bytes: the data to write
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when all of @bytes is written
 * @user_data: (closure): data for @callback
 *
 * Queues @bytes like [method@Ls.LocalSocket.write_bytes] and calls
 * @callback once every byte of it, and of everything queued before it, has
 * been handed to the kernel. Several writes may be pending; they complete in
 * order.
 *
 * On a socket that is not open (never connected, its connect failed, or
 * closed) it fails with %LS_SOCKET_ERROR_UNKNOWN and a message that says
 * which, and, as [method@Ls.LocalSocket.write] (and Qt), leaves the error
 * the socket recorded as it was; one still open after its connection ended
 * records %LS_SOCKET_ERROR_UNKNOWN, as write() does. If the connection ends
 * before the data is written (the peer left, [method@Ls.LocalSocket.abort],
 * or a [method@Ls.LocalSocket.connect_to_server] while closing replaced it)
 * it fails with an %LS_SOCKET_ERROR. Cancelling fails the call with
 * %G_IO_ERROR_CANCELLED, but the data, already queued, is still written.
 *
 * Since: 1.2
 */
void
ls_local_socket_write_all_async (LsLocalSocket       *self,
                                 GBytes              *bytes,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  SocketAsync *sa;
  LsSocketResult *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (bytes != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = ls_socket_async_call_begin (self, &sa, OP_WRITE, cancellable, callback, user_data,
                                   ls_local_socket_write_all_async);
  if (op == NULL || write_refused (sa, op))
    return;
  if (ls_local_socket_write_bytes (self, bytes) < 0)
    {
      ls_socket_async_call_fail (sa, op, ls_socket_async_recorded_error (sa, "write to",
                                                                         "the socket is not connected"));
      return;
    }
  write_queued (sa, op);
}

/**
 * ls_local_socket_write_all_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.write_all_async].
 *
 * Returns: %TRUE if all the data was handed to the kernel
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_all_finish (LsLocalSocket  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return boolean_finish (self, result, ls_local_socket_write_all_async, error);
}

/**
 * ls_local_socket_write_message_async:
 * @self: a socket
 * @message: the message to send
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when the whole frame is written
 * @user_data: (closure): data for @callback
 *
 * Queues @message as one frame like [method@Ls.LocalSocket.write_message]
 * (Qt's `QDataStream` framing of a `QByteArray`) and calls @callback once
 * the whole frame, and everything queued before it, has been handed to the
 * kernel. Several writes may be pending; they complete in order.
 *
 * A message of 0xFFFFFFFE bytes or more fails with
 * %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE and writes nothing; the other rules
 * are those of [method@Ls.LocalSocket.write_all_async] (so, unlike the sync
 * call, it records nothing on a socket that is not open).
 *
 * Since: 1.2
 */
void
ls_local_socket_write_message_async (LsLocalSocket       *self,
                                     GBytes              *message,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  SocketAsync *sa;
  LsSocketResult *op;
  GError *error = NULL;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = ls_socket_async_call_begin (self, &sa, OP_WRITE, cancellable, callback, user_data,
                                   ls_local_socket_write_message_async);
  if (op == NULL || write_refused (sa, op))
    return;
  if (!ls_local_socket_write_message (self, message, &error))
    {
      ls_socket_async_call_fail (sa, op, error);
      return;
    }
  write_queued (sa, op);
}

/**
 * ls_local_socket_write_message_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.write_message_async].
 *
 * Returns: %TRUE if the whole frame was handed to the kernel
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_message_finish (LsLocalSocket  *self,
                                      GAsyncResult   *result,
                                      GError        **error)
{
  return boolean_finish (self, result, ls_local_socket_write_message_async, error);
}

/**
 * ls_local_socket_disconnect_async:
 * @self: a socket
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when the socket is unconnected
 * @user_data: (closure): data for @callback
 *
 * Disconnects gracefully like [method@Ls.LocalSocket.disconnect_from_server]
 * (queued data is written first, the state is
 * %LS_LOCAL_SOCKET_STATE_CLOSING meanwhile) and calls @callback once the
 * socket is %LS_LOCAL_SOCKET_STATE_UNCONNECTED. It fails with an
 * %LS_SOCKET_ERROR when queued data could not be delivered (the peer left,
 * or the socket was aborted). An unconnected socket succeeds at once.
 * Cancelling fails the call with %G_IO_ERROR_CANCELLED; the disconnection
 * goes on.
 *
 * [method@Ls.LocalSocket.connect_to_server] while closing replaces the
 * connection at once, without UNCONNECTED in between, and drops its unsent
 * output: the call completes then as under an abort, failing unless
 * everything queued before it had been handed to the kernel (and so do
 * the writes and the read still pending on that connection).
 *
 * Since: 1.2
 */
void
ls_local_socket_disconnect_async (LsLocalSocket       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  SocketAsync *sa;
  LsSocketResult *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = ls_socket_async_call_begin (self, &sa, OP_DISCONNECT, cancellable, callback, user_data,
                                   ls_local_socket_disconnect_async);
  if (op == NULL)
    return;
  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      ls_socket_op_return_boolean (sa, op, TRUE);
      ls_socket_async_call_end (sa);
      return;
    }
  op->target = sa->written + (gint64) self->output.len;
  ls_socket_op_enqueue (op, &sa->disconnect_ops);
  /* Ends at once when nothing is queued: the state-changed event returns
   * the call (its callback still comes from the main loop). */
  ls_local_socket_disconnect_from_server (self);
  ls_socket_async_call_end (sa);
}

/**
 * ls_local_socket_disconnect_finish:
 * @self: a socket
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalSocket.disconnect_async].
 *
 * Returns: %TRUE if the queued data was written and the socket is
 *   unconnected
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_disconnect_finish (LsLocalSocket  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  return boolean_finish (self, result, ls_local_socket_disconnect_async, error);
}
