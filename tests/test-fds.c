/* test-fds.c: passing descriptors with the byte stream (issue 15)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#define SAFETY_MS 20000

/* Linux 6.5; the headers may be older than the kernel. */
#ifndef SO_PASSPIDFD
# define SO_PASSPIDFD 76
#endif

typedef struct
{
  guint          fds_before;
  char          *dir;
  LsLocalServer *server;
  LsLocalSocket *client;
  LsLocalSocket *peer;       /* the server's end */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  gboolean timed_out = FALSE;

  f->fds_before = ls_test_count_open_fds ();
  f->dir = ls_test_make_tmpdir ();
  path = g_build_filename (f->dir, "s", NULL);
  f->server = ls_local_server_new ();
  /* The server's end receives descriptors (issue 25): it is told so
   * through the server. */
  ls_local_server_set_accept_fds (f->server, TRUE);
  g_assert_true (ls_local_server_listen (f->server, path, &error));
  g_assert_no_error (error);
  f->client = ls_local_socket_new ();
  ls_local_socket_connect_to_server (f->client, path);
  g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (f->server, SAFETY_MS, &timed_out, NULL));
  f->peer = ls_local_server_next_pending_connection (f->server);
  g_assert_nonnull (f->peer);
  g_assert_true (ls_local_socket_get_accept_fds (f->peer));
  g_assert_false (ls_local_socket_get_accept_fds (f->client));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->client);
  g_clear_object (&f->peer);
  g_clear_object (&f->server);
  /* Let the event core forget the closed descriptors. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ls_test_remove_tmpdir (f->dir);
  g_free (f->dir);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, f->fds_before);
}

/* A memfd whose (st_dev, st_ino) identifies it. */
static int
make_memfd (struct stat *st)
{
  int fd = memfd_create ("ls-test", MFD_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, st), ==, 0);
  return fd;
}

static gboolean
same_file (int fd, const struct stat *expected)
{
  struct stat st;

  return fstat (fd, &st) == 0 && st.st_dev == expected->st_dev && st.st_ino == expected->st_ino;
}

static void
assert_cloexec (int fd)
{
  g_assert_true (fcntl (fd, F_GETFD) & FD_CLOEXEC);
}

/* Reads into @socket's buffer (blocking) until it has @size bytes. */
static void
wait_for_bytes (LsLocalSocket *socket, gint64 size)
{
  while (ls_local_socket_get_bytes_available (socket) < size)
    g_assert_true (ls_local_socket_wait_for_ready_read (socket, SAFETY_MS));
}

static void
test_basic (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GUnixFDList) got = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("abcdef", 6);
  g_autoptr(GBytes) head = g_bytes_new_static ("xyz", 3);
  g_autoptr(GBytes) part = NULL;
  g_autoptr(GBytes) rest = NULL;
  struct stat st[2];
  int fds[2];

  fds[0] = make_memfd (&st[0]);
  fds[1] = make_memfd (&st[1]);
  g_assert_cmpint (g_unix_fd_list_append (list, fds[0], NULL), ==, 0);
  g_assert_cmpint (g_unix_fd_list_append (list, fds[1], NULL), ==, 1);
  close (fds[0]);
  close (fds[1]);

  /* Plain bytes, then bytes with descriptors. */
  g_assert_cmpint (ls_local_socket_write_bytes (f->client, head), ==, 3);
  g_assert_true (ls_local_socket_write_with_fds (f->client, payload, list, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 9);
  /* The caller's list is untouched. */
  g_assert_cmpint (g_unix_fd_list_get_length (list), ==, 2);

  while (ls_local_socket_get_bytes_to_write (f->client) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, SAFETY_MS));
  wait_for_bytes (f->peer, 9);

  /* Nothing is takeable before the bytes are read; peeking reads nothing. */
  g_assert_null (ls_local_socket_take_fds (f->peer));
  g_clear_pointer (&part, g_bytes_unref);
  part = ls_local_socket_peek (f->peer, 9);
  g_assert_null (ls_local_socket_take_fds (f->peer));
  g_clear_pointer (&part, g_bytes_unref);
  /* The bytes before the ones that carry them are not enough. */
  part = ls_local_socket_read (f->peer, 3);
  g_assert_cmpmem (g_bytes_get_data (part, NULL), 3, "xyz", 3);
  g_assert_null (ls_local_socket_take_fds (f->peer));

  rest = ls_local_socket_read_all (f->peer);
  g_assert_cmpmem (g_bytes_get_data (rest, NULL), g_bytes_get_size (rest), "abcdef", 6);
  got = ls_local_socket_take_fds (f->peer);
  g_assert_nonnull (got);
  g_assert_cmpint (g_unix_fd_list_get_length (got), ==, 2);
  for (int i = 0; i < 2; i++)
    {
      const int *peeked = g_unix_fd_list_peek_fds (got, NULL);

      g_assert_true (same_file (peeked[i], &st[i]));
      assert_cloexec (peeked[i]);
    }
  /* Each arrives once. */
  g_assert_null (ls_local_socket_take_fds (f->peer));
}

