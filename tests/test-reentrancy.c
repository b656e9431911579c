/* test-reentrancy.c: handlers may do anything
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For every signal of LsLocalSocket and LsLocalServer, a handler that
 * closes, aborts, disconnects, drops the last reference to, waits on, or
 * re-connects / re-listens the object that emitted it. Each signal is
 * triggered on every path it can be emitted from:
 *   call  synchronously, inside the API call that causes it
 *         (connect_to_server, flush, close, abort);
 *   loop  from the main context;
 *   wait  inside a blocking wait_for_* call made by the test.
 * A cell (scenario × action × path) asserts: no crash and no critical, a
 * consistent end state, and no signal emitted more often than its contract
 * allows. The handler acts on the first emission of its signal only; later
 * emissions are just counted.
 *
 * Assertions are non-fatal so that --keep-going reports every failing cell.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define SAFETY_MS 5000

typedef enum { PATH_CALL, PATH_LOOP, PATH_WAIT, N_PATHS } Path;
static const char *const path_names[N_PATHS] = { "call", "loop", "wait" };
#define ON(path) (1u << (path))

enum
{
  SOCK_CONNECTED, SOCK_DISCONNECTED, SOCK_ERROR_OCCURRED, SOCK_STATE_CHANGED,
  SOCK_READY_READ, SOCK_BYTES_WRITTEN, SOCK_ABOUT_TO_CLOSE, SOCK_READ_CHANNEL_FINISHED,
  N_SOCKET_SIGNALS
};
static const char *const socket_signals[N_SOCKET_SIGNALS] = {
  "connected", "disconnected", "error-occurred", "state-changed",
  "ready-read", "bytes-written", "about-to-close", "read-channel-finished",
};
/* At most this many emissions per connection (0: no limit). Every
 * scenario makes one connection, one 4-byte arrival or one 1-byte write. */
static const guint socket_signal_max[N_SOCKET_SIGNALS] = { 1, 1, 1, 0, 1, 1, 1, 1 };

enum { SRV_NEW_CONNECTION, SRV_AUTHORIZE_PEER, N_SERVER_SIGNALS };
static const char *const server_signals[N_SERVER_SIGNALS] = { "new-connection", "authorize-peer" };

typedef struct _Fixture Fixture;

/* What an action leaves behind, for the checks after the trigger. */
typedef enum
{
  EFFECT_NONE,
  EFFECT_CLOSE,       /* socket: unconnected, read buffer dropped; server: not listening */
  EFFECT_DISCONNECT,  /* socket: unconnected */
  EFFECT_UNREF,       /* finalized once the main loop ran */
  EFFECT_RECONNECT,   /* socket: a second connection life is allowed */
  EFFECT_RELISTEN,    /* server: listening again, a second client connected */
} Effect;

typedef struct
{
  const char *name;
  Effect      effect;
  void      (*run) (Fixture *f, gpointer self);
} Action;

typedef enum { TARGET_CLIENT, TARGET_ACCEPTED, TARGET_SERVER } Target;

typedef struct
{
  const char *name;          /* test path fragment */
  Target      target;
  guint       signal;        /* index into socket_signals or server_signals */
  guint       paths;         /* ON(PATH_...) */
  gboolean    connect_fails; /* connects to a missing name */
  gboolean    one_error;     /* error-occurred exactly once (regression) */
  gboolean    connecting;    /* the CONNECTING handler of connect_to_server:
                              * as in Qt, disconnect does not stop the
                              * attempt; close, abort and a wait give it up */
  guint       on_state;      /* state-changed: act only on these ON (state), 0: first */
  void      (*trigger) (Fixture *f, Path path);
} Scenario;

typedef struct
{
  const Scenario *scenario;
  const Action   *action;
  Path            path;
} Cell;

