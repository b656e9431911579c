/* ls-local-socket-io.c: the I/O engine of LsLocalSocket: reading into the input
 * buffer (with received descriptors), sending the output queue, and the
 * paths by which a connection ends from the peer's side
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Linux 6.5; the headers may be older than the kernel. */
#ifndef SCM_PIDFD
# define SCM_PIDFD 0x04
#endif

/* Room for everything one read can bring with accept-fds: the peer's
 * credentials (SO_PASSCRED) and pidfd (SO_PASSPIDFD), which an application
 * may turn on through get_socket (), and one SCM_RIGHTS message of the
 * most descriptors the kernel sends at once. Anything less, and a
 * legitimate write of 253 descriptors would not fit. */
typedef union
{
  char           buf[CMSG_SPACE (sizeof (struct ucred)) + CMSG_SPACE (sizeof (int)) +
                     CMSG_SPACE (LS_FD_QUEUE_MAX_PER_MESSAGE * sizeof (int))];
  struct cmsghdr align;
} LsControlBuffer;

/* Inline here: every read and every flush ends with it. */
static inline void
update_watch (LsLocalSocket *self)
{
  LsWatchCondition events = 0;

  if (self->watch == NULL)
    return;
  /* The stream view polls the descriptor itself: the watch stays out of
   * the epoll set (deferred flushes still come through it). */
  if (G_UNLIKELY (self->view_polls))
    {
      ls_watch_set_events (self->watch, 0);
      return;
    }
  /* With the buffer full nothing is read, not even a hang-up: as in Qt,
   * the socket learns that the peer left when the application reads on
   * (or a write fails). */
  if (ls_local_socket_read_allowed_internal (self))
    events |= LS_WATCH_READ;
  /* Writability only matters once the kernel refused data; a flush that
   * is already scheduled needs no epoll_ctl round trip. */
  if (self->output.len > 0 && !self->flush_deferred)
    events |= LS_WATCH_WRITE;
  ls_watch_set_events (self->watch, events);
}

void
ls_local_socket_update_watch_internal (LsLocalSocket *self)
{
  update_watch (self);
}

static void
emit_peer_closed (LsLocalSocket *self,
                  int            errno_value)
{
  char *name = ls_local_socket_current_name_internal (self);

  /* Nothing more will come: a handler that waits returns at once instead
   * of finding the end again and reporting it a second time. */
  self->ending = TRUE;
  ls_local_socket_record_error_internal (self, LS_SOCKET_ERROR_PEER_CLOSED, NULL);
  self->closed_name = name != NULL ? g_ref_string_acquire (name) : NULL;
  self->closed_errno = errno_value;
  self->closed_message_due = TRUE;
  ls_local_socket_emit_recorded_error_internal (self);
}

/* The peer-closed sequence: error-occurred (PEER_CLOSED), then, as in Qt,
 * through CLOSING when the end was read, straight to UNCONNECTED when a
 * write found the peer gone (Qt aborts then). */
static void
peer_closed (LsLocalSocket *self,
             int            errno_value,
             gboolean       through_closing)
{
  if (self->tearing_down || self->fd < 0)
    return;
  emit_peer_closed (self, errno_value);
  if (self->fd >= 0 && !self->tearing_down)
    ls_local_socket_teardown_internal (self, through_closing);
}

/* The peer sent its last byte (end-of-file) while our output is still
 * queued. It may well be waiting for exactly that output (a request,
 * shutdown (SHUT_WR), then read the reply), so the output is delivered
 * before the socket closes, as in a graceful disconnect: the state is
 * CLOSING meanwhile. Closing at once would cut the reply short and the
 * peer would take the cut for a clean end. */
static void
peer_half_closed (LsLocalSocket *self)
{
  self->read_eof = TRUE;
  emit_peer_closed (self, 0);
  if (self->fd < 0 || self->tearing_down || self->state != LS_LOCAL_SOCKET_STATE_CONNECTED)
    return;
  ls_local_socket_set_state_internal (self, LS_LOCAL_SOCKET_STATE_CLOSING);
  if (self->fd < 0 || self->state != LS_LOCAL_SOCKET_STATE_CLOSING)
    return;
  if (self->output.len == 0)
    ls_local_socket_teardown_internal (self, FALSE);
  else
    {
      ls_local_socket_hold_while_closing_internal (self);
      update_watch (self);
    }
}

