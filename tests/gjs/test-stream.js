// test-stream.js: the socket as a Gio.IOStream, write-high-water and detach
// (issue 24) from GJS, with async/await over Gio._promisify, and the
// examples/stream-lines.js example
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs test-stream.js /path/to/examples/stream-lines.js [/path/to/gjs]
//        [/path/to/qt_lines_peer.py]
// Prints TAP and exits non-zero if any test fails.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
imports.gi.versions.Json = '1.0';
const {GLib, Gio, Json, Ls} = imports.gi;
const {test, rejects, assert, assertEqual, runUntil, runFor, encode, decode} = T;
// The longest tests move hundreds of MiB through GIO's tools.
const testAsync = (name, fn) => T.testAsync(name, fn, 120000);

const [exampleJs, gjsArg, qtPeerArg] = ARGV;
const gjs = gjsArg || GLib.find_program_in_path('gjs');
const MIB = 1024 * 1024;

Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async');
Gio._promisify(Gio.InputStream.prototype, 'skip_async');
Gio._promisify(Gio.OutputStream.prototype, 'write_all_async');
Gio._promisify(Gio.OutputStream.prototype, 'write_bytes_async');
Gio._promisify(Gio.OutputStream.prototype, 'flush_async');
Gio._promisify(Gio.OutputStream.prototype, 'close_async');
Gio._promisify(Gio.OutputStream.prototype, 'splice_async');
Gio._promisify(Gio.IOStream.prototype, 'close_async');
Gio._promisify(Gio.DataInputStream.prototype, 'read_line_async', 'read_line_finish_utf8');
Gio._promisify(Gio.DataInputStream.prototype, 'read_upto_async');
Gio._promisify(Json.Parser.prototype, 'load_from_stream_async');
Gio._promisify(Gio.DBusConnection, 'new');
Gio._promisify(Gio.DBusConnection.prototype, 'call');

function pair() {
    const dir = T.makeTempDir();
    const path = GLib.build_filenamev([dir, 's']);
    const server = T.listen(path);
    const client = T.connectTo(path);
    const accepted = T.accept(server);
    return {dir, path, server, client, accepted};
}

async function readToEnd(input) {
    const parts = [];
    for (;;) {
        const bytes = await input.read_bytes_async(4096, GLib.PRIORITY_DEFAULT, null);
        if (bytes.get_size() === 0)
            break;
        parts.push(decode(bytes));
    }
    return parts.join('');
}

function qtRecords(count) {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const out = [];
    for (let i = 0; i < count; i++) {
        let tail = '';
        for (let j = 0; j < i % 37; j++)
            tail += letters[j % 26];
        out.push(`record-${i}:${tail}`);
    }
    return out;
}

function haveProgram(argv) {
    try {
        const proc = Gio.Subprocess.new(argv, Gio.SubprocessFlags.STDOUT_SILENCE |
            Gio.SubprocessFlags.STDERR_SILENCE);
        return proc.wait_check(null);
    } catch (e) {
        return false;
    }
}

function threadIds() {
    const dir = Gio.File.new_for_path('/proc/self/task');
    const e = dir.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
    const ids = [];
    let info;
    while ((info = e.next_file(null)) !== null)
        ids.push(info.get_name());
    e.close(null);
    return ids.sort().join(',');
}

// --------------------------------------------------------------------------
// The view

test('the view: one Gio.IOStream, pollable both ways, write-high-water', () => {
    const {client, accepted} = pair();
    const view = client.get_io_stream();
    assert(view instanceof Gio.IOStream);
    assert(client.get_io_stream() === view, 'the same view');
    const input = view.get_input_stream();
    const output = view.get_output_stream();
    assert(input instanceof Gio.PollableInputStream && input.can_poll());
    assert(output instanceof Gio.PollableOutputStream && output.can_poll());
    assertEqual(accepted.write_high_water, 1024 * 1024);
    let notified = 0;
    accepted.connect('notify::write-high-water', () => notified++);
    accepted.write_high_water = 1024 * 1024;
    assertEqual(notified, 0);
    accepted.set_write_high_water(4096);
    assertEqual(notified, 1);
    assertEqual(accepted.get_write_high_water(), 4096);
});

