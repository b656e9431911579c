/* test-random.c: a long random sequence of API calls with invariants after each step
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A few servers (each on its own path) and client sockets, plus the
 * connections the servers hand out, are driven by random calls: listen,
 * close, connect, write, read, peek, abort, disconnect, close, wait with
 * 0 ms, main context iterations, unref and recreate, option changes.
 *
 * A model follows every connection: each successful connect is matched to
 * the connection its server accepts (the kernel's accept queue and the
 * server's pending queue are both FIFO), and every byte a side queued with
 * a successful write is recorded. After each step the invariants are
 * checked: valid states, is_valid iff CONNECTED/CLOSING or still open, descriptors -1 iff
 * not connected / not listening, what each side has read is a prefix of
 * what the other side wrote, disconnected at most once per connection, and
 * at the end no descriptor and no file is left behind.
 *
 * The sequence is seeded by g_test_rand (pass --seed=R02S... to replay);
 * LS_RANDOM_STEPS overrides the number of steps.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#ifndef LS_RANDOM_DEFAULT_STEPS
# define LS_RANDOM_DEFAULT_STEPS 2000
#endif

#define N_SERVERS       2
#define N_CLIENTS       4
#define MAX_ACCEPTED    8
#define HISTORY         40

/* ------------------------------------------------------------------------ */
/* Model                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gint        ref_count;
  guint       id;
  GByteArray *sent[2];    /* [0] client → server, [1] server → client */
  gsize       received[2];
} Conn;

typedef struct
{
  LsLocalSocket *socket;
  Conn          *conn;          /* the connection this socket carries / carried */
  gboolean       is_client;
  guint          index;
  guint          target;        /* clients: the server slot they connect to */
  guint          disconnects;   /* disconnected emissions for the current conn */
  gboolean       adopting;      /* inside set_socket_descriptor */
  gboolean       open;          /* QIODevice-style: from connected until about-to-close */
} Endpoint;

typedef struct
{
  LsLocalServer *server;
  char          *path;
  GQueue         backlog;       /* Conn*: connected, not yet accepted */
  GQueue         pending;       /* Conn*: accepted, queued in the server */
  gboolean       listening;
  gboolean       adopted;       /* listening on a descriptor we bound */
  gboolean       in_wait;
} Slot;

typedef struct
{
  char      *dir;
  Slot       slots[N_SERVERS];
  Endpoint  *clients[N_CLIENTS];
  GPtrArray *accepted;          /* Endpoint* from next_pending_connection */
  guint      next_conn_id;
  guint      step;
  char      *history[HISTORY];
  guint      op_counts[32];
  guint64    bytes_written;
  guint64    bytes_verified;
  guint      connects_ok;
  guint      accepts;
} World;

static World *world;

static Conn *
conn_new (void)
{
  Conn *c = g_new0 (Conn, 1);

  c->ref_count = 1;
  c->id = ++world->next_conn_id;
  c->sent[0] = g_byte_array_new ();
  c->sent[1] = g_byte_array_new ();
  return c;
}

static Conn *
conn_ref (Conn *c)
{
  c->ref_count++;
  return c;
}

static void
conn_unref (Conn *c)
{
  if (c != NULL && --c->ref_count == 0)
    {
      g_byte_array_unref (c->sent[0]);
      g_byte_array_unref (c->sent[1]);
      g_free (c);
    }
}

