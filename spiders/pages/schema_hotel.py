"""Hotel review pages that carry schema.org ``Review`` JSON-LD plus HTML review cards.

JSON-LD gives the structured fields (id, rating with its scale, ISO date, author);
the HTML cards add what schema.org has no place for (owner replies, helpful votes) and
the paragraph breaks of the text. When the JSON-LD is missing or broken, the cards
alone are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import Page, PageObject, well_typed
from spiders.pages.htmltext import html_text
from spiders.pages.reviewkit import ident, number, obj

_SCORE = re.compile(r"(\d+(?:[.,]\d+)?)\s*/\s*(\d+(?:[.,]\d+)?)")


def iter_jsonld(sel: Selector) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's ld+json scripts, ``@graph`` and lists flattened.
    A script that is not valid JSON is skipped (callers fall back to HTML)."""
    for raw in sel.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                if "@graph" in node:
                    stack.append(node["@graph"])


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("@type", [])
    return {x for x in (t if isinstance(t, list) else [t]) if isinstance(x, str)}


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = value[0] if value else None
    return ident(value)


class SchemaHotelReviewPage(PageObject):
    """One page of a hotel's reviews (StayAdvisor-style markup)."""

    def __init__(self, page: Page) -> None:
        page.require_html("a hotel review page")
        self.page = page
        self.sel = page.selector

    def jsonld_reviews(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for node in iter_jsonld(self.sel):
            reviews = node.get("review", [])
            for r in reviews if isinstance(reviews, list) else [reviews]:
                if isinstance(r, dict) and "Review" in _types(r):
                    rid = ident(r.get("identifier")) or ident(r.get("@id")) or str(len(out))
                    out[rid] = r
        return out

    def mentions(self) -> list[Mention]:
        structured = self.jsonld_reviews()
        out: list[Mention] = []
        seen: set[str] = set()
        for card in self.sel.css("article.review"):
            rid = card.attrib.get("data-review-id") or (card.attrib.get("id") or "").removeprefix("review-")
            seen.add(rid)
            out.append(self._mention(rid, structured.get(rid, {}), card))
        for rid, r in structured.items():  # reviews only in JSON-LD
            if rid not in seen:
                out.append(self._mention(rid, r, None))
        return [well_typed(m) for m in out]

    def _mention(self, rid: str, r: dict[str, Any], card: Selector | None) -> Mention:
        page = self.page
        body = card.css(".review-body") if card is not None else None
        text = html_text(body.get()) if body and body.xpath("string()").get("").strip() else clean_text(r.get("reviewBody"))
        rating = obj(r.get("reviewRating"))
        value, scale = number(rating.get("ratingValue")), number(rating.get("bestRating"))
        date_raw = r.get("datePublished")
        if card is not None:
            if value is None and (m := _SCORE.search(card.css(".score::text").get(""))):
                value, scale = number(m.group(1)), number(m.group(2))
            date_raw = date_raw or card.css(".review-meta time::attr(datetime)").get()
        reply_at_raw = card.css(".owner-reply time::attr(datetime)").get() if card is not None else None
        return Mention(
            site="",
            kind="review",
            url=page.url,
            # the card's link to the review's own page, else the JSON-LD Review's url
            permalink=page.permalink(card.css("a.permalink::attr(href)").get() if card is not None else None)
            or page.permalink(r.get("url")),
            external_id=rid or None,
            text=text or "",
            title=r.get("name") or (card.css(".review-title").get() if card is not None else None),
            author=_name(r.get("author")) or (card.css(".reviewer::text").get() if card is not None else None),
            rating_raw=value,
            rating_scale=scale if value is not None else None,
            published_raw=date_raw,
            published_at=page.parse_date(date_raw),
            likes=parse_count(card.css(".helpful-count::text").get()) if card is not None else None,
            reply_text=card.css(".owner-reply .reply-text").get() if card is not None else None,
            reply_at=page.parse_date(reply_at_raw) if reply_at_raw else None,
            language=r.get("inLanguage") if isinstance(r.get("inLanguage"), str) else None,
        )

    def next_url(self) -> str | None:
        href = self.sel.css('a[rel~="next"]::attr(href)').get()
        return self.page.urljoin(href) if href else None
