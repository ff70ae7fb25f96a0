"""The one record type vocwatch stores: a :class:`Mention` (review, post or comment).

Plain dataclasses, no Scrapy import: the store, the monitor and the NLP code read
mentions too. Scrapy handles dataclass items through ``itemadapter``.

Raw and normalised values sit side by side (``rating_raw`` + ``rating_scale`` next to
``rating``) so a wrong normalisation can be redone from what the site showed.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from config.model import ID_SCOPES

MENTION_KINDS = ("review", "post", "comment")
SENTIMENT_LABELS = ("positive", "neutral", "negative")


@dataclass(slots=True)
class Mention:
    """A piece of unsolicited feedback found on one site.

    Every datetime is timezone-aware UTC. Counts are plain integers (``None`` when the
    site does not show them, ``0`` when it shows zero).
    """

    site: str
    """Short, stable site name, e.g. ``"stayadvisor"`` or ``"tripadvisor.com"``."""
    kind: str
    """``"review"`` (rated feedback on a place/product), ``"post"`` (social/forum post
    or feed entry) or ``"comment"`` (a reply under a post)."""
    url: str
    """Absolute URL of the page or API response the mention was read from."""
    text: str
    """The body as a reader sees it: tags stripped, entities decoded, paragraphs split by
    a single ``\\n`` (see ``crawlers.processors.clean_text``). ``""`` (never ``None``) for a
    rating-only review (stars and no words, common on Google Maps): such a mention is
    stored and counted in ratings and review counts, and the text analysis skips it (see
    :func:`has_text`). A stored mention has a text or a rating, never neither."""
    truncated: bool = False
    """The page itself cut ``text`` (a listing snippet ending in "…" with a "More" link, an
    API's ``snippet_text``): what the reader saw first, not the whole review. Set by the
    page object; the site spider replaces it with the full text where the site serves one
    (``PageObject.expand_urls``). Stored, exported and analysed like any text, but counted
    apart (``vocwatch/truncated``, ``vocwatch/nlp/truncated``) and never counted as a full
    text by crawl health; a stored snippet is replaced by the full text when it comes,
    never the other way (see ``crawlers.store.base.keeps_stored_text``)."""
    external_id: str | None = None
    """The site's own id for this mention (review id, status id, post id, RSS guid)."""
    id_scope: str = ""
    """Where the site keeps ``external_id`` unique: ``""`` on the whole site (a status id,
    a review id), else ``"host:<host>"`` (one forum instance), ``"url:<host><path>?<query>"``
    of the source's URL (one product or thread) or ``"source:<source id>"`` (one configured
    source). Set by the spider from what it or its adapter declares (``config.model.ID_SCOPES``);
    part of the fingerprint."""
    source_id: str = ""
    """Id of the configured source that produced it (``config`` ``[[sources]].id``)."""
    location_id: str = ""
    """Id of the configured location it is about."""
    brand: str = ""
    """Brand id of that location."""
    author: str | None = None
    """Author handle. Pseudonymised by default into ``u_`` + 16 hex characters (a keyed
    hash, stable within one store) so that repeat authors can be counted without
    keeping names; raw only when the config turns pseudonymisation off."""
    author_region: str | None = None
    """Where the author posted from when the site shows it (Weibo's IP province)."""
    title: str | None = None
    """Review or thread title, cleaned like ``text``."""
    rating_raw: float | None = None
    """The rating as shown, on the site's own scale (e.g. ``8.0`` of 10)."""
    rating_scale: float | None = None
    """The best possible rating on that site's scale (e.g. ``10``, ``5``, ``50``)."""
    rating: float | None = None
    """Normalised rating on 0-5: ``rating_raw / rating_scale * 5``, 2 decimals."""
    published_at: datetime | None = None
    """When the author published it, UTC; relative forms ("5分钟前") are resolved against
    the fetch time and the source's time zone. ``None`` only if the page had no date."""
    published_raw: str | None = None
    """The date exactly as the page showed it, kept for audits of date parsing."""
    crawled_at: datetime | None = None
    """When vocwatch fetched it, UTC."""
    language: str | None = None
    """ISO 639-1 code (``"zh"``, ``"en"``, ...) or ``"und"`` when undetermined."""
    likes: int | None = None
    """Likes / helpful votes / upvotes."""
    reposts: int | None = None
    """Reposts / shares / retweets."""
    comments: int | None = None
    """Number of comments or replies under it."""
    quoted: str | None = None
    """Forums: the text of the post(s) this one quotes, cleaned like ``text``, without the
    "X wrote:" line; several quotes joined by a blank line in page order (a quote nested in
    a quote belongs to that quote, not here). Quotes are cut from ``text``, which keeps only
    the poster's own words. None when nothing is quoted."""
    in_reply_to: str | None = None
    """The ``external_id`` (same id scope) of the mention this one answers, when the page
    says so (a nested comment's parent, the post a quote links to); None when unknown."""
    position: int | None = None
    """Forums: the post's number in its thread as the board counts it (1 is the opening
    post), so a thread read over several pages keeps its order; None when the page does
    not say (phpBB shows none: counted from the page's ``start=`` offset when known)."""
    reply_text: str | None = None
    """The owner's or merchant's public reply, cleaned like ``text``."""
    reply_at: datetime | None = None
    """When the owner replied, UTC."""
    variant: str | None = None
    """Product variant the reviewer bought (size, colour), e-commerce only."""
    sentiment_label: str | None = None
    """``"positive"``, ``"neutral"`` or ``"negative"`` (filled by NLP)."""
    sentiment_score: float | None = None
    """Sentiment in [-1, 1]; negative below 0 (filled by NLP)."""
    aspects: list[dict[str, Any]] = field(default_factory=list)
    """Aspects found, each ``{"aspect": str, "sentiment": label, "score": float}``."""
    keywords: list[str] = field(default_factory=list)
    """Salient terms, most salient first (filled by NLP)."""
    nlp_model: str | None = None
    """Name and version of the models that filled the NLP fields, e.g. ``"snownlp-0.12/vader-3.3"``."""
    fingerprint: str = ""
    """Stable dedupe key, see :func:`mention_fingerprint`."""
    permalink: str | None = None
    """The review's or post's own public address on the site, when the site has one: what a
    reader opens to see (and answer) this one mention, unlike ``url`` (the listing page or API
    response it was read from). Taken from the page's own link to it (an ``<a href>``, a JSON
    ``url``/``permalink``/``share_url``) or built from the site's known pattern and the id
    (a Hacker News ``item?id=``, a forum post anchor); an absolute ``http(s)`` URL (see
    :func:`public_url`), None where the site gives a review no address of its own (a Taobao
    rate, a Google Maps card). Neither part of the fingerprint nor of the content hash: a
    site changing its URL scheme has not edited the review. The store keeps the newest one
    seen and never clears a known one (``crawlers.store.base.KEEP_PERMALINK``)."""
    content_hash: str = ""
    """Hash of the fields a site may change later (text, rating, counts, reply): a
    re-crawl with a different hash updates the stored record instead of being dropped."""
    fields_given_up: list[str] = field(default_factory=list, repr=False, compare=False)
    """Transient, never stored: fields a page object had to empty because the page gave a
    value it cannot have meant (a dict where a name belongs). The clean stage counts them
    (``vocwatch/warnings/bad_field/<field>``) so nothing is set aside without a word."""

    crawl_status: str = field(default="", compare=False)
    """Transient, never stored: what this crawl found, for feeds (``scrapy crawl -O``):
    ``new`` (not stored before), ``updated`` (stored, its content changed) or ``unchanged``
    (stored as it is; with a feed it reaches the feed, and is not written again)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in TRANSIENT_FIELDS:
            del d[name]
        return d

    def replace(self, **changes: Any) -> Mention:
        return replace(self, **changes)


TRANSIENT_FIELDS = ("fields_given_up", "crawl_status")
"""Mention fields that live only during a crawl: no store, export or hash sees them."""
MENTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Mention) if f.name not in TRANSIENT_FIELDS)
_TYPES: dict[str, str] = {f.name: str(f.type) for f in fields(Mention) if f.name not in TRANSIENT_FIELDS}
"""Each field's declared type as written (``"str | None"``): what :func:`coerce_fields` enforces."""
DATETIME_FIELDS = ("published_at", "crawled_at", "reply_at")
NLP_FIELDS = ("language", "sentiment_label", "sentiment_score", "aspects", "keywords", "nlp_model")
"""Fields the text analysis fills: what ``vocwatch reanalyze`` rewrites after a model change."""
MUTABLE_FIELDS = ("text", "title", "rating_raw", "likes", "reposts", "comments", "reply_text", "reply_at")
_MUTABLE_VALUES = operator.attrgetter(*MUTABLE_FIELDS)


def id_scope_value(scope: str, *, url: str, source_id: str, listing_url: str) -> str:
    """The ``Mention.id_scope`` of a mention read at ``url`` by source ``source_id`` whose
    configured URL is ``listing_url``, under one of ``ID_SCOPES``."""
    if scope == "global":
        return ""
    if scope == "host":
        return "host:" + (urlsplit(url).hostname or "")
    if scope == "url":
        # the listing by host, path and query: not by scheme or port, which move (http to
        # https, a sandbox on another port) while the listing stays the same
        parts = urlsplit(listing_url)
        return f"url:{parts.hostname or ''}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
    if scope == "source":
        return "source:" + source_id
    raise ValueError(f"unknown id scope {scope!r}; one of {', '.join(ID_SCOPES)}")


_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def public_url(value: object) -> str | None:
    """``value`` when it is an absolute ``http``/``https`` URL with a host and nothing a
    browser would not take literally (spaces, control characters), else None: the only
    ``permalink`` a mention may carry, so a dashboard can put it in an ``href`` as it is (no
    ``javascript:``, no relative path that would resolve against the dashboard itself)."""
    if not isinstance(value, str) or not value or len(value) > 4096 or _SPACE_OR_CONTROL.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def mention_fingerprint(m: Mention) -> str:
    """Dedupe key: the site's own id within its scope when there is one, else url +
    author + text, and for a rating-only mention (no text) url + author + rating + date.
    A global id's key is ``site, kind, id`` (as before scopes existed).

    Location is deliberately not part of it: the same review reached from two sources
    is one mention (unless the site's ids are only unique per source).
    """
    if m.external_id:
        if m.id_scope:
            return _digest([m.site, m.kind, m.id_scope, m.external_id])
        return _digest([m.site, m.kind, m.external_id])
    text = " ".join((m.text or "").split())
    if not text:  # rating-only: the stars and when they were given tell two apart
        when = m.published_at.isoformat() if m.published_at else (m.published_raw or "")
        return _digest([m.site, m.kind, m.url, m.author or "", "", f"rating:{m.rating_raw}", when])
    return _digest([m.site, m.kind, m.url, m.author or "", text])


def has_text(m: Mention) -> bool:
    """Whether ``m`` has words to analyse: a rating-only review has none, and the text
    analysis (language, sentiment, aspects, keywords) leaves it unlabelled."""
    return bool((m.text or "").strip())


def mention_content_hash(m: Mention) -> str:
    """Hash of the fields that can change between crawls (see ``MUTABLE_FIELDS``). A
    snippet (``truncated``) is marked in it, so its full text of the same words is a change;
    an untruncated mention hashes as it did before the flag existed (no stored hash moves).
    ``permalink`` is left out on purpose: a site moving its review pages to a new URL scheme
    has not edited a review (no update, no re-analysis, no alert), and every hash stored
    before the field existed stays valid; the store refreshes a permalink on its own."""
    parts = [value.isoformat() if isinstance(value, datetime) else str(value) for value in _MUTABLE_VALUES(m)]
    if m.truncated is True:
        parts.append("truncated")
    return _digest(parts)


REQUIRED_TEXT = ("site", "kind", "url", "text", "source_id", "location_id", "brand", "id_scope",
                 "fingerprint", "content_hash")
"""Text fields a mention cannot be without: one that cannot be made text makes it meaningless."""
_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate: JSON can escape one ("\\ud83d" of an emoji cut in half), Python
keeps it, and encoding the string to UTF-8 for any store raises."""
_INT64 = (-(2**63), 2**63)
"""What a store can keep of an integer (JSON integers are unbounded)."""


_HINTS = {name: hint.replace(" ", "") for name, hint in _TYPES.items()}
_FAST_TYPES: dict[str, type | None] = {
    name: {"str": str, "float": float, "int": int, "bool": bool}.get(hint.removesuffix("|None"))
    for name, hint in _HINTS.items()}
"""The plain type of each field whose value of exactly that type :func:`_coerce` keeps as it is
(an ASCII str, a finite float, a non-negative int of 64 bits, a bool)."""


_PLAN = tuple((name, _FAST_TYPES[name], _HINTS[name].endswith("|None"), _HINTS[name]) for name in MENTION_FIELDS)
"""Per field, in ``MENTION_FIELDS`` order: its name, plain type, whether ``None`` is a value
it may hold, its hint: what :func:`coerce_fields` looks up once per field, not per call."""
_ALL_FIELDS = operator.attrgetter(*MENTION_FIELDS)
"""Every stored field of a mention in one C-level call, in ``MENTION_FIELDS`` order."""


def _hint(name: str) -> str:
    return _HINTS[name]


def coerce_fields(m: Mention, tz: tzinfo | None = UTC) -> tuple[list[str], list[str]]:
    """Bring every field of ``m`` to its declared type, in place, as far as it can be done
    without guessing: numbers as text become numbers, a number where text belongs becomes
    text, a naive datetime is read in ``tz`` (given up when ``tz`` is None), a lone
    surrogate becomes U+FFFD, a count beyond 64 bits or a non-finite rating is no value, a
    ``permalink`` that is no absolute http(s) URL (:func:`public_url`) is none. The
    one coercer: page objects (``spiders.pages.base.well_typed``) and the clean stage both
    use it. A value that cannot be (a dict where a name
    belongs, a list where a date belongs) is set to ``None`` (``[]`` for lists). Returns
    ``(given_up, fatal)``: the optional fields set aside, and the required ones (text, url,
    ...) that cannot be, which make the mention meaningless."""
    from crawlers.processors import parse_count

    given_up: list[str] = []
    fatal: list[str] = []
    for (name, fast, optional, hint), value in zip(_PLAN, _ALL_FIELDS(m), strict=True):
        if value is None:
            if optional:  # no value: what an optional field may be
                continue
            if hint == "str":
                setattr(m, name, "")  # absent: the checks for missing values take it from here
            elif hint.startswith("list"):
                setattr(m, name, [])
            elif hint == "bool":
                setattr(m, name, False)
            continue
        kind = type(value)
        # already what _coerce would keep (the common case, checked cheaply): text without a
        # lone surrogate, a finite float, a 64-bit count, a bool, an aware datetime, no list items
        if kind is fast and ((kind is str and (value.isascii() or not _SURROGATE.search(value)))
                             or (kind is float and math.isfinite(value))
                             or (kind is int and 0 <= value < _INT64[1]) or kind is bool):
            continue
        if (kind is datetime and hint == "datetime|None" and value.utcoffset() is not None) or (
                kind is list and not value and hint.startswith("list")):
            continue
        ok, new = _coerce(hint, value, tz, parse_count)
        if ok:
            if new is not value:
                setattr(m, name, new)
        elif name in REQUIRED_TEXT:
            fatal.append(name)
        else:
            setattr(m, name, [] if hint.startswith("list") else False if hint == "bool" else None)
            given_up.append(name)
    if m.permalink is not None and public_url(m.permalink) is None:  # text, but no address to link to
        m.permalink = None
        given_up.append("permalink")
    return given_up, fatal


def _coerce(hint: str, value: Any, tz: tzinfo, parse_count: Any) -> tuple[bool, Any]:
    """``(True, value as hint)`` or ``(False, None)``."""
    base = hint.removesuffix("|None")
    if base == "bool":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, int) and value in (0, 1):  # a store's INTEGER column
            return True, bool(value)
        return False, None
    if isinstance(value, bool):
        return False, None  # never a name, a date or a count
    if base == "str":
        if isinstance(value, str):
            return True, value if value.isascii() else _SURROGATE.sub("\ufffd", value)  # isascii: O(1)
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return True, str(value)
        return False, None
    if base == "float":
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError:  # an int beyond 1e308
                return False, None
            return (True, number) if math.isfinite(number) else (False, None)
        if isinstance(value, str):
            try:
                number = float(value.strip().replace(",", "."))
            except ValueError:
                return False, None
            return (True, number) if math.isfinite(number) else (False, None)
        return False, None
    if base == "int":
        count = parse_count(value) if isinstance(value, str | int | float) else None
        if count is None or not _INT64[0] <= count < _INT64[1]:
            return False, None
        return True, count
    if base == "datetime":
        if not isinstance(value, datetime):
            return False, None
        if value.utcoffset() is not None:
            return True, value
        return (False, None) if tz is None else (True, value.replace(tzinfo=tz).astimezone(UTC))
    if base.startswith("list[dict"):
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return True, value
        return False, None
    if base.startswith("list[str"):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True, value
        return False, None
    raise TypeError(f"no coercion for type {hint!r}")


def apply_analysis(m: Mention, a: Any) -> None:
    """Copy an ``nlp.analyze`` result (an ``Analysis``) onto the mention's NLP fields: the
    one mapping the crawl's enrichment stage and ``vocwatch reanalyze`` share. A mention
    without text (rating-only) gets no labels whatever ``a`` says: no language, no
    sentiment (never a neutral it did not express), no aspects or keywords, and
    ``nlp_model`` ``"none"`` (no model applied), so reanalyze leaves it alone."""
    if not has_text(m):
        clear_analysis(m)
        return
    m.language = a.lang
    m.sentiment_label, m.sentiment_score = a.label, a.score
    m.aspects = [{"aspect": x.aspect, "sentiment": x.sentiment, "score": x.score} for x in a.aspects]
    m.keywords = list(a.keywords)
    m.nlp_model = a.model


NO_TEXT_MODEL = "none"
"""``nlp_model`` of a mention the text analysis skipped for having no text (``nlp.analyze.NO_MODEL``)."""


def clear_analysis(m: Mention) -> None:
    """The NLP fields of a mention with no text to analyse (see :func:`apply_analysis`)."""
    m.language = None
    m.sentiment_label = m.sentiment_score = None
    m.aspects, m.keywords = [], []
    m.nlp_model = NO_TEXT_MODEL
