"""Workflow state: who works on a review or an alert, its status, and the audit log.

A :class:`WorkItem` is the working state of one mention (by fingerprint) or one alert (by
id): ``new`` -> ``assigned`` -> ``answered`` -> ``resolved``, with an assignee (a
department or a person, free text) and who changed it when. People may move a status
back (a resolved complaint that comes back is re-opened); the first time an item was
answered and resolved is kept, because "time to answer" means the first answer.

Every change, and every note, is also a :class:`WorkEvent` in an append-only log (who,
what, when, on which item and location): the dashboard's writes are recorded, and the
alerts' acknowledge/resolve from the command line land in the same log. The state and its
event are written together (one SQLite transaction; in MongoDB the event first, so a
crash leaves at worst a logged change that did not happen, never an unlogged one).

Scraped text never enters here except a person's note; the dashboard shows it as text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

WORK_KINDS = ("mention", "alert")
WORK_STATUSES = ("new", "assigned", "answered", "resolved")
"""A mention's working status. An alert's own state (``crawlers.store.alerts``) says whether
it was acknowledged or resolved; its work item adds the assignee and the notes."""
EVENT_ACTIONS = ("status", "assign", "note", "acknowledge", "resolve")
MAX_NOTE_CHARS = 2000
MAX_ASSIGNEE_CHARS = 120


class WorkflowError(ValueError):
    """A bad kind, status or action, or a note that is too long."""


@dataclass(slots=True)
class WorkItem:
    """The working state of one mention or alert (absent = ``new``, nobody assigned)."""

    kind: str
    item_id: str
    location_id: str | None
    status: str = "new"
    assignee: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    answered_at: datetime | None = None
    """When the status first became ``answered`` (kept when it moves on or back)."""
    resolved_at: datetime | None = None
    """When the status first became ``resolved``."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("updated_at", "answered_at", "resolved_at"):
            d[k] = _iso(d[k])
        return d


@dataclass(slots=True)
class WorkEvent:
    """One recorded action: a status change, an assignment, a note, an acknowledgement."""

    at: datetime
    actor: str
    """Who: ``token:<id> <label>`` from the dashboard, ``cli:<user>`` from the command line."""
    action: str
    kind: str
    item_id: str
    location_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    """``{"from": .., "to": ..}`` for a status, ``{"assignee": ..}``, ``{"text": ..}`` for a note."""
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = _iso(self.at)
        return d


def check_item(kind: str, status: str | None = None) -> None:
    if kind not in WORK_KINDS:
        raise WorkflowError(f"unknown kind {kind!r}; one of {', '.join(WORK_KINDS)}")
    if status is not None and status not in WORK_STATUSES:
        raise WorkflowError(f"unknown status {status!r}; one of {', '.join(WORK_STATUSES)}")


def apply_change(item: WorkItem, *, now: datetime, actor: str, status: str | None = None,
                 assignee: str | None = None, unassign: bool = False) -> tuple[WorkItem, list[WorkEvent]]:
    """The item after a person's change and the events that record it (none when nothing
    changes). Assigning someone to a ``new`` item makes it ``assigned``. The one rule both
    backends and every caller share."""
    check_item(item.kind, status)
    if assignee is not None:
        assignee = " ".join(assignee.split())
        if not assignee or len(assignee) > MAX_ASSIGNEE_CHARS:
            raise WorkflowError(f"an assignee is 1 to {MAX_ASSIGNEE_CHARS} characters")
    new = replace(item)
    events: list[WorkEvent] = []

    def event(action: str, detail: dict[str, Any]) -> None:
        events.append(WorkEvent(at=now, actor=actor, action=action, kind=item.kind, item_id=item.item_id,
                                location_id=item.location_id, detail=detail))

    if unassign and new.assignee is not None:
        event("assign", {"from": new.assignee, "assignee": None})
        new.assignee = None
    elif assignee is not None and assignee != new.assignee:
        event("assign", {"from": new.assignee, "assignee": assignee})
        new.assignee = assignee
        if status is None and new.status == "new":
            status = "assigned"
    if status is not None and status != new.status:
        event("status", {"from": new.status, "to": status})
        new.status = status
        if status == "answered" and new.answered_at is None:
            new.answered_at = now
        if status == "resolved" and new.resolved_at is None:
            new.resolved_at = now
    if events:
        new.updated_at, new.updated_by = now, actor
    return new, events


def note_event(item: WorkItem, *, now: datetime, actor: str, text: str) -> WorkEvent:
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise WorkflowError(f"a note is 1 to {MAX_NOTE_CHARS} characters")
    return WorkEvent(at=now, actor=actor, action="note", kind=item.kind, item_id=item.item_id,
                     location_id=item.location_id, detail={"text": text})


