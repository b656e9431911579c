/* test-server-listen-fd.c: LsLocalServer listen_socket_descriptor()
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static void
test_listen_fd_path (LsTestFixture *f,
                     gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "adopted", NULL);
  g_autofree char *path2 = g_build_filename (dir, "adopted2", NULL);
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *server2 = ls_local_server_new ();
  GError *error = NULL;
  LsTestFileId id;
  int fd, fd2;

  /* Created blocking and without CLOEXEC: the server sets both flags. */
  fd = ls_test_make_unix_socket (path, FALSE, SOCK_STREAM, TRUE);
  ls_test_file_id_get (path, &id);
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd);
  ls_test_assert_names (server, "adopted", path);
  /* Qt 6: the abstract bit follows the descriptor's address. */
  g_assert_cmpint (ls_local_server_get_socket_options (server) & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, ==, 0);
  g_assert_true ((fcntl (fd, F_GETFL) & O_NONBLOCK) != 0);
  g_assert_true ((fcntl (fd, F_GETFD) & FD_CLOEXEC) != 0);
  ls_test_assert_serves (server, path, FALSE);

  /* close() closes the descriptor but leaves a file it did not create. */
  ls_local_server_close (server);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);
  g_assert_false (ls_test_fd_is_open (fd));
  ls_test_assert_file_unchanged (path, &id);

  /* Same for dispose. */
  fd2 = ls_test_make_unix_socket (path2, FALSE, SOCK_STREAM, TRUE);
  ls_test_file_id_get (path2, &id);
  g_assert_true (ls_local_server_listen_socket_descriptor (server2, fd2, &error));
  g_assert_no_error (error);
  ls_test_assert_names (server2, "adopted2", path2);
  g_object_unref (server2);
  g_assert_false (ls_test_fd_is_open (fd2));
  ls_test_assert_file_unchanged (path2, &id);

  g_object_unref (server);
}

static void
test_listen_fd_abstract (void)
{
  g_autofree char *base = ls_test_unique_name ("adopt");
  g_autofree char *name = g_strconcat (base, "/with/slashes", NULL);
  g_autofree char *in_tmp = g_build_filename ("/tmp", base, NULL);
  LsLocalServer *server = ls_local_server_new ();
  GError *error = NULL;
  int fd;

  fd = ls_test_make_unix_socket (name, TRUE, SOCK_STREAM, TRUE);
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd);
  /* Qt 6: no '@', no leading NUL, no basename split for abstract names. */
  ls_test_assert_names (server, name, name);
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==,
                   LS_SOCKET_OPTION_USER_ACCESS | LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  ls_test_assert_serves (server, name, TRUE);

  ls_local_server_close (server);
  g_assert_false (ls_test_fd_is_open (fd));
  g_assert_false (ls_test_path_exists (in_tmp));
  /* The name is free again. */
  fd = ls_test_make_unix_socket (name, TRUE, SOCK_STREAM, TRUE);
  close (fd);
  g_object_unref (server);
}

typedef enum
{
  BAD_FD_NEGATIVE,
  BAD_FD_CLOSED,
  BAD_FD_REGULAR_FILE,
  BAD_FD_UNBOUND_STREAM,
  BAD_FD_BOUND_NOT_LISTENING,
  BAD_FD_CONNECTED_PAIR,
  BAD_FD_UNIX_DGRAM,
  BAD_FD_UNIX_SEQPACKET_LISTENING,
  BAD_FD_INET_DGRAM,
  BAD_FD_INET_STREAM_LISTENING,
  N_BAD_FD
} BadFdKind;

static int
make_bad_fd (BadFdKind   kind,
             const char *dir,
             int        *extra)
{
  g_autofree char *path = g_strdup_printf ("%s/bad%d", dir, kind);
  struct sockaddr_in in = { .sin_family = AF_INET };
  int fd, pair[2];

  *extra = -1;
  in.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  switch (kind)
    {
    case BAD_FD_NEGATIVE:
      return -1;
    case BAD_FD_CLOSED:
      fd = socket (AF_UNIX, SOCK_STREAM, 0);
      g_assert_cmpint (fd, >=, 0);
      close (fd);
      return fd;
    case BAD_FD_REGULAR_FILE:
      fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      g_assert_cmpint (fd, >=, 0);
      return fd;
    case BAD_FD_UNBOUND_STREAM:
      return ls_test_make_unix_socket (NULL, FALSE, SOCK_STREAM, FALSE);
    case BAD_FD_BOUND_NOT_LISTENING:
      return ls_test_make_unix_socket (path, FALSE, SOCK_STREAM, FALSE);
    case BAD_FD_CONNECTED_PAIR:
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      *extra = pair[1];
      return pair[0];
    case BAD_FD_UNIX_DGRAM:
      return ls_test_make_unix_socket (path, FALSE, SOCK_DGRAM, FALSE);
    case BAD_FD_UNIX_SEQPACKET_LISTENING:
      return ls_test_make_unix_socket (path, FALSE, SOCK_SEQPACKET, TRUE);
    case BAD_FD_INET_DGRAM:
      fd = socket (AF_INET, SOCK_DGRAM, 0);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &in, sizeof in), ==, 0);
      return fd;
    case BAD_FD_INET_STREAM_LISTENING:
      fd = socket (AF_INET, SOCK_STREAM, 0);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &in, sizeof in), ==, 0);
      g_assert_cmpint (listen (fd, 4), ==, 0);
      return fd;
    default:
      g_assert_not_reached ();
    }
}

static void
test_listen_fd_invalid (LsTestFixture *f,
                        gconstpointer  test_data)
{
  const char *dir = f->dir;

  for (guint kind = 0; kind < N_BAD_FD; kind++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;
      g_autofree char *fd_text = NULL;
      int extra, flags_before = -1, fd;

      fd = make_bad_fd (kind, dir, &extra);
      if (ls_test_fd_is_open (fd))
        flags_before = fcntl (fd, F_GETFL);
      fd_text = g_strdup_printf ("%d", fd);

      g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
      ls_test_assert_contains (error->message, fd_text);
      g_assert_cmpint (ls_local_server_get_server_error (server), ==,
                       LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
      ls_test_assert_contains (ls_local_server_get_error_string (server), fd_text);
      g_clear_error (&error);

      g_assert_false (ls_local_server_is_listening (server));
      g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);
      g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
      g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");

      /* The descriptor was not taken: still open, flags untouched, also
       * after the server is gone. */
      g_object_unref (server);
      if (kind != BAD_FD_NEGATIVE && kind != BAD_FD_CLOSED)
        {
          g_assert_true (ls_test_fd_is_open (fd));
          g_assert_cmpint (fcntl (fd, F_GETFL), ==, flags_before);
          close (fd);
        }
      if (extra >= 0)
        close (extra);
    }

}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/listen-fd/path", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_fd_path, ls_test_fixture_teardown);
  g_test_add_func ("/ls/server/listen-fd/abstract", test_listen_fd_abstract);
  g_test_add ("/ls/server/listen-fd/invalid", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_fd_invalid, ls_test_fixture_teardown);

  return g_test_run ();
}
