/* ls-local-socket.c: a local (Unix domain) stream socket, the twin of QLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket.h"
#include "ls-enum-types.h"
#include "ls-local-socket-private.h"
#include "ls-deadline-private.h"
#include "ls-fd-queue-private.h"
#include "ls-names-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/**
 * LsLocalSocket:
 *
 * A local (Unix domain) stream socket, the GLib twin of Qt's
 * `QLocalSocket`: the client side ([method@Ls.LocalSocket.connect_to_server])
 * and what [method@Ls.LocalServer.next_pending_connection] returns.
 *
 * Like Qt, I/O is buffered: [method@Ls.LocalSocket.write] queues the data
 * and returns at once; it leaves when the main loop runs, on
 * [method@Ls.LocalSocket.flush], [method@Ls.LocalSocket.wait_for_bytes_written]
 * or on disconnect. Incoming data lands in a buffer and
 * [signal@Ls.LocalSocket::ready-read] announces it:
 *
 * ```c
 * static void
 * on_ready_read (LsLocalSocket *socket, gpointer user_data)
 * {
 *   g_autoptr(GBytes) data = ls_local_socket_read_all (socket);
 *   ls_local_socket_write_bytes (socket, data);   // echo
 * }
 * ```
 *
 * Connecting is synchronous, as in Qt on Linux: when
 * [method@Ls.LocalSocket.connect_to_server] returns, the socket is connected
 * or has failed, except while the server's listen backlog is full; then it
 * stays %LS_LOCAL_SOCKET_STATE_CONNECTING and retries with a bounded
 * back-off until [property@Ls.LocalSocket:connect-timeout].
 *
 * The blocking `wait_for_*` calls poll the socket's own descriptor and never
 * iterate a main context; they emit the same signals the main loop would.
 * A timeout records %LS_SOCKET_ERROR_SOCKET_TIMEOUT for
 * [method@Ls.LocalSocket.get_error] but, unlike Qt, emits no
 * [signal@Ls.LocalSocket::error-occurred]: the connection is healthy.
 *
 * The socket attaches to the thread-default [struct@GLib.MainContext] of
 * the thread that connects it (or adopts a descriptor); signals are emitted
 * there. Buffers are allocated on demand: an idle connection holds none.
 *
 * Since: 1.0
 */

#define READ_CHUNK          (64 * 1024)
#define MAX_IOV             64
#define RETRY_FIRST_MS      1
#define RETRY_MAX_MS        100
#define UNKNOWN_ERROR_TEXT  "Unknown error"
#define DEFAULT_MAX_MESSAGE_SIZE (16 * 1024 * 1024)

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
  int                 closed_errno;

  /* Input: in_data[in_start .. in_start + in_len) is unread. */
  guint8             *in_data;
  gsize               in_start;
  gsize               in_len;
  gsize               in_alloc;

  /* Output: out_head, partially sent up to out_offset, then out_rest (a
   * queue of GBytes). Most writes are one chunk, which needs no list node. */
  GBytes             *out_head;
  GQueue              out_rest;
  gsize               out_offset;
  gint64              out_len;
  gint64              written_unannounced;  /* by a bytes-written handler's flush */

  /* Descriptors sent or received with the stream; NULL until the first. */
  LsFdQueue          *fdq;

  /* Connecting while the listen backlog is full. */
  LsAddress          *address;                /* only while connecting */
  GSource            *retry_source;
  guint               retry_ms;
  gint64              connect_deadline;

  guint               is_open : 1;              /* QIODevice-style "open" */
  guint               in_pooled : 1;            /* in_data is a pooled block */
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
  guint               has_owner : 1;
  guint               draining : 1;             /* taking in all the gone peer sent */
  guint               has_gsocket : 1;          /* get_socket () made one (qdata) */
  guint               fd_failure : 1;           /* received descriptors were lost or too many */
};

G_DEFINE_FINAL_TYPE (LsLocalSocket, ls_local_socket, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SERVER_NAME,
  PROP_FULL_SERVER_NAME,
  PROP_SOCKET_OPTIONS,
  PROP_READ_BUFFER_SIZE,
  PROP_CONNECT_TIMEOUT,
  PROP_STATE,
  PROP_MAX_MESSAGE_SIZE,
  N_PROPS
};

enum {
  CONNECTED,
  DISCONNECTED,
  ERROR_OCCURRED,
  STATE_CHANGED,
  READY_READ,
  BYTES_WRITTEN,
  ABOUT_TO_CLOSE,
  READ_CHANNEL_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void on_watch (gpointer owner, LsWatchCondition condition);

/* The name errors mention: a GRefString, or NULL before any was set. */
static char *
current_name (LsLocalSocket *self)
{
  return self->full_server_name != NULL ? self->full_server_name : self->server_name;
}

static const char *
display_name (LsLocalSocket *self)
{
  return current_name (self) != NULL ? current_name (self) : "";
}

static void
record_error (LsLocalSocket *self,
              LsSocketError  code,
              char          *message)
{
  g_free (self->error_string);
  self->error_string = message;
  self->error = code;
  self->closed_message_due = FALSE;
  g_clear_pointer (&self->closed_name, g_ref_string_release);
}

static void
format_closed_message (LsLocalSocket *self)
{
  if (self->closed_message_due)
    {
      self->error_string =
        g_strdup_printf ("Connection to “%s” closed: Remote closed (%s)",
                         self->closed_name ? self->closed_name : "",
                         self->closed_errno ? g_strerror (self->closed_errno)
                                            : "the peer closed the connection");
      self->closed_message_due = FALSE;
      g_clear_pointer (&self->closed_name, g_ref_string_release);
    }
}

static void
emit_error (LsLocalSocket *self,
            LsSocketError  code,
            char          *message)
{
  record_error (self, code, message);
  g_signal_emit (self, signals[ERROR_OCCURRED], 0, code);
}

static void
set_state (LsLocalSocket      *self,
           LsLocalSocketState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  /* A notify handler may have moved on already: announce only what is. */
  if (self->state == state)
    g_signal_emit (self, signals[STATE_CHANGED], 0, state);
}

static void
clear_output (LsLocalSocket *self)
{
  g_clear_pointer (&self->out_head, g_bytes_unref);
  g_queue_clear_full (&self->out_rest, (GDestroyNotify) g_bytes_unref);
  self->out_offset = 0;
  self->out_len = 0;
  self->flush_deferred = FALSE;
  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_clear_output (self->fdq);
}

/* Read blocks are recycled: a bulk transfer hands each one to the
 * application as a GBytes and gets it back when that is freed, instead of
 * making glibc grow, fault in and trim heap pages for every chunk. GBytes
 * may be freed in any thread, hence the lock. */
#define BLOCK_POOL_SIZE 16
static GMutex   block_pool_lock;
static gpointer block_pool[BLOCK_POOL_SIZE];
static guint    block_pool_len;

/* One block cached per thread spares the lock for every small message. The
 * __thread pointer is the fast path; the GPrivate only frees it when the
 * thread exits. */
typedef struct
{
  gpointer block;
} ThreadBlockCache;

static __thread ThreadBlockCache *thread_cache;

static void
thread_cache_free (gpointer data)
{
  ThreadBlockCache *cache = data;

  thread_cache = NULL;
  g_free (cache->block);
  g_free (cache);
}

static GPrivate thread_cache_key = G_PRIVATE_INIT (thread_cache_free);

static ThreadBlockCache *
get_thread_cache (void)
{
  if (G_UNLIKELY (thread_cache == NULL))
    {
      thread_cache = g_new0 (ThreadBlockCache, 1);
      g_private_set (&thread_cache_key, thread_cache);
    }
  return thread_cache;
}

static guint8 *
block_acquire (void)
{
  ThreadBlockCache *cache = get_thread_cache ();
  gpointer block = cache->block;

  if (block != NULL)
    {
      cache->block = NULL;
      return block;
    }

  g_mutex_lock (&block_pool_lock);
  if (block_pool_len > 0)
    block = block_pool[--block_pool_len];
  g_mutex_unlock (&block_pool_lock);
  return block != NULL ? block : g_malloc (READ_CHUNK);
}

static void
block_release (gpointer block)
{
  ThreadBlockCache *cache = get_thread_cache ();

  if (cache->block == NULL)
    {
      cache->block = block;
      return;
    }

  g_mutex_lock (&block_pool_lock);
  if (block_pool_len < BLOCK_POOL_SIZE)
    {
      block_pool[block_pool_len++] = block;
      block = NULL;
    }
  g_mutex_unlock (&block_pool_lock);
  g_free (block);
}

static void
clear_input_buffer (LsLocalSocket *self)
{
  if (self->in_pooled)
    block_release (self->in_data);
  else
    g_free (self->in_data);
  self->in_data = NULL;
  self->in_pooled = FALSE;
  self->in_start = self->in_len = self->in_alloc = 0;
  self->message_need = 0;
}

/* Drops the unread input, and the descriptors that came with any input. */
static void
clear_input (LsLocalSocket *self)
{
  clear_input_buffer (self);
  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_clear_input (self->fdq);
}

static void
cancel_retry (LsLocalSocket *self)
{
  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
    }
}

/* Closes the descriptor and drops everything tied to it, without signals. */
static void
release_fd (LsLocalSocket *self)
{
  cancel_retry (self);
  clear_output (self);
  g_clear_pointer (&self->watch, ls_watch_free);
  if (self->has_gsocket)
    {
      self->has_gsocket = FALSE;
      ls_local_socket_release_gsocket (self);
    }
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  g_clear_pointer (&self->address, ls_address_free);
  g_clear_pointer (&self->core, ls_event_core_unref);
  self->read_eof = FALSE;
}

/* Takes @server_name and @full_server_name (GRefStrings or NULL) and
 * notifies each name that changed. */
static void
replace_names (LsLocalSocket *self,
               char          *server_name,
               char          *full_server_name)
{
  gboolean server_changed = g_strcmp0 (self->server_name, server_name) != 0;
  gboolean full_changed = g_strcmp0 (self->full_server_name, full_server_name) != 0;

  g_clear_pointer (&self->server_name, g_ref_string_release);
  g_clear_pointer (&self->full_server_name, g_ref_string_release);
  self->server_name = server_name;
  self->full_server_name = full_server_name;
  if (server_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_NAME]);
  if (full_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FULL_SERVER_NAME]);
}

static void
clear_names (LsLocalSocket *self)
{
  replace_names (self, NULL, NULL);
}

