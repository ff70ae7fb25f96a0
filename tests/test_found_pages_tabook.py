"""TripAdvisor and Booking adapters on real pages found in public repositories
(tests/fixtures/pages/tripadvisor, .../booking).

Each fixture folder holds the page byte-for-byte (``input.*``) and ``meta.json`` (URL, the
fetch time read off its commit, the site's zone, encoding, origin repo/path/commit). The
expected values below were read off the raw files, not copied from parser output: the
HTML fragment with ``grep -o`` / a regex over its cards (``<div data-reviewListingId="``
splits them; ``ui_bubble_rating bubble_NN``, ``class="ratingDate" title='...'``,
``<div class="userLoc"><strong>``, ``numHelp emphasizeWithColor">N &nbsp;``,
``<span class='noQuotes'>``) and the GraphQL capture with ``json.load`` and by eye
(``ReviewsProxy_getReviewListPageForLocation[0].reviews``). Local dates are asserted in UTC.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spiders.pages import registry, tripadvisor
from spiders.pages.base import MalformedPage, Page
from spiders.pages.registry import Reading
from vocwatch.fixtures import KEPT_FOR_INDEPENDENT_CHECKS, Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
TA_EXPANDED = "tripadvisor/expanded-hsx-abba-mia-gijon-2023"
TA_GRAPHQL = "tripadvisor/graphql-cafe-sjiek-maastricht-2025"
FORBIDDEN = KEPT_FOR_INDEPENDENT_CHECKS


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(rel: str) -> Page:
    return Fixture(FIXTURES / rel).page()


def read(rel: str) -> Reading:
    return Fixture(FIXTURES / rel).read()


@pytest.mark.parametrize("rel", [TA_EXPANDED, TA_GRAPHQL])
def test_origin_is_recorded_and_allowed(rel: str) -> None:
    meta = json.loads((FIXTURES / rel / "meta.json").read_text("utf-8"))
    origin = meta["origin"]
    assert re.fullmatch(r"[0-9a-f]{40}", origin["commit"])
    assert origin["repo"] not in FORBIDDEN
    assert meta["url"].startswith("https://www.tripadvisor.com/")


# --- TripAdvisor: the 2022 expanded-review fragment (OverlayWidgetAjax) ------------------

def test_expanded_fragment_reads_every_card() -> None:
    """58 ``div[data-reviewListingId]`` wrappers, each one review; ratings from the cards'
    ``bubble_NN`` classes in page order (37 fives, 11 fours, 6 threes, 1 two, 3 ones)."""
    ms = read(TA_EXPANDED).mentions
    assert len(ms) == 58
    assert [m.rating for m in ms[:6]] == [5.0, 4.0, 3.0, 1.0, 2.0, 5.0]
    assert sorted({m.rating for m in ms}) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [sum(m.rating == r for m in ms) for r in (5.0, 4.0, 3.0, 2.0, 1.0)] == [37, 11, 6, 1, 3]
    assert {m.rating_scale for m in ms} == {5.0}
    assert len({m.external_id for m in ms}) == 58


def test_expanded_fragment_first_review() -> None:
    m = read(TA_EXPANDED).mentions[0]
    assert m.external_id == "854904917"
    assert m.title == "El mejor chef del mundo!!!! No dejéis de probarlo!!"  # é: cp1252 byte 0xE9
    assert m.author == "Malusggs"
    assert m.author_region == "Leon, Spain"
    assert m.published_raw == "Reviewed August 18, 2022"
    assert m.published_at == utc(2022, 8, 17, 22)  # Madrid midnight, summer time
    assert m.text.startswith("EXCELENTE!!! Venimos año tras año!! El mejor chef del mundo!!!")
    assert m.text.endswith("Enhorabuena a todo el equipo ABBA MIA!!!!!")
    assert m.likes == 0  # an empty numHelp


def test_expanded_fragment_keeps_paragraphs_and_drops_the_widgets() -> None:
    """Review 820287371 (3 bubbles, English): four paragraphs split by ``<br/><br/>``; the
    "Show less" link, "Date of visit" and the disclaimer are not part of any text."""
    ms = read(TA_EXPANDED).mentions
    m = next(m for m in ms if m.external_id == "820287371")
    assert (m.rating, m.title, m.author, m.author_region) == (3.0, "Hotel Restaurant near the beach",
                                                              "Raulatrix", "Gijon, Spain")
    assert m.text.split("\n") == [
        "Came here with couple of friends to try the menu for dinner.",
        "It was ok, but nothing special. The place is calm and clean, the service friendly.",
        "On top of the Hotel there is a rooftop, but we drank coffee indoor as it was nighlight.",
        "No views to the ocean.",
    ]
    assert m.published_at == utc(2021, 11, 26, 23)  # Madrid midnight, winter time
    for m in ms:
        assert "Show less" not in m.text and "Date of visit" not in m.text
        assert "subjective opinion" not in m.text


def test_expanded_fragment_helpful_counts_and_missing_locations() -> None:
    """``numHelp`` holds "1 &nbsp;" on 12 cards and "2 &nbsp;" on 5; 18 cards have no
    ``userLoc`` (e.g. 804890452), so no region rather than a neighbour's."""
    ms = {m.external_id: m for m in read(TA_EXPANDED).mentions}
    assert sum(m.likes == 1 for m in ms.values()) == 12
    assert sum(m.likes == 2 for m in ms.values()) == 5
    assert ms["675402551"].likes == 2 and ms["675402551"].author_region == "Asturias, Spain"
    assert ms["564026783"].author_region == "oviedo"  # as the member typed it
    assert ms["804890452"].author_region is None and ms["804890452"].rating == 1.0
    assert sum(m.author_region is None for m in ms.values()) == 18