testAsync('bytes go through both views, in order with write()', async () => {
    const {client, accepted} = pair();
    let readyRead = 0;
    accepted.connect('ready-read', () => readyRead++);
    client.write(encode('one,'));
    await client.get_io_stream().get_output_stream().write_all_async(encode('two,'),
        GLib.PRIORITY_DEFAULT, null);
    client.write(encode('three'));
    await client.get_io_stream().close_async(GLib.PRIORITY_DEFAULT, null);
    assertEqual(await readToEnd(accepted.get_io_stream().get_input_stream()), 'one,two,three');
    assert(readyRead > 0, 'ready-read still fires');
});

testAsync('a socket that is not connected reads the end and cannot write', async () => {
    const socket = new Ls.LocalSocket();
    const view = socket.get_io_stream();
    assertEqual((await view.get_input_stream().read_bytes_async(8, GLib.PRIORITY_DEFAULT, null)).get_size(), 0);
    await rejects(view.get_output_stream().write_bytes_async(new GLib.Bytes(encode('x')),
        GLib.PRIORITY_DEFAULT, null), Gio.io_error_quark(), Gio.IOErrorEnum.NOT_CONNECTED);
});

// --------------------------------------------------------------------------
// GIO's stream tools

for (const upto of [false, true]) {
    testAsync(`Gio.DataInputStream ${upto ? 'read_upto' : 'read_line'} against a Qt peer`, async () => {
        if (!qtPeerArg || !haveProgram(['/usr/bin/python3', '-c', 'import PySide2.QtNetwork'])) {
            print('# skipped: PySide2 (Qt 5) is not available');
            return;
        }
        const dir = T.makeTempDir();
        const path = GLib.build_filenamev([dir, 's']);
        const server = T.listen(path);
        const qt = Gio.Subprocess.new(['/usr/bin/python3', qtPeerArg, '--name', path, '--count', '120',
            '--sep', upto ? ';' : '\\n'], Gio.SubprocessFlags.STDOUT_SILENCE);
        const accepted = T.accept(server);
        const lines = Gio.DataInputStream.new(accepted.get_io_stream().get_input_stream());
        const got = [];
        for (;;) {
            const [text, length] = upto
                ? await lines.read_upto_async(';', -1, GLib.PRIORITY_DEFAULT, null)
                : await lines.read_line_async(GLib.PRIORITY_DEFAULT, null);
            if (text === null || (upto && length === 0 && got.length === 120))
                break;
            got.push(text);
            if (upto)
                assertEqual(lines.read_byte(null), ';'.charCodeAt(0));
        }
        assertEqual(JSON.stringify(got), JSON.stringify(qtRecords(120)));
        assert(qt.wait_check(null), 'the Qt peer exits 0');
    });
}

testAsync('JSON-GLib loads a document from the view until the end', async () => {
    const {client, accepted} = pair();
    const doc = encode('{"name": "ls", "list": [1, 2, 3], "nested": {"ok": true}}');
    let offset = 0;
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 2, () => {
        if (offset >= doc.length) {
            client.disconnect_from_server();
            return GLib.SOURCE_REMOVE;
        }
        client.write(doc.subarray(offset, offset + 6));
        offset += 6;
        return GLib.SOURCE_CONTINUE;
    });
    const parser = new Json.Parser();
    assert(await parser.load_from_stream_async(accepted.get_io_stream().get_input_stream(), null));
    const root = parser.get_root().get_object();
    assertEqual(root.get_string_member('name'), 'ls');
    assertEqual(root.get_array_member('list').get_length(), 3);
});

