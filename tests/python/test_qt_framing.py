# test_qt_framing.py: framed messages between Ls and real Qt 5.15 programs
# (PySide2 and, when installed, PyQt5) that frame with QDataStream
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Qt side runs in a subprocess (qt_framing_peer.py); the Ls side is
# either examples/qt_single_instance_peer.py (also a subprocess) or an Ls
# socket in this process.

import hashlib
import json
import os
import random
import subprocess

import pytest

from conftest import (HERE, PYTHON, SAFETY_TIMEOUT, SOURCE_ROOT, GLib, LineProc, Ls,
                      bytes_of, run_until)

QT_PEER = os.path.join(HERE, "qt_framing_peer.py")
EXAMPLE = os.path.join(SOURCE_ROOT, "examples", "qt_single_instance_peer.py")
KIB = 1024
MIB = 1024 * 1024
SIZES = [0, 1, 64 * KIB, 5 * MIB]


def _have(module):
    r = subprocess.run([PYTHON, "-c", "import %s" % module],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


HAVE = {"pyside2": _have("PySide2.QtNetwork"), "pyqt5": _have("PyQt5.QtNetwork")}
pytestmark = pytest.mark.skipif(not any(HAVE.values()), reason="no Qt 5 Python binding")

# (binding, style): PySide2 binds only << / >>; PyQt5 also writeBytes()/readBytes().
STYLES = [("pyside2", "stream"), ("pyqt5", "stream"), ("pyqt5", "writebytes")]


def binding_params():
    return [pytest.param(b, s, id="%s-%s" % (b, s),
                         marks=pytest.mark.skipif(not HAVE[b], reason="%s not installed" % b))
            for b, s in STYLES]


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def env():
    e = dict(os.environ)
    e.setdefault("QT_QPA_PLATFORM", "offscreen")
    return e


def qt_peer(mode, name, *extra, binding="pyside2"):
    return LineProc([PYTHON, QT_PEER, mode, "--name", name, "--binding", binding,
                     "--timeout", str(int(SAFETY_TIMEOUT * 1000))] + list(extra), env=env())


def result_of(proc):
    rc, out, err = proc.finish()
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["returncode"] = rc
            res["stderr"] = err
            return res
    raise AssertionError("no RESULT (rc %s): %s %s" % (rc, out, err))


def example(*args, stdin=None):
    return subprocess.Popen([PYTHON, EXAMPLE] + list(args), stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())


def start_first(name, quit_after):
    proc = LineProc([PYTHON, EXAMPLE, "first", "--name", name, "--quit-after", str(quit_after)],
                    env=env())
    assert proc.wait_for_line("first: listening on") == "first: listening on " + name
    return proc


def first_received(out):
    return [line for line in out.splitlines() if line.startswith("received ")]


# --------------------------------------------------------------------------
# The example as the first instance; a Qt second instance sends


@pytest.mark.parametrize("binding,style", binding_params())
def test_qt_second_instance_to_ls_first_instance(tmp_short, binding, style):
    name = os.path.join(tmp_short, "first")
    cases = [["--size", str(n), "--seed", str(i)] for i, n in enumerate(SIZES)]
    cases.append(["--null"])
    cases.append(["--size", "1000", "--seed", "9", "--split"])
    first = start_first(name, len(cases))
    try:
        for case in cases:
            res = result_of(qt_peer("client", name, "--style", style, *case, binding=binding))
            assert res["returncode"] == 0, res
            assert not res["timeout"], res
            assert res["reply"]["text"] == "ack", res
            if "--split" in case:
                assert res["pieces"] > 100
        rc, out, err = first.finish()
    except BaseException:
        first.kill()
        raise
    assert rc == 0, err
    expected = []
    for case in cases:
        if case == ["--null"]:
            data = b""
        else:
            data = payload(int(case[1]), int(case[3]))
        expected.append("received %d bytes sha256=%s" % (len(data), sha256(data)))
    assert first_received(out) == expected
    assert "Ls-CRITICAL" not in err and "Ls-WARNING" not in err, err


def test_example_second_instance_sends_arguments(tmp_short):
    # Ls to Ls: the arguments arrive as one message; the example prints them.
    name = os.path.join(tmp_short, "args")
    first = start_first(name, 1)
    try:
        second = example("second", "--name", name, "open", "file with spaces.txt", "ü")
        out, err = second.communicate(timeout=SAFETY_TIMEOUT)
        assert second.returncode == 0, (out, err)
        assert b"got ack" in out
        rc, fout, ferr = first.finish()
    except BaseException:
        first.kill()
        raise
    assert 'arguments: ["open", "file with spaces.txt", "ü"]' in fout


# --------------------------------------------------------------------------
# The example as the second instance; a Qt first instance receives


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("binding", [pytest.param(b, marks=pytest.mark.skipif(not HAVE[b],
                                                  reason="%s not installed" % b))
                                     for b in ("pyside2", "pyqt5")])
def test_ls_second_instance_to_qt_first_instance(tmp_short, size, binding):
    name = os.path.join(tmp_short, "qt")
    server = qt_peer("server", name, "--count", "1", binding=binding)
    try:
        assert json.loads(server.wait_for_line("LISTENING ")[len("LISTENING "):])["ok"]
        data = payload(size, 42)
        second = example("second", "--name", name, "--stdin", stdin=subprocess.PIPE)
        out, err = second.communicate(input=data, timeout=SAFETY_TIMEOUT)
        assert second.returncode == 0, (out, err)
        assert ("second: sent %d bytes, got ack" % size).encode() in out
        res = result_of(server)
    except BaseException:
        server.kill()
        raise
    assert res["returncode"] == 0 and not res["timeout"], res
    assert res["messages"] == [{"size": size, "sha256": sha256(data),
                                "text": data.decode("utf-8", "replace") if size <= 64 else None}]


# --------------------------------------------------------------------------
# In-process Ls socket against a Qt first instance: Qt replies of every
# size, and an Ls frame split over many writes


@pytest.mark.parametrize("size", SIZES)
def test_qt_replies_of_every_size(tmp_short, size):
    if not HAVE["pyside2"]:
        pytest.skip("PySide2 not installed")
    name = os.path.join(tmp_short, "rep")
    server = qt_peer("server", name, "--count", "1", "--reply-size", str(size), "--seed", "7")
    try:
        server.wait_for_line("LISTENING ")
        sock = Ls.LocalSocket()
        sock.set_read_buffer_size(16 * KIB)   # the reply is assembled anyway
        sock.connect_to_server(name)
        assert sock.get_state() == Ls.LocalSocketState.CONNECTED
        assert sock.write_message(GLib.Bytes.new(b"hello"))
        got = []

        def cond():
            m = sock.read_message()
            if m is not None:
                got.append(bytes_of(m))
            return bool(got)
        run_until(cond)
        res = result_of(server)
    except BaseException:
        server.kill()
        raise
    assert got[0] == payload(size, 7)
    assert res["messages"][0]["text"] == "hello"


def test_ls_frame_split_over_many_writes(tmp_short):
    if not HAVE["pyside2"]:
        pytest.skip("PySide2 not installed")
    name = os.path.join(tmp_short, "split")
    server = qt_peer("server", name, "--count", "1")
    try:
        server.wait_for_line("LISTENING ")
        sock = Ls.LocalSocket()
        sock.connect_to_server(name)
        data = payload(500, 3)
        wire = len(data).to_bytes(4, "big") + data
        for i in range(len(wire)):
            sock.write(wire[i:i + 1])
            while sock.get_bytes_to_write() > 0:
                assert sock.wait_for_bytes_written(int(SAFETY_TIMEOUT * 1000))
        reply = None
        while reply is None:
            reply = sock.read_message()
            if reply is None:
                assert sock.wait_for_ready_read(int(SAFETY_TIMEOUT * 1000))
        res = result_of(server)
    except BaseException:
        server.kill()
        raise
    assert bytes_of(reply) == b"ack"
    assert res["messages"] == [{"size": 500, "sha256": sha256(data), "text": None}]
