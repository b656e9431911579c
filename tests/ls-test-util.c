/* ls-test-util.c: helpers shared by the C test programs */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

char *
ls_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir;

  /* Not g_dir_make_tmp(): tests change $TMPDIR to check name resolution,
   * and /tmp keeps socket paths short. */
  dir = g_build_filename ("/tmp", "ls-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (dir));
  return dir;
}

static void
remove_recursive (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);

  if (dir != NULL)
    {
      const char *entry;

      while ((entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);
          remove_recursive (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

void
ls_test_remove_tmpdir (const char *dir)
{
  if (dir != NULL)
    remove_recursive (dir);
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
ls_test_run_until (const gboolean *flag,
                   int             timeout_ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, set_flag_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!*flag && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_unref (context);
  return *flag;
}

void
ls_test_run_for (int ms)
{
  gboolean never = FALSE;

  ls_test_run_until (&never, ms);
}

struct _LsTestSignalLog
{
  LsLocalSocket *socket;
  GString       *text;
};

static void
on_state_changed (LsLocalSocket *socket, LsLocalSocketState state, LsTestSignalLog *log)
{
  g_string_append_printf (log->text, "state-changed(%d) ", state);
}

static void
on_error_occurred (LsLocalSocket *socket, LsSocketError error, LsTestSignalLog *log)
{
  g_string_append_printf (log->text, "error-occurred(%d) ", error);
}

static void
on_bytes_written (LsLocalSocket *socket, gint64 n, LsTestSignalLog *log)
{
  g_string_append (log->text, "bytes-written ");
}

static void
on_plain_signal (LsLocalSocket *socket, LsTestSignalLog *log)
{
  GSignalInvocationHint *hint = g_signal_get_invocation_hint (socket);

  g_string_append_printf (log->text, "%s ", g_signal_name (hint->signal_id));
}

LsTestSignalLog *
ls_test_signal_log_new (LsLocalSocket *socket)
{
  static const char *plain[] = { "connected", "disconnected", "ready-read",
                                 "about-to-close", "read-channel-finished" };
  LsTestSignalLog *log = g_new0 (LsTestSignalLog, 1);

  log->socket = g_object_ref (socket);
  log->text = g_string_new (NULL);
  g_signal_connect (socket, "state-changed", G_CALLBACK (on_state_changed), log);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error_occurred), log);
  g_signal_connect (socket, "bytes-written", G_CALLBACK (on_bytes_written), log);
  for (guint i = 0; i < G_N_ELEMENTS (plain); i++)
    g_signal_connect (socket, plain[i], G_CALLBACK (on_plain_signal), log);
  return log;
}

const char *
ls_test_signal_log_get (LsTestSignalLog *log)
{
  return log->text->str;
}

void
ls_test_signal_log_clear (LsTestSignalLog *log)
{
  g_string_truncate (log->text, 0);
}

void
ls_test_signal_log_free (LsTestSignalLog *log)
{
  g_signal_handlers_disconnect_by_data (log->socket, log);
  g_object_unref (log->socket);
  g_string_free (log->text, TRUE);
  g_free (log);
}

void
ls_test_send_and_expect (LsLocalSocket *from,
                         LsLocalSocket *to,
                         const char    *text)
{
  gsize len = strlen (text);
  g_autoptr(GBytes) got = NULL;

  g_assert_cmpint (ls_local_socket_write (from, (const guint8 *) text, len), ==, len);
  g_assert_true (ls_local_socket_wait_for_bytes_written (from, 5000));
  g_assert_true (ls_local_socket_wait_for_ready_read (to, 5000));
  got = ls_local_socket_read_all (to);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), text, len);
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
ls_test_run_until_cond (LsTestCond cond,
                        gpointer   data,
                        int        timeout_ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean result;

  while (!(result = cond (data)) && g_get_monotonic_time () < deadline)
    {
      GSource *tick = g_timeout_source_new (10);

      /* Wakes the iteration so the deadline is checked. */
      g_source_set_callback (tick, tick_cb, NULL, NULL);
      g_source_attach (tick, context);
      g_main_context_iteration (context, TRUE);
      g_source_destroy (tick);
      g_source_unref (tick);
    }
  g_main_context_unref (context);
  return result;
}

typedef struct
{
  LsTestSignalLog *log;
  const char      *text;
} LogHas;

static gboolean
log_has (gpointer data)
{
  LogHas *l = data;

  return strstr (l->log->text->str, l->text) != NULL;
}

gboolean
ls_test_run_until_log_has (LsTestSignalLog *log,
                           const char      *text,
                           int              timeout_ms)
{
  LogHas l = { log, text };

  return ls_test_run_until_cond (log_has, &l, timeout_ms);
}

static gboolean
has_pending (gpointer server)
{
  return ls_local_server_has_pending_connections (server);
}

gboolean
ls_test_run_until_pending (LsLocalServer *server,
                           int            timeout_ms)
{
  return ls_test_run_until_cond (has_pending, server, timeout_ms);
}

typedef struct
{
  LsLocalSocket *to;
  gsize          len;
} Arrived;

static gboolean
has_arrived (gpointer data)
{
  Arrived *a = data;

  return ls_local_socket_get_bytes_available (a->to) >= (gint64) a->len;
}

void
ls_test_send_and_expect_in_loop (LsLocalSocket *from,
                                 LsLocalSocket *to,
                                 const char    *text)
{
  Arrived a = { to, strlen (text) };
  g_autoptr(GBytes) got = NULL;

  g_assert_cmpint (ls_local_socket_write (from, (const guint8 *) text, a.len), ==, a.len);
  g_assert_true (ls_test_run_until_cond (has_arrived, &a, 20000));
  got = ls_local_socket_read_all (to);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), text, a.len);
}

