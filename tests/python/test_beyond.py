# test_beyond.py: issue 15 through PyGObject: descriptor passing, socket
# activation, reclaiming stale sockets
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import socket
import stat
import struct
import subprocess
import time

import pytest

from conftest import (GLib, Gio, Ls, accept, assert_ls_error, bytes_of, connect,
                      listen, pair, read_exactly, run_until)

E = Ls.SocketError


def identity(fd):
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino)


# ---------------------------------------------------------------- descriptors

def fd_pair(name):
    """pair (), with a server whose accepted sockets receive descriptors."""
    server = listen(name)
    server.props.accept_fds = True
    client = connect(name)
    accepted = accept(server)
    assert accepted.get_accept_fds() and not client.get_accept_fds()
    return server, client, accepted


def open_fd_count():
    return len(os.listdir("/proc/self/fd"))


def test_fds_travel_with_their_bytes(tmpdir_env):
    server, client, accepted = fd_pair("fds")
    r, w = os.pipe()
    memfd = os.memfd_create("ls-py")
    expected = [identity(r), identity(memfd)]
    fd_list = Gio.UnixFDList.new_from_array([r, memfd])  # takes them

    client.write(b"head")
    assert client.write_with_fds(GLib.Bytes.new(b"body"), fd_list)
    assert read_exactly(accepted, 4) == b"head"
    assert accepted.take_fds() is None
    assert read_exactly(accepted, 4) == b"body"
    got = accepted.take_fds()
    assert got is not None
    fds = got.steal_fds()
    assert [identity(fd) for fd in fds] == expected
    assert all(not os.get_inheritable(fd) for fd in fds)
    # The pipe really is the pipe: write through our end of it.
    os.write(w, b"ping")
    assert os.read(fds[0], 4) == b"ping"
    for fd in fds:
        os.close(fd)
    os.close(w)
    assert accepted.take_fds() is None
    client.abort()
    accepted.abort()
    server.close()


def test_fds_with_messages(tmpdir_env):
    server, client, accepted = fd_pair("fdm")
    sent = []
    for i in range(20):
        memfd = os.memfd_create("m%d" % i)
        sent.append(identity(memfd))
        fd_list = Gio.UnixFDList.new_from_array([memfd])
        body = struct.pack(">I", i) * (i * 500 + 1)
        assert client.write_with_fds(GLib.Bytes.new(struct.pack(">I", len(body)) + body),
                                     fd_list)
    got = []

    def cond():
        while True:
            m = accepted.read_message()
            if m is None:
                break
            fds = accepted.take_fds().steal_fds()
            assert len(fds) == 1
            got.append((struct.unpack(">I", bytes_of(m)[:4])[0], identity(fds[0])))
            os.close(fds[0])
        return len(got) == 20
    run_until(cond)
    assert got == list(enumerate(sent))
    client.abort()
    accepted.abort()
    server.close()


def test_fds_rejected_writes_nothing(tmpdir_env):
    server, client, accepted = pair("fdr")
    memfd = os.memfd_create("x")
    with pytest.raises(GLib.Error) as excinfo:
        client.write_with_fds(GLib.Bytes.new(b""), Gio.UnixFDList.new_from_array([memfd]))
    assert_ls_error(excinfo, E.OPERATION)
    too_many = Gio.UnixFDList.new()
    m2 = os.memfd_create("y")
    for _ in range(254):
        too_many.append(m2)
    os.close(m2)
    with pytest.raises(GLib.Error) as excinfo:
        client.write_with_fds(GLib.Bytes.new(b"x"), too_many)
    assert_ls_error(excinfo, E.DATAGRAM_TOO_LARGE)
    assert client.get_bytes_to_write() == 0
    client.abort()
    accepted.abort()
    server.close()


