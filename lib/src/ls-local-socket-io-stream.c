/* ls-local-socket-io-stream.c: the socket as a GIOStream (ls_local_socket_get_io_stream ())
 * and the write-high-water the view's output waits on
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-io-stream-private.h"
#include "ls-async-private.h"
#include "ls-local-socket-input-stream-private.h"
#include "ls-local-socket-output-stream-private.h"

/* The view is made on the first call and kept in the socket's qdata, so a
 * socket that never asks for it carries nothing. It follows the socket
 * through the private event hook of its own slot (LS_SOCKET_HOOK_STREAM):
 * each event (data buffered, bytes written, a state change...) lets the
 * pending calls of both streams go on and wakes their pollable sources;
 * nothing polls. */
G_DEFINE_FINAL_TYPE (LsLocalSocketIOStream, ls_local_socket_io_stream, G_TYPE_IO_STREAM)

static GQuark
view_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("ls-local-socket-io-stream"));
  return (GQuark) quark;
}

static gboolean
in_owner_thread (LsLocalSocket *socket)
{
  return !socket->has_owner || pthread_equal (socket->owner_thread, pthread_self ());
}

LsLocalSocket *
ls_local_socket_io_stream_check (LsLocalSocketIOStream  *view,
                                 const char             *verb,
                                 GError                **error)
{
  LsLocalSocket *socket = view != NULL ? view->socket : NULL;

  if (socket == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot %s the stream of a local socket: the socket was finalized", verb);
      return NULL;
    }
  if (view->closing)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "Cannot %s “%s”: its stream was closed",
                   verb, ls_local_socket_display_name_internal (socket));
      return NULL;
    }
  /* The socket's state belongs to the thread that connected it, as for
   * ls_local_socket_write (). */
  if (!in_owner_thread (socket))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot %s “%s” from this thread: the socket belongs to the thread "
                   "that connected it", verb, ls_local_socket_display_name_internal (socket));
      return NULL;
    }
  return socket;
}

gboolean
ls_local_socket_io_stream_wait (LsLocalSocket  *socket,
                                GCancellable   *cancellable,
                                GError        **error)
{
  GPollFD cancel_fd;
  gboolean with_cancel = cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd);
  gboolean waited;

  waited = ls_local_socket_wait_step_internal (socket, with_cancel ? cancel_fd.fd : -1);
  if (with_cancel)
    g_cancellable_release_fd (cancellable);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  return waited;
}

GTask *
ls_local_socket_io_stream_task_new (gpointer             stream,
                                    int                  io_priority,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data,
                                    gpointer             source_tag)
{
  GTask *task = ls_async_task_new (stream, cancellable, callback, user_data, source_tag);

  g_task_set_priority (task, io_priority);
  return task;
}

void
ls_local_socket_io_stream_close_half_async (gpointer             stream,
                                            int                  io_priority,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data,
                                            gpointer             source_tag)
{
  GTask *task = ls_local_socket_io_stream_task_new (stream, io_priority, cancellable, callback,
                                                    user_data, source_tag);

  ls_local_socket_io_stream_return (task, 1, NULL);
}

/* The context the socket's events come from; NULL when no main loop
 * serves it. */
static GMainContext *
socket_context (LsLocalSocket *socket)
{
  return socket->core != NULL ? ls_event_core_get_context (socket->core) : NULL;
}

gboolean
ls_local_socket_io_stream_is_remote (LsLocalSocketIOStream *view)
{
  return view != NULL && view->socket != NULL && !in_owner_thread (view->socket);
}

/* A call carried to the socket's thread. A blocking one (@task NULL)
 * makes its task there and waits on @cond for its result. */
typedef struct
{
  LsLocalSocketIOStream *view;
  LsStreamStartFunc      start;
  gpointer               stream;
  GTask                 *task;
  void                  *buffer;
  gsize                  count;

  GCancellable          *cancellable;
  GMutex                 lock;
  GCond                  cond;
  gboolean               done;
  gssize                 result;
  GError                *error;
} RemoteCall;

