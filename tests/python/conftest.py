# conftest.py: shared helpers for the PyGObject tests of Ls
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run with Debian's /usr/bin/python3 (it has gi) and GI_TYPELIB_PATH /
# LD_LIBRARY_PATH pointing into the build directory; meson does that.

import os
import shutil
import socket
import tempfile
import threading
import time

import gi

gi.require_version("GLib", "2.0")
gi.require_version("GObject", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Ls", "1.0")
from gi.repository import GLib, GObject, Gio, Ls  # noqa: E402,F401  (re-exported to the tests)

import pytest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("LS_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"

# A guard against hanging forever when something is broken; never a pass
# criterion.
SAFETY_TIMEOUT = 30.0


def ls_env(**extra):
    """The environment for child processes that load the Ls typelib."""
    env = dict(os.environ)
    env.update({k: v for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


@pytest.fixture
def tmp_short():
    """A short private directory: socket paths must stay under 107 bytes."""
    d = tempfile.mkdtemp(prefix="ls-py-", dir="/tmp")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmpdir_env(tmp_short, monkeypatch):
    """TMPDIR set to a short private directory, so relative names land there."""
    monkeypatch.setenv("TMPDIR", tmp_short)
    return tmp_short


@pytest.fixture
def sock_path(tmp_short):
    return os.path.join(tmp_short, "s")


def run_until(cond, timeout=SAFETY_TIMEOUT, context=None):
    """Iterates @context (default: the thread-default, else the global
    default) until cond() is true. Fails the test if the safety timeout
    passes first."""
    ctx = context or GLib.MainContext.get_thread_default() or GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    # A periodic wake-up so that conditions changed from outside the loop
    # (other threads, child processes) are seen.
    wake = GLib.timeout_source_new(10)
    wake.set_callback(lambda *a: True)
    wake.attach(ctx)
    try:
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached within %.0f s" % timeout)
            ctx.iteration(True)
    finally:
        wake.destroy()


def run_for(msec, context=None):
    """Iterates the main context for a while (to let things that must NOT
    happen have their chance)."""
    done = []
    ctx = context or GLib.MainContext.get_thread_default() or GLib.MainContext.default()
    src = GLib.timeout_source_new(msec)
    src.set_callback(lambda *a: done.append(True) or False)
    src.attach(ctx)
    run_until(lambda: done, context=ctx)


def drain(context=None):
    ctx = context or GLib.MainContext.get_thread_default() or GLib.MainContext.default()
    while ctx.iteration(False):
        pass


class Recorder:
    """Records signal emissions of one object, in order."""

    def __init__(self, obj, signals):
        self.obj = obj
        self.events = []
        self.ids = [obj.connect(s, self._handler(s)) for s in signals]

    def _handler(self, name):
        def cb(_obj, *args):
            self.events.append((name,) + tuple(args))
        return cb

    def names(self):
        return [e[0] for e in self.events]

    def count(self, name):
        return sum(1 for e in self.events if e[0] == name)

    def clear(self):
        del self.events[:]

    def disconnect(self):
        for i in self.ids:
            self.obj.disconnect(i)
        self.ids = []


SOCKET_SIGNALS = [
    "connected", "disconnected", "error-occurred", "state-changed",
    "ready-read", "bytes-written", "about-to-close", "read-channel-finished",
]


def record_socket(sock, signals=None):
    return Recorder(sock, signals or SOCKET_SIGNALS)


class NotifyRecorder:
    def __init__(self, obj):
        self.names = []
        obj.connect("notify", lambda _o, pspec: self.names.append(pspec.name))


def error_matches(err, code):
    return err.matches(Ls.socket_error_quark(), code)


def assert_ls_error(excinfo, code):
    err = excinfo.value
    assert err.matches(Ls.socket_error_quark(), code), \
        "expected %s, got domain %s code %s: %s" % (code, err.domain, err.code, err.message)
    assert err.message, "GError message must not be empty"


def listen(name, options=None):
    server = Ls.LocalServer()
    if options is not None:
        server.set_socket_options(options)
    assert server.listen(name) is True
    return server


def connect(name, options=None):
    sock = Ls.LocalSocket()
    if options is not None:
        sock.set_socket_options(options)
    sock.connect_to_server(name)
    assert sock.get_state() == Ls.LocalSocketState.CONNECTED, sock.get_error_string()
    return sock


def accept(server, timeout=SAFETY_TIMEOUT):
    """Takes the next connection, iterating the main context while needed."""
    run_until(server.has_pending_connections, timeout=timeout)
    s = server.next_pending_connection()
    assert s is not None
    return s


def pair(name):
    """A connected (server, client, accepted) triple on @name."""
    server = listen(name)
    client = connect(name)
    accepted = accept(server)
    return server, client, accepted


def bytes_of(gbytes):
    assert gbytes is not None
    data = gbytes.get_data()
    return bytes(data) if data is not None else b""


def read_exactly(sock, n, timeout=SAFETY_TIMEOUT, context=None):
    """Reads @n bytes through the main loop (ready-read driven)."""
    buf = bytearray()

    def cond():
        if sock.get_bytes_available() > 0:
            buf.extend(bytes_of(sock.read(n - len(buf))))
        return len(buf) >= n
    run_until(cond, timeout=timeout, context=context)
    return bytes(buf)


def stale_socket(path):
    """Leaves a socket file nobody listens on (what a crash leaves)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    return path


class ServerThread:
    """An Ls server living in a worker thread with its own GMainContext,
    pushed as the thread-default context while it runs. The handler
    callables run in that worker thread."""

    def __init__(self, name, options=None, on_socket=None, setup=None):
        self.name = name
        self.options = options
        self.on_socket = on_socket
        self.setup = setup
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.context = None
        self.loop = None
        self.server = None
        self.thread_ident = None
        self.signal_threads = []
        self.sockets = []
        self.accepted = 0  # connections taken, kept after stop()

    def start(self):
        self.thread.start()
        assert self.ready.wait(SAFETY_TIMEOUT), "server thread did not start"
        if self.error:
            raise self.error
        return self

    def _run(self):
        self.thread_ident = threading.get_ident()
        self.context = GLib.MainContext()
        self.context.push_thread_default()
        try:
            self.loop = GLib.MainLoop(self.context)
            self.server = Ls.LocalServer()
            if self.options is not None:
                self.server.set_socket_options(self.options)
            if self.setup:
                self.setup(self.server)
            self.server.connect("new-connection", self._on_new_connection)
            try:
                self.server.listen(self.name)
            except GLib.Error as e:
                self.error = e
                self.ready.set()
                return
            self.ready.set()
            self.loop.run()
            self.server.close()
            for s in self.sockets:
                s.abort()
            self.sockets = []
            self.server = None
        except BaseException as e:  # report to the test thread
            self.error = e
            self.ready.set()
        finally:
            self.context.pop_thread_default()

    def _on_new_connection(self, server):
        self.signal_threads.append(threading.get_ident())
        while server.has_pending_connections():
            s = server.next_pending_connection()
            self.accepted += 1
            self.sockets.append(s)
            if self.on_socket:
                self.on_socket(self, s)

    def invoke(self, func):
        """Runs func() in the worker thread's context."""
        src = GLib.idle_source_new()
        src.set_callback(lambda *a: func() and False)
        src.attach(self.context)

    def stop(self):
        if self.loop is not None:
            self.invoke(self.loop.quit)
        self.thread.join(SAFETY_TIMEOUT)
        assert not self.thread.is_alive(), "server thread did not stop"
        if self.error:
            raise self.error


def echo_lines(thread, sock):
    """on_socket handler: echoes every complete line back."""
    def on_ready_read(s):
        thread.signal_threads.append(threading.get_ident())
        while s.can_read_line():
            s.write(bytes_of(s.read_line(0)))
    sock.connect("ready-read", on_ready_read)
    on_ready_read(sock)


def echo_all(thread, sock):
    """on_socket handler: echoes every byte back."""
    def on_ready_read(s):
        thread.signal_threads.append(threading.get_ident())
        data = bytes_of(s.read_all())
        if data:
            s.write(data)
    sock.connect("ready-read", on_ready_read)
    on_ready_read(sock)


class LineProc:
    """A child process whose stdout is read line by line without Python's
    buffering (so nothing gets lost between readline() and communicate())."""

    def __init__(self, args, env=None):
        import subprocess
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=0, env=env)
        self.pid = self.proc.pid
        self._buf = b""
        self.lines = []  # every complete line read so far

    def _read_more(self, timeout):
        import select
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise AssertionError("no output within %.0f s; so far %r" % (timeout, self.lines))
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            rc = self.proc.wait()
            raise AssertionError("exited (rc %s) early; output %r, stderr %r"
                                 % (rc, self.lines, self.proc.stderr.read().decode(errors="replace")))
        self._buf += chunk

    def wait_for_line(self, prefix, timeout=SAFETY_TIMEOUT):
        """Returns the first not yet consumed line that starts with @prefix."""
        while True:
            while b"\n" in self._buf:
                raw, self._buf = self._buf.split(b"\n", 1)
                line = raw.decode("utf-8", errors="replace")
                self.lines.append(line)
                if line.startswith(prefix):
                    return line
            self._read_more(timeout)

    def poll(self):
        return self.proc.poll()

    def exited(self):
        return self.proc.poll() is not None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def finish(self, timeout=SAFETY_TIMEOUT):
        """Waits for the exit; returns (returncode, all stdout, stderr)."""
        import subprocess
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("did not exit: %r %r" % (self._buf + out, err))
        rest = (self._buf + out).decode("utf-8", errors="replace")
        self._buf = b""
        before = "".join(line + "\n" for line in self.lines)
        return self.proc.returncode, before + rest, err.decode("utf-8", errors="replace")
