/* test-socket-connect.c: LsLocalSocket defaults and connecting
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 * Peers are an LsLocalServer or, for the wire format, a raw listener.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>


/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */
/* ------------------------------------------------------------------------ */

static void
test_defaults (void)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);
  const guint8 data[] = "data";
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, 4);
  LsSocketOptions options = 99;
  gint timeout = 0;

  g_assert_true (LS_IS_LOCAL_SOCKET (socket));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");
  g_assert_cmpint (ls_local_socket_get_socket_options (socket), ==, LS_SOCKET_OPTION_NONE);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), ==, 30000);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpstr (ls_local_socket_get_error_string (socket), ==, "Unknown error");
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_assert_false (ls_local_socket_can_read_line (socket));
  g_assert_false (ls_local_socket_flush (socket));
  g_assert_false (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (socket), ==, 0);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
  g_assert_null (ls_local_socket_get_peer_credentials (socket));

  g_object_get (socket, "socket-options", &options, "connect-timeout", &timeout, NULL);
  g_assert_cmpint (options, ==, LS_SOCKET_OPTION_NONE);
  g_assert_cmpint (timeout, ==, 30000);

  /* Reads give an empty GBytes, never NULL. */
  ls_test_assert_bytes_str (ls_local_socket_read (socket, 16), "");
  ls_test_assert_bytes_str (ls_local_socket_read_all (socket), "");
  ls_test_assert_bytes_str (ls_local_socket_read_line (socket, 0), "");
  ls_test_assert_bytes_str (ls_local_socket_peek (socket, 16), "");

  /* Nothing can be written while unconnected. */
  g_assert_cmpint (ls_local_socket_write (socket, data, 4), ==, -1);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, bytes), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);

  /* Not connecting: both return at once, even without a timeout. */
  g_assert_false (ls_local_socket_wait_for_connected (socket, 0));
  g_assert_false (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_false (ls_local_socket_wait_for_ready_read (socket, 0));
  g_assert_false (ls_local_socket_wait_for_ready_read (socket, -1));

  /* abort / close / disconnect on a fresh socket: no signals. */
  ls_local_socket_abort (socket);
  ls_local_socket_close (socket);
  ls_local_socket_disconnect_from_server (socket);
  /* Fixed wait: asserts that nothing comes. */
  ls_test_run_for (20);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  ls_test_assert_socket_fresh (socket);

  /* Setters round-trip. */
  ls_local_socket_set_server_name (socket, "some-name");
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "some-name");
  ls_local_socket_set_socket_options (socket, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket), ==, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  ls_local_socket_set_connect_timeout (socket, 1234);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), ==, 1234);
  ls_local_socket_set_read_buffer_size (socket, 4096);
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (socket), ==, 4096);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  ls_test_signal_log_free (log);
  g_object_unref (socket);
}

/* ------------------------------------------------------------------------ */
/* Connecting                                                               */
/* ------------------------------------------------------------------------ */

/* Connects a fresh socket to @name and checks the success sequence. */
static LsLocalSocket *
connect_ok (const char      *name,
            LsSocketOptions  options,
            const char      *expect_server_name,
            const char      *expect_full_name)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);

  ls_local_socket_set_socket_options (socket, options);
  ls_local_socket_connect_to_server (socket, name);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  ls_test_assert_connected_to (socket, expect_server_name, expect_full_name);
  ls_test_signal_log_free (log);
  return socket;
}

/* Connects a fresh socket to @name and checks the failure sequence. */
static void
connect_fails (const char      *name,
               LsSocketOptions  options,
               LsSocketError    expected,
               const char      *expect_path)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);
  g_autofree char *want = g_strdup_printf ("state-changed(2) error-occurred(%d) state-changed(0) ",
                                           expected);

  ls_local_socket_set_socket_options (socket, options);
  ls_local_socket_connect_to_server (socket, name);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_assert_socket_fresh (socket);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, expected);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");
  ls_test_assert_error_text (ls_local_socket_get_error_string (socket), "connect", expect_path);

  /* Nothing happens later either (no retry, no second error).
   * A fixed wait: asserts that nothing comes. */
  ls_test_run_for (30);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
}

