"""Day summaries of the SQLite ``mentions`` table, kept exact by triggers, that rollups read.

Why: a rollup over a location's year read every mention row of it (wide rows: text, JSON,
found through the location index one by one) and expanded its aspects' JSON; a dashboard's
365-day benchmark of a busy competitive set spent ~85% of its time there. Every rollup is a
sum, so it can add up per-day sums instead:

- ``mention_days``: one row per location, UTC day and value of every other non-aspect
  rollup key (brand, source, site, kind, language, sentiment label, whole stars) with the
  sums of :class:`~crawlers.store.base.RollupRow`;
- ``mention_aspect_days``: the same per aspect and aspect sentiment (a mention naming two
  aspects adds to both; the sentiment sums are the aspect's own), what ``group_by`` with
  ``aspect`` reads.

Both are clustered by (location, day), so a location's year is one narrow range. They are
maintained in the same transaction as the write, by triggers on ``mentions``: every write
path (the crawl's upsert, bulk loads, re-analysis, id migration, deletes, raw SQL from
another process) keeps them right without the writer knowing. An insert adds its sums to
its group; an update or delete recomputes the (location, day) slices it touched from the
mentions themselves, so the sums never drift (no floating-point subtract-and-add). A store
created before them gets them built on open (:func:`ensure_summaries`), in one transaction
with the triggers, so no write falls between the two.

Rows hold a precomputed ``week`` (its Monday) so week buckets cost no date arithmetic. On
sparse data (the synthetic set has ~0.3 mentions per location and day) a summary holds about
one row per mention: the gain there is narrow rows in location order instead of wide rows
found one by one, not fewer rows; busy locations also get fewer rows. A bulk load into an
empty store (``SQLiteStore.insert_new``) drops the triggers and builds the summaries once
at its end.

A rollup whose range starts or ends inside a day reads that partial day from ``mentions``
and the whole days from the summary, in one ``UNION ALL``; the answer is the same rows as
the direct rollup (float sums up to summation order). ``NULL`` keys are stored as
``char(0)`` (text) and ``0`` (stars) because primary-key columns cannot be ``NULL``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

SUMMARY_VERSION = 1
"""Bumped when the summaries' layout or meaning changes: a store with another version
rebuilds them on open."""
_META_KEY = "mention_summary_version"

_TEXT_DIMS = ("location_id", "brand", "source_id", "site", "kind", "language")
"""Text keys of both tables (``location_id`` first: the clustering prefix)."""
_SUM_COLS = ("mentions", "rated", "rating_sum", "positive", "neutral", "negative", "sentiment_sum", "scored",
             "replied", "engagement", "truncated")
_REAL_SUMS = {"rating_sum", "sentiment_sum"}


def _stars(x: str) -> str:
    """``crawlers.store.base.whole_stars`` of row ``x``, 0 for unrated (a key cannot be NULL)."""
    return f"IFNULL(MAX(1, MIN(5, CAST({x}.rating + 0.5 AS INTEGER))), 0)"


class _Table:
    """One summary table: its key columns, how a mention row ``x`` (``NEW``, ``OLD``, or a
    table alias) maps to its keys and sums, and the ``FROM`` that yields its rows."""

    def __init__(self, name: str, by_aspect: bool) -> None:
        self.name, self.by_aspect = name, by_aspect
        self.dims = (*_TEXT_DIMS, "stars", *(("aspect", "sentiment_label") if by_aspect else ("sentiment_label",)))

    # ``pre``: the aspect's fields were extracted once into ``a.aspect``, ``a.label`` and
    # ``a.score`` (:meth:`source` of a trigger row), not read from ``a.value`` each time
    def label(self, x: str, pre: bool = False) -> str:
        if not self.by_aspect:
            return f"{x}.sentiment_label"
        return "a.label" if pre else "json_extract(a.value, '$.sentiment')"

    def score(self, x: str, pre: bool = False) -> str:
        if not self.by_aspect:
            return f"{x}.sentiment_score"
        return "a.score" if pre else "json_extract(a.value, '$.score')"

    def raw_key(self, dim: str, x: str, pre: bool = False) -> str:
        """A rollup key of row ``x`` as the direct rollup computes it (NULL stays NULL)."""
        if dim == "stars":
            return f"MAX(1, MIN(5, CAST({x}.rating + 0.5 AS INTEGER)))"
        if dim == "aspect":
            return "a.aspect" if pre else "json_extract(a.value, '$.aspect')"
        if dim == "sentiment_label":
            return self.label(x, pre)
        return f"{x}.{dim}"

    def encoded_key(self, dim: str, x: str, pre: bool = False) -> str:
        return _stars(x) if dim == "stars" else f"IFNULL({self.raw_key(dim, x, pre)}, char(0))"

    def contributions(self, x: str, pre: bool = False) -> list[str]:
        """One mention's (or aspect mention's) share of each sum, in ``_SUM_COLS`` order."""
        label, score = self.label(x, pre), self.score(x, pre)
        return ["1", f"{x}.rating IS NOT NULL", f"IFNULL({x}.rating, 0.0)", f"IFNULL({label} = 'positive', 0)",
                f"IFNULL({label} = 'neutral', 0)", f"IFNULL({label} = 'negative', 0)", f"IFNULL({score}, 0.0)",
                f"{score} IS NOT NULL", f"{x}.reply_text IS NOT NULL",
                f"COALESCE({x}.likes, 0) + COALESCE({x}.reposts, 0) + COALESCE({x}.comments, 0)",
                f"IFNULL({x}.truncated, 0)"]

    def source(self, x: str, alias: bool = True) -> str:
        """The ``FROM`` clause of this table's rows for mention ``x`` (a trigger's row, or
        ``mentions AS m``); aspects through ``json_each`` (invalid JSON names no aspect)."""
        table = f"mentions AS {x}" if alias else ""
        if not self.by_aspect:
            return table
        each = f"json_each(CASE WHEN json_valid({x}.aspects) THEN {x}.aspects END)"
        if not alias:  # a trigger's row: each aspect's fields extracted once (a FROM subquery may read NEW)
            return (f"(SELECT json_extract(value, '$.aspect') AS aspect, json_extract(value, '$.sentiment') AS label, "
                    f"json_extract(value, '$.score') AS score FROM {each}) AS a")
        return f"{table}, {each} AS a"

    def create_sql(self) -> str:
        cols = [f"{d} {'INTEGER' if d == 'stars' else 'TEXT'} NOT NULL"
                for d in ("location_id", "day", *self.dims[1:], "week")]
        cols += [f"{c} {'REAL' if c in _REAL_SUMS else 'INTEGER'} NOT NULL" for c in _SUM_COLS]
        return (f"CREATE TABLE {self.name} ({', '.join(cols)}, "
                f"PRIMARY KEY (location_id, day, {', '.join(self.dims[1:])})) WITHOUT ROWID")

    def _columns(self) -> str:
        return ", ".join(("location_id", "day", *self.dims[1:], "week", *_SUM_COLS))

    def insert_row_sql(self, x: str) -> str:
        """Add trigger row ``x`` to its group (an insert: sums only grow)."""
        keys = [self.encoded_key("location_id", x), f"substr({x}.published_at, 1, 10)",
                *(self.encoded_key(d, x, pre=True) for d in self.dims[1:]),
                bucket_sql("week", f"substr({x}.published_at, 1, 10)")]
        adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUM_COLS)
        return (f"INSERT INTO {self.name} ({self._columns()}) SELECT {', '.join(keys + self.contributions(x, True))} "
                f"{'FROM ' + self.source(x, alias=False) if self.by_aspect else ''} WHERE 1 "
                f"ON CONFLICT DO UPDATE SET {adds}")

    def refresh_sql(self, x: str, when: str = "1") -> list[str]:
        """Recompute the (location, day) slice of trigger row ``x`` from ``mentions``."""
        day = f"substr({x}.published_at, 1, 10)"
        slice_ = f"m.location_id IS {x}.location_id AND m.published_at >= {day} AND m.published_at < date({day}, '+1 day')"
        group = ", ".join(f"k{i}" for i in range(len(self.dims) + 1))
        return [
            f"DELETE FROM {self.name} WHERE location_id = IFNULL({x}.location_id, char(0)) AND day = {day} "
            f"AND {x}.published_at IS NOT NULL AND {when}",
            f"INSERT INTO {self.name} ({self._columns()}) {self.build_select(slice_)} "
            f"AND {x}.published_at IS NOT NULL AND {when} GROUP BY {group}",
        ]

    def build_select(self, where: str = "1") -> str:
        """The table's rows from ``mentions AS m`` (without ``GROUP BY``: callers add it)."""
        keys = [self.encoded_key("location_id", "m"), "substr(m.published_at, 1, 10)",
                *(self.encoded_key(d, "m") for d in self.dims[1:])]
        sums = [f"{'TOTAL' if c in _REAL_SUMS else 'SUM'}({e})" for c, e in zip(_SUM_COLS, self.contributions("m"),
                                                                             strict=True)]
        named = [f"{k} AS k{i}" for i, k in enumerate(keys)] + [f"{bucket_sql('week', 'substr(m.published_at, 1, 10)')}"]
        return (f"SELECT {', '.join(named)}, {', '.join(sums)} "
                f"FROM {self.source('m')} WHERE m.published_at IS NOT NULL AND {where}")


