# test_socket.py: LsLocalSocket through PyGObject
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import os
import random
import socket

import pytest

from conftest import (GLib, GObject, Gio, Ls, NotifyRecorder, Recorder,
                      accept, assert_ls_error, bytes_of, connect, listen, pair,
                      read_exactly, record_socket, run_for, run_until,
                      stale_socket)

E = Ls.SocketError
S = Ls.LocalSocketState
O = Ls.SocketOptions


def sc(state):
    return ("state-changed", state)


def err(code):
    return ("error-occurred", code)


# --------------------------------------------------------------------------
# Declarations


def test_signals_are_declared_with_their_argument_types():
    expected = {
        "connected": [],
        "disconnected": [],
        "error-occurred": [Ls.SocketError.__gtype__],
        "state-changed": [Ls.LocalSocketState.__gtype__],
        "ready-read": [],
        "bytes-written": [GObject.TYPE_INT64],
        "about-to-close": [],
        "read-channel-finished": [],
    }
    Ls.LocalSocket()  # the class must be initialised for the lookup
    for name, params in expected.items():
        sig_id = GObject.signal_lookup(name, Ls.LocalSocket)
        assert sig_id != 0, name
        q = GObject.signal_query(sig_id)
        assert list(q.param_types) == params, name
        assert q.return_type == GObject.TYPE_NONE


def test_socket_options_property():
    names = {p.name: p for p in Ls.LocalSocket.list_properties()}
    assert "socket-options" in names
    assert names["socket-options"].flags & GObject.ParamFlags.WRITABLE
    sock = Ls.LocalSocket()
    notes = NotifyRecorder(sock)
    sock.set_socket_options(O.ABSTRACT_NAMESPACE)
    assert sock.get_socket_options() == O.ABSTRACT_NAMESPACE
    assert sock.props.socket_options == O.ABSTRACT_NAMESPACE
    assert notes.names == ["socket-options"]
    sock.props.socket_options = O.ABSTRACT_NAMESPACE
    assert notes.names == ["socket-options"]


def test_connect_timeout_property():
    sock = Ls.LocalSocket()
    assert sock.get_connect_timeout() == 30000
    assert sock.props.connect_timeout == 30000
    notes = NotifyRecorder(sock)
    sock.set_connect_timeout(250)
    assert sock.props.connect_timeout == 250
    sock.set_connect_timeout(250)
    assert notes.names == ["connect-timeout"]


def test_read_buffer_size_property():
    sock = Ls.LocalSocket()
    assert sock.get_read_buffer_size() == 0
    notes = NotifyRecorder(sock)
    sock.set_read_buffer_size(1 << 33)  # a gint64, beyond 32 bits
    assert sock.get_read_buffer_size() == 1 << 33
    assert sock.props.read_buffer_size == 1 << 33
    sock.set_read_buffer_size(1 << 33)
    assert notes.names == ["read-buffer-size"]


# --------------------------------------------------------------------------
# Defaults


def test_defaults():
    sock = Ls.LocalSocket.new()
    assert sock.get_state() == S.UNCONNECTED
    assert sock.get_server_name() == ""
    assert sock.get_full_server_name() == ""
    assert sock.get_error() == E.UNKNOWN
    assert sock.get_error_string() == "Unknown error"
    assert sock.get_bytes_available() == 0
    assert sock.get_bytes_to_write() == 0
    assert sock.can_read_line() is False
    assert sock.flush() is False
    assert sock.is_valid() is False
    assert sock.get_socket_descriptor() == -1
    assert sock.get_read_buffer_size() == 0
    assert sock.get_socket_options() == O.NONE
    assert sock.get_peer_credentials() is None
    assert sock.wait_for_connected(0) is False
    assert sock.wait_for_ready_read(0) is False
    assert bytes_of(sock.read_all()) == b""
    assert bytes_of(sock.read(10)) == b""
    assert bytes_of(sock.peek(10)) == b""
    assert bytes_of(sock.read_line(0)) == b""
    assert sock.write(b"nope") == -1
    assert sock.write_bytes(GLib.Bytes.new(b"nope")) == -1


