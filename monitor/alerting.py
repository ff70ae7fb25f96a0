"""Alerts: run the detectors over the store, explain what they found, and keep one alert per
incident with its state (new -> notified -> acknowledged -> resolved).

Detection (``monitor.detectors``) is pure; this module gathers the hourly series with a few
SQL ``GROUP BY`` queries on the SQLite file, dedupes findings into incidents, and stores
them in the ``alerts`` table of the same file. Delivery is someone else's job: it reads what
:func:`run_detectors` returns and calls :meth:`AlertStore.mark_notified`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from config import Config
from config.model import AlertSettings
from crawlers.items import Mention
from crawlers.store import Store
from crawlers.store.base import is_mongo_url
from crawlers.store.sqlite import connect, from_db_time, sqlite_path, to_db_time
from monitor import detectors as det
from monitor.detectors import Finding, hour_index, hour_start
from nlp.keywords import top_terms

KINDS = ("negative_spike", "negative_share", "rating_drop", "viral_post", "crawl_health")
STATES = ("new", "notified", "acknowledged", "resolved")
_TRANSITIONS = {"new": {"notified", "acknowledged", "resolved"}, "notified": {"acknowledged", "resolved"},
                "acknowledged": {"resolved"}, "resolved": set()}
_RANK = {s: i for i, s in enumerate(det.SEVERITIES)}
EXCERPT = 280
TOP_TERMS = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, watch TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
    state TEXT NOT NULL, location_id TEXT, brand TEXT, region TEXT, aspect TEXT,
    title TEXT NOT NULL, summary TEXT NOT NULL, details TEXT NOT NULL, mentions TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, version INTEGER NOT NULL,
    notified_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_watch ON alerts (watch, last_seen);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state, last_seen);
CREATE TABLE IF NOT EXISTS engagement_snapshots (
    fingerprint TEXT PRIMARY KEY, engagement INTEGER NOT NULL, taken_at TEXT NOT NULL, published_at TEXT NOT NULL
);
"""


class AlertStoreError(ValueError):
    """The store cannot hold alerts (not SQLite), or an id/state is wrong."""


@dataclass
class Alert:
    """One incident: created when a detector first finds it, updated (never repeated) while
    it lasts, resolved after ``cooldown_hours`` without a finding or by a person."""

    id: str
    kind: str
    severity: str
    state: str
    location_id: str | None
    brand: str | None
    region: str | None
    aspect: str | None
    title: str
    summary: str
    details: dict[str, Any]
    mentions: list[dict[str, Any]]
    first_seen: datetime
    last_seen: datetime
    version: int = 1
    notified_version: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first_seen"], d["last_seen"] = self.first_seen.isoformat(), self.last_seen.isoformat()
        return d

    @property
    def watch(self) -> str:
        """What the incident is about; at most one open incident per watch. ``details``'
        ``fingerprint`` names the thing within its kind: a viral post's mention, a crawl-health
        finding's ``source|problem``."""
        return "|".join([self.kind, self.location_id or "", self.brand or "", self.aspect or "",
                         str(self.details.get("fingerprint", ""))])


