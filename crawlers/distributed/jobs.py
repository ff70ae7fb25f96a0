"""The crawl job queue in Redis: one job per (source, due time), leased to the workers
that crawl it.

A job is enqueued once by the scheduler's leader (its id is ``<source_id>@<due>``, so the
same due slot enqueued again, by a new leader after a failover, is a no-op), taken by one
worker and joined by others while its source's request queue has work. Every worker on a
job is a *participant* with a lease it renews; when every lease of an active job has run
out (its workers were killed), :meth:`JobQueue.reclaim` puts the job back in the ready
queue, and the next worker that takes it resumes it (the source's requests are still in
its scrapy-redis queue). After ``MAX_ATTEMPTS`` such losses the job is failed for good
(a source that kills every worker must not take the fleet down in a loop).

Times are Redis server time (``TIME`` inside the scripts), so machines whose clocks
disagree still agree on which lease has expired. Every multi-key step is one Lua script.

Keys (``P`` = ``[distributed] key_prefix``): ``P:job:<id>`` hash (source_id, due, due_epoch,
state, attempts, run_id, seeded, enqueued_at, fence), ``P:jobs:ready`` zset id -> due epoch,
``P:jobs:active`` set, ``P:job:<id>:workers`` zset worker id -> lease deadline epoch,
``P:jobs:ended:<state>`` counters. A finished job's hash is kept ``ENDED_TTL`` so that
a late duplicate enqueue of it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from config.model import DistributedSettings
from crawlers.distributed import key

JOB_STATES = ("ready", "active", "done", "failed")
MAX_ATTEMPTS = 5
"""A job whose workers all died this many times is failed instead of put back."""
ENDED_TTL = timedelta(days=7)
"""How long a done or failed job is remembered (its id refused by :meth:`JobQueue.enqueue`)."""

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"

_ENQUEUE = """
-- KEYS: job hash, ready zset, leader key; ARGV: job id, source id, due iso, due epoch, fence or ''
if ARGV[5] ~= '' then
  local cur = redis.call('GET', KEYS[3])
  if not cur or string.match(cur, '^(%S+)') ~= ARGV[5] then return -1 end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