static void
on_remote_done (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  RemoteCall *call = data;
  GError *error = NULL;
  gssize n = ls_local_socket_io_stream_finish (source, result, &error);

  g_mutex_lock (&call->lock);
  call->result = n;
  call->error = error;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
}

static gboolean
remote_start_cb (gpointer data)
{
  RemoteCall *call = data;
  GMainContext *context = call->view->context;
  GTask *task = call->task;

  /* A blocking call's task completes here, in the socket's context. */
  if (context != NULL)
    g_main_context_push_thread_default (context);
  if (task == NULL)
    task = ls_local_socket_io_stream_task_new (call->stream, G_PRIORITY_DEFAULT, call->cancellable,
                                               on_remote_done, call, remote_start_cb);
  call->start (call->stream, task, call->buffer, call->count);
  if (context != NULL)
    g_main_context_pop_thread_default (context);
  return G_SOURCE_REMOVE;
}

/* Runs @func from @context's main loop. Not g_main_context_invoke (): a
 * thread that finds the context free would run @func itself. */
static void
run_in_socket_thread (GMainContext   *context,
                      GSourceFunc     func,
                      gpointer        data,
                      GDestroyNotify  notify)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[ls] local socket stream call from another thread");
  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, context);
  g_source_unref (source);
}

/* Hands @call to the socket's main loop; FALSE with @error set when no
 * main loop serves the socket. */
static gboolean
remote_dispatch (RemoteCall     *call,
                 GDestroyNotify  free_call,
                 GError        **error)
{
  LsLocalSocket *socket = call->view->socket;
  GMainContext *context = call->view->context;

  if (context == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Cannot use the stream of “%s” from this thread: no main loop serves the "
                   "thread that connected the socket",
                   ls_local_socket_display_name_internal (socket));
      return FALSE;
    }
  run_in_socket_thread (context, remote_start_cb, call, free_call);
  return TRUE;
}

/* Where calls from other threads go: the socket's context, or the one it
 * had last. Only the socket's thread updates it (the view is made there,
 * and the hook runs there). */
static GMainContext *
view_context (LsLocalSocketIOStream *view)
{
  GMainContext *context = socket_context (view->socket);

  if (context != NULL && context != view->context)
    {
      g_clear_pointer (&view->context, g_main_context_unref);
      view->context = g_main_context_ref (context);
    }
  return view->context;
}

static void
remote_async_free (gpointer data)
{
  RemoteCall *call = data;

  g_object_unref (call->view);
  g_free (call);
}

void
ls_local_socket_io_stream_start_remote (LsLocalSocketIOStream *view,
                                        LsStreamStartFunc      start,
                                        gpointer               stream,
                                        GTask                 *task,
                                        void                  *buffer,
                                        gsize                  count)
{
  RemoteCall *call = g_new0 (RemoteCall, 1);
  GError *error = NULL;

  call->view = g_object_ref (view);
  call->start = start;
  call->stream = stream;  /* the task holds it */
  call->task = task;
  call->buffer = buffer;
  call->count = count;
  if (!remote_dispatch (call, remote_async_free, &error))
    {
      remote_async_free (call);
      ls_local_socket_io_stream_return (task, -1, error);
    }
}

gssize
ls_local_socket_io_stream_run_remote (LsLocalSocketIOStream  *view,
                                      LsStreamStartFunc       start,
                                      gpointer                stream,
                                      GCancellable           *cancellable,
                                      void                   *buffer,
                                      gsize                   count,
                                      GError                **error)
{
  RemoteCall call = {
    .view = view, .start = start, .stream = stream, .buffer = buffer, .count = count,
    .cancellable = cancellable,
  };

  /* The caller waits, holding everything the call needs. */
  g_object_ref (view);
  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  if (remote_dispatch (&call, NULL, error))
    {
      g_mutex_lock (&call.lock);
      while (!call.done)
        g_cond_wait (&call.cond, &call.lock);
      g_mutex_unlock (&call.lock);
      if (call.error != NULL)
        g_propagate_error (error, call.error);
    }
  else
    call.result = -1;
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
  g_object_unref (view);
  return call.result;
}

