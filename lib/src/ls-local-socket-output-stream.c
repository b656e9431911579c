/* ls-local-socket-output-stream.c: the output half of the socket's GIOStream view
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-output-stream-private.h"
#include "ls-stream-source-private.h"

/* Writes queue on the socket's own output, as ls_local_socket_write ()
 * does, so that data written either way leaves in the order written. The
 * stream is writable while the queue holds less than write-high-water
 * bytes: that is what keeps a splice of a big file into a slow reader from
 * queueing all of it. A write takes at most what fits below the mark (a
 * short write, as GIO allows), so the queue never grows beyond it through
 * the stream. The socket sends on its own (its event core, or the
 * blocking waits); write_async, flush_async and close_async are
 * implemented here (GIO's defaults would run the blocking calls in a
 * thread). */
struct _LsLocalSocketOutputStream
{
  GOutputStream           parent_instance;

  LsLocalSocketIOStream  *view;            /* NULL once the view is gone */

  /* The pending write or flush (GIO allows one call at a time). */
  GTask                  *task;
  const void             *buffer;          /* NULL: a flush */
  gsize                   count;
  guint64                 flush_target;    /* view->written to reach */
  GSource                *cancel_source;

  GSList                 *sources;         /* the pollable sources made */
};

static void ls_local_socket_output_stream_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LsLocalSocketOutputStream, ls_local_socket_output_stream,
                               G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      ls_local_socket_output_stream_pollable_init))

static gboolean
is_connected (LsLocalSocket *socket)
{
  return socket->state == LS_LOCAL_SOCKET_STATE_CONNECTED && socket->fd >= 0;
}

/* How many of @count bytes fit below the mark now: 0 when none do (or the
 * socket is still connecting), -1 with @error set when the socket cannot
 * write. */
static gssize
what_fits (LsLocalSocketIOStream  *view,
           LsLocalSocket          *socket,
           gsize                   count,
           GError                **error)
{
  guint high_water = view->write_high_water;

  if (socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    return 0;
  if (!is_connected (socket))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "Cannot write to “%s”: the socket is not connected",
                   ls_local_socket_display_name_internal (socket));
      return -1;
    }
  if (high_water == 0)
    return count;
  if (socket->output.len >= high_water)
    return 0;
  return MIN (count, high_water - socket->output.len);
}

/* A write made by the application leaves at once, as GIO's streams do,
 * instead of after the current dispatch (write ()'s way): outside the
 * socket's dispatch, deferring would cost the context a wake-up, two
 * system calls, per write. When nothing is queued before them, the bytes
 * are sent from @buffer itself, and only what the kernel refuses is
 * copied. bytes-written is emitted here, as by ls_local_socket_flush ();
 * callers have settled their own state first. */
static void
send_from (LsLocalSocket *socket,
           const void    *buffer,
           gsize          n)
{
  GBytes *borrowed = NULL;

  if (socket->output.head == NULL)
    {
      borrowed = g_bytes_new_static (buffer, n);
      /* The queue's reference, and ours across the flush. */
      ls_output_queue_push (&socket->output, g_bytes_ref (borrowed), n);
    }
  else
    ls_output_queue_push (&socket->output, g_bytes_new (buffer, n), n);
  ls_local_socket_hold_internal (socket);
  ls_local_socket_flush_output_internal (socket);
  if (borrowed != NULL)
    {
      ls_output_queue_settle_borrowed (&socket->output, borrowed);
      g_bytes_unref (borrowed);
    }
  ls_local_socket_unhold_internal (socket);
}

typedef enum
{
  FLUSH_WAITING,
  FLUSH_DONE,
  FLUSH_FAILED,
} FlushState;

/* Where a flush that must see view->written reach @target stands. */
static FlushState
flush_state (LsLocalSocketIOStream  *view,
             LsLocalSocket          *socket,
             guint64                 target,
             GError                **error)
{
  /* An empty queue on a live connection has handed everything over, even
   * if the socket has not told the view yet (a bytes-written handler
   * running before it). */
  if (view->written >= target || (socket->fd >= 0 && socket->output.len == 0))
    return FLUSH_DONE;
  if (socket->fd >= 0)
    return FLUSH_WAITING;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
               "Cannot flush the stream of “%s”: the connection ended before %" G_GUINT64_FORMAT
               " queued bytes were written",
               ls_local_socket_display_name_internal (socket), target - view->written);
  return FLUSH_FAILED;
}

