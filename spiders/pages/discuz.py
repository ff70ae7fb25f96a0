"""Discuz! boards (X2-X3.5 and the 6/7 line still run by many Chinese forums): thread
pages (``forum.php?mod=viewthread``, ``thread-<tid>-<page>-1.html``, ``viewthread.php``)
and board listings (``forumdisplay``, ``forum-<fid>-<page>.html``).

One adapter reads both: a thread gives its posts and its next page; a board listing gives
no mentions, its threads as ``follow_urls`` and its next page.

How a post is found (every template, theme and era keeps these ids, whatever it renames):

* the body is ``[id=postmessage_<pid>]`` (``td.t_f`` in X, ``div.t_msgfont`` in 7); its
  post is the ancestor ``#post_<pid>`` / ``#pid<pid>``;
* the author is the profile link of the post's author block (``.authi``/``.pls`` in X,
  ``td.postauthor cite`` in 7);
* the date is ``em#authorposton<pid>``: recent posts carry the exact time in a
  ``<span title="2019-3-5 12:30">`` around the relative form ("3 天前", "前天 12:30"), older
  ones the absolute text ("发表于 2019-3-5 12:30"); Discuz 7 writes it in ``.postinfo``;
  shown in the board's zone (the caller's ``Page.tz``, Asia/Shanghai for most);
* the floor is ``#postnum<pid>``: "楼主"/"沙发"/"板凳"/"地板" or "<em>N</em>#" / "N楼";
  floor 1 is the opening post (``kind="post"``, carries the thread title), the rest are
  ``kind="comment"``; the floor is ``Mention.position``. A post without a floor label is
  the opening post when it is the first post of the thread's first page.

The touch template (``mobile=2``) has no ``postmessage_`` ids: there a post is
``div.plc#pid<pid>`` with ``div.message``, the floor and name in ``ul.authi li.mtit``, the
date in ``li.mtime``. A post left without words (banned, hidden, deleted, or only a quote)
is no mention.

Quotes (``div.quote``/``blockquote`` of a reply) are someone else's words: they are cut
from ``text`` and kept, without their "X 发表于 ..." / "原帖由 X 于 ... 发表" line, in
``Mention.quoted``; the quoted post's pid (its ``goto=findpost&pid=`` link) is
``in_reply_to``. Edit notes (``.pstatus`` "本帖最后由 X 于 ... 编辑"), the anti-copy junk
Discuz injects (``font.jammer``, hidden spans), signatures, attachments' chrome and scripts
are dropped too.

Pages are parsed with lexbor (selectolax, see ``spiders.pages.html5``), an HTML5 parser:
Discuz posts are tables inside divs holding users' BBCode, and a post with a stray or
missing closing tag makes lxml end or extend the post list around it; posts are found by
their pids, not by their place in the list, either way. GBK boards are decoded
by the caller (the page's ``<meta charset>``); nothing here depends on the charset.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborNode

from crawlers.items import Mention
from crawlers.processors import parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.html5 import html5_tree, own_text
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site

SITE = "forum_discuz"
_PID_RE = re.compile(r"^postmessage_(\d+)$")
_TOUCH_PID_RE = re.compile(r"^pid(\d+)$")
_FLOOR_WORDS = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}
_FLOOR_RE = re.compile(r"(\d+)\s*(?:#|楼|樓|F\b)?")
_POSTED_RE = re.compile(r"(?:发表于|發表於|posted\s+on|posted)\s*[:：]?\s*(.+)", re.I)
_AUTHOR_SELECTORS = (
    ".authi a.xw1",  # X: the bold name in the author column
    "td.pls .authi a[href*=uid]",
    ".authi a[href*=uid]",  # custom X themes keep the space link, not the class
    "td.postauthor cite a",  # 6/7
    ".postauthor cite a",
    "cite a[href*=uid]",
)
_JUNK = (
    "font.jammer", "span.jammer", "span[style*='display:none']", "span[style*='display: none']",
    "div[style*='display:none']", "div[style*='display: none']",
    ".pstatus", "i.pstatus", "script", "style", "div.tip", "div.attach_nopermission",
    "div.locked", "div.a_pr", "div.sign", ".mag_viewthread", "div.modact",
    "ignore_js_op",  # Discuz's wrapper of attachments, images and media players ("点击此处在新窗口打开")
)
"""Not the author's words: anti-copy noise, edit notes, ads, locked/hidden notices, attachment chrome."""
_LABEL_RE = re.compile(r"^(?:作者|楼主|樓主|时间|時間|日期|发表时间|發表時間)\s*[:：]\s*")
"""A field label some themes print (often hidden) before the name or the date."""
_QUOTE_SELECTOR = "div.quote, blockquote"
_ATTRIBUTION_RE = re.compile(r"发表于|發表於|原帖由|于\s*\S+\s*发表|wrote|写道|寫道", re.I)
_BR_RE = re.compile(r"<br\s*/?>", re.I)
_TITLE_SUFFIX_RE = re.compile(r"\s+-\s+.*$")