def test_abort_close_disconnect_on_fresh_socket_emit_nothing():
    sock = Ls.LocalSocket()
    rec = record_socket(sock)
    sock.abort()
    sock.close()
    sock.disconnect_from_server()
    assert rec.events == []
    assert sock.get_state() == S.UNCONNECTED


def test_set_server_name():
    sock = Ls.LocalSocket()
    sock.set_server_name("somewhere")
    assert sock.get_server_name() == "somewhere"
    assert sock.props.server_name == "somewhere"


# --------------------------------------------------------------------------
# connect_to_server


def test_connect_success_signal_order(tmpdir_env):
    server = listen("srv")
    sock = Ls.LocalSocket()
    rec = record_socket(sock)
    sock.connect_to_server("srv")
    # Synchronous: everything happened inside the call.
    assert rec.events == [sc(S.CONNECTING), sc(S.CONNECTED), ("connected",)]
    assert sock.get_state() == S.CONNECTED
    assert sock.is_valid()
    assert sock.get_socket_descriptor() >= 0
    assert sock.get_server_name() == "srv"
    assert sock.get_full_server_name() == os.path.join(tmpdir_env, "srv")
    assert sock.get_error() == E.UNKNOWN
    assert accept(server) is not None


def test_connect_uses_server_name_when_name_is_none(sock_path):
    server = listen(sock_path)
    sock = Ls.LocalSocket()
    sock.set_server_name(sock_path)
    sock.connect_to_server(None)
    assert sock.get_state() == S.CONNECTED
    assert sock.get_full_server_name() == sock_path
    assert accept(server) is not None


def _failing_connect(name, options=None):
    sock = Ls.LocalSocket()
    if options is not None:
        sock.set_socket_options(options)
    rec = record_socket(sock)
    sock.connect_to_server(name)
    return sock, rec


@pytest.mark.parametrize("case", ["missing", "empty", "missing-dir", "too-long"])
def test_connect_server_not_found(tmpdir_env, case):
    name = {
        "missing": "nobody-here",
        "empty": "",
        "missing-dir": os.path.join(tmpdir_env, "no", "such"),
        "too-long": os.path.join(tmpdir_env, "z" * 120),
    }[case]
    sock, rec = _failing_connect(name)
    assert rec.events == [sc(S.CONNECTING), err(E.SERVER_NOT_FOUND), sc(S.UNCONNECTED)]
    assert sock.get_state() == S.UNCONNECTED
    assert sock.get_error() == E.SERVER_NOT_FOUND
    assert sock.get_error_string() not in ("", "Unknown error")
    assert sock.get_server_name() == ""
    assert sock.get_full_server_name() == ""
    assert not sock.is_valid()
    assert sock.get_socket_descriptor() == -1


def test_connect_error_string_names_the_path(tmpdir_env):
    sock, rec = _failing_connect("nobody-here")
    assert os.path.join(tmpdir_env, "nobody-here") in sock.get_error_string()


@pytest.mark.parametrize("case", ["stale", "regular-file", "directory"])
def test_connect_connection_refused(sock_path, case):
    if case == "stale":
        stale_socket(sock_path)
    elif case == "regular-file":
        open(sock_path, "w").close()
    else:
        os.mkdir(sock_path)
    sock, rec = _failing_connect(sock_path)
    assert rec.events == [sc(S.CONNECTING), err(E.CONNECTION_REFUSED), sc(S.UNCONNECTED)]
    assert sock.get_error() == E.CONNECTION_REFUSED
    assert sock.get_state() == S.UNCONNECTED


def test_abstract_client_against_file_server_is_refused(tmpdir_env):
    listen("plain")
    sock, rec = _failing_connect("plain", O.ABSTRACT_NAMESPACE)
    assert rec.events == [sc(S.CONNECTING), err(E.CONNECTION_REFUSED), sc(S.UNCONNECTED)]


def test_connect_while_connected_is_an_operation_error(sock_path):
    server = listen(sock_path)
    sock = connect(sock_path)
    rec = record_socket(sock)
    sock.connect_to_server(sock_path)
    assert rec.events == [err(E.OPERATION)]
    assert sock.get_state() == S.CONNECTED
    assert accept(server) is not None


