"""The crawl job queue on a real Redis: idempotent enqueue, fencing, leases, reclaim."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib

from config.model import DistributedSettings
from crawlers.distributed import key, redis_client
from crawlers.distributed.jobs import MAX_ATTEMPTS, JobQueue, job_id

DUE = datetime(2026, 12, 1, 8, 0, 5, 123456, tzinfo=UTC)


@pytest.fixture
def settings(redis_url: str) -> DistributedSettings:
    return DistributedSettings(redis_url=redis_url, key_prefix="t", lease_seconds=1.0, workers_per_job=2)


@pytest.fixture
def queue(settings: DistributedSettings) -> JobQueue:
    return JobQueue(redis_client(settings), settings)


def test_a_due_slot_is_enqueued_once(queue: JobQueue) -> None:
    assert job_id("src-a", DUE) == "src-a@2026-12-01T08:00:05Z"
    assert queue.enqueue("src-a", DUE) is True
    assert queue.enqueue("src-a", DUE + timedelta(microseconds=1)) is False  # same slot, to the second
    assert queue.enqueue("src-a", DUE + timedelta(hours=6)) is True
    assert queue.counts() == {"ready": 2, "active": 0, "done": 0, "failed": 0}
    job = queue.take("w1")
    assert job is not None and job.source_id == "src-a" and job.due == DUE.replace(microsecond=0)
    assert job.state == "active"
    assert queue.enqueue("src-a", DUE) is False  # active: still known
    queue.finish(job.id)
    assert queue.enqueue("src-a", DUE) is False  # ended: remembered, not run twice
    assert queue.counts()["done"] == 1


def test_only_the_current_leaders_fence_may_enqueue(queue: JobQueue, settings: DistributedSettings) -> None:
    r = queue.redis
    assert queue.enqueue("s", DUE, fence=1) is False  # nobody leads
    r.set(key(settings, "leader"), "7 host-a:123")
    assert queue.enqueue("s", DUE, fence=6) is False  # deposed leader
    assert queue.enqueue("s", DUE, fence=7) is True
    assert queue.counts()["ready"] == 1


def test_jobs_are_taken_earliest_due_first_by_one_worker_each(queue: JobQueue) -> None:
    for hours in (3, 1, 2):
        queue.enqueue(f"s{hours}", DUE + timedelta(hours=hours))
    taken: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while (job := queue.take(f"w{n}")) is not None:
            with lock:
                taken.append(job.source_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == ["s1", "s2", "s3"]
    assert queue.ready() == [] and len(queue.active()) == 3


def test_join_respects_workers_per_job_and_has_work(queue: JobQueue) -> None:
    queue.enqueue("s", DUE)
    job = queue.take("w1")
    assert job is not None
    assert queue.join("w2", has_work=lambda j: False) is None
    assert queue.join("w2").id == job.id  # type: ignore[union-attr]
    assert queue.join("w3") is None  # workers_per_job = 2
    assert sorted(queue.participants(job.id)) == ["w1", "w2"]
    assert queue.leave(job.id, "w2") == 1
    assert queue.join("w3").id == job.id  # type: ignore[union-attr]


def test_run_and_seeding_are_decided_once(queue: JobQueue) -> None:
    queue.enqueue("s", DUE)
    job = queue.take("w1")
    assert job is not None
    assert queue.set_run(job.id, 41) == 41
    assert queue.set_run(job.id, 42) == 41
    claims = [queue.claim_seeding(job.id) for _ in range(5)]
    assert claims.count(True) == 1
    again = queue.get(job.id)
    assert again is not None and again.run_id == 41 and again.seeded


def test_a_dead_workers_job_goes_back_to_ready_and_keeps_its_run(queue: JobQueue) -> None:
    queue.enqueue("s", DUE)
    job = queue.take("w1")
    assert job is not None
    queue.set_run(job.id, 5)
    queue.claim_seeding(job.id)
    assert queue.reclaim() == []  # the lease is live
    assert queue.renew(job.id, "w1")
    deadline = time.monotonic() + 10
    while not (moved := queue.reclaim()) and time.monotonic() < deadline:
        time.sleep(0.1)  # w1 stops renewing: killed
    assert moved == [job.id]
    assert queue.renew(job.id, "w1") is False  # the dead worker's lease is gone for good
    again = queue.take("w2")
    assert again is not None and again.id == job.id and again.attempts == 1
    assert again.run_id == 5 and again.seeded  # the new taker resumes, never re-seeds


def test_a_job_that_kills_every_worker_fails_after_max_attempts(queue: JobQueue, settings: DistributedSettings) -> None:
    queue.enqueue("poison", DUE)
    for attempt in range(MAX_ATTEMPTS):
        job = queue.take(f"w{attempt}")
        assert job is not None, attempt
        queue.redis.zadd(key(settings, "job", job.id, "workers"), {f"w{attempt}": 0})  # its lease ran out
        assert queue.reclaim() == [job.id]
    assert queue.take("w-last") is None
    failed = queue.get(job_id("poison", DUE))
    assert failed is not None and failed.state == "failed"
    assert queue.counts()["failed"] == 1


def test_leases_use_redis_time_not_the_local_clock(queue: JobQueue, settings: DistributedSettings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    queue.enqueue("s", DUE)
    monkeypatch.setattr(time, "time", lambda: 0.0)  # a machine whose clock is far off
    job = queue.take("w1")
    assert job is not None
    score = queue.redis.zscore(key(settings, "job", job.id, "workers"), "w1")
    seconds, micros = queue.redis.time()
    assert abs(score - (seconds + micros / 1e6 + settings.lease_seconds)) < 5


def test_finish_is_once(queue: JobQueue) -> None:
    queue.enqueue("s", DUE)
    job = queue.take("w1")
    assert job is not None
    assert queue.finish(job.id) is True
    assert queue.finish(job.id, "failed") is False
    assert queue.renew(job.id, "w1") is False
    with pytest.raises(ValueError):
        queue.finish(job.id, "active")


def test_the_queue_ignores_other_prefixes(settings: DistributedSettings, redis_url: str) -> None:
    other = DistributedSettings(redis_url=redis_url, key_prefix="other")
    a, b = JobQueue(redis_client(settings), settings), JobQueue(redis_client(other), other)
    a.enqueue("s", DUE)
    assert b.take("w") is None and a.take("w") is not None
    assert isinstance(a.redis, redis_lib.Redis)


def test_the_after_crawl_step_is_claimed_once_and_only_after_the_job_ended(queue: JobQueue) -> None:
    queue.enqueue("s", DUE)
    job = queue.take("w1")
    assert job is not None
    assert queue.claim_after_crawl(job.id) is False  # still running
    queue.finish(job.id)
    claims = [queue.claim_after_crawl(job.id) for _ in range(3)]
    assert claims == [True, False, False]
