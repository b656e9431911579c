/* ls-local-socket-private.h: LsLocalSocket's instance, shared by the
 * socket's own files (ls-local-socket*.c), and what LsLocalServer and the
 * GIO boundary need of it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-private.h is private to the Ls library."
#endif

#include <pthread.h>

#include "ls-local-socket.h"
#include "ls-event-core-private.h"
#include "ls-fd-queue-private.h"
#include "ls-input-buffer-private.h"
#include "ls-names-private.h"
#include "ls-output-queue-private.h"

G_BEGIN_DECLS

#define LS_LOCAL_SOCKET_UNKNOWN_ERROR_TEXT        "Unknown error"
#define LS_LOCAL_SOCKET_DEFAULT_MAX_MESSAGE_SIZE  (16 * 1024 * 1024)
#define LS_LOCAL_SOCKET_DEFAULT_WRITE_HIGH_WATER  (1024 * 1024)

/* What the socket tells its asynchronous calls (ls-local-socket-async-ops.c)
 * where it emits the matching signal, just after the emission (the bytes
 * of a flush just before it, see announce_bytes_written ()): one direct
 * call instead of six signal handlers, so the socket's emissions keep their
 * fast path and bytes-written is not emitted for nobody. */
typedef enum {
  LS_SOCKET_EVENT_READY_READ,
  LS_SOCKET_EVENT_BYTES_WRITTEN,   /* value: the bytes handed to the kernel */
  LS_SOCKET_EVENT_STATE_CHANGED,   /* value: the new LsLocalSocketState */
  LS_SOCKET_EVENT_ERROR_OCCURRED,  /* value: the LsSocketError */
  LS_SOCKET_EVENT_CONNECTED,
  LS_SOCKET_EVENT_ABOUT_TO_CLOSE,
} LsSocketEvent;

typedef void (*LsSocketEventHook) (LsLocalSocket *socket,
                                   LsSocketEvent  event,
                                   gint64         value,
                                   gpointer       data);

/* Who listens through a hook: each has a slot of its own, so that the
 * asynchronous calls and the stream view (ls_local_socket_get_io_stream ())
 * can both follow one socket. */
typedef enum {
  LS_SOCKET_HOOK_ASYNC,
  LS_SOCKET_HOOK_STREAM,
  LS_SOCKET_N_HOOKS
} LsSocketHookSlot;

/* The stream view's reader: when the main loop finds the socket readable
 * with its buffer empty, the engine calls it before reading itself, and it
 * may take the bytes straight into a waiting read's buffer
 * (ls_local_socket_receive_into_internal ()), or leave them in the kernel
 * for a read about to come (then it polls the socket itself: view_polls). Returns whether it took the event
 * (then the engine reads nothing this time). */
typedef gboolean (*LsDirectReadFunc) (LsLocalSocket *socket,
                                      gpointer       data);

/* What most sockets never use (an accepted one none of it), allocated on
 * first use and kept until finalize: the idle connection is smaller. */
typedef struct
{
  /* Connecting while the listen backlog is full. */
  LsAddress          *address;                /* only while connecting */
  GSource            *retry_source;
  gint64              connect_deadline;
  guint               retry_ms;

  /* The hooks (see LsSocketEventHook above), one per slot; n_event_hooks
   * counts the slots in use, for the emissions' one test. */
  LsSocketEventHook   event_hook[LS_SOCKET_N_HOOKS];
  gpointer            event_hook_data[LS_SOCKET_N_HOOKS];
  guint               n_event_hooks;

  gint64              written_unannounced;  /* by a bytes-written handler's flush */

  /* Set by the stream view (ls_local_socket_get_io_stream ()). */
  LsDirectReadFunc    direct_read;
  gpointer            direct_read_data;
} LsLocalSocketRare;

