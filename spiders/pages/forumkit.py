"""What the forum-engine page objects share (XenForo, phpBB, vBulletin).

* **An HTML5 tree.** Forum posts carry user markup, and one stray or missing tag in a post
  makes libxml2 (lxml, parsel) nest every following post inside it: it closes an ``<li>``
  only when the ``<li>`` is the open element, so after an unclosed ``<div>`` in XenForo 1's
  ``li.message`` each next post becomes a child of the one before, and ``::attr`` of the
  first post joins every post's date. The HTML5 tree-building rules (what browsers do)
  close the previous ``<li>`` across it. :func:`spiders.pages.html5.html5_selector` builds the tree with
  lexbor (selectolax) and hands its serialisation, which lxml reads without surprises, to
  parsel, so adapters keep CSS/XPath.
* **One post, one tree.** :func:`own_posts` gives each post as its own small tree without
  any post nested in it, so no field of one post is ever read from another, whatever the
  markup did, and quotes and signatures can be cut from a post without touching the page.
* **Quotes apart.** :func:`cut_quotes` takes quoted blocks out of a post's body and returns
  them as ``{"author", "text", "post_id"}``; :func:`quote_fields` makes ``Mention.quoted``
  (their words) and ``Mention.in_reply_to`` (the first quoted post) of them: someone
  else's words are not this author's. The adapters keep the whole list per post
  (``quotes``) for callers that want who was quoted.
* Dates from machine-readable attributes first (:func:`epoch`, :func:`iso_date`), the
  board's shown text in its own language and zone (``Page.parse_date``) only without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from spiders.pages.base import Page, PageObject, html_selector
from spiders.pages.html5 import html5_selector
from spiders.pages.htmltext import html_text

_ID_DIGITS_RE = re.compile(r"(\d+)")
_POST_ID_IN_URL_RE = re.compile(r"(?:[?&#/](?:p|post|postid)[=_-]?|#p|#post|/posts/|post-)(\d+)", re.I)
_NUMBER_RE = re.compile(r"\d[\d,.\s]*")



class ForumEnginePage(PageObject):
    """What the XenForo, phpBB and vBulletin page objects share: the page as an HTML5 tree
    (a JSON body is a malformed page), and who each post quoted."""

    what = "a forum page"
    """How the engine's pages are named in a malformed-page message."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.quotes: dict[str, list[dict[str, str | None]]] = {}
        """Each post's quotes, ``{"author", "text", "post_id"}`` in page order, by post id
        (filled by ``mentions()``): who was quoted, beside ``Mention.quoted``."""
        self.sel = html5_selector(page, self.what)


def own_posts(sel: Selector, css: str) -> list[Selector]:
    """Every element matching ``css``, each as its own detached tree from which the
    posts nested inside it (broken markup) are removed: nothing read from one post ever
    belongs to another, and cutting quotes out of a post leaves the page alone."""
    out = []
    for node in sel.css(css):
        own = html_selector(node.get()).css(css)[:1]
        if not own:
            continue
        for nested in own[0].css(css)[1:]:
            nested.drop()
        out.append(own[0])
    return out


def clean(value: str | None) -> str | None:
    """Whitespace collapsed; None for nothing."""
    text = " ".join((value or "").split())
    return text or None


def text_of(sel: Selector | Iterable[Selector], xpath: str = ".") -> str | None:
    """The collapsed string value of the first node (``string(...)``)."""
    nodes = sel if isinstance(sel, list) else [sel]
    for node in nodes:
        value = clean(node.xpath(f"string({xpath})").get())
        if value:
            return value
    return None


def first(sel: Selector, *queries: str) -> str | None:
    """The first non-empty result of the CSS queries, in the order given (a query that
    matches several nodes gives its first, never their join)."""
    for query in queries:
        for value in sel.css(query).getall():
            if value := clean(value):
                return value
    return None


