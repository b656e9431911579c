/* ls-single-instance.c: one primary instance per id; later launches hand it a message
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The class, the election (register) and the primary's side: it serves
 * from its main loop, one message per connection, and never waits for a
 * peer. The secondary's side (send_message) is in
 * ls-single-instance-send.c; QtLocalPeer's names and lock in
 * ls-single-instance-qt.c.
 */
#include "ls-single-instance-private.h"
#include "ls-local-server.h"
#include "ls-error-private.h"
#include "ls-socket-file-reclaim-private.h"
#include "ls-temp-path-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/**
 * LsSingleInstance:
 *
 * Makes one process the *primary* instance of an application among any
 * number launched with the same id; the others (*secondaries*) hand it a
 * message — typically their command line — and exit.
 *
 * ```c
 * g_autoptr(LsSingleInstance) instance =
 *   ls_single_instance_new ("org.example.Viewer", LS_SINGLE_INSTANCE_PROTOCOL_LS);
 *
 * if (!ls_single_instance_register (instance, NULL, &error))
 *   return fail (error);                 // neither role could be taken
 * if (!ls_single_instance_is_primary (instance))
 *   return ls_single_instance_send_message (instance, arguments, NULL, &error) ? 0 : 1;
 *
 * g_signal_connect (instance, "message-received", G_CALLBACK (on_message), app);
 * run_the_application ();
 * ls_single_instance_release (instance);  // or let dispose do it
 * ```
 *
 * - Of any number of processes that register at once, exactly one becomes
 *   primary. A socket left by a primary that crashed is taken over; a live
 *   primary is never displaced.
 * - [method@Ls.SingleInstance.send_message] retries while the primary is
 *   between winning the election and listening, and returns once the
 *   primary has acknowledged the message, which the primary announces with
 *   [signal@Ls.SingleInstance::message-received].
 * - The primary serves from the thread-default main context of the thread
 *   that called `register`, asynchronously: an application that is busy
 *   only in its main loop still answers, and a peer that connects and sends
 *   nothing, or garbage, or a huge length, costs it neither a block nor
 *   unbounded memory (messages are limited to 16 MiB, connections to
 *   [property@Ls.SingleInstance:timeout]).
 * - The socket is made for the user only (mode 0700), and removed when the
 *   primary releases its role or is disposed.
 *
 * With %LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER the same is done the way
 * QtSingleApplication's `QtLocalPeer` does it, so that a Qt program and an
 * Ls program with the same application id find each other.
 *
 * Since: 1.2
 */

/* Connections served at once; more wait in the server's queue, then in the
 * kernel's backlog, costing nothing here. */
#define MAX_CONNECTIONS         16
#define MAX_PENDING_CONNECTIONS 16
/* What one message may weigh: command lines, not files. */
#define MAX_MESSAGE_SIZE        (16 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS      5000
#define REGISTER_FAILED         "Cannot register the single instance “%s”: "

struct _LsSingleInstance
{
  GObject parent_instance;

  char                     *id;
  LsSingleInstanceProtocol  protocol;
  char                     *server_name;
  char                     *display_name;   /* the path, for messages */
  int                       timeout;

  LsSingleInstanceRole      role;
  /* The primary's: */
  LsLocalServer            *server;
  GMainContext             *context;
  GPtrArray                *connections;    /* of Connection */
  gboolean                  taking_connections;
  int                       qt_lock_fd;
};

/* One secondary being served. */
typedef struct
{
  LsSingleInstance *owner;     /* owns this */
  LsLocalSocket    *socket;
  GSource          *timeout_source;
  gboolean          answered;
} Connection;

