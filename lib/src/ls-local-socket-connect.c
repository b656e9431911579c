/* ls-local-socket-connect.c: connecting an LsLocalSocket (with retries while the
 * server's listen backlog is full), and adopting a connected descriptor
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define RETRY_FIRST_MS      1
#define RETRY_MAX_MS        100

/* A new connection (attempt) begins: what an emitter of the previous one
 * still has to do no longer applies to this object. */
static void
begin_life (LsLocalSocket *self)
{
  self->life++;
  self->tearing_down = FALSE;
  self->ending = FALSE;
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
  if (!ls_local_socket_attach_fd_internal (self, core != NULL ? ls_event_core_ref (core) : NULL, fd))
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                   "Cannot accept a connection on “%s”: Out of resources (%s)",
                   full_server_name ? full_server_name : "", g_strerror (errno));
      g_object_unref (self);
      return NULL;
    }
  return self;
}

static void
connect_failed (LsLocalSocket *self,
                LsSocketError  code,
                char          *message)
{
  /* The attempt is over before anyone hears of it: a handler that waits
   * or flushes must find nothing left to retry, or the failure would be
   * reported again from inside the handler, and again, without end. */
  ls_local_socket_release_fd_internal (self);
  ls_local_socket_emit_error_internal (self, code, message);
  /* As in Qt, a socket still open from an earlier connection is closed. */
  ls_local_socket_close_device_internal (self);
  ls_local_socket_replace_names_internal (self, NULL, NULL);
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
}

static void
connect_succeeded (LsLocalSocket *self)
{
  ls_local_socket_cancel_retry_internal (self);
  if (!ls_local_socket_attach_fd_internal (self, self->core, self->fd))
    {
      int saved_errno = errno;
      connect_failed (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                      g_strdup_printf ("Cannot connect to “%s”: Out of resources (%s)",
                                       self->rare->address->full_name, g_strerror (saved_errno)));
      return;
    }
  ls_local_socket_replace_names_internal (self,
                                          self->server_name ? g_ref_string_acquire (self->server_name) : NULL,
                                          g_ref_string_new (self->rare->address->full_name));
  g_clear_pointer (&self->rare->address, ls_address_free);
  self->is_open = TRUE;
  ls_local_socket_record_error_internal (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_CONNECTED);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED)
    ls_local_socket_emit_connected_internal (self);
}

static void
connect_failed_errno (LsLocalSocket *self,
                      int            errno_value)
{
  LsSocketError code;
  char *message = ls_error_connect_message (errno_value, self->rare->address->full_name,
                                            self->rare->address->abstract, &code);

  connect_failed (self, code, message);
}

static gboolean retry_connect_cb (gpointer user_data);

/* One connect() attempt; on EAGAIN (listen backlog full) schedules the next
 * one with a doubling delay instead of Qt's busy retry. */