static void
note (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Keeps the last steps, printed when an invariant breaks. */
static void
note (const char *format, ...)
{
  va_list args;
  guint slot = world->step % HISTORY;

  g_free (world->history[slot]);
  va_start (args, format);
  world->history[slot] = g_strdup_vprintf (format, args);
  va_end (args);
}

static void
dump_history (void)
{
  for (guint i = 0; i < HISTORY; i++)
    {
      guint slot = (world->step + 1 + i) % HISTORY;

      if (world->history[slot] != NULL)
        g_printerr ("  %s\n", world->history[slot]);
    }
}

#define check(cond, ...)                                                       \
  G_STMT_START {                                                               \
    if (G_UNLIKELY (!(cond)))                                                  \
      {                                                                        \
        g_printerr ("invariant broken at step %u: %s\n", world->step, #cond);   \
        g_printerr ("  " __VA_ARGS__);                                         \
        g_printerr ("\nlast steps:\n");                                        \
        dump_history ();                                                       \
        g_error ("invariant broken at step %u: %s", world->step, #cond);      \
      }                                                                        \
  } G_STMT_END

static const char *
ep_name (Endpoint *ep)
{
  static char buf[4][48];
  static guint n;
  char *b = buf[n++ % 4];

  g_snprintf (b, sizeof buf[0], "%s%u(conn %u)", ep->is_client ? "client" : "accepted",
              ep->index, ep->conn ? ep->conn->id : 0);
  return b;
}

/* Checks @data (just taken, or peeked when !consume) against what the peer
 * sent on this endpoint's incoming direction. */
static void
verify_incoming (Endpoint *ep, const guint8 *data, gsize size, gboolean consume)
{
  int dir = ep->is_client ? 1 : 0;
  Conn *c = ep->conn;

  if (size == 0)
    return;
  check (c != NULL, "%s read %" G_GSIZE_FORMAT " bytes without a connection", ep_name (ep), size);
  check (c->received[dir] + size <= c->sent[dir]->len,
         "%s read %" G_GSIZE_FORMAT " bytes at offset %" G_GSIZE_FORMAT ", but only %u were sent",
         ep_name (ep), size, c->received[dir], c->sent[dir]->len);
  check (memcmp (c->sent[dir]->data + c->received[dir], data, size) == 0,
         "%s read %" G_GSIZE_FORMAT " bytes at offset %" G_GSIZE_FORMAT " that differ from what "
         "was sent", ep_name (ep), size, c->received[dir]);
  if (consume)
    {
      c->received[dir] += size;
      world->bytes_verified += size;
    }
}

static void
verify_bytes (Endpoint *ep, GBytes *bytes, gboolean consume)
{
  gsize size;
  const guint8 *data;

  check (bytes != NULL, "%s: a read returned NULL", ep_name (ep));
  data = g_bytes_get_data (bytes, &size);
  verify_incoming (ep, data, size, consume);
}

/* ------------------------------------------------------------------------ */
/* Signal handlers                                                            */
/* ------------------------------------------------------------------------ */

static void
on_connected (LsLocalSocket *socket, Endpoint *ep)
{
  Slot *slot = &world->slots[ep->target];

  check (ep->is_client, "connected on an accepted socket");
  check (!ep->adopting, "connected emitted by set_socket_descriptor");
  check (slot->listening, "client%u connected to slot %u, which is not listening", ep->index,
         ep->target);
  conn_unref (ep->conn);
  ep->conn = conn_new ();
  ep->disconnects = 0;
  g_queue_push_tail (&slot->backlog, conn_ref (ep->conn));
  world->connects_ok++;
}

static void
on_disconnected (LsLocalSocket *socket, Endpoint *ep)
{
  ep->disconnects++;
  check (ep->disconnects == 1, "%s: disconnected emitted %u times for one connection",
         ep_name (ep), ep->disconnects);
}

static void
on_error_occurred (LsLocalSocket *socket, LsSocketError code, Endpoint *ep)
{
  GEnumClass *klass = g_type_class_ref (LS_TYPE_SOCKET_ERROR);

  check (g_enum_get_value (klass, code) != NULL, "%s: error-occurred(%d)", ep_name (ep), code);
  g_type_class_unref (klass);
}

static void
on_state_changed (LsLocalSocket *socket, LsLocalSocketState state, Endpoint *ep)
{
  check (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED || state == LS_LOCAL_SOCKET_STATE_CONNECTING ||
         state == LS_LOCAL_SOCKET_STATE_CONNECTED || state == LS_LOCAL_SOCKET_STATE_CLOSING,
         "%s: state-changed(%d)", ep_name (ep), state);
  if (state == LS_LOCAL_SOCKET_STATE_CONNECTED)
    ep->open = TRUE;
}

/* The read buffer is about to be dropped: those bytes count as consumed,
 * after checking them. */
static void
on_about_to_close (LsLocalSocket *socket, Endpoint *ep)
{
  gint64 available = ls_local_socket_get_bytes_available (socket);
  g_autoptr(GBytes) dropped = ls_local_socket_peek (socket, (gsize) MAX (available, 0));

  check (available >= 0, "%s: %" G_GINT64_FORMAT " bytes available", ep_name (ep), available);
  check ((gint64) g_bytes_get_size (dropped) == available,
         "%s: peek returned %" G_GSIZE_FORMAT " of %" G_GINT64_FORMAT " available bytes",
         ep_name (ep), g_bytes_get_size (dropped), available);
  verify_bytes (ep, dropped, TRUE);
  ep->open = FALSE;
}

static Endpoint *
endpoint_new (LsLocalSocket *socket, gboolean is_client, guint index)
{
  Endpoint *ep = g_new0 (Endpoint, 1);

  ep->socket = socket;
  ep->is_client = is_client;
  ep->index = index;
  /* An accepted socket is open from the start. */
  ep->open = !is_client;
  if (is_client)
    {
      /* A full backlog must not keep a client connecting for 30 s. */
      ls_local_socket_set_connect_timeout (socket, 200);
      g_signal_connect (socket, "connected", G_CALLBACK (on_connected), ep);
    }
  g_signal_connect (socket, "disconnected", G_CALLBACK (on_disconnected), ep);
  g_signal_connect (socket, "error-occurred", G_CALLBACK (on_error_occurred), ep);
  g_signal_connect (socket, "state-changed", G_CALLBACK (on_state_changed), ep);
  g_signal_connect (socket, "about-to-close", G_CALLBACK (on_about_to_close), ep);
  return ep;
}

static void
endpoint_free (Endpoint *ep)
{
  /* Disposal drops buffers without signals (like Qt's destructor). */
  g_signal_handlers_disconnect_by_data (ep->socket, ep);
  g_object_unref (ep->socket);
  conn_unref (ep->conn);
  g_free (ep);
}

static void
slot_forget_queues (Slot *slot)
{
  Conn *c;

  while ((c = g_queue_pop_head (&slot->backlog)) != NULL)
    conn_unref (c);
  while ((c = g_queue_pop_head (&slot->pending)) != NULL)
    conn_unref (c);
}

static void
on_new_connection (LsLocalServer *server, Slot *slot)
{
  Conn *c = g_queue_pop_head (&slot->backlog);

  check (c != NULL, "new-connection on %s with no connected client in the model", slot->path);
  g_queue_push_tail (&slot->pending, c);
  world->accepts++;
  if (!slot->in_wait)
    check ((gint) slot->pending.length <= ls_local_server_get_max_pending_connections (server),
           "%u queued with max-pending-connections %d", slot->pending.length,
           ls_local_server_get_max_pending_connections (server));
  check (ls_local_server_has_pending_connections (server), "queued before new-connection");
}

static void
slot_create (Slot *slot)
{
  slot->server = ls_local_server_new ();
  slot->listening = FALSE;
  g_signal_connect (slot->server, "new-connection", G_CALLBACK (on_new_connection), slot);
}

/* After close or dispose: a file the server did not bind is not its to
 * remove (it listened on our descriptor), so it is still there; remove it
 * as its owner. */
static void
slot_after_close (Slot *slot)
{
  if (slot->adopted)
    {
      check (g_file_test (slot->path, G_FILE_TEST_EXISTS),
             "%s: closing a server on an adopted descriptor removed the file it did not create",
             slot->path);
      g_unlink (slot->path);
    }
  slot->adopted = FALSE;
  slot->listening = FALSE;
  slot_forget_queues (slot);
}

static void
slot_destroy (Slot *slot)
{
  g_signal_handlers_disconnect_by_data (slot->server, slot);
  g_clear_object (&slot->server);
  slot_after_close (slot);
}

/* ------------------------------------------------------------------------ */
/* Invariants                                                                 */
/* ------------------------------------------------------------------------ */

static void
check_socket (Endpoint *ep)
{
  LsLocalSocket *s = ep->socket;
  LsLocalSocketState state = ls_local_socket_get_state (s);
  gboolean connected = state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
                       state == LS_LOCAL_SOCKET_STATE_CLOSING;
  int fd = ls_local_socket_get_socket_descriptor (s);
  gint64 available = ls_local_socket_get_bytes_available (s);
  gint64 to_write = ls_local_socket_get_bytes_to_write (s);

  check (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED || state == LS_LOCAL_SOCKET_STATE_CONNECTING ||
         state == LS_LOCAL_SOCKET_STATE_CONNECTED || state == LS_LOCAL_SOCKET_STATE_CLOSING,
         "%s: state %d", ep_name (ep), state);
  /* As in Qt: valid while connected, and after the connection ended until
   * close() or abort() (the received data stays readable). */
  check (ls_local_socket_is_valid (s) == (connected || ep->open), "%s: state %d, open %d, is_valid %d",
         ep_name (ep), state, ep->open, ls_local_socket_is_valid (s));
  /* A descriptor exactly while connected (or closing); -1 while
   * unconnected or still connecting (as in Qt). */
  check ((fd >= 0) == connected, "%s: state %d, descriptor %d", ep_name (ep), state, fd);
  check (available >= 0, "%s: bytes available %" G_GINT64_FORMAT, ep_name (ep), available);
  check (to_write >= 0, "%s: bytes to write %" G_GINT64_FORMAT, ep_name (ep), to_write);
  check (state != LS_LOCAL_SOCKET_STATE_UNCONNECTED || to_write == 0,
         "%s: unconnected with %" G_GINT64_FORMAT " bytes to write", ep_name (ep), to_write);
  check (!connected || ep->conn != NULL, "%s: connected without a model connection", ep_name (ep));
  if (available > 0)
    {
      /* The buffered bytes are the next ones of the peer's stream. */
      g_autoptr(GBytes) head = ls_local_socket_peek (s, (gsize) available);

      check ((gint64) g_bytes_get_size (head) == available, "%s: peek short", ep_name (ep));
      verify_bytes (ep, head, FALSE);
    }
}

static void
check_slot (Slot *slot)
{
  LsLocalServer *server = slot->server;
  int fd = ls_local_server_get_socket_descriptor (server);
  gboolean listening = ls_local_server_is_listening (server);

  check (listening == slot->listening, "%s: listening %d, model %d", slot->path, listening,
         slot->listening);
  check ((fd >= 0) == listening, "%s: listening %d, descriptor %d", slot->path, listening, fd);
  check (ls_local_server_has_pending_connections (server) == (slot->pending.length > 0),
         "%s: has_pending %d, model %u", slot->path,
         ls_local_server_has_pending_connections (server), slot->pending.length);
  check (g_file_test (slot->path, G_FILE_TEST_EXISTS) == listening,
         "%s: file exists %d, listening %d", slot->path,
         g_file_test (slot->path, G_FILE_TEST_EXISTS), listening);
  if (listening)
    check (g_str_equal (ls_local_server_get_full_server_name (server), slot->path),
           "%s: full name %s", slot->path, ls_local_server_get_full_server_name (server));
  else
    check (g_str_equal (ls_local_server_get_full_server_name (server), ""),
           "not listening, full name %s", ls_local_server_get_full_server_name (server));
}

static void
check_world (void)
{
  for (guint i = 0; i < N_SERVERS; i++)
    check_slot (&world->slots[i]);
  for (guint i = 0; i < N_CLIENTS; i++)
    check_socket (world->clients[i]);
  for (guint i = 0; i < world->accepted->len; i++)
    check_socket (g_ptr_array_index (world->accepted, i));
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                 */
/* ------------------------------------------------------------------------ */

static Endpoint *
random_endpoint (void)
{
  guint n = N_CLIENTS + world->accepted->len;
  guint i = g_test_rand_int_range (0, n);

  return i < N_CLIENTS ? world->clients[i] : g_ptr_array_index (world->accepted, i - N_CLIENTS);
}

static Slot *
random_slot (void)
{
  return &world->slots[g_test_rand_int_range (0, N_SERVERS)];
}

static void
op_listen (void)
{
  Slot *slot = random_slot ();
  g_autoptr(GError) error = NULL;
  static const LsSocketOptions options[] = { LS_SOCKET_OPTION_NONE, LS_SOCKET_OPTION_NONE,
                                             LS_SOCKET_OPTION_USER_ACCESS,
                                             LS_SOCKET_OPTION_WORLD_ACCESS };
  static const gint backlogs[] = { 50, 50, 2, 1 };
  LsSocketOptions o = options[g_test_rand_int_range (0, G_N_ELEMENTS (options))];
  gint backlog = backlogs[g_test_rand_int_range (0, G_N_ELEMENTS (backlogs))];
  gboolean ok;

  if (!slot->listening)
    {
      ls_local_server_set_socket_options (slot->server, o);
      ls_local_server_set_listen_backlog_size (slot->server, backlog);
    }
  note ("listen %s (options %d, backlog %d, was listening %d)", slot->path, o, backlog,
        slot->listening);
  ok = ls_local_server_listen (slot->server, slot->path, &error);
  if (slot->listening)
    {
      check (!ok && g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION),
             "listen twice on %s: %d %s", slot->path, ok, error ? error->message : "");
    }
  else
    {
      check (ok, "listen on %s failed: %s", slot->path, error ? error->message : "");
      slot->listening = TRUE;
    }
}

/* listen_socket_descriptor on a socket we bound ourselves. */
static void
op_listen_fd (void)
{
  Slot *slot = random_slot ();
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autoptr(GError) error = NULL;
  int fd;
  gboolean ok;

  note ("listen_socket_descriptor %s (was listening %d)", slot->path, slot->listening);
  if (slot->listening)
    {
      int pair[2];

      /* Already listening: refused, and the descriptor stays ours. */
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      ok = ls_local_server_listen_socket_descriptor (slot->server, pair[0], &error);
      check (!ok && g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION),
             "listen_socket_descriptor while listening: %d", ok);
      check (fcntl (pair[0], F_GETFD) != -1, "a refused descriptor was closed");
      close (pair[0]);
      close (pair[1]);
      return;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_strlcpy (addr.sun_path, slot->path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, g_test_rand_int_range (1, 8)), ==, 0);
  ok = ls_local_server_listen_socket_descriptor (slot->server, fd, &error);
  check (ok, "listen_socket_descriptor: %s", error ? error->message : "");
  check (ls_local_server_get_socket_descriptor (slot->server) == fd, "descriptor %d, gave %d",
         ls_local_server_get_socket_descriptor (slot->server), fd);
  slot->listening = TRUE;
  slot->adopted = TRUE;
}

/* set_socket_descriptor on both ends of a socketpair: a client slot and a
 * new "accepted" endpoint share one connection. */
static void
op_adopt_pair (void)
{
  Endpoint *ep = world->clients[g_test_rand_int_range (0, N_CLIENTS)];
  LsLocalSocketState before = ls_local_socket_get_state (ep->socket);
  g_autoptr(GError) error = NULL;
  LsLocalSocket *other;
  Endpoint *other_ep;
  int pair[2];
  gboolean ok;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  note ("adopt a socketpair on %s (state %d)", ep_name (ep), before);
  ep->adopting = TRUE;
  ok = ls_local_socket_set_socket_descriptor (ep->socket, pair[0],
                                              LS_LOCAL_SOCKET_STATE_CONNECTED, &error);
  ep->adopting = FALSE;
  if (before != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      check (!ok && g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION),
             "adopting on a socket in state %d: %d", before, ok);
      check (fcntl (pair[0], F_GETFD) != -1, "a refused descriptor was closed");
      close (pair[0]);
      close (pair[1]);
      return;
    }
  check (ok, "adopt: %s", error ? error->message : "");
  check (ls_local_socket_get_state (ep->socket) == LS_LOCAL_SOCKET_STATE_CONNECTED,
         "adopted, state %d", ls_local_socket_get_state (ep->socket));
  conn_unref (ep->conn);
  ep->conn = conn_new ();
  ep->disconnects = 0;

  other = ls_local_socket_new ();
  check (ls_local_socket_set_socket_descriptor (other, pair[1], LS_LOCAL_SOCKET_STATE_CONNECTED,
                                                NULL), "adopting the other end");
  if (world->accepted->len >= MAX_ACCEPTED)
    g_ptr_array_remove_index (world->accepted, 0);
  other_ep = endpoint_new (other, FALSE, 1000 + ep->conn->id);
  other_ep->conn = conn_ref (ep->conn);
  g_ptr_array_add (world->accepted, other_ep);
}

static void
op_close_server (void)
{
  Slot *slot = random_slot ();

  note ("close server %s (listening %d, %u queued)", slot->path, slot->listening,
        slot->pending.length);
  ls_local_server_close (slot->server);
  slot_after_close (slot);
}

static void
op_recreate_server (void)
{
  Slot *slot = random_slot ();

  note ("recreate server %s", slot->path);
  slot_destroy (slot);
  slot_create (slot);
}

static void
op_wait_server (void)
{
  Slot *slot = random_slot ();
  g_autoptr(GError) error = NULL;
  gboolean timed_out = FALSE;
  gboolean result;

  note ("wait_for_new_connection(0) %s (listening %d)", slot->path, slot->listening);
  slot->in_wait = TRUE;
  result = ls_local_server_wait_for_new_connection (slot->server, 0, &timed_out, &error);
  slot->in_wait = FALSE;
  if (!slot->listening)
    check (!result && g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION),
           "wait on a closed server: %d", result);
  else
    {
      check (error == NULL, "wait: %s", error->message);
      check (result == (slot->pending.length > 0), "wait returned %d with %u queued", result,
             slot->pending.length);
    }
}

