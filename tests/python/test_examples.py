# test_examples.py: runs examples/single_instance.py and examples/client.js
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess

import pytest

from conftest import (PYTHON, SAFETY_TIMEOUT, SOURCE_ROOT, LineProc, Ls,
                      ServerThread, bytes_of, echo_lines, stale_socket)

E = Ls.SocketError

SINGLE_INSTANCE = os.path.join(SOURCE_ROOT, "examples", "single_instance.py")
CLIENT_JS = os.path.join(SOURCE_ROOT, "examples", "client.js")
GJS = os.environ.get("LS_GJS") or shutil.which("gjs")


def launch(name, *args, quit_after=None):
    cmd = [PYTHON, SINGLE_INSTANCE, "--name", name]
    if quit_after is not None:
        cmd += ["--quit-after", str(quit_after)]
    cmd += ["--"] + list(args)
    return LineProc(cmd)


def run_secondary(name, *args):
    return launch(name, *args).finish()


@contextlib.contextmanager
def killed_on_error(proc):
    try:
        yield
    except BaseException:
        proc.kill()
        raise


def received_lines(text):
    return [json.loads(line[len("received: "):])
            for line in text.splitlines() if line.startswith("received: ")]


# --------------------------------------------------------------------------
# single_instance.py


def test_single_instance_forwards_arguments(tmp_short):
    name = os.path.join(tmp_short, "app")
    primary = launch(name, "own", quit_after=2)
    with killed_on_error(primary):
        line = primary.wait_for_line("primary: listening on")
        assert line == "primary: listening on " + name
        st = os.stat(name)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o700  # USER_ACCESS

        rc, out, err = run_secondary(name, "hello world", "ünïcödé", "--flag")
        assert rc == 0, (out, err)
        assert "secondary: forwarded" in out
        assert "listening" not in out
        rc, out, err = run_secondary(name, "second")
        assert rc == 0, (out, err)
    rc, out, err = primary.finish()
    assert rc == 0, err
    assert received_lines(out) == [["hello world", "ünïcödé", "--flag"], ["second"]]
    assert not os.path.lexists(name), "the primary must remove its socket on exit"


def test_single_instance_relative_name_uses_tmpdir(tmpdir_env):
    primary = launch("relapp", quit_after=1)
    with killed_on_error(primary):
        line = primary.wait_for_line("primary: listening on")
        assert line == "primary: listening on " + os.path.join(tmpdir_env, "relapp")
        rc, out, err = run_secondary("relapp", "x")
        assert rc == 0, (out, err)
    rc, out, err = primary.finish()
    assert received_lines(out) == [["x"]]


def test_single_instance_takes_over_after_a_crash(tmp_short):
    name = os.path.join(tmp_short, "app")
    crashed = launch(name)
    crashed.wait_for_line("primary: listening on")
    crashed.send_signal(signal.SIGKILL)
    crashed.finish()
    assert stat.S_ISSOCK(os.stat(name).st_mode), "a crash leaves the socket file"

    # What the new launch will see first.
    probe = Ls.LocalSocket()
    probe.connect_to_server(name)
    assert probe.get_error() == E.CONNECTION_REFUSED

    primary = launch(name, "new", quit_after=1)
    with killed_on_error(primary):
        primary.wait_for_line("primary: listening on")
        seen = primary.lines
        assert "primary: reclaiming stale socket " + name in seen
        rc, out, err = run_secondary(name, "after", "crash")
        assert rc == 0, (out, err)
    rc, out, err = primary.finish()
    assert rc == 0, err
    assert received_lines(out) == [["after", "crash"]]


def test_single_instance_takes_over_a_stale_file(tmp_short):
    name = stale_socket(os.path.join(tmp_short, "app"))
    primary = launch(name, quit_after=1)
    with killed_on_error(primary):
        primary.wait_for_line("primary: listening on")
        seen = primary.lines
        assert any(line.startswith("primary: reclaiming stale socket") for line in seen)
        assert run_secondary(name, "ok")[0] == 0
    rc, out, err = primary.finish()
    assert received_lines(out) == [["ok"]]


def test_single_instance_secondary_against_an_ls_server(tmp_short):
    """The secondary side of the protocol, checked by an Ls server of ours."""
    name = os.path.join(tmp_short, "ours")
    got = []

    def on_socket(thread, sock):
        def on_ready_read(s):
            while s.can_read_line():
                got.append(json.loads(bytes_of(s.read_line(0)).decode("utf-8")))
                s.write(b"OK\n")
        sock.connect("ready-read", on_ready_read)
        on_ready_read(sock)

    srv = ServerThread(name, options=Ls.SocketOptions.USER_ACCESS, on_socket=on_socket).start()
    try:
        rc, out, err = run_secondary(name, "a b", "ç")
        assert rc == 0, (out, err)
        assert out.startswith("secondary: forwarded")
    finally:
        srv.stop()
    assert got == [["a b", "ç"]]


