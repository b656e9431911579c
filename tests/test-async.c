/* test-async.c: tests of the GIO-style asynchronous calls (issues 14, 25)
 *
 * Every call, and GIO's rules: the callback runs in the caller's
 * thread-default context and never inside the call; results are opaque
 * GAsyncResults that the _finish functions check; cancellation before,
 * while and after data arrives, from another thread, and at random points
 * of 10,000 calls; one pending read; the end of the stream; errors of
 * sockets that are not connected; a socket closed, aborted or dropped
 * while a call is pending (a pending call keeps its socket alive until its
 * callback has run); writes on sockets that are not open, which record
 * nothing; a connection replaced while closing (connect_to_server () in
 * CLOSING), and the handlers around it; a worker thread with its own
 * context; a thousand concurrent round trips.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A guard against hangs, not a measurement. */
#define HANG_GUARD_MS 60000

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* What a callback saw. */
typedef struct {
  gboolean      done;
  guint         calls;
  GObject      *source;        /* not owned */
  GAsyncResult *result;
  GThread      *thread;
  GMainContext *context;       /* the thread-default one in the callback */
} Call;

static void
call_clear (Call *call)
{
  g_clear_object (&call->result);
  g_clear_pointer (&call->context, g_main_context_unref);
  memset (call, 0, sizeof *call);
}

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;

  call->calls++;
  call->done = TRUE;
  call->source = source;
  g_clear_object (&call->result);
  call->result = g_object_ref (result);
  call->thread = g_thread_self ();
  g_clear_pointer (&call->context, g_main_context_unref);
  call->context = g_main_context_ref_thread_default ();
}

static void
call_wait (Call *call)
{
  g_assert_true (ls_test_run_until (&call->done, HANG_GUARD_MS));
  g_assert_cmpuint (call->calls, ==, 1);
}

typedef struct {
  char          *dir;
  char          *path;
  LsLocalServer *server;
  LsLocalSocket *client;
  LsLocalSocket *peer;     /* the server side of client */
} Pair;

static void
pair_setup (Pair          *pair,
            gconstpointer  data)
{
  GError *error = NULL;

  pair->dir = ls_test_make_tmpdir ();
  pair->path = g_build_filename (pair->dir, "s", NULL);
  pair->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (pair->server, pair->path, &error));
  g_assert_no_error (error);
  pair->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (pair->client, pair->path);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_test_run_until_pending (pair->server, HANG_GUARD_MS));
  pair->peer = ls_local_server_next_pending_connection (pair->server);
  g_assert_nonnull (pair->peer);
}

static void
pair_teardown (Pair          *pair,
               gconstpointer  data)
{
  g_clear_object (&pair->client);
  g_clear_object (&pair->peer);
  g_clear_object (&pair->server);
  /* Idles of disposed calls, deferred flushes. */
  ls_test_run_for (20);
  ls_test_remove_tmpdir (pair->dir);
  g_free (pair->path);
  g_free (pair->dir);
}

static void
write_text (LsLocalSocket *socket,
            const char    *text)
{
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) text, strlen (text)), ==,
                   (gssize) strlen (text));
}

/* Runs the loop until @socket has @n bytes buffered. */
static void
wait_available (LsLocalSocket *socket,
                gint64         n)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) HANG_GUARD_MS * 1000;

  while (ls_local_socket_get_bytes_available (socket) < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), >=, n);
}

static void
assert_bytes_text (GBytes     *bytes,
                   const char *text)
{
  gsize size;
  const char *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  g_assert_cmpmem (data, size, text, strlen (text));
}

