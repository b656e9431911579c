/* ls-local-socket-io-stream-private.h: the socket as a GIOStream (the view of
 * ls_local_socket_get_io_stream ()), and what its two streams share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-io-stream-private.h is private to the Ls library."
#endif

#include <gio/gio.h>

#include "ls-local-socket-private.h"

G_BEGIN_DECLS

typedef struct _LsLocalSocketInputStream  LsLocalSocketInputStream;
typedef struct _LsLocalSocketOutputStream LsLocalSocketOutputStream;

#define LS_TYPE_LOCAL_SOCKET_IO_STREAM (ls_local_socket_io_stream_get_type ())
G_DECLARE_FINAL_TYPE (LsLocalSocketIOStream, ls_local_socket_io_stream, LS, LOCAL_SOCKET_IO_STREAM, GIOStream)

/* The socket owns its view (qdata) and the view its two streams; each
 * points back without a reference. When the socket is finalized the view
 * lets go of it (socket becomes NULL) and is closed: streams that someone
 * still holds then fail with G_IO_ERROR_CLOSED. A pending call keeps the
 * socket alive (its GTask holds it) until its callback has run. */
struct _LsLocalSocketIOStream
{
  GIOStream                  parent_instance;

  LsLocalSocket             *socket;      /* NULL once the socket is finalized */
  LsLocalSocketInputStream  *input;
  LsLocalSocketOutputStream *output;
  guint                      write_high_water;
  /* Bytes the socket handed to the kernel since the view was made (its
   * bytes-written events): how a flush knows its data left. */
  guint64                    written;
  /* The view's close has finished its flush: the streams are done. */
  gboolean                   closing;
  /* Holding the socket's reading (see ls_local_socket_io_stream_hold_reading ()):
   * calls counts the streams' calls started and completed;
   * read_completed says one completed since the main loop last found the
   * socket readable; reads_done counts completed reads, up to 2 (a
   * connection that has exchanged that much is worth holding);
   * hold polls the socket while the hold lasts. */
  guint                      calls;
  gboolean                   read_completed;
  guint                      reads_done;
  GSource                   *hold;
  /* The context of the socket's main loop, kept after the connection
   * ends (when the socket lets go of its own): calls from other threads
   * are carried there. NULL until the socket first had one. */
  GMainContext              *context;
};

/* The socket of @view for an operation (@verb: "read from", "write to"),
 * or NULL with @error set: the socket is gone, the view was closed, or the
 * caller is not in the socket's thread. */
LsLocalSocket *ls_local_socket_io_stream_check  (LsLocalSocketIOStream *view,
                                                 const char            *verb,
                                                 GError               **error);

/* Blocks once on @socket, reading and writing meanwhile as the wait_for_*
 * calls do, or until @cancellable is cancelled. FALSE with @error set when
 * cancelled; FALSE without an error when nothing more can happen (the
 * connection is gone or ending). */
gboolean       ls_local_socket_io_stream_wait   (LsLocalSocket         *socket,
                                                 GCancellable          *cancellable,
                                                 GError               **error);

/* Starts the asynchronous call @task of a stream (or the view), in the
 * socket's thread; @buffer and @count as the call has them (a write's
 * buffer is const). Every call of a stream has one. */
typedef void (*LsStreamStartFunc) (gpointer  stream,
                                   GTask    *task,
                                   void     *buffer,
                                   gsize     count);

/* A GTask for a call of @stream (ls_async_task_new () with a priority):
 * its result is an int (a count, or 1 for success), and a result once
 * returned is delivered even if a cancellation comes before the callback:
 * bytes taken from the buffer, or queued, would be lost or written twice
 * otherwise. */
GTask         *ls_local_socket_io_stream_task_new (gpointer             stream,
                                                   int                  io_priority,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data,
                                                   gpointer             source_tag);

/* The close_async of either stream: only the stream closes (the socket
 * stays connected), so it completes at once, in no thread. */
