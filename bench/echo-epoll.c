/* echo-epoll: the physical-limit reference echo server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Single-threaded, level-triggered epoll; accept4() until EAGAIN; one shared
 * 64 KiB read buffer. Data the kernel does not take at once is kept per
 * connection, and that connection stops reading until it is written out
 * (so memory stays bounded and the peer gets back-pressure).
 *
 * Built twice more, to split the gap between this reference and Ls:
 *
 * - echo-loop (ECHO_GLIB_LOOP): the same loop driven by a GMainLoop, as any
 *   GLib-integrated library must be. The context poll()s the epoll fd and
 *   one GSource takes the events with epoll_wait(0), re-polling while that
 *   finds work, as Ls does. No objects.
 * - echo-floor (ECHO_GLIB_LOOP and ECHO_GOBJECT_FLOOR): echo-loop plus the
 *   GObject work that any signal-based API of Ls's shape implies, and
 *   nothing else. Per connection it creates one LsLocalSocket (unconnected:
 *   no descriptor, no event core), emits new-connection on a server object,
 *   connects the two handlers echo-ls connects, emits ready-read for every
 *   read and the Qt disconnect sequence (error-occurred, state-changed
 *   twice, read-channel-finished, disconnected) at the end, then unrefs it.
 *
 * epoll -> loop is the price of GMainLoop integration, loop -> floor the
 * price of the GObject API, and floor -> ls what Ls's own event handling
 * costs.
 *
 * Usage: echo-epoll SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench-process.h"

#ifdef ECHO_GLIB_LOOP
#include <glib.h>
#include <glib-unix.h>
#endif
#ifdef ECHO_GOBJECT_FLOOR
#include <ls/ls.h>
#endif

#define BUF_SIZE   65536
#define MAX_EVENTS 256

typedef struct
{
  size_t off, len;
  char   data[];
} Pending;

static Pending **pending;  /* indexed by fd; NULL when nothing is queued */
static size_t    pending_cap;
static int       ep, lfd, sfd;

#ifdef ECHO_GOBJECT_FLOOR
static LsLocalServer  *floor_server;
static LsLocalSocket **floor_objects;  /* indexed by fd, like pending */
static guint           sig_new_connection, sig_ready_read, sig_error_occurred,
                       sig_state_changed, sig_read_channel_finished, sig_disconnected;

static void
floor_nothing (LsLocalSocket *socket,
               gpointer       user_data)
{
}

static void
floor_init (size_t capacity)
{
  floor_server = ls_local_server_new ();
  g_type_class_ref (LS_TYPE_LOCAL_SOCKET);
  floor_objects = calloc (capacity, sizeof *floor_objects);
  sig_new_connection = g_signal_lookup ("new-connection", LS_TYPE_LOCAL_SERVER);
  sig_ready_read = g_signal_lookup ("ready-read", LS_TYPE_LOCAL_SOCKET);
  sig_error_occurred = g_signal_lookup ("error-occurred", LS_TYPE_LOCAL_SOCKET);
  sig_state_changed = g_signal_lookup ("state-changed", LS_TYPE_LOCAL_SOCKET);
  sig_read_channel_finished = g_signal_lookup ("read-channel-finished", LS_TYPE_LOCAL_SOCKET);
  sig_disconnected = g_signal_lookup ("disconnected", LS_TYPE_LOCAL_SOCKET);
}

static void
floor_accepted (int fd)
{
  LsLocalSocket *socket = ls_local_socket_new ();

  g_signal_emit (floor_server, sig_new_connection, 0);
  g_signal_connect (socket, "ready-read", G_CALLBACK (floor_nothing), NULL);
  g_signal_connect (socket, "disconnected", G_CALLBACK (floor_nothing), NULL);
  floor_objects[fd] = socket;
}

static void
floor_read (int fd)
{
  g_signal_emit (floor_objects[fd], sig_ready_read, 0);
}

static void
floor_dropped (int fd)
{
  LsLocalSocket *socket = floor_objects[fd];

  if (socket == NULL)
    return;
  floor_objects[fd] = NULL;
  g_signal_emit (socket, sig_error_occurred, 0, LS_SOCKET_ERROR_PEER_CLOSED);
  g_signal_emit (socket, sig_state_changed, 0, LS_LOCAL_SOCKET_STATE_CLOSING);
  g_signal_emit (socket, sig_state_changed, 0, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_signal_emit (socket, sig_read_channel_finished, 0);
  g_signal_emit (socket, sig_disconnected, 0);
  g_object_unref (socket);
}
#else
#define floor_init(capacity) ((void) (capacity))
#define floor_accepted(fd)   ((void) (fd))
#define floor_read(fd)       ((void) (fd))
#define floor_dropped(fd)    ((void) (fd))
#endif

static void
drop (int fd)
{
  floor_dropped (fd);
  if ((size_t) fd < pending_cap && pending[fd] != NULL)
    {
      free (pending[fd]);
      pending[fd] = NULL;
    }
  close (fd);  /* also leaves the epoll set */
}

static void
want (int fd, unsigned events)
{
  struct epoll_event ev = { .events = events, .data.fd = fd };

  epoll_ctl (ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Writes @len bytes; keeps what does not fit and switches to EPOLLOUT. */
static int
send_or_queue (int fd, const char *data, size_t len)
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
      Pending *p = malloc (sizeof *p + len);

      p->off = 0;
      p->len = len;
      memcpy (p->data, data, len);
      pending[fd] = p;
      want (fd, EPOLLOUT);
    }
  return 0;
}

static void
on_readable (int fd)
{
  static char buf[BUF_SIZE];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        drop (fd);
      return;
    }
  if (n > 0)
    floor_read (fd);
  if (n == 0 || send_or_queue (fd, buf, (size_t) n) < 0)
    drop (fd);
}

