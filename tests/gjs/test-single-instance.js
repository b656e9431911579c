// test-single-instance.js: Ls.SingleInstance from GJS (issue 26)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Usage: gjs test-single-instance.js [/path/to/gjs]
// Launches are gjs subprocesses (single-instance-peer.js); each test has
// its own short TMPDIR. Prints TAP.

imports.searchPath.unshift(imports.gi.GLib.path_get_dirname(imports.system.programPath));

const T = imports.testlib;
const {GLib, Gio, Ls} = imports.gi;
const {test, assert, assertEqual, assertDeepEqual, assertThrowsLs, runUntil} = T;

const gjs = ARGV[0] || GLib.find_program_in_path('gjs');
const here = GLib.path_get_dirname(imports.system.programPath);
const peerJs = GLib.build_filenamev([here, 'single-instance-peer.js']);
const APP_ID = 'org.example.GjsTest';
const PROTOCOLS = {ls: Ls.SingleInstanceProtocol.LS, qt: Ls.SingleInstanceProtocol.QT_LOCAL_PEER};
const PROCESSES = 16;
const ROUNDS = 3;

const hex = text => Array.from(T.encode(text), b => b.toString(16).padStart(2, '0')).join('');
const bytes = text => new GLib.Bytes(T.encode(text));

// A private TMPDIR for this test (relative names and Qt's files land there).
function privateTmpdir() {
    const dir = T.makeTempDir();
    const saved = GLib.getenv('TMPDIR');
    GLib.setenv('TMPDIR', dir, true);
    T.onCleanup(() => {
        if (saved === null)
            GLib.unsetenv('TMPDIR');
        else
            GLib.setenv('TMPDIR', saved, true);
    });
    return dir;
}

function socketPath(instance) {
    const name = instance.server_name;
    return name.startsWith('/') ? name : GLib.build_filenamev([GLib.getenv('TMPDIR'), name]);
}

class Launch {
    constructor(argv) {
        this.proc = Gio.Subprocess.new(argv,
            Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE);
        this.out = new Gio.DataInputStream({base_stream: this.proc.get_stdout_pipe()});
        this.lines = [];
        T.onCleanup(() => this.kill());
    }

    // The next output line (null at the end), read while the loop runs.
    line() {
        let result;
        this.out.read_line_async(GLib.PRIORITY_DEFAULT, null, (stream, res) => {
            [result] = stream.read_line_finish_utf8(res);
        });
        runUntil(() => result !== undefined);
        if (result !== null)
            this.lines.push(result);
        return result;
    }

    expect(text) {
        const line = this.line();
        assertEqual(line, text, `output so far ${JSON.stringify(this.lines)}`);
    }

    sendLine(text) {
        this.proc.get_stdin_pipe().write_all(T.encode(`${text}\n`), null);
    }

    closeStdin() {
        this.proc.get_stdin_pipe().close(null);
    }

    // The exit status, waiting while the loop runs.
    wait() {
        let done = false;
        this.proc.wait_async(null, () => {
            done = true;
        });
        runUntil(() => done);
        return this.proc.get_if_exited() ? this.proc.get_exit_status() : -1;
    }

    kill() {
        this.proc.force_exit();
    }
}

function launch(protocol, message, expect, ...flags) {
    return new Launch([gjs, peerJs, APP_ID, protocol, message, String(expect), ...flags]);
}

function newInstance(protocol) {
    return Ls.SingleInstance.new(APP_ID, PROTOCOLS[protocol]);
}

// send_message_async through the main loop: [ok, error].
function sendAsync(instance, text) {
    let result = null;
    instance.send_message_async(bytes(text), null, (obj, res) => {
        try {
            result = [obj.send_message_finish(res), null];
        } catch (e) {
            result = [false, e];
        }
    });
    assertEqual(result, null, 'the callback ran inside the call');
    runUntil(() => result !== null);
    return result;
}

function inbox(instance) {
    const messages = [];
    instance.connect('message-received', (_instance, message) => {
        messages.push(T.decode(message));
    });
    return messages;
}

