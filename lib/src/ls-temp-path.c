/* ls-temp-path.c: Qt's resolution of relative names under $TMPDIR
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-temp-path-private.h"

#include <string.h>

/* Qt re-reads $TMPDIR on every call; so do we, for the same name to resolve
 * to the same path in a Qt and an Ls process. */
static const char *
temp_directory (void)
{
  const char *tmpdir = g_getenv ("TMPDIR");

  return (tmpdir != NULL && tmpdir[0] != '\0') ? tmpdir : "/tmp";
}

/* Qt cleans the temporary directory path (trailing and doubled slashes). */
char *
ls_temp_path_join (const char *name)
{
  const char *tmpdir = temp_directory ();
  g_autofree char *dir = NULL;

  /* A relative $TMPDIR stays relative (to the working directory) in Qt. */
  if (g_path_is_absolute (tmpdir))
    {
      /* POSIX lets a leading “//” mean something else, so GLib keeps it;
       * Qt's QDir::cleanPath () does not, and names must match Qt's. */
      g_autofree char *canonical = g_canonicalize_filename (tmpdir, NULL);
      const char *start = canonical;

      while (start[0] == '/' && start[1] == '/')
        start++;
      dir = g_strdup (start);
    }
  else
    {
      dir = g_strdup (tmpdir);
      while (strlen (dir) > 1 && g_str_has_suffix (dir, "/"))
        dir[strlen (dir) - 1] = '\0';
    }

  if (g_str_equal (dir, "/"))
    return g_strconcat ("/", name, NULL);
  return g_strconcat (dir, "/", name, NULL);
}
