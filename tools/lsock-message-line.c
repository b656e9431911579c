/* lsock-message-line.c: --frame qt messages as text lines (text, --hex,
 * --json), both ways
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * json-glib reads a --json line (and says where it is wrong), but hands
 * strings out as C strings, cut at the first NUL ("\u0000"). So the
 * strings lsock sends are decoded again here, from the line itself, with
 * every byte kept; by then the line is known to be valid (json-glib's
 * JSON, which also allows single-quoted strings, read without escapes).
 */
#include "lsock-private.h"

#include <string.h>

/* ---- hex ------------------------------------------------------------- */

static GBytes *
decode_hex (const char *line,
            gsize       length,
            GError    **error)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (length / 2);
  int high = -1;

  for (gsize i = 0; i < length; i++)
    {
      int v;

      if (g_ascii_isspace (line[i]))
        continue;
      v = g_ascii_xdigit_value (line[i]);
      if (v < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "invalid hex digit at column %" G_GSIZE_FORMAT, i + 1);
          return NULL;
        }
      if (high < 0)
        high = v;
      else
        {
          guint8 b = (guint8) ((high << 4) | v);
          g_byte_array_append (out, &b, 1);
          high = -1;
        }
    }
  if (high >= 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "odd number of hex digits");
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* ---- JSON strings, byte for byte ------------------------------------- */

typedef struct
{
  const char *p;
  const char *end;
} Cursor;

static void
skip_space (Cursor *c)
{
  while (c->p < c->end && g_ascii_isspace (*c->p))
    c->p++;
}

static gboolean
read_hex4 (Cursor   *c,
           gunichar *value)
{
  *value = 0;
  if (c->end - c->p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int v = g_ascii_xdigit_value (*c->p++);

      if (v < 0)
        return FALSE;
      *value = (*value << 4) | v;
    }
  return TRUE;
}

/* The escape after a backslash, as a character. */
static gboolean
read_escape (Cursor   *c,
             gunichar *ch,
             GError  **error)
{
  gunichar low;

  switch (c->p < c->end ? *c->p++ : '\0')
    {
    case '"': *ch = '"'; return TRUE;
    case '\\': *ch = '\\'; return TRUE;
    case '/': *ch = '/'; return TRUE;
    case 'b': *ch = '\b'; return TRUE;
    case 'f': *ch = '\f'; return TRUE;
    case 'n': *ch = '\n'; return TRUE;
    case 'r': *ch = '\r'; return TRUE;
    case 't': *ch = '\t'; return TRUE;
    case 'u':
      if (!read_hex4 (c, ch))
        break;
      if (*ch >= 0xdc00 && *ch <= 0xdfff)
        goto lone_surrogate;
      if (*ch < 0xd800 || *ch > 0xdbff)
        return TRUE;
      /* A high surrogate: its low half must follow. */
      if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
        goto lone_surrogate;
      c->p += 2;
      if (!read_hex4 (c, &low))
        break;
      if (low < 0xdc00 || low > 0xdfff)
        goto lone_surrogate;
      *ch = 0x10000 + ((*ch - 0xd800) << 10) + (low - 0xdc00);
      return TRUE;
    default:
      break;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "invalid escape in a JSON string");
  return FALSE;

lone_surrogate:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "\\u%04x is half of a UTF-16 surrogate pair, not a character", *ch);
  return FALSE;
}

/* Reads the string at the cursor into @out (NULL: skips it). */
static gboolean
read_string (Cursor     *c,
             GByteArray *out,
             GError    **error)
{
  char quote = c->p < c->end ? *c->p++ : '\0';

  while (c->p < c->end && *c->p != quote)
    {
      char byte = *c->p++;

      if (byte == '\\' && quote == '"')
        {
          gunichar ch;
          char utf8[6];

          if (!read_escape (c, &ch, error))
            return FALSE;
          if (out != NULL)
            g_byte_array_append (out, (const guint8 *) utf8, g_unichar_to_utf8 (ch, utf8));
        }
      else if (out != NULL)
        g_byte_array_append (out, (const guint8 *) &byte, 1);
    }
  if ((quote != '"' && quote != '\'') || c->p >= c->end)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "expected a JSON string");
      return FALSE;
    }
  c->p++;       /* the closing quote */
  return TRUE;
}

/* Skips the value at the cursor: a string, an object or array (whatever
 * it holds), or a scalar up to its delimiter. */
static gboolean
skip_value (Cursor  *c,
            GError **error)
{
  int depth = 0;

  while (c->p < c->end)
    {
      char ch = *c->p;

      if (ch == '"' || ch == '\'')
        {
          if (!read_string (c, NULL, error))
            return FALSE;
          if (depth == 0)
            return TRUE;
          continue;
        }
      if (depth == 0 && memchr (",}] \t\r\n", ch, 7) != NULL)
        return TRUE;
      c->p++;
      if (ch == '{' || ch == '[')
        depth++;
      else if ((ch == '}' || ch == ']') && --depth == 0)
        return TRUE;
    }
  return TRUE;
}

enum { MEMBER_BASE64, MEMBER_HEX, MEMBER_TEXT, N_MEMBERS };
static const char * const member_names[N_MEMBERS] = { "base64", "hex", "text" };

/* The string members lsock reads, each the last one of its name (as
 * json-glib keeps it); a member of another type is not one. */
