/* ls-event-core.c: one epoll-backed GSource per GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GMainContext polls every source fd on every iteration, which makes each
 * iteration O(open connections). Instead every Ls object on a context
 * registers its descriptor in one epoll instance, and the context polls only
 * that epoll fd: an iteration costs O(ready descriptors).
 */
#include "ls-event-core-private.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_EVENTS_PER_DISPATCH 256

/* A dispatch keeps polling epoll (without blocking) while that finds work,
 * for at most this many rounds, so other sources still get their turn. */
#define MAX_ROUNDS_PER_DISPATCH 32
/* Re-polling pays when it finds work often enough (a miss costs one
 * epoll_wait(), a hit saves a main loop iteration), so only after this
 * many misses in a row do dispatches start skipping it: 1, 2, 4, ... up to
 * MAX_REPOLL_BACKOFF dispatches. */
#define REPOLL_MISSES_BEFORE_BACKOFF 4
#define MAX_REPOLL_BACKOFF 64
/* However much work is waiting, a dispatch returns to the main loop after
 * about this long, so that timers and other sources (a GTK frame clock)
 * are not starved by a thousand busy peers. What is left stays ready in
 * the (level-triggered) epoll set for the next iteration. */
#define DISPATCH_BUDGET_US 2000
/* The budget is kept between rounds; within a round (the events of one
 * epoll_wait) the dispatch stops between two descriptors only once this
 * long has passed, for handlers slow enough to make one round long.
 * Cutting a round short is expensive: the next epoll_wait reports the
 * left-over descriptors again, re-checking each, and the clock is wall
 * time, so a process that shares its CPU with its peers (preempted
 * whenever it wakes one) found its budget spent a few events into a
 * round. Measured with 1,000 clients on the server's CPU, cutting at
 * 2 ms cost 10 % of the round trips (bench/results/rule-cost.md). */
#define DISPATCH_ROUND_CUT_US (2 * DISPATCH_BUDGET_US)
/* Reading the clock costs about as much as handling a small event, so the
 * budget is checked every this many events. It starts when the first poll
 * of a dispatch finds several descriptors ready; a dispatch that finds one
 * at a time (a ping-pong, a connection's set-up) reads the clock only at
 * its 8th, 16th, ... event, and its budget starts there. */
#define EVENTS_PER_CLOCK_CHECK 8
/* Freed watches kept for the next ls_watch_new(): a connection that comes
 * and goes costs no allocation. A burst of closes keeps at most this many. */
#define MAX_SPARE_WATCHES 64

/* Where the dispatch budget stands: events handled so far, once the first
 * clock check has run when the time is up, and whether a check found it
 * up (the dispatch then ends with the current round). */
typedef struct
{
  guint    events;
  gint64   deadline;
  gboolean spent;
} DispatchBudget;

typedef struct
{
  GSource      source;
  LsEventCore *core;
} LsEventSource;

struct _LsEventCore
{
  /* Atomic; reaching zero (and the lookup in cores) under cores_lock. */
  gint          ref_count;
  GMainContext *context;
  GSource      *source;
  int           epoll_fd;
  gpointer      epoll_fd_tag;
  guint         fork_generation;  /* of the process that made epoll_fd */
  LsWatch      *watches;          /* every live watch, to re-register after fork */
  LsWatch      *deferred_head;
  LsWatch      *deferred_tail;
  LsWatch      *graveyard;     /* freed while a dispatch or the deferred list
                                * may still point at them */
  LsWatch      *spare;         /* freed, for reuse by ls_watch_new() */
  guint         n_spare;
  gboolean      woken;         /* ls_watch_defer() set a ready time */
  guint         dispatching;
  guint         watches_added;  /* ever; a change ends the re-polling */
  guint         repoll_misses;  /* re-polls in a row that found nothing */
  guint         repoll_skip;    /* dispatches left that do not re-poll */
  guint         repoll_backoff; /* the next repoll_skip after a miss */
  guint         direct_polls;   /* descriptors polled outside epoll (claimed) */
};

/* One core per context; objects of different threads look theirs up here. */
static GMutex      cores_lock;
static GHashTable *cores;

/* A child of fork() shares the parent's epoll instance: any epoll_ctl() it
 * made there would change what the parent hears (a child dropping its copy
 * of a connection would make the parent's go deaf). So a core notices that
 * it is in a child and moves to an epoll instance of its own first. A
 * counter bumped by an atfork handler spares getpid() on every call. */
