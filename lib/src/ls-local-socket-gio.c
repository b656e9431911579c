/* ls-local-socket-gio.c: LsLocalSocket with GIO's GSocketAddress and GSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket.h"
#include "ls-gio-address-private.h"
#include "ls-local-socket-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The GSocket of ls_local_socket_get_socket (): qdata, made on demand, so
 * that connections that never ask for one carry nothing. */
static GQuark
gsocket_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("ls-local-socket-gsocket"));
  return (GQuark) quark;
}

static void
gsocket_free (gpointer data)
{
  GSocket *socket = data;

  /* Its descriptor is a duplicate: left open, it would keep the connection
   * alive for the peer after Ls has closed its own. */
  g_socket_close (socket, NULL);
  g_object_unref (socket);
}

void
ls_local_socket_release_gsocket (LsLocalSocket *self)
{
  g_object_set_qdata (G_OBJECT (self), gsocket_quark (), NULL);
}

/**
 * ls_local_socket_connect_to_address:
 * @self: a socket
 * @address: a [class@Gio.UnixSocketAddress] of type
 *   %G_UNIX_SOCKET_ADDRESS_PATH, %G_UNIX_SOCKET_ADDRESS_ABSTRACT or
 *   %G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED
 *
 * Connects to exactly the socket address a GIO client would connect to with
 * @address, as [method@Ls.LocalSocket.connect_to_server] connects to a
 * name: same states, signals, errors and backlog retry. A path is used as
 * it is (no `$TMPDIR`), an abstract name with its exact length or padded,
 * as its type says; [property@Ls.LocalSocket:socket-options] is not
 * consulted. [property@Ls.LocalSocket:server-name] and
 * [property@Ls.LocalSocket:full-server-name] become the path or the
 * abstract name.
 *
 * An address that cannot name a server (a [class@Gio.InetSocketAddress],
 * an anonymous Unix address, a name with a NUL byte) fails like any other
 * connect: [signal@Ls.LocalSocket::state-changed] (connecting),
 * [signal@Ls.LocalSocket::error-occurred] with
 * %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION, state-changed
 * (unconnected); an empty name, or one of 107 bytes or more (GIO may have
 * cut it short), with %LS_SOCKET_ERROR_SERVER_NOT_FOUND. No descriptor is
 * created for them.
 *
 * Since: 1.2
 */
void
ls_local_socket_connect_to_address (LsLocalSocket  *self,
                                    GSocketAddress *address)
{
  g_autofree char *description = NULL;
  GError *error = NULL;
  LsAddress *ls_address;

  g_return_if_fail (LS_IS_LOCAL_SOCKET (self));
  g_return_if_fail (G_IS_SOCKET_ADDRESS (address));

  description = ls_gio_address_describe (address);
  ls_address = g_new0 (LsAddress, 1);
  if (!ls_gio_address_to_ls (address, "connect to", ls_address, &error))
    g_clear_pointer (&ls_address, ls_address_free);
  ls_local_socket_connect_to_address_internal (self, ls_address, error,
                                               ls_address != NULL ? ls_address->full_name
                                                                  : description);
}

static int
connected_fd (LsLocalSocket *self)
{
  LsLocalSocketState state = ls_local_socket_get_state (self);

  if (state != LS_LOCAL_SOCKET_STATE_CONNECTED && state != LS_LOCAL_SOCKET_STATE_CLOSING)
    return -1;
  return ls_local_socket_get_socket_descriptor (self);
}

/**
 * ls_local_socket_get_local_address:
 * @self: a socket
 *
 * Gets this end's address, as [method@Gio.Socket.get_local_address] does:
 * on the server side of a connection the address the server's socket was
 * bound to (for a path of an Ls server, the private path beside it that
 * the socket was bound under; see
 * [method@Ls.LocalSocket.get_remote_address]); a client's end is usually
 * unnamed, which gives a
 * [class@Gio.UnixSocketAddress] of type %G_UNIX_SOCKET_ADDRESS_ANONYMOUS.
 *
 * Returns: (transfer full) (nullable): a [class@Gio.UnixSocketAddress], or
 *   %NULL when the socket is not connected
 *
 * Since: 1.2
 */
GSocketAddress *
ls_local_socket_get_local_address (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return ls_gio_address_of_fd (connected_fd (self), FALSE);
}

/**
 * ls_local_socket_get_remote_address:
 * @self: a socket
 *
 * Gets the peer's address, as [method@Gio.Socket.get_remote_address] does:
 * on a client the address the server's socket was bound to, its abstract
 * name (padded if the server bound it padded) or path (an Ls server binds
 * in a private directory beside its path, under the same name, and links
 * the socket there once it listens: its address is that private path); on
 * the server side usually an unnamed client, which gives a
 * [class@Gio.UnixSocketAddress] of type %G_UNIX_SOCKET_ADDRESS_ANONYMOUS.
 *
 * Returns: (transfer full) (nullable): a [class@Gio.UnixSocketAddress], or
 *   %NULL when the socket is not connected
 *
 * Since: 1.2
 */
GSocketAddress *
ls_local_socket_get_remote_address (LsLocalSocket *self)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  return ls_gio_address_of_fd (connected_fd (self), TRUE);
}

