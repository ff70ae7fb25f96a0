"""What page objects share: the fetched page, the clock and zone it is read against,
and the error for a page that cannot be read.

Page objects turn one fetched page into Mentions and navigation hints. They hold every
selector, import no Scrapy (``vocwatch parse`` and tests feed them saved files), and
never evaluate page content.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from parsel import Selector

from crawlers.items import MENTION_KINDS, Mention, coerce_fields, public_url
from crawlers.processors import parse_datetime


class MalformedPage(ValueError):
    """The page is not in the shape its site serves (truncated JSON, missing markup)."""


_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters lxml keeps in a parsed tree but cannot hand back (``.attrib`` of an element
whose attribute *name* holds one raises ValueError); a reader never sees them anyway."""


_SURROGATE_REF_RE = re.compile(r"&#(?:[xX](0*[dD][89a-fA-F][0-9a-fA-F]{2})|(0*5[5-7][0-9]{3}));")
"""A character reference that may be a UTF-16 surrogate (``&#55356;``, ``&#xD83C;``): emoji
written by an encoder that thought in UTF-16."""


def _surrogate_refs(text: str) -> str:
    """Each surrogate pair's two references as the one character they encode, a lone one as
    U+FFFD: HTML parsers make each half U+FFFD, lxml's XML parser keeps bytes that no
    string can be decoded from (reading the node raises UnicodeDecodeError)."""
    refs = [(m, int(m.group(1), 16) if m.group(1) else int(m.group(2))) for m in _SURROGATE_REF_RE.finditer(text)]
    out, pos, i = [], 0, 0
    while i < len(refs):
        (m, hi), nxt = refs[i], refs[i + 1] if i + 1 < len(refs) else None
        if not 0xD800 <= hi <= 0xDFFF:
            i += 1
            continue
        out.append(text[pos:m.start()])
        if hi <= 0xDBFF and nxt and nxt[0].start() == m.end() and 0xDC00 <= nxt[1] <= 0xDFFF:
            out.append(f"&#{0x10000 + ((hi - 0xD800) << 10) + (nxt[1] - 0xDC00)};")
            pos, i = nxt[0].end(), i + 2
        else:
            out.append("&#xFFFD;")
            pos, i = m.end(), i + 1
    return "".join(out) + text[pos:] if out else text


def _markup(text: str) -> str:
    """Markup lxml can parse and hand back: no control characters, no surrogate references."""
    text = _NOT_XML_RE.sub("", text)
    return _surrogate_refs(text) if "&#" in text else text


def html_selector(text: str) -> Selector:
    """``text`` parsed as HTML whatever it holds: parsel would read a JSON body as a JSON
    selector, on which every CSS/XPath query raises; as HTML it simply matches nothing.
    Characters lxml cannot hand back are dropped or replaced first (:func:`_markup`)."""
    return Selector(text=_markup(text), type="html")


def xml_selector(text: str) -> Selector:
    """``text`` parsed as XML (feeds), cleaned like :func:`html_selector`; ValueError when
    it is no XML at all."""
    return Selector(text=_markup(text), type="xml")