guint
ls_test_count_open_fds (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* connect(); on failure the descriptor is closed and -1 returned, errno
 * kept. */
static int
connect_or_close (int                 fd,
                  struct sockaddr_un *addr,
                  socklen_t           len)
{
  if (connect (fd, (struct sockaddr *) addr, len) != 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

int
ls_test_raw_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  return connect_or_close (fd, &addr, sizeof addr);
}

/* ---- Fixture ------------------------------------------------------------- */

void
ls_test_fixture_setup_dir (LsTestFixture *f,
                           gconstpointer  data)
{
  memset (f, 0, sizeof *f);
  if (g_test_subprocess ())
    return;
  /* GLib creates these lazily, once for the process: the default context
   * and, on the first child watch (g_test_trap_subprocess() sets one), its
   * worker context. They must not count as the test's descriptors. */
  g_main_context_default ();
  g_source_unref (g_child_watch_source_new (getpid ()));
  f->open_fds = ls_test_count_open_fds ();
  f->dir = ls_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "s", NULL);
  f->saved_tmpdir = g_strdup (g_getenv ("TMPDIR"));
  g_setenv ("TMPDIR", f->dir, TRUE);
}

void
ls_test_fixture_setup (LsTestFixture *f,
                       gconstpointer  data)
{
  ls_test_fixture_setup_dir (f, data);
  if (g_test_subprocess ())
    return;
  f->server = ls_test_listening_server (f->path);
}

void
ls_test_fixture_setup_pair (LsTestFixture *f,
                            gconstpointer  data)
{
  ls_test_fixture_setup (f, data);
  if (g_test_subprocess ())
    return;
  ls_test_connect_pair (f->server, f->path, &f->client, &f->peer);
}

static gboolean
fds_back_to (gpointer data)
{
  return ls_test_count_open_fds () <= *(guint *) data;
}

void
ls_test_fixture_teardown (LsTestFixture *f,
                          gconstpointer  data)
{
  if (f->dir == NULL)
    return;
  g_clear_object (&f->client);
  g_clear_object (&f->peer);
  g_clear_object (&f->server);
  if (f->saved_tmpdir != NULL)
    g_setenv ("TMPDIR", f->saved_tmpdir, TRUE);
  else
    g_unsetenv ("TMPDIR");
  g_clear_pointer (&f->saved_tmpdir, g_free);

  /* A socket closing with data queued may still be delivering it. */
  ls_test_run_until_cond (fds_back_to, &f->open_fds, 5000);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, f->open_fds);

  ls_test_remove_tmpdir (f->dir);
  g_assert_false (g_file_test (f->dir, G_FILE_TEST_EXISTS));
  g_clear_pointer (&f->dir, g_free);
  g_clear_pointer (&f->path, g_free);
}

LsLocalSocket *
ls_test_server_take (LsLocalServer *server)
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