def test_expanded_fragment_has_no_pager() -> None:
    assert read(TA_EXPANDED).next_url is None


# --- TripAdvisor: the GraphQL answers of a 2025 restaurant page -------------------------

def test_graphql_review_list() -> None:
    """``ReviewsProxy_getReviewListPageForLocation[0].reviews``: 15 reviews in answer order."""
    ms = read(TA_GRAPHQL).mentions
    assert [m.external_id for m in ms] == [
        "1023286254", "1022955672", "1022048450", "1020972821", "1011678341", "1008847877",
        "1007994951", "1006243463", "1000772166", "1000350560", "999269601", "999118291",
        "998348594", "998346603", "997293055",
    ]
    assert [m.rating for m in ms] == [5.0, 5.0, 5.0, 3.0, 5.0, 5.0, 3.0, 5.0, 5.0, 5.0, 3.0, 5.0, 5.0, 5.0, 4.0]
    assert {m.language for m in ms} == {"en"}  # the text's language, machine translations included


def test_graphql_first_review_fields() -> None:
    m = read(TA_GRAPHQL).mentions[0]
    assert m.url == ("https://www.tripadvisor.com/ShowUserReviews-g188575-d807608-r1023286254-"
                     "Cafe_Sjiek-Maastricht_Limburg_Province.html")
    assert m.title == "Best local in town!"
    assert m.author == "AhrenSGE"  # displayName, not the username "Flyer27540988710"
    assert m.author_region == "Frankfurt, Germany"  # hometown.location.additionalNames.long
    assert m.published_raw == "2025-08-08"
    assert m.published_at == utc(2025, 8, 7, 22)
    assert m.text.endswith("Have eaten one of the best steaks in my life!!! (01.08.25)")
    assert m.likes == 0 and m.reply_text is None


def test_graphql_hometown_and_votes() -> None:
    """hometown ``{"locationId": null, "fallbackString": null, "location": null}`` gives no
    region; a numeric fallbackString is an id, never a region; helpfulVotes 1 on 1000772166."""
    ms = {m.external_id: m for m in read(TA_GRAPHQL).mentions}
    assert ms["1007994951"].author == "Journey04373283563" and ms["1007994951"].author_region is None
    assert ms["1020972821"].author_region == "Maastricht, The Netherlands"
    assert not any((m.author_region or "").isdigit() for m in ms.values())
    assert ms["1000772166"].likes == 1
    assert sum(m.author_region is None for m in ms.values()) == 5


def test_graphql_aggregate_and_pager() -> None:
    page = load(TA_GRAPHQL)
    assert tripadvisor.aggregate(page) == {"rating": 4.3, "count": 1080.0}  # reviewSummaryInfo
    assert registry.adapter("tripadvisor").read(page).next_url is None


def test_graphql_body_without_review_lists_is_malformed() -> None:
    """A GraphQL batch that answers other widgets only (here the capture's third batch, as
    sent) is not a review page: MalformedPage, not an empty list."""
    page = load(TA_GRAPHQL)
    other = json.loads(page.text)[2]["data"]
    bare = Page(url=page.url, text=json.dumps(other), now=page.now, tz=page.tz)
    with pytest.raises(MalformedPage):
        registry.adapter("tripadvisor").read(bare)