def test_single_instance_secondary_reports_refusal(tmp_short):
    name = os.path.join(tmp_short, "grumpy")

    def on_socket(thread, sock):
        def on_ready_read(s):
            if s.can_read_line():
                s.read_line(0)
                s.write(b"ERR\n")
        sock.connect("ready-read", on_ready_read)
        on_ready_read(sock)

    srv = ServerThread(name, on_socket=on_socket).start()
    try:
        rc, out, err = run_secondary(name, "x")
    finally:
        srv.stop()
    assert rc != 0
    assert "refused" in out


# --------------------------------------------------------------------------
# client.js


needs_gjs = pytest.mark.skipif(GJS is None, reason="gjs not found")


def run_client_js(*args, env=None):
    p = subprocess.run([GJS, CLIENT_JS] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=SAFETY_TIMEOUT,
                       env=env)
    return p.returncode, p.stdout, p.stderr


@needs_gjs
def test_client_js_against_ls_echo_server(tmp_short):
    name = os.path.join(tmp_short, "echo")
    srv = ServerThread(name, on_socket=echo_lines).start()
    try:
        rc, out, err = run_client_js(name, "hello from gjs ✓")
    finally:
        srv.stop()
    assert rc == 0, err
    assert out == "hello from gjs ✓\n"
    assert srv.accepted == 1


@needs_gjs
def test_client_js_relative_name(tmpdir_env):
    srv = ServerThread("echo-rel", on_socket=echo_lines).start()
    try:
        rc, out, err = run_client_js("echo-rel", "relative")
    finally:
        srv.stop()
    assert rc == 0, err
    assert out == "relative\n"


@needs_gjs
def test_client_js_reports_missing_server(tmp_short):
    rc, out, err = run_client_js(os.path.join(tmp_short, "nobody"), "x")
    assert rc == 1
    assert out == ""
    assert "SERVER_NOT_FOUND" in err


@needs_gjs
def test_client_js_reports_stale_socket(tmp_short):
    name = stale_socket(os.path.join(tmp_short, "stale"))
    rc, out, err = run_client_js(name, "x")
    assert rc == 1
    assert "CONNECTION_REFUSED" in err


@needs_gjs
def test_client_js_server_closes_without_answer(tmp_short):
    name = os.path.join(tmp_short, "rude")

    def on_socket(thread, sock):
        def on_ready_read(s):
            if s.can_read_line():
                s.disconnect_from_server()
        sock.connect("ready-read", on_ready_read)
        on_ready_read(sock)

    srv = ServerThread(name, on_socket=on_socket).start()
    try:
        rc, out, err = run_client_js(name, "x")
    finally:
        srv.stop()
    assert rc == 1
    assert "without answering" in err


# --------------------------------------------------------------------------
# stream-lines.js: Gio.DataInputStream over an Ls socket, with await

STREAM_LINES_JS = os.path.join(SOURCE_ROOT, "examples", "stream-lines.js")
QT_LINES_PEER = os.path.join(SOURCE_ROOT, "tests", "python", "qt_lines_peer.py")


def have_pyside2():
    return subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


@needs_gjs
def test_stream_lines_js_reads_a_qt_peer(tmp_short):
    """The example's server numbers the lines a Qt QLocalSocket writes in
    pieces of 1 to 34 bytes."""
    if not have_pyside2():
        pytest.skip("PySide2 (Qt 5) is not available")
    name = os.path.join(tmp_short, "lines")
    server = LineProc([GJS, STREAM_LINES_JS, "server", name, "1"])
    with killed_on_error(server):
        assert server.wait_for_line("listening on") == "listening on " + name
        qt = subprocess.run([PYTHON, QT_LINES_PEER, "--name", name, "--count", "40"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=SAFETY_TIMEOUT)
        assert qt.returncode == 0, qt.stderr
    rc, out, err = server.finish()
    assert rc == 0, err
    letters = "abcdefghijklmnopqrstuvwxyz"
    expected = ["line %d: record-%d:%s" % (i + 1, i, "".join(letters[j % 26] for j in range(i % 37)))
                for i in range(40)]
    assert [l for l in out.splitlines() if l.startswith("line ")] == expected
    assert "40 lines" in out.splitlines()


@needs_gjs
def test_stream_lines_js_demo(tmp_short):
    p = subprocess.run([GJS, STREAM_LINES_JS, "demo", os.path.join(tmp_short, "demo")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=SAFETY_TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert [l for l in p.stdout.splitlines() if l.startswith("reply ")] == \
        ["reply 1: hello", "reply 2: streams", "reply 3: world"]