void
ls_test_connect_pair (LsLocalServer  *server,
                      const char     *path,
                      LsLocalSocket **client,
                      LsLocalSocket **peer)
{
  *client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (*client, path);
  g_assert_cmpint (ls_local_socket_get_state (*client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  *peer = ls_test_server_take (server);
  g_assert_cmpint (ls_local_socket_get_state (*peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

LsLocalServer *
ls_test_listening_server (const char *name)
{
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();

  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  return server;
}

/* ---- Data ---------------------------------------------------------------- */

static inline guint8
pattern_byte (guint64 offset,
              guint   seed)
{
  return (guint8) (((offset ^ (offset >> 9) ^ (offset >> 17)) * 13u) + seed);
}

guint8 *
ls_test_pattern_new (gsize size,
                     guint seed)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = pattern_byte (i, seed);
  return data;
}

gboolean
ls_test_pattern_check (const guint8 *data,
                       gsize         size,
                       guint64       offset,
                       guint         seed)
{
  for (gsize i = 0; i < size; i++)
    if (data[i] != pattern_byte (offset + i, seed))
      return FALSE;
  return TRUE;
}

void
ls_test_assert_bytes_str (GBytes     *bytes,
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

char *
ls_test_log_without (const char *log,
                     const char *token)
{
  g_auto(GStrv) parts = g_strsplit (log, " ", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0' && !g_str_equal (parts[i], token))
      g_string_append_printf (out, "%s ", parts[i]);
  return g_string_free (out, FALSE);
}

guint
ls_test_log_count (const char *log,
                   const char *token)
{
  g_auto(GStrv) parts = g_strsplit (log, " ", -1);
  guint n = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], token))
      n++;
  return n;
}

void
ls_test_assert_error_text (const char *message,
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

gint64
ls_test_cpu_time_us (void)
{
  struct rusage usage;

  g_assert_no_errno (getrusage (RUSAGE_SELF, &usage));
  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

void
ls_test_on_flag (gpointer  instance,
                 gboolean *flag)
{
  *flag = TRUE;
}

void
ls_test_on_add_bytes_written (LsLocalSocket *socket,
                              gint64         n,
                              gint64        *total)
{
  g_assert_cmpint (n, >, 0);
  *total += n;
}

void
ls_test_on_notify (GObject    *object,
                   GParamSpec *pspec,
                   GString    *log)
{
  g_string_append_printf (log, "%s ", pspec->name);
}

/* ---- Socket states ------------------------------------------------------- */

void
ls_test_assert_socket_fresh (LsLocalSocket *socket)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_false (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
}

void
ls_test_assert_socket_ended (LsLocalSocket *socket)
{
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_true (ls_local_socket_is_valid (socket));
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, -1);
}

void
ls_test_assert_connected_to (LsLocalSocket *socket,
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

/* ---- Raw descriptors ----------------------------------------------------- */

gboolean
ls_test_fd_is_open (int fd)
{
  return fd >= 0 && fcntl (fd, F_GETFD) != -1;
}

void
ls_test_close_fds (int  *fds,
                   guint n)
{
  for (guint i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

void
ls_test_raw_write_all (int         fd,
                       const void *data,
                       gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      ssize_t n = send (fd, p, size, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      size -= n;
    }
}

/* Iterates the thread-default context a little without blocking. */
static void
pump_context (void)
{
  GMainContext *context = g_main_context_ref_thread_default ();

  for (int i = 0; i < 16 && g_main_context_iteration (context, FALSE); i++)
    ;
  g_main_context_unref (context);
}

char *
ls_test_raw_recv (int   fd,
                  gsize len,
                  int   timeout_ms)
{
  GString *got = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (got->len < len && g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[512];

      pump_context ();
      if (poll (&pfd, 1, 10) > 0)
        {
          gssize n = recv (fd, buf, MIN (sizeof buf, len - got->len), MSG_DONTWAIT);
          if (n > 0)
            g_string_append_len (got, buf, n);
          else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        }
    }
  return g_string_free (got, FALSE);
}

gboolean
ls_test_raw_sees_eof (int fd,
                      int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[4096];

      pump_context ();
      if (poll (&pfd, 1, 10) > 0)
        {
          gssize n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno == ECONNRESET))
            return TRUE;
          if (n < 0 && errno != EAGAIN && errno != EINTR)
            return FALSE;
        }
    }
  return FALSE;
}

gboolean
ls_test_raw_still_open (int fd,
                        int ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

  pump_context ();
  return poll (&pfd, 1, ms) == 0;
}

socklen_t
ls_test_fill_address (struct sockaddr_un *addr,
                      const char         *name,
                      gboolean            abstract)
{
  gsize len = strlen (name);

  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  g_assert_cmpuint (len + 1, <=, sizeof addr->sun_path);
  if (abstract)
    {
      memcpy (addr->sun_path + 1, name, len);
      return offsetof (struct sockaddr_un, sun_path) + 1 + len;
    }
  memcpy (addr->sun_path, name, len + 1);
  return offsetof (struct sockaddr_un, sun_path) + len + 1;
}

int
ls_test_make_unix_socket (const char *name,
                          gboolean    abstract,
                          int         type,
                          gboolean    do_listen)
{
  struct sockaddr_un addr;
  int fd = socket (AF_UNIX, type, 0);

  g_assert_cmpint (fd, >=, 0);
  if (name != NULL)
    {
      socklen_t len = ls_test_fill_address (&addr, name, abstract);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, len), ==, 0);
    }
  if (do_listen)
    g_assert_cmpint (listen (fd, 16), ==, 0);
  return fd;
}

int
ls_test_raw_listen (const char *path,
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

int
ls_test_raw_connect_abstract (const char *name,
                              gboolean    padded)
{
  struct sockaddr_un addr;
  socklen_t len = ls_test_fill_address (&addr, name, TRUE);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  if (padded)
    len = sizeof addr;
  return connect_or_close (fd, &addr, len);
}

void
ls_test_make_stale_socket (const char *path)
{
  int fd = ls_test_make_unix_socket (path, FALSE, SOCK_STREAM | SOCK_CLOEXEC, TRUE);

  close (fd);
  g_assert_true (ls_test_path_is_socket (path));
}

void
ls_test_raw_pair_init (LsTestRawPair *pair,
                       const char    *dir)
{
  memset (pair, 0, sizeof *pair);
  pair->path = g_build_filename (dir, "r", NULL);
  pair->listen_fd = ls_test_raw_listen (pair->path, 16);
  pair->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (pair->client, pair->path);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  pair->peer_fd = accept4 (pair->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (pair->peer_fd, >=, 0);
}

void
ls_test_raw_pair_clear (LsTestRawPair *pair)
{
  g_clear_object (&pair->client);
  if (pair->peer_fd >= 0)
    close (pair->peer_fd);
  if (pair->listen_fd >= 0)
    close (pair->listen_fd);
  g_unlink (pair->path);
  g_clear_pointer (&pair->path, g_free);
}

void
ls_test_backlog_fill (LsTestBacklog *backlog,
                      const char    *dir)
{
  backlog->path = g_build_filename (dir, "full", NULL);
  backlog->listen_fd = ls_test_raw_listen (backlog->path, 1);
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

void
ls_test_backlog_clear (LsTestBacklog *backlog)
{
  for (guint i = 0; i < backlog->fillers->len; i++)
    close (g_array_index (backlog->fillers, int, i));
  g_array_unref (backlog->fillers);
  close (backlog->listen_fd);
  g_unlink (backlog->path);
  g_free (backlog->path);
}

static gpointer
reader_main (gpointer data)
{
  LsTestReader *reader = data;
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
      if (!ls_test_pattern_check (buf, n, reader->total, reader->seed))
        reader->mismatch = TRUE;
      reader->total += n;
    }
  g_free (buf);
  g_atomic_int_set (&reader->done, 1);
  return NULL;
}

void
ls_test_reader_start (LsTestReader *reader,
                      int           fd,
                      guint         seed)
{
  memset (reader, 0, sizeof *reader);
  reader->fd = fd;
  reader->seed = seed;
  reader->thread = g_thread_new ("ls-test-reader", reader_main, reader);
}

static gboolean
reader_is_done (gpointer data)
{
  return g_atomic_int_get (&((LsTestReader *) data)->done);
}

void
ls_test_reader_finish (LsTestReader *reader)
{
  if (!ls_test_run_until_cond (reader_is_done, reader, 60000))
    g_error ("the peer never saw end-of-file (descriptor not closed?)");
  g_thread_join (reader->thread);
  reader->thread = NULL;
}

static gpointer
delayed_main (gpointer data)
{
  LsTestDelayed *delayed = data;

  g_usleep (100 * 1000);
  switch (delayed->action)
    {
    case LS_TEST_DELAYED_WRITE:
      ls_test_raw_write_all (delayed->fd, delayed->text, strlen (delayed->text));
      break;
    case LS_TEST_DELAYED_CLOSE:
      close (delayed->fd);
      break;
    case LS_TEST_DELAYED_ACCEPT:
      delayed->result = accept4 (delayed->fd, NULL, NULL, SOCK_CLOEXEC);
      break;
    case LS_TEST_DELAYED_CONNECT:
      delayed->result = ls_test_raw_connect (delayed->text);
      break;
    }
  return NULL;
}

void
ls_test_delayed_start (LsTestDelayed       *delayed,
                       int                  fd,
                       LsTestDelayedAction  action,
                       const char          *text)
{
  memset (delayed, 0, sizeof *delayed);
  delayed->fd = fd;
  delayed->action = action;
  delayed->text = text;
  delayed->result = -1;
  delayed->thread = g_thread_new ("ls-test-delayed", delayed_main, delayed);
}

void
ls_test_delayed_join (LsTestDelayed *delayed)
{
  g_thread_join (delayed->thread);
  delayed->thread = NULL;
}

/* ---- Files --------------------------------------------------------------- */

char *
ls_test_unique_name (const char *tag)
{
  return g_strdup_printf ("ls-test-%s-%d-%08x", tag, (int) getpid (), g_random_int ());
}

gboolean
ls_test_path_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

gboolean
ls_test_path_is_socket (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

char *
ls_test_join_sorted (GPtrArray *strings)
{
  g_autoptr(GPtrArray) copy = g_ptr_array_new ();

  for (guint i = 0; i < strings->len; i++)
    g_ptr_array_add (copy, g_ptr_array_index (strings, i));
  g_ptr_array_sort (copy, compare_strings);
  g_ptr_array_add (copy, NULL);
  return g_strjoinv (",", (char **) copy->pdata);
}

char *
ls_test_dir_listing (const char *dir)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *entry;

  g_assert_nonnull (d);
  while ((entry = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_dir_close (d);
  return ls_test_join_sorted (names);
}

void
ls_test_write_file (const char *path,
                    const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
}

void
ls_test_assert_file_contents (const char *path,
                              const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected);
}

void
ls_test_file_id_get (const char   *path,
                     LsTestFileId *id)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->mode = st.st_mode;
  id->size = st.st_size;
}

void
ls_test_assert_file_unchanged (const char         *path,
                               const LsTestFileId *before)
{
  LsTestFileId now;

  ls_test_file_id_get (path, &now);
  g_assert_cmpuint (now.dev, ==, before->dev);
  g_assert_cmpuint (now.ino, ==, before->ino);
  g_assert_cmpuint (now.mode, ==, before->mode);
  g_assert_cmpint (now.size, ==, before->size);
}

/* ---- Servers ------------------------------------------------------------- */

static void
on_new_connection (LsLocalServer *server,
                   LsTestConnLog *log)
{
  log->count++;
  log->max_depth = MAX (log->max_depth, log->count - log->taken);
  if (!ls_local_server_has_pending_connections (server))
    log->not_queued++;
  log->thread = g_thread_self ();
  log->context = g_main_context_get_thread_default ();
}

static void
conn_log_free (gpointer  data,
               GClosure *closure)
{
  g_free (data);
}

LsTestConnLog *
ls_test_conn_log_attach (LsLocalServer *server)
{
  LsTestConnLog *log = g_new0 (LsTestConnLog, 1);

  g_signal_connect_data (server, "new-connection", G_CALLBACK (on_new_connection),
                         log, conn_log_free, 0);
  return log;
}

typedef struct
{
  const LsTestConnLog *log;
  guint                target;
} CountTarget;

static gboolean
count_reached (gpointer data)
{
  const CountTarget *t = data;

  return t->log->count >= t->target;
}

gboolean
ls_test_wait_count (const LsTestConnLog *log,
                    guint                target,
                    int                  timeout_ms)
{
  CountTarget t = { log, target };

  return ls_test_run_until_cond (count_reached, &t, timeout_ms);
}

char *
ls_test_socket_read_n (LsLocalSocket *socket,
                       gsize          len,
                       int            timeout_ms)
{
  Arrived a = { socket, len };
  g_autoptr(GBytes) bytes = NULL;
  gsize size;
  const char *data;

  g_assert_true (ls_test_run_until_cond (has_arrived, &a, timeout_ms));
  bytes = ls_local_socket_read (socket, len);
  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  return g_strndup (data, size);
}

void
ls_test_socket_write_str (LsLocalSocket *socket,
                          const char    *text)
{
  gsize len = strlen (text);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) text, len), ==, (gssize) len);
}

void
ls_test_assert_exchange (LsLocalSocket *socket,
                         int            fd,
                         const char    *tag)
{
  g_autofree char *up = g_strdup_printf ("up-%s", tag);
  g_autofree char *down = g_strdup_printf ("down-%s", tag);
  g_autofree char *got_up = NULL;
  g_autofree char *got_down = NULL;

  ls_test_raw_write_all (fd, up, strlen (up));
  got_up = ls_test_socket_read_n (socket, strlen (up), 5000);
  g_assert_cmpstr (got_up, ==, up);
  ls_test_socket_write_str (socket, down);
  got_down = ls_test_raw_recv (fd, strlen (down), 5000);
  g_assert_cmpstr (got_down, ==, down);
}

void
ls_test_assert_serves (LsLocalServer *server,
                       const char    *path,
                       gboolean       abstract)
{
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *socket;
  int fd = abstract ? ls_test_raw_connect_abstract (path, FALSE) : ls_test_raw_connect (path);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  g_assert_cmpuint (log->count, ==, 1);
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  ls_test_assert_exchange (socket, fd, "serves");
  g_object_unref (socket);
  close (fd);
  g_signal_handlers_disconnect_by_data (server, log);
}

void
ls_test_assert_names (LsLocalServer *server,
                      const char    *server_name,
                      const char    *full_name)
{
  g_autofree char *name = NULL;
  g_autofree char *full = NULL;

  g_assert_cmpstr (ls_local_server_get_server_name (server), ==, server_name);
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, full_name);
  g_object_get (server, "server-name", &name, "full-server-name", &full, NULL);
  g_assert_cmpstr (name, ==, server_name);
  g_assert_cmpstr (full, ==, full_name);
}

