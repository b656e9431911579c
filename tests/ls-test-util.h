/* ls-test-util.h: helpers shared by the C test programs */
#pragma once

#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <ls/ls.h>

#include "ls-test-proc.h"

G_BEGIN_DECLS

/* A fresh private directory with a short path (sun_path is 108 bytes). */
char     *ls_test_make_tmpdir        (void);
/* Removes @dir and everything in it. */
void      ls_test_remove_tmpdir      (const char *dir);

/* Iterates the thread-default main context until *flag becomes TRUE or
 * @timeout_ms passes; returns *flag. */
gboolean  ls_test_run_until          (const gboolean *flag,
                                      int             timeout_ms);
/* Iterates the thread-default main context for @ms milliseconds. */
void      ls_test_run_for            (int             ms);

/* Records every signal of an LsLocalSocket as text, e.g.
 * "state-changed(2) state-changed(3) connected ". */
typedef struct _LsTestSignalLog LsTestSignalLog;
LsTestSignalLog *ls_test_signal_log_new   (LsLocalSocket   *socket);
const char      *ls_test_signal_log_get   (LsTestSignalLog *log);
void             ls_test_signal_log_clear (LsTestSignalLog *log);
void             ls_test_signal_log_free  (LsTestSignalLog *log);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LsTestSignalLog, ls_test_signal_log_free)
/* Iterates the thread-default main context until the log contains @text
 * or @timeout_ms passes; returns whether it does. */
gboolean         ls_test_run_until_log_has (LsTestSignalLog *log,
                                            const char      *text,
                                            int              timeout_ms);

/* Iterates the thread-default main context until @server has a pending
 * connection or @timeout_ms passes; returns whether it has. */
gboolean  ls_test_run_until_pending  (LsLocalServer  *server,
                                      int             timeout_ms);

/* Writes @text on @from and asserts that @to receives exactly it, using the
 * blocking calls (no main loop needed). */
void      ls_test_send_and_expect    (LsLocalSocket  *from,
                                      LsLocalSocket  *to,
                                      const char     *text);

/* The same, but the bytes travel through the main loop (no blocking
 * call), which must therefore serve both sockets. */
void      ls_test_send_and_expect_in_loop (LsLocalSocket *from,
                                           LsLocalSocket *to,
                                           const char    *text);

/* The number of open descriptors of this process (/proc/self/fd). */
guint     ls_test_count_open_fds     (void);

/* Plain blocking socket() + connect() to a file path; -1 on failure. */
int       ls_test_raw_connect        (const char *path);

/* Iterates the thread-default main context until @cond (@data) holds or
 * @timeout_ms passes; returns whether it holds. A short tick makes
 * conditions changed by other threads visible without explicit wake-ups. */
typedef gboolean (*LsTestCond) (gpointer data);
gboolean  ls_test_run_until_cond     (LsTestCond      cond,
                                      gpointer        data,
                                      int             timeout_ms);

/* The fixture of the socket and server tests, for g_test_add():
 * - ls_test_fixture_setup_dir: a fresh short private directory @dir, and
 *   $TMPDIR pointing at it (so relative names land there);
 * - ls_test_fixture_setup: the same, plus @server listening on @path
 *   ("<dir>/s");
 * - ls_test_fixture_setup_pair: the same, plus @client connected to it and
 *   @peer, the accepted side.
 * ls_test_fixture_teardown drops whatever the test left in the fixture,
 * restores $TMPDIR, checks that no descriptor opened since the setup is
 * still open and removes the directory. In a g_test_trap_subprocess()
 * child the fixture stays empty: the parent owns the directory, and the
 * child (which may drop its privileges) must not make or remove one. */
typedef struct
{
  char          *dir;
  char          *path;
  LsLocalServer *server;
  LsLocalSocket *client;
  LsLocalSocket *peer;
  /* private */
  char          *saved_tmpdir;
  guint          open_fds;
} LsTestFixture;

void      ls_test_fixture_setup_dir  (LsTestFixture  *f,
                                      gconstpointer   data);
void      ls_test_fixture_setup      (LsTestFixture  *f,
                                      gconstpointer   data);
void      ls_test_fixture_setup_pair (LsTestFixture  *f,
                                      gconstpointer   data);