/**
 * ls_local_socket_get_socket:
 * @self: a socket
 *
 * Gets a [class@Gio.Socket] for the connection, for socket options
 * ([method@Gio.Socket.get_option], [method@Gio.Socket.get_credentials]) and
 * other GIO calls. It is made on the first call, on a duplicate of the
 * connection's descriptor, and kept while the connection lasts; when the
 * connection ends it is closed and dropped (a reference kept beyond that
 * finds it closed), and a later connection makes a new one.
 *
 * Reading or writing through it bypasses the socket's buffers and signals:
 * bytes read there never reach [method@Ls.LocalSocket.read], bytes written
 * there may overtake data still queued by [method@Ls.LocalSocket.write].
 * Closing or shutting it down ends the connection under Ls's feet.
 *
 * Returns: (transfer none) (nullable): the connection's [class@Gio.Socket],
 *   or %NULL when the socket is not connected
 *
 * Since: 1.2
 */
GSocket *
ls_local_socket_get_socket (LsLocalSocket *self)
{
  GSocket *socket;
  GError *error = NULL;
  int fd;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);

  fd = connected_fd (self);
  if (fd < 0)
    return NULL;
  socket = g_object_get_qdata (G_OBJECT (self), gsocket_quark ());
  if (socket != NULL)
    return socket;

  fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    {
      g_warning ("Cannot make a GSocket for the connection to “%s”: %s",
                 ls_local_socket_get_full_server_name (self), g_strerror (errno));
      return NULL;
    }
  socket = g_socket_new_from_fd (fd, &error);
  if (socket == NULL)
    {
      g_warning ("Cannot make a GSocket for the connection to “%s”: %s",
                 ls_local_socket_get_full_server_name (self), error->message);
      g_error_free (error);
      close (fd);
      return NULL;
    }
  g_object_set_qdata_full (G_OBJECT (self), gsocket_quark (), socket, gsocket_free);
  ls_local_socket_mark_gsocket (self);
  return socket;
}

/* Why @self cannot be detached now, or NULL. */
static char *
detach_obstacle (LsLocalSocket *self)
{
  if (self->has_owner && !pthread_equal (self->owner_thread, pthread_self ()))
    return g_strdup ("the socket belongs to the thread that connected it");
  if (self->state != LS_LOCAL_SOCKET_STATE_CONNECTED || self->fd < 0 || self->ending ||
      self->tearing_down)
    return g_strdup ("the socket is not connected");
  if (self->input.len > 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " received bytes are still buffered "
                            "(read them first)", self->input.len);
  if (self->output.len > 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " bytes are still queued for writing "
                            "(flush first)", self->output.len);
  if (self->fdq != NULL && ls_fd_queue_has_input (self->fdq))
    return g_strdup ("received descriptors were not taken (take_fds first)");
  return NULL;
}

/**
 * ls_local_socket_detach:
 * @self: a connected socket
 * @error: return location for a #GError
 *
 * Hands the open connection over to GIO, for example to a
 * [class@Gio.DBusConnection] (peer-to-peer D-Bus, whose `EXTERNAL`
 * authentication passes credentials) or to another thread: a server that
 * accepts by Qt name detaches the client it accepted. The result is a
 * [class@Gio.UnixConnection] for the same socket; the socket of
 * [method@Ls.LocalSocket.get_socket], if one was made, is the one it
 * wraps.
 *
 * The socket lets go of the connection, which goes on: it becomes
 * %LS_LOCAL_SOCKET_STATE_UNCONNECTED ([signal@Ls.LocalSocket::state-changed],
 * but no [signal@Ls.LocalSocket::disconnected]), never touches the
 * descriptor again, and may connect anew. Its view
 * ([method@Ls.LocalSocket.get_io_stream]) reads the end of the stream.
 *
 * Fails with %LS_SOCKET_ERROR_OPERATION, leaving the socket as it was, when
 * it is not connected, when received data is still buffered (read it
 * first) or queued data not yet written (flush first, e.g. with
 * [method@Gio.OutputStream.flush] on the view or
 * [method@Ls.LocalSocket.wait_for_bytes_written]), when received
 * descriptors were not taken ([method@Ls.LocalSocket.take_fds]), or when
 * called from another thread than the one that connected it: Ls must not
 * lose a byte or a descriptor on the way.
 *
 * Returns: (transfer full): the connection, or %NULL with @error set
 *
 * Since: 1.2
 */
GSocketConnection *
ls_local_socket_detach (LsLocalSocket  *self,
                        GError        **error)
{
  g_autofree char *obstacle = NULL;
  GSocketConnection *connection;
  GSocket *socket;
  GError *local_error = NULL;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  obstacle = detach_obstacle (self);
  if (obstacle != NULL)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                   "Cannot detach the connection to “%s”: %s",
                   ls_local_socket_display_name_internal (self), obstacle);
      return NULL;
    }

  /* The GSocket of get_socket () (on a duplicate) is reused, so that a
   * caller who holds it holds the connection's; then Ls closes its own
   * descriptor. Otherwise Ls's descriptor itself is given away. */
  socket = g_object_steal_qdata (G_OBJECT (self), gsocket_quark ());
  if (socket != NULL)
    self->has_gsocket = FALSE;
  else
    {
      socket = g_socket_new_from_fd (self->fd, &local_error);
      if (socket == NULL)
        {
          g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                       "Cannot detach the connection to “%s”: %s",
                       ls_local_socket_display_name_internal (self), local_error->message);
          g_error_free (local_error);
          return NULL;
        }
      self->fd = -1;
    }
  connection = g_socket_connection_factory_create_connection (socket);
  g_object_unref (socket);

  ls_local_socket_hold_internal (self);
  /* Nothing is left to read: the socket is no longer valid. */
  self->is_open = FALSE;
  ls_local_socket_release_fd_internal (self);
  ls_local_socket_replace_names_internal (self, NULL, NULL);
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_local_socket_unhold_internal (self);
  return connection;
}
