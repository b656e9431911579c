/* ls-local-socket-async-ops.c: the pending calls behind the asynchronous
 * calls of LsLocalSocket, the socket events that complete them, and the
 * dispatch that runs their callbacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-async-private.h"

/* Built on the socket's public API, and told of its events (where it emits
 * ready-read, bytes-written, state-changed, error-occurred, connected and
 * about-to-close) through one private hook rather than six signal
 * handlers, which would cost every emission the generic marshaller and
 * make the socket emit bytes-written for nobody else. A socket that never
 * uses the calls pays nothing for them: their state is made by the first.
 *
 * A call is an LsSocketResult (ls-socket-result.c) from its start to its
 * callback: nothing is allocated per call. The result holds the socket,
 * as GIO's results hold their source object: a pending call keeps its
 * socket alive until its callback has run.
 *
 * Events and entry points only return calls (set the outcome, take them
 * out of their slot); callbacks run later, from the dispatch of the event
 * core of the caller's context (a watch of no descriptor, deferred), in
 * the same main-loop iteration when the event came from it: never from
 * inside a call of the application (the one that started the call, nor a
 * flush, close or abort that completed it). What an entry point returns at
 * once without taking data (an error, the end of the stream) goes through
 * an idle instead: a callback that retries such a call forever then still
 * lets the main loop run, as with GTask. */

static GQuark socket_async_quark;

static void
socket_async_free (gpointer data)
{
  SocketAsync *sa = data;

  /* Finalization: every call has completed and run its callback (each
   * held a reference). */
  ls_cancel_hook_list_free (&sa->hooks);
  g_clear_pointer (&sa->dispatch, ls_watch_free);
  g_clear_pointer (&sa->core, ls_event_core_unref);
  g_free (sa->name);
  g_free (sa);
}

static void on_disposed (gpointer data, GObject *where_the_object_was);
static void on_socket_event (LsLocalSocket *socket, LsSocketEvent event, gint64 value,
                             gpointer data);
static void on_dispatch (gpointer owner, LsWatchCondition condition);

static void
update_name (SocketAsync *sa)
{
  const char *name = ls_local_socket_current_name_internal (sa->socket);

  if (name != NULL && *name != '\0' && g_strcmp0 (name, sa->name) != 0)
    {
      g_free (sa->name);
      sa->name = g_strdup (name);
    }
}

/* The core whose dispatch runs the callbacks of calls made in @context:
 * the socket's own when it is that context's, which spares the lookup. */
static LsEventCore *
dispatch_core_for (LsLocalSocket *socket,
                   GMainContext  *context)
{
  if (socket->core != NULL && ls_event_core_get_context (socket->core) == context)
    return ls_event_core_ref (socket->core);
  if (!ls_event_core_thread_is_served ())
    return NULL;
  return ls_event_core_ref_for_context (context);
}

static SocketAsync *
socket_async_new (LsLocalSocket *socket,
                  GMainContext  *context)
{
  SocketAsync *sa = g_new0 (SocketAsync, 1);

  sa->socket = socket;
  sa->last_state = socket->state;
  /* A socket whose peer left before its first asynchronous call. */
  sa->input_ended = sa->last_state == LS_LOCAL_SOCKET_STATE_UNCONNECTED &&
                    socket->error == LS_SOCKET_ERROR_PEER_CLOSED;
  update_name (sa);
  sa->core = dispatch_core_for (socket, context);
  if (sa->core != NULL)
    sa->dispatch = ls_watch_new_deferred_only (sa->core, on_dispatch, sa);
  /* The qdata only frees it with the socket; calls find it through the
   * hook's data, and the hook stays (ignored) once the socket is disposed. */
  if (G_UNLIKELY (socket_async_quark == 0))
    socket_async_quark = g_quark_from_static_string ("ls-local-socket-async");
  g_object_set_qdata_full (G_OBJECT (socket), socket_async_quark, sa, socket_async_free);
  g_object_weak_ref (G_OBJECT (socket), on_disposed, sa);
  ls_local_socket_set_event_hook (socket, LS_SOCKET_HOOK_ASYNC, on_socket_event, sa);
  return sa;
}

