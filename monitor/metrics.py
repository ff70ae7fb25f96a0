"""Metrics per location and window, and the benchmark of own locations against their sets.

Every number is built from :meth:`Store.rollup` sums (the backend aggregates; mentions
are never loaded), so a benchmark of thousands of locations is a handful of queries plus
arithmetic. The formulas are the pure functions at the top of this module, each one
documented in docs/analysis.md "Metrics"; the store-facing code below only adds rows up.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from config import Config, Location
from crawlers.store import Store
from crawlers.store.base import WHOLE_RANGE, RollupRow
from monitor.compset import competitive_sets

PRIOR_WEIGHT = 10
"""m: the Bayesian rating counts the prior as this many reviews."""
MIN_REVIEWS = 10
"""k: fewer mentions than this in a window and the reputation index is None."""
HALF_LIFE_DAYS = 30.0
"""A mention this many days old weighs half as much in the reputation index."""
RATING_SHARE = 0.7
"""Weight of the rating in the reputation index; net sentiment gets the rest."""
MIN_ASPECT_MENTIONS = 5
"""An aspect is compared with the set only with this many mentions on both sides."""
WEAKEST_ASPECTS = 3
TREND_LOOKBACK_DAYS = 90
"""Each trend point's reputation index covers the 90 days up to the end of its bucket."""
MAX_WINDOW_DAYS = 3660
_WINDOW = re.compile(r"(\d+)([dwmy])")
_WINDOW_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


# -- formulas (pure) -------------------------------------------------------------------
def parse_window(text: str) -> timedelta:
    """``30d``, ``12w``, ``6m`` (months of 30 days: 180d) or ``1y`` (365d) as a timedelta.

    Windows are whole days because metrics add up UTC-day rollup buckets."""
    m = _WINDOW.fullmatch(text.strip().lower())
    if not m:
        raise ValueError(f"bad window {text!r}: use a positive whole number of days, weeks, months "
                         "or years, e.g. 30d, 12w, 6m or 1y")
    days = int(m.group(1)) * _WINDOW_DAYS[m.group(2)]
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValueError(f"bad window {text!r}: must be between 1 day and {MAX_WINDOW_DAYS // 365} years")
    return timedelta(days=days)


def mean_rating(rating_sum: float, rated: int) -> float | None:
    """Average normalised rating (0-5) of the rated mentions."""
    return rating_sum / rated if rated else None


def bayesian_rating(rating_sum: float, rated: int, prior: float | None, weight: float = PRIOR_WEIGHT) -> float | None:
    """``(prior * m + sum) / (m + n)``: few reviews stay near the prior, many speak for themselves."""
    if prior is None:
        return mean_rating(rating_sum, rated)
    return (prior * weight + rating_sum) / (weight + rated)


def net_sentiment(positive: float, negative: float) -> float | None:
    """``(pos - neg) / (pos + neg)`` in [-1, 1]; neutral mentions do not dilute it."""
    return (positive - negative) / (positive + negative) if positive + negative else None


def response_rate(replied: int, mentions: int) -> float | None:
    """Share of mentions with an owner reply."""
    return replied / mentions if mentions else None


def decay_weight(age_days: float, half_life: float = HALF_LIFE_DAYS) -> float:
    """``0.5 ** (age / half_life)``: today's mentions weigh 1, a half-life ago 0.5."""
    return 0.5 ** (age_days / half_life)


@dataclass(slots=True)
class Sums:
    """The additive part of a rollup row: days add into windows, sources into locations."""

    mentions: int = 0
    rated: int = 0
    rating_sum: float = 0.0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    replied: int = 0
    engagement: int = 0

    def add(self, row: RollupRow | Sums) -> None:
        self.mentions += row.mentions
        self.rated += row.rated
        self.rating_sum += row.rating_sum
        self.positive += row.positive
        self.neutral += row.neutral
        self.negative += row.negative
        self.replied += row.replied
        self.engagement += row.engagement


def total(rows: Iterable[RollupRow | Sums]) -> Sums:
    s = Sums()
    for r in rows:
        s.add(r)
    return s


