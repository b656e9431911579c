/* ls-gio-address.c: LsAddress <-> GUnixSocketAddress at the GIO boundary
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-gio-address-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <gio/gunixsocketaddress.h>

/* GIO keeps at most sizeof sun_path - 1 bytes of a path or abstract name
 * and silently drops the rest: a name of that length may be a cut-down
 * longer one, and binding it would create a file nobody asked for. */
#define GIO_NAME_MAX (sizeof ((struct sockaddr_un *) NULL)->sun_path - 1)

char *
ls_gio_address_describe (GSocketAddress *gaddress)
{
  if (gaddress == NULL)
    return g_strdup ("(null)");

  if (G_IS_UNIX_SOCKET_ADDRESS (gaddress))
    {
      GUnixSocketAddress *unix_address = G_UNIX_SOCKET_ADDRESS (gaddress);
      const char *path = g_unix_socket_address_get_path (unix_address);
      gsize len = g_unix_socket_address_get_path_len (unix_address);

      switch (g_unix_socket_address_get_address_type (unix_address))
        {
        case G_UNIX_SOCKET_ADDRESS_PATH:
        case G_UNIX_SOCKET_ADDRESS_ABSTRACT:
        case G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED:
          return g_strndup (path, len);
        case G_UNIX_SOCKET_ADDRESS_ANONYMOUS:
          return g_strdup ("(anonymous GUnixSocketAddress)");
        case G_UNIX_SOCKET_ADDRESS_INVALID:
        default:
          return g_strdup ("(invalid GUnixSocketAddress)");
        }
    }

  if (G_IS_SOCKET_CONNECTABLE (gaddress))
    {
      g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (gaddress));

      return g_strdup_printf ("%s %s", G_OBJECT_TYPE_NAME (gaddress), text);
    }
  return g_strdup (G_OBJECT_TYPE_NAME (gaddress));
}

gboolean
ls_gio_address_to_ls (GSocketAddress  *gaddress,
                      const char      *operation,
                      LsAddress       *address,
                      GError         **error)
{
  g_autofree char *description = ls_gio_address_describe (gaddress);
  GUnixSocketAddress *unix_address;
  GUnixSocketAddressType type;
  const char *name;
  gsize len;

  memset (address, 0, sizeof *address);
  address->addr.sun_family = AF_UNIX;

  if (!G_IS_UNIX_SOCKET_ADDRESS (gaddress))
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s “%s”: Unsupported socket operation (not a local socket "
                   "address; use a GUnixSocketAddress)", operation, description);
      return FALSE;
    }

  unix_address = G_UNIX_SOCKET_ADDRESS (gaddress);
  type = g_unix_socket_address_get_address_type (unix_address);
  name = g_unix_socket_address_get_path (unix_address);
  len = g_unix_socket_address_get_path_len (unix_address);

  if (type != G_UNIX_SOCKET_ADDRESS_PATH && type != G_UNIX_SOCKET_ADDRESS_ABSTRACT &&
      type != G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s “%s”: Unsupported socket operation (the address has no path "
                   "or abstract name; only PATH, ABSTRACT and ABSTRACT_PADDED addresses "
                   "name a server)", operation, description);
      return FALSE;
    }
  if (len == 0)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                   "Cannot %s “”: Name error (the address's %s is empty)", operation,
                   type == G_UNIX_SOCKET_ADDRESS_PATH ? "path" : "abstract name");
      return FALSE;
    }
  /* Server names are C strings: a name with a NUL inside could be bound,
   * but never reported or reached by name. */
  if (memchr (name, '\0', len) != NULL)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_UNSUPPORTED_SOCKET_OPERATION,
                   "Cannot %s “%s”: Unsupported socket operation (the name contains a NUL "
                   "byte, which a server name cannot carry)", operation, description);
      return FALSE;
    }
  if (len >= GIO_NAME_MAX)
    {
      g_set_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND,
                   "Cannot %s “%s”: Name error (%" G_GSIZE_FORMAT " bytes: GIO cuts "
                   "local socket names at %" G_GSIZE_FORMAT " bytes, so this one may have been "
                   "truncated; at most %" G_GSIZE_FORMAT " are accepted)",
                   operation, description, len, GIO_NAME_MAX, GIO_NAME_MAX - 1);
      return FALSE;
    }

  address->full_name = g_strndup (name, len);
  if (type == G_UNIX_SOCKET_ADDRESS_PATH)
    {
      memcpy (address->addr.sun_path, name, len);
      address->addr_len = offsetof (struct sockaddr_un, sun_path) + len + 1;
    }
  else
    {
      address->abstract = TRUE;
      memcpy (address->addr.sun_path + 1, name, len);
      /* D-Bus style: the NUL padding is part of the address. */
      address->addr_len = type == G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED
                          ? sizeof (struct sockaddr_un)
                          : offsetof (struct sockaddr_un, sun_path) + 1 + len;
    }
  return TRUE;
}

GSocketAddress *
ls_gio_address_from_native (const struct sockaddr_un *addr,
                            socklen_t                 addr_len)
{
  gsize path_len;

  if (addr_len <= offsetof (struct sockaddr_un, sun_path) || addr->sun_family != AF_UNIX)
    return g_unix_socket_address_new_with_type ("", 0, G_UNIX_SOCKET_ADDRESS_ANONYMOUS);

  path_len = MIN ((gsize) addr_len - offsetof (struct sockaddr_un, sun_path),
                  sizeof addr->sun_path);
  if (addr->sun_path[0] == '\0')
    {
      const char *name = addr->sun_path + 1;
      gsize name_len = path_len - 1;

      if (path_len < sizeof addr->sun_path)
        return g_unix_socket_address_new_with_type (name, name_len,
                                                    G_UNIX_SOCKET_ADDRESS_ABSTRACT);
      /* Padded (or a name that fills sun_path): as GIO reports it, but
       * without the padding, which GIO adds back when it converts. */
      while (name_len > 0 && name[name_len - 1] == '\0')
        name_len--;
      return g_unix_socket_address_new_with_type (name, name_len,
                                                  G_UNIX_SOCKET_ADDRESS_ABSTRACT_PADDED);
    }
  return g_unix_socket_address_new_with_type (addr->sun_path, strnlen (addr->sun_path, path_len),
                                              G_UNIX_SOCKET_ADDRESS_PATH);
}

GSocketAddress *
ls_gio_address_of_fd (int      fd,
                      gboolean peer)
{
  struct sockaddr_un addr;
  socklen_t addr_len = sizeof addr;
  int result;

  if (fd < 0)
    return NULL;
  memset (&addr, 0, sizeof addr);
  result = peer ? getpeername (fd, (struct sockaddr *) &addr, &addr_len)
                : getsockname (fd, (struct sockaddr *) &addr, &addr_len);
  if (result != 0)
    return NULL;
  return ls_gio_address_from_native (&addr, addr_len);
}