def test_successful_connect_resets_error(sock_path):
    sock, _ = _failing_connect(sock_path)
    assert sock.get_error() == E.SERVER_NOT_FOUND
    server = listen(sock_path)
    sock.connect_to_server(sock_path)
    assert sock.get_state() == S.CONNECTED
    assert sock.get_error() == E.UNKNOWN
    assert sock.get_error_string() == "Unknown error"
    assert accept(server) is not None


def test_reconnect_after_disconnect(sock_path):
    server = listen(sock_path)
    sock = connect(sock_path)
    accept(server)
    sock.disconnect_from_server()
    assert sock.get_state() == S.UNCONNECTED
    rec = record_socket(sock)
    sock.connect_to_server(sock_path)
    assert rec.events == [sc(S.CONNECTING), sc(S.CONNECTED), ("connected",)]
    other = accept(server)
    sock.write(b"again")
    assert read_exactly(other, 5) == b"again"


# --------------------------------------------------------------------------
# Bytes in and out


def test_write_read_bytes(sock_path):
    server, client, accepted = pair(sock_path)
    assert client.write(b"hello") == 5
    assert client.get_bytes_to_write() == 5
    assert client.wait_for_bytes_written(-1) is True
    assert client.get_bytes_to_write() == 0
    assert accepted.wait_for_ready_read(-1) is True
    assert accepted.get_bytes_available() == 5
    data = accepted.read_all()
    assert isinstance(data, GLib.Bytes)
    assert data.get_data() == b"hello"
    assert accepted.get_bytes_available() == 0

    assert accepted.write_bytes(GLib.Bytes.new(b"\x00\x01\xff binary")) == 10
    assert read_exactly(client, 10) == b"\x00\x01\xff binary"


def test_write_returns_size_and_buffers_everything(sock_path):
    server, client, accepted = pair(sock_path)
    big = os.urandom(4 * 1024 * 1024)
    assert client.write(big) == len(big)
    # Nothing leaves before the event core, flush() or a wait runs.
    assert client.get_bytes_to_write() == len(big)
    got = read_exactly(accepted, len(big))
    assert hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
    assert client.get_bytes_to_write() == 0


def test_flush_writes_without_the_loop(sock_path):
    server, client, accepted = pair(sock_path)
    client.write(b"flushed")
    assert client.flush() is True
    assert client.get_bytes_to_write() == 0
    assert client.flush() is False  # nothing left
    assert accepted.wait_for_ready_read(-1)
    assert bytes_of(accepted.read_all()) == b"flushed"


def test_read_peek_readline(sock_path):
    server, client, accepted = pair(sock_path)
    client.write(b"first line\nsecond\nthird")
    client.flush()
    run_until(lambda: accepted.get_bytes_available() == 23)

    assert bytes_of(accepted.peek(5)) == b"first"
    assert accepted.get_bytes_available() == 23
    assert accepted.can_read_line() is True
    assert bytes_of(accepted.read_line(0)) == b"first line\n"
    # max includes the newline; a limited read stops at max bytes.
    # Qt's rule: read_line(N) returns at most N - 1 bytes.
    assert bytes_of(accepted.read_line(4)) == b"sec"
    assert bytes_of(accepted.read_line(0)) == b"ond\n"
    assert accepted.can_read_line() is False
    assert bytes_of(accepted.read(2)) == b"th"
    assert bytes_of(accepted.peek(100)) == b"ird"
    assert bytes_of(accepted.read(100)) == b"ird"
    assert accepted.get_bytes_available() == 0
    assert bytes_of(accepted.read(10)) == b""


def test_ready_read_and_bytes_written_signals(sock_path):
    server, client, accepted = pair(sock_path)
    crec = Recorder(client, ["bytes-written"])
    arec = Recorder(accepted, ["ready-read"])
    chunks = []
    accepted.connect("ready-read", lambda s: chunks.append(bytes_of(s.read_all())))
    payload = os.urandom(300000)
    client.write(payload)
    run_until(lambda: sum(map(len, chunks)) == len(payload))
    assert b"".join(chunks) == payload
    assert arec.count("ready-read") >= 1
    assert crec.count("bytes-written") >= 1
    assert sum(e[1] for e in crec.events) == len(payload)
    assert all(e[1] > 0 for e in crec.events)


