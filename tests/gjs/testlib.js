// testlib.js: a tiny TAP harness and helpers for the GJS tests of Ls
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Loaded with imports.searchPath; see test-ls.js.

imports.gi.versions.GLib = '2.0';
imports.gi.versions.Gio = '2.0';
imports.gi.versions.Ls = '1.0';
const {GLib, Gio, Ls} = imports.gi;
const System = imports.system;

// A guard against hanging forever; never a pass criterion.
var SAFETY_TIMEOUT_MS = 30000;

let _count = 0;
let _failures = 0;
let _cleanups = [];

function _describe(value) {
    if (value instanceof Uint8Array)
        return `Uint8Array[${Array.from(value).join(',')}]`;
    try {
        return JSON.stringify(value);
    } catch (e) {
        return String(value);
    }
}

var AssertionError = class AssertionError extends Error {};

function assert(cond, message = 'assertion failed') {
    if (!cond)
        throw new AssertionError(message);
}

function assertEqual(actual, expected, message = '') {
    if (actual !== expected) {
        throw new AssertionError(`${message ? `${message}: ` : ''}expected ${_describe(expected)}, ` +
            `got ${_describe(actual)}`);
    }
}

function assertDeepEqual(actual, expected, message = '') {
    const a = _describe(actual), e = _describe(expected);
    if (a !== e)
        throw new AssertionError(`${message ? `${message}: ` : ''}expected ${e}, got ${a}`);
}

// Runs fn, expects it to throw a GLib.Error of the Ls domain with @code.
function assertThrowsLs(fn, code, message = '') {
    let thrown = null;
    try {
        fn();
    } catch (e) {
        thrown = e;
    }
    assert(thrown !== null, `${message}: expected a GLib.Error with code ${code}, nothing thrown`);
    assert(thrown instanceof GLib.Error, `${message}: expected a GLib.Error, got ${thrown}`);
    assert(thrown.matches(Ls.socket_error_quark(), code),
        `${message}: expected Ls error ${code}, got domain ${thrown.domain} code ${thrown.code}: ` +
        `${thrown.message}`);
    assert(thrown.message.length > 0, 'the error message must not be empty');
    return thrown;
}

function onCleanup(fn) {
    _cleanups.push(fn);
}

function test(name, fn) {
    _count++;
    _cleanups = [];
    try {
        fn();
        print(`ok ${_count} - ${name}`);
    } catch (e) {
        _failures++;
        print(`not ok ${_count} - ${name}`);
        for (const line of `${e}\n${e.stack || ''}`.split('\n'))
            print(`# ${line}`);
    } finally {
        for (const c of _cleanups.reverse()) {
            try {
                c();
            } catch (e) {
                print(`# cleanup failed: ${e}`);
            }
        }
        _cleanups = [];
    }
}

function finish() {
    print(`1..${_count}`);
    if (_failures > 0)
        printerr(`${_failures} of ${_count} tests failed`);
    System.exit(_failures > 0 ? 1 : 0);
}

// Iterates the default main context until cond() is true.
function runUntil(cond, timeoutMs = SAFETY_TIMEOUT_MS) {
    const ctx = GLib.MainContext.default();
    const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
    const wake = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => GLib.SOURCE_CONTINUE);
    try {
        while (!cond()) {
            if (GLib.get_monotonic_time() > deadline)
                throw new AssertionError(`condition not reached within ${timeoutMs} ms`);
            ctx.iteration(true);
        }
    } finally {
        GLib.source_remove(wake);
    }
}

// Runs the async test function fn to completion on the default main
// context (a rejection fails the test).
function testAsync(name, fn, timeoutMs = SAFETY_TIMEOUT_MS) {
    test(name, () => {
        let done = false, error = null;
        fn().then(() => {
            done = true;
        }, e => {
            error = e;
            done = true;
        });
        runUntil(() => done, timeoutMs);
        if (error)
            throw error;
    });
}

// Awaits promise, which must reject with a GLib.Error of domain and code;
// returns that error.
async function rejects(promise, domain, code) {
    try {
        await promise;
    } catch (e) {
        assert(e instanceof GLib.Error, `a GLib.Error: ${e}`);
        assert(e.matches(domain, code), `expected code ${code}, got ${e.code}: ${e.message}`);
        return e;
    }
    throw new AssertionError('the promise was not rejected');
}

function runFor(ms) {
    let done = false;
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        done = true;
        return GLib.SOURCE_REMOVE;
    });
    runUntil(() => done);
}

function makeTempDir() {
    const dir = GLib.Dir.make_tmp('ls-gjs-XXXXXX');
    onCleanup(() => removeTree(dir));
    return dir;
}

function removeTree(path) {
    const file = Gio.File.new_for_path(path);
    const type = file.query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    if (type === Gio.FileType.DIRECTORY) {
        const e = file.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        let info;
        while ((info = e.next_file(null)) !== null)
            removeTree(GLib.build_filenamev([path, info.get_name()]));
        e.close(null);
    }
    if (type !== Gio.FileType.UNKNOWN)
        file.delete(null);
}

function fileType(path) {
    return Gio.File.new_for_path(path).query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
}

function fileMode(path) {
    const info = Gio.File.new_for_path(path).query_info('unix::mode',
        Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    return info.get_attribute_uint32('unix::mode') & 0o7777;
}

// A socket file nobody listens on, as a crashed server leaves it.
function makeStaleSocket(path) {
    const s = Gio.Socket.new(Gio.SocketFamily.UNIX, Gio.SocketType.STREAM, Gio.SocketProtocol.DEFAULT);
    s.bind(Gio.UnixSocketAddress.new(path), false);
    s.close();
    return path;
}

const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

function encode(str) {
    return _encoder.encode(str);
}

function decode(bytes) {
    if (bytes instanceof GLib.Bytes)
        bytes = bytes.toArray();
    return _decoder.decode(bytes);
}

function bytesToArray(gbytes) {
    assert(gbytes !== null, 'expected a GBytes, got null');
    return gbytes.toArray();
}

function recordSignals(obj, names) {
    const events = [];
    for (const name of names) {
        obj.connect(name, (_obj, ...args) => {
            events.push(args.length ? [name, ...args] : [name]);
        });
    }
    return events;
}

function listen(name, options = Ls.SocketOptions.NONE) {
    const server = new Ls.LocalServer();
    server.set_socket_options(options);
    assertEqual(server.listen(name), true, 'listen');
    onCleanup(() => server.close());
    return server;
}

function connectTo(name, options = Ls.SocketOptions.NONE) {
    const sock = new Ls.LocalSocket();
    sock.set_socket_options(options);
    sock.connect_to_server(name);
    assertEqual(sock.get_state(), Ls.LocalSocketState.CONNECTED, `connect to ${name}: ${sock.get_error_string()}`);
    onCleanup(() => sock.abort());
    return sock;
}

function accept(server) {
    runUntil(() => server.has_pending_connections());
    const s = server.next_pending_connection();
    assert(s !== null, 'no pending connection');
    onCleanup(() => s.abort());
    return s;
}

// Reads n bytes through the main loop.
function readExactly(sock, n) {
    const chunks = [];
    let got = 0;
    runUntil(() => {
        if (sock.get_bytes_available() > 0) {
            const a = bytesToArray(sock.read(n - got));
            chunks.push(a);
            got += a.length;
        }
        return got >= n;
    });
    const out = new Uint8Array(got);
    let off = 0;
    for (const c of chunks) {
        out.set(c, off);
        off += c.length;
    }
    return out;
}
