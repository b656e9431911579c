#!/usr/bin/python3
# qt_single_instance_peer.py: the single-instance pattern with a Qt program
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Talk to a Qt single-instance application with Ls (PyGObject).

Qt programs built like QtSingleApplication frame their messages with
QDataStream: a 32-bit big-endian length, then the bytes. Ls speaks the same
framing with Ls.LocalSocket.write_message() and read_message(), so this
script can take either role next to a Qt program:

    qt_single_instance_peer.py second --name NAME [--stdin] [ARG...]
        The second instance: connects to the first instance (Qt or Ls),
        sends its arguments as one framed message (UTF-8, separated by NUL
        bytes; with --stdin, the bytes of standard input instead), waits for
        the framed reply "ack" and exits 0.

    qt_single_instance_peer.py first --name NAME [--quit-after N]
        The first instance: listens, prints every framed message it receives
        ("received N bytes sha256=H" and, for short ones, the arguments),
        answers each with a framed "ack"; exits after N messages (0 = never).

The Qt side of the same exchange, in C++:

    QDataStream out(&socket);                   // second instance
    out << QByteArray(arguments.join('\\0').toUtf8());
    ...
    QDataStream in(&socket);                    // first instance, on readyRead
    in.startTransaction();
    QByteArray message;
    in >> message;
    if (!in.commitTransaction())
        return;                                 // wait for the rest
    out << QByteArray("ack");

Run from the build tree with:
    GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \\
        /usr/bin/python3 examples/qt_single_instance_peer.py first --name /tmp/app
"""

import argparse
import hashlib
import json
import signal
import sys

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Ls", "1.0")
from gi.repository import GLib, Ls  # noqa: E402

ACK = b"ack"
REPLY_TIMEOUT_MS = 30000
MAX_MESSAGE = 64 * 1024 * 1024   # a first instance accepts messages up to this size


def say(*parts):
    print(*parts, flush=True)


def second(name, message):
    """Sends @message to the first instance and waits for its "ack"."""
    sock = Ls.LocalSocket()
    sock.connect_to_server(name)
    if sock.get_state() != Ls.LocalSocketState.CONNECTED:
        say("second: no first instance at %s: %s" % (name, sock.get_error_string()))
        return 2
    sock.write_message(GLib.Bytes.new(message))
    # No main loop needed here: the blocking Qt-style calls are simplest.
    # They also write the queued message out while waiting.
    while True:
        reply = sock.read_message()     # None until the whole frame is in
        if reply is not None:
            break
        if not sock.wait_for_ready_read(REPLY_TIMEOUT_MS):
            say("second: no answer: %s" % sock.get_error_string())
            return 1
    reply = reply.get_data() or b""
    sock.disconnect_from_server()
    if bytes(reply) != ACK:
        say("second: unexpected answer %r" % bytes(reply))
        return 1
    say("second: sent %d bytes, got ack" % len(message))
    return 0


class First:
    def __init__(self, name, quit_after):
        self.quit_after = quit_after
        self.received = 0
        self.clients = set()
        self.loop = GLib.MainLoop()
        self.server = Ls.LocalServer()
        self.server.connect("new-connection", self.on_new_connection)
        self.server.listen(name)  # raises GLib.Error

    def on_new_connection(self, server):
        while True:
            sock = server.next_pending_connection()
            if sock is None:
                break
            sock.set_max_message_size(MAX_MESSAGE)
            self.clients.add(sock)
            sock.connect("ready-read", self.on_ready_read)
            sock.connect("disconnected", self.clients.discard)
            self.on_ready_read(sock)  # data may already be buffered

    def on_ready_read(self, sock):
        while True:
            try:
                message = sock.read_message()
            except GLib.Error as e:      # DATAGRAM_TOO_LARGE: a bad peer
                say("first: dropping a client:", e.message)
                sock.abort()
                return
            if message is None:          # the rest has not arrived yet
                return
            data = bytes(message.get_data() or b"")
            say("received %d bytes sha256=%s" % (len(data), hashlib.sha256(data).hexdigest()))
            try:
                arguments = data.decode("utf-8").split("\0") if data else []
                if len(data) <= 4096:
                    say("arguments:", json.dumps(arguments, ensure_ascii=False))
            except UnicodeDecodeError:
                pass                     # not arguments: just report the size
            sock.write_message(GLib.Bytes.new(ACK))
            self.received += 1
            if self.quit_after and self.received >= self.quit_after:
                GLib.idle_add(self.quit)

    def quit(self):
        for sock in list(self.clients):
            while sock.get_bytes_to_write() > 0 and sock.wait_for_bytes_written(1000):
                pass
            sock.disconnect_from_server()
        self.server.close()
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def run(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, self.quit)
        self.loop.run()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["first", "second"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--quit-after", type=int, default=0, metavar="N")
    parser.add_argument("--stdin", action="store_true",
                        help="second: send standard input instead of the arguments")
    parser.add_argument("arguments", nargs="*")
    opts = parser.parse_intermixed_args(argv)

    if opts.role == "second":
        if opts.stdin:
            message = sys.stdin.buffer.read()
        else:
            message = "\0".join(opts.arguments).encode("utf-8")
        return second(opts.name, message)

    try:
        first = First(opts.name, opts.quit_after)
    except GLib.Error as e:
        say("first: cannot listen:", e.message)
        return 1
    say("first: listening on", first.server.get_full_server_name())
    first.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
