"""The store interface every backend satisfies (SQLite embedded, MongoDB for scale).

Methods are blocking; callers on the Twisted reactor run them with ``asyncio.to_thread``.
Writes are idempotent upserts keyed by ``Mention.fingerprint``: writing the same
mention twice stores it once; writing it with a new ``content_hash`` updates it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from crawlers.items import Mention, mention_fingerprint
from crawlers.store.identities import IdentityTable
from crawlers.store.schedule import ScheduleTable

if TYPE_CHECKING:
    from crawlers.store.alerts import (
        AlertTable,
        AspectHour,
        HourCounts,
        SnapshotTable,
        ViralCandidate,
    )
    from crawlers.store.deliveries import DeliveryTable
    from crawlers.store.workflow import WorkflowTable

RUN_OUTCOMES = ("running", "finished", "partial", "failed", "killed", "interrupted")
KEEP_ON_UPDATE = ("source_id", "location_id", "brand", "crawled_at")
"""Fields an update never overwrites: who found the mention first, and when."""
KEEP_PERMALINK = "permalink"
"""The field an update without a value leaves as stored (a listing that shows no link to a
review must not clear the address its own page gave), and the one field refreshed even when
the content hash is unchanged: it is no part of the hash (a new URL scheme is not an edit),
so the newest address seen is stored without counting the mention as updated."""
KEEP_FULL_TEXT = ("text", "truncated")
"""Fields an update from a snippet leaves alone when the stored mention has its full text
(see :func:`keeps_stored_text`)."""


def keeps_stored_text(incoming: Mention, stored_truncated: bool, stored_text: str) -> bool:
    """Whether an update of a stored mention by ``incoming`` keeps the stored ``text`` and
    ``truncated`` (``KEEP_FULL_TEXT``): when ``incoming`` is a snippet and the stored text is
    a full one. A full text replaces a stored snippet (an ordinary update, its content hash
    differs), a snippet never replaces a full text: a listing read after the review page,
    or an expansion that failed this run, must not cut what was stored. Its other fields
    (likes, reply, rating) still update, and so does its content hash, so the same snippet
    next run is ``already_stored``. Both backends apply this one rule."""
    return bool(incoming.truncated) and not stored_truncated and bool(stored_text)


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class IdMigration:
    """What :meth:`Store.migrate_ids` did (or, with ``dry_run``, would do)."""

    checked: int = 0
    """Stored mentions with a site id (the others' fingerprints do not depend on scopes)."""
    rekeyed: int = 0
    """Given the fingerprint of their source's id scope."""
    merged: int = 0
    """Removed as duplicates of a mention that has (or gets) the same fingerprint."""
    unknown_source: int = 0
    """Left as they are: their source is not in the config, so its scope is unknown."""

    @property
    def unchanged(self) -> int:
        return self.checked - self.rekeyed - self.merged - self.unknown_source


class KeyedRow(NamedTuple):
    """The stored fields a mention's fingerprint is computed from."""

    fingerprint: str
    site: str
    kind: str
    url: str
    external_id: str
    id_scope: str
    source_id: str
    updated_at: str
    """When it was last written (ISO text, comparable): the freshest of duplicates is kept."""


def plan_id_migration(rows: Iterable[KeyedRow], scope_of: Callable[[Mention], str | None],
                      result: IdMigration) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """What re-keying ``rows`` by ``scope_of`` (a stored mention -> its ``id_scope``, or
    None to leave it) takes, shared by every backend: ``moves`` (old fingerprint -> (new
    fingerprint, new id_scope)) and ``deletes`` (fingerprints of duplicates). Of mentions
    that end up with the same fingerprint, the one already holding it is kept, else the
    most recently written. Fills ``result``'s counts."""
    groups: dict[str, list[tuple[KeyedRow, str]]] = {}
    for row in rows:
        result.checked += 1
        m = Mention(site=row.site, kind=row.kind, url=row.url, text="", external_id=row.external_id,
                    id_scope=row.id_scope or "", source_id=row.source_id)
        scope = scope_of(m)
        if scope is None:
            result.unknown_source += 1
            scope = m.id_scope
        m.id_scope = scope
        groups.setdefault(mention_fingerprint(m), []).append((row, scope))
    moves: dict[str, tuple[str, str]] = {}
    deletes: list[str] = []
    for target, members in groups.items():
        members.sort(key=lambda rs: (rs[0].fingerprint == target, rs[0].updated_at or ""), reverse=True)
        (keep, scope), rest = members[0], members[1:]
        if keep.fingerprint != target or (keep.id_scope or "") != scope:
            moves[keep.fingerprint] = (target, scope)
            if keep.fingerprint != target:
                result.rekeyed += 1
        deletes.extend(r.fingerprint for r, _ in rest)
        result.merged += len(rest)
    return moves, deletes


@dataclass(slots=True)
class CrawlRun:
    """One crawl of one source: when, how it ended, and its counters.

    ``outcome`` is ``finished`` (clean), ``partial`` (ended but pages failed or items
    were dropped for errors, or cut by its time or memory limit), ``failed`` (crashed or
    closed for an error), ``killed`` (its crawl process ended without closing it: closed
    later by ``crawlers.stale``), ``interrupted`` (stopped by SIGINT/SIGTERM) or
    ``running``. Only ``finished`` runs move the incremental cut-off. ``stats`` holds
    Scrapy's counters plus ``vocwatch/dropped/<reason>`` counts and the item balance
    ``vocwatch/balance/{read,accounted,unaccounted}`` (``crawlers.stats.balance``); a
    running run's stats name its process (``vocwatch/pid``, ``vocwatch/host``).
    """

    id: int
    source_id: str
    spider: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = "running"
    stats: dict[str, Any] = field(default_factory=dict)


HEALTH_SEVERITIES = ("info", "warning", "critical")


@dataclass(slots=True)
class HealthFinding:
    """One crawl-health problem of one run (``monitor/health.py`` decides them), stored
    with the run: ``crawl_health`` rows keyed by (run, problem)."""

    source_id: str
    problem: str
    """What is wrong: ``no_items``, ``items_drop``, ``fields_lost``, ``error_ratio``,
    ``blocked_ratio``, ``malformed_ratio``, ``no_new``, ``session_expired`` (an account needs a
    new login) or ``sessions_exhausted`` (every account of the site was cooling or expired)."""
    severity: str
    """``info``, ``warning`` or ``critical`` (as alert severities)."""
    message: str
    """One line naming the source and what changed, e.g. ``hotel_reviews source x: fields
    lost since the last run: rating (100% -> 0%)``."""
    details: dict[str, Any] = field(default_factory=dict)
    """The figures behind it (observed, expected, per-field coverage before and after)."""
    run_id: int = 0
    found_at: datetime | None = None
    """When the run that showed it finished (UTC)."""


BUCKETS = ("day", "week", "month")
"""Rollup bucket sizes; buckets start at 00:00 UTC (weeks on Monday, months on the 1st)."""
WHOLE_RANGE = "all"
"""The bucket for sums over the whole ``[since, until)`` range (one bucket per group,
labelled with ``since``'s date, or ``""`` without one): what per-window totals need."""
ROLLUP_KEYS = ("location_id", "brand", "source_id", "site", "kind", "language", "sentiment_label", "aspect", "stars")
"""What a rollup may be grouped by. ``aspect`` counts aspect mentions: a mention naming
two aspects adds to both, and the sentiment columns then hold the aspect's own sentiment.
``stars`` is the normalised rating as a whole star, an int 1-5 (:func:`whole_stars`; None
for unrated mentions): the rating distribution."""


def whole_stars(rating: float | None) -> int | None:
    """The ``stars`` rollup key of a normalised 0-5 rating: rounded half up (4.5 is 5 stars,
    not banker's 4), then held to 1-5 (a 0.2 on a 0-10 scale is still one star). Both
    backends compute exactly this in their query; this is the reference for tests."""
    if rating is None:
        return None
    return max(1, min(5, int(rating + 0.5)))


class RollupRow(NamedTuple):
    """Counts and sums of the mentions in one bucket and group: everything a metric needs
    is a sum, so rows of any backend add up (days into windows, sources into locations).
    A named tuple, not a frozen dataclass: a year of day rows for thousands of locations is
    a million rows, and building a tuple costs a fraction of a frozen dataclass's init."""

    bucket: str
    """Bucket start, UTC date ``YYYY-MM-DD``."""
    keys: tuple[str | int | None, ...]
    """The group's values, in the order of ``group_by`` (text, or an int for ``stars``)."""
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
    truncated: int = 0
    """Mentions whose text is a snippet the page cut (``Mention.truncated``)."""


MAX_QUERY_LIMIT = 1000
"""The most mentions one :meth:`Store.query_mentions` call returns: page with ``offset``."""


@dataclass(frozen=True, slots=True)
class MentionQuery:
    """Which mentions to list (the review inbox, mention exports): every filter is pushed
    down to the backend (SQL ``WHERE``, a Mongo query), newest first. ``None`` = no filter;
    an empty tuple matches nothing (a scope with no location sees no mention)."""

    location_ids: tuple[str, ...] | None = None
    since: datetime | None = None
    """``published_at >= since``."""
    until: datetime | None = None
    """``published_at < until`` (half-open, like every window in vocwatch)."""
    source_ids: tuple[str, ...] | None = None
    sites: tuple[str, ...] | None = None
    sentiments: tuple[str, ...] | None = None
    """``positive`` / ``neutral`` / ``negative``; ``unlabelled`` matches mentions without a label."""
    languages: tuple[str, ...] | None = None
    aspect: str | None = None
    """Mentions naming this aspect (any sentiment); with ``aspect_sentiment``, only that one."""
    aspect_sentiment: str | None = None
    min_rating: float | None = None
    """Normalised 0-5, inclusive; a rating filter excludes unrated mentions."""
    max_rating: float | None = None
    has_reply: bool | None = None
    """The site shows an owner reply (``reply_text``) or not."""
    fingerprints: tuple[str, ...] | None = None
    exclude_fingerprints: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.limit <= MAX_QUERY_LIMIT or self.offset < 0:
            raise ValueError(f"limit must be 0..{MAX_QUERY_LIMIT} and offset >= 0")


class Store(Protocol):
    url: str

    def upsert_mentions(self, mentions: Sequence[Mention]) -> UpsertResult: ...

    def known_fingerprints(self, source_id: str) -> dict[str, str]:
        """``fingerprint -> content_hash`` of every mention stored from this source."""
        ...

    def known_permalinks(self, source_id: str) -> dict[str, str]:
        """``fingerprint -> permalink`` of the mentions stored from this source that have one:
        the dedupe stage lets an unchanged mention through when its address is new (a store
        made before the field, a site that moved its review pages), so the store records it."""
        ...

    def iter_mentions(
        self,
        *,
        location_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Mention]: ...

    def count_mentions(self, *, source_id: str | None = None) -> int: ...

    def query_mentions(self, query: MentionQuery) -> list[Mention]:
        """The mentions matching ``query``, newest ``published_at`` first (then by
        fingerprint, so pages never overlap), ``query.limit`` from ``query.offset``."""
        ...

    def count_matching(self, query: MentionQuery) -> int:
        """How many mentions match ``query`` (limit and offset ignored)."""
        ...

    def get_mention(self, fingerprint: str) -> Mention | None: ...

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

    def start_run(self, source_id: str, spider: str, started_at: datetime,
                  stats: dict[str, Any] | None = None) -> int:
        """A new ``running`` run; ``stats`` are its first (e.g. which process owns it)."""
        ...

    def finish_run(self, run_id: int, finished_at: datetime, outcome: str, stats: dict[str, Any]) -> None: ...

    def last_successful_run(self, source_id: str) -> CrawlRun | None:
        """The newest run that may set the source's incremental cut-off: ``finished`` and
        not recorded with ``vocwatch/cutoff/advanced = 0`` (runs from before that flag
        count by their outcome alone)."""
        ...

    def list_runs(self, *, source_id: str | None = None, outcome: str | None = None, limit: int = 50) -> list[CrawlRun]:
        """Newest first; ``outcome="running"`` finds runs whose process may be gone (the scheduler's janitor)."""
        ...

    def migrate_ids(self, scope_of: Callable[[Mention], str | None], *, dry_run: bool = False) -> IdMigration:
        """Recompute the fingerprint of every stored mention that has a site id, with the
        ``id_scope`` that ``scope_of`` gives it (None: leave it), merging mentions that
        then share a fingerprint (see :func:`plan_id_migration`). Idempotent: a second
        run changes nothing."""
    def record_health(self, run_id: int, findings: Sequence[HealthFinding]) -> None:
        """Store the crawl-health findings of one run, replacing any it had (re-checking a
        run is idempotent)."""
        ...

    def list_health(self, *, source_id: str | None = None, run_id: int | None = None,
                    limit: int = 100) -> list[HealthFinding]:
        """Findings newest run first (by severity within a run)."""
        ...

    def secret(self, name: str) -> bytes:
        """A random per-store secret (created on first use), e.g. the author-pseudonym key."""
        ...

    def close(self) -> None: ...

    # -- schedule state: scale lane
    @property
    def schedule_state(self) -> ScheduleTable:
        """The scheduler's persisted next run times (``crawlers.store.schedule``)."""
        ...

    # -- identities: sessions lane (account and proxy states) --------------------------
    @property
    def identities(self) -> IdentityTable:
        """Accounts' (and proxies') usable / cooling / expired states (``crawlers.store.identities``)."""
        ...

    # -- deliveries: deliveries lane ------------------------------------------------------
    @property
    def deliveries(self) -> DeliveryTable:
        """Alert deliveries and the channels' rate windows (``crawlers.store.deliveries``)."""

    @property
    def workflow(self) -> WorkflowTable:
        """Work items (status, assignee of mentions and alerts) and the audit log (``crawlers.store.workflow``)."""
        ...

    # -- alerts, engagement snapshots, hourly series: alerts lane
    @property
    def alerts(self) -> AlertTable:
        """The alerts, one per incident (``crawlers.store.alerts``)."""
        ...

    @property
    def snapshots(self) -> SnapshotTable:
        """The engagement snapshots the viral detector compares against."""
        ...

    def hour_counts(self, *, since: datetime, until: datetime,
                    location_ids: Iterable[str] | None = None) -> list[HourCounts]:
        """Per location and UTC hour of ``published_at`` in ``[since, until)``: mentions,
        negatives, rated, rating sums and squares; empty hours absent; computed by the
        backend, ordered by location then hour."""
        ...

    def negative_aspect_hours(self, *, since: datetime, until: datetime,
                              location_ids: Iterable[str] | None = None) -> list[AspectHour]:
        """Per location x aspect and UTC hour in ``[since, until)``: the aspect entries
        with a negative sentiment (the aspect's own); computed by the backend."""
        ...

    def viral_candidates(self, *, since: datetime, until: datetime,
                         location_ids: Iterable[str] | None = None) -> list[ViralCandidate]:
        """The mentions published in ``[since, until)`` with their engagement now, by fingerprint."""
        ...


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
