/* ls-local-server.c: a local (Unix domain) socket server, the twin of QLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The class: its properties and signals, listen and close, accessors.
 * Accepting and the pending queue are in ls-local-server-accept.c; the
 * socket file (bind with a mode, removal of our own file) in
 * ls-socket-file.c, stale-socket reclaim in ls-socket-file-reclaim.c.
 */
#include "ls-local-server.h"
#include "ls-local-server-private.h"
#include "ls-enum-types.h"
#include "ls-error-private.h"
#include "ls-socket-file-reclaim-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/**
 * LsLocalServer:
 *
 * A server listening on a local (Unix domain) stream socket, the GLib twin
 * of Qt's `QLocalServer`.
 *
 * Call [method@Ls.LocalServer.listen] with a name; every accepted connection
 * arrives as an [class@Ls.LocalSocket], queued before
 * [signal@Ls.LocalServer::new-connection] is emitted, and is taken with
 * [method@Ls.LocalServer.next_pending_connection]:
 *
 * ```c
 * static void
 * on_new_connection (LsLocalServer *server, gpointer user_data)
 * {
 *   LsLocalSocket *socket;
 *
 *   while ((socket = ls_local_server_next_pending_connection (server)))
 *     g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), NULL);
 * }
 * ```
 *
 * A name not starting with `/` lives in `$TMPDIR` (or `/tmp`), exactly as
 * Qt resolves it, so Qt clients find an Ls server by the same name.
 *
 * The server attaches to the thread-default [struct@GLib.MainContext] of
 * the thread that calls `listen`; signals are emitted there.
 *
 * Unlike Qt, a failing `accept()` (out of descriptors or memory) never
 * closes the server: it records %LS_SOCKET_ERROR_SOCKET_RESOURCE, pauses
 * accepting and retries with a back-off; `close()` only removes the socket
 * file it created itself; socket options never replace an existing file;
 * and `max-pending-connections` is a strict limit.
 *
 * Since: 1.0
 */

G_DEFINE_TYPE_WITH_PRIVATE (LsLocalServer, ls_local_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SERVER_NAME,
  PROP_FULL_SERVER_NAME,
  PROP_LISTENING,
  PROP_MAX_PENDING_CONNECTIONS,
  PROP_SOCKET_OPTIONS,
  PROP_LISTEN_BACKLOG_SIZE,
  PROP_RECLAIM_STALE,
  PROP_ACCEPT_FDS,
  N_PROPS
};

enum {
  NEW_CONNECTION,
  AUTHORIZE_PEER,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Records the error for the Qt-style accessors and returns it as a GError. */
static void
take_error (LsLocalServer *self,
            GError       **error,
            GError        *local_error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);

  g_free (priv->error_string);
  priv->error_string = g_strdup (local_error->message);
  priv->error = local_error->code;
  g_propagate_error (error, local_error);
}


LsLocalServerPrivate *
ls_local_server_get_private (LsLocalServer *self)
{
  return ls_local_server_get_instance_private (self);
}

static gboolean ls_local_server_real_authorize_peer (LsLocalServer *self,
                                                     GCredentials  *credentials);

/* Sets the names after a successful bind or adoption. */
void
ls_local_server_set_names_internal (LsLocalServer *self,
                                    const char    *server_name,
                                    const char    *full_server_name,
                                    gboolean       abstract)
{
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);
  g_autofree char *basename = abstract ? g_strdup (full_server_name)
                                       : ls_name_basename (full_server_name);

  priv->server_name = g_ref_string_new (server_name);
  priv->full_server_name = g_ref_string_new (full_server_name);
  priv->accepted_name = g_ref_string_new (basename);
}

void
ls_local_server_clear_names_internal (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);

  g_clear_pointer (&priv->server_name, g_ref_string_release);
  g_clear_pointer (&priv->full_server_name, g_ref_string_release);
  g_clear_pointer (&priv->accepted_name, g_ref_string_release);
}

gboolean
ls_local_server_should_authorize_peer (LsLocalServer *self)
{
  /* Asking costs nothing when nobody listens. */
  return LS_LOCAL_SERVER_GET_CLASS (self)->authorize_peer != ls_local_server_real_authorize_peer ||
         g_signal_has_handler_pending (self, signals[AUTHORIZE_PEER], 0, FALSE);
}

