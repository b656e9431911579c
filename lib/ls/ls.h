/* ls.h: the umbrella header of Ls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#define __LS_INSIDE__
# include "ls-version-macros.h"
/* Generated headers: in the build tree they are not next to this file. */
# include <ls/ls-version.h>
# include "ls-enums.h"
# include <ls/ls-enum-types.h>
# include "ls-local-socket.h"
# include "ls-local-server.h"
# include "ls-single-instance.h"
#undef __LS_INSIDE__
