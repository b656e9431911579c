/* test-error.c: unit tests of the errno table and the message builder
 * shared by server and socket (lib/src/ls-error.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-error-private.h"

#include <errno.h>

/* The rows test-names.c does not check, on both sides. */
static void
test_errno_table (void)
{
  static const struct
  {
    int            errno_value;
    LsSocketError  listening;
    LsSocketError  connecting;
  } rows[] = {
    { EADDRINUSE, LS_SOCKET_ERROR_ADDRESS_IN_USE, LS_SOCKET_ERROR_UNKNOWN },
    { EEXIST, LS_SOCKET_ERROR_ADDRESS_IN_USE, LS_SOCKET_ERROR_UNKNOWN },
    { EPERM, LS_SOCKET_ERROR_SOCKET_ACCESS, LS_SOCKET_ERROR_SOCKET_ACCESS },
    { ENOTDIR, LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_SERVER_NOT_FOUND },
    { ENAMETOOLONG, LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_SERVER_NOT_FOUND },
    { ELOOP, LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_UNKNOWN },
    { EROFS, LS_SOCKET_ERROR_SERVER_NOT_FOUND, LS_SOCKET_ERROR_UNKNOWN },
    { ENOTSOCK, LS_SOCKET_ERROR_UNKNOWN, LS_SOCKET_ERROR_CONNECTION_REFUSED },
    { EINVAL, LS_SOCKET_ERROR_UNKNOWN, LS_SOCKET_ERROR_CONNECTION_REFUSED },
    { EPROTOTYPE, LS_SOCKET_ERROR_UNKNOWN, LS_SOCKET_ERROR_CONNECTION_REFUSED },
    { ETIMEDOUT, LS_SOCKET_ERROR_UNKNOWN, LS_SOCKET_ERROR_SOCKET_TIMEOUT },
    { EMFILE, LS_SOCKET_ERROR_SOCKET_RESOURCE, LS_SOCKET_ERROR_SOCKET_RESOURCE },
    { ENFILE, LS_SOCKET_ERROR_SOCKET_RESOURCE, LS_SOCKET_ERROR_SOCKET_RESOURCE },
    { ENOBUFS, LS_SOCKET_ERROR_SOCKET_RESOURCE, LS_SOCKET_ERROR_SOCKET_RESOURCE },
    { ENOMEM, LS_SOCKET_ERROR_SOCKET_RESOURCE, LS_SOCKET_ERROR_SOCKET_RESOURCE },
    { EIO, LS_SOCKET_ERROR_UNKNOWN, LS_SOCKET_ERROR_UNKNOWN },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const char *category = NULL;

      g_assert_cmpint (ls_socket_error_from_errno (rows[i].errno_value, LS_ERRNO_LISTENING,
                                                   &category), ==, rows[i].listening);
      g_assert_nonnull (category);
      category = NULL;
      g_assert_cmpint (ls_socket_error_from_errno (rows[i].errno_value, LS_ERRNO_CONNECTING,
                                                   &category), ==, rows[i].connecting);
      g_assert_nonnull (category);
    }
}

static void
test_is_resource (void)
{
  g_assert_true (ls_errno_is_resource (EMFILE));
  g_assert_true (ls_errno_is_resource (ENFILE));
  g_assert_true (ls_errno_is_resource (ENOBUFS));
  g_assert_true (ls_errno_is_resource (ENOMEM));
  g_assert_false (ls_errno_is_resource (EAGAIN));
  g_assert_false (ls_errno_is_resource (EACCES));
  g_assert_false (ls_errno_is_resource (0));
}

static void
test_cannot (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) plain = NULL;

  error = ls_error_new_cannot (LS_SOCKET_ERROR_ADDRESS_IN_USE, "listen on", "/tmp/app",
                               "Address in use (%s, %d)", "why", 2);
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (error->message, ==, "Cannot listen on “/tmp/app”: Address in use (why, 2)");

  /* A reason without arguments is taken as it is; an empty name still
   * gets its quotes. */
  plain = ls_error_new_cannot (LS_SOCKET_ERROR_OPERATION, "listen on", "",
                               "the server is already listening on “/tmp/app”");
  g_assert_error (plain, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_assert_cmpstr (plain->message, ==,
                   "Cannot listen on “”: the server is already listening on “/tmp/app”");
}

