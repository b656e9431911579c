/* ls-event-core-private.h: one epoll-backed GSource per GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-event-core-private.h is private to the Ls library."
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LsEventCore LsEventCore;
typedef struct _LsWatch     LsWatch;

typedef enum
{
  LS_WATCH_READ     = 1 << 0,  /* readable, hang-up or error */
  LS_WATCH_WRITE    = 1 << 1,  /* writable */
  LS_WATCH_DEFERRED = 1 << 2,  /* ls_watch_defer() was called */
  /* As an interest: stay registered while wanting neither reading nor
   * writing, to learn that the peer has gone (EPOLLHUP/EPOLLERR, which a
   * level-triggered registration reports until the descriptor is dropped).
   * As a condition: that happened. */
  LS_WATCH_HANGUP   = 1 << 3,
} LsWatchCondition;

/* Called from the core's dispatch with the conditions that hold. */
typedef void (*LsWatchFunc) (gpointer         owner,
                             LsWatchCondition condition);

/* Whether a main loop serves the calling thread: it pushed a thread-default
 * context, or it is the main thread (which runs the global default context
 * by convention), or it is running the global default context right now.
 * Objects set up in any other thread are driven by their blocking calls
 * only, in that thread, as Qt objects of a thread without an event loop. */
gboolean     ls_event_core_thread_is_served (void);

/* The core of @context (NULL = the global default), created on first use. */
LsEventCore *ls_event_core_ref_for_context (GMainContext  *context);
LsEventCore *ls_event_core_ref             (LsEventCore   *core);
void         ls_event_core_unref           (LsEventCore   *core);
GMainContext *ls_event_core_get_context    (LsEventCore   *core);

/* A descriptor that is to be polled directly by a GSource of its own in
 * the core's context, outside the epoll set (the stream view does so
 * while it reads and writes on its own): FALSE when the core already has
 * as many as pay off. Each claim is returned once. Thread of the context. */
gboolean     ls_event_core_claim_direct_poll  (LsEventCore *core);
void         ls_event_core_return_direct_poll (LsEventCore *core);

/* Registers @fd (not owned) with interest @events (LS_WATCH_READ, WRITE,
 * HANGUP).
 * Returns NULL with errno set if epoll refuses the descriptor. */
LsWatch     *ls_watch_new                  (LsEventCore   *core,
                                            int            fd,
                                            LsWatchCondition events,
                                            LsWatchFunc    func,
                                            gpointer       owner);
/* A watch of no descriptor, for work that must run from the core's
 * dispatch (the completion of asynchronous calls): only ls_watch_defer ()
 * calls @func, with LS_WATCH_DEFERRED. Freed with ls_watch_free (). */
LsWatch     *ls_watch_new_deferred_only    (LsEventCore   *core,
                                            LsWatchFunc    func,
                                            gpointer       owner);
void         ls_watch_change_events        (LsWatch       *watch,
                                            LsWatchCondition events);
LsWatchCondition ls_watch_get_events       (LsWatch       *watch);
/* Asks for one LS_WATCH_DEFERRED callback at the end of the current
 * dispatch, or at the next main loop iteration. */
void         ls_watch_defer                (LsWatch       *watch);
LsEventCore *ls_watch_get_core             (LsWatch       *watch);
/* Unregisters; safe from inside the watch's own callback. Call before
 * closing the descriptor. */
void         ls_watch_free                 (LsWatch       *watch);

/* Only for the inline fast path below: everything else about a watch is
 * the event core's business (ls-event-core.c). */
struct _LsWatch
{
  LsEventCore     *core;
  LsWatchFunc      func;
  gpointer         owner;
  LsWatch         *next_deferred;
  /* In core->watches while live; once freed, next links the graveyard or
   * the spare list. */
  LsWatch         *prev;
  LsWatch         *next;
  int              fd;
  /* Bytes, not bit-fields: read on every event and every interest update,
   * and the struct is 56 bytes either way. */
  guint8           events;          /* LsWatchCondition: READ, WRITE, HANGUP */
  guint8           deferred;
  guint8           freed;
  guint8           registered;      /* in the epoll set (not when events == 0) */
};

G_STATIC_ASSERT (sizeof (LsWatch) <= 7 * sizeof (gpointer));  /* a 64-byte malloc chunk */

/* Sets the interest (LS_WATCH_READ, WRITE, HANGUP). Inline: sockets call
 * it after every read and flush, and nearly always nothing changes. */
static inline void
ls_watch_set_events (LsWatch          *watch,
                     LsWatchCondition  events)
{
  events &= LS_WATCH_READ | LS_WATCH_WRITE | LS_WATCH_HANGUP;
  if (G_LIKELY (watch->events == events && watch->registered == (events != 0)))
    return;
  ls_watch_change_events (watch, events);
}

G_END_DECLS
