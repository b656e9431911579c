/* ls-temp-path-private.h: where a relative name lives, as Qt resolves it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib only, so that the lsock tool compiles the same file (tools/meson.build)
 * and its paths cannot drift from the library's.
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-temp-path-private.h is private to Ls."
#endif

#include <glib.h>

G_BEGIN_DECLS

/* @name (relative) joined to $TMPDIR (or /tmp when unset or empty), the
 * directory cleaned as Qt cleans it. Newly allocated. */
char *ls_temp_path_join (const char *name);

G_END_DECLS
