/* ls-socket-file-private.h: the socket file a server creates, and only that
 * one (bind with a mode, without replacing anything; removal)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-socket-file-private.h is private to Ls."
#endif

#include <sys/types.h>

#include <gio/gio.h>

#include "ls-enums.h"

G_BEGIN_DECLS

/* A socket file at a path: its directory, opened once, and what we bound
 * there, so that only that file is ever removed, through that directory,
 * whatever happened to the names meanwhile. */
typedef struct
{
  int       dir_fd;     /* the directory of the path, or -1 */
  char     *basename;   /* the file's name in it */
  gboolean  owned;      /* we bound the file with this device and inode */
  pid_t     pid;        /* the process that bound it, not a fork child */
  dev_t     dev;
  ino_t     ino;
} LsSocketFile;

#define LS_SOCKET_FILE_INIT { .dir_fd = -1 }

/* The file mode the access options ask for; 0 when they ask for none
 * (the socket then gets the umask's mode, as with a plain bind()). */
mode_t   ls_socket_file_mode_for_options (LsSocketOptions   options);

/* Opens the directory of @full_name for @file (released). FALSE with
 * @error set ("Cannot listen on …") if it cannot be opened. */
gboolean ls_socket_file_open             (LsSocketFile     *file,
                                          const char       *full_name,
                                          GError          **error);

/* Binds @fd to the file of @file (opened for @full_name) and sets it
 * listening with @backlog before the name appears, with @mode applied
 * first when it is not 0 (0: the umask's mode, as a plain bind() gives).
 * Never replaces an existing file (ADDRESS_IN_USE); a @full_name too long
 * for a socket address fails with SERVER_NOT_FOUND. On success @file owns
 * the file. */
gboolean ls_socket_file_bind_listening   (LsSocketFile     *file,
                                          int               fd,
                                          const char       *full_name,
                                          mode_t            mode,
                                          int               backlog,
                                          GError          **error);

/* ADDRESS_IN_USE for @full_name (@basename in @dir_fd), saying what is
 * there and, for a socket, how a stale one is replaced. */
GError  *ls_socket_file_address_in_use   (int               dir_fd,
                                          const char       *basename,
                                          const char       *full_name);

/* Removes the file if it is still the one @file bound, in this process;
 * closes the directory. @file is released (as LS_SOCKET_FILE_INIT) after. */
void     ls_socket_file_release          (LsSocketFile     *file);

/* Removes the socket at @full_name, refusing (ADDRESS_IN_USE, naming its
 * type) anything that is not a socket. Nothing there is a success. */
gboolean ls_socket_file_remove_socket    (const char       *full_name,
                                          GError          **error);

G_END_DECLS
