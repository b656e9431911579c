/* ls-local-socket-async.c: GIO-style asynchronous calls on LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket.h"
#include "ls-async-private.h"

#include <string.h>

/* Built on the public API and the signals of the socket only: the calls
 * are a layer over what an application could write itself, so they cannot
 * disturb a socket that never uses them, and such a socket pays nothing for
 * them (their state lives in qdata, created by the first call).
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

typedef enum {
  OP_READ_BYTES,
  OP_READ_LINE,
  OP_READ_MESSAGE,
  OP_WRITE,
  OP_DISCONNECT,
  OP_CONNECT,
} OpKind;

typedef struct _SocketAsync SocketAsync;

typedef struct {
  SocketAsync *sa;
  GTask       *task;
  GSource     *cancel_source;
  OpKind       kind;
  gboolean     borrowed;     /* the task's reference on the socket was given back */
  gsize        count;        /* OP_READ_BYTES */
  gint64       target;       /* OP_WRITE, OP_DISCONNECT: sa->written that completes it */
  guint        errors;       /* sa->errors when the operation started */
} Op;

struct _SocketAsync
{
  LsLocalSocket *socket;     /* not owned: this lives in its qdata */
  Op            *read_op;
  Op            *connect_op;
  GQueue         write_ops;  /* in target order */
  GQueue         disconnect_ops;
  gint64         written;    /* bytes-written total since this exists */
  guint          errors;     /* error-occurred emissions since this exists */
  char          *name;       /* for messages: the names go before UNCONNECTED */
  LsLocalSocketState last_state;
  guint          input_ended : 1;  /* nothing more will arrive: reads see the end */
  guint          closed : 1;       /* close() or abort(): the read side is gone */
  guint          disposed : 1;
};

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
static void on_ready_read (LsLocalSocket *socket, SocketAsync *sa);
static void on_bytes_written (LsLocalSocket *socket, gint64 n, SocketAsync *sa);
static void on_state_changed (LsLocalSocket *socket, LsLocalSocketState state, SocketAsync *sa);
static void on_error_occurred (LsLocalSocket *socket, LsSocketError code, SocketAsync *sa);
static void on_connected (LsLocalSocket *socket, SocketAsync *sa);
static void on_about_to_close (LsLocalSocket *socket, SocketAsync *sa);

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

static const char *
display_name (SocketAsync *sa)
{
  return sa->name != NULL ? sa->name : "";
}

static SocketAsync *
socket_async_get (LsLocalSocket *socket)
{
  SocketAsync *sa;

  if (G_UNLIKELY (socket_async_quark == 0))
    socket_async_quark = g_quark_from_static_string ("ls-local-socket-async");
  sa = g_object_get_qdata (G_OBJECT (socket), socket_async_quark);
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
  g_object_set_qdata_full (G_OBJECT (socket), socket_async_quark, sa, socket_async_free);
  g_object_weak_ref (G_OBJECT (socket), on_disposed, sa);
  g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), sa);
  g_signal_connect (socket, "bytes-written", G_CALLBACK (on_bytes_written), sa);
  g_signal_connect (socket, "state-changed", G_CALLBACK (on_state_changed), sa);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error_occurred), sa);
  g_signal_connect (socket, "connected", G_CALLBACK (on_connected), sa);
  g_signal_connect (socket, "about-to-close", G_CALLBACK (on_about_to_close), sa);
  return sa;
}

/* Operations ------------------------------------------------------------ */

static gboolean on_cancelled (GCancellable *cancellable, gpointer user_data);

static Op *
op_new (SocketAsync  *sa,
        OpKind        kind,
        GTask        *task)
{
  Op *op = g_new0 (Op, 1);
  GCancellable *cancellable = g_task_get_cancellable (task);

  op->sa = sa;
  op->kind = kind;
  op->task = task;
  op->errors = sa->errors;
  op->borrowed = ls_async_borrow (task);
  if (cancellable != NULL)
    {
      /* Cancellation may come from any thread; the source brings it to
       * the task's context. */
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, (GSourceFunc) (void (*) (void)) on_cancelled,
                             op, NULL);
      g_source_attach (op->cancel_source, g_task_get_context (task));
    }
  return op;
}

/* Detaches @op from its socket and frees it; returns its task (owned), to
 * be completed by the caller. Nothing of @op or of the socket's state may
 * be touched once the task is completed: its callback may drop the socket. */
