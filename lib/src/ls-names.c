/* ls-names.c: name resolution and descriptor checks shared by server and socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-names-private.h"
#include "ls-temp-path-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

gboolean
ls_address_resolve (LsAddress        *address,
                    const char       *operation,
                    const char       *name,
                    LsSocketOptions   options,
                    GError          **error)
{
  gsize len;

  memset (address, 0, sizeof *address);
  address->addr.sun_family = AF_UNIX;

  if (name == NULL || name[0] == '\0')
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                   "Cannot %s “”: Name error (the server name is empty)", operation);
      return FALSE;
    }

  address->abstract = (options & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE) != 0;
  if (address->abstract || name[0] == '/')
    address->full_name = g_strdup (name);
  else
    address->full_name = ls_temp_path_join (name);

  /* A file path needs its terminating NUL inside sun_path; an abstract
   * name needs the leading NUL and is not padded (Qt 6, GIO's
   * G_UNIX_SOCKET_ADDRESS_ABSTRACT). Either way: at most 107 bytes. */
  len = strlen (address->full_name);
  if (len + 1 > sizeof address->addr.sun_path)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                   "Cannot %s “%s”: Name error (%" G_GSIZE_FORMAT " bytes, "
                   "longer than the %" G_GSIZE_FORMAT " a local socket address can hold)",
                   operation, address->full_name, len, sizeof address->addr.sun_path - 1);
      ls_address_clear (address);
      return FALSE;
    }

  if (address->abstract)
    {
      memcpy (address->addr.sun_path + 1, address->full_name, len);
      address->addr_len = offsetof (struct sockaddr_un, sun_path) + 1 + len;
    }
  else
    {
      memcpy (address->addr.sun_path, address->full_name, len + 1);
      address->addr_len = offsetof (struct sockaddr_un, sun_path) + len + 1;
    }
  return TRUE;
}

void
ls_address_clear (LsAddress *address)
{
  g_clear_pointer (&address->full_name, g_free);
  address->abstract = FALSE;
  address->addr_len = 0;
}

void
ls_address_free (LsAddress *address)
{
  ls_address_clear (address);
  g_free (address);
}

gboolean
ls_address_from_native (LsAddress                *address,
                        const struct sockaddr_un *addr,
                        socklen_t                 addr_len)
{
  gsize path_len;

  memset (address, 0, sizeof *address);
  if (addr_len <= offsetof (struct sockaddr_un, sun_path) || addr->sun_family != AF_UNIX)
    return FALSE;

  path_len = addr_len - offsetof (struct sockaddr_un, sun_path);
  if (path_len > sizeof addr->sun_path)
    path_len = sizeof addr->sun_path;

  if (addr->sun_path[0] == '\0')
    {
      /* Abstract: the name is every byte after the NUL, as Qt 6 reports it
       * (a padded address keeps its trailing NULs; we strip them since a
       * C string could not carry them anyway). */
      address->abstract = TRUE;
      address->full_name = g_strndup (addr->sun_path + 1, path_len - 1);
    }
  else
    address->full_name = g_strndup (addr->sun_path, path_len);

  memcpy (&address->addr, addr, MIN ((gsize) addr_len, sizeof address->addr));
  address->addr_len = addr_len;
  return TRUE;
}

gboolean
ls_fd_set_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0)
    return FALSE;
  if ((flags & O_NONBLOCK) == 0 && fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return FALSE;
  flags = fcntl (fd, F_GETFD);
  if (flags < 0 || ((flags & FD_CLOEXEC) == 0 && fcntl (fd, F_SETFD, flags | FD_CLOEXEC) < 0))
    return FALSE;
  return TRUE;
}

gboolean
ls_fd_check_local_stream (int          fd,
                          gboolean     listening,
                          const char  *operation,
                          GError     **error)
{
  int value = 0;
  socklen_t len = sizeof value;

  if (fd < 0)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: not a valid descriptor", operation, fd);
      return FALSE;
    }
  if (getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: %s", operation, fd,
                   saved_errno == ENOTSOCK ? "not a socket" : g_strerror (saved_errno));
      return FALSE;
    }
  if (value != AF_UNIX)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: not a local (AF_UNIX) socket", operation, fd);
      return FALSE;
    }
  len = sizeof value;
  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0 || value != SOCK_STREAM)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: not a stream (SOCK_STREAM) socket", operation, fd);
      return FALSE;
    }
  len = sizeof value;
  if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0)
    value = 0;
  if (listening && value == 0)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: the socket is not listening", operation, fd);
      return FALSE;
    }
  if (!listening && value != 0)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s descriptor %d: the socket is a listening socket", operation, fd);
      return FALSE;
    }
  return TRUE;
}

GCredentials *
ls_fd_get_peer_credentials (int fd)
{
  struct ucred cred;
  socklen_t len = sizeof cred;
  GCredentials *credentials;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return NULL;
  credentials = g_credentials_new ();
  g_credentials_set_native (credentials, G_CREDENTIALS_TYPE_LINUX_UCRED, &cred);
  return credentials;
}

char *
ls_name_basename (const char *full_name)
{
  const char *slash = strrchr (full_name, '/');

  return g_strdup (slash != NULL ? slash + 1 : full_name);
}