void      ls_test_fixture_teardown   (LsTestFixture  *f,
                                      gconstpointer   data);

/* Waits (blocking, 5 s at most) for a connection on @server and takes it. */
LsLocalSocket *ls_test_server_take   (LsLocalServer  *server);
/* Connects a new client to @server (a path) and takes the accepted side;
 * both are connected. */
void      ls_test_connect_pair       (LsLocalServer  *server,
                                      const char     *path,
                                      LsLocalSocket **client,
                                      LsLocalSocket **peer);
/* A server listening on @name (ls_local_server_listen must succeed). */
LsLocalServer *ls_test_listening_server (const char *name);

/* ---- Data ---------------------------------------------------------------- */

/* @size bytes of a stream that does not repeat at any power-of-two period a
 * buffer bug could hide behind; @seed tells streams apart. */
guint8   *ls_test_pattern_new        (gsize           size,
                                      guint           seed);
/* Whether @data is that stream's bytes from @offset on. */
gboolean  ls_test_pattern_check      (const guint8   *data,
                                      gsize           size,
                                      guint64         offset,
                                      guint           seed);
/* Consumes @bytes and compares it with the text @expected. */
void      ls_test_assert_bytes_str   (GBytes         *bytes,
                                      const char     *expected);
/* The space-separated @log without the tokens equal to @token. */
char     *ls_test_log_without        (const char     *log,
                                      const char     *token);
/* How many space-separated tokens of @log equal @token. */
guint     ls_test_log_count          (const char     *log,
                                      const char     *token);
/* An error text names the operation, the name or path (if any), and the
 * reason (deliberate fix 9). */
void      ls_test_assert_error_text  (const char     *message,
                                      const char     *operation,
                                      const char     *path);
/* User plus system CPU time of this process, in microseconds. */
gint64    ls_test_cpu_time_us        (void);

/* Signal handlers: sets *@flag (any signal without arguments); adds up
 * bytes-written; appends "name " of each notified property to @log. */
void      ls_test_on_flag            (gpointer        instance,
                                      gboolean       *flag);
void      ls_test_on_add_bytes_written (LsLocalSocket *socket,
                                        gint64         n,
                                        gint64        *total);
void      ls_test_on_notify          (GObject        *object,
                                      GParamSpec     *pspec,
                                      GString        *log);

/* ---- Socket states ------------------------------------------------------- */

/* Never connected, or closed/aborted: unconnected, invalid, no descriptor. */
void      ls_test_assert_socket_fresh (LsLocalSocket *socket);
/* A connection that ended without close() or abort(): as in Qt, the socket
 * stays valid (open), its received data readable. */
void      ls_test_assert_socket_ended (LsLocalSocket *socket);
void      ls_test_assert_connected_to (LsLocalSocket *socket,
                                       const char    *server_name,
                                       const char    *full_server_name);

/* ---- Raw descriptors ----------------------------------------------------- */

gboolean  ls_test_fd_is_open         (int             fd);
void      ls_test_close_fds          (int            *fds,
                                      guint           n);
/* Writes all of @data (send, MSG_NOSIGNAL), asserting progress. */
void      ls_test_raw_write_all      (int             fd,
                                      const void     *data,
                                      gsize           size);
/* Reads @len bytes from @fd while the thread-default context runs (so the
 * other side can write); returns what arrived. */
char     *ls_test_raw_recv           (int             fd,
                                      gsize           len,
                                      int             timeout_ms);
/* Whether @fd sees end-of-stream or a reset within @timeout_ms; data that
 * arrives before is drained, the thread-default context keeps running. */
gboolean  ls_test_raw_sees_eof       (int             fd,
                                      int             timeout_ms);
/* Whether @fd is still open and the peer sent nothing and did not close
 * within @ms (a fixed wait: it asserts that nothing happens). */
gboolean  ls_test_raw_still_open     (int             fd,
                                      int             ms);
/* Fills @addr for a path or an unpadded abstract @name; returns its length. */
socklen_t ls_test_fill_address       (struct sockaddr_un *addr,
                                      const char     *name,
                                      gboolean        abstract);