def _text(node: LexborNode | None) -> str:
    return " ".join((node.text(separator=" ") if node is not None else "").split())


def _attr(node: LexborNode | None, name: str) -> str:
    value = node.attributes.get(name) if node is not None else None
    return value if isinstance(value, str) else ""


def _first(root: LexborNode, selectors: tuple[str, ...] | str) -> LexborNode | None:
    for sel in (selectors,) if isinstance(selectors, str) else selectors:
        node = root.css_first(sel)
        if node is not None:
            return node
    return None


def _findpost_pid(href: str) -> str | None:
    """The pid a ``goto=findpost`` link (or ``#pid123`` anchor) points at."""
    if not href:
        return None
    query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
    if (query.get("goto") or [""])[0] == "findpost" and (query.get("pid") or [""])[0].isdigit():
        return query["pid"][0]
    m = re.search(r"#pid(\d+)$", href)
    return m.group(1) if m else None


def floor_number(raw: str) -> int | None:
    """A Discuz floor label as a number: "楼主" 1, "沙发" 2, "板凳" 3, "地板" 4, "5#" /
    "<em>5</em>#" / "5楼" 5; None for anything else."""
    text = "".join(raw.split())
    for word, n in _FLOOR_WORDS.items():
        if text.startswith(word):
            return n
    m = _FLOOR_RE.match(text)
    return int(m.group(1)) if m else None


