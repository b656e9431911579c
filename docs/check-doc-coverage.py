#!/usr/bin/python3
# check-doc-coverage.py: fail if the API reference would show an undocumented
# or badly documented symbol, a placeholder URL, or any gi-docgen warning
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-doc-coverage.py [--config ls.toml.in] [--content-dir DIR]
#                              [--gi-docgen PROGRAM] Ls-1.0.gir
#
# On the GIR, as the docs build feeds it to gi-docgen (after
# fill-vfunc-field-docs.py):
#
# - every class, interface, record, union, enumeration, bitfield, callback,
#   alias, constant, function and function macro of the namespace, and every
#   constructor, method, virtual method, function, property, signal,
#   enumeration member and field inside them must carry a <doc>; so must
#   every parameter and every non-void return value of those callables.
#   g-ir-scanner writes <doc> only for a symbol whose doc block has a
#   description, so a block with nothing but "Returns:" counts as
#   undocumented (gi-docgen shows "No description available"). Class
#   structures count, final types' too (gi-docgen shows them), and so do
#   their members.
#   Skipped, as gi-docgen skips them: private fields, the parent instance
#   field of a class (gi-docgen lists instance fields without descriptions),
#   the instance parameter of virtual methods (the scanner never records its
#   doc), and symbols the --config file hides ([[object]] hidden = true),
#   which must be marked (skip) in their doc comment;
# - no doc text may start like "Gets : the name": the shape a doc comment
#   takes when its first sentence lost its subject;
#
# in the --config file, the --content-dir pages and the GIR's doc texts: no
# placeholder URL (example.org and the like). Every page in --content-dir
# must be listed in the config's content_files, and every listed page must
# exist.
#
# With --gi-docgen, runs `gi-docgen check` and `gi-docgen generate` (into a
# temporary directory) and counts each warning they print as a problem:
# broken links, getter/setter annotations that name no method, anything
# else gi-docgen complains about.
#
# Prints one line per problem ("file:line: Ls.LocalSocket.get_state: method
# has no description") and exits 1 if there is any, 0 otherwise (not TAP:
# meson treats it as an exitcode test).

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))

NS = {
    'core': 'http://www.gtk.org/introspection/core/1.0',
    'c': 'http://www.gtk.org/introspection/c/1.0',
    'glib': 'http://www.gtk.org/introspection/glib/1.0',
}


def q(ns, tag):
    return '{%s}%s' % (NS[ns], tag)


def CORE(tag):
    return q('core', tag)


# A URL that only stands in for a real one.
PLACEHOLDER_URL = re.compile(
    r'https?://(?:[\w.-]*\.)?(?:example\.(?:org|com|net|edu)|localhost|127\.0\.0\.1'
    r'|[\w.-]*\.(?:example|invalid|test))\b[^\s"\')\]>]*'
    r'|https?://[^\s"\')\]>]*(?:placeholder|TODO|FIXME|XXX)[^\s"\')\]>]*',
    re.IGNORECASE)

# "Gets : the name", "Returns : x": a word, a space, then a colon.
BROKEN_SHAPE = re.compile(r'^\s*\w+\s+:(\s|$)')

CALLABLES = {
    'constructor': 'constructor',
    'method': 'method',
    'function': 'function',
    'virtual-method': 'virtual method',
}

problems = []


