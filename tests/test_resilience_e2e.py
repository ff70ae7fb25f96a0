"""Faults end to end: invalid config, a timing-out site, a crawl killed mid-way, the demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawlers.store import open_store
from tests.conftest import DEMO_CONFIG, ONE_HOTEL, ROOT, crawl_head, run_vocwatch

MINIMAL = crawl_head(timeout="{timeout}") + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "${{VOCWATCH_SANDBOX}}/hotels/h1001/reviews"

[[sources]]
id = "slow"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{slow}/hotels/slow"
"""


@pytest.fixture
def slow_site() -> Iterator[str]:
    """A site that answers only after 5 s."""

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/robots.txt":
                self.send_response(404)
                self.end_headers()
                return
            time.sleep(5)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<html></html>")
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_invalid_config_never_starts_a_crawl(tmp_path: Path) -> None:
    from vocwatch.sandbox import Sandbox

    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.format(db=tmp_path / "x.db", timeout=5, slow="http://127.0.0.1:1").replace("lat = 31.2397", "lat = 95"))
    with Sandbox() as own:  # its own: no other test's crawl knows its port
        proc = run_vocwatch("crawl", "-c", str(bad), env={"VOCWATCH_SANDBOX": own.base_url})
        assert proc.returncode == 2
        assert f"{bad}: locations[0].lat: must be between -90 and 90, got 95.0" in proc.stderr
        assert own.request_log == []
    assert not (tmp_path / "x.db").exists()


def test_timeout_is_counted_and_other_sources_go_on(sandbox: Any, slow_site: str, tmp_path: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text(MINIMAL.format(db=tmp_path / "t.db", timeout=2, slow=slow_site))
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q", env={"VOCWATCH_SANDBOX": sandbox.base_url})
    assert proc.returncode == 1, proc.stderr[-3000:]  # a source failed
    assert re.search(r"slow\s+failed\s+0\s+0\s+page_timeout: 1", proc.stdout), proc.stdout
    assert "  failed slow: page_timeout: 1" in proc.stdout
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    runs = {r.source_id: r for r in store.list_runs()}
    assert runs["slow"].stats["vocwatch/dropped/page_timeout"] == 1
    assert runs["harbor-sh-bund/hotel_reviews"].outcome == "finished"
    assert store.count_mentions(source_id="harbor-sh-bund/hotel_reviews") == len(sandbox.truth_for("/hotels/h1001/reviews"))


def test_crawl_killed_midway_resumes_without_loss_or_duplicates(sandbox: Any, tmp_path: Path) -> None:
    # the demo config, slowed down so the crawl is still running when it is killed
    (tmp_path / "competitors.csv").write_bytes((DEMO_CONFIG.parent / "competitors.csv").read_bytes())
    cfg = tmp_path / "slow.toml"
    cfg.write_text(DEMO_CONFIG.read_text(encoding="utf-8").replace("delay = 0.05", "delay = 0.8"), encoding="utf-8")
    url = f"sqlite:///{tmp_path}/k.db"
    env = {**os.environ, "VOCWATCH_SANDBOX": sandbox.base_url}
    sandbox.reset_faults()
    proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "crawl", "-c", str(cfg), "--store", url, "-q"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (tmp_path / "k.db").exists():
            store = store or open_store(url)
            if store.count_mentions() > 0:  # the first batch is stored: kill mid-crawl
                break
    assert store is not None and proc.poll() is None, "crawl ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_count = store.count_mentions()
    want = {(t.site, t.external_id) for t in sandbox.truth if t.valid and not t.on_malformed_page}
    assert 0 < killed_count < len(want)  # killed mid-crawl: some stored, not all
    left_running = [r.id for r in store.list_runs() if r.outcome == "running"]  # the killed runs never finished
    assert left_running

    proc2 = run_vocwatch("crawl", "-c", str(DEMO_CONFIG), "--store", url, "-q", env={"VOCWATCH_SANDBOX": sandbox.base_url})
    assert proc2.returncode == 3, proc2.stderr[-3000:]  # 3: the sandbox's malformed mall page (partial)
    runs = {r.id: r for r in store.list_runs(limit=100)}
    assert {runs[i].outcome for i in left_running} == {"killed"}  # closed by the next crawl of their source
    assert not [r for r in runs.values() if r.outcome == "running"]
    got = [(m.site, m.external_id) for m in store.iter_mentions()]
    assert len(got) == len(set(got)) == len(want)
    assert set(got) == want


def test_demo_prints_own_against_competitors_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    first = run_vocwatch("demo", "--store", url)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    block = out.split("Harbor Hotel Shanghai Bund [harbor-sh-bund]")[1].split("\n\n")[0]
    assert re.search(r"rating \(0-5\)\s+\d\.\d\d", block), out
    assert re.search(r"reputation \(0-100\)\s+\d+\.\d", block), out
    assert re.search(r"Lotus Inn The Bund\s+0\.9 km\s+\d+", block), out
    assert "Summit Suites Pudong Airport" not in out.split("Stored mentions")[1]  # 32 km away: outside the 3 km set
    assert "comp idx" in out and "rank in set" in block
    stored = int(re.search(r"Stored mentions: (\d+)", out).group(1))  # type: ignore[union-attr]
    second = run_vocwatch("demo", "--store", url)
    assert second.returncode == 0, second.stderr[-3000:]
    assert int(re.search(r"Stored mentions: (\d+)", second.stdout).group(1)) == stored  # type: ignore[union-attr]