static gboolean
read_allowed (LsLocalSocket *self)
{
  if (self->read_eof)
    return FALSE;
  /* After close() incoming data is discarded, so the limit does not apply;
   * nor once the peer has gone (see peer_gone()), nor to the rest of a
   * framed message being assembled. */
  return !self->is_open || self->draining || self->read_buffer_size <= 0 ||
         (gint64) self->in_len < self->read_buffer_size ||
         self->in_len < self->message_need;
}

static void
update_watch (LsLocalSocket *self)
{
  LsWatchCondition events = 0;

  if (self->watch == NULL)
    return;
  if (read_allowed (self))
    events |= LS_WATCH_READ;
  else if (!self->read_eof)
    events |= LS_WATCH_HANGUP;  /* buffer full: still learn that the peer left */
  /* Writability only matters once the kernel refused data; a flush that
   * is already scheduled needs no epoll_ctl round trip. */
  if (self->out_len > 0 && !self->flush_deferred)
    events |= LS_WATCH_WRITE;
  ls_watch_set_events (self->watch, events);
}

/* The end of every connected life: resources first, then the signals, so
 * handlers that abort or unref find a consistent object. */
static void
teardown (LsLocalSocket *self,
          gboolean       through_closing)
{
  gboolean was_connected = self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
                           self->state == LS_LOCAL_SOCKET_STATE_CLOSING;
  gboolean held = self->closing_hold;
  guint life = self->life;

  self->closing_hold = FALSE;
  release_fd (self);
  self->tearing_down = TRUE;
  if (through_closing && was_connected)
    set_state (self, LS_LOCAL_SOCKET_STATE_CLOSING);
  /* As in Qt, the names go before UNCONNECTED is announced: a handler may
   * connect again from there, and the new names are not to be touched. */
  clear_names (self);
  set_state (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  if (self->life == life)
    {
      self->tearing_down = FALSE;
      self->ending = FALSE;
    }
  if (was_connected)
    {
      g_signal_emit (self, signals[READ_CHANNEL_FINISHED], 0);
      g_signal_emit (self, signals[DISCONNECTED], 0);
    }
  /* Every caller holds a reference of its own, so this is never the last. */
  if (held)
    g_object_unref (self);
}

/* While a graceful close still has output to deliver from the main loop,
 * the socket keeps itself alive: an application that disconnects and drops
 * its reference at once (“reply, disconnect, unref”) still gets every byte
 * delivered, instead of a reply cut short that the peer would take for a
 * clean end. The reference goes at the end of teardown(). */
static void
hold_while_closing (LsLocalSocket *self)
{
  if (self->closing_hold || self->watch == NULL || self->out_len == 0)
    return;
  self->closing_hold = TRUE;
  g_object_ref (self);
}

/* Has the queued output written from the main loop (after the current
 * dispatch, or at the next iteration). */
static void
schedule_flush (LsLocalSocket *self)
{
  self->flush_deferred = TRUE;
  ls_watch_defer (self->watch);
}

static void
emit_peer_closed (LsLocalSocket *self,
                  int            errno_value)
{
  /* Nothing more will come: a handler that waits returns at once instead
   * of finding the end again and reporting it a second time. */
  self->ending = TRUE;
  record_error (self, LS_SOCKET_ERROR_PEER_CLOSED, NULL);
  self->closed_name = current_name (self) ? g_ref_string_acquire (current_name (self)) : NULL;
  self->closed_errno = errno_value;
  self->closed_message_due = TRUE;
  g_signal_emit (self, signals[ERROR_OCCURRED], 0, LS_SOCKET_ERROR_PEER_CLOSED);
}

/* The peer-closed sequence: error-occurred (PEER_CLOSED), then, as in Qt,
 * through CLOSING when the end was read, straight to UNCONNECTED when a
 * write found the peer gone (Qt aborts then). */
static void
peer_closed (LsLocalSocket *self,
             int            errno_value,
             gboolean       through_closing)
{
  if (self->tearing_down || self->fd < 0)
    return;
  emit_peer_closed (self, errno_value);
  if (self->fd >= 0 && !self->tearing_down)
    teardown (self, through_closing);
}

/* The peer sent its last byte (end-of-file) while our output is still
 * queued. It may well be waiting for exactly that output (a request,
 * shutdown (SHUT_WR), then read the reply), so the output is delivered
 * before the socket closes, as in a graceful disconnect: the state is
 * CLOSING meanwhile. Closing at once would cut the reply short and the
 * peer would take the cut for a clean end. */
static void
peer_half_closed (LsLocalSocket *self)
{
  self->read_eof = TRUE;
  emit_peer_closed (self, 0);
  if (self->fd < 0 || self->tearing_down || self->state != LS_LOCAL_SOCKET_STATE_CONNECTED)
    return;
  set_state (self, LS_LOCAL_SOCKET_STATE_CLOSING);
  if (self->fd < 0 || self->state != LS_LOCAL_SOCKET_STATE_CLOSING)
    return;
  if (self->out_len == 0)
    teardown (self, FALSE);
  else
    {
      hold_while_closing (self);
      update_watch (self);
    }
}

/* Makes room for @space more bytes at the end of the input buffer. */
static guint8 *
input_tail (LsLocalSocket *self,
            gsize          space)
{
  gsize needed;

  if (self->in_start > 0 && self->in_start + self->in_len + space > self->in_alloc)
    {
      memmove (self->in_data, self->in_data + self->in_start, self->in_len);
      self->in_start = 0;
    }
  needed = self->in_start + self->in_len + space;
  if (needed > self->in_alloc && self->in_pooled)
    {
      guint8 *data = g_malloc (MAX (needed, self->in_alloc * 2));

      memcpy (data, self->in_data + self->in_start, self->in_len);
      block_release (self->in_data);
      self->in_data = data;
      self->in_alloc = MAX (needed, self->in_alloc * 2);
      self->in_start = 0;
      self->in_pooled = FALSE;
    }
  else if (needed > self->in_alloc)
    {
      gsize alloc = MAX (needed, self->in_alloc * 2);
      self->in_data = g_realloc (self->in_data, alloc);
      self->in_alloc = alloc;
    }
  return self->in_data + self->in_start + self->in_len;
}

/* Room for one SCM_RIGHTS message of the most descriptors the kernel
 * sends at once. */
typedef union
{
  char           buf[CMSG_SPACE (LS_FD_QUEUE_MAX_PER_MESSAGE * sizeof (int))];
  struct cmsghdr align;
} LsControlBuffer;

/* Closes the descriptors of a control message nobody will read. */
static void
discard_control (struct msghdr *msg)
{
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        guint count = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        int fds[LS_FD_QUEUE_MAX_PER_MESSAGE];

        count = MIN (count, G_N_ELEMENTS (fds));
        memcpy (fds, CMSG_DATA (cmsg), count * sizeof (int));
        ls_fd_close_all (fds, count);
      }
}

/* Keeps the descriptors that came with the bytes just buffered, tied to
 * the end of those bytes. Lost descriptors (a truncated control message:
 * this process ran out of descriptors, or the buffer was too small) and a
 * peer that piles up more than LS_FD_QUEUE_MAX_WAITING untaken ones are
 * errors that end the connection (fd_failure): silently losing or
 * endlessly hoarding descriptors is not an option. */
static void
receive_fds (LsLocalSocket *self,
             struct msghdr *msg)
{
  int *fds = NULL;
  guint n_fds = 0;

  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        guint count = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);

        fds = g_renew (int, fds, n_fds + count);
        memcpy (fds + n_fds, CMSG_DATA (cmsg), count * sizeof (int));
        n_fds += count;
      }

  if (msg->msg_flags & MSG_CTRUNC)
    {
      ls_fd_close_all (fds, n_fds);
      g_free (fds);
      record_error (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                    g_strdup_printf ("Cannot read from “%s”: Out of resources (descriptors "
                                     "sent with the data were lost: the control message was "
                                     "truncated, because this process is out of descriptors "
                                     "or the peer sent more than fit)", display_name (self)));
      self->fd_failure = TRUE;
      return;
    }
  if (n_fds == 0)
    return;
  if (self->fdq == NULL)
    self->fdq = ls_fd_queue_new ();
  if (ls_fd_queue_push_input (self->fdq, self->in_len, fds, n_fds) > LS_FD_QUEUE_MAX_WAITING)
    {
      record_error (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                    g_strdup_printf ("Cannot read from “%s”: Out of resources (the peer sent "
                                     "more than %u descriptors that the application did not "
                                     "take)", display_name (self), LS_FD_QUEUE_MAX_WAITING));
      self->fd_failure = TRUE;
    }
}

/* Ends the connection after receive_fds() found a failure (recorded
 * there); the descriptors received so far are closed. */
static void
fail_for_fds (LsLocalSocket *self)
{
  self->fd_failure = FALSE;
  if (self->fdq != NULL)
    ls_fd_queue_clear_input (self->fdq);
  if (self->fd < 0 || self->tearing_down)
    return;
  g_object_ref (self);
  g_signal_emit (self, signals[ERROR_OCCURRED], 0, self->error);
  if (self->fd >= 0 && !self->tearing_down)
    teardown (self, FALSE);
  g_object_unref (self);
}

/* Moves what the kernel has into the input buffer: one recv() per
 * readiness event (level-triggered epoll reports the rest). Returns the
 * number of new bytes; sets *eof when the peer has closed. */