/* A rejected call writes nothing and says why. */
static void
test_rejected (Fixture *f, gconstpointer data)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) one = g_bytes_new_static ("x", 1);
  g_autoptr(LsLocalSocket) unconnected = ls_local_socket_new ();
  GError *error = NULL;
  struct stat st;
  int fd = make_memfd (&st);

  g_unix_fd_list_append (list, fd, NULL);
  g_assert_false (ls_local_socket_write_with_fds (f->client, empty, list, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);

  for (int i = 1; i < 254; i++)
    g_unix_fd_list_append (list, fd, NULL);
  g_assert_cmpint (g_unix_fd_list_get_length (list), ==, 254);
  g_assert_false (ls_local_socket_write_with_fds (f->client, one, list, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "253"));
  g_clear_error (&error);

  g_assert_false (ls_local_socket_write_with_fds (unconnected, one, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "not connected"));
  g_clear_error (&error);
  close (fd);

  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);
  /* 253 is allowed, and a NULL list is a plain write. */
  {
    g_autoptr(GUnixFDList) max = g_unix_fd_list_new ();
    g_autoptr(GUnixFDList) got = NULL;
    g_autoptr(GBytes) all = NULL;
    int memfd = make_memfd (&st);

    for (int i = 0; i < 253; i++)
      g_unix_fd_list_append (max, memfd, NULL);
    close (memfd);
    g_assert_true (ls_local_socket_write_with_fds (f->client, one, max, &error));
    g_assert_no_error (error);
    g_assert_true (ls_local_socket_write_with_fds (f->client, one, NULL, &error));
    g_assert_no_error (error);
    ls_local_socket_flush (f->client);
    wait_for_bytes (f->peer, 2);
    all = ls_local_socket_read_all (f->peer);
    got = ls_local_socket_take_fds (f->peer);
    g_assert_cmpint (g_unix_fd_list_get_length (got), ==, 253);
    for (int i = 0; i < 253; i++)
      g_assert_true (same_file (g_unix_fd_list_peek_fds (got, NULL)[i], &st));
  }
}

/* 10,000 descriptors over 1,000 writes, framed as messages of varied
 * sizes (some large enough to be sent in several pieces): each arrives
 * once, in order, with its message, through the main loop. */
#define MANY_WRITES     1000
#define MANY_PER_WRITE  10
#define MANY_BATCH      20

typedef struct
{
  struct stat *ids;
  guint        next_message;
  guint        next_fd;
  gboolean     failed;
} ManyState;

static void
many_on_ready_read (LsLocalSocket *socket, gpointer user_data)
{
  ManyState *state = user_data;
  GBytes *message;

  while ((message = ls_local_socket_read_message (socket, NULL)) != NULL)
    {
      g_autoptr(GUnixFDList) got = ls_local_socket_take_fds (socket);
      guint32 index;

      g_assert_cmpuint (g_bytes_get_size (message), >=, sizeof index);
      memcpy (&index, g_bytes_get_data (message, NULL), sizeof index);
      g_assert_cmpuint (index, ==, state->next_message);
      g_assert_nonnull (got);
      g_assert_cmpint (g_unix_fd_list_get_length (got), ==, MANY_PER_WRITE);
      for (int i = 0; i < MANY_PER_WRITE; i++)
        {
          const int *fds = g_unix_fd_list_peek_fds (got, NULL);

          if (!same_file (fds[i], &state->ids[state->next_fd]))
            state->failed = TRUE;
          state->next_fd++;
        }
      state->next_message++;
      g_bytes_unref (message);
    }
}

