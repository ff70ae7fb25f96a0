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


# -- radius edge, price tier / stars filters, per-location overrides ---------------
KM_LAT = 360 / (2 * 3.141592653589793 * 6371.0088)  # degrees of latitude per km on the mean-radius sphere


def _rule_cfg(rule: dict[str, object], **own_extra: object):  # type: ignore[no-untyped-def]
    def loc(lid: str, km: float, role: str = "competitor", **kw: object) -> dict[str, object]:
        return dict(id=lid, name=lid, brand="b", category=kw.pop("category", "hotel"), lat=30.0 + km * KM_LAT,
                    lon=120.0, region="r", role=role, **kw)

    locs = [
        loc("own", 0, role="own", competitors=rule, **own_extra),
        loc("edge", 2.0, price_tier=3, stars=4.0),          # exactly at R = 2 km
        loc("near-cheap", 0.5, price_tier=1, stars=2.0),
        loc("near-same", 1.0, price_tier=3, stars=4.0),
        loc("no-tier", 1.5),                                 # tier / stars unknown
        loc("far", 10.0, price_tier=3, stars=4.0),
        loc("other-own", 0.2, role="own"),
    ]
    return build_config({"brands": [{"id": "b"}], "locations": locs}, Path("t.toml"))


def _ids(cfg, lid: str = "own") -> list[str]:  # type: ignore[no-untyped-def]
    return [loc.id for loc in competitive_set(cfg, lid)]


def test_rival_exactly_at_the_radius_is_inside() -> None:
    cfg = _rule_cfg({"radius_km": 2.0})
    assert haversine_km(30.0, 120.0, 30.0 + 2.0 * KM_LAT, 120.0) == pytest.approx(2.0, abs=1e-9)
    assert _ids(cfg) == ["near-cheap", "near-same", "no-tier", "edge"]
    assert _ids(_rule_cfg({"radius_km": 1.999})) == ["near-cheap", "near-same", "no-tier"]


def test_price_tier_and_star_filters() -> None:
    assert _ids(_rule_cfg({"radius_km": 2.0, "same_price_tier": True}, price_tier=3)) == ["near-same", "edge"]
    assert _ids(_rule_cfg({"radius_km": 2.0, "same_stars": True}, stars=2.0)) == ["near-cheap"]


def test_overrides_add_and_exclude_on_top_of_the_radius() -> None:
    cfg = _rule_cfg({"radius_km": 2.0, "add": ["far", "other-own"], "exclude": ["near-cheap", "edge"]})
    assert _ids(cfg) == ["other-own", "near-same", "no-tier", "far"]


def test_many_locations_use_the_latitude_band() -> None:
    from monitor.compset import competitive_sets

    locs = [dict(id=f"c{i}", name="c", brand="b", category="hotel", lat=20 + i * 0.001, lon=120.0, region="r",
                 role="competitor") for i in range(3000)]
    locs += [dict(id=f"o{i}", name="o", brand="b", category="hotel", lat=20 + i * 0.003, lon=120.0005, region="r",
                  role="own", competitors={"radius_km": 0.5}) for i in range(1000)]
    cfg = build_config({"brands": [{"id": "b"}], "locations": locs}, Path("t.toml"))
    sets = competitive_sets(cfg, [f"o{i}" for i in range(1000)])
    brute = [c for c in cfg.locations.values() if c.role == "competitor"
             and haversine_km(cfg.locations["o500"].lat, cfg.locations["o500"].lon, c.lat, c.lon) <= 0.5]
    assert {c.id for c, _ in sets["o500"]} == {c.id for c in brute} and len(brute) == 9  # 1500 +- 4
    assert all(km <= 0.5 for members in sets.values() for _, km in members)
