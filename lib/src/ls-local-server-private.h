/* ls-local-server-private.h: shared by the files that make up LsLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#ifndef LS_COMPILATION
# error "ls-local-server-private.h is private to the Ls library"
#endif

#include "ls-local-server.h"
#include "ls-event-core-private.h"
#include "ls-names-private.h"
#include "ls-socket-file-private.h"

G_BEGIN_DECLS

/* The instance state, shared by the class (ls-local-server.c: listening,
 * closing, accessors) and accepting (ls-local-server-accept.c). */
typedef struct
{
  int              fd;
  guint            listen_serial;     /* bumped by every listen */
  LsEventCore     *core;              /* NULL when no main loop serves the server */
  LsWatch         *watch;
  char            *server_name;       /* GRefStrings, shared with accepted sockets */
  char            *full_server_name;
  char            *accepted_name;     /* what accepted sockets report (Qt 6: basename) */
  LsSocketOptions  options;
  gboolean         reclaim_stale;
  gboolean         accept_fds;        /* what accepted sockets get */
  gint             max_pending;
  gint             backlog;

  /* Accepted connections nobody took yet, oldest first, each with the
   * queue's reference: a ring array that grows by doubling and is kept
   * until finalize, so that queuing a connection allocates nothing. */
  LsLocalSocket  **pending;
  guint            pending_head;      /* index of the oldest */
  guint            pending_count;
  guint            pending_size;      /* 0 or a power of two */

  LsSocketError    error;
  char            *error_string;

  /* The socket file we created, to remove only that one on close. */
  LsSocketFile     file;

  /* Accept back-off after running out of descriptors or memory. */
  GSource         *backoff_source;
  guint            backoff_ms;
} LsLocalServerPrivate;

/* ls-local-server.c */

LsLocalServerPrivate *ls_local_server_get_private (LsLocalServer *self);

/* Records @local_error (taken) for the Qt-style accessors, then propagates
 * it to @error. */
void     ls_local_server_take_error_internal     (LsLocalServer    *self,
                                                  GError          **error,
                                                  GError           *local_error);

/* Whether accepting must ask authorize-peer: a handler is connected or a
 * subclass overrides the class method. */
gboolean ls_local_server_should_authorize_peer   (LsLocalServer    *self);

/* Asks authorize-peer about the peer of @fd: TRUE to accept it. */
gboolean ls_local_server_emit_authorize_peer     (LsLocalServer    *self,
                                                  int               fd);

void     ls_local_server_emit_new_connection     (LsLocalServer    *self);

/* The names after a successful bind or adoption (GRefStrings, shared with
 * accepted sockets), and their release on close or failure. */
void     ls_local_server_set_names_internal      (LsLocalServer    *self,
                                                  const char       *server_name,
                                                  const char       *full_server_name,
                                                  gboolean          abstract);
void     ls_local_server_clear_names_internal    (LsLocalServer    *self);

/* Like Qt 6 listen (fd): %LS_SOCKET_OPTION_ABSTRACT_NAMESPACE follows the
 * address listened on (notifies socket-options when it changes). */
void     ls_local_server_follow_namespace_internal (LsLocalServer  *self,
                                                    gboolean        abstract);

/* Notifies listening, server-name and full-server-name. */
void     ls_local_server_notify_listening_internal (LsLocalServer  *self);

/* ls-local-server-listen.c */

/* listen () after the name is resolved: binds @address (not taken), names
 * the server @server_name, records any error. The caller has checked that
 * the server is not listening. */
gboolean ls_local_server_listen_address_internal (LsLocalServer    *self,
                                                  const LsAddress  *address,
                                                  const char       *server_name,
                                                  GError          **error);

/* ls-local-server-accept.c */

/* Polls the listening socket only while the queue has room and no
 * back-off runs. */
void     ls_local_server_update_watch            (LsLocalServer    *self);

/* The listening socket's LsWatchFunc: accepts what is waiting. */
void     ls_local_server_on_listen_ready         (gpointer          owner,
                                                  LsWatchCondition  condition);

/* The default incoming_connection: queues a socket for @socket_descriptor. */
void     ls_local_server_real_incoming_connection (LsLocalServer   *self,
                                                   int              socket_descriptor);

/* add_pending_connection () without its checks, taking @socket's
 * reference (the default incoming_connection hands its own over). */
void     ls_local_server_queue_connection        (LsLocalServer    *self,
                                                  LsLocalSocket    *socket);

/* For close (): ends a back-off; closes the connections nobody took. */
void     ls_local_server_stop_backoff            (LsLocalServer    *self);
void     ls_local_server_clear_pending           (LsLocalServer    *self);

/* For finalize (): drops what is left in the pending ring and frees it. */
void     ls_local_server_free_pending            (LsLocalServer    *self);

/* ls-local-server-gio.c */

/* Drops the GSocket that ls_local_server_listen_socket () adopted, if any;
 * called by close (). */
void     ls_local_server_release_gsocket         (LsLocalServer    *self);

G_END_DECLS