static GBytes *
read_bytes_now (LsLocalSocket *socket,
                gsize          count,
                GError       **error)
{
  Call call = { 0 };
  GBytes *bytes;

  ls_local_socket_read_bytes_async (socket, count, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_true (call.source == G_OBJECT (socket));
  bytes = ls_local_socket_read_bytes_finish (socket, call.result, error);
  call_clear (&call);
  return bytes;
}

static GBytes *
read_line_now (LsLocalSocket *socket,
               GError       **error)
{
  Call call = { 0 };
  GBytes *bytes;

  ls_local_socket_read_line_async (socket, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  bytes = ls_local_socket_read_line_finish (socket, call.result, error);
  call_clear (&call);
  return bytes;
}

static GBytes *
read_message_now (LsLocalSocket *socket,
                  GError       **error)
{
  Call call = { 0 };
  GBytes *bytes;

  ls_local_socket_read_message_async (socket, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  bytes = ls_local_socket_read_message_finish (socket, call.result, error);
  call_clear (&call);
  return bytes;
}

/* The three read calls, for tests that run each. */
typedef enum { KIND_BYTES, KIND_LINE, KIND_MESSAGE } SocketOpKindTest;

static void
start_read (LsLocalSocket    *socket,
            SocketOpKindTest  kind,
            GCancellable     *cancellable,
            Call             *call)
{
  if (kind == KIND_BYTES)
    ls_local_socket_read_bytes_async (socket, 100, cancellable, on_call_done, call);
  else if (kind == KIND_LINE)
    ls_local_socket_read_line_async (socket, cancellable, on_call_done, call);
  else
    ls_local_socket_read_message_async (socket, cancellable, on_call_done, call);
}

static GBytes *
finish_read (LsLocalSocket     *socket,
             SocketOpKindTest   kind,
             GAsyncResult      *result,
             GError           **error)
{
  if (kind == KIND_BYTES)
    return ls_local_socket_read_bytes_finish (socket, result, error);
  if (kind == KIND_LINE)
    return ls_local_socket_read_line_finish (socket, result, error);
  return ls_local_socket_read_message_finish (socket, result, error);
}

/* Set in finalize (qdata is cleared there), unlike a weak pointer, which
 * is cleared at the first dispose. */
static void
set_finalized (gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
track_finalize (gpointer  object,
                gboolean *finalized)
{
  *finalized = FALSE;
  g_object_set_data_full (object, "test-finalized", finalized, set_finalized);
}

/* ------------------------------------------------------------------------ */
/* Connecting and accepting                                                 */
/* ------------------------------------------------------------------------ */

static void
test_connect_accept (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) accepted = NULL;
  g_autoptr(LsTestSignalLog) log = ls_test_signal_log_new (client);
  g_autoptr(GError) error = NULL;
  Call connect = { 0 }, accept = { 0 };

  g_assert_true (ls_local_server_listen (server, path, &error));
  ls_local_server_accept_async (server, NULL, on_call_done, &accept);
  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &connect);
  /* Never from inside the call, though connected already. */
  g_assert_cmpuint (connect.calls, ==, 0);
  g_assert_cmpuint (accept.calls, ==, 0);
  call_wait (&connect);
  g_assert_true (connect.source == G_OBJECT (client));
  g_assert_true (connect.context == g_main_context_default ());
  g_assert_true (ls_local_socket_connect_to_server_finish (client, connect.result, &error));
  g_assert_no_error (error);
  /* The signals of the sync twin. */
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "state-changed(2) state-changed(3) connected ");
  call_wait (&accept);
  accepted = ls_local_server_accept_finish (server, accept.result, &error);
  g_assert_no_error (error);
  g_assert_true (LS_IS_LOCAL_SOCKET (accepted));
  g_assert_cmpint (ls_local_socket_get_state (accepted), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_test_send_and_expect_in_loop (client, accepted, "hello");
  call_clear (&connect);
  call_clear (&accept);

  /* A queued connection is taken at once (still not from inside the call). */
  {
    g_autoptr(LsLocalSocket) second = ls_local_socket_new ();
    g_autoptr(LsLocalSocket) taken = NULL;

    ls_local_socket_connect_to_server (second, path);
    g_assert_true (ls_test_run_until_pending (server, HANG_GUARD_MS));
    ls_local_server_accept_async (server, NULL, on_call_done, &accept);
    g_assert_cmpuint (accept.calls, ==, 0);
    call_wait (&accept);
    taken = ls_local_server_accept_finish (server, accept.result, &error);
    g_assert_no_error (error);
    g_assert_nonnull (taken);
    call_clear (&accept);
  }

  /* Connecting a connected socket: the sync call's OPERATION error. */
  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &connect);
  g_assert_cmpuint (connect.calls, ==, 0);
  call_wait (&connect);
  g_assert_false (ls_local_socket_connect_to_server_finish (client, connect.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpstr (error->message, ==, ls_local_socket_get_error_string (client));
  g_clear_error (&error);
  call_clear (&connect);
  g_object_unref (g_steal_pointer (&client));
  ls_test_remove_tmpdir (dir);
}

static void
test_connect_fails (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "missing", NULL);
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  Call call = { 0 };

  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_false (ls_local_socket_connect_to_server_finish (client, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, ls_local_socket_get_error_string (client));
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_clear_error (&error);
  call_clear (&call);

  /* Accepting on a server that is not listening. */
  ls_local_server_accept_async (server, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_null (ls_local_server_accept_finish (server, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  call_clear (&call);

  /* A pending accept when the server closes. */
  g_assert_true (ls_local_server_listen (server, path, &error));
  ls_local_server_accept_async (server, NULL, on_call_done, &call);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 0);
  ls_local_server_close (server);
  call_wait (&call);
  g_assert_null (ls_local_server_accept_finish (server, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  call_clear (&call);
  ls_test_remove_tmpdir (dir);
}

/* Fills the server's queue and listen backlog with raw connections. */
static GArray *
fill_backlog (const char *path)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  for (int i = 0; i < 64; i++)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

      g_assert_cmpint (fd, >=, 0);
      if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
        {
          g_assert_cmpint (errno, ==, EAGAIN);
          close (fd);
          break;
        }
      g_array_append_val (fds, fd);
      /* Let the server take what it takes. */
      ls_test_run_for (5);
    }
  return fds;
}

static void
close_fds (GArray *fds)
{
  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  g_array_unref (fds);
}

static void
test_connect_backlog (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LsTestSignalLog) log = NULL;
  GArray *fds;
  Call call = { 0 };

  ls_local_server_set_max_pending_connections (server, 1);
  ls_local_server_set_listen_backlog_size (server, 1);
  g_assert_true (ls_local_server_listen (server, path, &error));
  fds = fill_backlog (path);

  /* The backlog is full: the socket waits, then succeeds once the server
   * takes connections. */
  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &call);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  ls_test_run_for (30);
  g_assert_cmpuint (call.calls, ==, 0);
  while (!call.done)
    {
      LsLocalSocket *taken = ls_local_server_next_pending_connection (server);

      g_clear_object (&taken);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (ls_local_socket_connect_to_server_finish (client, call.result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  call_clear (&call);
  close_fds (fds);
  ls_local_socket_abort (client);

  /* Nobody takes them: SOCKET_TIMEOUT after connect-timeout. */
  while (ls_local_server_has_pending_connections (server))
    g_object_unref (ls_local_server_next_pending_connection (server));
  ls_test_run_for (20);
  while (ls_local_server_has_pending_connections (server))
    g_object_unref (ls_local_server_next_pending_connection (server));
  fds = fill_backlog (path);
  ls_local_socket_set_connect_timeout (client, 200);
  log = ls_test_signal_log_new (client);
  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &call);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  call_wait (&call);
  g_assert_false (ls_local_socket_connect_to_server_finish (client, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_nonnull (strstr (ls_test_signal_log_get (log), "error-occurred(5)"));
  g_clear_error (&error);
  call_clear (&call);

  /* Cancelled while waiting: the attempt is given up. */
  ls_local_socket_set_connect_timeout (client, 30000);
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    ls_local_socket_connect_to_server_async (client, path, cancellable, on_call_done, &call);
    g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
    ls_test_run_for (10);
    g_cancellable_cancel (cancellable);
    call_wait (&call);
    g_assert_false (ls_local_socket_connect_to_server_finish (client, call.result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
    g_clear_error (&error);
    call_clear (&call);
  }
  close_fds (fds);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_read_bytes (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes;
  Call call = { 0 };

  /* Pending, then data arrives. */
  ls_local_socket_read_bytes_async (pair->peer, 3, NULL, on_call_done, &call);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 0);
  write_text (pair->client, "hello");
  call_wait (&call);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "hel");
  g_bytes_unref (bytes);
  call_clear (&call);

  /* Buffered already: still never from inside the call. */
  bytes = read_bytes_now (pair->peer, 100, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "lo");
  g_bytes_unref (bytes);

  /* The peer closes mid-read: what is buffered comes first, then the end,
   * again and again. */
  write_text (pair->client, "world");
  ls_local_socket_disconnect_from_server (pair->client);
  wait_available (pair->peer, 5);
  bytes = read_bytes_now (pair->peer, 2, &error);
  assert_bytes_text (bytes, "wo");
  g_bytes_unref (bytes);
  ls_test_run_for (20);
  bytes = read_bytes_now (pair->peer, 100, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "rld");
  g_bytes_unref (bytes);
  for (int i = 0; i < 2; i++)
    {
      bytes = read_bytes_now (pair->peer, 100, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
      g_bytes_unref (bytes);
    }
}

static void
test_read_eof_pending (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes;
  Call call = { 0 };

  /* Pending when the peer leaves: the end. */
  ls_local_socket_read_bytes_async (pair->peer, 10, NULL, on_call_done, &call);
  ls_local_socket_abort (pair->client);
  call_wait (&call);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
  g_bytes_unref (bytes);
  call_clear (&call);
}

static void
test_read_line (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes;
  Call call = { 0 };

  ls_local_socket_read_line_async (pair->peer, NULL, on_call_done, &call);
  write_text (pair->client, "ab");
  wait_available (pair->peer, 2);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 0);   /* no newline yet */
  write_text (pair->client, "c\nde\nf");
  call_wait (&call);
  bytes = ls_local_socket_read_line_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "abc\n");
  g_bytes_unref (bytes);
  call_clear (&call);

  bytes = read_line_now (pair->peer, &error);
  assert_bytes_text (bytes, "de\n");
  g_bytes_unref (bytes);
  ls_local_socket_disconnect_from_server (pair->client);
  /* The rest at the end of the stream, then empty. */
  bytes = read_line_now (pair->peer, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "f");
  g_bytes_unref (bytes);
  bytes = read_line_now (pair->peer, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "");
  g_bytes_unref (bytes);
}

static void
test_read_message (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) one = g_bytes_new_static ("first", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  GBytes *bytes;
  Call call = { 0 };
  const guint8 partial[] = { 0, 0, 0, 9, 'x', 'y' };

  ls_local_socket_read_message_async (pair->peer, NULL, on_call_done, &call);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 0);
  g_assert_true (ls_local_socket_write_message (pair->client, one, &error));
  g_assert_true (ls_local_socket_write_message (pair->client, empty, &error));
  call_wait (&call);
  bytes = ls_local_socket_read_message_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "first");
  g_bytes_unref (bytes);
  call_clear (&call);

  bytes = read_message_now (pair->peer, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "");
  g_bytes_unref (bytes);

  /* A frame cut short by the end of the stream. */
  ls_local_socket_write (pair->client, partial, sizeof partial);
  ls_local_socket_disconnect_from_server (pair->client);
  bytes = read_message_now (pair->peer, &error);
  g_assert_null (bytes);
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED);
  g_clear_error (&error);
  /* Consumed nothing; the bytes are still there. */
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, sizeof partial);
  g_bytes_unref (ls_local_socket_read_all (pair->peer));
  /* The end: NULL without an error. */
  bytes = read_message_now (pair->peer, &error);
  g_assert_no_error (error);
  g_assert_null (bytes);
}

static void
test_read_message_too_large (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const guint8 header[] = { 0, 0, 1, 0 };   /* 256 bytes announced */

  ls_local_socket_set_max_message_size (pair->peer, 16);
  ls_local_socket_write (pair->client, header, sizeof header);
  g_assert_null (read_message_now (pair->peer, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, sizeof header);
}

static void
test_pending (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  Call first = { 0 }, second = { 0 }, third = { 0 };
  GBytes *bytes;

  ls_local_socket_read_bytes_async (pair->peer, 10, NULL, on_call_done, &first);
  ls_local_socket_read_line_async (pair->peer, NULL, on_call_done, &second);
  ls_local_socket_read_message_async (pair->peer, NULL, on_call_done, &third);
  g_assert_cmpuint (second.calls + third.calls, ==, 0);
  call_wait (&second);
  call_wait (&third);
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, second.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&error);
  g_assert_null (ls_local_socket_read_message_finish (pair->peer, third.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&error);
  g_assert_cmpuint (first.calls, ==, 0);
  write_text (pair->client, "x");
  call_wait (&first);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, first.result, &error);
  assert_bytes_text (bytes, "x");
  g_bytes_unref (bytes);
  call_clear (&first);
  call_clear (&second);
  call_clear (&third);
}

/* ready-read still reaches the application's handlers. */
static void
count_ready_read (LsLocalSocket *socket,
                  guint         *count)
{
  (*count)++;
}

static void
test_signals_alongside (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint ready_reads = 0;
  Call call = { 0 };
  GBytes *bytes;

  g_signal_connect (pair->peer, "ready-read", G_CALLBACK (count_ready_read), &ready_reads);
  ls_local_socket_read_bytes_async (pair->peer, 100, NULL, on_call_done, &call);
  write_text (pair->client, "data");
  call_wait (&call);
  g_assert_cmpuint (ready_reads, >=, 1);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  assert_bytes_text (bytes, "data");
  g_bytes_unref (bytes);
  call_clear (&call);
}

/* ------------------------------------------------------------------------ */
/* Cancellation                                                             */
/* ------------------------------------------------------------------------ */

static void
test_cancel_before (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) x = g_bytes_new_static ("x", 1);
  Call call = { 0 };

  write_text (pair->client, "buffered\n");
  wait_available (pair->peer, 9);
  g_cancellable_cancel (cancellable);

  ls_local_socket_read_bytes_async (pair->peer, 100, cancellable, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_null (ls_local_socket_read_bytes_finish (pair->peer, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);

  ls_local_socket_read_line_async (pair->peer, cancellable, on_call_done, &call);
  call_wait (&call);
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);

  ls_local_socket_write_all_async (pair->peer, x, cancellable, on_call_done, &call);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_all_finish (pair->peer, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);

  ls_local_server_accept_async (pair->server, cancellable, on_call_done, &call);
  call_wait (&call);
  g_assert_null (ls_local_server_accept_finish (pair->server, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);

  /* Nothing was consumed. */
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, 9);
}

static void
test_cancel_while (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Call call = { 0 };
  GBytes *bytes;

  ls_local_socket_read_line_async (pair->peer, cancellable, on_call_done, &call);
  write_text (pair->client, "partial");
  wait_available (pair->peer, 7);
  g_assert_cmpuint (call.calls, ==, 0);
  g_cancellable_cancel (cancellable);
  call_wait (&call);
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, 7);

  /* Another read works, and sees all the data. */
  write_text (pair->client, " line\n");
  bytes = read_line_now (pair->peer, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "partial line\n");
  g_bytes_unref (bytes);

  /* A pending accept, cancelled from another thread. */
  {
    g_autoptr(GCancellable) other = g_cancellable_new ();
    GThread *thread;

    ls_local_server_accept_async (pair->server, other, on_call_done, &call);
    thread = g_thread_new ("cancel", (GThreadFunc) (void (*) (void)) g_cancellable_cancel, other);
    call_wait (&call);
    g_thread_join (thread);
    g_assert_true (call.thread == g_thread_self ());
    g_assert_null (ls_local_server_accept_finish (pair->server, call.result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    call_clear (&call);
  }
}

static void
test_cancel_after (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Call call = { 0 };
  GBytes *bytes;

  /* The data is there when the call is made; a cancellation before the
   * callback runs does not lose it. */
  write_text (pair->client, "kept");
  wait_available (pair->peer, 4);
  ls_local_socket_read_bytes_async (pair->peer, 100, cancellable, on_call_done, &call);
  g_cancellable_cancel (cancellable);
  call_wait (&call);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  if (bytes != NULL)
    {
      assert_bytes_text (bytes, "kept");
      g_bytes_unref (bytes);
    }
  else
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, 4);
    }
  call_clear (&call);

  /* Cancelled after completion: nothing more happens. */
  g_clear_error (&error);
  g_cancellable_reset (cancellable);
  write_text (pair->client, "more");
  ls_local_socket_read_bytes_async (pair->peer, 100, cancellable, on_call_done, &call);
  call_wait (&call);
  g_cancellable_cancel (cancellable);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 1);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), >, 0);
  g_bytes_unref (bytes);
  call_clear (&call);
}

/* ------------------------------------------------------------------------ */
/* Writing and disconnecting                                                */
/* ------------------------------------------------------------------------ */

static guint8 *
pattern_new (gsize size,
             guint seed)
{
  guint8 *data = g_malloc (size + 1);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (((i ^ (i >> 9) ^ (i >> 17)) * 13u) + seed);
  return data;
}

typedef struct {
  LsLocalSocket *socket;
  GByteArray    *received;
  gsize          expected;
} Sink;

static void
sink_ready_read (LsLocalSocket *socket,
                 Sink          *sink)
{
  GBytes *bytes = ls_local_socket_read_all (socket);

  g_byte_array_append (sink->received, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_bytes_unref (bytes);
}

static void
test_write_all (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const gsize size = 8 * 1024 * 1024;
  guint8 *payload = pattern_new (size, 3);
  GBytes *first = g_bytes_new_take (payload, size);
  GBytes *second = g_bytes_new_static ("tail", 4);
  Sink sink = { pair->peer, g_byte_array_new (), size + 4 };
  Call one = { 0 }, two = { 0 };

  g_signal_connect (pair->peer, "ready-read", G_CALLBACK (sink_ready_read), &sink);
  ls_local_socket_write_all_async (pair->client, first, NULL, on_call_done, &one);
  ls_local_socket_write_all_async (pair->client, second, NULL, on_call_done, &two);
  g_assert_cmpuint (one.calls + two.calls, ==, 0);
  call_wait (&one);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, one.result, &error));
  g_assert_no_error (error);
  call_wait (&two);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, two.result, &error));
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);
  while (sink.received->len < size + 4)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpmem (sink.received->data, size, g_bytes_get_data (first, NULL), size);
  g_assert_cmpmem (sink.received->data + size, 4, "tail", 4);
  g_byte_array_unref (sink.received);
  g_bytes_unref (first);
  g_bytes_unref (second);
  call_clear (&one);
  call_clear (&two);
}

/* The application's bytes-written handlers still hear of every byte that
 * pending writes send, also when connected after the first call. */
static void
count_bytes_written (LsLocalSocket *socket,
                     gint64         n,
                     gint64        *total)
{
  *total += n;
}

static void
test_bytes_written_alongside (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const gsize size = 2 * 1024 * 1024;
  GBytes *payload = g_bytes_new_take (pattern_new (size, 7), size);
  Sink sink = { pair->peer, g_byte_array_new (), size };
  gint64 written = 0;
  Call call = { 0 };

  g_signal_connect (pair->peer, "ready-read", G_CALLBACK (sink_ready_read), &sink);
  ls_local_socket_write_all_async (pair->client, payload, NULL, on_call_done, &call);
  g_signal_connect (pair->client, "bytes-written", G_CALLBACK (count_bytes_written), &written);
  call_wait (&call);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, call.result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (written, ==, (gint64) size);
  while (sink.received->len < size)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpmem (sink.received->data, size, g_bytes_get_data (payload, NULL), size);
  g_byte_array_unref (sink.received);
  g_bytes_unref (payload);
  call_clear (&call);
}

/* Data the application flushes itself, at once, completes the write; the
 * callback still comes from the main loop. */
static void
test_write_all_flushed (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  Call call = { 0 };

  ls_local_socket_write_all_async (pair->client, hello, NULL, on_call_done, &call);
  ls_local_socket_flush (pair->client);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, call.result, &error));
  g_assert_no_error (error);
  wait_available (pair->peer, 5);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 1);
  call_clear (&call);
}