static void
test_many (Fixture *f, gconstpointer data)
{
  ManyState state = { .ids = g_new (struct stat, MANY_WRITES * MANY_PER_WRITE) };
  guint sent = 0;

  g_signal_connect (f->peer, "ready-read", G_CALLBACK (many_on_ready_read), &state);
  while (sent < MANY_WRITES)
    {
      for (guint b = 0; b < MANY_BATCH; b++, sent++)
        {
          g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
          g_autoptr(GError) error = NULL;
          g_autoptr(GBytes) frame = NULL;
          /* Every 7th message is 200 KiB: more than one send. */
          gsize size = sent % 7 == 3 ? 200 * 1024 : 4 + sent % 100;
          guint8 *buffer = g_malloc0 (4 + size);
          guint32 length = GUINT32_TO_BE ((guint32) size);
          guint32 index = sent;

          memcpy (buffer, &length, 4);
          memcpy (buffer + 4, &index, 4);
          frame = g_bytes_new_take (buffer, 4 + size);
          for (int i = 0; i < MANY_PER_WRITE; i++)
            {
              int fd = make_memfd (&state.ids[sent * MANY_PER_WRITE + i]);

              g_unix_fd_list_append (list, fd, NULL);
              close (fd);
            }
          g_assert_true (ls_local_socket_write_with_fds (f->client, frame, list, &error));
          g_assert_no_error (error);
        }
      while (state.next_message < sent && !state.failed)
        g_main_context_iteration (NULL, TRUE);
    }
  g_assert_false (state.failed);
  g_assert_cmpuint (state.next_message, ==, MANY_WRITES);
  g_assert_cmpuint (state.next_fd, ==, MANY_WRITES * MANY_PER_WRITE);
  g_assert_null (ls_local_socket_take_fds (f->peer));
  g_free (state.ids);
}

/* Sends @n_fds copies of @fd with one byte, raw. */
static gssize
raw_send_fds_byte (int sock, int fd, guint n_fds, char byte)
{
  union { char buf[CMSG_SPACE (253 * sizeof (int))]; struct cmsghdr align; } control;
  struct iovec iov = { &byte, 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = CMSG_SPACE (n_fds * sizeof (int)) };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  int fds[253];

  g_assert_cmpuint (n_fds, <=, 253);
  memset (control.buf, 0, sizeof control.buf);
  for (guint i = 0; i < n_fds; i++)
    fds[i] = fd;
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
  memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
  return sendmsg (sock, &msg, MSG_NOSIGNAL);
}

static gssize
raw_send_fds (int sock, int fd, guint n_fds)
{
  return raw_send_fds_byte (sock, fd, n_fds, 'x');
}

typedef struct
{
  guint         errors;
  LsSocketError last;
} ErrorLog;

static void
on_error (LsLocalSocket *socket, LsSocketError code, gpointer user_data)
{
  ErrorLog *log = user_data;

  log->errors++;
  log->last = code;
}

/* Exactly 1024 waiting descriptors are allowed; the 1025th aborts the
 * connection with SOCKET_RESOURCE and every received one is closed. */
static void
test_limit (void)
{
  guint before = ls_test_count_open_fds ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  ErrorLog log = { 0 };
  guint attached;
  int pair[2];
  int memfd;
  struct stat st;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, pair[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  ls_local_socket_set_accept_fds (socket, TRUE);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error), &log);
  /* The socket's event core may have just been made. */
  attached = ls_test_count_open_fds ();
  memfd = make_memfd (&st);

  for (guint sent = 0; sent < 1024; )
    {
      guint n = MIN (253, 1024 - sent);

      g_assert_cmpint (raw_send_fds (pair[1], memfd, n), ==, 1);
      sent += n;
    }
  wait_for_bytes (socket, 5);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpuint (log.errors, ==, 0);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, attached + 1 + 1024);

  g_assert_cmpint (raw_send_fds (pair[1], memfd, 1), ==, 1);
  g_assert_false (ls_local_socket_wait_for_ready_read (socket, SAFETY_MS));
  g_assert_cmpuint (log.errors, ==, 1);
  g_assert_cmpint (log.last, ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
  g_assert_nonnull (strstr (ls_local_socket_get_error_string (socket), "1024"));
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_null (ls_local_socket_take_fds (socket));
  /* pair[0] went with the socket; all received descriptors are closed. */
  g_assert_cmpuint (ls_test_count_open_fds (), <=, attached + 1);
  close (pair[1]);
  close (memfd);
  g_clear_object (&socket);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, before);
}

/* A hostile peer that keeps sending descriptors to an application that
 * never takes them: the descriptor count stays bounded and the connection
 * ends with SOCKET_RESOURCE. */
