#!/usr/bin/python3
# single_instance.py: a single-instance application with Ls
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A single-instance application built on Ls (PyGObject).

The first launch becomes the *primary* instance: it listens on a per-user
name (socket mode 0700, Ls.SocketOptions.USER_ACCESS) and prints the
arguments that later launches forward to it. A later launch (*secondary*)
connects, sends its arguments, waits for the acknowledgement and exits.

A primary that crashed leaves its socket file behind; connecting to it gives
Ls.SocketError.CONNECTION_REFUSED. The next launch then takes over: its
server has the reclaim-stale property set, so listen() replaces a socket on
which nothing listens, under a lock that makes exactly one of several
launches starting at once the new primary (never remove_server() before
listen(): that deletes a live primary's socket and races with other
launches; see docs/single-instance.md).

Usage:
    single_instance.py [--name NAME] [--quit-after N] [ARG...]

    --name NAME       the server name (default: $XDG_RUNTIME_DIR/ls-single-instance,
                      else "ls-single-instance-<uid>" in $TMPDIR or /tmp)
    --quit-after N    primary only: exit after N forwarded launches (0 = never)

Wire protocol (one request per connection): the secondary sends its
arguments as one line holding a JSON array of strings; the primary answers
"OK\\n" (or "ERR\\n" for a malformed request).

Run from the build tree with:
    GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \\
        /usr/bin/python3 examples/single_instance.py hello
"""

import argparse
import json
import os
import signal
import sys

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Ls", "1.0")
from gi.repository import GLib, Ls  # noqa: E402

MAX_REQUEST = 64 * 1024     # a request line larger than this is refused
REPLY_TIMEOUT_MS = 10000    # how long a secondary waits for the primary
ATTEMPTS = 5                # connect/listen races with concurrent launches


def default_name():
    # $XDG_RUNTIME_DIR is private to the user: the best place for a
    # per-user socket. Elsewhere, put the uid in the name.
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "ls-single-instance")
    return "ls-single-instance-%d" % os.getuid()


def say(*parts):
    print(*parts, flush=True)


def forward(name, arguments):
    """Tries to hand @arguments to a running primary.

    Returns None when they were delivered, otherwise the Ls.SocketError
    that explains why no primary could be reached."""
    sock = Ls.LocalSocket()
    sock.connect_to_server(name)
    if sock.get_state() != Ls.LocalSocketState.CONNECTED:
        return sock.get_error()

    request = (json.dumps(arguments) + "\n").encode("utf-8")
    sock.write(request)
    # No main loop in a secondary: the blocking Qt-style calls are simplest.
    while not sock.can_read_line():
        if not sock.wait_for_ready_read(REPLY_TIMEOUT_MS):
            raise RuntimeError("the running instance did not answer: %s"
                               % sock.get_error_string())
    reply = sock.read_line(0).get_data()
    sock.disconnect_from_server()
    if reply != b"OK\n":
        raise RuntimeError("the running instance refused the request: %r" % reply)
    return None


class Primary:
    def __init__(self, name, quit_after):
        self.quit_after = quit_after
        self.received = 0
        self.clients = set()
        self.loop = GLib.MainLoop()
        self.server = Ls.LocalServer()
        # Only this user may connect; applied before the name is visible.
        self.server.set_socket_options(Ls.SocketOptions.USER_ACCESS)
        # Replace the socket of a crashed primary, never a live one's.
        self.server.set_reclaim_stale(True)
        self.server.connect("new-connection", self.on_new_connection)
        self.server.listen(name)  # raises GLib.Error

    def on_new_connection(self, server):
        while True:
            sock = server.next_pending_connection()
            if sock is None:
                break
            self.clients.add(sock)
            sock.connect("ready-read", self.on_ready_read)
            sock.connect("disconnected", self.on_disconnected)
            # Data may already be buffered.
            self.on_ready_read(sock)

    def on_disconnected(self, sock):
        self.clients.discard(sock)

    def on_ready_read(self, sock):
        while sock.can_read_line():
            line = sock.read_line(0).get_data()
            try:
                arguments = json.loads(line.decode("utf-8"))
                if not isinstance(arguments, list) or \
                        not all(isinstance(a, str) for a in arguments):
                    raise ValueError("not a list of strings")
            except ValueError:
                sock.write(b"ERR\n")
                continue
            say("received:", json.dumps(arguments, ensure_ascii=False))
            sock.write(b"OK\n")
            sock.flush()
            self.received += 1
            if self.quit_after and self.received >= self.quit_after:
                GLib.idle_add(self.quit)
        if sock.get_bytes_available() > MAX_REQUEST:
            sock.abort()

    def quit(self):
        # Let the last answers go out before tearing down.
        for sock in list(self.clients):
            if sock.get_bytes_to_write() > 0:
                sock.wait_for_bytes_written(1000)
            sock.disconnect_from_server()
        self.server.close()  # removes the socket file
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def run(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, self.quit)
        self.loop.run()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=default_name())
    parser.add_argument("--quit-after", type=int, default=0, metavar="N")
    parser.add_argument("arguments", nargs="*")
    opts = parser.parse_args(argv)

    for _attempt in range(ATTEMPTS):
        try:
            error = forward(opts.name, opts.arguments)
        except RuntimeError as e:
            say("secondary:", e)
            return 1
        if error is None:
            say("secondary: forwarded", json.dumps(opts.arguments, ensure_ascii=False))
            return 0

        if error == Ls.SocketError.CONNECTION_REFUSED:
            # A socket file nobody listens on: a crashed primary. Take
            # over: listen() reclaims it (Primary sets reclaim-stale).
            say("primary: reclaiming stale socket", opts.name)
        elif error != Ls.SocketError.SERVER_NOT_FOUND:
            say("cannot reach or replace the running instance (%s)" % error.value_nick)
            return 1

        try:
            primary = Primary(opts.name, opts.quit_after)
        except GLib.Error as e:
            if e.matches(Ls.socket_error_quark(), Ls.SocketError.ADDRESS_IN_USE):
                continue  # another launch won the race: forward to it
            say("primary: cannot listen:", e.message)
            return 1
        say("primary: listening on", primary.server.get_full_server_name())
        say("primary: own arguments:", json.dumps(opts.arguments, ensure_ascii=False))
        primary.run()
        say("primary: exiting after", primary.received, "forwarded launch(es)")
        return 0

    say("gave up after %d attempts" % ATTEMPTS)
    return 1


if __name__ == "__main__":
    sys.exit(main())