/* The last reference to a socket goes in its own thread, whichever
 * thread a task ends in. */
static gboolean
unref_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
release_socket (gpointer data)
{
  LsLocalSocket *socket = data;
  LsLocalSocketIOStream *view = g_object_get_qdata (G_OBJECT (socket), view_quark ());
  GMainContext *context = view != NULL ? view->context : socket_context (socket);

  if (in_owner_thread (socket) || context == NULL)
    g_object_unref (socket);
  else
    run_in_socket_thread (context, unref_cb, socket, NULL);
}

GSource *
ls_local_socket_io_stream_pend (GTask          *task,
                                LsLocalSocket  *socket,
                                gboolean      (*on_cancelled) (GCancellable *cancellable,
                                                               gpointer      data),
                                gpointer        data)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  GMainContext *context = socket_context (socket);
  GSource *source;

  /* The socket lives until the callback has run and the task is gone. */
  g_task_set_task_data (task, g_object_ref (socket), release_socket);
  if (cancellable == NULL || on_cancelled == NULL)
    return NULL;
  /* A cancellation may come from any thread; the source brings it to the
   * socket's context, where the call's state lives. */
  source = g_cancellable_source_new (cancellable);
  g_source_set_static_name (source, "[ls] local socket stream cancellation");
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) on_cancelled, data, NULL);
  g_source_attach (source, context != NULL ? context : g_task_get_context (task));
  return source;
}

void
ls_local_socket_io_stream_unpend (GSource **cancel_source)
{
  GSource *source = g_steal_pointer (cancel_source);

  if (source == NULL)
    return;
  g_source_destroy (source);
  g_source_unref (source);
}

void
ls_local_socket_io_stream_return (GTask  *task,
                                  gssize  n,
                                  GError *error)
{
  if (n < 0)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, n);
  g_object_unref (task);
}

void
ls_local_socket_io_stream_return_cancelled (GTask *task)
{
  ls_local_socket_io_stream_return (task, -1, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                                   "Operation was cancelled"));
}

gssize
ls_local_socket_io_stream_finish (gpointer       stream,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), -1);

  return g_task_propagate_int (G_TASK (result), error);
}

/* Holding the socket's reading ------------------------------------------- */

/* While the view holds the socket's reading (socket->view_polls), this
 * source polls the socket's descriptor in the main loop's own poll (),
 * as GIO's socket streams do, instead of the event core's epoll set: a
 * wake-up then costs no epoll_wait () behind the poll (), and a read or a
 * write that has to wait no epoll_ctl (). It asks for input while a read
 * of the view waits for the kernel, and for output while the socket has
 * bytes to send; a hang-up or an error is reported whatever it asks. The
 * events are set in prepare (), before each poll: changing them anywhere
 * else would wake the context (two system calls).
 *
 * The hold ends, and the engine watches the socket again, when the view
 * has no call pending for two iterations (an echo reads, then writes, and
 * reads again from the write's callback), when no read has been pending
 * for NO_READ_LIMIT_US (a write waiting on a peer that itself waits for
 * us to read: with the engine reading ahead, it does not deadlock), when
 * a pending read sits through WAIT_LIMIT iterations of a busy loop with
 * nothing to read (another socket may use the slot: see
 * ls_event_core_claim_direct_poll ()), on a hang-up, and whenever the
 * connection changes. */
#define NO_READ_LIMIT_US (100 * G_TIME_SPAN_MILLISECOND)
#define WAIT_LIMIT       64

typedef struct
{
  GSource                source;
  GPollFD                pfd;
  LsLocalSocketIOStream *view;
  LsEventCore           *core;           /* the slot was claimed from it */
  guint                  calls_seen;
  guint                  quiet;          /* iterations without a call */
  guint                  waits;          /* iterations a read waited */
  gint64                 no_read_since;  /* 0 while a read is pending */
  gboolean               release;        /* prepare () found the hold over */
} HoldSource;

