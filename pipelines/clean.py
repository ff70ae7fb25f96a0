"""First stage: every field to its declared type; normalise text, rating and author; enforce
required fields; fingerprint."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, tzinfo

from crawlers.items import (
    MENTION_KINDS,
    REQUIRED_TEXT,
    Mention,
    coerce_fields,
    mention_content_hash,
    mention_fingerprint,
)
from crawlers.processors import clean_text, normalise_rating, plain_text
from pipelines.base import VocwatchPipeline


class CleanPipeline(VocwatchPipeline):
    _author_hmac: hmac.HMAC | None = None
    """The HMAC keyed once per crawl: each pseudonym is a copy of it fed one name (a third of
    the time of keying a new one per mention; ``hmac.digest`` is slower still here)."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.pseudonymise = crawler.settings.getbool("VOCWATCH_PSEUDONYMISE_AUTHORS", True)

    def author_pseudonym(self, site: str, author: str) -> str:
        """``u_`` + 16 hex chars of an HMAC keyed by a per-store secret: stable across
        crawls (repeat authors stay countable), not reversible by hashing guessed names."""
        if self._author_hmac is None:
            self._author_hmac = hmac.new(self.store.secret("author_pseudonym"), digestmod=hashlib.sha256)
        h = self._author_hmac.copy()
        h.update(f"{site}\x1f{author}".encode())
        return "u_" + h.hexdigest()[:16]

    @property
    def tz(self) -> tzinfo:
        """The source's zone, for a naive datetime a spider handed over."""
        return getattr(self.crawler.spider, "tz", None) or UTC

    def process_item(self, item: Mention) -> Mention:
        if not isinstance(item, Mention):
            raise self.drop("not_a_mention", item, type(item).__name__)
        # a spider may hand over any JSON type where a name or a date belongs: a field that
        # cannot be made its declared type is set aside (counted), and only a mention
        # without a usable text/url/kind is dropped
        given_up, fatal = coerce_fields(item, self.tz)
        # what the page object already had to empty counts the same way (crawlers.items.Mention.fields_given_up)
        fatal += [name for name in item.fields_given_up if name in REQUIRED_TEXT and name not in fatal]
        given_up += [name for name in item.fields_given_up if name not in REQUIRED_TEXT and name not in given_up]
        if fatal:
            raise self.drop(f"bad_field_{fatal[0]}", item)
        for name in given_up:
            self.stats.inc_value(f"vocwatch/warnings/bad_field/{name}")
        if not item.url:
            raise self.drop("missing_url", item)
        if item.kind not in MENTION_KINDS:
            raise self.drop("bad_kind", item, item.kind)
        # page objects hand on text as a reader sees it (their HTML already laid out), so
        # only spacing is tidied here: a user's own "a<b and c>d" or "<iostream>" stays whole
        item.text = plain_text(item.text)
        if item.rating is None and item.rating_raw is not None:
            item.rating = normalise_rating(item.rating_raw, item.rating_scale)
            if item.rating is None:
                self.stats.inc_value("vocwatch/warnings/bad_rating")
        if not item.text:
            if item.rating is None:  # neither words nor stars: nothing to count
                raise self.drop("missing_text", item)
            self.stats.inc_value("vocwatch/rating_only")
            item.truncated = False  # no words: nothing was cut
        elif item.truncated:
            self.stats.inc_value("vocwatch/truncated")  # kept, but a snippet: not the whole text
        item.title = clean_text(item.title) or None
        item.reply_text = clean_text(item.reply_text) or None
        item.quoted = plain_text(item.quoted) or None  # laid out by the page object, like text
        item.author_region = clean_text(item.author_region) or None
        item.variant = clean_text(item.variant) or None
        author = " ".join((item.author or "").split())
        if author and self.pseudonymise:
            author = self.author_pseudonym(item.site, author)
        item.author = author or None
        if item.published_at is None:
            self.stats.inc_value("vocwatch/warnings/no_date")
        if item.crawled_at is None:
            item.crawled_at = datetime.now(UTC)
        item.fingerprint = mention_fingerprint(item)
        item.content_hash = mention_content_hash(item)
        return item
