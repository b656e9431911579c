#!/usr/bin/env gjs
// client.js: a GJS client for a line-based Ls (or Qt QLocalServer) server
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Connects to NAME, sends LINE followed by a newline, prints the first line
// the server answers and exits 0. Exits 1 if the server cannot be reached,
// closes without answering or does not answer in time.
//
// Usage: gjs client.js NAME [LINE]
//
// NAME is resolved like Qt's QLocalSocket does: an absolute path is used as
// is, anything else lives in $TMPDIR (or /tmp). From the build tree:
//   GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \
//       gjs examples/client.js echo-server "hello"

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Ls} = imports.gi;
const System = imports.system;

const REPLY_TIMEOUT_SECONDS = 30;

function errorName(code) {
    for (const [key, value] of Object.entries(Ls.SocketError)) {
        if (value === code)
            return key;
    }
    return String(code);
}

function main(argv) {
    const [name, line = 'hello'] = argv;
    if (!name) {
        printerr('usage: gjs client.js NAME [LINE]');
        return 2;
    }

    const loop = new GLib.MainLoop(null, false);
    const socket = new Ls.LocalSocket();
    const decoder = new TextDecoder();
    let status = 1;
    let answered = false;

    // connect_to_server() is synchronous, like QLocalSocket's on Unix: the
    // state tells at once whether it worked.
    socket.connect_to_server(name);
    if (socket.get_state() !== Ls.LocalSocketState.CONNECTED) {
        printerr(`cannot connect to “${name}”: ${socket.get_error_string()} ` +
                 `(${errorName(socket.get_error())})`);
        return 1;
    }

    socket.connect('ready-read', s => {
        if (answered || !s.can_read_line())
            return;
        answered = true;
        const reply = decoder.decode(s.read_line(0).toArray());
        print(reply.replace(/\n$/, ''));
        status = 0;
        s.disconnect_from_server();
    });
    socket.connect('error-occurred', (s, code) => {
        if (!answered && code === Ls.SocketError.PEER_CLOSED)
            printerr(`the server closed the connection without answering`);
        else if (!answered)
            printerr(`connection error: ${s.get_error_string()} (${errorName(code)})`);
    });
    socket.connect('disconnected', () => loop.quit());

    let timeoutId = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, REPLY_TIMEOUT_SECONDS, () => {
        timeoutId = 0;
        printerr(`no answer from “${name}” within ${REPLY_TIMEOUT_SECONDS} s`);
        socket.abort();
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });

    socket.write(new TextEncoder().encode(`${line}\n`));
    loop.run();
    if (timeoutId)
        GLib.source_remove(timeoutId);
    return status;
}

System.exit(main(ARGV));