static void
op_take (void)
{
  Slot *slot = random_slot ();
  LsLocalSocket *socket;
  Endpoint *ep;
  Conn *c;

  note ("next_pending_connection %s (%u queued)", slot->path, slot->pending.length);
  socket = ls_local_server_next_pending_connection (slot->server);
  c = g_queue_pop_head (&slot->pending);
  check ((socket != NULL) == (c != NULL), "next_pending_connection gave %p, model has %p",
         (void *) socket, (void *) c);
  if (socket == NULL)
    return;
  if (world->accepted->len >= MAX_ACCEPTED)
    g_ptr_array_remove_index (world->accepted, 0);
  ep = endpoint_new (socket, FALSE, world->accepts);
  ep->conn = c;
  g_ptr_array_add (world->accepted, ep);
}

static void
op_set_max_pending (void)
{
  Slot *slot = random_slot ();
  static const gint values[] = { 0, 1, 2, 30 };
  gint v = values[g_test_rand_int_range (0, G_N_ELEMENTS (values))];

  note ("max-pending %s = %d", slot->path, v);
  ls_local_server_set_max_pending_connections (slot->server, v);
}

static void
op_connect (void)
{
  Endpoint *ep = world->clients[g_test_rand_int_range (0, N_CLIENTS)];
  LsLocalSocketState before = ls_local_socket_get_state (ep->socket);
  LsLocalSocketState after;
  guint target = g_test_rand_int_range (0, N_SERVERS);
  Slot *slot = &world->slots[target];
  g_autofree char *name = g_strdup (slot->path);

  note ("connect %s to %s (state %d, server listening %d)", ep_name (ep), slot->path, before,
        slot->listening);
  if (before == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    ep->target = target;
  /* As in Qt, a closing socket connects again to its current name (the
   * name given is ignored); after close (), or adopting a socketpair, it
   * has none. */
  else if (before == LS_LOCAL_SOCKET_STATE_CLOSING)
    {
      slot = &world->slots[ep->target];
      g_free (name);
      name = g_strdup (ls_local_socket_get_server_name (ep->socket));
    }
  ls_local_socket_connect_to_server (ep->socket, world->slots[target].path);
  after = ls_local_socket_get_state (ep->socket);
  if (before == LS_LOCAL_SOCKET_STATE_CONNECTED || before == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      check (after == before, "connect while %d changed the state to %d", before, after);
      check (ls_local_socket_get_error (ep->socket) == LS_SOCKET_ERROR_OPERATION,
             "connect while %d: error %d", before, ls_local_socket_get_error (ep->socket));
    }
  else
    {
      if (!slot->listening || strcmp (name, slot->path) != 0)
        {
          check (after == LS_LOCAL_SOCKET_STATE_UNCONNECTED, "connected to a closed server");
          check (ls_local_socket_get_error (ep->socket) == LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                 "connect to a missing server: error %d", ls_local_socket_get_error (ep->socket));
        }
      else
        check (after == LS_LOCAL_SOCKET_STATE_CONNECTED ||
               after == LS_LOCAL_SOCKET_STATE_CONNECTING,
               "connect to a listening server ended in %d (error %d “%s”)", after,
               ls_local_socket_get_error (ep->socket),
               ls_local_socket_get_error_string (ep->socket));
    }
}

static void
op_write (void)
{
  Endpoint *ep = random_endpoint ();
  LsLocalSocketState state = ls_local_socket_get_state (ep->socket);
  guint r = g_test_rand_int_range (0, 100);
  gsize size = r < 70 ? (gsize) g_test_rand_int_range (0, 2048) :
               r < 95 ? (gsize) g_test_rand_int_range (2048, 65536) :
                        (gsize) g_test_rand_int_range (65536, 600 * 1024);
  guint8 *data = g_malloc (MAX (size, 1));
  gboolean as_bytes = g_test_rand_bit ();
  gssize n;

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_test_rand_int ();
  note ("write %" G_GSIZE_FORMAT " bytes%s on %s (state %d)", size, as_bytes ? " (GBytes)" : "",
        ep_name (ep), state);
  if (as_bytes)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (data, size);
      n = ls_local_socket_write_bytes (ep->socket, bytes);
    }
  else
    n = ls_local_socket_write (ep->socket, data, size);

  /* As in Qt, a disconnect that still delivers (CLOSING, not closed)
   * takes more. */
  if (state == LS_LOCAL_SOCKET_STATE_CONNECTED ||
      (state == LS_LOCAL_SOCKET_STATE_CLOSING && ep->open))
    {
      check (n == (gssize) size, "write of %" G_GSIZE_FORMAT " while in state %d returned %"
             G_GSSIZE_FORMAT, size, state, n);
      g_byte_array_append (ep->conn->sent[ep->is_client ? 0 : 1], data, size);
      world->bytes_written += size;
    }
  else
    check (n == -1, "write while in state %d returned %" G_GSSIZE_FORMAT, state, n);
  g_free (data);
}

