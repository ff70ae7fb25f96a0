"""vBulletin 3, 4 and 5 boards (site ``forum_vbulletin``): thread pages and forum listings.

One site name for the three generations: a user configures "a vBulletin board", not a
template generation, and the generation shows in the markup, so the page object tells
them apart itself:

* **vBulletin 3**: each post a ``table#post123``; the date is the text of its first
  ``td.thead`` ("2016-02-01, 02:21", "Today, 10:30": the board's words and zone), the
  number ``a#postcount123``, the body ``div#post_message_123``, quotes a ``div`` holding a
  ``div.smallfont`` label and a ``table`` ("Originally Posted by <strong>alice</strong>").
* **vBulletin 4**: ``li.postbit``/``li.postbitlegacy#post_123`` (e.g. pocketpc.ch), date in
  ``span.date`` (or the style's user-stats line), number ``a.postcounter``, body
  ``blockquote.postcontent``, quotes ``.bbcode_container``, likes from the DBTech Thanks
  add-on when the board has it.
* **vBulletin 5**: ``li.b-post[data-node-id]``, date ``.b-post__timestamp time[datetime]``
  (the server's local time without an offset, hours off the board's: the text the board
  shows, in ``Page.tz``, is read, its day/month order settled by the attribute), number
  ``a.b-post__count``, body ``.js-post__content-text``, quotes ``.bbcode_container``.

Quotes go to ``Mention.quoted`` (author, text, quoted post id; the first id also to
``reply_to``); signatures and app banners (``.tapatalkSignatur``) are not text. Shown
dates are read in ``Page.tz``. The page is parsed by the HTML5 rules and each post read
as its own tree (:mod:`spiders.pages.forumkit`). A forum listing gives its threads as
``follow_urls()``; both kinds page with ``next_url()`` (``rel=next``).
"""

from __future__ import annotations

import re

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages import forumkit as fk
from spiders.pages.base import MalformedPage, Page
from spiders.pages.registry import site

_TITLE_SUFFIX_RE = re.compile(r"\s+-\s+(?:Seite|Page|Pagina|Página|Sida|Side|Strona)\s+\d+(?:\s+-\s+.*)?$"
                              r"|\s+-\s+[^-]+$")
_VB4_POST = "li.postbit, li.postbitlegacy"
_VB5_POST = "li.b-post"
_VB3_POST = "table[id^='post']"
_VB3_POST_ID_RE = re.compile(r"^post(\d+)$")
_BBCODE_QUOTE = ".bbcode_container"
_VB3_QUOTE = ("xpath:.//div[((div[contains(concat(' ', normalize-space(@class), ' '), ' smallfont ')] and table)"
              # the bbcode_quote template's wrapper, kept by restyled boards (DomenForum: div.tcat header)
              " or starts-with(translate(@style, ' ;', ''), 'margin:20pxmargin-top:5px'))"
              " and not(.//pre) and not(.//code)]")  # [code] and [php] boxes share the wrapper
_USERNAME = "contains(concat(' ', normalize-space(@class), ' '), ' username ')"