class WorkflowTable(Protocol):
    """Work items and the audit log of a store (``store.workflow``)."""

    def get(self, kind: str, item_id: str) -> WorkItem | None: ...

    def get_many(self, kind: str, item_ids: Iterable[str]) -> dict[str, WorkItem]:
        """The stored items among ``item_ids`` (missing ones are ``new``)."""
        ...

    def list(self, kind: str, *, location_ids: Iterable[str] | None = None,
             statuses: Iterable[str] | None = None, assignee: str | None = None) -> list[WorkItem]:
        """Stored items, most recently updated first."""
        ...

    def save(self, item: WorkItem, events: Sequence[WorkEvent]) -> None:
        """Write the item's state and append its events together."""
        ...

    def record(self, event: WorkEvent) -> None:
        """Append an event that changes no work item (a note; an alert acknowledged)."""
        ...

    def events(self, *, kind: str | None = None, item_id: str | None = None,
               location_ids: Iterable[str] | None = None, actions: Iterable[str] | None = None,
               limit: int = 200) -> list[WorkEvent]:
        """Events newest first, filtered when given."""
        ...


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: vocwatch stores only aware UTC times")
    return _iso(dt)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _aware(dt: Any) -> datetime | None:
    if dt is None:
        return None
    return (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)).replace(microsecond=0)


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS work_items (
    kind TEXT NOT NULL, item_id TEXT NOT NULL, location_id TEXT, status TEXT NOT NULL,
    assignee TEXT, updated_at TEXT, updated_by TEXT, answered_at TEXT, resolved_at TEXT,
    PRIMARY KEY (kind, item_id)
);
CREATE INDEX IF NOT EXISTS work_items_location ON work_items (kind, location_id, status);
CREATE TABLE IF NOT EXISTS work_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    kind TEXT NOT NULL, item_id TEXT NOT NULL, location_id TEXT, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_events_item ON work_events (kind, item_id, id);
CREATE INDEX IF NOT EXISTS work_events_location ON work_events (location_id, id);
"""
_ITEM_COLUMNS = ("kind", "item_id", "location_id", "status", "assignee", "updated_at", "updated_by",
                 "answered_at", "resolved_at")


def _in(column: str, values: Iterable[str] | None, where: list[str], args: list[Any]) -> None:
    if values is None:
        return
    vals = list(values)
    where.append(f"{column} IN ({', '.join('?' * len(vals))})" if vals else "0")
    args.extend(vals)


class SQLiteWorkflow:
    """``work_items`` and ``work_events`` in the store's SQLite file, under its lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with self._lock:
            self._db.executescript(_SQLITE_SCHEMA)

    def get(self, kind: str, item_id: str) -> WorkItem | None:
        return self.get_many(kind, [item_id]).get(item_id)

    def get_many(self, kind: str, item_ids: Iterable[str]) -> dict[str, WorkItem]:
        check_item(kind)
        ids = list(dict.fromkeys(item_ids))
        out: dict[str, WorkItem] = {}
        for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            chunk = ids[i:i + 500]
            with self._lock:
                rows = self._db.execute(f"SELECT {', '.join(_ITEM_COLUMNS)} FROM work_items WHERE kind = ? "
                                        f"AND item_id IN ({', '.join('?' * len(chunk))})", [kind, *chunk]).fetchall()
            out.update((r[1], _item_row(r)) for r in rows)
        return out

    def list(self, kind: str, *, location_ids: Iterable[str] | None = None,
             statuses: Iterable[str] | None = None, assignee: str | None = None) -> list[WorkItem]:
        check_item(kind)
        where, args = ["kind = ?"], [kind]
        _in("location_id", location_ids, where, args)
        _in("status", statuses, where, args)
        if assignee is not None:
            where.append("assignee = ?")
            args.append(assignee)
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_ITEM_COLUMNS)} FROM work_items WHERE {' AND '.join(where)} "
                                    "ORDER BY updated_at DESC, item_id", args).fetchall()
        return [_item_row(r) for r in rows]

    def save(self, item: WorkItem, events: Sequence[WorkEvent]) -> None:
        check_item(item.kind, item.status)
        row = [item.kind, item.item_id, item.location_id, item.status, item.assignee, _time(item.updated_at),
               item.updated_by, _time(item.answered_at), _time(item.resolved_at)]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"INSERT OR REPLACE INTO work_items ({', '.join(_ITEM_COLUMNS)}) "
                                 f"VALUES ({', '.join('?' * len(_ITEM_COLUMNS))})", row)
                for e in events:
                    self._insert_event(e)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record(self, event: WorkEvent) -> None:
        with self._lock:
            self._insert_event(event)

    def _insert_event(self, e: WorkEvent) -> None:
        check_item(e.kind)
        if e.action not in EVENT_ACTIONS:
            raise WorkflowError(f"unknown action {e.action!r}; one of {', '.join(EVENT_ACTIONS)}")
        cur = self._db.execute(
            "INSERT INTO work_events (at, actor, action, kind, item_id, location_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [_time(e.at), e.actor, e.action, e.kind, e.item_id, e.location_id, json.dumps(e.detail, ensure_ascii=False)])
        e.id = cur.lastrowid

    def events(self, *, kind: str | None = None, item_id: str | None = None,
               location_ids: Iterable[str] | None = None, actions: Iterable[str] | None = None,
               limit: int = 200) -> list[WorkEvent]:
        where, args = ["1"], []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if item_id is not None:
            where.append("item_id = ?")
            args.append(item_id)
        _in("location_id", location_ids, where, args)
        _in("action", actions, where, args)
        with self._lock:
            rows = self._db.execute("SELECT id, at, actor, action, kind, item_id, location_id, detail FROM work_events "
                                    f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [WorkEvent(id=r[0], at=_parse(r[1]), actor=r[2], action=r[3], kind=r[4], item_id=r[5],  # type: ignore[arg-type]
                          location_id=r[6], detail=json.loads(r[7])) for r in rows]


def _item_row(r: Sequence[Any]) -> WorkItem:
    return WorkItem(kind=r[0], item_id=r[1], location_id=r[2], status=r[3], assignee=r[4], updated_at=_parse(r[5]),
                    updated_by=r[6], answered_at=_parse(r[7]), resolved_at=_parse(r[8]))


class MongoWorkflow:
    """``work_items`` (``_id`` = ``kind:item_id``) and ``work_events`` (``_id`` from a counter
    document, so events keep one order across processes) in the store's database."""

    def __init__(self, db: Any) -> None:
        self._items = db["work_items"]
        self._events = db["work_events"]
        self._counters = db["counters"]
        self._items.create_index([("kind", 1), ("location_id", 1), ("status", 1)])
        self._events.create_index([("kind", 1), ("item_id", 1)])
        self._events.create_index([("location_id", 1)])

    def get(self, kind: str, item_id: str) -> WorkItem | None:
        return self.get_many(kind, [item_id]).get(item_id)

    def get_many(self, kind: str, item_ids: Iterable[str]) -> dict[str, WorkItem]:
        check_item(kind)
        ids = [f"{kind}:{i}" for i in dict.fromkeys(item_ids)]
        return {d["item_id"]: _item_doc(d) for d in self._items.find({"_id": {"$in": ids}})}

    def list(self, kind: str, *, location_ids: Iterable[str] | None = None,
             statuses: Iterable[str] | None = None, assignee: str | None = None) -> list[WorkItem]:
        check_item(kind)
        q: dict[str, Any] = {"kind": kind}
        if location_ids is not None:
            q["location_id"] = {"$in": list(location_ids)}
        if statuses is not None:
            q["status"] = {"$in": list(statuses)}
        if assignee is not None:
            q["assignee"] = assignee
        docs = sorted(self._items.find(q), key=lambda d: d["item_id"])
        docs.sort(key=lambda d: _aware(d.get("updated_at")) or datetime.min.replace(tzinfo=UTC), reverse=True)
        return [_item_doc(d) for d in docs]

    def save(self, item: WorkItem, events: Sequence[WorkEvent]) -> None:
        check_item(item.kind, item.status)
        for e in events:
            self.record(e)
        doc = {k: getattr(item, k) for k in _ITEM_COLUMNS}
        for k in ("updated_at", "answered_at", "resolved_at"):
            doc[k] = _aware(doc[k])
        self._items.replace_one({"_id": f"{item.kind}:{item.item_id}"}, doc, upsert=True)

    def record(self, event: WorkEvent) -> None:
        check_item(event.kind)
        if event.action not in EVENT_ACTIONS:
            raise WorkflowError(f"unknown action {event.action!r}; one of {', '.join(EVENT_ACTIONS)}")
        from pymongo import ReturnDocument

        counter = self._counters.find_one_and_update({"_id": "work_events"}, {"$inc": {"n": 1}}, upsert=True,
                                                     return_document=ReturnDocument.AFTER)
        event.id = int(counter["n"])
        doc = event.to_dict()
        doc["at"] = _aware(event.at)
        doc["_id"] = doc.pop("id")
        self._events.insert_one(doc)

    def events(self, *, kind: str | None = None, item_id: str | None = None,
               location_ids: Iterable[str] | None = None, actions: Iterable[str] | None = None,
               limit: int = 200) -> list[WorkEvent]:
        q: dict[str, Any] = {}
        if kind is not None:
            q["kind"] = kind
        if item_id is not None:
            q["item_id"] = item_id
        if location_ids is not None:
            q["location_id"] = {"$in": list(location_ids)}
        if actions is not None:
            q["action"] = {"$in": list(actions)}
        docs = self._events.find(q).sort("_id", -1).limit(limit)
        return [WorkEvent(id=d["_id"], at=_aware(d["at"]), actor=d["actor"], action=d["action"],  # type: ignore[arg-type]
                          kind=d["kind"], item_id=d["item_id"], location_id=d.get("location_id"),
                          detail=d.get("detail") or {}) for d in docs]


def _item_doc(d: dict[str, Any]) -> WorkItem:
    return WorkItem(kind=d["kind"], item_id=d["item_id"], location_id=d.get("location_id"), status=d["status"],
                    assignee=d.get("assignee"), updated_at=_aware(d.get("updated_at")), updated_by=d.get("updated_by"),
                    answered_at=_aware(d.get("answered_at")), resolved_at=_aware(d.get("resolved_at")))
