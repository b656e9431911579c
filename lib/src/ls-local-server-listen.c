/* ls-local-server-listen.c: LsLocalServer's listen calls (by name, by
 * address, by adopted descriptor)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Resolving the name, binding the file with its mode (ls-socket-file.c),
 * reclaiming a stale one under its lock (ls-socket-file-reclaim.c), then
 * registering with the event core. close () and the class are in
 * ls-local-server.c.
 */
#include "ls-local-server.h"
#include "ls-local-server-private.h"
#include "ls-error-private.h"
#include "ls-socket-file-reclaim-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
take_errno_error (LsLocalServer *self,
                  GError       **error,
                  const char    *operation,
                  const char    *name,
                  int            errno_value)
{
  ls_local_server_take_error_internal (self, error,
              ls_error_new_from_errno (errno_value, LS_ERRNO_LISTENING, operation, name));
}

/* Common end of both listen calls: register with the event core. */
static gboolean
start_listening (LsLocalServer  *self,
                 int             fd,
                 const char     *operation,
                 const char     *name,
                 GError        **error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  priv->listen_serial++;
  /* No main loop serves this thread: only wait_for_new_connection()
   * accepts, in this thread, as for a Qt server in a thread without an
   * event loop. */
  if (!ls_event_core_thread_is_served ())
    {
      priv->fd = fd;
      goto listening;
    }
  else
    {
      g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

      priv->core = ls_event_core_ref_for_context (context);
    }
  if (priv->core == NULL)
    {
      take_errno_error (self, error, operation, name, errno);
      return FALSE;
    }
  priv->fd = fd;
  priv->watch = ls_watch_new (priv->core, fd, 0, ls_local_server_on_listen_ready, self);
  if (priv->watch == NULL)
    {
      take_errno_error (self, error, operation, name, errno);
      priv->fd = -1;
      g_clear_pointer (&priv->core, ls_event_core_unref);
      return FALSE;
    }
  ls_local_server_update_watch (self);

listening:
  ls_local_server_notify_listening_internal (self);
  return TRUE;
}

/* Binds @fd to the file path of @address and sets it listening, with the
 * mode the socket options ask for, before the name appears; remembers the
 * file to remove it on close (ls-socket-file.c). With reclaim-stale, a
 * stale socket there is replaced, under a lock held until the new socket
 * is in place (ls-socket-file-reclaim.c). */
static gboolean
listen_path (LsLocalServer   *self,
             int              fd,
             const LsAddress *address,
             GError         **error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  LsSocketFile *file = &priv->file;
  GError *local_error = NULL;
  int lock_fd = -1;

  if (!ls_socket_file_open (file, address->full_name, &local_error))
    goto fail;
  if (priv->reclaim_stale &&
      ((lock_fd = ls_socket_file_lock (file->dir_fd, file->basename, address->full_name,
                                       &local_error)) < 0 ||
       !ls_socket_file_reclaim (file->dir_fd, file->basename, address->full_name,
                                &local_error)))
    goto fail;
  if (!ls_socket_file_bind_listening (file, fd, address->full_name,
                                      ls_socket_file_mode_for_options (priv->options),
                                      priv->backlog, &local_error))
    goto fail;
  if (lock_fd >= 0)
    close (lock_fd);
  return TRUE;

fail:
  ls_local_server_take_error_internal (self, error, local_error);
  ls_socket_file_release (file);
  if (lock_fd >= 0)
    close (lock_fd);
  return FALSE;
}

static gboolean
listen_abstract (LsLocalServer   *self,
                 int              fd,
                 const LsAddress *address,
                 GError         **error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);

  if (bind (fd, (struct sockaddr *) &address->addr, address->addr_len) != 0)
    {
      if (errno == EADDRINUSE)
        ls_local_server_take_error_internal (self, error,
                    ls_error_new_cannot (LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen on",
                                         address->full_name,
                                         "Address in use (another socket has this "
                                         "abstract name)"));
      else
        take_errno_error (self, error, "listen on", address->full_name, errno);
      return FALSE;
    }
  if (listen (fd, priv->backlog) != 0)
    {
      take_errno_error (self, error, "listen on", address->full_name, errno);
      return FALSE;
    }
  return TRUE;
}

/**
 * ls_local_server_listen:
 * @self: a server
 * @name: a name relative to `$TMPDIR` (or `/tmp`), an absolute path, or an
 *   abstract name with %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE
 * @error: return location for an error
 *
 * Starts listening on @name, as `QLocalServer::listen()` does. Relative
 * names resolve against `$TMPDIR` if set and non-empty, else `/tmp`, so a
 * Qt program finds the server by the same name.
 *
 * An existing file at the path (a live or stale socket, a regular file, a
 * directory) is never touched: the call fails with
 * %LS_SOCKET_ERROR_ADDRESS_IN_USE. To replace a stale socket, set
 * [property@Ls.LocalServer:reclaim-stale] (or remove it with
 * [func@Ls.LocalServer.remove_server] first, as Qt programs do). A name too
 * long for a socket address fails with %LS_SOCKET_ERROR_SERVER_NOT_FOUND.
 *
 * The socket file appears only once the server listens, with its mode
 * already set: the socket is bound in a private directory beside the path,
 * set listening, then linked at the path. So a client never finds a file
 * that refuses it; the socket's own address (`getsockname()`, a client's
 * `getpeername()`) is that private path (see
 * [method@Ls.LocalServer.get_address]).
 *
 * The server attaches to the thread-default main context of the caller.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.0
 */
