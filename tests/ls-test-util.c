/* ls-test-util.c: helpers shared by the C test programs */
#include "ls-test-util.h"

#include <errno.h>
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

/* Iterates until @done says so, or @timeout_ms passes. */
static gboolean
run_until_cond (gboolean (*done) (gpointer), gpointer data, int timeout_ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean result;

  while (!(result = done (data)) && g_get_monotonic_time () < deadline)
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

  return run_until_cond (log_has, &l, timeout_ms);
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
  return run_until_cond (has_pending, server, timeout_ms);
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
  g_assert_true (run_until_cond (has_arrived, &a, 20000));
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

int
ls_test_raw_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}
