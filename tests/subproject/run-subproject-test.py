#!/usr/bin/env python3
# run-subproject-test.py: build and run a project that uses Ls as a subproject
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run-subproject-test.py MESON NINJA LS-SOURCE-ROOT WORK-DIR
#
# Copies tests/subproject/project into WORK-DIR, puts ls.wrap into its
# subprojects/ and a symlink subprojects/ls -> LS-SOURCE-ROOT next to it (so
# no download: meson finds the wrap's directory already there), then runs
# meson setup, ninja and meson test in it. Exit status 0 only if all pass.

import os
import shutil
import subprocess
import sys

meson, ninja, source_root, work = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))

shutil.rmtree(work, ignore_errors=True)
project = os.path.join(work, 'project')
shutil.copytree(os.path.join(here, 'project'), project,
                ignore=shutil.ignore_patterns('ls.wrap'))
subprojects = os.path.join(project, 'subprojects')
os.makedirs(subprojects)
shutil.copy(os.path.join(here, 'project', 'ls.wrap'), subprojects)
os.symlink(os.path.abspath(source_root), os.path.join(subprojects, 'ls'))

build = os.path.join(work, 'build')
env = dict(os.environ)
# The parent build's own settings must not leak into the child's.
for var in ('MESON_BUILD_ROOT', 'MESON_SOURCE_ROOT', 'MESONINTROSPECT',
            'MESON_SUBDIR', 'LD_LIBRARY_PATH'):
    env.pop(var, None)

steps = [
    [meson, 'setup', '--wrap-mode=nodownload', '--force-fallback-for=ls-1.0',
     build, project],
    [ninja, '-C', build],
    [meson, 'test', '-C', build, '--print-errorlogs', '-v'],
]
for step in steps:
    print('$ ' + ' '.join(step), flush=True)
    if subprocess.run(step, env=env).returncode != 0:
        print(f'FAILED: {" ".join(step)}')
        sys.exit(1)
print('subproject build and test passed')
