# test_server.py: LsLocalServer through PyGObject
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket
import stat

import pytest

from conftest import (GLib, GObject, Ls, NotifyRecorder, Recorder,
                      accept, assert_ls_error, connect, listen,
                      read_exactly, record_socket, run_for, run_until,
                      stale_socket)

E = Ls.SocketError
S = Ls.LocalSocketState
O = Ls.SocketOptions


# --------------------------------------------------------------------------
# Types and values


def test_enum_values_mirror_qt():
    assert int(O.NONE) == 0
    assert int(O.USER_ACCESS) == 1
    assert int(O.GROUP_ACCESS) == 2
    assert int(O.OTHER_ACCESS) == 4
    assert int(O.WORLD_ACCESS) == 7
    assert int(O.ABSTRACT_NAMESPACE) == 8
    assert O.USER_ACCESS | O.GROUP_ACCESS | O.OTHER_ACCESS == O.WORLD_ACCESS

    assert int(E.CONNECTION_REFUSED) == 0
    assert int(E.PEER_CLOSED) == 1
    assert int(E.SERVER_NOT_FOUND) == 2
    assert int(E.SOCKET_ACCESS) == 3
    assert int(E.SOCKET_RESOURCE) == 4
    assert int(E.SOCKET_TIMEOUT) == 5
    assert int(E.DATAGRAM_TOO_LARGE) == 6
    assert int(E.CONNECTION) == 7
    assert int(E.ADDRESS_IN_USE) == 8
    assert int(E.UNSUPPORTED_SOCKET_OPERATION) == 10
    assert int(E.OPERATION) == 19
    assert int(E.UNKNOWN) == -1

    assert int(S.UNCONNECTED) == 0
    assert int(S.CONNECTING) == 2
    assert int(S.CONNECTED) == 3
    assert int(S.CLOSING) == 6


def test_types_are_registered():
    assert GObject.type_is_a(Ls.LocalServer.__gtype__, GObject.Object.__gtype__)
    assert GObject.type_is_a(Ls.LocalSocket.__gtype__, GObject.Object.__gtype__)
    assert Ls.SocketOptions.__gtype__.is_a(GObject.TYPE_FLAGS)
    assert Ls.SocketError.__gtype__.is_a(GObject.TYPE_ENUM)
    assert Ls.LocalSocketState.__gtype__.is_a(GObject.TYPE_ENUM)
    quark = Ls.socket_error_quark()
    assert quark != 0
    assert quark == Ls.socket_error_quark()


def test_properties_are_declared():
    names = {p.name: p for p in Ls.LocalServer.list_properties()}
    for name in ("server-name", "full-server-name", "listening",
                 "max-pending-connections", "socket-options", "listen-backlog-size"):
        assert name in names, name
    readable_only = ("server-name", "full-server-name", "listening")
    for name in readable_only:
        assert names[name].flags & GObject.ParamFlags.READABLE
        assert not names[name].flags & GObject.ParamFlags.WRITABLE, name
    for name in ("max-pending-connections", "socket-options", "listen-backlog-size"):
        assert names[name].flags & GObject.ParamFlags.WRITABLE, name
    assert names["max-pending-connections"].default_value == 30
    assert names["listen-backlog-size"].default_value == 50
    assert int(names["socket-options"].default_value) == 0
    assert names["listening"].default_value is False


def test_new_connection_signal_has_no_arguments():
    Ls.LocalServer()  # the class must be initialised for the lookup
    sig_id = GObject.signal_lookup("new-connection", Ls.LocalServer)
    assert sig_id != 0
    query = GObject.signal_query(sig_id)
    assert len(query.param_types) == 0
    assert query.return_type == GObject.TYPE_NONE


# --------------------------------------------------------------------------
# Defaults


def test_defaults():
    server = Ls.LocalServer.new()
    assert server.is_listening() is False
    assert server.props.listening is False
    assert server.get_server_name() == ""
    assert server.get_full_server_name() == ""
    assert server.props.server_name == ""
    assert server.props.full_server_name == ""
    assert server.get_error_string() == ""
    assert server.get_server_error() == E.UNKNOWN
    assert server.get_max_pending_connections() == 30
    assert server.props.max_pending_connections == 30
    assert server.get_listen_backlog_size() == 50
    assert server.props.listen_backlog_size == 50
    assert server.get_socket_options() == O.NONE
    assert server.props.socket_options == O.NONE
    assert server.has_pending_connections() is False
    assert server.next_pending_connection() is None
    assert server.get_socket_descriptor() == -1