void           ls_local_socket_io_stream_close_half_async (gpointer             stream,
                                                           int                  io_priority,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data,
                                                           gpointer             source_tag);

/* Whether a call on @view from this thread must be carried to the
 * socket's thread (the one that connected it), where its main loop runs
 * it. Every call of the view but the pollable ones is carried there. */
gboolean       ls_local_socket_io_stream_is_remote  (LsLocalSocketIOStream *view);

/* An asynchronous call from another thread: @start runs in the socket's
 * thread; @task completes in the caller's context as any other. */
void           ls_local_socket_io_stream_start_remote (LsLocalSocketIOStream *view,
                                                       LsStreamStartFunc      start,
                                                       gpointer               stream,
                                                       GTask                 *task,
                                                       void                  *buffer,
                                                       gsize                  count);

/* A blocking call from another thread: runs @start with a task of its own
 * in the socket's thread and waits for it. Returns the task's int result,
 * or -1 with @error set. */
gssize         ls_local_socket_io_stream_run_remote (LsLocalSocketIOStream *view,
                                                     LsStreamStartFunc      start,
                                                     gpointer               stream,
                                                     GCancellable          *cancellable,
                                                     void                  *buffer,
                                                     gsize                  count,
                                                     GError               **error);

/* @task of @socket waits: it keeps @socket alive until it is gone.
 * Returns the source that calls @on_cancelled (@data) in the socket's
 * context when the task's cancellable is cancelled, or NULL when the call
 * has no cancellable. */
GSource       *ls_local_socket_io_stream_pend   (GTask                 *task,
                                                 LsLocalSocket         *socket,
                                                 gboolean             (*on_cancelled) (GCancellable *cancellable,
                                                                                       gpointer      data),
                                                 gpointer               data);
/* Ends what _pend () began: drops the cancel source (nullable). */
void           ls_local_socket_io_stream_unpend (GSource              **cancel_source);

/* A call of @view (nullable) started (@completed FALSE) or completed; a
 * read also says so in read_completed. */
static inline void
ls_local_socket_io_stream_count_call (LsLocalSocketIOStream *view,
                                      gboolean               is_read,
                                      gboolean               completed)
{
  if (view == NULL)
    return;
  view->calls++;
  if (is_read && completed)
    {
      view->read_completed = TRUE;
      if (view->reads_done < 2)
        view->reads_done++;
    }
}

/* While the application reads through the view, one read after the
 * other, the main loop stops reading ahead on the socket: each read of
 * the view then takes its bytes straight from the kernel into its own
 * buffer, as GIO's socket streams do, instead of finding them copied
 * into the socket's buffer a moment before; and the view polls the
 * socket itself, in the main loop's poll (), instead of the event core.
 * The input stream holds the reading when one of its reads has to wait
 * for the kernel, or when the main loop finds the socket readable,
 * nothing buffered, no read of the view waiting and one just completed
 * (its callback, about to run, is the one that reads next). The hold
 * lasts while the view is in use (see the source in the .c file) and
 * never while a ready-read handler is connected. Returns FALSE when the
 * socket is not held now: fewer than two reads of the view completed on
 * it yet, no main loop serves it, or its context has as many held as pay
 * off. */
gboolean       ls_local_socket_io_stream_hold_reading    (LsLocalSocketIOStream *view,
                                                          LsLocalSocket         *socket);
/* Lets go of the hold, if there is one (@view nullable). */
void           ls_local_socket_io_stream_release_reading (LsLocalSocketIOStream *view);

/* Returns @task (owned) with @n, or with @error when @n < 0. */
void           ls_local_socket_io_stream_return (GTask                 *task,
                                                 gssize                 n,
                                                 GError                *error);

/* Fails @task (owned) with G_IO_ERROR_CANCELLED. */
void           ls_local_socket_io_stream_return_cancelled (GTask       *task);

/* The _finish of every call: the int result, or -1 with @error set. */
gssize         ls_local_socket_io_stream_finish (gpointer               stream,
                                                 GAsyncResult          *result,
                                                 GError               **error);

G_END_DECLS
