/* lsock-transfer.c: lsock send and lsock recv, bulk transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both run the same pump as connect; send reads a file and ignores what
 * comes back, recv writes what comes in and sends nothing. On a terminal
 * stderr shows a progress bar, otherwise one summary line at the end.
 */
#include "lsock-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#define PROGRESS_INTERVAL_MS 250
#define BAR_WIDTH 24

typedef struct
{
  gboolean       sending;
  gboolean       json;
  gboolean       progress;     /* stderr is a terminal */
  char          *subject;      /* path (or @name) for messages */
  guint64        total;        /* 0: unknown */
  gint64         started;
  guint          progress_id;
  LsockPump     *pump;
  gboolean       fds_mode;     /* --fds */
  gboolean       hexdump;      /* -x */
  double         timeout;      /* --timeout, < 0: the library's */
  LsockFds      *fds;
  GPtrArray     *files;        /* send --fds: LsockFdFile */
  int            dir_fd;       /* recv --fds --output-dir, else -1 */
  char          *dir;
  LsLocalSocket *socket;
  GInputStream  *input;
  GOutputStream *output;
  LsockPumpOptions options;
} Transfer;

static guint64
transferred (Transfer *self)
{
  if (self->fds != NULL)
    return lsock_fds_get_bytes (self->fds);
  if (self->pump == NULL)
    return 0;
  return self->sending ? lsock_pump_get_sent (self->pump) : lsock_pump_get_received (self->pump);
}

static void
format_duration (GString *out,
                 double   seconds)
{
  guint64 s = (guint64) (seconds + 0.5);

  if (s >= 3600)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                            (guint) (s / 60 % 60), (guint) (s % 60));
  else
    g_string_append_printf (out, "%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

static gboolean
draw_progress (gpointer data)
{
  Transfer *self = data;
  guint64 done = transferred (self);
  double elapsed = (g_get_monotonic_time () - self->started) / 1e6;
  double rate = elapsed > 0 ? done / elapsed : 0;
  g_autofree char *done_text = lsock_format_size (done);
  g_autofree char *rate_text = lsock_format_size ((guint64) rate);
  GString *line = g_string_new ("\r\033[K");

  if (self->total > 0)
    {
      double fraction = MIN (1.0, (double) done / self->total);
      int filled = (int) (fraction * BAR_WIDTH);
      g_autofree char *total_text = lsock_format_size (self->total);

      g_string_append_c (line, '[');
      for (int i = 0; i < BAR_WIDTH; i++)
        g_string_append_c (line, i < filled ? '#' : '-');
      g_string_append_printf (line, "] %3d%%  %s of %s  %s/s  ETA ", (int) (fraction * 100),
                              done_text, total_text, rate_text);
      if (rate > 0)
        format_duration (line, (self->total - MIN (done, self->total)) / rate);
      else
        g_string_append (line, "-:--");
    }
  else
    g_string_append_printf (line, "%s  %s/s  ", done_text, rate_text);
  fputs (line->str, stderr);
  fflush (stderr);
  g_string_free (line, TRUE);
  return G_SOURCE_CONTINUE;
}

static void
print_summary (Transfer *self)
{
  guint64 done = transferred (self);
  double elapsed = (g_get_monotonic_time () - self->started) / 1e6;
  double rate = elapsed > 0 ? done / elapsed : 0;

  if (self->progress)
    {
      draw_progress (self);
      fputs ("\n", stderr);
    }
  if (self->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, "done");
      json_builder_set_member_name (b, "name");
      lsock_json_add_text (b, self->subject);
      if (self->fds_mode)
        {
          json_builder_set_member_name (b, "files");
          json_builder_add_int_value (b, self->fds ? lsock_fds_get_files (self->fds) : 0);
          json_builder_set_member_name (b, "bytes");
        }
      else
        json_builder_set_member_name (b, self->sending ? "sent" : "received");
      json_builder_add_int_value (b, done);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, elapsed);
      json_builder_set_member_name (b, "bytes_per_second");
      json_builder_add_double_value (b, rate);
      json_builder_end_object (b);
      lsock_print_json (stderr, b);
    }
  else
    {
      g_autofree char *size_text = lsock_format_size (done);
      g_autofree char *rate_text = lsock_format_size ((guint64) rate);
      g_autofree char *shown = lsock_escape (self->subject, FALSE);

      if (self->fds_mode)
        {
          guint files = self->fds ? lsock_fds_get_files (self->fds) : 0;

          fprintf (stderr, "%s %u file%s (%s) %s %s in %.2f s\n",
                   self->sending ? "sent" : "received", files, files == 1 ? "" : "s",
                   size_text, self->sending ? "to" : "from", shown, elapsed);
        }
      else
        fprintf (stderr, "%s %" G_GUINT64_FORMAT " bytes (%s) %s %s in %.2f s, %s/s\n",
                 self->sending ? "sent" : "received", done, size_text,
                 self->sending ? "to" : "from", shown, elapsed, rate_text);
    }
  fflush (stderr);
}

