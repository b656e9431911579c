/* test-deadline.c: unit tests of the deadline helpers and the EINTR-safe
 * poll() shared by the blocking calls (lib/src/ls-deadline.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-deadline-private.h"

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

static void
test_never (void)
{
  g_assert_cmpint (ls_deadline_from_msec (-1), ==, LS_DEADLINE_NEVER);
  g_assert_cmpint (ls_deadline_remaining_ms (LS_DEADLINE_NEVER), ==, -1);
  g_assert_false (ls_deadline_passed (LS_DEADLINE_NEVER));
}

static void
test_arithmetic (void)
{
  gint64 now = g_get_monotonic_time ();
  gint64 deadline = ls_deadline_from_msec (5000);
  int left = ls_deadline_remaining_ms (deadline);

  g_assert_cmpint (deadline - now, >=, 5000 * 1000);
  g_assert_cmpint (left, <=, 5000);
  g_assert_cmpint (left, >=, 4000);
  g_assert_false (ls_deadline_passed (deadline));

  /* Rounded up: 1 µs left is still 1 ms to poll, not a busy 0. */
  g_assert_cmpint (ls_deadline_remaining_ms (g_get_monotonic_time () + 1000000), >=, 1000);
  g_assert_cmpint (ls_deadline_remaining_ms (now - 1), ==, 0);
  g_assert_true (ls_deadline_passed (now - 1));
  g_assert_cmpint (ls_deadline_remaining_ms (ls_deadline_from_msec (0)), ==, 0);
}

static void
test_poll_ready (void)
{
  int fds[2];
  struct pollfd pfd;

  g_assert_no_errno (pipe (fds));
  g_assert_cmpint (write (fds[1], "x", 1), ==, 1);
  pfd = (struct pollfd) { .fd = fds[0], .events = POLLIN };
  g_assert_cmpint (ls_poll_until (&pfd, 1, ls_deadline_from_msec (5000)), ==, 1);
  g_assert_true (pfd.revents & POLLIN);
  close (fds[0]);
  close (fds[1]);
}

static void
on_alarm (int signum)
{
}

/* Signals arriving during the wait neither end it early nor make it fail. */
static void
test_poll_eintr (void)
{
  struct sigaction action = { .sa_handler = on_alarm }, old_action;
  struct itimerval timer = { { 0, 10000 }, { 0, 10000 } };
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  struct pollfd pfd;
  gint64 start;
  int fds[2];
  int n;

  g_assert_no_errno (pipe (fds));
  /* No SA_RESTART: poll () returns EINTR on every tick. */
  g_assert_no_errno (sigaction (SIGALRM, &action, &old_action));
  g_assert_no_errno (setitimer (ITIMER_REAL, &timer, NULL));

  pfd = (struct pollfd) { .fd = fds[0], .events = POLLIN };
  start = g_get_monotonic_time ();
  n = ls_poll_until (&pfd, 1, ls_deadline_from_msec (150));

  g_assert_no_errno (setitimer (ITIMER_REAL, &off, NULL));
  g_assert_no_errno (sigaction (SIGALRM, &old_action, NULL));
  g_assert_cmpint (n, ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 150 * 1000);
  close (fds[0]);
  close (fds[1]);
}

static void
test_poll_bad_fd (void)
{
  struct pollfd pfd = { .fd = 1000000, .events = POLLIN };

  /* An fd number past the table is POLLNVAL, reported at once. */
  g_assert_cmpint (ls_poll_until (&pfd, 1, LS_DEADLINE_NEVER), ==, 1);
  g_assert_true (pfd.revents & POLLNVAL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ls/deadline/never", test_never);
  g_test_add_func ("/ls/deadline/arithmetic", test_arithmetic);
  g_test_add_func ("/ls/deadline/poll-ready", test_poll_ready);
  g_test_add_func ("/ls/deadline/poll-eintr", test_poll_eintr);
  g_test_add_func ("/ls/deadline/poll-bad-fd", test_poll_bad_fd);
  return g_test_run ();
}
