"""E-commerce product-comment JSON API (JD ``productPageComments`` style)."""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page

MALL_SCALE = 5.0


class MallCommentsPage:
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
        return self.data.get("summary") or {}

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        for c in self.data.get("comments") or []:
            if not isinstance(c, dict):
                continue
            replies = [r for r in c.get("replies") or [] if isinstance(r, dict)]
            reply = replies[0] if replies else {}
            score = c.get("score")
            out.append(Mention(
                site="",
                kind="review",
                url=page.url,
                external_id=str(c["id"]) if c.get("id") is not None else None,
                text=c.get("content") or "",
                author=c.get("nickname"),
                rating_raw=float(score) if isinstance(score, int | float) else None,
                rating_scale=MALL_SCALE if isinstance(score, int | float) else None,
                published_raw=c.get("creationTime"),
                published_at=page.parse_date(c.get("creationTime")),
                likes=parse_count(c.get("usefulVoteCount")),
                comments=parse_count(c.get("replyCount")),
                reply_text=reply.get("content"),
                reply_at=page.parse_date(reply.get("creationTime")) if reply else None,
                variant=c.get("productColor"),
            ))
        return out
