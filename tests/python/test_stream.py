# test_stream.py: the socket as a Gio.IOStream, write-high-water and detach
# (issue 24) through PyGObject: GIO's stream tools on Ls, as a Python
# program uses them.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import os
import socket as pysocket
import subprocess
import threading

import gi
import pytest

from conftest import (HERE, PYTHON, GLib, Gio, Ls, accept, assert_ls_error, bytes_of, connect,
                      listen, pair, read_exactly, record_socket, run_for, run_until)

gi.require_version("Json", "1.0")
from gi.repository import Json  # noqa: E402

E = Ls.SocketError
S = Ls.LocalSocketState
MIB = 1024 * 1024
QT_LINES_PEER = os.path.join(HERE, "qt_lines_peer.py")


class Result:
    """One callback: the value of the finish call, or the GLib.Error."""

    def __init__(self, finish=None):
        self.finish = finish
        self.calls = 0
        self.value = None
        self.error = None

    def __call__(self, source, result, *user_data):
        self.calls += 1
        try:
            self.value = (self.finish or (lambda r: r))(result)
        except GLib.Error as e:
            self.error = e

    def wait(self):
        run_until(lambda: self.calls > 0, timeout=120)
        assert self.calls == 1
        if self.error is not None:
            raise self.error
        return self.value


def streams(sock):
    view = sock.get_io_stream()
    return view.get_input_stream(), view.get_output_stream()


def read_to_end(stream):
    got = bytearray()
    while True:
        r = Result(stream.read_bytes_finish)
        stream.read_bytes_async(4096, GLib.PRIORITY_DEFAULT, None, r)
        chunk = bytes_of(r.wait())
        if not chunk:
            return bytes(got)
        got += chunk


