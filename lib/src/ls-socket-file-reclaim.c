/* ls-socket-file-reclaim.c: reclaiming a stale socket file safely
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A socket file outlives a server that crashed; Qt's answer is
 * removeServer() before listen(), which also deletes a running server's
 * socket and races with a second instance starting at the same moment.
 * Here, a server that reclaims:
 *
 *  1. opens (creating if need be) the lock file “<name>.lock” beside the
 *     socket, relative to the directory descriptor it already holds,
 *     O_NOFOLLOW, and takes an exclusive flock() without waiting: a
 *     second instance starting at the same moment finds it taken and
 *     fails with ADDRESS_IN_USE, as it would a moment later;
 *  2. looks at the name without following links: nothing there is fine;
 *     anything but a socket (a symlink even to a stale socket, a regular
 *     file, a directory) is left alone: ADDRESS_IN_USE;
 *  3. connects to the socket: refused (ECONNREFUSED) means nobody listens,
 *     and the file is removed if it is still the one examined (same device
 *     and inode); accepted, or a full backlog (EAGAIN), means a live
 *     server: ADDRESS_IN_USE; anything else (EACCES...) is not known to be
 *     stale and is left alone;
 *  4. binds, listens and links the new socket into place (ls-socket-file.c)
 *     while still holding the lock, then releases it. No server, Ls or not,
 *     that makes its socket appear only once it listens is ever judged
 *     stale; one that binds its name and listens after (a plain bind())
 *     refuses connections in between, and may be.
 *
 * The lock file is never removed: removing it would let two processes
 * hold “the” lock on two different files. It is empty, and stays.
 */
#include "ls-socket-file-reclaim-private.h"
#include "ls-error-private.h"
#include "ls-socket-file-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
ls_socket_file_lock (int          dir_fd,
                     const char  *basename,
                     const char  *full_name,
                     GError     **error)
{
  g_autofree char *lock_name = g_strconcat (basename, ".lock", NULL);
  struct stat st;
  int fd;

  /* Read-only is enough for flock(); O_NONBLOCK so that a FIFO planted
   * there cannot hang us. */
  fd = openat (dir_fd, lock_name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_propagate_error (error, ls_error_new_cannot (
        saved_errno == EACCES || saved_errno == EPERM || saved_errno == EROFS
          ? LS_SOCKET_ERROR_SOCKET_ACCESS : LS_SOCKET_ERROR_ADDRESS_IN_USE,
        "listen on", full_name,
        "cannot open the lock file “%s.lock” that guards reclaiming a stale socket (%s)",
        full_name, saved_errno == ELOOP ? "it is a symbolic link" : g_strerror (saved_errno)));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_propagate_error (error, ls_error_new_cannot (LS_SOCKET_ERROR_ADDRESS_IN_USE,
                                                     "listen on", full_name,
                                                     "the lock file “%s.lock” is not a regular file",
                                                     full_name));
      close (fd);
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen on", full_name, "Address in use (%s)",
        saved_errno == EWOULDBLOCK
          ? "another process holds its lock file: it is starting a server there"
          : g_strerror (saved_errno)));
      close (fd);
      return -1;
    }
  return fd;
}

/* Connects to @basename in @dir_fd without blocking; returns 0 or an errno. */
static int
probe_connect (int         dir_fd,
               const char *basename,
               const char *full_name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd, result = 0;

  /* Through the directory as opened at listen time when the name fits
   * (/proc), else by the full path. */
  if (g_snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir_fd, basename)
        >= (int) sizeof addr.sun_path || access ("/proc/self/fd", F_OK) != 0)
    g_strlcpy (addr.sun_path, full_name, sizeof addr.sun_path);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno;
  while (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      if (errno == EINTR)
        continue;
      result = errno;
      break;
    }
  close (fd);
  return result;
}

gboolean
ls_socket_file_reclaim (int          dir_fd,
                        const char  *basename,
                        const char  *full_name,
                        GError     **error)
{
  struct stat before, now;
  int result;

  if (fstatat (dir_fd, basename, &before, AT_SYMLINK_NOFOLLOW) != 0)
    return TRUE;   /* nothing there (or bind() will say why) */
  if (!S_ISSOCK (before.st_mode))
    {
      g_propagate_error (error, ls_socket_file_address_in_use (dir_fd, basename, full_name));
      return FALSE;
    }

  result = probe_connect (dir_fd, basename, full_name);
  if (result == ENOENT)
    return TRUE;   /* gone meanwhile */
  if (result != ECONNREFUSED)
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen on", full_name, "Address in use (%s)",
        result == 0 || result == EAGAIN
          ? "a server is listening there"
          : "the socket there may be live and is left alone: probing it failed"));
      return FALSE;
    }

  /* Stale. Remove it only if it is still the file examined. */
  if (fstatat (dir_fd, basename, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
      now.st_dev == before.st_dev && now.st_ino == before.st_ino &&
      unlinkat (dir_fd, basename, 0) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_propagate_error (error, ls_error_new_cannot (
        saved_errno == EACCES || saved_errno == EPERM
          ? LS_SOCKET_ERROR_SOCKET_ACCESS : LS_SOCKET_ERROR_ADDRESS_IN_USE,
        "listen on", full_name, "cannot remove the stale socket there (%s)",
        g_strerror (saved_errno)));
      return FALSE;
    }
  return TRUE;
}
