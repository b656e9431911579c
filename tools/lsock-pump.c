/* lsock-pump.c: copies between a byte stream pair and a connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both directions are flow controlled, so a 1 GiB transfer never holds
 * more than a few MiB: input is read only while the connection's write
 * buffer is below HIGH_WATER, and the connection's input buffer is capped
 * (read-buffer-size) so that a slow stdout pushes back on the peer through
 * the kernel.
 *
 * The end of a session (documented in lsock.txt, "connect"):
 *  - the peer closes: what it sent is still copied out, then the pump ends;
 *  - the input ends: everything read is written to the connection; with
 *    --half-close the sending direction is shut down; then the pump waits
 *    for the peer to close, or for --linger of silence from it, and
 *    disconnects (disconnect_from_server flushes first).
 */
#include "lsock-private.h"
#include "lsock-frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>

#define INPUT_CHUNK   (256 * 1024)
#define OUTPUT_CHUNK  (256 * 1024)
#define HIGH_WATER    (4 * 1024 * 1024)
#define LOW_WATER     (1 * 1024 * 1024)
#define READ_BUFFER   (1 * 1024 * 1024)

struct _LsockPump
{
  LsLocalSocket    *socket;
  GInputStream     *input;        /* NULL: nothing to send */
  GDataInputStream *lines;        /* framed input */
  GOutputStream    *output;       /* NULL: discard what arrives */
  LsockPumpOptions  options;
  GCancellable     *cancellable;
  LsockPumpDone     done;
  gpointer          user_data;
  LsockHexdump     *hexdump;      /* NULL: no -x */

  GBytes           *out_pending;  /* being written to the output */
  guint64           sent;
  guint64           received;
  guint64           line_number;
  guint             linger_id;
  gulong            handlers[4];

  guint             input_reading : 1;
  guint             input_blocked : 1;
  guint             input_ended : 1;
  guint             input_flushed : 1;
  guint             output_writing : 1;
  guint             peer_gone : 1;
  guint             finished : 1;
};

static void input_next  (LsockPump *self);
static void output_next (LsockPump *self);

static void
finish (LsockPump  *self,
        int         status,
        const char *message)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->linger_id, g_source_remove);
  self->done (self, status, message, self->user_data);
}

static void
fail (LsockPump  *self,
      int         status,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

static void
fail (LsockPump  *self,
      int         status,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  finish (self, status, message);
}

static gboolean
connected (LsockPump *self)
{
  return ls_local_socket_get_state (self->socket) == LS_LOCAL_SOCKET_STATE_CONNECTED;
}

/* ---- the end of a session ---------------------------------------------- */

static void
maybe_finish (LsockPump *self)
{
  if (self->finished || !self->peer_gone || self->output_writing)
    return;
  if (ls_local_socket_get_bytes_available (self->socket) > 0)
    {
      if (!self->options.framed)
        return;
      /* Only a partial frame can be left over. */
      fail (self, LSOCK_EXIT_PROTOCOL,
            "the peer closed the connection inside a message (%" G_GINT64_FORMAT
            " bytes of an incomplete frame)",
            lsock_frame_pending (self->socket));
      return;
    }
  finish (self, LSOCK_EXIT_OK, NULL);
}

static gboolean
linger_expired (gpointer data)
{
  LsockPump *self = data;

  self->linger_id = 0;
  if (connected (self))
    ls_local_socket_disconnect_from_server (self->socket);
  return G_SOURCE_REMOVE;
}

static void
restart_linger (LsockPump *self)
{
  if (!self->input_flushed || self->peer_gone || self->finished)
    return;
  g_clear_handle_id (&self->linger_id, g_source_remove);
  if (self->options.linger_ms < 0)
    return;
  if (self->options.linger_ms == 0)
    {
      if (connected (self))
        ls_local_socket_disconnect_from_server (self->socket);
      return;
    }
  self->linger_id = g_timeout_add (self->options.linger_ms, linger_expired, self);
}

/* Everything read from the input has been handed to the kernel. */
static void
maybe_input_flushed (LsockPump *self)
{
  if (!self->input_ended || self->input_flushed || self->finished || self->peer_gone)
    return;
  if (ls_local_socket_get_bytes_to_write (self->socket) > 0)
    {
      /* A flush that writes everything at once need not be followed by a
       * bytes-written that brings us back: look again. */
      ls_local_socket_flush (self->socket);
      if (self->finished || ls_local_socket_get_bytes_to_write (self->socket) > 0)
        return;       /* bytes-written comes back here */
    }
  if (self->input_flushed || self->peer_gone)
    return;
  self->input_flushed = TRUE;
  if (self->options.half_close && connected (self))
    shutdown (ls_local_socket_get_socket_descriptor (self->socket), SHUT_WR);
  restart_linger (self);
}

/* ---- input -> connection ----------------------------------------------- */

/* A frame as it is on the wire, its 4-byte length first, in one piece. */
static void
dump_frame (LsockPump      *self,
            LsockDirection  direction,
            const void     *header,
            GBytes         *message)
{
  g_autoptr(GByteArray) frame = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);

  if (self->hexdump == NULL)
    return;
  frame = g_byte_array_sized_new (LSOCK_FRAME_HEADER_SIZE + size);
  g_byte_array_append (frame, header, LSOCK_FRAME_HEADER_SIZE);
  if (size > 0)
    g_byte_array_append (frame, data, size);
  lsock_hexdump (self->hexdump, direction, frame->data, frame->len);
}

