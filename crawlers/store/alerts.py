"""Alerts, their incidents' engagement snapshots, and the hourly series the detectors read:
the interfaces (:class:`AlertTable`, :class:`SnapshotTable`), their records, and both
implementations (SQLite over the store's file, MongoDB over the store's database).

An alert is one incident with a state that only moves forward (new -> notified ->
acknowledged -> resolved); :func:`moves_to` holds that rule for both backends, and a save
never moves a state back nor forgets a delivery (``notified_version`` only grows), so a
person acknowledging an alert while a check rewrites it keeps their acknowledgement.

The series are computed by the backend over the mentions (SQL ``GROUP BY`` with
``json_each`` over aspects; a Mongo ``$group``/``$unwind`` pipeline), both bucketing by
UTC hour as the text ``YYYY-MM-DDTHH`` (``substr`` / ``$dateToString``) and reading the
same half-open window at whole seconds (the SQLite store keeps seconds), so they return
the same records. The pipelines use only ``$match``, ``$unwind``, ``$group``, ``$project``,
``$sort`` and the expressions ``$dateToString``, ``$cond``, ``$eq``, ``$ne``, ``$ifNull``,
``$multiply`` and ``$add``: all in MongoDB since 3.x and all in mongomock, which the tests
run on (``$dateTrunc``, which the rollup uses, is not in mongomock; no Python fallback is
needed here).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from crawlers.store.sqlite import from_db_time, to_db_time

STATES = ("new", "notified", "acknowledged", "resolved")
OPEN_STATES = ("new", "notified")
"""States whose alert still waits for a delivery of its current version."""
_TRANSITIONS = {"new": {"notified", "acknowledged", "resolved"}, "notified": {"acknowledged", "resolved"},
                "acknowledged": {"resolved"}, "resolved": set()}


class AlertStoreError(ValueError):
    """An alert id or state is wrong, or a state change goes backwards."""


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


def check_state(state: str) -> None:
    if state not in STATES:
        raise AlertStoreError(f"unknown state {state!r}; one of {', '.join(STATES)}")


def moves_to(alert: Alert, state: str) -> bool:
    """Whether setting ``state`` changes ``alert`` (False: it already is); raises
    :class:`AlertStoreError` for an unknown state or a move backwards. The one rule of
    both backends' :meth:`AlertTable.set_state`."""
    check_state(state)
    if state == alert.state:
        return False
    if state not in _TRANSITIONS[alert.state]:
        raise AlertStoreError(f"alert {alert.id} is {alert.state}; it cannot become {state}")
    return True


def _no_alert(alert_id: str) -> AlertStoreError:
    return AlertStoreError(f"no alert with id {alert_id!r}")


