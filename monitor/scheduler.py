"""Crawl schedules: one APScheduler job per configured source (each source belongs to one
location), each run a ``vocwatch crawl`` process of its own.

A process per crawl because Twisted's reactor starts once per process (and a killed
process frees everything a stuck crawl held). APScheduler plans: random jitter, at most
one running instance per job, coalescing of runs missed while the scheduler was down and
a misfire grace. Its jobs live in memory and are rebuilt from the config at every start;
only their next run times are persisted, in a ``schedule_state`` table
(:class:`ScheduleState`), so a restart neither loses a due run nor doubles a job, and a
config change (new schedule, removed source) simply takes effect. APScheduler's own
persistent job stores pickle the job and, when a job is re-added from config with
``replace_existing``, recompute its next run time, losing the run that fell due during
the downtime.

With ``[distributed]`` on (a Redis URL), many ``schedule run`` processes may run on many
machines: one leads (:mod:`crawlers.distributed.leader`), and its due crawls are enqueued
as jobs into Redis (:class:`crawlers.distributed.jobs.JobQueue`) for ``vocwatch worker``
processes instead of spawned here; the others stand by with their APScheduler paused and
take over when the leader's lock expires (:meth:`CrawlScheduler._on_elected`).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.loader import STORE_URL_ENV, crontab_fields, interval_seconds
from config.model import Config, ScheduleSettings, Source
from crawlers.stale import KILLED, RUN_ERROR, STALE_MARGIN, close_stale_runs
from crawlers.store import CrawlRun, Store, open_store
from crawlers.store.base import is_mongo_url
from crawlers.store.sqlite import connect, sqlite_path

logger = logging.getLogger(__name__)

JANITOR_JOB = "vocwatch:janitor"
JANITOR_EVERY = timedelta(minutes=5)
JANITOR_MARGIN = STALE_MARGIN
"""A ``running`` run whose process cannot be checked is stale once older than the time
limit plus this: the scheduler kills its own crawls at the limit."""
STOP_GRACE = 10.0
"""Seconds a crawl process has to end after SIGTERM before it is killed."""


def after_crawl(config: Config, source_id: str, outcome: str) -> None:
    """Called once right after each scheduled crawl process ends, in the worker thread that
    ran it, with the run's outcome (``finished``, ``partial``, ``failed`` or ``killed``).

    The one place to act on fresh data: the spike detectors run here and their alerts are
    delivered (``monitor.alerting.check_and_notify``), so an alert goes out seconds after the
    end of the crawl that saw the burst. A failure here is logged, never stops the schedule."""
    from crawlers.store import open_store
    from monitor.alerting import check_and_notify

    logger.info("crawl of %s ended: %s", source_id, outcome)
    try:
        store = open_store(config.store_url)
        try:
            found, results = check_and_notify(config, store, now=datetime.now(UTC))
        finally:
            store.close()
    except Exception:
        logger.exception("alert check after the crawl of %s failed", source_id)
        return
    if found or results:
        sent = sum(r.status == "sent" for r in results)
        logger.info("after %s: %d new/updated alert(s), %d delivery(ies) sent, %d other",
                    source_id, len(found), sent, len(results) - sent)


# -- triggers ---------------------------------------------------------------------------
def trigger_for(schedule: str, settings: ScheduleSettings, tz: ZoneInfo) -> BaseTrigger:
    """``every 30m`` -> an interval trigger, a crontab (in ``tz``) -> a cron trigger; both
    start each run up to ``jitter_seconds`` late, at random."""
    jitter = int(settings.jitter_seconds) or None
    seconds = interval_seconds(schedule)
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, timezone=tz, jitter=jitter)
    return CronTrigger(**crontab_fields(schedule), timezone=tz, jitter=jitter)


def first_run(trigger: BaseTrigger, settings: ScheduleSettings, now: datetime) -> datetime:
    """When a job without a persisted next run first runs: an interval source soon (within
    the jitter), so a new source is not left uncrawled for a whole interval; a cron source
    at its next time."""
    if isinstance(trigger, IntervalTrigger):
        return now + timedelta(seconds=random.uniform(0, settings.jitter_seconds))
    nxt = trigger.get_next_fire_time(None, now)
    assert nxt is not None, "a crontab without an end always has a next time"
    return nxt


# -- persisted state --------------------------------------------------------------------
def state_path(config: Config) -> Path:
    """The store's own SQLite file; beside the config file for other (MongoDB) stores."""
    if is_mongo_url(config.store_url):
        return config.path.parent / "vocwatch-schedule.db"
    return Path(sqlite_path(config.store_url))


