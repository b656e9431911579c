/* ls-local-socket.h: a local (Unix domain) stream socket, the twin of QLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "ls-version-macros.h"
#include "ls-enums.h"

G_BEGIN_DECLS

#define LS_TYPE_LOCAL_SOCKET (ls_local_socket_get_type ())

LS_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (LsLocalSocket, ls_local_socket, LS, LOCAL_SOCKET, GObject)

/**
 * LsLocalSocketClass:
 * @parent_class: the parent class.
 *
 * The class structure of [class@Ls.LocalSocket]. The type is final: there
 * is nothing to override.
 *
 * Since: 1.0
 */

LS_AVAILABLE_IN_1_0
LsLocalSocket      *ls_local_socket_new                      (void);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_connect_to_server        (LsLocalSocket      *self,
                                                              const char         *name);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_set_server_name          (LsLocalSocket      *self,
                                                              const char         *name);
LS_AVAILABLE_IN_1_0
const char         *ls_local_socket_get_server_name          (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
const char         *ls_local_socket_get_full_server_name     (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
LsSocketOptions     ls_local_socket_get_socket_options       (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_set_socket_options       (LsLocalSocket      *self,
                                                              LsSocketOptions     options);
LS_AVAILABLE_IN_1_0
gint                ls_local_socket_get_connect_timeout      (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_set_connect_timeout      (LsLocalSocket      *self,
                                                              gint                msec);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_disconnect_from_server   (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_abort                    (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_close                    (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gssize              ls_local_socket_write                    (LsLocalSocket      *self,
                                                              const guint8       *data,
                                                              gsize               size);
LS_AVAILABLE_IN_1_0
gssize              ls_local_socket_write_bytes              (LsLocalSocket      *self,
                                                              GBytes             *bytes);
LS_AVAILABLE_IN_1_0
GBytes             *ls_local_socket_read                     (LsLocalSocket      *self,
                                                              gsize               max_size);
LS_AVAILABLE_IN_1_0
GBytes             *ls_local_socket_read_all                 (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
GBytes             *ls_local_socket_read_line                (LsLocalSocket      *self,
                                                              gsize               max_size);
LS_AVAILABLE_IN_1_0
GBytes             *ls_local_socket_peek                     (LsLocalSocket      *self,
                                                              gsize               max_size);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_can_read_line            (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gint64              ls_local_socket_get_bytes_available      (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gint64              ls_local_socket_get_bytes_to_write       (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_flush                    (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_wait_for_connected       (LsLocalSocket      *self,
                                                              int                 msec);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_wait_for_ready_read      (LsLocalSocket      *self,
                                                              int                 msec);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_wait_for_bytes_written   (LsLocalSocket      *self,
                                                              int                 msec);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_wait_for_disconnected    (LsLocalSocket      *self,
                                                              int                 msec);
LS_AVAILABLE_IN_1_0
LsLocalSocketState  ls_local_socket_get_state                (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
LsSocketError       ls_local_socket_get_error                (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
const char         *ls_local_socket_get_error_string         (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_set_socket_descriptor    (LsLocalSocket      *self,
                                                              int                 socket_descriptor,
                                                              LsLocalSocketState  state,
                                                              GError            **error);
LS_AVAILABLE_IN_1_0
int                 ls_local_socket_get_socket_descriptor    (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gboolean            ls_local_socket_is_valid                 (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
gint64              ls_local_socket_get_read_buffer_size     (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_0
void                ls_local_socket_set_read_buffer_size     (LsLocalSocket      *self,
                                                              gint64              size);
LS_AVAILABLE_IN_1_0
GCredentials       *ls_local_socket_get_peer_credentials     (LsLocalSocket      *self);

LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_write_message            (LsLocalSocket      *self,
                                                              GBytes             *message,
                                                              GError            **error);
LS_AVAILABLE_IN_1_2
GBytes             *ls_local_socket_read_message             (LsLocalSocket      *self,
                                                              GError            **error);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_can_read_message         (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
guint               ls_local_socket_get_max_message_size     (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_set_max_message_size     (LsLocalSocket      *self,
                                                              guint               size);

LS_AVAILABLE_IN_1_2
void                ls_local_socket_connect_to_server_async  (LsLocalSocket       *self,
                                                              const char          *name,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_connect_to_server_finish (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_read_bytes_async         (LsLocalSocket       *self,
                                                              gsize                count,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
GBytes             *ls_local_socket_read_bytes_finish        (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_read_line_async          (LsLocalSocket       *self,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
GBytes             *ls_local_socket_read_line_finish         (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_read_message_async       (LsLocalSocket       *self,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
GBytes             *ls_local_socket_read_message_finish      (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_write_all_async          (LsLocalSocket       *self,
                                                              GBytes              *bytes,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_write_all_finish         (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_write_message_async      (LsLocalSocket       *self,
                                                              GBytes              *message,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_write_message_finish     (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_disconnect_async         (LsLocalSocket       *self,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_disconnect_finish        (LsLocalSocket       *self,
                                                              GAsyncResult        *result,
                                                              GError             **error);

LS_AVAILABLE_IN_1_2
void                ls_local_socket_connect_to_address       (LsLocalSocket      *self,
                                                              GSocketAddress     *address);
LS_AVAILABLE_IN_1_2
GSocketAddress     *ls_local_socket_get_local_address        (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
GSocketAddress     *ls_local_socket_get_remote_address       (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
GSocket            *ls_local_socket_get_socket               (LsLocalSocket      *self);

LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_write_with_fds           (LsLocalSocket      *self,
                                                              GBytes             *data,
                                                              GUnixFDList        *fd_list,
                                                              GError            **error);
LS_AVAILABLE_IN_1_2
GUnixFDList        *ls_local_socket_take_fds                 (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
gboolean            ls_local_socket_get_accept_fds           (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_set_accept_fds           (LsLocalSocket      *self,
                                                              gboolean            accept);

LS_AVAILABLE_IN_1_2
GIOStream          *ls_local_socket_get_io_stream            (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
guint               ls_local_socket_get_write_high_water     (LsLocalSocket      *self);
LS_AVAILABLE_IN_1_2
void                ls_local_socket_set_write_high_water     (LsLocalSocket      *self,
                                                              guint               bytes);
LS_AVAILABLE_IN_1_2
GSocketConnection  *ls_local_socket_detach                   (LsLocalSocket      *self,
                                                              GError            **error);

G_END_DECLS