static gboolean
hold_source_prepare (GSource *source,
                     gint    *timeout)
{
  HoldSource *hold = (HoldSource *) source;
  LsLocalSocketIOStream *view = hold->view;
  LsLocalSocket *socket = view->socket;
  gboolean reading;
  gint64 now;

  *timeout = -1;
  hold->pfd.events = 0;
  if (socket == NULL || !socket->view_polls || socket->fd != hold->pfd.fd)
    return hold->release = TRUE;
  if (socket->output.len > 0 && !socket->flush_deferred)
    hold->pfd.events |= G_IO_OUT;

  reading = ls_local_socket_input_stream_polls (view->input, socket);
  if (reading)
    {
      hold->pfd.events |= G_IO_IN;
      hold->quiet = 0;
      hold->no_read_since = 0;
      return hold->release = ++hold->waits > WAIT_LIMIT;
    }
  hold->waits = 0;
  /* Another call of the input (a skip, or a read with a ready-read
   * handler now connected) is the engine's to serve. */
  if (ls_local_socket_input_stream_waits (view->input))
    return hold->release = TRUE;
  now = g_source_get_time (source);
  if (hold->no_read_since == 0)
    hold->no_read_since = now;
  if (ls_local_socket_output_stream_waits (view->output))
    {
      hold->quiet = 0;
      if (now - hold->no_read_since >= NO_READ_LIMIT_US)
        return hold->release = TRUE;
      *timeout = (hold->no_read_since + NO_READ_LIMIT_US - now + 999) / 1000;
      return FALSE;
    }
  if (view->calls != hold->calls_seen)
    {
      hold->calls_seen = view->calls;
      hold->quiet = 0;
    }
  if (++hold->quiet >= 2)
    return hold->release = TRUE;
  /* Come back at once: nothing of the view may wake the loop. */
  *timeout = 0;
  return FALSE;
}

static gboolean
hold_source_check (GSource *source)
{
  HoldSource *hold = (HoldSource *) source;

  if (hold->pfd.revents & G_IO_IN)
    hold->waits = 0;
  return hold->release || hold->pfd.revents != 0;
}

