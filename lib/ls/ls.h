/* ls.h: the umbrella header of Ls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#define __LS_INSIDE__
# include "ls-version-macros.h"
# include "ls-enums.h"
# include "ls-enum-types.h"
# include "ls-local-socket.h"
# include "ls-local-server.h"
#undef __LS_INSIDE__
