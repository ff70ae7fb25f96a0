"""Schedule state: per crawl job, its schedule text and next run time (UTC), so that a
restarted scheduler neither loses a due run nor doubles a job (``monitor/scheduler.py``).

Writes carry an optional *fence*: the fencing token of the scheduler leader lock (the
``leader`` lane's ``P:leader:fence`` counter). A row written with fence N is never
overwritten by a write with a lower fence, so a deposed leader that has not yet noticed it
lost the lock cannot move next-run times backwards. ``fence=None`` is the single-machine
mode: the write always lands and leaves the row's fence as it was (the stored fence only
ever grows, so a later fenced writer still sees the highest token).

Start-up writes every job at once (120,000 at chain scale): :meth:`ScheduleTable.save_many`
is one transaction (SQLite) or one unordered bulk write (MongoDB), not one commit per job.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol


class ScheduleEntry(NamedTuple):
    """One job's persisted state (a tuple: ``schedule, next_run = entry[:2]`` works)."""

    schedule: str
    next_run: datetime | None
    """Aware UTC; None: the job has no next run."""
    fence: int | None = None
    """The highest fencing token this row was written with (None: never fenced)."""


ScheduleRow = tuple[str, str, datetime | None]
"""``(job_id, schedule, next_run)``, what :meth:`ScheduleTable.save_many` takes."""


class ScheduleTable(Protocol):
    """The ``schedule_state`` table, reached as ``store.schedule_state``."""

    def load(self) -> dict[str, ScheduleEntry]:
        """Every job's state, by job id."""
        ...

    def save(self, job_id: str, schedule: str, next_run: datetime | None, *, fence: int | None = None) -> bool:
        """Write one job's state; False (and nothing written) when the row was written
        with a higher fence than ``fence``."""
        ...

    def save_many(self, rows: Iterable[ScheduleRow], *, fence: int | None = None) -> int:
        """Write many jobs' states in one transaction / bulk operation; returns how many
        were written (rows written with a higher fence are left as they are)."""
        ...

    def keep_only(self, job_ids: Iterable[str], *, fence: int | None = None) -> int:
        """Forget the jobs not in ``job_ids`` (no longer configured), except rows written
        with a higher fence than ``fence``; returns how many were removed."""
        ...


def _iso(dt: datetime | None) -> str | None:
    """Full precision (microseconds: APScheduler's jittered times), UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: schedule state holds only aware times")
    return dt.astimezone(UTC).isoformat()


_SCHEMA = """CREATE TABLE IF NOT EXISTS schedule_state
             (job_id TEXT PRIMARY KEY, schedule TEXT NOT NULL, next_run_at TEXT, fence INTEGER)"""
_UPSERT = """INSERT INTO schedule_state (job_id, schedule, next_run_at, fence) VALUES (?, ?, ?, ?)
             ON CONFLICT (job_id) DO UPDATE SET schedule = excluded.schedule, next_run_at = excluded.next_run_at,
                 fence = COALESCE(excluded.fence, schedule_state.fence)
             WHERE excluded.fence IS NULL OR schedule_state.fence IS NULL OR schedule_state.fence <= excluded.fence"""


class SQLiteScheduleState:
    """Over the store's own connection and lock (``crawlers.store.sqlite``): one upsert
    statement per row, its fence check in the statement's ``WHERE``, so a check-then-write
    is atomic without a transaction; :meth:`save_many` is one ``BEGIN IMMEDIATE``."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with self._lock:
            self._db.execute(_SCHEMA)
            have = {r[1] for r in self._db.execute("PRAGMA table_info(schedule_state)")}
            if "fence" not in have:  # a table from before the fence
                self._db.execute("ALTER TABLE schedule_state ADD COLUMN fence INTEGER")

    def load(self) -> dict[str, ScheduleEntry]:
        with self._lock:
            rows = self._db.execute("SELECT job_id, schedule, next_run_at, fence FROM schedule_state").fetchall()
        return {r[0]: ScheduleEntry(r[1], datetime.fromisoformat(r[2]) if r[2] else None, r[3]) for r in rows}

    def save(self, job_id: str, schedule: str, next_run: datetime | None, *, fence: int | None = None) -> bool:
        with self._lock:
            return self._db.execute(_UPSERT, (job_id, schedule, _iso(next_run), fence)).rowcount > 0

    def save_many(self, rows: Iterable[ScheduleRow], *, fence: int | None = None) -> int:
        args = [(job_id, schedule, _iso(next_run), fence) for job_id, schedule, next_run in rows]
        if not args:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                written = self._db.executemany(_UPSERT, args).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return written

    def keep_only(self, job_ids: Iterable[str], *, fence: int | None = None) -> int:
        keep = set(job_ids)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute("SELECT job_id, fence FROM schedule_state").fetchall()
                gone = [(r[0],) for r in rows
                        if r[0] not in keep and (fence is None or r[1] is None or r[1] <= fence)]
                self._db.executemany("DELETE FROM schedule_state WHERE job_id = ?", gone)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(gone)


