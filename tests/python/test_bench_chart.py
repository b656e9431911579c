# test_bench_chart.py: bench/run-bench --plot, and the docs' Performance page
# (issue 27)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The page shows a table copied from a committed results file and the chart
# drawn from it: both must be that file's table. The chart is read back from
# the SVG (its text stays text): one panel per metric, the servers in the
# table's order, each bar labelled with the table's ratio or byte count.

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

SOURCE_ROOT = os.environ.get("LS_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_BENCH = os.path.join(SOURCE_ROOT, "bench", "run-bench")
PAGE = os.path.join(SOURCE_ROOT, "docs", "performance.md")
CHART = os.path.join(SOURCE_ROOT, "docs", "performance.svg")
SVG = "{http://www.w3.org/2000/svg}"

sys.path.insert(0, os.path.join(SOURCE_ROOT, "bench"))
import bench_chart  # noqa: E402


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def page_results():
    """The results file the page names, and its table (the last one)."""
    m = re.search(r"`(bench/results/[^`]+\.md)`", read(PAGE))
    assert m, "docs/performance.md names no bench/results file"
    path = os.path.join(SOURCE_ROOT, m.group(1))
    return m.group(1), bench_chart.pick_table(read(path))


def chart_panels(path):
    """{panel title: (server tick labels, bar labels)} of a run-bench chart."""
    panels = {}
    root = ET.parse(path).getroot()
    for axes in root.iter(SVG + "g"):
        if not (axes.get("id") or "").startswith("axes_"):
            continue
        servers = [
            "".join(t.itertext())
            for g in axes.iter(SVG + "g") if (g.get("id") or "").startswith("ytick_")
            for t in g.iter(SVG + "text")]
        # Bar labels and the title are the axes' own text groups.
        own = ["".join(g.itertext()).strip() for g in axes
               if g.tag == SVG + "g" and (g.get("id") or "").startswith("text_")]
        title = [t for t in own if ":" in t]
        labels = [t for t in own if ":" not in t]
        assert len(title) == 1, own
        panels[title[0]] = (servers, labels)
    return panels


def expected_panels(table):
    panels = {}
    for metric, unit, lower, cells in table["rows"]:
        if lower:
            servers = table["servers"]
            labels = ["—" if cells[s][0] is None else "{:,.0f}".format(cells[s][0])
                      for s in servers]
        else:
            servers = [s for s in table["servers"] if s != "epoll"]
            labels = ["—" if cells[s][1] is None else "%.2f×" % cells[s][1] for s in servers]
        panels[metric] = (servers, labels)
    return panels


def assert_chart_of(path, table):
    got = chart_panels(path)
    want = expected_panels(table)
    assert len(got) == len(want)
    for metric, (servers, labels) in want.items():
        titles = [t for t in got if t.startswith(metric + " (") or t.startswith(metric + ":")]
        assert len(titles) == 1, (metric, list(got))
        assert got[titles[0]] == (servers, labels), metric


def test_page_table_is_the_results_table():
    _, results = page_results()
    tables = bench_chart.parse_tables(read(PAGE))
    assert len(tables) == 1
    assert tables[0]["servers"] == results["servers"]
    assert tables[0]["rows"] == results["rows"]


def test_page_chart_is_the_chart_of_that_table():
    _, results = page_results()
    assert_chart_of(CHART, results)
    assert "](performance.svg)" in read(PAGE)


def test_plot_from_a_results_file(tmp_path):
    pytest.importorskip("matplotlib")
    source, results = page_results()
    out = tmp_path / "chart.svg"
    res = subprocess.run([RUN_BENCH, "--plot", str(out), "--from", source], cwd=SOURCE_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert_chart_of(str(out), results)
    # Reproducible: with the matplotlib that drew the committed chart, the
    # command gives it byte for byte (another version lays it out its own way).
    made_with = re.search(r"Matplotlib v([0-9.]+)", read(CHART))
    import matplotlib
    if made_with and made_with.group(1) == matplotlib.__version__:
        assert out.read_text(encoding="utf-8") == read(CHART)


def test_plot_picks_a_table_by_number(tmp_path):
    pytest.importorskip("matplotlib")
    source, _ = page_results()
    tables = bench_chart.parse_tables(read(os.path.join(SOURCE_ROOT, source)))
    out = tmp_path / "first.svg"
    res = subprocess.run([RUN_BENCH, "--plot", str(out), "--from", source, "--table", "1"],
                         cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert_chart_of(str(out), tables[0])


def test_plot_refuses_a_file_without_a_table(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nNo table here.\n", encoding="utf-8")
    out = tmp_path / "x.svg"
    res = subprocess.run([RUN_BENCH, "--plot", str(out), "--from", str(notes)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "no run-bench table" in res.stderr and str(out) in res.stderr
    assert not out.exists()


def test_from_needs_plot_and_no_build_dir(tmp_path):
    res = subprocess.run([RUN_BENCH, "--from", "bench/results/issue17-close.md"],
                         cwd=SOURCE_ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "--plot" in res.stderr
