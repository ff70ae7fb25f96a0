"""The alert tables' contract on every store backend (``any_store``: SQLite for real, MongoDB
through mongomock, a real MongoDB when ``VOCWATCH_TEST_MONGO_URL`` is set): incidents and
their forward-only states, cooldown lookups, pending deliveries, quiet incidents resolved,
engagement snapshots, the hourly series and viral candidates (the same records as a SQLite
store holding the same mentions, across time zones and aspects), and the detectors end to end."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.loader import load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.alerts import (
    Alert,
    AlertStoreError,
    AspectHour,
    EngagementSnapshot,
    HourCounts,
    hour_of,
)
from crawlers.store.sqlite import SQLiteStore
from monitor.alerting import check_and_notify, run_detectors
from tests.test_alerting import NOW, burst, config_toml, mention

T0 = datetime(2026, 3, 29, 0, 30, 15, 654321, tzinfo=UTC)  # the night Europe/London moves to BST


def alert(n: int, *, watch: str = "bund", last_seen: datetime = T0, state: str = "new", **kw: object) -> Alert:
    a = Alert(id=f"a{n}", kind="negative_spike", severity="warning", state=state, location_id=watch, brand="harbor",
              region="shanghai", aspect=None, title=f"spike {n} 床单", summary="line one\nline two",
              details={"observed": 8, "expected": 0.4, "ratio": None, "top_terms": [["不干净", 8]],
                       "nested": {"k": (1, 2)}},
              mentions=[{"url": "https://x/1", "why": "first", "engagement": 3}],
              first_seen=last_seen - timedelta(hours=1), last_seen=last_seen)
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_alert_roundtrip_list_and_forward_only_states(any_store) -> None:  # type: ignore[no-untyped-def]
    alerts = any_store.alerts
    first = alert(1, last_seen=T0.astimezone(timezone(timedelta(hours=8))))
    alerts.save(first)
    got = alerts.get("a1")
    # stored as aware UTC at whole seconds on every backend; JSON-shaped details
    assert got.last_seen == T0.replace(microsecond=0) and got.last_seen.utcoffset() == timedelta(0)
    assert got.details["nested"] == {"k": [1, 2]} and got.details["ratio"] is None
    assert (got.title, got.summary, got.mentions, got.version, got.notified_version) == (
        first.title, first.summary, first.mentions, 1, 0)
    assert alerts.get("nope") is None
    alerts.save(alert(2, watch="pudong", last_seen=T0 + timedelta(hours=1)))
    alerts.save(alert(3, last_seen=T0 + timedelta(hours=1)))
    assert [a.id for a in alerts.list()] == ["a2", "a3", "a1"]  # newest activity, then id
    assert [a.id for a in alerts.list(location_id="bund", limit=1)] == ["a3"]
    assert [a.id for a in alerts.pending()] == ["a1", "a2", "a3"]  # oldest first

    alerts.mark_notified("a1", 1)
    assert (alerts.get("a1").state, alerts.get("a1").notified_version) == ("notified", 1)
    alerts.mark_notified("a1", 0)  # a late, older delivery record changes nothing
    assert alerts.get("a1").notified_version == 1
    assert [a.id for a in alerts.pending()] == ["a2", "a3"]
    assert alerts.set_state("a1", "acknowledged").state == "acknowledged"
    alerts.mark_notified("a1", 2)
    assert alerts.get("a1").state == "acknowledged"  # only a new alert becomes notified
    assert alerts.set_state("a1", "acknowledged").state == "acknowledged"  # already: no change, no error
    assert alerts.set_state("a2", "resolved").state == "resolved"
    with pytest.raises(AlertStoreError, match="is resolved; it cannot become acknowledged"):
        alerts.set_state("a2", "acknowledged")
    with pytest.raises(AlertStoreError, match="is acknowledged; it cannot become notified"):
        alerts.set_state("a1", "notified")
    with pytest.raises(AlertStoreError, match="unknown state"):
        alerts.set_state("a1", "snoozed")
    with pytest.raises(AlertStoreError, match="unknown state"):
        alerts.list(state="snoozed")
    with pytest.raises(AlertStoreError, match="no alert with id"):
        alerts.set_state("nope", "resolved")
    with pytest.raises(AlertStoreError, match="no alert with id"):
        alerts.mark_notified("nope", 1)
    assert [a.id for a in alerts.list(state="acknowledged")] == ["a1"]
    assert [a.id for a in alerts.list(state="resolved", location_id="pudong")] == ["a2"]
    with pytest.raises(ValueError, match="naive datetime"):
        alerts.save(alert(9, last_seen=datetime(2026, 3, 29)))


def test_a_save_never_moves_the_state_back_nor_forgets_a_delivery(any_store) -> None:  # type: ignore[no-untyped-def]
    """A check that read an alert before a person acknowledged it, and saves it after."""
    alerts = any_store.alerts
    alerts.save(alert(1))
    stale = alerts.get("a1")
    alerts.mark_notified("a1", 1)
    alerts.set_state("a1", "acknowledged")
    stale.version, stale.title, stale.last_seen = 2, "grown", T0 + timedelta(hours=2)
    alerts.save(stale)  # state "new", notified_version 0 in the stale copy
    got = alerts.get("a1")
    assert (got.state, got.notified_version, got.version, got.title) == ("acknowledged", 1, 2, "grown")
    assert got.last_seen == (T0 + timedelta(hours=2)).replace(microsecond=0)
    got.state = "resolved"
    alerts.save(got)  # forward through a save is fine
    assert alerts.get("a1").state == "resolved"


def test_open_for_is_the_latest_incident_of_the_watch_in_the_cooldown(any_store) -> None:  # type: ignore[no-untyped-def]
    alerts = any_store.alerts
    old, new, other = alert(1, last_seen=T0), alert(2, last_seen=T0 + timedelta(hours=5)), alert(3, watch="pudong")
    for a in (old, new, other):
        alerts.save(a)
    assert alerts.open_for(old.watch, T0 - timedelta(hours=1)).id == "a2"
    assert alerts.open_for(old.watch, T0 + timedelta(hours=5)).id == "a2"  # last_seen == since counts
    assert alerts.open_for(old.watch, T0 + timedelta(hours=5, seconds=1)) is None
    alerts.set_state("a2", "resolved")
    assert alerts.open_for(old.watch, T0).id == "a2"  # resolved still holds back a repeat
    assert alerts.open_for(other.watch, T0 + timedelta(minutes=1)) is None
    assert alerts.open_for("negative_spike|elsewhere|harbor||", T0 - timedelta(days=1)) is None


def test_open_incident_opens_one_per_watch_and_a_new_one_after_the_cooldown(any_store) -> None:  # type: ignore[no-untyped-def]
    alerts = any_store.alerts
    cooldown = timedelta(hours=12)
    assert alerts.open_incident(alert(1), T0 - cooldown) is None  # the watch's first: opened
    assert alerts.open_incident(alert(2, last_seen=T0 + timedelta(hours=1)), T0 + timedelta(hours=1) - cooldown).id == "a1"
    kept = alerts.get("a1")
    kept.last_seen = T0 + timedelta(hours=11)
    alerts.save(kept)  # seen again: the cooldown runs from here
    assert alerts.open_incident(alert(3, last_seen=T0 + timedelta(hours=20)), T0 + timedelta(hours=8)).id == "a1"
    later = T0 + timedelta(hours=24)
    assert alerts.open_incident(alert(4, last_seen=later), later - cooldown) is None  # quiet for 13 h: a new one
    assert alerts.open_incident(alert(5, last_seen=later), later - cooldown).id == "a4"
    assert alerts.open_incident(alert(6, watch="pudong", last_seen=later), later - cooldown) is None
    assert sorted(a.id for a in alerts.list()) == ["a1", "a4", "a6"]


def test_checks_racing_on_one_watch_open_one_incident(any_store) -> None:  # type: ignore[no-untyped-def]
    """Eight checks at once (threads standing in for processes: on SQLite each with a
    connection of its own to the file), each with its own candidate incident for the same
    watch: one opens it, the others get that one."""
    import threading

    barrier, got = threading.Barrier(8), {}
    own = isinstance(any_store, SQLiteStore)  # mongomock's clients do not share data

    def check(i: int) -> None:
        store = SQLiteStore(any_store.url) if own else any_store
        barrier.wait()
        old = store.alerts.open_incident(alert(i, last_seen=T0 + timedelta(seconds=i)), T0 - timedelta(hours=12))
        got[i] = old.id if old else None
        if own:
            store.close()

    threads = [threading.Thread(target=check, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = [i for i, v in got.items() if v is None]
    assert len(opened) == 1 and set(got.values()) == {None, f"a{opened[0]}"}
    assert [a.id for a in any_store.alerts.list()] == [f"a{opened[0]}"]


def test_open_incident_decides_by_its_own_atomic_step(any_store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The race made certain: a check whose look-up ran before another check opened the
    incident (its ``open_for`` sees nothing) still gets the open one, and adds none."""
    alerts = any_store.alerts
    assert alerts.open_incident(alert(1), T0 - timedelta(hours=12)) is None
    monkeypatch.setattr(alerts, "open_for", lambda watch, since: None)
    assert alerts.open_incident(alert(2, last_seen=T0 + timedelta(minutes=1)), T0 - timedelta(hours=12)).id == "a1"
    monkeypatch.undo()
    assert [a.id for a in alerts.list()] == ["a1"]


