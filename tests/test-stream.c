/* test-stream.c: the socket as a GIOStream (ls_local_socket_get_io_stream),
 * write-high-water and ls_local_socket_detach (issue 24)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gio/gunixconnection.h>
#include <gio/gunixfdlist.h>
#include <valgrind/valgrind.h>
#ifdef HAVE_JSON_GLIB
# include <json-glib/json-glib.h>
#endif

#define TIMEOUT_MS 30000
#if defined(__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#else
# define UNDER_ASAN 0
#endif
#define MIB (1024 * 1024)

/* ---- Helpers ------------------------------------------------------------- */

static GInputStream *
input_of (LsLocalSocket *socket)
{
  return g_io_stream_get_input_stream (ls_local_socket_get_io_stream (socket));
}

static GOutputStream *
output_of (LsLocalSocket *socket)
{
  return g_io_stream_get_output_stream (ls_local_socket_get_io_stream (socket));
}

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  GAsyncResult **slot = data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
slot_filled (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

/* Runs the thread-default context until @slot holds a result; returns it
 * (owned) and empties the slot. */
static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  g_assert_true (ls_test_run_until_cond (slot_filled, slot, TIMEOUT_MS));
  return g_steal_pointer (slot);
}

/* The same for a long transfer. */
static GAsyncResult *
wait_result_long (GAsyncResult **slot)
{
  g_assert_true (ls_test_run_until_cond (slot_filled, slot, 10 * 60 * 1000));
  return g_steal_pointer (slot);
}

/* The bytes @socket's view reads until the end of the stream. */
static GBytes *
read_to_end_async (LsLocalSocket *socket)
{
  GByteArray *all = g_byte_array_new ();
  GAsyncResult *slot = NULL;

  for (;;)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;

      g_input_stream_read_bytes_async (input_of (socket), 4096, G_PRIORITY_DEFAULT, NULL,
                                       on_result, &slot);
      result = wait_result (&slot);
      bytes = g_input_stream_read_bytes_finish (input_of (socket), result, &error);
      g_assert_no_error (error);
      if (g_bytes_get_size (bytes) == 0)
        break;
      g_byte_array_append (all, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  return g_byte_array_free_to_bytes (all);
}

static void
write_all_async (GOutputStream *out,
                 const void    *data,
                 gsize          size)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  gsize written = 0;

  g_output_stream_write_all_async (out, data, size, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  result = wait_result (&slot);
  g_assert_true (g_output_stream_write_all_finish (out, result, &written, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, size);
}

static gboolean
socket_unconnected (gpointer data)
{
  return ls_local_socket_get_state (data) == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
}

/* The TIDs of this process's threads, sorted, as text. */
static char *
thread_ids (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (ids, g_strdup (name));
  return ls_test_join_sorted (ids);
}

/* A value in kB from /proc/self/status ("VmHWM", "VmRSS"). */
static guint64
proc_status_kb (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, field);
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen (field) + 1, NULL, 10);
}

static gboolean
int_set (gpointer data)
{
  return g_atomic_int_get ((gint *) data) != 0;
}

/* Makes VmHWM start again from the current RSS. */
static void
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "5", 1), ==, 1);
  close (fd);
}

/* ---- The view ------------------------------------------------------------ */

static void
test_view_basics (LsTestFixture *f,
                  gconstpointer  data)
{
  GIOStream *view = ls_local_socket_get_io_stream (f->client);
  g_autoptr(GString) log = g_string_new ("");

  /* One view for the socket's life, pollable both ways. */
  g_assert_true (G_IS_IO_STREAM (view));
  g_assert_true (ls_local_socket_get_io_stream (f->client) == view);
  g_assert_true (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (view)));
  g_assert_true (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (view)));
  g_assert_true (g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input_of (f->client))));
  g_assert_true (g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output_of (f->client))));
  g_assert_false (g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (input_of (f->client))));
  g_assert_true (g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (output_of (f->client))));

  /* write-high-water: 1 MiB by default, notified on change only. */
  g_assert_cmpuint (ls_local_socket_get_write_high_water (f->peer), ==, 1024 * 1024);
  g_signal_connect (f->peer, "notify", G_CALLBACK (ls_test_on_notify), log);
  ls_local_socket_set_write_high_water (f->peer, 1024 * 1024);
  g_assert_cmpstr (log->str, ==, "");
  g_object_set (f->peer, "write-high-water", 0u, NULL);
  g_assert_cmpstr (log->str, ==, "write-high-water ");
  g_assert_cmpuint (ls_local_socket_get_write_high_water (f->peer), ==, 0);
  ls_local_socket_set_write_high_water (f->peer, 4096);
  {
    guint value = 0;

    g_object_get (f->peer, "write-high-water", &value, NULL);
    g_assert_cmpuint (value, ==, 4096);
  }
  g_signal_handlers_disconnect_by_func (f->peer, ls_test_on_notify, log);
}

/* Bytes written through one view arrive through the other, in order with
 * what write () queued, and ready-read / bytes-written still fire. */
static void
test_view_roundtrip (LsTestFixture *f,
                     gconstpointer  data)
{
  g_autoptr(GBytes) got = NULL;
  gboolean ready_read = FALSE;
  gint64 written = 0;

  g_signal_connect (f->peer, "ready-read", G_CALLBACK (ls_test_on_flag), &ready_read);
  g_signal_connect (f->client, "bytes-written", G_CALLBACK (ls_test_on_add_bytes_written), &written);
  ls_test_socket_write_str (f->client, "one,");
  write_all_async (output_of (f->client), "two,", 4);
  ls_test_socket_write_str (f->client, "three");
  g_io_stream_close (ls_local_socket_get_io_stream (f->client), NULL, NULL);

  got = read_to_end_async (f->peer);
  ls_test_assert_bytes_str (g_steal_pointer (&got), "one,two,three");
  g_assert_true (ready_read);
  g_assert_cmpint (written, ==, 13);
  g_assert_true (ls_test_run_until_cond (socket_unconnected, f->client, TIMEOUT_MS));
}

/* The blocking calls work without a main loop running, in the socket's
 * thread. */