class MongoScheduleState:
    """The ``schedule_state`` collection, one document per job (``_id`` = job id). A fenced
    write is one upsert whose filter holds the fence condition: when a higher fence holds
    the row the filter misses, the upsert's insert collides on ``_id`` and is refused
    (E11000) — atomic per document, as SQLite's statement. Weaker than SQLite: a
    :meth:`save_many` is not all-or-nothing (an unordered bulk write: a connection lost
    midway leaves some rows written, each whole), and BSON dates keep milliseconds, so a
    next run time comes back truncated to the millisecond."""

    def __init__(self, db: Any) -> None:
        self._col = db["schedule_state"]

    def load(self) -> dict[str, ScheduleEntry]:
        out = {}
        for d in self._col.find({}):
            nxt = d.get("next_run_at")
            if isinstance(nxt, datetime) and nxt.tzinfo is None:
                nxt = nxt.replace(tzinfo=UTC)
            out[d["_id"]] = ScheduleEntry(d["schedule"], nxt, d.get("fence"))
        return out

    @staticmethod
    def _op(job_id: str, schedule: str, next_run: datetime | None, fence: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        if next_run is not None and next_run.tzinfo is None:
            raise ValueError(f"naive datetime {next_run!r}: schedule state holds only aware times")
        values: dict[str, Any] = {"schedule": schedule, "next_run_at": next_run}
        if fence is None:
            return {"_id": job_id}, {"$set": values}
        # a missing or null fence matches {"fence": None}
        return ({"_id": job_id, "$or": [{"fence": None}, {"fence": {"$lte": fence}}]},
                {"$set": {**values, "fence": fence}})

    def save(self, job_id: str, schedule: str, next_run: datetime | None, *, fence: int | None = None) -> bool:
        from pymongo.errors import DuplicateKeyError

        filt, update = self._op(job_id, schedule, next_run, fence)
        try:
            self._col.update_one(filt, update, upsert=True)
        except DuplicateKeyError:
            return False  # a higher fence holds the row
        return True

    def save_many(self, rows: Iterable[ScheduleRow], *, fence: int | None = None) -> int:
        from pymongo import UpdateOne
        from pymongo.errors import BulkWriteError

        ops = [UpdateOne(*self._op(job_id, schedule, next_run, fence), upsert=True)
               for job_id, schedule, next_run in rows]
        if not ops:
            return 0
        try:
            self._col.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return len(ops) - len(errors)
        return len(ops)

    def keep_only(self, job_ids: Iterable[str], *, fence: int | None = None) -> int:
        keep = set(job_ids)
        gone = [d["_id"] for d in self._col.find({}, {"fence": 1})
                if d["_id"] not in keep and (fence is None or d.get("fence") is None or d["fence"] <= fence)]
        removed = 0
        for i in range(0, len(gone), 10_000):
            chunk: Sequence[str] = gone[i:i + 10_000]
            q: dict[str, Any] = {"_id": {"$in": list(chunk)}}
            if fence is not None:  # re-checked in the filter: a leader may have written since
                q["$or"] = [{"fence": None}, {"fence": {"$lte": fence}}]
            removed += self._col.delete_many(q).deleted_count
        return removed
