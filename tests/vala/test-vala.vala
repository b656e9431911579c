/* test-vala.vala: Ls from Vala, through the generated ls-1.0.vapi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Listens, connects, exchanges bytes both ways, checks error codes (thrown
 * and recorded), the signal order of a connect, a peer close, and a Vala
 * subclass overriding the incoming_connection virtual method, and the enum
 * types of every enum-valued accessor, property and signal argument.
 */

static string make_dir () {
    try {
        return DirUtils.make_tmp ("ls-vala-XXXXXX");
    } catch (FileError e) {
        GLib.error ("make_tmp: %s", e.message);
    }
}

static void remove_dir (string dir) {
    try {
        var d = Dir.open (dir);
        string? name;
        while ((name = d.read_name ()) != null)
            FileUtils.unlink (Path.build_filename (dir, name));
    } catch (FileError e) {
    }
    DirUtils.remove (dir);
}

/* Reads exactly @n bytes with the blocking, Qt-style API. */
static uint8[] read_exactly (Ls.LocalSocket sock, size_t n) {
    var buf = new ByteArray ();
    while (buf.len < n) {
        if (sock.get_bytes_available () == 0)
            assert_true (sock.wait_for_ready_read (-1));
        var chunk = sock.read (n - buf.len);
        buf.append (chunk.get_data ());
    }
    return buf.steal ();
}

static Ls.LocalSocket take_connection (Ls.LocalServer server) {
    bool timed_out;
    try {
        assert_true (server.wait_for_new_connection (-1, out timed_out));
    } catch (Error e) {
        GLib.error ("wait_for_new_connection: %s", e.message);
    }
    assert_false (timed_out);
    var conn = server.next_pending_connection ();
    assert_nonnull (conn);
    return (!) conn;
}

static void test_exchange () {
    var dir = make_dir ();
    var path = Path.build_filename (dir, "s");

    var server = new Ls.LocalServer ();
    try {
        assert_true (server.listen (path));
    } catch (Error e) {
        GLib.error ("listen: %s", e.message);
    }
    assert_true (server.is_listening ());
    assert_true (server.listening);
    assert_cmpstr (server.get_full_server_name (), CompareOperator.EQ, path);
    assert_true (FileUtils.test (path, FileTest.EXISTS));

    var client = new Ls.LocalSocket ();
    var events = new GenericArray<string> ();
    client.state_changed.connect ((s, state) => events.add ("state-changed %d".printf ((int) state)));
    client.connected.connect ((s) => events.add ("connected"));
    client.connect_to_server (path);
    assert_true (client.get_state () == Ls.LocalSocketState.CONNECTED);
    assert_cmpuint (events.length, CompareOperator.EQ, 3);
    assert_cmpstr (events[0], CompareOperator.EQ, "state-changed 2");
    assert_cmpstr (events[1], CompareOperator.EQ, "state-changed 3");
    assert_cmpstr (events[2], CompareOperator.EQ, "connected");

    var conn = take_connection (server);
    assert_true (conn.get_state () == Ls.LocalSocketState.CONNECTED);

    /* Client -> server, as a uint8[] (array length=size). */
    uint8[] hello = "hello from vala\n".data;
    assert_cmpint ((int) client.write (hello), CompareOperator.EQ, hello.length);
    assert_true (client.wait_for_bytes_written (-1));
    var got = read_exactly (conn, hello.length);
    assert_cmpmem (got, hello);

    /* Server -> client, as a GBytes, all byte values. */
    var all = new uint8[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8) i;
    assert_cmpint ((int) conn.write_bytes (new Bytes (all)), CompareOperator.EQ, 256);
    assert_true (conn.wait_for_bytes_written (-1));
    assert_cmpmem (read_exactly (client, 256), all);

    /* Lines. */
    conn.write ("one\ntwo\n".data);
    conn.flush ();
    while (client.get_bytes_available () < 8)
        assert_true (client.wait_for_ready_read (-1));
    assert_true (client.can_read_line ());
    assert_cmpmem (client.read_line (0).get_data (), "one\n".data);
    assert_cmpmem (client.peek (3).get_data (), "two".data);
    assert_cmpmem (client.read_all ().get_data (), "two\n".data);

    /* Peer credentials (beyond Qt). */
    var creds = conn.get_peer_credentials ();
    assert_nonnull (creds);
    try {
        assert_cmpint (((!) creds).get_unix_pid (), CompareOperator.EQ, (int) Posix.getpid ());
    } catch (Error e) {
        GLib.error ("get_unix_pid: %s", e.message);
    }

    /* The peer closes: PEER_CLOSED, then disconnected. */
    var errors = new GenericArray<string> ();
    int disconnected = 0;
    client.error_occurred.connect ((s, code) => errors.add ("%d".printf ((int) code)));
    client.disconnected.connect ((s) => disconnected++);
    conn.write ("bye".data);
    conn.disconnect_from_server ();
    /* As in Qt, the data leaves from the main loop or in a wait. */
    assert_true (conn.get_state () == Ls.LocalSocketState.CLOSING);
    assert_true (conn.wait_for_disconnected (-1));
    assert_true (client.wait_for_disconnected (-1));
    assert_cmpint (disconnected, CompareOperator.EQ, 1);
    assert_cmpuint (errors.length, CompareOperator.EQ, 1);
    assert_cmpstr (errors[0], CompareOperator.EQ, "%d".printf ((int) Ls.SocketError.PEER_CLOSED));
    assert_true (client.get_error () == Ls.SocketError.PEER_CLOSED);
    assert_cmpmem (client.read_all ().get_data (), "bye".data);

    server.close ();
    assert_false (FileUtils.test (path, FileTest.EXISTS));
    remove_dir (dir);
}