def reputation_index(buckets: Iterable[tuple[float, RollupRow | Sums]], *, min_reviews: int = MIN_REVIEWS,
                     half_life: float = HALF_LIFE_DAYS) -> float | None:
    """Recency-weighted reputation on 0-100 from ``(age in days, sums)`` pairs.

    ``100 * (0.7 * R / 5 + 0.3 * (S + 1) / 2)`` where R is the decay-weighted mean rating and
    S the decay-weighted net sentiment (either alone when the other is missing). None below
    ``min_reviews`` mentions: a handful of reviews is noise, not reputation."""
    n = 0
    w_rated = w_rating = w_pos = w_neg = 0.0
    for age, s in buckets:
        w = decay_weight(age, half_life)
        n += s.mentions
        w_rated += w * s.rated
        w_rating += w * s.rating_sum
        w_pos += w * s.positive
        w_neg += w * s.negative
    if n < min_reviews:
        return None
    rating = w_rating / w_rated / 5 if w_rated else None
    net = net_sentiment(w_pos, w_neg)
    sentiment = None if net is None else (net + 1) / 2
    if rating is None and sentiment is None:
        return None
    if rating is None or sentiment is None:
        return 100 * (rating if sentiment is None else sentiment)  # type: ignore[operator]
    return 100 * (RATING_SHARE * rating + (1 - RATING_SHARE) * sentiment)


def comp_index(own: float | None, set_value: float | None) -> float | None:
    """``own / set * 100``: 100 = on par with the set, 110 = 10 % better."""
    return None if own is None or not set_value else own / set_value * 100


def review_share(own_mentions: int, set_mentions: int) -> float | None:
    """``own / (own + set)`` mentions: the location's share of the conversation."""
    return own_mentions / (own_mentions + set_mentions) if own_mentions + set_mentions else None


def rank_in_set(own: float | None, others: Iterable[float | None]) -> tuple[int | None, int]:
    """(1-based rank of ``own`` among itself and ``others``, highest first; ties share the
    better rank, how many were ranked). Missing values are not ranked."""
    ranked = [o for o in others if o is not None]
    if own is None:
        return None, len(ranked)
    return 1 + sum(o > own for o in ranked), len(ranked) + 1


@dataclass(frozen=True, slots=True)
class AspectScore:
    aspect: str
    mentions: int
    positive: int
    negative: int
    net_sentiment: float | None


@dataclass(frozen=True, slots=True)
class AspectGap:
    aspect: str
    own_net_sentiment: float
    set_net_sentiment: float
    gap: float
    """own - set: negative where the location trails its set."""
    own_mentions: int
    set_mentions: int


def aspect_scores(by_aspect: dict[str, Sums]) -> list[AspectScore]:
    """Net sentiment and mention count per aspect, most mentioned first."""
    return sorted((AspectScore(a, s.mentions, s.positive, s.negative, net_sentiment(s.positive, s.negative))
                   for a, s in by_aspect.items()), key=lambda x: (-x.mentions, x.aspect))


def weakest_aspects(own: dict[str, Sums], rivals: dict[str, Sums], *, min_mentions: int = MIN_ASPECT_MENTIONS,
                    limit: int = WEAKEST_ASPECTS) -> list[AspectGap]:
    """The aspects where the location trails its set most (largest negative gap in net
    sentiment), among aspects with ``min_mentions`` on both sides."""
    gaps = []
    for aspect, o in own.items():
        r = rivals.get(aspect)
        if r is None or o.mentions < min_mentions or r.mentions < min_mentions:
            continue
        on, rn = net_sentiment(o.positive, o.negative), net_sentiment(r.positive, r.negative)
        if on is not None and rn is not None and on < rn:
            gaps.append(AspectGap(aspect, on, rn, on - rn, o.mentions, r.mentions))
    return sorted(gaps, key=lambda g: (g.gap, g.aspect))[:limit]


@dataclass(frozen=True, slots=True)
class SiteFigures:
    """One location's (or the pooled set's) figures on one site."""

    mentions: int
    rated: int
    avg_rating: float | None
    bayes_rating: float | None
    """Shrunk towards the site's pooled mean (own and set), as in :func:`bayesian_rating`:
    three 5-star reviews on a small site do not top a rival with three hundred 4.6s."""
    net_sentiment: float | None
    response_rate: float | None


def site_figures(s: Sums, prior: float | None) -> SiteFigures:
    return SiteFigures(s.mentions, s.rated, mean_rating(s.rating_sum, s.rated), bayesian_rating(s.rating_sum, s.rated, prior)
                       if s.rated else None, net_sentiment(s.positive, s.negative), response_rate(s.replied, s.mentions))


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


