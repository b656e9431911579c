/* ls-enums.h: enumerations and the error domain of Ls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <glib.h>

#include "ls-version-macros.h"

G_BEGIN_DECLS

/**
 * LsSocketOptions:
 * @LS_SOCKET_OPTION_NONE: no restriction: a plain bind(), the socket file
 *   mode follows the umask.
 * @LS_SOCKET_OPTION_USER_ACCESS: only the owner may connect (mode 0700).
 * @LS_SOCKET_OPTION_GROUP_ACCESS: the owner's group may connect (mode 0070).
 * @LS_SOCKET_OPTION_OTHER_ACCESS: other users may connect (mode 0007).
 * @LS_SOCKET_OPTION_WORLD_ACCESS: everyone may connect (mode 0777).
 * @LS_SOCKET_OPTION_ABSTRACT_NAMESPACE: use a Linux abstract address instead
 *   of a file; the permission bits are ignored.
 *
 * Options for the socket a [class@Ls.LocalServer] listens on, and for the
 * address a [class@Ls.LocalSocket] connects to. The numeric values are those
 * of Qt's `QLocalServer::SocketOption`; unlike Qt, the socket side uses the
 * same type (abstract is 8 everywhere).
 *
 * The permission bits are applied before the socket becomes visible under
 * its name: there is never a moment where the file exists with a looser mode.
 *
 * Since: 1.0
 */
typedef enum /*< flags,prefix=LS_SOCKET_OPTION >*/
{
  LS_SOCKET_OPTION_NONE               = 0,
  LS_SOCKET_OPTION_USER_ACCESS        = 1 << 0,
  LS_SOCKET_OPTION_GROUP_ACCESS       = 1 << 1,
  LS_SOCKET_OPTION_OTHER_ACCESS       = 1 << 2,
  LS_SOCKET_OPTION_WORLD_ACCESS       = 0x7,
  LS_SOCKET_OPTION_ABSTRACT_NAMESPACE = 1 << 3,
} LsSocketOptions;

/**
 * LsSocketError:
 * @LS_SOCKET_ERROR_UNKNOWN: an unidentified error, or no error yet.
 * @LS_SOCKET_ERROR_CONNECTION_REFUSED: nobody listens at the address
 *   (stale socket file, not a socket, ...).
 * @LS_SOCKET_ERROR_PEER_CLOSED: the peer closed the connection.
 * @LS_SOCKET_ERROR_SERVER_NOT_FOUND: the name is empty, too long, or nothing
 *   exists at the resolved path.
 * @LS_SOCKET_ERROR_SOCKET_ACCESS: permission denied.
 * @LS_SOCKET_ERROR_SOCKET_RESOURCE: out of file descriptors or memory.
 * @LS_SOCKET_ERROR_SOCKET_TIMEOUT: the operation timed out.
 * @LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE: the datagram was too large.
 * @LS_SOCKET_ERROR_CONNECTION: a connection error while transferring data.
 * @LS_SOCKET_ERROR_ADDRESS_IN_USE: something already exists at the path.
 * @LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION: the operation is not
 *   supported (for example a descriptor that is not a listening local
 *   stream socket).
 * @LS_SOCKET_ERROR_OPERATION: the operation is not allowed in this state.
 *
 * The error codes of the %LS_SOCKET_ERROR domain, also returned by
 * [method@Ls.LocalServer.get_server_error] and
 * [method@Ls.LocalSocket.get_error]. The numeric values are those of Qt's
 * `QLocalSocket::LocalSocketError`.
 *
 * Since: 1.0
 */
typedef enum /*< prefix=LS_SOCKET_ERROR >*/
{
  LS_SOCKET_ERROR_UNKNOWN                      = -1,
  LS_SOCKET_ERROR_CONNECTION_REFUSED           = 0,
  LS_SOCKET_ERROR_PEER_CLOSED                  = 1,
  LS_SOCKET_ERROR_SERVER_NOT_FOUND             = 2,
  LS_SOCKET_ERROR_SOCKET_ACCESS                = 3,
  LS_SOCKET_ERROR_SOCKET_RESOURCE              = 4,
  LS_SOCKET_ERROR_SOCKET_TIMEOUT               = 5,
  LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE           = 6,
  LS_SOCKET_ERROR_CONNECTION                   = 7,
  LS_SOCKET_ERROR_ADDRESS_IN_USE               = 8,
  LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION = 10,
  LS_SOCKET_ERROR_OPERATION                    = 19,
} LsSocketError;

/**
 * LsLocalSocketState:
 * @LS_LOCAL_SOCKET_STATE_UNCONNECTED: not connected.
 * @LS_LOCAL_SOCKET_STATE_CONNECTING: a connection attempt is in progress
 *   (only while the server's listen backlog is full).
 * @LS_LOCAL_SOCKET_STATE_CONNECTED: connected.
 * @LS_LOCAL_SOCKET_STATE_CLOSING: closing; pending data is still being
 *   written.
 *
 * The state of a [class@Ls.LocalSocket]; values are those of Qt's
 * `QLocalSocket::LocalSocketState`.
 *
 * Since: 1.0
 */
typedef enum /*< prefix=LS_LOCAL_SOCKET_STATE >*/
{
  LS_LOCAL_SOCKET_STATE_UNCONNECTED = 0,
  LS_LOCAL_SOCKET_STATE_CONNECTING  = 2,
  LS_LOCAL_SOCKET_STATE_CONNECTED   = 3,
  LS_LOCAL_SOCKET_STATE_CLOSING     = 6,
} LsLocalSocketState;

/**
 * LS_SOCKET_ERROR:
 *
 * The error domain of Ls; codes are [error@Ls.SocketError].
 *
 * Since: 1.0
 */
#define LS_SOCKET_ERROR (ls_socket_error_quark ())

LS_AVAILABLE_IN_1_0
GQuark ls_socket_error_quark (void);

G_END_DECLS
