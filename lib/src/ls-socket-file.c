/* ls-socket-file.c: the socket file a server creates, and only that one
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A server's path is resolved once: its directory is opened when it
 * listens, the socket is bound there (with its mode applied before the
 * name appears, and never over an existing file), and its device and inode
 * are remembered. Closing removes the file through that directory, and
 * only if it is still the one bound, by the process that bound it: a newer
 * server may have replaced it, and a fork child must not remove its
 * parent's socket. Qt removes whatever is at the path.
 */
#include "ls-socket-file-private.h"
#include "ls-error-private.h"
#include "ls-names-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>

static void
set_errno_error (GError     **error,
                 const char  *full_name,
                 int          errno_value)
{
  g_propagate_error (error, ls_error_new_from_errno (errno_value, LS_ERRNO_LISTENING,
                                                     "listen on", full_name));
}

mode_t
ls_socket_file_mode_for_options (LsSocketOptions options)
{
  return ((options & LS_SOCKET_OPTION_USER_ACCESS) ? 0700 : 0) |
         ((options & LS_SOCKET_OPTION_GROUP_ACCESS) ? 0070 : 0) |
         ((options & LS_SOCKET_OPTION_OTHER_ACCESS) ? 0007 : 0);
}

/* Links @name in @from_dir as @to_name in @to_dir unless something exists
 * there already. */
static int
link_no_replace (int         from_dir,
                 const char *name,
                 int         to_dir,
                 const char *to_name)
{
  if (linkat (from_dir, name, to_dir, to_name, 0) == 0)
    return 0;
#ifdef SYS_renameat2
  /* Some file systems refuse hard links; renameat2 still never replaces. */
  if (errno == EPERM || errno == EOPNOTSUPP)
    {
      if (syscall (SYS_renameat2, from_dir, name, to_dir, to_name, 1 /* RENAME_NOREPLACE */) == 0)
        return 0;
    }
#endif
  return -1;
}

/* A name for the private directory, no longer than the one Qt's
 * QTemporaryDir makes (6 characters), so no path Qt accepts is refused. */
static void
make_private_name (char name[7])
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

  name[0] = '.';
  for (int i = 1; i < 6; i++)
    name[i] = chars[g_random_int_range (0, sizeof chars - 1)];
  name[6] = '\0';
}

/* Makes and opens a private 0700 directory in @dir_fd. It is opened by
 * descriptor (O_NOFOLLOW) and checked to be ours and private: in a
 * directory another user may write to, that user can swap the name for a
 * directory (or symlink) of their own at any moment, but not the
 * descriptor. Returns the descriptor, or -1 with @error set. */
static int
open_private_dir (int          dir_fd,
                  const char  *full_name,
                  char         name[7],
                  GError     **error)
{
  struct stat st;
  int fd;

  for (guint attempt = 0; ; attempt++)
    {
      make_private_name (name);
      if (mkdirat (dir_fd, name, 0700) == 0)
        break;
      if (errno != EEXIST || attempt == 100)
        {
          set_errno_error (error, full_name, errno);
          return -1;
        }
    }

  fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 && fstat (fd, &st) == 0 && st.st_uid == geteuid () && (st.st_mode & 0077) == 0)
    return fd;

  g_propagate_error (error, ls_error_new_cannot (
    LS_SOCKET_ERROR_SOCKET_ACCESS, "listen on", full_name,
    "Permission denied (the private directory “%s” made to apply the permissions was "
    "replaced by someone else)", name));
  if (fd >= 0)
    close (fd);
  return -1;
}

/* Removes the private directory @name of @dir_fd if it is still the one
 * opened as @private_fd. */
static void
remove_private_dir (int         dir_fd,
                    const char *name,
                    int         private_fd)
{
  struct stat ours, there;

  unlinkat (private_fd, "s", 0);
  if (fstat (private_fd, &ours) == 0 &&
      fstatat (dir_fd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
      ours.st_dev == there.st_dev && ours.st_ino == there.st_ino)
    unlinkat (dir_fd, name, AT_REMOVEDIR);
  close (private_fd);
}

/* Binds @fd as “s” in the private directory @private_fd (named
 * @private_name in @dir_fd): through /proc/self/fd, so that only the final
 * path's length matters, else by path. */
static gboolean
bind_in_private_dir (int          fd,
                     int          dir_fd,
                     int          private_fd,
                     const char  *private_name,
                     const char  *full_name,
                     GError     **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;

  g_snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/s", private_fd);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0)
    return TRUE;

  /* No /proc: bind by path, then make sure it landed in our directory. */
  if (errno != ENOENT)
    {
      set_errno_error (error, full_name, errno);
      return FALSE;
    }
  dir = g_path_get_dirname (full_name);
  path = g_build_filename (dir, private_name, "s", NULL);
  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen on", full_name,
        "Name error (the temporary path “%s” used to apply the permissions is too long "
        "for a local socket address)", path));
      return FALSE;
    }
  strcpy (addr.sun_path, path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      set_errno_error (error, full_name, errno);
      return FALSE;
    }
  return TRUE;
}

