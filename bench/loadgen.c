/* ls-bench-loadgen: load generator for the echo servers in bench/
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain sockets, pthreads and epoll; no GLib, so the client costs the same
 * against every server. Each run measures one thing against one server and
 * prints one line of JSON on stdout:
 *
 *   {"test":"pingpong","value":123456.7,"unit":"rt/s", ...}
 *
 * Usage: ls-bench-loadgen TEST --socket PATH [options]
 *
 *   connrate  connect, 1-byte echo, close, in a loop (--threads, --duration)
 *   pingpong  SIZE-byte round trips on one connection (--size, --duration,
 *             --idle N opens N idle connections first; with --server-pid
 *             also the growth of the server's VmRSS per idle connection)
 *   bulk      --total-mib MiB in --chunk-byte writes, echo read back
 *             concurrently by another thread
 *   rss       opens --conns connections (each echoes 1 byte once) and reports
 *             the growth of the server's VmRSS (--server-pid) per connection
 *   fanin     --total round trips of --size bytes, split over --conns
 *             concurrent connections, driven by one epoll loop (--idle N
 *             opens N quiet connections first)
 *
 * --verify checks every echoed byte (bulk always checks the length; the
 * round-trip tests always compare the message).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *opt_socket;
static int         opt_threads = 4;
static double      opt_duration = 3.0;
static double      opt_warmup = 0.2;
static size_t      opt_size = 64;
static int         opt_idle;
static long        opt_total_mib = 512;
static size_t      opt_chunk = 65536;
static int         opt_conns = 5000;
static long        opt_total = 200000;
static long        opt_server_pid;
static int         opt_verify;
static double      opt_settle = 0.5;

static struct sockaddr_un server_addr;
static socklen_t          server_addr_len;

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

static void
die (const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "ls-bench-loadgen: ");
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (2);
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
nofile_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  return (long) rl.rlim_cur;
}

/* Makes room for @needed descriptors, or dies saying why not. The soft
 * limit goes up to the hard one; past that, the hard limit too if we may
 * (root, or CAP_SYS_RESOURCE), which the kernel caps at fs.nr_open. One
 * process then holds every idle connection (100,000 and more). */
static void
ensure_nofile (long needed)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || (long) rl.rlim_cur >= needed)
    return;
  if ((long) rl.rlim_max < needed)
    rl.rlim_max = (rlim_t) needed;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
    {
      getrlimit (RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  if (nofile_limit () < needed)
    die ("RLIMIT_NOFILE is %ld, %ld descriptors are needed (raise the hard limit, "
         "e.g. ulimit -Hn, as root; the kernel caps it at /proc/sys/fs/nr_open)",
         nofile_limit (), needed);
}

/* A blocking connection to the server. On AF_UNIX a blocking connect() waits
 * while the listen backlog is full, so this never fails just because the
 * server is slow to accept. */
static int
connect_server (void)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    die ("socket: %s", strerror (errno));
  while (connect (fd, (struct sockaddr *) &server_addr, server_addr_len) != 0)
    {
      if (errno == EINTR)
        continue;
      die ("connect %s: %s", opt_socket, strerror (errno));
    }
  return fd;
}

static void
write_all (int fd, const void *data, size_t size)
{
  const char *p = data;

  while (size > 0)
    {
      ssize_t n = send (fd, p, size, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          die ("write: %s", strerror (errno));
        }
      p += n;
      size -= (size_t) n;
    }
}

static void
read_exact (int fd, void *data, size_t size)
{
  char *p = data;

  while (size > 0)
    {
      ssize_t n = read (fd, p, size);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          die ("read: %s", strerror (errno));
        }
      if (n == 0)
        die ("read: the server closed the connection early");
      p += n;
      size -= (size_t) n;
    }
}

static void
set_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

/* Opens @n connections and has each echo one byte, so the server has
 * accepted and set up every one of them when this returns. */
static int *
open_idle (int n)
{
  int *fds = calloc ((size_t) (n > 0 ? n : 1), sizeof *fds);
  char c = 'i';

  for (int i = 0; i < n; i++)
    fds[i] = connect_server ();
  for (int i = 0; i < n; i++)
    write_all (fds[i], &c, 1);
  for (int i = 0; i < n; i++)
    {
      char r;

      read_exact (fds[i], &r, 1);
      if (r != c)
        die ("idle connection %d: wrong echo", i);
    }
  return fds;
}

