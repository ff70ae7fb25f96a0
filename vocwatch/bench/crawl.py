"""Crawl throughput: a full vocwatch crawl against plain Scrapy on the same pages.

The site (:class:`vocwatch.bench.site.ReviewSite`) is a review site on 127.0.0.1:
``sources`` hotels, each a serial chain of HTML listing pages linked by ``rel=next``,
10 reviews a page, all rendered up front. Two crawls of it, each in its own process
(Twisted's reactor starts once per process), alternating round by round so drift on a
shared machine hits both:

- ``plain``: plain Scrapy (:mod:`vocwatch.bench.plain_spider`: one ``scrapy.Spider``,
  parsel selectors, the same fields, the same first pages and ``rel=next`` navigation,
  items to no pipeline). The baseline.
- ``full``: vocwatch's runner (``crawl_sources``) with one ``kind = "selectors"`` source
  per chain: block detection, page checks, the selectors page object, clean, dedupe,
  enrich (language, sentiment, aspects, keywords in the NLP worker process), store in a
  fresh SQLite file, run records and the read = stored + dropped balance.

Optional: ``bare`` (the vocwatch spiders with no item pipelines: what vocwatch's
fetching and parsing cost alone) and ``thread`` (``full`` with the analysis in a thread).

Items/s = mentions read / seconds of the crawl call in the process (reactor start to
stop, every spider; imports excluded, shown apart as the process's wall time). CPU is
the process tree's user+system seconds (the crawl process and its NLP worker, from
``getrusage(RUSAGE_CHILDREN)``), per 1,000 items: the figure least moved by other load
on the machine. Peak memory is sampled from ``/proc`` every 50 ms: the highest sum of
RSS over the crawl process and its children, and the crawl process's own peak. The
site's server runs in threads of this (the benchmark's) process; its CPU is printed per
round so it is visible when the server, not the crawler, is the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vocwatch.bench.site import BENCH_PLACE, ReviewSite

MODES = ("plain", "full", "bare", "thread")
DEFAULT_MODES = ("plain", "full")

_HEAD = """\
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0
concurrency_per_site = 2
timeout = 30
retries = 1

{place}
"""

_SOURCE = """
[[sources]]
id = "bench-{n}"
location = "bench-store"
kind = "selectors"
url = "{url}"

[sources.selectors]
item = "article.review"
next_page = "a[rel=next]::attr(href)"
rating_scale = 5

