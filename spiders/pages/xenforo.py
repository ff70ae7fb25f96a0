"""XenForo 1 and 2 boards (site ``forum_xenforo``): thread pages and forum listings.

XenForo 2 writes each post as ``article.message--post`` (``data-author``, ``data-content=
"post-123"``) with the body in ``.message-body .bbWrapper`` and the date as ``<time
data-time=epoch datetime=ISO>`` (2.2+: ``data-timestamp=epoch``); XenForo 1 as ``li.message`` (``id="post-123"``) in
``ol#messageList`` with the body in ``blockquote.messageText`` and the date as
``abbr.DateTime[data-time]`` (recent posts) or ``span.DateTime[title]`` (older ones, the
board's own words and zone, read with ``Page.parse_date`` in ``Page.tz``).

The page is parsed by the HTML5 rules and every post read as its own tree
(:mod:`spiders.pages.forumkit`): on XenForo 1 one unclosed tag in a post makes lxml nest
every later post inside it. Quotes (``blockquote.bbCodeBlock--quote`` / ``.bbCodeQuote``)
go to ``Mention.quoted``, the first one's post id to ``in_reply_to`` (who was quoted:
``quotes``); signatures and "click to expand" links are not text. ``likes`` counts the
reactions (2) or likes (1) line: the names shown plus "and N others". A forum listing gives
its threads as ``follow_urls()``; both kinds page with ``next_url()``.
"""

from __future__ import annotations

import re

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages import forumkit as fk
from spiders.pages.base import MalformedPage, Page
from spiders.pages.registry import site

XF2_POST = ".message--post"
XF1_POST = "li.message"
_XF2_QUOTE = "blockquote.bbCodeBlock--quote, .bbCodeBlock--quote"
_XF1_QUOTE = ".bbCodeQuote"
_SOURCE_RE = re.compile(r"post:\s*(\d+)")
_THREAD_HREF_RE = re.compile(r"(?:^|[/?])threads/[^/?#&]+/?(?:$|[?#&])")  # "/threads/x.7/", or "index.php?threads/x.7/" without friendly URLs


@site("forum_xenforo", id_scope="host")  # post ids count up per board
class XenForoPage(fk.ForumEnginePage):
    """One XenForo 1 or 2 page: a thread's posts, or a forum's thread list."""

    what = "a XenForo thread"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        if self.sel.css(XF2_POST):
            self.version: int | None = 2
        elif self.sel.css(f"{XF1_POST}[id^='post-']"):
            self.version = 1
        else:
            self.version = None
        self.threads = self._thread_links()
        if self.version is None and not self.threads:
            raise MalformedPage(f"{page.url}: no XenForo posts or thread list")

    # -- navigation ------------------------------------------------------------------
    def next_url(self) -> str | None:
        """``rel=next``, XenForo 2's ``.pageNav-jump--next``, else XenForo 1's PageNav
        (``data-page`` < ``data-last``: the next number put into ``data-baseurl``, which
        reads the same in every board language)."""
        url = fk.next_link(self.page, self.sel, "a.pageNav-jump--next::attr(href)")
        if url:
            return url
        nav = self.sel.css(".PageNav[data-baseurl]")
        if nav:
            attrs = nav[0].attrib
            current, last = fk.post_number(attrs.get("data-page")), fk.post_number(attrs.get("data-last"))
            sentinel = attrs.get("data-sentinel") or "{{sentinel}}"
            if current and last and current < last and sentinel in attrs["data-baseurl"]:
                return fk.resolve(self.page, self.sel, attrs["data-baseurl"].replace(sentinel, str(current + 1)))
        return None

    def follow_urls(self) -> list[str]:
        """The threads of a forum listing (none on a thread page)."""
        return [] if self.version else self.threads

    def _thread_links(self) -> list[str]:
        hrefs = self.sel.css(".structItem--thread .structItem-title a::attr(href)").getall() + \
            self.sel.css(".discussionListItem h3.title a::attr(href)").getall()
        return fk.unique_urls(self.page, self.sel, [h for h in hrefs if _THREAD_HREF_RE.search(h or "")])

    def title(self) -> str | None:
        return fk.first(self.sel, "h1.p-title-value::text", ".titleBar h1::text", "h1::text")

    # -- posts -----------------------------------------------------------------------
    def mentions(self) -> list[Mention]:
        if self.version is None:
            return []  # a listing names threads; their pages hold the posts
        css = XF2_POST if self.version == 2 else XF1_POST
        posts = fk.own_posts(self.sel, css)
        known = [p.attrib.get("data-author", "") for p in posts]
        read = self._xf2 if self.version == 2 else self._xf1
        out = [m for post in posts if (m := read(post, known)) is not None]
        if not out:
            raise MalformedPage(f"{self.page.url}: XenForo posts without ids or bodies")
        return out

    def _mention(self, post: Selector, *, pid: str | None, author: str | None, stamp: str | None,
                 iso: str | None, shown: str | None, href: str | None, number: int | None,
                 body: Selector | None, quoted: list[dict[str, str | None]], drop: tuple[str, ...],
                 likes: int | None = None) -> Mention:
        page = self.page
        when, raw = fk.post_date(page, stamp=stamp, iso=iso, shown=shown)
        opening = number == 1
        if pid and quoted:
            self.quotes[pid] = quoted
        return Mention(
            site="forum_xenforo", kind="post" if opening else "comment",
            url=fk.resolve(page, self.sel, href) or page.url,
            permalink=fk.post_permalink(page, self.sel, href, pid, f"post-{pid}"),
            external_id=pid, text=fk.body_text(body, drop),
            title=self.title() if opening else None,
            author=author, published_raw=raw, published_at=when, likes=likes,
            position=number, **fk.quote_fields(quoted),
        )

    def _xf2(self, post: Selector, known: list[str]) -> Mention | None:
        pid = fk.id_digits(post.attrib.get("data-content")) or fk.id_digits(post.attrib.get("id"))
        body = post.css(".message-body .bbWrapper") or post.css(".message-content .bbWrapper")
        if not pid or not body:
            return None
        head = post.css(".message-attribution")
        time = (head.css("time") or post.css("time.u-dt"))[:1]
        attrs = time[0].attrib if time else {}
        number = fk.post_number(fk.text_of(head.xpath(
            ".//*[contains(@class,'message-attribution-opposite')]//a[starts-with(normalize-space(.),'#')]")))
        href = fk.first(head, ".message-attribution-main a::attr(href)", "a[href*='post-']::attr(href)")
        quoted = fk.cut_quotes(body[0], _XF2_QUOTE, lambda q: _xf2_quote(q, known))
        return self._mention(
            post, pid=pid, number=number, href=href, body=body[0], quoted=quoted,
            author=fk.clean(post.attrib.get("data-author")) or fk.text_of(post.css(".message-name")),
            # XenForo 2.0/2.1: data-time is the epoch; 2.2+: data-timestamp (data-time is "3:52 PM")
            stamp=attrs.get("data-timestamp") or attrs.get("data-time"), iso=attrs.get("datetime"),
            shown=attrs.get("title") or fk.text_of(time), likes=_xf2_likes(post),
            drop=(".bbCodeBlock-expandLink", ".js-selectToQuoteEnd"))

    def _xf1(self, post: Selector, known: list[str]) -> Mention | None:
        pid = fk.id_digits(post.attrib.get("id"))
        body = post.css(".messageContent blockquote.messageText") or post.css("blockquote.messageText")
        if not pid or not body:
            return None
        stamp_el = (post.css(".messageMeta .datePermalink .DateTime") or post.css(".messageMeta .DateTime"))[:1]
        attrs = stamp_el[0].attrib if stamp_el else {}
        shown = attrs.get("title") or (
            f"{attrs['data-datestring']} {attrs.get('data-timestring', '')}" if attrs.get("data-datestring")
            else fk.text_of(stamp_el))
        quoted = fk.cut_quotes(body[0], _XF1_QUOTE, lambda q: _xf1_quote(q, known))
        return self._mention(
            post, pid=pid, body=body[0], quoted=quoted,
            number=fk.post_number(fk.text_of(post.css("a.postNumber"))),
            href=fk.first(post, "a.datePermalink::attr(href)", "a.postNumber::attr(href)"),
            author=fk.clean(post.attrib.get("data-author")) or fk.text_of(post.css(".messageUserInfo .username")),
            stamp=attrs.get("data-time"), iso=None, shown=shown, likes=_xf1_likes(post),
            drop=(".messageTextEndMarker", ".quoteExpand"))