static void test_errors () {
    var dir = make_dir ();
    var server = new Ls.LocalServer ();

    try {
        server.listen ("");
        assert_not_reached ();
    } catch (Ls.SocketError e) {
        assert_true (e is Ls.SocketError.SERVER_NOT_FOUND);
        assert_true (e.domain == Ls.SocketError.quark ());
        assert_cmpint (e.code, CompareOperator.EQ, 2);
    } catch (Error e) {
        GLib.error ("wrong error domain: %s", e.message);
    }
    assert_true (server.get_server_error () == Ls.SocketError.SERVER_NOT_FOUND);
    assert_cmpstr (server.get_error_string (), CompareOperator.NE, "");

    /* A regular file in the way: ADDRESS_IN_USE, file untouched. */
    var path = Path.build_filename (dir, "file");
    try {
        FileUtils.set_contents (path, "keep");
    } catch (FileError e) {
        GLib.error ("set_contents: %s", e.message);
    }
    try {
        server.listen (path);
        assert_not_reached ();
    } catch (Ls.SocketError e) {
        assert_true (e is Ls.SocketError.ADDRESS_IN_USE);
        assert_true (e.message.contains (path));
    } catch (Error e) {
        GLib.error ("wrong error domain: %s", e.message);
    }
    string contents;
    try {
        FileUtils.get_contents (path, out contents);
    } catch (FileError e) {
        GLib.error ("get_contents: %s", e.message);
    }
    assert_cmpstr (contents, CompareOperator.EQ, "keep");

    /* wait_for_new_connection on a server that does not listen. */
    try {
        bool timed_out;
        server.wait_for_new_connection (0, out timed_out);
        assert_not_reached ();
    } catch (Ls.SocketError e) {
        assert_true (e is Ls.SocketError.OPERATION);
    } catch (Error e) {
        GLib.error ("wrong error domain: %s", e.message);
    }

    /* Connect failures are reported Qt-style: state, signal, get_error. */
    var sock = new Ls.LocalSocket ();
    int seen = Ls.SocketError.UNKNOWN;
    sock.error_occurred.connect ((s, code) => seen = code);
    sock.connect_to_server (Path.build_filename (dir, "nobody"));
    assert_true (sock.get_state () == Ls.LocalSocketState.UNCONNECTED);
    assert_true (seen == Ls.SocketError.SERVER_NOT_FOUND);
    assert_true (sock.get_error () == Ls.SocketError.SERVER_NOT_FOUND);

    sock.connect_to_server (path);  /* a regular file: refused */
    assert_true (sock.get_error () == Ls.SocketError.CONNECTION_REFUSED);

    /* remove_server removes only a socket (API.md fix 12). */
    try {
        Ls.LocalServer.remove_server (path);
        GLib.error ("remove_server removed a regular file");
    } catch (Ls.SocketError e) {
        assert_true (e is Ls.SocketError.ADDRESS_IN_USE);
    } catch (Error e) {
        GLib.error ("wrong error domain: %s", e.message);
    }
    assert_true (FileUtils.test (path, FileTest.EXISTS));
    remove_dir (dir);
}

