# test_types.py: enum-valued returns, signal arguments and properties keep
# their enum type through the typelib (issue 27)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checked by type, not by value: an accessor that handed out a plain int with
# the right number would pass a value test and still lose the type (Vala's
# binding did, for the error code).

import os
import re

import gi
import pytest
# PyGObject's own view of the typelib (the infos gi.Repository hands out).
from gi._gi import EnumInfo, InterfaceInfo, ObjectInfo, StructInfo

from conftest import GLib, GObject, Ls, pair

REPO = gi.Repository.get_default()
TAG_VOID = 0  # GI_TYPE_TAG_VOID
TAG_INTERFACE = 16  # GI_TYPE_TAG_INTERFACE

# A value whose name says it is an error code, a state or options must be
# typed by an enumeration or bitfield of Ls, never by a bare integer.
ENUM_NAME = re.compile(r"(^|[_-])(error|state|options)$")


def enum_info(type_info):
    """The EnumInfo (enumeration or bitfield) a TypeInfo names, else None."""
    if type_info.get_tag() != TAG_INTERFACE:
        return None
    iface = type_info.get_interface()
    return iface if isinstance(iface, EnumInfo) else None


def ls_objects():
    return [i for i in REPO.get_infos("Ls") if isinstance(i, ObjectInfo)]


def ls_class(info):
    """The Python class of an ObjectInfo, its GType class initialized (an
    instance made once), so that its signals and properties are registered."""
    klass = getattr(Ls, info.get_name())
    klass()
    return klass


def typed_values():
    """(where, name, TypeInfo) for every return value, argument and property."""
    for obj in ls_objects():
        cname = obj.get_name()
        callables = [("method", m) for m in obj.get_methods()]
        callables += [("vfunc", v) for v in obj.get_vfuncs()]
        callables += [("signal", s) for s in obj.get_signals()]
        for kind, c in callables:
            where = "%s.%s %s" % (cname, c.get_name(), kind)
            ret = c.get_return_type()
            if ret.get_tag() != TAG_VOID:
                yield where + " return", c.get_name(), ret
            for arg in c.get_arguments():
                yield "%s argument %s" % (where, arg.get_name()), arg.get_name(), arg.get_type()
        for prop in obj.get_properties():
            yield "%s:%s property" % (cname, prop.get_name()), prop.get_name(), prop.get_type()


def test_the_sweep_sees_the_known_enum_values():
    found = {where for where, _, t in typed_values() if enum_info(t) is not None}
    for expected in ("LocalSocket.get_error method return",
                     "LocalServer.get_server_error method return",
                     "LocalSocket.error-occurred signal argument error",
                     "LocalSocket.state-changed signal argument state",
                     "LocalSocket:state property",
                     "LocalSocket:socket-options property",
                     "LocalServer:socket-options property"):
        assert expected in found


def test_error_state_and_options_values_are_enums():
    lost = [where for where, name, t in typed_values()
            if ENUM_NAME.search(name) and t.get_tag() != TAG_INTERFACE]
    assert lost == []
    untyped = [where for where, name, t in typed_values()
               if ENUM_NAME.search(name) and t.get_tag() == TAG_INTERFACE
               and not isinstance(t.get_interface(), (EnumInfo, ObjectInfo,
                                                       StructInfo, InterfaceInfo))]
    assert untyped == []


def test_signal_arguments_are_registered_with_the_enum_gtype():
    # The GIR says what the signal carries; the GType the library registered
    # it with is what a closure marshals: both must name the enum.
    checked = 0
    for obj in ls_objects():
        klass = ls_class(obj)
        for sig in obj.get_signals():
            query = GObject.signal_query(GObject.signal_lookup(sig.get_name(), klass))
            for arg, param_gtype in zip(sig.get_arguments(), query.param_types):
                info = enum_info(arg.get_type())
                if info is not None:
                    assert param_gtype == info.get_g_type(), (sig.get_name(), arg.get_name())
                    checked += 1
    assert checked >= 2


def test_properties_are_registered_with_the_enum_gtype():
    checked = 0
    for obj in ls_objects():
        klass = ls_class(obj)
        for prop in obj.get_properties():
            info = enum_info(prop.get_type())
            if info is None:
                continue
            pspec = klass.find_property(prop.get_name())
            assert pspec.value_type == info.get_g_type(), prop.get_name()
            checked += 1
    assert checked >= 3


def test_accessors_return_enum_instances(tmp_short):
    sock = Ls.LocalSocket()
    server = Ls.LocalServer()
    assert type(sock.get_error()) is Ls.SocketError
    assert type(server.get_server_error()) is Ls.SocketError
    assert type(sock.get_state()) is Ls.LocalSocketState
    assert type(sock.props.state) is Ls.LocalSocketState
    assert type(sock.get_socket_options()) is Ls.SocketOptions
    assert type(sock.props.socket_options) is Ls.SocketOptions
    assert type(server.get_socket_options()) is Ls.SocketOptions
    assert type(server.props.socket_options) is Ls.SocketOptions

    with pytest.raises(GLib.Error):
        server.listen("")
    assert type(server.get_server_error()) is Ls.SocketError
    assert server.get_server_error() == Ls.SocketError.SERVER_NOT_FOUND


def test_signal_handlers_receive_enum_instances(tmp_short):
    sock = Ls.LocalSocket()
    seen = []
    sock.connect("error-occurred", lambda s, code: seen.append(("error", type(code), code)))
    sock.connect("state-changed", lambda s, state: seen.append(("state", type(state), state)))
    sock.connect_to_server(os.path.join(tmp_short, "nobody"))
    assert seen == [
        ("state", Ls.LocalSocketState, Ls.LocalSocketState.CONNECTING),
        ("error", Ls.SocketError, Ls.SocketError.SERVER_NOT_FOUND),
        ("state", Ls.LocalSocketState, Ls.LocalSocketState.UNCONNECTED),
    ]
    assert type(sock.get_error()) is Ls.SocketError


def test_connected_pair_reports_enum_state(sock_path):
    server, client, conn = pair(sock_path)
    try:
        for s in (client, conn):
            assert type(s.get_state()) is Ls.LocalSocketState
            assert s.get_state() == Ls.LocalSocketState.CONNECTED
    finally:
        client.abort()
        conn.abort()
        server.close()
