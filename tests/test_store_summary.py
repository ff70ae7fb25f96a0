"""The SQLite day summaries (``crawlers.store.summary``) stay exact under every write path:
after random inserts, changed-content updates, re-analysis, deletes, id migrations, bulk
loads and raw SQL from another connection, every rollup read through them equals the
rollup recomputed from the mentions (``summary=False``)."""

from __future__ import annotations

import itertools
import math
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.base import BUCKETS, WHOLE_RANGE, RollupRow
from crawlers.store.sqlite import SQLiteStore
from crawlers.store.summary import TABLES

T0 = datetime(2026, 10, 1, tzinfo=UTC)
LOCATIONS = ("loc-a", "loc-b", "loc-c", "")
ASPECTS = ("room", "service", "price")
LABELS = ("positive", "neutral", "negative", None)


def _mention(rng: random.Random, n: int) -> Mention:
    rating = rng.choice([None, 1.0, 2.5, 3.3, 4.5, 4.9, 0.2])
    aspects = [{"aspect": rng.choice(ASPECTS), "sentiment": rng.choice(LABELS[:3]), "score": round(rng.uniform(-1, 1), 3)}
               for _ in range(rng.randrange(3))]
    m = Mention(site=rng.choice(["s1", "s2", None]) or "s1", kind=rng.choice(["review", "post"]), url=f"http://x/{n}",
                text=f"text {n}", external_id=str(n), source_id=rng.choice(["src1", "src2"]),
                location_id=rng.choice(LOCATIONS), brand=rng.choice(["b1", "b2"]),
                published_at=rng.choice([None, T0 + timedelta(days=rng.randrange(40), seconds=rng.randrange(86400))]),
                crawled_at=T0, rating=rating, sentiment_label=rng.choice(LABELS),
                sentiment_score=rng.choice([None, round(rng.uniform(-1, 1), 3)]),
                reply_text=rng.choice([None, "thanks"]), likes=rng.choice([None, 0, 3]), reposts=rng.choice([None, 2]),
                language=rng.choice(["zh", "en", None]), aspects=aspects, truncated=rng.random() < 0.1)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def _changed(rng: random.Random, m: Mention) -> Mention:
    """The same mention (fingerprint) read again with other content and figures."""
    c = replace(m, text=m.text + " edited", rating=rng.choice([None, 1.0, 3.7, 5.0]), likes=rng.choice([None, 9]),
                published_at=rng.choice([m.published_at, T0 + timedelta(days=rng.randrange(40), hours=5)]),
                location_id=rng.choice([m.location_id, "loc-a"]), reply_text=rng.choice([None, "sorry"]))
    c.content_hash = mention_content_hash(c)
    return c


def _same(a: list[RollupRow], b: list[RollupRow]) -> None:
    assert [(r.bucket, r.keys) for r in a] == [(r.bucket, r.keys) for r in b]
    for x, y in zip(a, b, strict=True):
        for field, u, v in zip(RollupRow._fields, x, y, strict=True):
            if isinstance(u, float) or isinstance(v, float):
                assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (field, x, y)
                assert type(u) is type(v), (field, x, y)
            else:
                assert u == v, (field, x, y)


GROUPS = [(), ("location_id",), ("location_id", "aspect"), ("location_id", "site", "stars"),
          ("source_id", "language", "sentiment_label"), ("brand", "kind", "aspect", "sentiment_label", "stars")]


def _check_every_rollup(store: SQLiteStore) -> int:
    ranges = [(None, None), (T0 + timedelta(days=3), None), (None, T0 + timedelta(days=20, hours=7)),
              (T0 + timedelta(days=2, hours=13), T0 + timedelta(days=30, hours=1)),
              (T0 + timedelta(days=5, hours=1), T0 + timedelta(days=5, hours=20)),  # inside one day
              (T0 + timedelta(days=5), T0 + timedelta(days=6))]
    many = [*LOCATIONS, *(f"other-{i}" for i in range(300))]  # past the temporary-table threshold
    checked = 0
    for bucket, group_by, (since, until), ids in itertools.product(
            (*BUCKETS, WHOLE_RANGE), GROUPS, ranges, (None, ["loc-b", ""], many)):
        kw = {"bucket": bucket, "group_by": group_by, "since": since, "until": until, "location_ids": ids}
        _same(list(store.rollup(**kw)), list(store.rollup(**kw, summary=False)))  # type: ignore[arg-type]
        checked += 1
    return checked


