/* test-badinput.c: every public entry point fed the bad values a caller can produce
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A table of cases, one GTest each (/ls/badinput/...). Each case calls the
 * API with an invalid name, descriptor or state and checks that the call
 * ends in a GError (or the recorded error) with the documented code, or in
 * the documented no-op, with no state change, no stray signal and nothing
 * taken or left behind: the fixture compares /proc/self/fd and the
 * temporary directory before and after. Criticals are fatal (g_test_init),
 * except for the NULL/wrong-type `self` cases, which expect exactly the
 * g_return_if_fail critical.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* ------------------------------------------------------------------------ */
/* Fixture                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  char          *dir;          /* private, also $TMPDIR for relative names */
  char          *old_tmpdir;
  char          *live_path;    /* a listening Ls server */
  LsLocalServer *live;
  guint          fds_before;
} Fixture;

static void
drain_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  drain_context ();
  f->fds_before = ls_test_count_open_fds ();
  f->dir = ls_test_make_tmpdir ();
  f->old_tmpdir = g_strdup (g_getenv ("TMPDIR"));
  g_setenv ("TMPDIR", f->dir, TRUE);
  f->live_path = g_build_filename (f->dir, "live", NULL);
  f->live = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (f->live, f->live_path, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  GDir *dir;
  const char *entry;

  g_clear_object (&f->live);
  drain_context ();

  /* Nothing left in the directory but what the case made on purpose
   * (names starting with "keep-"). */
  dir = g_dir_open (f->dir, 0, NULL);
  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_prefix (entry, "keep-"))
        g_error ("left behind in %s: “%s”", f->dir, entry);
    }
  g_dir_close (dir);

  if (f->old_tmpdir != NULL)
    g_setenv ("TMPDIR", f->old_tmpdir, TRUE);
  else
    g_unsetenv ("TMPDIR");
  ls_test_remove_tmpdir (f->dir);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, f->fds_before);
  g_free (f->old_tmpdir);
  g_free (f->live_path);
  g_free (f->dir);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------ */

#define assert_contains(haystack, needle)                                      \
  G_STMT_START {                                                               \
    const char *h_ = (haystack), *n_ = (needle);                               \
    if (h_ == NULL || n_ == NULL || strstr (h_, n_) == NULL)                   \
      g_assertion_message_cmpstr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                                  #haystack " contains " #needle,              \
                                  h_, "contains", n_);                         \
  } G_STMT_END

static char *
name_of_length (const char *prefix, gsize total)
{
  GString *s = g_string_new (prefix);

  while (s->len < total)
    g_string_append_c (s, 'n');
  g_string_truncate (s, total);
  return g_string_free (s, FALSE);
}

static gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1;
}

static gboolean
dir_is_empty_but_live (Fixture *f)
{
  GDir *dir = g_dir_open (f->dir, 0, NULL);
  const char *entry;
  gboolean empty = TRUE;

  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_equal (entry, "live") && !g_str_has_prefix (entry, "keep-"))
        empty = FALSE;
    }
  g_dir_close (dir);
  return empty;
}

/* The live server is still there and still serves. */
static void
assert_live_serves (Fixture *f)
{
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) accepted = NULL;
  gboolean timed_out = TRUE;

  g_assert_true (ls_local_server_is_listening (f->live));
  ls_local_socket_connect_to_server (client, f->live_path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (f->live, 5000, &timed_out, NULL));
  g_assert_false (timed_out);
  accepted = ls_local_server_next_pending_connection (f->live);
  g_assert_nonnull (accepted);
}

static guint notify_count;

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  notify_count++;
}

/* A server that failed: not listening, no names, no descriptor. */
static void
assert_server_idle (LsLocalServer *server)
{
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);
  g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
}

/* A fresh server's listen(@name) fails with @code, recorded and returned,
 * the message naming the operation; nothing is created. */
static void
assert_listen_fails (Fixture *f, const char *name, LsSocketOptions options, LsSocketError code)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;

  ls_local_server_set_socket_options (server, options);
  g_assert_false (ls_local_server_listen (server, name, &error));
  g_assert_error (error, LS_SOCKET_ERROR, (gint) code);
  assert_contains (error->message, "listen");
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, code);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, error->message);
  assert_server_idle (server);
  g_assert_true (dir_is_empty_but_live (f));

  /* The same call without a GError location records the same. */
  g_clear_object (&server);
  server = ls_local_server_new ();
  ls_local_server_set_socket_options (server, options);
  g_assert_false (ls_local_server_listen (server, name, NULL));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, code);
  g_assert_cmpstr (ls_local_server_get_error_string (server), !=, "");
}

/* connect_to_server(@name) on a fresh socket fails with @code, in the
 * documented signal order, and leaves the socket clean. */
static void
assert_connect_fails (const char *name, LsSocketOptions options, LsSocketError code)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);
  g_autofree char *expected = g_strdup_printf ("state-changed(2) error-occurred(%d) "
                                               "state-changed(0) ", code);

  ls_local_socket_set_socket_options (socket, options);
  ls_local_socket_connect_to_server (socket, name);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, expected);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, code);
  assert_contains (ls_local_socket_get_error_string (socket), "connect");
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
  g_assert_false (ls_local_socket_is_valid (socket));
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");
  ls_test_signal_log_free (log);
}