/* A bytes-written handler that aborts once the data left: the write that
 * sent it succeeds (the socket counts a flush's bytes for its calls before
 * the handlers run). */
static void
abort_when_written (LsLocalSocket *socket,
                    gint64         n,
                    gpointer       data)
{
  ls_local_socket_abort (socket);
}

static void
test_abort_in_bytes_written (Pair *pair, gconstpointer data)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  Call write = { 0 };

  g_signal_connect (pair->client, "bytes-written", G_CALLBACK (abort_when_written), NULL);
  ls_local_socket_write_all_async (pair->client, hello, NULL, on_call_done, &write);
  call_wait (&write);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  wait_available (pair->peer, 5);
  got = ls_local_socket_read_all (pair->peer);
  assert_bytes_text (got, "hello");
  call_clear (&write);
}

/* An error-occurred handler that drops the last reference to a socket
 * with a pending read: the read completes once, nothing is touched late. */
static void
drop_on_error (LsLocalSocket  *socket,
               LsSocketError   code,
               LsLocalSocket **slot)
{
  g_clear_object (slot);
}

static void
test_unref_in_handler (Pair *pair, gconstpointer data)
{
  Call call = { 0 };
  gboolean finalized;

  track_finalize (pair->peer, &finalized);
  g_signal_connect (pair->peer, "error-occurred", G_CALLBACK (drop_on_error), &pair->peer);
  ls_local_socket_read_bytes_async (pair->peer, 10, NULL, on_call_done, &call);
  g_clear_object (&pair->client);
  call_wait (&call);
  g_assert_null (pair->peer);
  ls_test_run_for (20);
  g_assert_cmpuint (call.calls, ==, 1);
  /* The result held the socket (as its source object). */
  call_clear (&call);
  g_assert_true (finalized);
}

static void
test_disconnect (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const gsize size = 4 * 1024 * 1024;
  GBytes *payload = g_bytes_new_take (pattern_new (size, 5), size);
  Sink sink = { pair->peer, g_byte_array_new (), size };
  Call call = { 0 };

  g_signal_connect (pair->peer, "ready-read", G_CALLBACK (sink_ready_read), &sink);
  ls_local_socket_write_bytes (pair->client, payload);
  ls_local_socket_disconnect_async (pair->client, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  call_wait (&call);
  g_assert_true (ls_local_socket_disconnect_finish (pair->client, call.result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  call_clear (&call);
  while (sink.received->len < size)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpmem (sink.received->data, size, g_bytes_get_data (payload, NULL), size);

  /* Unconnected: at once (not from inside the call). */
  ls_local_socket_disconnect_async (pair->client, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_true (ls_local_socket_disconnect_finish (pair->client, call.result, &error));
  call_clear (&call);

  /* Nothing queued: done as disconnect_from_server returns. */
  ls_local_socket_disconnect_async (pair->peer, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_true (ls_local_socket_disconnect_finish (pair->peer, call.result, &error));
  call_clear (&call);
  g_byte_array_unref (sink.received);
  g_bytes_unref (payload);
}

/* ------------------------------------------------------------------------ */
/* Sockets that are not connected, closed, aborted or dropped               */
/* ------------------------------------------------------------------------ */

static void
test_not_connected (void)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) sync_error = NULL;
  g_autoptr(GBytes) data = g_bytes_new_static ("x", 1);
  Call call = { 0 };

  ls_local_socket_set_server_name (socket, "nowhere");
  g_assert_null (read_bytes_now (socket, 10, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "not connected"));
  g_assert_nonnull (strstr (error->message, "nowhere"));
  g_clear_error (&error);

  g_assert_null (read_line_now (socket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);
  g_assert_null (read_message_now (socket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);

  /* The write error is the sync call's. */
  g_assert_false (ls_local_socket_write_message (socket, data, &sync_error));
  ls_local_socket_write_all_async (socket, data, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_all_finish (socket, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, sync_error->code);
  g_assert_cmpstr (error->message, ==, sync_error->message);
  call_clear (&call);
}

static void
test_close_pending (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  Call call = { 0 };

  write_text (pair->client, "partial");
  wait_available (pair->peer, 7);
  ls_local_socket_read_line_async (pair->peer, NULL, on_call_done, &call);
  ls_local_socket_close (pair->peer);
  call_wait (&call);
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "closed"));
  ls_test_run_for (20);
  g_assert_cmpuint (call.calls, ==, 1);
  call_clear (&call);
}

static void
test_abort_pending (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (16 * 1024 * 1024, 1), 16 * 1024 * 1024);
  Call read = { 0 }, write = { 0 }, disconnect = { 0 };
  GBytes *bytes;

  /* The peer takes little, so that the data stays queued. */
  ls_local_socket_set_read_buffer_size (pair->peer, 4096);
  ls_local_socket_read_bytes_async (pair->client, 10, NULL, on_call_done, &read);
  ls_local_socket_write_all_async (pair->client, big, NULL, on_call_done, &write);
  ls_test_run_for (20);
  g_assert_cmpuint (read.calls + write.calls, ==, 0);
  ls_local_socket_abort (pair->client);
  call_wait (&read);
  call_wait (&write);
  g_assert_null (ls_local_socket_read_bytes_finish (pair->client, read.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);
  g_assert_false (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);
  ls_test_run_for (20);
  g_assert_cmpuint (read.calls + write.calls, ==, 2);
  call_clear (&read);
  call_clear (&write);

  /* Aborted while disconnecting gracefully: the queued data is lost, and
   * both calls waiting for it say so; a pending read sees the end of the
   * stream (a graceful disconnection had begun). */
  ls_local_socket_abort (pair->peer);
  g_clear_object (&pair->peer);
  g_clear_object (&pair->client);
  pair_teardown (pair, NULL);
  pair_setup (pair, NULL);
  ls_local_socket_set_read_buffer_size (pair->peer, 4096);
  ls_local_socket_read_bytes_async (pair->client, 10, NULL, on_call_done, &read);
  ls_local_socket_write_all_async (pair->client, big, NULL, on_call_done, &write);
  ls_test_run_for (20);
  ls_local_socket_disconnect_async (pair->client, NULL, on_call_done, &disconnect);
  g_assert_cmpuint (read.calls + write.calls + disconnect.calls, ==, 0);
  ls_local_socket_abort (pair->client);
  call_wait (&read);
  call_wait (&write);
  call_wait (&disconnect);
  bytes = ls_local_socket_read_bytes_finish (pair->client, read.result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 0);
  g_bytes_unref (bytes);
  g_assert_false (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);
  g_assert_false (ls_local_socket_disconnect_finish (pair->client, disconnect.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_clear_error (&error);
  ls_test_run_for (20);
  g_assert_cmpuint (read.calls + write.calls + disconnect.calls, ==, 3);
  call_clear (&read);
  call_clear (&write);
  call_clear (&disconnect);
}

typedef struct {
  guint   calls;
  GError *error;
  GBytes *bytes;
} Dropped;

static void
on_dropped_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Dropped *dropped = user_data;

  dropped->calls++;
  g_assert_true (LS_IS_LOCAL_SOCKET (source));
  dropped->bytes = ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (source), result,
                                                      &dropped->error);
}

static gboolean
is_unconnected (gpointer socket)
{
  return ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
}

/* A pending call keeps its socket alive until its callback has run (GIO's
 * rule: the result holds its source object). An application that starts
 * a read and drops its last reference still gets the data, and the peer
 * sees no reset meanwhile; the socket goes once the callback is done. */
static void
test_unref_pending (Pair *pair, gconstpointer data)
{
  LsLocalSocket *peer = g_steal_pointer (&pair->peer);
  gboolean finalized;
  gpointer weak = peer;
  Dropped dropped = { 0 };

  track_finalize (peer, &finalized);
  g_object_add_weak_pointer (G_OBJECT (peer), &weak);
  ls_local_socket_read_bytes_async (peer, 100, NULL, on_dropped_read, &dropped);
  g_object_unref (peer);
  ls_test_run_for (20);
  g_assert_nonnull (weak);
  g_assert_false (finalized);
  g_assert_cmpuint (dropped.calls, ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  write_text (pair->client, "still here");
  g_assert_true (ls_test_run_until (&finalized, HANG_GUARD_MS));
  g_assert_cmpuint (dropped.calls, ==, 1);
  g_assert_no_error (dropped.error);
  assert_bytes_text (dropped.bytes, "still here");
  g_bytes_unref (dropped.bytes);
  g_assert_null (weak);

  /* The client then sees its peer gone. */
  g_assert_true (ls_test_run_until_cond (is_unconnected, pair->client, HANG_GUARD_MS));
}

/* The same when what comes is the end of the stream, and for a write:
 * each callback sees its result, then the socket goes. */
static void
on_dropped_write (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Dropped *dropped = user_data;

  dropped->calls++;
  g_assert_true (ls_local_socket_write_all_finish (LS_LOCAL_SOCKET (source), result,
                                                   &dropped->error));
}

static void
test_unref_pending_end (Pair *pair, gconstpointer data)
{
  LsLocalSocket *peer = g_steal_pointer (&pair->peer);
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  gboolean finalized;
  Dropped read = { 0 }, write = { 0 };

  track_finalize (peer, &finalized);
  ls_local_socket_write_all_async (peer, hello, NULL, on_dropped_write, &write);
  ls_local_socket_read_bytes_async (peer, 100, NULL, on_dropped_read, &read);
  g_object_unref (peer);
  wait_available (pair->client, 5);
  g_assert_cmpuint (write.calls, ==, 1);
  g_assert_no_error (write.error);
  g_assert_false (finalized);

  ls_local_socket_disconnect_from_server (pair->client);
  g_assert_true (ls_test_run_until (&finalized, HANG_GUARD_MS));
  g_assert_cmpuint (read.calls, ==, 1);
  g_assert_no_error (read.error);
  g_assert_cmpuint (g_bytes_get_size (read.bytes), ==, 0);
  g_bytes_unref (read.bytes);
}

/* A server is not held by a pending accept: dropped, it fails the call. */
static void
on_dropped_accept (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Dropped *dropped = user_data;
  g_autoptr(LsLocalSocket) socket = NULL;

  dropped->calls++;
  g_assert_true (LS_IS_LOCAL_SERVER (source));
  socket = ls_local_server_accept_finish (LS_LOCAL_SERVER (source), result, &dropped->error);
  g_assert_null (socket);
}

static void
test_unref_pending_accept (Pair *pair, gconstpointer data)
{
  LsLocalServer *server = g_steal_pointer (&pair->server);
  gboolean server_finalized;
  Dropped on_server = { 0 };

  track_finalize (server, &server_finalized);
  ls_local_server_accept_async (server, NULL, on_dropped_accept, &on_server);
  ls_test_run_for (10);
  g_object_unref (server);
  g_assert_cmpuint (on_server.calls, ==, 0);
  ls_test_run_for (50);
  g_assert_cmpuint (on_server.calls, ==, 1);
  g_assert_error (on_server.error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_true (server_finalized);
  g_clear_error (&on_server.error);
}

/* Callbacks that drop, close or abort their socket. */
typedef enum { DROP_UNREF, DROP_CLOSE, DROP_ABORT, DROP_CLOSE_SERVER } DropHow;

typedef struct {
  DropHow        how;
  LsLocalSocket *socket;   /* owned until the callback */
  LsLocalServer *server;
  gboolean       done;
} Reckless;

static void
on_reckless_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Reckless *r = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (source), result,
                                                               &error);

  g_assert_no_error (error);
  switch (r->how)
    {
    case DROP_CLOSE:
      ls_local_socket_close (r->socket);
      /* A call started here fails, once. */
      ls_local_socket_read_bytes_async (r->socket, 10, NULL, on_call_done,
                                        g_object_get_data (G_OBJECT (r->socket), "call"));
      break;
    case DROP_ABORT:
      ls_local_socket_abort (r->socket);
      break;
    case DROP_CLOSE_SERVER:
      ls_local_server_close (r->server);
      break;
    case DROP_UNREF:
    default:
      /* A new read pending as the last reference goes. */
      ls_local_socket_read_bytes_async (r->socket, 10, NULL, on_call_done,
                                        g_object_get_data (G_OBJECT (r->socket), "call"));
      break;
    }
  g_clear_object (&r->socket);
  r->done = TRUE;
}

static void
test_reckless_callbacks (Pair *pair, gconstpointer data)
{
  for (DropHow how = DROP_UNREF; how <= DROP_CLOSE_SERVER; how++)
    {
      Pair local = { 0 };
      Reckless r = { how };
      Call after = { 0 };
      gboolean finalized;
      GError *error = NULL;

      pair_setup (&local, NULL);
      r.socket = g_steal_pointer (&local.peer);
      r.server = local.server;
      track_finalize (r.socket, &finalized);
      g_object_set_data (G_OBJECT (r.socket), "call", &after);
      ls_local_socket_read_bytes_async (r.socket, 10, NULL, on_reckless_read, &r);
      write_text (local.client, "go");
      g_assert_true (ls_test_run_until (&r.done, HANG_GUARD_MS));
      ls_test_run_for (30);
      if (how == DROP_UNREF)
        {
          /* The read started as the last reference went holds the
           * socket: it is still there, and reads what comes. */
          g_autoptr(GBytes) bytes = NULL;

          g_assert_cmpuint (after.calls, ==, 0);
          g_assert_false (finalized);
          write_text (local.client, "more");
          call_wait (&after);
          bytes = ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (after.source), after.result,
                                                     &error);
          g_assert_no_error (error);
          assert_bytes_text (bytes, "more");
        }
      else if (how == DROP_CLOSE)
        {
          /* Closed: the read started after close() fails, once. */
          g_assert_cmpuint (after.calls, ==, 1);
          g_assert_null (ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (after.source),
                                                            after.result, &error));
          g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
          g_clear_error (&error);
        }
      /* The result held the socket (as its source object). */
      call_clear (&after);
      ls_test_run_for (10);
      g_assert_true (finalized);
      pair_teardown (&local, NULL);
    }
}

/* Callbacks that run a nested main loop or wait on their socket: the
 * callbacks of calls returned meanwhile keep their order, run once each,
 * and never inside the wait. */
typedef struct {
  GString       *order;
  LsLocalSocket *socket;
  LsLocalSocket *client;
  gboolean       in_wait;
  gboolean       ran_in_wait;
  Call           second;
} Nested;

static void
on_nested_write (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Nested *n = g_object_get_data (source, "nested");
  g_autoptr(GError) error = NULL;

  g_assert_true (ls_local_socket_write_all_finish (LS_LOCAL_SOCKET (source), result, &error));
  g_string_append (n->order, user_data);
  /* The first runs a nested loop, in which the others may run. */
  if (n->order->len == 1)
    ls_test_run_for (20);
}

static void
on_second_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Nested *n = user_data;

  n->ran_in_wait = n->in_wait;
  on_call_done (source, result, &n->second);
}

static void
on_first_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Nested *n = user_data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_bytes_finish (n->socket, result, NULL);

  ls_local_socket_read_bytes_async (n->socket, 100, NULL, on_second_read, n);
  write_text (n->client, "later");
  g_assert_true (ls_local_socket_flush (n->client));
  n->in_wait = TRUE;
  g_assert_true (ls_local_socket_wait_for_ready_read (n->socket, HANG_GUARD_MS));
  n->in_wait = FALSE;
}