@pytest.mark.parametrize("seed", [1, 2])
def test_summaries_equal_the_recomputed_rollup_after_random_writes(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = SQLiteStore(f"sqlite:///{tmp_path}/s.db")
    stored: list[Mention] = []
    n = 0
    for step in range(20):
        op = rng.choice(["insert", "insert", "update", "relabel", "bulk", "delete", "raw"]) if stored else "insert"
        if op == "insert":
            batch = [_mention(rng, n + i) for i in range(rng.randrange(1, 25))]
            n += len(batch)
            store.upsert_mentions(batch + rng.sample(batch, min(3, len(batch))))  # repeats in a batch count once
            stored += batch
        elif op == "bulk":
            batch = [_mention(rng, n + i) for i in range(10)]
            n += len(batch)
            store.insert_new(batch + stored[:2])  # already stored: skipped
            stored += batch
        elif op == "update":
            picks = rng.sample(range(len(stored)), min(8, len(stored)))
            changed = [_changed(rng, stored[i]) for i in picks]
            store.upsert_mentions(changed)
            for i, c in zip(picks, changed, strict=True):
                stored[i] = c
        elif op == "relabel":  # reanalyze: new NLP fields only
            picks = [replace(m, sentiment_label=rng.choice(LABELS), sentiment_score=rng.choice([None, 0.4]),
                             aspects=[{"aspect": "price", "sentiment": "negative", "score": -0.2}])
                     for m in rng.sample(stored, min(10, len(stored)))]
            store.update_nlp(picks)
        elif op == "delete":  # ids re-keyed into a scope that merges duplicates deletes rows
            gone = stored.pop(rng.randrange(len(stored)))
            with store._lock:
                store._db.execute("DELETE FROM mentions WHERE fingerprint = ?", (gone.fingerprint,))
        else:  # another process writing with plain SQL
            db = sqlite3.connect(store.path)
            db.execute("UPDATE mentions SET rating = 4.0, location_id = 'loc-c' WHERE rowid % 5 = ?", (step % 5,))
            db.execute("UPDATE mentions SET text = 'only the text' WHERE rowid % 3 = 0")
            db.commit()
            db.close()
    assert _check_every_rollup(store) > 0
    store.close()


def test_id_migration_keeps_the_summaries(tmp_path: Path) -> None:
    rng = random.Random(5)
    store = SQLiteStore(f"sqlite:///{tmp_path}/s.db")
    store.upsert_mentions([_mention(rng, i) for i in range(40)])
    store.migrate_ids(lambda m: "scope" if int(m.external_id or 0) % 2 else None)
    _check_every_rollup(store)


def test_a_store_without_summaries_gets_them_on_open(tmp_path: Path) -> None:
    rng = random.Random(7)
    url = f"sqlite:///{tmp_path}/old.db"
    store = SQLiteStore(url)
    store.upsert_mentions([_mention(rng, i) for i in range(60)])
    store.close()
    db = sqlite3.connect(f"{tmp_path}/old.db")  # as a store made before the summaries
    for name in ("mention_summary_insert", "mention_summary_delete", "mention_summary_update"):
        db.execute(f"DROP TRIGGER {name}")
    for t in TABLES:
        db.execute(f"DROP TABLE {t.name}")
    db.execute("DELETE FROM meta WHERE key = 'mention_summary_version'")
    db.commit()
    db.close()
    store = SQLiteStore(url)
    assert store._db.execute("SELECT COUNT(*) FROM mention_days").fetchone()[0] > 0
    store.upsert_mentions([_mention(rng, 100 + i) for i in range(20)])  # the triggers are back too
    _check_every_rollup(store)


def test_rollups_interleaved_or_left_half_read_share_the_reader_pool(tmp_path: Path) -> None:
    """Reader connections are pooled: a rollup read while another is half-way (each with its
    own temporary id table), or one abandoned half-read, never disturbs the next."""
    rng = random.Random(3)
    store = SQLiteStore(f"sqlite:///{tmp_path}/s.db")
    store.upsert_mentions([_mention(rng, i) for i in range(80)])
    many_a = ["loc-a", *(f"x-{i}" for i in range(300))]
    many_b = ["loc-b", *(f"y-{i}" for i in range(300))]
    want_a = list(store.rollup(location_ids=many_a, summary=False))
    want_b = list(store.rollup(location_ids=many_b, summary=False))
    outer = store.rollup(location_ids=many_a)
    first = next(outer)
    _same(list(store.rollup(location_ids=many_b)), want_b)  # another connection from the pool
    _same([first, *outer], want_a)
    half = store.rollup(location_ids=many_b)
    next(half)
    half.close()
    _same(list(store.rollup(location_ids=many_a)), want_a)
    assert len(store._readers) <= 4
    store.close()


def test_a_bulk_load_into_an_empty_store_builds_the_summaries_once(tmp_path: Path) -> None:
    rng = random.Random(11)
    store = SQLiteStore(f"sqlite:///{tmp_path}/s.db")
    assert store.insert_new([_mention(rng, i) for i in range(120)], batch=50) == 120
    names = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"mention_summary_insert", "mention_summary_update", "mention_summary_delete"} <= names  # back on
    store.upsert_mentions([_mention(rng, 500 + i) for i in range(10)])
    _check_every_rollup(store)
