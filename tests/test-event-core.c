/* test-event-core.c: unit tests of the private event core (lib/src/ls-event-core.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Linked with the internal static library: watches on plain socketpairs,
 * no LsLocalSocket involved.
 */
#include "ls-event-core-private.h"
#include "ls-test-proc.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct
{
  LsEventCore *core;
  int          pair[2];
  LsWatch     *watch;
  guint        calls;
  LsWatchCondition last;
  gboolean     free_in_callback;
} Fixture;

static void
on_watch (gpointer owner, LsWatchCondition condition)
{
  Fixture *f = owner;

  f->calls++;
  f->last = condition;
  if (f->free_in_callback)
    g_clear_pointer (&f->watch, ls_watch_free);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, f->pair), ==, 0);
  f->core = ls_event_core_ref_for_context (NULL);
  g_assert_nonnull (f->core);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->watch, ls_watch_free);
  ls_event_core_unref (f->core);
  close (f->pair[0]);
  if (f->pair[1] >= 0)
    close (f->pair[1]);
}

static void
iterate (void)
{
  /* Enough for a ready event core to be dispatched. */
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
test_read_ready (Fixture *f, gconstpointer data)
{
  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_READ, on_watch, f);
  g_assert_nonnull (f->watch);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 0);

  g_assert_cmpint (write (f->pair[1], "x", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (f->calls, >, 0);
  g_assert_true (f->last & LS_WATCH_READ);
}

/* A watch that wants nothing leaves the set: even a dead peer does not
 * wake it (no busy loop). */
static void
test_no_interest_is_silent (Fixture *f, gconstpointer data)
{
  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_READ, on_watch, f);
  ls_watch_set_events (f->watch, 0);
  close (f->pair[1]);
  f->pair[1] = -1;
  iterate ();
  g_assert_cmpuint (f->calls, ==, 0);
}

/* LS_WATCH_HANGUP alone: no data is reported, but the peer's departure is. */
static void
test_hangup_interest (Fixture *f, gconstpointer data)
{
  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_HANGUP, on_watch, f);
  g_assert_cmpint (write (f->pair[1], "x", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 0);

  close (f->pair[1]);
  f->pair[1] = -1;
  iterate ();
  g_assert_cmpuint (f->calls, >, 0);
  g_assert_cmpint (f->last, ==, LS_WATCH_HANGUP);
}

/* Deferred callbacks run once, at the end of a dispatch. */
static void
test_defer (Fixture *f, gconstpointer data)
{
  f->watch = ls_watch_new (f->core, f->pair[0], 0, on_watch, f);
  ls_watch_defer (f->watch);
  ls_watch_defer (f->watch);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_cmpint (f->last, ==, LS_WATCH_DEFERRED);
}

/* A watch of no descriptor: only ls_watch_defer () calls it, from the
 * dispatch; deferring it again from its callback runs it again in the same
 * dispatch; it may free itself there, and a dead descriptor number (-1)
 * never reaches epoll. */
static void
on_deferred_only (gpointer owner, LsWatchCondition condition)
{
  Fixture *f = owner;

  f->calls++;
  f->last = condition;
  if (f->calls == 1)
    ls_watch_defer (f->watch);
  else
    g_clear_pointer (&f->watch, ls_watch_free);
}

static void
test_deferred_only (Fixture *f, gconstpointer data)
{
  f->watch = ls_watch_new_deferred_only (f->core, on_deferred_only, f);
  g_assert_nonnull (f->watch);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 0);
  ls_watch_defer (f->watch);
  g_assert_true (g_main_context_iteration (NULL, FALSE));
  g_assert_cmpuint (f->calls, ==, 2);
  g_assert_cmpint (f->last, ==, LS_WATCH_DEFERRED);
  g_assert_null (f->watch);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 2);
}