static void
op_read (void)
{
  Endpoint *ep = random_endpoint ();
  guint kind = g_test_rand_int_range (0, 6);
  gsize max = g_test_rand_bit () ? (gsize) g_test_rand_int_range (0, 100) :
                                   (gsize) g_test_rand_int_range (0, 200000);
  gint64 available = ls_local_socket_get_bytes_available (ep->socket);
  gboolean could_line = ls_local_socket_can_read_line (ep->socket);
  g_autoptr(GBytes) bytes = NULL;
  gsize size;

  note ("read kind %u max %" G_GSIZE_FORMAT " on %s (%" G_GINT64_FORMAT " available)", kind, max,
        ep_name (ep), available);
  switch (kind)
    {
    case 0:
      bytes = ls_local_socket_read (ep->socket, max);
      size = g_bytes_get_size (bytes);
      check (size == MIN (max, (gsize) available), "read(%" G_GSIZE_FORMAT ") gave %"
             G_GSIZE_FORMAT " of %" G_GINT64_FORMAT, max, size, available);
      break;
    case 1:
      bytes = ls_local_socket_read_all (ep->socket);
      size = g_bytes_get_size (bytes);
      check ((gint64) size == available, "read_all gave %" G_GSIZE_FORMAT " of %"
             G_GINT64_FORMAT, size, available);
      break;
    case 2:
    case 3:
      {
        gsize limit = kind == 2 ? 0 : max;

        bytes = ls_local_socket_read_line (ep->socket, limit);
        size = g_bytes_get_size (bytes);
        check (size <= (gsize) available, "read_line gave more than available");
        check (limit == 0 || size <= limit, "read_line(%" G_GSIZE_FORMAT ") gave %" G_GSIZE_FORMAT,
               limit, size);
        if (could_line && limit == 0)
          check (size > 0 && ((const guint8 *) g_bytes_get_data (bytes, NULL))[size - 1] == '\n',
                 "can_read_line, but read_line(0) gave no line");
        /* A newline, if any, is only at the end. */
        if (size > 1)
          check (memchr (g_bytes_get_data (bytes, NULL), '\n', size - 1) == NULL,
                 "read_line crossed a newline");
      }
      break;
    case 4:
      bytes = ls_local_socket_peek (ep->socket, max);
      size = g_bytes_get_size (bytes);
      check (size == MIN (max, (gsize) available), "peek size");
      check (ls_local_socket_get_bytes_available (ep->socket) == available, "peek consumed");
      verify_bytes (ep, bytes, FALSE);
      return;
    default:
      if (ls_local_socket_wait_for_ready_read (ep->socket, 0))
        check (ls_local_socket_get_bytes_available (ep->socket) > available,
               "wait_for_ready_read(0) TRUE without new data");
      return;
    }
  verify_bytes (ep, bytes, TRUE);
  check (ls_local_socket_get_bytes_available (ep->socket) == available - (gint64) size,
         "bytes available after reading %" G_GSIZE_FORMAT, size);
}