static void
test_callbacks_nested (Pair *pair, gconstpointer data)
{
  g_autoptr(GBytes) a = g_bytes_new_static ("a", 1);
  g_autoptr(GBytes) b = g_bytes_new_static ("b", 1);
  g_autoptr(GBytes) c = g_bytes_new_static ("c", 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  Nested n = { g_string_new (NULL), pair->peer, pair->client };

  g_object_set_data (G_OBJECT (pair->client), "nested", &n);
  ls_local_socket_write_all_async (pair->client, a, NULL, on_nested_write, "1");
  ls_local_socket_write_all_async (pair->client, b, NULL, on_nested_write, "2");
  ls_local_socket_write_all_async (pair->client, c, NULL, on_nested_write, "3");
  ls_test_run_for (50);
  g_assert_cmpstr (n.order->str, ==, "123");

  /* A read callback that starts a read and waits for data: the wait reads
   * it and returns the new call, whose callback comes after the wait. */
  wait_available (pair->peer, 3);
  ls_local_socket_read_bytes_async (pair->peer, 100, NULL, on_first_read, &n);
  call_wait (&n.second);
  g_assert_false (n.ran_in_wait);
  got = ls_local_socket_read_bytes_finish (pair->peer, n.second.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (got, "later");
  call_clear (&n.second);
  g_string_free (n.order, TRUE);
}

/* ------------------------------------------------------------------------ */
/* Results: only the GAsyncResult contract                                  */
/* ------------------------------------------------------------------------ */

/* What GIO promises of a result, and what the _finish functions check;
 * nothing about its type. */
static void
test_result_contract (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) source = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(LsLocalSocket) second = ls_local_socket_new ();
  Call read = { 0 }, other = { 0 };

  write_text (pair->client, "abc");
  ls_local_socket_read_bytes_async (pair->peer, 100, NULL, on_call_done, &read);
  call_wait (&read);
  g_assert_true (G_IS_ASYNC_RESULT (read.result));
  source = g_async_result_get_source_object (read.result);
  g_assert_true (source == G_OBJECT (pair->peer));
  g_assert_true (g_async_result_get_user_data (read.result) == &read);
  g_assert_true (g_async_result_is_tagged (read.result, ls_local_socket_read_bytes_async));
  g_assert_false (g_async_result_is_tagged (read.result, ls_local_socket_read_line_async));

  /* Another call's finish, another socket's: refused (GIO's
   * g_return_val_if_fail), and the result stays good for its own. */
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*ls_socket_result_is_valid*");
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, read.result, &error));
  g_test_assert_expected_messages ();
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*ls_socket_result_is_valid*");
  g_assert_null (ls_local_socket_read_bytes_finish (pair->client, read.result, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, read.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "abc");

  /* Finished once, as a GTask is. */
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*propagated*");
  g_assert_null (ls_local_socket_read_bytes_finish (pair->peer, read.result, &error));
  g_test_assert_expected_messages ();

  /* A result of another kind of object, and a result not yet returned. */
  ls_local_server_accept_async (pair->server, NULL, on_call_done, &other);
  ls_local_socket_connect_to_server (second, pair->path);
  call_wait (&other);
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*ls_socket_result_is_valid*");
  g_assert_false (ls_local_socket_write_all_finish (pair->peer, other.result, &error));
  g_test_assert_expected_messages ();
  g_object_unref (ls_local_server_accept_finish (pair->server, other.result, &error));
  g_assert_no_error (error);
  call_clear (&read);
  call_clear (&other);
}

/* ------------------------------------------------------------------------ */
/* Cancellation: data in the kernel, another thread, random points          */
/* ------------------------------------------------------------------------ */

/* A read is pending, the peer's data reaches the kernel, and the
 * cancellable is cancelled before the main loop runs: the read fails with
 * G_IO_ERROR_CANCELLED and the data stays readable (GIO checks the
 * cancellable before it reads). Issue 23, item 5. */
static void
test_cancel_data_in_kernel (Pair *pair, gconstpointer data)
{
  static const char *const frames[] = { "data\n", "\0\0\0\4data" };

  for (SocketOpKindTest kind = KIND_BYTES; kind <= KIND_MESSAGE; kind++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GBytes) bytes = NULL;
      gsize size = kind == KIND_MESSAGE ? 8 : 5;
      Call call = { 0 };

      start_read (pair->peer, kind, cancellable, &call);
      ls_test_run_for (10);
      g_assert_cmpuint (call.calls, ==, 0);
      g_assert_cmpint (ls_local_socket_write (pair->client, (const guint8 *) frames[kind == KIND_MESSAGE], size),
                       ==, (gssize) size);
      g_assert_true (ls_local_socket_flush (pair->client));
      g_cancellable_cancel (cancellable);
      call_wait (&call);
      g_assert_null (finish_read (pair->peer, kind, call.result, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      call_clear (&call);
      wait_available (pair->peer, size);
      bytes = ls_local_socket_read_all (pair->peer);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       frames[kind == KIND_MESSAGE], size);
    }
}

/* A pending read cancelled from another thread completes in the caller's
 * thread, once, and consumes nothing. */
static void
test_cancel_other_thread (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) bytes = NULL;
  Call call = { 0 };
  GThread *thread;

  write_text (pair->client, "no newline");
  wait_available (pair->peer, 10);
  ls_local_socket_read_line_async (pair->peer, cancellable, on_call_done, &call);
  ls_test_run_for (10);
  g_assert_cmpuint (call.calls, ==, 0);
  thread = g_thread_new ("cancel", (GThreadFunc) (void (*) (void)) g_cancellable_cancel,
                         cancellable);
  call_wait (&call);
  g_thread_join (thread);
  g_assert_true (call.thread == g_thread_self ());
  g_assert_null (ls_local_socket_read_line_finish (pair->peer, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  call_clear (&call);
  ls_test_run_for (10);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->peer), ==, 10);
}

#define RANDOM_CALLS 10000

/* Where a call's cancellable is cancelled, if at all. */
typedef enum {
  CANCEL_NEVER,
  CANCEL_BEFORE,           /* already cancelled when the call is made */
  CANCEL_RIGHT_AFTER,      /* just after the call, in the same iteration */
  CANCEL_LATER,            /* after a few iterations */
  CANCEL_DATA_IN_KERNEL,   /* once the peer's data is in the kernel, before the loop runs */
  CANCEL_OTHER_THREAD,     /* by a helper thread */
  CANCEL_N
} CancelWhen;

typedef struct {
  guint   calls;
  GError *error;
  GBytes *bytes;
  gboolean is_write;
} RandomCall;

static void
on_random_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  RandomCall *rc = user_data;

  rc->calls++;
  if (rc->is_write)
    ls_local_socket_write_all_finish (LS_LOCAL_SOCKET (source), result, &rc->error);
  else
    rc->bytes = ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (source), result, &rc->error);
}

static gpointer
canceller_thread (gpointer data)
{
  GAsyncQueue *queue = data;
  GCancellable *cancellable;

  /* The queue itself is the end marker. */
  while ((cancellable = g_async_queue_pop (queue)) != (gpointer) queue)
    {
      g_cancellable_cancel (cancellable);
      g_object_unref (cancellable);
    }
  return NULL;
}

typedef struct {
  GRand      *rand;
  GByteArray *sent;       /* client -> peer */
  GByteArray *read;       /* what successful reads returned, in order */
  GByteArray *written;    /* peer -> client, every write (cancelled ones too) */
  Sink        sink;       /* what the client received */
  GCancellable *reused;   /* one cancellable used again and again (reset after a cancel) */
} RandomState;

/* The client sends 1..100 more bytes of the pattern, into the kernel. */
static void
random_send (Pair        *pair,
             RandomState *st)
{
  guint n = g_rand_int_range (st->rand, 1, 101);
  guint8 chunk[100];

  for (guint i = 0; i < n; i++)
    chunk[i] = (guint8) ((st->sent->len + i) * 31 + ((st->sent->len + i) >> 8));
  g_byte_array_append (st->sent, chunk, n);
  g_assert_cmpint (ls_local_socket_write (pair->client, chunk, n), ==, (gssize) n);
  ls_local_socket_flush (pair->client);
}

static gboolean
random_call_done (gpointer data)
{
  return ((RandomCall *) data)->calls > 0;
}