gboolean
ls_local_server_emit_authorize_peer (LsLocalServer *self,
                                     int            fd)
{
  g_autoptr(GCredentials) credentials = NULL;
  gboolean authorized = TRUE;

  credentials = ls_fd_get_peer_credentials (fd);
  if (credentials == NULL)
    return FALSE;
  g_signal_emit (self, signals[AUTHORIZE_PEER], 0, credentials, &authorized);
  return authorized;
}

void
ls_local_server_emit_new_connection (LsLocalServer *self)
{
  g_signal_emit (self, signals[NEW_CONNECTION], 0);
}

static void
ls_local_server_dispose (GObject *object)
{
  LsLocalServer *self = LS_LOCAL_SERVER (object);

  ls_local_server_close (self);
  /* Sockets queued on a server that was not listening (add_pending_connection
   * ()), which close () leaves alone. */
  ls_local_server_clear_pending (self);
  G_OBJECT_CLASS (ls_local_server_parent_class)->dispose (object);
}

static void
ls_local_server_finalize (GObject *object)
{
  LsLocalServer *self = LS_LOCAL_SERVER (object);
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);

  ls_local_server_clear_names_internal (self);
  ls_local_server_free_pending (self);
  g_free (priv->error_string);
  G_OBJECT_CLASS (ls_local_server_parent_class)->finalize (object);
}

