/* test-names.c: unit tests of name resolution and descriptor checks
 * (lib/src/ls-names.c), as Qt resolves names
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-names-private.h"
#include "ls-test-proc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  const char      *tmpdir;     /* NULL: unset */
  const char      *name;
  LsSocketOptions  options;
  const char      *full_name;  /* NULL: fails with SERVER_NOT_FOUND */
} Case;

static const Case cases[] = {
  { "/tmp", "app", 0, "/tmp/app" },
  { NULL, "app", 0, "/tmp/app" },
  { "", "app", 0, "/tmp/app" },
  { "/run/user/1000/", "app", 0, "/run/user/1000/app" },
  { "//run//user", "app", 0, "/run/user/app" },          /* Qt's cleanPath */
  { "///run", "app", 0, "/run/app" },
  { "/", "app", 0, "/app" },
  { "/tmp", "/abs/path", 0, "/abs/path" },                /* absolute: verbatim */
  { "/tmp", "./x", 0, "/tmp/./x" },                       /* the name is not cleaned */
  { "/tmp", "abstract", LS_SOCKET_OPTION_ABSTRACT_NAMESPACE, "abstract" },
  { "/tmp", "", 0, NULL },
};

static void
test_resolve (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      LsAddress address;
      gboolean ok;

      if (c->tmpdir != NULL)
        g_setenv ("TMPDIR", c->tmpdir, TRUE);
      else
        g_unsetenv ("TMPDIR");
      ok = ls_address_resolve (&address, "connect to", c->name, c->options, &error);
      if (c->full_name == NULL)
        {
          g_assert_false (ok);
          g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
          g_assert_nonnull (strstr (error->message, "connect to"));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (address.full_name, ==, c->full_name);
      g_assert_cmpint (address.abstract, ==, (c->options & LS_SOCKET_OPTION_ABSTRACT_NAMESPACE) != 0);
      if (address.abstract)
        {
          /* Leading NUL, the name, no padding. */
          g_assert_cmpint (address.addr.sun_path[0], ==, '\0');
          g_assert_cmpmem (address.addr.sun_path + 1, strlen (c->full_name), c->full_name,
                           strlen (c->full_name));
          g_assert_cmpuint (address.addr_len, ==,
                            offsetof (struct sockaddr_un, sun_path) + 1 + strlen (c->full_name));
        }
      else
        g_assert_cmpstr (address.addr.sun_path, ==, c->full_name);
      ls_address_clear (&address);
    }
  g_unsetenv ("TMPDIR");
}

/* 107 bytes fit sun_path (with its NUL), 108 do not; nothing is touched. */
static void
test_length_limit (void)
{
  g_autofree char *fits = g_strnfill (107, 'a');
  g_autofree char *too_long = g_strnfill (108, 'a');
  g_autoptr(GError) error = NULL;
  LsAddress address;

  fits[0] = too_long[0] = '/';
  g_assert_true (ls_address_resolve (&address, "listen on", fits, 0, NULL));
  ls_address_clear (&address);
  g_assert_false (ls_address_resolve (&address, "listen on", too_long, 0, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "108 bytes"));
  g_assert_null (address.full_name);
}

static void
test_from_native (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  LsAddress address;

  strcpy (addr.sun_path, "/tmp/x");
  g_assert_true (ls_address_from_native (&address, &addr,
                                         offsetof (struct sockaddr_un, sun_path) + 7));
  g_assert_false (address.abstract);
  g_assert_cmpstr (address.full_name, ==, "/tmp/x");
  ls_address_clear (&address);

  memset (addr.sun_path, 0, sizeof addr.sun_path);
  memcpy (addr.sun_path + 1, "abs", 3);
  g_assert_true (ls_address_from_native (&address, &addr,
                                         offsetof (struct sockaddr_un, sun_path) + 4));
  g_assert_true (address.abstract);
  g_assert_cmpstr (address.full_name, ==, "abs");
  ls_address_clear (&address);

  /* Unnamed. */
  g_assert_false (ls_address_from_native (&address, &addr, offsetof (struct sockaddr_un, sun_path)));
}