/* One call of the 10,000. */
static void
random_one (Pair        *pair,
            RandomState *st,
            GAsyncQueue *to_cancel,
            RandomCall  *rc)
{
  CancelWhen when = g_rand_int_range (st->rand, 0, CANCEL_N);
  gboolean reuse = g_rand_boolean (st->rand);
  GCancellable *cancellable = reuse ? g_object_ref (st->reused) : g_cancellable_new ();
  gboolean buffered = FALSE;

  rc->is_write = g_rand_int_range (st->rand, 0, 5) == 0;
  if (when == CANCEL_BEFORE)
    g_cancellable_cancel (cancellable);
  if (rc->is_write)
    {
      guint8 chunk[64];
      guint n = g_rand_int_range (st->rand, 1, sizeof chunk + 1);
      g_autoptr(GBytes) bytes = NULL;

      for (guint i = 0; i < n; i++)
        chunk[i] = (guint8) g_rand_int (st->rand);
      bytes = g_bytes_new (chunk, n);
      /* A cancelled write (not one refused beforehand) still sends its data. */
      if (when != CANCEL_BEFORE)
        g_byte_array_append (st->written, chunk, n);
      ls_local_socket_write_all_async (pair->peer, bytes, cancellable, on_random_done, rc);
    }
  else
    {
      if (g_rand_boolean (st->rand))
        random_send (pair, st);
      buffered = ls_local_socket_get_bytes_available (pair->peer) > 0;
      ls_local_socket_read_bytes_async (pair->peer, g_rand_int_range (st->rand, 1, 200),
                                        cancellable, on_random_done, rc);
    }
  g_assert_cmpuint (rc->calls, ==, 0);

  switch (when)
    {
    case CANCEL_RIGHT_AFTER:
      g_cancellable_cancel (cancellable);
      break;
    case CANCEL_LATER:
      for (guint i = g_rand_int_range (st->rand, 0, 4); i > 0; i--)
        g_main_context_iteration (NULL, FALSE);
      g_cancellable_cancel (cancellable);
      break;
    case CANCEL_DATA_IN_KERNEL:
      random_send (pair, st);
      g_cancellable_cancel (cancellable);
      break;
    case CANCEL_OTHER_THREAD:
      g_async_queue_push (to_cancel, g_object_ref (cancellable));
      break;
    case CANCEL_NEVER:
    case CANCEL_BEFORE:
    default:
      break;
    }

  /* A read that nothing cancels waits for data: send some. */
  if (!rc->is_write && (when == CANCEL_NEVER || when == CANCEL_OTHER_THREAD))
    random_send (pair, st);
  g_assert_true (ls_test_run_until_cond (random_call_done, rc, HANG_GUARD_MS));
  if (rc->bytes != NULL)
    g_byte_array_append (st->read, g_bytes_get_data (rc->bytes, NULL),
                         g_bytes_get_size (rc->bytes));
  if (when == CANCEL_NEVER)
    g_assert_no_error (rc->error);
  /* Cancelled before the main loop ran: a write is not flushed yet, a read
   * that found nothing buffered has not read (even with data in the
   * kernel): both must fail. */
  if ((when == CANCEL_BEFORE || when == CANCEL_RIGHT_AFTER || when == CANCEL_DATA_IN_KERNEL) &&
      !buffered)
    g_assert_error (rc->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (rc->error != NULL)
    g_assert_error (rc->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_pointer (&rc->bytes, g_bytes_unref);
  /* The helper thread may still hold it: a fresh one for what follows. */
  if (reuse && (g_cancellable_is_cancelled (st->reused) || when == CANCEL_OTHER_THREAD))
    {
      g_object_unref (st->reused);
      st->reused = g_cancellable_new ();
    }
  g_object_unref (cancellable);
}

/* 10,000 calls (reads mostly, some writes), each cancelled or not at a
 * random point: every call completes exactly once, a cancelled one with
 * G_IO_ERROR_CANCELLED; cancelled reads consume nothing (the reads that
 * succeeded returned the client's bytes, in order, and what remains
 * buffered is the rest); every write's data arrives. valgrind checks that
 * nothing leaks. */
static void
test_cancel_random (Pair *pair, gconstpointer data)
{
  guint32 seed = g_test_rand_int ();
  RandomState st = { g_rand_new_with_seed (seed), g_byte_array_new (), g_byte_array_new (),
                     g_byte_array_new (), { pair->client, g_byte_array_new (), 0 },
                     g_cancellable_new () };
  RandomCall *calls = g_new0 (RandomCall, RANDOM_CALLS);
  GAsyncQueue *to_cancel = g_async_queue_new ();
  GThread *canceller = g_thread_new ("canceller", canceller_thread, to_cancel);
  g_autoptr(GBytes) rest = NULL;
  guint cancelled = 0;

  g_test_message ("seed %u", seed);
  g_signal_connect (pair->client, "ready-read", G_CALLBACK (sink_ready_read), &st.sink);
  for (guint i = 0; i < RANDOM_CALLS; i++)
    random_one (pair, &st, to_cancel, &calls[i]);
  g_async_queue_push (to_cancel, to_cancel);
  g_thread_join (canceller);
  g_async_queue_unref (to_cancel);

  /* Late cancellation idles have run; no callback ran twice. */
  ls_test_run_for (50);
  for (guint i = 0; i < RANDOM_CALLS; i++)
    {
      g_assert_cmpuint (calls[i].calls, ==, 1);
      cancelled += calls[i].error != NULL;
      g_clear_error (&calls[i].error);
    }
  g_test_message ("%u of %u calls cancelled", cancelled, RANDOM_CALLS);
  g_assert_cmpuint (cancelled, >, RANDOM_CALLS / 4);

  wait_available (pair->peer, st.sent->len - st.read->len);
  rest = ls_local_socket_read_all (pair->peer);
  g_byte_array_append (st.read, g_bytes_get_data (rest, NULL), g_bytes_get_size (rest));
  g_assert_cmpmem (st.read->data, st.read->len, st.sent->data, st.sent->len);
  while (st.sink.received->len < st.written->len)
    g_assert_true (g_main_context_iteration (NULL, TRUE));
  g_assert_cmpmem (st.sink.received->data, st.sink.received->len, st.written->data,
                   st.written->len);

  g_free (calls);
  g_rand_free (st.rand);
  g_byte_array_unref (st.sent);
  g_byte_array_unref (st.read);
  g_byte_array_unref (st.written);
  g_byte_array_unref (st.sink.received);
  g_object_unref (st.reused);
}

/* ------------------------------------------------------------------------ */
/* Lines, contexts                                                          */
/* ------------------------------------------------------------------------ */

/* A long line arriving in pieces (issue 23, item 3: each arrival used to
 * rescan the whole buffer; the scan is now resumed, see test-buffers'
 * /ls/buffers/input/line-scan-resumes). The line is returned whole. */
static void
test_read_line_long (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) line = NULL;
  const gsize size = 4 * 1024 * 1024;
  guint8 *payload = pattern_new (size, 9);
  Call call = { 0 };

  for (gsize i = 0; i < size; i++)
    if (payload[i] == '\n')
      payload[i] = ' ';
  payload[size - 1] = '\n';
  ls_local_socket_read_line_async (pair->peer, NULL, on_call_done, &call);
  for (gsize off = 0; off < size; off += 65536)
    {
      g_assert_cmpint (ls_local_socket_write (pair->client, payload + off, MIN (65536, size - off)),
                       ==, (gssize) MIN (65536, size - off));
      ls_test_run_for (1);
      g_assert_true (call.calls == 0 || off + 65536 >= size);
    }
  call_wait (&call);
  line = ls_local_socket_read_line_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (line, NULL), g_bytes_get_size (line), payload, size);
  call_clear (&call);
  g_free (payload);
}

/* A call made while another context is the thread-default completes
 * there (through a source of that context), not in the socket's. */
