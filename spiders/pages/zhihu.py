"""Zhihu question and topic pages: the answers rendered inline, read from their schema.org microdata.

Each ``AnswerItem`` carries ``itemprop`` metas (author name, ``upvoteCount``,
``commentCount``, ``dateCreated`` in UTC) around the ``RichText`` body, which is steadier
than Zhihu's generated class names. The title of the question an answer answers becomes
the mention title: on a question page the answers sit inside the Question's microdata, on
a topic or feed page each answer carries its own Question. Column articles in a topic
feed (``SocialMediaPosting``/``Article`` microdata) are read too. A topic or feed page
shows each answer collapsed to its first lines ("…" and a "阅读全文" button): those are
flagged ``truncated``.
Pagination: the rest of a question's answers come from the v4 API,
``/api/v4/questions/<id>/answers?offset=N&limit=20`` (:func:`zhihu_next_url`).
"""

from __future__ import annotations

import re

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import ends_cut

_QUESTION_RE = re.compile(r"/question/(\d+)")


_QUESTION_TYPE = "http://schema.org/Question"
_ANSWER_TYPE = "http://schema.org/Answer"
_POSTING_TYPE = "http://schema.org/SocialMediaPosting"
_ARTICLE_TYPE = "http://schema.org/Article"
_ARTICLE_ID_RE = re.compile(r"zhuanlan\.zhihu\.com/p/(\d+)")
_EXTRA_SLASHES_RE = re.compile(r"^(https?:)/{3,}")
# A link card's icon (<img alt="图标">, "icon") is decoration, not the answer's words.
_LINK_CARD_ICON_RE = re.compile(r'<span class="LinkCard-imageCell">.*?</span>', re.S)


def _question_title(answer: Selector) -> str | None:
    """The title of the question an answer answers, from the microdata around it: a feed or
    topic page nests each answer's Question inside the Answer (``itemprop=zhihu:question``),
    a question page nests the Answers inside its Question."""
    own = answer.css(f'[itemtype="{_QUESTION_TYPE}"] > meta[itemprop="name"]::attr(content)').get()
    outer = answer.xpath(f'ancestor::*[@itemtype="{_QUESTION_TYPE}"][1]/meta[@itemprop="name"]/@content').get()
    return clean_text(own or outer) or None


def _url(value: str | None) -> str | None:
    """A microdata URL as Zhihu writes it: "https:////zhuanlan.zhihu.com/p/1" (scheme glued
    to a protocol-relative URL) means "https://zhuanlan.zhihu.com/p/1"."""
    return _EXTRA_SLASHES_RE.sub(r"\1//", value.strip()) if isinstance(value, str) and value.strip() else None


def _body(html: str | None) -> str:
    return html_text(_LINK_CARD_ICON_RE.sub("", html or ""))


def _cut(item: Selector, text: str) -> bool:
    """Whether a feed or topic page shows only the start of this answer or article: it is
    collapsed (``RichContent is-collapsed`` with its "阅读全文" button) and its text stops
    with "…". A question page collapses long answers too but keeps their whole text in the
    markup, without that ellipsis."""
    return bool(item.css(".RichContent.is-collapsed, .ContentItem-more")) and ends_cut(text)


@site("zhihu")
class ZhihuPage(PageObject):
    def mentions(self) -> list[Mention]:
        page = self.page
        sel = page.selector
        items = sel.css(f'[itemtype="{_ANSWER_TYPE}"], [itemtype="{_POSTING_TYPE}"], [itemtype="{_ARTICLE_TYPE}"]')
        if not items and not sel.css(".QuestionHeader, .Question-main"):
            raise MalformedPage(f"{page.url}: not a Zhihu question page")
        heading = clean_text(sel.css("h1.QuestionHeader-title::text").get()) or None
        return [self._answer(a, heading) if a.attrib.get("itemtype") == _ANSWER_TYPE else self._article(a)
                for a in items]

    def _answer(self, a: Selector, heading: str | None) -> Mention:
        page = self.page
        created = a.xpath('./meta[@itemprop="dateCreated"]/@content').get()
        return Mention(
            site="zhihu",
            kind="post",
            url=page.urljoin(_url(a.xpath('./meta[@itemprop="url"]/@content').get()) or page.url),
            # the answer's own page (/question/<q>/answer/<a>), as its microdata names it
            permalink=page.permalink(_url(a.xpath('./meta[@itemprop="url"]/@content').get())),
            external_id=a.attrib.get("name"),
            text=(text := _body(a.css('[itemprop="text"]').get())),
            truncated=_cut(a, text),
            title=_question_title(a) or heading,
            author=a.css('[itemprop="author"] meta[itemprop="name"]::attr(content)').get(),
            published_raw=created,
            published_at=page.parse_date(created),
            likes=parse_count(a.xpath('./meta[@itemprop="upvoteCount"]/@content').get()),
            comments=parse_count(a.xpath('./meta[@itemprop="commentCount"]/@content').get()),
        )

    def _article(self, a: Selector) -> Mention:
        """A column (zhuanlan) article in a topic or feed page: ``headline``,
        ``datePublished`` and ``articleBody`` microdata; its id is the ``/p/<id>`` of its URL
        (kept as "p/<id>": article and answer numbers are separate series)."""
        page = self.page
        url = _url(a.xpath('./meta[@itemprop="url"]/@content').get())
        published = a.xpath('./meta[@itemprop="datePublished"]/@content').get()
        m = _ARTICLE_ID_RE.search(url or "")
        return Mention(
            site="zhihu",
            kind="post",
            url=page.urljoin(url) if url else page.url,
            permalink=page.permalink(url),  # the article's zhuanlan page
            external_id=f"p/{m.group(1)}" if m else None,
            text=(text := _body(a.css('[itemprop="articleBody"]').get())),
            truncated=_cut(a, text),
            title=clean_text(a.xpath('./meta[@itemprop="headline"]/@content').get()) or None,
            author=a.css('[itemprop="author"] meta[itemprop="name"]::attr(content)').get(),
            published_raw=published,
            published_at=page.parse_date(published),
            likes=parse_count(a.xpath('./meta[@itemprop="upvoteCount"]/@content').get()),
            comments=parse_count(a.xpath('./meta[@itemprop="commentCount"]/@content').get()),
        )

    def next_url(self) -> str | None:
        """The v4 answers API for the answers after those shown inline."""
        page = self.page
        m = _QUESTION_RE.search(page.url)
        if not m:
            return None
        shown = len(page.selector.css(f'[itemtype="{_ANSWER_TYPE}"]'))
        api = f"https://www.zhihu.com/api/v4/questions/{m.group(1)}/answers"
        return with_query(api, offset=shown, limit=20)