def test_fds_from_a_raw_python_peer(tmpdir_env):
    """socket.send_fds (SCM_RIGHTS) interoperates both ways."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket()
    sock.set_accept_fds(True)
    assert sock.set_socket_descriptor(a.detach(), Ls.LocalSocketState.CONNECTED)
    memfd = os.memfd_create("raw")
    ident = identity(memfd)
    socket.send_fds(b, [b"raw!"], [memfd])
    os.close(memfd)
    assert read_exactly(sock, 4) == b"raw!"
    fds = sock.take_fds().steal_fds()
    assert [identity(fd) for fd in fds] == [ident]
    # And back: Ls sends, Python's recv_fds receives.
    assert sock.write_with_fds(GLib.Bytes.new(b"back"), Gio.UnixFDList.new_from_array(fds))
    assert sock.flush()
    data, got, _flags, _addr = socket.recv_fds(b, 16, 4)
    assert data == b"back"
    assert [identity(fd) for fd in got] == [ident]
    for fd in got:
        os.close(fd)
    sock.abort()
    b.close()


def test_fds_hostile_sender_is_cut_off(tmpdir_env):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket(accept_fds=True)
    assert sock.set_socket_descriptor(a.detach(), Ls.LocalSocketState.CONNECTED)
    errors = []
    sock.connect("error-occurred", lambda s, code: errors.append(code))
    memfd = os.memfd_create("h")
    b.setblocking(False)
    sent = 0

    def cond():
        nonlocal sent
        try:
            while sent < 2000:
                socket.send_fds(b, [b"z"], [memfd] * 100)
                sent += 100
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            pass
        return bool(errors)
    run_until(cond)
    assert errors == [E.SOCKET_RESOURCE]
    assert sock.get_state() == Ls.LocalSocketState.UNCONNECTED
    assert "1024" in sock.get_error_string()
    os.close(memfd)
    b.close()


def test_fds_refused_without_accept_fds(tmpdir_env):
    """Issue 25: without accept-fds, descriptors a peer sends never reach
    this process (its descriptor count stays put), and the data arrives."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket()
    assert sock.props.accept_fds is False
    assert sock.set_socket_descriptor(a.detach(), Ls.LocalSocketState.CONNECTED)
    errors = []
    sock.connect("error-occurred", lambda s, code: errors.append(code))
    memfd = os.memfd_create("refused")
    before = open_fd_count()
    sent = bytes(range(100))
    got = bytearray()
    for i in range(len(sent)):
        socket.send_fds(b, [sent[i:i + 1]], [memfd] * 253)

        def cond():
            got.extend(bytes_of(sock.read_all()))
            return len(got) > i
        run_until(cond)
        assert open_fd_count() == before
        assert sock.take_fds() is None
    assert bytes(got) == sent
    assert errors == []
    assert sock.get_state() == Ls.LocalSocketState.CONNECTED
    sock.abort()
    os.close(memfd)
    b.close()


def test_fds_server_accept_fds_before_the_first_read(tmpdir_env):
    """Issue 25: a client that sends descriptors with its very first byte,
    before the server application sees the connection: the server's
    accept-fds decides whether they arrive."""
    server = listen("fdf")
    notified = []
    server.connect("notify::accept-fds", lambda *a: notified.append(server.props.accept_fds))
    memfd = os.memfd_create("first")
    ident = identity(memfd)
    for accept_fds in (True, False):
        server.set_accept_fds(accept_fds)
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(server.get_full_server_name())
        socket.send_fds(raw, [b"F"], [memfd, memfd])
        accepted = accept(server)
        assert accepted.get_accept_fds() is accept_fds
        assert read_exactly(accepted, 1) == b"F"
        got = accepted.take_fds()
        if accept_fds:
            fds = got.steal_fds()
            assert [identity(fd) for fd in fds] == [ident, ident]
            for fd in fds:
                os.close(fd)
        else:
            assert got is None
        accepted.abort()
        raw.close()
    assert notified == [True, False]
    os.close(memfd)
    server.close()


def test_fds_released_with_their_own_write(tmpdir_env):
    """Issue 23.1: a write with descriptors followed at once by plain ones:
    the descriptors come with the bytes of their own write."""
    server, client, accepted = fd_pair("fdw")
    memfd = os.memfd_create("own")
    assert client.write_with_fds(GLib.Bytes.new(b"with"), Gio.UnixFDList.new_from_array([memfd]))
    client.write(b"without")
    assert client.flush()
    # Both writes are here before the application reads any of it.
    run_until(lambda: accepted.get_bytes_available() >= 11)
    assert bytes_of(accepted.read(4)) == b"with"
    got = accepted.take_fds()
    assert got is not None, "the descriptors did not come with their own write"
    fds = got.steal_fds()
    assert len(fds) == 1
    os.close(fds[0])
    assert read_exactly(accepted, 7) == b"without"
    assert accepted.take_fds() is None
    client.abort()
    accepted.abort()
    server.close()


# ----------------------------------------------------------------- activation

HELPER = os.environ.get("LS_ACTIVATION_HELPER") or os.path.join(
    os.environ.get("LS_BUILD_ROOT", ""), "tests", "ls-activation-helper")
SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")