/* Takes the descriptors of @msg's control messages: appends those of
 * SCM_RIGHTS to *fds (when @fds is not NULL) and closes every other one
 * (SCM_PIDFD, or all of them when nobody will read). Returns the number
 * appended. */
static guint
take_control_fds (struct msghdr *msg,
                  int          **fds)
{
  const guint8 *control_end = (const guint8 *) msg->msg_control + msg->msg_controllen;
  guint n_fds = 0;

  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
    {
      const guint8 *data = CMSG_DATA (cmsg);
      gsize room = control_end > data ? (gsize) (control_end - data) : 0;
      guint count;

      if (cmsg->cmsg_level != SOL_SOCKET ||
          (cmsg->cmsg_type != SCM_RIGHTS && cmsg->cmsg_type != SCM_PIDFD) ||
          cmsg->cmsg_len < CMSG_LEN (0))
        continue;
      count = MIN (cmsg->cmsg_len - CMSG_LEN (0), room) / sizeof (int);
      if (cmsg->cmsg_type == SCM_RIGHTS && fds != NULL)
        {
          *fds = g_renew (int, *fds, n_fds + count);
          memcpy (*fds + n_fds, data, count * sizeof (int));
          n_fds += count;
        }
      else
        for (guint i = 0; i < count; i++)
          {
            int fd;

            memcpy (&fd, data + i * sizeof fd, sizeof fd);
            ls_fd_close_all (&fd, 1);
          }
    }
  return n_fds;
}

/* Closes the descriptors of a control message nobody will read. */
static void
discard_control (struct msghdr *msg)
{
  take_control_fds (msg, NULL);
}

/* Keeps the descriptors that came with the bytes just buffered, tied to
 * the end of those bytes. Lost descriptors (a truncated control message:
 * this process ran out of descriptors) and a peer that piles up more than
 * LS_FD_QUEUE_MAX_WAITING untaken ones are errors that end the connection
 * (fd_failure): silently losing or endlessly hoarding descriptors is not
 * an option.
 *
 * Without accept-fds the read had no room for control messages: the
 * kernel dropped what the peer sent (MSG_CTRUNC), which is only worth a
 * debug message; anything more would let a peer flood the log. */
static void
receive_fds (LsLocalSocket *self,
             struct msghdr *msg)
{
  int *fds = NULL;
  guint n_fds;

  if (msg->msg_control == NULL)
    {
      g_debug ("Dropped the control data (descriptors, or credentials) that came with data "
               "from “%s”: the socket does not accept descriptors (accept-fds is off)",
               ls_local_socket_display_name_internal (self));
      return;
    }

  n_fds = take_control_fds (msg, &fds);
  if (msg->msg_flags & MSG_CTRUNC)
    {
      ls_fd_close_all (fds, n_fds);
      g_free (fds);
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                                              "Cannot read from “%s”: Out of resources (descriptors "
                                              "sent with the data were lost: the control message was "
                                              "truncated, because this process is out of descriptors "
                                              "or the peer sent more than fit)",
                                              ls_local_socket_display_name_internal (self));
      self->fd_failure = TRUE;
      return;
    }
  if (n_fds == 0)
    return;
  if (self->fdq == NULL)
    self->fdq = ls_fd_queue_new ();
  if (ls_fd_queue_push_input (self->fdq, self->input.len, fds, n_fds) > LS_FD_QUEUE_MAX_WAITING)
    {
      ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_SOCKET_RESOURCE,
                                              "Cannot read from “%s”: Out of resources (the peer sent "
                                              "more than %u descriptors that the application did not "
                                              "take)",
                                              ls_local_socket_display_name_internal (self),
                                              LS_FD_QUEUE_MAX_WAITING);
      self->fd_failure = TRUE;
    }
}

/* Ends the connection after receive_fds() found a failure (recorded
 * there); the descriptors received so far are closed. */
static void
fail_for_fds (LsLocalSocket *self)
{
  self->fd_failure = FALSE;
  if (self->fdq != NULL)
    ls_fd_queue_clear_input (self->fdq);
  if (self->fd < 0 || self->tearing_down)
    return;
  ls_local_socket_hold_internal (self);
  ls_local_socket_emit_recorded_error_internal (self);
  if (self->fd >= 0 && !self->tearing_down)
    ls_local_socket_teardown_internal (self, FALSE);
  ls_local_socket_unhold_internal (self);
}