test('properties and QtLocalPeer names', () => {
    const ls = Ls.SingleInstance.new('app', Ls.SingleInstanceProtocol.LS);
    assertEqual(ls.id, 'app');
    assertEqual(ls.protocol, Ls.SingleInstanceProtocol.LS);
    assertEqual(ls.server_name, 'app');
    assertEqual(ls.timeout, 5000);
    assertEqual(ls.is_primary, false);
    ls.timeout = -1;
    assertEqual(ls.get_timeout(), -1);
    const qt = new Ls.SingleInstance({id: 'org.example.Viewer', protocol: Ls.SingleInstanceProtocol.QT_LOCAL_PEER});
    // qChecksum ("org.example.Viewer") is 0xb5e5 in Qt 5.
    const uid = new Gio.Credentials().get_unix_user();
    assertEqual(qt.server_name, `qtsingleapp-orgexa-b5e5-${uid.toString(16)}`);
});

for (const protocol of ['ls', 'qt']) {
    test(`${protocol}: roles and messages in one process`, () => {
        privateTmpdir();
        const primary = newInstance(protocol);
        const notified = [];
        primary.connect('notify::is-primary', () => notified.push(primary.is_primary));
        assertEqual(primary.register(null), true);
        assertDeepEqual(notified, [true]);
        assertEqual(T.fileMode(socketPath(primary)), 0o700, 'socket mode');
        const messages = inbox(primary);

        const secondary = newInstance(protocol);
        secondary.register(null);
        assertEqual(secondary.is_primary, false);
        for (const text of ['hello', '', 'é日本\n'])
            assertDeepEqual(sendAsync(secondary, text), [true, null]);
        assertDeepEqual(messages, ['hello', '', 'é日本\n']);

        assertThrowsLs(() => primary.send_message(bytes('x'), null), Ls.SocketError.OPERATION,
            'the primary sends');
        const path = socketPath(primary);
        primary.release();
        assertDeepEqual(notified, [true, false]);
        assertEqual(T.fileType(path), Gio.FileType.UNKNOWN, 'socket removed');
        secondary.timeout = 100;
        const [ok, error] = sendAsync(secondary, 'nobody');
        assertEqual(ok, false);
        assert(error.matches(Ls.socket_error_quark(), Ls.SocketError.SOCKET_TIMEOUT), `${error}`);
    });

    test(`${protocol}: register_async`, () => {
        privateTmpdir();
        const instance = newInstance(protocol);
        let result = null;
        instance.register_async(null, (obj, res) => {
            result = obj.register_finish(res);
        });
        assertEqual(result, null);
        runUntil(() => result !== null);
        assertEqual(result, true);
        assertEqual(instance.is_primary, true);
        instance.release();
    });

    test(`${protocol}: handlers may release, drop or register again`, () => {
        privateTmpdir();
        for (const action of ['release', 'drop', 'reregister']) {
            let primary = newInstance(protocol);
            primary.register(null);
            const path = socketPath(primary);
            const calls = [];
            primary.connect('message-received', instance => {
                calls.push(action);
                if (action === 'release') {
                    instance.release();
                } else if (action === 'drop') {
                    primary = null;
                } else {
                    instance.release();
                    assert(instance.register(null) && instance.is_primary, 'registered again');
                }
            });
            const secondary = newInstance(protocol);
            secondary.register(null);
            assertDeepEqual(sendAsync(secondary, 'one'), [true, null]);
            assertDeepEqual(calls, [action]);
            if (action === 'reregister') {
                assertDeepEqual(sendAsync(secondary, 'two'), [true, null]);
                assertDeepEqual(calls, [action, action]);
                primary.release();
            } else if (action === 'release') {
                assertEqual(T.fileType(path), Gio.FileType.UNKNOWN, 'socket removed');
            } else {
                imports.system.gc();
                runUntil(() => T.fileType(path) === Gio.FileType.UNKNOWN);
            }
        }
    });

    test(`${protocol}: callbacks may release their instance`, () => {
        privateTmpdir();
        const primary = newInstance(protocol);
        primary.register(null);
        const messages = inbox(primary);
        let secondary = newInstance(protocol);
        secondary.register(null);
        let done = null;
        secondary.send_message_async(bytes('cb'), null, (obj, res) => {
            done = obj.send_message_finish(res);
            obj.release();
        });
        secondary = null;   // the pending call keeps it alive
        imports.system.gc();
        runUntil(() => done !== null);
        assertEqual(done, true);
        assertDeepEqual(messages, ['cb']);
        primary.release();
    });

    test(`${protocol}: ${PROCESSES} launches at once, ${ROUNDS} rounds`, () => {
        privateTmpdir();
        const path = socketPath(newInstance(protocol));
        for (let round = 0; round < ROUNDS; round++) {
            const killPrimary = round % 2 === 1;
            const launches = [];
            for (let i = 0; i < PROCESSES; i++)
                launches.push(launch(protocol, `m${round}-${i}`, PROCESSES - 1, 'barrier'));
            for (const l of launches)
                l.expect('ready');
            for (const l of launches)
                l.closeStdin();   // all register now
            const firsts = launches.map(l => l.line());
            const primaries = launches.filter((l, i) => firsts[i] === 'primary');
            assertEqual(primaries.length, 1, `one primary: ${JSON.stringify(firsts)}`);
            const primary = primaries[0];
            const received = [];
            for (let i = 0; i < PROCESSES - 1; i++)
                received.push(primary.line());
            const expected = launches.filter(l => l !== primary)
                .map(l => `received ${hex(`m${round}-${launches.indexOf(l)}`)}`);
            assertDeepEqual(received.sort(), expected.sort(), 'every message once');
            for (const l of launches.filter(x => x !== primary)) {
                assertEqual(l.line(), 'sent');
                assertEqual(l.wait(), 0);
            }
            if (killPrimary) {
                // Killed before it releases: its socket stays, stale.
                primary.proc.send_signal(9);
                primary.wait();
            } else {
                assertEqual(primary.wait(), 0);
                assertEqual(T.fileType(path), Gio.FileType.UNKNOWN, 'socket removed');
            }
        }
    });

    test(`${protocol}: a killed primary's socket is taken over by the next launch`, () => {
        privateTmpdir();
        const first = launch(protocol, '', 1);
        first.expect('primary');
        first.proc.send_signal(9);
        first.wait();
        const next = newInstance(protocol);
        assertEqual(T.fileType(socketPath(next)), Gio.FileType.SPECIAL, 'stale socket left');
        next.register(null);
        assertEqual(next.is_primary, true);
        const messages = inbox(next);
        const second = launch(protocol, 'after the crash', 0);
        second.expect('secondary');
        second.expect('sent');
        assertEqual(second.wait(), 0);
        assertDeepEqual(messages, ['after the crash']);
        next.release();
    });

    test(`${protocol}: a primary whose loop is blocked times the secondary out`, () => {
        privateTmpdir();
        const primary = launch(protocol, '', 1, 'block');
        primary.expect('primary');
        const secondary = newInstance(protocol);
        secondary.register(null);
        assertEqual(secondary.is_primary, false);
        secondary.timeout = 300;
        const error = assertThrowsLs(() => secondary.send_message(bytes('lost'), null),
            Ls.SocketError.SOCKET_TIMEOUT, 'blocked primary');
        assert(error.message.includes('300 ms'), error.message);
        primary.sendLine('go');
        secondary.timeout = 30000;
        assertEqual(secondary.send_message(bytes('second'), null), true);
        // Only the acknowledged message is announced.
        assertEqual(primary.line(), `received ${hex('second')}`);
        assertEqual(primary.wait(), 0);
    });

    test(`${protocol}: the election lock held for 2 s before the bind`, () => {
        privateTmpdir();
        // A launch that takes the lock (as a primary does from its election
        // to its listen) and registers only 2 s later.
        const holdLock = protocol === 'ls'
            ? 'import fcntl,os,sys,time; fd=os.open(sys.argv[1]+".lock",os.O_RDONLY|os.O_CREAT,0o644); fcntl.flock(fd,fcntl.LOCK_EX)'
            : 'import fcntl,os,sys,time; fd=os.open(sys.argv[1]+"-lockfile",os.O_RDWR|os.O_CREAT,0o666); fcntl.lockf(fd,fcntl.LOCK_EX)';
        const path = socketPath(newInstance(protocol));
        const late = new Launch(['sh', '-c',
            `/usr/bin/python3 -c '${holdLock}; print("locked", flush=True); time.sleep(2)' "$0" && ` +
            `exec "$1" "$2" "$3" "$4" "" 1`, path, gjs, peerJs, APP_ID, protocol]);
        late.expect('locked');
        const secondary = newInstance(protocol);
        secondary.register(null);
        assertEqual(secondary.is_primary, false, 'the lock is held: a secondary');
        secondary.timeout = 30000;
        assertEqual(secondary.send_message(bytes('through the window'), null), true);
        late.expect('primary');
        late.expect(`received ${hex('through the window')}`);
        assertEqual(late.wait(), 0);
    });
}

T.finish();
