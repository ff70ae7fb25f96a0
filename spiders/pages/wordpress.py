"""WordPress comment threads: the comments under a post or a WooCommerce product, from
the rendered page (``wp_list_comments`` markup, any theme) or from the REST API
(``/wp-json/wp/v2/comments``).

Rendered pages. WordPress core writes each comment as an element with id
``comment-<id>`` (``li.comment`` in ``ol.comment-list``/``ol.commentlist``, ``div.comment``
in div-style lists; some themes put the id on an inner ``article`` and ``li-comment-<id>``
on the item) and nests replies in ``ul.children``/``ol.children``: the structure, not the
theme's class names, gives the thread. Per comment:

* author: ``.comment-author .fn`` / ``cite.fn`` / ``[itemprop=author] [itemprop=name]``
  (WooCommerce: ``.woocommerce-review__author``), without "says:";
* date: ``time[datetime]`` (ISO with offset in current themes) when it holds a time, else
  the visible date of the comment's permalink (``.comment-metadata a``: "February 20,
  2019 at 3:42 pm", read in the site's zone, ``Page.tz``);
* text: ``.comment-content`` (``[itemprop=text]``, ``.comment-text``, WooCommerce
  ``.description``) without reply links and moderation chrome;
* rating (WooCommerce product reviews, review plugins): ``.star-rating`` ("Rated 4 out of
  5") or ``[itemprop=ratingValue]``; a rated comment is a ``review``, any other one a
  ``comment``; ``in_reply_to`` is the parent comment's id.

Owner answers. WordPress marks a comment written by the post's author ``bypostauthor``.
Under a review-like comment (one with a rating: a product review) the first such
answer is the owner's reply to that review: it becomes the review's ``reply_text`` /
``reply_at`` and is not a mention of its own, like a shop's answer on a review site.
Under an unrated comment (a blog discussion) the author's answer is part of the
conversation, may be answered in turn, and says something of its own: it stays a
``comment`` with ``in_reply_to`` = the comment it answers. Pingbacks and trackbacks are
not feedback and are skipped.

REST API. A JSON list of comment objects: ``date_gmt`` (UTC) is the date, ``parent`` the
comment answered (0: none), ``content.rendered`` the text; ``next_url`` asks for the next
``page`` while a full page (``per_page``, default 10) came back. A rendered thread split
into comment pages gives the other pages as ``follow_urls``. The API does not say who
wrote the post, so no answer is folded into a reply there.

Disqus and other hosted comment systems load in an iframe and are not read here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawlers.items import Mention
from crawlers.processors import parse_datetime
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.html5 import html5_tree, own_text
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, ident, obj, string

SITE = "wordpress_comments"
_ID_RE = re.compile(r"^(?:li-)?comment-(\d+)$")
_AUTHOR = (".comment-author .fn", "cite.fn", ".fn", "[itemprop=author] [itemprop=name]",
           ".woocommerce-review__author", ".comment-author-link", ".epoch-author-link")
_AUTHOR_BOX = (".comment-author", ".epoch-comment-author")
"""Where a name without a link or class sits: the box's own text (not its date or avatar)."""
_BODY = (".comment-content", "[itemprop=text]", "[itemprop=reviewBody]", ".description",
         ".comment-text", ".epoch-comment-content", ".comment-entry", ".entry-content", ".comment-body")
"""The comment's words, most specific first (``.entry-content``: hAtom themes)."""
_DATE_LINK = (".comment-metadata a", ".comment-meta a", ".commentmetadata a", ".comment-date", ".comment-time")
_CHROME = (".reply", ".comment-reply-link", ".comment-edit-link", ".comment-meta", ".comment-metadata",
           ".commentmetadata", ".comment-author", ".vcard", ".avatar", "script", "style", "form",
           ".pmcc-comments-report-link", ".sharedaddy", ".comment-likes", ".star-rating", "p.meta")
"""Inside a comment's body but not its words: reply/edit links, author and date blocks
(when the body is the whole ``.comment-body``), avatars, like and report widgets."""
_RATED_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:out of|of|/|von|sur|de|su)\s*(\d+(?:[.,]\d+)?)", re.I)
_WIDTH_RE = re.compile(r"width\s*:\s*(\d+(?:\.\d+)?)%")
_SAYS_RE = re.compile(r"\s*(?:says|said|dice|sagt|dit|schreef|说|說)\s*:?\s*$", re.I)


def _text(node: LexborNode | None) -> str:
    return " ".join((node.text(separator=" ") if node is not None else "").split())


