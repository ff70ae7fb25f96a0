"""Digests: a periodic summary of one scope for the people who own it, in text, HTML and Markdown.

Pure: figures in (benchmarks, aspect rollup rows, unanswered mentions, open alerts), a
:class:`Digest` and its renderings out; ``now`` is an argument. ``monitor.digest_send``
reads the store and delivers. A digest quotes reviews and names locations, i.e. text
from the internet and from a shared config, so it is escaped exactly like an alert
(``monitor.notify_render``: ``html.escape`` for HTML, HTML + Markdown escaping for
Markdown, links only from http(s) URLs, a one-line Subject).

Periods: a digest is due at its *slot* (``hour`` in its time zone, every day, every week
on ``day``, or on the 1st of every month) and covers the whole UTC days before the slot's
UTC day: metrics add up UTC-day rollups, so a window always ends at 00:00 UTC. The window
is ``window`` days, or by default the days since the previous slot (1, 7, or the last
calendar month). The reputation index is taken over ``index_window`` (90 days, as on the
dashboard) at the end of this period and at the end of the previous one: its change is
the change since the last digest, and the movers are ranked by it.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from config.model import WEEKDAYS, DigestSettings, Location
from monitor.notify_render import MAX_TITLE_CHARS, _md, _safe_link, incident_url, one_line

DIGEST_PREFIX = "digest:"
"""Delivery records of digests have ``alert_id`` ``digest:<name>@<slot>`` (``version`` 1):
alert ids never start so, and one slot of one digest is sent at most once per channel."""
MAX_MOVERS = 3
MAX_COMPLAINTS = 5
MAX_UNANSWERED = 5
MAX_QUOTE_CHARS = 240
MAX_OPEN_ALERTS = 3
_DASH = "–"


# -- periods (pure) ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Period:
    """One sending of a digest: due at ``slot``; counts over ``[start, end)`` (UTC days);
    the index compared between ``end`` and ``previous_end`` (the previous period's end)."""

    slot: datetime
    start: datetime
    end: datetime
    previous_end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()


def _on(d: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=tz).astimezone(UTC)


def _step_back(settings: DigestSettings, d: date) -> date:
    """The local date of the slot before the one on ``d``."""
    if settings.every == "daily":
        return d - timedelta(days=1)
    if settings.every == "weekly":
        return d - timedelta(days=7)
    return (d.replace(day=1) - timedelta(days=1)).replace(day=1)


def latest_slot(settings: DigestSettings, now: datetime) -> datetime:
    """The most recent time (UTC) at or before ``now`` the digest was due."""
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz).date()
    if settings.every == "weekly":
        local -= timedelta(days=(local.weekday() - WEEKDAYS.index(settings.day)) % 7)
    elif settings.every == "monthly":
        local = local.replace(day=1)
    slot = _on(local, settings.hour, tz)
    return slot if slot <= now else _on(_step_back(settings, local), settings.hour, tz)


def period_at(settings: DigestSettings, now: datetime) -> Period:
    """The period of the latest slot at or before ``now`` (what a send at ``now`` reports on)."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass an aware time")
    tz = ZoneInfo(settings.timezone)
    slot = latest_slot(settings, now)
    local = slot.astimezone(tz).date()
    previous = _on(_step_back(settings, local), settings.hour, tz)
    end = _midnight(slot.date())
    previous_end = _midnight(previous.date())
    if settings.window:
        from monitor.metrics import parse_window

        length = parse_window(settings.window)
    else:
        length = end - previous_end
    return Period(slot=slot, start=end - length, end=end, previous_end=previous_end)


def cron_fields(settings: DigestSettings) -> dict[str, Any]:
    """APScheduler ``CronTrigger`` fields of the digest's slots (in ``settings.timezone``)."""
    fields: dict[str, Any] = {"hour": settings.hour, "minute": 0, "second": 0}
    if settings.every == "weekly":
        fields["day_of_week"] = settings.day
    elif settings.every == "monthly":
        fields["day"] = 1
    return fields


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def delivery_id(name: str, slot: datetime) -> str:
    """The ``alert_id`` of the delivery records of one slot of one digest."""
    return f"{DIGEST_PREFIX}{name}@{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def parse_delivery_id(alert_id: str) -> tuple[str, datetime] | None:
    """``(name, slot)`` of a digest's delivery id, None for an alert's."""
    if not alert_id.startswith(DIGEST_PREFIX) or "@" not in alert_id:
        return None
    name, _, when = alert_id[len(DIGEST_PREFIX):].rpartition("@")
    try:
        return name, datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