/* ------------------------------------------------------------------------ */
/* Bad descriptors                                                            */
/* ------------------------------------------------------------------------ */

typedef enum
{
  BAD_FD_NEGATIVE,
  BAD_FD_VERY_NEGATIVE,
  BAD_FD_CLOSED,
  BAD_FD_HUGE,
  BAD_FD_REGULAR_FILE,
  BAD_FD_DIRECTORY,
  BAD_FD_PIPE,
  BAD_FD_INET_DGRAM,
  BAD_FD_UNIX_DGRAM,
  BAD_FD_UNIX_SEQPACKET,
  BAD_FD_UNIX_UNBOUND,     /* stream, neither listening nor connected */
  BAD_FD_UNIX_CONNECTED,   /* for listen: connected, not listening */
  BAD_FD_UNIX_LISTENING,   /* for adopt: a listening socket */
  N_BAD_FDS
} BadFd;

static const char *bad_fd_names[N_BAD_FDS] = {
  "negative", "very-negative", "closed", "huge", "regular-file", "directory", "pipe",
  "inet-dgram", "unix-dgram", "unix-seqpacket", "unix-unbound", "unix-connected",
  "unix-listening",
};

/* Makes a descriptor of @kind; *extra receives a second one to close. */
static int
make_bad_fd (Fixture *f, BadFd kind, int *extra)
{
  int fds[2], fd;
  g_autofree char *file = NULL;

  *extra = -1;
  switch (kind)
    {
    case BAD_FD_NEGATIVE:
      return -1;
    case BAD_FD_VERY_NEGATIVE:
      return -1000;
    case BAD_FD_CLOSED:
      fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      close (fd);
      return fd;
    case BAD_FD_HUGE:
      return G_MAXINT;
    case BAD_FD_REGULAR_FILE:
      file = g_build_filename (f->dir, "keep-regular", NULL);
      g_assert_true (g_file_set_contents (file, "data", -1, NULL));
      return open (file, O_RDWR | O_CLOEXEC);
    case BAD_FD_DIRECTORY:
      return open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    case BAD_FD_PIPE:
      g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
      *extra = fds[1];
      return fds[0];
    case BAD_FD_INET_DGRAM:
      return socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    case BAD_FD_UNIX_DGRAM:
      return socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    case BAD_FD_UNIX_SEQPACKET:
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), ==, 0);
      *extra = fds[1];
      return fds[0];
    case BAD_FD_UNIX_UNBOUND:
      return socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    case BAD_FD_UNIX_CONNECTED:
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
      *extra = fds[1];
      return fds[0];
    case BAD_FD_UNIX_LISTENING:
      {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };

        fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        /* Just the family: the kernel picks an abstract name (autobind). */
        g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof (sa_family_t)), ==, 0);
        g_assert_cmpint (listen (fd, 1), ==, 0);
        return fd;
      }
    case N_BAD_FDS:
    default:
      g_assert_not_reached ();
    }
}

static void
close_bad_fd (BadFd kind, int fd, int extra)
{
  if (kind != BAD_FD_NEGATIVE && kind != BAD_FD_VERY_NEGATIVE && kind != BAD_FD_CLOSED &&
      kind != BAD_FD_HUGE)
    {
      /* Still ours: the failed call did not take (close) it. */
      g_assert_true (fd_is_open (fd));
      close (fd);
    }
  else if (kind == BAD_FD_CLOSED)
    g_assert_false (fd_is_open (fd));
  if (extra >= 0)
    close (extra);
}

static void
case_listen_bad_fd (Fixture *f, gconstpointer data)
{
  BadFd kind = GPOINTER_TO_INT (data);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  int extra, fd;

  if (kind == BAD_FD_UNIX_LISTENING)
    {
      /* That one is valid for a server; here: already listening. */
      g_autoptr(GError) first = NULL;

      fd = make_bad_fd (f, kind, &extra);
      g_assert_true (ls_local_server_listen (server, "keep-first", &first));
      g_assert_no_error (first);
      g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
      g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_OPERATION);
      g_assert_true (ls_local_server_is_listening (server));
      g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "keep-first");
      g_assert_cmpint (ls_local_server_get_socket_descriptor (server), !=, fd);
      close_bad_fd (kind, fd, extra);
      ls_local_server_close (server);
      return;
    }

  fd = make_bad_fd (f, kind, &extra);
  g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==,
                   LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, error->message);
  assert_server_idle (server);
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==, LS_SOCKET_OPTION_NONE);
  close_bad_fd (kind, fd, extra);

  /* And the server is fine for a real listen afterwards. */
  g_clear_error (&error);
  g_assert_true (ls_local_server_listen (server, "keep-after", &error));
  g_assert_no_error (error);
  ls_local_server_close (server);
}

