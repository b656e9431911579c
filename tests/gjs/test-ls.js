// test-ls.js: the essentials of Ls (server, socket, errors) from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Prints TAP and exits non-zero if any test fails.
// Usage: gjs test-ls.js   (with GI_TYPELIB_PATH/LD_LIBRARY_PATH into the build)

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, GObject, Gio, Ls} = imports.gi;
const {test, assert, assertEqual, assertDeepEqual, assertThrowsLs, runUntil, runFor} = T;

const E = Ls.SocketError;
const S = Ls.LocalSocketState;
const O = Ls.SocketOptions;

test('enum and flag values mirror Qt', () => {
    assertEqual(O.NONE, 0);
    assertEqual(O.USER_ACCESS, 1);
    assertEqual(O.GROUP_ACCESS, 2);
    assertEqual(O.OTHER_ACCESS, 4);
    assertEqual(O.WORLD_ACCESS, 7);
    assertEqual(O.ABSTRACT_NAMESPACE, 8);
    assertEqual(E.UNKNOWN, -1);
    assertEqual(E.CONNECTION_REFUSED, 0);
    assertEqual(E.PEER_CLOSED, 1);
    assertEqual(E.SERVER_NOT_FOUND, 2);
    assertEqual(E.SOCKET_ACCESS, 3);
    assertEqual(E.SOCKET_RESOURCE, 4);
    assertEqual(E.SOCKET_TIMEOUT, 5);
    assertEqual(E.ADDRESS_IN_USE, 8);
    assertEqual(E.UNSUPPORTED_SOCKET_OPERATION, 10);
    assertEqual(E.OPERATION, 19);
    assertEqual(S.UNCONNECTED, 0);
    assertEqual(S.CONNECTING, 2);
    assertEqual(S.CONNECTED, 3);
    assertEqual(S.CLOSING, 6);
});

test('server defaults', () => {
    const server = new Ls.LocalServer();
    assertEqual(server.is_listening(), false);
    assertEqual(server.listening, false);
    assertEqual(server.get_server_name(), '');
    assertEqual(server.get_full_server_name(), '');
    assertEqual(server.get_error_string(), '');
    assertEqual(server.get_server_error(), E.UNKNOWN);
    assertEqual(server.get_max_pending_connections(), 30);
    assertEqual(server.max_pending_connections, 30);
    assertEqual(server.maxPendingConnections, 30);
    assertEqual(server.get_listen_backlog_size(), 50);
    assertEqual(server.get_socket_options(), O.NONE);
    assertEqual(server.has_pending_connections(), false);
    assertEqual(server.next_pending_connection(), null);
    assertEqual(server.get_socket_descriptor(), -1);
});

test('socket defaults', () => {
    const sock = Ls.LocalSocket.new();
    assertEqual(sock.get_state(), S.UNCONNECTED);
    assertEqual(sock.get_error(), E.UNKNOWN);
    assertEqual(sock.get_error_string(), 'Unknown error');
    assertEqual(sock.get_server_name(), '');
    assertEqual(sock.get_bytes_available(), 0);
    assertEqual(sock.is_valid(), false);
    assertEqual(sock.get_socket_descriptor(), -1);
    assertEqual(sock.get_peer_credentials(), null);
    assertEqual(sock.write(T.encode('x')), -1);
    assertEqual(T.bytesToArray(sock.read_all()).length, 0);
});

