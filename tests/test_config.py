"""Configuration is validated on load; errors name file, key path and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config import ConfigError, load_config
from config.model import SOURCE_KINDS

BASE = """
[store]
url = "sqlite:///x.db"

[[brands]]
id = "harbor"

[[locations]]
id = "own-1"
name = "Own One"
brand = "harbor"
category = "hotel"
lat = 31.0
lon = 121.0
region = "shanghai"
role = "own"
competitors = { radius_km = 3 }

[[locations]]
id = "rival-1"
name = "Rival"
brand = "harbor"
category = "hotel"
lat = 31.01
lon = 121.01
region = "shanghai"
role = "competitor"

[[sources]]
location = "own-1"
kind = "hotel_reviews"
url = "https://example.org/hotel/1"
"""


def write(tmp_path: Path, text: str, name: str = "vocwatch.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_valid_config_loads_typed_objects(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.store_url == f"sqlite:///{tmp_path}/x.db"  # relative to the config file's folder
    own = cfg.locations["own-1"]
    assert own.is_own and own.lat == 31.0 and own.competitors and own.competitors.radius_km == 3.0
    assert cfg.brands["harbor"].name == "harbor"  # name defaults to id
    (src,) = cfg.sources.values()
    assert src.id == "own-1/hotel_reviews" and src.kind == "hotel_reviews"
    assert cfg.crawl.delay == 1.0 and cfg.crawl.obey_robots is True  # polite defaults


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('lat = 31.0\n', 'lat = "north"\n', "locations[0].lat", "expected a number, got a string 'north'"),
        ('lat = 31.0\n', 'lat = 131.0\n', "locations[0].lat", "must be between -90 and 90"),
        ('category = "hotel"\nlat = 31.01', 'category = "spa"\nlat = 31.01', "locations[1].category", "must be one of hotel, restaurant, store"),
        ('brand = "harbor"\ncategory = "hotel"\nlat = 31.0\n', 'brand = "nope"\ncategory = "hotel"\nlat = 31.0\n', "locations[0].brand", "unknown brand 'nope'"),
        ('kind = "hotel_reviews"', 'kind = "tiktok"', "sources[0].kind", "must be one of"),
        ('url = "https://example.org/hotel/1"', 'url = "ftp://x"', "sources[0].url", "must be an http(s) URL"),
        ('location = "own-1"\nkind', 'location = "ghost"\nkind', "sources[0].location", "unknown location id 'ghost'"),
        ('competitors = { radius_km = 3 }', 'competitors = ["ghost"]', "locations[0].competitors", "unknown location id 'ghost'"),
        ('competitors = { radius_km = 3 }', 'competitors = { radius_km = -1 }', "locations[0].competitors.radius_km", "must be greater than 0"),
        ('competitors = { radius_km = 3 }', 'competitors = { radius = 3 }', "locations[0].competitors.radius_km", "is required (found 'radius': a misspelling?)"),
        ('role = "competitor"', 'role = "competitor"\ncompetitors = ["own-1"]', "locations[1].competitors", "only own locations"),
        ('role = "own"', 'role = "mine"', "locations[0].role", "must be one of own, competitor"),
        ('region = "shanghai"\nrole = "own"', 'role = "own"', "locations[0].region", "is required"),
        ('url = "https://example.org/hotel/1"', 'url = "https://example.org/hotel/1"\nschedule = "every tuesday"', "sources[0].schedule", "not a schedule"),
        ('url = "sqlite:///x.db"', 'url = "sqlite:///x.db"\npassword = "hunter2"', "store.password", "unknown key"),
    ],
)
def test_invalid_config_names_file_key_and_reason(tmp_path: Path, old: str, new: str, key: str, reason: str) -> None:
    assert old in BASE, old
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.file == str(path)
    assert err.value.key == key
    assert reason in err.value.problem
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    text = BASE + '\n[[sources]]\nlocation = "own-1"\nkind = "hotel_reviews"\nurl = "https://example.org/2"\n'
    with pytest.raises(ConfigError, match=r"sources\[1\]\.id: duplicate source id 'own-1/hotel_reviews'"):
        load_config(write(tmp_path, text))


def test_toml_syntax_error_is_reported_with_position(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid TOML: .*line 2"):
        load_config(write(tmp_path, "[store]\nurl = \n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_top_level_key_after_a_table_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must come before the first"):
        load_config(write(tmp_path, BASE + '\nlocation_files = ["x.csv"]\n'))


def test_environment_variables_expand_and_missing_ones_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = BASE.replace("https://example.org/hotel/1", "${SITE_BASE}/hotel/1")
    monkeypatch.setenv("SITE_BASE", "http://127.0.0.1:9999")
    assert load_config(write(tmp_path, text)).sources["own-1/hotel_reviews"].url == "http://127.0.0.1:9999/hotel/1"
    monkeypatch.delenv("SITE_BASE")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.url: environment variable SITE_BASE is not set"):
        load_config(write(tmp_path, text))
    default = BASE.replace("https://example.org/hotel/1", "${SITE_BASE:-https://fallback.example}/h")
    assert load_config(write(tmp_path, default)).sources["own-1/hotel_reviews"].url == "https://fallback.example/h"


def test_store_url_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCWATCH_STORE_URL", "mongodb://user:secret@db.example/vocwatch")
    assert load_config(write(tmp_path, BASE)).store_url.startswith("mongodb://")


def test_locations_from_csv(tmp_path: Path) -> None:
    write(tmp_path, "id,name,brand,category,lat,lon,region,role,address,competitors,radius_km\n"
                    "c-1,Rival CSV,harbor,hotel,31.02,121.02,shanghai,competitor,\"1 Road, City\",,\n"
                    "own-2,Own CSV,harbor,hotel,31.03,121.03,shanghai,own,,c-1;rival-1,\n", "locs.csv")
    cfg = load_config(write(tmp_path, 'location_files = ["locs.csv"]\n' + BASE))
    assert cfg.locations["c-1"].address == "1 Road, City" and cfg.locations["c-1"].lat == 31.02
    assert cfg.locations["own-2"].competitors.ids == ("c-1", "rival-1")  # type: ignore[union-attr]


def test_csv_errors_name_the_csv_line(tmp_path: Path) -> None:
    write(tmp_path, "id,name,brand,category,lat,lon,region,role\nc-1,R,harbor,hotel,abc,121,sh,competitor\n", "locs.csv")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, 'location_files = ["locs.csv"]\n' + BASE))
    assert err.value.file.endswith("locs.csv") and err.value.key == "line 2.lat"


def test_demo_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOCWATCH_SANDBOX", "http://127.0.0.1:1")
    cfg = load_config(Path(__file__).parent.parent / "config" / "demo" / "vocwatch.toml")
    assert len(cfg.own_locations()) == 4
    # "selectors" and "site" read real sites the sandbox does not model
    # (tests/test_selectors.py, tests/test_site_spider.py)
    assert {s.kind for s in cfg.sources.values()} == set(SOURCE_KINDS) - {"selectors", "site"}


def test_every_source_kind_has_a_spider_and_back() -> None:
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    loader = SpiderLoader(Settings({"SPIDER_MODULES": ["spiders"]}))
    assert set(loader.list()) == set(SOURCE_KINDS)


@pytest.mark.parametrize(
    ("new", "key", "reason"),
    [
        ('competitors = { radius_km = 3, add = ["ghost"] }', "locations[0].competitors.add", "unknown location id 'ghost'"),
        ('competitors = { radius_km = 3, exclude = ["own-1"] }', "locations[0].competitors.exclude", "its own competitor"),
        ('competitors = { radius_km = 3, add = ["rival-1"], exclude = ["rival-1"] }', "locations[0].competitors.exclude", "both added and excluded"),
        ('competitors = { radius_km = 3, add = "rival-1" }', "locations[0].competitors.add", "expected an array"),
        ('competitors = { radius_km = 3, same_price_tier = true }', "locations[0].competitors.same_price_tier", "needs this location's price_tier"),
        ('competitors = { radius_km = 3, same_stars = true }', "locations[0].competitors.same_stars", "needs this location's stars"),
        ('competitors = { radius_km = 3 }\nprice_tier = 7', "locations[0].price_tier", "must be between 1 and 5"),
        ('competitors = { radius_km = 3 }\nprice_tier = 2.5', "locations[0].price_tier", "expected an integer"),
        ('competitors = { radius_km = 3 }\nstars = 4.3', "locations[0].stars", "half stars"),
    ],
)
def test_competitive_set_options_are_validated(tmp_path: Path, new: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, BASE.replace("competitors = { radius_km = 3 }", new, 1)))
    assert (err.value.key, reason in err.value.problem) == (key, True), str(err.value)


def test_csv_price_tier_stars_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "id,name,brand,category,lat,lon,region,role,price_tier,stars,radius_km,competitors_add,competitors_exclude\n"
                    "c-1,R,harbor,hotel,31.02,121.02,sh,competitor,3,4.5,,,\n"
                    "own-2,O,harbor,hotel,31.03,121.03,sh,own,3,4,5,c-1,rival-1\n", "locs.csv")
    cfg = load_config(write(tmp_path, 'location_files = ["locs.csv"]\n' + BASE))
    assert (cfg.locations["c-1"].price_tier, cfg.locations["c-1"].stars) == (3, 4.5)
    rule = cfg.locations["own-2"].competitors
    assert rule is not None and (rule.radius_km, rule.add, rule.exclude) == (5.0, ("c-1",), ("rival-1",))
    write(tmp_path, "id,name,brand,category,lat,lon,region,role,price_tier\nc-1,R,harbor,hotel,31,121,sh,competitor,two\n", "locs.csv")
    with pytest.raises(ConfigError, match=r"line 2\.price_tier: expected an integer, got 'two'"):
        load_config(tmp_path / "vocwatch.toml")
    write(tmp_path, "id,name,brand,category,lat,lon,region,role,competitors_exclude\nc-1,R,harbor,hotel,31,121,sh,own,rival-1\n", "locs.csv")
    with pytest.raises(ConfigError, match=r"line 2\.competitors_exclude: only applies to a radius_km set"):
        load_config(tmp_path / "vocwatch.toml")
