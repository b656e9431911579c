# SPDX-License-Identifier: LGPL-2.1-or-later
"""Draw the table of a run-bench run as a chart (bench/run-bench --plot).

The chart has one panel per metric, one bar per server: for throughput rows
the ratio to raw epoll measured in the same run (the number in parentheses
in the table; epoll itself is the dashed line at 1), for memory rows (↓,
where epoll uses no bytes and there is no ratio) the bytes per connection.
Ls's servers are blue, the references without a library (epoll, loop,
floor) grey, the other libraries orange. Text stays text in the SVG, so the
chart is searchable and the tests can read it.

The table is read from run-bench's Markdown (a results file, or the table
of the run that just finished), so the chart of a committed results file
can be drawn again without re-running anything.
"""

import re
import textwrap

REFERENCES = ("epoll", "loop", "floor")
COLORS = {"ls": "#1f5fa8", "reference": "#9a9a9a", "peer": "#e07b1f"}

_CELL = re.compile(r"^(?P<value>[0-9][0-9,]*(?:\.[0-9]+)?|—)(?:\s*\((?P<ratio>[0-9.]+)×\)|\s*\(—\))?$")


class ResultsError(Exception):
    pass


def parse_tables(text):
    """Every run-bench table of a results file, in order. Each is a dict:
    heading (the nearest heading above), facts (the "- Key: value" lines
    between that heading and the table), servers, and rows: a list of
    (metric, unit, lower_is_better, {server: (value, ratio)})."""
    tables = []
    heading, facts = "", {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading, facts = line.lstrip("#").strip(), {}
        m = re.match(r"^- ([A-Z][A-Za-z ]+): (.*)$", line)
        if m:
            facts[m.group(1)] = m.group(2)
        if line.startswith("| metric | unit |"):
            servers = [c.strip() for c in line.strip().strip("|").split("|")][2:]
            rows = []
            i += 2  # the header and the |---| line
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                metric, unit, values = cells[0], cells[1], cells[2:]
                lower = unit.endswith("↓")
                parsed = {}
                for server, cell in zip(servers, values):
                    c = _CELL.match(cell)
                    if c is None:
                        raise ResultsError("cannot read cell %r (%s, %s)" % (cell, metric, server))
                    value = None if c.group("value") == "—" else float(c.group("value").replace(",", ""))
                    ratio = float(c.group("ratio")) if c.group("ratio") else None
                    parsed[server] = (value, ratio)
                rows.append((metric, unit.rstrip(" ↓"), lower, parsed))
                i += 1
            tables.append({"heading": heading, "facts": dict(facts), "servers": servers,
                           "rows": rows})
            continue
        i += 1
    return tables


def pick_table(text, index=None):
    """The INDEX-th table (1-based; default the last) of a results file."""
    tables = parse_tables(text)
    if not tables:
        raise ResultsError("no run-bench table (| metric | unit | ...) found")
    if index is None:
        return tables[-1]
    if not 1 <= index <= len(tables):
        raise ResultsError("there are %d tables, not %d" % (len(tables), index))
    return tables[index - 1]


def kind(server):
    if server.startswith("ls"):
        return "ls"
    return "reference" if server in REFERENCES else "peer"


def draw(table, out, source=None):
    """Writes the chart of TABLE (from parse_tables) to OUT (.svg, .png, .pdf)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # Reproducible output: no date, fixed ids; text as <text>, not paths.
    plt.rcParams.update({"svg.hashsalt": "ls-bench", "svg.fonttype": "none",
                         "font.size": 9})

    rows = [r for r in table["rows"]
            if any((v[1] if not r[2] else v[0]) is not None for v in r[3].values())]
    if not rows:
        raise ResultsError("the table has no ratio or memory value to draw")
    ncols = 2 if len(rows) > 1 else 1
    nrows = (len(rows) + ncols - 1) // ncols
    bar_servers = [s for s in table["servers"] if s != "epoll"]
    panel_height = 0.3 * (len(table["servers"]) + 2)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, panel_height * nrows + 1.4),
                             squeeze=False)

    for ax, (metric, unit, lower, cells) in zip(axes.flat, rows):
        # Throughput: ratio to epoll (epoll is the line at 1). Memory: bytes
        # per connection, epoll included (it has no ratio to itself).
        servers = table["servers"] if lower else bar_servers
        values = [cells.get(s, (None, None))[0 if lower else 1] for s in servers]
        ys = list(range(len(servers)))[::-1]
        ax.barh(ys, [v or 0 for v in values], color=[COLORS[kind(s)] for s in servers],
                height=0.7)
        ax.set_yticks(ys)
        ax.set_yticklabels(servers)
        top = max([v for v in values if v is not None] + [1.0])
        for y, v in zip(ys, values):
            label = "—" if v is None else ("{:,.0f}".format(v) if lower else "%.2f×" % v)
            ax.text((v or 0) + top * 0.01, y, label, va="center", fontsize=8)
        if lower:
            ax.set_title("%s: %s per connection (lower is better)" % (metric, unit.replace("B/conn", "bytes")),
                         fontsize=9)
            ax.set_xlim(0, top * 1.25)
        else:
            ax.axvline(1.0, color="black", linestyle="--", linewidth=0.8)
            ax.set_title("%s (%s): ratio to raw epoll (higher is better)" % (metric, unit),
                         fontsize=9)
            ax.set_xlim(0, top * 1.2)
        ax.tick_params(axis="y", length=0)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in list(axes.flat)[len(rows):]:
        ax.set_visible(False)

    title = table["heading"] or "run-bench"
    if not title.startswith("Ls echo benchmark"):
        title = "Ls echo benchmark: " + title
    sub = "; ".join(x for x in (table["facts"].get("Mode"), table["facts"].get("Machine"),
                                "from " + source if source else None) if x)
    fig.suptitle("\n".join([title] + textwrap.wrap(sub, 60 * ncols)), fontsize=10)
    fig.legend(handles=[Patch(color=COLORS["ls"], label="Ls"),
                        Patch(color=COLORS["reference"], label="references without a library"),
                        Patch(color=COLORS["peer"], label="other libraries"),
                        plt.Line2D([], [], color="black", linestyle="--", linewidth=0.8,
                                   label="raw epoll = 1")],
               loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1 - 0.7 / fig.get_figheight()))
    fig.savefig(out, metadata={"Date": None} if out.endswith(".svg") else None)
    plt.close(fig)
