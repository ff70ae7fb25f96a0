"""Discuz-style forum pages: a search/board listing of threads, and paged threads."""

from __future__ import annotations

from crawlers.items import Mention
from spiders.pages.base import Page, PageObject, well_typed
from spiders.pages.htmltext import html_text


class ForumListingPage(PageObject):
    def __init__(self, page: Page) -> None:
        page.require_html("a forum listing")
        self.page = page

    def mentions(self) -> list[Mention]:
        return []  # a listing names threads; their pages hold the posts

    def follow_urls(self) -> list[str]:
        return [self.page.urljoin(h) for h in self.page.selector.css("a.thread::attr(href)").getall()]

    def next_url(self) -> str | None:
        href = self.page.selector.css("a.next::attr(href)").get()
        return self.page.urljoin(href) if href else None


class ForumThreadPage(PageObject):
    def __init__(self, page: Page) -> None:
        page.require_html("a forum thread")
        self.page = page
        self.sel = page.selector

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        thread_title = self.sel.css("h1.thread-title").get()
        for post in self.sel.css("div.post"):
            pid = (post.attrib.get("id") or "").removeprefix("post-")
            floor = post.css(".floor::text").get("").strip()
            opening = floor in ("1楼", "楼主", "1#")
            raw_time = post.css(".post-time::text").get()
            out.append(Mention(
                site="",
                kind="post" if opening else "comment",
                url=page.url,
                # the floor's link to the post (its anchor on its thread page), else that anchor here
                permalink=page.permalink(post.css("a.permalink::attr(href)").get()
                                         or (f"{page.url.split('#', 1)[0]}#post-{pid}" if pid else None)),
                external_id=f"p{pid}" if pid else None,
                text=html_text(post.css(".content").get()),
                title=thread_title if opening else None,
                author=post.css(".author::text").get(),
                published_raw=raw_time,
                published_at=page.parse_date(raw_time),
            ))
        return [well_typed(m) for m in out]

    def next_url(self) -> str | None:
        href = self.sel.css("a.next::attr(href)").get()
        return self.page.urljoin(href) if href else None
