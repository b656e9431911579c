/* ls-local-socket.c: a local (Unix domain) stream socket, the twin of QLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket.h"
#include "ls-enum-types.h"
#include "ls-local-socket-private.h"

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
 * As in Qt, [signal@Ls.LocalSocket::ready-read] announces the arrival of
 * new data, once; it does not repeat while data waits in the buffer. Data
 * already buffered when a handler is connected (a peer that wrote before
 * [method@Ls.LocalServer.next_pending_connection] handed the connection
 * over, say), or left unread by an earlier handler, is announced again only
 * when more data arrives. So read what is already there after connecting
 * the handler, and let a handler that reads a line or a message at a time
 * loop until none is complete:
 *
 * ```c
 * g_signal_connect (conn, "ready-read", G_CALLBACK (on_ready_read), NULL);
 * if (ls_local_socket_get_bytes_available (conn) > 0)
 *   on_ready_read (conn, NULL);
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

G_DEFINE_FINAL_TYPE (LsLocalSocket, ls_local_socket, G_TYPE_OBJECT)

static GParamSpec *properties[LS_LOCAL_SOCKET_N_PROPS];
guint ls_local_socket_signals_internal[LS_LOCAL_SOCKET_N_SIGNALS];

#define SIGNAL_ID(name) (ls_local_socket_signals_internal[LS_LOCAL_SOCKET_SIGNAL_##name])

void
ls_local_socket_record_error_internal (LsLocalSocket *self,
                                       LsSocketError  code,
                                       char          *message)
{
  g_free (self->error_string);
  self->error_string = message;
  self->error = code;
  self->closed_message_due = FALSE;
  g_clear_pointer (&self->closed_name, g_ref_string_release);
}

void
ls_local_socket_record_errorf_internal (LsLocalSocket *self,
                                        LsSocketError  code,
                                        const char    *format,
                                        ...)
{
  va_list args;

  va_start (args, format);
  ls_local_socket_record_error_internal (self, code, g_strdup_vprintf (format, args));
  va_end (args);
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

void
ls_local_socket_emit_error_internal (LsLocalSocket *self,
                                     LsSocketError  code,
                                     char          *message)
{
  LsLocalSocket *held;

  ls_local_socket_record_error_internal (self, code, message);
  held = ls_local_socket_event_hold_internal (self);
  g_signal_emit (self, SIGNAL_ID (ERROR_OCCURRED), 0, code);
  ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_ERROR_OCCURRED, code);
}

void
ls_local_socket_notify_internal (LsLocalSocket     *self,
                                 LsLocalSocketProp  prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
ls_local_socket_set_state_internal (LsLocalSocket      *self,
                                    LsLocalSocketState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[LS_LOCAL_SOCKET_PROP_STATE]);
  /* A notify handler may have moved on already: announce only what is. */
  if (self->state == state)
    {
      LsLocalSocket *held = ls_local_socket_event_hold_internal (self);

      g_signal_emit (self, SIGNAL_ID (STATE_CHANGED), 0, state);
      ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_STATE_CHANGED, state);
    }
}

void
ls_local_socket_clear_output_internal (LsLocalSocket *self)
{
  ls_output_queue_clear (&self->output);
  self->flush_deferred = FALSE;
  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_clear_output (self->fdq);
}

/* Drops the unread input, the frame being assembled, and the descriptors
 * that came with any input. */
void
ls_local_socket_clear_input_internal (LsLocalSocket *self)
{
  ls_input_buffer_clear (&self->input);
  self->message_need = 0;
  if (G_UNLIKELY (self->fdq != NULL))
    ls_fd_queue_clear_input (self->fdq);
}

/* Closes the descriptor and drops everything tied to it, without signals. */
void
ls_local_socket_release_fd_internal (LsLocalSocket *self)
{
  ls_local_socket_cancel_retry_internal (self);
  ls_local_socket_clear_output_internal (self);
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
  if (self->rare != NULL)
    g_clear_pointer (&self->rare->address, ls_address_free);
  g_clear_pointer (&self->core, ls_event_core_unref);
  self->read_eof = FALSE;
}

