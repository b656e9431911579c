/* test-server-handlers.c: LsLocalServer handlers that unref or close, a subclass, a worker thread
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


/* ------------------------------------------------------------------------ */
/* Re-entrancy: unref / close from the handler                              */
/* ------------------------------------------------------------------------ */

/* Drops the application's only reference, once. The library may keep the
 * object alive until its dispatch ends (and emit again meanwhile); it must
 * then dispose it cleanly. */
static void
on_new_connection_unref (LsLocalServer *server,
                         guint         *count)
{
  if ((*count)++ == 0)
    g_object_unref (server);
}

static void
on_new_connection_close (LsLocalServer *server,
                         guint         *count)
{
  (*count)++;
  ls_local_server_close (server);
}

static void
test_unref_in_handler (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  guint count = 0;
  int fds[3];

  /* The test drops the last reference itself. */
  f->server = NULL;
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection_unref), &count);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }

  g_assert_true (ls_test_run_until ((gboolean *) &count, 5000));
  /* Fixed wait: the handler may run again while the server is still
   * dispatching, but a bounded number of times. */
  ls_test_run_for (200);
  g_assert_cmpuint (count, >=, 1);
  g_assert_cmpuint (count, <=, G_N_ELEMENTS (fds));
  g_assert_null (server);
  g_assert_false (ls_test_path_exists (path));
  /* Queued connections died with the server; unaccepted ones were reset
   * when the listening socket closed. */
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (ls_test_raw_sees_eof (fds[i], 5000));
  g_assert_cmpint (ls_test_raw_connect (path), ==, -1);

  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
}

static void
test_close_in_handler (LsTestFixture *f,
                       gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  GError *error = NULL;
  gboolean timed_out = FALSE;
  gulong id;
  guint count = 0;
  int fds[3];

  id = g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection_close), &count);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }

  g_assert_true (ls_test_run_until ((gboolean *) &count, 5000));
  /* Fixed wait: the handler must not run again. */
  ls_test_run_for (200);
  g_assert_cmpuint (count, ==, 1);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_false (ls_test_path_exists (path));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (ls_test_raw_sees_eof (fds[i], 5000));
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));

  /* Also from inside wait_for_new_connection. */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  fds[0] = ls_test_raw_connect (path);
  g_assert_cmpint (fds[0], >=, 0);
  ls_local_server_wait_for_new_connection (server, 5000, &timed_out, &error);
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (count, ==, 2);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_true (ls_test_raw_sees_eof (fds[0], 5000));
  close (fds[0]);

  /* The object is still usable afterwards. */
  g_signal_handler_disconnect (server, id);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  ls_test_assert_serves (server, path, FALSE);

}

/* ------------------------------------------------------------------------ */
/* Subclass overriding incoming_connection                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  LsLocalServer parent_instance;
  guint         incoming;
  int           last_fd;
  guint         class_handler_runs;
} TestServer;

typedef struct
{
  LsLocalServerClass parent_class;
} TestServerClass;

static GType test_server_get_type (void);
G_DEFINE_TYPE (TestServer, test_server, LS_TYPE_LOCAL_SERVER)

static GQuark
made_here_quark (void)
{
  return g_quark_from_static_string ("test-server-made-here");
}

static void
test_server_incoming_connection (LsLocalServer *server,
                                 int            fd)
{
  TestServer *self = (TestServer *) server;
  g_autoptr(GError) error = NULL;
  LsLocalSocket *socket = ls_local_socket_new ();

  self->incoming++;
  self->last_fd = fd;
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, fd,
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED,
                                                        &error));
  g_assert_no_error (error);
  g_object_set_qdata (G_OBJECT (socket), made_here_quark (), GUINT_TO_POINTER (self->incoming));
  ls_local_server_add_pending_connection (server, socket);
  g_object_unref (socket);
}

static void
test_server_new_connection (LsLocalServer *server)
{
  TestServer *self = (TestServer *) server;

  self->class_handler_runs++;
  g_assert_true (ls_local_server_has_pending_connections (server));
}

static void
test_server_class_init (TestServerClass *klass)
{
  LsLocalServerClass *server_class = LS_LOCAL_SERVER_CLASS (klass);

  server_class->incoming_connection = test_server_incoming_connection;
  server_class->new_connection = test_server_new_connection;
}

static void
test_server_init (TestServer *self)
{
  self->last_fd = -1;
}

static void
test_subclass (LsTestFixture *f,
               gconstpointer  test_data)
{
  const char *path = f->path;
  TestServer *server = g_object_new (test_server_get_type (), NULL);
  LsTestConnLog *log = ls_test_conn_log_attach (LS_LOCAL_SERVER (server));
  LsLocalSocket *socket, *outside;
  GError *error = NULL;
  gboolean timed_out = TRUE;
  int fd, fd2, pair[2];

  g_assert_true (LS_IS_LOCAL_SERVER (server));
  g_assert_true (ls_local_server_listen (LS_LOCAL_SERVER (server), path, &error));
  g_assert_no_error (error);

  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  g_assert_cmpuint (server->incoming, ==, 1);
  g_assert_cmpuint (server->class_handler_runs, ==, 1);
  g_assert_cmpuint (log->not_queued, ==, 0);

  socket = ls_local_server_next_pending_connection (LS_LOCAL_SERVER (server));
  g_assert_nonnull (socket);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (socket), made_here_quark ())), ==, 1);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, server->last_fd);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_test_assert_exchange (socket, fd, "subclass");
  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &socket);
  g_object_unref (socket);
  g_assert_null (socket);

  /* wait_for_new_connection goes through the vfunc too. */
  fd2 = ls_test_raw_connect (path);
  g_assert_cmpint (fd2, >=, 0);
  g_assert_true (ls_local_server_wait_for_new_connection (LS_LOCAL_SERVER (server), 5000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (server->incoming, ==, 2);
  g_assert_cmpuint (log->count, ==, 2);
  socket = ls_local_server_next_pending_connection (LS_LOCAL_SERVER (server));
  g_assert_nonnull (socket);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (socket), made_here_quark ())), ==, 2);
  ls_test_assert_exchange (socket, fd2, "subclass-wait");
  g_object_unref (socket);

  /* add_pending_connection queues any socket, takes its own reference and
   * emits new-connection at once. */
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  outside = ls_local_socket_new ();
  g_assert_true (ls_local_socket_set_socket_descriptor (outside, pair[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  ls_local_server_add_pending_connection (LS_LOCAL_SERVER (server), outside);
  g_assert_cmpuint (log->count, ==, 3);
  g_assert_cmpuint (server->class_handler_runs, ==, 3);
  g_assert_cmpuint (server->incoming, ==, 2);
  g_object_unref (outside);
  socket = ls_local_server_next_pending_connection (LS_LOCAL_SERVER (server));
  g_assert_true (socket == outside);
  ls_test_assert_exchange (socket, pair[1], "outside");
  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &socket);
  g_object_unref (socket);
  g_assert_null (socket);

  close (fd);
  close (fd2);
  close (pair[1]);
  g_object_unref (server);
}

/* ------------------------------------------------------------------------ */
/* A server in a worker thread                                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  LsLocalServer *server;       /* created by the main thread */
  char          *path;
  GAsyncQueue   *ready;        /* worker -> main: "listening" */
  GAsyncQueue   *sent;         /* main -> worker: the client wrote */
  GThread       *handler_thread;
  GMainContext  *handler_context;
  GMainContext  *worker_context;
  char          *received;
} ThreadData;

