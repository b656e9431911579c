/* test-server-accept.c: LsLocalServer new-connection, the pending queue and accept() under EMFILE
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


static void
test_new_connection_exchange (LsTestFixture *f,
                              gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  g_autoptr(GCredentials) creds = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *got = NULL;
  GError *error = NULL;
  LsLocalSocket *socket;
  gboolean ready = FALSE;
  int fd;

  g_assert_false (ls_local_server_has_pending_connections (server));
  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  g_assert_cmpuint (log->not_queued, ==, 0);
  g_assert_true (ls_local_server_has_pending_connections (server));
  /* Fixed wait: no second emission for one connection. */
  ls_test_run_for (100);
  g_assert_cmpuint (log->count, ==, 1);

  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_assert_true (LS_IS_LOCAL_SOCKET (socket));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &socket);

  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), >=, 0);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), !=,
                   ls_local_server_get_socket_descriptor (server));
  /* Qt 6: accepted sockets carry the server's path and its basename. */
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "s");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, path);

  creds = ls_local_socket_get_peer_credentials (socket);
  g_assert_nonnull (creds);
  g_assert_cmpint (g_credentials_get_unix_pid (creds, &error), ==, getpid ());
  g_assert_no_error (error);
  g_assert_cmpuint (g_credentials_get_unix_user (creds, &error), ==, getuid ());
  g_assert_no_error (error);

  g_signal_connect (socket, "ready-read", G_CALLBACK (ls_test_on_flag), &ready);
  ls_test_raw_write_all (fd, "ping", strlen ("ping"));
  g_assert_true (ls_test_run_until (&ready, 5000));
  bytes = ls_local_socket_read_all (socket);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "ping", 4);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "pong", 4), ==, 4);
  got = ls_test_raw_recv (fd, 4, 5000);
  g_assert_cmpstr (got, ==, "pong");

  /* The server keeps no reference: our unref is the last one. */
  g_signal_handlers_disconnect_by_data (socket, &ready);
  g_object_unref (socket);
  g_assert_null (socket);
  g_assert_true (ls_test_raw_sees_eof (fd, 5000));
  close (fd);

  g_assert_true (ls_local_server_is_listening (server));
}

static void
test_new_connection_fifo (LsTestFixture *f,
                          gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  int fds[4];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *id = g_strdup_printf ("client-%u", i);

      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
      ls_test_raw_write_all (fds[i], id, strlen (id));
    }
  g_assert_true (ls_test_wait_count (log, G_N_ELEMENTS (fds), 5000));
  /* Fixed wait: no more emissions than connections. */
  ls_test_run_for (100);
  g_assert_cmpuint (log->count, ==, G_N_ELEMENTS (fds));
  g_assert_cmpuint (log->not_queued, ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *id = g_strdup_printf ("client-%u", i);
      g_autofree char *got = NULL;
      LsLocalSocket *socket = ls_local_server_next_pending_connection (server);

      g_assert_nonnull (socket);
      got = ls_test_socket_read_n (socket, strlen (id), 5000);
      g_assert_cmpstr (got, ==, id);
      g_object_unref (socket);
    }
  g_assert_null (ls_local_server_next_pending_connection (server));

  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
}

