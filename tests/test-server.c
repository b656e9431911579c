/* test-server.c: tests of LsLocalServer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pwd.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

#define assert_contains(haystack, needle)                                      \
  G_STMT_START {                                                               \
    const char *h_ = (haystack), *n_ = (needle);                               \
    if (h_ == NULL || n_ == NULL || strstr (h_, n_) == NULL)                   \
      g_assertion_message_cmpstr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                                  #haystack " contains " #needle,              \
                                  h_, "contains", n_);                         \
  } G_STMT_END

/* A GError and the recorded server error both report @code, and the message
 * names the operation, the name/path and gives a reason beyond those. */
#define assert_server_failure(server, error, code, operation, name)            \
  G_STMT_START {                                                               \
    g_assert_error ((error), LS_SOCKET_ERROR, (code));                         \
    if ((operation) != NULL)                                                   \
      assert_contains ((error)->message, (operation));                         \
    if ((name) != NULL)                                                        \
      {                                                                        \
        assert_contains ((error)->message, (name));                            \
        /* ...followed by the reason. */                                       \
        g_assert_cmpuint (text_after ((error)->message, (name)), >=, 4);       \
      }                                                                        \
    g_assert_cmpuint (strlen ((error)->message), >,                            \
                      str_len0 (name) + str_len0 (operation) + 4);             \
    g_assert_cmpint (ls_local_server_get_server_error (server), ==, (code));   \
    if ((name) != NULL)                                                        \
      assert_contains (ls_local_server_get_error_string (server), (name));     \
    else                                                                       \
      g_assert_cmpstr (ls_local_server_get_error_string (server), !=, "");     \
  } G_STMT_END

static gsize
str_len0 (const char *s)
{
  return s != NULL ? strlen (s) : 0;
}

/* How many bytes of @message follow the first @needle. */
static gsize
text_after (const char *message,
            const char *needle)
{
  const char *at = strstr (message, needle);

  return at != NULL ? strlen (at + strlen (needle)) : 0;
}

static char *
push_tmpdir_env (const char *value)
{
  char *old = g_strdup (g_getenv ("TMPDIR"));

  if (value != NULL)
    g_setenv ("TMPDIR", value, TRUE);
  else
    g_unsetenv ("TMPDIR");
  return old;
}

static void
pop_tmpdir_env (char *old)
{
  if (old != NULL)
    g_setenv ("TMPDIR", old, TRUE);
  else
    g_unsetenv ("TMPDIR");
  g_free (old);
}

static char *
unique_name (const char *tag)
{
  return g_strdup_printf ("ls-test-%s-%d-%08x", tag, (int) getpid (), g_random_int ());
}

static gboolean
fd_is_open (int fd)
{
  return fd >= 0 && fcntl (fd, F_GETFD) != -1;
}

static gboolean
path_exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

static gboolean
path_is_socket (const char *path)
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

/* Sorted @strv joined by ','. */
static char *
join_sorted (GPtrArray *strings)
{
  g_autoptr(GPtrArray) copy = g_ptr_array_new ();

  for (guint i = 0; i < strings->len; i++)
    g_ptr_array_add (copy, g_ptr_array_index (strings, i));
  g_ptr_array_sort (copy, compare_strings);
  g_ptr_array_add (copy, NULL);
  return g_strjoinv (",", (char **) copy->pdata);
}

/* The sorted entries of @dir joined by ',' ("" when empty). */
static char *
dir_listing (const char *dir)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *entry;

  g_assert_nonnull (d);
  while ((entry = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_dir_close (d);
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

typedef struct
{
  dev_t  dev;
  ino_t  ino;
  mode_t mode;
  off_t  size;
} FileId;

static void
file_id_get (const char *path,
             FileId     *id)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  id->dev = st.st_dev;
  id->ino = st.st_ino;
  id->mode = st.st_mode;
  id->size = st.st_size;
}

static void
assert_file_unchanged (const char   *path,
                       const FileId *before)
{
  FileId now;

  file_id_get (path, &now);
  g_assert_cmpuint (now.dev, ==, before->dev);
  g_assert_cmpuint (now.ino, ==, before->ino);
  g_assert_cmpuint (now.mode, ==, before->mode);
  g_assert_cmpint (now.size, ==, before->size);
}

static void
write_file (const char *path,
            const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  g_assert_no_error (error);
}

static void
assert_file_contents (const char *path,
                      const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected);
}

static socklen_t
fill_address (struct sockaddr_un *addr,
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

/* A socket of @type bound to @name (path or unpadded abstract name; NULL =
 * unbound), listening if @do_listen. */
static int
make_unix_socket (const char *name,
                  gboolean    abstract,
                  int         type,
                  gboolean    do_listen)
{
  struct sockaddr_un addr;
  int fd = socket (AF_UNIX, type, 0);

  g_assert_cmpint (fd, >=, 0);
  if (name != NULL)
    {
      socklen_t len = fill_address (&addr, name, abstract);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, len), ==, 0);
    }
  if (do_listen)
    g_assert_cmpint (listen (fd, 16), ==, 0);
  return fd;
}

/* Leaves a socket file nobody listens on at @path (a crashed server). */
static void
make_stale_socket (const char *path)
{
  int fd = make_unix_socket (path, FALSE, SOCK_STREAM, TRUE);

  close (fd);
  g_assert_true (path_is_socket (path));
}

/* Connects to an abstract name exactly as Qt 6 and GIO's
 * G_UNIX_SOCKET_ADDRESS_ABSTRACT do (no padding); -1 on failure. */
