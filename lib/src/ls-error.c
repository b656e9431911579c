/* ls-error.c: the errno table and the error messages shared by server and
 * socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-error-private.h"

#include <errno.h>

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
ls_error_new_from_errno (int          errno_value,
                         LsErrnoSide  side,
                         const char  *operation,
                         const char  *name)
{
  const char *category = NULL;
  LsSocketError code = ls_socket_error_from_errno (errno_value, side, &category);

  return ls_error_new_cannot (code, operation, name, "%s (%s)", category,
                              side == LS_ERRNO_LISTENING && errno_value == EADDRINUSE
                                ? "a file already exists at this path"
                                : g_strerror (errno_value));
}
