"""Hacker News: ``news.ycombinator.com/item?id=N`` pages and the HNPWA/node-hnapi JSON item.

An item page holds the story (title, score, author, age, comment count, optional text)
and its comments in page order; long threads continue on the page behind the ``morelink``
("More") anchor. Two markups are read: 2015 (``<span class="comment">``, author and age
as bare links) and 2016+ (``<div class="comment">``, ``a.hnuser``, ``span.age``). Ages are
relative ("4 hours ago") and resolve against the fetch time.

The HNPWA item (``api.hnpwa.com/v0/item/N.json``) nests every comment under ``comments``;
deleted comments (``"[deleted]"``, no author) are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, ident

ITEM = "https://news.ycombinator.com/item?id={}"
_REPLY_RE = re.compile(r"""<div\s+class=["']reply["']""", re.I)
_ITEM_ID_RE = re.compile(r"item\?id=(\d+)")
_HAS_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"


def _item_id(links: Any) -> str | None:
    """The id in the first ``item?id=N`` link, None when absent or not a number."""
    m = _ITEM_ID_RE.search(links[0].attrib.get("href", "")) if links else None
    return m.group(1) if m else None


def _squash(s: str | None) -> str | None:
    return " ".join(s.split()) or None if s else None


@site("hackernews")
class HackerNewsPage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page

    def next_url(self) -> str | None:
        """The next page of a long thread: the ``a.morelink`` href (None on the last page
        and for the JSON item, which carries the whole tree)."""
        if self.page.text.lstrip().startswith("{"):
            return None
        href = self.page.selector.css("a.morelink::attr(href)").get()
        return self.page.urljoin(href) if href else None

    def mentions(self) -> list[Mention]:
        if self.page.text.lstrip().startswith("{"):
            return self._api_mentions(self.page.json())
        sel = self.page.selector
        if not sel.xpath("//html[@op='item']") and not sel.css("td.subtext"):
            raise MalformedPage(f"{self.page.url}: not a Hacker News item page")
        return [m for m in [self._story(sel)] if m] + [self._comment(td) for td in self._comment_cells(sel)]

    # -- HTML -------------------------------------------------------------------------
    def _when(self, raw: str | None) -> dict[str, Any]:
        return {"published_raw": raw, "published_at": self.page.parse_date(raw)}

    def _story(self, sel: Selector) -> Mention | None:
        sub = sel.css("td.subtext")
        if not sub:
            return None
        sub = sub[0]
        title = _squash(sel.xpath("string(//td[@class='title']/a[1])").get())
        item_links = sub.xpath(".//a[starts-with(@href, 'item?id=')]")
        sid = _item_id(item_links)
        age = _squash(sub.xpath("string(.//span[@class='age']/a)").get()) or (
            _squash(item_links[0].xpath("string()").get()) if item_links else None)
        n_comments = next((_squash(a.xpath("string()").get()) for a in item_links
                           if "comment" in (a.xpath("string()").get() or "")), None)
        body = sub.xpath("ancestor::tr[1]/following-sibling::tr[2]/td[2][not(form)]").get() or \
            sel.css("div.toptext").get()
        return Mention(
            site="hackernews", kind="post", url=ITEM.format(sid) if sid else self.page.url,
            external_id=sid, text=html_text(body) or title or "", title=title,
            author=_squash(sub.xpath("string(.//a[starts-with(@href, 'user?id=')])").get()),
            likes=parse_count((sub.css("span.score::text").get() or "").split(" ")[0]),
            comments=parse_count((n_comments or "").split(" ")[0]) if n_comments else None,
            **self._when(age),
        )

    @staticmethod
    def _comment_cells(sel: Selector) -> list[Selector]:
        return sel.xpath(f"//td[{_HAS_CLASS.format('default')}][.//*[{_HAS_CLASS.format('comment')}]]")

    def _comment(self, td: Selector) -> Mention:
        head = td.xpath(f".//span[{_HAS_CLASS.format('comhead')}]")
        link = head.xpath(".//a[starts-with(@href, 'item?id=')]")
        cid = _item_id(link)
        age = _squash(head.xpath(f"string(.//span[{_HAS_CLASS.format('age')}])").get()) or (
            _squash(link[0].xpath("string()").get()) if link else None)
        body = td.xpath(f".//*[{_HAS_CLASS.format('comment')}]").get() or ""
        return Mention(
            site="hackernews", kind="comment", url=ITEM.format(cid) if cid else self.page.url,
            external_id=cid, text=html_text(_REPLY_RE.split(body, 1)[0]),
            author=_squash(head.xpath("string(.//a[starts-with(@href, 'user?id=')])").get()),
            **self._when(age),
        )

    # -- HNPWA JSON ----------------------------------------------------------------------
    def _api_mentions(self, data: Any) -> list[Mention]:
        if not isinstance(data, dict) or ident(data.get("id")) is None or not isinstance(data.get("comments"), list):
            raise MalformedPage(f"{self.page.url}: not an HNPWA item (id + comments[])")
        title = clean_text(data.get("title")) or None
        out = [Mention(
            site="hackernews", kind="post", url=ITEM.format(data["id"]), external_id=ident(data["id"]),
            text=clean_text(data.get("content")) or title or "", title=title, author=data.get("user"),
            likes=data.get("points"), comments=data.get("commentscount"),
            **self._when_epoch(data.get("time")),
        )]

        # depth first in page order, with a stack: a thread nested thousands deep is data,
        # not a reason for RecursionError
        stack = list(reversed(dicts(data["comments"])))
        while stack:
            c = stack.pop()
            replies = dicts(c.get("comments"))
            cid = ident(c.get("id"))
            if not c.get("deleted"):
                out.append(Mention(
                    site="hackernews", kind="comment", url=ITEM.format(cid) if cid else self.page.url,
                    external_id=cid, text=clean_text(c.get("content")),
                    author=c.get("user"), comments=len(replies),
                    **self._when_epoch(c.get("time")),
                ))
            stack.extend(reversed(replies))
        return out

    def _when_epoch(self, ts: Any) -> dict[str, Any]:
        return {"published_raw": None if ts is None or isinstance(ts, dict | list) else str(ts),
                "published_at": self.page.parse_date(ts)}