static void
test_hostile (void)
{
  guint before = ls_test_count_open_fds ();
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  ErrorLog log = { 0 };
  guint peak = 0;
  int pair[2];
  pid_t pid;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      struct stat st;
      int memfd = make_memfd (&st);

      close (pair[0]);
      /* Until the receiver gives up on us. */
      while (raw_send_fds (pair[1], memfd, 50) == 1)
        ;
      _exit (0);
    }
  close (pair[1]);
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, pair[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, &error));
  ls_local_socket_set_accept_fds (socket, TRUE);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error), &log);
  while (ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_CONNECTED)
    {
      g_autoptr(GBytes) all = NULL;

      if (!ls_local_socket_wait_for_ready_read (socket, SAFETY_MS))
        break;
      /* Reading makes them takeable; the application never takes them. */
      all = ls_local_socket_read_all (socket);
      peak = MAX (peak, ls_test_count_open_fds ());
    }
  g_assert_cmpuint (log.errors, ==, 1);
  g_assert_cmpint (log.last, ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
  /* The socket, its event core (epoll), and at most 1024 waiting. */
  g_assert_cmpuint (peak, <=, before + 2 + 1024);
  ls_test_assert_child_ok (pid, SAFETY_MS);
  g_clear_object (&socket);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, before);
}

/* Descriptors this process cannot install (it is out of descriptors) are
 * lost by the kernel (MSG_CTRUNC): an error that ends the connection, not a
 * silent loss. In a child whose descriptor limit leaves room for a few of
 * the 253 (it exits with CTRUNC_NO_LIMIT where the limit is not enforced,
 * as under valgrind, which keeps descriptors of its own above it). */
#define CTRUNC_NO_LIMIT 77

/* Whether the kernel enforces @limit as this process's descriptor limit
 * (valgrind answers setrlimit () itself and leaves the kernel's alone). */
static gboolean
fd_limit_holds (rlim_t limit)
{
  g_autofree char *limits = NULL;
  const char *line;
  guint64 soft;

  if (!g_file_get_contents ("/proc/self/limits", &limits, NULL, NULL) ||
      (line = strstr (limits, "Max open files")) == NULL)
    return FALSE;
  line += strlen ("Max open files");
  soft = g_ascii_strtoull (line, NULL, 10);
  return soft == limit;
}

static void
test_ctrunc (void)
{
  guint before = ls_test_count_open_fds ();
  int pair[2];
  int memfd;
  int status;
  struct stat st;
  pid_t pid;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      GMainContext *context;
      LsLocalSocket *socket;
      ErrorLog log = { 0 };
      struct rlimit limit;
      guint count;
      int lowest_free;

      close (pair[1]);
      count = ls_test_count_open_fds ();
      context = g_main_context_new ();
      g_main_context_push_thread_default (context);
      socket = ls_local_socket_new ();
      g_assert_true (ls_local_socket_set_socket_descriptor (socket, pair[0],
                                                            LS_LOCAL_SOCKET_STATE_CONNECTED, NULL));
      ls_local_socket_set_accept_fds (socket, TRUE);
      g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error), &log);
      /* Room for at most 10 more descriptors. */
      lowest_free = fcntl (0, F_DUPFD, 0);
      close (lowest_free);
      g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
      limit.rlim_cur = lowest_free + 10;
      g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
      if (!fd_limit_holds (limit.rlim_cur))
        _exit (CTRUNC_NO_LIMIT);

      g_assert_false (ls_local_socket_wait_for_ready_read (socket, SAFETY_MS));
      g_assert_cmpuint (log.errors, ==, 1);
      g_assert_cmpint (log.last, ==, LS_SOCKET_ERROR_SOCKET_RESOURCE);
      g_assert_nonnull (strstr (ls_local_socket_get_error_string (socket), "truncated"));
      g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      g_assert_null (ls_local_socket_take_fds (socket));
      g_object_unref (socket);
      g_main_context_pop_thread_default (context);
      g_main_context_unref (context);
      /* The descriptor went with the socket, and every one that came. */
      g_assert_cmpuint (ls_test_count_open_fds (), ==, count - 1);
      _exit (0);
    }
  close (pair[0]);
  memfd = make_memfd (&st);
  g_assert_cmpint (raw_send_fds (pair[1], memfd, 253), ==, 1);
  status = ls_test_wait_child (pid, SAFETY_MS);
  if (WIFEXITED (status) && WEXITSTATUS (status) == CTRUNC_NO_LIMIT)
    g_test_skip ("RLIMIT_NOFILE is not enforced here (valgrind?): cannot run out of descriptors");
  else
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  close (pair[1]);
  close (memfd);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, before);
}