static volatile guint fork_generation;

static void
on_fork_child (void)
{
  fork_generation++;
}

static void
ensure_fork_handler (void)
{
  static gsize registered;

  if (g_once_init_enter (&registered))
    {
      pthread_atfork (NULL, NULL, on_fork_child);
      g_once_init_leave (&registered, 1);
    }
}

static void rehome_after_fork (LsEventCore *core);

static inline void
check_fork (LsEventCore *core)
{
  if (G_UNLIKELY (core->fork_generation != fork_generation))
    rehome_after_fork (core);
}

gboolean
ls_event_core_thread_is_served (void)
{
  if (g_main_context_get_thread_default () != NULL)
    return TRUE;
  if (syscall (SYS_gettid) == getpid ())
    return TRUE;
  return g_main_context_is_owner (g_main_context_default ());
}

static guint32
epoll_events_for (LsWatchCondition events)
{
  guint32 mask = 0;

  if (events & LS_WATCH_READ)
    mask |= EPOLLIN | EPOLLRDHUP;
  if (events & LS_WATCH_WRITE)
    mask |= EPOLLOUT;
  return mask;
}

static void
run_deferred (LsEventCore *core)
{
  LsWatch *watch;

  /* Take the list: callbacks may defer again, which then runs next time. */
  watch = core->deferred_head;
  core->deferred_head = core->deferred_tail = NULL;
  while (watch != NULL)
    {
      LsWatch *next = watch->next_deferred;

      watch->next_deferred = NULL;
      watch->deferred = FALSE;
      if (!watch->freed)
        watch->func (watch->owner, LS_WATCH_DEFERRED);
      watch = next;
    }
}

/* Keeps @watch (freed, in no list) for reuse, or frees it. */
static void
recycle_watch (LsEventCore *core,
               LsWatch     *watch)
{
  if (core->n_spare >= MAX_SPARE_WATCHES)
    {
      g_free (watch);
      return;
    }
  watch->next = core->spare;
  core->spare = watch;
  core->n_spare++;
}

/* Once no dispatch runs and the deferred list is empty, nothing points at
 * the watches freed meanwhile any more. */
static void
bury_graveyard (LsEventCore *core)
{
  LsWatch *watch = core->graveyard;

  core->graveyard = NULL;
  while (watch != NULL)
    {
      LsWatch *next = watch->next;

      recycle_watch (core, watch);
      watch = next;
    }
}

static void
free_watch_list (LsWatch *watch)
{
  while (watch != NULL)
    {
      LsWatch *next = watch->next;

      g_free (watch);
      watch = next;
    }
}

/* Waits for nothing: returns the ready events, or 0 (also on error). */
static int
poll_ready (LsEventCore        *core,
            struct epoll_event *events,
            int                 max_events)
{
  int n;

  do
    n = epoll_wait (core->epoll_fd, events, max_events, 0);
  while (n < 0 && errno == EINTR);
  return MAX (n, 0);
}

/* Counts one handled event and notes when the budget is spent; FALSE
 * once the round must be cut short (DISPATCH_ROUND_CUT_US). */
static gboolean
budget_left (DispatchBudget *budget)
{
  gint64 now;

  if (++budget->events % EVENTS_PER_CLOCK_CHECK != 0)
    return TRUE;
  now = g_get_monotonic_time ();
  if (budget->deadline == 0)
    budget->deadline = now + DISPATCH_BUDGET_US;
  budget->spent = now >= budget->deadline;
  return now < budget->deadline + (DISPATCH_ROUND_CUT_US - DISPATCH_BUDGET_US);
}

/* Runs the callbacks of @events until the round must be cut short;
 * returns FALSE if it was (the rest stays ready in epoll). */
static gboolean
handle_events (struct epoll_event *events,
               int                 n,
               DispatchBudget     *budget)
{
  for (int i = 0; i < n; i++)
    {
      LsWatch *watch = events[i].data.ptr;
      LsWatchCondition condition = 0;

      /* A callback earlier in this batch may have freed this watch. */
      if (watch->freed)
        continue;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        condition |= LS_WATCH_READ;
      if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        condition |= LS_WATCH_WRITE;
      if (events[i].events & (EPOLLHUP | EPOLLERR))
        condition |= LS_WATCH_HANGUP;
      condition &= watch->events;
      if (condition != 0)
        watch->func (watch->owner, condition);
      if (!budget_left (budget) && i + 1 < n)
        return FALSE;
    }
  return TRUE;
}