static gboolean
hold_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  HoldSource *hold = (HoldSource *) source;
  LsLocalSocketIOStream *view = hold->view;
  LsLocalSocket *socket = view->socket;
  gushort revents = hold->pfd.revents;

  if (hold->release || socket == NULL)
    {
      ls_local_socket_io_stream_release_reading (view);
      return G_SOURCE_REMOVE;
    }
  /* The callbacks run from here may do anything, to the view too. */
  g_object_ref (view);
  ls_local_socket_hold_internal (socket);
  if ((revents & G_IO_OUT) && socket->fd >= 0 && socket->output.len > 0)
    ls_local_socket_flush_output_internal (socket);
  if ((revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && socket->view_polls)
    ls_local_socket_input_stream_on_polled (view->input, socket);
  /* Whatever else the peer's end brings is the engine's to handle. */
  if (revents & (G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    ls_local_socket_io_stream_release_reading (view);
  ls_local_socket_unhold_internal (socket);
  g_object_unref (view);
  return G_SOURCE_CONTINUE;
}

static void
hold_source_finalize (GSource *source)
{
  HoldSource *hold = (HoldSource *) source;

  ls_event_core_return_direct_poll (hold->core);
  ls_event_core_unref (hold->core);
}

static GSourceFuncs hold_source_funcs = {
  .prepare = hold_source_prepare,
  .check = hold_source_check,
  .dispatch = hold_source_dispatch,
  .finalize = hold_source_finalize,
};

gboolean
ls_local_socket_io_stream_hold_reading (LsLocalSocketIOStream *view,
                                        LsLocalSocket         *socket)
{
  HoldSource *hold;

  if (view->hold != NULL)
    return TRUE;
  /* A short exchange (a request and its answer) is cheaper through the
   * event core than setting the source up and taking it down again; and
   * without a main loop nothing would poll for the view. */
  if (view->reads_done < 2 || socket->core == NULL || socket->watch == NULL || socket->fd < 0 ||
      !ls_event_core_claim_direct_poll (socket->core))
    return FALSE;
  view->hold = g_source_new (&hold_source_funcs, sizeof (HoldSource));
  hold = (HoldSource *) view->hold;
  hold->view = view;
  hold->core = ls_event_core_ref (socket->core);
  hold->calls_seen = view->calls;
  hold->pfd.fd = socket->fd;
  g_source_add_poll (view->hold, &hold->pfd);
  g_source_set_priority (view->hold, G_PRIORITY_DEFAULT);
  g_source_set_static_name (view->hold, "[ls] local socket stream");
  g_source_attach (view->hold, ls_event_core_get_context (socket->core));
  socket->view_polls = TRUE;
  ls_local_socket_update_watch_internal (socket);
  return TRUE;
}

void
ls_local_socket_io_stream_release_reading (LsLocalSocketIOStream *view)
{
  LsLocalSocket *socket;

  if (view == NULL || view->hold == NULL)
    return;
  socket = view->socket;
  if (socket != NULL && !in_owner_thread (socket))
    return;
  /* Destroyed also from its own callbacks. */
  g_source_destroy (view->hold);
  g_clear_pointer (&view->hold, g_source_unref);
  if (socket != NULL && socket->view_polls)
    {
      socket->view_polls = FALSE;
      if (socket->fd >= 0)
        ls_local_socket_update_watch_internal (socket);
    }
}

/* Both streams look at the socket again; their callbacks may do anything,
 * the view and its streams live through it. */
static void
update_streams (LsLocalSocketIOStream *self)
{
  /* Nearly always, at every read and write: nothing waits. */
  if (!ls_local_socket_input_stream_waits (self->input) &&
      !ls_local_socket_output_stream_waits (self->output))
    return;
  g_object_ref (self);
  ls_local_socket_input_stream_update (self->input);
  ls_local_socket_output_stream_update (self->output);
  g_object_unref (self);
}

static void
on_socket_event (LsLocalSocket *socket,
                 LsSocketEvent  event,
                 gint64         value,
                 gpointer       data)
{
  LsLocalSocketIOStream *self = data;

  if (event == LS_SOCKET_EVENT_BYTES_WRITTEN)
    self->written += value;
  else if (event == LS_SOCKET_EVENT_CONNECTED || event == LS_SOCKET_EVENT_STATE_CHANGED)
    view_context (self);
  /* The connection changes: the engine sees to its input again. */
  if (event != LS_SOCKET_EVENT_BYTES_WRITTEN && event != LS_SOCKET_EVENT_READY_READ)
    ls_local_socket_io_stream_release_reading (self);
  update_streams (self);
}

/* Closing ---------------------------------------------------------------- */

/* After the output's flush: the streams are done, the calls still pending
 * fail, and the socket disconnects gracefully (whatever is still queued
 * leaves first), unless the connection the close began on (@life) was
 * replaced meanwhile (connect_to_server () while closing): the new one is
 * not the view's to end. */
static void
finish_close (LsLocalSocketIOStream *self,
              guint                  life)
{
  LsLocalSocket *socket = self->socket;

  if (socket == NULL || self->closing)
    return;
  ls_local_socket_hold_internal (socket);
  self->closing = TRUE;
  ls_local_socket_io_stream_release_reading (self);
  update_streams (self);
  if (socket->life == life)
    ls_local_socket_disconnect_from_server (socket);
  ls_local_socket_unhold_internal (socket);
}

/* The close in the socket's thread: the output's flush and close, then
 * the input's, then finish_close (). */
typedef struct
{
  GTask  *task;
  GError *flush_error;
  guint   life;
} Close;

static void
on_input_closed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Close *close = user_data;
  GTask *task = close->task;

  g_input_stream_close_finish (G_INPUT_STREAM (source), result, NULL);
  finish_close (g_task_get_source_object (task), close->life);
  ls_local_socket_io_stream_return (task, close->flush_error != NULL ? -1 : 1, close->flush_error);
  g_free (close);
}

static void
on_output_closed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Close *close = user_data;
  LsLocalSocketIOStream *self = g_task_get_source_object (close->task);

  /* A stream with a call pending (G_IO_ERROR_PENDING) stays open, but the
   * call fails as the view closes; as with GSocketConnection, the close
   * goes on. The flush's own failure is the close's. */
  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &close->flush_error) &&
      g_error_matches (close->flush_error, G_IO_ERROR, G_IO_ERROR_PENDING))
    g_clear_error (&close->flush_error);
  g_input_stream_close_async (G_INPUT_STREAM (self->input), g_task_get_priority (close->task), NULL,
                              on_input_closed, close);
}

