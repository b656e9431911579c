/* ls-enums.c: the Ls error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-enums.h"

/**
 * ls_socket_error_quark:
 *
 * The quark of the %LS_SOCKET_ERROR error domain.
 *
 * Returns: the error domain quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (ls-socket-error-quark, ls_socket_error)
