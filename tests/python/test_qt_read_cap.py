# test_qt_read_cap.py: a peer that leaves while the read buffer is full
# (read-buffer-size reached), on Qt 5.15 (PySide2) and on Ls (issue 23.4)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each scenario is written once against a small adapter with the same shape
# for both libraries. The test runs it in this process on Ls and runs THIS
# FILE as a child process (`python3 test_qt_read_cap.py SCENARIO`) to run it
# on Qt with its own QCoreApplication, so that Qt's and GLib's loops never
# share a thread (as test_qt_parity.py does). The peer is a plain Python
# socket pair made inside the scenario, the same for both libraries.
#
# Qt stays connected with at most the cap buffered and learns that the peer
# left when the application reads on; a write then fails (EPIPE) and ends
# the connection with PEER_CLOSED. Ls does the same; only what a failed
# write leaves readable differs (deliberate fix 11: Ls takes in everything
# the peer sent, Qt's abort drops it), so that is not compared.

import json
import socket
import subprocess
import sys

QT_CHILD = __name__ == "__main__"

if not QT_CHILD:
    import pytest

    from conftest import PYTHON, SAFETY_TIMEOUT, Ls, bytes_of, run_for, run_until
else:
    SAFETY_TIMEOUT = 30.0

UNCONNECTED, CONNECTED = 0, 3
CAP = 1024
SENT = bytes(i % 251 for i in range(4096))


class LsApi:
    """Ls in this process, on the global default main context."""

    def __init__(self, fd):
        self.s = Ls.LocalSocket()
        self.events = []
        self.s.connect("disconnected", lambda *a: self.events.append("disconnected"))
        self.s.connect("error-occurred", lambda _s, e: self.events.append(("error", int(e))))
        self.s.connect("state-changed", lambda _s, st: self.events.append(("state", int(st))))
        self.s.set_read_buffer_size(CAP)
        assert self.s.set_socket_descriptor(fd, Ls.LocalSocketState.CONNECTED)

    def spin(self, ms):
        run_for(ms)

    def spin_until(self, cond):
        run_until(cond)

    def state(self):
        return int(self.s.get_state())

    def error(self):
        return int(self.s.get_error())

    def available(self):
        return self.s.get_bytes_available()

    def read_all(self):
        return bytes_of(self.s.read_all())

    def write(self, data):
        return self.s.write(data)


class QtApi:
    """Qt 5 (PySide2) in the child process."""

    def __init__(self, fd):
        from PySide2.QtCore import QCoreApplication
        from PySide2.QtNetwork import QLocalSocket

        self.app = QCoreApplication.instance() or QCoreApplication([])
        self.s = QLocalSocket()
        self.events = []
        self.s.disconnected.connect(lambda: self.events.append("disconnected"))
        self.s.errorOccurred.connect(lambda e: self.events.append(("error", int(e))))
        self.s.stateChanged.connect(lambda st: self.events.append(("state", int(st))))
        self.s.setReadBufferSize(CAP)
        assert self.s.setSocketDescriptor(fd)

    def spin(self, ms):
        from PySide2.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec_()

    def spin_until(self, cond):
        from PySide2.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        tick = QTimer()
        tick.setInterval(5)
        tick.timeout.connect(lambda: cond() and loop.quit())
        tick.start()
        QTimer.singleShot(int(SAFETY_TIMEOUT * 1000), loop.quit)
        loop.exec_()
        tick.stop()
        assert cond(), "condition not reached within the safety timeout"

    def state(self):
        return int(self.s.state())

    def error(self):
        return int(self.s.error())

    def available(self):
        return self.s.bytesAvailable()

    def read_all(self):
        return bytes(self.s.readAll())

    def write(self, data):
        return self.s.write(data)


def full_buffer_peer_left(make_api):
    """The peer sends SENT and leaves before the socket reads anything."""
    a, b = socket.socketpair()
    b.sendall(SENT)
    b.close()
    api = make_api(a.detach())
    # What adopting the descriptor emits is not the question here.
    del api.events[:]
    api.spin(200)
    return api, {"after_hangup": [api.state(), api.available()], "events": list(api.events)}


def scenario_read_on(make_api):
    api, seen = full_buffer_peer_left(make_api)
    got = b""
    most = 0
    while True:
        most = max(most, api.available())
        got += api.read_all()
        if api.state() == UNCONNECTED:
            break
        api.spin_until(lambda: api.available() > 0 or api.state() == UNCONNECTED)
    seen.update(intact=got == SENT, most_buffered=most, state=api.state(), error=api.error(),
                final_events=api.events)
    return seen


def scenario_write(make_api):
    api, seen = full_buffer_peer_left(make_api)
    seen["write"] = api.write(b"lost?")
    api.spin_until(lambda: api.state() == UNCONNECTED)
    seen.update(state=api.state(), error=api.error(), final_events=api.events)
    return seen


SCENARIOS = {"read_on": scenario_read_on, "write": scenario_write}


if QT_CHILD:
    print(json.dumps(SCENARIOS[sys.argv[1]](QtApi)))
    sys.exit(0)


def _have_pyside2():
    r = subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


HAVE_QT = _have_pyside2()


def on_qt(name):
    r = subprocess.run([PYTHON, __file__, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=SAFETY_TIMEOUT * 2, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout.decode().splitlines()[-1])


def on_ls(name):
    # Through JSON, as the Qt child's result, so both compare alike.
    return json.loads(json.dumps(SCENARIOS[name](LsApi)))


def test_hangup_with_full_buffer_waits_for_the_reader():
    ls = on_ls("read_on")
    # Still connected, the cap buffered, nothing announced: the end is
    # learnt by reading on.
    assert ls["after_hangup"] == [CONNECTED, CAP]
    assert ls["events"] == []
    assert ls["intact"] and ls["most_buffered"] == CAP
    assert ls["state"] == UNCONNECTED and ls["error"] == 1
    assert ls["final_events"] == [["error", 1], ["state", 6], ["state", 0], "disconnected"]


def test_hangup_with_full_buffer_then_a_write():
    ls = on_ls("write")
    assert ls["after_hangup"] == [CONNECTED, CAP]
    # Queued, as Qt queues it; its failure ends the connection.
    assert ls["write"] == 5
    assert ls["state"] == UNCONNECTED and ls["error"] == 1
    assert ls["final_events"] == [["error", 1], ["state", 0], "disconnected"]


@pytest.mark.skipif(not HAVE_QT, reason="PySide2.QtNetwork not installed")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_qt_does_the_same(name):
    assert on_qt(name) == on_ls(name)
