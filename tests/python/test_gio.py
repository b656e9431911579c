# test_gio.py: Ls at the GIO boundary (issue 18) from PyGObject:
# Gio.SocketAddress and Gio.Socket in and out, GIO clients and servers, and
# a Qt 5 (PySide2) peer reached through a Gio.UnixSocketAddress, and Qt 6
# (PyQt6) peers on abstract names.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket as pysocket
import subprocess

import pytest

from conftest import (HERE, PYTHON, GLib, Gio, Ls, accept, assert_ls_error, bytes_of,
                      read_exactly, record_socket, run_until)

E = Ls.SocketError
S = Ls.LocalSocketState
T = Gio.UnixSocketAddressType

TYPES = [T.PATH, T.ABSTRACT, T.ABSTRACT_PADDED]
TYPE_IDS = ["path", "abstract", "abstract-padded"]
PAYLOAD = bytes(range(256)) * 4

_serial = [0]


def name_for(kind, tmp_short):
    if kind == T.PATH:
        return os.path.join(tmp_short, "s")
    _serial[0] += 1
    return "ls-py-gio-%d-%d" % (os.getpid(), _serial[0])


def address(name, kind):
    return Gio.UnixSocketAddress.new_with_type(list(name.encode()), kind)


@pytest.fixture
def servers():
    made = []

    def make():
        s = Ls.LocalServer()
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def gio_read_exactly(stream, n):
    buf = b""
    while len(buf) < n:
        chunk = stream.read_bytes(n - len(buf), None).get_data()
        assert chunk, "end of stream after %d bytes" % len(buf)
        buf += bytes(chunk)
    return buf


# --------------------------------------------------------------------------
# listen_address / get_address, reached by a Gio.SocketClient


@pytest.mark.parametrize("kind", TYPES, ids=TYPE_IDS)
def test_listen_address_gio_client(tmp_short, servers, kind):
    name = name_for(kind, tmp_short)
    addr = address(name, kind)
    server = servers()
    assert server.get_address() is None
    assert server.listen_address(addr) is True
    assert server.get_server_name() == name
    assert server.get_full_server_name() == name
    assert os.path.exists(os.path.join(tmp_short, "s")) == (kind == T.PATH)

    got = server.get_address()
    assert isinstance(got, Gio.UnixSocketAddress)
    assert got.get_address_type() == kind
    assert got.get_path() == name

    conn = Gio.SocketClient().connect(addr, None)
    conn.get_output_stream().write_all(PAYLOAD, None)
    peer = accept(server)
    assert peer.get_full_server_name() == name
    assert read_exactly(peer, len(PAYLOAD)) == PAYLOAD
    assert peer.write(PAYLOAD) == len(PAYLOAD)
    assert peer.flush() or peer.get_bytes_to_write() == 0
    assert gio_read_exactly(conn.get_input_stream(), len(PAYLOAD)) == PAYLOAD
    conn.close(None)
    peer.abort()

    server.close()
    assert server.get_address() is None
    assert not os.path.exists(os.path.join(tmp_short, "s"))


def test_padded_and_exact_are_different_addresses(tmp_short, servers):
    name = name_for(T.ABSTRACT, tmp_short)
    padded = servers()
    exact = servers()
    assert padded.listen_address(address(name, T.ABSTRACT_PADDED))
    assert exact.listen_address(address(name, T.ABSTRACT))
    # A raw Python socket: a padded address is the NUL-padded 108 bytes.
    raw = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    raw.connect(b"\0" + name.encode() + b"\0" * (107 - len(name)))
    run_until(padded.has_pending_connections)
    assert not exact.has_pending_connections()
    raw.close()
    raw = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    raw.connect(b"\0" + name.encode())
    run_until(exact.has_pending_connections)
    raw.close()


# --------------------------------------------------------------------------
# connect_to_address to GIO servers


@pytest.mark.parametrize("kind", TYPES, ids=TYPE_IDS)
def test_connect_address_gio_listener(tmp_short, kind):
    name = name_for(kind, tmp_short)
    addr = address(name, kind)
    listener = Gio.SocketListener()
    listener.add_address(addr, Gio.SocketType.STREAM, Gio.SocketProtocol.DEFAULT, None)
    try:
        sock = Ls.LocalSocket()
        rec = record_socket(sock)
        sock.connect_to_address(addr)
        assert sock.get_state() == S.CONNECTED, sock.get_error_string()
        assert rec.names()[:3] == ["state-changed", "state-changed", "connected"]
        assert sock.get_server_name() == name
        assert sock.get_full_server_name() == name
        remote = sock.get_remote_address()
        assert remote.get_address_type() == kind and remote.get_path() == name
        assert sock.get_local_address().get_address_type() == T.ANONYMOUS

        conn, _ = listener.accept(None)
        assert sock.write(PAYLOAD) == len(PAYLOAD)
        assert sock.flush() or sock.get_bytes_to_write() == 0
        got = gio_read_exactly(conn.get_input_stream(), len(PAYLOAD))
        assert got == PAYLOAD
        conn.get_output_stream().write_all(got, None)
        assert read_exactly(sock, len(PAYLOAD)) == PAYLOAD
        conn.close(None)
        sock.abort()
        assert sock.get_remote_address() is None
        assert sock.get_local_address() is None
    finally:
        listener.close()