/* Where each part lives:
 *   ls-local-socket.c          the GObject, the state machine (set_state,
 *                              teardown, close, abort, disconnect), accessors
 *   ls-local-socket-connect.c  connecting, retrying, adopting a descriptor,
 *                              and the settings of a connect (server-name,
 *                              socket-options, connect-timeout)
 *   ls-local-socket-io.c       the I/O engine: reads, sends, the peer's end
 *   ls-local-socket-stream.c   the byte-stream API (write, read, flush)
 *   ls-local-socket-message.c  framed messages and descriptor passing
 *   ls-local-socket-wait.c     the blocking wait_for_* calls
 * and the buffers: ls-input-buffer.c, ls-output-queue.c, ls-block-pool.c. */
struct _LsLocalSocket
{
  GObject             parent_instance;

  int                 fd;
  LsLocalSocketState  state;
  LsEventCore        *core;           /* NULL when no main loop serves the socket */
  LsWatch            *watch;
  /* The thread that connected or adopted it; pthread_self () is a plain
   * register read, g_thread_self () a lookup, and write() checks it. */
  pthread_t           owner_thread;       /* valid with has_owner */

  /* GRefStrings: accepted sockets share their server's names. */
  char               *server_name;
  char               *full_server_name;
  LsSocketOptions     options;
  gint                connect_timeout;
  gint64              read_buffer_size;
  /* Framed messages: while the frame at the front of the input is
   * message_need bytes long, that many may be buffered even beyond
   * read_buffer_size (0 when no frame is being assembled). */
  guint               max_message_size;
  gsize               message_need;

  /* Counts connections (connect attempts, adoptions): a handler may end
   * one and start the next inside an emission, and whoever emitted must
   * then leave the new one alone. */
  guint               life;

  LsSocketError       error;
  char               *error_string;
  /* A peer-closed message is formatted only when asked for: a server of
   * many short connections would otherwise format one per connection for
   * nobody. closed_name is a GRefString (or NULL), closed_errno 0 for EOF. */
  char               *closed_name;

  LsInputBuffer       input;
  LsOutputQueue       output;

  /* Descriptors sent or received with the stream; NULL until the first. */
  LsFdQueue          *fdq;

  /* NULL until first needed: ls_local_socket_rare_internal (). */
  LsLocalSocketRare  *rare;

  int                 closed_errno;   /* with closed_name; here, it fills a hole */

  guint               is_open : 1;              /* QIODevice-style "open" */
  guint               flush_deferred : 1;       /* a deferred flush is coming */
  guint               emitting_ready_read : 1;
  guint               ready_read_missed : 1;     /* data came during the emission */
  guint               emitting_bytes_written : 1;
  guint               tearing_down : 1;
  guint               closed_message_due : 1;   /* error_string still to format */
  guint               read_eof : 1;             /* the peer sent its last byte */
  guint               closing_hold : 1;         /* a reference kept while flushing to close */
  guint               ending : 1;               /* the peer-closed sequence is under way */
  guint               starting_connect : 1;     /* in connect_to_server's CONNECTING emission */
  guint               connect_cancelled : 1;    /* a handler of that emission gave it up */
  guint               has_owner : 1;
  guint               draining : 1;             /* taking in all the gone peer sent */
  guint               has_gsocket : 1;          /* get_socket () made one (qdata) */
  guint               fd_failure : 1;           /* received descriptors were lost or too many */
  guint               accept_fds : 1;           /* reads have room for descriptors */
  /* The stream view reads and writes straight from and to the kernel for
   * now, polling the descriptor through a source of its own: the event
   * core does not watch it (the blocking waits still read). */
  guint               view_polls : 1;
};

/* ------------------------------------------------------------------------ */
/* For LsLocalServer and the GIO boundary                                    */
/* ------------------------------------------------------------------------ */

/* Wraps a freshly accepted descriptor (owned) on @core's context; names are
 * the server's GRefStrings (shared), as Qt 6 reports them. NULL with @error set on failure, in
 * which case @fd is closed. */
