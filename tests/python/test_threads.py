# test_threads.py: Ls objects driven by per-thread GMainContexts
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A server lives in a worker threading.Thread with its own GLib.MainContext
# pushed as the thread-default: it must attach there (at listen time) and
# emit its signals in that thread, never in the main thread's default
# context.

import os
import threading

from conftest import (GLib, Ls, SAFETY_TIMEOUT, ServerThread, bytes_of,
                      connect, echo_all, echo_lines, run_for, run_until)

S = Ls.LocalSocketState


def read_blocking(sock, n):
    """Reads n bytes with the blocking Qt-style API (no main loop)."""
    buf = bytearray()
    while len(buf) < n:
        if sock.get_bytes_available() == 0:
            assert sock.wait_for_ready_read(int(SAFETY_TIMEOUT * 1000)), sock.get_error_string()
        buf.extend(bytes_of(sock.read(n - len(buf))))
    return bytes(buf)


def test_server_in_worker_thread_echoes(sock_path):
    srv = ServerThread(sock_path, on_socket=echo_lines).start()
    try:
        assert srv.thread_ident != threading.get_ident()
        client = connect(sock_path)
        client.write(b"hello thread\n")
        assert client.wait_for_bytes_written(-1)
        assert read_blocking(client, 13) == b"hello thread\n"
        client.write(b"second\n")
        assert read_blocking(client, 7) == b"second\n"
        client.disconnect_from_server()
    finally:
        srv.stop()
    assert srv.signal_threads, "no signal reached the worker thread"
    assert set(srv.signal_threads) == {srv.thread_ident}


def test_worker_server_does_not_use_the_default_context(sock_path):
    """Nothing the worker's server does may need the main thread's default
    context: this thread never iterates it while the exchange happens."""
    srv = ServerThread(sock_path, on_socket=echo_all).start()
    try:
        client = connect(sock_path)
        payload = os.urandom(512 * 1024)
        client.write(payload)
        got = bytearray()
        while len(got) < len(payload):
            # Drive only our own socket with the blocking API.
            if client.get_bytes_to_write():
                client.wait_for_bytes_written(100)
            if client.get_bytes_available() or client.wait_for_ready_read(100):
                got.extend(bytes_of(client.read_all()))
        assert bytes(got) == payload
        assert len(srv.sockets) == 1
        client.abort()
    finally:
        srv.stop()
    assert set(srv.signal_threads) == {srv.thread_ident}


def test_several_worker_servers_in_parallel(tmp_short):
    servers = [ServerThread(os.path.join(tmp_short, "s%d" % i), on_socket=echo_lines).start()
               for i in range(4)]
    try:
        idents = {s.thread_ident for s in servers}
        assert len(idents) == 4
        clients = [connect(s.name) for s in servers]
        for i, c in enumerate(clients):
            c.write(b"to %d\n" % i)
        for i, c in enumerate(clients):
            assert read_blocking(c, 5) == b"to %d\n" % i
    finally:
        for s in servers:
            s.stop()
    for s in servers:
        assert set(s.signal_threads) == {s.thread_ident}


def test_client_in_worker_thread_with_own_context(sock_path):
    """The mirror case: the server uses the main thread's default context,
    a client lives in a worker with its own loop and sees its signals there."""
    server = Ls.LocalServer()
    server.listen(sock_path)
    accepted = []
    server.connect("new-connection", lambda s: accepted.append(s.next_pending_connection()))

    result = {}
    done = threading.Event()

    def worker():
        ctx = GLib.MainContext()
        ctx.push_thread_default()
        try:
            loop = GLib.MainLoop(ctx)
            me = threading.get_ident()
            events = []
            client = Ls.LocalSocket()

            def on_ready_read(s):
                events.append(("ready-read", threading.get_ident() == me))
                data = bytes_of(s.read_all())
                result.setdefault("data", bytearray()).extend(data)
                if result["data"].endswith(b"\n"):
                    s.disconnect_from_server()

            def on_disconnected(s):
                events.append(("disconnected", threading.get_ident() == me))
                loop.quit()
            client.connect("ready-read", on_ready_read)
            client.connect("disconnected", on_disconnected)
            client.connect("connected", lambda s: events.append(("connected", threading.get_ident() == me)))
            client.connect_to_server(sock_path)
            client.write(b"ping\n")
            timeout = GLib.timeout_source_new(int(SAFETY_TIMEOUT * 1000))
            timeout.set_callback(lambda *a: (result.setdefault("timeout", True), loop.quit()) and False)
            timeout.attach(ctx)
            loop.run()
            timeout.destroy()
            result["events"] = events
        except BaseException as e:
            result["exception"] = e
        finally:
            ctx.pop_thread_default()
            done.set()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    run_until(lambda: accepted)
    sock = accepted[0]
    line = bytearray()

    def cond():
        line.extend(bytes_of(sock.read_all()))
        return line.endswith(b"\n")
    run_until(cond)
    assert bytes(line) == b"ping\n"
    sock.write(b"pong\n")
    run_until(done.is_set)
    t.join(SAFETY_TIMEOUT)
    assert "exception" not in result, result.get("exception")
    assert "timeout" not in result
    assert bytes(result["data"]) == b"pong\n"
    names = [e[0] for e in result["events"]]
    assert names[0] == "connected" and names[-1] == "disconnected" and "ready-read" in names
    assert all(in_worker for _name, in_worker in result["events"])


def test_listen_captures_the_context_at_listen_time(sock_path):
    """A server created in one thread but listening in a worker (with a
    pushed context) dispatches in the worker."""
    server = Ls.LocalServer()  # created here, on the main thread
    box = {}
    ready = threading.Event()
    stop = threading.Event()

    def worker():
        ctx = GLib.MainContext()
        ctx.push_thread_default()
        try:
            box["ident"] = threading.get_ident()
            box["threads"] = []
            server.connect("new-connection", lambda s: box["threads"].append(threading.get_ident()))
            server.listen(sock_path)
            ready.set()
            while not stop.is_set():
                ctx.iteration(False) or stop.wait(0.005)
            server.close()
        finally:
            ctx.pop_thread_default()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    assert ready.wait(SAFETY_TIMEOUT)
    client = connect(sock_path)
    pause = threading.Event()
    for _ in range(int(SAFETY_TIMEOUT * 100)):
        if box["threads"]:
            break
        pause.wait(0.01)
    # The main thread's default context has nothing to do with it.
    run_for(20)
    stop.set()
    t.join(SAFETY_TIMEOUT)
    assert box["threads"] == [box["ident"]]
    client.abort()