static void
test_max_pending (LsTestFixture *f,
                  gconstpointer  data)
{
  const guint n = GPOINTER_TO_UINT (data);
  const guint total = n + 3;
  const char *path = f->path;
  LsLocalServer *server = ls_local_server_new ();
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func (g_object_unref);
  GError *error = NULL;
  LsLocalSocket *socket;
  int fds[8];
  gint64 deadline;

  g_assert_cmpuint (total, <=, G_N_ELEMENTS (fds));
  ls_local_server_set_max_pending_connections (server, n);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < total; i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }

  /* Exactly N queued, however long the loop runs. */
  g_assert_true (ls_test_wait_count (log, n, 5000));
  /* A fixed wait: asserts that no more are accepted. */
  ls_test_run_for (300);
  g_assert_cmpuint (log->count, ==, n);
  g_assert_cmpuint (log->max_depth, ==, n);

  /* Taking one lets exactly one more in. */
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_ptr_array_add (taken, socket);
  log->taken = taken->len;
  g_assert_true (ls_test_wait_count (log, n + 1, 5000));
  /* Fixed wait: no more than one more is accepted. */
  ls_test_run_for (200);
  g_assert_cmpuint (log->count, ==, n + 1);
  g_assert_cmpuint (log->max_depth, ==, n);

  /* The queue holds exactly N (taking does not accept by itself). */
  for (guint i = 0; i < n; i++)
    {
      socket = ls_local_server_next_pending_connection (server);
      g_assert_nonnull (socket);
      g_ptr_array_add (taken, socket);
    }
  g_assert_null (ls_local_server_next_pending_connection (server));
  log->taken = taken->len;

  /* The rest arrive as room is made, never more than N at a time. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (taken->len < total && g_get_monotonic_time () < deadline)
    {
      ls_test_wait_count (log, taken->len + 1, 1000);
      while ((socket = ls_local_server_next_pending_connection (server)) != NULL)
        g_ptr_array_add (taken, socket);
      log->taken = taken->len;
    }
  g_assert_cmpuint (taken->len, ==, total);
  /* Fixed wait: nothing more is accepted or emitted. */
  ls_test_run_for (200);
  g_assert_cmpuint (log->count, ==, total);
  g_assert_cmpuint (log->max_depth, ==, n);
  g_assert_cmpuint (log->not_queued, ==, 0);
  g_assert_null (ls_local_server_next_pending_connection (server));

  for (guint i = 0; i < taken->len; i++)
    g_assert_cmpint (ls_local_socket_get_state (g_ptr_array_index (taken, i)), ==,
                     LS_LOCAL_SOCKET_STATE_CONNECTED);

  ls_test_close_fds (fds, total);
  g_object_unref (server);
}

