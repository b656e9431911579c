/* ls-bench-lateness: how late a 10 ms timer runs next to 1,000 busy clients
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For each server (all in this process, each echoing every byte), one run:
 * a fresh GMainContext is pushed as the thread default, the server listens
 * on it, a periodic 10 ms timer source is attached to the SAME context, and
 * `ls-bench-loadgen fanin` (found next to this program) is started as a
 * child process against the server. The context is iterated until the load
 * generator exits. Each time the timer is dispatched its lateness is
 * recorded: monotonic time at dispatch minus the ready time it was armed
 * for; it is then re-armed for now + interval (fixed delay, as
 * g_timeout_add() reschedules). The samples cover the whole life of the
 * load generator: connecting its clients, then the fan-in round trips.
 *
 * Servers:
 *   ls           LsLocalServer + LsLocalSocket, as bench/echo-ls.c
 *                (ready-read -> read_all -> write_bytes)
 *   gio-sources  one plain GLib source per connection: non-blocking GSocket,
 *                g_socket_create_source(), g_socket_receive/g_socket_send
 *   loop         raw epoll fd in one GSource that re-polls up to 32 rounds
 *                with no time budget, as bench/echo-epoll.c -DECHO_GLIB_LOOP
 *
 * This is a measurement program, not a test: nothing passes or fails on
 * timing. It fails only if the load generator fails (which, with --verify,
 * includes any wrong echoed byte) or does not report every round trip.
 *
 * Usage: ls-bench-lateness [--conns N] [--total N] [--size B]
 *                          [--servers ls,gio-sources,loop] [--interval-ms MS]
 *                          [--verify] [--json] [--loadgen PATH]
 */
#include <ls/ls.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-process.h"

#define BUF_SIZE 65536

static GMainContext *ctx;  /* the context of the current run */

/* ------------------------------------------------------------------ timer */

typedef struct
{
  GSource  source;
  gint64   interval_us;
  gboolean recording;
  GArray  *lateness_us;  /* gint64 */
} TimerSource;

static gboolean
timer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  TimerSource *t = (TimerSource *) source;
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - g_source_get_ready_time (source);

  if (t->recording)
    g_array_append_val (t->lateness_us, late);
  g_source_set_ready_time (source, now + t->interval_us);
  return G_SOURCE_CONTINUE;
}

static void
timer_finalize (GSource *source)
{
  g_array_unref (((TimerSource *) source)->lateness_us);
}

static GSourceFuncs timer_funcs = {
  .dispatch = timer_dispatch,
  .finalize = timer_finalize,
};

/* ------------------------------------------------------------- server: ls */

static GHashTable    *ls_sockets;  /* set of LsLocalSocket, one ref each */
static LsLocalServer *ls_server;

static void
ls_on_ready_read (LsLocalSocket *socket,
                  gpointer       user_data)
{
  g_autoptr(GBytes) data = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, data);
}

static void
ls_on_disconnected (LsLocalSocket *socket,
                    gpointer       user_data)
{
  if (g_hash_table_remove (ls_sockets, socket))
    g_object_unref (socket);
}

static void
ls_on_new_connection (LsLocalServer *server,
                      gpointer       user_data)
{
  LsLocalSocket *socket = ls_local_server_next_pending_connection (server);

  if (socket == NULL)
    return;
  g_hash_table_add (ls_sockets, socket);
  g_signal_connect (socket, "ready-read", G_CALLBACK (ls_on_ready_read), NULL);
  g_signal_connect (socket, "disconnected", G_CALLBACK (ls_on_disconnected), NULL);
}

static gboolean
ls_start (const char *path, GError **error)
{
  ls_sockets = g_hash_table_new (NULL, NULL);
  ls_server = ls_local_server_new ();
  g_signal_connect (ls_server, "new-connection", G_CALLBACK (ls_on_new_connection), NULL);
  return ls_local_server_listen (ls_server, path, error);
}

static guint
ls_live (void)
{
  return g_hash_table_size (ls_sockets);
}

