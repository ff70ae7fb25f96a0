"""TripAdvisor review pages, five shapes seen in the wild:

* 2015 hotel page (``div.reviewSelector`` cards, snippets cut at "Mer", rating in the
  sprite's ``alt="4 av 5 stjerner"``, absolute date in ``.ratingDate[title]`` when the
  visible one is relative);
* the 2015 ``ExpandedUserReviews`` AJAX fragment (``div[id^=expanded_review_]``): full
  texts and manager replies with their date. Owner replies are also repeated there as
  pseudo-reviews titled "Owner response" without a rating; those are folded away;
* 2018/19 pages (``div.review-container``, ``ui_bubble_rating bubble_40``, helpful
  count in ``.numHelp``);
* a reshaped scraper output (``{"basic_data": JSON-LD, "reviews": [...]}``), which has no
  review id or publication date (``tripDate`` is the stay month, not a publication date);
* the GraphQL answers of today's pages (``/data/graphql/ids``, a batch array of
  ``{"data": {...}}``): reviews sit under ``ReviewsProxy_getReviewListPageForLocation``
  (``[{totalCount, reviews: [...]}]``) wherever the batch puts them, with the review id,
  ``publishedDate``, ``userProfile``, ``mgmtResponse`` (the owner's reply) and
  ``helpfulVotes``. ``language`` is the text's language: a machine translation
  (``translationType`` "MACHINE") says "en" while ``originalLanguage`` is the author's.

The 2022 ``OverlayWidgetAjax?Mode=EXPANDED_HOTEL_REVIEWS`` fragment (full texts of the ids
asked for, ``div[data-reviewListingId]`` around 2018-style ``div.reviewSelector`` cards) is
read by the 2018/19 rules.

Local-language dates (Norwegian month names, "4 dager siden") are mapped to English
before ``parse_datetime``; dates carry no zone, so the caller's ``Page.tz`` applies.
Pagination: the next page is ``link[rel=next]`` / ``a.nav.next`` (URL offset ``-or10-``).
A review's own page (``permalink``) is ``ShowUserReviews-g<geo>-d<place>-r<id>-<name>.html``
(the card's title link, else built from the place page's URL); GraphQL gives its route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector, SelectorList

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, dig, ident, number, obj, review, says_more, string

SITE = "tripadvisor"
_OF_SCALE = re.compile(r"(\d+(?:[.,]\d+)?)\s+(?:av|of|von|de|di|sur)\s+(\d+)")
_BUBBLE = re.compile(r"bubble_(\d)(\d)")
_NO_WORDS = {
    "januar": "jan", "februar": "feb", "mars": "mar", "mai": "may", "juni": "jun", "juli": "jul",
    "oktober": "oct", "desember": "dec", "dager": "days", "dag": "day", "uker": "weeks",
    "uke": "week", "måneder": "months", "måned": "month", "timer": "hours", "time": "hour",
    "siden": "ago", "i går": "yesterday", "i dag": "today",
}  # fmt: skip
_NO_RE = re.compile(r"\b(" + "|".join(sorted(_NO_WORDS, key=len, reverse=True)) + r")\b", re.I)
_REVIEWED = re.compile(r"^\s*(?:anmeldt|reviewed)\s+", re.I)


def _date(raw: str | None, page: Page):  # type: ignore[no-untyped-def]
    if not raw:
        return None
    text = _NO_RE.sub(lambda m: _NO_WORDS[m.group(1).lower()], _REVIEWED.sub("", raw))
    return page.parse_date(text)


def _shown_date(node: SelectorList) -> str | None:
    """The visible date, or the ``title`` only when the visible one is relative ("4 dager
    siden"): on absolute dates the title holds an unrelated date."""
    if not node:
        return None
    shown = (node.xpath("string()").get() or "").strip()
    if "relativeDate" in (node.attrib.get("class") or "") and node.attrib.get("title"):
        return node.attrib["title"]
    return shown or None


def _rating(card: Selector) -> tuple[float | None, float | None]:
    alt = card.css(".rating .rating_s_fill::attr(alt), .rating img::attr(alt)").get("")
    if m := _OF_SCALE.search(alt):
        return number(m.group(1)), number(m.group(2))
    if m := _BUBBLE.search(card.css(".ui_bubble_rating::attr(class)").get("")):
        return float(f"{m.group(1)}.{m.group(2)}"), 5.0
    return None, None


def _first(card: Selector, query: str) -> str | None:
    value = (card.css(query).get() or "").strip()
    return value or None


def _permalink(card: Selector, rid: str, page: Page) -> str | None:
    """The review's own page, ``/ShowUserReviews-g<geo>-d<place>-r<id>-<name>.html``: the
    card's title link when it names this review, else built from the place page's URL (or
    canonical link) and the review id; None where neither says which place it is (a fragment
    without links)."""
    href = card.css('.quote a[href*="ShowUserReviews"]::attr(href), a[href*="ShowUserReviews"]::attr(href)').get()
    if href and re.search(rf"-r{re.escape(rid)}(?:\D|$)", href):
        return page.permalink(href.split("#", 1)[0])  # "#CHECK_RATES_CONT": the booking box, not the review
    where = _PLACE_NAMED.search(page.url) or _PLACE_NAMED.search(page.selector.css('link[rel="canonical"]::attr(href)').get(""))
    if where is None or not rid.isdigit():
        return None
    return page.permalink(f"/ShowUserReviews-g{where['geo']}-d{where['place']}-r{rid}-{where['name']}")


def _card(card: Selector, rid: str, page: Page) -> Mention | None:
    entry = card.css(".entry p")
    if not entry:
        return None
    first = entry[0]
    text = "".join(first.xpath('node()[not(self::span[contains(@class, "partnerRvw") or contains(@class, "taLnk")])]'
                               ).getall())
    date_raw = _shown_date(card.css(".ratingDate")[:1])
    value, scale = _rating(card)
    reply = card.css(".mgrRspnInline")
    reply_text = reply.css(".displayText, [id^=response_]").get() if reply else None
    reply_raw = _shown_date(reply.css(".res_date")[:1]) if reply else None
    helpful = card.css(".numHelp")
    return review(
        SITE, page.url, text, rating_raw=value, rating_scale=scale, external_id=rid,
        permalink=_permalink(card, rid, page), title=_first(card, ".quote .noQuotes::text"),
        author=_first(card, ".scrname::text") or _first(card, ".info_text > div::text"),
        author_region=_first(card, ".member_info .location::text") or _first(card, ".userLoc strong::text"),
        published_raw=date_raw, published_at=_date(date_raw, page),
        likes=(parse_count(helpful.xpath("string()").get("").strip()) or 0) if helpful else None,
        reply_text=reply_text, reply_at=_date(reply_raw, page), truncated=_cut(first),
    )


def _cut(entry: Selector) -> bool:
    """Whether the listing cut this review: its paragraph holds the "More" control that
    expands it (``.moreLink``, or a ``taLnk`` span saying "More"/"Mer"/"Plus").
    The ``ExpandedUserReviews`` fragment's full texts have none."""
    for control in entry.css(".moreLink, span.taLnk"):
        if "moreLink" in (control.attrib.get("class") or "") or says_more(control.xpath("string()").get()):
            return True
    return False


_PLACE = re.compile(r"/(?P<servlet>[A-Za-z]+_Review)-g(?P<geo>\d+)-d(?P<place>\d+)")
"""A TripAdvisor place page's path: ``/Hotel_Review-g190502-d206868-Reviews-...``."""
_PLACE_NAMED = re.compile(r"/[A-Za-z]+_Review-g(?P<geo>\d+)-d(?P<place>\d+)-Reviews-(?:or\d+-)?(?P<name>[^/?#]+\.html)")
"""The same, with the name part a review page repeats: ``...-Reviews-[or10-]Harbor_Hotel-Shanghai.html``."""


def _html_mentions(page: Page) -> list[Mention]:
    sel = page.selector
    out: list[Mention] = []
    cards = sel.css("div[id^=expanded_review_]") or sel.css("div.reviewSelector[id^=review_]")
    for card in cards:
        rid = card.attrib["id"].rsplit("_", 1)[-1]
        if card.css(".quote .noQuotes::text").get() == "Owner response" and not card.css(".rating img"):
            continue  # the fragment's copy of a manager reply, already on its review
        mention = _card(card, rid, page)
        if mention is not None:
            out.append(mention)
    return out


_REVIEW_LIST = "ReviewsProxy_getReviewListPageForLocation"
_WALK_LIMIT = 200_000
"""Nodes a JSON body is searched through for review lists (a bound, not a depth: the
GraphQL batch puts them a few levels down, and a hostile body must not make us loop)."""


def _values_of(data: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` in any object of ``data``, document order,
    iteratively (no recursion on untrusted nesting) and within :data:`_WALK_LIMIT` nodes."""
    stack, seen = [data], 0
    while stack and seen < _WALK_LIMIT:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            if key in node:
                yield node[key]
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _hometown(profile: dict[str, Any]) -> str | None:
    """The member's hometown as TripAdvisor names it; ``fallbackString`` only when it is a
    name (it holds the bare location id when the name is resolved elsewhere)."""
    home = obj(profile.get("hometown"))
    name = string(dig(home, "location", "additionalNames", "long")) or string(dig(home, "location", "name"))
    fallback = string(home.get("fallbackString"))
    return name or (fallback if fallback and not fallback.isdigit() else None)


def _graphql_review(r: dict[str, Any], page: Page) -> Mention:
    profile, reply = obj(r.get("userProfile")), obj(r.get("mgmtResponse"))
    route = string(dig(r, "reviewDetailPageWrapper", "reviewDetailPageRoute", "url"))
    published = string(r.get("publishedDate")) or string(r.get("createdDate"))
    lang = string(r.get("language"))
    return review(
        SITE, page.urljoin(route) if route else page.url, r.get("text"),
        rating_raw=number(r.get("rating")), rating_scale=5.0, external_id=ident(r.get("id")),
        permalink=page.permalink(route),  # the review detail page's route, as the answer gives it
        title=string(r.get("title")),
        author=string(profile.get("displayName")) or string(profile.get("username")),
        author_region=_hometown(profile),
        published_raw=published, published_at=page.parse_date(published),
        likes=r["helpfulVotes"] if isinstance(r.get("helpfulVotes"), int) and not isinstance(
            r.get("helpfulVotes"), bool) else None,
        reply_text=string(reply.get("text")), reply_at=page.parse_date(string(reply.get("publishedDate"))),
        language=lang if lang and 2 <= len(lang) <= 3 else None,
    )


def _graphql_mentions(data: Any, page: Page) -> list[Mention] | None:
    """Reviews of every ``ReviewsProxy_getReviewListPageForLocation`` list in a GraphQL
    answer (each review once, by id); None when the body holds no such list."""
    lists = list(_values_of(data, _REVIEW_LIST))
    if not lists:
        return None
    out: list[Mention] = []
    seen: set[str] = set()
    for listing in lists:
        pages = listing if isinstance(listing, list) else [listing]
        for r in (r for p in dicts(pages) for r in dicts(p.get("reviews"))):
            mention = _graphql_review(r, page)
            if mention.external_id in seen:
                continue
            if mention.external_id:
                seen.add(mention.external_id)
            if mention.text or mention.rating is not None:  # a rating-only review is kept
                out.append(mention)
    return out


def _json_mentions(page: Page) -> list[Mention]:
    data = page.json()
    graphql = _graphql_mentions(data, page)
    if graphql is not None:
        return graphql
    if not isinstance(data, dict) or not isinstance(data.get("reviews"), list):
        raise MalformedPage(f"{page.url}: neither GraphQL review lists nor a reviews array")
    url = string(dig(data, "basic_data", "url")) or page.url
    out = [
        review(SITE, url, r.get("text"), rating_raw=number(r.get("rate")), rating_scale=5.0, title=r.get("title"))
        for r in data["reviews"] if isinstance(r, dict)
    ]
    return [m for m in out if m.text or m.rating is not None]  # a rating-only review is kept (text "")


def _is_json(page: Page) -> bool:
    return page.text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


@site(SITE)
class TripadvisorPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Reviews from any of the five TripAdvisor shapes (JSON answers or HTML)."""
        page = self.page
        if _is_json(page):
            return _json_mentions(page)
        if not page.selector.css("div[id^=expanded_review_], div.reviewSelector"):
            raise MalformedPage(f"{page.url}: no TripAdvisor review cards")
        return _html_mentions(page)

    def expand_urls(self, snippets: list[Mention]) -> list[str]:
        """The ``ExpandedUserReviews`` fragment holding the full texts of this listing's
        snippets (the request the "More" link makes): ``/ExpandedUserReviews-g<geo>-d<place>
        ?target=<first>&context=1&reviews=<id>,<id>,...&servlet=<Hotel_Review>&expand=1``,
        built from the page's own URL (else its canonical link)."""
        page = self.page
        rids = [m.external_id for m in snippets if m.external_id]
        where = _PLACE.search(page.url) or _PLACE.search(page.selector.css('link[rel="canonical"]::attr(href)').get(""))
        if not rids or where is None:
            return []
        return [page.urljoin(f"/ExpandedUserReviews-g{where['geo']}-d{where['place']}?target={rids[0]}&context=1"
                             f"&reviews={','.join(rids)}&servlet={where['servlet']}&expand=1")]

    def next_url(self) -> str | None:
        """The next review page (``-orNN-`` offset URL) from ``link[rel=next]`` or the pager."""
        page = self.page
        if _is_json(page):
            return None  # the JSON bodies carry no pager link (GraphQL pages by offset)
        href = page.selector.css('link[rel="next"]::attr(href), .pagination a.nav.next::attr(href)').get()
        return page.urljoin(href) if href else None


def aggregate(page: Page) -> dict[str, float | None] | None:
    """The place's overall rating from its JSON-LD, the JSON output's ``basic_data`` or a
    GraphQL answer's ``reviewSummaryInfo`` (``{"rating", "count"}``)."""
    if _is_json(page):
        data = page.json()
        for info in _values_of(data, "reviewSummaryInfo"):
            summary = next((obj(i.get("responseData")) for i in dicts(info if isinstance(info, list) else [info])
                            if obj(i.get("responseData"))), {})
            if number(summary.get("rating")) is not None:
                return {"rating": number(summary.get("rating")), "count": number(summary.get("count"))}
        nodes = [dig(data, "basic_data")]
    else:
        nodes = []
        for raw in page.selector.css('script[type="application/ld+json"]::text').getall():
            try:
                nodes.append(json.loads(raw))
            except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
                continue
    for node in nodes:
        agg = node.get("aggregateRating") if isinstance(node, dict) else None
        if isinstance(agg, dict):
            return {"rating": number(agg.get("ratingValue")), "count": number(agg.get("reviewCount"))}
    return None