def have_pyside2():
    r = subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def qt_records(count):
    """The records qt_lines_peer.py writes (see its records())."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["record-%d:%s" % (i, "".join(letters[j % 26] for j in range(i % 37)))
            for i in range(count)]


def thread_ids():
    return sorted(os.listdir("/proc/self/task"))


def vm_hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


# --------------------------------------------------------------------------
# The view


def test_view_basics(sock_path):
    _server, client, accepted = pair(sock_path)
    view = client.get_io_stream()
    assert isinstance(view, Gio.IOStream)
    assert client.get_io_stream() is view
    inp, out = streams(client)
    assert isinstance(inp, Gio.PollableInputStream) and inp.can_poll()
    assert isinstance(out, Gio.PollableOutputStream) and out.can_poll()
    assert not inp.is_readable()
    assert out.is_writable()

    assert accepted.props.write_high_water == 1024 * 1024
    notified = []
    accepted.connect("notify::write-high-water", lambda *a: notified.append(1))
    accepted.set_write_high_water(1024 * 1024)
    assert notified == []
    accepted.props.write_high_water = 0
    assert notified == [1]
    assert accepted.get_write_high_water() == 0


def test_roundtrip_and_signals(sock_path):
    _server, client, accepted = pair(sock_path)
    rec = record_socket(accepted, ["ready-read"])
    written = []
    client.connect("bytes-written", lambda _s, n: written.append(n))
    client.write(b"one,")
    out = client.get_io_stream().get_output_stream()
    r = Result(lambda res: out.write_all_finish(res))
    out.write_all_async(b"two,", GLib.PRIORITY_DEFAULT, None, r)
    ok, n = r.wait()
    assert ok and n == 4
    client.write(b"three")
    client.get_io_stream().close(None)
    assert read_to_end(accepted.get_io_stream().get_input_stream()) == b"one,two,three"
    assert rec.count("ready-read") >= 1
    assert sum(written) == 13


def test_not_connected():
    sock = Ls.LocalSocket()
    inp, out = streams(sock)
    assert inp.read_bytes(10, None).get_size() == 0
    with pytest.raises(GLib.Error) as e:
        out.write_bytes(GLib.Bytes.new(b"x"), None)
    assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_CONNECTED)
    r = Result(inp.read_bytes_finish)
    inp.read_bytes_async(10, GLib.PRIORITY_DEFAULT, None, r)
    assert r.wait().get_size() == 0


def test_cancel_pending_read(sock_path):
    _server, client, accepted = pair(sock_path)
    inp, _out = streams(accepted)
    cancellable = Gio.Cancellable()
    r = Result(inp.read_bytes_finish)
    inp.read_bytes_async(16, GLib.PRIORITY_DEFAULT, cancellable, r)
    run_for(20)
    assert r.calls == 0
    cancellable.cancel()
    with pytest.raises(GLib.Error) as e:
        r.wait()
    assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
    # Nothing was consumed: what comes next is still there for read().
    client.write(b"after")
    assert read_exactly(accepted, 5) == b"after"


# --------------------------------------------------------------------------
# GIO's stream tools


@pytest.mark.parametrize("upto", [False, True], ids=["read-line", "read-upto"])
def test_qt_peer_records(sock_path, upto):
    if not have_pyside2():
        pytest.skip("PySide2 (Qt 5) is not available")
    server = Ls.LocalServer()
    assert server.listen(sock_path)
    qt = subprocess.Popen([PYTHON, QT_LINES_PEER, "--name", sock_path, "--count", "150",
                           "--sep", ";" if upto else "\\n"], stdout=subprocess.PIPE)
    try:
        accepted = accept(server)
        lines = Gio.DataInputStream.new(accepted.get_io_stream().get_input_stream())
        got = []
        while True:
            if upto:
                r = Result(lines.read_upto_finish)
                lines.read_upto_async(";", -1, GLib.PRIORITY_DEFAULT, None, r)
            else:
                r = Result(lines.read_line_finish_utf8)
                lines.read_line_async(GLib.PRIORITY_DEFAULT, None, r)
            text, length = r.wait()
            if text is None or (upto and length == 0 and len(got) == 150):
                break
            got.append(text)
            if upto:
                assert lines.read_byte(None) == ord(";")
        assert got == qt_records(150)
        assert qt.wait(timeout=30) == 0
    finally:
        if qt.poll() is None:
            qt.kill()
        qt.wait()
        server.close()


def test_json_parser(sock_path):
    _server, client, accepted = pair(sock_path)
    document = b'{"name": "ls", "items": [1, 2, 3], "nested": {"text": "via Gio.IOStream"}}'
    pieces = [document[i:i + 5] for i in range(0, len(document), 5)]

    def write_piece():
        if pieces:
            client.write(pieces.pop(0))
            return True
        client.disconnect_from_server()
        return False
    GLib.timeout_add(2, write_piece)
    parser = Json.Parser()
    r = Result(parser.load_from_stream_finish)
    # JSON-GLib reads in a worker thread: the socket's thread does the
    # reading for it.
    parser.load_from_stream_async(accepted.get_io_stream().get_input_stream(), None, r)
    assert r.wait() is True
    root = parser.get_root().get_object()
    assert root.get_string_member("name") == "ls"
    assert root.get_object_member("nested").get_string_member("text") == "via Gio.IOStream"


def test_zlib_64mib(sock_path):
    _server, client, accepted = pair(sock_path)
    size = 64 * MIB
    chunk = hashlib.sha256(b"ls").digest() * (MIB // 32)  # 1 MiB, compressible
    out = Gio.ConverterOutputStream.new(client.get_io_stream().get_output_stream(),
                                        Gio.ZlibCompressor.new(Gio.ZlibCompressorFormat.ZLIB, 1))
    inp = Gio.ConverterInputStream.new(accepted.get_io_stream().get_input_stream(),
                                       Gio.ZlibDecompressor.new(Gio.ZlibCompressorFormat.ZLIB))
    state = {"sent": 0, "sender_done": False, "received": 0, "receiver_done": False,
             "hash": hashlib.sha256()}
    expected = hashlib.sha256()
    for i in range(size // MIB):
        expected.update(bytes([i % 256]) + chunk[1:])

    def send_next():
        i = state["sent"] // MIB
        if state["sent"] == size:
            out.close_async(GLib.PRIORITY_DEFAULT, None, on_closed)
            return
        out.write_all_async(bytes([i % 256]) + chunk[1:], GLib.PRIORITY_DEFAULT, None, on_written)

    def on_written(stream, result):
        ok, n = stream.write_all_finish(result)
        assert ok
        state["sent"] += n
        send_next()

    def on_closed(stream, result):
        assert stream.close_finish(result)
        # Only the view's output closed; the end of the socket's stream is
        # the reader's end.
        assert client.get_state() == S.CONNECTED
        client.disconnect_from_server()
        state["sender_done"] = True

    def on_read(stream, result):
        data = bytes_of(stream.read_bytes_finish(result))
        if not data:
            state["receiver_done"] = True
            return
        state["hash"].update(data)
        state["received"] += len(data)
        stream.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, None, on_read)

    send_next()
    inp.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, None, on_read)
    run_until(lambda: state["sender_done"] and state["receiver_done"], timeout=300)
    assert state["received"] == size
    assert state["hash"].hexdigest() == expected.hexdigest()


def test_both_ends_write_everything_first(sock_path):
    """Both ends read three bytes one by one (so that their views poll their
    sockets themselves), then write more than the kernel and write-high-water
    hold before reading anything back.
    On GIO's socket streams that deadlocks; here both transfers complete."""
    _server, client, accepted = pair(sock_path)
    size = 8 * MIB
    payloads = {client: os.urandom(size), accepted: os.urandom(size)}
    got = {client: bytearray(), accepted: bytearray()}
    done = set()

    def start(sock, other):
        inp, out = streams(sock)

        def on_read(stream, result):
            data = bytes_of(stream.read_bytes_finish(result))
            assert data, "the stream ended early"
            got[sock] += data
            if len(got[sock]) == size:
                done.add(sock)
            else:
                stream.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, None, on_read)

        def on_written(stream, result):
            ok, n = stream.write_all_finish(result)
            assert ok and n == size
            inp.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, None, on_read)

        firsts = []

        def on_first(stream, result):
            firsts.append(bytes_of(stream.read_bytes_finish(result)))
            if len(firsts) < 3:
                inp.read_bytes_async(1, GLib.PRIORITY_DEFAULT, None, on_first)
                return
            assert b"".join(firsts) == b"!!!"
            out.write_all_async(payloads[sock], GLib.PRIORITY_DEFAULT, None, on_written)

        inp.read_bytes_async(1, GLib.PRIORITY_DEFAULT, None, on_first)

    start(client, accepted)
    start(accepted, client)
    for _ in range(3):
        run_for(10)
        client.write(b"!")
        accepted.write(b"!")
    run_until(lambda: len(done) == 2, timeout=120)
    assert bytes(got[client]) == payloads[accepted]
    assert bytes(got[accepted]) == payloads[client]


