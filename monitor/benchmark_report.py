"""Views of benchmarks: a terminal table, JSON, CSV and one self-contained HTML file.

The HTML works offline (inline CSS and SVG drawn here, no scripts, no network) and every
piece of config or scraped text goes through ``html.escape``: location names and aspect
labels come from people who may not be friendly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from html import escape
from typing import Any

from monitor.metrics import LocationBenchmark, PlatformScore, WindowMetrics
from nlp.aspects import taxonomy


def aspect_label(aspect: str) -> str:
    """An aspect's English display name from the shipped taxonomies (``checkin`` ->
    ``Check-in and check-out``); an id no taxonomy knows is shown as it is."""
    for a in taxonomy(None).aspects:
        if a.id == aspect:
            return a.label
    return aspect


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _signed(x: float | None, fmt: str = "+.2f") -> str:
    return "" if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _index(m: WindowMetrics) -> str:
    return _num(m.reputation_index, ".1f") if m.reputation_index is not None else (m.index_note or "-")


def _period(m: WindowMetrics) -> str:
    return f"{m.start:%Y-%m-%d} .. {m.end:%Y-%m-%d %H:%M} UTC"


def is_empty(benchmarks: Sequence[LocationBenchmark]) -> bool:
    """True when no own location nor any rival has a mention in the window."""
    return all(b.current.mentions == 0 and all(m.metrics.mentions == 0 for m in b.members) for b in benchmarks)


def format_table(benchmarks: Sequence[LocationBenchmark]) -> str:
    """Plain text for a terminal: one block per own location."""
    out: list[str] = []
    for b in benchmarks:
        cur, prev, d, s = b.current, b.previous, b.deltas, b.set_avg
        loc = b.location
        out.append(f"{loc.name} [{loc.id}] ({loc.category}, {loc.region}): last {b.window}, {_period(cur)}")
        if cur.mentions == 0:
            out.append("  no mentions in this window")
        head = f"  {'':<20} {'own':>10} {'previous':>10} {'change':>8} {'set avg':>10} {'comp idx':>9}"
        out += [head, "  " + "-" * (len(head) - 2)]
        rows = [
            ("mentions", str(cur.mentions), str(prev.mentions), _signed(d["mentions"], "+.0f"), str(s.mentions), ""),
            ("rating (0-5)", _num(cur.avg_rating), _num(prev.avg_rating), _signed(d["avg_rating"]),
             _num(s.avg_rating), _num(b.comp_index_rating, ".0f")),
            ("bayesian rating", _num(cur.bayes_rating), _num(prev.bayes_rating), _signed(d["bayes_rating"]),
             f"prior {_num(b.prior_rating)}", ""),
            ("reputation (0-100)", _num(cur.reputation_index, ".1f"), _num(prev.reputation_index, ".1f"),
             _signed(d["reputation_index"], "+.1f"), _num(s.reputation_index, ".1f"), _num(b.comp_index_reputation, ".0f")),
            ("net sentiment", _signed(cur.net_sentiment) or "-", _signed(prev.net_sentiment) or "-",
             _signed(d["net_sentiment"]), _signed(s.net_sentiment) or "-", ""),
            ("response rate", _pct(cur.response_rate), _pct(prev.response_rate), "", _pct(s.response_rate), ""),
        ]
        out += [f"  {n:<20} {a:>10} {p:>10} {c:>8} {sv:>10} {ci:>9}" for n, a, p, c, sv, ci in rows]
        if cur.index_note:
            out.append(f"  reputation index: {cur.index_note}")
        rank = f"{b.rank} of {b.rank_of}" if b.rank else "-"
        out.append(f"  review share {_pct(b.review_share)} · rank in set {rank} · {len(b.members)} competitor(s)")
        if b.weakest_aspects:
            out.append("  trails its set on: " + "; ".join(
                f"{aspect_label(g.aspect)} {g.own_net_sentiment:+.2f} vs {g.set_net_sentiment:+.2f}"
                for g in b.weakest_aspects))
        if b.platforms:
            out.append("  by site (own vs set there): " + "; ".join(
                f"{p.site} {p.own.mentions} vs {p.set.mentions}, rating {_num(p.own.avg_rating)} vs "
                f"{_num(p.set.avg_rating)}, rank {_rank(p)}" for p in b.platforms))
        for m in b.members:
            mm = m.metrics
            out.append(f"    {m.location.name[:34]:<34} {m.distance_km:>5.1f} km {mm.mentions:>6} "
                       f"{_num(mm.avg_rating):>5} {_num(mm.reputation_index, '.1f'):>6}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _rank(p: PlatformScore) -> str:
    return f"{p.rank} of {p.rank_of}" if p.rank else "-"


def to_json(benchmarks: Sequence[LocationBenchmark]) -> str:
    return json.dumps([b.to_dict() for b in benchmarks], ensure_ascii=False, indent=2) + "\n"


CSV_COLUMNS = (
    "location_id", "name", "brand", "category", "region", "window", "start", "end", "mentions", "avg_rating",
    "bayes_rating", "prior_rating", "reputation_index", "index_note", "net_sentiment", "response_rate",
    "prev_mentions", "prev_avg_rating", "prev_reputation_index", "delta_mentions", "delta_avg_rating",
    "delta_reputation_index", "delta_net_sentiment", "set_size", "set_mentions", "set_avg_rating",
    "set_reputation_index", "comp_index_rating", "comp_index_reputation", "review_share", "rank", "rank_of",
    "weakest_aspects",
)  # fmt: skip


def _cell(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return "" if v is None else v


def to_csv(benchmarks: Sequence[LocationBenchmark]) -> str:
    """One row per own location."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for b in benchmarks:
        c, p, d, s, loc = b.current, b.previous, b.deltas, b.set_avg, b.location
        row = (loc.id, loc.name, loc.brand, loc.category, loc.region, b.window, c.to_dict()["start"], c.to_dict()["end"],
               c.mentions, c.avg_rating, c.bayes_rating, b.prior_rating, c.reputation_index, c.index_note,
               c.net_sentiment, c.response_rate, p.mentions, p.avg_rating, p.reputation_index, d["mentions"],
               d["avg_rating"], d["reputation_index"], d["net_sentiment"], s.members, s.mentions, s.avg_rating,
               s.reputation_index, b.comp_index_rating, b.comp_index_reputation, b.review_share, b.rank, b.rank_of,
               ";".join(f"{g.aspect}:{g.gap:.3f}" for g in b.weakest_aspects))
        w.writerow([_cell(v) for v in row])
    return buf.getvalue()


