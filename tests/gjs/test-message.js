// test-message.js: LsLocalSocket's framed messages (QDataStream's QByteArray
// framing) from GJS
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Ls} = imports.gi;
const {test, assert, assertEqual, assertThrowsLs, runUntil, runFor} = T;

const E = Ls.SocketError;
const S = Ls.LocalSocketState;
const KIB = 1024;
const MIB = 1024 * 1024;

function payload(size, seed) {
    const a = new Uint8Array(size);
    for (let i = 0; i < size; i++)
        a[i] = (i * 13 + seed) & 0xff;
    return a;
}

function header(length) {
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, length, false);
    return h;
}

function sameBytes(actual, expected, what) {
    assertEqual(actual.length, expected.length, `${what}: size`);
    for (let i = 0; i < expected.length; i++) {
        if (actual[i] !== expected[i])
            assertEqual(actual[i], expected[i], `${what}: byte ${i}`);
    }
}

// Two connected sockets: `writer` also serves as a raw peer (write()).
function pair(name) {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, name]);
    const server = T.listen(path);
    const client = T.connectTo(path);
    const conn = T.accept(server);
    T.onCleanup(() => {
        client.abort();
        conn.abort();
    });
    return [client, conn];
}

function loopReadMessage(sock) {
    let message = null;
    runUntil(() => (message = sock.read_message()) !== null);
    return message.toArray();
}

function waitAvailable(sock, n) {
    runUntil(() => sock.get_bytes_available() >= n);
    assertEqual(sock.get_bytes_available(), n, 'bytes available');
}

for (const rbs of [0, 4 * KIB]) {
    test(`round trip of 0, 1, 64 KiB, 5 MiB (read-buffer-size ${rbs})`, () => {
        const [client, conn] = pair('rt');
        client.set_read_buffer_size(rbs);
        conn.set_read_buffer_size(rbs);
        for (const size of [0, 1, 64 * KIB, 5 * MIB]) {
            const request = payload(size, 1);
            const reply = payload(size, 2);
            assertEqual(client.write_message(new GLib.Bytes(request)), true);
            assertEqual(client.get_bytes_to_write(), 4 + size);
            sameBytes(loopReadMessage(conn), request, `request of ${size}`);
            assertEqual(conn.write_message(new GLib.Bytes(reply)), true);
            sameBytes(loopReadMessage(client), reply, `reply of ${size}`);
        }
    });
}

test('the wire format is QDataStream\'s', () => {
    const [client, conn] = pair('wf');
    client.write_message(new GLib.Bytes(T.encode('hello')));
    client.write_message(new GLib.Bytes(new Uint8Array(0)));
    const wire = T.readExactly(conn, 13);
    T.assertDeepEqual(Array.from(wire), [0, 0, 0, 5, 104, 101, 108, 108, 111, 0, 0, 0, 0]);
});

test('a null frame reads as an empty message', () => {
    const [client, conn] = pair('nf');
    client.write(header(0xFFFFFFFF));
    client.write_message(new GLib.Bytes(T.encode('x')));
    waitAvailable(conn, 9);
    assertEqual(conn.can_read_message(), true);
    assertEqual(conn.read_message().get_size(), 0);
    assertEqual(T.decode(conn.read_message()), 'x');
    assertEqual(conn.read_message(), null);
    assertEqual(conn.can_read_message(), false);
});

test('a frame split over many writes', () => {
    const [client, conn] = pair('sp');
    const body = payload(50, 3);
    const wire = new Uint8Array(4 + body.length);
    wire.set(header(body.length));
    wire.set(body, 4);
    for (let i = 0; i < wire.length - 1; i++) {
        client.write(wire.subarray(i, i + 1));
        waitAvailable(conn, i + 1);
        assertEqual(conn.can_read_message(), false);
        assertEqual(conn.read_message(), null);
        assertEqual(conn.get_bytes_available(), i + 1, 'nothing consumed');
    }
    client.write(wire.subarray(wire.length - 1));
    waitAvailable(conn, wire.length);
    sameBytes(conn.read_message().toArray(), body, 'message');
});

