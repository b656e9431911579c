/* test-socket-file.c: unit tests of the socket file a server creates
 * (lib/src/ls-socket-file.c): bind with a mode, never over an existing
 * file, removal of our own file only, remove_server's checks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-socket-file-private.h"
#include "ls-test-proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;     /* a private directory under /tmp, short enough for any test path */
  char *path;    /* dir/s */
  int   fd;      /* an unbound AF_UNIX stream socket */
} Fixture;

static int
new_socket (void)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  char template[] = "/tmp/ls-sf-XXXXXX";

  g_assert_nonnull (mkdtemp (template));
  f->dir = g_strdup (template);
  f->path = g_build_filename (f->dir, "s", NULL);
  f->fd = new_socket ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  close (f->fd);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      if (g_rmdir (path) != 0)
        g_unlink (path);
    }
  g_assert_no_errno (g_rmdir (f->dir));
  g_free (f->path);
  g_free (f->dir);
}

/* Nothing but @expected (or nothing) is left in the test directory: the
 * private directory used to apply a mode is always removed. */
static void
assert_dir_holds (Fixture    *f,
                  const char *expected)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_assert_cmpstr (name, ==, expected);
      count++;
    }
  g_assert_cmpuint (count, ==, expected != NULL ? 1 : 0);
}

static void
bind_ok (LsSocketFile *file,
         int           fd,
         const char   *path,
         mode_t        mode)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ls_socket_file_open (file, path, &error));
  g_assert_no_error (error);
  g_assert_true (ls_socket_file_bind_listening (file, fd, path, mode, 8, &error));
  g_assert_no_error (error);
  g_assert_true (file->owned);
}

static void
test_mode_for_options (void)
{
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_NONE), ==, 0);
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_USER_ACCESS), ==, 0700);
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_GROUP_ACCESS), ==, 0070);
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_OTHER_ACCESS), ==, 0007);
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_WORLD_ACCESS), ==, 0777);
  /* The namespace is no access right. */
  g_assert_cmpint (ls_socket_file_mode_for_options (LS_SOCKET_OPTION_ABSTRACT_NAMESPACE |
                                                    LS_SOCKET_OPTION_USER_ACCESS), ==, 0700);
}

/* Each mode is the file's mode, whatever the umask. */
static void
test_bind_modes (Fixture       *f,
                 gconstpointer  data)
{
  static const mode_t modes[] = { 0700, 0070, 0007, 0770, 0707, 0077, 0777 };
  mode_t old_umask = umask (0077);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      LsSocketFile file = LS_SOCKET_FILE_INIT;
      int fd = new_socket ();
      struct stat st;

      bind_ok (&file, fd, f->path, modes[i]);
      g_assert_no_errno (lstat (f->path, &st));
      g_assert_true (S_ISSOCK (st.st_mode));
      g_assert_cmpint (st.st_mode & 07777, ==, modes[i]);
      g_assert_cmpint (st.st_ino, ==, file.ino);
      assert_dir_holds (f, "s");

      ls_socket_file_release (&file);
      g_assert_cmpint (file.dir_fd, ==, -1);
      g_assert_null (file.basename);
      g_assert_false (file.owned);
      assert_dir_holds (f, NULL);
      close (fd);
    }
  umask (old_umask);
}

/* Mode 0: a plain bind(), the umask decides, as for any socket. */
static void
test_bind_plain (Fixture       *f,
                 gconstpointer  data)
{
  LsSocketFile file = LS_SOCKET_FILE_INIT;
  mode_t old_umask = umask (0022);
  struct stat st;

  bind_ok (&file, f->fd, f->path, 0);
  umask (old_umask);
  g_assert_no_errno (lstat (f->path, &st));
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  ls_socket_file_release (&file);
  assert_dir_holds (f, NULL);
}

/* What the refusal says is at the path, and what to do about it. */
#define REFUSED_REGULAR "a regular file is already there, not a socket; it is left alone"
#define REFUSED_SYMLINK "a symbolic link is already there, not a socket; it is left alone"
#define REFUSED_SOCKET "a socket is already there; if no server listens on it any more, the " \
  "server's reclaim-stale property (lsock --reclaim-stale) replaces it, or remove_server () " \
  "removes it"

