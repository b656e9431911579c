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
 *     fails with ADDRESS_IN_USE, as it would a moment later. Whoever can
 *     open the lock file can hold it, and so make every reclaiming listen
 *     fail: it is this user's, 0600 whatever the umask, and a lock file
 *     of another user is refused (SOCKET_ACCESS). Only someone who could
 *     create files in the directory, and so could take the socket's name
 *     too, can put one there;
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

/* How the errors about the lock file begin; its one argument is the
 * socket's path. */
#define LOCK_FILE "the lock file “%s.lock” that guards reclaiming a stale socket "

/* Another user's lock file: they made it (or could open it), so they
 * could hold it and make this listen fail for as long as they like. */
static GError *
foreign_lock_error (const char *full_name,
                    uid_t       owner)
{
  return ls_error_new_from_errno_reason (EACCES, LS_ERRNO_LISTENING, "listen on", full_name,
                                         LOCK_FILE "belongs to another user (uid %u), who could "
                                         "hold it; remove it if no server is starting there",
                                         full_name, (guint) owner);
}

/* Opens the lock file @lock_name in @dir_fd, creating it if missing, and
 * makes sure that only this user can open it: whoever can open it can
 * hold it. *@was_open is TRUE when others could open it until now (a lock
 * file of an older Ls). Returns the descriptor, or -1 with @error set. */
static int
open_lock_file (int          dir_fd,
                const char  *lock_name,
                const char  *full_name,
                gboolean    *was_open,
                GError     **error)
{
  gboolean created = TRUE;
  struct stat st;
  int fd;

  /* O_NOFOLLOW: never a symbolic link; O_NONBLOCK: a FIFO planted there
   * cannot hang the open (it is refused below). Read-only is enough for
   * flock(). */
  fd = openat (dir_fd, lock_name,
               O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
  if (fd < 0 && errno == EEXIST)
    {
      created = FALSE;
      fd = openat (dir_fd, lock_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    }
  if (fd < 0)
    {
      int saved_errno = errno;

      if (saved_errno == ELOOP)
        *error = ls_error_new_from_errno_reason (EEXIST, LS_ERRNO_LISTENING, "listen on",
                                                 full_name, LOCK_FILE "is a symbolic link; it is "
                                                 "left alone", full_name);
      else if ((saved_errno == EACCES || saved_errno == EPERM) &&
               fstatat (dir_fd, lock_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               st.st_uid != geteuid ())
        *error = foreign_lock_error (full_name, st.st_uid);
      else
        *error = ls_error_new_from_errno_reason (saved_errno, LS_ERRNO_LISTENING, "listen on",
                                                 full_name, LOCK_FILE "cannot be opened: %s",
                                                 full_name, g_strerror (saved_errno));
      return -1;
    }

  if (fstat (fd, &st) != 0)
    *error = ls_error_new_from_errno_reason (EIO, LS_ERRNO_LISTENING, "listen on", full_name,
                                             LOCK_FILE "cannot be examined", full_name);
  else if (!S_ISREG (st.st_mode))
    *error = ls_error_new_from_errno_reason (EEXIST, LS_ERRNO_LISTENING, "listen on", full_name,
                                             LOCK_FILE "is %s, not a regular file; it is left "
                                             "alone", full_name,
                                             ls_error_describe_file_type (st.st_mode));
  else if (st.st_uid != geteuid ())
    *error = foreign_lock_error (full_name, st.st_uid);
  /* 0600 whatever the umask. A lock file of an older Ls (0644) is
   * tightened too, unless it has other names (hard links): it may then be
   * another file, and is left as it is. */
  else if (!created && (st.st_mode & 0077) != 0 && st.st_nlink != 1)
    *error = ls_error_new_from_errno_reason (EACCES, LS_ERRNO_LISTENING, "listen on", full_name,
                                             LOCK_FILE "can be opened by other users, and has %u "
                                             "names; remove it", full_name,
                                             (guint) st.st_nlink);
  else if ((created || (st.st_mode & 0077) != 0) && fchmod (fd, 0600) != 0)
    *error = ls_error_new_from_errno_reason (EACCES, LS_ERRNO_LISTENING, "listen on", full_name,
                                             LOCK_FILE "cannot be made private", full_name);
  else
    {
      *was_open = !created && (st.st_mode & 0077) != 0;
      return fd;
    }

  close (fd);
  return -1;
}

int
ls_socket_file_lock (int          dir_fd,
                     const char  *basename,
                     const char  *full_name,
                     GError     **error)
{
  g_autofree char *lock_name = g_strconcat (basename, ".lock", NULL);
  gboolean was_open = FALSE;
  int fd;

  fd = open_lock_file (dir_fd, lock_name, full_name, &was_open, error);
  if (fd < 0)
    return -1;
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      /* Made private just now: whoever opened it before may be anyone. */
      if (saved_errno == EWOULDBLOCK && was_open)
        g_propagate_error (error, ls_error_new_from_errno_reason (
          EADDRINUSE, LS_ERRNO_LISTENING, "listen on", full_name,
          LOCK_FILE "is held by another process, and other users could open it until now (an "
          "older Ls made it so); remove it if no server is starting there", full_name));
      else
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