LsLocalSocket *ls_local_socket_new_accepted (LsEventCore      *core,
                                             int               fd,
                                             char             *server_name,
                                             char             *full_server_name,
                                             LsSocketOptions   options,
                                             GError          **error);

/* connect_to_server () with the address already made: @address (owned,
 * nullable: resolve the server-name property as connect_to_server does) is
 * connected to, or @address_error (owned, nullable) is reported as the
 * failure, with the usual signals. @name (nullable) becomes the server-name. */
void           ls_local_socket_connect_to_address_internal (LsLocalSocket *self,
                                                            LsAddress     *address,
                                                            GError        *address_error,
                                                            const char    *name);

/* Notes that ls_local_socket_get_socket () attached a GSocket (qdata), so
 * that the end of the connection drops it through
 * ls_local_socket_release_gsocket () (ls-local-socket-gio.c). Sockets that
 * never ask for one pay nothing. */
void           ls_local_socket_mark_gsocket    (LsLocalSocket    *self);
void           ls_local_socket_release_gsocket (LsLocalSocket    *self);

/* One hook a slot (NULL to remove it); its data is what the getter
 * returns (ls-local-socket.c). */
void           ls_local_socket_set_event_hook      (LsLocalSocket     *self,
                                                    LsSocketHookSlot   slot,
                                                    LsSocketEventHook  hook,
                                                    gpointer           data);
gpointer       ls_local_socket_get_event_hook_data (LsLocalSocket     *self,
                                                    LsSocketHookSlot   slot);

/* ------------------------------------------------------------------------ */
/* Shared by the socket's own files                                          */
/* ------------------------------------------------------------------------ */

/* The rarely used part, made on first use. */
static inline LsLocalSocketRare *
ls_local_socket_rare_internal (LsLocalSocket *self)
{
  if (G_UNLIKELY (self->rare == NULL))
    self->rare = g_new0 (LsLocalSocketRare, 1);
  return self->rare;
}

/* Sets the reader that may take the bytes of a read event with nothing
 * buffered; see LsDirectReadFunc. */
static inline void
ls_local_socket_set_direct_read_internal (LsLocalSocket    *self,
                                          LsDirectReadFunc  func,
                                          gpointer          data)
{
  LsLocalSocketRare *rare = ls_local_socket_rare_internal (self);

  rare->direct_read = func;
  rare->direct_read_data = data;
}

/* Whether any hook listens: every emission asks. */
static inline gboolean
ls_local_socket_has_event_hook_internal (LsLocalSocket *self)
{
  return G_UNLIKELY (self->rare != NULL) && self->rare->n_event_hooks > 0;
}

/* Holding a reference across emissions: every signal handler is user code
 * that may drop the last reference to the socket (unref it, or close and
 * unref it). Whoever emits a signal, or calls something that may, and
 * touches the socket afterwards holds a reference from before the first
 * emission until it is done; either itself, with this pair, or through its
 * caller (as on_watch () does around reading). */
static inline LsLocalSocket *
ls_local_socket_hold_internal (LsLocalSocket *self)
{
  return g_object_ref (self);
}

static inline void
ls_local_socket_unhold_internal (LsLocalSocket *self)
{
  g_object_unref (self);
}

/* The hook hears of an event after the signal's handlers, one of which may
 * drop the last reference: when there is a hook, the socket is held across
 * the emission for it. Pairs: event_hold () before the emission,
 * event_notify () after it (NULL held: no hook, nothing to do). */
static inline LsLocalSocket *
ls_local_socket_event_hold_internal (LsLocalSocket *self)
{
  return G_UNLIKELY (ls_local_socket_has_event_hook_internal (self)) ? g_object_ref (self) : NULL;
}

