#!/usr/bin/python3
# qt_framing_peer.py: a Qt 5 program that frames messages with QDataStream,
# the Qt side of the framed-message interoperability tests.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs in its own process (Qt's event loop never shares a thread with
# GLib's). It plays either end of a QtSingleApplication-style exchange:
#
#   qt_framing_peer.py client --name NAME [--size N | --null] [--seed S]
#                             [--split] [--style stream|writebytes] [--binding pyside2|pyqt5]
#       the second instance: connects, sends one framed message, reads one
#       framed reply, prints "RESULT {json}" and exits.
#   qt_framing_peer.py server --name NAME [--count K] [--reply-size N] [--binding ...]
#       the first instance: prints "LISTENING {json}", reads framed messages
#       (one QDataStream transaction each), answers each with a framed reply
#       ("ack", or --reply-size pattern bytes), prints "RESULT {json}" after
#       K messages and exits.
#
# --style stream uses `stream << QByteArray` / `stream >> QByteArray`;
# writebytes uses writeBytes()/readBytes() (PyQt5 only: PySide2 does not
# bind them; the bytes on the wire are the same). --split writes the frame
# in many small flushed writes. Exit code 3 on the safety timeout, 2 if the
# connection could not be made.

import argparse
import hashlib
import json
import random
import sys

BINDING = "pyside2"
for i, a in enumerate(sys.argv):
    if a == "--binding" and i + 1 < len(sys.argv):
        BINDING = sys.argv[i + 1]

if BINDING == "pyqt5":
    from PyQt5.QtCore import QByteArray, QCoreApplication, QDataStream, QTimer
    from PyQt5.QtNetwork import QLocalServer, QLocalSocket
else:
    from PySide2.QtCore import QByteArray, QCoreApplication, QDataStream, QTimer
    from PySide2.QtNetwork import QLocalServer, QLocalSocket


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def emit(tag, obj):
    sys.stdout.write(tag + " " + json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def describe(data):
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "text": data.decode("utf-8", "replace") if len(data) <= 64 else None}


def write_frame(sock, data, style, null=False):
    """Writes one frame through QDataStream on @sock."""
    stream = QDataStream(sock)
    stream.setVersion(QDataStream.Qt_5_15)
    if style == "writebytes":
        stream.writeBytes(data)
    elif null:
        stream << QByteArray()
    else:
        stream << QByteArray(data)
    return stream.status() == QDataStream.Ok


def write_frame_split(sock, data):
    """The same bytes as write_frame, in many small writes, each flushed:
    the header byte by byte, then the payload in 7-byte pieces."""
    wire = len(data).to_bytes(4, "big") + data
    pieces = [wire[i:i + 1] for i in range(4)] + [wire[i:i + 7] for i in range(4, len(wire), 7)]
    for piece in pieces:
        sock.write(piece)
        sock.flush()
        sock.waitForBytesWritten(1000)
    return len(pieces)


def try_read_frame(sock, style):
    """One QDataStream transaction: the message, or None if incomplete."""
    stream = QDataStream(sock)
    stream.setVersion(QDataStream.Qt_5_15)
    stream.startTransaction()
    if style == "writebytes":
        data = stream.readBytes()
    else:
        array = QByteArray()
        stream >> array
        data = bytes(array)
    if not stream.commitTransaction():
        return None
    return bytes(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["client", "server"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--null", action="store_true", help="send a null QByteArray")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split", action="store_true")
    parser.add_argument("--style", choices=["stream", "writebytes"], default="stream")
    parser.add_argument("--binding", choices=["pyside2", "pyqt5"], default="pyside2")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--reply-size", type=int, default=-1)
    parser.add_argument("--timeout", type=int, default=60000)
    args = parser.parse_args()

    app = QCoreApplication([sys.argv[0]])
    result = {"binding": args.binding, "timeout": False}

    def finish(rc=0):
        emit("RESULT", result)
        app.exit(rc)

    QTimer.singleShot(args.timeout, lambda: (result.update(timeout=True), finish(3)))

    if args.mode == "client":
        sock = QLocalSocket()
        sock.connectToServer(args.name)
        if sock.state() != QLocalSocket.ConnectedState and not sock.waitForConnected(10000):
            result.update(connected=False, error_string=sock.errorString())
            emit("RESULT", result)
            return 2
        data = b"" if args.null else payload(args.size, args.seed)
        result["sent"] = describe(data)
        if args.split:
            result["pieces"] = write_frame_split(sock, data)
        else:
            result["write_ok"] = write_frame(sock, data, args.style, args.null)

        def on_ready_read():
            reply = try_read_frame(sock, args.style)
            if reply is not None and "reply" not in result:
                result["reply"] = describe(reply)
                finish(0)

        sock.readyRead.connect(on_ready_read)
        sock.disconnected.connect(lambda: "reply" not in result and finish(4))
        QTimer.singleShot(0, on_ready_read)
    else:
        server = QLocalServer()
        if not server.listen(args.name):
            emit("LISTENING", {"ok": False, "error_string": server.errorString()})
            return 2
        result["messages"] = []
        sockets = []

        def on_ready_read(sock):
            while len(result["messages"]) < args.count:
                message = try_read_frame(sock, "stream")
                if message is None:
                    return
                result["messages"].append(describe(message))
                reply = b"ack" if args.reply_size < 0 else payload(args.reply_size, args.seed)
                write_frame(sock, reply, "stream")
                sock.flush()
            if len(result["messages"]) >= args.count:
                # Let the last reply leave before exiting.
                while sock.bytesToWrite() > 0 and sock.waitForBytesWritten(10000):
                    pass
                QTimer.singleShot(0, finish)

        def on_new_connection():
            while server.hasPendingConnections():
                sock = server.nextPendingConnection()
                sockets.append(sock)
                sock.readyRead.connect(lambda s=sock: on_ready_read(s))
                on_ready_read(sock)

        server.newConnection.connect(on_new_connection)
        emit("LISTENING", {"ok": True, "full_server_name": server.fullServerName()})

    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