static void
send_message (LsockPump *self,
              GBytes    *message)
{
  g_autoptr(GError) error = NULL;
  gsize size = g_bytes_get_size (message);

  if (!connected (self))
    return;       /* the peer left: disconnected ends the session */
  if (self->options.framed)
    {
      guint32 header = GUINT32_TO_BE ((guint32) size);

      if (!lsock_frame_write (self->socket, message, self->options.max_message_size, &error))
        {
          int status = g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE)
                       ? LSOCK_EXIT_PROTOCOL : LSOCK_EXIT_IO;
          fail (self, status, "stdin line %" G_GUINT64_FORMAT ": %s",
                self->line_number, error->message);
          return;
        }
      dump_frame (self, LSOCK_SENT, &header, message);
    }
  else if (size > 0 && ls_local_socket_write_bytes (self->socket, message) != (gssize) size)
    return;
  else
    lsock_hexdump (self->hexdump, LSOCK_SENT, g_bytes_get_data (message, NULL), size);
  self->sent += size;
}

static void
input_done (LsockPump *self)
{
  self->input_ended = TRUE;
  maybe_input_flushed (self);
}

static void
on_input_read (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  LsockPump *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->input_reading = FALSE;
  if (bytes == NULL)
    {
      fail (self, LSOCK_EXIT_IO, "input: %s", error->message);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      input_done (self);
      return;
    }
  send_message (self, bytes);
  input_next (self);
}

static void
on_line_read (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  LsockPump *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  gsize length = 0;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                result, &length, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->input_reading = FALSE;
  if (error != NULL)
    {
      fail (self, LSOCK_EXIT_IO, "input: %s", error->message);
      return;
    }
  if (line == NULL)
    {
      input_done (self);
      return;
    }
  self->line_number++;
  message = lsock_message_from_line (self->options.format, line, length, &error);
  if (message == NULL)
    {
      fail (self, LSOCK_EXIT_PROTOCOL, "stdin line %" G_GUINT64_FORMAT ": %s",
            self->line_number, error->message);
      return;
    }
  send_message (self, message);
  input_next (self);
}

static void
input_next (LsockPump *self)
{
  if (self->finished || self->input_reading || self->input_ended || !connected (self))
    return;
  if (ls_local_socket_get_bytes_to_write (self->socket) > HIGH_WATER)
    {
      self->input_blocked = TRUE;
      return;
    }
  self->input_blocked = FALSE;
  self->input_reading = TRUE;
  if (self->lines != NULL)
    g_data_input_stream_read_line_async (self->lines, G_PRIORITY_DEFAULT,
                                         self->cancellable, on_line_read, self);
  else
    g_input_stream_read_bytes_async (self->input, INPUT_CHUNK, G_PRIORITY_DEFAULT,
                                     self->cancellable, on_input_read, self);
}