def load_fill():
    """fill () of fill-vfunc-field-docs.py: the docs build's GIR fix-up."""
    path = os.path.join(HERE, 'fill-vfunc-field-docs.py')
    spec = importlib.util.spec_from_file_location('fill_vfunc_field_docs', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill


def where(node, fallback=None):
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


class Hidden:
    """The [[object]] entries of a gi-docgen config with hidden = true."""

    def __init__(self, config_text):
        self.names, self.patterns = set(), []
        for table in re.split(r'^\s*\[', config_text, flags=re.M):
            if not table.startswith('[object]]'):
                continue
            if not re.search(r'^\s*hidden\s*=\s*true\s*$', table, re.M):
                continue
            m = re.search(r'^\s*name\s*=\s*"([^"]*)"', table, re.M)
            if m:
                self.names.add(m.group(1))
            m = re.search(r'^\s*pattern\s*=\s*"([^"]*)"', table, re.M)
            if m:
                self.patterns.append(re.compile(m.group(1).replace('\\\\', '\\')))

    def __contains__(self, name):
        return name in self.names or any(p.match(name) for p in self.patterns)


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


def check_fields(node, path, skip_parent):
    fields = node.findall(CORE('field'))
    for i, f in enumerate(fields):
        if f.get('private') == '1':
            continue
        if skip_parent and i == 0:
            continue
        if not has_doc(f):
            report(f, '%s.%s' % (path, f.get('name')), 'field', node)


def check_container(node, path):
    for tag, kind in CALLABLES.items():
        for c in node.findall(CORE(tag)):
            sep = '.vfunc.' if tag == 'virtual-method' else '.'
            check_callable(c, path + sep + c.get('name'), kind, node)
    for p in node.findall(CORE('property')):
        if not has_doc(p):
            report(p, '%s:%s' % (path, p.get('name')), 'property', node)
    for s in node.findall(q('glib', 'signal')):
        check_callable(s, '%s::%s' % (path, s.get('name')), 'signal', node)


def check_gir(root, hidden):
    """Returns how many top-level symbols it checked."""
    ns = root.find(CORE('namespace'))
    if ns is None:
        return 0
    nsname = ns.get('name')
    checked = 0

    for node in ns:
        tag = node.tag.split('}')[-1]
        name = node.get('name')
        path = '%s.%s' % (nsname, name)

        if name in hidden:
            # Hidden from the reference: it must be out of the API too.
            if node.get('introspectable') != '0':
                problems.append('%s: %s: hidden by the docs config but not marked (skip)'
                                % (where(node), path))
            continue
        if tag in ('class', 'interface', 'record', 'union'):
            checked += 1
            if not has_doc(node):
                report(node, path, tag)
            check_container(node, path)
            check_fields(node, path, skip_parent=(tag == 'class'))
        elif tag in ('enumeration', 'bitfield'):
            checked += 1
            if not has_doc(node):
                report(node, path, tag)
            check_members(node, path)
            check_container(node, path)
        elif tag in ('function', 'callback', 'function-macro'):
            checked += 1
            check_callable(node, path, tag.replace('-', ' '), None)
        elif tag in ('constant', 'alias'):
            checked += 1
            if not has_doc(node):
                report(node, path, tag)

    for doc in root.iter(CORE('doc')):
        text = doc.text or ''
        pos = '%s:%s' % (doc.get('filename', '<gir>'), doc.get('line', '?'))
        if BROKEN_SHAPE.match(text):
            problems.append('%s: doc text starts "%s": a sentence without its subject'
                            % (pos, text.strip().split('\n')[0][:40]))
        for url in PLACEHOLDER_URL.findall(text):
            problems.append('%s: placeholder URL %s' % (pos, url))
    return checked


def check_text_file(path):
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            for m in PLACEHOLDER_URL.finditer(line):
                problems.append('%s:%d: placeholder URL %s' % (path, n, m.group(0)))


def content_files(config_text):
    m = re.search(r'^\s*content_files\s*=\s*\[(.*?)\]', config_text, re.M | re.S)
    return re.findall(r'"([^"]+)"', m.group(1)) if m else []


def check_pages(config_path, config_text, content_dir):
    listed = content_files(config_text)
    for page in listed:
        if not os.path.exists(os.path.join(content_dir, page)):
            problems.append('%s: content file %s does not exist in %s'
                            % (config_path, page, content_dir))
    for page in sorted(os.listdir(content_dir)):
        if page.endswith('.md'):
            check_text_file(os.path.join(content_dir, page))
            if page not in listed:
                problems.append('%s: page %s is not listed in content_files of %s'
                                % (os.path.join(content_dir, page), page, config_path))


ANSI = re.compile(r'\x1b\[[0-9;]*m')


def run_gi_docgen(gi_docgen, gir, config_text, content_dir, include_dir):
    """Runs gi-docgen check and generate; each WARNING line is a problem."""
    with tempfile.TemporaryDirectory(prefix='ls-doc-check-') as tmp:
        config = os.path.join(tmp, 'ls.toml')
        with open(config, 'w', encoding='utf-8') as f:
            f.write(config_text.replace('@version@', '0'))
        common = ['--config=' + config, '--add-include-path=' + include_dir]
        runs = [
            ('check', [gi_docgen, 'check'] + common + [gir]),
            ('generate', [gi_docgen, 'generate'] + common + [
                '--no-namespace-dir', '--output-dir=' + os.path.join(tmp, 'html'),
                '--content-dir=' + content_dir, gir]),
        ]
        for name, cmd in runs:
            res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, check=False)
            lines = ANSI.sub('', res.stdout).splitlines()
            for i, line in enumerate(lines):
                if line.startswith(('WARNING', 'ERROR', 'DEPRECATED')):
                    # Link warnings quote the offending text on the next lines.
                    context = ' | '.join(l.strip() for l in lines[i + 1:i + 3]
                                         if not l.startswith(('INFO', 'WARNING')))
                    problems.append('gi-docgen %s: %s%s' % (name, line,
                                                           (' | ' + context) if context else ''))
            if res.returncode != 0 and not any(p.startswith('gi-docgen ' + name) for p in problems):
                problems.append('gi-docgen %s failed (exit %d): %s'
                                % (name, res.returncode, ' '.join(lines[-3:])))