DAYS = _Table("mention_days", by_aspect=False)
ASPECT_DAYS = _Table("mention_aspect_days", by_aspect=True)
TABLES = (DAYS, ASPECT_DAYS)
_WATCHED = ("location_id", "published_at", "brand", "source_id", "site", "kind", "language", "sentiment_label",
            "sentiment_score", "rating", "reply_text", "likes", "reposts", "comments", "truncated", "aspects")
"""The columns a summary depends on: an update that changes none of them (text, NLP
keywords, a fingerprint move) leaves the summaries alone."""


def _trigger_sql() -> list[str]:
    same_slice = ("NEW.location_id IS OLD.location_id AND "
                  "substr(NEW.published_at, 1, 10) IS substr(OLD.published_at, 1, 10)")
    ins = [t.insert_row_sql("NEW") for t in TABLES]
    dele = [s for t in TABLES for s in t.refresh_sql("OLD")]
    upd = [s for t in TABLES for s in t.refresh_sql("OLD")] + [s for t in TABLES
                                                             for s in t.refresh_sql("NEW", f"NOT ({same_slice})")]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _WATCHED)
    return [
        f"CREATE TRIGGER mention_summary_insert AFTER INSERT ON mentions WHEN NEW.published_at IS NOT NULL "
        f"BEGIN {'; '.join(ins)}; END",
        f"CREATE TRIGGER mention_summary_delete AFTER DELETE ON mentions WHEN OLD.published_at IS NOT NULL "
        f"BEGIN {'; '.join(dele)}; END",
        f"CREATE TRIGGER mention_summary_update AFTER UPDATE ON mentions WHEN {changed} BEGIN {'; '.join(upd)}; END",
    ]