static void
ls_stop (void)
{
  GHashTableIter iter;
  gpointer socket;

  g_hash_table_iter_init (&iter, ls_sockets);
  while (g_hash_table_iter_next (&iter, &socket, NULL))
    {
      g_signal_handlers_disconnect_by_data (socket, NULL);
      g_hash_table_iter_steal (&iter);
      ls_local_socket_abort (socket);
      g_object_unref (socket);
    }
  g_clear_pointer (&ls_sockets, g_hash_table_unref);
  ls_local_server_close (ls_server);
  g_clear_object (&ls_server);
}

/* ---------------------------------------------------- server: gio-sources */

typedef struct
{
  GSocket    *socket;
  GSource    *source;
  GByteArray *pending;  /* not yet sent; non-NULL while waiting for G_IO_OUT */
} GioConn;

static GSocket    *gio_listener;
static GSource    *gio_listen_source;
static GHashTable *gio_conns;  /* set of GioConn */

static gboolean gio_on_conn_io (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
gio_watch (GioConn *c, GIOCondition condition)
{
  if (c->source != NULL)
    {
      g_source_destroy (c->source);
      g_source_unref (c->source);
    }
  c->source = g_socket_create_source (c->socket, condition, NULL);
  g_source_set_callback (c->source, G_SOURCE_FUNC (gio_on_conn_io), c, NULL);
  g_source_attach (c->source, ctx);
}

static void
gio_conn_free (GioConn *c)
{
  if (c->source != NULL)
    {
      g_source_destroy (c->source);
      g_source_unref (c->source);
    }
  g_socket_close (c->socket, NULL);
  g_object_unref (c->socket);
  if (c->pending != NULL)
    g_byte_array_unref (c->pending);
  g_free (c);
}

static void
gio_drop (GioConn *c)
{
  g_hash_table_remove (gio_conns, c);
  gio_conn_free (c);
}

/* Sends what it can; keeps the rest in c->pending. FALSE on error. */
static gboolean
gio_send (GioConn *c, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (c->socket, (const gchar *) data, len, NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  if (len > 0)
    {
      if (c->pending == NULL)
        c->pending = g_byte_array_new ();
      g_byte_array_append (c->pending, data, (guint) len);
    }
  return TRUE;
}

static gboolean
gio_on_conn_io (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  static guint8 buf[BUF_SIZE];
  GioConn *c = user_data;

  if (c->pending != NULL)
    {
      GByteArray *p = c->pending;

      c->pending = NULL;
      if (!gio_send (c, p->data, p->len))
        {
          g_byte_array_unref (p);
          gio_drop (c);
          return G_SOURCE_REMOVE;
        }
      g_byte_array_unref (p);
      if (c->pending == NULL)
        gio_watch (c, G_IO_IN);  /* destroys this source */
      return G_SOURCE_CONTINUE;
    }
  else
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (gchar *) buf, sizeof buf, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n <= 0 || !gio_send (c, buf, (gsize) n))
        {
          gio_drop (c);  /* EOF or error */
          return G_SOURCE_REMOVE;
        }
      if (c->pending != NULL)
        gio_watch (c, G_IO_OUT);
      return G_SOURCE_CONTINUE;
    }
}

static gboolean
gio_on_incoming (GSocket      *listener,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      GSocket *socket = g_socket_accept (listener, NULL, &error);
      GioConn *c;

      if (socket == NULL)
        break;  /* would block, or out of descriptors: retried next time */
      g_socket_set_blocking (socket, FALSE);
      c = g_new0 (GioConn, 1);
      c->socket = socket;
      g_hash_table_add (gio_conns, c);
      gio_watch (c, G_IO_IN);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
gio_start (const char *path, GError **error)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  gio_conns = g_hash_table_new (NULL, NULL);
  gio_listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                               G_SOCKET_PROTOCOL_DEFAULT, error);
  if (gio_listener == NULL)
    return FALSE;
  g_socket_set_blocking (gio_listener, FALSE);
  g_socket_set_listen_backlog (gio_listener, SOMAXCONN);
  if (!g_socket_bind (gio_listener, address, TRUE, error) ||
      !g_socket_listen (gio_listener, error))
    return FALSE;
  gio_listen_source = g_socket_create_source (gio_listener, G_IO_IN, NULL);
  g_source_set_callback (gio_listen_source, G_SOURCE_FUNC (gio_on_incoming), NULL, NULL);
  g_source_attach (gio_listen_source, ctx);
  return TRUE;
}

