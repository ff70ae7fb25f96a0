"""The portfolio (monitor/portfolio.py): ranking, worst movers, the rollup against the
combined sets, agreement with the location page's benchmark() and trends(), the cost in
rollup queries, and GET /api/portfolio's scopes and filters."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from config import Location, load_config
from crawlers.store.sqlite import SQLiteStore
from monitor.metrics import Sums, benchmark, reputation_index, trends
from monitor.portfolio import (
    Figures,
    Row,
    default_category,
    location_rows,
    mean,
    options,
    portfolio,
    rollup,
    select,
    sort_rows,
    spark_weeks,
    weekly_index,
)
from tests.dashboard_data import NOW, PUDONG_SECRET, Chain
from tests.portfolio_data import CAFE_NAME, serve_portfolio, write_portfolio_chain


def loc(lid: str, name: str | None = None, *, category: str = "hotel", region: str = "r1", brand: str = "b1") -> Location:
    return Location(lid, name or lid, brand, category, 0.0, 0.0, region, "own")


def fig(index: float | None, mentions: int = 20) -> Figures:
    return Figures(mentions, 4.0, 0.5, 0.3, index)


def row(lid: str, now: float | None, before: float | None, comp: float | None = None, name: str | None = None) -> Row:
    return Row(loc(lid, name), fig(now), fig(before), comp, None, None, 0, None, 0)


def sums(mentions: int, rated: int, rating_sum: float, pos: int, neg: int, replied: int) -> Sums:
    return Sums(mentions=mentions, rated=rated, rating_sum=rating_sum, positive=pos, negative=neg,
                neutral=mentions - pos - neg, replied=replied)


# -- ranking --------------------------------------------------------------------------------
def test_worst_movers_first_ties_to_the_lower_index_then_no_change_then_no_index() -> None:
    rows = [
        row("riser", 80, 70),
        row("faller-high", 75, 85),           # -10
        row("faller-low", 60, 70),            # -10, lower index: before faller-high
        row("steep", 50, 70),                 # -20: the worst mover
        row("flat-noise", 70 + 1e-14, 70),    # float noise is no move: ties with "flat" ...
        row("flat", 69, 69),                  # ... and the lower index goes first
        row("new-high", 90, None),            # an index now, none before: after every change
        row("new-low", 40, None),
        row("quiet-b", None, 70, name="B quiet"),  # no index now: last, by name
        row("quiet-a", None, None, name="A quiet"),
    ]
    order = [r.location.id for r in sort_rows(rows)]
    assert order == ["steep", "faller-low", "faller-high", "flat", "flat-noise", "riser", "new-low", "new-high",
                     "quiet-a", "quiet-b"]


def test_index_and_comp_sorts_are_lowest_first_missing_last_by_name() -> None:
    rows = [row("a", 70, 60, comp=110), row("b", 50, 60, comp=None, name="zz"), row("c", None, 60, comp=90),
            row("d", 60, None, comp=None, name="aa")]
    assert [r.location.id for r in sort_rows(rows, "index")] == ["b", "d", "a", "c"]
    assert [r.location.id for r in sort_rows(rows, "comp")] == ["c", "a", "d", "b"]
    with pytest.raises(ValueError, match="unknown sort"):
        sort_rows(rows, "best")


def test_rows_comp_index_and_rank_against_each_window_and_its_changes() -> None:
    locations = {"o1": loc("o1"), "o2": loc("o2")}
    config: Any = type("C", (), {"locations": locations})()
    r1, r2, r3 = (Location(i, i, "r", "hotel", 0, 0, "r1", "competitor") for i in ("r1", "r2", "r3"))
    sets = {"o1": [(r1, 1.0), (r2, 2.0)], "o2": [(r2, 1.0), (r3, 3.0)]}
    index = {("o1", True): 80.0, ("o1", False): 90.0, ("r1", True): 70.0, ("r1", False): 95.0,
             ("r2", True): 90.0, ("r2", False): 85.0, ("r3", True): None, ("r3", False): 60.0,
             ("o2", True): None, ("o2", False): 70.0}
    s = {("o1", True): sums(30, 30, 120.0, 20, 5, 9), ("o1", False): sums(10, 10, 45.0, 8, 1, 5)}
    o1, o2 = location_rows(["o1", "o2"], config, sets, s, index, {"o1": (70.0, None, 80.0)})
    assert o1.comp_index == pytest.approx(100.0)        # 80 / mean(70, 90)
    assert o1.comp_index_previous == pytest.approx(100.0)  # 90 / mean(95, 85)
    assert (o1.rank, o1.rank_of, o1.rank_previous) == (2, 3, 2)
    assert o1.changes == pytest.approx({"reputation_index": -10.0, "mentions": 20, "avg_rating": -0.5,
                                        "net_sentiment": 0.6 - 7 / 9, "response_rate": -0.2, "comp_index": 0.0})
    assert o1.spark == (70.0, None, 80.0) and o1.set_size == 2
    # no index now: no comp index, no rank; r3 has none now and is not ranked either
    assert (o2.comp_index, o2.rank, o2.rank_of) == (None, None, 1)
    assert o2.comp_index_previous == pytest.approx(70 / 72.5 * 100)
    assert o2.current.mentions == 0 and o2.current.avg_rating is None and o2.changes["reputation_index"] is None


def test_rollup_pools_own_against_the_combined_sets_each_rival_once() -> None:
    locations = {"o1": loc("o1"), "o2": loc("o2")}
    config: Any = type("C", (), {"locations": locations})()
    shared = Location("shared", "shared", "r", "hotel", 0, 0, "r1", "competitor")
    only2 = Location("only2", "only2", "r", "hotel", 0, 0, "r1", "competitor")
    # o2 is also in o1's set (an own sister added by hand): inside the scope it is not a rival
    sets = {"o1": [(shared, 1.0), (locations["o2"], 2.0)], "o2": [(shared, 1.0), (only2, 2.0)]}
    s = {("o1", True): sums(10, 10, 40.0, 6, 2, 5), ("o2", True): sums(30, 20, 70.0, 10, 10, 3),
         ("shared", True): sums(100, 100, 300.0, 50, 50, 10), ("only2", True): sums(50, 0, 0.0, 40, 0, 0),
         ("o1", False): sums(10, 10, 50.0, 10, 0, 10)}
    index = {("o1", True): 80.0, ("o2", True): 60.0, ("shared", True): 50.0, ("only2", True): 90.0,
             ("o1", False): 100.0, ("shared", False): 40.0}
    rows = location_rows(["o1", "o2"], config, sets, s, index, {"o1": (1.0, 2.0), "o2": (3.0, None)})
    u = rollup(rows, sets, s, index)
    assert (u.locations, u.rivals) == (2, 2)
    assert u.own.mentions == 40 and u.own.avg_rating == pytest.approx(110 / 30)
    assert u.own.net_sentiment == pytest.approx((16 - 12) / 28) and u.own.response_rate == pytest.approx(8 / 40)
    assert u.own.reputation_index == pytest.approx(70.0)  # each own location counts once
    assert u.set.mentions == 150  # "shared" once, though it is in both sets
    assert u.set.avg_rating == pytest.approx(3.0) and u.set.reputation_index == pytest.approx(70.0)
    assert u.comp_index == pytest.approx(100.0)
    assert u.comp_index_previous == pytest.approx(250.0)  # 100 (o1 alone) / 40 (shared alone)
    assert u.changes["reputation_index"] == pytest.approx(-30.0) and u.changes["mentions"] == 30
    assert u.changes["comp_index"] == pytest.approx(-150.0)
    assert u.indexed == 2 and u.spark == (2.0, 2.0)
    # o1: 80 / mean(50, 60) > 100 and first of 3; o2: 60 / mean(50, 90) < 100
    assert (u.ahead, u.first) == (1, 1)
    empty = rollup([], {}, {}, {})
    assert (empty.locations, empty.rivals, empty.own.reputation_index, empty.comp_index) == (0, 0, None, None)


def test_mean_filters_and_default_category() -> None:
    assert mean([None, 2.0, 4.0]) == 3.0 and mean([None]) is None and mean([]) is None
    shops = [loc("h1"), loc("h2", region="r2"), loc("c1", category="cafe"), loc("c2", category="cafe", brand="b2"),
             loc("s1", category="store")]
    assert default_category(shops) == "cafe"  # 2 hotels, 2 cafés: the tie goes alphabetically
    assert default_category(shops[:3]) == "hotel" and default_category([]) is None
    assert [x.id for x in select(shops, category="hotel")] == ["h1", "h2"]
    assert [x.id for x in select(shops, category="all", brand="b1")] == ["h1", "h2", "c1", "s1"]
    assert [x.id for x in select(shops, region="r2")] == ["h2"]
    assert options(shops, "category") == [("cafe", 2), ("hotel", 2), ("store", 1)]


def test_weekly_index_looks_back_90_days_from_each_weeks_end() -> None:
    today = date(2026, 3, 31)  # a Tuesday
    starts = spark_weeks(datetime(2026, 3, 31, 12, tzinfo=UTC), 4)
    assert starts == [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)]
    good = sums(12, 12, 60.0, 12, 0, 0)
    by_week = {date(2026, 3, 16): good, date(2025, 12, 8): sums(12, 12, 12.0, 0, 12, 0)}
    spark = weekly_index(by_week, starts, today)
    # week of 9 March: the 8 December week is 97 days before its Sunday: outside, and nothing else yet
    assert spark[0] is None
    assert spark[1] == pytest.approx(reputation_index([(6, good)]))
    assert spark[3] == pytest.approx(reputation_index([(15, good)]))  # the current week ends today


# -- against the location page and the store ---------------------------------------------
@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, SQLiteStore]]:
    cfg, db = write_portfolio_chain(tmp_path_factory.mktemp("grown"))
    store = SQLiteStore(f"sqlite:///{db}")
    yield load_config(cfg), store
    store.close()


@pytest.mark.parametrize("window", ["30d", "90d", "365d"])
def test_rows_agree_with_the_location_page(grown: tuple[Any, SQLiteStore], window: str) -> None:
    config, store = grown
    own = [x.id for x in config.own_locations()]
    p = portfolio(config, store, own, window=window, now=NOW)
    bench = {b.location.id: b for b in benchmark(config, store, window=window, now=NOW)}
    assert sorted(r.location.id for r in p.rows) == sorted(own)
    for r in p.rows:
        b = bench[r.location.id]
        for mine, theirs in ((r.current, b.current), (r.previous, b.previous)):
            assert mine.reputation_index == pytest.approx(theirs.reputation_index)
            assert mine.mentions == theirs.mentions
            assert mine.avg_rating == pytest.approx(theirs.avg_rating)
            assert mine.net_sentiment == pytest.approx(theirs.net_sentiment)
            assert mine.response_rate == pytest.approx(theirs.response_rate)
        assert r.comp_index == pytest.approx(b.comp_index_reputation)
        assert (r.rank, r.rank_of, r.set_size) == (b.rank, b.rank_of, len(b.members))
        assert r.changes["reputation_index"] == pytest.approx(b.deltas["reputation_index"])
    assert (p.current, p.previous[1]) == ((bench["harbor-bj"].current.start, NOW), bench["harbor-bj"].current.start)


def test_sparklines_are_the_trend_pages_weekly_index(grown: tuple[Any, SQLiteStore]) -> None:
    config, store = grown
    own = [x.id for x in config.own_locations()]
    p = portfolio(config, store, own, now=NOW, weeks=12)
    t = trends(config, store, own, window=f"{7 * 11 + 1}d", now=NOW)
    assert [w.isoformat() for w in p.weeks] == [q["bucket"] for q in t["harbor-bj"]]
    for r in p.rows:
        assert r.spark == pytest.approx(tuple(q["own_index"] for q in t[r.location.id]))


def test_the_chain_story_movers_new_hotel_and_the_rollup(grown: tuple[Any, SQLiteStore]) -> None:
    config, store = grown
    own = [x.id for x in config.own_locations()]
    p = portfolio(config, store, own, now=NOW)
    order = [r.location.id for r in p.rows]
    assert order[0] == "harbor-sh-pudong" and p.rows[0].changes["reputation_index"] < -20  # 40 one-star reviews
    assert order[-1] == "harbor-sh-new" and p.rows[-1].current.reputation_index is None  # 5 reviews: no index
    riser = next(r for r in p.rows if r.location.id == "harbor-bj")
    assert riser.changes["reputation_index"] > 5 and order.index("harbor-bj") == len(order) - 2
    # rival-sh is in four sets (Bund, Pudong, Jing'an by radius, Lotus by name): counted once
    assert p.rollup.rivals == 3 and p.rollup.set.mentions == 3 * 90
    assert p.rollup.own.mentions == sum(r.current.mentions for r in p.rows)
    hotels = portfolio(config, store, [x.id for x in config.own_locations() if x.category == "hotel"], now=NOW)
    assert hotels.rollup.rivals == 2 and all(r.location.category == "hotel" for r in hotels.rows)


class CountingStore:
    """The store, counting rollup queries."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store, self.rollups = store, 0

    def rollup(self, **kw: Any) -> Any:
        self.rollups += 1
        return self.store.rollup(**kw)


