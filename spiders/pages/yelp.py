"""Yelp: GraphQL review nodes (``encid``, ``text.full``, ``rating``, ``createdAt`` ISO UTC,
``feedback.usefulCount``) and the 2015 Search API v2 response, whose only review text is
each business's ``snippet_text`` (truncated, no author or date; the rating there is the
business's, so it is not copied to the snippet).

Pagination: the Search API pages by ``offset`` (+ ``limit``) up to ``total``; see
:func:`next_search_offset`. The GraphQL fragment carries no cursor.
"""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import dig, number, obj, review, string

SITE = "yelp"


def _node(r: dict[str, Any], page: Page) -> Mention:
    author, text = obj(r.get("author")), obj(r.get("text"))
    useful = dig(r, "feedback", "usefulCount")
    return review(
        SITE, page.url, text.get("full"), rating_raw=number(r.get("rating")), rating_scale=5.0,
        external_id=r.get("encid"), author=author.get("displayName"), author_region=author.get("displayLocation"),
        published_raw=r.get("createdAt"), published_at=page.parse_date(r.get("createdAt")),
        likes=useful if isinstance(useful, int) else None,
        language=text.get("language") if isinstance(text.get("language"), str) else None,
    )


def _snippet(b: dict[str, Any], page: Page) -> Mention:
    return review(SITE, string(b.get("url")) or page.url, b.get("snippet_text"))  # no id of its own


@site(SITE)
class YelpPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Reviews from GraphQL review nodes, or snippets from a Search API response."""
        page = self.page
        data = page.json()
        if isinstance(data, dict) and isinstance(data.get("businesses"), list):
            return [_snippet(b, page) for b in data["businesses"] if isinstance(b, dict) and b.get("snippet_text")]
        if not isinstance(data, list):
            raise MalformedPage(f"{page.url}: neither review nodes nor a search response")
        # a review with stars and no words is kept (text "")
        return [m for m in (_node(r, page) for r in data if isinstance(r, dict)) if m.text or m.rating is not None]


def next_search_offset(page: Page, offset: int) -> int | None:
    """Offset of the next Search API page after the one fetched at ``offset``; None at the end."""
    data = page.json()
    if not isinstance(data, dict):
        return None
    businesses = data.get("businesses")
    count, total = len(businesses) if isinstance(businesses, list) else 0, data.get("total")
    nxt = offset + count
    return nxt if count and isinstance(total, int) and nxt < total else None