static int
raw_connect_abstract (const char *name,
                      gboolean    padded)
{
  struct sockaddr_un addr;
  socklen_t len = fill_address (&addr, name, TRUE);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  if (padded)
    len = sizeof addr;
  if (connect (fd, (struct sockaddr *) &addr, len) != 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

static void
raw_send (int         fd,
          const char *data)
{
  gssize len = strlen (data);

  g_assert_cmpint (send (fd, data, len, MSG_NOSIGNAL), ==, len);
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

/* Reads @len bytes from the raw descriptor @fd while the thread-default
 * context runs (so the server side can write); returns what arrived. */
static char *
raw_recv (int   fd,
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

/* Whether @fd sees end-of-stream or a reset within @timeout_ms (data that
 * arrives before is drained). */
static gboolean
raw_sees_eof (int fd,
              int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buf[512];

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

/* Whether @fd is still open and the peer did not close within @ms. */
static gboolean
raw_still_open (int fd,
                int ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

  pump_context ();
  return poll (&pfd, 1, ms) == 0;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Predicate) (gconstpointer data);

/* Iterates the thread-default context until @pred holds or @timeout_ms. */
static gboolean
run_until (Predicate     pred,
           gconstpointer data,
           int           timeout_ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, set_flag, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!pred (data) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_unref (context);
  return pred (data);
}

/* Records new-connection emissions. */
typedef struct
{
  guint    count;
  guint    taken;          /* maintained by the test: sockets taken so far */
  guint    max_depth;      /* largest count - taken seen inside the handler */
  guint    not_queued;     /* emissions where nothing was pending */
  GThread *thread;
  GMainContext *context;   /* thread-default context inside the handler */
} ConnLog;

static void
on_new_connection (LsLocalServer *server,
                   ConnLog       *log)
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

static ConnLog *
conn_log_attach (LsLocalServer *server)
{
  ConnLog *log = g_new0 (ConnLog, 1);

  g_signal_connect_data (server, "new-connection", G_CALLBACK (on_new_connection),
                         log, conn_log_free, 0);
  return log;
}

typedef struct
{
  const ConnLog *log;
  guint          target;
} CountTarget;

static gboolean
count_reached (gconstpointer data)
{
  const CountTarget *t = data;

  return t->log->count >= t->target;
}

static gboolean
wait_count (const ConnLog *log,
            guint          target,
            int            timeout_ms)
{
  CountTarget t = { log, target };

  return run_until (count_reached, &t, timeout_ms);
}

typedef struct
{
  LsLocalSocket *socket;
  gint64         n;
} AvailTarget;

static gboolean
available_reached (gconstpointer data)
{
  const AvailTarget *t = data;

  return ls_local_socket_get_bytes_available (t->socket) >= t->n;
}

/* Reads exactly @len bytes from @socket, running the loop as needed. */
static char *
socket_read_n (LsLocalSocket *socket,
               gsize          len,
               int            timeout_ms)
{
  AvailTarget t = { socket, (gint64) len };
  g_autoptr(GBytes) bytes = NULL;
  gsize size;
  const char *data;

  g_assert_true (run_until (available_reached, &t, timeout_ms));
  bytes = ls_local_socket_read (socket, len);
  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &size);
  return g_strndup (data, size);
}

static void
socket_write_str (LsLocalSocket *socket,
                  const char    *text)
{
  gsize len = strlen (text);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) text, len), ==, (gssize) len);
}

/* Both directions work between @socket and the raw peer @fd. */
static void
assert_exchange (LsLocalSocket *socket,
                 int            fd,
                 const char    *tag)
{
  g_autofree char *up = g_strdup_printf ("up-%s", tag);
  g_autofree char *down = g_strdup_printf ("down-%s", tag);
  g_autofree char *got_up = NULL;
  g_autofree char *got_down = NULL;

  raw_send (fd, up);
  got_up = socket_read_n (socket, strlen (up), 5000);
  g_assert_cmpstr (got_up, ==, up);
  socket_write_str (socket, down);
  got_down = raw_recv (fd, strlen (down), 5000);
  g_assert_cmpstr (got_down, ==, down);
}

static LsLocalServer *
listening_server (const char *name)
{
  g_autoptr(GError) error = NULL;
  LsLocalServer *server = ls_local_server_new ();

  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  return server;
}

static void
close_fds (int *fds,
           guint n)
{
  for (guint i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

/* ------------------------------------------------------------------------ */
/* Defaults and properties                                                   */
/* ------------------------------------------------------------------------ */

static void
assert_fresh_state (LsLocalServer *server)
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

static void
test_defaults (void)
{
  LsLocalServer *server = ls_local_server_new ();
  GObjectClass *klass;
  gboolean listening = TRUE;
  g_autofree char *name = NULL;
  g_autofree char *full = NULL;
  int max_pending = -2, backlog = -2;
  LsSocketOptions options = 0xff;
  static const struct { const char *name; gboolean writable; } props[] = {
    { "listening", FALSE },
    { "server-name", FALSE },
    { "full-server-name", FALSE },
    { "max-pending-connections", TRUE },
    { "socket-options", TRUE },
    { "listen-backlog-size", TRUE },
  };

  g_assert_true (LS_IS_LOCAL_SERVER (server));
  g_assert_true (G_TYPE_IS_DERIVABLE (LS_TYPE_LOCAL_SERVER));
  g_assert_false (G_TYPE_IS_FINAL (LS_TYPE_LOCAL_SERVER));

  assert_fresh_state (server);
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 30);
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), ==, 50);
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==, LS_SOCKET_OPTION_NONE);

  g_object_get (server,
                "listening", &listening,
                "server-name", &name,
                "full-server-name", &full,
                "max-pending-connections", &max_pending,
                "socket-options", &options,
                "listen-backlog-size", &backlog,
                NULL);
  g_assert_false (listening);
  g_assert_cmpstr (name, ==, "");
  g_assert_cmpstr (full, ==, "");
  g_assert_cmpint (max_pending, ==, 30);
  g_assert_cmpint (options, ==, LS_SOCKET_OPTION_NONE);
  g_assert_cmpint (backlog, ==, 50);

  klass = G_OBJECT_GET_CLASS (server);
  for (guint i = 0; i < G_N_ELEMENTS (props); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, props[i].name);

      g_assert_nonnull (pspec);
      g_assert_true ((pspec->flags & G_PARAM_READABLE) != 0);
      g_assert_cmpint ((pspec->flags & G_PARAM_WRITABLE) != 0, ==, props[i].writable);
      if (props[i].writable)
        g_assert_true ((pspec->flags & G_PARAM_EXPLICIT_NOTIFY) != 0);
    }
  g_assert_cmpint (G_PARAM_SPEC_INT (g_object_class_find_property (klass, "max-pending-connections"))->default_value, ==, 30);
  g_assert_cmpint (G_PARAM_SPEC_INT (g_object_class_find_property (klass, "listen-backlog-size"))->default_value, ==, 50);
  g_assert_true (G_IS_PARAM_SPEC_FLAGS (g_object_class_find_property (klass, "socket-options")));
  g_assert_cmpuint (G_PARAM_SPEC_FLAGS (g_object_class_find_property (klass, "socket-options"))->default_value, ==, 0);
  g_assert_cmpuint (g_signal_lookup ("new-connection", LS_TYPE_LOCAL_SERVER), !=, 0);

  /* close() on a server that never listened: silent no-op. */
  ls_local_server_close (server);
  ls_local_server_close (server);
  assert_fresh_state (server);

  g_object_unref (server);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           GString    *log)
{
  g_string_append_printf (log, "%s ", pspec->name);
}

static guint
count_words (const char *text,
             const char *word)
{
  g_auto(GStrv) words = g_strsplit (text, " ", -1);
  guint n = 0;

  for (guint i = 0; words[i] != NULL; i++)
    if (g_str_equal (words[i], word))
      n++;
  return n;
}

