// test-client-example.js: runs examples/client.js against an Ls echo server
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs test-client-example.js /path/to/examples/client.js [/path/to/gjs]
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Gio, Ls} = imports.gi;
const {test, assert, assertEqual, runUntil} = T;

const [clientJs, gjsArg] = ARGV;
const gjs = gjsArg || GLib.find_program_in_path('gjs');

// Runs the example to completion while this process keeps serving.
function runClient(args, env = null) {
    const launcher = new Gio.SubprocessLauncher({
        flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE,
    });
    if (env) {
        for (const [k, v] of Object.entries(env))
            launcher.setenv(k, v, true);
    }
    const proc = launcher.spawnv([gjs, clientJs, ...args]);
    let result = null;
    proc.communicate_utf8_async(null, null, (p, res) => {
        const [, stdout, stderr] = p.communicate_utf8_finish(res);
        result = {status: p.get_exit_status(), stdout, stderr};
    });
    runUntil(() => result !== null);
    return result;
}

function echoServer(name) {
    const server = T.listen(name);
    const conns = [];
    server.connect('new-connection', s => {
        const conn = s.next_pending_connection();
        conns.push(conn);
        const echo = c => {
            while (c.can_read_line())
                c.write(c.read_line(0).toArray());
        };
        conn.connect('ready-read', echo);
        echo(conn);
    });
    T.onCleanup(() => conns.forEach(c => c.abort()));
    return {server, conns};
}

test('the example exists', () => {
    assert(clientJs && GLib.file_test(clientJs, GLib.FileTest.EXISTS), `client.js at ${clientJs}`);
    assert(gjs, 'gjs found');
});

test('client.js talks to an Ls echo server (absolute path)', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'echo']);
    const {conns} = echoServer(path);
    const r = runClient([path, 'hello from the example ✓']);
    assertEqual(r.stderr, '');
    assertEqual(r.status, 0);
    assertEqual(r.stdout, 'hello from the example ✓\n');
    assertEqual(conns.length, 1);
});

test('client.js resolves a relative name in $TMPDIR', () => {
    const dir = T.makeTempDir();
    const old = GLib.getenv('TMPDIR');
    GLib.setenv('TMPDIR', dir, true);
    T.onCleanup(() => old === null ? GLib.unsetenv('TMPDIR') : GLib.setenv('TMPDIR', old, true));
    echoServer('rel-echo');
    const r = runClient(['rel-echo', 'relative'], {TMPDIR: dir});
    assertEqual(r.status, 0);
    assertEqual(r.stdout, 'relative\n');
});

test('client.js reports a missing server', () => {
    const dir = T.makeTempDir();
    const r = runClient([GLib.build_filenamev([dir, 'nobody']), 'x']);
    assertEqual(r.status, 1);
    assertEqual(r.stdout, '');
    assert(r.stderr.includes('SERVER_NOT_FOUND'), `stderr: ${r.stderr}`);
});

test('client.js reports a server that closes without answering', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'rude']);
    const server = T.listen(path);
    const conns = [];
    server.connect('new-connection', s => {
        const conn = s.next_pending_connection();
        conns.push(conn);
        const rude = c => {
            if (c.can_read_line())
                c.disconnect_from_server();
        };
        conn.connect('ready-read', rude);
        rude(conn);
    });
    const r = runClient([path, 'x']);
    assertEqual(r.status, 1);
    assert(r.stderr.includes('without answering'), `stderr: ${r.stderr}`);
});

T.finish();