@dataclass(frozen=True, slots=True)
class PlatformScore:
    """One site (the ``site`` of the mentions: a review platform, a forum, a social site):
    the location against the members of its set that have mentions there."""

    site: str
    own: SiteFigures
    set: SiteFigures
    """The set members on this site, pooled (every review counts once)."""
    members: int
    """Set members with mentions on this site."""
    rank: int | None
    """Among the location and those members, highest first (ties share the better rank)."""
    rank_of: int
    rank_by: str
    """``bayes_rating`` where anyone on the site has ratings, else ``net_sentiment``."""
    gap_rating: float | None
    """own - set mean rating on this site: negative where the location trails."""
    gap_net_sentiment: float | None
    gap_response_rate: float | None
    review_share: float | None
    """The location's share of this site's mentions (own / (own + set))."""


def _site_value(s: Sums, by: str, prior: float | None) -> float | None:
    if by == "bayes_rating":
        return bayesian_rating(s.rating_sum, s.rated, prior) if s.rated else None
    return net_sentiment(s.positive, s.negative)


def platform_scores(own: dict[str, Sums], members: Iterable[dict[str, Sums]]) -> list[PlatformScore]:
    """Per site where the location or a set member has mentions: own vs the pooled members
    on that site, and the location's rank among them. The location's busiest sites first,
    then the sites where only rivals are talked about (where the location is missing)."""
    rivals = list(members)
    out = []
    for site in sorted(set(own).union(*rivals)):
        o = own.get(site, Sums())
        on_site = [m[site] for m in rivals if m.get(site) and m[site].mentions]
        pooled = total(on_site)
        everyone = total([o, pooled])
        prior = mean_rating(everyone.rating_sum, everyone.rated)
        mine, theirs = site_figures(o, prior), site_figures(pooled, prior)
        by = "bayes_rating" if everyone.rated else "net_sentiment"
        rank, rank_of = rank_in_set(_site_value(o, by, prior) if o.mentions else None,
                                    (_site_value(m, by, prior) for m in on_site))
        out.append(PlatformScore(
            site=site, own=mine, set=theirs, members=len(on_site), rank=rank, rank_of=rank_of, rank_by=by,
            gap_rating=_gap(mine.avg_rating, theirs.avg_rating), gap_net_sentiment=_gap(mine.net_sentiment, theirs.net_sentiment),
            gap_response_rate=_gap(mine.response_rate, theirs.response_rate),
            review_share=review_share(o.mentions, pooled.mentions) if on_site else None))
    return sorted(out, key=lambda p: (-p.own.mentions, -p.set.mentions, p.site))


STARS = (1, 2, 3, 4, 5)


@dataclass(frozen=True, slots=True)
class StarShare:
    stars: int
    own: int
    own_share: float | None
    """Of the location's rated mentions."""
    set: int
    set_share: float | None
    """Of the set's rated mentions, pooled."""


@dataclass(frozen=True, slots=True)
class RatingDistribution:
    """How many mentions gave each whole star (the ``stars`` rollup key), own vs the set."""

    stars: tuple[StarShare, ...]
    """One per star, 1 to 5."""
    own_rated: int
    own_unrated: int
    set_rated: int
    set_unrated: int


def rating_distribution(own: dict[int | None, int], rivals: dict[int | None, int]) -> RatingDistribution:
    """Counts by whole star (None = unrated) to shares of the rated mentions per side."""
    own_rated = sum(n for k, n in own.items() if k is not None)
    set_rated = sum(n for k, n in rivals.items() if k is not None)
    return RatingDistribution(
        stars=tuple(StarShare(k, own.get(k, 0), own.get(k, 0) / own_rated if own_rated else None,
                              rivals.get(k, 0), rivals.get(k, 0) / set_rated if set_rated else None) for k in STARS),
        own_rated=own_rated, own_unrated=own.get(None, 0), set_rated=set_rated, set_unrated=rivals.get(None, 0))