def epoch(value: str | None) -> datetime | None:
    """A Unix time attribute (XenForo's ``data-time``) as UTC; None when it is not one."""
    if not value or not value.strip().isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(value.strip()), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_date(value: str | None, *, naive_is_utc: bool = False) -> datetime | None:
    """An ISO 8601 ``datetime`` attribute as UTC. A value without an offset is UTC when
    ``naive_is_utc`` (vBulletin 5 writes UTC there while it shows the board's local time),
    else None, so the caller falls back to the shown text in the board's zone."""
    if not value:
        return None
    raw = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", raw):  # +0000 -> +00:00 (Python 3.11 reads both, be explicit)
        raw = raw[:-2] + ":" + raw[-2:]
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC) if naive_is_utc else None
    return parsed.astimezone(UTC)


def post_date(page: Page, *, stamp: str | None = None, iso: str | None = None, shown: str | None = None,
              naive_is_utc: bool = False) -> tuple[datetime | None, str | None]:
    """``(published_at, published_raw)`` from the best evidence a post has: a Unix time,
    an ISO attribute, else the shown text read in the board's language and ``Page.tz``.
    ``published_raw`` is what the page showed (the text, else the attribute)."""
    raw = clean(shown) or clean(iso) or clean(stamp)
    when = epoch(stamp) or iso_date(iso, naive_is_utc=naive_is_utc)
    if when is None and shown:
        when = page.parse_date(clean(shown))
    return when, raw


_NUMERIC_DATE_RE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?")


def shown_near(page: Page, shown: str | None, near: datetime | None) -> datetime | None:
    """The shown date, read in ``Page.tz``, with a numeric day/month order the text leaves
    open ("04-09-2019, 11:55 AM") settled by a machine date the page gives beside it
    (``near``: vBulletin 5's ``datetime`` attribute, which is the server's local time, not
    the reader's): the reading within two days of it wins. Without a numeric date the text
    goes to ``Page.parse_date`` ("Today, 11:55 AM")."""
    text = clean(shown)
    if not text:
        return None
    m = _NUMERIC_DATE_RE.search(text)
    if not m or near is None:
        return page.parse_date(text)
    a, b, c = (int(g) for g in m.groups())
    orders = [(a, b, c)] if a > 31 else [(c, a, b), (c, b, a)]  # Y-M-D, else M-D-Y / D-M-Y
    clock = _CLOCK_RE.search(text[m.end():])
    hour, minute, second = (int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)) if clock else (0, 0, 0)
    if clock and clock.group(4):
        hour = hour % 12 + (12 if clock.group(4)[0] in "Pp" else 0)
    for year, month, day in orders:
        year += 2000 if year < 100 else 0
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=page.tz)
        except ValueError:
            continue
        if abs((local.replace(tzinfo=None) - near.replace(tzinfo=None)).total_seconds()) <= 2 * 86400:
            return local.astimezone(UTC)
    return page.parse_date(text)


def post_number(value: str | None) -> int | None:
    """``#1326`` / ``1.326`` / ``Post 12`` as 1326 / 1326 / 12; None when no number."""
    m = _NUMBER_RE.search(value or "")
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return int(digits) if digits and len(digits) < 18 else None


def id_digits(value: str | None) -> str | None:
    """The digits of an element id such as ``post-2146286`` / ``p57944`` / ``post_message_5``."""
    m = _ID_DIGITS_RE.search(value or "")
    return m.group(1) if m else None


def post_id_in_url(href: str | None) -> str | None:
    """The post id a permalink names: ``?p=123``, ``#p123``, ``#post123``, ``/posts/123/``,
    ``post-123``, ``goto/post?id=123``; None when it names none."""
    if not href:
        return None
    query = parse_qs(urlsplit(href).query)
    if "goto/post" in href and query.get("id"):
        return query["id"][0] if query["id"][0].isdigit() else None
    m = _POST_ID_IN_URL_RE.search(href)
    return m.group(1) if m else None


def strip_said(title: str | None, known: Iterable[str] = ()) -> str | None:
    """The quoted author from a quote header ("alice said:", "alice написал(а):",
    "Originally Posted by alice", "bob wrote:"): a poster name known on the page that the
    header starts or ends with (longest first), else the header without its last word and
    colon. None for an empty header."""
    text = clean(title)
    if not text:
        return None
    text = text.rstrip(":： ").strip()
    for name in sorted({n for n in known if n}, key=len, reverse=True):
        if text == name or text.startswith(name + " ") or text.endswith(" " + name):
            return name
    words = text.split()
    return " ".join(words[:-1]) if len(words) > 1 else text


