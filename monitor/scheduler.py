"""Crawl schedules: one APScheduler job per configured source (each source belongs to one
location), each run a ``vocwatch crawl`` process of its own.

A process per crawl because Twisted's reactor starts once per process (and a killed
process frees everything a stuck crawl held). APScheduler plans: random jitter, at most
one running instance per job, coalescing of runs missed while the scheduler was down and
a misfire grace. Its jobs live in memory and are rebuilt from the config at every start;
only their next run times are persisted, in the store's schedule state table
(``store.schedule_state``, ``crawlers.store.schedule``), so a restart neither loses a due
run nor doubles a job, and a config change (new schedule, removed source) simply takes
effect. APScheduler's own persistent job stores pickle the job and, when a job is re-added
from config with ``replace_existing``, recompute its next run time, losing the run that
fell due during the downtime.

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
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.base import BaseExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp
from sortedcontainers import SortedList

from config.loader import STORE_URL_ENV, crontab_fields, interval_seconds
from config.model import Config, DigestSettings, ScheduleSettings, Source
from config.redact import mask_url
from crawlers.stale import KILLED, RUN_ERROR, STALE_MARGIN, close_stale_runs
from crawlers.store import CrawlRun, Store, open_store
from crawlers.store.schedule import ScheduleRow, ScheduleTable

logger = logging.getLogger(__name__)

JANITOR_JOB = "vocwatch:janitor"
JANITOR_EVERY = timedelta(minutes=5)
JANITOR_MARGIN = STALE_MARGIN
"""A ``running`` run whose process cannot be checked is stale once older than the time
limit plus this: the scheduler kills its own crawls at the limit."""
STOP_GRACE = 10.0
"""Seconds a crawl process has to end after SIGTERM before it is killed."""
DIGEST_JOB_PREFIX = "digest:"
"""Job ids of the ``[[digests]]``: ``digest:<name>`` (no source id starts so: ids have no
such prefix in a config that also names digests, and their next runs are not persisted)."""
DIGEST_RETRY_JOB = "vocwatch:digest-retry"
DIGEST_RETRY_EVERY = timedelta(minutes=5)
DIGEST_CATCH_UP = timedelta(hours=24)
"""A digest whose slot passed at most this long before the scheduler starts (it was down)
is sent at start; one already sent is a ``duplicate`` in the deliveries, so nothing doubles."""
MAX_DUE_PER_WAKEUP = 1_000
"""Jobs one scheduler wakeup dispatches at most (the rest in the wakeups right after it):
about 0.1-0.2 s of APScheduler's work per wakeup (``vocwatch bench scale``)."""


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


def digest_trigger(settings: DigestSettings) -> CronTrigger:
    """The cron trigger of a digest's slots (every day, week on ``day`` or month on the 1st,
    at ``hour``) in its time zone; no jitter: a digest is one message, not a crawl burst."""
    from monitor.digest import cron_fields

    return CronTrigger(**cron_fields(settings), timezone=ZoneInfo(settings.timezone))


def send_digest_now(config: Config, name: str, now: datetime) -> None:
    """One scheduled digest: gathered and sent (``monitor.digest_send``) with its own store
    connection; a failure is logged (and a failed send retried by the retry job), never
    stops the schedule."""
    from monitor.digest_send import send_digest

    settings = next((d for d in config.digests if d.name == name), None)
    if settings is None:
        return
    try:
        store = open_store(config.store_url)
        try:
            run = send_digest(config, store, settings, now=now)
        finally:
            store.close()
    except Exception:
        logger.exception("digest %s failed", name)
        return
    logger.info("digest %s of %s: %s", name, f"{run.digest.period.slot:%Y-%m-%d %H:%M}Z",
                ", ".join(f"{r.channel} {r.status}" for r in run.results))


