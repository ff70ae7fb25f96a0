"""Embedded default store: one SQLite file (stdlib), safe to share between threads.

Datetimes are stored as UTC text ``YYYY-MM-DDTHH:MM:SSZ`` so that SQLite's own date
functions and plain string comparison both work on them.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawlers.items import DATETIME_FIELDS, NLP_FIELDS, Mention
from crawlers.store.base import (
    BUCKETS,
    HEALTH_SEVERITIES,
    KEEP_FULL_TEXT,
    KEEP_ON_UPDATE,
    KEEP_PERMALINK,
    ROLLUP_KEYS,
    WHOLE_RANGE,
    CrawlRun,
    HealthFinding,
    IdMigration,
    KeyedRow,
    MentionQuery,
    RollupRow,
    UpsertResult,
    keeps_stored_text,
    plan_id_migration,
)
from crawlers.store.schedule import SQLiteScheduleState
from crawlers.store.summary import drop_summary_triggers, ensure_summaries, rollup_sql

if TYPE_CHECKING:
    from crawlers.store.alerts import (
        AspectHour,
        HourCounts,
        SQLiteAlerts,
        SQLiteSnapshots,
        ViralCandidate,
    )
    from crawlers.store.deliveries import SQLiteDeliveries
    from crawlers.store.identities import SQLiteIdentities
    from crawlers.store.workflow import SQLiteWorkflow

_JSON_FIELDS = ("aspects", "keywords")
_COLUMNS = (
    "fingerprint", "content_hash", "site", "kind", "source_id", "location_id", "brand", "url",
    "external_id", "author", "author_region", "title", "text", "rating_raw", "rating_scale", "rating",
    "published_at", "published_raw", "crawled_at", "language", "likes", "reposts", "comments",
    "reply_text", "reply_at", "variant", "sentiment_label", "sentiment_score", "aspects", "keywords",
    "nlp_model", "id_scope", "quoted", "in_reply_to", "position", "truncated", "permalink",
)  # fmt: skip

_COLUMN_TYPES = {"fingerprint": " TEXT PRIMARY KEY", "truncated": " INTEGER NOT NULL DEFAULT 0"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS mentions (
    {", ".join(c + _COLUMN_TYPES.get(c, "") for c in _COLUMNS)},
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS mentions_location_published ON mentions (location_id, published_at);
CREATE INDEX IF NOT EXISTS mentions_source ON mentions (source_id);
CREATE INDEX IF NOT EXISTS mentions_published ON mentions (published_at);
CREATE TABLE IF NOT EXISTS crawl_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    spider TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    stats TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS crawl_runs_source ON crawl_runs (source_id, started_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""

_VERSION_KEY = "mentions_version"
"""``meta`` row counting writes to ``mentions`` (:meth:`SQLiteStore.data_version`)."""
_IDLE_READERS = 4
"""Reader connections a store keeps between rollups (more run at once if asked; the rest close)."""
_TEMP_IDS_OVER = 200
"""A rollup filtered by more location ids than this joins a temporary table of them
instead of binding an ``IN (?, ...)`` list (no host-parameter limit, one index seek per id)."""

_HEALTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS crawl_health (
    run_id INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    problem TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    found_at TEXT,
    PRIMARY KEY (run_id, problem)
);
CREATE INDEX IF NOT EXISTS crawl_health_source ON crawl_health (source_id, run_id);
"""
"""Crawl-health findings, keyed by the run that showed them (``crawlers.store.base.HealthFinding``)."""

_DAY = "substr(m.published_at, 1, 10)"
_BUCKET_SQL = {
    "day": _DAY,
    "week": f"date({_DAY}, '-' || ((CAST(strftime('%w', {_DAY}) AS INTEGER) + 6) % 7) || ' days')",
    "month": "substr(m.published_at, 1, 7) || '-01'",
}