def test_connect_address_gio_service(tmp_short):
    name = name_for(T.PATH, tmp_short)
    addr = address(name, T.PATH)
    service = Gio.SocketService()
    service.add_address(addr, Gio.SocketType.STREAM, Gio.SocketProtocol.DEFAULT, None)
    served = []

    def on_incoming(svc, conn, source):
        data = gio_read_exactly(conn.get_input_stream(), len(PAYLOAD))
        conn.get_output_stream().write_all(data, None)
        served.append(conn)  # keep it open until the test ends
        return True

    service.connect("incoming", on_incoming)
    service.start()
    try:
        sock = Ls.LocalSocket()
        sock.connect_to_address(addr)
        assert sock.get_state() == S.CONNECTED, sock.get_error_string()
        sock.write(PAYLOAD)
        assert sock.flush() or sock.get_bytes_to_write() == 0
        run_until(lambda: served)
        assert read_exactly(sock, len(PAYLOAD)) == PAYLOAD
        sock.abort()
    finally:
        service.stop()
        service.close()


# --------------------------------------------------------------------------
# listen_socket


@pytest.mark.parametrize("kind", TYPES, ids=TYPE_IDS)
def test_listen_socket_adopts_and_leaves_open(tmp_short, servers, kind):
    name = name_for(kind, tmp_short)
    addr = address(name, kind)
    listener = Gio.SocketListener()
    gsock = Gio.Socket.new(Gio.SocketFamily.UNIX, Gio.SocketType.STREAM,
                           Gio.SocketProtocol.DEFAULT)
    gsock.bind(addr, False)
    gsock.listen()
    listener.add_socket(gsock, None)
    try:
        server = servers()
        assert server.listen_socket(gsock) is True
        assert server.get_socket_descriptor() != gsock.get_fd()
        assert server.get_full_server_name() == name
        got = server.get_address()
        assert got.get_address_type() == kind and got.get_path() == name

        client = Ls.LocalSocket()
        client.connect_to_address(addr)
        assert client.get_state() == S.CONNECTED
        peer = accept(server)
        client.write(b"hello")
        client.flush()
        assert read_exactly(peer, 5) == b"hello"

        server.close()
        assert not gsock.is_closed()
        if kind == T.PATH:
            assert os.path.exists(name)
        # The caller's socket still accepts, for GIO.
        conn = Gio.SocketClient().connect(addr, None)
        accepted, _ = listener.accept(None)
        assert accepted is not None
        conn.close(None)
        accepted.close(None)
    finally:
        listener.close()


def test_listen_socket_bad(tmp_short, servers):
    server = servers()
    udp = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP)
    udp.bind(Gio.InetSocketAddress.new_from_string("127.0.0.1", 0), False)
    with pytest.raises(GLib.Error) as exc:
        server.listen_socket(udp)
    assert_ls_error(exc, E.UNSUPPORTED_SOCKET_OPERATION)
    msg = exc.value.message
    assert "listen on" in msg and "127.0.0.1:" in msg and "not a local" in msg, msg
    assert not udp.is_closed()
    assert not server.is_listening()

    stream = Gio.Socket.new(Gio.SocketFamily.UNIX, Gio.SocketType.STREAM,
                            Gio.SocketProtocol.DEFAULT)
    path = os.path.join(tmp_short, "bound")
    stream.bind(Gio.UnixSocketAddress.new(path), False)
    with pytest.raises(GLib.Error) as exc:
        server.listen_socket(stream)
    assert_ls_error(exc, E.UNSUPPORTED_SOCKET_OPERATION)
    assert path in exc.value.message and "not listening" in exc.value.message
    assert server.get_server_error() == E.UNSUPPORTED_SOCKET_OPERATION
    assert not stream.is_closed()
    assert not server.is_listening()
    udp.close()
    stream.close()


