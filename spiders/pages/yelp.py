"""Yelp: GraphQL review nodes (``encid``, ``text.full``, ``rating``, ``createdAt`` ISO UTC,
``feedback.usefulCount``) and the 2015 Search API v2 response, whose only review text is
each business's ``snippet_text`` (truncated, no author or date; the rating there is the
business's, so it is not copied to the snippet).

The Fusion API (v3) answers ``/businesses/{id}/reviews`` with ``{"reviews": [{id, url,
text, rating, time_created, user: {id, name, profile_url}}], "total", "possible_languages"}``
and its GraphQL endpoint nests the same review objects under each business
(``data.search.business[].reviews``, ``data.business.reviews``). Fusion texts are the
first ~160 characters cut with "..." (the site's snippet: flagged ``truncated``), and ``time_created``
("2023-04-10 18:57:16") carries no zone: Yelp documents it as Pacific time, so it is read
in America/Los_Angeles whatever the caller's zone. The review ``url`` carries the API
key's tracking query (``adjust_creative``, ``utm_*``), dropped from the mention URL; the
review's own address (``permalink``) is its business page with ``?hrid=<review id>``.
Bodies may come wrapped in JS (``export default {...}``, ``module.exports = {...}``).

Pagination: the Search API pages by ``offset`` (+ ``limit``) up to ``total``; see
:func:`next_search_offset`. The GraphQL fragment carries no cursor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from crawlers.items import Mention
from crawlers.processors import parse_datetime
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, dig, ends_cut, ident, number, obj, review, string

SITE = "yelp"
FUSION_TZ = ZoneInfo("America/Los_Angeles")
"""The zone of Fusion's ``time_created`` (Yelp's API reference: "in PST")."""


def _permalink(page: Page, biz_url: str | None, rid: str | None, review_url: str | None = None) -> str | None:
    """The review on its business page, ``/biz/<alias>?hrid=<review id>`` (Yelp's own link
    to one review, the ``url`` the API gives without its tracking parameters); None without
    a business page or an id to point at."""
    if review_url:
        parts = urlsplit(review_url)
        hrid = next((v for k, v in parse_qsl(parts.query) if k == "hrid"), None) or rid
        biz_url = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.path.startswith("/biz/") else biz_url
    else:
        hrid = rid
    if not biz_url or not hrid or not urlsplit(biz_url).path.startswith("/biz/"):
        return None
    return page.permalink(f"{biz_url.split('?', 1)[0]}?{urlencode({'hrid': hrid})}")


def _fusion(r: dict[str, Any], page: Page, biz_url: str | None) -> Mention:
    """One Fusion / GraphQL review object."""
    user = obj(r.get("user"))
    url = string(r.get("url"))
    created = string(r.get("time_created"))
    return review(
        SITE, url.split("?", 1)[0] if url else biz_url or page.url, r.get("text"),
        rating_raw=number(r.get("rating")), rating_scale=5.0,
        external_id=ident(r.get("id")), author=string(user.get("name")),
        permalink=_permalink(page, biz_url, ident(r.get("id")), url),
        published_raw=created, published_at=parse_datetime(created, now=page.now, tz=FUSION_TZ) if created else None,
        truncated=ends_cut(r.get("text")),  # Fusion's text is the site's snippet, cut with "..."
    )


def _fusion_reviews(data: dict[str, Any], page: Page) -> list[Mention] | None:
    """Reviews of a Fusion reviews answer or a GraphQL business/search answer; None when
    ``data`` is neither."""
    if isinstance(data.get("reviews"), list):
        return [_fusion(r, page, None) for r in dicts(data["reviews"])]
    root = obj(data.get("data"))
    businesses = dicts(dig(root, "search", "business")) or dicts([root.get("business")])
    if not businesses or not any(isinstance(b.get("reviews"), list) for b in businesses):
        return None
    return [_fusion(r, page, f"https://www.yelp.com/biz/{b['id']}" if ident(b.get("id")) else None)
            for b in businesses for r in dicts(b.get("reviews"))]


def _node(r: dict[str, Any], page: Page) -> Mention:
    author, text = obj(r.get("author")), obj(r.get("text"))
    useful = dig(r, "feedback", "usefulCount")
    return review(
        SITE, page.url, text.get("full"), rating_raw=number(r.get("rating")), rating_scale=5.0,
        external_id=r.get("encid"), author=author.get("displayName"), author_region=author.get("displayLocation"),
        permalink=_permalink(page, page.url, ident(r.get("encid"))),  # nodes read off a /biz/ page
        published_raw=r.get("createdAt"), published_at=page.parse_date(r.get("createdAt")),
        likes=useful if isinstance(useful, int) else None,
        language=text.get("language") if isinstance(text.get("language"), str) else None,
    )


def _snippet(b: dict[str, Any], page: Page) -> Mention:
    """A business's ``snippet_text``: the API's excerpt of one review, cut with "..." (a
    short review fits whole, without one). No id of its own, so nothing can expand it."""
    text = b.get("snippet_text")
    return review(SITE, string(b.get("url")) or page.url, text, truncated=ends_cut(text))


@site(SITE)
class YelpPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Reviews from GraphQL review nodes, a Fusion reviews or GraphQL answer, or
        snippets from a Search API response."""
        page = self.page
        data = page.data
        if isinstance(data, dict) and (fusion := _fusion_reviews(data, page)) is not None:
            return [m for m in fusion if m.text or m.rating is not None]
        if isinstance(data, dict) and isinstance(data.get("businesses"), list):
            return [_snippet(b, page) for b in data["businesses"] if isinstance(b, dict) and b.get("snippet_text")]
        if not isinstance(data, list):
            raise MalformedPage(f"{page.url}: neither review nodes nor a search response")
        # a review with stars and no words is kept (text "")
        return [m for m in (_node(r, page) for r in data if isinstance(r, dict)) if m.text or m.rating is not None]


def next_search_offset(page: Page, offset: int) -> int | None:
    """Offset of the next Search API page after the one fetched at ``offset``; None at the end."""
    data = page.data
    if not isinstance(data, dict):
        return None
    businesses = data.get("businesses")
    count, total = len(businesses) if isinstance(businesses, list) else 0, data.get("total")
    nxt = offset + count
    return nxt if count and isinstance(total, int) and nxt < total else None