/* Sends @data with @n_fds duplicates of @memfd, or plain when @n_fds is 0. */
static void
write_with_copies (LsLocalSocket *socket, const char *data, int memfd, guint n_fds)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GBytes) bytes = g_bytes_new (data, strlen (data));
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n_fds; i++)
    g_assert_cmpint (g_unix_fd_list_append (list, memfd, NULL), ==, (gint) i);
  g_assert_true (ls_local_socket_write_with_fds (socket, bytes, n_fds > 0 ? list : NULL, &error));
  g_assert_no_error (error);
}

static void
flush_all (LsLocalSocket *socket)
{
  while (ls_local_socket_get_bytes_to_write (socket) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (socket, SAFETY_MS));
}

/* Reads exactly @text and takes what came with it: @n_fds copies of the
 * file @st (or nothing when @n_fds is 0). */
static void
read_and_take (LsLocalSocket *socket, const char *text, const struct stat *st, guint n_fds)
{
  g_autoptr(GBytes) got = ls_local_socket_read (socket, strlen (text));
  g_autoptr(GUnixFDList) fds = NULL;

  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), text, strlen (text));
  fds = ls_local_socket_take_fds (socket);
  if (n_fds == 0)
    {
      g_assert_null (fds);
      return;
    }
  g_assert_nonnull (fds);
  g_assert_cmpint (g_unix_fd_list_get_length (fds), ==, (gint) n_fds);
  for (guint i = 0; i < n_fds; i++)
    g_assert_true (same_file (g_unix_fd_list_peek_fds (fds, NULL)[i], st));
}

/* Issue 23.1: writes without descriptors right after one with them, all
 * sent at once: the descriptors are takeable once the bytes of their own
 * write are read, not only after the next write's bytes. */
static void
test_ends_with_write (Fixture *f, gconstpointer data)
{
  struct stat st;
  int memfd = make_memfd (&st);

  write_with_copies (f->client, "first", memfd, 2);
  write_with_copies (f->client, "second", memfd, 0);
  write_with_copies (f->client, "third", memfd, 1);
  write_with_copies (f->client, "fourth", memfd, 0);
  flush_all (f->client);
  wait_for_bytes (f->peer, 22);
  read_and_take (f->peer, "first", &st, 2);
  read_and_take (f->peer, "second", &st, 0);
  read_and_take (f->peer, "third", &st, 1);
  read_and_take (f->peer, "fourth", &st, 0);

  /* The same with whole messages: a message with descriptors, then plain
   * ones. */
  {
    static const char frame[] = "\0\0\0\x05hello";
    g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
    g_autoptr(GBytes) bytes = g_bytes_new_static (frame, sizeof frame - 1);
    g_autoptr(GBytes) plain = g_bytes_new_static ("more", 4);
    g_autoptr(GBytes) message = NULL;
    g_autoptr(GUnixFDList) got = NULL;

    g_unix_fd_list_append (list, memfd, NULL);
    g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list, NULL));
    g_assert_true (ls_local_socket_write_message (f->client, plain, NULL));
    g_assert_true (ls_local_socket_write_message (f->client, plain, NULL));
    flush_all (f->client);
    wait_for_bytes (f->peer, 9 + 2 * 8);
    message = ls_local_socket_read_message (f->peer, NULL);
    g_assert_cmpmem (g_bytes_get_data (message, NULL), g_bytes_get_size (message), "hello", 5);
    got = ls_local_socket_take_fds (f->peer);
    g_assert_nonnull (got);
    g_assert_cmpint (g_unix_fd_list_get_length (got), ==, 1);
    g_assert_true (same_file (g_unix_fd_list_peek_fds (got, NULL)[0], &st));
  }
  close (memfd);
}

/* Issue 23.2: SO_PASSCRED turned on through get_socket (): the
 * credentials come with every read, and still a write of 253 descriptors
 * arrives whole. */