struct _Fixture
{
  const Cell    *cell;
  char          *dir;
  char          *name;          /* dir/s, where the server listens */
  char          *missing;       /* dir/missing, where nobody does */
  const char    *connect_name;  /* what the target socket connects to */
  LsLocalServer *server;
  LsLocalSocket *socket;        /* the target of socket cells */
  gpointer       target;        /* weak pointer to the object under test */
  gulong         handler_ids[N_SOCKET_SIGNALS];
  int            raw;           /* peer of the accepted target, or server client */
  int            raw2;          /* the client a re-listened server accepts */
  guint          count[N_SOCKET_SIGNALS];
  LsLocalSocketState last_state; /* as last announced by state-changed */
  GString       *log;           /* every emission, printed when a cell fails */
  gboolean       acted;
};

/* ------------------------------------------------------------------------ */
/* Main loop helpers: bounded by SAFETY_MS, never a pass/fail timing        */
/* ------------------------------------------------------------------------ */

typedef gboolean (*Condition) (Fixture *f);

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
run_until (Fixture *f, Condition condition)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (SAFETY_MS);

  g_source_set_callback (timeout, set_flag_cb, &timed_out, NULL);
  g_source_attach (timeout, NULL);
  while (!condition (f) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return condition (f);
}

/* Dispatches whatever is ready, so late emissions get counted too. */
static void
drain (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static gboolean hooked_fired (Fixture *f) { return f->acted; }
static gboolean target_gone (Fixture *f) { return f->target == NULL; }
static gboolean socket_unconnected (Fixture *f)
{
  return ls_local_socket_get_state (f->socket) == LS_LOCAL_SOCKET_STATE_UNCONNECTED;
}

/* ------------------------------------------------------------------------ */
/* The handler: counts every signal, acts on the first emission of one      */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GClosure closure;
  Fixture *f;
  guint    signal;
} Hook;

/* One marshaller for every signature: the arguments are not needed, and
 * authorize-peer (the only signal with a return value) accepts the peer. */
static void
hook_marshal (GClosure     *closure,
              GValue       *return_value,
              guint         n_params,
              const GValue *params,
              gpointer      hint,
              gpointer      marshal_data)
{
  Hook *hook = (Hook *) closure;
  Fixture *f = hook->f;

  const Scenario *scenario = f->cell->scenario;

  f->count[hook->signal]++;
  g_string_append (f->log, scenario->target == TARGET_SERVER ? server_signals[hook->signal]
                                                             : socket_signals[hook->signal]);
  if (n_params > 1 && G_VALUE_HOLDS_ENUM (&params[1]))
    g_string_append_printf (f->log, "(%d)", g_value_get_enum (&params[1]));
  g_string_append_c (f->log, ' ');
  if (scenario->target != TARGET_SERVER && hook->signal == SOCK_STATE_CHANGED)
    {
      f->last_state = g_value_get_enum (&params[1]);
      if (scenario->on_state != 0 && (scenario->on_state & ON (f->last_state)) == 0)
        goto out;
    }
  if (hook->signal == scenario->signal && !f->acted)
    {
      f->acted = TRUE;
      g_string_append_printf (f->log, "[%s] ", f->cell->action->name);
      f->cell->action->run (f, g_value_get_object (&params[0]));
    }
out:
  if (return_value != NULL)
    g_value_set_boolean (return_value, TRUE);
}

static gulong
hook_signal (Fixture    *f,
             gpointer    instance,
             const char *signal,
             guint       index)
{
  GClosure *closure = g_closure_new_simple (sizeof (Hook), NULL);

  ((Hook *) closure)->f = f;
  ((Hook *) closure)->signal = index;
  g_closure_set_marshal (closure, hook_marshal);
  return g_signal_connect_closure (instance, signal, closure, FALSE);
}

/* ------------------------------------------------------------------------ */
/* Actions                                                                  */
/* ------------------------------------------------------------------------ */

static void
act_unref (Fixture *f, gpointer self)
{
  /* The test's only reference: from now on only the weak pointer tells. */
  if (self == (gpointer) f->socket)
    f->socket = NULL;
  else if (self == (gpointer) f->server)
    f->server = NULL;
  else
    g_assert_not_reached ();
  g_object_unref (self);
}

