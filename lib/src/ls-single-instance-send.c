/* ls-single-instance-send.c: a secondary instance hands its message to the primary
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One operation: connect (again and again while nobody listens yet: the
 * primary may be between winning the election and listening), send one
 * frame, read the acknowledgement, hang up; all of it bounded by the
 * instance's timeout. The synchronous call runs the same operation in a
 * private main context, so that there is one state machine and the
 * caller's own main context is never iterated.
 */
#include "ls-single-instance-private.h"
#include "ls-local-socket.h"
#include "ls-error-private.h"

#include <string.h>

#define RETRY_FIRST_MS 5
#define RETRY_MAX_MS   100
/* The Ls acknowledgement is an empty frame; nothing bigger is read. */
#define MAX_ANSWER_SIZE 64
#define NOT_ACKNOWLEDGED \
  "the primary instance closed the connection without acknowledging the message"

typedef struct
{
  GTask          *task;
  LsLocalSocket  *socket;
  GBytes         *message;
  char           *name;
  char           *display_name;
  LsSingleInstanceProtocol protocol;
  int             timeout_ms;

  /* Ours: cancelled on the deadline or when the caller's is. */
  GCancellable   *cancellable;
  GCancellable   *caller_cancellable;
  gulong          caller_handler;
  GSource        *cancel_source;
  GSource        *deadline_source;
  GSource        *retry_source;
  guint           retry_ms;
  gboolean        timed_out;
  /* Why the last attempt to connect failed, for the timeout's message. */
  char           *last_failure;
  GByteArray     *answer;
} SendOp;

static void send_op_connect (SendOp *op);

static void
send_op_free (gpointer data)
{
  SendOp *op = data;

  if (op->caller_handler != 0)
    g_cancellable_disconnect (op->caller_cancellable, op->caller_handler);
  g_clear_object (&op->caller_cancellable);
  g_clear_object (&op->cancellable);
  g_clear_object (&op->socket);
  g_bytes_unref (op->message);
  g_free (op->name);
  g_free (op->display_name);
  g_free (op->last_failure);
  if (op->answer != NULL)
    g_byte_array_unref (op->answer);
  g_free (op);
}

static void
destroy_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* Completes the operation with @error (owned), or with success if NULL. */
static void
send_op_complete (SendOp *op,
                  GError *error)
{
  GTask *task = op->task;

  destroy_source (&op->cancel_source);
  destroy_source (&op->deadline_source);
  destroy_source (&op->retry_source);
  if (op->socket != NULL)
    ls_local_socket_close (op->socket);   /* both hang up */

  if (error == NULL)
    {
      g_task_return_boolean (task, TRUE);
    }
  else if (op->timed_out)
    {
      g_error_free (error);
      g_task_return_new_error (task, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_TIMEOUT,
                               "Cannot send a message to the primary instance “%s”: "
                               "Socket operation timed out (%s within %d ms)",
                               op->display_name,
                               op->last_failure != NULL ? op->last_failure
                                                        : "no acknowledgement",
                               op->timeout_ms);
    }
  else
    {
      g_task_return_error (task, error);
    }
  g_object_unref (task);
}

static void
send_op_fail (SendOp        *op,
              LsSocketError  code,
              const char    *reason)
{
  send_op_complete (op, ls_error_new_cannot (code, "send a message to the primary instance",
                                             op->display_name, "%s", reason));
}

/* A failure of a socket call: cancellation (ours or the caller's) as it
 * is, the rest named after this operation. */
static void
send_op_fail_with (SendOp *op,
                   GError *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_prefix_error (&error, "Cannot send a message to the primary instance “%s”: ", op->display_name);
  send_op_complete (op, error);
}

