/* test-version.c: the version macros and the runtime version agree
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ls/ls.h>

static void
test_runtime_matches_headers (void)
{
  g_assert_cmpuint (ls_get_major_version (), ==, LS_MAJOR_VERSION);
  g_assert_cmpuint (ls_get_minor_version (), ==, LS_MINOR_VERSION);
  g_assert_cmpuint (ls_get_micro_version (), ==, LS_MICRO_VERSION);
}

static void
test_matches_project_version (void)
{
  g_autofree char *runtime = g_strdup_printf ("%u.%u.%u",
                                              ls_get_major_version (),
                                              ls_get_minor_version (),
                                              ls_get_micro_version ());

  /* The build passes `meson.project_version()`, which is also the
   * pkg-config --modversion of ls-1.0. */
  g_assert_cmpstr (runtime, ==, LS_TEST_PROJECT_VERSION);
}

static void
test_check_version (void)
{
  /* The current version and everything before it. */
  g_assert_true (LS_CHECK_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION, LS_MICRO_VERSION));
  g_assert_true (LS_CHECK_VERSION (1, 0, 0));
  g_assert_true (LS_CHECK_VERSION (1, 2, 0));
  g_assert_true (LS_CHECK_VERSION (0, 99, 99));
  g_assert_true (LS_CHECK_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION - 1, LS_MICRO_VERSION + 100));
  if (LS_MICRO_VERSION > 0)
    g_assert_true (LS_CHECK_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION, LS_MICRO_VERSION - 1));

  /* Anything newer, in each component. */
  g_assert_false (LS_CHECK_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION, LS_MICRO_VERSION + 1));
  g_assert_false (LS_CHECK_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION + 1, 0));
  g_assert_false (LS_CHECK_VERSION (LS_MAJOR_VERSION + 1, 0, 0));

  /* Usable in #if. */
#if LS_CHECK_VERSION (1, 2, 0)
  g_assert_cmpuint (LS_MINOR_VERSION, >=, 2);
#else
  g_assert_not_reached ();
#endif
#if LS_CHECK_VERSION (LS_MAJOR_VERSION + 1, 0, 0)
  g_assert_not_reached ();
#endif
}

static void
test_version_constants (void)
{
  g_assert_cmpuint (LS_VERSION_1_0, ==, G_ENCODE_VERSION (1, 0));
  g_assert_cmpuint (LS_VERSION_1_2, ==, G_ENCODE_VERSION (1, 2));
  g_assert_cmpuint (LS_VERSION_1_0, <, LS_VERSION_1_2);
  g_assert_cmpuint (LS_VERSION_1_4, ==, G_ENCODE_VERSION (1, 4));
  g_assert_cmpuint (LS_VERSION_1_2, <, LS_VERSION_1_4);

  /* Without -D, a program targets the current version. */
  g_assert_cmpuint (LS_VERSION_MIN_REQUIRED, ==,
                    G_ENCODE_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION + LS_MINOR_VERSION % 2));
  g_assert_cmpuint (LS_VERSION_MAX_ALLOWED, >=, LS_VERSION_MIN_REQUIRED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ls/version/runtime-matches-headers", test_runtime_matches_headers);
  g_test_add_func ("/ls/version/matches-project-version", test_matches_project_version);
  g_test_add_func ("/ls/version/check-version", test_check_version);
  g_test_add_func ("/ls/version/constants", test_version_constants);

  return g_test_run ();
}