static guint
gio_live (void)
{
  return g_hash_table_size (gio_conns);
}

static void
gio_stop (void)
{
  GHashTableIter iter;
  gpointer c;

  g_hash_table_iter_init (&iter, gio_conns);
  while (g_hash_table_iter_next (&iter, &c, NULL))
    {
      g_hash_table_iter_steal (&iter);
      gio_conn_free (c);
    }
  g_clear_pointer (&gio_conns, g_hash_table_unref);
  if (gio_listen_source != NULL)
    {
      g_source_destroy (gio_listen_source);
      g_clear_pointer (&gio_listen_source, g_source_unref);
    }
  if (gio_listener != NULL)
    {
      g_socket_close (gio_listener, NULL);
      g_clear_object (&gio_listener);
    }
}

/* ----------------------------------------------------------- server: loop */

/* Raw epoll driven by one GSource, as echo-epoll.c -DECHO_GLIB_LOOP: the
 * context polls the epoll fd, the dispatch takes events with epoll_wait(0)
 * and re-polls while that finds work, at most 32 rounds, with no time
 * budget. */
#define LOOP_MAX_EVENTS 256
#define LOOP_MAX_ROUNDS 32

typedef struct
{
  size_t off, len;
  char   data[];
} LoopPending;

static int           loop_ep = -1, loop_lfd = -1;
static size_t        loop_cap;
static gboolean     *loop_open;     /* indexed by fd */
static LoopPending **loop_pending;  /* indexed by fd */
static guint         loop_nconns;
static GSource      *loop_source;

static void
loop_want (int fd, unsigned events)
{
  struct epoll_event ev = { .events = events, .data.fd = fd };

  epoll_ctl (loop_ep, EPOLL_CTL_MOD, fd, &ev);
}

static void
loop_drop (int fd)
{
  epoll_ctl (loop_ep, EPOLL_CTL_DEL, fd, NULL);
  close (fd);
  g_clear_pointer (&loop_pending[fd], free);
  loop_open[fd] = FALSE;
  loop_nconns--;
}

static int
loop_send_or_queue (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN)
            return -1;
          break;
        }
      data += n;
      len -= (size_t) n;
    }
  if (len > 0)
    {
      LoopPending *p = malloc (sizeof *p + len);

      p->off = 0;
      p->len = len;
      memcpy (p->data, data, len);
      loop_pending[fd] = p;
      loop_want (fd, EPOLLOUT);
    }
  return 0;
}

static void
loop_on_readable (int fd)
{
  static char buf[BUF_SIZE];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        loop_drop (fd);
      return;
    }
  if (n == 0 || loop_send_or_queue (fd, buf, (size_t) n) < 0)
    loop_drop (fd);
}

static void
loop_on_writable (int fd)
{
  LoopPending *p = loop_pending[fd];

  while (p->off < p->len)
    {
      ssize_t n = send (fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            return;
          loop_drop (fd);
          return;
        }
      p->off += (size_t) n;
    }
  g_clear_pointer (&loop_pending[fd], free);
  loop_want (fd, EPOLLIN);
}

