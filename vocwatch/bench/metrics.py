"""Metrics benchmark: ``monitor.metrics.benchmark`` for every own location of the
synthetic set (``vocwatch.synth``, 4,000 locations / 1,000,000 mentions by default),
next to a baseline measured in the same run: the one day-bucketed rollup by location
over the same span, iterated without any arithmetic. The difference is the cost of the
metrics themselves (the other rollups and the Python formulas).

Beside it, ``monitor.portfolio.portfolio`` (the dashboard's portfolio view) for the same
own locations: every one of them ranked with its change, comp index, rank and a 26-week
sparkline, and the chain pooled against the combined sets, from a handful of rollups.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vocwatch.bench.export import ensure_dataset


def run(directory: str | Path, *, window: str = "90d", locations: int = 4000, mentions: int = 1_000_000,
        seed: int = 1, say: Callable[[str], Any] = print) -> dict[str, Any]:
    from config import load_config
    from crawlers.store import open_store
    from monitor.metrics import benchmark, parse_window
    from monitor.portfolio import portfolio

    config = load_config(ensure_dataset(Path(directory), locations=locations, mentions=mentions, seed=seed, say=say))
    store = open_store(config.store_url)
    try:
        # the synthetic set ends when it was generated: benchmark "as of" its newest day
        days = [r.bucket for r in store.rollup(bucket="day", group_by=())]
        now = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC) + timedelta(hours=12) if days else datetime.now(UTC)
        span = 2 * parse_window(window)
        t0 = time.perf_counter()
        base_rows = sum(1 for _ in store.rollup(bucket="day", group_by=("location_id",), since=now - span))
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = benchmark(config, store, window=window, now=now)
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        folio = portfolio(config, store, [b.location.id for b in results], window=window, now=now)
        folio_seconds = time.perf_counter() - t0
    finally:
        store.close()
    own = len(results)
    out = {"locations": len(config.locations), "own_locations": own, "window": window, "as_of": now.isoformat(),
           "baseline_rollup_rows": base_rows, "baseline_seconds": round(base, 2),
           "benchmark_seconds": round(seconds, 2), "ratio": round(seconds / base, 2) if base else None,
           "portfolio_seconds": round(folio_seconds, 2), "portfolio_queries": folio.queries,
           "portfolio_ratio": round(folio_seconds / base, 2) if base else None}
    say(f"metrics benchmark, window {window} as of {now:%Y-%m-%d}: {own:,} own locations "
        f"(of {len(config.locations):,}) against their competitive sets")
    say(f"  baseline: day rollup by location over 2 windows, {base_rows:,} rows, {base:.2f} s")
    say(f"  benchmark(): {seconds:.2f} s ({out['ratio']}x the baseline)")
    say(f"  portfolio(): {folio_seconds:.2f} s ({out['portfolio_ratio']}x the baseline): {len(folio.rows):,} rows "
        f"ranked with {len(folio.weeks)}-week sparklines, the chain against {folio.rollup.rivals:,} distinct "
        f"rivals, {folio.queries} rollup queries")
    return out