# -- results ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WindowMetrics:
    """One location's metrics over one window ``[start, end)``."""

    start: datetime
    end: datetime
    mentions: int
    rated: int
    avg_rating: float | None
    bayes_rating: float | None
    net_sentiment: float | None
    positive: int
    neutral: int
    negative: int
    response_rate: float | None
    engagement: int
    reputation_index: float | None
    index_note: str | None = None
    """Why the index is None, e.g. ``too few reviews (n < 10)``."""
    aspects: tuple[AspectScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = _plain(asdict(self))
        d["start"], d["end"] = _iso(self.start), _iso(self.end)
        return d


@dataclass(frozen=True, slots=True)
class SetMember:
    location: Location
    distance_km: float
    metrics: WindowMetrics


@dataclass(frozen=True, slots=True)
class SetAverages:
    """The competitive set as one: pooled sums (every review counts once), and the plain
    mean of the members' reputation indices (every rival counts once)."""

    members: int
    mentions: int
    avg_rating: float | None
    net_sentiment: float | None
    response_rate: float | None
    reputation_index: float | None


_DELTA_FIELDS = ("mentions", "avg_rating", "bayes_rating", "net_sentiment", "response_rate", "reputation_index")


@dataclass(frozen=True, slots=True)
class LocationBenchmark:
    location: Location
    window: str
    current: WindowMetrics
    previous: WindowMetrics
    prior_rating: float | None
    """The Bayesian prior used: the set's mean rating, or all locations' when the set is thin."""
    members: list[SetMember]
    set_avg: SetAverages
    comp_index_rating: float | None
    comp_index_reputation: float | None
    review_share: float | None
    rank: int | None
    rank_of: int
    weakest_aspects: list[AspectGap] = field(default_factory=list)
    set_aspects: tuple[AspectScore, ...] = ()
    """Net sentiment per aspect of the set pooled, beside ``current.aspects``."""
    platforms: tuple[PlatformScore, ...] = ()
    """Per site, over the current window: own vs the set members on that site."""
    rating_distribution: RatingDistribution = field(default_factory=lambda: rating_distribution({}, {}))
    """Whole stars over the current window, own vs the set pooled."""

    @property
    def deltas(self) -> dict[str, float | None]:
        """Current minus previous window, per headline metric."""
        out: dict[str, float | None] = {}
        for name in _DELTA_FIELDS:
            a, b = getattr(self.current, name), getattr(self.previous, name)
            out[name] = None if a is None or b is None else a - b
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (datetimes as ISO text), for ``--format json`` and the dashboard."""
        loc = self.location
        return _plain({
            "location": _location_dict(loc),
            "window": self.window,
            "current": self.current.to_dict(),
            "previous": self.previous.to_dict(),
            "deltas": self.deltas,
            "prior_rating": self.prior_rating,
            "set": [{**_location_dict(m.location), "distance_km": round(m.distance_km, 3),
                     "metrics": m.metrics.to_dict()} for m in self.members],
            "set_avg": asdict(self.set_avg),
            "comp_index_rating": self.comp_index_rating,
            "comp_index_reputation": self.comp_index_reputation,
            "review_share": self.review_share,
            "rank": self.rank,
            "rank_of": self.rank_of,
            "weakest_aspects": [asdict(g) for g in self.weakest_aspects],
            "set_aspects": [asdict(a) for a in self.set_aspects],
            "platforms": [asdict(p) for p in self.platforms],
            "rating_distribution": asdict(self.rating_distribution),
        })


def _plain(x: Any) -> Any:
    """Tuples as lists, all the way down: what ``json.loads`` would give back."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


def _location_dict(loc: Location) -> dict[str, Any]:
    return {"id": loc.id, "name": loc.name, "brand": loc.brand, "category": loc.category, "region": loc.region,
            "price_tier": loc.price_tier, "stars": loc.stars}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- store access ----------------------------------------------------------------------
_PRIOR_CACHE_ENTRIES = 64
"""Global priors kept per store (one per window length and day in use)."""
PRIOR_MAX_STALE_SECONDS = 300.0
"""How long a global prior is reused after new mentions arrived. Crawls write every second or
so, so a prior that every write made stale would be read again (a rollup over every location,
~0.3 s at 4,000 locations) on every dashboard request during a crawl; a mean over a whole
window of every location moves by a hair in five minutes. 0 = re-read after any write."""
_prior_cache: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[Any, float, dict[bool, Sums]]]] = (
    weakref.WeakKeyDictionary())
_monotonic = time.monotonic
_prior_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime
    end: datetime
    last_day: date
    """The window's last UTC day: ages are counted from it."""


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass an aware UTC time")
    return now.astimezone(UTC)