/* A socket of @type bound to @name (path or unpadded abstract name; NULL =
 * unbound), listening (backlog 16) if @do_listen. */
int       ls_test_make_unix_socket   (const char     *name,
                                      gboolean        abstract,
                                      int             type,
                                      gboolean        do_listen);
/* A listening stream socket at @path with @backlog. */
int       ls_test_raw_listen         (const char     *path,
                                      int             backlog);
/* Connects to an abstract name as Qt 6 and GIO's
 * G_UNIX_SOCKET_ADDRESS_ABSTRACT do (unpadded, unless @padded); -1 on
 * failure, errno set. */
int       ls_test_raw_connect_abstract (const char   *name,
                                        gboolean      padded);
/* Leaves a socket file nobody listens on at @path (a crashed server). */
void      ls_test_make_stale_socket  (const char     *path);

/* A raw peer: an LsLocalSocket client connected to a raw listener at
 * "<dir>/r", the accepted descriptor kept. Clearing closes the raw sides
 * and removes the file. */
typedef struct
{
  char          *path;
  int            listen_fd;
  LsLocalSocket *client;
  int            peer_fd;
} LsTestRawPair;
void      ls_test_raw_pair_init      (LsTestRawPair  *pair,
                                      const char     *dir);
void      ls_test_raw_pair_clear     (LsTestRawPair  *pair);

/* A raw listener at "<dir>/full" with backlog 1 whose queue is full: a
 * non-blocking connect() to it fails with EAGAIN. */
typedef struct
{
  char   *path;
  int     listen_fd;
  GArray *fillers;
} LsTestBacklog;
void      ls_test_backlog_fill       (LsTestBacklog  *backlog,
                                      const char     *dir);
void      ls_test_backlog_clear      (LsTestBacklog  *backlog);

/* A blocking reader thread on a raw descriptor, checking the pattern of
 * @seed until end-of-file. */
typedef struct
{
  int      fd;
  guint    seed;
  guint64  total;
  gboolean mismatch;
  int      error;
  gint     done;
  GThread *thread;
} LsTestReader;
void      ls_test_reader_start       (LsTestReader   *reader,
                                      int             fd,
                                      guint           seed);
/* Waits (iterating the main context, 60 s at most) for the reader to see
 * end-of-file. */
void      ls_test_reader_finish      (LsTestReader   *reader);

/* Something a thread does to a raw descriptor 100 ms after it starts, so
 * that it happens while the test blocks inside a wait_for_* call (there is
 * no condition the thread could wait for instead: the caller is blocked). */
typedef enum
{
  LS_TEST_DELAYED_WRITE,
  LS_TEST_DELAYED_CLOSE,
  LS_TEST_DELAYED_ACCEPT,
  LS_TEST_DELAYED_CONNECT,
} LsTestDelayedAction;
typedef struct
{
  int                  fd;
  LsTestDelayedAction  action;
  const char          *text;   /* what to write; the path to connect to */
  int                  result; /* accept() / connect: the new descriptor */
  GThread             *thread;
} LsTestDelayed;
void      ls_test_delayed_start      (LsTestDelayed       *delayed,
                                      int                  fd,
                                      LsTestDelayedAction  action,
                                      const char          *text);
void      ls_test_delayed_join       (LsTestDelayed       *delayed);

/* ---- Files --------------------------------------------------------------- */

/* "ls-test-@tag-<pid>-<random>": an abstract or /tmp name nobody else uses. */
char     *ls_test_unique_name        (const char     *tag);
gboolean  ls_test_path_exists        (const char     *path);
gboolean  ls_test_path_is_socket     (const char     *path);
/* @strings sorted and joined by ','. */
char     *ls_test_join_sorted        (GPtrArray      *strings);
/* The sorted entries of @dir joined by ',' ("" when empty). */
char     *ls_test_dir_listing        (const char     *dir);
void      ls_test_write_file         (const char     *path,
                                      const char     *contents);
void      ls_test_assert_file_contents (const char   *path,
                                        const char   *expected);

/* What identifies a file: it is unchanged if all of it is. */
typedef struct
{
  dev_t  dev;
  ino_t  ino;
  mode_t mode;
  off_t  size;
} LsTestFileId;
void      ls_test_file_id_get        (const char     *path,
                                      LsTestFileId   *id);