static GTask *
op_end (Op *op)
{
  SocketAsync *sa = op->sa;
  GTask *task = op->task;

  if (op->cancel_source != NULL)
    {
      g_source_destroy (op->cancel_source);
      g_source_unref (op->cancel_source);
    }
  if (sa->read_op == op)
    sa->read_op = NULL;
  else if (sa->connect_op == op)
    sa->connect_op = NULL;
  else if (op->kind == OP_WRITE)
    g_queue_remove (&sa->write_ops, op);
  else if (op->kind == OP_DISCONNECT)
    g_queue_remove (&sa->disconnect_ops, op);
  if (op->borrowed)
    ls_async_give_back (task);
  g_free (op);
  return task;
}

static void
op_return_error (Op     *op,
                 GError *error)
{
  GTask *task = op_end (op);

  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
op_return_bytes (Op     *op,
                 GBytes *bytes)
{
  GTask *task = op_end (op);

  g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static void
op_return_boolean (Op       *op,
                   gboolean  value)
{
  GTask *task = op_end (op);

  g_task_return_boolean (task, value);
  g_object_unref (task);
}

static const char *
op_verb (Op *op)
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
                      "Cannot %s “%s”: the socket is not connected", verb, display_name (sa));
}

/* What the socket recorded for its last failure, as a GError. */
static GError *
recorded_error (SocketAsync *sa,
                const char  *verb,
                const char  *fallback)
{
  LsSocketError code = ls_local_socket_get_error (sa->socket);
  const char *message = ls_local_socket_get_error_string (sa->socket);

  if (code == LS_SOCKET_ERROR_UNKNOWN || message == NULL)
    return g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                        "Cannot %s “%s”: %s", verb, display_name (sa), fallback);
  return g_error_new_literal (LS_SOCKET_ERROR, code, message);
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  Op *op = user_data;
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

/* Fails the call at once (from the main loop: GTask never completes a task
 * within the iteration that created it) without registering anything. */
static void
task_fail (GTask  *task,
           GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* Checks shared by every call: a cancelled cancellable, a disposed socket. */
static gboolean
task_precheck (SocketAsync  *sa,
               GTask        *task,
               const char   *verb)
{
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return FALSE;
    }
  if (sa->disposed)
    {
      g_set_error (&error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                   "Cannot %s “%s”: the socket was disposed", verb, display_name (sa));
      task_fail (task, error);
      return FALSE;
    }
  return TRUE;
}

static GTask *
task_new (LsLocalSocket       *self,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  /* A result that was returned is never turned into a cancellation: it
   * was consumed from the buffer and would be lost. */
  g_task_set_check_cancellable (task, FALSE);
  return task;
}

/* Reads ----------------------------------------------------------------- */

/* Completes the pending read if it can be. */
static void
read_try (SocketAsync *sa)
{
  Op *op = sa->read_op;
  LsLocalSocket *socket = sa->socket;
  LsLocalSocketState state = ls_local_socket_get_state (socket);
  gboolean ended = sa->input_ended || state == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  gint64 available;
  GBytes *bytes = NULL;
  GError *error = NULL;

  if (sa->closed)
    {
      op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                        "Cannot %s “%s”: the socket was closed",
                                        op_verb (op), display_name (sa)));
      return;
    }

  available = ls_local_socket_get_bytes_available (socket);
  /* Ended without the end of a stream (aborted, never connected, the
   * connection attempt failed): an error unless data is left. */
  if (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED && !sa->input_ended && available == 0)
    {
      if (op->errors != sa->errors && ls_local_socket_get_error (socket) != LS_SOCKET_ERROR_UNKNOWN)
        error = recorded_error (sa, op_verb (op), "the socket is not connected");
      else
        error = not_connected_error (sa, op_verb (op));
      op_return_error (op, error);
      return;
    }

  switch (op->kind)
    {
    case OP_READ_BYTES:
      if (available > 0)
        bytes = ls_local_socket_read (socket, op->count);
      else if (ended)
        bytes = g_bytes_new (NULL, 0);
      break;

    case OP_READ_LINE:
      if (available > 0)
        {
          gint64 limit = ls_local_socket_get_read_buffer_size (socket);

          /* A line longer than the read buffer would never complete: what
           * fills the buffer is returned as it is. */
          if (ended || ls_local_socket_can_read_line (socket) ||
              (limit > 0 && available >= limit))
            bytes = ls_local_socket_read_line (socket, 0);
        }
      else if (ended)
        bytes = g_bytes_new (NULL, 0);
      break;

    case OP_READ_MESSAGE:
      bytes = ls_local_socket_read_message (socket, &error);
      if (error != NULL)
        {
          op_return_error (op, error);
          return;
        }
      if (bytes == NULL && ended)
        {
          available = ls_local_socket_get_bytes_available (socket);
          if (available > 0)
            op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED,
                                              "Cannot read a message from “%s”: the connection "
                                              "ended within a message (%" G_GINT64_FORMAT
                                              " bytes of it arrived)",
                                              display_name (sa), available));
          else
            op_return_bytes (op, NULL);  /* the end of the stream */
          return;
        }
      break;

    case OP_WRITE:
    case OP_DISCONNECT:
    case OP_CONNECT:
    default:
      g_assert_not_reached ();
    }

  if (bytes != NULL)
    op_return_bytes (op, bytes);
}