def _windows(now: datetime, length: timedelta) -> tuple[_Window, _Window]:
    """The current window (today, UTC, and the days before it) and the one before it."""
    today = now.date()
    start = _midnight(today) - (length - timedelta(days=1))
    current = _Window(start, now, today)
    previous = _Window(start - length, start, start.date() - timedelta(days=1))
    return current, previous


def _rows(store: Store, ids: set[str], **kw: Any) -> Iterator[RollupRow]:
    """Rollup rows of these locations (``location_id`` first in ``group_by``)."""
    # every id goes to the store however many: the backend joins them (SQLite a temporary
    # table, Mongo an indexed $in), so the cost follows the rows selected, not the table
    for r in store.rollup(location_ids=sorted(ids), **kw):
        if r.keys[0] in ids:
            yield r


def _age(bucket: str, last_day: date) -> int:
    return (last_day - date.fromisoformat(bucket)).days


DAY_RESOLUTION_DAYS = 120
"""Reputation weights need a mention's age to the day only while the weight matters: after
four half-lives (120 days) it is below 6%, so older parts of a long window are read in week
buckets (age taken at mid-week), which keeps a year's benchmark to a third of the rows."""


def _aged_rows(store: Store, ids: set[str], w: _Window) -> Iterator[tuple[float, RollupRow]]:
    """``(age in days at the window's last day, rollup row by location)`` over window ``w``."""
    split = max(w.start, _midnight(w.last_day) - timedelta(days=DAY_RESOLUTION_DAYS - 1))
    ages: dict[str, float] = {}  # per bucket, not per row: thousands of locations share each bucket
    if split > w.start:
        for r in _rows(store, ids, bucket="week", group_by=("location_id",), since=w.start, until=split):
            if (age := ages.get(r.bucket)) is None:
                middle = min(date.fromisoformat(r.bucket) + timedelta(days=3), split.date() - timedelta(days=1))
                age = ages[r.bucket] = float((w.last_day - max(middle, w.start.date())).days)
            yield age, r
    ages = {}
    for r in _rows(store, ids, bucket="day", group_by=("location_id",), since=split, until=w.end):
        if (age := ages.get(r.bucket)) is None:
            age = ages[r.bucket] = float(_age(r.bucket, w.last_day))
        yield age, r


def _metrics(w: _Window, s: Sums, index: float | None, prior: float | None,
             aspects: tuple[AspectScore, ...] = ()) -> WindowMetrics:
    note = None
    if index is None:
        note = f"too few reviews (n < {MIN_REVIEWS})" if s.mentions < MIN_REVIEWS else "no ratings or sentiment"
    return WindowMetrics(
        start=w.start, end=w.end, mentions=s.mentions, rated=s.rated, avg_rating=mean_rating(s.rating_sum, s.rated),
        bayes_rating=bayesian_rating(s.rating_sum, s.rated, prior), net_sentiment=net_sentiment(s.positive, s.negative),
        positive=s.positive, neutral=s.neutral, negative=s.negative, response_rate=response_rate(s.replied, s.mentions),
        engagement=s.engagement, reputation_index=index, index_note=note, aspects=aspects,
    )


def _prior(members: Iterable[Sums], everyone: Sums | Callable[[], Sums]) -> float | None:
    """The set's mean rating when the set has at least ``PRIOR_WEIGHT`` ratings, else all
    locations' (``everyone``, or a function giving it: called only for a thin set)."""
    s = total(members)
    if s.rated >= PRIOR_WEIGHT:
        return mean_rating(s.rating_sum, s.rated)
    e = everyone() if callable(everyone) else everyone
    return mean_rating(e.rating_sum, e.rated)


