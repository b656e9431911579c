/* ls-local-server-gio.c: LsLocalServer with GIO's GSocketAddress and GSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-server.h"
#include "ls-gio-address-private.h"
#include "ls-local-server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The GSocket adopted by ls_local_server_listen_socket (): a reference
 * kept while listening on a duplicate of its descriptor. Qdata, so servers
 * that never adopt one carry nothing. */
static GQuark
gsocket_quark (void)
{
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("ls-local-server-gsocket"));
  return (GQuark) quark;
}

void
ls_local_server_release_gsocket (LsLocalServer *self)
{
  g_object_set_qdata (G_OBJECT (self), gsocket_quark (), NULL);
}

static gboolean
check_not_listening (LsLocalServer  *self,
                     const char     *what,
                     GError        **error)
{
  if (!ls_local_server_is_listening (self))
    return TRUE;
  ls_local_server_take_error_internal (self, error,
    g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                 "Cannot listen on “%s”: the server is already listening on “%s”",
                 what, ls_local_server_get_full_server_name (self)));
  return FALSE;
}

/**
 * ls_local_server_listen_address:
 * @self: a server
 * @address: a [class@Gio.UnixSocketAddress] of type
 *   %G_UNIX_SOCKET_ADDRESS_PATH, %G_UNIX_SOCKET_ADDRESS_ABSTRACT or
 *   %G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED
 * @error: return location for an error
 *
 * Starts listening on the socket address a GIO program would bind or
 * connect to with @address: a path is used as it is (no `$TMPDIR`; a
 * relative path is relative to the working directory, as in GIO), an
 * abstract name with its exact length (%G_UNIX_SOCKET_ADDRESS_ABSTRACT, as
 * Qt 6 binds it), or NUL-padded to the full `sun_path`
 * (%G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED, as D-Bus does).
 *
 * The rules of [method@Ls.LocalServer.listen] apply: socket options set
 * the mode of a path (and are ignored for abstract names), an existing file
 * gives %LS_SOCKET_ERROR_ADDRESS_IN_USE and stays untouched, the file
 * appears only once the socket listens (bound under a private name beside
 * the path first), and [method@Ls.LocalServer.close] removes only the file
 * this server created.
 * [property@Ls.LocalServer:server-name] and
 * [property@Ls.LocalServer:full-server-name] are the path or the abstract
 * name (without padding); %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE in
 * [property@Ls.LocalServer:socket-options] follows the address, as with
 * [method@Ls.LocalServer.listen_socket_descriptor].
 *
 * Any other address (a [class@Gio.InetSocketAddress], an anonymous Unix
 * address, a name with a NUL byte in it) fails with
 * %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION. An empty name, or a name
 * of 107 bytes or more, fails with %LS_SOCKET_ERROR_SERVER_NOT_FOUND
 * without touching any file: GIO silently cuts names at 107 bytes, so such
 * an address may not be the one its creator meant.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.2
 */
gboolean
ls_local_server_listen_address (LsLocalServer   *self,
                                GSocketAddress  *address,
                                GError         **error)
{
  g_autofree char *description = NULL;
  GError *local_error = NULL;
  LsAddress ls_address;
  gboolean ok;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  description = ls_gio_address_describe (address);
  if (!check_not_listening (self, description, error))
    return FALSE;
  if (!ls_gio_address_to_ls (address, "listen on", &ls_address, &local_error))
    {
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }
  ok = ls_local_server_listen_address_internal (self, &ls_address, ls_address.full_name, error);
  ls_address_clear (&ls_address);
  return ok;
}

/* "GSocket (descriptor 7, address “…”)" for messages. */
static char *
describe_socket (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autofree char *address = local != NULL ? ls_gio_address_describe (local)
                                           : g_strdup ("unbound");

  return g_strdup_printf ("GSocket (descriptor %d, address %s)", g_socket_get_fd (socket), address);
}