[sources.selectors.fields]
text = ".body"
title = ".title::text"
author = ".author::text"
date = ".date::text"
rating = ".rating::text"
external_id = {{ select = "xpath:@id", regex = "review-(\\\\d+)" }}
"""


def vocwatch_config(start_urls: list[str], db: Path) -> str:
    """The config of the ``full``/``bare`` crawls: one selectors source per chain."""
    return _HEAD.format(db=db, place=BENCH_PLACE) + "".join(
        _SOURCE.format(n=i, url=url) for i, url in enumerate(start_urls, 1))


def _worker(mode: str, start_urls: list[str], workdir: Path) -> dict[str, Any]:
    """One crawl in this process; with ``VOCWATCH_BENCH_PROFILE=FILE`` under cProfile (the
    reactor thread: the NLP worker process is not in it), its stats written to FILE."""
    if not (out := os.environ.get("VOCWATCH_BENCH_PROFILE")):
        res = _crawl(mode, start_urls, workdir)
    else:
        import cProfile

        profiler = cProfile.Profile()
        try:
            res = profiler.runcall(_crawl, mode, start_urls, workdir)
        finally:
            profiler.dump_stats(out)
    res["crawl_cpu_seconds"] = _cpu(resource.getrusage(resource.RUSAGE_SELF))  # this process, every thread
    return res


def _crawl(mode: str, start_urls: list[str], workdir: Path) -> dict[str, Any]:
    """One crawl in this process: items read and stored, seconds of the crawl call."""
    if mode == "plain":
        from vocwatch.bench import plain_spider

        t0 = time.perf_counter()
        stats = plain_spider.crawl(start_urls, concurrency=len(start_urls) * 2)
        seconds = time.perf_counter() - t0
        return {"mode": mode, "outcome": stats.get("finish_reason", "?"), "extracted": stats.get("item_scraped_count", 0),
                "stored": 0, "unaccounted": 0, "seconds": seconds}

    from config import load_config
    from crawlers.runner import crawl_sources

    cfg_path = workdir / f"{mode}.toml"
    cfg_path.write_text(vocwatch_config(start_urls, workdir / f"{mode}.db"), encoding="utf-8")
    overrides: dict[str, Any] = {"LOG_LEVEL": "ERROR", "AUTOTHROTTLE_ENABLED": False}
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = {}
    elif mode == "thread":
        overrides["VOCWATCH_NLP_WORKERS"] = 0
    t0 = time.perf_counter()
    results = crawl_sources(load_config(cfg_path), settings=overrides)
    seconds = time.perf_counter() - t0
    runs = [r.run.stats if r.run else {} for r in results]
    outcomes = sorted({r.outcome for r in results})
    return {"mode": mode, "outcome": "/".join(outcomes),
            "extracted": sum(int(s.get("vocwatch/mentions/extracted", 0)) for s in runs),
            "stored": sum(int(s.get("vocwatch/store/inserted", 0)) for s in runs),
            "unaccounted": sum(int(s.get("vocwatch/balance/unaccounted", 0)) for s in runs),
            "nlp_worker_failures": sum(int(s.get("vocwatch/nlp/worker_failures", 0)) for s in runs),
            "seconds": seconds}


class TreeMemory:
    """Peak RSS of a process and its descendants, sampled from ``/proc`` (Linux)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid, self.every = pid, every
        self.peak_tree = 0
        self.peak_main = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-memory")

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self, pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for task in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                continue
        return out

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * self._page
        except (OSError, IndexError, ValueError):
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._tree(self.pid)
            main = self._rss(self.pid)
            total = main + sum(self._rss(p) for p in pids[1:])
            self.peak_main, self.peak_tree = max(self.peak_main, main), max(self.peak_tree, total)
            self._stop.wait(self.every)


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _one(mode: str, urls: list[str], workdir: Path, python: str) -> dict[str, Any]:
    """One crawl in a fresh process, with its wall time, CPU and peak memory."""
    children_before, self_before = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", "vocwatch.bench.crawl", "--worker", mode, "--urls", json.dumps(urls), "--dir", str(workdir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    with TreeMemory(proc.pid) as mem:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    children_after, self_after = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} crawl failed:\n{err[-2000:]}")
    r = json.loads(out.strip().splitlines()[-1])
    cpu = _cpu(children_after) - _cpu(children_before)
    r.update(process_seconds=wall, cpu_seconds=cpu, nlp_cpu_seconds=max(0.0, cpu - r["crawl_cpu_seconds"]),
             crawl_cpu_ms_per_1k=1000 * 1000 * r["crawl_cpu_seconds"] / r["extracted"] if r["extracted"] else 0.0, server_cpu_seconds=_cpu(self_after) - _cpu(self_before),
             peak_tree_mb=mem.peak_tree / 2**20, peak_main_mb=mem.peak_main / 2**20,
             items_per_s=r["extracted"] / r["seconds"] if r["seconds"] > 0 else 0.0,
             cpu_ms_per_1k=1000 * 1000 * cpu / r["extracted"] if r["extracted"] else 0.0)
    return r


def run(pages: int = 2000, sources: int = 40, rounds: int = 3, modes: tuple[str, ...] = DEFAULT_MODES,
        python: str = sys.executable, say: Any = None) -> dict[str, Any]:
    """Alternate the modes' crawls of one local review site; medians per mode, ratios to plain."""
    site = ReviewSite(pages=pages, sources=sources)
    site.start()
    urls = site.start_urls()
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vocwatch-bench-") as tmp:
            for r in range(rounds):
                order = modes if r % 2 == 0 else tuple(reversed(modes))  # neither side always goes first
                for mode in order:
                    workdir = Path(tmp) / f"round{r}"
                    workdir.mkdir(exist_ok=True)
                    res = _one(mode, urls, workdir, python)
                    res["round"] = r + 1
                    results.append(res)
                    if say:
                        say(format_row(res))
    finally:
        site.stop()

    def med(mode: str, key: str) -> float:
        return statistics.median(x[key] for x in results if x["mode"] == mode)

    keys = ("items_per_s", "cpu_ms_per_1k", "crawl_cpu_ms_per_1k", "crawl_cpu_seconds", "peak_tree_mb", "peak_main_mb",
            "seconds", "process_seconds")
    median = {m: {k: med(m, k) for k in keys} for m in modes}
    base = median.get("plain", {}).get("items_per_s")
    ratio = {m: round(median[m]["items_per_s"] / base, 3) if base else None for m in modes}
    paired = {m: statistics.median(a["items_per_s"] / b["items_per_s"] for a, b in _pairs(results, m))
              for m in modes if m != "plain" and "plain" in modes}
    return {"paired_ratio": paired, "pages": len(site.pages), "sources": sources, "reviews": site.reviews, "page_bytes": site.bytes // len(site.pages),
            "rounds": results, "median": median, "ratio": ratio,
            "cpu_ratio": {m: round(median[m]["cpu_ms_per_1k"] / median["plain"]["cpu_ms_per_1k"], 2)
                          if "plain" in median and median["plain"]["cpu_ms_per_1k"] else None for m in modes}}


