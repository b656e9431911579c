/* lsock.c: a command-line tool for local sockets, by Qt name
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Uses only the public Ls API. The help text, the man page and the list
 * of exit statuses come from one file, lsock.txt.
 */
#include "lsock-private.h"
#include "lsock-help.h"
#include "ls-temp-path-private.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

LsockApp lsock_app = { NULL, NULL, 0, FALSE, NULL, NULL };

/* Text from a name, a peer or the system, made safe to print as part of
 * one line (documented in lsock.txt, "Output"): a backslash becomes "\\",
 * a newline, carriage return and tab "\n", "\r", "\t", and every other
 * control character (C0, DEL, C1) and every byte that is not UTF-8
 * "\xHH"; printable UTF-8 stays as it is. With @line_start, text that
 * would begin a line with "lsock " has its "l" written "\x6c": only error
 * lines start with "lsock ". */
char *
lsock_escape (const char *text,
              gboolean    line_start)
{
  GString *out;
  const char *p, *end;

  if (text == NULL)
    return NULL;
  out = g_string_sized_new (strlen (text) + 8);
  if (line_start && g_str_has_prefix (text, "lsock "))
    {
      g_string_append (out, "\\x6c");
      text++;
    }
  end = text + strlen (text);
  for (p = text; p < end;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      const char *next;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      next = g_utf8_next_char (p);
      if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
        for (const char *b = p; b < next; b++)
          g_string_append_printf (out, "\\x%02x", (guchar) *b);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* One line on stderr: "lsock COMMAND: SUBJECT: REASON", both escaped (a
 * reason may quote a name or a peer). */
void
lsock_fail (int         status,
            const char *subject,
            const char *format,
            ...)
{
  g_autofree char *reason = NULL;
  g_autofree char *shown_reason = NULL;
  g_autofree char *shown_subject = lsock_escape (subject, FALSE);
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  shown_reason = lsock_escape (reason, FALSE);
  if (subject != NULL && subject[0] != '\0')
    fprintf (stderr, "lsock %s: %s: %s\n", lsock_app.command, shown_subject, shown_reason);
  else
    fprintf (stderr, "lsock %s: %s\n", lsock_app.command, shown_reason);
  fflush (stderr);
  lsock_quit (status);
}

/* "lsock COMMAND: usage: MESSAGE (see “lsock COMMAND --help”)", escaped
 * (it may quote an argument); returns the usage status. */
int
lsock_usage_error (const char *format,
                   ...)
{
  g_autofree char *message = NULL;
  g_autofree char *shown = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  shown = lsock_escape (message, FALSE);
  if (lsock_app.command != NULL)
    fprintf (stderr, "lsock %s: usage: %s (see “lsock %s --help”)\n",
             lsock_app.command, shown, lsock_app.command);
  else
    fprintf (stderr, "lsock: usage: %s (see “lsock --help”)\n", shown);
  fflush (stderr);
  return LSOCK_EXIT_USAGE;
}

void
lsock_quit (int status)
{
  /* The first reason to stop wins. */
  if (!lsock_app.done)
    lsock_app.status = status;
  lsock_app.done = TRUE;
  if (lsock_app.loop != NULL)
    g_main_loop_quit (lsock_app.loop);
}

void
lsock_run (void)
{
  if (!lsock_app.done)
    g_main_loop_run (lsock_app.loop);
}

int
lsock_status_for_error (GError     *error,
                        const char *path)
{
  struct stat st;

  if (error == NULL || error->domain != LS_SOCKET_ERROR)
    return LSOCK_EXIT_IO;
  switch (error->code)
    {
    case LS_SOCKET_ERROR_SERVER_NOT_FOUND:
      return LSOCK_EXIT_NOT_FOUND;
    case LS_SOCKET_ERROR_CONNECTION_REFUSED:
      if (path != NULL && stat (path, &st) == 0 && !S_ISSOCK (st.st_mode))
        return LSOCK_EXIT_NOT_SOCKET;
      return LSOCK_EXIT_REFUSED;
    case LS_SOCKET_ERROR_SOCKET_ACCESS:
      return LSOCK_EXIT_ACCESS;
    case LS_SOCKET_ERROR_ADDRESS_IN_USE:
      return LSOCK_EXIT_IN_USE;
    case LS_SOCKET_ERROR_DATAGRAM_TOO_LARGE:
      return LSOCK_EXIT_PROTOCOL;
    default:
      return LSOCK_EXIT_IO;
    }
}

/* The path a Qt name resolves to, as QLocalSocket does on Linux: relative
 * names live in $TMPDIR, else /tmp, cleaned as QDir::cleanPath () cleans it.
 * The library has no public call for it; its own code (ls-temp-path.c) is
 * compiled into lsock instead. */
char *
lsock_resolve_name (const char *name,
                    gboolean    abstract)
{
  if (abstract || g_path_is_absolute (name))
    return g_strdup (name);
  return ls_temp_path_join (name);
}

/* "1048576", "64K", "16M", "1G" (powers of 1024). */
gboolean
lsock_parse_size (const char *text,
                  guint64    *size)
{
  char *end = NULL;
  guint64 value, unit = 1;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  switch (g_ascii_toupper (*end))
    {
    case '\0': break;
    case 'K': unit = G_GUINT64_CONSTANT (1) << 10; end++; break;
    case 'M': unit = G_GUINT64_CONSTANT (1) << 20; end++; break;
    case 'G': unit = G_GUINT64_CONSTANT (1) << 30; end++; break;
    default: return FALSE;
    }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != '\0' || value > G_MAXUINT64 / unit)
    return FALSE;
  *size = value * unit;
  return TRUE;
}

/* "2", "0.5": a finite number of seconds, not negative. */
gboolean
lsock_parse_seconds (const char *text,
                     double     *seconds)
{
  char *end = NULL;
  double value;

  if (text == NULL || text[0] == '\0' || g_ascii_isspace (text[0]))
    return FALSE;
  errno = 0;
  value = g_ascii_strtod (text, &end);
  if (errno != 0 || *end != '\0' || !isfinite (value) || value < 0)
    return FALSE;
  *seconds = value;
  return TRUE;
}

char *
lsock_format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static gboolean
on_signal (gpointer data)
{
  int signum = GPOINTER_TO_INT (data);

  /* The status first: aborting below ends sessions "normally". */
  lsock_quit (128 + signum);
  /* No socket file may outlive us. */
  if (lsock_app.server != NULL)
    ls_local_server_close (lsock_app.server);
  if (lsock_app.sockets != NULL)
    for (guint i = 0; i < lsock_app.sockets->len; i++)
      ls_local_socket_abort (g_ptr_array_index (lsock_app.sockets, i));
  return G_SOURCE_CONTINUE;
}

static const struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
} commands[] = {
  { "connect", lsock_cmd_connect },
  { "listen",  lsock_cmd_listen },
  { "probe",   lsock_cmd_probe },
  { "list",    lsock_cmd_list },
  { "send",    lsock_cmd_send },
  { "recv",    lsock_cmd_recv },
};

