/* ls-async.c: what the asynchronous calls of both classes share: the GTask
 * plumbing of those that use GTask, and the cancellation hooks
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

/* Cancellation hooks ----------------------------------------------------- */

static LsCancelHook *
cancel_hook_ref (LsCancelHook *hook)
{
  g_atomic_int_inc (&hook->ref_count);
  return hook;
}

static void
cancel_hook_unref (gpointer data)
{
  LsCancelHook *hook = data;

  if (!g_atomic_int_dec_and_test (&hook->ref_count))
    return;
  g_object_unref (hook->cancellable);
  g_clear_pointer (&hook->context, g_main_context_unref);
  g_free (hook);
}

static void
cancel_hook_closure_notify (gpointer  data,
                            GClosure *closure)
{
  cancel_hook_unref (data);
}

/* In the owner's context: the owner may still be there. */
static gboolean
cancel_hook_fire (gpointer data)
{
  LsCancelHook *hook = data;

  if (hook->owner != NULL)
    hook->func (hook->owner, hook);
  return G_SOURCE_REMOVE;
}

/* In whatever thread cancelled: nothing of the owner is touched here. */
static void
cancel_hook_post (LsCancelHook *hook)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, cancel_hook_fire, cancel_hook_ref (hook), cancel_hook_unref);
  g_source_set_static_name (source, "[ls] cancellation");
  g_source_attach (source, hook->context);
  g_source_unref (source);
}

static void
on_cancelled_signal (GCancellable *cancellable,
                     gpointer      data)
{
  cancel_hook_post (data);
}

/* g_signal_handler_disconnect (), not g_cancellable_disconnect (): the
 * latter waits for a handler running in another thread, and deadlocks
 * when called from a "cancelled" handler of the same cancellable (an
 * application's handler that starts a call with another cancellable). The
 * closure holds its own reference, so a handler still running elsewhere
 * finds the hook alive; the owner is told it is gone by owner = NULL. */
static void
cancel_hook_drop (LsCancelHook *hook)
{
  if (hook->handler != 0)
    g_signal_handler_disconnect (hook->cancellable, hook->handler);
  hook->owner = NULL;
  cancel_hook_unref (hook);
}

LsCancelHook *
ls_cancel_hook_use (LsCancelHook     **hooks,
                    GCancellable      *cancellable,
                    GMainContext      *context,
                    LsCancelHookFunc   func,
                    gpointer           owner)
{
  LsCancelHook **link = hooks;
  LsCancelHook *hook;

  for (hook = *hooks; hook != NULL; hook = hook->next)
    if (G_LIKELY (hook->cancellable == cancellable))
      {
        hook->users++;
        return hook;
      }

  while (*link != NULL)
    {
      hook = *link;
      if (hook->users == 0)
        {
          *link = hook->next;
          cancel_hook_drop (hook);
        }
      else
        link = &hook->next;
    }

  hook = g_new0 (LsCancelHook, 1);
  hook->ref_count = 1;
  hook->cancellable = g_object_ref (cancellable);
  hook->func = func;
  hook->owner = owner;
  hook->users = 1;
  if (context != NULL)
    {
      hook->context = g_main_context_ref (context);
      hook->handler = g_signal_connect_data (cancellable, "cancelled",
                                             G_CALLBACK (on_cancelled_signal),
                                             cancel_hook_ref (hook), cancel_hook_closure_notify, 0);
      /* Cancelled before the handler was connected: it would never run. */
      if (g_cancellable_is_cancelled (cancellable))
        cancel_hook_post (hook);
    }
  hook->next = *hooks;
  *hooks = hook;
  return hook;
}

void
ls_cancel_hook_list_free (LsCancelHook **hooks)
{
  while (*hooks != NULL)
    {
      LsCancelHook *hook = *hooks;

      *hooks = hook->next;
      cancel_hook_drop (hook);
    }
}
