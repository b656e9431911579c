/* test-server-names.c: LsLocalServer refusing bad names: too long, invalid, unwritable directory
 *
 * What is asserted here is the contract of /work/shared/API.md and the
 * decisions of LS-DESIGN.md: every test checks something a caller can
 * observe (files, modes, inodes, bytes on the wire, signals, error codes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-test-util.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>


/* @dir + "/" + @tag + padding, exactly @len bytes long. */
static char *
path_of_length (const char *dir,
                const char *tag,
                gsize       len)
{
  GString *s = g_string_new (dir);

  g_string_append_c (s, '/');
  g_string_append (s, tag);
  g_assert_cmpuint (s->len, <, len);
  while (s->len < len)
    g_string_append_c (s, 'x');
  return g_string_free (s, FALSE);
}

static void
test_name_too_long (LsTestFixture *f,
                    gconstpointer  test_data)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  static const gsize lengths[] = { 108, 200 };
  const char *dir = f->dir;
  g_autoptr(GPtrArray) planted = g_ptr_array_new_with_free_func (g_free);

  for (guint l = 0; l < G_N_ELEMENTS (lengths); l++)
    for (guint o = 0; o < G_N_ELEMENTS (options); o++)
      for (int relative = 0; relative <= 1; relative++)
        {
          g_autofree char *tag = g_strdup_printf ("l%u-o%u-r%d-", l, o, relative);
          g_autofree char *full = path_of_length (dir, tag, lengths[l]);
          g_autofree char *truncated = g_strndup (full, 107);
          const char *name = relative ? full + strlen (dir) + 1 : full;
          LsLocalServer *server = ls_local_server_new ();
          GError *error = NULL;
          LsTestFileId trunc_id, full_id;

          /* What a silently truncated bind would hit, and (for the short
           * case) a file at the full path too: neither may be touched. */
          ls_test_write_file (truncated, "truncated");
          g_ptr_array_add (planted, g_path_get_basename (truncated));
          ls_test_file_id_get (truncated, &trunc_id);
          if (lengths[l] == 108)
            {
              ls_test_write_file (full, "full");
              g_ptr_array_add (planted, g_path_get_basename (full));
              ls_test_file_id_get (full, &full_id);
            }

          ls_local_server_set_socket_options (server, options[o]);
          g_assert_false (ls_local_server_listen (server, name, &error));
          ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", full);
          g_clear_error (&error);
          g_assert_false (ls_local_server_is_listening (server));
          g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");

          ls_test_assert_file_unchanged (truncated, &trunc_id);
          ls_test_assert_file_contents (truncated, "truncated");
          if (lengths[l] == 108)
            {
              ls_test_assert_file_unchanged (full, &full_id);
              ls_test_assert_file_contents (full, "full");
            }
          else
            g_assert_false (ls_test_path_exists (full));
          g_object_unref (server);
        }

  /* Nothing but what we planted: no socket, no private directory. */
  {
    g_autofree char *listing = ls_test_dir_listing (dir);
    g_autofree char *expected = ls_test_join_sorted (planted);

    g_assert_cmpstr (listing, ==, expected);
  }

  /* The longest path that fits (107 bytes) works, also with options, and
   * clients reach it. */
  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    for (int relative = 0; relative <= 1; relative++)
      {
        g_autofree char *tag = g_strdup_printf ("fit-o%u-r%d-", o, relative);
        g_autofree char *full = path_of_length (dir, tag, 107);
        const char *name = relative ? full + strlen (dir) + 1 : full;
        LsLocalServer *server = ls_local_server_new ();
        GError *error = NULL;

        ls_local_server_set_socket_options (server, options[o]);
        g_assert_true (ls_local_server_listen (server, name, &error));
        g_assert_no_error (error);
        ls_test_assert_names (server, name, full);
        g_assert_true (ls_test_path_is_socket (full));
        ls_test_assert_serves (server, full, FALSE);
        g_object_unref (server);
        g_assert_false (ls_test_path_exists (full));
      }

  /* Abstract names: 107 bytes fit, 108 do not. */
  {
    g_autofree char *prefix = ls_test_unique_name ("long");
    g_autofree char *fits = path_of_length (prefix, "a", 107);
    g_autofree char *too_long = path_of_length (prefix, "b", 108);
    LsLocalServer *server = ls_local_server_new ();
    LsLocalServer *server2 = ls_local_server_new ();
    GError *error = NULL;

    ls_local_server_set_socket_options (server, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
    g_assert_false (ls_local_server_listen (server, too_long, &error));
    ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", too_long);
    g_clear_error (&error);
    g_assert_false (ls_local_server_is_listening (server));

    ls_local_server_set_socket_options (server2, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
    g_assert_true (ls_local_server_listen (server2, fits, &error));
    g_assert_no_error (error);
    ls_test_assert_bound_abstract (server2, fits);
    ls_test_assert_serves (server2, fits, TRUE);
    g_object_unref (server);
    g_object_unref (server2);
  }

}

static void
test_name_invalid (LsTestFixture *f,
                   gconstpointer  test_data)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
  };
  const char *dir = f->dir;
  g_autofree char *missing_dir = g_build_filename (dir, "missing", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "s", NULL);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_autofree char *through_file = g_build_filename (dir, "file", "s", NULL);
  g_autofree char *listing = NULL;

  g_unsetenv ("TMPDIR");
  ls_test_write_file (file, "not a directory");

  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;

      ls_local_server_set_socket_options (server, options[o]);

      g_assert_false (ls_local_server_listen (server, NULL, &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", NULL);
      g_clear_error (&error);

      g_assert_false (ls_local_server_listen (server, "", &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", NULL);
      g_clear_error (&error);

      g_assert_false (ls_local_server_listen (server, missing, &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", missing);
      g_clear_error (&error);
      g_assert_false (ls_test_path_exists (missing_dir));

      /* Relative name in a $TMPDIR that does not exist. */
      g_setenv ("TMPDIR", missing_dir, TRUE);
      g_assert_false (ls_local_server_listen (server, "s", &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", missing);
      g_clear_error (&error);
      g_unsetenv ("TMPDIR");
      g_assert_false (ls_test_path_exists (missing_dir));

      /* A path through a regular file (ENOTDIR) is a name error (Qt). */
      g_assert_false (ls_local_server_listen (server, through_file, &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "listen", through_file);
      g_clear_error (&error);
      ls_test_assert_file_contents (file, "not a directory");

      g_assert_false (ls_local_server_is_listening (server));
      g_assert_cmpstr (ls_local_server_get_server_name (server), ==, "");
      g_assert_cmpstr (ls_local_server_get_full_server_name (server), ==, "");
      g_object_unref (server);
    }

  listing = ls_test_dir_listing (dir);
  g_assert_cmpstr (listing, ==, "file");
}

/* Runs as a user who cannot write into @dir/ro. */
static void
check_unwritable_dir (const char *dir)
{
  static const LsSocketOptions options[] = {
    LS_SOCKET_OPTION_NONE,
    LS_SOCKET_OPTION_USER_ACCESS,
    LS_SOCKET_OPTION_WORLD_ACCESS,
  };
  g_autofree char *ro = g_build_filename (dir, "ro", NULL);
  g_autofree char *path = g_build_filename (ro, "s", NULL);
  g_autofree char *listing = NULL;

  g_assert_cmpint (access (ro, W_OK), !=, 0);
  for (guint o = 0; o < G_N_ELEMENTS (options); o++)
    {
      LsLocalServer *server = ls_local_server_new ();
      GError *error = NULL;

      ls_local_server_set_socket_options (server, options[o]);
      g_assert_false (ls_local_server_listen (server, path, &error));
      ls_test_assert_server_failure (server, error, LS_SOCKET_ERROR_SOCKET_ACCESS, "listen", path);
      g_clear_error (&error);
      g_assert_false (ls_local_server_is_listening (server));
      g_object_unref (server);
    }
  listing = ls_test_dir_listing (ro);
  g_assert_cmpstr (listing, ==, "");
}

static void
test_name_unwritable_dir (LsTestFixture *f,
                          gconstpointer  test_data)
{
  g_autofree char *dir = NULL;
  g_autofree char *ro = NULL;

  if (g_test_subprocess ())
    {
      const char *child_dir = g_getenv ("LS_TEST_DIR");
      struct passwd *nobody = getpwnam ("nobody");

      g_assert_nonnull (child_dir);
      g_assert_nonnull (nobody);
      g_assert_cmpint (setgroups (0, NULL), ==, 0);
      g_assert_cmpint (setgid (nobody->pw_gid), ==, 0);
      g_assert_cmpint (setuid (nobody->pw_uid), ==, 0);
      g_assert_cmpint (getuid (), ==, nobody->pw_uid);
      check_unwritable_dir (child_dir);
      return;
    }

  dir = ls_test_make_tmpdir ();
  ro = g_build_filename (dir, "ro", NULL);
  /* Searchable by everyone, writable by nobody but its owner. */
  g_assert_cmpint (chmod (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (ro, 0755), ==, 0);
  g_assert_cmpint (chmod (ro, 0555), ==, 0);

  if (getuid () == 0)
    {
      /* root writes anywhere: check as "nobody" in a child process. */
      g_setenv ("LS_TEST_DIR", dir, TRUE);
      g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_unsetenv ("LS_TEST_DIR");
      g_test_trap_assert_passed ();
    }
  else
    check_unwritable_dir (dir);

  g_assert_cmpint (chmod (ro, 0755), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ls/server/name/too-long", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_name_too_long, ls_test_fixture_teardown);
  g_test_add ("/ls/server/name/invalid", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_name_invalid, ls_test_fixture_teardown);
  g_test_add ("/ls/server/name/unwritable-dir", LsTestFixture, NULL,
              ls_test_fixture_setup_dir, test_name_unwritable_dir, ls_test_fixture_teardown);

  return g_test_run ();
}
