/* lsock-session.c: lsock connect and lsock listen
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lsock-private.h"
#include "lsock-frame.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#define ECHO_CHUNK       (256 * 1024)
#define ECHO_HIGH_WATER  (4 * 1024 * 1024)
#define ECHO_READ_BUFFER (1024 * 1024)

/* ---- shared helpers ---------------------------------------------------- */

/* The unknown long option of a failed parse, found by walking @argv as
 * GOption does (not from its message, which is translated). */
static const char *
find_unknown_option (GOptionEntry  *entries,
                     char         **argv)
{
  for (int i = 1; argv[i] != NULL && !g_str_equal (argv[i], "--"); i++)
    {
      g_autofree char *name = NULL;
      GOptionEntry *known = NULL;

      if (!g_str_has_prefix (argv[i], "--"))
        continue;
      name = g_strndup (argv[i] + 2, strcspn (argv[i] + 2, "="));
      for (GOptionEntry *e = entries; e != NULL && e->long_name != NULL; e++)
        if (g_str_equal (name, e->long_name))
          known = e;
      if (known == NULL && !g_str_equal (name, "help"))
        return argv[i];
      /* Its value is the next argument, whatever it looks like. */
      if (known != NULL && known->arg != G_OPTION_ARG_NONE && strchr (argv[i], '=') == NULL &&
          !(known->flags & G_OPTION_FLAG_OPTIONAL_ARG) && argv[i + 1] != NULL)
        i++;
    }
  return NULL;
}

static char *
suggest_option (GOptionEntry *entries,
                const char   *unknown)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *typed = g_strndup (unknown, strcspn (unknown, "="));

  for (GOptionEntry *e = entries; e != NULL && e->long_name != NULL; e++)
    g_ptr_array_add (names, g_strconcat ("--", e->long_name, NULL));
  g_ptr_array_add (names, g_strdup ("--help"));
  g_ptr_array_add (names, NULL);
  return lsock_suggest (typed, (const char * const *) names->pdata);
}

int
lsock_parse_command_line (GOptionEntry  *entries,
                          int           *argc,
                          char        ***argv,
                          int            min_args,
                          int            max_args,
                          const char    *args_help)
{
  g_autoptr(GOptionContext) context = g_option_context_new (args_help);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) original = g_strdupv (*argv);
  gboolean help = FALSE;
  GOptionEntry help_entries[] = {
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  int positional;

  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, help_entries, NULL);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      const char *unknown = NULL;

      if (g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
        unknown = find_unknown_option (entries, original);
      if (unknown != NULL)
        {
          g_autofree char *hint = suggest_option (entries, unknown);

          return lsock_usage_error ("unknown option “%s”%s", unknown, hint);
        }
      return lsock_usage_error ("%s", error->message);
    }
  if (help)
    {
      lsock_print_help (lsock_app.command);
      return LSOCK_EXIT_OK;
    }
  positional = *argc - 1;
  if (positional < min_args || positional > max_args)
    return lsock_usage_error ("%s arguments: lsock %s [OPTION...] %s",
                              positional < min_args ? "missing" : "too many",
                              lsock_app.command, args_help);
  for (int i = 1; i <= positional; i++)
    if ((*argv)[i][0] == '\0')
      {
        lsock_usage_error ("an empty argument is not a name");
        return LSOCK_EXIT_NOT_FOUND;
      }
  return -1;
}

