/* test-reclaim.c: reclaim-stale (issue 15)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Rounds of 8 processes released at once (a pipe the parent closes) on a
 * path that is stale, missing, held by a live server, or taken by a file
 * that is not a socket: exactly one listens on a free or stale path, none
 * otherwise; no other file is ever removed. The same with every permission
 * option while a process running as “nobody” probes the path.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SAFETY_MS   30000
#define PROCESSES   8

typedef enum
{
  PATH_STALE,
  PATH_MISSING,
  PATH_LIVE,
  PATH_REGULAR,
  PATH_SYMLINK_TO_STALE,
  PATH_FULL_BACKLOG,
  N_PATH_KINDS
} PathKind;

static const char *kind_names[] = { "stale", "missing", "live", "regular", "symlink", "full" };

static void
make_stale (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  close (fd);
}

/* Runs one round; returns how many processes listened. */
static guint
run_round (const char *path, LsSocketOptions options)
{
  int barrier[2], results[2], release[2];
  pid_t pids[PROCESSES];
  guint listened = 0;

  g_assert_cmpint (pipe2 (barrier, O_CLOEXEC), ==, 0);
  g_assert_cmpint (pipe2 (results, O_CLOEXEC), ==, 0);
  g_assert_cmpint (pipe2 (release, O_CLOEXEC), ==, 0);
  for (guint i = 0; i < PROCESSES; i++)
    {
      pids[i] = ls_test_fork ();
      if (pids[i] == 0)
        {
          LsLocalServer *server;
          GError *error = NULL;
          char c, result;

          close (barrier[1]);
          close (release[1]);
          /* Released all at once: the parent closes the barrier. */
          while (read (barrier[0], &c, 1) < 0 && errno == EINTR)
            ;
          server = ls_local_server_new ();
          ls_local_server_set_reclaim_stale (server, TRUE);
          ls_local_server_set_socket_options (server, options);
          if (ls_local_server_listen (server, path, &error))
            result = 'L';
          else if (g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE))
            result = 'U';
          else
            result = 'E';
          if (result == 'E')
            g_printerr ("unexpected: %s\n", error->message);
          g_clear_error (&error);
          g_assert_cmpint (write (results[1], &result, 1), ==, 1);
          /* The winner keeps listening until every process has tried. */
          while (read (release[0], &c, 1) < 0 && errno == EINTR)
            ;
          g_object_unref (server);
          _exit (0);
        }
    }
  close (results[1]);
  close (barrier[0]);
  close (barrier[1]);
  for (guint i = 0; i < PROCESSES; i++)
    {
      char result = 0;

      g_assert_cmpint (read (results[0], &result, 1), ==, 1);
      g_assert_cmpint (result, !=, 'E');
      if (result == 'L')
        listened++;
    }
  /* While the winner still listens: the socket has the option's mode. */
  if (listened == 1 && (options & LS_SOCKET_OPTION_WORLD_ACCESS) != 0)
    {
      struct stat st;

      g_assert_cmpint (lstat (path, &st), ==, 0);
      g_assert_true (S_ISSOCK (st.st_mode));
      g_assert_cmpint (st.st_mode & 0777, ==,
                       ((options & LS_SOCKET_OPTION_USER_ACCESS) ? 0700 : 0) |
                       ((options & LS_SOCKET_OPTION_GROUP_ACCESS) ? 0070 : 0) |
                       ((options & LS_SOCKET_OPTION_OTHER_ACCESS) ? 0007 : 0));
    }
  close (release[0]);
  close (release[1]);
  close (results[0]);
  for (guint i = 0; i < PROCESSES; i++)
    ls_test_assert_child_ok (pids[i], SAFETY_MS);
  return listened;
}

