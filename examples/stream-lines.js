#!/usr/bin/env gjs
// stream-lines.js: GIO's stream tools on Ls, with async/await
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Every Ls socket is also a Gio.IOStream (get_io_stream(), Since 1.2), so
// what GJS programs already do with GIO streams works on it: here a
// Gio.DataInputStream reads whole lines however the peer cut them, and
// replies go out through the view's output stream. The server numbers the
// lines it receives; any peer that writes lines will do (a Qt
// QLocalSocket, the client below, `lsock`).
//
// Usage:
//   gjs stream-lines.js server NAME [CONNECTIONS]   number the lines of each client
//   gjs stream-lines.js client NAME LINE...          send the lines, print the replies
//   gjs stream-lines.js demo NAME                    both in one process
//
// NAME is resolved like Qt's QLocalSocket does: an absolute path as is,
// anything else in $TMPDIR (or /tmp). From the build tree:
//   GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \
//       gjs examples/stream-lines.js demo stream-lines

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;

Gio._promisify(Ls.LocalServer.prototype, 'accept_async');
Gio._promisify(Gio.DataInputStream.prototype, 'read_line_async', 'read_line_finish_utf8');
Gio._promisify(Gio.OutputStream.prototype, 'write_all_async');
Gio._promisify(Gio.IOStream.prototype, 'close_async');

const encoder = new TextEncoder();

// Reads the lines of one client, replies to each, until the client ends.
async function numberLines(connection) {
    const stream = connection.get_io_stream();
    const lines = Gio.DataInputStream.new(stream.get_input_stream());
    const output = stream.get_output_stream();
    let count = 0;
    for (;;) {
        // null at the end of the stream: the client has gone.
        const [line] = await lines.read_line_async(GLib.PRIORITY_DEFAULT, null);
        if (line === null)
            break;
        count++;
        print(`line ${count}: ${line}`);
        await output.write_all_async(encoder.encode(`${count}: ${line}\n`),
            GLib.PRIORITY_DEFAULT, null);
    }
    print(`${count} lines`);
    // Closing the view disconnects gracefully: the replies go out first.
    await stream.close_async(GLib.PRIORITY_DEFAULT, null);
}

async function serve(name, count = Infinity) {
    const server = new Ls.LocalServer();
    server.listen(name);     // throws a GLib.Error if it cannot
    print(`listening on ${server.get_full_server_name()}`);
    const sessions = [];
    for (let i = 0; i < count; i++) {
        const connection = await server.accept_async(null);
        sessions.push(numberLines(connection).catch(e => printerr(`connection: ${e.message}`)));
    }
    await Promise.all(sessions);
    server.close();
}

// Sends each line, then reads the replies through the same kind of stream.
async function client(name, lines) {
    const socket = new Ls.LocalSocket();
    socket.connect_to_server(name);
    if (socket.get_state() !== Ls.LocalSocketState.CONNECTED)
        throw new Error(socket.get_error_string());
    const stream = socket.get_io_stream();
    const replies = Gio.DataInputStream.new(stream.get_input_stream());
    for (const line of lines) {
        await stream.get_output_stream().write_all_async(encoder.encode(`${line}\n`),
            GLib.PRIORITY_DEFAULT, null);
        const [reply] = await replies.read_line_async(GLib.PRIORITY_DEFAULT, null);
        if (reply === null)
            throw new Error('the server closed the connection');
        print(`reply ${reply}`);
    }
    await stream.close_async(GLib.PRIORITY_DEFAULT, null);
}

function main(argv) {
    const [mode, name, ...rest] = argv;
    if (!['server', 'client', 'demo'].includes(mode) || !name) {
        printerr('usage: gjs stream-lines.js server NAME [CONNECTIONS] | client NAME LINE... | ' +
                 'demo NAME');
        return 2;
    }

    const loop = new GLib.MainLoop(null, false);
    let status = 0;
    let work;
    if (mode === 'server')
        work = serve(name, rest.length > 0 ? Number(rest[0]) : Infinity);
    else if (mode === 'client')
        work = client(name, rest.length > 0 ? rest : ['hello']);
    else
        work = Promise.all([serve(name, 1), client(name, ['hello', 'streams', 'world'])]);
    work.catch(e => {
        printerr(`${mode}: ${e.message}`);
        status = 1;
    }).finally(() => loop.quit());
    loop.run();
    return status;
}

System.exit(main(ARGV));