def main(argv):
    parser = argparse.ArgumentParser(description='Check the API reference of a GIR file.')
    parser.add_argument('--config', help='the gi-docgen configuration (ls.toml.in)')
    parser.add_argument('--content-dir', help='the directory of the hand-written pages')
    parser.add_argument('--gi-docgen', help='run this gi-docgen and fail on its warnings')
    parser.add_argument('gir')
    args = parser.parse_args(argv[1:])

    config_text = ''
    if args.config:
        with open(args.config, encoding='utf-8') as f:
            config_text = f.read()
        check_text_file(args.config)
    if args.content_dir:
        check_pages(args.config or '<no config>', config_text, args.content_dir)

    try:
        tree = ET.parse(args.gir)
    except (OSError, ET.ParseError) as e:
        print('%s: cannot read %s: %s' % (argv[0], args.gir, e), file=sys.stderr)
        return 2
    root = tree.getroot()
    if root.find(CORE('namespace')) is None:
        print('%s: %s has no <namespace>' % (argv[0], args.gir), file=sys.stderr)
        return 2

    # Judge what gi-docgen will be given.
    load_fill()(root)
    checked = check_gir(root, Hidden(config_text))
    if checked == 0:
        print('%s: no symbols found in %s' % (argv[0], args.gir), file=sys.stderr)
        return 1

    if args.gi_docgen:
        if not (args.config and args.content_dir):
            print('%s: --gi-docgen needs --config and --content-dir' % argv[0], file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix='ls-doc-gir-') as tmp:
            filled = os.path.join(tmp, os.path.basename(args.gir))
            for prefix, uri in NS.items():
                ET.register_namespace('' if prefix == 'core' else prefix, uri)
            tree.write(filled, encoding='UTF-8', xml_declaration=True)
            run_gi_docgen(args.gi_docgen, filled, config_text, os.path.abspath(args.content_dir),
                          os.path.dirname(os.path.abspath(args.gir)))
    else:
        print('(gi-docgen not run: its warnings were not checked)')

    for p in problems:
        print(p)
    if problems:
        print('%d documentation problem(s) in %s' % (len(problems), args.gir))
        return 1
    print('All %d public symbols of %s are documented.' % (checked, args.gir))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