int
lsock_pump_options_from_args (LsockPumpOptions *options,
                              const char       *frame,
                              gboolean          hex,
                              gboolean          json,
                              const char       *max_message_size,
                              double            linger,
                              gboolean          half_close)
{
  guint64 max = LSOCK_FRAME_DEFAULT_MAX_SIZE;

  memset (options, 0, sizeof *options);
  if (frame != NULL && !g_str_equal (frame, "qt"))
    return lsock_usage_error ("--frame “%s”: the only framing is “qt”", frame);
  if (hex && json)
    return lsock_usage_error ("--hex and --json exclude each other");
  if ((hex || max_message_size != NULL) && frame == NULL)
    return lsock_usage_error ("%s needs --frame qt", hex ? "--hex" : "--max-message-size");
  if (max_message_size != NULL &&
      (!lsock_parse_size (max_message_size, &max) || max >= LSOCK_FRAME_NULL - 1))
    return lsock_usage_error ("--max-message-size “%s”: not a size below 4 GiB "
                              "(bytes, or with K, M, G)", max_message_size);
  options->framed = frame != NULL;
  options->format = hex ? LSOCK_FORMAT_HEX : json ? LSOCK_FORMAT_JSON : LSOCK_FORMAT_TEXT;
  options->max_message_size = (guint32) max;
  options->linger_ms = linger < 0 ? -1 : (gint) MIN (linger * 1000.0, (double) G_MAXINT);
  options->half_close = half_close;
  return -1;
}

/* --timeout SECONDS (NULL: not given, *seconds = -1); -1 to go on, else
 * the usage status. */
int
lsock_timeout_from_arg (const char *text,
                        double     *seconds)
{
  *seconds = -1;
  if (text != NULL && !lsock_parse_seconds (text, seconds))
    return lsock_usage_error ("--timeout “%s”: not a number of seconds (0 or more)", text);
  return -1;
}

void
lsock_print_json (FILE        *stream,
                  JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  fprintf (stream, "%s\n", text);
  fflush (stream);
}

/* JSON strings must be UTF-8: a name that is not gets U+FFFD; NULL is
 * null. */
void
lsock_json_add_text (JsonBuilder *builder,
                     const char  *text)
{
  g_autofree char *utf8 = text != NULL ? g_utf8_make_valid (text, -1) : NULL;

  if (utf8 != NULL)
    json_builder_add_string_value (builder, utf8);
  else
    json_builder_add_null_value (builder);
}

/* Reports a failed connect_to_server (); returns the exit status. */
static int
report_connect_error (LsLocalSocket *socket,
                      const char    *path)
{
  g_autoptr(GError) error = g_error_new_literal (LS_SOCKET_ERROR, ls_local_socket_get_error (socket),
                                                 ls_local_socket_get_error_string (socket));
  int status = lsock_status_for_error (error, path);

  if (status == LSOCK_EXIT_NOT_SOCKET)
    lsock_fail (status, path, "not a socket (connection refused)");
  else
    lsock_fail (status, NULL, "%s", error->message);
  return status;
}

