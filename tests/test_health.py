"""Crawl health checks (pure: a run and its history in, findings out), the ``[health]``
table, the store's ``crawl_health`` rows, and ``crawl_health`` incidents with cooldown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, load_config
from config.model import HealthSettings
from crawlers.store.base import CrawlRun, HealthFinding
from crawlers.store.sqlite import SQLiteStore
from monitor.health import check_and_record, check_run, coverage, pages
from tests.conftest import ONE_HOTEL

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
S = HealthSettings()
SRC = "harbor-sh-bund/hotel_reviews"


def stats(read: int = 10, *, text: float = 1.0, published_at: float = 1.0, rating: float = 1.0, author: float = 1.0,
          inserted: int | None = None, pages_read: int = 1, **drops: int) -> dict[str, Any]:
    out: dict[str, Any] = {"vocwatch/mentions/extracted": read, "vocwatch/pages/read": pages_read,
                           "vocwatch/store/inserted": read if inserted is None else inserted}
    for name, share in (("text", text), ("published_at", published_at), ("rating", rating), ("author", author)):
        out[f"vocwatch/fields/{name}"] = round(read * share)
    out.update({f"vocwatch/dropped/{k}": v for k, v in drops.items()})
    return out


def run(i: int, st: dict[str, Any], outcome: str = "finished") -> CrawlRun:
    return CrawlRun(id=i, source_id=SRC, spider="hotel_reviews", started_at=T0 + timedelta(hours=i),
                    finished_at=T0 + timedelta(hours=i, minutes=1), outcome=outcome, stats=st)


def history(*sts: dict[str, Any]) -> list[CrawlRun]:
    """Earlier runs, newest first (ids counting down from 99)."""
    return [run(99 - k, st) for k, st in enumerate(sts)]


def problems(findings: list[HealthFinding]) -> list[str]:
    return [f.problem for f in findings]


# -- the checks ----------------------------------------------------------------------------
def test_a_healthy_run_has_no_findings() -> None:
    assert check_run(run(100, stats(9)), history(stats(10), stats(12), stats(8)), S) == []


def test_fields_lost_since_the_last_run_name_the_source_and_the_fields() -> None:
    (f,) = check_run(run(100, stats(10, published_at=0, rating=0)), history(stats(10)), S)
    assert (f.problem, f.severity, f.source_id, f.run_id) == ("fields_lost", "warning", SRC, 100)
    assert f.message == (f"hotel_reviews source {SRC}: fields lost since the last run: "
                         "published_at (100% -> 0%), rating (100% -> 0%)")
    assert f.details["fields"] == {"published_at": [1.0, 0.0], "rating": [1.0, 0.0]}


def test_field_coverage_compares_with_the_median_of_the_history() -> None:
    past = history(stats(10, rating=0.9), stats(10, rating=0.0), stats(10, rating=0.8))
    (f,) = check_run(run(100, stats(10, rating=0.1)), past, S)
    assert "against the median of the last 3 runs: rating (80% -> 10%)" in f.message
    # a field the source rarely had is not "lost"; one that only thinned out is not either
    assert check_run(run(100, stats(10, rating=0)), history(stats(10, rating=0.5)), S) == []
    assert check_run(run(100, stats(10, rating=0.3)), history(stats(10)), S) == []


def test_losing_the_text_is_critical_and_too_few_mentions_say_nothing() -> None:
    (f,) = check_run(run(100, stats(10, text=0)), history(stats(10)), S)
    assert (f.problem, f.severity) == ("fields_lost", "critical")
    assert check_run(run(100, stats(4, rating=0)), history(stats(10)), S) == []  # < min_mentions
    assert check_run(run(100, stats(10, rating=0)), history(stats(3)), S) == []  # history too small to judge


def test_runs_without_field_counters_are_not_history() -> None:
    old = {"vocwatch/mentions/extracted": 10, "vocwatch/pages/read": 1, "vocwatch/store/inserted": 10}
    assert coverage(old) is None
    assert check_run(run(100, stats(10, rating=0)), history(old), S) == []


def test_a_source_that_stopped_yielding_is_critical() -> None:
    (f,) = check_run(run(100, stats(0)), history(stats(10), stats(12)), S)
    assert (f.problem, f.severity) == ("no_items", "critical")
    assert f.message == (f"hotel_reviews source {SRC}: stopped yielding: 0 mentions read (1 page(s) read); "
                         "the last 2 runs read a median of 11")
    (g,) = check_run(run(100, stats(0)), [], S)  # never yielded: said, less loudly
    assert (g.problem, g.severity) == ("no_items", "warning") and "no earlier run read any" in g.message


def test_a_lasting_loss_stays_a_finding_until_the_source_recovers() -> None:
    broken = stats(10, rating=0)
    (first,) = check_run(run(98, broken), history(stats(10)), S)
    # the history now holds the broken run (median coverage 50%): still judged against 100%
    (f,) = check_run(run(99, broken), [run(98, broken), run(97, stats(10))], S, [first])
    assert f.message == f"hotel_reviews source {SRC}: fields lost since run #98: rating (100% -> 0%)"
    assert f.details["since_run"] == 98
    (g,) = check_run(run(100, broken), [run(99, broken), run(98, broken), run(97, stats(10))], S, [f])
    assert "since run #98" in g.message
    assert check_run(run(101, stats(10)), [run(100, broken)], S, [g]) == []  # fixed: the finding ends
    # a source yielding nothing for runs on end stays critical, against what it read before
    (n1,) = check_run(run(98, stats(0)), history(stats(12)), S)
    (n2,) = check_run(run(99, stats(0)), [run(98, stats(0))], S, [n1])
    assert (n2.severity, n2.details["expected"]) == ("critical", 12)
    assert "none since run #98; before that a median of 12" in n2.message


def test_items_drop_needs_min_history_and_uses_the_median() -> None:
    (f,) = check_run(run(100, stats(4)), history(stats(10), stats(40), stats(9)), S)
    assert (f.problem, f.severity, f.details["expected"]) == ("items_drop", "warning", 10)
    assert "read 4 mentions, 40% of the usual 10 (median of the last 3 runs)" in f.message
    assert check_run(run(100, stats(4)), history(stats(10), stats(10)), S) == []  # 2 < min_history
    assert check_run(run(100, stats(5)), history(stats(10), stats(10), stats(10)), S) == []  # exactly 50%
    # only history_runs runs count: older big runs do not raise the median
    past = history(*([stats(6)] * 5), *([stats(100)] * 5))
    assert check_run(run(100, stats(4)), past, S) == []


def test_page_ratios_blocked_malformed_and_errors() -> None:
    (f,) = check_run(run(100, stats(10, pages_read=2, page_http_500=2, page_timeout=1)), history(stats(10)), S)
    assert (f.problem, f.severity) == ("error_ratio", "warning")
    assert "3 of 5 pages failed (page_http_500: 2, page_timeout: 1): 60%, usually 0%" in f.message
    found = check_run(run(100, stats(0, pages_read=0, page_blocked=3)), history(stats(10)), S)
    assert problems(found) == ["no_items", "blocked_ratio"]
    assert found[1].severity == "critical" and "3 of 3 pages blocked: 100%" in found[1].message
    (m,) = check_run(run(100, stats(8, pages_read=3, page_malformed=1)), history(stats(10)), S)
    assert m.problem == "malformed_ratio" and "1 of 4 pages malformed: 25%" in m.message
    # at the threshold, and pages read but also counted as needing a browser: nothing
    assert check_run(run(100, stats(8, pages_read=4, page_http_404=1)), history(stats(10)), S) == []
    assert pages(stats(0, pages_read=1, page_needs_browser=1))["total"] == 1


def test_no_new_mentions_several_runs_in_a_row_is_info() -> None:
    quiet = stats(10, inserted=0)
    (f,) = check_run(run(100, quiet), history(quiet, quiet, quiet, stats(10)), S)
    assert (f.problem, f.severity, f.details["runs"]) == ("no_new", "info", [100, 99, 98, 97])
    assert check_run(run(100, quiet), history(quiet, quiet, stats(10, inserted=1)), S) == []


def test_thresholds_come_from_the_settings_and_failed_runs_are_not_checked() -> None:
    strict = replace(S, items_ratio=0.9, min_history=1)
    assert problems(check_run(run(100, stats(8)), history(stats(10)), strict)) == ["items_drop"]
    assert check_run(run(100, stats(0), outcome="failed"), history(stats(10)), S) == []


# -- config ---------------------------------------------------------------------------------
def _config(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(ONE_HOTEL + table, encoding="utf-8")
    return path


def test_health_table_defaults_and_overrides(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "")).health == HealthSettings()
    h = load_config(_config(tmp_path, "[health]\nitems_ratio = 0.3\nhistory_runs = 8\nstale_runs = 6\n")).health
    assert (h.items_ratio, h.history_runs, h.stale_runs, h.min_history) == (0.3, 8, 6, 3)


@pytest.mark.parametrize(("table", "key", "problem"), [
    ("items_ratio = 1.5", "health.items_ratio", "must be between 0 and 1"),
    ("error_ratio = \"high\"", "health.error_ratio", "expected a number"),
    ("min_history = 6", "health.min_history", "must not exceed history_runs (5)"),
    ("coverage_now = 0.9", "health.coverage_now", "must be below coverage_was (0.8)"),
    ("stale_runs = 1", "health.stale_runs", "must be between 2 and 101"),
    ("treshold = 1", "health.treshold", "unknown key"),
])
def test_bad_health_settings_name_file_key_and_problem(tmp_path: Path, table: str, key: str, problem: str) -> None:
    path = _config(tmp_path, f"[health]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.file, err.value.key) == (str(path), key) and problem in err.value.problem


# -- recorded with the run --------------------------------------------------------------------
def test_check_and_record_stores_the_findings_with_the_run(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/h.db")
    ids = []
    for st in (stats(10), stats(10, rating=0)):
        rid = store.start_run(SRC, "hotel_reviews", T0)
        store.finish_run(rid, T0 + timedelta(minutes=1), "finished", st)
        ids.append(rid)
    failed = store.start_run("other", "rss", T0)
    store.finish_run(failed, T0, "failed", {})
    (f,) = check_and_record(store, SRC, ids[1], S)
    assert f.problem == "fields_lost" and f.found_at == T0 + timedelta(minutes=1)
    assert store.list_health(run_id=ids[1]) == [f]
    assert check_and_record(store, SRC, ids[1], S) == [f]  # idempotent: same rows, not doubled
    assert len(store.list_health(source_id=SRC)) == 1
    assert check_and_record(store, SRC, ids[1], replace(S, enabled=False)) == []
    assert check_and_record(store, "other", failed, S) == [] and store.list_health(source_id="other") == []
    store.close()


# -- crawl_health alerts: the existing incidents, cooldown and routes -------------------------
ALERTING = ONE_HOTEL + """
[store]
url = "sqlite:///{db}"

