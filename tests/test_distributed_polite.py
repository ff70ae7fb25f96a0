"""A site's politeness across workers: one delay and one concurrency cap per site in Redis
(``crawlers.distributed.politeness``), on a real redis-server and real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from config import load_config
from crawlers.addon import VocwatchConfigAddon
from crawlers.distributed import key, redis_client
from crawlers.distributed.politeness import (
    CLAIMED,
    FULL,
    GONE,
    SITE_DELAY_SETTING,
    SitePolitenessMiddleware,
    SiteSlots,
)
from tests.conftest import ONE_HOTEL, ROOT, runs_by_source

DELAY = 1.0
PAGES = 4
SERVICE_SECONDS = 0.3
"""Each page takes this long to answer, so two workers' requests would overlap at the site."""
TOLERANCE = 0.75
"""Gaps are measured at the server. The shared slot hands out claim times ``DELAY`` apart
(less at most 5% for a claim that wakes a little late); between its claim and the wire a
worker's event loop, busy with the page before, can add tens of milliseconds (0.15 s seen
while the whole suite ran on a loaded two-core machine): hence a 1 s delay and this
tolerance on single gaps. The average gap carries no such jitter and must be the delay."""
RETRY_AFTER = 2


# -- the slot script against a real Redis ---------------------------------------------
def _slots(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SiteSlots:
    monkeypatch.setenv("VOCWATCH_REDIS_URL", url)
    cfg = tmp_path / "v.toml"
    cfg.write_text(ONE_HOTEL + '[distributed]\nkey_prefix = "t"\n', encoding="utf-8")
    d = load_config(cfg).distributed
    return SiteSlots(redis_client(d), d)


def test_threads_reserving_slots_get_times_exactly_delay_apart(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    slots = _slots(redis_url, monkeypatch, tmp_path)
    got: list[Any] = []
    lock = threading.Lock()

    def reserve() -> None:
        r = slots.reserve("shop.test", 0.25)
        with lock:
            got.append(r)

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = sorted(r.at for r in got)
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [0.25] * 19
    assert times[0] == min(r.now for r in got)  # the first one goes at once (Redis time)
    assert slots.redis.pttl(key(slots.settings, "site", "shop.test", "next")) > 0  # idle sites' keys expire


def test_the_concurrency_cap_and_an_expired_lease(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    slots = _slots(redis_url, monkeypatch, tmp_path)
    assert slots.claim("shop.test", "a", concurrency=2, lease=60) == CLAIMED
    assert slots.claim("shop.test", "b", concurrency=2, lease=0.3) == CLAIMED  # its worker dies: never released
    assert slots.claim("shop.test", "c", concurrency=2, lease=60) == FULL  # cap full
    slots.release("shop.test", "a")
    assert slots.claim("shop.test", "c", concurrency=2, lease=60) == CLAIMED  # a's lease came back
    assert slots.claim("shop.test", "d", concurrency=2, lease=60) == FULL
    assert slots.claim("other.test", "d", concurrency=2, lease=60) == CLAIMED  # other sites have their own cap
    deadline = time.monotonic() + 3 * 0.3 + 2
    while slots.claim("shop.test", "d", concurrency=2, lease=60) != CLAIMED:
        assert time.monotonic() < deadline, "the dead worker's lease never expired"
        time.sleep(0.05)
    assert slots.inflight("shop.test") == 2  # c and d; b expired


def test_a_renewed_lease_outlives_its_lease_time_and_a_dead_one_is_not_revived(
        redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slots = _slots(redis_url, monkeypatch, tmp_path)
    lease = 1.0  # renewed 10 times a lease: a starved test process still renews in time
    assert slots.claim("shop.test", "slow", concurrency=1, lease=lease) == CLAIMED  # a long download, worker alive
    end = time.monotonic() + 3 * lease
    while time.monotonic() < end:
        assert slots.renew("shop.test", ["slow"], lease) == 1
        time.sleep(lease / 10)
    assert slots.claim("shop.test", "other", concurrency=1, lease=lease) == FULL  # still held after 3 lease times
    deadline = time.monotonic() + 3 * lease + 5
    while slots.inflight("shop.test"):  # its worker is killed: no more renewals
        assert time.monotonic() < deadline, "the dead worker's lease never expired"
        time.sleep(0.05)
    assert slots.renew("shop.test", ["slow"], lease) == 0  # too late: it does not come back
    assert slots.claim("shop.test", "other", concurrency=1, lease=lease) == CLAIMED


def test_the_stricter_delay_and_a_shared_back_off(redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    slots = _slots(redis_url, monkeypatch, tmp_path)
    first = slots.reserve("shop.test", 1.0)
    second = slots.reserve("shop.test", 0.1)  # another source of the site, a shorter delay
    third = slots.reserve("shop.test", 0.5)
    assert round(second.at - first.at, 6) == 1.0  # the first request's delay still holds after it
    assert round(third.at - second.at, 6) == 0.5  # and so does the longer delay of the one now asking
    assert slots.reserve("other.test", 1.0).wait == 0  # other sites are not held up
    assert slots.back_off("late.test", 5.0) == pytest.approx(5.0)  # a 429 / Retry-After seen by some worker
    assert slots.back_off("late.test", 1.0) == 0  # an earlier limit does not shorten it
    held = slots.reserve("late.test", 0.1)
    assert 4.9 <= held.wait <= 5.0  # every worker waits for it


def test_a_late_request_gives_up_its_time_when_another_is_reserved_after_it(
        redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # seconds wide enough that a busy machine's scheduling (tens of ms) cannot turn an
    # on-time claim into a late one: 1 s between requests, 0.3 s counts as late
    slots = _slots(redis_url, monkeypatch, tmp_path)
    kw = {"concurrency": 5, "lease": 60, "delay": 1.0, "late": 0.3}
    a = slots.reserve("shop.test", 1.0)
    b = slots.reserve("shop.test", 1.0)  # another worker's, 1 s after a
    time.sleep(a.wait + 0.6)  # a's worker was busy: it would land 0.4 s before b
    assert slots.claim("shop.test", "a", at=a.at, **kw) == GONE
    again = slots.reserve("shop.test", 1.0)
    assert round(again.at - b.at, 6) == 1.0  # a queues again, behind b
    time.sleep(max(0.0, b.at - again.now) + 0.005)
    assert slots.claim("shop.test", "b", at=b.at, **kw) == CLAIMED  # on time
    lone = slots.reserve("lone.test", 0.2)
    time.sleep(0.4)  # late, but no one reserved after it: its time moves to now
    assert slots.claim("lone.test", "x", at=lone.at, **{**kw, "delay": 0.2}) == CLAIMED
    after = slots.reserve("lone.test", 0.2)
    assert after.at - lone.at >= 0.2 + 0.4 - 0.005
    c = slots.reserve("shop.test", 1.0)
    slots.back_off("shop.test", 5.0)  # came in after c was reserved: c does not go
    time.sleep(max(0.0, c.at - c.now))
    assert slots.claim("shop.test", "c", at=c.at, **kw) == GONE


# -- the middleware and the add-on -----------------------------------------------------
def _config(tmp_path: Path, distributed: bool, source_delay: str = "") -> Path:
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/x.db"\n[crawl]\ndelay = 0.7\nconcurrency_per_site = 3\n'
        + ONE_HOTEL + '[[sources]]\nlocation = "harbor-sh-bund"\nkind = "hotel_reviews"\nurl = "http://h.test/"\n'
        + source_delay + ('[distributed]\nkey_prefix = "t"\n' if distributed else ""), encoding="utf-8")
    return cfg


def test_without_distributed_the_middleware_is_off_and_slots_stay_per_process(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOCWATCH_REDIS_URL", raising=False)
    monkeypatch.setenv("VOCWATCH_CONFIG", str(_config(tmp_path, distributed=False)))
    settings = Settings()
    settings.setmodule("config.settings", priority="project")
    VocwatchConfigAddon().update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 0.7 and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.get(SITE_DELAY_SETTING) is None
    with pytest.raises(NotConfigured):
        SitePolitenessMiddleware.from_crawler(get_crawler(settings_dict={"VOCWATCH_CONFIG": settings["VOCWATCH_CONFIG"]}))


@pytest.mark.parametrize("source_delay, want", [("", 0.7), ("delay = 1.5\n", 1.5)])
def test_with_distributed_the_delay_moves_to_the_shared_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             redis_url: str, source_delay: str, want: float) -> None:
    monkeypatch.setenv("VOCWATCH_REDIS_URL", redis_url)
    monkeypatch.setenv("VOCWATCH_CONFIG", str(_config(tmp_path, distributed=True, source_delay=source_delay)))
    settings = Settings()
    settings.setmodule("config.settings", priority="project")
    if source_delay:  # as SourceSpider._bind sets a source's own delay, before the add-on runs
        settings.set("DOWNLOAD_DELAY", want, priority="spider")
    VocwatchConfigAddon().update_settings(settings)
    assert settings.getfloat(SITE_DELAY_SETTING) == want
    assert settings.getfloat("DOWNLOAD_DELAY") == 0 and not settings.getbool("AUTOTHROTTLE_ENABLED")
    mw = SitePolitenessMiddleware.from_crawler(get_crawler(settings_dict={
        name: settings[name] for name in ("VOCWATCH_CONFIG", SITE_DELAY_SETTING, "CONCURRENT_REQUESTS_PER_DOMAIN")}))
    assert (mw.delay, mw.concurrency) == (want, 3)


# -- two workers, two sources, one site -----------------------------------------------
@dataclass
class Site:
    base: str
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    """(monotonic time at the server, path) of every request, in arrival order."""
    max_concurrent: int = 0
    gate: list[Path] = field(default_factory=list)
    """robots.txt is answered once these files exist (both crawls' stores: both workers are up)."""
    throttle: set[str] = field(default_factory=set)
    """Paths answered once with 429 and ``Retry-After: RETRY_AFTER``."""


@pytest.fixture
def slow_site() -> Iterator[Site]:
    """Reviews under ``/a/`` and ``/b/`` (two sources of one site), each page answered after
    ``SERVICE_SECONDS``; records arrival times and the most requests it served at once."""
    lock = threading.Lock()
    busy = 0
    site = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            nonlocal busy
            with lock:
                site.arrivals.append((time.monotonic(), self.path))
                busy += 1
                site.max_concurrent = max(site.max_concurrent, busy)
            time.sleep(SERVICE_SECONDS)
            deadline = time.monotonic() + 8
            while self.path == "/robots.txt" and not all(p.exists() for p in site.gate) and time.monotonic() < deadline:
                time.sleep(0.05)  # start both crawls together, however long each process takes to start
            status, body = _page(self.path)
            with lock:
                busy -= 1  # before the answer is sent: the client may ask again the moment it has it
                throttled = self.path in site.throttle
                site.throttle.discard(self.path)
            if throttled:
                status, body = 429, b"slow down"
            self.send_response(status)
            if throttled:
                self.send_header("Retry-After", str(RETRY_AFTER))
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield site
    server.shutdown()
    server.server_close()


def _page(path: str) -> tuple[int, bytes]:
    if path == "/robots.txt":
        return 200, b"User-agent: *\nAllow: /\n"
    prefix, _, n = path.partition("/reviews?page=")
    if prefix not in ("/a", "/b") or not n.isdigit() or not 1 <= int(n) <= PAGES:
        return 404, b""
    page = int(n)
    nxt = f'<a class="next" href="{prefix}/reviews?page={page + 1}">next</a>' if page < PAGES else ""
    return 200, (f'<html><body><div class="review" data-id="{prefix[1:]}{page}"><time datetime="2026-11-20">x</time>'
                 f'<div class="body">Review {page} of {prefix}.</div></div>{nxt}</body></html>').encode()


def _two_source_config(tmp_path: Path, base: str, distributed: bool, retries: int = 0) -> Path:
    sources = "".join(f"""
[[sources]]
id = "{name}"
location = "harbor-sh-bund"
kind = "selectors"
url = "{base}/{name}/reviews?page=1"
[sources.selectors]
item = "div.review"
next_page = "a.next::attr(href)"
[sources.selectors.fields]
text = ".body"
date = "time::attr(datetime)"
external_id = "xpath:@data-id"
""" for name in ("a", "b"))
    cfg = tmp_path / "v.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/unused.db"\n\n[crawl]\ndelay = {DELAY}\n'
                   f'concurrency_per_site = 1\ntimeout = 10\nretries = {retries}\n' + ONE_HOTEL + sources
                   + ('\n[distributed]\nkey_prefix = "polite"\n' if distributed else ""), encoding="utf-8")
    return cfg


SCRAPY_REDIS_CRAWL = """
import sys
from config import load_config
from crawlers.runner import crawl_sources
cfg, name, store, redis_url = sys.argv[1:]
config = load_config(cfg)
(result,) = crawl_sources(config, [config.sources[name]], settings={
    "VOCWATCH_STORE_URL": store, "LOG_LEVEL": "INFO", "REDIS_URL": redis_url,
    "SCHEDULER": "scrapy_redis.scheduler.Scheduler", "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
    "SCHEDULER_QUEUE_KEY": f"t:{name}:requests", "SCHEDULER_DUPEFILTER_KEY": f"t:{name}:dupefilter"})
sys.exit(0 if result.outcome == "finished" else 1)
"""
"""One source's crawl on scrapy-redis's scheduler and dupefilter (its own queue in Redis)."""


def _crawl_both(cfg: Path, tmp_path: Path, redis_url: str | None, scheduler: str = "scrapy") -> list[str]:
    """``vocwatch crawl --source a`` and ``--source b`` as two processes at once (each its own store;
    with ``scheduler="scrapy-redis"`` the same crawls on scrapy-redis's scheduler); their stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VOCWATCH_REDIS_URL", None)
    if redis_url:
        env["VOCWATCH_REDIS_URL"] = redis_url

    def command(name: str) -> list[str]:
        store = f"sqlite:///{tmp_path}/{name}.db"
        if scheduler == "scrapy-redis":
            return [sys.executable, "-c", SCRAPY_REDIS_CRAWL, str(cfg), name, store, str(redis_url)]
        return [sys.executable, "-m", "vocwatch", "crawl", "-c", str(cfg), "--source", name, "-q", "--store", store,
                "--log-level", "INFO"]

    for name in ("a", "b"):
        (tmp_path / f"{name}.db").unlink(missing_ok=True)
    procs = [subprocess.Popen(command(name), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for name in ("a", "b")]
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
        errs.append(err)
    return errs


def _gaps(site: Site) -> list[float]:
    times = [t for t, _ in site.arrivals]
    return [b - a for a, b in itertools.pairwise(times)]


def _too_close(gaps: list[float]) -> list[int]:
    """The gaps shorter than ``TOLERANCE * DELAY`` that a late arrival does not explain. On
    a starved machine one request can reach the server (or be timed by it) a few tenths
    late while the next one is on time: a long gap, then a short one, the two together
    still two delays. Two processes each keeping only their own delay give short gaps
    that nothing before them makes up for."""
    return [i for i, g in enumerate(gaps) if g < TOLERANCE * DELAY
            and not (i and gaps[i - 1] + g >= 2 * TOLERANCE * DELAY and gaps[i - 1] > DELAY)]


def _timeline(site: Site) -> list[str]:
    t0 = site.arrivals[0][0]
    return [f"{t - t0:.3f} {path}" for t, path in site.arrivals]


def _overlapped(site: Site) -> bool:
    """Both sources' crawls were at the site at the same time (else the test proves nothing)."""
    spans = {p: [t for t, path in site.arrivals if path.startswith(p)] for p in ("/a/", "/b/")}
    return max(min(spans["/a/"]), min(spans["/b/"])) < min(max(spans["/a/"]), max(spans["/b/"]))


def test_two_workers_on_one_site_keep_its_delay_and_concurrency_together(slow_site: Site, tmp_path: Path,
                                                                         redis_url: str) -> None:
    slow_site.gate = [tmp_path / "a.db", tmp_path / "b.db"]
    cfg = _two_source_config(tmp_path, slow_site.base, distributed=True)
    errs = _crawl_both(cfg, tmp_path, redis_url)
    paths = [p for _, p in slow_site.arrivals]
    assert sorted(p for p in paths if p != "/robots.txt") == sorted(
        f"/{s}/reviews?page={n}" for s in "ab" for n in range(1, PAGES + 1))
    assert paths.count("/robots.txt") == 2  # each worker obeys robots.txt; its fetch took a slot too
    assert _overlapped(slow_site), _timeline(slow_site)
    gaps = _gaps(slow_site)
    assert not _too_close(gaps), [round(g, 3) for g in gaps]  # across both processes together
    assert sum(gaps) >= len(gaps) * DELAY - (1 - TOLERANCE) * DELAY, gaps  # the site's rate: one request a delay
    assert slow_site.max_concurrent == 1  # concurrency_per_site, across both
    runs = {s: runs_by_source(f"sqlite:///{tmp_path}/{s}.db")[s][-1] for s in "ab"}
    assert {r.outcome for r in runs.values()} == {"finished"}
    assert sum(r.stats.get("vocwatch/politeness/waited", 0) for r in runs.values()) > 0
    assert sum(r.stats.get("vocwatch/politeness/wait_seconds", 0) for r in runs.values()) > 0
    assert any("127.0.0.1 is throttled by other workers" in e for e in errs)
    client = redis.Redis.from_url(redis_url)
    assert client.zcard("polite:site:127.0.0.1:inflight") == 0  # every lease came back


def test_without_distributed_each_worker_keeps_only_its_own_delay(slow_site: Site, tmp_path: Path,
                                                                  redis_url: str) -> None:
    """Why the shared slot is needed: the same two crawls, each process polite on its own,
    send the site more than one request a delay (and never touch Redis)."""
    slow_site.gate = [tmp_path / "a.db", tmp_path / "b.db"]
    cfg = _two_source_config(tmp_path, slow_site.base, distributed=False)
    _crawl_both(cfg, tmp_path, None)
    assert len(slow_site.arrivals) == 2 * PAGES + 2
    assert _overlapped(slow_site), _timeline(slow_site)
    gaps = _gaps(slow_site)
    assert sum(gaps) / len(gaps) < 0.85 * DELAY, gaps  # the site sees more than one request a delay
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_a_retry_after_seen_by_one_worker_holds_every_worker_off(slow_site: Site, tmp_path: Path,
                                                                 redis_url: str) -> None:
    """On scrapy-redis's scheduler (the middleware does not care which scheduler queues the
    requests; the retry goes through the Redis queue)."""
    slow_site.throttle.add("/a/reviews?page=2")
    slow_site.gate = [tmp_path / "a.db", tmp_path / "b.db"]
    cfg = _two_source_config(tmp_path, slow_site.base, distributed=True, retries=1)
    _crawl_both(cfg, tmp_path, redis_url, scheduler="scrapy-redis")
    (t429,) = [t for t, p in slow_site.arrivals if p == "/a/reviews?page=2"][:1]
    later = [t for t, _ in slow_site.arrivals if t > t429]
    assert later, _timeline(slow_site)
    assert later[0] - t429 >= TOLERANCE * (SERVICE_SECONDS + RETRY_AFTER), _timeline(slow_site)  # a's and b's
    paths = [p for _, p in slow_site.arrivals]
    assert paths.count("/a/reviews?page=2") == 2 and len(paths) == 2 * PAGES + 3  # retried once, nothing lost
    assert _overlapped(slow_site)
    runs = {s: runs_by_source(f"sqlite:///{tmp_path}/{s}.db")[s][-1] for s in "ab"}
    assert runs["a"].stats.get("vocwatch/politeness/backoffs") == 1
    assert {r.outcome for r in runs.values()} == {"finished"}
    assert min(_gaps(slow_site)) >= TOLERANCE * DELAY
    assert slow_site.max_concurrent == 1
    assert [runs[s].stats.get("scheduler/enqueued/redis") for s in "ab"] == [PAGES + 1, PAGES]  # + a's retry


def test_two_sources_of_one_site_on_two_vocwatch_workers_keep_its_delay(slow_site: Site, tmp_path: Path,
                                                                        redis_url: str) -> None:
    """The deployment's own shape: the scheduler's jobs for two sources of one site, taken
    by two ``vocwatch worker`` processes (one store shared by both); the site still sees
    one request per delay and one at a time, across both workers together."""
    from crawlers.distributed.jobs import JobQueue

    go = tmp_path / "go"
    slow_site.gate = [go]  # robots.txt is answered once both workers crawl
    cfg = _two_source_config(tmp_path, slow_site.base, distributed=True)
    config = load_config(cfg)
    settings = dataclasses.replace(config.distributed, redis_url=redis_url)
    jobs = JobQueue(redis_client(settings), settings)
    due = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert jobs.enqueue("a", due) and jobs.enqueue("b", due)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOCWATCH_REDIS_URL": redis_url,
           "VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/shared.db"}
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "vocwatch", "worker", "-c", str(cfg), "--once"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
               for log in logs]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum("crawling as" in p.read_text() for p in logs) < 2:
            time.sleep(0.1)
        go.touch()
        for w in workers:
            assert w.wait(timeout=120) == 0, "\n".join(p.read_text()[-2000:] for p in logs)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    took = sorted(line.split("job ", 1)[1].split(": crawling as", 1)[0] for p in logs
                  for line in p.read_text().splitlines() if "crawling as" in line)
    assert took == ["a@2026-12-01T08:00:00Z", "b@2026-12-01T08:00:00Z"]  # one job each
    assert sorted(p for _, p in slow_site.arrivals if p != "/robots.txt") == sorted(
        f"/{s}/reviews?page={n}" for s in "ab" for n in range(1, PAGES + 1))
    assert _overlapped(slow_site), _timeline(slow_site)
    gaps = _gaps(slow_site)
    assert not _too_close(gaps), [round(g, 3) for g in gaps]
    assert sum(gaps) >= len(gaps) * DELAY - (1 - TOLERANCE) * DELAY, gaps
    assert slow_site.max_concurrent == 1
    runs = runs_by_source(f"sqlite:///{tmp_path}/shared.db")
    assert {s: [r.outcome for r in runs[s]] for s in "ab"} == {"a": ["finished"], "b": ["finished"]}
    assert jobs.counts()["done"] == 2