/* Whether to poll epoll again before returning to the main loop. When the
 * peer runs on the same CPU (the common case for local IPC), its answer is
 * usually queued by the time our writes return: taking it here costs one
 * epoll_wait() instead of a main-loop iteration (prepare, poll(), check,
 * epoll_wait()). When it is not, the re-poll is a wasted syscall, so after
 * a run of misses it is skipped for a growing number of dispatches. */
static gboolean
repoll_wanted (LsEventCore *core)
{
  if (core->repoll_skip == 0)
    return TRUE;
  core->repoll_skip--;
  return FALSE;
}

static void
repoll_result (LsEventCore *core,
               gboolean     found)
{
  if (found)
    {
      core->repoll_misses = 0;
      core->repoll_backoff = 0;
    }
  else if (++core->repoll_misses >= REPOLL_MISSES_BEFORE_BACKOFF)
    {
      core->repoll_backoff = CLAMP (core->repoll_backoff * 2, 1, MAX_REPOLL_BACKOFF);
      core->repoll_skip = core->repoll_backoff;
    }
}

static gboolean
ls_event_source_dispatch (GSource     *source,
                          GSourceFunc  callback,
                          gpointer     user_data)
{
  LsEventCore *core = ((LsEventSource *) source)->core;
  struct epoll_event events[MAX_EVENTS_PER_DISPATCH];
  guint watches_added = core->watches_added;
  DispatchBudget budget = { 0, 0, FALSE };
  gboolean in_time;
  int n;

  if (core->woken)
    {
      core->woken = FALSE;
      g_source_set_ready_time (source, -1);
    }
  check_fork (core);

  /* A callback may drop the last object, and with it the core. */
  ls_event_core_ref (core);
  core->dispatching++;

  n = poll_ready (core, events, G_N_ELEMENTS (events));
  if (n > 1)
    budget.deadline = g_get_monotonic_time () + DISPATCH_BUDGET_US;
  for (guint round = 1; ; round++)
    {
      in_time = handle_events (events, n, &budget);

      /* Deferred work (mostly: flushing what ready-read handlers wrote)
       * runs after all reads of this batch, so one round writes once per
       * socket. */
      while (core->deferred_head != NULL)
        run_deferred (core);

      /* A socket accepted in this dispatch is read from the next main-loop
       * iteration on, as in Qt: the application that takes it in
       * new-connection and then waits for ready-read must see that data
       * arrive, not find it already read. */
      if (n == 0 || !in_time || round == MAX_ROUNDS_PER_DISPATCH ||
          watches_added != core->watches_added || !repoll_wanted (core) || budget.spent)
        break;
      n = poll_ready (core, events, G_N_ELEMENTS (events));
      repoll_result (core, n > 0);
    }

  if (--core->dispatching == 0 && core->graveyard != NULL)
    bury_graveyard (core);
  ls_event_core_unref (core);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs ls_event_source_funcs = {
  .dispatch = ls_event_source_dispatch,
};

static LsEventCore *
ls_event_core_new (GMainContext *context)
{
  LsEventCore *core;
  int epoll_fd;

  ensure_fork_handler ();
  epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (epoll_fd < 0)
    return NULL;

  core = g_new0 (LsEventCore, 1);
  core->ref_count = 1;
  core->context = g_main_context_ref (context);
  core->epoll_fd = epoll_fd;
  core->fork_generation = fork_generation;
  core->source = g_source_new (&ls_event_source_funcs, sizeof (LsEventSource));
  ((LsEventSource *) core->source)->core = core;
  g_source_set_static_name (core->source, "[ls] event core");
  /* GLib blocks a non-recursive source while dispatching it by removing
   * its fd from the poll set and re-adding it afterwards, which wakes the
   * context twice per dispatch (three syscalls). The dispatch copes with
   * nesting, so allow recursion instead. */
  g_source_set_can_recurse (core->source, TRUE);
  core->epoll_fd_tag = g_source_add_unix_fd (core->source, epoll_fd, G_IO_IN);
  g_source_attach (core->source, context);
  return core;
}

/* In a child of fork(): leave the parent's epoll instance alone, make one
 * of our own and register our live watches there. A watch whose descriptor
 * the child closed without telling us fails to register and stays silent. */
static void
rehome_after_fork (LsEventCore *core)
{
  int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);

  core->fork_generation = fork_generation;
  if (epoll_fd < 0)
    {
      /* Without one, hearing nothing beats stealing the parent's events. */
      g_warning ("Cannot create an epoll instance after fork(): %s", g_strerror (errno));
      for (LsWatch *watch = core->watches; watch != NULL; watch = watch->next)
        watch->registered = FALSE;
      g_source_remove_unix_fd (core->source, core->epoll_fd_tag);
      core->epoll_fd_tag = NULL;
      close (core->epoll_fd);
      core->epoll_fd = -1;
      return;
    }

  g_source_remove_unix_fd (core->source, core->epoll_fd_tag);
  close (core->epoll_fd);
  core->epoll_fd = epoll_fd;
  core->epoll_fd_tag = g_source_add_unix_fd (core->source, epoll_fd, G_IO_IN);
  for (LsWatch *watch = core->watches; watch != NULL; watch = watch->next)
    {
      struct epoll_event ev = { .events = epoll_events_for (watch->events), .data.ptr = watch };

      if (watch->registered)
        watch->registered = epoll_ctl (epoll_fd, EPOLL_CTL_ADD, watch->fd, &ev) == 0;
    }
}

