"""Alert deliveries and the channels' rate-limit windows: what ``monitor.delivery`` remembers.

One record per (alert, version, channel): its status, attempts, last error and when to try
again, so a restart keeps the dedupe, the retry queue and the rate windows. The policy
(routes, backoff, ``MAX_ATTEMPTS``, sending, redaction) is ``monitor.delivery``'s; this
module only stores, and makes the check-then-claim of a send one atomic step
(:meth:`DeliveryTable.claim`), so two processes never send the same version twice at once
nor both take a channel's last slot.

Times are kept to the second (SQLite stores ``YYYY-MM-DDTHH:MM:SSZ``; the Mongo table
truncates the same way), so both backends compare them alike.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from crawlers.store.sqlite import from_db_time, to_db_time

RETRYABLE = ("failed", "rate_limited", "sending")
"""Statuses a delivery may still leave (when its ``next_attempt_at`` is set and has come)."""
UNROUTED = "unrouted"
"""The status of the record of a critical alert that no route delivers."""


class DeliveryKey(NamedTuple):
    """What a delivery is sent at most once for."""

    alert_id: str
    version: int
    channel: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One stored delivery record.

    ``status``: ``sending`` (claimed; ``next_attempt_at`` is the end of its lease), ``sent``,
    ``failed``, ``rate_limited``, ``superseded`` or ``unrouted``. ``next_attempt_at`` None
    means never again (sent, superseded, or given up: ``last_error`` says why)."""

    alert_id: str
    version: int
    channel: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.alert_id, self.version, self.channel)


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`DeliveryTable.claim` decided.

    ``status``: ``claimed`` (the caller sends now: attempt number ``attempts``, leased
    until ``next_attempt_at``); ``duplicate`` (already sent); ``superseded``; ``pending``
    (its retry time, or another process's lease, ends at ``next_attempt_at``);
    ``rate_limited`` (the channel's window has room at ``next_attempt_at``, recorded so);
    or the stored status of a delivery given up for good (``failed``: no retry left)."""

    status: str
    attempts: int = 0
    next_attempt_at: datetime | None = None


class Window(Protocol):
    """A channel's rate limit (``config.model.RateLimit``): ``count`` sends per ``seconds``."""

    @property
    def count(self) -> int: ...

    @property
    def seconds(self) -> float: ...


class DeliveryTable(Protocol):
    """The deliveries of one store (``store.deliveries``)."""

    def claim(self, key: DeliveryKey, now: datetime, *, rate_limit: Window | None, lease: timedelta,
              recheck: timedelta) -> Claim:
        """Atomically: unless ``key`` was sent, superseded, given up, or is not due yet,
        supersede the channel's older versions of the alert still waiting, then either take
        a slot of the channel's sliding window (sends in it plus unexpired claims count) and
        claim the send (``sending`` until ``now + lease``, attempts + 1), or record it
        ``rate_limited`` until the window has room (``now + recheck`` when only claims
        fill it)."""
        ...

    def record(self, key: DeliveryKey, status: str, *, attempts: int, now: datetime, error: str | None = None,
               next_attempt_at: datetime | None = None, sent_at: datetime | None = None) -> None:
        """Store the outcome of ``key`` (insert or overwrite). A ``sent`` one claimed with a
        rate limit counts in its channel's window from ``sent_at``; any other status ends its
        claim's slot."""
        ...

    def due(self, now: datetime) -> list[DeliveryKey]:
        """Failed, rate-limited and lease-expired deliveries whose ``next_attempt_at`` has
        come, earliest first."""
        ...

    def give_up(self, key: DeliveryKey, why: str, now: datetime) -> None:
        """Never retry ``key`` again; ``why`` becomes its ``last_error``."""
        ...

    def supersede(self, key: DeliveryKey, now: datetime) -> None:
        """Mark ``key`` superseded (a newer version of the alert replaces it)."""
        ...

    def list(self) -> list[Delivery]:
        """Every record, most recently updated first."""
        ...

    def unrouted(self, alert_ids: Sequence[str]) -> dict[str, str]:
        """``alert_id -> why`` for those of ``alert_ids`` recorded ``unrouted`` (the latest
        version's reason)."""
        ...


def verdict(row: Delivery | None, now: datetime) -> Claim | None:
    """What a stored record says before any claim, or None when ``now`` may claim it."""
    if row is None:
        return None
    if row.status in ("sent", "superseded"):
        return Claim("duplicate" if row.status == "sent" else "superseded", row.attempts)
    if row.next_attempt_at is None:  # given up for good
        return Claim(row.status, row.attempts)
    if row.next_attempt_at > now:
        return Claim("pending", row.attempts, row.next_attempt_at)
    return None


def window_free_at(sent: Sequence[datetime], in_flight: int, limit: Window, now: datetime,
                   recheck: timedelta) -> datetime | None:
    """When a window holding ``sent`` (the send times inside it, oldest first) and
    ``in_flight`` unexpired claims has room again, or None if it has room now."""
    used = len(sent) + in_flight
    if used < limit.count:
        return None
    if used - limit.count >= len(sent):  # only sends in flight fill it: look again shortly
        return now + recheck
    # the slot frees when the oldest send that keeps the window full drops out of it
    return sent[used - limit.count] + timedelta(seconds=limit.seconds)


def _second(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: vocwatch stores only aware UTC times")
    return dt.astimezone(UTC).replace(microsecond=0)


# -- SQLite ------------------------------------------------------------------------------
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
_KEY = "alert_id = ? AND version = ? AND channel = ?"
_FIELDS = "alert_id, version, channel, status, attempts, last_error, next_attempt_at, sent_at, updated_at"
"""The columns of a :class:`Delivery`, in its order."""


class SQLiteDeliveries:
    """``alert_deliveries`` in the store's SQLite file, on the store's connection under its
    lock (so no other thread's statement lands inside a claim's transaction); a claim is
    one ``BEGIN IMMEDIATE`` transaction, so processes sharing the file take turns."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with lock:
            db.executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def claim(self, key: DeliveryKey, now: datetime, *, rate_limit: Window | None, lease: timedelta,
              recheck: timedelta) -> Claim:
        now = _second(now)
        with self._transaction() as db:
            row = db.execute(f"SELECT {_FIELDS} FROM alert_deliveries WHERE {_KEY}", key).fetchone()
            old = _sqlite_delivery(row) if row else None
            if (said := verdict(old, now)) is not None:
                return said
            attempts = old.attempts if old else 0
            db.execute("UPDATE alert_deliveries SET status = 'superseded', next_attempt_at = NULL, updated_at = ? "
                       "WHERE alert_id = ? AND channel = ? AND version < ? AND status IN (?, ?, ?)",
                       (to_db_time(now), key.alert_id, key.channel, key.version, *RETRYABLE))
            if rate_limit is not None and (free_at := self._free_at(db, key.channel, rate_limit, now, recheck)):
                _upsert(db, key, "rate_limited", attempts, None, free_at, None, now)
                return Claim("rate_limited", attempts, free_at)
            _upsert(db, key, "sending", attempts + 1, None, now + lease, None, now)
            return Claim("claimed", attempts + 1, now + lease)

    @staticmethod
    def _free_at(db: sqlite3.Connection, channel: str, limit: Window, now: datetime,
                 recheck: timedelta) -> datetime | None:
        since = to_db_time(now - timedelta(seconds=limit.seconds))
        sent = [from_db_time(r[0]) for r in db.execute(
            "SELECT sent_at FROM alert_deliveries WHERE channel = ? AND status = 'sent' AND sent_at > ? "
            "ORDER BY sent_at", (channel, since))]
        in_flight = db.execute("SELECT COUNT(*) FROM alert_deliveries WHERE channel = ? AND status = 'sending' "
                               "AND next_attempt_at > ?", (channel, to_db_time(now))).fetchone()[0]
        return window_free_at(sent, in_flight, limit, now, recheck)  # type: ignore[arg-type]

    def record(self, key: DeliveryKey, status: str, *, attempts: int, now: datetime, error: str | None = None,
               next_attempt_at: datetime | None = None, sent_at: datetime | None = None) -> None:
        with self._lock:
            _upsert(self._db, key, status, attempts, error, next_attempt_at, sent_at, _second(now))

    def due(self, now: datetime) -> list[DeliveryKey]:
        with self._lock:
            rows = self._db.execute(
                "SELECT alert_id, version, channel FROM alert_deliveries WHERE status IN (?, ?, ?) "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, alert_id, version, channel",
                (*RETRYABLE, to_db_time(_second(now)))).fetchall()
        return [DeliveryKey(*r) for r in rows]

    def give_up(self, key: DeliveryKey, why: str, now: datetime) -> None:
        with self._lock:
            self._db.execute(f"UPDATE alert_deliveries SET next_attempt_at = NULL, last_error = ?, updated_at = ? "
                             f"WHERE {_KEY}", (why, to_db_time(_second(now)), *key))

    def supersede(self, key: DeliveryKey, now: datetime) -> None:
        with self._lock:
            self._db.execute(f"UPDATE alert_deliveries SET status = 'superseded', next_attempt_at = NULL, "
                             f"updated_at = ? WHERE {_KEY}", (to_db_time(_second(now)), *key))

    def list(self) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_FIELDS} FROM alert_deliveries ORDER BY updated_at DESC, alert_id, channel").fetchall()
        return [_sqlite_delivery(r) for r in rows]

    def unrouted(self, alert_ids: Sequence[str]) -> dict[str, str]:
        ids = list(alert_ids)
        if not ids:
            return {}
        with self._lock:
            rows = self._db.execute(
                f"SELECT alert_id, last_error FROM alert_deliveries WHERE status = ? AND "
                f"alert_id IN ({', '.join('?' * len(ids))}) ORDER BY version", [UNROUTED, *ids]).fetchall()
        return {alert_id: error for alert_id, error in rows}


def _upsert(db: sqlite3.Connection, key: DeliveryKey, status: str, attempts: int, error: str | None,
            next_attempt_at: datetime | None, sent_at: datetime | None, now: datetime) -> None:
    db.execute(
        "INSERT INTO alert_deliveries (alert_id, version, channel, status, attempts, last_error, next_attempt_at, "
        "sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id, version, channel) DO UPDATE "
        "SET status = excluded.status, attempts = excluded.attempts, last_error = excluded.last_error, "
        "next_attempt_at = excluded.next_attempt_at, sent_at = excluded.sent_at, updated_at = excluded.updated_at",
        (*key, status, attempts, error, to_db_time(next_attempt_at), to_db_time(sent_at), to_db_time(now)))


def _sqlite_delivery(r: Sequence[Any]) -> Delivery:
    alert_id, version, channel, status, attempts, error, next_at, sent_at, updated_at = tuple(r)
    return Delivery(alert_id, version, channel, status, attempts, error, from_db_time(next_at),
                    from_db_time(sent_at), from_db_time(updated_at))  # type: ignore[arg-type]


# -- MongoDB -----------------------------------------------------------------------------
class MongoDeliveries:
    """``alert_deliveries`` (one document per delivery, ``_id`` the key) and
    ``delivery_windows`` (one document per rate-limited channel: its slots) in the store's
    MongoDB database, with single-document atomic operations instead of transactions.

    A claim is two compare-and-set steps: the delivery document (``find_one_and_update``
    whose filter holds the ``rev`` that was read, so of two processes claiming one key one
    wins and the other re-reads it as ``pending``), then, for a rate-limited channel, the
    channel's window document (an ``update_one`` on its ``rev``: a slot list rewritten only
    if nobody changed it since it was read, else read again). So exactly one of two
    processes racing for a channel's last slot gets it, as on SQLite.

    Where this is weaker than SQLite's one transaction: the delivery and its slot are two
    documents. A process dying between the two writes of a claim leaves the delivery
    ``sending`` until its lease ends (then retried; nothing was sent); one dying between
    marking its slot sent and recording the delivery ``sent`` re-sends it after the lease
    (at-least-once, as on SQLite when a process dies between the send and its record), and
    the window counts both sends. The window counts the sends claimed through
    :meth:`claim` (the only way ``monitor.delivery`` sends); a window made longer in the
    config only counts the sends still listed (slots older than the window used at each
    claim are dropped).
    """

    def __init__(self, db: Any) -> None:
        self._rows, self._windows = db["alert_deliveries"], db["delivery_windows"]
        self._rows.create_index([("status", 1), ("next_attempt_at", 1)])
        self._rows.create_index([("alert_id", 1), ("channel", 1), ("version", 1)])

    def claim(self, key: DeliveryKey, now: datetime, *, rate_limit: Window | None, lease: timedelta,
              recheck: timedelta) -> Claim:
        from pymongo.errors import DuplicateKeyError

        now = _second(now)
        while True:
            doc = self._rows.find_one({"_id": _mongo_id(key)})
            old = _mongo_delivery(doc) if doc else None
            if (said := verdict(old, now)) is not None:
                return said
            attempts = old.attempts if old else 0
            claimed = _mongo_fields(key, "sending", attempts + 1, None, now + lease, None, now)
            if doc is None:
                try:
                    self._rows.insert_one({"_id": _mongo_id(key), "rev": 1, **claimed})
                    break
                except DuplicateKeyError:
                    continue  # another process inserted it first: read what it did
            if self._rows.find_one_and_update({"_id": _mongo_id(key), "rev": doc.get("rev")},
                                              {"$set": claimed, "$inc": {"rev": 1}}) is not None:
                break
        self._rows.update_many(
            {"alert_id": key.alert_id, "channel": key.channel, "version": {"$lt": key.version},
             "status": {"$in": list(RETRYABLE)}},
            {"$set": {"status": "superseded", "next_attempt_at": None, "updated_at": now}, "$inc": {"rev": 1}})
        if rate_limit is not None and (free_at := self._take_slot(key, rate_limit, now, lease, recheck)):
            self._write(key, _mongo_fields(key, "rate_limited", attempts, None, free_at, None, now))
            return Claim("rate_limited", attempts, free_at)
        return Claim("claimed", attempts + 1, now + lease)

    def _take_slot(self, key: DeliveryKey, limit: Window, now: datetime, lease: timedelta,
                   recheck: timedelta) -> datetime | None:
        """A slot of the channel's window for ``key`` (None), or when the window has room."""
        from pymongo.errors import DuplicateKeyError

        since = now - timedelta(seconds=limit.seconds)
        mine = _slot_id(key)
        while True:
            doc = self._windows.find_one({"_id": key.channel})
            slots = []
            for s in (doc or {}).get("slots", []):
                sent = _aware(s.get("sent"))
                if sent is None and (s["k"] == mine or (s["a"] == key.alert_id and s["v"] < key.version)):
                    continue  # an earlier claim of this delivery, or of a version now superseded
                if (sent > since) if sent is not None else (_aware(s["lease"]) > now):
                    slots.append(s)
            sent_times = sorted(_aware(s["sent"]) for s in slots if s.get("sent") is not None)
            if (free_at := window_free_at(sent_times, len(slots) - len(sent_times), limit, now, recheck)):
                return free_at
            slots.append({"k": mine, "a": key.alert_id, "v": key.version, "lease": now + lease, "sent": None})
            if doc is None:
                try:
                    self._windows.insert_one({"_id": key.channel, "rev": 1, "slots": slots})
                    return None
                except DuplicateKeyError:
                    continue
            if self._windows.update_one({"_id": key.channel, "rev": doc["rev"]},
                                        {"$set": {"slots": slots}, "$inc": {"rev": 1}}).matched_count:
                return None

    def record(self, key: DeliveryKey, status: str, *, attempts: int, now: datetime, error: str | None = None,
               next_attempt_at: datetime | None = None, sent_at: datetime | None = None) -> None:
        now = _second(now)
        sent_at = _second(sent_at) if sent_at is not None else None
        claimed = {"_id": key.channel, "slots": {"$elemMatch": {"k": _slot_id(key), "sent": None}}}
        if status == "sent":  # the slot first: a crash before the record below re-sends, counted
            self._windows.update_one(claimed, {"$set": {"slots.$.sent": sent_at}, "$inc": {"rev": 1}})
        elif status != "sending":
            self._windows.update_one(claimed, {"$pull": {"slots": {"k": _slot_id(key), "sent": None}},
                                               "$inc": {"rev": 1}})
        self._write(key, _mongo_fields(key, status, attempts, error, next_attempt_at, sent_at, now))

    def _write(self, key: DeliveryKey, fields: dict[str, Any]) -> None:
        self._rows.update_one({"_id": _mongo_id(key)}, {"$set": fields, "$inc": {"rev": 1}}, upsert=True)

    def due(self, now: datetime) -> list[DeliveryKey]:
        docs = self._rows.find({"status": {"$in": list(RETRYABLE)}, "next_attempt_at": {"$lte": _second(now)}},
                               {"alert_id": 1, "version": 1, "channel": 1}).sort(
            [("next_attempt_at", 1), ("alert_id", 1), ("version", 1), ("channel", 1)])
        return [DeliveryKey(d["alert_id"], d["version"], d["channel"]) for d in docs]

    def give_up(self, key: DeliveryKey, why: str, now: datetime) -> None:
        self._rows.update_one({"_id": _mongo_id(key)}, {"$set": {"next_attempt_at": None, "last_error": why,
                                                                 "updated_at": _second(now)}, "$inc": {"rev": 1}})

    def supersede(self, key: DeliveryKey, now: datetime) -> None:
        self._rows.update_one({"_id": _mongo_id(key)}, {"$set": {"status": "superseded", "next_attempt_at": None,
                                                                 "updated_at": _second(now)}, "$inc": {"rev": 1}})

    def list(self) -> list[Delivery]:
        return [_mongo_delivery(d) for d in self._rows.find().sort([("updated_at", -1), ("alert_id", 1),
                                                                         ("channel", 1)])]

    def unrouted(self, alert_ids: Sequence[str]) -> dict[str, str]:
        ids = list(alert_ids)
        if not ids:
            return {}
        docs = self._rows.find({"status": UNROUTED, "alert_id": {"$in": ids}}).sort("version", 1)
        return {d["alert_id"]: d.get("last_error") for d in docs}


def _mongo_id(key: DeliveryKey) -> dict[str, Any]:
    return {"a": key.alert_id, "v": key.version, "c": key.channel}  # always built here: field order matters


def _slot_id(key: DeliveryKey) -> str:
    return f"{key.version}:{key.alert_id}"


def _mongo_fields(key: DeliveryKey, status: str, attempts: int, error: str | None, next_attempt_at: datetime | None,
                  sent_at: datetime | None, now: datetime) -> dict[str, Any]:
    return {"alert_id": key.alert_id, "version": key.version, "channel": key.channel, "status": status,
            "attempts": attempts, "last_error": error,
            "next_attempt_at": _second(next_attempt_at) if next_attempt_at is not None else None,
            "sent_at": sent_at, "updated_at": now}


def _aware(dt: datetime | None) -> datetime | None:
    """pymongo (and mongomock) may hand back naive UTC datetimes."""
    return dt.replace(tzinfo=UTC) if isinstance(dt, datetime) and dt.tzinfo is None else dt


def _mongo_delivery(d: dict[str, Any]) -> Delivery:
    return Delivery(d["alert_id"], d["version"], d["channel"], d["status"], d.get("attempts", 0), d.get("last_error"),
                    _aware(d.get("next_attempt_at")), _aware(d.get("sent_at")), _aware(d["updated_at"]))  # type: ignore[arg-type]
