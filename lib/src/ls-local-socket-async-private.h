/* ls-local-socket-async-private.h: the pending calls behind the
 * asynchronous calls of LsLocalSocket (ls-local-socket-async-ops.c), for
 * their public entry points (ls-local-socket-async.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-local-socket-async-private.h is private to the library."
#endif

#include "ls-local-socket-private.h"
#include "ls-socket-result-private.h"

G_BEGIN_DECLS

typedef enum {
  OP_READ_BYTES,
  OP_READ_LINE,
  OP_READ_MESSAGE,
  OP_WRITE,
  OP_DISCONNECT,
  OP_CONNECT,
} SocketOpKind;

/* A call is an LsSocketResult from its start: it waits in read_op,
 * connect_op, write_ops or disconnect_ops, is returned there by the
 * socket's events, and then waits in done until the dispatch runs its
 * callback. */
typedef struct _SocketAsync
{
  LsLocalSocket  *socket;        /* not owned: this lives in its qdata */
  /* The core of the main context of the first call, whose dispatch runs
   * the callbacks (dispatch: a watch of no descriptor there); NULL in a
   * thread no main loop serves, where every callback goes through an
   * idle. */
  LsEventCore    *core;
  LsWatch        *dispatch;
  LsSocketResult *read_op;
  LsSocketResult *connect_op;
  GQueue          write_ops;      /* in target order */
  GQueue          disconnect_ops;
  GQueue          done;           /* returned, callbacks due */
  LsCancelHook   *hooks;
  gint64          written;        /* bytes-written total since this exists */
  guint           errors;         /* error-occurred emissions since this exists */
  guint           in_call;        /* entry points running: what they return goes through an idle */
  char           *name;           /* for messages: the names go before UNCONNECTED */
  LsLocalSocketState last_state;
  guint           input_ended : 1;  /* nothing more will arrive: reads see the end */
  guint           closed : 1;       /* close() or abort(): the read side is gone */
  guint           disposed : 1;
} SocketAsync;

/* The name messages mention: the socket's own while it has one. */
static inline const char *
socket_async_display_name (SocketAsync *sa)
{
  const char *name = ls_local_socket_current_name_internal (sa->socket);

  if (name != NULL && *name != '\0')
    return name;
  return sa->name != NULL ? sa->name : "";
}

/* Starts a call of @socket: the result that carries it, with its
 * cancellable hooked and its context noted; NULL when the call has
 * already failed (cancelled, or the socket was disposed), in which case
 * its callback is on its way. Every entry point brackets its work with
 * ls_socket_async_call_begin () and ls_socket_async_call_end () (@sa is
 * set by the first). */
LsSocketResult *ls_socket_async_call_begin   (LsLocalSocket        *socket,
                                              SocketAsync         **sa,
                                              SocketOpKind          kind,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data,
                                              gpointer              source_tag);

static inline void
ls_socket_async_call_end (SocketAsync *sa)
{
  sa->in_call--;
}

/* Fails @op, just started (the call ends with it): its callback comes
 * from an idle. */
void            ls_socket_async_call_fail    (SocketAsync          *sa,
                                              LsSocketResult       *op,
                                              GError               *error);

/* Returns @op: its outcome is set, it leaves its slot or queue, and its
 * callback is scheduled (never run from here). */
void            ls_socket_op_return_error    (SocketAsync          *sa,
                                              LsSocketResult       *op,
                                              GError               *error);
/* @bytes (owned, nullable) took buffered data when @consumed. */
void            ls_socket_op_return_bytes    (SocketAsync          *sa,
                                              LsSocketResult       *op,
                                              GBytes               *bytes,
                                              gboolean              consumed);
void            ls_socket_op_return_boolean  (SocketAsync          *sa,
                                              LsSocketResult       *op,
                                              gboolean              value);

/* Appends @op to @queue (sa->write_ops or sa->disconnect_ops). */
void            ls_socket_op_enqueue         (LsSocketResult       *op,
                                              GQueue               *queue);

/* Completes the pending read if it can be. */
void            ls_socket_async_read_try     (SocketAsync          *sa);

/* What the socket recorded for its last failure, as a GError; @fallback
 * explains it when the socket recorded nothing. */
GError         *ls_socket_async_recorded_error (SocketAsync        *sa,
                                                const char         *verb,
                                                const char         *fallback);

G_END_DECLS