static void
test_view_blocking (LsTestFixture *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  char buffer[64];
  gssize n;

  g_assert_true (g_output_stream_write_all (output_of (f->client), "hello\n", 6, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_flush (output_of (f->client), NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);

  n = g_input_stream_read (input_of (f->peer), buffer, 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpmem (buffer, 3, "hel", 3);
  g_assert_cmpint (g_input_stream_skip (input_of (f->peer), 2, NULL, &error), ==, 2);
  n = g_input_stream_read (input_of (f->peer), buffer, sizeof buffer, NULL, &error);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpint (buffer[0], ==, '\n');

  /* The end of the stream. */
  ls_local_socket_disconnect_from_server (f->client);
  n = g_input_stream_read (input_of (f->peer), buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (100 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

/* A blocking read that is cancelled gives CANCELLED and consumes nothing;
 * so does a blocking write that waits for the queue to drain. */
static void
test_view_blocking_cancel (LsTestFixture *f,
                           gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) rest = NULL;
  GThread *thread;
  char buffer[16];
  char *big;

  thread = g_thread_new ("cancel", cancel_later, cancellable);
  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, sizeof buffer, cancellable, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_thread_join (thread);
  g_clear_error (&error);

  /* Already cancelled: nothing is taken even though bytes are there. */
  ls_test_socket_write_str (f->client, "kept");
  g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, sizeof buffer, cancellable, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  rest = ls_local_socket_read_all (f->peer);
  ls_test_assert_bytes_str (g_steal_pointer (&rest), "kept");

  /* A write above the high-water mark waits for the queue to drain; the
   * peer does not read, so it waits until cancelled, queueing nothing. */
  ls_local_socket_set_write_high_water (f->client, 1);
  big = g_malloc0 (8 * 1024 * 1024);
  ls_local_socket_write (f->client, (const guint8 *) big, 8 * 1024 * 1024);
  g_cancellable_reset (cancellable);
  thread = g_thread_new ("cancel", cancel_later, cancellable);
  g_assert_cmpint (g_output_stream_write (output_of (f->client), "x", 1, cancellable, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_thread_join (thread);
  g_clear_error (&error);
  g_free (big);
  ls_local_socket_abort (f->client);
}

/* A socket that never connected: reads are the end of the stream, writes
 * fail with NOT_CONNECTED, a flush has nothing to do. */
static void
test_view_unconnected (void)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  char buffer[8];

  g_assert_true (g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (input_of (socket))));
  g_assert_true (g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (output_of (socket))));
  g_assert_cmpint (g_input_stream_read (input_of (socket), buffer, sizeof buffer, NULL, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (g_output_stream_write (output_of (socket), "x", 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  ls_test_assert_contains (error->message, "not connected");
  g_clear_error (&error);
  g_assert_true (g_output_stream_flush (output_of (socket), NULL, &error));
  g_assert_no_error (error);

  g_input_stream_read_async (input_of (socket), buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (input_of (socket), result, &error), ==, 0);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_output_stream_write_async (output_of (socket), "x", 1, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  result = wait_result (&slot);
  g_assert_cmpint (g_output_stream_write_finish (output_of (socket), result, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  g_clear_object (&result);
}


/* ---- Asynchronous calls -------------------------------------------------- */

/* A pending read or write that is cancelled fails with CANCELLED and takes
 * or queues nothing. */
static void
test_async_cancel (LsTestFixture *f,
                   gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  char buffer[16];
  gint64 queued;

  g_input_stream_read_async (input_of (f->peer), buffer, sizeof buffer, G_PRIORITY_DEFAULT,
                             cancellable, on_result, &slot);
  ls_test_run_for (20);
  g_assert_null (slot);
  g_cancellable_cancel (cancellable);
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (input_of (f->peer), result, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);
  ls_test_send_and_expect_in_loop (f->client, f->peer, "after");

  /* A write waiting above the mark. */
  ls_local_socket_set_write_high_water (f->client, 16);
  ls_test_socket_write_str (f->client, "0123456789abcdefXYZ");
  queued = ls_local_socket_get_bytes_to_write (f->client);
  g_assert_cmpint (queued, ==, 19);
  g_cancellable_reset (cancellable);
  g_output_stream_write_async (output_of (f->client), "w", 1, G_PRIORITY_DEFAULT, cancellable,
                               on_result, &slot);
  g_cancellable_cancel (cancellable);
  result = wait_result (&slot);
  g_assert_cmpint (g_output_stream_write_finish (output_of (f->client), result, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);
  {
    g_autofree char *got = ls_test_socket_read_n (f->peer, 19, TIMEOUT_MS);

    g_assert_cmpstr (got, ==, "0123456789abcdefXYZ");
  }
}

/* Reads a raw descriptor to its end in a thread. */
typedef struct
{
  int         fd;
  GByteArray *data;
  gint        done;
} Drain;

static gpointer
drain_thread (gpointer user_data)
{
  Drain *drain = user_data;
  guint8 buffer[65536];
  gssize n;

  while ((n = read (drain->fd, buffer, sizeof buffer)) != 0)
    if (n > 0)
      g_byte_array_append (drain->data, buffer, n);
    else if (errno != EINTR)
      break;
  g_atomic_int_set (&drain->done, 1);
  return NULL;
}

/* A write above the mark waits for bytes-written, then queues what fits;
 * write () never waits. The peer does not read at first, so the queue
 * stays where it is. */
static void
test_async_high_water (LsTestFixture *f,
                       gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *filler = g_malloc0 (MIB);
  Drain drain = { .data = g_byte_array_new () };
  GAsyncResult *slot = NULL;
  LsTestRawPair pair;
  GOutputStream *out;
  GThread *thread;
  gint64 queued;

  ls_test_raw_pair_init (&pair, f->dir);
  out = output_of (pair.client);
  /* More than the kernel takes: the rest stays queued. */
  ls_local_socket_write (pair.client, filler, MIB);
  ls_local_socket_flush (pair.client);
  queued = ls_local_socket_get_bytes_to_write (pair.client);
  g_assert_cmpint (queued, >, 0);

  ls_local_socket_set_write_high_water (pair.client, queued + 4);
  g_assert_true (g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out)));
  /* Only what fits below the mark is taken. */
  g_assert_cmpint (g_output_stream_write (out, "abcdefgh", 8, NULL, &error), ==, 4);
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, queued + 4);
  g_assert_false (g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out)));
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out),
                                                               "efgh", 4, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  /* write () itself never waits, as in Qt. */
  g_assert_cmpint (ls_local_socket_write (pair.client, (const guint8 *) "!", 1), ==, 1);

  /* Raising the mark lets a waiting write go on at once. */
  g_output_stream_write_async (out, "efgh", 4, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  ls_test_run_for (20);
  g_assert_null (slot);
  ls_local_socket_set_write_high_water (pair.client, 0);
  result = wait_result (&slot);
  g_assert_cmpint (g_output_stream_write_finish (out, result, &error), ==, 4);
  g_assert_no_error (error);
  g_clear_object (&result);

  /* A write waiting above the mark goes on as the peer reads, a byte at
   * a time below a mark of 1. */
  ls_local_socket_set_write_high_water (pair.client, 1);
  g_output_stream_write_all_async (out, "ijkl", 4, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  ls_test_run_for (20);
  g_assert_null (slot);
  drain.fd = pair.peer_fd;
  thread = g_thread_new ("drain", drain_thread, &drain);
  result = wait_result (&slot);
  g_assert_true (g_output_stream_write_all_finish (out, result, NULL, &error));
  g_assert_true (g_output_stream_flush (out, NULL, &error));
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_true (ls_test_run_until_cond (int_set, &drain.done, TIMEOUT_MS));
  g_thread_join (thread);
  g_assert_cmpuint (drain.data->len, ==, MIB + 13);
  g_assert_cmpmem (drain.data->data + MIB, 13, "abcd!efghijkl", 13);
  g_byte_array_unref (drain.data);
  ls_test_raw_pair_clear (&pair);
}

/* Flush: returns once the kernel has everything; fails when the connection
 * ends first. */
static void
test_async_flush (LsTestFixture *f,
                  gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  LsTestRawPair pair;
  char *big;

  ls_test_socket_write_str (f->client, "queued");
  g_output_stream_flush_async (output_of (f->client), G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  result = wait_result (&slot);
  g_assert_true (g_output_stream_flush_finish (output_of (f->client), result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (f->client), ==, 0);
  g_clear_object (&result);

  /* More than the kernel takes while nobody reads (a raw peer), then an
   * abort. */
  ls_test_raw_pair_init (&pair, f->dir);
  big = g_malloc0 (16 * 1024 * 1024);
  ls_local_socket_write (pair.client, (const guint8 *) big, 16 * 1024 * 1024);
  g_free (big);
  g_output_stream_flush_async (output_of (pair.client), G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  ls_test_run_for (50);
  g_assert_null (slot);
  ls_local_socket_abort (pair.client);
  result = wait_result (&slot);
  g_assert_false (g_output_stream_flush_finish (output_of (pair.client), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
  ls_test_assert_contains (error->message, "flush");
  ls_test_raw_pair_clear (&pair);
}

/* Read, read_message and the view's reads take from one byte sequence,
 * and take_fds hands out descriptors once the view has read past them. */
static void
test_async_interleave (LsTestFixture *f,
                       gconstpointer  data)
{
  int pipe_a[2], pipe_b[2];
  g_autoptr(GUnixFDList) list_a = NULL;
  g_autoptr(GUnixFDList) list_b = NULL;
  g_autoptr(GUnixFDList) got = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  char buffer[8];
  int fd;

  /* The receiver takes descriptors (accept-fds is off by default). */
  ls_local_socket_set_accept_fds (f->peer, TRUE);
  g_assert_cmpint (pipe (pipe_a), ==, 0);
  g_assert_cmpint (pipe (pipe_b), ==, 0);
  list_a = g_unix_fd_list_new_from_array (&pipe_a[0], 1);
  list_b = g_unix_fd_list_new_from_array (&pipe_b[0], 1);

  ls_test_socket_write_str (f->client, "AB");
  bytes = g_bytes_new_static ("CD", 2);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list_a, &error));
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = g_bytes_new_static ("EF", 2);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list_b, &error));
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = g_bytes_new_static ("GHI", 3);
  g_assert_true (ls_local_socket_write_message (f->client, bytes, &error));
  g_clear_pointer (&bytes, g_bytes_unref);
  ls_test_socket_write_str (f->client, "J\n");
  g_assert_no_error (error);
  /* All 15 bytes buffered on the peer. */
  while (ls_local_socket_get_bytes_to_write (f->client) > 0)
    g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  while (ls_local_socket_get_bytes_available (f->peer) < 15)
    g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000) ||
                   ls_local_socket_get_bytes_available (f->peer) == 15);

  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, 1, NULL, &error), ==, 1);
  g_assert_cmpint (buffer[0], ==, 'A');
  g_assert_null (ls_local_socket_take_fds (f->peer));
  bytes = ls_local_socket_read (f->peer, 1);
  ls_test_assert_bytes_str (g_steal_pointer (&bytes), "B");
  g_assert_null (ls_local_socket_take_fds (f->peer));
  /* The view reads past the descriptors of "CD". */
  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, 2, NULL, &error), ==, 2);
  g_assert_cmpmem (buffer, 2, "CD", 2);
  got = ls_local_socket_take_fds (f->peer);
  g_assert_nonnull (got);
  g_assert_cmpint (g_unix_fd_list_get_length (got), ==, 1);
  fd = g_unix_fd_list_get (got, 0, &error);
  g_assert_cmpint (write (pipe_a[1], "a", 1), ==, 1);
  g_assert_cmpint (read (fd, buffer, 1), ==, 1);
  g_assert_cmpint (buffer[0], ==, 'a');
  close (fd);
  g_clear_object (&got);

  /* An asynchronous skip over "EF"; its descriptor waits for the rest of
   * the read that brought it. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    GAsyncResult *slot = NULL;

    g_input_stream_skip_async (input_of (f->peer), 2, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
    result = wait_result (&slot);
    g_assert_cmpint (g_input_stream_skip_finish (input_of (f->peer), result, &error), ==, 2);
  }
  message = ls_local_socket_read_message (f->peer, &error);
  g_assert_no_error (error);
  ls_test_assert_bytes_str (g_steal_pointer (&message), "GHI");
  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, sizeof buffer, NULL, &error), ==, 2);
  g_assert_cmpmem (buffer, 2, "J\n", 2);
  got = ls_local_socket_take_fds (f->peer);
  g_assert_nonnull (got);
  fd = g_unix_fd_list_get (got, 0, &error);
  g_assert_cmpint (write (pipe_b[1], "b", 1), ==, 1);
  g_assert_cmpint (read (fd, buffer, 1), ==, 1);
  g_assert_cmpint (buffer[0], ==, 'b');
  close (fd);
  for (guint i = 0; i < 2; i++)
    {
      close (pipe_a[i]);
      close (pipe_b[i]);
    }
}

/* ---- Reads straight from the kernel -------------------------------------- */

/* The signals of @socket in order, as text, without ready-read: a
 * ready-read handler makes every byte pass through the socket's buffer,
 * and these tests are about the reads that skip it. */
typedef struct
{
  LsLocalSocket *socket;
  GString       *text;
} EndLog;

static void
end_log_on_state (LsLocalSocket *socket, LsLocalSocketState state, EndLog *log)
{
  g_string_append_printf (log->text, "state-changed(%d) ", state);
}

static void
end_log_on_error (LsLocalSocket *socket, LsSocketError error, EndLog *log)
{
  g_string_append_printf (log->text, "error-occurred(%d) ", error);
}

static void
end_log_on_plain (LsLocalSocket *socket, EndLog *log)
{
  GSignalInvocationHint *hint = g_signal_get_invocation_hint (socket);

  g_string_append_printf (log->text, "%s ", g_signal_name (hint->signal_id));
}

static EndLog *
end_log_new (LsLocalSocket *socket)
{
  EndLog *log = g_new0 (EndLog, 1);

  log->socket = g_object_ref (socket);
  log->text = g_string_new (NULL);
  g_signal_connect (socket, "state-changed", G_CALLBACK (end_log_on_state), log);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (end_log_on_error), log);
  g_signal_connect (socket, "read-channel-finished", G_CALLBACK (end_log_on_plain), log);
  g_signal_connect (socket, "disconnected", G_CALLBACK (end_log_on_plain), log);
  g_signal_connect (socket, "about-to-close", G_CALLBACK (end_log_on_plain), log);
  return log;
}

static void
end_log_free (EndLog *log)
{
  g_signal_handlers_disconnect_by_data (log->socket, log);
  g_object_unref (log->socket);
  g_string_free (log->text, TRUE);
  g_free (log);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EndLog, end_log_free)

/* Sends what @socket has queued now, without running the main loop: the
 * bytes wait in the peer's kernel buffer, not yet read by the peer. */
static void
flush_now (LsLocalSocket *socket)
{
  ls_local_socket_flush (socket);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (socket), ==, 0);
}

/* A pipe whose read end travels as the descriptor; returns a list of it
 * and keeps the write end in *write_end. */
static GUnixFDList *
pipe_fd_list (int *write_end)
{
  GUnixFDList *list = g_unix_fd_list_new ();
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (g_unix_fd_list_append (list, fds[0], NULL), ==, 0);
  close (fds[0]);
  *write_end = fds[1];
  return list;
}

/* @list (one descriptor) is the read end of the pipe @write_end writes to. */
static void
assert_pipe_end (GUnixFDList *list,
                 int          write_end)
{
  g_autoptr(GError) error = NULL;
  char byte = 0;
  int fd;

  g_assert_nonnull (list);
  g_assert_cmpint (g_unix_fd_list_get_length (list), ==, 1);
  fd = g_unix_fd_list_get (list, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (write_end, "p", 1), ==, 1);
  g_assert_cmpint (read (fd, &byte, 1), ==, 1);
  g_assert_cmpint (byte, ==, 'p');
  close (fd);
}

/* Descriptors received by a read that takes its bytes straight from the
 * kernel are tied to where they belong, as take_fds () expects: a read
 * with nothing buffered (read_nonblocking, the kernel first) and a read
 * waiting when the bytes come. */
static void
test_direct_fds (LsTestFixture *f,
                 gconstpointer  data)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (input_of (f->peer));
  g_autoptr(GUnixFDList) list = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GString *got = g_string_new (NULL);
  char buffer[16];
  int write_end;

  ls_local_socket_set_accept_fds (f->peer, TRUE);
  list = pipe_fd_list (&write_end);
  ls_test_socket_write_str (f->client, "12");
  bytes = g_bytes_new_static ("34", 2);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list, &error));
  g_assert_no_error (error);
  flush_now (f->client);

  /* Until the read that brought it, the descriptor is not takeable. */
  while (got->len < 4)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (got, buffer, n);
      g_assert_cmpint (ls_local_socket_get_bytes_available (f->peer), ==, 0);
      if (got->len < 4)
        g_assert_null (ls_local_socket_take_fds (f->peer));
    }
  g_assert_cmpstr (got->str, ==, "1234");
  {
    g_autoptr(GUnixFDList) taken = ls_local_socket_take_fds (f->peer);

    assert_pipe_end (taken, write_end);
  }
  g_assert_null (ls_local_socket_take_fds (f->peer));
  close (write_end);

  /* A read that waits gets the next bytes, and their descriptor. */
  g_input_stream_read_async (G_INPUT_STREAM (in), buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  ls_test_run_for (10);
  g_assert_null (slot);
  g_clear_object (&list);
  list = pipe_fd_list (&write_end);
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = g_bytes_new_static ("56", 2);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list, &error));
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (G_INPUT_STREAM (in), result, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, 2, "56", 2);
  {
    g_autoptr(GUnixFDList) taken = ls_local_socket_take_fds (f->peer);

    assert_pipe_end (taken, write_end);
  }
  close (write_end);

  /* Without accept-fds, the kernel drops them: nothing leaks. */
  ls_local_socket_set_accept_fds (f->peer, FALSE);
  g_clear_object (&list);
  list = pipe_fd_list (&write_end);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list, &error));
  g_clear_object (&list);
  flush_now (f->client);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_null (ls_local_socket_take_fds (f->peer));
  /* The read end is closed everywhere: the pipe has no reader. */
  signal (SIGPIPE, SIG_IGN);
  g_assert_cmpint (write (write_end, "p", 1), ==, -1);
  g_assert_cmpint (errno, ==, EPIPE);
  close (write_end);
  g_string_free (got, TRUE);
}

typedef enum
{
  END_PENDING_EOF,        /* a read waits; the peer disconnects */
  END_NONBLOCKING_EOF,    /* the peer disconnected; read_nonblocking */
  END_PENDING_RESET,      /* a read waits; the peer aborts with our data unread */
} EndShape;

/* The end of the connection found by a read straight from the kernel
 * runs the socket's own sequence, once: error-occurred (PEER_CLOSED),
 * the state changes, read-channel-finished, disconnected. */
