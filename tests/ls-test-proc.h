/* ls-test-proc.h: process helpers for the tests (fork, users); GLib only,
 * so that the unit tests of the private modules can use them too */
#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/* fork() with the TAP output flushed first, so it is not written twice. */
pid_t     ls_test_fork               (void);
/* Waits for @pid; kills it after @timeout_ms. Returns the wait status. */
int       ls_test_wait_child         (pid_t pid,
                                      int   timeout_ms);
/* Fails the test unless @pid exits with status 0 within @timeout_ms. */
void      ls_test_assert_child_ok    (pid_t pid,
                                      int   timeout_ms);
/* Becomes the user "nobody" (for the "other user" of permission tests). */
gboolean  ls_test_drop_to_nobody     (void);

G_END_DECLS