def test_many_views_in_one_loop(sock_path):
    """More connections echo through their views in one main loop than it
    polls directly: every byte of every connection comes back."""
    server = listen(sock_path)
    pairs = []
    for _ in range(24):
        client = connect(sock_path)
        pairs.append((client, accept(server)))

    def echo(sock):
        inp, out = streams(sock)

        def on_read(stream, result):
            data = bytes_of(stream.read_bytes_finish(result))
            if data:
                out.write_all_async(data, GLib.PRIORITY_DEFAULT, None, on_written)

        def on_written(stream, result):
            assert stream.write_all_finish(result)[0]
            inp.read_bytes_async(4096, GLib.PRIORITY_DEFAULT, None, on_read)

        inp.read_bytes_async(4096, GLib.PRIORITY_DEFAULT, None, on_read)

    payloads = []
    for client, accepted in pairs:
        echo(accepted)
        payloads.append(os.urandom(256 * 1024))
    for (client, _), payload in zip(pairs, payloads):
        client.write(payload)
    for (client, _), payload in zip(pairs, payloads):
        assert read_exactly(client, len(payload)) == payload


def test_splice_slow_reader_memory(tmp_short):
    """A smaller variant of the C test's 1 GiB: 128 MiB of a sparse file
    spliced into a socket whose peer reads slowly; peak RSS stays near
    write-high-water."""
    size = 128 * MIB
    path = os.path.join(tmp_short, "big")
    with open(path, "wb") as f:
        f.truncate(size)
        for mib in range(size // MIB):
            f.seek(mib * MIB)
            f.write(b"ls-splice-%05d\n" % mib)
    listener = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    listener.bind(os.path.join(tmp_short, "r"))
    listener.listen(1)
    client = Ls.LocalSocket()
    client.connect_to_server(os.path.join(tmp_short, "r"))
    peer, _ = listener.accept()
    state = {"total": 0, "bad": 0, "done": False}

    def reader():
        buf = bytearray(65536)
        while True:
            n = peer.recv_into(buf)
            if n == 0:
                break
            view = memoryview(buf)[:n]
            for pos in range((state["total"] + MIB - 1) // MIB * MIB, state["total"] + n, MIB):
                marker = b"ls-splice-%05d\n" % (pos // MIB)
                off = pos - state["total"]
                if bytes(view[off:off + 16]) != marker[:max(0, min(16, n - off))]:
                    state["bad"] += 1
            state["total"] += n
            if state["total"] % (16 * MIB) < n:
                threading.Event().wait(0.05)  # a slow reader
        state["done"] = True

    thread = threading.Thread(target=reader)
    thread.start()
    source = Gio.File.new_for_path(path).read(None)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = vm_hwm_kb()
    out = client.get_io_stream().get_output_stream()
    r = Result(out.splice_finish)
    out.splice_async(source, Gio.OutputStreamSpliceFlags.CLOSE_SOURCE |
                     Gio.OutputStreamSpliceFlags.CLOSE_TARGET, GLib.PRIORITY_DEFAULT, None, r)
    assert r.wait() == size
    peak = vm_hwm_kb()
    client.disconnect_from_server()
    run_until(lambda: state["done"], timeout=300)
    thread.join()
    peer.close()
    listener.close()
    assert state["total"] == size and state["bad"] == 0
    # A few times write-high-water (1 MiB), not the 128 MiB the reader lags.
    assert (peak - before) * 1024 <= 4 * MIB, "peak RSS grew by %d KiB" % (peak - before)


def test_interleave_with_fds(sock_path):
    _server, client, accepted = pair(sock_path)
    accepted.props.accept_fds = True  # off by default
    r_a, w_a = os.pipe()
    r_b, w_b = os.pipe()
    client.write(b"AB")
    assert client.write_with_fds(GLib.Bytes.new(b"CD"), Gio.UnixFDList.new_from_array([r_a]))
    assert client.write_with_fds(GLib.Bytes.new(b"EF"), Gio.UnixFDList.new_from_array([r_b]))
    assert client.write_message(GLib.Bytes.new(b"GHI"))
    client.write(b"J\n")
    run_until(lambda: accepted.get_bytes_available() == 15)
    inp = accepted.get_io_stream().get_input_stream()
    assert bytes(inp.read_bytes(1, None).get_data()) == b"A"
    assert accepted.take_fds() is None
    assert bytes_of(accepted.read(1)) == b"B"
    assert bytes(inp.read_bytes(2, None).get_data()) == b"CD"
    fds = accepted.take_fds()
    assert fds is not None and fds.get_length() == 1
    got_a = fds.steal_fds()[0]
    os.write(w_a, b"a")
    assert os.read(got_a, 1) == b"a"
    assert inp.skip(2, None) == 2
    assert bytes_of(accepted.read_message()) == b"GHI"
    assert bytes(inp.read_bytes(8, None).get_data()) == b"J\n"
    got_b = accepted.take_fds().steal_fds()[0]
    os.write(w_b, b"b")
    assert os.read(got_b, 1) == b"b"
    # r_a and r_b went to the GUnixFDLists, which closed them.
    for fd in (w_a, w_b, got_a, got_b):
        os.close(fd)


def test_no_thread_created(sock_path):
    _server, client, accepted = pair(sock_path)
    # GLib's worker thread, started once by the first GTask, is not the
    # calls' doing.
    Gio.Task.new(None, None, None, None)
    before = thread_ids()
    inp, _ = streams(accepted)
    _, out = streams(client)
    lines = Gio.DataInputStream.new(inp)
    for call, finish, args in [
        (out.write_all_async, out.write_all_finish, (b"first line\nsecond\n",)),
        (out.flush_async, out.flush_finish, ()),
        (out.splice_async, out.splice_finish,
         (Gio.MemoryInputStream.new_from_bytes(GLib.Bytes.new(b"spliced\n")),
          Gio.OutputStreamSpliceFlags.CLOSE_SOURCE)),
        (lines.read_line_async, lines.read_line_finish, ()),
        (inp.skip_async, inp.skip_finish, (2,)),
    ]:
        if call == inp.skip_async:
            # The data stream buffered ahead; skip on it instead.
            call, finish = lines.skip_async, lines.skip_finish
        r = Result(finish)
        call(*args, GLib.PRIORITY_DEFAULT, None, r)
        r.wait()
    for stream in (client.get_io_stream(), accepted.get_io_stream()):
        r = Result(stream.close_finish)
        stream.close_async(GLib.PRIORITY_DEFAULT, None, r)
        assert r.wait()
    assert thread_ids() == before


# --------------------------------------------------------------------------
# Misuse, and handlers that do anything


@pytest.mark.parametrize("closer", ["close", "abort", "close-view"])
def test_close_while_read_pending(sock_path, closer):
    _server, client, accepted = pair(sock_path)
    view = accepted.get_io_stream()
    inp = view.get_input_stream()
    r = Result(inp.read_bytes_finish)
    inp.read_bytes_async(8, GLib.PRIORITY_DEFAULT, None, r)
    run_for(10)
    if closer == "close":
        accepted.close()
    elif closer == "abort":
        accepted.abort()
    else:
        view.close(None)
    if closer == "close-view":
        with pytest.raises(GLib.Error) as e:
            r.wait()
        assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED)
        assert accepted.get_io_stream() is not view  # a closed view is replaced
    else:
        assert r.wait().get_size() == 0


def test_read_pending_when_closing_connection_is_replaced(sock_path):
    """connect_to_server() while closing replaces the connection (as in Qt):
    a read of the view pending on the old one ends (empty), nothing of the
    new one is lost, and the view goes on with the new connection."""
    listener = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(4)
    try:
        client = Ls.LocalSocket()
        client.connect_to_server(sock_path)
        old_peer, _ = listener.accept()
        client.write(b"x" * (8 * MIB))          # more than the kernel holds
        run_for(20)
        assert client.get_bytes_to_write() > 0
        view = client.get_io_stream()
        inp, out = view.get_input_stream(), view.get_output_stream()
        r = Result(inp.read_bytes_finish)
        inp.read_bytes_async(16, GLib.PRIORITY_DEFAULT, None, r)
        client.disconnect_from_server()
        assert client.get_state() == S.CLOSING
        client.connect_to_server(None)
        assert client.get_state() == S.CONNECTED
        new_peer, _ = listener.accept()
        assert bytes_of(r.wait()) == b""
        assert client.get_io_stream() is view
        new_peer.sendall(b"fresh")
        r = Result(inp.read_bytes_finish)
        inp.read_bytes_async(16, GLib.PRIORITY_DEFAULT, None, r)
        assert bytes_of(r.wait()) == b"fresh"
        assert out.write_bytes(GLib.Bytes.new(b"back"), None) == 4
        new_peer.settimeout(5)
        assert new_peer.recv(16) == b"back"
        old_peer.close()
        new_peer.close()
        client.abort()
    finally:
        listener.close()


def test_ready_read_handler_closes_view(sock_path):
    _server, client, accepted = pair(sock_path)
    view = accepted.get_io_stream()
    inp = view.get_input_stream()

    def on_ready_read(sock):
        sock.disconnect(handler)
        view.close(None)
    handler = accepted.connect("ready-read", on_ready_read)
    r = Result(inp.read_bytes_finish)
    inp.read_bytes_async(8, GLib.PRIORITY_DEFAULT, None, r)
    client.write(b"kept")
    with pytest.raises(GLib.Error) as e:
        r.wait()
    assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED)
    # Nothing is lost: the bytes stay in the socket.
    assert bytes_of(accepted.read_all()) == b"kept"


def test_view_outlives_socket(sock_path):
    _server, client, accepted = pair(sock_path)
    view = accepted.get_io_stream()
    del accepted
    import gc
    gc.collect()
    run_for(10)
    assert view.is_closed()
    with pytest.raises(GLib.Error) as e:
        view.get_input_stream().read_bytes(1, None)
    assert e.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED)


