#!/usr/bin/python3
# single_instance_peer.py: one launch of an application that uses
# Ls.SingleInstance, for test_single_instance.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registers, then serves (primary) or sends MESSAGE (secondary).

Prints one line per event, flushed: "ready", "locked", "primary",
"secondary", "received HEX", "done", "sent", "failed CODE MESSAGE".

  --barrier-fd FD   print "ready", then wait for the end of FD (so that many
                    launches register at the same moment)
  --hold-lock S     first take the election lock as a primary does between
                    its lock and its bind, print "locked", hold it S seconds
  --expect N        primary: exit after N messages (0: serve until stdin ends)
  --linger          primary: after N messages print "done", then wait for the
                    end of stdin (the test may kill it meanwhile)
  --block           primary: do not run the main loop before a line arrives
                    on stdin (an application busy outside its main loop)
"""

import argparse
import fcntl
import os
import sys
import time

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Ls", "1.0")
from gi.repository import GLib, Ls  # noqa: E402

PROTOCOLS = {"ls": Ls.SingleInstanceProtocol.LS,
             "qt": Ls.SingleInstanceProtocol.QT_LOCAL_PEER}


def say(*parts):
    print(*parts, flush=True)


def hold_election_lock(instance, seconds):
    """Takes the lock a primary holds from its election to its listen:
    reclaim-stale's flock() on NAME.lock, or QtLocalPeer's fcntl() lock."""
    name = instance.props.server_name
    path = name if name.startswith("/") else os.path.join(
        os.environ.get("TMPDIR") or "/tmp", name)
    if instance.props.protocol == Ls.SingleInstanceProtocol.LS:
        fd = os.open(path + ".lock", os.O_RDONLY | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    else:
        fd = os.open(path + "-lockfile", os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.lockf(fd, fcntl.LOCK_EX)
    say("locked")
    time.sleep(seconds)
    os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--id", required=True)
    parser.add_argument("--protocol", choices=PROTOCOLS, default="ls")
    parser.add_argument("--timeout", type=int, default=30000)
    parser.add_argument("--barrier-fd", type=int)
    parser.add_argument("--hold-lock", type=float)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--linger", action="store_true")
    parser.add_argument("--block", action="store_true")
    parser.add_argument("message", nargs="?", default="")
    opts = parser.parse_args()

    instance = Ls.SingleInstance.new(opts.id, PROTOCOLS[opts.protocol])
    instance.props.timeout = opts.timeout
    if opts.barrier_fd is not None:
        say("ready")
        while os.read(opts.barrier_fd, 64):
            pass
    if opts.hold_lock is not None:
        hold_election_lock(instance, opts.hold_lock)

    try:
        instance.register(None)
    except GLib.Error as e:
        say("failed", e.code, e.message)
        return 1

    if not instance.props.is_primary:
        say("secondary")
        try:
            instance.send_message(GLib.Bytes.new(opts.message.encode()), None)
        except GLib.Error as e:
            say("failed", e.code, e.message)
            return 1
        say("sent")
        return 0

    say("primary")
    loop = GLib.MainLoop()
    received = []

    def on_message(_instance, message):
        data = bytes(message.get_data() or b"")
        received.append(data)
        say("received", data.hex())
        if opts.expect and len(received) >= opts.expect:
            loop.quit()

    def on_stdin(_fd, _condition):
        if not os.read(0, 4096):
            loop.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    instance.connect("message-received", on_message)
    if opts.block:
        sys.stdin.readline()   # the main loop does not run meanwhile
    if not opts.expect:
        GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, 0, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                              on_stdin)
    loop.run()
    if opts.linger:
        say("done")
        while os.read(0, 4096):
            pass
    instance.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