G_DEFINE_FINAL_TYPE (LsSingleInstance, ls_single_instance, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (LsSingleInstanceProtocol, ls_single_instance_protocol,
  G_DEFINE_ENUM_VALUE (LS_SINGLE_INSTANCE_PROTOCOL_LS, "ls"),
  G_DEFINE_ENUM_VALUE (LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER, "qt-local-peer"))

enum {
  PROP_0,
  PROP_ID,
  PROP_PROTOCOL,
  PROP_SERVER_NAME,
  PROP_TIMEOUT,
  PROP_IS_PRIMARY,
  N_PROPS
};

enum {
  MESSAGE_RECEIVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void take_connections (LsSingleInstance *self);

/* Names ------------------------------------------------------------------- */

static void
update_display_name (LsSingleInstance *self)
{
  g_free (self->display_name);
  /* Resolved now, as listen and connect will resolve it ($TMPDIR may have
   * changed since construction). */
  if (self->server_name[0] == '\0' || g_path_is_absolute (self->server_name))
    self->display_name = g_strdup (self->server_name);
  else
    self->display_name = ls_temp_path_join (self->server_name);
}

const char *
ls_single_instance_display_name_internal (LsSingleInstance *self)
{
  if (self->display_name == NULL)
    update_display_name (self);
  return self->display_name;
}

LsSingleInstanceRole
ls_single_instance_get_role_internal (LsSingleInstance *self)
{
  return self->role;
}

static gboolean
check_id (LsSingleInstance  *self,
          GError           **error)
{
  const char *reason = NULL;

  if (self->id[0] == '\0')
    reason = "the id is empty";
  else if (self->protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER &&
           !g_utf8_validate (self->id, -1, NULL))
    reason = "QtLocalPeer ids are text, and this one is not valid UTF-8";
  if (reason == NULL)
    return TRUE;
  g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
               REGISTER_FAILED "%s", self->display_name, reason);
  return FALSE;
}

/* Whether a primary can be at @path, or about to be: nothing there yet
 * (one is between its lock and its bind), or a socket. */
static gboolean
path_may_hold_primary (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return errno == ENOENT;
  return S_ISSOCK (st.st_mode);
}

/* Serving ----------------------------------------------------------------- */

static void
connection_free (gpointer data)
{
  Connection *conn = data;

  g_signal_handlers_disconnect_by_data (conn->socket, conn);
  if (conn->timeout_source != NULL)
    {
      g_source_destroy (conn->timeout_source);
      g_source_unref (conn->timeout_source);
    }
  /* An answered connection is already closing gracefully (the answer goes
   * out first); any other is dropped. */
  if (!conn->answered)
    ls_local_socket_abort (conn->socket);
  g_object_unref (conn->socket);
  g_free (conn);
}

/* Forgets @conn and takes the next waiting connection in its place. */
static void
connection_drop (Connection *conn)
{
  LsSingleInstance *self = conn->owner;

  g_ptr_array_remove_fast (self->connections, conn);
  take_connections (self);
}

static gboolean
on_connection_timeout (gpointer data)
{
  Connection *conn = data;

  g_debug ("single instance “%s”: dropping a connection that sent no complete message in %d ms",
           conn->owner->display_name, conn->owner->timeout);
  g_clear_pointer (&conn->timeout_source, g_source_unref);
  connection_drop (conn);
  return G_SOURCE_REMOVE;
}

/* Acknowledges the message. Returns whether the answer reached the
 * kernel while the peer was still there: a secondary that gave up (timed
 * out) before we got to it does not count its message as delivered, so
 * neither may we. */
static gboolean
answer (LsSingleInstance *self,
        LsLocalSocket    *socket)
{
  if (self->protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER)
    {
      if (ls_local_socket_write (socket, (const guint8 *) LS_QT_LOCAL_PEER_ACK,
                                 LS_QT_LOCAL_PEER_ACK_LEN) != LS_QT_LOCAL_PEER_ACK_LEN)
        return FALSE;
    }
  else
    {
      g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

      if (!ls_local_socket_write_message (socket, empty, NULL))
        return FALSE;
    }
  ls_local_socket_flush (socket);
  return ls_local_socket_get_bytes_to_write (socket) == 0 &&
         ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_CONNECTED;
}

/* Reads the connection's message if it is complete, answers it and
 * announces it. Returns whether @conn still exists. */
static gboolean
connection_process (Connection *conn)
{
  LsSingleInstance *self = conn->owner;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;

  message = ls_local_socket_read_message (conn->socket, &error);
  if (error != NULL)
    {
      /* A length beyond MAX_MESSAGE_SIZE: garbage, or a hostile peer. */
      g_debug ("single instance “%s”: dropping a connection: %s", self->display_name, error->message);
      connection_drop (conn);
      return FALSE;
    }
  if (message == NULL)
    {
      if (ls_local_socket_get_state (conn->socket) == LS_LOCAL_SOCKET_STATE_CONNECTED)
        return TRUE;
      connection_drop (conn);   /* the peer left before its message was complete */
      return FALSE;
    }

  /* Answered from now on, also for the handlers that answering may run. */
  conn->answered = TRUE;
  if (!answer (self, conn->socket))
    {
      ls_local_socket_abort (conn->socket);
      connection_drop (conn);
      return FALSE;
    }
  /* Both hang up after the answer; the socket delivers it before closing
   * (anything more the peer sent is ignored). */
  ls_local_socket_disconnect_from_server (conn->socket);
  connection_drop (conn);

  /* Last, as the handler may release or unref us. */
  g_object_ref (self);
  g_signal_emit (self, signals[MESSAGE_RECEIVED], 0, message);
  g_object_unref (self);
  return FALSE;
}

static void
on_connection_ready_read (LsLocalSocket *socket,
                          Connection    *conn)
{
  LsSingleInstance *self = g_object_ref (conn->owner);

  if (!conn->answered)
    connection_process (conn);
  g_object_unref (self);
}

static void
on_connection_disconnected (LsLocalSocket *socket,
                            Connection    *conn)
{
  LsSingleInstance *self;

  /* Answered: connection_process () is closing it and drops it. */
  if (conn->answered)
    return;
  self = g_object_ref (conn->owner);
  /* A message may have arrived complete with the hang-up. */
  if (connection_process (conn))
    connection_drop (conn);
  g_object_unref (self);
}

static void
connection_start (LsSingleInstance *self,
                  LsLocalSocket    *socket)
{
  Connection *conn = g_new0 (Connection, 1);

  conn->owner = self;
  conn->socket = socket;
  ls_local_socket_set_max_message_size (socket, MAX_MESSAGE_SIZE);
  g_signal_connect (socket, "ready-read", G_CALLBACK (on_connection_ready_read), conn);
  g_signal_connect (socket, "disconnected", G_CALLBACK (on_connection_disconnected), conn);
  if (self->timeout >= 0)
    {
      conn->timeout_source = g_timeout_source_new (self->timeout);
      g_source_set_callback (conn->timeout_source, on_connection_timeout, conn, NULL);
      g_source_set_static_name (conn->timeout_source, "[ls] single instance: connection timeout");
      g_source_attach (conn->timeout_source, self->context);
    }
  g_ptr_array_add (self->connections, conn);

  /* The whole message may be buffered already, the peer gone already. */
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_CONNECTED)
    on_connection_disconnected (socket, conn);
  else if (ls_local_socket_get_bytes_available (socket) > 0)
    connection_process (conn);
}