static void
close_start (gpointer  stream,
             GTask    *task,
             void     *buffer,
             gsize     count)
{
  LsLocalSocketIOStream *self = stream;
  GError *error = NULL;
  LsLocalSocket *socket;
  Close *close;

  if (self->socket == NULL)
    {
      ls_local_socket_io_stream_return (task, 1, NULL);
      return;
    }
  socket = ls_local_socket_io_stream_check (self, "close", &error);
  if (socket == NULL)
    {
      ls_local_socket_io_stream_return (task, -1, error);
      return;
    }
  ls_local_socket_io_stream_pend (task, socket, NULL, NULL);
  close = g_new0 (Close, 1);
  close->task = task;
  close->life = socket->life;
  g_output_stream_close_async (G_OUTPUT_STREAM (self->output), g_task_get_priority (task),
                               g_task_get_cancellable (task), on_output_closed, close);
}

static gboolean
ls_local_socket_io_stream_close (GIOStream     *stream,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  LsLocalSocketIOStream *self = LS_LOCAL_SOCKET_IO_STREAM (stream);
  GError *local_error = NULL;
  guint life;

  if (ls_local_socket_io_stream_is_remote (self))
    return ls_local_socket_io_stream_run_remote (self, close_start, self, cancellable, NULL, 0,
                                                 error) > 0;
  if (self->socket != NULL && ls_local_socket_io_stream_check (self, "close", error) == NULL)
    return FALSE;
  /* As close_start () does, blocking. */
  life = self->socket != NULL ? self->socket->life : 0;
  g_output_stream_close (G_OUTPUT_STREAM (self->output), cancellable, &local_error);
  g_input_stream_close (G_INPUT_STREAM (self->input), NULL, NULL);
  finish_close (self, life);
  if (local_error != NULL && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  g_clear_error (&local_error);
  return TRUE;
}

/* The flush and both closes run from the socket's main loop, without a
 * thread (GIO's default would close in one). */
static void
ls_local_socket_io_stream_close_async (GIOStream           *stream,
                                       int                  io_priority,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  LsLocalSocketIOStream *self = LS_LOCAL_SOCKET_IO_STREAM (stream);
  GTask *task = ls_local_socket_io_stream_task_new (stream, io_priority, cancellable, callback,
                                                    user_data, ls_local_socket_io_stream_close_async);

  if (ls_local_socket_io_stream_is_remote (self))
    ls_local_socket_io_stream_start_remote (self, close_start, self, task, NULL, 0);
  else
    close_start (self, task, NULL, 0);
}

static gboolean
ls_local_socket_io_stream_close_finish (GIOStream     *stream,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  return ls_local_socket_io_stream_finish (stream, result, error) > 0;
}

/* ------------------------------------------------------------------------ */

static GInputStream *
ls_local_socket_io_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (LS_LOCAL_SOCKET_IO_STREAM (stream)->input);
}

static GOutputStream *
ls_local_socket_io_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (LS_LOCAL_SOCKET_IO_STREAM (stream)->output);
}

static void
ls_local_socket_io_stream_finalize (GObject *object)
{
  LsLocalSocketIOStream *self = LS_LOCAL_SOCKET_IO_STREAM (object);

  /* Whoever still holds a stream finds it failing. */
  ls_local_socket_input_stream_orphan (self->input);
  ls_local_socket_output_stream_orphan (self->output);
  g_object_unref (self->input);
  g_object_unref (self->output);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (ls_local_socket_io_stream_parent_class)->finalize (object);
}