""" + _NOW + """
redis.call('HSET', KEYS[1], 'source_id', ARGV[2], 'due', ARGV[3], 'due_epoch', ARGV[4], 'state', 'ready',
           'attempts', 0, 'enqueued_at', now, 'fence', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
"""

_TAKE = """
-- KEYS: ready zset, active set; ARGV: prefix, worker id, lease seconds
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if #first == 0 then return false end
local id = first[1]
""" + _NOW + """
local job = ARGV[1] .. ':job:' .. id
redis.call('ZREM', KEYS[1], id)
redis.call('SADD', KEYS[2], id)
redis.call('HSET', job, 'state', 'active')
redis.call('ZADD', job .. ':workers', now + tonumber(ARGV[3]), ARGV[2])
return id
"""

_JOIN = """
-- KEYS: job hash, workers zset; ARGV: worker id, lease seconds, max workers
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
""" + _NOW + """
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if redis.call('ZCOUNT', KEYS[2], now, '+inf') >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""

_RENEW = """
-- KEYS: job hash, workers zset; ARGV: worker id, lease seconds
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
""" + _NOW + """
local held = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not held or tonumber(held) < now then return 0 end
redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1
"""

_LEAVE = """
-- KEYS: workers zset; ARGV: worker id
redis.call('ZREM', KEYS[1], ARGV[1])
""" + _NOW + """
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
"""

_FINISH = """
-- KEYS: job hash, workers zset, ready zset, active set, ended counter; ARGV: job id, state, ttl seconds
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[1], 'state')
if was == 'done' or was == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[5])
return 1
"""

_RECLAIM = """
-- KEYS: active set, ready zset; ARGV: prefix, max attempts, ended ttl
""" + _NOW + """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local job = ARGV[1] .. ':job:' .. id
  local workers = job .. ':workers'
  redis.call('ZREMRANGEBYSCORE', workers, '-inf', '(' .. now)
  if redis.call('ZCARD', workers) == 0 then
    redis.call('SREM', KEYS[1], id)
    local attempts = redis.call('HINCRBY', job, 'attempts', 1)
    if attempts >= tonumber(ARGV[2]) then
      redis.call('HSET', job, 'state', 'failed')
      redis.call('EXPIRE', job, ARGV[3])
      redis.call('INCR', ARGV[1] .. ':jobs:ended:failed')
    else
      redis.call('HSET', job, 'state', 'ready')
      local due = redis.call('HGET', job, 'due_epoch')
      redis.call('ZADD', KEYS[2], due or now, id)
    end
    table.insert(out, id)
  end
end
return out
"""


@dataclass(slots=True)
class Job:
    """One crawl of one source that fell due at ``due``."""

    id: str
    source_id: str
    due: datetime
    state: str
    attempts: int = 0
    """How many times every worker on it died and it was put back."""
    run_id: int | None = None
    """The crawl_runs row all its participants report into (set by the first)."""
    seeded: bool = False
    """Whether a participant has claimed its seed requests (only one does)."""


def job_id(source_id: str, due: datetime) -> str:
    """``<source_id>@<due as UTC ISO to the second>``: the same slot always gets the same id."""
    return f"{source_id}@{due.astimezone(UTC).replace(microsecond=0).isoformat().replace('+00:00', 'Z')}"


class JobQueue:
    """The job queue of one deployment (``settings.key_prefix``) on ``redis``."""

    def __init__(self, redis: Any, settings: DistributedSettings) -> None:
        self.redis = redis
        self.settings = settings
        self.prefix = settings.key_prefix
        self._ready, self._active = key(settings, "jobs", "ready"), key(settings, "jobs", "active")
        self._leader = key(settings, "leader")
        self._scripts = {name: redis.register_script(src) for name, src in (
            ("enqueue", _ENQUEUE), ("take", _TAKE), ("join", _JOIN), ("renew", _RENEW), ("leave", _LEAVE),
            ("finish", _FINISH), ("reclaim", _RECLAIM))}

    def _job(self, job_id: str) -> str:
        return key(self.settings, "job", job_id)

    def _workers(self, job_id: str) -> str:
        return key(self.settings, "job", job_id, "workers")

    def enqueue(self, source_id: str, due: datetime, *, fence: int | None = None) -> bool:
        """Queue the crawl of ``source_id`` that fell due at ``due``; False when this job is
        already known (ready, active, or ended within ``ENDED_TTL``) or when ``fence`` is
        given and is not the current leader's token (a deposed leader cannot enqueue)."""
        due = due.astimezone(UTC).replace(microsecond=0)  # the slot, to the second (as its id)
        jid = job_id(source_id, due)
        due_epoch = due.timestamp()
        done = self._scripts["enqueue"](keys=[self._job(jid), self._ready, self._leader],
                                        args=[jid, source_id, due.isoformat(), due_epoch,
                                              "" if fence is None else str(fence)])
        return done == 1

    def take(self, worker_id: str) -> Job | None:
        """The earliest-due ready job, now active with ``worker_id`` its first participant."""
        jid = self._scripts["take"](keys=[self._ready, self._active],
                                    args=[self.prefix, worker_id, self.settings.lease_seconds])
        return self.get(_text(jid)) if jid else None

    def join(self, worker_id: str, has_work: Callable[[Job], bool] | None = None) -> Job | None:
        """An active job with fewer than ``workers_per_job`` live participants (and work left,
        as ``has_work`` judges), with ``worker_id`` added to them; None when there is none."""
        for jid in sorted(_text(j) for j in self.redis.smembers(self._active)):
            job = self.get(jid)
            if job is None or job.state != "active" or (has_work is not None and not has_work(job)):
                continue
            if self._scripts["join"](keys=[self._job(jid), self._workers(jid)],
                                     args=[worker_id, self.settings.lease_seconds, self.settings.workers_per_job]):
                return job
        return None

    def renew(self, job_id: str, worker_id: str) -> bool:
        """Extend ``worker_id``'s lease on the job; False when it was lost (expired and
        reclaimed, or the job ended): the worker should stop crawling it."""
        return bool(self._scripts["renew"](keys=[self._job(job_id), self._workers(job_id)],
                                           args=[worker_id, self.settings.lease_seconds]))

    def leave(self, job_id: str, worker_id: str) -> int:
        """``worker_id`` stops working on the job; returns how many live participants are left."""
        return int(self._scripts["leave"](keys=[self._workers(job_id)], args=[worker_id]))

    def participants(self, job_id: str) -> list[str]:
        """The workers whose lease on the job has not run out (by Redis time)."""
        now = _redis_now(self.redis)
        return [_text(w) for w in self.redis.zrangebyscore(self._workers(job_id), now, "+inf")]

    def set_run(self, job_id: str, run_id: int) -> int:
        """Record the job's crawl run; the first id set wins and is returned."""
        self.redis.hsetnx(self._job(job_id), "run_id", run_id)
        return int(self.redis.hget(self._job(job_id), "run_id"))

    def claim_seeding(self, job_id: str, claimant: str | None = None) -> bool:
        """True for exactly one caller per job: the participant that issues the seed requests.
        With ``claimant`` (a participant id) the claim is by name, so a call retried after its
        reply was lost (Redis restarting) still wins it; a bare retried claim would answer
        False to its winner, and no one would seed the job."""
        if claimant is None:
            return bool(self.redis.hsetnx(self._job(job_id), "seeded", 1))
        self.redis.hsetnx(self._job(job_id), "seeded", claimant)
        return _text(self.redis.hget(self._job(job_id), "seeded") or b"") == claimant

    def claim_after_crawl(self, job_id: str, claimant: str | None = None) -> bool:
        """True for exactly one caller once the job has ended: the worker that runs the
        after-crawl step (alert detection and delivery) for it. With ``claimant`` the claim
        is by name, safe against a retried call (as :meth:`claim_seeding`)."""
        job = self.get(job_id)
        if job is None or job.state not in ("done", "failed"):
            return False
        after = key(self.settings, "job", job_id, "after")
        won = self.redis.set(after, claimant or 1, nx=True, ex=int(ENDED_TTL.total_seconds()))
        if claimant is None or won:
            return bool(won)
        return _text(self.redis.get(after) or b"") == claimant

    def finish(self, job_id: str, state: str = "done") -> bool:
        """End the job (``done`` or ``failed``); False when it had already ended or is unknown."""
        if state not in ("done", "failed"):
            raise ValueError(f"a job ends done or failed, not {state!r}")
        return bool(self._scripts["finish"](
            keys=[self._job(job_id), self._workers(job_id), self._ready, self._active,
                  key(self.settings, "jobs", "ended", state)],
            args=[job_id, state, int(ENDED_TTL.total_seconds())]))

    def reclaim(self) -> list[str]:
        """Drop expired participants; an active job left with none goes back to ready
        (attempts + 1), or is failed after ``MAX_ATTEMPTS``. Returns the ids it moved."""
        return [_text(j) for j in self._scripts["reclaim"](
            keys=[self._active, self._ready], args=[self.prefix, MAX_ATTEMPTS, int(ENDED_TTL.total_seconds())])]

    def get(self, job_id: str) -> Job | None:
        h = {_text(k): _text(v) for k, v in self.redis.hgetall(self._job(job_id)).items()}
        if not h:
            return None
        return Job(id=job_id, source_id=h["source_id"], due=datetime.fromisoformat(h["due"]), state=h["state"],
                   attempts=int(h.get("attempts") or 0), run_id=int(h["run_id"]) if h.get("run_id") else None,
                   seeded=bool(h.get("seeded")))

    def ready(self, limit: int = 100) -> list[str]:
        """Ids of ready jobs, earliest due first."""
        return [_text(j) for j in self.redis.zrange(self._ready, 0, limit - 1)]

    def active(self) -> list[str]:
        return sorted(_text(j) for j in self.redis.smembers(self._active))

    def counts(self) -> dict[str, int]:
        """``ready``, ``active``, and ``done``/``failed`` (ended since the queue began)."""
        pipe = self.redis.pipeline()
        pipe.zcard(self._ready)
        pipe.scard(self._active)
        pipe.get(key(self.settings, "jobs", "ended", "done"))
        pipe.get(key(self.settings, "jobs", "ended", "failed"))
        ready, active, done, failed = pipe.execute()
        return {"ready": ready, "active": active, "done": int(done or 0), "failed": int(failed or 0)}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _redis_now(redis: Any) -> float:
    seconds, micros = redis.time()
    return seconds + micros / 1e6
