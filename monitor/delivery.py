"""Deliver alerts to the configured channels through apprise, and remember every attempt.

Detection decides *what* to say (``monitor.alerting``); this module decides *where* and
*whether now*: routes pick channels, a channel's ``min_severity`` filters, its
``rate_limit`` caps sends in a sliding window, and each (alert, version, channel) is sent at
most once. Outcomes live in the ``alert_deliveries`` table of the store's SQLite file, so a
restart keeps the rate windows, the dedupe and the retry queue.

A failed send never raises into the caller (apprise may return False or raise): it is
recorded with its error and retried by :func:`retry_pending` after an exponential backoff.
Sends are at-least-once: a process killed between a send and its record re-sends after
``SEND_LEASE``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from config import Channel, Config, ConfigError
from config.model import ALERT_SEVERITIES
from config.redact import redact, secrets_in_use
from crawlers.store.sqlite import connect, from_db_time, sqlite_path, to_db_time
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT,
    sent_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, version, channel)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (next_attempt_at);
CREATE INDEX IF NOT EXISTS alert_deliveries_sent ON alert_deliveries (channel, sent_at);
"""
_RETRYABLE = ("failed", "rate_limited", "sending")
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


def notify(config: Config, alerts: Sequence[AlertLike], *, now: datetime) -> list[DeliveryResult]:
    """Route each alert and send it to its channels now, as far as dedupe, backoff and rate
    limits allow; record and return the outcome per (alert, channel). Never raises for a
    failed send; raises :class:`ConfigError` when the store is not SQLite."""
    results: list[DeliveryResult] = []
    with _connect(config) as db:
        for alert in alerts:
            channels = channels_for(config, alert)
            if not channels and alert.severity == MUST_REACH:
                results.append(_unrouted(db, alert, now))
            for channel in channels:
                results.append(_deliver(db, channel, alert, now))
    return results


def _unrouted(db: sqlite3.Connection, alert: AlertLike, now: datetime) -> DeliveryResult:
    """Record (and log) that a critical alert reaches nobody, so it is visible later in the
    deliveries, not only in this run's output."""
    where = ", ".join(f"{k} {v}" for k, v in (("location", alert.location_id), ("brand", alert.brand),
                                               ("region", alert.region)) if v) or "no location"
    error = f"no route delivers a critical {alert.kind} alert ({where}) to any channel"
    _record(db, (alert.id, alert.version, NO_CHANNEL), "unrouted", 0, error, None, None, to_db_time(now))
    logger.warning("alert %s v%d reaches nobody: %s", alert.id, alert.version, error)
    return DeliveryResult(alert.id, alert.version, NO_CHANNEL, "unrouted", 0, error)