static void act_close (Fixture *f, gpointer self) { ls_local_socket_close (self); }
static void act_abort (Fixture *f, gpointer self) { ls_local_socket_abort (self); }
static void act_disconnect (Fixture *f, gpointer self) { ls_local_socket_disconnect_from_server (self); }
static void act_wait_ready_read (Fixture *f, gpointer self) { ls_local_socket_wait_for_ready_read (self, 0); }
static void act_reconnect (Fixture *f, gpointer self) { ls_local_socket_connect_to_server (self, f->connect_name); }

static void act_server_close (Fixture *f, gpointer self) { ls_local_server_close (self); }
static void act_server_wait (Fixture *f, gpointer self) { ls_local_server_wait_for_new_connection (self, 0, NULL, NULL); }

static void
act_server_relisten (Fixture *f, gpointer self)
{
  g_autoptr(GError) error = NULL;

  ls_local_server_close (self);
  g_assert_true (ls_local_server_listen (self, f->name, &error));
  g_assert_no_error (error);
  /* A client of the new socket, which the interrupted accept (the main
   * loop's, or the test's wait) may take. */
  f->raw2 = ls_test_raw_connect (f->name);
  g_assert_cmpint (f->raw2, >=, 0);
}

static const Action socket_actions[] = {
  { "close",           EFFECT_CLOSE,      act_close },
  { "abort",           EFFECT_CLOSE,      act_abort },
  { "disconnect",      EFFECT_DISCONNECT, act_disconnect },
  { "unref",           EFFECT_UNREF,      act_unref },
  { "wait-ready-read", EFFECT_NONE,       act_wait_ready_read },
  { "reconnect",       EFFECT_RECONNECT,  act_reconnect },
};

static const Action server_actions[] = {
  { "close",    EFFECT_CLOSE,    act_server_close },
  { "unref",    EFFECT_UNREF,    act_unref },
  { "relisten", EFFECT_RELISTEN, act_server_relisten },
  { "wait",     EFFECT_NONE,     act_server_wait },
};

/* ------------------------------------------------------------------------ */
/* Triggers                                                                 */
/* ------------------------------------------------------------------------ */

/* The loop path runs the main context until the handler acted; the wait
 * path makes the blocking call, in which the signal fires and which then
 * reports what happened inside it (new data, data written, the socket
 * became unconnected) whatever the handler did. */
static void
loop_or_wait (Fixture *f,
              Path     path,
              gboolean (*wait) (LsLocalSocket *, int))
{
  if (path == PATH_LOOP)
    g_assert_true (run_until (f, hooked_fired));
  else if (path == PATH_WAIT)
    g_assert_true (wait (f->socket, SAFETY_MS));
}

static void
trigger_connect (Fixture *f, Path path)
{
  ls_local_socket_connect_to_server (f->socket, f->connect_name);
}

static void
trigger_data (Fixture *f, Path path)
{
  g_assert_cmpint (write (f->raw, "ping", 4), ==, 4);
  loop_or_wait (f, path, ls_local_socket_wait_for_ready_read);
}

static void
trigger_peer_close (Fixture *f, Path path)
{
  close (f->raw);
  f->raw = -1;
  loop_or_wait (f, path, ls_local_socket_wait_for_disconnected);
}

static void
trigger_write (Fixture *f, Path path)
{
  g_assert_cmpint (ls_local_socket_write (f->socket, (const guint8 *) "x", 1), ==, 1);
  if (path == PATH_CALL)
    ls_local_socket_flush (f->socket);
  else
    loop_or_wait (f, path, ls_local_socket_wait_for_bytes_written);
}

static void trigger_close (Fixture *f, Path path) { ls_local_socket_close (f->socket); }
static void trigger_abort (Fixture *f, Path path) { ls_local_socket_abort (f->socket); }

static void
trigger_new_client (Fixture *f, Path path)
{
  f->raw = ls_test_raw_connect (f->name);
  g_assert_cmpint (f->raw, >=, 0);
  if (path == PATH_LOOP)
    g_assert_true (run_until (f, hooked_fired));
  else
    {
      g_autoptr(GError) error = NULL;
      gboolean timed_out = TRUE;

      /* May fail if the handler closed the server; must not stall. */
      ls_local_server_wait_for_new_connection (f->server, SAFETY_MS, &timed_out, &error);
      g_assert_false (timed_out);
    }
}