static void
op_end (void)
{
  Endpoint *ep = random_endpoint ();
  guint kind = g_test_rand_int_range (0, 3);
  LsLocalSocketState before = ls_local_socket_get_state (ep->socket);
  LsLocalSocketState after;

  note ("%s %s (state %d, %" G_GINT64_FORMAT " to write)",
        kind == 0 ? "abort" : kind == 1 ? "disconnect" : "close", ep_name (ep), before,
        ls_local_socket_get_bytes_to_write (ep->socket));
  if (kind == 0)
    ls_local_socket_abort (ep->socket);
  else if (kind == 1)
    ls_local_socket_disconnect_from_server (ep->socket);
  else
    ls_local_socket_close (ep->socket);
  after = ls_local_socket_get_state (ep->socket);
  if (kind == 0)
    check (after == LS_LOCAL_SOCKET_STATE_UNCONNECTED, "abort left state %d", after);
  else
    check (after == LS_LOCAL_SOCKET_STATE_UNCONNECTED || after == LS_LOCAL_SOCKET_STATE_CLOSING,
           "disconnect/close left state %d", after);

}

static void
op_wait (void)
{
  Endpoint *ep = random_endpoint ();
  guint kind = g_test_rand_int_range (0, 4);
  LsLocalSocketState before = ls_local_socket_get_state (ep->socket);
  gboolean result;

  note ("wait kind %u (0 ms) on %s (state %d)", kind, ep_name (ep), before);
  switch (kind)
    {
    case 0:
      result = ls_local_socket_wait_for_connected (ep->socket, 0);
      check (result == (ls_local_socket_get_state (ep->socket) == LS_LOCAL_SOCKET_STATE_CONNECTED),
             "wait_for_connected returned %d in state %d", result,
             ls_local_socket_get_state (ep->socket));
      break;
    case 1:
      result = ls_local_socket_wait_for_bytes_written (ep->socket, 0);
      if (before == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
        check (!result, "wait_for_bytes_written TRUE while unconnected");
      break;
    case 2:
      result = ls_local_socket_wait_for_disconnected (ep->socket, 0);
      if (before == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
        check (!result, "wait_for_disconnected TRUE while unconnected");
      if (result)
        check (ls_local_socket_get_state (ep->socket) == LS_LOCAL_SOCKET_STATE_UNCONNECTED,
               "wait_for_disconnected TRUE in state %d", ls_local_socket_get_state (ep->socket));
      break;
    default:
      result = ls_local_socket_flush (ep->socket);
      if (before == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
        check (!result, "flush TRUE while unconnected");
      break;
    }
}

static void
op_iterate (void)
{
  guint n = g_test_rand_int_range (1, 6);
  guint dispatched = 0;

  for (guint i = 0; i < n; i++)
    dispatched += g_main_context_iteration (NULL, FALSE);
  note ("iterate %u times (%u dispatched)", n, dispatched);
}

/* CLOSING means "pending data is still being written": once the main loop
 * has run, a closing socket has something left to write. */
static void
check_closing_settled (Endpoint *ep)
{
  if (ls_local_socket_get_state (ep->socket) != LS_LOCAL_SOCKET_STATE_CLOSING)
    return;
  check (ls_local_socket_get_bytes_to_write (ep->socket) > 0,
         "%s: still closing after the main loop ran, with nothing to write (read-buffer-size %"
         G_GINT64_FORMAT ", %" G_GINT64_FORMAT " bytes available, error %d “%s”)", ep_name (ep),
         ls_local_socket_get_read_buffer_size (ep->socket),
         ls_local_socket_get_bytes_available (ep->socket),
         ls_local_socket_get_error (ep->socket), ls_local_socket_get_error_string (ep->socket));
}

static void
op_sleep_iterate (void)
{
  /* Let retries, back-offs and the peer's kernel buffers move. */
  note ("run the main loop for 5 ms");
  ls_test_run_for (5);
  for (guint i = 0; i < N_CLIENTS; i++)
    check_closing_settled (world->clients[i]);
  for (guint i = 0; i < world->accepted->len; i++)
    check_closing_settled (g_ptr_array_index (world->accepted, i));
}

static void
op_recreate_client (void)
{
  guint i = g_test_rand_int_range (0, N_CLIENTS);

  note ("recreate %s", ep_name (world->clients[i]));
  endpoint_free (world->clients[i]);
  world->clients[i] = endpoint_new (ls_local_socket_new (), TRUE, i);
}

static void
op_drop_accepted (void)
{
  guint i;

  if (world->accepted->len == 0)
    return;
  i = g_test_rand_int_range (0, world->accepted->len);
  note ("unref %s", ep_name (g_ptr_array_index (world->accepted, i)));
  g_ptr_array_remove_index (world->accepted, i);
}

static void
op_read_buffer_size (void)
{
  Endpoint *ep = random_endpoint ();
  static const gint64 sizes[] = { 0, 0, 1, 100, 65536 };
  gint64 v = sizes[g_test_rand_int_range (0, G_N_ELEMENTS (sizes))];

  note ("read-buffer-size %" G_GINT64_FORMAT " on %s", v, ep_name (ep));
  ls_local_socket_set_read_buffer_size (ep->socket, v);
}

typedef struct
{
  const char *name;
  void      (*func) (void);
  guint       weight;
} Op;

static const Op ops[] = {
  { "listen", op_listen, 6 },
  { "listen-fd", op_listen_fd, 1 },
  { "adopt-pair", op_adopt_pair, 2 },
  { "close-server", op_close_server, 2 },
  { "recreate-server", op_recreate_server, 1 },
  { "wait-server", op_wait_server, 3 },
  { "take", op_take, 8 },
  { "max-pending", op_set_max_pending, 1 },
  { "connect", op_connect, 8 },
  { "write", op_write, 14 },
  { "read", op_read, 14 },
  { "end", op_end, 4 },
  { "wait", op_wait, 6 },
  { "iterate", op_iterate, 14 },
  { "sleep-iterate", op_sleep_iterate, 1 },
  { "recreate-client", op_recreate_client, 1 },
  { "drop-accepted", op_drop_accepted, 2 },
  { "read-buffer-size", op_read_buffer_size, 1 },
};

static guint
steps_to_run (void)
{
  const char *env = g_getenv ("LS_RANDOM_STEPS");

  if (env != NULL && env[0] != '\0')
    return (guint) g_ascii_strtoull (env, NULL, 10);
  if (g_test_slow ())
    return MAX (LS_RANDOM_DEFAULT_STEPS, 100000);
  return LS_RANDOM_DEFAULT_STEPS;
}

static void
test_random_sequence (void)
{
  guint steps = steps_to_run ();
  guint total_weight = 0;
  guint fds_before;
  GDir *dir;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  fds_before = ls_test_count_open_fds ();
  world = g_new0 (World, 1);
  world->dir = ls_test_make_tmpdir ();
  world->accepted = g_ptr_array_new_with_free_func ((GDestroyNotify) endpoint_free);
  for (guint i = 0; i < N_SERVERS; i++)
    {
      world->slots[i].path = g_strdup_printf ("%s/server-%u", world->dir, i);
      g_queue_init (&world->slots[i].backlog);
      g_queue_init (&world->slots[i].pending);
      slot_create (&world->slots[i]);
    }
  for (guint i = 0; i < N_CLIENTS; i++)
    world->clients[i] = endpoint_new (ls_local_socket_new (), TRUE, i);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    total_weight += ops[i].weight;

  for (world->step = 0; world->step < steps; world->step++)
    {
      guint pick = g_test_rand_int_range (0, total_weight);
      guint i = 0;

      while (pick >= ops[i].weight)
        pick -= ops[i++].weight;
      world->op_counts[i]++;
      ops[i].func ();
      check_world ();
    }

  g_test_message ("%u steps: %u connects, %u accepts, %" G_GUINT64_FORMAT " bytes written, %"
                  G_GUINT64_FORMAT " bytes read and verified", steps, world->connects_ok,
                  world->accepts, world->bytes_written, world->bytes_verified);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    g_test_message ("  %-16s %u", ops[i].name, world->op_counts[i]);
  check (world->connects_ok > 0 && world->accepts > 0 && world->bytes_verified > 0,
         "the sequence exercised nothing");

  /* Tear down: nothing left behind. */
  g_ptr_array_unref (world->accepted);
  for (guint i = 0; i < N_CLIENTS; i++)
    endpoint_free (world->clients[i]);
  for (guint i = 0; i < N_SERVERS; i++)
    {
      slot_destroy (&world->slots[i]);
      g_free (world->slots[i].path);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
  dir = g_dir_open (world->dir, 0, NULL);
  g_assert_nonnull (dir);
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);
  ls_test_remove_tmpdir (world->dir);
  g_free (world->dir);
  for (guint i = 0; i < HISTORY; i++)
    g_free (world->history[i]);
  g_clear_pointer (&world, g_free);
  g_assert_cmpuint (ls_test_count_open_fds (), ==, fds_before);
}

/* Found by the sequence above: bytes left unread from an ended connection
 * must not show up as data of the next connection of the same socket
 * (Qt's QIODevice::open() clears the buffers on every connect). */
static void
test_reconnect_stale_input (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "stale", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) first = NULL;
  g_autoptr(LsLocalSocket) second = NULL;

  g_assert_true (ls_local_server_listen (server, path, NULL));

  /* First connection: the server side says "old" and leaves. */
  ls_local_socket_connect_to_server (client, path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, 5000, NULL, NULL));
  first = ls_local_server_next_pending_connection (server);
  g_assert_cmpint (ls_local_socket_write (first, (const guint8 *) "old", 3), ==, 3);
  ls_local_socket_disconnect_from_server (first);
  /* The data leaves from the main loop, or in a wait (as in Qt). */
  g_assert_true (ls_local_socket_wait_for_disconnected (first, 5000));
  g_assert_true (ls_local_socket_wait_for_disconnected (client, 5000));
  g_assert_cmpint (ls_local_socket_get_bytes_available (client), ==, 3);

  /* Second connection of the same object: only what the new peer sends. */
  ls_local_socket_connect_to_server (client, path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  if (ls_local_socket_get_bytes_available (client) != 0)
    {
      g_autoptr(GBytes) stale = ls_local_socket_peek (client, 100);

      /* Not an abort: the random sequence below should still run. */
      g_test_fail_printf ("after reconnecting, %" G_GINT64_FORMAT " bytes of the previous "
                          "connection are readable (“%.*s”)",
                          ls_local_socket_get_bytes_available (client),
                          (int) g_bytes_get_size (stale),
                          (const char *) g_bytes_get_data (stale, NULL));
      ls_local_server_close (server);
      ls_test_remove_tmpdir (dir);
      return;
    }
  g_assert_true (ls_local_server_wait_for_new_connection (server, 5000, NULL, NULL));
  second = ls_local_server_next_pending_connection (server);
  ls_test_send_and_expect (second, client, "new");

  ls_local_server_close (server);
  ls_test_remove_tmpdir (dir);
}

/* Found by the sequence above: a socket whose read buffer is full while the
 * peer has hung up. Each wait must return by its deadline (FALSE: nothing
 * new can be buffered until the application reads). Run in a child process,
 * so a wait that never returns fails the test instead of hanging it. */
static void
test_wait_full_buffer_hangup (void)
{
  static const struct
  {
    const char *name;
    int         which;
    int         msec;
  } waits[] = {
    { "wait_for_ready_read (0)", 0, 0 },
    { "wait_for_ready_read (100)", 0, 100 },
    { "wait_for_disconnected (0)", 1, 0 },
    { "wait_for_disconnected (100)", 1, 100 },
  };
  /* Not a heap string: forked children exit with it unreachable, which
   * valgrind would report as a leak of theirs. */
  char failures[1024] = "";

  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      int pair[2], status = 0;
      gint64 deadline;
      pid_t pid;

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
      g_assert_cmpint (write (pair[1], "0123456789", 10), ==, 10);
      close (pair[1]);
      fflush (stdout);
      pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          GMainContext *context = g_main_context_new ();
          LsLocalSocket *socket;

          g_main_context_push_thread_default (context);
          socket = ls_local_socket_new ();
          ls_local_socket_set_read_buffer_size (socket, 4);
          if (!ls_local_socket_set_socket_descriptor (socket, pair[0],
                                                      LS_LOCAL_SOCKET_STATE_CONNECTED, NULL))
            _exit (2);
          /* Fill the buffer: 4 of the 10 bytes. */
          if (!ls_local_socket_wait_for_ready_read (socket, 1000) ||
              ls_local_socket_get_bytes_available (socket) != 4)
            _exit (3);
          if (waits[i].which == 0)
            ls_local_socket_wait_for_ready_read (socket, waits[i].msec);
          else
            ls_local_socket_wait_for_disconnected (socket, waits[i].msec);
          g_object_unref (socket);
          g_main_context_pop_thread_default (context);
          g_main_context_unref (context);
          _exit (0);
        }
      close (pair[0]);
      deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      while (waitpid (pid, &status, WNOHANG) == 0)
        {
          if (g_get_monotonic_time () > deadline)
            {
              kill (pid, SIGKILL);
              waitpid (pid, &status, 0);
              g_strlcat (failures, "[", sizeof failures);
              g_strlcat (failures, waits[i].name, sizeof failures);
              g_strlcat (failures, " did not return within 5 s] ", sizeof failures);
              status = 0;
              break;
            }
          g_usleep (5000);
        }
      if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
        {
          g_strlcat (failures, "[", sizeof failures);
          g_strlcat (failures, waits[i].name, sizeof failures);
          g_strlcat (failures, ": the child failed] ", sizeof failures);
        }
    }
  if (failures[0] != '\0')
    g_test_fail_printf ("read-buffer-size 4, buffer full, peer hung up: %s", failures);
}

