"""E-commerce product-comment JSON API (JD ``productPageComments`` style)."""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page, PageObject, well_typed
from spiders.pages.reviewkit import dicts, ident, number, obj

MALL_SCALE = 5.0


class MallCommentsPage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        data = page.json()
        if not isinstance(data, dict) or not isinstance(data.get("comments", []), list):
            raise MalformedPage(f"{page.url}: no comments array")
        self.data: dict[str, Any] = data

    @property
    def max_page(self) -> int | None:
        value = self.data.get("maxPage")
        return value if isinstance(value, int) else None

    @property
    def summary(self) -> dict[str, Any]:
        return obj(self.data.get("summary"))

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        for c in dicts(self.data.get("comments")):
            replies = dicts(c.get("replies"))
            reply = replies[0] if replies else {}
            score = number(c.get("score")) if not isinstance(c.get("score"), str) else None
            out.append(Mention(
                site="",
                kind="review",
                url=page.url,
                permalink=page.permalink(c.get("url")),  # the comment's own page, as the API links it
                external_id=ident(c.get("id")),
                text=c.get("content") or "",  # plain text in the JSON; a non-string is a bad field
                author=c.get("nickname"),
                rating_raw=score,
                rating_scale=MALL_SCALE if score is not None else None,
                published_raw=c.get("creationTime"),
                published_at=page.parse_date(c.get("creationTime")),
                likes=parse_count(c.get("usefulVoteCount")),
                comments=parse_count(c.get("replyCount")),
                reply_text=reply.get("content"),
                reply_at=page.parse_date(reply.get("creationTime")) if reply else None,
                variant=c.get("productColor"),
            ))
        return [well_typed(m) for m in out]