static void
take_connections (LsSingleInstance *self)
{
  /* A connection dropped while one is being started: the loop below
   * takes its successor, no need to recurse. */
  if (self->taking_connections)
    return;
  self->taking_connections = TRUE;
  g_object_ref (self);
  while (self->server != NULL && self->connections->len < MAX_CONNECTIONS)
    {
      LsLocalSocket *socket = ls_local_server_next_pending_connection (self->server);

      if (socket == NULL)
        break;
      connection_start (self, socket);
    }
  self->taking_connections = FALSE;
  g_object_unref (self);
}

static void
on_new_connection (LsLocalServer    *server,
                   LsSingleInstance *self)
{
  take_connections (self);
}

/* Election ---------------------------------------------------------------- */

static LsLocalServer *
new_server (LsSingleInstance *self,
            gboolean          reclaim_stale)
{
  LsLocalServer *server = ls_local_server_new ();

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  ls_local_server_set_max_pending_connections (server, MAX_PENDING_CONNECTIONS);
  ls_local_server_set_reclaim_stale (server, reclaim_stale);
  return server;
}

static void
become_primary (LsSingleInstance *self,
                LsLocalServer    *server)
{
  self->server = server;
  self->context = g_main_context_ref_thread_default ();
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), self);
}

/* After a failed election step: ADDRESS_IN_USE with a socket (or nothing
 * yet) at the name means another primary is there or about to be, and
 * this instance is a secondary: TRUE. Anything else is an error. Consumes
 * @failure. */
