/* ls-local-socket-input-stream.c: the input half of the socket's GIOStream view
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-input-stream-private.h"
#include "ls-stream-source-private.h"

/* Reads take from the socket's own buffer, through the same internal call
 * as ls_local_socket_read (), so that the stream, read () and
 * read_message () share one byte sequence and take_fds () still knows
 * which descriptors have been read past. The socket reads from the kernel
 * on its own (its event core, or the blocking waits), so a read only ever
 * waits for the socket's events: read_async, skip_async and close_async
 * are implemented here (GIO's defaults would run read () in a thread). */
struct _LsLocalSocketInputStream
{
  GInputStream            parent_instance;

  LsLocalSocketIOStream  *view;            /* NULL once the view is gone */

  /* The pending read or skip (GIO allows one call at a time). */
  GTask                  *task;
  void                   *buffer;          /* NULL: a skip */
  gsize                   count;
  GSource                *cancel_source;
  /* _on_readable () is receiving into the buffer; the call was
   * cancelled meanwhile. */
  gboolean                receiving;
  gboolean                cancelled;
  /* The connection it was made on (the socket's life): when another
   * replaces it (connect_to_server () while closing), that stream ended. */
  guint                   life;

  GSList                 *sources;         /* the pollable sources made */
};

static void ls_local_socket_input_stream_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LsLocalSocketInputStream, ls_local_socket_input_stream,
                               G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      ls_local_socket_input_stream_pollable_init))

/* No more bytes will come: the peer finished, the connection ended (or
 * never was), or the socket was closed (its input is dropped). */
