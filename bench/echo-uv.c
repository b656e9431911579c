/* echo-uv: echo server on libuv uv_pipe_t
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A libuv echo as one writes it for speed: uv_read_start with one shared
 * 64 KiB read buffer, uv_try_write of what was read, and only what the kernel
 * did not take is copied into a uv_write request, and reading pauses until
 * that request completes; uv_close on EOF.
 * (The textbook variant, malloc(64 KiB) per read and free() in the write
 * callback, mostly measures glibc: with many active connections hundreds of
 * buffers are in flight per loop iteration and the heap is trimmed and
 * regrown with brk and page faults on every round.)
 *
 * Usage: echo-uv SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
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
static uv_signal_t sigterm_watcher;
static const char *socket_path;

static char read_buffer[READ_SIZE];

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

  /* Straight from the shared buffer when nothing is queued and the kernel
   * takes it all (uv_try_write fails with EAGAIN while writes are queued). */
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

static void
on_sigterm (uv_signal_t *handle, int signum)
{
  uv_stop (handle->loop);
}

int
main (int argc, char **argv)
{
  uv_loop_t *loop = uv_default_loop ();
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
  uv_signal_init (loop, &sigterm_watcher);
  uv_signal_start (&sigterm_watcher, on_sigterm, SIGTERM);

  printf ("READY\n");
  fflush (stdout);
  uv_run (loop, UV_RUN_DEFAULT);
  unlink (socket_path);
  return 0;
}
