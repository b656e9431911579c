#!/usr/bin/python3
# qt_lines_peer.py: a Qt 5 (PySide2) client that writes records in small
# pieces, for the tests of the stream view (GDataInputStream over an Ls
# socket: read_line_async, read_upto_async).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   qt_lines_peer.py --name NAME [--count N] [--sep SEP]
#
# Connects to NAME and writes the N records of records() (below), each
# followed by SEP ("\n" by default; "\\n" and ";" style escapes are
# understood), cut into pieces of 1, 2, 3, 5, 8, 13, 21 and 34 bytes in
# turn, one piece per event-loop turn (1 ms apart, flushed), so that the
# records arrive split anywhere. Then it disconnects and exits 0 (3 on the
# safety timeout, 2 if no connection). Prints "RESULT {json}" with the
# number of bytes written.

import argparse
import json
import sys

from PySide2.QtCore import QCoreApplication, QTimer
from PySide2.QtNetwork import QLocalSocket

PIECES = [1, 2, 3, 5, 8, 13, 21, 34]


def records(count):
    """Record i: "record-i:" then i % 37 letters of the alphabet, cycled.
    The C, Python and GJS tests build the same records."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["record-%d:%s" % (i, "".join(letters[j % 26] for j in range(i % 37)))
            for i in range(count)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--sep", default="\\n")
    p.add_argument("--timeout", type=int, default=30000)
    args = p.parse_args()

    sep = args.sep.encode().decode("unicode_escape")
    payload = "".join(r + sep for r in records(args.count)).encode()

    app = QCoreApplication(sys.argv[:1])
    sock = QLocalSocket()
    state = {"offset": 0, "piece": 0, "status": 0, "done": False}

    def finish(status):
        if state["done"]:
            return
        state["done"] = True
        state["status"] = status
        sys.stdout.write("RESULT " + json.dumps({"written": state["offset"]}) + "\n")
        sys.stdout.flush()
        app.exit(status)

    def write_piece():
        if state["offset"] >= len(payload):
            sock.disconnectFromServer()
            return
        size = PIECES[state["piece"] % len(PIECES)]
        piece = payload[state["offset"]:state["offset"] + size]
        sock.write(piece)
        sock.flush()
        state["offset"] += len(piece)
        state["piece"] += 1
        QTimer.singleShot(1, write_piece)

    sock.disconnected.connect(lambda: finish(0))
    sock.connectToServer(args.name)
    if not sock.waitForConnected(5000):
        sys.stderr.write("cannot connect: %s\n" % sock.errorString())
        return 2
    QTimer.singleShot(args.timeout, lambda: finish(3))
    QTimer.singleShot(0, write_piece)
    app.exec_()
    return state["status"]


if __name__ == "__main__":
    sys.exit(main())