testAsync('zlib converter streams carry 64 MiB byte for byte', async () => {
    const {client, accepted} = pair();
    const out = Gio.ConverterOutputStream.new(client.get_io_stream().get_output_stream(),
        Gio.ZlibCompressor.new(Gio.ZlibCompressorFormat.ZLIB, 1));
    const input = Gio.ConverterInputStream.new(accepted.get_io_stream().get_input_stream(),
        Gio.ZlibDecompressor.new(Gio.ZlibCompressorFormat.ZLIB));
    const chunk = new Uint8Array(MIB);
    for (let i = 0; i < chunk.length; i++)
        chunk[i] = (i * 7 + (i >> 12)) & 0xff;
    const sent = new GLib.Checksum(GLib.ChecksumType.SHA256);
    const received = new GLib.Checksum(GLib.ChecksumType.SHA256);
    let total = 0;

    const sender = (async () => {
        for (let i = 0; i < 64; i++) {
            chunk[0] = i;
            sent.update(chunk);
            await out.write_all_async(chunk, GLib.PRIORITY_DEFAULT, null);
        }
        await out.close_async(GLib.PRIORITY_DEFAULT, null);
        // Only the view's output closed; the socket's end is the reader's end.
        assertEqual(client.get_state(), Ls.LocalSocketState.CONNECTED);
        client.disconnect_from_server();
    })();
    for (;;) {
        const bytes = await input.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, null);
        if (bytes.get_size() === 0)
            break;
        received.update(bytes.toArray());
        total += bytes.get_size();
    }
    await sender;
    assertEqual(total, 64 * MIB);
    assertEqual(received.get_string(), sent.get_string());
});

testAsync('both ends write everything before reading back, and both complete', async () => {
    // On GIO's socket streams this deadlocks once the kernel and the
    // queues are full; an Ls socket reads ahead again when its view has
    // only had writes waiting for a while.
    const {client, accepted} = pair();
    const size = 8 * MIB;
    const exchange = async (socket, seed) => {
        const input = socket.get_io_stream().get_input_stream();
        const out = socket.get_io_stream().get_output_stream();
        const data = new Uint8Array(size);
        for (let i = 0; i < size; i++)
            data[i] = (i * seed + (i >> 11)) & 0xff;
        // Three bytes one by one: the view then polls the socket itself.
        for (let i = 0; i < 3; i++) {
            const first = await input.read_bytes_async(1, GLib.PRIORITY_DEFAULT, null);
            assertEqual(decode(first), '!');
        }
        // write_bytes_async: GJS frees the buffer it hands to
        // write_all_async when the call returns, before the write is done.
        for (let sent = 0; sent < size;) {
            const piece = new GLib.Bytes(data.subarray(sent, Math.min(size, sent + MIB)));
            sent += await out.write_bytes_async(piece, GLib.PRIORITY_DEFAULT, null);
        }
        const sum = new GLib.Checksum(GLib.ChecksumType.SHA256);
        let got = 0;
        while (got < size) {
            const bytes = await input.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, null);
            assert(bytes.get_size() > 0, 'the stream ended early');
            sum.update(bytes.toArray());
            got += bytes.get_size();
        }
        return [GLib.compute_checksum_for_data(GLib.ChecksumType.SHA256, data), sum.get_string()];
    };
    const fromClient = exchange(client, 7);
    const fromAccepted = exchange(accepted, 13);
    for (let i = 0; i < 3; i++) {
        runFor(10);
        client.write(encode('!'));
        accepted.write(encode('!'));
    }
    const [clientSent, clientGot] = await fromClient;
    const [acceptedSent, acceptedGot] = await fromAccepted;
    assertEqual(clientGot, acceptedSent);
    assertEqual(acceptedGot, clientSent);
});

testAsync('a file spliced into the view arrives whole', async () => {
    const {dir, client, accepted} = pair();
    const path = GLib.build_filenamev([dir, 'file']);
    const data = new Uint8Array(4 * MIB);
    for (let i = 0; i < data.length; i++)
        data[i] = (i * 13) & 0xff;
    GLib.file_set_contents(path, data);
    accepted.set_read_buffer_size(65536);
    const source = Gio.File.new_for_path(path).read(null);
    const output = client.get_io_stream().get_output_stream();
    const splice = output.splice_async(source, Gio.OutputStreamSpliceFlags.CLOSE_SOURCE |
        Gio.OutputStreamSpliceFlags.CLOSE_TARGET, GLib.PRIORITY_DEFAULT, null);
    const want = GLib.compute_checksum_for_data(GLib.ChecksumType.SHA256, data);
    const got = new GLib.Checksum(GLib.ChecksumType.SHA256);
    let total = 0;
    const input = accepted.get_io_stream().get_input_stream();
    while (total < data.length) {
        const bytes = await input.read_bytes_async(65536, GLib.PRIORITY_DEFAULT, null);
        assert(bytes.get_size() > 0, 'the stream ended early');
        got.update(bytes.toArray());
        total += bytes.get_size();
    }
    assertEqual(await splice, data.length);
    assertEqual(got.get_string(), want);
});

