"""phpBB 3 boards (site ``forum_phpbb``): topic pages (``viewtopic.php``) and forum
listings (``viewforum.php``, search results).

prosilver and the styles built on it (3.0 to 3.3) write each post as ``div.post#p123``
with ``.postbody .content`` and a ``p.author`` line ("by alice » Sun May 26, 2019 4:34 pm";
3.2+ adds ``<time datetime>``). subsilver2 (3.0) writes each post as a ``table.tablebg``
with ``a[name=p123]``, ``b.postauthor`` and ``div.postbody``. A shown date is in the
board's own words and zone (``Page.parse_date`` in ``Page.tz``); ``<time datetime>`` is
used when the style has it.

Quotes (``blockquote``, its ``cite`` "alice wrote:" or, on 3.2+, a profile link and a
``data-post-id`` link to the quoted post) go to ``Mention.quoted``; signatures are not
text. phpBB shows no post numbers, so ``position`` is counted from the page's ``start=``
offset (or page 1 of the pagination) when the page says where it is. The page is parsed
by the HTML5 rules and each post read as its own tree (:mod:`spiders.pages.forumkit`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from crawlers.items import Mention
from spiders.pages import forumkit as fk
from spiders.pages.base import MalformedPage, Page
from spiders.pages.registry import site

PROSILVER_POST = "div.post"
_RAQUO = "\u00bb"


@site("forum_phpbb", id_scope="host")  # post ids count up per board
class PhpBBPage(fk.ForumEnginePage):
    """One phpBB 3 page: a topic's posts, or a forum's topic list."""

    what = "a phpBB topic"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.prosilver = [p for p in fk.own_posts(self.sel, PROSILVER_POST)
                          if fk.id_digits(p.attrib.get("id")) and p.css(".postbody")]
        self.subsilver = [] if self.prosilver else _subsilver_posts(self.sel)
        self.topics = fk.unique_urls(page, self.sel, self.sel.css("a.topictitle::attr(href)").getall())
        if not (self.prosilver or self.subsilver or self.topics):
            raise MalformedPage(f"{page.url}: no phpBB posts or topic list")

    # -- navigation ------------------------------------------------------------------
    def next_url(self) -> str | None:
        """``rel=next`` (3.1+), 3.0 prosilver's ``a.right-box``, else the page link right
        after the current page's number in the pagination (the same in every language)."""
        sel = self.sel
        url = fk.next_link(self.page, sel, ".pagination li.next a::attr(href)", "a.right-box::attr(href)",
                           ".pagination li.active + li a::attr(href)")
        if url:
            return url
        href = sel.xpath("//*[contains(@class,'pagination') or contains(@class,'gensmall')]"
                         "//strong[normalize-space(.)!='' and translate(normalize-space(.),'0123456789','')='']"
                         "/following-sibling::a[1]/@href").get()
        return fk.resolve(self.page, sel, href)

    def follow_urls(self) -> list[str]:
        """The topics of a forum listing (none on a topic page)."""
        return [] if (self.prosilver or self.subsilver) else self.topics

    def title(self) -> str | None:
        return fk.first(self.sel, "h2.topic-title a::text", "#page-body h2 a::text", "h2 a::text",
                        "a.titles::text", "h2::text")

    def _start(self) -> int | None:
        """Posts before this page: ``start=`` of the page URL (or its canonical link),
        else 0 when the pagination says page 1, else unknown."""
        for url in (self.page.url, fk.first(self.sel, 'link[rel="canonical"]::attr(href)') or ""):
            start = parse_qs(urlsplit(url).query).get("start")
            if start and start[0].isdigit():
                return int(start[0])
        pagination = self.sel.css(".pagination")[:1]
        if not pagination or not pagination[0].css("a[href]:not([href='#'])"):
            return 0  # no links to other pages: the only page
        current = fk.first(pagination[0], "li.active span::text", "strong::text")
        return 0 if current == "1" else None

    # -- posts -----------------------------------------------------------------------
    def mentions(self) -> list[Mention]:
        if not (self.prosilver or self.subsilver):
            return []  # a listing names topics; their pages hold the posts
        known = [fk.text_of(p.css("p.author strong")) or fk.text_of(p.css("b.postauthor")) or ""
                 for p in self.prosilver or self.subsilver]
        start = self._start()
        out = []
        for i, post in enumerate(self.prosilver or self.subsilver):
            number = start + i + 1 if start is not None else None
            m = self._prosilver(post, number, known) if self.prosilver else self._subsilver(post, number, known)
            if m is not None:
                out.append(m)
        if not out:
            raise MalformedPage(f"{self.page.url}: phpBB posts without ids or bodies")
        return out

    def _mention(self, *, pid: str, author: str | None, iso: str | None, shown: str | None,
                 href: str | None, number: int | None, body: Selector | None, known: list[str]) -> Mention:
        page = self.page
        quoted = fk.cut_quotes(body, "blockquote", lambda q: _quote(q, known)) if body is not None else []
        when, raw = fk.post_date(page, iso=iso, shown=shown)
        opening = number == 1
        if pid and quoted:
            self.quotes[pid] = quoted
        return Mention(
            site="forum_phpbb", kind="post" if opening else "comment",
            url=fk.resolve(page, self.sel, href) or page.url,
            permalink=fk.post_permalink(page, self.sel, href, pid, f"p{pid}"),
            external_id=pid, text=fk.body_text(body, (".signature", "div.notice", ".codebox p")),
            title=self.title() if opening else None,
            author=author, published_raw=raw, published_at=when, position=number, **fk.quote_fields(quoted),
        )

    def _prosilver(self, post: Selector, number: int | None, known: list[str]) -> Mention | None:
        pid = fk.id_digits(post.attrib.get("id"))
        body = post.css(".postbody .content") or post.css(".content")
        if not pid or not body:
            return None
        author_line = post.css("p.author")
        shown = None
        if not author_line.css("time"):
            line = fk.text_of(author_line) or ""
            shown = line.rsplit(_RAQUO, 1)[-1] if _RAQUO in line else None
        explicit = fk.post_number(fk.text_of(post.css(".posti")))  # styles that number posts
        return self._mention(
            pid=pid, number=explicit or number, body=body[0], known=known,
            author=fk.text_of(author_line.css("strong")) or fk.text_of(post.css(".postprofile .username, "
                                                                                ".postprofile .username-coloured")),
            iso=fk.first(author_line, "time::attr(datetime)"),
            shown=shown or fk.text_of(author_line.css("time")),
            href=fk.first(author_line, "a[href*='p=']::attr(href)") or f"#p{pid}")

    def _subsilver(self, post: Selector, number: int | None, known: list[str]) -> Mention | None:
        pid = fk.id_digits(fk.first(post, "a[name^='p']::attr(name)"))
        body = post.css("div.postbody")
        if not pid or not body:
            return None
        # "Posted: Mon Jan 01, 2010 10:00 am": the text after the label in the post header
        header = fk.text_of(post.xpath(".//td[contains(@class,'gensmall')]/div[contains(@style,'right')]")) or ""
        shown = header.split(":", 1)[1].strip() if ":" in header else header or None
        return self._mention(
            pid=pid, number=number, body=body[0], known=known, author=fk.text_of(post.css("b.postauthor")),
            iso=None, shown=shown, href=fk.first(post, "a[href*='p=']::attr(href)") or f"#p{pid}")


