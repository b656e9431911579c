# qt6_abstract_peer.py: a Qt 6 (PyQt6) peer on an abstract-namespace name,
# run as a subprocess by test_gio.py.
#
#   qt6_abstract_peer.py server NAME   listen (AbstractNamespaceOption), print
#                                      READY, echo one connection until it ends
#   qt6_abstract_peer.py client NAME   connect (AbstractNamespaceOption), send
#                                      stdin's bytes, read as many back, print
#                                      OK or FAIL with a reason
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

from PyQt6.QtCore import QCoreApplication
from PyQt6.QtNetwork import QLocalServer, QLocalSocket

TIMEOUT_MS = 20000


def server(name):
    srv = QLocalServer()
    srv.setSocketOptions(QLocalServer.SocketOption.AbstractNamespaceOption)
    if not srv.listen(name):
        print("FAIL listen:", srv.errorString(), flush=True)
        return 1
    print("READY", srv.fullServerName(), flush=True)
    if not srv.waitForNewConnection(TIMEOUT_MS):
        print("FAIL no connection", flush=True)
        return 1
    conn = srv.nextPendingConnection()
    while conn.state() == QLocalSocket.LocalSocketState.ConnectedState:
        if conn.bytesAvailable() == 0 and not conn.waitForReadyRead(TIMEOUT_MS):
            break
        conn.write(conn.readAll())
        conn.waitForBytesWritten(TIMEOUT_MS)
    print("DONE", flush=True)
    return 0


def client(name):
    payload = sys.stdin.buffer.read()
    sock = QLocalSocket()
    sock.setSocketOptions(QLocalSocket.SocketOption.AbstractNamespaceOption)
    sock.connectToServer(name)
    if not sock.waitForConnected(TIMEOUT_MS):
        print("FAIL connect:", int(sock.error().value), sock.errorString(), flush=True)
        return 1
    sock.write(payload)
    got = b""
    while len(got) < len(payload):
        if sock.bytesAvailable() == 0 and not sock.waitForReadyRead(TIMEOUT_MS):
            break
        got += bytes(sock.readAll())
    sock.disconnectFromServer()
    if got != payload:
        print("FAIL echoed %d of %d bytes" % (len(got), len(payload)), flush=True)
        return 1
    print("OK", flush=True)
    return 0


if __name__ == "__main__":
    app = QCoreApplication(sys.argv)
    mode, name = sys.argv[1], sys.argv[2]
    sys.exit(server(name) if mode == "server" else client(name))
