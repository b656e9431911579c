/* test-socket.c: tests of LsLocalSocket (the QLocalSocket twin)
 *
 * Every test asserts observable behaviour against LS-DESIGN.md / API.md:
 * signal order (through LsTestSignalLog), bytes the peer really received,
 * error codes and texts, descriptors being closed. Peers are an LsLocalServer
 * or, where a test needs full control (backlog 1, blocking reads in a thread,
 * closing at a chosen moment), a raw listening socket.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define MIB (1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* A byte stream that does not repeat at any power-of-two period a buffer
 * bug could hide behind; @seed tells the two directions apart. */
static inline guint8
pattern_byte (guint64 offset,
              guint   seed)
{
  return (guint8) (((offset ^ (offset >> 9) ^ (offset >> 17)) * 13u) + seed);
}

static guint8 *
pattern_new (gsize size,
             guint seed)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = pattern_byte (i, seed);
  return data;
}

static gboolean
pattern_check (const guint8 *data,
               gsize         size,
               guint64       offset,
               guint         seed)
{
  for (gsize i = 0; i < size; i++)
    if (data[i] != pattern_byte (offset + i, seed))
      return FALSE;
  return TRUE;
}

/* Consumes @bytes and compares it with the text @expected. */
static void
assert_bytes_str (GBytes     *bytes,
                  const char *expected)
{
  g_autofree char *text = NULL;
  gsize size = 0;
  const char *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  text = g_strndup (data != NULL ? data : "", size);
  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (size, ==, strlen (expected));
  g_bytes_unref (bytes);
}

/* The log without the tokens equal to @token. */
static char *
log_without (const char *log,
             const char *token)
{
  g_auto(GStrv) parts = g_strsplit (log, " ", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0' && !g_str_equal (parts[i], token))
      g_string_append_printf (out, "%s ", parts[i]);
  return g_string_free (out, FALSE);
}

static guint
log_count (const char *log,
           const char *token)
{
  g_auto(GStrv) parts = g_strsplit (log, " ", -1);
  guint n = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], token))
      n++;
  return n;
}

/* Deliberate fix 9: an error text names the operation, the name or path,
 * and the reason. */
static void
assert_error_text (const char *message,
                   const char *operation,
                   const char *path)
{
  g_autofree char *lower = NULL;
  gsize min_len;

  g_assert_nonnull (message);
  lower = g_ascii_strdown (message, -1);
  if (strstr (lower, operation) == NULL)
    g_error ("error text “%s” does not name the operation “%s”", message, operation);
  if (path != NULL && path[0] != '\0' && strstr (message, path) == NULL)
    g_error ("error text “%s” does not name the path “%s”", message, path);
  /* Something beyond operation and path: the reason. */
  min_len = strlen (operation) + (path != NULL ? strlen (path) : 0) + 6;
  if (strlen (message) < min_len)
    g_error ("error text “%s” gives no reason", message);
}

static gint64
cpu_time_us (void)
{
  struct rusage usage;

  g_assert_no_errno (getrusage (RUSAGE_SELF, &usage));
  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

typedef gboolean (*Cond) (gpointer data);

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the thread-default context until @cond holds; a 20 ms tick makes
 * conditions changed by other threads visible without explicit wake-ups. */
static gboolean
run_until_cond (Cond     cond,
                gpointer data,
                int      timeout_ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  GSource *tick = g_timeout_source_new (20);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean result;

  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, context);
  while (!(result = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  g_main_context_unref (context);
  return result;
}

static void
raw_write_all (int         fd,
               const void *data,
               gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      ssize_t n = write (fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      size -= n;
    }
}

/* Reads until EOF or error; TRUE if EOF (or a reset) came within @timeout_ms. */
static gboolean
raw_wait_eof (int fd,
              int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  char buf[4096];

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int left = (int) ((deadline - g_get_monotonic_time ()) / 1000);
      ssize_t n;

      if (left <= 0 || poll (&pfd, 1, left) <= 0)
        return FALSE;
      n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0)
        return TRUE;
      if (n < 0 && errno == ECONNRESET)
        return TRUE;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return FALSE;
    }
}

static int
raw_listen (const char *path,
            int         backlog)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (strlen (path), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, path);
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr, sizeof addr));
  g_assert_no_errno (listen (fd, backlog));
  return fd;
}

static int
raw_listen_abstract (const char *name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (name);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (len + 1, <=, sizeof addr.sun_path);
  memcpy (addr.sun_path + 1, name, len);
  /* Unpadded, as Qt 6 and GIO's G_UNIX_SOCKET_ADDRESS_ABSTRACT. */
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr,
                           offsetof (struct sockaddr_un, sun_path) + 1 + len));
  g_assert_no_errno (listen (fd, 8));
  return fd;
}

static int
raw_connect_abstract (const char *name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (name);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  memcpy (addr.sun_path + 1, name, len);
  g_assert_no_errno (connect (fd, (struct sockaddr *) &addr,
                              offsetof (struct sockaddr_un, sun_path) + 1 + len));
  return fd;
}

/* A socket file nobody listens on (a crashed server's leftover). */
static void
make_stale_socket (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  strcpy (addr.sun_path, path);
  g_assert_no_errno (bind (fd, (struct sockaddr *) &addr, sizeof addr));
  close (fd);
}

static void
on_flag_plain (LsLocalSocket *socket,
               gboolean      *flag)
{
  *flag = TRUE;
}

static void
on_add_bytes_written (LsLocalSocket *socket,
                      gint64         n,
                      gint64        *total)
{
  g_assert_cmpint (n, >, 0);
  *total += n;
}

/* Reads everything on ready-read and checks it against the pattern. */
typedef struct
{
  guint    seed;
  guint64  received;
  gboolean mismatch;
  guint    ready_reads;
  gboolean disconnected;
} Sink;

static void
sink_on_ready_read (LsLocalSocket *socket,
                    Sink          *sink)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize size = 0;
  const guint8 *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  sink->ready_reads++;
  if (size > 0 && !pattern_check (data, size, sink->received, sink->seed))
    sink->mismatch = TRUE;
  sink->received += size;
}

static void
sink_attach (Sink          *sink,
             LsLocalSocket *socket,
             guint          seed)
{
  memset (sink, 0, sizeof *sink);
  sink->seed = seed;
  g_signal_connect (socket, "ready-read", G_CALLBACK (sink_on_ready_read), sink);
  g_signal_connect (socket, "disconnected", G_CALLBACK (on_flag_plain), &sink->disconnected);
}

/* A blocking reader thread on a raw descriptor, checking the pattern. */
typedef struct
{
  int      fd;
  guint    seed;
  guint64  total;
  gboolean mismatch;
  int      error;
  gint     done;
  GThread *thread;
} Reader;

static gpointer
reader_main (gpointer data)
{
  Reader *reader = data;
  guint8 *buf = g_malloc (65536);

  for (;;)
    {
      ssize_t n = read (reader->fd, buf, 65536);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          reader->error = errno;
          break;
        }
      if (n == 0)
        break;
      if (!pattern_check (buf, n, reader->total, reader->seed))
        reader->mismatch = TRUE;
      reader->total += n;
    }
  g_free (buf);
  g_atomic_int_set (&reader->done, 1);
  return NULL;
}

static void
reader_start (Reader *reader,
              int     fd,
              guint   seed)
{
  memset (reader, 0, sizeof *reader);
  reader->fd = fd;
  reader->seed = seed;
  reader->thread = g_thread_new ("ls-test-reader", reader_main, reader);
}

static gboolean
reader_is_done (gpointer data)
{
  return g_atomic_int_get (&((Reader *) data)->done);
}

/* Waits (iterating the main context) for the reader to see EOF. */
static void
reader_finish (Reader *reader)
{
  if (!run_until_cond (reader_is_done, reader, 60000))
    g_error ("the peer never saw end-of-file (descriptor not closed?)");
  g_thread_join (reader->thread);
  reader->thread = NULL;
}

/* Something a thread does to a raw descriptor after 100 ms. */
typedef enum
{
  DELAYED_WRITE,
  DELAYED_CLOSE,
  DELAYED_ACCEPT,
} DelayedAction;

typedef struct
{
  int            fd;
  DelayedAction  action;
  const char    *text;
  int            result;
  GThread       *thread;
} Delayed;

static gpointer
delayed_main (gpointer data)
{
  Delayed *delayed = data;

  g_usleep (100 * 1000);
  switch (delayed->action)
    {
    case DELAYED_WRITE:
      raw_write_all (delayed->fd, delayed->text, strlen (delayed->text));
      break;
    case DELAYED_CLOSE:
      close (delayed->fd);
      break;
    case DELAYED_ACCEPT:
      delayed->result = accept4 (delayed->fd, NULL, NULL, SOCK_CLOEXEC);
      break;
    }
  return NULL;
}

static void
delayed_start (Delayed       *delayed,
               int            fd,
               DelayedAction  action,
               const char    *text)
{
  memset (delayed, 0, sizeof *delayed);
  delayed->fd = fd;
  delayed->action = action;
  delayed->text = text;
  delayed->result = -1;
  delayed->thread = g_thread_new ("ls-test-delayed", delayed_main, delayed);
}

static void
delayed_join (Delayed *delayed)
{
  g_thread_join (delayed->thread);
  delayed->thread = NULL;
}

/* An LsLocalServer peer: client connected, server side taken. */
typedef struct
{
  char          *dir;
  char          *path;
  LsLocalServer *server;
  LsLocalSocket *client;
  LsLocalSocket *peer;
} Pair;

static LsLocalSocket *
server_take (LsLocalServer *server)
{
  LsLocalSocket *socket;

  if (!ls_local_server_has_pending_connections (server))
    {
      g_autoptr(GError) error = NULL;
      gboolean timed_out = TRUE;

      g_assert_true (ls_local_server_wait_for_new_connection (server, 5000, &timed_out, &error));
      g_assert_no_error (error);
      g_assert_false (timed_out);
    }
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  return socket;
}