def cut_quotes(body: Selector, quote_css: str, read: Callable[[Selector], tuple[str | None, str, str | None]]
               ) -> list[dict[str, str | None]]:
    """Remove every outermost quote block (``quote_css``) from ``body`` (a tree of its own,
    see :func:`own_posts`) and return them as ``Mention.quoted`` entries, read by
    ``read(block) -> (author, text, post_id)``. ``quote_css`` is CSS, or XPath after an
    ``xpath:`` prefix. Quotes inside quotes stay part of the outer quote's text."""
    quoted = []
    blocks = body.xpath(quote_css[6:]) if quote_css.startswith("xpath:") else body.css(quote_css)
    roots = {id(b.root) for b in blocks}
    outer = [b for b in blocks if not any(id(a) in roots for a in b.root.iterancestors())]
    for block in outer:
        author, text, post_id = read(block)
        quoted.append({"author": author, "text": text, "post_id": post_id})
    for block in outer:
        block.drop()
    return quoted


def quote_fields(quotes: list[dict[str, str | None]]) -> dict[str, str | None]:
    """``Mention.quoted`` (the quoted words, several quotes joined by a blank line, in page
    order) and ``Mention.in_reply_to`` (the first quoted post's id) of a post's quotes."""
    texts = [q["text"] for q in quotes if q.get("text")]
    return {"quoted": "\n\n".join(texts) if texts else None,  # type: ignore[arg-type]
            "in_reply_to": next((q["post_id"] for q in quotes if q.get("post_id")), None)}


def body_text(body: Selector | None, drop: Iterable[str] = ()) -> str:
    """The post body as text (paragraphs kept), after removing the ``drop`` selectors
    (signatures, "click to expand" links, hidden markers)."""
    if body is None:
        return ""
    for css in drop:
        for node in body.css(css):
            node.drop()
    return html_text(body.get())


def resolve(page: Page, sel: Selector, href: str | None) -> str | None:
    """``href`` resolved as a browser would: against the page's ``<base href>`` when it
    has one (XenForo 1 writes every link relative to it), else against the page URL."""
    if not href:
        return None
    base = first(sel, "base::attr(href)")
    if base:
        return Page(page.urljoin(base), "", page.now, page.tz).urljoin(href)
    return page.urljoin(href)


def post_permalink(page: Page, sel: Selector, href: str | None, pid: str | None, anchor: str) -> str | None:
    """A post's own address (``Mention.permalink``): the post's link on the page (its date or
    number, resolved as :func:`resolve` does) when that link names the post (its id in the
    query, path or fragment), else the post's anchor on this page (``anchor``: the engine's
    ``post123`` / ``p123``, whose element every engine writes), which a browser scrolls to.
    None without a post id: then nothing names the post."""
    if not pid:
        return None
    url = resolve(page, sel, href)
    if url and post_id_in_url(url) == pid:
        return page.permalink(url)
    return page.permalink(f"{page.url.split('#', 1)[0]}#{anchor}")


def next_link(page: Page, sel: Selector, *queries: str) -> str | None:
    """The next page: ``<link rel=next>`` in the head, ``a[rel=next]``, then the engine's
    own pager ``queries``; None on the last page or when it points back at this page."""
    for query in ('link[rel="next"]::attr(href)', 'a[rel="next"]::attr(href)', *queries):
        href = first(sel, query)
        if href and not href.startswith(("javascript:", "#")):
            url = resolve(page, sel, href)
            if url and url != page.url:
                return url
    return None


def unique_urls(page: Page, sel: Selector, hrefs: Iterable[str | None]) -> list[str]:
    """``hrefs`` resolved (:func:`resolve`), fragments cut, each once, in page order."""
    seen: dict[str, None] = {}
    for href in hrefs:
        if href and not href.startswith(("javascript:", "#")) and (url := resolve(page, sel, href)):
            seen.setdefault(url.split("#", 1)[0], None)
    return list(seen)
