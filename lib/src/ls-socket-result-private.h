/* ls-socket-result-private.h: the GAsyncResult of LsLocalSocket's
 * asynchronous calls, which also carries the call while it is pending
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-socket-result-private.h is private to the library."
#endif

#include <gio/gio.h>

#include "ls-async-private.h"

G_BEGIN_DECLS

/* One call of a socket from its start to its callback, and the
 * GAsyncResult the callback gets. It is a GObject (GAsyncResult is a
 * GInterface), but not one per call: once its callback has run and nobody
 * else holds it, it goes to a pool of the thread and the next call takes
 * it from there, so that a call allocates nothing. GIO treats results as
 * opaque; the _finish functions check that a result is one of these, of
 * their object and call. */
#define LS_TYPE_SOCKET_RESULT (ls_socket_result_get_type ())
G_DECLARE_FINAL_TYPE (LsSocketResult, ls_socket_result, LS, SOCKET_RESULT, GObject)

struct _LsSocketResult
{
  GObject              parent_instance;

  /* What GAsyncResult gives out. The source object is held from the call
   * until the result is finalized or recycled: a pending call keeps its
   * object alive until its callback has run (GIO's rule). */
  GObject             *source_object;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  gpointer             source_tag;

  /* The outcome, once returned. */
  GError              *error;
  GBytes              *bytes;
  gboolean             boolean;
  guint                returned : 1;
  guint                propagated : 1;
  guint                consumed : 1;   /* the outcome took buffered data */

  /* The call while it is pending, for the code that runs it
   * (ls-local-socket-async-ops.c). */
  GList                link;       /* in one queue at a time: pending or done */
  GQueue              *queue;      /* the queue of @link, or NULL */
  GMainContext        *context;    /* owned; set when the callback goes through an idle there */
  LsCancelHook        *hook;       /* the call's cancellable, or NULL */
  gint64               target;     /* writes, disconnections: the byte count that completes it */
  gsize                count;      /* read_bytes: the most bytes to return */
  guint                errors;     /* the socket's error count when the call started */
  guint                life;       /* the socket's connection (LsLocalSocket.life) then */
  guint                kind;

  LsSocketResult      *pool_next;  /* in the thread's pool of unused results */
};

/* A result for a call of @source_object (held), from the thread's pool or
 * new; the call's fields are zero. */
LsSocketResult *ls_socket_result_new              (gpointer             source_object,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data,
                                                   gpointer             source_tag);

/* The outcome (each takes what it is given). */
void            ls_socket_result_return_error     (LsSocketResult      *self,
                                                   GError              *error);
void            ls_socket_result_return_bytes     (LsSocketResult      *self,
                                                   GBytes              *bytes);
void            ls_socket_result_return_boolean   (LsSocketResult      *self,
                                                   gboolean             value);

/* Runs the callback, then lets the result go (to the pool when nobody
 * kept it). The source object may be finalized here. */
void            ls_socket_result_invoke           (LsSocketResult      *self);

/* ls_socket_result_invoke () from an idle of @context (any thread may
 * call this). */
void            ls_socket_result_invoke_in_idle   (LsSocketResult      *self,
                                                   GMainContext        *context);

/* For the _finish functions: whether @result is a returned result of a
 * call of @source_object tagged @source_tag. */
gboolean        ls_socket_result_is_valid         (GAsyncResult        *result,
                                                   gpointer             source_object,
                                                   gpointer             source_tag);
GBytes         *ls_socket_result_propagate_bytes  (GAsyncResult        *result,
                                                   GError             **error);
gboolean        ls_socket_result_propagate_boolean (GAsyncResult       *result,
                                                   GError             **error);

G_END_DECLS
