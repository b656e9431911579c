/* test-server-close.c: LsLocalServer close(), dispose and what becomes of the socket file and the queue
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>


static void
test_close_recycle (LsTestFixture *f,
                    gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *stale = g_build_filename (dir, "stale", NULL);
  const char *path = f->path;
  g_autofree char *path2 = g_build_filename (dir, "s2", NULL);
  LsLocalServer *server = ls_local_server_new ();
  GString *log = g_string_new (NULL);
  GError *error = NULL;

  ls_test_make_stale_socket (stale);
  g_assert_false (ls_local_server_listen (server, stale, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  /* A later success does not reset the recorded error (Qt). */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_local_server_get_server_error (server), ==, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  ls_test_assert_contains (ls_local_server_get_error_string (server), stale);
  ls_test_assert_serves (server, path, FALSE);

  /* close() resets everything and removes the file. */
  ls_local_server_close (server);
  ls_test_assert_server_fresh (server);
  g_assert_false (ls_test_path_exists (path));
  g_assert_true (ls_test_path_is_socket (stale));

  /* Second close: nothing happens. */
  g_signal_connect (server, "notify", G_CALLBACK (ls_test_on_notify), log);
  ls_local_server_close (server);
  g_assert_cmpstr (log->str, ==, "");
  ls_test_assert_server_fresh (server);
  g_signal_handlers_disconnect_by_data (server, log);

  /* And the object listens again, same name and another. */
  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  ls_test_assert_names (server, path, path);
  ls_test_assert_serves (server, path, FALSE);
  ls_local_server_close (server);
  g_assert_false (ls_test_path_exists (path));

  g_assert_true (ls_local_server_listen (server, path2, &error));
  g_assert_no_error (error);
  ls_test_assert_names (server, path2, path2);
  ls_test_assert_serves (server, path2, FALSE);

  g_string_free (log, TRUE);
  g_object_unref (server);
  g_assert_false (ls_test_path_exists (path2));
}

typedef struct
{
  gboolean rename_file;   /* else unlink it */
  gboolean use_dispose;   /* else close() */
} NotOursCase;

static void
test_close_not_ours (LsTestFixture *f,
                     gconstpointer  data)
{
  const NotOursCase *c = data;
  const char *dir = f->dir;
  const char *path = f->path;
  g_autofree char *moved = g_build_filename (dir, "s.old", NULL);
  LsLocalServer *a = ls_test_listening_server (path);
  LsLocalServer *b;
  LsTestFileId a_id, b_id;

  ls_test_file_id_get (path, &a_id);
  if (c->rename_file)
    g_assert_cmpint (g_rename (path, moved), ==, 0);
  else
    g_assert_cmpint (g_unlink (path), ==, 0);

  b = ls_test_listening_server (path);
  ls_test_file_id_get (path, &b_id);
  g_assert_true (b_id.ino != a_id.ino || b_id.dev != a_id.dev);

  /* A late close of A must not delete B's socket. */
  if (c->use_dispose)
    g_object_unref (a);
  else
    ls_local_server_close (a);
  ls_test_assert_file_unchanged (path, &b_id);
  g_assert_true (ls_local_server_is_listening (b));
  ls_test_assert_serves (b, path, FALSE);
  if (c->rename_file)
    g_assert_true (ls_test_path_is_socket (moved));

  if (!c->use_dispose)
    g_object_unref (a);
  ls_test_assert_file_unchanged (path, &b_id);

  /* B removes its own. */
  ls_local_server_close (b);
  g_assert_false (ls_test_path_exists (path));
  g_object_unref (b);
}

static void
test_close_pending (LsTestFixture *f,
                    gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  LsLocalSocket *handed;
  int fds[3];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (ls_test_wait_count (log, 3, 5000));
  handed = ls_local_server_next_pending_connection (server);
  g_assert_nonnull (handed);

  ls_local_server_close (server);
  g_assert_false (ls_local_server_is_listening (server));
  g_assert_false (ls_local_server_has_pending_connections (server));
  g_assert_null (ls_local_server_next_pending_connection (server));
  g_assert_false (ls_test_path_exists (path));

  /* Queued, untaken connections were closed. */
  g_assert_true (ls_test_raw_sees_eof (fds[1], 5000));
  g_assert_true (ls_test_raw_sees_eof (fds[2], 5000));

  /* The handed-out one keeps working, even once the server is gone. */
  g_assert_true (ls_test_raw_still_open (fds[0], 50));
  g_assert_cmpint (ls_local_socket_get_state (handed), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_test_assert_exchange (handed, fds[0], "after-close");
  /* The test drops the last reference itself. */
  f->server = NULL;
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);
  g_assert_cmpint (ls_local_socket_get_state (handed), ==, LS_LOCAL_SOCKET_STATE_CONNECTED);
  ls_test_assert_exchange (handed, fds[0], "after-unref");

  g_object_unref (handed);
  g_assert_true (ls_test_raw_sees_eof (fds[0], 5000));
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
}

static void
test_dispose_pending (LsTestFixture *f,
                      gconstpointer  test_data)
{
  const char *path = f->path;
  LsLocalServer *server = f->server;
  LsTestConnLog *log = ls_test_conn_log_attach (server);
  int fds[2];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = ls_test_raw_connect (path);
      g_assert_cmpint (fds[i], >=, 0);
    }
  g_assert_true (ls_test_wait_count (log, 2, 5000));

  /* The test drops the last reference itself. */
  f->server = NULL;
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);
  g_assert_false (ls_test_path_exists (path));
  g_assert_true (ls_test_raw_sees_eof (fds[0], 5000));
  g_assert_true (ls_test_raw_sees_eof (fds[1], 5000));
  ls_test_close_fds (fds, G_N_ELEMENTS (fds));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/close/recycle", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_close_recycle, ls_test_fixture_teardown);
  {
    static const NotOursCase not_ours[] = {
      { FALSE, FALSE }, { TRUE, FALSE }, { FALSE, TRUE }, { TRUE, TRUE },
    };
    const char *paths[] = { "/ls/server/close/not-ours/unlink", "/ls/server/close/not-ours/rename",
                            "/ls/server/close/not-ours/unlink-dispose", "/ls/server/close/not-ours/rename-dispose" };

    for (guint i = 0; i < G_N_ELEMENTS (not_ours); i++)
      g_test_add (paths[i], LsTestFixture, &not_ours[i],
                  ls_test_fixture_setup_dir, test_close_not_ours, ls_test_fixture_teardown);
  }
  g_test_add ("/ls/server/close/pending", LsTestFixture, NULL,
              ls_test_fixture_setup, test_close_pending, ls_test_fixture_teardown);
  g_test_add ("/ls/server/close/dispose-pending", LsTestFixture, NULL,
              ls_test_fixture_setup, test_dispose_pending, ls_test_fixture_teardown);

  return g_test_run ();
}