/* Found by the sequence above: close() with queued output, a read-buffer
 * limit and a peer that already left (the write fails with EPIPE). The
 * application closed the device and will not read again, so the socket
 * must still get to UNCONNECTED by itself; CLOSING means "pending data is
 * still being written", and nothing is left to write. */
static void
test_close_after_peer_left_with_read_limit (void)
{
  g_autofree char *dir = ls_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "closing", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(LsLocalSocket) client = ls_local_socket_new ();
  g_autoptr(LsLocalSocket) accepted = NULL;
  LsTestSignalLog *log;
  gint64 deadline;

  g_assert_true (ls_local_server_listen (server, path, NULL));
  ls_local_socket_set_read_buffer_size (client, 1);
  ls_local_socket_connect_to_server (client, path);
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  g_assert_true (ls_local_server_wait_for_new_connection (server, 5000, NULL, NULL));
  accepted = ls_local_server_next_pending_connection (server);
  /* The peer reads (almost) nothing. */
  ls_local_socket_set_read_buffer_size (accepted, 1);

  /* More than the kernel takes: the rest stays queued, and the main loop
   * has already run the write it scheduled. */
  {
    gsize big = 4 * 1024 * 1024;
    g_autofree guint8 *data = g_malloc0 (big);

    g_assert_cmpint (ls_local_socket_write (client, data, big), ==, (gssize) big);
    ls_test_run_for (50);
    g_assert_cmpint (ls_local_socket_get_bytes_to_write (client), >, 0);
  }
  g_assert_cmpint (ls_local_socket_get_state (client), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  /* The peer says something and leaves (without reading); we have not
   * looked at the socket since. */
  g_assert_cmpint (ls_local_socket_write (accepted, (const guint8 *) "0123456789", 10), ==, 10);
  g_assert_true (ls_local_socket_flush (accepted));
  ls_local_socket_abort (accepted);

  log = ls_test_signal_log_new (client);
  ls_local_socket_close (client);
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (ls_local_socket_get_state (client) != LS_LOCAL_SOCKET_STATE_UNCONNECTED &&
         g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  g_test_message ("signals: %s; state %d, %" G_GINT64_FORMAT " to write, %" G_GINT64_FORMAT
                  " available", ls_test_signal_log_get (log), ls_local_socket_get_state (client),
                  ls_local_socket_get_bytes_to_write (client),
                  ls_local_socket_get_bytes_available (client));
  if (ls_local_socket_get_state (client) != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    g_test_fail_printf ("close() with the peer gone and read-buffer-size 1: still in state %d "
                        "after 2 s of main loop, %" G_GINT64_FORMAT " bytes to write, signals %s",
                        ls_local_socket_get_state (client),
                        ls_local_socket_get_bytes_to_write (client), ls_test_signal_log_get (log));
  else
    g_assert_true (g_str_has_suffix (ls_test_signal_log_get (log), "disconnected "));
  ls_test_signal_log_free (log);
  ls_local_socket_abort (client);
  ls_local_server_close (server);
  ls_test_remove_tmpdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  g_main_context_default ();

  g_test_add_func ("/ls/random/regression/reconnect-stale-input", test_reconnect_stale_input);
  g_test_add_func ("/ls/random/regression/wait-full-buffer-hangup", test_wait_full_buffer_hangup);
  g_test_add_func ("/ls/random/regression/close-after-peer-left-with-read-limit",
                   test_close_after_peer_left_with_read_limit);
  g_test_add_func ("/ls/random/sequence", test_random_sequence);

  return g_test_run ();
}
