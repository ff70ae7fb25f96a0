"""Export benchmark: every weekly trend by location (and by location + aspect) of the
synthetic data set (``vocwatch.synth``) in each format, next to a baseline measured in the
same run — the bare rollup query iterated without writing — so the writer's own cost
shows as the difference.

Memory is the peak resident set growth during a step over the resident set at its start,
sampled from ``/proc/self/statm`` every 5 ms (``ru_maxrss`` growth elsewhere, which only
sees new process-wide peaks). Flat memory shows as the same growth for both groupings,
whose row counts differ several times. One tiny export per format runs first, so loading
pyarrow/openpyxl (a one-time ~70 MB of library pages) is not counted as streaming cost.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GROUPINGS: tuple[tuple[str, ...], ...] = (("location",), ("location", "aspect"))


@dataclass(frozen=True, slots=True)
class Step:
    grouping: str
    step: str
    rows: int
    seconds: float
    rss_growth_mb: float


class _PeakRSS:
    """Peak resident-set growth (MB) of this process while the ``with`` block runs."""

    _PAGE = os.sysconf("SC_PAGE_SIZE")
    _MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere

    def __enter__(self) -> _PeakRSS:
        self.proc = Path("/proc/self/statm").exists()
        self.start = self._rss() if self.proc else self._maxrss()
        self.peak = self.start
        self._stop = threading.Event()
        if self.proc:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._PAGE

    def _maxrss(self) -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * self._MAXRSS_UNIT

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.proc:
            self._thread.join()
            self.peak = max(self.peak, self._rss())
        else:
            self.peak = self._maxrss()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def _measure(fn: Callable[[], int]) -> tuple[int, float, float]:
    with _PeakRSS() as mem:
        t0 = time.perf_counter()
        rows = fn()
        seconds = time.perf_counter() - t0
    return rows, seconds, mem.growth_mb


def _record(steps: list[Step], say: Callable[[str], Any], name: str, width: int,
            measured: list[tuple[str, tuple[int, float, float]]]) -> None:
    """Keep and print one scope's measured steps, each against its first (the baseline)."""
    base_seconds = measured[0][1][1]
    for label, (rows, seconds, growth) in measured:
        steps.append(Step(name, label, rows, seconds, growth))
        say(f"{name:<{width}} {label:<22} {rows:>9,} {seconds:>8.2f} {rows / max(seconds, 1e-9):>9,.0f} "
            f"{seconds / max(base_seconds, 1e-9):>10.2f} {growth:>8.1f}")


def ensure_dataset(directory: Path, *, locations: int, mentions: int, seed: int,
                   say: Callable[[str], Any] = print) -> Path:
    """The synthetic set's config in ``directory``, generated unless already there."""
    config = directory / "vocwatch.toml"
    if config.exists() and (directory / "synth.db").exists():
        say(f"reusing the synthetic set in {directory} (delete it to regenerate)")
        return config
    from vocwatch.synth import generate

    say(f"generating {mentions:,} mentions for {locations:,} locations in {directory} ...")
    r = generate(directory, locations=locations, mentions=mentions, seed=seed)
    say(f"synth: {r.mentions:,} mentions, {r.locations:,} locations in {r.seconds:.1f} s "
        f"({r.mentions / r.seconds:,.0f} mentions/s)")
    return config


