// test-async.js: the asynchronous calls (issues 14, 25) from GJS, with
// async/await over Gio._promisify, and the examples/async-echo.js example
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs test-async.js /path/to/examples/async-echo.js [/path/to/gjs]
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;
const {test, testAsync, rejects, assert, assertEqual, runUntil} = T;

const [exampleJs, gjsArg] = ARGV;
const gjs = gjsArg || GLib.find_program_in_path('gjs');

Gio._promisify(Ls.LocalServer.prototype, 'accept_async');
for (const name of ['connect_to_server_async', 'read_bytes_async', 'read_line_async',
    'read_message_async', 'write_all_async', 'write_message_async', 'disconnect_async'])
    Gio._promisify(Ls.LocalSocket.prototype, name);

async function asyncPair() {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const path = GLib.build_filenamev([dir, 's']);
    const server = new Ls.LocalServer();
    assert(server.listen(path));
    const client = new Ls.LocalSocket();
    const accepting = server.accept_async(null);
    await client.connect_to_server_async(path, null);
    const conn = await accepting;
    T.onCleanup(() => {
        client.abort();
        conn.abort();
        server.close();
    });
    return {path, server, client, conn};
}

testAsync('connect, accept, write, read, disconnect with await', async () => {
    const {client, conn} = await asyncPair();
    assertEqual(client.get_state(), Ls.LocalSocketState.CONNECTED);
    assert(await client.write_all_async(new GLib.Bytes(T.encode('line one\nand more')), null));
    assertEqual(T.decode(await conn.read_line_async(null)), 'line one\n');
    const rest = await conn.read_bytes_async(100, null);
    assertEqual(T.decode(rest), 'and more');
    assert(await client.disconnect_async(null));
    assertEqual(client.get_state(), Ls.LocalSocketState.UNCONNECTED);
    assertEqual((await conn.read_bytes_async(100, null)).get_size(), 0, 'the end of the stream');
    assertEqual((await conn.read_line_async(null)).get_size(), 0, 'still the end');
});

testAsync('messages, and null at the end of the stream', async () => {
    const {client, conn} = await asyncPair();
    assert(client.write_message(new GLib.Bytes(T.encode('framed'))));
    assertEqual(T.decode(await conn.read_message_async(null)), 'framed');
    client.disconnect_from_server();
    assertEqual(await conn.read_message_async(null), null);
});

testAsync('errors reject the promise', async () => {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const socket = new Ls.LocalSocket();
    await rejects(socket.connect_to_server_async(GLib.build_filenamev([dir, 'none']), null),
        Ls.socket_error_quark(), Ls.SocketError.SERVER_NOT_FOUND);
    await rejects(socket.read_bytes_async(10, null), Ls.socket_error_quark(),
        Ls.SocketError.UNKNOWN);

    const {conn} = await asyncPair();
    const first = conn.read_bytes_async(10, null);
    await rejects(conn.read_line_async(null), Gio.io_error_quark(), Gio.IOErrorEnum.PENDING);
    const cancellable = new Gio.Cancellable();
    conn.abort();
    await rejects(first, Ls.socket_error_quark(), Ls.SocketError.UNKNOWN);
    cancellable.cancel();
    await rejects(conn.read_bytes_async(10, cancellable), Gio.io_error_quark(),
        Gio.IOErrorEnum.CANCELLED);
});

testAsync('cancelling a pending read keeps the data', async () => {
    const {client, conn} = await asyncPair();
    const cancellable = new Gio.Cancellable();
    const pending = conn.read_line_async(cancellable);
    client.write(T.encode('no newline yet'));
    T.runFor(20);
    cancellable.cancel();
    await rejects(pending, Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED);
    assertEqual(conn.get_bytes_available(), 14);
    client.write(T.encode('\n'));
    assertEqual(T.decode(await conn.read_line_async(null)), 'no newline yet\n');
});