static gboolean
input_finished (LsLocalSocket *socket)
{
  if (socket->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    return FALSE;
  return socket->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED || socket->read_eof ||
         socket->ending || !socket->is_open;
}

/* Whether a read may receive straight from the kernel: nothing is
 * buffered, the connection is up (input_finished () is FALSE), and nobody
 * listens to ready-read, which announces every byte that passes through
 * the buffer: bytes that skip it are announced to nobody. */
static inline gboolean
can_receive_directly (LsLocalSocket *socket)
{
  return socket->input.len == 0 && socket->fd >= 0 && socket->is_open &&
         socket->state != LS_LOCAL_SOCKET_STATE_CONNECTING && !socket->tearing_down &&
         !ls_local_socket_has_ready_read_handler_internal (socket);
}

/* Takes up to @count buffered bytes into @buffer (discards them if NULL):
 * the number taken, 0 at the end of the stream, -1 when nothing is there
 * yet. With @direct, a read finding nothing buffered receives straight
 * from the kernel into @buffer, as GIO's socket streams do: bytes that
 * never pass through the socket's buffer cost no copy (nor ready-read).
 * That receive may find the connection's end and run its signals, so
 * @direct is only for the calls the application made, never for a
 * pending call going on from the socket's events. */
static gssize
take (LsLocalSocket *socket,
      void          *buffer,
      gsize          count,
      gboolean       direct)
{
  gsize n = MIN (count, socket->input.len);

  if (n == 0)
    {
      if (count == 0 || input_finished (socket))
        return 0;
      if (direct && buffer != NULL && can_receive_directly (socket))
        return ls_local_socket_receive_into_internal (socket, buffer, count);
      return -1;
    }
  if (buffer != NULL)
    ls_local_socket_take_input_into_internal (socket, buffer, n);
  else
    g_bytes_unref (ls_local_socket_take_input_internal (socket, n));
  return n;
}

static const char *
verb_of (void *buffer)
{
  return buffer != NULL ? "read from" : "skip on";
}

static void read_start (gpointer stream, GTask *task, void *buffer, gsize count);

/* The blocking read and skip: wait like wait_for_ready_read (-1), within
 * the socket's thread, until bytes are there or the stream ends. From
 * another thread (a GIO wrapper's worker, JSON-GLib's loader), the
 * socket's thread reads for the caller. */
static gssize
read_blocking (LsLocalSocketInputStream  *self,
               void                      *buffer,
               gsize                      count,
               GCancellable              *cancellable,
               GError                   **error)
{
  LsLocalSocket *socket;
  GError *local_error = NULL;
  gssize n;

  if (ls_local_socket_io_stream_is_remote (self->view))
    return ls_local_socket_io_stream_run_remote (self->view, read_start, self, cancellable,
                                                 buffer, count, error);
  socket = ls_local_socket_io_stream_check (self->view, verb_of (buffer), error);
  if (socket == NULL || g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  ls_local_socket_hold_internal (socket);
  while ((n = take (socket, buffer, count, TRUE)) < 0)
    {
      if (!ls_local_socket_io_stream_wait (socket, cancellable, &local_error))
        {
          /* Cancelled, or nothing more can come: what is there is the rest. */
          if (local_error == NULL && (n = take (socket, buffer, count, FALSE)) < 0)
            n = 0;
          break;
        }
      /* A handler run by the wait may have closed the view. */
      if (ls_local_socket_io_stream_check (self->view, verb_of (buffer), &local_error) == NULL)
        break;
    }
  ls_local_socket_unhold_internal (socket);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return -1;
    }
  return n;
}

static gssize
ls_local_socket_input_stream_read (GInputStream  *stream,
                                   void          *buffer,
                                   gsize          count,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  return read_blocking (LS_LOCAL_SOCKET_INPUT_STREAM (stream), buffer, count, cancellable, error);
}

static gssize
ls_local_socket_input_stream_skip (GInputStream  *stream,
                                   gsize          count,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  return read_blocking (LS_LOCAL_SOCKET_INPUT_STREAM (stream), NULL, count, cancellable, error);
}

static gboolean
ls_local_socket_input_stream_close (GInputStream  *stream,
                                    GCancellable  *cancellable,
                                    GError       **error)
{
  /* Only the stream closes: the socket stays connected. */
  return TRUE;
}

/* Asynchronous reads ------------------------------------------------------- */

/* Returns the pending call (owned) with @n or @error. Nothing of this
 * stream may be touched once the task has returned. */
static void
pending_return (LsLocalSocketInputStream *self,
                gssize                    n,
                GError                   *error)
{
  ls_local_socket_io_stream_unpend (&self->cancel_source);
  ls_local_socket_io_stream_count_call (self->view, TRUE, TRUE);
  ls_local_socket_io_stream_return (g_steal_pointer (&self->task), n, error);
}

/* Completes the pending call if it can go on now; returns whether it did. */
static gboolean
pending_try (LsLocalSocketInputStream *self)
{
  GError *error = NULL;
  LsLocalSocket *socket;
  gssize n = -1;

  /* _on_readable () finishes what it started. */
  if (self->receiving)
    return FALSE;
  socket = ls_local_socket_io_stream_check (self->view, verb_of (self->buffer), &error);
  if (socket != NULL && socket->life != self->life)
    n = 0;
  else if (socket != NULL && (n = take (socket, self->buffer, self->count, FALSE)) < 0)
    return FALSE;
  pending_return (self, n, error);
  return TRUE;
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      data)
{
  LsLocalSocketInputStream *self = data;

  /* A handler run by the receive of _on_readable () ran a main loop:
   * whatever that receive took is the result. */
  if (self->receiving)
    {
      self->cancelled = TRUE;
      ls_local_socket_io_stream_unpend (&self->cancel_source);
      return G_SOURCE_REMOVE;
    }
  /* Nothing was consumed: the buffered bytes stay readable. */
  pending_return (self, -1, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "Operation was cancelled"));
  return G_SOURCE_REMOVE;
}

/* A read (or a skip: @buffer NULL), in the socket's thread. */
static void
read_start (gpointer  stream,
            GTask    *task,
            void     *buffer,
            gsize     count)
{
  LsLocalSocketInputStream *self = stream;
  GError *error = NULL;
  LsLocalSocket *socket = ls_local_socket_io_stream_check (self->view, verb_of (buffer), &error);
  gssize n;

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
  ls_local_socket_io_stream_count_call (self->view, TRUE, FALSE);
  /* The kernel first while the view holds the socket's reading: the
   * bytes are likely there. Otherwise the main loop watches the socket
   * anyway, and an event gives the bytes to the waiting read without a
   * copy (_on_readable ()); a try would mostly cost a system call. The
   * try comes before the call is pending: it may run the end of the
   * connection, whose events make pending calls go on. */
  n = take (socket, buffer, count, socket->view_polls);
  if (n >= 0)
    {
      ls_local_socket_io_stream_count_call (self->view, TRUE, TRUE);
      ls_local_socket_io_stream_return (task, n, NULL);
      return;
    }
  /* The read waits. The view polls the socket for it when it can (a read
   * that takes from the kernel, nobody on ready-read); otherwise the
   * engine reads and announces the bytes, and the call takes them. */
  if (buffer == NULL || !can_receive_directly (socket) ||
      !ls_local_socket_io_stream_hold_reading (self->view, socket))
    ls_local_socket_io_stream_release_reading (self->view);
  self->task = task;
  self->buffer = buffer;
  self->count = count;
  self->life = socket->life;
  self->cancelled = FALSE;
  self->cancel_source = ls_local_socket_io_stream_pend (task, socket, on_cancelled, self);
}

