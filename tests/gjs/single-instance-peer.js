// single-instance-peer.js: one launch of an application that uses
// Ls.SingleInstance, for test-single-instance.js
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs single-instance-peer.js ID ls|qt MESSAGE EXPECT [barrier] [block]
// Registers; a secondary sends MESSAGE and prints "secondary" then "sent"
// (or "failed CODE TEXT"); a primary prints "primary", then "received HEX"
// for each message, and exits after EXPECT of them.
//   barrier: print "ready" and wait for the end of stdin before registering
//   block:   primary: do not run the main loop before a line on stdin

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;

const [id, protocolName, message, expectArg, ...flags] = ARGV;
const protocol = protocolName === 'qt'
    ? Ls.SingleInstanceProtocol.QT_LOCAL_PEER : Ls.SingleInstanceProtocol.LS;
const expected = parseInt(expectArg, 10);
const stdin = new Gio.DataInputStream({
    base_stream: new Gio.UnixInputStream({fd: 0, close_fd: false}),
});

const hex = bytes => Array.from(bytes.toArray(), b => b.toString(16).padStart(2, '0')).join('');

if (flags.includes('barrier')) {
    print('ready');
    while (stdin.read_bytes(64, null).get_size() > 0)
        ;
}

const instance = Ls.SingleInstance.new(id, protocol);
instance.timeout = 30000;
try {
    instance.register(null);
} catch (e) {
    print(`failed ${e.code} ${e.message}`);
    System.exit(1);
}

if (!instance.is_primary) {
    print('secondary');
    try {
        instance.send_message(new GLib.Bytes(new TextEncoder().encode(message)), null);
    } catch (e) {
        print(`failed ${e.code} ${e.message}`);
        System.exit(1);
    }
    print('sent');
    System.exit(0);
}

print('primary');
const loop = new GLib.MainLoop(null, false);
let received = 0;
instance.connect('message-received', (_instance, bytes) => {
    print(`received ${hex(bytes)}`);
    if (++received >= expected)
        loop.quit();
});
if (flags.includes('block'))
    stdin.read_line_utf8(null);   // the main loop does not run meanwhile
loop.run();
instance.release();