class ScheduleState:
    """The ``schedule_state`` table: per job, its schedule text and next run time (UTC)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(str(path))
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schedule_state "
                             "(job_id TEXT PRIMARY KEY, schedule TEXT NOT NULL, next_run_at TEXT)")

    def load(self) -> dict[str, tuple[str, datetime | None]]:
        with self._lock:
            rows = self._db.execute("SELECT job_id, schedule, next_run_at FROM schedule_state").fetchall()
        return {r[0]: (r[1], datetime.fromisoformat(r[2]) if r[2] else None) for r in rows}

    def save(self, job_id: str, schedule: str, next_run: datetime | None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO schedule_state VALUES (?, ?, ?)",
                             (job_id, schedule, next_run.astimezone(UTC).isoformat() if next_run else None))

    def keep_only(self, job_ids: Sequence[str]) -> None:
        """Forget jobs no longer configured."""
        with self._lock:
            known = [r[0] for r in self._db.execute("SELECT job_id FROM schedule_state")]
            for job_id in set(known) - set(job_ids):
                self._db.execute("DELETE FROM schedule_state WHERE job_id = ?", (job_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _PersistentJobStore(MemoryJobStore):
    """APScheduler's memory store, writing each crawl job's next run time through to
    :class:`ScheduleState` whenever APScheduler changes it."""

    def __init__(self, state: ScheduleState) -> None:
        super().__init__()
        self.state = state

    def _persist(self, job: Job) -> None:
        if job.id != JANITOR_JOB:
            self.state.save(job.id, job.kwargs["schedule"], job.next_run_time)

    def add_job(self, job: Job) -> None:
        super().add_job(job)
        self._persist(job)

    def update_job(self, job: Job) -> None:
        super().update_job(job)
        self._persist(job)


class _FencedJobStore(_PersistentJobStore):
    """Distributed mode: a next run time is written only while this scheduler leads and
    when its due crawl was enqueued (``may_persist``), so a slot that could not be
    enqueued stays persisted for the next leader to enqueue."""

    def __init__(self, state: ScheduleState, may_persist: Callable[[str], bool]) -> None:
        super().__init__(state)
        self.may_persist = may_persist

    def _persist(self, job: Job) -> None:
        if job.id != JANITOR_JOB and self.may_persist(job.id):
            super()._persist(job)


class _EnqueueExecutor(BaseExecutor):
    """Distributed mode: a due crawl becomes a job in Redis instead of a process here.

    Called synchronously inside APScheduler's tick, which persists the job's next run time
    only after this returns: enqueue first, persist after, so a crash in between makes the
    next leader enqueue the same job id again (a no-op), never skip the slot."""

    def __init__(self, enqueue: Callable[[Job, datetime, datetime], None]) -> None:
        super().__init__()
        self._enqueue = enqueue

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        # the job id comes from the persisted next run time (job.next_run_time until the
        # tick moves it): a new leader re-reading it names the same slot; with coalescing,
        # run_times holds only the latest missed time, which the misfire grace applies to
        self._enqueue(job, job.next_run_time, run_times[-1])

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self.submit_job(job, run_times)


# -- the plan ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlannedJob:
    source: Source
    schedule: str
    """The source's own schedule, or ``[schedule].default``."""
    is_default: bool
    trigger: BaseTrigger
    next_run: datetime


