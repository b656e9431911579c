/* test-server-defaults.c: LsLocalServer defaults, properties and programmer errors
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>


/* ------------------------------------------------------------------------ */
/* Defaults and properties                                                  */
/* ------------------------------------------------------------------------ */

static void
test_defaults (void)
{
  LsLocalServer *server = ls_local_server_new ();
  GObjectClass *klass;
  gboolean listening = TRUE;
  g_autofree char *name = NULL;
  g_autofree char *full = NULL;
  int max_pending = -2, backlog = -2;
  LsSocketOptions options = 0xff;
  static const struct { const char *name; gboolean writable; } props[] = {
    { "listening", FALSE },
    { "server-name", FALSE },
    { "full-server-name", FALSE },
    { "max-pending-connections", TRUE },
    { "socket-options", TRUE },
    { "listen-backlog-size", TRUE },
  };

  g_assert_true (LS_IS_LOCAL_SERVER (server));
  g_assert_true (G_TYPE_IS_DERIVABLE (LS_TYPE_LOCAL_SERVER));
  g_assert_false (G_TYPE_IS_FINAL (LS_TYPE_LOCAL_SERVER));

  ls_test_assert_server_fresh (server);
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 30);
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), ==, 50);
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==, LS_SOCKET_OPTION_NONE);

  g_object_get (server,
                "listening", &listening,
                "server-name", &name,
                "full-server-name", &full,
                "max-pending-connections", &max_pending,
                "socket-options", &options,
                "listen-backlog-size", &backlog,
                NULL);
  g_assert_false (listening);
  g_assert_cmpstr (name, ==, "");
  g_assert_cmpstr (full, ==, "");
  g_assert_cmpint (max_pending, ==, 30);
  g_assert_cmpint (options, ==, LS_SOCKET_OPTION_NONE);
  g_assert_cmpint (backlog, ==, 50);

  klass = G_OBJECT_GET_CLASS (server);
  for (guint i = 0; i < G_N_ELEMENTS (props); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, props[i].name);

      g_assert_nonnull (pspec);
      g_assert_true ((pspec->flags & G_PARAM_READABLE) != 0);
      g_assert_cmpint ((pspec->flags & G_PARAM_WRITABLE) != 0, ==, props[i].writable);
      if (props[i].writable)
        g_assert_true ((pspec->flags & G_PARAM_EXPLICIT_NOTIFY) != 0);
    }
  g_assert_cmpint (G_PARAM_SPEC_INT (g_object_class_find_property (klass, "max-pending-connections"))->default_value, ==, 30);
  g_assert_cmpint (G_PARAM_SPEC_INT (g_object_class_find_property (klass, "listen-backlog-size"))->default_value, ==, 50);
  g_assert_true (G_IS_PARAM_SPEC_FLAGS (g_object_class_find_property (klass, "socket-options")));
  g_assert_cmpuint (G_PARAM_SPEC_FLAGS (g_object_class_find_property (klass, "socket-options"))->default_value, ==, 0);
  g_assert_cmpuint (g_signal_lookup ("new-connection", LS_TYPE_LOCAL_SERVER), !=, 0);

  /* close() on a server that never listened: silent no-op. */
  ls_local_server_close (server);
  ls_local_server_close (server);
  ls_test_assert_server_fresh (server);

  g_object_unref (server);
}

