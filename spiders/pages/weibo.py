"""Weibo-style JSON feed (m.weibo.cn ``statuses`` shape), paged by a ``max_id`` cursor."""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page


class WeiboFeedPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        data = page.json()
        inner = data.get("data") if isinstance(data, dict) else None
        if not isinstance(inner, dict) or not isinstance(inner.get("statuses", []), list):
            raise MalformedPage(f"{page.url}: no data.statuses array")
        self.data: dict[str, Any] = inner

    @property
    def next_cursor(self) -> str | None:
        cursor = self.data.get("max_id")
        return str(cursor) if cursor not in (None, 0, "0", "") else None

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        for s in self.data.get("statuses") or []:
            if not isinstance(s, dict):
                continue
            user = s.get("user") if isinstance(s.get("user"), dict) else {}
            region = (s.get("region_name") or "").removeprefix("发布于").strip() or None
            out.append(Mention(
                site="",
                kind="post",
                url=page.url,
                external_id=str(s.get("id") or s.get("mid") or "") or None,
                text=s.get("text") or "",
                author=user.get("screen_name"),
                author_region=region,
                published_raw=s.get("created_at"),
                published_at=page.parse_date(s.get("created_at")),
                likes=parse_count(s.get("attitudes_count")),
                reposts=parse_count(s.get("reposts_count")),
                comments=parse_count(s.get("comments_count")),
            ))
        return out
