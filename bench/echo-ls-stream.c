/* echo-ls-stream: echo server on LsLocalServer through the sockets' GIOStream view
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * new-connection -> next_pending_connection; then, on the streams of
 * ls_local_socket_get_io_stream (), exactly what echo-gio does on a
 * GSocketConnection's: g_input_stream_read_bytes_async (64 KiB) ->
 * g_output_stream_write_all_async -> read again, one read outstanding per
 * connection. The end of the stream (or an error) disconnects gracefully
 * and drops the socket. One setting: read-buffer-size is the read size
 * (see on_new_connection ()); nothing else is tuned.
 *
 * Usage: echo-ls-stream SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include "echo-ls-main.h"

#define READ_SIZE 65536

typedef struct
{
  LsLocalSocket *socket;
  GInputStream  *in;
  GOutputStream *out;
  GBytes        *data;
} Conn;

static void start_read (Conn *c);

static void
conn_free (Conn *c)
{
  g_clear_pointer (&c->data, g_bytes_unref);
  /* Whatever is still queued is delivered first; the socket keeps itself
   * alive meanwhile. */
  ls_local_socket_disconnect_from_server (c->socket);
  g_object_unref (c->socket);
  g_free (c);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Conn *c = user_data;

  g_clear_pointer (&c->data, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    {
      conn_free (c);
      return;
    }
  start_read (c);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Conn *c = user_data;
  GBytes *bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  gsize size;
  const guint8 *data;

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (bytes != NULL)
        g_bytes_unref (bytes);
      conn_free (c);  /* EOF or error */
      return;
    }
  c->data = bytes;
  data = g_bytes_get_data (bytes, &size);
  g_output_stream_write_all_async (c->out, data, size, G_PRIORITY_DEFAULT, NULL,
                                   on_written, c);
}

static void
start_read (Conn *c)
{
  g_input_stream_read_bytes_async (c->in, READ_SIZE, G_PRIORITY_DEFAULT, NULL, on_read, c);
}

static void
on_new_connection (LsLocalServer *server,
                   gpointer       user_data)
{
  LsLocalSocket *socket;

  while ((socket = ls_local_server_next_pending_connection (server)) != NULL)
    {
      Conn *c = g_new0 (Conn, 1);
      GIOStream *view = ls_local_socket_get_io_stream (socket);

      c->socket = socket;
      /* GIO's streams read from the kernel when asked; an Ls socket
       * reads ahead into its buffer, without bound unless
       * read-buffer-size says otherwise. A stream reader that takes 64 KiB
       * at a time bounds it the same (as docs/streams.md advises), so
       * the rest waits in the kernel as it does for echo-gio. */
      ls_local_socket_set_read_buffer_size (socket, READ_SIZE);
      c->in = g_io_stream_get_input_stream (view);
      c->out = g_io_stream_get_output_stream (view);
      start_read (c);
    }
}

static void
start (LsLocalServer *server)
{
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), NULL);
}

int
main (int    argc,
      char **argv)
{
  return echo_ls_main (argc, argv, start);
}