gboolean
ls_local_server_listen (LsLocalServer  *self,
                        const char     *name,
                        GError        **error)
{
  LsLocalServerPrivate *priv;
  LsAddress address;
  GError *local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = ls_local_server_get_private (self);
  if (priv->fd >= 0)
    {
      ls_local_server_take_error_internal (self, error,
                  ls_error_new_cannot (LS_SOCKET_ERROR_OPERATION, "listen on", name ? name : "",
                                       "the server is already listening on “%s”",
                                       priv->full_server_name));
      return FALSE;
    }

  if (!ls_address_resolve (&address, "listen on", name, priv->options, &local_error))
    {
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }

  ok = ls_local_server_listen_address_internal (self, &address, name, error);
  ls_address_clear (&address);
  return ok;
}

/* The body of listen (): binds @address (not taken), which
 * ls_local_server_listen_address () builds from a GUnixSocketAddress; the
 * caller has checked that the server is not listening. */
gboolean
ls_local_server_listen_address_internal (LsLocalServer    *self,
                                         const LsAddress  *address,
                                         const char       *server_name,
                                         GError          **error)
{
  LsLocalServerPrivate *priv = ls_local_server_get_private (self);
  int fd;

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      take_errno_error (self, error, "listen on", address->full_name, errno);
      return FALSE;
    }

  if (address->abstract ? !listen_abstract (self, fd, address, error)
                        : !listen_path (self, fd, address, error))
    goto fail;

  ls_local_server_clear_names_internal (self);
  ls_local_server_set_names_internal (self, server_name, address->full_name, address->abstract);
  /* A no-op for listen (name), where the option chose the address. */
  ls_local_server_follow_namespace_internal (self, address->abstract);

  if (!start_listening (self, fd, "listen on", priv->full_server_name, error))
    {
      ls_socket_file_release (&priv->file);
      goto fail_names;
    }
  return TRUE;

fail_names:
  ls_local_server_clear_names_internal (self);
fail:
  close (fd);
  return FALSE;
}

/* Records @local_error (taken) for the Qt-style accessors and passes it on. */

/**
 * ls_local_server_listen_socket_descriptor:
 * @self: a server
 * @socket_descriptor: a listening `AF_UNIX` stream socket
 * @error: return location for an error
 *
 * Listens on an existing socket, for example one inherited from systemd.
 * Unlike Qt, the descriptor is validated: anything but a listening local
 * stream socket fails with %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION and
 * stays the caller's. On success the server owns it.
 *
 * The names are read from the socket's address as Qt 6 does: a path gives
 * the path and its basename, an abstract address its name (and sets
 * %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE in [property@Ls.LocalServer:socket-options]).
 * [method@Ls.LocalServer.close] never removes a file it did not create.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.0
 */
gboolean
ls_local_server_listen_socket_descriptor (LsLocalServer  *self,
                                          int             socket_descriptor,
                                          GError        **error)
{
  LsLocalServerPrivate *priv;
  GError *local_error = NULL;
  struct sockaddr_un addr;
  socklen_t addr_len = sizeof addr;
  LsAddress address;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = ls_local_server_get_private (self);
  if (priv->fd >= 0)
    {
      ls_local_server_take_error_internal (self, error,
                  g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                               "Cannot listen on descriptor %d: the server is already "
                               "listening on “%s”", socket_descriptor, priv->full_server_name));
      return FALSE;
    }
  if (!ls_fd_check_local_stream (socket_descriptor, TRUE, "listen on", &local_error))
    {
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }
  if (!ls_fd_set_nonblocking (socket_descriptor))
    {
      ls_local_server_take_error_internal (self, error,
                  g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN,
                               "Cannot listen on descriptor %d: %s", socket_descriptor,
                               g_strerror (errno)));
      return FALSE;
    }

  ls_local_server_clear_names_internal (self);
  memset (&addr, 0, sizeof addr);
  if (getsockname (socket_descriptor, (struct sockaddr *) &addr, &addr_len) == 0 &&
      ls_address_from_native (&address, &addr, addr_len))
    {
      /* Qt 6: a path gives the path and its basename, an abstract address
       * its name for both. */
      g_autofree char *basename = ls_name_basename (address.full_name);

      ls_local_server_set_names_internal (self, address.abstract ? address.full_name : basename,
                 address.full_name, address.abstract);
      ls_local_server_follow_namespace_internal (self, address.abstract);
      ls_address_clear (&address);
    }

  if (!start_listening (self, socket_descriptor, "listen on descriptor",
                        priv->full_server_name ? priv->full_server_name : "", error))
    {
      ls_local_server_clear_names_internal (self);
      return FALSE;
    }
  return TRUE;
}
