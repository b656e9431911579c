/* ls-names-private.h: name resolution and descriptor checks shared by server and socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-names-private.h is private to the Ls library."
#endif

#include <sys/socket.h>
#include <sys/un.h>

#include <gio/gio.h>

#include "ls-enums.h"
/* The errno table moved to ls-error.c; its callers still find it here. */
#include "ls-error-private.h"

G_BEGIN_DECLS

/* A resolved local socket address. */
typedef struct
{
  char               *full_name;   /* path, or the abstract name (without NUL) */
  gboolean            abstract;
  struct sockaddr_un  addr;
  socklen_t           addr_len;
} LsAddress;

/* Resolves @name as Qt does ($TMPDIR or /tmp for relative names, absolute
 * verbatim, abstract with LS_SOCKET_OPTION_ABSTRACT_NAMESPACE) and fills
 * @address. @operation is a phrase such as "listen on" for messages. */
gboolean       ls_address_resolve       (LsAddress        *address,
                                         const char       *operation,
                                         const char       *name,
                                         LsSocketOptions   options,
                                         GError          **error);
void           ls_address_clear         (LsAddress        *address);
void           ls_address_free          (LsAddress        *address);

/* Fills @address from what getsockname()/getpeername() returned; FALSE for
 * an unnamed socket. */
gboolean       ls_address_from_native   (LsAddress                *address,
                                         const struct sockaddr_un *addr,
                                         socklen_t                 addr_len);

/* Sets O_NONBLOCK and FD_CLOEXEC. */
gboolean       ls_fd_set_nonblocking    (int               fd);

/* Checks that @fd is an AF_UNIX SOCK_STREAM socket (and listening if
 * @listening). */
gboolean       ls_fd_check_local_stream (int               fd,
                                         gboolean          listening,
                                         const char       *operation,
                                         GError          **error);

/* The credentials of the process at the other end of @fd (SO_PEERCRED),
 * or NULL. */
GCredentials  *ls_fd_get_peer_credentials (int             fd);

/* The basename of a path, as Qt reports serverName() for a path. */
char          *ls_name_basename         (const char       *full_name);

G_END_DECLS
