"""Digests from the store to the channels: gather a period's figures, render, deliver once.

What a digest says is ``monitor.digest`` (pure); this module reads the store
(``monitor.metrics.benchmark`` three times, two aspect rollups, one mention query, the
work items, the open alerts) and sends through ``monitor.delivery``'s bookkeeping: each
(digest, slot, channel) is one record in ``store.deliveries`` with ``alert_id``
``digest:<name>@<slot>`` and version 1, so a re-run for the same period (the scheduler
restarted, ``vocwatch digest send`` run by hand) is a ``duplicate``, a failed send is
retried with the alerts' backoff by :func:`retry_digests`, and a digest takes a slot of
its channel's ``rate_limit`` like any message. Channels are the digest's own (no routes,
no ``min_severity``): a digest is not an alert.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from config import Config
from config.model import DigestSettings
from crawlers.items import Mention
from crawlers.store.alerts import Alert
from crawlers.store.base import MAX_QUERY_LIMIT, WHOLE_RANGE, MentionQuery, Store
from crawlers.store.deliveries import DeliveryKey
from monitor.delivery import DeliveryResult, deliver_once, send_message
from monitor.digest import (
    DIGEST_PREFIX,
    MAX_UNANSWERED,
    RENDERERS,
    Digest,
    Period,
    build_digest,
    complaints,
    delivery_id,
    location_figures,
    parse_delivery_id,
    period_at,
    quote_of,
    scope_title,
    subject,
)

logger = logging.getLogger(__name__)

UNRESOLVED = ("new", "notified", "acknowledged")
"""Alert states that count as open in a digest (``acknowledged``: someone is on it)."""
_TICK = timedelta(microseconds=1)
_MAX_ALERTS = 100_000


class DigestError(ValueError):
    """No digest of that name or scope in the config."""


def select(config: Config, *, name: str | None = None, scope: str | None = None) -> list[DigestSettings]:
    """The configured digests by name or scope (all without either)."""
    chosen = [d for d in config.digests if (name is None or d.name == name) and (scope is None or d.scope == scope)]
    if not chosen:
        known = ", ".join(f"{d.name} ({d.scope})" for d in config.digests) or "none configured ([[digests]])"
        what = f"name {name!r}" if name else f"scope {scope!r}" if scope else "any"
        raise DigestError(f"no digest with {what}; digests: {known}")
    return chosen


def collect(config: Config, store: Store, settings: DigestSettings, *, now: datetime,
            period: Period | None = None) -> Digest:
    """The digest of the period due at or before ``now`` (or of ``period``)."""
    from monitor.dashboard.auth import Scope
    from monitor.metrics import benchmark
    from nlp.aspects import taxonomy

    period = period or period_at(settings, now)
    locations = Scope.parse(settings.scope).locations(config)
    ids = [loc.id for loc in locations]
    names = {loc.id: loc.name for loc in locations}
    # benchmark windows are "today and the days before": ``now`` just before the period's
    # end makes its current window exactly [start, end)
    as_of, before = period.end - _TICK, period.previous_end - _TICK
    window = benchmark(config, store, location_ids=ids, window=f"{period.days}d", now=as_of)
    index_now = benchmark(config, store, location_ids=ids, window=settings.index_window, now=as_of)
    index_before = benchmark(config, store, location_ids=ids, window=settings.index_window, now=before)
    rows = location_figures(locations, window, index_now, index_before)

    length = period.end - period.start
    aspect_rows = list(store.rollup(bucket=WHOLE_RANGE, group_by=("location_id", "aspect"), since=period.start,
                                    until=period.end, location_ids=ids))
    aspect_before = list(store.rollup(bucket=WHOLE_RANGE, group_by=("location_id", "aspect"),
                                      since=period.start - length, until=period.start, location_ids=ids))
    labels = {a.id: a.label for a in taxonomy(None).aspects}
    top = complaints(aspect_rows, aspect_before, labels, names)

    unanswered, newest = unanswered_negatives(store, ids, period)
    quotes = [quote_of(m, names, now) for m in newest]

    alerts = open_alerts(config, store, settings.scope)
    dashboard = config.dashboard.url
    title = scope_title(settings.scope, locations, {b.id: b.name for b in config.brands.values()})
    return build_digest(settings, period=period, now=now, title=title, rows=rows, complaints=top,
                        unanswered=unanswered, quotes=quotes, alerts=alerts, dashboard_url=dashboard)


def unanswered_negatives(store: Store, ids: Sequence[str], period: Period) -> tuple[int, list[Mention]]:
    """How many negative mentions of the period are unanswered, and the newest few: the
    inbox's rule (``monitor.workflow_metrics.is_answered``: no owner reply on the site, by
    text or date, and no work-item status answered or resolved). The backend filters the
    site replies and the answered work items; the pages are read to drop reply dates."""
    from monitor.workflow_metrics import ANSWERED_STATUSES, is_answered

    answered = sorted(i.item_id for i in store.workflow.list("mention", location_ids=ids, statuses=ANSWERED_STATUSES))
    query = MentionQuery(location_ids=tuple(ids), since=period.start, until=period.end, sentiments=("negative",),
                         has_reply=False, exclude_fingerprints=tuple(answered) or None, limit=MAX_QUERY_LIMIT)
    count, newest = 0, []
    while True:
        page = store.query_mentions(query)
        for m in page:
            if not is_answered(m, None):
                count += 1
                if len(newest) < MAX_UNANSWERED:
                    newest.append(m)
        if len(page) < query.limit:
            return count, newest
        query = dataclasses.replace(query, offset=query.offset + query.limit)


def open_alerts(config: Config, store: Store, scope_text: str) -> list[Alert]:
    """Unresolved alerts the scope sees: of its own locations, and, for a brand or region
    scope (and ``all``), the brand's or region's alerts that name no location."""
    from monitor.dashboard.auth import Scope

    scope = Scope.parse(scope_text)
    ids = {loc.id for loc in scope.locations(config)}

    def sees(a: Alert) -> bool:
        if a.location_id is not None:
            return a.location_id in ids
        return scope.is_admin or (scope.kind == "brand" and a.brand == scope.value) \
            or (scope.kind == "region" and a.region == scope.value)

    return [a for state in UNRESOLVED for a in store.alerts.list(state=state, limit=_MAX_ALERTS) if sees(a)]


@dataclass(frozen=True, slots=True)
class DigestRun:
    """One digest's outcome: what was said and what each channel did with it."""

    digest: Digest
    results: list[DeliveryResult]