static void
pair_init (Pair *pair)
{
  g_autoptr(GError) error = NULL;

  memset (pair, 0, sizeof *pair);
  pair->dir = ls_test_make_tmpdir ();
  pair->path = g_build_filename (pair->dir, "s", NULL);
  pair->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (pair->server, pair->path, &error));
  g_assert_no_error (error);
  pair->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (pair->client, pair->path);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  pair->peer = server_take (pair->server);
  g_assert_cmpint (ls_local_socket_get_state (pair->peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

static void
pair_clear (Pair *pair)
{
  g_clear_object (&pair->client);
  g_clear_object (&pair->peer);
  g_clear_object (&pair->server);
  ls_test_remove_tmpdir (pair->dir);
  g_clear_pointer (&pair->dir, g_free);
  g_clear_pointer (&pair->path, g_free);
}

/* A raw peer: the client connected to a raw listener, the accepted fd kept. */
typedef struct
{
  char          *dir;
  char          *path;
  int            listen_fd;
  LsLocalSocket *client;
  int            peer_fd;
} RawPair;

static void
raw_pair_init (RawPair *pair)
{
  memset (pair, 0, sizeof *pair);
  pair->dir = ls_test_make_tmpdir ();
  pair->path = g_build_filename (pair->dir, "r", NULL);
  pair->listen_fd = raw_listen (pair->path, 16);
  pair->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (pair->client, pair->path);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  pair->peer_fd = accept4 (pair->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (pair->peer_fd, >=, 0);
}

static void
raw_pair_clear (RawPair *pair)
{
  g_clear_object (&pair->client);
  if (pair->peer_fd >= 0)
    close (pair->peer_fd);
  if (pair->listen_fd >= 0)
    close (pair->listen_fd);
  ls_test_remove_tmpdir (pair->dir);
  g_clear_pointer (&pair->dir, g_free);
  g_clear_pointer (&pair->path, g_free);
}

/* A raw listener with backlog 1 whose queue is full: a non-blocking
 * connect() to it fails with EAGAIN. */
typedef struct
{
  char   *dir;
  char   *path;
  int     listen_fd;
  GArray *fillers;
} Backlog;

static void
backlog_fill (Backlog *backlog)
{
  backlog->dir = ls_test_make_tmpdir ();
  backlog->path = g_build_filename (backlog->dir, "full", NULL);
  backlog->listen_fd = raw_listen (backlog->path, 1);
  backlog->fillers = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < 64; i++)
    {
      struct sockaddr_un addr = { .sun_family = AF_UNIX };
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

      g_assert_cmpint (fd, >=, 0);
      strcpy (addr.sun_path, backlog->path);
      if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0)
        {
          g_array_append_val (backlog->fillers, fd);
          continue;
        }
      g_assert_cmpint (errno, ==, EAGAIN);
      close (fd);
      g_assert_cmpuint (backlog->fillers->len, >=, 1);
      return;
    }
  g_error ("the listen backlog never filled up");
}

static void
backlog_clear (Backlog *backlog)
{
  for (guint i = 0; i < backlog->fillers->len; i++)
    close (g_array_index (backlog->fillers, int, i));
  g_array_unref (backlog->fillers);
  close (backlog->listen_fd);
  ls_test_remove_tmpdir (backlog->dir);
  g_free (backlog->dir);
  g_free (backlog->path);
}

static void
assert_fresh_state (LsLocalSocket *socket)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_false (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
}

/* A connection that ended without close() or abort(): as in Qt, the socket
 * stays valid (open), its received data readable. */
static void
assert_ended_state (LsLocalSocket *socket)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
}

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
  assert_bytes_str (ls_local_socket_read (socket, 16), "");
  assert_bytes_str (ls_local_socket_read_all (socket), "");
  assert_bytes_str (ls_local_socket_read_line (socket, 0), "");
  assert_bytes_str (ls_local_socket_peek (socket, 16), "");

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
  ls_test_run_for (20);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  assert_fresh_state (socket);

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

static void
assert_connected_to (LsLocalSocket *socket,
                     const char    *server_name,
                     const char    *full_server_name)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), >=, 0);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, server_name);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, full_server_name);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpstr (ls_local_socket_get_error_string (socket), ==, "Unknown error");
}

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
  assert_connected_to (socket, expect_server_name, expect_full_name);
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
  assert_fresh_state (socket);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, expected);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");
  assert_error_text (ls_local_socket_get_error_string (socket), "connect", expect_path);

  /* Nothing happens later either (no retry, no second error). */
  ls_test_run_for (30);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
}

static void
test_connect_relative (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *other = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "srv", NULL);
  g_autofree char *other_path = g_build_filename (other, "srv", NULL);
  g_autofree char *dir_slash = g_strconcat (dir, "/", NULL);
  g_autofree char *dir_base = g_path_get_basename (dir);
  g_autofree char *in_tmp = g_strconcat (dir_base, "/srv", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("TMPDIR"));
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsLocalSocket *peer;

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  g_setenv ("TMPDIR", dir, TRUE);
  socket = connect_ok ("srv", LS_SOCKET_OPTION_NONE, "srv", path);
  /* The accepted side reports the server's path and its basename (Qt 6). */
  peer = server_take (server);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (peer), ==, path);
  g_assert_cmpstr (ls_local_socket_get_server_name (peer), ==, "srv");
  g_object_unref (peer);
  g_object_unref (socket);

  /* A trailing slash in $TMPDIR is cleaned away, as Qt does. */
  g_setenv ("TMPDIR", dir_slash, TRUE);
  socket = connect_ok ("srv", LS_SOCKET_OPTION_NONE, "srv", path);
  g_object_unref (server_take (server));
  g_object_unref (socket);

  /* $TMPDIR is re-read on every call. */
  g_setenv ("TMPDIR", other, TRUE);
  connect_fails ("srv", LS_SOCKET_OPTION_NONE, LS_SOCKET_ERROR_SERVER_NOT_FOUND, other_path);

  /* Unset or empty $TMPDIR means /tmp (where ls_test_make_tmpdir() lives). */
  g_assert_true (g_str_has_prefix (dir, "/tmp/"));
  g_unsetenv ("TMPDIR");
  socket = connect_ok (in_tmp, LS_SOCKET_OPTION_NONE, in_tmp, path);
  g_object_unref (server_take (server));
  g_object_unref (socket);
  g_setenv ("TMPDIR", "", TRUE);
  socket = connect_ok (in_tmp, LS_SOCKET_OPTION_NONE, in_tmp, path);
  g_object_unref (server_take (server));
  g_object_unref (socket);

  if (saved != NULL)
    g_setenv ("TMPDIR", saved, TRUE);
  else
    g_unsetenv ("TMPDIR");
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
  ls_test_remove_tmpdir (other);
}

static void
test_connect_absolute (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "abs", NULL);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsTestSignalLog *log;
  char buf[8];

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  socket = connect_ok (path, LS_SOCKET_OPTION_NONE, path, path);
  g_object_unref (server_take (server));
  g_object_unref (socket);

  /* connect_to_server (NULL) uses the server-name property. */
  socket = ls_local_socket_new ();
  log = ls_test_signal_log_new (socket);
  ls_local_socket_set_server_name (socket, path);
  ls_local_socket_connect_to_server (socket, NULL);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  assert_connected_to (socket, path, path);
  ls_test_signal_log_free (log);
  g_object_unref (server_take (server));
  g_object_unref (socket);

  /* The server need not accept for the connect to succeed, and the
   * connection is real: data goes through a raw accept(). */
  {
    int listen_fd;
    int peer_fd;
    g_autofree char *raw_path = g_build_filename (dir, "raw", NULL);

    listen_fd = raw_listen (raw_path, 4);
    socket = connect_ok (raw_path, LS_SOCKET_OPTION_NONE, raw_path, raw_path);
    peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint (peer_fd, >=, 0);
    g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "abc", 3), ==, 3);
    g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
    g_assert_cmpint (read (peer_fd, buf, sizeof buf), ==, 3);
    g_assert_cmpmem (buf, 3, "abc", 3);
    g_object_unref (socket);
    g_assert_true (raw_wait_eof (peer_fd, 5000));
    close (peer_fd);
    close (listen_fd);
  }

  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_connect_abstract (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *name = g_strdup_printf ("ls-test-socket-%d-%s", (int) getpid (), base);
  g_autofree char *slash_name = g_strdup_printf ("/ls-test-socket-%d-%s/x", (int) getpid (), base);
  g_autofree char *raw_name = g_strdup_printf ("ls-test-socket-raw-%d-%s", (int) getpid (), base);
  g_autofree char *file_path = g_build_filename (dir, "file-server", NULL);
  g_autofree char *tmp_name = g_build_filename (dir, name, NULL);
  g_autofree char *saved = g_strdup (g_getenv ("TMPDIR"));
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *slash_server = ls_local_server_new ();
  LsLocalServer *file_server = ls_local_server_new ();
  LsLocalSocket *socket;
  LsLocalSocket *peer;
  int raw_fd;
  int peer_fd;

  g_setenv ("TMPDIR", dir, TRUE);

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);

  socket = connect_ok (name, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, name, name);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket), ==, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  peer = server_take (server);
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
  g_object_unref (server_take (slash_server));
  g_object_unref (socket);

  /* Wire format: an unpadded abstract address (Qt 6), so a raw listener
   * bound that way is found. */
  raw_fd = raw_listen_abstract (raw_name);
  socket = connect_ok (raw_name, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, raw_name, raw_name);
  peer_fd = accept4 (raw_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (peer_fd, >=, 0);
  g_object_unref (socket);
  g_assert_true (raw_wait_eof (peer_fd, 5000));
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

  if (saved != NULL)
    g_setenv ("TMPDIR", saved, TRUE);
  else
    g_unsetenv ("TMPDIR");
  g_object_unref (server);
  g_object_unref (slash_server);
  g_object_unref (file_server);
  ls_test_remove_tmpdir (dir);
}

static void
test_connect_failures (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
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

  make_stale_socket (stale);
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
  g_object_unref (server_take (server));
  g_object_unref (socket);
  g_object_unref (server);

  /* connect_to_server (NULL) after a failure: the name was cleared. */
  socket = ls_local_socket_new ();
  ls_local_socket_set_server_name (socket, missing);
  ls_local_socket_connect_to_server (socket, NULL);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_object_unref (socket);

  ls_test_remove_tmpdir (dir);
}

/* EACCES: the socket file is 0700 and owned by root; user nobody may not
 * connect. As root (which bypasses permission checks) the connect runs in a
 * child process (g_test_trap_subprocess: fork + exec of this test) that drops
 * to nobody; it reports through its exit status. */
static void
test_connect_access (void)
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
  ls_test_remove_tmpdir (dir);
}

