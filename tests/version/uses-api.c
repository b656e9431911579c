/* uses-api.c: compiled (never linked) by check-availability.py with
 * different LS_VERSION_MIN_REQUIRED / LS_VERSION_MAX_ALLOWED values and
 * -Werror=deprecated-declarations.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ls/ls.h>

#ifdef INCLUDE_PRIVATE_HEADER
/* Must not be found: consumers get the directory holding ls/ only. */
#include "ls-event-core-private.h"
#endif

#ifdef USE_DEPRECATED_IN_1_2
/* Ls has no deprecated symbol yet: exercise the macro on a local one. */
LS_DEPRECATED_IN_1_2_FOR (ls_local_server_new)
LsLocalServer *ls_test_old_server_new (void);
#endif

#ifdef USE_API_1_4
/* Nothing is new in 1.4 yet: exercise the macro on a local symbol. */
LS_AVAILABLE_IN_1_4
int ls_test_future (void);
#endif

int main (void);

int
main (void)
{
  /* 1.0 API: always fine. */
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  int ret = server == NULL;

#ifdef USE_API_1_2
  ret += (int) ls_get_major_version () - LS_MAJOR_VERSION;
#endif
#ifdef USE_API_1_4
  ret += ls_test_future ();
#endif
#ifdef USE_DEPRECATED_IN_1_2
  g_clear_object (&server);
  server = ls_test_old_server_new ();
#endif

  return ret;
}
