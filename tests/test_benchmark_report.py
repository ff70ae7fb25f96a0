"""The HTML benchmark report: lines drawn as lines, aspects by name, the per-site table."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from config import load_config
from crawlers.store.sqlite import SQLiteStore
from monitor.benchmark_report import _CSS, aspect_label, format_table, to_html
from monitor.metrics import benchmark, trends
from tests.dashboard_data import NOW, RIVAL_NAME, write_chain


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    cfg_path, db = write_chain(tmp_path_factory.mktemp("report"))
    config = load_config(cfg_path)
    store = SQLiteStore(f"sqlite:///{db}")
    bs = benchmark(config, store, location_ids=["harbor-sh-bund"], window="90d", now=NOW)
    html = to_html(bs, trends(config, store, ["harbor-sh-bund"], now=NOW), title="t")
    yield html, format_table(bs)
    store.close()


def _rules(css: str) -> list[tuple[list[str], dict[str, str]]]:
    """``selector, selector {prop: value; ...}`` rules of a flat stylesheet (no at-rules)."""
    out = []
    for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d))
        out.append(([x.strip() for x in sel.split(",")], decls))
    return out


def _matches(selector: str, tag: str, classes: set[str]) -> bool:
    """A simple selector (``tag``, ``.cls``, ``tag.cls``) against one element."""
    m = re.fullmatch(r"([a-z0-9]*)((?:\.[\w-]+)*)", selector)
    if not m:
        return False
    return (not m.group(1) or m.group(1) == tag) and set(m.group(2).split(".")[1:]) <= classes


def test_trend_lines_are_not_filled_by_the_stylesheet(report: tuple[str, str]) -> None:
    """A CSS ``fill`` beats the ``fill="none"`` attribute: no rule that matches a polyline may
    set a fill other than none (the bug: ``.own{fill:...}`` drew each line as a closed shape)."""
    html, _ = report
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
    assert css == _CSS
    lines = re.findall(r'<polyline class="([^"]*)"[^>]*fill="none"', html)
    assert {"own", "set"} <= set(lines)  # both trend lines are drawn
    for classes in lines:
        fills = [d["fill"] for sels, d in _rules(css) if "fill" in d and any(_matches(s, "polyline", set(classes.split()))
                                                                             for s in sels)]
        assert fills and all(f == "none" for f in fills), (classes, fills)
        strokes = [d["stroke"] for sels, d in _rules(css) if "stroke" in d
                   and any(_matches(s, "polyline", set(classes.split())) for s in sels)]
        assert strokes and strokes[-1] != "none"
    # the bars and legends keep their colours
    assert any(_matches(s, "rect", {"own"}) and "fill" in d for sels, d in _rules(css) for s in sels)
    # the old rule is caught by this very check
    old = ".own{stroke:#1f77b4;fill:#1f77b4}"
    assert any(d.get("fill") not in (None, "none") and any(_matches(s, "polyline", {"own"}) for s in sels)
               for sels, d in _rules(old))


def test_aspects_by_display_name_and_sites_against_the_set(report: tuple[str, str]) -> None:
    html, table = report
    assert aspect_label("checkin") == "Check-in and check-out" and aspect_label("breakfast") == "breakfast"
    assert ">Service and staff<" in html and ">service<" not in html
    assert "<h3>By site: own vs the competitors on that site</h3>" in html
    row = re.search(r"<tr><td>stayadvisor</td>(.*?)</tr>", html).group(1)  # type: ignore[union-attr]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[:2] == ["90", "90"] and cells[-1] == "1 of 2"  # 90 days a mention each; Bund above its rival
    assert "Rating distribution" in html and "unrated" in html
    assert RIVAL_NAME not in html and "Rival &lt;b&gt;Grand&lt;/b&gt;" in html
    assert "by site (own vs set there): stayadvisor 90 vs 90" in table
