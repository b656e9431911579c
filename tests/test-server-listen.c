/* test-server-listen.c: LsLocalServer listen(): relative, absolute and abstract names, backlog, twice
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>


/* Listening, with the file at @path; the socket's own address is the
 * private name it was bound under before the file appeared. */
static void
assert_bound_path (LsLocalServer *server,
                   const char    *path)
{
  int fd = ls_local_server_get_socket_descriptor (server);
  int value = 0;
  socklen_t vlen = sizeof value;
  struct stat st;

  g_assert_cmpint (fd, >=, 0);
  ls_test_assert_private_address (fd, FALSE, path);
  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &vlen), ==, 0);
  g_assert_cmpint (value, !=, 0);
}

static void
test_listen_relative (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *dir2 = ls_test_make_tmpdir ();
  g_autofree char *slashed = g_strconcat (dir, "/", NULL);
  g_autofree char *full = g_build_filename (dir, "srv", NULL);
  g_autofree char *full2 = g_build_filename (dir, "srv2", NULL);
  g_autofree char *full3 = g_build_filename (dir2, "srv", NULL);
  g_autofree char *dotted = g_strconcat (dir, "/./srv4", NULL);
  g_autofree char *tmp_name = ls_test_unique_name ("rel");
  g_autofree char *tmp_name2 = ls_test_unique_name ("rel2");
  g_autofree char *tmp_full = g_build_filename ("/tmp", tmp_name, NULL);
  g_autofree char *tmp_full2 = g_build_filename ("/tmp", tmp_name2, NULL);
  LsLocalServer *s1, *s2, *s3, *s4, *s5, *s6;

  s1 = ls_test_listening_server ("srv");
  ls_test_assert_names (s1, "srv", full);
  g_assert_true (ls_test_path_is_socket (full));
  assert_bound_path (s1, full);
  ls_test_assert_serves (s1, full, FALSE);

  /* $TMPDIR is re-read on every call and cleaned of a trailing slash. */
  g_setenv ("TMPDIR", slashed, TRUE);
  s2 = ls_test_listening_server ("srv2");
  ls_test_assert_names (s2, "srv2", full2);
  g_assert_true (ls_test_path_is_socket (full2));

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
  s3 = ls_test_listening_server ("srv");
  ls_test_assert_names (s3, "srv", full3);
  g_assert_true (ls_test_path_is_socket (full3));
  ls_test_assert_serves (s3, full3, FALSE);

  /* The name itself is not cleaned (Qt): "./srv4" stays in the path. */
  g_setenv ("TMPDIR", dir, TRUE);
  s4 = ls_test_listening_server ("./srv4");
  ls_test_assert_names (s4, "./srv4", dotted);
  g_assert_true (ls_test_path_is_socket (dotted));

  /* Empty or unset $TMPDIR means /tmp. */
  g_setenv ("TMPDIR", "", TRUE);
  s5 = ls_test_listening_server (tmp_name);
  ls_test_assert_names (s5, tmp_name, tmp_full);
  g_assert_true (ls_test_path_is_socket (tmp_full));
  g_unsetenv ("TMPDIR");
  s6 = ls_test_listening_server (tmp_name2);
  ls_test_assert_names (s6, tmp_name2, tmp_full2);
  g_assert_true (ls_test_path_is_socket (tmp_full2));

  ls_local_server_close (s1);
  ls_local_server_close (s2);
  ls_local_server_close (s3);
  ls_local_server_close (s4);
  ls_local_server_close (s5);
  ls_local_server_close (s6);
  g_assert_false (ls_test_path_exists (full));
  g_assert_false (ls_test_path_exists (full2));
  g_assert_false (ls_test_path_exists (full3));
  g_assert_false (ls_test_path_exists (dotted));
  g_assert_false (ls_test_path_exists (tmp_full));
  g_assert_false (ls_test_path_exists (tmp_full2));
  g_object_unref (s1);
  g_object_unref (s2);
  g_object_unref (s3);
  g_object_unref (s4);
  g_object_unref (s5);
  g_object_unref (s6);

  ls_test_remove_tmpdir (dir2);
}