/* Takes @server_name and @full_server_name (GRefStrings or NULL) and
 * notifies each name that changed. */
void
ls_local_socket_replace_names_internal (LsLocalSocket *self,
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
    g_object_notify_by_pspec (G_OBJECT (self), properties[LS_LOCAL_SOCKET_PROP_SERVER_NAME]);
  if (full_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[LS_LOCAL_SOCKET_PROP_FULL_SERVER_NAME]);
}

/* replace_names (self, NULL, NULL) without its comparisons: teardown runs
 * once per connection, and a name that was set changes by going. */
static void
clear_names (LsLocalSocket *self)
{
  char *server_name = g_steal_pointer (&self->server_name);
  char *full_server_name = g_steal_pointer (&self->full_server_name);

  if (server_name != NULL)
    g_ref_string_release (server_name);
  if (full_server_name != NULL)
    g_ref_string_release (full_server_name);
  if (server_name != NULL)
    g_object_notify_by_pspec ((GObject *) self, properties[LS_LOCAL_SOCKET_PROP_SERVER_NAME]);
  if (full_server_name != NULL)
    g_object_notify_by_pspec ((GObject *) self, properties[LS_LOCAL_SOCKET_PROP_FULL_SERVER_NAME]);
}

/* The end of every connected life: resources first, then the signals, so
 * handlers that abort or unref find a consistent object. */
void
ls_local_socket_teardown_internal (LsLocalSocket *self,
                                   gboolean       through_closing)
{
  gboolean was_connected = self->state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
                           self->state == LS_LOCAL_SOCKET_STATE_CLOSING;
  gboolean was_connecting = self->state == LS_LOCAL_SOCKET_STATE_CONNECTING;
  gboolean held = self->closing_hold;
  guint life = self->life;

  self->closing_hold = FALSE;
  ls_local_socket_release_fd_internal (self);
  self->tearing_down = TRUE;
  if (through_closing && was_connected)
    {
      ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_CLOSING);
      /* A handler connected again, as Qt lets a closing socket do: the
       * old connection ends without more signals (see connect_to_server). */
      if (self->life != life)
        goto out;
    }
  /* As in Qt, the names go before UNCONNECTED is announced: a handler may
   * connect again from there, and the new names are not to be touched. */
  clear_names (self);
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  if (self->life == life)
    {
      self->tearing_down = FALSE;
      self->ending = FALSE;
    }
  /* As in Qt, an attempt to connect that ends (abort ()) finishes reading
   * too; only a connection that was made announces its end. */
  if (was_connected || was_connecting)
    g_signal_emit (self, SIGNAL_ID (READ_CHANNEL_FINISHED), 0);
  if (was_connected)
    g_signal_emit (self, SIGNAL_ID (DISCONNECTED), 0);
out:
  /* Every caller holds a reference of its own, so this is never the last. */
  if (held)
    ls_local_socket_unhold_internal (self);
}

/* While a graceful close still has output to deliver from the main loop,
 * the socket keeps itself alive: an application that disconnects and drops
 * its reference at once (“reply, disconnect, unref”) still gets every byte
 * delivered, instead of a reply cut short that the peer would take for a
 * clean end. The reference goes at the end of teardown(). */
void
ls_local_socket_hold_while_closing_internal (LsLocalSocket *self)
{
  if (self->closing_hold || self->watch == NULL || self->output.len == 0)
    return;
  self->closing_hold = TRUE;
  ls_local_socket_hold_internal (self);
}

static void
ls_local_socket_dispose (GObject *object)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  /* Like Qt's destructor, unflushed data is dropped; no signals now. */
  ls_local_socket_release_fd_internal (self);
  g_clear_pointer (&self->fdq, ls_fd_queue_free);
  self->state = LS_LOCAL_SOCKET_STATE_UNCONNECTED;
  G_OBJECT_CLASS (ls_local_socket_parent_class)->dispose (object);
}

