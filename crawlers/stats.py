"""Names of vocwatch's crawl counters, shared by spiders, pipelines, run records and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DROPPED = "vocwatch/dropped/"
"""Prefix of every drop counter: ``vocwatch/dropped/<reason>`` (items and pages)."""
PAGE_DROP = "page_"
"""Reasons of page drops start with this (``page_malformed``, ``page_http_404``, ...): a page
is not an item, so these are not part of an item balance. Every other reason counts items."""
EXTRACTED = "vocwatch/mentions/extracted"
"""Items the spiders handed to the pipelines (``SourceSpider.emit``): what a run read."""
STORE_RESULTS = ("vocwatch/store/inserted", "vocwatch/store/updated", "vocwatch/store/unchanged")
BALANCE = "vocwatch/balance/"
"""``read``, ``accounted`` and ``unaccounted`` of a run, stored with it at close."""
WARNINGS = "vocwatch/warnings/"
ITEM_ERROR = "item_error_"
"""Drop reason prefix of an item a pipeline stage raised on: ``item_error_<stage>``."""
ERROR_PREFIXES = (DROPPED + PAGE_DROP, DROPPED + "store_rejected", DROPPED + ITEM_ERROR, "spider_exceptions/")
"""Counters that make a run partial (``crawlers.extensions.run_outcome``): failed pages,
writes the store refused, items a pipeline stage raised on, callbacks that raised."""
CUTOFF = "vocwatch/cutoff/"
"""Prefix of the evidence a run needs to move its source's incremental cut-off (see
``crawlers.extensions.cutoff_blocker``) and of the verdict recorded with the run:
``vocwatch/cutoff/advanced`` (0/1) and ``vocwatch/cutoff/why_not``."""


def drops(stats: dict[str, Any]) -> dict[str, int]:
    """``reason -> count`` of the drop counters in a stats dict, sorted by reason."""
    return {k.removeprefix(DROPPED): v for k, v in sorted(stats.items()) if k.startswith(DROPPED)}


def error_counts(stats: dict[str, Any]) -> dict[str, int]:
    """``what -> count`` of the counters that make a run partial (``ERROR_PREFIXES``), drop
    reasons without their prefix, sorted by name: what run outcomes and summaries cite."""
    return dict(sorted((k.removeprefix(DROPPED), v) for k, v in stats.items() if k.startswith(ERROR_PREFIXES) and v))


def item_drops(stats: dict[str, Any]) -> dict[str, int]:
    """The drops of items (every reason but ``page_*``), sorted by reason."""
    return {k: v for k, v in drops(stats).items() if not k.startswith(PAGE_DROP)}


def page_drops(stats: dict[str, Any]) -> dict[str, int]:
    """The drops of pages (``page_*`` reasons), sorted by reason."""
    return {k: v for k, v in drops(stats).items() if k.startswith(PAGE_DROP)}


def warnings(stats: dict[str, Any]) -> dict[str, int]:
    """``what -> count`` of ``vocwatch/warnings/...`` counters (items kept, a field given up)."""
    return {k.removeprefix(WARNINGS): v for k, v in sorted(stats.items()) if k.startswith(WARNINGS)}


@dataclass(frozen=True, slots=True)
class Balance:
    """Where every item a run read went: ``read = inserted + updated + unchanged + dropped``."""

    read: int
    inserted: int
    updated: int
    unchanged: int
    dropped: int

    @property
    def accounted(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.dropped

    @property
    def unaccounted(self) -> int:
        """Items read but neither stored nor dropped with a reason (negative: counted twice)."""
        return self.read - self.accounted

    @property
    def closes(self) -> bool:
        return self.unaccounted == 0


def balance(stats: dict[str, Any]) -> Balance:
    """The item balance of a run's counters (live Scrapy stats or a stored run's)."""
    inserted, updated, unchanged = (int(stats.get(k, 0) or 0) for k in STORE_RESULTS)
    return Balance(read=int(stats.get(EXTRACTED, 0) or 0), inserted=inserted, updated=updated,
                   unchanged=unchanged, dropped=sum(int(v or 0) for v in item_drops(stats).values()))
FIELDS = "vocwatch/fields/"
"""Prefix of the field-coverage counters: ``vocwatch/fields/<field>`` counts the mentions
read (``vocwatch/mentions/extracted``) that had the field; crawl health compares the share
with the source's earlier runs, so a redesign that loses a field is noticed."""
COVERAGE_FIELDS = ("text", "published_at", "rating", "author")
"""The fields whose coverage every run records (each key is written, 0 included, so a run
that recorded coverage is told apart from an older one that did not). ``text`` counts full
texts only: a snippet the page cut (``Mention.truncated``) is not one."""
COVERAGE_KINDS = ("rating_only", "truncated")
"""Mentions read that are rating-only (a rating, no words) or snippets, also counted under
``vocwatch/fields/``: crawl health leaves rating-only reviews out of the text coverage
(they are not texts gone missing) and watches their share on its own."""


def has_field(mention: Any, name: str) -> bool:
    """Whether a mention as read has ``name`` (a rating counts when shown raw or normalised;
    a text only when it is whole, not a snippet). ``rating_only`` and ``truncated``
    (``COVERAGE_KINDS``) say whether it is one. Type-checked rather than truthiness: a
    parser may hand over a wrong type, never raise here."""
    if name == "rating":
        return isinstance(getattr(mention, "rating", None), int | float) or isinstance(
            getattr(mention, "rating_raw", None), int | float)
    if name == "rating_only":
        return not has_field(mention, "words") and has_field(mention, "rating")
    if name == "words":  # a text, whole or cut
        text = getattr(mention, "text", None)
        return isinstance(text, str) and bool(text.strip())
    if name == "truncated":
        return getattr(mention, "truncated", False) is True and has_field(mention, "words")
    if name == "text":
        return has_field(mention, "words") and getattr(mention, "truncated", False) is not True
    value = getattr(mention, name, None)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None
