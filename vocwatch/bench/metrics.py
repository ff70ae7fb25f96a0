"""Metrics benchmark on the synthetic set (``vocwatch.synth``, 4,000 locations / 1,000,000
mentions by default), every figure next to a baseline measured in the same run: the
day-bucketed rollup by location over the same span, iterated without any arithmetic.

- all own locations: ``monitor.metrics.benchmark`` for every own location vs the rollup
  over every location and vs the rollups it issues itself; the difference is the cost of
  the metrics themselves; beside it ``monitor.portfolio.portfolio`` (the portfolio view)
  for the same own locations;
- one location, as the dashboard asks (90 d and 365 d benchmark, 365 d weekly trend):
  median and slowest over a sample of own locations vs the rollup of that location and
  its competitive set, and the one-off cost of the global prior (a rollup over every
  location, read only for a thin set and cached per store, data version and day);
- writes: ``upsert_mentions`` (inserts, changed-content updates) and ``update_nlp`` (re-analysis)
  per second into a store with the day summaries (``crawlers.store.summary``, kept by
  triggers) and into the same store without them, in interleaved rounds, and the one-off
  cost of building them for an existing store;
- growth (``growth``: 1k, 2k, 4k, 8k locations at the same mentions per location): how the
  all-locations benchmark grows next to the rollup under it; linear metrics grow <= 1.2x
  as fast as the rollup.
"""

from __future__ import annotations

import functools
import inspect
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vocwatch.bench.export import ensure_dataset

clock = time.process_time
"""CPU seconds of this process (the SQLite reader runs in it): on a shared machine wall time
measures the neighbours; the figures are CPU time, and a dedicated machine's wall time."""
SAMPLE = 25
"""Own locations timed one by one (evenly spread over the sorted own ids)."""
ROUNDS = 3
"""Runs of each all-locations figure; the fastest counts (the machine is shared)."""
LOCATION_WINDOWS = ("90d", "365d")