@site("forum_vbulletin", id_scope="host")  # post ids count up per forum
class VBulletinThreadPage(fk.ForumEnginePage):
    """One vBulletin 3, 4 or 5 page: a thread's posts, or a forum's thread list."""

    what = "a vBulletin thread"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        if self.sel.css(_VB5_POST):
            self.version: int | None = 5
        elif self.sel.css(_VB4_POST) or self.sel.css("#postlist"):
            self.version = 4
        elif any(_VB3_POST_ID_RE.match(i) for i in self.sel.css(_VB3_POST).xpath("@id").getall()):
            self.version = 3
        else:
            self.version = None
        self.threads = fk.unique_urls(page, self.sel, self.sel.css(
            "a[id^='thread_title_']::attr(href), a.topic-title::attr(href)").getall())
        if self.version is None and not self.threads:
            raise MalformedPage(f"{page.url}: no vBulletin post list or thread list")

    def next_url(self) -> str | None:
        """The next page of the thread or listing: ``<link rel="next">`` in the head, else
        the pager's ``a[rel=next]`` (vBulletin 3 to 5 all write one)."""
        return fk.next_link(self.page, self.sel, "a.js-pagenav-next-button::attr(href)") or self._pagenav_next()

    def _pagenav_next(self) -> str | None:
        """Older vBulletin 3 pagers have no ``rel=next``: the ``div.pagenav`` shows the page
        read as ``<strong>N</strong>`` and links the others by number; the next page is
        the link whose text is N + 1 (in whatever language the arrows are titled)."""
        for nav in self.sel.css("div.pagenav"):
            current = fk.post_number(fk.text_of(nav.css("strong")))
            if current is None:
                continue
            for link in nav.css("a[href]"):
                if fk.text_of(link) == str(current + 1):
                    return fk.resolve(self.page, self.sel, link.attrib.get("href"))
        return None

    def follow_urls(self) -> list[str]:
        """The threads of a forum listing (none on a thread page)."""
        return [] if self.version else self.threads

    def title(self) -> str | None:
        own = fk.text_of(self.sel.css("h1.main-title")) or fk.text_of(self.sel.css("#pagetitle .threadtitle a")) \
            or fk.text_of(self.sel.css("td.navbar strong"))  # vBulletin 3: the last breadcrumb, with its prefix markup
        if own:
            return own
        raw = fk.clean(self.sel.css("title::text").get()) or ""
        return _TITLE_SUFFIX_RE.sub("", raw) or None

    def mentions(self) -> list[Mention]:
        if self.version is None:
            return []  # a listing names threads; their pages hold the posts
        if self.version == 5:
            posts, read = fk.own_posts(self.sel, _VB5_POST), self._vb5
        elif self.version == 4:
            posts, read = fk.own_posts(self.sel, _VB4_POST), self._vb4
        else:
            posts = [p for p in fk.own_posts(self.sel, _VB3_POST) if _VB3_POST_ID_RE.match(p.attrib.get("id", ""))]
            read = self._vb3
        known = [fk.text_of(p.css(".bigusername, .author a, a.username")) or
                 fk.clean(p.xpath(f"string(.//*[{_USERNAME}][1])").get()) or "" for p in posts]
        self._title = self.title()
        out = [m for post in posts if (m := read(post, known)) is not None]
        if not out:
            raise MalformedPage(f"{self.page.url}: vBulletin posts without ids or bodies")
        return out

    def _mention(self, *, pid: str, number: int | None, href: str | None, body: Selector | None,
                 quote_css: str, known: list[str], author: str | None, iso: str | None = None,
                 shown: str | None, drop: tuple[str, ...] = (), likes: int | None = None) -> Mention:
        page = self.page
        quoted = fk.cut_quotes(body, quote_css, lambda q: _quote(q, known)) if body is not None else []
        if iso:  # vBulletin 5: a naive server-local datetime beside the reader's local text
            near = fk.iso_date(iso, naive_is_utc=True)
            when, raw = fk.iso_date(iso) or fk.shown_near(page, shown, near), fk.clean(shown) or iso
        else:
            when, raw = fk.post_date(page, shown=shown)
        opening = number == 1
        if pid and quoted:
            self.quotes[pid] = quoted
        return Mention(
            site="forum_vbulletin", kind="post" if opening else "comment",
            url=fk.resolve(page, self.sel, href) or page.url,
            permalink=fk.post_permalink(page, self.sel, href, pid, f"post{pid}"),
            external_id=pid, text=fk.body_text(body, drop),
            title=self._title if opening else None,
            author=author, published_raw=fk.clean(shown) or raw, published_at=when, likes=likes,
            position=number, **fk.quote_fields(quoted),
        )

    def _vb3(self, post: Selector, known: list[str]) -> Mention | None:
        pid = _VB3_POST_ID_RE.match(post.attrib.get("id", "")).group(1)  # type: ignore[union-attr]
        body = post.css(f"div#post_message_{pid}") or post.css("div[id^='post_message_']")
        if not body:
            return None
        counter = post.css("a[id^='postcount']")
        number = fk.post_number(fk.text_of(counter) or (counter.attrib.get("name") if counter else None))
        return self._mention(
            pid=pid, number=number, body=body[0], quote_css=_VB3_QUOTE, known=known,
            href=fk.first(post, "a[id^='postlink']::attr(href)", "a[id^='postcount']::attr(href)"),
            author=fk.text_of(post.css(".bigusername")) or fk.text_of(post.css("[id^='postmenu_'] a")),
            shown=_vb3_shown_date(post))

    def _vb4(self, post: Selector, known: list[str]) -> Mention | None:
        pid = (post.attrib.get("id") or "").removeprefix("post_")
        body = post.css("blockquote.postcontent")
        if not pid or not body:
            return None
        counter = post.css("a.postcounter")
        shown = fk.clean(post.xpath("string(.//dl[@class='userstats']/dd[1])").get()) or \
            fk.clean(post.xpath("string(.//span[@class='date'])").get())
        return self._mention(
            pid=pid, number=fk.post_number(fk.text_of(counter)), body=body[0], quote_css=_BBCODE_QUOTE,
            known=known, href=counter.attrib.get("href") if counter else None,
            author=fk.clean(post.xpath(f"string(.//*[{_USERNAME}][1])").get()), shown=shown,
            drop=(".tapatalkSignatur",), likes=parse_count(post.css(".dbtech-thanks-bubble-content::text").get()))

    def _vb5(self, post: Selector, known: list[str]) -> Mention | None:
        pid = fk.clean(post.attrib.get("data-node-id"))
        body = post.css(".js-post__content-text")
        if not pid or not body:
            return None
        time = post.css(".b-post__timestamp time")[:1]
        counter = post.css("a.b-post__count")
        return self._mention(
            pid=pid, number=fk.post_number(fk.text_of(counter)), body=body[0], quote_css=_BBCODE_QUOTE,
            known=known, href=counter.attrib.get("href") if counter else None,
            author=fk.text_of(post.css(".author a")) or fk.text_of(post.css(".author")),
            iso=time.attrib.get("datetime") if time else None, shown=fk.text_of(time))