static void
test_passcred (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  ErrorLog log = { 0 };
  struct stat st;
  int memfd = make_memfd (&st);

  g_assert_true (g_socket_set_option (ls_local_socket_get_socket (f->peer), SOL_SOCKET,
                                      SO_PASSCRED, 1, &error));
  g_assert_no_error (error);
  g_signal_connect (f->peer, "error-occurred", G_CALLBACK (on_error), &log);
  write_with_copies (f->client, "all", memfd, 253);
  write_with_copies (f->client, "one", memfd, 1);
  write_with_copies (f->client, "none", memfd, 0);
  flush_all (f->client);
  wait_for_bytes (f->peer, 10);
  g_assert_cmpuint (log.errors, ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (f->peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  read_and_take (f->peer, "all", &st, 253);
  read_and_take (f->peer, "one", &st, 1);
  read_and_take (f->peer, "none", &st, 0);
  close (memfd);
}

/* Issue 23.2: SO_PASSPIDFD brings a pidfd with every read: none is left
 * open, with or without accept-fds. */
static void
test_passpidfd (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  struct stat st;
  int memfd;
  guint count;

  if (!g_socket_set_option (ls_local_socket_get_socket (f->peer), SOL_SOCKET, SO_PASSPIDFD, 1,
                            &error))
    {
      g_autofree char *why = g_strdup_printf ("the kernel refuses SO_PASSPIDFD: %s", error->message);

      g_test_skip (why);
      return;
    }
  memfd = make_memfd (&st);
  count = ls_test_count_open_fds ();
  for (guint round = 0; round < 2; round++)
    {
      ls_local_socket_set_accept_fds (f->peer, round == 0);
      for (guint i = 0; i < 20; i++)
        {
          write_with_copies (f->client, "ping", memfd, i % 5 == 0 ? 2 : 0);
          flush_all (f->client);
          wait_for_bytes (f->peer, 4);
          read_and_take (f->peer, "ping", &st, round == 0 && i % 5 == 0 ? 2 : 0);
          g_assert_cmpuint (ls_test_count_open_fds (), ==, count);
        }
    }
  g_assert_cmpint (ls_local_socket_get_state (f->peer), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  close (memfd);
}

static void
count_debug (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  guint *count = user_data;

  if (strstr (message, "accept-fds is off") != NULL)
    (*count)++;
}

/* Issue 25: without accept-fds, a peer that sends 253 descriptors with
 * every byte makes the receiver hold none of them, ever; the data arrives
 * intact and the drop is only a debug message. */
#define REFUSED_BYTES 200

static void
test_refused (void)
{
  guint before = ls_test_count_open_fds ();
  g_autoptr(LsLocalSocket) socket = NULL;
  g_autoptr(GByteArray) got = NULL;
  ErrorLog log = { 0 };
  guint debug_messages = 0;
  guint handler;
  guint attached;
  int pair[2];
  pid_t pid;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      struct stat st;
      int memfd = make_memfd (&st);

      close (pair[0]);
      for (guint i = 0; i < REFUSED_BYTES; i++)
        while (raw_send_fds_byte (pair[1], memfd, 253, (char) i) != 1)
          {
            /* Unprivileged senders may have only so many in flight. */
            if (errno != ETOOMANYREFS && errno != EINTR)
              _exit (1);
            g_usleep (1000);
          }
      _exit (0);
    }
  close (pair[1]);
  /* Made after the fork: the child leaves without freeing anything. */
  socket = ls_local_socket_new ();
  got = g_byte_array_new ();
  handler = g_log_set_handler ("Ls", G_LOG_LEVEL_DEBUG, count_debug, &debug_messages);
  g_assert_true (ls_local_socket_set_socket_descriptor (socket, pair[0],
                                                        LS_LOCAL_SOCKET_STATE_CONNECTED, NULL));
  g_assert_false (ls_local_socket_get_accept_fds (socket));
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error), &log);
  attached = ls_test_count_open_fds ();
  while (got->len < REFUSED_BYTES)
    {
      g_autoptr(GBytes) all = NULL;

      g_assert_true (ls_local_socket_wait_for_ready_read (socket, SAFETY_MS));
      all = ls_local_socket_read_all (socket);
      g_byte_array_append (got, g_bytes_get_data (all, NULL), g_bytes_get_size (all));
      g_assert_cmpuint (ls_test_count_open_fds (), ==, attached);
      g_assert_null (ls_local_socket_take_fds (socket));
    }
  g_log_remove_handler ("Ls", handler);
  for (guint i = 0; i < REFUSED_BYTES; i++)
    g_assert_cmpint (got->data[i], ==, (guint8) i);
  g_assert_cmpuint (got->len, ==, REFUSED_BYTES);
  g_assert_cmpuint (log.errors, ==, 0);
  /* Logged, at most once a read (each byte came in a read of its own). */
  g_assert_cmpuint (debug_messages, >=, 1);
  g_assert_cmpuint (debug_messages, <=, REFUSED_BYTES);
  ls_test_assert_child_ok (pid, SAFETY_MS);
  g_clear_object (&socket);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, before);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
