"""Competitive sets: which competitor locations an own location is compared with."""

from __future__ import annotations

import math

from config import Config, Location

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(a: Location, b: Location) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def competitive_set(config: Config, location_id: str) -> list[Location]:
    """The competitors of an own location, nearest first.

    Named ids are taken as given; a radius rule takes every *competitor* location within
    ``radius_km`` (inclusive), of the same category unless ``same_category`` is false.
    A location without a rule has an empty set.
    """
    own = config.locations[location_id]
    rule = own.competitors
    if rule is None:
        return []
    if rule.ids:
        chosen = [config.locations[i] for i in rule.ids]
    else:
        assert rule.radius_km is not None
        chosen = [
            loc for loc in config.locations.values()
            if loc.role == "competitor"
            and (not rule.same_category or loc.category == own.category)
            and distance_km(own, loc) <= rule.radius_km
        ]
    return sorted(chosen, key=lambda loc: (distance_km(own, loc), loc.id))
