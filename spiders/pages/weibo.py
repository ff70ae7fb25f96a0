"""Weibo-style JSON feed (m.weibo.cn or open API ``statuses`` shape), paged by a ``max_id`` cursor."""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject, well_typed
from spiders.pages.paging import with_query
from spiders.pages.reviewkit import dicts, ident, obj


class WeiboFeedPage(PageObject):
    """A page of statuses: m.weibo.cn's ``{"data": {"statuses": [...], "max_id": ...}}`` or
    the open API v2 timelines' bare ``{"statuses": [...], "next_cursor": ...}``
    (``api.weibo.com/2/statuses/home_timeline.json`` and its kin), whose ``next_cursor``
    is the ``max_id`` of the next page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        data = page.json()
        inner = data.get("data") if isinstance(data, dict) else None
        if isinstance(data, dict) and inner is None and isinstance(data.get("statuses"), list):
            inner = data  # open API v2: no envelope
        if not isinstance(inner, dict) or not isinstance(inner.get("statuses", []), list):
            raise MalformedPage(f"{page.url}: no data.statuses array")
        self.data: dict[str, Any] = inner

    @property
    def next_cursor(self) -> str | None:
        cursor = ident(self.data.get("max_id", self.data.get("next_cursor")))
        return cursor if cursor not in (None, "0") else None

    def next_url(self) -> str | None:
        """This feed again from the response's ``max_id`` cursor; None at the end (no
        cursor, or ``0``)."""
        cursor = self.next_cursor
        return with_query(self.page.url, max_id=cursor) if cursor else None

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        for s in dicts(self.data.get("statuses")):
            user = obj(s.get("user"))
            region_name = s.get("region_name")
            region = region_name.removeprefix("发布于").strip() or None if isinstance(region_name, str) else None
            out.append(Mention(
                site="",
                kind="post",
                url=page.url,
                permalink=page.permalink(s.get("url")),  # the post's own page, as the feed links it
                external_id=ident(s.get("id") or s.get("mid")),
                text=clean_text(s.get("text")),
                author=user.get("screen_name"),
                author_region=region,
                published_raw=s.get("created_at"),
                published_at=page.parse_date(s.get("created_at")),
                likes=parse_count(s.get("attitudes_count")),
                reposts=parse_count(s.get("reposts_count")),
                comments=parse_count(s.get("comments_count")),
            ))
        return [well_typed(m) for m in out]
