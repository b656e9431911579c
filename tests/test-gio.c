/* test-gio.c: LsLocalServer and LsLocalSocket at the GIO boundary
 * (GSocketAddress, GSocket), and interop with GIO's own clients and servers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>

#define TIMEOUT_MS 10000

#define assert_contains(haystack, needle)                                      \
  G_STMT_START {                                                               \
    const char *h_ = (haystack), *n_ = (needle);                               \
    if (h_ == NULL || n_ == NULL || strstr (h_, n_) == NULL)                   \
      g_assertion_message_cmpstr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                                  #haystack " contains " #needle,              \
                                  h_, "contains", n_);                         \
  } G_STMT_END

#define EXPECT_CRITICAL() \
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*assertion*failed*")

typedef struct
{
  char *dir;
  char *path;        /* dir/s */
  char *abstract;    /* a name unique to this process and test */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  static guint counter;

  f->dir = ls_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "s", NULL);
  f->abstract = g_strdup_printf ("ls-test-gio-%d-%u", (int) getpid (), counter++);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  ls_test_remove_tmpdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->abstract);
}

/* The address of @type the fixture uses. */
static GSocketAddress *
fixture_address (Fixture                *f,
                 GUnixSocketAddressType  type)
{
  const char *name = type == G_UNIX_SOCKET_ADDRESS_PATH ? f->path : f->abstract;

  return g_unix_socket_address_new_with_type (name, -1, type);
}

static const char *
fixture_name (Fixture                *f,
              GUnixSocketAddressType  type)
{
  return type == G_UNIX_SOCKET_ADDRESS_PATH ? f->path : f->abstract;
}

static void
assert_unix_address (GSocketAddress         *address,
                     GUnixSocketAddressType  type,
                     const char             *path)
{
  g_assert_nonnull (address);
  g_assert_true (G_IS_UNIX_SOCKET_ADDRESS (address));
  g_assert_cmpint (g_unix_socket_address_get_address_type (G_UNIX_SOCKET_ADDRESS (address)),
                   ==, type);
  if (path != NULL)
    {
      g_assert_cmpstr (g_unix_socket_address_get_path (G_UNIX_SOCKET_ADDRESS (address)), ==, path);
      g_assert_cmpuint (g_unix_socket_address_get_path_len (G_UNIX_SOCKET_ADDRESS (address)),
                        ==, strlen (path));
    }
}

/* Every byte value, twice: an echo must return exactly these. */
static GBytes *
make_payload (void)
{
  guint8 data[512];

  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) i;
  return g_bytes_new (data, sizeof data);
}

