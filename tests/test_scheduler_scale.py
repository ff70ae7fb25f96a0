"""The scheduler at many jobs writes its state in batches: one write for all the jobs at
start, one per wakeup for the jobs it dispatched, and what it persisted is what APScheduler
plans (a restart resumes exactly there)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.triggers.interval import IntervalTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from config.loader import load_config
from crawlers.store import open_store
from monitor import scheduler as sched
from tests.conftest import ONE_HOTEL, crawl_head

SOURCE = """
[[sources]]
id = "s{i}"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "http://127.0.0.1:1/{i}"
schedule = "{schedule}"
"""


class NoopScheduler(sched.CrawlScheduler):
    """Each crawl replaced by an append to a list (no process)."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.ran: list[str] = []

    def run_crawl(self, source_id: str, schedule: str) -> None:
        self.ran.append(source_id)


def test_state_is_written_once_at_start_and_once_per_wakeup(tmp_path: Path) -> None:
    n = 300
    text = crawl_head() + "\n[schedule]\njitter_seconds = 0\nmax_parallel = 4\n\n" + ONE_HOTEL
    text = text.format(db=tmp_path / "s.db") + "".join(
        SOURCE.format(i=i, schedule="every 1s" if i % 2 else "every 1h") for i in range(n))
    path = tmp_path / "vocwatch.toml"
    path.write_text(text, encoding="utf-8")
    s = NoopScheduler(load_config(path))
    s.jobstore.max_due = 100  # 300 jobs due at once: at least three wakeups
    calls: dict[str, list[int]] = {"save": [], "save_many": []}
    save, save_many = s.state.save, s.state.save_many

    def one(*a: Any, **kw: Any) -> bool:
        calls["save"].append(1)
        return save(*a, **kw)

    def many(rows: Any, **kw: Any) -> int:
        rows = list(rows)
        calls["save_many"].append(len(rows))
        return save_many(rows, **kw)

    s.state.save, s.state.save_many = one, many  # type: ignore[method-assign]
    s.start()
    try:
        assert calls["save_many"] == [n]  # every job, in one write, at start
        deadline = time.monotonic() + 20
        while len(s.ran) < n + n // 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        s.scheduler.pause()
        # under the job store lock: a wakeup still running has finished, its batch written
        planned = {j.id: j.next_run_time for j in s.scheduler.get_jobs() if j.id != sched.JANITOR_JOB}
    finally:
        s.stop()
    assert len(s.ran) >= n + n // 2  # every job once (first runs within the 0 s jitter), the 1 s ones again
    assert calls["save"] == []  # never a write per job
    wakeups = calls["save_many"][1:]
    assert sum(wakeups) >= len(s.ran) and 1 < max(wakeups) <= 100
    store = open_store(s.config.store_url)
    try:
        state = store.schedule_state.load()
    finally:
        store.close()
    assert {k: v.next_run for k, v in state.items()} == planned


# -- the sorted job store behaves as APScheduler's MemoryJobStore ------------------------
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
IDS = st.sampled_from([f"j{i}" for i in range(12)])
TIMES = st.one_of(st.none(), st.integers(0, 20).map(lambda s: T0 + timedelta(seconds=s)))
OPS = st.lists(st.tuples(st.sampled_from(["add", "update", "remove"]), IDS, TIMES), max_size=60)


def _job(job_id: str, when: datetime | None) -> Job:
    job = Job(SimpleNamespace(timezone=UTC), id=job_id, func=print, trigger=IntervalTrigger(seconds=1),
              executor="default", args=(), kwargs={}, name=job_id, misfire_grace_time=1, coalesce=True,
              max_instances=1, next_run_time=when)
    return job


@settings(max_examples=200, deadline=None)
@given(OPS, st.integers(0, 20))
def test_sorted_job_store_matches_memory_job_store(ops: list[tuple[str, str, datetime | None]], at: int) -> None:
    """The same adds, reschedules (to the same or another time, or none: paused) and removes
    on both stores: the same jobs in the same order, the same due ones, the same errors."""
    mine, theirs = sched.SortedJobStore(), MemoryJobStore()
    for op, job_id, when in ops:
        outcomes = []
        for store in (mine, theirs):
            try:
                if op == "add":
                    store.add_job(_job(job_id, when))
                elif op == "update":
                    job = store.lookup_job(job_id)
                    if job is None:
                        raise JobLookupError(job_id)
                    job._modify(next_run_time=when)
                    store.update_job(job)
                else:
                    store.remove_job(job_id)
                outcomes.append(None)
            except (ConflictingIdError, JobLookupError) as exc:
                outcomes.append(type(exc))
        assert outcomes[0] == outcomes[1]
        now = T0 + timedelta(seconds=at)
        assert [j.id for j in mine.get_all_jobs()] == [j.id for j in theirs.get_all_jobs()]
        assert [j.id for j in mine.get_due_jobs(now)] == [j.id for j in theirs.get_due_jobs(now)]
        assert mine.get_next_run_time() == theirs.get_next_run_time()
    bounded = sched.SortedJobStore(max_due=2)
    for job in mine.get_all_jobs():
        bounded.add_job(_job(job.id, job.next_run_time))
    now = T0 + timedelta(seconds=at)
    assert [j.id for j in bounded.get_due_jobs(now)] == [j.id for j in theirs.get_due_jobs(now)][:2]
    mine.remove_all_jobs()
    assert mine.get_all_jobs() == [] and mine.get_next_run_time() is None