testAsync('ready-read still fires', async () => {
    const {client, conn} = await asyncPair();
    let readyReads = 0;
    conn.connect('ready-read', () => readyReads++);
    const reading = conn.read_bytes_async(10, null);
    client.write(T.encode('hi'));
    assertEqual(T.decode(await reading), 'hi');
    assert(readyReads > 0);
});

testAsync('write_message_async: whole frames, in order', async () => {
    const {client, conn} = await asyncPair();
    const writes = ['one', '', 'three'].map(text =>
        client.write_message_async(new GLib.Bytes(T.encode(text)), null));
    for (const done of await Promise.all(writes))
        assert(done === true);
    assertEqual(client.get_bytes_to_write(), 0);
    assertEqual(T.decode(await conn.read_message_async(null)), 'one');
    assertEqual((await conn.read_message_async(null)).get_size(), 0);
    assertEqual(T.decode(await conn.read_message_async(null)), 'three');
    const unconnected = new Ls.LocalSocket();
    await rejects(unconnected.write_message_async(new GLib.Bytes(T.encode('x')), null),
        Ls.socket_error_quark(), Ls.SocketError.UNKNOWN);
});

for (const how of ['close', 'abort', 'write again', 'disconnect']) {
    testAsync(`a write_message_async callback may ${how} its socket`, async () => {
        const {client, conn} = await asyncPair();
        let again = null;
        const done = await new Promise((resolve, reject) => {
            client.write_message_async(new GLib.Bytes(T.encode('first')), null, (source, res) => {
                try {
                    const ok = source.write_message_finish(res);
                    if (how === 'close')
                        source.close();
                    else if (how === 'abort')
                        source.abort();
                    else if (how === 'write again')
                        again = source.write_message_async(new GLib.Bytes(T.encode('again')), null);
                    else
                        source.disconnect_async(null);
                    resolve(ok);
                } catch (e) {
                    reject(e);
                }
            });
        });
        assert(done === true);
        assertEqual(T.decode(await conn.read_message_async(null)), 'first');
        if (again) {
            assert(await again);
            assertEqual(T.decode(await conn.read_message_async(null)), 'again');
        }
    });
}

// connect_to_server_async() on a closing socket connects again at once, as
// the sync call (and Qt) does; the calls pending on the closing connection
// complete then: its dropped data fails the write and the disconnection.
testAsync('connect_to_server_async while closing replaces the connection', async () => {
    const {path, server, client, conn} = await asyncPair();
    conn.set_read_buffer_size(4096);
    const writing = client.write_all_async(new GLib.Bytes(new Uint8Array(8 << 20)), null);
    T.runFor(20);
    const disconnecting = client.disconnect_async(null);
    assertEqual(client.get_state(), Ls.LocalSocketState.CLOSING);
    // Rejections are handled from here on (they come before the connect).
    const writeFailed = rejects(writing, Ls.socket_error_quark(), Ls.SocketError.UNKNOWN);
    const disconnectFailed = rejects(disconnecting, Ls.socket_error_quark(),
        Ls.SocketError.UNKNOWN);
    const accepting = server.accept_async(null);
    assert(await client.connect_to_server_async(null, null));
    const replaced = `“${path}”: the connection was replaced`;
    assert((await writeFailed).message.startsWith(`Cannot write to ${replaced}`));
    assert((await disconnectFailed).message.startsWith(`Cannot disconnect from ${replaced}`));
    const fresh = await accepting;
    T.onCleanup(() => fresh.abort());
    assert(await client.write_all_async(new GLib.Bytes(T.encode('fresh')), null));
    assertEqual(T.decode(await fresh.read_bytes_async(100, null)), 'fresh');
});

// A pending call keeps its socket alive until its callback has run (GIO's
// rule): a program that starts a read and drops every reference to the
// socket still gets its data. Plain callbacks, so that no closure keeps the
// socket's wrapper.
let droppedRead = null;

