"""Deliver alerts to the configured channels through apprise, and remember every attempt.

Detection decides *what* to say (``monitor.alerting``); this module decides *where* and
*whether now*: routes pick channels, a channel's ``min_severity`` filters, its
``rate_limit`` caps sends in a sliding window, and each (alert, version, channel) is sent at
most once. Outcomes live in the store's deliveries table (``store.deliveries``,
``crawlers.store.deliveries``: SQLite or MongoDB), so a restart keeps the rate windows, the
dedupe and the retry queue, and processes sharing the store share them too.

A failed send never raises into the caller (apprise may return False or raise): it is
recorded with its error and retried by :func:`retry_pending` after an exponential backoff.
Sends are at-least-once: a process killed between a send and its record re-sends after
``SEND_LEASE``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from config import Channel, Config, ConfigError
from config.model import ALERT_SEVERITIES
from config.redact import redact, secrets_in_use
from crawlers.store.base import Store
from crawlers.store.deliveries import UNROUTED, Delivery, DeliveryKey, DeliveryTable
from monitor.digest import DIGEST_PREFIX
from monitor.notify_render import RENDERERS, AlertLike, payload, subject

logger = logging.getLogger(__name__)

BACKOFF_FIRST = timedelta(minutes=1)
"""Wait after the first failure; doubled after each further one ..."""
BACKOFF_MAX = timedelta(hours=6)
"""... up to this, so a channel down overnight is retried a few times an hour, not hammered."""
MAX_ATTEMPTS = 8
"""After this many failed sends (about 4 h of trying) the delivery stays failed for good."""
SEND_LEASE = timedelta(minutes=10)
"""A claimed send not recorded within this long (the process died) is retried."""

NO_CHANNEL = "-"
"""The ``channel`` of the record of an alert that no route delivers (never a channel id)."""
MUST_REACH = "critical"
"""An alert this severe that no route delivers is an error (warned, logged, recorded), not a choice."""
_SEVERITY_RANK = {s: i for i, s in enumerate(ALERT_SEVERITIES)}


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one alert version on one channel in this call.

    ``status``: ``sent``; ``failed`` (``error`` says why; retried at ``next_attempt_at``,
    or never again when that is ``None``); ``rate_limited`` (sent at ``next_attempt_at`` at
    the earliest); ``duplicate`` (this version was already sent there); ``pending`` (an
    earlier attempt's retry time has not come yet, or another process is sending it);
    ``superseded`` (a newer version replaced it before it went out); ``unrouted`` (a
    critical alert that no route delivers to any channel: ``channel`` is ``NO_CHANNEL``).
    """

    alert_id: str
    version: int
    channel: str
    status: str
    attempts: int = 0
    error: str | None = None
    next_attempt_at: datetime | None = None
    seconds: float | None = None
    """How long the send itself took, when one was made."""


def channels_for(config: Config, alert: AlertLike) -> list[Channel]:
    """Channels of every route the alert matches (each once, in config order), minus those
    whose ``min_severity`` is above the alert's."""
    names: list[str] = []
    for route in config.routes:
        if _matches(route.locations, alert.location_id) and _matches(route.brands, alert.brand) \
                and _matches(route.regions, alert.region) and _matches(route.severities, alert.severity) \
                and _matches(route.kinds, alert.kind):
            names += [n for n in route.channels if n not in names]
    rank = _SEVERITY_RANK.get(alert.severity, 0)
    return [config.channels[n] for n in names if rank >= _SEVERITY_RANK[config.channels[n].min_severity]]


def _matches(allowed: tuple[str, ...], value: str | None) -> bool:
    return not allowed or value in allowed


def notify(config: Config, store: Store, alerts: Sequence[AlertLike], *, now: datetime) -> list[DeliveryResult]:
    """Route each alert and send it to its channels now, as far as dedupe, backoff and rate
    limits allow; record (in ``store``) and return the outcome per (alert, channel). Never
    raises for a failed send."""
    table = store.deliveries
    results: list[DeliveryResult] = []
    for alert in alerts:
        channels = channels_for(config, alert)
        if not channels and alert.severity == MUST_REACH:
            results.append(_unrouted(table, alert, now))
        for channel in channels:
            results.append(_deliver(table, channel, alert, now, config.dashboard.url))
    return results


