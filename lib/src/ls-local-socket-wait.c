/* ls-local-socket-wait.c: the blocking wait_for_* calls of LsLocalSocket
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-local-socket-private.h"
#include "ls-deadline-private.h"

static void
record_timeout (LsLocalSocket *self,
                const char    *what,
                int            msec)
{
  ls_local_socket_record_errorf_internal (self, LS_SOCKET_ERROR_SOCKET_TIMEOUT,
                                          "Cannot wait for %s on “%s”: Socket operation timed out "
                                          "(%d ms)",
                                          what, ls_local_socket_display_name_internal (self), msec);
}

typedef enum
{
  WAIT_READY_READ,
  WAIT_BYTES_WRITTEN,
  WAIT_DISCONNECTED,
} WaitGoal;

static short
poll_events (LsLocalSocket *self)
{
  short events = 0;

  if (ls_local_socket_read_allowed_internal (self))
    events |= POLLIN;
  if (self->output.len > 0)
    events |= POLLOUT;
  return events;
}

/* Reads and writes as the event core would for what poll() reported in
 * @pfd. Returns whether that met @goal. */
static gboolean
handle_poll_result (LsLocalSocket *self,
                    WaitGoal       goal,
                    struct pollfd *pfd)
{
  /* Reading first, as in Qt: a wait for bytes written also takes in
   * (and announces) what arrived meanwhile. */
  if (pfd->revents & (POLLIN | POLLERR | POLLHUP))
    {
      /* A hang-up after the peer's last byte came: it has left. One
       * while the buffer is full waits, as in Qt, until the application
       * reads on or a write (below) fails. */
      if ((pfd->events & POLLIN) == 0)
        {
          if (self->read_eof)
            ls_local_socket_peer_gone_internal (self, 0, TRUE);
        }
      else if (ls_local_socket_read_and_notify_internal (self) && goal == WAIT_READY_READ)
        return TRUE;
    }
  if (self->fd >= 0 && self->output.len > 0 && (pfd->revents & (POLLOUT | POLLERR | POLLHUP)))
    {
      gssize written = ls_local_socket_flush_output_internal (self);

      if (goal == WAIT_BYTES_WRITTEN && written > 0)
        return TRUE;
    }
  return FALSE;
}

/* The loop behind the blocking calls: polls our own descriptor, reads and
 * writes as the event core would, until @goal is met, the connection ends
 * or the deadline passes. */
static gboolean
wait_for (LsLocalSocket *self,
          WaitGoal       goal,
          int            msec,
          const char    *what)
{
  gint64 deadline = ls_deadline_from_msec (msec);
  gboolean result = FALSE;
  guint life = self->life;

  /* Called from a handler of the connection's ending: nothing will come. */
  if (self->ending)
    return FALSE;
  ls_local_socket_hold_internal (self);
  /* Inside connect_to_server ()'s own CONNECTING emission there is no
   * attempt to wait for yet; Qt's wait then ends it. */
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING && self->starting_connect)
    {
      ls_local_socket_give_up_starting_connect_internal (self, what);
      goto out;
    }
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING &&
      !ls_local_socket_wait_for_connected (self, msec))
    goto out;

  /* Until the connection this wait was made for ends, even if a handler
   * starts another one meanwhile. */
  while (self->fd >= 0 && self->life == life)
    {
      struct pollfd pfd = { .fd = self->fd, .events = poll_events (self) };
      int n;

      /* Buffer full and nothing to write: nothing can happen until the
       * application reads, and a hang-up, which poll () reports whatever
       * it is asked, would wake us at once, again and again. */
      if (pfd.events == 0 && !self->read_eof)
        pfd.fd = -1;

      n = ls_poll_until (&pfd, 1, deadline);
      if (n == 0)
        {
          /* As in Qt, also for a zero timeout that found nothing to do
           * (but, deliberate fix 10, without error-occurred). */
          record_timeout (self, what, msec);
          break;
        }
      if (n < 0 || (pfd.revents & POLLNVAL))
        break;

      if (handle_poll_result (self, goal, &pfd))
        {
          result = TRUE;
          break;
        }
      /* Qt's waitForReadyRead () stops once the time is used up by what
       * it found (queued bytes written, say): that is no timeout. Its
       * other waits poll once more and record one. */
      if (goal == WAIT_READY_READ && ls_deadline_passed (deadline))
        break;
    }

  if (goal == WAIT_DISCONNECTED)
    result = self->life != life || self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED;

out:
  ls_local_socket_unhold_internal (self);
  return result;
}

/* One round of the blocking calls of the stream view
 * (ls-local-socket-io-stream.c): a poll of the descriptor, then the reads
 * and writes it allows, as wait_for () does; or, while connecting, the
 * next attempt after the back-off. @cancel_fd (-1 for none) becoming
 * readable ends the wait. FALSE when nothing more can happen (no
 * descriptor, or the connection is ending) or @cancel_fd is readable. */
