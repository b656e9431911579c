#!/usr/bin/python3
# check-doc-coverage.py: fail if a public symbol of a GIR file has no documentation
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-doc-coverage.py Ls-1.0.gir
#
# Every class, record, enumeration, bitfield, callback, alias, constant and
# function of the namespace, and every constructor, method, virtual method,
# function, property, signal and enumeration member inside them must carry a
# <doc> element; so must every parameter and every non-void return value of
# those callables. g-ir-scanner writes <doc> only for a symbol whose gtk-doc
# block has a description, so a block with nothing but "Returns:" counts as
# undocumented (gi-docgen shows it as "No description available").
#
# Skipped, as gi-docgen does: the class structure of a final type (it only
# holds parent_class), private fields, and the instance parameter of
# virtual methods (the scanner never records its doc).
#
# Prints one line per problem ("file:line: Ls.LocalSocket.get_state: method
# has no description") and exits 1 if there is any, 0 otherwise (TAP-free, so
# meson treats it as an exitcode test).

import sys
import xml.etree.ElementTree as ET

NS = {
    'core': 'http://www.gtk.org/introspection/core/1.0',
    'c': 'http://www.gtk.org/introspection/c/1.0',
    'glib': 'http://www.gtk.org/introspection/glib/1.0',
}


def q(ns, tag):
    return '{%s}%s' % (NS[ns], tag)


CORE = lambda tag: q('core', tag)  # noqa: E731

CALLABLES = ('constructor', 'method', 'function', 'virtual-method')

problems = []


def where(node, fallback):
    """The source position of @node, else of @fallback, as 'file:line'."""
    # Prefer the doc comment (in the .c file) over the declaration: a
    # partial block ("Returns:" only) leaves <doc> on the return value.
    for n in (node, fallback):
        if n is None:
            continue
        for doc in n.iter(CORE('doc')):
            if doc.get('filename'):
                return '%s:%s' % (doc.get('filename'), doc.get('line'))
        pos = n.find(CORE('source-position'))
        if pos is not None:
            return '%s:%s' % (pos.get('filename'), pos.get('line'))
    return '<unknown>'


def has_doc(node):
    doc = node.find(CORE('doc'))
    return doc is not None and (doc.text or '').strip() != ''


def report(node, path, what, fallback=None):
    problems.append('%s: %s: %s has no description' % (where(node, fallback), path, what))


def check_callable(node, path, kind, owner):
    if node.get('introspectable') == '0' and node.get('shadowed-by'):
        return
    if not has_doc(node):
        report(node, path, kind, owner)
    params = node.find(CORE('parameters'))
    if params is not None:
        for p in params:
            if p.tag == CORE('instance-parameter') and kind == 'virtual method':
                continue
            if p.tag not in (CORE('parameter'), CORE('instance-parameter')):
                continue
            if p.get('name') == '...':
                continue
            if not has_doc(p):
                report(node, '%s: parameter %s' % (path, p.get('name')), 'parameter', owner)
    ret = node.find(CORE('return-value'))
    if ret is not None:
        t = ret.find(CORE('type'))
        void = t is not None and t.get('name') == 'none' and t.get(q('c', 'type'), 'void') == 'void'
        if not void and not has_doc(ret):
            report(node, '%s: return value' % path, 'return value', owner)


def check_members(node, path):
    for m in node.findall(CORE('member')):
        if not has_doc(m):
            report(m, '%s.%s' % (path, m.get('name').upper()), 'member', node)


def check_container(node, path):
    kinds = {
        'constructor': 'constructor',
        'method': 'method',
        'function': 'function',
        'virtual-method': 'virtual method',
    }
    for tag, kind in kinds.items():
        for c in node.findall(CORE(tag)):
            sep = '.'
            if tag == 'virtual-method':
                sep = '.vfunc.'
            check_callable(c, path + sep + c.get('name'), kind, node)
    for p in node.findall(CORE('property')):
        if not has_doc(p):
            report(p, '%s:%s' % (path, p.get('name')), 'property', node)
    for s in node.findall(q('glib', 'signal')):
        check_callable(s, '%s::%s' % (path, s.get('name')), 'signal', node)


def is_final_class_struct(record):
    if record.get(q('glib', 'is-gtype-struct-for')) is None:
        return False
    fields = [f for f in record.findall(CORE('field')) if f.get('private') != '1']
    return len(fields) <= 1


def main(argv):
    if len(argv) != 2:
        print('usage: %s NAMESPACE-VERSION.gir' % argv[0], file=sys.stderr)
        return 2

    try:
        tree = ET.parse(argv[1])
    except (OSError, ET.ParseError) as e:
        print('%s: cannot read %s: %s' % (argv[0], argv[1], e), file=sys.stderr)
        return 2

    ns = tree.getroot().find(CORE('namespace'))
    if ns is None:
        print('%s: %s has no <namespace>' % (argv[0], argv[1]), file=sys.stderr)
        return 2
    nsname = ns.get('name')
    checked = 0

    for node in ns:
        tag = node.tag.split('}')[-1]
        name = node.get('name')
        path = '%s.%s' % (nsname, name)

        if tag in ('class', 'interface', 'record', 'union'):
            if tag == 'record' and is_final_class_struct(node):
                continue
            checked += 1
            if not has_doc(node):
                report(node, path, tag)
            check_container(node, path)
        elif tag in ('enumeration', 'bitfield'):
            checked += 1
            if not has_doc(node):
                report(node, path, tag)
            check_members(node, path)
            check_container(node, path)
        elif tag in ('function', 'callback'):
            checked += 1
            check_callable(node, path, tag, None)
        elif tag in ('constant', 'alias'):
            checked += 1
            if not has_doc(node):
                report(node, path, tag)

    if checked == 0:
        print('%s: no symbols found in %s' % (argv[0], argv[1]), file=sys.stderr)
        return 1

    for p in problems:
        print(p)
    if problems:
        print('%d undocumented item(s) in %s' % (len(problems), argv[1]))
        return 1
    print('All public symbols of %s are documented.' % nsname)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