static inline void
ls_local_socket_event_notify_internal (LsLocalSocket *held,
                                       LsSocketEvent  event,
                                       gint64         value)
{
  if (G_LIKELY (held == NULL))
    return;
  /* A hook was set: held->rare exists. Each slot is read again after the
   * previous hook ran, which may have removed or replaced it. */
  for (guint slot = 0; slot < LS_SOCKET_N_HOOKS; slot++)
    if (held->rare->event_hook[slot] != NULL)
      held->rare->event_hook[slot] (held, event, value, held->rare->event_hook_data[slot]);
  g_object_unref (held);
}

/* The properties, for ls_local_socket_notify_internal (). */
typedef enum
{
  LS_LOCAL_SOCKET_PROP_0,
  LS_LOCAL_SOCKET_PROP_SERVER_NAME,
  LS_LOCAL_SOCKET_PROP_FULL_SERVER_NAME,
  LS_LOCAL_SOCKET_PROP_SOCKET_OPTIONS,
  LS_LOCAL_SOCKET_PROP_READ_BUFFER_SIZE,
  LS_LOCAL_SOCKET_PROP_CONNECT_TIMEOUT,
  LS_LOCAL_SOCKET_PROP_STATE,
  LS_LOCAL_SOCKET_PROP_MAX_MESSAGE_SIZE,
  LS_LOCAL_SOCKET_PROP_ACCEPT_FDS,
  LS_LOCAL_SOCKET_PROP_WRITE_HIGH_WATER,
  LS_LOCAL_SOCKET_N_PROPS
} LsLocalSocketProp;

/* The name errors mention: a GRefString, or NULL before any was set. */
static inline char *
ls_local_socket_current_name_internal (LsLocalSocket *self)
{
  return self->full_server_name != NULL ? self->full_server_name : self->server_name;
}

static inline const char *
ls_local_socket_display_name_internal (LsLocalSocket *self)
{
  char *name = ls_local_socket_current_name_internal (self);

  return name != NULL ? name : "";
}

/* Whether the socket takes in more input now. */
static inline gboolean
ls_local_socket_read_allowed_internal (LsLocalSocket *self)
{
  if (self->read_eof)
    return FALSE;
  /* After close() incoming data is discarded, so the limit does not apply;
   * nor once the peer has gone (see peer_gone()), nor to the rest of a
   * framed message being assembled. */
  return !self->is_open || self->draining || self->read_buffer_size <= 0 ||
         (gint64) self->input.len < self->read_buffer_size ||
         self->input.len < self->message_need;
}

/* Has the queued output written from the main loop (after the current
 * dispatch, or at the next iteration). Needs a watch. */
static inline void
ls_local_socket_schedule_flush_internal (LsLocalSocket *self)
{
  self->flush_deferred = TRUE;
  ls_watch_defer (self->watch);
}

/* Stops retrying a connect; inline because every connection's end (and
 * dispose) passes here, nearly always with nothing to stop. */
static inline void
ls_local_socket_cancel_retry_internal (LsLocalSocket *self)
{
  if (G_UNLIKELY (self->rare != NULL && self->rare->retry_source != NULL))
    {
      g_source_destroy (self->rare->retry_source);
      g_clear_pointer (&self->rare->retry_source, g_source_unref);
    }
}

/* The signals; their ids are set by class_init (ls-local-socket.c). The
 * emitters are inline because ready-read and bytes-written are emitted for
 * every read and write. */
typedef enum
{
  LS_LOCAL_SOCKET_SIGNAL_CONNECTED,
  LS_LOCAL_SOCKET_SIGNAL_DISCONNECTED,
  LS_LOCAL_SOCKET_SIGNAL_ERROR_OCCURRED,
  LS_LOCAL_SOCKET_SIGNAL_STATE_CHANGED,
  LS_LOCAL_SOCKET_SIGNAL_READY_READ,
  LS_LOCAL_SOCKET_SIGNAL_BYTES_WRITTEN,
  LS_LOCAL_SOCKET_SIGNAL_ABOUT_TO_CLOSE,
  LS_LOCAL_SOCKET_SIGNAL_READ_CHANNEL_FINISHED,
  LS_LOCAL_SOCKET_N_SIGNALS
} LsLocalSocketSignal;

