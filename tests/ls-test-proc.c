/* ls-test-proc.c: process helpers for the tests (fork, users) */
#include "ls-test-proc.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t
ls_test_fork (void)
{
  pid_t pid;

  /* The TAP output must not be written twice. */
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  return pid;
}

int
ls_test_wait_child (pid_t pid, int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  int status = 0;

  for (;;)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        return status;
      g_assert_cmpint (r, ==, 0);
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          g_test_message ("child %d killed after %d ms", (int) pid, timeout_ms);
          return status;
        }
      g_usleep (2000);
    }
}

void
ls_test_assert_child_ok (pid_t pid, int timeout_ms)
{
  int status = ls_test_wait_child (pid, timeout_ms);

  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("child %d ended with status 0x%x", (int) pid, status);
}

gboolean
ls_test_drop_to_nobody (void)
{
  struct passwd *pw = getpwnam ("nobody");

  if (pw == NULL)
    return FALSE;
  return setgroups (0, NULL) == 0 && setgid (pw->pw_gid) == 0 && setuid (pw->pw_uid) == 0 &&
         geteuid () == pw->pw_uid;
}