@pytest.mark.parametrize(("window", "queries"), [("90d", 3), ("365d", 5)])
def test_a_handful_of_rollups_whatever_the_number_of_locations(grown: tuple[Any, SQLiteStore], window: str,
                                                                queries: int) -> None:
    config, store = grown
    for ids in (["harbor-bj"], [x.id for x in config.own_locations()]):
        counting = CountingStore(store)
        p = portfolio(config, counting, ids, window=window, now=NOW)  # type: ignore[arg-type]
        assert counting.rollups == p.queries == queries


def test_no_locations_is_an_empty_portfolio_and_competitors_are_refused(grown: tuple[Any, SQLiteStore]) -> None:
    config, store = grown
    counting = CountingStore(store)
    p = portfolio(config, counting, [], now=NOW)  # type: ignore[arg-type]
    assert p.rows == [] and p.rollup.locations == 0 and len(p.weeks) == 26
    assert counting.rollups == p.queries == 0
    with pytest.raises(ValueError, match="competitor"):
        portfolio(config, store, ["rival-sh"], now=NOW)
    with pytest.raises(ValueError, match="unknown sort"):
        portfolio(config, store, ["harbor-bj"], now=NOW, sort="best")


# -- GET /api/portfolio ------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_portfolio(tmp_path_factory.mktemp("pchain")) as c:
        yield c