def test_blocking_read_from_other_thread(sock_path):
    _server, client, accepted = pair(sock_path)
    inp = accepted.get_io_stream().get_input_stream()
    got = {}

    def worker():
        # Carried out by the socket's thread (this test's main loop).
        got["data"] = bytes(inp.read_bytes(5, None).get_data())
    thread = threading.Thread(target=worker)
    thread.start()
    run_for(20)
    client.write(b"hello")
    run_until(lambda: not thread.is_alive())
    thread.join()
    assert got["data"] == b"hello"


# --------------------------------------------------------------------------
# Detach


def test_detach_refused(sock_path):
    _server, client, accepted = pair(sock_path)
    with pytest.raises(GLib.Error) as e:
        Ls.LocalSocket().detach()
    assert_ls_error(e, E.OPERATION)
    client.write(b"unread")
    run_until(lambda: accepted.get_bytes_available() == 6)
    with pytest.raises(GLib.Error) as e:
        accepted.detach()
    assert_ls_error(e, E.OPERATION)
    assert "6 received bytes" in e.value.message
    assert accepted.get_state() == S.CONNECTED
    assert bytes_of(accepted.read_all()) == b"unread"


def test_detach_hands_over(sock_path):
    _server, client, accepted = pair(sock_path)
    rec = record_socket(accepted)
    fd = accepted.get_socket_descriptor()
    conn = accepted.detach()
    assert isinstance(conn, Gio.UnixConnection)
    assert conn.get_socket().get_fd() == fd
    assert rec.names() == ["state-changed"]
    assert accepted.get_state() == S.UNCONNECTED
    client.write(b"ping")
    assert client.wait_for_bytes_written(5000)
    assert bytes(conn.get_input_stream().read_bytes(4, None).get_data()) == b"ping"
    conn.get_output_stream().write_all(b"pong", None)
    assert read_exactly(client, 4) == b"pong"
    conn.close(None)