static void test_options () {
    var dir = make_dir ();
    var path = Path.build_filename (dir, "priv");
    var server = new Ls.LocalServer ();
    server.socket_options = Ls.SocketOptions.USER_ACCESS;
    assert_true (server.get_socket_options () == Ls.SocketOptions.USER_ACCESS);
    server.max_pending_connections = 5;
    assert_cmpint (server.get_max_pending_connections (), CompareOperator.EQ, 5);
    try {
        server.listen (path);
    } catch (Error e) {
        GLib.error ("listen: %s", e.message);
    }
    Posix.Stat st;
    assert_cmpint (Posix.stat (path, out st), CompareOperator.EQ, 0);
    assert_cmpint ((int) (st.st_mode & 07777), CompareOperator.EQ, 0700);
    server.close ();
    remove_dir (dir);
}

/* The static type Vala gives an expression, as a GType: the generic
 * parameter is inferred from the argument, so an accessor typed `int` in the
 * VAPI gives G_TYPE_INT here, whatever value it returns. */
static Type static_type_of<T> (T value) {
    return typeof (T);
}

/* Issue 27: every enum-valued return, signal argument and property keeps its
 * enum type in Vala (the error code used to come out as int). Checked by
 * type, not by value. */
static void test_types () {
    var dir = make_dir ();
    var server = new Ls.LocalServer ();
    var sock = new Ls.LocalSocket ();

    assert_true (typeof (Ls.SocketErrorCode) == Type.from_name ("LsSocketError"));
    assert_true (typeof (Ls.LocalSocketState) == Type.from_name ("LsLocalSocketState"));
    assert_true (typeof (Ls.SocketOptions) == Type.from_name ("LsSocketOptions"));

    assert_true (static_type_of (sock.get_error ()) == typeof (Ls.SocketErrorCode));
    assert_true (static_type_of (server.get_server_error ()) == typeof (Ls.SocketErrorCode));
    assert_true (static_type_of (sock.get_state ()) == typeof (Ls.LocalSocketState));
    assert_true (static_type_of (sock.state) == typeof (Ls.LocalSocketState));
    assert_true (static_type_of (sock.get_socket_options ()) == typeof (Ls.SocketOptions));
    assert_true (static_type_of (sock.socket_options) == typeof (Ls.SocketOptions));
    assert_true (static_type_of (server.get_socket_options ()) == typeof (Ls.SocketOptions));
    assert_true (static_type_of (server.socket_options) == typeof (Ls.SocketOptions));

    /* The properties as the library registers them. */
    assert_true (sock.get_class ().find_property ("state").value_type == typeof (Ls.LocalSocketState));
    assert_true (sock.get_class ().find_property ("socket-options").value_type == typeof (Ls.SocketOptions));
    assert_true (server.get_class ().find_property ("socket-options").value_type == typeof (Ls.SocketOptions));

    /* The signal arguments, as a handler receives them. */
    Type error_arg = Type.INVALID;
    string error_name = "";
    var state_args = new GenericArray<string> ();
    sock.error_occurred.connect ((s, code) => {
        error_arg = static_type_of (code);
        error_name = code.to_string ();
    });
    sock.state_changed.connect ((s, state) => {
        assert_true (static_type_of (state) == typeof (Ls.LocalSocketState));
        state_args.add (state.to_string ());
    });
    sock.connect_to_server (Path.build_filename (dir, "nobody"));
    assert_true (error_arg == typeof (Ls.SocketErrorCode));
    /* to_string () of an enum names the member; of an int it prints digits. */
    assert_cmpstr (error_name, CompareOperator.EQ, "LS_SOCKET_ERROR_SERVER_NOT_FOUND");
    assert_cmpstr (sock.get_error ().to_string (), CompareOperator.EQ, "LS_SOCKET_ERROR_SERVER_NOT_FOUND");
    assert_cmpuint (state_args.length, CompareOperator.EQ, 2);
    assert_cmpstr (state_args[0], CompareOperator.EQ, "LS_LOCAL_SOCKET_STATE_CONNECTING");
    assert_cmpstr (state_args[1], CompareOperator.EQ, "LS_LOCAL_SOCKET_STATE_UNCONNECTED");

    /* The value type and the errordomain name the same codes. */
    assert_cmpint (Ls.SocketErrorCode.UNKNOWN, CompareOperator.EQ, Ls.SocketError.UNKNOWN);
    assert_cmpint (Ls.SocketErrorCode.CONNECTION_REFUSED, CompareOperator.EQ, Ls.SocketError.CONNECTION_REFUSED);
    assert_cmpint (Ls.SocketErrorCode.PEER_CLOSED, CompareOperator.EQ, Ls.SocketError.PEER_CLOSED);
    assert_cmpint (Ls.SocketErrorCode.SERVER_NOT_FOUND, CompareOperator.EQ, Ls.SocketError.SERVER_NOT_FOUND);
    assert_cmpint (Ls.SocketErrorCode.SOCKET_ACCESS, CompareOperator.EQ, Ls.SocketError.SOCKET_ACCESS);
    assert_cmpint (Ls.SocketErrorCode.SOCKET_RESOURCE, CompareOperator.EQ, Ls.SocketError.SOCKET_RESOURCE);
    assert_cmpint (Ls.SocketErrorCode.SOCKET_TIMEOUT, CompareOperator.EQ, Ls.SocketError.SOCKET_TIMEOUT);
    assert_cmpint (Ls.SocketErrorCode.DATAGRAM_TOO_LARGE, CompareOperator.EQ, Ls.SocketError.DATAGRAM_TOO_LARGE);
    assert_cmpint (Ls.SocketErrorCode.CONNECTION, CompareOperator.EQ, Ls.SocketError.CONNECTION);
    assert_cmpint (Ls.SocketErrorCode.ADDRESS_IN_USE, CompareOperator.EQ, Ls.SocketError.ADDRESS_IN_USE);
    assert_cmpint (Ls.SocketErrorCode.UNSUPPORTED_SOCKET_OPERATION, CompareOperator.EQ, Ls.SocketError.UNSUPPORTED_SOCKET_OPERATION);
    assert_cmpint (Ls.SocketErrorCode.OPERATION, CompareOperator.EQ, Ls.SocketError.OPERATION);

    /* A thrown error still carries the domain and a code of the same enum. */
    try {
        server.listen ("");
        assert_not_reached ();
    } catch (Ls.SocketError e) {
        assert_true (e.code == Ls.SocketErrorCode.SERVER_NOT_FOUND);
        assert_true (server.get_server_error () == e.code);
    } catch (Error e) {
        GLib.error ("wrong error domain: %s", e.message);
    }
    remove_dir (dir);
}