static void
stress (guint rounds, LsSocketOptions options, gboolean with_prober)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autofree char *target = g_build_filename (dir, "target", NULL);
  g_autofree char *stop_path = g_build_filename (dir, "stop", NULL);
  guint fds_before = ls_test_count_open_fds ();
  pid_t prober = -1;
  int prober_pipe[2];

  if (with_prober)
    {
      g_assert_cmpint (chmod (dir, 0755), ==, 0);
      g_assert_cmpint (pipe2 (prober_pipe, O_CLOEXEC), ==, 0);
      prober = ls_test_fork ();
      if (prober == 0)
        {
          guint connected = 0;
          char verdict;

          close (prober_pipe[0]);
          if (!ls_test_drop_to_nobody ())
            _exit (3);
          /* Connects as long as the parent runs rounds; reports whether
           * it ever reached a socket it must not reach. */
          while (access (stop_path, F_OK) != 0)
            {
              int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
              struct sockaddr_un addr = { .sun_family = AF_UNIX };

              g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
              if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0)
                connected++;
              close (fd);
            }
          verdict = connected > 0 ? 'C' : 'N';
          g_assert_cmpint (write (prober_pipe[1], &verdict, 1), ==, 1);
          _exit (0);
        }
      close (prober_pipe[1]);
    }

  for (guint round = 0; round < rounds; round++)
    {
      PathKind kind = round % N_PATH_KINDS;
      g_autoptr(LsLocalServer) live = NULL;
      struct stat before, after;
      guint listened;
      int backlog[8];
      guint n_backlog = 0;

      switch (kind)
        {
        case PATH_STALE:
          make_stale (path);
          /* Not reachable for the prober either. */
          chmod (path, 0700);
          break;
        case PATH_MISSING:
          break;
        case PATH_LIVE:
        case PATH_FULL_BACKLOG:
          live = ls_local_server_new ();
          if (kind == PATH_FULL_BACKLOG)
            ls_local_server_set_listen_backlog_size (live, 0);
          ls_local_server_set_socket_options (live, LS_SOCKET_OPTION_USER_ACCESS);
          g_assert_true (ls_local_server_listen (live, path, NULL));
          if (kind == PATH_FULL_BACKLOG)
            {
              /* Fill it: connects now fail with EAGAIN. */
              for (n_backlog = 0; n_backlog < G_N_ELEMENTS (backlog); n_backlog++)
                {
                  struct sockaddr_un addr = { .sun_family = AF_UNIX };

                  backlog[n_backlog] = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
                  if (connect (backlog[n_backlog], (struct sockaddr *) &addr, sizeof addr) != 0)
                    {
                      g_assert_cmpint (errno, ==, EAGAIN);
                      close (backlog[n_backlog]);
                      break;
                    }
                }
              g_assert_cmpuint (n_backlog, <, G_N_ELEMENTS (backlog));
            }
          break;
        case PATH_REGULAR:
          g_assert_true (g_file_set_contents (path, "keep", -1, NULL));
          break;
        case PATH_SYMLINK_TO_STALE:
          make_stale (target);
          g_assert_cmpint (symlink (target, path), ==, 0);
          break;
        default:
          g_assert_not_reached ();
        }
      if (kind != PATH_MISSING)
        g_assert_cmpint (lstat (path, &before), ==, 0);

      listened = run_round (path, options);

      switch (kind)
        {
        case PATH_STALE:
        case PATH_MISSING:
          if (listened != 1)
            g_error ("round %u (%s): %u processes listened", round, kind_names[kind], listened);
          /* The winner removed its own socket when it went. */
          g_assert_cmpint (lstat (path, &after), !=, 0);
          break;
        case PATH_LIVE:
        case PATH_FULL_BACKLOG:
          if (listened != 0)
            g_error ("round %u (%s): %u processes listened", round, kind_names[kind], listened);
          g_assert_cmpint (lstat (path, &after), ==, 0);
          g_assert_true (after.st_ino == before.st_ino);
          for (guint i = 0; i < n_backlog; i++)
            close (backlog[i]);
          /* Take what the probes and fillers left in the backlog... */
          {
            gboolean timed_out;
            LsLocalSocket *socket;

            while (ls_local_server_wait_for_new_connection (live, 0, &timed_out, NULL))
              while ((socket = ls_local_server_next_pending_connection (live)) != NULL)
                g_object_unref (socket);
          }
          /* ...and it is still reachable. */
          {
            int fd = ls_test_raw_connect (path);

            g_assert_cmpint (fd, >=, 0);
            close (fd);
          }
          g_clear_object (&live);
          break;
        case PATH_REGULAR:
        case PATH_SYMLINK_TO_STALE:
          if (listened != 0)
            g_error ("round %u (%s): %u processes listened", round, kind_names[kind], listened);
          g_assert_cmpint (lstat (path, &after), ==, 0);
          g_assert_true (after.st_ino == before.st_ino);
          g_assert_cmpint (unlink (path), ==, 0);
          if (kind == PATH_SYMLINK_TO_STALE)
            {
              /* The target stale socket is untouched too. */
              g_assert_cmpint (lstat (target, &after), ==, 0);
              g_assert_true (S_ISSOCK (after.st_mode));
              g_assert_cmpint (unlink (target), ==, 0);
            }
          break;
        default:
          g_assert_not_reached ();
        }
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }

  if (prober > 0)
    {
      char verdict = 0;
      gboolean nobody_may_connect = (options & LS_SOCKET_OPTION_OTHER_ACCESS) != 0;

      g_assert_true (g_file_set_contents (stop_path, "", -1, NULL));
      g_assert_cmpint (read (prober_pipe[0], &verdict, 1), ==, 1);
      close (prober_pipe[0]);
      ls_test_assert_child_ok (prober, SAFETY_MS);
      /* Never a window where the socket had a looser mode. */
      if (!nobody_may_connect)
        g_assert_cmpint (verdict, ==, 'N');
    }

  /* The lock file stays (by design), empty. */
  {
    g_autofree char *lock = g_strconcat (path, ".lock", NULL);
    struct stat st;

    g_assert_cmpint (lstat (lock, &st), ==, 0);
    g_assert_true (S_ISREG (st.st_mode));
    g_assert_cmpint (st.st_size, ==, 0);
  }
  ls_test_remove_tmpdir (dir);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds_before);
}