[[sources]]
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "http://127.0.0.1:1/reviews"

[[channels]]
id = "ops"
url = "json://127.0.0.1:{port}/health"

[[channels]]
id = "spikes"
url = "json://127.0.0.1:{port}/spikes"

[[routes]]
channels = ["ops"]
match = {{ kind = "crawl_health" }}

[[routes]]
channels = ["spikes"]
match = {{ kind = ["negative_spike", "rating_drop"] }}
"""


def _crawl(store: SQLiteStore, at: datetime, st: dict[str, Any]) -> int:
    rid = store.start_run(SRC, "hotel_reviews", at)
    store.finish_run(rid, at + timedelta(minutes=1), "finished", st)
    check_and_record(store, SRC, rid, S)
    return rid


def test_health_alerts_one_incident_per_source_and_problem_with_cooldown(tmp_path: Path) -> None:
    from monitor.alerting import check_and_notify, notify_health
    from tests.alert_receivers import Webhook

    with Webhook() as hook:
        (tmp_path / "v.toml").write_text(ALERTING.format(db=tmp_path / "a.db", port=hook.port), encoding="utf-8")
        config = load_config(tmp_path / "v.toml")
        store = SQLiteStore(config.store_url)
        _crawl(store, T0, stats(10))
        r2 = _crawl(store, T0 + timedelta(hours=6), stats(10, rating=0))
        found, sent = notify_health(config, store, [r2], now=T0 + timedelta(hours=6, minutes=2))
        assert [(a.kind, a.severity, a.location_id) for a in found] == [("crawl_health", "warning", "harbor-sh-bund")]
        assert [(r.channel, r.status) for r in sent] == [("ops", "sent")]  # routed by kind: not to "spikes"
        assert hook.requests[0]["path"] == "/health" and SRC in hook.requests[0]["json"]["alert"]["title"]
        # the scheduler's check right after the crawl: this run's finding is already out
        assert check_and_notify(config, store, now=T0 + timedelta(hours=6, minutes=3)) == ([], [])
        # still broken six hours later: the same incident, updated, not re-sent
        r3 = _crawl(store, T0 + timedelta(hours=12), stats(10, rating=0))
        assert notify_health(config, store, [r3], now=T0 + timedelta(hours=12, minutes=2)) == ([], [])
        alerts = store.alerts
        (incident,) = alerts.list()
        assert incident.id == found[0].id and incident.details["run_id"] == r3 and incident.state == "notified"
        # worse (the text is gone too): the incident's severity rises and it is re-notified
        r4 = _crawl(store, T0 + timedelta(hours=18), stats(10, rating=0, text=0))
        again, sent = notify_health(config, store, [r4], now=T0 + timedelta(hours=18, minutes=2))
        assert [(a.id, a.version, a.severity) for a in again] == [(incident.id, 2, "critical")]
        assert [r.status for r in sent] == ["sent"] and len(hook.requests) == 2
        # quiet for longer than the cooldown: a later finding is a new incident, sent again
        later = T0 + timedelta(hours=18 + config.alerts.cooldown_hours + 1)
        r5 = _crawl(store, later, stats(10, rating=0, text=0))
        fresh, sent = notify_health(config, store, [r5], now=later + timedelta(minutes=2))
        assert len(fresh) == 1 and fresh[0].id != incident.id and [r.status for r in sent] == ["sent"]
        assert alerts.get(incident.id).state == "resolved"  # type: ignore[union-attr]
        # a source not crawled since: its last finding is not re-opened once the cooldown is over
        much_later = later + timedelta(hours=config.alerts.cooldown_hours + 1)
        assert check_and_notify(config, store, now=much_later) == ([], [])
        assert len(hook.requests) == 3
        store.close()


def test_health_alerts_respect_the_switches(tmp_path: Path) -> None:
    from monitor.alerting import health_alerts

    for table in ("[alerts]\nenabled = false\n", "[health]\nenabled = false\n"):
        (tmp_path / "v.toml").write_text(ALERTING.format(db=tmp_path / "b.db", port=1) + table, encoding="utf-8")
        config = load_config(tmp_path / "v.toml")
        store = SQLiteStore(config.store_url)
        _crawl(store, T0, stats(10))
        rid = _crawl(store, T0 + timedelta(hours=1), stats(0))
        assert health_alerts(config, store, now=T0 + timedelta(hours=2), run_ids=[rid]) == []
        store.close()


def test_the_scheduler_check_after_a_crawl_delivers_what_the_crawl_did_not(tmp_path: Path) -> None:
    """A crawl process killed before it delivered: its findings are stored with the run, and
    the scheduler's check right after the process ends sends them."""
    from monitor.scheduler import after_crawl
    from tests.alert_receivers import Webhook

    with Webhook() as hook:
        (tmp_path / "v.toml").write_text(ALERTING.format(db=tmp_path / "c.db", port=hook.port), encoding="utf-8")
        config = load_config(tmp_path / "v.toml")
        store = SQLiteStore(config.store_url)
        now = datetime.now(UTC)
        _crawl(store, now - timedelta(hours=7), stats(10))
        _crawl(store, now - timedelta(minutes=5), stats(0))
        store.close()
        after_crawl(config, SRC, "finished")
        after_crawl(config, SRC, "finished")  # and only once
        assert [r["json"]["alert"]["details"]["problem"] for r in hook.requests] == ["no_items"]
        assert hook.requests[0]["json"]["alert"]["severity"] == "critical"