static gsize
fill_input (LsLocalSocket *self,
            int           *eof_errno,
            gboolean      *eof)
{
  gsize space = READ_CHUNK;
  guint8 *block = NULL;
  guint8 *target;
  LsControlBuffer control;
  struct iovec iov;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  gssize n;

  *eof = FALSE;
  *eof_errno = 0;
  if (self->read_buffer_size > 0 && self->is_open && !self->draining)
    {
      gint64 limit = MAX (self->read_buffer_size, (gint64) self->message_need);

      if ((gint64) self->in_len >= limit)
        return 0;
      space = MIN (space, (gsize) (limit - self->in_len));
    }

  /* Into an empty buffer, read into a pooled block: big reads keep it and
   * hand it to the application without copying; small ones are copied out
   * so an idle connection never pins 64 KiB. */
  if (self->in_len == 0)
    target = block = block_acquire ();
  else
    target = input_tail (self, space);

  /* Always recvmsg() with room for descriptors: descriptors sent to a
   * plain recv() are silently closed by the kernel. The price, measured
   * with 64-byte messages on a socketpair: a send + read pair takes about
   * 1.5 us instead of 1.3 us; nothing is allocated. */
  iov.iov_base = target;
  iov.iov_len = space;
  do
    {
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      n = recvmsg (self->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    }
  while (n < 0 && errno == EINTR);

  if (G_UNLIKELY (n >= 0 && msg.msg_controllen > 0 && (n == 0 || !self->is_open)))
    discard_control (&msg);
  if (n <= 0)
    {
      if (n == 0)
        *eof = TRUE;
      else if (errno != EAGAIN)
        {
          *eof = TRUE;
          *eof_errno = errno;
        }
      if (block != NULL)
        block_release (block);
      return 0;
    }

  /* close() dropped the read side: nobody will read this. */
  if (!self->is_open)
    {
      if (block != NULL)
        block_release (block);
      return 0;
    }

  if (block == NULL)
    self->in_len += n;
  else if ((gsize) n > READ_CHUNK / 4)
    {
      self->in_data = block;
      self->in_alloc = READ_CHUNK;
      self->in_pooled = TRUE;
      self->in_start = 0;
      self->in_len = n;
    }
  else
    {
      self->in_data = g_memdup2 (block, n);
      self->in_alloc = n;
      self->in_start = 0;
      self->in_len = n;
      block_release (block);
    }
  if (G_UNLIKELY (msg.msg_controllen > 0 || (msg.msg_flags & MSG_CTRUNC)))
    receive_fds (self, &msg);
  return n;
}

/* Emits ready-read for newly buffered bytes. Never recursively, as in Qt.
 * But data that arrived while a handler ran a nested main loop (a modal
 * dialog, say) is announced once the handler returns; Qt leaves it
 * unannounced until more data comes, which stalls a request/response peer. */
static void
announce_ready_read (LsLocalSocket *self)
{
  if (self->emitting_ready_read)
    {
      self->ready_read_missed = TRUE;
      return;
    }
  do
    {
      self->ready_read_missed = FALSE;
      self->emitting_ready_read = TRUE;
      g_signal_emit (self, signals[READY_READ], 0);
      self->emitting_ready_read = FALSE;
    }
  while (self->ready_read_missed && self->in_len > 0 && self->fd >= 0);
}

/* Reads, emits ready-read and handles end-of-file. Returns whether new
 * bytes arrived. */
static gboolean
read_and_notify (LsLocalSocket *self)
{
  gboolean eof;
  int eof_errno;
  gsize got;

  got = fill_input (self, &eof_errno, &eof);
  if (G_UNLIKELY (self->fd_failure))
    {
      fail_for_fds (self);
      return FALSE;
    }
  if (got > 0)
    announce_ready_read (self);
  if (eof && eof_errno == 0 && self->out_len > 0 && self->fd >= 0)
    peer_half_closed (self);
  else if (eof)
    peer_closed (self, eof_errno, TRUE);
  else
    update_watch (self);
  return got > 0;
}

/* The peer has gone. What it sent before leaving is bounded by the
 * kernel's socket buffer, so all of it is taken in now, past
 * read-buffer-size: the connection can then end at once without losing a
 * byte, and without waiting for the application to make room (a socket
 * whose reader is slow would otherwise stay connected, accepting writes
 * that go nowhere). Our queued output can no longer be delivered. */
static void
peer_gone (LsLocalSocket *self,
           int            errno_value,
           gboolean       through_closing)
{
  gboolean eof = FALSE;
  gboolean got = FALSE;
  int eof_errno = 0;

  clear_output (self);
  self->draining = TRUE;
  while (self->fd >= 0 && !self->read_eof && !eof && !self->fd_failure &&
         fill_input (self, &eof_errno, &eof) > 0)
    got = TRUE;
  self->draining = FALSE;
  if (G_UNLIKELY (self->fd_failure))
    {
      fail_for_fds (self);
      return;
    }
  if (got)
    announce_ready_read (self);
  if (self->fd < 0 || self->tearing_down)
    return;
  /* After a half-close the error was reported already. */
  if (self->read_eof)
    teardown (self, FALSE);
  else
    peer_closed (self, errno_value ? errno_value : eof_errno, through_closing);
}

static void
finish_disconnect (LsLocalSocket *self)
{
  teardown (self, FALSE);
}

/* Writes as much queued output as the kernel takes. Returns the number of
 * bytes written, or -1 if the connection broke. */
static gssize
flush_output (LsLocalSocket *self)
{
  gssize total = 0;
  gboolean notify;

  self->flush_deferred = FALSE;
  while (self->fd >= 0 && self->out_head != NULL)
    {
      struct iovec iov[MAX_IOV];
      struct msghdr msg = { .msg_iov = iov };
      gsize size;
      const guint8 *data = g_bytes_get_data (self->out_head, &size);
      const int *fds = NULL;
      guint n_fds = 0;
      gsize limit = G_MAXSIZE;
      LsControlBuffer control;
      gssize n;

      if (G_UNLIKELY (self->fdq != NULL))
        fds = ls_fd_queue_plan_send (self->fdq, &n_fds, &limit);

      iov[0].iov_base = (guint8 *) data + self->out_offset;
      iov[0].iov_len = size - self->out_offset;
      msg.msg_iovlen = 1;
      for (GList *link = self->out_rest.head; link != NULL && msg.msg_iovlen < MAX_IOV; link = link->next)
        {
          data = g_bytes_get_data (link->data, &size);
          iov[msg.msg_iovlen].iov_base = (guint8 *) data;
          iov[msg.msg_iovlen].iov_len = size;
          msg.msg_iovlen++;
        }
      if (G_UNLIKELY (limit != G_MAXSIZE))
        {
          /* A byte that carries descriptors starts a send of its own, so
           * that a partial send never separates them from it. */
          gsize sum = 0;

          for (gsize i = 0; i < msg.msg_iovlen; i++)
            {
              if (iov[i].iov_len >= limit - sum)
                {
                  iov[i].iov_len = limit - sum;
                  msg.msg_iovlen = i + 1;
                  break;
                }
              sum += iov[i].iov_len;
            }
        }
      if (G_UNLIKELY (fds != NULL))
        {
          struct cmsghdr *cmsg;

          msg.msg_control = control.buf;
          msg.msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
          memset (control.buf, 0, msg.msg_controllen);
          cmsg = CMSG_FIRSTHDR (&msg);
          cmsg->cmsg_level = SOL_SOCKET;
          cmsg->cmsg_type = SCM_RIGHTS;
          cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
          memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
        }

      if (msg.msg_iovlen == 1 && fds == NULL)
        n = send (self->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
      else
        n = sendmsg (self->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          if (saved_errno == EAGAIN)
            break;
          g_object_ref (self);
          if (saved_errno == EPIPE || saved_errno == ECONNRESET)
            peer_gone (self, saved_errno, FALSE);
          else if (!self->tearing_down && self->fd >= 0)
            {
              emit_error (self, LS_SOCKET_ERROR_CONNECTION,
                          g_strdup_printf ("Cannot write to “%s”: Connection error (%s)",
                                           display_name (self), g_strerror (saved_errno)));
              if (self->fd >= 0 && !self->tearing_down)
                teardown (self, FALSE);
            }
          g_object_unref (self);
          return -1;
        }

      total += n;
      self->out_len -= n;
      if (G_UNLIKELY (self->fdq != NULL))
        ls_fd_queue_sent (self->fdq, n, fds != NULL);
      while (n > 0)
        {
          gsize left = g_bytes_get_size (self->out_head) - self->out_offset;

          if ((gsize) n < left)
            {
              self->out_offset += n;
              break;
            }
          n -= left;
          self->out_offset = 0;
          g_bytes_unref (self->out_head);
          self->out_head = g_queue_pop_head (&self->out_rest);
        }
    }

  update_watch (self);
  /* Never recursively, as in Qt; but what a handler's own flush wrote is
   * announced once the handler returns (Qt leaves it unannounced, and a
   * writer that waits for bytes-written to send more then stalls). */
  if (total > 0 && self->emitting_bytes_written)
    self->written_unannounced += total;
  notify = total > 0 && !self->emitting_bytes_written &&
           g_signal_has_handler_pending (self, signals[BYTES_WRITTEN], 0, TRUE);
  if (!notify && self->state != LS_LOCAL_SOCKET_STATE_CLOSING)
    return total;

  /* Handlers may drop the last reference (on_watch holds none for a flush). */
  g_object_ref (self);
  if (notify)
    {
      gint64 announce = total;

      do
        {
          self->written_unannounced = 0;
          self->emitting_bytes_written = TRUE;
          g_signal_emit (self, signals[BYTES_WRITTEN], 0, announce);
          self->emitting_bytes_written = FALSE;
          announce = self->written_unannounced;
        }
      while (announce > 0 && self->fd >= 0);
      self->written_unannounced = 0;
    }
  if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->out_len == 0 &&
      self->fd >= 0 && !self->tearing_down)
    finish_disconnect (self);
  g_object_unref (self);
  return total;
}

static void
on_watch (gpointer         owner,
          LsWatchCondition condition)
{
  LsLocalSocket *self = owner;
  gboolean reading = (condition & (LS_WATCH_READ | LS_WATCH_HANGUP)) && self->fd >= 0;

  /* Handlers may drop the last reference. Reading always emits, so it
   * holds one; flush_output() takes its own only when it emits, which
   * spares the common deferred flush a ref/unref pair. */
  if (reading)
    {
      g_object_ref (self);
      if (condition & LS_WATCH_READ)
        read_and_notify (self);
      else
        peer_gone (self, 0, TRUE);
    }
  if ((condition & (LS_WATCH_WRITE | LS_WATCH_DEFERRED)) && self->fd >= 0 && self->out_len > 0)
    flush_output (self);
  else if ((condition & LS_WATCH_DEFERRED) && self->state == LS_LOCAL_SOCKET_STATE_CLOSING &&
           self->fd >= 0 && !self->tearing_down)
    {
      g_object_ref (self);
      finish_disconnect (self);
      g_object_unref (self);
    }
  if (reading)
    g_object_unref (self);
}

/* A new connection (attempt) begins: what an emitter of the previous one
 * still has to do no longer applies to this object. */
static void
begin_life (LsLocalSocket *self)
{
  self->life++;
  self->tearing_down = FALSE;
  self->ending = FALSE;
}

/* Registers a connected descriptor with the event core of @core. */
static gboolean
attach_fd (LsLocalSocket *self,
           LsEventCore   *core,
           int            fd)
{
  self->fd = fd;
  if (self->core != core)
    {
      g_clear_pointer (&self->core, ls_event_core_unref);
      self->core = core;
    }
  /* No main loop serves the socket: only its blocking calls drive it. */
  if (core == NULL)
    return TRUE;
  self->watch = ls_watch_new (core, fd, LS_WATCH_READ, on_watch, self);
  if (self->watch == NULL)
    return FALSE;
  update_watch (self);
  return TRUE;
}

/* The event core the calling thread's main loop runs, in *core; NULL
 * there when no main loop serves this thread (then only the blocking calls
 * drive the socket, in this thread, so no main loop elsewhere can touch it
 * at the same time). FALSE with errno set if the core cannot be made. */
static gboolean
ref_thread_core (LsEventCore **core)
{
  g_autoptr(GMainContext) context = NULL;

  *core = NULL;
  if (!ls_event_core_thread_is_served ())
    return TRUE;
  context = g_main_context_ref_thread_default ();
  *core = ls_event_core_ref_for_context (context);
  return *core != NULL;
}

static void
ls_local_socket_dispose (GObject *object)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  /* Like Qt's destructor, unflushed data is dropped; no signals now. */
  release_fd (self);
  g_clear_pointer (&self->fdq, ls_fd_queue_free);
  self->state = LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  G_OBJECT_CLASS (ls_local_socket_parent_class)->dispose (object);
}