static void
read_async_start (LsLocalSocketInputStream *self,
                  void                     *buffer,
                  gsize                     count,
                  int                       io_priority,
                  GCancellable             *cancellable,
                  GAsyncReadyCallback       callback,
                  gpointer                  user_data,
                  gpointer                  source_tag)
{
  GTask *task = ls_local_socket_io_stream_task_new (self, io_priority, cancellable, callback,
                                                    user_data, source_tag);

  if (ls_local_socket_io_stream_is_remote (self->view))
    ls_local_socket_io_stream_start_remote (self->view, read_start, self, task, buffer, count);
  else
    read_start (self, task, buffer, count);
}

static void
ls_local_socket_input_stream_read_async (GInputStream        *stream,
                                         void                *buffer,
                                         gsize                count,
                                         int                  io_priority,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  read_async_start (LS_LOCAL_SOCKET_INPUT_STREAM (stream), buffer, count, io_priority,
                    cancellable, callback, user_data, ls_local_socket_input_stream_read_async);
}

static gssize
ls_local_socket_input_stream_read_finish (GInputStream  *stream,
                                          GAsyncResult  *result,
                                          GError       **error)
{
  return ls_local_socket_io_stream_finish (stream, result, error);
}

static void
ls_local_socket_input_stream_skip_async (GInputStream        *stream,
                                         gsize                count,
                                         int                  io_priority,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  read_async_start (LS_LOCAL_SOCKET_INPUT_STREAM (stream), NULL, count, io_priority,
                    cancellable, callback, user_data, ls_local_socket_input_stream_skip_async);
}

static void
ls_local_socket_input_stream_close_async (GInputStream        *stream,
                                          int                  io_priority,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  ls_local_socket_io_stream_close_half_async (stream, io_priority, cancellable, callback,
                                              user_data, ls_local_socket_input_stream_close_async);
}

static gboolean
ls_local_socket_input_stream_close_finish (GInputStream  *stream,
                                           GAsyncResult  *result,
                                           GError       **error)
{
  return ls_local_socket_io_stream_finish (stream, result, error) > 0;
}

/* GPollableInputStream --------------------------------------------------- */

static gboolean
ls_local_socket_input_stream_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

/* Readable also when a read would fail at once. */
static gboolean
ls_local_socket_input_stream_is_readable (GPollableInputStream *stream)
{
  LsLocalSocketInputStream *self = LS_LOCAL_SOCKET_INPUT_STREAM (stream);
  LsLocalSocket *socket = ls_local_socket_io_stream_check (self->view, "read from", NULL);

  return socket == NULL || socket->input.len > 0 || input_finished (socket);
}

static gboolean
source_ready (gpointer stream)
{
  return ls_local_socket_input_stream_is_readable (stream);
}

static GSource *
ls_local_socket_input_stream_create_source (GPollableInputStream *stream,
                                            GCancellable         *cancellable)
{
  LsLocalSocketInputStream *self = LS_LOCAL_SOCKET_INPUT_STREAM (stream);

  /* A source waits for the main loop to find the socket readable. */
  ls_local_socket_io_stream_release_reading (self->view);
  /* Made in another thread, it is not woken: it fires at once, and the
   * read fails. */
  return ls_stream_source_new (self, source_ready,
                               ls_local_socket_io_stream_is_remote (self->view) ? NULL : &self->sources,
                               cancellable, "[ls] local socket input stream");
}

static gssize
ls_local_socket_input_stream_read_nonblocking (GPollableInputStream  *stream,
                                               void                  *buffer,
                                               gsize                  count,
                                               GError               **error)
{
  LsLocalSocketInputStream *self = LS_LOCAL_SOCKET_INPUT_STREAM (stream);
  LsLocalSocket *socket = ls_local_socket_io_stream_check (self->view, "read from", error);
  gssize n;

  if (socket == NULL)
    return -1;
  n = take (socket, buffer, count, TRUE);
  if (n < 0)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                         "Operation would block");
  return n;
}