class AlertStore:
    """The ``alerts`` and ``engagement_snapshots`` tables, in the store's SQLite file (WAL)."""

    def __init__(self, store_url: str) -> None:
        if is_mongo_url(store_url):
            raise AlertStoreError("alerts need a SQLite store for now; the configured store is MongoDB "
                                  "(set [store] url or --store to a sqlite:/// file to use alerts)")
        self.path = sqlite_path(store_url)
        self._lock = threading.Lock()
        self.db = connect(self.path)
        self.db.row_factory = sqlite3.Row
        with self._lock:
            self.db.executescript(_SCHEMA)

    def save(self, alert: Alert) -> None:
        cols = _row(alert)
        with self._lock:
            self.db.execute(f"INSERT OR REPLACE INTO alerts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            list(cols.values()))

    def get(self, alert_id: str) -> Alert | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert(row) if row else None

    def list(self, state: str | None = None, location_id: str | None = None, limit: int = 100) -> list[Alert]:
        """Newest activity first."""
        where, args = [], []
        if state is not None:
            _check_state(state)
            where.append("state = ?")
            args.append(state)
        if location_id is not None:
            where.append("location_id = ?")
            args.append(location_id)
        sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY last_seen DESC, id LIMIT ?", [*args, limit]).fetchall()
        return [_alert(r) for r in rows]

    def pending(self) -> list[Alert]:
        """Open alerts whose current version was never notified (e.g. a delivery failed)."""
        with self._lock:
            rows = self.db.execute("SELECT * FROM alerts WHERE state IN ('new', 'notified') "
                                   "AND version > notified_version ORDER BY first_seen").fetchall()
        return [_alert(r) for r in rows]

    def set_state(self, alert_id: str, state: str) -> Alert:
        """A person acknowledges or resolves; the system marks notified. Moves only forward."""
        _check_state(state)
        alert = self.get(alert_id)
        if alert is None:
            raise AlertStoreError(f"no alert with id {alert_id!r}")
        if state != alert.state:
            if state not in _TRANSITIONS[alert.state]:
                raise AlertStoreError(f"alert {alert_id} is {alert.state}; it cannot become {state}")
            alert.state = state
            with self._lock:
                self.db.execute("UPDATE alerts SET state = ? WHERE id = ?", (state, alert_id))
        return alert

    def mark_notified(self, alert_id: str, version: int) -> None:
        """Record that ``version`` was delivered; a new alert becomes notified."""
        with self._lock:
            cur = self.db.execute(
                "UPDATE alerts SET notified_version = MAX(notified_version, ?), "
                "state = CASE state WHEN 'new' THEN 'notified' ELSE state END WHERE id = ?", (version, alert_id))
        if not cur.rowcount:
            raise AlertStoreError(f"no alert with id {alert_id!r}")

    def open_for(self, watch: str, since: datetime) -> Alert | None:
        """The latest incident of this watch seen since ``since`` (any state: a resolved
        one still holds back repeats during the cooldown)."""
        with self._lock:
            row = self.db.execute("SELECT * FROM alerts WHERE watch = ? AND last_seen >= ? ORDER BY last_seen DESC "
                                  "LIMIT 1", (watch, to_db_time(since))).fetchone()
        return _alert(row) if row else None

    def resolve_quiet(self, before: datetime) -> int:
        """Resolve open incidents not seen since ``before`` (the cooldown has passed)."""
        with self._lock:
            return self.db.execute("UPDATE alerts SET state = 'resolved' WHERE state != 'resolved' AND last_seen < ?",
                                   (to_db_time(before),)).rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()


def _check_state(state: str) -> None:
    if state not in STATES:
        raise AlertStoreError(f"unknown state {state!r}; one of {', '.join(STATES)}")


def _row(a: Alert) -> dict[str, Any]:
    d = asdict(a)
    d["watch"] = a.watch
    d["details"] = json.dumps(a.details, ensure_ascii=False, sort_keys=True)
    d["mentions"] = json.dumps(a.mentions, ensure_ascii=False)
    d["first_seen"], d["last_seen"] = to_db_time(a.first_seen), to_db_time(a.last_seen)
    return d


def _alert(r: sqlite3.Row) -> Alert:
    d = dict(r)
    d.pop("watch")
    d["details"], d["mentions"] = json.loads(d["details"]), json.loads(d["mentions"])
    d["first_seen"], d["last_seen"] = from_db_time(d["first_seen"]), from_db_time(d["last_seen"])
    return Alert(**d)


# -- hourly series ---------------------------------------------------------------------
@dataclass
class _Series:
    mentions: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    negative: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rated: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rating_sum: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rating_sq: dict[int, float] = field(default_factory=lambda: defaultdict(float))


class _Hours:
    """``YYYY-MM-DDTHH`` prefix of a stored time -> epoch hour, memoised."""

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        h = self.cache.get(text)
        if h is None:
            h = self.cache[text] = hour_index(datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC))
        return h


