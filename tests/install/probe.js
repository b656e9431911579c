// probe.js: load Ls through the typelib and library GI finds, exchange a few
// bytes, and print (as JSON) where both came from
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Run by check-install.py with gjs and GI_TYPELIB_PATH / LD_LIBRARY_PATH
// pointing into a staged install only.

imports.gi.versions.GIRepository = '2.0';
imports.gi.versions.Ls = '1.0';
const {GIRepository, GLib, Ls} = imports.gi;

function exchange() {
    const tmp = GLib.dir_make_tmp('ls-inst-XXXXXX');
    const path = GLib.build_filenamev([tmp, 's']);
    const server = new Ls.LocalServer();
    server.listen(path);
    const client = new Ls.LocalSocket();
    client.connect_to_server(path);
    server.wait_for_new_connection(10000);
    const conn = server.next_pending_connection();
    client.write(new TextEncoder().encode('hello'));
    client.wait_for_bytes_written(10000);
    let got = '';
    while (got.length < 5 && conn.wait_for_ready_read(10000))
        got += new TextDecoder().decode(conn.read_all().toArray());
    client.abort();
    conn.abort();
    server.close();
    GLib.rmdir(tmp);
    return got;
}

const received = exchange();
const [, maps] = GLib.file_get_contents('/proc/self/maps');
const libraries = [...new Set(new TextDecoder().decode(maps).split('\n')
    .filter(line => line.includes('libls-1.0.so'))
    .map(line => line.split(/\s+/).pop()))].sort();
print(JSON.stringify({
    typelib: GIRepository.Repository.get_default().get_typelib_path('Ls'),
    libraries,
    version: `${Ls.get_major_version()}.${Ls.get_minor_version()}.${Ls.get_micro_version()}`,
    received,
}));
