/* lsock-fds.c: lsock send --fds and lsock recv --fds, passing open files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The sender opens each FILE (a regular file) and writes, for each one, a
 * record line with the file's descriptor attached to it
 * (ls_local_socket_write_with_fds), then an end line, and disconnects:
 *
 *   file SIZE NAME\n      one per file, NAME percent-encoded (RFC 3986
 *                         unreserved characters stay as they are)
 *   end COUNT\n           COUNT records were sent
 *
 * The receiver pairs each record with the descriptors taken right after
 * reading its line. A descriptor is never takeable before the first byte
 * it was written with has been read, and always once the whole record has
 * been; the library starts a sendmsg () at each record, but later data
 * without descriptors (only the end line, here) may share it, so the last
 * record's descriptor may come with the end line instead. So: exactly one
 * descriptor with each record line, except that the last record's may
 * come with the end line; any other count is a protocol error (status 7):
 * a record without its descriptor, or descriptors without a record.
 * Descriptors not used are closed.
 */
#include "lsock-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

/* A record is at most "file " + 20 digits + " " + 3 * 255 + "\n". */
#define MAX_LINE     2048
/* Little read-ahead: at most a few hundred descriptors wait untaken (the
 * library allows 1024) however short the records are. */
#define READ_BUFFER  4096
#define COPY_CHUNK   (1024 * 1024)

typedef struct
{
  char    *name;
  guint64  size;
} Record;

struct _LsockFds
{
  LsLocalSocket *socket;
  gboolean       sending;
  LsockFdsDone   done;
  gpointer       user_data;
  gulong         handlers[4];
  gboolean       finished;

  /* sender */
  GPtrArray     *files;         /* LsockFdFile, not owned */
  gboolean       all_queued;
  gboolean       flushed;

  /* receiver */
  int            dir_fd;        /* -1: list only */
  char          *dir;
  gboolean       json;
  GQueue         records;       /* Record, waiting for their descriptor */
  GArray        *fds;           /* int, waiting for their record */
  GHashTable    *names;
  guint64        lines;
  guint          records_seen;

  guint          n_files;
  guint64        n_bytes;
  LsockHexdump  *hexdump;       /* NULL: no -x */
};

static void
record_free (gpointer data)
{
  Record *record = data;

  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record);
}

static void
finish (LsockFds   *self,
        int         status,
        const char *subject,
        const char *message)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  self->done (self, status, subject, message, self->user_data);
}

static void
fail (LsockFds   *self,
      int         status,
      const char *subject,
      const char *format,
      ...) G_GNUC_PRINTF (4, 5);

static void
fail (LsockFds   *self,
      int         status,
      const char *subject,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  finish (self, status, subject, message);
}

static int
status_for_errno (int saved)
{
  switch (saved)
    {
    case ENOENT:
    case ENOTDIR:
      return LSOCK_EXIT_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
      return LSOCK_EXIT_ACCESS;
    default:
      return LSOCK_EXIT_IO;
    }
}

static const char *
kind_of (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFDIR:  return "a directory";
    case S_IFIFO:  return "a FIFO";
    case S_IFCHR:  return "a character device";
    case S_IFBLK:  return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK:  return "a symbolic link";
    default:       return "not a regular file";
    }
}

static gboolean
connected (LsockFds *self)
{
  return ls_local_socket_get_state (self->socket) == LS_LOCAL_SOCKET_STATE_CONNECTED;
}

/* ---- sender ------------------------------------------------------------ */

void
lsock_fd_file_free (gpointer data)
{
  LsockFdFile *file = data;

  if (file->fd >= 0)
    close (file->fd);
  g_free (file->path);
  g_free (file->name);
  g_free (file);
}

