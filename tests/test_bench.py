"""The benchmarks measure what they claim: same site, every item through every mode.
(Figures themselves are printed by ``vocwatch bench``, never asserted.)"""

from __future__ import annotations

import json
import urllib.request

from vocwatch.bench import crawl
from vocwatch.bench.site import BenchSite


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


def test_crawl_benchmark_modes_read_and_store_everything() -> None:
    res = crawl.run(comments=60, rounds=1)
    by_mode = {r["mode"]: r for r in res["rounds"]}
    assert set(by_mode) == set(crawl.MODES)
    assert all(r["extracted"] == 60 for r in by_mode.values())
    assert by_mode["full"]["outcome"] == by_mode["thread"]["outcome"] == "finished"
    # no item pipelines at all (bench bare, scrapy check): nothing claims to store, the balance is not checked
    assert by_mode["bare"]["outcome"] == "finished"
    assert by_mode["bare"]["stored"] == 0
    assert by_mode["full"]["stored"] == by_mode["thread"]["stored"] == 60
    assert by_mode["full"]["nlp_worker_failures"] == 0
    assert "median items/s" in crawl.format_result(res)


def test_metrics_benchmark_runs_on_a_tiny_synthetic_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vocwatch.bench import metrics

    said: list[str] = []
    out = metrics.run(tmp_path, locations=12, mentions=800, say=said.append)
    assert out["own_locations"] > 0 and out["baseline_rollup_rows"] > 0
    assert out["as_of"].startswith("2026-11-")  # the synthetic set's newest day, not today
    assert any("benchmark()" in line for line in said)
    # the portfolio of the same locations, timed in the same run: a handful of rollups
    assert out["portfolio_seconds"] >= 0 and 3 <= out["portfolio_queries"] <= 5
    assert any("portfolio()" in line and "rollup queries" in line for line in said)


def test_metrics_benchmark_prints_one_location_and_growth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from vocwatch.bench import metrics

    said: list[str] = []
    out = metrics.run(tmp_path / "set", locations=60, mentions=3000, growth=[30, 60], growth_dir=tmp_path / "growth",
                      rounds=1, sample=3, say=said.append)
    one = out["one_location"]
    assert 1 <= one["sample"] <= 3 and {"benchmark 90d", "benchmark 365d", "trend 365d weekly"} <= set(one)
    assert out["underlying_rollups"] >= 4 and out["underlying_rollup_rows"] > 0
    sizes = [g["size"] for g in out["growth"]]
    assert sizes == [30, 60] and [g["locations"] for g in out["growth"]] == [30, 60]
    assert out["growth"][1]["mentions"] == 3000 and out["growth"][0]["mentions"] == 1500  # same per location
    assert out["growth"][0]["growth_ratio"] == 1.0
    assert any("goal <= 1.2" in line for line in said) and any("global prior" in line for line in said)