test('listen on a relative name lands in $TMPDIR; notify::listening', () => {
    const dir = T.makeTempDir();
    const oldTmp = GLib.getenv('TMPDIR');
    GLib.setenv('TMPDIR', dir, true);
    T.onCleanup(() => oldTmp === null ? GLib.unsetenv('TMPDIR') : GLib.setenv('TMPDIR', oldTmp, true));

    const server = new Ls.LocalServer();
    T.onCleanup(() => server.close());
    const notes = [];
    server.connect('notify::listening', s => notes.push(s.listening));
    assertEqual(server.listen('gjs-app'), true);
    const path = GLib.build_filenamev([dir, 'gjs-app']);
    assertEqual(server.get_full_server_name(), path);
    assertEqual(server.full_server_name, path);
    assertEqual(server.get_server_name(), 'gjs-app');
    assertEqual(server.is_listening(), true);
    assertEqual(T.fileType(path), Gio.FileType.SPECIAL);
    assert(server.get_socket_descriptor() >= 0, 'descriptor');
    assertDeepEqual(notes, [true]);

    const client = T.connectTo('gjs-app');
    assertEqual(client.get_full_server_name(), path);
    T.accept(server);

    server.close();
    assertDeepEqual(notes, [true, false]);
    assertEqual(T.fileType(path), Gio.FileType.UNKNOWN, 'close() removes the socket file');
});

test('listen errors are GLib.Error with Ls.SocketError codes', () => {
    const dir = T.makeTempDir();
    const server = new Ls.LocalServer();

    assertThrowsLs(() => server.listen(''), E.SERVER_NOT_FOUND, 'empty name');
    assertEqual(server.get_server_error(), E.SERVER_NOT_FOUND);
    assert(server.get_error_string().length > 0, 'error string');

    const missing = GLib.build_filenamev([dir, 'nope', 's']);
    const e = assertThrowsLs(() => server.listen(missing), E.SERVER_NOT_FOUND, 'missing dir');
    assert(e.message.includes(missing), `message names the path: ${e.message}`);

    const stale = T.makeStaleSocket(GLib.build_filenamev([dir, 'stale']));
    assertThrowsLs(() => server.listen(stale), E.ADDRESS_IN_USE, 'stale socket');
    assertEqual(T.fileType(stale), Gio.FileType.SPECIAL, 'stale file untouched');
    server.set_socket_options(O.USER_ACCESS);
    assertThrowsLs(() => server.listen(stale), E.ADDRESS_IN_USE, 'stale socket with USER_ACCESS');
    assertEqual(server.get_server_error(), E.ADDRESS_IN_USE);
    assertEqual(server.is_listening(), false);

    const tooLong = GLib.build_filenamev([dir, 'x'.repeat(200)]);
    assertThrowsLs(() => server.listen(tooLong), E.SERVER_NOT_FOUND, 'too long');

    server.set_socket_options(O.NONE);
    const ok = GLib.build_filenamev([dir, 'ok']);
    server.listen(ok);
    T.onCleanup(() => server.close());
    assertThrowsLs(() => server.listen(GLib.build_filenamev([dir, 'other'])), E.OPERATION,
        'already listening');
    assertEqual(server.get_full_server_name(), ok);
});

test('wait_for_new_connection returns [ok, timedOut]', () => {
    const dir = T.makeTempDir();
    const idle = new Ls.LocalServer();
    assertThrowsLs(() => idle.wait_for_new_connection(0), E.OPERATION, 'not listening');

    const path = GLib.build_filenamev([dir, 'w']);
    const server = T.listen(path);
    const seen = T.recordSignals(server, ['new-connection']);
    assertDeepEqual(server.wait_for_new_connection(20), [false, true]);
    T.connectTo(path);
    assertDeepEqual(server.wait_for_new_connection(-1), [true, false]);
    assertEqual(seen.length, 1, 'new-connection emitted inside the call');
    const s = server.next_pending_connection();
    T.onCleanup(() => s.abort());
    assertEqual(s.get_state(), S.CONNECTED);
});