def test_one_mebibyte_each_way_through_the_loop(sock_path):
    server, client, accepted = pair(sock_path)
    rnd = random.Random(42)
    up = rnd.randbytes(1 << 20)
    down = rnd.randbytes(1 << 20)
    got_up = bytearray()
    got_down = bytearray()
    accepted.connect("ready-read", lambda s: got_up.extend(bytes_of(s.read_all())))
    client.connect("ready-read", lambda s: got_down.extend(bytes_of(s.read_all())))
    assert client.write(up) == len(up)
    assert accepted.write(down) == len(down)
    run_until(lambda: len(got_up) == len(up) and len(got_down) == len(down))
    assert bytes(got_up) == up
    assert bytes(got_down) == down


def test_ready_read_is_not_recursive(sock_path):
    server, client, accepted = pair(sock_path)
    depth = [0]
    max_depth = [0]
    got = bytearray()

    def on_ready_read(s):
        depth[0] += 1
        max_depth[0] = max(max_depth[0], depth[0])
        got.extend(bytes_of(s.read(7)))
        # Waiting inside the handler must not re-enter it.
        s.wait_for_ready_read(0)
        depth[0] -= 1
    accepted.connect("ready-read", on_ready_read)
    client.write(b"x" * 70)
    client.flush()

    def cond():
        if accepted.get_bytes_available():
            got.extend(bytes_of(accepted.read_all()))
        return len(got) == 70
    run_until(cond)
    assert max_depth[0] == 1


def test_read_buffer_size_caps_buffered_input(sock_path):
    server, client, accepted = pair(sock_path)
    accepted.set_read_buffer_size(128)
    client.write(bytes(range(256)))
    assert client.wait_for_bytes_written(-1)
    assert accepted.wait_for_ready_read(-1)
    run_for(50)
    assert accepted.get_bytes_available() == 128
    assert bytes_of(accepted.read_all()) == bytes(range(128))
    if accepted.get_bytes_available() == 0:
        assert accepted.wait_for_ready_read(-1)
    assert accepted.get_bytes_available() == 128
    assert bytes_of(accepted.read_all()) == bytes(range(128, 256))


# --------------------------------------------------------------------------
# Closing: peer close, disconnect_from_server, abort, close


PEER_CLOSED_SEQUENCE = [err(E.PEER_CLOSED), sc(S.CLOSING), sc(S.UNCONNECTED),
                        ("read-channel-finished",), ("disconnected",)]


def test_peer_close_keeps_data_readable(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client, ["disconnected", "error-occurred", "state-changed",
                                 "read-channel-finished", "about-to-close"])
    states_at_disconnect = []
    client.connect("disconnected", lambda s: states_at_disconnect.append(s.get_state()))
    accepted.write(b"last words")
    accepted.disconnect_from_server()
    run_until(lambda: rec.count("disconnected") == 1)
    run_for(50)
    assert rec.events == PEER_CLOSED_SEQUENCE
    assert states_at_disconnect == [S.UNCONNECTED]
    assert client.get_state() == S.UNCONNECTED
    assert client.get_error() == E.PEER_CLOSED
    assert client.get_bytes_available() == 10
    assert bytes_of(client.read_all()) == b"last words"
    assert client.write(b"too late") == -1


def test_peer_close_seen_inside_wait_for_ready_read(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client, ["disconnected", "error-occurred", "state-changed",
                                 "read-channel-finished"])
    accepted.abort()
    assert client.wait_for_ready_read(-1) is False
    assert rec.events == PEER_CLOSED_SEQUENCE


def test_wait_for_disconnected_on_peer_close(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client, ["disconnected"])
    accepted.close()
    assert client.wait_for_disconnected(-1) is True
    assert rec.count("disconnected") == 1
    assert client.get_state() == S.UNCONNECTED


def test_peer_close_from_raw_socket(sock_path):
    server = listen(sock_path)
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(sock_path)
    accepted = accept(server)
    rec = record_socket(accepted, ["disconnected", "error-occurred", "state-changed",
                                   "read-channel-finished"])
    raw.sendall(b"bye")
    raw.close()
    run_until(lambda: rec.count("disconnected") == 1)
    assert rec.events == PEER_CLOSED_SEQUENCE
    assert bytes_of(accepted.read_all()) == b"bye"