def retry_digests_now(config: Config, now: datetime) -> None:
    """The digests' failed or rate-limited deliveries whose retry time has come."""
    from monitor.digest_send import retry_digests

    try:
        store = open_store(config.store_url)
        try:
            results = retry_digests(config, store, now=now)
        finally:
            store.close()
    except Exception:
        logger.exception("digest retry failed")
        return
    for r in results:
        logger.info("digest delivery %s to %s retried: %s", r.alert_id, r.channel, r.status)


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
class SortedJobStore(BaseJobStore):
    """APScheduler's ``MemoryJobStore`` with its jobs ordered in a ``SortedList`` keyed by
    (next run timestamp, job id) instead of a plain list kept sorted by hand: adding or
    rescheduling a job is O(log n) instead of a list insert and delete that each move half
    the list (at 120,000 jobs, most of APScheduler's own cost of a job in a wakeup).

    ``max_due`` bounds the jobs one wakeup gets: the rest stay due, so the store's next run
    time is already past and APScheduler wakes again at once for them. Every wakeup then
    ends within a bound (a restart after a long downtime finds all 120,000 jobs due), the
    scheduler's lock is let go between wakeups (pause, shutdown and job changes get in),
    and the state is written in batches of that size."""

    def __init__(self, max_due: int | None = None) -> None:
        super().__init__()
        self.max_due = max_due
        self._keys: SortedList = SortedList()
        self._jobs_index: dict[str, tuple[Job, tuple[float, str]]] = {}

    @staticmethod
    def _key(job: Job) -> tuple[float, str]:
        ts = datetime_to_utc_timestamp(job.next_run_time)
        return (math.inf if ts is None else ts, job.id)  # paused jobs (no next run) last

    def lookup_job(self, job_id: str) -> Job | None:
        return self._jobs_index.get(job_id, (None, None))[0]

    def get_due_jobs(self, now: datetime) -> list[Job]:
        now_ts = datetime_to_utc_timestamp(now)
        due = []
        for ts, job_id in self._keys:
            if ts > now_ts or len(due) == self.max_due:
                break
            due.append(self._jobs_index[job_id][0])
        return due

    def get_next_run_time(self) -> datetime | None:
        return self._jobs_index[self._keys[0][1]][0].next_run_time if self._keys else None

    def get_all_jobs(self) -> list[Job]:
        return [self._jobs_index[job_id][0] for _, job_id in self._keys]

    def add_job(self, job: Job) -> None:
        if job.id in self._jobs_index:
            raise ConflictingIdError(job.id)
        key = self._key(job)
        self._keys.add(key)
        self._jobs_index[job.id] = (job, key)

    def update_job(self, job: Job) -> None:
        old = self._jobs_index.get(job.id)
        if old is None:
            raise JobLookupError(job.id)
        key = self._key(job)
        if key != old[1]:
            self._keys.remove(old[1])
            self._keys.add(key)
        self._jobs_index[job.id] = (job, key)

    def remove_job(self, job_id: str) -> None:
        old = self._jobs_index.pop(job_id, None)
        if old is None:
            raise JobLookupError(job_id)
        self._keys.remove(old[1])

    def remove_all_jobs(self) -> None:
        self._keys.clear()
        self._jobs_index = {}

    def shutdown(self) -> None:
        self.remove_all_jobs()