test('reads of the view, read() and read_message() share one byte sequence, with descriptors', () => {
    const {client, accepted} = pair();
    accepted.accept_fds = true;  // off by default
    const [fdA] = GLib.file_open_tmp('ls-gjs-fd-XXXXXX');
    client.write(encode('AB'));
    assert(client.write_with_fds(new GLib.Bytes(encode('CD')), Gio.UnixFDList.new_from_array([fdA])));
    assert(client.write_message(new GLib.Bytes(encode('EFG'))));
    client.write(encode('H'));
    runUntil(() => accepted.get_bytes_available() === 12);
    const input = accepted.get_io_stream().get_input_stream();
    assertEqual(decode(input.read_bytes(1, null)), 'A');
    assertEqual(decode(accepted.read(1)), 'B');
    assertEqual(accepted.take_fds(), null);
    assertEqual(decode(input.read_bytes(2, null)), 'CD');
    assertEqual(decode(accepted.read_message()), 'EFG');
    assertEqual(decode(input.read_bytes(8, null)), 'H');
    const fds = accepted.take_fds();
    assert(fds !== null, 'the descriptor, once read past');
    assertEqual(fds.get_length(), 1);
    fds.steal_fds().forEach(fd => GLib.close(fd));
});

testAsync('no thread is started by the asynchronous calls', async () => {
    const {client, accepted} = pair();
    const before = threadIds();
    const output = client.get_io_stream().get_output_stream();
    const lines = Gio.DataInputStream.new(accepted.get_io_stream().get_input_stream());
    await output.write_all_async(encode('one\ntwo\n'), GLib.PRIORITY_DEFAULT, null);
    await output.flush_async(GLib.PRIORITY_DEFAULT, null);
    await output.splice_async(Gio.MemoryInputStream.new_from_bytes(new GLib.Bytes(encode('three\n'))),
        Gio.OutputStreamSpliceFlags.CLOSE_SOURCE, GLib.PRIORITY_DEFAULT, null);
    for (const want of ['one', 'two', 'three'])
        assertEqual((await lines.read_line_async(GLib.PRIORITY_DEFAULT, null))[0], want);
    await client.get_io_stream().close_async(GLib.PRIORITY_DEFAULT, null);
    await accepted.get_io_stream().close_async(GLib.PRIORITY_DEFAULT, null);
    assertEqual(threadIds(), before);
});

// --------------------------------------------------------------------------
// Misuse, handlers that do anything, detach

for (const closer of ['close', 'abort', 'close-view']) {
    testAsync(`a pending read, then ${closer}`, async () => {
        const {accepted} = pair();
        const view = accepted.get_io_stream();
        const reading = view.get_input_stream().read_bytes_async(8, GLib.PRIORITY_DEFAULT, null);
        runFor(10);
        if (closer === 'close')
            accepted.close();
        else if (closer === 'abort')
            accepted.abort();
        else
            view.close(null);
        if (closer === 'close-view')
            await rejects(reading, Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED);
        else
            assertEqual((await reading).get_size(), 0);
    });
}

testAsync('a read pending when connect_to_server() replaces a closing connection ends', async () => {
    const {server, client, accepted} = pair();
    accepted.set_read_buffer_size(1024);       // the old peer stops reading
    client.write(new Uint8Array(8 * MIB));
    runFor(20);
    assert(client.get_bytes_to_write() > 0, 'output stuck');
    const view = client.get_io_stream();
    const pending = view.get_input_stream().read_bytes_async(16, GLib.PRIORITY_DEFAULT, null);
    client.disconnect_from_server();
    assertEqual(client.get_state(), Ls.LocalSocketState.CLOSING);
    client.connect_to_server(null);
    assertEqual(client.get_state(), Ls.LocalSocketState.CONNECTED);
    const fresh = T.accept(server);
    assertEqual((await pending).get_size(), 0);
    assert(client.get_io_stream() === view, 'the same view');
    fresh.write(encode('fresh'));
    fresh.flush();
    const bytes = await view.get_input_stream().read_bytes_async(16, GLib.PRIORITY_DEFAULT, null);
    assertEqual(decode(bytes), 'fresh');
    client.abort();
});