static void
ls_local_socket_io_stream_class_init (LsLocalSocketIOStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = ls_local_socket_io_stream_finalize;
  stream_class->get_input_stream = ls_local_socket_io_stream_get_input_stream;
  stream_class->get_output_stream = ls_local_socket_io_stream_get_output_stream;
  stream_class->close_fn = ls_local_socket_io_stream_close;
  stream_class->close_async = ls_local_socket_io_stream_close_async;
  stream_class->close_finish = ls_local_socket_io_stream_close_finish;
}

static void
ls_local_socket_io_stream_init (LsLocalSocketIOStream *self)
{
  self->write_high_water = LS_LOCAL_SOCKET_DEFAULT_WRITE_HIGH_WATER;
  self->input = ls_local_socket_input_stream_new (self);
  self->output = ls_local_socket_output_stream_new (self);
}

/* The socket is finalized (or the view, closed, replaced): the view lets
 * go of it, and closes. */
static void
view_release (gpointer data)
{
  LsLocalSocketIOStream *self = data;

  /* The socket is finalizing (a replaced view let go of the hold
   * before): its view_polls goes with it. */
  self->socket = NULL;
  ls_local_socket_io_stream_release_reading (self);
  if (!g_io_stream_is_closed (G_IO_STREAM (self)))
    g_io_stream_close (G_IO_STREAM (self), NULL, NULL);
  update_streams (self);
  g_object_unref (self);
}

static LsLocalSocketIOStream *
get_view (LsLocalSocket *socket)
{
  return g_object_get_qdata (G_OBJECT (socket), view_quark ());
}

/* The view of @socket, made if there is none or it was closed. */
static LsLocalSocketIOStream *
ensure_view (LsLocalSocket *socket)
{
  LsLocalSocketIOStream *old = get_view (socket);
  LsLocalSocketIOStream *self;

  if (old != NULL && !g_io_stream_is_closed (G_IO_STREAM (old)))
    return old;
  ls_local_socket_io_stream_release_reading (old);
  self = g_object_new (LS_TYPE_LOCAL_SOCKET_IO_STREAM, NULL);
  self->socket = socket;
  view_context (self);
  if (old != NULL)
    self->write_high_water = old->write_high_water;
  /* Replacing the qdata releases the old view. */
  g_object_set_qdata_full (G_OBJECT (socket), view_quark (), self, view_release);
  ls_local_socket_set_event_hook (socket, LS_SOCKET_HOOK_STREAM, on_socket_event, self);
  ls_local_socket_set_direct_read_internal (socket, ls_local_socket_input_stream_on_readable,
                                            self->input);
  return self;
}