static void
ls_local_socket_finalize (GObject *object)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  clear_input (self);
  g_clear_pointer (&self->server_name, g_ref_string_release);
  g_clear_pointer (&self->full_server_name, g_ref_string_release);
  record_error (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  G_OBJECT_CLASS (ls_local_socket_parent_class)->finalize (object);
}

static void
ls_local_socket_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  switch (prop_id)
    {
    case PROP_SERVER_NAME:
      g_value_set_string (value, ls_local_socket_get_server_name (self));
      break;
    case PROP_FULL_SERVER_NAME:
      g_value_set_string (value, ls_local_socket_get_full_server_name (self));
      break;
    case PROP_SOCKET_OPTIONS:
      g_value_set_flags (value, self->options);
      break;
    case PROP_READ_BUFFER_SIZE:
      g_value_set_int64 (value, self->read_buffer_size);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ls_local_socket_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  switch (prop_id)
    {
    case PROP_SERVER_NAME:
      ls_local_socket_set_server_name (self, g_value_get_string (value));
      break;
    case PROP_SOCKET_OPTIONS:
      ls_local_socket_set_socket_options (self, g_value_get_flags (value));
      break;
    case PROP_READ_BUFFER_SIZE:
      ls_local_socket_set_read_buffer_size (self, g_value_get_int64 (value));
      break;
    case PROP_CONNECT_TIMEOUT:
      ls_local_socket_set_connect_timeout (self, g_value_get_int (value));
      break;
    case PROP_MAX_MESSAGE_SIZE:
      ls_local_socket_set_max_message_size (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ls_local_socket_class_init (LsLocalSocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ls_local_socket_dispose;
  object_class->finalize = ls_local_socket_finalize;
  object_class->get_property = ls_local_socket_get_property;
  object_class->set_property = ls_local_socket_set_property;

  /**
   * LsLocalSocket:server-name: (getter get_server_name) (setter set_server_name)
   *
   * The name to connect to (or connected to), as given; "" when unset.
   *
   * Since: 1.0
   */
  properties[PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:full-server-name: (getter get_full_server_name)
   *
   * The resolved path or abstract name of the connection, or "".
   *
   * Since: 1.0
   */
  properties[PROP_FULL_SERVER_NAME] =
    g_param_spec_string ("full-server-name", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * LsLocalSocket:socket-options: (getter get_socket_options) (setter set_socket_options)
   *
   * %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE to connect to an abstract address;
   * the permission bits are ignored on the client side.
   *
   * Since: 1.0
   */
  properties[PROP_SOCKET_OPTIONS] =
    g_param_spec_flags ("socket-options", NULL, NULL,
                        LS_TYPE_SOCKET_OPTIONS, LS_SOCKET_OPTION_NONE,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:read-buffer-size: (getter get_read_buffer_size) (setter set_read_buffer_size)
   *
   * The most bytes buffered for reading; 0 means no limit. When the buffer
   * is full the rest waits in the kernel until the application reads.
   *
   * Since: 1.0
   */
  properties[PROP_READ_BUFFER_SIZE] =
    g_param_spec_int64 ("read-buffer-size", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:connect-timeout: (getter get_connect_timeout) (setter set_connect_timeout)
   *
   * How long, in milliseconds, a connection attempt that finds the server's
   * listen backlog full keeps retrying before it fails with
   * %LS_SOCKET_ERROR_SOCKET_TIMEOUT. Qt uses 30 seconds too.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_int ("connect-timeout", NULL, NULL, 0, G_MAXINT, 30000,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The largest message, in bytes, [method@Ls.LocalSocket.read_message]
   * accepts: a frame that announces more fails with
   * %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE before anything is buffered for it,
   * so a hostile peer cannot make the socket allocate gigabytes. The
   * default is 16 MiB.
   *
   * Since: 1.2
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size", NULL, NULL, 0, G_MAXUINT, DEFAULT_MAX_MESSAGE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:state: (getter get_state)
   *
   * The state of the connection. It is notified just before each
   * [signal@Ls.LocalSocket::state-changed] emission, so property bindings
   * and `notify::state` handlers follow the connection like the signal.
   *
   * Since: 1.2
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       LS_TYPE_LOCAL_SOCKET_STATE, LS_LOCAL_SOCKET_STATE_UNCONNECTED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * LsLocalSocket::connected:
   * @self: the socket
   *
   * Emitted when the connection is established, after
   * [signal@Ls.LocalSocket::state-changed] to %LS_LOCAL_SOCKET_STATE_CONNECTED.
   *
   * Since: 1.0
   */
  signals[CONNECTED] =
    g_signal_new ("connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * LsLocalSocket::disconnected:
   * @self: the socket
   *
   * Emitted once when a connected socket becomes unconnected, last of the
   * closing signals.
   *
   * Since: 1.0
   */
  signals[DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * LsLocalSocket::error-occurred:
   * @self: the socket
   * @error: the error
   *
   * Emitted when an error happens; [method@Ls.LocalSocket.get_error_string]
   * describes it.
   *
   * Since: 1.0
   */
  signals[ERROR_OCCURRED] =
    g_signal_new ("error-occurred", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, LS_TYPE_SOCKET_ERROR);

  /**
   * LsLocalSocket::state-changed:
   * @self: the socket
   * @state: the new state
   *
   * Emitted on every state change.
   *
   * Since: 1.0
   */
  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, LS_TYPE_LOCAL_SOCKET_STATE);

  /**
   * LsLocalSocket::ready-read:
   * @self: the socket
   *
   * Emitted once per arrival of new data, never recursively. Data that
   * arrives while a handler runs a nested main loop is announced by one
   * more emission when that handler returns, if it is still unread.
   *
   * Since: 1.0
   */
  signals[READY_READ] =
    g_signal_new ("ready-read", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * LsLocalSocket::bytes-written:
   * @self: the socket
   * @bytes: how many bytes the kernel took
   *
   * Emitted after queued data was written to the kernel, never
   * recursively. Data that a handler's own flush writes during the
   * emission is announced by one more emission when the handler returns.
   *
   * Since: 1.0
   */
  signals[BYTES_WRITTEN] =
    g_signal_new ("bytes-written", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);

  /**
   * LsLocalSocket::about-to-close:
   * @self: the socket
   *
   * Emitted by [method@Ls.LocalSocket.close] and
   * [method@Ls.LocalSocket.abort] before the read buffer is dropped.
   *
   * Since: 1.0
   */
  signals[ABOUT_TO_CLOSE] =
    g_signal_new ("about-to-close", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * LsLocalSocket::read-channel-finished:
   * @self: the socket
   *
   * Emitted once when no more data will arrive; buffered data stays
   * readable.
   *
   * Since: 1.0
   */
  signals[READ_CHANNEL_FINISHED] =
    g_signal_new ("read-channel-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
ls_local_socket_init (LsLocalSocket *self)
{
  self->fd = -1;
  self->state = LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  self->error = LS_SOCKET_ERROR_UNKNOWN;
  self->connect_timeout = 30000;
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  g_queue_init (&self->out_rest);
}

/**
 * ls_local_socket_new:
 *
 * Creates an unconnected socket.
 *
 * Returns: (transfer full): a new [class@Ls.LocalSocket]
 *
 * Since: 1.0
 */
LsLocalSocket *
ls_local_socket_new (void)
{
  return g_object_new (LS_TYPE_LOCAL_SOCKET, NULL);
}

void
ls_local_socket_mark_gsocket (LsLocalSocket *self)
{
  self->has_gsocket = TRUE;
}

LsLocalSocket *
ls_local_socket_new_accepted (LsEventCore      *core,
                              int               fd,
                              char             *server_name,
                              char             *full_server_name,
                              LsSocketOptions   options,
                              GError          **error)
{
  LsLocalSocket *self = ls_local_socket_new ();

  self->server_name = server_name ? g_ref_string_acquire (server_name) : NULL;
  self->full_server_name = full_server_name ? g_ref_string_acquire (full_server_name) : NULL;
  self->options = options & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE;
  self->state = LS_LOCAL_SOCKET_STATE_CONNECTED;
  self->is_open = TRUE;
  self->owner_thread = pthread_self ();
  self->has_owner = TRUE;
  begin_life (self);
  if (!attach_fd (self, core != NULL ? ls_event_core_ref (core) : NULL, fd))
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                   "Cannot accept a connection on “%s”: Out of resources (%s)",
                   full_server_name ? full_server_name : "", g_strerror (errno));
      g_object_unref (self);
      return NULL;
    }
  return self;
}

/* QIODevice::close(): about-to-close, then the read buffer goes. */
static void
close_device (LsLocalSocket *self)
{
  if (!self->is_open)
    return;
  self->is_open = FALSE;
  g_signal_emit (self, signals[ABOUT_TO_CLOSE], 0);
  clear_input (self);
  update_watch (self);
}

static void
connect_failed (LsLocalSocket *self,
                LsSocketError  code,
                char          *message)
{
  /* The attempt is over before anyone hears of it: a handler that waits
   * or flushes must find nothing left to retry, or the failure would be
   * reported again from inside the handler, and again, without end. */
  release_fd (self);
  emit_error (self, code, message);
  /* As in Qt, a socket still open from an earlier connection is closed. */
  close_device (self);
  clear_names (self);
  set_state (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
}

static void
connect_succeeded (LsLocalSocket *self)
{
  cancel_retry (self);
  if (!attach_fd (self, self->core, self->fd))
    {
      int saved_errno = errno;
      connect_failed (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                      g_strdup_printf ("Cannot connect to “%s”: Out of resources (%s)",
                                       self->address->full_name, g_strerror (saved_errno)));
      return;
    }
  replace_names (self, self->server_name ? g_ref_string_acquire (self->server_name) : NULL,
                 g_ref_string_new (self->address->full_name));
  g_clear_pointer (&self->address, ls_address_free);
  self->is_open = TRUE;
  record_error (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  set_state (self, LS_LOCAL_SOCKET_STATE_CONNECTED);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED)
    g_signal_emit (self, signals[CONNECTED], 0);
}

static void
connect_failed_errno (LsLocalSocket *self,
                      int            errno_value)
{
  const char *category;
  LsSocketError code = ls_socket_error_from_errno (errno_value, LS_ERRNO_CONNECTING, &category);

  connect_failed (self, code,
                  g_strdup_printf ("Cannot connect to “%s”: %s (%s)",
                                   self->address->full_name, category, g_strerror (errno_value)));
}

static gboolean retry_connect_cb (gpointer user_data);

/* One connect() attempt; on EAGAIN (listen backlog full) schedules the next
 * one with a doubling delay instead of Qt's busy retry. */
static void
try_connect (LsLocalSocket *self,
             gboolean       schedule_retry)
{
  if (connect (self->fd, (struct sockaddr *) &self->address->addr, self->address->addr_len) == 0 ||
      errno == EISCONN)
    {
      connect_succeeded (self);
      return;
    }
  if (errno != EAGAIN && errno != EINTR && errno != EINPROGRESS)
    {
      connect_failed_errno (self, errno);
      return;
    }
  if (g_get_monotonic_time () >= self->connect_deadline)
    {
      connect_failed (self, LS_SOCKET_ERROR_SOCKET_TIMEOUT,
                      g_strdup_printf ("Cannot connect to “%s”: Socket operation timed out "
                                       "(the server's listen backlog stayed full for %d ms)",
                                       self->address->full_name, self->connect_timeout));
      return;
    }

  self->retry_ms = self->retry_ms == 0 ? RETRY_FIRST_MS : MIN (self->retry_ms * 2, RETRY_MAX_MS);
  if (schedule_retry && self->retry_source == NULL && self->core != NULL)
    {
      gint64 left_ms = (self->connect_deadline - g_get_monotonic_time ()) / 1000;

      self->retry_source = g_timeout_source_new (CLAMP (left_ms, 0, self->retry_ms));
      g_source_set_static_name (self->retry_source, "[ls] connect retry");
      g_source_set_callback (self->retry_source, retry_connect_cb, self, NULL);
      g_source_attach (self->retry_source, ls_event_core_get_context (self->core));
    }
}

static gboolean
retry_connect_cb (gpointer user_data)
{
  LsLocalSocket *self = g_object_ref (user_data);

  g_clear_pointer (&self->retry_source, g_source_unref);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING && self->fd >= 0)
    try_connect (self, TRUE);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/**
 * ls_local_socket_connect_to_server:
 * @self: a socket
 * @name: (nullable): the server name, or %NULL to use
 *   [property@Ls.LocalSocket:server-name]
 *
 * Connects to a server, as `QLocalSocket::connectToServer()` does: names
 * resolve like [method@Ls.LocalServer.listen] (relative names in `$TMPDIR`
 * or `/tmp`), and the call is synchronous. On success
 * [signal@Ls.LocalSocket::state-changed] (connecting, then connected) and
 * [signal@Ls.LocalSocket::connected] are emitted before it returns; on
 * failure state-changed (connecting), [signal@Ls.LocalSocket::error-occurred]
 * and state-changed (unconnected). Read the outcome with
 * [method@Ls.LocalSocket.get_state] and [method@Ls.LocalSocket.get_error].
 *
 * If the server's listen backlog is full, the socket stays connecting and
 * retries with a bounded back-off until
 * [property@Ls.LocalSocket:connect-timeout].
 *
 * Since: 1.0
 */
void
ls_local_socket_connect_to_server (LsLocalSocket *self,
                                   const char    *name)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  ls_local_socket_connect_to_address_internal (self, NULL, NULL, name);
}

void
ls_local_socket_connect_to_address_internal (LsLocalSocket *self,
                                             LsAddress     *address,
                                             GError        *address_error,
                                             const char    *name)
{
  GError *error = NULL;

  if (self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      emit_error (self, LS_SOCKET_ERROR_OPERATION,
                  g_strdup_printf ("Cannot connect to “%s”: Operation not permitted when "
                                   "socket is in this state (already connected to “%s”)",
                                   name ? name : display_name (self), display_name (self)));
      goto out_unowned;
    }

  g_object_ref (self);
  if (name != NULL)
    ls_local_socket_set_server_name (self, name);
  /* Like Qt's open(): a new connection starts with empty buffers, so the
   * unread bytes of the previous peer never look like the new peer's. */
  clear_input (self);
  record_error (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  begin_life (self);
  self->starting_connect = TRUE;
  set_state (self, LS_LOCAL_SOCKET_STATE_CONNECTING);
  self->starting_connect = FALSE;
  if (self->state != LS_LOCAL_SOCKET_STATE_CONNECTING || self->fd >= 0)
    goto out;

  if (address_error != NULL)
    {
      connect_failed (self, address_error->code, g_strdup (address_error->message));
      goto out;
    }
  if (address != NULL)
    self->address = g_steal_pointer (&address);
  else
    {
      self->address = g_new0 (LsAddress, 1);
      if (!ls_address_resolve (self->address, "connect to", self->server_name,
                               self->options, &error))
        {
          connect_failed (self, error->code, g_strdup (error->message));
          g_error_free (error);
          goto out;
        }
    }

  self->owner_thread = pthread_self ();
  self->has_owner = TRUE;
  if (ref_thread_core (&self->core))
    self->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (self->fd < 0)
    {
      connect_failed_errno (self, errno);
      goto out;
    }

  self->retry_ms = 0;
  self->connect_deadline = g_get_monotonic_time () + (gint64) self->connect_timeout * 1000;
  try_connect (self, TRUE);

out:
  g_object_unref (self);
out_unowned:
  g_clear_pointer (&address, ls_address_free);
  g_clear_error (&address_error);
}

/**
 * ls_local_socket_set_server_name: (set-property server-name)
 * @self: a socket
 * @name: (nullable): the name for the next connect
 *
 * Sets the name [method@Ls.LocalSocket.connect_to_server] uses when given
 * %NULL. Ignored unless the socket is unconnected.
 *
 * Since: 1.0
 */
void
ls_local_socket_set_server_name (LsLocalSocket *self,
                                 const char    *name)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    return;
  if (g_strcmp0 (self->server_name, name) == 0)
    return;
  g_clear_pointer (&self->server_name, g_ref_string_release);
  self->server_name = name ? g_ref_string_new (name) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_NAME]);
}

/**
 * ls_local_socket_get_server_name: (get-property server-name)
 * @self: a socket
 *
 * Gets : the server name, or "".
 *
 * Returns: (not nullable): the server name, or ""
 *
 * Since: 1.0
 */
const char *
ls_local_socket_get_server_name (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), "");

  return self->server_name ? self->server_name : "";
}

/**
 * ls_local_socket_get_full_server_name: (get-property full-server-name)
 * @self: a socket
 *
 * Gets : the resolved path or abstract name, or "".
 *
 * Returns: (not nullable): the resolved path or abstract name, or ""
 *
 * Since: 1.0
 */
const char *
ls_local_socket_get_full_server_name (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), "");

  return self->full_server_name ? self->full_server_name : "";
}

/**
 * ls_local_socket_get_socket_options: (get-property socket-options)
 * @self: a socket
 *
 * Gets the socket options.
 *
 * Returns: the socket options
 *
 * Since: 1.0
 */
LsSocketOptions
ls_local_socket_get_socket_options (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), LS_SOCKET_OPTION_NONE);

  return self->options;
}

/**
 * ls_local_socket_set_socket_options: (set-property socket-options)
 * @self: a socket
 * @options: the options
 *
 * Sets the options for the next connect. Ignored unless unconnected.
 *
 * Since: 1.0
 */
void
ls_local_socket_set_socket_options (LsLocalSocket   *self,
                                    LsSocketOptions  options)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED || self->options == options)
    return;
  self->options = options;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOCKET_OPTIONS]);
}