def test_resolve_quiet_resolves_only_open_incidents_not_seen_since(any_store) -> None:  # type: ignore[no-untyped-def]
    alerts = any_store.alerts
    alerts.save(alert(1, last_seen=T0))
    alerts.save(alert(2, last_seen=T0, state="acknowledged"))
    alerts.save(alert(3, last_seen=T0, state="resolved"))
    alerts.save(alert(4, last_seen=T0 + timedelta(hours=3)))
    resolved = alerts.resolve_quiet(T0 + timedelta(hours=3))
    assert [(a.id, a.state) for a in resolved] == [("a1", "new"), ("a2", "acknowledged")]  # the states they left
    assert {a.id: a.state for a in alerts.list()} == {"a1": "resolved", "a2": "resolved", "a3": "resolved",
                                                      "a4": "new"}
    assert alerts.resolve_quiet(T0 + timedelta(hours=3)) == []
    assert alerts.pending() == [alerts.get("a4")]


def test_snapshots_replace_and_prune(any_store) -> None:  # type: ignore[no-untyped-def]
    snaps = any_store.snapshots
    assert snaps.previous() == {}
    snaps.replace([EngagementSnapshot("f1", 3, T0 - timedelta(hours=40), T0),
                   EngagementSnapshot("f2", 10, T0 - timedelta(hours=2), T0)], prune_before=T0 - timedelta(hours=48))
    assert snaps.previous() == {"f1": 3, "f2": 10}
    later = T0 + timedelta(hours=10)
    snaps.replace([EngagementSnapshot("f2", 400, T0 - timedelta(hours=2), later)], prune_before=later - timedelta(hours=48))
    assert snaps.previous() == {"f2": 400}  # f1 fell out of the window, f2 replaced
    snaps.replace([], prune_before=later)
    assert snaps.previous() == {}