static void
read_start (LsLocalSocket       *self,
            OpKind               kind,
            gsize                count,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  SocketAsync *sa = socket_async_get (self);
  GTask *task = task_new (self, cancellable, callback, user_data, source_tag);
  Op *op;

  if (!task_precheck (sa, task, kind == OP_READ_MESSAGE ? "read a message from" : "read from"))
    return;
  if (sa->read_op != NULL)
    {
      task_fail (task, g_error_new (G_IO_ERROR, G_IO_ERROR_PENDING,
                                    "Cannot read from “%s”: another read is pending",
                                    display_name (sa)));
      return;
    }
  op = op_new (sa, kind, task);
  op->count = count;
  sa->read_op = op;
  read_try (sa);
}

static GBytes *
read_finish (LsLocalSocket  *self,
             GAsyncResult   *result,
             gpointer        source_tag,
             GError        **error)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Writes and the end of a connection -------------------------------------- */

static void
writes_check (SocketAsync *sa)
{
  Op *op;

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
  GQueue writes = sa->write_ops;
  GQueue disconnects = sa->disconnect_ops;
  Op *read_op = sa->read_op;
  Op *connect_op = sa->connect_op;
  Op *op;

  /* op_end() finds them in neither queue. */
  g_queue_init (&sa->write_ops);
  g_queue_init (&sa->disconnect_ops);

  if (connect_op != NULL)
    op_return_error (connect_op, recorded_error (sa, "connect to",
                                                 "the connection attempt was given up"));

  while ((op = g_queue_pop_head (&writes)) != NULL)
    {
      if (op->target <= sa->written && op->errors == sa->errors)
        op_return_boolean (op, TRUE);
      else if (op->errors != sa->errors)
        op_return_error (op, recorded_error (sa, "write to", "the connection was aborted"));
      else
        op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                          "Cannot write to “%s”: the connection was aborted "
                                          "before the data was written", display_name (sa)));
    }

  while ((op = g_queue_pop_head (&disconnects)) != NULL)
    {
      if (op->errors != sa->errors)
        op_return_error (op, recorded_error (sa, "disconnect from", "the connection failed"));
      else if (op->target > sa->written)
        op_return_error (op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                          "Cannot disconnect from “%s”: the connection was "
                                          "aborted before the data was written",
                                          display_name (sa)));
      else
        op_return_boolean (op, TRUE);
    }

  if (read_op != NULL && sa->read_op == read_op)
    read_try (sa);
}

/* Signal handlers --------------------------------------------------------- */

static void
on_ready_read (LsLocalSocket *socket,
               SocketAsync   *sa)
{
  if (sa->read_op == NULL)
    return;
  g_object_ref (socket);
  read_try (sa);
  g_object_unref (socket);
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
  if (sa->read_op != NULL)
    {
      g_object_ref (socket);
      read_try (sa);
      g_object_unref (socket);
    }
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
  if (sa->read_op != NULL)
    {
      g_object_ref (socket);
      read_try (sa);
      g_object_unref (socket);
    }
}

/* The socket is being disposed: take back the references the tasks gave,
 * and fail every operation from an idle of its own context, never from
 * inside the disposal. */
static void
dispose_fail (SocketAsync *sa,
              Op          *op)
{
  GError *error = g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                               "Cannot %s “%s”: the socket was disposed while the call was pending",
                               op_verb (op), display_name (sa));
  ls_async_return_error_later (op_end (op), error);
}

