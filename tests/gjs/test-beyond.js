// test-beyond.js: issue 15 from GJS: descriptor passing, socket activation,
// reclaiming stale sockets
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Gio, Ls} = imports.gi;
const {test, assert, assertEqual, assertThrowsLs, runUntil} = T;

const E = Ls.SocketError;

// The accepted side receives descriptors only with @acceptFds (the
// server's accept-fds, which it has before its first read).
function pair(dir, name, acceptFds = true) {
    const path = GLib.build_filenamev([dir, name]);
    const server = T.listen(path);
    server.accept_fds = acceptFds;
    const client = T.connectTo(path);
    const conn = T.accept(server);
    assertEqual(conn.get_accept_fds(), acceptFds);
    assertEqual(client.accept_fds, false);
    return [server, client, conn];
}

function openFdCount() {
    const dir = Gio.File.new_for_path('/proc/self/fd');
    const children = dir.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
    let n = 0;
    while (children.next_file(null) !== null)
        n++;
    children.close(null);
    return n;
}

// A datagram socket bound to @path: its address identifies it after it
// travelled as a descriptor.
function boundSocket(path) {
    const s = Gio.Socket.new(Gio.SocketFamily.UNIX, Gio.SocketType.DATAGRAM,
        Gio.SocketProtocol.DEFAULT);
    s.bind(Gio.UnixSocketAddress.new(path), false);
    T.onCleanup(() => s.close());
    return s;
}

test('descriptors travel with their bytes, as a Gio.UnixFDList', () => {
    const dir = T.makeTempDir();
    const [, client, conn] = pair(dir, 's');
    const a = boundSocket(GLib.build_filenamev([dir, 'a']));
    const b = boundSocket(GLib.build_filenamev([dir, 'b']));
    const list = Gio.UnixFDList.new();
    list.append(a.get_fd());
    list.append(b.get_fd());

    client.write(T.encode('head'));
    assertEqual(client.write_with_fds(new GLib.Bytes(T.encode('body')), list), true);
    assertEqual(T.decode(T.readExactly(conn, 4)), 'head');
    assertEqual(conn.take_fds(), null);
    assertEqual(T.decode(T.readExactly(conn, 4)), 'body');
    const got = conn.take_fds();
    assert(got !== null, 'descriptors expected');
    assertEqual(got.get_length(), 2);
    const paths = [0, 1].map(i => {
        const s = Gio.Socket.new_from_fd(got.get(i));
        const p = s.get_local_address().get_path();
        s.close();
        return p;
    });
    assertEqual(paths[0], GLib.build_filenamev([dir, 'a']));
    assertEqual(paths[1], GLib.build_filenamev([dir, 'b']));
    assertEqual(conn.take_fds(), null);
});

test('descriptors with framed messages', () => {
    const dir = T.makeTempDir();
    const [, client, conn] = pair(dir, 's');
    const a = boundSocket(GLib.build_filenamev([dir, 'm']));
    for (let i = 0; i < 10; i++) {
        const list = Gio.UnixFDList.new();
        list.append(a.get_fd());
        const body = T.encode(`message ${i}`);
        const frame = new Uint8Array(4 + body.length);
        new DataView(frame.buffer).setUint32(0, body.length, false);
        frame.set(body, 4);
        client.write_with_fds(new GLib.Bytes(frame), list);
    }
    const got = [];
    runUntil(() => {
        let m;
        while ((m = conn.read_message()) !== null) {
            const fds = conn.take_fds();
            got.push([T.decode(m), fds === null ? 0 : fds.get_length()]);
        }
        return got.length === 10;
    });
    for (let i = 0; i < 10; i++)
        T.assertDeepEqual(got[i], [`message ${i}`, 1]);
});

test('a rejected write_with_fds writes nothing', () => {
    const dir = T.makeTempDir();
    const [, client] = pair(dir, 's');
    const a = boundSocket(GLib.build_filenamev([dir, 'r']));
    const list = Gio.UnixFDList.new();
    list.append(a.get_fd());
    assertThrowsLs(() => client.write_with_fds(new GLib.Bytes(new Uint8Array(0)), list),
        E.OPERATION);
    assertEqual(client.get_bytes_to_write(), 0);
});

test('without accept-fds, descriptors are dropped and the data arrives', () => {
    const dir = T.makeTempDir();
    const [, client, conn] = pair(dir, 's', false);
    const a = boundSocket(GLib.build_filenamev([dir, 'd']));
    const list = Gio.UnixFDList.new();
    for (let i = 0; i < 253; i++)
        list.append(a.get_fd());
    const before = openFdCount();
    assertEqual(client.write_with_fds(new GLib.Bytes(T.encode('dropped')), list), true);
    assertEqual(client.flush(), true);
    assertEqual(T.decode(T.readExactly(conn, 7)), 'dropped');
    assertEqual(conn.take_fds(), null);
    assertEqual(openFdCount(), before);
    assertEqual(conn.get_state(), Ls.LocalSocketState.CONNECTED);

    // Turned on, the next write's descriptors arrive.
    conn.set_accept_fds(true);
    client.write_with_fds(new GLib.Bytes(T.encode('kept')), list);
    assertEqual(T.decode(T.readExactly(conn, 4)), 'kept');
    const got = conn.take_fds();
    assertEqual(got.get_length(), 253);
});

test('descriptors come with the bytes of their own write', () => {
    const dir = T.makeTempDir();
    const [, client, conn] = pair(dir, 's');
    const a = boundSocket(GLib.build_filenamev([dir, 'o']));
    const list = Gio.UnixFDList.new();
    list.append(a.get_fd());
    client.write_with_fds(new GLib.Bytes(T.encode('with')), list);
    client.write(T.encode('without'));
    assertEqual(client.flush(), true);
    runUntil(() => conn.get_bytes_available() >= 11);
    assertEqual(T.decode(conn.read(4)), 'with');
    const got = conn.take_fds();
    assert(got !== null, 'descriptors expected after reading their write');
    assertEqual(got.get_length(), 1);
    assertEqual(T.decode(conn.read(7)), 'without');
    assertEqual(conn.take_fds(), null);
});

test('listen_activated without a passed socket: SERVER_NOT_FOUND', () => {
    const server = new Ls.LocalServer();
    // LISTEN_PID (if any) is not this process's, as the helper tests check.
    assertThrowsLs(() => server.listen_activated('ctl'), E.SERVER_NOT_FOUND);
    assertEqual(server.get_server_error(), E.SERVER_NOT_FOUND);
    assertEqual(server.is_listening(), false);
});

test('reclaim-stale replaces a stale socket, never a live one', () => {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 's']);
    T.makeStaleSocket(path);
    const plain = new Ls.LocalServer();
    assertThrowsLs(() => plain.listen(path), E.ADDRESS_IN_USE);
    const server = new Ls.LocalServer({reclaim_stale: true});
    assertEqual(server.get_reclaim_stale(), true);
    assertEqual(server.listen(path), true);
    T.onCleanup(() => server.close());
    const other = new Ls.LocalServer({reclaim_stale: true});
    assertThrowsLs(() => other.listen(path), E.ADDRESS_IN_USE);
    T.connectTo(path);
});

T.finish();
