#!/usr/bin/python3
# qt_frame_peer.py: a Qt 5 (PySide2) peer that speaks Qt-framed messages
# with QDataStream (`<< QByteArray` / `>> QByteArray` in transactions), for
# the lsock --frame qt tests.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   qt_frame_peer.py server --name NAME --count N
#       Listens; for each of the first N messages it receives it answers
#       b"re:" + message; then it sends a null QByteArray and disconnects.
#   qt_frame_peer.py client --name NAME --send HEX,HEX,... --expect N
#       Connects; sends each message (an empty item is an empty array, "~"
#       a null one); reads N messages; disconnects.
#
# Both print "RESULT {json}" with the messages they received (hex) and
# exit 0 (3 on the safety timeout, 2 if no connection). The server first
# prints "LISTENING {json}".

import argparse
import json
import sys

from PySide2.QtCore import QByteArray, QCoreApplication, QDataStream, QTimer
from PySide2.QtNetwork import QLocalServer, QLocalSocket


def emit(tag, obj):
    sys.stdout.write(tag + " " + json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


class Reader:
    def __init__(self, sock, on_message):
        self.sock = sock
        self.stream = QDataStream(sock)
        self.on_message = on_message
        self.received = []
        sock.readyRead.connect(self.read)

    def read(self):
        while True:
            self.stream.startTransaction()
            message = QByteArray()
            self.stream >> message
            if not self.stream.commitTransaction():
                return
            data = bytes(message)
            self.received.append(data)
            self.on_message(data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client", "server"])
    p.add_argument("--name", required=True)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--send", default="")
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--timeout", type=int, default=30000)
    args = p.parse_args()

    app = QCoreApplication([sys.argv[0]])
    state = {"done": False}

    def finish(timeout=False):
        if state["done"]:
            return
        state["done"] = True
        reader = state.get("reader")
        emit("RESULT", {"timeout": timeout,
                        "received": [m.hex() for m in (reader.received if reader else [])]})
        app.exit(3 if timeout else 0)

    QTimer.singleShot(args.timeout, lambda: finish(timeout=True))

    if args.mode == "server":
        server = QLocalServer()
        if not server.listen(args.name):
            emit("LISTENING", {"ok": False, "error_string": server.errorString()})
            return 2
        state["server"] = server

        def on_new_connection():
            if "sock" in state:
                return
            sock = server.nextPendingConnection()
            state["sock"] = sock
            out = QDataStream(sock)
            state["out"] = out

            def on_message(data):
                reader = state["reader"]
                if len(reader.received) <= args.count:
                    out << QByteArray(b"re:" + data)
                if len(reader.received) == args.count:
                    out << QByteArray()          # null
                    sock.disconnectFromServer()

            state["reader"] = Reader(sock, on_message)
            sock.disconnected.connect(lambda: QTimer.singleShot(50, finish))

        server.newConnection.connect(on_new_connection)
        emit("LISTENING", {"ok": True, "full_server_name": server.fullServerName()})
    else:
        sock = QLocalSocket()
        sock.connectToServer(args.name)
        if sock.state() != QLocalSocket.ConnectedState and not sock.waitForConnected(10000):
            emit("RESULT", {"connected": False, "error_string": sock.errorString()})
            return 2
        state["sock"] = sock
        out = QDataStream(sock)

        def on_message(_data):
            if len(state["reader"].received) >= args.expect:
                sock.disconnectFromServer()

        state["reader"] = Reader(sock, on_message)
        sock.disconnected.connect(lambda: QTimer.singleShot(50, finish))
        for item in (args.send.split(",") if args.send else []):
            out << (QByteArray() if item == "~" else QByteArray(bytes.fromhex(item)))
        if args.expect == 0:
            sock.disconnectFromServer()

    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