_COUNT_RE = re.compile(r"\d[\d,.]*\s*[kKmM]?")


def _likes(names: int, rest: str) -> int:
    """Reactions shown as names plus "and 12 others" (in any language: the number is
    what counts): the names plus that number."""
    m = _COUNT_RE.search(rest)
    return names + ((parse_count(m.group(0)) or 0) if m else 0)


def _xf2_likes(post: Selector) -> int | None:
    """XenForo 2's reactions bar: ``<bdi>`` names and "and N others"; an empty bar is
    zero, no bar at all (reactions off) unknown."""
    bar = post.css(".reactionsBar")
    if not bar:
        return None
    link = bar[0].css(".reactionsBar-link")
    if not link:
        return 0
    return _likes(len(link[0].css("bdi")), " ".join(link[0].xpath("./text()").getall()))


def _xf1_likes(post: Selector) -> int | None:
    """XenForo 1's "alice, bob and 3 others like this" (``.LikeText``): the member links
    plus the counted others; no line, no likes shown."""
    line = post.css(".LikeText")
    if not line:
        return None
    return _likes(len(line[0].css("a.username")),
                  " ".join(line[0].xpath("./text() | ./a[not(contains(@class, 'username'))]//text()").getall()))


def _xf2_quote(q: Selector, known: list[str]) -> tuple[str | None, str, str | None]:
    """XenForo 2 quote: ``data-quote`` / ``data-source="post: 123"`` when the board writes
    them, else the title ("alice said:") and its source link (``goto/post?id=123``)."""
    source = _SOURCE_RE.search(q.attrib.get("data-source", ""))
    title = q.css(".bbCodeBlock-title")
    author = fk.clean(q.attrib.get("data-quote")) or fk.strip_said(fk.text_of(title), known)
    post_id = source.group(1) if source else fk.post_id_in_url(
        fk.first(title, "a::attr(href)") or "") or fk.id_digits(fk.first(title, "a::attr(data-content-selector)"))
    content = q.css(".bbCodeBlock-expandContent") or q.css(".bbCodeBlock-content")
    return author, fk.body_text(content[0] if content else None, (".bbCodeBlock-expandLink",)), post_id


def _xf1_quote(q: Selector, known: list[str]) -> tuple[str | None, str, str | None]:
    """XenForo 1 quote: ``div.bbCodeQuote[data-author]`` with an ``AttributionLink`` to the
    quoted post and the words in ``.quote``."""
    attribution = q.css(".attribution")
    author = fk.clean(q.attrib.get("data-author")) or fk.strip_said(fk.text_of(attribution), known)
    post_id = fk.post_id_in_url(fk.first(q, "a.AttributionLink::attr(href)", ".attribution a::attr(href)"))
    content = q.css(".quote") or q.css("blockquote")
    return author, fk.body_text(content[0] if content else None, (".quoteExpand",)), post_id