static void
close_all (int *fds, int n)
{
  for (int i = 0; i < n; i++)
    close (fds[i]);
  free (fds);
}

/* ------------------------------------------------------------------ connrate */

typedef struct
{
  double stop_at;
  long   count;
} ConnrateThread;

static void *
connrate_thread (void *data)
{
  ConnrateThread *t = data;
  long count = 0;

  for (;;)
    {
      int fd;
      char c = 'c', r;

      /* Check the clock every few connections only. */
      if ((count & 15) == 0 && now () >= t->stop_at)
        break;
      fd = connect_server ();
      write_all (fd, &c, 1);
      read_exact (fd, &r, 1);
      if (r != c)
        die ("connrate: wrong echo");
      close (fd);
      count++;
    }
  t->count = count;
  return NULL;
}

static void
run_connrate (void)
{
  ConnrateThread *threads = calloc ((size_t) opt_threads, sizeof *threads);
  pthread_t *tids = calloc ((size_t) opt_threads, sizeof *tids);
  double start, elapsed;
  long total = 0;

  /* Warm-up: a few connections so lazy initialisation is not measured. */
  for (int i = 0; i < 10; i++)
    {
      int fd = connect_server ();
      char c = 'w', r;

      write_all (fd, &c, 1);
      read_exact (fd, &r, 1);
      close (fd);
    }

  start = now ();
  for (int i = 0; i < opt_threads; i++)
    {
      threads[i].stop_at = start + opt_duration;
      pthread_create (&tids[i], NULL, connrate_thread, &threads[i]);
    }
  for (int i = 0; i < opt_threads; i++)
    {
      pthread_join (tids[i], NULL);
      total += threads[i].count;
    }
  elapsed = now () - start;

  printf ("{\"test\":\"connrate\",\"value\":%.1f,\"unit\":\"conn/s\","
          "\"connections\":%ld,\"seconds\":%.3f,\"threads\":%d}\n",
          total / elapsed, total, elapsed, opt_threads);
  free (threads);
  free (tids);
}

/* ------------------------------------------------------------------ pingpong */

static long read_vmrss_kib (long pid);
static void sleep_seconds (double s);

static void
run_pingpong (void)
{
  char *msg = malloc (opt_size), *echo = malloc (opt_size);
  int *idle = NULL;
  int fd;
  long count = 0, rss_before = -1, rss_after = -1;
  double start, deadline, elapsed, idle_seconds = 0;

  for (size_t i = 0; i < opt_size; i++)
    msg[i] = (char) ('a' + i % 26);

  ensure_nofile ((long) opt_idle + 64);
  /* The measured connection first: with --server-pid its set-up is the
   * one-time cost (types, the event core) that the idle connections'
   * RSS must not include. */
  fd = connect_server ();
  write_all (fd, msg, opt_size);
  read_exact (fd, echo, opt_size);
  if (opt_idle > 0)
    {
      if (opt_server_pid > 0)
        {
          sleep_seconds (opt_settle);
          rss_before = read_vmrss_kib (opt_server_pid);
        }
      idle_seconds = now ();
      idle = open_idle (opt_idle);
      idle_seconds = now () - idle_seconds;
      if (opt_server_pid > 0)
        {
          sleep_seconds (opt_settle);
          rss_after = read_vmrss_kib (opt_server_pid);
        }
    }

  /* Warm-up. */
  deadline = now () + opt_warmup;
  while (now () < deadline)
    for (int i = 0; i < 100; i++)
      {
        write_all (fd, msg, opt_size);
        read_exact (fd, echo, opt_size);
      }

  start = now ();
  deadline = start + opt_duration;
  do
    {
      for (int i = 0; i < 256; i++)
        {
          msg[0] = (char) count;
          write_all (fd, msg, opt_size);
          read_exact (fd, echo, opt_size);
          if (memcmp (msg, echo, opt_size) != 0)
            die ("pingpong: wrong echo");
          count++;
        }
    }
  while (now () < deadline);
  elapsed = now () - start;

  printf ("{\"test\":\"pingpong\",\"value\":%.1f,\"unit\":\"rt/s\","
          "\"round_trips\":%ld,\"seconds\":%.3f,\"size\":%zu,\"idle\":%d,"
          "\"idle_setup_seconds\":%.3f",
          count / elapsed, count, elapsed, opt_size, opt_idle, idle_seconds);
  if (rss_before >= 0)
    printf (",\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"idle_rss_per_conn\":%.1f",
            rss_before, rss_after, (double) (rss_after - rss_before) * 1024.0 / opt_idle);
  printf ("}\n");
  close (fd);
  if (idle != NULL)
    close_all (idle, opt_idle);
  free (msg);
  free (echo);
}

