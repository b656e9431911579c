# probe.py: load Ls through the typelib and library GI finds, exchange a few
# bytes, and print (as JSON) where both came from
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by check-install.py with /usr/bin/python3 and GI_TYPELIB_PATH /
# LD_LIBRARY_PATH pointing into a staged install only.

import json
import os
import sys
import tempfile

import gi

gi.require_version("GIRepository", "2.0")
gi.require_version("Ls", "1.0")
from gi.repository import GIRepository, Ls  # noqa: E402


def exchange():
    """A listen, a connect and 5 bytes each way, with the blocking API."""
    tmp = tempfile.mkdtemp(prefix="ls-inst-", dir="/tmp")
    path = os.path.join(tmp, "s")
    server = Ls.LocalServer()
    server.listen(path)
    client = Ls.LocalSocket()
    client.connect_to_server(path)
    ok, timed_out = server.wait_for_new_connection(10000)
    conn = server.next_pending_connection()
    client.write(b"hello")
    client.wait_for_bytes_written(10000)
    got = b""
    while len(got) < 5 and conn.wait_for_ready_read(10000):
        got += bytes(conn.read_all().get_data() or b"")
    for s in (client, conn):
        s.abort()
    server.close()
    os.rmdir(tmp)
    return got.decode()


def main():
    received = exchange()
    with open("/proc/self/maps") as f:
        libraries = sorted({line.split()[-1] for line in f if "libls-1.0.so" in line})
    print(json.dumps({
        "typelib": GIRepository.Repository.get_default().get_typelib_path("Ls"),
        "libraries": libraries,
        "version": "%d.%d.%d" % (Ls.get_major_version(), Ls.get_minor_version(),
                                 Ls.get_micro_version()),
        "received": received,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