void      ls_test_assert_file_unchanged (const char         *path,
                                         const LsTestFileId *before);

/* ---- Servers ------------------------------------------------------------- */

/* Records new-connection emissions (freed with the handler). */
typedef struct
{
  guint         count;
  guint         taken;      /* maintained by the test: sockets taken so far */
  guint         max_depth;  /* largest count - taken seen inside the handler */
  guint         not_queued; /* emissions where nothing was pending */
  GThread      *thread;
  GMainContext *context;    /* thread-default context inside the handler */
} LsTestConnLog;
LsTestConnLog *ls_test_conn_log_attach (LsLocalServer       *server);
/* Iterates until @log counts @target emissions or @timeout_ms passes. */
gboolean  ls_test_wait_count         (const LsTestConnLog *log,
                                      guint                target,
                                      int                  timeout_ms);

/* Reads exactly @len bytes from @socket, running the loop as needed. */
char     *ls_test_socket_read_n      (LsLocalSocket  *socket,
                                      gsize           len,
                                      int             timeout_ms);
void      ls_test_socket_write_str   (LsLocalSocket  *socket,
                                      const char     *text);
/* Both directions work between @socket and the raw peer @fd. */
void      ls_test_assert_exchange    (LsLocalSocket  *socket,
                                      int             fd,
                                      const char     *tag);
/* A raw client at @path (an abstract name if @abstract) gets a connection
 * from @server, and bytes go both ways. */
void      ls_test_assert_serves      (LsLocalServer  *server,
                                      const char     *path,
                                      gboolean        abstract);
/* The server-name and full-server-name, through getters and properties. */
void      ls_test_assert_names       (LsLocalServer  *server,
                                      const char     *server_name,
                                      const char     *full_name);
/* The listening descriptor is bound to exactly the unpadded @name. */
void      ls_test_assert_bound_abstract (LsLocalServer *server,
                                         const char    *name);
/* An Ls server's socket at @path was bound in a private directory beside
 * it before it was linked there: its address (@fd's own, or its peer's
 * with @peer) is “DIR/PRIVATE/NAME”, the private directory gone. */
void      ls_test_assert_private_address (int         fd,
                                          gboolean    peer,
                                          const char *path);
/* Never listened, or closed. */
void      ls_test_assert_server_fresh (LsLocalServer *server);

/* How many bytes of @message follow the first @needle. */
gsize     ls_test_text_after         (const char     *message,
                                      const char     *needle);
gsize     ls_test_str_len0           (const char     *s);

#define ls_test_assert_contains(haystack, needle)                              \
  G_STMT_START {                                                               \
    const char *h_ = (haystack), *n_ = (needle);                               \
    if (h_ == NULL || n_ == NULL || strstr (h_, n_) == NULL)                   \
      g_assertion_message_cmpstr (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, \
                                  #haystack " contains " #needle,              \
                                  h_, "contains", n_);                         \
  } G_STMT_END

/* A GError and the recorded server error both report @code, and the message
 * names the operation, the name/path and gives a reason beyond those. */
#define ls_test_assert_server_failure(server, error, code, operation, name)    \
  G_STMT_START {                                                               \
    g_assert_error ((error), LS_SOCKET_ERROR, (code));                         \
    if ((operation) != NULL)                                                   \
      ls_test_assert_contains ((error)->message, (operation));                 \
    if ((name) != NULL)                                                        \
      {                                                                        \
        ls_test_assert_contains ((error)->message, (name));                    \
        /* ...followed by the reason. */                                       \
        g_assert_cmpuint (ls_test_text_after ((error)->message, (name)), >=, 4); \
      }                                                                        \
    g_assert_cmpuint (strlen ((error)->message), >,                            \
                      ls_test_str_len0 (name) + ls_test_str_len0 (operation) + 4); \
    g_assert_cmpint (ls_local_server_get_server_error (server), ==, (code));   \
    if ((name) != NULL)                                                        \
      ls_test_assert_contains (ls_local_server_get_error_string (server), (name)); \
    else                                                                       \
      g_assert_cmpstr (ls_local_server_get_error_string (server), !=, "");     \
  } G_STMT_END

G_END_DECLS