LsLocalSocket *
lsock_connect_or_fail (const char *name,
                       gboolean    abstract,
                       double      timeout,
                       int        *status)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();
  g_autofree char *path = lsock_resolve_name (name, abstract);

  if (abstract)
    ls_local_socket_set_socket_options (socket, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  if (timeout >= 0)
    ls_local_socket_set_connect_timeout (socket, (gint) MIN (timeout * 1000.0, (double) G_MAXINT));
  /* A signal aborts it while it waits. */
  g_ptr_array_add (lsock_app.sockets, socket);
  ls_local_socket_connect_to_server (socket, name);
  /* A full listen backlog: the library retries until connect-timeout. */
  while (!lsock_app.done && ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_CONNECTING)
    g_main_context_iteration (NULL, TRUE);
  if (lsock_app.done || ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_CONNECTED)
    {
      g_ptr_array_remove (lsock_app.sockets, socket);
      ls_local_socket_abort (socket);
      *status = lsock_app.done ? lsock_app.status : report_connect_error (socket, abstract ? NULL : path);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

static void
forget_socket (LsLocalSocket *socket)
{
  g_ptr_array_remove (lsock_app.sockets, socket);
}

/* Shared by connect and listen: the pump's verdict becomes ours. */
static void
on_pump_done (LsockPump  *pump,
              int         status,
              const char *message,
              gpointer    user_data)
{
  const char *subject = user_data;

  if (message != NULL)
    lsock_fail (status, subject, "%s", message);
  else
    lsock_quit (status);
}

/* ---- connect ----------------------------------------------------------- */

int
lsock_cmd_connect (int    argc,
                   char **argv)
{
  gboolean abstract = FALSE, hex = FALSE, json = FALSE, half_close = FALSE, hexdump = FALSE;
  g_autofree char *frame = NULL;
  g_autofree char *max_message_size = NULL;
  g_autofree char *timeout_text = NULL;
  double linger = 0.5, timeout;
  GOptionEntry entries[] = {
    { "abstract", 'a', 0, G_OPTION_ARG_NONE, &abstract, NULL, NULL },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_text, NULL, NULL },
    { "frame", 'f', 0, G_OPTION_ARG_STRING, &frame, NULL, NULL },
    { "hex", 0, 0, G_OPTION_ARG_NONE, &hex, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "max-message-size", 0, 0, G_OPTION_ARG_STRING, &max_message_size, NULL, NULL },
    { "linger", 'l', 0, G_OPTION_ARG_DOUBLE, &linger, NULL, NULL },
    { "half-close", 0, 0, G_OPTION_ARG_NONE, &half_close, NULL, NULL },
    { "hexdump", 'x', 0, G_OPTION_ARG_NONE, &hexdump, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  LsockPumpOptions options;
  g_autoptr(LsLocalSocket) socket = NULL;
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(GOutputStream) output = NULL;
  g_autofree char *path = NULL;
  g_autofree char *subject = NULL;
  LsockPump *pump;
  int status;

  if ((status = lsock_parse_command_line (entries, &argc, &argv, 1, 1, "NAME")) >= 0)
    return status;
  if (json && frame == NULL)
    return lsock_usage_error ("--json needs --frame qt");
  if ((status = lsock_pump_options_from_args (&options, frame, hex, json, max_message_size,
                                              linger, half_close)) >= 0 ||
      (status = lsock_timeout_from_arg (timeout_text, &timeout)) >= 0)
    return status;

  path = lsock_resolve_name (argv[1], abstract);
  socket = lsock_connect_or_fail (argv[1], abstract, timeout, &status);
  if (socket == NULL)
    return status;

  input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  output = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
  subject = abstract ? g_strconcat ("@", path, NULL) : g_strdup (path);
  pump = lsock_pump_new (socket, input, output, &options, on_pump_done, subject);
  if (hexdump)
    lsock_pump_set_hexdump (pump, lsock_hexdump_new (0));
  lsock_pump_start (pump);
  lsock_run ();
  lsock_pump_free (pump);
  forget_socket (socket);
  ls_local_socket_abort (socket);
  return lsock_app.status;
}

/* ---- listen ------------------------------------------------------------ */

typedef struct
{
  LsLocalServer    *server;
  char             *path;          /* what events and errors name */
  gboolean          keep;
  gboolean          echo;
  gboolean          json;
  gboolean          hexdump;
  LsockPumpOptions  options;
  GInputStream     *input;         /* NULL with --keep: stdin is not read */
  GOutputStream    *output;
  guint             next_peer;
  /* copy mode: one session at a time */
  LsockPump        *pump;
  LsLocalSocket    *current;
  guint             current_peer;
  guint             serving;       /* live connections (echo mode) */
} Listen;

typedef struct
{
  Listen        *listen;
  LsLocalSocket *socket;
  guint          peer;
  guint64        received;
  guint64        sent;
  gulong         handlers[3];
  LsockHexdump  *hexdump;        /* NULL: no -x */
} EchoPeer;

static void
print_peer_connected (Listen        *self,
                      LsLocalSocket *socket,
                      guint          peer)
{
  g_autoptr(GCredentials) credentials = ls_local_socket_get_peer_credentials (socket);
  const struct ucred *ucred = NULL;

  if (credentials != NULL)
    ucred = g_credentials_get_native (credentials, G_CREDENTIALS_TYPE_LINUX_UCRED);
  if (self->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, "connected");
      json_builder_set_member_name (b, "peer");
      json_builder_add_int_value (b, peer);
      json_builder_set_member_name (b, "pid");
      if (ucred) json_builder_add_int_value (b, ucred->pid); else json_builder_add_null_value (b);
      json_builder_set_member_name (b, "uid");
      if (ucred) json_builder_add_int_value (b, ucred->uid); else json_builder_add_null_value (b);
      json_builder_set_member_name (b, "gid");
      if (ucred) json_builder_add_int_value (b, ucred->gid); else json_builder_add_null_value (b);
      json_builder_end_object (b);
      lsock_print_json (stderr, b);
    }
  else if (ucred != NULL)
    fprintf (stderr, "peer %u connected: pid %d uid %u gid %u\n",
             peer, (int) ucred->pid, (guint) ucred->uid, (guint) ucred->gid);
  else
    fprintf (stderr, "peer %u connected: credentials unavailable\n", peer);
  fflush (stderr);
}

static void
print_peer_disconnected (Listen  *self,
                         guint    peer,
                         guint64  received,
                         guint64  sent)
{
  if (self->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, "disconnected");
      json_builder_set_member_name (b, "peer");
      json_builder_add_int_value (b, peer);
      json_builder_set_member_name (b, "received");
      json_builder_add_int_value (b, received);
      json_builder_set_member_name (b, "sent");
      json_builder_add_int_value (b, sent);
      json_builder_end_object (b);
      lsock_print_json (stderr, b);
    }
  else
    fprintf (stderr, "peer %u disconnected: received %" G_GUINT64_FORMAT
             " bytes, sent %" G_GUINT64_FORMAT " bytes\n", peer, received, sent);
  fflush (stderr);
}

static void
print_listening (Listen *self)
{
  const char *full = ls_local_server_get_full_server_name (self->server);
  gboolean abstract = (ls_local_server_get_socket_options (self->server) &
                       LS_SOCKET_OPTION_ABSTRACT_NAMESPACE) != 0;
  struct stat st;
  gboolean have_mode = !abstract && stat (full, &st) == 0;
  g_autofree char *shown = lsock_escape (full, FALSE);

  if (self->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *mode = have_mode ? g_strdup_printf ("%04o", st.st_mode & 07777) : NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, "listening");
      json_builder_set_member_name (b, "name");
      lsock_json_add_text (b, ls_local_server_get_server_name (self->server));
      json_builder_set_member_name (b, "path");
      lsock_json_add_text (b, abstract ? NULL : full);
      json_builder_set_member_name (b, "abstract");
      json_builder_add_boolean_value (b, abstract);
      json_builder_set_member_name (b, "mode");
      if (mode) json_builder_add_string_value (b, mode); else json_builder_add_null_value (b);
      json_builder_set_member_name (b, "pid");
      json_builder_add_int_value (b, getpid ());
      json_builder_end_object (b);
      lsock_print_json (stderr, b);
    }
  else if (abstract)
    fprintf (stderr, "listening on @%s\n", shown);
  else if (have_mode)
    fprintf (stderr, "listening on %s (mode %04o)\n", shown, st.st_mode & 07777);
  else
    fprintf (stderr, "listening on %s\n", shown);
  fflush (stderr);
}