@site(SITE, id_scope="host")  # pids count up per board
class DiscuzPage(PageObject):
    """A Discuz! thread page or board listing (see the module docstring)."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.tree = html5_tree(page, "a Discuz! page")
        self.posts: list[tuple[str, LexborNode, LexborNode]] = []
        """(pid, body, post) of each post: the desktop templates' ``postmessage_<pid>``
        bodies, else the touch template's (``mobile=2``) ``div.plc#pid<pid> div.message``."""
        for body in self.tree.css("[id^=postmessage_]"):
            m = _PID_RE.match(_attr(body, "id"))
            if m and body.tag != "textarea":
                self.posts.append((m.group(1), body, self._post(body, m.group(1))))
        if not self.posts:
            for post in self.tree.css("div.plc[id^=pid]"):
                m = _TOUCH_PID_RE.match(_attr(post, "id"))
                body = post.css_first("div.message")
                if m and body is not None:
                    self.posts.append((m.group(1), body, post))
        self.listing_rows = self.tree.css("tbody[id^=normalthread_], tbody[id^=stickthread_]")
        if not self.posts and not self.listing_rows and self.tree.css_first("#threadlisttableid, #threadlist, "
                                                                          "form#moderate, div.threadlist") is None:
            raise MalformedPage(f"{page.url}: neither a Discuz! thread (postmessage_<pid>) nor a board listing")

    # -- navigation --------------------------------------------------------------
    def next_url(self) -> str | None:
        """The next page of the thread or listing: the pager's ``a.nxt`` (X), ``a.next``
        (6/7), else ``<link rel="next">``; never a ``javascript:`` link."""
        for sel in ("div.pg a.nxt", "a.nxt", "div.pages a.next", "a.next", "link[rel=next]", "a[rel=next]"):
            for node in self.tree.css(sel):
                href = _attr(node, "href").strip()
                if href and not href.startswith("javascript"):  # the touch template's "more comments" is a script
                    return self.page.urljoin(href)
        return None

    def follow_urls(self) -> list[str]:
        """The threads of a board listing, in page order, sticky ones included: the title
        link of each ``tbody#normalthread_<tid>`` / ``stickthread_<tid>`` (``a.xst`` in X,
        ``span#thread_<tid> a`` in 6/7)."""
        out: list[str] = []
        for row in self.listing_rows:
            tid = _attr(row, "id").rsplit("_", 1)[-1]
            link = _first(row, ("a.s.xst", "a.xst", f"span#thread_{tid} a", "th a[href*='tid=']",
                                "th a[href*='thread-']", "a[href*='tid=']", "a[href*='thread-']"))
            href = _attr(link, "href")
            if href and not href.startswith("javascript"):
                url = _without_extra(self.page.urljoin(href))
                if url not in out:
                    out.append(url)
        return out

    # -- thread ------------------------------------------------------------------
    def title(self) -> str | None:
        node = _first(self.tree.root, ("#thread_subject", "h1.ts", "div.viewthread h1", "#threadtitle h1",
                                       "div.view_tit", "h1"))
        title = _text(node)
        if not title:
            title = _TITLE_SUFFIX_RE.sub("", _text(self.tree.css_first("title")))
        return title or None

    def mentions(self) -> list[Mention]:
        if not self.posts:
            return []  # a board listing: its threads are follow_urls
        title, out = self.title(), []
        for i, (pid, body, post) in enumerate(self.posts):
            floor = floor_number(_text(self.tree.css_first(f"#postnum{pid}") or post.css_first(".authi .mtit .y")))
            opening = floor == 1 if floor is not None else (i == 0 and self._first_page())
            body = body.clone()  # cut quotes and junk from a copy: reading the page twice reads it the same
            quoted, in_reply_to = self._cut_quotes(body)
            for sel in _JUNK:
                for node in body.css(sel):
                    node.decompose()
            text = html_text(body.inner_html or "")
            if not text:
                continue  # a banned, hidden or deleted post, or one that only quotes: no words of its own
            date_raw, date_exact = self._date(post, pid)
            link = self.tree.css_first(f"#postnum{pid}")
            href = _attr(link, "href")
            url = self.page.urljoin(href) if href and not href.startswith("javascript") else \
                f"{self.page.url.split('#')[0]}#pid{pid}"
            out.append(Mention(
                site=SITE, kind="post" if opening else "comment",
                url=url,
                # the floor link (goto=findpost&pid=, the post's own address) or its #pid anchor here
                permalink=self.page.permalink(url if _findpost_pid(url) == pid
                                              else f"{self.page.url.split('#')[0]}#pid{pid}"),
                external_id=pid,
                text=text,
                title=title if opening else None,
                author=self._author(post, pid),
                published_raw=date_raw,
                published_at=self.page.parse_date(date_exact or date_raw),
                likes=parse_count(_text(self.tree.css_first(f"#review_support_{pid}")) or None),
                quoted=quoted, in_reply_to=in_reply_to,
                position=floor if floor is not None else (1 if opening else None),
            ))
        return out

    def _first_page(self) -> bool:
        """Whether this is the thread's first page (no floors shown: the first post then
        opens the thread only there)."""
        url = self.page.url
        m = re.search(r"thread-\d+-(\d+)-", url)
        if m:
            return m.group(1) == "1"
        page = (parse_qs(urlsplit(url).query).get("page") or ["1"])[0]
        return page in ("", "1")

    def _post(self, body: LexborNode, pid: str) -> LexborNode:
        """The post around a body: ``#post_<pid>`` (X and most themes), ``#pid<pid>`` (6/7),
        else the body's nearest table."""
        for sel in (f"#post_{pid}", f"#pid{pid}"):
            node = self.tree.css_first(sel)
            if node is not None:
                return node
        node = body.parent
        while node is not None and node.tag != "table":
            node = node.parent
        return node or body

    def _author(self, post: LexborNode, pid: str) -> str | None:
        scopes = [n for n in (self.tree.css_first(f"#favatar{pid}"), post) if n is not None]
        for scope in scopes:
            name = _LABEL_RE.sub("", _text(_first(scope, _AUTHOR_SELECTORS)))
            if name:
                return name
        return None

    def _date(self, post: LexborNode, pid: str) -> tuple[str | None, str | None]:
        """``(as shown, exact)``: the exact time is the ``title`` of the span Discuz wraps
        a relative date in; the shown text without its "发表于" label otherwise."""
        em = self.tree.css_first(f"#authorposton{pid}") or _first(post, (".postinfo", ".authi .mtime", ".authi em"))
        if em is None:
            return None, None
        span = em.css_first("span[title]")
        if span is not None:
            shown = _text(span)
        elif "mtime" in _attr(em, "class").split():
            shown = own_text(em)  # touch: the date is the item's own text, beside counters and links
        else:
            shown = _text(em)
        m = _POSTED_RE.search(shown)
        if m:
            shown = m.group(1)
        shown = _LABEL_RE.sub("", shown)
        shown = re.split(r"\s*(?:\||只看该作者|只看該作者|电梯直达|倒序浏览)", shown)[0].strip()
        exact = _attr(span, "title") if span is not None else ""
        return (shown or exact or None), (exact or None)

    def _cut_quotes(self, body: LexborNode) -> tuple[str | None, str | None]:
        """Remove the quotes from ``body``; return their text (attribution line dropped,
        several joined by a blank line) and the pid the first one links to."""
        texts, reply_to = [], None
        for quote in _outermost(body, _QUOTE_SELECTOR):
            inner = quote if quote.tag == "blockquote" else quote.css_first("blockquote")
            if inner is None:  # a notice in a quote box ("该帖被管理员或版主屏蔽"), not someone's words
                quote.decompose()
                continue
            for link in inner.css("a[href]"):
                reply_to = reply_to or _findpost_pid(_attr(link, "href"))
            for nested in _outermost(inner, _QUOTE_SELECTOR):
                nested.decompose()  # a quote inside the quote is that post's quote, not this one's
            text = _without_attribution(inner.inner_html or "")
            if text:
                texts.append(text)
            quote.decompose()
        return ("\n\n".join(texts) or None), reply_to