static void
case_adopt_bad_fd (Fixture *f, gconstpointer data)
{
  BadFd kind = GPOINTER_TO_INT (data);
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  LsTestSignalLog *log = ls_test_signal_log_new (socket);
  int extra, fd;

  fd = make_bad_fd (f, kind, &extra);
  if (kind == BAD_FD_UNIX_UNBOUND &&
      ls_local_socket_set_socket_descriptor (socket, fd, LS_LOCAL_SOCKET_STATE_CONNECTED, &error))
    {
      /* Qt takes any descriptor; then the dead connection must end as a
       * disconnection, not stay "connected" forever. */
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      g_assert_no_error (error);
      while (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_UNCONNECTED &&
             g_get_monotonic_time () < deadline)
        {
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (1000);
        }
      g_test_message ("unconnected stream socket adopted; then: %s", ls_test_signal_log_get (log));
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      g_assert_true (g_str_has_suffix (ls_test_signal_log_get (log), "disconnected "));
      g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
      ls_test_signal_log_free (log);
      return;
    }
  g_assert_false (ls_local_socket_set_socket_descriptor (socket, fd,
                                                         LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  assert_contains (error->message, "adopt");
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
  g_assert_false (ls_local_socket_is_valid (socket));
  close_bad_fd (kind, fd, extra);
  ls_test_signal_log_free (log);
}

/* ------------------------------------------------------------------------ */
/* Server cases                                                               */
/* ------------------------------------------------------------------------ */

static void
case_server_listen_null (Fixture *f, gconstpointer data)
{
  assert_listen_fails (f, NULL, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, NULL, LS_SOCKET_OPTION_USER_ACCESS, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, NULL, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                       LS_SOCKET_ERROR_SERVER_NOT_FOUND);
}

static void
case_server_listen_empty (Fixture *f, gconstpointer data)
{
  assert_listen_fails (f, "", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, "", LS_SOCKET_OPTION_WORLD_ACCESS, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, "", LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                       LS_SOCKET_ERROR_SERVER_NOT_FOUND);
}

static void
case_server_listen_too_long (Fixture *f, gconstpointer data)
{
  g_autofree char *relative = name_of_length ("rel-", 200);
  g_autofree char *absolute = name_of_length (f->dir, 200);
  g_autofree char *abstract = name_of_length ("abs-", 200);

  assert_listen_fails (f, relative, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, relative, LS_SOCKET_OPTION_USER_ACCESS, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, absolute, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, abstract, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                       LS_SOCKET_ERROR_SERVER_NOT_FOUND);
}

/* 107 bytes fit in sun_path (with its NUL), 108 do not. */
static void
case_server_listen_length_boundary (Fixture *f, gconstpointer data)
{
  g_autofree char *prefix = g_strconcat (f->dir, "/b", NULL);
  g_autofree char *fits = name_of_length (prefix, 107);
  g_autofree char *over = name_of_length (prefix, 108);
  g_autofree char *abstract_fits = name_of_length ("ls-badinput-abs-", 107);
  g_autofree char *abstract_over = name_of_length ("ls-badinput-abs-", 108);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;

  assert_listen_fails (f, over, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, abstract_over, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                       LS_SOCKET_ERROR_SERVER_NOT_FOUND);

  g_assert_true (ls_local_server_listen (server, fits, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, fits);
  g_assert_true (g_file_test (fits, G_FILE_TEST_EXISTS));
  ls_local_server_close (server);
  g_assert_false (g_file_test (fits, G_FILE_TEST_EXISTS));

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, abstract_fits, &error));
  g_assert_no_error (error);
  {
    g_autoptr(LsLocalSocket) client = ls_local_socket_new ();

    ls_local_socket_set_socket_options (client, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
    ls_local_socket_connect_to_server (client, abstract_fits);
    g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  }
  ls_local_server_close (server);
}

/* Names with odd bytes are just names: listen, connect by the same name,
 * close removes the file. */
static void
case_server_listen_odd_bytes (Fixture *f, gconstpointer data)
{
  static const char *names[] = {
    "\xff\xfe invalid utf-8", "\x01\x02\x7f controls", "line\nbreak", "tab\tname",
    "%s%n%x%%", "sp ace", "\xc3\xbc\xc3\xb1\xc3\xad", "-", "--help", "*?[", "quote\"'`$(x)",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(LsLocalServer) server = ls_local_server_new ();
      g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *full = g_build_filename (f->dir, names[i], NULL);

      g_assert_true (ls_local_server_listen (server, names[i], &error));
      g_assert_no_error (error);
      g_assert_cmpstr (ls_local_server_get_server_name (server), ==, names[i]);
      g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, full);
      g_assert_true (g_file_test (full, G_FILE_TEST_EXISTS));
      ls_local_socket_connect_to_server (client, names[i]);
      g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      g_assert_cmpstr (ls_local_socket_get_full_server_name (client), ==, full);
      ls_local_socket_abort (client);
      ls_local_server_close (server);
      g_assert_false (g_file_test (full, G_FILE_TEST_EXISTS));

      /* The same in the abstract namespace. */
      ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
      ls_local_socket_set_socket_options (client, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
      g_assert_true (ls_local_server_listen (server, names[i], &error));
      g_assert_no_error (error);
      ls_local_socket_connect_to_server (client, names[i]);
      g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      ls_local_socket_abort (client);
      ls_local_server_close (server);
    }
}

static void
case_server_listen_dot_names (Fixture *f, gconstpointer data)
{
  /* "." and ".." resolve to directories: something exists there. */
  assert_listen_fails (f, ".", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, "..", LS_SOCKET_OPTION_USER_ACCESS, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, "missing/../x", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
}

static void
case_server_listen_directory (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "keep-dir", NULL);

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  assert_listen_fails (f, path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, path, LS_SOCKET_OPTION_USER_ACCESS, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
}

static void
case_server_listen_regular_file (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "keep-file", NULL);
  g_autofree char *contents = NULL;

  g_assert_true (g_file_set_contents (path, "precious", -1, NULL));
  assert_listen_fails (f, path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, path, LS_SOCKET_OPTION_WORLD_ACCESS, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
}

static void
case_server_listen_live_socket (Fixture *f, gconstpointer data)
{
  assert_listen_fails (f, f->live_path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, f->live_path, LS_SOCKET_OPTION_USER_ACCESS,
                       LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_listen_fails (f, "live", LS_SOCKET_OPTION_GROUP_ACCESS, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_live_serves (f);
}

static void
case_server_listen_missing_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "no-such-dir", "s", NULL);
  g_autofree char *file = g_build_filename (f->dir, "keep-notdir", NULL);
  g_autofree char *under_file = g_build_filename (file, "s", NULL);

  assert_listen_fails (f, path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, path, LS_SOCKET_OPTION_USER_ACCESS, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_listen_fails (f, "no-such-dir/s", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  assert_listen_fails (f, under_file, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
}

/* As nobody, in a directory only root may write to. */
static void
case_server_listen_unwritable_dir (Fixture *f, gconstpointer data)
{
  struct passwd *pw = getpwnam ("nobody");
  int status = 0;
  pid_t pid;

  if (getuid () != 0 || pw == NULL)
    {
      g_test_skip ("needs root and a “nobody” user");
      return;
    }
  g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
  fflush (stdout);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      GMainContext *context = g_main_context_new ();
      LsLocalServer *server;
      GError *error = NULL;
      g_autofree char *path = g_build_filename (f->dir, "denied", NULL);
      int rc = 0;

      if (setgroups (0, NULL) != 0 || setgid (pw->pw_gid) != 0 || setuid (pw->pw_uid) != 0)
        _exit (40);
      g_main_context_push_thread_default (context);
      for (LsSocketOptions o = LS_SOCKET_OPTION_NONE; o <= LS_SOCKET_OPTION_USER_ACCESS && rc == 0; o++)
        {
          server = ls_local_server_new ();
          ls_local_server_set_socket_options (server, o);
          if (ls_local_server_listen (server, path, &error))
            rc = 41;
          else if (!g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_ACCESS))
            rc = 42;
          else if (ls_local_server_get_server_error (server) != LS_SOCKET_ERROR_SOCKET_ACCESS)
            rc = 43;
          else if (strstr (error->message, path) == NULL)
            rc = 44;
          g_clear_error (&error);
          g_object_unref (server);
        }
      _exit (rc);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_true (dir_is_empty_but_live (f));
}

static void
case_server_listen_twice (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  int fd = ls_local_server_get_socket_descriptor (f->live);

  g_assert_false (ls_local_server_listen (f->live, other, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpint (ls_local_server_get_server_error (f->live), ==, LS_SOCKET_ERROR_OPERATION);
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_false (ls_local_server_listen (f->live, f->live_path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_false (ls_local_server_listen (f->live, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpstr (ls_local_server_get_full_server_name (f->live), ==, f->live_path);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (f->live), ==, fd);
  assert_live_serves (f);
}

static void
case_server_close_twice (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalServer) fresh = ls_local_server_new ();

  notify_count = 0;
  g_signal_connect (fresh, "notify", G_CALLBACK (on_notify), NULL);
  ls_local_server_close (fresh);
  ls_local_server_close (fresh);
  g_assert_cmpuint (notify_count, ==, 0);
  assert_server_idle (fresh);
  g_assert_cmpint (ls_local_server_get_server_error (fresh), ==, LS_SOCKET_ERROR_UNKNOWN);

  g_signal_connect (f->live, "notify::listening", G_CALLBACK (on_notify), NULL);
  ls_local_server_close (f->live);
  g_assert_cmpuint (notify_count, ==, 1);
  g_assert_false (g_file_test (f->live_path, G_FILE_TEST_EXISTS));
  ls_local_server_close (f->live);
  ls_local_server_close (f->live);
  g_assert_cmpuint (notify_count, ==, 1);
  assert_server_idle (f->live);
  g_signal_handlers_disconnect_by_func (f->live, on_notify, NULL);
}

static void
case_server_wait_not_listening (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;

  alarm (20);   /* -1 means forever: it must not block here */
  g_assert_false (ls_local_server_wait_for_new_connection (server, -1, &timed_out, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_false (timed_out);
  g_clear_error (&error);
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_false (ls_local_server_wait_for_new_connection (server, -100, NULL, NULL));

  /* After close, the same. */
  ls_local_server_close (f->live);
  g_clear_error (&error);
  g_assert_false (ls_local_server_wait_for_new_connection (f->live, -1, &timed_out, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  alarm (0);
}

static void
case_server_wait_zero (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gboolean timed_out = FALSE;

  g_assert_false (ls_local_server_wait_for_new_connection (f->live, 0, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);
  g_assert_true (ls_local_server_is_listening (f->live));
}

static void
case_server_next_pending_idle (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();

  g_assert_null (ls_local_server_next_pending_connection (server));
  g_assert_null (ls_local_server_next_pending_connection (f->live));
  g_assert_false (ls_local_server_has_pending_connections (f->live));
}

static void
case_server_negative_settings (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) accepted = NULL;

  ls_local_server_set_max_pending_connections (server, -1);
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), >=, 0);
  ls_local_server_set_max_pending_connections (server, G_MININT);
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), >=, 0);
  ls_local_server_set_listen_backlog_size (server, -5);
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), >=, 0);
  ls_local_server_set_listen_backlog_size (server, G_MININT);
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), >=, 0);

  /* Still usable: a wait accepts even with max-pending 0. */
  g_assert_true (ls_local_server_listen (server, "neg", &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_server (client, "neg");
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, 5000, NULL, &error));
  g_assert_no_error (error);
  accepted = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (accepted);
  ls_local_server_close (server);
}

static void
case_server_unknown_option_bits (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "bits", NULL);

  /* Bits beyond the defined flags: a GError or a working listen, nothing else. */
  ls_local_server_set_socket_options (server, (LsSocketOptions) 0x70);
  if (ls_local_server_listen (server, path, &error))
    {
      g_assert_no_error (error);
      g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
      ls_local_server_close (server);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == LS_SOCKET_ERROR);
    }
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
case_server_remove_bad (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *too_long = name_of_length ("r-", 200);
  g_autofree char *dir = g_build_filename (f->dir, "keep-rmdir", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "never-there", NULL);

  g_assert_false (ls_local_server_remove_server (NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server ("", &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server (too_long, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_false (ls_local_server_remove_server (dir, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == LS_SOCKET_ERROR);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  g_assert_true (ls_local_server_remove_server (missing, &error));
  g_assert_no_error (error);
  g_assert_false (ls_local_server_remove_server (NULL, NULL));
}

/* ------------------------------------------------------------------------ */
/* Socket cases                                                               */
/* ------------------------------------------------------------------------ */

static void
case_socket_connect_bad_names (Fixture *f, gconstpointer data)
{
  g_autofree char *too_long = name_of_length ("c-", 200);
  g_autofree char *too_long_abs = name_of_length (f->dir, 200);
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_autofree char *missing_dir = g_build_filename (f->dir, "nodir", "s", NULL);
  g_autofree char *abstract_missing = g_strdup_printf ("ls-badinput-none-%d", (int) getpid ());

  assert_connect_fails (NULL, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails ("", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails ("", LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (too_long, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (too_long_abs, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (too_long, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                        LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (missing, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (missing_dir, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails ("\xff\x01\n odd", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails ("%s%n", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_connect_fails (abstract_missing, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                        LS_SOCKET_ERROR_CONNECTION_REFUSED);
}

static void
case_socket_connect_not_a_server (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->dir, "keep-cdir", NULL);
  g_autofree char *file = g_build_filename (f->dir, "keep-cfile", NULL);
  g_autofree char *stale = g_build_filename (f->dir, "keep-stale", NULL);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_strlcpy (addr.sun_path, stale, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  close (fd);

  assert_connect_fails (dir, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED);
  assert_connect_fails (file, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED);
  assert_connect_fails (stale, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED);
  assert_connect_fails ("keep-stale", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED);
  g_assert_true (g_file_test (stale, G_FILE_TEST_EXISTS));
}

static void
case_socket_connect_twice (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) accepted = NULL;
  LsTestSignalLog *log;
  int fd;

  ls_local_socket_connect_to_server (client, f->live_path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  fd = ls_local_socket_get_socket_descriptor (client);
  log = ls_test_signal_log_new (client);
  ls_local_socket_connect_to_server (client, f->live_path);
  ls_local_socket_connect_to_server (client, "elsewhere");
  ls_local_socket_connect_to_server (client, NULL);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "error-occurred(19) error-occurred(19) error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_error (client), ==, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (client), ==, fd);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (client), ==, f->live_path);

  /* Still the same working connection. */
  g_assert_true (ls_local_server_wait_for_new_connection (f->live, 5000, NULL, NULL));
  accepted = ls_local_server_next_pending_connection (f->live);
  ls_test_send_and_expect (client, accepted, "ok");
  ls_test_signal_log_free (log);
}

static void
assert_bytes_empty (GBytes *bytes)
{
  g_assert_nonnull (bytes);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
  g_bytes_unref (bytes);
}

/* Everything that reads, writes or waits, on a socket that is not
 * connected: either never connected, or after a connection ended. */
static void
assert_unconnected_io (LsLocalSocket *socket)
{
  LsTestSignalLog *log = ls_test_signal_log_new (socket);
  g_autoptr(GBytes) bytes = g_bytes_new ("abc", 3);
  gint64 start;

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_write (socket, NULL, 0), ==, -1);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, bytes), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_assert_false (ls_local_socket_flush (socket));

  assert_bytes_empty (ls_local_socket_read (socket, 10));
  assert_bytes_empty (ls_local_socket_read (socket, 0));
  assert_bytes_empty (ls_local_socket_read (socket, G_MAXSIZE));
  assert_bytes_empty (ls_local_socket_read_all (socket));
  assert_bytes_empty (ls_local_socket_read_line (socket, 0));
  assert_bytes_empty (ls_local_socket_read_line (socket, 5));
  assert_bytes_empty (ls_local_socket_peek (socket, 10));
  assert_bytes_empty (ls_local_socket_peek (socket, G_MAXSIZE));
  g_assert_false (ls_local_socket_can_read_line (socket));
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), ==, 0);
  g_assert_null (ls_local_socket_get_peer_credentials (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
  g_assert_false (ls_local_socket_is_valid (socket));

  /* -1 means forever; on an unconnected socket they return at once. */
  alarm (20);
  start = g_get_monotonic_time ();
  g_assert_false (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_false (ls_local_socket_wait_for_ready_read (socket, -1));
  g_assert_false (ls_local_socket_wait_for_bytes_written (socket, -1));
  g_assert_false (ls_local_socket_wait_for_disconnected (socket, -1));
  g_assert_false (ls_local_socket_wait_for_connected (socket, -100));
  g_assert_false (ls_local_socket_wait_for_ready_read (socket, -100));
  g_assert_false (ls_local_socket_wait_for_bytes_written (socket, 0));
  g_assert_false (ls_local_socket_wait_for_disconnected (socket, 0));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  alarm (0);

  /* Closing what is closed: no signals. */
  ls_local_socket_disconnect_from_server (socket);
  ls_local_socket_disconnect_from_server (socket);
  ls_local_socket_abort (socket);
  ls_local_socket_abort (socket);
  ls_local_socket_close (socket);
  ls_local_socket_close (socket);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_test_signal_log_free (log);
}

static void
case_socket_io_never_connected (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  assert_unconnected_io (socket);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNKNOWN);
}

static void
case_socket_io_after_failed_connect (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  ls_local_socket_connect_to_server (socket, "nothing-here");
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  assert_unconnected_io (socket);
}

static void
case_socket_io_after_abort (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  ls_local_socket_connect_to_server (socket, f->live_path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "dropped", 7), ==, 7);
  ls_local_socket_abort (socket);
  assert_unconnected_io (socket);
}

static void
case_socket_close_twice_connected (Fixture *f, gconstpointer data)
{
  static const struct
  {
    void        (*first) (LsLocalSocket *);
    void        (*second) (LsLocalSocket *);
    const char   *signals;
  } cases[] = {
    { ls_local_socket_abort, ls_local_socket_abort,
      "state-changed(0) read-channel-finished disconnected about-to-close " },
    { ls_local_socket_disconnect_from_server, ls_local_socket_disconnect_from_server,
      "state-changed(6) state-changed(0) read-channel-finished disconnected " },
    { ls_local_socket_close, ls_local_socket_close,
      "about-to-close state-changed(6) state-changed(0) read-channel-finished disconnected " },
    { ls_local_socket_disconnect_from_server, ls_local_socket_abort,
      "state-changed(6) state-changed(0) read-channel-finished disconnected about-to-close " },
    { ls_local_socket_abort, ls_local_socket_close,
      "state-changed(0) read-channel-finished disconnected about-to-close " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
      LsTestSignalLog *log;

      ls_local_socket_connect_to_server (socket, f->live_path);
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      log = ls_test_signal_log_new (socket);
      cases[i].first (socket);
      cases[i].second (socket);
      cases[i].second (socket);
      g_assert_cmpstr (ls_test_signal_log_get (log), ==, cases[i].signals);
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      ls_test_signal_log_free (log);
    }
}

static void
case_socket_write_zero (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  LsTestSignalLog *log;

  ls_local_socket_connect_to_server (socket, f->live_path);
  log = ls_test_signal_log_new (socket);
  g_assert_cmpint (ls_local_socket_write (socket, NULL, 0), ==, 0);
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "", 0), ==, 0);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, empty), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_assert_false (ls_local_socket_flush (socket));
  g_assert_false (ls_local_socket_wait_for_bytes_written (socket, 0));
  assert_bytes_empty (ls_local_socket_read (socket, 0));
  assert_bytes_empty (ls_local_socket_peek (socket, 0));
  drain_context ();
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_test_signal_log_free (log);
}

static void
case_socket_adopt_twice (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  int first[2], second[2];
  char buf[3] = { 0 };

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, first), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, second), ==, 0);
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, first[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  g_assert_false (ls_local_socket_set_socket_descriptor (socket, second[0],
                                                         LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_true (fd_is_open (second[0]));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, first[0]);

  /* The first connection still works both ways. */
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "out", 3), ==, 3);
  g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
  g_assert_cmpint (read (first[1], buf, 3), ==, 3);
  g_assert_cmpmem (buf, 3, "out", 3);
  g_assert_cmpint (write (first[1], "in", 2), ==, 2);
  g_assert_true (ls_local_socket_wait_for_ready_read (socket, 5000));
  got = ls_local_socket_read_all (socket);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), "in", 2);

  ls_local_socket_abort (socket);
  g_assert_false (fd_is_open (first[0]));
  close (first[1]);
  close (second[0]);
  close (second[1]);
}

/* State arguments that cannot describe an adopted descriptor. */
static void
case_socket_adopt_bad_state (Fixture *f, gconstpointer data)
{
  static const gint states[] = { LS_LOCAL_SOCKET_STATE_UNCONNECTED, 1, 4, 5, 7, 99, -1 };
  g_autoptr(GString) failures = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
      g_autoptr(GError) error = NULL;
      LsTestSignalLog *log = ls_test_signal_log_new (socket);
      int pair[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      if (ls_local_socket_set_socket_descriptor (socket, pair[0], (LsLocalSocketState) states[i],
                                                 &error))
        {
          /* The descriptor is the socket's now: do not close it twice. */
          g_string_append_printf (failures, "[state %d accepted: state now %d, valid %d, "
                                  "descriptor %d, signals “%s”] ", states[i],
                                  ls_local_socket_get_state (socket),
                                  ls_local_socket_is_valid (socket),
                                  ls_local_socket_get_socket_descriptor (socket),
                                  ls_test_signal_log_get (log));
          ls_local_socket_abort (socket);
          ls_test_signal_log_free (log);
          close (pair[1]);
          continue;
        }
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
      g_assert_true (fd_is_open (pair[0]));
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
      ls_test_signal_log_free (log);
      close (pair[0]);
      close (pair[1]);
    }
  if (failures->len > 0)
    g_test_fail_printf ("set_socket_descriptor took states that are not a socket state: %s",
                        failures->str);
}

/* Adopting in CONNECTING or CLOSING state: the socket must not stay in a
 * state it can never leave. */
static void
case_socket_adopt_odd_valid_state (Fixture *f, gconstpointer data)
{
  static const LsLocalSocketState states[] = { LS_LOCAL_SOCKET_STATE_CONNECTING,
                                               LS_LOCAL_SOCKET_STATE_CLOSING };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
      g_autoptr(GError) error = NULL;
      int pair[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      if (!ls_local_socket_set_socket_descriptor (socket, pair[0], states[i], &error))
        {
          g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
          g_assert_true (fd_is_open (pair[0]));
          close (pair[0]);
          close (pair[1]);
          continue;
        }
      g_assert_no_error (error);
      /* Taken: it must end up connected or unconnected, and closable. */
      ls_local_socket_wait_for_connected (socket, 1000);
      ls_local_socket_disconnect_from_server (socket);
      ls_local_socket_wait_for_disconnected (socket, 1000);
      drain_context ();
      g_test_message ("adopted in state %d → %d", states[i], ls_local_socket_get_state (socket));
      if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
        {
          g_test_fail_printf ("adopted in state %d, then disconnect_from_server and "
                              "wait_for_disconnected(1000): still in state %d",
                              states[i], ls_local_socket_get_state (socket));
          ls_local_socket_abort (socket);
        }
      g_assert_false (fd_is_open (pair[0]));
      close (pair[1]);
    }
}

static void
case_socket_negative_settings (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  ls_local_socket_set_read_buffer_size (socket, -1);
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (socket), >=, 0);
  ls_local_socket_set_read_buffer_size (socket, G_MININT64);
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (socket), >=, 0);
  ls_local_socket_set_connect_timeout (socket, -1);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), >=, 0);
  ls_local_socket_set_connect_timeout (socket, G_MININT);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), >=, 0);
  ls_local_socket_set_server_name (socket, NULL);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  ls_local_socket_set_server_name (socket, "");
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");

  /* Still usable afterwards. */
  ls_local_socket_connect_to_server (socket, f->live_path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

static void
case_socket_setters_while_connected (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  ls_local_socket_connect_to_server (socket, f->live_path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  /* Ignored unless unconnected (documented). */
  ls_local_socket_set_server_name (socket, "other");
  ls_local_socket_set_socket_options (socket, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, f->live_path);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket), ==, LS_SOCKET_OPTION_NONE);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

/* ------------------------------------------------------------------------ */
/* Programmer errors: NULL or wrong-type self                                 */
/* ------------------------------------------------------------------------ */

#define EXPECT_CRITICAL() \
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*assertion*failed*")

static void
case_null_self_server (Fixture *f, gconstpointer data)
{
  GError *error = NULL;

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen (NULL, "x", &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  EXPECT_CRITICAL ();
  ls_local_server_close (NULL);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_is_listening (NULL));
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_null (ls_local_server_next_pending_connection (NULL));
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_server_get_socket_descriptor (NULL), ==, -1);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_wait_for_new_connection (NULL, 0, NULL, NULL));
  g_test_assert_expected_messages ();

  /* A socket is not a server. */
  {
    g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

    EXPECT_CRITICAL ();
    g_assert_false (ls_local_server_is_listening ((LsLocalServer *) socket));
    g_test_assert_expected_messages ();
  }

  EXPECT_CRITICAL ();
  ls_local_server_add_pending_connection (f->live, NULL);
  g_test_assert_expected_messages ();
  g_assert_false (ls_local_server_has_pending_connections (f->live));

  /* A GError location that already holds an error. */
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "earlier");
  {
    g_autoptr(LsLocalServer) server = ls_local_server_new ();

    EXPECT_CRITICAL ();
    g_assert_false (ls_local_server_listen (server, "keep-x", &error));
    g_test_assert_expected_messages ();
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
    g_assert_false (ls_local_server_is_listening (server));
  }
  g_clear_error (&error);
}

static void
case_null_self_socket (Fixture *f, gconstpointer data)
{
  EXPECT_CRITICAL ();
  ls_local_socket_connect_to_server (NULL, f->live_path);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_socket_write (NULL, (const guint8 *) "x", 1), ==, -1);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_null (ls_local_socket_read (NULL, 1));
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_socket_get_state (NULL), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  ls_local_socket_abort (NULL);
  g_test_assert_expected_messages ();

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_socket_wait_for_ready_read (NULL, -1));
  g_test_assert_expected_messages ();

  /* A server is not a socket. */
  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_socket_get_state ((LsLocalSocket *) f->live), ==,
                   LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_test_assert_expected_messages ();

  /* NULL data with a size, NULL bytes. */
  {
    g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

    ls_local_socket_connect_to_server (socket, f->live_path);
    EXPECT_CRITICAL ();
    g_assert_cmpint (ls_local_socket_write (socket, NULL, 5), ==, -1);
    g_test_assert_expected_messages ();
    EXPECT_CRITICAL ();
    g_assert_cmpint (ls_local_socket_write_bytes (socket, NULL), ==, -1);
    g_test_assert_expected_messages ();
    g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
    g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  }
}

