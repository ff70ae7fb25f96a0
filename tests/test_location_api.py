"""The location page's API over real HTTP: per-site figures against the rivals on each site,
the rating distribution, the trend per aspect, positive highlights beside the negatives."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from crawlers.store.base import whole_stars
from tests.dashboard_data import NOW, XSS_IMG, Chain, _mentions
from tests.location_data import BUND, PRAISE, extra_mentions, serve_location_chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_location_chain(tmp_path_factory.mktemp("loc")) as c:
        yield c


def get(chain: Chain, path: str, who: str = "location") -> tuple[int, Any]:
    req = urllib.request.Request(chain.base_url + path, headers={"Authorization": f"Bearer {chain.tokens[who]}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_platforms_compare_each_site_with_the_rivals_on_it(chain: Chain) -> None:
    status, b = get(chain, f"/api/locations/{BUND}/benchmark?window=90d")
    assert status == 200
    sites = {p["site"]: p for p in b["platforms"]}
    assert [p["site"] for p in b["platforms"]] == ["stayadvisor", "tripnote", "weibo", "maps"]  # own busiest first
    # tripnote: own 20 check-in complaints (ten 3.0, ten 2.0) and one 5.0 -> 55/21; the rival 15 at 4.5, all answered
    t = sites["tripnote"]
    assert (t["own"]["mentions"], t["set"]["mentions"], t["members"]) == (21, 15, 1)
    assert t["own"]["avg_rating"] == pytest.approx(55 / 21) and t["set"]["avg_rating"] == 4.5
    assert t["gap_rating"] == pytest.approx(55 / 21 - 4.5)
    assert t["own"]["net_sentiment"] == pytest.approx(-19 / 21) and t["set"]["net_sentiment"] == 1.0
    assert (t["own"]["response_rate"], t["set"]["response_rate"], t["gap_response_rate"]) == (0.0, 1.0, -1.0)
    assert (t["rank"], t["rank_of"], t["rank_by"]) == (2, 2, "bayes_rating")
    assert t["review_share"] == pytest.approx(21 / 36)
    # stayadvisor: a mention a day each; Bund rated above the rival there
    s = sites["stayadvisor"]
    assert (s["own"]["mentions"], s["set"]["mentions"], s["rank"], s["rank_of"]) == (90, 90, 1, 2)
    # weibo: own posts without ratings, nobody else there: ranked by net sentiment, alone
    w = sites["weibo"]
    assert (w["own"]["mentions"], w["own"]["avg_rating"], w["rank_by"], w["rank"], w["rank_of"], w["members"]) == (
        10, None, "net_sentiment", 1, 1, 0)
    # maps: only the rival is talked about there
    m = sites["maps"]
    assert (m["own"]["mentions"], m["set"]["mentions"], m["rank"], m["review_share"]) == (0, 5, None, 0.0)


def test_rating_distribution_counts_whole_stars_own_and_set(chain: Chain) -> None:
    _, b = get(chain, f"/api/locations/{BUND}/benchmark?window=90d")
    start = datetime(2026, 1, 1, tzinfo=UTC)  # 90 days to Tue 31 Mar, whole UTC days
    every = _mentions() + extra_mentions()

    def counts(lids: set[str]) -> dict[int | None, int]:
        out: dict[int | None, int] = {}
        for x in every:
            if x.location_id in lids and start <= x.published_at < NOW:  # type: ignore[operator]
                out[whole_stars(x.rating)] = out.get(whole_stars(x.rating), 0) + 1
        return out

    own, rival = counts({BUND}), counts({"rival-sh"})
    d = b["rating_distribution"]
    assert [x["own"] for x in d["stars"]] == [own.get(k, 0) for k in range(1, 6)]
    assert [x["set"] for x in d["stars"]] == [rival.get(k, 0) for k in range(1, 6)]
    assert (d["own_unrated"], d["own_rated"]) == (10, 90 + 21)  # the weibo posts
    assert sum(x["own_share"] for x in d["stars"]) == pytest.approx(1.0)
    assert d["stars"][4]["set_share"] == pytest.approx(rival[5] / sum(v for k, v in rival.items() if k))


def test_aspect_trend_is_weekly_per_aspect_own_beside_set(chain: Chain) -> None:
    status, data = get(chain, f"/api/locations/{BUND}/aspect-trend?bucket=week&window=12w")
    assert status == 200 and data["bucket"] == "week"
    by = {a["aspect"]: a for a in data["aspects"]}
    assert {"breakfast", "service", "checkin", "room"} <= set(by)
    assert [a["own_mentions"] for a in data["aspects"]] == sorted((a["own_mentions"] for a in data["aspects"]), reverse=True)
    checkin = by["checkin"]["points"]
    assert len(checkin) == 13 and checkin[-1]["bucket"] == "2026-03-30"
    # this week: the tripnote complaint of Mar 31 (day 0) against the rival's praise (day 0)
    assert (checkin[-1]["own_net_sentiment"], checkin[-1]["set_net_sentiment"]) == (-1.0, 1.0)
    assert by["room"]["set_mentions"] == 0 and all(p["set_net_sentiment"] is None for p in by["room"]["points"])
    assert get(chain, f"/api/locations/{BUND}/aspect-trend?bucket=hour")[0] == 400


def test_positive_highlights_beside_the_negatives_with_their_rating(chain: Chain) -> None:
    status, pos = get(chain, f"/api/locations/{BUND}/mentions?sentiment=positive&limit=3")
    assert status == 200 and pos["sentiment"] == "positive"
    ms = pos["mentions"]
    assert [m["published_at"] for m in ms] == ["2026-03-31T10:00:00Z", "2026-03-30T11:00:00Z", "2026-03-30T10:00:00Z"]
    assert (ms[0]["text"], ms[0]["rating"], ms[0]["sentiment_label"]) == (PRAISE, 5.0, "positive")
    assert XSS_IMG in ms[0]["text"]  # raw in JSON: the page shows it as text
    assert (ms[1]["site"], ms[1]["rating"]) == ("weibo", None)
    status, neg = get(chain, f"/api/locations/{BUND}/mentions?sentiment=negative&limit=50")
    assert status == 200 and {m["sentiment_label"] for m in neg["mentions"]} == {"negative"}
    assert len(neg["mentions"]) == 18 + 20  # every 5th day of 90 on stayadvisor, and the tripnote complaints
    # the old address answers the same list
    assert get(chain, f"/api/locations/{BUND}/negative?limit=50")[1]["mentions"] == neg["mentions"]
    assert get(chain, f"/api/locations/{BUND}/mentions")[1]["sentiment"] == "negative"  # the default


@pytest.mark.parametrize(("query", "message"), [
    ("negative?limit=%C2%B2", "bad limit"),   # '²' is a digit to str.isdigit: once a 500
    ("mentions?limit=%C2%B2", "bad limit"), ("mentions?limit=1e3", "bad limit"), ("mentions?limit=-1", "bad limit"),
    ("mentions?limit=101", "bad limit"), ("mentions?sentiment=neutral", "bad sentiment"),
    ("mentions?sentiment=%3Cscript%3E", "bad sentiment"), ("mentions?window=forever", "bad window"),
    ("aspect-trend?window=0d", "bad window"),
])
def test_bad_parameters_are_400(chain: Chain, query: str, message: str) -> None:
    status, body = get(chain, f"/api/locations/{BUND}/{query}")
    assert status == 400 and body["error"].startswith(message)


@pytest.mark.parametrize("what", ["mentions?sentiment=positive", "aspect-trend", "negative?limit=%C2%B2"])
def test_scope_comes_first(chain: Chain, what: str) -> None:
    assert get(chain, f"/api/locations/harbor-sh-pudong/{what}")[0] == 403  # another location: refused, not parsed
    assert get(chain, f"/api/locations/nowhere/{what}", "brand")[0] == 404
    assert get(chain, f"/api/locations/harbor-sh-pudong/{what.replace('%C2%B2', '5')}", "region")[0] == 200