def _best(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return best, out


def _as_of(store: Any) -> datetime:
    """The synthetic set ends when it was generated: benchmark "as of" its newest day."""
    days = [r.bucket for r in store.rollup(bucket="day", group_by=())]
    return datetime.fromisoformat(days[-1]).replace(tzinfo=UTC) + timedelta(hours=12) if days else datetime.now(UTC)


def _all_locations(config: Any, store: Any, window: str, now: datetime, rounds: int) -> dict[str, Any]:
    """benchmark() of every own location beside two rollup baselines: the day rollup of the
    whole table over the two windows, and the very rollup queries benchmark() issues (the
    locations involved: own ones and their sets), replayed without arithmetic."""
    from monitor.metrics import benchmark, parse_window

    span = 2 * parse_window(window)
    base, base_rows = _best(lambda: sum(1 for _ in store.rollup(bucket="day", group_by=("location_id",),
                                                                 since=now - span)), rounds)
    benchmark(config, store, window=window, now=now)  # warm: the day's global prior is cached from here on
    calls: list[dict[str, Any]] = []
    rollup = store.rollup

    def recording(**kw: Any) -> Any:
        calls.append(kw)
        return rollup(**kw)

    store.rollup = recording
    try:
        results = benchmark(config, store, window=window, now=now)
    finally:
        del store.rollup
    under, under_rows = _best(lambda: sum(sum(1 for _ in store.rollup(**kw)) for kw in calls), rounds)
    seconds, results = _best(lambda: benchmark(config, store, window=window, now=now), rounds)
    involved = max((len(kw.get("location_ids") or ()) for kw in calls), default=0)
    return {"locations": len(config.locations), "own_locations": len(results), "involved_locations": involved,
            "set_members": sum(len(b.members) for b in results),
            "mentions": store.count_mentions(), "baseline_rollup_rows": base_rows, "baseline_seconds": round(base, 6),
            "underlying_rollups": len(calls), "underlying_rollup_rows": under_rows,
            "underlying_seconds": round(under, 6), "benchmark_seconds": round(seconds, 6),
            "ratio": round(seconds / base, 2) if base else None,
            "ratio_underlying": round(seconds / under, 2) if under else None}


def _one_location(config: Any, store: Any, now: datetime, say: Callable[[str], Any], sample_size: int = SAMPLE
                  ) -> dict[str, Any]:
    """Per-location timings as the dashboard's location page asks for them."""
    from monitor import metrics as mx
    from monitor.compset import competitive_sets

    own = mx.own_location_ids(config, None)
    sample = own[:: max(1, len(own) // sample_size)][:sample_size]
    sets = competitive_sets(config, sample)
    involved = {lid: sorted({lid} | {m.id for m, _ in sets[lid]}) for lid in sample}
    out: dict[str, Any] = {"sample": len(sample), "median_set": statistics.median(len(v) - 1 for v in involved.values())}

    def per_location(fn: Callable[[str], Any]) -> list[float]:
        times = []
        for lid in sample:
            t0 = clock()
            fn(lid)
            times.append(clock() - t0)
        return times

    # the same call with the store reading the mentions themselves (SQLite's summary=False:
    # the read path before the day summaries), location by location in the same run
    direct = "summary" in inspect.signature(type(store).rollup).parameters

    def both(fn: Callable[[str], Any]) -> tuple[list[float], list[float]]:
        fast, slow = [], []
        for lid in sample:
            t0 = clock()
            fn(lid)
            fast.append(clock() - t0)
            if direct:
                store.rollup = functools.partial(type(store).rollup, store, summary=False)
                try:
                    t0 = clock()
                    fn(lid)
                    slow.append(clock() - t0)
                finally:
                    del store.rollup
        return fast, slow

    rows = []
    for window in LOCATION_WINDOWS:
        span = 2 * mx.parse_window(window)
        mx.benchmark(config, store, location_ids=sample[:1], window=window, now=now)  # warm
        if hasattr(mx, "_everyone"):  # the day's global prior, whether or not the first set is thin: its
            mx._everyone(store, *mx._windows(now, mx.parse_window(window)))  # one-off cost is printed below
        bench, old = both(lambda lid, w=window: mx.benchmark(config, store, location_ids=[lid], window=w, now=now))
        base = per_location(lambda lid, s=span: sum(1 for _ in store.rollup(
            bucket="day", group_by=("location_id",), since=now - s, location_ids=involved[lid])))
        rows.append((f"benchmark {window}", bench, base, old))
    trend, old = both(lambda lid: mx.trend(config, store, lid, bucket="week", window="365d", now=now))
    since = now - timedelta(days=365 + 7 + mx.TREND_LOOKBACK_DAYS)
    base = per_location(lambda lid: sum(1 for _ in store.rollup(bucket="week", group_by=("location_id",), since=since,
                                                                location_ids=involved[lid])))
    rows.append(("trend 365d weekly", trend, base, old))

    # the global prior's one-off cost: what the first thin set of a day (or after new mentions) pays
    cold = warm = None
    if hasattr(mx, "_everyone"):  # (absent before the prior was cached: the bench also runs on old code)
        cur, prev = mx._windows(now, mx.parse_window("90d"))
        mx._prior_cache.pop(store, None)
        t0 = clock()
        mx._everyone(store, cur, prev)
        cold = clock() - t0
        t0 = clock()
        mx._everyone(store, cur, prev)
        warm = clock() - t0
        out["global_prior_cold_seconds"], out["global_prior_cached_seconds"] = round(cold, 3), round(warm, 6)

    say(f"  one location, as the dashboard asks ({len(sample)} own locations, median set "
        f"{out['median_set']:g} rivals); CPU ms, median / slowest:")
    say(f"    {'call':<20} {'metrics':>16} {'rollup under it':>17} {'ratio':>6}"
        + (f" {'from the mentions':>19} {'x':>5}" if direct else ""))
    for name, t, b, o in rows:
        med, bmed = statistics.median(t), statistics.median(b)
        out[name] = {"median_ms": round(med * 1000, 1), "max_ms": round(max(t) * 1000, 1),
                     "rollup_median_ms": round(bmed * 1000, 1), "rollup_max_ms": round(max(b) * 1000, 1)}
        line = (f"    {name:<20} {med * 1000:>7.1f} / {max(t) * 1000:>6.1f} {bmed * 1000:>8.1f} / {max(b) * 1000:>6.1f} "
                f"{med / bmed if bmed else 0:>6.2f}")
        if o:
            omed = statistics.median(o)
            out[name] |= {"mentions_median_ms": round(omed * 1000, 1), "mentions_max_ms": round(max(o) * 1000, 1)}
            line += f" {omed * 1000:>9.1f} / {max(o) * 1000:>6.1f} {omed / med if med else 0:>5.2f}"
        say(line)
    if direct:
        say("    from the mentions = the same call with the store reading the mentions themselves, not the day "
            "summaries (the read path before them), timed location by location in the same run; x = that / metrics")
    if cold is not None and warm is not None:
        say(f"    global prior (every location, 90d): {cold * 1000:.0f} ms once per store, day and data version "
            f"(only for a thin set), {warm * 1e6:.0f} us cached")
    return out


def run(directory: str | Path, *, window: str = "90d", locations: int = 4000, mentions: int = 1_000_000,
        seed: int = 1, growth: Sequence[int] = (), growth_dir: str | Path | None = None, rounds: int = ROUNDS,
        sample: int = SAMPLE, writes: int = 20_000, say: Callable[[str], Any] = print) -> dict[str, Any]:
    """Time (CPU) the metrics on the set in ``directory`` (generated if missing); with ``growth``
    (location counts), also on one set per count in ``growth_dir``/<count> at the same
    mentions per location, and print how the time grows against the rollup's; ``writes``
    synthetic mentions (0: none) measure what the day summaries cost a write."""
    from config import load_config
    from crawlers.store import open_store

    config = load_config(ensure_dataset(Path(directory), locations=locations, mentions=mentions, seed=seed, say=say))
    store = open_store(config.store_url)
    try:
        now = _as_of(store)
        out = {"window": window, "as_of": now.isoformat(), **_all_locations(config, store, window, now, rounds)}
        say(f"metrics benchmark, window {window} as of {now:%Y-%m-%d}: {out['own_locations']:,} own locations "
            f"(of {len(config.locations):,}, {out['mentions']:,} mentions) against their competitive sets")
        say(f"  baseline (CPU s): day rollup by location over 2 windows, {out['baseline_rollup_rows']:,} rows, "
            f"{out['baseline_seconds']:.2f} s")
        say(f"  the rollups under benchmark() ({out['underlying_rollups']} queries over the "
            f"{out['involved_locations']:,} locations involved, {out['underlying_rollup_rows']:,} rows), replayed: "
            f"{out['underlying_seconds']:.2f} s")
        say(f"  benchmark(): {out['benchmark_seconds']:.2f} s ({out['ratio']}x the table baseline, "
            f"{out['ratio_underlying']}x its own rollups)")
        from monitor.metrics import own_location_ids
        from monitor.portfolio import portfolio

        own = own_location_ids(config, None)
        folio_seconds, folio = _best(lambda: portfolio(config, store, own, window=window, now=now), rounds)
        base = out["baseline_seconds"]
        out.update(portfolio_seconds=round(folio_seconds, 3), portfolio_queries=folio.queries,
                   portfolio_ratio=round(folio_seconds / base, 2) if base else None)
        say(f"  portfolio(): {folio_seconds:.2f} s ({out['portfolio_ratio']}x the table baseline): {len(folio.rows):,} "
            f"rows ranked with {len(folio.weeks)}-week sparklines, the chain against {folio.rollup.rivals:,} distinct "
            f"rivals, {folio.queries} rollup queries")
        out["one_location"] = _one_location(config, store, now, say, sample)
    finally:
        store.close()
    if writes:
        out["writes"] = _writes(say, rounds=rounds, seed=seed, n=writes)
    if growth:
        out["growth"] = _growth(sorted(growth), Path(growth_dir or Path(directory).parent / "synth-growth"),
                                window=window, per_location=mentions / locations, seed=seed, rounds=rounds, say=say)
    return out


def _growth(sizes: list[int], root: Path, *, window: str, per_location: float, seed: int, rounds: int,
            say: Callable[[str], Any]) -> list[dict[str, Any]]:
    from config import load_config
    from crawlers.store import open_store

    rows = []
    for n in sizes:
        config = load_config(ensure_dataset(root / str(n), locations=n, mentions=round(n * per_location), seed=seed,
                                            say=say))
        store = open_store(config.store_url)
        try:
            now = _as_of(store)
            rows.append({"size": n, **_all_locations(config, store, window, now, rounds)})
        finally:
            store.close()
    first = rows[0]
    say(f"\n  growth, window {window}, all own locations (CPU s, fastest of {rounds}); x = against {first['size']:,} "
        "locations; table = the day rollup of every location, under = the rollups benchmark() issues")
    say(f"    {'locations':>9} {'mentions':>10} {'own':>5} {'involved':>8} {'pairs':>7} {'table s':>8} {'under s':>8} "
        f"{'metrics s':>9} {'table x':>8} {'under x':>8} {'pairs x':>8} {'metrics x':>9} {'ratio':>6}")
    for r in rows:
        gb = r["baseline_seconds"] / max(first["baseline_seconds"], 1e-6)  # (a tiny set's rollups take ~0 s)
        gu = r["underlying_seconds"] / max(first["underlying_seconds"], 1e-6)
        gm = r["benchmark_seconds"] / max(first["benchmark_seconds"], 1e-6)
        gp = r["set_members"] / first["set_members"] if first["set_members"] else 0.0
        r.update(rollup_growth=round(gb, 2), underlying_growth=round(gu, 2), metrics_growth=round(gm, 2),
                 pairs_growth=round(gp, 2),
                 growth_ratio=round(gm / gu, 2) if gu else None, growth_ratio_table=round(gm / gb, 2) if gb else None)
        say(f"    {r['locations']:>9,} {r['mentions']:>10,} {r['own_locations']:>5,} {r['involved_locations']:>8,} "
            f"{r['set_members']:>7,} "
            f"{r['baseline_seconds']:>8.2f} {r['underlying_seconds']:>8.2f} {r['benchmark_seconds']:>9.2f} "
            f"{gb:>7.2f}x {gu:>7.2f}x {gp:>7.2f}x {gm:>8.2f}x {gm / gu if gu else float('nan'):>6.2f}")
    say("    ratio = metrics growth / growth of the rollups under them (goal <= 1.2); pairs = own locations x "
        "their rivals, what the set arithmetic and the result grow with")
    return rows


WRITE_BATCH = 500
"""Mentions per ``upsert_mentions`` call in the write benchmark (the crawl's store buffer flushes
batches of a few hundred)."""


def _plain_store(store: Any) -> None:
    """``store`` as it was before the day summaries: no triggers, tables or published-at index."""
    from crawlers.store.summary import TABLES, TRIGGERS

    with store._lock:
        for name in TRIGGERS:
            store._db.execute(f"DROP TRIGGER {name}")
        for t in TABLES:
            store._db.execute(f"DROP TABLE {t.name}")
        store._db.execute("DROP INDEX mentions_published")


def _writes(say: Callable[[str], Any], *, rounds: int, seed: int, n: int) -> dict[str, Any]:
    """What the summaries cost a write: the same synthetic mentions inserted, updated (new
    text and figures) and re-analysed, batch by batch, into a store with and one without
    them, interleaved; CPU seconds of this process (SQLite runs in it). Two orders: as a
    crawl delivers them (source by source, newest first: a batch touches a few locations'
    recent days) and shuffled (every batch touches ~500 locations x days: the worst case for
    summaries clustered by location and day)."""
    import dataclasses
    import random
    import tempfile

    from crawlers.items import mention_content_hash
    from crawlers.store.sqlite import SQLiteStore
    from crawlers.store.summary import ensure_summaries
    from vocwatch.synth import _locations, _mentions

    rnd = random.Random(seed)
    shuffled = list(_mentions(rnd, _locations(rnd, 200), n, 730))
    crawl = sorted(shuffled, key=lambda m: (m.source_id, -(m.published_at.timestamp() if m.published_at else 0)))
    out: dict[str, Any] = {"mentions": n, "batch": WRITE_BATCH}
    say(f"\n  writes ({n:,} synthetic mentions of 200 locations in batches of {WRITE_BATCH}, CPU, median of {rounds}): "
        "mentions/s with the day summaries / without them (the store before them)")
    build: list[float] = []
    for order, fresh in (("crawl order", crawl), ("shuffled", shuffled)):
        changed = []
        for m in fresh:
            c = dataclasses.replace(m, text=m.text + " (edited)",
                                    rating=5.0 if m.rating is None else max(0.0, m.rating - 1))
            c.content_hash = mention_content_hash(c)
            changed.append(c)
        relabelled = [dataclasses.replace(m, sentiment_label="negative", sentiment_score=-0.5) for m in changed]
        ops = {"insert": (SQLiteStore.upsert_mentions, fresh), "update": (SQLiteStore.upsert_mentions, changed),
               "re-analyse": (SQLiteStore.update_nlp, relabelled)}
        times: dict[tuple[str, str], list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(rounds):
                for mode in ("summaries", "plain") if r % 2 == 0 else ("plain", "summaries"):
                    store = SQLiteStore(f"sqlite:///{tmp}/{mode}-{r}.db")
                    if mode == "plain":
                        _plain_store(store)
                    try:
                        for op, (write, items) in ops.items():
                            t0 = clock()
                            for i in range(0, n, WRITE_BATCH):
                                write(store, items[i:i + WRITE_BATCH])  # type: ignore[operator]
                            times.setdefault((op, mode), []).append(clock() - t0)
                        if mode == "plain" and order == "crawl order":  # an old store gets them on open
                            with store._lock:
                                store._db.execute("DELETE FROM meta WHERE key = 'mention_summary_version'")
                                t0 = clock()
                                ensure_summaries(store._db)
                                build.append(clock() - t0)
                    finally:
                        store.close()
        out[order] = {}
        for op in ops:
            with_s, without = statistics.median(times[(op, "summaries")]), statistics.median(times[(op, "plain")])
            out[order][op] = {"with_summaries_per_s": round(n / with_s), "without_per_s": round(n / without),
                              "cost": round(with_s / without, 2)}
            say(f"    {order:<12} {op:<11} {n / with_s:>9,.0f} / {n / without:>9,.0f}   "
                f"({with_s / without:.2f}x the CPU per write)")
    out["build_seconds_per_100k"] = round(statistics.median(build) * 100_000 / n, 2)
    say(f"    building them for an existing store (on open, once): {out['build_seconds_per_100k']:.2f} s CPU "
        "per 100,000 mentions")
    return out