/* Without --keep the server stops listening (its socket file goes) as
 * soon as it has its one connection. */
static void
stop_listening_unless_keep (Listen *self)
{
  if (!self->keep && ls_local_server_is_listening (self->server))
    ls_local_server_close (self->server);
}

static void echo_peer_free (EchoPeer *ep);

static void
echo_pump (EchoPeer *ep)
{
  LsLocalSocket *socket = ep->socket;

  while (ls_local_socket_get_state (socket) == LS_LOCAL_SOCKET_STATE_CONNECTED &&
         ls_local_socket_get_bytes_to_write (socket) < ECHO_HIGH_WATER &&
         ls_local_socket_get_bytes_available (socket) > 0)
    {
      g_autoptr(GBytes) data = ls_local_socket_read (socket, ECHO_CHUNK);
      gsize size = g_bytes_get_size (data);

      ep->received += size;
      lsock_hexdump (ep->hexdump, LSOCK_RECEIVED, g_bytes_get_data (data, NULL), size);
      if (ls_local_socket_write_bytes (socket, data) == (gssize) size)
        {
          ep->sent += size;
          lsock_hexdump (ep->hexdump, LSOCK_SENT, g_bytes_get_data (data, NULL), size);
        }
    }
}

static void
on_echo_ready_read (LsLocalSocket *socket,
                    gpointer       data)
{
  echo_pump (data);
}