def _pairs(results: list[dict[str, Any]], mode: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(``mode``, plain) crawls of the same round: their ratio is the least moved by load
    that changes from round to round."""
    rounds = sorted({r["round"] for r in results})
    return [(a, b) for n in rounds for a in results if a["round"] == n and a["mode"] == mode
            for b in results if b["round"] == n and b["mode"] == "plain" and b["items_per_s"] > 0]


HEADER = (f"{'round':>5} {'mode':6} {'outcome':9} {'items':>6} {'stored':>6} {'crawl s':>7} {'items/s':>7} "
          f"{'proc s':>6} {'cpu ms/1k':>9} {'crawl ms/1k':>11} {'peak MB':>7} {'main MB':>7} {'server cpu s':>12}")


def format_row(r: dict[str, Any]) -> str:
    return (f"{r.get('round', 0):>5} {r['mode']:6} {r['outcome'][:9]:9} {r['extracted']:>6} {r['stored']:>6} "
            f"{r['seconds']:>7.2f} {r['items_per_s']:>7.0f} {r['process_seconds']:>6.1f} {r['cpu_ms_per_1k']:>9.0f} "
            f"{r['crawl_cpu_ms_per_1k']:>11.0f} "
            f"{r['peak_tree_mb']:>7.0f} {r['peak_main_mb']:>7.0f} {r['server_cpu_seconds']:>12.2f}")


def format_result(res: dict[str, Any]) -> str:
    lines = [f"crawl throughput: {res['reviews']:,} reviews on {res['pages']:,} HTML pages ({res['page_bytes']:,} bytes "
             f"each) of {res['sources']} serial page chains, 127.0.0.1, no delays",
             "plain = plain Scrapy + parsel (vocwatch/bench/plain_spider.py); full = vocwatch crawl with every stage",
             HEADER, *(format_row(r) for r in res["rounds"])]
    med, ratio = res["median"], res["ratio"]
    lines.append("median items/s: " + ", ".join(f"{m} {med[m]['items_per_s']:,.0f}" for m in med))
    if "plain" in med:
        lines.append("ratio to plain Scrapy: " + ", ".join(f"{m} {ratio[m]:.2f}x" for m in med if m != "plain")
                     + " (median of each round's ratio: " + ", ".join(f"{m} {res['paired_ratio'][m]:.2f}x"
                                                                     for m in med if m != "plain")
                     + "); CPU per item: " + ", ".join(f"{m} {res['cpu_ratio'][m]:.2f}x" for m in med if m != "plain")
                     + " (crawl process alone, NLP worker left out: " + ", ".join(
                         f"{m} {med[m]['crawl_cpu_ms_per_1k'] / med['plain']['crawl_cpu_ms_per_1k']:.2f}x"
                         for m in med if m != "plain" and med["plain"]["crawl_cpu_ms_per_1k"]) + ")")
    lines.append("crawl process CPU s (interpreter start to exit; with --pages equal to --chains, one page a "
                 "source, nearly all of it is the fixed cost of a run): " + ", ".join(
                     f"{m} {med[m]['crawl_cpu_seconds']:.2f}" for m in med))
    lines.append("peak memory (process tree, MB): " + ", ".join(
        f"{m} {med[m]['peak_tree_mb']:,.0f} (crawl process {med[m]['peak_main_mb']:,.0f})" for m in med))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=MODES)
    ap.add_argument("--urls", help="worker: JSON list of first pages")
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--sources", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(DEFAULT_MODES))
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, json.loads(args.urls), args.dir)))
        return 0
    print(format_result(run(args.pages, args.sources, args.rounds, tuple(args.modes),
                            say=lambda line: print(line, file=sys.stderr, flush=True))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