static guint
rounds (guint quick, guint slow)
{
  return g_test_slow () ? slow : quick;
}

static void
test_stress (void)
{
  stress (rounds (200, 1000), LS_SOCKET_OPTION_NONE, FALSE);
}

static void
test_stress_options (gconstpointer data)
{
  stress (rounds (48, 200), GPOINTER_TO_UINT (data), TRUE);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* Single-process behaviour, property and notify. */
static void
test_basics (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalServer) second = ls_local_server_new ();
  GError *error = NULL;
  guint notified = 0;

  g_assert_false (ls_local_server_get_reclaim_stale (server));
  g_signal_connect (server, "notify::reclaim-stale", G_CALLBACK (count_notify), &notified);
  ls_local_server_set_reclaim_stale (server, TRUE);
  ls_local_server_set_reclaim_stale (server, TRUE);
  g_assert_true (ls_local_server_get_reclaim_stale (server));
  g_assert_cmpuint (notified, ==, 1);

  /* Without the property a stale socket is in the way. */
  make_stale (path);
  g_assert_false (ls_local_server_listen (second, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);

  /* A live one is not replaced. */
  ls_local_server_set_reclaim_stale (second, TRUE);
  g_assert_false (ls_local_server_listen (second, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "listening"));
  g_clear_error (&error);
  ls_local_server_close (server);
  ls_test_remove_tmpdir (dir);
}

/* ------------------------------------------------------------------------ */
/* A reclaimer racing plain listens (issue 23 item 8)                        */
/* ------------------------------------------------------------------------ */

#define RACE_ROUNDS   300
#define RACE_PLAIN    3
#define RACE_RECLAIM  2

/* Whether a connect to @path reaches this very process's listening socket
 * (SO_PEERCRED of a connection to a listening socket names the process
 * that listened). Other racers' probes may fill @server's backlog
 * meanwhile: those are taken and dropped until there is room. Prints why
 * not. */
static gboolean
reaches_this_process (LsLocalServer *server,
                      const char    *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct ucred cred = { 0 };
  socklen_t len = sizeof cred;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  gboolean ok;

  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  while (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      LsLocalSocket *socket;
      gboolean timed_out;

      if (errno != EAGAIN && errno != EINTR)
        {
          g_printerr ("%d: connect to a socket it listens on failed: %s\n", (int) getpid (),
                      g_strerror (errno));
          close (fd);
          return FALSE;
        }
      while (ls_local_server_wait_for_new_connection (server, 0, &timed_out, NULL))
        while ((socket = ls_local_server_next_pending_connection (server)) != NULL)
          g_object_unref (socket);
    }
  ok = getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == getpid ();
  if (!ok)
    g_printerr ("%d: its socket file was replaced: a connect reached process %d\n",
                (int) getpid (), (int) cred.pid);
  close (fd);
  return ok;
}

/* One process of the race, released by @barrier: RACE_ROUNDS listens on
 * @path, with reclaim-stale or without, with a mode every other round.
 * Every listen that works must own the path until it closes: nobody judged
 * its socket stale. Exits 0, or 1 at the first violation. */
static void
race_listener (const char *path,
               gboolean    reclaim,
               int         barrier)
{
  char c;

  while (read (barrier, &c, 1) < 0 && errno == EINTR)
    ;
  for (guint round = 0; round < RACE_ROUNDS; round++)
    {
      g_autoptr(LsLocalServer) server = ls_local_server_new ();
      g_autoptr(GError) error = NULL;

      ls_local_server_set_reclaim_stale (server, reclaim);
      if (round % 2 == 1)
        ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
      if (ls_local_server_listen (server, path, &error))
        {
          if (!reaches_this_process (server, path))
            _exit (1);
        }
      else if (!g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE))
        {
          g_printerr ("%d: unexpected: %s\n", (int) getpid (), error->message);
          _exit (2);
        }
    }
  _exit (0);
}

