/* test-server-files.c: LsLocalServer socket options, existing files and remove_server()
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>


/* ------------------------------------------------------------------------ */
/* Socket options and existing files                                        */
/* ------------------------------------------------------------------------ */

static void
test_options_modes (LsTestFixture *f,
                    gconstpointer  test_data)
{
  static const struct { LsSocketOptions options; mode_t mode; } cases[] = {
    { LS_SOCKET_OPTION_USER_ACCESS, 0700 },
    { LS_SOCKET_OPTION_GROUP_ACCESS, 0070 },
    { LS_SOCKET_OPTION_OTHER_ACCESS, 0007 },
    { LS_SOCKET_OPTION_WORLD_ACCESS, 0777 },
    { LS_SOCKET_OPTION_USER_ACCESS | LS_SOCKET_OPTION_GROUP_ACCESS, 0770 },
  };
  const char *dir = f->dir;
  g_autofree char *listing = NULL;
  LsLocalServer *servers[G_N_ELEMENTS (cases) + 2];
  mode_t old_umask = umask (022);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("s%u", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GError *error = NULL;
      struct stat st;

      servers[i] = ls_local_server_new ();
      ls_local_server_set_socket_options (servers[i], cases[i].options);
      g_assert_cmpint (ls_local_server_get_socket_options (servers[i]), ==, cases[i].options);
      g_assert_true (ls_local_server_listen (servers[i], path, &error));
      g_assert_no_error (error);
      ls_test_assert_names (servers[i], path, path);
      g_assert_cmpint (lstat (path, &st), ==, 0);
      g_assert_true (S_ISSOCK (st.st_mode));
      g_assert_cmpuint (st.st_mode & 07777, ==, cases[i].mode);
      g_assert_cmpuint (st.st_uid, ==, getuid ());
      g_assert_cmpint (ls_local_server_get_socket_options (servers[i]), ==, cases[i].options);
      if (getuid () == 0 || (cases[i].mode & 0200) != 0)
        ls_test_assert_serves (servers[i], path, FALSE);
    }

  /* No options: a plain bind, the mode follows the umask. */
  {
    g_autofree char *p1 = g_build_filename (dir, "plain022", NULL);
    g_autofree char *p2 = g_build_filename (dir, "plain077", NULL);
    struct stat st;

    servers[G_N_ELEMENTS (cases)] = ls_test_listening_server (p1);
    g_assert_cmpint (lstat (p1, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 07777, ==, 0755);
    umask (077);
    servers[G_N_ELEMENTS (cases) + 1] = ls_test_listening_server (p2);
    g_assert_cmpint (lstat (p2, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
  }
  umask (old_umask);

  /* The private directory used to set the mode is gone. */
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "plain022,plain077,s0,s1,s2,s3,s4");

  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    ls_local_server_close (servers[i]);
  g_clear_pointer (&listing, g_free);
  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "");
  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    g_object_unref (servers[i]);
}

typedef enum
{
  EXISTING_LIVE_SOCKET,
  EXISTING_STALE_SOCKET,
  EXISTING_REGULAR_FILE,
  EXISTING_DIRECTORY,
  N_EXISTING
} ExistingKind;

static void
assert_no_private_leftovers (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *entry;

  g_assert_nonnull (d);
  /* The private directories a socket is bound in have hidden names. */
  while ((entry = g_dir_read_name (d)) != NULL)
    if (entry[0] == '.')
      {
        g_autofree char *msg = g_strdup_printf ("leftover private directory %s/%s", dir, entry);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
      }
  g_dir_close (d);
}

/* How a listen on a socket file names the remedy for a stale one. */
#define REMEDY_STALE "(a socket is already there; if no server listens on it any more, the " \
  "server's reclaim-stale property (lsock --reclaim-stale) replaces it, or remove_server () " \
  "removes it)"

static void
test_address_in_use (LsTestFixture *f,
                     gconstpointer  test_data)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  const char *dir = f->dir;

  for (guint kind = 0; kind < N_EXISTING; kind++)
    for (guint o = 0; o < G_N_ELEMENTS (options); o++)
      {
        g_autofree char *name = g_strdup_printf ("k%u-o%u", kind, o);
        g_autofree char *path = g_build_filename (dir, name, NULL);
        g_autofree char *inner = g_build_filename (path, "inner", NULL);
        LsLocalServer *live = NULL;
        LsLocalServer *server = ls_local_server_new ();
        GError *error = NULL;
        LsTestFileId before;

        switch (kind)
          {
          case EXISTING_LIVE_SOCKET:
            live = ls_test_listening_server (path);
            break;
          case EXISTING_STALE_SOCKET:
            ls_test_make_stale_socket (path);
            break;
          case EXISTING_REGULAR_FILE:
            ls_test_write_file (path, "precious");
            break;
          case EXISTING_DIRECTORY:
            g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
            ls_test_write_file (inner, "inside");
            break;
          default:
            g_assert_not_reached ();
          }
        ls_test_file_id_get (path, &before);

        ls_local_server_set_socket_options (server, options[o]);
        g_assert_false (ls_local_server_listen (server, path, &error));
        ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen", path);
        /* What is there, and for a socket how a stale one is replaced. */
        ls_test_assert_contains (error->message,
                                 kind == EXISTING_REGULAR_FILE ? "(a regular file is already "
                                 "there, not a socket; it is left alone)" :
                                 kind == EXISTING_DIRECTORY ? "(a directory is already there, "
                                 "not a socket; it is left alone)" : REMEDY_STALE);
        g_clear_error (&error);
        g_assert_false (ls_local_server_is_listening (server));
        g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
        g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
        g_assert_cmpint (ls_local_server_get_socket_descriptor (server), ==, -1);

        ls_test_assert_file_unchanged (path, &before);
        if (kind == EXISTING_REGULAR_FILE)
          ls_test_assert_file_contents (path, "precious");
        if (kind == EXISTING_DIRECTORY)
          ls_test_assert_file_contents (inner, "inside");
        assert_no_private_leftovers (dir);

        /* The failed server's dispose must not remove the file either. */
        g_object_unref (server);
        ls_test_assert_file_unchanged (path, &before);

        if (live != NULL)
          {
            g_assert_true (ls_local_server_is_listening (live));
            ls_test_assert_serves (live, path, FALSE);
            g_object_unref (live);
          }
      }

}