static void
ls_local_server_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  LsLocalServer *self = LS_LOCAL_SERVER (object);

  switch (prop_id)
    {
    case PROP_SERVER_NAME:
      g_value_set_string (value, ls_local_server_get_server_name (self));
      break;
    case PROP_FULL_SERVER_NAME:
      g_value_set_string (value, ls_local_server_get_full_server_name (self));
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, ls_local_server_is_listening (self));
      break;
    case PROP_MAX_PENDING_CONNECTIONS:
      g_value_set_int (value, ls_local_server_get_max_pending_connections (self));
      break;
    case PROP_SOCKET_OPTIONS:
      g_value_set_flags (value, ls_local_server_get_socket_options (self));
      break;
    case PROP_LISTEN_BACKLOG_SIZE:
      g_value_set_int (value, ls_local_server_get_listen_backlog_size (self));
      break;
    case PROP_RECLAIM_STALE:
      g_value_set_boolean (value, ls_local_server_get_reclaim_stale (self));
      break;
    case PROP_ACCEPT_FDS:
      g_value_set_boolean (value, ls_local_server_get_accept_fds (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ls_local_server_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  LsLocalServer *self = LS_LOCAL_SERVER (object);

  switch (prop_id)
    {
    case PROP_MAX_PENDING_CONNECTIONS:
      ls_local_server_set_max_pending_connections (self, g_value_get_int (value));
      break;
    case PROP_SOCKET_OPTIONS:
      ls_local_server_set_socket_options (self, g_value_get_flags (value));
      break;
    case PROP_LISTEN_BACKLOG_SIZE:
      ls_local_server_set_listen_backlog_size (self, g_value_get_int (value));
      break;
    case PROP_RECLAIM_STALE:
      ls_local_server_set_reclaim_stale (self, g_value_get_boolean (value));
      break;
    case PROP_ACCEPT_FDS:
      ls_local_server_set_accept_fds (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
ls_local_server_real_authorize_peer (LsLocalServer *self,
                                     GCredentials  *credentials)
{
  return TRUE;
}

static void
ls_local_server_class_init (LsLocalServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ls_local_server_dispose;
  object_class->finalize = ls_local_server_finalize;
  object_class->get_property = ls_local_server_get_property;
  object_class->set_property = ls_local_server_set_property;

  klass->incoming_connection = ls_local_server_real_incoming_connection;
  klass->authorize_peer = ls_local_server_real_authorize_peer;

  /**
   * LsLocalServer:server-name: (getter get_server_name)
   *
   * The name given to [method@Ls.LocalServer.listen], or "" when not
   * listening.
   *
   * Since: 1.0
   */
  properties[PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * LsLocalServer:full-server-name: (getter get_full_server_name)
   *
   * The resolved path (or abstract name) the server listens on, or "".
   *
   * Since: 1.0
   */
  properties[PROP_FULL_SERVER_NAME] =
    g_param_spec_string ("full-server-name", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * LsLocalServer:listening: (getter is_listening)
   *
   * Whether the server is listening.
   *
   * Since: 1.0
   */
  properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalServer:max-pending-connections: (getter get_max_pending_connections) (setter set_max_pending_connections)
   *
   * At most this many accepted connections wait in the queue for
   * [method@Ls.LocalServer.next_pending_connection]; further ones wait in
   * the kernel's listen backlog. 0 accepts nothing from the main loop; only
   * [method@Ls.LocalServer.wait_for_new_connection] then accepts.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_PENDING_CONNECTIONS] =
    g_param_spec_int ("max-pending-connections", NULL, NULL, 0, G_MAXINT, 30,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalServer:socket-options: (getter get_socket_options) (setter set_socket_options)
   *
   * Access restrictions or the abstract namespace, used by the next
   * [method@Ls.LocalServer.listen].
   *
   * Since: 1.0
   */
  properties[PROP_SOCKET_OPTIONS] =
    g_param_spec_flags ("socket-options", NULL, NULL,
                        LS_TYPE_SOCKET_OPTIONS, LS_SOCKET_OPTION_NONE,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalServer:listen-backlog-size: (getter get_listen_backlog_size) (setter set_listen_backlog_size)
   *
   * The backlog passed to `listen()` by the next
   * [method@Ls.LocalServer.listen].
   *
   * Since: 1.0
   */
  properties[PROP_LISTEN_BACKLOG_SIZE] =
    g_param_spec_int ("listen-backlog-size", NULL, NULL, 0, G_MAXINT, 50,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalServer:reclaim-stale: (getter get_reclaim_stale) (setter set_reclaim_stale)
   *
   * Whether [method@Ls.LocalServer.listen] replaces a stale socket file
   * (one on which nothing listens: a connect is refused) at its path.
   *
   * A live server's socket (even one whose backlog is full) and anything
   * that is not a socket (a symbolic link, even to a stale socket, a
   * regular file, a directory) are never removed: the call fails with
   * %LS_SOCKET_ERROR_ADDRESS_IN_USE as without this property. Of any
   * number of processes that start at once on the same path, exactly one
   * listens; the others fail with %LS_SOCKET_ERROR_ADDRESS_IN_USE.
   *
   * For that, the server takes an exclusive `flock()` on the file
   * “PATH.lock” beside the socket (created if missing, opened without
   * following links, never removed, since removing it would let two
   * processes lock two different files) and holds it while it examines the
   * path, removes a stale socket, binds (applying
   * [property@Ls.LocalServer:socket-options] before the name appears) and
   * starts listening. A second instance that finds the lock taken fails at
   * once, without waiting. Only servers with this property take the lock;
   * a plain `listen` never touches a file at the path.
   *
   * Whoever can open the lock file can hold it: it is mode 0600 whatever
   * the umask, and a lock file that belongs to another user is refused
   * (%LS_SOCKET_ERROR_SOCKET_ACCESS, with a message saying to remove it),
   * so no user who could not remove the socket anyway can make the listen
   * fail through it.
   *
   * See the “Single-instance applications” page. Abstract names have no
   * file: the property does not apply to them.
   *
   * Since: 1.2
   */
  properties[PROP_RECLAIM_STALE] =
    g_param_spec_boolean ("reclaim-stale", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalServer:accept-fds: (getter get_accept_fds) (setter set_accept_fds)
   *
   * The [property@Ls.LocalSocket:accept-fds] of every socket the server
   * accepts from now on: when set, each has it before its first read, so
   * that descriptors a client sends with its very first byte are received.
   * Off by default: clients cannot make the server hold descriptors it
   * did not ask for.
   *
   * A subclass whose [vfunc@Ls.LocalServer.incoming_connection] makes
   * sockets itself gets it set on them when it queues them with
   * [method@Ls.LocalServer.add_pending_connection].
   *
   * Since: 1.2
   */
  properties[PROP_ACCEPT_FDS] =
    g_param_spec_boolean ("accept-fds", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * LsLocalServer::new-connection:
   * @self: the server
   *
   * Emitted once per accepted connection, after it was queued: take it
   * with [method@Ls.LocalServer.next_pending_connection].
   *
   * Since: 1.0
   */
  signals[NEW_CONNECTION] =
    g_signal_new ("new-connection",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (LsLocalServerClass, new_connection),
                  NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * LsLocalServer::authorize-peer:
   * @self: the server
   * @credentials: the credentials of the connecting process (`SO_PEERCRED`)
   *
   * Emitted for each accepted connection before anything else happens with
   * it, when at least one handler is connected. Return %FALSE to refuse the
   * peer: the connection is closed at once and never reaches
   * [signal@Ls.LocalServer::new-connection]. The first handler's answer
   * wins. Beyond Qt; useful for abstract-namespace servers, which have no
   * file permissions to restrict access.
   *
   * Every connection accepted after a handler is connected is asked about,
   * also one accepted in the same main-context dispatch as the
   * [signal@Ls.LocalServer::new-connection] emission that connected it.
   *
   * Returns: %TRUE to accept the peer
   *
   * Since: 1.0
   */
  signals[AUTHORIZE_PEER] =
    g_signal_new ("authorize-peer",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (LsLocalServerClass, authorize_peer),
                  g_signal_accumulator_first_wins, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, G_TYPE_CREDENTIALS);
}

static void
ls_local_server_init (LsLocalServer *self)
{
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);

  priv->fd = -1;
  priv->file = (LsSocketFile) LS_SOCKET_FILE_INIT;
  priv->max_pending = 30;
  priv->backlog = 50;
  priv->error = LS_SOCKET_ERROR_UNKNOWN;
}

/**
 * ls_local_server_new:
 *
 * Creates a server that is not listening yet.
 *
 * Returns: (transfer full): a new [class@Ls.LocalServer]
 *
 * Since: 1.0
 */
LsLocalServer *
ls_local_server_new (void)
{
  return g_object_new (LS_TYPE_LOCAL_SERVER, NULL);
}

/* Like Qt 6 listen (fd): %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE follows the
 * address listened on. */
void
ls_local_server_follow_namespace_internal (LsLocalServer *self,
                                          gboolean       abstract)
{
  LsLocalServerPrivate *priv = ls_local_server_get_instance_private (self);

  if (abstract == ((priv->options & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE) != 0))
    return;
  priv->options ^= LS_SOCKET_OPTION_ABSTRACT_NAMESPACE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOCKET_OPTIONS]);
}

/* The properties that listen () and close () change. */
void
ls_local_server_notify_listening_internal (LsLocalServer *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_NAME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FULL_SERVER_NAME]);
}

void
ls_local_server_take_error_internal (LsLocalServer  *self,
                                     GError        **error,
                                     GError         *local_error)
{
  take_error (self, error, local_error);
}

/**
 * ls_local_server_close:
 * @self: a server
 *
 * Stops listening. Connections accepted but not taken yet are closed (their
 * peers see end-of-file); connections already handed out keep working. The
 * socket file is removed only if it is still the one this server created.
 * The error state is reset and the server can listen again. Closing a server
 * that is not listening does nothing.
 *
 * Since: 1.0
 */
void
ls_local_server_close (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  if (priv->fd < 0)
    return;

  ls_local_server_stop_backoff (self);
  g_clear_pointer (&priv->watch, ls_watch_free);
  /* The file goes first: while the socket is open its inode cannot be
   * freed and its number reused by a newer server's file, so the check
   * that the file is still ours holds; and the name never shows a socket
   * that refuses connections (which a reclaimer would take for stale). */
  ls_socket_file_release (&priv->file);
  close (priv->fd);
  priv->fd = -1;
  ls_local_server_release_gsocket (self);
  ls_local_server_clear_pending (self);
  g_clear_pointer (&priv->core, ls_event_core_unref);

  ls_local_server_clear_names_internal (self);
  g_clear_pointer (&priv->error_string, g_free);
  priv->error = LS_SOCKET_ERROR_UNKNOWN;

  ls_local_server_notify_listening_internal (self);
}

/**
 * ls_local_server_is_listening: (get-property listening)
 * @self: a server
 *
 * Gets whether the server is listening.
 *
 * Returns: whether the server is listening
 *
 * Since: 1.0
 */
gboolean
ls_local_server_is_listening (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);

  priv = ls_local_server_get_instance_private (self);
  return priv->fd >= 0;
}

/**
 * ls_local_server_get_error_string:
 * @self: a server
 *
 * The text of the last error, naming the operation, the name or path and
 * the reason; "" when there was none since the last close.
 *
 * Returns: (not nullable): the last error's message
 *
 * Since: 1.0
 */
const char *
ls_local_server_get_error_string (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), "");

  priv = ls_local_server_get_instance_private (self);
  return priv->error_string ? priv->error_string : "";
}

/**
 * ls_local_server_get_server_error:
 * @self: a server
 *
 * The code of the last error; %LS_SOCKET_ERROR_UNKNOWN when there was none.
 * A successful listen does not reset it (as in Qt); close does.
 *
 * Returns: the last error
 *
 * Since: 1.0
 */
LsSocketError
ls_local_server_get_server_error (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), LS_SOCKET_ERROR_UNKNOWN);

  priv = ls_local_server_get_instance_private (self);
  return priv->error;
}

/**
 * ls_local_server_get_server_name: (get-property server-name)
 * @self: a server
 *
 * Gets the name given to [method@Ls.LocalServer.listen], or "" when the
 * server is not listening.
 *
 * Returns: (not nullable): the name given to listen, or ""
 *
 * Since: 1.0
 */
const char *
ls_local_server_get_server_name (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), "");

  priv = ls_local_server_get_instance_private (self);
  return priv->server_name ? priv->server_name : "";
}

