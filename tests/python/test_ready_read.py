# test_ready_read.py: ready-read announces new data once, as in Qt; data
# already buffered is not announced again (the rule docs/porting-from-qt.md
# and the LsLocalSocket docs state, issue 27)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from conftest import accept, bytes_of, connect, listen, record_socket, run_for, run_until


def test_data_buffered_before_connecting_is_not_announced(sock_path):
    server = listen(sock_path)
    client = connect(sock_path)
    client.write(b"early")
    client.flush()
    conn = accept(server)
    # The main loop reads the peer's bytes into the buffer with no handler.
    run_until(lambda: conn.get_bytes_available() == 5)

    rec = record_socket(conn, ["ready-read"])
    run_for(50)
    assert rec.count("ready-read") == 0
    assert conn.get_bytes_available() == 5

    # What the docs tell a program to do after connecting its handler.
    assert bytes_of(conn.read_all()) == b"early"

    # New data is announced, once.
    client.write(b"late")
    client.flush()
    run_until(lambda: rec.count("ready-read") == 1)
    assert bytes_of(conn.read_all()) == b"late"
    for s in (client, conn):
        s.abort()
    server.close()


def test_data_left_unread_by_a_handler_waits_for_more(sock_path):
    server = listen(sock_path)
    client = connect(sock_path)
    conn = accept(server)
    lines = []

    def one_line(sock):
        lines.append(bytes_of(sock.read_line(0)))

    conn.connect("ready-read", one_line)
    rec = record_socket(conn, ["ready-read"])
    client.write(b"one\ntwo\n")
    client.flush()
    run_until(lambda: rec.count("ready-read") == 1)
    run_for(50)
    assert rec.count("ready-read") == 1
    assert lines == [b"one\n"]
    assert conn.can_read_line()

    client.write(b"three\n")
    client.flush()
    run_until(lambda: rec.count("ready-read") == 2)
    assert lines == [b"one\n", b"two\n"]
    assert conn.get_bytes_available() == len(b"three\n")
    for s in (client, conn):
        s.abort()
    server.close()
