"""``vocwatch crawl`` exit codes and summaries end to end, over real HTTP on 127.0.0.1:
0 only when every source finished cleanly, 1 when any failed, 3 when none failed but one
was partial; each source that did not finish is named with why, and no traceback shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from crawlers.store import open_store
from tests.conftest import DEMO_CONFIG, ONE_HOTEL, ROOT, crawl_head, local_site, run_vocwatch

CONFIG = crawl_head(extra="{crawl}") + ONE_HOTEL + """
[[sources]]
id = "refused"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "http://127.0.0.1:1/hotels/h1/reviews"

[[sources]]
id = "erroring"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{erroring}/hotels/h2/reviews"
"""
HOTEL = "harbor-sh-bund/hotel_reviews"
MALL = "beanleaf-hz-hubin/mall_comments"
"""The sandbox serves one cut-off (truncated) page of this source on purpose: its run is partial."""


def problems(stdout: str) -> dict[str, str]:
    """``source -> "outcome: why"`` from the summary's lines."""
    block = stdout.split("did not finish cleanly:\n", 1)[1] if "did not finish cleanly:" in stdout else ""
    return {m[2]: f"{m[1]}: {m[3]}" for m in re.finditer(r"^  (\w+) (\S+): (.*)$", block, re.M)}


def test_every_source_failing_exits_1_and_names_each(tmp_path: Path) -> None:
    with local_site(lambda path: (500, "text/html", b"<h1>Internal Server Error</h1>")) as (base, hits):
        cfg = tmp_path / "v.toml"
        cfg.write_text(CONFIG.format(db=tmp_path / "f.db", crawl="", erroring=base))
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert "/hotels/h2/reviews" in hits
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert "2 of 2 source(s) did not finish cleanly" in proc.stdout
    assert problems(proc.stdout) == {"refused": "failed: page_connection_refused: 1",
                                     "erroring": "failed: page_http_500: 1"}, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    runs = {r.source_id: r.outcome for r in open_store(f"sqlite:///{tmp_path}/f.db").list_runs()}
    assert runs == {"refused": "failed", "erroring": "failed"}  # not one page read: failed, not partial


def test_a_spider_that_cannot_start_is_named_without_a_traceback(tmp_path: Path) -> None:
    # render = "browser" with no Chromium: the spider raises while binding its source
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "b.db", crawl='chromium_path = "/nonexistent/chromium"',
                                 erroring="http://127.0.0.1:1").replace(
        'url = "http://127.0.0.1:1/hotels/h2/reviews"', 'url = "http://127.0.0.1:1/hotels/h2/reviews"\nrender = "browser"'))
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--source", "erroring")
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    why = problems(proc.stdout)["erroring"]
    assert why.startswith("failed: ") and "no Chromium at /nonexistent/chromium" in why, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]


BROKEN_START = """
import sys
from spiders.hotel_reviews import HotelReviewsSpider
from vocwatch.cli import main

def broken(self):
    raise RuntimeError("seed list unavailable")
    yield

HotelReviewsSpider.seed_requests = broken  # the spider's start() raises
sys.exit(main(sys.argv[1:]))
"""


def test_a_spider_whose_start_raises_fails_with_its_error(tmp_path: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "s.db", crawl="", erroring="http://127.0.0.1:1"))
    proc = subprocess.run([sys.executable, "-c", BROKEN_START, "crawl", "-c", str(cfg), "-q", "--source", "refused"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert problems(proc.stdout) == {"refused": "failed: RuntimeError: seed list unavailable"}, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    [run] = open_store(f"sqlite:///{tmp_path}/s.db").list_runs()
    assert run.stats["vocwatch/close_reason"] == "start_error"


def test_one_partial_source_exits_3_and_clean_sources_exit_0(sandbox: Any, tmp_path: Path) -> None:
    env = {"VOCWATCH_SANDBOX": sandbox.base_url}
    url = f"sqlite:///{tmp_path}/p.db"
    sandbox.reset_faults()
    partial = run_vocwatch("crawl", "-c", str(DEMO_CONFIG), "--store", url, "-q", "--source", HOTEL, "--source", MALL, env=env)
    assert partial.returncode == 3, partial.stdout + partial.stderr[-3000:]
    assert problems(partial.stdout) == {MALL: "partial: page_truncated: 1"}, partial.stdout
    assert "1 of 2 source(s) did not finish cleanly" in partial.stdout
    assert "Traceback" not in partial.stdout + partial.stderr

    clean = run_vocwatch("crawl", "-c", str(DEMO_CONFIG), "--store", url, "-q", "--source", HOTEL, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr[-3000:]
    assert "did not finish cleanly" not in clean.stdout and re.search(rf"{HOTEL}\s+finished", clean.stdout)


def test_crawl_help_documents_the_exit_codes() -> None:
    proc = run_vocwatch("crawl", "--help")
    assert proc.returncode == 0
    for line in ("0    every source finished cleanly", "1    at least one source failed",
                 "2    invalid configuration", "3    none failed, but at least one source was partial",
                 "130  interrupted"):
        assert line in proc.stdout, proc.stdout
