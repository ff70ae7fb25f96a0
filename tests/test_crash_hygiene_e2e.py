"""Crash hygiene end to end: a crawl killed with SIGKILL leaves no analysis worker behind,
and the next crawl of its source closes the run it left ``running`` as ``killed``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from crawlers.store import open_store
from tests.conftest import ONE_HOTEL, ROOT, crawl_head, run_vocwatch

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes through /proc")

SOURCE = "harbor-sh-bund/hotel_reviews"
CONFIG = crawl_head(delay="{delay}", timeout=10) + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "${{VOCWATCH_SANDBOX}}/hotels/h1001/reviews"
"""
RUN_ERROR, RUN_PID, RUN_HOST = "vocwatch/error", "vocwatch/pid", "vocwatch/host"
"""The run-stats keys of ``crawlers.stale`` (spelled out: the same test runs on a base without it)."""
T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s")
        time.sleep(0.1)
    return value


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def nlp_workers(parent: int) -> list[int]:
    """Pids of the analysis worker processes (multiprocessing spawn children) of ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (fields := _stat(int(entry.name))) is None or int(fields[1]) != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X")  # a zombie is dead, only not reaped by init


@pytest.fixture
def slow_crawl(sandbox: Any, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts ``vocwatch crawl`` of one sandbox source, 2 s between pages (4 pages), in a
    process of its own; kills whatever it left (on a base without the fix: its worker)."""
    cfg = tmp_path / "slow.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "k.db", delay=2.0))
    started: list[subprocess.Popen[bytes]] = []
    workers: list[int] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "crawl", "-c", str(cfg), "-q"], cwd=ROOT,
                                env={**os.environ, "VOCWATCH_SANDBOX": sandbox.base_url},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    start.workers = workers  # type: ignore[attr-defined]
    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in workers:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: analysis runs in a thread, no worker process")
def test_killed_crawl_leaves_no_analysis_worker(slow_crawl: Any) -> None:
    proc = slow_crawl()
    workers = wait_for(lambda: nlp_workers(proc.pid), 60)
    slow_crawl.workers.extend(workers)
    assert proc.poll() is None, "the crawl ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the worker notices at once (PR_SET_PDEATHSIG) or within its watchdog's 0.5 s
    wait_for(lambda: all(gone(pid) for pid in workers), 30)


def test_next_crawl_closes_the_killed_run_as_killed(slow_crawl: Any, sandbox: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/k.db"
    sandbox.reset_faults()
    proc = slow_crawl()
    wait_for(lambda: (tmp_path / "k.db").exists(), 60)
    store = open_store(url)
    wait_for(lambda: store.count_mentions() > 0, 60)  # the first page is stored: kill mid-crawl
    slow_crawl.workers.extend(nlp_workers(proc.pid))
    assert proc.poll() is None, "the crawl ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [left] = store.list_runs(source_id=SOURCE)
    assert left.outcome == "running" and left.stats[RUN_PID] == proc.pid and left.stats[RUN_HOST]
    killed_count = store.count_mentions()
    want = {t.external_id for t in sandbox.truth_for("/hotels/h1001/reviews")}
    assert 0 < killed_count < len(want)

    fast = tmp_path / "fast.toml"
    fast.write_text(CONFIG.format(db=tmp_path / "k.db", delay=0))
    again = run_vocwatch("crawl", "-c", str(fast), "-q", env={"VOCWATCH_SANDBOX": sandbox.base_url})
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]

    new, old = store.list_runs(source_id=SOURCE)
    assert old.id == left.id and old.outcome == "killed" and old.finished_at is not None
    assert f"crawl process {proc.pid} on " in old.stats[RUN_ERROR] and "ended without closing its run" in old.stats[RUN_ERROR]
    assert new.outcome == "finished"
    # the killed run never moved the cut-off: the new crawl read everything, once
    got = [m.external_id for m in store.iter_mentions()]
    assert len(got) == len(set(got)) == len(want) and set(got) == want
    assert store.last_successful_run(SOURCE).id == new.id  # type: ignore[union-attr]
    store.close()


WATCHED = """
import os, subprocess, sys, time
# a grandchild with only the watchdog (no PR_SET_PDEATHSIG): the path taken on other
# systems, for a pool started off the main thread, or when the parent died before prctl
# (the parent passes its pid, as nlp.worker.pool does: the child's getppid may already be init's)
subprocess.Popen([sys.executable, "-c", "import os; from nlp.worker import _watch_parent; "
                  f"print(os.getpid(), flush=True); _watch_parent({os.getpid()}, every=0.05)"])
time.sleep(600)
"""


def test_worker_watchdog_exits_when_its_parent_is_gone() -> None:
    parent = subprocess.Popen([sys.executable, "-c", WATCHED], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert not gone(child)
        parent.kill()
        parent.wait()
        wait_for(lambda: gone(child), 30)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if not gone(child):
            os.kill(child, signal.SIGKILL)
