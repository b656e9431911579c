/* ls-test-util.h: helpers shared by the C test programs */
#pragma once

#include <sys/types.h>

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

G_END_DECLS
