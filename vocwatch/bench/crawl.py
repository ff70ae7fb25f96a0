"""Crawl throughput: items/s of the full pipeline against a bare parse of the same site.

``bare`` runs the spider with no item pipelines (fetch, parse, build Mentions: what a
plain Scrapy project does); ``full`` runs every vocwatch stage (clean, dedupe, enrich
with ``nlp.analyze`` in a worker process, store in a fresh SQLite file); ``thread`` is
``full`` with the analysis in a thread instead (``VOCWATCH_NLP_WORKERS=0``), to show
what the worker process buys. All crawl the same local site
with politeness delays off and the same concurrency, each in its own process (Twisted's
reactor starts once per process); rounds alternate the modes so drift on a shared
machine hits both. Items/s = mentions / Scrapy's ``elapsed_time_seconds`` (spider open to close).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from vocwatch.bench.site import BENCH_PLACE, BenchSite

CONCURRENCY = 8
MODES = ("bare", "full", "thread")

_CONFIG = """\
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0
concurrency_per_site = {concurrency}
timeout = 30
retries = 1

{place}
[[sources]]
location = "bench-store"
kind = "mall_comments"
url = "{url}"
"""


def _worker(mode: str, url: str, workdir: Path) -> dict[str, Any]:
    """One crawl in this process; returns mentions, seconds and items/s."""
    from config import load_config
    from crawlers.runner import crawl_sources

    cfg_path = workdir / f"{mode}.toml"
    cfg_path.write_text(_CONFIG.format(place=BENCH_PLACE, db=workdir / f"{mode}.db", url=url, concurrency=CONCURRENCY),
                        encoding="utf-8")
    overrides: dict[str, Any] = {"LOG_LEVEL": "ERROR", "AUTOTHROTTLE_ENABLED": False,
                                 "CONCURRENT_REQUESTS": CONCURRENCY * 2}
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = {}
    elif mode == "thread":
        overrides["VOCWATCH_NLP_WORKERS"] = 0
    [result] = crawl_sources(load_config(cfg_path), settings=overrides)
    stats = result.run.stats if result.run else {}
    seconds = float(stats.get("elapsed_time_seconds") or "nan")
    extracted = int(stats.get("vocwatch/mentions/extracted", 0))
    stored = int(stats.get("vocwatch/store/inserted", 0))
    return {"mode": mode, "outcome": result.outcome, "extracted": extracted, "stored": stored,
            "nlp_worker_failures": int(stats.get("vocwatch/nlp/worker_failures", 0)),
            "seconds": round(seconds, 3), "items_per_s": round(extracted / seconds) if seconds > 0 else 0}


def run(comments: int = 20_000, rounds: int = 2, python: str = sys.executable) -> dict[str, Any]:
    """Alternate the modes' crawls of one local site; median items/s per mode and ratios to bare."""
    site = BenchSite(comments)
    url = site.start()
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vocwatch-bench-") as tmp:
            for r in range(rounds):
                for mode in MODES:
                    workdir = Path(tmp) / f"round{r}"
                    workdir.mkdir(exist_ok=True)
                    out = subprocess.run(
                        [python, "-m", "vocwatch.bench.crawl", "--worker", mode, "--url", url, "--dir", str(workdir)],
                        capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)
                    if out.returncode != 0:
                        raise RuntimeError(f"{mode} crawl failed:\n{out.stderr[-2000:]}")
                    results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        site.stop()
    median = {m: statistics.median(x["items_per_s"] for x in results if x["mode"] == m) for m in MODES}
    return {"comments": comments, "rounds": results, "median_items_per_s": median,
            "ratio": {m: round(median[m] / median["bare"], 3) if median["bare"] else None for m in MODES}}


def format_result(res: dict[str, Any]) -> str:
    lines = [f"crawl throughput, local site, {res['comments']:,} comments, concurrency {CONCURRENCY}, no delays",
             f"{'round':>5} {'mode':5} {'outcome':9} {'mentions':>8} {'stored':>7} {'seconds':>8} {'items/s':>8}"]
    for i, r in enumerate(res["rounds"]):
        lines.append(f"{i // len(MODES) + 1:>5} {r['mode']:5} {r['outcome']:9} {r['extracted']:>8} {r['stored']:>7} "
                     f"{r['seconds']:>8.2f} {r['items_per_s']:>8}")
    med, ratio = res["median_items_per_s"], res["ratio"]
    lines.append("median items/s: " + ", ".join(f"{m} {med[m]:,.0f} ({ratio[m]}x bare)" for m in MODES))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=MODES)
    ap.add_argument("--url")
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--comments", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.url, args.dir)))
        return 0
    print(format_result(run(args.comments, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