def _in_clause(ids: list[str] | None) -> tuple[str, list[str]]:
    if ids is None:
        return "", []
    return f" AND m.location_id IN ({', '.join('?' * len(ids))})", ids


def hourly_series(db: sqlite3.Connection, since: datetime, until: datetime, location_ids: list[str] | None,
                  aspect_since: datetime) -> tuple[dict[str, _Series], dict[tuple[str, str], dict[int, float]]]:
    """Per location: hourly mentions, negatives and rating sums in ``[since, until)``; per
    location x aspect: hourly mentions naming the aspect negatively from ``aspect_since``.
    Two SQL ``GROUP BY`` queries; empty hours are simply absent."""
    hours = _Hours()
    loc_sql, ids = _in_clause(location_ids)
    per_loc: dict[str, _Series] = defaultdict(_Series)
    rows = db.execute(
        "SELECT m.location_id, substr(m.published_at, 1, 13), COUNT(*), SUM(m.sentiment_label = 'negative'), "
        "COUNT(m.rating), TOTAL(m.rating), TOTAL(m.rating * m.rating) FROM mentions AS m "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql} GROUP BY 1, 2",
        [to_db_time(since), to_db_time(until), *ids])
    for loc, h, n, neg, rated, rsum, rsq in rows:
        s, hi = per_loc[loc], hours(h)
        s.mentions[hi], s.negative[hi], s.rated[hi], s.rating_sum[hi], s.rating_sq[hi] = n, neg or 0, rated, rsum, rsq
    per_aspect: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    rows = db.execute(
        "SELECT m.location_id, json_extract(a.value, '$.aspect'), substr(m.published_at, 1, 13), COUNT(*) "
        "FROM mentions AS m, json_each(m.aspects) AS a "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql} "
        "AND json_extract(a.value, '$.sentiment') = 'negative' GROUP BY 1, 2, 3",
        [to_db_time(aspect_since), to_db_time(until), *ids])
    for loc, aspect, h, n in rows:
        if aspect:
            per_aspect[(loc, aspect)][hours(h)] = n
    return per_loc, per_aspect


def _summed(series: Iterable[dict[int, float]]) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for s in series:
        for h, v in s.items():
            out[h] += v
    return out


# -- the run ---------------------------------------------------------------------------
def run_detectors(config: Config, store: Store, *, now: datetime) -> list[Alert]:
    """Run every detector as of ``now``, store new and updated incidents, resolve quiet
    ones, and return what should be notified: alerts created or materially updated in this
    run that nobody has acknowledged or resolved."""
    s = config.alerts
    alerts = AlertStore(config.store_url)
    try:
        if not s.enabled:
            return []
        findings, touched = _find(config, alerts, now)
        findings += _viral(config, alerts, now)
        out = _persist(config, store, alerts, findings, touched, now)
        alerts.resolve_quiet(now - timedelta(hours=s.cooldown_hours))
        return out
    finally:
        alerts.close()


_check_lock = threading.Lock()


def check_and_notify(config: Config, store: Store, *, now: datetime) -> tuple[list[Alert], list[Any]]:
    """Detect, then deliver: what runs right after every crawl (and ``vocwatch alerts check``).

    New and updated alerts go out through their routed channels; deliveries that failed or
    were rate-limited earlier are retried when due; an alert version counts as notified once
    one channel has it. Serialised per process, so two crawls ending together cannot both
    open the same incident. Returns the new/updated alerts and the delivery results."""
    from monitor import delivery

    with _check_lock:
        found = run_detectors(config, store, now=now)
        found += health_alerts(config, store, now=now)
        if not config.channels and not any(a.severity == delivery.MUST_REACH for a in found):
            return found, []
        results = delivery.notify(config, store, found, now=now)  # records the critical ones no route delivers
        if not config.channels:
            return found, results
        alerts = AlertStore(config.store_url)
        try:
            results += delivery.retry_pending(config, store, alerts.get, now=now)
            for r in results:
                if r.status in ("sent", "duplicate"):
                    alerts.mark_notified(r.alert_id, r.version)
        finally:
            alerts.close()
    return found, results


