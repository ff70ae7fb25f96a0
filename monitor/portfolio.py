"""The portfolio: every own location of a region, brand or chain ranked against its
competitive set, worst movers first, and the scope pooled against its combined sets.

The figures are the location page's (:func:`monitor.metrics.benchmark`): the same windows,
the same reputation index, comp index and rank in set, built from the same rollup rows with
the same formulas, so a row here and its location page never disagree (tests hold the two
together). What is different is the cost: ``benchmark()`` also reads aspects, sources and
the Bayesian prior, and ``trends()`` the weekly index of every rival, which a portfolio of
thousands of locations does not show. Here it is two day-rollups of the locations and their
rivals (current and previous window; long windows read their old part in weeks, as
``benchmark()`` does) and one week-rollup of the own locations for the sparklines: four
queries at most, whatever the number of locations.

Sorting: ``movers`` puts the biggest drop of the reputation index first; ties on the change
go to the lower current index, then by name and id. Locations without a change (no index in
one of the two windows) come after every location with one: first those with an index now,
lowest first, then those without an index at all, by name. ``index`` and ``comp`` sort by
the current reputation / comp index, lowest first, locations without one last by name.

The rollup: the scope's own locations pooled (mentions added up, rating, net sentiment and
response rate over every review of the pool) against the union of their competitive sets,
each rival counted once however many sets it is in (an own location of the scope that is
in another's set is not counted as a rival). The pool's reputation index is the plain
mean of its locations' indices, each location counting once, exactly as a set's average
is the plain mean of its members' (``SetAverages``); the comp index is the ratio of the two.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from config import Config, Location
from crawlers.store import Store
from crawlers.store.base import RollupRow
from monitor.metrics import (
    DAY_RESOLUTION_DAYS,
    TREND_LOOKBACK_DAYS,
    Sums,
    _aged_rows,
    _iso,
    _midnight,
    _now,
    _rows,
    _windows,
    comp_index,
    involved_locations,
    mean_rating,
    net_sentiment,
    parse_window,
    rank_in_set,
    reputation_index,
    response_rate,
    total,
)

SPARK_WEEKS = 26
"""Weeks of the sparkline: half a year, the current (partial) week last."""
SORTS = ("movers", "index", "comp")
ALL = "all"
"""The category filter's value for every category at once (otherwise one category only:
a café's index is not ranked against a hotel's unless asked for)."""


# -- figures (pure) -----------------------------------------------------------------------
def delta(a: float | None, b: float | None) -> float | None:
    """``a - b``, None when either is missing."""
    return None if a is None or b is None else a - b


def mean(values: Iterable[float | None]) -> float | None:
    """Plain mean of the values that exist (None when none does)."""
    vs = [v for v in values if v is not None]
    return sum(vs) / len(vs) if vs else None


@dataclass(frozen=True, slots=True)
class Figures:
    """One window of one location (or of a pool of them)."""

    mentions: int
    avg_rating: float | None
    net_sentiment: float | None
    response_rate: float | None
    reputation_index: float | None

    @classmethod
    def of(cls, s: Sums, index: float | None) -> Figures:
        return cls(s.mentions, mean_rating(s.rating_sum, s.rated), net_sentiment(s.positive, s.negative),
                   response_rate(s.replied, s.mentions), index)


CHANGED = ("reputation_index", "mentions", "avg_rating", "net_sentiment", "response_rate")


def changes(cur: Figures, prev: Figures) -> dict[str, float | None]:
    """Current minus previous window, per figure."""
    return {name: delta(getattr(cur, name), getattr(prev, name)) for name in CHANGED}


@dataclass(frozen=True, slots=True)
class Row:
    """One own location of the portfolio."""

    location: Location
    current: Figures
    previous: Figures
    comp_index: float | None
    comp_index_previous: float | None
    rank: int | None
    rank_of: int
    rank_previous: int | None
    set_size: int
    spark: tuple[float | None, ...] = ()
    """Weekly reputation index (over the 90 days to each week's end), oldest first."""

    @property
    def changes(self) -> dict[str, float | None]:
        return changes(self.current, self.previous) | {
            "comp_index": delta(self.comp_index, self.comp_index_previous)}


@dataclass(frozen=True, slots=True)
class Rollup:
    """The scope's own locations pooled against their combined competitive sets."""

    locations: int
    rivals: int
    """Distinct rivals in the combined sets."""
    own: Figures
    own_previous: Figures
    set: Figures
    set_previous: Figures
    comp_index: float | None
    comp_index_previous: float | None
    indexed: int
    """Own locations with a reputation index now."""
    ahead: int
    """Own locations whose comp index is above 100 (better than their set's average)."""
    first: int
    """Own locations ranked first in their set."""
    spark: tuple[float | None, ...] = ()
    """Weekly mean of the locations' sparklines."""

    @property
    def changes(self) -> dict[str, float | None]:
        return changes(self.own, self.own_previous) | {"comp_index": delta(self.comp_index, self.comp_index_previous)}

    @property
    def set_changes(self) -> dict[str, float | None]:
        return changes(self.set, self.set_previous)


def mover_key(row: Row) -> tuple[Any, ...]:
    """Worst movers first; see the module docstring for ties and missing indices."""
    change = row.changes["reputation_index"]
    index = row.current.reputation_index
    if change is not None:  # rounded: float noise (1e-14) is no move, and ties go to the lower index
        return (0, round(change, 6), index, row.location.name, row.location.id)
    if index is not None:
        return (1, index, 0.0, row.location.name, row.location.id)
    return (2, 0.0, 0.0, row.location.name, row.location.id)


def _lowest_first(value: float | None, row: Row) -> tuple[Any, ...]:
    return (0, value, row.location.name, row.location.id) if value is not None else (
        1, 0.0, row.location.name, row.location.id)


def sort_rows(rows: Iterable[Row], sort: str = "movers") -> list[Row]:
    """The rows in the order ``sort`` asks for (one of SORTS), worst first."""
    if sort == "movers":
        return sorted(rows, key=mover_key)
    if sort == "index":
        return sorted(rows, key=lambda r: _lowest_first(r.current.reputation_index, r))
    if sort == "comp":
        return sorted(rows, key=lambda r: _lowest_first(r.comp_index, r))
    raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")


def location_rows(own_ids: Sequence[str], config: Config, sets: dict[str, list[tuple[Location, float]]],
                  sums: dict[tuple[str, bool], Sums], index: dict[tuple[str, bool], float | None],
                  spark: dict[str, tuple[float | None, ...]]) -> list[Row]:
    """One row per own location from the window sums and indices (``(id, is_current)``
    keys, every location of every set included), in ``own_ids`` order."""
    empty = Sums()
    rows = []
    for lid in own_ids:
        members = [m.id for m, _ in sets.get(lid, [])]
        by_window = {}
        for c in (True, False):
            own = index.get((lid, c))
            rivals = [index.get((m, c)) for m in members]
            rank, rank_of = rank_in_set(own, rivals)
            by_window[c] = (Figures.of(sums.get((lid, c), empty), own), comp_index(own, mean(rivals)), rank, rank_of)
        (cur, comp, rank, rank_of), (prev, comp_prev, rank_prev, _) = by_window[True], by_window[False]
        rows.append(Row(config.locations[lid], cur, prev, comp, comp_prev, rank, rank_of, rank_prev, len(members),
                        spark.get(lid, ())))
    return rows


def rollup(rows: Sequence[Row], sets: dict[str, list[tuple[Location, float]]],
           sums: dict[tuple[str, bool], Sums], index: dict[tuple[str, bool], float | None]) -> Rollup:
    """The rows' locations pooled against the union of their sets (each rival once)."""
    own_ids = [r.location.id for r in rows]
    in_scope = set(own_ids)
    rivals = list(dict.fromkeys(m.id for lid in own_ids for m, _ in sets.get(lid, []) if m.id not in in_scope))
    empty = Sums()

    def pooled(ids: Sequence[str], c: bool) -> Figures:
        return Figures.of(total(sums.get((i, c), empty) for i in ids), mean(index.get((i, c)) for i in ids))

    own, own_prev = pooled(own_ids, True), pooled(own_ids, False)
    rset, rset_prev = pooled(rivals, True), pooled(rivals, False)
    weeks = max((len(r.spark) for r in rows), default=0)
    spark = tuple(mean(r.spark[i] for r in rows if len(r.spark) == weeks) for i in range(weeks))
    return Rollup(
        locations=len(rows), rivals=len(rivals), own=own, own_previous=own_prev, set=rset, set_previous=rset_prev,
        comp_index=comp_index(own.reputation_index, rset.reputation_index),
        comp_index_previous=comp_index(own_prev.reputation_index, rset_prev.reputation_index),
        indexed=sum(r.current.reputation_index is not None for r in rows),
        ahead=sum(r.comp_index is not None and r.comp_index > 100 for r in rows),
        first=sum(r.rank == 1 for r in rows), spark=spark)


# -- filters (pure) -----------------------------------------------------------------------
def default_category(locations: Iterable[Location]) -> str | None:
    """The category most of the locations are in (ties: alphabetical); None for no locations."""
    counts = Counter(loc.category for loc in locations)
    return min(counts, key=lambda c: (-counts[c], c)) if counts else None


def select(locations: Iterable[Location], *, category: str | None = None, region: str | None = None,
           brand: str | None = None) -> list[Location]:
    """The locations matching every filter given (None or ``all`` category: any)."""
    return [loc for loc in locations
            if (category in (None, ALL) or loc.category == category)
            and (region is None or loc.region == region) and (brand is None or loc.brand == brand)]


def options(locations: Iterable[Location], attr: str) -> list[tuple[str, int]]:
    """``(value, how many locations)`` of one attribute, by value: what a filter offers."""
    counts = Counter(getattr(loc, attr) for loc in locations)
    return sorted(counts.items())


# -- sparklines -----------------------------------------------------------------------------
def spark_weeks(now: datetime, weeks: int = SPARK_WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, the current one last."""
    monday = now.date() - timedelta(days=now.date().weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def weekly_index(by_week: dict[date, RollupRow | Sums], starts: Sequence[date], today: date) -> tuple[float | None, ...]:
    """Per week start, the reputation index over the 90 days to that week's last day (today
    for the current week), week rows aged from their Monday: ``trends()``'s ``own_index``."""
    out = []
    for b in starts:
        last = min(b + timedelta(days=7), today + timedelta(days=1)) - timedelta(days=1)
        aged = []
        k = 0
        while (age := (last - (b - timedelta(weeks=k))).days) < TREND_LOOKBACK_DAYS:
            row = by_week.get(b - timedelta(weeks=k))
            if row is not None:
                aged.append((age, row))
            k += 1
        out.append(reputation_index(aged))
    return tuple(out)


def sparklines(store: Store, own_ids: Iterable[str], now: datetime,
               weeks: int = SPARK_WEEKS) -> tuple[list[date], dict[str, tuple[float | None, ...]]]:
    """The weeks and each own location's weekly index: one week-rollup of the own locations
    (not their rivals: ``trends()`` computes every rival's weekly index too, which costs
    more than everything else here together at a few thousand locations)."""
    ids = set(own_ids)
    starts = spark_weeks(now, weeks)
    since = _midnight(starts[0]) - timedelta(days=TREND_LOOKBACK_DAYS)
    by_loc: dict[str, dict[date, RollupRow]] = defaultdict(dict)
    for r in _rows(store, ids, bucket="week", group_by=("location_id",), since=since, until=now):
        by_loc[r.keys[0]][date.fromisoformat(r.bucket)] = r  # type: ignore[index]
    today = now.date()
    return starts, {lid: weekly_index(by_loc.get(lid, {}), starts, today) for lid in ids}


# -- the portfolio ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Portfolio:
    window: str
    current: tuple[datetime, datetime]
    previous: tuple[datetime, datetime]
    weeks: list[date]
    rows: list[Row]
    """Sorted as asked."""
    rollup: Rollup
    sort: str = "movers"
    queries: int = 0
    """Rollup queries made (a handful, whatever the number of locations)."""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window, "sort": self.sort,
            "current": {"start": _iso(self.current[0]), "end": _iso(self.current[1])},
            "previous": {"start": _iso(self.previous[0]), "end": _iso(self.previous[1])},
            "weeks": [w.isoformat() for w in self.weeks],
            "rollup": rollup_dict(self.rollup),
            "rows": [row_dict(r) for r in self.rows],
            **self.meta,
        }