/**
 * ls_local_server_get_full_server_name: (get-property full-server-name)
 * @self: a server
 *
 * Gets the resolved path (or abstract name) the server listens on, or ""
 * when it is not listening.
 *
 * Returns: (not nullable): the path or abstract name listened on, or ""
 *
 * Since: 1.0
 */
const char *
ls_local_server_get_full_server_name (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), "");

  priv = ls_local_server_get_instance_private (self);
  return priv->full_server_name ? priv->full_server_name : "";
}

/**
 * ls_local_server_get_socket_descriptor:
 * @self: a server
 *
 * Gets the listening descriptor (still owned by the server), or -1.
 *
 * Returns: the listening descriptor (still owned by the server), or -1
 *
 * Since: 1.0
 */
int
ls_local_server_get_socket_descriptor (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), -1);

  priv = ls_local_server_get_instance_private (self);
  return priv->fd;
}

/**
 * ls_local_server_get_max_pending_connections: (get-property max-pending-connections)
 * @self: a server
 *
 * Gets the most connections queued before the server stops accepting.
 *
 * Returns: the most connections queued before the server stops accepting
 *
 * Since: 1.0
 */
gint
ls_local_server_get_max_pending_connections (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), 0);

  priv = ls_local_server_get_instance_private (self);
  return priv->max_pending;
}