def _seconds(dt: datetime) -> datetime:
    """``dt`` as stored: aware UTC, whole seconds (what SQLite's text keeps), so both
    backends compare and return the same instants."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: vocwatch stores only aware UTC times")
    return dt.astimezone(UTC).replace(microsecond=0)


def _aware(dt: Any) -> Any:
    return dt.replace(tzinfo=UTC) if isinstance(dt, datetime) and dt.tzinfo is None else dt


class AlertTable(Protocol):
    """The alerts of a store (``store.alerts``), one per incident."""

    def save(self, alert: Alert) -> None:
        """Insert or overwrite ``alert``, except that its stored state never moves back
        and its ``notified_version`` never shrinks."""
        ...

    def get(self, alert_id: str) -> Alert | None: ...

    def list(self, state: str | None = None, location_id: str | None = None, limit: int = 100,
             since: datetime | None = None) -> list[Alert]:
        """Newest activity first (``last_seen`` descending, then id); ``since``: only those
        seen at or after it."""
        ...

    def pending(self) -> list[Alert]:
        """Open alerts whose current version was never notified (e.g. a delivery failed),
        oldest first."""
        ...

    def set_state(self, alert_id: str, state: str) -> Alert:
        """A person acknowledges or resolves; the system marks notified. Moves only
        forward (:func:`moves_to`); the check and the write are one atomic step."""
        ...

    def move(self, alert_id: str, state: str) -> tuple[Alert, str]:
        """:meth:`set_state`, also returning the state it moved from (equal to the alert's
        state when nothing changed), so whoever moved it, and only they, records the move."""
        ...

    def mark_notified(self, alert_id: str, version: int) -> None:
        """Record that ``version`` was delivered; a new alert becomes notified."""
        ...

    def open_for(self, watch: str, since: datetime) -> Alert | None:
        """The latest incident of this watch seen since ``since`` (any state: a resolved
        one still holds back repeats during the cooldown)."""
        ...

    def resolve_quiet(self, before: datetime) -> list[Alert]:
        """Resolve open incidents not seen since ``before`` (the cooldown has passed);
        returns those this call resolved (with the state each had before in ``state``:
        the audit log records the move from it)."""
        ...

    def open_incident(self, alert: Alert, since: datetime) -> Alert | None:
        """The incident of ``alert``'s watch seen since ``since`` (as :meth:`open_for`), or
        None after saving ``alert`` as a new one: atomic, so of checks racing on one watch,
        in any processes on any machines, exactly one opens the incident."""
        ...


class EngagementSnapshot(NamedTuple):
    """A mention's likes + reposts + comments as one alert check saw them."""

    fingerprint: str
    engagement: int
    published_at: datetime
    taken_at: datetime


class SnapshotTable(Protocol):
    """The engagement snapshots of the last check (``store.snapshots``): what a viral
    post's growth is measured against."""

    def replace(self, snapshots: Iterable[EngagementSnapshot], *, prune_before: datetime) -> None:
        """Store these snapshots over any earlier ones of the same mentions, and drop
        those of mentions published before ``prune_before`` (out of the viral window)."""
        ...

    def previous(self) -> dict[str, int]:
        """``fingerprint -> engagement`` of every stored snapshot."""
        ...


# -- the series the detectors read ----------------------------------------------------------
class HourCounts(NamedTuple):
    """One location's mentions published in one UTC hour."""

    location_id: str | None
    hour: int
    """Whole UTC hours since the epoch (``monitor.detectors.hour_index``)."""
    mentions: int
    negative: int
    """Mentions labelled negative."""
    rated: int
    rating_sum: float
    rating_sq: float
    """Sum of squared ratings (with ``rated`` and ``rating_sum``: the hour's variance)."""


class AspectHour(NamedTuple):
    """Negative mentions of one aspect at one location in one UTC hour (a mention naming
    the aspect negatively twice counts twice, as its aspect entries do)."""

    location_id: str | None
    aspect: str
    hour: int
    negative: int


class ViralCandidate(NamedTuple):
    """A mention of the viral window and its engagement now."""

    fingerprint: str
    location_id: str | None
    brand: str | None
    published_at: datetime
    engagement: int
    """Likes + reposts + comments (missing ones count 0)."""