/**
 * ls_local_socket_get_io_stream:
 * @self: a socket
 *
 * Gets a view of the socket as a [class@Gio.IOStream], for GIO's stream
 * tools: [class@Gio.DataInputStream], [class@Gio.ConverterInputStream],
 * [method@Gio.OutputStream.splice], JSON-GLib's
 * `json_parser_load_from_stream_async()`, and so on. The view works
 * through the socket's own buffers: what its input stream reads is taken
 * from the same bytes as [method@Ls.LocalSocket.read] and
 * [method@Ls.LocalSocket.read_message] (and [method@Ls.LocalSocket.take_fds]
 * still hands out the descriptors of what was read), and what its output
 * stream writes is queued behind what [method@Ls.LocalSocket.write] queued.
 * [signal@Ls.LocalSocket::ready-read] and
 * [signal@Ls.LocalSocket::bytes-written] go on being emitted.
 *
 * With nothing buffered, a read of the view receives straight from the
 * kernel into the caller's buffer, as GIO's socket streams do, unless a
 * ready-read handler is connected (then every byte is buffered and
 * announced first); and while the application keeps reading through the
 * view the socket does not read ahead. See the Streams page of the
 * documentation.
 *
 * Both streams are pollable ([iface@Gio.PollableInputStream],
 * [iface@Gio.PollableOutputStream]). The input is readable while bytes are
 * buffered or once no more can come; a read returns 0 at the end of the
 * stream, which is also what a socket that is not connected reads. The
 * output is writable while [method@Ls.LocalSocket.get_bytes_to_write] is
 * below [property@Ls.LocalSocket:write-high-water]; a write takes at most
 * what fits below it, and fails with %G_IO_ERROR_NOT_CONNECTED when the
 * socket is not connected. A flush returns once every queued byte is in
 * the kernel.
 *
 * Every asynchronous call of the view and its streams (read, skip, write,
 * flush, splice, the closes) completes in the caller's thread-default
 * main context without starting a thread (a GIO wrapper around the
 * streams, or a file stream spliced in, may still use threads for its own
 * side). The blocking calls wait in the socket's thread, as
 * [method@Ls.LocalSocket.wait_for_ready_read] does, and give up with
 * %G_IO_ERROR_CANCELLED, consuming nothing, when their cancellable is
 * cancelled.
 *
 * The socket belongs to the thread that connected it. A blocking or
 * asynchronous call made in another thread (a GIO wrapper's worker thread,
 * JSON-GLib's loader) is carried out by that thread's main loop, which
 * must be running: the blocking call waits for it, the asynchronous one
 * completes in the caller's context. The pollable calls
 * ([method@Gio.PollableInputStream.read_nonblocking] and the like) fail
 * there with %G_IO_ERROR_FAILED, and their sources fire at once.
 *
 * Closing the view ([method@Gio.IOStream.close]) flushes and disconnects
 * gracefully ([method@Ls.LocalSocket.disconnect_from_server]): data still
 * queued is delivered first. A call still pending on one of its streams
 * then fails with %G_IO_ERROR_CLOSED. Closing only one of the streams
 * leaves the socket connected.
 *
 * The view is made on the first call and belongs to the socket: it is
 * the same one for the socket's life, across reconnections, until it is
 * closed; a call after that makes a new one. Keep the socket while you
 * use the view: a pending call keeps the socket alive until its callback
 * has run, but once the socket is finalized the view is closed and its
 * streams fail with %G_IO_ERROR_CLOSED.
 *
 * Returns: (transfer none): the socket's [class@Gio.IOStream]
 *
 * Since: 1.2
 */
GIOStream *
ls_local_socket_get_io_stream (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return G_IO_STREAM (ensure_view (self));
}

/**
 * ls_local_socket_get_write_high_water: (get-property write-high-water)
 * @self: a socket
 *
 * Gets how many queued bytes make the output stream of
 * [method@Ls.LocalSocket.get_io_stream] wait.
 *
 * Returns: the mark in bytes; 0 means no limit
 *
 * Since: 1.2
 */
guint
ls_local_socket_get_write_high_water (LsLocalSocket *self)
{
  LsLocalSocketIOStream *view;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), 0);

  view = get_view (self);
  return view != NULL ? view->write_high_water : LS_LOCAL_SOCKET_DEFAULT_WRITE_HIGH_WATER;
}

/**
 * ls_local_socket_set_write_high_water: (set-property write-high-water)
 * @self: a socket
 * @bytes: the mark in bytes; 0 for no limit
 *
 * Sets how many queued bytes make the output stream of
 * [method@Ls.LocalSocket.get_io_stream] wait; see
 * [property@Ls.LocalSocket:write-high-water].
 *
 * Since: 1.2
 */
void
ls_local_socket_set_write_high_water (LsLocalSocket *self,
                                      guint          bytes)
{
  LsLocalSocketIOStream *view;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (ls_local_socket_get_write_high_water (self) == bytes)
    return;
  /* Only the view uses the mark, so it keeps it. */
  view = ensure_view (self);
  view->write_high_water = bytes;
  /* A higher mark may let a waiting write go on. */
  update_streams (view);
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_WRITE_HIGH_WATER);
}
