/* echo-ls-main.h: the process around the Ls echo servers (echo-ls,
 * echo-ls-async, echo-ls-stream), so that they differ only in how they
 * echo
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ls/ls.h>

/* Serves argv[1] (SOCKET-PATH) as every echo server of bench/ does: the
 * descriptor limit raised to its maximum, SIGPIPE ignored, the kernel's
 * largest listen backlog, READY printed once listening, SIGTERM or SIGINT
 * to stop. @start connects the server's handlers (or starts accepting)
 * once it listens. Returns the process's exit status. */
int echo_ls_main (int    argc,
                  char **argv,
                  void (*start) (LsLocalServer *server));
