#!/usr/bin/python3
# check-vapi-types.py: fail if the VAPI loses the enum type the GIR gives
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-vapi-types.py Ls-1.0.gir ls-1.0.vapi
#
# For every method, virtual method, function, signal and property of the
# GIR's classes, each return value, parameter and property whose GIR type is
# an enumeration or bitfield of the namespace must have that type in the
# VAPI: Ls.LocalSocketState, not int. An error-domain enumeration
# (glib:error-domain) is a Vala errordomain, which is not a value type, so
# there the VAPI must use its value twin, <Name>Code, declared in
# introspection/Ls-1.0-custom.vala with every member of the GIR's enum.
#
# Prints one line per problem and exits 1 if there is any, 0 otherwise.

import re
import sys
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
GLIB = '{http://www.gtk.org/introspection/glib/1.0}'

problems = []


def split_params(text):
    """Split a VAPI parameter list on the commas outside <...> and (...)."""
    out, depth, cur = [], 0, ''
    for ch in text:
        if ch in '<(':
            depth += 1
        elif ch in '>)':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out]


def strip_type(decl):
    """'unowned Ls.Foo? name = x' -> ('Ls.Foo', 'name')."""
    decl = decl.split('=')[0].strip()
    words = [w for w in decl.split() if w not in ('unowned', 'owned', 'out', 'ref', 'params')]
    if len(words) < 2:
        return None, None
    return words[-2].rstrip('?'), words[-1].lstrip('@')


MEMBER_RE = re.compile(
    r'^\s*public\s+(?P<mods>(?:(?:static|virtual|abstract|override|async|signal|sealed)\s+)*)'
    r'(?P<rest>.*)$')


def parse_vapi(path):
    """{class: {'method': {name: (ret, {param: type})}, 'signal': ..., 'property': {name: type}}},
    and {enum name: [members]}."""
    classes, enums = {}, {}
    cls = enum = None
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'^\s*public\s+(?:sealed\s+|abstract\s+)*class\s+(\w+)', line)
            if m:
                cls = classes.setdefault(m.group(1), {'method': {}, 'signal': {}, 'property': {}})
                continue
            m = re.match(r'^\s*public\s+(?:enum|errordomain)\s+(\w+)', line)
            if m:
                enum = enums.setdefault(m.group(1), [])
                continue
            if enum is not None:
                if line.strip().startswith('}') or 'public ' in line:
                    enum = None
                    continue
                for name in re.findall(r'\b([A-Z][A-Z0-9_]*)\b', line.split('//')[0]):
                    enum.append(name)
                continue
            if re.match(r'^\t}', line):
                cls = None
                continue
            if cls is None:
                continue
            m = MEMBER_RE.match(line)
            if not m:
                continue
            mods, rest = m.group('mods').split(), m.group('rest')
            prop = re.match(r'^(.*?)\s+(\w+)\s*\{', rest)
            if prop and '(' not in rest.split('{')[0]:
                ty, name = strip_type(prop.group(1) + ' ' + prop.group(2))
                cls['property'][name] = ty
                continue
            call = re.match(r'^(.*?)\s*\((.*)\)', rest)
            if not call:
                continue
            ty, name = strip_type(call.group(1))
            if name is None:
                continue  # a constructor: no return type
            params = {}
            for p in split_params(call.group(2)):
                pty, pname = strip_type(p)
                if pname:
                    params[pname] = pty
            kind = 'signal' if 'signal' in mods else 'method'
            cls[kind][name] = (ty, params)
    return classes, enums


def main(argv):
    if len(argv) != 3:
        print('usage: %s NAMESPACE-VERSION.gir LIBRARY.vapi' % argv[0], file=sys.stderr)
        return 2
    ns = ET.parse(argv[1]).getroot().find(CORE + 'namespace')
    nsname = ns.get('name')
    classes, vapi_enums = parse_vapi(argv[2])

    # The Vala type each enum of the namespace must appear as.
    expected = {}
    for node in ns:
        if node.tag in (CORE + 'enumeration', CORE + 'bitfield'):
            name = node.get('name')
            if node.get(GLIB + 'error-domain'):
                twin = name + 'Code'
                expected[name] = '%s.%s' % (nsname, twin)
                members = vapi_enums.get(twin)
                if members is None:
                    problems.append('%s: error domain %s.%s has no value twin "enum %s" in the VAPI'
                                    % (argv[2], nsname, name, twin))
                    continue
                for mem in node.findall(CORE + 'member'):
                    if mem.get('name').upper() not in members:
                        problems.append('%s: enum %s lacks %s (a member of %s.%s)'
                                        % (argv[2], twin, mem.get('name').upper(), nsname, name))
            else:
                expected[name] = '%s.%s' % (nsname, name)

    def gir_enum(node):
        t = node.find(CORE + 'type')
        if t is None:
            return None
        name = t.get('name', '')
        if name.startswith(nsname + '.'):
            name = name[len(nsname) + 1:]
        return expected.get(name)

    checked = 0

    def compare(where, want, got):
        nonlocal checked
        checked += 1
        if got is None:
            problems.append('%s: not found in the VAPI (should be %s)' % (where, want))
        elif got != want:
            problems.append('%s: %s in the VAPI, should be %s' % (where, got, want))

    for cls in ns.findall(CORE + 'class'):
        cname = cls.get('name')
        vcls = classes.get(cname, {'method': {}, 'signal': {}, 'property': {}})
        for tag, kind in (('method', 'method'), ('function', 'method'),
                          ('virtual-method', 'method'), (GLIB + 'signal', 'signal')):
            full = tag if tag.startswith('{') else CORE + tag
            for c in cls.findall(full):
                if c.get('introspectable') == '0':
                    continue
                vname = c.get('name').replace('-', '_')
                vdecl = vcls[kind].get(vname)
                where = '%s.%s.%s' % (nsname, cname, vname)
                ret = c.find(CORE + 'return-value')
                want = gir_enum(ret) if ret is not None else None
                if want:
                    compare(where + ' (return value)', want, vdecl[0] if vdecl else None)
                params = c.find(CORE + 'parameters')
                for p in (params.findall(CORE + 'parameter') if params is not None else []):
                    want = gir_enum(p)
                    if want:
                        got = vdecl[1].get(p.get('name')) if vdecl else None
                        compare('%s (parameter %s)' % (where, p.get('name')), want, got)
        for p in cls.findall(CORE + 'property'):
            want = gir_enum(p)
            if want:
                vname = p.get('name').replace('-', '_')
                compare('%s.%s:%s' % (nsname, cname, p.get('name')), want, vcls['property'].get(vname))

    for p in problems:
        print(p)
    if problems:
        return 1
    if checked == 0:
        print('%s: no enum-typed value found in %s' % (argv[0], argv[1]), file=sys.stderr)
        return 1
    print('%d enum-typed values keep their type in %s' % (checked, argv[2]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
