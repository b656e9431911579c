/* ls-socket-file.c: the socket file a server creates, and only that one
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A server's path is resolved once: its directory is opened when it
 * listens. The socket is bound in a private 0700 directory made there,
 * given its mode, set listening, and only then linked into place, which
 * fails instead of replacing an existing file. So the name never shows a
 * socket that refuses connections (a client would get CONNECTION_REFUSED,
 * a reclaimer would judge it stale) nor one with a looser mode than asked
 * for. Its device and inode are remembered. Closing removes the file
 * through that directory, and only if it is still the one bound, by the
 * process that bound it: a newer server may have replaced it, and a fork
 * child must not remove its parent's socket. Qt removes whatever is at the
 * path.
 *
 * A socket keeps the address it was bound under: getsockname(), and a
 * client's getpeername(), report the private path (as with Qt's permission
 * options, which bind in a temporary directory too).
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

/* The longest path a socket address holds (without its NUL). */
#define MAX_PATH_LENGTH (sizeof ((struct sockaddr_un *) NULL)->sun_path - 1)

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

GError *
ls_socket_file_address_in_use (int         dir_fd,
                               const char *basename,
                               const char *full_name)
{
  struct stat st;

  if (fstatat (dir_fd, basename, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return ls_error_new_from_errno (EADDRINUSE, LS_ERRNO_LISTENING, "listen on", full_name);
  if (S_ISSOCK (st.st_mode))
    return ls_error_new_from_errno_reason (EADDRINUSE, LS_ERRNO_LISTENING, "listen on", full_name,
                                           "a socket is already there; if no server listens on "
                                           "it any more, the server's reclaim-stale property "
                                           "(lsock --reclaim-stale) replaces it, or "
                                           "remove_server () removes it");
  return ls_error_new_from_errno_reason (EADDRINUSE, LS_ERRNO_LISTENING, "listen on", full_name,
                                         "%s is already there, not a socket; it is left alone",
                                         ls_error_describe_file_type (st.st_mode));
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

/* Where a socket is bound before it is linked into place. A socket keeps
 * the address it was bound under, so the final name is used there when
 * the path allows: getsockname () (and a client's getpeername ()) then
 * end in it. */
typedef enum
{
  PLACE_BY_PATH,       /* “DIR/PRIVATE/INNER”, bound by that path */
  PLACE_THROUGH_PROC,  /* “/proc/self/fd/N/INNER”: that path is too long */
  PLACE_IN_DIR,        /* “DIR/TEMPORARY”: no /proc, no room for a private
                        * directory, and no mode to apply (a plain listen) */
} PlaceKind;

typedef struct
{
  int          dir_fd;
  const char  *dir;
  PlaceKind    kind;
  char         dir_name[7];   /* the private directory */
  char         temporary[MAX_PATH_LENGTH + 1];   /* PLACE_IN_DIR's name */
  const char  *inner;         /* the socket's name in private_fd */
  int          private_fd;    /* the private directory, or dir_fd */
} PrivatePlace;

/* A random name of @length characters, hidden when there is room for the
 * dot. */
static void
random_name (char  *name,
             gsize  length)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  gsize i = 0;

  if (length > 1)
    name[i++] = '.';
  for (; i < length; i++)
    name[i] = chars[g_random_int_range (0, sizeof chars - 1)];
  name[length] = '\0';
}

/* Chooses where @place (its directory set) binds @basename:
 * “DIR/.XXXXX/NAME” (6 characters, as many as Qt's QTemporaryDir uses);
 * else “DIR/.XX/s” with as short a directory name as needed; else through
 * /proc; else, without a @mode to apply, a temporary name as long as the
 * final one beside it. FALSE when none fits. */
static gboolean
plan_private_place (PrivatePlace *place,
                    const char   *basename,
                    mode_t        mode)
{
  /* What “DIR/” + … + “/” leave for the directory name and the inner name. */
  gssize room = (gssize) MAX_PATH_LENGTH - (gssize) strlen (place->dir) - 2;
  gsize length = 6;

  place->kind = PLACE_BY_PATH;
  place->inner = "s";
  if ((gssize) (strlen (basename) + length) <= room)
    place->inner = basename;
  else if (room >= 2)
    length = MIN (length, (gsize) room - 1);
  else if (access ("/proc/self/fd", F_OK) == 0)
    place->kind = PLACE_THROUGH_PROC;
  else if (mode == 0)
    place->kind = PLACE_IN_DIR;
  else
    return FALSE;
  random_name (place->dir_name, length);
  return TRUE;
}

/* Makes and opens the private 0700 directory of @place (PLACE_IN_DIR uses
 * the socket's directory). It is opened by descriptor (O_NOFOLLOW) and
 * checked to be ours and private: in a directory another user may write
 * to, that user can swap the name for a directory (or symlink) of their
 * own at any moment, but not the descriptor. FALSE with @error set when it
 * cannot be made. */
static gboolean
open_private_dir (PrivatePlace  *place,
                  const char    *basename,
                  const char    *full_name,
                  mode_t         mode,
                  GError       **error)
{
  struct stat st;
  int fd;

  for (guint attempt = 0; ; attempt++)
    {
      if (!plan_private_place (place, basename, mode))
        {
          g_propagate_error (error, ls_error_new_cannot (
            LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen on", full_name,
            "Name error (the directory is too long for a temporary path to apply the "
            "permissions under, and /proc, which would avoid that path, is not mounted)"));
          return FALSE;
        }
      if (place->kind == PLACE_IN_DIR)
        {
          place->private_fd = place->dir_fd;
          return TRUE;
        }
      if (mkdirat (place->dir_fd, place->dir_name, 0700) == 0)
        break;
      if (errno == EEXIST && attempt < 100)
        continue;
      if (errno == EACCES || errno == EPERM)
        g_propagate_error (error, ls_error_new_from_errno_reason (
          errno, LS_ERRNO_LISTENING, "listen on", full_name,
          "this user may not create files in the directory “%s”", place->dir));
      else if (errno == EROFS)
        g_propagate_error (error, ls_error_new_from_errno_reason (
          errno, LS_ERRNO_LISTENING, "listen on", full_name,
          "the directory “%s” is on a read-only file system", place->dir));
      else
        set_errno_error (error, full_name, errno);
      return FALSE;
    }

  fd = openat (place->dir_fd, place->dir_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0 && fstat (fd, &st) == 0 && st.st_uid == geteuid () && (st.st_mode & 0077) == 0)
    {
      place->private_fd = fd;
      return TRUE;
    }

  g_propagate_error (error, ls_error_new_cannot (
    LS_SOCKET_ERROR_SOCKET_ACCESS, "listen on", full_name,
    "Permission denied (the private directory “%s” made to create the socket was "
    "replaced by someone else)", place->dir_name));
  if (fd >= 0)
    close (fd);
  return FALSE;
}

/* Removes what is left of @place: the socket's name there if it is still
 * @bound (linked into place, or not), and the directory if it is still
 * the one made. */
static void
remove_private_dir (PrivatePlace      *place,
                    const struct stat *bound)
{
  struct stat ours, there;

  if (fstatat (place->private_fd, place->inner, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
      there.st_dev == bound->st_dev && there.st_ino == bound->st_ino)
    unlinkat (place->private_fd, place->inner, 0);
  if (place->kind == PLACE_IN_DIR)
    return;
  if (fstat (place->private_fd, &ours) == 0 &&
      fstatat (place->dir_fd, place->dir_name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
      ours.st_dev == there.st_dev && ours.st_ino == there.st_ino)
    unlinkat (place->dir_fd, place->dir_name, AT_REMOVEDIR);
  close (place->private_fd);
}

/* Binds @fd in @place. By path, the socket's address names the directory
 * it lives in; the caller checks, through the descriptor, that it landed
 * in the private directory (a path is resolved again, the descriptor is
 * not). A temporary name beside the final one is drawn again while taken,
 * and is never the final name: that would show the socket before it
 * listens. */
static gboolean
bind_in_private_dir (int            fd,
                     PrivatePlace  *place,
                     const char    *basename,
                     const char    *full_name,
                     GError       **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  for (guint attempt = 0; ; attempt++)
    {
      if (place->kind == PLACE_THROUGH_PROC)
        g_snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s",
                    place->private_fd, place->inner);
      else
        {
          g_autofree char *path = NULL;

          if (place->kind == PLACE_IN_DIR)
            {
              do
                random_name (place->temporary, strlen (basename));
              while (strcmp (place->temporary, basename) == 0);
              place->inner = place->temporary;
              path = g_build_filename (place->dir, place->inner, NULL);
            }
          else
            path = g_build_filename (place->dir, place->dir_name, place->inner, NULL);
          g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
        }
      if (bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0)
        return TRUE;
      if (place->kind != PLACE_IN_DIR || errno != EADDRINUSE || attempt == 100)
        break;
    }
  set_errno_error (error, full_name, errno);
  return FALSE;
}

/* Binds @fd as @basename in @dir_fd with @mode (0: the umask's), listening
 * before the name becomes visible, and without trusting any path twice:
 * the socket is bound in a private directory, checked there through its
 * descriptor, given its mode, set listening, then linked into place, which
 * fails instead of replacing an existing file. Another user who can write
 * to the directory can make this fail, but cannot make it chmod or link
 * anything outside the private directory. Fills @bound with the socket
 * file's status. */
static gboolean
bind_and_link (int           fd,
               int           dir_fd,
               const char   *basename,
               const char   *full_name,
               mode_t        mode,
               int           backlog,
               struct stat  *bound,
               GError      **error)
{
  g_autofree char *dir = g_path_get_dirname (full_name);
  PrivatePlace place = { .dir_fd = dir_fd, .dir = dir };
  gboolean ok = FALSE;

  memset (bound, 0, sizeof *bound);
  if (!open_private_dir (&place, basename, full_name, mode, error))
    return FALSE;

  if (!bind_in_private_dir (fd, &place, basename, full_name, error))
    goto out;
  if (fstatat (place.private_fd, place.inner, bound, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISSOCK (bound->st_mode))
    {
      memset (bound, 0, sizeof *bound);
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_SOCKET_ACCESS, "listen on", full_name,
        "Permission denied (the socket did not appear in the private directory made to "
        "create it: the directory “%s” was replaced meanwhile)", dir));
      goto out;
    }
  if ((mode != 0 && fchmodat (place.private_fd, place.inner, mode, 0) != 0) ||
      listen (fd, backlog) != 0)
    {
      set_errno_error (error, full_name, errno);
      goto out;
    }
  if (link_no_replace (place.private_fd, place.inner, dir_fd, basename) != 0)
    {
      if (errno == EEXIST)
        g_propagate_error (error, ls_socket_file_address_in_use (dir_fd, basename, full_name));
      else
        set_errno_error (error, full_name, errno);
      goto out;
    }
  ok = TRUE;

out:
  remove_private_dir (&place, bound);
  return ok;
}

gboolean
ls_socket_file_open (LsSocketFile  *file,
                     const char    *full_name,
                     GError       **error)
{
  g_autofree char *dir = g_path_get_dirname (full_name);
  int saved_errno;

  g_return_val_if_fail (file->dir_fd < 0 && file->basename == NULL, FALSE);

  file->dir_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (file->dir_fd >= 0)
    {
      file->basename = ls_name_basename (full_name);
      return TRUE;
    }

  saved_errno = errno;
  if (saved_errno == ENOENT)
    g_propagate_error (error, ls_error_new_from_errno_reason (
      saved_errno, LS_ERRNO_LISTENING, "listen on", full_name,
      "the directory “%s” does not exist; create it first", dir));
  else if (saved_errno == ENOTDIR)
    g_propagate_error (error, ls_error_new_from_errno_reason (
      saved_errno, LS_ERRNO_LISTENING, "listen on", full_name,
      "“%s” is not a directory", dir));
  else if (saved_errno == EACCES)
    g_propagate_error (error, ls_error_new_from_errno_reason (
      saved_errno, LS_ERRNO_LISTENING, "listen on", full_name,
      "this user may not reach the directory “%s”", dir));
  else
    set_errno_error (error, full_name, saved_errno);
  return FALSE;
}

gboolean
ls_socket_file_bind_listening (LsSocketFile  *file,
                               int            fd,
                               const char    *full_name,
                               mode_t         mode,
                               int            backlog,
                               GError       **error)
{
  gsize len = strlen (full_name);
  struct stat st;

  g_return_val_if_fail (file->dir_fd >= 0 && file->basename != NULL, FALSE);

  /* The bind through the private directory could take a longer name, but
   * nobody could connect to the result. */
  if (len > MAX_PATH_LENGTH)
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen on", full_name,
        "Name error (%" G_GSIZE_FORMAT " bytes, longer than the %" G_GSIZE_FORMAT
        " a local socket address can hold)", len, MAX_PATH_LENGTH));
      return FALSE;
    }

  /* Fail early (and without a private directory) in the common case; the
   * link still refuses to replace a file that appears meanwhile. */
  if (fstatat (file->dir_fd, file->basename, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      g_propagate_error (error, ls_socket_file_address_in_use (file->dir_fd, file->basename,
                                                               full_name));
      return FALSE;
    }
  if (!bind_and_link (fd, file->dir_fd, file->basename, full_name, mode, backlog, &st, error))
    return FALSE;

  /* A link keeps the inode: this is the file now at the name. */
  file->owned = TRUE;
  file->pid = getpid ();
  file->dev = st.st_dev;
  file->ino = st.st_ino;
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
        "it is %s, not a socket; it was left alone", ls_error_describe_file_type (st.st_mode)));
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