@lru_cache(maxsize=1 << 16)
def hour_of(text: str) -> int:
    """``YYYY-MM-DDTHH`` (a UTC hour as both backends bucket it) -> whole hours since the epoch."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp() // 3600)


# -- SQLite ------------------------------------------------------------------------------
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
_COLS = ("id", "watch", "kind", "severity", "state", "location_id", "brand", "region", "aspect", "title", "summary",
         "details", "mentions", "first_seen", "last_seen", "version", "notified_version")
_RANK_SQL = "CASE {} " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATES)) + " END"
_SAVE_SQL = (
    f"INSERT INTO alerts ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLS if c not in ("id", "state", "notified_version"))
    + f", state = CASE WHEN {_RANK_SQL.format('alerts.state')} > {_RANK_SQL.format('excluded.state')} "
      "THEN alerts.state ELSE excluded.state END"
    + ", notified_version = MAX(alerts.notified_version, excluded.notified_version)"
)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) under the store's lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


class SQLiteAlerts:
    """The ``alerts`` table in the store's SQLite file, over the store's own connection
    and lock (so a check-then-write never interleaves with another thread's use of it)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with lock:
            db.executescript(_SCHEMA)

    def save(self, alert: Alert) -> None:
        row = _row(alert)
        with self._lock:
            self._db.execute(_SAVE_SQL, [row[c] for c in _COLS])

    def get(self, alert_id: str) -> Alert | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert(row) if row else None

    def list(self, state: str | None = None, location_id: str | None = None, limit: int = 100,
             since: datetime | None = None) -> list[Alert]:
        where, args = [], []
        if state is not None:
            check_state(state)
            where.append("state = ?")
            args.append(state)
        if location_id is not None:
            where.append("location_id = ?")
            args.append(location_id)
        if since is not None:
            where.append("last_seen >= ?")
            args.append(to_db_time(since))
        sql = f"SELECT {', '.join(_COLS)} FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY last_seen DESC, id LIMIT ?", [*args, limit]).fetchall()
        return [_alert(r) for r in rows]

    def pending(self) -> list[Alert]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE state IN ('new', 'notified') "
                                    "AND version > notified_version ORDER BY first_seen, id").fetchall()
        return [_alert(r) for r in rows]

    def set_state(self, alert_id: str, state: str) -> Alert:
        return self.move(alert_id, state)[0]

    def move(self, alert_id: str, state: str) -> tuple[Alert, str]:
        check_state(state)
        with _Transaction(self._db, self._lock) as db:
            row = db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                raise _no_alert(alert_id)
            alert = _alert(row)
            before = alert.state
            if moves_to(alert, state):
                db.execute("UPDATE alerts SET state = ? WHERE id = ?", (state, alert_id))
                alert.state = state
        return alert, before

    def mark_notified(self, alert_id: str, version: int) -> None:
        with self._lock:
            cur = self._db.execute(
                "UPDATE alerts SET notified_version = MAX(notified_version, ?), "
                "state = CASE state WHEN 'new' THEN 'notified' ELSE state END WHERE id = ?", (version, alert_id))
        if not cur.rowcount:
            raise _no_alert(alert_id)

    def open_for(self, watch: str, since: datetime) -> Alert | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE watch = ? AND last_seen >= ? "
                                   "ORDER BY last_seen DESC, id LIMIT 1", (watch, to_db_time(since))).fetchone()
        return _alert(row) if row else None

    def resolve_quiet(self, before: datetime) -> list[Alert]:
        with _Transaction(self._db, self._lock) as db:  # the read and the write see the same rows
            rows = db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE state != 'resolved' AND last_seen < ? "
                              "ORDER BY first_seen, id", (to_db_time(before),)).fetchall()
            db.execute("UPDATE alerts SET state = 'resolved' WHERE state != 'resolved' AND last_seen < ?",
                       (to_db_time(before),))
        return [_alert(r) for r in rows]

    def open_incident(self, alert: Alert, since: datetime) -> Alert | None:
        row = _row(alert)
        with _Transaction(self._db, self._lock) as db:  # the file's write lock: other processes wait
            old = db.execute(f"SELECT {', '.join(_COLS)} FROM alerts WHERE watch = ? AND last_seen >= ? "
                             "ORDER BY last_seen DESC, id LIMIT 1", (alert.watch, to_db_time(since))).fetchone()
            if old is None:
                db.execute(_SAVE_SQL, [row[c] for c in _COLS])
        return _alert(old) if old else None


def _row(a: Alert) -> dict[str, Any]:
    d = asdict(a)
    d["watch"] = a.watch
    d["details"] = json.dumps(a.details, ensure_ascii=False, sort_keys=True)
    d["mentions"] = json.dumps(a.mentions, ensure_ascii=False)
    d["first_seen"], d["last_seen"] = to_db_time(a.first_seen), to_db_time(a.last_seen)
    return d


