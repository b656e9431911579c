/* ls-local-server-async.c: GIO-style asynchronous accept on LsLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-server.h"
#include "ls-async-private.h"

/* Built on the public API and signals of the server. A pending accept
 * does not hold the server alive (see ls_async_borrow ()). */

typedef struct _ServerAsync ServerAsync;

typedef struct {
  ServerAsync *sa;
  GTask       *task;
  GSource     *cancel_source;
  gboolean     borrowed;
} AcceptOp;

struct _ServerAsync
{
  LsLocalServer *server;   /* not owned: this lives in its qdata */
  GQueue         ops;      /* AcceptOp, first come first served */
  gboolean       disposed;
};

static GQuark server_async_quark;

static void
server_async_free (gpointer data)
{
  ServerAsync *sa = data;

  g_free (sa);
}

static void on_new_connection (LsLocalServer *server, ServerAsync *sa);
static void on_notify_listening (LsLocalServer *server, GParamSpec *pspec, ServerAsync *sa);
static void on_disposed (gpointer data, GObject *where_the_object_was);

static ServerAsync *
server_async_get (LsLocalServer *server)
{
  ServerAsync *sa;

  if (G_UNLIKELY (server_async_quark == 0))
    server_async_quark = g_quark_from_static_string ("ls-local-server-async");
  sa = g_object_get_qdata (G_OBJECT (server), server_async_quark);
  if (G_LIKELY (sa != NULL))
    return sa;

  sa = g_new0 (ServerAsync, 1);
  sa->server = server;
  g_object_set_qdata_full (G_OBJECT (server), server_async_quark, sa, server_async_free);
  g_object_weak_ref (G_OBJECT (server), on_disposed, sa);
  /* After the class handler (and any other): a handler that takes the
   * connection itself has priority over a pending accept. */
  g_signal_connect_after (server, "new-connection", G_CALLBACK (on_new_connection), sa);
  g_signal_connect (server, "notify::listening", G_CALLBACK (on_notify_listening), sa);
  return sa;
}

static GTask *
op_end (AcceptOp *op)
{
  GTask *task = op->task;

  ls_async_cancel_source_free (op->cancel_source);
  g_queue_remove (&op->sa->ops, op);
  if (op->borrowed)
    ls_async_give_back (task);
  g_free (op);
  return task;
}

static void
op_return_error (AcceptOp *op,
                 GError   *error)
{
  GTask *task = op_end (op);

  g_task_return_error (task, error);
  g_object_unref (task);
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  op_return_error (user_data, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "Operation was cancelled"));
  return G_SOURCE_REMOVE;
}

/* Hands queued connections to the waiting calls, first come first served. */
static void
serve (ServerAsync *sa)
{
  AcceptOp *op;

  g_object_ref (sa->server);
  while ((op = g_queue_peek_head (&sa->ops)) != NULL &&
         ls_local_server_has_pending_connections (sa->server))
    {
      LsLocalSocket *socket = ls_local_server_next_pending_connection (sa->server);
      GTask *task = op_end (op);

      g_task_return_pointer (task, socket, g_object_unref);
      g_object_unref (task);
    }
  g_object_unref (sa->server);
}

static void
on_new_connection (LsLocalServer *server,
                   ServerAsync   *sa)
{
  if (sa->ops.length > 0)
    serve (sa);
}

static void
on_notify_listening (LsLocalServer *server,
                     GParamSpec    *pspec,
                     ServerAsync   *sa)
{
  GQueue ops;
  AcceptOp *op;

  if (ls_local_server_is_listening (server) || sa->ops.length == 0)
    return;
  /* Calls made by the callbacks (after listening again) are not ours. */
  ops = sa->ops;
  g_queue_init (&sa->ops);
  g_object_ref (server);
  while ((op = g_queue_pop_head (&ops)) != NULL)
    op_return_error (op, g_error_new_literal (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                                              "Cannot accept a connection: the server was "
                                              "closed while waiting"));
  g_object_unref (server);
}

static void
on_disposed (gpointer  data,
             GObject  *where_the_object_was)
{
  ServerAsync *sa = data;
  AcceptOp *op;

  sa->disposed = TRUE;
  while ((op = g_queue_peek_head (&sa->ops)) != NULL)
    ls_async_return_error_later (op_end (op),
                                 g_error_new_literal (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                                                      "Cannot accept a connection: the server "
                                                      "was disposed while waiting"));
}

/**
 * ls_local_server_accept_async:
 * @self: a server
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when a connection is accepted
 * @user_data: (closure): data for @callback
 *
 * Takes the next pending connection, waiting for one if none is queued,
 * like `g_socket_listener_accept_async()`: the asynchronous twin of
 * [method@Ls.LocalServer.wait_for_new_connection] followed by
 * [method@Ls.LocalServer.next_pending_connection]. Several calls may be
 * pending; connections go to them in the order of the calls.
 * [signal@Ls.LocalServer::new-connection] is still emitted; a handler of it
 * that takes the connection takes it before a pending call.
 *
 * On a server that is not listening, or that is closed meanwhile, it fails
 * with %LS_SOCKET_ERROR_OPERATION; cancelled, with %G_IO_ERROR_CANCELLED.
 * @callback runs in the thread-default main context of the calling thread,
 * never before this call has returned.
 *
 * Since: 1.2
 */
void
ls_local_server_accept_async (LsLocalServer       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  ServerAsync *sa;
  GTask *task;
  AcceptOp *op;

  g_return_if_fail (LS_IS_LOCAL_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  sa = server_async_get (self);
  task = ls_async_task_new (self, cancellable, callback, user_data, ls_local_server_accept_async);
  if (ls_async_task_return_if_cancelled (task))
    return;
  if (sa->disposed)
    {
      ls_async_task_fail (task, g_error_new_literal (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                                                     "Cannot accept a connection: the server "
                                                     "was disposed"));
      return;
    }
  if (sa->ops.length == 0 && ls_local_server_has_pending_connections (self))
    {
      /* GTask defers the callback past this call. */
      g_task_return_pointer (task, ls_local_server_next_pending_connection (self),
                             g_object_unref);
      g_object_unref (task);
      return;
    }
  if (!ls_local_server_is_listening (self))
    {
      ls_async_task_fail (task, g_error_new_literal (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                                                     "Cannot accept a connection: the server "
                                                     "is not listening"));
      return;
    }

  op = g_new0 (AcceptOp, 1);
  op->sa = sa;
  op->task = task;
  op->borrowed = ls_async_borrow (task);
  op->cancel_source = ls_async_cancel_source_new (task, on_cancelled, op);
  g_queue_push_tail (&sa->ops, op);
}

/**
 * ls_local_server_accept_finish:
 * @self: a server
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.LocalServer.accept_async].
 *
 * Returns: (transfer full): the connection, or %NULL on error
 *
 * Since: 1.2
 */
LsLocalSocket *
ls_local_server_accept_finish (LsLocalServer  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        ls_local_server_accept_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