static void
loop_handle_events (const struct epoll_event *events, int n)
{
  for (int i = 0; i < n; i++)
    {
      int fd = events[i].data.fd;

      if (fd == loop_lfd)
        {
          for (;;)
            {
              int cfd = accept4 (loop_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
              struct epoll_event ev = { .events = EPOLLIN };

              if (cfd < 0)
                break;  /* EAGAIN, or out of fds: retried next round */
              if ((size_t) cfd >= loop_cap)
                {
                  close (cfd);
                  continue;
                }
              ev.data.fd = cfd;
              epoll_ctl (loop_ep, EPOLL_CTL_ADD, cfd, &ev);
              loop_open[cfd] = TRUE;
              loop_nconns++;
            }
        }
      else if (!loop_open[fd])
        continue;  /* dropped earlier in this batch */
      else if (loop_pending[fd] != NULL)
        {
          if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            loop_on_writable (fd);
        }
      else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        loop_on_readable (fd);
    }
}

static gboolean
loop_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  struct epoll_event events[LOOP_MAX_EVENTS];

  for (int round = 0; round < LOOP_MAX_ROUNDS; round++)
    {
      int n = epoll_wait (loop_ep, events, LOOP_MAX_EVENTS, 0);

      if (n <= 0)
        break;
      loop_handle_events (events, n);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs loop_funcs = { .dispatch = loop_dispatch };

static gboolean
loop_start (const char *path, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct epoll_event ev = { .events = EPOLLIN };
  struct rlimit rl;

  loop_cap = 65536;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (1u << 20))
    loop_cap = rl.rlim_cur;
  loop_open = g_new0 (gboolean, loop_cap);
  loop_pending = g_new0 (LoopPending *, loop_cap);
  loop_nconns = 0;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "path too long: %s", path);
      return FALSE;
    }
  strcpy (addr.sun_path, path);
  unlink (path);
  loop_ep = epoll_create1 (EPOLL_CLOEXEC);
  loop_lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (loop_ep < 0 || loop_lfd < 0 ||
      bind (loop_lfd, (struct sockaddr *) &addr, sizeof addr) != 0 ||
      listen (loop_lfd, SOMAXCONN) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "loop server on %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  ev.data.fd = loop_lfd;
  epoll_ctl (loop_ep, EPOLL_CTL_ADD, loop_lfd, &ev);

  loop_source = g_source_new (&loop_funcs, sizeof (GSource));
  g_source_add_unix_fd (loop_source, loop_ep, G_IO_IN);
  g_source_attach (loop_source, ctx);
  return TRUE;
}

static guint
loop_live (void)
{
  return loop_nconns;
}

static void
loop_stop (void)
{
  if (loop_source != NULL)
    {
      g_source_destroy (loop_source);
      g_clear_pointer (&loop_source, g_source_unref);
    }
  for (size_t fd = 0; fd < loop_cap; fd++)
    if (loop_open[fd])
      loop_drop ((int) fd);
  if (loop_lfd >= 0)
    close (loop_lfd);
  if (loop_ep >= 0)
    close (loop_ep);
  loop_lfd = loop_ep = -1;
  g_clear_pointer (&loop_open, g_free);
  g_clear_pointer (&loop_pending, g_free);
}

/* ------------------------------------------------------------------- runs */

typedef struct
{
  const char *name;
  const char *description;
  gboolean  (*start) (const char *path, GError **error);
  guint     (*live) (void);
  void      (*stop) (void);
} Server;

static const Server servers[] = {
  { "ls", "LsLocalServer + LsLocalSocket (ready-read -> read_all -> write_bytes)",
    ls_start, ls_live, ls_stop },
  { "gio-sources", "one plain GLib source per connection (GSocket + g_socket_create_source)",
    gio_start, gio_live, gio_stop },
  { "loop", "raw epoll in one GSource, re-polling up to 32 rounds, no time budget",
    loop_start, loop_live, loop_stop },
};

typedef struct
{
  const Server *server;
  guint         ticks;
  double        max_ms, p99_ms, median_ms;
  double        rt_per_s, seconds;
  long          round_trips;
  char         *loadgen_json;
} Result;

static int      opt_conns = 1000;
static long     opt_total = 400000;
static int      opt_size = 64;
static int      opt_interval_ms = 10;
static gboolean opt_verify;
static gboolean opt_json;
static char    *opt_servers;
static char    *opt_loadgen;

static gboolean child_exited;
static int      child_status;

static void
on_child_exit (GPid pid, gint status, gpointer user_data)
{
  child_status = status;
  child_exited = TRUE;
  g_spawn_close_pid (pid);
}

static int
cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v. */
static gint64
percentile (const gint64 *v, guint n, double p)
{
  guint rank = (guint) ((p / 100.0) * n + 0.999999);

  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return v[rank - 1];
}

static char *
read_fd_all (int fd)
{
  GString *s = g_string_new (NULL);
  char buf[4096];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) != 0)
    {
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      g_string_append_len (s, buf, n);
    }
  return g_string_free (s, FALSE);
}

static double
json_number (const char *json, const char *key)
{
  g_autofree char *pattern = g_strdup_printf ("\"%s\":", key);
  const char *p = strstr (json, pattern);

  return p != NULL ? g_ascii_strtod (p + strlen (pattern), NULL) : -1;
}

