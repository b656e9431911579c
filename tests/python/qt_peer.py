#!/usr/bin/python3
# qt_peer.py: the Qt 5 (PySide2) side of the Qt interoperability tests.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs in its own process so that Qt's event loop and GLib's never share a
# thread. It speaks a trivial protocol with the Ls side of the test: both
# ends write their payload as soon as the connection is up and read until
# they have received the other side's payload; then the end chosen as the
# "closer" disconnects and the other end waits for the peer to close.
#
#   qt_peer.py client --name NAME [--size N --seed S --expect N --close] [--abstract]
#   qt_peer.py server --name NAME [--size N --seed S --expect N --close] [--options user|group|other|world]
#
# The server prints one line "LISTENING {json}" once it listens. Both modes
# print one line "RESULT {json}" describing what they observed, then exit 0
# (or 3 on the safety timeout, 2 if the connection could not be made).

import argparse
import hashlib
import json
import random
import sys

from PySide2.QtCore import QCoreApplication, QObject, QTimer
from PySide2.QtNetwork import QLocalServer, QLocalSocket


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def emit(tag, obj):
    sys.stdout.write(tag + " " + json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def enum_int(value):
    try:
        return int(value)
    except TypeError:
        return int(getattr(value, "value", -100))


class Peer(QObject):
    """Drives one QLocalSocket through the exchange and records what it sees."""

    def __init__(self, app, sock, args):
        super().__init__()
        self.app = app
        self.sock = sock
        self.args = args
        self.hash = hashlib.sha256()
        self.received = 0
        self.closing = False
        self.finished = False
        self.result = {
            "connected": sock.state() == QLocalSocket.ConnectedState,
            "full_server_name": sock.fullServerName(),
            "server_name": sock.serverName(),
            "errors": [],
            "states": [],
            "disconnected": 0,
            "read_channel_finished": 0,
            "timeout": False,
        }
        sock.readyRead.connect(self.on_ready_read)
        sock.disconnected.connect(self.on_disconnected)
        sock.errorOccurred.connect(self.on_error)
        sock.stateChanged.connect(self.on_state)
        sock.readChannelFinished.connect(self.on_read_channel_finished)

    def start(self):
        data = payload(self.args.size, self.args.seed)
        written = self.sock.write(data) if data else 0
        self.result["write_returned"] = written
        self.maybe_close()

    def on_ready_read(self):
        data = bytes(self.sock.readAll())
        self.hash.update(data)
        self.received += len(data)
        self.maybe_close()

    def maybe_close(self):
        if self.args.close and not self.closing and self.received >= self.args.expect:
            self.closing = True
            self.sock.disconnectFromServer()

    def on_error(self, err):
        self.result["errors"].append(enum_int(err))

    def on_state(self, state):
        self.result["states"].append(enum_int(state))

    def on_read_channel_finished(self):
        self.result["read_channel_finished"] += 1

    def on_disconnected(self):
        self.result["disconnected"] += 1
        # Whatever arrived before the close stays readable (Qt keeps the
        # device open); take it so the hash covers everything.
        rest = bytes(self.sock.readAll())
        self.hash.update(rest)
        self.received += len(rest)
        # Let any signal emitted after disconnected() (there should be none)
        # land before reporting.
        QTimer.singleShot(50, self.finish)

    def finish(self, timeout=False):
        if self.finished:
            return
        self.finished = True
        self.result["timeout"] = timeout
        self.result["received_size"] = self.received
        self.result["received_sha256"] = self.hash.hexdigest()
        self.result["final_state"] = enum_int(self.sock.state())
        emit("RESULT", self.result)
        self.app.exit(3 if timeout else 0)


OPTIONS = {
    "none": QLocalServer.NoOptions,
    "user": QLocalServer.UserAccessOption,
    "group": QLocalServer.GroupAccessOption,
    "other": QLocalServer.OtherAccessOption,
    "world": QLocalServer.WorldAccessOption,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["client", "server"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--size", type=int, default=0, help="bytes to send")
    parser.add_argument("--seed", type=int, default=1, help="seed of the payload")
    parser.add_argument("--expect", type=int, default=0, help="bytes to receive before closing")
    parser.add_argument("--close", action="store_true", help="disconnect once --expect bytes arrived")
    parser.add_argument("--options", choices=sorted(OPTIONS), default="none")
    parser.add_argument("--timeout", type=int, default=60000, help="safety timeout in ms")
    args = parser.parse_args()

    app = QCoreApplication([sys.argv[0]])
    state = {}

    def on_timeout():
        peer = state.get("peer")
        if peer is not None:
            peer.finish(timeout=True)
        else:
            emit("RESULT", {"timeout": True, "connected": False})
            app.exit(3)

    QTimer.singleShot(args.timeout, on_timeout)

    if args.mode == "client":
        sock = QLocalSocket()
        errors = []
        sock.errorOccurred.connect(lambda e: errors.append(enum_int(e)))
        # Synchronous on Unix: the state is final when this returns.
        sock.connectToServer(args.name)
        if sock.state() != QLocalSocket.ConnectedState and not sock.waitForConnected(10000):
            emit("RESULT", {
                "connected": False,
                "errors": errors,
                "error": enum_int(sock.error()),
                "error_string": sock.errorString(),
                "timeout": False,
            })
            return 2
        peer = Peer(app, sock, args)
        state["peer"] = peer
        QTimer.singleShot(0, peer.start)
    else:
        server = QLocalServer()
        server.setSocketOptions(OPTIONS[args.options])
        if not server.listen(args.name):
            emit("LISTENING", {"ok": False, "error": enum_int(server.serverError()),
                               "error_string": server.errorString()})
            return 2
        state["server"] = server

        def on_new_connection():
            if "peer" in state:
                return
            sock = server.nextPendingConnection()
            state["sock"] = sock
            peer = Peer(app, sock, args)
            state["peer"] = peer
            peer.start()

        server.newConnection.connect(on_new_connection)
        emit("LISTENING", {"ok": True, "full_server_name": server.fullServerName(),
                           "server_name": server.serverName()})

    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