def _everyone(store: Store, cur: _Window, prev: _Window) -> dict[bool, Sums]:
    """Every location's sums in the current (True) and previous (False) window, for the
    fallback prior: a rollup over the whole table, so it is cached.

    It covers whole UTC days, the previous window's first to the current one's last
    (today), so it is a function of the stored mentions and the window's days only; the
    cache keys on exactly that: the store object (a weak key: another store, even on the
    same file, never sees this one's entries) and the days; an entry holds the store's
    :meth:`Store.data_version` it was read at (moved by every write, from any process) and
    is read again once that moved and the entry is older than
    :data:`PRIOR_MAX_STALE_SECONDS`. A store without ``data_version`` is never cached."""
    version = getattr(store, "data_version", None)
    token = version() if callable(version) else None
    key = (prev.start, cur.start, cur.last_day)
    if token is not None:
        with _prior_lock:
            hit = _prior_cache.get(store, {}).get(key)
        if hit is not None and (hit[0] == token or _monotonic() - hit[1] < PRIOR_MAX_STALE_SECONDS):
            return hit[2]
    cur_first = cur.start.date().isoformat()
    out = {True: Sums(), False: Sums()}
    for r in store.rollup(bucket="day", group_by=(), since=prev.start, until=_midnight(cur.last_day + timedelta(days=1))):
        out[r.bucket >= cur_first].add(r)
    if token is not None:
        with _prior_lock:
            entries = _prior_cache.setdefault(store, {})
            entries.pop(key, None)  # re-inserted last: the oldest entry goes first
            entries[key] = (token, _monotonic(), out)
            while len(entries) > _PRIOR_CACHE_ENTRIES:
                del entries[next(iter(entries))]
    return out


def own_location_ids(config: Config, location_ids: Iterable[str] | None) -> list[str]:
    """The own locations asked for (all by default); unknown or competitor ids raise ValueError."""
    if location_ids is None:
        return [loc.id for loc in sorted(config.own_locations(), key=lambda loc: (loc.region, loc.category, loc.id))]
    ids = list(dict.fromkeys(location_ids))
    for lid in ids:
        if lid not in config.locations:
            raise ValueError(f"unknown location id {lid!r}")
        if not config.locations[lid].is_own:
            raise ValueError(f"{lid!r} is a competitor location; benchmarks are for own locations")
    return ids


def involved_locations(config: Config, location_ids: Iterable[str] | None
                       ) -> tuple[list[str], dict[str, list[tuple[Location, float]]], set[str]]:
    """The own locations asked for (see :func:`own_location_ids`), their competitive sets, and
    every location either names: what a benchmark, trend or portfolio reads rollups of."""
    own_ids = own_location_ids(config, location_ids)
    sets = competitive_sets(config, own_ids)
    return own_ids, sets, set(own_ids) | {m.id for members in sets.values() for m, _ in members}