/**
 * ls_local_server_set_max_pending_connections: (set-property max-pending-connections)
 * @self: a server
 * @max_pending: the most connections to queue (0 or more)
 *
 * Sets how many accepted connections may wait for
 * [method@Ls.LocalServer.next_pending_connection]. Takes effect at once.
 *
 * Since: 1.0
 */
void
ls_local_server_set_max_pending_connections (LsLocalServer *self,
                                             gint           max_pending)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  max_pending = MAX (max_pending, 0);
  if (priv->max_pending == max_pending)
    return;
  priv->max_pending = max_pending;
  ls_local_server_update_watch (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PENDING_CONNECTIONS]);
}

/**
 * ls_local_server_get_socket_options: (get-property socket-options)
 * @self: a server
 *
 * Gets the socket options.
 *
 * Returns: the socket options
 *
 * Since: 1.0
 */
LsSocketOptions
ls_local_server_get_socket_options (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), LS_SOCKET_OPTION_NONE);

  priv = ls_local_server_get_instance_private (self);
  return priv->options;
}

/**
 * ls_local_server_set_socket_options: (set-property socket-options)
 * @self: a server
 * @options: the options
 *
 * Sets the options for the next [method@Ls.LocalServer.listen]; a socket
 * already listening keeps its mode.
 *
 * Since: 1.0
 */
void
ls_local_server_set_socket_options (LsLocalServer   *self,
                                    LsSocketOptions  options)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  if (priv->options == options)
    return;
  priv->options = options;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOCKET_OPTIONS]);
}