/**
 * ls_local_socket_get_connect_timeout: (get-property connect-timeout)
 * @self: a socket
 *
 * Gets the connect timeout in milliseconds.
 *
 * Returns: the connect timeout in milliseconds
 *
 * Since: 1.0
 */
gint
ls_local_socket_get_connect_timeout (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), 0);

  return self->connect_timeout;
}

/**
 * ls_local_socket_set_connect_timeout: (set-property connect-timeout)
 * @self: a socket
 * @msec: milliseconds
 *
 * Sets how long a connect retries while the listen backlog is full.
 *
 * Since: 1.0
 */
void
ls_local_socket_set_connect_timeout (LsLocalSocket *self,
                                     gint           msec)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  msec = MAX (msec, 0);
  if (self->connect_timeout == msec)
    return;
  self->connect_timeout = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
}

/**
 * ls_local_socket_disconnect_from_server:
 * @self: a socket
 *
 * Closes the connection gracefully: queued data is written first (the
 * state is %LS_LOCAL_SOCKET_STATE_CLOSING meanwhile), then the socket
 * becomes unconnected and [signal@Ls.LocalSocket::disconnected] is emitted.
 * Received data stays readable. Does nothing when unconnected.
 *
 * Since: 1.0
 */
void
ls_local_socket_disconnect_from_server (LsLocalSocket *self)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  /* As in Qt, a connect being started (state-changed handlers of
   * CONNECTING) completes or fails on its own. */
  if (self->tearing_down || self->starting_connect)
    return;
  g_object_ref (self);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      release_fd (self);
      clear_names (self);
      set_state (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
    }
  else if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED)
    {
      set_state (self, LS_LOCAL_SOCKET_STATE_CLOSING);
      if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->fd >= 0)
        {
          /* As in Qt, queued data leaves from the main loop, then the
           * socket becomes unconnected; without a main loop, at once. */
          if (self->out_len == 0)
            finish_disconnect (self);
          else if (self->watch != NULL)
            {
              hold_while_closing (self);
              schedule_flush (self);
            }
          else
            flush_output (self);
        }
    }
  g_object_unref (self);
}

