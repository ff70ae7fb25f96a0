"""Identity states: which account (or proxy) of a site is usable, cooling down or expired,
kept in the store so a ban seen by one crawl process holds for the next one.

One row per ``(kind, site, name)``: ``kind`` is ``account`` (a logged-in session of one
site, ``crawlers.sessions``) or ``proxy`` (left open for the proxy pool, whose ``site`` is
``""``). ``state`` is ``ok``, ``cooling`` (banned, a captcha or a 403/429: unusable until
``until``) or ``expired`` (a login wall: the session needs a new login, no time heals it).

``fingerprint`` is a short digest of the secret the state was judged on (never the secret):
an expired account whose cookies have since been replaced (``vocwatch login``) is a new
session, and :func:`crawlers.sessions.AccountPool` sets it back to ``ok``. No secret value
is ever written here: names, states, times and reasons only.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

IDENTITY_STATES = ("ok", "cooling", "expired")
IDENTITY_KINDS = ("account", "proxy")


@dataclass(slots=True)
class IdentityState:
    """The persisted state of one account or proxy."""

    kind: str
    site: str
    name: str
    state: str = "ok"
    until: datetime | None = None
    """Aware UTC end of a cool-down; None for ``ok`` and ``expired``."""
    reason: str = ""
    """What put it there (``login_wall``, ``captcha``, ``http_403``, ...)."""
    updated_at: datetime | None = None
    fingerprint: str = ""
    failures: int = 0
    """Times it was cooled down or expired since it was last ``ok``."""

    def usable(self, now: datetime) -> bool:
        """Whether a request may go through it at ``now``: ``ok``, or a cool-down that is over."""
        if self.state == "ok":
            return True
        return self.state == "cooling" and self.until is not None and self.until <= now


class IdentityTable(Protocol):
    """The ``identities`` table, reached as ``store.identities``."""

    def get(self, kind: str, site: str, name: str) -> IdentityState | None:
        """One identity's state; None when none was ever recorded (a new identity is ``ok``)."""
        ...

    def list(self, kind: str | None = None, site: str | None = None) -> list[IdentityState]:
        """States ordered by kind, site, name; filtered when given."""
        ...

    def save(self, state: IdentityState) -> None:
        """Insert or replace one identity's state (``updated_at`` set to now when None)."""
        ...

    def forget(self, kind: str, site: str, name: str) -> bool:
        """Remove one identity's state; whether there was one."""
        ...


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: identity states hold only aware times")
    return dt.astimezone(UTC).isoformat()


def _check(state: IdentityState) -> None:
    if state.kind not in IDENTITY_KINDS:
        raise ValueError(f"identity kind must be one of {IDENTITY_KINDS}, got {state.kind!r}")
    if state.state not in IDENTITY_STATES:
        raise ValueError(f"identity state must be one of {IDENTITY_STATES}, got {state.state!r}")


_SCHEMA = """CREATE TABLE IF NOT EXISTS identities
             (kind TEXT NOT NULL, site TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
              until TEXT, reason TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL,
              fingerprint TEXT NOT NULL DEFAULT '', failures INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (kind, site, name))"""
_COLUMNS = "kind, site, name, state, until, reason, updated_at, fingerprint, failures"


def _from_row(r: tuple[Any, ...]) -> IdentityState:
    return IdentityState(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]) if r[4] else None, r[5],
                         datetime.fromisoformat(r[6]) if r[6] else None, r[7], r[8])


class SQLiteIdentities:
    """Over the store's own connection and lock (``crawlers.store.sqlite``): one statement per call."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock
        with self._lock:
            self._db.execute(_SCHEMA)

    def get(self, kind: str, site: str, name: str) -> IdentityState | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM identities WHERE kind = ? AND site = ? AND name = ?",
                                   (kind, site, name)).fetchone()
        return _from_row(row) if row else None

    def list(self, kind: str | None = None, site: str | None = None) -> list[IdentityState]:
        where, args = [], []
        for column, value in (("kind", kind), ("site", site)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_COLUMNS} FROM identities" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY kind, site, name", args).fetchall()
        return [_from_row(r) for r in rows]

    def save(self, state: IdentityState) -> None:
        _check(state)
        state.updated_at = state.updated_at or datetime.now(UTC)
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO identities ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (state.kind, state.site, state.name, state.state, _iso(state.until), state.reason,
                              _iso(state.updated_at), state.fingerprint, state.failures))

    def forget(self, kind: str, site: str, name: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM identities WHERE kind = ? AND site = ? AND name = ?",
                                    (kind, site, name)).rowcount > 0


def _aware(dt: Any) -> datetime | None:
    if isinstance(dt, datetime):
        return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return None


class MongoIdentities:
    """The ``identities`` collection, one document per identity (``_id`` = ``kind|site|name``).
    BSON dates keep milliseconds: a cool-down's end comes back truncated to the millisecond."""

    def __init__(self, db: Any) -> None:
        self._col = db["identities"]

    @staticmethod
    def _id(kind: str, site: str, name: str) -> str:
        return f"{kind}|{site}|{name}"

    @staticmethod
    def _from_doc(d: dict[str, Any]) -> IdentityState:
        return IdentityState(d["kind"], d["site"], d["name"], d["state"], _aware(d.get("until")), d.get("reason", ""),
                             _aware(d.get("updated_at")), d.get("fingerprint", ""), int(d.get("failures", 0)))

    def get(self, kind: str, site: str, name: str) -> IdentityState | None:
        d = self._col.find_one({"_id": self._id(kind, site, name)})
        return self._from_doc(d) if d else None

    def list(self, kind: str | None = None, site: str | None = None) -> list[IdentityState]:
        q = {k: v for k, v in (("kind", kind), ("site", site)) if v is not None}
        docs = self._col.find(q).sort([("kind", 1), ("site", 1), ("name", 1)])
        return [self._from_doc(d) for d in docs]

    def save(self, state: IdentityState) -> None:
        _check(state)
        for dt in (state.until, state.updated_at):
            if dt is not None and dt.tzinfo is None:
                raise ValueError(f"naive datetime {dt!r}: identity states hold only aware times")
        state.updated_at = state.updated_at or datetime.now(UTC)
        doc = {"kind": state.kind, "site": state.site, "name": state.name, "state": state.state,
               "until": state.until, "reason": state.reason, "updated_at": state.updated_at,
               "fingerprint": state.fingerprint, "failures": state.failures}
        self._col.replace_one({"_id": self._id(state.kind, state.site, state.name)}, doc, upsert=True)

    def forget(self, kind: str, site: str, name: str) -> bool:
        return self._col.delete_one({"_id": self._id(kind, site, name)}).deleted_count > 0