test('connect signal order, success and failures', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'c']);
    const server = T.listen(path);

    const sock = new Ls.LocalSocket();
    T.onCleanup(() => sock.abort());
    const ev = T.recordSignals(sock, ['state-changed', 'connected', 'error-occurred']);
    sock.connect_to_server(path);
    assertDeepEqual(ev, [['state-changed', S.CONNECTING], ['state-changed', S.CONNECTED], ['connected']]);
    T.accept(server);

    const lost = new Ls.LocalSocket();
    const ev2 = T.recordSignals(lost, ['state-changed', 'connected', 'error-occurred']);
    lost.connect_to_server(GLib.build_filenamev([dir, 'nobody']));
    assertDeepEqual(ev2, [['state-changed', S.CONNECTING], ['error-occurred', E.SERVER_NOT_FOUND],
        ['state-changed', S.UNCONNECTED]]);
    assertEqual(lost.get_error(), E.SERVER_NOT_FOUND);

    const stale = T.makeStaleSocket(GLib.build_filenamev([dir, 'stale']));
    const refused = new Ls.LocalSocket();
    const ev3 = T.recordSignals(refused, ['state-changed', 'error-occurred']);
    refused.connect_to_server(stale);
    assertDeepEqual(ev3, [['state-changed', S.CONNECTING], ['error-occurred', E.CONNECTION_REFUSED],
        ['state-changed', S.UNCONNECTED]]);
    assertEqual(refused.get_error(), E.CONNECTION_REFUSED);
});

test('echo through the main loop, all byte values', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'echo']);
    const server = T.listen(path);
    server.connect('new-connection', s => {
        const conn = s.next_pending_connection();
        T.onCleanup(() => conn.abort());
        conn.connect('ready-read', c => {
            const data = T.bytesToArray(c.read_all());
            assertEqual(c.write(data), data.length, 'write returns the size');
        });
    });
    const client = T.connectTo(path);
    const payload = new Uint8Array(256 * 64);
    for (let i = 0; i < payload.length; i++)
        payload[i] = i % 256;
    assertEqual(client.write(payload), payload.length);
    const back = T.readExactly(client, payload.length);
    assertEqual(back.length, payload.length);
    for (let i = 0; i < payload.length; i++)
        assertEqual(back[i], payload[i], `byte ${i}`);

    assertEqual(client.write_bytes(new GLib.Bytes(T.encode('line one\nline two\n'))), 18);
    runUntil(() => client.get_bytes_available() >= 18);
    assertEqual(client.can_read_line(), true);
    assertEqual(T.decode(client.peek(4)), 'line');
    assertEqual(T.decode(client.read_line(0)), 'line one\n');
    // Qt's rule: read_line(N) returns at most N - 1 bytes.
    assertEqual(T.decode(client.read_line(5)), 'line');
    assertEqual(T.decode(client.read_all()), ' two\n');
});

test('blocking API: wait_for_bytes_written / wait_for_ready_read', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'b']);
    const server = T.listen(path);
    const client = T.connectTo(path);
    const conn = T.accept(server);
    const written = T.recordSignals(client, ['bytes-written']);
    client.write(T.encode('ping'));
    assertEqual(client.get_bytes_to_write(), 4);
    assertEqual(client.wait_for_bytes_written(-1), true);
    assertDeepEqual(written, [['bytes-written', 4]]);
    assertEqual(conn.wait_for_ready_read(-1), true);
    assertEqual(T.decode(conn.read_all()), 'ping');
    assertEqual(conn.wait_for_ready_read(10), false);
    assertEqual(conn.get_error(), E.SOCKET_TIMEOUT);
    assertEqual(conn.get_state(), S.CONNECTED, 'a timeout does not close');
});

test('peer close: PEER_CLOSED, then disconnected; data stays readable', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'pc']);
    const server = T.listen(path);
    const client = T.connectTo(path);
    const conn = T.accept(server);
    const ev = T.recordSignals(client, ['error-occurred', 'state-changed', 'read-channel-finished',
        'disconnected']);
    conn.write(T.encode('bye'));
    conn.disconnect_from_server();
    runUntil(() => ev.some(e => e[0] === 'disconnected'));
    runFor(20);
    assertDeepEqual(ev, [['error-occurred', E.PEER_CLOSED], ['state-changed', S.CLOSING],
        ['state-changed', S.UNCONNECTED], ['read-channel-finished'], ['disconnected']]);
    assertEqual(client.get_state(), S.UNCONNECTED);
    assertEqual(T.decode(client.read_all()), 'bye');
});