#define CALL      ON (PATH_CALL)
#define LOOP_WAIT (ON (PATH_LOOP) | ON (PATH_WAIT))

static const Scenario scenarios[] = {
  { .name = "connected", .target = TARGET_CLIENT, .signal = SOCK_CONNECTED, .paths = CALL,
    .trigger = trigger_connect },
  { .name = "state-changed/connect/connecting", .target = TARGET_CLIENT, .signal = SOCK_STATE_CHANGED, .paths = CALL,
    .trigger = trigger_connect, .on_state = ON (LS_LOCAL_SOCKET_STATE_CONNECTING), .connecting = TRUE },
  { .name = "state-changed/connect/connected", .target = TARGET_CLIENT, .signal = SOCK_STATE_CHANGED, .paths = CALL,
    .trigger = trigger_connect, .on_state = ON (LS_LOCAL_SOCKET_STATE_CONNECTED) },
  { .name = "state-changed/connect-failed/connecting", .target = TARGET_CLIENT, .signal = SOCK_STATE_CHANGED, .paths = CALL,
    .trigger = trigger_connect, .connect_fails = TRUE, .on_state = ON (LS_LOCAL_SOCKET_STATE_CONNECTING),
    .connecting = TRUE },
  { .name = "state-changed/connect-failed/unconnected", .target = TARGET_CLIENT, .signal = SOCK_STATE_CHANGED, .paths = CALL,
    .trigger = trigger_connect, .connect_fails = TRUE, .on_state = ON (LS_LOCAL_SOCKET_STATE_UNCONNECTED) },
  { .name = "state-changed/peer-closed/closing", .target = TARGET_ACCEPTED, .signal = SOCK_STATE_CHANGED, .paths = LOOP_WAIT,
    .trigger = trigger_peer_close, .on_state = ON (LS_LOCAL_SOCKET_STATE_CLOSING) },
  { .name = "state-changed/peer-closed/unconnected", .target = TARGET_ACCEPTED, .signal = SOCK_STATE_CHANGED, .paths = LOOP_WAIT,
    .trigger = trigger_peer_close, .on_state = ON (LS_LOCAL_SOCKET_STATE_UNCONNECTED) },
  { .name = "state-changed/abort/unconnected", .target = TARGET_ACCEPTED, .signal = SOCK_STATE_CHANGED, .paths = CALL,
    .trigger = trigger_abort, .on_state = ON (LS_LOCAL_SOCKET_STATE_UNCONNECTED) },
  { .name = "error-occurred/connect-failed", .target = TARGET_CLIENT, .signal = SOCK_ERROR_OCCURRED, .paths = CALL,
    .trigger = trigger_connect, .connect_fails = TRUE, .one_error = TRUE },
  { .name = "error-occurred/peer-closed", .target = TARGET_ACCEPTED, .signal = SOCK_ERROR_OCCURRED, .paths = LOOP_WAIT,
    .trigger = trigger_peer_close },
  { .name = "ready-read", .target = TARGET_ACCEPTED, .signal = SOCK_READY_READ, .paths = LOOP_WAIT,
    .trigger = trigger_data },
  { .name = "bytes-written", .target = TARGET_ACCEPTED, .signal = SOCK_BYTES_WRITTEN, .paths = CALL | LOOP_WAIT,
    .trigger = trigger_write },
  { .name = "about-to-close/close", .target = TARGET_ACCEPTED, .signal = SOCK_ABOUT_TO_CLOSE, .paths = CALL,
    .trigger = trigger_close },
  { .name = "about-to-close/abort", .target = TARGET_ACCEPTED, .signal = SOCK_ABOUT_TO_CLOSE, .paths = CALL,
    .trigger = trigger_abort },
  { .name = "read-channel-finished/peer-closed", .target = TARGET_ACCEPTED, .signal = SOCK_READ_CHANNEL_FINISHED, .paths = LOOP_WAIT,
    .trigger = trigger_peer_close },
  { .name = "read-channel-finished/abort", .target = TARGET_ACCEPTED, .signal = SOCK_READ_CHANNEL_FINISHED, .paths = CALL,
    .trigger = trigger_abort },
  { .name = "disconnected/peer-closed", .target = TARGET_ACCEPTED, .signal = SOCK_DISCONNECTED, .paths = LOOP_WAIT,
    .trigger = trigger_peer_close },
  { .name = "disconnected/abort", .target = TARGET_ACCEPTED, .signal = SOCK_DISCONNECTED, .paths = CALL,
    .trigger = trigger_abort },
  { .name = "new-connection", .target = TARGET_SERVER, .signal = SRV_NEW_CONNECTION, .paths = LOOP_WAIT,
    .trigger = trigger_new_client },
  { .name = "authorize-peer", .target = TARGET_SERVER, .signal = SRV_AUTHORIZE_PEER, .paths = LOOP_WAIT,
    .trigger = trigger_new_client },
};

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */
/* ------------------------------------------------------------------------ */

