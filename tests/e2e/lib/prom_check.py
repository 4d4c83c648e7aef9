#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check a Prometheus text exposition (format 0.0.4) strictly enough to catch
what a scraper would refuse, then print every sample as one normalised line,
'name{k="v",...} value', for the e2e cases to grep.

Checked: HELP/TYPE lines are well formed and come once per family, before
its samples; every sample line parses (name, escaped label values, value);
no series repeats; a counter is not negative; a histogram's buckets are
cumulative, end at le="+Inf", and that bucket equals _count.

usage: prom_check.py FILE   (exit 1 with the first problem on stderr)
"""
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(.*)\})? (\S+)( -?\d+)?$')


def die(lineno, msg):
    sys.stderr.write('line %d: %s\n' % (lineno, msg))
    sys.exit(1)


def labels_of(text, lineno):
    out = []
    pos = 0
    while pos < len(text):
        m = re.compile(LABEL).match(text, pos)
        if not m:
            die(lineno, 'bad labels at %r' % text[pos:])
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ',':
                die(lineno, 'expected a comma in labels at %r' % text[pos:])
            pos += 1
    names = [k for k, _ in out]
    if len(set(names)) != len(names):
        die(lineno, 'a label repeats')
    return out


def main():
    types, helps, seen, fam_done = {}, set(), set(), set()
    samples = []
    current = None
    with open(sys.argv[1], encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    for n, line in enumerate(lines, 1):
        if line.startswith('#'):
            m = re.match(r'^# (HELP|TYPE) (' + NAME + r') ?(.*)$', line)
            if not m:
                continue  # a plain comment
            kind, name, rest = m.groups()
            if kind == 'TYPE':
                if rest not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                    die(n, 'unknown type %r' % rest)
                if name in types:
                    die(n, 'second TYPE for %s' % name)
                types[name] = rest
            else:
                if name in helps:
                    die(n, 'second HELP for %s' % name)
                helps.add(name)
            if current and current != name:
                fam_done.add(current)
            if name in fam_done:
                die(n, 'family %s split' % name)
            current = name
            continue
        if not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            die(n, 'not a sample: %r' % line)
        name, _, ltext, value = m.group(1), m.group(2), m.group(3), m.group(4)
        try:
            v = float(value)
        except ValueError:
            die(n, 'bad value %r' % value)
        fam = name
        for suf in ('_bucket', '_sum', '_count'):
            if name.endswith(suf) and types.get(name[:-len(suf)]) == 'histogram':
                fam = name[:-len(suf)]
        if fam not in types:
            die(n, 'sample %s before its TYPE' % name)
        if fam != current:
            die(n, 'sample of %s outside its family block' % fam)
        labels = labels_of(ltext or '', n)
        key = (name, tuple(labels))
        if key in seen:
            die(n, 'series repeats: %s' % line)
        seen.add(key)
        if types[fam] == 'counter' and v < 0:
            die(n, 'negative counter')
        samples.append((fam, name, labels, v, n))
    # Histograms: cumulative buckets ending at +Inf == _count.
    groups = {}
    for fam, name, labels, v, n in samples:
        if types[fam] != 'histogram':
            continue
        rest = tuple((k, x) for k, x in labels if k != 'le')
        g = groups.setdefault((fam, rest), {'buckets': [], 'count': None})
        if name.endswith('_bucket'):
            le = dict(labels).get('le')
            if le is None:
                die(n, 'bucket without le')
            g['buckets'].append((float(le), v, n))
        elif name.endswith('_count'):
            g['count'] = v
    for (fam, rest), g in groups.items():
        b = g['buckets']
        if not b or b[-1][0] != float('inf'):
            sys.stderr.write('%s%s: no le="+Inf" bucket last\n' % (fam, rest))
            sys.exit(1)
        for (l1, v1, _), (l2, v2, n2) in zip(b, b[1:]):
            if l2 <= l1 or v2 < v1:
                die(n2, '%s buckets not increasing' % fam)
        if g['count'] != b[-1][1]:
            sys.stderr.write('%s%s: _count %s != +Inf bucket %s\n' % (fam, rest, g['count'], b[-1][1]))
            sys.exit(1)
    for fam, name, labels, v, n in samples:
        print('%s{%s} %s' % (name, ','.join('%s="%s"' % kv for kv in labels), repr(v) if v != int(v) else int(v)))


main()