static void
assert_refused (Fixture    *f,
                mode_t      mode,
                const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = g_strdup_printf ("Cannot listen on “%s”: Address in use (%s)",
                                               f->path, reason);
  LsSocketFile file = LS_SOCKET_FILE_INIT;
  int fd = new_socket ();

  g_assert_true (ls_socket_file_open (&file, f->path, &error));
  g_assert_false (ls_socket_file_bind_listening (&file, fd, f->path, mode, 8, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_false (file.owned);
  /* Releasing what we did not bind removes nothing. */
  ls_socket_file_release (&file);
  close (fd);
}

/* An existing file (of any type) is refused and left as it was, with or
 * without a mode. */
static void
test_no_replace (Fixture       *f,
                 gconstpointer  data)
{
  static const mode_t modes[] = { 0, 0700, 0777 };
  g_autofree char *contents = NULL;
  char target[64];
  struct stat st;

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_assert_true (g_file_set_contents (f->path, "keep", -1, NULL));
      assert_refused (f, modes[i], REFUSED_REGULAR);
      g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, "keep");
      g_clear_pointer (&contents, g_free);
      assert_dir_holds (f, "s");
      g_assert_no_errno (g_unlink (f->path));

      /* A dangling symbolic link: following it would create its target. */
      g_assert_no_errno (symlink ("gone", f->path));
      assert_refused (f, modes[i], REFUSED_SYMLINK);
      g_assert_cmpint (readlink (f->path, target, sizeof target), ==, 4);
      assert_dir_holds (f, "s");
      g_assert_no_errno (g_unlink (f->path));
    }

  /* Another socket (stale or live): refused, same inode after. */
  {
    LsSocketFile other = LS_SOCKET_FILE_INIT;
    int fd = new_socket ();

    bind_ok (&other, fd, f->path, 0700);
    g_assert_no_errno (lstat (f->path, &st));
    assert_refused (f, 0700, REFUSED_SOCKET);
    assert_refused (f, 0, REFUSED_SOCKET);
    g_assert_true (lstat (f->path, &st) == 0 && st.st_ino == other.ino);
    ls_socket_file_release (&other);
    close (fd);
  }
}

/* Release removes the file only while it is the one we bound. */
static void
test_release_own_only (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *moved = g_build_filename (f->dir, "moved", NULL);
  LsSocketFile file = LS_SOCKET_FILE_INIT;
  LsSocketFile newer = LS_SOCKET_FILE_INIT;
  int newer_fd = new_socket ();
  struct stat st;

  /* Replaced by a newer server's socket: that one stays. */
  bind_ok (&file, f->fd, f->path, 0700);
  g_assert_no_errno (g_rename (f->path, moved));
  bind_ok (&newer, newer_fd, f->path, 0700);
  ls_socket_file_release (&file);
  g_assert_no_errno (lstat (f->path, &st));
  g_assert_cmpint (st.st_ino, ==, newer.ino);
  g_assert_true (g_file_test (moved, G_FILE_TEST_EXISTS));
  g_assert_no_errno (g_unlink (moved));

  /* Replaced by something else entirely: left alone too. */
  ls_socket_file_release (&newer);
  close (newer_fd);
  newer_fd = new_socket ();
  bind_ok (&newer, newer_fd, f->path, 0);
  g_assert_no_errno (g_unlink (f->path));
  g_assert_true (g_file_set_contents (f->path, "keep", -1, NULL));
  ls_socket_file_release (&newer);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
  g_assert_no_errno (g_unlink (f->path));

  /* Gone already: nothing to do, nothing fails. */
  close (newer_fd);
  newer_fd = new_socket ();
  bind_ok (&newer, newer_fd, f->path, 0);
  g_assert_no_errno (g_unlink (f->path));
  ls_socket_file_release (&newer);
  assert_dir_holds (f, NULL);
  close (newer_fd);
}

/* Through the directory opened at bind time: renaming the directory does
 * not make release miss the file (or hit another one). */
static void
test_release_through_directory (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *sub = g_build_filename (f->dir, "d", NULL);
  g_autofree char *path = g_build_filename (sub, "s", NULL);
  g_autofree char *renamed = g_build_filename (f->dir, "e", NULL);
  g_autofree char *renamed_path = g_build_filename (renamed, "s", NULL);
  LsSocketFile file = LS_SOCKET_FILE_INIT;

  g_assert_no_errno (g_mkdir (sub, 0700));
  bind_ok (&file, f->fd, path, 0700);
  g_assert_no_errno (g_rename (sub, renamed));
  ls_socket_file_release (&file);
  g_assert_false (g_file_test (renamed_path, G_FILE_TEST_EXISTS));
  g_assert_no_errno (g_rmdir (renamed));
}

/* A fork child (which inherits the server) never removes its parent's
 * socket. */
static void
test_release_in_fork_child (Fixture       *f,
                            gconstpointer  data)
{
  LsSocketFile file = LS_SOCKET_FILE_INIT;
  pid_t pid;

  bind_ok (&file, f->fd, f->path, 0700);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      struct stat st;

      ls_socket_file_release (&file);
      _exit (lstat (f->path, &st) == 0 && S_ISSOCK (st.st_mode) ? 0 : 1);
    }
  ls_test_assert_child_ok (pid, 10000);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_EXISTS));
  ls_socket_file_release (&file);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

