/* ls-version.c: the version of the Ls library at run time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <ls/ls-version.h>

/* A release that bumps the minor version must also add its LS_VERSION_x_y
 * and move LS_VERSION_CUR_STABLE in ls-version-macros.h. */
G_STATIC_ASSERT (LS_VERSION_CUR_STABLE ==
                 G_ENCODE_VERSION (LS_MAJOR_VERSION, LS_MINOR_VERSION + LS_MINOR_VERSION % 2));

/**
 * ls_get_major_version:
 *
 * The major version of the Ls library in use, which can differ from
 * %LS_MAJOR_VERSION (the headers the program was compiled against).
 *
 * Returns: the major version (1 in 1.2.0)
 *
 * Since: 1.2
 */
guint
ls_get_major_version (void)
{
  return LS_MAJOR_VERSION;
}

/**
 * ls_get_minor_version:
 *
 * The minor version of the Ls library in use, which can differ from
 * %LS_MINOR_VERSION (the headers the program was compiled against).
 *
 * Returns: the minor version (2 in 1.2.0)
 *
 * Since: 1.2
 */
guint
ls_get_minor_version (void)
{
  return LS_MINOR_VERSION;
}

/**
 * ls_get_micro_version:
 *
 * The micro version of the Ls library in use, which can differ from
 * %LS_MICRO_VERSION (the headers the program was compiled against).
 *
 * Returns: the micro version (0 in 1.2.0)
 *
 * Since: 1.2
 */
guint
ls_get_micro_version (void)
{
  return LS_MICRO_VERSION;
}
