"""Competitive sets: which competitor locations an own location is compared with."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable

from config import Config, Location

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
EDGE_TOLERANCE_KM = 1e-9
"""A rival exactly at the radius is inside; this absorbs float rounding of "exactly"."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(a: Location, b: Location) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


class _LatitudeIndex:
    """Competitor locations sorted by latitude: two points ``d`` km apart differ by at most
    ``d / R`` radians of latitude, so a radius query only measures a thin band of them
    (thousands of own locations against thousands of rivals stay fast)."""

    def __init__(self, config: Config) -> None:
        rivals = sorted((loc for loc in config.locations.values() if loc.role == "competitor"),
                        key=lambda loc: loc.lat)
        self.rivals = rivals
        self.lats = [loc.lat for loc in rivals]

    def within(self, own: Location, radius_km: float) -> Iterable[Location]:
        limit = radius_km + EDGE_TOLERANCE_KM
        band = math.degrees(limit / EARTH_RADIUS_KM) + 1e-9
        lo = bisect.bisect_left(self.lats, own.lat - band)
        hi = bisect.bisect_right(self.lats, own.lat + band)
        return (loc for loc in self.rivals[lo:hi] if distance_km(own, loc) <= limit)


def _select(config: Config, own: Location, index: _LatitudeIndex) -> list[tuple[Location, float]]:
    rule = own.competitors
    if rule is None:
        return []
    if rule.ids:
        chosen = [config.locations[i] for i in rule.ids]
    else:
        assert rule.radius_km is not None
        excluded = set(rule.exclude)
        chosen = [
            loc for loc in index.within(own, rule.radius_km)
            if loc.id not in excluded
            and (not rule.same_category or loc.category == own.category)
            and (not rule.same_price_tier or loc.price_tier == own.price_tier)
            and (not rule.same_stars or loc.stars == own.stars)
        ]
        seen = {loc.id for loc in chosen}
        chosen += [config.locations[i] for i in rule.add if i not in seen]
    return sorted(((loc, distance_km(own, loc)) for loc in chosen), key=lambda p: (p[1], p[0].id))


def competitive_sets(config: Config, location_ids: Iterable[str]) -> dict[str, list[tuple[Location, float]]]:
    """``{own id: [(competitor, km), ...]}`` nearest first, for many own locations at once."""
    index = _LatitudeIndex(config)
    return {lid: _select(config, config.locations[lid], index) for lid in location_ids}


def competitive_set(config: Config, location_id: str) -> list[Location]:
    """The competitors of an own location, nearest first.

    Named ids are taken as given; a radius rule takes every *competitor* location within
    ``radius_km`` (inclusive), of the same category unless ``same_category`` is false, of
    the same price tier / star class when ``same_price_tier`` / ``same_stars`` are set,
    minus ``exclude`` plus ``add`` (added ones of any role or distance). A location without
    a rule has an empty set.
    """
    return [loc for loc, _ in competitive_sets(config, [location_id])[location_id]]
