#!/usr/bin/env gjs
// gio-server.js: an Ls server made from a Gio.UnixSocketAddress, answering a
// Gio.SocketClient
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Both halves live in this script, each on its own side of the socket: the
// server is an Ls.LocalServer listening on the address (listen_address),
// the client is plain GIO connecting to the same address object. The client
// sends LINE and a newline, the server answers "echo: LINE", the client
// prints the answer and the script exits 0 (1 on any failure).
//
// Usage: gjs gio-server.js path|abstract|abstract-padded NAME [LINE]
//
//   path             NAME is a file path, used as it is (no $TMPDIR)
//   abstract         NAME is a Linux abstract name, exact length (Qt 6 style)
//   abstract-padded  NAME is an abstract name padded with NULs (D-Bus style)
//
// From the build tree:
//   GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/lib \
//       gjs examples/gio-server.js abstract my-app "hello"

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;

const TIMEOUT_SECONDS = 30;

const TYPES = {
    'path': Gio.UnixSocketAddressType.PATH,
    'abstract': Gio.UnixSocketAddressType.ABSTRACT,
    'abstract-padded': Gio.UnixSocketAddressType.ABSTRACT_PADDED,
};

function main(argv) {
    const [typeName, name, line = 'hello'] = argv;
    if (!(typeName in TYPES) || !name) {
        printerr('usage: gjs gio-server.js path|abstract|abstract-padded NAME [LINE]');
        return 2;
    }

    const address = new Gio.UnixSocketAddress({path: name, address_type: TYPES[typeName]});
    const loop = new GLib.MainLoop(null, false);
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const connections = [];
    let status = 1;

    const fail = message => {
        printerr(message);
        loop.quit();
    };

    // The server: any GUnixSocketAddress of a named type will do.
    const server = new Ls.LocalServer();
    try {
        server.listen_address(address);
    } catch (e) {
        printerr(`cannot listen: ${e.message}`);
        return 1;
    }
    // get_address() gives back what the server really listens on.
    const listening = server.get_address();
    print(`listening on ${typeName} “${listening.get_path()}”`);

    server.connect('new-connection', () => {
        let socket;
        while ((socket = server.next_pending_connection()) !== null) {
            connections.push(socket);
            socket.connect('ready-read', s => {
                while (s.can_read_line()) {
                    const request = decoder.decode(s.read_line(0).toArray());
                    s.write(encoder.encode(`echo: ${request}`));
                }
            });
        }
    });

    // The client: plain GIO, the same address object.
    const client = new Gio.SocketClient();
    client.connect_async(address, null, (c, result) => {
        let connection;
        try {
            connection = c.connect_finish(result);
        } catch (e) {
            fail(`cannot connect: ${e.message}`);
            return;
        }
        const output = connection.get_output_stream();
        const input = new Gio.DataInputStream({
            base_stream: connection.get_input_stream(),
            close_base_stream: false,
        });
        output.write_bytes_async(new GLib.Bytes(encoder.encode(`${line}\n`)),
            GLib.PRIORITY_DEFAULT, null, (o, res) => {
                try {
                    o.write_bytes_finish(res);
                } catch (e) {
                    fail(`cannot send: ${e.message}`);
                    return;
                }
                input.read_line_async(GLib.PRIORITY_DEFAULT, null, (i, res2) => {
                    try {
                        const [bytes] = i.read_line_finish(res2);
                        if (bytes === null) {
                            fail('the server closed without answering');
                            return;
                        }
                        print(decoder.decode(bytes));
                        status = 0;
                    } catch (e) {
                        printerr(`cannot read: ${e.message}`);
                    }
                    connection.close(null);
                    loop.quit();
                });
            });
    });

    GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, TIMEOUT_SECONDS, () => {
        fail('no answer in time');
        return GLib.SOURCE_REMOVE;
    });
    loop.run();

    connections.forEach(s => s.abort());
    server.close();
    return status;
}

System.exit(main(ARGV));
