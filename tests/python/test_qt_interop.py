# test_qt_interop.py: Ls against real Qt 5.15 (PySide2.QtNetwork)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Qt side runs in a subprocess (qt_peer.py) with its own QCoreApplication
# so that Qt's and GLib's loops never share a thread. Both sides get the same
# short private TMPDIR, so relative names must resolve to the same path.

import hashlib
import json
import os
import random
import stat
import subprocess

import pytest

from conftest import (HERE, PYTHON, SAFETY_TIMEOUT, GLib, LineProc, Ls, assert_ls_error,
                      bytes_of, run_until)

E = Ls.SocketError
S = Ls.LocalSocketState
O = Ls.SocketOptions

QT_PEER = os.path.join(HERE, "qt_peer.py")
MIB = 1 << 20
LS_SEED = 1001
QT_SEED = 2002


def _have_pyside2():
    r = subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


pytestmark = pytest.mark.skipif(not _have_pyside2(), reason="PySide2.QtNetwork not installed")


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class QtPeer(LineProc):
    def __init__(self, mode, name, size=0, seed=QT_SEED, expect=0, close=False, options="none"):
        args = [PYTHON, QT_PEER, mode, "--name", name, "--size", str(size),
                "--seed", str(seed), "--expect", str(expect), "--options", options,
                "--timeout", str(int(SAFETY_TIMEOUT * 1000))]
        if close:
            args.append("--close")
        # os.environ carries the test's TMPDIR (monkeypatched).
        super().__init__(args, env=dict(os.environ))

    def read_tagged(self, tag):
        line = self.wait_for_line(tag + " ")
        return json.loads(line[len(tag) + 1:])

    def result(self):
        rc, out, err = self.finish()
        for line in out.splitlines():
            if line.startswith("RESULT "):
                res = json.loads(line[len("RESULT "):])
                res["returncode"] = rc
                res["stderr"] = err
                return res
        raise AssertionError("no RESULT from the Qt peer (rc %s): %s %s" % (rc, out, err))


class LsPeer:
    """The Ls side of the exchange: write the payload, read until @expect
    bytes arrived, then close if we are the closer; record what happens."""

    def __init__(self, sock, size, seed, expect, close):
        self.sock = sock
        self.hash = hashlib.sha256()
        self.received = 0
        self.expect = expect
        self.close = close
        self.closing = False
        self.errors = []
        self.states = []
        self.disconnected = 0
        self.read_channel_finished = 0
        self.data = payload(size, seed)
        sock.connect("ready-read", self._on_ready_read)
        sock.connect("error-occurred", lambda s, e: self.errors.append(e))
        sock.connect("state-changed", lambda s, st: self.states.append(st))
        sock.connect("disconnected", self._on_disconnected)
        sock.connect("read-channel-finished", self._on_rcf)

    def start(self):
        self._take()  # anything that arrived before we were attached
        if self.data:
            assert self.sock.write(self.data) == len(self.data)
        self._maybe_close()

    def _take(self):
        data = bytes_of(self.sock.read_all())
        self.hash.update(data)
        self.received += len(data)

    def _on_ready_read(self, s):
        self._take()
        self._maybe_close()

    def _on_rcf(self, s):
        self.read_channel_finished += 1

    def _on_disconnected(self, s):
        self.disconnected += 1
        self._take()  # data received before the close stays readable

    def _maybe_close(self):
        if self.close and not self.closing and self.received >= self.expect:
            self.closing = True
            self.sock.disconnect_from_server()


def exchange(ls_sock, qt, ls_closes):
    """Runs the 1 MiB each way exchange and checks both sides' view."""
    peer = LsPeer(ls_sock, MIB, LS_SEED, MIB, close=ls_closes)
    peer.start()
    try:
        run_until(lambda: peer.disconnected >= 1 and qt.exited())
    finally:
        qt.kill()
    res = qt.result()
    assert res["returncode"] == 0, res
    assert not res["timeout"]

    # Content, both ways.
    assert res["received_size"] == MIB
    assert res["received_sha256"] == sha256(payload(MIB, LS_SEED))
    assert peer.received == MIB
    assert peer.hash.hexdigest() == sha256(payload(MIB, QT_SEED))

    # The close, as seen by each side.
    assert peer.disconnected == 1
    assert peer.read_channel_finished == 1
    assert ls_sock.get_state() == S.UNCONNECTED
    assert peer.states[-1] == S.UNCONNECTED
    assert res["disconnected"] == 1
    assert res["final_state"] == 0
    if ls_closes:
        assert peer.errors == []
        assert res["errors"] == [1]  # QLocalSocket::PeerClosedError
    else:
        assert peer.errors == [E.PEER_CLOSED]
        assert ls_sock.get_error() == E.PEER_CLOSED
        assert res["errors"] == []
    return res