static LsLocalSocket *
accept_next (LsLocalServer *server)
{
  g_autoptr(GError) error = NULL;

  if (!ls_local_server_has_pending_connections (server))
    {
      g_assert_true (ls_local_server_wait_for_new_connection (server, SAFETY_MS, NULL, &error));
      g_assert_no_error (error);
    }
  return ls_local_server_next_pending_connection (server);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const Cell *cell = data;
  g_autoptr(GError) error = NULL;

  f->cell = cell;
  f->log = g_string_new (NULL);
  f->raw = f->raw2 = -1;
  f->dir = ls_test_make_tmpdir ();
  f->name = g_build_filename (f->dir, "s", NULL);
  f->missing = g_build_filename (f->dir, "missing", NULL);
  f->connect_name = cell->scenario->connect_fails ? f->missing : f->name;
  f->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (f->server, f->name, &error));
  g_assert_no_error (error);

  switch (cell->scenario->target)
    {
    case TARGET_SERVER:
      f->target = f->server;
      f->handler_ids[SRV_NEW_CONNECTION] =
        hook_signal (f, f->server, server_signals[SRV_NEW_CONNECTION], SRV_NEW_CONNECTION);
      /* Only when asked: a handler changes what accepting does. */
      if (cell->scenario->signal == SRV_AUTHORIZE_PEER)
        f->handler_ids[SRV_AUTHORIZE_PEER] =
          hook_signal (f, f->server, server_signals[SRV_AUTHORIZE_PEER], SRV_AUTHORIZE_PEER);
      break;
    case TARGET_ACCEPTED:
      f->raw = ls_test_raw_connect (f->name);
      g_assert_cmpint (f->raw, >=, 0);
      f->socket = accept_next (f->server);
      g_assert_nonnull (f->socket);
      G_GNUC_FALLTHROUGH;
    case TARGET_CLIENT:
      if (f->socket == NULL)
        f->socket = ls_local_socket_new ();
      f->target = f->socket;
      for (guint i = 0; i < N_SOCKET_SIGNALS; i++)
        f->handler_ids[i] = hook_signal (f, f->socket, socket_signals[i], i);
      break;
    default:
      g_assert_not_reached ();
    }
  if (f->socket != NULL)
    f->last_state = ls_local_socket_get_state (f->socket);
  g_object_add_weak_pointer (f->target, &f->target);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->target != NULL)
    {
      for (guint i = 0; i < N_SOCKET_SIGNALS; i++)
        if (f->handler_ids[i] != 0)
          g_signal_handler_disconnect (f->target, f->handler_ids[i]);
      g_object_remove_weak_pointer (f->target, &f->target);
    }
  g_clear_object (&f->socket);
  g_clear_object (&f->server);
  if (f->raw >= 0)
    close (f->raw);
  if (f->raw2 >= 0)
    close (f->raw2);
  drain ();
  if (g_test_failed ())
    g_test_message ("signals: %s", f->log->str);
  g_string_free (f->log, TRUE);
  ls_test_remove_tmpdir (f->dir);
  g_free (f->missing);
  g_free (f->name);
  g_free (f->dir);
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                   */
/* ------------------------------------------------------------------------ */