/* Returning calls -------------------------------------------------------- */

/* Schedules the callback of @op (returned, out of every queue). */
static void
deliver (SocketAsync    *sa,
         LsSocketResult *op)
{
  if (G_LIKELY (op->context == NULL) && (sa->in_call == 0 || op->consumed))
    {
      op->queue = &sa->done;
      g_queue_push_tail_link (&sa->done, &op->link);
      ls_watch_defer (sa->dispatch);
    }
  else
    ls_socket_result_invoke_in_idle (op, op->context != NULL ? op->context
                                                             : ls_event_core_get_context (sa->core));
}

/* @op has its outcome: out of its slot or queue, its cancellable let go,
 * its callback scheduled. A call cancelled meanwhile that took nothing
 * reports the cancellation instead (a write's data is still written). */
static void
op_complete (SocketAsync    *sa,
             LsSocketResult *op)
{
  if (sa->read_op == op)
    sa->read_op = NULL;
  else if (sa->connect_op == op)
    sa->connect_op = NULL;
  else if (op->queue != NULL)
    g_queue_unlink (op->queue, &op->link);
  op->queue = NULL;
  if (op->hook != NULL)
    {
      if (!op->consumed && op->error == NULL && ls_cancel_hook_is_cancelled (op->hook))
        {
          g_clear_pointer (&op->bytes, g_bytes_unref);
          op->error = ls_async_cancelled_error ();
        }
      ls_cancel_hook_unuse (op->hook);
      op->hook = NULL;
    }
  deliver (sa, op);
}

void
ls_socket_op_return_error (SocketAsync    *sa,
                           LsSocketResult *op,
                           GError         *error)
{
  ls_socket_result_return_error (op, error);
  op_complete (sa, op);
}

void
ls_socket_op_return_bytes (SocketAsync    *sa,
                 LsSocketResult *op,
                 GBytes         *bytes,
                 gboolean        consumed)
{
  ls_socket_result_return_bytes (op, bytes);
  op->consumed = consumed;
  op_complete (sa, op);
}

void
ls_socket_op_return_boolean (SocketAsync    *sa,
                             LsSocketResult *op,
                             gboolean        value)
{
  ls_socket_result_return_boolean (op, value);
  op_complete (sa, op);
}

/* The dispatch: the callbacks of the calls returned so far, in the order
 * they were returned, also when a callback runs a nested main loop (which
 * dispatches what is returned meanwhile after what was already waiting).
 * Each result holds the socket, so the callback (or the release) of the
 * last one may finalize it, and @sa with it. When one call waits (the
 * common case) nothing of @sa is touched after its callback; when several
 * do, the socket is held until all have run (a nested loop may run the
 * others). What callbacks return meanwhile deferred the watch again: the
 * next round of the dispatch runs it. */
static void
on_dispatch (gpointer         owner,
             LsWatchCondition condition)
{
  SocketAsync *sa = owner;
  LsLocalSocket *socket;
  GList *link = g_queue_pop_head_link (&sa->done);

  if (link == NULL)
    return;
  ((LsSocketResult *) link->data)->queue = NULL;
  if (G_LIKELY (sa->done.head == NULL))
    {
      ls_socket_result_invoke (link->data);
      return;
    }
  socket = ls_local_socket_hold_internal (sa->socket);
  do
    {
      ((LsSocketResult *) link->data)->queue = NULL;
      ls_socket_result_invoke (link->data);
    }
  while ((link = g_queue_pop_head_link (&sa->done)) != NULL);
  ls_local_socket_unhold_internal (socket);
}

/* Starting calls ---------------------------------------------------------- */

static const char *
op_verb (LsSocketResult *op)
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

static void on_cancel_fired (gpointer owner, LsCancelHook *hook);

void
ls_socket_async_call_fail (SocketAsync    *sa,
                           LsSocketResult *op,
                           GError         *error)
{
  ls_socket_result_return_error (op, error);
  ls_cancel_hook_unuse (op->hook);
  op->hook = NULL;
  deliver (sa, op);
  sa->in_call--;
}