static void
test_other_context (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GMainContext *other = g_main_context_new ();
  gint64 deadline = g_get_monotonic_time () + (gint64) HANG_GUARD_MS * 1000;
  Call call = { 0 };

  /* The socket's calls start in the default context. */
  write_text (pair->client, "a");
  first = read_bytes_now (pair->peer, 10, &error);
  assert_bytes_text (first, "a");

  g_main_context_push_thread_default (other);
  ls_local_socket_read_bytes_async (pair->peer, 10, NULL, on_call_done, &call);
  g_main_context_pop_thread_default (other);
  write_text (pair->client, "b");
  ls_test_run_for (30);
  g_assert_cmpuint (call.calls, ==, 0);

  g_main_context_push_thread_default (other);
  while (call.calls == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (other, TRUE);
  g_main_context_pop_thread_default (other);
  g_assert_cmpuint (call.calls, ==, 1);
  g_assert_true (call.context == other);
  bytes = ls_local_socket_read_bytes_finish (pair->peer, call.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "b");
  call_clear (&call);
  while (g_main_context_iteration (other, FALSE))
    ;
  g_main_context_unref (other);
}

/* ------------------------------------------------------------------------ */
/* write_message_async                                                      */
/* ------------------------------------------------------------------------ */

static void
test_write_message (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const gsize size = 3 * 1024 * 1024;
  g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (size, 4), size);
  g_autoptr(GBytes) small = g_bytes_new_static ("small", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  GBytes *got;
  Call one = { 0 }, two = { 0 }, three = { 0 };

  ls_local_socket_set_max_message_size (pair->peer, size);
  ls_local_socket_write_message_async (pair->client, big, NULL, on_call_done, &one);
  ls_local_socket_write_message_async (pair->client, small, NULL, on_call_done, &two);
  ls_local_socket_write_message_async (pair->client, empty, NULL, on_call_done, &three);
  g_assert_cmpuint (one.calls + two.calls + three.calls, ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, size + 5 + 12);

  /* The peer reads (and so takes in) as the writes complete, in order. */
  got = read_message_now (pair->peer, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got),
                   g_bytes_get_data (big, NULL), size);
  g_bytes_unref (got);
  call_wait (&one);
  g_assert_true (ls_local_socket_write_message_finish (pair->client, one.result, &error));
  call_wait (&two);
  call_wait (&three);
  g_assert_true (ls_local_socket_write_message_finish (pair->client, two.result, &error));
  g_assert_true (ls_local_socket_write_message_finish (pair->client, three.result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);
  got = read_message_now (pair->peer, &error);
  assert_bytes_text (got, "small");
  g_bytes_unref (got);
  got = read_message_now (pair->peer, &error);
  g_assert_cmpuint (g_bytes_get_size (got), ==, 0);
  g_bytes_unref (got);
  call_clear (&one);
  call_clear (&two);
  call_clear (&three);
}

/* Refused as write_message refuses, writing nothing; cancelled; aborted. */
static void
test_write_message_fails (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) sync_error = NULL;
  g_autoptr(GBytes) huge = g_bytes_new_static ("x", 1);
  g_autoptr(GBytes) msg = g_bytes_new_static ("msg", 3);
  g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (16 * 1024 * 1024, 2), 16 * 1024 * 1024);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(LsLocalSocket) unconnected = ls_local_socket_new ();
  Call call = { 0 };

  /* Too large (the size only is read: a GBytes of static memory). */
  g_bytes_unref (huge);
  huge = g_bytes_new_static ("x", (gsize) 0xFFFFFFFEu);
  ls_local_socket_write_message_async (pair->client, huge, NULL, on_call_done, &call);
  g_assert_cmpuint (call.calls, ==, 0);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_message_finish (pair->client, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_clear_error (&error);
  call_clear (&call);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);

  /* Not connected: the sync call's error. */
  g_assert_false (ls_local_socket_write_message (unconnected, msg, &sync_error));
  ls_local_socket_write_message_async (unconnected, msg, NULL, on_call_done, &call);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_message_finish (unconnected, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, sync_error->code);
  g_assert_cmpstr (error->message, ==, sync_error->message);
  g_clear_error (&error);
  call_clear (&call);

  /* Cancelled before: nothing queued. */
  g_cancellable_cancel (cancellable);
  ls_local_socket_write_message_async (pair->client, msg, cancellable, on_call_done, &call);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_message_finish (pair->client, call.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  call_clear (&call);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);

  /* Aborted while the frame waits. */
  ls_local_socket_set_read_buffer_size (pair->peer, 4096);
  ls_local_socket_write_message_async (pair->client, big, NULL, on_call_done, &call);
  ls_test_run_for (20);
  g_assert_cmpuint (call.calls, ==, 0);
  ls_local_socket_abort (pair->client);
  call_wait (&call);
  g_assert_false (ls_local_socket_write_message_finish (pair->client, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  call_clear (&call);
}

/* Callbacks of write_message_async that close, abort, unref, write again
 * or wait on their socket. */
typedef enum { W_UNREF, W_CLOSE, W_ABORT, W_WRITE_AGAIN, W_WAIT, W_DISCONNECT_ASYNC } WriteDropHow;

typedef struct {
  WriteDropHow   how;
  LsLocalSocket *socket;   /* owned until the callback */
  gboolean       done;
  Call           after;
} WriteReckless;

static void
on_reckless_write (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  WriteReckless *r = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = g_bytes_new_static ("again", 5);

  g_assert_true (ls_local_socket_write_message_finish (LS_LOCAL_SOCKET (source), result, &error));
  g_assert_no_error (error);
  switch (r->how)
    {
    case W_CLOSE:
      ls_local_socket_close (r->socket);
      break;
    case W_ABORT:
      ls_local_socket_abort (r->socket);
      break;
    case W_WRITE_AGAIN:
      ls_local_socket_write_message_async (r->socket, again, NULL, on_call_done, &r->after);
      break;
    case W_WAIT:
      ls_local_socket_write_message (r->socket, again, NULL);
      g_assert_true (ls_local_socket_wait_for_bytes_written (r->socket, 5000));
      break;
    case W_DISCONNECT_ASYNC:
      ls_local_socket_write_message (r->socket, again, NULL);
      ls_local_socket_disconnect_async (r->socket, NULL, on_call_done, &r->after);
      break;
    case W_UNREF:
    default:
      break;
    }
  g_clear_object (&r->socket);
  r->done = TRUE;
}

static void
test_write_message_reckless (Pair *pair, gconstpointer data)
{
  for (WriteDropHow how = W_UNREF; how <= W_DISCONNECT_ASYNC; how++)
    {
      Pair local = { 0 };
      WriteReckless r = { how };
      g_autoptr(GBytes) msg = g_bytes_new_static ("first", 5);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) got = NULL;
      gboolean finalized;

      pair_setup (&local, NULL);
      r.socket = g_steal_pointer (&local.client);
      track_finalize (r.socket, &finalized);
      ls_local_socket_write_message_async (r.socket, msg, NULL, on_reckless_write, &r);
      g_assert_true (ls_test_run_until (&r.done, HANG_GUARD_MS));
      got = read_message_now (local.peer, &error);
      g_assert_no_error (error);
      assert_bytes_text (got, "first");
      if (how == W_WRITE_AGAIN || how == W_DISCONNECT_ASYNC)
        {
          call_wait (&r.after);
          g_assert_true (how == W_WRITE_AGAIN
                         ? ls_local_socket_write_message_finish (LS_LOCAL_SOCKET (r.after.source),
                                                                 r.after.result, &error)
                         : ls_local_socket_disconnect_finish (LS_LOCAL_SOCKET (r.after.source),
                                                              r.after.result, &error));
          g_assert_no_error (error);
        }
      if (how >= W_WRITE_AGAIN)
        {
          g_clear_pointer (&got, g_bytes_unref);
          got = read_message_now (local.peer, &error);
          assert_bytes_text (got, "again");
        }
      call_clear (&r.after);
      ls_test_run_for (10);
      g_assert_true (finalized);
      pair_teardown (&local, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* Writes refused, and a connection replaced while closing (issue 23 items  */
/* 9 and 13 meet the asynchronous calls)                                    */
/* ------------------------------------------------------------------------ */

/* Both asynchronous writes on @socket fail with the error @message names,
 * and leave the error the socket recorded as it was: as QIODevice::write
 * (), a socket that is not open records nothing. */
static void
assert_writes_refused (LsLocalSocket *socket,
                       const char    *message)
{
  LsSocketError recorded = ls_local_socket_get_error (socket);
  g_autofree char *recorded_text = g_strdup (ls_local_socket_get_error_string (socket));
  g_autoptr(GBytes) data = g_bytes_new_static ("data", 4);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;
      Call call = { 0 };
      gboolean ok;

      if (i == 0)
        ls_local_socket_write_all_async (socket, data, NULL, on_call_done, &call);
      else
        ls_local_socket_write_message_async (socket, data, NULL, on_call_done, &call);
      g_assert_cmpuint (call.calls, ==, 0);
      call_wait (&call);
      ok = i == 0 ? ls_local_socket_write_all_finish (socket, call.result, &error)
                  : ls_local_socket_write_message_finish (socket, call.result, &error);
      g_assert_false (ok);
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
      g_assert_cmpstr (error->message, ==, message);
      g_assert_cmpint (ls_local_socket_get_error (socket), ==, recorded);
      g_assert_cmpstr (ls_local_socket_get_error_string (socket), ==, recorded_text);
      g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
      call_clear (&call);
    }
}

static void
test_write_not_open (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *message = NULL;
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  Call call = { 0 };

  /* Never connected. */
  ls_local_socket_set_server_name (socket, "nowhere");
  assert_writes_refused (socket, "Cannot write to “nowhere”: the socket is not connected");
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNKNOWN);

  /* Its connect failed: the connect's error stays the socket's, and is not
   * the write's. */
  ls_local_socket_connect_to_server_async (socket, missing, NULL, on_call_done, &call);
  call_wait (&call);
  g_assert_false (ls_local_socket_connect_to_server_finish (socket, call.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  call_clear (&call);
  message = g_strdup_printf ("Cannot write to “%s”: the socket is not connected", missing);
  assert_writes_refused (socket, message);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);

  /* Closed or aborted, after a wait that timed out (SOCKET_TIMEOUT stays). */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_clear_pointer (&message, g_free);
  message = g_strdup_printf ("Cannot write to “%s”: the socket was closed", path);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(LsLocalSocket) accepted = NULL;

      ls_local_socket_connect_to_server (socket, path);
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      g_assert_false (ls_local_socket_wait_for_ready_read (socket, 0));
      g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
      if (i == 0)
        ls_local_socket_close (socket);
      else
        ls_local_socket_abort (socket);
      assert_writes_refused (socket, message);
      g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
      g_assert_true (ls_test_run_until_pending (server, HANG_GUARD_MS));
      accepted = ls_local_server_next_pending_connection (server);
    }

  /* Still open after the peer left: as Qt's QAbstractSocket, the refusal
   * is recorded (UNKNOWN); the call's error names the socket (the names
   * went with the connection). */
  {
    g_autoptr(LsLocalSocket) accepted = NULL;
    g_autoptr(GBytes) data = g_bytes_new_static ("data", 4);

    ls_local_socket_connect_to_server (socket, path);
    g_assert_true (ls_test_run_until_pending (server, HANG_GUARD_MS));
    accepted = ls_local_server_next_pending_connection (server);
    ls_local_socket_abort (accepted);
    g_assert_true (ls_test_run_until_cond (is_unconnected, socket, HANG_GUARD_MS));
    g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_PEER_CLOSED);
    ls_local_socket_write_all_async (socket, data, NULL, on_call_done, &call);
    call_wait (&call);
    g_assert_false (ls_local_socket_write_all_finish (socket, call.result, &error));
    g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
    g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNKNOWN);
    g_clear_pointer (&message, g_free);
    message = g_strdup_printf ("Cannot write to “%s”: the socket is not connected", path);
    g_assert_cmpstr (error->message, ==, message);
    g_clear_error (&error);
    call_clear (&call);

    /* Its connect then fails, which closes it (as Qt does): it is not
     * connected, rather than closed by the application. */
    ls_local_socket_connect_to_server (socket, missing);
    g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
    g_clear_pointer (&message, g_free);
    message = g_strdup_printf ("Cannot write to “%s”: the socket is not connected", missing);
    assert_writes_refused (socket, message);
  }
  ls_test_remove_tmpdir (dir);
}

static void
assert_replaced (GError     *error,
                 const char *verb,
                 const char *path)
{
  g_autofree char *start = g_strdup_printf ("Cannot %s “%s”: the connection was replaced", verb, path);

  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_true (g_str_has_prefix (error->message, start));
}

/* The connection that replaced another works as any: its writes count
 * from their own start, its reads see its own data. */
static void
assert_new_connection_works (Pair          *pair,
                             LsLocalSocket *socket)
{
  g_autoptr(LsLocalSocket) fresh_peer = NULL;
  g_autoptr(GBytes) fresh = g_bytes_new_static ("fresh", 5);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (ls_test_run_until_pending (pair->server, HANG_GUARD_MS));
  fresh_peer = ls_local_server_next_pending_connection (pair->server);
  write_text (fresh_peer, "back");
  got = read_bytes_now (socket, 100, &error);
  g_assert_no_error (error);
  assert_bytes_text (got, "back");
  g_clear_pointer (&got, g_bytes_unref);
  {
    Call call = { 0 };

    ls_local_socket_write_all_async (socket, fresh, NULL, on_call_done, &call);
    call_wait (&call);
    g_assert_true (ls_local_socket_write_all_finish (socket, call.result, &error));
    g_assert_no_error (error);
    call_clear (&call);
  }
  wait_available (fresh_peer, 5);
  got = ls_local_socket_read_all (fresh_peer);
  assert_bytes_text (got, "fresh");
}

/* connect_to_server_async () while CLOSING connects again at once, as the
 * sync call does (and Qt): the closing connection goes with its unsent
 * output and its unread input, without its closing signals. The calls
 * pending on it complete then, once each and from the main loop: the
 * writes whose data was dropped fail, the disconnection fails as under an
 * abort (its data was not delivered), and the read fails (Qt drops the
 * data it would have read). The connect succeeds. */
static void
test_connect_while_closing (Pair *pair, gconstpointer data)
{
  g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (16 * 1024 * 1024, 1), 16 * 1024 * 1024);
  g_autoptr(GBytes) message = g_bytes_new_static ("message", 7);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) line = NULL;
  Call write = { 0 }, frame = { 0 }, read = { 0 }, disconnect = { 0 }, connect = { 0 };

  /* The peer takes little, so that the output stays queued; a partial
   * line waits to be read. */
  ls_local_socket_set_read_buffer_size (pair->peer, 4096);
  write_text (pair->peer, "partial");
  wait_available (pair->client, 7);
  ls_local_socket_read_line_async (pair->client, NULL, on_call_done, &read);
  ls_local_socket_write_all_async (pair->client, big, NULL, on_call_done, &write);
  ls_local_socket_write_message_async (pair->client, message, NULL, on_call_done, &frame);
  ls_test_run_for (20);
  ls_local_socket_disconnect_async (pair->client, NULL, on_call_done, &disconnect);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);

  ls_local_socket_connect_to_server_async (pair->client, NULL, NULL, on_call_done, &connect);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair->client), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), ==, 0);
  g_assert_cmpuint (write.calls + frame.calls + read.calls + disconnect.calls + connect.calls, ==, 0);

  call_wait (&connect);
  g_assert_true (ls_local_socket_connect_to_server_finish (pair->client, connect.result, &error));
  g_assert_no_error (error);
  call_wait (&write);
  g_assert_false (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  assert_replaced (error, "write to", pair->path);
  g_clear_error (&error);
  call_wait (&frame);
  g_assert_false (ls_local_socket_write_message_finish (pair->client, frame.result, &error));
  assert_replaced (error, "write to", pair->path);
  g_clear_error (&error);
  call_wait (&disconnect);
  g_assert_false (ls_local_socket_disconnect_finish (pair->client, disconnect.result, &error));
  assert_replaced (error, "disconnect from", pair->path);
  g_clear_error (&error);
  call_wait (&read);
  line = ls_local_socket_read_line_finish (pair->client, read.result, &error);
  g_assert_null (line);
  assert_replaced (error, "read from", pair->path);
  g_clear_error (&error);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  assert_new_connection_works (pair, pair->client);
  ls_test_run_for (20);
  g_assert_cmpuint (write.calls + frame.calls + read.calls + disconnect.calls + connect.calls, ==, 5);
  call_clear (&write);
  call_clear (&frame);
  call_clear (&read);
  call_clear (&disconnect);
  call_clear (&connect);
}

