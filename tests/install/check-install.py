#!/usr/bin/python3
# check-install.py: install the build into a staging directory and load Ls
# from there only, from Python and GJS (issue 27)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-install.py --meson MESON --build-dir DIR --prefix PREFIX
#          --libdir LIBDIR --datadir DATADIR --version X.Y.Z
#          --python PYTHON [--gjs GJS]
#
# `meson install --destdir` copies the build into a temporary directory (the
# real system is not touched). probe.py and probe.js then run with an
# environment that names only the staged tree (GI_TYPELIB_PATH to its
# girepository-1.0, LD_LIBRARY_PATH to its libdir, nothing of the build
# tree), exchange a few bytes, and report which typelib GI loaded and which
# libls-1.0.so the process mapped (/proc/self/maps): both must be the staged
# ones. This is what README.md tells a user to do for a /usr/local install.
#
# It also checks README.md's other claim: with --prefix=/usr the typelib
# directory is one GI searches by default, so nothing needs setting.

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

failures = []


def check(cond, what):
    print('%s: %s' % ('ok' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)


def staged(stage, path):
    """@path (absolute, under the prefix) inside the staging directory."""
    return os.path.join(stage, path.lstrip('/'))


def clean_env(**paths):
    """A minimal environment: nothing that points into the build tree."""
    env = {
        'PATH': '/usr/bin:/bin',
        'HOME': os.environ.get('HOME', '/'),
        'LANG': 'C.UTF-8',
        'TMPDIR': '/tmp',
    }
    env.update(paths)
    return env


def probe(name, cmd, env, stage, version):
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=120, check=False)
    check(res.returncode == 0, '%s probe ran (exit %d) %s' % (name, res.returncode, res.stderr.strip()))
    if res.returncode != 0:
        return
    try:
        facts = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        check(False, '%s probe printed JSON: %r' % (name, res.stdout))
        return
    stage = os.path.realpath(stage) + '/'
    typelib = os.path.realpath(facts['typelib'] or '')
    check(typelib.startswith(stage), '%s loaded the staged typelib (%s)' % (name, facts['typelib']))
    libs = facts['libraries']
    check(len(libs) > 0 and all(os.path.realpath(p).startswith(stage) for p in libs),
          '%s mapped only the staged library (%s)' % (name, ', '.join(libs) or 'none'))
    check(facts['version'] == version, '%s runs version %s (%s)' % (name, version, facts['version']))
    check(facts['received'] == 'hello', '%s exchanged bytes (%r)' % (name, facts['received']))


def main(argv):
    parser = argparse.ArgumentParser(description='Check a staged install of Ls.')
    for opt in ('meson', 'build-dir', 'prefix', 'libdir', 'datadir', 'version', 'python'):
        parser.add_argument('--' + opt, required=True)
    parser.add_argument('--gjs')
    args = parser.parse_args(argv[1:])

    libdir = os.path.join(args.prefix, args.libdir)
    girdir = os.path.join(libdir, 'girepository-1.0')
    datadir = os.path.join(args.prefix, args.datadir)

    stage = tempfile.mkdtemp(prefix='ls-stage-')
    try:
        res = subprocess.run([args.meson, 'install', '-C', args.build_dir, '--no-rebuild',
                              '--destdir', stage],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False)
        check(res.returncode == 0, 'meson install --destdir %s (exit %d)' % (stage, res.returncode))
        if res.returncode != 0:
            print(res.stdout)
            return 1

        for path in (os.path.join(girdir, 'Ls-1.0.typelib'),
                     os.path.join(libdir, 'libls-1.0.so.0'),
                     os.path.join(datadir, 'gir-1.0', 'Ls-1.0.gir'),
                     os.path.join(libdir, 'pkgconfig', 'ls-1.0.pc')):
            check(os.path.exists(staged(stage, path)), 'installed %s' % path)

        env = clean_env(GI_TYPELIB_PATH=staged(stage, girdir),
                        LD_LIBRARY_PATH=staged(stage, libdir))
        probe('python', [args.python, os.path.join(HERE, 'probe.py')], env, stage, args.version)
        if args.gjs:
            probe('gjs', [args.gjs, os.path.join(HERE, 'probe.js')], env, stage, args.version)
        else:
            print('skip: no gjs')

        # With --prefix=/usr the same libdir puts the typelib where GI looks.
        if not os.path.isabs(args.libdir):
            res = subprocess.run(
                [args.python, '-c',
                 'import gi; gi.require_version("GIRepository", "2.0"); '
                 'from gi.repository import GIRepository; '
                 'print("\\n".join(GIRepository.Repository.get_search_path()))'],
                env=clean_env(), stdout=subprocess.PIPE, text=True, check=False)
            search = res.stdout.split()
            usr_girdir = os.path.join('/usr', args.libdir, 'girepository-1.0')
            check(usr_girdir in search,
                  'with --prefix=/usr the typelib goes to %s, which GI searches (%s)'
                  % (usr_girdir, ' '.join(search)))
            print('note: with this build\'s --prefix=%s, GI %s %s by default' % (
                args.prefix, 'searches' if girdir in search else 'does not search', girdir))
    finally:
        shutil.rmtree(stage, ignore_errors=True)

    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
