/* test-server-listen.c: LsLocalServer listen(): relative, absolute and abstract names, backlog, twice
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


/* The address the listening descriptor is really bound to. */
static void
assert_bound_path (LsLocalServer *server,
                   const char    *path)
{
  struct sockaddr_un addr;
  socklen_t len = sizeof addr;
  int fd = ls_local_server_get_socket_descriptor (server);
  int value = 0;
  socklen_t vlen = sizeof value;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  g_assert_cmpint (addr.sun_family, ==, AF_UNIX);
  g_assert_cmpstr (addr.sun_path, ==, path);
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &vlen), ==, 0);
  g_assert_cmpint (value, !=, 0);
}

static void
test_listen_relative (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *dir2 = ls_test_make_tmpdir ();
  g_autofree char *slashed = g_strconcat (dir, "/", NULL);
  g_autofree char *full = g_build_filename (dir, "srv", NULL);
  g_autofree char *full2 = g_build_filename (dir, "srv2", NULL);
  g_autofree char *full3 = g_build_filename (dir2, "srv", NULL);
  g_autofree char *dotted = g_strconcat (dir, "/./srv4", NULL);
  g_autofree char *tmp_name = ls_test_unique_name ("rel");
  g_autofree char *tmp_name2 = ls_test_unique_name ("rel2");
  g_autofree char *tmp_full = g_build_filename ("/tmp", tmp_name, NULL);
  g_autofree char *tmp_full2 = g_build_filename ("/tmp", tmp_name2, NULL);
  LsLocalServer *s1, *s2, *s3, *s4, *s5, *s6;

  s1 = ls_test_listening_server ("srv");
  ls_test_assert_names (s1, "srv", full);
  g_assert_true (ls_test_path_is_socket (full));
  assert_bound_path (s1, full);
  ls_test_assert_serves (s1, full, FALSE);

  /* $TMPDIR is re-read on every call and cleaned of a trailing slash. */
  g_setenv ("TMPDIR", slashed, TRUE);
  s2 = ls_test_listening_server ("srv2");
  ls_test_assert_names (s2, "srv2", full2);
  g_assert_true (ls_test_path_is_socket (full2));

  /* A leading “//” is cleaned as Qt's QDir::cleanPath () does. */
  {
    g_autofree char *doubled = g_strconcat ("/", dir, "//", NULL);
    g_autoptr(LsLocalSocket) probe = ls_local_socket_new ();

    g_setenv ("TMPDIR", doubled, TRUE);
    ls_local_socket_connect_to_server (probe, "srv2");
    g_assert_cmpint (ls_local_socket_get_state (probe), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
    g_assert_cmpstr (ls_local_socket_get_full_server_name (probe), ==, full2);
  }

  g_setenv ("TMPDIR", dir2, TRUE);
  s3 = ls_test_listening_server ("srv");
  ls_test_assert_names (s3, "srv", full3);
  g_assert_true (ls_test_path_is_socket (full3));
  ls_test_assert_serves (s3, full3, FALSE);

  /* The name itself is not cleaned (Qt): "./srv4" stays in the path. */
  g_setenv ("TMPDIR", dir, TRUE);
  s4 = ls_test_listening_server ("./srv4");
  ls_test_assert_names (s4, "./srv4", dotted);
  g_assert_true (ls_test_path_is_socket (dotted));

  /* Empty or unset $TMPDIR means /tmp. */
  g_setenv ("TMPDIR", "", TRUE);
  s5 = ls_test_listening_server (tmp_name);
  ls_test_assert_names (s5, tmp_name, tmp_full);
  g_assert_true (ls_test_path_is_socket (tmp_full));
  g_unsetenv ("TMPDIR");
  s6 = ls_test_listening_server (tmp_name2);
  ls_test_assert_names (s6, tmp_name2, tmp_full2);
  g_assert_true (ls_test_path_is_socket (tmp_full2));

  ls_local_server_close (s1);
  ls_local_server_close (s2);
  ls_local_server_close (s3);
  ls_local_server_close (s4);
  ls_local_server_close (s5);
  ls_local_server_close (s6);
  g_assert_false (ls_test_path_exists (full));
  g_assert_false (ls_test_path_exists (full2));
  g_assert_false (ls_test_path_exists (full3));
  g_assert_false (ls_test_path_exists (dotted));
  g_assert_false (ls_test_path_exists (tmp_full));
  g_assert_false (ls_test_path_exists (tmp_full2));
  g_object_unref (s1);
  g_object_unref (s2);
  g_object_unref (s3);
  g_object_unref (s4);
  g_object_unref (s5);
  g_object_unref (s6);

  ls_test_remove_tmpdir (dir2);
}

static void
test_listen_absolute (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "abs", NULL);
  g_autofree char *unclean = g_strconcat (dir, "//./abs2", NULL);
  g_autofree char *clean = g_build_filename (dir, "abs2", NULL);
  g_autofree char *listing = NULL;
  LsLocalServer *s1, *s2;

  /* Absolute names ignore $TMPDIR and are used verbatim. */
  g_setenv ("TMPDIR", "/nonexistent-ls-dir", TRUE);
  s1 = ls_test_listening_server (path);
  ls_test_assert_names (s1, path, path);
  g_assert_true (ls_test_path_is_socket (path));
  assert_bound_path (s1, path);
  ls_test_assert_serves (s1, path, FALSE);

  s2 = ls_test_listening_server (unclean);
  ls_test_assert_names (s2, unclean, unclean);
  assert_bound_path (s2, unclean);
  g_assert_true (ls_test_path_is_socket (clean));
  ls_test_assert_serves (s2, unclean, FALSE);

  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "abs,abs2");

  g_object_unref (s1);
  g_object_unref (s2);
  /* dispose closes and removes the files. */
  g_clear_pointer (&listing, g_free);
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

}

