/* ls-async.c: the GTask plumbing the asynchronous calls of both classes share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-async-private.h"

GTask *
ls_async_task_new (gpointer             source_object,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data,
                   gpointer             source_tag)
{
  GTask *task = g_task_new (source_object, cancellable, callback, user_data);

  /* The function, not GLib's macro: the macro would also name the task
   * "source_tag" (a g_strdup and a g_free per call, for a useless name). */
  (g_task_set_source_tag) (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);
  return task;
}

void
ls_async_task_fail (GTask  *task,
                    GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

gboolean
ls_async_task_return_if_cancelled (GTask *task)
{
  if (!g_task_return_error_if_cancelled (task))
    return FALSE;
  g_object_unref (task);
  return TRUE;
}

GSource *
ls_async_cancel_source_new (GTask     *task,
                            gboolean (*on_cancelled) (GCancellable *cancellable,
                                                      gpointer      data),
                            gpointer   data)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  GSource *source;

  if (cancellable == NULL)
    return NULL;
  /* Cancellation may come from any thread; the source brings it to the
   * task's context. */
  source = g_cancellable_source_new (cancellable);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) on_cancelled, data, NULL);
  g_source_attach (source, g_task_get_context (task));
  return source;
}

void
ls_async_cancel_source_free (GSource *source)
{
  if (source == NULL)
    return;
  g_source_destroy (source);
  g_source_unref (source);
}

typedef struct {
  GTask  *task;
  GError *error;
} LsAsyncLater;

static gboolean
later_cb (gpointer data)
{
  LsAsyncLater *later = data;

  g_task_return_error (later->task, g_steal_pointer (&later->error));
  return G_SOURCE_REMOVE;
}

static void
later_free (gpointer data)
{
  LsAsyncLater *later = data;

  g_clear_error (&later->error);
  g_object_unref (later->task);
  g_free (later);
}

void
ls_async_return_error_later (GTask  *task,
                             GError *error)
{
  LsAsyncLater *later = g_new (LsAsyncLater, 1);
  GSource *source = g_idle_source_new ();

  later->task = task;
  later->error = error;
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_callback (source, later_cb, later, later_free);
  g_source_set_static_name (source, "[ls] pending call of a disposed object");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}