def health_alerts(config: Config, store: Store, *, now: datetime,
                  run_ids: Iterable[int] | None = None) -> list[Alert]:
    """``crawl_health`` incidents from the findings stored with runs (``monitor.health``):
    those of ``run_ids``, or of each configured source's latest checked run. One incident
    per source + problem: a finding while its incident was seen within ``cooldown_hours``
    updates it (re-notified only when its severity rises); a run's findings are taken once,
    so checking again after the crawl (the scheduler does) sends nothing twice, and findings
    older than the cooldown are not news. Returns what should be notified."""
    from monitor.health import history

    if not (config.alerts.enabled and config.health.enabled):
        return []
    if run_ids is None:
        runs = [h[0].id for sid in config.sources if (h := history(store, sid, 1))]
    else:
        runs = list(run_ids)
    findings = [f for rid in runs for f in store.list_health(run_id=rid)]
    if not findings:
        return []
    out: list[Alert] = []
    cooldown_start = now - timedelta(hours=config.alerts.cooldown_hours)
    alerts = AlertStore(config.store_url)
    try:
        for f in findings:
            if f.found_at is not None and f.found_at < cooldown_start:
                continue  # an old run's finding is not news (a source not crawled since)
            src = config.sources.get(f.source_id)
            loc = config.locations.get(src.location) if src else None
            details = {**f.details, "fingerprint": f"{f.source_id}|{f.problem}", "source_id": f.source_id,
                       "problem": f.problem, "run_id": f.run_id}
            new = Alert(id="", kind="crawl_health", severity=f.severity, state="new",
                        location_id=loc.id if loc else None, brand=loc.brand if loc else None,
                        region=loc.region if loc else None, aspect=None, title=_clean(f.message, 200),
                        summary=_health_summary(f.message, details), details=details, mentions=[],
                        first_seen=now, last_seen=now)
            if (old := _open_incident(alerts, new, cooldown_start, now)) is None:
                out.append(new)
                continue
            if old.details.get("run_id") == f.run_id:
                continue  # this run's finding is already the incident's
            higher = _RANK.get(f.severity, 0) > _RANK.get(old.severity, 0)
            old.title, old.summary, old.last_seen = new.title, new.summary, now
            old.details = details
            if higher:
                old.version += 1
                old.severity = f.severity
                if old.state in ("new", "notified"):
                    out.append(old)
            alerts.save(old)
        alerts.resolve_quiet(cooldown_start)
    finally:
        alerts.close()
    return out


def _health_summary(message: str, details: dict[str, Any]) -> str:
    lines = [_clean(message, 400), f"Run #{details['run_id']} of source {details['source_id']}."]
    if fields := details.get("fields"):
        lines.append("Field coverage (before -> now): " + ", ".join(
            f"{k} {a:.0%} -> {b:.0%}" for k, (a, b) in fields.items()))
    lines.append(f"See: vocwatch health --source {details['source_id']}")
    return "\n".join(lines)