#define COMMAND_LIST "commands: connect, listen, probe, list, send, recv"

/* The whole page, or with @command that command's part of it. */
gboolean
lsock_print_help (const char *command)
{
  const char *text = command == NULL ? lsock_help_text : NULL;

  for (guint i = 0; text == NULL && i < G_N_ELEMENTS (lsock_command_help); i++)
    if (g_str_equal (command, lsock_command_help[i].command))
      text = lsock_command_help[i].text;
  if (text == NULL)
    return FALSE;
  fputs (text, stdout);
  fflush (stdout);
  return TRUE;
}

/* Optimal string alignment distance: edits, where swapping two neighbours
 * is one edit ("lsiten"), as git's and cargo's suggestions count them. */
static guint
edit_distance (const char *a,
               const char *b)
{
  gsize n = strlen (a), m = strlen (b);
  g_autofree guint *d = g_new (guint, (n + 1) * (m + 1));

#define D(i, j) d[(i) * (m + 1) + (j)]
  for (gsize i = 0; i <= n; i++)
    D (i, 0) = i;
  for (gsize j = 0; j <= m; j++)
    D (0, j) = j;
  for (gsize i = 1; i <= n; i++)
    for (gsize j = 1; j <= m; j++)
      {
        guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

        D (i, j) = MIN (MIN (D (i - 1, j) + 1, D (i, j - 1) + 1), D (i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          D (i, j) = MIN (D (i, j), D (i - 2, j - 2) + 1);
      }
  return D (n, m);
#undef D
}

/* "; did you mean “X”?" or "; did you mean “X” or “Y”?" for the
 * candidates closest to @typed, if any is close (at most a third of its
 * letters wrong, and at least one right); else "". */
char *
lsock_suggest (const char         *typed,
               const char * const *candidates)
{
  g_autoptr(GString) names = g_string_new (NULL);
  guint most = MAX (1, (guint) strlen (typed) / 3);
  guint best = G_MAXUINT;
  guint found = 0;

  for (guint i = 0; candidates[i] != NULL; i++)
    best = MIN (best, edit_distance (typed, candidates[i]));
  for (guint i = 0; best <= most && candidates[i] != NULL; i++)
    if (edit_distance (typed, candidates[i]) == best && best < strlen (candidates[i]))
      g_string_append_printf (names, "%s“%s”", found++ == 0 ? "" : " or ", candidates[i]);
  if (found == 0)
    return g_strdup ("");
  return g_strdup_printf ("; did you mean %s?", names->str);
}

/* After "lsock": an unknown command or option, with a suggestion. */
static int
unknown_command (const char *word)
{
  static const char * const options[] = { "--help", "--version", NULL };
  const char *names[G_N_ELEMENTS (commands) + 2];
  g_autofree char *hint = NULL;

  if (word[0] == '-')
    {
      hint = lsock_suggest (word, options);
      return lsock_usage_error ("unknown option “%s” before the command%s", word, hint);
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    names[i] = commands[i].name;
  names[G_N_ELEMENTS (commands)] = "help";
  names[G_N_ELEMENTS (commands) + 1] = NULL;
  hint = lsock_suggest (word, names);
  return lsock_usage_error ("unknown command “%s”%s (" COMMAND_LIST ")", word, hint);
}

int
main (int   argc,
      char *argv[])
{
  int status = LSOCK_EXIT_USAGE;

  setlocale (LC_ALL, "");
  /* A peer or a reader that goes away must give an error we report, not
   * kill us with unlinked socket files left behind. */
  signal (SIGPIPE, SIG_IGN);

  if (argc < 2)
    return lsock_usage_error ("lsock COMMAND [OPTION...] (" COMMAND_LIST ")");
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      lsock_print_help (NULL);
      return LSOCK_EXIT_OK;
    }
  if (g_str_equal (argv[1], "help"))
    {
      if (argc > 3)
        return lsock_usage_error ("too many arguments: lsock help [COMMAND]");
      if (argc == 3 && !g_str_equal (argv[2], "--help") && !g_str_equal (argv[2], "-h"))
        return lsock_print_help (argv[2]) ? LSOCK_EXIT_OK : unknown_command (argv[2]);
      lsock_print_help (NULL);
      return LSOCK_EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("lsock %s\n", LSOCK_VERSION);
      return LSOCK_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (!g_str_equal (argv[1], commands[i].name))
        continue;
      lsock_app.command = commands[i].name;
      lsock_app.loop = g_main_loop_new (NULL, FALSE);
      lsock_app.sockets = g_ptr_array_new ();
      g_unix_signal_add (SIGINT, on_signal, GINT_TO_POINTER (SIGINT));
      g_unix_signal_add (SIGTERM, on_signal, GINT_TO_POINTER (SIGTERM));
      g_unix_signal_add (SIGHUP, on_signal, GINT_TO_POINTER (SIGHUP));
      status = commands[i].run (argc - 1, argv + 1);
      if (lsock_app.server != NULL)
        ls_local_server_close (lsock_app.server);
      g_clear_pointer (&lsock_app.sockets, g_ptr_array_unref);
      g_clear_pointer (&lsock_app.loop, g_main_loop_unref);
      fflush (stdout);
      return status;
    }
  return unknown_command (argv[1]);
}