def portfolio(config: Config, store: Store, location_ids: Iterable[str], *, window: str = "90d",
              now: datetime | None = None, sort: str = "movers", weeks: int = SPARK_WEEKS) -> Portfolio:
    """The portfolio of these own locations over ``window`` (the one before it for changes)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    length = parse_window(window)
    now = _now(now)
    own_ids, sets, involved = involved_locations(config, location_ids)
    cur, prev = _windows(now, length)
    aged: dict[tuple[str, bool], list[tuple[float, RollupRow]]] = defaultdict(list)
    queries = 0
    for is_cur, w in ((True, cur), (False, prev)):
        if not involved:
            continue
        # the day part, and the week part of a window longer than the day resolution
        queries += 1 + (w.start < _midnight(w.last_day) - timedelta(days=DAY_RESOLUTION_DAYS - 1))
        for age, r in _aged_rows(store, involved, w):
            aged[(r.keys[0], is_cur)].append((age, r))  # type: ignore[index]
    sums = {key: total(r for _, r in rows) for key, rows in aged.items()}
    index = {key: reputation_index(rows) for key, rows in aged.items()}
    starts, spark = sparklines(store, own_ids, now, weeks) if own_ids else (spark_weeks(now, weeks), {})
    rows = location_rows(own_ids, config, sets, sums, index, spark)
    return Portfolio(window=window, current=(cur.start, cur.end), previous=(prev.start, prev.end), weeks=starts,
                     rows=sort_rows(rows, sort), rollup=rollup(rows, sets, sums, index), sort=sort,
                     queries=queries + bool(own_ids))


# -- JSON -----------------------------------------------------------------------------------
def _r(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


_DIGITS = {"reputation_index": 2, "comp_index": 2, "avg_rating": 3, "net_sentiment": 4, "response_rate": 4,
           "mentions": 0}


def figures_dict(f: Figures) -> dict[str, Any]:
    return {"mentions": f.mentions, "avg_rating": _r(f.avg_rating, 3), "net_sentiment": _r(f.net_sentiment, 4),
            "response_rate": _r(f.response_rate, 4), "reputation_index": _r(f.reputation_index, 2)}


def changes_dict(ch: dict[str, float | None]) -> dict[str, Any]:
    return {k: (int(v) if k == "mentions" and v is not None else _r(v, _DIGITS[k])) for k, v in ch.items()}


def row_dict(r: Row) -> dict[str, Any]:
    loc = r.location
    return {
        "id": loc.id, "name": loc.name, "brand": loc.brand, "region": loc.region, "category": loc.category,
        "current": figures_dict(r.current), "previous": figures_dict(r.previous), "changes": changes_dict(r.changes),
        "comp_index": _r(r.comp_index, 2), "comp_index_previous": _r(r.comp_index_previous, 2),
        "rank": r.rank, "rank_of": r.rank_of, "rank_previous": r.rank_previous, "set_size": r.set_size,
        "spark": [_r(v, 2) for v in r.spark],
    }


def rollup_dict(u: Rollup) -> dict[str, Any]:
    return {
        "locations": u.locations, "rivals": u.rivals, "own": figures_dict(u.own),
        "own_previous": figures_dict(u.own_previous), "set": figures_dict(u.set),
        "set_previous": figures_dict(u.set_previous), "changes": changes_dict(u.changes),
        "set_changes": changes_dict(u.set_changes), "comp_index": _r(u.comp_index, 2),
        "comp_index_previous": _r(u.comp_index_previous, 2), "indexed": u.indexed, "ahead": u.ahead,
        "first": u.first, "spark": [_r(v, 2) for v in u.spark],
    }