# -- content ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LocationFigures:
    """One row of the portfolio table."""

    location_id: str
    name: str
    region: str
    category: str
    index: float | None
    """Reputation index over ``index_window`` at the end of the period."""
    index_before: float | None
    """... at the end of the previous period."""
    rating: float | None
    rating_before: float | None
    mentions: int
    mentions_before: int
    negative: int
    rank: int | None
    rank_of: int

    @property
    def index_change(self) -> float | None:
        return None if self.index is None or self.index_before is None else self.index - self.index_before

    @property
    def rating_change(self) -> float | None:
        return None if self.rating is None or self.rating_before is None else self.rating - self.rating_before


@dataclass(frozen=True, slots=True)
class Complaint:
    """Negative mentions of one aspect in the scope over the period."""

    aspect: str
    label: str
    negative: int
    negative_before: int
    mentions: int
    """Mentions of the aspect in the period (any sentiment)."""
    worst_location: str | None
    """The location id with most of the negatives."""
    worst_name: str | None
    worst_negative: int


@dataclass(frozen=True, slots=True)
class Quote:
    """An unanswered negative review, cut and flattened (escaped only when rendered)."""

    fingerprint: str
    location_id: str
    location_name: str
    site: str
    published_at: datetime | None
    rating: float | None
    text: str
    url: str | None
    """A http(s) link to the review (its permalink when known), else None."""
    waiting_days: int | None


@dataclass(frozen=True, slots=True)
class OpenAlert:
    id: str
    severity: str
    state: str
    title: str