void
ls_local_socket_try_connect_internal (LsLocalSocket *self,
                                      gboolean       schedule_retry)
{
  if (connect (self->fd, (struct sockaddr *) &self->rare->address->addr, self->rare->address->addr_len) == 0 ||
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
  if (g_get_monotonic_time () >= self->rare->connect_deadline)
    {
      connect_failed (self, LS_SOCKET_ERROR_SOCKET_TIMEOUT,
                      g_strdup_printf ("Cannot connect to “%s”: Socket operation timed out "
                                       "(the server's listen backlog stayed full for %d ms)",
                                       self->rare->address->full_name, self->connect_timeout));
      return;
    }

  self->rare->retry_ms = self->rare->retry_ms == 0 ? RETRY_FIRST_MS : MIN (self->rare->retry_ms * 2, RETRY_MAX_MS);
  if (schedule_retry && self->rare->retry_source == NULL && self->core != NULL)
    {
      gint64 left_ms = (self->rare->connect_deadline - g_get_monotonic_time ()) / 1000;

      self->rare->retry_source = g_timeout_source_new (CLAMP (left_ms, 0, self->rare->retry_ms));
      g_source_set_static_name (self->rare->retry_source, "[ls] connect retry");
      g_source_set_callback (self->rare->retry_source, retry_connect_cb, self, NULL);
      g_source_attach (self->rare->retry_source, ls_event_core_get_context (self->core));
    }
}

static gboolean
retry_connect_cb (gpointer user_data)
{
  LsLocalSocket *self = ls_local_socket_hold_internal (user_data);

  g_clear_pointer (&self->rare->retry_source, g_source_unref);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING && self->fd >= 0)
    ls_local_socket_try_connect_internal (self, TRUE);
  ls_local_socket_unhold_internal (self);
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
 * A socket that is connected or connecting emits
 * [signal@Ls.LocalSocket::error-occurred] with
 * %LS_SOCKET_ERROR_OPERATION and is left as it is. One that is closing
 * (%LS_LOCAL_SOCKET_STATE_CLOSING) connects again, as in Qt: to its
 * current server-name (@name is ignored then), and the closing connection
 * is dropped without its closing signals, together with the output it had
 * not written yet; call [method@Ls.LocalSocket.wait_for_disconnected]
 * first to deliver it.
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

/* connect_to_server () while a graceful close still delivers: as in Qt,
 * the closing connection goes without its closing signals, its unsent
 * output with it, and the socket connects again. */
static void
abandon_closing_connection (LsLocalSocket *self)
{
  gboolean held = self->closing_hold;

  self->closing_hold = FALSE;
  ls_local_socket_release_fd_internal (self);
  /* The caller holds a reference of its own. */
  if (held)
    ls_local_socket_unhold_internal (self);
}

/* A handler of connect_to_server ()'s CONNECTING emission gave the attempt
 * up before it began (abort (), close (), a wait): as in Qt, where the
 * attempt then finds the server name cleared, it fails. */
static void
fail_cancelled_connect (LsLocalSocket *self,
                        const char    *name)
{
  self->connect_cancelled = FALSE;
  connect_failed (self, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                  g_strdup_printf ("Cannot connect to “%s”: Server not found (the attempt was "
                                   "given up by a handler of the connecting state before it began)",
                                   name != NULL ? name : ""));
}

void
ls_local_socket_give_up_starting_connect_internal (LsLocalSocket *self,
                                                   const char    *what)
{
  g_autofree char *name = g_strdup (ls_local_socket_display_name_internal (self));
  guint life = self->life;

  self->connect_cancelled = TRUE;
  ls_local_socket_replace_names_internal (self, NULL, NULL);
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  if (self->life == life)
    ls_local_socket_emit_error_internal (self, LS_SOCKET_ERROR_UNKNOWN,
                                         g_strdup_printf ("Cannot wait for %s on “%s”: Unknown "
                                                          "error (the connection attempt had not "
                                                          "begun, so the wait gave it up)",
                                                          what, name));
}

void
ls_local_socket_connect_to_address_internal (LsLocalSocket *self,
                                             LsAddress     *address,
                                             GError        *address_error,
                                             const char    *name)
{
  GError *error = NULL;
  char *attempted;
  guint life;

  /* As in Qt, a socket that is closing connects again; the name given is
   * ignored then (server-name changes only while unconnected). */
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
      self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      const char *current = ls_local_socket_display_name_internal (self);

      ls_local_socket_emit_error_internal (self, LS_SOCKET_ERROR_OPERATION,
                                           g_strdup_printf ("Cannot connect to “%s”: Operation not "
                                                            "permitted when socket is in this state "
                                                            "(already connected to “%s”)",
                                                            name ? name : current, current));
      goto out_unowned;
    }

  ls_local_socket_hold_internal (self);
  if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING)
    {
      abandon_closing_connection (self);
      g_clear_pointer (&address, ls_address_free);
      g_clear_error (&address_error);
    }
  else if (name != NULL)
    ls_local_socket_set_server_name (self, name);
  /* Like Qt's open(): a new connection starts with empty buffers, so the
   * unread bytes of the previous peer never look like the new peer's. */
  ls_local_socket_clear_input_internal (self);
  ls_local_socket_record_error_internal (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  begin_life (self);
  life = self->life;
  attempted = self->server_name != NULL ? g_ref_string_acquire (self->server_name) : NULL;
  self->connect_cancelled = FALSE;
  self->starting_connect = TRUE;
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_CONNECTING);
  self->starting_connect = FALSE;
  /* A handler that connected again started a connection of its own. */
  if (self->life == life && self->connect_cancelled)
    fail_cancelled_connect (self, attempted);
  g_clear_pointer (&attempted, g_ref_string_release);
  if (self->life != life || self->state != LS_LOCAL_SOCKET_STATE_CONNECTING || self->fd >= 0)
    goto out;

  if (address_error != NULL)
    {
      connect_failed (self, address_error->code, g_strdup (address_error->message));
      goto out;
    }
  /* Connecting needs the rare part (address, retry state) from here on. */
  ls_local_socket_rare_internal (self);
  if (address != NULL)
    self->rare->address = g_steal_pointer (&address);
  else
    {
      self->rare->address = g_new0 (LsAddress, 1);
      if (!ls_address_resolve (self->rare->address, "connect to", self->server_name,
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

  self->rare->retry_ms = 0;
  self->rare->connect_deadline = g_get_monotonic_time () + (gint64) self->connect_timeout * 1000;
  ls_local_socket_try_connect_internal (self, TRUE);

out:
  ls_local_socket_unhold_internal (self);
out_unowned:
  g_clear_pointer (&address, ls_address_free);
  g_clear_error (&address_error);
}

/* The names of an adopted descriptor: the peer's address, or the local one
 * when the peer is unnamed, as in Qt 6. */
static void
take_names_from_descriptor (LsLocalSocket *self,
                            int            fd)
{
  struct sockaddr_un addr;
  socklen_t addr_len = sizeof addr;
  LsAddress address;

  memset (&addr, 0, sizeof addr);
  if ((getpeername (fd, (struct sockaddr *) &addr, &addr_len) == 0 &&
       ls_address_from_native (&address, &addr, addr_len)) ||
      ((addr_len = sizeof addr), memset (&addr, 0, sizeof addr),
       getsockname (fd, (struct sockaddr *) &addr, &addr_len) == 0 &&
       ls_address_from_native (&address, &addr, addr_len)))
    {
      g_autofree char *basename = ls_name_basename (address.full_name);

      /* Qt 6: a path gives the path and its basename, an abstract address
       * its name for both. */
      ls_local_socket_replace_names_internal (self,
                                              g_ref_string_new (address.abstract ? address.full_name
                                                                                 : basename),
                                              g_ref_string_new (address.full_name));
      if (address.abstract)
        self->options |= LS_SOCKET_OPTION_ABSTRACT_NAMESPACE;
      ls_address_clear (&address);
    }
  else
    ls_local_socket_replace_names_internal (self, NULL, NULL);
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
  LsEventCore *core;
  GError *local_error = NULL;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->fd >= 0 || self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                   "Cannot adopt descriptor %d: the socket is already in use for “%s”",
                   socket_descriptor, ls_local_socket_display_name_internal (self));
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
  if (!ls_local_socket_attach_fd_internal (self, core, socket_descriptor))
    {
      int saved_errno = errno;
      self->fd = -1;
      g_clear_pointer (&self->core, ls_event_core_unref);
      g_set_error (&local_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                   "Cannot adopt descriptor %d: %s", socket_descriptor, g_strerror (saved_errno));
      goto fail;
    }

  ls_local_socket_clear_input_internal (self);
  begin_life (self);
  take_names_from_descriptor (self, socket_descriptor);

  self->is_open = TRUE;
  self->owner_thread = pthread_self ();
  self->has_owner = TRUE;
  ls_local_socket_record_error_internal (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  ls_local_socket_set_state_internal (self, state);
  /* Closing with nothing to write: finish from the event core, or at once
   * when no main loop serves the socket. */
  if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->watch != NULL)
    ls_watch_defer (self->watch);
  else if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->fd >= 0)
    ls_local_socket_teardown_internal (self, FALSE);
  return TRUE;

fail:
  ls_local_socket_record_error_internal (self, local_error->code, g_strdup (local_error->message));
  g_propagate_error (error, local_error);
  return FALSE;
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
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_SERVER_NAME);
}

/**
 * ls_local_socket_get_server_name: (get-property server-name)
 * @self: a socket
 *
 * Gets the name to connect to (or connected to), as given to
 * [method@Ls.LocalSocket.set_server_name] or
 * [method@Ls.LocalSocket.connect_to_server]; "" when unset.
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
 * Gets the resolved path (or abstract name) of the connection, or "".
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
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_SOCKET_OPTIONS);
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
  ls_local_socket_notify_internal (self, LS_LOCAL_SOCKET_PROP_CONNECT_TIMEOUT);
}
