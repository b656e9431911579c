/* lsock-private.h: shared parts of the lsock command-line tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ls/ls.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

G_BEGIN_DECLS

/* The documented exit statuses (lsock.txt, "Exit status"). */
typedef enum
{
  LSOCK_EXIT_OK         = 0,
  LSOCK_EXIT_USAGE      = 1,
  LSOCK_EXIT_NOT_FOUND  = 2,
  LSOCK_EXIT_REFUSED    = 3,
  LSOCK_EXIT_ACCESS     = 4,
  LSOCK_EXIT_IN_USE     = 5,
  LSOCK_EXIT_IO         = 6,
  LSOCK_EXIT_PROTOCOL   = 7,
  LSOCK_EXIT_NOT_SOCKET = 8,
} LsockExit;

typedef enum
{
  LSOCK_FORMAT_TEXT,
  LSOCK_FORMAT_HEX,
  LSOCK_FORMAT_JSON,
} LsockFormat;

/* One run of the tool: the command, its loop and what a signal must
 * clean up. */
typedef struct
{
  const char    *command;
  GMainLoop     *loop;
  int            status;
  gboolean       done;      /* lsock_quit () was called: do not (re)enter the loop */
  LsLocalServer *server;    /* closed (socket file removed) on SIGINT/SIGTERM */
  GPtrArray     *sockets;   /* aborted on SIGINT/SIGTERM */
} LsockApp;

extern LsockApp lsock_app;

void      lsock_fail              (int          status,
                                   const char  *subject,
                                   const char  *format,
                                   ...) G_GNUC_PRINTF (3, 4);
int       lsock_usage_error       (const char  *format,
                                   ...) G_GNUC_PRINTF (1, 2);
char     *lsock_escape            (const char  *text,
                                   gboolean     line_start);
void      lsock_quit              (int          status);
void      lsock_run               (void);
char     *lsock_suggest           (const char  *typed,
                                   const char * const *candidates);
gboolean  lsock_print_help        (const char  *command);
int       lsock_status_for_error  (GError      *error,
                                   const char  *path);
char     *lsock_resolve_name      (const char  *name,
                                   gboolean     abstract);
gboolean  lsock_parse_size        (const char  *text,
                                   guint64      *size);
gboolean  lsock_parse_seconds     (const char  *text,
                                   double      *seconds);
char     *lsock_format_size       (guint64      bytes);
/* A server listening on @name (lsock_app.server), or NULL after reporting
 * why; *status is then the exit status. */
LsLocalServer *lsock_listen_or_fail (const char  *name,
                                     gboolean     abstract,
                                     const char  *mode,
                                     gboolean     reclaim_stale,
                                     int         *status);

/* A connection to @name (added to lsock_app.sockets), or NULL after
 * reporting why; *status is then the exit status. A server whose listen
 * backlog is full is retried for @timeout seconds (< 0: the library's
 * default), with the loop running (signals end the wait). */
LsLocalSocket *lsock_connect_or_fail (const char  *name,
                                      gboolean     abstract,
                                      double       timeout,
                                      int         *status);

/* -x/--hexdump (lsock-hexdump.c) */
typedef enum
{
  LSOCK_SENT,
  LSOCK_RECEIVED,
} LsockDirection;

typedef struct _LsockHexdump LsockHexdump;

LsockHexdump *lsock_hexdump_new  (guint           peer);
void          lsock_hexdump_free (LsockHexdump   *dump);
/* Dumps @data; does nothing when @dump is NULL. */
void          lsock_hexdump      (LsockHexdump   *dump,
                                  LsockDirection  direction,
                                  const void     *data,
                                  gsize           size);

/* The copy engine between stdin/stdout (or a file) and a connection. */
typedef struct _LsockPump LsockPump;

typedef struct
{
  gboolean     framed;            /* --frame qt */
  LsockFormat  format;            /* of framed messages on stdin/stdout */
  guint32      max_message_size;
  gint         linger_ms;         /* after input ended: -1 wait for the peer */
  gboolean     half_close;
  gboolean     refuse_fds;        /* descriptors from the peer: status 7, not closed silently */
} LsockPumpOptions;