@pytest.fixture
def ls_server_factory():
    servers = []

    def make(name, options=None):
        server = Ls.LocalServer()
        if options is not None:
            server.set_socket_options(options)
        server.listen(name)
        servers.append(server)
        return server
    yield make
    for s in servers:
        s.close()


# --------------------------------------------------------------------------
# (a) Qt QLocalSocket -> Ls server


@pytest.mark.parametrize("ls_closes", [False, True], ids=["qt-closes", "ls-closes"])
@pytest.mark.parametrize("naming", ["relative", "absolute"])
def test_qt_client_to_ls_server(tmpdir_env, ls_server_factory, naming, ls_closes):
    server = ls_server_factory("interop")
    full = os.path.join(tmpdir_env, "interop")
    assert server.get_full_server_name() == full
    name = "interop" if naming == "relative" else full

    qt = QtPeer("client", name, size=MIB, seed=QT_SEED, expect=MIB, close=not ls_closes)
    try:
        run_until(lambda: server.has_pending_connections() or qt.exited())
    except BaseException:
        qt.kill()
        raise
    assert server.has_pending_connections(), "Qt did not reach the Ls server: %s" % qt.result()
    accepted = server.next_pending_connection()
    assert accepted.get_state() == S.CONNECTED
    creds = accepted.get_peer_credentials()
    assert creds.get_unix_pid() == qt.pid

    res = exchange(accepted, qt, ls_closes)
    assert res["connected"] is True
    # Qt resolved the name to the very path Ls listens on.
    assert res["full_server_name"] == full


# --------------------------------------------------------------------------
# (b) Ls client -> Qt QLocalServer


@pytest.mark.parametrize("ls_closes", [True, False], ids=["ls-closes", "qt-closes"])
@pytest.mark.parametrize("naming", ["relative", "absolute"])
def test_ls_client_to_qt_server(tmpdir_env, naming, ls_closes):
    full = os.path.join(tmpdir_env, "qtserver")
    name = "qtserver" if naming == "relative" else full
    qt = QtPeer("server", name, size=MIB, seed=QT_SEED, expect=MIB, close=not ls_closes)
    try:
        listening = qt.read_tagged("LISTENING")
        assert listening["ok"], listening
        assert listening["full_server_name"] == full

        client = Ls.LocalSocket()
        client.connect_to_server(name)
        assert client.get_state() == S.CONNECTED, client.get_error_string()
        assert client.get_full_server_name() == full
        assert client.get_peer_credentials().get_unix_pid() == qt.pid
    except BaseException:
        qt.kill()
        raise
    exchange(client, qt, ls_closes)


def test_ls_client_refused_by_dead_qt_server(tmpdir_env):
    """A Qt server killed hard leaves its socket file: Ls reports
    CONNECTION_REFUSED, and remove_server() clears the way."""
    qt = QtPeer("server", "crashed")
    qt.read_tagged("LISTENING")
    qt.kill()
    path = os.path.join(tmpdir_env, "crashed")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    client = Ls.LocalSocket()
    client.connect_to_server("crashed")
    assert client.get_error() == E.CONNECTION_REFUSED
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen("crashed")
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert server.get_server_error() == E.ADDRESS_IN_USE
    assert Ls.LocalServer.remove_server("crashed")
    assert server.listen("crashed")
    server.close()


# --------------------------------------------------------------------------
# (c) USER_ACCESS servers are reachable by the same user's peers


def test_qt_client_reaches_user_access_ls_server(tmpdir_env, ls_server_factory):
    server = ls_server_factory("private", O.USER_ACCESS)
    path = os.path.join(tmpdir_env, "private")
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == os.getuid()

    qt = QtPeer("client", "private", size=MIB, seed=QT_SEED, expect=MIB, close=True)
    try:
        run_until(lambda: server.has_pending_connections() or qt.exited())
    except BaseException:
        qt.kill()
        raise
    assert server.has_pending_connections(), qt.result()
    accepted = server.next_pending_connection()
    assert accepted.get_peer_credentials().get_unix_user() == os.getuid()
    res = exchange(accepted, qt, ls_closes=False)
    assert res["full_server_name"] == path


def test_ls_client_reaches_user_access_qt_server(tmpdir_env):
    path = os.path.join(tmpdir_env, "qtprivate")
    qt = QtPeer("server", "qtprivate", size=MIB, seed=QT_SEED, expect=MIB, close=False,
                options="user")
    try:
        listening = qt.read_tagged("LISTENING")
        assert listening["ok"], listening
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
        client = Ls.LocalSocket()
        client.connect_to_server("qtprivate")
        assert client.get_state() == S.CONNECTED, client.get_error_string()
    except BaseException:
        qt.kill()
        raise
    exchange(client, qt, ls_closes=True)
