"""Competitive sets: radius edges, category filter, named sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import build_config
from monitor.compset import competitive_set, haversine_km


def test_haversine_known_distance() -> None:
    # on a sphere of the mean Earth radius one degree of a great circle is 2*pi*R/360
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.001)
    assert haversine_km(0, 0, 90, 0) == pytest.approx(10007.557, abs=0.01)  # pole: a quarter circle
    assert haversine_km(45, 10, 45, 10.5) == pytest.approx(haversine_km(45, 10.5, 45, 10))
    assert haversine_km(10, 10, 10, 10) == 0


def _cfg(radius: float | None = None, same_category: bool = True, ids: list[str] | None = None):  # type: ignore[no-untyped-def]
    comp: object = ids if ids is not None else {"radius_km": radius, "same_category": same_category}
    lat_per_km = 1 / 111.195  # one km of latitude
    locs = [
        dict(id="own", name="Own", brand="b", category="hotel", lat=30.0, lon=120.0, region="r", role="own", competitors=comp),
        dict(id="at-1km", name="A", brand="b", category="hotel", lat=30.0 + lat_per_km, lon=120.0, region="r", role="competitor"),
        dict(id="at-2.99km", name="B", brand="b", category="hotel", lat=30.0 + 2.99 * lat_per_km, lon=120.0, region="r", role="competitor"),
        dict(id="at-3.01km", name="C", brand="b", category="hotel", lat=30.0 + 3.01 * lat_per_km, lon=120.0, region="r", role="competitor"),
        dict(id="cafe-0.5km", name="D", brand="b", category="restaurant", lat=30.0 + 0.5 * lat_per_km, lon=120.0, region="r", role="competitor"),
        dict(id="own-2", name="E", brand="b", category="hotel", lat=30.0, lon=120.0 + 0.001, region="r", role="own"),
    ]
    return build_config({"brands": [{"id": "b"}], "locations": locs}, Path("test.toml"))


def test_radius_includes_inside_excludes_outside_and_other_categories() -> None:
    ids = [loc.id for loc in competitive_set(_cfg(radius=3.0), "own")]
    assert ids == ["at-1km", "at-2.99km"]  # nearest first; own locations never count as competitors


def test_category_filter_can_be_turned_off() -> None:
    ids = [loc.id for loc in competitive_set(_cfg(radius=3.0, same_category=False), "own")]
    assert ids == ["cafe-0.5km", "at-1km", "at-2.99km"]


def test_named_set_is_taken_as_given() -> None:
    assert [loc.id for loc in competitive_set(_cfg(ids=["at-3.01km", "cafe-0.5km"]), "own")] == ["cafe-0.5km", "at-3.01km"]


def test_location_without_rule_has_no_set() -> None:
    assert competitive_set(_cfg(radius=3.0), "own-2") == []
