/* test-reliability.c: a hostile peer, a careless caller, threads and fork
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One test per finding of the reliability review (issue 11); each failed
 * on Ls 1.0.
 */
#include "ls-test-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SAFETY_MS 20000

typedef struct
{
  char          *dir;
  char          *path;       /* dir/s */
  LsLocalServer *server;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = ls_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "s", NULL);
  f->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (f->server, f->path, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->server);
  ls_test_remove_tmpdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Takes the next connection, waiting in the main loop for it. */
static LsLocalSocket *
accept_next (LsLocalServer *server)
{
  gboolean timed_out = FALSE;

  if (!ls_local_server_has_pending_connections (server))
    g_assert_true (ls_local_server_wait_for_new_connection (server, SAFETY_MS, &timed_out, NULL));
  return ls_local_server_next_pending_connection (server);
}

static gboolean
write_all (int fd, const void *data, gsize size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      gssize n = send (fd, p, size, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      size -= n;
    }
  return TRUE;
}

static guint8
pattern_byte (gsize i)
{
  return (guint8) ((i * 7 + (i >> 12)) & 0xff);
}

/* ------------------------------------------------------------------------
 * Half-close: the peer sends a request, shuts its write side and reads the
 * reply to the end. Every byte of the reply must arrive before the end.
 */

typedef struct
{
  char   *path;
  gsize   expected;
  gsize   received;
  gsize   first_wrong;   /* G_MAXSIZE when every byte matched */
  gboolean clean_eof;
  gboolean full_close;   /* close instead of shutdown (SHUT_WR), read nothing */
  gboolean done;
} HalfCloseClient;

static gpointer
half_close_client_thread (gpointer data)
{
  HalfCloseClient *c = data;
  g_autofree char *request = g_strdup_printf ("%" G_GSIZE_FORMAT "\n", c->expected);
  guint8 buf[65536];
  int fd = ls_test_raw_connect (c->path);

  c->first_wrong = G_MAXSIZE;
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (write_all (fd, request, strlen (request)));
  if (c->full_close)
    {
      close (fd);
      g_atomic_int_set (&c->done, TRUE);
      return NULL;
    }
  g_assert_cmpint (shutdown (fd, SHUT_WR), ==, 0);
  for (;;)
    {
      gssize n = recv (fd, buf, sizeof buf, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          c->clean_eof = n == 0;
          break;
        }
      for (gssize i = 0; i < n; i++)
        if (buf[i] != pattern_byte (c->received + i) && c->first_wrong == G_MAXSIZE)
          c->first_wrong = c->received + i;
      c->received += n;
    }
  close (fd);
  g_atomic_int_set (&c->done, TRUE);
  return NULL;
}

typedef struct
{
  LsLocalSocket *socket;
  guint          peer_closed;
  guint          disconnected;
  gboolean       replied;
} ReplyServer;

static void
reply_on_ready_read (LsLocalSocket *socket, ReplyServer *s)
{
  g_autoptr(GBytes) line = NULL;
  g_autofree guint8 *reply = NULL;
  gsize size;

  if (s->replied || !ls_local_socket_can_read_line (socket))
    return;
  line = ls_local_socket_read_line (socket, 0);
  size = g_ascii_strtoull (g_bytes_get_data (line, NULL), NULL, 10);
  reply = g_malloc (size);
  for (gsize i = 0; i < size; i++)
    reply[i] = pattern_byte (i);
  g_assert_cmpint (ls_local_socket_write (socket, reply, size), ==, size);
  s->replied = TRUE;
}

static void
reply_on_error (LsLocalSocket *socket, LsSocketError error, ReplyServer *s)
{
  if (error == LS_SOCKET_ERROR_PEER_CLOSED)
    s->peer_closed++;
}

static void
reply_on_disconnected (LsLocalSocket *socket, ReplyServer *s)
{
  s->disconnected++;
}

