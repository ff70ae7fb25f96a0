"""The scheduler's leader lock (TTL + fencing token) on a real redis-server, and failover
of real ``vocwatch schedule run`` processes: one leads and enqueues every due slot of every
source exactly once, a standby takes over within 3 x the TTL when the leader is SIGKILLed
or frozen, and a deposed leader cannot enqueue."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import redis

from config.model import DistributedSettings
from crawlers.distributed.jobs import JobQueue, job_id
from crawlers.distributed.leader import LeaderLock
from tests.conftest import ONE_HOTEL, ROOT, crawl_head

PREFIX = "lt"


def settings(url: str, ttl: float = 2.0) -> DistributedSettings:
    return DistributedSettings(redis_url=url, key_prefix=PREFIX, leader_ttl_seconds=ttl)


@pytest.fixture
def client(redis_url: str) -> Any:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def wait_for(predicate: Any, timeout: float, every: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    return None


# -- the lock --------------------------------------------------------------------------
def test_only_one_holder_acquires_and_status_names_it(client: Any, redis_url: str) -> None:
    a, b = LeaderLock(client, settings(redis_url), "a"), LeaderLock(client, settings(redis_url), "b")
    assert a.acquire() == 1
    assert b.acquire() is None
    assert a.acquire() is None  # a leader renews, it does not acquire again
    assert a.is_leader() and not b.is_leader()
    info = b.status()
    assert info is not None and (info.fence, info.holder) == (1, "a")
    assert 0 < info.ttl_seconds <= 2.0
    assert client.get(f"{PREFIX}:leader") == b"1 a"


def test_renew_extends_only_the_holders_own_lock(client: Any, redis_url: str) -> None:
    a, b = LeaderLock(client, settings(redis_url, ttl=10), "a"), LeaderLock(client, settings(redis_url, ttl=10), "b")
    assert not b.renew()  # holds nothing
    a.acquire()
    client.pexpire(f"{PREFIX}:leader", 3000)
    assert a.renew()
    assert client.pttl(f"{PREFIX}:leader") > 5000
    b.fence = 1  # b wrongly believes it holds fence 1: the value is "1 a", not "1 b"
    assert not b.renew() and b.fence is None
    assert client.get(f"{PREFIX}:leader") == b"1 a"


def test_release_only_if_mine_then_the_next_holder_gets_a_larger_fence(client: Any, redis_url: str) -> None:
    a, b = LeaderLock(client, settings(redis_url), "a"), LeaderLock(client, settings(redis_url), "b")
    a.acquire()
    b.fence = 1
    assert not b.release()
    assert client.get(f"{PREFIX}:leader") == b"1 a"
    assert a.release() and not a.is_leader()
    assert b.status() is None
    assert b.acquire() == 2


def test_an_unrenewed_lock_expires_for_both_sides(client: Any, redis_url: str) -> None:
    """The holder stops believing it leads by its own clock (no word from Redis needed),
    Redis drops the key by then, and another holder acquires with a larger fence."""
    a, b = LeaderLock(client, settings(redis_url, ttl=0.4), "a"), LeaderLock(client, settings(redis_url, ttl=0.4), "b")
    assert a.acquire() == 1
    assert wait_for(lambda: not a.is_leader(), timeout=2)
    assert wait_for(lambda: b.acquire(), timeout=2) == 2  # within a few ms of a's own deadline
    assert not a.renew()
    assert a.status() is not None and a.status().holder == "b"


def test_fences_only_grow(client: Any, redis_url: str) -> None:
    """Across holders, releases, expiries and even a deleted lock key, every acquisition
    gets a larger fence than all before it."""
    locks = [LeaderLock(client, settings(redis_url, ttl=0.2), h) for h in "abc"]
    fences = []
    for i in range(9):
        lock = locks[i % 3]
        fence = wait_for(lock.acquire, timeout=2)
        fences.append(fence)
        if i % 3 == 0:
            lock.release()
        elif i % 3 == 1:
            client.delete(f"{PREFIX}:leader")
        # else: left to expire
    assert fences == sorted(set(fences)) and len(fences) == 9
    assert locks[0].last_fence() == fences[-1]


def test_a_deposed_leader_cannot_enqueue(client: Any, redis_url: str) -> None:
    s = settings(redis_url, ttl=0.3)
    queue = JobQueue(client, s)
    old, new = LeaderLock(client, s, "old"), LeaderLock(client, s, "new")
    stale = old.acquire()
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert queue.enqueue("src", due, fence=stale)
    current = wait_for(new.acquire, timeout=2)
    assert current is not None and current > stale  # type: ignore[operator]
    later = due + timedelta(minutes=5)
    assert not queue.enqueue("src", later, fence=stale)
    assert queue.get(job_id("src", later)) is None
    assert queue.enqueue("src", later, fence=current)
    assert not queue.enqueue("src", later, fence=current)  # the same slot again: a no-op


# -- failover of real schedulers --------------------------------------------------------
TTL = 2.0
JITTER = 1.0
INTERVALS = {"every-1s": 1, "every-2s": 2, "every-3s": 3}
SOURCE = """
[[sources]]
id = "{id}"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "http://127.0.0.1:1/hotels/{id}"
schedule = "every {seconds}s"
"""
ENQUEUED = re.compile(r"enqueued (\S+) \(fence (\d+)\)")


def failover_config(tmp_path: Path, url: str, intervals: dict[str, int] = INTERVALS, jitter: float = JITTER,
                    ttl: float = TTL) -> Path:
    """Sources ``id -> every N s`` on one SQLite store (its schedule state shared by every
    scheduler of the test) and ``[distributed]`` on ``url``."""
    text = (crawl_head().format(db=tmp_path / "s.db")
            + f"\n[schedule]\njitter_seconds = {jitter}\nmisfire_grace_seconds = 60\n"
            + f'\n[distributed]\nredis_url = "{url}"\nkey_prefix = "{PREFIX}"\nleader_ttl_seconds = {ttl}\n'
            + ONE_HOTEL
            + "".join(SOURCE.format(id=sid, seconds=sec) for sid, sec in intervals.items()))
    path = tmp_path / "vocwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_scheduler(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "VOCWATCH_REDIS_URL"}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "vocwatch", "schedule", "run", "-c", str(config)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def leader_pid(lock: LeaderLock) -> tuple[int, int] | None:
    """(pid, fence) of the current leader (its holder is ``host:pid:random``)."""
    info = lock.status()
    return (int(info.holder.split(":")[1]), info.fence) if info else None


def jobs_by_source(client: Any) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for k in client.scan_iter(f"{PREFIX}:job:*"):
        if k.endswith(b":workers"):
            continue
        h = {a.decode(): b.decode() for a, b in client.hgetall(k).items()}
        h["id"] = k.decode().removeprefix(f"{PREFIX}:job:")
        out.setdefault(h["source_id"], []).append(h)
    for jobs in out.values():
        jobs.sort(key=lambda j: float(j["due_epoch"]))
    return out


def each_source_has(client: Any, n: int, since: float = 0.0, fence: int | None = None) -> bool:
    jobs = jobs_by_source(client)
    return all(sum(float(j["due_epoch"]) >= since and (fence is None or int(j["fence"]) == fence)
                   for j in jobs.get(sid, [])) >= n for sid in INTERVALS)


def every_slot_enqueued_once(texts: list[str], client: Any, stopped_wall: float,
                             longest_pause: float) -> dict[str, list[dict[str, str]]]:
    """Check the schedulers' logs and the jobs in Redis: no job id enqueued twice (each
    successful enqueue logs its id), no slot twice under another id (a due time drawn
    afresh), no gap between a source's consecutive due times beyond its interval + jitter
    + ``longest_pause`` (+ 1 s: due times are cut to the second), and the last slot recent."""
    enqueued = [m.group(1) for text in texts for m in ENQUEUED.finditer(text)]
    assert len(enqueued) == len(set(enqueued)), "a job id was enqueued twice"
    jobs = jobs_by_source(client)
    assert set(enqueued) <= {j["id"] for js in jobs.values() for j in js}
    for sid, interval in INTERVALS.items():
        dues = [float(j["due_epoch"]) for j in jobs[sid]]
        gaps = [b - a for a, b in pairwise(dues)]
        assert all(g > interval - 1 for g in gaps), (sid, gaps)
        assert all(g <= interval + JITTER + longest_pause + 1 for g in gaps), (sid, gaps)
        assert dues[-1] >= stopped_wall - (interval + JITTER + 1), sid
    return jobs


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.mark.parametrize("failure", ["SIGKILL", "SIGSTOP"])
def test_a_standby_takes_over_and_every_due_slot_is_enqueued_once(
        tmp_path: Path, redis_url: str, client: Any, failure: str) -> None:
    """Two schedulers on one Redis and one schedule state: one leads, one stands by. The
    leader is SIGKILLed (or frozen by SIGSTOP past its TTL, then let go on again as a
    deposed leader): the standby leads within 3 x TTL, and over the whole test every due
    slot of every source was enqueued exactly once, with no gap beyond interval + jitter
    + the takeover bound."""
    config = failover_config(tmp_path, redis_url)
    lock = LeaderLock(client, settings(redis_url, TTL), "test")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [start_scheduler(config, log) for log in logs]
    try:
        first = wait_for(lambda: leader_pid(lock), timeout=30)
        assert first is not None, [log.read_text() for log in logs]
        assert first[0] in {p.pid for p in procs}
        standby_log = logs[next(i for i, p in enumerate(procs) if p.pid != first[0])]
        assert wait_for(lambda: "standing by: the leader is" in standby_log.read_text(), timeout=10)
        assert wait_for(lambda: each_source_has(client, 2), timeout=60)
        # the leader now (still the first unless a starved machine let a renewal slip past
        # the TTL: a legitimate handover, which the checks below cover as well)
        now_leading = leader_pid(lock)
        assert now_leading is not None
        pid, fence = now_leading
        leader = next(p for p in procs if p.pid == pid)
        standby = next(p for p in procs if p.pid != pid)

        os.kill(leader.pid, getattr(signal, failure))
        failed_at, failed_wall = time.monotonic(), time.time()
        second = wait_for(lambda: (lp := leader_pid(lock)) and lp[0] == standby.pid and lp, timeout=3 * TTL + 2)
        took = time.monotonic() - failed_at
        assert second is not None and took <= 3 * TTL, f"no takeover within {3 * TTL} s"
        print(f"takeover after {failure} of the leader: {took:.2f} s (TTL {TTL:g} s)")  # shown by pytest -s
        assert second[1] > fence
        if failure == "SIGSTOP":
            os.kill(leader.pid, signal.SIGCONT)  # wakes up deposed, believing it leads
            resumed_at = time.time()
        assert wait_for(lambda: each_source_has(client, 2, since=failed_wall + 3 * TTL, fence=second[1]), timeout=60)
        assert leader_pid(lock) == second
        stopped_wall = time.time()
    finally:
        stop_all(procs)
    texts = [log.read_text() for log in logs]
    assert standby.returncode == 0, texts[procs.index(standby)]

    jobs = every_slot_enqueued_once(texts, client, stopped_wall, longest_pause=3 * TTL)
    for sid in INTERVALS:
        assert max(int(j["fence"]) for j in jobs[sid]) == second[1]
    if failure == "SIGSTOP":
        deposed = texts[procs.index(leader)]
        assert "leadership lost" in deposed
        # nothing enqueued by the deposed leader after it woke (its fence is refused in
        # Redis anyway; this shows it stopped on its own)
        assert all(float(j["enqueued_at"]) < resumed_at for js in jobs.values() for j in js
                   if int(j["fence"]) == fence)
        assert leader.returncode == 0, deposed
    assert not JobQueue(client, settings(redis_url)).enqueue("every-1s", datetime.now(UTC), fence=fence)


def test_redis_down_stops_the_leader_and_the_schedule_resumes_without_gap_or_double(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Redis is killed under two schedulers: the leader cannot renew, its lease runs out on
    its own clock and it stops enqueuing; when Redis is back (its data kept by the AOF) one
    scheduler leads with a larger fence, re-reads the persisted next run times, and every
    slot is enqueued once, the downtime's missed slots coalesced."""
    from tests.redis_server import RedisServer, require_redis_server

    require_redis_server()
    server = RedisServer(tmp_path / "redis")
    server.start()
    request.addfinalizer(server.stop)  # also when the test fails before its end
    client = redis.Redis.from_url(server.url)
    config = failover_config(tmp_path, server.url)
    lock = LeaderLock(client, settings(server.url, TTL), "test")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [start_scheduler(config, log) for log in logs]
    try:
        first = wait_for(lambda: leader_pid(lock), timeout=30)
        assert first is not None, [log.read_text() for log in logs]
        assert wait_for(lambda: each_source_has(client, 2), timeout=60)
        leader_log = logs[next(i for i, p in enumerate(procs) if p.pid == leader_pid(lock)[0])]  # type: ignore[index]
        server.stop(signal.SIGKILL)
        down_at = time.monotonic()
        assert wait_for(lambda: "leadership lost" in leader_log.read_text(), timeout=3 * TTL)
        assert time.monotonic() - down_at <= TTL + TTL / 3 + 1  # its lease, then the next beat
        time.sleep(TTL)
        server.start()
        client = redis.Redis.from_url(server.url)
        lock = LeaderLock(client, settings(server.url, TTL), "test")
        up_at, up_wall = time.monotonic(), time.time()
        second = wait_for(lambda: leader_pid(lock), timeout=3 * TTL + 2)
        assert second is not None and time.monotonic() - up_at <= 3 * TTL
        assert second[1] > first[1]
        assert wait_for(lambda: each_source_has(client, 2, since=up_wall + 3 * TTL, fence=second[1]), timeout=60)
        outage = time.monotonic() - down_at
        stopped_wall = time.time()
    finally:
        stop_all(procs)
    texts = [log.read_text() for log in logs]
    try:
        failed = [f"scheduler {p.pid} exited {p.returncode}:\n{t}" for p, t in zip(procs, texts, strict=True)
                  if p.returncode != 0]
        assert not failed, "\n\n".join(failed)  # each failed scheduler's whole log, not a shortened repr
        every_slot_enqueued_once(texts, client, stopped_wall, longest_pause=outage)
    finally:
        client.close()
        server.stop()