static void pending_start (gpointer stream, GTask *task, void *buffer, gsize count);

static gssize
ls_local_socket_output_stream_write (GOutputStream  *stream,
                                     const void     *buffer,
                                     gsize           count,
                                     GCancellable   *cancellable,
                                     GError        **error)
{
  LsLocalSocketOutputStream *self = LS_LOCAL_SOCKET_OUTPUT_STREAM (stream);
  LsLocalSocket *socket;
  GError *local_error = NULL;
  gssize n = -1;

  /* From another thread (a GIO wrapper's worker), the socket's thread
   * writes. */
  if (ls_local_socket_io_stream_is_remote (self->view))
    return ls_local_socket_io_stream_run_remote (self->view, pending_start, self, cancellable,
                                                 (void *) buffer, count, error);
  socket = ls_local_socket_io_stream_check (self->view, "write to", error);
  if (socket == NULL || g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  ls_local_socket_hold_internal (socket);
  /* Waits until the queue drains below the mark. */
  while ((n = what_fits (self->view, socket, count, &local_error)) == 0)
    {
      if (!ls_local_socket_io_stream_wait (socket, cancellable, &local_error))
        {
          if (local_error == NULL)
            local_error = g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                       "Cannot write to “%s”: the connection is ending",
                                       ls_local_socket_display_name_internal (socket));
          break;
        }
      /* A handler run by the wait may have closed the view. */
      if (ls_local_socket_io_stream_check (self->view, "write to", &local_error) == NULL)
        break;
    }
  if (n > 0)
    send_from (socket, buffer, n);
  ls_local_socket_unhold_internal (socket);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return -1;
    }
  return n;
}

/* Returns once every byte queued so far (by the stream or by
 * ls_local_socket_write ()) is in the kernel. */
static gboolean
ls_local_socket_output_stream_flush (GOutputStream  *stream,
                                     GCancellable   *cancellable,
                                     GError        **error)
{
  LsLocalSocketOutputStream *self = LS_LOCAL_SOCKET_OUTPUT_STREAM (stream);
  LsLocalSocketIOStream *view = self->view;
  LsLocalSocket *socket;
  GError *local_error = NULL;
  FlushState state;
  guint64 target;

  /* The view of a finalized socket has nothing left to flush: GIO
   * flushes a stream that is disposed open. */
  if (view == NULL || view->socket == NULL)
    return TRUE;
  if (ls_local_socket_io_stream_is_remote (view))
    return ls_local_socket_io_stream_run_remote (view, pending_start, self, cancellable, NULL, 0,
                                                 error) > 0;
  socket = ls_local_socket_io_stream_check (view, "flush", error);
  if (socket == NULL || g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  ls_local_socket_hold_internal (socket);
  target = view->written + socket->output.len;
  while ((state = flush_state (view, socket, target, &local_error)) == FLUSH_WAITING)
    if (!ls_local_socket_io_stream_wait (socket, cancellable, &local_error))
      {
        if (local_error == NULL && flush_state (view, socket, target, &local_error) == FLUSH_WAITING)
          local_error = g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                     "Cannot flush the stream of “%s”: the connection is ending",
                                     ls_local_socket_display_name_internal (socket));
        break;
      }
  ls_local_socket_unhold_internal (socket);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ls_local_socket_output_stream_close (GOutputStream  *stream,
                                     GCancellable   *cancellable,
                                     GError        **error)
{
  /* GIO flushed first; only the stream closes: the socket stays
   * connected. */
  return TRUE;
}

/* Asynchronous writes and flushes ------------------------------------------ */

/* Completes the pending call if it can go on now; returns whether it did.
 * A write that goes on queues its bytes, unless @to_send is given: then
 * the caller sends (send_from ()) the *@to_send bytes once the task is
 * done. */
static gboolean
pending_try (LsLocalSocketOutputStream *self,
             gsize                     *to_send)
{
  GError *error = NULL;
  LsLocalSocket *socket;
  gssize n = -1;

  if (self->buffer != NULL)
    {
      socket = ls_local_socket_io_stream_check (self->view, "write to", &error);
      if (socket != NULL && (n = what_fits (self->view, socket, self->count, &error)) == 0)
        return FALSE;
      if (n > 0 && to_send != NULL)
        *to_send = n;
      else if (n > 0)
        ls_local_socket_queue_output_internal (socket, g_bytes_new (self->buffer, n));
    }
  else
    {
      socket = ls_local_socket_io_stream_check (self->view, "flush", &error);
      if (socket != NULL)
        switch (flush_state (self->view, socket, self->flush_target, &error))
          {
          case FLUSH_WAITING:
            return FALSE;
          case FLUSH_DONE:
            n = 1;
            break;
          case FLUSH_FAILED:
          default:
            break;
          }
    }
  /* Nothing of this stream may be touched once the task has returned. */
  ls_local_socket_io_stream_unpend (&self->cancel_source);
  ls_local_socket_io_stream_return (g_steal_pointer (&self->task), n, error);
  return TRUE;
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      data)
{
  LsLocalSocketOutputStream *self = data;

  /* Nothing was queued (a write), or the data stays queued (a flush). */
  ls_local_socket_io_stream_unpend (&self->cancel_source);
  ls_local_socket_io_stream_return_cancelled (g_steal_pointer (&self->task));
  return G_SOURCE_REMOVE;
}

/* A write (@buffer) or a flush (@buffer NULL), in the socket's thread. */
static void
pending_start (gpointer  stream,
               GTask    *task,
               void     *buffer,
               gsize     count)
{
  LsLocalSocketOutputStream *self = stream;
  GError *error = NULL;
  LsLocalSocket *socket;
  gsize to_send = 0;

  if (buffer == NULL && (self->view == NULL || self->view->socket == NULL))
    {
      /* As the blocking flush: nothing is left to flush. */
      ls_local_socket_io_stream_return (task, 1, NULL);
      return;
    }
  socket = ls_local_socket_io_stream_check (self->view, buffer != NULL ? "write to" : "flush", &error);
  if (socket == NULL)
    {
      ls_local_socket_io_stream_return (task, -1, error);
      return;
    }
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      ls_local_socket_io_stream_return_cancelled (task);
      return;
    }
  if (buffer != NULL && count == 0)
    {
      ls_local_socket_io_stream_return (task, 0, NULL);
      return;
    }
  ls_local_socket_io_stream_count_call (self->view, FALSE, FALSE);
  self->task = task;
  self->buffer = buffer;
  self->count = count;
  self->flush_target = self->view->written + socket->output.len;
  if (!pending_try (self, &to_send))
    self->cancel_source = ls_local_socket_io_stream_pend (task, socket, on_cancelled, self);
  else if (to_send > 0)
    /* The task completes from the main loop: the buffer is still the
     * caller's. */
    send_from (socket, buffer, to_send);
}

