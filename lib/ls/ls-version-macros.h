/* ls-version-macros.h: symbol export and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__LS_INSIDE__) && !defined(LS_COMPILATION)
# error "Only <ls/ls.h> can be included directly."
#endif

#include <glib.h>

#ifndef _LS_EXTERN
# define _LS_EXTERN __attribute__((visibility ("default"))) extern
#endif

#define LS_AVAILABLE_IN_ALL _LS_EXTERN
#define LS_AVAILABLE_IN_1_0 _LS_EXTERN
