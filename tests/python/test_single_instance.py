# test_single_instance.py: Ls.SingleInstance from PyGObject (issue 26), and
# against a Qt 5 program that plays QtSingleApplication's QtLocalPeer
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Launches are subprocesses (single_instance_peer.py; the Qt peer is
# tests/test-single-instance-qt-peer.cpp, built when Qt 5 is found); every
# test has its own short TMPDIR, where relative names and Qt's files land.

import os
import select
import signal
import stat
import subprocess

import pytest

from conftest import HERE, PYTHON, SAFETY_TIMEOUT, Gio, GLib, Ls, assert_ls_error, run_until

E = Ls.SocketError
P = Ls.SingleInstanceProtocol
PROTOCOLS = {"ls": P.LS, "qt": P.QT_LOCAL_PEER}
APP_ID = "org.example.PyTest"
PEER = os.path.join(HERE, "single_instance_peer.py")
QT_PEER = os.environ.get("LS_QT_LOCAL_PEER")
PROCESSES = 16
ROUNDS = 6

needs_qt = pytest.mark.skipif(not QT_PEER or not os.path.exists(QT_PEER),
                              reason="the Qt 5 QtLocalPeer program was not built (no Qt 5)")


def socket_path(instance):
    name = instance.props.server_name
    return name if name.startswith("/") else os.path.join(os.environ["TMPDIR"], name)


class Launch:
    """A subprocess whose output lines are read without blocking the test
    beyond SAFETY_TIMEOUT; stdin is a pipe the test may write or close."""

    def __init__(self, args, pass_fds=(), cwd=None, env=None):
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, pass_fds=pass_fds,
                                     cwd=cwd, env=env)
        self.buf = b""
        self.lines = []

    def line(self, timeout=SAFETY_TIMEOUT):
        """The next output line."""
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not r:
                raise AssertionError("no output within %.0f s; so far %r" % (timeout, self.lines))
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError("exited early (rc %s): %r %s" % (
                    self.proc.wait(), self.lines, self.proc.stderr.read().decode()))
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        line = raw.decode()
        self.lines.append(line)
        return line

    def expect(self, text):
        line = self.line()
        assert line == text, "expected %r, got %r (stderr %s)" % (text, line, self.stderr_now())
        return line

    def stderr_now(self):
        r, _, _ = select.select([self.proc.stderr], [], [], 0)
        return os.read(self.proc.stderr.fileno(), 65536).decode() if r else ""

    def close_stdin(self):
        self.proc.stdin.close()
        self.proc.stdin = None   # communicate() must not touch it

    def send_line(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self, timeout=SAFETY_TIMEOUT):
        """Waits for the exit; returns (returncode, remaining lines)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("did not exit: %r %r" % (self.lines, err))
        rest = (self.buf + out).decode().splitlines()
        self.buf = b""
        self.lines += rest
        self.err = err.decode()
        return self.proc.returncode, rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def ls_launch(protocol, *args, message="", pass_fds=()):
    return Launch([PYTHON, PEER, "--id", APP_ID, "--protocol", protocol]
                  + list(args) + ["--", message], pass_fds=pass_fds)


def qt_launch(message="", expect=0, timeout=30000, barrier=False):
    env_prefix = ["env", "QT_PEER_BARRIER=1"] if barrier else []
    return Launch(env_prefix + [QT_PEER, "run", APP_ID, message.encode().hex(), str(expect),
                                str(timeout)])


@pytest.fixture(autouse=True)
def private_tmpdir(tmpdir_env):
    return tmpdir_env


@pytest.fixture(params=["ls", "qt"])
def protocol(request):
    return request.param


def crash(launch):
    """Waits for @launch to become the primary, then SIGKILLs it: its socket
    stays behind, stale."""
    try:
        launch.expect("primary")
    finally:
        launch.kill()


def new_instance(protocol, id=APP_ID):
    return Ls.SingleInstance.new(id, PROTOCOLS[protocol])


def registered(protocol, primary):
    """A registered instance, asserting its role."""
    inst = new_instance(protocol)
    assert inst.register(None) is True
    assert inst.props.is_primary is primary
    return inst


def send_async(instance, text):
    """send_message_async through the main loop; returns (ok, error)."""
    result = []

    def done(obj, res):
        try:
            result.append((obj.send_message_finish(res), None))
        except GLib.Error as e:
            result.append((False, e))
    instance.send_message_async(GLib.Bytes.new(text.encode()), None, done)
    assert not result, "the callback ran inside the call"
    run_until(lambda: result)
    return result[0]


class Inbox:
    def __init__(self, instance):
        self.messages = []
        instance.connect("message-received",
                         lambda _i, b: self.messages.append(bytes(b.get_data() or b"")))


# --------------------------------------------------------------------------
# Properties, names


def test_properties_and_defaults():
    inst = Ls.SingleInstance.new("app", P.LS)
    assert inst.props.id == "app"
    assert inst.props.protocol == P.LS
    assert inst.props.server_name == "app"
    assert inst.props.timeout == 5000
    assert inst.props.is_primary is False
    assert inst.get_server_name() == "app"
    inst.set_timeout(-1)
    assert inst.get_timeout() == -1
    notified = []
    inst.connect("notify::timeout", lambda *a: notified.append(1))
    inst.props.timeout = 10
    inst.props.timeout = 10
    assert notified == [1]
    # Construct-only, like the C API's constructor.
    inst = Ls.SingleInstance(id="x", protocol=P.QT_LOCAL_PEER)
    assert inst.props.server_name.startswith("qtsingleapp-x-")


@pytest.mark.parametrize("app_id", ["org.example.Viewer", "123456789", "é日本 app",
                                    "a1b2c3d4e5f6g7", "x"])
def test_qt_name_is_qtlocalpeers(app_id):
    """The name QtLocalPeer derives: the first six ASCII letters, Qt's own
    qChecksum of the UTF-8 id (PyQt5's), the uid."""
    QtCore = pytest.importorskip("PyQt5.QtCore")
    inst = Ls.SingleInstance.new(app_id, P.QT_LOCAL_PEER)
    prefix = "".join(c for c in app_id if c.isascii() and c.isalpha())[:6]
    checksum = QtCore.qChecksum(app_id.encode("utf-8"))
    assert inst.props.server_name == "qtsingleapp-%s-%x-%x" % (prefix, checksum, os.getuid())


@needs_qt
@pytest.mark.parametrize("app_id", ["org.example.Viewer", "é日本 app", "a1b2c3d4e5f6g7"])
def test_qt_name_and_lock_file_match_the_qt_program(app_id, private_tmpdir):
    out = subprocess.run([QT_PEER, "name", app_id], capture_output=True, check=True,
                         timeout=SAFETY_TIMEOUT).stdout.decode().splitlines()
    inst = Ls.SingleInstance.new(app_id, P.QT_LOCAL_PEER)
    assert inst.props.server_name == out[0]
    # The primary holds Qt's lock file and listens at Qt's path.
    inst.register(None)
    assert inst.props.is_primary
    assert os.path.exists(out[1])
    assert out[1] == os.path.join(private_tmpdir, out[0] + "-lockfile")
    assert stat.S_ISSOCK(os.lstat(os.path.join(private_tmpdir, out[0])).st_mode)
    inst.release()


# --------------------------------------------------------------------------
# Roles in one process


def test_roles_and_messages(protocol):
    primary = new_instance(protocol)
    notified = []
    primary.connect("notify::is-primary", lambda *a: notified.append(primary.props.is_primary))
    assert primary.register(None) is True
    assert primary.props.is_primary and notified == [True]
    path = socket_path(primary)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700
    inbox = Inbox(primary)

    secondary = registered(protocol, False)
    for text in ["hello", "", "é\n\x00"]:
        assert send_async(secondary, text) == (True, None)
    assert inbox.messages == [b"hello", b"", "é\n\x00".encode()]

    with pytest.raises(GLib.Error) as excinfo:
        primary.send_message(GLib.Bytes.new(b"x"), None)
    assert_ls_error(excinfo, E.OPERATION)
    assert path in excinfo.value.message

    primary.release()
    assert notified == [True, False]
    assert not os.path.exists(path)
    secondary.props.timeout = 100
    ok, error = send_async(secondary, "nobody")   # nobody serves any more
    assert not ok and error.matches(Ls.socket_error_quark(), E.SOCKET_TIMEOUT)


def test_register_async(protocol):
    inst = new_instance(protocol)
    result = []
    inst.register_async(None, lambda obj, res: result.append(obj.register_finish(res)))
    assert not result
    run_until(lambda: result)
    assert result == [True] and inst.props.is_primary


def test_sync_send_blocks_only_itself(protocol):
    """A primary served by a thread's loop answers a sync send."""
    import threading
    box = {}
    ready = threading.Event()

    def primary_thread():
        ctx = GLib.MainContext()
        ctx.push_thread_default()
        loop = GLib.MainLoop(ctx)
        inst = new_instance(protocol)
        inst.register(None)
        box["primary"] = inst.props.is_primary

        def on_message(_inst, message):
            box["message"] = bytes(message.get_data())
            loop.quit()
        inst.connect("message-received", on_message)
        ready.set()
        loop.run()
        inst.release()
        ctx.pop_thread_default()

    t = threading.Thread(target=primary_thread)
    t.start()
    assert ready.wait(SAFETY_TIMEOUT)
    secondary = new_instance(protocol)
    secondary.register(None)
    assert secondary.send_message(GLib.Bytes.new(b"sync"), None) is True
    t.join(SAFETY_TIMEOUT)
    assert box == {"primary": True, "message": b"sync"}


def test_not_a_socket_is_an_error(protocol):
    inst = new_instance(protocol)
    path = socket_path(inst)
    with open(path, "w") as f:
        f.write("precious")
    with pytest.raises(GLib.Error) as excinfo:
        inst.register(None)
    assert_ls_error(excinfo, E.ADDRESS_IN_USE)
    assert "register" in excinfo.value.message and path in excinfo.value.message
    assert open(path).read() == "precious"


def test_handlers_may_release_drop_or_reregister(protocol):
    for action in ["release", "drop", "reregister"]:
        holder = {"inst": new_instance(protocol)}
        holder["inst"].register(None)
        path = socket_path(holder["inst"])
        calls = []

        def on_message(inst, _message, action=action):
            calls.append(action)
            if action == "release":
                inst.release()
            elif action == "drop":
                holder.pop("inst")
            else:
                inst.release()
                assert inst.register(None) and inst.props.is_primary

        holder["inst"].connect("message-received", on_message)
        secondary = new_instance(protocol)
        secondary.register(None)
        assert send_async(secondary, "one") == (True, None)
        assert calls == [action]
        if action == "reregister":
            assert send_async(secondary, "two") == (True, None)
            assert calls == [action, action]
            holder["inst"].release()
        else:
            import gc
            gc.collect()
            assert not os.path.exists(path)


def test_callbacks_may_drop_their_instance(protocol):
    primary = new_instance(protocol)
    primary.register(None)
    inbox = Inbox(primary)
    done = []

    def callback(obj, res):
        done.append(obj.send_message_finish(res))
        obj.release()

    secondary = new_instance(protocol)
    secondary.register(None)
    secondary.send_message_async(GLib.Bytes.new(b"cb"), None, callback)
    del secondary   # the pending call keeps it alive
    run_until(lambda: done)
    assert done == [True] and inbox.messages == [b"cb"]
    primary.release()


def test_cancel_while_retrying(protocol):
    """Someone holds the election lock and never listens: the secondary
    retries until cancelled."""
    holder = ls_launch(protocol, "--hold-lock", "60")
    try:
        holder.expect("locked")
        inst = registered(protocol, False)
        inst.props.timeout = -1
        cancellable = Gio.Cancellable()
        result = []

        def done(obj, res):
            try:
                obj.send_message_finish(res)
                result.append(None)
            except GLib.Error as e:
                result.append(e)
        inst.send_message_async(GLib.Bytes.new(b"x"), cancellable, done)
        GLib.timeout_add(50, lambda: cancellable.cancel() or False)
        run_until(lambda: result)
        assert result[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
        # With a timeout instead: SOCKET_TIMEOUT.
        inst.props.timeout = 100
        with pytest.raises(GLib.Error) as excinfo:
            inst.send_message(GLib.Bytes.new(b"x"), None)
        assert_ls_error(excinfo, E.SOCKET_TIMEOUT)
    finally:
        holder.kill()


# --------------------------------------------------------------------------
# Processes


def launch_round(make_launches):
    """Starts launches that wait on a shared barrier pipe, releases them all
    at once, and returns them."""
    rfd, wfd = os.pipe()
    try:
        launches = make_launches(rfd)
        for launch in launches:
            launch.expect("ready")
        os.close(wfd)   # everyone registers now
        wfd = None
    finally:
        os.close(rfd)
        if wfd is not None:
            os.close(wfd)
    return launches


def check_round(launches, senders):
    """Exactly one primary; every secondary sent; the primary received each
    message once. Returns the primary."""
    firsts = [launch.line() for launch in launches]
    primaries = [launch for launch, first in zip(launches, firsts) if first == "primary"]
    assert len(primaries) == 1, firsts
    assert firsts.count("secondary") + firsts.count("sent") == len(launches) - 1, firsts
    primary = primaries[0]
    received = sorted(bytes.fromhex(primary.line().split()[1]).decode()
                      for _ in range(len(launches) - 1))
    expected = sorted(text for launch, text in senders if launch is not primary)
    assert received == expected
    return primary


def test_sixteen_launches_at_once(protocol):
    killed = 0
    probe = new_instance(protocol)
    path = socket_path(probe)
    for round_ in range(ROUNDS):
        kill_primary = round_ % 2 == 1

        def make(rfd):
            return [ls_launch(protocol, "--barrier-fd", str(rfd), "--expect",
                              str(PROCESSES - 1), "--linger",
                              message="m%d-%d" % (round_, i), pass_fds=(rfd,))
                    for i in range(PROCESSES)]
        launches = launch_round(make)
        try:
            senders = [(launch, "m%d-%d" % (round_, i)) for i, launch in enumerate(launches)]
            primary = check_round(launches, senders)
            primary.expect("done")
            for launch in launches:
                if launch is not primary:
                    rc, rest = launch.finish()
                    assert rc == 0 and rest == ["sent"], (rc, rest, launch.err)
            if kill_primary:
                primary.proc.send_signal(signal.SIGKILL)
                primary.proc.wait()
                killed += 1
                assert stat.S_ISSOCK(os.lstat(path).st_mode)   # left stale
            else:
                primary.close_stdin()
                assert primary.finish()[0] == 0
                assert not os.path.exists(path)
        finally:
            for launch in launches:
                launch.kill()
    assert killed == ROUNDS // 2


def test_primary_killed_next_launch_is_primary(protocol):
    crash(ls_launch(protocol))
    inst = new_instance(protocol)
    assert stat.S_ISSOCK(os.lstat(socket_path(inst)).st_mode)
    inst.register(None)
    assert inst.props.is_primary
    inbox = Inbox(inst)
    second = ls_launch(protocol, message="after the crash")
    try:
        second.expect("secondary")
        run_until(lambda: inbox.messages)
        assert second.finish() == (0, ["sent"])
    finally:
        second.kill()
    assert inbox.messages == [b"after the crash"]


def test_blocked_primary_times_the_secondary_out(protocol):
    primary = ls_launch(protocol, "--block", "--expect", "1")
    try:
        primary.expect("primary")
        inst = registered(protocol, False)
        inst.props.timeout = 300
        with pytest.raises(GLib.Error) as excinfo:
            inst.send_message(GLib.Bytes.new(b"lost"), None)
        assert_ls_error(excinfo, E.SOCKET_TIMEOUT)
        assert "300 ms" in excinfo.value.message
        primary.send_line("go")
        inst.props.timeout = 30000
        assert inst.send_message(GLib.Bytes.new(b"second"), None) is True
        rc, rest = primary.finish()
        # Only the acknowledged message is announced.
        assert rc == 0 and rest == ["received " + b"second".hex()]
    finally:
        primary.kill()


def test_lock_held_two_seconds_before_bind(protocol):
    late = ls_launch(protocol, "--hold-lock", "2", "--expect", "1")
    try:
        late.expect("locked")
        inst = registered(protocol, False)
        inst.props.timeout = 30000
        assert inst.send_message(GLib.Bytes.new(b"through the window"), None) is True
        late.expect("primary")
        assert late.finish() == (0, ["received " + b"through the window".hex()])
    finally:
        late.kill()


# --------------------------------------------------------------------------
# Qt 5's QtLocalPeer


@needs_qt
def test_qt_primary_ls_secondary():
    qt = qt_launch(expect=2)
    try:
        qt.expect("primary")
        inst = registered("qt", False)
        assert inst.send_message(GLib.Bytes.new("héllo".encode()), None) is True
        assert send_async(inst, "second") == (True, None)
        assert qt.finish() == (0, ["received " + "héllo".encode().hex(),
                                   "received " + b"second".hex()])
    finally:
        qt.kill()
    # The Qt primary removed its socket; an Ls launch is primary now.
    inst = registered("qt", True)


@needs_qt
def test_ls_primary_qt_secondary():
    inst = registered("qt", True)
    inbox = Inbox(inst)
    for text in ["from qt", "é日本", ""]:
        qt = qt_launch(message=text)
        try:
            # The Qt side blocks in its calls: our loop must keep serving.
            run_until(lambda: qt.proc.poll() is not None)
            assert qt.finish() == (0, ["sent"])
        finally:
            qt.kill()
    assert inbox.messages == [b"from qt", "é日本".encode(), b""]
    inst.release()
    assert not os.path.exists(socket_path(inst))


@needs_qt
def test_qt_primary_killed_ls_takes_over():
    crash(qt_launch(expect=1))
    inst = new_instance("qt")
    assert stat.S_ISSOCK(os.lstat(socket_path(inst)).st_mode)
    inst.register(None)
    assert inst.props.is_primary
    inbox = Inbox(inst)
    qt = qt_launch(message="to the new primary")
    try:
        run_until(lambda: qt.proc.poll() is not None)
        assert qt.finish() == (0, ["sent"])
    finally:
        qt.kill()
    assert inbox.messages == [b"to the new primary"]


@needs_qt
def test_ls_primary_killed_qt_takes_over():
    crash(ls_launch("qt"))
    qt = qt_launch(expect=1)
    try:
        qt.expect("primary")
        inst = registered("qt", False)
        assert inst.send_message(GLib.Bytes.new(b"to qt"), None) is True
        assert qt.finish() == (0, ["received " + b"to qt".hex()])
    finally:
        qt.kill()


@needs_qt
def test_qt_and_ls_launched_at_once():
    """Eight Qt and eight Ls launches released together: one primary (Qt or
    Ls), and it gets every other launch's message once."""
    for round_ in range(4):
        def make(rfd):
            launches = []
            for i in range(PROCESSES):
                text = "r%d-%d" % (round_, i)
                if i % 2:
                    launches.append(ls_launch("qt", "--barrier-fd", str(rfd), "--expect",
                                              str(PROCESSES - 1), message=text,
                                              pass_fds=(rfd,)))
                else:
                    launches.append(qt_launch(message=text, expect=PROCESSES - 1,
                                              barrier=True))
            return launches
        rfd, wfd = os.pipe()
        launches = []
        try:
            launches = make(rfd)
            for launch in launches:
                launch.expect("ready")
            for launch in launches:
                if launch.proc.args[0] == "env":
                    launch.close_stdin()   # the Qt launches' barrier
            os.close(wfd)
            wfd = None
            senders = [(launch, "r%d-%d" % (round_, i)) for i, launch in enumerate(launches)]
            primary = check_round(launches, senders)
            for launch in launches:
                rc, rest = launch.finish()
                assert rc == 0, (rc, rest, launch.err)
                if launch is not primary:
                    assert launch.lines[-1] == "sent"
        finally:
            os.close(rfd)
            if wfd is not None:
                os.close(wfd)
            for launch in launches:
                launch.kill()