# -- the series, against a SQLite store holding the same mentions ----------------------------
def _m(n: int, at: datetime | None, loc: str | None = "bund", *, label: str | None = "negative",
       rating: float | None = None, aspects: list[dict[str, object]] | None = None, likes: int | None = None,
       reposts: int | None = None, comments: int | None = None) -> Mention:
    m = Mention(site="weibo", kind="post", url=f"https://weibo.example/s{n}", text=f"t{n}", external_id=f"s{n}",
                source_id=f"{loc}/weibo", location_id=loc, brand="harbor", published_at=at, crawled_at=T0,
                rating=rating, sentiment_label=label, aspects=aspects or [], likes=likes, reposts=reposts,
                comments=comments)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


SINCE, UNTIL = datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 29, 12, 0, 0, 500000, tzinfo=UTC)
LONDON, SHANGHAI = ZoneInfo("Europe/London"), ZoneInfo("Asia/Shanghai")
NEG, POS = "negative", "positive"


def edge_mentions() -> list[Mention]:
    clean = {"aspect": "cleanliness", "sentiment": NEG}
    return [
        _m(1, datetime(2026, 3, 29, 0, 59, 59, 999000, tzinfo=LONDON), rating=1.0, aspects=[clean, clean]),  # 00:59:59Z
        _m(2, datetime(2026, 3, 29, 2, 0, 0, tzinfo=LONDON), rating=2.5, likes=4,  # BST: 01:00Z
           aspects=[clean, {"aspect": "staff", "sentiment": NEG}, {"aspect": "noise", "sentiment": POS}]),
        _m(3, datetime(2026, 3, 29, 9, 0, 30, tzinfo=SHANGHAI), label=POS, rating=4.5, likes=2, reposts=1,
           comments=None, aspects=[{"aspect": "", "sentiment": NEG}, {"sentiment": NEG}]),  # 01:00:30Z
        _m(4, SINCE, label=None, rating=None, aspects=[{"aspect": "staff", "sentiment": NEG}]),  # at since: in
        _m(5, SINCE - timedelta(microseconds=1), aspects=[clean]),  # just before since: out
        _m(6, datetime(2026, 3, 29, 12, 0, 0, 200000, tzinfo=UTC), likes=9),  # stored second == until's: out
        _m(7, datetime(2026, 3, 29, 11, 59, 59, 999999, tzinfo=UTC), loc="pudong", likes=1, comments=5),  # in
        _m(8, datetime(2026, 3, 29, 7, 45, tzinfo=timezone(timedelta(hours=-5))), loc="pudong", rating=3.0),  # 12:45Z: out
        _m(9, None, aspects=[clean]),  # no date: never in a window
        _m(10, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), loc=None, aspects=[clean]),  # no location
    ]