function onDroppedRead(source, res) {
    try {
        droppedRead = T.decode(source.read_bytes_finish(res));
    } catch (e) {
        droppedRead = e;
    }
}

function startReadAndDrop(server) {
    const conn = server.next_pending_connection();
    conn.read_bytes_async(100, null, onDroppedRead);
}

test('a dropped socket with a pending read still gets its data', () => {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const path = GLib.build_filenamev([dir, 's']);
    const server = new Ls.LocalServer();
    assert(server.listen(path));
    T.onCleanup(() => server.close());
    const client = new Ls.LocalSocket();
    client.connect_to_server(path);
    runUntil(() => server.has_pending_connections());
    startReadAndDrop(server);
    System.gc();
    T.runFor(30);
    System.gc();
    assertEqual(droppedRead, null, 'nothing yet');
    assertEqual(client.get_state(), Ls.LocalSocketState.CONNECTED, 'the peer saw no reset');
    client.write(T.encode('still here'));
    runUntil(() => droppedRead !== null);
    assertEqual(droppedRead, 'still here');
    System.gc();
    runUntil(() => client.get_state() === Ls.LocalSocketState.UNCONNECTED);
});

// The example, as a separate process.
function spawn(args) {
    const launcher = new Gio.SubprocessLauncher({
        flags: Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE,
    });
    const proc = launcher.spawnv([gjs, exampleJs, ...args]);
    const result = {done: false};
    proc.communicate_utf8_async(null, null, (p, res) => {
        const [, stdout, stderr] = p.communicate_utf8_finish(res);
        Object.assign(result, {done: true, status: p.get_exit_status(), stdout, stderr});
    });
    return result;
}

test('the example exists', () => {
    assert(exampleJs && GLib.file_test(exampleJs, GLib.FileTest.EXISTS), `at ${exampleJs}`);
    assert(gjs, 'gjs found');
});

test('async-echo.js demo', () => {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const r = spawn(['demo', GLib.build_filenamev([dir, 'demo'])]);
    runUntil(() => r.done);
    assertEqual(r.status, 0, r.stderr);
    assert(r.stdout.endsWith('hello\nasync\nworld\n'), r.stdout);
});

testAsync('async-echo.js client against an async server in this process', async () => {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const path = GLib.build_filenamev([dir, 'srv']);
    const server = new Ls.LocalServer();
    assert(server.listen(path));
    T.onCleanup(() => server.close());
    const r = spawn(['client', path, 'one', 'two']);
    const conn = await server.accept_async(null);
    for (;;) {
        const line = await conn.read_line_async(null);
        if (line.get_size() === 0)
            break;
        await conn.write_all_async(line, null);
    }
    runUntil(() => r.done);
    assertEqual(r.status, 0, r.stderr);
    assertEqual(r.stdout, 'one\ntwo\n');
});

testAsync('async-echo.js server against an async client in this process', async () => {
    const dir = T.makeTempDir();
    T.onCleanup(() => T.removeTree(dir));
    const path = GLib.build_filenamev([dir, 'srv']);
    const r = spawn(['server', path, '1']);
    runUntil(() => r.done || GLib.file_test(path, GLib.FileTest.EXISTS));
    const socket = new Ls.LocalSocket();
    await socket.connect_to_server_async(path, null);
    const payload = 'x'.repeat(100000);
    await socket.write_all_async(new GLib.Bytes(T.encode(`${payload}\n`)), null);
    let echoed = '';
    while (!echoed.endsWith('\n')) {
        const chunk = await socket.read_bytes_async(65536, null);
        assert(chunk.get_size() > 0, 'the server answered everything');
        echoed += T.decode(chunk);
    }
    assertEqual(echoed, `${payload}\n`);
    await socket.disconnect_async(null);
    runUntil(() => r.done);
    assertEqual(r.status, 0, r.stderr);
});

T.finish();
