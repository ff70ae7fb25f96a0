"""Bounds and backoff, fast parts: config keys and their errors, the backoff schedule, run
records that keep the failed pages, run outcomes of stopped crawls."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import ConfigError, load_config
from crawlers.extensions import jsonable_stats, run_outcome
from crawlers.middlewares import backoff_seconds
from crawlers.store import open_store
from crawlers.store.base import RUN_OUTCOMES
from tests.conftest import ONE_HOTEL

SOURCE = """
[[sources]]
location = "harbor-sh-bund"
kind = "mall_comments"
url = "https://example.org/api"
"""


def cfg(tmp_path: Path, crawl: str = "", source: str = "") -> Path:
    p = tmp_path / "v.toml"
    p.write_text(f"[crawl]\n{crawl}\n" + ONE_HOTEL + SOURCE + source, encoding="utf-8")
    return p


def test_defaults_bound_every_crawl_and_survive_a_one_minute_outage(tmp_path: Path) -> None:
    c = load_config(cfg(tmp_path)).crawl
    assert (c.max_pages, c.time_limit, c.memory_limit_mb) == (500, 1500.0, 2048)
    assert (c.retries, c.retry_backoff, c.retry_backoff_max, c.retry_budget) == (8, 1.0, 60.0, 180.0)
    # the shortest the default waits can add up to (equal jitter: at least half of each)
    floor = sum(min(c.retry_backoff_max, c.retry_backoff * 2**n) / 2 for n in range(c.retries))
    assert floor > 60 and c.retry_budget > 60


def test_crawl_bounds_are_read_and_a_source_overrides_max_pages(tmp_path: Path) -> None:
    config = load_config(cfg(tmp_path, "max_pages = 40\ntime_limit = 0\nmemory_limit_mb = 512\nretries = 2\n"
                                       "retry_backoff = 0.5\nretry_backoff_max = 4\nretry_budget = 30"))
    c = config.crawl
    assert (c.max_pages, c.time_limit, c.memory_limit_mb, c.retries) == (40, 0.0, 512, 2)
    assert (c.retry_backoff, c.retry_backoff_max, c.retry_budget) == (0.5, 4.0, 30.0)
    (src,) = config.sources.values()
    assert src.max_pages is None  # the [crawl] default applies
    config = load_config(cfg(tmp_path, source="max_pages = 3\n"))
    assert next(iter(config.sources.values())).max_pages == 3


@pytest.mark.parametrize(("crawl", "key", "problem"), [
    ("max_pages = 0", "crawl.max_pages", "must be greater than 0, got 0"),
    ('max_pages = "all"', "crawl.max_pages", "expected an integer, got a string 'all'"),
    ("time_limit = -1", "crawl.time_limit", "must be 0 or more"),
    ("memory_limit_mb = 1.5", "crawl.memory_limit_mb", "expected an integer, got a number 1.5"),
    ("retry_backoff = -0.1", "crawl.retry_backoff", "must be 0 or more"),
    ("retry_backoff = 2\nretry_backoff_max = 1", "crawl.retry_backoff_max", "must be at least retry_backoff (2)"),
    ("retry_budget = -5", "crawl.retry_budget", "must be 0 or more"),
    ("max_page = 5", "crawl.max_page", "unknown key"),
])
def test_bad_bounds_name_file_key_and_problem(tmp_path: Path, crawl: str, key: str, problem: str) -> None:
    path = cfg(tmp_path, crawl)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.file, err.value.key) == (str(path), key)
    assert problem in err.value.problem


def test_source_max_pages_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\]\.max_pages: must be greater than 0"):
        load_config(cfg(tmp_path, source="max_pages = 0\n"))


def test_backoff_grows_exponentially_with_equal_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for n in range(12):
        nominal = min(60.0, 2.0**n)
        waits = [backoff_seconds(n, 1.0, 60.0, rng) for _ in range(200)]
        assert all(nominal / 2 <= w <= nominal for w in waits)
        assert max(waits) - min(waits) > nominal / 4  # jittered: retries of many requests spread out
    assert backoff_seconds(1000, 1.0, 60.0) <= 60.0  # no overflow for huge retry counts
    assert backoff_seconds(3, 0.0, 60.0) == 0.0


def test_failed_requests_stay_json_in_the_run_record(tmp_path: Path) -> None:
    failed = [{"url": "http://x/api?page=3", "callback": "parse", "cb_kwargs": {"page": 3}, "reason": "page_http_500"}]
    stats = jsonable_stats({"vocwatch/failed_requests": failed, "other": {1, 2}, "n": 1})
    assert stats["vocwatch/failed_requests"] == failed and stats["other"] == "{1, 2}"
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    run_id = store.start_run("s", "mall_comments", datetime.now(UTC))
    store.finish_run(run_id, datetime.now(UTC), "partial", stats)
    assert store.list_runs(source_id="s")[0].stats["vocwatch/failed_requests"] == failed


def test_stopped_runs_are_interrupted_and_bounded_runs_partial() -> None:
    assert "interrupted" in RUN_OUTCOMES
    assert run_outcome("shutdown", {}) == "interrupted"
    assert run_outcome("closespider_timeout", {}) == "partial"
    assert run_outcome("memusage_exceeded", {}) == "partial"
    assert run_outcome("finished", {"vocwatch/bounds/max_pages_reached": 1}) == "finished"  # a bound, not a failure
