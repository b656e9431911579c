#!/usr/bin/env python3
# check-abi.py: compare the exported symbols of libls-1.0.so with lib/ls.symbols
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-abi.py [--nm NM] LIBRARY SYMBOLS-FILE
#        check-abi.py [--nm NM] --update LIBRARY SYMBOLS-FILE
#
# SYMBOLS-FILE lists the dynamic symbols the library exports (`nm -D
# --defined-only`), one a line, sorted; lines starting with '#' are comments.
# The check fails (exit 1) if a listed symbol is no longer exported: that
# would break programs linked against an older libls-1.0.so.0. New symbols
# are allowed and printed, as a reminder to add them to the list.
#
# To update the list after adding API:  ninja -C build update-abi
# (it rewrites lib/ls.symbols from the built library; commit the result).
# Never remove a line to make the check pass: restore the symbol instead.

import argparse
import subprocess
import sys

# Defined by the linker in every shared object; not part of our ABI.
LINKER_SYMBOLS = {'_init', '_fini', '_edata', '_end', '__bss_start'}

HEADER = '''\
# The dynamic symbols exported by libls-1.0.so.0, sorted (nm -D --defined-only).
# Checked by the 'abi' test suite (lib/check-abi.py): a symbol may be added,
# never removed. Regenerate with: ninja -C build update-abi
'''


def exported(nm, library):
    out = subprocess.run([nm, '-D', '--defined-only', library],
                         check=True, capture_output=True, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        name = fields[2].split('@')[0]
        if name not in LINKER_SYMBOLS:
            symbols.add(name)
    return symbols


def listed(path):
    with open(path) as f:
        return {line.strip() for line in f
                if line.strip() and not line.startswith('#')}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--nm', default='nm')
    parser.add_argument('--update', action='store_true')
    parser.add_argument('library')
    parser.add_argument('symbols')
    args = parser.parse_args()

    current = exported(args.nm, args.library)
    if not current:
        print(f'{args.library}: no exported symbols found', file=sys.stderr)
        return 1

    if args.update:
        try:
            before = listed(args.symbols)
        except FileNotFoundError:
            before = set()
        with open(args.symbols, 'w') as f:
            f.write(HEADER)
            f.writelines(name + '\n' for name in sorted(current))
        for name in sorted(current - before):
            print(f'added: {name}')
        for name in sorted(before - current):
            print(f'REMOVED (breaks the ABI): {name}')
        print(f'{args.symbols}: {len(current)} symbols')
        return 0

    expected = listed(args.symbols)
    missing = sorted(expected - current)
    added = sorted(current - expected)
    for name in added:
        print(f'new symbol, not yet in {args.symbols}: {name}')
    for name in missing:
        print(f'MISSING: {name} is listed in {args.symbols} but no longer exported')
    print(f'{len(current)} exported, {len(expected)} listed, '
          f'{len(added)} new, {len(missing)} missing')
    if missing:
        print('An exported symbol disappeared: this breaks the ABI of libls-1.0.so.0.')
        return 1
    if added:
        print('Run `ninja -C build update-abi` and commit lib/ls.symbols.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