static void
transfer_done (Transfer   *self,
               int         status,
               const char *subject,
               const char *message)
{
  g_clear_handle_id (&self->progress_id, g_source_remove);
  if (message != NULL)
    {
      /* End the bar's line: the error is a line of its own. */
      if (self->progress)
        fputs ("\n", stderr);
      self->progress = FALSE;
      lsock_fail (status, subject ? subject : self->subject, "%s", message);
    }
  else
    {
      print_summary (self);
      lsock_quit (status);
    }
}

static void
on_transfer_done (LsockPump  *pump,
                  int         status,
                  const char *message,
                  gpointer    user_data)
{
  transfer_done (user_data, status, NULL, message);
}

static void
on_fds_done (LsockFds   *fds,
             int         status,
             const char *subject,
             const char *message,
             gpointer    user_data)
{
  transfer_done (user_data, status, subject, message);
}

static void
start_transfer (Transfer      *self,
                LsLocalSocket *socket)
{
  self->socket = socket;
  self->started = g_get_monotonic_time ();
  if (self->fds_mode)
    {
      if (self->sending)
        self->fds = lsock_fds_new_sender (socket, self->files, on_fds_done, self);
      else
        self->fds = lsock_fds_new_receiver (socket, self->dir_fd, self->dir, self->json,
                                            on_fds_done, self);
      if (self->hexdump)
        lsock_fds_set_hexdump (self->fds, lsock_hexdump_new (0));
      lsock_fds_start (self->fds);
      return;
    }
  self->pump = lsock_pump_new (socket, self->input, self->output, &self->options,
                               on_transfer_done, self);
  if (self->hexdump)
    lsock_pump_set_hexdump (self->pump, lsock_hexdump_new (0));
  if (self->progress)
    self->progress_id = g_timeout_add (PROGRESS_INTERVAL_MS, draw_progress, self);
  lsock_pump_start (self->pump);
}

static void
on_transfer_connection (LsLocalServer *server,
                        gpointer       data)
{
  Transfer *self = data;
  LsLocalSocket *socket;

  if (self->socket != NULL || lsock_app.done)
    return;
  socket = ls_local_server_next_pending_connection (server);
  if (socket == NULL)
    return;
  /* One transfer: the socket file goes as soon as the peer is here. */
  ls_local_server_close (server);
  g_ptr_array_add (lsock_app.sockets, socket);
  start_transfer (self, socket);
}

static int
file_error_status (GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return LSOCK_EXIT_NOT_FOUND;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return LSOCK_EXIT_ACCESS;
  return LSOCK_EXIT_IO;
}