static void
test_connect_while_connected (void)
{
  Pair pair;
  LsTestSignalLog *log;
  g_autofree char *other = NULL;

  pair_init (&pair);
  other = g_build_filename (pair.dir, "other", NULL);
  log = ls_test_signal_log_new (pair.client);

  ls_local_socket_connect_to_server (pair.client, pair.path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_OPERATION);
  assert_error_text (ls_local_socket_get_error_string (pair.client), "connect", NULL);

  ls_test_signal_log_clear (log);
  ls_local_socket_connect_to_server (pair.client, other);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (pair.client));
  g_assert_cmpstr (ls_local_socket_get_full_server_name (pair.client), ==, pair.path);

  /* The existing connection is untouched. */
  ls_test_signal_log_clear (log);
  ls_test_send_and_expect (pair.client, pair.peer, "still");

  ls_test_signal_log_free (log);
  pair_clear (&pair);
}

/* ------------------------------------------------------------------------ */
/* Listen backlog full (EAGAIN)                                             */
/* ------------------------------------------------------------------------ */

static LsLocalSocket *
connect_into_full_backlog (Backlog          *backlog,
                           int               connect_timeout,
                           LsTestSignalLog **log_out)
{
  LsLocalSocket *socket = ls_local_socket_new ();
  LsTestSignalLog *log = ls_test_signal_log_new (socket);

  ls_local_socket_set_connect_timeout (socket, connect_timeout);
  g_assert_cmpint (ls_local_socket_get_connect_timeout (socket), ==, connect_timeout);
  ls_local_socket_connect_to_server (socket, backlog->path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) ");
  g_assert_false (ls_local_socket_is_valid (socket));
  *log_out = log;
  return socket;
}

static void
on_state_flag_unconnected (LsLocalSocket      *socket,
                           LsLocalSocketState  state,
                           gboolean           *flag)
{
  if (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    *flag = TRUE;
}

static void
test_eagain_timeout (void)
{
  Backlog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  gboolean unconnected = FALSE;
  gint64 cpu0, cpu1, wall0, wall1;
  const char *want = "state-changed(2) error-occurred(5) state-changed(0) ";

  backlog_fill (&backlog);
  socket = connect_into_full_backlog (&backlog, 600, &log);
  g_signal_connect (socket, "state-changed", G_CALLBACK (on_state_flag_unconnected), &unconnected);

  /* While it retries, the process must sleep, not spin: a busy retry
   * (Qt's write notifier on an unconnected socket) burns a full core. */
  cpu0 = cpu_time_us ();
  wall0 = g_get_monotonic_time ();
  ls_test_run_for (300);
  cpu1 = cpu_time_us ();
  wall1 = g_get_monotonic_time ();
  g_test_message ("retrying for %" G_GINT64_FORMAT " us used %" G_GINT64_FORMAT " us CPU",
                  wall1 - wall0, cpu1 - cpu0);
  g_assert_cmpint (cpu1 - cpu0, <, (wall1 - wall0) / 2);

  g_assert_true (ls_test_run_until (&unconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  assert_fresh_state (socket);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  assert_error_text (ls_local_socket_get_error_string (socket), "connect", backlog.path);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "");
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, "");

  /* And it really stopped: no further attempts or signals. */
  ls_test_run_for (200);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  backlog_clear (&backlog);
}

static void
test_eagain_accept_in_loop (void)
{
  Backlog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  gboolean connected = FALSE;
  GArray *accepted = g_array_new (FALSE, FALSE, sizeof (int));
  guint got = 0;
  int fd;

  backlog_fill (&backlog);
  socket = connect_into_full_backlog (&backlog, 20000, &log);
  g_signal_connect (socket, "connected", G_CALLBACK (on_flag_plain), &connected);

  /* Let it retry a little, then make room in the backlog. */
  ls_test_run_for (50);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_array_append_val (accepted, fd);

  g_assert_true (ls_test_run_until (&connected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  assert_connected_to (socket, backlog.path, backlog.path);

  /* The connection is real: exactly one of the queued connections gets
   * the bytes. */
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "hello", 5), ==, 5);
  g_assert_true (ls_local_socket_wait_for_bytes_written (socket, 5000));
  g_assert_no_errno (fcntl (backlog.listen_fd, F_SETFL, O_NONBLOCK));
  while ((fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
    g_array_append_val (accepted, fd);
  for (guint i = 0; i < accepted->len; i++)
    {
      char buf[16];
      ssize_t n = recv (g_array_index (accepted, int, i), buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        {
          g_assert_cmpmem (buf, n, "hello", 5);
          got++;
        }
      close (g_array_index (accepted, int, i));
    }
  g_assert_cmpuint (got, ==, 1);

  g_array_unref (accepted);
  ls_test_signal_log_free (log);
  g_object_unref (socket);
  backlog_clear (&backlog);
}

static void
test_eagain_wait_for_connected (void)
{
  Backlog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;
  Delayed delayed;

  backlog_fill (&backlog);
  socket = connect_into_full_backlog (&backlog, 20000, &log);
  ls_test_signal_log_clear (log);

  /* Timeouts: FALSE, SOCKET_TIMEOUT recorded, no signal, still trying. */
  g_assert_false (ls_local_socket_wait_for_connected (socket, 0));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  g_assert_false (ls_local_socket_wait_for_connected (socket, 100));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  /* Room appears while we block without a timeout: signals inside the call,
   * and the successful connect resets the error. */
  delayed_start (&delayed, backlog.listen_fd, DELAYED_ACCEPT, NULL);
  g_assert_true (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(3) connected ");
  delayed_join (&delayed);
  g_assert_cmpint (delayed.result, >=, 0);
  close (delayed.result);
  assert_connected_to (socket, backlog.path, backlog.path);

  /* Already connected: TRUE at once. */
  g_assert_true (ls_local_socket_wait_for_connected (socket, 0));
  g_assert_true (ls_local_socket_wait_for_connected (socket, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(3) connected ");

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  backlog_clear (&backlog);
}

static void
test_eagain_connect_while_connecting (void)
{
  Backlog backlog;
  LsTestSignalLog *log;
  LsLocalSocket *socket;

  backlog_fill (&backlog);
  socket = connect_into_full_backlog (&backlog, 300, &log);

  ls_local_socket_connect_to_server (socket, backlog.path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) error-occurred(19) ");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);

  /* abort() cancels the attempt: the timeout never fires afterwards. */
  ls_local_socket_abort (socket);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  ls_test_signal_log_clear (log);
  ls_test_run_for (600);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  assert_fresh_state (socket);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  backlog_clear (&backlog);
}

/* ------------------------------------------------------------------------ */
/* Buffered I/O                                                             */
/* ------------------------------------------------------------------------ */

typedef struct
{
  Sink          *sink;
  guint64        want;
  LsLocalSocket *writer;
  gint64        *written;
} DeliveredCond;

static gboolean
delivered (gpointer data)
{
  DeliveredCond *c = data;

  return c->sink->received >= c->want &&
         ls_local_socket_get_bytes_to_write (c->writer) == 0 &&
         *c->written >= (gint64) c->want;
}

static void
test_io_write_buffered (void)
{
  Pair pair;
  Sink sink;
  LsTestSignalLog *log;
  gint64 written = 0;
  g_autofree guint8 *data = pattern_new (2000, 1);
  g_autoptr(GBytes) second = g_bytes_new (data + 1000, 1000);
  DeliveredCond cond = { &sink, 2000, NULL, &written };
  g_autofree char *rest = NULL;

  pair_init (&pair);
  cond.writer = pair.client;
  sink_attach (&sink, pair.peer, 1);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, 1000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 1000);
  g_assert_cmpint (ls_local_socket_write_bytes (pair.client, second), ==, 1000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 2000);
  /* Nothing left yet: bytes leave from the event loop. */
  g_assert_cmpint (written, ==, 0);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  g_assert_true (run_until_cond (delivered, &cond, 10000));
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.received, ==, 2000);
  g_assert_cmpint (written, ==, 2000);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  g_assert_cmpuint (log_count (ls_test_signal_log_get (log), "bytes-written"), >=, 1);
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "");

  /* Zero-length writes are fine and send nothing. */
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 0), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);

  ls_test_signal_log_free (log);
  pair_clear (&pair);
}

static void
test_io_flush (void)
{
  Pair pair;
  Sink sink;
  gint64 written = 0;
  g_autofree guint8 *data = pattern_new (500, 2);
  DeliveredCond cond = { &sink, 500, NULL, &written };

  pair_init (&pair);
  cond.writer = pair.client;
  sink_attach (&sink, pair.peer, 2);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (on_add_bytes_written), &written);

  g_assert_false (ls_local_socket_flush (pair.client));
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 500), ==, 500);
  g_assert_true (ls_local_socket_flush (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  g_assert_false (ls_local_socket_flush (pair.client));

  g_assert_true (run_until_cond (delivered, &cond, 10000));
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.received, ==, 500);
  g_assert_cmpint (written, ==, 500);

  pair_clear (&pair);
}

static void
test_io_write_unconnected (void)
{
  RawPair pair;
  LsLocalSocket *socket = ls_local_socket_new ();
  g_autofree guint8 *big = pattern_new (4 * MIB, 3);
  g_autoptr(GBytes) bytes = g_bytes_new_static ("abc", 3);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_write_bytes (socket, bytes), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
  g_object_unref (socket);

  /* CLOSING (data still pending) refuses new data too. */
  raw_pair_init (&pair);
  g_assert_cmpint (ls_local_socket_write (pair.client, big, 4 * MIB), ==, 4 * MIB);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_write_bytes (pair.client, bytes), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), >, 0);

  /* And UNCONNECTED after a disconnect. */
  ls_local_socket_abort (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "abc", 3), ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  raw_pair_clear (&pair);
}

typedef struct
{
  Sink          *a;
  Sink          *b;
  LsLocalSocket *sa;
  LsLocalSocket *sb;
  gint64        *wa;
  gint64        *wb;
  guint64        size;
} BothCond;

static gboolean
both_delivered (gpointer data)
{
  BothCond *c = data;

  return c->a->received >= c->size && c->b->received >= c->size &&
         ls_local_socket_get_bytes_to_write (c->sa) == 0 &&
         ls_local_socket_get_bytes_to_write (c->sb) == 0 &&
         *c->wa >= (gint64) c->size && *c->wb >= (gint64) c->size;
}