/* Reads exactly @size bytes from @socket with the blocking calls. */
static GBytes *
ls_read_exactly (LsLocalSocket *socket,
                 gsize          size)
{
  GByteArray *got = g_byte_array_new ();

  while (got->len < size)
    {
      g_autoptr(GBytes) chunk = NULL;

      if (ls_local_socket_get_bytes_available (socket) == 0)
        g_assert_true (ls_local_socket_wait_for_ready_read (socket, TIMEOUT_MS));
      chunk = ls_local_socket_read (socket, size - got->len);
      g_byte_array_append (got, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
    }
  return g_byte_array_free_to_bytes (got);
}

static void
assert_bytes_equal (GBytes *a,
                    GBytes *b)
{
  gsize la, lb;
  const guint8 *da = g_bytes_get_data (a, &la);
  const guint8 *db = g_bytes_get_data (b, &lb);

  g_assert_cmpmem (da, la, db, lb);
}

/* Writes @payload on @connection and expects it back, byte for byte. */
static void
gio_echo_round_trip (GIOStream *connection,
                     GBytes    *payload)
{
  GOutputStream *out = g_io_stream_get_output_stream (connection);
  GInputStream *in = g_io_stream_get_input_stream (connection);
  gsize size = g_bytes_get_size (payload);
  g_autofree guint8 *back = g_malloc (size);
  GError *error = NULL;
  gsize done = 0;

  g_assert_true (g_output_stream_write_all (out, g_bytes_get_data (payload, NULL), size,
                                            &done, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (done, ==, size);
  g_assert_true (g_input_stream_read_all (in, back, size, &done, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (back, done, g_bytes_get_data (payload, NULL), size);
}

/* Serves one echo on @server's next connection with the blocking calls. */
static LsLocalSocket *
ls_echo_once (LsLocalServer *server,
              gsize          size)
{
  LsLocalSocket *peer;
  g_autoptr(GBytes) got = NULL;

  if (!ls_local_server_has_pending_connections (server))
    g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  peer = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (peer);
  got = ls_read_exactly (peer, size);
  g_assert_cmpint (ls_local_socket_write_bytes (peer, got), ==, (gssize) size);
  g_assert_true (ls_local_socket_flush (peer) || ls_local_socket_get_bytes_to_write (peer) == 0);
  return peer;
}

/* ------------------------------------------------------------------------ */
/* LsLocalServer: listen_address, get_address; a GSocketClient connects       */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GSocketClient *client;
  GSocketAddress *address;
  GBytes *payload;
  gboolean done;
} ClientThread;

/* A GIO client in a thread, so that the Ls server can serve in this one. */
static gpointer
gio_client_thread (gpointer data)
{
  ClientThread *c = data;
  g_autoptr(GSocketConnection) connection = NULL;
  GError *error = NULL;

  connection = g_socket_client_connect (c->client, G_SOCKET_CONNECTABLE (c->address), NULL, &error);
  g_assert_no_error (error);
  gio_echo_round_trip (G_IO_STREAM (connection), c->payload);
  g_atomic_int_set (&c->done, TRUE);
  return NULL;
}

static void
test_listen_address (Fixture       *f,
                     gconstpointer  data)
{
  GUnixSocketAddressType type = GPOINTER_TO_INT (data);
  const char *name = fixture_name (f, type);
  g_autoptr(GSocketAddress) address = fixture_address (f, type);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GSocketAddress) got = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GBytes) payload = make_payload ();
  g_autoptr(LsLocalSocket) peer = NULL;
  ClientThread c = { client, address, payload, FALSE };
  struct sockaddr_un addr;
  socklen_t addr_len = sizeof addr;
  GThread *thread;
  GError *error = NULL;

  g_assert_null (ls_local_server_get_address (server));
  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpstr (ls_local_server_get_server_name (server), ==, name);
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, name);
  g_assert_cmpint (!!(ls_local_server_get_socket_options (server) &
                      LS_SOCKET_OPTION_ABSTRACT_NAMESPACE), ==,
                   type != G_UNIX_SOCKET_ADDRESS_PATH);
  g_assert_cmpint (g_file_test (f->path, G_FILE_TEST_EXISTS), ==,
                   type == G_UNIX_SOCKET_ADDRESS_PATH);

  /* Exactly the sockaddr GIO makes of an abstract address. A path's
   * socket is bound under a private name and linked at the path once it
   * listens (get_address still gives the path). */
  if (type == G_UNIX_SOCKET_ADDRESS_PATH)
    ls_test_assert_private_address (ls_local_server_get_socket_descriptor (server), FALSE, name);
  else
    {
      g_assert_cmpint (getsockname (ls_local_server_get_socket_descriptor (server),
                                    (struct sockaddr *) &addr, &addr_len), ==, 0);
      g_assert_cmpuint (addr_len, ==, g_socket_address_get_native_size (address));
      g_assert_cmpuint (addr_len, ==, type == G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED
                                      ? sizeof (struct sockaddr_un)
                                      : offsetof (struct sockaddr_un, sun_path) + strlen (name) + 1);
    }

  got = ls_local_server_get_address (server);
  assert_unix_address (got, type, name);

  /* A GIO client reaches the server at that address, byte for byte. */
  thread = g_thread_new ("gio-client", gio_client_thread, &c);
  peer = ls_echo_once (server, g_bytes_get_size (payload));
  g_thread_join (thread);
  g_assert_true (c.done);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (peer), ==, name);

  ls_local_server_close (server);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  g_assert_null (ls_local_server_get_address (server));
}

