"""A source's crawl on a shared, leased scrapy-redis queue: real redis-server, real HTTP on
127.0.0.1 with an access log, real ``vocwatch worker`` processes, one SQLite store file
shared by them (``crawlers/distributed/{queue,crawl,worker}.py``)."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.model import DistributedSettings
from crawlers.distributed import redis_client
from crawlers.distributed.queue import CrawlKeys, Leases, resilient_client
from tests.redis_server import RedisServer, require_redis_server
from vocwatch.bench.distributed import Trial

PAGES = 2000


def _until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g} s: {what}")


@pytest.fixture
def trial_factory(tmp_path: Path) -> Iterator[Callable[..., Trial]]:
    trials: list[Trial] = []

    def make(redis_url: str, **kwargs: Any) -> Trial:
        options = {"pages": PAGES, "per_page": 1, "lease": 5.0, "prefix": f"t{len(trials)}", **kwargs}
        trial = Trial(tmp_path / f"t{len(trials)}", redis_url, **options)
        trials.append(trial)
        return trial

    yield make
    for trial in trials:
        trial.stop()


def _logs(trial: Trial) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(trial.workdir.glob("worker-*.log")))


def _check_stored_once(trial: Trial, jid: str) -> Any:
    rows, distinct = trial.stored()
    assert rows == distinct == trial.expected_items, _logs(trial)
    run = trial.run(jid)
    assert run.outcome == "finished", (run.stats, _logs(trial))
    assert run.stats["vocwatch/balance/unaccounted"] == 0
    assert run.stats["vocwatch/balance/read"] == run.stats["vocwatch/balance/accounted"] > 0
    return run


# -- the leases, on their own ------------------------------------------------------------
def test_a_popped_request_is_leased_until_acked_and_an_expired_lease_is_reclaimed(redis_url: str) -> None:
    client = redis_client(DistributedSettings(redis_url=redis_url))
    keys = CrawlKeys.of(DistributedSettings(redis_url=redis_url, key_prefix="lq"), "s/1")
    leases = Leases(client, keys, lease_seconds=1.0)
    client.zadd(keys.requests, {b"low": 5, b"high": -3})
    token, data = leases.pop()  # type: ignore[misc]
    assert data == b"high" and leases.queued() == 1 and leases.outstanding() == 1
    assert leases.renew([token, "gone"]) == 1
    assert leases.reclaim() == 0  # not expired yet
    time.sleep(1.1)
    assert leases.reclaim() == 1  # its worker died: back with its priority, ahead of "low"
    assert client.zrange(keys.requests, 0, -1, withscores=True) == [(b"high", -3.0), (b"low", 5.0)]
    assert leases.outstanding() == 0 and leases.renew([token]) == 0  # the old token is void
    token2, _ = leases.pop()  # type: ignore[misc]
    leases.ack([token2])
    assert leases.outstanding() == 0 and not client.hlen(keys.leased) and leases.queued() == 1
    token3, _ = leases.pop()  # type: ignore[misc]
    assert leases.release([token3]) == 1 and leases.queued() == 1 and leases.has_work()


class ReplyLosingProxy:
    """A TCP proxy to Redis that lets a chosen command through and then drops its connection
    instead of passing the reply back: the command is applied and the client never hears so,
    which is what a Redis restart does to the call in flight (this cannot be timed by
    restarting the server itself). The client's retry then reconnects here."""

    def __init__(self, redis_url: str) -> None:
        self.target_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.marker: bytes | None = None
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def drop_reply_to(self, command: bytes) -> None:
        """Lose the reply to the next command whose request contains ``command``."""
        self.marker = command

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            lose = threading.Event()
            threading.Thread(target=self._pipe, args=(client, server, lose, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, lose, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, lose: threading.Event, replies: bool) -> None:
        try:
            while data := src.recv(65536):
                if replies and lose.is_set():
                    self.dropped += 1
                    break
                if not replies and self.marker is not None and self.marker in data:
                    self.marker = None
                    lose.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def test_a_pop_applied_whose_reply_was_lost_leases_that_request_again_not_a_second_one(redis_url: str) -> None:
    proxy = ReplyLosingProxy(redis_url)
    try:
        settings = DistributedSettings(redis_url=proxy.url, key_prefix="lost")
        client = resilient_client(settings)  # the crawl's client: it retries a dropped call
        keys = CrawlKeys.of(settings, "s/1")
        leases = Leases(client, keys, lease_seconds=30.0)
        client.zadd(keys.requests, {b"p1": 1, b"p2": 2, b"p3": 3})
        first, _ = leases.pop()  # type: ignore[misc]
        leases.ack([first])  # (the script is loaded now: the reply lost is the pop's own, not NOSCRIPT)
        proxy.drop_reply_to(b"EVALSHA")
        token, data = leases.pop()  # type: ignore[misc]
        assert proxy.dropped == 1
        # the retried call answered the request the lost one leased; nothing else was taken
        assert data == b"p2"
        assert client.zrange(keys.requests, 0, -1) == [b"p3"]
        assert client.hgetall(keys.leased) == {token.encode(): b"2\np2"} and leases.outstanding() == 1
        leases.ack([token])
        assert [leases.pop()[1], leases.pop()] == [b"p3", None]  # type: ignore[index]
    finally:
        proxy.close()


def _job_through(proxy: ReplyLosingProxy) -> tuple[DistributedSettings, Any, Any]:
    """A job of source ``s/1`` taken by worker ``w:1``, on a client that talks through ``proxy``."""
    from datetime import UTC, datetime

    from crawlers.distributed.jobs import JobQueue

    settings = DistributedSettings(redis_url=proxy.url, key_prefix="lost", lease_seconds=30.0)
    jobs = JobQueue(resilient_client(settings), settings)
    jobs.enqueue("s/1", datetime.now(UTC))
    job = jobs.take("w:1")
    assert job is not None
    return settings, jobs, job


def test_a_seeding_claim_applied_whose_reply_was_lost_is_still_won_by_its_claimant(redis_url: str) -> None:
    proxy = ReplyLosingProxy(redis_url)
    try:
        _, jobs, job = _job_through(proxy)
        proxy.drop_reply_to(b"HSETNX")
        # a bare claim retried after it was applied answers False: no one would seed the job
        assert jobs.claim_seeding(job.id, "w:1/a") is True and proxy.dropped == 1
        assert jobs.claim_seeding(job.id, "w:2/b") is False and jobs.get(job.id).seeded  # type: ignore[union-attr]
        jobs.finish(job.id)
        proxy.drop_reply_to(b"SET\r\n")
        assert jobs.claim_after_crawl(job.id, "w:1") is True and proxy.dropped == 2
        assert jobs.claim_after_crawl(job.id, "w:2") is False
    finally:
        proxy.close()


def test_a_participants_counters_and_its_settling_of_the_run_survive_lost_replies(redis_url: str) -> None:
    from crawlers.distributed.crawl import _PUSH_STATS, JobParticipant

    proxy = ReplyLosingProxy(redis_url)
    try:
        settings, _, job = _job_through(proxy)
        participant = JobParticipant(settings, job.id, "w:1", "s/1")
        participant.redis.script_load(_PUSH_STATS)  # the reply lost is the script's own, not NOSCRIPT
        proxy.drop_reply_to(b"EVALSHA")
        participant.push({"vocwatch/pages/read": 3, "x/seconds": 0.5, "x/name": "a"}, "finished")
        assert proxy.dropped == 1
        added = participant.merged()  # added once, not again by the retried call
        assert (added["vocwatch/pages/read"], added["x/seconds"], added["x/name"]) == (3, 0.5, "a")
        assert added["vocwatch/distributed/participants"] == 1
        proxy.drop_reply_to(b"HSETNX")  # the last participant's claim to finish the run
        merged = participant.leave({"vocwatch/pages/read": 3}, "finished")
        assert proxy.dropped == 2
        assert merged is not None and merged["vocwatch/pages/read"] == 3, merged  # its counters were in already
    finally:
        proxy.close()


# -- real workers on a real site ----------------------------------------------------------
def test_three_workers_fetch_every_page_once_and_store_every_item_once(
        redis_url: str, trial_factory: Callable[..., Trial]) -> None:
    trial = trial_factory(redis_url)
    jid = trial.enqueue()
    for _ in range(3):
        trial.start_worker("--exit-when-idle", "3")
    trial.wait_done(jid, 90)
    fetched = trial.fetched()
    assert sorted(fetched) == list(range(1, PAGES + 1)), _logs(trial)
    assert set(fetched.values()) == {1}, [p for p, n in fetched.items() if n > 1]
    run = _check_stored_once(trial, jid)
    assert run.stats["vocwatch/store/inserted"] == trial.expected_items
    by_worker = [v for k, v in run.stats.items() if k.startswith("vocwatch/distributed/pages_by/")]
    assert len(by_worker) == 3 and all(n > 0 for n in by_worker) and sum(by_worker) == PAGES, by_worker
    assert run.stats["vocwatch/distributed/participants"] == 3
    for proc in trial.procs:
        assert proc.wait(timeout=30) == 0, _logs(trial)
    assert "done, run" in _logs(trial)  # the worker's one line per job


def test_a_worker_killed_mid_crawl_loses_nothing_and_stores_nothing_twice(
        redis_url: str, trial_factory: Callable[..., Trial]) -> None:
    trial = trial_factory(redis_url)
    jid = trial.enqueue()
    victim = trial.start_worker("--exit-when-idle", "5")
    keys = CrawlKeys.of(DistributedSettings(redis_url=redis_url, key_prefix=trial.prefix), "bench-store/mall_comments")
    client = redis_client(DistributedSettings(redis_url=redis_url))
    _until(lambda: len(trial.fetched()) >= 200 and client.zcard(keys.leases) > 0, 60, "the victim crawling")
    for _ in range(2):
        trial.start_worker("--exit-when-idle", "5")
    _until(lambda: len(trial.fetched()) >= 500, 60, "the others crawling too")
    victim.send_signal(signal.SIGKILL)  # its crawl dies with it (PR_SET_PDEATHSIG): leases expire
    # what was in flight when it died (its leases and the others'; none expires for 3 s)
    in_flight = {int(m.group(1)) for v in client.hvals(keys.leased) if (m := re.search(rb"page=(\d+)", v))}
    assert in_flight
    trial.wait_done(jid, 90)
    fetched = trial.fetched()
    assert sorted(fetched) == list(range(1, PAGES + 1)), "a page was lost"
    _check_stored_once(trial, jid)
    logs = "\n".join(p.read_text(errors="replace") for p in trial.workdir.glob("worker-*.log"))
    reclaimed = sum(int(n) for n in re.findall(r"reclaimed (\d+) expired request lease", logs))
    twice = [p for p, n in fetched.items() if n > 1]
    assert reclaimed > 0, "the killed worker's leases were never reclaimed"
    assert set(twice) <= in_flight, sorted(set(twice) - in_flight)  # only what was in flight is fetched again
    assert client.zcard(keys.leases) == 0 and client.zcard(keys.requests) == 0


def test_redis_restarted_mid_crawl_and_the_crawl_completes(tmp_path: Path, trial_factory: Callable[..., Trial]) -> None:
    require_redis_server()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        trial = trial_factory(server.url)
        jid = trial.enqueue()
        for _ in range(2):
            trial.start_worker("--exit-when-idle", "3")
        _until(lambda: len(trial.fetched()) >= 400, 40, "the crawl under way")
        server.restart(down_for=2)
        trial.wait_done(jid, 90)
        fetched = trial.fetched()
        assert sorted(fetched) == list(range(1, PAGES + 1)), "a page was lost"
        _check_stored_once(trial, jid)
        for proc in trial.procs:
            assert proc.wait(timeout=30) == 0, _logs(trial)
    finally:
        server.stop()


def test_a_stopped_worker_hands_its_requests_back_and_the_next_worker_finishes_the_run(
        redis_url: str, trial_factory: Callable[..., Trial]) -> None:
    trial = trial_factory(redis_url, pages=500)
    jid = trial.enqueue()
    first = trial.start_worker()
    keys = CrawlKeys.of(DistributedSettings(redis_url=redis_url, key_prefix=trial.prefix), "bench-store/mall_comments")
    client = redis_client(DistributedSettings(redis_url=redis_url))
    _until(lambda: len(trial.fetched()) >= 100, 40, "the crawl under way")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 130, _logs(trial)
    assert client.zcard(keys.leases) == 0, "in-flight requests not released"
    assert client.zcard(keys.requests) > 0 and trial.job(jid).state in ("active", "ready")
    assert trial.run(jid).outcome == "running"  # the run waits for the rest of its job
    trial.start_worker("--exit-when-idle", "3")
    trial.wait_done(jid, 60)
    assert sorted(trial.fetched()) == list(range(1, trial.pages + 1)), "a page was lost"
    run = _check_stored_once(trial, jid)
    assert run.stats["vocwatch/distributed/close_reason/shutdown"] == 1
    assert run.stats["vocwatch/distributed/released"] > 0


def test_without_distributed_a_crawl_does_not_touch_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config import load_config
    from crawlers.runner import scrapy_settings
    from tests.conftest import ONE_HOTEL, crawl_head

    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    cfg = tmp_path / "v.toml"
    cfg.write_text(crawl_head().format(db=tmp_path / "s.db") + ONE_HOTEL, encoding="utf-8")
    settings = scrapy_settings(load_config(cfg))
    assert "scrapy_redis" not in str(settings.get("SCHEDULER")) and "distributed" not in str(settings.get("SCHEDULER"))
    assert not settings.getdict("VOCWATCH_DISTRIBUTED")