# -- the leader's enqueue/persist order, in process -------------------------------------
@pytest.fixture
def scheduler_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build distributed CrawlSchedulers from config files; all stopped at the end."""
    from config.loader import load_config
    from monitor.scheduler import CrawlScheduler

    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    made: list[Any] = []

    def build(path: Path) -> Any:
        made.append(CrawlScheduler(load_config(path)))
        return made[-1]

    yield build
    for s in made:
        s.stop()


def persisted(config: Path, source_id: str) -> datetime:
    from config.loader import load_config
    from crawlers.store import open_store

    store = open_store(load_config(config).store_url)
    try:
        when = store.schedule_state.load()[source_id].next_run
    finally:
        store.close()
    assert when is not None
    return when


def test_a_slot_enqueued_just_before_a_crash_is_not_enqueued_again(
        tmp_path: Path, redis_url: str, client: Any, scheduler_of: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The old leader enqueued slot X and died before persisting the next run time (and
    nobody led for a few intervals): the new leader reads X again, its enqueue is a no-op
    (the job id is the source and X, not a time drawn afresh), the slots missed since are
    coalesced into it, and the next slot is a new one after the takeover."""
    from config.loader import load_config
    from crawlers.store import open_store

    config = failover_config(tmp_path, redis_url, {"two": 2}, jitter=0)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=7)
    store = open_store(load_config(config).store_url)
    store.schedule_state.save("two", "every 2s", due)
    store.close()
    old = LeaderLock(client, settings(redis_url), "old")
    assert JobQueue(client, settings(redis_url)).enqueue("two", due, fence=old.acquire())
    old.release()

    caplog.set_level("INFO")
    started = time.time()
    scheduler_of(config).start()
    assert wait_for(lambda: len(jobs_by_source(client).get("two", [])) >= 3, timeout=10)
    jobs = jobs_by_source(client)["two"]
    assert jobs[0]["id"] == job_id("two", due) and int(jobs[0]["fence"]) == 1
    assert f"{job_id('two', due)} was already enqueued" in caplog.text
    assert all(float(j["due_epoch"]) >= started - 1 for j in jobs[1:]), jobs  # X+2 .. X+6 coalesced into X
    assert {int(j["fence"]) for j in jobs[1:]} == {2}