@dataclass(frozen=True, slots=True)
class Digest:
    name: str
    scope: str
    scope_title: str
    every: str
    period: Period
    generated_at: datetime
    rows: tuple[LocationFigures, ...]
    drops: tuple[LocationFigures, ...]
    rises: tuple[LocationFigures, ...]
    complaints: tuple[Complaint, ...]
    unanswered: int
    quotes: tuple[Quote, ...]
    open_alerts: int
    unacknowledged: int
    alerts_by_severity: dict[str, int]
    worst_alerts: tuple[OpenAlert, ...]
    dashboard_url: str | None = None
    index_window: str = "90d"
    totals: dict[str, Any] = field(default_factory=dict)

    def link(self, hash_path: str, params: Sequence[tuple[str, str]] = ()) -> str | None:
        """A dashboard link (``#/view/arg?k=v``, the views' hash routes), or None without a
        dashboard URL."""
        if not self.dashboard_url:
            return None
        query = f"?{urlencode(list(params))}" if params else ""
        return f"{self.dashboard_url.rstrip('/')}/#/{hash_path}{query}"

    def inbox_link(self, *params: tuple[str, str]) -> str | None:
        """The review inbox on this digest's locations and negatives, over a window that
        covers the period as of the digest's generation (inbox windows end "now")."""
        days = max(1, -(-(self.generated_at - self.period.start) // timedelta(days=1)))
        where = [("location", r.location_id) for r in self.rows] if self.scope.startswith("location:") else []
        return self.link("inbox", [*where, ("window", f"{days}d"), ("sentiment", "negative"), *params])

    @property
    def unanswered_link(self) -> str | None:
        """The inbox's unanswered negatives: no reply on the site, status new or assigned."""
        return self.inbox_link(("replied", "no"), ("status", "new"), ("status", "assigned"))

    @property
    def home_link(self) -> str | None:
        """The location's page, or the portfolio filtered to the digest's region or brand."""
        kind, _, value = self.scope.partition(":")
        if kind == "location":
            return self.link(f"location/{quote(value, safe='')}")
        return self.link("portfolio", [(kind, value)] if kind in ("region", "brand") else [])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (the JSON webhook's ``digest``); consumers must escape the strings."""
        def iso(dt: datetime | None) -> str | None:
            return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None

        def row(r: LocationFigures) -> dict[str, Any]:
            return {**asdict(r), "index_change": r.index_change, "rating_change": r.rating_change}

        return {
            "name": self.name, "scope": self.scope, "scope_title": self.scope_title, "every": self.every,
            "slot": iso(self.period.slot), "start": iso(self.period.start), "end": iso(self.period.end),
            "generated_at": iso(self.generated_at), "index_window": self.index_window,
            "locations": [row(r) for r in self.rows], "drops": [r.location_id for r in self.drops],
            "rises": [r.location_id for r in self.rises], "complaints": [asdict(c) for c in self.complaints],
            "unanswered": self.unanswered,
            "unanswered_newest": [{**asdict(q), "published_at": iso(q.published_at)} for q in self.quotes],
            "open_alerts": self.open_alerts, "unacknowledged": self.unacknowledged,
            "alerts_by_severity": dict(self.alerts_by_severity), "totals": dict(self.totals),
            "dashboard": self.home_link,
        }


def scope_title(scope: str, locations: Sequence[Location], brand_names: Mapping[str, str]) -> str:
    """``Brand Harbor Hotels``, ``Region shanghai``, ``Harbor Bund``, ``All own locations``."""
    kind, _, value = scope.partition(":")
    if kind == "brand":
        return f"Brand {brand_names.get(value, value)}"
    if kind == "region":
        return f"Region {value}"
    if kind == "location":
        return locations[0].name if locations else value
    return "All own locations"


def location_figures(locations: Sequence[Location], window: Iterable[Any], index_now: Iterable[Any],
                     index_before: Iterable[Any]) -> list[LocationFigures]:
    """Rows from three ``monitor.metrics.benchmark`` results: over the period's window
    (rating, mentions and their previous-window values), and over the index window at the
    period's end (index, rank in set) and at the previous period's end."""
    w = {b.location.id: b for b in window}
    now = {b.location.id: b for b in index_now}
    before = {b.location.id: b for b in index_before}
    rows = []
    for loc in locations:
        b, n, p = w.get(loc.id), now.get(loc.id), before.get(loc.id)
        rows.append(LocationFigures(
            location_id=loc.id, name=loc.name, region=loc.region, category=loc.category,
            index=n.current.reputation_index if n else None,
            index_before=p.current.reputation_index if p else None,
            rating=b.current.avg_rating if b else None, rating_before=b.previous.avg_rating if b else None,
            mentions=b.current.mentions if b else 0, mentions_before=b.previous.mentions if b else 0,
            negative=b.current.negative if b else 0,
            rank=n.rank if n else None, rank_of=n.rank_of if n else 0))
    return rows


def complaints(current: Iterable[Any], previous: Iterable[Any], labels: Mapping[str, str],
               names: Mapping[str, str], limit: int = MAX_COMPLAINTS) -> list[Complaint]:
    """Top aspects by negative mentions, from rollup rows grouped by (location_id, aspect)
    over the period and over the window before it (the aspect's own sentiment counts)."""
    neg: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    by_loc: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    before: dict[str, int] = defaultdict(int)
    for r in current:
        lid, aspect = r.keys[0], r.keys[1]
        if aspect is None:
            continue
        neg[aspect] += r.negative
        total[aspect] += r.mentions
        by_loc[aspect][lid] += r.negative
    for r in previous:
        if r.keys[1] is not None:
            before[r.keys[1]] += r.negative
    out = []
    for aspect in sorted((a for a in neg if neg[a] > 0), key=lambda a: (-neg[a], a))[:limit]:
        worst, count = min(by_loc[aspect].items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(Complaint(aspect, labels.get(aspect, aspect.replace("_", " ").capitalize()), neg[aspect], before[aspect],
                             total[aspect], worst, names.get(worst, worst), count))
    return out


def quote_of(m: Any, names: Mapping[str, str], now: datetime) -> Quote:
    """An unanswered mention as a digest quote: text flattened and cut, link only if http(s)."""
    published = m.published_at
    waiting = (now - published).days if published else None
    text = one_line(m.text or (m.title or ""), MAX_QUOTE_CHARS) or "(rating only, no text)"
    return Quote(fingerprint=m.fingerprint, location_id=m.location_id,
                 location_name=names.get(m.location_id, m.location_id), site=m.site, published_at=published,
                 rating=m.rating, text=text, url=_safe_link(getattr(m, "permalink", None) or m.url),
                 waiting_days=waiting)


def build_digest(settings: DigestSettings, *, period: Period, now: datetime, title: str,
                 rows: Sequence[LocationFigures], complaints: Sequence[Complaint], unanswered: int,
                 quotes: Sequence[Quote], alerts: Sequence[Any], dashboard_url: str | None = None) -> Digest:
    """The digest of one period. ``rows`` are the scope's own locations; ``alerts`` the open
    (unresolved) alerts in scope, any order."""
    # by index; a scope mixing hotels and restaurants is grouped by category first (an index
    # compares a location with its own kind)
    mixed = len({r.category for r in rows}) > 1
    ranked = sorted(rows, key=lambda r: (r.category if mixed else "", r.index is None, -(r.index or 0.0), r.name,
                                         r.location_id))
    moved = [r for r in rows if r.index_change is not None]
    drops = sorted((r for r in moved if r.index_change < 0), key=lambda r: (r.index_change, r.location_id))  # type: ignore[operator]
    rises = sorted((r for r in moved if r.index_change > 0), key=lambda r: (-r.index_change, r.location_id))  # type: ignore[operator]
    severity_rank = {"critical": 0, "warning": 1, "info": 2}
    by_severity: dict[str, int] = {}
    for a in alerts:
        by_severity[a.severity] = by_severity.get(a.severity, 0) + 1
    worst = sorted(alerts, key=lambda a: (severity_rank.get(a.severity, 3), -a.last_seen.timestamp(), a.id))
    mentions = sum(r.mentions for r in rows)
    negative = sum(r.negative for r in rows)
    return Digest(
        name=settings.name, scope=settings.scope, scope_title=title, every=settings.every, period=period,
        generated_at=now, rows=tuple(ranked),
        drops=tuple(drops[:MAX_MOVERS]) if len(rows) > 1 else (),
        rises=tuple(rises[:MAX_MOVERS]) if len(rows) > 1 else (),
        complaints=tuple(complaints), unanswered=unanswered, quotes=tuple(quotes[:MAX_UNANSWERED]),
        open_alerts=len(alerts), unacknowledged=sum(a.state in ("new", "notified") for a in alerts),
        alerts_by_severity=dict(sorted(by_severity.items(), key=lambda kv: severity_rank.get(kv[0], 3))),
        worst_alerts=tuple(OpenAlert(a.id, a.severity, a.state, a.title) for a in worst[:MAX_OPEN_ALERTS]),
        dashboard_url=_safe_link(dashboard_url) if dashboard_url else None,
        index_window=settings.index_window,
        totals={"locations": len(rows), "mentions": mentions, "negative": negative,
                "mentions_before": sum(r.mentions_before for r in rows)},
    )


# -- rendering -------------------------------------------------------------------------
def _num(v: float | None, digits: int = 1) -> str:
    return _DASH if v is None else f"{v:.{digits}f}"


def _signed(v: float | None, digits: int = 1) -> str:
    if v is None:
        return _DASH
    text = f"{v:+.{digits}f}"
    return "±0" if float(text) == 0 else text


def _int_change(now: int, before: int) -> str:
    return "±0" if now == before else f"{now - before:+d}"


def _rank(r: LocationFigures) -> str:
    return f"{r.rank}/{r.rank_of}" if r.rank is not None else _DASH


def _dates(p: Period) -> str:
    first, last = p.start.date(), p.last_day
    if first == last:
        return f"{first:%d %b %Y}"
    return f"{first:%d %b} – {last:%d %b %Y}" if first.year == last.year else f"{first:%d %b %Y} – {last:%d %b %Y}"


def subject(d: Digest) -> str:
    """One line (it is an email Subject): no line break or control character from a name."""
    return one_line(f"vocwatch {d.every} digest: {d.scope_title} · {_dates(d.period)}", MAX_TITLE_CHARS)


def _facts(d: Digest) -> list[str]:
    t = d.totals
    lines = [f"{t['locations']} own location(s) · {t['mentions']} mentions "
             f"({_int_change(t['mentions'], t['mentions_before'])} on the previous {d.period.days} days) · "
             f"{t['negative']} negative",
             f"{d.unanswered} negative review(s) unanswered · {d.open_alerts} open alert(s)"
             + (f", {d.unacknowledged} not acknowledged" if d.open_alerts else "")]
    return lines


def _mover(r: LocationFigures) -> str:
    return one_line(f"{r.name}: {_num(r.index_before)} → {_num(r.index)} ({_signed(r.index_change)})", 200)


def _complaint_line(c: Complaint) -> str:
    worst = f"; most at {c.worst_name} ({c.worst_negative})" if c.worst_name else ""
    return one_line(f"{c.label}: {c.negative} negative of {c.mentions} "
                    f"({_int_change(c.negative, c.negative_before)} on the previous period){worst}", 300)


def _quote_meta(q: Quote) -> str:
    bits = [q.location_name, q.site]
    if q.published_at:
        bits.append(f"{q.published_at:%Y-%m-%d}")
    if q.rating is not None:
        bits.append(f"{q.rating:g}/5")
    if q.waiting_days is not None:
        bits.append(f"waiting {q.waiting_days} d")
    return one_line(" · ".join(bits), 200)


def _alert_line(a: OpenAlert) -> str:
    return one_line(f"[{a.severity.upper()}] {a.title} ({a.state})", MAX_TITLE_CHARS)


_TABLE_HEAD = ("Location", "Index", "Change", "Rating", "Change", "Mentions", "Change", "Negative", "Rank in set")


def _mixed(d: Digest) -> bool:
    return len({r.category for r in d.rows}) > 1


def _table_cells(r: LocationFigures, mixed: bool = False) -> tuple[str, ...]:
    """The row's cells as text; the category beside the name when the scope mixes them."""
    return (one_line(f"{r.name} ({r.category})" if mixed else r.name, 80), _num(r.index), _signed(r.index_change), _num(r.rating, 2),
            _signed(r.rating_change, 2), str(r.mentions), _int_change(r.mentions, r.mentions_before),
            str(r.negative), _rank(r))


def _index_note(d: Digest) -> str:
    n = d.period.days
    return (f"Index: reputation index (0-100) over the {d.index_window} up to the end of the period, change since "
            f"the previous digest. Rating, mentions, negative: the {n} day(s) of the period, change on the {n} "
            f"day(s) before. Rank in set: by index among the location and its competitive set.")


def render_text(d: Digest) -> str:
    lines = [subject(d), "", *_facts(d), ""]
    head = "Portfolio" if len(d.rows) > 1 else "Location"
    cells = [_TABLE_HEAD, *(_table_cells(r, _mixed(d)) for r in d.rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_TABLE_HEAD))]
    lines += [f"{head} ({len(d.rows)}):"]
    for c in cells:
        lines.append("  " + "  ".join(c[i].ljust(widths[i]) if i == 0 else c[i].rjust(widths[i])
                                      for i in range(len(c))).rstrip())
    lines += [_index_note(d), ""]
    if d.drops or d.rises:
        lines.append("Movers:")
        lines += [f"  down  {_mover(r)}" for r in d.drops]
        lines += [f"  up    {_mover(r)}" for r in d.rises]
        lines.append("")
    lines.append("Top complaints by aspect:" if d.complaints else "Top complaints by aspect: none in the period.")
    lines += [f"  - {_complaint_line(c)}" for c in d.complaints]
    lines += ["", f"Unanswered negative reviews: {d.unanswered}"
              + (f" (newest {len(d.quotes)}):" if d.quotes else "")]
    for q in d.quotes:
        lines.append(f"  - {q.text}")
        lines.append(f"    {_quote_meta(q)}" + (f" · {q.url}" if q.url else ""))
    if d.unanswered and d.unanswered_link:
        lines.append(f"  All in the inbox: {d.unanswered_link}")
    lines += ["", f"Open alerts: {d.open_alerts}" + (
        " (" + ", ".join(f"{n} {s}" for s, n in d.alerts_by_severity.items()) + ")" if d.open_alerts else "")]
    lines += [f"  - {_alert_line(a)}" for a in d.worst_alerts]
    if d.home_link:
        lines += ["", f"Dashboard: {d.home_link}"]
    lines += ["", f"Digest {d.name} ({d.scope}), generated {d.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC."]
    return "\n".join(lines) + "\n"


def _a(url: str | None, text: str) -> str:
    """An HTML link from a checked URL (already escaped text inside), else the text."""
    link = _safe_link(url) if url else None
    if not link:
        return text
    return f'<a href="{html.escape(link)}" rel="noopener noreferrer" target="_blank">{text}</a>'


def _colour(v: float | None) -> str:
    """The CSS colour of a change: green up, red down, none when (about) unchanged."""
    if v is None or abs(v) < 0.05:
        return ""
    return ";color:#1b7f3b" if v > 0 else ";color:#b00020"


def render_html(d: Digest) -> str:
    e = html.escape
    th = '<th align="{}" style="padding:2px 8px;border-bottom:1px solid #ccc">{}</th>'
    td = '<td align="{}" style="padding:2px 8px{}">{}</td>'
    head = "".join(th.format("left" if i == 0 else "right", e(h)) for i, h in enumerate(_TABLE_HEAD))
    body = []
    for r in d.rows:
        c = _table_cells(r, _mixed(d))
        name = _a(d.link(f"location/{quote(r.location_id, safe='')}"), e(c[0]))
        body.append("<tr>" + td.format("left", "", name) + td.format("right", "", e(c[1]))
                    + td.format("right", _colour(r.index_change), e(c[2])) + td.format("right", "", e(c[3]))
                    + td.format("right", _colour(r.rating_change), e(c[4]))
                    + "".join(td.format("right", "", e(x)) for x in c[5:]) + "</tr>")
    parts = ['<html><body style="font-family:sans-serif">',
             f"<h2>{e(subject(d))}</h2>", "".join(f"<p style=\"margin:2px 0\">{e(x)}</p>" for x in _facts(d)),
             f"<h3>{'Portfolio' if len(d.rows) > 1 else 'Location'}</h3>",
             f'<table style="border-collapse:collapse"><tr>{head}</tr>{"".join(body)}</table>',
             f'<p style="color:#666;font-size:90%">{e(_index_note(d))}</p>']
    if d.drops or d.rises:
        items = [f"<li><span style=\"color:#b00020\">down</span> {e(_mover(r))}</li>" for r in d.drops]
        items += [f"<li><span style=\"color:#1b7f3b\">up</span> {e(_mover(r))}</li>" for r in d.rises]
        parts.append(f"<h3>Movers</h3><ul>{''.join(items)}</ul>")
    parts.append("<h3>Top complaints by aspect</h3>")
    if d.complaints:
        items = []
        for c in d.complaints:
            items.append(f"<li>{_a(d.inbox_link(('aspect', c.aspect)), e(_complaint_line(c)))}</li>")
        parts.append(f"<ul>{''.join(items)}</ul>")
    else:
        parts.append("<p>None in the period.</p>")
    parts.append(f"<h3>{_a(d.unanswered_link, f'Unanswered negative reviews: {d.unanswered}')}</h3>")
    if d.quotes:
        items = []
        for q in d.quotes:
            where = _a(q.url, e(one_line(q.url, 80))) if q.url else ""
            meta = " · ".join(x for x in (e(_quote_meta(q)), where) if x)
            items.append(f"<li><p style=\"margin:0\">{e(q.text)}</p>"
                         f"<p style=\"margin:0;color:#666;font-size:90%\">{meta}</p></li>")
        parts.append(f"<ul>{''.join(items)}</ul>")
    parts.append(f"<h3>Open alerts: {d.open_alerts}</h3>")
    if d.worst_alerts:
        parts.append("<ul>" + "".join(f"<li>{_a(incident_url(d.dashboard_url, a.id), e(_alert_line(a)))}</li>"
                                      for a in d.worst_alerts) + "</ul>")
    if d.home_link:
        parts.append(f"<p>{_a(d.home_link, 'Open the dashboard')}</p>")
    parts.append(f'<p style="color:#666;font-size:90%">Digest {e(d.name)} ({e(d.scope)}), generated '
                 f"{d.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.</p></body></html>")
    return "".join(parts)


def _md_link(url: str | None, text: str) -> str:
    link = _safe_link(url) if url else None
    return f"[{text}](<{link}>)" if link and ">" not in link else text


def render_markdown(d: Digest) -> str:
    lines = [f"**{_md(subject(d))}**", "", *(_md(x) + "  " for x in _facts(d)), ""]
    lines += [f"**{'Portfolio' if len(d.rows) > 1 else 'Location'}**", "",
              "| " + " | ".join(_md(h) for h in _TABLE_HEAD) + " |",
              "|" + "|".join([":---", *["---:"] * (len(_TABLE_HEAD) - 1)]) + "|"]
    for r in d.rows:
        c = _table_cells(r, _mixed(d))
        name = _md_link(d.link(f"location/{quote(r.location_id, safe='')}"), _md(c[0]))
        lines.append("| " + " | ".join([name, *(_md(x) for x in c[1:])]) + " |")
    lines += ["", f"_{_md(_index_note(d))}_", ""]
    if d.drops or d.rises:
        lines += ["**Movers**", ""]
        lines += [f"- down: {_md(_mover(r))}" for r in d.drops]
        lines += [f"- up: {_md(_mover(r))}" for r in d.rises]
        lines.append("")
    lines += ["**Top complaints by aspect**", ""]
    lines += [f"- {_md_link(d.inbox_link(('aspect', c.aspect)), _md(_complaint_line(c)))}"
              for c in d.complaints] or ["None in the period."]
    lines += ["", f"**{_md_link(d.unanswered_link, f'Unanswered negative reviews: {d.unanswered}')}**", ""]
    for q in d.quotes:
        where = f" {_md_link(q.url, 'link')}" if q.url else ""
        lines.append(f"- {_md(q.text)} _{_md(_quote_meta(q))}_{where}")
    lines += ["", f"**Open alerts: {d.open_alerts}**", ""]
    lines += [f"- {_md_link(incident_url(d.dashboard_url, a.id), _md(_alert_line(a)))}" for a in d.worst_alerts]
    if d.home_link:
        lines += ["", _md_link(d.home_link, "Open the dashboard")]
    lines += ["", f"_{_md(f'Digest {d.name} ({d.scope}), generated {d.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.')}_"]
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "html": render_html, "markdown": render_markdown}