# -- HTML --------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#f4f4f4}
.note{color:#a33}.muted{color:#777}svg{display:block;margin:.5em 0}
polyline{fill:none}polyline.own{stroke:#1f77b4}polyline.set{stroke:#ff7f0e}
rect.own,circle.own,text.own{fill:#1f77b4}rect.set,circle.set,text.set{fill:#ff7f0e}
.bad{color:#a33}.good{color:#2a7}
"""
"""Colours by element: a ``fill`` on ``.own`` would also fill the trend polylines (a CSS
property beats the ``fill="none"`` attribute), drawing each line as a closed shape."""


def _trend_svg(points: list[dict[str, Any]], w: int = 640, h: int = 180) -> str:
    """Reputation index by bucket, own vs set average; gaps where the index is None."""
    if not points:
        return ""
    pad, n = 30, len(points)

    def xy(i: int, v: float) -> str:
        x = pad + (w - 2 * pad) * (i / max(1, n - 1))
        return f"{x:.1f},{h - pad - (h - 2 * pad) * v / 100:.1f}"

    parts = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="reputation index trend">']
    for v in (0, 50, 100):
        y = h - pad - (h - 2 * pad) * v / 100
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="2" y="{y + 4:.1f}" font-size="10">{v}</text>')
    for key, cls in (("own_index", "own"), ("set_index", "set")):
        run: list[str] = []
        for i, p in enumerate([*points, {key: None}]):
            if p[key] is not None:
                run.append(xy(i, p[key]))
            elif run:
                shape = (f'<polyline class="{cls}" fill="none" stroke-width="2" points="{" ".join(run)}"/>'
                         if len(run) > 1 else f'<circle class="{cls}" r="2" cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}"/>')
                parts.append(shape)
                run = []
    parts.append(f'<text x="{pad}" y="{h - 8}" font-size="10">{escape(points[0]["bucket"])}</text>'
                 f'<text x="{w - pad}" y="{h - 8}" font-size="10" text-anchor="end">{escape(points[-1]["bucket"])}</text>'
                 f'<text class="own" x="{pad + 60}" y="12" font-size="11" stroke="none">— own</text>'
                 f'<text class="set" x="{pad + 110}" y="12" font-size="11" stroke="none">— set average</text></svg>')
    return "".join(parts)


def _aspect_svg(b: LocationBenchmark, w: int = 640) -> str:
    """Net sentiment per aspect (-1..1), own bar above the set's."""
    set_net = {a.aspect: a.net_sentiment for a in b.set_aspects}
    aspects = [a for a in b.current.aspects if a.net_sentiment is not None][:8]
    if not aspects:
        return ""
    label_w, row_h = 140, 30
    mid, half = label_w + (w - label_w) / 2, (w - label_w) / 2 - 10
    h = row_h * len(aspects) + 20
    parts = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="aspect net sentiment">',
             f'<line x1="{mid}" x2="{mid}" y1="0" y2="{h - 20}" stroke="#999"/>']
    for i, a in enumerate(aspects):
        y = i * row_h
        rival = set_net.get(a.aspect)
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{escape(aspect_label(a.aspect)[:22])}</text>')
        for j, (v, cls) in enumerate(((a.net_sentiment, "own"), (rival, "set"))):
            if v is None:
                continue
            x, bw = (mid, v * half) if v >= 0 else (mid + v * half, -v * half)
            parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y + 4 + j * 11}" width="{max(bw, 1):.1f}" height="10">'
                         f'<title>{escape(aspect_label(a.aspect))}, {cls}: {v:+.2f}</title></rect>')
    parts.append(f'<text x="{mid}" y="{h - 4}" font-size="10" text-anchor="middle">0</text>'
                 f'<text x="{label_w}" y="{h - 4}" font-size="10">-1</text>'
                 f'<text x="{w - 20}" y="{h - 4}" font-size="10">+1</text></svg>')
    return "".join(parts)


def _gap_cell(x: float | None, fmt: str, scale: float = 1) -> str:
    if x is None:
        return "<td>-</td>"
    cls = ' class="bad"' if x < 0 else ' class="good"' if x > 0 else ""
    return f"<td{cls}>{x * scale:{fmt}}</td>"


def _platforms_table(b: LocationBenchmark) -> str:
    """One row per site: own and set (its members on that site, pooled), gaps, rank there."""
    head = ("<tr><th>site</th><th>mentions</th><th>set</th><th>rating</th><th>set</th><th>gap</th><th>net sentiment</th>"
            "<th>set</th><th>gap</th><th>response</th><th>set</th><th>rank on site</th></tr>")
    rows = []
    for p in b.platforms:
        o, t = p.own, p.set
        rows.append(f"<tr><td>{escape(p.site)}</td><td>{o.mentions}</td><td>{t.mentions}</td><td>{_num(o.avg_rating)}</td>"
                    f"<td>{_num(t.avg_rating)}</td>{_gap_cell(p.gap_rating, '+.2f')}<td>{_num(o.net_sentiment, '+.2f')}</td>"
                    f"<td>{_num(t.net_sentiment, '+.2f')}</td>{_gap_cell(p.gap_net_sentiment, '+.2f')}"
                    f"<td>{_pct(o.response_rate)}</td><td>{_pct(t.response_rate)}</td><td>{escape(_rank(p))}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _stars_table(b: LocationBenchmark) -> str:
    d = b.rating_distribution
    rows = "".join(f"<tr><td>{x.stars} ★</td><td>{x.own}</td><td>{_pct(x.own_share)}</td><td>{x.set}</td>"
                   f"<td>{_pct(x.set_share)}</td></tr>" for x in reversed(d.stars))
    return ("<table><tr><th>stars</th><th>own</th><th>share</th><th>set</th><th>share</th></tr>" + rows
            + f'<tr class="muted"><td>unrated</td><td>{d.own_unrated}</td><td></td><td>{d.set_unrated}</td><td></td></tr>'
            "</table>")


def to_html(benchmarks: Sequence[LocationBenchmark], trends: dict[str, list[dict[str, Any]]], *, title: str) -> str:
    """One self-contained page: KPIs, trend and aspect charts, the set, per location."""
    e = escape
    body = [f"<h1>{e(title)}</h1>"]
    if is_empty(benchmarks):
        body.append('<p class="note">No mentions in this window.</p>')
    for b in benchmarks:
        c, p, d, s, loc = b.current, b.previous, b.deltas, b.set_avg, b.location
        body.append(f'<h2 id="{e(loc.id)}">{e(loc.name)} <span class="muted">({e(loc.category)}, {e(loc.region)})'
                    f"</span></h2><p class=muted>last {e(b.window)}: {e(_period(c))}</p>")
        rows = [("mentions", c.mentions, p.mentions, _signed(d["mentions"], "+.0f"), s.mentions, ""),
                ("rating (0-5)", _num(c.avg_rating), _num(p.avg_rating), _signed(d["avg_rating"]), _num(s.avg_rating),
                 _num(b.comp_index_rating, ".0f")),
                ("Bayesian rating", _num(c.bayes_rating), _num(p.bayes_rating), _signed(d["bayes_rating"]),
                 f"prior {_num(b.prior_rating)}", ""),
                ("reputation index", _index(c), _index(p), _signed(d["reputation_index"], "+.1f"),
                 _num(s.reputation_index, ".1f"), _num(b.comp_index_reputation, ".0f")),
                ("net sentiment", _num(c.net_sentiment, "+.2f"), _num(p.net_sentiment, "+.2f"),
                 _signed(d["net_sentiment"]), _num(s.net_sentiment, "+.2f"), ""),
                ("response rate", _pct(c.response_rate), _pct(p.response_rate), "", _pct(s.response_rate), "")]
        body.append("<table><tr><th></th><th>own</th><th>previous</th><th>change</th><th>set avg</th><th>comp index</th></tr>"
                    + "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>" for r in rows) + "</table>")
        rank = f"{b.rank} of {b.rank_of}" if b.rank else "-"
        body.append(f"<p>Review share {e(_pct(b.review_share))} · rank in set {e(rank)}</p>")
        if b.weakest_aspects:
            body.append("<p>Trails its set most on: " + "; ".join(
                f"<b>{e(aspect_label(g.aspect))}</b> {g.own_net_sentiment:+.2f} vs {g.set_net_sentiment:+.2f}"
                for g in b.weakest_aspects) + "</p>")
        body.append("<h3>Reputation index by week, last year</h3>" + _trend_svg(trends.get(loc.id, [])))
        if aspects_svg := _aspect_svg(b):
            body.append("<h3>Aspects: net sentiment, own vs set</h3>" + aspects_svg)
        if b.platforms:
            body.append("<h3>By site: own vs the competitors on that site</h3>" + _platforms_table(b))
        if b.rating_distribution.own_rated or b.rating_distribution.set_rated:
            body.append("<h3>Rating distribution (share of rated mentions)</h3>" + _stars_table(b))
        if b.members:
            body.append("<table><tr><th>competitor</th><th>km</th><th>mentions</th><th>rating</th><th>index</th></tr>"
                        + "".join(f"<tr><td>{e(m.location.name)}</td><td>{m.distance_km:.1f}</td><td>{m.metrics.mentions}</td>"
                                  f"<td>{_num(m.metrics.avg_rating)}</td><td>{e(_index(m.metrics))}</td></tr>"
                                  for m in b.members) + "</table>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")