static void
test_notify (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "s", NULL);
  LsLocalServer *server = ls_local_server_new ();
  GString *log = g_string_new (NULL);
  GError *error = NULL;
  gboolean listening = FALSE;

  g_signal_connect (server, "notify", G_CALLBACK (on_notify), log);

  ls_local_server_set_max_pending_connections (server, 30);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_max_pending_connections (server, 5);
  g_assert_cmpstr (log->str, ==, "max-pending-connections ");
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 5);
  ls_local_server_set_max_pending_connections (server, 5);
  g_object_set (server, "max-pending-connections", 5, NULL);
  g_assert_cmpstr (log->str, ==, "max-pending-connections ");
  g_object_set (server, "max-pending-connections", 7, NULL);
  g_assert_cmpstr (log->str, ==, "max-pending-connections max-pending-connections ");
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 7);
  g_string_truncate (log, 0);

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_NONE);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_cmpstr (log->str, ==, "socket-options ");
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_object_set (server, "socket-options", LS_SOCKET_OPTION_USER_ACCESS, NULL);
  g_assert_cmpstr (log->str, ==, "socket-options ");
  g_object_set (server, "socket-options", LS_SOCKET_OPTION_WORLD_ACCESS, NULL);
  g_assert_cmpstr (log->str, ==, "socket-options socket-options ");
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==, LS_SOCKET_OPTION_WORLD_ACCESS);
  g_string_truncate (log, 0);

  ls_local_server_set_listen_backlog_size (server, 50);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_listen_backlog_size (server, 10);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size ");
  ls_local_server_set_listen_backlog_size (server, 10);
  g_object_set (server, "listen-backlog-size", 10, NULL);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size ");
  g_object_set (server, "listen-backlog-size", 20, NULL);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size listen-backlog-size ");
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), ==, 20);
  g_string_truncate (log, 0);

  /* A failed listen does not change "listening". */
  g_assert_false (ls_local_server_listen (server, missing, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (count_words (log->str, "listening"), ==, 0);

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_words (log->str, "listening"), ==, 1);
  g_object_get (server, "listening", &listening, NULL);
  g_assert_true (listening);

  /* Listening twice fails and does not notify. */
  g_string_truncate (log, 0);
  g_assert_false (ls_local_server_listen (server, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_cmpuint (count_words (log->str, "listening"), ==, 0);

  ls_local_server_close (server);
  g_assert_cmpuint (count_words (log->str, "listening"), ==, 1);
  g_object_get (server, "listening", &listening, NULL);
  g_assert_false (listening);
  g_string_truncate (log, 0);
  ls_local_server_close (server);
  g_assert_cmpuint (count_words (log->str, "listening"), ==, 0);

  g_signal_handlers_disconnect_by_data (server, log);
  g_string_free (log, TRUE);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* listen(name)                                                              */
/* ------------------------------------------------------------------------ */

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
assert_names (LsLocalServer *server,
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

/* A raw client at @path gets a connection from @server. */
static void
assert_serves (LsLocalServer *server,
               const char    *path,
               gboolean       abstract)
{
  ConnLog *log = conn_log_attach (server);
  LsLocalSocket *socket;
  int fd = abstract ? raw_connect_abstract (path, FALSE) : ls_test_raw_connect (path);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (wait_count (log, 1, 5000));
  g_assert_cmpuint (log->count, ==, 1);
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  assert_exchange (socket, fd, "serves");
  g_object_unref (socket);
  close (fd);
  g_signal_handlers_disconnect_by_data (server, log);
}

static void
test_listen_relative (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *dir2 = ls_test_make_tmpdir ();
  g_autofree char *slashed = g_strconcat (dir, "/", NULL);
  g_autofree char *full = g_build_filename (dir, "srv", NULL);
  g_autofree char *full2 = g_build_filename (dir, "srv2", NULL);
  g_autofree char *full3 = g_build_filename (dir2, "srv", NULL);
  g_autofree char *dotted = g_strconcat (dir, "/./srv4", NULL);
  g_autofree char *tmp_name = unique_name ("rel");
  g_autofree char *tmp_name2 = unique_name ("rel2");
  g_autofree char *tmp_full = g_build_filename ("/tmp", tmp_name, NULL);
  g_autofree char *tmp_full2 = g_build_filename ("/tmp", tmp_name2, NULL);
  char *old = push_tmpdir_env (dir);
  LsLocalServer *s1, *s2, *s3, *s4, *s5, *s6;

  s1 = listening_server ("srv");
  assert_names (s1, "srv", full);
  g_assert_true (path_is_socket (full));
  assert_bound_path (s1, full);
  assert_serves (s1, full, FALSE);

  /* $TMPDIR is re-read on every call and cleaned of a trailing slash. */
  g_setenv ("TMPDIR", slashed, TRUE);
  s2 = listening_server ("srv2");
  assert_names (s2, "srv2", full2);
  g_assert_true (path_is_socket (full2));

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
  s3 = listening_server ("srv");
  assert_names (s3, "srv", full3);
  g_assert_true (path_is_socket (full3));
  assert_serves (s3, full3, FALSE);

  /* The name itself is not cleaned (Qt): "./srv4" stays in the path. */
  g_setenv ("TMPDIR", dir, TRUE);
  s4 = listening_server ("./srv4");
  assert_names (s4, "./srv4", dotted);
  g_assert_true (path_is_socket (dotted));

  /* Empty or unset $TMPDIR means /tmp. */
  g_setenv ("TMPDIR", "", TRUE);
  s5 = listening_server (tmp_name);
  assert_names (s5, tmp_name, tmp_full);
  g_assert_true (path_is_socket (tmp_full));
  g_unsetenv ("TMPDIR");
  s6 = listening_server (tmp_name2);
  assert_names (s6, tmp_name2, tmp_full2);
  g_assert_true (path_is_socket (tmp_full2));

  ls_local_server_close (s1);
  ls_local_server_close (s2);
  ls_local_server_close (s3);
  ls_local_server_close (s4);
  ls_local_server_close (s5);
  ls_local_server_close (s6);
  g_assert_false (path_exists (full));
  g_assert_false (path_exists (full2));
  g_assert_false (path_exists (full3));
  g_assert_false (path_exists (dotted));
  g_assert_false (path_exists (tmp_full));
  g_assert_false (path_exists (tmp_full2));
  g_object_unref (s1);
  g_object_unref (s2);
  g_object_unref (s3);
  g_object_unref (s4);
  g_object_unref (s5);
  g_object_unref (s6);

  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
  ls_test_remove_tmpdir (dir2);
}

static void
test_listen_absolute (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "abs", NULL);
  g_autofree char *unclean = g_strconcat (dir, "//./abs2", NULL);
  g_autofree char *clean = g_build_filename (dir, "abs2", NULL);
  g_autofree char *listing = NULL;
  char *old = push_tmpdir_env ("/nonexistent-ls-dir");
  LsLocalServer *s1, *s2;

  /* Absolute names ignore $TMPDIR and are used verbatim. */
  s1 = listening_server (path);
  assert_names (s1, path, path);
  g_assert_true (path_is_socket (path));
  assert_bound_path (s1, path);
  assert_serves (s1, path, FALSE);

  s2 = listening_server (unclean);
  assert_names (s2, unclean, unclean);
  assert_bound_path (s2, unclean);
  g_assert_true (path_is_socket (clean));
  assert_serves (s2, unclean, FALSE);

  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "abs,abs2");

  g_object_unref (s1);
  g_object_unref (s2);
  /* dispose closes and removes the files. */
  g_clear_pointer (&listing, g_free);
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
}

static void
assert_bound_abstract (LsLocalServer *server,
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

static void
test_listen_abstract (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *name = unique_name ("abstract");
  g_autofree char *in_tmp = g_build_filename ("/tmp", name, NULL);
  g_autofree char *in_dir = g_build_filename (dir, name, NULL);
  g_autofree char *slash_name = g_build_filename (dir, "abs-path-like", NULL);
  g_autofree char *listing = NULL;
  char *old = push_tmpdir_env (dir);
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *other = ls_local_server_new ();
  LsLocalServer *third = ls_local_server_new ();
  GError *error = NULL;
  ConnLog *log = conn_log_attach (server);
  LsLocalSocket *socket;
  int fd;

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);
  assert_names (server, name, name);
  assert_bound_abstract (server, name);
  g_assert_false (path_exists (in_tmp));
  g_assert_false (path_exists (in_dir));
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* A padded address is a different abstract name. */
  g_assert_cmpint (raw_connect_abstract (name, TRUE), ==, -1);
  g_assert_cmpint (errno, ==, ECONNREFUSED);

  fd = raw_connect_abstract (name, FALSE);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (wait_count (log, 1, 5000));
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, name);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, name);
  assert_exchange (socket, fd, "abstract");
  g_object_unref (socket);
  close (fd);

  /* The abstract name is taken. */
  ls_local_server_set_socket_options (other, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_false (ls_local_server_listen (other, name, &error));
  assert_server_failure (other, error, LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen", name);
  g_clear_error (&error);
  g_assert_false (ls_local_server_is_listening (other));

  /* A name that looks like a path, with permission bits: still no file. */
  ls_local_server_set_socket_options (third, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE |
                                             LS_SOCKET_OPTION_WORLD_ACCESS);
  g_assert_true (ls_local_server_listen (third, slash_name, &error));
  g_assert_no_error (error);
  assert_names (third, slash_name, slash_name);
  assert_bound_abstract (third, slash_name);
  g_assert_false (path_exists (slash_name));
  assert_serves (third, slash_name, TRUE);
  g_clear_pointer (&listing, g_free);
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* After close the name is free again. */
  ls_local_server_close (server);
  g_assert_true (ls_local_server_listen (other, name, &error));
  g_assert_no_error (error);
  assert_serves (other, name, TRUE);

  g_object_unref (server);
  g_object_unref (other);
  g_object_unref (third);
  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* new-connection and the pending queue                                      */
/* ------------------------------------------------------------------------ */

static void
on_ready_read (LsLocalSocket *socket,
               gboolean      *flag)
{
  *flag = TRUE;
}

static void
test_new_connection_exchange (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
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
  g_assert_true (wait_count (log, 1, 5000));
  g_assert_cmpuint (log->not_queued, ==, 0);
  g_assert_true (ls_local_server_has_pending_connections (server));
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

  g_signal_connect (socket, "ready-read", G_CALLBACK (on_ready_read), &ready);
  raw_send (fd, "ping");
  g_assert_true (ls_test_run_until (&ready, 5000));
  bytes = ls_local_socket_read_all (socket);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "ping", 4);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "pong", 4), ==, 4);
  got = raw_recv (fd, 4, 5000);
  g_assert_cmpstr (got, ==, "pong");

  /* The server keeps no reference: our unref is the last one. */
  g_signal_handlers_disconnect_by_data (socket, &ready);
  g_object_unref (socket);
  g_assert_null (socket);
  g_assert_true (raw_sees_eof (fd, 5000));
  close (fd);

  g_assert_true (ls_local_server_is_listening (server));
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_new_connection_fifo (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
  int fds[4];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *id = g_strdup_printf ("client-%u", i);

      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
      raw_send (fds[i], id);
    }
  g_assert_true (wait_count (log, G_N_ELEMENTS (fds), 5000));
  ls_test_run_for (100);
  g_assert_cmpuint (log->count, ==, G_N_ELEMENTS (fds));
  g_assert_cmpuint (log->not_queued, ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *id = g_strdup_printf ("client-%u", i);
      g_autofree char *got = NULL;
      LsLocalSocket *socket = ls_local_server_next_pending_connection (server);

      g_assert_nonnull (socket);
      got = socket_read_n (socket, strlen (id), 5000);
      g_assert_cmpstr (got, ==, id);
      g_object_unref (socket);
    }
  g_assert_null (ls_local_server_next_pending_connection (server));

  close_fds (fds, G_N_ELEMENTS (fds));
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_max_pending (gconstpointer data)
{
  const guint n = GPOINTER_TO_UINT (data);
  const guint total = n + 3;
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = ls_local_server_new ();
  ConnLog *log = conn_log_attach (server);
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
  g_assert_true (wait_count (log, n, 5000));
  ls_test_run_for (300);
  g_assert_cmpuint (log->count, ==, n);
  g_assert_cmpuint (log->max_depth, ==, n);

  /* Taking one lets exactly one more in. */
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_ptr_array_add (taken, socket);
  log->taken = taken->len;
  g_assert_true (wait_count (log, n + 1, 5000));
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
      wait_count (log, taken->len + 1, 1000);
      while ((socket = ls_local_server_next_pending_connection (server)) != NULL)
        g_ptr_array_add (taken, socket);
      log->taken = taken->len;
    }
  g_assert_cmpuint (taken->len, ==, total);
  ls_test_run_for (200);
  g_assert_cmpuint (log->count, ==, total);
  g_assert_cmpuint (log->max_depth, ==, n);
  g_assert_cmpuint (log->not_queued, ==, 0);
  g_assert_null (ls_local_server_next_pending_connection (server));

  for (guint i = 0; i < taken->len; i++)
    g_assert_cmpint (ls_local_socket_get_state (g_ptr_array_index (taken, i)), ==,
                     LS_LOCAL_SOCKET_STATE_CONNECTED);

  close_fds (fds, total);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_max_pending_zero (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = ls_local_server_new ();
  ConnLog *log = conn_log_attach (server);
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

  /* Taking it does not make the event loop accept the other one. */
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
  assert_exchange (s1, fds[0], "zero-1");
  assert_exchange (s2, fds[1], "zero-2");

  g_assert_false (ls_local_server_wait_for_new_connection (server, 100, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  g_object_unref (s1);
  g_object_unref (s2);
  close_fds (fds, G_N_ELEMENTS (fds));
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_listen_backlog (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
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
      socklen_t len = fill_address (&addr, path, FALSE);
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

      g_assert_cmpint (fd, >=, 0);
      g_array_append_val (fds, fd);
      if (connect (fd, (struct sockaddr *) &addr, len) == 0)
        small_ok++;
      else
        g_assert_cmpint (errno, ==, EAGAIN);

      len = fill_address (&addr, path2, FALSE);
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

  close_fds ((int *) fds->data, fds->len);
  g_array_free (fds, TRUE);
  g_object_unref (small);
  g_object_unref (dflt);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* wait_for_new_connection                                                   */
/* ------------------------------------------------------------------------ */

static void
test_wait_timeout (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = FALSE;

  g_assert_false (ls_local_server_wait_for_new_connection (server, 100, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  timed_out = FALSE;
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);

  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, NULL));
  g_assert_cmpuint (log->count, ==, 0);
  g_assert_true (ls_local_server_is_listening (server));
  /* A timeout is not an error. */
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_UNKNOWN);

  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static gpointer
connect_later_thread (gpointer data)
{
  const char *path = data;

  g_usleep (200 * 1000);
  return GINT_TO_POINTER (ls_test_raw_connect (path));
}

static void
test_wait_success (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = TRUE;
  LsLocalSocket *socket;
  GThread *thread;
  int fd, fd2;

  /* A client already waiting: new-connection is emitted inside the call. */
  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_local_server_wait_for_new_connection (server, -1, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 1);
  g_assert_true (ls_local_server_has_pending_connections (server));

  /* Nothing new, but something is queued: TRUE and timed out (Qt). */
  g_assert_true (ls_local_server_wait_for_new_connection (server, 50, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_true (timed_out);
  g_assert_cmpuint (log->count, ==, 1);

  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  assert_exchange (socket, fd, "wait");
  g_object_unref (socket);

  /* A client that arrives while we block. */
  thread = g_thread_new ("connect-later", connect_later_thread, path);
  timed_out = TRUE;
  g_assert_true (ls_local_server_wait_for_new_connection (server, 10000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 2);
  fd2 = GPOINTER_TO_INT (g_thread_join (thread));
  g_assert_cmpint (fd2, >=, 0);
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  assert_exchange (socket, fd2, "wait-later");
  g_object_unref (socket);
  g_assert_cmpuint (log->not_queued, ==, 0);

  close (fd);
  close (fd2);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_wait_beyond_max (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = ls_local_server_new ();
  ConnLog *log = conn_log_attach (server);
  GError *error = NULL;
  gboolean timed_out = TRUE;
  LsLocalSocket *a, *b;
  int fds[3];

  ls_local_server_set_max_pending_connections (server, 1);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (wait_count (log, 1, 5000));
  ls_test_run_for (200);
  g_assert_cmpuint (log->count, ==, 1);

  /* An explicit wait accepts even when the queue is at its maximum. */
  g_assert_true (ls_local_server_wait_for_new_connection (server, 2000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (log->count, ==, 2);
  a = ls_local_server_next_pending_connection (server);
  b = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  assert_exchange (a, fds[0], "beyond-a");
  assert_exchange (b, fds[1], "beyond-b");

  g_object_unref (a);
  g_object_unref (b);
  close_fds (fds, G_N_ELEMENTS (fds));
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_wait_not_listening (void)
{
  LsLocalServer *server = ls_local_server_new ();
  GError *error = NULL;
  gboolean timed_out = TRUE;

  g_assert_false (ls_local_server_wait_for_new_connection (server, 1000, &timed_out, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_false (timed_out);
  /* As in Qt (API.md, naming rule): the recorded error stays as it was. */
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, "");
  g_clear_error (&error);
  g_assert_false (ls_local_server_is_listening (server));

  /* After a failed listen, its error survives the failed wait. */
  g_assert_false (ls_local_server_listen (server, "", NULL));
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);

  /* error may be NULL */
  g_assert_false (ls_local_server_wait_for_new_connection (server, 0, NULL, NULL));
  g_object_unref (server);
}

/* ------------------------------------------------------------------------ */
/* Socket options and existing files                                         */
/* ------------------------------------------------------------------------ */

static void
test_options_modes (void)
{
  static const struct { LsSocketOptions options; mode_t mode; } cases[] = {
    { LS_SOCKET_OPTION_USER_ACCESS, 0700 },
    { LS_SOCKET_OPTION_GROUP_ACCESS, 0070 },
    { LS_SOCKET_OPTION_OTHER_ACCESS, 0007 },
    { LS_SOCKET_OPTION_WORLD_ACCESS, 0777 },
    { LS_SOCKET_OPTION_USER_ACCESS | LS_SOCKET_OPTION_GROUP_ACCESS, 0770 },
  };
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *listing = NULL;
  LsLocalServer *servers[G_N_ELEMENTS (cases) + 2];
  mode_t old_umask = umask (022);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("s%u", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GError *error = NULL;
      struct stat st;

      servers[i] = ls_local_server_new ();
      ls_local_server_set_socket_options (servers[i], cases[i].options);
      g_assert_cmpint (ls_local_server_get_socket_options (servers[i]), ==, cases[i].options);
      g_assert_true (ls_local_server_listen (servers[i], path, &error));
      g_assert_no_error (error);
      assert_names (servers[i], path, path);
      g_assert_cmpint (lstat (path, &st), ==, 0);
      g_assert_true (S_ISSOCK (st.st_mode));
      g_assert_cmpuint (st.st_mode & 07777, ==, cases[i].mode);
      g_assert_cmpuint (st.st_uid, ==, getuid ());
      g_assert_cmpint (ls_local_server_get_socket_options (servers[i]), ==, cases[i].options);
      if (getuid () == 0 || (cases[i].mode & 0200) != 0)
        assert_serves (servers[i], path, FALSE);
    }

  /* No options: a plain bind, the mode follows the umask. */
  {
    g_autofree char *p1 = g_build_filename (dir, "plain022", NULL);
    g_autofree char *p2 = g_build_filename (dir, "plain077", NULL);
    struct stat st;

    servers[G_N_ELEMENTS (cases)] = listening_server (p1);
    g_assert_cmpint (lstat (p1, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 07777, ==, 0755);
    umask (077);
    servers[G_N_ELEMENTS (cases) + 1] = listening_server (p2);
    g_assert_cmpint (lstat (p2, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
  }
  umask (old_umask);

  /* The private directory used to set the mode is gone. */
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "plain022,plain077,s0,s1,s2,s3,s4");

  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    ls_local_server_close (servers[i]);
  g_clear_pointer (&listing, g_free);
  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");
  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    g_object_unref (servers[i]);
  ls_test_remove_tmpdir (dir);
}

typedef enum
{
  EXISTING_LIVE_SOCKET,
  EXISTING_STALE_SOCKET,
  EXISTING_REGULAR_FILE,
  EXISTING_DIRECTORY,
  N_EXISTING
} ExistingKind;

static void
assert_no_private_leftovers (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *entry;

  g_assert_nonnull (d);
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (entry, ".ls-"))
      {
        g_autofree char *msg = g_strdup_printf ("leftover private directory %s/%s", dir, entry);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
      }
  g_dir_close (d);
}

static void
test_address_in_use (void)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  g_autofree char *dir = ls_test_make_tmpdir ();

  for (guint kind = 0; kind < N_EXISTING; kind++)
    for (guint o = 0; o < G_N_ELEMENTS (options); o++)
      {
        g_autofree char *name = g_strdup_printf ("k%u-o%u", kind, o);
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_autofree char *inner = g_build_filename (path, "inner", NULL);
        LsLocalServer *live = NULL;
        LsLocalServer *server = ls_local_server_new ();
        GError *error = NULL;
        FileId before;

        switch (kind)
          {
          case EXISTING_LIVE_SOCKET:
            live = listening_server (path);
            break;
          case EXISTING_STALE_SOCKET:
            make_stale_socket (path);
            break;
          case EXISTING_REGULAR_FILE:
            write_file (path, "precious");
            break;
          case EXISTING_DIRECTORY:
            g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
            write_file (inner, "inside");
            break;
          default:
            g_assert_not_reached ();
          }
        file_id_get (path, &before);

        ls_local_server_set_socket_options (server, options[o]);
        g_assert_false (ls_local_server_listen (server, path, &error));
        assert_server_failure (server, error, LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen", path);
        g_clear_error (&error);
        g_assert_false (ls_local_server_is_listening (server));
        g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
        g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
        g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);

        assert_file_unchanged (path, &before);
        if (kind == EXISTING_REGULAR_FILE)
          assert_file_contents (path, "precious");
        if (kind == EXISTING_DIRECTORY)
          assert_file_contents (inner, "inside");
        assert_no_private_leftovers (dir);

        /* The failed server's dispose must not remove the file either. */
        g_object_unref (server);
        assert_file_unchanged (path, &before);

        if (live != NULL)
          {
            g_assert_true (ls_local_server_is_listening (live));
            assert_serves (live, path, FALSE);
            g_object_unref (live);
          }
      }

  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Bad names                                                                 */
/* ------------------------------------------------------------------------ */

/* @dir + "/" + @tag + padding, exactly @len bytes long. */
static char *
path_of_length (const char *dir,
                const char *tag,
                gsize       len)
{
  GString *s = g_string_new (dir);

  g_string_append_c (s, '/');
  g_string_append (s, tag);
  g_assert_cmpuint (s->len, <, len);
  while (s->len < len)
    g_string_append_c (s, 'x');
  return g_string_free (s, FALSE);
}

static void
test_name_too_long (void)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  static const gsize lengths[] = { 108, 200 };
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autoptr(GPtrArray) planted = g_ptr_array_new_with_free_func (g_free);
  char *old = push_tmpdir_env (dir);

  for (guint l = 0; l < G_N_ELEMENTS (lengths); l++)
    for (guint o = 0; o < G_N_ELEMENTS (options); o++)
      for (int relative = 0; relative <= 1; relative++)
        {
          g_autofree char *tag = g_strdup_printf ("l%u-o%u-r%d-", l, o, relative);
          g_autofree char *full = path_of_length (dir, tag, lengths[l]);
          g_autofree char *truncated = g_strndup (full, 107);
          const char *name = relative ? full + strlen (dir) + 1 : full;
          LsLocalServer *server = ls_local_server_new ();
          GError *error = NULL;
          FileId trunc_id, full_id;

          /* What a silently truncated bind would hit, and (for the short
           * case) a file at the full path too: neither may be touched. */
          write_file (truncated, "truncated");
          g_ptr_array_add (planted, g_path_get_basename (truncated));
          file_id_get (truncated, &trunc_id);
          if (lengths[l] == 108)
            {
              write_file (full, "full");
              g_ptr_array_add (planted, g_path_get_basename (full));
              file_id_get (full, &full_id);
            }

          ls_local_server_set_socket_options (server, options[o]);
          g_assert_false (ls_local_server_listen (server, name, &error));
          assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", full);
          g_clear_error (&error);
          g_assert_false (ls_local_server_is_listening (server));
          g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");

          assert_file_unchanged (truncated, &trunc_id);
          assert_file_contents (truncated, "truncated");
          if (lengths[l] == 108)
            {
              assert_file_unchanged (full, &full_id);
              assert_file_contents (full, "full");
            }
          else
            g_assert_false (path_exists (full));
          g_object_unref (server);
        }

  /* Nothing but what we planted: no socket, no private directory. */
  {
    g_autofree char *listing = dir_listing (dir);
    g_autofree char *expected = join_sorted (planted);

    g_assert_cmpstr (listing, ==, expected);
  }

  /* The longest path that fits (107 bytes) works, also with options, and
   * clients reach it. */
  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    for (int relative = 0; relative <= 1; relative++)
      {
        g_autofree char *tag = g_strdup_printf ("fit-o%u-r%d-", o, relative);
        g_autofree char *full = path_of_length (dir, tag, 107);
        const char *name = relative ? full + strlen (dir) + 1 : full;
        LsLocalServer *server = ls_local_server_new ();
        GError *error = NULL;

        ls_local_server_set_socket_options (server, options[o]);
        g_assert_true (ls_local_server_listen (server, name, &error));
        g_assert_no_error (error);
        assert_names (server, name, full);
        g_assert_true (path_is_socket (full));
        assert_serves (server, full, FALSE);
        g_object_unref (server);
        g_assert_false (path_exists (full));
      }

  /* Abstract names: 107 bytes fit, 108 do not. */
  {
    g_autofree char *prefix = unique_name ("long");
    g_autofree char *fits = path_of_length (prefix, "a", 107);
    g_autofree char *too_long = path_of_length (prefix, "b", 108);
    LsLocalServer *server = ls_local_server_new ();
    LsLocalServer *server2 = ls_local_server_new ();
    GError *error = NULL;

    ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
    g_assert_false (ls_local_server_listen (server, too_long, &error));
    assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", too_long);
    g_clear_error (&error);
    g_assert_false (ls_local_server_is_listening (server));

    ls_local_server_set_socket_options (server2, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
    g_assert_true (ls_local_server_listen (server2, fits, &error));
    g_assert_no_error (error);
    assert_bound_abstract (server2, fits);
    assert_serves (server2, fits, TRUE);
    g_object_unref (server);
    g_object_unref (server2);
  }

  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
}

static void
test_name_invalid (void)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
  };
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *missing_dir = g_build_filename (dir, "missing", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "s", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *through_file = g_build_filename (dir, "file", "s", NULL);
  g_autofree char *listing = NULL;
  char *old = push_tmpdir_env (NULL);

  write_file (file, "not a directory");

  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;

      ls_local_server_set_socket_options (server, options[o]);

      g_assert_false (ls_local_server_listen (server, NULL, &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", NULL);
      g_clear_error (&error);

      g_assert_false (ls_local_server_listen (server, "", &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", NULL);
      g_clear_error (&error);

      g_assert_false (ls_local_server_listen (server, missing, &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", missing);
      g_clear_error (&error);
      g_assert_false (path_exists (missing_dir));

      /* Relative name in a $TMPDIR that does not exist. */
      g_setenv ("TMPDIR", missing_dir, TRUE);
      g_assert_false (ls_local_server_listen (server, "s", &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", missing);
      g_clear_error (&error);
      g_unsetenv ("TMPDIR");
      g_assert_false (path_exists (missing_dir));

      /* A path through a regular file (ENOTDIR) is a name error (Qt). */
      g_assert_false (ls_local_server_listen (server, through_file, &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", through_file);
      g_clear_error (&error);
      assert_file_contents (file, "not a directory");

      g_assert_false (ls_local_server_is_listening (server));
      g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
      g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
      g_object_unref (server);
    }

  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "file");
  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
}

/* Runs as a user who cannot write into @dir/ro. */
static void
check_unwritable_dir (const char *dir)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  g_autofree char *ro = g_build_filename (dir, "ro", NULL);
  g_autofree char *path = g_build_filename (ro, "s", NULL);
  g_autofree char *listing = NULL;

  g_assert_cmpint (access (ro, W_OK), !=, 0);
  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;

      ls_local_server_set_socket_options (server, options[o]);
      g_assert_false (ls_local_server_listen (server, path, &error));
      assert_server_failure (server, error, LS_SOCKET_ERROR_SOCKET_ACCESS, "listen", path);
      g_clear_error (&error);
      g_assert_false (ls_local_server_is_listening (server));
      g_object_unref (server);
    }
  listing = dir_listing (ro);
  g_assert_cmpstr (listing, ==, "");
}

static void
test_name_unwritable_dir (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *ro = NULL;

  if (g_test_subprocess ())
    {
      const char *child_dir = g_getenv ("LS_TEST_DIR");
      struct passwd *nobody = getpwnam ("nobody");

      g_assert_nonnull (child_dir);
      g_assert_nonnull (nobody);
      g_assert_cmpint (setgroups (0, NULL), ==, 0);
      g_assert_cmpint (setgid (nobody->pw_gid), ==, 0);
      g_assert_cmpint (setuid (nobody->pw_uid), ==, 0);
      g_assert_cmpint (getuid (), ==, nobody->pw_uid);
      check_unwritable_dir (child_dir);
      return;
    }

  dir = ls_test_make_tmpdir ();
  ro = g_build_filename (dir, "ro", NULL);
  /* Searchable by everyone, writable by nobody but its owner. */
  g_assert_cmpint (chmod (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (ro, 0755), ==, 0);
  g_assert_cmpint (chmod (ro, 0555), ==, 0);

  if (getuid () == 0)
    {
      /* root writes anywhere: check as "nobody" in a child process. */
      g_setenv ("LS_TEST_DIR", dir, TRUE);
      g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_unsetenv ("LS_TEST_DIR");
      g_test_trap_assert_passed ();
    }
  else
    check_unwritable_dir (dir);

  g_assert_cmpint (chmod (ro, 0755), ==, 0);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* listen twice, close, recycle                                              */
/* ------------------------------------------------------------------------ */

static void
test_listen_twice (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *p1 = g_build_filename (dir, "one", NULL);
  g_autofree char *p2 = g_build_filename (dir, "two", NULL);
  g_autofree char *p3 = g_build_filename (dir, "three", NULL);
  LsLocalServer *server = listening_server (p1);
  GError *error = NULL;
  int fd, value = 0, fd_before;
  socklen_t len = sizeof value;

  fd_before = ls_local_server_get_socket_descriptor (server);

  g_assert_false (ls_local_server_listen (server, p2, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  assert_contains (error->message, "listen");
  /* It names the server it is already listening on, or the new name. */
  if (strstr (error->message, p1) == NULL)
    assert_contains (error->message, p2);
  g_clear_error (&error);
  g_assert_false (path_exists (p2));

  g_assert_false (ls_local_server_listen (server, p1, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);

  /* Adopting a descriptor while listening fails too, and leaves it alone. */
  fd = make_unix_socket (p3, FALSE, SOCK_STREAM, TRUE);
  g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_true (fd_is_open (fd));
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len), ==, 0);
  g_assert_cmpint (value, !=, 0);
  close (fd);

  /* The first listener is unaffected. */
  g_assert_true (ls_local_server_is_listening (server));
  assert_names (server, p1, p1);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd_before);
  g_assert_true (path_is_socket (p1));
  assert_serves (server, p1, FALSE);

  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_close_recycle (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *stale = g_build_filename (dir, "stale", NULL);
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autofree char *path2 = g_build_filename (dir, "s2", NULL);
  LsLocalServer *server = ls_local_server_new ();
  GString *log = g_string_new (NULL);
  GError *error = NULL;

  make_stale_socket (stale);
  g_assert_false (ls_local_server_listen (server, stale, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  /* A later success does not reset the recorded error (Qt). */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_contains (ls_local_server_get_error_string (server), stale);
  assert_serves (server, path, FALSE);

  /* close() resets everything and removes the file. */
  ls_local_server_close (server);
  assert_fresh_state (server);
  g_assert_false (path_exists (path));
  g_assert_true (path_is_socket (stale));

  /* Second close: nothing happens. */
  g_signal_connect (server, "notify", G_CALLBACK (on_notify), log);
  ls_local_server_close (server);
  g_assert_cmpstr (log->str, ==, "");
  assert_fresh_state (server);
  g_signal_handlers_disconnect_by_data (server, log);

  /* And the object listens again, same name and another. */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  assert_names (server, path, path);
  assert_serves (server, path, FALSE);
  ls_local_server_close (server);
  g_assert_false (path_exists (path));

  g_assert_true (ls_local_server_listen (server, path2, &error));
  g_assert_no_error (error);
  assert_names (server, path2, path2);
  assert_serves (server, path2, FALSE);

  g_string_free (log, TRUE);
  g_object_unref (server);
  g_assert_false (path_exists (path2));
  ls_test_remove_tmpdir (dir);
}

typedef struct
{
  gboolean rename_file;   /* else unlink it */
  gboolean use_dispose;   /* else close() */
} NotOursCase;

static void
test_close_not_ours (gconstpointer data)
{
  const NotOursCase *c = data;
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autofree char *moved = g_build_filename (dir, "s.old", NULL);
  LsLocalServer *a = listening_server (path);
  LsLocalServer *b;
  FileId a_id, b_id;

  file_id_get (path, &a_id);
  if (c->rename_file)
    g_assert_cmpint (g_rename (path, moved), ==, 0);
  else
    g_assert_cmpint (g_unlink (path), ==, 0);

  b = listening_server (path);
  file_id_get (path, &b_id);
  g_assert_true (b_id.ino != a_id.ino || b_id.dev != a_id.dev);

  /* A late close of A must not delete B's socket. */
  if (c->use_dispose)
    g_object_unref (a);
  else
    ls_local_server_close (a);
  assert_file_unchanged (path, &b_id);
  g_assert_true (ls_local_server_is_listening (b));
  assert_serves (b, path, FALSE);
  if (c->rename_file)
    g_assert_true (path_is_socket (moved));

  if (!c->use_dispose)
    g_object_unref (a);
  assert_file_unchanged (path, &b_id);

  /* B removes its own. */
  ls_local_server_close (b);
  g_assert_false (path_exists (path));
  g_object_unref (b);
  ls_test_remove_tmpdir (dir);
}

static void
test_close_pending (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
  LsLocalSocket *handed;
  int fds[3];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (wait_count (log, 3, 5000));
  handed = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (handed);

  ls_local_server_close (server);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
  g_assert_false (path_exists (path));

  /* Queued, untaken connections were closed. */
  g_assert_true (raw_sees_eof (fds[1], 5000));
  g_assert_true (raw_sees_eof (fds[2], 5000));

  /* The handed-out one keeps working, even once the server is gone. */
  g_assert_true (raw_still_open (fds[0], 50));
  g_assert_cmpint (ls_local_socket_get_state (handed), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  assert_exchange (handed, fds[0], "after-close");
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);
  g_assert_cmpint (ls_local_socket_get_state (handed), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  assert_exchange (handed, fds[0], "after-unref");

  g_object_unref (handed);
  g_assert_true (raw_sees_eof (fds[0], 5000));
  close_fds (fds, G_N_ELEMENTS (fds));
  ls_test_remove_tmpdir (dir);
}

static void
test_dispose_pending (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
  int fds[2];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (wait_count (log, 2, 5000));

  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);
  g_assert_false (path_exists (path));
  g_assert_true (raw_sees_eof (fds[0], 5000));
  g_assert_true (raw_sees_eof (fds[1], 5000));
  close_fds (fds, G_N_ELEMENTS (fds));
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* listen_socket_descriptor                                                  */
/* ------------------------------------------------------------------------ */

static void
test_listen_fd_path (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "adopted", NULL);
  g_autofree char *path2 = g_build_filename (dir, "adopted2", NULL);
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *server2 = ls_local_server_new ();
  GError *error = NULL;
  FileId id;
  int fd, fd2;

  /* Created blocking and without CLOEXEC: the server sets both flags. */
  fd = make_unix_socket (path, FALSE, SOCK_STREAM, TRUE);
  file_id_get (path, &id);
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd);
  assert_names (server, "adopted", path);
  /* Qt 6: the abstract bit follows the descriptor's address. */
  g_assert_cmpint (ls_local_server_get_socket_options (server) & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, ==, 0);
  g_assert_true ((fcntl (fd, F_GETFL) & O_NONBLOCK) != 0);
  g_assert_true ((fcntl (fd, F_GETFD) & FD_CLOEXEC) != 0);
  assert_serves (server, path, FALSE);

  /* close() closes the descriptor but leaves a file it did not create. */
  ls_local_server_close (server);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);
  g_assert_false (fd_is_open (fd));
  assert_file_unchanged (path, &id);

  /* Same for dispose. */
  fd2 = make_unix_socket (path2, FALSE, SOCK_STREAM, TRUE);
  file_id_get (path2, &id);
  g_assert_true (ls_local_server_listen_socket_descriptor (server2, fd2, &error));
  g_assert_no_error (error);
  assert_names (server2, "adopted2", path2);
  g_object_unref (server2);
  g_assert_false (fd_is_open (fd2));
  assert_file_unchanged (path2, &id);

  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

static void
test_listen_fd_abstract (void)
{
  g_autofree char *base = unique_name ("adopt");
  g_autofree char *name = g_strconcat (base, "/with/slashes", NULL);
  g_autofree char *in_tmp = g_build_filename ("/tmp", base, NULL);
  LsLocalServer *server = ls_local_server_new ();
  GError *error = NULL;
  int fd;

  fd = make_unix_socket (name, TRUE, SOCK_STREAM, TRUE);
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd);
  /* Qt 6: no '@', no leading NUL, no basename split for abstract names. */
  assert_names (server, name, name);
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==,
                   LS_SOCKET_OPTION_USER_ACCESS | LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  assert_serves (server, name, TRUE);

  ls_local_server_close (server);
  g_assert_false (fd_is_open (fd));
  g_assert_false (path_exists (in_tmp));
  /* The name is free again. */
  fd = make_unix_socket (name, TRUE, SOCK_STREAM, TRUE);
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
      return make_unix_socket (NULL, FALSE, SOCK_STREAM, FALSE);
    case BAD_FD_BOUND_NOT_LISTENING:
      return make_unix_socket (path, FALSE, SOCK_STREAM, FALSE);
    case BAD_FD_CONNECTED_PAIR:
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      *extra = pair[1];
      return pair[0];
    case BAD_FD_UNIX_DGRAM:
      return make_unix_socket (path, FALSE, SOCK_DGRAM, FALSE);
    case BAD_FD_UNIX_SEQPACKET_LISTENING:
      return make_unix_socket (path, FALSE, SOCK_SEQPACKET, TRUE);
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
test_listen_fd_invalid (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();

  for (guint kind = 0; kind < N_BAD_FD; kind++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;
      g_autofree char *fd_text = NULL;
      int extra, flags_before = -1, fd;

      fd = make_bad_fd (kind, dir, &extra);
      if (fd_is_open (fd))
        flags_before = fcntl (fd, F_GETFL);
      fd_text = g_strdup_printf ("%d", fd);

      g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
      assert_contains (error->message, fd_text);
      g_assert_cmpint (ls_local_server_get_server_error (server), ==,
                       LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
      assert_contains (ls_local_server_get_error_string (server), fd_text);
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
          g_assert_true (fd_is_open (fd));
          g_assert_cmpint (fcntl (fd, F_GETFL), ==, flags_before);
          close (fd);
        }
      if (extra >= 0)
        close (extra);
    }

  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* remove_server                                                             */
/* ------------------------------------------------------------------------ */

static void
test_remove_server (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *missing = g_build_filename (dir, "none", NULL);
  g_autofree char *stale = g_build_filename (dir, "stale", NULL);
  g_autofree char *rel = g_build_filename (dir, "rel", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *live = g_build_filename (dir, "live", NULL);
  g_autofree char *subdir = g_build_filename (dir, "d", NULL);
  g_autofree char *inner = g_build_filename (dir, "d", "inner", NULL);
  g_autofree char *listing = NULL;
  char *old = push_tmpdir_env (dir);
  LsLocalServer *server;
  GError *error = NULL;

  g_assert_true (ls_local_server_remove_server (missing, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_remove_server ("none", &error));
  g_assert_no_error (error);

  make_stale_socket (stale);
  g_assert_true (ls_local_server_remove_server (stale, &error));
  g_assert_no_error (error);
  g_assert_false (path_exists (stale));

  /* Relative names resolve like listen(). */
  make_stale_socket (rel);
  g_assert_true (ls_local_server_remove_server ("rel", &error));
  g_assert_no_error (error);
  g_assert_false (path_exists (rel));

  /* Unlike Qt (API.md fix 12), only a socket goes: a regular file or a
   * FIFO at the path is left alone and reported. */
  write_file (file, "x");
  g_assert_false (ls_local_server_remove_server (file, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_contains (error->message, file);
  assert_contains (error->message, "regular file");
  g_clear_error (&error);
  assert_file_contents (file, "x");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (ls_local_server_remove_server (fifo, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  assert_contains (error->message, "FIFO");
  g_clear_error (&error);
  g_assert_true (path_exists (fifo));

  /* Like Qt, a live server's socket goes too. */

  server = listening_server (live);
  g_assert_true (ls_local_server_remove_server (live, &error));
  g_assert_no_error (error);
  g_assert_false (path_exists (live));
  g_assert_true (ls_local_server_is_listening (server));
  g_object_unref (server);

  /* A directory is not removed. */
  g_assert_cmpint (g_mkdir (subdir, 0755), ==, 0);
  write_file (inner, "keep");
  g_assert_false (ls_local_server_remove_server (subdir, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == LS_SOCKET_ERROR);
  assert_contains (error->message, subdir);
  assert_contains (error->message, "remov");
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server (subdir, NULL));
  assert_file_contents (inner, "keep");

  g_assert_false (ls_local_server_remove_server (NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server ("", &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);

  listing = dir_listing (dir);
  g_assert_cmpstr (listing, ==, "d,fifo,file");
  pop_tmpdir_env (old);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Deliberate fix 1: accept() running out of descriptors                     */
/* ------------------------------------------------------------------------ */

static double
cpu_seconds (void)
{
  struct rusage ru;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &ru), ==, 0);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

#define N_PRESSURE_CLIENTS 6

static void
resource_child (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func (g_object_unref);
  LsLocalServer *server = listening_server (path);
  ConnLog *log = conn_log_attach (server);
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
    if (!fd_is_open (fd) && ++free_slots == 3)
      break;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  limit.rlim_cur = fd;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

  /* The server accepts what fits, then hits EMFILE. */
  ls_test_run_for (500);
  under_pressure = log->count;
  g_assert_cmpuint (under_pressure, >=, 1);
  g_assert_cmpuint (under_pressure, <=, 2);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
  assert_contains (ls_local_server_get_error_string (server), path);
  while ((accepted = ls_local_server_next_pending_connection (server)) != NULL)
    g_ptr_array_add (taken, accepted);
  log->taken = taken->len;

  /* A second of pressure: still listening, no busy loop. */
  cpu_before = cpu_seconds ();
  ls_test_run_for (1000);
  cpu_used = cpu_seconds () - cpu_before;
  g_test_message ("CPU time during 1 s of EMFILE: %.3f s", cpu_used);
  g_assert_cmpfloat (cpu_used, <, 0.2);
  g_assert_cmpuint (log->count, ==, under_pressure);
  g_assert_true (ls_local_server_is_listening (server));
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, listen_fd);
  g_assert_true (fd_is_open (listen_fd));
  g_assert_true (path_is_socket (path));
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);

  /* Freeing descriptors lets the server resume, client after client. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (log->count < N_PRESSURE_CLIENTS && g_get_monotonic_time () < deadline)
    {
      g_ptr_array_set_size (taken, 0);
      wait_count (log, log->taken + 1, 3000);
      while ((accepted = ls_local_server_next_pending_connection (server)) != NULL)
        g_ptr_array_add (taken, accepted);
      log->taken += taken->len;
    }
  g_assert_cmpuint (log->count, ==, N_PRESSURE_CLIENTS);
  g_ptr_array_set_size (taken, 0);

  /* A brand-new client is served, under the same lowered limit. */
  addr_len = fill_address (&addr, path, FALSE);
  g_assert_cmpint (connect (late, (struct sockaddr *) &addr, addr_len), ==, 0);
  g_assert_true (wait_count (log, N_PRESSURE_CLIENTS + 1, 5000));
  accepted = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (accepted);
  assert_exchange (accepted, late, "late");
  g_object_unref (accepted);

  close_fds (clients, N_PRESSURE_CLIENTS);
  close (late);
  g_object_unref (server);
}

static void
test_accept_resource_exhaustion (void)
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
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Re-entrancy: unref / close from the handler                               */
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
test_unref_in_handler (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
  guint count = 0;
  int fds[3];

  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection_unref), &count);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }

  g_assert_true (ls_test_run_until ((gboolean *) &count, 5000));
  ls_test_run_for (200);
  g_assert_cmpuint (count, >=, 1);
  g_assert_cmpuint (count, <=, G_N_ELEMENTS (fds));
  g_assert_null (server);
  g_assert_false (path_exists (path));
  /* Queued connections died with the server; unaccepted ones were reset
   * when the listening socket closed. */
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (raw_sees_eof (fds[i], 5000));
  g_assert_cmpint (ls_test_raw_connect (path), ==, -1);

  close_fds (fds, G_N_ELEMENTS (fds));
  ls_test_remove_tmpdir (dir);
}

static void
test_close_in_handler (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  LsLocalServer *server = listening_server (path);
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
  ls_test_run_for (200);
  g_assert_cmpuint (count, ==, 1);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_false (path_exists (path));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (raw_sees_eof (fds[i], 5000));
  close_fds (fds, G_N_ELEMENTS (fds));

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
  g_assert_true (raw_sees_eof (fds[0], 5000));
  close (fds[0]);

  /* The object is still usable afterwards. */
  g_signal_handler_disconnect (server, id);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  assert_serves (server, path, FALSE);

  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Subclass overriding incoming_connection                                   */
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
test_subclass (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  TestServer *server = g_object_new (test_server_get_type (), NULL);
  ConnLog *log = conn_log_attach (LS_LOCAL_SERVER (server));
  LsLocalSocket *socket, *outside;
  GError *error = NULL;
  gboolean timed_out = TRUE;
  int fd, fd2, pair[2];

  g_assert_true (LS_IS_LOCAL_SERVER (server));
  g_assert_true (ls_local_server_listen (LS_LOCAL_SERVER (server), path, &error));
  g_assert_no_error (error);

  fd = ls_test_raw_connect (path);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (wait_count (log, 1, 5000));
  g_assert_cmpuint (server->incoming, ==, 1);
  g_assert_cmpuint (server->class_handler_runs, ==, 1);
  g_assert_cmpuint (log->not_queued, ==, 0);

  socket = ls_local_server_next_pending_connection (LS_LOCAL_SERVER (server));
  g_assert_nonnull (socket);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (socket), made_here_quark ())), ==, 1);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, server->last_fd);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  assert_exchange (socket, fd, "subclass");
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
  assert_exchange (socket, fd2, "subclass-wait");
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
  assert_exchange (socket, pair[1], "outside");
  g_object_add_weak_pointer (G_OBJECT (socket), (gpointer *) &socket);
  g_object_unref (socket);
  g_assert_null (socket);

  close (fd);
  close (fd2);
  close (pair[1]);
  g_object_unref (server);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* A server in a worker thread                                               */
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
nothing_to_write (gconstpointer data)
{
  return ls_local_socket_get_bytes_to_write ((LsLocalSocket *) data) == 0;
}

static gpointer
server_thread (gpointer user_data)
{
  ThreadData *td = user_data;
  GMainContext *context = g_main_context_new ();
  GError *error = NULL;
  ConnLog *log;
  LsLocalSocket *socket;

  g_main_context_push_thread_default (context);
  td->worker_context = context;

  /* The context is captured at listen time, not at construction. */
  g_assert_true (ls_local_server_listen (td->server, td->path, &error));
  g_assert_no_error (error);
  log = conn_log_attach (td->server);
  g_async_queue_push (td->ready, GINT_TO_POINTER (1));

  g_assert_true (wait_count (log, 1, 10000));
  td->handler_thread = log->thread;
  td->handler_context = log->context;
  socket = ls_local_server_next_pending_connection (td->server);
  g_assert_nonnull (socket);

  g_assert_nonnull (g_async_queue_timeout_pop (td->sent, 10 * G_USEC_PER_SEC));
  td->received = socket_read_n (socket, 4, 10000);
  socket_write_str (socket, "pong");
  g_assert_true (run_until (nothing_to_write, socket, 10000));

  g_object_unref (socket);
  g_signal_handlers_disconnect_by_data (td->server, log);
  ls_local_server_close (td->server);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
test_thread (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
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
  raw_send (fd, "ping");
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
  g_assert_false (path_exists (td.path));

  close (fd);
  g_object_unref (td.server);
  g_async_queue_unref (td.ready);
  g_async_queue_unref (td.sent);
  g_free (td.received);
  g_free (td.path);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Programmer errors                                                         */
/* ------------------------------------------------------------------------ */

#define EXPECT_CRITICAL() \
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*assertion*failed*")

static void
test_null_self (void)
{
  gboolean timed_out = FALSE;

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen (NULL, "x", NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen_socket_descriptor (NULL, 0, NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_close (NULL);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_is_listening (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_has_pending_connections (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_null (ls_local_server_next_pending_connection (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_wait_for_new_connection (NULL, 0, &timed_out, NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_set_max_pending_connections (NULL, 3);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_server_get_socket_descriptor (NULL), ==, -1);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_get_server_name (NULL);
  g_test_assert_expected_messages ();
  {
    LsLocalServer *server = ls_local_server_new ();

    EXPECT_CRITICAL ();
    ls_local_server_add_pending_connection (server, NULL);
    g_test_assert_expected_messages ();
    g_assert_false (ls_local_server_has_pending_connections (server));
    g_object_unref (server);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/server/defaults", test_defaults);
  g_test_add_func ("/ls/server/notify", test_notify);
  g_test_add_func ("/ls/server/listen/relative", test_listen_relative);
  g_test_add_func ("/ls/server/listen/absolute", test_listen_absolute);
  g_test_add_func ("/ls/server/listen/abstract", test_listen_abstract);
  g_test_add_func ("/ls/server/listen/backlog", test_listen_backlog);
  g_test_add_func ("/ls/server/new-connection/exchange", test_new_connection_exchange);
  g_test_add_func ("/ls/server/new-connection/fifo", test_new_connection_fifo);
  g_test_add_data_func ("/ls/server/max-pending/1", GUINT_TO_POINTER (1), test_max_pending);
  g_test_add_data_func ("/ls/server/max-pending/3", GUINT_TO_POINTER (3), test_max_pending);
  g_test_add_func ("/ls/server/max-pending/0", test_max_pending_zero);
  g_test_add_func ("/ls/server/wait/timeout", test_wait_timeout);
  g_test_add_func ("/ls/server/wait/success", test_wait_success);
  g_test_add_func ("/ls/server/wait/beyond-max", test_wait_beyond_max);
  g_test_add_func ("/ls/server/wait/not-listening", test_wait_not_listening);
  g_test_add_func ("/ls/server/options/modes", test_options_modes);
  g_test_add_func ("/ls/server/options/address-in-use", test_address_in_use);
  g_test_add_func ("/ls/server/name/too-long", test_name_too_long);
  g_test_add_func ("/ls/server/name/invalid", test_name_invalid);
  g_test_add_func ("/ls/server/name/unwritable-dir", test_name_unwritable_dir);
  g_test_add_func ("/ls/server/listen/twice", test_listen_twice);
  g_test_add_func ("/ls/server/close/recycle", test_close_recycle);
  {
    static const NotOursCase not_ours[] = {
      { FALSE, FALSE }, { TRUE, FALSE }, { FALSE, TRUE }, { TRUE, TRUE },
    };
    g_test_add_data_func ("/ls/server/close/not-ours/unlink", &not_ours[0], test_close_not_ours);
    g_test_add_data_func ("/ls/server/close/not-ours/rename", &not_ours[1], test_close_not_ours);
    g_test_add_data_func ("/ls/server/close/not-ours/unlink-dispose", &not_ours[2], test_close_not_ours);
    g_test_add_data_func ("/ls/server/close/not-ours/rename-dispose", &not_ours[3], test_close_not_ours);
  }
  g_test_add_func ("/ls/server/close/pending", test_close_pending);
  g_test_add_func ("/ls/server/close/dispose-pending", test_dispose_pending);
  g_test_add_func ("/ls/server/listen-fd/path", test_listen_fd_path);
  g_test_add_func ("/ls/server/listen-fd/abstract", test_listen_fd_abstract);
  g_test_add_func ("/ls/server/listen-fd/invalid", test_listen_fd_invalid);
  g_test_add_func ("/ls/server/remove-server", test_remove_server);
  g_test_add_func ("/ls/server/accept/resource-exhaustion", test_accept_resource_exhaustion);
  g_test_add_func ("/ls/server/reentrancy/unref-in-handler", test_unref_in_handler);
  g_test_add_func ("/ls/server/reentrancy/close-in-handler", test_close_in_handler);
  g_test_add_func ("/ls/server/subclass", test_subclass);
  g_test_add_func ("/ls/server/thread", test_thread);
  g_test_add_func ("/ls/server/null-self", test_null_self);

  return g_test_run ();
}
