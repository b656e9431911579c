/* bench-process.h: what every benchmark process sets up first, whatever
 * its library (C and C++)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <signal.h>
#include <sys/resource.h>

/* The descriptor limit raised to the hard limit (the fan-in and idle loads
 * open thousands of connections), and SIGPIPE ignored: a peer that goes
 * while we write is an error to handle, not the end of the process. */
static inline void
bench_process_setup (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  signal (SIGPIPE, SIG_IGN);
}