TRIGGERS = ("mention_summary_insert", "mention_summary_delete", "mention_summary_update")


def ensure_summaries(db: sqlite3.Connection) -> bool:
    """Create (or, at another :data:`SUMMARY_VERSION`, rebuild) the summaries and their
    triggers from the stored mentions, in one write transaction so that no write of another
    connection falls between the build and the triggers. True if it built them."""
    if _current(db):
        return False
    db.execute("BEGIN IMMEDIATE")
    try:
        if _current(db):  # another connection built them while this one waited for the lock
            db.execute("COMMIT")
            return False
        for name in TRIGGERS:
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
        for t in TABLES:
            db.execute(f"DROP TABLE IF EXISTS {t.name}")
            db.execute(t.create_sql())
            db.execute(f"INSERT INTO {t.name} {t.build_select()} "
                       f"GROUP BY {', '.join(f'k{i}' for i in range(len(t.dims) + 1))}")
        for sql in _trigger_sql():
            db.execute(sql)
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   (_META_KEY, SUMMARY_VERSION))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return True


def drop_summary_triggers(db: sqlite3.Connection) -> None:
    """Stop maintaining the summaries (a bulk load into an empty store): the next
    :func:`ensure_summaries` (on the load's end, or on any open) rebuilds them."""
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def _current(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_META_KEY,)).fetchone()
    if not row or row[0] != SUMMARY_VERSION:
        return False
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    return have.issuperset({t.name for t in TABLES} | set(TRIGGERS))