LsSocketResult *
ls_socket_async_call_begin (LsLocalSocket        *socket,
                            SocketAsync         **sa_out,
                            SocketOpKind          kind,
                            GCancellable         *cancellable,
                            GAsyncReadyCallback   callback,
                            gpointer              user_data,
                            gpointer              source_tag)
{
  SocketAsync *sa = ls_local_socket_get_event_hook_data (socket, LS_SOCKET_HOOK_ASYNC);
  GMainContext *context = g_main_context_get_thread_default ();
  LsSocketResult *op;

  if (context == NULL)
    context = g_main_context_default ();
  if (G_UNLIKELY (sa == NULL))
    sa = socket_async_new (socket, context);
  *sa_out = sa;
  sa->in_call++;

  op = ls_socket_result_new (socket, callback, user_data, source_tag);
  op->kind = kind;
  op->errors = sa->errors;
  op->life = socket->life;
  /* Calls made in another context than the first's complete there. */
  if (G_UNLIKELY (sa->core == NULL || context != ls_event_core_get_context (sa->core)))
    op->context = g_main_context_ref (context);

  if (cancellable != NULL)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          ls_socket_async_call_fail (sa, op, ls_async_cancelled_error ());
          return NULL;
        }
      /* Without a main loop nothing brings the cancellation to this
       * thread: the hook only holds the cancellable for the checks. */
      op->hook = ls_cancel_hook_use (&sa->hooks, cancellable,
                                     sa->core != NULL ? ls_event_core_get_context (sa->core) : NULL,
                                     on_cancel_fired, sa);
    }
  if (G_UNLIKELY (sa->disposed))
    {
      ls_socket_async_call_fail (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                      "Cannot %s “%s”: the socket was disposed",
                                      op_verb (op), socket_async_display_name (sa)));
      return NULL;
    }
  return op;
}

void
ls_socket_op_enqueue (LsSocketResult *op,
                      GQueue         *queue)
{
  op->queue = queue;
  op->link.data = op;
  g_queue_push_tail_link (queue, &op->link);
}

/* Moves the calls of @from to @to (empty), where op_complete () finds them. */
static void
queue_take (GQueue *to,
            GQueue *from)
{
  *to = *from;
  g_queue_init (from);
  for (GList *l = to->head; l != NULL; l = l->next)
    ((LsSocketResult *) l->data)->queue = to;
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

/* Cancellation ---------------------------------------------------------- */

/* A hooked cancellable was cancelled (in this thread or another); here,
 * from an idle of the socket's context, the calls of that cancellable
 * that still wait fail. Nothing is consumed: buffered data stays
 * readable. A connection attempt that waits for a full backlog is given
 * up. */
static void
cancel_waiting (SocketAsync    *sa,
                LsSocketResult *op,
                LsCancelHook   *hook)
{
  if (op != NULL && op->hook == hook)
    ls_socket_op_return_error (sa, op, ls_async_cancelled_error ());
}

static void
cancel_queue (SocketAsync  *sa,
              GQueue       *queue,
              LsCancelHook *hook)
{
  GList *l = queue->head;

  while (l != NULL)
    {
      GList *next = l->next;

      cancel_waiting (sa, l->data, hook);
      l = next;
    }
}

static void
on_cancel_fired (gpointer      owner,
                 LsCancelHook *hook)
{
  SocketAsync *sa = owner;
  LsLocalSocket *socket = sa->socket;
  gboolean stop_connect;

  /* Reset since it fired, and maybe in use again: nothing to do. */
  if (!g_cancellable_is_cancelled (hook->cancellable) || hook->users == 0)
    return;
  stop_connect = sa->connect_op != NULL && sa->connect_op->hook == hook &&
                 socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING;
  cancel_waiting (sa, sa->read_op, hook);
  cancel_waiting (sa, sa->connect_op, hook);
  cancel_queue (sa, &sa->write_ops, hook);
  cancel_queue (sa, &sa->disconnect_ops, hook);
  if (stop_connect && socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      /* Its signals' handlers may drop the socket. */
      ls_local_socket_hold_internal (socket);
      ls_local_socket_disconnect_from_server (socket);
      ls_local_socket_unhold_internal (socket);
    }
}

/* Reads ----------------------------------------------------------------- */

/* What a pending byte or line read takes from @available buffered bytes:
 * NULL while it must wait, empty at the end of the stream. */
static GBytes *
read_stream_take (SocketAsync    *sa,
                  LsSocketResult *op,
                  gsize           available,
                  gboolean        ended)
{
  LsLocalSocket *socket = sa->socket;
  gint64 limit;

  if (available == 0)
    return ended ? g_bytes_new (NULL, 0) : NULL;
  if (op->kind == OP_READ_BYTES)
    return ls_local_socket_take_input_internal (socket, MIN (op->count, available));

  /* A line longer than the read buffer would never complete: what fills
   * the buffer is returned as it is. The scan for the newline resumes
   * where the last one stopped (LsInputBuffer.line_scanned). */
  limit = socket->read_buffer_size;
  if (ended || ls_input_buffer_line_length (&socket->input, available) > 0 ||
      (limit > 0 && (gint64) available >= limit))
    return ls_local_socket_read_line (socket, 0);
  return NULL;
}

/* Completes a pending message read if a whole frame, the end of the
 * stream or an error is there. */
static void
read_message_try (SocketAsync    *sa,
                  LsSocketResult *op,
                  gboolean        ended)
{
  GError *error = NULL;
  GBytes *bytes = ls_local_socket_read_message (sa->socket, &error);
  gsize available;

  if (error != NULL)
    ls_socket_op_return_error (sa, op, error);
  else if (bytes != NULL)
    ls_socket_op_return_bytes (sa, op, bytes, TRUE);
  else if (ended)
    {
      available = sa->socket->input.len;
      if (available > 0)
        ls_socket_op_return_error (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED,
                                                        "Cannot read a message from “%s”: the "
                                                        "connection ended within a message (%"
                                                        G_GSIZE_FORMAT " bytes of it arrived)",
                                                        socket_async_display_name (sa), available));
      else
        ls_socket_op_return_bytes (sa, op, NULL, FALSE);  /* the end of the stream */
    }
}

