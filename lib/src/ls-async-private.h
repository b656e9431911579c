/* ls-async-private.h: what the asynchronous calls of both classes share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-async-private.h is private to the library."
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* A pending operation must not keep its object alive, yet its GTask has the
 * object as source object (bindings call the _finish method on it). So the
 * task's reference is given back while the operation waits, and taken again
 * just before the task completes; GTask drops it when finalized. */
static inline gboolean
ls_async_borrow (GTask *task)
{
  g_object_unref (g_task_get_source_object (task));
  return TRUE;
}

static inline void
ls_async_give_back (GTask *task)
{
  g_object_ref (g_task_get_source_object (task));
}

/* A GTask for a call of @source_object tagged @source_tag, whose result,
 * once returned, is never turned into a cancellation: what it carries was
 * consumed (read from the buffer, accepted) and would be lost. */
GTask   *ls_async_task_new                  (gpointer             source_object,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data,
                                             gpointer             source_tag);

/* Fails @task (owned) from the main loop: GTask never completes a task
 * within the iteration that created it. */
void     ls_async_task_fail                 (GTask               *task,
                                             GError              *error);

/* Completes @task (owned) with %G_IO_ERROR_CANCELLED and returns TRUE if
 * its cancellable is already cancelled. */
gboolean ls_async_task_return_if_cancelled  (GTask               *task);

/* A source of @task's context that calls @on_cancelled (@data) when the
 * task's cancellable is cancelled, from any thread; NULL (nothing to pay)
 * when the call was given no cancellable. */
GSource *ls_async_cancel_source_new         (GTask               *task,
                                             gboolean           (*on_cancelled) (GCancellable *cancellable,
                                                                                 gpointer      data),
                                             gpointer             data);

/* Detaches and drops a source of ls_async_cancel_source_new() (nullable). */
void     ls_async_cancel_source_free        (GSource             *source);

/* Fails @task (owned) from an idle of its context: used while the source
 * object is being disposed, where no callback should run. */
void     ls_async_return_error_later        (GTask               *task,
                                             GError              *error);

G_END_DECLS