GPtrArray *
lsock_fds_open_files (char **paths,
                      int    n_paths,
                      int   *status)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (lsock_fd_file_free);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Usage first: nothing is opened for a command line that cannot run. */
  for (int i = 0; i < n_paths; i++)
    {
      g_autofree char *name = g_path_get_basename (paths[i]);
      const char *other;

      if (g_str_equal (paths[i], "-"))
        {
          *status = lsock_usage_error ("--fds passes files by descriptor; “-” (stdin) is not one");
          return NULL;
        }
      if ((other = g_hash_table_lookup (names, name)) != NULL)
        {
          *status = lsock_usage_error ("--fds: “%s” and “%s” have the same name “%s”, "
                                       "which the receiver tells files apart by",
                                       other, paths[i], name);
          return NULL;
        }
      g_hash_table_insert (names, g_steal_pointer (&name), paths[i]);
    }

  for (int i = 0; i < n_paths; i++)
    {
      LsockFdFile *file;
      struct stat st;
      /* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
      int fd = open (paths[i], O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

      if (fd < 0)
        {
          int saved = errno;

          *status = status_for_errno (saved);
          lsock_fail (*status, paths[i], "cannot open: %s", g_strerror (saved));
          return NULL;
        }
      if (fstat (fd, &st) != 0)
        {
          int saved = errno;

          close (fd);
          *status = LSOCK_EXIT_IO;
          lsock_fail (*status, paths[i], "cannot examine: %s", g_strerror (saved));
          return NULL;
        }
      if (!S_ISREG (st.st_mode))
        {
          close (fd);
          *status = LSOCK_EXIT_NOT_SOCKET;
          lsock_fail (*status, paths[i], "%s, not a regular file (--fds passes regular files)",
                      kind_of (st.st_mode));
          return NULL;
        }
      /* The receiver shares this open file description: plain blocking. */
      fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
      file = g_new0 (LsockFdFile, 1);
      file->fd = fd;
      file->path = g_strdup (paths[i]);
      file->name = g_path_get_basename (paths[i]);
      file->size = st.st_size;
      g_ptr_array_add (files, file);
    }
  return g_steal_pointer (&files);
}

static void
sender_check_flushed (LsockFds *self)
{
  if (self->finished || !self->all_queued || self->flushed)
    return;
  if (ls_local_socket_get_bytes_to_write (self->socket) > 0)
    {
      ls_local_socket_flush (self->socket);
      if (ls_local_socket_get_bytes_to_write (self->socket) > 0)
        return;       /* bytes-written comes back here */
    }
  self->flushed = TRUE;
  /* The peer sees the end of the stream after the end line. */
  if (connected (self))
    ls_local_socket_disconnect_from_server (self->socket);
  else
    finish (self, LSOCK_EXIT_OK, NULL, NULL);
}

static void
sender_start (LsockFds *self)
{
  g_autoptr(GBytes) end = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; i < self->files->len; i++)
    {
      LsockFdFile *file = g_ptr_array_index (self->files, i);
      g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *escaped = g_uri_escape_bytes ((const guint8 *) file->name,
                                                     strlen (file->name), NULL);
      g_autofree char *line = g_strdup_printf ("file %" G_GUINT64_FORMAT " %s\n",
                                               file->size, escaped);
      g_autoptr(GBytes) record = g_bytes_new_take (line, strlen (line));

      line = NULL;
      if (g_unix_fd_list_append (list, file->fd, &error) < 0 ||
          !ls_local_socket_write_with_fds (self->socket, record, list, &error))
        {
          fail (self, LSOCK_EXIT_IO, file->path, "cannot pass the descriptor: %s", error->message);
          return;
        }
      lsock_hexdump (self->hexdump, LSOCK_SENT, g_bytes_get_data (record, NULL),
                     g_bytes_get_size (record));
      self->n_files++;
      self->n_bytes += file->size;
    }
  text = g_strdup_printf ("end %u\n", self->files->len);
  end = g_bytes_new (text, strlen (text));
  if (ls_local_socket_write_bytes (self->socket, end) != (gssize) g_bytes_get_size (end))
    {
      fail (self, LSOCK_EXIT_IO, NULL, "%s", ls_local_socket_get_error_string (self->socket));
      return;
    }
  lsock_hexdump (self->hexdump, LSOCK_SENT, text, strlen (text));
  self->all_queued = TRUE;
  sender_check_flushed (self);
}