def deliver(config: Config, store: Store, digest: Digest, channel_ids: Sequence[str], *,
            now: datetime) -> list[DeliveryResult]:
    """Send ``digest`` to each channel at most once for its slot (``store.deliveries``)."""
    key_id = delivery_id(digest.name, digest.period.slot)
    title = subject(digest)
    results = []
    for cid in channel_ids:
        channel = config.channels[cid]
        body = RENDERERS[channel.format](digest)
        results.append(deliver_once(
            store.deliveries, channel, DeliveryKey(key_id, 1, cid),
            lambda channel=channel, body=body: send_message(channel, title=title, body=body, notify_type="info",
                                                            extras={"digest": digest.to_dict()}),
            now, what=f"digest {digest.name} of {digest.period.slot:%Y-%m-%d %H:%M}Z"))
    return results


def send_digest(config: Config, store: Store, settings: DigestSettings, *, now: datetime) -> DigestRun:
    """Gather and send the digest due at or before ``now``; never raises for a failed send."""
    digest = collect(config, store, settings, now=now)
    return DigestRun(digest, deliver(config, store, digest, settings.channels, now=now))


def retry_digests(config: Config, store: Store, *, now: datetime) -> list[DeliveryResult]:
    """Retry the digests' failed and rate-limited deliveries whose time has come (the
    digest of the recorded slot is gathered again); a delivery whose digest or channel left
    the config is given up with a note."""
    results: list[DeliveryResult] = []
    by_name = {d.name: d for d in config.digests}
    due: dict[tuple[str, datetime], list[str]] = {}
    for key in store.deliveries.due(now):
        if not key.alert_id.startswith(DIGEST_PREFIX):
            continue
        parsed = parse_delivery_id(key.alert_id)
        settings = by_name.get(parsed[0]) if parsed else None
        if parsed is None or settings is None or key.channel not in config.channels:
            gone = "digest no longer configured" if settings is None else "channel no longer configured"
            store.deliveries.give_up(key, f"given up: {gone}", now)
            continue
        due.setdefault(parsed, []).append(key.channel)
    for (name, slot), channels in due.items():
        settings = by_name[name]
        period = period_at(settings, slot)
        digest = collect(config, store, settings, now=now, period=period)
        results += deliver(config, store, digest, channels, now=now)
    return results