static void
assert_errno_message (int            errno_value,
                      LsErrnoSide    side,
                      const char    *operation,
                      LsSocketError  code,
                      const char    *expected)
{
  g_autoptr(GError) error = ls_error_new_from_errno (errno_value, side, operation, "/tmp/app");

  g_assert_error (error, LS_SOCKET_ERROR, code);
  g_assert_cmpstr (error->message, ==, expected);
}

/* The server's messages: category in Qt's QLocalServer words, then the
 * system's reason. */
static void
test_from_errno_listening (void)
{
  g_autofree char *enoent = g_strdup_printf ("Cannot remove “/tmp/app”: Name error (%s)",
                                             g_strerror (ENOENT));
  g_autofree char *emfile = g_strdup_printf ("Cannot accept a connection on “/tmp/app”: "
                                             "Out of resources (%s)", g_strerror (EMFILE));
  g_autofree char *eacces = g_strdup_printf ("Cannot listen on “/tmp/app”: "
                                             "Permission denied (%s)", g_strerror (EACCES));
  g_autofree char *eio = g_strdup_printf ("Cannot wait for a new connection on “/tmp/app”: "
                                          "Unknown error (%s)", g_strerror (EIO));

  assert_errno_message (EADDRINUSE, LS_ERRNO_LISTENING, "listen on",
                        LS_SOCKET_ERROR_ADDRESS_IN_USE,
                        "Cannot listen on “/tmp/app”: Address in use "
                        "(a file already exists at this path)");
  assert_errno_message (ENOENT, LS_ERRNO_LISTENING, "remove",
                        LS_SOCKET_ERROR_SERVER_NOT_FOUND, enoent);
  assert_errno_message (EMFILE, LS_ERRNO_LISTENING, "accept a connection on",
                        LS_SOCKET_ERROR_SOCKET_RESOURCE, emfile);
  assert_errno_message (EACCES, LS_ERRNO_LISTENING, "listen on",
                        LS_SOCKET_ERROR_SOCKET_ACCESS, eacces);
  assert_errno_message (EIO, LS_ERRNO_LISTENING, "wait for a new connection on",
                        LS_SOCKET_ERROR_UNKNOWN, eio);
}

/* The socket's words (what connect_to_server reports), and no file
 * wording for EADDRINUSE on that side. */
static void
test_from_errno_connecting (void)
{
  g_autofree char *refused = g_strdup_printf ("Cannot connect to “/tmp/app”: "
                                              "Connection refused (%s)", g_strerror (ECONNREFUSED));
  g_autofree char *enoent = g_strdup_printf ("Cannot connect to “/tmp/app”: Invalid name (%s)",
                                             g_strerror (ENOENT));
  g_autofree char *eacces = g_strdup_printf ("Cannot connect to “/tmp/app”: "
                                             "Socket access error (%s)", g_strerror (EACCES));
  g_autofree char *inuse = g_strdup_printf ("Cannot connect to “/tmp/app”: Unknown error (%s)",
                                            g_strerror (EADDRINUSE));

  assert_errno_message (ECONNREFUSED, LS_ERRNO_CONNECTING, "connect to",
                        LS_SOCKET_ERROR_CONNECTION_REFUSED, refused);
  assert_errno_message (ENOENT, LS_ERRNO_CONNECTING, "connect to",
                        LS_SOCKET_ERROR_SERVER_NOT_FOUND, enoent);
  assert_errno_message (EACCES, LS_ERRNO_CONNECTING, "connect to",
                        LS_SOCKET_ERROR_SOCKET_ACCESS, eacces);
  assert_errno_message (EADDRINUSE, LS_ERRNO_CONNECTING, "connect to",
                        LS_SOCKET_ERROR_UNKNOWN, inuse);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ls/error/errno-table", test_errno_table);
  g_test_add_func ("/ls/error/is-resource", test_is_resource);
  g_test_add_func ("/ls/error/cannot", test_cannot);
  g_test_add_func ("/ls/error/from-errno/listening", test_from_errno_listening);
  g_test_add_func ("/ls/error/from-errno/connecting", test_from_errno_connecting);
  return g_test_run ();
}