def _without_extra(url: str) -> str:
    """A thread link without Discuz's ``extra`` parameter (the listing page it was found
    on): the same thread reached from two listing pages is one URL."""
    parts = urlsplit(url)
    if "extra=" not in parts.query:
        return url
    query = "&".join(kv for kv in parts.query.split("&") if not kv.startswith("extra="))
    return parts._replace(query=query).geturl()


def _is_quote(node: LexborNode) -> bool:
    return node.tag == "blockquote" or "quote" in _attr(node, "class").split()


def _outermost(root: LexborNode, selector: str) -> list[LexborNode]:
    """Nodes under ``root`` matching ``selector`` that are not inside another quote under
    ``root`` (each quote once, nested ones with it)."""
    out = []
    for node in root.css(selector):
        if node.mem_id == root.mem_id:
            continue
        parent, nested = node.parent, False
        while parent is not None and parent.mem_id != root.mem_id:
            if _is_quote(parent):
                nested = True
                break
            parent = parent.parent
        if not nested:
            out.append(node)
    return out


def _without_attribution(html: str) -> str:
    """The quoted text without its first line when that line names who wrote it and when
    ("X 发表于 2019-3-5 12:30", "原帖由 X 于 2009-12-11 12:21 发表", "X wrote:")."""
    parts = _BR_RE.split(html, maxsplit=1)
    if len(parts) == 2 and _ATTRIBUTION_RE.search(html_text(parts[0])):
        html = parts[1]
    return html_text(html)
