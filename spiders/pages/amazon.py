"""Amazon product reviews: the ``/product-reviews/ASIN`` HTML page and a reshaped JSON
output (list of ``{text, title, rating, location_and_date, verified}``).

"Reviewed in the United States on July 1, 2024" carries both the reviewer's marketplace
country (-> ``author_region``) and a date without zone (the caller's ``Page.tz``).
Helpful votes: no statement means zero; "One person found this helpful" means one.
Pagination: ``li.a-last a`` (``pageNumber=N`` in the URL).
"""

from __future__ import annotations

import re

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import number, review

SITE = "amazon"
_WHERE_WHEN = re.compile(r"Reviewed in (?:the )?(?P<where>.+?) on (?P<when>.+)$", re.S)
_STARS = re.compile(r"(\d+(?:\.\d+)?) out of (\d+)")


def _where_when(raw: object, page: Page) -> dict[str, object]:
    raw = raw.strip() if isinstance(raw, str) else ""
    m = _WHERE_WHEN.search(raw)
    when = m.group("when") if m else raw
    return {
        "author_region": m.group("where") if m else None,
        "published_raw": raw or None,
        "published_at": page.parse_date(when) if when else None,
    }


def _helpful(statement: str | None) -> int:
    text = (statement or "").strip().lower()
    if not text:
        return 0
    if text.startswith("one person"):
        return 1
    return parse_count(text.split(" ", 1)[0]) or 0


def _card(card: Selector, page: Page) -> Mention:
    stars = _STARS.search(card.css('[data-hook="review-star-rating"] .a-icon-alt::text, '
                                   '[data-hook="cmps-review-star-rating"] .a-icon-alt::text').get(""))
    title = [t.strip() for t in card.css('[data-hook="review-title"] > span:not(.a-letter-space)::text').getall()]
    return review(
        SITE, page.url, card.css('[data-hook="review-body"]').get(),
        rating_raw=number(stars.group(1)) if stars else None, rating_scale=number(stars.group(2)) if stars else None,
        external_id=card.attrib.get("id"), title=next((t for t in title if t), None),
        author=card.css(".a-profile-name::text").get(),
        likes=_helpful(card.css('[data-hook="helpful-vote-statement"]::text').get()),
        variant=card.css('[data-hook="format-strip"]').xpath("string()").get(),
        **_where_when(card.css('[data-hook="review-date"]::text').get(), page),  # type: ignore[arg-type]
    )


@site(SITE)
class AmazonPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Reviews from a product-reviews page or the reshaped JSON list."""
        page = self.page
        if page.text.lstrip().startswith("["):
            data = page.json()
            out = [
                review(SITE, page.url, r.get("text"), rating_raw=number(r.get("rating")), rating_scale=5.0,
                       title=r.get("title"), **_where_when(r.get("location_and_date"), page))  # type: ignore[arg-type]
                for r in data if isinstance(r, dict)
            ]
            return [m for m in out if m.text or m.rating is not None]  # a rating-only review is kept (text "")
        cards = page.selector.css('[data-hook="review"]')
        if not cards and "customer_review" not in page.text:
            raise MalformedPage(f"{page.url}: no Amazon review cards")
        return [_card(card, page) for card in cards]

    def next_url(self) -> str | None:
        """The "Next page" link of the review pager (absent on the last page)."""
        page = self.page
        if page.text.lstrip().startswith("["):
            return None
        href = page.selector.css('[data-hook="pagination-bar"] li.a-last a::attr(href)').get()
        return page.urljoin(href) if href else None