static gboolean
another_primary (LsSingleInstance  *self,
                 GError            *failure,
                 GError           **error)
{
  if (g_error_matches (failure, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE) &&
      path_may_hold_primary (self->display_name))
    {
      g_error_free (failure);
      return TRUE;
    }
  g_propagate_prefixed_error (error, failure, REGISTER_FAILED, self->id);
  return FALSE;
}

/* Ls's own protocol: the server's reclaim-stale makes exactly one of any
 * number of simultaneous listeners win; the others find the path taken
 * (or locked by the one that is about to listen) and are secondaries. */
static gboolean
register_ls (LsSingleInstance      *self,
             LsSingleInstanceRole  *role,
             GError               **error)
{
  g_autoptr(LsLocalServer) server = new_server (self, TRUE);
  g_autoptr(GError) local_error = NULL;

  if (ls_local_server_listen (server, self->server_name, &local_error))
    {
      become_primary (self, g_steal_pointer (&server));
      *role = LS_SINGLE_INSTANCE_ROLE_PRIMARY;
      return TRUE;
    }
  if (!another_primary (self, g_steal_pointer (&local_error), error))
    return FALSE;
  *role = LS_SINGLE_INSTANCE_ROLE_SECONDARY;
  return TRUE;
}

/* Under QtLocalPeer's lock: a socket at the name is a crashed primary's
 * unless something answers there (a primary whose lock file was deleted
 * under it, by a cleaner of the temporary directory): that one stays. */
static gboolean
reclaim_under_qt_lock (LsSingleInstance  *self,
                       gboolean          *live,
                       GError           **error)
{
  g_autofree char *dir = g_path_get_dirname (self->display_name);
  g_autofree char *basename = g_path_get_basename (self->display_name);
  g_autoptr(GError) local_error = NULL;
  gboolean ok;
  int dir_fd;

  *live = FALSE;
  dir_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return TRUE;   /* listen will say why */
  ok = ls_socket_file_reclaim (dir_fd, basename, self->display_name, &local_error);
  close (dir_fd);
  if (ok)
    return TRUE;
  *live = another_primary (self, g_steal_pointer (&local_error), error);
  return *live;
}

/* QtLocalPeer's protocol: the lock decides; the winner listens, replacing
 * a crashed primary's socket. */
static gboolean
register_qt (LsSingleInstance      *self,
             LsSingleInstanceRole  *role,
             GError               **error)
{
  g_autofree char *lock_path = ls_qt_local_peer_lock_path (self->server_name);
  g_autoptr(LsLocalServer) server = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean taken, live;
  int lock_fd;

  lock_fd = ls_qt_local_peer_lock (lock_path, self->display_name, &taken, error);
  if (lock_fd < 0)
    {
      if (!taken)
        return FALSE;
      *role = LS_SINGLE_INSTANCE_ROLE_SECONDARY;
      return TRUE;
    }

  if (!reclaim_under_qt_lock (self, &live, error))
    {
      close (lock_fd);
      return FALSE;
    }
  if (live)
    {
      close (lock_fd);
      *role = LS_SINGLE_INSTANCE_ROLE_SECONDARY;
      return TRUE;
    }

  server = new_server (self, FALSE);
  if (!ls_local_server_listen (server, self->server_name, &local_error))
    {
      close (lock_fd);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), REGISTER_FAILED, self->id);
      return FALSE;
    }
  self->qt_lock_fd = lock_fd;
  become_primary (self, g_steal_pointer (&server));
  *role = LS_SINGLE_INSTANCE_ROLE_PRIMARY;
  return TRUE;
}

