"""vBulletin 4 thread pages (``li.postbit`` posts, e.g. pocketpc.ch), paged by rel=next.

Quoted posts (``.bbcode_container``) and app signatures (``.tapatalkSignatur``) are cut
from the text: they are someone else's words or boilerplate. Dates are shown in the
board's zone ("03.03.2011, 14:17"); the caller passes that zone as ``Page.tz``. Likes
are the "Danke" (thanks) counter of the DBTech Thanks add-on when the board has it.
"""

from __future__ import annotations

import re

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site

_TITLE_PAGE_RE = re.compile(r"\s+-\s+Seite\s+\d+\s*$|\s+-\s+Page\s+\d+\s*$")
_DROP = ("bbcode_container", "tapatalkSignatur")
_USERNAME = "contains(concat(' ', normalize-space(@class), ' '), ' username ')"


@site("forum_vbulletin", id_scope="host")  # post ids count up per forum
class VBulletinThreadPage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        self.sel = page.selector
        if not self.sel.css("li.postbit, li.postbitlegacy") and not self.sel.css("#postlist"):
            raise MalformedPage(f"{page.url}: no vBulletin post list")

    def next_url(self) -> str | None:
        """The next page of the thread: ``<link rel="next">`` in the head, else the
        pagination's ``a[rel=next]``."""
        href = self.sel.css('link[rel="next"]::attr(href), a[rel="next"]::attr(href)').get()
        return self.page.urljoin(href) if href else None

    def title(self) -> str | None:
        raw = " ".join((self.sel.css("title::text").get() or "").split())
        return _TITLE_PAGE_RE.sub("", raw) or None

    def mentions(self) -> list[Mention]:
        page, title, out = self.page, self.title(), []
        for post in self.sel.css("li.postbit, li.postbitlegacy"):
            pid = (post.attrib.get("id") or "").removeprefix("post_")
            counter = post.css("a.postcounter")
            number = (counter.css("::text").get() or "").strip().lstrip("#")
            body = post.css("blockquote.postcontent")
            for cls in _DROP:
                for node in body.css(f".{cls}"):
                    node.drop()
            date_raw = " ".join(post.xpath("string(.//dl[@class='userstats']/dd[1])").get("").split()) or \
                " ".join(post.xpath("string(.//span[@class='date'])").get("").split()) or None
            opening = number == "1"
            out.append(Mention(
                site="forum_vbulletin", kind="post" if opening else "comment",
                url=page.urljoin(counter.attrib.get("href", "")) if counter else page.url,
                external_id=pid or None,
                text=html_text(body.get()),
                title=title if opening else None,
                author=" ".join(post.xpath(f"string(.//*[{_USERNAME}][1])").get("").split()) or None,
                published_raw=date_raw,
                published_at=page.parse_date(date_raw),
                likes=parse_count(post.css(".dbtech-thanks-bubble-content::text").get()),
            ))
        return out