# --------------------------------------------------------------------------
# Bad addresses (NULL is a programmer error with a critical: not tested from
# Python, where None would abort the test run with G_DEBUG=fatal-criticals)


def test_listen_address_bad(tmp_short, servers):
    server = servers()
    inet = Gio.InetSocketAddress.new_from_string("127.0.0.1", 4321)
    with pytest.raises(GLib.Error) as exc:
        server.listen_address(inet)
    assert_ls_error(exc, E.UNSUPPORTED_SOCKET_OPERATION)
    msg = exc.value.message
    assert "listen on" in msg and "127.0.0.1:4321" in msg and "not a local socket address" in msg

    anon = Gio.UnixSocketAddress.new_with_type([], T.ANONYMOUS)
    with pytest.raises(GLib.Error) as exc:
        server.listen_address(anon)
    assert_ls_error(exc, E.UNSUPPORTED_SOCKET_OPERATION)
    assert "anonymous" in exc.value.message

    long_path = os.path.join(tmp_short, "x" * 140)
    with pytest.raises(GLib.Error) as exc:
        server.listen_address(Gio.UnixSocketAddress.new(long_path))
    assert_ls_error(exc, E.SERVER_NOT_FOUND)
    assert long_path[:107] in exc.value.message and "truncated" in exc.value.message
    assert os.listdir(tmp_short) == []
    assert not server.is_listening()
    assert server.get_server_error() == E.SERVER_NOT_FOUND


def test_connect_address_bad_signal_order():
    sock = Ls.LocalSocket()
    events = []
    sock.connect("state-changed", lambda s, st: events.append(("state", int(st))))
    sock.connect("error-occurred", lambda s, e: events.append(("error", int(e))))
    sock.connect_to_address(Gio.InetSocketAddress.new_from_string("127.0.0.1", 4321))
    assert events == [("state", int(S.CONNECTING)),
                      ("error", int(E.UNSUPPORTED_SOCKET_OPERATION)),
                      ("state", int(S.UNCONNECTED))]
    assert sock.get_error() == E.UNSUPPORTED_SOCKET_OPERATION
    assert "connect to" in sock.get_error_string()
    assert "127.0.0.1:4321" in sock.get_error_string()
    assert sock.get_socket_descriptor() == -1
    assert sock.get_socket() is None


# --------------------------------------------------------------------------
# get_socket


def test_get_socket(tmp_short, servers):
    name = name_for(T.PATH, tmp_short)
    addr = address(name, T.PATH)
    server = servers()
    server.listen_address(addr)
    sock = Ls.LocalSocket()
    assert sock.get_socket() is None
    sock.connect_to_address(addr)
    peer = accept(server)
    gsock = sock.get_socket()
    assert isinstance(gsock, Gio.Socket)
    assert sock.get_socket() is gsock
    assert gsock.get_fd() != sock.get_socket_descriptor()
    assert gsock.get_credentials().get_unix_pid() == os.getpid()
    # The server's socket keeps the name it was bound under in a private
    # directory beside the path, before it was linked there.
    remote = gsock.get_remote_address().get_path()
    assert os.path.dirname(os.path.dirname(remote)) == os.path.dirname(name)
    assert os.path.basename(remote) == os.path.basename(name)
    # Ls's own buffered I/O still works.
    sock.write(b"x" * 10)
    sock.flush()
    assert read_exactly(peer, 10) == b"x" * 10
    sock.abort()
    assert gsock.is_closed()
    assert sock.get_socket() is None
    assert peer.wait_for_disconnected(10000)


# --------------------------------------------------------------------------
# Qt 5 (PySide2) on a path. Qt 5 has no abstract namespace (that came with
# Qt 6.2's AbstractNamespaceOption): abstract names are tested against Qt 6
# (PyQt6, Debian's python3-pyqt6) further down.

def _have_pyside2():
    r = subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


@pytest.mark.skipif(not _have_pyside2(), reason="PySide2.QtNetwork not installed")
def test_qt5_client_to_ls_server_on_gio_path(tmp_short, servers):
    from test_qt_interop import MIB, QT_SEED, QtPeer, exchange

    path = os.path.join(tmp_short, "qt")
    server = servers()
    assert server.listen_address(Gio.UnixSocketAddress.new(path))
    qt = QtPeer("client", path, size=MIB, seed=QT_SEED, expect=MIB, close=True)
    try:
        run_until(lambda: server.has_pending_connections() or qt.exited())
    except BaseException:
        qt.kill()
        raise
    assert server.has_pending_connections(), "Qt did not reach the Ls server: %s" % qt.result()
    res = exchange(server.next_pending_connection(), qt, ls_closes=False)
    assert res["full_server_name"] == path