static gboolean
read_members (Cursor      *c,
              GByteArray **members,
              GError     **error)
{
  skip_space (c);
  if (c->p >= c->end || *c->p != '{')
    goto bad;
  c->p++;
  skip_space (c);
  if (c->p < c->end && *c->p == '}')
    return TRUE;
  for (;;)
    {
      g_autoptr(GByteArray) key = g_byte_array_new ();
      int which = -1;

      skip_space (c);
      if (!read_string (c, key, error))
        return FALSE;
      for (int i = 0; i < N_MEMBERS; i++)
        if (key->len == strlen (member_names[i]) && memcmp (key->data, member_names[i], key->len) == 0)
          which = i;
      skip_space (c);
      if (c->p >= c->end || *c->p != ':')
        goto bad;
      c->p++;
      skip_space (c);
      if (which >= 0)
        g_clear_pointer (&members[which], g_byte_array_unref);
      if (which >= 0 && c->p < c->end && (*c->p == '"' || *c->p == '\''))
        {
          members[which] = g_byte_array_new ();
          if (!read_string (c, members[which], error))
            return FALSE;
        }
      else if (!skip_value (c, error))
        return FALSE;
      skip_space (c);
      if (c->p < c->end && *c->p == ',')
        c->p++;
      else if (c->p < c->end && *c->p == '}')
        return TRUE;
      else
        goto bad;
    }

bad:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "expected a JSON object");
  return FALSE;
}

static gboolean
valid_base64 (const guint8 *text,
              gsize         length)
{
  gsize n = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (g_ascii_isspace (text[i]))
        continue;
      if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/' && text[i] != '=')
        return FALSE;
      n++;
    }
  return n % 4 == 0;
}

/* A --json input line: "text", null, or an object with one of "base64",
 * "hex" or "text" (looked for in that order). */
static GBytes *
decode_json (const char *line,
             gsize       length,
             GError    **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  GByteArray *members[N_MEMBERS] = { NULL };
  Cursor cursor = { line, line + length };
  JsonNode *root;
  GBytes *message = NULL;

  if (!json_parser_load_from_data (parser, line, length, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || JSON_NODE_HOLDS_NULL (root))
    return g_bytes_new (NULL, 0);
  if (JSON_NODE_HOLDS_VALUE (root) && json_node_get_value_type (root) == G_TYPE_STRING)
    {
      g_autoptr(GByteArray) text = g_byte_array_new ();

      skip_space (&cursor);
      if (!read_string (&cursor, text, error))
        return NULL;
      return g_byte_array_free_to_bytes (g_steal_pointer (&text));
    }
  if (JSON_NODE_HOLDS_OBJECT (root) && read_members (&cursor, members, error))
    {
      if (members[MEMBER_BASE64] != NULL)
        {
          GByteArray *b64 = members[MEMBER_BASE64];

          if (valid_base64 (b64->data, b64->len))
            {
              gsize size;
              guchar *data;

              g_byte_array_append (b64, (const guint8 *) "", 1);
              data = g_base64_decode ((const char *) b64->data, &size);
              message = g_bytes_new_take (data, size);
            }
          else
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                 "\"base64\" is not valid base64");
        }
      else if (members[MEMBER_HEX] != NULL)
        message = decode_hex ((const char *) members[MEMBER_HEX]->data, members[MEMBER_HEX]->len, error);
      else if (members[MEMBER_TEXT] != NULL)
        message = g_bytes_new (members[MEMBER_TEXT]->data, members[MEMBER_TEXT]->len);
    }
  for (int i = 0; i < N_MEMBERS; i++)
    g_clear_pointer (&members[i], g_byte_array_unref);
  if (message == NULL && (error == NULL || *error == NULL))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         "expected a JSON string, null, or an object with \"text\", "
                         "\"base64\" or \"hex\"");
  return message;
}

/* ---- both ways ------------------------------------------------------- */

GBytes *
lsock_message_from_line (LsockFormat  format,
                         const char  *line,
                         gsize        length,
                         GError     **error)
{
  switch (format)
    {
    case LSOCK_FORMAT_HEX:
      return decode_hex (line, length, error);
    case LSOCK_FORMAT_JSON:
      return decode_json (line, length, error);
    case LSOCK_FORMAT_TEXT:
    default:
      return g_bytes_new (line, length);
    }
}

GBytes *
lsock_message_to_line (LsockFormat  format,
                       GBytes      *message)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (message, &size);
  GString *line;

  switch (format)
    {
    case LSOCK_FORMAT_HEX:
      line = g_string_sized_new (size * 2 + 1);
      for (gsize i = 0; i < size; i++)
        g_string_append_printf (line, "%02x", data[i]);
      break;
    case LSOCK_FORMAT_JSON:
      {
        g_autoptr(JsonBuilder) builder = json_builder_new ();
        g_autoptr(JsonGenerator) generator = json_generator_new ();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *b64 = g_base64_encode (data, size);
        g_autofree char *text = NULL;
        g_autofree char *json = NULL;

        json_builder_begin_object (builder);
        json_builder_set_member_name (builder, "size");
        json_builder_add_int_value (builder, size);
        json_builder_set_member_name (builder, "base64");
        json_builder_add_string_value (builder, b64);
        if (g_utf8_validate_len ((const char *) data, size, NULL) &&
            (size == 0 || memchr (data, '\0', size) == NULL))
          {
            text = size > 0 ? g_strndup ((const char *) data, size) : g_strdup ("");
            json_builder_set_member_name (builder, "text");
            json_builder_add_string_value (builder, text);
          }
        json_builder_end_object (builder);
        root = json_builder_get_root (builder);
        json_generator_set_root (generator, root);
        json = json_generator_to_data (generator, NULL);
        line = g_string_new (json);
      }
      break;
    case LSOCK_FORMAT_TEXT:
    default:
      line = g_string_sized_new (size + 1);
      g_string_append_len (line, (const char *) data, size);
      break;
    }
  g_string_append_c (line, '\n');
  return g_string_free_to_bytes (line);
}