def _unrouted(table: DeliveryTable, alert: AlertLike, now: datetime) -> DeliveryResult:
    """Record (and log) that a critical alert reaches nobody, so it is visible later in the
    deliveries, not only in this run's output."""
    where = ", ".join(f"{k} {v}" for k, v in (("location", alert.location_id), ("brand", alert.brand),
                                               ("region", alert.region)) if v) or "no location"
    error = f"no route delivers a critical {alert.kind} alert ({where}) to any channel"
    table.record(DeliveryKey(alert.id, alert.version, NO_CHANNEL), UNROUTED, attempts=0, now=now, error=error)
    logger.warning("alert %s v%d reaches nobody: %s", alert.id, alert.version, error)
    return DeliveryResult(alert.id, alert.version, NO_CHANNEL, UNROUTED, 0, error)


def retry_pending(config: Config, store: Store, alerts: Iterable[AlertLike] | Callable[[str], AlertLike | None],
                  *, now: datetime) -> list[DeliveryResult]:
    """Retry failed and rate-limited deliveries whose time has come.

    The table keeps ids, not alert contents, so the caller supplies the alerts: either the
    current alerts (an iterable) or a lookup ``alert_id -> alert or None``. When an alert has
    moved on to a newer version, that version is delivered instead (if still routed to the
    channel) and the old one is marked superseded; a delivery whose alert or channel is gone
    is given up with a note in ``last_error``.
    """
    if callable(alerts):
        lookup = alerts
    else:
        by_id = {a.id: a for a in alerts}
        lookup = by_id.get
    table = store.deliveries
    results: list[DeliveryResult] = []
    for key in table.due(now):
        if key.alert_id.startswith(DIGEST_PREFIX):
            continue  # a digest's delivery: retried by monitor.digest_send.retry_digests
        alert = lookup(key.alert_id)
        channel = config.channels.get(key.channel)
        if alert is None or channel is None:
            gone = "alert no longer exists" if alert is None else "channel no longer configured"
            table.give_up(key, f"given up: {gone}", now)
            continue
        if alert.version < key.version:
            continue
        if alert.version > key.version and channel not in channels_for(config, alert):
            table.supersede(key, now)
            results.append(DeliveryResult(*key, "superseded"))
            continue
        results.append(_deliver(table, channel, alert, now, config.dashboard.url))
    return results


def send_test(config: Config, channel_id: str, alert: AlertLike) -> DeliveryResult:
    """Send ``alert`` to one channel now, bypassing routes, rate limits, dedupe and the
    record: an operator checking a channel wants to see the message, not the bookkeeping."""
    channel = config.channels.get(channel_id)
    if channel is None:
        known = ", ".join(config.channels) or "none configured"
        raise ConfigError(config.path, "channels", f"no channel with id {channel_id!r} (channels: {known})")
    started = time.perf_counter()
    error = _send(channel, alert, config.dashboard.url)
    return DeliveryResult(alert.id, alert.version, channel.id, "failed" if error else "sent", 1, error,
                          seconds=time.perf_counter() - started)


def deliveries(store: Store) -> list[Delivery]:
    """Every recorded delivery, most recently updated first (for the CLI and tests)."""
    return store.deliveries.list()


def unrouted_alerts(store: Store, alert_ids: Sequence[str]) -> dict[str, str]:
    """``alert_id -> why`` for those of ``alert_ids`` recorded as critical and routed to
    nobody (for ``vocwatch alerts list``)."""
    return store.deliveries.unrouted(alert_ids)


def _deliver(table: DeliveryTable, channel: Channel, alert: AlertLike, now: datetime,
             dashboard_url: str | None = None) -> DeliveryResult:
    return deliver_once(table, channel, DeliveryKey(alert.id, alert.version, channel.id),
                        lambda: _send(channel, alert, dashboard_url), now, what=f"alert {alert.id} v{alert.version}")


def deliver_once(table: DeliveryTable, channel: Channel, key: DeliveryKey, send: Callable[[], str | None],
                 now: datetime, *, what: str) -> DeliveryResult:
    """Send ``key`` once through ``send`` (``None`` or the error) as far as dedupe, backoff
    and the channel's rate limit allow, and record the outcome: the one bookkeeping of
    alerts and digests (``monitor.digest_send``)."""
    claim = table.claim(key, now, rate_limit=channel.rate_limit, lease=SEND_LEASE, recheck=BACKOFF_FIRST)
    if claim.status != "claimed":
        return DeliveryResult(*key, claim.status, claim.attempts, next_attempt_at=claim.next_attempt_at)
    attempts = claim.attempts
    started = time.perf_counter()
    error = send()
    seconds = time.perf_counter() - started
    if error is None:
        table.record(key, "sent", attempts=attempts, now=now, sent_at=now)
        logger.info("%s sent to %s in %.3f s", what, channel.id, seconds)
        return DeliveryResult(*key, "sent", attempts, seconds=seconds)
    retry_at = now + min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MAX) if attempts < MAX_ATTEMPTS else None
    table.record(key, "failed", attempts=attempts, now=now, error=error, next_attempt_at=retry_at)
    logger.warning("%s to %s failed (attempt %d, retry %s): %s", what, channel.id,
                   attempts, retry_at or "never", error)
    return DeliveryResult(*key, "failed", attempts, error, retry_at, seconds)