static void
on_echo_bytes_written (LsLocalSocket *socket,
                       gint64         written,
                       gpointer       data)
{
  echo_pump (data);
}

static gboolean
echo_peer_free_idle (gpointer data)
{
  echo_peer_free (data);
  return G_SOURCE_REMOVE;
}

static void
on_echo_disconnected (LsLocalSocket *socket,
                      gpointer       data)
{
  EchoPeer *ep = data;
  Listen *self = ep->listen;

  /* Whatever arrived after the last echo can no longer be answered. */
  ep->received += ls_local_socket_get_bytes_available (socket);
  print_peer_disconnected (self, ep->peer, ep->received, ep->sent);
  self->serving--;
  /* Not from inside the socket's own signal emission. */
  g_idle_add (echo_peer_free_idle, ep);
  if (!self->keep && self->serving == 0)
    lsock_quit (LSOCK_EXIT_OK);
}

static void
echo_peer_free (EchoPeer *ep)
{
  for (guint i = 0; i < G_N_ELEMENTS (ep->handlers); i++)
    g_clear_signal_handler (&ep->handlers[i], ep->socket);
  g_ptr_array_remove (lsock_app.sockets, ep->socket);
  g_object_unref (ep->socket);
  g_clear_pointer (&ep->hexdump, lsock_hexdump_free);
  g_free (ep);
}

static void
start_echo (Listen        *self,
            LsLocalSocket *socket)
{
  EchoPeer *ep = g_new0 (EchoPeer, 1);

  ep->listen = self;
  ep->socket = socket;
  ep->peer = ++self->next_peer;
  ep->hexdump = self->hexdump ? lsock_hexdump_new (ep->peer) : NULL;
  g_ptr_array_add (lsock_app.sockets, socket);
  self->serving++;
  print_peer_connected (self, socket, ep->peer);
  ls_local_socket_set_read_buffer_size (socket, ECHO_READ_BUFFER);
  ep->handlers[0] = g_signal_connect (socket, "ready-read", G_CALLBACK (on_echo_ready_read), ep);
  ep->handlers[1] = g_signal_connect (socket, "bytes-written", G_CALLBACK (on_echo_bytes_written), ep);
  ep->handlers[2] = g_signal_connect (socket, "disconnected", G_CALLBACK (on_echo_disconnected), ep);
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_CONNECTED)
    on_echo_disconnected (socket, ep);
  else
    echo_pump (ep);
}

static void start_next_session (Listen *self);

static gboolean
start_next_session_idle (gpointer data)
{
  start_next_session (data);
  return G_SOURCE_REMOVE;
}