static void
test_check_local_stream (void)
{
  g_autoptr(GError) error = NULL;
  int pair[2], dgram[2], listening;
  int pipe_fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dgram), ==, 0);
  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  listening = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  {
    /* Autobind: a fresh abstract name, no file. */
    struct sockaddr_un any = { .sun_family = AF_UNIX };

    g_assert_cmpint (bind (listening, (struct sockaddr *) &any, sizeof (sa_family_t)), ==, 0);
  }
  g_assert_cmpint (listen (listening, 1), ==, 0);

  g_assert_true (ls_fd_check_local_stream (pair[0], FALSE, "adopt", NULL));
  g_assert_true (ls_fd_check_local_stream (listening, TRUE, "listen on", NULL));

  g_assert_false (ls_fd_check_local_stream (pair[0], TRUE, "listen on", &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION);
  g_clear_error (&error);
  g_assert_false (ls_fd_check_local_stream (listening, FALSE, "adopt", &error));
  g_assert_nonnull (strstr (error->message, "listening"));
  g_clear_error (&error);
  g_assert_false (ls_fd_check_local_stream (dgram[0], FALSE, "adopt", &error));
  g_assert_nonnull (strstr (error->message, "SOCK_STREAM"));
  g_clear_error (&error);
  g_assert_false (ls_fd_check_local_stream (pipe_fds[0], FALSE, "adopt", &error));
  g_assert_nonnull (strstr (error->message, "not a socket"));
  g_clear_error (&error);
  g_assert_false (ls_fd_check_local_stream (-1, FALSE, "adopt", &error));
  g_clear_error (&error);

  close (pair[0]); close (pair[1]); close (dgram[0]); close (dgram[1]);
  close (pipe_fds[0]); close (pipe_fds[1]); close (listening);
}

/* One errno table, with Qt's two mappings and words. */
static void
test_errno_table (void)
{
  static const struct
  {
    int            errno_value;
    LsErrnoSide    side;
    LsSocketError  code;
    const char    *category;
  } rows[] = {
    { ENOENT, LS_ERRNO_LISTENING, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "Name error" },
    { ENOENT, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_SERVER_NOT_FOUND, "Invalid name" },
    { EADDRINUSE, LS_ERRNO_LISTENING, LS_SOCKET_ERROR_ADDRESS_IN_USE, "Address in use" },
    { ECONNREFUSED, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_CONNECTION_REFUSED, "Connection refused" },
    { ECONNREFUSED, LS_ERRNO_LISTENING, LS_SOCKET_ERROR_UNKNOWN, "Unknown error" },
    { EACCES, LS_ERRNO_LISTENING, LS_SOCKET_ERROR_SOCKET_ACCESS, "Permission denied" },
    { EACCES, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_SOCKET_ACCESS, "Socket access error" },
    { EMFILE, LS_ERRNO_LISTENING, LS_SOCKET_ERROR_SOCKET_RESOURCE, "Out of resources" },
    { ENOMEM, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_SOCKET_RESOURCE, "Socket resource error" },
    { ETIMEDOUT, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_SOCKET_TIMEOUT, "Socket operation timed out" },
    { EIO, LS_ERRNO_CONNECTING, LS_SOCKET_ERROR_UNKNOWN, "Unknown error" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const char *category = NULL;

      g_assert_cmpint (ls_socket_error_from_errno (rows[i].errno_value, rows[i].side, &category),
                       ==, rows[i].code);
      g_assert_cmpstr (category, ==, rows[i].category);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ls/names/resolve", test_resolve);
  g_test_add_func ("/ls/names/length-limit", test_length_limit);
  g_test_add_func ("/ls/names/from-native", test_from_native);
  g_test_add_func ("/ls/names/check-local-stream", test_check_local_stream);
  g_test_add_func ("/ls/names/errno-table", test_errno_table);
  return g_test_run ();
}