static void
test_listen_absolute (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *path = g_build_filename (dir, "abs", NULL);
  g_autofree char *unclean = g_strconcat (dir, "//./abs2", NULL);
  g_autofree char *clean = g_build_filename (dir, "abs2", NULL);
  g_autofree char *listing = NULL;
  LsLocalServer *s1, *s2;

  /* Absolute names ignore $TMPDIR and are used verbatim. */
  g_setenv ("TMPDIR", "/nonexistent-ls-dir", TRUE);
  s1 = ls_test_listening_server (path);
  ls_test_assert_names (s1, path, path);
  g_assert_true (ls_test_path_is_socket (path));
  assert_bound_path (s1, path);
  ls_test_assert_serves (s1, path, FALSE);

  s2 = ls_test_listening_server (unclean);
  ls_test_assert_names (s2, unclean, unclean);
  assert_bound_path (s2, unclean);
  g_assert_true (ls_test_path_is_socket (clean));
  ls_test_assert_serves (s2, unclean, FALSE);

  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "abs,abs2");

  g_object_unref (s1);
  g_object_unref (s2);
  /* dispose closes and removes the files. */
  g_clear_pointer (&listing, g_free);
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

}

static void
test_listen_abstract (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *name = ls_test_unique_name ("abstract");
  g_autofree char *in_tmp = g_build_filename ("/tmp", name, NULL);
  g_autofree char *in_dir = g_build_filename (dir, name, NULL);
  g_autofree char *slash_name = g_build_filename (dir, "abs-path-like", NULL);
  g_autofree char *listing = NULL;
  LsLocalServer *server = ls_local_server_new ();
  LsLocalServer *other = ls_local_server_new ();
  LsLocalServer *third = ls_local_server_new ();
  GError *error = NULL;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *socket;
  int fd;

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_true (ls_local_server_listen (server, name, &error));
  g_assert_no_error (error);
  ls_test_assert_names (server, name, name);
  ls_test_assert_bound_abstract (server, name);
  g_assert_false (ls_test_path_exists (in_tmp));
  g_assert_false (ls_test_path_exists (in_dir));
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* A padded address is a different abstract name. */
  g_assert_cmpint (ls_test_raw_connect_abstract (name, TRUE), ==, -1);
  g_assert_cmpint (errno, ==, ECONNREFUSED);

  fd = ls_test_raw_connect_abstract (name, FALSE);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (ls_test_wait_count (log, 1, 5000));
  socket = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (socket);
  g_assert_cmpstr (ls_local_socket_get_server_name (socket), ==, name);
  g_assert_cmpstr (ls_local_socket_get_full_server_name (socket), ==, name);
  ls_test_assert_exchange (socket, fd, "abstract");
  g_object_unref (socket);
  close (fd);

  /* The abstract name is taken. */
  ls_local_server_set_socket_options (other, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  g_assert_false (ls_local_server_listen (other, name, &error));
  ls_test_assert_server_failure (other, error, LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen", name);
  g_clear_error (&error);
  g_assert_false (ls_local_server_is_listening (other));

  /* A name that looks like a path, with permission bits: still no file. */
  ls_local_server_set_socket_options (third, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE |
                                             LS_SOCKET_OPTION_WORLD_ACCESS);
  g_assert_true (ls_local_server_listen (third, slash_name, &error));
  g_assert_no_error (error);
  ls_test_assert_names (third, slash_name, slash_name);
  ls_test_assert_bound_abstract (third, slash_name);
  g_assert_false (ls_test_path_exists (slash_name));
  ls_test_assert_serves (third, slash_name, TRUE);
  g_clear_pointer (&listing, g_free);
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");

  /* After close the name is free again. */
  ls_local_server_close (server);
  g_assert_true (ls_local_server_listen (other, name, &error));
  g_assert_no_error (error);
  ls_test_assert_serves (other, name, TRUE);

  g_object_unref (server);
  g_object_unref (other);
  g_object_unref (third);
}

static void
test_listen_backlog (LsTestFixture *f,
                     gconstpointer  test_data)
{
  const char *dir = f->dir;
  const char *path = f->path;
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
      socklen_t len = ls_test_fill_address (&addr, path, FALSE);
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

      g_assert_cmpint (fd, >=, 0);
      g_array_append_val (fds, fd);
      if (connect (fd, (struct sockaddr *) &addr, len) == 0)
        small_ok++;
      else
        g_assert_cmpint (errno, ==, EAGAIN);

      len = ls_test_fill_address (&addr, path2, FALSE);
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

  ls_test_close_fds ((int *) fds->data, fds->len);
  g_array_free (fds, TRUE);
  g_object_unref (small);
  g_object_unref (dflt);
}

static void
test_listen_twice (LsTestFixture *f,
                   gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *p1 = g_build_filename (dir, "one", NULL);
  g_autofree char *p2 = g_build_filename (dir, "two", NULL);
  g_autofree char *p3 = g_build_filename (dir, "three", NULL);
  LsLocalServer *server = ls_test_listening_server (p1);
  GError *error = NULL;
  int fd, value = 0, fd_before;
  socklen_t len = sizeof value;

  fd_before = ls_local_server_get_socket_descriptor (server);

  g_assert_false (ls_local_server_listen (server, p2, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_contains (error->message, "listen");
  /* It names the server it is already listening on, or the new name. */
  if (strstr (error->message, p1) == NULL)
    ls_test_assert_contains (error->message, p2);
  g_clear_error (&error);
  g_assert_false (ls_test_path_exists (p2));

  g_assert_false (ls_local_server_listen (server, p1, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);

  /* Adopting a descriptor while listening fails too, and leaves it alone. */
  fd = ls_test_make_unix_socket (p3, FALSE, SOCK_STREAM, TRUE);
  g_assert_false (ls_local_server_listen_socket_descriptor (server, fd, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_true (ls_test_fd_is_open (fd));
  g_assert_cmpint (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len), ==, 0);
  g_assert_cmpint (value, !=, 0);
  close (fd);

  /* The first listener is unaffected. */
  g_assert_true (ls_local_server_is_listening (server));
  ls_test_assert_names (server, p1, p1);
  g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, fd_before);
  g_assert_true (ls_test_path_is_socket (p1));
  ls_test_assert_serves (server, p1, FALSE);

  g_object_unref (server);
}

/* ------------------------------------------------------------------------ */
/* A socket file appears only once it listens (issue 23 item 8)             */
/* ------------------------------------------------------------------------ */

#define APPEAR_ROUNDS 300

typedef struct
{
  const char *dir;
  gint        target;    /* the round the client is connecting in */
  gint        reached;   /* rounds whose server the client reached */
  gint        refused;   /* connects refused by a file that was there */
  gint        stop;
} Appear;

static char *
appear_path (const char *dir,
             guint       round)
{
  return g_strdup_printf ("%s/r%u", dir, round);
}

/* connect() to @path without blocking: 0 or the errno. */
static int
try_connect (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int result = 0;

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    result = errno;
  close (fd);
  return result;
}

/* Connects to each round's path as fast as it can, from before its server
 * starts until it is reached: nothing there (ENOENT) is fine, a refusal is
 * a socket file that was visible before it listened. */
static gpointer
appear_client (gpointer data)
{
  Appear *a = data;

  for (guint round = 0; round < APPEAR_ROUNDS; round++)
    {
      g_autofree char *path = appear_path (a->dir, round);

      g_atomic_int_set (&a->target, round);
      for (;;)
        {
          int result = try_connect (path);

          if (result == 0 || result == EAGAIN)
            break;
          if (result == ECONNREFUSED)
            g_atomic_int_inc (&a->refused);
          else
            g_assert_cmpint (result, ==, ENOENT);
          if (g_atomic_int_get (&a->stop))
            return NULL;
        }
      g_atomic_int_set (&a->reached, round + 1);
    }
  return NULL;
}

/* Servers start (without options, with a mode, reclaiming) while a client
 * connects to their path in a loop: it never finds the file before the
 * socket listens. Before, a plain bind() showed it 10-25 % of the time. */
static void
test_listen_appears_listening (LsTestFixture *f,
                               gconstpointer  test_data)
{
  Appear a = { f->dir, -1, 0, 0, 0 };
  GThread *client = g_thread_new ("appear-client", appear_client, &a);

  for (guint round = 0; round < APPEAR_ROUNDS; round++)
    {
      g_autofree char *path = appear_path (f->dir, round);
      g_autoptr(LsLocalServer) server = ls_local_server_new ();
      g_autoptr(GError) error = NULL;

      /* Once the client is knocking. */
      while (g_atomic_int_get (&a.target) != (gint) round)
        g_thread_yield ();
      if (round % 3 == 1)
        ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
      else if (round % 3 == 2)
        ls_local_server_set_reclaim_stale (server, TRUE);
      if (!ls_local_server_listen (server, path, &error))
        {
          g_atomic_int_set (&a.stop, TRUE);
          g_assert_no_error (error);
        }
      while (g_atomic_int_get (&a.reached) <= (gint) round)
        g_thread_yield ();
      ls_local_server_close (server);
      g_assert_false (ls_test_path_exists (path));
      if (round % 3 == 2)
        {
          g_autofree char *lock = g_strconcat (path, ".lock", NULL);

          g_assert_cmpint (unlink (lock), ==, 0);
        }
    }
  g_thread_join (client);
  g_assert_cmpint (a.refused, ==, 0);
  g_assert_cmpint (a.reached, ==, APPEAR_ROUNDS);
}

/* Whatever the final path and the room left for the private name it is
 * bound under first (the name itself, a shorter private directory, or
 * /proc/self/fd), the socket listens at the path, with its mode, and
 * nothing else is left in the directory. */
static void
test_listen_private_name_lengths (LsTestFixture *f,
                                  gconstpointer  test_data)
{
  gsize max = sizeof ((struct sockaddr_un *) NULL)->sun_path - 1;
  const gsize dir_lengths[] = { 0, 20, max - 12, max - 9, max - 8, max - 4, max - 2 };

  for (guint i = 0; i < G_N_ELEMENTS (dir_lengths); i++)
    for (LsSocketOptions options = LS_SOCKET_OPTION_NONE;
         options <= LS_SOCKET_OPTION_USER_ACCESS; options++)
      {
        g_autoptr(GString) dir = g_string_new (f->dir);
        g_autoptr(LsLocalServer) server = ls_local_server_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *path = NULL;
        g_autofree char *name = NULL;
        g_autoptr(GDir) listing = NULL;
        struct stat st;

        /* A subdirectory of the wanted length, and the longest name that
         * fits after it. */
        if (dir->len < dir_lengths[i])
          {
            g_string_append (dir, "/");
            while (dir->len < dir_lengths[i])
              g_string_append_c (dir, 'd');
            g_assert_cmpint (mkdir (dir->str, 0700), ==, 0);
          }
        name = g_strnfill (max - dir->len - 1, 'n');
        path = g_build_filename (dir->str, name, NULL);
        g_assert_cmpuint (strlen (path), ==, max);

        ls_local_server_set_socket_options (server, options);
        g_assert_true (ls_local_server_listen (server, path, &error));
        g_assert_no_error (error);
        g_assert_cmpint (lstat (path, &st), ==, 0);
        g_assert_true (S_ISSOCK (st.st_mode));
        if (options != LS_SOCKET_OPTION_NONE)
          g_assert_cmpint (st.st_mode & 0777, ==, 0700);
        ls_test_assert_serves (server, path, FALSE);
        listing = g_dir_open (dir->str, 0, NULL);
        g_assert_cmpstr (g_dir_read_name (listing), ==, name);
        g_assert_null (g_dir_read_name (listing));
        ls_local_server_close (server);
        g_assert_false (ls_test_path_exists (path));
        if (strcmp (dir->str, f->dir) != 0)
          g_assert_cmpint (rmdir (dir->str), ==, 0);
      }
}

/* A directory of @dir_length bytes under @base (made), and the path in it
 * whose name makes it exactly as long as a socket address holds. */
static char *
longest_path_in (const char *base,
                 gsize       dir_length,
                 char      **dir_out)
{
  gsize max = sizeof ((struct sockaddr_un *) NULL)->sun_path - 1;
  g_autoptr(GString) dir = g_string_new (base);
  g_autofree char *name = NULL;

  g_string_append (dir, "/");
  while (dir->len < dir_length)
    g_string_append_c (dir, 'd');
  g_assert_cmpint (mkdir (dir->str, 0700), ==, 0);
  name = g_strnfill (max - dir->len - 1, 'n');
  *dir_out = g_strdup (dir->str);
  return g_build_filename (dir->str, name, NULL);
}

/* Without /proc (a container may have none), the private name is a path:
 * a shorter private directory makes it fit where the final path does,
 * down to a 3-byte name; below that a plain listen binds under a
 * temporary name beside the final one, and one with a mode to apply
 * fails cleanly (Name error), leaving nothing behind. Run in a mount
 * namespace of its own. */
static void
test_listen_private_name_without_proc (LsTestFixture *f,
                                       gconstpointer  test_data)
{
  gsize max = sizeof ((struct sockaddr_un *) NULL)->sun_path - 1;
  pid_t pid;

  if (getuid () != 0)
    {
      g_test_skip ("needs root, to hide /proc in a mount namespace");
      return;
    }
  pid = ls_test_fork ();
  if (pid == 0)
    {
      g_autofree char *dir3 = NULL, *dir1 = NULL;
      g_autofree char *name3 = longest_path_in (f->dir, max - 4, &dir3);
      g_autofree char *name1 = longest_path_in (f->dir, max - 2, &dir1);

      if (unshare (CLONE_NEWNS) != 0 ||
          mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
          mount ("none", "/proc", "tmpfs", 0, NULL) != 0)
        _exit (77);
      g_assert_false (g_file_test ("/proc/self/fd", G_FILE_TEST_EXISTS));

      for (LsSocketOptions options = LS_SOCKET_OPTION_NONE;
           options <= LS_SOCKET_OPTION_USER_ACCESS; options++)
        {
          g_autoptr(LsLocalServer) server = ls_local_server_new ();
          g_autoptr(LsLocalServer) too_short = ls_local_server_new ();
          g_autoptr(GError) error = NULL;
          g_autoptr(GDir) listing = NULL;

          ls_local_server_set_socket_options (server, options);
          g_assert_true (ls_local_server_listen (server, name3, &error));
          g_assert_no_error (error);
          ls_test_assert_serves (server, name3, FALSE);
          ls_local_server_close (server);

          ls_local_server_set_socket_options (too_short, options);
          if (options == LS_SOCKET_OPTION_NONE)
            {
              g_assert_true (ls_local_server_listen (too_short, name1, &error));
              g_assert_no_error (error);
              ls_test_assert_serves (too_short, name1, FALSE);
              ls_local_server_close (too_short);
            }
          else
            {
              g_assert_false (ls_local_server_listen (too_short, name1, &error));
              g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
              ls_test_assert_contains (error->message, "/proc");
            }
          listing = g_dir_open (dir1, 0, NULL);
          g_assert_null (g_dir_read_name (listing));
        }
      g_assert_cmpint (rmdir (dir3), ==, 0);
      g_assert_cmpint (rmdir (dir1), ==, 0);
      _exit (0);
    }
  {
    int status = ls_test_wait_child (pid, 30000);

    g_assert_true (WIFEXITED (status));
    if (WEXITSTATUS (status) == 77)
      g_test_skip ("no mount namespace here");
    else
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/listen/relative", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_relative, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/absolute", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_absolute, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/abstract", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_abstract, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/backlog", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_backlog, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/twice", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_twice, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/appears-listening", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_appears_listening, ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/private-name-lengths", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_private_name_lengths,
              ls_test_fixture_teardown);
  g_test_add ("/ls/server/listen/private-name-without-proc", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_listen_private_name_without_proc,
              ls_test_fixture_teardown);

  return g_test_run ();
}