close_server_on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  ls_local_server_close (user_data);
  ls_local_socket_abort (LS_LOCAL_SOCKET (object));
}

typedef struct
{
  LsLocalSocket *socket;
  gboolean       had_accept_fds;
} FirstByte;

static void
first_byte_on_new_connection (LsLocalServer *server, gpointer user_data)
{
  FirstByte *first = user_data;

  first->socket = ls_local_server_next_pending_connection (server);
  first->had_accept_fds = ls_local_socket_get_accept_fds (first->socket);
}

/* Issue 25: a server's accept-fds reaches the sockets it accepts before
 * their first read: a client that sends descriptors with its very first
 * byte, before the server application sees the connection, gets them
 * through; without it they are dropped and the byte arrives. Also the
 * property itself (notify only on change) and add_pending_connection (). */
static void
test_server_accept_fds (void)
{
  guint before = ls_test_count_open_fds ();
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  guint notified = 0;
  gboolean accept = FALSE;
  struct stat st;
  int memfd;

  g_signal_connect (server, "notify::accept-fds", G_CALLBACK (count_notify), &notified);
  g_assert_false (ls_local_server_get_accept_fds (server));
  g_object_set (server, "accept-fds", TRUE, NULL);
  g_object_set (server, "accept-fds", TRUE, NULL);
  g_object_get (server, "accept-fds", &accept, NULL);
  g_assert_true (accept);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (ls_local_server_listen (server, path, NULL));
  memfd = make_memfd (&st);

  for (guint round = 0; round < 2; round++)
    {
      FirstByte first = { NULL };
      gulong id;
      int fd;

      ls_local_server_set_accept_fds (server, round == 0);
      fd = ls_test_raw_connect (path);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (raw_send_fds_byte (fd, memfd, 3, 'A'), ==, 1);
      id = g_signal_connect (server, "new-connection", G_CALLBACK (first_byte_on_new_connection), &first);
      while (first.socket == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_signal_handler_disconnect (server, id);
      g_assert_cmpint (first.had_accept_fds, ==, round == 0);
      wait_for_bytes (first.socket, 1);
      read_and_take (first.socket, "A", &st, round == 0 ? 3 : 0);
      close (fd);
      g_object_unref (first.socket);
    }

  /* A socket queued by hand (as an incoming_connection override does)
   * gets it too. */
  {
    g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
    g_autoptr(LsLocalSocket) taken = NULL;
    guint socket_notified = 0;

    g_signal_connect (socket, "notify::accept-fds", G_CALLBACK (count_notify), &socket_notified);
    ls_local_server_set_accept_fds (server, TRUE);
    ls_local_server_add_pending_connection (server, socket);
    taken = ls_local_server_next_pending_connection (server);
    g_assert_true (taken == socket);
    g_assert_true (ls_local_socket_get_accept_fds (socket));
    g_assert_cmpuint (socket_notified, ==, 1);
    g_object_set (socket, "accept-fds", FALSE, NULL);
    g_object_get (socket, "accept-fds", &accept, NULL);
    g_assert_false (accept);
    g_assert_cmpuint (socket_notified, ==, 2);
  }

  /* The notification's handler may close the server and abort the socket
   * it is queuing. */
  {
    g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
    g_autoptr(LsLocalSocket) taken = NULL;

    g_signal_connect (socket, "notify::accept-fds", G_CALLBACK (close_server_on_notify), server);
    ls_local_server_add_pending_connection (server, socket);
    g_assert_false (ls_local_server_is_listening (server));
    taken = ls_local_server_next_pending_connection (server);
    g_assert_true (taken == socket);
    g_assert_true (ls_local_socket_get_accept_fds (socket));
  }
  close (memfd);
  ls_local_server_close (server);
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ls_test_remove_tmpdir (dir);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, before);
}

/* Untaken descriptors go with the socket: abort, dispose; after the peer
 * closed they stay takeable with the data. */