G_GNUC_INTERNAL extern guint ls_local_socket_signals_internal[LS_LOCAL_SOCKET_N_SIGNALS];

/* Emits error-occurred for the error recorded last. */
static inline void
ls_local_socket_emit_recorded_error_internal (LsLocalSocket *self)
{
  LsLocalSocket *held = ls_local_socket_event_hold_internal (self);
  LsSocketError code = self->error;

  g_signal_emit (self, ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_ERROR_OCCURRED],
                 0, code);
  ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_ERROR_OCCURRED, code);
}

static inline void
ls_local_socket_emit_ready_read_internal (LsLocalSocket *self)
{
  LsLocalSocket *held = ls_local_socket_event_hold_internal (self);

  g_signal_emit (self, ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_READY_READ], 0);
  ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_READY_READ, 0);
}

/* Spares a flush nobody listens to the emission's cost. */
static inline gboolean
ls_local_socket_has_bytes_written_handler_internal (LsLocalSocket *self)
{
  return g_signal_has_handler_pending (self,
                                       ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_BYTES_WRITTEN],
                                       0, TRUE);
}

/* Whether someone listens to ready-read: then every byte that comes is
 * buffered and announced (the stream view receives straight from the
 * kernel only when nobody does). */
static inline gboolean
ls_local_socket_has_ready_read_handler_internal (LsLocalSocket *self)
{
  return g_signal_has_handler_pending (self,
                                       ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_READY_READ],
                                       0, TRUE);
}

/* The signal only: the hook counts every flush's bytes itself (see
 * announce_bytes_written () in ls-local-socket-io.c). */
static inline void
ls_local_socket_emit_bytes_written_internal (LsLocalSocket *self,
                                             gint64         bytes)
{
  g_signal_emit (self, ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_BYTES_WRITTEN],
                 0, bytes);
}

static inline void
ls_local_socket_emit_connected_internal (LsLocalSocket *self)
{
  LsLocalSocket *held = ls_local_socket_event_hold_internal (self);

  g_signal_emit (self, ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_CONNECTED], 0);
  ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_CONNECTED, 0);
}

/* ls-local-socket.c: errors, signals, the state machine */
void      ls_local_socket_record_error_internal      (LsLocalSocket      *self,
                                                      LsSocketError       code,
                                                      char               *message);
/* ls_local_socket_record_error_internal () with a formatted message. */
void      ls_local_socket_record_errorf_internal     (LsLocalSocket      *self,
                                                      LsSocketError       code,
                                                      const char         *format,
                                                      ...) G_GNUC_PRINTF (3, 4);
/* Records the error, then emits error-occurred. */
void      ls_local_socket_emit_error_internal        (LsLocalSocket      *self,
                                                      LsSocketError       code,
                                                      char               *message);
void      ls_local_socket_notify_internal            (LsLocalSocket      *self,
                                                      LsLocalSocketProp   prop);
void      ls_local_socket_set_state_internal         (LsLocalSocket      *self,
                                                      LsLocalSocketState  state);
/* The end of every connected life: resources first, then the signals. */
void      ls_local_socket_teardown_internal          (LsLocalSocket      *self,
                                                      gboolean            through_closing);
/* Keeps a reference while a graceful close still has output to deliver
 * from the main loop; teardown drops it. */
void      ls_local_socket_hold_while_closing_internal (LsLocalSocket     *self);
/* Closes the descriptor and drops everything tied to it, without signals. */
void      ls_local_socket_release_fd_internal        (LsLocalSocket      *self);
/* QIODevice::close(): about-to-close, then the read buffer goes. */
void      ls_local_socket_close_device_internal      (LsLocalSocket      *self);
/* Drops the unread input (and its descriptors) or the unsent output. */
void      ls_local_socket_clear_input_internal       (LsLocalSocket      *self);
void      ls_local_socket_clear_output_internal      (LsLocalSocket      *self);
/* Takes @server_name and @full_server_name (GRefStrings or NULL) and
 * notifies each name that changed. */