def test_disconnect_with_nothing_queued_is_synchronous(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client)
    client.disconnect_from_server()
    assert rec.events == [sc(S.CLOSING), sc(S.UNCONNECTED),
                          ("read-channel-finished",), ("disconnected",)]
    assert client.get_state() == S.UNCONNECTED
    assert client.get_socket_descriptor() == -1
    # As in Qt, valid (open) until close() or abort().
    assert client.is_valid()
    client.close()
    assert not client.is_valid()
    prec = record_socket(accepted, ["disconnected"])
    run_until(lambda: prec.count("disconnected") == 1)


def test_disconnect_flushes_pending_data(sock_path):
    server, client, accepted = pair(sock_path)
    payload = os.urandom(2 * 1024 * 1024)
    rec = record_socket(client, ["state-changed", "read-channel-finished", "disconnected",
                                 "about-to-close"])
    client.write(payload)
    client.disconnect_from_server()
    assert rec.events == [sc(S.CLOSING)]
    assert client.get_state() == S.CLOSING
    # Written while closing: delivered too, before the close (as in Qt).
    assert client.write(b"more") == 4
    got = bytearray()
    accepted.connect("ready-read", lambda s: got.extend(bytes_of(s.read_all())))
    prec = record_socket(accepted, ["disconnected"])
    run_until(lambda: prec.count("disconnected") == 1 and rec.count("disconnected") == 1)
    assert bytes(got) + bytes_of(accepted.read_all()) == payload + b"more"
    assert rec.events == [sc(S.CLOSING), sc(S.UNCONNECTED),
                          ("read-channel-finished",), ("disconnected",)]


def test_wait_for_disconnected_flushes(sock_path):
    server, client, accepted = pair(sock_path)
    payload = os.urandom(1 << 20)
    client.write(payload)
    client.disconnect_from_server()
    got = bytearray()
    accepted.connect("ready-read", lambda s: got.extend(bytes_of(s.read_all())))
    # The peer must drain for the flush to finish: read in another thread's
    # stead by letting the accepted side use the default loop afterwards.
    # Here the kernel buffer cannot hold 1 MiB, so drive both: first wait
    # with a short timeout, then let the reader catch up, and repeat.
    while client.get_state() != S.UNCONNECTED:
        client.wait_for_disconnected(10)
        run_for(5)
    run_until(lambda: len(got) + accepted.get_bytes_available() == len(payload))
    assert bytes(got) + bytes_of(accepted.read_all()) == payload


def test_abort_drops_pending_data(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client)
    client.write(os.urandom(1 << 20))
    client.abort()
    assert client.get_bytes_to_write() == 0
    assert rec.events == [sc(S.UNCONNECTED), ("read-channel-finished",), ("disconnected",),
                          ("about-to-close",)]
    assert client.get_state() == S.UNCONNECTED
    prec = record_socket(accepted, ["disconnected"])
    run_until(lambda: prec.count("disconnected") == 1)


def test_close_emits_about_to_close_first_and_drops_read_buffer(sock_path):
    server, client, accepted = pair(sock_path)
    accepted.write(b"unread")
    accepted.flush()
    assert client.wait_for_ready_read(-1)
    assert client.get_bytes_available() == 6
    rec = record_socket(client)
    client.close()
    assert rec.events == [("about-to-close",), sc(S.CLOSING), sc(S.UNCONNECTED),
                          ("read-channel-finished",), ("disconnected",)]
    assert client.get_bytes_available() == 0


@pytest.mark.parametrize("signal", ["ready-read", "error-occurred", "state-changed",
                                    "read-channel-finished", "disconnected"])
def test_dropping_the_last_reference_inside_a_handler_is_safe(sock_path, signal):
    server, client, accepted = pair(sock_path)
    holder = {"sock": accepted}
    seen = []

    def on_signal(s, *args):
        seen.append(signal)
        holder.clear()  # drops the only reference to the socket
    accepted.connect(signal, on_signal)
    del accepted
    client.write(b"data then close")
    client.disconnect_from_server()
    run_until(lambda: seen)
    run_for(50)
    assert holder == {}
    assert seen[0] == signal