/* Padded and exact abstract names are different addresses. */
static void
test_listen_address_abstract_exact (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(GSocketAddress) padded =
    g_unix_socket_address_new_with_type (f->abstract, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED);
  g_autoptr(GSocketAddress) exact =
    g_unix_socket_address_new_with_type (f->abstract, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalServer) server2 = ls_local_server_new ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  GError *error = NULL;

  g_assert_true (ls_local_server_listen_address (server, padded, &error));
  g_assert_no_error (error);
  /* The exact name is still free, and the Qt-style name reaches it. */
  ls_local_server_set_socket_options (server2, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server2, f->abstract, &error));
  g_assert_no_error (error);

  ls_local_socket_connect_to_address (socket, padded);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  g_assert_false (ls_local_server_has_pending_connections (server2));
  ls_local_socket_abort (socket);

  ls_local_socket_connect_to_address (socket, exact);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server2, TIMEOUT_MS, NULL, NULL));
}

static void
test_listen_address_options (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  GError *error = NULL;
  struct stat st;

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_lstat (f->path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_listen_address_in_use (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalServer) other = ls_local_server_new ();
  g_autoptr(GSocketAddress) abstract = fixture_address (f, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autofree char *contents = NULL;
  GError *error = NULL;

  g_assert_true (g_file_set_contents (f->path, "keep", -1, NULL));
  g_assert_false (ls_local_server_listen_address (server, address, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_contains (error->message, "listen on");
  assert_contains (error->message, f->path);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep");
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_ADDRESS_IN_USE);

  g_assert_true (ls_local_server_listen_address (other, abstract, &error));
  g_assert_no_error (error);
  g_assert_false (ls_local_server_listen_address (server, abstract, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_contains (error->message, f->abstract);
  g_clear_error (&error);

  /* Already listening. */
  g_assert_false (ls_local_server_listen_address (other, abstract, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  assert_contains (error->message, "already listening");
  g_clear_error (&error);
  g_assert_true (ls_local_server_is_listening (other));
}

/* A failure leaves no file, no listening server, and the error recorded. */
static void
assert_listen_address_fails (Fixture        *f,
                             GSocketAddress *address,
                             LsSocketError   code,
                             const char     *name,
                             const char     *reason)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GDir) dir = NULL;
  GError *error = NULL;
  guint fds = ls_test_count_open_fds ();

  g_assert_false (ls_local_server_listen_address (server, address, &error));
  g_assert_error (error, LS_SOCKET_ERROR, (int) code);
  assert_contains (error->message, "listen on");
  assert_contains (error->message, name);
  assert_contains (error->message, reason);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, code);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, error->message);
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds);
  dir = g_dir_open (f->dir, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_clear_error (&error);
}

static void
test_listen_address_bad (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) inet = g_inet_socket_address_new (loopback, 4321);
  g_autoptr(GSocketAddress) anonymous =
    g_unix_socket_address_new_with_type ("", 0, G_UNIX_SOCKET_ADDRESS_ANONYMOUS);
  g_autoptr(GSocketAddress) empty = g_unix_socket_address_new ("");
  g_autoptr(GSocketAddress) with_nul =
    g_unix_socket_address_new_with_type ("ab\0cd", 5, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(GString) long_path = g_string_new (f->dir);
  g_autoptr(GSocketAddress) too_long = NULL;
  g_autoptr(GSocketAddress) too_long_abstract = NULL;
  g_autofree char *truncated = NULL;
  g_autoptr(LsLocalServer) server = ls_local_server_new ();

  assert_listen_address_fails (f, inet, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                               "127.0.0.1:4321", "not a local socket address");
  assert_listen_address_fails (f, anonymous, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                               "anonymous", "no path or abstract name");
  assert_listen_address_fails (f, empty, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                               "“”", "empty");
  assert_listen_address_fails (f, with_nul, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                               "“ab”", "NUL byte");

  /* GIO keeps 107 bytes of a longer path: the address cannot be trusted. */
  g_string_append (long_path, "/");
  while (long_path->len < 150)
    g_string_append_c (long_path, 'x');
  too_long = g_unix_socket_address_new (long_path->str);
  truncated = g_strndup (long_path->str, 107);
  g_assert_cmpstr (g_unix_socket_address_get_path (G_UNIX_SOCKET_ADDRESS (too_long)), ==, truncated);
  assert_listen_address_fails (f, too_long, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                               truncated, "truncated");
  g_assert_false (g_file_test (truncated, G_FILE_TEST_EXISTS));
  too_long_abstract = g_unix_socket_address_new_with_type (long_path->str, -1,
                                                           G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  assert_listen_address_fails (f, too_long_abstract, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                               truncated, "truncated");

  /* NULL is a programmer error. */
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen_address (server, NULL, NULL));
  g_test_assert_expected_messages ();
  g_assert_false (ls_local_server_is_listening (server));
}

/* 106 bytes is the longest path accepted. */
static void
test_listen_address_longest (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GString) path = g_string_new (f->dir);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  GError *error = NULL;

  g_string_append (path, "/");
  while (path->len < 106)
    g_string_append_c (path, 'y');
  address = g_unix_socket_address_new (path->str);
  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, path->str);
  ls_local_socket_connect_to_server (socket, path->str);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

/* ------------------------------------------------------------------------ */
/* LsLocalServer: listen_socket                                              */
/* ------------------------------------------------------------------------ */

static GSocket *
make_listening_gsocket (GSocketAddress *address)
{
  GError *error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_DEFAULT, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_listen (socket, &error));
  g_assert_no_error (error);
  return socket;
}

static void
test_listen_socket (Fixture       *f,
                    gconstpointer  data)
{
  GUnixSocketAddressType type = GPOINTER_TO_INT (data);
  const char *name = fixture_name (f, type);
  g_autoptr(GSocketAddress) address = fixture_address (f, type);
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocket) gsocket = make_listening_gsocket (address);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) peer = NULL;
  g_autoptr(GSocketAddress) got = NULL;
  g_autoptr(GSocketClient) gclient = g_socket_client_new ();
  g_autoptr(GSocketConnection) gconnection = NULL;
  g_autoptr(GSocketConnection) accepted = NULL;
  GError *error = NULL;
  guint refs;

  /* What a GIO program would have: the socket serving a GSocketListener. */
  g_assert_true (g_socket_listener_add_socket (listener, gsocket, NULL, &error));
  g_assert_no_error (error);
  refs = G_OBJECT (gsocket)->ref_count;

  g_assert_true (ls_local_server_listen_socket (server, gsocket, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpuint (G_OBJECT (gsocket)->ref_count, ==, refs + 1);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), !=, g_socket_get_fd (gsocket));
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, name);
  if (type == G_UNIX_SOCKET_ADDRESS_PATH)
    g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "s");
  else
    g_assert_cmpstr (ls_local_server_get_server_name (server), ==, name);
  got = ls_local_server_get_address (server);
  assert_unix_address (got, type, name);

  ls_local_socket_connect_to_address (client, address);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  peer = ls_local_server_next_pending_connection (server);
  ls_test_send_and_expect (client, peer, "through the adopted socket");

  /* Ls lets go: the caller's GSocket stays open, listening and usable. */
  ls_local_server_close (server);
  g_assert_cmpuint (G_OBJECT (gsocket)->ref_count, ==, refs);
  g_assert_false (g_socket_is_closed (gsocket));
  g_assert_cmpint (fcntl (g_socket_get_fd (gsocket), F_GETFD), >=, 0);
  if (type == G_UNIX_SOCKET_ADDRESS_PATH)
    g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));

  gconnection = g_socket_client_connect (gclient, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  accepted = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (accepted);

  /* And Ls can adopt it again. */
  g_assert_true (ls_local_server_listen_socket (server, gsocket, &error));
  g_assert_no_error (error);
  g_clear_object (&server);
  g_assert_cmpuint (G_OBJECT (gsocket)->ref_count, ==, refs);
  g_assert_false (g_socket_is_closed (gsocket));
}