# -- reading ----------------------------------------------------------------------------
def bucket_sql(bucket: str, day: str) -> str:
    """The bucket start (``YYYY-MM-DD``) of the UTC day in expression ``day``."""
    if bucket == "day":
        return day
    if bucket == "week":
        return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"
    if bucket == "month":
        return f"substr({day}, 1, 7) || '-01'"
    raise ValueError(bucket)


def _midnight(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _is_midnight(t: datetime) -> bool:
    return (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0)


def rollup_sql(bucket: str, group_by: Sequence[str], since: datetime | None, until: datetime | None,
               location_clause: str | None, location_args: Sequence[str],
               to_db_time: Callable[[datetime], str | None]) -> tuple[str, list[object]]:
    """The rollup as whole days from the summary plus the partial days at either end from
    ``mentions``: the columns of :class:`~crawlers.store.base.RollupRow` in its order and
    types, keys as the direct rollup gives them. ``location_clause`` is the
    id filter on a column named ``location_id`` (``IN (?, ...)`` or a temporary-table
    subquery), its arguments bound once per branch. ``bucket`` may be ``WHOLE_RANGE``
    (``"all"``): then the caller passes the bucket label as the first argument."""
    table = ASPECT_DAYS if "aspect" in group_by else DAYS
    first = None if since is None else (since.date() if _is_midnight(since) else since.date() + timedelta(days=1))
    last = None if until is None else until.date()  # the summary holds days [first, last)
    whole = bucket == "all"
    branches: list[tuple[str, list[object]]] = []
    raw_ranges: list[tuple[str | None, str | None]] = []
    if first is not None and last is not None and first >= last:
        raw_ranges.append((to_db_time(since), to_db_time(until)))  # type: ignore[arg-type]
    else:
        where, args = [], []
        if first is not None:
            where.append("day >= ?")
            args.append(first.isoformat())
        if last is not None:
            where.append("day < ?")
            args.append(last.isoformat())
        if location_clause:
            where.append(f"location_id {location_clause}")
            args.extend(location_args)
        b = "NULL" if whole else ("week" if bucket == "week" else bucket_sql(bucket, "day"))
        keys = "".join(f", NULLIF({d}, {'0' if d == 'stars' else 'char(0)'}) AS {d}" for d in group_by)
        branches.append((f"SELECT {b} AS b{keys}, {', '.join(_SUM_COLS)} FROM {table.name}"
                         f"{' WHERE ' + ' AND '.join(where) if where else ''}", args))
        if since is not None and not _is_midnight(since):
            raw_ranges.append((to_db_time(since), _midnight(first)))  # type: ignore[arg-type]
        if until is not None and not _is_midnight(until):
            raw_ranges.append((_midnight(until.date()), to_db_time(until)))
    for lo, hi in raw_ranges:
        where = ["m.published_at IS NOT NULL", "m.published_at >= ?", "m.published_at < ?"]
        args = [lo, hi]
        if location_clause:
            where.append(f"m.location_id {location_clause}")
            args.extend(location_args)
        b = "NULL" if whole else bucket_sql(bucket, "substr(m.published_at, 1, 10)")
        keys = "".join(f", {table.raw_key(d, 'm')} AS {d}" for d in group_by)
        sums = ", ".join(f"{e} AS {c}" for c, e in zip(_SUM_COLS, table.contributions("m"), strict=True))
        branches.append((f"SELECT {b} AS b{keys}, {sums} FROM {table.source('m')} WHERE {' AND '.join(where)}", args))
    group = ", ".join(["b", *group_by])
    sql = (f"SELECT {'?' if whole else 'b'}" + "".join(f", {d}" for d in group_by)
           # every branch's sums are non-NULL numbers: the columns come out as RollupRow's types
           + ", SUM(mentions), SUM(rated), TOTAL(rating_sum), SUM(positive), SUM(neutral), SUM(negative), "
             "TOTAL(sentiment_sum), SUM(scored), SUM(replied), CAST(TOTAL(engagement) AS INTEGER), SUM(truncated) "
           f"FROM ({' UNION ALL '.join(b for b, _ in branches)}) GROUP BY {group} ORDER BY {group}")
    return sql, [a for _, args in branches for a in args]
