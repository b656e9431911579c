/* ls-local-server-accept.c: LsLocalServer accepting connections: the
 * listening socket's watch, the back-off, the pending queue and the
 * blocking wait
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-server.h"
#include "ls-local-server-private.h"
#include "ls-deadline-private.h"
#include "ls-error-private.h"
#include "ls-local-socket-private.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_DISPATCH 64
#define BACKOFF_FIRST_MS     10
#define BACKOFF_MAX_MS       1000
#define PENDING_FIRST_SIZE   8

/* The pending ring: oldest at pending_head, pending_size a power of two so
 * that an index wraps with a mask. */

static void
pending_grow (LsLocalServerPrivate *priv)
{
  guint new_size = priv->pending_size == 0 ? PENDING_FIRST_SIZE : priv->pending_size * 2;
  LsLocalSocket **ring = g_new (LsLocalSocket *, new_size);

  /* Unwrap into the new array, oldest first. */
  for (guint i = 0; i < priv->pending_count; i++)
    ring[i] = priv->pending[(priv->pending_head + i) & (priv->pending_size - 1)];
  g_free (priv->pending);
  priv->pending = ring;
  priv->pending_head = 0;
  priv->pending_size = new_size;
}

/* Appends @socket, taking the caller's reference. */
static void
pending_push (LsLocalServerPrivate *priv,
              LsLocalSocket        *socket)
{
  if (priv->pending_count == priv->pending_size)
    pending_grow (priv);
  priv->pending[(priv->pending_head + priv->pending_count) & (priv->pending_size - 1)] = socket;
  priv->pending_count++;
}

/* Removes the oldest socket and gives the queue's reference to the caller;
 * NULL when empty. */
static LsLocalSocket *
pending_pop (LsLocalServerPrivate *priv)
{
  LsLocalSocket *socket;

  if (priv->pending_count == 0)
    return NULL;
  socket = priv->pending[priv->pending_head];
  priv->pending_head = (priv->pending_head + 1) & (priv->pending_size - 1);
  priv->pending_count--;
  return socket;
}

void
ls_local_server_free_pending (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  LsLocalSocket *socket;

  /* Only what a handler queued during dispose is left here. */
  while ((socket = pending_pop (priv)) != NULL)
    g_object_unref (socket);
  g_clear_pointer (&priv->pending, g_free);
  priv->pending_head = 0;
  priv->pending_size = 0;
}

void
ls_local_server_update_watch (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  gboolean want_accept;

  if (priv->watch == NULL)
    return;
  want_accept = priv->backoff_source == NULL &&
                (gint) priv->pending_count < priv->max_pending;
  ls_watch_set_events (priv->watch, want_accept ? LS_WATCH_READ : 0);
}

static gboolean
backoff_done_cb (gpointer user_data)
{
  LsLocalServer *self = user_data;
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  g_clear_pointer (&priv->backoff_source, g_source_unref);
  ls_local_server_update_watch (self);
  return G_SOURCE_REMOVE;
}

void
ls_local_server_stop_backoff (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  if (priv->backoff_source != NULL)
    {
      g_source_destroy (priv->backoff_source);
      g_clear_pointer (&priv->backoff_source, g_source_unref);
    }
  priv->backoff_ms = 0;
}

/* Out of descriptors or memory: Qt closes the server here. We stop polling
 * the listening socket (level-triggered, it would wake us at once) and look
 * again later; the connection waits in the kernel backlog meanwhile. */
static void
pause_accepting (LsLocalServer *self,
                 int            errno_value)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  if (priv->backoff_ms == 0)
    {
      ls_local_server_take_error_internal (self, NULL,
        ls_error_new_from_errno (errno_value, LS_ERRNO_LISTENING, "accept a connection on",
                                 priv->full_server_name));
      g_debug ("%s; pausing accept", priv->error_string);
      priv->backoff_ms = BACKOFF_FIRST_MS;
    }
  else
    priv->backoff_ms = MIN (priv->backoff_ms * 2, BACKOFF_MAX_MS);

  /* Without a main loop, wait_for_new_connection() reports it instead. */
  if (priv->backoff_source != NULL || priv->core == NULL)
    return;
  priv->backoff_source = g_timeout_source_new (priv->backoff_ms);
  g_source_set_static_name (priv->backoff_source, "[ls] accept back-off");
  g_source_set_callback (priv->backoff_source, backoff_done_cb, self, NULL);
  g_source_attach (priv->backoff_source, ls_event_core_get_context (priv->core));
  ls_local_server_update_watch (self);
}

