"""Zhihu question pages: the answers rendered inline, read from their schema.org microdata.

Each ``AnswerItem`` carries ``itemprop`` metas (author name, ``upvoteCount``,
``commentCount``, ``dateCreated`` in UTC) around the ``RichText`` body, which is steadier
than Zhihu's generated class names. The question title becomes the mention title.
Pagination: the rest of a question's answers come from the v4 API,
``/api/v4/questions/<id>/answers?offset=N&limit=20`` (:func:`zhihu_next_url`).
"""

from __future__ import annotations

import re

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site

_QUESTION_RE = re.compile(r"/question/(\d+)")


@site("zhihu")
class ZhihuPage(PageObject):
    def mentions(self) -> list[Mention]:
        page = self.page
        sel = page.selector
        answers = sel.css('[itemtype="http://schema.org/Answer"]')
        if not answers and not sel.css(".QuestionHeader, .Question-main"):
            raise MalformedPage(f"{page.url}: not a Zhihu question page")
        title = clean_text(sel.css("h1.QuestionHeader-title::text").get()) or None
        out = []
        for a in answers:
            created = a.xpath('./meta[@itemprop="dateCreated"]/@content').get()
            out.append(Mention(
                site="zhihu",
                kind="post",
                url=page.urljoin(a.xpath('./meta[@itemprop="url"]/@content').get() or page.url),
                external_id=a.attrib.get("name"),
                text=html_text(a.css('[itemprop="text"]').get()),
                title=title,
                author=a.css('[itemprop="author"] meta[itemprop="name"]::attr(content)').get(),
                published_raw=created,
                published_at=page.parse_date(created),
                likes=parse_count(a.xpath('./meta[@itemprop="upvoteCount"]/@content').get()),
                comments=parse_count(a.xpath('./meta[@itemprop="commentCount"]/@content').get()),
            ))
        return out

    def next_url(self) -> str | None:
        """The v4 answers API for the answers after those shown inline."""
        page = self.page
        m = _QUESTION_RE.search(page.url)
        if not m:
            return None
        shown = len(page.selector.css('[itemtype="http://schema.org/Answer"]'))
        api = f"https://www.zhihu.com/api/v4/questions/{m.group(1)}/answers"
        return with_query(api, offset=shown, limit=20)