static void
run_half_close (Fixture *f, gsize size, gboolean full_close)
{
  HalfCloseClient client = { .path = f->path, .expected = size, .full_close = full_close };
  ReplyServer s = { 0 };
  GThread *thread;

  thread = g_thread_new ("half-close-client", half_close_client_thread, &client);
  s.socket = accept_next (f->server);
  g_signal_connect (s.socket, "ready-read", G_CALLBACK (reply_on_ready_read), &s);
  g_signal_connect (s.socket, "error-occurred", G_CALLBACK (reply_on_error), &s);
  g_signal_connect (s.socket, "disconnected", G_CALLBACK (reply_on_disconnected), &s);
  /* The request may be buffered already. */
  if (ls_local_socket_get_bytes_available (s.socket) > 0)
    reply_on_ready_read (s.socket, &s);

  /* 64 MiB under valgrind takes a while: bounded, but generously. */
  g_assert_true (ls_test_run_until ((gboolean *) &s.disconnected, 10 * SAFETY_MS));
  g_thread_join (thread);

  if (!full_close)
    {
      g_assert_cmpuint (client.received, ==, size);
      g_assert_cmpuint (client.first_wrong, ==, G_MAXSIZE);
      g_assert_true (client.clean_eof);
    }
  g_assert_cmpuint (s.peer_closed, ==, 1);
  g_assert_cmpuint (s.disconnected, ==, 1);
  g_assert_cmpint (ls_local_socket_get_state (s.socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (s.socket), ==, 0);
  g_object_unref (s.socket);
}

static void
test_half_close_reply (Fixture *f, gconstpointer data)
{
  run_half_close (f, GPOINTER_TO_SIZE (data), FALSE);
}

/* The peer leaves entirely before reading: the reply cannot be delivered,
 * and the connection still ends (no hang, one disconnected). */
static void
test_half_close_peer_gone (Fixture *f, gconstpointer data)
{
  run_half_close (f, 4 * 1024 * 1024, TRUE);
}

/* ------------------------------------------------------------------------
 * The peer leaves while the read buffer is full (read-buffer-size reached).
 * As in Qt, the socket stays connected with at most the cap buffered and
 * learns of the end when the application reads on (issue 23.4). A write
 * then is queued as in Qt, and its failure (EPIPE) ends the connection
 * with PEER_CLOSED after taking in everything the peer sent: nothing is
 * lost, and writes are not accepted into the void for long (fix 11).
 */

#define FULL_SENT 4096
#define FULL_CAP  1024

static gboolean
has_cap_buffered (gpointer socket)
{
  return ls_local_socket_get_bytes_available (socket) >= FULL_CAP;
}

static gboolean
is_unconnected (gpointer socket)
{
  return ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
}

/* A connection whose peer sent FULL_SENT bytes (pattern_byte ()) and left;
 * the socket's buffer holds FULL_CAP of them, and the socket has looked
 * again since. */
static LsLocalSocket *
full_buffer_peer_left (Fixture *f, gboolean through_wait, guint8 *sent)
{
  LsLocalSocket *socket;
  int fd;

  for (gsize i = 0; i < FULL_SENT; i++)
    sent[i] = pattern_byte (i);
  fd = ls_test_raw_connect (f->path);
  g_assert_cmpint (fd, >=, 0);
  socket = accept_next (f->server);
  ls_local_socket_set_read_buffer_size (socket, FULL_CAP);
  g_assert_true (write_all (fd, sent, FULL_SENT));
  close (fd);

  if (through_wait)
    {
      g_assert_true (ls_local_socket_wait_for_ready_read (socket, SAFETY_MS));
      /* Nothing more can be buffered: the wait times out, as Qt's does. */
      g_assert_false (ls_local_socket_wait_for_ready_read (socket, 50));
      g_assert_false (ls_local_socket_wait_for_disconnected (socket, 50));
    }
  else
    {
      g_assert_true (ls_test_run_until_cond (has_cap_buffered, socket, SAFETY_MS));
      ls_test_run_for (50);
    }
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_bytes_available (socket), ==, FULL_CAP);
  return socket;
}