/* ---- receiver ---------------------------------------------------------- */

/* Copies the passed file from its start (pread: the sender's offset is
 * left alone) into a new file DIR/NAME; returns the bytes copied, or -1
 * after failing. Whatever is already at that name is never opened (a
 * FIFO would block, a hard link or a symbolic link lead outside DIR):
 * O_EXCL creates the file or fails, and does not follow a link. */
static gint64
save_copy (LsockFds   *self,
           int         fd,
           const char *name)
{
  g_autofree char *target = g_build_filename (self->dir, name, NULL);
  g_autofree guint8 *buffer = NULL;
  guint64 offset = 0;
  int out = openat (self->dir_fd, name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0666);

  if (out < 0 && errno == EEXIST)
    {
      fail (self, LSOCK_EXIT_IN_USE, target,
            "cannot save the passed file: the name already exists (recv never "
            "replaces a file; remove it or use another --output-dir)");
      return -1;
    }
  if (out < 0)
    {
      int saved = errno;

      fail (self, status_for_errno (saved), target, "cannot write: %s", g_strerror (saved));
      return -1;
    }
  buffer = g_malloc (COPY_CHUNK);
  for (;;)
    {
      ssize_t n = pread (fd, buffer, COPY_CHUNK, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (out);
          fail (self, LSOCK_EXIT_IO, target, "cannot read the passed descriptor: %s",
                g_strerror (saved));
          return -1;
        }
      if (n == 0)
        break;
      for (ssize_t done = 0; done < n;)
        {
          ssize_t w = write (out, buffer + done, n - done);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int saved = errno;

              close (out);
              fail (self, LSOCK_EXIT_IO, target, "cannot write: %s", g_strerror (saved));
              return -1;
            }
          done += w;
        }
      offset += n;
    }
  if (close (out) != 0)
    {
      int saved = errno;

      fail (self, LSOCK_EXIT_IO, target, "cannot write: %s", g_strerror (saved));
      return -1;
    }
  return (gint64) offset;
}

static void
print_file (LsockFds          *self,
            const char        *name,
            const struct stat *st,
            guint64            size)
{
  if (self->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *utf8 = g_utf8_make_valid (name, -1);
      g_autofree char *device = g_strdup_printf ("%u:%u", major (st->st_dev), minor (st->st_dev));

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, utf8);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, size);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, device);
      json_builder_set_member_name (b, "inode");
      json_builder_add_int_value (b, st->st_ino);
      if (self->dir_fd >= 0)
        {
          g_autofree char *target = g_build_filename (self->dir, name, NULL);
          g_autofree char *target_utf8 = g_utf8_make_valid (target, -1);

          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, target_utf8);
        }
      json_builder_end_object (b);
      lsock_print_json (stdout, b);
    }
  else
    {
      g_autofree char *shown = lsock_escape (name, TRUE);

      fprintf (stdout, "%s: %" G_GUINT64_FORMAT " bytes, device %u:%u, inode %" G_GUINT64_FORMAT "\n",
               shown, size, major (st->st_dev), minor (st->st_dev), (guint64) st->st_ino);
    }
  if (fflush (stdout) != 0 || ferror (stdout))
    fail (self, LSOCK_EXIT_IO, NULL, "output: %s", g_strerror (errno));
}

/* A record met its descriptor (which this takes). */
static void
receive_file (LsockFds *self,
              Record   *record,
              int       fd)
{
  struct stat st;
  guint64 size;

  if (fstat (fd, &st) != 0)
    {
      int saved = errno;

      close (fd);
      fail (self, LSOCK_EXIT_IO, NULL, "record “%s”: cannot examine the passed descriptor: %s",
            record->name, g_strerror (saved));
      return;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      fail (self, LSOCK_EXIT_PROTOCOL, NULL,
            "the descriptor passed for “%s” is %s, not a regular file",
            record->name, kind_of (st.st_mode));
      return;
    }
  size = st.st_size;
  if (self->dir_fd >= 0)
    {
      gint64 copied = save_copy (self, fd, record->name);

      if (copied < 0)
        {
          close (fd);
          return;
        }
      size = copied;
    }
  close (fd);
  self->n_files++;
  self->n_bytes += size;
  print_file (self, record->name, &st, size);
}