def _vb3_shown_date(post: Selector) -> str | None:
    """The date a vBulletin 3 postbit shows in its ``td.thead``: the header cell's text
    without the floated ``#<a id="postcountN">`` box, which many styles put before the date
    ("#2 23.03.2005, 20:09" would read as no date)."""
    head = post.xpath(".//td[contains(concat(' ', normalize-space(@class), ' '), ' thead ')][1]")
    if not head:
        return None
    for part in head.xpath("./div[not(.//a[starts-with(@id, 'postcount')])]"):
        if (text := fk.text_of(part)) and any(ch.isdigit() for ch in text):
            return text
    return fk.text_of(head)


def _quote(q: Selector, known: list[str]) -> tuple[str | None, str, str | None]:
    """A quote of vBulletin 4/5 (``.bbcode_postedby strong`` + ``.message``) or 3 (a header
    ``div`` with the author in ``strong`` and a link to the post, then the quoted words)."""
    link = fk.first(q, "a[href*='p=']::attr(href)", "a[href*='post']::attr(href)")
    if q.css(".bbcode_quote, .bbcode_postedby"):
        author = fk.text_of(q.css(".bbcode_postedby strong")) or fk.strip_said(fk.text_of(q.css(".bbcode_postedby")),
                                                                                known)
        message = q.css(".message") or q.css(".quote_container")
        return author, fk.body_text(message[0] if message else None, (".bbcode_postedby",)), fk.post_id_in_url(link)
    cells = q.xpath(".//table//td[1]")[:1]
    parts = cells[0].xpath("./div") if cells else []
    if len(parts) >= 2:  # "Originally Posted by <strong>alice</strong> [view post]" + the words
        author = fk.text_of(parts[0].css("strong")) or fk.strip_said(fk.text_of(parts[0]), known)
        return author, fk.body_text(parts[-1]), fk.post_id_in_url(link)
    heads = [] if cells else q.xpath(".//div[.//a[contains(@href, 'p=')] and not(.//div)]")[:1]
    if heads:  # a restyled template without the table: header div (author + post link), then the words
        words = heads[0].xpath("following-sibling::div")
        author = fk.text_of(heads[0].css("strong")) or fk.strip_said(fk.text_of(heads[0]), known)
        return author, fk.body_text(words[-1]) if words else "", fk.post_id_in_url(link)
    return None, fk.body_text(cells[0] if cells else q), None