static void
test_full_buffer_peer_gone (Fixture *f, gconstpointer data)
{
  gboolean through_wait = GPOINTER_TO_INT (data);
  guint8 sent[FULL_SENT];
  g_autoptr(GBytes) got = NULL;
  LsLocalSocket *socket = full_buffer_peer_left (f, through_wait, sent);

  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "lost?", 5), ==, 5);
  if (through_wait)
    g_assert_false (ls_local_socket_wait_for_bytes_written (socket, SAFETY_MS));
  else
    g_assert_true (ls_test_run_until_cond (is_unconnected, socket, SAFETY_MS));

  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) "lost?", 5), ==, -1);
  got = ls_local_socket_read_all (socket);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), sent, FULL_SENT);
  g_object_unref (socket);
}

static gboolean
has_input_or_ended (gpointer socket)
{
  return ls_local_socket_get_bytes_available (socket) > 0 || is_unconnected (socket);
}

/* Reading on: never more than the cap buffered, every byte in order, then
 * the end (PEER_CLOSED, disconnected once). */
static void
test_full_buffer_read_on (Fixture *f, gconstpointer data)
{
  gboolean through_wait = GPOINTER_TO_INT (data);
  guint8 sent[FULL_SENT];
  g_autoptr(GByteArray) got = g_byte_array_new ();
  LsLocalSocket *socket = full_buffer_peer_left (f, through_wait, sent);
  g_autoptr(LsTestSignalLog) log = ls_test_signal_log_new (socket);

  for (;;)
    {
      g_autoptr(GBytes) chunk = NULL;

      g_assert_cmpint (ls_local_socket_get_bytes_available (socket), <=, FULL_CAP);
      chunk = ls_local_socket_read_all (socket);
      g_byte_array_append (got, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
      if (is_unconnected (socket))
        break;
      if (through_wait)
        ls_local_socket_wait_for_ready_read (socket, SAFETY_MS);
      else
        g_assert_true (ls_test_run_until_cond (has_input_or_ended, socket, SAFETY_MS));
    }
  g_assert_cmpmem (got->data, got->len, sent, FULL_SENT);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  g_assert_cmpuint (ls_test_log_count (ls_test_signal_log_get (log), "disconnected"), ==, 1);
  g_object_unref (socket);
}

/* ------------------------------------------------------------------------
 * A worker thread without a main loop of its own connects and uses the
 * blocking calls while the main thread runs the default main loop: the
 * socket is the worker's alone (Ls 1.0: both threads handled it).
 */

typedef struct
{
  const char *path;
  guint       round_trips;
  guint       ok;
  gboolean    done;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  LsLocalSocket *socket = ls_local_socket_new ();

  ls_local_socket_connect_to_server (socket, w->path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  for (guint i = 0; i < w->round_trips; i++)
    {
      g_autofree char *request = g_strdup_printf ("request %u\n", i);
      g_autoptr(GString) reply = g_string_new (NULL);

      g_assert_cmpint (ls_local_socket_write (socket, (const guint8 *) request, strlen (request)), >, 0);
      while (reply->len < strlen (request))
        {
          g_autoptr(GBytes) bytes = NULL;

          if (ls_local_socket_get_bytes_available (socket) == 0 &&
              !ls_local_socket_wait_for_ready_read (socket, SAFETY_MS))
            break;
          bytes = ls_local_socket_read_all (socket);
          g_string_append_len (reply, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
        }
      if (g_str_equal (reply->str, request))
        w->ok++;
    }
  g_object_unref (socket);
  g_atomic_int_set (&w->done, TRUE);
  return NULL;
}

static void
echo_on_ready_read (LsLocalSocket *socket, gpointer data)
{
  g_autoptr(GBytes) bytes = ls_local_socket_read_all (socket);

  ls_local_socket_write_bytes (socket, bytes);
}

static void
echo_on_new_connection (LsLocalServer *server, gpointer data)
{
  LsLocalSocket *socket;

  while ((socket = ls_local_server_next_pending_connection (server)) != NULL)
    {
      g_signal_connect (socket, "ready-read", G_CALLBACK (echo_on_ready_read), NULL);
      g_signal_connect (socket, "disconnected", G_CALLBACK (g_object_unref), NULL);
    }
}

static void
test_worker_thread_blocking (Fixture *f, gconstpointer data)
{
  Worker w = { .path = f->path, .round_trips = 2000 };
  GThread *thread;

  g_signal_connect (f->server, "new-connection", G_CALLBACK (echo_on_new_connection), NULL);
  thread = g_thread_new ("blocking-worker", worker_thread, &w);
  g_assert_true (ls_test_run_until (&w.done, 60000));
  g_thread_join (thread);
  g_assert_cmpuint (w.ok, ==, w.round_trips);
}

/* ------------------------------------------------------------------------
 * Writing from a second thread is a programmer error: reported with a
 * critical, and nothing is written.
 */

typedef struct
{
  LsLocalSocket *socket;
  gssize         result;
} CrossWrite;

static gpointer
cross_write_thread (gpointer data)
{
  CrossWrite *c = data;

  c->result = ls_local_socket_write (c->socket, (const guint8 *) "x", 1);
  return NULL;
}

static void
test_write_from_other_thread (Fixture *f, gconstpointer data)
{
  CrossWrite c = { .socket = ls_local_socket_new () };

  ls_local_socket_connect_to_server (c.socket, f->path);
  g_assert_cmpint (ls_local_socket_get_state (c.socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*belongs to another thread*");
  g_thread_join (g_thread_new ("cross-writer", cross_write_thread, &c));
  g_test_assert_expected_messages ();
  g_assert_cmpint (c.result, ==, -1);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (c.socket), ==, 0);
  g_object_unref (c.socket);
}

/* ------------------------------------------------------------------------
 * fork() without exec: a child that drops, uses or closes its inherited
 * copies leaves the parent's server and connection working.
 */

typedef enum
{
  CHILD_DROPS,       /* g_object_unref everything */
  CHILD_USES,        /* writes on the connection with the blocking calls */
  CHILD_CLOSES,      /* close()/abort() the socket and close() the server */
  CHILD_ITERATES,    /* drops everything, then runs its main loop a little */
} ChildAction;

static void
child_main (Fixture *f, LsLocalSocket *conn, ChildAction action)
{
  switch (action)
    {
    case CHILD_DROPS:
      break;
    case CHILD_USES:
      if (ls_local_socket_write (conn, (const guint8 *) "from child\n", 11) != 11 ||
          !ls_local_socket_wait_for_bytes_written (conn, SAFETY_MS))
        _exit (3);
      break;
    case CHILD_CLOSES:
      ls_local_socket_abort (conn);
      ls_local_server_close (f->server);
      break;
    case CHILD_ITERATES:
      break;
    }
  g_object_unref (conn);
  g_clear_object (&f->server);
  if (action == CHILD_ITERATES)
    ls_test_run_for (100);
  _exit (0);
}

static void
test_fork_child (Fixture *f, gconstpointer data)
{
  ChildAction action = GPOINTER_TO_INT (data);
  g_autoptr(LsTestSignalLog) log = NULL;
  LsLocalSocket *client = ls_local_socket_new ();
  LsLocalSocket *conn, *second;
  struct stat st;
  pid_t pid;

  ls_local_socket_connect_to_server (client, f->path);
  conn = accept_next (f->server);
  /* Registered with the event core before the fork, as in a real server. */
  ls_test_run_for (10);

  pid = ls_test_fork ();
  if (pid == 0)
    child_main (f, conn, action);
  ls_test_assert_child_ok (pid, SAFETY_MS);

  if (action == CHILD_USES)
    {
      g_autoptr(GBytes) line = NULL;

      g_assert_true (ls_local_socket_wait_for_ready_read (client, SAFETY_MS));
      line = ls_local_socket_read_all (client);
      g_assert_cmpmem (g_bytes_get_data (line, NULL), g_bytes_get_size (line), "from child\n", 11);
    }

  /* The parent's connection still hears data and the end, from its loop. */
  log = ls_test_signal_log_new (conn);
  ls_test_send_and_expect_in_loop (client, conn, "still here\n");
  ls_local_socket_disconnect_from_server (client);
  g_assert_true (ls_test_run_until_log_has (log, "disconnected", SAFETY_MS));

  /* And its server still has its file and accepts from the loop. */
  g_assert_cmpint (lstat (f->path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_true (ls_local_server_is_listening (f->server));
  second = ls_local_socket_new ();
  ls_local_socket_connect_to_server (second, f->path);
  g_assert_true (ls_test_run_until_pending (f->server, SAFETY_MS));

  g_object_unref (second);
  g_object_unref (client);
  g_object_unref (conn);
}

/* ------------------------------------------------------------------------
 * Permission options in a directory another user can write to (no sticky
 * bit): that user swaps the private directory for one of their own whose
 * “s” is a symlink to a root-owned file. Ls must never chmod (or chown)
 * anything outside its private directory. Ls 1.0 turned the 0600 target
 * into 0777 within a few dozen cycles.
 */

static void
attacker_main (const char *shared, const char *target, int stop_fd)
{
  guint serial = 0;

  if (!ls_test_drop_to_nobody ())
    _exit (2);
  /* Until the parent closes the pipe. */
  while (TRUE)
    {
      char byte;
      DIR *dir;
      struct dirent *entry;

      if (read (stop_fd, &byte, 1) == 0)
        _exit (0);
      dir = opendir (shared);
      if (dir == NULL)
        continue;
      while ((entry = readdir (dir)) != NULL)
        {
          g_autofree char *victim = NULL, *moved = NULL, *link = NULL;

          if (entry->d_name[0] != '.' || g_str_equal (entry->d_name, ".") ||
              g_str_equal (entry->d_name, "..") || strstr (entry->d_name, "~") != NULL)
            continue;
          victim = g_build_filename (shared, entry->d_name, NULL);
          moved = g_strdup_printf ("%s~%u", victim, serial++);
          if (rename (victim, moved) != 0 || mkdir (victim, 0777) != 0)
            continue;
          link = g_build_filename (victim, "s", NULL);
          symlink (target, link);
        }
      closedir (dir);
    }
}

static void
test_private_dir_swap (void)
{
  g_autofree char *top = ls_test_make_tmpdir ();
  g_autofree char *shared = g_build_filename (top, "shared", NULL);
  g_autofree char *target = g_build_filename (top, "target", NULL);
  g_autofree char *path = g_build_filename (shared, "sock", NULL);
  guint listened = 0;
  struct stat st;
  int stop[2];
  pid_t pid;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to race as another user");
      ls_test_remove_tmpdir (top);
      return;
    }
  g_assert_cmpint (chmod (top, 0755), ==, 0);
  g_assert_cmpint (mkdir (shared, 0777), ==, 0);
  g_assert_cmpint (chmod (shared, 0777), ==, 0);   /* writable by all, no sticky bit */
  g_assert_true (g_file_set_contents (target, "secret", -1, NULL));
  g_assert_cmpint (chmod (target, 0600), ==, 0);

  /* A non-blocking pipe: the attacker polls it between rounds. */
  g_assert_cmpint (pipe2 (stop, O_CLOEXEC), ==, 0);
  g_assert_cmpint (fcntl (stop[0], F_SETFL, O_NONBLOCK), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      close (stop[1]);
      attacker_main (shared, target, stop[0]);
    }
  close (stop[0]);

  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(LsLocalServer) server = ls_local_server_new ();

      ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
      if (ls_local_server_listen (server, path, NULL))
        {
          listened++;
          g_assert_cmpint (lstat (path, &st), ==, 0);
          g_assert_true (S_ISSOCK (st.st_mode));
          g_assert_cmpint (st.st_mode & 07777, ==, 0700);
        }
      g_assert_cmpint (stat (target, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0600);
      g_assert_cmpint (st.st_uid, ==, 0);
    }
  close (stop[1]);
  g_assert_cmpint (ls_test_wait_child (pid, SAFETY_MS), ==, 0);

  g_test_message ("%u of 1000 listens succeeded under attack", listened);
  g_assert_cmpint (stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (st.st_uid, ==, 0);
  ls_test_remove_tmpdir (top);
}

/* A socket path of 107 bytes (the most sun_path holds) in a 96-byte
 * directory works with permission options: the private directory adds
 * nothing to the length. */
static void
test_options_longest_path (void)
{
  g_autofree char *top = ls_test_make_tmpdir ();
  g_autoptr(GString) dir = g_string_new (top);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  LsLocalSocket *client = ls_local_socket_new ();
  struct stat st;

  g_string_append (dir, "/");
  while (dir->len < 95)
    g_string_append_c (dir, 'd');
  g_assert_cmpint (g_mkdir_with_parents (dir->str, 0700), ==, 0);
  g_assert_cmpuint (dir->len, ==, 95);
  path = g_strdup_printf ("%s/%s", dir->str, "0123456789a");
  g_assert_cmpuint (strlen (path), ==, 107);

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  ls_local_socket_connect_to_server (client, path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_object_unref (client);
  ls_local_server_close (server);
  ls_test_remove_tmpdir (top);
}

/* An abstract name already taken is not “a file”. */
static void
test_abstract_in_use_message (void)
{
  g_autofree char *name = g_strdup_printf ("ls-test-abstract-%d", (int) getpid ());
  g_autoptr(LsLocalServer) first = ls_local_server_new ();
  g_autoptr(LsLocalServer) second = ls_local_server_new ();
  g_autoptr(GError) error = NULL;

  ls_local_server_set_socket_options (first, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  ls_local_server_set_socket_options (second, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (first, name, NULL));
  g_assert_false (ls_local_server_listen (second, name, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, "abstract name"));
  g_assert_null (strstr (error->message, "file"));
}

int
main (int argc, char **argv)
{
  static const gsize sizes[] = { 1024, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024, 64 * 1024 * 1024 };

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *name = g_strdup_printf ("/ls/reliability/half-close/%" G_GSIZE_FORMAT, sizes[i]);
      g_test_add (name, Fixture, GSIZE_TO_POINTER (sizes[i]), fixture_setup,
                  test_half_close_reply, fixture_teardown);
    }
  g_test_add ("/ls/reliability/half-close/peer-gone", Fixture, NULL, fixture_setup,
              test_half_close_peer_gone, fixture_teardown);
  g_test_add ("/ls/reliability/full-buffer-peer-gone/loop", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_full_buffer_peer_gone, fixture_teardown);
  g_test_add ("/ls/reliability/full-buffer-peer-gone/wait", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_full_buffer_peer_gone, fixture_teardown);
  g_test_add ("/ls/reliability/full-buffer-read-on/loop", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_full_buffer_read_on, fixture_teardown);
  g_test_add ("/ls/reliability/full-buffer-read-on/wait", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_full_buffer_read_on, fixture_teardown);
  g_test_add ("/ls/reliability/threads/worker-blocking", Fixture, NULL, fixture_setup,
              test_worker_thread_blocking, fixture_teardown);
  g_test_add ("/ls/reliability/threads/write-from-other-thread", Fixture, NULL, fixture_setup,
              test_write_from_other_thread, fixture_teardown);
  g_test_add ("/ls/reliability/fork/child-drops", Fixture, GINT_TO_POINTER (CHILD_DROPS),
              fixture_setup, test_fork_child, fixture_teardown);
  g_test_add ("/ls/reliability/fork/child-uses", Fixture, GINT_TO_POINTER (CHILD_USES),
              fixture_setup, test_fork_child, fixture_teardown);
  g_test_add ("/ls/reliability/fork/child-closes", Fixture, GINT_TO_POINTER (CHILD_CLOSES),
              fixture_setup, test_fork_child, fixture_teardown);
  g_test_add ("/ls/reliability/fork/child-iterates", Fixture, GINT_TO_POINTER (CHILD_ITERATES),
              fixture_setup, test_fork_child, fixture_teardown);
  g_test_add_func ("/ls/reliability/permissions/private-dir-swap", test_private_dir_swap);
  g_test_add_func ("/ls/reliability/permissions/longest-path", test_options_longest_path);
  g_test_add_func ("/ls/reliability/abstract-in-use-message", test_abstract_in_use_message);

  return g_test_run ();
}