# --------------------------------------------------------------------------
# wait_for_* (never iterate a main context; timeouts don't close)


def test_wait_for_ready_read_timeout_keeps_connection(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client)
    assert client.wait_for_ready_read(30) is False
    assert client.get_error() == E.SOCKET_TIMEOUT
    assert client.get_error_string() not in ("", "Unknown error")
    assert client.get_state() == S.CONNECTED
    assert rec.count("error-occurred") == 0
    assert rec.count("state-changed") == 0
    accepted.write(b"fine")
    accepted.flush()
    assert client.wait_for_ready_read(-1) is True
    assert bytes_of(client.read_all()) == b"fine"


def test_wait_for_ready_read_emits_ready_read_inside(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client, ["ready-read"])
    accepted.write(b"x")
    accepted.flush()
    assert client.wait_for_ready_read(-1)
    assert rec.count("ready-read") == 1


def test_wait_for_bytes_written_emits_bytes_written_inside(sock_path):
    server, client, accepted = pair(sock_path)
    rec = record_socket(client, ["bytes-written"])
    client.write(b"abc")
    assert client.wait_for_bytes_written(-1) is True
    assert rec.events == [("bytes-written", 3)]
    assert client.wait_for_bytes_written(0) is False  # nothing left to write


def test_wait_for_connected_when_connected(sock_path):
    server, client, accepted = pair(sock_path)
    assert client.wait_for_connected(0) is True
    assert client.wait_for_disconnected(0) is False
    assert client.get_state() == S.CONNECTED


def test_wait_calls_do_not_iterate_the_main_context(sock_path):
    server, client, accepted = pair(sock_path)
    fired = []
    GLib.idle_add(lambda: fired.append(True) and False)
    accepted.write(b"1")
    accepted.flush()
    assert client.wait_for_ready_read(-1)
    client.wait_for_ready_read(20)
    assert fired == []
    run_until(lambda: fired)


# --------------------------------------------------------------------------
# Backlog full (EAGAIN): bounded retry, then SOCKET_TIMEOUT; never stuck


def _fill_backlog(path, limit=64):
    """Connects until one client finds the (tiny) backlog full and stays in
    CONNECTING."""
    server = Ls.LocalServer()
    server.set_listen_backlog_size(1)
    server.set_max_pending_connections(0)  # the loop accepts nothing
    server.listen(path)
    full = []
    for _ in range(limit):
        s = Ls.LocalSocket()
        s.set_connect_timeout(300)
        rec = record_socket(s)
        s.connect_to_server(path)
        if s.get_state() == S.CONNECTING:
            return server, full, s, rec
        assert s.get_state() == S.CONNECTED
        full.append(s)
    pytest.fail("the listen backlog never filled up")


def test_backlog_full_times_out_to_unconnected(sock_path):
    server, full, sock, rec = _fill_backlog(sock_path)
    assert rec.events == [sc(S.CONNECTING)]
    run_until(lambda: sock.get_state() != S.CONNECTING)
    assert sock.get_state() == S.UNCONNECTED
    assert rec.events == [sc(S.CONNECTING), err(E.SOCKET_TIMEOUT), sc(S.UNCONNECTED)]
    assert sock.get_error() == E.SOCKET_TIMEOUT


def test_backlog_full_connects_when_room_appears(sock_path):
    server, full, sock, rec = _fill_backlog(sock_path)
    sock.set_connect_timeout(30000)
    # Accept the queued clients: the backlog frees up and the retry succeeds.
    for _ in full:
        ok, _t = server.wait_for_new_connection(-1)
        assert ok
        server.next_pending_connection()
    run_until(lambda: sock.get_state() != S.CONNECTING)
    assert rec.events == [sc(S.CONNECTING), sc(S.CONNECTED), ("connected",)]
    ok, _t = server.wait_for_new_connection(-1)
    accepted = server.next_pending_connection()
    sock.write(b"late")
    assert read_exactly(accepted, 4) == b"late"


# --------------------------------------------------------------------------
# Descriptors and credentials