def get(chain: Chain, who: str, query: str = "") -> tuple[int, Any]:
    req = urllib.request.Request(f"{chain.base_url}/api/portfolio{query}",
                                 headers={"Authorization": f"Bearer {chain.tokens[who]}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def ids(body: Any) -> list[str]:
    return [r["id"] for r in body["rows"]]


def test_region_token_sees_its_region_hotels_by_default_and_the_cafe_only_when_asked(chain: Chain) -> None:
    status, body = get(chain, "region")
    assert status == 200 and body["scope"] == "region:shanghai"
    assert body["filters"] == {"category": "hotel", "region": "", "brand": ""}  # never hotels and cafés mixed
    assert ids(body) == ["harbor-sh-pudong", "lotus-sh", "harbor-sh-bund", "harbor-sh-new"]
    assert body["options"]["categories"] == [{"id": "hotel", "count": 4}, {"id": "restaurant", "count": 1}]
    assert body["options"]["regions"] == [{"id": "shanghai", "count": 5}]
    assert [b["id"] for b in body["options"]["brands"]] == ["harbor", "lotus"]
    assert body["options"]["brands"][0]["name"] == "Harbor Hotels"
    assert body["rollup"]["locations"] == 4 and body["rollup"]["rivals"] == 1  # rival-sh, once for four sets
    assert len(body["weeks"]) == 26 and all(len(r["spark"]) == 26 for r in body["rows"])
    first = body["rows"][0]
    assert first["changes"]["reputation_index"] < -20 and first["rank"] == 2 and first["rank_of"] == 2
    assert PUDONG_SECRET not in json.dumps(body)  # figures, never review text
    _, cafes = get(chain, "region", "?category=restaurant")
    assert ids(cafes) == ["harbor-sh-cafe"] and cafes["rows"][0]["name"] == CAFE_NAME
    assert cafes["rollup"]["rivals"] == 1 and cafes["rollup"]["set"]["mentions"] == 90
    _, everything = get(chain, "region", "?category=all")
    assert sorted(ids(everything)) == ["harbor-sh-bund", "harbor-sh-cafe", "harbor-sh-new", "harbor-sh-pudong",
                                       "lotus-sh"]
    assert everything["rollup"]["rivals"] == 2
    _, lotus = get(chain, "region", "?brand=lotus")
    assert ids(lotus) == ["lotus-sh"]


def test_brand_token_sees_its_brand_across_regions_and_filters_by_region(chain: Chain) -> None:
    status, body = get(chain, "brand", "?category=all")
    assert status == 200
    assert sorted(ids(body)) == ["harbor-bj", "harbor-sh-bund", "harbor-sh-cafe", "harbor-sh-new", "harbor-sh-pudong"]
    assert [r["id"] for r in body["options"]["regions"]] == ["beijing", "shanghai"]
    assert [b["id"] for b in body["options"]["brands"]] == ["harbor"]
    _, bj = get(chain, "brand", "?region=beijing")
    assert ids(bj) == ["harbor-bj"] and bj["filters"]["category"] == "hotel"
    assert bj["rows"][0]["changes"]["reputation_index"] > 5 and bj["rollup"]["rivals"] == 1
    status, other = get(chain, "brand", "?brand=lotus")  # another brand: not this token's, and not named
    assert status == 400 and other["error"] == "bad brand 'lotus': this token's locations have harbor"


def test_admin_sees_every_own_location_and_beijing_token_only_beijing(chain: Chain) -> None:
    _, admin = get(chain, "admin", "?category=all")
    assert len(admin["rows"]) == 6 and [b["id"] for b in admin["options"]["brands"]] == ["harbor", "lotus"]
    _, bj = get(chain, "beijing")
    assert ids(bj) == ["harbor-bj"] and [r["id"] for r in bj["options"]["regions"]] == ["beijing"]
    status, body = get(chain, "beijing", "?region=shanghai")
    assert status == 400 and "shanghai" in body["error"] and "harbor-sh" not in body["error"]


@pytest.mark.parametrize("who", ["location", "pudong"])
def test_a_location_token_has_no_portfolio(chain: Chain, who: str) -> None:
    status, body = get(chain, who)
    assert status == 403 and "location token sees its location's page" in body["error"]
    assert "rows" not in body


@pytest.mark.parametrize(("query", "message"), [
    ("?window=2x", "bad window '2x'"),
    ("?window=0d", "bad window '0d'"),
    ("?sort=best", "bad sort 'best': use movers, index, comp"),
    ("?weeks=%C2%B2", "bad weeks '²'"),
    ("?weeks=99", "bad weeks '99'"),
    ("?category=spa", "bad category 'spa': this token's locations have all, hotel, restaurant"),
    ("?region=beijing", "bad region 'beijing': this token's locations have shanghai"),
    ("?brand=%3Cb%3E", "bad brand '<b>'"),
])
def test_bad_filters_are_400_with_a_clear_error(chain: Chain, query: str, message: str) -> None:
    status, body = get(chain, "region", query)
    assert status == 400 and body["error"].startswith(message)


def test_window_sort_and_weeks_are_taken(chain: Chain) -> None:
    _, body = get(chain, "brand", "?window=30d&sort=index&weeks=8&category=hotel")
    assert body["window"] == "30d" and body["sort"] == "index" and len(body["weeks"]) == 8
    indices = [r["current"]["reputation_index"] for r in body["rows"]]
    known = [i for i in indices if i is not None]
    assert known == sorted(known) and indices[-1] is None  # lowest first, the new hotel (no index) last
    start = datetime.fromisoformat(body["current"]["start"])
    assert start == datetime(2026, 3, 2, tzinfo=UTC) and body["previous"]["end"] == body["current"]["start"]
    assert datetime.fromisoformat(body["previous"]["start"]) == start - timedelta(days=30)