@pytest.mark.skipif(SOCKET_ACTIVATE is None, reason="systemd-socket-activate not installed")
@pytest.mark.parametrize("fdname", ["ctl", None])
def test_activation_under_systemd_socket_activate(tmp_short, fdname):
    path = os.path.join(tmp_short, "act")
    args = [SOCKET_ACTIVATE, "-l", path]
    if fdname:
        args.append("--fdname=" + fdname)
    args += [HELPER, "echo", fdname or "-"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # The first connection starts the helper, which listens on the
        # passed socket and echoes this connection.
        sock = Ls.LocalSocket()
        sock.connect_to_server(path)
        assert sock.get_state() == Ls.LocalSocketState.CONNECTED
        sock.write(b"hello activation\n")
        assert read_exactly(sock, 17) == b"hello activation\n"
        sock.disconnect_from_server()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    # full-server-name is the socket's path; close() left the file alone.
    assert out.decode().splitlines() == ["listening %s act" % path, "closed 1"]
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


@pytest.mark.skipif(SOCKET_ACTIVATE is None, reason="systemd-socket-activate not installed")
def test_activation_unknown_name_under_systemd_socket_activate(tmp_short):
    path = os.path.join(tmp_short, "act")
    proc = subprocess.Popen([SOCKET_ACTIVATE, "-l", path, "--fdname=ctl", HELPER, "check",
                             "other"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        out, err = proc.communicate(timeout=20)
        s.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.decode().startswith("error %d " % int(E.SERVER_NOT_FOUND)), out


def test_activation_without_variables():
    server = Ls.LocalServer()
    env = {k: os.environ.pop(k) for k in ("LISTEN_PID", "LISTEN_FDS") if k in os.environ}
    try:
        with pytest.raises(GLib.Error) as excinfo:
            server.listen_activated(None)
        assert_ls_error(excinfo, E.SERVER_NOT_FOUND)
        assert server.get_server_error() == E.SERVER_NOT_FOUND
        assert not server.is_listening()
    finally:
        os.environ.update(env)


# -------------------------------------------------------------------- reclaim

def make_stale(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def test_reclaim_stale_property(tmp_short):
    server = Ls.LocalServer()
    assert server.get_reclaim_stale() is False
    assert server.props.reclaim_stale is False
    notified = []
    server.connect("notify::reclaim-stale", lambda *a: notified.append(1))
    server.props.reclaim_stale = True
    server.set_reclaim_stale(True)
    assert notified == [1]


@pytest.mark.parametrize("options", [Ls.SocketOptions.NONE, Ls.SocketOptions.USER_ACCESS,
                                     Ls.SocketOptions.WORLD_ACCESS])
def test_reclaim_replaces_only_a_stale_socket(tmp_short, options):
    path = os.path.join(tmp_short, "s")
    make_stale(path)
    plain = Ls.LocalServer()
    with pytest.raises(GLib.Error) as excinfo:
        plain.listen(path)
    assert_ls_error(excinfo, E.ADDRESS_IN_USE)

    server = Ls.LocalServer(reclaim_stale=True)
    server.set_socket_options(options)
    assert server.listen(path)
    assert os.path.exists(path + ".lock")
    # A live server is never replaced.
    other = Ls.LocalServer(reclaim_stale=True)
    with pytest.raises(GLib.Error) as excinfo:
        other.listen(path)
    assert_ls_error(excinfo, E.ADDRESS_IN_USE)
    client = Ls.LocalSocket()
    client.connect_to_server(path)
    assert client.get_state() == Ls.LocalSocketState.CONNECTED
    client.abort()
    server.close()
    assert not os.path.exists(path)


def test_reclaim_leaves_other_files(tmp_short):
    path = os.path.join(tmp_short, "s")
    target = os.path.join(tmp_short, "target")
    make_stale(target)
    os.symlink(target, path)
    server = Ls.LocalServer(reclaim_stale=True)
    with pytest.raises(GLib.Error) as excinfo:
        server.listen(path)
    assert_ls_error(excinfo, E.ADDRESS_IN_USE)
    assert "symbolic link" in excinfo.value.message
    assert os.path.islink(path) and stat.S_ISSOCK(os.lstat(target).st_mode)
    os.unlink(path)
    with open(path, "w") as f:
        f.write("keep")
    with pytest.raises(GLib.Error) as excinfo:
        server.listen(path)
    assert_ls_error(excinfo, E.ADDRESS_IN_USE)
    with open(path) as f:
        assert f.read() == "keep"