/* Plain listens and reclaiming ones on the same path, in processes of
 * their own: a reclaimer never takes a starting server's socket for a
 * stale one, so never removes a live socket. Before, a plain bind() showed
 * a socket that refused connections until listen(). */
static void
test_race_plain_listens (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  pid_t pids[RACE_PLAIN + RACE_RECLAIM];
  g_autoptr(GDir) listing = NULL;
  int barrier[2];

  g_assert_cmpint (pipe2 (barrier, O_CLOEXEC), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      pids[i] = ls_test_fork ();
      if (pids[i] == 0)
        {
          close (barrier[1]);
          race_listener (path, i >= RACE_PLAIN, barrier[0]);
        }
    }
  close (barrier[0]);
  close (barrier[1]);
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    ls_test_assert_child_ok (pids[i], 10 * SAFETY_MS);

  /* Every server removed its own socket; no private directory is left. */
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "s.lock");
  g_assert_null (g_dir_read_name (listing));
  ls_test_remove_tmpdir (dir);
}

/* A reclaiming listen on @path: TRUE if it listens (then closes), else
 * @error set. */
static gboolean
reclaim_listen (const char *path, GError **error)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();

  ls_local_server_set_reclaim_stale (server, TRUE);
  return ls_local_server_listen (server, path, error);
}

/* A directory anyone may enter, with the path of a socket and its lock. */
typedef struct
{
  char *dir;
  char *path;
  char *lock;
} LockFixture;

static void
lock_fixture_setup (LockFixture *f, gconstpointer data)
{
  f->dir = ls_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "s", NULL);
  f->lock = g_strconcat (f->path, ".lock", NULL);
  g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
}

static void
lock_fixture_teardown (LockFixture *f, gconstpointer data)
{
  ls_test_remove_tmpdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->lock);
}

static gboolean
have_nobody (void)
{
  if (getuid () == 0 && getpwnam ("nobody") != NULL)
    return TRUE;
  g_test_skip ("needs root and a “nobody” user");
  return FALSE;
}

/* A process of user “nobody” that opened the lock file and tried to take
 * it as a reclaimer would: @answer is 'H' (held) or 'N'. It holds on
 * until stop_lock_holder (). */
typedef struct
{
  pid_t pid;
  int   release;
  char  answer;
} LockHolder;