class CountingServer : Ls.LocalServer {
    public int incoming = 0;

    public override void incoming_connection (int socket_descriptor) {
        incoming++;
        var sock = new Ls.LocalSocket ();
        try {
            sock.set_socket_descriptor (socket_descriptor, Ls.LocalSocketState.CONNECTED);
        } catch (Error e) {
            GLib.error ("set_socket_descriptor: %s", e.message);
        }
        add_pending_connection (sock);
    }
}

static void test_subclass () {
    var dir = make_dir ();
    var path = Path.build_filename (dir, "sub");
    var server = new CountingServer ();
    int signals = 0;
    server.new_connection.connect (() => signals++);
    try {
        server.listen (path);
    } catch (Error e) {
        GLib.error ("listen: %s", e.message);
    }
    var client = new Ls.LocalSocket ();
    client.connect_to_server (path);
    var conn = take_connection (server);
    assert_cmpint (server.incoming, CompareOperator.EQ, 1);
    assert_cmpint (signals, CompareOperator.EQ, 1);
    client.write ("sub".data);
    client.flush ();
    assert_cmpmem (read_exactly (conn, 3), "sub".data);
    server.close ();
    remove_dir (dir);
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/ls/vala/exchange", test_exchange);
    Test.add_func ("/ls/vala/errors", test_errors);
    Test.add_func ("/ls/vala/options", test_options);
    Test.add_func ("/ls/vala/subclass", test_subclass);
    Test.add_func ("/ls/vala/types", test_types);
    return Test.run ();
}