def retry_pending(config: Config, alerts: Iterable[AlertLike] | Callable[[str], AlertLike | None], *,
                  now: datetime) -> list[DeliveryResult]:
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
    results: list[DeliveryResult] = []
    with _connect(config) as db:
        due = db.execute(
            "SELECT alert_id, version, channel FROM alert_deliveries WHERE status IN (?, ?, ?) "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at", (*_RETRYABLE, to_db_time(now))).fetchall()
        for alert_id, version, channel_id in due:
            alert = lookup(alert_id)
            channel = config.channels.get(channel_id)
            if alert is None or channel is None:
                gone = "alert no longer exists" if alert is None else "channel no longer configured"
                db.execute("UPDATE alert_deliveries SET next_attempt_at = NULL, last_error = ?, updated_at = ? "
                           "WHERE alert_id = ? AND version = ? AND channel = ?",
                           (f"given up: {gone}", to_db_time(now), alert_id, version, channel_id))
                continue
            if alert.version < version:
                continue
            if alert.version > version and channel not in channels_for(config, alert):
                db.execute("UPDATE alert_deliveries SET status = 'superseded', next_attempt_at = NULL, updated_at = ? "
                           "WHERE alert_id = ? AND version = ? AND channel = ?",
                           (to_db_time(now), alert_id, version, channel_id))
                results.append(DeliveryResult(alert_id, version, channel_id, "superseded"))
                continue
            results.append(_deliver(db, channel, alert, now))
    return results


def send_test(config: Config, channel_id: str, alert: AlertLike) -> DeliveryResult:
    """Send ``alert`` to one channel now, bypassing routes, rate limits, dedupe and the
    record: an operator checking a channel wants to see the message, not the bookkeeping."""
    channel = config.channels.get(channel_id)
    if channel is None:
        known = ", ".join(config.channels) or "none configured"
        raise ConfigError(config.path, "channels", f"no channel with id {channel_id!r} (channels: {known})")
    started = time.perf_counter()
    error = _send(channel, alert)
    return DeliveryResult(alert.id, alert.version, channel.id, "failed" if error else "sent", 1, error,
                          seconds=time.perf_counter() - started)


def deliveries(config: Config) -> list[dict[str, Any]]:
    """Every recorded delivery, newest first (for the CLI and tests)."""
    with _connect(config) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM alert_deliveries ORDER BY updated_at DESC, alert_id, channel").fetchall()
    return [dict(r) for r in rows]


def unrouted_alerts(config: Config, alert_ids: Sequence[str]) -> dict[str, str]:
    """``alert_id -> why`` for those of ``alert_ids`` recorded as critical and routed to
    nobody (for ``vocwatch alerts list``)."""
    if not alert_ids:
        return {}
    with _connect(config) as db:
        rows = db.execute(f"SELECT alert_id, last_error FROM alert_deliveries WHERE status = 'unrouted' AND "
                          f"alert_id IN ({', '.join('?' * len(alert_ids))}) ORDER BY version", list(alert_ids))
        return {alert_id: error for alert_id, error in rows}


# -- bookkeeping -------------------------------------------------------------------------
@contextmanager
def _connect(config: Config) -> Iterator[sqlite3.Connection]:
    """Own connection to the store's SQLite file (the store's connection is not ours to share)."""
    if "://" in config.store_url and not config.store_url.startswith("sqlite:"):
        raise ConfigError(config.path, "store.url", "alert delivery records its outcomes in SQLite, but the store is "
                          f"{config.store_url.split('://', 1)[0]}://; use a sqlite:/// store for alerting")
    try:
        path = sqlite_path(config.store_url)
    except ValueError as exc:
        raise ConfigError(config.path, "store.url", str(exc)) from None
    with closing(connect(path)) as db:
        db.executescript(_SCHEMA)
        yield db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: the check-then-claim below must not interleave with another process."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _deliver(db: sqlite3.Connection, channel: Channel, alert: AlertLike, now: datetime) -> DeliveryResult:
    key = (alert.id, alert.version, channel.id)
    stamp = to_db_time(now)
    with _transaction(db):
        row = db.execute("SELECT status, attempts, next_attempt_at FROM alert_deliveries "
                         "WHERE alert_id = ? AND version = ? AND channel = ?", key).fetchone()
        attempts = row[1] if row else 0
        if row and row[0] in ("sent", "superseded"):
            return DeliveryResult(*key, "duplicate" if row[0] == "sent" else "superseded", attempts)
        if row and row[2] is None:  # failed for good
            return DeliveryResult(*key, row[0], attempts)
        if row and row[2] > stamp:
            return DeliveryResult(*key, "pending", attempts, next_attempt_at=from_db_time(row[2]))
        db.execute("UPDATE alert_deliveries SET status = 'superseded', next_attempt_at = NULL, updated_at = ? "
                   "WHERE alert_id = ? AND channel = ? AND version < ? AND status IN (?, ?, ?)",
                   (stamp, alert.id, channel.id, alert.version, *_RETRYABLE))
        if (free_at := _rate_limited_until(db, channel, now)) is not None:
            _record(db, key, "rate_limited", attempts, None, free_at, None, stamp)
            return DeliveryResult(*key, "rate_limited", attempts, next_attempt_at=free_at)
        attempts += 1
        _record(db, key, "sending", attempts, None, now + SEND_LEASE, None, stamp)

    started = time.perf_counter()
    error = _send(channel, alert)
    seconds = time.perf_counter() - started
    if error is None:
        _record(db, key, "sent", attempts, None, None, now, stamp)
        logger.info("alert %s v%d sent to %s in %.3f s", alert.id, alert.version, channel.id, seconds)
        return DeliveryResult(*key, "sent", attempts, seconds=seconds)
    retry_at = now + min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MAX) if attempts < MAX_ATTEMPTS else None
    _record(db, key, "failed", attempts, error, retry_at, None, stamp)
    logger.warning("alert %s v%d to %s failed (attempt %d, retry %s): %s", alert.id, alert.version, channel.id,
                   attempts, retry_at or "never", error)
    return DeliveryResult(*key, "failed", attempts, error, retry_at, seconds)