static void
test_max_pending_zero (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = ls_local_server_new ();
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  GError *error = NULL;
  LsLocalSocket *s1, *s2;
  gboolean timed_out = TRUE;
  int fds[2];

  ls_local_server_set_max_pending_connections (server, 0);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }

  /* Fixed wait: nothing may be accepted. */
  ls_test_run_for (300);
  g_assert_cmpuint (log->count, ==, 0);
  g_assert_false (ls_local_server_has_pending_connections (server));

  /* Asking explicitly accepts one, even with N = 0. */
  g_assert_true (ls_local_server_wait_for_new_connection (server, 2000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 1);
  s1 = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (s1);

  /* Taking it does not make the event loop accept the other one.
   * A fixed wait: asserts that nothing is accepted. */
  ls_test_run_for (300);
  g_assert_cmpuint (log->count, ==, 1);
  g_assert_false (ls_local_server_has_pending_connections (server));

  timed_out = TRUE;
  g_assert_true (ls_local_server_wait_for_new_connection (server, 2000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 2);
  s2 = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (s2);
  ls_test_assert_exchange (s1, fds[0], "zero-1");
  ls_test_assert_exchange (s2, fds[1], "zero-2");

  g_assert_false (ls_local_server_wait_for_new_connection (server, 100, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  g_object_unref (s1);
  g_object_unref (s2);
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
  g_object_unref (server);
}

/* ------------------------------------------------------------------------ */
/* Deliberate fix 1: accept() running out of descriptors                    */
/* ------------------------------------------------------------------------ */

#define N_PRESSURE_CLIENTS 6

static gboolean
hit_emfile (gpointer data)
{
  return ls_local_server_get_server_error (data) == LS_SOCKET_ERROR_SOCKET_RESOURCE;
}

static void
resource_child (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func (g_object_unref);
  LsLocalServer *server = ls_test_listening_server (path);
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *accepted;
  struct sockaddr_un addr;
  socklen_t addr_len;
  struct rlimit limit;
  int clients[N_PRESSURE_CLIENTS], late, listen_fd, free_slots = 0, fd;
  guint under_pressure;
  double cpu_before, cpu_used;
  gint64 deadline;

  listen_fd = ls_local_server_get_socket_descriptor (server);
  for (guint i = 0; i < N_PRESSURE_CLIENTS; i++)
    {
      clients[i] = ls_test_raw_connect (path);
      g_assert_cmpint (clients[i], >=, 0);
    }
  /* The late client's descriptor exists before the limit drops. */
  late = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (late, >=, 0);

  /* Leave exactly two free descriptor numbers below the limit. */
  for (fd = 0; ; fd++)
    if (!ls_test_fd_is_open (fd) && ++free_slots == 3)
      break;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = fd;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

  /* The server accepts what fits, then hits EMFILE. */
  ls_test_run_until_cond (hit_emfile, server, 5000);
  under_pressure = log->count;
  g_assert_cmpuint (under_pressure, >=, 1);
  g_assert_cmpuint (under_pressure, <=, 2);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
  ls_test_assert_contains (ls_local_server_get_error_string (server), path);
  while ((accepted = ls_local_server_next_pending_connection (server)) != NULL)
    g_ptr_array_add (taken, accepted);
  log->taken = taken->len;

  /* A second of pressure: still listening, no busy loop (a fixed wait: it
   * measures the CPU time of that second, and nothing may be accepted). */
  cpu_before = ls_test_cpu_time_us () / 1e6;
  ls_test_run_for (1000);
  cpu_used = ls_test_cpu_time_us () / 1e6 - cpu_before;
  g_test_message ("CPU time during 1 s of EMFILE: %.3f s", cpu_used);
  g_assert_cmpfloat (cpu_used, <, 0.2);
  g_assert_cmpuint (log->count, ==, under_pressure);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, listen_fd);
  g_assert_true (ls_test_fd_is_open (listen_fd));
  g_assert_true (ls_test_path_is_socket (path));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);

  /* Freeing descriptors lets the server resume, client after client. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (log->count < N_PRESSURE_CLIENTS && g_get_monotonic_time () < deadline)
    {
      g_ptr_array_set_size (taken, 0);
      ls_test_wait_count (log, log->taken + 1, 3000);
      while ((accepted = ls_local_server_next_pending_connection (server)) != NULL)
        g_ptr_array_add (taken, accepted);
      log->taken += taken->len;
    }
  g_assert_cmpuint (log->count, ==, N_PRESSURE_CLIENTS);
  g_ptr_array_set_size (taken, 0);

  /* A brand-new client is served, under the same lowered limit. */
  addr_len = ls_test_fill_address (&addr, path, FALSE);
  g_assert_cmpint (connect (late, (struct sockaddr *) &addr, addr_len), ==, 0);
  g_assert_true (ls_test_wait_count (log, N_PRESSURE_CLIENTS + 1, 5000));
  accepted = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (accepted);
  ls_test_assert_exchange (accepted, late, "late");
  g_object_unref (accepted);

  ls_test_close_fds (clients, N_PRESSURE_CLIENTS);
  close (late);
  g_object_unref (server);
}

static void
test_accept_resource_exhaustion (LsTestFixture *f,
                                 gconstpointer  test_data)
{
  g_autofree char *dir = NULL;

  if (g_test_subprocess ())
    {
      resource_child (g_getenv ("LS_TEST_DIR"));
      return;
    }

  dir = ls_test_make_tmpdir ();
  g_setenv ("LS_TEST_DIR", dir, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_unsetenv ("LS_TEST_DIR");
  g_test_trap_assert_passed ();
}

/* Queued sockets come out oldest first however the queue's storage wraps
 * around and grows (more than its first size while wrapped), and close ()
 * closes and drops what nobody took. */
static void
test_pending_order_wraps (LsTestFixture *f,
                          gconstpointer  test_data)
{
  LsLocalServer *server = f->server;
  LsLocalSocket *sockets[40];
  guint added = 0, taken = 0;
  /* Add 6, take 4, add 20 (wraps, then grows), take 10, add 14. */
  const int steps[] = { 6, -4, 20, -10, 14 };

  for (guint i = 0; i < G_N_ELEMENTS (sockets); i++)
    {
      sockets[i] = ls_local_socket_new ();
      g_object_add_weak_pointer (G_OBJECT (sockets[i]), (gpointer *) &sockets[i]);
    }
  for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
    {
      for (int k = 0; k < steps[s]; k++, added++)
        {
          /* The queue takes its own reference. */
          ls_local_server_add_pending_connection (server, sockets[added]);
          g_object_unref (sockets[added]);
          g_assert_nonnull (sockets[added]);
        }
      for (int k = 0; k > steps[s]; k--, taken++)
        {
          LsLocalSocket *socket = ls_local_server_next_pending_connection (server);

          g_assert_true (socket == sockets[taken]);
          g_object_unref (socket);
          g_assert_null (sockets[taken]);
        }
      g_assert_true (ls_local_server_has_pending_connections (server) == (added > taken));
    }
  g_assert_cmpuint (added, ==, G_N_ELEMENTS (sockets));

  ls_local_server_close (server);
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
  for (guint i = 0; i < G_N_ELEMENTS (sockets); i++)
    g_assert_null (sockets[i]);
}

static gboolean
refuse_peer (LsLocalServer *server,
             GCredentials  *credentials,
             gpointer       user_data)
{
  guint *refused = user_data;

  (*refused)++;
  return FALSE;
}

static void
connect_refuse_peer (LsLocalServer *server,
                     gpointer       user_data)
{
  if (!g_signal_has_handler_pending (server, g_signal_lookup ("authorize-peer",
                                                              LS_TYPE_LOCAL_SERVER), 0, FALSE))
    g_signal_connect (server, "authorize-peer", G_CALLBACK (refuse_peer), user_data);
}

/* An authorize-peer handler connected from a new-connection handler is
 * asked about every connection accepted after it: one that comes later
 * (test_data NULL), and one that waited in the backlog beside the first,
 * so that the same wake-up accepts both (test_data non-NULL). */
static void
test_authorize_peer_connected_in_handler (LsTestFixture *f,
                                          gconstpointer  test_data)
{
  gboolean same_wakeup = test_data != NULL;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *socket;
  guint refused = 0;
  int fds[2];

  g_signal_connect (server, "new-connection", G_CALLBACK (connect_refuse_peer), &refused);
  fds[0] = ls_test_raw_connect (f->path);
  g_assert_cmpint (fds[0], >=, 0);
  if (!same_wakeup)
    g_assert_true (ls_test_wait_count (log, 1, 5000));

  fds[1] = ls_test_raw_connect (f->path);
  g_assert_cmpint (fds[1], >=, 0);
  g_assert_true (ls_test_raw_sees_eof (fds[1], 5000));
  g_assert_cmpuint (refused, ==, 1);
  g_assert_cmpuint (log->count, ==, 1);

  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_assert_null (ls_local_server_next_pending_connection (server));
  g_object_unref (socket);
  g_signal_handlers_disconnect_by_data (server, &refused);
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
}

/* A socket queued on a server that never listened is dropped with the
 * server. */
static void
test_pending_dropped_with_server (void)
{
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *socket = ls_local_socket_new ();

  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &socket);
  ls_local_server_add_pending_connection (server, socket);
  g_object_unref (socket);
  g_assert_nonnull (socket);
  g_assert_true (ls_local_server_has_pending_connections (server));
  g_object_unref (server);
  g_assert_null (socket);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/new-connection/exchange", LsTestFixture, NULL,
              ls_test_fixture_setup, test_new_connection_exchange, ls_test_fixture_teardown);
  g_test_add ("/ls/server/new-connection/fifo", LsTestFixture, NULL,
              ls_test_fixture_setup, test_new_connection_fifo, ls_test_fixture_teardown);
  g_test_add ("/ls/server/max-pending/1", LsTestFixture, GUINT_TO_POINTER (1),
              ls_test_fixture_setup_dir, test_max_pending, ls_test_fixture_teardown);
  g_test_add ("/ls/server/max-pending/3", LsTestFixture, GUINT_TO_POINTER (3),
              ls_test_fixture_setup_dir, test_max_pending, ls_test_fixture_teardown);
  g_test_add ("/ls/server/max-pending/0", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_max_pending_zero, ls_test_fixture_teardown);
  g_test_add ("/ls/server/accept/resource-exhaustion", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_accept_resource_exhaustion, ls_test_fixture_teardown);
  g_test_add ("/ls/server/pending/order-wraps", LsTestFixture, NULL,
              ls_test_fixture_setup, test_pending_order_wraps, ls_test_fixture_teardown);
  g_test_add ("/ls/server/authorize-peer/connected-in-handler/same-wake-up", LsTestFixture,
              GINT_TO_POINTER (TRUE), ls_test_fixture_setup,
              test_authorize_peer_connected_in_handler, ls_test_fixture_teardown);
  g_test_add ("/ls/server/authorize-peer/connected-in-handler", LsTestFixture, NULL,
              ls_test_fixture_setup, test_authorize_peer_connected_in_handler,
              ls_test_fixture_teardown);
  g_test_add_func ("/ls/server/pending/dropped-with-server", test_pending_dropped_with_server);

  return g_test_run ();
}