def test_a_refused_fence_leaves_the_slot_persisted_for_the_next_leader(
        tmp_path: Path, redis_url: str, client: Any, scheduler_of: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The lock is taken from under the leader while its own lease still runs (Redis lost
    the key, or the leader's clock ran slow): its next enqueue is refused by the fence; it
    stops, does not persist past the slot it could not enqueue, stands by, and when it
    leads again (a larger fence) it enqueues exactly that slot: nothing skipped."""
    ttl = 6.0  # renewals every 2 s; the 1 s source falls due between them
    config = failover_config(tmp_path, redis_url, {"fast": 1}, jitter=0, ttl=ttl)
    caplog.set_level("INFO")
    scheduler_of(config).start()
    assert wait_for(lambda: len(jobs_by_source(client).get("fast", [])) >= 2, timeout=10)

    assert wait_for(lambda: client.pttl(f"{PREFIX}:leader") > ttl * 1000 - 100, timeout=ttl)  # just renewed
    client.delete(f"{PREFIX}:leader")
    thief = LeaderLock(client, settings(redis_url, ttl=60), "thief")
    stolen = thief.acquire()
    assert wait_for(lambda: "leadership lost" in caplog.text, timeout=ttl)
    assert "refused: fence 1 is no longer the leader's" in caplog.text  # the enqueue saw it first
    before = jobs_by_source(client)["fast"]
    assert {int(j["fence"]) for j in before} == {1}
    time.sleep(1.5)  # slots fall due while nobody may enqueue
    assert jobs_by_source(client)["fast"] == before
    pending = persisted(config, "fast")
    last = float(before[-1]["due_epoch"])
    assert queue_get(client, redis_url, "fast", pending) is None  # the slot not enqueued ...
    # ... is the one right after the last enqueued (``last`` is cut to the second)
    assert 1 <= pending.timestamp() - last < 2

    thief.release()
    assert wait_for(lambda: queue_get(client, redis_url, "fast", pending), timeout=ttl)
    job = client.hgetall(f"{PREFIX}:job:{job_id('fast', pending)}")
    assert int(job[b"fence"]) > stolen  # type: ignore[operator]


def queue_get(client: Any, url: str, source_id: str, due: datetime) -> Any:
    return JobQueue(client, settings(url)).get(job_id(source_id, due))


def test_cli_schedule_status_names_the_leader_and_counts_jobs(tmp_path: Path, redis_url: str, client: Any) -> None:
    from tests.conftest import run_vocwatch

    config = failover_config(tmp_path, redis_url)
    env = {"VOCWATCH_REDIS_URL": ""}
    out = run_vocwatch("schedule", "status", "-c", str(config), env=env)
    assert out.returncode == 0, out.stderr
    assert "leader: none (the last fence handed out was 0)" in out.stdout
    lock = LeaderLock(client, settings(redis_url, ttl=60), "host-a:123:abc")  # outlives a slow CLI start
    JobQueue(client, settings(redis_url)).enqueue("every-1s", datetime.now(UTC), fence=lock.acquire())
    out = run_vocwatch("schedule", "status", "-c", str(config), env=env)
    assert re.search(r"leader: host-a:123:abc  fence 1  lock expires in (60\.0|[2-5]\d\.\d) s", out.stdout), out.stdout
    assert "jobs: ready 1  active 0  done 0  failed 0" in out.stdout
