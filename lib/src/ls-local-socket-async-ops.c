/* ls-local-socket-async-ops.c: the pending operations behind the
 * asynchronous calls of LsLocalSocket, and the socket events that
 * complete them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-async-private.h"
#include "ls-local-socket-private.h"
#include "ls-async-private.h"

/* Built on the public API of the socket, and told of its events (where it
 * emits ready-read, bytes-written, state-changed, error-occurred, connected
 * and about-to-close) through one private hook rather than six signal
 * handlers, which would cost every emission the generic marshaller and make
 * the socket emit bytes-written for nobody else. A socket that never uses
 * the calls pays nothing for them: their state is created by the first.
 *
 * A pending operation must not keep its socket alive: an application that
 * drops its last reference while a read waits would otherwise leak the
 * socket for as long as the peer stays silent. The GTask of an operation
 * has the socket as its source object (bindings such as GJS's
 * Gio._promisify call the _finish method on it), so the reference it takes
 * is given back at once and taken again just before the task completes
 * (see ls_async_borrow()). When the socket is disposed while operations
 * are pending, a weak-ref notification takes those references again (the
 * socket lives on, disposed, until the last task is gone) and fails every
 * operation, from an idle, exactly once. */

static GQuark socket_async_quark;

static void
socket_async_free (gpointer data)
{
  SocketAsync *sa = data;

  /* Finalization: every operation has completed (each held a reference). */
  g_free (sa->name);
  g_free (sa);
}

static void on_disposed (gpointer data, GObject *where_the_object_was);
static void on_socket_event (LsLocalSocket *socket, LsSocketEvent event, gint64 value,
                             gpointer data);

static void
update_name (SocketAsync *sa)
{
  const char *name = ls_local_socket_get_full_server_name (sa->socket);

  if (name == NULL || *name == '\0')
    name = ls_local_socket_get_server_name (sa->socket);
  if (name != NULL && *name != '\0' && g_strcmp0 (name, sa->name) != 0)
    {
      g_free (sa->name);
      sa->name = g_strdup (name);
    }
}

SocketAsync *
ls_socket_async_get (LsLocalSocket *socket)
{
  SocketAsync *sa = ls_local_socket_get_event_hook_data (socket, LS_SOCKET_HOOK_ASYNC);

  if (G_LIKELY (sa != NULL))
    {
      update_name (sa);
      return sa;
    }

  sa = g_new0 (SocketAsync, 1);
  sa->socket = socket;
  sa->last_state = ls_local_socket_get_state (socket);
  /* A socket whose peer left before its first asynchronous call. */
  sa->input_ended = sa->last_state == LS_LOCAL_SOCKET_STATE_UNCONNECTED &&
                    ls_local_socket_get_error (socket) == LS_SOCKET_ERROR_PEER_CLOSED;
  update_name (sa);
  /* The qdata only frees it with the socket; calls find it through the
   * hook's data, and the hook stays (ignored) once the socket is disposed. */
  if (G_UNLIKELY (socket_async_quark == 0))
    socket_async_quark = g_quark_from_static_string ("ls-local-socket-async");
  g_object_set_qdata_full (G_OBJECT (socket), socket_async_quark, sa, socket_async_free);
  g_object_weak_ref (G_OBJECT (socket), on_disposed, sa);
  ls_local_socket_set_event_hook (socket, LS_SOCKET_HOOK_ASYNC, on_socket_event, sa);
  return sa;
}

/* Operations ------------------------------------------------------------ */

static gboolean on_cancelled (GCancellable *cancellable, gpointer user_data);

SocketOp *
ls_socket_op_new (SocketAsync  *sa,
                  SocketOpKind  kind,
                  GTask        *task)
{
  SocketOp *op = g_new0 (SocketOp, 1);

  op->sa = sa;
  op->kind = kind;
  op->task = task;
  op->errors = sa->errors;
  op->borrowed = ls_async_borrow (task);
  op->cancel_source = ls_async_cancel_source_new (task, on_cancelled, op);
  return op;
}

void
ls_socket_op_enqueue (SocketOp *op,
                      GQueue   *queue)
{
  op->queue = queue;
  op->link.data = op;
  g_queue_push_tail_link (queue, &op->link);
}

/* Moves the operations of @from to @to (empty), where op_end() finds them. */
static void
queue_take (GQueue *to,
            GQueue *from)
{
  *to = *from;
  g_queue_init (from);
  for (GList *l = to->head; l != NULL; l = l->next)
    ((SocketOp *) l->data)->queue = to;
}