class _PersistentJobStore(SortedJobStore):
    """The sorted memory store, writing each crawl job's next run time through to the
    store's schedule state whenever APScheduler changes it. Inside :meth:`batched` the
    writes are collected and saved in one :meth:`ScheduleTable.save_many` at its end (the
    120,000 jobs added at start), and so are those of one wakeup: APScheduler asks the store
    for the due jobs, updates each it submitted, then asks for the next run time, all under
    its job store lock, so the writes between the first and the last are one batch (a
    wakeup that dispatches thousands of jobs makes one transaction, not thousands).
    ``fence`` is passed with every write (the leader lock's token; None on a single machine)."""

    def __init__(self, state: ScheduleTable, fence: int | None = None) -> None:
        super().__init__(max_due=MAX_DUE_PER_WAKEUP)
        self.state = state
        self.fence = fence
        self._pending: dict[str, ScheduleRow] | None = None
        self._tick: contextlib.ExitStack | None = None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        self._end_tick()  # a wakeup cut short by an error: its writes land now
        due = super().get_due_jobs(now)
        if due:
            self._tick = contextlib.ExitStack()
            self._tick.enter_context(self.batched())
        return due

    def get_next_run_time(self) -> datetime | None:
        self._end_tick()
        return super().get_next_run_time()

    def shutdown(self) -> None:
        self._end_tick()
        super().shutdown()

    def _end_tick(self) -> None:
        tick, self._tick = self._tick, None
        if tick is not None:
            tick.close()

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Collect the writes made inside (by the calling thread: APScheduler adds and
        updates jobs under its job store lock) and save them at once at the end."""
        outer = self._pending is None
        if outer:
            self._pending = {}
        try:
            yield
        finally:
            if outer:
                pending, self._pending = self._pending, None
                if pending:
                    self.state.save_many(pending.values(), fence=self.fence)

    def _persist(self, job: Job) -> None:
        if job.id in (JANITOR_JOB, DIGEST_RETRY_JOB) or job.id.startswith(DIGEST_JOB_PREFIX):
            return  # rebuilt from the config at start; a digest's dedupe is its deliveries
        row = (job.id, job.kwargs["schedule"], job.next_run_time)
        if self._pending is not None:
            self._pending[job.id] = row
        else:
            self.state.save(*row, fence=self.fence)

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

    def __init__(self, state: ScheduleTable, may_persist: Callable[[str], bool]) -> None:
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


def plan(config: Config, state: ScheduleTable, now: datetime) -> list[PlannedJob]:
    """One job per source: its trigger and next run, the persisted one when the schedule is
    unchanged (even if already past: APScheduler then coalesces it and applies the grace)."""
    tz = ZoneInfo(config.crawl.timezone)
    persisted = state.load()
    # one trigger per schedule text, shared by its jobs: a trigger holds no per-job state
    # (APScheduler computes each next time from the job's previous one), and compiling a
    # crontab 45,000 times was a third of the plan at chain scale
    triggers: dict[str, BaseTrigger] = {}
    jobs = []
    for src in sorted(config.sources.values(), key=lambda s: (s.location, s.id)):
        schedule = src.schedule or config.schedule.default
        if schedule not in triggers:
            triggers[schedule] = trigger_for(schedule, config.schedule, tz)
        trigger = triggers[schedule]
        saved_schedule, saved_next = persisted.get(src.id, (None, None))[:2]
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
    return [sys.executable, "-m", "vocwatch", "crawl", "-c", str(config.path), "--source", source.id, "--quiet"]


# -- the scheduler ----------------------------------------------------------------------
class CrawlScheduler:
    """Runs every configured source on its schedule until :meth:`stop`.

    ``command`` builds the argv of one crawl (tests replace the real crawl)."""

    def __init__(self, config: Config,
                 command: Callable[[Config, Source], Sequence[str]] = crawl_command) -> None:
        self.config = config
        self.settings = config.schedule
        self.command = command
        self.store = open_store(config.store_url)
        self.state = self.store.schedule_state
        self.jobs: list[PlannedJob] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self.jobstore = _PersistentJobStore(self.state)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": self.jobstore},
            executors={"default": ThreadPoolExecutor(self.settings.max_parallel)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(self.settings.misfire_grace_seconds)},
            timezone=ZoneInfo(config.crawl.timezone),
        )
        self.scheduler.add_executor(ThreadPoolExecutor(1), "digests")  # never behind the crawls' slots
        self.distributed = config.distributed.enabled
        if self.distributed:
            self._init_distributed()

    def add_digest_jobs(self, now: datetime) -> None:
        """One cron job per ``[[digests]]`` entry, plus the retry of their failed sends; a
        digest whose slot passed within ``DIGEST_CATCH_UP`` runs at once (sent only if no
        delivery of that slot has been)."""
        from monitor.digest import latest_slot

        for d in self.config.digests:
            catch_up = now - latest_slot(d, now) <= DIGEST_CATCH_UP
            self.scheduler.add_job(self.run_digest, digest_trigger(d), id=DIGEST_JOB_PREFIX + d.name,
                                   name=f"digest {d.name} ({d.scope}, {d.every})", executor="digests",
                                   kwargs={"name": d.name}, replace_existing=True,
                                   misfire_grace_time=int(DIGEST_CATCH_UP.total_seconds()),
                                   **({"next_run_time": now} if catch_up else {}))
        if self.config.digests:
            self.scheduler.add_job(self.retry_digests, IntervalTrigger(seconds=DIGEST_RETRY_EVERY.total_seconds()),
                                   id=DIGEST_RETRY_JOB, name="retry failed digest deliveries", executor="digests",
                                   replace_existing=True)

    def run_digest(self, name: str) -> None:
        """The job of one digest: sent as of the clock (its latest slot)."""
        send_digest_now(self.config, name, datetime.now(UTC))

    def retry_digests(self) -> None:
        retry_digests_now(self.config, datetime.now(UTC))

    def start(self) -> None:
        if self.distributed:
            self._start_distributed()
            return
        now = datetime.now(UTC)
        self.janitor()
        self.jobs = plan(self.config, self.state, now)
        self.state.keep_only([j.source.id for j in self.jobs], fence=self.jobstore.fence)
        for job in self.jobs:
            self.scheduler.add_job(self.run_crawl, job.trigger, id=job.source.id,
                                   name=f"{job.source.location} {job.source.id}",
                                   kwargs={"source_id": job.source.id, "schedule": job.schedule},
                                   next_run_time=job.next_run)
        self.scheduler.add_job(self.janitor, IntervalTrigger(seconds=JANITOR_EVERY.total_seconds()),
                               id=JANITOR_JOB, name="close stale crawl runs as killed")
        self.add_digest_jobs(now)
        with self.jobstore.batched():  # every job's state in one write, before any job can run
            self.scheduler.start(paused=True)
        self.scheduler.resume()
        logger.info("scheduling %d source(s), at most %d crawl(s) at a time, %d digest(s); state in %s",
                    len(self.jobs), self.settings.max_parallel, len(self.config.digests),
                    mask_url(self.config.store_url))

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
        self.fenced = _FencedJobStore(self.state, self._may_persist)
        """Its writes carry the fence of the leadership they were made under (see _on_elected)."""
        self.scheduler.add_jobstore(self.fenced, "fenced")
        self.scheduler.add_executor(_EnqueueExecutor(self._enqueue_due), "enqueue")

    def _start_distributed(self) -> None:
        self.scheduler.start(paused=True)  # nothing is planned until this scheduler leads
        self.election.start()
        logger.info("distributed scheduling of %d source(s) as %s: leading or standing by "
                    "(leader lock TTL %g s)", len(self.config.sources), self.lock.holder, self.lock.ttl)

    def _stop_distributed(self) -> None:
        self.election.stop()  # steps down (pauses, drops the jobs) and releases the lock
        self.scheduler.shutdown(wait=True)
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
            # every state write of this leadership carries its fence: the table refuses them
            # once a later leader has written (a deposed leader cannot move times backwards)
            self.fenced.fence = fence
            self.jobs = plan(self.config, self.state, datetime.now(UTC))
            self._check_fence(fence)
            self.state.keep_only([j.source.id for j in self.jobs], fence=fence)
            with self.fenced.batched():  # the whole plan in one write
                for job in self.jobs:
                    self.scheduler.add_job(self.run_crawl, job.trigger, id=job.source.id,
                                           name=f"{job.source.location} {job.source.id}",
                                           jobstore="fenced", executor="enqueue",
                                           kwargs={"source_id": job.source.id, "schedule": job.schedule},
                                           next_run_time=job.next_run)
            self.scheduler.add_job(self.janitor, IntervalTrigger(seconds=JANITOR_EVERY.total_seconds()),
                                   id=JANITOR_JOB, name="close stale crawl runs as killed")
            self.add_digest_jobs(datetime.now(UTC))  # the leader's: one sender of each digest
            self.scheduler.resume()
        logger.info("leading with fence %d: enqueuing the due crawls of %d source(s) into Redis",
                    fence, len(self.jobs))

    def _check_fence(self, fence: int) -> None:
        """A persisted row written under a higher fence than this leader's means Redis's
        fence counter went back (its data lost): every write of this leadership would be
        refused, so say so (the cure: set ``<prefix>:leader:fence`` above the stored one)."""
        highest = max((e.fence for e in self.state.load().values() if e.fence is not None), default=None)
        if highest is not None and highest > fence:
            logger.error("schedule state was written under fence %d, above this leader's %d: Redis's fence "
                         "counter went back (data lost?); next run times will not be persisted until "
                         "%s is set to %d or more", highest, fence,
                         f"{self.config.distributed.key_prefix}:leader:fence", highest)

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