static void
pending_async_start (LsLocalSocketOutputStream *self,
                     const void                *buffer,
                     gsize                      count,
                     int                        io_priority,
                     GCancellable              *cancellable,
                     GAsyncReadyCallback        callback,
                     gpointer                   user_data,
                     gpointer                   source_tag)
{
  GTask *task = ls_local_socket_io_stream_task_new (self, io_priority, cancellable, callback,
                                                    user_data, source_tag);

  if (ls_local_socket_io_stream_is_remote (self->view))
    ls_local_socket_io_stream_start_remote (self->view, pending_start, self, task, (void *) buffer,
                                            count);
  else
    pending_start (self, task, (void *) buffer, count);
}

static void
ls_local_socket_output_stream_write_async (GOutputStream       *stream,
                                           const void          *buffer,
                                           gsize                count,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  static const guint8 nothing[1];

  /* An empty write is a write, not a flush (GIO answers it before it
   * comes here, but a caller of the vfunc may not). */
  pending_async_start (LS_LOCAL_SOCKET_OUTPUT_STREAM (stream), buffer != NULL ? buffer : nothing,
                       count, io_priority, cancellable, callback, user_data,
                       ls_local_socket_output_stream_write_async);
}

static gssize
ls_local_socket_output_stream_write_finish (GOutputStream  *stream,
                                            GAsyncResult   *result,
                                            GError        **error)
{
  return ls_local_socket_io_stream_finish (stream, result, error);
}

static void
ls_local_socket_output_stream_flush_async (GOutputStream       *stream,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  pending_async_start (LS_LOCAL_SOCKET_OUTPUT_STREAM (stream), NULL, 0, io_priority, cancellable,
                       callback, user_data, ls_local_socket_output_stream_flush_async);
}

static gboolean
ls_local_socket_output_stream_boolean_finish (GOutputStream  *stream,
                                              GAsyncResult   *result,
                                              GError        **error)
{
  return ls_local_socket_io_stream_finish (stream, result, error) > 0;
}