LsEventCore *
ls_event_core_ref_for_context (GMainContext *context)
{
  LsEventCore *core;

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&cores_lock);
  if (cores == NULL)
    cores = g_hash_table_new (NULL, NULL);
  core = g_hash_table_lookup (cores, context);
  if (core != NULL)
    g_atomic_int_inc (&core->ref_count);
  else if ((core = ls_event_core_new (context)) != NULL)
    g_hash_table_insert (cores, context, core);
  g_mutex_unlock (&cores_lock);
  return core;
}

/* The caller holds a reference, so the count cannot be reaching zero: no
 * lock (every dispatch and every socket takes one). */
LsEventCore *
ls_event_core_ref (LsEventCore *core)
{
  g_atomic_int_inc (&core->ref_count);
  return core;
}

void
ls_event_core_unref (LsEventCore *core)
{
  gint old = g_atomic_int_get (&core->ref_count);
  gboolean last;

  /* Not the last reference: drop it without the lock. */
  while (old > 1)
    {
      if (g_atomic_int_compare_and_exchange_full (&core->ref_count, old, old - 1, &old))
        return;
    }

  /* Possibly the last: ls_event_core_ref_for_context() may be handing out
   * this core right now, so reaching zero and leaving cores is one step
   * under its lock. */
  g_mutex_lock (&cores_lock);
  last = g_atomic_int_dec_and_test (&core->ref_count);
  if (last)
    g_hash_table_remove (cores, core->context);
  g_mutex_unlock (&cores_lock);

  if (!last)
    return;

  /* Objects hold a reference while they have watches, and a dispatching
   * owner holds a reference on itself, so no dispatch is running here. */
  g_source_destroy (core->source);
  g_source_unref (core->source);
  if (core->epoll_fd >= 0)
    close (core->epoll_fd);
  free_watch_list (core->graveyard);
  free_watch_list (core->spare);
  g_main_context_unref (core->context);
  g_free (core);
}

GMainContext *
ls_event_core_get_context (LsEventCore *core)
{
  return core->context;
}

/* Each descriptor polled directly is one more poll record that every main
 * loop iteration walks (prepare, poll (), check): a few cost less than an
 * epoll_wait () per wake-up, hundreds cost more than epoll's batching. */
#define MAX_DIRECT_POLLS 16

gboolean
ls_event_core_claim_direct_poll (LsEventCore *core)
{
  if (core->direct_polls >= MAX_DIRECT_POLLS)
    return FALSE;
  core->direct_polls++;
  return TRUE;
}

void
ls_event_core_return_direct_poll (LsEventCore *core)
{
  g_assert (core->direct_polls > 0);
  core->direct_polls--;
}

/* A zeroed watch, reused from the spare list when there is one. */
static LsWatch *
take_watch (LsEventCore *core)
{
  LsWatch *watch = core->spare;

  if (watch == NULL)
    return g_new0 (LsWatch, 1);
  core->spare = watch->next;
  core->n_spare--;
  *watch = (LsWatch) { 0 };
  return watch;
}

/* Puts @watch on the list of live watches. */
static void
link_watch (LsEventCore *core,
            LsWatch     *watch)
{
  watch->next = core->watches;
  if (core->watches != NULL)
    core->watches->prev = watch;
  core->watches = watch;
}