void      ls_local_socket_replace_names_internal     (LsLocalSocket      *self,
                                                      char               *server_name,
                                                      char               *full_server_name);

/* ls-local-socket-connect.c */
/* A wait for @what ("ready read", ...) inside connect_to_server ()'s
 * CONNECTING emission gives the attempt up, as in Qt: UNCONNECTED, the
 * names cleared, error-occurred (UNKNOWN); the attempt then fails with
 * SERVER_NOT_FOUND. */
void      ls_local_socket_give_up_starting_connect_internal (LsLocalSocket *self,
                                                             const char    *what);
/* One connect() attempt; on a full listen backlog the next one is
 * scheduled (@schedule_retry, with a main loop) after a doubling delay. */
void      ls_local_socket_try_connect_internal       (LsLocalSocket      *self,
                                                      gboolean            schedule_retry);

/* ls-local-socket-io.c: the I/O engine */
/* Registers a connected descriptor with @core (owned, nullable: no main
 * loop serves the socket). FALSE with errno set if the watch cannot be made. */
gboolean  ls_local_socket_attach_fd_internal         (LsLocalSocket      *self,
                                                      LsEventCore        *core,
                                                      int                 fd);
void      ls_local_socket_update_watch_internal      (LsLocalSocket      *self);
/* Reads, emits ready-read and handles end-of-file. Returns whether new
 * bytes arrived. */
gboolean  ls_local_socket_read_and_notify_internal   (LsLocalSocket      *self);
/* Writes as much queued output as the kernel takes. Returns the number of
 * bytes written, or -1 if the connection broke. */
gssize    ls_local_socket_flush_output_internal      (LsLocalSocket      *self);
/* For the stream view's reads: with nothing buffered, receives up to
 * @count bytes straight into @dest, past the input buffer (and so without
 * ready-read). Returns how many came; 0 when the connection ended (the
 * peer-closed sequence has run, signals and all); -1 when nothing is
 * there yet. Descriptors that came with the bytes are takeable at once. */
gssize    ls_local_socket_receive_into_internal      (LsLocalSocket      *self,
                                                      guint8             *dest,
                                                      gsize               count);
/* The peer has gone: takes in what it sent, then ends the connection. */
void      ls_local_socket_peer_gone_internal         (LsLocalSocket      *self,
                                                      int                 errno_value,
                                                      gboolean            through_closing);

/* ls-local-socket-wait.c */
/* One blocking round of the stream view's calls: polls the descriptor (and
 * @cancel_fd, -1 for none), then reads and writes as the wait_for_* calls
 * do. FALSE when nothing more can happen or @cancel_fd became readable. */
gboolean  ls_local_socket_wait_step_internal         (LsLocalSocket      *self,
                                                      int                 cancel_fd);

/* ls-local-socket-stream.c */
/* Queues @bytes (owned) after the checks of write(). Returns their size,
 * or -1 when the socket cannot write, recorded (unlike write (), also on a
 * socket that is not open) for the caller's GError. */
gssize    ls_local_socket_queue_output_internal      (LsLocalSocket      *self,
                                                      GBytes             *bytes);
/* Removes @n buffered bytes (at most what is buffered) and returns them. */
GBytes   *ls_local_socket_take_input_internal        (LsLocalSocket      *self,
                                                      gsize               n);
/* The same into @dest, without a GBytes (the stream view's reads). */
void      ls_local_socket_take_input_into_internal   (LsLocalSocket      *self,
                                                      guint8             *dest,
                                                      gsize               n);

G_END_DECLS