def benchmark(config: Config, store: Store, *, location_ids: Iterable[str] | None = None, window: str = "90d",
              now: datetime | None = None) -> list[LocationBenchmark]:
    """One benchmark per own location (all by default): metrics for the window and the one
    before it, against the competitive set. Rollup queries over the locations involved (own
    ones and their sets): days by location per window (one more per window beyond 120 days,
    for its weeks), aspects by location, and sites and whole stars by location (the per-site
    comparison and the rating distribution both add up from that one); plus one over every
    location for the fallback prior, only if a set is thin, and cached (:func:`_everyone`)."""
    length = parse_window(window)
    now = _now(now)
    own_ids, sets, involved = involved_locations(config, location_ids)
    cur, prev = _windows(now, length)

    days: dict[str, dict[bool, list[tuple[float, RollupRow]]]] = defaultdict(lambda: {True: [], False: []})
    for is_cur, w in ((True, cur), (False, prev)):
        for age, r in _aged_rows(store, involved, w):
            days[r.keys[0]][is_cur].append((age, r))  # type: ignore[index]
    everyone: dict[bool, Sums] = {}

    def everyone_in(is_cur: bool) -> Sums:
        """All locations' sums: read (or taken from the cache) only when a set is thin."""
        if not everyone:
            everyone.update(_everyone(store, cur, prev))
        return everyone[is_cur]

    aspects: dict[str, dict[str, Sums]] = defaultdict(lambda: defaultdict(Sums))
    for r in _rows(store, involved, bucket=WHOLE_RANGE, group_by=("location_id", "aspect"), since=cur.start, until=now):
        if r.keys[1] is not None:
            aspects[r.keys[0]][r.keys[1]].add(r)  # type: ignore[index]
    sites: dict[str, dict[str, Sums]] = defaultdict(lambda: defaultdict(Sums))
    stars: dict[str, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    for r in _rows(store, involved, bucket=WHOLE_RANGE, group_by=("location_id", "site", "stars"), since=cur.start,
                   until=now):
        sites[r.keys[0]][str(r.keys[1] or "-")].add(r)  # type: ignore[index]
        stars[r.keys[0]][r.keys[2]] += r.mentions  # type: ignore[index]

    sums = {(lid, c): total(r for _, r in days[lid][c]) for lid in involved for c in (True, False)}
    index = {(lid, c): reputation_index(days[lid][c]) for lid in involved for c in (True, False)}
    out = []
    for lid in own_ids:
        members = sets[lid]
        priors = {c: _prior((sums[(m.id, c)] for m, _ in members), partial(everyone_in, c)) for c in (True, False)}
        set_aspects: dict[str, Sums] = defaultdict(Sums)
        for m, _ in members:
            for a, s in aspects[m.id].items():
                set_aspects[a].add(s)
        set_stars: dict[int | None, int] = defaultdict(int)
        for m, _ in members:
            for k, n in stars[m.id].items():
                set_stars[k] += n
        current = _metrics(cur, sums[(lid, True)], index[(lid, True)], priors[True], tuple(aspect_scores(aspects[lid])))
        previous = _metrics(prev, sums[(lid, False)], index[(lid, False)], priors[False])
        rivals = [SetMember(m, km, _metrics(cur, sums[(m.id, True)], index[(m.id, True)], priors[True]))
                  for m, km in members]
        pooled = total(sums[(m.id, True)] for m, _ in members)
        indices = [r.metrics.reputation_index for r in rivals if r.metrics.reputation_index is not None]
        set_avg = SetAverages(
            members=len(rivals), mentions=pooled.mentions, avg_rating=mean_rating(pooled.rating_sum, pooled.rated),
            net_sentiment=net_sentiment(pooled.positive, pooled.negative),
            response_rate=response_rate(pooled.replied, pooled.mentions),
            reputation_index=sum(indices) / len(indices) if indices else None,
        )
        rank, rank_of = rank_in_set(current.reputation_index, (r.metrics.reputation_index for r in rivals))
        out.append(LocationBenchmark(
            location=config.locations[lid], window=window, current=current, previous=previous,
            prior_rating=priors[True], members=rivals, set_avg=set_avg,
            comp_index_rating=comp_index(current.avg_rating, set_avg.avg_rating),
            comp_index_reputation=comp_index(current.reputation_index, set_avg.reputation_index),
            review_share=review_share(current.mentions, pooled.mentions) if rivals else None,
            rank=rank, rank_of=rank_of, weakest_aspects=weakest_aspects(aspects[lid], set_aspects),
            set_aspects=tuple(aspect_scores(set_aspects)),
            platforms=tuple(platform_scores(sites[lid], (sites[m.id] for m, _ in members))),
            rating_distribution=rating_distribution(stars[lid], set_stars),
        ))
    return out


# -- trends ----------------------------------------------------------------------------
def _bucket_start(d: date, bucket: str) -> date:
    if bucket == "week":
        return d - timedelta(days=d.weekday())
    if bucket == "month":
        return d.replace(day=1)
    return d


def _next_bucket(d: date, bucket: str) -> date:
    if bucket == "month":
        return date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return d + timedelta(days=7 if bucket == "week" else 1)


def _bucket_starts(today: date, length: timedelta, bucket: str) -> list[date]:
    """Every bucket start from the one holding the window's first day to today's."""
    starts = [_bucket_start(today - (length - timedelta(days=1)), bucket)]
    while (nxt := _next_bucket(starts[-1], bucket)) <= today:
        starts.append(nxt)
    return starts


def trends(config: Config, store: Store, location_ids: Iterable[str], *, bucket: str = "week",
           window: str = "365d", now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """:func:`trend` for many own locations with one rollup query."""
    if bucket not in ("day", "week", "month"):
        raise ValueError(f"unknown bucket {bucket!r}; one of day, week, month")
    length = parse_window(window)
    now = _now(now)
    own_ids, sets, involved = involved_locations(config, location_ids)
    today = now.date()
    starts = _bucket_starts(today, length, bucket)
    first = starts[0]
    since = _midnight(first) - timedelta(days=TREND_LOOKBACK_DAYS)
    by_loc: dict[str, dict[date, RollupRow]] = defaultdict(dict)
    for r in _rows(store, involved, bucket=bucket, group_by=("location_id",), since=since, until=now):
        by_loc[r.keys[0]][date.fromisoformat(r.bucket)] = r  # type: ignore[index]

    index_cache: dict[tuple[str, date], float | None] = {}
    dated: dict[str, tuple[list[date], list[RollupRow]]] = {}

    def index_at(lid: str, start: date) -> float | None:
        """The index over the lookback ending on the last day of the bucket at ``start``:
        the buckets in it found by bisection (the rollup gives them in date order), so a
        point costs the lookback's rows, not the location's whole history."""
        key = (lid, start)
        if key not in index_cache:
            last = min(_next_bucket(start, bucket), today + timedelta(days=1)) - timedelta(days=1)
            if lid not in dated:
                dated[lid] = (list(by_loc[lid]), list(by_loc[lid].values()))
            days, rows = dated[lid]
            lo = bisect_left(days, last - timedelta(days=TREND_LOOKBACK_DAYS - 1))
            hi = bisect_right(days, last)
            index_cache[key] = reputation_index(((last - days[i]).days, rows[i]) for i in range(lo, hi))
        return index_cache[key]

    empty = Sums()
    out: dict[str, list[dict[str, Any]]] = {}
    for lid in own_ids:
        member_ids = [m.id for m, _ in sets[lid]]
        points = []
        for b in starts:
            own = by_loc[lid].get(b, empty)
            pooled = total(by_loc[m].get(b, empty) for m in member_ids)
            indices = [i for m in member_ids if (i := index_at(m, b)) is not None]
            points.append({
                "bucket": b.isoformat(),
                "own_mentions": own.mentions,
                "own_rating": mean_rating(own.rating_sum, own.rated),
                "own_net_sentiment": net_sentiment(own.positive, own.negative),
                "own_index": index_at(lid, b),
                "set_mentions": pooled.mentions,
                "set_rating": mean_rating(pooled.rating_sum, pooled.rated),
                "set_net_sentiment": net_sentiment(pooled.positive, pooled.negative),
                "set_index": sum(indices) / len(indices) if indices else None,
            })
        out[lid] = points
    return out


def trend(config: Config, store: Store, location_id: str, *, bucket: str = "week", window: str = "365d",
          now: datetime | None = None) -> list[dict[str, Any]]:
    """Per bucket over the window, oldest first: the location's mentions, rating, net
    sentiment and reputation index (over the 90 days to the bucket's end) beside its set's."""
    return trends(config, store, [location_id], bucket=bucket, window=window, now=now)[location_id]


def aspect_trend(config: Config, store: Store, location_id: str, *, bucket: str = "week", window: str = "365d",
                 now: datetime | None = None) -> list[dict[str, Any]]:
    """Net sentiment per aspect of one own location per bucket, beside its set's pooled,
    from one rollup (by location and aspect). One entry per aspect the location has in the
    window, most mentioned first: ``{"aspect", "own_mentions", "set_mentions", "points":
    [{"bucket", "own_mentions", "own_net_sentiment", "set_mentions", "set_net_sentiment"}]}``
    with a point per bucket (None where nobody named the aspect with a sentiment)."""
    if bucket not in ("day", "week", "month"):
        raise ValueError(f"unknown bucket {bucket!r}; one of day, week, month")
    length = parse_window(window)
    now = _now(now)
    (lid,) = own_location_ids(config, [location_id])
    member_ids = {m.id for m, _ in competitive_sets(config, [lid])[lid]}
    starts = _bucket_starts(now.date(), length, bucket)
    own: dict[str, dict[date, Sums]] = defaultdict(lambda: defaultdict(Sums))
    rivals: dict[str, dict[date, Sums]] = defaultdict(lambda: defaultdict(Sums))
    for r in _rows(store, member_ids | {lid}, bucket=bucket, group_by=("location_id", "aspect"),
                   since=_midnight(starts[0]), until=now):
        if r.keys[1] is None:
            continue
        side = own if r.keys[0] == lid else rivals
        side[str(r.keys[1])][date.fromisoformat(r.bucket)].add(r)
    out = []
    for aspect, weeks in own.items():
        theirs = rivals.get(aspect, {})
        points = []
        for b in starts:
            o, t = weeks.get(b, Sums()), theirs.get(b, Sums())
            points.append({"bucket": b.isoformat(), "own_mentions": o.mentions,
                           "own_net_sentiment": net_sentiment(o.positive, o.negative),
                           "set_mentions": t.mentions, "set_net_sentiment": net_sentiment(t.positive, t.negative)})
        out.append({"aspect": aspect, "own_mentions": sum(p["own_mentions"] for p in points),
                    "set_mentions": sum(p["set_mentions"] for p in points), "points": points})
    return sorted(out, key=lambda a: (-a["own_mentions"], a["aspect"]))
