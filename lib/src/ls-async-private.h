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

/* A pending accept does not keep its server alive (a server dropped while
 * it waits closes, and the call fails), yet its GTask has the server as
 * source object (bindings call the _finish method on it). So the task's
 * reference is given back while the call waits, and taken again just
 * before the task completes; GTask drops it when finalized. (The socket's
 * calls, ls-local-socket-async-ops.c, do keep their socket, as GIO's
 * do.) */
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

/* Cancellation at the cost of a check: a pending call does not connect to
 * its cancellable, its object does, once per cancellable it is given, and
 * keeps the connection while calls keep using that cancellable. When it is
 * cancelled (from any thread) @func (@owner, hook) runs from an idle of
 * @context, the owner's, which completes the calls of that cancellable
 * that are still pending; every completion also checks the cancellable
 * itself, so the idle only wakes calls that wait. */
typedef struct _LsCancelHook LsCancelHook;
typedef void (*LsCancelHookFunc) (gpointer      owner,
                                  LsCancelHook *hook);

struct _LsCancelHook
{
  gint              ref_count;     /* atomic: the owner's list, the signal handler, posted idles */
  GCancellable     *cancellable;   /* owned */
  gulong            handler;
  GMainContext     *context;       /* owned; NULL: not connected */
  LsCancelHookFunc  func;
  gpointer          owner;         /* NULL once the owner let it go (its context's thread only) */
  guint             users;         /* pending calls that use it */
  LsCancelHook     *next;
};

/* The hook of @cancellable in @hooks, made (and connected) if there is
 * none, with one more user. A new one replaces the hooks no call uses.
 * With @context NULL (no main loop serves the owner) it is not connected:
 * it only holds the cancellable, for the checks of the completions. */
LsCancelHook *ls_cancel_hook_use        (LsCancelHook     **hooks,
                                         GCancellable      *cancellable,
                                         GMainContext      *context,
                                         LsCancelHookFunc   func,
                                         gpointer           owner);

/* A call that used @hook (nullable) has completed. */
static inline void
ls_cancel_hook_unuse (LsCancelHook *hook)
{
  if (hook != NULL)
    hook->users--;
}

/* Whether the cancellable of @hook (nullable) is cancelled. */
static inline gboolean
ls_cancel_hook_is_cancelled (LsCancelHook *hook)
{
  return hook != NULL && g_cancellable_is_cancelled (hook->cancellable);
}

/* Disconnects every hook of @hooks: the owner is going. */
void          ls_cancel_hook_list_free  (LsCancelHook     **hooks);

/* The error of a cancelled call. */
static inline GError *
ls_async_cancelled_error (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled");
}

G_END_DECLS
