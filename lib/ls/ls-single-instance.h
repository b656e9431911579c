/* ls-single-instance.h: one primary instance per id; later launches hand it a message
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <gio/gio.h>

#include "ls-version-macros.h"

G_BEGIN_DECLS

/**
 * LsSingleInstanceProtocol:
 * @LS_SINGLE_INSTANCE_PROTOCOL_LS: Ls's own: the socket is named after the
 *   id, a crashed primary's socket is reclaimed with
 *   [property@Ls.LocalServer:reclaim-stale], and the acknowledgement is an
 *   empty frame.
 * @LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER: the protocol of
 *   QtSingleApplication's `QtLocalPeer` on Linux: the socket name and the
 *   lock file it derives from the application id, one `QDataStream` frame
 *   and the three bytes `ack` as the answer. A Qt program built with
 *   QtSingleApplication (or a vendored `QtLocalPeer`) and an Ls program with
 *   the same id find each other, in either role.
 *
 * How a [class@Ls.SingleInstance] names its socket, elects its primary and
 * frames its messages.
 *
 * Since: 1.2
 */
typedef enum
{
  LS_SINGLE_INSTANCE_PROTOCOL_LS            = 0,
  LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER = 1,
} LsSingleInstanceProtocol;

#define LS_TYPE_SINGLE_INSTANCE_PROTOCOL (ls_single_instance_protocol_get_type ())

LS_AVAILABLE_IN_1_2
GType ls_single_instance_protocol_get_type (void) G_GNUC_CONST;

#define LS_TYPE_SINGLE_INSTANCE (ls_single_instance_get_type ())

LS_AVAILABLE_IN_1_2
G_DECLARE_FINAL_TYPE (LsSingleInstance, ls_single_instance, LS, SINGLE_INSTANCE, GObject)

/**
 * LsSingleInstanceClass:
 * @parent_class: the parent class.
 *
 * The class structure of [class@Ls.SingleInstance]. The type is final:
 * there is nothing to override.
 *
 * Since: 1.2
 */

LS_AVAILABLE_IN_1_2
LsSingleInstance         *ls_single_instance_new                  (const char                *id,
                                                                   LsSingleInstanceProtocol   protocol);
LS_AVAILABLE_IN_1_2
const char               *ls_single_instance_get_id               (LsSingleInstance          *self);
LS_AVAILABLE_IN_1_2
LsSingleInstanceProtocol  ls_single_instance_get_protocol         (LsSingleInstance          *self);
LS_AVAILABLE_IN_1_2
const char               *ls_single_instance_get_server_name      (LsSingleInstance          *self);
LS_AVAILABLE_IN_1_2
int                       ls_single_instance_get_timeout          (LsSingleInstance          *self);
LS_AVAILABLE_IN_1_2
void                      ls_single_instance_set_timeout          (LsSingleInstance          *self,
                                                                   int                        msec);
LS_AVAILABLE_IN_1_2
gboolean                  ls_single_instance_is_primary           (LsSingleInstance          *self);

LS_AVAILABLE_IN_1_2
gboolean                  ls_single_instance_register             (LsSingleInstance          *self,
                                                                   GCancellable              *cancellable,
                                                                   GError                   **error);
LS_AVAILABLE_IN_1_2
void                      ls_single_instance_register_async       (LsSingleInstance          *self,
                                                                   GCancellable              *cancellable,
                                                                   GAsyncReadyCallback        callback,
                                                                   gpointer                   user_data);
LS_AVAILABLE_IN_1_2
gboolean                  ls_single_instance_register_finish      (LsSingleInstance          *self,
                                                                   GAsyncResult              *result,
                                                                   GError                   **error);

LS_AVAILABLE_IN_1_2
gboolean                  ls_single_instance_send_message         (LsSingleInstance          *self,
                                                                   GBytes                    *message,
                                                                   GCancellable              *cancellable,
                                                                   GError                   **error);
LS_AVAILABLE_IN_1_2
void                      ls_single_instance_send_message_async   (LsSingleInstance          *self,
                                                                   GBytes                    *message,
                                                                   GCancellable              *cancellable,
                                                                   GAsyncReadyCallback        callback,
                                                                   gpointer                   user_data);
LS_AVAILABLE_IN_1_2
gboolean                  ls_single_instance_send_message_finish  (LsSingleInstance          *self,
                                                                   GAsyncResult              *result,
                                                                   GError                   **error);

LS_AVAILABLE_IN_1_2
void                      ls_single_instance_release              (LsSingleInstance          *self);

G_END_DECLS