static int
run_transfer (Transfer   *self,
              const char *name,
              gboolean    listen,
              gboolean    abstract,
              const char *mode,
              gboolean    reclaim_stale)
{
  g_autoptr(LsLocalServer) server = NULL;
  g_autofree char *path = lsock_resolve_name (name, abstract);
  int status;

  self->subject = abstract ? g_strconcat ("@", path, NULL) : g_strdup (path);
  self->progress = !self->json && !self->fds_mode && isatty (STDERR_FILENO);

  if (listen)
    server = lsock_listen_or_fail (name, abstract, mode, reclaim_stale, &status);
  if (server != NULL)
    {
      g_signal_connect (server, "new-connection", G_CALLBACK (on_transfer_connection), self);
      if (self->json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "event");
          json_builder_add_string_value (b, "listening");
          json_builder_set_member_name (b, "name");
          lsock_json_add_text (b, self->subject);
          json_builder_end_object (b);
          lsock_print_json (stderr, b);
        }
      else
        {
          g_autofree char *shown = lsock_escape (self->subject, FALSE);

          fprintf (stderr, "listening on %s\n", shown);
          fflush (stderr);
        }
      on_transfer_connection (server, self);
    }
  else if (!listen)
    {
      LsLocalSocket *socket = lsock_connect_or_fail (name, abstract, self->timeout, &status);

      if (socket != NULL)
        start_transfer (self, socket);
    }
  /* Failed to listen or to connect (reported): the same cleanup. */
  if (server == NULL && self->socket == NULL)
    lsock_quit (status);

  lsock_run ();

  if (server != NULL)
    {
      ls_local_server_close (server);
      g_signal_handlers_disconnect_by_data (server, self);
      lsock_app.server = NULL;
    }
  g_clear_handle_id (&self->progress_id, g_source_remove);
  g_clear_pointer (&self->pump, lsock_pump_free);
  g_clear_pointer (&self->fds, lsock_fds_free);
  if (self->socket != NULL)
    {
      ls_local_socket_abort (self->socket);
      g_ptr_array_remove (lsock_app.sockets, self->socket);
      g_clear_object (&self->socket);
    }
  g_clear_object (&self->input);
  if (self->output != NULL)
    {
      g_autoptr(GError) error = NULL;

      /* For -o FILE this is where the file takes its name. */
      if (!g_output_stream_close (self->output, NULL, &error) && lsock_app.status == 0)
        {
          lsock_app.done = FALSE;
          lsock_fail (LSOCK_EXIT_IO, self->subject, "output: %s", error->message);
        }
      g_clear_object (&self->output);
    }
  g_clear_pointer (&self->files, g_ptr_array_unref);
  if (self->dir_fd >= 0)
    close (self->dir_fd);
  g_free (self->dir);
  g_free (self->subject);
  return lsock_app.status;
}

int
lsock_cmd_send (int    argc,
                char **argv)
{
  gboolean abstract = FALSE, json = FALSE, listen = FALSE, reclaim_stale = FALSE, fds = FALSE;
  gboolean hexdump = FALSE;
  g_autofree char *mode = NULL;
  g_autofree char *timeout = NULL;
  GOptionEntry entries[] = {
    { "abstract", 'a', 0, G_OPTION_ARG_NONE, &abstract, NULL, NULL },
    { "listen", 'L', 0, G_OPTION_ARG_NONE, &listen, NULL, NULL },
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode, NULL, NULL },
    { "reclaim-stale", 0, 0, G_OPTION_ARG_NONE, &reclaim_stale, NULL, NULL },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout, NULL, NULL },
    { "fds", 0, 0, G_OPTION_ARG_NONE, &fds, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "hexdump", 'x', 0, G_OPTION_ARG_NONE, &hexdump, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  Transfer self = { 0 };
  int status;

  self.dir_fd = -1;
  if ((status = lsock_parse_command_line (entries, &argc, &argv, 2, G_MAXINT,
                                          "NAME FILE...")) >= 0)
    return status;
  if (!fds && argc > 3)
    return lsock_usage_error ("too many arguments: lsock send [OPTION...] NAME FILE "
                              "(several files need --fds)");
  if ((mode != NULL || reclaim_stale) && !listen)
    return lsock_usage_error ("%s needs --listen", mode != NULL ? "--mode" : "--reclaim-stale");
  if (timeout != NULL && listen)
    return lsock_usage_error ("--timeout applies when connecting, not with --listen");
  if ((status = lsock_timeout_from_arg (timeout, &self.timeout)) >= 0)
    return status;

  self.sending = TRUE;
  self.json = json;
  self.hexdump = hexdump;
  if (fds)
    {
      /* Every file is opened before the socket is touched. */
      self.fds_mode = TRUE;
      self.files = lsock_fds_open_files (argv + 2, argc - 2, &status);
      if (self.files == NULL)
        return status;
      return run_transfer (&self, argv[1], listen, abstract, mode, reclaim_stale);
    }

  if (g_str_equal (argv[2], "-"))
    self.input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  else
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (argv[2]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GFileInfo) info = NULL;

      self.input = G_INPUT_STREAM (g_file_read (file, NULL, &error));
      if (self.input == NULL)
        {
          status = file_error_status (error);
          lsock_fail (status, argv[2], "cannot read: %s", error->message);
          return status;
        }
      info = g_file_input_stream_query_info (G_FILE_INPUT_STREAM (self.input),
                                             G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                             NULL, NULL);
      if (info != NULL && g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
        self.total = g_file_info_get_size (info);
    }
  /* Once the file is written, disconnect (after flushing): the peer sees
   * the end of the stream. What the peer sends is read and dropped. */
  self.options.linger_ms = 0;
  self.options.max_message_size = G_MAXUINT32 - 1;
  return run_transfer (&self, argv[1], listen, abstract, mode, reclaim_stale);
}