static void
test_direct_end (LsTestFixture *f,
                 gconstpointer  data)
{
  EndShape shape = GPOINTER_TO_INT (data);
  GInputStream *in = input_of (f->peer);
  g_autoptr(EndLog) log = end_log_new (f->peer);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  char buffer[8];
  gssize n;

  if (shape == END_NONBLOCKING_EOF)
    {
      ls_local_socket_disconnect_from_server (f->client);
      g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buffer,
                                                    sizeof buffer, NULL, &error);
    }
  else
    {
      g_input_stream_read_async (in, buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
      ls_test_run_for (10);
      g_assert_null (slot);
      if (shape == END_PENDING_RESET)
        {
          /* The client has not read it: its close resets the connection. */
          ls_test_socket_write_str (f->peer, "unread");
          flush_now (f->peer);
          ls_local_socket_abort (f->client);
        }
      else
        ls_local_socket_disconnect_from_server (f->client);
      result = wait_result (&slot);
      n = g_input_stream_read_finish (in, result, &error);
    }
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  g_assert_cmpint (ls_local_socket_get_state (f->peer), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (f->peer), ==, LS_SOCKET_ERROR_PEER_CLOSED);
  ls_test_assert_contains (ls_local_socket_get_error_string (f->peer),
                           shape == END_PENDING_RESET ? "Connection reset by peer"
                                                      : "the peer closed the connection");
  ls_test_run_for (20);
  g_assert_cmpstr (log->text->str, ==,
                   "error-occurred(1) state-changed(6) state-changed(0) "
                   "read-channel-finished disconnected ");

  /* The end is the end: reads go on returning 0. */
  g_assert_cmpint (g_input_stream_read (in, buffer, sizeof buffer, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* The next message @socket receives, waiting for it. */
static GBytes *
read_message_waiting (LsLocalSocket *socket)
{
  g_autoptr(GError) error = NULL;
  GBytes *message;

  while ((message = ls_local_socket_read_message (socket, &error)) == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ls_local_socket_wait_for_ready_read (socket, 5000));
    }
  return message;
}

/* read_message (), read () and the view's reads straight from the kernel
 * on one connection, with a read-buffer-size smaller than the frames:
 * each gets its own bytes. */
static void
test_direct_framing (LsTestFixture *f,
                     gconstpointer  data)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (input_of (f->peer));
  g_autofree guint8 *big = ls_test_pattern_new (100, 7);
  g_autoptr(GBytes) frame = g_bytes_new_static ("first", 5);
  g_autoptr(GBytes) big_frame = g_bytes_new_static (big, 100);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;
  char buffer[16];

  ls_local_socket_set_read_buffer_size (f->peer, 8);
  g_assert_true (ls_local_socket_write_message (f->client, frame, &error));
  flush_now (f->client);
  message = read_message_waiting (f->peer);
  ls_test_assert_bytes_str (g_steal_pointer (&message), "first");

  /* Waiting for a frame that has not come... */
  g_assert_null (ls_local_socket_read_message (f->peer, &error));
  g_assert_no_error (error);
  /* ...while the view reads raw bytes with nothing buffered. */
  ls_test_socket_write_str (f->client, "raw");
  flush_now (f->client);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, &error), ==, 3);
  g_assert_cmpmem (buffer, 3, "raw", 3);

  /* A frame larger than read-buffer-size still assembles. */
  g_assert_true (ls_local_socket_write_message (f->client, big_frame, &error));
  flush_now (f->client);
  message = read_message_waiting (f->peer);
  g_assert_cmpuint (g_bytes_get_size (message), ==, 100);
  g_assert_true (ls_test_pattern_check (g_bytes_get_data (message, NULL), 100, 0, 7));
  g_assert_cmpint (ls_local_socket_get_bytes_available (f->peer), ==, 0);
}

static void
on_ready_read_count (LsLocalSocket *socket,
                     guint         *count)
{
  (*count)++;
}

/* With a ready-read handler connected every byte passes through the
 * socket's buffer and is announced, also those a read of the view takes. */
static void
test_direct_ready_read (LsTestFixture *f,
                        gconstpointer  data)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (input_of (f->peer));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  guint announced = 0;
  char buffer[8];

  g_signal_connect (f->peer, "ready-read", G_CALLBACK (on_ready_read_count), &announced);
  g_input_stream_read_async (G_INPUT_STREAM (in), buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  ls_test_socket_write_str (f->client, "ab");
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (G_INPUT_STREAM (in), result, &error), ==, 2);
  g_assert_cmpmem (buffer, 2, "ab", 2);
  g_assert_cmpuint (announced, ==, 1);

  /* Bytes in the kernel are not taken before they were announced. */
  ls_test_socket_write_str (f->client, "cd");
  flush_now (f->client);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
  g_assert_cmpuint (announced, ==, 2);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, &error), ==, 2);
  g_assert_cmpmem (buffer, 2, "cd", 2);
}

static gboolean
bytes_buffered (gpointer data)
{
  return ls_local_socket_get_bytes_available (data) > 0;
}

/* @reader's view reads @text from @writer one byte at a time, each read
 * waiting for its byte: afterwards the view polls @reader's socket itself
 * while it reads on. */
static void
warm_up_view (LsLocalSocket *reader,
              LsLocalSocket *writer,
              const char    *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      GAsyncResult *slot = NULL;
      char byte = 0;
      char piece[2] = { *p, '\0' };

      g_input_stream_read_async (input_of (reader), &byte, 1, G_PRIORITY_DEFAULT, NULL,
                                 on_result, &slot);
      ls_test_run_for (5);
      g_assert_null (slot);
      ls_test_socket_write_str (writer, piece);
      result = wait_result (&slot);
      g_assert_cmpint (g_input_stream_read_finish (input_of (reader), result, &error), ==, 1);
      g_assert_no_error (error);
      g_assert_cmpint (byte, ==, *p);
    }
}

typedef enum
{
  AFTER_VIEW_WAIT,      /* wait_for_ready_read () */
  AFTER_VIEW_HANDLER,   /* a ready-read handler connected now */
  AFTER_VIEW_LOOP,      /* the main loop runs; bytes-available */
} AfterView;

/* While the application reads through the view, the socket leaves the
 * next bytes in the kernel for the view's next read. One that stops
 * reading through the view finds the socket reading ahead again, however
 * it waits. */
static void
test_direct_after_view (LsTestFixture *f,
                        gconstpointer  data)
{
  AfterView after = GPOINTER_TO_INT (data);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  guint announced = 0;
  char buffer[8];

  /* Reads of the view complete, then more comes. */
  warm_up_view (f->peer, f->client, "ab");
  g_input_stream_read_async (input_of (f->peer), buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  ls_test_socket_write_str (f->client, "1");
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (input_of (f->peer), result, &error), ==, 1);
  ls_test_socket_write_str (f->client, "2");
  flush_now (f->client);
  g_main_context_iteration (NULL, FALSE);

  switch (after)
    {
    case AFTER_VIEW_WAIT:
      g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
      break;
    case AFTER_VIEW_HANDLER:
      g_signal_connect (f->peer, "ready-read", G_CALLBACK (on_ready_read_count), &announced);
      g_assert_true (ls_test_run_until_cond (bytes_buffered, f->peer, TIMEOUT_MS));
      g_assert_cmpuint (announced, ==, 1);
      break;
    case AFTER_VIEW_LOOP:
    default:
      g_assert_true (ls_test_run_until_cond (bytes_buffered, f->peer, TIMEOUT_MS));
      break;
    }
  ls_test_assert_bytes_str (ls_local_socket_read_all (f->peer), "2");
}

/* ---- The view polls the socket itself ---------------------------------- */

/* One end of a transfer through the views: it reads three bytes one by
 * one (a connection that has exchanged that much is one the view polls
 * itself), then writes all of @out, then reads @size bytes back into
 * @in. */
typedef struct
{
  LsLocalSocket *socket;
  const guint8  *out;
  guint8        *in;
  gsize          size;
  gsize          got;
  char           first[4];
  guint          firsts;
  gboolean       done;
} Side;

static void side_read (Side *side);

static void
on_side_read (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Side *side = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, >, 0);
  side->got += n;
  if (side->got == side->size)
    side->done = TRUE;
  else
    side_read (side);
}

static void
side_read (Side *side)
{
  g_input_stream_read_async (input_of (side->socket), side->in + side->got,
                             MIN (side->size - side->got, 65536), G_PRIORITY_DEFAULT, NULL,
                             on_side_read, side);
}

static void
on_side_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Side *side = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error));
  g_assert_no_error (error);
  side_read (side);
}

static void
on_side_first (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  Side *side = data;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error), ==, 1);
  g_assert_no_error (error);
  if (++side->firsts < 3)
    g_input_stream_read_async (input_of (side->socket), &side->first[side->firsts], 1,
                               G_PRIORITY_DEFAULT, NULL, on_side_first, side);
  else
    g_output_stream_write_all_async (output_of (side->socket), side->out, side->size,
                                     G_PRIORITY_DEFAULT, NULL, on_side_written, side);
}

static void
side_start (Side          *side,
            LsLocalSocket *socket,
            const guint8  *out,
            gsize          size)
{
  side->socket = socket;
  side->out = out;
  side->size = size;
  side->in = g_malloc (size);
  g_input_stream_read_async (input_of (socket), &side->first[0], 1, G_PRIORITY_DEFAULT, NULL,
                             on_side_first, side);
}

/* Sends "abc" from @a and @b to each other, byte by byte, each read of
 * the byte waiting for it. */
static void
sides_greet (LsLocalSocket *a,
             LsLocalSocket *b)
{
  const char *bytes[] = { "a", "b", "c" };

  for (guint i = 0; i < G_N_ELEMENTS (bytes); i++)
    {
      ls_test_run_for (10);
      ls_test_socket_write_str (a, bytes[i]);
      ls_test_socket_write_str (b, bytes[i]);
    }
}

static gboolean
sides_done (gpointer data)
{
  Side *sides = data;

  return sides[0].done && sides[1].done;
}

/* Both ends write all they have before reading anything back, more than
 * the kernel and write-high-water hold. With GIO's socket streams that
 * deadlocks; a view that polls the socket for its reads lets the socket
 * read ahead again once no read of the view has been waiting for a while,
 * so both transfers complete, every byte in order. */
static void
test_direct_both_write_first (LsTestFixture *f,
                              gconstpointer  data)
{
  gsize size = 8 * MIB;
  g_autofree guint8 *from_client = ls_test_pattern_new (size, 1);
  g_autofree guint8 *from_peer = ls_test_pattern_new (size, 2);
  Side sides[2] = { 0 };

  side_start (&sides[0], f->client, from_client, size);
  side_start (&sides[1], f->peer, from_peer, size);
  sides_greet (f->client, f->peer);
  g_assert_true (ls_test_run_until_cond (sides_done, sides, TIMEOUT_MS));
  g_assert_cmpstr (sides[0].first, ==, "abc");
  g_assert_cmpstr (sides[1].first, ==, "abc");
  g_assert_true (ls_test_pattern_check (sides[0].in, size, 0, 2));
  g_assert_true (ls_test_pattern_check (sides[1].in, size, 0, 1));
  g_free (sides[0].in);
  g_free (sides[1].in);
}

/* An echo through the view of @socket, until the end of the stream. */
typedef struct
{
  LsLocalSocket *socket;
  guint8         buffer[4096];
  gboolean       ended;
} Echo;

static void echo_read (Echo *echo);

static void
on_echo_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error));
  g_assert_no_error (error);
  echo_read (data);
}

static void
on_echo_read (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Echo *echo = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  g_assert_no_error (error);
  if (n == 0)
    {
      echo->ended = TRUE;
      return;
    }
  g_output_stream_write_all_async (output_of (echo->socket), echo->buffer, n, G_PRIORITY_DEFAULT,
                                   NULL, on_echo_written, echo);
}

static void
echo_read (Echo *echo)
{
  g_input_stream_read_async (input_of (echo->socket), echo->buffer, sizeof echo->buffer,
                             G_PRIORITY_DEFAULT, NULL, on_echo_read, echo);
}

static gboolean
echo_ended (gpointer data)
{
  return ((Echo *) data)->ended;
}

static gboolean
all_done (gpointer data)
{
  Side *sides = data;

  for (guint i = 0; sides[i].socket != NULL; i++)
    if (!sides[i].done)
      return FALSE;
  return TRUE;
}

#define N_ECHOES 24
#define N_IDLE   4

/* More connections read through their views, in one main loop, than it
 * polls directly (the rest go on through the event core), and the first
 * ones sit idle with a read pending while the others are busy: every
 * connection echoes every byte, the idle ones too once their data comes. */
