"""``vocwatch bench scale`` at a small size: the synthetic chain config loads, every figure
is printed (and written to --json), every job reaches the no-op crawl. Timings are never
asserted: they are the command's output."""

from __future__ import annotations

import json
from pathlib import Path

from config.loader import load_config
from tests.conftest import run_vocwatch
from vocwatch.bench.scale import SCHEDULES, write_config

FIGURES = (
    "config load:", "scheduler cold start (no state):", "scheduler warm start (restart):",
    "scheduler start, all jobs due:", "baseline bare APScheduler", "peak RSS:", "tick, first",
    "tick, all jobs due at once:", "tick baseline, bare APScheduler", "Redis enqueue", "competitive sets of",
    "metrics on sqlite", "metrics on mongomock", "mongomock / SQLite:",
)


def test_synthetic_config_is_a_chain(tmp_path: Path) -> None:
    path, locs = write_config(tmp_path, locations=40, sources=30, seed=3)
    config = load_config(path)
    assert len(config.locations) == 40 and len(config.sources) == 40 * 30
    assert (tmp_path / "locations.csv").exists() and config.own_locations()
    schedules = {s.schedule for s in config.sources.values()}
    assert schedules == set(SCHEDULES)  # defaults, intervals and crontabs
    assert {s.location for s in config.sources.values()} == {loc.id for loc in locs}


def test_bench_scale_prints_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    done = run_vocwatch("bench", "scale", "--locations", "30", "--sources", "5", "--scale-dir", str(tmp_path / "s"),
                        "--scale-mentions", "1500", "--enqueue", "100", "--watch", "0.5", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in FIGURES:
        assert figure in done.stdout, (figure, done.stdout)
    assert "not measured" not in done.stdout  # redis-server is installed here, the job queue on main
    res = json.loads(out.read_text())["scale"]
    assert res["due"]["enqueued"] == res["bare"]["enqueued"] == 150  # every due job dispatched once
    assert res["cold"]["jobs"] == 150 and res["enqueue"]["enqueued"] == 100
    assert res["enqueue"]["duplicates_refused"] == 100
    assert res["metrics"]["sqlite"]["benchmarked"] == res["metrics"]["mongomock"]["benchmarked"] > 0