static gboolean
check_listening_local_stream (LsLocalServer  *self,
                              GSocket        *socket,
                              GError        **error)
{
  g_autofree char *description = NULL;
  const char *reason = NULL;
  int listening = 0;

  if (g_socket_is_closed (socket))
    {
      ls_local_server_take_error_internal (self, error,
        g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                     "Cannot listen on a GSocket: Unsupported socket operation "
                     "(the GSocket is closed)"));
      return FALSE;
    }

  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX)
    reason = "not a local (AF_UNIX) socket";
  else if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_STREAM)
    reason = "not a stream (SOCK_STREAM) socket";
  else if (!g_socket_get_option (socket, SOL_SOCKET, SO_ACCEPTCONN, &listening, NULL) ||
           !listening)
    reason = "the socket is not listening; call g_socket_listen () first";
  if (reason == NULL)
    return TRUE;

  description = describe_socket (socket);
  ls_local_server_take_error_internal (self, error,
    g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                 "Cannot listen on %s: Unsupported socket operation (%s)", description, reason));
  return FALSE;
}

/**
 * ls_local_server_listen_socket:
 * @self: a server
 * @socket: a listening [class@Gio.Socket] of family %G_SOCKET_FAMILY_UNIX and
 *   type %G_SOCKET_TYPE_STREAM
 * @error: return location for an error
 *
 * Listens on a socket made with GIO, for example one a
 * [class@Gio.SocketListener] bound. It is validated as
 * [method@Ls.LocalServer.listen_socket_descriptor] validates a descriptor
 * (anything but a listening local stream socket fails with
 * %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION); the names are read from
 * its address the same way.
 *
 * The server listens on its own duplicate of the descriptor and keeps a
 * reference on @socket until it closes: @socket stays the caller's, usable
 * and open after [method@Ls.LocalServer.close] (the server never closes it
 * and never removes its socket file). Both accept from the same queue, so
 * a caller that keeps accepting on @socket competes with the server.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.2
 */
gboolean
ls_local_server_listen_socket (LsLocalServer  *self,
                               GSocket        *socket,
                               GError        **error)
{
  int fd;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET (socket), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_not_listening (self, "a GSocket", error))
    return FALSE;
  if (!check_listening_local_stream (self, socket, error))
    return FALSE;

  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_autofree char *description = describe_socket (socket);

      ls_local_server_take_error_internal (self, error,
        g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                     "Cannot listen on %s: Out of resources (%s)", description,
                     g_strerror (saved_errno)));
      return FALSE;
    }
  if (!ls_local_server_listen_socket_descriptor (self, fd, error))
    {
      close (fd);
      return FALSE;
    }
  g_object_set_qdata_full (G_OBJECT (self), gsocket_quark (), g_object_ref (socket),
                           g_object_unref);
  return TRUE;
}

/**
 * ls_local_server_get_address:
 * @self: a server
 *
 * Gets the address the server listens on: for a socket file the server
 * created ([method@Ls.LocalServer.listen],
 * [method@Ls.LocalServer.listen_address]), its path; otherwise read from
 * its socket as [method@Gio.Socket.get_local_address] would: a
 * [class@Gio.UnixSocketAddress] of type %G_UNIX_SOCKET_ADDRESS_PATH,
 * %G_UNIX_SOCKET_ADDRESS_ABSTRACT or %G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED
 * (a padded address stays padded; its path is the name without the
 * padding). Hand it to a [class@Gio.SocketClient] to reach the server.
 *
 * Returns: (transfer full) (nullable): the listening address, or %NULL when
 *   the server is not listening
 *
 * Since: 1.2
 */
GSocketAddress *
ls_local_server_get_address (LsLocalServer *self)
{
  LsLocalServerPrivate *priv;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), NULL);

  priv = ls_local_server_get_private (self);
  /* A socket file this server made was bound under a private name before
   * it was linked at its path (ls-socket-file.c): the path is the address
   * to reach it. */
  if (priv->fd >= 0 && priv->file.owned)
    return g_unix_socket_address_new (priv->full_server_name);
  return ls_gio_address_of_fd (ls_local_server_get_socket_descriptor (self), FALSE);
}
