"""Deployed to a real scrapyd on 127.0.0.1: scrapyd-deploy builds the egg from this
repository, scrapyd takes it (``addversion.json``, what ``scrapyd-deploy local`` sends),
lists the spiders, and a scheduled sandbox crawl writes the store its config names and
scrapyd's feed of every mention read.

scrapyd and scrapyd-client are not vocwatch dependencies: the test runs where their
commands are found (``$VOCWATCH_SCRAPYD_BIN``, a folder holding ``scrapyd`` and
``scrapyd-deploy`` whose Python also imports vocwatch's dependencies, or the PATH)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_CONFIG, ROOT, runs_by_source

HOTEL = "harbor-sh-bund/hotel_reviews"


def _tool(name: str) -> str | None:
    folder = os.environ.get("VOCWATCH_SCRAPYD_BIN")
    if folder:
        path = Path(folder) / name
        return str(path) if path.exists() else None
    return shutil.which(name)


SCRAPYD, DEPLOY = _tool("scrapyd"), _tool("scrapyd-deploy")
pytestmark = pytest.mark.skipif(not (SCRAPYD and DEPLOY), reason="scrapyd / scrapyd-deploy not installed "
                                "(pip install scrapyd scrapyd-client, or set VOCWATCH_SCRAPYD_BIN)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api(base: str, path: str, data: dict[str, str] | None = None, files: dict[str, bytes] | None = None) -> dict[str, Any]:
    """GET, a form POST, or a multipart POST (an egg) to scrapyd's JSON API."""
    body, headers = None, {}
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for k, v in (data or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        for k, blob in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}.egg"\r\n'
                         "Content-Type: application/octet-stream\r\n\r\n".encode() + blob + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(base + path, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\neggs_dir = {home}/eggs\nlogs_dir = {home}/logs\n"
        f"items_dir = {home}/items\ndbs_dir = {home}/dbs\nmax_proc = 1\npoll_interval = 0.5\n", encoding="utf-8")
    log = (home / "scrapyd.log").open("w")
    proc = subprocess.Popen([str(SCRAPYD)], cwd=home, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                if api(base, "daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("scrapyd did not start: " + (home / "scrapyd.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_deploy_to_scrapyd_and_schedule_a_sandbox_crawl(scrapyd: str, sandbox: Any, tmp_path: Path) -> None:
    made = [p for p in (ROOT / "build", ROOT / "vocwatch.egg-info") if not p.exists()]
    egg = tmp_path / "vocwatch.egg"
    try:
        built = subprocess.run([str(DEPLOY), "--build-egg", str(egg)], cwd=ROOT, capture_output=True, text=True,
                               timeout=300)
    finally:
        for p in made:  # what building the egg left in the repository
            shutil.rmtree(p, ignore_errors=True)
    assert built.returncode == 0 and egg.exists(), built.stderr[-3000:]
    added = api(scrapyd, "addversion.json", {"project": "vocwatch", "version": "1"}, {"egg": egg.read_bytes()})
    assert added["status"] == "ok" and added["spiders"] == 7, added
    spiders = api(scrapyd, "listspiders.json?project=vocwatch")["spiders"]
    assert {"hotel_reviews", "mall_comments", "weibo_feed", "forum", "rss", "site", "selectors"} == set(spiders)

    folder = tmp_path / "proj"
    folder.mkdir()
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("sqlite:///../../data/vocwatch-demo.db", "sqlite:///data/d.db")
    (folder / "vocwatch.toml").write_text(text.replace("${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}", sandbox.base_url),
                                          encoding="utf-8")
    (folder / "competitors.csv").write_bytes((DEMO_CONFIG.parent / "competitors.csv").read_bytes())
    job = api(scrapyd, "schedule.json", {"project": "vocwatch", "spider": "hotel_reviews", "source": HOTEL,
                                         "config": str(folder / "vocwatch.toml")})
    assert job["status"] == "ok", job
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        finished = api(scrapyd, "listjobs.json?project=vocwatch")["finished"]
        if any(j["id"] == job["jobid"] for j in finished):
            break
        time.sleep(0.5)
    else:
        pytest.fail("the scheduled crawl did not finish")
    runs = runs_by_source(f"sqlite:///{folder / 'data' / 'd.db'}")[HOTEL]  # the store beside its config
    assert [r.outcome for r in runs] == ["finished"], runs[-1].stats
    assert runs[0].stats.get("vocwatch/nlp/errors", 0) == 0  # NLP data read from inside the zipped egg
    items = list((tmp_path / "scrapyd" / "items" / "vocwatch" / "hotel_reviews").glob("*.jl"))
    truth = {t.external_id for t in sandbox.truth_for("/hotels/h1001/reviews") if t.valid}
    assert len(items) == 1 and {json.loads(line)["external_id"] for line in items[0].read_text().splitlines()} == truth