static void
set_role (LsSingleInstance     *self,
          LsSingleInstanceRole  role)
{
  gboolean was_primary = self->role == LS_SINGLE_INSTANCE_ROLE_PRIMARY;

  self->role = role;
  if (was_primary != (role == LS_SINGLE_INSTANCE_ROLE_PRIMARY))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_PRIMARY]);
}

/* GObject ----------------------------------------------------------------- */

static void
ls_single_instance_constructed (GObject *object)
{
  LsSingleInstance *self = LS_SINGLE_INSTANCE (object);

  G_OBJECT_CLASS (ls_single_instance_parent_class)->constructed (object);

  if (self->id == NULL)
    self->id = g_strdup ("");
  if (self->protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER && self->id[0] != '\0')
    self->server_name = ls_qt_local_peer_socket_name (self->id);
  else
    self->server_name = g_strdup (self->id);
}

static void
ls_single_instance_dispose (GObject *object)
{
  ls_single_instance_release (LS_SINGLE_INSTANCE (object));

  G_OBJECT_CLASS (ls_single_instance_parent_class)->dispose (object);
}

static void
ls_single_instance_finalize (GObject *object)
{
  LsSingleInstance *self = LS_SINGLE_INSTANCE (object);

  g_ptr_array_unref (self->connections);
  g_free (self->id);
  g_free (self->server_name);
  g_free (self->display_name);

  G_OBJECT_CLASS (ls_single_instance_parent_class)->finalize (object);
}

