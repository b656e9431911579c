/* test-notify.c: the state property and name notifications (Ls 1.2)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <unistd.h>

typedef struct
{
  char          *dir;
  char          *path;
  LsLocalServer *server;
  LsLocalSocket *socket;
  GString       *log;
} Fixture;

static void
on_notify (GObject *object, GParamSpec *pspec, Fixture *f)
{
  if (g_str_equal (pspec->name, "state"))
    g_string_append_printf (f->log, "notify::state(%d) ",
                            ls_local_socket_get_state (LS_LOCAL_SOCKET (object)));
  else
    g_string_append_printf (f->log, "notify::%s(%s) ", pspec->name,
                            g_str_equal (pspec->name, "server-name")
                            ? ls_local_socket_get_server_name (LS_LOCAL_SOCKET (object))
                            : ls_local_socket_get_full_server_name (LS_LOCAL_SOCKET (object)));
}

static void
on_state_changed (LsLocalSocket *socket, LsLocalSocketState state, Fixture *f)
{
  g_string_append_printf (f->log, "state-changed(%d) ", state);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = ls_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "n", NULL);
  f->server = ls_local_server_new ();
  g_assert_true (ls_local_server_listen (f->server, f->path, NULL));
  f->socket = ls_local_socket_new ();
  f->log = g_string_new (NULL);
  g_signal_connect (f->socket, "notify", G_CALLBACK (on_notify), f);
  g_signal_connect (f->socket, "state-changed", G_CALLBACK (on_state_changed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->socket);
  g_clear_object (&f->server);
  g_string_free (f->log, TRUE);
  ls_test_remove_tmpdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* notify::state comes just before each state-changed, with the same state;
 * the names notify when they change. */
static void
test_connect_and_disconnect (Fixture *f, gconstpointer data)
{
  g_autofree char *want = NULL;
  LsLocalSocketState state;

  ls_local_socket_connect_to_server (f->socket, f->path);
  want = g_strdup_printf ("notify::server-name(%s) notify::state(2) state-changed(2) "
                          "notify::full-server-name(%s) notify::state(3) state-changed(3) ",
                          f->path, f->path);
  g_assert_cmpstr (f->log->str, ==, want);
  g_object_get (f->socket, "state", &state, NULL);
  g_assert_cmpint (state, ==, LS_LOCAL_SOCKET_STATE_CONNECTED);

  g_string_truncate (f->log, 0);
  ls_local_socket_disconnect_from_server (f->socket);
  g_assert_cmpstr (f->log->str, ==,
                   "notify::state(6) state-changed(6) notify::server-name() "
                   "notify::full-server-name() notify::state(0) state-changed(0) ");
}

/* A failed connect: the names go, each notified once. */
static void
test_failed_connect (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_autofree char *want = NULL;

  ls_local_socket_connect_to_server (f->socket, missing);
  want = g_strdup_printf ("notify::server-name(%s) notify::state(2) state-changed(2) "
                          "notify::server-name() notify::state(0) state-changed(0) ", missing);
  g_assert_cmpstr (f->log->str, ==, want);
}

/* Nothing is notified that did not change. */
static void
test_no_spurious_notify (Fixture *f, gconstpointer data)
{
  ls_local_socket_set_server_name (f->socket, "same");
  g_string_truncate (f->log, 0);
  ls_local_socket_set_server_name (f->socket, "same");
  ls_local_socket_disconnect_from_server (f->socket);
  g_assert_cmpstr (f->log->str, ==, "");
  /* abort () and close () clear the name, as in Qt 6: once. */
  ls_local_socket_abort (f->socket);
  ls_local_socket_close (f->socket);
  ls_local_socket_abort (f->socket);
  g_assert_cmpstr (f->log->str, ==, "notify::server-name() ");
}

static void
quit_on_state (GObject *object, GParamSpec *pspec, gboolean *seen)
{
  *seen = TRUE;
}

/* notify::state from the main loop too (the peer leaves). */
static void
test_peer_closes (Fixture *f, gconstpointer data)
{
  g_autoptr(LsLocalSocket) peer = NULL;
  gboolean unconnected = FALSE;

  ls_local_socket_connect_to_server (f->socket, f->path);
  g_assert_true (ls_local_server_wait_for_new_connection (f->server, 5000, NULL, NULL));
  peer = ls_local_server_next_pending_connection (f->server);
  g_string_truncate (f->log, 0);
  g_signal_connect (f->socket, "notify::state", G_CALLBACK (quit_on_state), &unconnected);
  ls_local_socket_abort (peer);
  g_assert_true (ls_test_run_until (&unconnected, 5000));
  ls_test_run_for (20);
  g_assert_cmpstr (f->log->str, ==,
                   "notify::state(6) state-changed(6) notify::server-name() "
                   "notify::full-server-name() notify::state(0) state-changed(0) ");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/ls/notify/connect-and-disconnect", Fixture, NULL, fixture_setup,
              test_connect_and_disconnect, fixture_teardown);
  g_test_add ("/ls/notify/failed-connect", Fixture, NULL, fixture_setup,
              test_failed_connect, fixture_teardown);
  g_test_add ("/ls/notify/no-spurious", Fixture, NULL, fixture_setup,
              test_no_spurious_notify, fixture_teardown);
  g_test_add ("/ls/notify/peer-closes", Fixture, NULL, fixture_setup,
              test_peer_closes, fixture_teardown);
  return g_test_run ();
}
