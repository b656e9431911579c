/* ls-local-socket-async-private.h: the pending operations behind the
 * asynchronous calls of LsLocalSocket (ls-local-socket-async-ops.c), for
 * their public entry points (ls-local-socket-async.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-async-private.h is private to the library."
#endif

#include "ls-local-socket.h"

G_BEGIN_DECLS

typedef enum {
  OP_READ_BYTES,
  OP_READ_LINE,
  OP_READ_MESSAGE,
  OP_WRITE,
  OP_DISCONNECT,
  OP_CONNECT,
} SocketOpKind;

typedef struct _SocketAsync SocketAsync;

typedef struct {
  SocketAsync  *sa;
  GTask        *task;
  GSource      *cancel_source;
  SocketOpKind  kind;
  gboolean      borrowed;     /* the task's reference on the socket was given back */
  gsize         count;        /* OP_READ_BYTES */
  gint64        target;       /* OP_WRITE, OP_DISCONNECT: sa->written that completes it */
  guint         errors;       /* sa->errors when the operation started */
  GQueue       *queue;        /* the queue that holds @link (writes, disconnections) */
  GList         link;         /* no allocation per queued operation */
} SocketOp;

struct _SocketAsync
{
  LsLocalSocket *socket;     /* not owned: this lives in its qdata */
  SocketOp      *read_op;
  SocketOp      *connect_op;
  GQueue         write_ops;  /* in target order */
  GQueue         disconnect_ops;
  gint64         written;    /* bytes-written total since this exists */
  guint          errors;     /* error-occurred emissions since this exists */
  char          *name;       /* for messages: the names go before UNCONNECTED */
  LsLocalSocketState last_state;
  guint          input_ended : 1;  /* nothing more will arrive: reads see the end */
  guint          closed : 1;       /* close() or abort(): the read side is gone */
  guint          disposed : 1;
};

static inline const char *
socket_async_display_name (SocketAsync *sa)
{
  return sa->name != NULL ? sa->name : "";
}

/* The asynchronous state of @socket, made (and hooked to its signals) by
 * the first call. */
SocketAsync *ls_socket_async_get            (LsLocalSocket *socket);

/* Registers a pending operation of @task (owned) on @sa; the caller links
 * it (read_op, connect_op or a queue). */
SocketOp    *ls_socket_op_new               (SocketAsync   *sa,
                                             SocketOpKind   kind,
                                             GTask         *task);

/* Appends @op to @queue (sa->write_ops or sa->disconnect_ops). */
void         ls_socket_op_enqueue           (SocketOp      *op,
                                             GQueue        *queue);

/* Completes the pending read if it can be. */
void         ls_socket_async_read_try       (SocketAsync   *sa);

/* What the socket recorded for its last failure, as a GError; @fallback
 * explains it when the socket recorded nothing. */
GError      *ls_socket_async_recorded_error (SocketAsync   *sa,
                                             const char    *verb,
                                             const char    *fallback);

G_END_DECLS