/**
 * ls_local_socket_abort:
 * @self: a socket
 *
 * Closes at once, dropping queued data. A connected socket emits
 * [signal@Ls.LocalSocket::state-changed] (unconnected),
 * [signal@Ls.LocalSocket::read-channel-finished],
 * [signal@Ls.LocalSocket::disconnected] and then
 * [signal@Ls.LocalSocket::about-to-close]; the read buffer is dropped.
 *
 * Since: 1.0
 */
void
ls_local_socket_abort (LsLocalSocket *self)
{
  guint life;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (self->starting_connect)
    return;
  g_object_ref (self);
  life = self->life;
  clear_output (self);
  /* As in Qt, handlers of the closing signals already find the input
   * dropped. */
  clear_input (self);
  /* Inside the connection's own ending, only the device part is left. */
  if (self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED && !self->tearing_down)
    teardown (self, FALSE);
  /* A handler of those signals may have connected again: that connection
   * is not the one being aborted. */
  if (self->life == life)
    close_device (self);
  g_object_unref (self);
}

/**
 * ls_local_socket_close:
 * @self: a socket
 *
 * Emits [signal@Ls.LocalSocket::about-to-close], drops the read buffer and
 * disconnects gracefully like [method@Ls.LocalSocket.disconnect_from_server]
 * (queued data is still written).
 *
 * Since: 1.0
 */
void
ls_local_socket_close (LsLocalSocket *self)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  g_object_ref (self);
  close_device (self);
  ls_local_socket_disconnect_from_server (self);
  g_object_unref (self);
}

static gssize
queue_output (LsLocalSocket *self,
              GBytes        *bytes)
{
  gsize size = g_bytes_get_size (bytes);

  if (G_UNLIKELY (self->has_owner && !pthread_equal (self->owner_thread, pthread_self ())))
    {
      g_critical ("ls_local_socket_write: the socket connected to “%s” belongs to another "
                  "thread; writing from a second thread would corrupt the stream",
                  display_name (self));
      g_bytes_unref (bytes);
      return -1;
    }
  if (self->state != LS_LOCAL_SOCKET_STATE_CONNECTED || self->fd < 0)
    {
      record_error (self, LS_SOCKET_ERROR_UNKNOWN,
                    g_strdup_printf ("Cannot write to “%s”: the socket is not connected",
                                     display_name (self)));
      g_bytes_unref (bytes);
      return -1;
    }
  if (size == 0)
    {
      g_bytes_unref (bytes);
      return 0;
    }
  self->out_len += size;
  if (self->out_head != NULL)
    {
      g_queue_push_tail (&self->out_rest, bytes);
      return size;
    }
  /* Written after the current dispatch (or at the next iteration): one
   * write per socket however many times the application wrote. Without a
   * main loop, by the next flush or wait call, as in Qt. */
  self->out_head = bytes;
  if (self->watch != NULL)
    schedule_flush (self);
  return size;
}

/**
 * ls_local_socket_write:
 * @self: a connected socket
 * @data: (array length=size) (element-type guint8): bytes to send
 * @size: the number of bytes
 *
 * Queues @data for sending (copying it). Everything is queued; nothing is
 * dropped. The data leaves when the main loop runs, on
 * [method@Ls.LocalSocket.flush] or a wait call.
 *
 * Returns: @size, or -1 if the socket is not connected
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

  return queue_output (self, g_bytes_new (data, size));
}

/**
 * ls_local_socket_write_bytes:
 * @self: a connected socket
 * @bytes: bytes to send
 *
 * Queues @bytes for sending without copying them.
 *
 * Returns: the size of @bytes, or -1 if the socket is not connected
 *
 * Since: 1.0
 */
gssize
ls_local_socket_write_bytes (LsLocalSocket *self,
                             GBytes        *bytes)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), -1);
  g_return_val_if_fail (bytes != NULL, -1);

  return queue_output (self, g_bytes_ref (bytes));
}

/* Removes @n buffered bytes and returns them. */
static GBytes *
take_input (LsLocalSocket *self,
            gsize          n)
{
  gboolean was_full = !read_allowed (self);
  GBytes *bytes;

  if (n == 0)
    return g_bytes_new (NULL, 0);
  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_consumed (self->fdq, n);

  if (n == self->in_len && self->in_start == 0)
    {
      /* The whole buffer: hand it over without copying. */
      if (self->in_pooled)
        bytes = g_bytes_new_with_free_func (self->in_data, n, block_release, self->in_data);
      else
        bytes = g_bytes_new_take (self->in_data, n);
      self->in_data = NULL;
      self->in_pooled = FALSE;
      self->in_len = self->in_alloc = 0;
    }
  else
    {
      bytes = g_bytes_new (self->in_data + self->in_start, n);
      self->in_start += n;
      self->in_len -= n;
      if (self->in_len == 0)
        clear_input_buffer (self);
    }

  if (was_full && read_allowed (self))
    update_watch (self);
  return bytes;
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

  return take_input (self, MIN (max_size, self->in_len));
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

  return take_input (self, self->in_len);
}

/* Length of the first line (with its newline) within @limit bytes, or 0. */
static gsize
line_length (LsLocalSocket *self,
             gsize          limit)
{
  const guint8 *start = self->in_data + self->in_start;
  const guint8 *newline = memchr (start, '\n', MIN (limit, self->in_len));

  return newline != NULL ? (gsize) (newline - start) + 1 : 0;
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
  limit = max_size == 0 ? self->in_len : MIN (max_size - 1, self->in_len);
  if (self->in_len == 0 || limit == 0)
    return g_bytes_new (NULL, 0);
  n = line_length (self, limit);
  return take_input (self, n > 0 ? n : limit);
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

  if (self->in_len == 0)
    return g_bytes_new (NULL, 0);
  return g_bytes_new (self->in_data + self->in_start, MIN (max_size, self->in_len));
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

  return self->in_len > 0 && line_length (self, self->in_len) > 0;
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

  return self->in_len;
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

  return self->out_len;
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

  if (self->fd < 0 || self->out_len == 0)
    return FALSE;
  g_object_ref (self);
  written = flush_output (self);
  g_object_unref (self);
  return written > 0;
}

static void
record_timeout (LsLocalSocket *self,
                const char    *what,
                int            msec)
{
  record_error (self, LS_SOCKET_ERROR_SOCKET_TIMEOUT,
                g_strdup_printf ("Cannot wait for %s on “%s”: Socket operation timed out "
                                 "(%d ms)", what, display_name (self), msec));
}

typedef enum
{
  WAIT_READY_READ,
  WAIT_BYTES_WRITTEN,
  WAIT_DISCONNECTED,
} WaitGoal;

/* The loop behind the blocking calls: polls our own descriptor, reads and
 * writes as the event core would, until @goal is met, the connection ends
 * or the deadline passes. */
static gboolean
wait_for (LsLocalSocket *self,
          WaitGoal       goal,
          int            msec,
          const char    *what)
{
  gint64 deadline = ls_deadline_from_msec (msec);
  gboolean result = FALSE;
  guint life = self->life;

  /* Called from a handler of the connection's ending: nothing will come. */
  if (self->ending)
    return FALSE;
  g_object_ref (self);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING &&
      !ls_local_socket_wait_for_connected (self, msec))
    goto out;

  /* Until the connection this wait was made for ends, even if a handler
   * starts another one meanwhile. */
  while (self->fd >= 0 && self->life == life)
    {
      struct pollfd pfd = { .fd = self->fd };
      int n;

      if (read_allowed (self))
        pfd.events |= POLLIN;
      if (self->out_len > 0)
        pfd.events |= POLLOUT;

      n = ls_poll_until (&pfd, 1, deadline);
      if (n == 0)
        {
          /* A zero timeout only looks: nothing timed out, so nothing is
           * recorded (Qt records a timeout even then). */
          if (msec != 0)
            record_timeout (self, what, msec);
          break;
        }
      if (n < 0 || (pfd.revents & POLLNVAL))
        break;

      /* Reading first, as in Qt: a wait for bytes written also takes in
       * (and announces) what arrived meanwhile. */
      if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
        {
          /* A hang-up while not reading (full buffer, or the peer's last
           * byte came already): the peer has left. */
          if ((pfd.events & POLLIN) == 0)
            peer_gone (self, 0, TRUE);
          else if (read_and_notify (self) && goal == WAIT_READY_READ)
            {
              result = TRUE;
              break;
            }
        }
      if (self->fd >= 0 && self->out_len > 0 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
        {
          gssize written = flush_output (self);

          if (goal == WAIT_BYTES_WRITTEN && written > 0)
            {
              result = TRUE;
              break;
            }
        }
    }

  if (goal == WAIT_DISCONNECTED)
    result = self->life != life || self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED;

out:
  g_object_unref (self);
  return result;
}

/**
 * ls_local_socket_wait_for_connected:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks while the socket is connecting (only while the server's listen
 * backlog is full), retrying with a bounded back-off.
 *
 * Returns: whether the socket is connected
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_connected (LsLocalSocket *self,
                                    int            msec)
{
  gint64 deadline;
  gboolean connected;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  deadline = ls_deadline_from_msec (msec);
  g_object_ref (self);
  while (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING && self->fd >= 0)
    {
      int left = ls_deadline_remaining_ms (deadline);

      cancel_retry (self);
      try_connect (self, FALSE);
      if (self->state != LS_LOCAL_SOCKET_STATE_CONNECTING)
        break;
      if (left == 0)
        {
          /* Still retrying in the background until connect-timeout. */
          record_timeout (self, "the connection", msec);
          try_connect (self, TRUE);
          break;
        }
      g_usleep ((gulong) MIN ((gint64) self->retry_ms, left < 0 ? G_MAXINT : left) * 1000);
    }
  connected = self->state == LS_LOCAL_SOCKET_STATE_CONNECTED;
  g_object_unref (self);
  return connected;
}