def notify_health(config: Config, store: Store, run_ids: Iterable[int], *,
                  now: datetime) -> tuple[list[Alert], list[Any]]:
    """Right after a crawl: the ``crawl_health`` incidents of these runs, delivered through
    the routed channels (``vocwatch crawl`` calls it; the scheduler's check after the crawl
    finds nothing left to send). Returns the new/updated alerts and the delivery results."""
    from monitor import delivery

    with _check_lock:
        found = health_alerts(config, store, now=now, run_ids=run_ids)
        if not found or not (config.channels or any(a.severity == delivery.MUST_REACH for a in found)):
            return found, []
        results = delivery.notify(config, store, found, now=now)  # records the critical ones no route delivers
        alerts = AlertStore(config.store_url)
        try:
            for r in results:
                if r.status in ("sent", "duplicate"):
                    alerts.mark_notified(r.alert_id, r.version)
        finally:
            alerts.close()
    return found, results


BRAND_KINDS = ("negative_spike",)
"""Kinds a detector also raises for a whole brand (``location_id`` None); every kind,
including any added later, is raised per location."""


def unrouted(config: Config, severity: str = "critical") -> list[tuple[str, tuple[str, ...]]]:
    """Where an alert of ``severity`` would reach no channel: ``(scope, kinds)`` pairs,
    ``scope`` a watched location id or ``brand:ID``, for every kind of
    ``config.model.ALERT_KINDS`` that no route delivers there. Read by ``vocwatch check``."""
    from types import SimpleNamespace

    from config.model import ALERT_KINDS
    from monitor.delivery import channels_for

    if not config.alerts.enabled:
        return []
    ids = _watched(config)
    scopes: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = [
        (lid, {"location_id": lid, "brand": config.locations[lid].brand, "region": config.locations[lid].region},
         ALERT_KINDS) for lid in ids]
    brands = Counter(config.locations[i].brand for i in ids)
    scopes += [(f"brand:{b}", {"location_id": None, "brand": b, "region": None}, BRAND_KINDS)
               for b in sorted(brands) if brands[b] >= 2]  # a one-location brand is its location
    out = []
    for scope, where, kinds in scopes:
        lost = tuple(k for k in kinds
                     if not channels_for(config, SimpleNamespace(kind=k, severity=severity, **where)))  # type: ignore[arg-type]
        if lost:
            out.append((scope, lost))
    return out


def _open_incident(alerts: AlertStore, new: Alert, cooldown_start: datetime, now: datetime) -> Alert | None:
    """The incident still open for ``new``'s watch (seen since ``cooldown_start``), or None
    after opening ``new`` as a new one (its id from its watch and ``now``): one incident per
    watch, for every kind of alert."""
    old = alerts.open_for(new.watch, cooldown_start)
    if old is None:
        new.id = hashlib.sha1(f"{new.watch}|{now.isoformat()}".encode()).hexdigest()[:12]
        alerts.save(new)
    return old


def _watched(config: Config) -> list[str]:
    return [loc.id for loc in config.locations.values() if loc.is_own or config.alerts.watch_competitors]


