/* ls-local-server.h: a local (Unix domain) socket server, the twin of QLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <gio/gio.h>

#include "ls-version-macros.h"
#include "ls-enums.h"
#include "ls-local-socket.h"

G_BEGIN_DECLS

#define LS_TYPE_LOCAL_SERVER (ls_local_server_get_type ())

LS_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (LsLocalServer, ls_local_server, LS, LOCAL_SERVER, GObject)

/**
 * LsLocalServerClass:
 * @parent_class: the parent class.
 * @incoming_connection: called with each accepted descriptor, which it owns;
 *   the default wraps it in a [class@Ls.LocalSocket] and passes that to
 *   [method@Ls.LocalServer.add_pending_connection].
 * @new_connection: class handler of [signal@Ls.LocalServer::new-connection].
 * @authorize_peer: class handler of [signal@Ls.LocalServer::authorize-peer];
 *   the default accepts every peer.
 *
 * The class structure of [class@Ls.LocalServer].
 *
 * Since: 1.0
 */
/**
 * LsLocalServerClass::incoming_connection:
 * @self: the server
 * @socket_descriptor: the accepted connection's descriptor, owned by the
 *   implementation from now on
 *
 * Called for each accepted connection, like Qt's `incomingConnection()`.
 * The default wraps the descriptor in a [class@Ls.LocalSocket] and queues
 * it with [method@Ls.LocalServer.add_pending_connection].
 *
 * Since: 1.0
 */

/**
 * LsLocalServerClass::new_connection:
 * @self: the server
 *
 * The class handler of [signal@Ls.LocalServer::new-connection].
 *
 * Since: 1.0
 */

/**
 * LsLocalServerClass::authorize_peer:
 * @self: the server
 * @credentials: the credentials of the connecting process
 *
 * The class handler of [signal@Ls.LocalServer::authorize-peer]; the
 * default accepts every peer.
 *
 * Returns: %TRUE to accept the peer
 *
 * Since: 1.0
 */
struct _LsLocalServerClass
{
  GObjectClass parent_class;

  void (*incoming_connection) (LsLocalServer *self,
                               int            socket_descriptor);
  void     (*new_connection)      (LsLocalServer *self);
  gboolean (*authorize_peer)      (LsLocalServer *self,
                                   GCredentials  *credentials);

  /*< private >*/
  gpointer padding[8];
};

LS_AVAILABLE_IN_1_0
LsLocalServer   *ls_local_server_new                        (void);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_listen                     (LsLocalServer    *self,
                                                             const char       *name,
                                                             GError          **error);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_listen_socket_descriptor   (LsLocalServer    *self,
                                                             int               socket_descriptor,
                                                             GError          **error);
LS_AVAILABLE_IN_1_0
void             ls_local_server_close                      (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_is_listening               (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
const char      *ls_local_server_get_error_string           (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
LsSocketError    ls_local_server_get_server_error           (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
const char      *ls_local_server_get_server_name            (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
const char      *ls_local_server_get_full_server_name       (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
int              ls_local_server_get_socket_descriptor      (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
gint             ls_local_server_get_max_pending_connections (LsLocalServer   *self);
LS_AVAILABLE_IN_1_0
void             ls_local_server_set_max_pending_connections (LsLocalServer   *self,
                                                              gint             max_pending);
LS_AVAILABLE_IN_1_0
LsSocketOptions  ls_local_server_get_socket_options         (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
void             ls_local_server_set_socket_options         (LsLocalServer    *self,
                                                             LsSocketOptions   options);
LS_AVAILABLE_IN_1_0
gint             ls_local_server_get_listen_backlog_size    (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
void             ls_local_server_set_listen_backlog_size    (LsLocalServer    *self,
                                                             gint              size);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_has_pending_connections    (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
LsLocalSocket   *ls_local_server_next_pending_connection    (LsLocalServer    *self);
LS_AVAILABLE_IN_1_0
void             ls_local_server_add_pending_connection     (LsLocalServer    *self,
                                                             LsLocalSocket    *socket);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_wait_for_new_connection    (LsLocalServer    *self,
                                                             int               msec,
                                                             gboolean         *timed_out,
                                                             GError          **error);
LS_AVAILABLE_IN_1_0
gboolean         ls_local_server_remove_server              (const char       *name,
                                                             GError          **error);

LS_AVAILABLE_IN_1_2
void             ls_local_server_accept_async               (LsLocalServer       *self,
                                                             GCancellable        *cancellable,
                                                             GAsyncReadyCallback  callback,
                                                             gpointer             user_data);
LS_AVAILABLE_IN_1_2
LsLocalSocket   *ls_local_server_accept_finish              (LsLocalServer       *self,
                                                             GAsyncResult        *result,
                                                             GError             **error);

LS_AVAILABLE_IN_1_2
gboolean         ls_local_server_listen_address             (LsLocalServer    *self,
                                                             GSocketAddress   *address,
                                                             GError          **error);
LS_AVAILABLE_IN_1_2
gboolean         ls_local_server_listen_socket              (LsLocalServer    *self,
                                                             GSocket          *socket,
                                                             GError          **error);
LS_AVAILABLE_IN_1_2
GSocketAddress  *ls_local_server_get_address                (LsLocalServer    *self);

LS_AVAILABLE_IN_1_2
gboolean         ls_local_server_listen_activated           (LsLocalServer    *self,
                                                             const char       *fd_name,
                                                             GError          **error);
LS_AVAILABLE_IN_1_2
gboolean         ls_local_server_get_reclaim_stale          (LsLocalServer    *self);
LS_AVAILABLE_IN_1_2
void             ls_local_server_set_reclaim_stale          (LsLocalServer    *self,
                                                             gboolean          reclaim);
LS_AVAILABLE_IN_1_2
gboolean         ls_local_server_get_accept_fds             (LsLocalServer    *self);
LS_AVAILABLE_IN_1_2
void             ls_local_server_set_accept_fds             (LsLocalServer    *self,
                                                             gboolean          accept);

G_END_DECLS
