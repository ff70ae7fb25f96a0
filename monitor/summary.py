"""Per-location summary of stored mentions, own locations beside their competitors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from config import Config, Location
from crawlers.items import Mention
from crawlers.store import Store
from monitor.compset import competitive_set, distance_km


@dataclass(frozen=True, slots=True)
class LocationStats:
    location: Location
    mentions: int
    rated: int
    avg_rating: float | None
    """Mean normalised rating (0-5) over mentions that carry a rating."""
    positive_share: float | None
    """Share of mentions with a sentiment label that are positive (0-1)."""
    negative_share: float | None
    distance_km: float | None = None
    """Distance from the own location it is compared with (competitors only)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    own: LocationStats
    competitors: list[LocationStats]

    @property
    def set_avg_rating(self) -> float | None:
        rated = [c for c in self.competitors if c.avg_rating is not None]
        total = sum(c.rated for c in rated)
        return sum(c.avg_rating * c.rated for c in rated) / total if total else None  # type: ignore[operator]


def location_stats(location: Location, mentions: Iterable[Mention], distance: float | None = None) -> LocationStats:
    n = rated = labelled = pos = neg = 0
    rating_sum = 0.0
    for m in mentions:
        n += 1
        if m.rating is not None:
            rated += 1
            rating_sum += m.rating
        if m.sentiment_label:
            labelled += 1
            pos += m.sentiment_label == "positive"
            neg += m.sentiment_label == "negative"
    return LocationStats(
        location=location,
        mentions=n,
        rated=rated,
        avg_rating=rating_sum / rated if rated else None,
        positive_share=pos / labelled if labelled else None,
        negative_share=neg / labelled if labelled else None,
        distance_km=distance,
    )


def compare_locations(config: Config, store: Store, *, since: datetime | None = None) -> list[Comparison]:
    """One comparison per own location: its stats and each competitor's, nearest first."""
    by_location: dict[str, list[Mention]] = defaultdict(list)
    for m in store.iter_mentions(since=since):
        by_location[m.location_id].append(m)
    out = []
    for own in sorted(config.own_locations(), key=lambda loc: (loc.region, loc.category, loc.id)):
        rivals = competitive_set(config, own.id)
        out.append(Comparison(
            own=location_stats(own, by_location[own.id]),
            competitors=[location_stats(c, by_location[c.id], distance_km(own, c)) for c in rivals],
        ))
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _rating(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def format_comparisons(comparisons: list[Comparison]) -> str:
    """A plain-text table readable in a terminal."""
    header = f"{'location':<36} {'role':<11} {'km':>5} {'mentions':>8} {'rating':>6} {'pos':>5} {'neg':>5}"
    lines: list[str] = []
    for comp in comparisons:
        own = comp.own.location
        lines.append(f"{own.name} ({own.category}, {own.region}): {len(comp.competitors)} competitor(s)")
        lines.append(header)
        lines.append("-" * len(header))
        for row, role in [(comp.own, "own"), *((c, "competitor") for c in comp.competitors)]:
            km = "" if row.distance_km is None else f"{row.distance_km:.1f}"
            lines.append(
                f"{row.location.name[:36]:<36} {role:<11} {km:>5} {row.mentions:>8} "
                f"{_rating(row.avg_rating):>6} {_pct(row.positive_share):>5} {_pct(row.negative_share):>5}"
            )
        if comp.competitors:
            gap = (None if comp.own.avg_rating is None or comp.set_avg_rating is None
                   else comp.own.avg_rating - comp.set_avg_rating)
            gap_txt = "" if gap is None else f"  (own {gap:+.2f} vs set)"
            lines.append(f"{'competitive set average':<36} {'':<11} {'':>5} {sum(c.mentions for c in comp.competitors):>8} "
                         f"{_rating(comp.set_avg_rating):>6}{gap_txt}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