def _find(config: Config, alerts: AlertStore, now: datetime) -> tuple[list[Finding], list[str]]:
    """Findings of the volume, share and rating detectors, deduped: per location a spike
    absorbs the share and rating findings (and suppresses its aspect spikes), also after it
    ended while their longer windows still hold its mentions; a brand spike
    is dropped when its locations' spikes explain at least half of its excess. Returns the
    findings and the ids of open incidents that suppressed findings (kept alive)."""
    s = config.alerts
    ids = _watched(config)
    if not ids:
        return [], []
    longest = max(s.spike_window_hours, s.share_window_hours, s.rating_window_hours)
    since = hour_start(det.Window(now, longest, s.baseline_days).baseline.start)
    spike = det.Window(now, s.spike_window_hours, s.baseline_days)
    aspect_since = hour_start(spike.baseline.start)
    per_loc, per_aspect = hourly_series(alerts.db, since, now, None if len(ids) == len(config.locations) else ids,
                                        aspect_since)
    # one seasonal shape per category, from all mentions of its watched locations
    by_cat: dict[str, list[str]] = defaultdict(list)
    for lid in ids:
        by_cat[config.locations[lid].category].append(lid)
    profiles = {cat: det.seasonal_profile(_summed(per_loc[i].mentions for i in lids if i in per_loc), spike.baseline)
                for cat, lids in by_cat.items()}
    cooldown_start = now - timedelta(hours=s.cooldown_hours)
    explained_start = now - timedelta(hours=max(s.cooldown_hours, s.share_window_hours, s.rating_window_hours))
    findings: list[Finding] = []
    touched: list[str] = []
    loc_spikes: dict[str, Finding] = {}
    for lid in ids:
        loc = config.locations[lid]
        series = per_loc.get(lid)
        if series is None:
            continue
        profile = profiles[loc.category]
        found = [f for f in (det.negative_spike(series.negative, profile, now=now, s=s),
                             det.negative_share(series.mentions, series.negative, now=now, s=s),
                             det.rating_drop(series.rated, series.rating_sum, series.rating_sq, now=now, s=s)) if f]
        watch = f"negative_spike|{lid}|{loc.brand}||"
        open_spike = alerts.open_for(watch, cooldown_start)
        if found and found[0].kind != "negative_spike":
            if open_spike is not None:
                touched.append(open_spike.id)  # the ongoing spike incident explains them
                found = []
            elif alerts.open_for(watch, explained_start) is not None:
                found = []  # a spike that ended inside their window is what moved share/rating
        for f in found:
            f.location_id, f.brand = lid, loc.brand
        if found:
            head, *rest = found
            for f in rest:
                head.extra[f.kind] = f.details()
            findings.append(head)
            if head.kind == "negative_spike":
                loc_spikes[lid] = head
        if lid in loc_spikes or open_spike is not None:
            continue
        for (alid, aspect), neg in per_aspect.items():
            if alid == lid and (f := det.negative_spike(neg, profile, now=now, s=s)):
                f.location_id, f.brand, f.aspect = lid, loc.brand, aspect
                findings.append(f)
    for brand in sorted({config.locations[i].brand for i in ids}):
        lids = [i for i in ids if config.locations[i].brand == brand]
        if len(lids) < 2:
            continue  # a one-location brand is its location
        cats = Counter(config.locations[i].category for i in lids)
        neg = _summed(per_loc[i].negative for i in lids if i in per_loc)
        f = det.negative_spike(neg, profiles[cats.most_common(1)[0][0]], now=now, s=s)
        if f is None:
            continue
        explained = sum(loc_spikes[i].observed - loc_spikes[i].expected for i in lids if i in loc_spikes)
        if explained >= 0.5 * (f.observed - f.expected):
            continue
        f.brand = brand
        f.extra["locations"] = len(lids)
        findings.append(f)
    return findings, touched


def _viral(config: Config, alerts: AlertStore, now: datetime) -> list[Finding]:
    """Engagement now against the snapshot of the previous run, for mentions published in
    the last ``viral_window_hours``; snapshots are then replaced, and older ones pruned."""
    s = config.alerts
    ids = _watched(config)
    if not ids:
        return []
    since = now - timedelta(hours=s.viral_window_hours)
    loc_sql, args = _in_clause(ids)
    db = alerts.db
    rows = db.execute(
        "SELECT m.fingerprint, m.location_id, m.brand, m.published_at, "
        "COALESCE(m.likes, 0) + COALESCE(m.reposts, 0) + COALESCE(m.comments, 0) FROM mentions AS m "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql}", [to_db_time(since), to_db_time(now), *args]
    ).fetchall()
    previous = {r[0]: r[1] for r in db.execute("SELECT fingerprint, engagement FROM engagement_snapshots")}
    out = []
    for fp, lid, brand, _published, eng in rows:
        tier = det.viral_growth(int(eng), previous.get(fp), s=s)
        if tier:
            before = previous[fp]
            out.append(Finding("viral_post", tier, eng, before, 0.0, s.viral_window_hours, location_id=lid,
                               brand=brand, magnitude=eng, extra={"fingerprint": fp, "gained": eng - before}))
    with alerts._lock:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO engagement_snapshots VALUES (?, ?, ?, ?)",
                       [(fp, int(eng), to_db_time(now), published) for fp, _, _, published, eng in rows])
        db.execute("DELETE FROM engagement_snapshots WHERE published_at < ?", (to_db_time(since),))
        db.execute("COMMIT")
    return out