static void
on_bytes_written (LsLocalSocket *socket,
                  gint64         written,
                  gpointer       data)
{
  LsockPump *self = data;

  if (self->input_blocked && ls_local_socket_get_bytes_to_write (socket) < LOW_WATER)
    input_next (self);
  maybe_input_flushed (self);
}

/* ---- connection -> output ---------------------------------------------- */

static void
on_output_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  LsockPump *self = data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->output_writing = FALSE;
  g_clear_pointer (&self->out_pending, g_bytes_unref);
  if (error != NULL)
    {
      fail (self, LSOCK_EXIT_IO, "output: %s", error->message);
      return;
    }
  output_next (self);
}

/* Descriptors the peer passed with what was just read. Only a session
 * with refuse_fds accepts them (lsock_pump_new ()), to end with status 7;
 * the kernel drops those passed to any other byte session. */
static gboolean
no_fds (LsockPump *self)
{
  g_autoptr(GUnixFDList) fds = ls_local_socket_take_fds (self->socket);
  int n;

  if (fds == NULL || !self->options.refuse_fds)
    return TRUE;
  n = g_unix_fd_list_get_length (fds);
  fail (self, LSOCK_EXIT_PROTOCOL,
        "the peer passed %d file descriptor%s after %" G_GUINT64_FORMAT " bytes "
        "(closed unread; receive descriptors with --fds)",
        n, n == 1 ? "" : "s", self->received);
  return FALSE;
}

/* Takes the next chunk (or message) off the connection; NULL when there
 * is nothing (complete) to take. */
static GBytes *
take_next (LsockPump *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) header = NULL;
  gint64 available = ls_local_socket_get_bytes_available (self->socket);

  if (!self->options.framed)
    {
      g_autoptr(GBytes) chunk = NULL;

      if (available <= 0)
        return NULL;
      chunk = ls_local_socket_read (self->socket, MIN (available, OUTPUT_CHUNK));
      lsock_hexdump (self->hexdump, LSOCK_RECEIVED, g_bytes_get_data (chunk, NULL),
                     g_bytes_get_size (chunk));
      return no_fds (self) ? g_steal_pointer (&chunk) : NULL;
    }

  /* The length as it came (0xFFFFFFFF for a null QByteArray reads as an
   * empty message), for the dump. */
  if (self->hexdump != NULL && available >= LSOCK_FRAME_HEADER_SIZE)
    header = ls_local_socket_peek (self->socket, LSOCK_FRAME_HEADER_SIZE);
  message = lsock_frame_read (self->socket, self->options.max_message_size, &error);
  if (error != NULL)
    {
      fail (self, LSOCK_EXIT_PROTOCOL, "%s", error->message);
      return NULL;
    }
  if (message != NULL && header != NULL)
    dump_frame (self, LSOCK_RECEIVED, g_bytes_get_data (header, NULL), message);
  if (message == NULL || !no_fds (self))
    return NULL;
  self->received += g_bytes_get_size (message);
  return lsock_message_to_line (self->options.format, message);
}

static void
output_next (LsockPump *self)
{
  while (!self->finished && !self->output_writing)
    {
      g_autoptr(GBytes) chunk = take_next (self);
      gsize size;

      if (chunk == NULL)
        break;
      size = g_bytes_get_size (chunk);
      if (!self->options.framed)
        self->received += size;
      if (self->output == NULL)
        continue;
      self->output_writing = TRUE;
      self->out_pending = g_steal_pointer (&chunk);
      g_output_stream_write_all_async (self->output,
                                       g_bytes_get_data (self->out_pending, NULL), size,
                                       G_PRIORITY_DEFAULT, self->cancellable,
                                       on_output_written, self);
    }
  maybe_finish (self);
}