static void
test_untaken (Fixture *f, gconstpointer data)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GBytes) payload = g_bytes_new_static ("hello", 5);
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd = make_memfd (&st);
  guint with_fd;

  g_unix_fd_list_append (list, fd, NULL);
  close (fd);
  with_fd = ls_test_count_open_fds ();

  /* Dispose closes what was never read. */
  g_assert_true (ls_local_socket_write_with_fds (f->client, payload, list, &error));
  ls_local_socket_flush (f->client);
  wait_for_bytes (f->peer, 5);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, with_fd + 1);
  g_clear_object (&f->peer);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, with_fd - 1);

  /* After the peer closes, the data and its descriptors are still there. */
  {
    gboolean timed_out;
    g_autoptr(GBytes) all = NULL;
    g_autoptr(GUnixFDList) got = NULL;

    g_clear_object (&f->client);
    f->client = ls_local_socket_new ();
    ls_local_socket_connect_to_server (f->client, ls_local_server_get_full_server_name (f->server));
    g_assert_true (ls_local_server_wait_for_new_connection (f->server, SAFETY_MS, &timed_out, NULL));
    f->peer = ls_local_server_next_pending_connection (f->server);
    g_assert_true (ls_local_socket_write_with_fds (f->client, payload, list, &error));
    ls_local_socket_disconnect_from_server (f->client);
    g_assert_true (ls_local_socket_wait_for_disconnected (f->client, SAFETY_MS));
    g_assert_true (ls_local_socket_wait_for_disconnected (f->peer, SAFETY_MS));
    all = ls_local_socket_read_all (f->peer);
    g_assert_cmpuint (g_bytes_get_size (all), ==, 5);
    got = ls_local_socket_take_fds (f->peer);
    g_assert_nonnull (got);
    g_assert_true (same_file (g_unix_fd_list_peek_fds (got, NULL)[0], &st));
  }

  /* Abort drops them with the read buffer. */
  {
    gboolean timed_out;
    guint count;

    g_clear_object (&f->client);
    g_clear_object (&f->peer);
    f->client = ls_local_socket_new ();
    ls_local_socket_connect_to_server (f->client, ls_local_server_get_full_server_name (f->server));
    g_assert_true (ls_local_server_wait_for_new_connection (f->server, SAFETY_MS, &timed_out, NULL));
    f->peer = ls_local_server_next_pending_connection (f->server);
    count = ls_test_count_open_fds ();
    g_assert_true (ls_local_socket_write_with_fds (f->client, payload, list, &error));
    ls_local_socket_flush (f->client);
    wait_for_bytes (f->peer, 5);
    g_assert_cmpuint (ls_test_count_open_fds (), ==, count + 1);
    ls_local_socket_abort (f->peer);
    g_assert_cmpuint (ls_test_count_open_fds (), ==, count - 1);
    g_assert_null (ls_local_socket_take_fds (f->peer));
  }
}

/* The sender's duplicates are closed once sent, or when its output is
 * dropped. */
static void
test_sender_copies (Fixture *f, gconstpointer data)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GBytes) payload = g_bytes_new_static ("q", 1);
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd = make_memfd (&st);
  guint count;

  for (int i = 0; i < 5; i++)
    g_unix_fd_list_append (list, fd, NULL);
  close (fd);
  count = ls_test_count_open_fds ();
  g_assert_true (ls_local_socket_write_with_fds (f->client, payload, list, &error));
  g_assert_cmpuint (ls_test_count_open_fds (), ==, count + 5);
  ls_local_socket_abort (f->client);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, count - 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  /* The thread's event core (and its epoll descriptor) lives on once
   * made: make it before any test counts descriptors. */
  {
    g_autofree char *dir = ls_test_make_tmpdir ();
    g_autofree char *path = g_build_filename (dir, "warm", NULL);
    g_autoptr(LsLocalServer) server = ls_local_server_new ();

    g_assert_true (ls_local_server_listen (server, path, NULL));
    ls_local_server_close (server);
    ls_test_remove_tmpdir (dir);
  }

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ls/fds/basic", test_basic);
  ADD ("/ls/fds/rejected", test_rejected);
  ADD ("/ls/fds/many", test_many);
  ADD ("/ls/fds/untaken", test_untaken);
  ADD ("/ls/fds/sender-copies", test_sender_copies);
  ADD ("/ls/fds/ends-with-write", test_ends_with_write);
  ADD ("/ls/fds/passcred", test_passcred);
  ADD ("/ls/fds/passpidfd", test_passpidfd);
  g_test_add_func ("/ls/fds/limit", test_limit);
  g_test_add_func ("/ls/fds/hostile", test_hostile);
  g_test_add_func ("/ls/fds/ctrunc", test_ctrunc);
  g_test_add_func ("/ls/fds/refused", test_refused);
  g_test_add_func ("/ls/fds/server-accept-fds", test_server_accept_fds);
  return g_test_run ();
}