/* connect_to_server_async () on a CLOSING socket whose close () cleared
 * the names fails as the sync call does (SERVER_NOT_FOUND), once. */
static void
test_connect_while_closing_fails (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  Call connect = { 0 };

  write_text (pair->client, "queued");
  ls_local_socket_close (pair->client);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  ls_local_socket_connect_to_server_async (pair->client, NULL, NULL, on_call_done, &connect);
  g_assert_cmpuint (connect.calls, ==, 0);
  call_wait (&connect);
  g_assert_false (ls_local_socket_connect_to_server_finish (pair->client, connect.result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, ls_local_socket_get_error_string (pair->client));
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_test_run_for (20);
  g_assert_cmpuint (connect.calls, ==, 1);
  call_clear (&connect);
}

/* Handlers around the replacement. A bytes-written handler that connects
 * again once the last queued byte left: the write and the disconnection
 * pending on the old connection succeed (all their data reached the
 * kernel); a read started by a state-changed (connecting) handler belongs
 * to the new connection and reads its data. */
typedef struct {
  Call     read;
  gboolean reconnected;
  gboolean read_started;
} Replacing;

static void
reconnect_when_written (LsLocalSocket *socket,
                        gint64         n,
                        Replacing     *r)
{
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_CLOSING || r->reconnected)
    return;
  r->reconnected = TRUE;
  ls_local_socket_connect_to_server (socket, NULL);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

static void
read_when_connecting (LsLocalSocket      *socket,
                      LsLocalSocketState  state,
                      Replacing          *r)
{
  if (state != LS_LOCAL_SOCKET_STATE_CONNECTING || r->read_started)
    return;
  r->read_started = TRUE;
  ls_local_socket_read_bytes_async (socket, 100, NULL, on_call_done, &r->read);
}

static void
test_replaced_in_handler (Pair *pair, gconstpointer data)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  g_autoptr(LsLocalSocket) fresh_peer = NULL;
  g_autoptr(GBytes) got = NULL;
  Replacing r = { 0 };
  Call write = { 0 }, disconnect = { 0 };

  g_signal_connect (pair->client, "bytes-written", G_CALLBACK (reconnect_when_written), &r);
  g_signal_connect (pair->client, "state-changed", G_CALLBACK (read_when_connecting), &r);
  ls_local_socket_write_all_async (pair->client, hello, NULL, on_call_done, &write);
  ls_local_socket_disconnect_async (pair->client, NULL, on_call_done, &disconnect);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  call_wait (&write);
  call_wait (&disconnect);
  g_assert_true (r.reconnected);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_socket_disconnect_finish (pair->client, disconnect.result, &error));
  g_assert_no_error (error);
  wait_available (pair->peer, 5);
  got = ls_local_socket_read_all (pair->peer);
  assert_bytes_text (got, "hello");
  g_clear_pointer (&got, g_bytes_unref);

  /* The read of the new connection is still pending, and gets its data. */
  g_assert_true (r.read_started);
  ls_test_run_for (20);
  g_assert_cmpuint (r.read.calls, ==, 0);
  g_assert_true (ls_test_run_until_pending (pair->server, HANG_GUARD_MS));
  fresh_peer = ls_local_server_next_pending_connection (pair->server);
  write_text (fresh_peer, "new");
  call_wait (&r.read);
  got = ls_local_socket_read_bytes_finish (pair->client, r.read.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (got, "new");
  call_clear (&r.read);

  /* Writes of the new connection complete when their own bytes are out. */
  ls_local_socket_write_all_async (pair->client, hello, NULL, on_call_done, &write);
  g_clear_pointer (&got, g_bytes_unref);
  call_clear (&write);
  call_wait (&write);
  g_assert_true (ls_local_socket_write_all_finish (pair->client, write.result, &error));
  wait_available (fresh_peer, 5);
  got = ls_local_socket_read_all (fresh_peer);
  assert_bytes_text (got, "hello");
  ls_test_run_for (20);
  g_assert_cmpuint (write.calls + disconnect.calls, ==, 2);
  call_clear (&write);
  call_clear (&disconnect);
}

/* The other ways a connection is replaced before its end is announced: a
 * state-changed (closing) handler that connects again after the peer
 * half-closed (its output still queued), and a notify::state handler
 * that connects again inside abort (), before UNCONNECTED is announced.
 * The calls pending on the old connection complete, once each. */
static void
reconnect_when_closing (LsLocalSocket      *socket,
                        LsLocalSocketState  state,
                        gboolean           *reconnected)
{
  if (state != LS_LOCAL_SOCKET_STATE_CLOSING || *reconnected)
    return;
  *reconnected = TRUE;
  ls_local_socket_connect_to_server (socket, NULL);
}

static void
reconnect_when_unconnected (LsLocalSocket *socket,
                            GParamSpec    *pspec,
                            Pair          *pair)
{
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_UNCONNECTED ||
      g_object_get_data (G_OBJECT (socket), "reconnected") != NULL)
    return;
  g_object_set_data (G_OBJECT (socket), "reconnected", GINT_TO_POINTER (TRUE));
  ls_local_socket_connect_to_server (socket, pair->path);
}

