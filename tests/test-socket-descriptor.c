/* test-socket-descriptor.c: LsLocalSocket adopting descriptors, peer credentials
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


static void
assert_peer_is_us (LsLocalSocket *socket)
{
  g_autoptr(GCredentials) credentials = ls_local_socket_get_peer_credentials (socket);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (credentials);
  g_assert_cmpint (g_credentials_get_unix_user (credentials, &error), ==, getuid ());
  g_assert_no_error (error);
  g_assert_cmpint (g_credentials_get_unix_pid (credentials, &error), ==, getpid ());
  g_assert_no_error (error);
}

static void
test_descriptor_socketpair (void)
{
  g_autoptr(GError) error = NULL;
  LsLocalSocket *socket = ls_local_socket_new ();
  gboolean ready = FALSE;
  char buf[8];
  int sv[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, sv[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, sv[0]);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");
  assert_peer_is_us (socket);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "ping", 4), ==, 4);
  g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
  g_assert_cmpint (read (sv[1], buf, sizeof buf), ==, 4);
  g_assert_cmpmem (buf, 4, "ping", 4);

  ls_test_raw_write_all (sv[1], "pong", 4);
  g_assert_true (ls_local_socket_wait_for_ready_read (socket, 5000));
  ls_test_assert_bytes_str (ls_local_socket_read_all (socket), "pong");

  /* The event loop serves an adopted descriptor too. */
  g_signal_connect (socket, "ready-read", G_CALLBACK (ls_test_on_flag), &ready);
  ls_test_raw_write_all (sv[1], "loop", 4);
  g_assert_true (ls_test_run_until (&ready, 5000));
  ls_test_assert_bytes_str (ls_local_socket_read_all (socket), "loop");

  /* The socket owns the descriptor: finalising closes it. */
  g_object_unref (socket);
  g_assert_true (ls_test_raw_sees_eof (sv[1], 5000));
  close (sv[1]);
}

static void
test_descriptor_connected_to_server (LsTestFixture *f,
                                     gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "named", NULL);
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *abstract = g_strdup_printf ("ls-test-socket-adopt-%d-%s", (int) getpid (), base);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *abstract_server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsLocalSocket *peer;
  int fd;

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  socket = ls_local_socket_new ();
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, fd,
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  /* Qt 6: names from getpeername(): the path the server's socket was
   * bound under (an Ls server binds in a private directory beside the
   * path, under the same name, then links it there), and its basename. */
  {
    struct sockaddr_un addr = { 0 };
    socklen_t len = sizeof addr;

    g_assert_cmpint (getpeername (fd, (struct sockaddr *) &addr, &len), ==, 0);
    ls_test_assert_private_address (fd, TRUE, path);
    g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, addr.sun_path);
  }
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "named");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, fd);
  g_assert_true (ls_local_socket_is_valid (socket));
  assert_peer_is_us (socket);

  peer = ls_test_server_take (server);
  assert_peer_is_us (peer);
  ls_test_send_and_expect (socket, peer, "x");
  g_object_unref (peer);
  g_object_unref (socket);

  /* Abstract: the name without the NUL, and the option bit set. */
  ls_local_server_set_socket_options (abstract_server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (abstract_server, abstract, &error));
  g_assert_no_error (error);
  fd = ls_test_raw_connect_abstract (abstract, FALSE);
  g_assert_cmpint (fd, >=, 0);
  socket = ls_local_socket_new ();
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, fd,
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, abstract);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, abstract);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket) & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                   !=, 0);
  g_object_unref (ls_test_server_take (abstract_server));
  g_object_unref (socket);

  g_object_unref (server);
  g_object_unref (abstract_server);
}

static void
assert_adopt_fails (LsLocalSocket *socket,
                    int            fd)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *number = g_strdup_printf ("%d", fd);

  g_assert_false (ls_local_socket_set_socket_descriptor (socket, fd,
                                                         LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  g_assert_nonnull (strstr (error->message, number));
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  ls_test_assert_socket_fresh (socket);
}

static void
test_descriptor_invalid (LsTestFixture *f,
                         gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  const char *path = f->path;
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *sock = ls_local_socket_new ();
  LsLocalSocket *connected;
  int fd;

  assert_adopt_fails (sock, -1);

  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  assert_adopt_fails (sock, fd);

  /* Not taken on failure: the caller's descriptors stay open. */
  fd = open (file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  assert_adopt_fails (sock, fd);
  g_assert_cmpint (fcntl (fd, F_GETFD), !=, -1);
  close (fd);

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  assert_adopt_fails (sock, fd);
  g_assert_cmpint (fcntl (fd, F_GETFD), !=, -1);
  close (fd);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  assert_adopt_fails (sock, fd);
  g_assert_cmpint (fcntl (fd, F_GETFD), !=, -1);
  close (fd);

  /* The object is still perfectly usable. */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_server (sock, path);
  ls_test_assert_connected_to (sock, path, path);
  connected = ls_test_server_take (server);
  g_object_unref (connected);

  g_object_unref (sock);
  g_object_unref (server);
}

static void
test_credentials (LsTestFixture *f,
                  gconstpointer  test_data)
{
  LsLocalSocket *fresh = ls_local_socket_new ();

  g_assert_null (ls_local_socket_get_peer_credentials (fresh));
  g_object_unref (fresh);

  g_assert_true (ls_local_socket_is_valid (f->client));
  g_assert_true (ls_local_socket_is_valid (f->peer));
  assert_peer_is_us (f->client);
  assert_peer_is_us (f->peer);
  ls_local_socket_disconnect_from_server (f->client);
  /* As in Qt, valid until close() or abort(). */
  g_assert_true (ls_local_socket_is_valid (f->client));
  g_assert_null (ls_local_socket_get_peer_credentials (f->client));
  ls_local_socket_close (f->client);
  g_assert_false (ls_local_socket_is_valid (f->client));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/socket/descriptor/socketpair", test_descriptor_socketpair);
  g_test_add ("/ls/socket/descriptor/connected-to-server", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_descriptor_connected_to_server, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/descriptor/invalid", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_descriptor_invalid, ls_test_fixture_teardown);
  g_test_add ("/ls/socket/credentials", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_credentials, ls_test_fixture_teardown);

  return g_test_run ();
}