def random_mentions(seed: int, n: int = 400) -> list[Mention]:
    rnd = random.Random(seed)
    zones = [UTC, LONDON, SHANGHAI, timezone(timedelta(hours=-9, minutes=-30))]
    out = []
    for i in range(n):
        at = (SINCE + timedelta(seconds=rnd.randrange(-3600, 26 * 3600), microseconds=rnd.randrange(10**6)))
        aspects = [{"aspect": rnd.choice(["cleanliness", "staff", "noise", "价格"]),
                    "sentiment": rnd.choice([NEG, NEG, POS, "neutral"]), "score": -0.5} for _ in range(rnd.randrange(3))]
        out.append(_m(100 + i, at.astimezone(rnd.choice(zones)), rnd.choice(["bund", "pudong", "jingan"]),
                      label=rnd.choice([NEG, POS, "neutral", None]), rating=rnd.choice([None, 1.0, 2.5, 4.0, 5.0]),
                      aspects=aspects, likes=rnd.choice([None, 0, 3, 250]), reposts=rnd.choice([None, 1]),
                      comments=rnd.choice([None, 7])))
    return out


def _series(store, location_ids=None):  # type: ignore[no-untyped-def]
    kw = {"since": SINCE, "until": UNTIL, "location_ids": location_ids}
    return store.hour_counts(**kw), store.negative_aspect_hours(**kw), store.viral_candidates(**kw)