/* The GSocket that g_socket_listener_add_address () made, found through
 * the listener's "event" signal. */
static void
on_listener_event (GSocketListener      *listener,
                   GSocketListenerEvent  event,
                   GSocket              *socket,
                   gpointer              user_data)
{
  GSocket **out = user_data;

  if (event == G_SOCKET_LISTENER_LISTENED)
    g_set_object (out, socket);
}

static void
test_listen_socket_from_listener (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocket) gsocket = NULL;
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  GError *error = NULL;

  g_signal_connect (listener, "event", G_CALLBACK (on_listener_event), &gsocket);
  g_assert_true (g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (gsocket);

  g_assert_true (ls_local_server_listen_socket (server, gsocket, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_server (client, f->path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  g_clear_object (&server);
  g_assert_false (g_socket_is_closed (gsocket));
  g_socket_listener_close (listener);
}

static void
assert_listen_socket_fails (GSocket    *gsocket,
                            const char *address,
                            const char *reason)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  GError *error = NULL;
  guint fds = ls_test_count_open_fds ();
  gboolean was_closed = g_socket_is_closed (gsocket);

  g_assert_false (ls_local_server_listen_socket (server, gsocket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  assert_contains (error->message, "listen on");
  if (address != NULL)
    assert_contains (error->message, address);
  assert_contains (error->message, reason);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==,
                   LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds);
  g_assert_cmpint (g_socket_is_closed (gsocket), ==, was_closed);
  g_clear_error (&error);
}

static void
test_listen_socket_bad (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) inet_any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) path = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(GSocketAddress) dgram_path = NULL;
  g_autoptr(GSocket) udp = NULL;
  g_autoptr(GSocket) dgram = NULL;
  g_autoptr(GSocket) unlistened = NULL;
  g_autoptr(GSocket) closed = NULL;
  g_autoptr(GSocketAddress) abstract = fixture_address (f, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autofree char *dgram_name = g_build_filename (f->dir, "d", NULL);
  GError *error = NULL;

  udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (udp, inet_any, FALSE, &error));
  g_assert_no_error (error);
  assert_listen_socket_fails (udp, "127.0.0.1:", "not a local (AF_UNIX) socket");

  dgram = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT,
                        &error);
  g_assert_no_error (error);
  dgram_path = g_unix_socket_address_new (dgram_name);
  g_assert_true (g_socket_bind (dgram, dgram_path, FALSE, &error));
  g_assert_no_error (error);
  assert_listen_socket_fails (dgram, dgram_name, "not a stream");

  unlistened = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (unlistened, path, FALSE, &error));
  g_assert_no_error (error);
  assert_listen_socket_fails (unlistened, f->path, "not listening");

  closed = make_listening_gsocket (abstract);
  g_assert_true (g_socket_close (closed, NULL));
  assert_listen_socket_fails (closed, "GSocket", "closed");

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen_socket (server, NULL, NULL));
  g_test_assert_expected_messages ();
  g_assert_false (ls_local_server_is_listening (server));
}