def plan(config: Config, state: ScheduleState, now: datetime) -> list[PlannedJob]:
    """One job per source: its trigger and next run, the persisted one when the schedule is
    unchanged (even if already past: APScheduler then coalesces it and applies the grace)."""
    tz = ZoneInfo(config.crawl.timezone)
    persisted = state.load()
    jobs = []
    for src in sorted(config.sources.values(), key=lambda s: (s.location, s.id)):
        schedule = src.schedule or config.schedule.default
        trigger = trigger_for(schedule, config.schedule, tz)
        saved_schedule, saved_next = persisted.get(src.id, (None, None))
        next_run = saved_next if saved_schedule == schedule and saved_next else first_run(trigger, config.schedule, now)
        jobs.append(PlannedJob(src, schedule, src.schedule is None, trigger, next_run))
    return jobs


def upcoming(jobs: Sequence[PlannedJob], n: int) -> list[tuple[datetime, PlannedJob]]:
    """The next ``n`` planned crawls over all jobs, earliest first (jitter drawn afresh,
    so later times are indicative)."""
    heap = [(job.next_run, i) for i, job in enumerate(jobs)]
    heapq.heapify(heap)
    out: list[tuple[datetime, PlannedJob]] = []
    while heap and len(out) < n:
        when, i = heapq.heappop(heap)
        out.append((when, jobs[i]))
        nxt = jobs[i].trigger.get_next_fire_time(when, when)
        if nxt is not None:
            heapq.heappush(heap, (nxt, i))
    return out


def crawl_command(config: Config, source: Source) -> list[str]:
    """``python -m vocwatch crawl`` for one source (the store URL goes by environment: it
    may hold a password, and a command line is visible to every user)."""
    return [sys.executable, "-m", "vocwatch", "crawl", "-c", str(config.path), "-s", source.id, "--quiet"]


