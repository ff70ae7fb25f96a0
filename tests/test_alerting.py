"""Alerts end to end on a small SQLite store (both backends: tests/test_store_alerts.py): one incident one alert, updates, cooldown,
states, viral posts, explanations, the CLI and the [alerts] config."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.loader import ConfigError, build_config, load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from monitor.alerting import AlertStoreError, run_detectors
from vocwatch.cli import main

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
_seq = iter(range(1, 10**9))


def config_toml(db: Path, alerts: str = "") -> str:
    return textwrap.dedent(f"""\
        [store]
        url = "sqlite:///{db}"
        [[brands]]
        id = "harbor"
        [[locations]]
        id = "bund"
        name = "Harbor Bund"
        brand = "harbor"
        category = "hotel"
        lat = 31.0
        lon = 121.0
        region = "shanghai"
        role = "own"
        [[locations]]
        id = "pudong"
        name = "Harbor Pudong"
        brand = "harbor"
        category = "hotel"
        lat = 31.1
        lon = 121.1
        region = "shanghai"
        role = "own"
        """) + alerts


def mention(loc: str, at: datetime, negative: bool = False, text: str = "ok", likes: int = 0,
            keywords: list[str] | None = None) -> Mention:
    n = next(_seq)
    label = "negative" if negative else "positive"
    m = Mention(site="weibo", kind="post", url=f"https://weibo.example/{n}", text=text, external_id=str(n),
                source_id=f"{loc}/weibo", location_id=loc, brand="harbor", published_at=at, crawled_at=at,
                likes=likes, sentiment_label=label, sentiment_score=-0.5 if negative else 0.5, language="zh",
                aspects=[{"aspect": "cleanliness", "sentiment": label, "score": -0.5 if negative else 0.5}],
                keywords=keywords or [])
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Config + store with 28 days of calm history: one mention every 2 hours per location,
    every fifth negative."""
    db = tmp_path / "s.db"
    cfg_path = tmp_path / "vocwatch.toml"
    cfg_path.write_text(config_toml(db), encoding="utf-8")
    store = SQLiteStore(str(db))
    history = [mention(loc, NOW - timedelta(days=29) + timedelta(hours=2 * i, minutes=7), negative=i % 5 == 0)
               for loc in ("bund", "pudong") for i in range(29 * 12)]
    store.insert_new(history)
    yield load_config(cfg_path), store, cfg_path
    store.close()


def burst(store: SQLiteStore, end: datetime, n: int, loc: str = "bund", **kw) -> list[Mention]:  # type: ignore[no-untyped-def]
    ms = [mention(loc, end - timedelta(minutes=5 + 10 * i), negative=True, **kw) for i in range(n)]
    store.upsert_mentions(ms)
    return ms