/* ---------------------------------------------------------------------- bulk */

typedef struct
{
  int    fd;
  size_t total;
} BulkWriter;

static inline unsigned char
pattern_byte (size_t offset)
{
  return (unsigned char) (offset * 131 + (offset >> 12));
}

static void
fill_pattern (unsigned char *buf, size_t offset, size_t n)
{
  for (size_t i = 0; i < n; i++)
    buf[i] = pattern_byte (offset + i);
}

static void *
bulk_writer (void *data)
{
  BulkWriter *w = data;
  unsigned char *buf = malloc (opt_chunk);
  size_t sent = 0;

  fill_pattern (buf, 0, opt_chunk);
  while (sent < w->total)
    {
      size_t n = w->total - sent < opt_chunk ? w->total - sent : opt_chunk;

      /* With --verify every chunk carries its own offset's pattern. */
      if (opt_verify && sent > 0)
        fill_pattern (buf, sent, n);
      write_all (w->fd, buf, n);
      sent += n;
    }
  free (buf);
  return NULL;
}

static void
run_bulk (void)
{
  BulkWriter w;
  pthread_t tid;
  size_t total = (size_t) opt_total_mib << 20, received = 0;
  size_t bufsize = 256 * 1024;
  unsigned char *buf = malloc (bufsize);
  unsigned char *expect = malloc (bufsize);
  double start, elapsed;

  w.fd = connect_server ();
  w.total = total;

  start = now ();
  pthread_create (&tid, NULL, bulk_writer, &w);
  while (received < total)
    {
      ssize_t n = read (w.fd, buf, bufsize);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          die ("bulk read: %s", strerror (errno));
        }
      if (n == 0)
        die ("bulk: server closed after %zu of %zu bytes", received, total);
      if (opt_verify)
        {
          /* Without --verify only the first chunk's pattern repeats. */
          fill_pattern (expect, received, (size_t) n);
          if (memcmp (buf, expect, (size_t) n) != 0)
            die ("bulk: wrong echo near offset %zu", received);
        }
      received += (size_t) n;
    }
  elapsed = now () - start;
  pthread_join (tid, NULL);

  printf ("{\"test\":\"bulk\",\"value\":%.1f,\"unit\":\"MiB/s\","
          "\"bytes\":%zu,\"seconds\":%.3f,\"chunk\":%zu}\n",
          (double) total / (1 << 20) / elapsed, total, elapsed, opt_chunk);
  close (w.fd);
  free (buf);
  free (expect);
}

/* ----------------------------------------------------------------------- rss */

static long
read_vmrss_kib (long pid)
{
  char path[64], line[256];
  FILE *f;
  long kib = -1;

  snprintf (path, sizeof path, "/proc/%ld/status", pid);
  f = fopen (path, "r");
  if (f == NULL)
    die ("%s: %s", path, strerror (errno));
  while (fgets (line, sizeof line, f) != NULL)
    if (strncmp (line, "VmRSS:", 6) == 0)
      {
        kib = strtol (line + 6, NULL, 10);
        break;
      }
  fclose (f);
  if (kib < 0)
    die ("%s: no VmRSS", path);
  return kib;
}