def test_close_when_not_listening_is_silent():
    server = Ls.LocalServer()
    notes = NotifyRecorder(server)
    rec = Recorder(server, ["new-connection"])
    server.close()
    server.close()
    assert notes.names == []
    assert rec.events == []
    assert server.is_listening() is False
    assert server.get_server_error() == E.UNKNOWN


def test_read_only_properties_refuse_writes():
    server = Ls.LocalServer()
    for prop in ("listening", "server_name", "full_server_name"):
        with pytest.raises(TypeError):
            setattr(server.props, prop, True if prop == "listening" else "x")


# --------------------------------------------------------------------------
# Writable properties: setter, getter, GObject property and notify


@pytest.mark.parametrize("prop,getter,setter,value", [
    ("max-pending-connections", "get_max_pending_connections", "set_max_pending_connections", 7),
    ("listen-backlog-size", "get_listen_backlog_size", "set_listen_backlog_size", 3),
])
def test_int_property_notifies_on_real_change_only(prop, getter, setter, value):
    server = Ls.LocalServer()
    notes = NotifyRecorder(server)
    getattr(server, setter)(value)
    assert getattr(server, getter)() == value
    assert server.get_property(prop) == value
    assert notes.names == [prop]
    getattr(server, setter)(value)
    assert notes.names == [prop], "setting the same value must not notify"
    server.set_property(prop, value + 1)
    assert getattr(server, getter)() == value + 1
    assert notes.names == [prop, prop]
    server.set_property(prop, value + 1)
    assert notes.names == [prop, prop]


def test_socket_options_property_notifies_on_real_change_only():
    server = Ls.LocalServer()
    notes = NotifyRecorder(server)
    server.set_socket_options(O.USER_ACCESS | O.GROUP_ACCESS)
    assert server.get_socket_options() == O.USER_ACCESS | O.GROUP_ACCESS
    assert notes.names == ["socket-options"]
    server.props.socket_options = O.USER_ACCESS | O.GROUP_ACCESS
    assert notes.names == ["socket-options"]
    server.props.socket_options = O.WORLD_ACCESS
    assert server.get_socket_options() == O.WORLD_ACCESS
    assert notes.names == ["socket-options", "socket-options"]


# --------------------------------------------------------------------------
# listen() and name resolution


def test_listen_relative_name_uses_tmpdir(tmpdir_env):
    server = Ls.LocalServer()
    notes = NotifyRecorder(server)
    assert server.listen("app") is True
    path = os.path.join(tmpdir_env, "app")
    assert server.is_listening() is True
    assert server.props.listening is True
    assert server.get_server_name() == "app"
    assert server.props.server_name == "app"
    assert server.get_full_server_name() == path
    assert server.props.full_server_name == path
    assert server.get_socket_descriptor() >= 0
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert notes.names.count("listening") == 1
    # A client resolving the same relative name finds it.
    client = connect("app")
    assert client.get_full_server_name() == path
    accepted = accept(server)
    assert accepted.get_state() == S.CONNECTED


def test_listen_absolute_path(sock_path):
    server = listen(sock_path)
    assert server.get_server_name() == sock_path
    assert server.get_full_server_name() == sock_path
    assert stat.S_ISSOCK(os.stat(sock_path).st_mode)


@pytest.mark.parametrize("tmpdir_value", [None, ""])
def test_relative_name_without_tmpdir_uses_tmp(monkeypatch, tmpdir_value):
    if tmpdir_value is None:
        monkeypatch.delenv("TMPDIR", raising=False)
    else:
        monkeypatch.setenv("TMPDIR", tmpdir_value)
    name = "ls-py-%d-%s" % (os.getpid(), "unset" if tmpdir_value is None else "empty")
    path = "/tmp/" + name
    if os.path.lexists(path):
        os.unlink(path)
    server = listen(name)
    try:
        assert server.get_full_server_name() == path
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        server.close()
    assert not os.path.lexists(path)


def test_tmpdir_is_read_at_each_listen(tmp_short, monkeypatch):
    a = os.path.join(tmp_short, "a")
    b = os.path.join(tmp_short, "b")
    os.mkdir(a)
    os.mkdir(b)
    server = Ls.LocalServer()
    monkeypatch.setenv("TMPDIR", a)
    server.listen("n")
    assert server.get_full_server_name() == os.path.join(a, "n")
    server.close()
    monkeypatch.setenv("TMPDIR", b)
    server.listen("n")
    assert server.get_full_server_name() == os.path.join(b, "n")
    assert os.path.exists(os.path.join(b, "n"))
    assert not os.path.exists(os.path.join(a, "n"))