static gboolean
run_one (const Server *server, const char *dir, Result *r, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "echo.sock", NULL);
  g_autofree char *conns = g_strdup_printf ("%d", opt_conns);
  g_autofree char *total = g_strdup_printf ("%ld", opt_total);
  g_autofree char *size = g_strdup_printf ("%d", opt_size);
  const char *argv[] = { opt_loadgen, "fanin", "--socket", path, "--conns", conns,
                         "--total", total, "--size", size,
                         opt_verify ? "--verify" : NULL, NULL };
  TimerSource *timer;
  GSource *child_watch;
  GPid pid;
  int out_fd = -1;
  gboolean ok = FALSE;
  gint64 drain_deadline;
  long expected = opt_total < opt_conns ? opt_conns : opt_total - opt_total % opt_conns;

  memset (r, 0, sizeof *r);
  r->server = server;
  ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);

  if (!server->start (path, error))
    {
      server->stop ();
      goto out;
    }

  timer = (TimerSource *) g_source_new (&timer_funcs, sizeof (TimerSource));
  timer->interval_us = (gint64) opt_interval_ms * 1000;
  timer->lateness_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_source_set_priority (&timer->source, G_PRIORITY_DEFAULT);  /* as g_timeout_add */
  g_source_set_name (&timer->source, "lateness timer");

  child_exited = FALSE;
  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &pid, NULL, &out_fd, NULL, error))
    {
      g_source_unref (&timer->source);
      server->stop ();
      goto out;
    }
  child_watch = g_child_watch_source_new (pid);
  g_source_set_callback (child_watch, G_SOURCE_FUNC (on_child_exit), NULL, NULL);
  g_source_attach (child_watch, ctx);

  timer->recording = TRUE;
  g_source_set_ready_time (&timer->source, g_get_monotonic_time () + timer->interval_us);
  g_source_attach (&timer->source, ctx);

  while (!child_exited)
    g_main_context_iteration (ctx, TRUE);
  timer->recording = FALSE;
  g_source_destroy (child_watch);
  g_source_unref (child_watch);

  /* Let the server see its clients go, then tear it down. */
  drain_deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (server->live () > 0 && g_get_monotonic_time () < drain_deadline)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (&timer->source);
  server->stop ();
  while (g_main_context_iteration (ctx, FALSE))
    ;

  r->loadgen_json = g_strstrip (read_fd_all (out_fd));
  close (out_fd);

  {
    GArray *v = timer->lateness_us;

    g_array_sort (v, cmp_gint64);
    r->ticks = v->len;
    if (v->len > 0)
      {
        const gint64 *d = (const gint64 *) (gpointer) v->data;

        r->max_ms = d[v->len - 1] / 1000.0;
        r->p99_ms = percentile (d, v->len, 99) / 1000.0;
        r->median_ms = percentile (d, v->len, 50) / 1000.0;
      }
  }
  g_source_unref (&timer->source);

  if (!g_spawn_check_wait_status (child_status, NULL) || r->loadgen_json[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: the load generator failed (wait status %d)", server->name, child_status);
      goto out;
    }
  r->rt_per_s = json_number (r->loadgen_json, "value");
  r->seconds = json_number (r->loadgen_json, "seconds");
  r->round_trips = (long) json_number (r->loadgen_json, "round_trips");
  if (r->round_trips != expected)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: %ld round trips reported, %ld expected", server->name,
                   r->round_trips, expected);
      goto out;
    }
  ok = TRUE;

out:
  g_unlink (path);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  ctx = NULL;
  return ok;
}

