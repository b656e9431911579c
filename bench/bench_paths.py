# SPDX-License-Identifier: LGPL-2.1-or-later
"""Paths and command lines as a results file should show them.

A results file under bench/results/ is read on other machines: a command
or a server binary written as /work/main/build-rel/bench/echo-ls names one
machine's directories. These helpers write a path inside this checkout
relative to its top (build-rel/bench/echo-ls: the commands are run from the
top of the checkout), and a path inside another git checkout (a server
built from another commit) as <checkout of COMMIT>/build-rel/bench/echo-ls.
Other paths (/usr/bin/..., /tmp/...) are left as they are.
"""

import os
import shlex
import subprocess

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _git_top(path):
    """(top directory, short commit) of the git checkout holding PATH, or None."""
    d = path
    while not os.path.isdir(d) and d != os.path.dirname(d):
        d = os.path.dirname(d)   # the file may be gone: its nearest directory
    try:
        out = subprocess.run(["git", "-C", d, "rev-parse", "--show-toplevel", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    return (lines[0], lines[1]) if out.returncode == 0 and len(lines) == 2 else None


def portable(path):
    """PATH relative to this checkout, or to the other checkout it is in."""
    absolute = os.path.abspath(path)
    if absolute == CHECKOUT or absolute.startswith(CHECKOUT + os.sep):
        return os.path.relpath(absolute, CHECKOUT)
    top = _git_top(absolute)
    if top is not None:
        return "<checkout of %s>/%s" % (top[1], os.path.relpath(absolute, top[0]))
    return path


def _portable_arg(arg):
    if arg.startswith("-"):
        return arg
    name, sep, value = arg.partition("=")
    if sep and name and "/" not in name:
        return name + "=" + portable(value) if "/" in value else arg   # --server NAME=PATH
    if "/" in arg or os.path.exists(arg):
        return portable(arg)
    return arg


def command_line(program, argv):
    """`bench/PROGRAM ARGS` as typed from the top of the checkout."""
    return " ".join(a if "<checkout of " in a else shlex.quote(a)
                    for a in ["bench/" + program] + [_portable_arg(a) for a in argv])