typedef void (*LsockPumpDone) (LsockPump  *pump,
                               int         status,
                               const char *message,
                               gpointer    user_data);

LsockPump *lsock_pump_new        (LsLocalSocket          *socket,
                                  GInputStream           *input,
                                  GOutputStream          *output,
                                  const LsockPumpOptions *options,
                                  LsockPumpDone           done,
                                  gpointer                user_data);
void       lsock_pump_start      (LsockPump              *pump);
/* Dump what the pump sends and receives (takes @dump). */
void       lsock_pump_set_hexdump (LsockPump             *pump,
                                   LsockHexdump          *dump);
void       lsock_pump_free       (LsockPump              *pump);
guint64    lsock_pump_get_sent     (LsockPump            *pump);
guint64    lsock_pump_get_received (LsockPump            *pump);
gboolean   lsock_pump_input_ended  (LsockPump            *pump);

/* --frame qt messages as lines of text, hex or JSON (lsock-message-line.c);
 * a line is given without its newline, and made with one. */
GBytes *lsock_message_from_line (LsockFormat   format,
                                 const char   *line,
                                 gsize         length,
                                 GError      **error);
GBytes *lsock_message_to_line   (LsockFormat   format,
                                 GBytes       *message);

/* Passing open files (send --fds, recv --fds; lsock-fds.c). */
typedef struct _LsockFds LsockFds;

typedef struct
{
  char    *path;      /* as given */
  char    *name;      /* its base name: what the receiver sees */
  int      fd;
  guint64  size;
} LsockFdFile;

/* @subject: what the message is about, or NULL for the socket. */
typedef void (*LsockFdsDone) (LsockFds   *fds,
                              int         status,
                              const char *subject,
                              const char *message,
                              gpointer    user_data);

void       lsock_fd_file_free     (gpointer       file);
GPtrArray *lsock_fds_open_files   (char         **paths,
                                   int            n_paths,
                                   int           *status);
LsockFds  *lsock_fds_new_sender   (LsLocalSocket *socket,
                                   GPtrArray     *files,
                                   LsockFdsDone   done,
                                   gpointer       user_data);
LsockFds  *lsock_fds_new_receiver (LsLocalSocket *socket,
                                   int            dir_fd,
                                   const char    *dir,
                                   gboolean       json,
                                   LsockFdsDone   done,
                                   gpointer       user_data);
void       lsock_fds_start        (LsockFds      *fds);
void       lsock_fds_free         (LsockFds      *fds);
guint      lsock_fds_get_files    (LsockFds      *fds);
guint64    lsock_fds_get_bytes    (LsockFds      *fds);
/* Dump the record lines sent and received (takes @dump). */
void       lsock_fds_set_hexdump  (LsockFds      *fds,
                                   LsockHexdump  *dump);

/* Commands */
int lsock_cmd_connect (int argc, char **argv);
int lsock_cmd_listen  (int argc, char **argv);
int lsock_cmd_probe   (int argc, char **argv);
int lsock_cmd_list    (int argc, char **argv);
int lsock_cmd_send    (int argc, char **argv);
int lsock_cmd_recv    (int argc, char **argv);

G_END_DECLS

G_BEGIN_DECLS
/* Parses a command's options (GOptionContext, our own --help). Returns -1
 * to go on, else the exit status. On success argc and argv hold the
 * command name and the positional arguments. */
int lsock_parse_command_line (GOptionEntry  *entries,
                              int           *argc,
                              char        ***argv,
                              int            min_args,
                              int            max_args,
                              const char    *args_help);
int lsock_pump_options_from_args (LsockPumpOptions *options,
                                  const char       *frame,
                                  gboolean          hex,
                                  gboolean          json,
                                  const char       *max_message_size,
                                  double            linger,
                                  gboolean          half_close);
int lsock_timeout_from_arg (const char *text,
                            double     *seconds);
/* One JSON object on one line of @stream. */
void lsock_print_json (FILE *stream, JsonBuilder *builder);
/* A string member's value (NULL: null), made valid UTF-8. */
void lsock_json_add_text (JsonBuilder *builder,
                          const char  *text);
G_END_DECLS
