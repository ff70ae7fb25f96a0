"""SQLite store: idempotent upserts by fingerprint, updates on changed content, run records."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store import open_store
from crawlers.store.mongo import doc_to_mention, mention_to_doc
from crawlers.store.sqlite import SQLiteStore, sqlite_path

T0 = datetime(2026, 11, 20, 6, 32, tzinfo=UTC)


def mention(ext: str, text: str = "房间很干净", likes: int | None = 1, **kw: object) -> Mention:
    m = Mention(site="s", kind="review", url=f"http://x/{ext}", text=text, external_id=ext, source_id="src",
                location_id="loc", brand="b", published_at=T0, crawled_at=T0, likes=likes,
                aspects=[{"aspect": "cleanliness", "sentiment": "positive", "score": 0.8}], keywords=["干净"], **kw)  # type: ignore[arg-type]
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(f"sqlite:///{tmp_path}/v.db")


def test_roundtrip_keeps_every_field(store: SQLiteStore) -> None:
    m = mention("1", rating_raw=8.0, rating_scale=10.0, rating=4.0, reply_text="谢谢", reply_at=T0 + timedelta(hours=3),
                language="zh", sentiment_label="positive", sentiment_score=0.7, nlp_model="x-1")
    store.upsert_mentions([m])
    (back,) = list(store.iter_mentions())
    assert back == m
    assert back.published_at.tzinfo is UTC  # type: ignore[union-attr]


def test_forum_fields_roundtrip_and_old_stores_gain_their_columns(tmp_path: Path) -> None:
    """``quoted`` and ``in_reply_to`` (issue 12) are stored, and a store made before them
    gets the columns on open, its old rows reading None."""
    import sqlite3

    path = tmp_path / "old.db"
    store = SQLiteStore(f"sqlite:///{path}")
    store.upsert_mentions([mention("old")])
    store.close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE mentions DROP COLUMN quoted")
    db.execute("ALTER TABLE mentions DROP COLUMN in_reply_to")
    db.commit()
    db.close()
    store = SQLiteStore(f"sqlite:///{path}")
    new = mention("new", quoted="楼上说得对", in_reply_to="old")
    store.upsert_mentions([new])
    got = {m.external_id: m for m in store.iter_mentions()}
    assert (got["old"].quoted, got["old"].in_reply_to) == (None, None)
    assert got["new"] == new


def test_upsert_is_idempotent_and_updates_changed_content(store: SQLiteStore) -> None:
    first = store.upsert_mentions([mention("1"), mention("2"), mention("1")])
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 1)
    again = store.upsert_mentions([mention("1"), mention("2")])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = mention("2", likes=40)
    changed.source_id = "other-source"
    res = store.upsert_mentions([changed])
    assert (res.inserted, res.updated) == (0, 1)
    assert store.count_mentions() == 2
    stored = {m.external_id: m for m in store.iter_mentions()}
    assert stored["2"].likes == 40
    assert stored["2"].source_id == "src"  # first sighting is kept
    assert store.known_fingerprints("src") == {m.fingerprint: m.content_hash for m in stored.values()}


def test_filters_by_location_and_window(store: SQLiteStore) -> None:
    a, b = mention("a"), mention("b")
    b.location_id, b.published_at = "elsewhere", T0 - timedelta(days=10)
    b.fingerprint = mention_fingerprint(b)
    store.upsert_mentions([a, b])
    assert [m.external_id for m in store.iter_mentions(location_ids=["loc"])] == ["a"]
    assert [m.external_id for m in store.iter_mentions(since=T0 - timedelta(days=1))] == ["a"]
    assert [m.external_id for m in store.iter_mentions(until=T0)] == ["b"]


def test_naive_datetimes_are_refused(store: SQLiteStore) -> None:
    m = mention("n")
    m.published_at = datetime(2026, 1, 1)
    with pytest.raises(ValueError, match="naive datetime"):
        store.upsert_mentions([m])
    assert store.count_mentions() == 0  # the batch was rolled back


def test_runs_and_last_success(store: SQLiteStore) -> None:
    r1 = store.start_run("src", "hotel_reviews", T0)
    store.finish_run(r1, T0 + timedelta(minutes=1), "finished", {"vocwatch/dropped/missing_text": 1, "start_time": "x"})
    r2 = store.start_run("src", "hotel_reviews", T0 + timedelta(hours=1))
    store.finish_run(r2, T0 + timedelta(hours=1, minutes=1), "partial", {})
    last = store.last_successful_run("src")
    assert last is not None and last.id == r1 and last.stats["vocwatch/dropped/missing_text"] == 1
    assert [r.outcome for r in store.list_runs(source_id="src")] == ["partial", "finished"]
    assert store.last_successful_run("other") is None


def test_data_survives_reopen_and_secret_is_stable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    s1 = open_store(url)
    s1.upsert_mentions([mention("1")])
    key = s1.secret("author_pseudonym")
    s1.close()
    s2 = open_store(url)
    assert s2.count_mentions() == 1
    assert s2.secret("author_pseudonym") == key and len(key) == 32
    assert s2.secret("other") != key


def test_concurrent_writers_lose_nothing(store: SQLiteStore) -> None:
    def write(prefix: str) -> None:
        for i in range(50):
            store.upsert_mentions([mention(f"{prefix}-{i}")])

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_mentions() == 200


def test_sqlite_urls() -> None:
    assert sqlite_path("sqlite:///data/x.db") == "data/x.db"
    assert sqlite_path("sqlite:////abs/x.db") == "/abs/x.db"
    assert sqlite_path("plain/file.db") == "plain/file.db"
    with pytest.raises(ValueError, match="bad SQLite URL"):
        sqlite_path("sqlite://host/x.db")


# -- one contract, both backends: ``any_store`` (tests/conftest.py) ---------------------------
def test_contract_roundtrip_and_idempotent_upsert(any_store) -> None:  # type: ignore[no-untyped-def]
    m = mention("1", rating_raw=8.0, rating_scale=10.0, rating=4.0, reply_text="谢谢", reply_at=T0 + timedelta(hours=3),
                language="zh", sentiment_label="positive", sentiment_score=0.7, nlp_model="x-1")
    assert any_store.upsert_mentions([m]).inserted == 1
    assert any_store.upsert_mentions([m]).unchanged == 1
    changed = mention("1", likes=9)
    assert any_store.upsert_mentions([changed]).updated == 1
    (back,) = list(any_store.iter_mentions())
    assert back.likes == 9 and back.published_at == T0 and back.published_at.tzinfo is not None
    assert any_store.count_mentions(source_id="src") == 1
    assert any_store.known_fingerprints("src") == {changed.fingerprint: changed.content_hash}


def test_contract_only_runs_with_evidence_set_the_cut_off(any_store) -> None:  # type: ignore[no-untyped-def]
    """last_successful_run: finished and advanced; an old run without the flag counts by its
    outcome; partial, killed, interrupted and non-advancing runs never do."""
    old = any_store.start_run("src", "selectors", T0)
    any_store.finish_run(old, T0 + timedelta(minutes=1), "finished", {})
    assert any_store.last_successful_run("src").id == old
    for i, (outcome, stats) in enumerate([("finished", {"vocwatch/cutoff/advanced": 0}), ("partial", {}),
                                          ("killed", {}), ("interrupted", {})], start=1):
        rid = any_store.start_run("src", "selectors", T0 + timedelta(hours=i), {"vocwatch/pid": 1})
        any_store.finish_run(rid, T0 + timedelta(hours=i, minutes=1), outcome, stats)
        assert any_store.last_successful_run("src").id == old, outcome
    good = any_store.start_run("src", "selectors", T0 + timedelta(hours=9))
    any_store.finish_run(good, T0 + timedelta(hours=9, minutes=1), "finished",
                         {"vocwatch/cutoff/advanced": 1, "vocwatch/failed_requests": [{"url": "http://x/2", "runs": 1}]})
    last = any_store.last_successful_run("src")
    assert last.id == good and last.stats["vocwatch/failed_requests"] == [{"url": "http://x/2", "runs": 1}]
    assert [r.outcome for r in any_store.list_runs(source_id="src", limit=3)] == ["finished", "interrupted", "killed"]


def test_mongo_document_mapping_roundtrip() -> None:
    """No MongoDB server can be installed here: only the document mapping is tested."""
    m = mention("1")
    doc = mention_to_doc(m)
    assert doc["_id"] == m.fingerprint and "fingerprint" not in doc
    assert doc_to_mention(doc) == m


def test_mongo_unreachable_fails_clearly() -> None:
    import pymongo.errors

    with pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
        from crawlers.store.mongo import MongoStore

        MongoStore("mongodb://127.0.0.1:1/vocwatch", server_timeout_ms=200)


# -- rollups -------------------------------------------------------------------------
def _rolled(store: SQLiteStore) -> None:
    """Five mentions over two ISO weeks and two months, two locations, hand-checked below."""
    rows = [  # ext, location, day, rating, label, score, reply, likes, aspects
        ("a", "loc", datetime(2026, 10, 30, 23, 0, tzinfo=UTC), 5.0, "positive", 0.8, "谢谢", 3,
         [{"aspect": "room", "sentiment": "positive", "score": 0.6}, {"aspect": "service", "sentiment": "negative", "score": -0.5}]),
        ("b", "loc", datetime(2026, 10, 30, 1, 0, tzinfo=UTC), 2.0, "negative", -0.6, None, None,
         [{"aspect": "room", "sentiment": "negative", "score": -0.7}]),
        ("c", "loc", datetime(2026, 11, 2, 8, 0, tzinfo=UTC), None, "neutral", 0.1, None, 1, []),
        ("d", "rival", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), 4.0, "positive", 0.5, "thanks", 0, []),
        ("e", "loc", None, 1.0, "negative", -0.9, None, 0, []),  # no date: in no bucket
    ]
    ms = []
    for ext, loc, day, rating, label, score, reply, likes, aspects in rows:
        m = mention(ext, text=f"t{ext}", likes=likes, rating=rating, sentiment_label=label,
                    sentiment_score=score, reply_text=reply)
        m.location_id, m.published_at, m.aspects = loc, day, aspects
        m.fingerprint = mention_fingerprint(m)
        ms.append(m)
    store.upsert_mentions(ms)


def test_rollup_by_day_and_location_sums(store: SQLiteStore) -> None:
    _rolled(store)
    rows = list(store.rollup(bucket="day", group_by=("location_id",)))
    assert [(r.bucket, r.keys) for r in rows] == [
        ("2026-10-30", ("loc",)), ("2026-11-02", ("loc",)), ("2026-11-02", ("rival",))]
    oct30 = rows[0]
    assert (oct30.mentions, oct30.rated, oct30.rating_sum) == (2, 2, 7.0)
    assert (oct30.positive, oct30.neutral, oct30.negative) == (1, 0, 1)
    assert oct30.sentiment_sum == pytest.approx(0.2) and oct30.scored == 2
    assert (oct30.replied, oct30.engagement) == (1, 3)
    assert (rows[1].rated, rows[1].rating_sum, rows[1].neutral) == (0, 0.0, 1)


def test_rollup_weeks_start_monday_months_on_the_first(store: SQLiteStore) -> None:
    _rolled(store)
    weeks = {r.bucket: r.mentions for r in store.rollup(bucket="week", group_by=())}
    assert weeks == {"2026-10-26": 2, "2026-11-02": 2}  # Fri 30 Oct -> Mon 26 Oct; Mon 2 Nov stays
    months = {r.bucket: r.mentions for r in store.rollup(bucket="month", group_by=())}
    assert months == {"2026-10-01": 2, "2026-11-01": 2}


def test_rollup_by_aspect_uses_the_aspect_sentiment(store: SQLiteStore) -> None:
    _rolled(store)
    rows = {r.keys: r for r in store.rollup(bucket="month", group_by=("aspect",))}
    assert set(rows) == {("room",), ("service",)}
    room = rows[("room",)]
    assert (room.mentions, room.positive, room.negative) == (2, 1, 1)
    assert room.sentiment_sum == pytest.approx(-0.1) and room.rating_sum == 7.0
    assert (rows[("service",)].negative, rows[("service",)].mentions) == (1, 1)
    by_label = {r.keys: r.mentions for r in store.rollup(bucket="month", group_by=("aspect", "sentiment_label"))}
    assert by_label == {("room", "negative"): 1, ("room", "positive"): 1, ("service", "negative"): 1}


def test_rollup_window_and_location_filter(store: SQLiteStore) -> None:
    _rolled(store)
    rows = list(store.rollup(since=datetime(2026, 10, 30, 12, tzinfo=UTC), until=datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
                             location_ids=["loc"]))
    assert [(r.bucket, r.mentions) for r in rows] == [("2026-10-30", 1), ("2026-11-02", 1)]


def test_rollup_rejects_unknown_bucket_and_key(store: SQLiteStore) -> None:
    with pytest.raises(ValueError, match="bucket"):
        list(store.rollup(bucket="hour"))
    with pytest.raises(ValueError, match="text"):
        list(store.rollup(group_by=("text",)))


def test_mongo_rollup_pipeline_shape() -> None:
    from crawlers.store.mongo import rollup_pipeline

    p = rollup_pipeline("week", ("location_id", "aspect"), T0, None, ["loc"])
    assert p[0] == {"$match": {"published_at": {"$ne": None, "$gte": T0}, "location_id": {"$in": ["loc"]}}}
    assert p[1] == {"$unwind": "$aspects"}
    key = p[2]["$group"]["_id"]
    assert key["b"]["$dateTrunc"]["startOfWeek"] == "monday" and key["k1"] == "$aspects.aspect"
    with pytest.raises(ValueError):
        rollup_pipeline("hour", (), None, None, None)


def test_rollup_whole_range_is_one_bucket_per_group(store: SQLiteStore) -> None:
    from crawlers.store.base import WHOLE_RANGE

    _rolled(store)
    since = datetime(2026, 10, 1, tzinfo=UTC)
    rows = {r.keys: (r.bucket, r.mentions, r.rating_sum) for r in store.rollup(bucket=WHOLE_RANGE, since=since)}
    assert rows == {("loc",): ("2026-10-01", 3, 7.0), ("rival",): ("2026-10-01", 1, 4.0)}
    assert {r.bucket for r in store.rollup(bucket=WHOLE_RANGE, group_by=())} == {""}


# -- crawl-health findings (contract over both backends: any_store above) ---------------
def test_health_findings_are_kept_with_their_run(any_store) -> None:  # type: ignore[no-untyped-def]
    from crawlers.store.base import HealthFinding
    from monitor.health import history

    runs = []
    for i in range(3):
        rid = any_store.start_run("src", "hotel_reviews", T0 + timedelta(hours=i))
        any_store.finish_run(rid, T0 + timedelta(hours=i, minutes=1), ("finished", "partial", "failed")[i], {})
        runs.append(rid)
    assert [r.id for r in history(any_store, "src", 5)] == runs[1::-1]  # failed runs are not history
    assert [r.id for r in history(any_store, "src", 5, before=runs[1])] == runs[:1]

    def finding(problem: str, severity: str, run_id: int) -> HealthFinding:
        return HealthFinding("src", problem, severity, f"{problem} in run {run_id}", {"fields": {"rating": [1.0, 0.0]}},
                             run_id, T0 + timedelta(hours=run_id))

    any_store.record_health(runs[0], [finding("no_new", "info", runs[0])])
    any_store.record_health(runs[1], [finding("no_new", "info", runs[1]), finding("fields_lost", "warning", runs[1]),
                                      finding("no_items", "critical", runs[1])])
    got = any_store.list_health(source_id="src")
    assert [(f.run_id, f.problem) for f in got] == [(runs[1], "no_items"), (runs[1], "fields_lost"),
                                                    (runs[1], "no_new"), (runs[0], "no_new")]
    assert got[1] == finding("fields_lost", "warning", runs[1])  # every field round-trips
    assert got[1].found_at is not None and got[1].found_at.utcoffset() == timedelta(0)
    assert [f.problem for f in any_store.list_health(run_id=runs[0])] == ["no_new"]
    assert len(any_store.list_health(limit=2)) == 2
    any_store.record_health(runs[1], [])  # re-checked: replaced, not added to
    assert [f.run_id for f in any_store.list_health()] == [runs[0]]
    assert any_store.list_health(source_id="other") == []


# -- rollup by whole star (contract over both backends) ----------------------------------
@pytest.mark.parametrize("rating", [None, 0.0, 0.2, 1.0, 1.49, 2.5, 3.5, 4.49, 4.5, 5.0])
def test_whole_stars_rounds_half_up_within_one_to_five(rating: float | None) -> None:
    from crawlers.store.base import whole_stars

    expected = {None: None, 0.0: 1, 0.2: 1, 1.0: 1, 1.49: 1, 2.5: 3, 3.5: 4, 4.49: 4, 4.5: 5, 5.0: 5}[rating]
    assert whole_stars(rating) == expected


def test_rollup_by_stars_is_the_rating_distribution(any_store) -> None:  # type: ignore[no-untyped-def]
    """Each backend rounds in its query exactly as ``whole_stars`` does: half up (Mongo's
    ``$round`` would take 4.5 and 2.5 to the even star), unrated mentions under None."""
    from crawlers.store.base import WHOLE_RANGE, whole_stars

    ratings = {"loc": [4.5, 4.49, 5.0, 2.5, 0.2, None, None, 3.5], "rival": [1.0, 1.49, 5.0]}
    ms = []
    for loc, values in ratings.items():
        for i, r in enumerate(values):
            m = mention(f"{loc}-{i}", text=f"t{loc}{i}", rating=r, sentiment_label="positive" if i % 2 else "negative")
            m.location_id = loc
            m.fingerprint = mention_fingerprint(m)
            ms.append(m)
    any_store.upsert_mentions(ms)
    rows = {r.keys: r for r in any_store.rollup(bucket=WHOLE_RANGE, group_by=("location_id", "stars"))}
    assert {k: r.mentions for k, r in rows.items()} == {
        ("loc", None): 2, ("loc", 1): 1, ("loc", 3): 1, ("loc", 4): 2, ("loc", 5): 2,
        ("rival", 1): 2, ("rival", 5): 1}
    assert all(type(k[1]) is int for k in rows if k[1] is not None)  # an int on every backend, not 5.0
    assert rows[("loc", 5)].rating_sum == pytest.approx(9.5) and rows[("loc", None)].rated == 0
    assert (rows[("loc", 4)].positive, rows[("loc", 5)].negative) == (2, 2)  # other sums still add
    # the same counts as rounding each stored mention in Python
    by_hand: dict[tuple[str, int | None], int] = {}
    for loc, values in ratings.items():
        for r in values:
            by_hand[(loc, whole_stars(r))] = by_hand.get((loc, whole_stars(r)), 0) + 1
    assert {k: r.mentions for k, r in rows.items()} == by_hand
    # stars first, a location filter and a window (mongomock has no $dateTrunc: whole range only)
    rows2 = list(any_store.rollup(bucket=WHOLE_RANGE, group_by=("stars", "location_id"), location_ids=["rival"],
                                  since=T0 - timedelta(days=1), until=T0 + timedelta(days=1)))
    assert [(r.bucket, r.keys, r.mentions) for r in rows2] == [
        ("2026-11-19", (1, "rival"), 2), ("2026-11-19", (5, "rival"), 1)]


def test_mongo_rollup_pipeline_rounds_stars_half_up() -> None:
    from crawlers.store.mongo import rollup_pipeline

    key = rollup_pipeline("day", ("stars",), None, None, None)[1]["$group"]["_id"]["k0"]
    assert "$round" not in str(key) and {"$floor": {"$add": ["$rating", 0.5]}} in key["$cond"][2]["$max"][1]["$min"]
