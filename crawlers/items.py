"""The one record type vocwatch stores: a :class:`Mention` (review, post or comment).

Plain dataclasses, no Scrapy import: the store, the monitor and the NLP code read
mentions too. Scrapy handles dataclass items through ``itemadapter``.

Raw and normalised values sit side by side (``rating_raw`` + ``rating_scale`` next to
``rating``) so a wrong normalisation can be redone from what the site showed.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

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
    a single ``\\n`` (see ``crawlers.processors.clean_text``). Never empty once stored."""
    external_id: str | None = None
    """The site's own id for this mention (review id, status id, post id, RSS guid)."""
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
    content_hash: str = ""
    """Hash of the fields a site may change later (text, rating, counts, reply): a
    re-crawl with a different hash updates the stored record instead of being dropped."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Mention:
        return replace(self, **changes)


MENTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Mention))
DATETIME_FIELDS = ("published_at", "crawled_at", "reply_at")
NLP_FIELDS = ("language", "sentiment_label", "sentiment_score", "aspects", "keywords", "nlp_model")
"""Fields the text analysis fills: what ``vocwatch reanalyze`` rewrites after a model change."""
MUTABLE_FIELDS = ("text", "title", "rating_raw", "likes", "reposts", "comments", "reply_text", "reply_at")


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def mention_fingerprint(m: Mention) -> str:
    """Dedupe key: the site's own id when there is one, else url + author + text.

    Location is deliberately not part of it: the same review reached from two sources
    is one mention.
    """
    if m.external_id:
        return _digest([m.site, m.kind, m.external_id])
    return _digest([m.site, m.kind, m.url, m.author or "", " ".join(m.text.split())])


def mention_content_hash(m: Mention) -> str:
    """Hash of the fields that can change between crawls (see ``MUTABLE_FIELDS``)."""
    parts = []
    for name in MUTABLE_FIELDS:
        value = getattr(m, name)
        parts.append(value.isoformat() if isinstance(value, datetime) else str(value))
    return _digest(parts)


def apply_analysis(m: Mention, a: Any) -> None:
    """Copy an ``nlp.analyze`` result (an ``Analysis``) onto the mention's NLP fields: the
    one mapping the crawl's enrichment stage and ``vocwatch reanalyze`` share."""
    m.language = a.lang
    m.sentiment_label, m.sentiment_score = a.label, a.score
    m.aspects = [{"aspect": x.aspect, "sentiment": x.sentiment, "score": x.score} for x in a.aspects]
    m.keywords = list(a.keywords)
    m.nlp_model = a.model