/* How much one read may take in: read-buffer-size bounds the buffer (a
 * frame being assembled raises the bound), except after close() and while
 * a gone peer's last bytes are taken in. 0 when the buffer is full. */
static inline gsize
read_space (LsLocalSocket *self)
{
  gint64 limit;

  if (self->read_buffer_size <= 0 || !self->is_open || self->draining)
    return LS_BLOCK_SIZE;
  limit = MAX (self->read_buffer_size, (gint64) self->message_need);
  if ((gint64) self->input.len >= limit)
    return 0;
  return MIN (LS_BLOCK_SIZE, (gsize) (limit - self->input.len));
}

/* Room for control messages only with accept-fds: descriptors sent to a
 * read without it are closed by the kernel before they are installed in
 * this process, and it flags the loss (MSG_CTRUNC), which a plain recv ()
 * could not tell. Measured with 64-byte send + read pairs on a socketpair:
 * recvmsg () without control room costs the same as with it, or up to 5 %
 * less; recv () would be about 11 % faster. */
static inline gssize
receive_message (LsLocalSocket   *self,
                 struct msghdr   *msg,
                 LsControlBuffer *control)
{
  gssize n;

  do
    {
      if (G_UNLIKELY (self->accept_fds))
        {
          msg->msg_control = control->buf;
          msg->msg_controllen = sizeof control->buf;
        }
      n = recvmsg (self->fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    }
  while (n < 0 && errno == EINTR);
  return n;
}

/* One receive into @msg's buffer. Returns how many bytes came; 0 when none
 * did, and then *eof says whether the connection ended (*eof_errno: 0 for
 * the peer's end-of-file, else the error) and the descriptors of a control
 * message that came without data are closed. */
static inline gsize
receive_data (LsLocalSocket   *self,
              struct msghdr   *msg,
              LsControlBuffer *control,
              int             *eof_errno,
              gboolean        *eof)
{
  gssize n = receive_message (self, msg, control);

  *eof = FALSE;
  *eof_errno = 0;
  if (n > 0)
    return n;
  if (n == 0)
    {
      *eof = TRUE;
      if (G_UNLIKELY (msg->msg_controllen > 0))
        discard_control (msg);
    }
  else if (errno != EAGAIN)
    {
      *eof = TRUE;
      *eof_errno = errno;
    }
  return 0;
}

/* Whether descriptors (or a lost control message) came with a read. */
static inline gboolean
has_control (struct msghdr *msg)
{
  return G_UNLIKELY (msg->msg_controllen > 0 || (msg->msg_flags & MSG_CTRUNC));
}

/* Moves what the kernel has into the input buffer: one recv() per
 * readiness event (level-triggered epoll reports the rest). Returns the
 * number of new bytes; sets *eof when the peer has closed. */
static gsize
fill_input (LsLocalSocket *self,
            int           *eof_errno,
            gboolean      *eof)
{
  LsControlBuffer control;
  struct iovec iov;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  guint8 *block;
  gsize n;

  *eof = FALSE;
  *eof_errno = 0;
  iov.iov_len = read_space (self);
  if (iov.iov_len == 0)
    return 0;
  iov.iov_base = ls_input_buffer_begin_read (&self->input, iov.iov_len, &block);
  n = receive_data (self, &msg, &control, eof_errno, eof);

  /* After close() dropped the read side, nobody will read what came. */
  if (G_UNLIKELY (n > 0 && !self->is_open))
    {
      if (msg.msg_controllen > 0)
        discard_control (&msg);
      n = 0;
    }
  if (n == 0)
    {
      ls_input_buffer_end_read (&self->input, block, 0);
      return 0;
    }

  /* Every caller announces the read, then settles the buffer. */
  ls_input_buffer_end_read_kept (&self->input, block, n);
  if (has_control (&msg))
    receive_fds (self, &msg);
  return n;
}

/* Emits ready-read for newly buffered bytes. Never recursively, as in Qt.
 * But data that arrived while a handler ran a nested main loop (a modal
 * dialog, say) is announced once the handler returns; Qt leaves it
 * unannounced until more data comes, which stalls a request/response peer. */
static void
announce_ready_read (LsLocalSocket *self)
{
  if (self->emitting_ready_read)
    {
      self->ready_read_missed = TRUE;
      return;
    }
  do
    {
      self->ready_read_missed = FALSE;
      self->emitting_ready_read = TRUE;
      ls_local_socket_emit_ready_read_internal (self);
      self->emitting_ready_read = FALSE;
    }
  while (self->ready_read_missed && self->input.len > 0 && self->fd >= 0);
}

/* A read found the connection's end (@eof_errno 0: the peer's
 * end-of-file): the peer-closed sequence, after our queued output when the
 * peer only finished sending. */
static void
read_ended (LsLocalSocket *self,
            int            eof_errno)
{
  if (eof_errno == 0 && self->output.len > 0 && self->fd >= 0)
    peer_half_closed (self);
  else
    peer_closed (self, eof_errno, TRUE);
}

/* Reads, emits ready-read and handles end-of-file. Returns whether new
 * bytes arrived. */
gboolean
ls_local_socket_read_and_notify_internal (LsLocalSocket *self)
{
  gboolean eof;
  int eof_errno;
  gsize got;

  got = fill_input (self, &eof_errno, &eof);
  if (G_UNLIKELY (self->fd_failure))
    {
      fail_for_fds (self);
      ls_input_buffer_settle (&self->input);
      return FALSE;
    }
  if (got > 0)
    {
      announce_ready_read (self);
      ls_input_buffer_settle (&self->input);
    }
  if (eof)
    read_ended (self, eof_errno);
  else
    update_watch (self);
  return got > 0;
}

gssize
ls_local_socket_receive_into_internal (LsLocalSocket *self,
                                       guint8        *dest,
                                       gsize          count)
{
  LsControlBuffer control;
  struct iovec iov = { .iov_base = dest, .iov_len = count };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  gboolean eof;
  int eof_errno;
  gsize n;

  g_assert (self->input.len == 0 && self->is_open && count > 0);

  if (self->fd < 0 || self->tearing_down || self->ending || self->read_eof)
    return -1;
  n = receive_data (self, &msg, &control, &eof_errno, &eof);
  if (n > 0)
    {
      /* The bytes are consumed as they arrive: descriptors that came with
       * them are tied to their end, takeable at once, as if they had been
       * buffered and read. A frame read_message () was waiting for is
       * forgotten, as when a read empties the buffer. */
      if (G_UNLIKELY (self->fdq != NULL))
        ls_fd_queue_consumed (self->fdq, n);
      self->message_need = 0;
      if (has_control (&msg))
        {
          receive_fds (self, &msg);
          if (G_UNLIKELY (self->fd_failure))
            {
              ls_local_socket_hold_internal (self);
              fail_for_fds (self);
              ls_local_socket_unhold_internal (self);
            }
        }
      return n;
    }
  if (!eof)
    return -1;
  ls_local_socket_hold_internal (self);
  read_ended (self, eof_errno);
  ls_local_socket_unhold_internal (self);
  return 0;
}

/* The peer has gone, and a write found it out (or its hang-up came after
 * its last byte). What it sent before leaving is bounded by the kernel's
 * socket buffer, so all of it is taken in now, past read-buffer-size: the
 * connection can then end at once without losing a byte, and without
 * waiting for the application to make room (a socket whose reader is slow
 * would otherwise stay connected, accepting writes that go nowhere). Our
 * queued output can no longer be delivered. A hang-up noticed while the
 * read buffer is full does not come here: as in Qt, the socket stays
 * connected until the application reads on or a write fails. */
void
ls_local_socket_peer_gone_internal (LsLocalSocket *self,
                                    int            errno_value,
                                    gboolean       through_closing)
{
  gboolean eof = FALSE;
  gboolean got = FALSE;
  int eof_errno = 0;

  ls_local_socket_clear_output_internal (self);
  self->draining = TRUE;
  while (self->fd >= 0 && !self->read_eof && !eof && !self->fd_failure &&
         fill_input (self, &eof_errno, &eof) > 0)
    got = TRUE;
  self->draining = FALSE;
  if (G_UNLIKELY (self->fd_failure))
    {
      fail_for_fds (self);
      ls_input_buffer_settle (&self->input);
      return;
    }
  if (got)
    announce_ready_read (self);
  ls_input_buffer_settle (&self->input);
  if (self->fd < 0 || self->tearing_down)
    return;
  /* After a half-close the error was reported already. */
  if (self->read_eof)
    ls_local_socket_teardown_internal (self, FALSE);
  else
    peer_closed (self, errno_value ? errno_value : eof_errno, through_closing);
}

/* Puts @n_fds descriptors into @msg as one SCM_RIGHTS message. */
static void
attach_fds (struct msghdr   *msg,
            LsControlBuffer *control,
            const int       *fds,
            guint            n_fds)
{
  struct cmsghdr *cmsg;

  msg->msg_control = control->buf;
  msg->msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
  memset (control->buf, 0, msg->msg_controllen);
  cmsg = CMSG_FIRSTHDR (msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
  memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
}

/* Sets up @msg for the next send of queued output; returns the
 * descriptors that go with it, or NULL. A byte that carries descriptors
 * starts a send of its own, so that a partial send never separates them
 * from it. */
static inline const int *
prepare_send (LsLocalSocket   *self,
              struct msghdr   *msg,
              LsControlBuffer *control)
{
  const int *fds = NULL;
  guint n_fds = 0;
  gsize limit = G_MAXSIZE;

  if (G_UNLIKELY (self->fdq != NULL))
    fds = ls_fd_queue_plan_send (self->fdq, &n_fds, &limit);
  msg->msg_iovlen = ls_output_queue_fill_iov (&self->output, msg->msg_iov,
                                              LS_OUTPUT_QUEUE_MAX_IOV, limit);
  if (G_UNLIKELY (fds != NULL))
    attach_fds (msg, control, fds, n_fds);
  return fds;
}

/* A send failed with @errno_value (neither EINTR nor EAGAIN): the
 * connection ends. */
static void
write_failed (LsLocalSocket *self,
              int            errno_value)
{
  ls_local_socket_hold_internal (self);
  if (errno_value == EPIPE || errno_value == ECONNRESET)
    ls_local_socket_peer_gone_internal (self, errno_value, FALSE);
  else if (!self->tearing_down && self->fd >= 0)
    {
      ls_local_socket_emit_error_internal (self, LS_SOCKET_ERROR_CONNECTION,
                                           g_strdup_printf ("Cannot write to “%s”: Connection error (%s)",
                                                            ls_local_socket_display_name_internal (self),
                                                            g_strerror (errno_value)));
      if (self->fd >= 0 && !self->tearing_down)
        ls_local_socket_teardown_internal (self, FALSE);
    }
  ls_local_socket_unhold_internal (self);
}

/* After a flush that wrote @total bytes: bytes-written, then the end of a
 * graceful close whose output is all out. Never recursively, as in Qt; but
 * what a handler's own flush wrote is announced once the handler returns
 * (Qt leaves it unannounced, and a writer that waits for bytes-written to
 * send more then stalls). */
static void
announce_bytes_written (LsLocalSocket *self,
                        gssize         total)
{
  gboolean notify;

  /* The outer announcement below made the rare part. */
  if (total > 0 && self->emitting_bytes_written)
    self->rare->written_unannounced += total;
  notify = total > 0 && !self->emitting_bytes_written &&
           ls_local_socket_has_bytes_written_handler_internal (self);
  if (!notify && self->state != LS_LOCAL_SOCKET_STATE_CLOSING &&
      (total <= 0 || G_LIKELY (!ls_local_socket_has_event_hook_internal (self))))
    return;

  /* on_watch () holds no reference for a flush: this is the first emission. */
  ls_local_socket_hold_internal (self);
  /* Every flush, also one nested in a handler: the hooks count bytes, and
   * hear of these before the handlers run, one of which may end the
   * connection (abort, or connect again while closing): the count of what
   * that connection handed to the kernel is then complete. */
  if (total > 0)
    ls_local_socket_event_notify_internal (ls_local_socket_event_hold_internal (self),
                                           LS_SOCKET_EVENT_BYTES_WRITTEN, total);
  if (notify)
    {
      LsLocalSocketRare *rare = ls_local_socket_rare_internal (self);
      gint64 announce = total;

      do
        {
          rare->written_unannounced = 0;
          self->emitting_bytes_written = TRUE;
          ls_local_socket_emit_bytes_written_internal (self, announce);
          self->emitting_bytes_written = FALSE;
          announce = rare->written_unannounced;
        }
      while (announce > 0 && self->fd >= 0);
      rare->written_unannounced = 0;
    }
  if (self->state == LS_LOCAL_SOCKET_STATE_CLOSING && self->output.len == 0 &&
      self->fd >= 0 && !self->tearing_down)
    ls_local_socket_teardown_internal (self, FALSE);
  ls_local_socket_unhold_internal (self);
}

gssize
ls_local_socket_flush_output_internal (LsLocalSocket *self)
{
  gssize total = 0;

  self->flush_deferred = FALSE;
  while (self->fd >= 0 && self->output.head != NULL)
    {
      struct iovec iov[LS_OUTPUT_QUEUE_MAX_IOV];
      struct msghdr msg = { .msg_iov = iov };
      LsControlBuffer control;
      const int *fds = prepare_send (self, &msg, &control);
      gssize n;

      if (msg.msg_iovlen == 1 && fds == NULL)
        n = send (self->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
      else
        n = sendmsg (self->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          if (saved_errno == EAGAIN)
            break;
          write_failed (self, saved_errno);
          return -1;
        }

      total += n;
      if (G_UNLIKELY (self->fdq != NULL))
        ls_fd_queue_sent (self->fdq, n, fds != NULL);
      ls_output_queue_consume (&self->output, n);
    }

  /* A flush changes the output only: the read interest is as the last
   * change of the input left it (every such change updates the watch), and
   * the write interest is wanted exactly while output is left (the flush
   * is no longer deferred). Nearly always nothing is left, nor was writing
   * watched: the interest is unchanged. */
  if (self->watch != NULL &&
      G_UNLIKELY ((self->output.len > 0) != ((self->watch->events & LS_WATCH_WRITE) != 0)))
    update_watch (self);
  announce_bytes_written (self, total);
  return total;
}

static void
on_watch (gpointer         owner,
          LsWatchCondition condition)
{
  LsLocalSocket *self = owner;
  gboolean reading = (condition & LS_WATCH_READ) && self->fd >= 0;

  /* Handlers may drop the last reference. Reading always emits, so it
   * holds one; flush_output() takes its own only when it emits, which
   * spares the common deferred flush a ref/unref pair. */
  if (reading)
    {
      ls_local_socket_hold_internal (self);
      /* The stream view may take the event (see LsDirectReadFunc). Only
       * here: the blocking waits read for themselves. */
      if (!(G_UNLIKELY (self->input.len == 0 && self->rare != NULL &&
                        self->rare->direct_read != NULL) &&
            self->rare->direct_read (self, self->rare->direct_read_data)))
        ls_local_socket_read_and_notify_internal (self);
    }
  if ((condition & (LS_WATCH_WRITE | LS_WATCH_DEFERRED)) && self->fd >= 0 && self->output.len > 0)
    ls_local_socket_flush_output_internal (self);
  else if ((condition & LS_WATCH_DEFERRED) && self->state == LS_LOCAL_SOCKET_STATE_CLOSING &&
           self->fd >= 0 && !self->tearing_down)
    {
      ls_local_socket_hold_internal (self);
      ls_local_socket_teardown_internal (self, FALSE);
      ls_local_socket_unhold_internal (self);
    }
  if (reading)
    ls_local_socket_unhold_internal (self);
}

gboolean
ls_local_socket_attach_fd_internal (LsLocalSocket *self,
                                    LsEventCore   *core,
                                    int            fd)
{
  self->fd = fd;
  self->view_polls = FALSE;
  if (self->core != core)
    {
      g_clear_pointer (&self->core, ls_event_core_unref);
      self->core = core;
    }
  /* No main loop serves the socket: only its blocking calls drive it. */
  if (core == NULL)
    return TRUE;
  self->watch = ls_watch_new (core, fd, LS_WATCH_READ, on_watch, self);
  if (self->watch == NULL)
    return FALSE;
  update_watch (self);
  return TRUE;
}