static void
test_io_bidirectional (void)
{
  const gsize size = 8 * MIB;
  Pair pair;
  Sink at_client, at_peer;
  gint64 client_written = 0, peer_written = 0;
  g_autofree guint8 *up = pattern_new (size, 11);
  g_autofree guint8 *down = pattern_new (size, 77);
  BothCond cond;

  pair_init (&pair);
  sink_attach (&at_client, pair.client, 77);
  sink_attach (&at_peer, pair.peer, 11);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (on_add_bytes_written), &client_written);
  g_signal_connect (pair.peer, "bytes-written", G_CALLBACK (on_add_bytes_written), &peer_written);

  g_assert_cmpint (ls_local_socket_write (pair.client, up, size), ==, (gssize) size);
  g_assert_cmpint (ls_local_socket_write (pair.peer, down, size), ==, (gssize) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.peer), ==, (gint64) size);

  cond = (BothCond) { &at_client, &at_peer, pair.client, pair.peer,
                      &client_written, &peer_written, size };
  g_assert_true (run_until_cond (both_delivered, &cond, 300000));

  g_assert_cmpuint (at_peer.received, ==, size);
  g_assert_cmpuint (at_client.received, ==, size);
  g_assert_false (at_peer.mismatch);
  g_assert_false (at_client.mismatch);
  g_assert_cmpint (client_written, ==, (gint64) size);
  g_assert_cmpint (peer_written, ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.peer), ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_state (pair.peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_test_message ("ready-read: client %u, peer %u", at_client.ready_reads, at_peer.ready_reads);

  pair_clear (&pair);
}

typedef struct
{
  gboolean inside;
  gboolean reentered;
  guint    count;
  int      peer_fd;
} Reentry;

static void
on_ready_read_reentry (LsLocalSocket *socket,
                       Reentry       *r)
{
  if (r->inside)
    r->reentered = TRUE;
  r->inside = TRUE;
  r->count++;
  if (r->count == 1)
    {
      /* More data arrives while we are inside the handler, and we block
       * for it: ready-read must not be emitted recursively. */
      raw_write_all (r->peer_fd, "more", 4);
      ls_local_socket_wait_for_ready_read (socket, 200);
      ls_local_socket_flush (socket);
    }
  /* Deliberately reads nothing. */
  r->inside = FALSE;
}

static gboolean
bytes_available_is (LsLocalSocket *socket,
                    gint64         n)
{
  return ls_local_socket_get_bytes_available (socket) == n;
}

static gboolean
available_104 (gpointer data)
{
  return bytes_available_is (data, 104);
}

static void
test_io_ready_read_not_recursive (void)
{
  RawPair pair;
  Reentry r = { 0 };
  char chunk[100];
  guint before;

  raw_pair_init (&pair);
  r.peer_fd = pair.peer_fd;
  memset (chunk, 'x', sizeof chunk);
  g_signal_connect (pair.client, "ready-read", G_CALLBACK (on_ready_read_reentry), &r);

  raw_write_all (pair.peer_fd, chunk, sizeof chunk);
  g_assert_true (run_until_cond (available_104, pair.client, 10000));
  ls_test_run_for (100);
  g_assert_false (r.reentered);
  g_assert_cmpuint (r.count, >=, 1);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 104);

  /* One arrival, one ready-read: unread buffered data does not make it
   * fire again and again. */
  before = r.count;
  raw_write_all (pair.peer_fd, chunk, sizeof chunk);
  {
    guint target = before + 1;
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (r.count < target && g_get_monotonic_time () < deadline)
      ls_test_run_for (10);
  }
  g_assert_cmpuint (r.count, ==, before + 1);
  ls_test_run_for (200);
  g_assert_cmpuint (r.count, ==, before + 1);
  g_assert_false (r.reentered);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 204);

  raw_pair_clear (&pair);
}

static void
test_io_read_semantics (void)
{
  RawPair pair;
  const char *text = "hello world\nsecond line\nab\nrest";
  gint64 len = strlen (text);

  raw_pair_init (&pair);
  raw_write_all (pair.peer_fd, text, len);
  while (ls_local_socket_get_bytes_available (pair.client) < len)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);

  /* peek does not consume. */
  assert_bytes_str (ls_local_socket_peek (pair.client, 5), "hello");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);
  assert_bytes_str (ls_local_socket_peek (pair.client, 1000), text);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len);

  assert_bytes_str (ls_local_socket_read (pair.client, 5), "hello");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, len - 5);
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), " world\n");
  /* A limit of N returns at most N - 1 bytes (Qt's rule), counting the
   * newline, and cuts a line in two; 1 returns nothing. */
  assert_bytes_str (ls_local_socket_read_line (pair.client, 1), "");
  assert_bytes_str (ls_local_socket_read_line (pair.client, 4), "sec");
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "ond line\n");
  /* A limit one past the line's length returns the whole line. */
  assert_bytes_str (ls_local_socket_read_line (pair.client, 4), "ab\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 4);
  /* read(max) with less available returns what there is. */
  assert_bytes_str (ls_local_socket_read (pair.client, 100), "rest");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* Empty buffer: empty results, never NULL. */
  assert_bytes_str (ls_local_socket_read_all (pair.client), "");
  assert_bytes_str (ls_local_socket_read (pair.client, 10), "");
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "");
  assert_bytes_str (ls_local_socket_peek (pair.client, 10), "");
  g_assert_false (ls_local_socket_can_read_line (pair.client));

  /* read_line(2) returns one byte (read_line(1) none); the newline is then a line of its own. */
  raw_write_all (pair.peer_fd, "x\ny", 3);
  while (ls_local_socket_get_bytes_available (pair.client) < 3)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 2), "x");
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "\n");
  /* Without a newline, read_line returns what is buffered (QIODevice). */
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "y");

  /* read_all takes everything, binary-safe. */
  raw_write_all (pair.peer_fd, "a\0b\nc", 5);
  while (ls_local_socket_get_bytes_available (pair.client) < 5)
    g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  {
    g_autoptr(GBytes) all = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const char *d = g_bytes_get_data (all, &n);

    g_assert_cmpmem (d, n, "a\0b\nc", 5);
  }
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  raw_pair_clear (&pair);
}

typedef struct
{
  GPtrArray *lines;
  guint      ready_reads;
} LineState;

static void
on_ready_read_lines (LsLocalSocket *socket,
                     LineState     *state)
{
  state->ready_reads++;
  while (ls_local_socket_can_read_line (socket))
    {
      g_autoptr(GBytes) line = ls_local_socket_read_line (socket, 0);
      gsize n = 0;
      const char *d = g_bytes_get_data (line, &n);

      g_ptr_array_add (state->lines, g_strndup (d, n));
    }
}

static void
run_until_ready_reads (LineState *state,
                       guint      target)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (state->ready_reads < target && g_get_monotonic_time () < deadline)
    ls_test_run_for (10);
  g_assert_cmpuint (state->ready_reads, ==, target);
}

static void
test_io_line_protocol (void)
{
  RawPair pair;
  LineState state = { g_ptr_array_new_with_free_func (g_free), 0 };
  gulong id;

  raw_pair_init (&pair);
  id = g_signal_connect (pair.client, "ready-read", G_CALLBACK (on_ready_read_lines), &state);

  /* Through the event loop. */
  raw_write_all (pair.peer_fd, "he", 2);
  run_until_ready_reads (&state, 1);
  g_assert_cmpuint (state.lines->len, ==, 0);
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 2);

  raw_write_all (pair.peer_fd, "llo\nwor", 7);
  run_until_ready_reads (&state, 2);
  g_assert_cmpuint (state.lines->len, ==, 1);
  g_assert_cmpstr (state.lines->pdata[0], ==, "hello\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);

  raw_write_all (pair.peer_fd, "ld\n", 3);
  run_until_ready_reads (&state, 3);
  g_assert_cmpuint (state.lines->len, ==, 2);
  g_assert_cmpstr (state.lines->pdata[1], ==, "world\n");
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* The same with wait_for_ready_read and no handler. */
  g_signal_handler_disconnect (pair.client, id);
  raw_write_all (pair.peer_fd, "he", 2);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 2);
  raw_write_all (pair.peer_fd, "llo\nwor", 7);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "hello\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  raw_write_all (pair.peer_fd, "ld\n", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_true (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_line (pair.client, 0), "world\n");
  g_assert_false (ls_local_socket_can_read_line (pair.client));

  g_ptr_array_unref (state.lines);
  raw_pair_clear (&pair);
}

static void
test_io_read_buffer_size (void)
{
  RawPair pair;
  g_autofree guint8 *data = pattern_new (512, 5);
  Sink sink;

  raw_pair_init (&pair);
  ls_local_socket_set_read_buffer_size (pair.client, 128);
  g_assert_cmpint (ls_local_socket_get_read_buffer_size (pair.client), ==, 128);

  raw_write_all (pair.peer_fd, data, 256);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  /* The rest stays in the kernel until we read. */
  ls_test_run_for (100);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  {
    g_autoptr(GBytes) first = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const guint8 *d = g_bytes_get_data (first, &n);

    g_assert_cmpuint (n, ==, 128);
    g_assert_true (pattern_check (d, n, 0, 5));
  }
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 128);
  {
    g_autoptr(GBytes) second = ls_local_socket_read_all (pair.client);
    gsize n = 0;
    const guint8 *d = g_bytes_get_data (second, &n);

    g_assert_cmpuint (n, ==, 128);
    g_assert_true (pattern_check (d, n, 128, 5));
  }
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));

  /* Through the event loop: reading in ready-read resumes the flow, and
   * the buffer never holds more than 128 bytes. */
  sink_attach (&sink, pair.client, 5);
  sink.received = 256;
  raw_write_all (pair.peer_fd, data + 256, 256);
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (sink.received < 512 && g_get_monotonic_time () < deadline)
      {
        ls_test_run_for (10);
        g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), <=, 128);
      }
  }
  g_assert_cmpuint (sink.received, ==, 512);
  g_assert_false (sink.mismatch);
  g_assert_cmpuint (sink.ready_reads, >=, 2);

  raw_pair_clear (&pair);
}