void
ls_test_assert_bound_abstract (LsLocalServer *server,
                               const char    *name)
{
  struct sockaddr_un addr;
  socklen_t len = sizeof addr;
  int fd = ls_local_server_get_socket_descriptor (server);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  /* Leading NUL, then exactly the name: no padding, no trailing NUL. */
  g_assert_cmpint (len, ==, offsetof (struct sockaddr_un, sun_path) + 1 + strlen (name));
  g_assert_cmpint (addr.sun_path[0], ==, '\0');
  g_assert_cmpmem (addr.sun_path + 1, strlen (name), name, strlen (name));
}

void
ls_test_assert_private_address (int         fd,
                                 gboolean    peer,
                                 const char *path)
{
  struct sockaddr_un addr;
  socklen_t len = sizeof addr;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *bound_dir = NULL;
  g_autofree char *bound_parent = NULL;
  g_autofree char *bound_name = NULL;

  memset (&addr, 0, sizeof addr);
  g_assert_cmpint (peer ? getpeername (fd, (struct sockaddr *) &addr, &len)
                        : getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  g_assert_cmpint (addr.sun_family, ==, AF_UNIX);
  g_assert_cmpstr (addr.sun_path, !=, path);
  bound_dir = g_path_get_dirname (addr.sun_path);
  bound_parent = g_path_get_dirname (bound_dir);
  bound_name = g_path_get_basename (addr.sun_path);
  g_assert_cmpstr (bound_parent, ==, dir);
  g_assert_cmpstr (bound_name, ==, name);
  /* The private directory is gone: nobody reaches the socket through it. */
  g_assert_false (g_file_test (bound_dir, G_FILE_TEST_EXISTS));
}

void
ls_test_assert_server_fresh (LsLocalServer *server)
{
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
  g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, "");
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
}

gsize
ls_test_text_after (const char *message,
                    const char *needle)
{
  const char *at = strstr (message, needle);

  return at != NULL ? strlen (at + strlen (needle)) : 0;
}

gsize
ls_test_str_len0 (const char *s)
{
  return s != NULL ? strlen (s) : 0;
}