static void
test_direct_many (LsTestFixture *f,
                  gconstpointer  data)
{
  gsize size = UNDER_ASAN ? 64 * 1024 : 512 * 1024;
  LsLocalSocket *clients[N_ECHOES];
  Echo echoes[N_ECHOES] = { { 0 } };
  Side sides[N_ECHOES + 1] = { { 0 } };
  guint8 *patterns[N_ECHOES];

  for (guint i = 0; i < N_ECHOES; i++)
    {
      ls_test_connect_pair (f->server, f->path, &clients[i], &echoes[i].socket);
      patterns[i] = ls_test_pattern_new (size, i);
      if (i < N_IDLE)
        {
          /* The idle ones exchange a little first, so that their views
           * poll their sockets (and take slots) before the busy ones. */
          warm_up_view (echoes[i].socket, clients[i], "xyz");
          ls_test_socket_write_str (echoes[i].socket, "xyz");
          g_assert_true (ls_test_run_until_cond (bytes_buffered, clients[i], TIMEOUT_MS));
          while (ls_local_socket_get_bytes_available (clients[i]) < 3)
            g_assert_true (ls_local_socket_wait_for_ready_read (clients[i], 5000));
          ls_test_assert_bytes_str (ls_local_socket_read_all (clients[i]), "xyz");
        }
      echo_read (&echoes[i]);
    }
  ls_test_run_for (10);
  for (guint i = N_IDLE; i < N_ECHOES; i++)
    side_start (&sides[i - N_IDLE], clients[i], patterns[i], size);
  for (guint k = 0; k < 3; k++)
    {
      ls_test_run_for (10);
      for (guint i = N_IDLE; i < N_ECHOES; i++)
        ls_test_socket_write_str (echoes[i].socket, "g");
    }
  g_assert_true (ls_test_run_until_cond (all_done, sides, TIMEOUT_MS));
  for (guint i = N_IDLE; i < N_ECHOES; i++)
    {
      g_assert_cmpstr (sides[i - N_IDLE].first, ==, "ggg");
      g_assert_true (ls_test_pattern_check (sides[i - N_IDLE].in, size, 0, i));
    }

  /* Now the idle ones. */
  for (guint i = 0; i < N_IDLE; i++)
    {
      g_autoptr(GByteArray) back = g_byte_array_new ();

      g_assert_cmpint (ls_local_socket_write (clients[i], patterns[i], size), ==, size);
      while (back->len < size)
        {
          g_autoptr(GBytes) bytes = NULL;

          if (ls_local_socket_get_bytes_available (clients[i]) == 0)
            g_assert_true (ls_test_run_until_cond (bytes_buffered, clients[i], TIMEOUT_MS));
          bytes = ls_local_socket_read_all (clients[i]);
          g_byte_array_append (back, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
        }
      g_assert_cmpuint (back->len, ==, size);
      g_assert_true (ls_test_pattern_check (back->data, size, 0, i));
    }

  for (guint i = 0; i < N_ECHOES; i++)
    {
      /* Each echo's view reads the end of its stream. */
      ls_local_socket_disconnect_from_server (clients[i]);
      g_assert_true (ls_test_run_until_cond (echo_ended, &echoes[i], TIMEOUT_MS));
      g_assert_true (ls_test_run_until_cond (socket_unconnected, echoes[i].socket, TIMEOUT_MS));
      g_object_unref (clients[i]);
      g_object_unref (echoes[i].socket);
      g_free (patterns[i]);
    }
  for (guint i = 0; i + N_IDLE < N_ECHOES; i++)
    g_free (sides[i].in);
}

/* A write of the view waits for a peer that does not read, then the peer
 * goes: the write fails and the connection ends, once. */
static void
test_direct_hangup_writing (LsTestFixture *f,
                            gconstpointer  data)
{
  gsize size = 8 * MIB;
  g_autofree guint8 *big = ls_test_pattern_new (size, 3);
  g_autoptr(EndLog) log = end_log_new (f->peer);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  char byte;

  /* The client reads no more than this. */
  ls_local_socket_set_read_buffer_size (f->client, 4096);
  warm_up_view (f->peer, f->client, "abc");
  /* A read waits, polled by the view; a byte comes, and the write
   * starts with none pending. */
  g_input_stream_read_async (input_of (f->peer), &byte, 1, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  ls_test_run_for (10);
  ls_test_socket_write_str (f->client, "x");
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (input_of (f->peer), result, &error), ==, 1);
  g_clear_object (&result);

  g_output_stream_write_all_async (output_of (f->peer), big, size, G_PRIORITY_DEFAULT, NULL,
                                   on_result, &slot);
  ls_test_run_for (20);
  g_assert_null (slot);
  ls_local_socket_abort (f->client);
  result = wait_result (&slot);
  g_assert_false (g_output_stream_write_all_finish (output_of (f->peer), result, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (ls_test_run_until_cond (socket_unconnected, f->peer, TIMEOUT_MS));
  ls_test_run_for (20);
  g_assert_cmpuint (ls_test_log_count (log->text->str, "disconnected"), ==, 1);
}

/* A ready-read handler connected while a read of the view waits for the
 * kernel: the bytes then pass through the buffer, announced, and the read
 * still gets them. */
static void
test_direct_handler_while_pending (LsTestFixture *f,
                                   gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  guint announced = 0;
  char buffer[8];

  warm_up_view (f->peer, f->client, "abc");
  g_input_stream_read_async (input_of (f->peer), buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  ls_test_run_for (10);
  g_signal_connect (f->peer, "ready-read", G_CALLBACK (on_ready_read_count), &announced);
  ls_test_socket_write_str (f->client, "ab");
  result = wait_result (&slot);
  g_assert_cmpint (g_input_stream_read_finish (input_of (f->peer), result, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, 2, "ab", 2);
  g_assert_cmpuint (announced, ==, 1);
}

/* ---- The state changes of Qt parity (issue 23 items 12-14) ------------- */

/* One call of the view left pending across a change of the socket's
 * state; it must complete exactly once. */
typedef enum
{
  PENDING_READ,
  PENDING_WRITE,
  PENDING_FLUSH,
  PENDING_SPLICE,
  PENDING_CLOSE,
} PendingKind;

typedef struct
{
  PendingKind    kind;
  GIOStream     *view;
  GAsyncResult  *result;
  guint          completions;
  char           buffer[64];
} Pending;

static void
on_pending_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Pending *pending = data;

  pending->completions++;
  g_assert_null (pending->result);
  pending->result = g_object_ref (result);
}

static void
pending_start (Pending       *pending,
               LsLocalSocket *socket)
{
  GOutputStream *out;

  pending->view = g_object_ref (ls_local_socket_get_io_stream (socket));
  out = g_io_stream_get_output_stream (pending->view);
  switch (pending->kind)
    {
    case PENDING_READ:
      g_input_stream_read_async (g_io_stream_get_input_stream (pending->view), pending->buffer,
                                 sizeof pending->buffer, G_PRIORITY_DEFAULT, NULL, on_pending_done,
                                 pending);
      break;
    case PENDING_WRITE:
      g_output_stream_write_async (out, "old", 3, G_PRIORITY_DEFAULT, NULL, on_pending_done, pending);
      break;
    case PENDING_FLUSH:
      g_output_stream_flush_async (out, G_PRIORITY_DEFAULT, NULL, on_pending_done, pending);
      break;
    case PENDING_SPLICE:
      {
        g_autoptr(GInputStream) source = g_memory_input_stream_new_from_data ("old-spliced", 11, NULL);

        g_output_stream_splice_async (out, source, G_OUTPUT_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT,
                                      NULL, on_pending_done, pending);
      }
      break;
    case PENDING_CLOSE:
    default:
      g_io_stream_close_async (pending->view, G_PRIORITY_DEFAULT, NULL, on_pending_done, pending);
      break;
    }
}

static gboolean
pending_done (gpointer data)
{
  return ((Pending *) data)->completions > 0;
}

/* Waits for @pending's one completion; returns its result as an int (the
 * count, 1 for TRUE, -1 with @error set). */
static gssize
pending_finish (Pending  *pending,
                GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (pending->view);
  gssize n;

  g_assert_true (ls_test_run_until_cond (pending_done, pending, TIMEOUT_MS));
  result = g_steal_pointer (&pending->result);
  switch (pending->kind)
    {
    case PENDING_READ:
      n = g_input_stream_read_finish (g_io_stream_get_input_stream (pending->view), result, error);
      break;
    case PENDING_WRITE:
      n = g_output_stream_write_finish (out, result, error);
      break;
    case PENDING_FLUSH:
      n = g_output_stream_flush_finish (out, result, error) ? 1 : -1;
      break;
    case PENDING_SPLICE:
      n = g_output_stream_splice_finish (out, result, error);
      break;
    case PENDING_CLOSE:
    default:
      n = g_io_stream_close_finish (pending->view, result, error) ? 1 : -1;
      break;
    }
  /* And never again. */
  ls_test_run_for (50);
  g_assert_cmpuint (pending->completions, ==, 1);
  return n;
}

/* A raw pair whose client, closing (disconnect_from_server ()), still has
 * output the raw peer does not read, with @pending's call of the view
 * started before: a write, a splice (above write-high-water) or a flush
 * waits on that output, a read on the peer. */
static void
closing_pair_with_pending (LsTestRawPair *pair,
                           const char    *dir,
                           Pending       *pending)
{
  g_autofree guint8 *stuck = g_malloc0 (8 * MIB);

  ls_test_raw_pair_init (pair, dir);
  ls_local_socket_set_write_high_water (pair->client, 4096);
  g_assert_cmpint (ls_local_socket_write (pair->client, stuck, 8 * MIB), ==, 8 * MIB);
  ls_test_run_for (20);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair->client), >, 0);
  pending_start (pending, pair->client);
  ls_test_run_for (20);
  g_assert_cmpuint (pending->completions, ==, 0);
  ls_local_socket_disconnect_from_server (pair->client);
  g_assert_cmpint (ls_local_socket_get_state (pair->client), ==, LS_LOCAL_SOCKET_STATE_CLOSING);
}

/* The view of @socket (after its connection changed) talks to @fd, the
 * new peer, and to it only: nothing of the old connection comes out or
 * goes in. */
static void
assert_view_talks_to (LsLocalSocket *socket,
                      int            fd)
{
  GIOStream *view = ls_local_socket_get_io_stream (socket);
  g_autoptr(GError) error = NULL;
  g_autofree char *got = NULL;
  char buffer[16];
  gssize n;

  g_assert_false (g_io_stream_is_closed (view));
  write_all_async (g_io_stream_get_output_stream (view), "new", 3);
  got = ls_test_raw_recv (fd, 3, 5000);
  g_assert_cmpstr (got, ==, "new");
  g_assert_cmpint (send (fd, "back", 4, MSG_NOSIGNAL), ==, 4);
  n = g_input_stream_read (g_io_stream_get_input_stream (view), buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpmem (buffer, 4, "back", 4);
  /* Nothing else was sent. */
  g_clear_pointer (&got, g_free);
  got = ls_test_raw_recv (fd, 1, 50);
  g_assert_cmpstr (got, ==, "");
}

/* connect_to_server () while closing (item 13): the closing connection is
 * dropped, unsent output and all, and a new one starts at once (no
 * UNCONNECTED in between). A call pending on the old connection completes
 * once: a read with the end of the old stream (0), a flush with
 * BROKEN_PIPE (its bytes were dropped), a write or splice with
 * NOT_CONNECTED (when the closing began), the view's close with the
 * flush's error, leaving the new connection alone. The view goes on with
 * the new connection (a closed one is replaced). */
static void
test_state_reconnect_closing (LsTestFixture *f,
                              gconstpointer  data)
{
  Pending pending = { .kind = GPOINTER_TO_INT (data) };
  g_autoptr(GError) error = NULL;
  LsTestRawPair pair;
  gssize n;
  int new_fd;

  closing_pair_with_pending (&pair, f->dir, &pending);
  ls_local_socket_connect_to_server (pair.client, NULL);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  new_fd = accept4 (pair.listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (new_fd, >=, 0);

  n = pending_finish (&pending, &error);
  switch (pending.kind)
    {
    case PENDING_READ:
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 0);
      break;
    case PENDING_WRITE:
    case PENDING_SPLICE:
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
      g_assert_cmpint (n, ==, -1);
      break;
    case PENDING_FLUSH:
    case PENDING_CLOSE:
    default:
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
      ls_test_assert_contains (error->message, "flush");
      g_assert_cmpint (n, ==, -1);
      break;
    }
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  if (pending.kind == PENDING_CLOSE)
    {
      g_assert_true (g_io_stream_is_closed (pending.view));
      g_assert_true (ls_local_socket_get_io_stream (pair.client) != pending.view);
    }
  else
    g_assert_true (ls_local_socket_get_io_stream (pair.client) == pending.view);
  assert_view_talks_to (pair.client, new_fd);

  close (new_fd);
  g_clear_object (&pending.view);
  ls_test_raw_pair_clear (&pair);
}

/* close () while closing (item 12): the names go at once, the queued
 * output still leaves, then the socket closes. A read pending ends (0:
 * close () drops the read side), a flush or the view's close completes
 * once the output has left, a write or splice failed when the closing
 * began. The view (unless closed) serves the next connection. */
static void
test_state_close_closing (LsTestFixture *f,
                          gconstpointer  data)
{
  Pending pending = { .kind = GPOINTER_TO_INT (data) };
  g_autoptr(GError) error = NULL;
  Drain drain = { .data = g_byte_array_new () };
  GThread *thread;
  LsTestRawPair pair;
  gssize n;
  int new_fd;

  closing_pair_with_pending (&pair, f->dir, &pending);
  ls_local_socket_close (pair.client);
  g_assert_cmpstr (ls_local_socket_get_server_name (pair.client), ==, "");
  drain.fd = pair.peer_fd;
  thread = g_thread_new ("drain", drain_thread, &drain);

  n = pending_finish (&pending, &error);
  switch (pending.kind)
    {
    case PENDING_READ:
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 0);
      break;
    case PENDING_WRITE:
    case PENDING_SPLICE:
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
      break;
    case PENDING_FLUSH:
    case PENDING_CLOSE:
    default:
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 1);
      break;
    }
  g_assert_true (ls_test_run_until_cond (socket_unconnected, pair.client, TIMEOUT_MS));
  g_assert_true (ls_test_run_until_cond (int_set, &drain.done, TIMEOUT_MS));
  g_thread_join (thread);
  g_assert_cmpuint (drain.data->len, ==, 8 * MIB);
  g_byte_array_unref (drain.data);

  ls_local_socket_connect_to_server (pair.client, pair.path);
  g_assert_cmpint (ls_local_socket_get_state (pair.client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  new_fd = accept4 (pair.listen_fd, NULL, NULL, SOCK_CLOEXEC);
  g_assert_cmpint (new_fd, >=, 0);
  g_assert_true ((ls_local_socket_get_io_stream (pair.client) == pending.view) ==
                 (pending.kind != PENDING_CLOSE));
  assert_view_talks_to (pair.client, new_fd);

  close (new_fd);
  g_clear_object (&pending.view);
  ls_test_raw_pair_clear (&pair);
}

/* abort () or close () from a handler of the CONNECTING state (item 14)
 * gives the attempt up; calls of the view made in that handler complete
 * once: a read with 0, a write with NOT_CONNECTED, a flush (nothing
 * queued) at once. The view serves the next connection, and the write
 * given up never reaches it. */
typedef struct
{
  gboolean  use_close;
  Pending   read;
  Pending   output;
} GiveUp;

static void
on_connecting_give_up (LsLocalSocket      *socket,
                       LsLocalSocketState  state,
                       GiveUp             *run)
{
  if (state != LS_LOCAL_SOCKET_STATE_CONNECTING)
    return;
  g_signal_handlers_disconnect_by_func (socket, on_connecting_give_up, run);
  pending_start (&run->read, socket);
  pending_start (&run->output, socket);
  if (run->use_close)
    ls_local_socket_close (socket);
  else
    ls_local_socket_abort (socket);
}

static void
test_state_give_up_connecting (LsTestFixture *f,
                               gconstpointer  data)
{
  guint shape = GPOINTER_TO_UINT (data);
  GiveUp run = { .use_close = (shape & 1) != 0, .read.kind = PENDING_READ,
                 .output.kind = (shape & 2) ? PENDING_FLUSH : PENDING_WRITE };
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) got = NULL;
  GIOStream *view = ls_local_socket_get_io_stream (socket);
  char buffer[8];
  gssize n;

  g_signal_connect (socket, "state-changed", G_CALLBACK (on_connecting_give_up), &run);
  ls_local_socket_connect_to_server (socket, f->path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);

  n = pending_finish (&run.read, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  n = pending_finish (&run.output, &error);
  if (run.output.kind == PENDING_WRITE)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
      g_clear_error (&error);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 1);
    }

  /* The next connection, through the same view. */
  ls_local_socket_connect_to_server (socket, f->path);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_socket_get_io_stream (socket) == view);
  peer = ls_test_server_take (f->server);
  write_all_async (g_io_stream_get_output_stream (view), "new", 3);
  while (ls_local_socket_get_bytes_available (peer) < 3)
    g_assert_true (ls_local_socket_wait_for_ready_read (peer, 5000));
  got = ls_local_socket_read_all (peer);
  ls_test_assert_bytes_str (g_steal_pointer (&got), "new");
  ls_test_socket_write_str (peer, "back");
  flush_now (peer);
  n = g_input_stream_read (g_io_stream_get_input_stream (view), buffer, sizeof buffer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpmem (buffer, 4, "back", 4);
  g_clear_object (&run.read.view);
  g_clear_object (&run.output.view);
}

/* ---- GIO's stream tools ------------------------------------------------ */

static char **
qt_records (guint count)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
  char **records = g_new0 (char *, count + 1);

  for (guint i = 0; i < count; i++)
    {
      GString *record = g_string_new (NULL);

      g_string_printf (record, "record-%u:", i);
      for (guint j = 0; j < i % 37; j++)
        g_string_append_c (record, letters[j % 26]);
      records[i] = g_string_free (record, FALSE);
    }
  return records;
}

