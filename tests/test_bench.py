"""The benchmarks measure what they claim: same site, every item through every mode.
(Figures themselves are printed by ``vocwatch bench``, never asserted.)"""

from __future__ import annotations

import json
import urllib.request

from vocwatch.bench import crawl
from vocwatch.bench.site import BenchSite, ReviewSite


def test_bench_site_pages_cover_every_comment_once() -> None:
    site = BenchSite(comments=25, page_size=10)
    url = site.start()
    try:
        ids = []
        for page in (1, 2, 3):
            with urllib.request.urlopen(f"{url}&page={page}") as r:
                payload = json.loads(r.read())
            assert payload["maxPage"] == 3
            ids += [c["id"] for c in payload["comments"]]
        assert len(ids) == len(set(ids)) == 25
    finally:
        site.stop()


def test_review_site_chains_cover_every_review_once() -> None:
    import re

    site = ReviewSite(pages=6, sources=2, per_page=3)
    site.start()
    try:
        ids: list[str] = []
        for url in site.start_urls():
            while url:
                with urllib.request.urlopen(url) as r:
                    html = r.read().decode()
                ids += re.findall(r'id="review-(\d+)"', html)
                nxt = re.search(r'rel="next" href="([^"]+)"', html)
                url = site.base + nxt.group(1) if nxt else ""
        assert len(ids) == len(set(ids)) == site.reviews == 18
    finally:
        site.stop()


def test_crawl_benchmark_reads_and_stores_everything_on_both_sides() -> None:
    """plain Scrapy and the full vocwatch crawl read the same reviews; vocwatch stores each
    one, its balance holds, and the figures (ratio, CPU, memory) are printed."""
    res = crawl.run(pages=6, sources=2, rounds=1, modes=("plain", "full", "bare"))
    by_mode = {r["mode"]: r for r in res["rounds"]}
    assert set(by_mode) == {"plain", "full", "bare"}
    assert all(r["extracted"] == 60 for r in by_mode.values())
    assert by_mode["plain"]["outcome"] == "finished"
    assert by_mode["full"]["outcome"] == "finished"
    assert by_mode["bare"]["stored"] == 0  # no item pipelines: read, not stored
    assert by_mode["full"]["stored"] == 60 and by_mode["full"]["unaccounted"] == 0
    assert by_mode["full"]["nlp_worker_failures"] == 0
    assert by_mode["full"]["peak_tree_mb"] > by_mode["full"]["peak_main_mb"] > 0  # the NLP worker is counted
    assert all(r["cpu_seconds"] > 0 for r in by_mode.values())
    out = crawl.format_result(res)
    assert "median items/s" in out and "ratio to plain Scrapy: full" in out and "peak memory" in out
    assert "crawl process CPU s" in out


def test_plain_spider_is_plain_scrapy() -> None:
    """The baseline imports no vocwatch code: what it costs is Scrapy's cost."""
    import ast
    from pathlib import Path

    from vocwatch.bench import plain_spider

    tree = ast.parse(Path(plain_spider.__file__).read_text(encoding="utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m.split(".")[0] for m in imported} <= {"__future__", "collections", "typing", "scrapy"}


def test_metrics_benchmark_runs_on_a_tiny_synthetic_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vocwatch.bench import metrics

    said: list[str] = []
    out = metrics.run(tmp_path, locations=12, mentions=800, writes=300, rounds=1, say=said.append)
    assert out["own_locations"] > 0 and out["baseline_rollup_rows"] > 0
    assert out["as_of"].startswith("2026-11-")  # the synthetic set's newest day, not today
    assert any("benchmark()" in line for line in said)
    # the portfolio of the same locations, timed in the same run: a handful of rollups
    assert out["portfolio_seconds"] >= 0 and 3 <= out["portfolio_queries"] <= 5
    assert any("portfolio()" in line and "rollup queries" in line for line in said)
    # what the day summaries cost a write, with and without them in the same run
    for order in ("crawl order", "shuffled"):
        assert set(out["writes"][order]) == {"insert", "update", "re-analyse"}
        assert all(w["with_summaries_per_s"] > 0 and w["without_per_s"] > 0 for w in out["writes"][order].values())
    assert any("mentions/s with the day summaries" in line for line in said)


def test_metrics_benchmark_prints_one_location_and_growth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vocwatch.bench import metrics

    said: list[str] = []
    out = metrics.run(tmp_path / "set", locations=60, mentions=3000, growth=[30, 60], growth_dir=tmp_path / "growth",
                      rounds=1, sample=3, writes=0, say=said.append)
    one = out["one_location"]
    assert 1 <= one["sample"] <= 3 and {"benchmark 90d", "benchmark 365d", "trend 365d weekly"} <= set(one)
    # the same calls reading the mentions instead of the day summaries, in the same run
    assert all(one[k]["mentions_median_ms"] >= 0 for k in ("benchmark 90d", "benchmark 365d", "trend 365d weekly"))
    assert any("from the mentions" in line for line in said)
    assert out["underlying_rollups"] >= 4 and out["underlying_rollup_rows"] > 0
    sizes = [g["size"] for g in out["growth"]]
    assert sizes == [30, 60] and [g["locations"] for g in out["growth"]] == [30, 60]
    assert out["growth"][1]["mentions"] == 3000 and out["growth"][0]["mentions"] == 1500  # same per location
    assert out["growth"][0]["growth_ratio"] == 1.0
    assert any("goal <= 1.2" in line for line in said) and any("global prior" in line for line in said)