def _attr(node: LexborNode | None, name: str) -> str:
    value = node.attributes.get(name) if node is not None else None
    return value if isinstance(value, str) else ""



def _classes(node: LexborNode) -> list[str]:
    return _attr(node, "class").split()


@site(SITE, id_scope="host")  # comment ids count up per WordPress site
class WordPressComments(PageObject):
    """The comments of one WordPress post page or one REST API response."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.api: list[dict[str, Any]] | None = None
        if page.text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
            data = page.json()
            if not isinstance(data, list):
                raise MalformedPage(f"{page.url}: not a /wp/v2/comments list")
            self.api = dicts(data)
            return
        self.tree = html5_tree(page, "a WordPress comment thread")
        self.nodes = self._comment_nodes()
        if not self.nodes and self.tree.css_first(
                "#comments, #respond, #commentform, .comment-respond, .comments-area, ol.comment-list, "
                "ol.commentlist, #reviews") is None:
            raise MalformedPage(f"{page.url}: no WordPress comment list or comment form")

    # -- rendered pages ----------------------------------------------------------
    def _comment_nodes(self) -> dict[str, LexborNode]:
        """Each comment's outermost element by comment id, in page order."""
        found: dict[str, LexborNode] = {}
        for node in self.tree.css("[id^=comment-], [id^=li-comment-]"):
            m = _ID_RE.match(_attr(node, "id"))
            if not m or node.tag not in ("li", "div", "article"):
                continue
            if any(c in ("pingback", "trackback") for c in _classes(node)):
                continue
            cid = m.group(1)
            if cid not in found:  # li-comment-N comes before its article#comment-N
                found[cid] = node
        return found

    def _owner_of(self, node: LexborNode) -> str | None:
        """The id of the comment ``node`` sits in (itself excluded), None at top level."""
        parent = node.parent
        while parent is not None:
            m = _ID_RE.match(_attr(parent, "id"))
            if m and m.group(1) in self.nodes:
                return m.group(1)
            parent = parent.parent
        return None

    def _own(self, cid: str, selectors: tuple[str, ...]) -> LexborNode | None:
        """The first match of ``selectors`` inside comment ``cid`` that is not inside one
        of its replies."""
        root = self.nodes[cid]
        for sel in selectors:
            for node in root.css(sel):
                if self._owner_of(node) == cid or node.mem_id == root.mem_id:
                    return node
        return None

    def _date(self, cid: str) -> tuple[str | None, datetime | None]:
        time = self._own(cid, ("time[datetime]",))
        attr = _attr(time, "datetime").strip()
        shown = _text(time) or _text(self._own(cid, _DATE_LINK))
        shown = shown.rstrip(" :;,") or None
        if attr and ("T" in attr or ":" in attr):
            at = self.page.parse_date(attr)
            if at is not None:
                return attr, at
        at = self.page.parse_date(shown) if shown else None
        if at is None and attr:
            at = self.page.parse_date(attr)  # a date without its time beats no date
            return attr, at
        return shown, at

    def _rating(self, cid: str) -> tuple[float | None, float | None]:
        node = self._own(cid, ("[itemprop=ratingValue]",))
        if node is not None:
            value = _attr(node, "content") or _text(node)
            best = _text(self._own(cid, ("[itemprop=bestRating]",))) or _attr(
                self._own(cid, ("[itemprop=bestRating]",)), "content") or "5"
            try:
                return float(value.replace(",", ".")), float(best.replace(",", "."))
            except ValueError:
                pass
        stars = self._own(cid, (".star-rating", ".rating-stars", "[data-rating]"))
        if stars is None:
            return None, None
        if _attr(stars, "data-rating"):
            try:
                return float(_attr(stars, "data-rating")), 5.0
            except ValueError:
                return None, None
        m = _RATED_RE.search(_attr(stars, "aria-label") or _attr(stars, "title") or _text(stars))
        if m:
            return float(m.group(1).replace(",", ".")), float(m.group(2).replace(",", "."))
        span = stars.css_first("span[style]")
        w = _WIDTH_RE.search(_attr(span, "style"))
        return (round(float(w.group(1)) / 20, 2), 5.0) if w else (None, None)

    def _body(self, cid: str) -> str:
        """The comment's own words: its body element, else the comment element itself
        without names, dates, headings and replies (a theme with no body class)."""
        body = self._own(cid, _BODY)
        bare = body is None
        copy = LexborHTMLParser((self.nodes[cid] if bare else body).html or "").body
        if copy is None:
            return ""
        extra = ("cite", ".fn", "time", "h1", "h2", "h3", "h4", "h5", "h6") if bare else ()
        for sel in (*_CHROME, *extra, "ul.children", "ol.children"):
            for node in copy.css(sel):
                node.decompose()
        return html_text(copy.inner_html or "")

    def _permalink(self, cid: str) -> str:
        for sel in (f"a[href$='#comment-{cid}']", "time[datetime]"):
            node = self._own(cid, (sel,))
            href = _attr(node, "href") or _attr(node.parent if node is not None else None, "href")
            if href:
                return self.page.urljoin(href)
        return f"{self.page.url.split('#')[0]}#comment-{cid}"

    def _own_address(self, cid: str) -> str | None:
        """The comment's permalink: its date link when that names the comment (``#comment-N``,
        ``comment-page-2/#comment-N``), else its ``#comment-N`` anchor on this page."""
        link = self._permalink(cid)
        if not re.search(rf"comment[-_=]{re.escape(cid)}(?:\D|$)", link):
            link = f"{self.page.url.split('#')[0]}#comment-{cid}"
        return self.page.permalink(link)

    def mentions(self) -> list[Mention]:
        if self.api is not None:
            return self._api_mentions()
        readings: dict[str, Mention] = {}
        owner_answer: dict[str, str] = {}  # answer id -> the rated comment it was folded into
        for cid, node in self.nodes.items():
            raw, at = self._date(cid)
            rating, scale = self._rating(cid)
            parent = self._owner_of(node)
            author = _SAYS_RE.sub("", _text(self._own(cid, _AUTHOR)) or own_text(self._own(cid, _AUTHOR_BOX))) or None
            m = Mention(
                site=SITE, kind="review" if rating is not None else "comment",
                url=self._permalink(cid), permalink=self._own_address(cid),
                external_id=cid, text=self._body(cid),
                author=author, published_raw=raw, published_at=at,
                rating_raw=rating, rating_scale=scale if rating is not None else None,
                in_reply_to=parent,
            )
            if not m.text and rating is None:
                continue  # held for moderation, deleted, or an empty body: nothing said, nothing rated
            readings[cid] = m
            by_owner = "bypostauthor" in _classes(node)
            host = readings.get(parent) if parent else None
            if (by_owner and host is not None and host.kind == "review" and host.reply_text is None
                    and m.text):
                host.reply_text, host.reply_at = m.text, m.published_at
                owner_answer[cid] = parent  # type: ignore[assignment]
        return [m for cid, m in readings.items() if cid not in owner_answer]

    # -- REST API ----------------------------------------------------------------
    def _api_mentions(self) -> list[Mention]:
        out = []
        for c in self.api or []:
            if string(c.get("type")) in ("pingback", "trackback"):
                continue
            gmt = string(c.get("date_gmt"))
            at = parse_datetime(gmt + "Z", now=self.page.now, tz=self.page.tz) if gmt else None
            local = string(c.get("date"))
            parent = ident(c.get("parent"))
            out.append(Mention(
                site=SITE, kind="comment",
                url=string(c.get("link")) or self.page.url,
                permalink=self.page.permalink(string(c.get("link"))),  # the REST API's own link to the comment
                external_id=ident(c.get("id")),
                text=html_text(obj(c.get("content")).get("rendered")),
                author=string(c.get("author_name")),
                published_raw=local or gmt,
                published_at=at or self.page.parse_date(local),
                in_reply_to=parent if parent and parent != "0" else None,
            ))
        return out

    def next_url(self) -> str | None:
        if self.api is not None:
            query = parse_qs(urlsplit(self.page.url).query)
            try:
                per_page = int((query.get("per_page") or ["10"])[0])
                number = int((query.get("page") or ["1"])[0])
            except ValueError:
                return None
            return with_query(self.page.url, page=number + 1) if self.api and len(self.api) >= per_page else None
        return None  # comment pages are follow_urls: which way is "next" depends on the site's settings

    def follow_urls(self) -> list[str]:
        """The other pages of a paged comment thread (``/comment-page-N/``, ``?cpage=N``):
        every one the comment navigation links, in page order. WordPress shows the newest
        page or the oldest first depending on a setting, so no single direction is "next";
        the crawl reads each linked page once."""
        if self.api is not None:
            return []
        out: list[str] = []
        here = self.page.url.split("#")[0]
        for link in self.tree.css("a[href*='comment-page-'], a[href*='cpage=']"):
            url, _, fragment = self.page.urljoin(_attr(link, "href")).partition("#")
            if _ID_RE.match(fragment):
                continue  # a comment's permalink (".../comment-page-1/#comment-17303"), not the navigation
            if url != here and url not in out:
                out.append(url)
        return out
