"""Hacker News: ``news.ycombinator.com/item?id=N`` pages and the HNPWA/node-hnapi JSON item.

An item page holds the story (title, score, author, age, comment count, optional text)
and its comments in page order; long threads continue on the page behind the ``morelink``
("More") anchor. Two markups are read: 2015 (``<span class="comment">``, author and age
as bare links) and 2016+ (``<div class="comment">``, ``a.hnuser``, ``span.age``). The age
shown is relative ("4 hours ago"); since about 2020 ``span.age`` also carries the absolute
UTC time in its ``title`` ("2021-09-01T20:15:25", later followed by the epoch seconds),
which is used when present, else the relative age resolves against the fetch time.

A listing page (front page, ``newest``, ``ask``, ``show``: ``tr.athing`` story rows) gives
each story as a post (title, link, score, author, age, comment count) and its item page
as a page to follow; ``morelink`` is the listing's next page.

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
_ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
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

    def _listing_rows(self) -> list[Selector]:
        """The story rows of a listing page; [] on an item page (its one story row is the
        item itself) and for the JSON item."""
        if self.page.text.lstrip().startswith("{"):
            return []
        sel = self.page.selector
        if sel.xpath("//html[@op='item']"):
            return []
        return sel.xpath(f"//tr[{_HAS_CLASS.format('athing')}][not({_HAS_CLASS.format('comtr')})]"
                         f"[following-sibling::tr[1]/td[{_HAS_CLASS.format('subtext')}]]")

    def follow_urls(self) -> list[str]:
        """A listing's stories, as item pages (their comments)."""
        return [ITEM.format(sid) for row in self._listing_rows() if (sid := row.attrib.get("id", "")).isdigit()]

    def mentions(self) -> list[Mention]:
        if self.page.text.lstrip().startswith("{"):
            return self._api_mentions(self.page.json())
        sel = self.page.selector
        if rows := self._listing_rows():
            return [self._listed_story(row) for row in rows]
        if not sel.xpath("//html[@op='item']") and not sel.css("td.subtext"):
            raise MalformedPage(f"{self.page.url}: not a Hacker News item page")
        return [m for m in [self._story(sel)] if m] + [self._comment(td) for td in self._comment_cells(sel)]

    # -- HTML -------------------------------------------------------------------------
    def _when(self, raw: str | None, age: Selector | None = None) -> dict[str, Any]:
        """The age as shown, and its time: the absolute UTC stamp of ``span.age[title]``
        when the page has one, else the shown age read against the fetch time."""
        stamp = (age.attrib.get("title") or "").split() if age is not None else []
        when = None
        if len(stamp) > 1 and stamp[1].isdigit():
            when = self.page.parse_date(int(stamp[1]))
        elif stamp and _ISO_RE.match(stamp[0]):
            when = self.page.parse_date(stamp[0] if stamp[0].endswith("Z") else stamp[0] + "Z")
        return {"published_raw": raw, "published_at": when or self.page.parse_date(raw)}

    def _listed_story(self, row: Selector) -> Mention:
        sid = row.attrib.get("id") or None
        link = row.xpath(f".//td[{_HAS_CLASS.format('title')}]//a[not(starts-with(@href, 'from?'))]"
                         "[not(starts-with(@href, 'vote?'))][1]")
        title = _squash(link.xpath("string()").get()) if link else None
        sub = row.xpath(f"following-sibling::tr[1]/td[{_HAS_CLASS.format('subtext')}]")
        age = sub.xpath(f".//span[{_HAS_CLASS.format('age')}]")
        n_comments = next((t for a in sub.xpath(".//a[starts-with(@href, 'item?id=')]")
                           if "comment" in (t := _squash(a.xpath("string()").get()) or "")), None)
        return Mention(
            site="hackernews", kind="post", url=ITEM.format(sid) if sid else self.page.url, permalink=ITEM.format(sid) if sid else None,
            external_id=sid, text=title or "", title=title,
            author=_squash(sub.xpath("string(.//a[starts-with(@href, 'user?id=')])").get()),
            likes=parse_count((sub.css("span.score::text").get() or "").split(" ")[0]),
            comments=parse_count(n_comments.split()[0]) if n_comments else None,
            **self._when(_squash(age.xpath("string()").get()), age[0] if age else None),
        )

    def _story(self, sel: Selector) -> Mention | None:
        sub = sel.css("td.subtext")
        if not sub:
            return None
        sub = sub[0]
        # the title link: a direct child of td.title until 2022, inside span.titleline since
        title = _squash(sel.xpath(f"string(//td[{_HAS_CLASS.format('title')}]//a[not(starts-with(@href, 'from?'))]"
                                  "[not(starts-with(@href, 'vote?'))][1])").get())
        item_links = sub.xpath(".//a[starts-with(@href, 'item?id=')]")
        sid = _item_id(item_links)
        age_node = sub.xpath(f".//span[{_HAS_CLASS.format('age')}]")
        age = _squash(sub.xpath("string(.//span[@class='age']/a)").get()) or (
            _squash(item_links[0].xpath("string()").get()) if item_links else None)
        n_comments = next((_squash(a.xpath("string()").get()) for a in item_links
                           if "comment" in (a.xpath("string()").get() or "")), None)
        body = sub.xpath("ancestor::tr[1]/following-sibling::tr[2]/td[2][not(form)]").get() or \
            sel.css("div.toptext").get()
        return Mention(
            site="hackernews", kind="post", url=ITEM.format(sid) if sid else self.page.url, permalink=ITEM.format(sid) if sid else None,
            external_id=sid, text=html_text(body) or title or "", title=title,
            author=_squash(sub.xpath("string(.//a[starts-with(@href, 'user?id=')])").get()),
            likes=parse_count((sub.css("span.score::text").get() or "").split(" ")[0]),
            comments=parse_count((n_comments or "").split(" ")[0]) if n_comments else None,
            **self._when(age, age_node[0] if age_node else None),
        )

    @staticmethod
    def _comment_cells(sel: Selector) -> list[Selector]:
        return sel.xpath(f"//td[{_HAS_CLASS.format('default')}][.//*[{_HAS_CLASS.format('comment')}]]")

    def _comment(self, td: Selector) -> Mention:
        head = td.xpath(f".//span[{_HAS_CLASS.format('comhead')}]")
        link = head.xpath(".//a[starts-with(@href, 'item?id=')]")
        cid = _item_id(link)
        age_node = head.xpath(f".//span[{_HAS_CLASS.format('age')}]")
        age = _squash(age_node.xpath("string()").get()) or (
            _squash(link[0].xpath("string()").get()) if link else None)
        body = td.xpath(f".//*[{_HAS_CLASS.format('comment')}]").get() or ""
        return Mention(
            site="hackernews", kind="comment", url=ITEM.format(cid) if cid else self.page.url, permalink=ITEM.format(cid) if cid else None,
            external_id=cid, text=html_text(_REPLY_RE.split(body, 1)[0]),
            author=_squash(head.xpath("string(.//a[starts-with(@href, 'user?id=')])").get()),
            **self._when(age, age_node[0] if age_node else None),
        )

    # -- HNPWA JSON ----------------------------------------------------------------------
    def _api_mentions(self, data: Any) -> list[Mention]:
        if not isinstance(data, dict) or ident(data.get("id")) is None or not isinstance(data.get("comments"), list):
            raise MalformedPage(f"{self.page.url}: not an HNPWA item (id + comments[])")
        title = clean_text(data.get("title")) or None
        out = [Mention(
            site="hackernews", kind="post", url=ITEM.format(data["id"]), external_id=ident(data["id"]),
            permalink=ITEM.format(ident(data["id"])) if ident(data["id"]) else None,
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
                    site="hackernews", kind="comment", url=ITEM.format(cid) if cid else self.page.url, permalink=ITEM.format(cid) if cid else None,
                    external_id=cid, text=clean_text(c.get("content")),
                    author=c.get("user"), comments=len(replies),
                    **self._when_epoch(c.get("time")),
                ))
            stack.extend(reversed(replies))
        return out

    def _when_epoch(self, ts: Any) -> dict[str, Any]:
        return {"published_raw": None if ts is None or isinstance(ts, dict | list) else str(ts),
                "published_at": self.page.parse_date(ts)}