/* ------------------------------------------------------------------------ */
/* Messages that name the cause and the remedy (issue 27 item 5)            */
/* ------------------------------------------------------------------------ */

static void
assert_listen_message (const char      *path,
                       LsSocketError    code,
                       const char      *expected)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (ls_local_server_listen (server, path, &error));
  g_assert_error (error, LS_SOCKET_ERROR, code);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpstr (ls_local_server_get_error_string (server), ==, expected);
}

static void
assert_connect_message (const char      *name,
                        LsSocketOptions  options,
                        LsSocketError    code,
                        const char      *expected)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  ls_local_socket_set_socket_options (socket, options);
  ls_local_socket_connect_to_server (socket, name);
  g_assert_cmpint (ls_local_socket_get_state (socket), ==, LS_LOCAL_SOCKET_STATE_UNCONNECTED);
  g_assert_cmpint (ls_local_socket_get_error (socket), ==, code);
  g_assert_cmpstr (ls_local_socket_get_error_string (socket), ==, expected);
}

/* The codes are Qt's; the words say what is wrong and what to do. */
static void
test_messages (LsTestFixture *f,
               gconstpointer  test_data)
{
  g_autofree char *missing_dir = g_build_filename (f->dir, "none", NULL);
  g_autofree char *in_missing = g_build_filename (missing_dir, "s", NULL);
  g_autofree char *stale = g_build_filename (f->dir, "stale", NULL);
  g_autofree char *file = g_build_filename (f->dir, "file", NULL);
  g_autofree char *absent = g_build_filename (f->dir, "absent", NULL);
  g_autofree char *abstract = g_strdup_printf ("ls-test-no-such-%d", (int) getpid ());
  g_autofree char *text = NULL;

  /* Listening. */
  text = g_strdup_printf ("Cannot listen on “%s”: Name error (the directory “%s” does not "
                          "exist; create it first)", in_missing, missing_dir);
  assert_listen_message (in_missing, LS_SOCKET_ERROR_SERVER_NOT_FOUND, text);
  g_clear_pointer (&text, g_free);
  ls_test_make_stale_socket (stale);
  text = g_strdup_printf ("Cannot listen on “%s”: Address in use %s", stale, REMEDY_STALE);
  assert_listen_message (stale, LS_SOCKET_ERROR_ADDRESS_IN_USE, text);
  g_clear_pointer (&text, g_free);

  /* Connecting. */
  text = g_strdup_printf ("Cannot connect to “%s”: Invalid name (the directory “%s” does not "
                          "exist)", in_missing, missing_dir);
  assert_connect_message (in_missing, 0, LS_SOCKET_ERROR_SERVER_NOT_FOUND, text);
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("Cannot connect to “%s”: Invalid name (nothing is at this path: no "
                          "server is listening on this name)", absent);
  assert_connect_message (absent, 0, LS_SOCKET_ERROR_SERVER_NOT_FOUND, text);
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("Cannot connect to “%s”: Connection refused (no server is listening: "
                          "the socket file is stale, left by a server that has exited; a server "
                          "with reclaim-stale replaces it)", stale);
  assert_connect_message (stale, 0, LS_SOCKET_ERROR_CONNECTION_REFUSED, text);
  g_clear_pointer (&text, g_free);
  ls_test_write_file (file, "precious");
  text = g_strdup_printf ("Cannot connect to “%s”: Connection refused (a regular file is there, "
                          "not a socket)", file);
  assert_connect_message (file, 0, LS_SOCKET_ERROR_CONNECTION_REFUSED, text);
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("Cannot connect to “%s”: Connection refused (no server is listening "
                          "on this abstract name)", abstract);
  assert_connect_message (abstract, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE,
                          LS_SOCKET_ERROR_CONNECTION_REFUSED, text);
  g_clear_pointer (&text, g_free);
}

