"""Dianping (大众点评) shop page reviews, with its font/SVG glyph obfuscation made visible.

Dianping replaces many characters of review text with empty ``<span class="fr-XXXX">``
elements that an external CSS file (``s3plus.meituan.net/.../textcss.*.css``) paints
from an SVG/font sprite. The page itself does not carry the class-to-character map, so
the characters cannot be decoded from it; guessing them would invent text. Instead each
glyph span becomes U+FFFD (:data:`GLYPH`): the text keeps its length and shape, a reader
sees where characters are missing, and :func:`missing_glyphs` counts them, so an
incomplete mention is flagged, never silently shortened.

Review body: the full text (``J-info-all``) when the page has it, else the short one
(``J-info-short``, cut where the page folds it: the mention is flagged ``truncated``), else
(shop pages of some categories, e.g. cinemas, have no short/full pair) ``.content > p.desc``.
Each review's own page (``permalink``) is ``www.dianping.com/review/<id>``, taken from the
link the item itself carries to it (its comment count); an item without one has none.
Rating: ``sml-strNN`` is NN on a 50-point scale (50 = five stars). Dates are Asia/Shanghai.
Pagination: a shop page links its reviews at ``/shop/<id>/review_all``; review_all
pages go on by ``/pN`` paths while a ``NextPage`` link is shown. A shop page whose inline
list came back empty while it counts reviews (``#reviewCount`` "3865条评论": the list is
filled by script) still leads to ``review_all``, so those reviews are not lost.

A page saved as a JSON string (every quote written ``\\"``, non-ASCII as ``\\uXXXX``: what a
render service's or a scraper's JSON envelope holds) is unescaped once, as JSON, before parsing.
"""

from __future__ import annotations

import json
import re

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject, html_selector
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site
from spiders.pages.reviewkit import rating_fields

GLYPH = "\ufffd"
_GLYPH_SPAN_RE = re.compile(r'<span class="[a-z]{1,4}-[A-Za-z0-9]{4}"\s*>\s*</span>')
# Emoji written as two UTF-16 surrogate entities ("&#55356;&#57188;") would become two
# U+FFFD, confused with GLYPH: html_selector joins them into the emoji first.
_STARS_RE = re.compile(r"\bsml-str(\d{1,2})\b")
# "2018-05-05 更新于18-05-06 12:29": posted on the 5th, edited on the 6th; the post date counts.
_POSTED_RE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2})?)\s*更新于")


def missing_glyphs(mention: Mention) -> int:
    """How many characters of the mention's text were obfuscated glyphs (0 = complete)."""
    return mention.text.count(GLYPH)


_SHOP_PATH_RE = re.compile(r"/shop/([A-Za-z0-9]+)")
_REVIEW_LINK_RE = re.compile(r"^(?:(?:https?:)?//www\.dianping\.com)?/review/(\d+)(?:[?#]|$)")
_COUNT_RE = re.compile(r"(\d+)")


def _html(text: str) -> str:
    """``text``, or the HTML it holds when it is a JSON string literal (quoted or not)."""
    head = text[:4096]
    body = text.strip()
    if '\\"' not in head or '="' in head or not body.lstrip('"').startswith("<"):
        return text
    try:
        value = json.loads(body if body.startswith('"') else f'"{body}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _selector(page: Page) -> Selector:
    return html_selector(_html(page.text))


def _text(html: str | None) -> str:
    return html_text(_GLYPH_SPAN_RE.sub(GLYPH, html or ""))


@site("dianping")
class DianpingPage(PageObject):
    def mentions(self) -> list[Mention]:
        page = self.page
        sel = _selector(page)
        items = sel.css("li.comment-item")
        if not items and not sel.css("#review-list, .reviews-items, .comment-list"):
            raise MalformedPage(f"{page.url}: no Dianping review list")
        out = []
        for it in items:
            full = it.css("div.J-info-all p.desc").get()
            short = None if full else it.css("div.J-info-short p.desc").get()
            body = full or short or it.css("div.content > p.desc").get()  # pages without the short/all pair
            stars = _STARS_RE.search(it.css("span.sml-rank-stars::attr(class)").get() or "")
            when = clean_text(it.css("span.time::text").get()) or None
            follow = it.css("div.comment-follows")
            reply_when = clean_text(follow.css("span.date::text").get()) or None
            review_link = _REVIEW_LINK_RE.search(it.css('a[href*="/review/"]::attr(href)').get() or "")
            out.append(Mention(
                site="dianping",
                kind="review",
                url=page.url,
                external_id=it.css("a.J-praise::attr(data-id)").get(),
                # the review's own page, as the item's comment-count link names it
                permalink=page.permalink(f"https://www.dianping.com/review/{review_link.group(1)}")
                if review_link else None,
                text=_text(body),
                author=clean_text(it.css("a.name::text").get()) or None,
                **rating_fields(int(stars.group(1)) if stars else None, 50.0),
                published_raw=when,
                published_at=page.parse_date(m.group(1) if when and (m := _POSTED_RE.match(when)) else when),
                likes=parse_count(clean_text("".join(it.css("a.J-praise::text").getall()))),
                comments=parse_count(clean_text(it.css('a[href*="/review/"]::text').get())),
                reply_text=_text(follow.css("p.desc").get()) or None,
                reply_at=page.parse_date(reply_when),
                truncated=short is not None,  # only the folded short text: a snippet
            ))
        return out

    def next_url(self) -> str | None:
        """The ``review_all`` list from a shop page, else the ``NextPage`` link of a list page."""
        page = self.page
        sel = _selector(page)
        href = sel.css("a.NextPage::attr(href)").get() or sel.css("p.comment-all a::attr(href)").get()
        if href:
            return page.urljoin(href)
        counted = _COUNT_RE.search(clean_text(sel.css("#reviewCount::text").get()))
        shop = _SHOP_PATH_RE.search(page.url) or _SHOP_PATH_RE.search(sel.css('link[rel="canonical"]::attr(href)').get() or "")
        if counted and int(counted.group(1)) > 0 and shop and "/review_all" not in page.url:
            return page.urljoin(f"/shop/{shop.group(1)}/review_all")  # the inline list was left to script
        return None