# -- explanations and persistence ---------------------------------------------------------
def _clean(text: str, limit: int) -> str:
    """One line of plain text: control and format characters (escape sequences, bidi
    overrides) dropped, whitespace collapsed, cut at ``limit`` characters."""
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _engagement(m: Mention) -> int:
    return (m.likes or 0) + (m.reposts or 0) + (m.comments or 0)


def _mention_row(m: Mention, why: str) -> dict[str, Any]:
    return {"url": m.url, "text": _clean(m.text, EXCERPT),
            "published_at": m.published_at.isoformat() if m.published_at else None,
            "engagement": _engagement(m), "source_id": m.source_id, "why": why}


def _relevant(f: Finding, mentions: Iterable[Mention], locations: set[str], start: datetime) -> list[Mention]:
    """The mentions behind a finding: in its window and scope, negative (by the aspect's
    own sentiment for an aspect watch; a low rating for a rating drop)."""
    out = []
    for m in mentions:
        if m.location_id not in locations or m.published_at is None or m.published_at < start:
            continue
        if f.kind == "viral_post":
            if m.fingerprint == f.extra["fingerprint"]:
                out.append(m)
        elif f.aspect is not None:
            if any(a.get("aspect") == f.aspect and a.get("sentiment") == "negative" for a in m.aspects):
                out.append(m)
        elif f.kind == "rating_drop":
            if m.rating is not None and m.rating <= 2.5:
                out.append(m)
        elif m.sentiment_label == "negative":
            out.append(m)
    return sorted(out, key=lambda m: m.published_at or start)


def _explain(config: Config, f: Finding, mentions: list[Mention]) -> tuple[str, str, dict[str, Any], list[dict[str, Any]]]:
    """Title, summary, details and the first / most engaged mentions of a finding."""
    loc = config.locations.get(f.location_id or "")
    where = (f"{loc.name} ({loc.id})" if loc else
             f"brand {config.brands[f.brand].name if f.brand in config.brands else f.brand}")
    if f.aspect:
        where += f", aspect {f.aspect}"
    terms = top_terms([m.keywords for m in mentions], TOP_TERMS)
    aspects = Counter(a["aspect"] for m in mentions for a in m.aspects
                      if a.get("sentiment") == "negative" and a.get("aspect")).most_common(5)
    details = f.details() | {"magnitude": f.magnitude, "top_terms": [[t, n] for t, n in terms],
                             "top_aspects": [[a, n] for a, n in aspects]}
    h = f.window_hours
    if f.kind == "negative_spike":
        ratio = f"{f.ratio:.1f}x" if f.ratio else "far above"
        title = f"{int(f.observed)} negative mentions in {h} h at {where}: {ratio} the usual"
        lines = [f"{int(f.observed)} negative mentions in the last {h} h at {where}; {f.expected:.1f} expected for "
                 f"these hours and weekdays ({ratio}, p = {f.p_value:.2g})."]
    elif f.kind == "negative_share":
        title = f"Negative share {f.observed:.0%} in {h} h at {where} (usually {f.expected:.0%})"
        lines = [f"{f.extra['negative']} of {f.extra['mentions']} mentions in the last {h} h at {where} are negative "
                 f"({f.observed:.0%}); the baseline share is {f.expected:.0%} (p = {f.p_value:.2g})."]
    elif f.kind == "rating_drop":
        title = f"Average rating {f.observed:.2f} in {h} h at {where} (usually {f.expected:.2f})"
        lines = [f"{f.extra['rated']} ratings in the last {h} h at {where} average {f.observed:.2f} of 5, "
                 f"{f.magnitude:.2f} below the baseline {f.expected:.2f} (p = {f.p_value:.2g})."]
    else:
        title = f"Fast-growing post at {where}: +{int(f.extra['gained'])} interactions since the last check"
        lines = [f"A mention about {where} went from {int(f.expected)} to {int(f.observed)} likes + reposts + "
                 f"comments between two checks."]
    for kind in ("negative_share", "rating_drop"):
        if kind in f.extra:
            o = f.extra[kind]
            lines.append(f"Also: {kind.replace('_', ' ')} {o['observed']:.2f} against {o['expected']:.2f} "
                         f"(p = {o['p_value']:.2g}).")
    if terms:
        lines.append("Top terms: " + ", ".join(f"{_clean(t, 40)} ({n})" for t, n in terms))
    if aspects:
        lines.append("Top aspects: " + ", ".join(f"{a} ({n})" for a, n in aspects))
    picked: list[dict[str, Any]] = []
    if mentions:
        first = mentions[0]
        top = max(mentions, key=_engagement)
        picked.append(_mention_row(first, "first"))
        if top is not first and _engagement(top) > 0:
            picked.append(_mention_row(top, "most engaged"))
    for p in picked:
        lines.append(f"{p['why'].capitalize()}: {p['published_at']} {p['source_id']} "
                     f"[{p['engagement']} interactions] {_clean(p['text'], 120)} <{p['url']}>")
    return _clean(title, 200), "\n".join(lines), details, picked


