"""The store interface every backend satisfies (SQLite embedded, MongoDB for scale).

Methods are blocking; callers on the Twisted reactor run them with ``asyncio.to_thread``.
Writes are idempotent upserts keyed by ``Mention.fingerprint``: writing the same
mention twice stores it once; writing it with a new ``content_hash`` updates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from crawlers.items import Mention

RUN_OUTCOMES = ("running", "finished", "partial", "failed", "interrupted")
KEEP_ON_UPDATE = ("source_id", "location_id", "brand", "crawled_at")
"""Fields an update never overwrites: who found the mention first, and when."""


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class CrawlRun:
    """One crawl of one source: when, how it ended, and its counters.

    ``outcome`` is ``finished`` (clean), ``partial`` (ended but pages failed or items
    were dropped for errors, or cut by its time or memory limit), ``failed`` (crashed or
    closed for an error), ``interrupted`` (stopped by SIGINT/SIGTERM) or ``running``. Only
    ``finished`` runs move the incremental cut-off.
    ``stats`` holds Scrapy's counters plus ``vocwatch/dropped/<reason>`` counts.
    """

    id: int
    source_id: str
    spider: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = "running"
    stats: dict[str, Any] = field(default_factory=dict)


BUCKETS = ("day", "week", "month")
"""Rollup bucket sizes; buckets start at 00:00 UTC (weeks on Monday, months on the 1st)."""
WHOLE_RANGE = "all"
"""The bucket for sums over the whole ``[since, until)`` range (one bucket per group,
labelled with ``since``'s date, or ``""`` without one): what per-window totals need."""
ROLLUP_KEYS = ("location_id", "brand", "source_id", "site", "kind", "language", "sentiment_label", "aspect")
"""What a rollup may be grouped by. ``aspect`` counts aspect mentions: a mention naming
two aspects adds to both, and the sentiment columns then hold the aspect's own sentiment."""


class RollupRow(NamedTuple):
    """Counts and sums of the mentions in one bucket and group: everything a metric needs
    is a sum, so rows of any backend add up (days into windows, sources into locations).
    A named tuple, not a frozen dataclass: a year of day rows for thousands of locations is
    a million rows, and building a tuple costs a fraction of a frozen dataclass's init."""

    bucket: str
    """Bucket start, UTC date ``YYYY-MM-DD``."""
    keys: tuple[str | None, ...]
    """The group's values, in the order of ``group_by``."""
    mentions: int
    rated: int
    """Mentions with a rating."""
    rating_sum: float
    """Sum of normalised 0-5 ratings over the rated mentions."""
    positive: int
    neutral: int
    negative: int
    sentiment_sum: float
    """Sum of sentiment scores (-1..1) over the mentions that have one."""
    scored: int
    """Mentions with a sentiment score."""
    replied: int
    """Mentions with an owner reply."""
    engagement: int
    """Likes + reposts + comments."""


class Store(Protocol):
    url: str

    def upsert_mentions(self, mentions: Sequence[Mention]) -> UpsertResult: ...

    def known_fingerprints(self, source_id: str) -> dict[str, str]:
        """``fingerprint -> content_hash`` of every mention stored from this source."""
        ...

    def iter_mentions(
        self,
        *,
        location_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Mention]: ...

    def count_mentions(self, *, source_id: str | None = None) -> int: ...

    def update_nlp(self, mentions: Sequence[Mention]) -> int:
        """Overwrite only the NLP fields (``NLP_FIELDS``) of these stored mentions, by
        fingerprint; returns how many were found. Content hashes are untouched: the NLP
        fields are derived, not content."""
        ...

    def rollup(
        self,
        *,
        bucket: str = "day",
        group_by: Sequence[str] = ("location_id",),
        since: datetime | None = None,
        until: datetime | None = None,
        location_ids: Iterable[str] | None = None,
    ) -> Iterator[RollupRow]:
        """Sums per (bucket, group) of mentions published in ``[since, until)`` (``bucket``
        one of BUCKETS, or WHOLE_RANGE for one bucket over the whole range), ordered
        by bucket then group; computed by the backend (SQL ``GROUP BY``, Mongo
        ``$group``), streamed, never the mentions themselves."""
        ...

    def start_run(self, source_id: str, spider: str, started_at: datetime) -> int: ...

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, stats: dict[str, Any]) -> None: ...

    def last_successful_run(self, source_id: str) -> CrawlRun | None: ...

    def list_runs(self, *, source_id: str | None = None, outcome: str | None = None, limit: int = 50) -> list[CrawlRun]:
        """Newest first; ``outcome="running"`` finds runs whose process may be gone (the scheduler's janitor)."""
        ...

    def secret(self, name: str) -> bytes:
        """A random per-store secret (created on first use), e.g. the author-pseudonym key."""
        ...

    def close(self) -> None: ...


def is_mongo_url(url: str) -> bool:
    """Whether a store URL names MongoDB (``mongodb://`` or ``mongodb+srv://``); any other
    URL or path is a SQLite file."""
    return url.startswith(("mongodb://", "mongodb+srv://"))


def open_store(url: str) -> Store:
    """Open a store by URL: ``sqlite:///relative.db``, ``sqlite:////abs.db``, a plain
    file path, or ``mongodb://...`` (``mongodb+srv://`` too)."""
    if is_mongo_url(url):
        from crawlers.store.mongo import MongoStore

        return MongoStore(url)
    from crawlers.store.sqlite import SQLiteStore

    return SQLiteStore(url)