static void
assert_remove_refuses (const char *path,
                       const char *type)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = g_strdup_printf ("Cannot remove “%s”: it is %s, not a socket; "
                                               "it was left alone", path, type);
  struct stat before, after;

  g_assert_no_errno (lstat (path, &before));
  g_assert_false (ls_socket_file_remove_socket (path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_no_errno (lstat (path, &after));
  g_assert_cmpint (before.st_ino, ==, after.st_ino);
}

static void
test_remove_socket (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  LsSocketFile file = LS_SOCKET_FILE_INIT;

  /* A socket, even a live one (as in Qt). */
  bind_ok (&file, f->fd, f->path, 0);
  g_assert_true (ls_socket_file_remove_socket (f->path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  ls_socket_file_release (&file);

  /* Nothing there is a success. */
  g_assert_true (ls_socket_file_remove_socket (f->path, &error));
  g_assert_no_error (error);

  /* Anything else is named and left alone. */
  g_assert_true (g_file_set_contents (f->path, "keep", -1, NULL));
  assert_remove_refuses (f->path, "a regular file");
  g_assert_no_errno (g_unlink (f->path));
  g_assert_no_errno (g_mkdir (f->path, 0700));
  assert_remove_refuses (f->path, "a directory");
  g_assert_no_errno (g_rmdir (f->path));
  g_assert_no_errno (symlink (f->dir, f->path));
  assert_remove_refuses (f->path, "a symbolic link");
  g_assert_no_errno (g_unlink (f->path));
  g_assert_no_errno (mkfifo (f->path, 0600));
  assert_remove_refuses (f->path, "a FIFO");
  g_assert_no_errno (g_unlink (f->path));
}

/* A path no socket address can hold: a clear error, and nothing made. */
static void
test_too_long (Fixture       *f,
               gconstpointer  data)
{
  static const mode_t modes[] = { 0, 0700 };
  gsize max = sizeof ((struct sockaddr_un *) NULL)->sun_path - 1;
  g_autofree char *fill = NULL;
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;

  fill = g_strnfill (max - strlen (f->dir) - 1, 'x');
  longest = g_build_filename (f->dir, fill, NULL);
  too_long = g_strconcat (longest, "y", NULL);
  g_assert_cmpuint (strlen (longest), ==, max);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = NULL;
      LsSocketFile file = LS_SOCKET_FILE_INIT;
      int fd = new_socket ();

      expected = g_strdup_printf ("Cannot listen on “%s”: Name error (%" G_GSIZE_FORMAT
                                  " bytes, longer than the %" G_GSIZE_FORMAT " a local socket "
                                  "address can hold)", too_long, max + 1, max);
      g_assert_true (ls_socket_file_open (&file, too_long, &error));
      g_assert_false (ls_socket_file_bind_listening (&file, fd, too_long, modes[i], 8, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
      g_assert_cmpstr (error->message, ==, expected);
      ls_socket_file_release (&file);
      assert_dir_holds (f, NULL);
      close (fd);

      /* One byte less fits. */
      fd = new_socket ();
      bind_ok (&file, fd, longest, modes[i]);
      ls_socket_file_release (&file);
      assert_dir_holds (f, NULL);
      close (fd);
    }
}

/* A directory that does not exist: the listening side's words for ENOENT,
 * and what to do. */
static void
test_open_missing_directory (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "none", "s", NULL);
  g_autofree char *expected = g_strdup_printf ("Cannot listen on “%s”: Name error (the "
                                               "directory “%s/none” does not exist; create it "
                                               "first)", path, f->dir);
  LsSocketFile file = LS_SOCKET_FILE_INIT;

  g_assert_false (ls_socket_file_open (&file, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpint (file.dir_fd, ==, -1);
  ls_socket_file_release (&file);
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ls/socket-file/mode-for-options", test_mode_for_options);
  ADD ("/ls/socket-file/bind-modes", test_bind_modes);
  ADD ("/ls/socket-file/bind-plain", test_bind_plain);
  ADD ("/ls/socket-file/no-replace", test_no_replace);
  ADD ("/ls/socket-file/release-own-only", test_release_own_only);
  ADD ("/ls/socket-file/release-through-directory", test_release_through_directory);
  ADD ("/ls/socket-file/release-in-fork-child", test_release_in_fork_child);
  ADD ("/ls/socket-file/remove-socket", test_remove_socket);
  ADD ("/ls/socket-file/too-long", test_too_long);
  ADD ("/ls/socket-file/open-missing-directory", test_open_missing_directory);
  return g_test_run ();
}
