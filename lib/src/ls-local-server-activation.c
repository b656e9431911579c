/* ls-local-server-activation.c: listening on a socket passed by the service manager
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-server.h"
#include "ls-local-server-private.h"
#include "ls-names-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* sd_listen_fds(3): passed descriptors start here. */
#define LISTEN_FDS_START 3

static GError *
not_found (const char *fd_name,
           const char *reason,
           ...) G_GNUC_PRINTF (2, 3);

static GError *
not_found (const char *fd_name,
           const char *reason,
           ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, reason);
  text = g_strdup_vprintf (reason, args);
  va_end (args);
  return g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                      "Cannot listen on the activated socket “%s”: Name error (%s)",
                      fd_name ? fd_name : "(first)", text);
}

/* Whether every announced descriptor, 3 to 3 + @n_fds - 1, is open, as
 * sd_listen_fds() requires (it fails at the first that is not): so the
 * walk ends at the first gap, however large LISTEN_FDS is. On FALSE,
 * *@closed is that descriptor. */
static gboolean
announced_fds_open (guint64  n_fds,
                    int     *closed)
{
  for (guint64 i = 0; i < n_fds; i++)
    {
      int fd = LISTEN_FDS_START + (int) i;

      if (fcntl (fd, F_GETFD) < 0)
        {
          *closed = fd;
          return FALSE;
        }
    }
  return TRUE;
}

/* Finds the descriptor the service manager passed as @fd_name (NULL: the
 * first), following sd_listen_fds_with_names(3): the names are split once,
 * and must name each descriptor. Reads the environment only: the variables
 * are left as they are (see the doc below). */
static int
find_passed_fd (const char  *fd_name,
                GError     **error)
{
  const char *pid_text = g_getenv ("LISTEN_PID");
  const char *fds_text = g_getenv ("LISTEN_FDS");
  const char *names_text = g_getenv ("LISTEN_FDNAMES");
  g_auto(GStrv) names = NULL;
  guint64 pid, n_fds, n_names = 0;
  int closed = -1;

  if (pid_text == NULL || fds_text == NULL)
    {
      *error = not_found (fd_name, "no socket was passed: LISTEN_PID and LISTEN_FDS are not set");
      return -1;
    }
  if (!g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL) ||
      (pid_t) pid != getpid ())
    {
      *error = not_found (fd_name, "the sockets were passed to process “%s”, not to this one (%d)",
                          pid_text, (int) getpid ());
      return -1;
    }
  /* sd_listen_fds() caps the count so that the last descriptor is an int. */
  if (!g_ascii_string_to_unsigned (fds_text, 10, 0, G_MAXINT - LISTEN_FDS_START, &n_fds, NULL))
    {
      *error = not_found (fd_name, "LISTEN_FDS is “%s”, not a number of descriptors", fds_text);
      return -1;
    }
  if (n_fds == 0)
    {
      *error = not_found (fd_name, "no socket was passed: LISTEN_FDS is 0");
      return -1;
    }
  if (names_text != NULL)
    {
      names = g_strsplit (names_text, ":", -1);
      n_names = g_strv_length (names);
      if (n_names != n_fds)
        {
          *error = not_found (fd_name, "LISTEN_FDNAMES has %" G_GUINT64_FORMAT " names, but "
                              "LISTEN_FDS announces %" G_GUINT64_FORMAT " descriptors",
                              n_names, n_fds);
          return -1;
        }
    }
  if (!announced_fds_open (n_fds, &closed))
    {
      *error = not_found (fd_name, "LISTEN_FDS announces %" G_GUINT64_FORMAT " descriptors from "
                          "%d, but descriptor %d is not open", n_fds, LISTEN_FDS_START, closed);
      return -1;
    }
  if (fd_name == NULL)
    return LISTEN_FDS_START;

  /* Without LISTEN_FDNAMES every descriptor is called “unknown”, as
   * sd_listen_fds_with_names() reports them. */
  for (guint64 i = 0; i < n_fds; i++)
    {
      if (strcmp (names != NULL ? names[i] : "unknown", fd_name) == 0)
        return LISTEN_FDS_START + (int) i;
    }
  *error = not_found (fd_name, "none of the %" G_GUINT64_FORMAT " passed sockets is named so "
                      "(LISTEN_FDNAMES is “%s”)", n_fds, names_text ? names_text : "");
  return -1;
}

