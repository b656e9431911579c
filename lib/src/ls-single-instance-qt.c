/* ls-single-instance-qt.c: the names and the lock of QtSingleApplication's
 * QtLocalPeer on Linux, for LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What a QtLocalPeer with application id ID does, as read in Qt Solutions'
 * qtlocalpeer.cpp and qtlockedfile_unix.cpp:
 *  - its socket name is "qtsingleapp-" + the first six ASCII letters of ID
 *    (everything else dropped) + "-" + qChecksum (ID as UTF-8) in lowercase
 *    hexadecimal + "-" + getuid () in lowercase hexadecimal; the name is
 *    relative, so it lives in the temporary directory ($TMPDIR or /tmp);
 *  - the primary is whoever holds a write lock (fcntl F_SETLK, F_WRLCK, the
 *    whole file) on "<temporary directory>/<socket name>-lockfile", opened
 *    read-write and created if missing; it keeps the lock while it lives
 *    and never removes the file.
 */
#include "ls-single-instance-private.h"
#include "ls-error-private.h"
#include "ls-temp-path-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QT_PREFIX_LETTERS 6

guint16
ls_qt_checksum (const guint8 *data,
                gsize         size)
{
  /* Reflected CCITT polynomial, all-ones start and final inversion: what
   * Qt calls Qt::ChecksumIso3309, qChecksum ()'s default. */
  guint16 crc = 0xffff;

  for (gsize i = 0; i < size; i++)
    {
      crc ^= data[i];
      for (int bit = 0; bit < 8; bit++)
        crc = (crc & 1) ? (crc >> 1) ^ 0x8408 : crc >> 1;
    }
  return ~crc;
}

char *
ls_qt_local_peer_socket_name (const char *id)
{
  g_autoptr(GString) prefix = g_string_new (NULL);

  /* Qt removes every character outside [a-zA-Z] from the QString; in UTF-8
   * those are exactly the ASCII letters, every other byte goes. */
  for (const char *p = id; *p != '\0' && prefix->len < QT_PREFIX_LETTERS; p++)
    if (g_ascii_isalpha (*p))
      g_string_append_c (prefix, *p);

  return g_strdup_printf ("qtsingleapp-%s-%x-%x",
                          prefix->str,
                          (guint) ls_qt_checksum ((const guint8 *) id, strlen (id)),
                          (guint) getuid ());
}

char *
ls_qt_local_peer_lock_path (const char *socket_name)
{
  g_autofree char *lock_name = g_strconcat (socket_name, "-lockfile", NULL);

  return ls_temp_path_join (lock_name);
}

int
ls_qt_local_peer_lock (const char  *lock_path,
                       const char  *display_name,
                       gboolean    *taken,
                       GError     **error)
{
  /* An open file description lock (F_OFD_SETLK) conflicts with Qt's
   * process-wide record lock, but unlike one it is not dropped when some
   * other descriptor of the same file is closed in this process, and two
   * instances in one process exclude each other too. */
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
  struct stat st;
  int fd;

  *taken = FALSE;
  /* Read-write as QFile::ReadWrite (a write lock needs it), mode 0666 as
   * QFile creates it; O_NOFOLLOW and O_NONBLOCK so that a link or a FIFO
   * planted in a shared directory cannot redirect or hang us. */
  fd = open (lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_propagate_error (error, ls_error_new_cannot (
        saved_errno == EACCES || saved_errno == EPERM || saved_errno == EROFS
          ? LS_SOCKET_ERROR_SOCKET_ACCESS : LS_SOCKET_ERROR_SERVER_NOT_FOUND,
        "register the single instance", display_name,
        "cannot open QtLocalPeer's lock file “%s” (%s)", lock_path,
        saved_errno == ELOOP ? "it is a symbolic link" : g_strerror (saved_errno)));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_propagate_error (error, ls_error_new_cannot (
        LS_SOCKET_ERROR_ADDRESS_IN_USE, "register the single instance", display_name,
        "QtLocalPeer's lock file “%s” is not a regular file", lock_path));
      close (fd);
      return -1;
    }
  if (fcntl (fd, F_OFD_SETLK, &lock) == 0)
    return fd;

  if (errno == EAGAIN || errno == EACCES)
    {
      *taken = TRUE;
    }
  else
    {
      int saved_errno = errno;

      g_propagate_error (error, ls_error_new_cannot (
        ls_errno_is_resource (saved_errno) ? LS_SOCKET_ERROR_SOCKET_RESOURCE : LS_SOCKET_ERROR_UNKNOWN,
        "register the single instance", display_name,
        "cannot lock QtLocalPeer's lock file “%s” (%s)", lock_path, g_strerror (saved_errno)));
    }
  close (fd);
  return -1;
}