/* Permissions, as another user: a directory they may not write to or
 * reach, a socket they may not connect to. */
static void
test_messages_permissions (LsTestFixture *f,
                           gconstpointer  test_data)
{
  g_autofree char *closed = g_build_filename (f->dir, "closed", NULL);
  g_autofree char *behind = g_build_filename (closed, "inner", NULL);
  g_autofree char *in_closed = g_build_filename (behind, "s", NULL);
  g_autofree char *in_dir = g_build_filename (f->dir, "s", NULL);
  g_autofree char *private_socket = g_build_filename (f->dir, "private", NULL);
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  pid_t pid;

  if (getuid () != 0)
    {
      g_test_skip ("needs root, for another user");
      return;
    }
  g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
  g_assert_cmpint (mkdir (closed, 0700), ==, 0);
  g_assert_cmpint (mkdir (behind, 0755), ==, 0);
  ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_USER_ACCESS);
  g_assert_true (ls_local_server_listen (server, private_socket, &error));
  g_assert_no_error (error);

  pid = ls_test_fork ();
  if (pid == 0)
    {
      g_autofree char *text = NULL;

      if (!ls_test_drop_to_nobody ())
        _exit (3);
      text = g_strdup_printf ("Cannot listen on “%s”: Permission denied (this user may not "
                              "create files in the directory “%s”)", in_dir, f->dir);
      assert_listen_message (in_dir, LS_SOCKET_ERROR_SOCKET_ACCESS, text);
      g_clear_pointer (&text, g_free);
      text = g_strdup_printf ("Cannot listen on “%s”: Permission denied (this user may not "
                              "reach the directory “%s”)", in_closed, behind);
      assert_listen_message (in_closed, LS_SOCKET_ERROR_SOCKET_ACCESS, text);
      g_clear_pointer (&text, g_free);
      text = g_strdup_printf ("Cannot connect to “%s”: Socket access error (permission denied: "
                              "this user may not connect to the socket; the server's socket "
                              "options decide who may)", private_socket);
      assert_connect_message (private_socket, 0, LS_SOCKET_ERROR_SOCKET_ACCESS, text);
      g_clear_pointer (&text, g_free);
      text = g_strdup_printf ("Cannot connect to “%s”: Socket access error (permission denied: "
                              "this user may not reach the directory “%s”)", in_closed, behind);
      assert_connect_message (in_closed, 0, LS_SOCKET_ERROR_SOCKET_ACCESS, text);
      g_clear_pointer (&text, g_free);
      _exit (0);
    }
  ls_test_assert_child_ok (pid, 30000);
  g_assert_false (ls_test_path_exists (in_dir));
  g_assert_cmpint (rmdir (behind), ==, 0);
  g_assert_cmpint (rmdir (closed), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* remove_server                                                            */
/* ------------------------------------------------------------------------ */

static void
test_remove_server (LsTestFixture *f,
                    gconstpointer  test_data)
{
  const char *dir = f->dir;
  g_autofree char *missing = g_build_filename (dir, "none", NULL);
  g_autofree char *stale = g_build_filename (dir, "stale", NULL);
  g_autofree char *rel = g_build_filename (dir, "rel", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *live = g_build_filename (dir, "live", NULL);
  g_autofree char *subdir = g_build_filename (dir, "d", NULL);
  g_autofree char *inner = g_build_filename (dir, "d", "inner", NULL);
  g_autofree char *listing = NULL;
  LsLocalServer *server;
  GError *error = NULL;

  g_assert_true (ls_local_server_remove_server (missing, &error));
  g_assert_no_error (error);
  g_assert_true (ls_local_server_remove_server ("none", &error));
  g_assert_no_error (error);

  ls_test_make_stale_socket (stale);
  g_assert_true (ls_local_server_remove_server (stale, &error));
  g_assert_no_error (error);
  g_assert_false (ls_test_path_exists (stale));

  /* Relative names resolve like listen(). */
  ls_test_make_stale_socket (rel);
  g_assert_true (ls_local_server_remove_server ("rel", &error));
  g_assert_no_error (error);
  g_assert_false (ls_test_path_exists (rel));

  /* Unlike Qt (API.md fix 12), only a socket goes: a regular file or a
   * FIFO at the path is left alone and reported. */
  ls_test_write_file (file, "x");
  g_assert_false (ls_local_server_remove_server (file, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  ls_test_assert_contains (error->message, file);
  ls_test_assert_contains (error->message, "regular file");
  g_clear_error (&error);
  ls_test_assert_file_contents (file, "x");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_false (ls_local_server_remove_server (fifo, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  ls_test_assert_contains (error->message, "FIFO");
  g_clear_error (&error);
  g_assert_true (ls_test_path_exists (fifo));

  /* Like Qt, a live server's socket goes too. */

  server = ls_test_listening_server (live);
  g_assert_true (ls_local_server_remove_server (live, &error));
  g_assert_no_error (error);
  g_assert_false (ls_test_path_exists (live));
  g_assert_true (ls_local_server_is_listening (server));
  g_object_unref (server);

  /* A directory is not removed. */
  g_assert_cmpint (g_mkdir (subdir, 0755), ==, 0);
  ls_test_write_file (inner, "keep");
  g_assert_false (ls_local_server_remove_server (subdir, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == LS_SOCKET_ERROR);
  ls_test_assert_contains (error->message, subdir);
  ls_test_assert_contains (error->message, "remov");
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server (subdir, NULL));
  ls_test_assert_file_contents (inner, "keep");

  g_assert_false (ls_local_server_remove_server (NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ls_local_server_remove_server ("", &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&error);

  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "d,fifo,file");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/options/modes", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_options_modes, ls_test_fixture_teardown);
  g_test_add ("/ls/server/options/address-in-use", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_address_in_use, ls_test_fixture_teardown);
  g_test_add ("/ls/server/messages", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_messages, ls_test_fixture_teardown);
  g_test_add ("/ls/server/messages/permissions", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_messages_permissions, ls_test_fixture_teardown);
  g_test_add ("/ls/server/remove-server", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_remove_server, ls_test_fixture_teardown);

  return g_test_run ();
}
