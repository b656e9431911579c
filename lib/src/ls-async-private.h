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

typedef struct {
  GTask  *task;
  GError *error;
} LsAsyncLater;

static gboolean
ls_async_later_cb (gpointer data)
{
  LsAsyncLater *later = data;

  g_task_return_error (later->task, g_steal_pointer (&later->error));
  return G_SOURCE_REMOVE;
}

static void
ls_async_later_free (gpointer data)
{
  LsAsyncLater *later = data;

  g_clear_error (&later->error);
  g_object_unref (later->task);
  g_free (later);
}

/* Fails @task (owned) from an idle of its context: used while the source
 * object is being disposed, where no callback should run. */
static inline void
ls_async_return_error_later (GTask  *task,
                             GError *error)
{
  LsAsyncLater *later = g_new (LsAsyncLater, 1);
  GSource *source = g_idle_source_new ();

  later->task = task;
  later->error = error;
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_callback (source, ls_async_later_cb, later, ls_async_later_free);
  g_source_set_static_name (source, "[ls] pending call of a disposed object");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

G_END_DECLS