def test_hourly_series_at_the_edges(any_store) -> None:  # type: ignore[no-untyped-def]
    ms = edge_mentions()
    any_store.upsert_mentions(ms)
    counts, aspects, viral = _series(any_store)
    h = hour_of
    assert counts == [
        HourCounts(None, h("2026-03-28T23"), 1, 1, 0, 0.0, 0.0),
        HourCounts("bund", h("2026-03-28T12"), 1, 0, 0, 0.0, 0.0),
        HourCounts("bund", h("2026-03-29T00"), 1, 1, 1, 1.0, 1.0),
        HourCounts("bund", h("2026-03-29T01"), 2, 1, 2, 7.0, 6.25 + 20.25),
        HourCounts("pudong", h("2026-03-29T11"), 1, 1, 0, 0.0, 0.0),
    ]
    assert aspects == [
        AspectHour(None, "cleanliness", h("2026-03-28T23"), 1),
        AspectHour("bund", "cleanliness", h("2026-03-29T00"), 2),  # named twice: counted twice
        AspectHour("bund", "cleanliness", h("2026-03-29T01"), 1),
        AspectHour("bund", "staff", h("2026-03-28T12"), 1),
        AspectHour("bund", "staff", h("2026-03-29T01"), 1),
    ]
    assert {v.fingerprint: (v.location_id, v.engagement) for v in viral} == {
        ms[0].fingerprint: ("bund", 0), ms[1].fingerprint: ("bund", 4), ms[2].fingerprint: ("bund", 3),
        ms[3].fingerprint: ("bund", 0), ms[6].fingerprint: ("pudong", 6), ms[9].fingerprint: (None, 0)}
    assert [v.fingerprint for v in viral] == sorted(v.fingerprint for v in viral)
    assert next(v for v in viral if v.fingerprint == ms[6].fingerprint).published_at == \
        datetime(2026, 3, 29, 11, 59, 59, tzinfo=UTC)
    only = _series(any_store, ["pudong"])
    assert [c.location_id for c in only[0]] == ["pudong"] and only[1] == [] and len(only[2]) == 1
    assert _series(any_store, []) == ([], [], [])


@pytest.mark.parametrize("seed", [1, 2])
def test_hourly_series_and_viral_candidates_equal_a_sqlite_store(any_store, tmp_path: Path, seed: int) -> None:  # type: ignore[no-untyped-def]
    ms = edge_mentions() + random_mentions(seed)
    reference = SQLiteStore(str(tmp_path / "reference.db"))
    reference.upsert_mentions(ms)
    any_store.upsert_mentions(ms)
    try:
        for ids in (None, ["bund", "jingan"]):
            assert _series(any_store, ids) == _series(reference, ids)
        assert sum(c.mentions for c in _series(any_store)[0]) > 300
    finally:
        reference.close()


# -- the detectors end to end -----------------------------------------------------------
def _config(tmp_path: Path, extra: str = ""):  # type: ignore[no-untyped-def]
    # the config's own store URL is not used: every call is given the store under test
    path = tmp_path / "vocwatch.toml"
    path.write_text(config_toml(tmp_path / "unused.db", extra), encoding="utf-8")
    return load_config(path)


def _history() -> list[Mention]:
    """28 days of calm: one mention every 2 hours per location, every fifth negative."""
    return [mention(loc, NOW - timedelta(days=29) + timedelta(hours=2 * i, minutes=7), negative=i % 5 == 0)
            for loc in ("bund", "pudong") for i in range(29 * 12)]