void
ls_socket_async_read_try (SocketAsync *sa)
{
  LsSocketResult *op = sa->read_op;
  LsLocalSocket *socket = sa->socket;
  gboolean ended = sa->input_ended || socket->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  gsize available;
  GBytes *bytes;
  GError *error;

  /* As GIO, the cancellable is checked before anything is read: data that
   * arrived with (or after) the cancellation stays buffered. */
  if (G_UNLIKELY (ls_cancel_hook_is_cancelled (op->hook)))
    {
      ls_socket_op_return_error (sa, op, ls_async_cancelled_error ());
      return;
    }
  if (sa->closed)
    {
      ls_socket_op_return_error (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                                      "Cannot %s “%s”: the socket was closed",
                                                      op_verb (op), socket_async_display_name (sa)));
      return;
    }

  available = socket->input.len;
  /* Ended without the end of a stream (aborted, never connected, the
   * connection attempt failed): an error unless data is left. */
  if (socket->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED && !sa->input_ended && available == 0)
    {
      if (op->errors != sa->errors && ls_local_socket_get_error (socket) != LS_SOCKET_ERROR_UNKNOWN)
        error = ls_socket_async_recorded_error (sa, op_verb (op), "the socket is not connected");
      else
        error = not_connected_error (sa, op_verb (op));
      ls_socket_op_return_error (sa, op, error);
      return;
    }

  if (op->kind == OP_READ_MESSAGE)
    {
      read_message_try (sa, op, ended);
      return;
    }
  bytes = read_stream_take (sa, op, available, ended);
  if (bytes != NULL)
    ls_socket_op_return_bytes (sa, op, bytes, available > 0);
}

/* Writes and the end of a connection -------------------------------------- */

static void
writes_check (SocketAsync *sa)
{
  LsSocketResult *op;

  /* Everything queued is in the kernel also when a bytes-written emission
   * was skipped (a flush nested in a handler emits none). */
  while ((op = g_queue_peek_head (&sa->write_ops)) != NULL &&
         (op->target <= sa->written || sa->socket->output.len == 0))
    ls_socket_op_return_boolean (sa, op, TRUE);
}