static void
ls_local_socket_input_stream_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = ls_local_socket_input_stream_can_poll;
  iface->is_readable = ls_local_socket_input_stream_is_readable;
  iface->create_source = ls_local_socket_input_stream_create_source;
  iface->read_nonblocking = ls_local_socket_input_stream_read_nonblocking;
}

/* ------------------------------------------------------------------------ */

/* The socket is readable (or hung up) and the pending read takes what
 * comes straight from the kernel. */
static void
receive_pending (LsLocalSocketInputStream *self,
                 LsLocalSocket            *socket)
{
  gssize n;

  /* Made on a connection since replaced: it ends, reading nothing of
   * this one. */
  if (self->life != socket->life)
    {
      pending_try (self);
      return;
    }

  /* The receive may find the end and run its signals, whose events would
   * make the call go on (pending_try ()) from inside it. */
  self->receiving = TRUE;
  n = ls_local_socket_receive_into_internal (socket, self->buffer, self->count);
  self->receiving = FALSE;
  if (n > 0)
    pending_return (self, n, NULL);
  else if (self->cancelled)
    pending_return (self, -1, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "Operation was cancelled"));
  else
    pending_try (self);
}

gboolean
ls_local_socket_input_stream_on_readable (LsLocalSocket *socket,
                                          gpointer       data)
{
  LsLocalSocketInputStream *self = data;
  LsLocalSocketIOStream *view = self->view;

  /* Held, the socket is readable only by a hang-up or an error, which
   * the engine handles. */
  if (socket->view_polls)
    {
      ls_local_socket_io_stream_release_reading (view);
      return FALSE;
    }
  if (self->receiving || !can_receive_directly (socket) ||
      ls_local_socket_io_stream_check (view, "read from", NULL) == NULL)
    return FALSE;
  if (self->task == NULL || self->buffer == NULL)
    {
      /* A read of the view just completed, and its callback will likely
       * read again: the bytes wait in the kernel for that read. */
      if (self->task != NULL || self->sources != NULL || !view->read_completed)
        return FALSE;
      view->read_completed = FALSE;
      return ls_local_socket_io_stream_hold_reading (view, socket);
    }
  receive_pending (self, socket);
  return TRUE;
}

gboolean
ls_local_socket_input_stream_polls (LsLocalSocketInputStream *self,
                                    LsLocalSocket            *socket)
{
  return self->task != NULL && self->buffer != NULL && !self->receiving &&
         can_receive_directly (socket);
}

void
ls_local_socket_input_stream_on_polled (LsLocalSocketInputStream *self,
                                        LsLocalSocket            *socket)
{
  if (ls_local_socket_input_stream_polls (self, socket))
    receive_pending (self, socket);
}

gboolean
ls_local_socket_input_stream_waits (LsLocalSocketInputStream *self)
{
  return self->task != NULL || self->sources != NULL;
}

void
ls_local_socket_input_stream_update (LsLocalSocketInputStream *self)
{
  if (self->task != NULL)
    pending_try (self);
  ls_stream_sources_wake (self->sources);
}

void
ls_local_socket_input_stream_orphan (LsLocalSocketInputStream *self)
{
  self->view = NULL;
  ls_local_socket_input_stream_update (self);
}

static void
ls_local_socket_input_stream_class_init (LsLocalSocketInputStreamClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  stream_class->read_fn = ls_local_socket_input_stream_read;
  stream_class->skip = ls_local_socket_input_stream_skip;
  stream_class->close_fn = ls_local_socket_input_stream_close;
  stream_class->read_async = ls_local_socket_input_stream_read_async;
  stream_class->read_finish = ls_local_socket_input_stream_read_finish;
  stream_class->skip_async = ls_local_socket_input_stream_skip_async;
  stream_class->skip_finish = ls_local_socket_input_stream_read_finish;
  stream_class->close_async = ls_local_socket_input_stream_close_async;
  stream_class->close_finish = ls_local_socket_input_stream_close_finish;
}

static void
ls_local_socket_input_stream_init (LsLocalSocketInputStream *self)
{
}

LsLocalSocketInputStream *
ls_local_socket_input_stream_new (LsLocalSocketIOStream *view)
{
  LsLocalSocketInputStream *self = g_object_new (LS_TYPE_LOCAL_SOCKET_INPUT_STREAM, NULL);

  self->view = view;
  return self;
}