def test_close_removes_file_and_resets_state(sock_path):
    server = listen(sock_path)
    notes = NotifyRecorder(server)
    server.close()
    assert server.is_listening() is False
    assert server.props.listening is False
    assert not os.path.lexists(sock_path)
    assert server.get_socket_descriptor() == -1
    assert server.get_server_name() == ""
    assert server.get_full_server_name() == ""
    assert notes.names.count("listening") == 1
    # The object can listen again.
    assert server.listen(sock_path) is True
    assert server.is_listening()
    client = connect(sock_path)
    assert accept(server) is not None
    client.abort()


# --------------------------------------------------------------------------
# listen() errors: GLib.Error with Ls.SocketError codes, recorded on the object


def test_listen_empty_name(tmpdir_env):
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen("")
    assert_ls_error(e, E.SERVER_NOT_FOUND)
    assert e.value.code == int(E.SERVER_NOT_FOUND)
    assert server.get_server_error() == E.SERVER_NOT_FOUND
    assert server.get_error_string() != ""
    assert server.is_listening() is False
    assert server.get_server_name() == ""
    assert server.get_full_server_name() == ""


def test_listen_missing_directory(tmp_short):
    path = os.path.join(tmp_short, "no-such-dir", "s")
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen(path)
    assert_ls_error(e, E.SERVER_NOT_FOUND)
    assert path in e.value.message
    assert server.get_server_error() == E.SERVER_NOT_FOUND
    assert path in server.get_error_string()
    assert not server.is_listening()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_listen_unwritable_directory(tmp_short):
    d = os.path.join(tmp_short, "ro")
    os.mkdir(d, 0o500)
    server = Ls.LocalServer()
    try:
        with pytest.raises(GLib.Error) as e:
            server.listen(os.path.join(d, "s"))
        assert_ls_error(e, E.SOCKET_ACCESS)
        assert server.get_server_error() == E.SOCKET_ACCESS
    finally:
        os.chmod(d, 0o700)


@pytest.mark.parametrize("options", [O.NONE, O.USER_ACCESS, O.WORLD_ACCESS])
def test_listen_regular_file_in_the_way(sock_path, options):
    with open(sock_path, "w") as f:
        f.write("precious")
    before = os.stat(sock_path)
    server = Ls.LocalServer()
    server.set_socket_options(options)
    with pytest.raises(GLib.Error) as e:
        server.listen(sock_path)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert sock_path in e.value.message
    assert server.get_server_error() == E.ADDRESS_IN_USE
    after = os.stat(sock_path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    with open(sock_path) as f:
        assert f.read() == "precious"


@pytest.mark.parametrize("options", [O.NONE, O.USER_ACCESS, O.GROUP_ACCESS, O.WORLD_ACCESS])
def test_listen_stale_socket_in_the_way(sock_path, options):
    stale_socket(sock_path)
    ino = os.stat(sock_path).st_ino
    server = Ls.LocalServer()
    server.set_socket_options(options)
    with pytest.raises(GLib.Error) as e:
        server.listen(sock_path)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert os.stat(sock_path).st_ino == ino, "the stale file must be left alone"
    assert not server.is_listening()
    # The message names the remedy (issue 27 item 5).
    assert e.value.message == (
        "Cannot listen on \u201c%s\u201d: Address in use (a socket is already there; if no "
        "server listens on it any more, the server's reclaim-stale property (lsock "
        "--reclaim-stale) replaces it, or remove_server () removes it)" % sock_path)
    server.set_reclaim_stale(True)
    assert server.listen(sock_path) is True


def test_connect_messages_name_the_cause(sock_path):
    client = Ls.LocalSocket()
    client.connect_to_server(os.path.join(sock_path, "s"))
    assert client.get_error() == E.SERVER_NOT_FOUND
    assert client.get_error_string().endswith(
        "Invalid name (the directory \u201c%s\u201d does not exist)" % sock_path)
    stale_socket(sock_path)
    client.connect_to_server(sock_path)
    assert client.get_error() == E.CONNECTION_REFUSED
    assert "no server is listening: the socket file is stale" in client.get_error_string()


@pytest.mark.parametrize("options", [O.NONE, O.USER_ACCESS, O.WORLD_ACCESS])
def test_listen_live_server_in_the_way(sock_path, options):
    first = listen(sock_path)
    ino = os.stat(sock_path).st_ino
    second = Ls.LocalServer()
    second.set_socket_options(options)
    with pytest.raises(GLib.Error) as e:
        second.listen(sock_path)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert os.stat(sock_path).st_ino == ino
    # The live server is unaffected.
    assert first.is_listening()
    connect(sock_path)
    assert accept(first) is not None


def test_listen_directory_in_the_way(sock_path):
    os.mkdir(sock_path)
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen(sock_path)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert os.path.isdir(sock_path)


def test_listen_too_long_name_touches_nothing(tmp_short):
    # 108 bytes do not fit in sun_path with its terminating NUL.
    path = os.path.join(tmp_short, "x" * (108 - len(tmp_short) - 1))
    assert len(path.encode()) == 108
    with open(path, "w") as f:
        f.write("keep")
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen(path)
    assert_ls_error(e, E.SERVER_NOT_FOUND)
    with open(path) as f:
        assert f.read() == "keep"
    # And a fresh too-long name creates nothing.
    longer = os.path.join(tmp_short, "y" * 200)
    with pytest.raises(GLib.Error) as e:
        server.listen(longer)
    assert_ls_error(e, E.SERVER_NOT_FOUND)
    assert sorted(os.listdir(tmp_short)) == [os.path.basename(path)]


def test_longest_path_that_fits(tmp_short):
    path = os.path.join(tmp_short, "x" * (107 - len(tmp_short) - 1))
    assert len(path.encode()) == 107
    server = listen(path)
    assert server.get_full_server_name() == path
    client = connect(path)
    assert accept(server) is not None
    client.abort()


def test_listen_while_listening(tmp_short):
    a = os.path.join(tmp_short, "a")
    b = os.path.join(tmp_short, "b")
    server = listen(a)
    with pytest.raises(GLib.Error) as e:
        server.listen(b)
    assert_ls_error(e, E.OPERATION)
    assert server.is_listening()
    assert server.get_full_server_name() == a
    assert not os.path.lexists(b)
    connect(a)
    assert accept(server) is not None


def test_error_state_survives_success_until_close(sock_path):
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error):
        server.listen("")
    assert server.get_server_error() == E.SERVER_NOT_FOUND
    server.listen(sock_path)
    # Like Qt, a successful listen() does not reset the error.
    assert server.get_server_error() == E.SERVER_NOT_FOUND
    server.close()
    assert server.get_server_error() == E.UNKNOWN
    assert server.get_error_string() == ""


