/* ls-deadline.c: deadlines and the EINTR-safe poll() of the blocking calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-deadline-private.h"

#include <errno.h>

gint64
ls_deadline_from_msec (int msec)
{
  if (msec < 0)
    return LS_DEADLINE_NEVER;
  return g_get_monotonic_time () + (gint64) msec * 1000;
}

int
ls_deadline_remaining_ms (gint64 deadline)
{
  gint64 remaining;

  if (deadline < 0)
    return -1;
  /* Read the clock once: CLAMP () evaluates its argument up to three
   * times, and a clock read after the test against 0 could make the result
   * negative, which poll () takes for "wait forever" (a wait_for_* call
   * with a short timeout hung on a loaded machine). */
  remaining = (deadline - g_get_monotonic_time () + 999) / 1000;
  return (int) CLAMP (remaining, 0, G_MAXINT);
}

gboolean
ls_deadline_passed (gint64 deadline)
{
  return deadline >= 0 && g_get_monotonic_time () >= deadline;
}

int
ls_poll_until (struct pollfd *fds,
               nfds_t         n_fds,
               gint64         deadline)
{
  for (;;)
    {
      int n = poll (fds, n_fds, ls_deadline_remaining_ms (deadline));

      /* A signal handler ran: poll again for what is left of the time. */
      if (n < 0 && errno == EINTR)
        continue;
      return n;
    }
}