test('USER_ACCESS gives mode 0700; abstract namespace creates no file', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'priv']);
    T.listen(path, O.USER_ACCESS);
    assertEqual(T.fileMode(path), 0o700);

    const name = `ls-gjs-abstract-${new Gio.Credentials().get_unix_pid()}`;
    const server = T.listen(name, O.ABSTRACT_NAMESPACE);
    assertEqual(server.get_full_server_name(), name);
    const client = T.connectTo(name, O.ABSTRACT_NAMESPACE);
    const conn = T.accept(server);
    client.write(T.encode('abs'));
    assertEqual(T.decode(T.readExactly(conn, 3)), 'abs');
});

test('remove_server removes a stale socket', () => {
    const dir = T.makeTempDir();
    const stale = T.makeStaleSocket(GLib.build_filenamev([dir, 'stale']));
    assertEqual(Ls.LocalServer.remove_server(stale), true);
    assertEqual(T.fileType(stale), Gio.FileType.UNKNOWN);
    assertEqual(Ls.LocalServer.remove_server(stale), true, 'nothing there is fine');
    assertThrowsLs(() => Ls.LocalServer.remove_server(''), E.SERVER_NOT_FOUND, 'empty name');
    T.listen(stale);
});

test('peer credentials', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'cred']);
    const server = T.listen(path);
    const client = T.connectTo(path);
    const conn = T.accept(server);
    const mine = new Gio.Credentials();
    for (const s of [client, conn]) {
        const creds = s.get_peer_credentials();
        assert(creds instanceof Gio.Credentials, 'a Gio.Credentials');
        assertEqual(creds.get_unix_pid(), mine.get_unix_pid());
        assertEqual(creds.get_unix_user(), mine.get_unix_user());
    }
});

const WrappingServer = GObject.registerClass(
class WrappingServer extends Ls.LocalServer {
    _init() {
        super._init();
        this.made = [];
    }

    vfunc_incoming_connection(fd) {
        const sock = new Ls.LocalSocket();
        sock.set_socket_descriptor(fd, S.CONNECTED);
        sock._tag = `from-gjs-${this.made.length}`;
        this.made.push(sock);
        this.add_pending_connection(sock);
    }
});

test('a GJS subclass overrides incoming_connection', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'sub']);
    const server = new WrappingServer();
    T.onCleanup(() => server.close());
    const seen = [];
    server.connect('new-connection', s => seen.push(s.has_pending_connections()));
    server.listen(path);
    const client = T.connectTo(path);
    runUntil(() => seen.length === 1);
    assertDeepEqual(seen, [true]);
    const conn = server.next_pending_connection();
    T.onCleanup(() => conn.abort());
    assertEqual(conn, server.made[0]);
    assertEqual(conn._tag, 'from-gjs-0');
    client.write(T.encode('sub'));
    assertEqual(T.decode(T.readExactly(conn, 3)), 'sub');
});

test('state property: notify::state just before each state-changed (1.2)', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 'st']);
    const server = new Ls.LocalServer();
    T.onCleanup(() => server.close());
    server.listen(path);
    const sock = new Ls.LocalSocket();
    const seen = [];
    sock.connect('notify::state', s => seen.push(`notify(${s.state})`));
    sock.connect('state-changed', (s, st) => seen.push(`changed(${st})`));
    sock.connect('notify::full-server-name', s => seen.push(`full(${s.full_server_name})`));
    assertEqual(sock.state, S.UNCONNECTED);
    sock.connect_to_server(path);
    assertEqual(sock.state, S.CONNECTED);
    assertDeepEqual(seen, ['notify(2)', 'changed(2)', `full(${path})`, 'notify(3)', 'changed(3)']);
    seen.length = 0;
    sock.abort();
    assertDeepEqual(seen, ['full()', 'notify(0)', 'changed(0)']);
});

T.finish();
