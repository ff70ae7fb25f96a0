"""Metrics: every formula on hand-computed numbers, windows, deltas, priors, thresholds, trends.

Expected values are worked out by hand in the comments, not taken from the code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.loader import build_config
from crawlers.items import Mention, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from monitor import metrics
from monitor.metrics import (
    Sums,
    aspect_trend,
    bayesian_rating,
    benchmark,
    comp_index,
    decay_weight,
    mean_rating,
    net_sentiment,
    parse_window,
    platform_scores,
    rank_in_set,
    rating_distribution,
    reputation_index,
    response_rate,
    review_share,
    trend,
    weakest_aspects,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # a Tuesday


# -- pure formulas ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("12w", 84), ("6m", 180), ("1y", 365), (" 90D ", 90)])
def test_parse_window(text: str, days: int) -> None:
    assert parse_window(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["90x", "-3d", "0d", "", "d", "3.5d", "100y", "90"])
def test_parse_window_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="bad window"):
        parse_window(text)


def test_rating_formulas() -> None:
    assert mean_rating(12.0, 3) == 4.0
    assert mean_rating(0.0, 0) is None
    # prior 3.0 counted as 10 reviews, plus two 5-star reviews: (3*10 + 10) / (10 + 2) = 40/12
    assert bayesian_rating(10.0, 2, 3.0) == pytest.approx(3.33333, abs=1e-5)
    assert bayesian_rating(0.0, 0, 3.0) == 3.0  # no reviews: the prior
    assert bayesian_rating(1000.0, 200, 3.0, weight=0) == 5.0  # no weight: the plain mean
    assert bayesian_rating(8.0, 2, None) == 4.0  # no prior known: the plain mean


def test_sentiment_response_share_comp_index() -> None:
    assert net_sentiment(6, 2) == 0.5  # (6-2)/(6+2)
    assert net_sentiment(0, 3) == -1.0
    assert net_sentiment(0, 0) is None
    assert response_rate(3, 12) == 0.25
    assert response_rate(0, 0) is None
    assert review_share(30, 90) == 0.25  # 30 / (30+90)
    assert review_share(0, 0) is None
    assert comp_index(4.0, 3.2) == pytest.approx(125.0)
    assert comp_index(None, 3.2) is None and comp_index(4.0, None) is None and comp_index(4.0, 0.0) is None


def test_decay_weight_halves_every_half_life() -> None:
    assert decay_weight(0) == 1.0
    assert decay_weight(30) == 0.5
    assert decay_weight(60) == 0.25
    assert decay_weight(7, half_life=7) == 0.5


def test_reputation_index_blends_decayed_rating_and_sentiment() -> None:
    fresh = Sums(mentions=6, rated=6, rating_sum=24.0, positive=4, negative=2)
    old = Sums(mentions=6, rated=6, rating_sum=12.0, positive=0, negative=6)
    # weights 1 and 0.5: rating (24 + 6) / (6 + 3) = 3.333 -> /5 = 0.6667
    # net sentiment (4 - 0) - (2 + 3) over 9 = -1/9 -> (1 - 1/9)/2 = 0.4444
    # 100 * (0.7 * 0.6667 + 0.3 * 0.4444) = 100 * (0.46667 + 0.13333) = 60.0
    assert reputation_index([(0, fresh), (30, old)]) == pytest.approx(60.0)
    assert reputation_index([(0, fresh), (30, old)], min_reviews=12) == pytest.approx(60.0)
    assert reputation_index([(0, fresh), (30, old)], min_reviews=13) is None  # 12 mentions < 13
    # one component missing: the other alone
    assert reputation_index([(5, Sums(mentions=10, rated=10, rating_sum=40.0))]) == pytest.approx(80.0)
    assert reputation_index([(5, Sums(mentions=10, positive=3, negative=1))]) == pytest.approx(75.0)
    assert reputation_index([(0, Sums(mentions=10, neutral=10))]) is None
    assert reputation_index([]) is None


def test_rank_in_set() -> None:
    assert rank_in_set(70.0, [80.0, None, 60.0, 70.0]) == (2, 4)  # one better; a tie shares the better rank
    assert rank_in_set(90.0, []) == (1, 1)
    assert rank_in_set(None, [1.0, 2.0]) == (None, 2)


def test_weakest_aspects_need_enough_mentions_on_both_sides() -> None:
    own = {"room": Sums(mentions=10, positive=2, negative=8),     # -0.6
           "service": Sums(mentions=10, positive=9, negative=1),  # +0.8, better than the set
           "breakfast": Sums(mentions=3, negative=3),             # too few own mentions
           "value": Sums(mentions=6, positive=3, negative=3),     # 0.0
           "wifi": Sums(mentions=8, negative=8)}                  # not in the set
    rivals = {"room": Sums(mentions=20, positive=15, negative=5),  # +0.5 -> gap -1.1
              "service": Sums(mentions=20, positive=10, negative=10),
              "breakfast": Sums(mentions=20, positive=20),
              "value": Sums(mentions=5, positive=4, negative=1)}    # +0.6 -> gap -0.6
    gaps = weakest_aspects(own, rivals)
    assert [(g.aspect, round(g.gap, 4)) for g in gaps] == [("room", -1.1), ("value", -0.6)]
    assert (gaps[0].own_mentions, gaps[0].set_mentions) == (10, 20)
    assert [g.aspect for g in weakest_aspects(own, rivals, limit=1)] == ["room"]
    assert weakest_aspects(own, rivals, min_mentions=7) == [weakest_aspects(own, rivals)[0]]


# -- against a store -------------------------------------------------------------------
KM_LAT = 360 / (2 * 3.141592653589793 * 6371.0088)


def _config():  # type: ignore[no-untyped-def]
    def loc(lid: str, km: float, role: str = "competitor", **kw: object) -> dict[str, object]:
        return dict(id=lid, name=lid.upper(), brand="b", category="hotel", lat=30 + km * KM_LAT, lon=120.0, region="r",
                    role=role, **kw)

    return build_config({"brands": [{"id": "b"}], "locations": [
        loc("own", 0, role="own", competitors={"radius_km": 3.0}),
        loc("r1", 1), loc("r2", 2), loc("far", 10),
        loc("lonely", 50, role="own", competitors={"radius_km": 1.0}),
    ]}, Path("t.toml"))


_seq = iter(range(10**6))


def _m(loc: str, when: datetime, rating: float | None = None, label: str | None = None, *, replied: bool = False,
       source: str = "hotel_reviews", aspects: list[dict[str, object]] | None = None) -> Mention:
    site = "s" if source == "hotel_reviews" else source  # the forum posts are another site
    m = Mention(site=site, kind="review", url=f"http://x/{next(_seq)}", text="t", external_id=str(next(_seq)),
                source_id=f"{loc}/{source}", location_id=loc, brand="b", published_at=when, crawled_at=when,
                rating=rating, sentiment_label=label, reply_text="thanks" if replied else None, aspects=aspects or [])
    m.fingerprint = mention_fingerprint(m)
    return m


def _asp(name: str, label: str) -> list[dict[str, object]]:
    return [{"aspect": name, "sentiment": label, "score": 0.5 if label == "positive" else -0.5}]


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    today = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
    ms = []
    # own, today: five 5.0 and five 3.0 (mean 4.0); 6 positive, 2 negative, 2 neutral; 4 replied
    labels = ["positive"] * 6 + ["negative"] * 2 + ["neutral"] * 2
    for i in range(10):
        ms.append(_m("own", today, 5.0 if i < 5 else 3.0, labels[i], replied=i < 4,
                     source="hotel_reviews" if i < 6 else "forum"))
    # own aspects (unrated, unlabelled posts): room 1 positive 5 negative (-4/6), service 5 positive (+1)
    ms += [_m("own", today, aspects=_asp("room", "positive" if i == 0 else "negative")) for i in range(6)]
    ms += [_m("own", today, aspects=_asp("service", "positive")) for _ in range(5)]
    # own, previous window: two 2.0 negative reviews on Feb 15
    ms += [_m("own", datetime(2026, 2, 15, tzinfo=UTC), 2.0, "negative") for _ in range(2)]
    # r1 today: ten 3.0, five positive five negative; room 5 positive 1 negative
    ms += [_m("r1", today, 3.0, "positive" if i < 5 else "negative") for i in range(10)]
    ms += [_m("r1", today, aspects=_asp("room", "positive" if i < 5 else "negative")) for i in range(6)]
    # r2 today: ten 4.0 positive; service 5 positive
    ms += [_m("r2", today, 4.0, "positive") for _ in range(10)]
    ms += [_m("r2", today, aspects=_asp("service", "positive")) for _ in range(5)]
    # far (not in the set): five 1.0 reviews
    ms += [_m("far", today, 1.0, "negative") for _ in range(5)]
    s = SQLiteStore(f"sqlite:///{tmp_path}/m.db")
    s.upsert_mentions(ms)
    return s


def test_benchmark_own_against_set(store: SQLiteStore) -> None:
    cfg = _config()
    (b,) = benchmark(cfg, store, location_ids=["own"], window="30d", now=NOW)
    cur = b.current
    # 30d window ending Tue 31 Mar 12:00: Mar 2 00:00 .. now; previous Jan 31 .. Mar 2
    assert (cur.start, cur.end) == (datetime(2026, 3, 2, tzinfo=UTC), NOW)
    assert (b.previous.start, b.previous.end) == (datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert (cur.mentions, cur.rated, cur.avg_rating) == (21, 10, 4.0)
    assert (cur.positive, cur.negative, cur.neutral, cur.net_sentiment) == (6, 2, 2, 0.5)
    assert cur.response_rate == pytest.approx(4 / 21)
    # all of today: rating 4.0/5 = 0.8, net 0.5 -> 0.75; 100 * (0.7*0.8 + 0.3*0.75) = 78.5
    assert cur.reputation_index == pytest.approx(78.5)
    # set pooled rating (30 + 40) / 20 = 3.5 is the prior (20 ratings >= m=10): (3.5*10 + 40) / 20 = 3.75
    assert b.prior_rating == pytest.approx(3.5)
    assert cur.bayes_rating == pytest.approx(3.75)
    assert [m.location.id for m in b.members] == ["r1", "r2"]
    assert [round(m.distance_km, 6) for m in b.members] == [1.0, 2.0]
    # r1: 3.0 -> 0.6, net 0 -> 0.5: 100*(0.42 + 0.15) = 57; r2: 4.0 -> 0.8, net 1 -> 1: 100*(0.56 + 0.3) = 86
    assert [m.metrics.reputation_index for m in b.members] == [pytest.approx(57.0), pytest.approx(86.0)]
    assert b.set_avg.avg_rating == pytest.approx(3.5)
    assert b.set_avg.reputation_index == pytest.approx(71.5)
    assert b.set_avg.mentions == 31
    assert b.comp_index_rating == pytest.approx(4.0 / 3.5 * 100)
    assert b.comp_index_reputation == pytest.approx(78.5 / 71.5 * 100)
    assert b.review_share == pytest.approx(21 / 52)
    assert (b.rank, b.rank_of) == (2, 3)
    # room: own -4/6, set (r1) +4/6: gap -4/3; service own +1 = set +1: no gap
    assert [(g.aspect, round(g.gap, 4)) for g in b.weakest_aspects] == [("room", -1.3333)]
    assert {(a.aspect, a.mentions, a.positive, a.negative) for a in cur.aspects} == {("room", 6, 1, 5), ("service", 5, 5, 0)}
    # per site: "s" (own 17 mentions, 6 rated: 5*5.0 + 3.0) against r1 and r2 there; the forum is own only
    s_site, forum = b.platforms
    assert (s_site.site, s_site.own.mentions, s_site.own.avg_rating) == ("s", 17, pytest.approx(28 / 6))
    assert (forum.site, forum.own.mentions, forum.own.avg_rating, forum.own.net_sentiment) == ("forum", 4, 3.0, -1.0)
    # the set on "s": 31 mentions, 20 rated (30 + 40), 15 positive 5 negative, no replies
    assert (s_site.set.mentions, s_site.set.avg_rating, s_site.set.net_sentiment, s_site.set.response_rate) == (
        31, 3.5, 0.5, 0.0)
    assert s_site.members == 2 and s_site.own.response_rate == pytest.approx(4 / 17)
    # ranked by the Bayesian rating towards the site's mean 98/26: own (37.69 + 28)/16 = 4.11,
    # r1 (37.69 + 30)/20 = 3.38, r2 (37.69 + 40)/20 = 3.88
    assert s_site.own.bayes_rating == pytest.approx((98 / 26 * 10 + 28) / 16)
    assert (s_site.rank, s_site.rank_of, s_site.rank_by) == (1, 3, "bayes_rating")
    assert s_site.gap_rating == pytest.approx(28 / 6 - 3.5) and s_site.gap_net_sentiment == pytest.approx(0.5)
    assert s_site.gap_response_rate == pytest.approx(4 / 17) and s_site.review_share == pytest.approx(17 / 48)
    # nobody else on the forum: first of one, no gaps, no share
    assert (forum.members, forum.rank, forum.rank_of, forum.gap_rating, forum.review_share) == (0, 1, 1, None, None)
    # whole stars: own five 5s and five 3s (11 unrated aspect posts), the set ten 3s and ten 4s
    dist = b.rating_distribution
    assert [(x.stars, x.own, x.own_share, x.set, x.set_share) for x in dist.stars] == [
        (1, 0, 0.0, 0, 0.0), (2, 0, 0.0, 0, 0.0), (3, 5, 0.5, 10, 0.5), (4, 0, 0.0, 10, 0.5), (5, 5, 0.5, 0, 0.0)]
    assert (dist.own_rated, dist.own_unrated, dist.set_rated, dist.set_unrated) == (10, 11, 20, 11)
    # previous window: two 2.0 negative reviews; the set had no ratings then, so the prior is
    # every location's mean in that window (the same two): bayes 2.0; too few for an index
    prev = b.previous
    assert (prev.mentions, prev.avg_rating, prev.bayes_rating, prev.net_sentiment) == (2, 2.0, 2.0, -1.0)
    assert prev.reputation_index is None and prev.index_note == "too few reviews (n < 10)"
    dd = b.deltas
    assert (dd["mentions"], dd["avg_rating"], dd["net_sentiment"], dd["reputation_index"]) == (19, 2.0, 1.5, None)
    d = b.to_dict()
    assert json.loads(json.dumps(d)) == d  # JSON-plain: nothing that would not come back the same
    assert d["platforms"][0]["own"]["mentions"] == 17 and d["rating_distribution"]["stars"][2]["own"] == 5
    assert b.to_dict()["set"][0]["metrics"]["reputation_index"] == pytest.approx(57.0)


def test_benchmark_is_the_same_on_mongo(store: SQLiteStore) -> None:
    """The sites, stars and aspect rollups give the same benchmark through the Mongo
    pipeline (mongomock, taught ``$dateTrunc`` as the scale benchmark does)."""
    from crawlers.store.mongo import mention_to_doc
    from vocwatch.bench.scale import _mongomock_store

    mongo = _mongomock_store()
    try:
        mongo._mentions.delete_many({})
        mongo._mentions.insert_many([mention_to_doc(m) for m in store.iter_mentions()])
        for lid in ("own", "lonely"):
            (a,) = benchmark(_config(), store, location_ids=[lid], window="30d", now=NOW)
            (b,) = benchmark(_config(), mongo, location_ids=[lid], window="30d", now=NOW)
            assert _same(b.to_dict(), a.to_dict())
        assert aspect_trend(_config(), mongo, "own", window="14d", now=NOW) == aspect_trend(
            _config(), store, "own", window="14d", now=NOW)
    finally:
        mongo.close()


def _same(x: object, y: object) -> bool:
    """Equal, floats to 1e-9 (the backends add in different orders)."""
    if isinstance(x, dict) and isinstance(y, dict):
        assert x.keys() == y.keys()
        return all(_same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        assert len(x) == len(y)
        return all(_same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float) or isinstance(y, float):
        assert x == pytest.approx(y, abs=1e-9)
        return True
    assert x == y
    return True


def test_location_without_set_and_no_mentions(store: SQLiteStore) -> None:
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.members == [] and b.current.mentions == 0
    assert b.current.avg_rating is None and b.current.reputation_index is None
    assert b.current.index_note == "too few reviews (n < 10)"
    assert b.review_share is None and b.comp_index_rating is None and b.rank is None and b.rank_of == 0
    # no set: the prior is every location's mean in the window: (40 + 30 + 40 + 5) / 35
    assert b.prior_rating == pytest.approx(115 / 35)
    assert b.platforms == () and b.rating_distribution.own_rated == 0
    assert [x.own_share for x in b.rating_distribution.stars] == [None] * 5


def test_platform_scores_rank_among_the_rivals_on_each_site() -> None:
    own = {"reviews": Sums(mentions=3, rated=3, rating_sum=15.0, positive=3),          # three 5.0s
           "social": Sums(mentions=10, positive=2, negative=6, replied=5)}             # no ratings: -0.5
    big = {"reviews": Sums(mentions=100, rated=100, rating_sum=460.0, positive=90, negative=10, replied=80),
           "social": Sums(mentions=10, positive=5, negative=5),                        # 0.0
           "maps": Sums(mentions=4, rated=4, rating_sum=16.0)}                         # own is not on maps
    small = {"social": Sums(mentions=10, positive=1, negative=9)}                      # -0.8
    by_site = {p.site: p for p in platform_scores(own, [big, small])}
    assert list(by_site) == ["social", "reviews", "maps"]  # own's busiest first, rivals-only last
    # reviews: prior (15 + 460)/103 = 4.612; own (46.12 + 15)/13 = 4.70 beats (46.12 + 460)/110 = 4.60,
    # though three reviews alone would not: the plain means 5.0 vs 4.6 agree here, a 4.8 would not
    r = by_site["reviews"]
    assert (r.rank, r.rank_of, r.rank_by, r.members) == (1, 2, "bayes_rating", 1)
    assert r.own.bayes_rating == pytest.approx((475 / 103 * 10 + 15) / 13)
    assert r.gap_rating == pytest.approx(5.0 - 4.6) and r.gap_response_rate == pytest.approx(0 - 0.8)
    assert r.review_share == pytest.approx(3 / 103)
    # social: nobody has ratings, so net sentiment ranks: -0.5 is second after big's 0.0, ahead of -0.8
    sc = by_site["social"]
    assert (sc.rank, sc.rank_of, sc.rank_by, sc.own.bayes_rating) == (2, 3, "net_sentiment", None)
    assert sc.set.net_sentiment == pytest.approx((6 - 14) / 20) and sc.gap_net_sentiment == pytest.approx(-0.5 + 0.4)
    # maps: the set is there, the location is not: no rank for it, the set still counted
    mp = by_site["maps"]
    assert (mp.own.mentions, mp.rank, mp.rank_of, mp.set.mentions, mp.review_share) == (0, None, 1, 4, 0.0)
    # a better plain mean on two reviews does not outrank 200 at 4.8: the site's mean (9.8 + 960 + 800)/402
    # = 4.40 pulls it to (44.03 + 9.8)/12 = 4.49, below (44.03 + 960)/210 = 4.78 and above 4.02
    few = platform_scores({"x": Sums(mentions=2, rated=2, rating_sum=9.8)},
                          [{"x": Sums(mentions=200, rated=200, rating_sum=960.0)},
                           {"x": Sums(mentions=200, rated=200, rating_sum=800.0)}])[0]
    assert few.own.avg_rating == 4.9 and (few.rank, few.rank_of) == (2, 3)
    assert few.own.bayes_rating == pytest.approx((1769.8 / 402 * 10 + 9.8) / 12)


def test_rating_distribution_shares_of_the_rated() -> None:
    d = rating_distribution({5: 6, 4: 2, None: 4}, {1: 1, 5: 1})
    assert [(x.stars, x.own, x.own_share, x.set_share) for x in d.stars] == [
        (1, 0, 0.0, 0.5), (2, 0, 0.0, 0.0), (3, 0, 0.0, 0.0), (4, 2, 0.25, 0.0), (5, 6, 0.75, 0.5)]
    assert (d.own_rated, d.own_unrated, d.set_rated, d.set_unrated) == (8, 4, 2, 0)
    empty = rating_distribution({None: 3}, {})
    assert all(x.own_share is None and x.set_share is None for x in empty.stars) and empty.own_unrated == 3


def _rollups_over_everyone(monkeypatch: pytest.MonkeyPatch, store: SQLiteStore) -> list[int]:
    """Count the store's rollups without a location filter (the global prior's)."""
    calls = [0]
    rollup = store.rollup

    def counting(**kw):  # type: ignore[no-untyped-def]
        calls[0] += kw.get("location_ids") is None
        return rollup(**kw)

    monkeypatch.setattr(store, "rollup", counting)
    return calls


def test_global_prior_is_cached_until_new_mentions_arrive(store: SQLiteStore, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(metrics, "PRIOR_MAX_STALE_SECONDS", 0.0)  # any write makes it stale
    everyone = _rollups_over_everyone(monkeypatch, store)
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(115 / 35) and everyone[0] == 1
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW + timedelta(hours=6))
    assert b.prior_rating == pytest.approx(115 / 35) and everyone[0] == 1  # same day, same data: the cache
    # five 5.0 reviews of a location in no set: only the global prior sees them
    store.upsert_mentions([_m("far", NOW - timedelta(hours=1), 5.0, "positive") for _ in range(5)])
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(140 / 40) and everyone[0] == 2
    # another writer on the same file (another process's crawl) moves the version too
    other = SQLiteStore(store.url)
    other.upsert_mentions([_m("far", NOW - timedelta(hours=1), 1.0, "negative") for _ in range(10)])
    other.close()
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(150 / 50) and everyone[0] == 3
    # a new day is a new window: read again, even with no new data
    benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW + timedelta(days=1))
    assert everyone[0] == 4


def test_global_prior_is_reused_for_a_while_after_writes(store: SQLiteStore, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """During a crawl the store changes every second: the prior is read again only once it is
    PRIOR_MAX_STALE_SECONDS old, not on every dashboard request."""
    clock = [1000.0]
    monkeypatch.setattr(metrics, "_monotonic", lambda: clock[0])
    everyone = _rollups_over_everyone(monkeypatch, store)
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(115 / 35) and everyone[0] == 1
    store.upsert_mentions([_m("far", NOW - timedelta(hours=1), 5.0, "positive") for _ in range(5)])
    clock[0] += metrics.PRIOR_MAX_STALE_SECONDS - 1
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(115 / 35) and everyone[0] == 1  # new data, but not stale yet
    clock[0] += 2
    (b,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert b.prior_rating == pytest.approx(140 / 40) and everyone[0] == 2
    clock[0] += 10 * metrics.PRIOR_MAX_STALE_SECONDS  # old, but no write since: still right
    benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert everyone[0] == 2


def test_global_prior_cache_is_never_shared_between_stores(store: SQLiteStore, tmp_path: Path) -> None:
    (a,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    other = SQLiteStore(f"sqlite:///{tmp_path}/other.db")  # same window, day and data version "1"
    other.upsert_mentions([_m("far", NOW - timedelta(hours=1), 2.0, "negative") for _ in range(4)])
    assert other.data_version() == store.data_version()
    (b,) = benchmark(_config(), other, location_ids=["lonely"], window="30d", now=NOW)
    assert (a.prior_rating, b.prior_rating) == (pytest.approx(115 / 35), 2.0)
    (a,) = benchmark(_config(), store, location_ids=["lonely"], window="30d", now=NOW)
    assert a.prior_rating == pytest.approx(115 / 35)
    other.close()


def test_global_prior_is_read_only_for_a_thin_set(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    s = SQLiteStore(f"sqlite:///{tmp_path}/thick.db")
    s.upsert_mentions([_m(lid, when, 4.0, "positive") for lid in ("r1", "r2")
                       for when in (NOW - timedelta(hours=2), datetime(2026, 2, 15, tzinfo=UTC)) for _ in range(5)])
    everyone = _rollups_over_everyone(monkeypatch, s)
    (b,) = benchmark(_config(), s, location_ids=["own"], window="30d", now=NOW)
    assert b.prior_rating == 4.0 and everyone[0] == 0  # the set's 10 ratings per window suffice
    benchmark(_config(), s, location_ids=["lonely"], window="30d", now=NOW)  # no set: every location's
    assert everyone[0] == 1
    s.close()


def test_benchmark_defaults_to_all_own_locations_and_rejects_bad_ids(store: SQLiteStore) -> None:
    assert [b.location.id for b in benchmark(_config(), store, now=NOW)] == ["lonely", "own"]
    with pytest.raises(ValueError, match="unknown location id 'ghost'"):
        benchmark(_config(), store, location_ids=["ghost"], now=NOW)
    with pytest.raises(ValueError, match="'r1' is a competitor location"):
        benchmark(_config(), store, location_ids=["r1"], now=NOW)
    with pytest.raises(ValueError, match="bad window"):
        benchmark(_config(), store, window="-3d", now=NOW)


def test_window_edges(tmp_path: Path) -> None:
    s = SQLiteStore(f"sqlite:///{tmp_path}/e.db")
    s.upsert_mentions([
        _m("own", datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), 4.0),     # first second of the window
        _m("own", datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), 2.0),  # last second of the previous one
        _m("own", NOW + timedelta(hours=1), 1.0),                        # after now: in neither
        _m("own", datetime(2026, 1, 30, 23, 59, 59, tzinfo=UTC), 1.0),  # before the previous window
    ])
    (b,) = benchmark(_config(), s, location_ids=["own"], window="30d", now=NOW)
    assert (b.current.mentions, b.current.avg_rating) == (1, 4.0)
    assert (b.previous.mentions, b.previous.avg_rating) == (1, 2.0)


def test_trend_by_week(tmp_path: Path) -> None:
    s = SQLiteStore(f"sqlite:///{tmp_path}/t.db")
    ms = [_m("own", datetime(2026, 3, 30, 9, tzinfo=UTC), 4.0, "positive") for _ in range(10)]   # Mon Mar 30
    ms.append(_m("own", datetime(2026, 3, 17, 9, tzinfo=UTC), None, "neutral"))                 # adds n, no weight
    ms += [_m("r1", datetime(2026, 3, 24, 9, tzinfo=UTC), 3.0, "positive" if i < 5 else "negative") for i in range(10)]
    s.upsert_mentions(ms)
    points = trend(_config(), s, "own", bucket="week", window="14d", now=NOW)
    # 14 days back from Tue Mar 31 is Wed Mar 18: its week starts Mon Mar 16
    assert [p["bucket"] for p in points] == ["2026-03-16", "2026-03-23", "2026-03-30"]
    p16, p23, p30 = points
    assert (p16["own_mentions"], p16["own_rating"], p16["own_index"]) == (1, None, None)  # n = 1 < 10
    assert (p23["own_mentions"], p23["own_index"], p23["set_rating"], p23["set_net_sentiment"]) == (0, None, 3.0, 0.0)
    assert p23["set_index"] == pytest.approx(57.0)
    # Mar 30: own 4.0 and all positive -> 100*(0.56 + 0.3) = 86; the neutral post adds n only (11 >= 10)
    assert (p30["own_mentions"], p30["own_rating"], p30["own_net_sentiment"]) == (10, 4.0, 1.0)
    assert p30["own_index"] == pytest.approx(86.0)
    # r1 had no mentions this week, but its 90-day index still stands
    assert (p30["set_mentions"], p30["set_rating"]) == (0, None)
    assert p30["set_index"] == pytest.approx(57.0)
    assert set(p30) >= {"bucket", "own_mentions", "own_rating", "own_net_sentiment", "own_index", "set_rating",
                        "set_net_sentiment", "set_index"}


def test_aspect_trend_by_week_own_beside_set(tmp_path: Path) -> None:
    s = SQLiteStore(f"sqlite:///{tmp_path}/a.db")
    ms = [_m("own", datetime(2026, 3, 30, 9, tzinfo=UTC), aspects=_asp("room", "negative")) for _ in range(3)]
    ms += [_m("own", datetime(2026, 3, 30, 9, tzinfo=UTC), aspects=_asp("room", "positive"))]
    ms += [_m("own", datetime(2026, 3, 18, 9, tzinfo=UTC), aspects=_asp("room", "positive")) for _ in range(2)]
    ms += [_m("own", datetime(2026, 3, 24, 9, tzinfo=UTC), aspects=_asp("wifi", "negative"))]
    ms += [_m("r1", datetime(2026, 3, 30, 9, tzinfo=UTC), aspects=_asp("room", "positive")) for _ in range(2)]
    ms += [_m("r2", datetime(2026, 3, 31, 9, tzinfo=UTC), aspects=_asp("room", "negative"))]
    ms += [_m("far", datetime(2026, 3, 30, 9, tzinfo=UTC), aspects=_asp("room", "negative")) for _ in range(9)]
    ms += [_m("r1", datetime(2026, 3, 30, 9, tzinfo=UTC), aspects=_asp("pool", "positive"))]  # not own's aspect
    ms += [_m("own", datetime(2026, 3, 10, 9, tzinfo=UTC), aspects=_asp("room", "negative"))]  # before the window
    s.upsert_mentions(ms)
    room, wifi = aspect_trend(_config(), s, "own", bucket="week", window="14d", now=NOW)
    assert (room["aspect"], room["own_mentions"], room["set_mentions"]) == ("room", 6, 3)
    assert wifi["aspect"] == "wifi" and [p["own_net_sentiment"] for p in wifi["points"]] == [None, -1.0, None]
    p16, p23, p30 = room["points"]
    assert [p["bucket"] for p in room["points"]] == ["2026-03-16", "2026-03-23", "2026-03-30"]
    assert (p16["own_mentions"], p16["own_net_sentiment"], p16["set_net_sentiment"]) == (2, 1.0, None)
    assert (p23["own_mentions"], p23["own_net_sentiment"]) == (0, None)
    # Mar 30: own 1 positive 3 negative -> -0.5; set r1 2 positive, r2 1 negative -> 1/3 ("far" is not in the set)
    assert (p30["own_mentions"], p30["own_net_sentiment"]) == (4, -0.5)
    assert (p30["set_mentions"], p30["set_net_sentiment"]) == (3, pytest.approx(1 / 3))
    assert aspect_trend(_config(), s, "lonely", window="14d", now=NOW) == []
    with pytest.raises(ValueError, match="competitor"):
        aspect_trend(_config(), s, "r1", now=NOW)
    with pytest.raises(ValueError, match="bucket"):
        aspect_trend(_config(), s, "own", bucket="hour", now=NOW)


def test_metrics_and_views_import_without_scrapy() -> None:
    import subprocess
    import sys

    code = ("import sys, monitor.metrics, monitor.benchmark_report\n"
            "assert not [m for m in sys.modules if m == 'scrapy' or m.startswith(('scrapy.', 'twisted'))]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