def test_the_detectors_find_the_same_incidents_as_on_sqlite(any_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same crawls on ``any_store`` and on a SQLite store, checked at the same times:
    the same alerts returned and stored, field for field (ids are derived from the watch and
    the time, so they match too)."""
    config = _config(tmp_path)
    reference = SQLiteStore(str(tmp_path / "reference.db"))
    stores = (any_store, reference)
    try:
        history = _history()
        for s in stores:
            s.upsert_mentions(history)
        post = mention("pudong", NOW - timedelta(hours=5), text="将要火的帖子", likes=30)
        steps: list[tuple[datetime, list[Mention]]] = [
            (NOW - timedelta(hours=1), [post]),
            (NOW, [*_burst(NOW, 8, "bund", keywords=["不干净"]), _liked(post, 1200)]),
            (NOW + timedelta(hours=1), _burst(NOW + timedelta(hours=1), 6, "bund")),
            (NOW + timedelta(hours=20), []),
        ]
        for at, batch in steps:
            found = []
            for s in stores:
                s.upsert_mentions(batch)
                found.append([a.to_dict() for a in run_detectors(config, s, now=at)])
            assert found[0] == found[1]
            if at == NOW:
                assert sorted(a["kind"] for a in found[0]) == ["negative_spike", "viral_post"]
        assert [a.to_dict() for a in any_store.alerts.list()] == [a.to_dict() for a in reference.alerts.list()]
        assert {a.state for a in any_store.alerts.list()} == {"resolved"}
        assert any_store.snapshots.previous() == reference.snapshots.previous()
    finally:
        reference.close()


def _burst(end: datetime, n: int, loc: str, **kw: object) -> list[Mention]:
    return [mention(loc, end - timedelta(minutes=5 + 10 * i), negative=True, **kw) for i in range(n)]  # type: ignore[arg-type]


def _liked(m: Mention, likes: int) -> Mention:
    m = Mention(**m.to_dict())
    m.likes = likes
    m.content_hash = mention_content_hash(m)
    return m


def test_check_and_notify_on_any_store_opens_the_spike_once(any_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path)
    any_store.upsert_mentions(_history())
    burst(any_store, NOW, 8)  # type: ignore[arg-type]
    found, _ = check_and_notify(config, any_store, now=NOW)
    (a,) = found
    assert (a.kind, a.location_id, a.state, a.version) == ("negative_spike", "bund", "new", 1)
    assert a.details["observed"] == 8 and a.details["window_hours"] == 3
    assert any_store.alerts.get(a.id).to_dict() == a.to_dict() | {
        "first_seen": NOW.isoformat(), "last_seen": NOW.isoformat()}
    assert check_and_notify(config, any_store, now=NOW + timedelta(minutes=30))[0] == []
    assert [x.id for x in any_store.alerts.list()] == [a.id]


def test_an_alert_is_detected_delivered_and_marked_notified_on_any_store(any_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Detection, delivery and the notified mark all on the store under test (MongoDB
    included): no SQLite file is needed for alerting any more."""
    from tests.alert_receivers import Webhook

    with Webhook() as hook:
        config = _config(tmp_path, f"""
[[channels]]
id = "hook"
url = "json://127.0.0.1:{hook.port}/alerts"
[[routes]]
channels = ["hook"]
""")
        any_store.upsert_mentions(_history())
        burst(any_store, NOW, 8)  # type: ignore[arg-type]
        found, results = check_and_notify(config, any_store, now=NOW)
        assert [(a.kind, r.status) for a, r in zip(found, results, strict=True)] == [("negative_spike", "sent")]
        assert any_store.alerts.get(found[0].id).state == "notified"
        assert [d.status for d in any_store.deliveries.list()] == ["sent"]
        again, results = check_and_notify(config, any_store, now=NOW + timedelta(minutes=30))
        assert again == [] and results == []
    assert len(hook.requests) == 1
    assert hook.requests[0]["json"]["alert"]["kind"] == "negative_spike"


def test_move_says_which_state_it_left_and_list_filters_by_last_seen(any_store) -> None:  # type: ignore[no-untyped-def]
    alerts = any_store.alerts
    alerts.save(alert(1, last_seen=T0))
    alerts.save(alert(2, watch="pudong", last_seen=T0 + timedelta(hours=5)))
    moved, before = alerts.move("a1", "acknowledged")
    assert (moved.state, before) == ("acknowledged", "new")
    moved, before = alerts.move("a1", "acknowledged")  # already: nothing moved, so nobody records a move
    assert (moved.state, before) == ("acknowledged", "acknowledged")
    with pytest.raises(AlertStoreError, match="cannot become notified"):
        alerts.move("a1", "notified")
    assert [a.id for a in alerts.list(since=T0 + timedelta(hours=1))] == ["a2"]
    assert [a.id for a in alerts.list(since=T0)] == ["a2", "a1"]