def _persist(config: Config, store: Store, alerts: AlertStore, findings: list[Finding], touched: list[str],
             now: datetime) -> list[Alert]:
    s: AlertSettings = config.alerts
    out: list[Alert] = []
    longest = max([f.window_hours for f in findings], default=0)
    locs = sorted({i for f in findings for i in _scope(config, f)})
    recent = list(store.iter_mentions(location_ids=locs, since=now - timedelta(hours=longest), until=now)) if locs else []
    cooldown_start = now - timedelta(hours=s.cooldown_hours)
    for alert_id in touched:
        alert = alerts.get(alert_id)
        if alert is not None:
            alert.last_seen = now
            alerts.save(alert)
    for f in findings:
        start = hour_start(det.Window(now, f.window_hours, s.baseline_days).window.start)
        title, summary, details, picked = _explain(config, f, _relevant(f, recent, _scope(config, f), start))
        loc = config.locations.get(f.location_id or "")
        new = Alert(id="", kind=f.kind, severity=f.severity, state="new", location_id=f.location_id, brand=f.brand,
                    region=loc.region if loc else None, aspect=f.aspect, title=title, summary=summary,
                    details=details, mentions=picked, first_seen=now, last_seen=now)
        if (old := _open_incident(alerts, new, cooldown_start, now)) is None:
            out.append(new)
            continue
        grew = f.magnitude >= old.details.get("magnitude", 0) * (1 + s.update_growth)
        higher = _RANK[f.severity] > _RANK[old.severity]
        firsts = [m for m in old.mentions if m["why"] == "first"]
        old.mentions = firsts + [m for m in picked if m["why"] != "first"] if firsts else picked
        old.title, old.summary, old.last_seen = title, summary, now
        if higher or grew:
            old.version += 1
            old.details = details
            old.severity = f.severity if higher else old.severity
            if old.state in ("new", "notified"):
                out.append(old)
        else:  # keep the size the last version was judged on
            old.details = details | {"magnitude": old.details.get("magnitude", f.magnitude)}
        alerts.save(old)
    return out


def _scope(config: Config, f: Finding) -> set[str]:
    if f.location_id:
        return {f.location_id}
    return {loc.id for loc in config.locations.values()
            if loc.brand == f.brand and (loc.is_own or config.alerts.watch_competitors)}