static void
writes_end (SocketAsync *sa,
            GQueue      *writes)
{
  LsSocketResult *op;

  while ((op = g_queue_peek_head (writes)) != NULL)
    {
      if (op->target <= sa->written && op->errors == sa->errors)
        ls_socket_op_return_boolean (sa, op, TRUE);
      else if (op->errors != sa->errors)
        ls_socket_op_return_error (sa, op, ls_socket_async_recorded_error (sa, "write to",
                                                                           "the connection was aborted"));
      else
        ls_socket_op_return_error (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                                        "Cannot write to “%s”: the connection was "
                                                        "aborted before the data was written",
                                                        socket_async_display_name (sa)));
    }
}

static void
disconnects_end (SocketAsync *sa,
                 GQueue      *disconnects)
{
  LsSocketResult *op;

  while ((op = g_queue_peek_head (disconnects)) != NULL)
    {
      if (op->errors != sa->errors)
        ls_socket_op_return_error (sa, op, ls_socket_async_recorded_error (sa, "disconnect from",
                                                                           "the connection failed"));
      else if (op->target > sa->written)
        ls_socket_op_return_error (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                                        "Cannot disconnect from “%s”: the "
                                                        "connection was aborted before the data "
                                                        "was written",
                                                        socket_async_display_name (sa)));
      else
        ls_socket_op_return_boolean (sa, op, TRUE);
    }
}

/* The connection ended: every pending call of it completes; those started
 * meanwhile are left alone (they belong to what comes next). */
static void
connection_ended (SocketAsync *sa)
{
  GQueue writes, disconnects;

  queue_take (&writes, &sa->write_ops);
  queue_take (&disconnects, &sa->disconnect_ops);
  if (sa->connect_op != NULL)
    ls_socket_op_return_error (sa, sa->connect_op,
                               ls_socket_async_recorded_error (sa, "connect to",
                                                               "the connection attempt was given up"));
  writes_end (sa, &writes);
  disconnects_end (sa, &disconnects);
  if (sa->read_op != NULL)
    ls_socket_async_read_try (sa);
}

/* The connection was replaced by the next one without ending first:
 * connect_to_server () while CLOSING connects again at once, as in Qt,
 * dropping the closing connection's unsent output and unread input
 * without its closing signals (and a handler may connect again before
 * UNCONNECTED is announced). The calls pending on it complete as an
 * abort completes them: a write or disconnection whose data all reached
 * the kernel succeeds, the others fail, and so does a read (its data is
 * gone, as in Qt). Calls that handlers of the new connection's CONNECTING
 * state started belong to it, and wait. */
static GError *
replaced_error (SocketAsync *sa,
                const char  *verb,
                const char  *before)
{
  return g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                      "Cannot %s “%s”: the connection was replaced by a new connection %s",
                      verb, socket_async_display_name (sa), before);
}

static void
replaced_queue_end (SocketAsync *sa,
                    GQueue      *queue,
                    const char  *verb)
{
  guint life = sa->socket->life;
  GList *l = queue->head;

  /* Returning a call runs nothing of the application's (see deliver ()). */
  while (l != NULL)
    {
      LsSocketResult *op = l->data;

      l = l->next;
      if (op->life == life)
        continue;
      if (op->target <= sa->written)
        ls_socket_op_return_boolean (sa, op, TRUE);
      else
        ls_socket_op_return_error (sa, op, replaced_error (sa, verb, "before the data was written"));
    }
}

static void
connection_replaced (SocketAsync *sa)
{
  LsSocketResult *read = sa->read_op;

  replaced_queue_end (sa, &sa->write_ops, "write to");
  replaced_queue_end (sa, &sa->disconnect_ops, "disconnect from");
  if (read != NULL && read->life != sa->socket->life)
    ls_socket_op_return_error (sa, read, replaced_error (sa, op_verb (read),
                                                         "before the read completed"));
}

/* The socket's events (where it emits the signals of the same names) ------ */