/* Detaches @op from its socket and frees it; returns its task (owned), to
 * be completed by the caller. Nothing of @op or of the socket's state may
 * be touched once the task is completed: its callback may drop the socket. */
static GTask *
op_end (SocketOp *op)
{
  SocketAsync *sa = op->sa;
  GTask *task = op->task;

  ls_async_cancel_source_free (op->cancel_source);
  if (sa->read_op == op)
    sa->read_op = NULL;
  else if (sa->connect_op == op)
    sa->connect_op = NULL;
  else if (op->queue != NULL)
    g_queue_unlink (op->queue, &op->link);
  if (op->borrowed)
    ls_async_give_back (task);
  g_free (op);
  return task;
}

static void
op_return_error (SocketOp *op,
                 GError   *error)
{
  GTask *task = op_end (op);

  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
op_return_bytes (SocketOp *op,
                 GBytes   *bytes)
{
  GTask *task = op_end (op);

  g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static void
op_return_boolean (SocketOp *op,
                   gboolean  value)
{
  GTask *task = op_end (op);

  g_task_return_boolean (task, value);
  g_object_unref (task);
}

static const char *
op_verb (SocketOp *op)
{
  switch (op->kind)
    {
    case OP_READ_BYTES:
    case OP_READ_LINE:
      return "read from";
    case OP_READ_MESSAGE:
      return "read a message from";
    case OP_WRITE:
      return "write to";
    case OP_DISCONNECT:
      return "disconnect from";
    case OP_CONNECT:
    default:
      return "connect to";
    }
}

/* The error of the sync calls on a socket that is not connected, whose
 * code (like theirs) is that of the LsSocketError domain. */
static GError *
not_connected_error (SocketAsync *sa,
                     const char  *verb)
{
  return g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                      "Cannot %s “%s”: the socket is not connected",
                      verb, socket_async_display_name (sa));
}

GError *
ls_socket_async_recorded_error (SocketAsync *sa,
                const char  *verb,
                const char  *fallback)
{
  LsSocketError code = ls_local_socket_get_error (sa->socket);
  const char *message = ls_local_socket_get_error_string (sa->socket);

  if (code == LS_SOCKET_ERROR_UNKNOWN || message == NULL)
    return g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                        "Cannot %s “%s”: %s", verb, socket_async_display_name (sa), fallback);
  return g_error_new_literal (LS_SOCKET_ERROR, code, message);
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  SocketOp *op = user_data;
  SocketAsync *sa = op->sa;
  gboolean stop_connect = op->kind == OP_CONNECT &&
                          ls_local_socket_get_state (sa->socket) == LS_LOCAL_SOCKET_STATE_CONNECTING;
  LsLocalSocket *socket = g_object_ref (sa->socket);

  /* Nothing is consumed: buffered data stays readable. A connection
   * attempt that waits for a full backlog is given up. */
  op_return_error (op, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "Operation was cancelled"));
  if (stop_connect && ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_CONNECTING)
    ls_local_socket_disconnect_from_server (socket);
  g_object_unref (socket);
  return G_SOURCE_REMOVE;
}


/* Reads ----------------------------------------------------------------- */

/* What a pending byte or line read takes from @available buffered bytes:
 * NULL while it must wait, empty at the end of the stream. */
static GBytes *
read_stream_take (SocketOp *op,
                  gint64    available,
                  gboolean  ended)
{
  LsLocalSocket *socket = op->sa->socket;

  if (available == 0)
    return ended ? g_bytes_new (NULL, 0) : NULL;
  if (op->kind == OP_READ_BYTES)
    return ls_local_socket_read (socket, op->count);

  /* A line longer than the read buffer would never complete: what fills
   * the buffer is returned as it is. */
  {
    gint64 limit = ls_local_socket_get_read_buffer_size (socket);

    if (ended || ls_local_socket_can_read_line (socket) || (limit > 0 && available >= limit))
      return ls_local_socket_read_line (socket, 0);
  }
  return NULL;
}

/* Completes a pending message read if a whole frame, the end of the
 * stream or an error is there. */