/* ------------------------------------------------------------------------ */
/* LsLocalSocket: connect_to_address against GIO servers                     */
/* ------------------------------------------------------------------------ */

static void
test_connect_address_listener (Fixture       *f,
                               gconstpointer  data)
{
  GUnixSocketAddressType type = GPOINTER_TO_INT (data);
  const char *name = fixture_name (f, type);
  g_autoptr(GSocketAddress) address = fixture_address (f, type);
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(LsTestSignalLog) log = ls_test_signal_log_new (socket);
  g_autoptr(GSocketConnection) accepted = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GBytes) payload = make_payload ();
  g_autoptr(GBytes) back = NULL;
  gsize size = g_bytes_get_size (payload);
  g_autofree guint8 *buffer = g_malloc (size);
  GError *error = NULL;
  gsize done = 0;

  g_assert_true (g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error));
  g_assert_no_error (error);

  ls_local_socket_connect_to_address (socket, address);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "state-changed(2) state-changed(3) connected ");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, name);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, name);

  remote = ls_local_socket_get_remote_address (socket);
  assert_unix_address (remote, type, name);
  local = ls_local_socket_get_local_address (socket);
  assert_unix_address (local, G_UNIX_SOCKET_ADDRESS_ANONYMOUS, NULL);

  accepted = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, payload), ==, (gssize) size);
  g_assert_true (ls_local_socket_flush (socket) || ls_local_socket_get_bytes_to_write (socket) == 0);
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (accepted)),
                                          buffer, size, &done, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, done, g_bytes_get_data (payload, NULL), size);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (accepted)),
                                            buffer, size, &done, NULL, &error));
  g_assert_no_error (error);
  back = ls_read_exactly (socket, size);
  assert_bytes_equal (back, payload);
  g_socket_listener_close (listener);
}