# --------------------------------------------------------------------------
# Socket options


@pytest.mark.parametrize("options,mode", [
    (O.USER_ACCESS, 0o700),
    (O.GROUP_ACCESS, 0o070),
    (O.OTHER_ACCESS, 0o007),
    (O.WORLD_ACCESS, 0o777),
    (O.USER_ACCESS | O.GROUP_ACCESS, 0o770),
])
def test_permission_options_set_file_mode(tmp_short, options, mode):
    path = os.path.join(tmp_short, "perm")
    server = listen(path, options)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == mode
    # The private bind directory is gone: only our socket remains.
    assert os.listdir(tmp_short) == ["perm"]
    server.close()
    assert os.listdir(tmp_short) == []


def test_abstract_namespace(tmp_short, monkeypatch):
    monkeypatch.setenv("TMPDIR", tmp_short)
    name = "ls-py-abstract-%d" % os.getpid()
    server = listen(name, O.ABSTRACT_NAMESPACE)
    assert server.get_server_name() == name
    assert server.get_full_server_name() == name
    assert os.listdir(tmp_short) == [], "an abstract server creates no file"

    # A raw client sees the abstract address (leading NUL, no padding).
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect("\0" + name)
    accepted = accept(server)
    raw.sendall(b"raw")
    assert read_exactly(accepted, 3) == b"raw"
    raw.close()

    client = connect(name, O.ABSTRACT_NAMESPACE)
    accepted = accept(server)
    client.write(b"ping")
    assert read_exactly(accepted, 4) == b"ping"

    # Without the option the client looks for a file and finds nothing.
    plain = Ls.LocalSocket()
    plain.connect_to_server(name)
    assert plain.get_state() == S.UNCONNECTED
    assert plain.get_error() == E.SERVER_NOT_FOUND


# --------------------------------------------------------------------------
# Accepting connections


def test_new_connection_once_per_connection_and_queued_before_emit(sock_path):
    server = listen(sock_path)
    seen = []

    def on_new(s):
        seen.append(s.has_pending_connections())
    server.connect("new-connection", on_new)

    clients = [connect(sock_path) for _ in range(3)]
    run_until(lambda: len(seen) == 3)
    run_for(100)
    assert seen == [True, True, True]
    accepted = []
    while server.has_pending_connections():
        accepted.append(server.next_pending_connection())
    assert len(accepted) == 3
    assert server.next_pending_connection() is None
    for s in accepted:
        assert isinstance(s, Ls.LocalSocket)
        assert s.get_state() == S.CONNECTED
        assert s.is_valid()
    for c in clients:
        c.abort()