static void
on_session_done (LsockPump  *pump,
                 int         status,
                 const char *message,
                 gpointer    user_data)
{
  Listen *self = user_data;

  print_peer_disconnected (self, self->current_peer, lsock_pump_get_received (pump),
                           lsock_pump_get_sent (pump));
  if (message != NULL)
    {
      if (self->keep)
        {
          g_autofree char *shown_path = lsock_escape (self->path, FALSE);
          g_autofree char *shown = lsock_escape (message, FALSE);

          /* One failed connection does not end a --keep server. */
          fprintf (stderr, "lsock listen: %s: peer %u: %s\n", shown_path, self->current_peer, shown);
          fflush (stderr);
        }
      else
        lsock_fail (status, self->path, "peer %u: %s", self->current_peer, message);
    }
  else if (!self->keep)
    lsock_quit (status);
  if (self->keep)
    g_idle_add (start_next_session_idle, self);
}

static void
end_session (Listen *self)
{
  if (self->current == NULL)
    return;
  g_clear_pointer (&self->pump, lsock_pump_free);
  ls_local_socket_abort (self->current);
  g_ptr_array_remove (lsock_app.sockets, self->current);
  g_clear_object (&self->current);
}

static void
start_next_session (Listen *self)
{
  LsLocalSocket *socket;

  /* Only called from on_session_done ()'s idle once a session is over,
   * or from new-connection while none runs. */
  if (self->current != NULL && self->keep)
    end_session (self);
  if (self->current != NULL || lsock_app.done)
    return;
  socket = ls_local_server_next_pending_connection (self->server);
  if (socket == NULL)
    return;
  stop_listening_unless_keep (self);
  self->current = socket;
  self->current_peer = ++self->next_peer;
  g_ptr_array_add (lsock_app.sockets, socket);
  print_peer_connected (self, socket, self->current_peer);
  self->pump = lsock_pump_new (socket, self->input, self->output, &self->options,
                               on_session_done, self);
  if (self->hexdump)
    lsock_pump_set_hexdump (self->pump, lsock_hexdump_new (self->current_peer));
  lsock_pump_start (self->pump);
}

static void
on_new_connection (LsLocalServer *server,
                   gpointer       data)
{
  Listen *self = data;

  if (self->echo)
    {
      LsLocalSocket *socket;

      while (!lsock_app.done && (socket = ls_local_server_next_pending_connection (server)) != NULL)
        {
          stop_listening_unless_keep (self);
          start_echo (self, socket);
          if (!self->keep)
            break;
        }
      return;
    }
  if (self->current == NULL)
    start_next_session (self);
}

static gboolean
parse_mode (const char      *mode,
            LsSocketOptions *options)
{
  static const struct { const char *name; LsSocketOptions value; } modes[] = {
    { "user", LS_SOCKET_OPTION_USER_ACCESS },
    { "group", LS_SOCKET_OPTION_GROUP_ACCESS },
    { "other", LS_SOCKET_OPTION_OTHER_ACCESS },
    { "world", LS_SOCKET_OPTION_WORLD_ACCESS },
  };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    if (g_str_equal (mode, modes[i].name))
      {
        *options |= modes[i].value;
        return TRUE;
      }
  return FALSE;
}

/* Listens as the command line says; NULL (status set, error printed) on
 * failure. Shared with send --listen and recv. */
LsLocalServer *
lsock_listen_or_fail (const char *name,
                      gboolean    abstract,
                      const char *mode,
                      gboolean    reclaim_stale,
                      int        *status)
{
  g_autoptr(LsLocalServer) server = ls_local_server_new ();
  g_autoptr(GError) error = NULL;
  LsSocketOptions options = LS_SOCKET_OPTION_NONE;

  if (mode != NULL && !parse_mode (mode, &options))
    {
      *status = lsock_usage_error ("--mode “%s”: expected user, group, other or world", mode);
      return NULL;
    }
  if (abstract)
    options |= LS_SOCKET_OPTION_ABSTRACT_NAMESPACE;
  ls_local_server_set_socket_options (server, options);
  /* A stale socket file (nothing listens) is replaced under the library's
   * PATH.lock; a live socket or any other file still fails with status 5. */
  ls_local_server_set_reclaim_stale (server, reclaim_stale);
  if (!ls_local_server_listen (server, name, &error))
    {
      *status = lsock_status_for_error (error, NULL);
      lsock_fail (*status, NULL, "%s", error->message);
      return NULL;
    }
  lsock_app.server = server;
  return g_steal_pointer (&server);
}