static void
on_error_occurred (SocketAsync   *sa,
                   LsSocketError  code)
{
  sa->errors++;
  if (code != LS_SOCKET_ERROR_PEER_CLOSED)
    return;
  /* The peer is gone and all it sent is buffered: a read sees the end. */
  sa->input_ended = TRUE;
  if (sa->read_op != NULL)
    ls_socket_async_read_try (sa);
}

static void
on_state_changed (SocketAsync        *sa,
                  LsLocalSocketState  state)
{
  LsLocalSocketState previous = sa->last_state;

  sa->last_state = state;
  switch (state)
    {
    case LS_LOCAL_SOCKET_STATE_CONNECTING:
      if (previous != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
        connection_replaced (sa);
      sa->input_ended = FALSE;
      sa->closed = FALSE;
      update_name (sa);
      break;
    case LS_LOCAL_SOCKET_STATE_UNCONNECTED:
      /* A graceful end (ours or the peer's) ends the stream; an abort or a
       * failed attempt does not. */
      if (previous == LS_LOCAL_SOCKET_STATE_CLOSING)
        sa->input_ended = TRUE;
      connection_ended (sa);
      break;
    case LS_LOCAL_SOCKET_STATE_CONNECTED:
    case LS_LOCAL_SOCKET_STATE_CLOSING:
    default:
      break;
    }
}

static void
on_connected (SocketAsync *sa)
{
  update_name (sa);
  sa->input_ended = FALSE;
  sa->closed = FALSE;
  if (sa->connect_op != NULL)
    ls_socket_op_return_boolean (sa, sa->connect_op, TRUE);
}

static void
on_socket_event (LsLocalSocket *socket,
                 LsSocketEvent  event,
                 gint64         value,
                 gpointer       data)
{
  SocketAsync *sa = data;

  /* As signal handlers would be, gone with the disposal. Nothing here
   * runs a callback (see deliver ()). */
  if (G_UNLIKELY (sa->disposed))
    return;
  switch (event)
    {
    case LS_SOCKET_EVENT_READY_READ:
      if (sa->read_op != NULL)
        ls_socket_async_read_try (sa);
      break;
    case LS_SOCKET_EVENT_BYTES_WRITTEN:
      sa->written += value;
      if (sa->write_ops.length > 0)
        writes_check (sa);
      break;
    case LS_SOCKET_EVENT_STATE_CHANGED:
      on_state_changed (sa, (LsLocalSocketState) value);
      break;
    case LS_SOCKET_EVENT_ERROR_OCCURRED:
      on_error_occurred (sa, (LsSocketError) value);
      break;
    case LS_SOCKET_EVENT_CONNECTED:
      on_connected (sa);
      break;
    case LS_SOCKET_EVENT_ABOUT_TO_CLOSE:
    default:
      /* A failed attempt closes what an earlier connection left open, as
       * in Qt: its UNCONNECTED follows, and the socket was not closed by
       * the application. */
      if (socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
        break;
      sa->closed = TRUE;
      if (sa->read_op != NULL)
        ls_socket_async_read_try (sa);
      break;
    }
}

/* Disposed while calls are pending: only g_object_run_dispose () gets
 * here then (each pending call holds a reference). Dispose emits nothing,
 * so every call fails here, once, and the socket's events are ignored
 * from now on. */
static void
dispose_fail (SocketAsync    *sa,
              LsSocketResult *op)
{
  ls_socket_op_return_error (sa, op, g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                                                  "Cannot %s “%s”: the socket was disposed while "
                                                  "the call was pending",
                                                  op_verb (op), socket_async_display_name (sa)));
}

static void
on_disposed (gpointer  data,
             GObject  *where_the_object_was)
{
  SocketAsync *sa = data;
  LsSocketResult *op;

  sa->disposed = TRUE;
  if (sa->read_op != NULL)
    dispose_fail (sa, sa->read_op);
  if (sa->connect_op != NULL)
    dispose_fail (sa, sa->connect_op);
  while ((op = g_queue_peek_head (&sa->write_ops)) != NULL)
    dispose_fail (sa, op);
  while ((op = g_queue_peek_head (&sa->disconnect_ops)) != NULL)
    dispose_fail (sa, op);
}