static gboolean
have_pyside2 (void)
{
  const char *argv[] = { "/usr/bin/python3", "-c", "import PySide2.QtNetwork", NULL };
  int status = -1;

  return g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                       NULL, NULL, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

/* A Qt (PySide2) client writes records in pieces of 1 to 34 bytes; the
 * accepted socket reads them whole through a GDataInputStream:
 * read_line_async ("\n") or read_upto_async (";"). */
static void
test_tools_qt_records (LsTestFixture *f,
                       gconstpointer  data)
{
  gboolean upto = GPOINTER_TO_INT (data);
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "python", "qt_lines_peer.py", NULL);
  g_autoptr(GSubprocess) qt = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) expected = qt_records (200);
  g_autoptr(LsLocalSocket) peer = NULL;
  guint count = 0;

  if (!have_pyside2 ())
    {
      g_test_skip ("PySide2 (Qt 5) is not available");
      return;
    }
  qt = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "/usr/bin/python3", script,
                         "--name", f->path, "--count", "200", "--sep", upto ? ";" : "\\n", NULL);
  g_assert_no_error (error);
  g_assert_true (ls_test_run_until_pending (f->server, TIMEOUT_MS));
  peer = ls_local_server_next_pending_connection (f->server);

  lines = g_data_input_stream_new (input_of (peer));
  for (;;)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autofree char *line = NULL;
      GAsyncResult *slot = NULL;
      gsize length = 0;

      if (upto)
        g_data_input_stream_read_upto_async (lines, ";", 1, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
      else
        g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
      result = wait_result (&slot);
      if (upto)
        line = g_data_input_stream_read_upto_finish (lines, result, &length, &error);
      else
        line = g_data_input_stream_read_line_finish (lines, result, &length, &error);
      g_assert_no_error (error);
      if (line == NULL || (upto && length == 0 && count == 200))
        break;
      g_assert_cmpuint (count, <, 200);
      g_assert_cmpstr (line, ==, expected[count]);
      g_assert_cmpuint (length, ==, strlen (expected[count]));
      count++;
      if (upto)
        {
          /* The stop character is left in the stream. */
          g_assert_cmpint (g_data_input_stream_read_byte (lines, NULL, &error), ==, ';');
          g_assert_no_error (error);
        }
    }
  g_assert_cmpuint (count, ==, 200);
  g_assert_true (g_subprocess_wait_check (qt, NULL, &error));
  g_assert_no_error (error);
}

#ifdef HAVE_JSON_GLIB
static gboolean
write_piece (gpointer data)
{
  LsLocalSocket *socket = data;
  const char *rest = g_object_get_data (G_OBJECT (socket), "rest");

  if (*rest == '\0')
    {
      ls_local_socket_disconnect_from_server (socket);
      return G_SOURCE_REMOVE;
    }
  ls_local_socket_write (socket, (const guint8 *) rest, MIN (strlen (rest), 7));
  g_object_set_data (G_OBJECT (socket), "rest", (gpointer) (rest + MIN (strlen (rest), 7)));
  return G_SOURCE_CONTINUE;
}

/* JSON-GLib reads a document from the view until the end of the stream. */
static void
test_tools_json (LsTestFixture *f,
                 gconstpointer  data)
{
  static const char document[] =
    "{ \"name\": \"ls\", \"items\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],"
    "  \"nested\": { \"ok\": true, \"text\": \"read through a GIOStream\" } }";
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  JsonObject *root;

  g_object_set_data (G_OBJECT (f->client), "rest", (gpointer) document);
  g_timeout_add (2, write_piece, f->client);
  json_parser_load_from_stream_async (parser, input_of (f->peer), NULL, on_result, &slot);
  result = wait_result (&slot);
  json_parser_load_from_stream_finish (parser, result, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "ls");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "items")), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "nested"), "text"),
                   ==, "read through a GIOStream");
}
#endif

/* Valgrind is some fifty times slower: the big transfers are made small
 * there (the paths they take are the same). */
static gsize
big_size (gsize size)
{
  return RUNNING_ON_VALGRIND || g_getenv ("LS_TEST_SMALL") ? size / 64 : size;
}

typedef struct
{
  LsLocalSocket *sender;
  GOutputStream *out;
  GInputStream  *in;
  const guint8  *data;
  gsize          size;
  gsize          sent;
  guint64        received;
  gboolean       sender_done;
  gboolean       receiver_done;
  gboolean       mismatch;
  guint          seed;
} ZlibRun;

static void zlib_send_next (ZlibRun *run);

static void
on_zlib_closed (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  ZlibRun *run = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_output_stream_close_finish (run->out, result, &error));
  g_assert_no_error (error);
  /* Closing the converter closed the view's output only; the end of the
   * socket's stream is the receiver's end of input. */
  g_assert_true (g_output_stream_is_closed (output_of (run->sender)));
  g_assert_cmpint (ls_local_socket_get_state (run->sender), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_local_socket_disconnect_from_server (run->sender);
  run->sender_done = TRUE;
}

static void
on_zlib_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  ZlibRun *run = data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  g_assert_true (g_output_stream_write_all_finish (run->out, result, &written, &error));
  g_assert_no_error (error);
  run->sent += written;
  zlib_send_next (run);
}

static void
zlib_send_next (ZlibRun *run)
{
  gsize chunk = MIN (run->size - run->sent, 1024 * 1024);

  if (chunk == 0)
    g_output_stream_close_async (run->out, G_PRIORITY_DEFAULT, NULL, on_zlib_closed, run);
  else
    g_output_stream_write_all_async (run->out, run->data + run->sent, chunk, G_PRIORITY_DEFAULT,
                                     NULL, on_zlib_written, run);
}

static void
on_zlib_read (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  ZlibRun *run = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (run->in, result, &error);
  gsize size;
  const guint8 *got;

  g_assert_no_error (error);
  got = g_bytes_get_data (bytes, &size);
  if (size == 0)
    {
      run->receiver_done = TRUE;
      return;
    }
  if (run->received + size > run->size ||
      memcmp (got, run->data + run->received, size) != 0)
    run->mismatch = TRUE;
  run->received += size;
  g_input_stream_read_bytes_async (run->in, 65536, G_PRIORITY_DEFAULT, NULL, on_zlib_read, run);
}

static gboolean
zlib_done (gpointer data)
{
  ZlibRun *run = data;

  return run->sender_done && run->receiver_done;
}

/* A GConverterOutputStream with a GZlibCompressor on one socket's view, a
 * GConverterInputStream with a GZlibDecompressor on the other's: 64 MiB
 * byte for byte, both running at once in one main loop. */
static void
test_tools_zlib (LsTestFixture *f,
                 gconstpointer  data)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 1);
  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (output_of (f->client),
                                                                G_CONVERTER (compressor));
  g_autoptr(GInputStream) in = g_converter_input_stream_new (input_of (f->peer),
                                                             G_CONVERTER (decompressor));
  ZlibRun run = { .sender = f->client, .out = out, .in = in, .size = big_size (64 * 1024 * 1024) };
  g_autofree guint8 *pattern = ls_test_pattern_new (run.size, 24);

  run.data = pattern;
  zlib_send_next (&run);
  g_input_stream_read_bytes_async (in, 65536, G_PRIORITY_DEFAULT, NULL, on_zlib_read, &run);
  g_assert_true (ls_test_run_until_cond (zlib_done, &run, 10 * 60 * 1000));
  g_assert_false (run.mismatch);
  g_assert_cmpuint (run.received, ==, run.size);
}

/* The reader of the splice test: reads slowly (a pause of 100 ms every
 * 32 MiB, a short one every 64 KiB) and checks every byte of the sparse
 * file: zeros, except a marker at the start of each MiB. */
typedef struct
{
  int      fd;
  guint64  total;
  gboolean mismatch;
  gint     done;
} SlowReader;

static void
splice_marker (guint64 mib,
               char    marker[17])
{
  g_snprintf (marker, 17, "ls-splice-%05u\n", (guint) mib);
}

static gpointer
slow_reader_thread (gpointer data)
{
  SlowReader *reader = data;
  guint8 *buffer = g_malloc (65536);
  char marker[17];

  for (;;)
    {
      gssize n = read (reader->fd, buffer, 65536);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (gssize i = 0; i < n; i++)
        {
          guint64 pos = reader->total + i;
          guint64 in_mib = pos % MIB;
          guint8 expected = 0;

          if (in_mib < 16)
            {
              splice_marker (pos / MIB, marker);
              expected = marker[in_mib];
            }
          if (buffer[i] != expected)
            reader->mismatch = TRUE;
        }
      if ((reader->total + n) / (32 * MIB) != reader->total / (32 * MIB))
        g_usleep (100 * 1000);
      else
        g_usleep (50);
      reader->total += n;
    }
  g_free (buffer);
  g_atomic_int_set (&reader->done, 1);
  return NULL;
}

/* g_output_stream_splice_async of a 1 GiB (sparse) file into the view of a
 * socket whose peer reads slowly: every byte arrives, and the process's
 * peak RSS grows by no more than a few times write-high-water instead of
 * by what the reader lags behind. */