def test_set_socket_descriptor_socketpair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket()
    fd = a.detach()
    assert sock.set_socket_descriptor(fd, S.CONNECTED) is True
    assert sock.get_state() == S.CONNECTED
    assert sock.get_socket_descriptor() == fd
    assert sock.is_valid()
    b.sendall(b"from raw")
    assert read_exactly(sock, 8) == b"from raw"
    sock.write(b"to raw")
    sock.flush()
    b.settimeout(10)
    assert b.recv(100) == b"to raw"
    b.close()
    rec = record_socket(sock, ["disconnected"])
    run_until(lambda: rec.count("disconnected") == 1)


def test_set_socket_descriptor_rejects_non_local_stream():
    sock = Ls.LocalSocket()
    for s in (socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
              socket.socket(socket.AF_INET, socket.SOCK_STREAM)):
        with pytest.raises(GLib.Error) as e:
            sock.set_socket_descriptor(s.fileno(), S.CONNECTED)
        assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
        os.fstat(s.fileno())  # still ours
        s.close()
    r, w = os.pipe()
    with pytest.raises(GLib.Error) as e:
        sock.set_socket_descriptor(r, S.CONNECTED)
    assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
    os.fstat(r)
    os.close(r)
    os.close(w)
    with pytest.raises(GLib.Error) as e:
        sock.set_socket_descriptor(-1, S.CONNECTED)
    assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
    assert sock.get_state() == S.UNCONNECTED


def test_set_socket_descriptor_names_from_peer(sock_path):
    server = listen(sock_path)
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(sock_path)
    # An Ls server's socket keeps the name it was bound under in a private
    # directory beside the path, before it was linked there.
    bound = raw.getpeername()
    assert os.path.dirname(os.path.dirname(bound)) == os.path.dirname(sock_path)
    sock = Ls.LocalSocket()
    sock.set_socket_descriptor(raw.detach(), S.CONNECTED)
    assert sock.get_full_server_name() == bound
    assert sock.get_server_name() == os.path.basename(sock_path)
    accepted = accept(server)
    sock.write(b"adopted")
    assert read_exactly(accepted, 7) == b"adopted"


def test_peer_credentials(sock_path):
    server, client, accepted = pair(sock_path)
    for s in (client, accepted):
        creds = s.get_peer_credentials()
        assert isinstance(creds, Gio.Credentials)
        assert creds.get_unix_pid() == os.getpid()
        assert creds.get_unix_user() == os.getuid()
    # Each call returns a new object the caller owns.
    c1 = client.get_peer_credentials()
    c2 = client.get_peer_credentials()
    assert c1 is not c2
    assert c1.__grefcount__ == 1
    assert c1.is_same_user(c2)
    client.abort()
    assert client.get_peer_credentials() is None


def test_peer_credentials_of_a_child_process(sock_path):
    import subprocess
    server = listen(sock_path)
    child = subprocess.Popen(["/usr/bin/python3", "-c", """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.recv(1)
""", sock_path])
    try:
        accepted = accept(server)
        creds = accepted.get_peer_credentials()
        assert creds.get_unix_pid() == child.pid
        assert creds.get_unix_user() == os.getuid()
        accepted.write(b"!")
        accepted.flush()
    finally:
        assert child.wait(30) == 0


def test_state_property_notifies_before_state_changed(sock_path):
    """Ls 1.2: `state` is a property, notified just before each
    state-changed; the names notify when they change."""
    server = Ls.LocalServer()
    server.listen(sock_path)
    sock = Ls.LocalSocket()
    seen = []
    sock.connect("notify::state", lambda s, p: seen.append(("notify", int(s.props.state))))
    sock.connect("state-changed", lambda s, st: seen.append(("changed", int(st))))
    sock.connect("notify::server-name", lambda s, p: seen.append(("name", s.props.server_name)))
    assert sock.props.state == Ls.LocalSocketState.UNCONNECTED
    sock.connect_to_server(sock_path)
    assert sock.props.state == Ls.LocalSocketState.CONNECTED
    assert seen == [("name", sock_path), ("notify", 2), ("changed", 2),
                    ("notify", 3), ("changed", 3)]
    del seen[:]
    sock.abort()
    assert seen == [("name", ""), ("notify", 0), ("changed", 0)]
    server.close()