LsWatch *
ls_watch_new (LsEventCore      *core,
              int               fd,
              LsWatchCondition  events,
              LsWatchFunc       func,
              gpointer          owner)
{
  struct epoll_event ev = { 0 };
  LsWatch *watch;

  events &= LS_WATCH_READ | LS_WATCH_WRITE | LS_WATCH_HANGUP;
  watch = take_watch (core);
  watch->core = core;
  watch->fd = fd;
  watch->events = events;
  watch->func = func;
  watch->owner = owner;

  check_fork (core);
  ev.events = epoll_events_for (events);
  ev.data.ptr = watch;
  if (epoll_ctl (core->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    {
      int saved_errno = errno;
      recycle_watch (core, watch);
      errno = saved_errno;
      return NULL;
    }
  /* Added even when wanting nothing, so that a descriptor epoll refuses
   * fails here; but epoll reports hang-ups even with an empty mask, so such
   * a watch leaves the set again (see ls_watch_set_events()). */
  if (events != 0)
    watch->registered = TRUE;
  else
    epoll_ctl (core->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
  link_watch (core, watch);
  core->watches_added++;
  return watch;
}

LsWatch *
ls_watch_new_deferred_only (LsEventCore *core,
                            LsWatchFunc  func,
                            gpointer     owner)
{
  LsWatch *watch;

  watch = take_watch (core);
  watch->core = core;
  watch->fd = -1;
  watch->func = func;
  watch->owner = owner;
  /* Never in the epoll set (registered stays FALSE, so fork and
   * ls_watch_free () leave epoll alone), but on the list of live watches,
   * which ls_watch_free () unlinks from. Not counted in watches_added: that
   * ends re-polling for new descriptors, and this is none. */
  link_watch (core, watch);
  return watch;
}

/* The slow path of ls_watch_set_events(): @events (masked) differs from
 * what the watch has or how it is registered. */
void
ls_watch_change_events (LsWatch          *watch,
                        LsWatchCondition  events)
{
  struct epoll_event ev = { 0 };

  watch->events = events;
  check_fork (watch->core);

  /* epoll reports hang-ups even with an empty mask: a descriptor that
   * wants nothing (paused accept) must leave the set, or a dead peer would
   * wake us forever; one that asked for LS_WATCH_HANGUP stays and is told. */
  if (events == 0)
    {
      if (watch->registered)
        epoll_ctl (watch->core->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
      watch->registered = FALSE;
      return;
    }
  ev.events = epoll_events_for (events);
  ev.data.ptr = watch;
  epoll_ctl (watch->core->epoll_fd, watch->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
             watch->fd, &ev);
  watch->registered = TRUE;
}

LsWatchCondition
ls_watch_get_events (LsWatch *watch)
{
  return watch->events;
}

void
ls_watch_defer (LsWatch *watch)
{
  LsEventCore *core = watch->core;

  if (watch->deferred)
    return;
  watch->deferred = TRUE;
  if (core->deferred_tail != NULL)
    core->deferred_tail->next_deferred = watch;
  else
    core->deferred_head = watch;
  core->deferred_tail = watch;

  /* Outside our dispatch, wake the context to run it soon. */
  if (core->dispatching == 0 && !core->woken)
    {
      core->woken = TRUE;
      g_source_set_ready_time (core->source, 0);
    }
}

LsEventCore *
ls_watch_get_core (LsWatch *watch)
{
  return watch->core;
}

void
ls_watch_free (LsWatch *watch)
{
  LsEventCore *core;

  if (watch == NULL)
    return;

  core = watch->core;
  check_fork (core);
  /* Not left to close(): epoll watches the open file description, not the
   * descriptor, and close() only drops it from the set when no other
   * descriptor refers to it. One made by dup() (a GSocket or GIOChannel
   * the application asked for, a copy it keeps) or inherited by a child
   * of fork() that has not exec'd keeps it registered, and its next event
   * would carry a pointer to this freed watch. The call costs a few
   * user-space instructions (and a short kernel path); it stays. */
  if (watch->registered)
    epoll_ctl (core->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
  watch->registered = FALSE;
  watch->freed = TRUE;
  if (watch->prev != NULL)
    watch->prev->next = watch->next;
  else
    core->watches = watch->next;
  if (watch->next != NULL)
    watch->next->prev = watch->prev;
  watch->prev = NULL;

  /* Pending epoll events or the deferred list may still point at it until
   * the dispatch ends. */
  if (core->dispatching > 0 || watch->deferred)
    {
      watch->next = core->graveyard;
      core->graveyard = watch;
    }
  else
    recycle_watch (core, watch);
}
