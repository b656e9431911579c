/* ls-error.c: the errno table and the error messages shared by server and
 * socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-error-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct
{
  int           errno_value;
  LsSocketError listening;    /* as QLocalServer maps it */
  LsSocketError connecting;   /* as QLocalSocket maps it */
} errno_codes[] = {
  { EADDRINUSE,   LS_SOCKET_ERROR_ADDRESS_IN_USE,   LS_SOCKET_ERROR_UNKNOWN },
  { EEXIST,       LS_SOCKET_ERROR_ADDRESS_IN_USE,   LS_SOCKET_ERROR_UNKNOWN },
  { EACCES,       LS_SOCKET_ERROR_SOCKET_ACCESS,    LS_SOCKET_ERROR_SOCKET_ACCESS },
  { EPERM,        LS_SOCKET_ERROR_SOCKET_ACCESS,    LS_SOCKET_ERROR_SOCKET_ACCESS },
  { ENOENT,       LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_SERVER_NOT_FOUND },
  { ENOTDIR,      LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_SERVER_NOT_FOUND },
  { ENAMETOOLONG, LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_SERVER_NOT_FOUND },
  { ELOOP,        LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_UNKNOWN },
  { EROFS,        LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_UNKNOWN },
  { ECONNREFUSED, LS_SOCKET_ERROR_UNKNOWN,          LS_SOCKET_ERROR_CONNECTION_REFUSED },
  { ENOTSOCK,     LS_SOCKET_ERROR_UNKNOWN,          LS_SOCKET_ERROR_CONNECTION_REFUSED },
  { EINVAL,       LS_SOCKET_ERROR_UNKNOWN,          LS_SOCKET_ERROR_CONNECTION_REFUSED },
  { EPROTOTYPE,   LS_SOCKET_ERROR_UNKNOWN,          LS_SOCKET_ERROR_CONNECTION_REFUSED },
  { ETIMEDOUT,    LS_SOCKET_ERROR_UNKNOWN,          LS_SOCKET_ERROR_SOCKET_TIMEOUT },
};

static const char *
category_for (LsSocketError code,
              LsErrnoSide   side)
{
  gboolean listening = side == LS_ERRNO_LISTENING;

  switch ((int) code)
    {
    case LS_SOCKET_ERROR_ADDRESS_IN_USE:
      return "Address in use";
    case LS_SOCKET_ERROR_SOCKET_ACCESS:
      return listening ? "Permission denied" : "Socket access error";
    case LS_SOCKET_ERROR_SERVER_NOT_FOUND:
      return listening ? "Name error" : "Invalid name";
    case LS_SOCKET_ERROR_CONNECTION_REFUSED:
      return "Connection refused";
    case LS_SOCKET_ERROR_SOCKET_TIMEOUT:
      return "Socket operation timed out";
    case LS_SOCKET_ERROR_SOCKET_RESOURCE:
      return listening ? "Out of resources" : "Socket resource error";
    default:
      return "Unknown error";
    }
}

LsSocketError
ls_socket_error_from_errno (int           errno_value,
                            LsErrnoSide   side,
                            const char  **category)
{
  LsSocketError code = LS_SOCKET_ERROR_UNKNOWN;

  if (ls_errno_is_resource (errno_value))
    code = LS_SOCKET_ERROR_SOCKET_RESOURCE;
  for (guint i = 0; i < G_N_ELEMENTS (errno_codes); i++)
    if (errno_codes[i].errno_value == errno_value)
      code = side == LS_ERRNO_LISTENING ? errno_codes[i].listening : errno_codes[i].connecting;
  *category = category_for (code, side);
  return code;
}

gboolean
ls_errno_is_resource (int errno_value)
{
  return errno_value == EMFILE || errno_value == ENFILE ||
         errno_value == ENOBUFS || errno_value == ENOMEM;
}

GError *
ls_error_new_cannot (LsSocketError  code,
                     const char    *operation,
                     const char    *name,
                     const char    *reason_format,
                     ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, reason_format);
  reason = g_strdup_vprintf (reason_format, args);
  va_end (args);
  return g_error_new (LS_SOCKET_ERROR, code, "Cannot %s “%s”: %s", operation, name, reason);
}

GError *
ls_error_new_from_errno_reason (int          errno_value,
                                LsErrnoSide  side,
                                const char  *operation,
                                const char  *name,
                                const char  *reason_format,
                                ...)
{
  const char *category = NULL;
  LsSocketError code = ls_socket_error_from_errno (errno_value, side, &category);
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, reason_format);
  reason = g_strdup_vprintf (reason_format, args);
  va_end (args);
  return ls_error_new_cannot (code, operation, name, "%s (%s)", category, reason);
}

GError *
ls_error_new_from_errno (int          errno_value,
                         LsErrnoSide  side,
                         const char  *operation,
                         const char  *name)
{
  return ls_error_new_from_errno_reason (errno_value, side, operation, name, "%s",
                                         side == LS_ERRNO_LISTENING && errno_value == EADDRINUSE
                                           ? "a file already exists at this path"
                                           : g_strerror (errno_value));
}

const char *
ls_error_describe_file_type (mode_t mode)
{
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISREG (mode))
    return "a regular file";
  if (S_ISLNK (mode))
    return "a symbolic link";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  return "a file";
}

/* Why a connect to the path @full_name failed with @errno_value, told
 * from what is at the path and its directory; NULL where the system's
 * words are all we know. */
static char *
connect_reason (int         errno_value,
                const char *full_name)
{
  g_autofree char *dir = g_path_get_dirname (full_name);
  struct stat st;

  switch (errno_value)
    {
    case ENOENT:
    case ENOTDIR:
      if (stat (dir, &st) != 0)
        return g_strdup_printf ("the directory “%s” does not exist", dir);
      if (!S_ISDIR (st.st_mode))
        return g_strdup_printf ("“%s” is not a directory", dir);
      return g_strdup ("nothing is at this path: no server is listening on this name");
    case EACCES:
    case EPERM:
      if (faccessat (AT_FDCWD, dir, X_OK, AT_EACCESS) != 0)
        return g_strdup_printf ("permission denied: this user may not reach the directory “%s”",
                                dir);
      return g_strdup ("permission denied: this user may not connect to the socket; the "
                       "server's socket options decide who may");
    case ECONNREFUSED:
      /* connect() follows links, and so does stat(). */
      if (stat (full_name, &st) == 0 && !S_ISSOCK (st.st_mode))
        return g_strdup_printf ("%s is there, not a socket",
                                ls_error_describe_file_type (st.st_mode));
      return g_strdup ("no server is listening: the socket file is stale, left by a server "
                       "that has exited; a server with reclaim-stale replaces it");
    default:
      return NULL;
    }
}

char *
ls_error_connect_message (int             errno_value,
                          const char     *full_name,
                          gboolean        abstract,
                          LsSocketError  *code)
{
  const char *category = NULL;
  g_autofree char *reason = NULL;

  *code = ls_socket_error_from_errno (errno_value, LS_ERRNO_CONNECTING, &category);
  if (abstract)
    reason = errno_value == ECONNREFUSED
               ? g_strdup ("no server is listening on this abstract name") : NULL;
  else
    reason = connect_reason (errno_value, full_name);
  return g_strdup_printf ("Cannot connect to “%s”: %s (%s)", full_name, category,
                          reason != NULL ? reason : g_strerror (errno_value));
}