static void
ls_local_socket_finalize (GObject *object)
{
  LsLocalSocket *self = LS_LOCAL_SOCKET (object);

  ls_local_socket_clear_input_internal (self);
  g_clear_pointer (&self->server_name, g_ref_string_release);
  g_clear_pointer (&self->full_server_name, g_ref_string_release);
  ls_local_socket_record_error_internal (self, LS_SOCKET_ERROR_UNKNOWN, NULL);
  g_free (self->rare);
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
    case LS_LOCAL_SOCKET_PROP_SERVER_NAME:
      g_value_set_string (value, ls_local_socket_get_server_name (self));
      break;
    case LS_LOCAL_SOCKET_PROP_FULL_SERVER_NAME:
      g_value_set_string (value, ls_local_socket_get_full_server_name (self));
      break;
    case LS_LOCAL_SOCKET_PROP_SOCKET_OPTIONS:
      g_value_set_flags (value, self->options);
      break;
    case LS_LOCAL_SOCKET_PROP_READ_BUFFER_SIZE:
      g_value_set_int64 (value, self->read_buffer_size);
      break;
    case LS_LOCAL_SOCKET_PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case LS_LOCAL_SOCKET_PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case LS_LOCAL_SOCKET_PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case LS_LOCAL_SOCKET_PROP_ACCEPT_FDS:
      g_value_set_boolean (value, self->accept_fds);
      break;
    case LS_LOCAL_SOCKET_PROP_WRITE_HIGH_WATER:
      g_value_set_uint (value, ls_local_socket_get_write_high_water (self));
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
    case LS_LOCAL_SOCKET_PROP_SERVER_NAME:
      ls_local_socket_set_server_name (self, g_value_get_string (value));
      break;
    case LS_LOCAL_SOCKET_PROP_SOCKET_OPTIONS:
      ls_local_socket_set_socket_options (self, g_value_get_flags (value));
      break;
    case LS_LOCAL_SOCKET_PROP_READ_BUFFER_SIZE:
      ls_local_socket_set_read_buffer_size (self, g_value_get_int64 (value));
      break;
    case LS_LOCAL_SOCKET_PROP_CONNECT_TIMEOUT:
      ls_local_socket_set_connect_timeout (self, g_value_get_int (value));
      break;
    case LS_LOCAL_SOCKET_PROP_MAX_MESSAGE_SIZE:
      ls_local_socket_set_max_message_size (self, g_value_get_uint (value));
      break;
    case LS_LOCAL_SOCKET_PROP_ACCEPT_FDS:
      ls_local_socket_set_accept_fds (self, g_value_get_boolean (value));
      break;
    case LS_LOCAL_SOCKET_PROP_WRITE_HIGH_WATER:
      ls_local_socket_set_write_high_water (self, g_value_get_uint (value));
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
  properties[LS_LOCAL_SOCKET_PROP_SERVER_NAME] =
    g_param_spec_string ("server-name", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:full-server-name: (getter get_full_server_name)
   *
   * The resolved path or abstract name of the connection, or "".
   *
   * Since: 1.0
   */
  properties[LS_LOCAL_SOCKET_PROP_FULL_SERVER_NAME] =
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
  properties[LS_LOCAL_SOCKET_PROP_SOCKET_OPTIONS] =
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
  properties[LS_LOCAL_SOCKET_PROP_READ_BUFFER_SIZE] =
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
  properties[LS_LOCAL_SOCKET_PROP_CONNECT_TIMEOUT] =
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
  properties[LS_LOCAL_SOCKET_PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size", NULL, NULL, 0, G_MAXUINT, LS_LOCAL_SOCKET_DEFAULT_MAX_MESSAGE_SIZE,
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
  properties[LS_LOCAL_SOCKET_PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       LS_TYPE_LOCAL_SOCKET_STATE, LS_LOCAL_SOCKET_STATE_UNCONNECTED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:accept-fds: (getter get_accept_fds) (setter set_accept_fds)
   *
   * Whether the socket receives descriptors a peer sends with its data
   * (see [method@Ls.LocalSocket.write_with_fds] and
   * [method@Ls.LocalSocket.take_fds]). Off by default: then the socket
   * reads with no room for them, the kernel drops them (they are never
   * installed in this process), the data arrives intact,
   * [method@Ls.LocalSocket.take_fds] returns %NULL, and the drop is only
   * logged at debug level. A peer can thus make a process hold
   * descriptors only when it asked for them, as D-Bus negotiates
   * descriptor passing.
   *
   * Sockets a server accepts take
   * [property@Ls.LocalServer:accept-fds] before their first read. It
   * applies from the next read on; descriptors already received stay
   * takeable.
   *
   * Since: 1.2
   */
  properties[LS_LOCAL_SOCKET_PROP_ACCEPT_FDS] =
    g_param_spec_boolean ("accept-fds", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * LsLocalSocket:write-high-water: (getter get_write_high_water) (setter set_write_high_water)
   *
   * How many queued bytes make the output stream of
   * [method@Ls.LocalSocket.get_io_stream] wait: it is writable while
   * [method@Ls.LocalSocket.get_bytes_to_write] is below this mark, so a
   * splice into a slow reader holds about this much in memory. 0 means no
   * limit. [method@Ls.LocalSocket.write] and
   * [method@Ls.LocalSocket.write_bytes] never wait, as in Qt. The default
   * is 1 MiB.
   *
   * Since: 1.2
   */
  properties[LS_LOCAL_SOCKET_PROP_WRITE_HIGH_WATER] =
    g_param_spec_uint ("write-high-water", NULL, NULL, 0, G_MAXUINT,
                       LS_LOCAL_SOCKET_DEFAULT_WRITE_HIGH_WATER,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, LS_LOCAL_SOCKET_N_PROPS, properties);

  /**
   * LsLocalSocket::connected:
   * @self: the socket
   *
   * Emitted when the connection is established, after
   * [signal@Ls.LocalSocket::state-changed] to %LS_LOCAL_SOCKET_STATE_CONNECTED.
   *
   * Since: 1.0
   */
  SIGNAL_ID (CONNECTED) =
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
  SIGNAL_ID (DISCONNECTED) =
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
  SIGNAL_ID (ERROR_OCCURRED) =
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
  SIGNAL_ID (STATE_CHANGED) =
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
   * As in Qt, data already buffered when a handler is connected is not
   * announced again: check [method@Ls.LocalSocket.get_bytes_available]
   * after connecting (see [class@Ls.LocalSocket]).
   *
   * Since: 1.0
   */
  SIGNAL_ID (READY_READ) =
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
  SIGNAL_ID (BYTES_WRITTEN) =
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
  SIGNAL_ID (ABOUT_TO_CLOSE) =
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
  SIGNAL_ID (READ_CHANNEL_FINISHED) =
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
  self->max_message_size = LS_LOCAL_SOCKET_DEFAULT_MAX_MESSAGE_SIZE;
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

void
ls_local_socket_set_event_hook (LsLocalSocket     *self,
                                LsSocketHookSlot   slot,
                                LsSocketEventHook  hook,
                                gpointer           data)
{
  LsLocalSocketRare *rare;

  if (hook == NULL && self->rare == NULL)
    return;
  rare = ls_local_socket_rare_internal (self);
  rare->n_event_hooks += (hook != NULL) - (rare->event_hook[slot] != NULL);
  rare->event_hook[slot] = hook;
  rare->event_hook_data[slot] = data;
}

gpointer
ls_local_socket_get_event_hook_data (LsLocalSocket    *self,
                                     LsSocketHookSlot  slot)
{
  return self->rare != NULL ? self->rare->event_hook_data[slot] : NULL;
}

/* QIODevice::close(): about-to-close, then the read buffer goes. */
void
ls_local_socket_close_device_internal (LsLocalSocket *self)
{
  LsLocalSocket *held;

  if (!self->is_open)
    return;
  self->is_open = FALSE;
  held = ls_local_socket_event_hold_internal (self);
  g_signal_emit (self, SIGNAL_ID (ABOUT_TO_CLOSE), 0);
  ls_local_socket_event_notify_internal (held, LS_SOCKET_EVENT_ABOUT_TO_CLOSE, 0);
  ls_local_socket_clear_input_internal (self);
  ls_local_socket_update_watch_internal (self);
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
  ls_local_socket_hold_internal (self);
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      ls_local_socket_release_fd_internal (self);
      ls_local_socket_replace_names_internal (self, NULL, NULL);
      ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
    }
  else if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTED)
    {
      guint life = self->life;

      ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_CLOSING);
      /* Unless a handler ended it, or connected again. */
      if (self->life == life && self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->fd >= 0)
        {
          /* As in Qt, queued data leaves from the main loop, then the
           * socket becomes unconnected; without a main loop, at once. */
          if (self->output.len == 0)
            ls_local_socket_teardown_internal (self, FALSE);
          else if (self->watch != NULL)
            {
              ls_local_socket_hold_while_closing_internal (self);
              ls_local_socket_schedule_flush_internal (self);
            }
          else
            ls_local_socket_flush_output_internal (self);
        }
    }
  ls_local_socket_unhold_internal (self);
}

/**
 * ls_local_socket_abort:
 * @self: a socket
 *
 * Closes at once, dropping queued data. A connected socket emits
 * [signal@Ls.LocalSocket::state-changed] (unconnected),
 * [signal@Ls.LocalSocket::read-channel-finished],
 * [signal@Ls.LocalSocket::disconnected] and then
 * [signal@Ls.LocalSocket::about-to-close]; the read buffer is dropped. A
 * connecting one emits state-changed (unconnected) and
 * read-channel-finished: called from a state-changed (connecting) handler
 * inside [method@Ls.LocalSocket.connect_to_server], that attempt then
 * fails with %LS_SOCKET_ERROR_SERVER_NOT_FOUND, as in Qt. The names are
 * cleared, as in Qt 6.
 *
 * Since: 1.0
 */
void
ls_local_socket_abort (LsLocalSocket *self)
{
  guint life;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  ls_local_socket_hold_internal (self);
  if (self->starting_connect)
    self->connect_cancelled = TRUE;
  life = self->life;
  ls_local_socket_clear_output_internal (self);
  /* As in Qt, handlers of the closing signals already find the input
   * dropped. */
  ls_local_socket_clear_input_internal (self);
  /* Inside the connection's own ending, only the device part is left. */
  if (self->state != LS_LOCAL_SOCKET_STATE_UNCONNECTED && !self->tearing_down)
    ls_local_socket_teardown_internal (self, FALSE);
  /* A handler of those signals may have connected again: that connection
   * is not the one being aborted. */
  if (self->life == life)
    ls_local_socket_close_device_internal (self);
  if (self->life == life)
    ls_local_socket_replace_names_internal (self, NULL, NULL);
  ls_local_socket_unhold_internal (self);
}

/**
 * ls_local_socket_close:
 * @self: a socket
 *
 * Emits [signal@Ls.LocalSocket::about-to-close], drops the read buffer and
 * disconnects gracefully like [method@Ls.LocalSocket.disconnect_from_server]
 * (queued data is still written). As in Qt, the names are cleared at once,
 * even while queued data is still being written; called from a
 * state-changed (connecting) handler inside
 * [method@Ls.LocalSocket.connect_to_server], that attempt then fails with
 * %LS_SOCKET_ERROR_SERVER_NOT_FOUND.
 *
 * Since: 1.0
 */
void
ls_local_socket_close (LsLocalSocket *self)
{
  guint life;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));

  ls_local_socket_hold_internal (self);
  life = self->life;
  ls_local_socket_close_device_internal (self);
  if (self->life == life)
    ls_local_socket_disconnect_from_server (self);
  /* Unless a handler connected again. */
  if (self->life == life)
    {
      if (self->starting_connect)
        self->connect_cancelled = TRUE;
      ls_local_socket_replace_names_internal (self, NULL, NULL);
    }
  ls_local_socket_unhold_internal (self);
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
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), LS_LOCAL_SOCKET_UNKNOWN_ERROR_TEXT);

  format_closed_message (self);
  return self->error_string ? self->error_string : LS_LOCAL_SOCKET_UNKNOWN_ERROR_TEXT;
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
  ls_local_socket_update_watch_internal (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[LS_LOCAL_SOCKET_PROP_READ_BUFFER_SIZE]);
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