/**
 * ls_local_socket_wait_for_ready_read:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until new data is buffered ([signal@Ls.LocalSocket::ready-read] is
 * emitted inside the call), the connection ends, or the time is up.
 * Queued output is written meanwhile.
 *
 * Returns: %TRUE if new data arrived
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_ready_read (LsLocalSocket *self,
                                     int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED ||
      self->state == LS_LOCAL_SOCKET_STATE_CLOSING)
    return FALSE;
  return wait_for (self, WAIT_READY_READ, msec, "ready read");
}

/**
 * ls_local_socket_wait_for_bytes_written:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until some queued data was written to the kernel
 * ([signal@Ls.LocalSocket::bytes-written] is emitted inside the call).
 *
 * Returns: %TRUE if data was written; %FALSE if nothing was queued, the
 *   connection ended or the time is up
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_bytes_written (LsLocalSocket *self,
                                        int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED || self->out_len == 0)
    return FALSE;
  return wait_for (self, WAIT_BYTES_WRITTEN, msec, "bytes written");
}

/**
 * ls_local_socket_wait_for_disconnected:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until the socket is unconnected: the peer closed, or a
 * [method@Ls.LocalSocket.disconnect_from_server] finished writing.
 * Incoming data is buffered meanwhile.
 *
 * Returns: %TRUE if the socket became unconnected; %FALSE if it already was,
 *   or the time is up
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_disconnected (LsLocalSocket *self,
                                       int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    return FALSE;
  return wait_for (self, WAIT_DISCONNECTED, msec, "disconnection");
}

/**
 * ls_local_socket_get_state: (get-property state)
 * @self: a socket
 *
 * Gets the state.
 *
 * Returns: the state
 *
 * Since: 1.0
 */
LsLocalSocketState
ls_local_socket_get_state (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), LS_LOCAL_SOCKET_STATE_UNCONNECTED);

  return self->state;
}

/**
 * ls_local_socket_get_error:
 * @self: a socket
 *
 * Gets the last error; %LS_SOCKET_ERROR_UNKNOWN if none.
 *
 * Returns: the last error; %LS_SOCKET_ERROR_UNKNOWN if none
 *
 * Since: 1.0
 */
LsSocketError
ls_local_socket_get_error (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), LS_SOCKET_ERROR_UNKNOWN);

  return self->error;
}

/**
 * ls_local_socket_get_error_string:
 * @self: a socket
 *
 * The last error's text, naming the operation, the server and the reason;
 * "Unknown error" (as in Qt) when there was none.
 *
 * Returns: (not nullable): the error text
 *
 * Since: 1.0
 */
const char *
ls_local_socket_get_error_string (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), UNKNOWN_ERROR_TEXT);

  format_closed_message (self);
  return self->error_string ? self->error_string : UNKNOWN_ERROR_TEXT;
}

/**
 * ls_local_socket_set_socket_descriptor:
 * @self: an unconnected socket
 * @socket_descriptor: a connected `AF_UNIX` stream socket
 * @state: the state to take, normally %LS_LOCAL_SOCKET_STATE_CONNECTED
 * @error: return location for an error
 *
 * Adopts a connected descriptor (the socket owns it from now on). It must
 * be a local stream socket; otherwise the call fails with
 * %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION and the descriptor stays the
 * caller's. The names come from the peer's address, or from the local one
 * when the peer is unnamed, as in Qt 6. The socket attaches to the
 * thread-default main context of the caller.
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_set_socket_descriptor (LsLocalSocket       *self,
                                       int                  socket_descriptor,
                                       LsLocalSocketState   state,
                                       GError             **error)
{
  struct sockaddr_un addr;
  socklen_t addr_len = sizeof addr;
  LsAddress address;
  LsEventCore *core;
  GError *local_error = NULL;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->fd >= 0 || self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                   "Cannot adopt descriptor %d: the socket is already in use for “%s”",
                   socket_descriptor, display_name (self));
      goto fail;
    }
  if (state != LS_LOCAL_SOCKET_STATE_CONNECTED && state != LS_LOCAL_SOCKET_STATE_CLOSING)
    {
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                   "Cannot adopt descriptor %d: a connected descriptor can only be adopted "
                   "in the connected or closing state, not %d", socket_descriptor, state);
      goto fail;
    }
  if (!ls_fd_check_local_stream (socket_descriptor, FALSE, "adopt", &local_error))
    goto fail;
  if (!ls_fd_set_nonblocking (socket_descriptor) || !ref_thread_core (&core))
    {
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                   "Cannot adopt descriptor %d: %s", socket_descriptor, g_strerror (errno));
      goto fail;
    }
  if (!attach_fd (self, core, socket_descriptor))
    {
      int saved_errno = errno;
      self->fd = -1;
      g_clear_pointer (&self->core, ls_event_core_unref);
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                   "Cannot adopt descriptor %d: %s", socket_descriptor, g_strerror (saved_errno));
      goto fail;
    }

  clear_input (self);
  begin_life (self);
  memset (&addr, 0, sizeof addr);
  if ((getpeername (socket_descriptor, (struct sockaddr *) &addr, &addr_len) == 0 &&
       ls_address_from_native (&address, &addr, addr_len)) ||
      ((addr_len = sizeof addr), memset (&addr, 0, sizeof addr),
       getsockname (socket_descriptor, (struct sockaddr *) &addr, &addr_len) == 0 &&
       ls_address_from_native (&address, &addr, addr_len)))
    {
      g_autofree char *basename = ls_name_basename (address.full_name);

      /* Qt 6: a path gives the path and its basename, an abstract address
       * its name for both. */
      replace_names (self, g_ref_string_new (address.abstract ? address.full_name : basename),
                     g_ref_string_new (address.full_name));
      if (address.abstract)
        self->options |= LS_SOCKET_OPTION_ABSTRACT_NAMESPACE;
      ls_address_clear (&address);
    }
  else
    clear_names (self);

  self->is_open = TRUE;
  self->owner_thread = pthread_self ();
  self->has_owner = TRUE;
  record_error (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  set_state (self, state);
  /* Closing with nothing to write: finish from the event core, or at once
   * when no main loop serves the socket. */
  if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->watch != NULL)
    ls_watch_defer (self->watch);
  else if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->fd >= 0)
    finish_disconnect (self);
  return TRUE;

fail:
  record_error (self, local_error->code, g_strdup (local_error->message));
  g_propagate_error (error, local_error);
  return FALSE;
}

/**
 * ls_local_socket_get_socket_descriptor:
 * @self: a socket
 *
 * Gets the descriptor (still owned by the socket), or -1.
 *
 * Returns: the descriptor (still owned by the socket), or -1
 *
 * Since: 1.0
 */
int
ls_local_socket_get_socket_descriptor (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), -1);

  return self->state == LS_LOCAL_SOCKET_STATE_CONNECTING ? -1 : self->fd;
}

/**
 * ls_local_socket_is_valid:
 * @self: a socket
 *
 * Gets whether the socket is usable: connected or closing, or ended by the
 * peer with its received data still readable, as in Qt. It becomes %FALSE
 * with [method@Ls.LocalSocket.close] or [method@Ls.LocalSocket.abort].
 *
 * Returns: whether the socket is valid
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_is_valid (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  return self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
         self->state == LS_LOCAL_SOCKET_STATE_CLOSING || self->is_open;
}

/**
 * ls_local_socket_get_read_buffer_size: (get-property read-buffer-size)
 * @self: a socket
 *
 * Gets the read buffer limit; 0 means unlimited.
 *
 * Returns: the read buffer limit; 0 means unlimited
 *
 * Since: 1.0
 */
gint64
ls_local_socket_get_read_buffer_size (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), 0);

  return self->read_buffer_size;
}

/**
 * ls_local_socket_set_read_buffer_size: (set-property read-buffer-size)
 * @self: a socket
 * @size: the most bytes to buffer; 0 for no limit
 *
 * Limits how much incoming data is buffered; the rest waits in the kernel.
 *
 * Since: 1.0
 */
void
ls_local_socket_set_read_buffer_size (LsLocalSocket *self,
                                      gint64         size)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  size = MAX (size, 0);
  if (self->read_buffer_size == size)
    return;
  self->read_buffer_size = size;
  update_watch (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READ_BUFFER_SIZE]);
}

/**
 * ls_local_socket_get_peer_credentials:
 * @self: a socket
 *
 * The credentials of the process at the other end, from `SO_PEERCRED`
 * (taken when the connection was made).
 *
 * Returns: (transfer full) (nullable): the peer's credentials, or %NULL if
 *   not connected
 *
 * Since: 1.0
 */