static void
ls_single_instance_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  LsSingleInstance *self = LS_SINGLE_INSTANCE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_PROTOCOL:
      g_value_set_enum (value, self->protocol);
      break;
    case PROP_SERVER_NAME:
      g_value_set_string (value, self->server_name);
      break;
    case PROP_TIMEOUT:
      g_value_set_int (value, self->timeout);
      break;
    case PROP_IS_PRIMARY:
      g_value_set_boolean (value, ls_single_instance_is_primary (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ls_single_instance_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  LsSingleInstance *self = LS_SINGLE_INSTANCE (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;
    case PROP_PROTOCOL:
      self->protocol = g_value_get_enum (value);
      break;
    case PROP_TIMEOUT:
      ls_single_instance_set_timeout (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ls_single_instance_class_init (LsSingleInstanceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = ls_single_instance_constructed;
  object_class->dispose = ls_single_instance_dispose;
  object_class->finalize = ls_single_instance_finalize;
  object_class->get_property = ls_single_instance_get_property;
  object_class->set_property = ls_single_instance_set_property;

  /**
   * LsSingleInstance:id: (getter get_id)
   *
   * The application's id, the same in every instance. With
   * %LS_SINGLE_INSTANCE_PROTOCOL_LS it is the socket's name, resolved as
   * [method@Ls.LocalServer.listen] resolves names (a name not starting with
   * `/` lives in `$TMPDIR` or `/tmp`); with
   * %LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER it is the application id
   * given to `QtSingleApplication` (which must not be empty here).
   *
   * Since: 1.2
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * LsSingleInstance:protocol: (getter get_protocol)
   *
   * How the instances name their socket, elect the primary and frame
   * their messages.
   *
   * Since: 1.2
   */
  properties[PROP_PROTOCOL] =
    g_param_spec_enum ("protocol", NULL, NULL,
                       LS_TYPE_SINGLE_INSTANCE_PROTOCOL, LS_SINGLE_INSTANCE_PROTOCOL_LS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * LsSingleInstance:server-name: (getter get_server_name)
   *
   * The name the primary listens on and the secondaries connect to: the
   * id with %LS_SINGLE_INSTANCE_PROTOCOL_LS; with
   * %LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER the name `QtLocalPeer`
   * derives from the id, `qtsingleapp-PREFIX-CHECKSUM-UID` (in the
   * temporary directory).
   *
   * Since: 1.2
   */
  properties[PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * LsSingleInstance:timeout: (getter get_timeout) (setter set_timeout)
   *
   * The most, in milliseconds, that [method@Ls.SingleInstance.send_message]
   * takes, retries included; -1 for no limit. A primary also drops a
   * connection that has not delivered its message within this time.
   *
   * Since: 1.2
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_int ("timeout", NULL, NULL, -1, G_MAXINT, DEFAULT_TIMEOUT_MS,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * LsSingleInstance:is-primary: (getter is_primary)
   *
   * Whether this instance won the election of
   * [method@Ls.SingleInstance.register] and serves; %FALSE before, for a
   * secondary, and after [method@Ls.SingleInstance.release].
   *
   * Since: 1.2
   */
  properties[PROP_IS_PRIMARY] =
    g_param_spec_boolean ("is-primary", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * LsSingleInstance::message-received:
   * @self: the primary instance
   * @message: the message a secondary sent
   *
   * Emitted on the primary once for each message it has acknowledged, in
   * the main context of the thread that called
   * [method@Ls.SingleInstance.register]. The handler may do anything,
   * including releasing or dropping the instance.
   *
   * Since: 1.2
   */
  signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
}

static void
ls_single_instance_init (LsSingleInstance *self)
{
  self->timeout = DEFAULT_TIMEOUT_MS;
  self->qt_lock_fd = -1;
  self->connections = g_ptr_array_new_with_free_func (connection_free);
}

/* Public API -------------------------------------------------------------- */

/**
 * ls_single_instance_new:
 * @id: the application's id (see [property@Ls.SingleInstance:id])
 * @protocol: the protocol
 *
 * Creates an instance that has no role yet; call
 * [method@Ls.SingleInstance.register].
 *
 * Returns: (transfer full): a new [class@Ls.SingleInstance]
 *
 * Since: 1.2
 */
LsSingleInstance *
ls_single_instance_new (const char               *id,
                        LsSingleInstanceProtocol  protocol)
{
  g_return_val_if_fail (id != NULL, NULL);

  return g_object_new (LS_TYPE_SINGLE_INSTANCE, "id", id, "protocol", protocol, NULL);
}

/**
 * ls_single_instance_get_id: (get-property id)
 * @self: an instance
 *
 * Gets the application's id, [property@Ls.SingleInstance:id].
 *
 * Returns: the application's id
 *
 * Since: 1.2
 */
const char *
ls_single_instance_get_id (LsSingleInstance *self)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), NULL);

  return self->id;
}

/**
 * ls_single_instance_get_protocol: (get-property protocol)
 * @self: an instance
 *
 * Gets [property@Ls.SingleInstance:protocol].
 *
 * Returns: the protocol
 *
 * Since: 1.2
 */
LsSingleInstanceProtocol
ls_single_instance_get_protocol (LsSingleInstance *self)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), LS_SINGLE_INSTANCE_PROTOCOL_LS);

  return self->protocol;
}

/**
 * ls_single_instance_get_server_name: (get-property server-name)
 * @self: an instance
 *
 * Gets the name the primary listens on, [property@Ls.SingleInstance:server-name].
 *
 * Returns: the name of the primary's socket
 *
 * Since: 1.2
 */
const char *
ls_single_instance_get_server_name (LsSingleInstance *self)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), NULL);

  return self->server_name;
}

/**
 * ls_single_instance_get_timeout: (get-property timeout)
 * @self: an instance
 *
 * Gets [property@Ls.SingleInstance:timeout].
 *
 * Returns: the timeout in milliseconds, or -1
 *
 * Since: 1.2
 */
int
ls_single_instance_get_timeout (LsSingleInstance *self)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), -1);

  return self->timeout;
}

/**
 * ls_single_instance_set_timeout: (set-property timeout)
 * @self: an instance
 * @msec: milliseconds, or -1 for no limit
 *
 * Sets [property@Ls.SingleInstance:timeout]; calls that are already
 * running keep the value they started with.
 *
 * Since: 1.2
 */
void
ls_single_instance_set_timeout (LsSingleInstance *self,
                                int               msec)
{
  g_return_if_fail (LS_IS_SINGLE_INSTANCE (self));

  msec = MAX (msec, -1);
  if (self->timeout == msec)
    return;
  self->timeout = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
}

