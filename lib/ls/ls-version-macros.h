/* ls-version-macros.h: symbol export and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The idiom of GLib's gversionmacros.h and json-glib's json-version-macros.h:
 * every public symbol carries LS_AVAILABLE_IN_x_y (or LS_DEPRECATED_IN_x_y),
 * and a program picks the range of Ls versions it targets with
 * LS_VERSION_MIN_REQUIRED and LS_VERSION_MAX_ALLOWED:
 *
 *   cc -DLS_VERSION_MIN_REQUIRED=LS_VERSION_1_0 \
 *      -DLS_VERSION_MAX_ALLOWED=LS_VERSION_1_0 ...
 *
 * warns (-Wdeprecated-declarations) on any use of a symbol added after 1.0,
 * and on symbols deprecated in or before the minimum version.
 *
 * Starting the development series x.(y-1) towards x.y (y even, as GLib
 * does at its first odd release): add LS_VERSION_x_y, move
 * LS_VERSION_CUR_STABLE and LS_VERSION_PREV_STABLE, and add the
 * LS_AVAILABLE_IN_x_y / LS_DEPRECATED_IN_x_y(_FOR) block at the end. The
 * build checks that LS_VERSION_CUR_STABLE matches the project version
 * (lib/src/ls-version.c). This header does not include the generated
 * ls-version.h: that one includes this one, for its own declarations.
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <glib.h>

#ifndef _LS_EXTERN
# define _LS_EXTERN __attribute__((visibility ("default"))) extern
#endif

/**
 * LS_VERSION_1_0:
 *
 * A value for %LS_VERSION_MIN_REQUIRED and %LS_VERSION_MAX_ALLOWED: the
 * version 1.0 of Ls.
 *
 * Since: 1.2
 */
#define LS_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/**
 * LS_VERSION_1_2:
 *
 * A value for %LS_VERSION_MIN_REQUIRED and %LS_VERSION_MAX_ALLOWED: the
 * version 1.2 of Ls.
 *
 * Since: 1.2
 */
#define LS_VERSION_1_2 (G_ENCODE_VERSION (1, 2))

/**
 * LS_VERSION_1_4:
 *
 * A value for %LS_VERSION_MIN_REQUIRED and %LS_VERSION_MAX_ALLOWED: the
 * version 1.4 of Ls (the 1.3 development series builds towards it).
 *
 * Since: 1.4
 */
#define LS_VERSION_1_4 (G_ENCODE_VERSION (1, 4))

/* The newest stable API, and the one before it; see the comment above. */
#define LS_VERSION_CUR_STABLE  LS_VERSION_1_4
#define LS_VERSION_PREV_STABLE LS_VERSION_1_2

/**
 * LS_VERSION_MIN_REQUIRED:
 *
 * The oldest version of Ls a program supports; define it before including
 * `<ls/ls.h>`, for example to %LS_VERSION_1_0. Symbols deprecated in this
 * version or earlier then warn when used. Defaults to the current stable
 * version, or to %LS_VERSION_MAX_ALLOWED when that is defined and older
 * (unlike GLib, defining only the maximum is enough).
 *
 * Since: 1.2
 */
#ifndef LS_VERSION_MIN_REQUIRED
# if defined (LS_VERSION_MAX_ALLOWED) && LS_VERSION_MAX_ALLOWED < LS_VERSION_CUR_STABLE
#  define LS_VERSION_MIN_REQUIRED (LS_VERSION_MAX_ALLOWED)
# else
#  define LS_VERSION_MIN_REQUIRED (LS_VERSION_CUR_STABLE)
# endif
#endif

/**
 * LS_VERSION_MAX_ALLOWED:
 *
 * The newest version of Ls whose API a program may use; define it before
 * including `<ls/ls.h>`, for example to %LS_VERSION_1_0. Symbols added after
 * this version then warn when used. Defaults to %LS_VERSION_MIN_REQUIRED
 * when that is newer than the previous stable version, to the current stable
 * version otherwise.
 *
 * Since: 1.2
 */
#ifndef LS_VERSION_MAX_ALLOWED
# if LS_VERSION_MIN_REQUIRED > LS_VERSION_PREV_STABLE
#  define LS_VERSION_MAX_ALLOWED (LS_VERSION_MIN_REQUIRED)
# else
#  define LS_VERSION_MAX_ALLOWED (LS_VERSION_CUR_STABLE)
# endif
#endif

#if LS_VERSION_MAX_ALLOWED < LS_VERSION_MIN_REQUIRED
# error "LS_VERSION_MAX_ALLOWED must be >= LS_VERSION_MIN_REQUIRED"
#endif
#if LS_VERSION_MIN_REQUIRED < LS_VERSION_1_0
# error "LS_VERSION_MIN_REQUIRED must be >= LS_VERSION_1_0"
#endif

/* The building blocks of the LS_AVAILABLE_IN_x_y / LS_DEPRECATED_IN_x_y
 * macros, not API of their own: (skip) keeps them out of the GIR. */
/**
 * LS_DEPRECATED_FOR: (skip)
 * @f: the replacement
 */
/**
 * LS_UNAVAILABLE: (skip)
 * @maj: the major version
 * @min: the minor version
 */
#ifdef LS_DISABLE_DEPRECATION_WARNINGS
# define LS_DEPRECATED _LS_EXTERN
# define LS_DEPRECATED_FOR(f) _LS_EXTERN
# define LS_UNAVAILABLE(maj, min) _LS_EXTERN
#else
# define LS_DEPRECATED G_DEPRECATED _LS_EXTERN
# define LS_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _LS_EXTERN
# define LS_UNAVAILABLE(maj, min) G_UNAVAILABLE (maj, min) _LS_EXTERN
#endif

/* Kept for code written against 1.0's headers: same as LS_AVAILABLE_IN_1_0. */
#define LS_AVAILABLE_IN_ALL _LS_EXTERN

#define LS_AVAILABLE_IN_1_0 _LS_EXTERN

/**
 * LS_DEPRECATED_IN_1_2_FOR: (skip)
 * @f: the replacement
 */
#if LS_VERSION_MIN_REQUIRED >= LS_VERSION_1_2
# define LS_DEPRECATED_IN_1_2 LS_DEPRECATED
# define LS_DEPRECATED_IN_1_2_FOR(f) LS_DEPRECATED_FOR (f)
#else
# define LS_DEPRECATED_IN_1_2 _LS_EXTERN
# define LS_DEPRECATED_IN_1_2_FOR(f) _LS_EXTERN
#endif

#if LS_VERSION_MAX_ALLOWED < LS_VERSION_1_2
# define LS_AVAILABLE_IN_1_2 LS_UNAVAILABLE (1, 2)
#else
# define LS_AVAILABLE_IN_1_2 _LS_EXTERN
#endif

/**
 * LS_DEPRECATED_IN_1_4_FOR: (skip)
 * @f: the replacement
 */
#if LS_VERSION_MIN_REQUIRED >= LS_VERSION_1_4
# define LS_DEPRECATED_IN_1_4 LS_DEPRECATED
# define LS_DEPRECATED_IN_1_4_FOR(f) LS_DEPRECATED_FOR (f)
#else
# define LS_DEPRECATED_IN_1_4 _LS_EXTERN
# define LS_DEPRECATED_IN_1_4_FOR(f) _LS_EXTERN
#endif

#if LS_VERSION_MAX_ALLOWED < LS_VERSION_1_4
# define LS_AVAILABLE_IN_1_4 LS_UNAVAILABLE (1, 4)
#else
# define LS_AVAILABLE_IN_1_4 _LS_EXTERN
#endif