/* A callback may free its own watch; pending events for it are dropped. */
static void
test_free_in_callback (Fixture *f, gconstpointer data)
{
  f->free_in_callback = TRUE;
  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_READ, on_watch, f);
  ls_watch_defer (f->watch);
  g_assert_cmpint (write (f->pair[1], "x", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_null (f->watch);
}

/* A forked child that drops its copy of a watch must not take it out of
 * the epoll set it shares with the parent. */
static void
test_fork_child_free (Fixture *f, gconstpointer data)
{
  pid_t pid;

  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_READ, on_watch, f);
  iterate ();
  pid = ls_test_fork ();
  if (pid == 0)
    {
      ls_watch_free (f->watch);
      close (f->pair[0]);
      _exit (0);
    }
  ls_test_assert_child_ok (pid, 10000);

  g_assert_cmpint (write (f->pair[1], "x", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (f->calls, >, 0);
}

/* epoll watches open file descriptions, so freeing a watch must take the
 * descriptor out of the set itself: a dup() of it (or a forked child's
 * copy) keeps the description alive after close(), and its events would
 * otherwise reach the freed watch, or the watch that reuses its memory. */
static void
test_free_with_dup (Fixture *f, gconstpointer data)
{
  Fixture other = { 0 };
  int copy;

  f->watch = ls_watch_new (f->core, f->pair[0], LS_WATCH_READ, on_watch, f);
  copy = dup (f->pair[0]);
  g_assert_cmpint (copy, >=, 0);
  g_clear_pointer (&f->watch, ls_watch_free);

  /* Likely the same memory as the watch just freed. */
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, other.pair), ==, 0);
  other.watch = ls_watch_new (f->core, other.pair[0], LS_WATCH_READ, on_watch, &other);
  g_assert_nonnull (other.watch);

  g_assert_cmpint (write (f->pair[1], "x", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (f->calls, ==, 0);
  g_assert_cmpuint (other.calls, ==, 0);

  g_assert_cmpint (write (other.pair[1], "y", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (other.calls, >, 0);

  ls_watch_free (other.watch);
  close (other.pair[0]);
  close (other.pair[1]);
  close (copy);
}

/* Two ready watches in one batch; whichever runs first frees the other and
 * creates a third on a quiet descriptor. The freed watch's event, still in
 * the batch, is dropped: it must not reach the new watch (freed watches
 * are only reused once the dispatch is over). */
typedef struct
{
  LsEventCore *core;
  LsWatch     *watches[3];
  int          fds[3];
  guint        calls[3];
} Swap;

static Swap *swap_of[3];
static const guint swap_indices[3] = { 0, 1, 2 };

static void
on_swap (gpointer owner, LsWatchCondition condition)
{
  guint *index = owner;
  Swap *swap = swap_of[*index];
  char byte;

  swap->calls[*index]++;
  while (read (swap->fds[*index], &byte, 1) == 1)
    ;
  if (*index < 2 && swap->watches[2] == NULL)
    {
      guint victim = 1 - *index;

      g_clear_pointer (&swap->watches[victim], ls_watch_free);
      swap->watches[2] = ls_watch_new (swap->core, swap->fds[2], LS_WATCH_READ, on_swap,
                                       (gpointer) &swap_indices[2]);
    }
}

static void
test_free_and_new_in_dispatch (void)
{
  Swap swap = { ls_event_core_ref_for_context (NULL), { NULL }, { -1, -1, -1 }, { 0 } };
  int peers[3];

  for (guint i = 0; i < 3; i++)
    {
      int pair[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), ==, 0);
      swap.fds[i] = pair[0];
      peers[i] = pair[1];
      swap_of[i] = &swap;
    }
  for (guint i = 0; i < 2; i++)
    {
      swap.watches[i] = ls_watch_new (swap.core, swap.fds[i], LS_WATCH_READ, on_swap,
                                      (gpointer) &swap_indices[i]);
      g_assert_cmpint (write (peers[i], "x", 1), ==, 1);
    }

  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (swap.calls[0] + swap.calls[1], ==, 1);
  g_assert_nonnull (swap.watches[2]);
  g_assert_cmpuint (swap.calls[2], ==, 0);

  /* The new watch works. */
  g_assert_cmpint (write (peers[2], "z", 1), ==, 1);
  iterate ();
  g_assert_cmpuint (swap.calls[2], ==, 1);

  for (guint i = 0; i < 3; i++)
    {
      g_clear_pointer (&swap.watches[i], ls_watch_free);
      close (swap.fds[i]);
      close (peers[i]);
    }
  ls_event_core_unref (swap.core);
}

/* More watches than the core keeps for reuse come and go twice; every one
 * of the second generation hears its own descriptor only. */
static void
on_count (gpointer owner, LsWatchCondition condition)
{
  guint *calls = owner;

  (*calls)++;
}

static void
test_many_watches_reused (void)
{
  enum { N = 200 };
  LsEventCore *core = ls_event_core_ref_for_context (NULL);
  LsWatch *watches[N];
  int pairs[N][2];
  guint calls[N] = { 0 };

  for (guint i = 0; i < N; i++)
    {
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pairs[i]), ==, 0);
      watches[i] = ls_watch_new (core, pairs[i][0], LS_WATCH_READ, on_count, &calls[i]);
    }
  for (guint i = 0; i < N; i++)
    ls_watch_free (watches[i]);
  for (guint i = 0; i < N; i++)
    watches[i] = ls_watch_new (core, pairs[i][0], LS_WATCH_WRITE, on_count, &calls[i]);
  for (guint i = 0; i < N; i++)
    ls_watch_set_events (watches[i], i % 2 == 0 ? LS_WATCH_READ : 0);
  for (guint i = 0; i < N; i++)
    g_assert_cmpint (write (pairs[i][1], "x", 1), ==, 1);
  iterate ();
  for (guint i = 0; i < N; i++)
    {
      if (i % 2 == 0)
        g_assert_cmpuint (calls[i], >, 0);
      else
        g_assert_cmpuint (calls[i], ==, 0);
      ls_watch_free (watches[i]);
      close (pairs[i][0]);
      close (pairs[i][1]);
    }
  ls_event_core_unref (core);
}

/* A descriptor epoll refuses fails at ls_watch_new(), with or without
 * interest. */
static void
test_bad_descriptor (void)
{
  LsEventCore *core = ls_event_core_ref_for_context (NULL);
  int pair[2];
  guint calls = 0;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  close (pair[0]);
  close (pair[1]);
  errno = 0;
  g_assert_null (ls_watch_new (core, pair[0], LS_WATCH_READ, on_count, &calls));
  g_assert_cmpint (errno, ==, EBADF);
  errno = 0;
  g_assert_null (ls_watch_new (core, pair[0], 0, on_count, &calls));
  g_assert_cmpint (errno, ==, EBADF);
  ls_event_core_unref (core);
}

/* A dispatch gives the main loop back after its time budget, however many
 * descriptors are ready: all are served, over several iterations. */
typedef struct
{
  guint handled;
  gboolean *seen;
} Busy;

typedef struct
{
  Busy *busy;
  guint index;
  int   fd;
  LsWatch *watch;
} BusyWatch;

static void
on_busy (gpointer owner, LsWatchCondition condition)
{
  BusyWatch *w = owner;
  char byte;

  /* About 100 µs of work per descriptor. */
  g_usleep (100);
  if (read (w->fd, &byte, 1) == 1 && !w->busy->seen[w->index])
    {
      w->busy->seen[w->index] = TRUE;
      w->busy->handled++;
    }
}

static void
test_dispatch_budget (void)
{
  enum { N = 300 };
  LsEventCore *core = ls_event_core_ref_for_context (NULL);
  gboolean seen[N] = { FALSE };
  Busy busy = { 0, seen };
  BusyWatch watches[N];
  int peers[N];
  guint first, rounds = 0;

  for (guint i = 0; i < N; i++)
    {
      int pair[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), ==, 0);
      watches[i] = (BusyWatch) { &busy, i, pair[0], NULL };
      watches[i].watch = ls_watch_new (core, pair[0], LS_WATCH_READ, on_busy, &watches[i]);
      peers[i] = pair[1];
      g_assert_cmpint (write (pair[1], "x", 1), ==, 1);
    }

  g_main_context_iteration (NULL, FALSE);
  first = busy.handled;
  g_test_message ("first iteration served %u of %d ready descriptors", first, N);
  g_assert_cmpuint (first, >, 0);
  g_assert_cmpuint (first, <, N);
  while (busy.handled < N && rounds++ < 10000)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (busy.handled, ==, N);

  for (guint i = 0; i < N; i++)
    {
      ls_watch_free (watches[i].watch);
      close (watches[i].fd);
      close (peers[i]);
    }
  ls_event_core_unref (core);
}

