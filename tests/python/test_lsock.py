# test_lsock.py: the lsock command-line tool, driven as a subprocess
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Peers: lsock itself, an Ls server in this process, and Qt 5 (PySide2)
# servers and clients in their own processes. Data is checked byte for byte
# by SHA-256, streamed (1 GiB never sits in memory). Nothing here depends
# on timing: waits are for lines, files or exits, with a safety timeout.

import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import (HERE, PYTHON, SAFETY_TIMEOUT, GLib, LineProc, Ls, ServerThread,
                      echo_all, stale_socket)

LSOCK = os.environ.get("LSOCK")
pytestmark = pytest.mark.skipif(not LSOCK, reason="LSOCK (the built lsock) not set")

QT_PEER = os.path.join(HERE, "qt_peer.py")
QT_FRAME_PEER = os.path.join(HERE, "qt_frame_peer.py")
MIB = 1 << 20
GIB = 1 << 30
BIG_TIMEOUT = 600


def have_pyside2():
    r = subprocess.run([PYTHON, "-c", "import PySide2.QtNetwork"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


needs_qt = pytest.mark.skipif(not have_pyside2(), reason="PySide2.QtNetwork not installed")


# ---- helpers ---------------------------------------------------------------

def run(*args, input=b"", env=None, timeout=SAFETY_TIMEOUT):
    """Runs lsock to completion: (returncode, stdout bytes, stderr text)."""
    r = subprocess.run([LSOCK] + list(args), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", errors="replace")


class Proc:
    """An lsock (or other) child process; stderr is read line by line
    (lsock's events), stdin/stdout are left to the test."""

    def __init__(self, args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=None):
        self.proc = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                     bufsize=0, env=env)
        self.pid = self.proc.pid
        self._err = b""
        self.err_lines = []

    def wait_for_err_line(self, prefix, timeout=SAFETY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._err:
                raw, self._err = self._err.split(b"\n", 1)
                line = raw.decode("utf-8", errors="replace")
                self.err_lines.append(line)
                if line.startswith(prefix):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no stderr line %r; so far %r" % (prefix, self.err_lines))
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if not r:
                continue
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                rc = self.proc.wait()
                raise AssertionError("exited (rc %s) before %r; stderr %r" % (rc, prefix, self.err_lines))
            self._err += chunk

    def finish(self, timeout=SAFETY_TIMEOUT):
        """Waits for the exit: (returncode, stdout bytes or None, all stderr text)."""
        if self.proc.stdin is not None and self.proc.stdin.closed:
            self.proc.stdin = None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("did not exit; stderr %r" % (self._err + err))
        text = "".join(l + "\n" for l in self.err_lines) + (self._err + err).decode("utf-8", "replace")
        return self.proc.returncode, out, text

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def listen(*args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE):
    """Starts lsock listen/recv/send --listen and waits until it listens."""
    p = Proc([LSOCK] + list(args), stdin=stdin, stdout=stdout)
    try:
        line = p.wait_for_err_line("")
        while "listening" not in line:
            line = p.wait_for_err_line("")
    except BaseException:
        p.kill()
        raise
    return p, line


def one_error_line(err, command, subject):
    """Every error is one line naming the operation, the name and the reason."""
    lines = [l for l in err.splitlines() if l.startswith("lsock " + command + ":")]
    assert len(lines) == 1, err
    assert subject in lines[0], lines[0]
    reason = lines[0].split(subject, 1)[1]
    assert len(reason.strip(" :“”()")) > 3, lines[0]
    return lines[0]


class Stream:
    """A deterministic byte stream of @size bytes: 1 MiB random blocks, each
    stamped with its index so reordering or repetition changes the hash."""

    def __init__(self, size, seed):
        self.size = size
        self.block = random.Random(seed).randbytes(MIB)

    def chunks(self):
        sent = 0
        index = 0
        while sent < self.size:
            n = min(MIB, self.size - sent)
            yield (index.to_bytes(8, "big") + self.block[8:])[:n]
            sent += n
            index += 1

    def sha256(self):
        h = hashlib.sha256()
        for c in self.chunks():
            h.update(c)
        return h.hexdigest()


def feed(pipe, stream):
    def run_():
        try:
            for c in stream.chunks():
                pipe.write(c)
        except BrokenPipeError:
            pass
        finally:
            try:
                pipe.close()
            except BrokenPipeError:
                pass
    t = threading.Thread(target=run_, daemon=True)
    t.start()
    return t


def drain(pipe):
    """Hashes everything from @pipe in a thread; result()[0] is (size, sha)."""
    result = []

    def run_():
        h = hashlib.sha256()
        n = 0
        while True:
            c = pipe.read(MIB)
            if not c:
                break
            h.update(c)
            n += len(c)
        result.append((n, h.hexdigest()))
    t = threading.Thread(target=run_, daemon=True)
    t.start()
    return t, result


def drain_counting(pipe):
    """Like drain (), and progress[0] counts the bytes read so far."""
    result = []
    progress = [0]

    def run_():
        h = hashlib.sha256()
        while True:
            c = pipe.read(MIB)
            if not c:
                break
            h.update(c)
            progress[0] += len(c)
        result.append((progress[0], h.hexdigest()))
    t = threading.Thread(target=run_, daemon=True)
    t.start()
    return t, result, progress


def wait_for(cond, timeout=SAFETY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached within %.0f s" % timeout
        time.sleep(0.05)


def read_exactly(pipe, n):
    buf = b""
    while len(buf) < n:
        c = pipe.read(n - len(buf))
        assert c, "EOF after %d of %d bytes" % (len(buf), n)
        buf += c
    return buf


def popen(args, **kw):
    return subprocess.Popen([LSOCK] + list(args), stdin=kw.get("stdin", subprocess.PIPE),
                            stdout=kw.get("stdout", subprocess.PIPE),
                            stderr=kw.get("stderr", subprocess.PIPE))


# ---- help, man page, completion --------------------------------------------

def test_help_lists_commands_and_exit_statuses():
    rc, out, err = run("--help")
    assert rc == 0 and err == ""
    text = out.decode()
    for word in ("connect", "listen", "probe", "list", "send", "recv", "--frame qt",
                 "--max-message-size", "--mode", "--reclaim-stale", "--fds", "--output-dir",
                 "Exit status", "128+N"):
        assert word in text
    for args in (["help"], ["help", "--help"], ["-h"]):
        rc2, out2, _ = run(*args)
        assert rc2 == 0 and out2 == out, args


COMMANDS = ("connect", "listen", "probe", "list", "send", "recv")


def help_options(text):
    """{"--linger": True (takes a value), ...} from a help text's Options."""
    options = {}
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    for line in section.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            for name in re.findall(r"--[a-z][a-z-]*", line):
                options[name] = bool(re.search(r"--[a-z-]+ [^-\s]", line))
    return options


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_is_that_commands_part(command):
    """lsock COMMAND --help (and lsock help COMMAND) show the command's
    usage, its paragraphs and exactly the options it takes."""
    rc, whole, _ = run("--help")
    rc, out, err = run(command, "--help")
    assert rc == 0 and err == ""
    rc2, out2, _ = run("help", command)
    assert rc2 == 0 and out2 == out
    text = out.decode()
    assert text.startswith("Usage:\n  lsock %s " % command)
    assert len(text.splitlines()) < len(whole.decode().splitlines()) / 2
    assert "Exit status" not in text and "lsock --help" in text
    for other in COMMANDS:
        if other != command and not (command, other) in (("list", "listen"), ("send", "recv"),
                                                        ("recv", "send")):
            assert "\n  %s " % other not in text.split("Options:")[0], other
    # Every option shown is accepted (a value where it takes one)...
    options = help_options(text)
    for option, takes_value in options.items():
        args = [option, "1"] if takes_value else [option]
        rc, _, err = run(command, *args, "--help")
        assert rc == 0, (option, err)
    # ... and is the list bash completes.
    path = os.environ.get("LSOCK_COMPLETION")
    if path and shutil.which("bash"):
        r = subprocess.run(["bash", "-c", 'source "%s"; COMP_WORDS=(lsock %s --); COMP_CWORD=2;'
                            '_lsock; echo "${COMPREPLY[*]}"' % (path, command)],
                           stdout=subprocess.PIPE, check=True)
        assert sorted(r.stdout.decode().split()) == sorted(options)


def test_command_help_options_are_the_accepted_ones():
    """An option of another command is refused (so the help lists them all)."""
    rc, out, _ = run("--help")
    every = help_options(out.decode())
    for command in COMMANDS:
        _, text, _ = run(command, "--help")
        own = help_options(text.decode())
        for option in set(every) - set(own) - {"--version"}:
            args = [option, "1"] if every[option] else [option]
            rc, _, err = run(command, *args, "/nonexistent/x", "/dev/null")
            assert rc == 1 and "unknown option" in err, (command, option, err)


@pytest.mark.parametrize("args,hint", [
    (["conect", "x"], "did you mean “connect”?"),
    (["lsiten", "x"], "did you mean “listen”?"),
    (["help", "prob"], "did you mean “probe”?"),
    (["--hlep"], "did you mean “--help”?"),
    (["connect", "--lingr", "1", "x"], "did you mean “--linger”?"),
    (["connect", "--hexdmp", "x"], "did you mean “--hexdump”?"),
    (["recv", "--fds", "--output_dir=d", "x"], "did you mean “--output-dir”?"),
    (["listen", "--frame", "--kep", "x"], None),         # --kep is --frame's value
    (["probe", "--wiat", "x"], "did you mean “--wait”?"),
    (["frobnicate"], None),
    (["connect", "--zzzzzz", "x"], None),
])
def test_did_you_mean(args, hint):
    rc, out, err = run(*args)
    if args[:3] == ["listen", "--frame", "--kep"]:
        assert rc == 1 and "did you mean" not in err, err    # “--kep”: not a framing
        return
    assert rc == 1 and out == b"", err
    assert len(err.splitlines()) == 1 and "usage" in err
    if hint is None:
        assert "did you mean" not in err
    else:
        assert hint in err


def test_man_page_is_generated_from_the_help_text():
    man = os.environ.get("LSOCK_MAN")
    if not man or not os.path.exists(man):
        pytest.skip("man page not built")
    text = open(man, encoding="utf-8").read()
    assert text.startswith('.\\"') and ".TH LSOCK 1" in text
    for section in (".SH SYNOPSIS", ".SH COMMANDS", ".SH OPTIONS", ".SH EXIT STATUS"):
        assert section in text
    # The same options and statuses as --help (roff escapes its hyphens).
    _, out, _ = run("--help")
    for opt in ("--max-message-size", "--half-close", "--linger", "--keep", "--echo",
                "--reclaim-stale", "--fds", "--output-dir"):
        assert opt in out.decode()
        assert opt.replace("-", "\\-") in text
    if shutil.which("man"):
        r = subprocess.run(["man", "-l", "-P", "cat", man], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=dict(os.environ, MANWIDTH="80"))
        if r.returncode == 0:
            assert b"max-message-size" in r.stdout.replace(b"\xe2\x80\x90", b"-")


def test_bash_completion_parses_and_completes():
    path = os.environ.get("LSOCK_COMPLETION")
    if not path or not shutil.which("bash"):
        pytest.skip("no completion file or bash")
    script = ('source "%s"; COMP_WORDS=(lsock li); COMP_CWORD=1; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock listen --mo); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock listen --mode w); COMP_CWORD=3; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock listen --rec); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock recv --f); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock recv --output-d); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMPREPLY=(); COMP_WORDS=(lsock send --fds x %s/lsock.bash-compl %s/lsock.bash-compl);'
              'COMP_CWORD=5; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock help pr); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock connect --hexd); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMP_WORDS=(lsock probe --w); COMP_CWORD=2; _lsock; echo "${COMPREPLY[*]}";'
              'COMPREPLY=(); COMP_WORDS=(lsock connect --timeout ""); COMP_CWORD=3; _lsock;'
              'echo "${#COMPREPLY[@]}"'
              % (path, os.path.dirname(path), os.path.dirname(path)))
    r = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == ["listen list", "--mode", "world", "--reclaim-stale",
                                              "--fds", "--output-dir", path, "probe",
                                              "--hexdump", "--wait", "0"]


# ---- lsock against itself --------------------------------------------------

def test_connect_listen_both_directions(tmpdir_env):
    """listen and connect copy both ways; the connect side ends when its
    stdin ended and the peer closed."""
    srv, _ = listen("listen", "--linger", "-1", "duo", stdin=subprocess.PIPE)
    cli = popen(["connect", "--linger", "-1", "duo"])
    cli.stdin.write(b"from the client\n")
    cli.stdin.close()
    srv.proc.stdin.write(b"from the server\n")
    srv.proc.stdin.close()
    # The server has nothing more to send and waits for the client, which
    # waits for the server: --linger -1 on both would wait forever, so the
    # client gets the server's line and then the test ends the client.
    assert srv.proc.stdout.read(16) == b"from the client\n"
    assert cli.stdout.read(16) == b"from the server\n"
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(SAFETY_TIMEOUT) == 143
    rc, out, err = srv.finish()
    assert rc == 0, err
    assert "peer 1 disconnected: received 16 bytes, sent 16 bytes" in err
    assert not os.path.exists(os.path.join(tmpdir_env, "duo"))


def test_connect_to_echo_1gib_byte_for_byte(tmpdir_env):
    """1 GiB to lsock listen --echo and back, checked by SHA-256."""
    stream = Stream(GIB, seed=16)
    srv, _ = listen("listen", "--echo", "--json", "big")
    # --linger -1: the client waits for the server to close, which it does
    # when the test stops it once everything came back.
    cli = popen(["connect", "--linger", "-1", "big"])
    writer = feed(cli.stdin, stream)
    reader, result, progress = drain_counting(cli.stdout)
    wait_for(lambda: progress[0] >= GIB, BIG_TIMEOUT)
    srv.proc.send_signal(signal.SIGTERM)
    writer.join(BIG_TIMEOUT)
    reader.join(BIG_TIMEOUT)
    assert cli.wait(BIG_TIMEOUT) == 0, cli.stderr.read()
    assert result == [(GIB, stream.sha256())]
    rc, _, err = srv.finish()
    assert rc == 143, err
    assert '"received":%d' % GIB in err.replace(" ", "")


@pytest.mark.parametrize("listener", ["recv", "send"])
def test_send_recv_1gib_byte_for_byte(tmpdir_env, listener):
    """recv listens and send connects, or send --listen and recv --connect."""
    stream = Stream(GIB, seed=7)
    if listener == "recv":
        srv, line = listen("recv", "bulk", stdout=subprocess.PIPE)
        reader, result = drain(srv.proc.stdout)
        snd = popen(["send", "bulk", "-"], stdout=subprocess.DEVNULL)
        writer = feed(snd.stdin, stream)
        rcv_proc, snd_proc = srv, None
    else:
        srv, line = listen("send", "--listen", "bulk", "-", stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL)
        writer = feed(srv.proc.stdin, stream)
        rcv = popen(["recv", "--connect", "bulk"], stdin=subprocess.DEVNULL)
        reader, result = drain(rcv.stdout)
        snd = None
    assert "listening on " + os.path.join(tmpdir_env, "bulk") in line
    writer.join(BIG_TIMEOUT)
    reader.join(BIG_TIMEOUT)
    assert result == [(GIB, stream.sha256())]
    if listener == "recv":
        assert snd.wait(BIG_TIMEOUT) == 0
        summary = snd.stderr.read().decode()
        assert "sent %d bytes" % GIB in summary
        rc, _, err = srv.finish()
        assert rc == 0, err
        assert "received %d bytes" % GIB in err
    else:
        assert rcv.wait(BIG_TIMEOUT) == 0
        assert "received %d bytes" % GIB in rcv.stderr.read().decode()
        rc, _, err = srv.finish()
        assert rc == 0, err
        assert "sent %d bytes" % GIB in err
    # Not a terminal: one plain summary line, no progress bar.
    assert "\r" not in err
    assert not os.path.exists(os.path.join(tmpdir_env, "bulk"))


def test_recv_to_file_and_send_json_summary(tmpdir_env):
    data = os.urandom(3 * MIB + 17)
    src = os.path.join(tmpdir_env, "src.bin")
    dst = os.path.join(tmpdir_env, "dst.bin")
    with open(src, "wb") as f:
        f.write(data)
    srv, _ = listen("recv", "--json", "-o", dst, "f")
    rc, _, err = run("send", "--json", "f", src)
    assert rc == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["event"] == "done" and summary["sent"] == len(data)
    rc, _, err = srv.finish()
    assert rc == 0, err
    assert json.loads(err.strip().splitlines()[-1])["received"] == len(data)
    with open(dst, "rb") as f:
        assert f.read() == data


def test_listen_keep_serves_one_after_another(tmpdir_env):
    srv, _ = listen("listen", "--keep", "k")
    for i in range(3):
        rc, out, err = run("connect", "--linger", "0", "k", input=b"message %d\n" % i)
        assert rc == 0, err
    # All three were copied to stdout, in order; the server still listens.
    rc, out, err = run("probe", "k")
    assert rc == 0, out
    srv.proc.send_signal(signal.SIGINT)
    rc, out, err = srv.finish()
    assert rc == 130
    assert out == b"message 0\nmessage 1\nmessage 2\n"
    assert err.count("disconnected") == 3
    assert not os.path.exists(os.path.join(tmpdir_env, "k"))


def test_listen_reports_peer_credentials_and_mode(tmpdir_env):
    srv, line = listen("listen", "--json", "--mode", "user", "--echo", "cred")
    listening = json.loads(line)
    assert listening["event"] == "listening" and listening["mode"] == "0700"
    assert stat.S_IMODE(os.stat(os.path.join(tmpdir_env, "cred")).st_mode) == 0o700
    cli = popen(["connect", "--linger", "-1", "cred"])
    connected = json.loads(srv.wait_for_err_line('{"event":"connected"'))
    assert connected == {"event": "connected", "peer": 1, "pid": cli.pid,
                         "uid": os.getuid(), "gid": os.getgid()}
    out, _ = cli.communicate(b"x" * 10, timeout=SAFETY_TIMEOUT) if False else (None, None)
    cli.stdin.write(b"0123456789")
    cli.stdin.close()
    assert cli.stdout.read(10) == b"0123456789"
    cli.send_signal(signal.SIGTERM)
    cli.wait(SAFETY_TIMEOUT)
    rc, _, err = srv.finish()
    assert rc == 0, err


@pytest.mark.parametrize("mode,bits", [("group", 0o070), ("other", 0o007), ("world", 0o777)])
def test_listen_modes(tmpdir_env, mode, bits):
    srv, line = listen("listen", "--mode", mode, "m")
    assert stat.S_IMODE(os.stat(os.path.join(tmpdir_env, "m")).st_mode) == bits
    assert "(mode %04o)" % bits in line
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.finish()[0] == 143
    assert not os.path.exists(os.path.join(tmpdir_env, "m"))


def test_abstract_connect_and_probe(tmpdir_env):
    name = "lsock-test-%d" % os.getpid()
    srv, line = listen("listen", "--abstract", "--echo", name)
    assert "@" + name in line
    rc, out, err = run("probe", "--abstract", "--json", name)
    assert rc == 0, err
    info = json.loads(out)
    assert info["state"] == "live" and info["abstract"] and info["name"] == "@" + name
    rc, out, _ = run("list", "--json")
    assert any(e["name"] == "@" + name and e["state"] == "live" for e in json.loads(out))
    rc, out, err = run("connect", "--abstract", "--linger", "0", name, input=b"abstract\n")
    assert rc == 0, err
    assert srv.finish()[0] == 0
    assert not os.listdir(tmpdir_env)
    rc, out, _ = run("probe", "--abstract", name)
    assert rc == 2 and out.decode().startswith("missing @" + name)


# ---- lsock against an Ls server (this process) -------------------------------

def test_connect_to_ls_echo_server(tmpdir_env):
    data = os.urandom(8 * MIB)
    t = ServerThread("ls-echo", on_socket=echo_all).start()
    try:
        cli = popen(["connect", "--linger", "-1", "ls-echo"])
        writer = threading.Thread(target=lambda: (cli.stdin.write(data), cli.stdin.close()),
                                  daemon=True)
        writer.start()
        echoed = read_exactly(cli.stdout, len(data))
    finally:
        t.stop()                     # aborts the connection: the client's peer closes
    writer.join(SAFETY_TIMEOUT)
    assert cli.wait(SAFETY_TIMEOUT) == 0, cli.stderr.read()
    assert cli.stdout.read() == b""
    assert hashlib.sha256(echoed).hexdigest() == hashlib.sha256(data).hexdigest()


def test_ls_client_to_lsock_listen(tmpdir_env):
    srv, _ = listen("listen", "--echo", "ls-cli")
    sock = Ls.LocalSocket()
    sock.connect_to_server("ls-cli")
    assert sock.get_state() == Ls.LocalSocketState.CONNECTED
    payload = os.urandom(MIB)
    sock.write(payload)
    got = bytearray()
    deadline = time.monotonic() + SAFETY_TIMEOUT
    while len(got) < len(payload) and time.monotonic() < deadline:
        sock.wait_for_ready_read(1000)
        g = sock.read_all()
        got.extend(g.get_data() or b"")
    sock.disconnect_from_server()
    assert bytes(got) == payload
    assert srv.finish()[0] == 0


# ---- lsock against Qt (PySide2) ------------------------------------------------

def qt_payload(size, seed):
    return random.Random(seed).randbytes(size)


class QtProc(LineProc):
    def tagged(self, tag):
        return json.loads(self.wait_for_line(tag + " ")[len(tag) + 1:])

    def result(self):
        rc, out, err = self.finish()
        for line in out.splitlines():
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                r["returncode"] = rc
                return r
        raise AssertionError("no RESULT (rc %s): %s %s" % (rc, out, err))


@needs_qt
def test_connect_to_qt_server_both_directions(tmpdir_env):
    up, down = 4 * MIB + 3, 6 * MIB + 5
    mine = os.urandom(up)
    qt = QtProc([PYTHON, QT_PEER, "server", "--name", "qt-srv", "--size", str(down),
                 "--seed", "2002", "--expect", str(up), "--close"], env=dict(os.environ))
    assert qt.tagged("LISTENING")["ok"]
    rc, out, err = run("connect", "--linger", "-1", "qt-srv", input=mine, timeout=120)
    assert rc == 0, err
    assert out == qt_payload(down, 2002)
    res = qt.result()
    assert res["received_size"] == up
    assert res["received_sha256"] == hashlib.sha256(mine).hexdigest()


@needs_qt
def test_qt_client_to_listen_both_directions(tmpdir_env):
    up, down = 5 * MIB + 1, 3 * MIB + 9
    mine = os.urandom(down)
    srv, _ = listen("listen", "--linger", "-1", "qt-cli", stdin=subprocess.PIPE)
    qt = QtProc([PYTHON, QT_PEER, "client", "--name", "qt-cli", "--size", str(up),
                 "--seed", "3003", "--expect", str(down), "--close"], env=dict(os.environ))
    srv.proc.stdin.write(mine)
    srv.proc.stdin.close()
    rc, out, err = srv.finish(timeout=120)
    assert rc == 0, err
    assert out == qt_payload(up, 3003)
    res = qt.result()
    assert res["connected"] and res["received_size"] == down
    assert res["received_sha256"] == hashlib.sha256(mine).hexdigest()


@needs_qt
def test_send_to_qt_server_and_recv_from_qt_client(tmpdir_env):
    size = 16 * MIB
    data = os.urandom(size)
    qt = QtProc([PYTHON, QT_PEER, "server", "--name", "qt-bulk", "--expect", str(size)],
                env=dict(os.environ))
    assert qt.tagged("LISTENING")["ok"]
    rc, _, err = run("send", "qt-bulk", "-", input=data, timeout=120)
    assert rc == 0, err
    res = qt.result()
    assert res["received_sha256"] == hashlib.sha256(data).hexdigest()

    srv, _ = listen("recv", "qt-bulk2")
    qt = QtProc([PYTHON, QT_PEER, "client", "--name", "qt-bulk2", "--size", str(size),
                 "--seed", "5", "--close"], env=dict(os.environ))
    rc, out, err = srv.finish(timeout=120)
    assert rc == 0, err
    assert out == qt_payload(size, 5)
    assert qt.result()["returncode"] == 0


@needs_qt
def test_frame_qt_to_qt_server(tmpdir_env):
    """Messages through QDataStream: binary, empty, and a null array back."""
    messages = [b"hello", b"", bytes(range(256)) + b"\n\x00"]
    qt = QtProc([PYTHON, QT_FRAME_PEER, "server", "--name", "qt-frame",
                 "--count", str(len(messages))], env=dict(os.environ))
    assert qt.tagged("LISTENING")["ok"]
    stdin = b"".join(m.hex().encode() + b"\n" for m in messages)
    rc, out, err = run("connect", "--frame", "qt", "--hex", "--linger", "-1", "qt-frame", input=stdin)
    assert rc == 0, err
    expected = [(b"re:" + m).hex() for m in messages] + [""]      # the null array
    assert out.decode().splitlines() == expected
    assert qt.result()["received"] == [m.hex() for m in messages]


@needs_qt
def test_frame_qt_json_from_qt_client(tmpdir_env):
    srv, _ = listen("listen", "--frame", "qt", "--json", "--linger", "-1", "qt-fc",
                    stdin=subprocess.PIPE)
    qt = QtProc([PYTHON, QT_FRAME_PEER, "client", "--name", "qt-fc",
                 "--send", "68690a,,~,00ff", "--expect", "3"], env=dict(os.environ))
    srv.proc.stdin.write(b'"caf\\u00e9"\n{"base64": "AAEC"}\nnull\n')
    srv.proc.stdin.close()
    rc, out, err = srv.finish()
    assert rc == 0, err
    got = [json.loads(l) for l in out.decode().splitlines()]
    assert [g["size"] for g in got] == [3, 0, 0, 2]
    assert got[0] == {"size": 3, "base64": "aGkK", "text": "hi\n"}
    assert got[3]["base64"] == "AP8=" and "text" not in got[3]
    res = qt.result()
    assert res["received"] == ["636166c3a9", "000102", ""]


# ---- framing: hostile and partial input ---------------------------------------

def test_frame_text_round_trip_through_echo(tmpdir_env):
    srv, _ = listen("listen", "--echo", "fe")
    lines = b"one\n\ntwo words\n" + "ünïcode\n".encode()
    cli = popen(["connect", "--frame", "qt", "--linger", "-1", "fe"])
    cli.stdin.write(lines)
    cli.stdin.close()
    assert read_exactly(cli.stdout, len(lines)) == lines
    srv.proc.send_signal(signal.SIGTERM)
    assert cli.wait(SAFETY_TIMEOUT) == 0, cli.stderr.read()
    assert cli.stdout.read() == b""
    assert srv.finish()[0] == 143


def raw_peer_sends(name, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(name)
    s.sendall(data)
    s.close()


@pytest.mark.parametrize("data,needle", [
    (b"\xff\xff\xff\xf0abc", "4294967280 bytes"),            # hostile length
    (b"\x01\x00\x00\x01", "16777217 bytes"),                  # just above 16 MiB
    (b"\x00\x00\x00\x05hel", "inside a message"),            # partial frame, then EOF
    (b"\x00\x00", "inside a message"),                        # partial header
])
def test_frame_rejects_hostile_and_partial_frames(tmpdir_env, data, needle):
    srv, _ = listen("listen", "--frame", "qt", "--linger", "-1", "hostile")
    raw_peer_sends(os.path.join(tmpdir_env, "hostile"), data)
    rc, out, err = srv.finish()
    assert rc == 7, err
    line = one_error_line(err, "listen", os.path.join(tmpdir_env, "hostile"))
    assert needle in line
    assert out == b""


def test_frame_max_message_size_and_good_frames_before_it(tmpdir_env):
    srv, _ = listen("listen", "--frame", "qt", "--hex", "--max-message-size", "4",
                    "--linger", "-1", "cap")
    raw_peer_sends(os.path.join(tmpdir_env, "cap"),
                   b"\x00\x00\x00\x04abcd\xff\xff\xff\xff\x00\x00\x00\x05hello")
    rc, out, err = srv.finish()
    assert rc == 7
    assert out == b"61626364\n\n"
    line = one_error_line(err, "listen", "cap")
    assert "Datagram too large" in line and "announced 5 bytes" in line and "is 4" in line


def test_frame_split_across_writes(tmpdir_env):
    """A frame that arrives a byte at a time is assembled, not misread."""
    srv, _ = listen("listen", "--frame", "qt", "--linger", "-1", "split")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(tmpdir_env, "split"))
    frame = b"\x00\x00\x00\x0bhello world"
    for b in frame:
        s.send(bytes([b]))
    s.close()
    rc, out, err = srv.finish()
    assert rc == 0, err
    assert out == b"hello world\n"


@pytest.mark.parametrize("args,stdin,needle", [
    (["--hex"], b"zz\n", "invalid hex digit"),
    (["--hex"], b"abc\n", "odd number of hex digits"),
    (["--json"], b"{not json\n", "stdin line 1"),
    (["--json"], b"42\n", "expected a JSON string"),
    (["--json"], b'{"base64": "***"}\n', "not valid base64"),
    (["--max-message-size", "3"], b"four\n", "larger than the limit of 3 bytes"),
])
def test_frame_bad_input_lines(tmpdir_env, args, stdin, needle):
    srv, _ = listen("listen", "--echo", "bad")
    rc, out, err = run("connect", "--frame", "qt", *args, "bad", input=stdin)
    assert rc == 7, err
    assert needle in one_error_line(err, "connect", os.path.join(tmpdir_env, "bad"))
    srv.finish()


# ---- probe and list -----------------------------------------------------------

def test_probe_states(tmpdir_env):
    live, _ = listen("listen", "--mode", "user", "live")
    stale_socket(os.path.join(tmpdir_env, "stale"))
    open(os.path.join(tmpdir_env, "file"), "w").close()
    os.mkdir(os.path.join(tmpdir_env, "dir"))
    try:
        cases = {"live": 0, "stale": 3, "file": 8, "dir": 8, "missing": 2,
                 "nodir/x": 2}
        for name, code in cases.items():
            rc, out, err = run("probe", name)
            assert rc == code, (name, out, err)
            line = out.decode()
            assert line.count("\n") == 1 and err == ""
            path = os.path.join(tmpdir_env, name)
            state = {0: "live", 3: "stale", 8: "not-a-socket", 2: "missing"}[code]
            assert line.startswith("%s %s" % (state, path)), line
            rc, out, _ = run("probe", "--json", name)
            info = json.loads(out)
            assert info["state"] == state and info["name"] == path
            if state in ("live", "stale"):
                assert info["uid"] == os.getuid() and info["type"] == "socket"
        rc, out, _ = run("probe", "--json", "live")
        info = json.loads(out)
        assert info["mode"] == "0700" and info["pid"] == live.pid and info["process"] == "lsock"
        rc, out, _ = run("probe", "--json", "file")
        assert json.loads(out)["type"] == "regular file"
        # probe made no connection: the one-connection server still waits.
        rc, out, _ = run("probe", "live")
        assert rc == 0
        assert not any("connected" in l for l in live.err_lines)
    finally:
        live.proc.send_signal(signal.SIGINT)
        assert live.finish()[0] == 130


def test_probe_resolves_names_as_the_library_does(tmpdir_env):
    """A $TMPDIR with a leading // resolves as Qt and Ls resolve it (the
    library cleans it; lsock's resolver must agree)."""
    stale_socket(os.path.join(tmpdir_env, "stale"))
    env = dict(os.environ, TMPDIR="/" + tmpdir_env + "//")
    rc, out, err = run("probe", "--json", "stale", env=env)
    assert rc == 3, err
    assert json.loads(out)["name"] == os.path.join(tmpdir_env, "stale")
    probe = Ls.LocalSocket()
    old = os.environ["TMPDIR"]
    os.environ["TMPDIR"] = env["TMPDIR"]
    try:
        probe.connect_to_server("stale")
    finally:
        os.environ["TMPDIR"] = old
    assert probe.get_error() == Ls.SocketError.CONNECTION_REFUSED
    assert os.path.join(tmpdir_env, "stale") in probe.get_error_string()


def test_list_shows_live_stale_and_abstract(tmpdir_env):
    abstract = "lsock-list-%d" % os.getpid()
    live, _ = listen("listen", "--mode", "group", "live")
    ab, _ = listen("listen", "--abstract", abstract)
    stale_socket(os.path.join(tmpdir_env, "stale"))
    open(os.path.join(tmpdir_env, "file"), "w").close()
    try:
        rc, out, err = run("list", "--json")
        assert rc == 0, err
        entries = {e["name"]: e for e in json.loads(out)}
        e = entries[os.path.join(tmpdir_env, "live")]
        assert e["state"] == "live" and e["mode"] == "0070" and e["uid"] == os.getuid()
        assert e["pid"] == live.pid and e["process"] == "lsock"
        e = entries[os.path.join(tmpdir_env, "stale")]
        assert e["state"] == "stale" and e["pid"] is None
        e = entries["@" + abstract]
        assert e["state"] == "live" and e["abstract"] and e["mode"] is None
        assert os.path.join(tmpdir_env, "file") not in entries
        rc, out, _ = run("list")
        table = out.decode().splitlines()
        assert table[0].split() == ["NAME", "STATE", "OWNER", "MODE", "PROCESS"]
        row = [l for l in table if l.startswith(os.path.join(tmpdir_env, "live"))][0].split()
        assert row[1] == "live" and row[3] == "0070" and row[4] == "%d/lsock" % live.pid
    finally:
        for p in (live, ab):
            p.proc.send_signal(signal.SIGTERM)
            assert p.finish()[0] == 143


# ---- errors: one line each, documented exit statuses ----------------------------

@pytest.mark.parametrize("args,code", [
    ([], 1),
    (["frobnicate"], 1),
    (["--bogus"], 1),
    (["connect"], 1),
    (["connect", "a", "b"], 1),
    (["connect", "--no-such-option", "x"], 1),
    (["listen", "--mode", "everyone", "x"], 1),
    (["connect", "--frame", "ws", "x"], 1),
    (["connect", "--hex", "x"], 1),
    (["connect", "--frame", "qt", "--hex", "--json", "x"], 1),
    (["connect", "--frame", "qt", "--max-message-size", "5X", "x"], 1),
    (["connect", "--frame", "qt", "--max-message-size", "4G", "x"], 1),
    (["listen", "--echo", "--frame", "qt", "x"], 1),
    (["send", "x"], 1),
    (["send", "--mode", "user", "x", "f"], 1),
    (["recv", "--connect", "--mode", "user", "x"], 1),
    (["recv", "--connect", "--reclaim-stale", "x"], 1),
    (["send", "--reclaim-stale", "x", "f"], 1),
    (["send", "x", "f", "g"], 1),
    (["send", "--fds", "x", "-"], 1),
    (["send", "--fds", "x", "a/same", "b/same"], 1),
    (["recv", "--output-dir", ".", "x"], 1),
    (["recv", "--fds", "-o", "f", "x"], 1),
    (["list", "extra"], 1),
])
def test_usage_errors(tmpdir_env, args, code):
    rc, out, err = run(*args)
    assert rc == code, err
    assert out == b""
    assert len(err.splitlines()) == 1 and err.startswith("lsock") and "usage" in err
    assert not os.listdir(tmpdir_env)


def test_connect_errors(tmpdir_env):
    stale_socket(os.path.join(tmpdir_env, "stale"))
    open(os.path.join(tmpdir_env, "file"), "w").close()
    for name, code in (("missing", 2), ("stale", 3), ("file", 8), ("nodir/x", 2),
                       ("x" * 120, 2)):
        for command in (["connect"], ["recv", "--connect"], ["send", name]):
            args = command + [name] if command[0] != "send" else ["send", name, "/dev/null"]
            rc, out, err = run(*args)
            assert rc == code, (args, err)
            cmd = args[0]
            path = os.path.join(tmpdir_env, name)
            one_error_line(err, cmd, path if len(path) < 100 else name[:50])
    rc, _, err = run("connect", "--abstract", "lsock-nobody-%d" % os.getpid())
    assert rc in (2, 3), err
    one_error_line(err, "connect", "lsock-nobody")


def test_listen_errors(tmpdir_env):
    stale_socket(os.path.join(tmpdir_env, "stale"))
    open(os.path.join(tmpdir_env, "file"), "w").close()
    live, _ = listen("listen", "live")
    try:
        for name, code in (("stale", 5), ("file", 5), ("live", 5), ("nodir/x", 2), ("", 2)):
            for args in (["listen", name], ["recv", name], ["send", "--listen", name, "/dev/null"]):
                rc, out, err = run(*args)
                assert rc == code, (args, err)
                if name:
                    one_error_line(err, args[0], os.path.join(tmpdir_env, name))
        # Nothing was touched.
        assert stat.S_ISSOCK(os.stat(os.path.join(tmpdir_env, "stale")).st_mode)
        assert stat.S_ISREG(os.stat(os.path.join(tmpdir_env, "file")).st_mode)
    finally:
        live.proc.send_signal(signal.SIGINT)
        live.finish()


def test_permission_denied(tmpdir_env):
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root without setpriv: cannot be denied")
        os.chmod(tmpdir_env, 0o755)
        srv, _ = listen("listen", "--mode", "user", "priv")
        try:
            r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                LSOCK, "connect", "priv"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(os.environ), timeout=SAFETY_TIMEOUT)
            assert r.returncode == 4, r.stderr
            one_error_line(r.stderr.decode(), "connect", os.path.join(tmpdir_env, "priv"))
            r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                LSOCK, "listen", "other"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(os.environ), timeout=SAFETY_TIMEOUT)
            assert r.returncode == 4, r.stderr
            one_error_line(r.stderr.decode(), "listen", os.path.join(tmpdir_env, "other"))
        finally:
            srv.proc.send_signal(signal.SIGINT)
            srv.finish()
    else:
        locked = os.path.join(tmpdir_env, "locked")
        os.mkdir(locked, 0o000)
        try:
            rc, _, err = run("listen", os.path.join(locked, "x"))
            assert rc == 4, err
            one_error_line(err, "listen", locked)
        finally:
            os.chmod(locked, 0o700)


def test_file_errors(tmpdir_env):
    srv, _ = listen("recv", "r")
    rc, _, err = run("send", "r", os.path.join(tmpdir_env, "no-such-file"))
    assert rc == 2
    one_error_line(err, "send", "no-such-file")
    rc, _, err = run("send", "r", tmpdir_env)      # a directory
    assert rc == 6, err
    one_error_line(err, "send", tmpdir_env)
    srv.proc.send_signal(signal.SIGINT)
    assert srv.finish()[0] == 130
    rc, _, err = run("recv", "-o", os.path.join(tmpdir_env, "nodir", "out"), "r")
    assert rc == 2, err
    one_error_line(err, "recv", "nodir")
    assert not os.path.exists(os.path.join(tmpdir_env, "r"))


def test_sigpipe_does_not_kill(tmpdir_env):
    srv, _ = listen("listen", "--echo", "pipe")
    r, w = os.pipe()
    os.close(r)                              # nobody reads stdout
    p = subprocess.Popen([LSOCK, "connect", "--linger", "-1", "pipe"], stdin=subprocess.PIPE, stdout=w,
                         stderr=subprocess.PIPE)
    os.close(w)
    _, err = p.communicate(b"echo me\n", timeout=SAFETY_TIMEOUT)
    assert p.returncode == 6, err             # not -SIGPIPE
    assert "Broken pipe" in one_error_line(err.decode(), "connect", os.path.join(tmpdir_env, "pipe"))
    srv.finish()


@pytest.mark.parametrize("args", [["listen", "sig"], ["listen", "--keep", "--echo", "sig"],
                                  ["recv", "sig"], ["send", "--listen", "sig", "/dev/null"]])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_leave_no_socket_file(tmpdir_env, args, signum):
    srv, _ = listen(*args)
    assert os.path.exists(os.path.join(tmpdir_env, "sig"))
    srv.proc.send_signal(signum)
    rc, _, err = srv.finish()
    assert rc == 128 + signum, err
    assert not os.path.exists(os.path.join(tmpdir_env, "sig"))


def test_sigint_during_a_session(tmpdir_env):
    srv, _ = listen("listen", "--keep", "--echo", "busy")
    cli = popen(["connect", "--linger", "-1", "busy"])
    srv.wait_for_err_line("peer 1 connected")
    srv.proc.send_signal(signal.SIGINT)
    assert srv.finish()[0] == 130
    assert not os.path.exists(os.path.join(tmpdir_env, "busy"))
    cli.stdin.close()
    assert cli.wait(SAFETY_TIMEOUT) == 0     # the server went away: a normal end


# ---- session ends and progress ---------------------------------------------------

def test_half_close_for_a_peer_that_reads_until_eof(tmpdir_env):
    """--half-close: the peer sees the end of stdin, answers, closes."""
    path = os.path.join(tmpdir_env, "eof")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        got = b""
        while True:
            c = conn.recv(65536)
            if not c:
                break
            got += c
        conn.sendall(b"got %d bytes\n" % len(got))
        conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    rc, out, err = run("connect", "--half-close", "--linger", "-1", "eof", input=b"x" * 100000)
    t.join(SAFETY_TIMEOUT)
    srv.close()
    assert rc == 0, err
    assert out == b"got 100000 bytes\n"


def test_linger_zero_disconnects_once_stdin_is_sent(tmpdir_env):
    srv, _ = listen("listen", "--linger", "-1", "lz")
    rc, out, err = run("connect", "--linger", "0", "lz", input=b"all of it\n")
    assert rc == 0, err
    rc, out, err = srv.finish()
    assert rc == 0 and out == b"all of it\n", err


def test_progress_bar_on_a_terminal(tmpdir_env):
    import pty
    data = os.urandom(8 * MIB)
    src = os.path.join(tmpdir_env, "src")
    with open(src, "wb") as f:
        f.write(data)
    rcv, _ = listen("recv", "-o", os.devnull, "tty")
    master, slave = pty.openpty()
    p = subprocess.Popen([LSOCK, "send", "tty", src], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            c = os.read(master, 65536)
        except OSError:
            break
        if not c:
            break
        shown += c
    os.close(master)
    assert p.wait(SAFETY_TIMEOUT) == 0
    text = shown.decode("utf-8", "replace")
    # The last redraw is the complete bar, then the summary line.
    assert "\r" in text and "[" + "#" * 24 + "] 100%" in text and "ETA" in text
    assert "sent %d bytes" % len(data) in text
    assert rcv.finish()[0] == 0


# ---- --reclaim-stale -------------------------------------------------------

def test_reclaim_stale_replaces_a_stale_socket(tmpdir_env):
    """Without the option a stale socket file is "address in use" (5); with
    it, each listening side listens there and serves as usual."""
    path = os.path.join(tmpdir_env, "crashed")
    src = os.path.join(tmpdir_env, "src")
    with open(src, "wb") as f:
        f.write(b"payload\n")

    stale_socket(path)
    rc, _, err = run("listen", "crashed")
    assert rc == 5, err
    one_error_line(err, "listen", path)
    assert stat.S_ISSOCK(os.stat(path).st_mode)

    # listen
    srv, line = listen("listen", "--reclaim-stale", "--echo", "crashed")
    assert path in line
    rc, out, err = run("connect", "crashed", input=b"through the new one\n")
    assert rc == 0 and out == b"through the new one\n", err
    assert srv.finish()[0] == 0
    assert not os.path.exists(path)

    # recv (listening) and send --listen
    stale_socket(path)
    rcv, _ = listen("recv", "--reclaim-stale", "crashed")
    rc, _, err = run("send", "crashed", src)
    assert rc == 0, err
    rc, out, err = rcv.finish()
    assert rc == 0 and out == b"payload\n", err

    stale_socket(path)
    snd, _ = listen("send", "--listen", "--reclaim-stale", "--mode", "user", "crashed", src)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    rc, out, err = run("recv", "--connect", "crashed")
    assert rc == 0 and out == b"payload\n", err
    assert snd.finish()[0] == 0
    assert not os.path.exists(path)


def test_reclaim_stale_leaves_live_servers_and_other_files(tmpdir_env):
    live_path = os.path.join(tmpdir_env, "live")
    file_path = os.path.join(tmpdir_env, "file")
    link_path = os.path.join(tmpdir_env, "link")
    with open(file_path, "wb") as f:
        f.write(b"keep me")
    os.symlink(stale_socket(os.path.join(tmpdir_env, "target")), link_path)
    live, _ = listen("listen", "--keep", "--echo", "live")
    try:
        for name, path in (("live", live_path), ("file", file_path), ("link", link_path)):
            for args in (["listen", "--reclaim-stale", name],
                         ["recv", "--reclaim-stale", name],
                         ["send", "--listen", "--reclaim-stale", name, "/dev/null"],
                         ["recv", "--fds", "--reclaim-stale", name]):
                rc, out, err = run(*args)
                assert rc == 5, (args, err)
                one_error_line(err, args[0], path)
        # The live server still listens on its file and answers.
        rc, out, err = run("connect", "live", input=b"still here\n")
        assert rc == 0 and out == b"still here\n", err
        assert stat.S_ISSOCK(os.stat(live_path).st_mode)
        with open(file_path, "rb") as f:
            assert f.read() == b"keep me"
        assert os.path.islink(link_path)
    finally:
        live.proc.send_signal(signal.SIGINT)
        assert live.finish()[0] == 130


# ---- --fds -------------------------------------------------------------------

def make_files(directory):
    """Three files to pass: an empty one, 1 MiB and a name with a space and UTF-8."""
    os.makedirs(directory, exist_ok=True)
    files = {"empty": b"", "big.bin": os.urandom(MIB), "a b \u00fc.txt": b"small\n"}
    paths = []
    for name, data in files.items():
        p = os.path.join(directory, name)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    return files, paths


def test_send_recv_fds_to_an_output_dir(tmpdir_env):
    files, paths = make_files(os.path.join(tmpdir_env, "in"))
    out_dir = os.path.join(tmpdir_env, "out")
    os.mkdir(out_dir)
    rcv, _ = listen("recv", "--fds", "--output-dir", out_dir, "--json", "pass")
    rc, _, err = run("send", "--fds", "--json", "pass", *paths)
    assert rc == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["event"] == "done" and summary["files"] == 3
    assert summary["bytes"] == sum(len(d) for d in files.values())
    rc, out, err = rcv.finish()
    assert rc == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["files"] == 3 and summary["bytes"] == MIB + 6
    listed = [json.loads(l) for l in out.decode().splitlines()]
    assert [e["name"] for e in listed] == list(files)
    for entry, src in zip(listed, paths):
        st = os.stat(src)
        # The very file, not a copy of its bytes over the socket.
        assert entry["inode"] == st.st_ino
        assert entry["device"] == "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
        assert entry["size"] == st.st_size
        assert entry["path"] == os.path.join(out_dir, entry["name"])
    assert sorted(os.listdir(out_dir)) == sorted(files)
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "rb") as f:
            assert f.read() == data, name
    assert not os.path.exists(os.path.join(tmpdir_env, "pass"))


def test_send_fds_listen_to_recv_fds_connect_lists_files(tmpdir_env):
    files, paths = make_files(os.path.join(tmpdir_env, "in"))
    snd, _ = listen("send", "--fds", "--listen", "lst", *paths)
    rc, out, err = run("recv", "--fds", "--connect", "lst")
    assert rc == 0, err
    assert "received 3 files" in err
    lines = out.decode().splitlines()
    for line, (name, data), src in zip(lines, files.items(), paths):
        st = os.stat(src)
        assert line == "%s: %d bytes, device %d:%d, inode %d" % (
            name, len(data), os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    rc, _, err = snd.finish()
    assert rc == 0 and "sent 3 files" in err, err


def test_fds_to_a_receiver_without_fds(tmpdir_env):
    """Documented: recv without --fds stops at the first descriptor with
    status 7, closing it unread and writing nothing that came with it; the
    sender does not wait for an answer (0, or 6 if the receiver left
    before it had handed everything to the kernel)."""
    _, paths = make_files(os.path.join(tmpdir_env, "in"))
    dst = os.path.join(tmpdir_env, "dst")
    rcv, _ = listen("recv", "-o", dst, "plain")
    rc_send, _, err_send = run("send", "--fds", "plain", *paths)
    rc, _, err = rcv.finish()
    assert rc == 7, err
    assert "descriptor" in one_error_line(err, "recv", os.path.join(tmpdir_env, "plain"))
    assert os.path.getsize(dst) == 0
    assert rc_send in (0, 6), err_send
    # And the other way round: bytes are not records.
    rcv, _ = listen("recv", "--fds", "plain")
    run("send", "plain", paths[1])
    rc, out, err = rcv.finish()
    assert rc == 7 and out == b"", err
    assert "not an lsock --fds record" in one_error_line(err, "recv", os.path.join(tmpdir_env, "plain"))


def raw_fds_peer(name, chunks):
    """Connects to NAME and sends each (bytes, [fds]) as one sendmsg.

    The receiver may reject a record and close before the rest is sent
    (that is what these tests provoke): the remaining sends then fail with
    EPIPE or ECONNRESET, which is not the test's concern, so they stop."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(name)
    try:
        for data, fds in chunks:
            socket.send_fds(s, [data], fds) if fds else s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return s


@pytest.mark.parametrize("kind,needle", [
    ("record-without-fd", "record 1 (“a”) arrived without a descriptor"),
    ("last-record-without-fd", "record 2 (“b”) arrived without a descriptor"),
    ("fd-without-record", "1 descriptor arrived without a record"),
    ("two-fds-one-record", "2 descriptors arrived with record 1"),
    ("not-regular", "is a FIFO, not a regular file"),
    ("bad-name", "is not a file name"),
    ("same-name", "a second file named “a”"),
    ("no-end", "without the end line"),
    ("count", "the end line counts 2 files, but 1 arrived"),
])
def test_recv_fds_protocol_errors(tmpdir_env, kind, needle):
    src = os.path.join(tmpdir_env, "src")
    with open(src, "wb") as f:
        f.write(b"abc")
    out_dir = os.path.join(tmpdir_env, "out")
    os.mkdir(out_dir)
    fd = os.open(src, os.O_RDONLY)
    fd2 = os.open(src, os.O_RDONLY)
    r, w = os.pipe()
    chunks = {
        "record-without-fd": [(b"file 3 a\n", []), (b"file 3 b\n", [fd]), (b"end 2\n", [])],
        "last-record-without-fd": [(b"file 3 a\n", [fd]), (b"file 3 b\n", []), (b"end 2\n", [])],
        "fd-without-record": [(b"file 3 a\n", [fd]), (b"end 1\n", [fd2])],
        "two-fds-one-record": [(b"file 3 a\n", [fd, fd2]), (b"end 1\n", [])],
        "not-regular": [(b"file 0 p\n", [r]), (b"end 1\n", [])],
        "bad-name": [(b"file 3 %2E%2E%2Fescape\n", [fd]), (b"end 1\n", [])],
        "same-name": [(b"file 3 a\n", [fd]), (b"file 3 a\n", [fd2]), (b"end 2\n", [])],
        "no-end": [(b"file 3 a\n", [fd])],
        "count": [(b"file 3 a\n", [fd]), (b"end 2\n", [])],
    }[kind]
    rcv, _ = listen("recv", "--fds", "--output-dir", out_dir, "bad")
    s = raw_fds_peer(os.path.join(tmpdir_env, "bad"), chunks)
    s.close()
    for x in (fd, fd2, r, w):
        os.close(x)
    rc, out, err = rcv.finish()
    assert rc == 7, err
    assert needle in one_error_line(err, "recv", os.path.join(tmpdir_env, "bad"))
    assert not os.path.exists(os.path.join(tmpdir_env, "escape"))
    # Nothing is saved under a record that had no descriptor of its own.
    if kind == "record-without-fd":
        assert os.listdir(out_dir) == []


def test_fds_file_errors(tmpdir_env):
    rcv, _ = listen("recv", "--fds", "r")
    ok = os.path.join(tmpdir_env, "ok")
    open(ok, "w").close()
    missing = os.path.join(tmpdir_env, "no-such-file")
    # Every FILE is opened before connecting: nothing reaches the receiver.
    rc, _, err = run("send", "--fds", "r", ok, missing)
    assert rc == 2, err
    assert "No such file" in one_error_line(err, "send", missing)
    sub = os.path.join(tmpdir_env, "subdir")
    os.mkdir(sub)
    rc, _, err = run("send", "--fds", "r", ok, sub)
    assert rc == 8, err
    assert "a directory, not a regular file" in one_error_line(err, "send", sub)
    fifo = os.path.join(tmpdir_env, "fifo")
    os.mkfifo(fifo)
    rc, _, err = run("send", "--fds", "r", fifo)    # refused, never hangs
    assert rc == 8, err
    one_error_line(err, "send", fifo)
    rcv.proc.send_signal(signal.SIGINT)
    rc, out, err = rcv.finish()
    assert rc == 130 and out == b"", err
    for args, code, subject in ((["--output-dir", os.path.join(tmpdir_env, "nodir")], 2, "nodir"),
                                (["--output-dir", ok], 8, ok)):
        rc, _, err = run("recv", "--fds", *args, "r")
        assert rc == code, err
        one_error_line(err, "recv", subject)
    assert not os.path.exists(os.path.join(tmpdir_env, "r"))


def test_listen_closes_passed_descriptors_and_copies_the_bytes(tmpdir_env):
    srv, _ = listen("listen", "--linger", "-1", "byte")
    r, w = os.pipe()
    s = raw_fds_peer(os.path.join(tmpdir_env, "byte"),
                     [(b"one\n", [r]), (b"two\n", []), (b"three\n", [w, r])])
    s.close()
    os.close(r)
    os.close(w)
    rc, out, err = srv.finish()
    assert rc == 0, err
    assert out == b"one\ntwo\nthree\n"


# ---- hostile input and names (issue 23) ----------------------------------------

FORGED = "x\nlsock connect: forged"


def assert_no_forged_lines(text, allowed=0):
    """No line starts with "lsock " except @allowed genuine error lines."""
    forged = [l for l in text.splitlines() if l.startswith("lsock ")]
    assert len(forged) <= allowed, text
    return forged


@pytest.mark.parametrize("line,hex_out", [
    ('"a\\u0000b"', "610062"),
    ('{"text": "x\\u0000y\\u0000"}', "78007900"),
    ('{"te\\u0078t": "\\u0000"}', "00"),                     # an escaped key, a lone NUL
    ('"\\ud83d\\ude00 \\\\ \\" \\/"', "f09f9880205c202220" + "2f"),
    ("{\"text\": \"\\u0000\", \"text\": \"last\"}", "6c617374"),   # the last member wins
    ('{"base64": "AEE=", "text": "ignored"}', "0041"),
])
def test_frame_json_input_sends_every_byte(tmpdir_env, line, hex_out):
    """A JSON string's \\u0000 is a byte of the message, counted in the
    frame's length: nothing is cut at a NUL."""
    srv, _ = listen("listen", "--frame", "qt", "--hex", "--linger", "-1", "nul")
    rc, out, err = run("connect", "--frame", "qt", "--json", "--linger", "0", "nul",
                       input=line.encode() + b"\n")
    assert rc == 0, err
    rc, out, err = srv.finish()
    assert rc == 0, err
    assert out.decode() == hex_out + "\n"


@pytest.mark.parametrize("line,needle", [
    ('{"base64": "QQ==\\u0000***"}', "not valid base64"),
    ('{"hex": "41\\u000042"}', "invalid hex digit"),
    ('"\\ud800x"', "surrogate"),
])
def test_frame_json_input_rejects_nul_in_base64_hex_and_lone_surrogates(tmpdir_env, line, needle):
    srv, _ = listen("listen", "--frame", "qt", "--hex", "--linger", "-1", "bad")
    rc, out, err = run("connect", "--frame", "qt", "--json", "bad", input=line.encode() + b"\n")
    assert rc == 7, err
    assert needle in one_error_line(err, "connect", os.path.join(tmpdir_env, "bad"))
    rc, out, err = srv.finish()
    assert out == b"", err


def test_names_with_control_characters_cannot_forge_lines(tmpdir_env):
    """Every name lsock prints is escaped: a newline cannot start a line of
    its own, so only genuine error lines start with "lsock "."""
    # probe: stdout is one line, the name escaped.
    rc, out, err = run("probe", FORGED)
    assert rc == 2, err
    assert out.decode() == "missing %s\n" % os.path.join(tmpdir_env, "x\\nlsock connect: forged")
    # An error names the path once, on one line.
    rc, out, err = run("connect", FORGED)
    assert rc == 2
    assert len(err.splitlines()) == 1 and "x\\nlsock connect: forged" in err
    # listen's event line; list's table row; probe --json keeps the real name.
    name = "b\\\x1b[2J\x07\r\nlsock listen: forged"
    srv, line = listen("listen", "--keep", name)
    try:
        assert line == "listening on %s (mode 0755)" % os.path.join(
            tmpdir_env, "b\\\\\\x1b[2J\\x07\\r\\nlsock listen: forged")
        rc, out, err = run("probe", name)
        assert rc == 0 and out.count(b"\n") == 1 and b"\x1b" not in out, out
        rc, out, err = run("probe", "--json", name)
        assert json.loads(out)["name"] == os.path.join(tmpdir_env, name)
        rc, out, err = run("list")
        assert rc == 0, err
        assert_no_forged_lines(out.decode())
        assert b"\x1b" not in out and b"\r" not in out and b"\x07" not in out
    finally:
        srv.proc.send_signal(signal.SIGTERM)
        rc, _, err = srv.finish()
    assert rc == 143
    assert_no_forged_lines(err)
    # An abstract name, in listen's event and in the summary of recv.
    abstract = "lsock-%d\nlsock recv: forged" % os.getpid()
    rcv, line = listen("recv", "--abstract", abstract)
    assert line == "listening on @lsock-%d\\nlsock recv: forged" % os.getpid()
    rc, _, err = run("send", "--abstract", abstract, "/dev/null")
    assert rc == 0, err
    assert_no_forged_lines(err)
    rc, _, err = rcv.finish()
    assert rc == 0, err
    assert_no_forged_lines(err)


def test_list_and_probe_escape_names_and_processes_from_other_programs(tmpdir_env):
    """Names in the kernel's socket table and a process's name (its comm,
    which any program sets) come from others: escaped too, also at the
    start of a row."""
    sub = os.path.join(tmpdir_env, "sub")
    os.mkdir(sub)
    script = (
        "import ctypes, os, socket, sys\n"
        "ctypes.CDLL(None).prctl(15, b'p\\nlsock x\\x1b', 0, 0, 0)\n"
        "os.chdir(sys.argv[1])\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.bind('lsock list: forged\\nlsock y')\n"
        "s.listen(1)\n"
        "t = socket.socket(socket.AF_UNIX)\n"
        "t.bind(sys.argv[2])\n"
        "t.listen(1)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n")
    peer = subprocess.Popen([PYTHON, "-c", script, sub, os.path.join(tmpdir_env, "evil")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert peer.stdout.readline() == b"ready\n"
        rc, out, err = run("list")
        assert rc == 0, err
        text = out.decode()
        assert_no_forged_lines(text)
        assert "\\x6csock list: forged\\nlsock y" in text
        assert "%d/p\\nlsock x\\x1b" % peer.pid in text
        assert "\x1b" not in text
        rc, out, err = run("probe", "evil")
        assert rc == 0, err
        line = out.decode()
        assert line.count("\n") == 1 and line.startswith("live %s " % os.path.join(tmpdir_env, "evil"))
        assert line.endswith(" pid %d (p\\nlsock x\\x1b)\n" % peer.pid), line
        rc, out, err = run("list", "--json")
        names = [e["name"] for e in json.loads(out)]
        assert "lsock list: forged\nlsock y" in names
    finally:
        peer.stdin.close()
        peer.wait(SAFETY_TIMEOUT)


def test_recv_fds_escapes_file_names(tmpdir_env):
    src = os.path.join(tmpdir_env, "in")
    os.mkdir(src)
    name = "lsock recv: forged\nlsock \\ \x1b"
    with open(os.path.join(src, name), "wb") as f:
        f.write(b"abc")
    rcv, _ = listen("recv", "--fds", "names")
    rc, _, err = run("send", "--fds", "names", os.path.join(src, name))
    assert rc == 0, err
    rc, out, err = rcv.finish()
    assert rc == 0, err
    text = out.decode()
    assert_no_forged_lines(text)
    assert text.startswith("\\x6csock recv: forged\\nlsock \\\\ \\x1b: 3 bytes"), text


@pytest.mark.parametrize("kind", ["fifo", "hardlink", "symlink", "file"])
def test_recv_fds_never_opens_an_existing_file(tmpdir_env, kind):
    """DIR/NAME is created, never opened: a FIFO there cannot block, a hard
    link or a symbolic link there cannot lead the write out of DIR. The
    clash fails that record (status 5) and leaves the file as it was."""
    src = os.path.join(tmpdir_env, "in")
    os.mkdir(src)
    with open(os.path.join(src, "a"), "wb") as f:
        f.write(b"from the sender")
    out_dir = os.path.join(tmpdir_env, "out")
    os.mkdir(out_dir)
    victim = os.path.join(tmpdir_env, "victim")
    with open(victim, "wb") as f:
        f.write(b"keep me")
    target = os.path.join(out_dir, "a")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "hardlink":
        os.link(victim, target)
    elif kind == "symlink":
        os.symlink(victim, target)
    else:
        with open(target, "wb") as f:
            f.write(b"old")
    rcv, _ = listen("recv", "--fds", "--output-dir", out_dir, "clash")
    rc_send, _, err_send = run("send", "--fds", "clash", os.path.join(src, "a"))
    assert rc_send in (0, 6), err_send
    rc, out, err = rcv.finish()
    assert rc == 5, err
    assert "exists" in one_error_line(err, "recv", target)
    assert out == b""
    with open(victim, "rb") as f:
        assert f.read() == b"keep me"
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(target).st_mode)
    elif kind == "file":
        with open(target, "rb") as f:
            assert f.read() == b"old"


@pytest.mark.parametrize("limit", [None, 64])
def test_recv_fds_descriptor_flood_is_a_protocol_error(tmpdir_env, limit):
    """More descriptors than the library lets wait (1024) without a record
    line to take them, or more than the receiver can hold at all (a low
    RLIMIT_NOFILE): the documented protocol error, status 7."""
    src = os.path.join(tmpdir_env, "src")
    open(src, "w").close()
    fd = os.open(src, os.O_RDONLY)
    if limit is None:
        rcv, _ = listen("recv", "--fds", "flood")
    else:
        rcv = Proc(["prlimit", "--nofile=%d" % limit, LSOCK, "recv", "--fds", "flood"])
        rcv.wait_for_err_line("listening")
    s = raw_fds_peer(os.path.join(tmpdir_env, "flood"),
                     [(b"f", [fd] * 253) for _ in range(8)])
    os.close(fd)
    rc, out, err = rcv.finish()
    s.close()
    assert rc == 7, err
    assert "descriptors" in one_error_line(err, "recv", os.path.join(tmpdir_env, "flood"))


# ---- probe --wait, --timeout, --hexdump (issue 27) -------------------------------

def test_probe_wait_until_a_server_is_up(tmpdir_env):
    """probe --wait keeps looking until the name is live: here a stale
    socket file is first replaced by a listening lsock."""
    path = os.path.join(tmpdir_env, "later")
    stale_socket(path)
    waiter = subprocess.Popen([LSOCK, "probe", "--wait=60", "later"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    # Still waiting: the name is stale, and probe without --wait answers at once.
    time.sleep(0.3)
    assert waiter.poll() is None
    srv, _ = listen("listen", "--reclaim-stale", "--keep", "later")
    try:
        out, err = waiter.communicate(timeout=SAFETY_TIMEOUT)
        assert waiter.returncode == 0, err
        lines = out.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("live " + path), out
        assert " pid %d (lsock)" % srv.pid in lines[0]
        # Already live: at once, and no connection was made.
        rc, out, err = run("probe", "--wait", "later")
        assert rc == 0 and out.decode().startswith("live "), err
        assert not any("connected" in l for l in srv.err_lines)
    finally:
        srv.proc.send_signal(signal.SIGINT)
        assert srv.finish()[0] == 130


@pytest.mark.parametrize("setup,code,state", [
    (None, 2, "missing"), ("stale", 3, "stale"), ("file", 8, "not-a-socket")])
def test_probe_wait_gives_up_with_the_state_at_the_end(tmpdir_env, setup, code, state):
    path = os.path.join(tmpdir_env, "never")
    if setup == "stale":
        stale_socket(path)
    elif setup == "file":
        open(path, "w").close()
    rc, out, err = run("probe", "--wait=0.3", "--json", "never")
    assert rc == code, err
    assert json.loads(out)["state"] == state and out.count(b"\n") == 1


def catches_sigint(pid):
    """The process has its SIGINT handler in place (/proc: SigCgt)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)) != 0
    return False


def has_socket(pid):
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)).startswith("socket:"):
                return True
        except OSError:
            pass
    return False


def test_probe_wait_interrupted_and_bad_values(tmpdir_env):
    waiter = subprocess.Popen([LSOCK, "probe", "--wait", "nothing"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    wait_for(lambda: catches_sigint(waiter.pid))
    waiter.send_signal(signal.SIGINT)
    out, err = waiter.communicate(timeout=SAFETY_TIMEOUT)
    assert waiter.returncode == 130 and out == b"", err
    for bad in ("--wait=abc", "--wait=-1", "--wait=inf", "--wait= 1"):
        rc, out, err = run("probe", bad, "x")
        assert rc == 1 and "usage" in err and out == b"", (bad, err)


def full_backlog_server(path):
    """A listening socket whose backlog is full (nobody accepts): the
    server and the connections that fill it."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(0)
    queued = []
    while True:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(path)
        except BlockingIOError:
            c.close()
            break
        queued.append(c)
    return srv, queued


@pytest.mark.parametrize("args", [["connect"], ["send", "--timeout", "0.2", "full", "/dev/null"],
                                  ["recv", "--connect"]])
def test_timeout_when_the_backlog_stays_full(tmpdir_env, args):
    path = os.path.join(tmpdir_env, "full")
    srv, queued = full_backlog_server(path)
    try:
        if args[0] != "send":
            args = args + ["--timeout", "0.2", "full"]
        rc, out, err = run(*args)
        assert rc == 6, err
        assert "timed out" in one_error_line(err, args[0], path)
    finally:
        for c in queued:
            c.close()
        srv.close()


def test_connect_waits_while_the_backlog_is_full(tmpdir_env):
    """A full backlog is not an error: lsock retries until the server
    accepts (here once the test has taken the queued connection)."""
    path = os.path.join(tmpdir_env, "busy")
    srv, queued = full_backlog_server(path)
    cli = popen(["connect", "--timeout", "60", "--linger", "-1", "busy"])
    # Its socket exists: it is connecting (retrying), not failing.
    wait_for(lambda: cli.poll() is not None or has_socket(cli.pid))
    time.sleep(0.2)
    assert cli.poll() is None, cli.stderr.read()
    conn, _ = srv.accept()              # one of the test's own: room for lsock's
    conn.close()
    conn, _ = srv.accept()
    conn.sendall(b"finally\n")
    conn.close()
    cli.stdin.close()
    assert cli.stdout.read() == b"finally\n"
    assert cli.wait(SAFETY_TIMEOUT) == 0, cli.stderr.read()
    for c in queued:
        c.close()
    srv.close()


@pytest.mark.parametrize("args", [["connect", "--timeout", "-1", "x"],
                                  ["connect", "--timeout", "soon", "x"],
                                  ["send", "--listen", "--timeout", "1", "x", "f"],
                                  ["recv", "--timeout", "1", "x"]])
def test_timeout_usage_errors(tmpdir_env, args):
    rc, out, err = run(*args)
    assert rc == 1 and out == b"" and "usage" in err and "--timeout" in err, err


def hexdump_lines(marker, data, offset=0):
    """hexdump -C's layout after a direction marker, as lsock -x writes it."""
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        hexes = " ".join("%02x" % b for b in chunk[:8]).ljust(23)
        hexes += "  " + " ".join("%02x" % b for b in chunk[8:]).ljust(23)
        text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in chunk)
        lines.append("%s %08x  %s  |%s|" % (marker, offset + i, hexes, text))
    return lines


def test_hexdump_of_a_session_both_ways(tmpdir_env):
    data = b"hello, world! \x00\x01\xff 0123456789\n"
    srv, _ = listen("listen", "--echo", "--hexdump", "hx")
    cli = popen(["connect", "-x", "--linger", "-1", "hx"])
    cli.stdin.write(data)
    cli.stdin.close()
    assert read_exactly(cli.stdout, len(data)) == data
    srv.proc.send_signal(signal.SIGTERM)
    assert cli.wait(SAFETY_TIMEOUT) == 0
    assert cli.stderr.read().decode().splitlines() == hexdump_lines(">", data) + hexdump_lines("<", data)
    rc, _, err = srv.finish()
    assert rc == 143, err
    lines = err.splitlines()
    assert hexdump_lines("1<", data) + hexdump_lines("1>", data) == \
        [l for l in lines if l.startswith("1")]


def test_hexdump_of_frames_send_recv_and_fds(tmpdir_env):
    # --frame qt: each frame with its length, offsets running on.
    srv, _ = listen("listen", "--frame", "qt", "--hex", "--linger", "-1", "fr")
    rc, out, err = run("connect", "--frame", "qt", "--hex", "-x", "fr", input=b"616263\n\n")
    assert rc == 0, err
    assert err.splitlines() == (hexdump_lines(">", b"\x00\x00\x00\x03abc") +
                                hexdump_lines(">", b"\x00\x00\x00\x00", offset=7))
    assert srv.finish()[1] == b"616263\n\n"
    # recv -x and send -x: the bytes of the file.
    src = os.path.join(tmpdir_env, "src")
    payload = bytes(range(40))
    with open(src, "wb") as f:
        f.write(payload)
    rcv, _ = listen("recv", "-x", "tr")
    rc, _, err = run("send", "--hexdump", "tr", src)
    assert rc == 0, err
    assert err.splitlines()[:-1] == hexdump_lines(">", payload)
    rc, out, err = rcv.finish()
    assert rc == 0 and out == payload, err
    assert err.splitlines()[1:-1] == hexdump_lines("<", payload)
    # --fds: the record lines.
    rcv, _ = listen("recv", "--fds", "-x", "fd")
    rc, _, err = run("send", "--fds", "fd", src)
    assert rc == 0, err
    rc, out, err = rcv.finish()
    assert rc == 0, err
    assert err.splitlines()[1:-1] == (hexdump_lines("<", b"file 40 src\n") +
                                      hexdump_lines("<", b"end 1\n", offset=12))