@pytest.mark.skipif(not _have_pyside2(), reason="PySide2.QtNetwork not installed")
def test_ls_client_on_gio_path_to_qt5_server(tmp_short):
    from test_qt_interop import MIB, QT_SEED, QtPeer, exchange

    path = os.path.join(tmp_short, "qtserver")
    qt = QtPeer("server", path, size=MIB, seed=QT_SEED, expect=MIB, close=False)
    try:
        listening = qt.read_tagged("LISTENING")
        assert listening["ok"], listening
        client = Ls.LocalSocket()
        client.connect_to_address(Gio.UnixSocketAddress.new(path))
        assert client.get_state() == S.CONNECTED, client.get_error_string()
        assert client.get_remote_address().get_path() == path
        assert client.get_peer_credentials().get_unix_pid() == qt.pid
    except BaseException:
        qt.kill()
        raise
    exchange(client, qt, ls_closes=True)


# --------------------------------------------------------------------------
# Qt 6 (PyQt6) on abstract names: Qt 6's AbstractNamespaceOption is GIO's
# ABSTRACT (exact length, no padding), so those meet; a padded name is a
# different address.

QT6_PEER = os.path.join(HERE, "qt6_abstract_peer.py")


def _have_pyqt6():
    r = subprocess.run([PYTHON, "-c", "import PyQt6.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def _qt6(mode, name, payload=None):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([PYTHON, QT6_PEER, mode, name], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)


def _echo_until_done(server, proc, payload):
    """Accepts the Qt 6 client and echoes from the main loop until it leaves."""
    proc.stdin.write(payload)
    proc.stdin.close()
    run_until(lambda: server.has_pending_connections() or proc.poll() is not None)
    assert server.has_pending_connections(), proc.stdout.read()
    conn = server.next_pending_connection()
    # Accepted sockets report the server's abstract name, as in Qt 6.
    assert conn.get_full_server_name() == server.get_full_server_name()
    conn.connect("ready-read", lambda s: s.write_bytes(s.read_all()))
    if conn.get_bytes_available():
        conn.write_bytes(conn.read_all())
    run_until(lambda: proc.poll() is not None, timeout=30)
    out = proc.stdout.read().decode()
    assert proc.returncode == 0 and out.strip() == "OK", out
    return conn


@pytest.mark.skipif(not _have_pyqt6(), reason="PyQt6.QtNetwork not installed")
@pytest.mark.parametrize("how", ["listen_address", "listen_option"])
def test_qt6_client_to_ls_abstract_server(servers, how):
    name = name_for(T.ABSTRACT, None)
    server = servers()
    if how == "listen_address":
        assert server.listen_address(address(name, T.ABSTRACT))
    else:
        server.set_socket_options(Ls.SocketOptions.ABSTRACT_NAMESPACE)
        assert server.listen(name)
    proc = _qt6("client", name)
    _echo_until_done(server, proc, PAYLOAD)
    assert server.get_full_server_name() == name


@pytest.mark.skipif(not _have_pyqt6(), reason="PyQt6.QtNetwork not installed")
@pytest.mark.parametrize("how", ["connect_to_address", "connect_option"])
def test_ls_client_to_qt6_abstract_server(how):
    name = name_for(T.ABSTRACT, None)
    proc = _qt6("server", name)
    try:
        ready = proc.stdout.readline().decode()
        assert ready.startswith("READY"), ready
        client = Ls.LocalSocket()
        if how == "connect_to_address":
            client.connect_to_address(address(name, T.ABSTRACT))
        else:
            client.set_socket_options(Ls.SocketOptions.ABSTRACT_NAMESPACE)
            client.connect_to_server(name)
        assert client.get_state() == S.CONNECTED, client.get_error_string()
        assert client.get_peer_credentials().get_unix_pid() == proc.pid
        client.write(PAYLOAD)
        assert read_exactly(client, len(PAYLOAD)) == PAYLOAD
        client.disconnect_from_server()
        client.wait_for_disconnected(10000)
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read().decode().strip() == "DONE"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not _have_pyqt6(), reason="PyQt6.QtNetwork not installed")
def test_qt6_does_not_reach_a_padded_ls_server(servers):
    name = name_for(T.ABSTRACT_PADDED, None)
    server = servers()
    assert server.listen_address(address(name, T.ABSTRACT_PADDED))
    proc = _qt6("client", name)
    proc.stdin.write(b"x")
    proc.stdin.close()
    assert proc.wait(timeout=30) == 1
    assert proc.stdout.read().decode().startswith("FAIL connect")
    assert not server.has_pending_connections()
