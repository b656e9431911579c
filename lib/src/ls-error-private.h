/* ls-error-private.h: the errno table and the error messages shared by
 * server and socket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-error-private.h is private to the Ls library."
#endif

#include <sys/types.h>

#include <gio/gio.h>

#include "ls-enums.h"

G_BEGIN_DECLS

/* Which class's words an error uses: Qt's QLocalServer and QLocalSocket
 * map errno to LsSocketError differently, and name the categories
 * differently too ("Name error" / "Invalid name"). */
typedef enum
{
  LS_ERRNO_LISTENING,   /* listen, accept, remove_server */
  LS_ERRNO_CONNECTING,  /* connect_to_server */
} LsErrnoSide;

/* The one errno table of the library: the code @errno_value stands for on
 * @side, and in *@category the words Qt's class puts in its message. */
LsSocketError  ls_socket_error_from_errno (int                errno_value,
                                           LsErrnoSide        side,
                                           const char       **category);

/* Whether @errno_value means running out of descriptors or memory. */
gboolean       ls_errno_is_resource       (int                errno_value);

/* The one shape of the library's messages about a name:
 * "Cannot <operation> “<name>”: <reason>", @reason_format formatted. */
GError        *ls_error_new_cannot        (LsSocketError      code,
                                           const char        *operation,
                                           const char        *name,
                                           const char        *reason_format,
                                           ...) G_GNUC_PRINTF (4, 5);

/* The same from errno, with the table's code and category for @side:
 * "Cannot <operation> “<name>”: <category> (<strerror>)". On the listening
 * side, EADDRINUSE reads "a file already exists at this path" instead of
 * the system's words, which speak of an address. */
GError        *ls_error_new_from_errno    (int                errno_value,
                                           LsErrnoSide        side,
                                           const char        *operation,
                                           const char        *name);

/* The same with @reason_format (formatted) instead of the system's words,
 * for a cause the caller knows better: "Cannot <operation> “<name>”:
 * <category> (<reason>)". */
GError        *ls_error_new_from_errno_reason (int            errno_value,
                                               LsErrnoSide    side,
                                               const char    *operation,
                                               const char    *name,
                                               const char    *reason_format,
                                               ...) G_GNUC_PRINTF (5, 6);

/* What a file of @mode is, in words: "a socket", "a regular file", ... */
const char    *ls_error_describe_file_type (mode_t            mode);

/* The message of a connect() to @full_name that failed with @errno_value,
 * and in *@code its code: "Cannot connect to “<name>”: <category>
 * (<reason>)", the reason naming the cause and the remedy where they can
 * be told (a missing directory, a stale socket, a denied access). Looks at
 * the path (never connects) to tell them. */
char          *ls_error_connect_message   (int                errno_value,
                                           const char        *full_name,
                                           gboolean           abstract,
                                           LsSocketError     *code);

G_END_DECLS