typedef struct
{
  gsize size;
  gboolean served;
} ServiceData;

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  ServiceData *d = user_data;
  g_autofree guint8 *buffer = g_malloc (d->size);
  gsize done = 0;

  /* The client wrote everything before the loop ran: blocking is fine. */
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          buffer, d->size, &done, NULL, NULL));
  g_assert_cmpuint (done, ==, d->size);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            buffer, d->size, &done, NULL, NULL));
  d->served = TRUE;
  return TRUE;
}

static void
test_connect_address_service (Fixture       *f,
                              gconstpointer  data)
{
  GUnixSocketAddressType type = GPOINTER_TO_INT (data);
  g_autoptr(GSocketAddress) address = fixture_address (f, type);
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GBytes) payload = make_payload ();
  g_autoptr(GBytes) back = NULL;
  ServiceData d = { g_bytes_get_size (payload), FALSE };
  GError *error = NULL;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                                NULL, NULL, &error));
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), &d);
  g_socket_service_start (service);

  ls_local_socket_connect_to_address (socket, address);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_local_socket_write_bytes (socket, payload);
  g_assert_true (ls_local_socket_flush (socket) || ls_local_socket_get_bytes_to_write (socket) == 0);
  g_assert_true (ls_test_run_until (&d.served, TIMEOUT_MS));
  back = ls_read_exactly (socket, d.size);
  assert_bytes_equal (back, payload);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
}

/* The Ls pair, server side: names and addresses of an accepted socket. */
static void
test_accepted_addresses (Fixture       *f,
                         gconstpointer  data)
{
  GUnixSocketAddressType type = GPOINTER_TO_INT (data);
  const char *name = fixture_name (f, type);
  g_autoptr(GSocketAddress) address = fixture_address (f, type);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) peer = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  GError *error = NULL;

  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_address (client, address);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  peer = ls_local_server_next_pending_connection (server);

  local = ls_local_socket_get_local_address (peer);
  /* A path's socket was bound under a private name beside the path. */
  if (type == G_UNIX_SOCKET_ADDRESS_PATH)
    ls_test_assert_private_address (ls_local_socket_get_socket_descriptor (peer), FALSE, name);
  else
    assert_unix_address (local, type, name);
  remote = ls_local_socket_get_remote_address (peer);
  assert_unix_address (remote, G_UNIX_SOCKET_ADDRESS_ANONYMOUS, NULL);
  ls_test_send_and_expect (client, peer, "abc");
  ls_test_send_and_expect (peer, client, "def");

  ls_local_socket_abort (client);
  g_assert_null (ls_local_socket_get_local_address (client));
  g_assert_null (ls_local_socket_get_remote_address (client));
}

