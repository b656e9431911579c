/* lsock-hexdump.c: -x/--hexdump, what went over a connection, on stderr
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * As socat -x, in hexdump -C's layout: a direction marker (">" sent, "<"
 * received; listen puts the peer's number before it), the offset of the
 * line's first byte in that direction of the connection, 16 bytes in hex
 * and the same bytes as ASCII ("." for anything not printable). Each
 * chunk starts a line of its own, so a line never mixes two writes.
 */
#include "lsock-private.h"

#define BYTES_PER_LINE 16

struct _LsockHexdump
{
  guint   peer;          /* 0: no number */
  guint64 offset[2];     /* LsockDirection */
};

LsockHexdump *
lsock_hexdump_new (guint peer)
{
  LsockHexdump *dump = g_new0 (LsockHexdump, 1);

  dump->peer = peer;
  return dump;
}

void
lsock_hexdump_free (LsockHexdump *dump)
{
  g_free (dump);
}

void
lsock_hexdump (LsockHexdump   *dump,
               LsockDirection  direction,
               const void     *data,
               gsize           size)
{
  const guint8 *bytes = data;
  g_autoptr(GString) out = NULL;

  if (dump == NULL || size == 0)
    return;
  out = g_string_sized_new ((size / BYTES_PER_LINE + 1) * 80);
  for (gsize line = 0; line < size; line += BYTES_PER_LINE)
    {
      gsize n = MIN (BYTES_PER_LINE, size - line);

      if (dump->peer > 0)
        g_string_append_printf (out, "%u", dump->peer);
      g_string_append_printf (out, "%c %08" G_GINT64_MODIFIER "x  ",
                              direction == LSOCK_SENT ? '>' : '<',
                              dump->offset[direction] + line);
      for (gsize i = 0; i < BYTES_PER_LINE; i++)
        {
          if (i < n)
            g_string_append_printf (out, "%02x ", bytes[line + i]);
          else
            g_string_append (out, "   ");
          if (i == BYTES_PER_LINE / 2 - 1)
            g_string_append_c (out, ' ');
        }
      g_string_append (out, " |");
      for (gsize i = 0; i < n; i++)
        {
          guint8 c = bytes[line + i];

          g_string_append_c (out, c >= 0x20 && c < 0x7f ? (char) c : '.');
        }
      g_string_append (out, "|\n");
    }
  dump->offset[direction] += size;
  fputs (out->str, stderr);
  fflush (stderr);
}