def _alert(r: Sequence[Any]) -> Alert:
    d = dict(zip(_COLS, r, strict=True))
    d.pop("watch")
    d["details"], d["mentions"] = json.loads(d["details"]), json.loads(d["mentions"])
    d["first_seen"], d["last_seen"] = from_db_time(d["first_seen"]), from_db_time(d["last_seen"])
    return Alert(**d)


class SQLiteSnapshots:
    """The ``engagement_snapshots`` table, over the store's connection and lock; a replace
    is one transaction."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with lock:
            db.executescript(_SCHEMA)

    def replace(self, snapshots: Iterable[EngagementSnapshot], *, prune_before: datetime) -> None:
        rows = [(s.fingerprint, int(s.engagement), _db_text(s.taken_at), _db_text(s.published_at))
                for s in snapshots]
        with _Transaction(self._db, self._lock) as db:
            db.executemany("INSERT OR REPLACE INTO engagement_snapshots (fingerprint, engagement, taken_at, "
                           "published_at) VALUES (?, ?, ?, ?)", rows)
            db.execute("DELETE FROM engagement_snapshots WHERE published_at < ?", (to_db_time(prune_before),))

    def previous(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT fingerprint, engagement FROM engagement_snapshots").fetchall())


_EPOCH_HOUR = "CAST(strftime('%s', substr(m.published_at, 1, 13) || ':00:00') AS INTEGER) / 3600"
"""A stored time's whole UTC hours since the epoch (evaluated once per hour group)."""