static void
protocol_error (LsockFds   *self,
                const char *format,
                ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (LsockFds   *self,
                const char *format,
                ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  finish (self, LSOCK_EXIT_PROTOCOL, NULL, message);
}

static gboolean
valid_name (GBytes *bytes)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  if (size == 0 || size > 255 || memchr (data, '\0', size) || memchr (data, '/', size))
    return FALSE;
  if ((size == 1 && data[0] == '.') || (size == 2 && data[0] == '.' && data[1] == '.'))
    return FALSE;
  return TRUE;
}

/* The descriptors that came with what was just read (owned by self->fds). */
static guint
take_descriptors (LsockFds *self)
{
  g_autoptr(GUnixFDList) list = ls_local_socket_take_fds (self->socket);
  g_autofree int *fds = NULL;
  int n = 0;

  if (list == NULL)
    return 0;
  fds = g_unix_fd_list_steal_fds (list, &n);
  g_array_append_vals (self->fds, fds, n);
  return n;
}

static void
close_descriptors (LsockFds *self)
{
  for (guint i = 0; i < self->fds->len; i++)
    close (g_array_index (self->fds, int, i));
  g_array_set_size (self->fds, 0);
}

static void
missing_descriptor (LsockFds *self,
                    guint     number,
                    Record   *record)
{
  protocol_error (self, "record %u (“%s”) arrived without a descriptor", number, record->name);
}

/* After a line was read with self->fds->len descriptors (record: the
 * record it was, NULL for the end line). A conforming sender's descriptor
 * comes with its own record's line, or for the last record possibly with
 * the end line; nothing else is accepted. */
static void
pair_up (LsockFds *self,
         Record   *record)
{
  Record *waiting = g_queue_pop_head (&self->records);
  guint n = self->fds->len;
  int fd;

  if (waiting != NULL && record != NULL)
    {
      /* Its descriptor would have come with its own line. */
      missing_descriptor (self, self->records_seen - 1, waiting);
      record_free (waiting);
      record_free (record);
      return;
    }
  if (record == NULL)
    record = waiting;
  if (n > 1 || (n == 1 && record == NULL))
    {
      if (record != NULL)
        protocol_error (self, "%u descriptors arrived with record %u (“%s”): one per record",
                        n, self->records_seen, record->name);
      else
        protocol_error (self, "%u descriptor%s arrived without a record (after %u record%s)",
                        n, n == 1 ? "" : "s", self->records_seen,
                        self->records_seen == 1 ? "" : "s");
      record_free (record);
      return;
    }
  if (record == NULL)
    return;
  if (n == 0)
    {
      if (waiting == NULL)
        g_queue_push_tail (&self->records, record);   /* may come with the end line */
      else
        {
          missing_descriptor (self, self->records_seen, record);
          record_free (record);
        }
      return;
    }
  fd = g_array_index (self->fds, int, 0);
  g_array_set_size (self->fds, 0);
  receive_file (self, record, fd);
  record_free (record);
}