static void
test_notify (LsTestFixture *f,
             gconstpointer  test_data)
{
  const char *dir = f->dir;
  const char *path = f->path;
  g_autofree char *missing = g_build_filename (dir, "missing", "s", NULL);
  LsLocalServer *server = ls_local_server_new ();
  GString *log = g_string_new (NULL);
  GError *error = NULL;
  gboolean listening = FALSE;

  g_signal_connect (server, "notify", G_CALLBACK (ls_test_on_notify), log);

  ls_local_server_set_max_pending_connections (server, 30);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_max_pending_connections (server, 5);
  g_assert_cmpstr (log->str, ==, "max-pending-connections ");
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 5);
  ls_local_server_set_max_pending_connections (server, 5);
  g_object_set (server, "max-pending-connections", 5, NULL);
  g_assert_cmpstr (log->str, ==, "max-pending-connections ");
  g_object_set (server, "max-pending-connections", 7, NULL);
  g_assert_cmpstr (log->str, ==, "max-pending-connections max-pending-connections ");
  g_assert_cmpint (ls_local_server_get_max_pending_connections (server), ==, 7);
  g_string_truncate (log, 0);

  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_NONE);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_cmpstr (log->str, ==, "socket-options ");
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_object_set (server, "socket-options", LS_SOCKET_OPTION_USER_ACCESS, NULL);
  g_assert_cmpstr (log->str, ==, "socket-options ");
  g_object_set (server, "socket-options", LS_SOCKET_OPTION_WORLD_ACCESS, NULL);
  g_assert_cmpstr (log->str, ==, "socket-options socket-options ");
  g_assert_cmpint (ls_local_server_get_socket_options (server), ==, LS_SOCKET_OPTION_WORLD_ACCESS);
  g_string_truncate (log, 0);

  ls_local_server_set_listen_backlog_size (server, 50);
  g_assert_cmpstr (log->str, ==, "");
  ls_local_server_set_listen_backlog_size (server, 10);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size ");
  ls_local_server_set_listen_backlog_size (server, 10);
  g_object_set (server, "listen-backlog-size", 10, NULL);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size ");
  g_object_set (server, "listen-backlog-size", 20, NULL);
  g_assert_cmpstr (log->str, ==, "listen-backlog-size listen-backlog-size ");
  g_assert_cmpint (ls_local_server_get_listen_backlog_size (server), ==, 20);
  g_string_truncate (log, 0);

  /* A failed listen does not change "listening". */
  g_assert_false (ls_local_server_listen (server, missing, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (ls_test_log_count (log->str, "listening"), ==, 0);

  g_assert_true (ls_local_server_listen (server, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ls_test_log_count (log->str, "listening"), ==, 1);
  g_object_get (server, "listening", &listening, NULL);
  g_assert_true (listening);

  /* Listening twice fails and does not notify. */
  g_string_truncate (log, 0);
  g_assert_false (ls_local_server_listen (server, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);
  g_assert_cmpuint (ls_test_log_count (log->str, "listening"), ==, 0);

  ls_local_server_close (server);
  g_assert_cmpuint (ls_test_log_count (log->str, "listening"), ==, 1);
  g_object_get (server, "listening", &listening, NULL);
  g_assert_false (listening);
  g_string_truncate (log, 0);
  ls_local_server_close (server);
  g_assert_cmpuint (ls_test_log_count (log->str, "listening"), ==, 0);

  g_signal_handlers_disconnect_by_data (server, log);
  g_string_free (log, TRUE);
  g_object_unref (server);
}

/* ------------------------------------------------------------------------ */
/* Programmer errors                                                        */
/* ------------------------------------------------------------------------ */

#define EXPECT_CRITICAL() \
  g_test_expect_message ("Ls", G_LOG_LEVEL_CRITICAL, "*assertion*failed*")

static void
test_null_self (void)
{
  gboolean timed_out = FALSE;

  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen (NULL, "x", NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_listen_socket_descriptor (NULL, 0, NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_close (NULL);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_is_listening (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_has_pending_connections (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_null (ls_local_server_next_pending_connection (NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_false (ls_local_server_wait_for_new_connection (NULL, 0, &timed_out, NULL));
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_set_max_pending_connections (NULL, 3);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  g_assert_cmpint (ls_local_server_get_socket_descriptor (NULL), ==, -1);
  g_test_assert_expected_messages ();
  EXPECT_CRITICAL ();
  ls_local_server_get_server_name (NULL);
  g_test_assert_expected_messages ();
  {
    LsLocalServer *server = ls_local_server_new ();

    EXPECT_CRITICAL ();
    ls_local_server_add_pending_connection (server, NULL);
    g_test_assert_expected_messages ();
    g_assert_false (ls_local_server_has_pending_connections (server));
    g_object_unref (server);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/server/defaults", test_defaults);
  g_test_add ("/ls/server/notify", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_notify, ls_test_fixture_teardown);
  g_test_add_func ("/ls/server/null-self", test_null_self);

  return g_test_run ();
}
