#!/usr/bin/python3
# fill-vfunc-field-docs.py: give the virtual-method fields of class
# structures the description gi-docgen shows as "Class members"
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: fill-vfunc-field-docs.py IN.gir OUT.gir
#
# g-ir-scanner before 1.78 (Debian 12 has 1.74) never writes the <doc> of a
# struct field whose type is an inline function pointer, even when the
# struct's doc comment describes it (@incoming_connection: ...), so gi-docgen
# lists LsLocalServerClass.incoming_connection with "No description
# available". The virtual method made from that field does carry its doc
# (from the "LsLocalServerClass::incoming_connection:" block): this copies
# its first paragraph, with a link to the whole, into each such field that
# has none. Only the docs build uses the result; the installed GIR is the
# scanner's. check-doc-coverage.py accepts such a field when its virtual
# method is documented, by the same rule.

import sys
import xml.etree.ElementTree as ET

NS = {
    '': 'http://www.gtk.org/introspection/core/1.0',
    'c': 'http://www.gtk.org/introspection/c/1.0',
    'glib': 'http://www.gtk.org/introspection/glib/1.0',
}
CORE = '{%s}' % NS['']
GLIB = '{%s}' % NS['glib']
XML_SPACE = '{http://www.w3.org/XML/1998/namespace}space'


def fill(root):
    """Fills the fields in place; returns how many it filled."""
    ns = root.find(CORE + 'namespace')
    nsname = ns.get('name')
    classes = {c.get('name'): c for c in ns.findall(CORE + 'class')}
    filled = 0
    for record in ns.findall(CORE + 'record'):
        cls = classes.get(record.get(GLIB + 'is-gtype-struct-for'))
        if cls is None:
            continue
        vfuncs = {v.get('name'): v for v in cls.findall(CORE + 'virtual-method')}
        for field in record.findall(CORE + 'field'):
            if field.find(CORE + 'callback') is None or field.find(CORE + 'doc') is not None:
                continue
            vfunc = vfuncs.get(field.get('name'))
            vdoc = vfunc.find(CORE + 'doc') if vfunc is not None else None
            if vdoc is None or not (vdoc.text or '').strip():
                continue
            summary = vdoc.text.strip().split('\n\n')[0]
            attrs = {XML_SPACE: 'preserve'}
            # gi-docgen requires a position: the text's own.
            for key in ('filename', 'line'):
                if vdoc.get(key) is not None:
                    attrs[key] = vdoc.get(key)
            doc = ET.Element(CORE + 'doc', attrs)
            doc.text = '%s See [vfunc@%s.%s.%s].' % (summary, nsname, cls.get('name'), field.get('name'))
            field.insert(0, doc)
            filled += 1
    return filled


def main(argv):
    if len(argv) != 3:
        print('usage: %s IN.gir OUT.gir' % argv[0], file=sys.stderr)
        return 2
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    tree = ET.parse(argv[1])
    fill(tree.getroot())
    tree.write(argv[2], encoding='UTF-8', xml_declaration=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