typedef enum
{
  ACCEPT_OK,
  ACCEPT_AGAIN,     /* nothing waiting */
  ACCEPT_SKIPPED,   /* a connection died before we took it; try the next */
  ACCEPT_FAILED,    /* out of resources, back-off started */
} AcceptResult;

static AcceptResult
accept_one (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  guint serial;
  int fd;

  fd = accept4 (priv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      switch (saved_errno)
        {
        case EAGAIN:
          return ACCEPT_AGAIN;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
          return ACCEPT_SKIPPED;
        default:
          pause_accepting (self, saved_errno);
          return ACCEPT_FAILED;
        }
    }

  priv->backoff_ms = 0;
  serial = priv->listen_serial;
  /* Asked per connection, not once per wake-up (which would save a
   * g_signal_has_handler_pending () per connection of a burst): a handler
   * connected by a new-connection handler of this same wake-up is an
   * access check, and no peer may slip past it. A handler may also have
   * closed the server, or closed it and listened again: the connection
   * belonged to the socket that is gone. */
  if (ls_local_server_should_authorize_peer (self) &&
      (!ls_local_server_emit_authorize_peer (self, fd) || priv->fd < 0 ||
       priv->listen_serial != serial))
    {
      close (fd);
      return ACCEPT_SKIPPED;
    }
  LS_LOCAL_SERVER_GET_CLASS (self)->incoming_connection (self, fd);
  return ACCEPT_OK;
}

void
ls_local_server_on_listen_ready (gpointer         owner,
                                 LsWatchCondition condition)
{
  LsLocalServer *self = owner;
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  /* Handlers may drop the application's last reference to the server, and
   * this one is then the last: it cannot be left out. */
  g_object_ref (self);
  /* Handlers may close the server, or take connections, at any time. */
  for (guint i = 0; i < ACCEPTS_PER_DISPATCH; i++)
    {
      /* Only our guard reference left: the application let go of the
       * server (a handler dropped its last reference), so stop feeding it
       * connections; our unref below disposes of it.
       *
       * GObject has no call that says so; reading the count is the only
       * way. A toggle reference, GObject's way of watching the count, is
       * not an option: GObject notifies toggle references only while there
       * is exactly one, and PyGObject holds one on the objects it wraps, so
       * adding ours would silence PyGObject's and its wrapper would never
       * let go of the server. */
      if (priv->fd < 0 || (gint) priv->pending_count >= priv->max_pending ||
          priv->backoff_source != NULL ||
          g_atomic_int_get (&((GObject *) self)->ref_count) == 1)
        break;
      if (accept_one (self) == ACCEPT_AGAIN)
        break;
    }
  ls_local_server_update_watch (self);
  g_object_unref (self);
}

void
ls_local_server_real_incoming_connection (LsLocalServer *self,
                                          int            socket_descriptor)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  g_autoptr(LsLocalSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  socket = ls_local_socket_new_accepted (priv->core, socket_descriptor,
                                         priv->accepted_name, priv->full_server_name,
                                         priv->options, &error);
  if (socket == NULL)
    {
      ls_local_server_take_error_internal (self, NULL, g_steal_pointer (&error));
      return;
    }
  /* Before its first read: a client may send descriptors with its very
   * first byte. Nobody else knows the socket yet. */
  if (priv->accept_fds)
    ls_local_socket_set_accept_fds (socket, TRUE);
  ls_local_server_queue_connection (self, g_steal_pointer (&socket));
}

void
ls_local_server_clear_pending (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  LsLocalSocket *socket;

  /* Nobody took these: close them so their peers see end-of-file. */
  while ((socket = pending_pop (priv)) != NULL)
    {
      ls_local_socket_abort (socket);
      g_object_unref (socket);
    }
}

/**
 * ls_local_server_has_pending_connections:
 * @self: a server
 *
 * Gets whether accepted connections wait to be taken.
 *
 * Returns: whether accepted connections wait to be taken
 *
 * Since: 1.0
 */
gboolean
ls_local_server_has_pending_connections (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);

  priv = ls_local_server_get_private (self);
  return priv->pending_count > 0;
}

/**
 * ls_local_server_next_pending_connection:
 * @self: a server
 *
 * Takes the oldest queued connection. The server keeps no reference to it:
 * unref it when done (unlike Qt, where it stays a child of the server).
 *
 * Returns: (transfer full) (nullable): a connected socket, or %NULL
 *
 * Since: 1.0
 */
LsLocalSocket *
ls_local_server_next_pending_connection (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;
  LsLocalSocket *socket;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), NULL);

  priv = ls_local_server_get_private (self);
  socket = pending_pop (priv);
  if (socket != NULL)
    ls_local_server_update_watch (self);
  return socket;
}