# -- the scheduler ----------------------------------------------------------------------
class CrawlScheduler:
    """Runs every configured source on its schedule until :meth:`stop`.

    ``command`` builds the argv of one crawl (tests replace the real crawl)."""

    def __init__(self, config: Config,
                 command: Callable[[Config, Source], Sequence[str]] = crawl_command) -> None:
        self.config = config
        self.settings = config.schedule
        self.command = command
        self.state = ScheduleState(state_path(config))
        self.store = open_store(config.store_url)
        self.jobs: list[PlannedJob] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self.scheduler = BackgroundScheduler(
            jobstores={"default": _PersistentJobStore(self.state)},
            executors={"default": ThreadPoolExecutor(self.settings.max_parallel)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(self.settings.misfire_grace_seconds)},
            timezone=ZoneInfo(config.crawl.timezone),
        )
        self.distributed = config.distributed.enabled
        if self.distributed:
            self._init_distributed()

    def start(self) -> None:
        if self.distributed:
            self._start_distributed()
            return
        now = datetime.now(UTC)
        self.janitor()
        self.jobs = plan(self.config, self.state, now)
        self.state.keep_only([j.source.id for j in self.jobs])
        for job in self.jobs:
            self.scheduler.add_job(self.run_crawl, job.trigger, id=job.source.id,
                                   name=f"{job.source.location} {job.source.id}",
                                   kwargs={"source_id": job.source.id, "schedule": job.schedule},
                                   next_run_time=job.next_run)
        self.scheduler.add_job(self.janitor, IntervalTrigger(seconds=JANITOR_EVERY.total_seconds()),
                               id=JANITOR_JOB, name="close stale crawl runs as killed")
        self.scheduler.start()
        logger.info("scheduling %d source(s), at most %d crawl(s) at a time; state in %s",
                    len(self.jobs), self.settings.max_parallel, state_path(self.config))

    def stop(self) -> None:
        """Start no more crawls, terminate the running ones, mark their runs, persist."""
        if self.distributed:
            self._stop_distributed()
            return
        with self._lock:
            self._stopping = True
            procs = list(self._procs.values())
        self.scheduler.pause()
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)  # Scrapy closes the spider and records its run
        deadline = time.monotonic() + STOP_GRACE
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
        # each worker thread sees its process end, marks a run left running and calls
        # after_crawl; shutdown(wait=True) joins them
        self.scheduler.shutdown(wait=True)
        self.state.close()
        self.store.close()
        logger.info("scheduler stopped")

    def janitor(self) -> None:
        """Close the ``running`` runs whose crawl process is gone (``crawlers.stale``: the
        same rule each crawl applies to its own source's earlier runs)."""
        close_stale_runs(self.store, older_than=timedelta(seconds=self.settings.time_limit_seconds) + JANITOR_MARGIN,
                         now=datetime.now(UTC))

    def run_crawl(self, source_id: str, schedule: str) -> None:
        """One scheduled crawl: a process of its own, killed at the time limit; its run is
        settled (never left ``running``) and :func:`after_crawl` is called right after."""
        source = self.config.sources[source_id]
        limit = self.settings.time_limit_seconds
        started = datetime.now(UTC).replace(microsecond=0)  # run times are stored to the second
        with self._lock:
            if self._stopping:
                return
            proc = subprocess.Popen(list(self.command(self.config, source)), stdout=subprocess.DEVNULL,
                                    env={**os.environ, STORE_URL_ENV: self.config.store_url},
                                    start_new_session=True)  # own group: the NLP worker is killed too
            self._procs[source_id] = proc
        logger.info("crawl of %s started (pid %d, %s)", source_id, proc.pid, schedule)
        try:
            code = proc.wait(timeout=limit)
            reason = f"crawl process exited with code {code} before finishing its run"
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
            reason = f"time limit of {limit:g} s exceeded: crawl process killed"
        finally:
            with self._lock:
                self._procs.pop(source_id, None)
        if self._stopping:
            reason = "scheduler shut down during the crawl"
        outcome = self._settle(source, started, reason)
        after_crawl(self.config, source_id, outcome)

    def _settle(self, source: Source, started: datetime, reason: str) -> str:
        """The outcome of the run(s) this process wrote; any still ``running`` is closed as
        ``killed`` with ``reason`` (its process is gone); a process that wrote none gets a
        failed run recorded."""
        now = datetime.now(UTC)
        mine = [r for r in self.store.list_runs(source_id=source.id, limit=5) if r.started_at >= started]
        for run in mine:
            if run.outcome == "running":
                self.store.finish_run(run.id, now, KILLED, {**run.stats, RUN_ERROR: reason})
                run.outcome = KILLED
                logger.warning("crawl run %d of %s closed as killed: %s", run.id, source.id, reason)
        if not mine:
            run_id = self.store.start_run(source.id, source.kind, started)
            self.store.finish_run(run_id, now, "failed", {RUN_ERROR: reason})
            logger.warning("crawl of %s recorded as failed: %s", source.id, reason)
            return "failed"
        return mine[0].outcome


    # -- distributed mode: lead or stand by, enqueue due crawls into Redis -----------------
    def _init_distributed(self) -> None:
        from crawlers.distributed import redis_client
        from crawlers.distributed.jobs import JobQueue
        from crawlers.distributed.leader import LeaderElection, LeaderLock

        self.redis = redis_client(self.config.distributed)
        self.queue = JobQueue(self.redis, self.config.distributed)
        self.lock = LeaderLock(self.redis, self.config.distributed)
        self.election = LeaderElection(self.lock, self._on_elected, self._on_lost)
        self._fence: int | None = None
        self._unsent: set[str] = set()
        """Jobs whose due crawl could not be enqueued in this tick: their next run is not persisted."""
        self.scheduler.add_jobstore(_FencedJobStore(self.state, self._may_persist), "fenced")
        self.scheduler.add_executor(_EnqueueExecutor(self._enqueue_due), "enqueue")

    def _start_distributed(self) -> None:
        self.scheduler.start(paused=True)  # nothing is planned until this scheduler leads
        self.election.start()
        logger.info("distributed scheduling of %d source(s) as %s: leading or standing by "
                    "(leader lock TTL %g s)", len(self.config.sources), self.lock.holder, self.lock.ttl)

    def _stop_distributed(self) -> None:
        self.election.stop()  # steps down (pauses, drops the jobs) and releases the lock
        self.scheduler.shutdown(wait=True)
        self.state.close()
        self.store.close()
        self.redis.close()
        logger.info("scheduler stopped")

    def _on_elected(self, fence: int) -> None:
        """Now leader: plan from the persisted next run times (written by whichever leader
        came before) and resume; the janitor runs on the leader only."""
        with self._lock:
            self._fence = fence
            self._unsent.clear()
            try:
                self.janitor()
            except Exception:
                logger.exception("janitor failed")
            self.jobs = plan(self.config, self.state, datetime.now(UTC))
            self.state.keep_only([j.source.id for j in self.jobs])
            for job in self.jobs:
                self.scheduler.add_job(self.run_crawl, job.trigger, id=job.source.id,
                                       name=f"{job.source.location} {job.source.id}",
                                       jobstore="fenced", executor="enqueue",
                                       kwargs={"source_id": job.source.id, "schedule": job.schedule},
                                       next_run_time=job.next_run)
            self.scheduler.add_job(self.janitor, IntervalTrigger(seconds=JANITOR_EVERY.total_seconds()),
                                   id=JANITOR_JOB, name="close stale crawl runs as killed")
            self.scheduler.resume()
        logger.info("leading with fence %d: enqueuing the due crawls of %d source(s) into Redis",
                    fence, len(self.jobs))

    def _on_lost(self) -> None:
        """No longer leader: pause and forget the plan (the next election re-reads it)."""
        with self._lock:
            self._fence = None
            self.scheduler.pause()
            self.scheduler.remove_all_jobs()  # the memory stores: nothing persisted

    def _may_persist(self, job_id: str) -> bool:
        if job_id in self._unsent:
            self._unsent.discard(job_id)
            return False
        return self.lock.is_leader()

    def _enqueue_due(self, job: Job, due: datetime, latest: datetime) -> None:
        """Enqueue the crawl of ``job``'s source that fell due at ``due`` (the job id is the
        source and this time), fenced with this leader's token. Not enqueued: a slot missed
        by more than the misfire grace (as APScheduler skips it locally); a slot this
        scheduler may no longer enqueue (lease run out, fence refused, Redis error) is left
        unpersisted and leadership is given up."""
        from crawlers.distributed.jobs import job_id

        source_id = job.kwargs["source_id"]
        jid = job_id(source_id, due)
        late = datetime.now(UTC) - latest
        if late > timedelta(seconds=self.settings.misfire_grace_seconds):
            logger.warning("crawl %s missed by %s (more than the misfire grace): not enqueued", jid, late)
            return
        fence = self._fence
        if fence is None or fence != self.lock.fence:  # a step-down or election not yet applied
            self._unsent.add(job.id)
            return
        if not self.lock.is_leader():  # the lease ran out on this clock
            self._unsent.add(job.id)
            self.election.lost()
            return
        try:
            if self.queue.enqueue(source_id, due, fence=fence):
                logger.info("enqueued %s (fence %d)", jid, fence)
                return
            known = self.queue.get(jid) is not None
        except Exception as exc:
            logger.warning("could not enqueue %s: %s; standing by", jid, exc)
            self._unsent.add(job.id)
            self.election.lost()
            return
        if known:
            logger.info("%s was already enqueued (by an earlier leader)", jid)
            return
        logger.warning("enqueue of %s refused: fence %d is no longer the leader's", jid, fence)
        self._unsent.add(job.id)
        self.election.lost()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def last_runs(store: Store, source_ids: Sequence[str]) -> dict[str, CrawlRun | None]:
    """The latest run of each source (``None`` when never crawled), for ``schedule list``."""
    return {sid: next(iter(store.list_runs(source_id=sid, limit=1)), None) for sid in source_ids}