static void
on_writable (int fd)
{
  Pending *p = pending[fd];

  while (p->off < p->len)
    {
      ssize_t n = send (fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN)
            return;
          drop (fd);
          return;
        }
      p->off += (size_t) n;
    }
  free (p);
  pending[fd] = NULL;
  want (fd, EPOLLIN);
}

/* Handles one batch of epoll events. Returns 0 when told to exit. */
static int
handle_events (const struct epoll_event *events, int n)
{
  struct epoll_event ev;

  for (int i = 0; i < n; i++)
    {
      int fd = events[i].data.fd;

      if (fd == lfd)
        {
          for (;;)
            {
              int cfd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

              if (cfd < 0)
                break;  /* EAGAIN, or out of fds: retried next round */
              if ((size_t) cfd >= pending_cap)
                {
                  close (cfd);
                  continue;
                }
              floor_accepted (cfd);
              ev.events = EPOLLIN;
              ev.data.fd = cfd;
              epoll_ctl (ep, EPOLL_CTL_ADD, cfd, &ev);
            }
        }
      else if (fd == sfd)
        return 0;
      else if (pending[fd] != NULL)
        {
          if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_writable (fd);
        }
      else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable (fd);
    }
  return 1;
}

#ifdef ECHO_GLIB_LOOP
/* What a GMainLoop-driven library must do at the least: the context polls
 * the epoll fd, the dispatch takes the events with epoll_wait(0) and keeps
 * re-polling while that finds work (at most 32 rounds), as Ls does. */
static gboolean
dispatch_epoll (GSource *source, GSourceFunc callback, gpointer loop)
{
  struct epoll_event events[MAX_EVENTS];

  for (int round = 0; round < 32; round++)
    {
      int n = epoll_wait (ep, events, MAX_EVENTS, 0);

      if (n <= 0)
        break;
      if (!handle_events (events, n))
        {
          g_main_loop_quit (loop);
          break;
        }
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static int
run_loop (void)
{
  static GSourceFuncs funcs = { .dispatch = dispatch_epoll };
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GSource *source = g_source_new (&funcs, sizeof (GSource));

  g_source_add_unix_fd (source, ep, G_IO_IN);
  g_source_set_callback (source, NULL, loop, NULL);
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, NULL);
  /* SIGTERM as the GLib servers (echo-ls, echo-gio, echo-uv-glib) take it:
   * g_unix_signal_add starts GLib's worker thread, and a multi-threaded
   * process pays more for system calls and malloc. The references must
   * pay it too (as almost every GLib application does: GDBus, GTask...). */
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_unix_signal_add (SIGINT, on_sigterm, loop);
  g_main_loop_run (loop);
  return 0;
}
#else
static int
run_loop (void)
{
  struct epoll_event events[MAX_EVENTS];

  for (;;)
    {
      int n = epoll_wait (ep, events, MAX_EVENTS, -1);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("epoll_wait");
          return 1;
        }
      if (!handle_events (events, n))
        return 0;
    }
}
#endif

int
main (int argc, char **argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct epoll_event ev;
  struct rlimit rl;
  sigset_t mask;
  int status;

  if (argc != 2 || strlen (argv[1]) >= sizeof addr.sun_path)
    {
      fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  bench_process_setup ();
  getrlimit (RLIMIT_NOFILE, &rl);
  pending_cap = rl.rlim_cur;
  pending = calloc (pending_cap, sizeof *pending);
  floor_init (pending_cap);

#ifdef ECHO_GLIB_LOOP
  /* run_loop () takes SIGTERM through GLib; no signalfd. */
  sfd = -1;
  (void) mask;
#else
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
#endif

  strcpy (addr.sun_path, argv[1]);
  lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind (lfd, (struct sockaddr *) &addr, sizeof addr) != 0
      || listen (lfd, SOMAXCONN) != 0)
    {
      perror (argv[1]);
      return 1;
    }

  ep = epoll_create1 (EPOLL_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &ev);
  if (sfd >= 0)
    {
      ev.data.fd = sfd;
      epoll_ctl (ep, EPOLL_CTL_ADD, sfd, &ev);
    }

  printf ("READY\n");
  fflush (stdout);

  status = run_loop ();
  unlink (argv[1]);
  return status;
}
