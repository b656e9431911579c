/* echo-uv-glib: the libuv echo server driven from a GMainLoop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What a GLib application that wanted libuv for its sockets would have to
 * run: the echo callbacks are echo-uv.c's, unchanged (one shared 64 KiB read
 * buffer, uv_try_write, leftovers copied into a uv_write with reading paused
 * until it completes), but nothing calls uv_run (loop, UV_RUN_DEFAULT).
 * Instead one GSource on the thread-default GMainContext
 *
 * - watches libuv's backend descriptor (uv_backend_fd (), the epoll fd) with
 *   g_source_add_unix_fd (G_IO_IN),
 * - in prepare, gives the context uv_backend_timeout () as its poll timeout
 *   (and is ready at once when that is 0),
 * - in check, is ready when the backend fd is readable or libuv's timeout
 *   has run out,
 * - in dispatch, runs uv_run (loop, UV_RUN_NOWAIT): one non-blocking libuv
 *   iteration (epoll_wait (0) and the callbacks).
 *
 * One libuv detail: libuv only hands a descriptor it started watching to
 * epoll_ctl in its next poll phase, and before 1.46 uv_backend_timeout () does
 * not report such pending watchers. After the callbacks of one iteration
 * start watching a new connection, the epoll fd would stay silent about it
 * and the connection would hang. pending_watchers () reads that queue from
 * the (public) loop structure so prepare can ask for one more iteration at
 * once; libuv >= 1.46 does this in uv_backend_timeout () itself.
 *
 * SIGTERM quits the GMainLoop (g_unix_signal_add), as in the GLib servers.
 *
 * Usage: echo-uv-glib SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <glib.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "bench-process.h"

#define READ_SIZE 65536

typedef struct
{
  uv_write_t req;
  uv_buf_t   buf;
  char       data[];
} WriteReq;

static uv_pipe_t   server;
static const char *socket_path;

static char read_buffer[READ_SIZE];

/* ------------------------------------------- the echo, as in echo-uv.c */

static void
on_alloc (uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  *buf = uv_buf_init (read_buffer, sizeof read_buffer);
}

static void
on_closed (uv_handle_t *handle)
{
  free (handle);
}

static void on_read (uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void
on_written (uv_write_t *req, int status)
{
  uv_stream_t *stream = req->handle;

  free (req);
  /* Resume reading once the backlog is written out. */
  if (status == 0 && !uv_is_closing ((uv_handle_t *) stream)
      && uv_stream_get_write_queue_size (stream) == 0)
    uv_read_start (stream, on_alloc, on_read);
}

static void
on_read (uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  WriteReq *w;
  uv_buf_t data;
  int sent;

  if (nread < 0)  /* UV_EOF or an error */
    {
      uv_close ((uv_handle_t *) stream, on_closed);
      return;
    }
  if (nread == 0)
    return;

  data = uv_buf_init (buf->base, (unsigned int) nread);
  sent = uv_try_write (stream, &data, 1);
  if (sent == UV_EAGAIN)
    sent = 0;
  else if (sent < 0)
    {
      uv_close ((uv_handle_t *) stream, on_closed);
      return;
    }
  if (sent == nread)
    return;

  w = malloc (sizeof *w + (size_t) (nread - sent));
  memcpy (w->data, buf->base + sent, (size_t) (nread - sent));
  w->buf = uv_buf_init (w->data, (unsigned int) (nread - sent));
  if (uv_write (&w->req, stream, &w->buf, 1, on_written) != 0)
    {
      free (w);
      uv_close ((uv_handle_t *) stream, on_closed);
      return;
    }
  /* Back-pressure: read no more until the peer has taken this. */
  uv_read_stop (stream);
}

static void
on_connection (uv_stream_t *listener, int status)
{
  uv_pipe_t *client;

  if (status < 0)
    return;
  client = malloc (sizeof *client);
  uv_pipe_init (listener->loop, client, 0);
  if (uv_accept (listener, (uv_stream_t *) client) != 0)
    {
      uv_close ((uv_handle_t *) client, on_closed);
      return;
    }
  uv_read_start ((uv_stream_t *) client, on_alloc, on_read);
}

/* ------------------------------------- the libuv loop in a GSource */

typedef struct
{
  GSource    source;
  uv_loop_t *loop;
  gpointer   tag;  /* of the backend fd */
} UvSource;

static gboolean
pending_watchers (uv_loop_t *loop)
{
#if UV_VERSION_HEX < ((1 << 16) | (46 << 8))
  /* QUEUE_EMPTY (&loop->watcher_queue) of libuv's src/queue.h. */
  return loop->watcher_queue[0] != (void *) &loop->watcher_queue;
#else
  (void) loop;
  return FALSE;  /* uv_backend_timeout () returns 0 for them. */
#endif
}

/* The timeout libuv would block for in uv_run (UV_RUN_ONCE), in ms, -1 for
 * none; 0 when it has work to do without waiting. */
static int
uv_timeout (uv_loop_t *loop)
{
  if (pending_watchers (loop))
    return 0;
  uv_update_time (loop);
  return uv_backend_timeout (loop);
}

static gboolean
uv_source_prepare (GSource *source,
                   gint    *timeout)
{
  UvSource *s = (UvSource *) source;

  *timeout = uv_timeout (s->loop);
  return *timeout == 0;
}

static gboolean
uv_source_check (GSource *source)
{
  UvSource *s = (UvSource *) source;

  if (g_source_query_unix_fd (source, s->tag) != 0)
    return TRUE;
  return uv_timeout (s->loop) == 0;
}

static gboolean
uv_source_dispatch (GSource     *source,
                    GSourceFunc  callback,
                    gpointer     user_data)
{
  UvSource *s = (UvSource *) source;

  uv_run (s->loop, UV_RUN_NOWAIT);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs uv_source_funcs = {
  uv_source_prepare,
  uv_source_check,
  uv_source_dispatch,
  NULL, NULL, NULL,
};

static GSource *
uv_source_new (uv_loop_t *loop)
{
  GSource *source = g_source_new (&uv_source_funcs, sizeof (UvSource));
  UvSource *s = (UvSource *) source;

  s->loop = loop;
  s->tag = g_source_add_unix_fd (source, uv_backend_fd (loop), G_IO_IN);
  g_source_set_name (source, "libuv");
  return source;
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
  uv_loop_t *loop = uv_default_loop ();
  GMainLoop *main_loop;
  GSource *source;
  int r;

  if (argc != 2)
    {
      fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  socket_path = argv[1];
  bench_process_setup ();

  uv_pipe_init (loop, &server, 0);
  if ((r = uv_pipe_bind (&server, socket_path)) != 0
      || (r = uv_listen ((uv_stream_t *) &server, SOMAXCONN, on_connection)) != 0)
    {
      fprintf (stderr, "%s: %s\n", socket_path, uv_strerror (r));
      return 1;
    }

  main_loop = g_main_loop_new (NULL, FALSE);
  source = uv_source_new (loop);
  g_source_attach (source, NULL);
  g_unix_signal_add (SIGTERM, on_sigterm, main_loop);
  g_unix_signal_add (SIGINT, on_sigterm, main_loop);

  printf ("READY\n");
  fflush (stdout);
  g_main_loop_run (main_loop);

  g_source_destroy (source);
  g_source_unref (source);
  g_main_loop_unref (main_loop);
  unlink (socket_path);
  return 0;
}
