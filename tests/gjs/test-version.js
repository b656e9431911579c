// test-version.js: the runtime version of Ls from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Prints TAP and exits non-zero if any test fails.
// Usage: gjs test-version.js PROJECT-VERSION
//   (with GI_TYPELIB_PATH/LD_LIBRARY_PATH into the build)

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {Ls} = imports.gi;
const {test, assert, assertEqual} = T;

const expected = ARGV[0].split('.').map(part => parseInt(part, 10));

test('runtime version is the meson project version', () => {
    assertEqual(Ls.get_major_version(), expected[0], 'major');
    assertEqual(Ls.get_minor_version(), expected[1], 'minor');
    assertEqual(Ls.get_micro_version(), expected[2], 'micro');
});

test('header constants match the runtime version', () => {
    assertEqual(Ls.MAJOR_VERSION, Ls.get_major_version(), 'major');
    assertEqual(Ls.MINOR_VERSION, Ls.get_minor_version(), 'minor');
    assertEqual(Ls.MICRO_VERSION, Ls.get_micro_version(), 'micro');
});

test('version functions return numbers', () => {
    for (const v of [Ls.get_major_version(), Ls.get_minor_version(), Ls.get_micro_version()])
        assert(Number.isInteger(v) && v >= 0, `${v} is not a version number`);
});

T.finish();
