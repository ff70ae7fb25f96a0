"""The leader's schedule state writes carry its fence (``crawlers.store.schedule``): a
leader writes its whole plan under its token, and once a later leader has written a row,
the deposed one's writes to it are refused, whatever it still believes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.loader import load_config
from crawlers.store import open_store
from monitor.scheduler import CrawlScheduler
from tests.test_distributed_leader import failover_config, wait_for


def test_the_leaders_state_writes_carry_its_fence(tmp_path: Path, redis_url: str) -> None:
    config = load_config(failover_config(tmp_path, redis_url, {"a": 3600, "b": 3600}, jitter=0))
    s = CrawlScheduler(config)
    s.start()
    store = open_store(config.store_url)
    try:
        assert wait_for(lambda: s.lock.fence is not None and len(store.schedule_state.load()) == 2, timeout=10)
        fence = s.lock.fence
        state = store.schedule_state.load()
        assert {e.fence for e in state.values()} == {fence}  # the whole plan, under this leadership's token

        # a later leader moves "a" on; this (now deposed) one writing it again is refused
        later = datetime.now(UTC) + timedelta(hours=5)
        assert store.schedule_state.save("a", "every 3600s", later, fence=fence + 1)
        job = s.scheduler.get_job("a")
        job.modify(next_run_time=datetime.now(UTC) + timedelta(hours=2))  # written through the fenced store
        assert store.schedule_state.load()["a"] == ("every 3600s", later, fence + 1)
        assert store.schedule_state.load()["b"].fence == fence
    finally:
        s.stop()
        store.close()