static void
test_connect_relative (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *other = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "srv", NULL);
  g_autofree char *other_path = g_build_filename (other, "srv", NULL);
  g_autofree char *dir_slash = g_strconcat (dir, "/", NULL);
  g_autofree char *dir_base = g_path_get_basename (dir);
  g_autofree char *in_tmp = g_strconcat (dir_base, "/srv", NULL);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsLocalSocket *peer;

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  /* The fixture points $TMPDIR at dir. */
  socket = connect_ok ("srv", LS_SOCKET_OPTION_NONE, "srv", path);
  /* The accepted side reports the server's path and its basename (Qt 6). */
  peer = ls_test_server_take (server);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (peer), ==, path);
  g_assert_cmpstr (ls_local_socket_get_server_name (peer), ==, "srv");
  g_object_unref (peer);
  g_object_unref (socket);

  /* A trailing slash in $TMPDIR is cleaned away, as Qt does. */
  g_setenv ("TMPDIR", dir_slash, TRUE);
  socket = connect_ok ("srv", LS_SOCKET_OPTION_NONE, "srv", path);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);

  /* $TMPDIR is re-read on every call. */
  g_setenv ("TMPDIR", other, TRUE);
  connect_fails ("srv", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, other_path);

  /* Unset or empty $TMPDIR means /tmp (where ls_test_make_tmpdir() lives). */
  g_assert_true (g_str_has_prefix (dir, "/tmp/"));
  g_unsetenv ("TMPDIR");
  socket = connect_ok (in_tmp, LS_SOCKET_OPTION_NONE, in_tmp, path);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);
  g_setenv ("TMPDIR", "", TRUE);
  socket = connect_ok (in_tmp, LS_SOCKET_OPTION_NONE, in_tmp, path);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);

  g_object_unref (server);
  ls_test_remove_tmpdir (other);
}

static void
test_connect_absolute (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "abs", NULL);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsTestSignalLog *log;
  char buf[8];

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  socket = connect_ok (path, LS_SOCKET_OPTION_NONE, path, path);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);

  /* connect_to_server (NULL) uses the server-name property. */
  socket = ls_local_socket_new ();
  log = ls_test_signal_log_new (socket);
  ls_local_socket_set_server_name (socket, path);
  ls_local_socket_connect_to_server (socket, NULL);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  ls_test_assert_connected_to (socket, path, path);
  ls_test_signal_log_free (log);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);

  /* The server need not accept for the connect to succeed, and the
   * connection is real: data goes through a raw accept(). */
  {
    int listen_fd;
    int peer_fd;
    g_autofree char *raw_path = g_build_filename (dir, "raw", NULL);

    listen_fd = ls_test_raw_listen (raw_path, 4);
    socket = connect_ok (raw_path, LS_SOCKET_OPTION_NONE, raw_path, raw_path);
    peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint (peer_fd, >=, 0);
    g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "abc", 3), ==, 3);
    g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
    g_assert_cmpint (read (peer_fd, buf, sizeof buf), ==, 3);
    g_assert_cmpmem (buf, 3, "abc", 3);
    g_object_unref (socket);
    g_assert_true (ls_test_raw_sees_eof (peer_fd, 5000));
    close (peer_fd);
    close (listen_fd);
  }

  g_object_unref (server);
}