int
lsock_cmd_listen (int    argc,
                  char **argv)
{
  gboolean abstract = FALSE, hex = FALSE, json = FALSE, half_close = FALSE;
  gboolean keep = FALSE, echo = FALSE, reclaim_stale = FALSE, hexdump = FALSE;
  g_autofree char *frame = NULL;
  g_autofree char *max_message_size = NULL;
  g_autofree char *mode = NULL;
  double linger = 0.5;
  GOptionEntry entries[] = {
    { "abstract", 'a', 0, G_OPTION_ARG_NONE, &abstract, NULL, NULL },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &keep, NULL, NULL },
    { "echo", 'e', 0, G_OPTION_ARG_NONE, &echo, NULL, NULL },
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode, NULL, NULL },
    { "reclaim-stale", 0, 0, G_OPTION_ARG_NONE, &reclaim_stale, NULL, NULL },
    { "frame", 'f', 0, G_OPTION_ARG_STRING, &frame, NULL, NULL },
    { "hex", 0, 0, G_OPTION_ARG_NONE, &hex, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "max-message-size", 0, 0, G_OPTION_ARG_STRING, &max_message_size, NULL, NULL },
    { "linger", 'l', 0, G_OPTION_ARG_DOUBLE, &linger, NULL, NULL },
    { "half-close", 0, 0, G_OPTION_ARG_NONE, &half_close, NULL, NULL },
    { "hexdump", 'x', 0, G_OPTION_ARG_NONE, &hexdump, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  Listen self = { 0 };
  g_autoptr(LsLocalServer) server = NULL;
  int status;

  if ((status = lsock_parse_command_line (entries, &argc, &argv, 1, 1, "NAME")) >= 0)
    return status;
  if (echo && (frame != NULL || hex))
    return lsock_usage_error ("--echo returns bytes as they come; it takes no --frame");
  /* --json alone formats the events; with --frame qt the messages too. */
  if ((status = lsock_pump_options_from_args (&self.options, frame, hex, json && frame != NULL,
                                              max_message_size, linger, half_close)) >= 0)
    return status;
  if (keep)
    self.options.linger_ms = -1;

  server = lsock_listen_or_fail (argv[1], abstract, mode, reclaim_stale, &status);
  if (server == NULL)
    return status;

  self.server = server;
  self.keep = keep;
  self.echo = echo;
  self.json = json;
  self.hexdump = hexdump;
  self.path = g_strdup (ls_local_server_get_full_server_name (server));
  if (abstract)
    {
      g_free (self.path);
      self.path = g_strconcat ("@", ls_local_server_get_full_server_name (server), NULL);
    }
  if (!echo)
    {
      self.input = keep ? NULL : g_unix_input_stream_new (STDIN_FILENO, FALSE);
      self.output = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
    }
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), &self);
  print_listening (&self);
  on_new_connection (server, &self);
  lsock_run ();

  ls_local_server_close (server);
  lsock_app.server = NULL;
  g_signal_handlers_disconnect_by_data (server, &self);
  end_session (&self);
  /* Echo peers still connected (SIGINT with --keep): aborted by the
   * signal handler; drop them now. */
  while (lsock_app.sockets->len > 0)
    {
      LsLocalSocket *socket = g_ptr_array_index (lsock_app.sockets, 0);
      ls_local_socket_abort (socket);
      g_ptr_array_remove_index (lsock_app.sockets, 0);
    }
  g_clear_object (&self.input);
  g_clear_object (&self.output);
  g_free (self.path);
  return lsock_app.status;
}