static void
sleep_seconds (double s)
{
  struct timespec ts = { (time_t) s, (long) ((s - (time_t) s) * 1e9) };

  while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void
run_rss (void)
{
  int *warm, *fds;
  long before, after;
  double per_conn;

  if (opt_server_pid <= 0)
    die ("rss needs --server-pid");
  ensure_nofile ((long) opt_conns + 64);

  /* One connection first, so one-time set-up is not counted per connection. */
  warm = open_idle (1);
  sleep_seconds (opt_settle);
  before = read_vmrss_kib (opt_server_pid);

  fds = open_idle (opt_conns);
  sleep_seconds (opt_settle);
  after = read_vmrss_kib (opt_server_pid);

  per_conn = (double) (after - before) * 1024.0 / opt_conns;
  printf ("{\"test\":\"rss\",\"value\":%.1f,\"unit\":\"B/conn\","
          "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"connections\":%d}\n",
          per_conn, before, after, opt_conns);
  close_all (fds, opt_conns);
  close_all (warm, 1);
}

/* --------------------------------------------------------------------- fanin */

typedef struct
{
  int    fd;
  long   remaining;  /* round trips still to start */
  size_t got;        /* bytes of the current echo received */
} FaninConn;

static void
run_fanin (void)
{
  int n = opt_conns;
  int *idle = NULL;
  FaninConn *conns;
  char *msg = malloc (opt_size), *buf;
  size_t bufsize = opt_size > 65536 ? opt_size : 65536;
  int ep;
  long done = 0, total;
  int active = n;
  struct epoll_event *events;
  double start, elapsed;

  if (n <= 0)
    die ("fanin needs --conns > 0");
  ensure_nofile ((long) n + 64);
  if (opt_total < n)
    opt_total = n;
  total = opt_total - opt_total % n;  /* the same work for each connection */

  conns = calloc ((size_t) n, sizeof *conns);
  events = calloc ((size_t) n, sizeof *events);
  buf = malloc (bufsize);
  for (size_t i = 0; i < opt_size; i++)
    msg[i] = (char) ('A' + i % 26);

  /* --idle: connections that stay quiet the whole time, opened (and echoed
   * once, so the server has set them up) before the measured ones. */
  ensure_nofile ((long) n + opt_idle + 64);
  if (opt_idle > 0)
    idle = open_idle (opt_idle);

  ep = epoll_create1 (EPOLL_CLOEXEC);
  {
    int *fds = open_idle (n);  /* connected and accepted before the clock starts */

    for (int i = 0; i < n; i++)
      {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t) i };

        conns[i].fd = fds[i];
        conns[i].remaining = total / n;
        set_nonblocking (fds[i]);
        epoll_ctl (ep, EPOLL_CTL_ADD, fds[i], &ev);
      }
    free (fds);
  }

  start = now ();
  for (int i = 0; i < n; i++)
    {
      write_all (conns[i].fd, msg, opt_size);
      conns[i].remaining--;
    }

  while (active > 0)
    {
      int ready = epoll_wait (ep, events, n, 10000);

      if (ready < 0)
        {
          if (errno == EINTR)
            continue;
          die ("epoll_wait: %s", strerror (errno));
        }
      if (ready == 0)
        die ("fanin: no echo for 10 s (%ld of %ld round trips done)", done, total);
      for (int e = 0; e < ready; e++)
        {
          FaninConn *c = &conns[events[e].data.u32];
          ssize_t r = read (c->fd, buf, bufsize);

          if (r < 0)
            {
              if (errno == EAGAIN || errno == EINTR)
                continue;
              die ("fanin read: %s", strerror (errno));
            }
          if (r == 0)
            die ("fanin: server closed a connection");
          if (opt_verify)
            for (ssize_t k = 0; k < r; k++)
              if (buf[k] != msg[(c->got + (size_t) k) % opt_size])
                die ("fanin: wrong echo");
          c->got += (size_t) r;
          if (c->got > opt_size)
            die ("fanin: more echo than sent");
          if (c->got < opt_size)
            continue;
          c->got = 0;
          done++;
          if (c->remaining > 0)
            {
              /* 64 bytes always fit an empty socket buffer: never blocks. */
              write_all (c->fd, msg, opt_size);
              c->remaining--;
            }
          else
            {
              epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
              active--;
            }
        }
    }
  elapsed = now () - start;

  printf ("{\"test\":\"fanin\",\"value\":%.1f,\"unit\":\"rt/s\","
          "\"round_trips\":%ld,\"seconds\":%.3f,\"connections\":%d,\"size\":%zu,"
          "\"idle\":%d}\n",
          done / elapsed, done, elapsed, n, opt_size, opt_idle);
  if (idle != NULL)
    close_all (idle, opt_idle);
  for (int i = 0; i < n; i++)
    close (conns[i].fd);
  close (ep);
  free (conns);
  free (events);
  free (buf);
  free (msg);
}