test('a hostile length fails with DATAGRAM_TOO_LARGE, consuming nothing', () => {
    const [client, conn] = pair('hl');
    conn.set_read_buffer_size(16);
    client.write(header(0xFFFFFFF0));
    client.write(payload(10, 0));
    waitAvailable(conn, 14);
    assertEqual(conn.can_read_message(), false);
    assertThrowsLs(() => conn.read_message(), E.DATAGRAM_TOO_LARGE, 'read_message');
    assertEqual(conn.get_error(), E.DATAGRAM_TOO_LARGE);
    assertEqual(conn.get_bytes_available(), 14);
    client.write(payload(100, 0));
    waitAvailable(conn, 16);
    runFor(50);
    assertEqual(conn.get_bytes_available(), 16, 'the read buffer cap holds');
});

test('max-message-size: default, notify, limit', () => {
    const [client, conn] = pair('mm');
    assertEqual(conn.get_max_message_size(), 16777216);
    assertEqual(conn.max_message_size, 16777216);
    let notes = 0;
    conn.connect('notify::max-message-size', () => notes++);
    conn.set_max_message_size(16777216);
    assertEqual(notes, 0);
    conn.max_message_size = 10;
    assertEqual(notes, 1);
    client.write(header(11));
    waitAvailable(conn, 4);
    assertThrowsLs(() => conn.read_message(), E.DATAGRAM_TOO_LARGE, 'over the limit');
    conn.set_max_message_size(11);
    assertEqual(notes, 2);
    assertEqual(conn.read_message(), null);
    client.write(T.encode('hello world'));
    waitAvailable(conn, 15);
    assertEqual(T.decode(conn.read_message()), 'hello world');
});

test('a message larger than read-buffer-size is assembled in ready-read', () => {
    const [client, conn] = pair('lb');
    conn.set_read_buffer_size(4 * KIB);
    const big = payload(MIB, 5);
    const got = [];
    conn.connect('ready-read', s => {
        let m;
        while ((m = s.read_message()) !== null)
            got.push(m.toArray());
    });
    client.write_message(new GLib.Bytes(big));
    client.write_message(new GLib.Bytes(T.encode('tail')));
    runUntil(() => got.length >= 2);
    sameBytes(got[0], big, 'big');
    assertEqual(T.decode(got[1]), 'tail');
});

test('write_message on an unconnected socket', () => {
    const sock = new Ls.LocalSocket();
    let thrown = null;
    try {
        sock.write_message(new GLib.Bytes(T.encode('abc')));
    } catch (e) {
        thrown = e;
    }
    assert(thrown instanceof GLib.Error, 'a GLib.Error is thrown');
    assert(thrown.matches(Ls.socket_error_quark(), sock.get_error()), 'the recorded code');
    assertEqual(thrown.message, sock.get_error_string());
    assertEqual(sock.get_bytes_to_write(), 0);
});

for (const action of ['close', 'abort', 'disconnect_from_server']) {
    test(`a ready-read handler that calls ${action}() while reading messages`, () => {
        const [client, conn] = pair('ha');
        conn.set_read_buffer_size(1024);
        const read = [];
        conn.connect('ready-read', s => {
            let m;
            while ((m = s.read_message()) !== null) {
                read.push(T.decode(m));
                if (read.length === 1)
                    s[action]();
            }
        });
        client.write_message(new GLib.Bytes(T.encode('one')));
        client.write_message(new GLib.Bytes(T.encode('two')));
        client.write(header(8 * KIB));
        client.write(payload(2000, 0));
        runUntil(() => read.length > 0);
        runFor(50);
        assertEqual(read[0], 'one');
        if (action !== 'disconnect_from_server')
            assertEqual(read.length, 1);
        assertEqual(conn.get_state(), S.UNCONNECTED);
    });
}

T.finish();
