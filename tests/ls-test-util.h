/* ls-test-util.h: helpers shared by the C test programs */
#pragma once

#include <ls/ls.h>

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

/* Writes @text on @from and asserts that @to receives exactly it, using the
 * blocking calls (no main loop needed). */
void      ls_test_send_and_expect    (LsLocalSocket  *from,
                                      LsLocalSocket  *to,
                                      const char     *text);

/* The number of open descriptors of this process (/proc/self/fd). */
guint     ls_test_count_open_fds     (void);

/* Plain blocking socket() + connect() to a file path; -1 on failure. */
int       ls_test_raw_connect        (const char *path);

G_END_DECLS