/* ------------------------------------------------------------------------ */
/* Closing                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_close_disconnect_idle (void)
{
  Pair pair;
  LsTestSignalLog *log;
  LsTestSignalLog *peer_log;
  gboolean peer_disconnected = FALSE;
  const char *want = "state-changed(6) state-changed(0) read-channel-finished disconnected ";

  pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  peer_log = ls_test_signal_log_new (pair.peer);
  g_signal_connect (pair.peer, "disconnected", G_CALLBACK (on_flag_plain), &peer_disconnected);

  ls_local_socket_disconnect_from_server (pair.client);
  /* Synchronous. */
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  assert_ended_state (pair.client);
  g_assert_null (ls_local_socket_get_peer_credentials (pair.client));

  /* The peer sees an orderly close. */
  g_assert_true (ls_test_run_until (&peer_disconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (peer_log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpint (ls_local_socket_get_error (pair.peer), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  assert_ended_state (pair.peer);
  /* The text still names the server after the names were cleared. */
  assert_error_text (ls_local_socket_get_error_string (pair.peer), "remote closed", pair.path);

  /* Again: nothing. */
  ls_local_socket_disconnect_from_server (pair.client);
  ls_local_socket_disconnect_from_server (pair.peer);
  ls_test_run_for (30);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  ls_test_signal_log_free (peer_log);
  pair_clear (&pair);
}

static void
test_close_disconnect_pending (void)
{
  const gsize size = 4 * MIB;
  RawPair pair;
  Reader reader;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  gint64 written = 0;
  g_autofree guint8 *data = pattern_new (size, 21);
  g_autofree char *rest = NULL;

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_flag_plain), &disconnected);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), >, 0);
  /* disconnect may already push some bytes out (bytes-written), but it
   * cannot finish: 4 MiB do not fit into the kernel buffer. */
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) ");
  g_clear_pointer (&rest, g_free);

  reader_start (&reader, pair.peer_fd, 21);
  g_assert_true (ls_test_run_until (&disconnected, 60000));
  reader_finish (&reader);

  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  g_assert_cmpint (reader.error, ==, 0);
  g_assert_cmpint (written, ==, (gint64) size);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  assert_ended_state (pair.client);
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) state-changed(0) read-channel-finished disconnected ");

  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

static void
test_close_abort (void)
{
  const gsize size = 4 * MIB;
  RawPair pair;
  Reader reader;
  LsTestSignalLog *log;
  g_autofree guint8 *data = pattern_new (size, 22);
  const char *want = "state-changed(0) read-channel-finished disconnected about-to-close ";

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);

  raw_write_all (pair.peer_fd, "abc", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_test_signal_log_clear (log);

  ls_local_socket_abort (pair.client);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  assert_fresh_state (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);

  /* The queued data was dropped: the loop never ran, so nothing left. */
  reader_start (&reader, pair.peer_fd, 22);
  reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, 0);

  ls_local_socket_abort (pair.client);
  ls_test_run_for (50);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);

  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

static void
test_close_close (void)
{
  const gsize size = 1 * MIB;
  RawPair pair;
  Reader reader;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  g_autofree guint8 *data = pattern_new (size, 23);
  g_autofree char *rest = NULL;

  /* Nothing pending: about-to-close first, the read buffer is dropped. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  raw_write_all (pair.peer_fd, "abc", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  ls_test_signal_log_clear (log);
  ls_local_socket_close (pair.client);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "about-to-close state-changed(6) state-changed(0) read-channel-finished disconnected ");
  assert_fresh_state (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 0);
  g_assert_true (raw_wait_eof (pair.peer_fd, 5000));
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);

  /* Pending data is still flushed. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_flag_plain), &disconnected);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_close (pair.client);
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "about-to-close state-changed(6) ");
  g_clear_pointer (&rest, g_free);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  reader_start (&reader, pair.peer_fd, 23);
  g_assert_true (ls_test_run_until (&disconnected, 60000));
  reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==,
                   "about-to-close state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpuint (log_count (ls_test_signal_log_get (log), "about-to-close"), ==, 1);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

typedef struct
{
  gint state_at_disconnected;
  gint state_at_read_channel_finished;
} StateAt;

static void
on_disconnected_state (LsLocalSocket *socket,
                       StateAt       *at)
{
  at->state_at_disconnected = ls_local_socket_get_state (socket);
}

static void
on_read_channel_finished_state (LsLocalSocket *socket,
                                StateAt       *at)
{
  at->state_at_read_channel_finished = ls_local_socket_get_state (socket);
}

static void
test_close_peer_closed (void)
{
  RawPair pair;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  StateAt at = { -1, -1 };
  const char *want = "ready-read error-occurred(1) state-changed(6) state-changed(0) "
                     "read-channel-finished disconnected ";

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_flag_plain), &disconnected);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_disconnected_state), &at);
  g_signal_connect (pair.client, "read-channel-finished",
                    G_CALLBACK (on_read_channel_finished_state), &at);

  raw_write_all (pair.peer_fd, "bye", 3);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  g_assert_cmpint (at.state_at_disconnected, ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (at.state_at_read_channel_finished, ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);

  /* Received data stays readable. */
  assert_ended_state (pair.client);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  assert_error_text (ls_local_socket_get_error_string (pair.client), "", pair.path);
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 3);
  g_assert_false (ls_local_socket_can_read_line (pair.client));
  assert_bytes_str (ls_local_socket_read_all (pair.client), "bye");
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "x", 1), ==, -1);
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));

  /* Each signal once. */
  ls_test_run_for (100);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, want);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);

  /* Noticed inside wait_for_ready_read: FALSE, the sequence inside the call. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  assert_ended_state (pair.client);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

static void
test_close_write_after_peer_closed (void)
{
  RawPair pair;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  const char *text;
  g_autofree guint8 *data = pattern_new (1000, 9);

  /* A missing MSG_NOSIGNAL must kill this test, whoever ignored SIGPIPE. */
  signal (SIGPIPE, SIG_DFL);

  /* Before we noticed: the write is queued (still CONNECTED), flushing it
   * hits EPIPE -> PEER_CLOSED and teardown. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, 1000);
  g_assert_false (ls_local_socket_flush (pair.client));
  text = ls_test_signal_log_get (log);
  g_test_message ("flush after peer close: %s", text);
  g_assert_true (g_str_has_prefix (text, "error-occurred(1) "));
  g_assert_cmpuint (log_count (text, "error-occurred(1)"), ==, 1);
  g_assert_cmpuint (log_count (text, "state-changed(0)"), ==, 1);
  g_assert_cmpuint (log_count (text, "disconnected"), ==, 1);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  assert_ended_state (pair.client);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  /* After we noticed: -1 and no further signal. */
  ls_test_signal_log_clear (log);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, -1);
  ls_test_run_for (50);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);

  /* Through the event loop (whichever of EOF or EPIPE is seen first). */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_flag_plain), &disconnected);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, 1000);
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  ls_test_run_for (50);
  text = ls_test_signal_log_get (log);
  g_test_message ("write after peer close, event loop: %s", text);
  g_assert_true (g_str_has_prefix (text, "error-occurred(1) "));
  g_assert_cmpuint (log_count (text, "error-occurred(1)"), ==, 1);
  g_assert_cmpuint (log_count (text, "disconnected"), ==, 1);
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  assert_ended_state (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, 1000), ==, -1);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

/* ------------------------------------------------------------------------ */
/* wait_for_*                                                               */
/* ------------------------------------------------------------------------ */

static void
assert_healthy_timeout (LsLocalSocket   *socket,
                        LsTestSignalLog *log,
                        const char      *path)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  assert_error_text (ls_local_socket_get_error_string (socket), "time", path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
}

static void
test_wait_ready_read (void)
{
  RawPair pair;
  LsTestSignalLog *log;
  Delayed delayed;

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);

  /* A zero timeout only looks: nothing timed out, nothing is recorded
   * (issue 12, as Qt 6). */
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 0));
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, 100));
  assert_healthy_timeout (pair.client, log, pair.path);

  raw_write_all (pair.peer_fd, "a", 1);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  assert_bytes_str (ls_local_socket_read_all (pair.client), "a");

  /* Data already in the kernel: even a zero timeout sees it. */
  ls_test_signal_log_clear (log);
  raw_write_all (pair.peer_fd, "b", 1);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 0));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  assert_bytes_str (ls_local_socket_read_all (pair.client), "b");

  /* No timeout, data arrives later. */
  ls_test_signal_log_clear (log);
  delayed_start (&delayed, pair.peer_fd, DELAYED_WRITE, "c");
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, -1));
  delayed_join (&delayed);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "ready-read ");
  assert_bytes_str (ls_local_socket_read_all (pair.client), "c");
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  /* Unconnected: FALSE at once, whatever the timeout. */
  ls_local_socket_abort (pair.client);
  ls_test_signal_log_clear (log);
  g_assert_false (ls_local_socket_wait_for_ready_read (pair.client, -1));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "");

  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

static void
test_wait_bytes_written (void)
{
  const gsize big = 8 * MIB;
  RawPair pair;
  LsTestSignalLog *log;
  Reader reader;
  gint64 written = 0;
  g_autofree guint8 *data = pattern_new (300 + big, 31);
  guint rounds = 0;
  gboolean timed_out = FALSE;

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "bytes-written", G_CALLBACK (on_add_bytes_written), &written);

  g_assert_cmpint (ls_local_socket_write (pair.client, data, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 0));
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "bytes-written ");
  g_assert_cmpint (written, ==, 100);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);

  g_assert_cmpint (ls_local_socket_write (pair.client, data + 100, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, -1));
  g_assert_cmpint (written, ==, 200);
  g_assert_cmpint (ls_local_socket_write (pair.client, data + 200, 100), ==, 100);
  g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 1000));
  g_assert_cmpint (written, ==, 300);

  /* Nothing queued: nothing to wait for. */
  g_assert_false (ls_local_socket_wait_for_bytes_written (pair.client, 100));

  /* The peer does not read: the kernel buffer fills and a wait times out,
   * the connection stays healthy and no error-occurred is emitted. */
  g_assert_cmpint (ls_local_socket_write (pair.client, data + 300, big), ==, (gssize) big);
  while (rounds++ < 100000)
    if (!ls_local_socket_wait_for_bytes_written (pair.client, 100))
      {
        timed_out = TRUE;
        break;
      }
  g_assert_true (timed_out);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), >, 0);
  ls_test_signal_log_clear (log);
  g_assert_false (ls_local_socket_wait_for_bytes_written (pair.client, 0));
  assert_healthy_timeout (pair.client, log, pair.path);

  /* Once the peer reads, everything arrives, in order. */
  reader_start (&reader, pair.peer_fd, 31);
  while (ls_local_socket_get_bytes_to_write (pair.client) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (pair.client, 10000));
  g_assert_cmpint (written, ==, (gint64) (300 + big));
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, 300 + big);
  g_assert_false (reader.mismatch);

  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