static void
test_tools_splice (LsTestFixture *f,
                   gconstpointer  data)
{
  guint high_water = GPOINTER_TO_UINT (data);
  gsize size = big_size ((gsize) 1024 * MIB);
  g_autofree char *path = g_build_filename (f->dir, "big", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) source = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  LsTestRawPair pair;
  SlowReader reader = { 0 };
  GThread *thread;
  guint64 rss_before, peak;
  int fd;

  fd = open (path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  for (guint64 mib = 0; mib < size / MIB; mib++)
    {
      char marker[17];

      splice_marker (mib, marker);
      g_assert_cmpint (pwrite (fd, marker, 16, mib * MIB), ==, 16);
    }
  close (fd);
  source = g_file_read (file, NULL, &error);
  g_assert_no_error (error);

  ls_test_raw_pair_init (&pair, f->dir);
  ls_local_socket_set_write_high_water (pair.client, high_water);
  reader.fd = pair.peer_fd;
  thread = g_thread_new ("slow-reader", slow_reader_thread, &reader);

  /* The peak from here on. */
  reset_peak_rss ();
  rss_before = proc_status_kb ("VmHWM:");
  g_output_stream_splice_async (output_of (pair.client), G_INPUT_STREAM (source),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  result = wait_result_long (&slot);
  g_assert_cmpint (g_output_stream_splice_finish (output_of (pair.client), result, &error), ==, size);
  g_assert_no_error (error);
  peak = proc_status_kb ("VmHWM:");
  /* CLOSE_TARGET flushed: everything is in the kernel. */
  g_assert_cmpint (ls_local_socket_get_bytes_to_write (pair.client), ==, 0);
  ls_local_socket_disconnect_from_server (pair.client);
  g_assert_true (ls_test_run_until_cond (int_set, &reader.done, 10 * 60 * 1000));
  g_thread_join (thread);
  g_assert_false (reader.mismatch);
  g_assert_cmpuint (reader.total, ==, size);
  g_test_message ("peak RSS grew by %" G_GUINT64_FORMAT " KiB (write-high-water %u KiB)",
                  peak - rss_before, high_water / 1024);
  /* Valgrind's own memory grows with what the program allocates, and
   * ASan keeps freed memory in quarantine: there, only the bytes are
   * checked. */
  if (!RUNNING_ON_VALGRIND && !UNDER_ASAN)
    g_assert_cmpuint ((peak - rss_before) * 1024, <=, 4 * (guint64) high_water);
  ls_test_raw_pair_clear (&pair);
  g_unlink (path);
}

/* ---- No thread ---------------------------------------------------------- */

static void
finish_any (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  guint *pending = data;

  (*pending)--;
}

static gboolean
count_zero (gpointer data)
{
  return *(guint *) data == 0;
}

static gboolean
on_pollable (GObject  *stream,
             gpointer  data)
{
  guint *pending = data;

  (*pending)--;
  return G_SOURCE_REMOVE;
}

/* Runs until the calls that each decrement *@pending on completion are
 * done (a macro: a failure names the line). */
#define run_pending(pending) \
  g_assert_true (ls_test_run_until_cond (count_zero, (pending), TIMEOUT_MS))

/* Every asynchronous call of the view and its streams completes without a
 * new thread (in a subprocess: nothing else has made threads there). */
static void
test_no_thread (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = ls_test_make_tmpdir ();
      g_autofree char *path = g_build_filename (dir, "s", NULL);
      g_autoptr(LsLocalServer) server = ls_test_listening_server (path);
      g_autoptr(LsLocalSocket) client = NULL;
      g_autoptr(LsLocalSocket) peer = NULL;
      g_autoptr(GDataInputStream) lines = NULL;
      g_autoptr(GInputStream) memory = g_memory_input_stream_new_from_data ("spliced\n", 8, NULL);
      g_autoptr(GSource) source = NULL;
      g_autofree char *before = NULL;
      g_autofree char *after = NULL;
      GOutputVector vectors[2] = { { "ab", 2 }, { "cd\n", 3 } };
      char buffer[64];
      guint pending = 0;

      ls_test_connect_pair (server, path, &client, &peer);
      lines = g_data_input_stream_new (input_of (peer));
      /* Whatever GLib starts once for good (its worker thread) is
       * running before the count. */
      g_type_ensure (G_TYPE_TASK);
      before = thread_ids ();

      pending = 1;
      g_output_stream_write_async (output_of (client), "w\n", 2, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_output_stream_write_all_async (output_of (client), "all\n", 4, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_output_stream_writev_all_async (output_of (client), vectors, 2, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_output_stream_splice_async (output_of (client), memory, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                    G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_output_stream_flush_async (output_of (client), G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);

      pending = 1;
      g_input_stream_read_async (input_of (peer), buffer, 1, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_input_stream_read_bytes_async (input_of (peer), 1, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_input_stream_skip_async (input_of (peer), 4, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 1;
      g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);

      /* A pollable source, woken by the socket once bytes come. */
      pending = 1;
      source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input_of (peer)), NULL);
      g_source_set_callback (source, G_SOURCE_FUNC (on_pollable), &pending, NULL);
      g_source_attach (source, NULL);
      ls_test_run_for (20);
      g_assert_cmpuint (pending, ==, 1);
      ls_test_socket_write_str (client, "x");
      run_pending (&pending);

      pending = 2;
      g_input_stream_close_async (input_of (client), G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      g_output_stream_close_async (output_of (peer), G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);
      pending = 2;
      g_io_stream_close_async (ls_local_socket_get_io_stream (client), G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      g_io_stream_close_async (ls_local_socket_get_io_stream (peer), G_PRIORITY_DEFAULT, NULL, finish_any, &pending);
      run_pending (&pending);

      after = thread_ids ();
      g_assert_cmpstr (after, ==, before);
      g_clear_object (&client);
      g_clear_object (&peer);
      g_clear_object (&server);
      ls_test_remove_tmpdir (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* ---- Misuse, and handlers that do anything ------------------------------ */

typedef enum
{
  CLOSE_SOCKET,       /* ls_local_socket_close () */
  ABORT_SOCKET,       /* ls_local_socket_abort () */
  DISCONNECT_SOCKET,  /* ls_local_socket_disconnect_from_server () */
  CLOSE_VIEW,         /* g_io_stream_close () */
  CLOSE_VIEW_ASYNC,   /* g_io_stream_close_async () */
} Closer;

/* A pending read, then the socket or its view is closed: the read
 * completes (end of stream for the socket's own calls, CLOSED for the
 * view's close) and the bytes left stay where they were. */
static void
test_misuse_close_pending (LsTestFixture *f,
                           gconstpointer  data)
{
  Closer closer = GPOINTER_TO_INT (data);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GAsyncResult *close_slot = NULL;
  GIOStream *view = g_object_ref (ls_local_socket_get_io_stream (f->peer));
  GInputStream *in = g_io_stream_get_input_stream (view);
  char buffer[8];
  gssize n;

  g_input_stream_read_async (in, buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  ls_test_run_for (10);
  g_assert_null (slot);
  switch (closer)
    {
    case CLOSE_SOCKET:
      ls_local_socket_close (f->peer);
      break;
    case ABORT_SOCKET:
      ls_local_socket_abort (f->peer);
      break;
    case DISCONNECT_SOCKET:
      ls_local_socket_disconnect_from_server (f->peer);
      break;
    case CLOSE_VIEW:
      g_assert_true (g_io_stream_close (view, NULL, &error));
      g_assert_no_error (error);
      break;
    case CLOSE_VIEW_ASYNC:
    default:
      g_io_stream_close_async (view, G_PRIORITY_DEFAULT, NULL, on_result, &close_slot);
      break;
    }
  result = wait_result (&slot);
  n = g_input_stream_read_finish (in, result, &error);
  if (closer == CLOSE_VIEW || closer == CLOSE_VIEW_ASYNC)
    {
      g_assert_cmpint (n, ==, -1);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
      g_clear_error (&error);
      /* And every later call fails the same way; the view is closed. */
      g_assert_cmpint (g_input_stream_read (in, buffer, 1, NULL, &error), ==, -1);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 0);
    }
  if (closer == CLOSE_VIEW_ASYNC)
    {
      g_autoptr(GAsyncResult) closed = wait_result (&close_slot);

      g_assert_true (g_io_stream_close_finish (view, closed, NULL));
    }
  g_assert_true (ls_test_run_until_cond (socket_unconnected, f->peer, TIMEOUT_MS));
  if (closer == CLOSE_VIEW || closer == CLOSE_VIEW_ASYNC)
    {
      /* A closed view is replaced by the next call. */
      g_assert_true (g_io_stream_is_closed (view));
      g_assert_true (ls_local_socket_get_io_stream (f->peer) != view);
      g_assert_false (g_io_stream_is_closed (ls_local_socket_get_io_stream (f->peer)));
    }
  else
    g_assert_true (ls_local_socket_get_io_stream (f->peer) == view);
  g_object_unref (view);
}

/* A ready-read handler that closes the socket, closes the view, or reads
 * everything and detaches, while a read of the view is pending. */
typedef enum
{
  HANDLER_CLOSE_SOCKET,
  HANDLER_CLOSE_VIEW,
  HANDLER_DETACH,
  HANDLER_UNREF,
} HandlerAction;

typedef struct
{
  HandlerAction       action;
  GSocketConnection  *connection;
  GBytes             *taken;
} HandlerRun;

static void
on_ready_read_act (LsLocalSocket *socket,
                   HandlerRun    *run)
{
  g_autoptr(GError) error = NULL;

  g_signal_handlers_disconnect_by_func (socket, on_ready_read_act, run);
  switch (run->action)
    {
    case HANDLER_CLOSE_SOCKET:
      ls_local_socket_close (socket);
      break;
    case HANDLER_CLOSE_VIEW:
      g_assert_true (g_io_stream_close (ls_local_socket_get_io_stream (socket), NULL, &error));
      break;
    case HANDLER_DETACH:
      run->taken = ls_local_socket_read_all (socket);
      run->connection = ls_local_socket_detach (socket, &error);
      g_assert_no_error (error);
      break;
    case HANDLER_UNREF:
    default:
      g_object_unref (socket);
      break;
    }
}

static void
test_misuse_handler (LsTestFixture *f,
                     gconstpointer  data)
{
  HandlerRun run = { .action = GPOINTER_TO_INT (data) };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GInputStream *in = g_object_ref (input_of (f->peer));
  char buffer[8];
  gssize n;

  GWeakRef weak;

  g_weak_ref_init (&weak, f->peer);
  g_signal_connect (f->peer, "ready-read", G_CALLBACK (on_ready_read_act), &run);
  g_input_stream_read_async (in, buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  if (run.action == HANDLER_UNREF)
    {
      /* The handler drops the last reference but the read's. */
      LsLocalSocket *peer = g_steal_pointer (&f->peer);

      (void) peer;
    }
  ls_test_socket_write_str (f->client, "data");
  result = wait_result (&slot);
  n = g_input_stream_read_finish (in, result, &error);
  switch (run.action)
    {
    case HANDLER_CLOSE_SOCKET:
      /* The read takes the bytes at about-to-close, before close () drops
       * the read buffer. */
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 4);
      g_assert_cmpmem (buffer, 4, "data", 4);
      break;
    case HANDLER_CLOSE_VIEW:
      /* The bytes stay in the socket: nothing is lost. */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
      ls_test_assert_bytes_str (ls_local_socket_read_all (f->peer), "data");
      break;
    case HANDLER_DETACH:
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 0);
      ls_test_assert_bytes_str (g_steal_pointer (&run.taken), "data");
      g_assert_true (G_IS_UNIX_CONNECTION (run.connection));
      g_object_unref (run.connection);
      break;
    case HANDLER_UNREF:
    default:
      /* The pending read kept the socket alive through the handler, and
       * lets it go once its callback has run. */
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 4);
      g_assert_cmpmem (buffer, 4, "data", 4);
      g_clear_object (&result);
      ls_test_run_for (10);
      g_assert_null (g_weak_ref_get (&weak));
      break;
    }
  g_weak_ref_clear (&weak);
  g_object_unref (in);
}

typedef enum
{
  CALLBACK_UNREF_SOCKET,
  CALLBACK_CLOSE_VIEW,
  CALLBACK_DETACH,
  CALLBACK_READ_AGAIN,
} CallbackAction;

typedef struct
{
  CallbackAction      action;
  LsLocalSocket      *socket;
  GWeakRef            weak;
  char                buffer[8];
  gssize              first;
  gssize              second;
  gboolean            done;
} CallbackRun;

static void
on_read_act (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  CallbackRun *run = data;
  g_autoptr(GError) error = NULL;
  GInputStream *in = G_INPUT_STREAM (source);
  gssize n = g_input_stream_read_finish (in, result, &error);

  g_assert_no_error (error);
  if (run->first < 0)
    run->first = n;
  else
    {
      run->second = n;
      run->done = TRUE;
      return;
    }
  switch (run->action)
    {
    case CALLBACK_UNREF_SOCKET:
      g_clear_object (&run->socket);
      run->done = TRUE;
      break;
    case CALLBACK_CLOSE_VIEW:
      g_assert_true (g_io_stream_close (ls_local_socket_get_io_stream (run->socket), NULL, NULL));
      run->done = TRUE;
      break;
    case CALLBACK_DETACH:
      g_object_unref (ls_local_socket_detach (run->socket, &error));
      g_assert_no_error (error);
      /* The view reads the end of the stream now. */
      g_input_stream_read_async (in, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT, NULL,
                                 on_read_act, run);
      break;
    case CALLBACK_READ_AGAIN:
    default:
      g_input_stream_read_async (in, run->buffer, sizeof run->buffer, G_PRIORITY_DEFAULT, NULL,
                                 on_read_act, run);
      break;
    }
}

static gboolean
run_done (gpointer data)
{
  return ((CallbackRun *) data)->done;
}

static gboolean
first_read (gpointer data)
{
  return ((CallbackRun *) data)->first >= 0;
}

/* The read callback may drop the socket, close the view, detach, or read
 * again. */
static void
test_misuse_callback (LsTestFixture *f,
                      gconstpointer  data)
{
  CallbackRun run = { .action = GPOINTER_TO_INT (data), .first = -1, .second = -1 };
  GInputStream *in = g_object_ref (input_of (f->peer));

  run.socket = g_steal_pointer (&f->peer);
  g_weak_ref_init (&run.weak, run.socket);
  g_input_stream_read_async (in, run.buffer, sizeof run.buffer, G_PRIORITY_DEFAULT, NULL,
                             on_read_act, &run);
  ls_test_socket_write_str (f->client, "1");
  if (run.action == CALLBACK_READ_AGAIN)
    {
      g_assert_true (ls_test_run_until_cond (first_read, &run, TIMEOUT_MS));
      ls_test_socket_write_str (f->client, "22");
    }
  g_assert_true (ls_test_run_until_cond (run_done, &run, TIMEOUT_MS));
  g_assert_cmpint (run.first, ==, 1);
  switch (run.action)
    {
    case CALLBACK_UNREF_SOCKET:
      {
        g_autoptr(GError) error = NULL;
        char byte;

        /* The socket is gone, the view with it: the stream fails. */
        ls_test_run_for (10);
        g_assert_null (g_weak_ref_get (&run.weak));
        g_assert_cmpint (g_input_stream_read (in, &byte, 1, NULL, &error), ==, -1);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
      }
      break;
    case CALLBACK_DETACH:
      g_assert_cmpint (run.second, ==, 0);
      break;
    case CALLBACK_READ_AGAIN:
      g_assert_cmpint (run.second, ==, 2);
      break;
    case CALLBACK_CLOSE_VIEW:
    default:
      break;
    }
  g_weak_ref_clear (&run.weak);
  g_clear_object (&run.socket);
  g_object_unref (in);
}

/* The application keeps the view and drops the socket: the view is closed
 * and its streams fail cleanly. */
static void
test_misuse_view_outlives (LsTestFixture *f,
                           gconstpointer  data)
{
  GIOStream *view = g_object_ref (ls_local_socket_get_io_stream (f->peer));
  g_autoptr(GError) error = NULL;
  char byte;

  g_clear_object (&f->peer);
  g_assert_true (g_io_stream_is_closed (view));
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (view), &byte, 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpint (g_output_stream_write (g_io_stream_get_output_stream (view), "x", 1, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_object_unref (view);
}

typedef struct
{
  LsLocalSocket *socket;
  GMainContext  *context;
  GError        *read_error;
  gssize         read_n;
  GError        *nonblocking_error;
  gboolean       readable;
  GError        *async_error;
  gssize         async_n;
  gboolean       async_done;
  char           buffer[16];
} ThreadRun;

static void
on_thread_read (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  ThreadRun *run = data;

  run->async_n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &run->async_error);
  /* In the calling thread's context. */
  g_assert_true (g_main_context_is_owner (run->context));
  run->async_done = TRUE;
}

static gpointer
other_thread (gpointer data)
{
  ThreadRun *run = data;
  GInputStream *in = input_of (run->socket);

  run->context = g_main_context_new ();
  g_main_context_push_thread_default (run->context);
  /* A blocking read: the socket's thread reads for it. */
  run->read_n = g_input_stream_read (in, run->buffer, 5, NULL, &run->read_error);
  /* The pollable calls are the socket thread's only. */
  run->readable = g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (in));
  g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), run->buffer, 1, NULL,
                                            &run->nonblocking_error);
  /* An asynchronous read completes here. */
  g_input_stream_read_async (in, run->buffer + 5, 5, G_PRIORITY_DEFAULT, NULL, on_thread_read, run);
  while (!run->async_done)
    g_main_context_iteration (run->context, TRUE);
  g_main_context_pop_thread_default (run->context);
  g_main_context_unref (run->context);
  return NULL;
}

static gboolean
thread_joined (gpointer data)
{
  return g_atomic_pointer_get ((gpointer *) data) == NULL;
}

static gpointer
join_thread (gpointer data)
{
  return data;
}

/* The view used from another thread: blocking and asynchronous calls are
 * carried out by the socket's thread (its main loop must run), the
 * pollable ones fail there. */
static void
test_misuse_thread (LsTestFixture *f,
                    gconstpointer  data)
{
  ThreadRun run = { .socket = f->peer };
  GThread *thread = g_thread_new ("other", other_thread, &run);

  ls_test_run_for (20);
  ls_test_socket_write_str (f->client, "hello");
  ls_test_run_for (20);
  ls_test_socket_write_str (f->client, "world");
  /* The socket's thread runs its loop until the other thread is done. */
  while (!g_atomic_int_get (&run.async_done))
    ls_test_run_for (10);
  g_thread_join (thread);
  (void) thread_joined;
  (void) join_thread;

  g_assert_no_error (run.read_error);
  g_assert_cmpint (run.read_n, ==, 5);
  g_assert_true (run.readable);
  g_assert_error (run.nonblocking_error, G_IO_ERROR, G_IO_ERROR_FAILED);
  ls_test_assert_contains (run.nonblocking_error->message, "thread");
  g_assert_no_error (run.async_error);
  g_assert_cmpint (run.async_n, ==, 5);
  g_assert_cmpmem (run.buffer, 10, "helloworld", 10);
  g_clear_error (&run.nonblocking_error);
}

typedef struct
{
  GInputStream *in;
  char          buffer[16];
  gssize        first;
  gssize        second;
  GError       *error;
  gint          done;
} LateRead;

static gpointer
late_read_thread (gpointer data)
{
  LateRead *run = data;

  run->first = g_input_stream_read (run->in, run->buffer, sizeof run->buffer, NULL, &run->error);
  if (run->error == NULL)
    run->second = g_input_stream_read (run->in, run->buffer, sizeof run->buffer, NULL, &run->error);
  g_atomic_int_set (&run->done, 1);
  return NULL;
}

/* A reader in another thread (JSON-GLib's way) that comes after the
 * connection ended, when the socket has let go of its main loop: the
 * calls still go to the socket's thread, and read what was left, then the
 * end. */
static void
test_misuse_thread_after_end (LsTestFixture *f,
                              gconstpointer  data)
{
  LateRead run = { .in = input_of (f->peer), .first = -2, .second = -2 };
  GThread *thread;

  ls_test_socket_write_str (f->client, "last");
  ls_local_socket_disconnect_from_server (f->client);
  g_assert_true (ls_test_run_until_cond (socket_unconnected, f->peer, TIMEOUT_MS));
  thread = g_thread_new ("late", late_read_thread, &run);
  g_assert_true (ls_test_run_until_cond (int_set, &run.done, TIMEOUT_MS));
  g_thread_join (thread);
  g_assert_no_error (run.error);
  g_assert_cmpint (run.first, ==, 4);
  g_assert_cmpmem (run.buffer, 4, "last", 4);
  g_assert_cmpint (run.second, ==, 0);
}

/* ---- Detach ------------------------------------------------------------- */

static void
assert_detach_refused (LsLocalSocket *socket,
                       const char    *reason)
{
  g_autoptr(GError) error = NULL;
  LsLocalSocketState state = ls_local_socket_get_state (socket);
  int fd = ls_local_socket_get_socket_descriptor (socket);

  g_assert_null (ls_local_socket_detach (socket, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_contains (error->message, "detach");
  ls_test_assert_contains (error->message, reason);
  /* Nothing changed. */
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, state);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (socket), ==, fd);
}

static gpointer
detach_in_thread (gpointer data)
{
  GError *error = NULL;

  g_assert_null (ls_local_socket_detach (data, &error));
  return error;
}

/* Detach refuses, changing nothing, whenever a byte or a descriptor would
 * be lost, and when the socket is not connected or not the caller's. */
static void
test_detach_refused (LsTestFixture *f,
                     gconstpointer  data)
{
  g_autoptr(LsLocalSocket) fresh = ls_local_socket_new ();
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GBytes) bytes = g_bytes_new_static ("fd", 2);
  g_autoptr(GError) error = NULL;
  GError *thread_error;

  assert_detach_refused (fresh, "not connected");

  /* Received bytes not read. */
  ls_test_socket_write_str (f->client, "unread");
  g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
  assert_detach_refused (f->peer, "6 received bytes are still buffered");
  ls_test_assert_bytes_str (ls_local_socket_read_all (f->peer), "unread");

  /* Queued bytes not written. */
  ls_test_socket_write_str (f->peer, "queued");
  assert_detach_refused (f->peer, "6 bytes are still queued");
  g_assert_true (g_output_stream_flush (output_of (f->peer), NULL, &error));
  {
    g_autofree char *queued = ls_test_socket_read_n (f->client, 6, TIMEOUT_MS);

    g_assert_cmpstr (queued, ==, "queued");
  }

  /* Descriptors received, not taken. */
  ls_local_socket_set_accept_fds (f->peer, TRUE);
  g_unix_fd_list_append (list, 0, &error);
  g_assert_true (ls_local_socket_write_with_fds (f->client, bytes, list, &error));
  g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  g_assert_true (ls_local_socket_wait_for_ready_read (f->peer, 5000));
  ls_test_assert_bytes_str (ls_local_socket_read_all (f->peer), "fd");
  assert_detach_refused (f->peer, "descriptors were not taken");
  g_clear_object (&list);
  list = ls_local_socket_take_fds (f->peer);
  g_assert_nonnull (list);

  /* Not the caller's thread. */
  thread_error = g_thread_join (g_thread_new ("detach", detach_in_thread, f->peer));
  g_assert_error (thread_error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_contains (thread_error->message, "thread");
  g_error_free (thread_error);

  /* Still a working connection. */
  ls_test_send_and_expect (f->client, f->peer, "still");
  ls_test_send_and_expect (f->peer, f->client, "here");
}

/* Detach hands the very descriptor over as a GUnixConnection: the socket
 * becomes unconnected without disconnected, the connection goes on, and
 * credentials pass. */
static void
test_detach_basic (LsTestFixture *f,
                   gconstpointer  data)
{
  g_autoptr(LsTestSignalLog) log = ls_test_signal_log_new (f->peer);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketConnection) client_connection = NULL;
  g_autoptr(GCredentials) credentials = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *got = NULL;
  char buffer[16];
  int fd = ls_local_socket_get_socket_descriptor (f->peer);

  connection = ls_local_socket_detach (f->peer, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_UNIX_CONNECTION (connection));
  g_assert_cmpint (g_socket_get_fd (g_socket_connection_get_socket (connection)), ==, fd);
  g_assert_cmpstr (ls_test_signal_log_get (log), ==, "state-changed(0) ");
  g_assert_cmpint (ls_local_socket_get_state (f->peer), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (f->peer), ==, -1);
  g_assert_false (ls_local_socket_is_valid (f->peer));
  /* The view reads the end of the stream, and cannot write. */
  g_assert_cmpint (g_input_stream_read (input_of (f->peer), buffer, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);

  /* Both ways over the connection. */
  ls_test_socket_write_str (f->client, "ping");
  g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          buffer, 4, NULL, NULL, &error));
  g_assert_cmpmem (buffer, 4, "ping", 4);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            "pong", 4, NULL, NULL, &error));
  got = ls_test_socket_read_n (f->client, 4, TIMEOUT_MS);
  g_assert_cmpstr (got, ==, "pong");

  /* Credentials (what GDBus's EXTERNAL authentication uses). */
  client_connection = ls_local_socket_detach (f->client, &error);
  g_assert_no_error (error);
  g_assert_true (g_unix_connection_send_credentials (G_UNIX_CONNECTION (client_connection), NULL, &error));
  g_assert_no_error (error);
  credentials = g_unix_connection_receive_credentials (G_UNIX_CONNECTION (connection), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_credentials_get_unix_pid (credentials, NULL), ==, getpid ());

  /* The socket connects anew. */
  ls_local_socket_connect_to_server (f->client, f->path);
  g_assert_cmpint (ls_local_socket_get_state (f->client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_clear_object (&f->peer);
  f->peer = ls_test_server_take (f->server);
  ls_test_send_and_expect (f->client, f->peer, "again");
  g_assert_true (g_io_stream_close (G_IO_STREAM (connection), NULL, NULL));
  g_assert_true (g_io_stream_close (G_IO_STREAM (client_connection), NULL, NULL));
}

/* The GSocket of get_socket () is the one the connection wraps. */
static void
test_detach_get_socket (LsTestFixture *f,
                        gconstpointer  data)
{
  GSocket *socket = g_object_ref (ls_local_socket_get_socket (f->peer));
  g_autoptr(GSocketConnection) connection = ls_local_socket_detach (f->peer, NULL);

  g_assert_true (g_socket_connection_get_socket (connection) == socket);
  g_assert_false (g_socket_is_closed (socket));
  ls_test_socket_write_str (f->client, "via the dup");
  g_assert_true (ls_local_socket_wait_for_bytes_written (f->client, 5000));
  {
    char buffer[11];

    g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                            buffer, 11, NULL, NULL, NULL));
    g_assert_cmpmem (buffer, 11, "via the dup", 11);
  }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_object_unref (socket);
}

/* ---- GDBus peer to peer ------------------------------------------------- */

static const char introspection_xml[] =
  "<node><interface name='org.ls.Test'>"
  "  <method name='Echo'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
  "  <signal name='Pinged'><arg type='s'/></signal>"
  "</interface></node>";

static void
on_method_call (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  const char *text;

  g_variant_get (parameters, "(&s)", &text);
  g_dbus_connection_emit_signal (connection, NULL, "/org/ls/Test", "org.ls.Test", "Pinged",
                                 g_variant_new ("(s)", text), NULL);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", text));
}

static void
on_pinged (GDBusConnection *connection,
           const char      *sender,
           const char      *object_path,
           const char      *interface_name,
           const char      *signal_name,
           GVariant        *parameters,
           gpointer         user_data)
{
  char **text = user_data;

  g_variant_get (parameters, "(s)", text);
}

static gboolean
string_set (gpointer data)
{
  return *(char **) data != NULL;
}

/* A server that accepts by Qt name detaches; both ends make a
 * GDBusConnection (EXTERNAL authentication, same user required) and a
 * method call and a signal go round. In a subprocess: GDBus keeps a
 * thread and its descriptors for good. */
static void
test_detach_gdbus (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = ls_test_make_tmpdir ();
      g_autoptr(LsLocalServer) server = NULL;
      g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
      g_autoptr(LsLocalSocket) accepted = NULL;
      g_autoptr(GSocketConnection) server_stream = NULL;
      g_autoptr(GSocketConnection) client_stream = NULL;
      g_autoptr(GDBusConnection) server_bus = NULL;
      g_autoptr(GDBusConnection) client_bus = NULL;
      g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (introspection_xml, NULL);
      g_autoptr(GAsyncResult) server_result = NULL;
      g_autoptr(GAsyncResult) client_result = NULL;
      g_autoptr(GVariant) reply = NULL;
      g_autoptr(GCredentials) credentials = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *guid = g_dbus_generate_guid ();
      g_autofree char *pinged = NULL;
      GDBusInterfaceVTable vtable = { on_method_call, NULL, NULL, { 0 } };
      GAsyncResult *server_slot = NULL;
      GAsyncResult *client_slot = NULL;
      const char *echoed;

      /* A Qt name: "ls-bus" in $TMPDIR, as QLocalServer resolves it. */
      g_setenv ("TMPDIR", dir, TRUE);
      server = ls_test_listening_server ("ls-bus");
      ls_local_socket_connect_to_server (client, "ls-bus");
      accepted = ls_test_server_take (server);
      server_stream = ls_local_socket_detach (accepted, &error);
      g_assert_no_error (error);
      client_stream = ls_local_socket_detach (client, &error);
      g_assert_no_error (error);

      g_dbus_connection_new (G_IO_STREAM (server_stream), guid,
                             G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                             G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER |
                             G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                             NULL, NULL, on_result, &server_slot);
      g_dbus_connection_new (G_IO_STREAM (client_stream), NULL,
                             G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                             NULL, NULL, on_result, &client_slot);
      server_result = wait_result (&server_slot);
      client_result = wait_result (&client_slot);
      server_bus = g_dbus_connection_new_finish (server_result, &error);
      g_assert_no_error (error);
      client_bus = g_dbus_connection_new_finish (client_result, &error);
      g_assert_no_error (error);
      credentials = g_dbus_connection_get_peer_credentials (server_bus);
      g_assert_nonnull (credentials);
      g_assert_cmpint (g_credentials_get_unix_pid (credentials, NULL), ==, getpid ());
      credentials = NULL;

      g_assert_cmpuint (g_dbus_connection_register_object (server_bus, "/org/ls/Test",
                                                           info->interfaces[0], &vtable,
                                                           NULL, NULL, &error), >, 0);
      g_assert_no_error (error);
      g_dbus_connection_start_message_processing (server_bus);
      g_dbus_connection_signal_subscribe (client_bus, NULL, "org.ls.Test", "Pinged", "/org/ls/Test",
                                          NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_pinged, &pinged, NULL);
      g_dbus_connection_call (client_bus, NULL, "/org/ls/Test", "org.ls.Test", "Echo",
                              g_variant_new ("(s)", "over Ls"), G_VARIANT_TYPE ("(s)"),
                              G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_result, &client_slot);
      g_clear_object (&client_result);
      client_result = wait_result (&client_slot);
      reply = g_dbus_connection_call_finish (client_bus, client_result, &error);
      g_assert_no_error (error);
      g_variant_get (reply, "(&s)", &echoed);
      g_assert_cmpstr (echoed, ==, "over Ls");
      g_assert_true (ls_test_run_until_cond (string_set, &pinged, TIMEOUT_MS));
      g_assert_cmpstr (pinged, ==, "over Ls");

      g_assert_true (g_dbus_connection_close_sync (client_bus, NULL, NULL));
      /* The server side may have seen the client go already. */
      g_dbus_connection_close_sync (server_bus, NULL, NULL);
      g_clear_object (&server);
      ls_test_remove_tmpdir (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}
int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* GTask's first use starts GLib's worker thread (and its eventfd) for
   * good: not something a test should count against a call. */
  g_type_ensure (G_TYPE_TASK);

  g_test_add ("/ls/stream/view/basics", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_view_basics, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/view/roundtrip", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_view_roundtrip, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/view/blocking", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_view_blocking, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/view/blocking-cancel", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_view_blocking_cancel, ls_test_fixture_teardown);
  g_test_add_func ("/ls/stream/view/unconnected", test_view_unconnected);
  g_test_add ("/ls/stream/async/cancel", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_async_cancel, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/async/high-water", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_async_high_water, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/async/flush", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_async_flush, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/async/interleave", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_async_interleave, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/fds", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_direct_fds, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/end/pending-eof", LsTestFixture, GINT_TO_POINTER (END_PENDING_EOF),
              ls_test_fixture_setup_pair, test_direct_end, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/end/nonblocking-eof", LsTestFixture,
              GINT_TO_POINTER (END_NONBLOCKING_EOF), ls_test_fixture_setup_pair, test_direct_end,
              ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/end/pending-reset", LsTestFixture, GINT_TO_POINTER (END_PENDING_RESET),
              ls_test_fixture_setup_pair, test_direct_end, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/framing", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_direct_framing, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/ready-read-handler", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_direct_ready_read, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/both-write-first", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_direct_both_write_first, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/many", LsTestFixture, NULL, ls_test_fixture_setup,
              test_direct_many, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/hangup-writing", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_direct_hangup_writing, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/handler-while-pending", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_direct_handler_while_pending, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/after-view/wait", LsTestFixture, GINT_TO_POINTER (AFTER_VIEW_WAIT),
              ls_test_fixture_setup_pair, test_direct_after_view, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/after-view/handler", LsTestFixture,
              GINT_TO_POINTER (AFTER_VIEW_HANDLER), ls_test_fixture_setup_pair, test_direct_after_view,
              ls_test_fixture_teardown);
  g_test_add ("/ls/stream/direct/after-view/loop", LsTestFixture, GINT_TO_POINTER (AFTER_VIEW_LOOP),
              ls_test_fixture_setup_pair, test_direct_after_view, ls_test_fixture_teardown);
  {
    static const struct { const char *name; PendingKind kind; } kinds[] = {
      { "read", PENDING_READ }, { "write", PENDING_WRITE }, { "flush", PENDING_FLUSH },
      { "splice", PENDING_SPLICE }, { "close-view", PENDING_CLOSE },
    };
    static const char *give_ups[] = { "abort-write", "close-write", "abort-flush", "close-flush" };

    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
      {
        g_autofree char *reconnect = g_strdup_printf ("/ls/stream/state/reconnect-closing/%s", kinds[i].name);
        g_autofree char *close = g_strdup_printf ("/ls/stream/state/close-closing/%s", kinds[i].name);

        g_test_add (reconnect, LsTestFixture, GINT_TO_POINTER (kinds[i].kind), ls_test_fixture_setup_dir,
                    test_state_reconnect_closing, ls_test_fixture_teardown);
        g_test_add (close, LsTestFixture, GINT_TO_POINTER (kinds[i].kind), ls_test_fixture_setup_dir,
                    test_state_close_closing, ls_test_fixture_teardown);
      }
    for (guint i = 0; i < G_N_ELEMENTS (give_ups); i++)
      {
        g_autofree char *path = g_strdup_printf ("/ls/stream/state/give-up-connecting/%s", give_ups[i]);

        g_test_add (path, LsTestFixture, GUINT_TO_POINTER (i), ls_test_fixture_setup,
                    test_state_give_up_connecting, ls_test_fixture_teardown);
      }
  }
  g_test_add ("/ls/stream/tools/qt-read-line", LsTestFixture, GINT_TO_POINTER (FALSE),
              ls_test_fixture_setup, test_tools_qt_records, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/tools/qt-read-upto", LsTestFixture, GINT_TO_POINTER (TRUE),
              ls_test_fixture_setup, test_tools_qt_records, ls_test_fixture_teardown);
#ifdef HAVE_JSON_GLIB
  g_test_add ("/ls/stream/tools/json", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_tools_json, ls_test_fixture_teardown);
#endif
  g_test_add ("/ls/stream/tools/zlib", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_tools_zlib, ls_test_fixture_teardown);
  g_test_add_func ("/ls/stream/async/no-thread", test_no_thread);
  {
    static const struct { const char *name; Closer closer; } closers[] = {
      { "close-socket", CLOSE_SOCKET }, { "abort-socket", ABORT_SOCKET },
      { "disconnect-socket", DISCONNECT_SOCKET }, { "close-view", CLOSE_VIEW },
      { "close-view-async", CLOSE_VIEW_ASYNC },
    };
    static const struct { const char *name; HandlerAction action; } handlers[] = {
      { "close-socket", HANDLER_CLOSE_SOCKET }, { "close-view", HANDLER_CLOSE_VIEW },
      { "detach", HANDLER_DETACH }, { "unref", HANDLER_UNREF },
    };
    static const struct { const char *name; CallbackAction action; } callbacks[] = {
      { "unref-socket", CALLBACK_UNREF_SOCKET }, { "close-view", CALLBACK_CLOSE_VIEW },
      { "detach", CALLBACK_DETACH }, { "read-again", CALLBACK_READ_AGAIN },
    };

    for (guint i = 0; i < G_N_ELEMENTS (closers); i++)
      {
        g_autofree char *path = g_strdup_printf ("/ls/stream/misuse/pending-read/%s", closers[i].name);

        g_test_add (path, LsTestFixture, GINT_TO_POINTER (closers[i].closer), ls_test_fixture_setup_pair,
                    test_misuse_close_pending, ls_test_fixture_teardown);
      }
    for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
      {
        g_autofree char *path = g_strdup_printf ("/ls/stream/misuse/ready-read-handler/%s", handlers[i].name);

        g_test_add (path, LsTestFixture, GINT_TO_POINTER (handlers[i].action), ls_test_fixture_setup_pair,
                    test_misuse_handler, ls_test_fixture_teardown);
      }
    for (guint i = 0; i < G_N_ELEMENTS (callbacks); i++)
      {
        g_autofree char *path = g_strdup_printf ("/ls/stream/misuse/read-callback/%s", callbacks[i].name);

        g_test_add (path, LsTestFixture, GINT_TO_POINTER (callbacks[i].action), ls_test_fixture_setup_pair,
                    test_misuse_callback, ls_test_fixture_teardown);
      }
  }
  g_test_add ("/ls/stream/detach/refused", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_detach_refused, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/detach/basic", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_detach_basic, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/detach/get-socket", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_detach_get_socket, ls_test_fixture_teardown);
  g_test_add_func ("/ls/stream/detach/gdbus", test_detach_gdbus);
  g_test_add ("/ls/stream/misuse/view-outlives-socket", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_misuse_view_outlives, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/misuse/other-thread", LsTestFixture, NULL, ls_test_fixture_setup_pair,
              test_misuse_thread, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/misuse/other-thread-after-end", LsTestFixture, NULL,
              ls_test_fixture_setup_pair, test_misuse_thread_after_end, ls_test_fixture_teardown);
  g_test_add ("/ls/stream/tools/splice", LsTestFixture, GUINT_TO_POINTER (1024 * 1024),
              ls_test_fixture_setup_dir, test_tools_splice, ls_test_fixture_teardown);

  return g_test_run ();
}