static void
on_ready_read (LsLocalSocket *socket,
               gpointer       data)
{
  LsockPump *self = data;

  restart_linger (self);
  output_next (self);
}

static void
on_disconnected (LsLocalSocket *socket,
                 gpointer       data)
{
  LsockPump *self = data;

  self->peer_gone = TRUE;
  g_clear_handle_id (&self->linger_id, g_source_remove);
  output_next (self);
}

static void
on_error_occurred (LsLocalSocket *socket,
                   LsSocketError  code,
                   gpointer       data)
{
  LsockPump *self = data;

  /* The peer closing is the normal end; a connection error is not. */
  if (code == LS_SOCKET_ERROR_PEER_CLOSED || code == LS_SOCKET_ERROR_SOCKET_TIMEOUT)
    return;
  fail (self, LSOCK_EXIT_IO, "%s", ls_local_socket_get_error_string (socket));
}

/* ---- public ---------------------------------------------------------- */

LsockPump *
lsock_pump_new (LsLocalSocket          *socket,
                GInputStream           *input,
                GOutputStream          *output,
                const LsockPumpOptions *options,
                LsockPumpDone           done,
                gpointer                user_data)
{
  LsockPump *self = g_new0 (LsockPump, 1);

  self->socket = g_object_ref (socket);
  self->input = input ? g_object_ref (input) : NULL;
  self->output = output ? g_object_ref (output) : NULL;
  self->options = *options;
  self->done = done;
  self->user_data = user_data;
  self->cancellable = g_cancellable_new ();
  if (self->input != NULL && options->framed)
    {
      self->lines = g_data_input_stream_new (self->input);
      g_data_input_stream_set_newline_type (self->lines, G_DATA_STREAM_NEWLINE_TYPE_LF);
      g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (self->lines), 64 * 1024);
      /* The stream is shared with later sessions of listen --keep. */
      g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (self->lines), FALSE);
    }

  /* A slow output pushes back on the peer; the library still assembles a
   * whole frame beyond this cap. */
  ls_local_socket_set_read_buffer_size (socket, READ_BUFFER);
  if (options->framed)
    ls_local_socket_set_max_message_size (socket, options->max_message_size);
  /* Before the first read: refusing descriptors means seeing them. */
  ls_local_socket_set_accept_fds (socket, options->refuse_fds);
  return self;
}

void
lsock_pump_start (LsockPump *self)
{
  self->handlers[0] = g_signal_connect (self->socket, "ready-read", G_CALLBACK (on_ready_read), self);
  self->handlers[1] = g_signal_connect (self->socket, "bytes-written", G_CALLBACK (on_bytes_written), self);
  self->handlers[2] = g_signal_connect (self->socket, "disconnected", G_CALLBACK (on_disconnected), self);
  self->handlers[3] = g_signal_connect (self->socket, "error-occurred", G_CALLBACK (on_error_occurred), self);

  if (!connected (self))
    {
      /* Closed before we started: take what it sent. */
      self->peer_gone = TRUE;
      output_next (self);
      return;
    }
  if (self->input == NULL)
    input_done (self);
  else
    input_next (self);
  output_next (self);
}

void
lsock_pump_free (LsockPump *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->linger_id, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (self->handlers); i++)
    g_clear_signal_handler (&self->handlers[i], self->socket);
  /* An async read may still hold the streams; they keep their own refs. */
  g_clear_object (&self->lines);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_pointer (&self->out_pending, g_bytes_unref);
  g_clear_pointer (&self->hexdump, lsock_hexdump_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->socket);
  g_free (self);
}

void
lsock_pump_set_hexdump (LsockPump    *self,
                        LsockHexdump *dump)
{
  g_clear_pointer (&self->hexdump, lsock_hexdump_free);
  self->hexdump = dump;
}

guint64
lsock_pump_get_sent (LsockPump *self)
{
  return self->sent;
}

guint64
lsock_pump_get_received (LsockPump *self)
{
  return self->received;
}

gboolean
lsock_pump_input_ended (LsockPump *self)
{
  return self->input_ended;
}