static void
test_wait_disconnected (void)
{
  const gsize size = 4 * MIB;
  RawPair pair;
  LsTestSignalLog *log;
  Delayed delayed;
  Reader reader;
  g_autofree guint8 *data = pattern_new (size, 41);
  g_autofree char *rest = NULL;

  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);

  g_assert_false (ls_local_socket_wait_for_disconnected (pair.client, 0));
  g_assert_cmpint (ls_local_socket_get_error (pair.client), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_false (ls_local_socket_wait_for_disconnected (pair.client, 100));
  assert_healthy_timeout (pair.client, log, pair.path);

  /* The peer hangs up while we wait without a timeout. */
  delayed_start (&delayed, pair.peer_fd, DELAYED_CLOSE, NULL);
  g_assert_true (ls_local_socket_wait_for_disconnected (pair.client, -1));
  delayed_join (&delayed);
  pair.peer_fd = -1;
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "error-occurred(1) state-changed(6) state-changed(0) read-channel-finished disconnected ");
  assert_ended_state (pair.client);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);

  /* CLOSING with pending data: waiting flushes everything, then closes. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  reader_start (&reader, pair.peer_fd, 41);
  g_assert_true (ls_local_socket_wait_for_disconnected (pair.client, -1));
  rest = log_without (ls_test_signal_log_get (log), "bytes-written");
  g_assert_cmpstr (rest, ==, "state-changed(6) state-changed(0) read-channel-finished disconnected ");
  assert_ended_state (pair.client);
  reader_finish (&reader);
  g_assert_cmpuint (reader.total, ==, size);
  g_assert_false (reader.mismatch);
  ls_test_signal_log_free (log);
  raw_pair_clear (&pair);
}

/* ------------------------------------------------------------------------ */
/* Descriptors and credentials                                              */
/* ------------------------------------------------------------------------ */

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

  raw_write_all (sv[1], "pong", 4);
  g_assert_true (ls_local_socket_wait_for_ready_read (socket, 5000));
  assert_bytes_str (ls_local_socket_read_all (socket), "pong");

  /* The event loop serves an adopted descriptor too. */
  g_signal_connect (socket, "ready-read", G_CALLBACK (on_flag_plain), &ready);
  raw_write_all (sv[1], "loop", 4);
  g_assert_true (ls_test_run_until (&ready, 5000));
  assert_bytes_str (ls_local_socket_read_all (socket), "loop");

  /* The socket owns the descriptor: finalising closes it. */
  g_object_unref (socket);
  g_assert_true (raw_wait_eof (sv[1], 5000));
  close (sv[1]);
}

static void
test_descriptor_connected_to_server (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
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
  /* Qt 6: names from getpeername(): the path, and its basename. */
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, path);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, "named");
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, fd);
  g_assert_true (ls_local_socket_is_valid (socket));
  assert_peer_is_us (socket);

  peer = server_take (server);
  assert_peer_is_us (peer);
  ls_test_send_and_expect (socket, peer, "x");
  g_object_unref (peer);
  g_object_unref (socket);

  /* Abstract: the name without the NUL, and the option bit set. */
  ls_local_server_set_socket_options (abstract_server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (abstract_server, abstract, &error));
  g_assert_no_error (error);
  fd = raw_connect_abstract (abstract);
  socket = ls_local_socket_new ();
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, fd,
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, abstract);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, abstract);
  g_assert_cmpint (ls_local_socket_get_socket_options (socket) & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                   !=, 0);
  g_object_unref (server_take (abstract_server));
  g_object_unref (socket);

  g_object_unref (server);
  g_object_unref (abstract_server);
  ls_test_remove_tmpdir (dir);
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
  assert_fresh_state (socket);
}

static void
test_descriptor_invalid (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *path = g_build_filename (dir, "s", NULL);
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
  assert_connected_to (sock, path, path);
  connected = server_take (server);
  g_object_unref (connected);

  g_object_unref (sock);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_credentials (void)
{
  Pair pair;
  LsLocalSocket *fresh = ls_local_socket_new ();

  g_assert_null (ls_local_socket_get_peer_credentials (fresh));
  g_object_unref (fresh);

  pair_init (&pair);
  g_assert_true (ls_local_socket_is_valid (pair.client));
  g_assert_true (ls_local_socket_is_valid (pair.peer));
  assert_peer_is_us (pair.client);
  assert_peer_is_us (pair.peer);
  ls_local_socket_disconnect_from_server (pair.client);
  /* As in Qt, valid until close() or abort(). */
  g_assert_true (ls_local_socket_is_valid (pair.client));
  g_assert_null (ls_local_socket_get_peer_credentials (pair.client));
  ls_local_socket_close (pair.client);
  g_assert_false (ls_local_socket_is_valid (pair.client));
  pair_clear (&pair);
}

/* ------------------------------------------------------------------------ */
/* Unref from inside every signal handler                                   */
/* ------------------------------------------------------------------------ */

typedef enum
{
  SC_CONNECT_OK,
  SC_CONNECT_FAIL,
  SC_RECONNECT,
  SC_EAGAIN_TIMEOUT,
  SC_EAGAIN_ACCEPT,
  SC_EAGAIN_WAIT,
  SC_PEER_DATA,
  SC_PEER_DATA_WAIT,
  SC_WRITE,
  SC_PEER_CLOSE,
  SC_PEER_CLOSE_WAIT,
  SC_DISCONNECT,
  SC_DISCONNECT_PENDING,
  SC_DISCONNECT_DRAINED,
  SC_WRITE_PEER_GONE,
  SC_CLOSE,
  SC_ABORT,
} Scenario;

typedef struct
{
  const char *path;
  const char *signal;
  Scenario    scenario;
  int         value;  /* state or error to react to; -1: any */
} UnrefCase;

typedef struct
{
  LsLocalSocket *target;
  int            value;
  gboolean       fired;
  gulong         handler_id;
} UnrefCtx;

static void
unref_fire (LsLocalSocket *socket,
            UnrefCtx      *ctx)
{
  g_assert_true (socket == ctx->target);
  if (ctx->fired)
    return;
  ctx->fired = TRUE;
  g_signal_handler_disconnect (socket, ctx->handler_id);
  g_object_unref (socket);
}

static void
unref_on_plain (LsLocalSocket *socket,
                UnrefCtx      *ctx)
{
  unref_fire (socket, ctx);
}

static void
unref_on_value (LsLocalSocket *socket,
                int            value,
                UnrefCtx      *ctx)
{
  if (ctx->value < 0 || value == ctx->value)
    unref_fire (socket, ctx);
}

static void
unref_on_bytes_written (LsLocalSocket *socket,
                        gint64         n,
                        UnrefCtx      *ctx)
{
  unref_fire (socket, ctx);
}

static void
test_unref_in_handler (gconstpointer data)
{
  const UnrefCase *uc = data;
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "u", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree guint8 *big = NULL;
  UnrefCtx ctx = { NULL, uc->value, FALSE, 0 };
  LsLocalSocket *socket = ls_local_socket_new ();
  LsLocalSocket *weak = socket;
  Backlog backlog = { 0 };
  gboolean use_backlog = uc->scenario == SC_EAGAIN_TIMEOUT || uc->scenario == SC_EAGAIN_ACCEPT ||
                         uc->scenario == SC_EAGAIN_WAIT;
  Delayed delayed;
  int listen_fd = -1;
  int peer_fd = -1;
  int extra_fd = -1;
  GCallback callback;

  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &weak);
  ctx.target = socket;
  if (g_str_equal (uc->signal, "state-changed") || g_str_equal (uc->signal, "error-occurred"))
    callback = G_CALLBACK (unref_on_value);
  else if (g_str_equal (uc->signal, "bytes-written"))
    callback = G_CALLBACK (unref_on_bytes_written);
  else
    callback = G_CALLBACK (unref_on_plain);
  ctx.handler_id = g_signal_connect (socket, uc->signal, callback, &ctx);

  if (use_backlog)
    backlog_fill (&backlog);
  else
    listen_fd = raw_listen (path, 8);

  switch (uc->scenario)
    {
    case SC_CONNECT_OK:
      ls_local_socket_connect_to_server (socket, path);
      peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      break;

    case SC_CONNECT_FAIL:
      ls_local_socket_connect_to_server (socket, missing);
      break;

    case SC_EAGAIN_TIMEOUT:
      ls_local_socket_set_connect_timeout (socket, 200);
      ls_local_socket_connect_to_server (socket, backlog.path);
      ls_test_run_until (&ctx.fired, 10000);
      break;

    case SC_EAGAIN_ACCEPT:
      ls_local_socket_connect_to_server (socket, backlog.path);
      g_assert_false (ctx.fired);
      extra_fd = accept4 (backlog.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      g_assert_cmpint (extra_fd, >=, 0);
      ls_test_run_until (&ctx.fired, 10000);
      break;

    case SC_EAGAIN_WAIT:
      ls_local_socket_connect_to_server (socket, backlog.path);
      g_assert_false (ctx.fired);
      delayed_start (&delayed, backlog.listen_fd, DELAYED_ACCEPT, NULL);
      /* Our only reference goes away inside this call. */
      ls_local_socket_wait_for_connected (socket, 10000);
      delayed_join (&delayed);
      extra_fd = delayed.result;
      g_assert_cmpint (extra_fd, >=, 0);
      break;

    default:
      ls_local_socket_connect_to_server (socket, path);
      g_assert_false (ctx.fired);
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
      peer_fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      g_assert_cmpint (peer_fd, >=, 0);
      switch (uc->scenario)
        {
        case SC_RECONNECT:
          ls_local_socket_connect_to_server (socket, path);
          break;
        case SC_PEER_DATA:
          raw_write_all (peer_fd, "data", 4);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_DATA_WAIT:
          raw_write_all (peer_fd, "data", 4);
          /* Our only reference goes away inside this call. */
          ls_local_socket_wait_for_ready_read (socket, 5000);
          break;
        case SC_WRITE:
          /* Unref while most of it is still queued. */
          big = pattern_new (4 * MIB, 1);
          g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_CLOSE:
          /* Unread data left behind in the finalised socket. */
          raw_write_all (peer_fd, "tail", 4);
          close (peer_fd);
          peer_fd = -1;
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_PEER_CLOSE_WAIT:
          close (peer_fd);
          peer_fd = -1;
          ls_local_socket_wait_for_ready_read (socket, 5000);
          break;
        case SC_DISCONNECT:
          ls_local_socket_disconnect_from_server (socket);
          break;
        case SC_DISCONNECT_PENDING:
          {
            Reader reader;

            /* Unreffed while closing with data queued: the socket lives on
             * until every byte is delivered (API.md fix 11; Qt drops it),
             * then goes with its descriptor. */
            big = pattern_new (4 * MIB, 1);
            g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
            ls_local_socket_disconnect_from_server (socket);
            reader_start (&reader, peer_fd, 1);
            reader_finish (&reader);
            g_assert_cmpuint (reader.total, ==, 4 * MIB);
            g_assert_false (reader.mismatch);
            ls_test_run_until ((gboolean *) &ctx.fired, 10000);
          }
          break;
        case SC_DISCONNECT_DRAINED:
          {
            Reader reader;

            /* The closing socket finishes from the main loop, when the
             * peer has taken the last byte. */
            big = pattern_new (4 * MIB, 1);
            g_assert_cmpint (ls_local_socket_write (socket, big, 4 * MIB), ==, 4 * MIB);
            ls_local_socket_disconnect_from_server (socket);
            g_assert_false (ctx.fired);
            reader_start (&reader, peer_fd, 1);
            ls_test_run_until (&ctx.fired, 10000);
            reader_finish (&reader);
            g_assert_cmpuint (reader.total, ==, 4 * MIB);
            g_assert_false (reader.mismatch);
          }
          break;
        case SC_WRITE_PEER_GONE:
          /* The flush at the end of the dispatch finds the peer gone
           * (EPIPE). The peer only stops reading, so no end-of-file
           * reaches the read path first. */
          g_assert_no_errno (shutdown (peer_fd, SHUT_RD));
          g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "lost", 4), ==, 4);
          ls_test_run_until (&ctx.fired, 10000);
          break;
        case SC_CLOSE:
          ls_local_socket_close (socket);
          break;
        case SC_ABORT:
          ls_local_socket_abort (socket);
          break;
        default:
          g_assert_not_reached ();
        }
      break;
    }

  g_assert_true (ctx.fired);
  /* Let anything the library deferred run on the freed object, if it did. */
  ls_test_run_for (50);
  g_assert_null (weak);

  /* The descriptor went with the object. */
  if (peer_fd >= 0)
    {
      g_assert_true (raw_wait_eof (peer_fd, 5000));
      close (peer_fd);
    }
  if (extra_fd >= 0)
    close (extra_fd);
  if (listen_fd >= 0)
    close (listen_fd);
  if (use_backlog)
    backlog_clear (&backlog);
  ls_test_remove_tmpdir (dir);
}

