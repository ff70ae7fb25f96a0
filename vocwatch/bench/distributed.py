"""Distributed crawl: one local site of many pages crawled by 1 ``vocwatch worker``, then by
3 of them sharing the source's Redis queue, in the same run: pages/s of each and the ratio,
duplicates (pages fetched more than once, items stored more than once) and lost items.

The site is :class:`vocwatch.bench.site.BenchSite` (the mall comment API, page 1 gives the
page count, so the queue fans out at once) with its access log; the store one SQLite file
shared by the worker processes; Redis the ``--redis-url`` given, else a ``redis-server``
started for the run in a temp dir. Pages/s = pages / (job enqueued -> its run recorded),
which includes the workers' crawl processes starting (a few seconds each).

``python -m vocwatch.bench.distributed`` (``--pages``, ``--per-page``, ``--workers``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vocwatch.bench.site import BENCH_PLACE, PATH, BenchSite

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0
concurrency_per_site = {concurrency}
timeout = 10
retries = 2

[distributed]
redis_url = "{redis_url}"
key_prefix = "{prefix}"
lease_seconds = {lease}

{place}
[[sources]]
location = "bench-store"
kind = "mall_comments"
url = "{url}"
max_pages = {max_pages}
"""
SOURCE_ID = "bench-store/mall_comments"


def page_of(path: str) -> int | None:
    """The page number of a comment-page request in the access log."""
    parts = urlsplit(path)
    if parts.path != PATH:
        return None
    page = parse_qs(parts.query).get("page", [""])[0]
    return int(page) if page.isdigit() else None


@dataclass
class Trial:
    """One crawl job of the site by ``workers`` worker processes."""

    workdir: Path
    redis_url: str
    pages: int = 2000
    per_page: int = 2
    lease: float = 3.0
    concurrency: int = 4
    prefix: str = "bench"
    site: BenchSite = field(init=False)
    config: Path = field(init=False)
    db: Path = field(init=False)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.site = BenchSite(comments=self.pages * self.per_page, page_size=self.per_page)
        url = self.site.start()
        self.db = self.workdir / "store.db"
        self.config = self.workdir / "vocwatch.toml"
        self.config.write_text(CONFIG.format(place=BENCH_PLACE, db=self.db, concurrency=self.concurrency,
                                             redis_url=self.redis_url, prefix=self.prefix, lease=self.lease,
                                             url=url, max_pages=self.pages * 2), encoding="utf-8")

    @property
    def expected_items(self) -> int:
        return self.pages * self.per_page

    def enqueue(self) -> str:
        from config import load_config
        from crawlers.distributed import redis_client
        from crawlers.distributed.jobs import JobQueue, job_id

        settings = load_config(self.config).distributed
        due = datetime.now(UTC).replace(microsecond=0)
        JobQueue(redis_client(settings), settings).enqueue(SOURCE_ID, due)
        return job_id(SOURCE_ID, due)

    def start_worker(self, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        env = {**os.environ, "VOCWATCH_LOG_LEVEL": "WARNING"}
        env.pop("VOCWATCH_REDIS_URL", None)
        out = open(log or self.workdir / f"worker-{len(self.procs)}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "worker", "-c", str(self.config), *args],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(proc)
        return proc

    def job(self, jid: str) -> Any:
        from config import load_config
        from crawlers.distributed import redis_client
        from crawlers.distributed.jobs import JobQueue

        settings = load_config(self.config).distributed
        return JobQueue(redis_client(settings), settings).get(jid)

    def wait_done(self, jid: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(jid)
            if job is not None and job.state in ("done", "failed"):
                return job
            time.sleep(0.2)
        raise TimeoutError(f"job {jid} not done within {timeout:g} s")

    def fetched(self) -> Counter[int]:
        """page number -> times the site served it."""
        return Counter(p for p in (page_of(h) for h in list(self.site.hits)) if p is not None)

    def stored(self) -> tuple[int, int]:
        """(rows, distinct external ids) of the stored mentions."""
        with sqlite3.connect(self.db) as con:
            rows, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT external_id) FROM mentions").fetchone()
        return rows, distinct

    def run(self, jid: str) -> Any:
        from crawlers.store import open_store

        store = open_store(f"sqlite:///{self.db}")
        try:
            job = self.job(jid)
            return next(r for r in store.list_runs(source_id=SOURCE_ID, limit=20) if r.id == job.run_id)
        finally:
            store.close()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.site.stop()


def crawl(workdir: Path, redis_url: str, workers: int, *, pages: int, per_page: int, prefix: str,
          timeout: float = 600) -> dict[str, Any]:
    """One job crawled by ``workers`` workers; the figures."""
    trial = Trial(workdir, redis_url, pages=pages, per_page=per_page, prefix=prefix)
    try:
        started = time.monotonic()
        jid = trial.enqueue()
        for _ in range(workers):
            trial.start_worker("--exit-when-idle", "3")
        trial.wait_done(jid, timeout)
        seconds = time.monotonic() - started
        for proc in trial.procs:
            proc.wait(timeout=60)
        fetched = trial.fetched()
        rows, distinct = trial.stored()
        run = trial.run(jid)
        by_worker = {k.rsplit("/", 1)[1]: v for k, v in run.stats.items()
                     if k.startswith("vocwatch/distributed/pages_by/")}
        return {"workers": workers, "pages": pages, "seconds": round(seconds, 2),
                "pages_per_s": round(pages / seconds, 1), "outcome": run.outcome,
                "pages_fetched_twice": sum(1 for n in fetched.values() if n > 1),
                "pages_never_fetched": pages - len(fetched),
                "items_stored_twice": rows - distinct, "items_lost": trial.expected_items - distinct,
                "unaccounted": run.stats.get("vocwatch/balance/unaccounted"),
                "pages_by_worker": sorted(by_worker.values(), reverse=True)}
    finally:
        trial.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _own_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def format_result(one: dict[str, Any], many: dict[str, Any]) -> str:
    lines = [f"distributed crawl of {one['pages']} pages (mall_comments, delay 0, lease 3 s, SQLite store):"]
    for r in (one, many):
        lines.append(f"  {r['workers']} worker(s): {r['pages_per_s']:>7.1f} pages/s ({r['seconds']} s, run {r['outcome']}), "
                     f"pages by worker {r['pages_by_worker']}; pages fetched twice {r['pages_fetched_twice']}, "
                     f"never {r['pages_never_fetched']}; items stored twice {r['items_stored_twice']}, "
                     f"lost {r['items_lost']}, unaccounted {r['unaccounted']}")
    lines.append(f"  ratio {many['workers']} vs 1: {many['pages_per_s'] / one['pages_per_s']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vocwatch.bench.distributed", description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=2000)
    p.add_argument("--per-page", type=int, default=2, help="comments per page (items = pages x this)")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--redis-url", default=None, help="default: a redis-server started for the run")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vocwatch-bench-dist-") as tmp:
        work = Path(tmp)
        server, url = (None, args.redis_url) if args.redis_url else _own_redis(work)
        try:
            one = crawl(work / "one", url, 1, pages=args.pages, per_page=args.per_page, prefix="bench1")
            many = crawl(work / "many", url, args.workers, pages=args.pages, per_page=args.per_page, prefix="bench3")
        finally:
            if server is not None:
                server.kill()
                server.wait()
    print(format_result(one, many))
    return 0


if __name__ == "__main__":
    sys.exit(main())
