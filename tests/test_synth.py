"""Synthetic data set: deterministic per seed, a config the real loader accepts, plausible
distributions (J-shaped ratings, sentiment following the rating, zh/en, replies, aspects)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import load_config
from config.model import LOCATION_CATEGORIES
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from nlp.aspects import CATEGORY_DOMAIN, taxonomy
from vocwatch import synth
from vocwatch.cli import main


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Mention]]:
    out = tmp_path_factory.mktemp("synth")
    result = synth.generate(out, locations=20, mentions=5000, seed=7)
    assert (result.locations, result.mentions) == (20, 5000)
    store = SQLiteStore(str(result.db))
    try:
        return out, list(store.iter_mentions())
    finally:
        store.close()


def test_same_seed_same_data_other_seed_other_data(small: tuple[Path, list[Mention]], tmp_path: Path) -> None:
    out, mentions = small
    assert main(["synth", "--out", str(tmp_path / "a"), "--locations", "20", "--mentions", "5000", "--seed", "7"]) == 0
    again = SQLiteStore(str(tmp_path / "a" / "synth.db"))
    assert list(again.iter_mentions()) == mentions
    again.close()
    assert (tmp_path / "a" / "locations.csv").read_text() == (out / "locations.csv").read_text()
    other = synth.generate(tmp_path / "b", locations=20, mentions=500, seed=8)
    store = SQLiteStore(str(other.db))
    assert [m.text for m in store.iter_mentions()][:50] != [m.text for m in mentions][:50]
    store.close()


def test_config_loads_with_the_real_loader(small: tuple[Path, list[Mention]]) -> None:
    out, mentions = small
    config = load_config(out / "vocwatch.toml")
    assert len(config.locations) == 20
    assert config.store_url == f"sqlite:///{(out / 'synth.db').resolve()}"
    assert {loc.category for loc in config.locations.values()} <= set(LOCATION_CATEGORIES)
    for loc in config.own_locations():
        assert loc.competitors is not None and loc.competitors.radius_km
        assert config.sources_for(loc.id)
    assert {m.location_id for m in mentions} <= set(config.locations)
    assert {m.brand for m in mentions} <= set(config.brands)
    assert {m.source_id.split("/")[0] for m in mentions} <= set(config.locations)


def test_records_are_complete_and_honest(small: tuple[Path, list[Mention]]) -> None:
    _, mentions = small
    end = datetime(synth.END.year, synth.END.month, synth.END.day, tzinfo=UTC)
    for m in mentions[:500]:
        assert m.fingerprint == mention_fingerprint(m) and m.content_hash == mention_content_hash(m)
        assert end - timedelta(days=731) <= m.published_at < end  # type: ignore[operator]
        assert m.text and m.sentiment_label in ("positive", "neutral", "negative")
        assert (m.rating is None) == (m.kind != "review") == (m.rating_scale is None)
        if m.rating is not None:
            assert m.rating == m.rating_raw / m.rating_scale * 5  # type: ignore[operator]
        assert (m.reply_text is None) == (m.reply_at is None)


def test_distributions_are_plausible(small: tuple[Path, list[Mention]]) -> None:
    _, mentions = small
    config = load_config(small[0] / "vocwatch.toml")
    rated = [m for m in mentions if m.rating is not None]
    stars = Counter(round(m.rating) for m in rated)  # type: ignore[arg-type]
    assert 0.35 < stars[5] / len(rated) < 0.7  # many 5s ...
    assert stars[1] > stars[2] and stars[5] > stars[4] > stars[3]  # ... J-shaped
    assert statistics.correlation([m.rating for m in rated], [m.sentiment_score for m in rated]) > 0.6  # type: ignore[misc]
    langs = Counter(m.language for m in mentions)
    assert set(langs) == {"zh", "en"} and langs["zh"] > langs["en"]
    # aspects from the category's taxonomy, their sentiment following the rating
    for m in mentions:
        ids = {a.id for a in taxonomy(CATEGORY_DOMAIN[config.locations[m.location_id].category]).aspects}
        assert {a["aspect"] for a in m.aspects} <= ids
    by_star = {s: [a["score"] for m in rated if round(m.rating) == s for a in m.aspects] for s in (1, 5)}  # type: ignore[arg-type]
    assert statistics.mean(by_star[5]) - statistics.mean(by_star[1]) > 1.0
    # replies only on reviews, at rates that differ per location
    assert all(m.kind == "review" for m in mentions if m.reply_text)
    rates = []
    for loc in config.locations:
        reviews = [m for m in rated if m.location_id == loc]
        if len(reviews) >= 30:
            rates.append(sum(m.reply_text is not None for m in reviews) / len(reviews))
    assert max(rates) - min(rates) > 0.3
    # heavy-tailed engagement, weekend-heavy restaurants
    likes = sorted(m.likes for m in mentions)  # type: ignore[type-var]
    assert likes[-1] > 50 * max(1, likes[len(likes) // 2])
    food = [m for m in mentions if config.locations[m.location_id].category == "restaurant"]
    if len(food) > 500:
        weekend = sum(m.published_at.astimezone(UTC).weekday() >= 5 for m in food) / len(food)  # type: ignore[union-attr]
        assert weekend > 2 / 7 + 0.03


def test_insert_new_skips_stored_fingerprints(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "t.db"))
    ms = []
    for i in range(5):
        m = Mention(site="s", kind="review", url=f"http://x/{i}", text=f"t{i}", external_id=str(i),
                    published_at=datetime(2026, 1, 1, tzinfo=UTC), aspects=[{"aspect": "room"}])
        m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
        ms.append(m)
    assert store.insert_new(ms[:3], batch=2) == 3
    changed = ms[0].replace(text="edited")
    assert store.insert_new([changed, *ms[3:]], batch=2) == 2  # insert-only: the edit is not applied
    assert sorted(store.iter_mentions(), key=lambda m: m.url) == ms
    with pytest.raises(ValueError, match="without fingerprint"):
        store.insert_new([ms[0].replace(fingerprint="")])
    store.close()