@pytest.mark.parametrize("naming", ["relative", "absolute"])
def test_accepted_socket_names_follow_qt6(tmpdir_env, naming):
    # Qt 6 names an accepted socket from getsockname(): fullServerName is
    # the server's path and serverName its basename (QT-BEHAVIOUR 2.9).
    path = os.path.join(tmpdir_env, "named")
    server = listen("named" if naming == "relative" else path)
    client = connect(path)
    s = accept(server)
    assert s.get_full_server_name() == path
    assert s.get_server_name() == "named"
    client.abort()


def test_pending_connections_are_fifo(sock_path):
    server = listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    clients = []
    for i in range(4):
        c = connect(sock_path)
        c.write(bytes([65 + i]))
        assert c.wait_for_bytes_written(-1)
        clients.append(c)
        run_until(lambda: rec.count("new-connection") == i + 1)
    for i in range(4):
        s = server.next_pending_connection()
        assert read_exactly(s, 1) == bytes([65 + i])


def test_next_pending_connection_returns_full_reference(sock_path):
    server = listen(sock_path)
    client = connect(sock_path)
    run_until(server.has_pending_connections)
    accepted = server.next_pending_connection()
    # (transfer full) and the server keeps no reference: ours is the only one.
    assert accepted.__grefcount__ == 1
    # Dropping the server leaves the socket usable.
    server.close()
    del server
    accepted.write(b"after")
    assert accepted.wait_for_bytes_written(-1)
    assert read_exactly(client, 5) == b"after"


def test_wait_for_new_connection_not_listening():
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.wait_for_new_connection(0)
    assert_ls_error(e, E.OPERATION)


def test_wait_for_new_connection(sock_path):
    server = listen(sock_path)
    rec = Recorder(server, ["new-connection"])

    ok, timed_out = server.wait_for_new_connection(50)
    assert (ok, timed_out) == (False, True)
    assert rec.events == []

    client = connect(sock_path)
    ok, timed_out = server.wait_for_new_connection(-1)
    assert (ok, timed_out) == (True, False)
    # Emitted inside the call, without iterating any main context.
    assert rec.count("new-connection") == 1
    assert server.has_pending_connections()

    # The result is "something is queued": an older connection counts.
    ok, timed_out = server.wait_for_new_connection(0)
    assert (ok, timed_out) == (True, True)
    s = server.next_pending_connection()
    assert s.get_state() == S.CONNECTED
    client.abort()


def test_max_pending_connections_is_a_hard_cap(sock_path):
    server = Ls.LocalServer()
    server.set_max_pending_connections(2)
    server.listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    clients = [connect(sock_path) for _ in range(5)]
    # The kernel backlog holds the rest: every client is connected.
    assert all(c.get_state() == S.CONNECTED for c in clients)
    run_until(lambda: rec.count("new-connection") == 2)
    run_for(200)
    assert rec.count("new-connection") == 2, "at most N connections may be queued"
    got = [server.next_pending_connection()]
    run_until(lambda: rec.count("new-connection") == 3)
    run_for(100)
    assert rec.count("new-connection") == 3
    while len(got) < 5:
        s = server.next_pending_connection()
        if s is not None:
            got.append(s)
        else:
            run_until(server.has_pending_connections)
    assert rec.count("new-connection") == 5
    assert all(s.get_state() == S.CONNECTED for s in got)


def test_max_pending_zero_still_accepts_on_wait(sock_path):
    server = Ls.LocalServer()
    server.set_max_pending_connections(0)
    server.listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    client = connect(sock_path)
    run_for(150)
    assert rec.events == []
    ok, timed_out = server.wait_for_new_connection(-1)
    assert ok and not timed_out
    assert rec.count("new-connection") == 1
    assert server.next_pending_connection() is not None
    client.abort()


def test_close_drops_untaken_connections_but_keeps_handed_out_ones(sock_path):
    server = listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    c1 = connect(sock_path)
    c2 = connect(sock_path)
    run_until(lambda: rec.count("new-connection") == 2)
    taken = server.next_pending_connection()
    r1 = record_socket(c1)
    r2 = record_socket(c2)
    server.close()
    assert not os.path.lexists(sock_path)
    assert not server.has_pending_connections()
    # The untaken one is closed: its peer sees the close.
    run_until(lambda: r2.count("disconnected") == 1)
    assert ("error-occurred", E.PEER_CLOSED) in r2.events
    # The handed-out one keeps working.
    c1.write(b"still here\n")
    line = read_exactly(taken, 11)
    assert line == b"still here\n"
    taken.write(b"yes")
    assert read_exactly(c1, 3) == b"yes"
    assert r1.count("disconnected") == 0