def _db_text(dt: datetime) -> str:
    """:func:`to_db_time`'s text by ``isoformat`` (C), for the snapshot rows of every check."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: vocwatch stores only aware UTC times")
    return dt.astimezone(UTC).isoformat(timespec="seconds")[:19] + "Z"


def _location_sql(location_ids: Iterable[str] | None) -> tuple[str, list[str]]:
    if location_ids is None:
        return "", []
    ids = list(location_ids)
    return f" AND m.location_id IN ({', '.join('?' * len(ids))})", ids


def sqlite_hour_counts(db: sqlite3.Connection, since: datetime, until: datetime,
                       location_ids: Iterable[str] | None) -> list[HourCounts]:
    """:meth:`SQLiteStore.hour_counts`: one ``GROUP BY`` over ``mentions``."""
    loc_sql, ids = _location_sql(location_ids)
    rows = db.execute(
        f"SELECT m.location_id, {_EPOCH_HOUR}, COUNT(*), COALESCE(SUM(m.sentiment_label = 'negative'), 0), "
        "COUNT(m.rating), TOTAL(m.rating), TOTAL(m.rating * m.rating) FROM mentions AS m "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql} GROUP BY 1, substr(m.published_at, 1, 13) "
        "ORDER BY 1, 2", [to_db_time(since), to_db_time(until), *ids]).fetchall()
    return list(map(HourCounts._make, rows))


def sqlite_aspect_hours(db: sqlite3.Connection, since: datetime, until: datetime,
                        location_ids: Iterable[str] | None) -> list[AspectHour]:
    """:meth:`SQLiteStore.negative_aspect_hours`: ``json_each`` over the aspects, one ``GROUP BY``."""
    loc_sql, ids = _location_sql(location_ids)
    rows = db.execute(
        f"SELECT m.location_id, json_extract(a.value, '$.aspect'), {_EPOCH_HOUR}, COUNT(*) "
        "FROM mentions AS m, json_each(m.aspects) AS a "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql} "
        "AND json_extract(a.value, '$.sentiment') = 'negative' AND json_extract(a.value, '$.aspect') != '' "
        "GROUP BY 1, 2, substr(m.published_at, 1, 13) ORDER BY 1, 2, 3",
        [to_db_time(since), to_db_time(until), *ids]).fetchall()
    return list(map(AspectHour._make, rows))


def sqlite_viral_candidates(db: sqlite3.Connection, since: datetime, until: datetime,
                            location_ids: Iterable[str] | None) -> list[ViralCandidate]:
    """:meth:`SQLiteStore.viral_candidates`."""
    loc_sql, ids = _location_sql(location_ids)
    rows = db.execute(
        "SELECT m.fingerprint, m.location_id, m.brand, m.published_at, "
        "COALESCE(m.likes, 0) + COALESCE(m.reposts, 0) + COALESCE(m.comments, 0) FROM mentions AS m "
        f"WHERE m.published_at >= ? AND m.published_at < ?{loc_sql} ORDER BY m.fingerprint",
        [to_db_time(since), to_db_time(until), *ids]).fetchall()
    # fromisoformat (C) reads the stored "...Z" text ~20x faster than strptime: thousands of rows per check
    return [ViralCandidate(fp, loc, brand, datetime.fromisoformat(published), eng)
            for fp, loc, brand, published, eng in rows]


# -- MongoDB -------------------------------------------------------------------------------
class MongoAlerts:
    """The ``alerts`` collection (``_id`` the alert id, ``watch`` stored beside the fields).

    Every write is one atomic single-document operation with its condition in the filter;
    :meth:`set_state` re-reads and retries when the state moved between its read and its
    write. One incident per watch is held by ``alert_watches`` (``_id`` the watch, the
    latest incident's id and ``last_seen``): :meth:`open_incident` claims it with a
    conditional update or a unique insert. Weaker than SQLite in two places, each
    harmless: :meth:`save` of an existing alert may be two conditional updates (each
    atomic), and an incident that lost the race to open is visible for the moment between
    its insert and its removal."""

    def __init__(self, db: Any) -> None:
        self._col, self._watches = db["alerts"], db["alert_watches"]
        self._col.create_index([("watch", 1), ("last_seen", -1)])
        self._col.create_index([("state", 1), ("last_seen", -1)])

    def save(self, alert: Alert) -> None:
        doc = _doc(alert)
        doc.pop("_id")  # in the filter; never $set (an immutable field on a server)
        notified = {"notified_version": doc.pop("notified_version")}
        at_or_before = list(STATES[: STATES.index(alert.state) + 1])
        # the watch follows its incident's last sighting (when this is its incident)
        self._watches.update_one({"_id": doc["watch"], "alert_id": alert.id}, {"$max": {"last_seen": doc["last_seen"]}})
        if self._col.update_one({"_id": alert.id, "state": {"$in": at_or_before}},
                                {"$set": doc, "$max": notified}).matched_count:
            return
        # new, or its stored state is already further on: keep that state
        state = doc.pop("state")
        self._col.update_one({"_id": alert.id}, {"$set": doc, "$max": notified, "$setOnInsert": {"state": state}},
                             upsert=True)

    def get(self, alert_id: str) -> Alert | None:
        doc = self._col.find_one({"_id": alert_id})
        return _from_doc(doc) if doc else None

    def list(self, state: str | None = None, location_id: str | None = None, limit: int = 100,
             since: datetime | None = None) -> list[Alert]:
        q: dict[str, Any] = {}
        if state is not None:
            check_state(state)
            q["state"] = state
        if location_id is not None:
            q["location_id"] = location_id
        if since is not None:
            q["last_seen"] = {"$gte": _seconds(since)}
        return [_from_doc(d) for d in self._col.find(q).sort([("last_seen", -1), ("_id", 1)]).limit(limit)]

    def pending(self) -> list[Alert]:
        q = {"state": {"$in": list(OPEN_STATES)}, "$expr": {"$gt": ["$version", "$notified_version"]}}
        return [_from_doc(d) for d in self._col.find(q).sort([("first_seen", 1), ("_id", 1)])]

    def set_state(self, alert_id: str, state: str) -> Alert:
        return self.move(alert_id, state)[0]

    def move(self, alert_id: str, state: str) -> tuple[Alert, str]:
        check_state(state)
        while True:  # at most len(STATES) rounds: each retry means the state moved forward
            alert = self.get(alert_id)
            if alert is None:
                raise _no_alert(alert_id)
            before = alert.state
            if not moves_to(alert, state):
                return alert, before
            if self._col.update_one({"_id": alert_id, "state": before}, {"$set": {"state": state}}).matched_count:
                alert.state = state
                return alert, before

    def mark_notified(self, alert_id: str, version: int) -> None:
        if not self._col.update_one({"_id": alert_id}, {"$max": {"notified_version": version}}).matched_count:
            raise _no_alert(alert_id)
        self._col.update_one({"_id": alert_id, "state": "new"}, {"$set": {"state": "notified"}})

    def open_for(self, watch: str, since: datetime) -> Alert | None:
        doc = self._col.find_one({"watch": watch, "last_seen": {"$gte": _seconds(since)}},
                                 sort=[("last_seen", -1), ("_id", 1)])
        return _from_doc(doc) if doc else None

    def open_incident(self, alert: Alert, since: datetime) -> Alert | None:
        from pymongo.errors import DuplicateKeyError

        old = self.open_for(alert.watch, since)
        if old is not None:
            return old
        self.save(alert)  # before its claim: whoever loses the claim finds the winner's alert
        claim = {"alert_id": alert.id, "last_seen": _seconds(alert.last_seen)}
        if self._watches.update_one({"_id": alert.watch, "last_seen": {"$lt": _seconds(since)}},
                                    {"$set": claim}).matched_count:
            return None  # the watch's last incident is past its cooldown: this one follows it
        try:
            self._watches.insert_one({"_id": alert.watch, **claim})
            return None  # the watch's first incident
        except DuplicateKeyError:
            pass
        holder = self._watches.find_one({"_id": alert.watch})
        if holder["alert_id"] != alert.id:  # same id: the same check twice, the alert is that one
            self._col.delete_one({"_id": alert.id})
        return self.get(holder["alert_id"])

    def resolve_quiet(self, before: datetime) -> list[Alert]:
        quiet = {"state": {"$ne": "resolved"}, "last_seen": {"$lt": _seconds(before)}}
        out = []
        for doc in self._col.find(quiet).sort([("first_seen", 1), ("_id", 1)]):
            # one conditional update each: the alert is ours only if nobody moved or saw it meanwhile
            if self._col.update_one({**quiet, "_id": doc["_id"], "state": doc["state"]},
                                    {"$set": {"state": "resolved"}}).modified_count:
                out.append(_from_doc(doc))
        return out


def _plain(value: Any) -> Any:
    """What SQLite's JSON column gives back (tuples as lists, keys as text), so details
    and mentions read the same from both backends."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _doc(a: Alert) -> dict[str, Any]:
    d = asdict(a)
    d["_id"] = d.pop("id")
    d["watch"] = a.watch
    d["details"], d["mentions"] = _plain(a.details), _plain(a.mentions)
    d["first_seen"], d["last_seen"] = _seconds(a.first_seen), _seconds(a.last_seen)
    return d


def _from_doc(doc: dict[str, Any]) -> Alert:
    d = {k: v for k, v in doc.items() if k not in ("_id", "watch")}
    d["first_seen"], d["last_seen"] = _aware(d["first_seen"]), _aware(d["last_seen"])
    return Alert(id=doc["_id"], **d)


class MongoSnapshots:
    """The ``engagement_snapshots`` collection (``_id`` the mention's fingerprint). A replace
    is one unordered bulk of upserts then one delete: each document's write is atomic, the
    whole is not (a reader in between sees some snapshots of this check and some of the
    last; the next check overwrites them either way)."""

    def __init__(self, db: Any) -> None:
        self._col = db["engagement_snapshots"]
        self._col.create_index("published_at")

    def replace(self, snapshots: Iterable[EngagementSnapshot], *, prune_before: datetime) -> None:
        from pymongo import UpdateOne

        ops = [UpdateOne({"_id": s.fingerprint}, {"$set": {"engagement": int(s.engagement),
                                                           "taken_at": _seconds(s.taken_at),
                                                           "published_at": _seconds(s.published_at)}}, upsert=True)
               for s in snapshots]
        if ops:
            self._col.bulk_write(ops, ordered=False)
        self._col.delete_many({"published_at": {"$lt": _seconds(prune_before)}})

    def previous(self) -> dict[str, int]:
        return {d["_id"]: int(d["engagement"]) for d in self._col.find({}, {"engagement": 1})}


_HOUR = {"$dateToString": {"format": "%Y-%m-%dT%H", "date": "$published_at"}}
"""The UTC hour of a mention as text, as SQLite's ``substr(published_at, 1, 13)``."""


def _window(since: datetime, until: datetime, location_ids: Iterable[str] | None) -> dict[str, Any]:
    match: dict[str, Any] = {"published_at": {"$gte": _seconds(since), "$lt": _seconds(until)}}
    if location_ids is not None:
        match["location_id"] = {"$in": list(location_ids)}
    return {"$match": match}


def _count_if(cond: Any) -> dict[str, Any]:
    return {"$sum": {"$cond": [cond, 1, 0]}}


def hour_counts_pipeline(since: datetime, until: datetime, location_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    """The ``$group`` behind :meth:`MongoStore.hour_counts`."""
    rating = {"$ifNull": ["$rating", 0]}
    return [_window(since, until, location_ids),
            {"$group": {"_id": {"l": "$location_id", "h": _HOUR}, "mentions": {"$sum": 1},
                        "negative": _count_if({"$eq": ["$sentiment_label", "negative"]}),
                        "rated": _count_if({"$ne": [{"$ifNull": ["$rating", None]}, None]}),
                        "rating_sum": {"$sum": rating}, "rating_sq": {"$sum": {"$multiply": [rating, rating]}}}},
            {"$sort": {"_id.l": 1, "_id.h": 1}}]


def aspect_hours_pipeline(since: datetime, until: datetime, location_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    """The ``$unwind`` + ``$group`` behind :meth:`MongoStore.negative_aspect_hours`."""
    return [_window(since, until, location_ids), {"$unwind": "$aspects"},
            {"$match": {"aspects.sentiment": "negative", "aspects.aspect": {"$nin": [None, ""]}}},
            {"$group": {"_id": {"l": "$location_id", "a": "$aspects.aspect", "h": _HOUR}, "n": {"$sum": 1}}},
            {"$sort": {"_id.l": 1, "_id.a": 1, "_id.h": 1}}]


def viral_pipeline(since: datetime, until: datetime, location_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    """The ``$project`` behind :meth:`MongoStore.viral_candidates`."""
    return [_window(since, until, location_ids),
            {"$project": {"location_id": 1, "brand": 1, "published_at": 1, "engagement": {"$add": [
                {"$ifNull": ["$likes", 0]}, {"$ifNull": ["$reposts", 0]}, {"$ifNull": ["$comments", 0]}]}}},
            {"$sort": {"_id": 1}}]


def mongo_hour_counts(mentions: Any, since: datetime, until: datetime,
                      location_ids: Iterable[str] | None) -> list[HourCounts]:
    return [HourCounts(d["_id"].get("l"), hour_of(d["_id"]["h"]), d["mentions"], d["negative"], d["rated"],
                       float(d["rating_sum"]), float(d["rating_sq"]))
            for d in mentions.aggregate(hour_counts_pipeline(since, until, location_ids), allowDiskUse=True)]


def mongo_aspect_hours(mentions: Any, since: datetime, until: datetime,
                       location_ids: Iterable[str] | None) -> list[AspectHour]:
    return [AspectHour(d["_id"].get("l"), d["_id"]["a"], hour_of(d["_id"]["h"]), d["n"])
            for d in mentions.aggregate(aspect_hours_pipeline(since, until, location_ids), allowDiskUse=True)]


def mongo_viral_candidates(mentions: Any, since: datetime, until: datetime,
                           location_ids: Iterable[str] | None) -> list[ViralCandidate]:
    return [ViralCandidate(d["_id"], d.get("location_id"), d.get("brand"), _seconds(_aware(d["published_at"])),
                           int(d["engagement"]))
            for d in mentions.aggregate(viral_pipeline(since, until, location_ids), allowDiskUse=True)]