GCredentials *
ls_local_socket_get_peer_credentials (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  if (self->fd < 0 || self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    return NULL;
  return ls_fd_get_peer_credentials (self->fd);
}

/* ------------------------------------------------------------------------ */
/* Messages, framed as Qt's QDataStream frames a QByteArray                  */
/* ------------------------------------------------------------------------ */

#define FRAME_HEADER_SIZE 4
/* QDataStream's null QByteArray; 0xFFFFFFFE and up cannot be written. */
#define NULL_FRAME_LENGTH 0xFFFFFFFFu

typedef enum
{
  FRAME_INCOMPLETE,
  FRAME_COMPLETE,
  FRAME_TOO_LARGE,
} FrameStatus;

/* Looks at the frame at the front of the input and sets *length to its
 * payload size (0 for a null frame). An incomplete frame raises the
 * read-buffer cap to its full size, so that a message larger than
 * read-buffer-size can still be assembled; nothing is allocated for it
 * before its bytes arrive. */
static FrameStatus
frame_status (LsLocalSocket *self,
              guint32       *length)
{
  gsize need = FRAME_HEADER_SIZE;
  FrameStatus status = FRAME_INCOMPLETE;

  *length = 0;
  if (self->in_len >= FRAME_HEADER_SIZE)
    {
      guint32 header;

      memcpy (&header, self->in_data + self->in_start, sizeof header);
      *length = GUINT32_FROM_BE (header);
      if (*length == NULL_FRAME_LENGTH)
        *length = 0;
      if (*length > self->max_message_size)
        {
          need = 0;
          status = FRAME_TOO_LARGE;
        }
      else
        {
          need = FRAME_HEADER_SIZE + (gsize) *length;
          if (self->in_len >= need)
            status = FRAME_COMPLETE;
        }
    }
  if (status != FRAME_COMPLETE && self->message_need != need)
    {
      self->message_need = need;
      update_watch (self);
    }
  return status;
}

/**
 * ls_local_socket_write_message:
 * @self: a connected socket
 * @message: the message to send
 * @error: return location for an error
 *
 * Queues @message as one frame, the way Qt's `QDataStream` writes a
 * `QByteArray` (`stream << array` or `stream.writeBytes()`): a 32-bit
 * big-endian length, then the bytes. A Qt peer reads it with
 * `stream >> array`; an Ls peer with [method@Ls.LocalSocket.read_message].
 *
 * Like [method@Ls.LocalSocket.write_bytes], @message is queued without
 * copying and leaves when the main loop runs, on
 * [method@Ls.LocalSocket.flush] or a wait call.
 *
 * A message of 0xFFFFFFFE bytes or more cannot be framed: the call fails
 * with %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE and writes nothing. On a socket
 * that is not connected it fails with the error
 * [method@Ls.LocalSocket.write] records (the code stays that of the last
 * error, as in Qt). Either failure is also recorded for
 * [method@Ls.LocalSocket.get_error_string].
 *
 * Returns: %TRUE if the message was queued
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_message (LsLocalSocket  *self,
                               GBytes         *message,
                               GError        **error)
{
  gsize size;
  guint32 header;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  size = g_bytes_get_size (message);
  if (size >= NULL_FRAME_LENGTH - 1)
    {
      record_error (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                    g_strdup_printf ("Cannot write a message to “%s”: Datagram too large "
                                     "(%" G_GSIZE_FORMAT " bytes; a frame holds at most %u)",
                                     display_name (self), size, NULL_FRAME_LENGTH - 2));
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return FALSE;
    }

  header = GUINT32_TO_BE ((guint32) size);
  if (queue_output (self, g_bytes_new (&header, sizeof header)) < 0)
    {
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return FALSE;
    }
  queue_output (self, g_bytes_ref (message));
  return TRUE;
}

/**
 * ls_local_socket_read_message:
 * @self: a socket
 * @error: return location for an error
 *
 * Takes the next complete message framed as Qt's `QDataStream` frames a
 * `QByteArray` (see [method@Ls.LocalSocket.write_message]). When none is
 * complete yet, returns %NULL without an error and consumes nothing, like
 * a rolled-back `QDataStream` transaction: call it again on the next
 * [signal@Ls.LocalSocket::ready-read]. A null `QByteArray` reads as an
 * empty message.
 *
 * A frame larger than [property@Ls.LocalSocket:read-buffer-size] is still
 * assembled: the socket keeps reading until it is complete. A frame that
 * announces more than [property@Ls.LocalSocket:max-message-size] fails
 * with %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE (also recorded for
 * [method@Ls.LocalSocket.get_error]) and consumes nothing; nothing is
 * allocated for it.
 *
 * ```c
 * static void
 * on_ready_read (LsLocalSocket *socket, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   GBytes *message;
 *
 *   while ((message = ls_local_socket_read_message (socket, &error)) != NULL)
 *     {
 *       handle_message (message);
 *       g_bytes_unref (message);
 *     }
 *   if (error != NULL)
 *     ls_local_socket_abort (socket);
 * }
 * ```
 *
 * Returns: (transfer full) (nullable): the message, or %NULL if none is
 *   complete yet or on error
 *
 * Since: 1.2
 */
GBytes *
ls_local_socket_read_message (LsLocalSocket  *self,
                              GError        **error)
{
  g_autoptr(GBytes) frame = NULL;
  guint32 length;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (frame_status (self, &length))
    {
    case FRAME_INCOMPLETE:
      return NULL;
    case FRAME_TOO_LARGE:
      record_error (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                    g_strdup_printf ("Cannot read a message from “%s”: Datagram too large "
                                     "(the peer announced %u bytes; max-message-size is %u)",
                                     display_name (self), length, self->max_message_size));
      g_set_error_literal (error, LS_SOCKET_ERROR, self->error, self->error_string);
      return NULL;
    case FRAME_COMPLETE:
    default:
      break;
    }

  /* The whole frame comes out without a copy when it is all that is
   * buffered (the common case); the message is a slice of it. */
  self->message_need = 0;
  frame = take_input (self, FRAME_HEADER_SIZE + (gsize) length);
  if (length == 0)
    return g_bytes_new (NULL, 0);
  return g_bytes_new_from_bytes (frame, FRAME_HEADER_SIZE, length);
}

/**
 * ls_local_socket_can_read_message:
 * @self: a socket
 *
 * Gets whether a complete message is buffered, so that
 * [method@Ls.LocalSocket.read_message] returns it. A frame that announces
 * more than [property@Ls.LocalSocket:max-message-size] is not readable:
 * this returns %FALSE and read_message() reports the error.
 *
 * Returns: whether a complete message is buffered
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_can_read_message (LsLocalSocket *self)
{
  guint32 length;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  return frame_status (self, &length) == FRAME_COMPLETE;
}

/**
 * ls_local_socket_get_max_message_size: (get-property max-message-size)
 * @self: a socket
 *
 * Gets the largest message [method@Ls.LocalSocket.read_message] accepts.
 *
 * Returns: the limit in bytes
 *
 * Since: 1.2
 */
guint
ls_local_socket_get_max_message_size (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), DEFAULT_MAX_MESSAGE_SIZE);

  return self->max_message_size;
}

/**
 * ls_local_socket_set_max_message_size: (set-property max-message-size)
 * @self: a socket
 * @size: the largest message to accept, in bytes
 *
 * Sets the largest message [method@Ls.LocalSocket.read_message] accepts.
 *
 * Since: 1.2
 */
void
ls_local_socket_set_max_message_size (LsLocalSocket *self,
                                      guint          size)
{
  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  if (self->max_message_size == size)
    return;
  self->max_message_size = size;
  /* A frame being assembled may now be too large, or allowed. */
  if (self->message_need > 0)
    {
      guint32 length;

      frame_status (self, &length);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/* ------------------------------------------------------------------------ */
/* Descriptor passing                                                        */
/* ------------------------------------------------------------------------ */

/**
 * ls_local_socket_write_with_fds:
 * @self: a connected socket
 * @data: the bytes to send, at least one
 * @fd_list: (nullable): the descriptors to send with the first byte of @data
 * @error: return location for an error
 *
 * Queues @data like [method@Ls.LocalSocket.write_bytes], with duplicates
 * of the descriptors in @fd_list attached to its first byte (`SCM_RIGHTS`).
 * The peer, an Ls socket, gets them from
 * [method@Ls.LocalSocket.take_fds] once it has read that data. @fd_list
 * stays the caller's; the duplicates are closed once sent (or when the
 * output is dropped).
 *
 * The byte that carries descriptors always starts a `sendmsg()` of its
 * own, so however the kernel splits the stream, the descriptors arrive
 * with the data they were written with, in order.
 *
 * Qt peers ignore descriptors (the kernel closes them on their side) but
 * read the data as usual.
 *
 * Fails, writing nothing, when @data is empty
 * (%LS_SOCKET_ERROR_OPERATION), when @fd_list holds more than 253
 * descriptors, the most one message carries (%LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE),
 * when a descriptor cannot be duplicated (%LS_SOCKET_ERROR_SOCKET_RESOURCE
 * when out of descriptors) or when the socket is not connected (the error
 * [method@Ls.LocalSocket.write] records). Each failure is also recorded for
 * [method@Ls.LocalSocket.get_error_string].
 *
 * Returns: %TRUE if the data and descriptors were queued
 *
 * Since: 1.2
 */
gboolean
ls_local_socket_write_with_fds (LsLocalSocket  *self,
                                GBytes         *data,
                                GUnixFDList    *fd_list,
                                GError        **error)
{
  const int *fds = NULL;
  int *copies;
  gint n_fds = 0;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (fd_list != NULL)
    fds = g_unix_fd_list_peek_fds (fd_list, &n_fds);
  if (g_bytes_get_size (data) == 0)
    {
      record_error (self, LS_SOCKET_ERROR_OPERATION,
                    g_strdup_printf ("Cannot write descriptors to “%s”: Operation error "
                                     "(descriptors travel with a byte, and the data is empty)",
                                     display_name (self)));
      goto fail;
    }
  if (n_fds > LS_FD_QUEUE_MAX_PER_MESSAGE)
    {
      record_error (self, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE,
                    g_strdup_printf ("Cannot write descriptors to “%s”: Datagram too large "
                                     "(%d descriptors; one write carries at most %d)",
                                     display_name (self), n_fds, LS_FD_QUEUE_MAX_PER_MESSAGE));
      goto fail;
    }
  /* Not connected (or the wrong thread): the checks of write(), which
   * queue nothing for empty data. */
  if (queue_output (self, g_bytes_new (NULL, 0)) < 0)
    goto fail;
  if (n_fds == 0)
    {
      queue_output (self, g_bytes_ref (data));
      return TRUE;
    }

  copies = g_new (int, n_fds);
  for (gint i = 0; i < n_fds; i++)
    {
      copies[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 3);
      if (copies[i] < 0)
        {
          int saved_errno = errno;

          ls_fd_close_all (copies, i);
          g_free (copies);
          record_error (self,
                        saved_errno == EMFILE || saved_errno == ENFILE
                          ? LS_SOCKET_ERROR_SOCKET_RESOURCE : LS_SOCKET_ERROR_UNKNOWN,
                        g_strdup_printf ("Cannot write descriptors to “%s”: cannot duplicate "
                                         "descriptor %d (%s)", display_name (self), fds[i],
                                         g_strerror (saved_errno)));
          goto fail;
        }
    }

  if (self->fdq == NULL)
    self->fdq = ls_fd_queue_new ();
  ls_fd_queue_push_output (self->fdq, self->out_len, copies, n_fds);
  queue_output (self, g_bytes_ref (data));
  return TRUE;

fail:
  g_set_error_literal (error, LS_SOCKET_ERROR, self->error,
                       self->error_string ? self->error_string : UNKNOWN_ERROR_TEXT);
  return FALSE;
}

/**
 * ls_local_socket_take_fds:
 * @self: a socket
 *
 * Takes the descriptors that arrived with bytes the application has
 * already read (with [method@Ls.LocalSocket.read],
 * [method@Ls.LocalSocket.read_all], [method@Ls.LocalSocket.read_line],
 * [method@Ls.LocalSocket.read_message] and the like; not
 * [method@Ls.LocalSocket.peek]), in the order they arrived. They are
 * close-on-exec and now the caller's.
 *
 * Descriptors are tied to the position in the stream where the read that
 * brought them ended, which lies within the data they were written with:
 * once the application has read all of that data (for example the whole
 * message), they are here; never before it has read its first byte.
 *
 * Descriptors never taken are closed when the read buffer is dropped
 * ([method@Ls.LocalSocket.abort], [method@Ls.LocalSocket.close], a new
 * connection) or the socket is disposed; after the peer has closed they
 * stay takeable as the data stays readable. A peer that makes more than
 * 1024 descriptors wait untaken gets the connection aborted with
 * %LS_SOCKET_ERROR_SOCKET_RESOURCE, as does one whose descriptors were lost
 * on the way (this process out of descriptors).
 *
 * Returns: (transfer full) (nullable): the descriptors, or %NULL when none
 *   is ready
 *
 * Since: 1.2
 */
GUnixFDList *
ls_local_socket_take_fds (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  if (self->fdq == NULL)
    return NULL;
  return ls_fd_queue_take_input (self->fdq);
}