def test_late_close_does_not_delete_a_newer_servers_socket(sock_path):
    old = listen(sock_path)
    assert Ls.LocalServer.remove_server(sock_path) is True
    assert not os.path.lexists(sock_path)
    new = listen(sock_path)
    ino = os.stat(sock_path).st_ino
    old.close()
    assert os.path.lexists(sock_path), "close() removed a socket it did not bind"
    assert os.stat(sock_path).st_ino == ino
    connect(sock_path)
    assert accept(new) is not None


def test_dispose_removes_socket_file(sock_path):
    server = listen(sock_path)
    del server
    import gc
    gc.collect()
    assert not os.path.lexists(sock_path)


# --------------------------------------------------------------------------
# remove_server


def test_remove_server(tmpdir_env):
    # Nothing there: success.
    assert Ls.LocalServer.remove_server("nothing") is True
    # A stale socket, by relative name.
    path = stale_socket(os.path.join(tmpdir_env, "stale"))
    assert Ls.LocalServer.remove_server("stale") is True
    assert not os.path.lexists(path)
    # By absolute path; only a socket (API.md fix 12): a regular file or a
    # FIFO stays, with an error naming it.
    other = os.path.join(tmpdir_env, "file")
    with open(other, "w") as f:
        f.write("keep")
    with pytest.raises(GLib.Error) as e:
        Ls.LocalServer.remove_server(other)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert other in e.value.message and "regular file" in e.value.message
    assert open(other).read() == "keep"
    fifo = os.path.join(tmpdir_env, "fifo")
    os.mkfifo(fifo)
    with pytest.raises(GLib.Error) as e:
        Ls.LocalServer.remove_server(fifo)
    assert "FIFO" in e.value.message
    assert os.path.exists(fifo)


def test_remove_server_errors(tmp_short):
    with pytest.raises(GLib.Error) as e:
        Ls.LocalServer.remove_server("")
    assert_ls_error(e, E.SERVER_NOT_FOUND)
    d = os.path.join(tmp_short, "dir")
    os.mkdir(d)
    with pytest.raises(GLib.Error) as e:
        Ls.LocalServer.remove_server(d)
    assert e.value.domain == GLib.quark_to_string(Ls.socket_error_quark())
    assert os.path.isdir(d)


def test_stale_socket_takeover(sock_path):
    stale_socket(sock_path)
    probe = Ls.LocalSocket()
    probe.connect_to_server(sock_path)
    assert probe.get_error() == E.CONNECTION_REFUSED
    server = Ls.LocalServer()
    with pytest.raises(GLib.Error) as e:
        server.listen(sock_path)
    assert_ls_error(e, E.ADDRESS_IN_USE)
    assert Ls.LocalServer.remove_server(sock_path)
    assert server.listen(sock_path)
    connect(sock_path)
    assert accept(server) is not None


# --------------------------------------------------------------------------
# listen_socket_descriptor


def test_listen_socket_descriptor_path(sock_path):
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.bind(sock_path)
    raw.listen(5)
    fd = raw.detach()
    server = Ls.LocalServer()
    assert server.listen_socket_descriptor(fd) is True
    assert server.is_listening()
    assert server.get_socket_descriptor() == fd
    assert server.get_full_server_name() == sock_path
    assert server.get_server_name() == os.path.basename(sock_path)
    client = connect(sock_path)
    accepted = accept(server)
    client.write(b"fd")
    assert read_exactly(accepted, 2) == b"fd"
    server.close()
    # Ls did not bind it, so it does not remove it.
    assert os.path.lexists(sock_path)
    with pytest.raises(OSError):
        os.fstat(fd)


def test_listen_socket_descriptor_abstract():
    name = "ls-py-fd-abstract-%d" % os.getpid()
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.bind("\0" + name)
    raw.listen(5)
    server = Ls.LocalServer()
    assert server.listen_socket_descriptor(raw.detach())
    assert server.get_full_server_name() == name
    assert server.get_server_name() == name
    assert server.get_socket_options() & O.ABSTRACT_NAMESPACE
    connect(name, O.ABSTRACT_NAMESPACE)
    assert accept(server) is not None


