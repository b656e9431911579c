// test-gio.js: GJS tests of the GIO boundary (issue 18): Gio.SocketAddress
// and Gio.Socket in and out of Ls, and examples/gio-server.js
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs test-gio.js [/path/to/examples/gio-server.js [/path/to/gjs]]
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Gio, Ls} = imports.gi;
const {test, assert, assertEqual, assertThrowsLs, runUntil} = T;

const [exampleJs, gjsArg] = ARGV;
const gjs = gjsArg || GLib.find_program_in_path('gjs');

const TYPES = [
    ['path', Gio.UnixSocketAddressType.PATH],
    ['abstract', Gio.UnixSocketAddressType.ABSTRACT],
    ['abstract-padded', Gio.UnixSocketAddressType.ABSTRACT_PADDED],
];

let _serial = 0;

function nameFor(type) {
    if (type === Gio.UnixSocketAddressType.PATH)
        return GLib.build_filenamev([T.makeTempDir(), 's']);
    return `ls-gjs-gio-${new Date().getTime()}-${_serial++}`;
}

function addressFor(name, type) {
    return new Gio.UnixSocketAddress({path: name, address_type: type});
}

function listenAddress(address) {
    const server = new Ls.LocalServer();
    assertEqual(server.listen_address(address), true, 'listen_address');
    T.onCleanup(() => server.close());
    return server;
}

function nextConnection(server) {
    runUntil(() => server.has_pending_connections());
    const peer = server.next_pending_connection();
    T.onCleanup(() => peer.abort());
    return peer;
}

for (const [label, type] of TYPES) {
    test(`listen_address / get_address: ${label}`, () => {
        const name = nameFor(type);
        const server = listenAddress(addressFor(name, type));
        assertEqual(server.is_listening(), true);
        assertEqual(server.get_server_name(), name);
        assertEqual(server.get_full_server_name(), name);
        const got = server.get_address();
        assert(got instanceof Gio.UnixSocketAddress, 'a Gio.UnixSocketAddress');
        assertEqual(got.get_address_type(), type);
        assertEqual(got.get_path(), name);
        server.close();
        assertEqual(server.get_address(), null);
    });

    test(`a Gio.SocketClient reaches an Ls server: ${label}`, () => {
        const name = nameFor(type);
        const address = addressFor(name, type);
        const server = listenAddress(address);
        const connection = new Gio.SocketClient().connect(address, null);
        T.onCleanup(() => connection.close(null));
        const peer = nextConnection(server);
        connection.get_output_stream().write_all(T.encode('ping\n'), null);
        runUntil(() => peer.can_read_line());
        assertEqual(T.decode(peer.read_line(0)), 'ping\n');
        peer.write(T.encode('pong\n'));
        assertEqual(peer.flush() || peer.get_bytes_to_write() === 0, true);
        const input = new Gio.DataInputStream({base_stream: connection.get_input_stream()});
        const [line] = input.read_line_utf8(null);
        assertEqual(line, 'pong');
    });

    test(`connect_to_address reaches a Gio.SocketListener: ${label}`, () => {
        const name = nameFor(type);
        const address = addressFor(name, type);
        const listener = new Gio.SocketListener();
        listener.add_address(address, Gio.SocketType.STREAM, Gio.SocketProtocol.DEFAULT, null);
        T.onCleanup(() => listener.close());
        const socket = new Ls.LocalSocket();
        const events = T.recordSignals(socket, ['state-changed', 'connected', 'error-occurred']);
        socket.connect_to_address(address);
        T.onCleanup(() => socket.abort());
        assertEqual(JSON.stringify(events), JSON.stringify([
            ['state-changed', Ls.LocalSocketState.CONNECTING],
            ['state-changed', Ls.LocalSocketState.CONNECTED],
            ['connected'],
        ]));
        assertEqual(socket.get_server_name(), name);
        assertEqual(socket.get_full_server_name(), name);
        const remote = socket.get_remote_address();
        assertEqual(remote.get_address_type(), type);
        assertEqual(remote.get_path(), name);
        assertEqual(socket.get_local_address().get_address_type(),
            Gio.UnixSocketAddressType.ANONYMOUS);

        const [accepted] = listener.accept(null);
        socket.write(T.encode('to gio'));
        socket.flush();
        const buffer = accepted.get_input_stream().read_bytes(6, null);
        assertEqual(T.decode(buffer), 'to gio');
        accepted.get_output_stream().write_all(T.encode('to ls'), null);
        runUntil(() => socket.get_bytes_available() >= 5);
        assertEqual(T.decode(socket.read_all()), 'to ls');
        accepted.close(null);
    });
}