def test_detach_gdbus_peer_to_peer(tmpdir_env):
    # A server that accepts by Qt name ("ls-bus" in $TMPDIR) hands its
    # client over to GDBus.
    server = Ls.LocalServer()
    assert server.listen("ls-bus")
    client = Ls.LocalSocket()
    client.connect_to_server("ls-bus")
    accepted = accept(server)
    server_stream = accepted.detach()
    client_stream = client.detach()

    guid = Gio.dbus_generate_guid()
    rs = Result(Gio.DBusConnection.new_finish)
    rc = Result(Gio.DBusConnection.new_finish)
    Gio.DBusConnection.new(server_stream, guid,
                           Gio.DBusConnectionFlags.AUTHENTICATION_SERVER |
                           Gio.DBusConnectionFlags.AUTHENTICATION_REQUIRE_SAME_USER |
                           Gio.DBusConnectionFlags.DELAY_MESSAGE_PROCESSING,
                           None, None, rs)
    Gio.DBusConnection.new(client_stream, None,
                           Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None, rc)
    server_bus = rs.wait()
    client_bus = rc.wait()
    assert server_bus.get_peer_credentials().get_unix_pid() == os.getpid()

    info = Gio.DBusNodeInfo.new_for_xml(
        "<node><interface name='org.ls.Test'>"
        "<method name='Echo'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
        "<signal name='Pinged'><arg type='s'/></signal></interface></node>")

    def on_call(conn, sender, path, iface, method, params, invocation):
        conn.emit_signal(None, "/org/ls/Test", "org.ls.Test", "Pinged", params)
        invocation.return_value(params)
    server_bus.register_object("/org/ls/Test", info.interfaces[0], on_call, None, None)
    server_bus.start_message_processing()
    pinged = []
    client_bus.signal_subscribe(None, "org.ls.Test", "Pinged", "/org/ls/Test", None,
                                Gio.DBusSignalFlags.NONE,
                                lambda conn, sender, path, iface, name, params:
                                pinged.append(params.unpack()[0]))
    r = Result(client_bus.call_finish)
    client_bus.call(None, "/org/ls/Test", "org.ls.Test", "Echo", GLib.Variant("(s)", ("hi",)),
                    GLib.VariantType("(s)"), Gio.DBusCallFlags.NONE, 5000, None, r)
    assert r.wait().unpack() == ("hi",)
    run_until(lambda: pinged)
    assert pinged == ["hi"]
    client_bus.close_sync(None)
    server.close()