testAsync('a ready-read handler closes the view while a read is pending', async () => {
    const {client, accepted} = pair();
    const view = accepted.get_io_stream();
    const id = accepted.connect('ready-read', socket => {
        socket.disconnect(id);
        view.close(null);
    });
    const reading = view.get_input_stream().read_bytes_async(8, GLib.PRIORITY_DEFAULT, null);
    client.write(encode('kept'));
    await rejects(reading, Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED);
    assertEqual(decode(accepted.read_all()), 'kept');
});

test('detach refuses while bytes are buffered, then hands the connection over', () => {
    const {client, accepted} = pair();
    client.write(encode('unread'));
    runUntil(() => accepted.get_bytes_available() === 6);
    T.assertThrowsLs(() => accepted.detach(), Ls.SocketError.OPERATION, 'detach with data');
    assertEqual(accepted.get_state(), Ls.LocalSocketState.CONNECTED);
    assertEqual(decode(accepted.read_all()), 'unread');
    const events = T.recordSignals(accepted, ['state-changed', 'disconnected']);
    const connection = accepted.detach();
    assert(connection instanceof Gio.UnixConnection);
    assertEqual(JSON.stringify(events), JSON.stringify([['state-changed', Ls.LocalSocketState.UNCONNECTED]]));
    client.write(encode('ping'));
    assert(client.wait_for_bytes_written(5000));
    assertEqual(decode(connection.get_input_stream().read_bytes(4, null)), 'ping');
    connection.close(null);
});

testAsync('GDBus peer to peer over detached connections', async () => {
    const {client, accepted} = pair();
    const serverStream = accepted.detach();
    const clientStream = client.detach();
    const [serverBus, clientBus] = await Promise.all([
        Gio.DBusConnection.new(serverStream, Gio.dbus_generate_guid(),
            Gio.DBusConnectionFlags.AUTHENTICATION_SERVER |
            Gio.DBusConnectionFlags.AUTHENTICATION_REQUIRE_SAME_USER |
            Gio.DBusConnectionFlags.DELAY_MESSAGE_PROCESSING, null, null),
        Gio.DBusConnection.new(clientStream, null, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT,
            null, null),
    ]);
    const info = Gio.DBusNodeInfo.new_for_xml(`<node><interface name='org.ls.Test'>
        <method name='Echo'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>
        <signal name='Pinged'><arg type='s'/></signal></interface></node>`);
    serverBus.register_object('/org/ls/Test', info.interfaces[0],
        (conn, sender, path, iface, method, params, invocation) => {
            conn.emit_signal(null, '/org/ls/Test', 'org.ls.Test', 'Pinged', params);
            invocation.return_value(params);
        }, null, null);
    serverBus.start_message_processing();
    const pinged = [];
    clientBus.signal_subscribe(null, 'org.ls.Test', 'Pinged', '/org/ls/Test', null,
        Gio.DBusSignalFlags.NONE, (conn, sender, path, iface, name, params) => {
            pinged.push(params.deepUnpack()[0]);
        });
    const reply = await clientBus.call(null, '/org/ls/Test', 'org.ls.Test', 'Echo',
        new GLib.Variant('(s)', ['from gjs']), new GLib.VariantType('(s)'),
        Gio.DBusCallFlags.NONE, 5000, null);
    assertEqual(reply.deepUnpack()[0], 'from gjs');
    runUntil(() => pinged.length > 0);
    assertEqual(pinged[0], 'from gjs');
    clientBus.close_sync(null);
});

// --------------------------------------------------------------------------
// examples/stream-lines.js

test('examples/stream-lines.js demo', () => {
    if (!exampleJs || !gjs) {
        print('# skipped: no example path or gjs');
        return;
    }
    const dir = T.makeTempDir();
    const [, out, err, status] = GLib.spawn_sync(null, [gjs, exampleJs, 'demo',
        GLib.build_filenamev([dir, 'lines'])], null, GLib.SpawnFlags.DEFAULT, null);
    assert(GLib.spawn_check_wait_status(status), decode(err));
    const text = decode(out);
    for (const want of ['line 1: hello', 'reply 1: hello', 'reply 3: world', '3 lines'])
        assert(text.includes(want), `"${want}" in the output:\n${text}`);
});

T.finish();