def test_calm_history_raises_nothing(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    assert run_detectors(config, store, now=NOW) == []


def test_top_terms_of_mentions_a_crawl_stored_without_keywords(env) -> None:  # type: ignore[no-untyped-def]
    """Crawls store no keywords (nlp.analyze keywords=False): the alert extracts them from the texts."""
    config, store, _ = env
    burst(store, NOW, 8, text="房间里有蟑螂，床单也不干净")
    (a,) = run_detectors(config, store, now=NOW)
    assert ["蟑螂", 8] in a.details["top_terms"]


def test_one_incident_one_alert_updated_then_resolved_after_cooldown(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    ms = burst(store, NOW, 8, keywords=["不干净", "床单"], text="床单不干净")
    ms[3].likes = 50
    ms[3].content_hash = mention_content_hash(ms[3])
    store.upsert_mentions([ms[3]])
    (a,) = run_detectors(config, store, now=NOW)  # no aspect or brand alert beside it
    assert (a.kind, a.location_id, a.brand, a.region, a.state, a.version) == ("negative_spike", "bund", "harbor",
                                                                              "shanghai", "new", 1)
    assert "Harbor Bund" in a.title and a.severity in ("warning", "critical")
    d = a.details
    assert d["observed"] == 8 and d["expected"] < 1 and d["ratio"] > 8 and d["window_hours"] == 3
    assert ["不干净", 8] in d["top_terms"] and d["top_aspects"] == [["cleanliness", 8]]
    assert [m["why"] for m in a.mentions] == ["first", "most engaged"]
    assert a.mentions[0]["published_at"] == ms[-1].published_at.isoformat()
    assert a.mentions[1]["engagement"] == 50 and a.mentions[1]["url"] == ms[3].url
    assert "Top terms: " in a.summary and "expected" in a.summary
    json.dumps(a.to_dict())

    # an hour later, same size: same incident, silently refreshed
    assert run_detectors(config, store, now=NOW + timedelta(minutes=30)) == []
    # more than 50% bigger: a new version, notified again
    burst(store, NOW + timedelta(hours=1), 6)
    (b,) = run_detectors(config, store, now=NOW + timedelta(hours=1))
    assert b.id == a.id and b.version == 2 and b.mentions[0] == a.mentions[0]
    alerts = store.alerts
    assert len(alerts.list()) == 1
    # quiet for longer than the cooldown (12 h): resolved; a later burst is a new incident
    later = NOW + timedelta(hours=20)
    run_detectors(config, store, now=later)
    assert alerts.get(a.id).state == "resolved"
    burst(store, later + timedelta(hours=1), 8)
    (c,) = run_detectors(config, store, now=later + timedelta(hours=1))
    assert c.id != a.id and c.version == 1


def test_cooldown_holds_back_a_repeat_after_a_short_pause(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    burst(store, NOW, 8)
    (a,) = run_detectors(config, store, now=NOW)
    assert run_detectors(config, store, now=NOW + timedelta(hours=5)) == []  # window passed, incident open
    burst(store, NOW + timedelta(hours=8), 8)
    assert run_detectors(config, store, now=NOW + timedelta(hours=8)) == []  # within 12 h: the same incident
    alerts = store.alerts
    (only,) = alerts.list()
    assert only.id == a.id and only.last_seen == NOW + timedelta(hours=8)


def test_acknowledged_alert_is_updated_but_not_returned(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    burst(store, NOW, 8)
    (a,) = run_detectors(config, store, now=NOW)
    alerts = store.alerts
    alerts.mark_notified(a.id, 1)
    assert alerts.get(a.id).state == "notified" and alerts.get(a.id).notified_version == 1
    alerts.set_state(a.id, "acknowledged")
    burst(store, NOW + timedelta(hours=1), 10)
    assert run_detectors(config, store, now=NOW + timedelta(hours=1)) == []
    got = alerts.get(a.id)
    assert got.version == 2 and got.state == "acknowledged"
    assert alerts.pending() == []


def test_state_transitions(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    burst(store, NOW, 8)
    (a,) = run_detectors(config, store, now=NOW)
    alerts = store.alerts
    assert [x.id for x in alerts.pending()] == [a.id]
    assert alerts.set_state(a.id, "resolved").state == "resolved"
    with pytest.raises(AlertStoreError, match="is resolved; it cannot become acknowledged"):
        alerts.set_state(a.id, "acknowledged")
    with pytest.raises(AlertStoreError, match="unknown state"):
        alerts.set_state(a.id, "snoozed")
    with pytest.raises(AlertStoreError, match="no alert with id"):
        alerts.set_state("nope", "resolved")
    with pytest.raises(AlertStoreError, match="no alert with id"):
        alerts.mark_notified("nope", 1)
    assert alerts.list(state="resolved", location_id="bund")[0].id == a.id
    assert alerts.list(state="new") == [] and alerts.list(location_id="pudong") == []


def test_viral_post_between_runs(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    post = mention("pudong", NOW - timedelta(hours=5), text="\x1b[31m<script>alert(1)</script>\u202e", likes=30)
    store.upsert_mentions([post])
    assert run_detectors(config, store, now=NOW) == []  # first sighting: a snapshot only
    post.likes = 1200
    post.content_hash = mention_content_hash(post)
    store.upsert_mentions([post])
    (v,) = run_detectors(config, store, now=NOW + timedelta(hours=1))
    assert (v.kind, v.severity, v.location_id) == ("viral_post", "warning", "pudong")
    assert v.details["fingerprint"] == post.fingerprint and v.details["gained"] == 1170
    assert v.mentions[0]["url"] == post.url and v.mentions[0]["engagement"] == 1200
    # hostile text stays data: kept literally, minus terminal escapes and bidi overrides
    assert v.mentions[0]["text"] == "[31m<script>alert(1)</script>"
    assert "\x1b" not in v.summary and "\u202e" not in v.summary


def test_brand_spike_spread_over_its_locations(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    burst(store, NOW, 4, loc="bund")
    burst(store, NOW, 4, loc="pudong")
    found = {(a.kind, a.location_id, a.brand) for a in run_detectors(config, store, now=NOW)}
    assert ("negative_spike", None, "harbor") in found  # neither location alone reaches min_count 5


def test_cli_check_list_ack_resolve(env, capsys) -> None:  # type: ignore[no-untyped-def]
    _, store, cfg = env
    burst(store, NOW, 8)
    assert main(["alerts", "check", "-c", str(cfg), "--now", "2026-03-31T12:00"]) == 0
    out = capsys.readouterr()
    assert "negative mentions" in out.out and "1 new or updated alert" in out.err
    assert main(["alerts", "list", "-c", str(cfg), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "new" and row["first_seen"] == "2026-03-31T12:00:00+00:00"
    assert main(["alerts", "ack", "-c", str(cfg), row["id"]]) == 0
    assert main(["alerts", "list", "-c", str(cfg), "--state", "acknowledged", "--location", "bund"]) == 0
    assert row["id"] in capsys.readouterr().out
    assert main(["alerts", "resolve", "-c", str(cfg), row["id"]]) == 0
    capsys.readouterr()
    assert main(["alerts", "ack", "-c", str(cfg), row["id"]]) == 2
    assert "cannot become acknowledged" in capsys.readouterr().err
    assert main(["alerts", "resolve", "-c", str(cfg), "nope"]) == 2
    assert main(["alerts", "check", "-c", str(cfg), "--now", "yesterday"]) == 2


def test_alerts_config_defaults_and_overrides(tmp_path: Path) -> None:
    raw = {"brands": [{"id": "b"}]}
    assert build_config(raw, tmp_path / "v.toml").alerts.min_count == 5
    p = tmp_path / "v.toml"
    p.write_text(config_toml(tmp_path / "s.db", "[alerts]\nmin_count = 3\ncooldown_hours = 6\np_info = 0.001\n"))
    a = load_config(p).alerts
    assert (a.min_count, a.cooldown_hours, a.p_info, a.p_warning) == (3, 6.0, 0.001, 1e-6)


@pytest.mark.parametrize(("text", "key", "problem"), [
    ("min_count = 0", "alerts.min_count", "must be greater than 0"),
    ("min_count = 2.5", "alerts.min_count", "expected an integer"),
    ("share_jump = 1.5", "alerts.share_jump", "must be between 0.01 and 1"),
    ("p_warning = 0.01", "alerts.p_warning", "tiers must shrink"),
    ("cooldown = 3", "alerts.cooldown", "unknown key"),
    ("enabled = \"yes\"", "alerts.enabled", "expected a boolean"),
])
def test_bad_alerts_config(tmp_path: Path, text: str, key: str, problem: str) -> None:
    p = tmp_path / "v.toml"
    p.write_text(config_toml(tmp_path / "s.db", f"[alerts]\n{text}\n"))
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert err.value.key == key and problem in err.value.problem


def test_rating_drop_left_by_a_past_spike_is_the_same_incident(env) -> None:  # type: ignore[no-untyped-def]
    config, store, _ = env
    rated = []
    for i, m in enumerate(burst(store, NOW, 8)):
        m.rating = m.rating_raw = 1.0 + i % 2
        m.rating_scale = 5.0
        m.content_hash = mention_content_hash(m)
        rated.append(m)
    calm = [mention("bund", NOW - timedelta(days=5) + timedelta(hours=i)) for i in range(40)]
    for i, m in enumerate(calm):
        m.rating = m.rating_raw = 4.0 + i % 2
        m.rating_scale = 5.0
        m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    store.upsert_mentions(rated + calm)
    (spike,) = run_detectors(config, store, now=NOW)
    assert spike.kind == "negative_spike"
    # a day later the spike is over and resolved (cooldown 12 h), but the 72 h rating window
    # still holds its 1-star mentions: no second alert for the same burst
    later = NOW + timedelta(hours=24)
    assert run_detectors(config, store, now=later) == []
    alerts = store.alerts
    assert [a.kind for a in alerts.list()] == ["negative_spike"]