static void
handle_line (LsockFds   *self,
             const char *line)
{
  g_auto(GStrv) parts = g_strsplit (line, " ", 3);
  guint64 value = 0;

  self->lines++;
  if (g_strv_length (parts) == 3 && g_str_equal (parts[0], "file") &&
      g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT64, &value, NULL))
    {
      g_autoptr(GBytes) name = g_uri_unescape_bytes (parts[2], -1, NULL, NULL);
      Record *record;

      if (name == NULL || !valid_name (name))
        {
          protocol_error (self, "line %" G_GUINT64_FORMAT ": “%s” is not a file name",
                          self->lines, parts[2]);
          return;
        }
      record = g_new0 (Record, 1);
      record->name = g_strndup (g_bytes_get_data (name, NULL), g_bytes_get_size (name));
      record->size = value;
      if (g_hash_table_contains (self->names, record->name))
        {
          protocol_error (self, "line %" G_GUINT64_FORMAT ": a second file named “%s”",
                          self->lines, record->name);
          record_free (record);
          return;
        }
      g_hash_table_add (self->names, g_strdup (record->name));
      self->records_seen++;
      pair_up (self, record);
      return;
    }
  if (g_strv_length (parts) == 2 && g_str_equal (parts[0], "end") &&
      g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT, &value, NULL))
    {
      pair_up (self, NULL);
      if (self->finished)
        return;
      if (value != self->records_seen)
        {
          protocol_error (self, "the end line counts %" G_GUINT64_FORMAT " files, but %u arrived",
                          value, self->records_seen);
          return;
        }
      finish (self, LSOCK_EXIT_OK, NULL, NULL);
      return;
    }
  {
    g_autofree char *head = g_strndup (line, 40);

    protocol_error (self, "line %" G_GUINT64_FORMAT " is not an lsock --fds record: “%s%s”",
                    self->lines, head, strlen (line) > 40 ? "…" : "");
  }
}

static void
receiver_process (LsockFds *self)
{
  while (!self->finished && ls_local_socket_can_read_line (self->socket))
    {
      g_autoptr(GBytes) bytes = ls_local_socket_read_line (self->socket, 0);
      gsize size;
      const char *data = g_bytes_get_data (bytes, &size);
      g_autofree char *line = NULL;

      lsock_hexdump (self->hexdump, LSOCK_RECEIVED, data, size);
      close_descriptors (self);
      take_descriptors (self);
      if (size > MAX_LINE || memchr (data, '\0', size) != NULL)
        {
          protocol_error (self, "line %" G_GUINT64_FORMAT " is not an lsock --fds record "
                          "(%s)", self->lines + 1,
                          size > MAX_LINE ? "too long" : "a NUL byte");
          return;
        }
      line = g_strndup (data, size - 1);     /* without its newline */
      handle_line (self, line);
    }
  if (self->finished)
    return;
  if (ls_local_socket_get_bytes_available (self->socket) > MAX_LINE)
    {
      protocol_error (self, "line %" G_GUINT64_FORMAT " is not an lsock --fds record "
                      "(no newline in %d bytes)", self->lines + 1, MAX_LINE);
      return;
    }
  if (!connected (self))
    {
      gint64 left = ls_local_socket_get_bytes_available (self->socket);

      if (left > 0)
        protocol_error (self, "the peer closed the connection inside a record "
                        "(%" G_GINT64_FORMAT " bytes without a newline)", left);
      else
        protocol_error (self, "the peer closed the connection after %u record%s, "
                        "without the end line", self->records_seen,
                        self->records_seen == 1 ? "" : "s");
    }
}

/* ---- signals ----------------------------------------------------------- */

static void
on_ready_read (LsLocalSocket *socket,
               gpointer       data)
{
  LsockFds *self = data;

  if (!self->sending)
    receiver_process (self);
  else
    {
      /* What a receiver says is read and dropped (descriptors closed). */
      g_autoptr(GBytes) dropped = ls_local_socket_read_all (socket);
      g_autoptr(GUnixFDList) fds = ls_local_socket_take_fds (socket);
    }
}

static void
on_bytes_written (LsLocalSocket *socket,
                  gint64         written,
                  gpointer       data)
{
  LsockFds *self = data;

  if (self->sending)
    sender_check_flushed (self);
}

static void
on_disconnected (LsLocalSocket *socket,
                 gpointer       data)
{
  LsockFds *self = data;

  if (!self->sending)
    {
      receiver_process (self);
      return;
    }
  if (self->flushed)
    finish (self, LSOCK_EXIT_OK, NULL, NULL);
  else
    fail (self, LSOCK_EXIT_IO, NULL, "the peer closed the connection before all "
          "records were sent");
}