static gboolean
on_cancelled (GCancellable *cancellable,
              gpointer      data)
{
  SendOp *op = data;

  g_clear_pointer (&op->cancel_source, g_source_unref);
  /* A pending socket call completes by itself (cancelled); only a wait
   * between attempts must be ended here. */
  if (op->retry_source != NULL)
    {
      GError *error = NULL;

      g_cancellable_set_error_if_cancelled (cancellable, &error);
      send_op_complete (op, error);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
on_deadline (gpointer data)
{
  SendOp *op = data;

  g_clear_pointer (&op->deadline_source, g_source_unref);
  op->timed_out = TRUE;
  g_cancellable_cancel (op->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller,
                     GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

static gboolean
on_retry (gpointer data)
{
  SendOp *op = data;

  g_clear_pointer (&op->retry_source, g_source_unref);
  send_op_connect (op);
  return G_SOURCE_REMOVE;
}

static void
send_op_retry_later (SendOp *op)
{
  op->retry_source = g_timeout_source_new (op->retry_ms);
  g_source_set_callback (op->retry_source, on_retry, op, NULL);
  g_source_set_static_name (op->retry_source, "[ls] single instance: connect again");
  g_source_attach (op->retry_source, g_task_get_context (op->task));
  op->retry_ms = MIN (op->retry_ms * 2, RETRY_MAX_MS);
}

static void
on_answer_bytes (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  SendOp *op = data;
  GError *error = NULL;
  g_autoptr(GBytes) bytes = ls_local_socket_read_bytes_finish (op->socket, result, &error);
  gsize size;

  if (bytes == NULL)
    {
      send_op_fail_with (op, error);
      return;
    }
  size = g_bytes_get_size (bytes);
  if (size == 0)
    {
      send_op_fail (op, LS_SOCKET_ERROR_PEER_CLOSED, NOT_ACKNOWLEDGED);   /* end of stream */
      return;
    }
  g_byte_array_append (op->answer, g_bytes_get_data (bytes, NULL), size);
  if (op->answer->len < LS_QT_LOCAL_PEER_ACK_LEN)
    {
      ls_local_socket_read_bytes_async (op->socket, LS_QT_LOCAL_PEER_ACK_LEN - op->answer->len,
                                        op->cancellable, on_answer_bytes, op);
      return;
    }
  if (memcmp (op->answer->data, LS_QT_LOCAL_PEER_ACK, LS_QT_LOCAL_PEER_ACK_LEN) != 0)
    send_op_fail (op, LS_SOCKET_ERROR_CONNECTION,
                  "the primary instance answered something else than QtLocalPeer's “ack”");
  else
    send_op_complete (op, NULL);
}

static void
on_answer_frame (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  SendOp *op = data;
  GError *error = NULL;
  g_autoptr(GBytes) frame = ls_local_socket_read_message_finish (op->socket, result, &error);

  /* NULL without an error: the end of the stream. */
  if (frame == NULL && (error == NULL ||
                        g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED)))
    {
      g_clear_error (&error);
      send_op_fail (op, LS_SOCKET_ERROR_PEER_CLOSED, NOT_ACKNOWLEDGED);
      return;
    }
  if (frame == NULL)
    {
      send_op_fail_with (op, error);
      return;
    }
  if (g_bytes_get_size (frame) != 0)
    send_op_fail (op, LS_SOCKET_ERROR_CONNECTION,
                  "the primary instance answered something else than an acknowledgement");
  else
    send_op_complete (op, NULL);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  SendOp *op = data;
  GError *error = NULL;

  if (!ls_local_socket_connect_to_server_finish (op->socket, result, &error))
    {
      /* Nobody listens yet (or any more): the primary may be between its
       * election and its listen, or a crashed one's socket is still
       * there until the next primary replaces it. */
      if (g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND) ||
          g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_CONNECTION_REFUSED))
        {
          g_free (op->last_failure);
          op->last_failure = g_strdup_printf ("no primary instance listening: %s", error->message);
          g_error_free (error);
          g_clear_object (&op->socket);
          send_op_retry_later (op);
          return;
        }
      send_op_fail_with (op, error);
      return;
    }

  g_clear_pointer (&op->last_failure, g_free);
  /* One frame (QDataStream::writeBytes, in QtLocalPeer too). */
  if (!ls_local_socket_write_message (op->socket, op->message, &error))
    {
      send_op_fail_with (op, error);
      return;
    }
  if (op->protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER)
    {
      op->answer = g_byte_array_new ();
      ls_local_socket_read_bytes_async (op->socket, LS_QT_LOCAL_PEER_ACK_LEN,
                                        op->cancellable, on_answer_bytes, op);
    }
  else
    {
      ls_local_socket_set_max_message_size (op->socket, MAX_ANSWER_SIZE);
      ls_local_socket_read_message_async (op->socket, op->cancellable, on_answer_frame, op);
    }
}

static void
send_op_connect (SendOp *op)
{
  op->socket = ls_local_socket_new ();
  ls_local_socket_connect_to_server_async (op->socket, op->name, op->cancellable, on_connected, op);
}

/**
 * ls_single_instance_send_message_async:
 * @self: a secondary instance
 * @message: the message
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called once the primary has acknowledged the
 *   message, or the attempt failed
 * @user_data: (closure): data for @callback
 *
 * Does what [method@Ls.SingleInstance.send_message] does without
 * blocking, and calls @callback from the thread-default main context of the
 * calling thread, never before this call has returned. Call
 * [method@Ls.SingleInstance.send_message_finish] from it.
 *
 * Since: 1.2
 */
void
ls_single_instance_send_message_async (LsSingleInstance    *self,
                                       GBytes              *message,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  GTask *task;
  SendOp *op;

  g_return_if_fail (LS_IS_SINGLE_INSTANCE (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  (g_task_set_source_tag) (task, ls_single_instance_send_message_async);
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (ls_single_instance_get_role_internal (self) != LS_SINGLE_INSTANCE_ROLE_SECONDARY)
    {
      gboolean primary = ls_single_instance_is_primary (self);

      g_task_return_new_error (task, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                               "Cannot send a message to the primary instance “%s”: %s",
                               ls_single_instance_display_name_internal (self),
                               primary ? "this instance is the primary"
                                       : "this instance is not registered as a secondary");
      g_object_unref (task);
      return;
    }

  op = g_new0 (SendOp, 1);
  op->task = task;
  op->message = g_bytes_ref (message);
  op->name = g_strdup (ls_single_instance_get_server_name (self));
  op->display_name = g_strdup (ls_single_instance_display_name_internal (self));
  op->protocol = ls_single_instance_get_protocol (self);
  op->timeout_ms = ls_single_instance_get_timeout (self);
  op->retry_ms = RETRY_FIRST_MS;
  op->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, op, send_op_free);

  if (cancellable != NULL)
    {
      op->caller_cancellable = g_object_ref (cancellable);
      op->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                                  g_object_ref (op->cancellable), g_object_unref);
    }
  op->cancel_source = g_cancellable_source_new (op->cancellable);
  g_source_set_callback (op->cancel_source, (GSourceFunc) (void (*) (void)) on_cancelled, op, NULL);
  g_source_attach (op->cancel_source, g_task_get_context (task));
  if (op->timeout_ms >= 0)
    {
      op->deadline_source = g_timeout_source_new (op->timeout_ms);
      g_source_set_callback (op->deadline_source, on_deadline, op, NULL);
      g_source_set_static_name (op->deadline_source, "[ls] single instance: send timeout");
      g_source_attach (op->deadline_source, g_task_get_context (task));
    }

  send_op_connect (op);
}

/**
 * ls_single_instance_send_message_finish:
 * @self: an instance
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Ls.SingleInstance.send_message_async].
 *
 * Returns: as [method@Ls.SingleInstance.send_message]
 *
 * Since: 1.2
 */
gboolean
ls_single_instance_send_message_finish (LsSingleInstance  *self,
                                        GAsyncResult      *result,
                                        GError           **error)
{
  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ls_single_instance_send_message_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/**
 * ls_single_instance_send_message:
 * @self: a secondary instance
 * @message: the message
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @error: return location for an error
 *
 * Hands @message to the primary instance: connects — retrying while
 * nobody listens yet, as happens between the primary's election and its
 * listening, or while a crashed primary's socket waits to be replaced —,
 * sends the message as one frame and waits for the primary's
 * acknowledgement, then hangs up. All of it takes at most
 * [property@Ls.SingleInstance:timeout].
 *
 * With %LS_SINGLE_INSTANCE_PROTOCOL_LS the message and the acknowledgement
 * are Qt frames (a 32-bit big-endian length, then the bytes; the
 * acknowledgement is empty); with %LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER
 * the message is one frame and the acknowledgement the bytes `ack`, as
 * `QtLocalPeer::sendMessage()` expects.
 *
 * This call blocks; it does not run the caller's main context (it runs one
 * of its own), so call it before the application's main loop or use
 * [method@Ls.SingleInstance.send_message_async].
 *
 * Returns: %TRUE once the primary has acknowledged the message; %FALSE
 *   with @error set otherwise: %LS_SOCKET_ERROR_OPERATION when this
 *   instance is not a secondary, %LS_SOCKET_ERROR_SOCKET_TIMEOUT when no
 *   acknowledgement came in time, %LS_SOCKET_ERROR_PEER_CLOSED when the
 *   primary hung up without one, %LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE for a
 *   message of 0xFFFFFFFE bytes or more, %G_IO_ERROR_CANCELLED when
 *   cancelled
 *
 * Since: 1.2
 */
gboolean
ls_single_instance_send_message (LsSingleInstance  *self,
                                 GBytes            *message,
                                 GCancellable      *cancellable,
                                 GError           **error)
{
  g_autoptr(GMainContext) context = NULL;
  GAsyncResult *result = NULL;
  gboolean ok;

  g_return_val_if_fail (LS_IS_SINGLE_INSTANCE (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  ls_single_instance_send_message_async (self, message, cancellable, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  ok = ls_single_instance_send_message_finish (self, result, error);
  g_object_unref (result);
  return ok;
}