def run(directory: str | Path, *, formats: Sequence[str] = ("csv", "json", "parquet", "xlsx"),
        locations: int = 4000, mentions: int = 1_000_000, seed: int = 1,
        say: Callable[[str], Any] = print) -> list[Step]:
    """Time the weekly-trend exports; print a table and return its rows."""
    from config import load_config
    from crawlers.store import open_store
    from monitor.export import GROUPS, export_trends, trend_query

    directory = Path(directory)
    config = load_config(ensure_dataset(directory, locations=locations, mentions=mentions, seed=seed, say=say))
    out_dir = directory / "exports"
    out_dir.mkdir(exist_ok=True)
    store = open_store(config.store_url)
    steps: list[Step] = []
    say(f"\n{'grouping':<18} {'step':<22} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'x baseline':>10} {'RSS +MB':>8}")
    try:
        # a tiny export in each format first: loading pyarrow/openpyxl and their first writer
        # touch ~70 MB of library pages once, which is not the cost of streaming rows
        first = trend_query("week", ("location",), location_ids=[next(iter(config.locations))])
        for fmt in formats:
            export_trends(store, first, out_dir / f"warm-up.{fmt}", fmt)
        for grouping in GROUPINGS:
            query = trend_query("week", grouping)
            name = "+".join(grouping)
            bare = [_measure(lambda q=query: sum(1 for _ in store.rollup(
                bucket="week", group_by=[GROUPS[g] for g in q.groups]))) for _ in range(2)]
            # best of two: the first also warms the page cache
            todo = [("rollup only (baseline)", min(bare, key=lambda m: m[1]))]
            for fmt in formats:
                out = out_dir / f"trends-week-{name.replace('+', '-')}.{fmt}"
                todo.append((f"export {fmt}", _measure(lambda q=query, o=out, f=fmt: export_trends(
                    store, q, o, f, locations=config.locations).rows)))
            _record(steps, say, name, 18, todo)
    finally:
        store.close()
    say(_against_csv(steps))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _PeakRSS._MAXRSS_UNIT / 2**20
    say(f"\nexports written to {out_dir}; peak RSS of this whole run {peak:.0f} MB")
    return steps


def _against_csv(steps: Sequence[Step]) -> str:
    """Each format's time as a multiple of csv's on the same rows in the same run (the
    figure the export goal is stated in: xlsx within 2x of csv)."""
    lines = []
    for grouping in dict.fromkeys(s.grouping for s in steps):
        times = {s.step.removeprefix("export "): s.seconds for s in steps if s.grouping == grouping}
        if "csv" not in times:
            continue
        others = ", ".join(f"{f} {t / max(times['csv'], 1e-9):.2f}x" for f, t in times.items()
                           if f not in ("csv", "rollup only (baseline)"))
        if others:
            lines.append(f"  {grouping}: {others}")
    return ("\nagainst csv on the same rows (time / csv time):\n" + "\n".join(lines)) if lines else ""


def run_mentions(directory: str | Path, *, formats: Sequence[str] = ("csv", "json", "parquet", "xlsx"),
                 locations: int = 4000, mentions: int = 1_000_000, seed: int = 1,
                 say: Callable[[str], Any] = print) -> list[Step]:
    """Time ``vocwatch export mentions`` (``monitor.export.export_mentions``) on the synthetic
    set for one region's locations and for every location, next to the baseline of the same
    run — the store's pages read (``iter_matching``) and dropped — and print a table. Memory
    stays flat when the growth is the same for both scopes, whose row counts differ ~10x."""
    from config import load_config
    from crawlers.store import open_store
    from monitor.export import export_mentions, iter_matching, mention_query

    directory = Path(directory)
    config = load_config(ensure_dataset(directory, locations=locations, mentions=mentions, seed=seed, say=say))
    out_dir = directory / "exports"
    out_dir.mkdir(exist_ok=True)
    store = open_store(config.store_url)
    regions: dict[str, list[str]] = {}
    for loc in config.locations.values():
        regions.setdefault(loc.region, []).append(loc.id)
    region, ids = max(regions.items(), key=lambda kv: len(kv[1]))
    scopes = ((f"region {region}", ids), ("every location", list(config.locations)))
    steps: list[Step] = []
    say(f"\n{'scope':<22} {'step':<22} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'x baseline':>10} {'RSS +MB':>8}")
    try:
        warm = mention_query(location_ids=ids[:1], known_locations=config.locations)
        for fmt in formats:  # load pyarrow/openpyxl once, outside the measured steps
            export_mentions(store, warm, out_dir / f"warm-up-mentions.{fmt}", fmt)
        for name, lids in scopes:
            query = mention_query(location_ids=lids, known_locations=config.locations)
            # also warms the page cache
            todo = [("store pages (baseline)", _measure(lambda q=query: sum(1 for _ in iter_matching(store, q))))]
            for fmt in formats:
                out = out_dir / f"mentions-{'region' if name.startswith('region') else 'all'}.{fmt}"
                todo.append((f"export {fmt}", _measure(lambda q=query, o=out, f=fmt: export_mentions(
                    store, q, o, f, locations=config.locations).rows)))
            _record(steps, say, name, 22, todo)
    finally:
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _PeakRSS._MAXRSS_UNIT / 2**20
    say(f"\nexports written to {out_dir}; peak RSS of this whole run {peak:.0f} MB")
    return steps
