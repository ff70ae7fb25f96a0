"""Chain-scale benchmark (``vocwatch bench scale``): a synthetic 4,000-location x 30-source
config (120,000 schedules, interval and crontab) written as a chain would write it (own
locations and all sources in TOML, competitors in a location CSV), and the figures the
issue sets targets for (start < 30 s, < 500 MB, a tick < 1 s), each next to a baseline
measured in the same run:

- config load, against ``tomllib`` + ``csv`` reading the same files (the validation's cost);
- scheduler start (load state + plan + APScheduler jobs + state persisted) and peak RSS,
  each in a fresh subprocess, against bare APScheduler adding the same jobs to a plain
  ``MemoryJobStore`` (no state, no plan) and against the RSS right after the imports;
- per tick: the time APScheduler's ``_process_jobs`` takes per wakeup (finding the due
  jobs, submitting them, computing and persisting their next runs) with each crawl
  replaced by a no-op append to a list, for the first seconds of a cold start and for a
  restart at which every job is due at once, against bare APScheduler on the same jobs;
- the enqueue rate into a real Redis (``crawlers.distributed.jobs.JobQueue.enqueue``,
  leader-fenced), against a ``PING`` round trip;
- the metrics/dashboard queries (``monitor.metrics.benchmark`` for every own location, and
  for one, as the dashboard asks) on the same mentions in SQLite and in ``MongoStore``
  over mongomock (no MongoDB server here: mongomock is pure Python, so its times say how
  the pipelines behave, not how fast a server runs them; the rollup queries issued count).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SITES = tuple(f"site{i:02d}" for i in range(1, 31))
KINDS = ("hotel_reviews", "mall_comments", "weibo_feed", "forum", "rss")
SCHEDULES = (None, None, "every 1h", "every 4h", "every 12h", "0 9 * * *", "30 */6 * * *", "0 3 * * 1")
"""A source's schedule, drawn at random: None is ``[schedule].default`` (every 6h)."""


# -- the synthetic config ---------------------------------------------------------------
def write_config(out: Path, *, locations: int = 4000, sources: int = 30, seed: int = 1) -> tuple[Path, list[Any]]:
    """``out/vocwatch.toml`` + ``out/locations.csv``: ``locations`` locations (10% own, in
    TOML with a radius competitive set; the rest in the CSV), ``sources`` sources each."""
    from vocwatch.synth import BRANDS, CATEGORIES, RADIUS_KM, _locations

    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    locs = _locations(rnd, locations)
    q = json.dumps  # a JSON string is a valid TOML basic string
    db = out / "scale.db"
    lines = ["# Synthetic chain-scale config written by `vocwatch bench scale`.",
             'location_files = ["locations.csv"]', "", "[store]", f"url = {q('sqlite:///' + str(db.resolve()))}", ""]
    for cat in CATEGORIES:
        for bid, name in BRANDS[cat]:
            lines += ["[[brands]]", f"id = {q(bid)}", f"name = {q(name)}", ""]
    for loc in locs:
        if loc.own:
            lines += ["[[locations]]", f"id = {q(loc.id)}", f"name = {q(loc.name)}", f"brand = {q(loc.brand)}",
                      f"category = {q(loc.category)}", f"lat = {loc.lat}", f"lon = {loc.lon}",
                      f"region = {q(loc.region)}", 'role = "own"',
                      f"competitors = {{ radius_km = {RADIUS_KM[loc.category]} }}", ""]
    for loc in locs:
        for j, site in enumerate(SITES[:sources] if sources <= len(SITES) else
                                 [f"site{i:02d}" for i in range(1, sources + 1)]):
            schedule = rnd.choice(SCHEDULES)
            lines += ["[[sources]]", f"id = {q(f'{loc.id}/{site}')}", f"location = {q(loc.id)}",
                      f"kind = {q(KINDS[j % len(KINDS)])}", f"url = {q(f'https://{site}.example/{loc.id}')}",
                      f"site = {q(site)}"] + ([f"schedule = {q(schedule)}"] if schedule else []) + [""]
    path = out / "vocwatch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with open(out / "locations.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "brand", "category", "lat", "lon", "region", "role"])
        w.writerows([loc.id, loc.name, loc.brand, loc.category, loc.lat, loc.lon, loc.region, "competitor"]
                    for loc in locs if not loc.own)
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    return path, locs


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def config_load(path: Path) -> dict[str, Any]:
    """``load_config`` against parsing the same files without validating them."""
    import tomllib

    from config.loader import load_config

    def parse_only() -> int:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        with open(path.parent / "locations.csv", encoding="utf-8") as f:
            return len(raw.get("sources", [])) + sum(1 for _ in csv.DictReader(f))

    _, base = _timed(parse_only)
    config, seconds = _timed(lambda: load_config(path))
    return {"sources": len(config.sources), "locations": len(config.locations), "load_seconds": round(seconds, 2),
            "parse_seconds": round(base, 2), "ratio": round(seconds / base, 2) if base else None}