/* ---------------------------------------------------------------------- main */

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: ls-bench-loadgen connrate|pingpong|bulk|rss|fanin --socket PATH [options]\n"
           "  --threads N       connrate client threads (4)\n"
           "  --duration S      seconds for connrate and pingpong (3)\n"
           "  --warmup S        pingpong warm-up seconds (0.2)\n"
           "  --size B          message size for pingpong and fanin (64)\n"
           "  --idle N          pingpong, fanin: idle connections opened first (0)\n"
           "  --total-mib M     bulk: MiB to send (512)\n"
           "  --chunk B         bulk: bytes per write (65536)\n"
           "  --conns N         rss / fanin: connections (5000)\n"
           "  --total N         fanin: total round trips (200000)\n"
           "  --server-pid PID  rss, pingpong --idle: the server whose VmRSS to read\n"
           "  --settle S        seconds to wait before reading VmRSS (0.5)\n"
           "  --verify          check every echoed byte\n");
}

int
main (int argc, char **argv)
{
  static const struct option options[] = {
    { "socket",     required_argument, NULL, 's' },
    { "threads",    required_argument, NULL, 't' },
    { "duration",   required_argument, NULL, 'd' },
    { "warmup",     required_argument, NULL, 'w' },
    { "size",       required_argument, NULL, 'z' },
    { "idle",       required_argument, NULL, 'i' },
    { "total-mib",  required_argument, NULL, 'm' },
    { "chunk",      required_argument, NULL, 'k' },
    { "conns",      required_argument, NULL, 'c' },
    { "total",      required_argument, NULL, 'n' },
    { "server-pid", required_argument, NULL, 'p' },
    { "settle",     required_argument, NULL, 'S' },
    { "verify",     no_argument,       NULL, 'v' },
    { "help",       no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *test;
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    switch (opt)
      {
      case 's': opt_socket = optarg; break;
      case 't': opt_threads = atoi (optarg); break;
      case 'd': opt_duration = atof (optarg); break;
      case 'w': opt_warmup = atof (optarg); break;
      case 'z': opt_size = (size_t) atol (optarg); break;
      case 'i': opt_idle = atoi (optarg); break;
      case 'm': opt_total_mib = atol (optarg); break;
      case 'k': opt_chunk = (size_t) atol (optarg); break;
      case 'c': opt_conns = atoi (optarg); break;
      case 'n': opt_total = atol (optarg); break;
      case 'p': opt_server_pid = atol (optarg); break;
      case 'S': opt_settle = atof (optarg); break;
      case 'v': opt_verify = 1; break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
      }
  if (optind != argc - 1 || opt_socket == NULL)
    {
      usage (stderr);
      return 2;
    }
  test = argv[optind];
  if (opt_size == 0 || opt_chunk == 0 || opt_threads <= 0)
    die ("sizes and thread counts must be positive");
  if (strlen (opt_socket) >= sizeof server_addr.sun_path)
    die ("socket path too long: %s", opt_socket);

  signal (SIGPIPE, SIG_IGN);
  server_addr.sun_family = AF_UNIX;
  strcpy (server_addr.sun_path, opt_socket);
  server_addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + strlen (opt_socket) + 1);

  if (strcmp (test, "connrate") == 0)
    run_connrate ();
  else if (strcmp (test, "pingpong") == 0)
    run_pingpong ();
  else if (strcmp (test, "bulk") == 0)
    run_bulk ();
  else if (strcmp (test, "rss") == 0)
    run_rss ();
  else if (strcmp (test, "fanin") == 0)
    run_fanin ();
  else
    die ("unknown test “%s”", test);
  fflush (stdout);
  return 0;
}