/**
 * ls_single_instance_is_primary: (get-property is-primary)
 * @self: an instance
 *
 * Gets whether this instance won the election,
 * [property@Ls.SingleInstance:is-primary].
 *
 * Returns: whether this instance is the primary
 *
 * Since: 1.2
 */
gboolean
ls_single_instance_is_primary (LsSingleInstance *self)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), FALSE);

  return self->role == LS_SINGLE_INSTANCE_ROLE_PRIMARY;
}

/**
 * ls_single_instance_register:
 * @self: an instance
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @error: return location for an error
 *
 * Decides the role: primary if no other process is (or is about to
 * become) the primary for this id, secondary otherwise;
 * [property@Ls.SingleInstance:is-primary] tells which. Of any number of
 * processes that register at once, exactly one becomes primary. A socket
 * left at the name by a primary that died is taken over; a live primary
 * is never displaced.
 *
 * A primary serves from the thread-default main context of the calling
 * thread, which must run for secondaries to be answered.
 *
 * Registering an instance that already has a role changes nothing.
 * Never waits for another process.
 *
 * Returns: %TRUE when a role was taken; %FALSE with @error set only when
 *   neither role could be (for example the directory is not writable, or a
 *   file that is not a socket is at the name)
 *
 * Since: 1.2
 */
gboolean
ls_single_instance_register (LsSingleInstance  *self,
                             GCancellable      *cancellable,
                             GError           **error)
{
  LsSingleInstanceRole role = LS_SINGLE_INSTANCE_ROLE_NONE;
  gboolean ok;

  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (self->role != LS_SINGLE_INSTANCE_ROLE_NONE)
    return TRUE;

  update_display_name (self);
  if (!check_id (self, error))
    return FALSE;
  if (self->protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER)
    ok = register_qt (self, &role, error);
  else
    ok = register_ls (self, &role, error);
  if (ok)
    set_role (self, role);
  return ok;
}

/**
 * ls_single_instance_register_async:
 * @self: an instance
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when the role is decided
 * @user_data: (closure): data for @callback
 *
 * Does what [method@Ls.SingleInstance.register] does (which never waits)
 * and calls @callback from the thread-default main context, never before
 * this call has returned. Call
 * [method@Ls.SingleInstance.register_finish] from it.
 *
 * Since: 1.2
 */
void
ls_single_instance_register_async (LsSingleInstance    *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (LS_IS_SINGLE_INSTANCE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  (g_task_set_source_tag) (task, ls_single_instance_register_async);
  if (ls_single_instance_register (self, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * ls_single_instance_register_finish:
 * @self: an instance
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.SingleInstance.register_async].
 *
 * Returns: as [method@Ls.SingleInstance.register]
 *
 * Since: 1.2
 */
gboolean
ls_single_instance_register_finish (LsSingleInstance  *self,
                                    GAsyncResult      *result,
                                    GError           **error)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ls_single_instance_register_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ls_single_instance_release:
 * @self: an instance
 *
 * Gives the role up. A primary stops serving: it closes the connections
 * it has not answered yet, removes its socket (only if it is still the one
 * it created) and drops its lock, so that the next launch becomes the
 * primary. Afterwards the instance has no role and may register again.
 * Dispose does the same. Lock files stay: removing one would let two
 * processes lock two different files.
 *
 * Since: 1.2
 */
void
ls_single_instance_release (LsSingleInstance *self)
{
  g_return_if_fail (LS_IS_SINGLE_INSTANCE (self));

  if (self->server != NULL)
    {
      g_autoptr(LsLocalServer) server = g_steal_pointer (&self->server);

      g_signal_handlers_disconnect_by_data (server, self);
      ls_local_server_close (server);
      g_ptr_array_set_size (self->connections, 0);
      g_clear_pointer (&self->context, g_main_context_unref);
    }
  /* After the socket is gone, so that the next primary never meets it. */
  if (self->qt_lock_fd >= 0)
    {
      close (self->qt_lock_fd);
      self->qt_lock_fd = -1;
    }
  set_role (self, LS_SINGLE_INSTANCE_ROLE_NONE);
}