static void
assert_connect_address_fails (GSocketAddress *address,
                              LsSocketError   code,
                              const char     *name,
                              const char     *reason)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(LsTestSignalLog) log = ls_test_signal_log_new (socket);
  g_autofree char *expected = g_strdup_printf ("state-changed(2) error-occurred(%d) "
                                               "state-changed(0) ", code);
  guint fds = ls_test_count_open_fds ();

  ls_local_socket_connect_to_address (socket, address);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, expected);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, code);
  assert_contains (ls_local_socket_get_error_string (socket), "connect to");
  assert_contains (ls_local_socket_get_error_string (socket), name);
  assert_contains (ls_local_socket_get_error_string (socket), reason);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
  g_assert_null (ls_local_socket_get_socket (socket));
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds);
}

static void
test_connect_address_bad (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) inet = g_inet_socket_address_new (loopback, 4321);
  g_autoptr(GSocketAddress) anonymous =
    g_unix_socket_address_new_with_type ("", 0, G_UNIX_SOCKET_ADDRESS_ANONYMOUS);
  g_autoptr(GSocketAddress) missing = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(GSocketAddress) missing_abstract = fixture_address (f, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(GString) long_path = g_string_new (f->dir);
  g_autoptr(GSocketAddress) too_long = NULL;
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  assert_connect_address_fails (inet, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                                "127.0.0.1:4321", "not a local socket address");
  assert_connect_address_fails (anonymous, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                                "anonymous", "no path or abstract name");
  assert_connect_address_fails (missing, LS_SOCKET_ERROR_SERVER_NOT_FOUND, f->path, "no server is listening");
  assert_connect_address_fails (missing_abstract, LS_SOCKET_ERROR_CONNECTION_REFUSED,
                                f->abstract, "refused");
  g_string_append (long_path, "/");
  while (long_path->len < 150)
    g_string_append_c (long_path, 'x');
  too_long = g_unix_socket_address_new (long_path->str);
  assert_connect_address_fails (too_long, LS_SOCKET_ERROR_SERVER_NOT_FOUND, f->dir, "truncated");

  EXPECT_CRITICAL ();
  ls_local_socket_connect_to_address (socket, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
}

/* Connecting while connected: OPERATION, the connection is kept. */
static void
test_connect_address_busy (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(LsTestSignalLog) log = NULL;
  GError *error = NULL;

  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_address (socket, address);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  log = ls_test_signal_log_new (socket);
  ls_local_socket_connect_to_address (socket, address);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

/* ------------------------------------------------------------------------ */
/* LsLocalSocket: get_socket                                                 */
/* ------------------------------------------------------------------------ */

static void
test_get_socket (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_PATH);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) peer = NULL;
  g_autoptr(GSocket) kept = NULL;
  g_autoptr(GCredentials) credentials = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  GSocket *gsocket;
  GError *error = NULL;
  int type = 0;
  guint fds;

  g_assert_null (ls_local_socket_get_socket (client));
  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_address (client, address);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  peer = ls_local_server_next_pending_connection (server);

  fds = ls_test_count_open_fds ();
  gsocket = ls_local_socket_get_socket (client);
  g_assert_true (G_IS_SOCKET (gsocket));
  g_assert_true (ls_local_socket_get_socket (client) == gsocket);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds + 1);
  g_assert_cmpint (g_socket_get_fd (gsocket), !=, ls_local_socket_get_socket_descriptor (client));
  g_assert_cmpint (g_socket_get_family (gsocket), ==, G_SOCKET_FAMILY_UNIX);
  g_assert_true (g_socket_get_option (gsocket, SOL_SOCKET, SO_TYPE, &type, &error));
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, SOCK_STREAM);
  credentials = g_socket_get_credentials (gsocket, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_credentials_get_unix_pid (credentials, NULL), ==, getpid ());
  remote = g_socket_get_remote_address (gsocket, &error);
  g_assert_no_error (error);
  assert_unix_address (remote, G_UNIX_SOCKET_ADDRESS_PATH, NULL);
  /* The server's socket was bound under a private name beside the path. */
  ls_test_assert_private_address (g_socket_get_fd (gsocket), TRUE, f->path);

  /* Ls's own I/O is unaffected. */
  ls_test_send_and_expect (client, peer, "still buffered by Ls");

  /* The end of the connection closes and drops it: the peer sees the end
   * (the duplicate does not keep the connection alive). */
  kept = g_object_ref (gsocket);
  ls_local_socket_abort (client);
  g_assert_true (g_socket_is_closed (kept));
  g_assert_null (ls_local_socket_get_socket (client));
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds - 1);
  g_assert_true (ls_local_socket_wait_for_disconnected (peer, TIMEOUT_MS));

  /* A new connection gets a new one. */
  ls_local_socket_connect_to_address (client, address);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  gsocket = ls_local_socket_get_socket (client);
  g_assert_nonnull (gsocket);
  g_assert_true (gsocket != kept);
  g_assert_false (g_socket_is_closed (gsocket));
}