@dataclass(frozen=True)
class Page:
    url: str
    text: str
    now: datetime
    """Fetch time (aware); relative dates ("5分钟前") are resolved against it."""
    tz: ZoneInfo
    """The site's local zone for dates shown without an offset."""

    @cached_property
    def selector(self) -> Selector:
        """The page as HTML (:func:`html_selector`), also when it holds JSON."""
        return html_selector(self.text)

    @cached_property
    def data(self) -> Any:
        """The body read as data: JSON, JSONP, a JS-wrapped answer or a JS object literal
        (:func:`spiders.pages.jsdata.load_js`, never evaluated), parsed once per page, as a
        page object's ``mentions()`` and ``next_url()`` both read it. Raises MalformedPage
        for a body that holds none."""
        from spiders.pages.jsdata import load_js  # jsdata builds on this module

        return load_js(self.text, self.url)

    def require_html(self, what: str) -> None:
        """Raise MalformedPage when the body is JSON where ``what`` reads HTML: the wrong
        body type is a page that cannot be read, not a page with nothing on it."""
        if self.text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
            raise MalformedPage(f"{self.url}: a JSON body where {what} expects an HTML page")

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise MalformedPage(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise MalformedPage("JSON nested too deeply to read") from None

    def parse_date(
        self,
        raw: Any,
        *,
        formats: str | Iterable[str] | None = None,
        languages: str | Iterable[str] | None = None,
        order: str | None = None,
    ) -> datetime | None:
        """``raw`` as shown on this page, resolved to UTC against its fetch time and zone
        (relative, Chinese and other languages' forms too); None when absent or unreadable.
        ``formats`` (strptime), ``languages`` (dateparser codes) and ``order`` ("DMY",
        "MDY", "YMD") are the site's hints, as :func:`crawlers.processors.parse_datetime`
        takes them (ValueError for a hint no date can be read with)."""
        return parse_datetime(raw, now=self.now, tz=self.tz, formats=formats, languages=languages, order=order)

    def urljoin(self, href: str) -> str:
        """``href`` resolved against this page; this page's own URL for an href that is
        no URL at all (``http://[``, an object from JSON), so a caller never meets the
        ValueError of a bad host and a pager sees "same page", i.e. no next page."""
        if not isinstance(href, str):
            return self.url
        try:
            return urljoin(self.url, href)
        except ValueError:
            return self.url

    def permalink(self, href: Any) -> str | None:
        """A mention's own address from ``href`` (the page's link to it, a JSON ``url``
        field, a pattern filled with its id), resolved against this page: an absolute
        http(s) URL (``crawlers.items.public_url``), else None (a ``javascript:`` link, an
        href that is no URL). Adapters call it only with an href that names the one mention:
        this page's own URL is no mention's permalink unless the page is that mention's."""
        if not isinstance(href, str) or not href.strip():
            return None
        href = href.strip()
        if href.lower().startswith(("javascript:", "data:", "mailto:")):
            return None
        try:
            url = urljoin(self.url, href)
        except ValueError:
            return None
        return public_url(url)


class PageObject:
    """One fetched page of one site, read: the protocol every site adapter follows.

    A subclass registered with :func:`spiders.pages.registry.site` is the site's adapter.
    ``mentions()`` is required; ``next_url()`` (the next page of the same listing or
    thread), ``follow_urls()`` (other pages to read with the same adapter: the threads
    of a board) and ``expand_urls(snippets)`` (pages that hold the full texts of this page's
    snippets) default to "none". A page that is not in the site's shape raises
    :class:`MalformedPage`, from ``__init__`` (shape checked once) or from ``mentions()``.
    Page objects hold every selector of their site, import no Scrapy and never evaluate
    page content, so ``vocwatch parse``, fixtures and spiders all read pages the same way.
    """

    def __init__(self, page: Page) -> None:
        self.page = page

    def mentions(self) -> list[Mention]:
        raise NotImplementedError

    def next_url(self) -> str | None:
        return None

    def follow_urls(self) -> list[str]:
        return []

    def expand_urls(self, snippets: list[Mention]) -> list[str]:
        """Pages of the same site whose mentions, read by this same page object class, are
        the full texts of ``snippets`` (this page's mentions flagged ``truncated``, as
        ``mentions()`` gave them: no second read of the page), matched by ``external_id``:
        TripAdvisor's ``ExpandedUserReviews`` fragment. The site spider fetches them
        before it hands this page's mentions on (see ``spiders.site``); a mention the
        expansion does not give back stays a snippet, flagged. Default: none."""
        return []


# --- the types a page object hands on -------------------------------------------------

STR_FIELDS = ("external_id", "author", "author_region", "title", "published_raw", "reply_text", "variant",
              "language", "quoted", "in_reply_to", "permalink")
"""Optional text fields: ``str`` or None (``permalink``: an absolute http(s) URL, see
``crawlers.items.public_url``)."""
COUNT_FIELDS = ("likes", "reposts", "comments", "position")
"""``int`` or None (a Reddit score may be negative; ``position`` is a post number)."""
FLOAT_FIELDS = ("rating_raw", "rating_scale", "rating")
"""Finite ``float`` or None."""
TIME_FIELDS = ("published_at", "reply_at", "crawled_at")
"""Timezone-aware ``datetime`` or None."""


def _count(value: Any) -> bool:
    """An int a store can keep (64 bits; JSON integers are unbounded), not a bool."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def field_problems(m: Mention) -> list[str]:
    """Fields of ``m`` whose value is not of the type :class:`Mention` documents, as
    ``"author: dict"``; empty when the mention is well typed."""
    problems = [f"{name}: {type(getattr(m, name)).__name__}" for name in ("site", "kind", "url", "text")
                if not isinstance(getattr(m, name), str)]
    if isinstance(m.kind, str) and m.kind not in MENTION_KINDS:
        problems.append(f"kind: {m.kind!r}")
    for name in STR_FIELDS:
        if (value := getattr(m, name)) is not None and not isinstance(value, str):
            problems.append(f"{name}: {type(value).__name__}")
    for name in ("site", "url", "text", *STR_FIELDS):
        if isinstance(value := getattr(m, name), str) and not value.isascii() and _SURROGATE_RE.search(value):
            problems.append(f"{name}: str with a lone surrogate")  # UTF-8 cannot encode it: no store can
    if isinstance(m.permalink, str) and public_url(m.permalink) is None:
        problems.append("permalink: not an absolute http(s) URL")
    if not isinstance(m.truncated, bool):
        problems.append(f"truncated: {type(m.truncated).__name__}")
    for name in COUNT_FIELDS:
        value = getattr(m, name)
        if value is not None and not _count(value):
            problems.append(f"{name}: {type(value).__name__}" + (" (out of range)" if isinstance(value, int) else ""))
    for name in FLOAT_FIELDS:
        value = getattr(m, name)
        if value is not None and (not isinstance(value, float) or not math.isfinite(value)):
            problems.append(f"{name}: {type(value).__name__}" + (" (not finite)" if isinstance(value, float) else ""))
    for name in TIME_FIELDS:
        value = getattr(m, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            problems.append(f"{name}: {type(value).__name__}" + (" (naive)" if isinstance(value, datetime) else ""))
    return problems


_SURROGATE_RE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate: JSON can escape one ("\\ud83d" of an emoji cut in half), Python
keeps it, and encoding the string to UTF-8 for any store raises."""


def well_typed(m: Mention) -> Mention:
    """``m`` with every field of its documented type, in place: a value a page could not
    have meant for the field (a dict nickname, a list date, a NaN rating, a count beyond
    64 bits) becomes the field's "absent" value, a count sent as ``"12"`` becomes 12, so
    no store batch or pipeline meets a wrong type. Page objects pass their mentions
    through here (the registry does it for every site adapter). The coercion is
    ``crawlers.items.coerce_fields`` (the clean stage's too); what it had to give up is
    noted in ``fields_given_up``, so the crawl counts it."""
    if not field_problems(m):
        return m
    given_up, fatal = coerce_fields(m, tz=None)  # a page object's naive time has no zone to read it in
    for name in fatal:
        setattr(m, name, "")  # the clean stage drops the mention as bad_field_<name>
    if m.kind not in MENTION_KINDS:
        m.kind = "review"
    m.fields_given_up += [name for name in (*given_up, *fatal) if name not in m.fields_given_up]
    return m