/**
 * ls_local_server_add_pending_connection:
 * @self: a server
 * @socket: a socket to queue
 *
 * Queues @socket (taking a reference) and emits
 * [signal@Ls.LocalServer::new-connection]. With
 * [property@Ls.LocalServer:accept-fds] set, @socket gets
 * [property@Ls.LocalSocket:accept-fds] first. For implementations of
 * [vfunc@Ls.LocalServer.incoming_connection], like Qt's
 * `addPendingConnection()`.
 *
 * Since: 1.0
 */
void
ls_local_server_add_pending_connection (LsLocalServer *self,
                                        LsLocalSocket *socket)
{
  g_return_if_fail (LS_IS_LOCAL_SERVER (self));
  g_return_if_fail (LS_IS_LOCAL_SOCKET (socket));

  /* What an incoming_connection override made has not read yet either. */
  if (ls_local_server_get_private (self)->accept_fds)
    ls_local_socket_set_accept_fds (socket, TRUE);
  ls_local_server_queue_connection (self, g_object_ref (socket));
}

void
ls_local_server_queue_connection (LsLocalServer *self,
                                  LsLocalSocket *socket)
{
  pending_push (ls_local_server_get_private (self), socket);
  ls_local_server_update_watch (self);
  /* No reference of our own around the emission: GObject holds one on the
   * instance while it emits (a handler may drop the application's last),
   * and nothing here touches @self after it. */
  ls_local_server_emit_new_connection (self);
}

static void
set_timed_out (gboolean *timed_out)
{
  if (timed_out != NULL)
    *timed_out = TRUE;
}

/* One step of wait_for_new_connection (): polls the listening socket until
 * @deadline and accepts. Returns whether to go on waiting. */
static gboolean
wait_once (LsLocalServer  *self,
           gint64          deadline,
           gboolean       *timed_out,
           GError        **error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  struct pollfd pfd = { .fd = priv->fd, .events = POLLIN };
  int n;

  /* A handler (authorize-peer, new-connection) closed the server. */
  if (priv->fd < 0)
    {
      g_set_error_literal (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                           "Cannot wait for a new connection: the server was closed "
                           "while waiting");
      return FALSE;
    }

  n = ls_poll_until (&pfd, 1, deadline);
  if (n < 0 || (pfd.revents & (POLLNVAL | POLLERR)))
    {
      ls_local_server_take_error_internal (self, error,
        ls_error_new_from_errno (n < 0 ? errno : EBADF, LS_ERRNO_LISTENING,
                                 "wait for a new connection on", priv->full_server_name));
      return FALSE;
    }
  if (n == 0)
    {
      set_timed_out (timed_out);
      return FALSE;
    }

  switch (accept_one (self))
    {
    case ACCEPT_OK:
      return FALSE;
    case ACCEPT_FAILED:
      g_set_error_literal (error, LS_SOCKET_ERROR, priv->error, priv->error_string);
      return FALSE;
    case ACCEPT_AGAIN:
    case ACCEPT_SKIPPED:
    default:
      if (ls_deadline_passed (deadline))
        {
          set_timed_out (timed_out);
          return FALSE;
        }
      return TRUE;
    }
}

/**
 * ls_local_server_wait_for_new_connection:
 * @self: a listening server
 * @msec: how long to wait in milliseconds; -1 waits forever
 * @timed_out: (out) (optional): set to %TRUE if the wait timed out
 * @error: return location for an error
 *
 * Blocks until a connection arrives, accepts it (even beyond
 * [property@Ls.LocalServer:max-pending-connections]: the caller asks for it)
 * and emits [signal@Ls.LocalServer::new-connection] inside the call. Polls
 * the listening socket directly; no main context is iterated.
 *
 * Returns: whether a connection is pending after the wait
 *
 * Since: 1.0
 */
gboolean
ls_local_server_wait_for_new_connection (LsLocalServer  *self,
                                         int             msec,
                                         gboolean       *timed_out,
                                         GError        **error)
{
  LsLocalServerPrivate *priv;
  gint64 deadline;
  gboolean result;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = ls_local_server_get_private (self);
  if (timed_out != NULL)
    *timed_out = FALSE;
  /* As in Qt, this failure leaves the recorded error as it is. */
  if (priv->fd < 0)
    {
      g_set_error_literal (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                           "Cannot wait for a new connection: the server is not listening");
      return FALSE;
    }

  /* Handlers may drop the last reference to the server meanwhile. */
  g_object_ref (self);
  deadline = ls_deadline_from_msec (msec);
  while (wait_once (self, deadline, timed_out, error))
    ;
  result = ls_local_server_has_pending_connections (self);
  g_object_unref (self);
  return result;
}