def to_db_time(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: vocwatch stores only aware UTC times")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_db_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _load_ids(db: sqlite3.Connection, ids: list[str]) -> None:
    """The connection's temporary ``rollup_ids`` table holding exactly ``ids``."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("DELETE FROM temp.rollup_ids")
    db.executemany("INSERT INTO temp.rollup_ids (id) VALUES (?)", [(i,) for i in ids])


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``; paths pass."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    if url.startswith("sqlite://"):
        raise ValueError(f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute.db")
    return url


def connect(path: str) -> sqlite3.Connection:
    """A connection to a store's SQLite file, creating its folder: WAL (readers never wait
    for the crawl's writes), autocommit, a 30 s busy timeout, usable from any thread. The
    store and the tables kept beside it (alerts, deliveries, schedule state) each open one."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    return db


class SQLiteStore:
    """Store backed by one SQLite file in WAL mode; every call holds one lock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        """Idle reader connections of :meth:`rollup` (one per rollup under way, kept for the
        next: a connection's page cache and parsed schema outlive the call)."""
        self._readers_pid = os.getpid()
        self._db = connect(self.path)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.executescript(_HEALTH_SCHEMA)
            self._add_missing_columns()
            ensure_summaries(self._db)

    def _add_missing_columns(self) -> None:
        """Columns added after a store was created (``id_scope``; ``quoted`` and
        ``in_reply_to``): empty in old rows, which is what those rows' fingerprints were
        computed with; ``truncated`` 0: an old row was stored as a full text, so a snippet
        read again is not allowed to cut it, and its full text, once fetched, replaces it;
        ``permalink`` NULL (unknown), filled when the mention is stored again."""
        have = {r[1] for r in self._db.execute("PRAGMA table_info(mentions)")}
        if "id_scope" not in have:
            self._db.execute("ALTER TABLE mentions ADD COLUMN id_scope TEXT NOT NULL DEFAULT ''")
        for column in ("quoted", "in_reply_to"):  # forum quotes and reply structure (issue 12)
            if column not in have:
                self._db.execute(f"ALTER TABLE mentions ADD COLUMN {column} TEXT")
        if "position" not in have:  # a forum post's number in its thread (issue 12)
            self._db.execute("ALTER TABLE mentions ADD COLUMN position INTEGER")
        if "truncated" not in have:  # a snippet the page cut (issue 12)
            self._db.execute("ALTER TABLE mentions ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0")
        if "permalink" not in have:  # the review's own address on its site (issue 14): NULL until read again
            self._db.execute("ALTER TABLE mentions ADD COLUMN permalink TEXT")

    # -- mentions ---------------------------------------------------------------
    def _bump_version(self) -> None:
        """Count a change to the mentions, inside the writer's transaction (lock held)."""
        self._db.execute("INSERT INTO meta (key, value) VALUES (?, 1) "
                         "ON CONFLICT (key) DO UPDATE SET value = value + 1", (_VERSION_KEY,))

    def data_version(self) -> str:
        """A token that changes whenever a mention is inserted, updated, re-analysed or
        deleted through any store object on this file (the counter is in the file, so
        another process's crawl counts too): caches of figures key on it."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_VERSION_KEY,)).fetchone()
        return str(row[0] if row else 0)

    def upsert_mentions(self, mentions: Sequence[Mention]) -> UpsertResult:
        latest: dict[str, Mention] = {}
        for m in mentions:
            if not m.fingerprint:
                raise ValueError(f"mention without fingerprint: {m.url}")
            latest[m.fingerprint] = m
        result = UpsertResult(unchanged=len(mentions) - len(latest))
        if not latest:
            return result
        now = to_db_time(datetime.now(UTC))
        update_cols = [c for c in _COLUMNS if c != "fingerprint" and c not in KEEP_ON_UPDATE]
        insert_sql = f"INSERT INTO mentions ({', '.join(_COLUMNS)}, updated_at) VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})"
        update_sql = f"UPDATE mentions SET {_assignments(update_cols)}, updated_at = ? WHERE fingerprint = ?"
        snippet_cols = [c for c in update_cols if c not in KEEP_FULL_TEXT]
        snippet_sql = f"UPDATE mentions SET {_assignments(snippet_cols)}, updated_at = ? WHERE fingerprint = ?"
        # unchanged content, a new (or first) address: stored without counting an update
        link_sql = f"UPDATE mentions SET {KEEP_PERMALINK} = ? WHERE fingerprint = ? AND {KEEP_PERMALINK} IS NOT ?"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                existing = self._hashes(list(latest))
                texts = self._texts([fp for fp, m in latest.items() if m.truncated and fp in existing])
                for fp, m in latest.items():
                    row = _to_row(m)
                    if fp not in existing:
                        self._db.execute(insert_sql, [row[c] for c in _COLUMNS] + [now])
                        result.inserted += 1
                    elif existing[fp] != m.content_hash:
                        if fp in texts and keeps_stored_text(m, *texts[fp]):  # a snippet never cuts a full text
                            self._db.execute(snippet_sql, [row[c] for c in snippet_cols] + [now, fp])
                        else:
                            self._db.execute(update_sql, [row[c] for c in update_cols] + [now, fp])
                        result.updated += 1
                    else:
                        if m.permalink is not None:
                            self._db.execute(link_sql, (m.permalink, fp, m.permalink))
                        result.unchanged += 1
                if result.inserted or result.updated:
                    self._bump_version()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def insert_new(self, mentions: Iterable[Mention], *, batch: int = 50_000) -> int:
        """Bulk load (synthetic sets, imports): ``executemany`` in one transaction per
        ``batch``, the same columns and rows as :meth:`upsert_mentions`, but insert-only — a
        fingerprint already stored is skipped, never updated. Returns the rows inserted."""
        sql = f"INSERT OR IGNORE INTO mentions ({', '.join(_COLUMNS)}, updated_at) VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})"
        now = to_db_time(datetime.now(UTC))

        def row(m: Mention) -> list[Any]:
            if not m.fingerprint:
                raise ValueError(f"mention without fingerprint: {m.url}")
            r = _to_row(m)
            return [r[c] for c in _COLUMNS] + [now]

        it = iter(mentions)
        with self._lock:  # into an empty store: the day summaries are built once at the end, not row by row
            deferred = self._db.execute("SELECT 1 FROM mentions LIMIT 1").fetchone() is None
            if deferred:
                drop_summary_triggers(self._db)
        try:
            inserted = self._insert_chunks(sql, it, row, batch)
        finally:
            if deferred:
                with self._lock:
                    ensure_summaries(self._db)  # (triggers missing: rebuilt from every stored mention)
        return inserted

    def _insert_chunks(self, sql: str, it: Iterator[Mention], row: Callable[[Mention], list[Any]], batch: int) -> int:
        inserted = 0
        while chunk := [row(m) for m in itertools.islice(it, batch)]:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    added = self._db.executemany(sql, chunk).rowcount
                    if added:
                        self._bump_version()
                    self._db.execute("COMMIT")
                    inserted += added
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        return inserted

    def _hashes(self, fingerprints: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(fingerprints), 500):
            chunk = fingerprints[i : i + 500]
            q = f"SELECT fingerprint, content_hash FROM mentions WHERE fingerprint IN ({', '.join('?' * len(chunk))})"
            out.update((r[0], r[1]) for r in self._db.execute(q, chunk))
        return out

    def _texts(self, fingerprints: list[str]) -> dict[str, tuple[bool, str]]:
        """``fingerprint -> (truncated, text)`` of stored mentions."""
        out: dict[str, tuple[bool, str]] = {}
        for i in range(0, len(fingerprints), 500):
            chunk = fingerprints[i : i + 500]
            q = f"SELECT fingerprint, truncated, text FROM mentions WHERE fingerprint IN ({', '.join('?' * len(chunk))})"
            out.update((r[0], (bool(r[1]), r[2] or "")) for r in self._db.execute(q, chunk))
        return out

    def known_fingerprints(self, source_id: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT fingerprint, content_hash FROM mentions WHERE source_id = ?", (source_id,))
            return {r[0]: r[1] for r in rows}

    def known_permalinks(self, source_id: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT fingerprint, permalink FROM mentions WHERE source_id = ? AND permalink IS NOT NULL",
                                    (source_id,))
            return {r[0]: r[1] for r in rows}

    def iter_mentions(
        self,
        *,
        location_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Mention]:
        where, args = [], []
        if location_ids is not None:
            ids = list(location_ids)
            where.append(f"location_id IN ({', '.join('?' * len(ids))})")
            args.extend(ids)
        _window(where, args, since, until, "published_at")
        sql = f"SELECT {', '.join(_COLUMNS)} FROM mentions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY location_id, published_at"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        for r in rows:
            yield _from_row(r)

    def query_mentions(self, query: MentionQuery) -> list[Mention]:
        where, args = _query_sql(query)
        sql = (f"SELECT {', '.join('m.' + c for c in _COLUMNS)} FROM mentions m WHERE {where} "
               "ORDER BY m.published_at IS NULL, m.published_at DESC, m.fingerprint LIMIT ? OFFSET ?")
        with self._lock:
            rows = self._db.execute(sql, [*args, query.limit, query.offset]).fetchall()
        return [_from_row(r) for r in rows]

    def count_matching(self, query: MentionQuery) -> int:
        where, args = _query_sql(query)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM mentions m WHERE {where}", args).fetchone()[0]

    def get_mention(self, fingerprint: str) -> Mention | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM mentions WHERE fingerprint = ?",
                                   [fingerprint]).fetchone()
        return _from_row(row) if row else None

    def count_mentions(self, *, source_id: str | None = None) -> int:
        with self._lock:
            if source_id is None:
                return self._db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM mentions WHERE source_id = ?", (source_id,)).fetchone()[0]

    def update_nlp(self, mentions: Sequence[Mention]) -> int:
        sql = f"UPDATE mentions SET {', '.join(c + ' = ?' for c in NLP_FIELDS)} WHERE fingerprint = ?"
        rows = [[_to_row(m)[c] for c in NLP_FIELDS] + [m.fingerprint] for m in mentions]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                found = sum(self._db.execute(sql, row).rowcount for row in rows)
                if found:
                    self._bump_version()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return found

    def migrate_ids(self, scope_of: Callable[[Mention], str | None], *, dry_run: bool = False) -> IdMigration:
        result = IdMigration()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT fingerprint, site, kind, url, external_id, id_scope, source_id, updated_at FROM mentions "
                    "WHERE external_id IS NOT NULL AND external_id != ''").fetchall()
                moves, deletes = plan_id_migration((KeyedRow(*r) for r in rows), scope_of, result)
                if not dry_run:
                    self._db.executemany("DELETE FROM mentions WHERE fingerprint = ?", [(fp,) for fp in deletes])
                    # through a temporary key: a new fingerprint may still be another row's old one
                    self._db.executemany("UPDATE mentions SET fingerprint = ?, id_scope = ? WHERE fingerprint = ?",
                                         [("migrating:" + new, scope, old) for old, (new, scope) in moves.items()])
                    self._db.executemany("UPDATE mentions SET fingerprint = ? WHERE fingerprint = ?",
                                         [(new, "migrating:" + new) for new, _ in moves.values()])
                    if moves or deletes:
                        self._bump_version()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def rollup(
        self,
        *,
        bucket: str = "day",
        group_by: Sequence[str] = ("location_id",),
        since: datetime | None = None,
        until: datetime | None = None,
        location_ids: Iterable[str] | None = None,
        summary: bool = True,
    ) -> Iterator[RollupRow]:
        """See :meth:`Store.rollup`. Whole days come from the day summaries
        (``crawlers.store.summary``), partial days at either end from the mentions;
        ``summary=False`` reads only the mentions (the reference the summaries are tested
        against)."""
        if bucket not in _BUCKET_SQL and bucket != WHOLE_RANGE:
            raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join((*BUCKETS, WHOLE_RANGE))}")
        bad = [k for k in group_by if k not in ROLLUP_KEYS]
        if bad:
            raise ValueError(f"cannot group by {', '.join(bad)}; one of {', '.join(ROLLUP_KEYS)}")
        temp_ids: list[str] = []
        clause, ids = None, []
        if location_ids is not None:
            ids = list(dict.fromkeys(location_ids))
            if len(ids) > _TEMP_IDS_OVER:  # a join: the cost follows the rows selected, not the list
                temp_ids, clause, ids = ids, "IN (SELECT id FROM temp.rollup_ids)", []
            else:
                clause = f"IN ({', '.join('?' * len(ids))})"
        head_args = [since.date().isoformat() if since else ""] if bucket == WHOLE_RANGE else []
        if summary:
            sql, args = rollup_sql(bucket, group_by, since, until, clause, ids, to_db_time)
        else:
            sql, args = _direct_rollup_sql(bucket, group_by, since, until, clause, ids)
        n = len(group_by)
        # a reader connection of its own (from a small pool): WAL lets it stream while crawls write
        db = self._reader() if self.path != ":memory:" else None
        cursor = None
        try:
            if db is None:
                with self._lock:
                    if temp_ids:
                        _load_ids(self._db, temp_ids)
                    try:
                        rows: Iterable[Any] = self._db.execute(sql, [*head_args, *args]).fetchall()
                    finally:
                        if temp_ids:
                            self._db.execute("DROP TABLE temp.rollup_ids")
            else:
                if temp_ids:
                    _load_ids(db, temp_ids)
                rows = cursor = db.execute(sql, [*head_args, *args])
            if summary:  # the query gives every column as RollupRow holds it
                k = n + 1
                for r in rows:
                    yield RollupRow(r[0], r[1:k], *r[k:])
                return
            for r in rows:
                yield RollupRow(r[0], tuple(r[1:n + 1]), r[n + 1], r[n + 2], r[n + 3], r[n + 4] or 0,
                                r[n + 5] or 0, r[n + 6] or 0, r[n + 7], r[n + 8], r[n + 9] or 0, int(r[n + 10]),
                                int(r[n + 11]))
        finally:
            if cursor is not None:
                cursor.close()  # a rollup left half-read must not hold its snapshot in the pool
            if db is not None:
                self._release(db)

    # -- crawl runs ---------------------------------------------------------------
    def start_run(self, source_id: str, spider: str, started_at: datetime,
                  stats: dict[str, Any] | None = None) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO crawl_runs (source_id, spider, started_at, stats) VALUES (?, ?, ?, ?)",
                (source_id, spider, to_db_time(started_at), json.dumps(stats or {}, default=str, sort_keys=True)),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, stats: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE crawl_runs SET finished_at = ?, outcome = ?, stats = ? WHERE id = ?",
                (to_db_time(finished_at), outcome, json.dumps(stats, default=str, sort_keys=True), run_id),
            )

    def last_successful_run(self, source_id: str) -> CrawlRun | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM crawl_runs WHERE source_id = ? AND outcome = 'finished'"
                " AND COALESCE(json_extract(stats, '$.\"vocwatch/cutoff/advanced\"'), 1) != 0"
                " ORDER BY started_at DESC, id DESC LIMIT 1",
                (source_id,),
            ).fetchone()
        return _run(row) if row else None

    def list_runs(self, *, source_id: str | None = None, outcome: str | None = None, limit: int = 50) -> list[CrawlRun]:
        where, args = [], []
        for column, value in (("source_id", source_id), ("outcome", outcome)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM crawl_runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            return [_run(r) for r in self._db.execute(sql, args).fetchall()]

    # -- crawl health -------------------------------------------------------------
    def record_health(self, run_id: int, findings: Sequence[HealthFinding]) -> None:
        rows = [(run_id, f.source_id, f.problem, f.severity, f.message, json.dumps(f.details, default=str, sort_keys=True),
                 to_db_time(f.found_at)) for f in findings]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM crawl_health WHERE run_id = ?", (run_id,))
                self._db.executemany("INSERT INTO crawl_health (run_id, source_id, problem, severity, message, details, "
                                     "found_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def list_health(self, *, source_id: str | None = None, run_id: int | None = None,
                    limit: int = 100) -> list[HealthFinding]:
        where, args = [], []
        for column, value in (("source_id", source_id), ("run_id", run_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(HEALTH_SEVERITIES))
        sql = ("SELECT * FROM crawl_health" + (" WHERE " + " AND ".join(where) if where else "")
               + f" ORDER BY run_id DESC, CASE severity {rank} ELSE -1 END DESC, problem LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, [*args, limit]).fetchall()
        return [HealthFinding(source_id=r["source_id"], problem=r["problem"], severity=r["severity"],
                              message=r["message"], details=json.loads(r["details"]), run_id=r["run_id"],
                              found_at=from_db_time(r["found_at"])) for r in rows]

    # -- misc ---------------------------------------------------------------------
    def secret(self, name: str) -> bytes:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (f"secret:{name}", secrets.token_bytes(32)))
            return bytes(self._db.execute("SELECT value FROM meta WHERE key = ?", (f"secret:{name}",)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
            while self._readers:
                self._readers.pop().close()

    def _reader(self) -> sqlite3.Connection:
        with self._lock:
            if self._readers_pid != os.getpid():  # forked: a parent's connection is not this process's to use
                self._readers, self._readers_pid = [], os.getpid()
            if self._readers:
                return self._readers.pop()
        return sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)

    def _release(self, db: sqlite3.Connection) -> None:
        with self._lock:
            if len(self._readers) < _IDLE_READERS and self._readers_pid == os.getpid():
                self._readers.append(db)
                return
        db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({os.path.abspath(self.path) if self.path != ':memory:' else ':memory:'})"

    # -- schedule state: scale lane
    @cached_property
    def schedule_state(self) -> SQLiteScheduleState:
        """The scheduler's next run times, in this file, over this connection and lock."""
        return SQLiteScheduleState(self._db, self._lock)

    # -- identities: sessions lane ------------------------------------------------
    @cached_property
    def identities(self) -> SQLiteIdentities:
        """Account and proxy states, in this file, over this connection and lock."""
        from crawlers.store.identities import SQLiteIdentities

        return SQLiteIdentities(self._db, self._lock)

    # -- deliveries: deliveries lane ----------------------------------------------
    @cached_property
    def deliveries(self) -> SQLiteDeliveries:
        """``alert_deliveries`` on this store's connection, under its lock."""
        from crawlers.store.deliveries import SQLiteDeliveries

        return SQLiteDeliveries(self._db, self._lock)

    @cached_property
    def workflow(self) -> SQLiteWorkflow:
        """Work items and the audit log, in this file, over this connection and lock."""
        from crawlers.store.workflow import SQLiteWorkflow

        return SQLiteWorkflow(self._db, self._lock)

    # -- alerts, engagement snapshots, hourly series: alerts lane
    @cached_property
    def alerts(self) -> SQLiteAlerts:
        from crawlers.store.alerts import SQLiteAlerts

        return SQLiteAlerts(self._db, self._lock)

    @cached_property
    def snapshots(self) -> SQLiteSnapshots:
        from crawlers.store.alerts import SQLiteSnapshots

        return SQLiteSnapshots(self._db, self._lock)

    def hour_counts(self, *, since: datetime, until: datetime,
                    location_ids: Iterable[str] | None = None) -> list[HourCounts]:
        from crawlers.store.alerts import sqlite_hour_counts

        with self._lock:
            return sqlite_hour_counts(self._db, since, until, location_ids)

    def negative_aspect_hours(self, *, since: datetime, until: datetime,
                              location_ids: Iterable[str] | None = None) -> list[AspectHour]:
        from crawlers.store.alerts import sqlite_aspect_hours

        with self._lock:
            return sqlite_aspect_hours(self._db, since, until, location_ids)

    def viral_candidates(self, *, since: datetime, until: datetime,
                         location_ids: Iterable[str] | None = None) -> list[ViralCandidate]:
        from crawlers.store.alerts import sqlite_viral_candidates

        with self._lock:
            return sqlite_viral_candidates(self._db, since, until, location_ids)


def _direct_rollup_sql(bucket: str, group_by: Sequence[str], since: datetime | None, until: datetime | None,
                       clause: str | None, ids: list[str]) -> tuple[str, list[Any]]:
    """The rollup straight from the mentions (``WHOLE_RANGE``: the caller binds the label first)."""
    by_aspect = "aspect" in group_by
    # with aspects, the sentiment columns are the aspect's own
    label = "json_extract(a.value, '$.sentiment')" if by_aspect else "m.sentiment_label"
    score = "json_extract(a.value, '$.score')" if by_aspect else "m.sentiment_score"
    key_sql = {k: f"m.{k}" for k in ROLLUP_KEYS} | {
        "aspect": "json_extract(a.value, '$.aspect')", "sentiment_label": label,
        # base.whole_stars: half up, held to 1..5; NULL stays NULL (multi-argument MAX)
        "stars": "MAX(1, MIN(5, CAST(m.rating + 0.5 AS INTEGER)))"}
    keys = [key_sql[k] for k in group_by]
    where: list[str] = ["m.published_at IS NOT NULL"]
    args: list[Any] = list(ids)
    if clause is not None:
        where.append(f"m.location_id {clause}")
    _window(where, args, since, until)
    group = ", ".join(["b", *(f"k{i}" for i in range(len(keys)))])
    sql = (
        f"SELECT {_BUCKET_SQL[bucket] if bucket != WHOLE_RANGE else '?'} AS b, "
        + "".join(f"{k} AS k{i}, " for i, k in enumerate(keys))
        + f"""COUNT(*), COUNT(m.rating), TOTAL(m.rating),
              SUM({label} = 'positive'), SUM({label} = 'neutral'), SUM({label} = 'negative'),
              TOTAL({score}), COUNT({score}), SUM(m.reply_text IS NOT NULL),
              TOTAL(COALESCE(m.likes, 0) + COALESCE(m.reposts, 0) + COALESCE(m.comments, 0)),
              TOTAL(m.truncated)
           FROM mentions AS m {", json_each(m.aspects) AS a" if by_aspect else ""}
           WHERE {" AND ".join(where)} GROUP BY {group} ORDER BY {group}"""
    )
    return sql, args

def _assignments(columns: Sequence[str]) -> str:
    """``SET`` clauses of an update; ``permalink`` keeps the stored value when the incoming
    mention has none (``crawlers.store.base.KEEP_PERMALINK``)."""
    return ", ".join(f"{c} = COALESCE(?, {c})" if c == KEEP_PERMALINK else f"{c} = ?" for c in columns)


_INLINE_IDS = 500
"""Id lists longer than this go to SQLite as one JSON array (``json_each``), not as bound
parameters: an inbox filtered by status may exclude every worked review of a large scope."""


def _query_sql(q: MentionQuery) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (over ``mentions m``) and its arguments for ``q``."""
    where: list[str] = ["1"]
    args: list[Any] = []

    def among(column: str, values: Sequence[str] | None, negate: bool = False) -> None:
        if values is None:
            return
        if not values:
            where.append("1" if negate else "0")
            return
        op = "NOT IN" if negate else "IN"
        if len(values) > _INLINE_IDS:  # one JSON parameter: SQLite allows at most 32,766 bound ones
            where.append(f"m.{column} {op} (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(values)))
            return
        where.append(f"m.{column} {op} ({', '.join('?' * len(values))})")
        args.extend(values)

    among("location_id", q.location_ids)
    among("source_id", q.source_ids)
    among("site", q.sites)
    among("language", q.languages)
    among("kind", q.kinds)
    among("fingerprint", q.fingerprints)
    if q.sentiments is not None:
        labels = [s for s in q.sentiments if s != "unlabelled"]
        parts = [f"m.sentiment_label IN ({', '.join('?' * len(labels))})"] if labels else []
        if "unlabelled" in q.sentiments:
            parts.append("m.sentiment_label IS NULL")
        where.append("(" + " OR ".join(parts) + ")" if parts else "0")
        args.extend(labels)
    if q.exclude_fingerprints:
        among("fingerprint", q.exclude_fingerprints, negate=True)
    _window(where, args, q.since, q.until)
    if q.min_rating is not None:
        where.append("m.rating >= ?")
        args.append(q.min_rating)
    if q.max_rating is not None:
        where.append("m.rating <= ?")
        args.append(q.max_rating)
    if q.has_reply is not None:
        where.append("(m.reply_text IS NOT NULL AND m.reply_text != '')" if q.has_reply
                     else "(m.reply_text IS NULL OR m.reply_text = '')")
    if q.aspect is not None:
        cond = "json_extract(j.value, '$.aspect') = ?"
        args.append(q.aspect)
        if q.aspect_sentiment is not None:
            cond += " AND json_extract(j.value, '$.sentiment') = ?"
            args.append(q.aspect_sentiment)
        where.append(f"EXISTS (SELECT 1 FROM json_each(m.aspects) j WHERE {cond})")
    return " AND ".join(where), args


def _to_row(m: Mention) -> dict[str, Any]:
    row = {c: getattr(m, c) for c in _COLUMNS}
    for c in DATETIME_FIELDS:
        row[c] = to_db_time(row[c])
    for c in _JSON_FIELDS:
        row[c] = json.dumps(row[c], ensure_ascii=False)
    row["truncated"] = int(bool(row["truncated"]))
    return row


def _from_row(r: sqlite3.Row) -> Mention:
    d = dict(r)
    for c in DATETIME_FIELDS:
        d[c] = from_db_time(d[c])
    for c in _JSON_FIELDS:
        d[c] = json.loads(d[c]) if d[c] else []
    d["id_scope"] = d.get("id_scope") or ""
    d["truncated"] = bool(d.get("truncated"))
    return Mention(**d)


def _run(r: sqlite3.Row) -> CrawlRun:
    return CrawlRun(
        id=r["id"],
        source_id=r["source_id"],
        spider=r["spider"],
        started_at=from_db_time(r["started_at"]),  # type: ignore[arg-type]
        finished_at=from_db_time(r["finished_at"]),
        outcome=r["outcome"],
        stats=json.loads(r["stats"]),
    )


def _window(where: list[str], args: list[Any], since: datetime | None, until: datetime | None,
            column: str = "m.published_at") -> None:
    """The ``[since, until)`` conditions on ``column`` (either end open when ``None``)."""
    if since is not None:
        where.append(f"{column} >= ?")
        args.append(to_db_time(since))
    if until is not None:
        where.append(f"{column} < ?")
        args.append(to_db_time(until))