def test_listen_socket_descriptor_rejects_bad_descriptors(sock_path):
    server = Ls.LocalServer()
    notes = NotifyRecorder(server)
    bad = [
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),  # not listening
        socket.socket(socket.AF_INET, socket.SOCK_STREAM),
    ]
    bad[2].bind(("127.0.0.1", 0))
    bad[2].listen(1)
    for s in bad:
        with pytest.raises(GLib.Error) as e:
            server.listen_socket_descriptor(s.fileno())
        assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
        os.fstat(s.fileno())  # not taken: still open
        s.close()
    r, w = os.pipe()
    with pytest.raises(GLib.Error) as e:
        server.listen_socket_descriptor(r)
    assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
    os.fstat(r)
    os.close(r)
    os.close(w)
    with pytest.raises(GLib.Error) as e:
        server.listen_socket_descriptor(-1)
    assert_ls_error(e, E.UNSUPPORTED_SOCKET_OPERATION)
    assert not server.is_listening()
    assert "listening" not in notes.names


# --------------------------------------------------------------------------
# Subclassing from Python: the incoming_connection vfunc


class WrappingServer(Ls.LocalServer):
    """Overrides incoming_connection: wraps the descriptor itself, tags the
    socket and queues it with add_pending_connection."""

    def __init__(self):
        super().__init__()
        self.descriptors = []
        self.made = []

    def do_incoming_connection(self, fd):
        self.descriptors.append(fd)
        sock = Ls.LocalSocket()
        assert sock.set_socket_descriptor(fd, Ls.LocalSocketState.CONNECTED) is True
        sock.tag = "made-by-python-%d" % len(self.made)
        self.made.append(sock)
        self.add_pending_connection(sock)


def test_subclass_incoming_connection(sock_path):
    server = WrappingServer()
    order = []
    server.connect("new-connection", lambda s: order.append(("new-connection", len(server.made),
                                                              s.has_pending_connections())))
    server.listen(sock_path)
    client = connect(sock_path)
    run_until(lambda: order)
    assert order == [("new-connection", 1, True)]
    accepted = server.next_pending_connection()
    assert accepted is server.made[0]
    assert accepted.tag == "made-by-python-0"
    assert accepted.get_socket_descriptor() == server.descriptors[0]
    assert accepted.get_state() == S.CONNECTED
    client.write(b"via python")
    assert read_exactly(accepted, 10) == b"via python"
    accepted.write(b"back")
    assert read_exactly(client, 4) == b"back"


def test_subclass_incoming_connection_on_wait(sock_path):
    server = WrappingServer()
    server.listen(sock_path)
    client = connect(sock_path)
    ok, timed_out = server.wait_for_new_connection(-1)
    assert ok and not timed_out
    assert len(server.made) == 1
    assert server.next_pending_connection() is server.made[0]
    client.abort()


class RejectingServer(Ls.LocalServer):
    def __init__(self):
        super().__init__()
        self.rejected = 0

    def do_incoming_connection(self, fd):
        self.rejected += 1
        os.close(fd)


def test_subclass_can_reject(sock_path):
    server = RejectingServer()
    rec = Recorder(server, ["new-connection"])
    server.listen(sock_path)
    client = connect(sock_path)
    crec = record_socket(client)
    run_until(lambda: crec.count("disconnected") == 1)
    assert server.rejected == 1
    assert rec.events == []
    assert not server.has_pending_connections()
    assert ("error-occurred", E.PEER_CLOSED) in crec.events


class ChainingServer(Ls.LocalServer):
    def __init__(self):
        super().__init__()
        self.calls = []

    def do_incoming_connection(self, fd):
        self.calls.append("incoming")
        Ls.LocalServer.do_incoming_connection(self, fd)
        self.calls.append("incoming-done")

    def do_new_connection(self):
        self.calls.append("class-handler")


def test_subclass_chains_up_and_overrides_class_handler(sock_path):
    server = ChainingServer()
    server.connect("new-connection", lambda s: server.calls.append("handler"))
    server.listen(sock_path)
    client = connect(sock_path)
    run_until(lambda: "incoming-done" in server.calls)
    assert server.calls.count("incoming") == 1
    assert server.calls.count("handler") == 1
    assert server.calls.count("class-handler") == 1
    assert server.calls.index("incoming") < server.calls.index("handler") < server.calls.index("incoming-done")
    s = server.next_pending_connection()
    assert s.get_state() == S.CONNECTED
    client.abort()


def test_add_pending_connection_from_outside(sock_path):
    """add_pending_connection queues any socket and emits new-connection."""
    server = listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sock = Ls.LocalSocket()
    sock.set_socket_descriptor(a.detach(), S.CONNECTED)
    server.add_pending_connection(sock)
    assert rec.count("new-connection") == 1
    assert server.next_pending_connection() is sock
    b.sendall(b"pair")
    assert read_exactly(sock, 4) == b"pair"
    b.close()


# --------------------------------------------------------------------------
# Other users: permission options really keep them out (needs root to run a
# child process as "nobody")