static void
test_listen_abstract (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *name = ls_test_unique_name ("abstract");
  g_autofree char *in_tmp = g_build_filename ("/tmp", name, NULL);
  g_autofree char *in_dir = g_build_filename (dir, name, NULL);
  g_autofree char *slash_name = g_build_filename (dir, "abs-path-like", NULL);
  g_autofree char *listing = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *other = ls_local_server_new ();
  LsLocalServer *third = ls_local_server_new ();
  GError *error = NULL;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *socket;
  int fd;

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);
  ls_test_assert_names (server, name, name);
  ls_test_assert_bound_abstract (server, name);
  g_assert_false (ls_test_path_exists (in_tmp));
  g_assert_false (ls_test_path_exists (in_dir));
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* A padded address is a different abstract name. */
  g_assert_cmpint (ls_test_raw_connect_abstract (name, TRUE), ==, -1);
  g_assert_cmpint (errno, ==, ECONNREFUSED);

  fd = ls_test_raw_connect_abstract (name, FALSE);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, name);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, name);
  ls_test_assert_exchange (socket, fd, "abstract");
  g_object_unref (socket);
  close (fd);

  /* The abstract name is taken. */
  ls_local_server_set_socket_options (other, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_false (ls_local_server_listen (other, name, &error));
  ls_test_assert_server_failure (other, error, LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen", name);
  g_clear_error (&error);
  g_assert_false (ls_local_server_is_listening (other));

  /* A name that looks like a path, with permission bits: still no file. */
  ls_local_server_set_socket_options (third, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE |
                                             LS_SOCKET_OPTION_WORLD_ACCESS);
  g_assert_true (ls_local_server_listen (third, slash_name, &error));
  g_assert_no_error (error);
  ls_test_assert_names (third, slash_name, slash_name);
  ls_test_assert_bound_abstract (third, slash_name);
  g_assert_false (ls_test_path_exists (slash_name));
  ls_test_assert_serves (third, slash_name, TRUE);
  g_clear_pointer (&listing, g_free);
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* After close the name is free again. */
  ls_local_server_close (server);
  g_assert_true (ls_local_server_listen (other, name, &error));
  g_assert_no_error (error);
  ls_test_assert_serves (other, name, TRUE);

  g_object_unref (server);
  g_object_unref (other);
  g_object_unref (third);
}

static void
test_listen_backlog (LsTestFixture *f,
                     gconstpointer  test_data)
{
  const char *dir = f->dir;
  const char *path = f->path;
  g_autofree char *path2 = g_build_filename (dir, "s2", NULL);
  LsLocalServer *small = ls_local_server_new ();
  LsLocalServer *dflt = ls_local_server_new ();
  GError *error = NULL;
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
  guint small_ok = 0, dflt_ok = 0;

  /* Nobody iterates the loop here: connections stay in the kernel backlog,
   * whose size is what listen() was given. */
  ls_local_server_set_listen_backlog_size (small, 2);
  g_assert_true (ls_local_server_listen (small, path, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_listen (dflt, path2, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < 12; i++)
    {
      struct sockaddr_un addr;
      socklen_t len = ls_test_fill_address (&addr, path, FALSE);
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

      g_assert_cmpint (fd, >=, 0);
      g_array_append_val (fds, fd);
      if (connect (fd, (struct sockaddr *) &addr, len) == 0)
        small_ok++;
      else
        g_assert_cmpint (errno, ==, EAGAIN);

      len = ls_test_fill_address (&addr, path2, FALSE);
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      g_assert_cmpint (fd, >=, 0);
      g_array_append_val (fds, fd);
      if (connect (fd, (struct sockaddr *) &addr, len) == 0)
        dflt_ok++;
    }
  /* Linux admits backlog + 1 before refusing with EAGAIN. */
  g_assert_cmpuint (small_ok, >=, 2);
  g_assert_cmpuint (small_ok, <=, 3);
  g_assert_cmpuint (dflt_ok, ==, 12);

  ls_test_close_fds ((int *) fds->data, fds->len);
  g_array_free (fds, TRUE);
  g_object_unref (small);
  g_object_unref (dflt);
}

static void
test_listen_twice (LsTestFixture *f,
                   gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *p1 = g_build_filename (dir, "one", NULL);
  g_autofree char *p2 = g_build_filename (dir, "two", NULL);
  g_autofree char *p3 = g_build_filename (dir, "three", NULL);
  LsLocalServer *server = ls_test_listening_server (p1);
  GError *error = NULL;
  int fd, value = 0, fd_before;
  socklen_t len = sizeof value;

  fd_before = ls_local_server_get_socket_descriptor (server);

  g_assert_false (ls_local_server_listen (server, p2, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_contains (error->message, "listen");
  /* It names the server it is already listening on, or the new name. */
  if (strstr (error->message, p1) == NULL)
    ls_test_assert_contains (error->message, p2);
  g_clear_error (&error);
  g_assert_false (ls_test_path_exists (p2));

  g_assert_false (ls_local_server_listen (server, p1, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);

  /* Adopting a descriptor while listening fails too, and leaves it alone. */
  fd = ls_test_make_unix_socket (p3, FALSE, SOCK_STREAM, TRUE);
  g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_true (ls_test_fd_is_open (fd));
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len), ==, 0);
  g_assert_cmpint (value, !=, 0);
  close (fd);

  /* The first listener is unaffected. */
  g_assert_true (ls_local_server_is_listening (server));
  ls_test_assert_names (server, p1, p1);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd_before);
  g_assert_true (ls_test_path_is_socket (p1));
  ls_test_assert_serves (server, p1, FALSE);

  g_object_unref (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/listen/relative", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_relative, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/absolute", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_absolute, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/abstract", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_abstract, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/backlog", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_backlog, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/twice", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_twice, ls_test_fixture_teardown);

  return g_test_run ();
}