def _subsilver_posts(sel: Selector) -> list[Selector]:
    """subsilver2's posts: the ``table.tablebg`` that holds a post anchor and a body."""
    return [t for t in fk.own_posts(sel, "table.tablebg") if t.css("a[name^='p']") and t.css("div.postbody")]


def _quote(q: Selector, known: list[str]) -> tuple[str | None, str, str | None]:
    """A phpBB quote: ``cite`` "alice wrote:" (3.0) or a profile link plus a link to the
    quoted post (``data-post-id``, 3.2+); ``blockquote.uncited`` has no author."""
    cite = q.css("cite")[:1]
    author = post_id = None
    if cite:
        author = fk.text_of(cite[0].css("a[href*='memberlist']")) or fk.strip_said(
            fk.text_of(cite[0].xpath("./text()")) if cite[0].xpath("./a[contains(@href,'memberlist')]")
            else fk.text_of(cite), known)
        post_id = fk.first(cite[0], "a::attr(data-post-id)") or fk.post_id_in_url(
            fk.first(cite[0], "a[href*='p=']::attr(href)"))
    copy = fk.html_selector(q.get()).css("blockquote")[:1]
    if copy:
        for node in copy[0].css("cite"):  # its own "X wrote:" and those of quotes inside it
            node.drop()
    return author, fk.body_text(copy[0] if copy else None), post_id