static const Server *
find_server (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (servers); i++)
    if (strcmp (servers[i].name, name) == 0)
      return &servers[i];
  return NULL;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "conns", 0, 0, G_OPTION_ARG_INT, &opt_conns, "Concurrent client connections (1000)", "N" },
    { "total", 0, 0, G_OPTION_ARG_INT64, &opt_total, "Total round trips per server (400000)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &opt_size, "Message size in bytes (64)", "B" },
    { "interval-ms", 0, 0, G_OPTION_ARG_INT, &opt_interval_ms, "Timer interval (10)", "MS" },
    { "servers", 0, 0, G_OPTION_ARG_STRING, &opt_servers,
      "Comma-separated: ls,gio-sources,loop (all)", "LIST" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify,
      "Have the load generator check every echoed byte", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print one JSON line per server", NULL },
    { "loadgen", 0, 0, G_OPTION_ARG_FILENAME, &opt_loadgen,
      "ls-bench-loadgen to run (default: next to this program)", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new ("- lateness of a 10 ms timer next to busy clients");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GArray) results = g_array_new (FALSE, TRUE, sizeof (Result));
  int status = 0;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      fprintf (stderr, "ls-bench-lateness: %s\n", error->message);
      return 2;
    }
  if (opt_conns <= 0 || opt_total <= 0 || opt_size <= 0 || opt_interval_ms <= 0)
    {
      fprintf (stderr, "ls-bench-lateness: --conns, --total, --size, --interval-ms must be > 0\n");
      return 2;
    }
  names = g_strsplit (opt_servers != NULL ? opt_servers : "ls,gio-sources,loop", ",", -1);
  for (char **n = names; *n != NULL; n++)
    if (find_server (*n) == NULL)
      {
        fprintf (stderr, "ls-bench-lateness: unknown server '%s' (ls, gio-sources, loop)\n", *n);
        return 2;
      }
  if (opt_loadgen == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *bindir = self != NULL ? g_path_get_dirname (self) : g_strdup (".");

      opt_loadgen = g_build_filename (bindir, "ls-bench-loadgen", NULL);
    }
  if (!g_file_test (opt_loadgen, G_FILE_TEST_IS_EXECUTABLE))
    {
      fprintf (stderr, "ls-bench-lateness: no load generator at %s (use --loadgen)\n", opt_loadgen);
      return 2;
    }

  /* 1,000 server-side connections here, 1,000 client ones in the child,
   * which inherits the raised limit. */
  bench_process_setup ();

  dir = g_dir_make_tmp ("ls-lateness-XXXXXX", &error);
  if (dir == NULL)
    {
      fprintf (stderr, "ls-bench-lateness: %s\n", error->message);
      return 1;
    }

  for (char **n = names; *n != NULL; n++)
    {
      Result r;

      fprintf (stderr, "ls-bench-lateness: %s: %d connections, %ld round trips of %d B...\n",
               *n, opt_conns, opt_total, opt_size);
      if (!run_one (find_server (*n), dir, &r, &error))
        {
          fprintf (stderr, "ls-bench-lateness: %s\n", error->message);
          g_clear_error (&error);
          g_free (r.loadgen_json);
          status = 1;
          continue;
        }
      g_array_append_val (results, r);
    }
  g_rmdir (dir);

  if (opt_json)
    {
      for (guint i = 0; i < results->len; i++)
        {
          Result *r = &g_array_index (results, Result, i);

          printf ("{\"server\":\"%s\",\"interval_ms\":%d,\"connections\":%d,\"ticks\":%u,"
                  "\"max_ms\":%.3f,\"p99_ms\":%.3f,\"median_ms\":%.3f,\"loadgen\":%s}\n",
                  r->server->name, opt_interval_ms, opt_conns, r->ticks,
                  r->max_ms, r->p99_ms, r->median_ms, r->loadgen_json);
        }
    }
  else
    {
      printf ("%d ms timer on the server's main context; %d connections, "
              "%ld round trips of %d B (ls-bench-loadgen fanin)\n\n",
              opt_interval_ms, opt_conns, opt_total, opt_size);
      printf ("| server      | ticks | max late (ms) | p99 (ms) | median (ms) | loadgen rt/s | loadgen s |\n");
      printf ("|-------------|------:|--------------:|---------:|------------:|-------------:|----------:|\n");
      for (guint i = 0; i < results->len; i++)
        {
          Result *r = &g_array_index (results, Result, i);

          printf ("| %-11s | %5u | %13.2f | %8.2f | %11.2f | %12.0f | %9.3f |\n",
                  r->server->name, r->ticks, r->max_ms, r->p99_ms, r->median_ms,
                  r->rt_per_s, r->seconds);
        }
    }
  for (guint i = 0; i < results->len; i++)
    g_free (g_array_index (results, Result, i).loadgen_json);
  return status;
}