static void
test_connect_abstract (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *name = g_strdup_printf ("ls-test-socket-%d-%s", (int) getpid (), base);
  g_autofree char *slash_name = g_strdup_printf ("/ls-test-socket-%d-%s/x", (int) getpid (), base);
  g_autofree char *raw_name = g_strdup_printf ("ls-test-socket-raw-%d-%s", (int) getpid (), base);
  g_autofree char *file_path = g_build_filename (dir, "file-server", NULL);
  g_autofree char *tmp_name = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *slash_server = ls_local_server_new ();
  LsLocalServer *file_server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsLocalSocket *peer;
  int raw_fd;
  int peer_fd;

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);

  socket = connect_ok (name, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, name, name);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket), ==, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  peer = ls_test_server_take (server);
  ls_test_send_and_expect (socket, peer, "hi");
  g_object_unref (peer);
  g_object_unref (socket);
  /* No file anywhere: not in $TMPDIR, not in the current directory. */
  g_assert_false (g_file_test (tmp_name, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (name, G_FILE_TEST_EXISTS));

  /* A name starting with '/' is still used verbatim as abstract address. */
  ls_local_server_set_socket_options (slash_server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (slash_server, slash_name, &error));
  g_assert_no_error (error);
  socket = connect_ok (slash_name, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, slash_name, slash_name);
  g_object_unref (ls_test_server_take (slash_server));
  g_object_unref (socket);

  /* Wire format: an unpadded abstract address (Qt 6), so a raw listener
   * bound that way is found. */
  raw_fd = ls_test_make_unix_socket (raw_name, TRUE, SOCK_STREAM | SOCK_CLOEXEC, TRUE);
  socket = connect_ok (raw_name, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, raw_name, raw_name);
  peer_fd = accept4 (raw_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (peer_fd, >=, 0);
  g_object_unref (socket);
  g_assert_true (ls_test_raw_sees_eof (peer_fd, 5000));
  close (peer_fd);
  close (raw_fd);

  /* Mismatches, as in Qt's listenAndConnectAbstractNamespace:
   * abstract server + path client -> nothing at $TMPDIR/name;
   * file server + abstract client -> nobody listens at that abstract name. */
  connect_fails (name, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, tmp_name);
  g_assert_true (ls_local_server_listen (file_server, file_path, &error));
  g_assert_no_error (error);
  connect_fails (file_path, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                 LS_SOCKET_ERROR_CONNECTION_REFUSED, file_path);

  g_object_unref (server);
  g_object_unref (slash_server);
  g_object_unref (file_server);
}

static void
test_connect_failures (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *missing_dir = g_build_filename (dir, "nodir", "x", NULL);
  g_autofree char *stale = g_build_filename (dir, "stale", NULL);
  g_autofree char *regular = g_build_filename (dir, "regular", NULL);
  g_autofree char *directory = g_build_filename (dir, "directory", NULL);
  g_autofree char *long_path = NULL;
  g_autofree char *max_path = NULL;
  g_autofree char *long_abstract = NULL;
  g_autoptr(GError) error = NULL;
  LsLocalServer *server;
  LsLocalSocket *socket;
  GString *buf;
  struct stat st;

  connect_fails (missing, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, missing);
  connect_fails (missing_dir, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, missing_dir);

  ls_test_make_stale_socket (stale);
  connect_fails (stale, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED, stale);
  g_assert_no_errno (lstat (stale, &st));
  g_assert_true (S_ISSOCK (st.st_mode));

  g_assert_true (g_file_set_contents (regular, "not a socket", -1, NULL));
  connect_fails (regular, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED, regular);
  g_assert_true (g_file_test (regular, G_FILE_TEST_IS_REGULAR));

  g_assert_no_errno (g_mkdir (directory, 0700));
  connect_fails (directory, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_CONNECTION_REFUSED, directory);

  /* Empty name, and NULL with no server-name set. */
  connect_fails ("", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, NULL);
  connect_fails (NULL, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, NULL);
  connect_fails ("", LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, NULL);

  /* 108 bytes: one too many for sun_path. A regular file sits there, so a
   * truncating or otherwise sloppy implementation would get something else
   * than SERVER_NOT_FOUND. The file is not touched. */
  buf = g_string_new (dir);
  g_string_append_c (buf, '/');
  while (buf->len < 108)
    g_string_append_c (buf, 'L');
  long_path = g_string_free (buf, FALSE);
  g_assert_cmpuint (strlen (long_path), ==, 108);
  g_assert_true (g_file_set_contents (long_path, "x", -1, NULL));
  connect_fails (long_path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, NULL);
  g_assert_true (g_file_test (long_path, G_FILE_TEST_IS_REGULAR));

  long_abstract = g_strnfill (108, 'a');
  connect_fails (long_abstract, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                 LS_SOCKET_ERROR_SERVER_NOT_FOUND, NULL);

  /* 107 bytes is the longest usable path: it works. */
  max_path = g_strndup (long_path, 107);
  max_path[106] = 'M';
  server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (server, max_path, &error));
  g_assert_no_error (error);
  socket = connect_ok (max_path, LS_SOCKET_OPTION_NONE, max_path, max_path);
  g_object_unref (ls_test_server_take (server));
  g_object_unref (socket);
  g_object_unref (server);

  /* connect_to_server (NULL) after a failure: the name was cleared. */
  socket = ls_local_socket_new ();
  ls_local_socket_set_server_name (socket, missing);
  ls_local_socket_connect_to_server (socket, NULL);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_object_unref (socket);

}

