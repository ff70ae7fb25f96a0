"""``vocwatch worker``: take crawl jobs from Redis and crawl them, on any machine, any number.

The loop: reclaim expired jobs and request leases; take a ready job, or join an active
one whose source still has work queued or in flight; crawl it as a child process
(``python -m vocwatch crawl -s SOURCE --job JOB --quiet``, its own process group, as
``monitor.scheduler`` runs crawls) while renewing its participant lease; one log line per
job when its crawl ends. SIGTERM/SIGINT: the children get SIGTERM (they release their
in-flight requests back to the queue and add their counters to the job), then the
worker exits 130. A child dies with its worker (Linux ``PR_SET_PDEATHSIG``), so a killed
worker leaves only expired leases, which the others reclaim. Redis unreachable: the loop
waits and retries with backoff, the running crawls carry on (their client retries too).

No Scrapy in this process: each crawl is a fresh process with its own reactor.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from config.loader import REDIS_URL_ENV, STORE_URL_ENV
from config.model import Config
from crawlers.distributed.jobs import Job, JobQueue
from crawlers.distributed.queue import CrawlKeys, Leases, resilient_client

logger = logging.getLogger(__name__)

WORKER_ID_ENV = "VOCWATCH_WORKER_ID"
STOP_GRACE = 15.0
"""Seconds a crawl has after SIGTERM to release its requests and leave before it is killed."""
POLL_SECONDS = 0.5
MAX_BACKOFF = 10.0
EXIT_INTERRUPTED = 130
_PR_SET_PDEATHSIG = 1


@dataclass(slots=True)
class Child:
    job: Job
    participant: str
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the worker dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Worker:
    """One ``vocwatch worker`` process."""

    def __init__(self, config: Config, *, processes: int = 1, once: bool = False,
                 exit_when_idle: float | None = None, log_level: str = "INFO") -> None:
        if processes < 1:
            raise ValueError("--processes must be at least 1")
        self.config, self.settings = config, config.distributed
        self.processes, self.once, self.exit_when_idle = processes, once, exit_when_idle
        logging.getLogger("crawlers.distributed").setLevel(log_level.upper())
        self.redis = resilient_client(self.settings)
        self.jobs = JobQueue(self.redis, self.settings)
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.children: list[Child] = []
        self.started = 0
        self._n = 0
        self._stop = threading.Event()
        self._next_renew = 0.0

    def leases(self, source_id: str) -> Leases:
        return Leases(self.redis, CrawlKeys.of(self.settings, source_id), self.settings.lease_seconds)

    def run(self) -> int:
        """Until SIGTERM/SIGINT (exit 130), ``--once`` done, or idle for ``--exit-when-idle``."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        logger.info("worker %s: up to %d crawl(s) at once on %s", self.id, self.processes, self.settings.key_prefix)
        idle_since, backoff = time.monotonic(), POLL_SECONDS
        while not self._stop.is_set():
            try:
                self.step()
                backoff = POLL_SECONDS
            except Exception as exc:  # Redis gone for longer than the client's retries
                logger.warning("worker %s: %s: %s; retrying in %.1f s", self.id, type(exc).__name__, exc, backoff)
                self._stop.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            if self.children:
                idle_since = time.monotonic()
            elif self.once and self.started:
                break
            elif self.exit_when_idle is not None and time.monotonic() - idle_since >= self.exit_when_idle:
                logger.info("worker %s: idle for %g s, exiting", self.id, self.exit_when_idle)
                break
            self._stop.wait(POLL_SECONDS)
        if self._stop.is_set():
            self.shutdown()
            return EXIT_INTERRUPTED
        return 0

    def step(self) -> None:
        self.jobs.reclaim()
        for job_id in self.jobs.active():
            job = self.jobs.get(job_id)
            if job is not None:
                self.leases(job.source_id).reclaim()
        self.reap()
        self.renew()
        while len(self.children) < self.processes and not (self.once and self.started):
            participant = f"{self.id}:{self._n}"
            job = self.jobs.take(participant) or self.jobs.join(participant, has_work=self._has_work)
            if job is None:
                return
            self._n += 1
            if job.source_id not in self.config.sources:
                logger.error("job %s: source %r is not in %s; leaving it to a worker that has it", job.id,
                             job.source_id, self.config.path)
                self.jobs.leave(job.id, participant)
                return
            self.spawn(job, participant)

    def _has_work(self, job: Job) -> bool:
        return self.leases(job.source_id).has_work()

    def command(self, job: Job) -> list[str]:
        return [sys.executable, "-m", "vocwatch", "crawl", "-c", str(self.config.path), "--source", job.source_id,
                "--job", job.id, "--quiet"]

    def spawn(self, job: Job, participant: str) -> None:
        # the store and Redis URLs go by environment: they may hold passwords
        env = {**os.environ, STORE_URL_ENV: self.config.store_url, REDIS_URL_ENV: self.settings.redis_url or "",
               WORKER_ID_ENV: participant}
        proc = subprocess.Popen(self.command(job), stdout=subprocess.DEVNULL, env=env,
                                start_new_session=True, preexec_fn=_die_with_parent)
        self.children.append(Child(job, participant, proc))
        self.started += 1
        logger.info("job %s: crawling as %s (pid %d)", job.id, participant, proc.pid)

    def renew(self) -> None:
        now = time.monotonic()
        if now < self._next_renew:
            return
        self._next_renew = now + self.settings.lease_seconds / 3
        for child in self.children:
            if not self.jobs.renew(child.job.id, child.participant) and child.proc.poll() is None \
                    and getattr(self.jobs.get(child.job.id), "state", None) == "active":
                logger.warning("job %s: lease of %s lost (expired or the job ended)", child.job.id, child.participant)

    def reap(self) -> None:
        limit = self.config.schedule.time_limit_seconds
        for child in self.children:
            if child.proc.poll() is None and time.monotonic() - child.started > limit:
                logger.error("job %s: crawl %s over the time limit of %g s: killed (its leases expire and "
                             "go back to the queue)", child.job.id, child.participant, limit)
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait()
        for child in [c for c in self.children if c.proc.poll() is not None]:
            self.children.remove(child)
            self.jobs.leave(child.job.id, child.participant)  # a no-op when the crawl left itself
            logger.info("%s", self._job_line(child))
            if self.jobs.claim_after_crawl(child.job.id, child.participant):
                self.after_crawl(child.job)

    def after_crawl(self, job: Job) -> None:
        """Once per ended job, by whichever worker sees it first: what the single-machine
        scheduler does after each crawl (``monitor.scheduler.after_crawl``: the spike
        detectors, then delivery), so an alert leaves seconds after the job's last crawl."""
        from monitor.scheduler import after_crawl

        ended = self.jobs.get(job.id)
        outcome = (self._outcome(job.source_id, ended.run_id) if ended and ended.run_id else None) or "failed"
        after_crawl(self.config, job.source_id, outcome)

    def _job_line(self, child: Child) -> str:
        """One line per job crawled: its state, its run and outcome, this crawl's exit."""
        job = self.jobs.get(child.job.id)
        state = job.state if job else "gone"
        run_id = job.run_id if job else None
        outcome = self._outcome(child.job.source_id, run_id) if run_id else None
        return (f"job {child.job.id}: {state}, run {run_id or '-'} {outcome or ''}".rstrip()
                + f"; crawl {child.participant} exited {child.proc.returncode} after "
                  f"{time.monotonic() - child.started:.1f} s")

    def _outcome(self, source_id: str, run_id: int) -> str | None:
        from crawlers.store import open_store

        try:
            store = open_store(self.config.store_url)
            try:
                return next((r.outcome for r in store.list_runs(source_id=source_id, limit=10) if r.id == run_id), None)
            finally:
                store.close()
        except Exception as exc:
            logger.warning("could not read run %d: %s", run_id, exc)
            return None

    def shutdown(self) -> None:
        """SIGTERM to every crawl's process group, SIGKILL after :data:`STOP_GRACE`."""
        for child in self.children:
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in self.children:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait()
        with contextlib.suppress(Exception):
            self.reap()
        logger.info("worker %s stopped", self.id)


def _signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