static const UnrefCase unref_cases[] = {
  { "/ls/socket/unref-in-handler/connected", "connected", SC_CONNECT_OK, -1 },
  { "/ls/socket/unref-in-handler/connected-after-eagain", "connected", SC_EAGAIN_ACCEPT, -1 },
  { "/ls/socket/unref-in-handler/connected-in-wait", "connected", SC_EAGAIN_WAIT, -1 },
  { "/ls/socket/unref-in-handler/state-changed-connected-in-wait", "state-changed", SC_EAGAIN_WAIT, 3 },
  { "/ls/socket/unref-in-handler/state-changed-connecting", "state-changed", SC_CONNECT_OK, 2 },
  { "/ls/socket/unref-in-handler/state-changed-connected", "state-changed", SC_CONNECT_OK, 3 },
  { "/ls/socket/unref-in-handler/state-changed-connecting-failure", "state-changed", SC_CONNECT_FAIL, 2 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-failure", "state-changed", SC_CONNECT_FAIL, 0 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-timeout", "state-changed", SC_EAGAIN_TIMEOUT, 0 },
  { "/ls/socket/unref-in-handler/state-changed-closing-peer-closed", "state-changed", SC_PEER_CLOSE, 6 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-peer-closed", "state-changed", SC_PEER_CLOSE, 0 },
  { "/ls/socket/unref-in-handler/state-changed-closing-disconnect", "state-changed", SC_DISCONNECT_PENDING, 6 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-disconnect", "state-changed", SC_DISCONNECT, 0 },
  { "/ls/socket/unref-in-handler/state-changed-unconnected-abort", "state-changed", SC_ABORT, 0 },
  { "/ls/socket/unref-in-handler/error-occurred-connect", "error-occurred", SC_CONNECT_FAIL, 2 },
  { "/ls/socket/unref-in-handler/error-occurred-connect-timeout", "error-occurred", SC_EAGAIN_TIMEOUT, 5 },
  { "/ls/socket/unref-in-handler/error-occurred-operation", "error-occurred", SC_RECONNECT, 19 },
  { "/ls/socket/unref-in-handler/error-occurred-peer-closed", "error-occurred", SC_PEER_CLOSE, 1 },
  { "/ls/socket/unref-in-handler/error-occurred-peer-closed-in-wait", "error-occurred", SC_PEER_CLOSE_WAIT, 1 },
  { "/ls/socket/unref-in-handler/ready-read", "ready-read", SC_PEER_DATA, -1 },
  { "/ls/socket/unref-in-handler/ready-read-in-wait", "ready-read", SC_PEER_DATA_WAIT, -1 },
  { "/ls/socket/unref-in-handler/bytes-written", "bytes-written", SC_WRITE, -1 },
  { "/ls/socket/unref-in-handler/bytes-written-closing", "bytes-written", SC_DISCONNECT_PENDING, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-peer-closed", "read-channel-finished", SC_PEER_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-disconnect", "read-channel-finished", SC_DISCONNECT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-peer-closed", "disconnected", SC_PEER_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/disconnected-peer-closed-in-wait", "disconnected", SC_PEER_CLOSE_WAIT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-disconnect", "disconnected", SC_DISCONNECT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-abort", "disconnected", SC_ABORT, -1 },
  { "/ls/socket/unref-in-handler/disconnected-drained", "disconnected", SC_DISCONNECT_DRAINED, -1 },
  { "/ls/socket/unref-in-handler/read-channel-finished-drained", "read-channel-finished", SC_DISCONNECT_DRAINED, -1 },
  { "/ls/socket/unref-in-handler/disconnected-write-peer-gone", "disconnected", SC_WRITE_PEER_GONE, -1 },
  { "/ls/socket/unref-in-handler/error-occurred-write-peer-gone", "error-occurred", SC_WRITE_PEER_GONE, 1 },
  { "/ls/socket/unref-in-handler/about-to-close-close", "about-to-close", SC_CLOSE, -1 },
  { "/ls/socket/unref-in-handler/about-to-close-abort", "about-to-close", SC_ABORT, -1 },
};

/* ------------------------------------------------------------------------ */
/* Finalising with data pending, in every state                             */
/* ------------------------------------------------------------------------ */

static void
finalize_and_check (LsLocalSocket *socket)
{
  LsLocalSocket *weak = socket;

  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &weak);
  g_object_unref (socket);
  /* A socket closing with data queued lives until the data is delivered
   * (the test's reader takes it); any other goes at once. */
  ls_test_run_for (50);
  while (weak != NULL && g_get_monotonic_time () < deadline)
    ls_test_run_for (10);
  g_assert_null (weak);
}

/* Two sockets of one context echoing a byte back and forth are always
 * ready; the event core polls again while it finds work, but must return to
 * the main loop often enough for a timer of the same priority to run. */
typedef struct
{
  guint64 echoes;
  guint   ticks;
} Busy;

static void
busy_echo_cb (LsLocalSocket *socket,
              gpointer       data)
{
  Busy *busy = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);

  busy->echoes++;
  ls_local_socket_write_bytes (socket, bytes);
}

static gboolean
busy_tick_cb (gpointer data)
{
  Busy *busy = data;

  busy->ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
busy_ticked_enough (gpointer data)
{
  return ((Busy *) data)->ticks >= 10;
}

static void
test_busy_pair_fair (void)
{
  Pair pair;
  Busy busy = { 0 };
  guint timer;

  pair_init (&pair);
  g_signal_connect (pair.client, "ready-read", G_CALLBACK (busy_echo_cb), &busy);
  g_signal_connect (pair.peer, "ready-read", G_CALLBACK (busy_echo_cb), &busy);
  timer = g_timeout_add (10, busy_tick_cb, &busy);
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "x", 1), ==, 1);

  g_assert_true (run_until_cond (busy_ticked_enough, &busy, 10000));
  g_test_message ("%" G_GUINT64_FORMAT " echoes during %u ticks", busy.echoes, busy.ticks);
  /* Both directions kept going all along: the ping-pong was not starved
   * either. */
  g_assert_cmpuint (busy.echoes, >, 100);
  g_source_remove (timer);
  pair_clear (&pair);
}

/* A ready-read handler that runs the main context itself (a nested
 * dispatch of the event core, which also re-polls) while two connections
 * echo 1 MiB each: every byte must come back once, in order. */
typedef struct
{
  guint64  received;
  gboolean mismatch;
} EchoCheck;

static void
nested_echo_cb (LsLocalSocket *socket,
                gpointer       data)
{
  guint *nested = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, bytes);
  for (int i = 0; i < 3; i++)
    *nested += g_main_context_iteration (NULL, FALSE);
}

static void
echo_check_cb (LsLocalSocket *socket,
               gpointer       data)
{
  EchoCheck *check = data;
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize size;
  const guint8 *got = g_bytes_get_data (bytes, &size);

  if (!pattern_check (got, size, check->received, 7))
    check->mismatch = TRUE;
  check->received += size;
}

static gboolean
both_echoed (gpointer data)
{
  EchoCheck *checks = data;

  return checks[0].received >= MIB && checks[1].received >= MIB;
}

static void
test_nested_iteration_in_handler (void)
{
  g_autofree guint8 *data = pattern_new (MIB, 7);
  Pair pairs[2];
  EchoCheck checks[2] = { { 0 } };
  guint nested = 0;

  for (int i = 0; i < 2; i++)
    {
      pair_init (&pairs[i]);
      g_signal_connect (pairs[i].peer, "ready-read", G_CALLBACK (nested_echo_cb), &nested);
      g_signal_connect (pairs[i].client, "ready-read", G_CALLBACK (echo_check_cb), &checks[i]);
      g_assert_cmpint (ls_local_socket_write (pairs[i].client, data, MIB), ==, MIB);
    }

  g_assert_true (run_until_cond (both_echoed, checks, 30000));
  g_test_message ("%u nested dispatches", nested);
  g_assert_cmpuint (nested, >, 0);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpuint (checks[i].received, ==, MIB);
      g_assert_false (checks[i].mismatch);
      g_assert_cmpint (ls_local_socket_get_bytes_available (pairs[i].peer), ==, 0);
      pair_clear (&pairs[i]);
    }
}