/* EACCES: the socket file is 0700 and owned by root; user nobody may not
 * connect. As root (which bypasses permission checks) the connect runs in a
 * child process (g_test_trap_subprocess: fork + exec of this test) that drops
 * to nobody; it reports through its exit status. */
static void
test_connect_access (LsTestFixture *f,
                     gconstpointer  test_data)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  LsLocalServer *server;
  struct stat st;

  if (g_test_subprocess ())
    {
      const char *target = g_getenv ("LS_TEST_ACCESS_PATH");
      struct passwd *pw = getpwnam ("nobody");
      uid_t uid = pw != NULL ? pw->pw_uid : 65534;
      gid_t gid = pw != NULL ? pw->pw_gid : 65534;

      g_assert_nonnull (target);
      g_assert_no_errno (setgroups (0, NULL));
      g_assert_no_errno (setgid (gid));
      g_assert_no_errno (setuid (uid));
      g_assert_cmpint (geteuid (), !=, 0);
      connect_fails (target, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SOCKET_ACCESS, target);
      return;
    }

  dir = ls_test_make_tmpdir ();
  path = g_build_filename (dir, "private", NULL);
  server = ls_local_server_new ();
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_no_errno (stat (path, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  if (getuid () == 0)
    {
      /* Let nobody reach the socket: only its own mode may refuse. */
      g_assert_no_errno (chmod (dir, 0755));
      g_setenv ("LS_TEST_ACCESS_PATH", path, TRUE);
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_unsetenv ("LS_TEST_ACCESS_PATH");
      g_test_trap_assert_passed ();
    }
  else
    {
      g_assert_no_errno (chmod (path, 0));
      connect_fails (path, LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SOCKET_ACCESS, path);
    }

  g_object_unref (server);
}

static void
test_connect_while_connected (LsTestFixture *f,
                              gconstpointer  test_data)
{
  LsTestSignalLog *log;
  g_autofree char *other = NULL;

  other = g_build_filename (f->dir, "other", NULL);
  log = ls_test_signal_log_new (f->client);

  ls_local_socket_connect_to_server (f->client, f->path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (f->client), ==, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_error_text (ls_local_socket_get_error_string (f->client), "connect", NULL);

  ls_test_signal_log_clear (log);
  ls_local_socket_connect_to_server (f->client, other);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (f->client));
  g_assert_cmpstr (ls_local_socket_get_full_server_name (f->client), ==, f->path);

  /* The existing connection is untouched. */
  ls_test_signal_log_clear (log);
  ls_test_send_and_expect (f->client, f->peer, "still");

  ls_test_signal_log_free (log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/socket/defaults", test_defaults);

  g_test_add ("/ls/socket/connect/relative", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_connect_relative, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/connect/absolute", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_connect_absolute, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/connect/abstract", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_connect_abstract, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/connect/failures", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_connect_failures, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/connect/access-denied", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_connect_access, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/connect/while-connected", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_connect_while_connected, ls_test_fixture_teardown);

  return g_test_run ();
}
