"""Alerts: run the detectors over the store, explain what they found, and keep one alert per
incident with its state (new -> notified -> acknowledged -> resolved).

Detection (``monitor.detectors``) is pure; this module reads the hourly series the store
computes (``store.hour_counts``, ``store.negative_aspect_hours``, ``store.viral_candidates``),
dedupes findings into incidents, and keeps them in ``store.alerts`` (both on SQLite and on
MongoDB: ``crawlers.store.alerts``). Delivery is someone else's job: it reads what
:func:`run_detectors` returns and the caller marks what went out with
``store.alerts.mark_notified``.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from config import Config
from config.model import AlertSettings
from crawlers.items import Mention
from crawlers.store import Store
from crawlers.store.alerts import STATES, Alert, AlertStoreError, AlertTable, EngagementSnapshot
from monitor import detectors as det
from monitor.detectors import Finding, hour_start
from monitor.incidents import resolve_quiet
from nlp.keywords import mention_keywords, top_terms

__all__ = ["KINDS", "STATES", "Alert", "AlertStoreError", "check_and_notify", "health_alerts", "notify_health",
           "run_detectors", "unrouted"]

KINDS = ("negative_spike", "negative_share", "rating_drop", "viral_post", "crawl_health")
_RANK = {s: i for i, s in enumerate(det.SEVERITIES)}
EXCERPT = 280
TOP_TERMS = 8

# -- hourly series ---------------------------------------------------------------------
@dataclass
class _Series:
    mentions: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    negative: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rated: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rating_sum: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rating_sq: dict[int, float] = field(default_factory=lambda: defaultdict(float))


def hourly_series(store: Store, since: datetime, until: datetime, location_ids: list[str] | None,
                  aspect_since: datetime) -> tuple[dict[str, _Series], dict[tuple[str, str], dict[int, float]]]:
    """Per location: hourly mentions, negatives and rating sums in ``[since, until)``; per
    location x aspect: hourly mentions naming the aspect negatively from ``aspect_since``.
    Computed by the store's backend; empty hours are simply absent."""
    per_loc: dict[str, _Series] = defaultdict(_Series)
    for r in store.hour_counts(since=since, until=until, location_ids=location_ids):
        s = per_loc[r.location_id]  # type: ignore[index]
        s.mentions[r.hour], s.negative[r.hour], s.rated[r.hour] = r.mentions, r.negative, r.rated
        s.rating_sum[r.hour], s.rating_sq[r.hour] = r.rating_sum, r.rating_sq
    per_aspect: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for a in store.negative_aspect_hours(since=aspect_since, until=until, location_ids=location_ids):
        per_aspect[(a.location_id, a.aspect)][a.hour] = a.negative  # type: ignore[index]
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
    if not s.enabled:
        return []
    findings, touched = _find(config, store, now)
    findings += _viral(config, store, now)
    out = _persist(config, store, findings, touched, now)
    resolve_quiet(store, now - timedelta(hours=s.cooldown_hours), now=now, cooldown_hours=s.cooldown_hours)
    return out


_check_lock = threading.Lock()


def check_and_notify(config: Config, store: Store, *, now: datetime) -> tuple[list[Alert], list[Any]]:
    """Detect, then deliver: what runs right after every crawl (and ``vocwatch alerts check``).

    New and updated alerts go out through their routed channels; deliveries that failed or
    were rate-limited earlier are retried when due; an alert version counts as notified once
    one channel has it. Serialised per process, so two crawls ending together cannot both
    open the same incident (across processes and machines the store's
    ``alerts.open_incident`` keeps it to one). Returns the new/updated alerts and the
    delivery results."""
    from monitor import delivery

    with _check_lock:
        found = run_detectors(config, store, now=now)
        found += health_alerts(config, store, now=now)
        if not config.channels and not any(a.severity == delivery.MUST_REACH for a in found):
            return found, []
        results = delivery.notify(config, store, found, now=now)  # records the critical ones no route delivers
        if not config.channels:
            return found, results
        results += delivery.retry_pending(config, store, store.alerts.get, now=now)
        for r in results:
            if r.status in ("sent", "duplicate"):
                store.alerts.mark_notified(r.alert_id, r.version)
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
    alerts = store.alerts
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
    resolve_quiet(store, cooldown_start, now=now, cooldown_hours=config.alerts.cooldown_hours)
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
        for r in results:
            if r.status in ("sent", "duplicate"):
                store.alerts.mark_notified(r.alert_id, r.version)
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


def _open_incident(alerts: AlertTable, new: Alert, cooldown_start: datetime, now: datetime) -> Alert | None:
    """The incident still open for ``new``'s watch (seen since ``cooldown_start``), or None
    after opening ``new`` as a new one (its id from its watch and ``now``): one incident per
    watch, for every kind of alert, also across processes (``AlertTable.open_incident``)."""
    new.id = hashlib.sha1(f"{new.watch}|{now.isoformat()}".encode()).hexdigest()[:12]
    return alerts.open_incident(new, cooldown_start)


def _watched(config: Config) -> list[str]:
    return [loc.id for loc in config.locations.values() if loc.is_own or config.alerts.watch_competitors]


def _find(config: Config, store: Store, now: datetime) -> tuple[list[Finding], list[str]]:
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
    alerts = store.alerts
    per_loc, per_aspect = hourly_series(store, since, now, None if len(ids) == len(config.locations) else ids,
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


def _viral(config: Config, store: Store, now: datetime) -> list[Finding]:
    """Engagement now against the snapshot of the previous run, for mentions published in
    the last ``viral_window_hours``; snapshots are then replaced, and older ones pruned."""
    s = config.alerts
    ids = _watched(config)
    if not ids:
        return []
    since = now - timedelta(hours=s.viral_window_hours)
    rows = store.viral_candidates(since=since, until=now, location_ids=ids)
    previous = store.snapshots.previous()
    out = []
    for r in rows:
        tier = det.viral_growth(r.engagement, previous.get(r.fingerprint), s=s)
        if tier:
            before = previous[r.fingerprint]
            out.append(Finding("viral_post", tier, r.engagement, before, 0.0, s.viral_window_hours,
                               location_id=r.location_id, brand=r.brand, magnitude=r.engagement,
                               extra={"fingerprint": r.fingerprint, "gained": r.engagement - before}))
    store.snapshots.replace([EngagementSnapshot(r.fingerprint, r.engagement, r.published_at, now) for r in rows],
                            prune_before=since)
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
    return {"url": m.permalink or m.url, "text": _clean(m.text, EXCERPT),
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
    terms = top_terms([mention_keywords(m.text, m.language, m.keywords) for m in mentions], TOP_TERMS)
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


def _persist(config: Config, store: Store, findings: list[Finding], touched: list[str],
             now: datetime) -> list[Alert]:
    s: AlertSettings = config.alerts
    alerts = store.alerts
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
