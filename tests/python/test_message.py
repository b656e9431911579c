# test_message.py: LsLocalSocket's framed messages through PyGObject
#
# Frames are QDataStream's QByteArray: a 32-bit big-endian length, then the
# bytes; 0xFFFFFFFF is Qt's null QByteArray.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket
import struct
import threading

import pytest

from conftest import (GLib, GObject, Ls, assert_ls_error, bytes_of, pair,
                      run_for, run_until)

E = Ls.SocketError
KIB = 1024
MIB = 1024 * 1024


def payload(size, seed=0):
    block = bytes((i * 13 + seed) & 0xFF for i in range(251))
    return (block * (size // len(block) + 1))[:size]


def frame(data):
    return struct.pack(">I", len(data)) + data


@pytest.fixture
def raw_peer():
    """An Ls socket adopting one end of a socketpair; the raw other end."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket()
    assert sock.set_socket_descriptor(a.detach(), Ls.LocalSocketState.CONNECTED)
    yield sock, b
    sock.abort()
    b.close()


def wait_available(sock, n):
    while sock.get_bytes_available() < n:
        assert sock.wait_for_ready_read(30000)
    assert sock.get_bytes_available() == n


def loop_read_message(sock):
    got = []

    def cond():
        m = sock.read_message()
        if m is not None:
            got.append(bytes_of(m))
        return bool(got)
    run_until(cond)
    return got[0]


@pytest.mark.parametrize("size", [0, 1, 64 * KIB, 5 * MIB])
@pytest.mark.parametrize("read_buffer_size", [0, 4 * KIB])
def test_round_trip(sock_path, size, read_buffer_size):
    server, client, peer = pair(sock_path)
    peer.set_read_buffer_size(read_buffer_size)
    client.set_read_buffer_size(read_buffer_size)
    request = payload(size, 1)
    reply = payload(size, 2)
    assert client.write_message(GLib.Bytes.new(request)) is True
    assert client.get_bytes_to_write() == 4 + size
    assert loop_read_message(peer) == request
    assert peer.get_bytes_available() == 0
    assert peer.write_message(GLib.Bytes.new(reply)) is True
    assert loop_read_message(client) == reply


def test_wire_format(raw_peer):
    sock, raw = raw_peer
    sock.write_message(GLib.Bytes.new(b"hello"))
    sock.write_message(GLib.Bytes.new(b""))
    while sock.get_bytes_to_write() > 0:
        assert sock.wait_for_bytes_written(30000)
    raw.settimeout(30)
    got = b""
    while len(got) < 13:
        got += raw.recv(13 - len(got))
    assert got == b"\0\0\0\x05hello\0\0\0\0"


def test_null_frame_reads_as_empty(raw_peer):
    sock, raw = raw_peer
    raw.sendall(b"\xff\xff\xff\xff" + frame(b"x"))
    wait_available(sock, 9)
    assert sock.can_read_message()
    m = sock.read_message()
    assert m is not None and bytes_of(m) == b""
    assert bytes_of(sock.read_message()) == b"x"
    assert sock.read_message() is None
    assert not sock.can_read_message()


def test_split_frame(raw_peer):
    sock, raw = raw_peer
    data = frame(payload(100, 3))
    for i, byte in enumerate(data[:-1]):
        raw.sendall(bytes([byte]))
        wait_available(sock, i + 1)
        assert not sock.can_read_message()
        assert sock.read_message() is None
        assert sock.get_bytes_available() == i + 1
    raw.sendall(data[-1:])
    wait_available(sock, len(data))
    assert bytes_of(sock.read_message()) == data[4:]


def test_hostile_length(raw_peer):
    sock, raw = raw_peer
    sock.set_read_buffer_size(16)
    raw.sendall(struct.pack(">I", 0xFFFFFFF0) + b"0123456789")
    wait_available(sock, 14)
    assert not sock.can_read_message()
    with pytest.raises(GLib.Error) as excinfo:
        sock.read_message()
    assert_ls_error(excinfo, E.DATAGRAM_TOO_LARGE)
    assert sock.get_error() == E.DATAGRAM_TOO_LARGE
    assert sock.get_bytes_available() == 14
    raw.sendall(b"x" * 100)
    wait_available(sock, 16)
    run_for(50)
    assert sock.get_bytes_available() == 16


def test_max_message_size(raw_peer):
    sock, raw = raw_peer
    assert sock.get_max_message_size() == 16777216
    assert sock.props.max_message_size == 16777216
    notes = []
    sock.connect("notify::max-message-size", lambda *a: notes.append(1))
    sock.set_max_message_size(16777216)
    assert notes == []
    sock.props.max_message_size = 10
    assert notes == [1]
    raw.sendall(struct.pack(">I", 11))
    wait_available(sock, 4)
    with pytest.raises(GLib.Error) as excinfo:
        sock.read_message()
    assert_ls_error(excinfo, E.DATAGRAM_TOO_LARGE)
    sock.set_max_message_size(11)
    assert notes == [1, 1]
    assert sock.read_message() is None
    raw.sendall(b"hello world")
    wait_available(sock, 15)
    assert bytes_of(sock.read_message()) == b"hello world"


def test_larger_than_read_buffer_in_handler(raw_peer):
    sock, raw = raw_peer
    sock.set_read_buffer_size(4 * KIB)
    big = payload(MIB, 5)
    got = []

    def on_ready_read(s):
        while True:
            m = s.read_message()
            if m is None:
                break
            got.append(bytes_of(m))
    sock.connect("ready-read", on_ready_read)
    writer = threading.Thread(target=raw.sendall, args=(frame(big) + frame(b"tail"),))
    writer.start()
    run_until(lambda: len(got) >= 2)
    writer.join(30)
    assert got == [big, b"tail"]


def test_write_unconnected():
    sock = Ls.LocalSocket()
    with pytest.raises(GLib.Error) as excinfo:
        sock.write_message(GLib.Bytes.new(b"abc"))
    err = excinfo.value
    assert err.domain == GLib.quark_to_string(Ls.socket_error_quark())
    assert err.code == int(sock.get_error())
    assert err.message == sock.get_error_string()
    assert sock.get_bytes_to_write() == 0


@pytest.mark.parametrize("action", ["close", "abort", "disconnect_from_server", "drop"])
def test_handler_ends_socket(raw_peer, action):
    sock, raw = raw_peer
    sock.set_read_buffer_size(1024)
    read = []
    holder = [sock]

    def on_ready_read(s):
        while True:
            m = s.read_message()
            if m is None:
                return
            read.append(bytes_of(m))
            if len(read) == 1:
                if action == "drop":
                    holder.clear()
                    return
                getattr(s, action)()
    sock.connect("ready-read", on_ready_read)
    raw.sendall(frame(b"one") + frame(b"two") + frame(payload(8 * KIB))[:2000])
    run_until(lambda: read)
    run_for(50)
    assert read[0] == b"one"
    if action in ("close", "abort"):
        assert read == [b"one"]
        assert sock.get_bytes_available() == 0
        assert not sock.can_read_message()
    if action != "drop":
        assert sock.get_state() == Ls.LocalSocketState.UNCONNECTED