# -- the sample for ``vocwatch alerts test`` ----------------------------------------------
def sample_alert(config: Config, now: datetime) -> AlertLike:
    """A test alert for the first own location, whose quoted review tries to inject a
    ``<script>`` and a ``javascript:`` link, so a test send also shows the escaping works."""
    from monitor.alerting import Alert

    own = config.own_locations()
    loc = own[0] if own else None
    hostile = 'Room was dirty <script>alert("xss")</script> & the staff ignored us <b>twice</b>'
    return Alert(
        id=f"test-{now:%Y%m%d%H%M%S}", kind="negative_spike", severity="warning", state="new",
        location_id=loc.id if loc else None, brand=loc.brand if loc else None, region=loc.region if loc else None,
        aspect="cleanliness", title="vocwatch test alert: negative mentions up (sample, not real data)",
        summary=f"This is a test from vocwatch alerts test. A quoted review follows:\n{hostile}",
        details={"sample": True},
        mentions=[{"url": "https://reviews.example/r/1", "text": hostile, "published_at": now.isoformat(),
                   "engagement": 12, "source_id": "sample/hotel_reviews", "why": "negative, cleanliness"},
                  {"url": "javascript:alert(1)", "text": "a link that must not become clickable",
                   "published_at": now.isoformat(), "engagement": 0, "source_id": "sample/forum", "why": "sample"}],
        first_seen=now - timedelta(hours=2), last_seen=now)


# -- sending -----------------------------------------------------------------------------
_NOTIFY_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


def _send(channel: Channel, alert: AlertLike, dashboard_url: str | None = None) -> str | None:
    """Send an alert through apprise; ``None`` on success, else the reason (secrets redacted).
    With ``dashboard_url`` the message links to the alert's incident page."""
    return send_message(channel, title=subject(alert), body=RENDERERS[channel.format](alert, dashboard_url),
                        notify_type=_NOTIFY_TYPES.get(alert.severity, "info"),
                        extras={"alert": payload(alert, dashboard_url)})


def send_message(channel: Channel, *, title: str, body: str, notify_type: str = "info",
                 extras: dict[str, object] | None = None) -> str | None:
    """Send a rendered message (``body`` in ``channel.format``) through apprise; ``None`` on
    success, else the reason (secrets redacted). ``extras`` go beside a JSON webhook's envelope."""
    import apprise
    from apprise.plugins.custom_json import NotifyJSON

    try:
        with secrets_in_use(channel.secrets), apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            plugin = apprise.Apprise.instantiate(channel.url)
            if plugin is None:
                return _redact(_last_line(log.getvalue()) or "apprise could not load the channel URL", channel)
            if isinstance(plugin, NotifyJSON) and extras:
                # A JSON webhook gets the alert (or digest) as structured data beside apprise's
                # title/message/type envelope (same mechanism as the URL's :key=value extras).
                plugin.payload_extras = {**plugin.payload_extras, **extras}
            sender = apprise.Apprise()
            sender.add(plugin)
            ok = sender.notify(body=body, title=title, notify_type=notify_type, body_format=channel.format)
    except Exception as exc:  # apprise or a plugin raised: record it, never crash the caller
        return _redact(f"{type(exc).__name__}: {exc}", channel)
    if ok:
        return None
    return _redact(_last_line(log.getvalue()) or "apprise reported a failure without a reason", channel)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _redact(text: str, channel: Channel) -> str:
    """Remove the channel's secrets and key-like URL parts from an error before it is stored."""
    parts = urlsplit(channel.url)
    host = parts.netloc.rpartition("@")[2]  # not .hostname: it lowercases, and bot keys are case-sensitive
    pieces = re.split(r"[/?&=:]", f"{host}/{parts.path}?{parts.query}")
    return redact(text, [*channel.secrets, *(p for p in pieces if len(p) >= 12 and "." not in p)])