static void
read_message_try (SocketOp *op,
                  gboolean  ended)
{
  SocketAsync *sa = op->sa;
  GError *error = NULL;
  GBytes *bytes = ls_local_socket_read_message (sa->socket, &error);
  gint64 available;

  if (error != NULL)
    op_return_error (op, error);
  else if (bytes != NULL)
    op_return_bytes (op, bytes);
  else if (ended)
    {
      available = ls_local_socket_get_bytes_available (sa->socket);
      if (available > 0)
        op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED,
                                          "Cannot read a message from “%s”: the connection "
                                          "ended within a message (%" G_GINT64_FORMAT
                                          " bytes of it arrived)",
                                          socket_async_display_name (sa), available));
      else
        op_return_bytes (op, NULL);  /* the end of the stream */
    }
}

void
ls_socket_async_read_try (SocketAsync *sa)
{
  SocketOp *op = sa->read_op;
  LsLocalSocket *socket = sa->socket;
  LsLocalSocketState state = ls_local_socket_get_state (socket);
  gboolean ended = sa->input_ended || state == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  gint64 available;
  GBytes *bytes;
  GError *error;

  if (sa->closed)
    {
      op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                        "Cannot %s “%s”: the socket was closed",
                                        op_verb (op), socket_async_display_name (sa)));
      return;
    }

  available = ls_local_socket_get_bytes_available (socket);
  /* Ended without the end of a stream (aborted, never connected, the
   * connection attempt failed): an error unless data is left. */
  if (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED && !sa->input_ended && available == 0)
    {
      if (op->errors != sa->errors && ls_local_socket_get_error (socket) != LS_SOCKET_ERROR_UNKNOWN)
        error = ls_socket_async_recorded_error (sa, op_verb (op), "the socket is not connected");
      else
        error = not_connected_error (sa, op_verb (op));
      op_return_error (op, error);
      return;
    }

  g_assert (op->kind == OP_READ_BYTES || op->kind == OP_READ_LINE || op->kind == OP_READ_MESSAGE);
  if (op->kind == OP_READ_MESSAGE)
    {
      read_message_try (op, ended);
      return;
    }
  bytes = read_stream_take (op, available, ended);
  if (bytes != NULL)
    op_return_bytes (op, bytes);
}

/* Writes and the end of a connection -------------------------------------- */

static void
writes_check (SocketAsync *sa)
{
  SocketOp *op;

  /* Everything queued is in the kernel also when a bytes-written emission
   * was skipped (a flush nested in a handler emits none). */
  while ((op = g_queue_peek_head (&sa->write_ops)) != NULL &&
         (op->target <= sa->written || ls_local_socket_get_bytes_to_write (sa->socket) == 0))
    op_return_boolean (op, TRUE);
}

/* The connection ended: every pending operation of it completes, those that
 * callbacks start meanwhile are left alone (they belong to what comes next). */
static void
connection_ended (SocketAsync *sa)
{
  GQueue writes, disconnects;
  SocketOp *read_op = sa->read_op;
  SocketOp *connect_op = sa->connect_op;
  SocketOp *op;

  queue_take (&writes, &sa->write_ops);
  queue_take (&disconnects, &sa->disconnect_ops);

  if (connect_op != NULL)
    op_return_error (connect_op,
                     ls_socket_async_recorded_error (sa, "connect to",
                                                     "the connection attempt was given up"));

  while ((op = g_queue_peek_head (&writes)) != NULL)
    {
      if (op->target <= sa->written && op->errors == sa->errors)
        op_return_boolean (op, TRUE);
      else if (op->errors != sa->errors)
        op_return_error (op, ls_socket_async_recorded_error (sa, "write to",
                                                             "the connection was aborted"));
      else
        op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                          "Cannot write to “%s”: the connection was aborted "
                                          "before the data was written",
                                          socket_async_display_name (sa)));
    }

  while ((op = g_queue_peek_head (&disconnects)) != NULL)
    {
      if (op->errors != sa->errors)
        op_return_error (op, ls_socket_async_recorded_error (sa, "disconnect from",
                                                             "the connection failed"));
      else if (op->target > sa->written)
        op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                          "Cannot disconnect from “%s”: the connection was "
                                          "aborted before the data was written",
                                          socket_async_display_name (sa)));
      else
        op_return_boolean (op, TRUE);
    }

  if (read_op != NULL && sa->read_op == read_op)
    ls_socket_async_read_try (sa);
}

/* The socket's events (where it emits the signals of the same names) ------ */

/* Tries the pending read again; its callback may drop the socket. */
static void
read_retry (SocketAsync *sa)
{
  LsLocalSocket *socket;

  if (sa->read_op == NULL)
    return;
  socket = g_object_ref (sa->socket);
  ls_socket_async_read_try (sa);
  g_object_unref (socket);
}