/* A socket disposed with its GSocket: nothing leaks, the peer sees the end. */
static void
test_get_socket_dispose (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GSocketAddress) address = fixture_address (f, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  LsLocalSocket *client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) peer = NULL;
  g_autoptr(GSocket) kept = NULL;
  GError *error = NULL;

  g_assert_true (ls_local_server_listen_address (server, address, &error));
  g_assert_no_error (error);
  ls_local_socket_connect_to_address (client, address);
  g_assert_true (ls_local_server_wait_for_new_connection (server, TIMEOUT_MS, NULL, NULL));
  peer = ls_local_server_next_pending_connection (server);
  kept = g_object_ref (ls_local_socket_get_socket (peer));
  g_assert_nonnull (ls_local_socket_get_socket (client));
  g_object_unref (client);
  g_assert_true (ls_local_socket_wait_for_disconnected (peer, TIMEOUT_MS));
  g_assert_true (g_socket_is_closed (kept));
}

int
main (int argc, char **argv)
{
  static const struct { const char *name; GUnixSocketAddressType type; } types[] = {
    { "path", G_UNIX_SOCKET_ADDRESS_PATH },
    { "abstract", G_UNIX_SOCKET_ADDRESS_ABSTRACT },
    { "abstract-padded", G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED },
  };

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      gconstpointer type = GINT_TO_POINTER (types[i].type);
      g_autofree char *p1 = g_strdup_printf ("/ls/gio/server/listen-address/%s", types[i].name);
      g_autofree char *p2 = g_strdup_printf ("/ls/gio/server/listen-socket/%s", types[i].name);
      g_autofree char *p3 = g_strdup_printf ("/ls/gio/socket/connect-address/listener/%s",
                                             types[i].name);
      g_autofree char *p4 = g_strdup_printf ("/ls/gio/socket/connect-address/service/%s",
                                             types[i].name);
      g_autofree char *p5 = g_strdup_printf ("/ls/gio/socket/addresses/%s", types[i].name);

      ADD (p1, test_listen_address, type);
      ADD (p2, test_listen_socket, type);
      ADD (p3, test_connect_address_listener, type);
      ADD (p4, test_connect_address_service, type);
      ADD (p5, test_accepted_addresses, type);
    }
  ADD ("/ls/gio/server/listen-address/abstract-exact-vs-padded",
       test_listen_address_abstract_exact, NULL);
  ADD ("/ls/gio/server/listen-address/options", test_listen_address_options, NULL);
  ADD ("/ls/gio/server/listen-address/in-use", test_listen_address_in_use, NULL);
  ADD ("/ls/gio/server/listen-address/bad", test_listen_address_bad, NULL);
  ADD ("/ls/gio/server/listen-address/longest", test_listen_address_longest, NULL);
  ADD ("/ls/gio/server/listen-socket/from-listener", test_listen_socket_from_listener, NULL);
  ADD ("/ls/gio/server/listen-socket/bad", test_listen_socket_bad, NULL);
  ADD ("/ls/gio/socket/connect-address/bad", test_connect_address_bad, NULL);
  ADD ("/ls/gio/socket/connect-address/busy", test_connect_address_busy, NULL);
  ADD ("/ls/gio/socket/get-socket/basic", test_get_socket, NULL);
  ADD ("/ls/gio/socket/get-socket/dispose", test_get_socket_dispose, NULL);

  return g_test_run ();
}