NOBODY = 65534

AS_NOBODY = """
import json, sys
import gi
gi.require_version("Ls", "1.0")
from gi.repository import GLib, Ls
op, name = sys.argv[1], sys.argv[2]
if op == "connect":
    s = Ls.LocalSocket()
    s.connect_to_server(name)
    print(json.dumps({"state": int(s.get_state()), "error": int(s.get_error())}))
else:
    server = Ls.LocalServer()
    try:
        server.listen(name)
        print(json.dumps({"ok": True}))
    except GLib.Error as e:
        print(json.dumps({"ok": False, "code": e.code,
                          "ls": e.matches(Ls.socket_error_quark(), e.code)}))
"""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a child as nobody")


def as_nobody(op, name):
    import json
    import subprocess
    r = subprocess.run(["/usr/bin/python3", "-c", AS_NOBODY, op, name], user=NOBODY,
                       group=NOBODY, extra_groups=[], capture_output=True, text=True,
                       timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def shared_dir(tmp_short):
    os.chmod(tmp_short, 0o755)  # others may traverse; only the socket mode decides
    return tmp_short


@needs_root
@pytest.mark.parametrize("options,allowed", [
    (O.USER_ACCESS, False),
    (O.GROUP_ACCESS, False),   # root's group, not nobody's
    (O.OTHER_ACCESS, True),
    (O.WORLD_ACCESS, True),
])
def test_permission_options_against_another_user(shared_dir, options, allowed):
    path = os.path.join(shared_dir, "guarded")
    server = listen(path, options)
    res = as_nobody("connect", path)
    if allowed:
        assert res == {"state": int(S.CONNECTED), "error": int(E.UNKNOWN)}
        assert accept(server) is not None
    else:
        assert res == {"state": int(S.UNCONNECTED), "error": int(E.SOCKET_ACCESS)}
        run_for(50)
        assert not server.has_pending_connections()


@needs_root
def test_listen_in_a_directory_another_user_cannot_write(shared_dir):
    res = as_nobody("listen", os.path.join(shared_dir, "s"))
    assert res == {"ok": False, "code": int(E.SOCKET_ACCESS), "ls": True}
    assert os.listdir(shared_dir) == []


# --------------------------------------------------------------------------
# authorize-peer (beyond Qt): refuse peers by credentials


def test_authorize_peer_signal_accepts_and_refuses(sock_path):
    server = listen(sock_path)
    rec = Recorder(server, ["new-connection"])
    asked = []
    verdict = [False]

    def on_authorize(s, creds):
        asked.append((creds.get_unix_pid(), creds.get_unix_user()))
        return verdict[0]
    server.connect("authorize-peer", on_authorize)

    refused = connect(sock_path)
    crec = record_socket(refused, ["disconnected", "error-occurred"])
    run_until(lambda: crec.count("disconnected") == 1)
    assert asked == [(os.getpid(), os.getuid())]
    assert rec.events == []
    assert not server.has_pending_connections()
    assert ("error-occurred", E.PEER_CLOSED) in crec.events

    verdict[0] = True
    ok = connect(sock_path)
    run_until(lambda: rec.count("new-connection") == 1)
    assert len(asked) == 2
    accepted = server.next_pending_connection()
    ok.write(b"in")
    assert read_exactly(accepted, 2) == b"in"


def test_authorize_peer_is_asked_on_wait_for_new_connection(sock_path):
    server = listen(sock_path)
    asked = []
    server.connect("authorize-peer", lambda s, creds: asked.append(creds) and False)
    client = connect(sock_path)
    crec = record_socket(client, ["disconnected"])
    # A refused peer is not a new connection: the wait goes on until the
    # timeout.
    ok, timed_out = server.wait_for_new_connection(200)
    assert (ok, timed_out) == (False, True)
    assert len(asked) == 1
    assert not server.has_pending_connections()
    assert client.wait_for_disconnected(-1)
    assert crec.count("disconnected") == 1


class PickyServer(Ls.LocalServer):
    """Refuses everyone through the class handler, no signal connected."""

    def __init__(self):
        super().__init__()
        self.asked = 0

    def do_authorize_peer(self, credentials):
        self.asked += 1
        return False


def test_authorize_peer_class_handler_override(sock_path):
    server = PickyServer()
    rec = Recorder(server, ["new-connection"])
    server.listen(sock_path)
    client = connect(sock_path)
    crec = record_socket(client, ["disconnected"])
    run_until(lambda: crec.count("disconnected") == 1 or rec.events)
    assert server.asked == 1, "a subclass's authorize_peer override must be consulted"
    assert rec.events == []
