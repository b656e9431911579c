/* ls-fd-queue-private.h: descriptors travelling with a socket's byte stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(LS_COMPILATION)
# error "ls-fd-queue-private.h is private to Ls."
#endif

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

G_BEGIN_DECLS

/* The most descriptors one SCM_RIGHTS message carries (the kernel's
 * SCM_MAX_FD). */
#define LS_FD_QUEUE_MAX_PER_MESSAGE 253
/* The most received descriptors that may wait untaken on one socket. */
#define LS_FD_QUEUE_MAX_WAITING     1024

/* Allocated by a socket the first time it sends or receives descriptors;
 * sockets that never do carry only a NULL pointer.
 *
 * Positions are byte counts since the queue was made: on the output side
 * the bytes handed to the kernel (out_sent), on the input side the bytes
 * the application consumed (in_read). A socket passes its own unsent
 * (out_len) or unread (in_len) byte count, which turns those into stream
 * positions. */
typedef struct _LsFdQueue LsFdQueue;

LsFdQueue   *ls_fd_queue_new               (void);
/* Closes every descriptor still held. */
void         ls_fd_queue_free              (LsFdQueue   *queue);

/* Output: @fds (owned, @n_fds of them) go with the @size bytes written
 * after the @unsent bytes queued so far. */
void         ls_fd_queue_push_output       (LsFdQueue   *queue,
                                            gsize        unsent,
                                            gsize        size,
                                            int         *fds,
                                            guint        n_fds);
/* Plans the next send: returns the descriptors that must go with its first
 * byte (or NULL, *n_fds 0) and sets *limit to the most bytes the send may
 * carry (G_MAXSIZE: no limit): the byte carrying the next descriptors
 * starts a send of its own, and a send that carries descriptors ends where
 * the write they came with ends. */
const int   *ls_fd_queue_plan_send         (LsFdQueue   *queue,
                                            guint       *n_fds,
                                            gsize       *limit);
/* @n bytes were sent; @with_fds says whether the planned descriptors went
 * with them (then they are closed here). */
void         ls_fd_queue_sent              (LsFdQueue   *queue,
                                            gsize        n,
                                            gboolean     with_fds);
/* The output was dropped: closes what was waiting to be sent. */
void         ls_fd_queue_clear_output      (LsFdQueue   *queue);
gboolean     ls_fd_queue_has_output        (LsFdQueue   *queue);

/* Input: @fds (owned) arrived in a read that left @unread bytes buffered;
 * they become takeable once all of those are consumed. Returns the number
 * of received descriptors now waiting. */
guint        ls_fd_queue_push_input        (LsFdQueue   *queue,
                                            gsize        unread,
                                            int         *fds,
                                            guint        n_fds);
void         ls_fd_queue_consumed          (LsFdQueue   *queue,
                                            gsize        n);
/* The descriptors of consumed bytes, in arrival order (transfer full), or
 * NULL when there are none. */
GUnixFDList *ls_fd_queue_take_input        (LsFdQueue   *queue);
/* Whether received descriptors are waiting, takeable or not. */
gboolean     ls_fd_queue_has_input         (LsFdQueue   *queue);
/* The input was dropped: closes every received descriptor. */
void         ls_fd_queue_clear_input       (LsFdQueue   *queue);

/* Closes @n_fds descriptors. */
void         ls_fd_close_all               (const int   *fds,
                                            guint        n_fds);

G_END_DECLS
