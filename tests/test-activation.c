/* test-activation.c: listen_activated with descriptors placed at 3.. (issue 15)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each case forks a child that puts the descriptors at 3.., sets the
 * LISTEN_* variables and executes ls-activation-helper, which reports what
 * listen_activated made of them.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SAFETY_MS 20000

typedef enum
{
  PID_OURS,
  PID_WRONG,
  PID_UNSET,
} PidMode;

/* A socket bound to @path, listening if @listening. */
static int
bound_socket (const char *path, gboolean listening)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  if (listening)
    g_assert_cmpint (listen (fd, 8), ==, 0);
  return fd;
}

/* Runs the helper with @fds at 3.. and returns its output. */
static char *
run_helper (const char *mode,
            const char *name,
            const int  *fds,
            guint       n_fds,
            const char *listen_fds,
            const char *fd_names,
            PidMode     pid_mode)
{
  const char *helper = g_getenv ("LS_ACTIVATION_HELPER");
  GString *out = g_string_new (NULL);
  int pipe_fds[2];
  char buffer[512];
  ssize_t n;
  pid_t pid;
  int status;

  g_assert_nonnull (helper);
  g_assert_cmpint (pipe2 (pipe_fds, O_CLOEXEC), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      char pid_text[32];
      int moved[16];

      /* Out of the way of 3.. first, then into place (dup2 clears
       * close-on-exec, as a service manager passes them). */
      g_assert (n_fds <= G_N_ELEMENTS (moved));
      for (guint i = 0; i < n_fds; i++)
        moved[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 100);
      dup2 (pipe_fds[1], 1);
      for (guint i = 0; i < n_fds; i++)
        dup2 (moved[i], 3 + i);
      g_snprintf (pid_text, sizeof pid_text, "%d", pid_mode == PID_WRONG ? 1 : (int) getpid ());
      if (pid_mode != PID_UNSET)
        setenv ("LISTEN_PID", pid_text, 1);
      else
        unsetenv ("LISTEN_PID");
      if (listen_fds != NULL)
        setenv ("LISTEN_FDS", listen_fds, 1);
      else
        unsetenv ("LISTEN_FDS");
      if (fd_names != NULL)
        setenv ("LISTEN_FDNAMES", fd_names, 1);
      else
        unsetenv ("LISTEN_FDNAMES");
      execl (helper, helper, mode, name, (char *) NULL);
      _exit (127);
    }
  close (pipe_fds[1]);
  while ((n = read (pipe_fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (out, buffer, n);
  close (pipe_fds[0]);
  status = ls_test_wait_child (pid, SAFETY_MS);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return g_string_free (out, FALSE);
}

typedef struct
{
  char *dir;
  char *a;    /* dir/a */
  char *b;    /* dir/b */
  guint fds_before;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->fds_before = ls_test_count_open_fds ();
  f->dir = ls_test_make_tmpdir ();
  f->a = g_build_filename (f->dir, "a", NULL);
  f->b = g_build_filename (f->dir, "b", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  ls_test_remove_tmpdir (f->dir);
  g_free (f->a);
  g_free (f->b);
  g_free (f->dir);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, f->fds_before);
}

static void
assert_error (const char *output, LsSocketError code, const char *words)
{
  g_autofree char *prefix = g_strdup_printf ("error %d ", code);

  if (!g_str_has_prefix (output, prefix) || strstr (output, words) == NULL)
    g_error ("expected “%s…%s…”, got “%s”", prefix, words, output);
}

static void
test_first (Fixture *f, gconstpointer data)
{
  int fd = bound_socket (f->a, TRUE);
  g_autofree char *out = run_helper ("check", "-", &fd, 1, "1", NULL, PID_OURS);
  g_autofree char *expected = g_strdup_printf ("listening %s a\nclosed 1\n", f->a);

  /* The socket file is the service manager's: close() leaves it. */
  g_assert_cmpstr (out, ==, expected);
  g_assert_true (g_file_test (f->a, G_FILE_TEST_EXISTS));
  close (fd);
}

static void
test_by_name (Fixture *f, gconstpointer data)
{
  int fds[2] = { bound_socket (f->a, TRUE), bound_socket (f->b, TRUE) };
  g_autofree char *out_b = run_helper ("check", "ctl", fds, 2, "2", "main:ctl", PID_OURS);
  g_autofree char *out_a = run_helper ("check", "main", fds, 2, "2", "main:ctl", PID_OURS);
  g_autofree char *out_first = run_helper ("check", "-", fds, 2, "2", "main:ctl", PID_OURS);
  g_autofree char *out_unknown = run_helper ("check", "unknown", fds, 2, "2", NULL, PID_OURS);
  g_autofree char *expected_a = g_strdup_printf ("listening %s a\nclosed 1\n", f->a);
  g_autofree char *expected_b = g_strdup_printf ("listening %s b\nclosed 1\n", f->b);

  g_assert_cmpstr (out_b, ==, expected_b);
  g_assert_cmpstr (out_a, ==, expected_a);
  g_assert_cmpstr (out_first, ==, expected_a);
  /* Without LISTEN_FDNAMES, sd_listen_fds_with_names() calls them “unknown”. */
  g_assert_cmpstr (out_unknown, ==, expected_a);
  close (fds[0]);
  close (fds[1]);
}

static void
test_not_passed (Fixture *f, gconstpointer data)
{
  int fd = bound_socket (f->a, TRUE);
  g_autofree char *unknown = run_helper ("check", "nope", &fd, 1, "1", "ctl", PID_OURS);
  g_autofree char *wrong_pid = run_helper ("check", "-", &fd, 1, "1", NULL, PID_WRONG);
  g_autofree char *no_pid = run_helper ("check", "-", &fd, 1, "1", NULL, PID_UNSET);
  g_autofree char *nothing = run_helper ("check", "-", NULL, 0, NULL, NULL, PID_UNSET);
  g_autofree char *zero = run_helper ("check", "-", NULL, 0, "0", NULL, PID_OURS);
  g_autofree char *garbage = run_helper ("check", "-", &fd, 1, "one", NULL, PID_OURS);

  assert_error (unknown, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "nope");
  assert_error (wrong_pid, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "not to this one");
  assert_error (no_pid, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "not set");
  assert_error (nothing, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "not set");
  assert_error (zero, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "LISTEN_FDS is 0");
  assert_error (garbage, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "one");
  g_assert_true (g_file_test (f->a, G_FILE_TEST_EXISTS));
  close (fd);
}

static void
test_not_a_listening_socket (Fixture *f, gconstpointer data)
{
  int file = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int quiet = bound_socket (f->a, FALSE);
  int dgram = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_autofree char *out_file = run_helper ("check", "-", &file, 1, "1", NULL, PID_OURS);
  g_autofree char *out_quiet = run_helper ("check", "-", &quiet, 1, "1", NULL, PID_OURS);
  g_autofree char *out_dgram = run_helper ("check", "-", &dgram, 1, "1", NULL, PID_OURS);

  assert_error (out_file, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION, "not a socket");
  assert_error (out_quiet, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION, "listening");
  assert_error (out_dgram, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION, "stream");
  close (file);
  close (quiet);
  close (dgram);
}

/* Variables sd_listen_fds_with_names() rejects pass nothing: an announced
 * descriptor that is not open, names that do not name each one. */
static void
test_invalid_announcements (Fixture *f, gconstpointer data)
{
  int fds[2] = { bound_socket (f->a, TRUE), bound_socket (f->b, TRUE) };
  g_autofree char *gap = run_helper ("check", "-", fds, 1, "2", NULL, PID_OURS);
  g_autofree char *gap_named = run_helper ("check", "main", fds, 1, "2", "main:ctl", PID_OURS);
  g_autofree char *few_names = run_helper ("check", "main", fds, 2, "2", "main", PID_OURS);
  g_autofree char *many_names = run_helper ("check", "main", fds, 2, "2", "main:ctl:x", PID_OURS);

  /* The helper opens nothing before it looks: 3 is passed, 4 is free. */
  assert_error (gap, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                "LISTEN_FDS announces 2 descriptors from 3, but descriptor 4 is not open");
  assert_error (gap_named, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "descriptor 4 is not open");
  assert_error (few_names, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                "LISTEN_FDNAMES has 1 names, but LISTEN_FDS announces 2 descriptors");
  assert_error (many_names, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                "LISTEN_FDNAMES has 3 names, but LISTEN_FDS announces 2 descriptors");
  close (fds[0]);
  close (fds[1]);
}

/* The largest LISTEN_FDS sd_listen_fds() accepts (INT_MAX - 3), with and
 * without 64 names, and a name nobody has: the answer comes from the first
 * descriptor that is not open, or from the count of names, as
 * sd_listen_fds_with_names() gives it; never from a walk over every
 * announced index (which took minutes). */
static void
test_huge_count (Fixture *f, gconstpointer data)
{
  int fd = bound_socket (f->a, TRUE);
  g_autofree char *huge = g_strdup_printf ("%d", G_MAXINT - 3);
  g_autoptr(GString) names = g_string_new ("a0");
  g_autofree char *unnamed = NULL;
  g_autofree char *named = NULL;
  g_autofree char *first = NULL;
  g_autofree char *too_big = NULL;
  g_autofree char *expected_walk = g_strdup_printf ("LISTEN_FDS announces %s descriptors from 3, "
                                                    "but descriptor 4 is not open", huge);
  g_autofree char *expected_names = g_strdup_printf ("LISTEN_FDNAMES has 64 names, but "
                                                     "LISTEN_FDS announces %s descriptors", huge);
  g_autofree char *over = g_strdup_printf ("%u", (guint) G_MAXINT - 2);

  for (guint i = 1; i < 64; i++)
    g_string_append_printf (names, ":a%u", i);
  unnamed = run_helper ("check", "nobody-has-it", &fd, 1, huge, NULL, PID_OURS);
  named = run_helper ("check", "nobody-has-it", &fd, 1, huge, names->str, PID_OURS);
  first = run_helper ("check", "-", &fd, 1, huge, NULL, PID_OURS);
  too_big = run_helper ("check", "-", &fd, 1, over, NULL, PID_OURS);

  assert_error (unnamed, LS_SOCKET_ERROR_SERVER_NOT_FOUND, expected_walk);
  assert_error (named, LS_SOCKET_ERROR_SERVER_NOT_FOUND, expected_names);
  assert_error (first, LS_SOCKET_ERROR_SERVER_NOT_FOUND, expected_walk);
  assert_error (too_big, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "not a number of descriptors");
  close (fd);
}

/* The activated server serves: a connection made before the helper even
 * started (as with systemd) is accepted and echoed. */
static void
test_serves (Fixture *f, gconstpointer data)
{
  int fd = bound_socket (f->a, TRUE);
  int client = ls_test_raw_connect (f->a);
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("listening %s a\nclosed 1\n", f->a);
  char reply[6] = { 0 };

  g_assert_cmpint (client, >=, 0);
  g_assert_cmpint (write (client, "hello", 5), ==, 5);
  g_assert_cmpint (shutdown (client, SHUT_WR), ==, 0);
  out = run_helper ("echo", "-", &fd, 1, "1", NULL, PID_OURS);
  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpint (read (client, reply, 5), ==, 5);
  g_assert_cmpstr (reply, ==, "hello");
  close (client);
  close (fd);
}

/* In this process: LISTEN_PID is not ours, so nothing is passed, and the
 * environment is left as it was. */
static void
test_in_process (void)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  GError *error = NULL;

  g_assert_false (ls_local_server_listen_activated (server, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_false (ls_local_server_is_listening (server));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ls/activation/first", test_first);
  ADD ("/ls/activation/by-name", test_by_name);
  ADD ("/ls/activation/not-passed", test_not_passed);
  ADD ("/ls/activation/not-a-listening-socket", test_not_a_listening_socket);
  ADD ("/ls/activation/serves", test_serves);
  ADD ("/ls/activation/invalid-announcements", test_invalid_announcements);
  ADD ("/ls/activation/huge-count", test_huge_count);
  g_test_add_func ("/ls/activation/in-process", test_in_process);
  return g_test_run ();
}