/* References are taken and dropped without the lock unless one may be the
 * last: threads that create, share and drop the core of one context at
 * the same time must neither use a freed core nor leak one. */
static gpointer
ref_race_thread (gpointer data)
{
  GMainContext *context = data;

  for (guint i = 0; i < 2000; i++)
    {
      LsEventCore *core = ls_event_core_ref_for_context (context);

      g_assert_nonnull (core);
      g_assert_true (ls_event_core_get_context (core) == context);
      ls_event_core_unref (ls_event_core_ref (core));
      ls_event_core_unref (core);
    }
  return NULL;
}

static void
test_ref_race (void)
{
  GMainContext *context = g_main_context_new ();
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("ref-race", ref_race_thread, context);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_main_context_unref (context);
}

/* One core per context, shared, and gone with its last user. */
static void
test_core_per_context (void)
{
  GMainContext *other = g_main_context_new ();
  LsEventCore *a = ls_event_core_ref_for_context (NULL);
  LsEventCore *b = ls_event_core_ref_for_context (g_main_context_default ());
  LsEventCore *c = ls_event_core_ref_for_context (other);

  g_assert_true (a == b);
  g_assert_true (a != c);
  g_assert_true (ls_event_core_get_context (c) == other);
  ls_event_core_unref (a);
  ls_event_core_unref (b);
  ls_event_core_unref (c);
  g_main_context_unref (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/event-core/read-ready", Fixture, NULL, fixture_setup, test_read_ready, fixture_teardown);
  g_test_add ("/ls/event-core/no-interest-is-silent", Fixture, NULL, fixture_setup,
              test_no_interest_is_silent, fixture_teardown);
  g_test_add ("/ls/event-core/hangup-interest", Fixture, NULL, fixture_setup,
              test_hangup_interest, fixture_teardown);
  g_test_add ("/ls/event-core/defer", Fixture, NULL, fixture_setup, test_defer, fixture_teardown);
  g_test_add ("/ls/event-core/deferred-only", Fixture, NULL, fixture_setup, test_deferred_only,
              fixture_teardown);
  g_test_add ("/ls/event-core/free-in-callback", Fixture, NULL, fixture_setup,
              test_free_in_callback, fixture_teardown);
  g_test_add ("/ls/event-core/fork-child-free", Fixture, NULL, fixture_setup,
              test_fork_child_free, fixture_teardown);
  g_test_add ("/ls/event-core/free-with-dup", Fixture, NULL, fixture_setup,
              test_free_with_dup, fixture_teardown);
  g_test_add_func ("/ls/event-core/free-and-new-in-dispatch", test_free_and_new_in_dispatch);
  g_test_add_func ("/ls/event-core/many-watches-reused", test_many_watches_reused);
  g_test_add_func ("/ls/event-core/bad-descriptor", test_bad_descriptor);
  g_test_add_func ("/ls/event-core/dispatch-budget", test_dispatch_budget);
  g_test_add_func ("/ls/event-core/core-per-context", test_core_per_context);
  g_test_add_func ("/ls/event-core/ref-race", test_ref_race);

  return g_test_run ();
}