static void
test_finalize_pending (void)
{
  const gsize size = 4 * MIB;
  g_autofree guint8 *data = pattern_new (size, 51);
  RawPair pair;
  Reader reader;
  Backlog backlog;
  LsTestSignalLog *log;
  gboolean disconnected = FALSE;
  LsLocalSocket *socket;

  /* CONNECTED, with unread input and unsent output. */
  raw_pair_init (&pair);
  raw_write_all (pair.peer_fd, "xyz", 3);
  g_assert_true (ls_local_socket_wait_for_ready_read (pair.client, 5000));
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  reader_start (&reader, pair.peer_fd, 51);
  finalize_and_check (g_steal_pointer (&pair.client));
  reader_finish (&reader);
  g_assert_false (reader.mismatch);
  raw_pair_clear (&pair);

  /* CLOSING, output still queued. */
  raw_pair_init (&pair);
  g_assert_cmpint (ls_local_socket_write (pair.client, data, size), ==, (gssize) size);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
  reader_start (&reader, pair.peer_fd, 51);
  finalize_and_check (g_steal_pointer (&pair.client));
  reader_finish (&reader);
  g_assert_false (reader.mismatch);
  raw_pair_clear (&pair);

  /* CONNECTING (backlog full, retry timer armed): nothing fires afterwards. */
  backlog_fill (&backlog);
  socket = ls_local_socket_new ();
  ls_local_socket_set_connect_timeout (socket, 200);
  ls_local_socket_connect_to_server (socket, backlog.path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTING);
  finalize_and_check (socket);
  ls_test_run_for (400);
  backlog_clear (&backlog);

  /* UNCONNECTED after the peer left, unread data in the buffer. */
  raw_pair_init (&pair);
  log = ls_test_signal_log_new (pair.client);
  g_signal_connect (pair.client, "disconnected", G_CALLBACK (on_flag_plain), &disconnected);
  raw_write_all (pair.peer_fd, "left", 4);
  close (pair.peer_fd);
  pair.peer_fd = -1;
  g_assert_true (ls_test_run_until (&disconnected, 10000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (pair.client), ==, 4);
  ls_test_signal_log_free (log);
  finalize_and_check (g_steal_pointer (&pair.client));
  raw_pair_clear (&pair);

  /* UNCONNECTED after a failed connect. */
  socket = ls_local_socket_new ();
  ls_local_socket_connect_to_server (socket, "/nonexistent-ls-test-dir/x");
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  finalize_and_check (socket);
}

/* ------------------------------------------------------------------------ */
/* A client in a worker thread with its own main context                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *path;
  GThread    *worker;
  gboolean    wrong_thread;
  GString    *received;
  gint        done;
} ThreadCtx;

static void
thread_check_plain (LsLocalSocket *socket,
                    ThreadCtx     *ctx)
{
  if (g_thread_self () != ctx->worker)
    ctx->wrong_thread = TRUE;
}

static void
thread_check_value (LsLocalSocket *socket,
                    int            value,
                    ThreadCtx     *ctx)
{
  if (g_thread_self () != ctx->worker)
    ctx->wrong_thread = TRUE;
}

static void
thread_on_ready_read (LsLocalSocket *socket,
                      ThreadCtx     *ctx)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize n = 0;
  const char *d = g_bytes_get_data (bytes, &n);

  g_string_append_len (ctx->received, d, n);
}

static gboolean
got_pong (gpointer data)
{
  return g_str_equal (((ThreadCtx *) data)->received->str, "pong\n");
}

static gpointer
thread_client_main (gpointer data)
{
  ThreadCtx *ctx = data;
  GMainContext *context = g_main_context_new ();
  LsLocalSocket *socket;
  LsTestSignalLog *log;

  g_main_context_push_thread_default (context);
  ctx->worker = g_thread_self ();

  socket = ls_local_socket_new ();
  log = ls_test_signal_log_new (socket);
  g_signal_connect (socket, "connected", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "disconnected", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "ready-read", G_CALLBACK (thread_check_plain), ctx);
  g_signal_connect (socket, "state-changed", G_CALLBACK (thread_check_value), ctx);
  g_signal_connect (socket, "bytes-written", G_CALLBACK (thread_check_value), ctx);
  g_signal_connect (socket, "ready-read", G_CALLBACK (thread_on_ready_read), ctx);

  ls_local_socket_connect_to_server (socket, ctx->path);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(2) state-changed(3) connected ");
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "ping\n", 5), ==, 5);
  /* Only this thread's context is iterated here: the reply must be
   * dispatched on it. */
  g_assert_true (run_until_cond (got_pong, ctx, 20000));

  ls_test_signal_log_clear (log);
  ls_local_socket_disconnect_from_server (socket);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==,
                   "state-changed(6) state-changed(0) read-channel-finished disconnected ");
  g_assert_false (ctx->wrong_thread);

  ls_test_signal_log_free (log);
  g_object_unref (socket);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_atomic_int_set (&ctx->done, 1);
  return NULL;
}

typedef struct
{
  GPtrArray *peers;
  GString   *request;
  gboolean   peer_disconnected;
} EchoServer;

static void
echo_on_ready_read (LsLocalSocket *socket,
                    EchoServer    *echo)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);
  gsize n = 0;
  const char *d = g_bytes_get_data (bytes, &n);

  g_string_append_len (echo->request, d, n);
  if (g_str_equal (echo->request->str, "ping\n"))
    g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "pong\n", 5), ==, 5);
}

static void
echo_on_new_connection (LsLocalServer *server,
                        EchoServer    *echo)
{
  LsLocalSocket *peer;

  while ((peer = ls_local_server_next_pending_connection (server)) != NULL)
    {
      g_signal_connect (peer, "ready-read", G_CALLBACK (echo_on_ready_read), echo);
      g_signal_connect (peer, "disconnected", G_CALLBACK (on_flag_plain), &echo->peer_disconnected);
      g_ptr_array_add (echo->peers, peer);
    }
}

static gboolean
thread_done (gpointer data)
{
  return g_atomic_int_get (&((ThreadCtx *) data)->done);
}

static void
test_thread_client (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "t", NULL);
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();
  EchoServer echo = { g_ptr_array_new_with_free_func (g_object_unref), g_string_new (NULL), FALSE };
  ThreadCtx ctx = { path, NULL, FALSE, g_string_new (NULL), 0 };
  GThread *thread;

  g_signal_connect (server, "new-connection", G_CALLBACK (echo_on_new_connection), &echo);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  thread = g_thread_new ("ls-test-client", thread_client_main, &ctx);
  g_assert_true (run_until_cond (thread_done, &ctx, 60000));
  g_thread_join (thread);

  g_assert_cmpstr (ctx.received->str, ==, "pong\n");
  g_assert_cmpstr (echo.request->str, ==, "ping\n");
  g_assert_cmpuint (echo.peers->len, ==, 1);
  g_assert_true (ls_test_run_until (&echo.peer_disconnected, 10000));

  g_string_free (ctx.received, TRUE);
  g_string_free (echo.request, TRUE);
  g_ptr_array_unref (echo.peers);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/socket/defaults", test_defaults);

  g_test_add_func ("/ls/socket/connect/relative", test_connect_relative);
  g_test_add_func ("/ls/socket/connect/absolute", test_connect_absolute);
  g_test_add_func ("/ls/socket/connect/abstract", test_connect_abstract);
  g_test_add_func ("/ls/socket/connect/failures", test_connect_failures);
  g_test_add_func ("/ls/socket/connect/access-denied", test_connect_access);
  g_test_add_func ("/ls/socket/connect/while-connected", test_connect_while_connected);

  g_test_add_func ("/ls/socket/eagain/timeout", test_eagain_timeout);
  g_test_add_func ("/ls/socket/eagain/accept-in-loop", test_eagain_accept_in_loop);
  g_test_add_func ("/ls/socket/eagain/wait-for-connected", test_eagain_wait_for_connected);
  g_test_add_func ("/ls/socket/eagain/connect-while-connecting", test_eagain_connect_while_connecting);

  g_test_add_func ("/ls/socket/io/write-buffered", test_io_write_buffered);
  g_test_add_func ("/ls/socket/io/flush", test_io_flush);
  g_test_add_func ("/ls/socket/io/write-unconnected", test_io_write_unconnected);
  g_test_add_func ("/ls/socket/io/bidirectional-8mib", test_io_bidirectional);
  g_test_add_func ("/ls/socket/io/ready-read-not-recursive", test_io_ready_read_not_recursive);
  g_test_add_func ("/ls/socket/io/read-semantics", test_io_read_semantics);
  g_test_add_func ("/ls/socket/io/line-protocol", test_io_line_protocol);
  g_test_add_func ("/ls/socket/io/read-buffer-size", test_io_read_buffer_size);

  g_test_add_func ("/ls/socket/close/disconnect-idle", test_close_disconnect_idle);
  g_test_add_func ("/ls/socket/close/disconnect-pending", test_close_disconnect_pending);
  g_test_add_func ("/ls/socket/close/abort", test_close_abort);
  g_test_add_func ("/ls/socket/close/close", test_close_close);
  g_test_add_func ("/ls/socket/close/peer-closed", test_close_peer_closed);
  g_test_add_func ("/ls/socket/close/write-after-peer-closed", test_close_write_after_peer_closed);

  g_test_add_func ("/ls/socket/wait/ready-read", test_wait_ready_read);
  g_test_add_func ("/ls/socket/wait/bytes-written", test_wait_bytes_written);
  g_test_add_func ("/ls/socket/wait/disconnected", test_wait_disconnected);

  g_test_add_func ("/ls/socket/descriptor/socketpair", test_descriptor_socketpair);
  g_test_add_func ("/ls/socket/descriptor/connected-to-server", test_descriptor_connected_to_server);
  g_test_add_func ("/ls/socket/descriptor/invalid", test_descriptor_invalid);
  g_test_add_func ("/ls/socket/credentials", test_credentials);

  for (guint i = 0; i < G_N_ELEMENTS (unref_cases); i++)
    g_test_add_data_func (unref_cases[i].path, &unref_cases[i], test_unref_in_handler);

  g_test_add_func ("/ls/socket/finalize/pending", test_finalize_pending);
  g_test_add_func ("/ls/socket/fairness/busy-pair", test_busy_pair_fair);
  g_test_add_func ("/ls/socket/fairness/nested-iteration", test_nested_iteration_in_handler);
  g_test_add_func ("/ls/socket/thread/worker-context", test_thread_client);

  return g_test_run ();
}