static LockHolder
start_lock_holder (const char *lock)
{
  LockHolder holder = { 0 };
  int verdict[2], release[2];

  g_assert_cmpint (pipe2 (verdict, O_CLOEXEC), ==, 0);
  g_assert_cmpint (pipe2 (release, O_CLOEXEC), ==, 0);
  holder.pid = ls_test_fork ();
  if (holder.pid == 0)
    {
      char answer = 'N', c;
      int fd;

      close (verdict[0]);
      close (release[1]);
      if (!ls_test_drop_to_nobody ())
        _exit (3);
      fd = open (lock, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) == 0)
        answer = 'H';
      if (write (verdict[1], &answer, 1) != 1)
        _exit (4);
      while (read (release[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (verdict[1]);
  close (release[0]);
  g_assert_cmpint (read (verdict[0], &holder.answer, 1), ==, 1);
  close (verdict[0]);
  holder.release = release[1];
  return holder;
}

static void
stop_lock_holder (LockHolder *holder)
{
  close (holder->release);
  ls_test_assert_child_ok (holder->pid, SAFETY_MS);
}

/* Issue 23 item 6: another user who cannot remove the socket cannot hold
 * its lock either, so cannot make a reclaiming listen fail: the lock file
 * is 0600 whatever the umask, and an older one left readable (0644) is
 * made so too. The other user tries while the listen runs. */
static void
test_lock_other_user (LockFixture *f, gconstpointer data)
{
  if (!have_nobody ())
    return;

  for (guint round = 0; round < 2; round++)
    {
      GError *error = NULL;
      LockHolder holder;
      struct stat st;
      mode_t old_umask = umask (0);

      /* Round 0: no lock file yet, and a umask that would leave it open to
       * all. Round 1: a lock file as an older version left it. */
      if (round == 1)
        g_assert_cmpint (chmod (f->lock, 0644), ==, 0);
      g_assert_true (reclaim_listen (f->path, &error));
      g_assert_no_error (error);
      umask (old_umask);

      make_stale (f->path);
      holder = start_lock_holder (f->lock);

      /* Replaces the stale socket, whatever the other user did. */
      g_assert_true (reclaim_listen (f->path, &error));
      g_assert_no_error (error);
      g_assert_cmpint (holder.answer, ==, 'N');
      g_assert_cmpint (lstat (f->lock, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0600);
      g_assert_cmpuint (st.st_uid, ==, 0);

      stop_lock_holder (&holder);
    }
}

/* Who opened an older, readable lock file before a listen made it private
 * keeps it open (a descriptor cannot be taken back): while they hold it,
 * the listen says so and how to get rid of it. Once it is removed, they
 * hold nothing that matters. */
static void
test_lock_opened_before (LockFixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;
  GError *error = NULL;
  LockHolder holder;
  int fd;

  if (!have_nobody ())
    return;
  fd = open (f->lock, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fchmod (fd, 0644), ==, 0);
  close (fd);
  make_stale (f->path);

  holder = start_lock_holder (f->lock);
  g_assert_cmpint (holder.answer, ==, 'H');

  expected = g_strdup_printf ("Cannot listen on “%s”: Address in use (the lock file “%s” that "
                              "guards reclaiming a stale socket is held by another process, and "
                              "other users could open it until now (an older Ls made it so); "
                              "remove it if no server is starting there)", f->path, f->lock);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_cmpint (unlink (f->lock), ==, 0);
  g_assert_true (reclaim_listen (f->path, &error));
  g_assert_no_error (error);
  stop_lock_holder (&holder);
}

/* A lock file another user made beforehand (in a directory anyone may
 * write to, as /tmp) is refused, not trusted: that user could hold it.
 * They could equally have taken the socket's name; the lock gives them no
 * more. Nothing is touched; without it, the listen works. */
static void
test_lock_of_another_user (LockFixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;
  struct stat before, after, socket_before, socket_after;
  GError *error = NULL;
  pid_t pid;

  if (!have_nobody ())
    return;
  g_assert_cmpint (chmod (f->dir, 01777), ==, 0);
  make_stale (f->path);

  pid = ls_test_fork ();
  if (pid == 0)
    {
      int fd;

      if (!ls_test_drop_to_nobody ())
        _exit (3);
      umask (022);
      fd = open (f->lock, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      _exit (fd >= 0 ? 0 : 4);
    }
  ls_test_assert_child_ok (pid, SAFETY_MS);
  g_assert_cmpint (lstat (f->lock, &before), ==, 0);
  g_assert_cmpint (lstat (f->path, &socket_before), ==, 0);

  expected = g_strdup_printf ("Cannot listen on “%s”: Permission denied (the lock file “%s” "
                              "that guards reclaiming a stale socket belongs to another user "
                              "(uid %u), who could hold it; remove it if no server is starting "
                              "there)", f->path, f->lock, (guint) before.st_uid);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_ACCESS);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_assert_cmpint (lstat (f->lock, &after), ==, 0);
  g_assert_cmpint (after.st_ino, ==, before.st_ino);
  g_assert_cmpint (after.st_mode, ==, before.st_mode);
  g_assert_cmpint (after.st_uid, ==, before.st_uid);
  g_assert_cmpint (lstat (f->path, &socket_after), ==, 0);
  g_assert_cmpint (socket_after.st_ino, ==, socket_before.st_ino);

  g_assert_cmpint (unlink (f->lock), ==, 0);
  g_assert_true (reclaim_listen (f->path, &error));
  g_assert_no_error (error);
}

/* Whatever is at the lock's path that is not a lock file of ours: a
 * symbolic link (never followed), a FIFO, a directory (refused at once,
 * never waited on), an open lock file with a second name (maybe another
 * file: its mode is left alone). The stale socket stays. */
static void
test_lock_hostile (LockFixture *f, gconstpointer data)
{
  g_autofree char *target = g_build_filename (f->dir, "target", NULL);
  g_autofree char *contents = NULL;
  GError *error = NULL;
  struct stat st;

  make_stale (f->path);
  g_assert_true (g_file_set_contents (target, "keep", -1, NULL));
  g_assert_cmpint (chmod (target, 0644), ==, 0);

  g_assert_cmpint (symlink (target, f->lock), ==, 0);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "is a symbolic link; it is left alone"));
  g_clear_error (&error);
  g_assert_cmpint (unlink (f->lock), ==, 0);

  g_assert_cmpint (mkfifo (f->lock, 0600), ==, 0);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "is a FIFO, not a regular file"));
  g_clear_error (&error);
  g_assert_cmpint (unlink (f->lock), ==, 0);

  g_assert_cmpint (mkdir (f->lock, 0700), ==, 0);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "is a directory, not a regular file"));
  g_clear_error (&error);
  g_assert_cmpint (rmdir (f->lock), ==, 0);

  g_assert_cmpint (link (target, f->lock), ==, 0);
  g_assert_false (reclaim_listen (f->path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_ACCESS);
  g_assert_nonnull (strstr (error->message, "can be opened by other users, and has 2 names"));
  g_clear_error (&error);
  g_assert_cmpint (unlink (f->lock), ==, 0);

  /* The target of the link and the hard link is as it was. */
  g_assert_cmpint (lstat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep");
  g_assert_cmpint (lstat (f->path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));

  g_assert_true (reclaim_listen (f->path, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/ls/reclaim/basics", test_basics);
  g_test_add_func ("/ls/reclaim/stress", test_stress);
  g_test_add_func ("/ls/reclaim/race-plain-listens", test_race_plain_listens);
#define ADD_LOCK_TEST(name, func) \
  g_test_add (name, LockFixture, NULL, lock_fixture_setup, func, lock_fixture_teardown)
  ADD_LOCK_TEST ("/ls/reclaim/lock-other-user", test_lock_other_user);
  ADD_LOCK_TEST ("/ls/reclaim/lock-opened-before", test_lock_opened_before);
  ADD_LOCK_TEST ("/ls/reclaim/lock-of-another-user", test_lock_of_another_user);
  ADD_LOCK_TEST ("/ls/reclaim/lock-hostile", test_lock_hostile);
  g_test_add_data_func ("/ls/reclaim/stress-user", GUINT_TO_POINTER (LS_SOCKET_OPTION_USER_ACCESS), test_stress_options);
  g_test_add_data_func ("/ls/reclaim/stress-group", GUINT_TO_POINTER (LS_SOCKET_OPTION_GROUP_ACCESS), test_stress_options);
  g_test_add_data_func ("/ls/reclaim/stress-other", GUINT_TO_POINTER (LS_SOCKET_OPTION_OTHER_ACCESS), test_stress_options);
  g_test_add_data_func ("/ls/reclaim/stress-world", GUINT_TO_POINTER (LS_SOCKET_OPTION_WORLD_ACCESS), test_stress_options);
  return g_test_run ();
}