/**
 * ls_local_server_get_listen_backlog_size: (get-property listen-backlog-size)
 * @self: a server
 *
 * Gets the listen backlog.
 *
 * Returns: the listen backlog
 *
 * Since: 1.0
 */
gint
ls_local_server_get_listen_backlog_size (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), 0);

  priv = ls_local_server_get_instance_private (self);
  return priv->backlog;
}

/**
 * ls_local_server_set_listen_backlog_size: (set-property listen-backlog-size)
 * @self: a server
 * @size: the backlog for the next listen
 *
 * Sets the backlog passed to `listen()`; takes effect at the next listen.
 *
 * Since: 1.0
 */
void
ls_local_server_set_listen_backlog_size (LsLocalServer *self,
                                         gint           size)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  size = MAX (size, 0);
  if (priv->backlog == size)
    return;
  priv->backlog = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_BACKLOG_SIZE]);
}

/**
 * ls_local_server_remove_server:
 * @name: a server name, resolved as [method@Ls.LocalServer.listen] does
 * @error: return location for an error
 *
 * Removes the socket file at @name, typically a stale one left by a crashed
 * server. Like Qt, this also removes a live server's socket. Unlike Qt, it
 * removes only a socket: any other file at the path (a regular file, a
 * FIFO, a directory, a symbolic link) is left alone and reported with
 * %LS_SOCKET_ERROR_ADDRESS_IN_USE. Nothing at the path is a success.
 *
 * Returns: %TRUE if nothing is left at the path
 *
 * Since: 1.0
 */
gboolean
ls_local_server_remove_server (const char  *name,
                               GError     **error)
{
  LsAddress address;
  gboolean ok;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!ls_address_resolve (&address, "remove", name, LS_SOCKET_OPTION_NONE, error))
    return FALSE;
  ok = ls_socket_file_remove_socket (address.full_name, error);
  ls_address_clear (&address);
  return ok;
}

/**
 * ls_local_server_get_reclaim_stale: (get-property reclaim-stale)
 * @self: a server
 *
 * Gets whether [method@Ls.LocalServer.listen] replaces a stale socket file.
 *
 * Returns: the value of [property@Ls.LocalServer:reclaim-stale]
 *
 * Since: 1.2
 */
gboolean
ls_local_server_get_reclaim_stale (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);

  priv = ls_local_server_get_instance_private (self);
  return priv->reclaim_stale;
}

/**
 * ls_local_server_set_reclaim_stale: (set-property reclaim-stale)
 * @self: a server
 * @reclaim: whether to replace a stale socket file
 *
 * Sets whether the next [method@Ls.LocalServer.listen] replaces a stale
 * socket file at its path; see [property@Ls.LocalServer:reclaim-stale].
 *
 * Since: 1.2
 */
void
ls_local_server_set_reclaim_stale (LsLocalServer *self,
                                   gboolean       reclaim)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  reclaim = !!reclaim;
  if (priv->reclaim_stale == reclaim)
    return;
  priv->reclaim_stale = reclaim;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECLAIM_STALE]);
}

/**
 * ls_local_server_get_accept_fds: (get-property accept-fds)
 * @self: a server
 *
 * Gets whether the sockets the server accepts receive descriptors.
 *
 * Returns: the value of [property@Ls.LocalServer:accept-fds]
 *
 * Since: 1.2
 */
gboolean
ls_local_server_get_accept_fds (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);

  priv = ls_local_server_get_instance_private (self);
  return priv->accept_fds;
}

/**
 * ls_local_server_set_accept_fds: (set-property accept-fds)
 * @self: a server
 * @accept: whether accepted sockets receive descriptors
 *
 * Sets [property@Ls.LocalSocket:accept-fds] for every socket the server
 * accepts from now on; see [property@Ls.LocalServer:accept-fds].
 *
 * Since: 1.2
 */
void
ls_local_server_set_accept_fds (LsLocalServer *self,
                                gboolean       accept)
{
  LsLocalServerPrivate *priv;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));

  priv = ls_local_server_get_instance_private (self);
  accept = !!accept;
  if (priv->accept_fds == accept)
    return;
  priv->accept_fds = accept;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCEPT_FDS]);
}