static void
on_disposed (gpointer  data,
             GObject  *where_the_object_was)
{
  SocketAsync *sa = data;
  Op *op;

  sa->disposed = TRUE;
  /* The signal handlers are gone with the disposal. */
  if (sa->read_op != NULL)
    dispose_fail (sa, sa->read_op);
  if (sa->connect_op != NULL)
    dispose_fail (sa, sa->connect_op);
  while ((op = g_queue_peek_head (&sa->write_ops)) != NULL)
    dispose_fail (sa, op);
  while ((op = g_queue_peek_head (&sa->disconnect_ops)) != NULL)
    dispose_fail (sa, op);
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
  GTask *task;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  sa = socket_async_get (self);
  task = task_new (self, cancellable, callback, user_data,
                   ls_local_socket_connect_to_server_async);
  if (!task_precheck (sa, task, "connect to"))
    return;

  g_object_ref (self);
  if (ls_local_socket_get_state (self) != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      /* The sync call reports it (error-occurred, recorded error). */
      ls_local_socket_connect_to_server (self, name);
      task_fail (task, recorded_error (sa, "connect to", "the socket is already connected"));
    }
  else
    {
      sa->connect_op = op_new (sa, OP_CONNECT, task);
      if (name != NULL)
        {
          g_free (sa->name);
          sa->name = g_strdup (name);
        }
      /* Its signals complete the operation (connected, or UNCONNECTED);
       * GTask defers the callback past this call. */
      ls_local_socket_connect_to_server (self, name);
    }
  g_object_unref (self);
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
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        ls_local_socket_connect_to_server_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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
 * %G_IO_ERROR_CANCELLED and reads nothing. On a socket that is not
 * connected, or that is closed or aborted meanwhile, it fails with an
 * %LS_SOCKET_ERROR. [signal@Ls.LocalSocket::ready-read] is still emitted.
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
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (count == 0)
    {
      GTask *task = task_new (self, cancellable, callback, user_data,
                              ls_local_socket_read_bytes_async);

      if (!g_task_return_error_if_cancelled (task))
        g_task_return_pointer (task, g_bytes_new (NULL, 0), (GDestroyNotify) g_bytes_unref);
      g_object_unref (task);
      return;
    }
  read_start (self, OP_READ_BYTES, count, cancellable, callback, user_data,
              ls_local_socket_read_bytes_async);
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
  return read_finish (self, result, ls_local_socket_read_bytes_async, error);
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
  return read_finish (self, result, ls_local_socket_read_line_async, error);
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
  return read_finish (self, result, ls_local_socket_read_message_async, error);
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
 * On a socket that is not connected it fails with the error
 * [method@Ls.LocalSocket.write] records. If the connection ends before the
 * data is written (the peer left, or [method@Ls.LocalSocket.abort]) it fails
 * with an %LS_SOCKET_ERROR. Cancelling fails the call with
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
  GTask *task;
  gint64 queued;
  Op *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (bytes != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  sa = socket_async_get (self);
  task = task_new (self, cancellable, callback, user_data, ls_local_socket_write_all_async);
  if (!task_precheck (sa, task, "write to"))
    return;

  if (ls_local_socket_write_bytes (self, bytes) < 0)
    {
      task_fail (task, recorded_error (sa, "write to", "the socket is not connected"));
      return;
    }
  queued = ls_local_socket_get_bytes_to_write (self);
  if (queued == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  op = op_new (sa, OP_WRITE, task);
  op->target = sa->written + queued;
  g_queue_push_tail (&sa->write_ops, op);
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
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        ls_local_socket_write_all_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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
 * Since: 1.2
 */
void
ls_local_socket_disconnect_async (LsLocalSocket       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  SocketAsync *sa;
  GTask *task;
  Op *op;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  sa = socket_async_get (self);
  task = task_new (self, cancellable, callback, user_data, ls_local_socket_disconnect_async);
  if (!task_precheck (sa, task, "disconnect from"))
    return;

  if (ls_local_socket_get_state (self) == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  op = op_new (sa, OP_DISCONNECT, task);
  op->target = sa->written + ls_local_socket_get_bytes_to_write (self);
  g_queue_push_tail (&sa->disconnect_ops, op);
  /* Ends synchronously when nothing is queued: the state-changed handler
   * completes the operation and GTask defers the callback. */
  ls_local_socket_disconnect_from_server (self);
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
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        ls_local_socket_disconnect_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