test('listen_socket adopts a Gio.Socket and leaves it open', () => {
    const path = GLib.build_filenamev([T.makeTempDir(), 's']);
    const gsocket = Gio.Socket.new(Gio.SocketFamily.UNIX, Gio.SocketType.STREAM,
        Gio.SocketProtocol.DEFAULT);
    gsocket.bind(Gio.UnixSocketAddress.new(path), false);
    gsocket.listen();
    const server = new Ls.LocalServer();
    assertEqual(server.listen_socket(gsocket), true);
    assertEqual(server.get_full_server_name(), path);
    assertEqual(server.get_address().get_path(), path);
    const client = T.connectTo(path);
    assertEqual(client.get_state(), Ls.LocalSocketState.CONNECTED);
    nextConnection(server);
    server.close();
    assertEqual(gsocket.is_closed(), false);
    assertEqual(T.fileType(path), Gio.FileType.SPECIAL);
    // Still listening for GIO.
    const connection = new Gio.SocketClient().connect(Gio.UnixSocketAddress.new(path), null);
    const accepted = gsocket.accept(null);
    assert(accepted !== null, 'accepted through the caller\'s socket');
    connection.close(null);
    accepted.close();
    gsocket.close();
});

test('get_socket gives a Gio.Socket for the connection', () => {
    const name = nameFor(Gio.UnixSocketAddressType.ABSTRACT);
    const address = addressFor(name, Gio.UnixSocketAddressType.ABSTRACT);
    const server = listenAddress(address);
    const socket = new Ls.LocalSocket();
    assertEqual(socket.get_socket(), null);
    socket.connect_to_address(address);
    const peer = nextConnection(server);
    const gsocket = socket.get_socket();
    assert(gsocket instanceof Gio.Socket, 'a Gio.Socket');
    assert(socket.get_socket() === gsocket, 'the same one on the second call');
    assert(gsocket.get_fd() !== socket.get_socket_descriptor(), 'a duplicate descriptor');
    const credentials = gsocket.get_credentials();
    assertEqual(credentials.get_unix_pid(), new Gio.Credentials().get_unix_pid());
    socket.abort();
    assertEqual(gsocket.is_closed(), true);
    assertEqual(socket.get_socket(), null);
    assertEqual(peer.wait_for_disconnected(10000), true);
});

test('bad addresses and sockets: a GError naming operation, address and reason', () => {
    const server = new Ls.LocalServer();
    const inet = Gio.InetSocketAddress.new_from_string('127.0.0.1', 4321);
    let e = assertThrowsLs(() => server.listen_address(inet),
        Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION, 'inet');
    assert(e.message.includes('listen on') && e.message.includes('127.0.0.1:4321') &&
        e.message.includes('not a local socket address'), e.message);
    assertEqual(server.is_listening(), false);
    assertEqual(server.get_server_error(), Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION);

    const anonymous = new Gio.UnixSocketAddress({address_type: Gio.UnixSocketAddressType.ANONYMOUS});
    e = assertThrowsLs(() => server.listen_address(anonymous),
        Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION, 'anonymous');
    assert(e.message.includes('anonymous'), e.message);

    const dir = T.makeTempDir();
    const long = `${dir}/${'x'.repeat(140)}`;
    e = assertThrowsLs(() => server.listen_address(Gio.UnixSocketAddress.new(long)),
        Ls.SocketError.SERVER_NOT_FOUND, 'too long');
    assert(e.message.includes(long.substring(0, 107)) && e.message.includes('truncated'), e.message);
    assertEqual(T.fileType(long.substring(0, 107)), Gio.FileType.UNKNOWN);

    const udp = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM,
        Gio.SocketProtocol.UDP);
    udp.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), false);
    e = assertThrowsLs(() => server.listen_socket(udp),
        Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION, 'udp');
    assert(e.message.includes('listen on') && e.message.includes('127.0.0.1:') &&
        e.message.includes('not a local'), e.message);
    assertEqual(udp.is_closed(), false);
    udp.close();

    const socket = new Ls.LocalSocket();
    const events = T.recordSignals(socket, ['state-changed', 'error-occurred']);
    socket.connect_to_address(inet);
    assertEqual(JSON.stringify(events), JSON.stringify([
        ['state-changed', Ls.LocalSocketState.CONNECTING],
        ['error-occurred', Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION],
        ['state-changed', Ls.LocalSocketState.UNCONNECTED],
    ]));
    assert(socket.get_error_string().includes('connect to'), socket.get_error_string());
});

test('examples/gio-server.js answers its Gio.SocketClient on every address type', () => {
    assert(exampleJs && GLib.file_test(exampleJs, GLib.FileTest.EXISTS), `gio-server.js at ${exampleJs}`);
    for (const [label, type] of TYPES) {
        const name = nameFor(type);
        const proc = Gio.Subprocess.new([gjs, exampleJs, label, name, `hi ${label}`],
            Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_PIPE);
        let result = null;
        proc.communicate_utf8_async(null, null, (p, res) => {
            const [, stdout, stderr] = p.communicate_utf8_finish(res);
            result = {status: p.get_exit_status(), stdout, stderr};
        });
        runUntil(() => result !== null);
        assertEqual(result.stderr, '', label);
        assertEqual(result.status, 0, label);
        assertEqual(result.stdout, `listening on ${label} “${name}”\necho: hi ${label}\n`, label);
    }
});

T.finish();