/* GIO ran flush_async first. */
static void
ls_local_socket_output_stream_close_async (GOutputStream       *stream,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  ls_local_socket_io_stream_close_half_async (stream, io_priority, cancellable, callback,
                                              user_data, ls_local_socket_output_stream_close_async);
}

/* GPollableOutputStream -------------------------------------------------- */

static gboolean
ls_local_socket_output_stream_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

/* Writable also when a write would fail at once. */
static gboolean
ls_local_socket_output_stream_is_writable (GPollableOutputStream *stream)
{
  LsLocalSocketOutputStream *self = LS_LOCAL_SOCKET_OUTPUT_STREAM (stream);
  LsLocalSocket *socket = ls_local_socket_io_stream_check (self->view, "write to", NULL);
  guint high_water;

  if (socket == NULL)
    return TRUE;
  if (socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    return FALSE;
  high_water = self->view->write_high_water;
  return !is_connected (socket) || high_water == 0 || socket->output.len < high_water;
}

static gboolean
source_ready (gpointer stream)
{
  return ls_local_socket_output_stream_is_writable (stream);
}

static GSource *
ls_local_socket_output_stream_create_source (GPollableOutputStream *stream,
                                             GCancellable          *cancellable)
{
  LsLocalSocketOutputStream *self = LS_LOCAL_SOCKET_OUTPUT_STREAM (stream);

  /* Made in another thread, it is not woken: it fires at once, and the
   * write fails. */
  return ls_stream_source_new (self, source_ready,
                               ls_local_socket_io_stream_is_remote (self->view) ? NULL : &self->sources,
                               cancellable, "[ls] local socket output stream");
}

static gssize
ls_local_socket_output_stream_write_nonblocking (GPollableOutputStream  *stream,
                                                 const void             *buffer,
                                                 gsize                   count,
                                                 GError                **error)
{
  LsLocalSocketOutputStream *self = LS_LOCAL_SOCKET_OUTPUT_STREAM (stream);
  LsLocalSocket *socket = ls_local_socket_io_stream_check (self->view, "write to", error);
  gssize n;

  if (socket == NULL)
    return -1;
  n = what_fits (self->view, socket, count, error);
  if (n == 0 && count > 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Operation would block");
      return -1;
    }
  if (n > 0)
    send_from (socket, buffer, n);
  return n;
}

static void
ls_local_socket_output_stream_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = ls_local_socket_output_stream_can_poll;
  iface->is_writable = ls_local_socket_output_stream_is_writable;
  iface->create_source = ls_local_socket_output_stream_create_source;
  iface->write_nonblocking = ls_local_socket_output_stream_write_nonblocking;
}

/* ------------------------------------------------------------------------ */

gboolean
ls_local_socket_output_stream_waits (LsLocalSocketOutputStream *self)
{
  return self->task != NULL || self->sources != NULL;
}

void
ls_local_socket_output_stream_update (LsLocalSocketOutputStream *self)
{
  if (self->task != NULL)
    pending_try (self, NULL);
  ls_stream_sources_wake (self->sources);
}

void
ls_local_socket_output_stream_orphan (LsLocalSocketOutputStream *self)
{
  self->view = NULL;
  ls_local_socket_output_stream_update (self);
}

static void
ls_local_socket_output_stream_class_init (LsLocalSocketOutputStreamClass *klass)
{
  GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS (klass);

  stream_class->write_fn = ls_local_socket_output_stream_write;
  stream_class->flush = ls_local_socket_output_stream_flush;
  stream_class->close_fn = ls_local_socket_output_stream_close;
  stream_class->write_async = ls_local_socket_output_stream_write_async;
  stream_class->write_finish = ls_local_socket_output_stream_write_finish;
  stream_class->flush_async = ls_local_socket_output_stream_flush_async;
  stream_class->flush_finish = ls_local_socket_output_stream_boolean_finish;
  stream_class->close_async = ls_local_socket_output_stream_close_async;
  stream_class->close_finish = ls_local_socket_output_stream_boolean_finish;
}

static void
ls_local_socket_output_stream_init (LsLocalSocketOutputStream *self)
{
}

LsLocalSocketOutputStream *
ls_local_socket_output_stream_new (LsLocalSocketIOStream *view)
{
  LsLocalSocketOutputStream *self = g_object_new (LS_TYPE_LOCAL_SOCKET_OUTPUT_STREAM, NULL);

  self->view = view;
  return self;
}