static void
on_error_occurred (LsLocalSocket *socket,
                   LsSocketError  code,
                   gpointer       data)
{
  LsockFds *self = data;

  if (code == LS_SOCKET_ERROR_PEER_CLOSED || code == LS_SOCKET_ERROR_SOCKET_TIMEOUT)
    return;     /* disconnected follows */
  /* A receiver reads little ahead, so only a peer that sends descriptors
   * without records to take them can run it out of room for them. */
  if (!self->sending && code == LS_SOCKET_ERROR_SOCKET_RESOURCE)
    {
      protocol_error (self, "the peer sent more descriptors than its records can take (%s)",
                      ls_local_socket_get_error_string (socket));
      return;
    }
  fail (self, LSOCK_EXIT_IO, NULL, "%s", ls_local_socket_get_error_string (socket));
}

/* ---- public ------------------------------------------------------------ */

static LsockFds *
fds_new (LsLocalSocket *socket,
         gboolean       sending,
         LsockFdsDone   done,
         gpointer       user_data)
{
  LsockFds *self = g_new0 (LsockFds, 1);

  self->socket = g_object_ref (socket);
  self->sending = sending;
  self->done = done;
  self->user_data = user_data;
  self->dir_fd = -1;
  return self;
}

LsockFds *
lsock_fds_new_sender (LsLocalSocket *socket,
                      GPtrArray     *files,
                      LsockFdsDone   done,
                      gpointer       user_data)
{
  LsockFds *self = fds_new (socket, TRUE, done, user_data);

  self->files = files;
  return self;
}

LsockFds *
lsock_fds_new_receiver (LsLocalSocket *socket,
                        int            dir_fd,
                        const char    *dir,
                        gboolean       json,
                        LsockFdsDone   done,
                        gpointer       user_data)
{
  LsockFds *self = fds_new (socket, FALSE, done, user_data);

  self->dir_fd = dir_fd;
  self->dir = g_strdup (dir);
  self->json = json;
  g_queue_init (&self->records);
  self->fds = g_array_new (FALSE, FALSE, sizeof (int));
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ls_local_socket_set_read_buffer_size (socket, READ_BUFFER);
  /* Before the first read: the descriptors are what is received. */
  ls_local_socket_set_accept_fds (socket, TRUE);
  return self;
}

void
lsock_fds_start (LsockFds *self)
{
  self->handlers[0] = g_signal_connect (self->socket, "ready-read", G_CALLBACK (on_ready_read), self);
  self->handlers[1] = g_signal_connect (self->socket, "bytes-written", G_CALLBACK (on_bytes_written), self);
  self->handlers[2] = g_signal_connect (self->socket, "disconnected", G_CALLBACK (on_disconnected), self);
  self->handlers[3] = g_signal_connect (self->socket, "error-occurred", G_CALLBACK (on_error_occurred), self);

  if (self->sending)
    {
      if (!connected (self))
        fail (self, LSOCK_EXIT_IO, NULL, "the peer closed the connection before the records were sent");
      else
        sender_start (self);
    }
  else
    receiver_process (self);
}

void
lsock_fds_free (LsockFds *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->handlers); i++)
    g_clear_signal_handler (&self->handlers[i], self->socket);
  if (self->fds != NULL)
    {
      for (guint i = 0; i < self->fds->len; i++)
        close (g_array_index (self->fds, int, i));
      g_array_unref (self->fds);
    }
  g_queue_clear_full (&self->records, record_free);
  g_clear_pointer (&self->names, g_hash_table_unref);
  g_clear_pointer (&self->hexdump, lsock_hexdump_free);
  g_free (self->dir);
  g_clear_object (&self->socket);
  g_free (self);
}

guint
lsock_fds_get_files (LsockFds *self)
{
  return self->n_files;
}

guint64
lsock_fds_get_bytes (LsockFds *self)
{
  return self->n_bytes;
}

void
lsock_fds_set_hexdump (LsockFds     *self,
                       LsockHexdump *dump)
{
  g_clear_pointer (&self->hexdump, lsock_hexdump_free);
  self->hexdump = dump;
}
