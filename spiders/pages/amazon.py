"""Amazon product reviews: the ``/product-reviews/ASIN`` HTML page, the top reviews of a
product page (``/dp/ASIN``: the 2017 desktop page with ``data-hook="review"`` cards, the 2018
mobile page with bare ``div#customer_review-RID`` cards whose author sits in the row before
and whose text is a snippet cut with "..."), and a reshaped JSON output (list of ``{text,
title, rating, location_and_date, verified}``).

"Reviewed in the United States on July 1, 2024" carries both the reviewer's marketplace
country (-> ``author_region``) and a date without zone (the caller's ``Page.tz``).
Helpful votes: no statement means zero; "One person found this helpful" means one.
Pagination: ``li.a-last a`` (``pageNumber=N`` in the URL). Each review's own page is
``/gp/customer-reviews/<review id>`` on the marketplace's host (``permalink``).
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
_WHERE_WHEN = re.compile(r"(?:Reviewed in (?:the )?(?P<where>.+?) )?on (?P<when>.+)$", re.S)
""""Reviewed in the United States on July 1, 2024" (2020+) and a bare "on March 2, 2017"
(older pages, no marketplace)."""
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


_READ_MORE = ('[data-hook="expand-collapse-read-more-less"]', ".a-expander-header")
"""The "Read more" toggle inside a review body whose full text is already on the page."""


def _body(card: Selector) -> str | None:
    """The review text's markup without the "Read more" toggle (2017 product pages put the
    whole text in a CSS-collapsed expander, so the link is no part of it)."""
    body = card.css('[data-hook="review-body"], .reviewText')[:1]
    if not body:
        return None
    html = body.get()
    for query in _READ_MORE:
        for toggle in body.css(query).getall():
            html = html.replace(toggle, "")
    return html


def _title(card: Selector) -> str | None:
    """Review-page titles sit in a child span (beside a star icon's alt text); product
    pages of 2017 write the title as the link's own text."""
    title = card.css('[data-hook="review-title"]')[:1]
    texts = title.xpath("./span[not(contains(@class, 'a-letter-space'))]/text()").getall() or title.css("::text").getall()
    return next((t.strip() for t in texts if t.strip()), None)


def _author(card: Selector) -> str | None:
    """The profile name in the card; the mobile product page puts it in the row just
    before the card (``div.a-row`` then ``div#RID``)."""
    name = card.css('.a-profile-name::text, a[data-hook="review-author"]::text').get()
    if name is None and card.attrib.get("id", "").startswith("customer_review-"):
        name = card.xpath("../preceding-sibling::div[1]//*[contains(@class, 'a-profile-name')]/text()").get()
    return name


_REVIEW_LINK = re.compile(r"/gp/customer-reviews/([A-Z0-9]{6,20})")
_REVIEW_ID = re.compile(r"R[A-Z0-9]{5,19}")


def _permalink(card: Selector, rid: str | None, page: Page) -> str | None:
    """The review's own page, ``/gp/customer-reviews/<RID>`` on the page's marketplace:
    the id the card's title link names (its ``ref=`` and query are tracking, dropped), else
    the card's own id."""
    href = card.css('a[data-hook="review-title"]::attr(href), a[href*="/gp/customer-reviews/"]::attr(href)').get()
    found = _REVIEW_LINK.search(page.urljoin(href)) if href else None
    review_id = found.group(1) if found else rid if rid and _REVIEW_ID.fullmatch(rid) else None
    return page.permalink(f"/gp/customer-reviews/{review_id}") if review_id else None


def _card(card: Selector, page: Page) -> Mention:
    stars = _STARS.search(card.css('[data-hook="review-star-rating"] .a-icon-alt::text, '
                                   '[data-hook="cmps-review-star-rating"] .a-icon-alt::text, '
                                   '.review-rating .a-icon-alt::text').get(""))
    rid = card.attrib.get("id", "").removeprefix("customer_review-") or None
    return review(
        SITE, page.url, _body(card),
        rating_raw=number(stars.group(1)) if stars else None, rating_scale=number(stars.group(2)) if stars else None,
        external_id=rid, permalink=_permalink(card, rid, page), title=_title(card), author=_author(card),
        # a bare mobile card shows no votes at all: unknown, not zero
        likes=_helpful(card.css('[data-hook="helpful-vote-statement"]::text').get())
        if card.attrib.get("data-hook") == "review" else None,
        variant=card.css('[data-hook="format-strip"], [data-hook="format-strip-linkless"]').xpath("string()").get(),
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
        # review pages and desktop product pages mark each card data-hook="review"; the
        # mobile product page (2018) has only the div#customer_review-RID cards
        cards = page.selector.css('[data-hook="review"]') or page.selector.css('div[id^="customer_review-"]')
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