/* recv --fds --output-dir DIR: an existing directory, opened once (files
 * are created relative to it, never following a link at their name). */
static int
open_output_dir (const char *dir)
{
  struct stat st;
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    return fd;
  if (errno == ENOTDIR && stat (dir, &st) == 0 && !S_ISDIR (st.st_mode))
    {
      lsock_fail (LSOCK_EXIT_NOT_SOCKET, dir, "--output-dir: not a directory");
      return -LSOCK_EXIT_NOT_SOCKET;
    }
  {
    int saved = errno;
    int status = (saved == ENOENT || saved == ENOTDIR) ? LSOCK_EXIT_NOT_FOUND
                 : (saved == EACCES || saved == EPERM) ? LSOCK_EXIT_ACCESS
                 : LSOCK_EXIT_IO;

    lsock_fail (status, dir, "--output-dir: %s", g_strerror (saved));
    return -status;
  }
}

int
lsock_cmd_recv (int    argc,
                char **argv)
{
  gboolean abstract = FALSE, json = FALSE, connect = FALSE, reclaim_stale = FALSE, fds = FALSE;
  gboolean hexdump = FALSE;
  g_autofree char *mode = NULL;
  g_autofree char *timeout = NULL;
  g_autofree char *output = NULL;
  g_autofree char *output_dir = NULL;
  GOptionEntry entries[] = {
    { "abstract", 'a', 0, G_OPTION_ARG_NONE, &abstract, NULL, NULL },
    { "connect", 'c', 0, G_OPTION_ARG_NONE, &connect, NULL, NULL },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout, NULL, NULL },
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode, NULL, NULL },
    { "reclaim-stale", 0, 0, G_OPTION_ARG_NONE, &reclaim_stale, NULL, NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, NULL, NULL },
    { "fds", 0, 0, G_OPTION_ARG_NONE, &fds, NULL, NULL },
    { "output-dir", 'O', 0, G_OPTION_ARG_FILENAME, &output_dir, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "hexdump", 'x', 0, G_OPTION_ARG_NONE, &hexdump, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  Transfer self = { 0 };
  int status;

  self.dir_fd = -1;
  if ((status = lsock_parse_command_line (entries, &argc, &argv, 1, 1, "NAME")) >= 0)
    return status;
  if ((mode != NULL || reclaim_stale) && connect)
    return lsock_usage_error ("%s applies when listening, not with --connect",
                              mode != NULL ? "--mode" : "--reclaim-stale");
  if (timeout != NULL && !connect)
    return lsock_usage_error ("--timeout applies when connecting: it needs --connect");
  if (output_dir != NULL && !fds)
    return lsock_usage_error ("--output-dir needs --fds");
  if (output != NULL && fds)
    return lsock_usage_error ("--fds receives files, not one stream: use --output-dir DIR, not --output");
  if ((status = lsock_timeout_from_arg (timeout, &self.timeout)) >= 0)
    return status;
  self.sending = FALSE;
  self.json = json;
  self.hexdump = hexdump;
  if (fds)
    {
      self.fds_mode = TRUE;
      if (output_dir != NULL)
        {
          self.dir_fd = open_output_dir (output_dir);
          if (self.dir_fd < 0)
            return -self.dir_fd;
          self.dir = g_strdup (output_dir);
        }
      return run_transfer (&self, argv[1], !connect, abstract, mode, reclaim_stale);
    }
  if (output == NULL || g_str_equal (output, "-"))
    self.output = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
  else
    {
      /* A plain open (): -o may be a device or a pipe, not only a file. */
      int fd = g_open (output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

      if (fd < 0)
        {
          int saved = errno;

          status = (saved == ENOENT || saved == ENOTDIR) ? LSOCK_EXIT_NOT_FOUND
                   : (saved == EACCES || saved == EPERM || saved == EROFS) ? LSOCK_EXIT_ACCESS
                   : LSOCK_EXIT_IO;
          lsock_fail (status, output, "cannot write: %s", g_strerror (saved));
          return status;
        }
      self.output = g_unix_output_stream_new (fd, TRUE);
    }
  /* Nothing to send: wait for the peer to close. Descriptors the peer
   * passes end the transfer (status 7): they need --fds. */
  self.options.linger_ms = -1;
  self.options.max_message_size = G_MAXUINT32 - 1;
  self.options.refuse_fds = TRUE;
  status = run_transfer (&self, argv[1], !connect, abstract, mode, reclaim_stale);
  return status;
}