gboolean
ls_local_socket_wait_step_internal (LsLocalSocket *self,
                                    int            cancel_fd)
{
  struct pollfd pfd[2] = {
    { .fd = cancel_fd, .events = POLLIN },
    { .fd = self->fd, .events = poll_events (self) },
  };
  nfds_t n_fds = cancel_fd >= 0 ? 1 : 0;
  int n;

  if (self->ending || self->fd < 0)
    return FALSE;
  if (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING)
    {
      /* Still connecting: the attempt made the rare part. */
      n = ls_poll_until (pfd, n_fds, ls_deadline_from_msec (MAX (self->rare->retry_ms, 1)));
      if (n != 0)
        return FALSE;
      ls_local_socket_hold_internal (self);
      ls_local_socket_cancel_retry_internal (self);
      ls_local_socket_try_connect_internal (self, TRUE);
      ls_local_socket_unhold_internal (self);
      return TRUE;
    }
  if (cancel_fd < 0)
    n = ls_poll_until (&pfd[1], 1, LS_DEADLINE_NEVER);
  else
    n = ls_poll_until (pfd, 2, LS_DEADLINE_NEVER);
  if (n < 0 || (pfd[1].revents & POLLNVAL) || (pfd[0].revents & POLLIN))
    return FALSE;
  ls_local_socket_hold_internal (self);
  handle_poll_result (self, WAIT_READY_READ, &pfd[1]);
  ls_local_socket_unhold_internal (self);
  return TRUE;
}

/**
 * ls_local_socket_wait_for_connected:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks while the socket is connecting (only while the server's listen
 * backlog is full), retrying with a bounded back-off.
 *
 * Returns: whether the socket is connected
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_connected (LsLocalSocket *self,
                                    int            msec)
{
  gint64 deadline;
  gboolean connected;

  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  deadline = ls_deadline_from_msec (msec);
  ls_local_socket_hold_internal (self);
  while (self->state == LS_LOCAL_SOCKET_STATE_CONNECTING && self->fd >= 0)
    {
      int left = ls_deadline_remaining_ms (deadline);

      ls_local_socket_cancel_retry_internal (self);
      ls_local_socket_try_connect_internal (self, FALSE);
      if (self->state != LS_LOCAL_SOCKET_STATE_CONNECTING)
        break;
      if (left == 0)
        {
          /* Still retrying in the background until connect-timeout. */
          record_timeout (self, "the connection", msec);
          ls_local_socket_try_connect_internal (self, TRUE);
          break;
        }
      /* Still connecting: the attempt made the rare part. */
      g_usleep ((gulong) MIN ((gint64) self->rare->retry_ms, left < 0 ? G_MAXINT : left) * 1000);
    }
  connected = self->state == LS_LOCAL_SOCKET_STATE_CONNECTED;
  ls_local_socket_unhold_internal (self);
  return connected;
}

/**
 * ls_local_socket_wait_for_ready_read:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until new data is buffered ([signal@Ls.LocalSocket::ready-read] is
 * emitted inside the call), the connection ends, or the time is up.
 * Queued output is written meanwhile.
 *
 * Returns: %TRUE if new data arrived
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_ready_read (LsLocalSocket *self,
                                     int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED ||
      self->state == LS_LOCAL_SOCKET_STATE_CLOSING)
    return FALSE;
  return wait_for (self, WAIT_READY_READ, msec, "ready read");
}

/**
 * ls_local_socket_wait_for_bytes_written:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until some queued data was written to the kernel
 * ([signal@Ls.LocalSocket::bytes-written] is emitted inside the call).
 *
 * Returns: %TRUE if data was written; %FALSE if nothing was queued, the
 *   connection ended or the time is up
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_bytes_written (LsLocalSocket *self,
                                        int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED || self->output.len == 0)
    return FALSE;
  return wait_for (self, WAIT_BYTES_WRITTEN, msec, "bytes written");
}

/**
 * ls_local_socket_wait_for_disconnected:
 * @self: a socket
 * @msec: milliseconds to wait; -1 waits forever
 *
 * Blocks until the socket is unconnected: the peer closed, or a
 * [method@Ls.LocalSocket.disconnect_from_server] finished writing.
 * Incoming data is buffered meanwhile.
 *
 * Returns: %TRUE if the socket became unconnected; %FALSE if it already was,
 *   or the time is up
 *
 * Since: 1.0
 */
gboolean
ls_local_socket_wait_for_disconnected (LsLocalSocket *self,
                                       int            msec)
{
  g_return_val_if_fail (LS_IS_LOCAL_SOCKET (self), FALSE);

  if (self->state == LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    return FALSE;
  return wait_for (self, WAIT_DISCONNECTED, msec, "disconnection");
}