static void
on_ready_read (LsLocalSocket *socket,
               SocketAsync   *sa)
{
  read_retry (sa);
}

static void
on_bytes_written (LsLocalSocket *socket,
                  gint64         n,
                  SocketAsync   *sa)
{
  sa->written += n;
  if (sa->write_ops.length == 0)
    return;
  g_object_ref (socket);
  writes_check (sa);
  g_object_unref (socket);
}

static void
on_error_occurred (LsLocalSocket *socket,
                   LsSocketError  code,
                   SocketAsync   *sa)
{
  sa->errors++;
  if (code != LS_SOCKET_ERROR_PEER_CLOSED)
    return;
  /* The peer is gone and all it sent is buffered: a read sees the end. */
  sa->input_ended = TRUE;
  read_retry (sa);
}

static void
on_state_changed (LsLocalSocket      *socket,
                  LsLocalSocketState  state,
                  SocketAsync        *sa)
{
  LsLocalSocketState previous = sa->last_state;

  sa->last_state = state;
  switch (state)
    {
    case LS_LOCAL_SOCKET_STATE_CONNECTING:
      sa->input_ended = FALSE;
      sa->closed = FALSE;
      update_name (sa);
      break;
    case LS_LOCAL_SOCKET_STATE_UNCONNECTED:
      /* A graceful end (ours or the peer's) ends the stream; an abort or a
       * failed attempt does not. */
      if (previous == LS_LOCAL_SOCKET_STATE_CLOSING)
        sa->input_ended = TRUE;
      g_object_ref (socket);
      connection_ended (sa);
      g_object_unref (socket);
      break;
    case LS_LOCAL_SOCKET_STATE_CONNECTED:
    case LS_LOCAL_SOCKET_STATE_CLOSING:
    default:
      break;
    }
}

static void
on_connected (LsLocalSocket *socket,
              SocketAsync   *sa)
{
  update_name (sa);
  sa->input_ended = FALSE;
  sa->closed = FALSE;
  if (sa->connect_op != NULL)
    op_return_boolean (sa->connect_op, TRUE);
}

static void
on_about_to_close (LsLocalSocket *socket,
                   SocketAsync   *sa)
{
  sa->closed = TRUE;
  read_retry (sa);
}

static void
on_socket_event (LsLocalSocket *socket,
                 LsSocketEvent  event,
                 gint64         value,
                 gpointer       data)
{
  SocketAsync *sa = data;

  /* As signal handlers would be, gone with the disposal. */
  if (sa->disposed)
    return;
  switch (event)
    {
    case LS_SOCKET_EVENT_READY_READ:
      on_ready_read (socket, sa);
      break;
    case LS_SOCKET_EVENT_BYTES_WRITTEN:
      on_bytes_written (socket, value, sa);
      break;
    case LS_SOCKET_EVENT_STATE_CHANGED:
      on_state_changed (socket, (LsLocalSocketState) value, sa);
      break;
    case LS_SOCKET_EVENT_ERROR_OCCURRED:
      on_error_occurred (socket, (LsSocketError) value, sa);
      break;
    case LS_SOCKET_EVENT_CONNECTED:
      on_connected (socket, sa);
      break;
    case LS_SOCKET_EVENT_ABOUT_TO_CLOSE:
    default:
      on_about_to_close (socket, sa);
      break;
    }
}

/* The socket is being disposed: take back the references the tasks gave,
 * and fail every operation from an idle of its own context, never from
 * inside the disposal. */
static void
dispose_fail (SocketAsync *sa,
              SocketOp    *op)
{
  GError *error = g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                               "Cannot %s “%s”: the socket was disposed while the call was pending",
                               op_verb (op), socket_async_display_name (sa));
  ls_async_return_error_later (op_end (op), error);
}

static void
on_disposed (gpointer  data,
             GObject  *where_the_object_was)
{
  SocketAsync *sa = data;
  SocketOp *op;

  sa->disposed = TRUE;
  /* From here on the socket's events are ignored (on_socket_event). */
  if (sa->read_op != NULL)
    dispose_fail (sa, sa->read_op);
  if (sa->connect_op != NULL)
    dispose_fail (sa, sa->connect_op);
  while ((op = g_queue_peek_head (&sa->write_ops)) != NULL)
    dispose_fail (sa, op);
  while ((op = g_queue_peek_head (&sa->disconnect_ops)) != NULL)
    dispose_fail (sa, op);
}

