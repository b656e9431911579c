#!/usr/bin/env python3
# check-availability.py: the availability macros warn as GLib's do
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-availability.py --cc CC [--cc ARG]... --pkg-config PKG_CONFIG
#            -I DIR [-I DIR]... SOURCE
#
# Compiles SOURCE (tests/version/uses-api.c) with only the consumer's include
# directories (the ones holding ls/) and -Werror=deprecated-declarations,
# under several LS_VERSION_MIN_REQUIRED / LS_VERSION_MAX_ALLOWED settings,
# and checks which combinations compile, and that no private header is
# reachable from those directories. Prints TAP.

import argparse
import os
import shlex
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument('--cc', action='append', required=True)
parser.add_argument('--pkg-config', required=True)
parser.add_argument('-I', dest='includes', action='append', default=[])
parser.add_argument('source')
args = parser.parse_args()

glib_cflags = shlex.split(subprocess.run(
    [args.pkg_config, '--cflags', 'gio-2.0'],
    check=True, capture_output=True, text=True).stdout)

base = (args.cc + ['-std=gnu11', '-fsyntax-only', '-Werror=deprecated-declarations']
        + ['-I' + d for d in args.includes] + glib_cflags + [args.source])

# (description, defines, should compile, texts the diagnostics must contain)
CASES = [
    ('1.0 API, default range', [], True, None),
    ('1.2 API, default range', ['USE_API_1_2'], True, None),
    ('1.0 API with MAX_ALLOWED=1.0',
     ['LS_VERSION_MAX_ALLOWED=LS_VERSION_1_0'], True, None),
    ('1.2 API with MAX_ALLOWED=1.0 warns',
     ['USE_API_1_2', 'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_0'], False,
     ['ls_get_major_version', 'is deprecated: Not available before 1.2']),
    ('1.2 API with MIN_REQUIRED=MAX_ALLOWED=1.0 warns',
     ['USE_API_1_2', 'LS_VERSION_MIN_REQUIRED=LS_VERSION_1_0',
      'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_0'], False,
     ['ls_get_major_version', 'Not available before 1.2']),
    ('1.2 API with MAX_ALLOWED=1.2',
     ['USE_API_1_2', 'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_2'], True, None),
    ('1.2 API with MAX_ALLOWED=1.0 and LS_DISABLE_DEPRECATION_WARNINGS',
     ['USE_API_1_2', 'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_0',
      'LS_DISABLE_DEPRECATION_WARNINGS'], True, None),
    ('deprecated-in-1.2 symbol with the default MIN_REQUIRED warns',
     ['USE_DEPRECATED_IN_1_2'], False,
     ['ls_test_old_server_new', 'is deprecated: Use', 'ls_local_server_new']),
    ('deprecated-in-1.2 symbol with MIN_REQUIRED=1.0',
     ['USE_DEPRECATED_IN_1_2', 'LS_VERSION_MIN_REQUIRED=LS_VERSION_1_0'], True, None),
    ('1.4 API, default range', ['USE_API_1_4'], True, None),
    ('1.4 API with MAX_ALLOWED=1.2 warns',
     ['USE_API_1_4', 'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_2'], False,
     ['ls_test_future', 'Not available before 1.4']),
    ('MAX_ALLOWED below MIN_REQUIRED is an error',
     ['LS_VERSION_MIN_REQUIRED=LS_VERSION_1_2',
      'LS_VERSION_MAX_ALLOWED=LS_VERSION_1_0'], False,
     ['LS_VERSION_MAX_ALLOWED must be >= LS_VERSION_MIN_REQUIRED']),
    # Consumers see the public headers only: a private one is not found.
    ('a private header is not reachable by name',
     ['INCLUDE_PRIVATE_HEADER'], False,
     ['ls-event-core-private.h']),
]

print(f'1..{len(CASES)}')
failures = 0
for n, (what, defines, should_compile, expect) in enumerate(CASES, 1):
    cmd = base + ['-D' + d for d in defines]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL='C'))
    compiled = proc.returncode == 0
    ok = compiled == should_compile and all(t in proc.stderr for t in expect or [])
    if not ok:
        failures += 1
        print(f'not ok {n} - {what}')
        print('# ' + shlex.join(cmd))
        print('# compiled' if compiled else '# did not compile')
        for line in proc.stderr.splitlines():
            print('# ' + line)
    else:
        print(f'ok {n} - {what}')
sys.exit(1 if failures else 0)