static void
assert_at_most (const char *signal, guint count, guint max)
{
  if (count > max)
    g_test_message ("%s emitted %u times, at most %u allowed", signal, count, max);
  g_assert_cmpuint (count, <=, max);
}

/* The server dropped the client's connection: it reads end-of-file. */
static void
assert_peer_eof (int fd)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  char byte;

  g_assert_cmpint (poll (&pfd, 1, SAFETY_MS), ==, 1);
  g_assert_cmpint (recv (fd, &byte, 1, MSG_DONTWAIT), <=, 0);
}

/* A handler of connect_to_server ()'s CONNECTING emission gave the attempt
 * up, as Qt does: it failed with SERVER_NOT_FOUND, the names cleared. A
 * wait reported the attempt it ended first (error-occurred (UNKNOWN)). */
static void
check_connect_given_up (Fixture *f,
                        gboolean waited)
{
  g_assert_cmpint (ls_local_socket_get_state (f->socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (f->last_state, ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (f->socket), ==, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_cmpuint (f->count[SOCK_ERROR_OCCURRED], ==, waited ? 2 : 1);
  g_assert_cmpuint (f->count[SOCK_CONNECTED], ==, 0);
  g_assert_cmpint (ls_local_socket_get_socket_descriptor (f->socket), ==, -1);
  g_assert_cmpstr (ls_local_socket_get_server_name (f->socket), ==, "");
  g_assert_false (ls_local_socket_is_valid (f->socket));
}

static void
check_socket (Fixture *f)
{
  Effect effect = f->cell->action->effect;
  guint lives = effect == EFFECT_RECONNECT ? 2 : 1;
  gboolean waited = f->cell->action->run == act_wait_ready_read;
  LsLocalSocketState state;
  int fd;

  for (guint i = 0; i < N_SOCKET_SIGNALS; i++)
    if (socket_signal_max[i] > 0 && !(i == SOCK_ERROR_OCCURRED && f->cell->scenario->connecting && waited))
      assert_at_most (socket_signals[i], f->count[i], socket_signal_max[i] * lives);
  if (f->cell->scenario->one_error && effect != EFFECT_RECONNECT)
    g_assert_cmpuint (f->count[SOCK_ERROR_OCCURRED], ==, 1);

  if (effect == EFFECT_UNREF)
    {
      g_assert_null (f->socket);
      g_assert_true (run_until (f, target_gone));
      return;
    }

  g_assert_nonnull (f->target);
  if (f->cell->scenario->connecting && (effect == EFFECT_CLOSE || waited))
    {
      check_connect_given_up (f, waited);
      return;
    }
  if (f->cell->scenario->connecting && effect == EFFECT_DISCONNECT)
    {
      /* The attempt completed or failed on its own. */
      g_assert_cmpint (ls_local_socket_get_state (f->socket), ==,
                       f->cell->scenario->connect_fails ? LS_LOCAL_SOCKET_STATE_UNCONNECTED
                                                        : LS_LOCAL_SOCKET_STATE_CONNECTED);
      g_assert_cmpuint (f->count[SOCK_CONNECTED], ==, f->cell->scenario->connect_fails ? 0 : 1);
      return;
    }
  if (effect == EFFECT_CLOSE || effect == EFFECT_DISCONNECT)
    {
      g_assert_true (run_until (f, socket_unconnected));
      g_assert_cmpint (ls_local_socket_get_socket_descriptor (f->socket), ==, -1);
    }
  if (effect == EFFECT_CLOSE)
    g_assert_cmpint (ls_local_socket_get_bytes_available (f->socket), ==, 0);

  /* Whatever the handler did, what the signals told is what is. */
  state = ls_local_socket_get_state (f->socket);
  g_assert_cmpint (state, ==, f->last_state);
  fd = ls_local_socket_get_socket_descriptor (f->socket);
  if (state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    g_assert_cmpint (fd, ==, -1);
  else
    {
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpstr (ls_local_socket_get_full_server_name (f->socket), !=, "");
    }

  /* A connection the handler made must work: its server peer's data
   * arrives. (An accepted socket that stayed on its first connection only
   * got an operation error.) */
  if (effect == EFFECT_RECONNECT && state == LS_LOCAL_SOCKET_STATE_CONNECTED && !g_test_failed () &&
      (f->cell->scenario->target == TARGET_CLIENT || f->count[SOCK_CONNECTED] > 0))
    {
      g_autoptr(LsLocalSocket) peer = accept_next (f->server);

      /* The newest connection is this socket's. */
      while (ls_local_server_has_pending_connections (f->server))
        {
          g_object_unref (peer);
          peer = ls_local_server_next_pending_connection (f->server);
        }
      g_assert_nonnull (peer);
      if (peer != NULL)
        ls_test_send_and_expect (peer, f->socket, "hello");
    }
  /* Valid while connected; invalid after close() or abort(). */
  if (state != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    g_assert_true (ls_local_socket_is_valid (f->socket));
  if (effect == EFFECT_CLOSE)
    g_assert_false (ls_local_socket_is_valid (f->socket));
}

static void
check_server (Fixture *f)
{
  Effect effect = f->cell->action->effect;
  guint clients = effect == EFFECT_RELISTEN ? 2 : 1;
  g_autoptr(LsLocalSocket) accepted = NULL;

  for (guint i = 0; i < N_SERVER_SIGNALS; i++)
    assert_at_most (server_signals[i], f->count[i], clients);

  switch (effect)
    {
    case EFFECT_UNREF:
      g_assert_null (f->server);
      g_assert_true (run_until (f, target_gone));
      assert_peer_eof (f->raw);
      return;
    case EFFECT_CLOSE:
      g_assert_false (ls_local_server_is_listening (f->server));
      g_assert_false (g_file_test (f->name, G_FILE_TEST_EXISTS));
      assert_peer_eof (f->raw);
      return;
    case EFFECT_RELISTEN:
      /* The first client belonged to the closed socket; the second one is
       * accepted by the new one. */
      g_assert_true (ls_local_server_is_listening (f->server));
      g_assert_true (g_file_test (f->name, G_FILE_TEST_EXISTS));
      assert_peer_eof (f->raw);
      break;
    default:
      g_assert_true (ls_local_server_is_listening (f->server));
      break;
    }
  accepted = accept_next (f->server);
  g_assert_nonnull (accepted);
  g_assert_cmpint (ls_local_socket_get_state (accepted), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
}

static void
test_cell (Fixture *f, gconstpointer data)
{
  const Cell *cell = data;

  if (g_test_failed ())
    return;
  cell->scenario->trigger (f, cell->path);
  g_assert_cmpuint (f->count[cell->scenario->signal], >=, 1);
  g_assert_true (f->acted);
  drain ();
  if (cell->scenario->target == TARGET_SERVER)
    check_server (f);
  else
    check_socket (f);
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);

  g_test_init (&argc, &argv, NULL);
  /* --keep-going then reports every failing cell, not only the first. */
  g_test_set_nonfatal_assertions ();
  signal (SIGPIPE, SIG_IGN);

  for (guint s = 0; s < G_N_ELEMENTS (scenarios); s++)
    {
      const Scenario *scenario = &scenarios[s];
      gboolean server = scenario->target == TARGET_SERVER;
      const Action *actions = server ? server_actions : socket_actions;
      guint n_actions = server ? G_N_ELEMENTS (server_actions) : G_N_ELEMENTS (socket_actions);

      for (guint a = 0; a < n_actions; a++)
        for (Path path = 0; path < N_PATHS; path++)
          {
            g_autofree char *test_path = NULL;
            Cell *cell;

            if ((scenario->paths & ON (path)) == 0)
              continue;
            cell = g_new0 (Cell, 1);
            cell->scenario = scenario;
            cell->action = &actions[a];
            cell->path = path;
            g_ptr_array_add (cells, cell);
            test_path = g_strdup_printf ("/ls/reentrancy/%s/%s/%s/%s",
                                         server ? "server" : "socket", scenario->name,
                                         actions[a].name, path_names[path]);
            g_test_add (test_path, Fixture, cell, fixture_setup, test_cell, fixture_teardown);
          }
    }
  return g_test_run ();
}
