"""Crawl schedules: persisted next runs, jitter, one instance per job, time limits, the
janitor, the CLI, and a real scheduler process crawling the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.loader import ConfigError, load_config
from config.model import Config, ScheduleSettings, Source
from crawlers.stale import RUN_HOST, RUN_PID, close_stale_runs, owner_stats
from crawlers.store import open_store
from monitor import scheduler as sched
from monitor.scheduler import (
    RUN_ERROR,
    CrawlScheduler,
    first_run,
    trigger_for,
)
from tests.conftest import ONE_HOTEL, ROOT, crawl_head, run_vocwatch

HEAD = crawl_head() + """
[schedule]
{schedule}

""" + ONE_HOTEL

SOURCE = """
[[sources]]
id = "{id}"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{url}"
{schedule}
"""

FAKE_CRAWL = """
import sys, time
from datetime import UTC, datetime
from crawlers.store import open_store
log, store_url, source_id, seconds, outcome = sys.argv[1:6]
with open(log, "a") as f:
    f.write(f"start {source_id} {time.time()}\\n")
store = open_store(store_url)
run = store.start_run(source_id, "hotel_reviews", datetime.now(UTC))
time.sleep(float(seconds))
if outcome != "none":
    store.finish_run(run, datetime.now(UTC), outcome, {})
with open(log, "a") as f:
    f.write(f"end {source_id} {time.time()}\\n")
