# test_version.py: the runtime version seen through the typelib
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess

import pytest

from conftest import Ls

PROJECT_VERSION = os.environ["LS_PROJECT_VERSION"]


def runtime_version():
    return (Ls.get_major_version(), Ls.get_minor_version(), Ls.get_micro_version())


def test_runtime_version_is_the_project_version():
    expected = tuple(int(part) for part in PROJECT_VERSION.split("."))
    assert runtime_version() == expected


def test_version_functions_return_ints():
    for value in runtime_version():
        assert isinstance(value, int) and value >= 0


def test_header_constants_match_runtime():
    # LS_MAJOR_VERSION etc. are in the GIR as constants.
    assert (Ls.MAJOR_VERSION, Ls.MINOR_VERSION, Ls.MICRO_VERSION) == runtime_version()


@pytest.mark.skipif(shutil.which("pkg-config") is None, reason="no pkg-config")
def test_runtime_version_is_the_pkg_config_modversion():
    build_root = os.environ["LS_BUILD_ROOT"]
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.join(build_root, "meson-uninstalled"))
    modversion = subprocess.run(["pkg-config", "--modversion", "ls-1.0"],
                                env=env, check=True, capture_output=True,
                                text=True).stdout.strip()
    assert modversion == "%d.%d.%d" % runtime_version()