# -- the scheduler, in a fresh process --------------------------------------------------
def _max_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives fork + exec (a child starts
    with its parent's peak), so the kernel's ``VmHWM`` of this very image is read first."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


class _Ticks:
    """Wraps a scheduler's ``_process_jobs``: the duration of each wakeup and the jobs due in it."""

    def __init__(self, scheduler: Any, jobstore: Any) -> None:
        self.durations: list[float] = []
        self.due: list[int] = []
        self._due = 0
        process, get_due = scheduler._process_jobs, jobstore.get_due_jobs

        def timed_process() -> Any:
            t0 = time.perf_counter()
            try:
                return process()
            finally:
                self.durations.append(time.perf_counter() - t0)
                self.due.append(self._due)
                self._due = 0

        def counted_due(now: datetime) -> list[Any]:
            jobs = get_due(now)
            self._due += len(jobs)
            return jobs

        scheduler._process_jobs = timed_process
        jobstore.get_due_jobs = counted_due

    def summary(self) -> dict[str, Any]:
        busy = [(d, n) for d, n in zip(self.durations, self.due, strict=True) if n]
        ds = sorted(d for d, _ in busy)
        return {"ticks": len(self.durations), "busy_ticks": len(busy), "jobs_due": sum(n for _, n in busy),
                "max_tick_seconds": round(max(ds), 4) if ds else 0.0,
                "max_tick_jobs": max((n for _, n in busy), default=0),
                "p99_tick_seconds": round(ds[min(len(ds) - 1, int(len(ds) * 0.99))], 4) if ds else 0.0,
                "mean_tick_seconds": round(sum(ds) / len(ds), 5) if ds else 0.0,
                "us_per_due_job": round(1e6 * sum(ds) / max(1, sum(n for _, n in busy)), 1)}


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def child(argv: list[str]) -> dict[str, Any]:
    """One measurement in this (fresh) process; ``mode``: ``cold`` (no state), ``warm``
    (the state a previous start left), ``due`` (every job due now), ``bare`` (APScheduler
    alone, every job due now)."""
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["cold", "warm", "due", "bare"])
    p.add_argument("config")
    p.add_argument("--watch", type=float, default=5.0)
    args = p.parse_args(argv)

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    import monitor.scheduler as sched
    from config.loader import load_config
    from crawlers.store import open_store

    rss_imports = _max_rss_mb()
    config, load_s = _timed(lambda: load_config(args.config))
    enqueued: list[str] = []
    out: dict[str, Any] = {"mode": args.mode, "jobs": len(config.sources), "load_seconds": round(load_s, 2)}
    now = datetime.now(UTC)

    if args.mode == "bare":
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(config.crawl.timezone)
        store_ = MemoryJobStore()
        bare = BackgroundScheduler(jobstores={"default": store_},
                                   executors={"default": ThreadPoolExecutor(config.schedule.max_parallel)},
                                   job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 900},
                                   timezone=tz)
        ticks = _Ticks(bare, store_)
        t0 = time.perf_counter()
        for src in config.sources.values():
            trigger = sched.trigger_for(src.schedule or config.schedule.default, config.schedule, tz)
            bare.add_job(enqueued.append, trigger, id=src.id, args=(src.id,), next_run_time=now - timedelta(seconds=5))
        bare.start(paused=True)
        out["start_seconds"] = round(time.perf_counter() - t0, 2)
        out["rss_after_start_mb"] = round(_max_rss_mb(), 1)
        bare.resume()
        _wait_until(lambda: len(enqueued) >= len(config.sources), args.watch + 60)
        bare.shutdown(wait=True)
    else:
        class NoopScheduler(sched.CrawlScheduler):
            def run_crawl(self, source_id: str, schedule: str) -> None:
                enqueued.append(source_id)

        if args.mode == "due":  # as if the scheduler had been down: every job due 5 s ago
            store = open_store(config.store_url)
            store.schedule_state.save_many(
                (src.id, src.schedule or config.schedule.default, now - timedelta(seconds=5))
                for src in config.sources.values())
            store.close()
        s = NoopScheduler(config)
        ticks = _Ticks(s.scheduler, s.jobstore)
        phases: dict[str, float] = {"plan": 0.0, "persist": 0.0, "keep_only": 0.0}

        def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(*a: Any, **kw: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    phases[name] += time.perf_counter() - t0
            return wrapped

        plan = sched.plan
        sched.plan = timing("plan", plan)
        s.state.save_many = timing("persist", s.state.save_many)  # type: ignore[method-assign]
        s.state.keep_only = timing("keep_only", s.state.keep_only)  # type: ignore[method-assign]
        _, start_s = _timed(s.start)
        sched.plan = plan
        out["start_seconds"] = round(start_s, 2)
        out["phases"] = {k: round(v, 2) for k, v in phases.items()}
        out["phases"]["apscheduler_and_rest"] = round(start_s - sum(phases.values()), 2)
        out["rss_after_start_mb"] = round(_max_rss_mb(), 1)
        if args.mode == "due":
            _wait_until(lambda: len(enqueued) >= len(config.sources), args.watch + 60)
        else:
            time.sleep(args.watch)
        s.stop()
    out["rss_imports_mb"] = round(rss_imports, 1)
    out["peak_rss_mb"] = round(_max_rss_mb(), 1)
    out["enqueued"] = len(enqueued)
    out["ticks"] = ticks.summary()
    return out


def _run_child(mode: str, config: Path, watch: float) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    env.pop("VOCWATCH_STORE_URL", None)
    done = subprocess.run([sys.executable, "-m", "vocwatch.bench.scale", mode, str(config), "--watch", str(watch)],
                          capture_output=True, text=True, env=env, cwd=root, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scale benchmark child {mode} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- Redis enqueue rate -----------------------------------------------------------------
def enqueue_rate(n: int) -> dict[str, Any]:
    """``JobQueue.enqueue`` (fenced, as the leader calls it) against a ``PING`` round trip,
    on Debian's redis-server started for the run (AOF, fsync always, as in the tests)."""
    try:
        from crawlers.distributed import key, redis_client
        from crawlers.distributed.jobs import JobQueue
        from tests.redis_server import RedisServer
    except ImportError as exc:
        return {"missing": f"needs crawlers.distributed.jobs and tests/redis_server.py ({exc})"}
    from shutil import which

    if which("redis-server") is None:
        return {"missing": "no redis-server on PATH (scripts/bootstrap.sh installs it)"}
    from config.model import DistributedSettings

    with tempfile.TemporaryDirectory(prefix="vocwatch-bench-redis-") as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            settings = DistributedSettings(redis_url=server.url)
            r = redis_client(settings)
            r.set(key(settings, "leader"), "1 bench")
            queue = JobQueue(r, settings)
            _, ping = _timed(lambda: [r.ping() for _ in range(n)])
            due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
            ok, seconds = _timed(lambda: sum(queue.enqueue(f"loc-{i}/site", due, fence=1) for i in range(n)))
            again, seconds_again = _timed(lambda: sum(queue.enqueue(f"loc-{i}/site", due, fence=1)
                                                      for i in range(min(n, 5000))))
            r.config_set("appendfsync", "everysec")  # a production Redis's usual setting
            _, everysec = _timed(lambda: sum(queue.enqueue(f"loc-{i}/site", due + timedelta(hours=1), fence=1)
                                             for i in range(n)))
        finally:
            server.stop()
    return {"jobs": n, "enqueued": ok, "per_second": round(n / seconds), "ping_per_second": round(n / ping),
            "ratio": round(seconds / ping, 2), "duplicates_refused": min(n, 5000) - again,
            "duplicate_per_second": round(min(n, 5000) / seconds_again),
            "everysec_per_second": round(n / everysec)}


# -- metrics on SQLite and on MongoStore over mongomock ---------------------------------
def _mongomock_store() -> Any:
    """A ``MongoStore`` over mongomock, taught the one operator the rollups use that
    mongomock 4.3 lacks (``$dateTrunc`` to day/week/month in UTC, weeks from Monday) and
    pymongo 4.11's ``UpdateOne(sort=)``; as the contract tests' fixture does."""
    import mongomock
    import mongomock.aggregate as agg
    import pymongo

    from crawlers.store.mongo import MongoStore

    if "$dateTrunc" not in agg.date_operators:
        agg.date_operators.append("$dateTrunc")
        handle = agg._Parser._handle_date_operator

        def with_trunc(self: Any, operator: str, values: Any) -> Any:
            if operator != "$dateTrunc":
                return handle(self, operator, values)
            d = self.parse(values["date"])
            d = d.replace(hour=0, minute=0, second=0, microsecond=0)
            if values["unit"] == "week":
                d -= timedelta(days=d.weekday())
            elif values["unit"] == "month":
                d = d.replace(day=1)
            return d

        agg._Parser._handle_date_operator = with_trunc
        add_update = mongomock.collection.BulkOperationBuilder.add_update
        mongomock.collection.BulkOperationBuilder.add_update = (
            lambda self, *a, sort=None, **kw: add_update(self, *a, **kw))
    real = pymongo.MongoClient
    pymongo.MongoClient = mongomock.MongoClient
    try:
        return MongoStore("mongodb://127.0.0.1:27017/vocwatch_bench")
    finally:
        pymongo.MongoClient = real


def metrics(config_path: Path, locs: list[Any], mentions: int, seed: int) -> dict[str, Any]:
    from config.loader import load_config
    from crawlers.store.mongo import mention_to_doc
    from crawlers.store.sqlite import SQLiteStore
    from monitor.compset import competitive_sets
    from monitor.metrics import benchmark, own_location_ids
    from vocwatch.synth import END, _mentions

    config = load_config(config_path)
    own = own_location_ids(config, None)
    _, compset_s = _timed(lambda: competitive_sets(config, own))
    now = datetime(END.year, END.month, END.day, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="vocwatch-bench-metrics-") as tmp:
        sqlite = SQLiteStore(f"sqlite:///{tmp}/m.db")
        mongo = _mongomock_store()
        try:
            batch: list[Any] = []

            def load(batch: list[Any]) -> None:
                sqlite.insert_new(batch)
                mongo._mentions.insert_many([mention_to_doc(m) for m in batch])

            for m in _mentions(random.Random(seed), locs, mentions, 180):
                batch.append(m)
                if len(batch) == 10_000:
                    load(batch)
                    batch = []
            if batch:
                load(batch)
            out: dict[str, Any] = {"mentions": mentions, "locations": len(config.locations), "own_locations": len(own),
                                   "compset_seconds": round(compset_s, 3)}
            for name, store in (("sqlite", sqlite), ("mongomock", mongo)):
                queries = _count_rollups(store)
                results, all_s = _timed(lambda s=store: benchmark(config, s, window="90d", now=now))
                all_q = queries()
                _, one_s = _timed(lambda s=store: benchmark(config, s, location_ids=own[:1], window="90d", now=now))
                out[name] = {"benchmark_all_seconds": round(all_s, 2), "rollup_queries": all_q,
                             "benchmarked": len(results), "dashboard_one_seconds": round(one_s, 3),
                             "dashboard_rollup_queries": queries()}
        finally:
            sqlite.close()
            mongo.close()
    s, m = out["sqlite"], out["mongomock"]
    out["ratio_all"] = round(m["benchmark_all_seconds"] / s["benchmark_all_seconds"], 1) if s["benchmark_all_seconds"] else None
    return out


def _count_rollups(store: Any) -> Callable[[], int]:
    """Counts the store's ``rollup`` calls; each call of the returned function gives the
    count since the last."""
    calls = [0]
    rollup = store.rollup

    def counted(*a: Any, **kw: Any) -> Any:
        calls[0] += 1
        return rollup(*a, **kw)

    def taken() -> int:
        n, calls[0] = calls[0], 0
        return n

    store.rollup = counted
    return taken


# -- the command ------------------------------------------------------------------------
def run(directory: str | Path, *, locations: int = 4000, sources: int = 30, seed: int = 1, mentions: int = 20_000,
        enqueue: int = 20_000, watch: float = 5.0, say: Callable[[str], Any] = print) -> dict[str, Any]:
    out_dir = Path(directory)
    say(f"scale benchmark: {locations:,} locations x {sources} sources = {locations * sources:,} schedules "
        f"(targets: start < 30 s, peak RSS < 500 MB, a tick < 1 s)")
    (path, locs), gen_s = _timed(lambda: write_config(out_dir, locations=locations, sources=sources, seed=seed))
    say(f"  config written in {gen_s:.1f} s: {path} + {path.parent / 'locations.csv'}")
    res: dict[str, Any] = {"locations": locations, "sources_per_location": sources}

    res["config"] = c = config_load(path)
    say(f"  config load: {c['load_seconds']:.2f} s for {c['sources']:,} sources / {c['locations']:,} locations "
        f"(baseline, TOML + CSV parsing only: {c['parse_seconds']:.2f} s; {c['ratio']}x)")

    res["bare"] = bare = _run_child("bare", path, watch)
    res["cold"] = cold = _run_child("cold", path, watch)
    res["warm"] = warm = _run_child("warm", path, watch)
    res["due"] = due = _run_child("due", path, watch)
    for name, r in (("cold start (no state)", cold), ("warm start (restart)", warm), ("start, all jobs due", due)):
        ph = r["phases"]
        say(f"  scheduler {name}: {r['start_seconds']:.2f} s (plan {ph['plan']:.2f}, persist {ph['persist']:.2f}, "
            f"keep_only {ph['keep_only']:.2f}, APScheduler + rest {ph['apscheduler_and_rest']:.2f}); "
            f"with its config load {r['load_seconds'] + r['start_seconds']:.2f} s; baseline bare APScheduler "
            f"{bare['start_seconds']:.2f} s ({r['start_seconds'] / bare['start_seconds']:.2f}x)")
    say(f"  peak RSS: cold {cold['peak_rss_mb']:.0f} MB, warm {warm['peak_rss_mb']:.0f} MB, all due "
        f"{due['peak_rss_mb']:.0f} MB (after imports {cold['rss_imports_mb']:.0f} MB; bare APScheduler "
        f"{bare['peak_rss_mb']:.0f} MB)")
    for name, r in ((f"first {watch:g}s of a cold start", cold), ("all jobs due at once", due)):
        t = r["ticks"]
        say(f"  tick, {name}: {t['busy_ticks']:,} busy ticks dispatched {t['jobs_due']:,} jobs; max "
            f"{t['max_tick_seconds']:.3f} s ({t['max_tick_jobs']:,} jobs), p99 {t['p99_tick_seconds']:.4f} s, "
            f"{t['us_per_due_job']:.0f} us per due job")
    bt = bare["ticks"]
    say(f"  tick baseline, bare APScheduler, all jobs due: max {bt['max_tick_seconds']:.3f} s "
        f"({bt['max_tick_jobs']:,} jobs), {bt['us_per_due_job']:.0f} us per due job "
        f"(vocwatch {due['ticks']['us_per_due_job'] / max(bt['us_per_due_job'], 0.1):.1f}x)")

    res["enqueue"] = e = enqueue_rate(min(enqueue, locations * sources))
    if "missing" in e:
        say(f"  Redis enqueue: not measured: {e['missing']}")
    else:
        say(f"  Redis enqueue (JobQueue.enqueue, fenced, AOF fsync always): {e['per_second']:,}/s over "
            f"{e['jobs']:,} jobs ({locations * sources / e['per_second']:.1f} s for all {locations * sources:,}); "
            f"fsync everysec {e['everysec_per_second']:,}/s; duplicates refused {e['duplicate_per_second']:,}/s; "
            f"baseline PING {e['ping_per_second']:,}/s ({e['ratio']}x a round trip)")

    res["metrics"] = m = metrics(path, locs, mentions, seed)
    say(f"  competitive sets of {m['own_locations']:,} own locations among {m['locations']:,}: "
        f"{m['compset_seconds']:.3f} s")
    for name in ("sqlite", "mongomock"):
        r = m[name]
        say(f"  metrics on {name} ({m['mentions']:,} mentions): benchmark of {r['benchmarked']:,} own locations "
            f"{r['benchmark_all_seconds']:.2f} s in {r['rollup_queries']} rollup queries; dashboard, one location "
            f"{r['dashboard_one_seconds']:.3f} s in {r['dashboard_rollup_queries']} queries")
    say(f"  mongomock / SQLite: {m['ratio_all']}x (mongomock is pure Python: the query count, not its time, "
        f"is what carries over to a MongoDB server)")
    return res


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1:])))
