#!/usr/bin/env gjs
// async-echo.js: an echo server and client written with async/await
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The asynchronous calls of Ls (Since 1.2) turned into promises with
// Gio._promisify: no signal handlers, no blocking wait_for_* call. Each
// connection of the server is one async function: read a line, write it
// back, until the client leaves.
//
// Usage:
//   gjs async-echo.js server NAME [CONNECTIONS]   serve (CONNECTIONS, then exit)
//   gjs async-echo.js client NAME LINE...          send each LINE, print each echo
//   gjs async-echo.js demo NAME                    both in one process
//
// NAME is resolved like Qt's QLocalSocket does: an absolute path as is,
// anything else in $TMPDIR (or /tmp). From the build tree:
//   GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \
//       gjs examples/async-echo.js demo async-echo

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;

Gio._promisify(Ls.LocalServer.prototype, 'accept_async');
for (const name of ['connect_to_server_async', 'read_line_async', 'read_bytes_async',
    'write_all_async', 'disconnect_async'])
    Gio._promisify(Ls.LocalSocket.prototype, name);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Echoes one connection line by line; an empty read is the end of the stream.
async function echo(connection) {
    for (;;) {
        const line = await connection.read_line_async(null);
        if (line.get_size() === 0)
            break;
        await connection.write_all_async(line, null);
    }
    await connection.disconnect_async(null);
}

// Accepts connections (all of them, or @count) and echoes each concurrently.
async function serve(name, count = Infinity) {
    const server = new Ls.LocalServer();
    server.listen(name);     // throws a GLib.Error if it cannot
    print(`listening on ${server.get_full_server_name()}`);
    const sessions = [];
    for (let i = 0; i < count; i++) {
        const connection = await server.accept_async(null);
        sessions.push(echo(connection).catch(e => printerr(`connection: ${e.message}`)));
    }
    await Promise.all(sessions);
    server.close();
}

// Sends each line and prints what comes back.
async function client(name, lines) {
    const socket = new Ls.LocalSocket();
    await socket.connect_to_server_async(name, null);
    for (const line of lines) {
        await socket.write_all_async(new GLib.Bytes(encoder.encode(`${line}\n`)), null);
        const reply = await socket.read_line_async(null);
        if (reply.get_size() === 0)
            throw new Error('the server closed the connection');
        print(decoder.decode(reply.toArray()).replace(/\n$/, ''));
    }
    await socket.disconnect_async(null);
}

function main(argv) {
    const [mode, name, ...rest] = argv;
    if (!['server', 'client', 'demo'].includes(mode) || !name) {
        printerr('usage: gjs async-echo.js server NAME [CONNECTIONS] | client NAME LINE... | ' +
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
        work = Promise.all([serve(name, 1), client(name, ['hello', 'async', 'world'])]);
    work.catch(e => {
        printerr(`${mode}: ${e.message}`);
        status = 1;
    }).finally(() => loop.quit());
    loop.run();
    return status;
}

System.exit(main(ARGV));