/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *path;
  void      (*func) (Fixture *, gconstpointer);
} Case;

static const Case cases[] = {
  { "server/listen/null-name", case_server_listen_null },
  { "server/listen/empty-name", case_server_listen_empty },
  { "server/listen/too-long", case_server_listen_too_long },
  { "server/listen/length-boundary", case_server_listen_length_boundary },
  { "server/listen/odd-bytes", case_server_listen_odd_bytes },
  { "server/listen/dot-names", case_server_listen_dot_names },
  { "server/listen/directory", case_server_listen_directory },
  { "server/listen/regular-file", case_server_listen_regular_file },
  { "server/listen/live-socket", case_server_listen_live_socket },
  { "server/listen/missing-dir", case_server_listen_missing_dir },
  { "server/listen/unwritable-dir", case_server_listen_unwritable_dir },
  { "server/listen/twice", case_server_listen_twice },
  { "server/close/twice", case_server_close_twice },
  { "server/wait/not-listening", case_server_wait_not_listening },
  { "server/wait/zero", case_server_wait_zero },
  { "server/next-pending/idle", case_server_next_pending_idle },
  { "server/settings/negative", case_server_negative_settings },
  { "server/settings/unknown-option-bits", case_server_unknown_option_bits },
  { "server/remove/bad", case_server_remove_bad },
  { "socket/connect/bad-names", case_socket_connect_bad_names },
  { "socket/connect/not-a-server", case_socket_connect_not_a_server },
  { "socket/connect/twice", case_socket_connect_twice },
  { "socket/io/never-connected", case_socket_io_never_connected },
  { "socket/io/after-failed-connect", case_socket_io_after_failed_connect },
  { "socket/io/after-abort", case_socket_io_after_abort },
  { "socket/close/twice-connected", case_socket_close_twice_connected },
  { "socket/write/zero", case_socket_write_zero },
  { "socket/adopt/twice", case_socket_adopt_twice },
  { "socket/adopt/bad-state", case_socket_adopt_bad_state },
  { "socket/adopt/odd-valid-state", case_socket_adopt_odd_valid_state },
  { "socket/settings/negative", case_socket_negative_settings },
  { "socket/settings/while-connected", case_socket_setters_while_connected },
  { "null-self/server", case_null_self_server },
  { "null-self/socket", case_null_self_socket },
};

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  g_main_context_default ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strconcat ("/ls/badinput/", cases[i].path, NULL);

      g_test_add (path, Fixture, NULL, fixture_setup, cases[i].func, fixture_teardown);
    }
  for (guint kind = 0; kind < N_BAD_FDS; kind++)
    {
      g_autofree char *listen_path = g_strconcat ("/ls/badinput/server/listen-fd/",
                                                  bad_fd_names[kind], NULL);
      g_autofree char *adopt_path = g_strconcat ("/ls/badinput/socket/adopt/",
                                                 bad_fd_names[kind], NULL);

      g_test_add (listen_path, Fixture, GINT_TO_POINTER (kind), fixture_setup,
                  case_listen_bad_fd, fixture_teardown);
      /* A connected socket is what adopting wants (see adopt/twice). */
      if (kind != BAD_FD_UNIX_CONNECTED)
        g_test_add (adopt_path, Fixture, GINT_TO_POINTER (kind), fixture_setup,
                    case_adopt_bad_fd, fixture_teardown);
    }

  return g_test_run ();
}