static void
test_replaced_other_paths (Pair *pair, gconstpointer data)
{
  g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (4 * 1024 * 1024, 6), 4 * 1024 * 1024);

  for (guint how = 0; how < 2; how++)
    {
      Pair local = { 0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) got = NULL;
      gboolean reconnected = FALSE;
      Call write = { 0 }, read = { 0 };

      pair_setup (&local, NULL);
      ls_local_socket_set_read_buffer_size (local.peer, 4096);
      write_text (local.peer, "partial");
      wait_available (local.client, 7);
      ls_local_socket_read_line_async (local.client, NULL, on_call_done, &read);
      ls_local_socket_write_all_async (local.client, big, NULL, on_call_done, &write);
      ls_test_run_for (20);
      if (how == 0)
        {
          /* The peer's end reaches the client: PEER_CLOSED, the rest of
           * the stream for the read, CLOSING while its output waits. */
          g_signal_connect (local.client, "state-changed", G_CALLBACK (reconnect_when_closing),
                            &reconnected);
          g_assert_cmpint (shutdown (ls_local_socket_get_socket_descriptor (local.peer), SHUT_WR),
                           ==, 0);
          call_wait (&read);
          got = ls_local_socket_read_line_finish (local.client, read.result, &error);
          g_assert_no_error (error);
          assert_bytes_text (got, "partial");
          call_wait (&write);
          g_assert_true (reconnected);
        }
      else
        {
          g_signal_connect (local.client, "notify::state",
                            G_CALLBACK (reconnect_when_unconnected), &local);
          ls_local_socket_abort (local.client);
          g_assert_cmpuint (read.calls + write.calls, ==, 0);
          call_wait (&read);
          g_assert_null (ls_local_socket_read_line_finish (local.client, read.result, &error));
          g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
          g_clear_error (&error);
          call_wait (&write);
        }
      g_assert_false (ls_local_socket_write_all_finish (local.client, write.result, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
      g_assert_cmpint (ls_local_socket_get_state (local.client), ==,
                       LS_LOCAL_SOCKET_STATE_CONNECTED);
      assert_new_connection_works (&local, local.client);
      ls_test_run_for (20);
      g_assert_cmpuint (read.calls + write.calls, ==, 2);
      call_clear (&read);
      call_clear (&write);
      pair_teardown (&local, NULL);
    }
}

/* Callbacks of the calls the replacement completed that unref, close,
 * abort, connect again, write or wait on their socket. */
typedef enum { R_UNREF, R_CLOSE, R_ABORT, R_RECONNECT, R_WRITE, R_WAIT } ReplacedHow;

typedef struct {
  ReplacedHow    how;
  LsLocalSocket *socket;   /* owned until the callback */
  gboolean       done;
  Call           after;
} ReplacedReckless;

static void
on_replaced_write (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ReplacedReckless *r = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) fresh = g_bytes_new_static ("fresh", 5);

  g_assert_false (ls_local_socket_write_all_finish (LS_LOCAL_SOCKET (source), result, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpint (ls_local_socket_get_state (r->socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  switch (r->how)
    {
    case R_CLOSE:
      ls_local_socket_close (r->socket);
      break;
    case R_ABORT:
      ls_local_socket_abort (r->socket);
      break;
    case R_RECONNECT:
      write_text (r->socket, "dropped");
      ls_local_socket_disconnect_from_server (r->socket);
      ls_local_socket_connect_to_server_async (r->socket, NULL, NULL, on_call_done, &r->after);
      break;
    case R_WRITE:
      ls_local_socket_write_all_async (r->socket, fresh, NULL, on_call_done, &r->after);
      break;
    case R_WAIT:
      write_text (r->socket, "fresh");
      g_assert_true (ls_local_socket_wait_for_bytes_written (r->socket, HANG_GUARD_MS));
      break;
    case R_UNREF:
    default:
      break;
    }
  g_clear_object (&r->socket);
  r->done = TRUE;
}

static void
test_replaced_reckless (Pair *pair, gconstpointer data)
{
  for (ReplacedHow how = R_UNREF; how <= R_WAIT; how++)
    {
      g_autoptr(GBytes) big = g_bytes_new_take (pattern_new (4 * 1024 * 1024, 2), 4 * 1024 * 1024);
      Pair local = { 0 };
      ReplacedReckless r = { how };
      g_autoptr(GError) error = NULL;
      gboolean finalized;

      pair_setup (&local, NULL);
      r.socket = g_steal_pointer (&local.client);
      track_finalize (r.socket, &finalized);
      ls_local_socket_set_read_buffer_size (local.peer, 4096);
      ls_local_socket_write_all_async (r.socket, big, NULL, on_replaced_write, &r);
      ls_test_run_for (20);
      ls_local_socket_disconnect_from_server (r.socket);
      ls_local_socket_connect_to_server (r.socket, NULL);
      g_assert_false (r.done);
      g_assert_true (ls_test_run_until (&r.done, HANG_GUARD_MS));
      if (how == R_RECONNECT || how == R_WRITE)
        {
          call_wait (&r.after);
          g_assert_true (how == R_WRITE
                         ? ls_local_socket_write_all_finish (LS_LOCAL_SOCKET (r.after.source),
                                                             r.after.result, &error)
                         : ls_local_socket_connect_to_server_finish (LS_LOCAL_SOCKET (r.after.source),
                                                                     r.after.result, &error));
          g_assert_no_error (error);
        }
      call_clear (&r.after);
      ls_test_run_for (10);
      g_assert_true (finalized);
      pair_teardown (&local, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* A worker thread with its own context                                     */
/* ------------------------------------------------------------------------ */

static gpointer
worker_thread (gpointer data)
{
  const char *path = data;
  GMainContext *context = g_main_context_new ();
  LsLocalServer *server;
  LsLocalSocket *client, *accepted;
  GError *error = NULL;
  Call connect = { 0 }, accept = { 0 }, write = { 0 }, read = { 0 };
  GBytes *bytes;

  g_main_context_push_thread_default (context);
  server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (server, path, &error));
  client = ls_local_socket_new ();
  ls_local_server_accept_async (server, NULL, on_call_done, &accept);
  ls_local_socket_connect_to_server_async (client, path, NULL, on_call_done, &connect);
  call_wait (&connect);
  call_wait (&accept);
  g_assert_true (connect.context == context);
  g_assert_true (accept.thread == g_thread_self ());
  g_assert_true (ls_local_socket_connect_to_server_finish (client, connect.result, &error));
  accepted = ls_local_server_accept_finish (server, accept.result, &error);
  g_assert_no_error (error);

  bytes = g_bytes_new_static ("thread\n", 7);
  ls_local_socket_write_all_async (client, bytes, NULL, on_call_done, &write);
  g_bytes_unref (bytes);
  ls_local_socket_read_line_async (accepted, NULL, on_call_done, &read);
  call_wait (&write);
  call_wait (&read);
  g_assert_true (read.context == context);
  g_assert_true (ls_local_socket_write_all_finish (client, write.result, &error));
  bytes = ls_local_socket_read_line_finish (accepted, read.result, &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "thread\n");
  g_bytes_unref (bytes);

  call_clear (&connect);
  call_clear (&accept);
  call_clear (&write);
  call_clear (&read);
  g_object_unref (accepted);
  g_object_unref (client);
  g_object_unref (server);
  ls_test_run_for (10);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return GINT_TO_POINTER (TRUE);
}

static void
test_worker_thread (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  GThread *thread = g_thread_new ("worker", worker_thread, path);

  g_assert_true (g_thread_join (thread));
  ls_test_remove_tmpdir (dir);
}

/* A thread no main loop serves (no context pushed, not the main thread)
 * drives its sockets by their blocking calls only. An asynchronous call
 * made there completes when a blocking call brings its event, and its
 * callback runs in the context of the call, the global default one (run
 * here by the main thread), as GTask's did. Nothing brings a cancellation
 * to such a thread: it is seen at the next event, which then consumes
 * nothing. */
typedef struct {
  const char   *path;
  GCancellable *cancellable;
  Call          data;
  Call          cancelled;
} Unserved;

static gpointer
unserved_thread (gpointer user_data)
{
  Unserved *u = user_data;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *client = ls_local_socket_new ();
  LsLocalSocket *accepted;
  GError *error = NULL;

  g_assert_true (ls_local_server_listen (server, u->path, &error));
  ls_local_socket_connect_to_server (client, u->path);
  g_assert_true (ls_local_server_wait_for_new_connection (server, HANG_GUARD_MS, NULL, NULL));
  accepted = ls_local_server_next_pending_connection (server);

  ls_local_socket_read_bytes_async (accepted, 100, u->cancellable, on_call_done, &u->data);
  write_text (client, "one");
  g_assert_true (ls_local_socket_flush (client));
  g_assert_true (ls_local_socket_wait_for_ready_read (accepted, HANG_GUARD_MS));

  ls_local_socket_read_bytes_async (accepted, 100, u->cancellable, on_call_done, &u->cancelled);
  g_cancellable_cancel (u->cancellable);
  write_text (client, "two");
  g_assert_true (ls_local_socket_flush (client));
  g_assert_true (ls_local_socket_wait_for_ready_read (accepted, HANG_GUARD_MS));
  g_assert_cmpint (ls_local_socket_get_bytes_available (accepted), ==, 3);

  g_object_unref (accepted);
  g_object_unref (client);
  g_object_unref (server);
  return NULL;
}

static void
test_unserved_thread (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  Unserved u = { path, g_cancellable_new () };

  g_thread_join (g_thread_new ("unserved", unserved_thread, &u));
  call_wait (&u.data);
  call_wait (&u.cancelled);
  g_assert_true (u.data.thread == g_thread_self ());
  g_assert_true (u.cancelled.thread == g_thread_self ());
  bytes = ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (u.data.source), u.data.result,
                                             &error);
  g_assert_no_error (error);
  assert_bytes_text (bytes, "one");
  g_assert_null (ls_local_socket_read_bytes_finish (LS_LOCAL_SOCKET (u.cancelled.source),
                                                    u.cancelled.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  call_clear (&u.data);
  call_clear (&u.cancelled);
  g_object_unref (u.cancellable);
  ls_test_run_for (10);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* A thousand concurrent round trips                                        */
/* ------------------------------------------------------------------------ */

#define MANY 1000

typedef struct _Many Many;

typedef struct {
  Many          *many;
  LsLocalSocket *socket;
  GBytes        *payload;
  GByteArray    *received;
} Conn;

struct _Many {
  LsLocalServer *server;
  guint          accepted;
  guint          echoed;     /* server side: connections done */
  guint          verified;   /* client side */
  guint          failures;
};

static void server_read_done (GObject *source, GAsyncResult *result, gpointer data);

static void
server_write_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Conn *conn = data;
  GError *error = NULL;

  if (!ls_local_socket_write_all_finish (conn->socket, result, &error))
    {
      g_printerr ("server write: %s\n", error->message);
      conn->many->failures++;
      g_error_free (error);
      return;
    }
  ls_local_socket_read_bytes_async (conn->socket, 4096, NULL, server_read_done, conn);
}

static void
server_read_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Conn *conn = data;
  GError *error = NULL;
  GBytes *bytes = ls_local_socket_read_bytes_finish (conn->socket, result, &error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (bytes == NULL)
        {
          g_printerr ("server read: %s\n", error->message);
          conn->many->failures++;
          g_error_free (error);
        }
      g_clear_pointer (&bytes, g_bytes_unref);
      conn->many->echoed++;
      g_object_unref (conn->socket);
      g_free (conn);
      return;
    }
  ls_local_socket_write_all_async (conn->socket, bytes, NULL, server_write_done, conn);
  g_bytes_unref (bytes);
}

static void
accept_done (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  Many *many = data;
  GError *error = NULL;
  LsLocalSocket *socket = ls_local_server_accept_finish (many->server, result, &error);
  Conn *conn;

  if (socket == NULL)
    {
      g_printerr ("accept: %s\n", error->message);
      many->failures++;
      g_error_free (error);
      return;
    }
  conn = g_new0 (Conn, 1);
  conn->many = many;
  conn->socket = socket;
  if (++many->accepted < MANY)
    ls_local_server_accept_async (many->server, NULL, accept_done, many);
  ls_local_socket_read_bytes_async (socket, 4096, NULL, server_read_done, conn);
}

static void client_read_done (GObject *source, GAsyncResult *result, gpointer data);

static void
client_finish (Conn *conn)
{
  gsize size;
  const guint8 *expected = g_bytes_get_data (conn->payload, &size);

  if (conn->received->len != size || memcmp (conn->received->data, expected, size) != 0)
    conn->many->failures++;
  else
    conn->many->verified++;
  ls_local_socket_disconnect_from_server (conn->socket);
  g_object_unref (conn->socket);
  g_bytes_unref (conn->payload);
  g_byte_array_unref (conn->received);
  g_free (conn);
}

static void
client_read_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Conn *conn = data;
  GError *error = NULL;
  GBytes *bytes = ls_local_socket_read_bytes_finish (conn->socket, result, &error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (error != NULL)
        g_printerr ("client read: %s\n", error->message);
      g_clear_error (&error);
      g_clear_pointer (&bytes, g_bytes_unref);
      conn->many->failures++;
      return;
    }
  g_byte_array_append (conn->received, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_bytes_unref (bytes);
  if (conn->received->len < g_bytes_get_size (conn->payload))
    ls_local_socket_read_bytes_async (conn->socket, 4096, NULL, client_read_done, conn);
  else
    client_finish (conn);
}

static void
client_write_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Conn *conn = data;
  GError *error = NULL;

  if (!ls_local_socket_write_all_finish (conn->socket, result, &error))
    {
      g_printerr ("client write: %s\n", error->message);
      conn->many->failures++;
      g_error_free (error);
    }
}

static void
client_connect_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  Conn *conn = data;
  GError *error = NULL;

  if (!ls_local_socket_connect_to_server_finish (conn->socket, result, &error))
    {
      g_printerr ("connect: %s\n", error->message);
      conn->many->failures++;
      g_error_free (error);
      return;
    }
  ls_local_socket_write_all_async (conn->socket, conn->payload, NULL, client_write_done, conn);
  ls_local_socket_read_bytes_async (conn->socket, 4096, NULL, client_read_done, conn);
}

static void
test_many (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  Many many = { 0 };
  GError *error = NULL;
  gint64 deadline;

  many.server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (many.server, path, &error));
  ls_local_server_accept_async (many.server, NULL, accept_done, &many);
  for (guint i = 0; i < MANY; i++)
    {
      Conn *conn = g_new0 (Conn, 1);
      gsize size = 1 + (i * 7919) % 6000;   /* some span several reads */
      guint8 *data = pattern_new (size, i);

      conn->many = &many;
      conn->socket = ls_local_socket_new ();
      conn->payload = g_bytes_new_take (data, size);
      conn->received = g_byte_array_new ();
      ls_local_socket_connect_to_server_async (conn->socket, path, NULL, client_connect_done, conn);
    }
  deadline = g_get_monotonic_time () + 4 * (gint64) HANG_GUARD_MS * 1000;
  while ((many.echoed < MANY || many.verified < MANY) && many.failures == 0 &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (many.failures, ==, 0);
  g_assert_cmpuint (many.verified, ==, MANY);
  g_assert_cmpuint (many.echoed, ==, MANY);
  g_object_unref (many.server);
  ls_test_run_for (10);
  ls_test_remove_tmpdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define PAIR_TEST(path, func) \
  g_test_add ("/ls/async/" path, Pair, NULL, pair_setup, func, pair_teardown)

  g_test_add_func ("/ls/async/connect-accept", test_connect_accept);
  g_test_add_func ("/ls/async/connect-fails", test_connect_fails);
  g_test_add_func ("/ls/async/connect-backlog", test_connect_backlog);
  PAIR_TEST ("read-bytes", test_read_bytes);
  PAIR_TEST ("read-eof-pending", test_read_eof_pending);
  PAIR_TEST ("read-line", test_read_line);
  PAIR_TEST ("read-message", test_read_message);
  PAIR_TEST ("read-message-too-large", test_read_message_too_large);
  PAIR_TEST ("pending", test_pending);
  PAIR_TEST ("signals-alongside", test_signals_alongside);
  PAIR_TEST ("cancel-before", test_cancel_before);
  PAIR_TEST ("cancel-while", test_cancel_while);
  PAIR_TEST ("cancel-after", test_cancel_after);
  PAIR_TEST ("write-all", test_write_all);
  PAIR_TEST ("disconnect", test_disconnect);
  PAIR_TEST ("bytes-written-alongside", test_bytes_written_alongside);
  PAIR_TEST ("write-all-flushed", test_write_all_flushed);
  PAIR_TEST ("abort-in-bytes-written", test_abort_in_bytes_written);
  PAIR_TEST ("unref-in-handler", test_unref_in_handler);
  g_test_add_func ("/ls/async/not-connected", test_not_connected);
  PAIR_TEST ("close-pending", test_close_pending);
  PAIR_TEST ("abort-pending", test_abort_pending);
  PAIR_TEST ("unref-pending", test_unref_pending);
  PAIR_TEST ("unref-pending-end", test_unref_pending_end);
  PAIR_TEST ("unref-pending-accept", test_unref_pending_accept);
  PAIR_TEST ("reckless-callbacks", test_reckless_callbacks);
  PAIR_TEST ("callbacks-nested", test_callbacks_nested);
  PAIR_TEST ("result-contract", test_result_contract);
  PAIR_TEST ("cancel-data-in-kernel", test_cancel_data_in_kernel);
  PAIR_TEST ("cancel-other-thread", test_cancel_other_thread);
  PAIR_TEST ("cancel-random", test_cancel_random);
  PAIR_TEST ("read-line-long", test_read_line_long);
  PAIR_TEST ("other-context", test_other_context);
  PAIR_TEST ("write-message", test_write_message);
  PAIR_TEST ("write-message-fails", test_write_message_fails);
  PAIR_TEST ("write-message-reckless", test_write_message_reckless);
  g_test_add_func ("/ls/async/write-not-open", test_write_not_open);
  PAIR_TEST ("connect-while-closing", test_connect_while_closing);
  PAIR_TEST ("connect-while-closing-fails", test_connect_while_closing_fails);
  PAIR_TEST ("replaced-in-handler", test_replaced_in_handler);
  PAIR_TEST ("replaced-other-paths", test_replaced_other_paths);
  PAIR_TEST ("replaced-reckless", test_replaced_reckless);
  g_test_add_func ("/ls/async/worker-thread", test_worker_thread);
  g_test_add_func ("/ls/async/unserved-thread", test_unserved_thread);
  g_test_add_func ("/ls/async/many", test_many);

  return g_test_run ();
}