def _rate_limited_until(db: sqlite3.Connection, channel: Channel, now: datetime) -> datetime | None:
    """When the channel's sliding window has room again, or ``None`` if it has room now.
    Sends in flight count, so two processes cannot both take the last slot."""
    limit = channel.rate_limit
    if limit is None:
        return None
    window = timedelta(seconds=limit.seconds)
    sent = [r[0] for r in db.execute(
        "SELECT sent_at FROM alert_deliveries WHERE channel = ? AND status = 'sent' AND sent_at > ? ORDER BY sent_at",
        (channel.id, to_db_time(now - window)))]
    in_flight = db.execute("SELECT COUNT(*) FROM alert_deliveries WHERE channel = ? AND status = 'sending' "
                           "AND next_attempt_at > ?", (channel.id, to_db_time(now))).fetchone()[0]
    used = len(sent) + in_flight
    if used < limit.count:
        return None
    # The slot frees when the oldest send that keeps the window full drops out of it.
    if used - limit.count >= len(sent):  # only sends in flight fill it: look again shortly
        return now + BACKOFF_FIRST
    oldest = from_db_time(sent[used - limit.count])
    assert oldest is not None
    return oldest + window


def _record(db: sqlite3.Connection, key: tuple[str, int, str], status: str, attempts: int, error: str | None,
            next_attempt_at: datetime | None, sent_at: datetime | None, stamp: str | None) -> None:
    db.execute(
        "INSERT INTO alert_deliveries (alert_id, version, channel, status, attempts, last_error, next_attempt_at, "
        "sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id, version, channel) DO UPDATE "
        "SET status = excluded.status, attempts = excluded.attempts, last_error = excluded.last_error, "
        "next_attempt_at = excluded.next_attempt_at, sent_at = excluded.sent_at, updated_at = excluded.updated_at",
        (*key, status, attempts, error, to_db_time(next_attempt_at), to_db_time(sent_at), stamp))


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


def _send(channel: Channel, alert: AlertLike) -> str | None:
    """Send through apprise; ``None`` on success, else the reason (secrets redacted)."""
    import apprise
    from apprise.plugins.custom_json import NotifyJSON

    try:
        with secrets_in_use(channel.secrets), apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            plugin = apprise.Apprise.instantiate(channel.url)
            if plugin is None:
                return _redact(_last_line(log.getvalue()) or "apprise could not load the channel URL", channel)
            if isinstance(plugin, NotifyJSON):
                # A JSON webhook gets the alert as structured data beside apprise's
                # title/message/type envelope (same mechanism as the URL's :key=value extras).
                plugin.payload_extras = {**plugin.payload_extras, "alert": payload(alert)}
            sender = apprise.Apprise()
            sender.add(plugin)
            ok = sender.notify(body=RENDERERS[channel.format](alert), title=subject(alert),
                               notify_type=_NOTIFY_TYPES.get(alert.severity, "info"), body_format=channel.format)
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