"""


def write_config(tmp_path: Path, sources: dict[str, str | None], schedule: str = "",
                 url: str = "http://127.0.0.1:1/hotels/x") -> Path:
    """A config with one hotel source per ``id -> schedule`` (None = the default)."""
    text = HEAD.format(db=tmp_path / "s.db", schedule=schedule) + "".join(
        SOURCE.format(id=sid, url=url, schedule=f'schedule = "{s}"' if s else "") for sid, s in sources.items())
    path = tmp_path / "vocwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fake_crawls(log: Path, behaviour: dict[str, tuple[float, str]]) -> Callable[[Config, Source], Sequence[str]]:
    """A crawl command that records start/end, opens a run, sleeps, then ends it with the
    given outcome ('none' leaves it running, as a crash would)."""

    def command(config: Config, source: Source) -> list[str]:
        seconds, outcome = behaviour[source.id]
        return [sys.executable, "-c", FAKE_CRAWL, str(log), config.store_url, source.id, str(seconds), outcome]

    return command


def starts(log: Path, source_id: str | None = None) -> list[float]:
    if not log.exists():
        return []
    return [float(t) for kind, sid, t in (line.split() for line in log.read_text().splitlines())
            if kind == "start" and source_id in (None, sid)]


@pytest.fixture
def after_crawl_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, float]]:
    calls: list[tuple[str, str, float]] = []
    monkeypatch.setattr(sched, "after_crawl", lambda config, sid, outcome: calls.append((sid, outcome, time.time())))
    return calls


@pytest.fixture
def running() -> Iterator[list[CrawlScheduler]]:
    """Schedulers a test started; stopped even when it fails."""
    started: list[CrawlScheduler] = []
    yield started
    for s in started:
        if s.scheduler.running:
            s.stop()


def start(running: list[CrawlScheduler], config: Config, command: Any = sched.crawl_command) -> CrawlScheduler:
    s = CrawlScheduler(config, command)
    running.append(s)
    s.start()
    return s


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def crawl_jobs(s: CrawlScheduler) -> dict[str, datetime]:
    return {j.id: j.next_run_time for j in s.scheduler.get_jobs() if j.id != sched.JANITOR_JOB}


def test_restart_neither_loses_nor_doubles_jobs(tmp_path: Path, running: list[CrawlScheduler]) -> None:
    cfg = write_config(tmp_path, {"a": "every 1h", "b": "0 9 * * 1", "c": None})
    config = load_config(cfg)
    first = start(running, config)
    planned = crawl_jobs(first)
    assert sorted(planned) == ["a", "b", "c"]
    first.stop()

    second = start(running, load_config(cfg))
    assert crawl_jobs(second) == planned  # same jobs, once each, same next run times
    assert len(second.scheduler.get_jobs()) == 4  # and the janitor
    second.stop()

    # the state lives in the store's own SQLite file
    assert config.store_url.endswith(f"{tmp_path}/s.db")
    store = open_store(config.store_url)
    assert {k: v.next_run for k, v in store.schedule_state.load().items()} == planned
    store.close()

    # a removed source's job goes, a changed schedule is planned afresh
    write_config(tmp_path, {"a": "every 2h", "c": None})
    third = start(running, load_config(cfg))
    jobs = crawl_jobs(third)
    assert sorted(jobs) == ["a", "c"] and jobs["c"] == planned["c"]
    assert jobs["a"] != planned["a"]
    third.stop()
    store = open_store(config.store_url)
    assert sorted(store.schedule_state.load()) == ["a", "c"]
    store.close()


def test_run_missed_during_downtime_runs_once_if_within_grace(
        tmp_path: Path, running: list[CrawlScheduler], after_crawl_calls: list[Any]) -> None:
    cfg = write_config(tmp_path, {"recent": "every 10s", "old": "every 1h"},
                       "jitter_seconds = 0\nmisfire_grace_seconds = 60")
    config = load_config(cfg)
    now = datetime.now(UTC)
    store = open_store(config.store_url)
    store.schedule_state.save("recent", "every 10s", now - timedelta(seconds=45))  # 5 missed times, the last 5 s ago
    store.schedule_state.save("old", "every 1h", now - timedelta(hours=2, minutes=5))  # last missed 5 min ago
    store.close()
    log = tmp_path / "log"
    s = start(running, config, fake_crawls(log, {"recent": (0, "finished"), "old": (0, "finished")}))
    wait_for(lambda: len(after_crawl_calls) >= 1, 10)
    time.sleep(1.0)
    jobs = crawl_jobs(s)
    s.stop()
    assert len(starts(log, "recent")) == 1  # coalesced: once, not five times
    assert starts(log, "old") == []  # beyond the grace: skipped
    assert [c[:2] for c in after_crawl_calls] == [("recent", "finished")]
    assert jobs["recent"] > now and jobs["old"] > now + timedelta(minutes=50)


def test_next_runs_fall_within_the_jitter() -> None:
    settings = ScheduleSettings(jitter_seconds=30)
    tz = ZoneInfo("Asia/Shanghai")
    t0 = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)
    every = trigger_for("every 10m", settings, tz)
    nexts = [every.get_next_fire_time(t0, t0) for _ in range(300)]
    offsets = [(n - t0 - timedelta(minutes=10)).total_seconds() for n in nexts if n]
    assert len(offsets) == 300 and min(offsets) >= 0 and max(offsets) <= 30
    assert max(offsets) - min(offsets) > 10  # really random
    firsts = [(first_run(every, settings, t0) - t0).total_seconds() for _ in range(100)]
    assert min(firsts) >= 0 and max(firsts) <= 30

    monday_9 = datetime(2025, 3, 10, 9, 0, tzinfo=tz)  # cron's day 1 is Monday
    cron = trigger_for("0 9 * * 1", settings, tz)
    for _ in range(50):
        n = cron.get_next_fire_time(None, t0)
        assert n is not None and monday_9 <= n <= monday_9 + timedelta(seconds=30)


def test_a_slow_job_is_never_started_twice(tmp_path: Path, running: list[CrawlScheduler]) -> None:
    cfg = write_config(tmp_path, {"slow": "every 1s"}, "jitter_seconds = 0")
    log = tmp_path / "log"
    s = start(running, load_config(cfg), fake_crawls(log, {"slow": (2.5, "finished")}))
    time.sleep(4.0)
    s.stop()
    lines = [line.split() for line in log.read_text().splitlines()]
    events = [(float(t), kind) for kind, _, t in lines]
    depth = 0
    for _, kind in sorted(events):
        depth += 1 if kind == "start" else -1
        assert depth <= 1, lines  # never two at once
    assert 1 <= len(starts(log)) <= 2  # every 1 s would have been 4


def test_failing_and_overrunning_sources_do_not_stop_the_others(
        tmp_path: Path, running: list[CrawlScheduler], after_crawl_calls: list[Any]) -> None:
    cfg = write_config(tmp_path, {"good": "every 1s", "stuck": "every 1s", "crash": "every 1s"},
                       "jitter_seconds = 0\ntime_limit_seconds = 1\nmax_parallel = 3")
    config = load_config(cfg)
    log = tmp_path / "log"
    s = start(running, config, fake_crawls(log, {"good": (0, "finished"), "stuck": (60, "finished"),
                                                 "crash": (0, "none")}))

    def outcomes() -> dict[str, list[str]]:
        by_source: dict[str, list[str]] = {}
        for sid, outcome, _ in list(after_crawl_calls):
            by_source.setdefault(sid, []).append(outcome)
        return by_source

    # the stuck crawl ends long before its 60 s (killed at its limit) while the good one goes
    # on running every second: conditions waited for, not a wall-clock budget
    wait_for(lambda: outcomes().get("good", []).count("finished") >= 2
             and "stuck" in outcomes() and "crash" in outcomes(), 45)
    s.stop()
    assert set(outcomes()["stuck"]) == {"killed"} and set(outcomes()["crash"]) == {"killed"}
    store = open_store(config.store_url)
    runs = store.list_runs(limit=100)
    assert not [r for r in runs if r.outcome == "running"]
    reasons = {r.source_id: r.stats.get(RUN_ERROR) for r in runs if r.outcome == "killed"}
    assert reasons["stuck"] == "time limit of 1 s exceeded: crawl process killed"
    assert reasons["crash"] == "crawl process exited with code 0 before finishing its run"
    store.close()


def test_stop_terminates_running_crawls_and_marks_their_runs(
        tmp_path: Path, running: list[CrawlScheduler], after_crawl_calls: list[Any]) -> None:
    cfg = write_config(tmp_path, {"long": "every 1h"}, "jitter_seconds = 0")
    config = load_config(cfg)
    log = tmp_path / "log"
    s = start(running, config, fake_crawls(log, {"long": (60, "finished")}))
    store = open_store(config.store_url)
    wait_for(lambda: bool(store.list_runs(outcome="running")), 10)
    t = time.monotonic()
    s.stop()
    assert time.monotonic() - t < 30  # the crawl would run 60 s: stop did not wait for it
    run = store.list_runs()[0]
    assert run.outcome == "killed" and run.stats[RUN_ERROR] == "scheduler shut down during the crawl"
    assert [c[:2] for c in after_crawl_calls] == [("long", "killed")]
    store.close()


def test_janitor_closes_only_runs_whose_process_is_gone(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/j.db")
    now = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {**owner_stats(), RUN_PID: int(ended.stdout)}  # this host, a process that has ended
    elsewhere = {RUN_PID: 1, RUN_HOST: "another-host"}
    stale = store.start_run("a", "rss", now - timedelta(hours=2))  # recorded before runs named their process
    fresh = store.start_run("b", "rss", now - timedelta(minutes=5))
    done = store.start_run("c", "rss", now - timedelta(hours=3))
    store.finish_run(done, now - timedelta(hours=3), "finished", {"x": 1})
    gone = store.start_run("d", "rss", now - timedelta(minutes=1), dead)
    alive = store.start_run("e", "rss", now - timedelta(hours=5), owner_stats())  # this very process
    far_old = store.start_run("f", "rss", now - timedelta(hours=2), elsewhere)
    far_fresh = store.start_run("g", "rss", now - timedelta(minutes=5), elsewhere)
    assert sorted(close_stale_runs(store, older_than=timedelta(hours=1), now=now)) == [stale, gone, far_old]
    runs = {r.id: r for r in store.list_runs()}
    assert {runs[i].outcome for i in (stale, gone, far_old)} == {"killed"}
    assert runs[stale].stats == {RUN_ERROR: "still running after 3600 s (the time limit plus a margin): "
                                            "its crawl process is gone"}
    assert runs[gone].stats[RUN_ERROR] == f"crawl process {dead[RUN_PID]} on {dead[RUN_HOST]} ended without closing its run"
    assert runs[gone].stats[RUN_PID] == dead[RUN_PID]  # the stats it had are kept beside the reason
    assert "on another-host after 3600 s" in runs[far_old].stats[RUN_ERROR]
    assert {runs[i].outcome for i in (fresh, alive, far_fresh)} == {"running"}
    assert runs[done].outcome == "finished"
    assert store.last_successful_run("d") is None  # a killed run never moves the incremental cut-off
    store.close()


def test_scheduler_start_runs_the_janitor(tmp_path: Path, running: list[CrawlScheduler]) -> None:
    cfg = write_config(tmp_path, {"a": "every 1h"}, "time_limit_seconds = 60")
    config = load_config(cfg)
    store = open_store(config.store_url)
    old = store.start_run("a", "hotel_reviews", datetime.now(UTC) - timedelta(minutes=10))
    start(running, config).stop()
    run = store.list_runs()[0]
    assert run.id == old and run.outcome == "killed" and "time limit" in run.stats[RUN_ERROR]
    store.close()


@pytest.mark.parametrize(("schedule", "key", "problem"), [
    ("max_parallel = 0", "schedule.max_parallel", "must be greater than 0"),
    ("jitter_seconds = -1", "schedule.jitter_seconds", "must be 0 or more"),
    ('default = "every often"', "schedule.default", "not a schedule"),
    ("time_limit = 5", "schedule.time_limit", "unknown key"),
])
def test_schedule_table_is_validated(tmp_path: Path, schedule: str, key: str, problem: str) -> None:
    cfg = write_config(tmp_path, {"a": None}, schedule)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert str(err.value).startswith(f"{cfg}: {key}: {problem}")


def test_cli_list_and_next(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"a": "every 30m", "b": "0 9 * * 1", "c": None}, "jitter_seconds = 0")
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    run = store.start_run("a", "hotel_reviews", datetime.now(UTC))
    store.finish_run(run, datetime.now(UTC), "partial", {})
    store.close()
    listed = run_vocwatch("schedule", "list", "-c", str(cfg))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "times in Asia/Shanghai"  # one zone for the whole listing, the config's
    assert lines[1].split() == ["source", "location", "trigger", "next", "run", "last", "outcome"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "Z" not in rows["a"].split("partial")[1]  # the last run in the same zone, not UTC
    assert "every 30m" in rows["a"] and "partial" in rows["a"]
    assert "0 9 * * 1" in rows["b"] and "never crawled" in rows["b"]
    assert "every 6h (default)" in rows["c"]

    nxt = run_vocwatch("schedule", "next", "-c", str(cfg), "--n", "5")
    assert nxt.returncode == 0, nxt.stderr
    head, *rows_next = nxt.stdout.splitlines()
    assert head.startswith("when (Asia/Shanghai)")
    times = [line[:19] for line in rows_next]
    assert len(times) == 5 and times == sorted(times)
    assert [line.split()[2] for line in rows_next][:2].count("a") >= 1


def test_scheduled_crawls_of_the_sandbox(sandbox: Any, tmp_path: Path) -> None:
    """A real scheduler process: two sources every 4 s, real crawl processes; the second
    crawl of the hotel stops paging at mentions older than its first (incremental), the
    source on a closed port fails without stopping it, SIGTERM ends it all cleanly."""
    cfg = write_config(tmp_path, {"harbor-sh-bund/hotel_reviews": "every 4s"},
                       "jitter_seconds = 1\nmax_parallel = 2\ntime_limit_seconds = 60",
                       url="${VOCWATCH_SANDBOX}/hotels/h1001/reviews")
    cfg.write_text(cfg.read_text() + SOURCE.format(id="closed", url="http://127.0.0.1:1/hotels/x",
                                                   schedule='schedule = "every 4s"'))
    env = {**os.environ, "VOCWATCH_SANDBOX": sandbox.base_url}
    proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "schedule", "run", "-c", str(cfg)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    hotel = "harbor-sh-bund/hotel_reviews"
    try:
        wait_for(lambda: len([r for r in store.list_runs(source_id=hotel) if r.outcome == "finished"]) >= 2, 40)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-3000:]
    runs = store.list_runs(limit=100)
    assert not [r for r in runs if r.outcome == "running"]
    first, second = sorted((r for r in runs if r.source_id == hotel and r.outcome == "finished"),
                           key=lambda r: r.id)[:2]
    assert first.stats["vocwatch/pages/read"] > 1
    assert second.stats["vocwatch/pages/read"] == 1  # incremental: stopped at the first page
    assert second.stats["vocwatch/pages/stopped_at_known"] == 1
    assert second.stats.get("vocwatch/store/inserted", 0) == 0
    closed = [r for r in runs if r.source_id == "closed"]
    # one may still be retrying its connection when SIGTERM stops the scheduler: interrupted
    assert closed and all(r.outcome in ("partial", "failed", "interrupted") for r in closed)
    assert f"crawl of {hotel} ended: finished" in stderr
    assert "crawl of closed ended:" in stderr
    store.close()