/**
 * ls_local_server_listen_activated:
 * @self: a server
 * @fd_name: (nullable): the name of the socket (`FileDescriptorName=` in the
 *   `.socket` unit, `--fdname` of `systemd-socket-activate`), or %NULL for
 *   the first one passed
 * @error: return location for an error
 *
 * Listens on a socket passed by the service manager (systemd socket
 * activation): `LISTEN_PID` must be this process, `LISTEN_FDS` counts the
 * descriptors passed from 3 on, and `LISTEN_FDNAMES` names them
 * (colon-separated; without it every one is called `unknown`), as
 * `sd_listen_fds_with_names()` reads them: every announced descriptor must
 * be open, and `LISTEN_FDNAMES`, when set, must name each one.
 *
 * When no socket is passed (no variables, `LISTEN_PID` of another process,
 * `LISTEN_FDS=0`, no socket called @fd_name) or the variables are not
 * valid as `sd_listen_fds_with_names()` checks them, the call fails with
 * %LS_SOCKET_ERROR_SERVER_NOT_FOUND, so a program can fall back to
 * [method@Ls.LocalServer.listen]. The socket is validated as
 * [method@Ls.LocalServer.listen_socket_descriptor] validates: anything but a
 * listening local stream socket fails with
 * %LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION.
 *
 * The server listens on a duplicate of the passed descriptor and owns only
 * that; the passed one stays open (marked close-on-exec, as
 * `sd_listen_fds()` marks it), so calling this again, after
 * [method@Ls.LocalServer.close] or from another server, finds it again.
 * [property@Ls.LocalServer:full-server-name] is the socket's path (its
 * abstract name for an abstract socket), and the server never removes the
 * socket file, which belongs to the service manager, neither on close nor
 * on dispose.
 *
 * The environment is left untouched: unsetting the variables (what
 * `sd_listen_fds (1)` does) would call `unsetenv()`, which is not safe in a
 * multi-threaded program such as any GLib one. Processes the program
 * starts are not confused by them, since `LISTEN_PID` names this process
 * only; unset them yourself before threads start if you prefer.
 *
 * ```c
 * if (!ls_local_server_listen_activated (server, "control", &error) &&
 *     g_error_matches (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND))
 *   {
 *     g_clear_error (&error);
 *     ls_local_server_listen (server, "myapp-control", &error);  // started by hand
 *   }
 * ```
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.2
 */
gboolean
ls_local_server_listen_activated (LsLocalServer  *self,
                                  const char     *fd_name,
                                  GError        **error)
{
  GError *local_error = NULL;
  int fd, copy;

  g_return_val_if_fail (LS_IS_LOCAL_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (ls_local_server_is_listening (self))
    {
      local_error = g_error_new (LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION,
                                 "Cannot listen on the activated socket “%s”: the server is "
                                 "already listening on “%s”", fd_name ? fd_name : "(first)",
                                 ls_local_server_get_full_server_name (self));
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }

  fd = find_passed_fd (fd_name, &local_error);
  if (fd < 0 ||
      !ls_fd_check_local_stream (fd, TRUE, "listen on the activated", &local_error))
    {
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }

  copy = fcntl (fd, F_DUPFD_CLOEXEC, LISTEN_FDS_START);
  if (copy < 0)
    {
      int saved_errno = errno;

      local_error = g_error_new (LS_SOCKET_ERROR,
                                 saved_errno == EMFILE || saved_errno == ENFILE
                                   ? LS_SOCKET_ERROR_SOCKET_RESOURCE : LS_SOCKET_ERROR_UNKNOWN,
                                 "Cannot listen on the activated socket “%s” (descriptor %d): %s",
                                 fd_name ? fd_name : "(first)", fd, g_strerror (saved_errno));
      ls_local_server_take_error_internal (self, error, local_error);
      return FALSE;
    }
  /* Programs this one starts must not inherit the listening socket. */
  fcntl (fd, F_SETFD, fcntl (fd, F_GETFD) | FD_CLOEXEC);

  if (!ls_local_server_listen_socket_descriptor (self, copy, error))
    {
      close (copy);
      return FALSE;
    }
  return TRUE;
}
