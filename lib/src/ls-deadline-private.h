/* ls-deadline-private.h: the deadline arithmetic and poll() loop shared by
 * every blocking call (socket and server waits)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-deadline-private.h is private to the Ls library."
#endif

#include <poll.h>
#include <glib.h>

G_BEGIN_DECLS

/* A deadline is a g_get_monotonic_time () value, or -1 for "never". */
#define LS_DEADLINE_NEVER ((gint64) -1)

/* The deadline @msec milliseconds from now; a negative @msec means never. */
gint64 ls_deadline_from_msec      (int     msec);

/* Milliseconds left until @deadline, rounded up so that a poll() never
 * wakes just before it; 0 once passed, -1 for never. */
int    ls_deadline_remaining_ms   (gint64  deadline);

gboolean ls_deadline_passed       (gint64  deadline);

/* poll() on @fds until one is ready or @deadline passes, retrying on EINTR
 * with the time that is left. Returns poll ()'s result: > 0 ready, 0 timed
 * out, -1 with errno set on failure. */
int    ls_poll_until              (struct pollfd *fds,
                                   nfds_t         n_fds,
                                   gint64         deadline);

G_END_DECLS
