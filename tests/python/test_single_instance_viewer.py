# test_single_instance_viewer.py: examples/ls-viewer, a single-instance GTK 4
# application built on Ls.SingleInstance, run on GTK's Broadway backend
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by examples/meson.build (suite "examples") with LS_VIEWER set to the
# built program. The viewer prints what it does; the test launches it twice
# (and more), checks what the first instance shows, and that no socket file
# is left once it quits. It skips only when the display backend cannot start.

import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import time

import pytest

from test_single_instance import Launch

VIEWER = os.environ.get("LS_VIEWER")
BROADWAYD = shutil.which("gtk4-broadwayd")
APP_ID = "org.example.LsViewer"
START_TIMEOUT = 20.0


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def display(tmp_short):
    """A private Broadway display: gtk4-broadwayd listening on a unix socket
    in a private XDG_RUNTIME_DIR (and on a loopback port for its web page)."""
    assert VIEWER and os.path.exists(VIEWER), "LS_VIEWER must name the built ls-viewer"
    if BROADWAYD is None:
        pytest.skip("gtk4-broadwayd (Debian package libgtk-4-bin) is not installed: "
                    "no display backend to run a GTK 4 program on")
    runtime = os.path.join(tmp_short, "run")
    os.mkdir(runtime, 0o700)
    failures = []
    for _attempt in range(3):
        number = random.randrange(100, 900)
        proc = subprocess.Popen([BROADWAYD, "--address", "127.0.0.1", "--port", str(free_tcp_port()),
                                 ":%d" % number],
                                env=dict(os.environ, XDG_RUNTIME_DIR=runtime),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Broadway display N listens on $XDG_RUNTIME_DIR/broadway<N+1>.socket.
        sock = os.path.join(runtime, "broadway%d.socket" % (number + 1))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not os.path.exists(sock):
            time.sleep(0.02)
        if proc.poll() is None and os.path.exists(sock):
            break
        proc.kill()
        out = proc.communicate()[0].decode(errors="replace")
        failures.append("display :%d: exit %s, %s" % (number, proc.returncode, out.strip()))
        proc = None
    if proc is None:
        pytest.skip("the Broadway display backend (gtk4-broadwayd) could not start: "
                    + "; ".join(failures))
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, GDK_BACKEND="broadway",
               BROADWAY_DISPLAY=":%d" % number)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    try:
        yield env
    finally:
        proc.kill()
        proc.communicate()


def viewer(env, cwd, *args):
    return Launch([VIEWER] + list(args), cwd=cwd, env=env)


def run_secondary(env, cwd, *args):
    result = subprocess.run([VIEWER] + list(args), cwd=cwd, env=env, capture_output=True,
                            timeout=START_TIMEOUT)
    return result.returncode, result.stdout.decode().splitlines(), result.stderr.decode()


def quit_with_sigterm(launch):
    """SIGTERM quits a primary the way closing it does: it releases."""
    launch.proc.send_signal(signal.SIGTERM)
    launch.expect("released")
    assert launch.finish()[0] == 0


def make_files(root):
    os.mkdir(os.path.join(root, "sub"))
    with open(os.path.join(root, "first.txt"), "w") as f:
        f.write("the first file\n")
    with open(os.path.join(root, "sub", "second.txt"), "w") as f:
        f.write("the second file\n")


def test_second_launch_shows_its_file_in_the_first_window(display, tmp_short):
    make_files(tmp_short)
    socket_path = os.path.join(display["XDG_RUNTIME_DIR"], APP_ID)
    primary = viewer(display, tmp_short, "first.txt")
    try:
        primary.expect("primary on " + socket_path)
        primary.expect("showing " + os.path.join(tmp_short, "first.txt"))
        assert stat.S_ISSOCK(os.lstat(socket_path).st_mode)

        # A relative name, from another directory: the first instance
        # resolves it against the second launch's working directory.
        rc, out, err = run_secondary(display, os.path.join(tmp_short, "sub"), "second.txt")
        assert (rc, out) == (0, ["forwarded to the running instance"]), err
        primary.expect("forwarded command line received")
        primary.expect("showing " + os.path.join(tmp_short, "sub", "second.txt"))

        # A third launch asks it to quit: it releases, no socket is left.
        rc, out, err = run_secondary(display, tmp_short, "--quit")
        assert (rc, out) == (0, ["forwarded to the running instance"]), err
        primary.expect("forwarded command line received")
        primary.expect("released")
        rc, rest = primary.finish()
        assert rc == 0 and rest == [], (rc, rest, primary.err)
    finally:
        primary.kill()
    assert not os.path.exists(socket_path)

    # The next launch is the primary again.
    again = viewer(display, tmp_short)
    try:
        again.expect("primary on " + socket_path)
        quit_with_sigterm(again)
    finally:
        again.kill()
    assert not os.path.exists(socket_path)


def test_a_killed_viewer_is_replaced(display, tmp_short):
    make_files(tmp_short)
    socket_path = os.path.join(display["XDG_RUNTIME_DIR"], APP_ID)
    first = viewer(display, tmp_short)
    try:
        first.expect("primary on " + socket_path)
    finally:
        first.kill()   # SIGKILL
    assert stat.S_ISSOCK(os.lstat(socket_path).st_mode)   # left behind, stale

    second = viewer(display, tmp_short, "first.txt")
    try:
        second.expect("primary on " + socket_path)
        second.expect("showing " + os.path.join(tmp_short, "first.txt"))
        quit_with_sigterm(second)
    finally:
        second.kill()
    assert not os.path.exists(socket_path)
