/* echo-gio: echo server on GSocketService with async streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What a GLib programmer writes today without Ls: GSocketService::incoming,
 * then g_input_stream_read_bytes_async -> g_output_stream_write_all_async ->
 * read again, one read outstanding per connection. Nothing tuned.
 *
 * Usage: echo-gio SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <stdio.h>
#include "bench-process.h"
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE 65536

typedef struct
{
  GSocketConnection *connection;
  GInputStream      *in;
  GOutputStream     *out;
  GBytes            *data;
} Conn;

static void start_read (Conn *c);

static void
conn_free (Conn *c)
{
  g_clear_pointer (&c->data, g_bytes_unref);
  g_io_stream_close (G_IO_STREAM (c->connection), NULL, NULL);
  g_object_unref (c->connection);
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

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  Conn *c = g_new0 (Conn, 1);

  c->connection = g_object_ref (connection);
  c->in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  c->out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  start_read (c);
  return TRUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  bench_process_setup ();

  loop = g_main_loop_new (NULL, FALSE);
  service = g_socket_service_new ();
  address = g_unix_socket_address_new (argv[1]);
  /* GSocketListener's default backlog is 10; echo-epoll and echo-uv use
   * SOMAXCONN (see echo-ls.c). */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (service), SOMAXCONN);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), NULL);
  g_socket_service_start (service);
  g_unix_signal_add (SIGTERM, on_sigterm, loop);
  g_unix_signal_add (SIGINT, on_sigterm, loop);

  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (loop);

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  unlink (argv[1]);
  return 0;
}