/* Binds @fd as @basename in @dir_fd with @mode, before the name becomes
 * visible and without trusting any path twice: the socket is bound as “s”
 * in a private directory reached through its descriptor, given its mode
 * there, then linked into place, which fails instead of replacing an
 * existing file. Another user who can write to the directory can make this
 * fail, but cannot make it bind, chmod or link anything outside the
 * private directory. */
static gboolean
bind_with_mode (int          fd,
                int          dir_fd,
                const char  *basename,
                const char  *full_name,
                mode_t       mode,
                GError     **error)
{
  char private_name[7];
  struct stat st;
  int private_fd;
  gboolean ok = FALSE;

  private_fd = open_private_dir (dir_fd, full_name, private_name, error);
  if (private_fd < 0)
    return FALSE;

  if (!bind_in_private_dir (fd, dir_fd, private_fd, private_name, full_name, error))
    goto out;
  if (fstatat (private_fd, "s", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK (st.st_mode))
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_SOCKET_ACCESS, "listen on", full_name,
        "Permission denied (the socket did not appear in the private directory made to "
        "apply the permissions)"));
      goto out;
    }
  if (fchmodat (private_fd, "s", mode, 0) != 0 ||
      link_no_replace (private_fd, "s", dir_fd, basename) != 0)
    {
      set_errno_error (error, full_name, errno);
      goto out;
    }
  ok = TRUE;

out:
  remove_private_dir (dir_fd, private_name, private_fd);
  return ok;
}

gboolean
ls_socket_file_open (LsSocketFile  *file,
                     const char    *full_name,
                     GError       **error)
{
  g_autofree char *dir = g_path_get_dirname (full_name);

  g_return_val_if_fail (file->dir_fd < 0 && file->basename == NULL, FALSE);

  file->dir_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (file->dir_fd < 0)
    {
      set_errno_error (error, full_name, errno);
      return FALSE;
    }
  file->basename = ls_name_basename (full_name);
  return TRUE;
}

gboolean
ls_socket_file_bind (LsSocketFile  *file,
                     int            fd,
                     const char    *full_name,
                     mode_t         mode,
                     GError       **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len = strlen (full_name);
  struct stat st;

  g_return_val_if_fail (file->dir_fd >= 0 && file->basename != NULL, FALSE);

  /* The bind through the private directory would take any length, but
   * nobody could connect to the result. */
  if (len + 1 > sizeof addr.sun_path)
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen on", full_name,
        "Name error (%" G_GSIZE_FORMAT " bytes, longer than the %" G_GSIZE_FORMAT
        " a local socket address can hold)", len, sizeof addr.sun_path - 1));
      return FALSE;
    }

  if (mode != 0)
    {
      /* Fail early (and without a private directory) in the common case;
       * the link still refuses to replace a file that appears meanwhile. */
      if (fstatat (file->dir_fd, file->basename, &st, AT_SYMLINK_NOFOLLOW) == 0)
        {
          set_errno_error (error, full_name, EADDRINUSE);
          return FALSE;
        }
      if (!bind_with_mode (fd, file->dir_fd, file->basename, full_name, mode, error))
        return FALSE;
    }
  else
    {
      memcpy (addr.sun_path, full_name, len + 1);
      if (bind (fd, (struct sockaddr *) &addr,
                offsetof (struct sockaddr_un, sun_path) + len + 1) != 0)
        {
          set_errno_error (error, full_name, errno);
          return FALSE;
        }
    }

  if (fstatat (file->dir_fd, file->basename, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      file->owned = TRUE;
      file->pid = getpid ();
      file->dev = st.st_dev;
      file->ino = st.st_ino;
    }
  return TRUE;
}

void
ls_socket_file_release (LsSocketFile *file)
{
  struct stat st;

  if (file->owned && file->pid == getpid () &&
      fstatat (file->dir_fd, file->basename, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISSOCK (st.st_mode) && st.st_dev == file->dev && st.st_ino == file->ino)
    unlinkat (file->dir_fd, file->basename, 0);
  if (file->dir_fd >= 0)
    close (file->dir_fd);
  g_free (file->basename);
  *file = (LsSocketFile) LS_SOCKET_FILE_INIT;
}

static const char *
describe_file_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISREG (mode))
    return "a regular file";
  if (S_ISLNK (mode))
    return "a symbolic link";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  return "a file";
}

gboolean
ls_socket_file_remove_socket (const char  *full_name,
                              GError     **error)
{
  struct stat st;

  if (lstat (full_name, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      g_propagate_error (error, ls_error_new_from_errno (errno, LS_ERRNO_LISTENING,
                                                         "remove", full_name));
      return FALSE;
    }
  if (!S_ISSOCK (st.st_mode))
    {
      /* Qt deletes whatever is there; a typo must not cost a file. */
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_ADDRESS_IN_USE, "remove", full_name,
        "it is %s, not a socket; it was left alone", describe_file_type (st.st_mode)));
      return FALSE;
    }
  if (g_unlink (full_name) != 0 && errno != ENOENT)
    {
      g_propagate_error (error, ls_error_new_from_errno (errno, LS_ERRNO_LISTENING,
                                                         "remove", full_name));
      return FALSE;
    }
  return TRUE;
}