static gboolean
nothing_to_write (gpointer data)
{
  return ls_local_socket_get_bytes_to_write ((LsLocalSocket *) data) == 0;
}

static gpointer
server_thread (gpointer user_data)
{
  ThreadData *td = user_data;
  GMainContext *context = g_main_context_new ();
  GError *error = NULL;
  LsTestConnLog *log;
  LsLocalSocket *socket;

  g_main_context_push_thread_default (context);
  td->worker_context = context;

  /* The context is captured at listen time, not at construction. */
  g_assert_true (ls_local_server_listen (td->server, td->path, &error));
  g_assert_no_error (error);
  log = ls_test_conn_log_attach (td->server);
  g_async_queue_push (td->ready, GINT_TO_POINTER (1));

  g_assert_true (ls_test_wait_count (log, 1, 10000));
  td->handler_thread = log->thread;
  td->handler_context = log->context;
  socket = ls_local_server_next_pending_connection (td->server);
  g_assert_nonnull (socket);

  g_assert_nonnull (g_async_queue_timeout_pop (td->sent, 10 * G_USEC_PER_SEC));
  td->received = ls_test_socket_read_n (socket, 4, 10000);
  ls_test_socket_write_str (socket, "pong");
  g_assert_true (ls_test_run_until_cond (nothing_to_write, socket, 10000));

  g_object_unref (socket);
  g_signal_handlers_disconnect_by_data (td->server, log);
  ls_local_server_close (td->server);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
test_thread (LsTestFixture *f,
             gconstpointer  test_data)
{
  const char *dir = f->dir;
  ThreadData td = { 0 };
  GThread *thread;
  g_autofree char *reply = NULL;
  int fd;

  td.server = ls_local_server_new ();
  td.path = g_build_filename (dir, "s", NULL);
  td.ready = g_async_queue_new ();
  td.sent = g_async_queue_new ();

  thread = g_thread_new ("ls-server", server_thread, &td);
  g_assert_nonnull (g_async_queue_timeout_pop (td.ready, 10 * G_USEC_PER_SEC));

  /* The main thread never iterates a context: if the server were attached
   * to the global default one, nothing would be accepted. */
  fd = ls_test_raw_connect (td.path);
  g_assert_cmpint (fd, >=, 0);
  ls_test_raw_write_all (fd, "ping", strlen ("ping"));
  g_async_queue_push (td.sent, GINT_TO_POINTER (1));
  {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char buf[8] = { 0 };

    g_assert_cmpint (poll (&pfd, 1, 10000), ==, 1);
    g_assert_cmpint (recv (fd, buf, 4, MSG_WAITALL), ==, 4);
    reply = g_strndup (buf, 4);
  }
  g_thread_join (thread);

  g_assert_true (td.handler_thread == thread);
  g_assert_true (td.handler_context == td.worker_context);
  g_assert_cmpstr (td.received, ==, "ping");
  g_assert_cmpstr (reply, ==, "pong");
  g_assert_false (ls_test_path_exists (td.path));

  close (fd);
  g_object_unref (td.server);
  g_async_queue_unref (td.ready);
  g_async_queue_unref (td.sent);
  g_free (td.received);
  g_free (td.path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/reentrancy/unref-in-handler", LsTestFixture, NULL,
              ls_test_fixture_setup, test_unref_in_handler, ls_test_fixture_teardown);
  g_test_add ("/ls/server/reentrancy/close-in-handler", LsTestFixture, NULL,
              ls_test_fixture_setup, test_close_in_handler, ls_test_fixture_teardown);
  g_test_add ("/ls/server/subclass", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_subclass, ls_test_fixture_teardown);
  g_test_add ("/ls/server/thread", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_thread, ls_test_fixture_teardown);

  return g_test_run ();
}
