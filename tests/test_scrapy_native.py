"""Scrapy-native use, through real processes against the sandbox on 127.0.0.1: one config
and store rule wherever a command runs, ``scrapy crawl`` from the repository root and
from any folder, ad-hoc ``-a url=`` reads, one-line argument errors, feeds with every
mention read, one line per failed page, ``scrapy check`` contracts, the sandbox's index."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import DEMO_CONFIG, ROOT, local_site, runs_by_source

HOTEL = "harbor-sh-bund/hotel_reviews"
PYTHON_ENV = {"PYTHONPATH": str(ROOT)}  # vocwatch importable from any folder, as once installed


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("VOCWATCH_CONFIG", "VOCWATCH_STORE_URL",
                                                                 "SCRAPY_SETTINGS_MODULE")}
    full.update(PYTHON_ENV, **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def scrapy(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(["-m", "scrapy", *args], cwd, env)


def vocwatch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(["-m", "vocwatch", *args], cwd, env)


def feed(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def project(folder: Path, sandbox_url: str, store: str = "sqlite:///data/here.db") -> Path:
    """A project folder: the demo config with its store at ``store`` (relative to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("sqlite:///../../data/vocwatch-demo.db", store)
    text = text.replace("${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}", sandbox_url)
    (folder / "vocwatch.toml").write_text(text, encoding="utf-8")
    (folder / "competitors.csv").write_bytes((DEMO_CONFIG.parent / "competitors.csv").read_bytes())
    return folder / "vocwatch.toml"


# ------------------------------------------------------------------ 1. one store wherever you stand
def test_every_entry_point_uses_the_store_beside_the_config(sandbox: Any, tmp_path: Path) -> None:
    cfg = project(tmp_path / "proj", sandbox.base_url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = tmp_path / "proj" / "data" / "here.db"

    crawled = vocwatch("crawl", "-c", str(cfg), "--source", HOTEL, cwd=elsewhere)
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    assert db.exists() and not list(elsewhere.iterdir())  # nothing created where the command ran
    assert f"vocwatch: config {cfg}, store sqlite:///{db}" in crawled.stderr  # not the obvious one: said

    # scrapy crawl with -a config= from another folder: the same store, a second run
    scraped = vocwatch("scrapy", "crawl", "hotel_reviews", "-a", f"config={cfg}", "-a", f"source={HOTEL}", cwd=elsewhere)
    assert scraped.returncode == 0, scraped.stderr[-3000:]
    assert f"vocwatch: config {cfg}, store sqlite:///{db}" in scraped.stderr
    assert not list(elsewhere.iterdir())

    # in the project folder: the obvious store, nothing said
    listed = vocwatch("runs", cwd=tmp_path / "proj")
    assert listed.returncode == 0 and "vocwatch: config" not in listed.stderr
    assert [r.outcome for r in runs_by_source(f"sqlite:///{db}")[HOTEL]] == ["finished", "finished"]
    # relative --store and $VOCWATCH_STORE_URL are relative to where the command runs, and said
    other = vocwatch("runs", "-c", str(cfg), "--store", "sqlite:///other.db", cwd=elsewhere)
    assert other.returncode == 0 and f"store sqlite:///{elsewhere / 'other.db'}" in other.stderr


def test_scheduler_and_worker_commands_name_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl process the scheduler or a worker starts gets the config and the store as
    absolute paths, so its own folder cannot change which store it writes."""
    from config import load_config
    from crawlers.distributed.worker import Worker
    from monitor.scheduler import crawl_command

    project(tmp_path / "proj", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOCWATCH_STORE_URL", raising=False)
    config = load_config("proj/vocwatch.toml")
    assert config.path == tmp_path / "proj" / "vocwatch.toml"
    assert config.store_url == f"sqlite:///{tmp_path}/proj/data/here.db"
    path = str(tmp_path / "proj" / "vocwatch.toml")
    command = crawl_command(config, config.sources[HOTEL])
    assert command[command.index("-c") + 1] == path and command[command.index("--source") + 1] == HOTEL
    job = SimpleNamespace(source_id=HOTEL, id="j1")
    command = Worker.command(SimpleNamespace(config=config), job)  # type: ignore[arg-type]
    assert command[command.index("-c") + 1] == path and command[command.index("--source") + 1] == HOTEL


def test_find_config_order(tmp_path: Path) -> None:
    from config.locate import find_config

    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = config.settings\n[vocwatch]\nconfig = conf/x.toml\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_config(cwd=sub, environ={}) == tmp_path / "conf" / "x.toml"  # the nearest scrapy.cfg names it
    (sub / "vocwatch.toml").write_text("")
    assert find_config(cwd=sub, environ={}) == sub / "vocwatch.toml"  # one beside you wins
    assert find_config(cwd=sub, environ={"VOCWATCH_CONFIG": "../y.toml"}) == tmp_path / "a" / "y.toml"
    assert find_config("z.toml", cwd=sub, environ={"VOCWATCH_CONFIG": "y"}) == sub / "z.toml"


# ------------------------------------------------------------------ 2. scrapy crawl
def test_scrapy_crawl_from_the_repository_root_and_feeds_hold_every_mention(sandbox: Any, tmp_path: Path) -> None:
    """README's command works from the repository root (scrapy.cfg names the demo config);
    a second run's feed holds the mentions it read again, marked unchanged."""
    env = {"VOCWATCH_SANDBOX": sandbox.base_url}
    store = f"sqlite:///{tmp_path / 'root.db'}"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    for out in (first, second):
        proc = scrapy("crawl", "hotel_reviews", "-a", f"source={HOTEL}", "-s", f"VOCWATCH_STORE_URL={store}",
                      "-O", str(out), env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    truth = {t.external_id for t in sandbox.truth_for("/hotels/h1001/reviews") if t.valid}
    one = feed(first)
    assert {m["external_id"] for m in one} == truth and {m["crawl_status"] for m in one} == {"new"}
    two = feed(second)  # incremental: the first page again, every mention on it unchanged
    assert two and {m["crawl_status"] for m in two} == {"unchanged"} and {m["external_id"] for m in two} <= truth
    assert all(m["sentiment_label"] or not m["text"] for m in two)  # analysed like new ones
    runs = runs_by_source(store)[HOTEL]
    assert [r.outcome for r in runs] == ["finished", "finished"]
    last = runs[-1].stats
    assert last["vocwatch/dropped/already_stored"] == len(two) and last.get("vocwatch/store/inserted", 0) == 0
    assert last["vocwatch/balance/unaccounted"] == 0


def test_scrapy_crawl_in_a_folder_outside_the_repository(sandbox: Any, tmp_path: Path) -> None:
    """A folder with a vocwatch.toml: `vocwatch scrapy crawl` needs nothing else, and plain
    `scrapy crawl` works with the documented SCRAPY_SETTINGS_MODULE (or a two-line scrapy.cfg)."""
    cfg = project(tmp_path / "proj", sandbox.base_url)
    folder = cfg.parent
    by_vocwatch = vocwatch("scrapy", "crawl", "rss", "-a", "source=harbor-sh-bund/rss", "-O", "a.jsonl", cwd=folder)
    assert by_vocwatch.returncode == 0, by_vocwatch.stderr[-3000:]
    by_env = scrapy("crawl", "rss", "-a", "source=harbor-sh-bund/rss", "-O", "b.jsonl", cwd=folder,
                    env={"SCRAPY_SETTINGS_MODULE": "config.settings"})
    assert by_env.returncode == 0, by_env.stderr[-3000:]
    (folder / "scrapy.cfg").write_text("[settings]\ndefault = config.settings\n")
    by_cfg = scrapy("crawl", "rss", "-a", "source=harbor-sh-bund/rss", "-O", "c.jsonl", cwd=folder)
    assert by_cfg.returncode == 0, by_cfg.stderr[-3000:]
    posts = len(sandbox.truth_for("/feeds/shanghai-hotels.rss"))
    assert [len(feed(folder / f)) for f in ("a.jsonl", "b.jsonl", "c.jsonl")] == [posts] * 3
    assert [m["crawl_status"] for m in feed(folder / "c.jsonl")] == ["unchanged"] * posts
    assert len(runs_by_source(f"sqlite:///{folder / 'data' / 'here.db'}")["harbor-sh-bund/rss"]) == 3


def test_adhoc_url_reads_a_page_and_stores_nothing(sandbox: Any, tmp_path: Path) -> None:
    """`-a url=` with no config at all: the page and its next pages, into the feed only."""
    env = {"SCRAPY_SETTINGS_MODULE": "config.settings"}
    url = f"{sandbox.base_url}/hotels/h1002/reviews"
    proc = scrapy("crawl", "hotel_reviews", "-a", f"url={url}", "-O", "out.jsonl", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = feed(tmp_path / "out.jsonl")
    assert {m["external_id"] for m in got} == {t.external_id for t in sandbox.truth_for("/hotels/h1002/reviews") if t.valid}
    assert {m["location_id"] for m in got} == {"adhoc"} and {m["crawl_status"] for m in got} == {"new"}
    assert "nothing is stored" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no store file anywhere here
    # a site adapter by name, on a configured location of a config named by -a config=
    cfg = project(tmp_path / "proj", sandbox.base_url)
    rss = scrapy("crawl", "site", "-a", f"url={sandbox.base_url}/feeds/shanghai-hotels.rss", "-a", "site=rss",
                 "-a", f"config={cfg}", "-a", "location=harbor-sh-bund", "-O", "rss.jsonl", cwd=tmp_path, env=env)
    assert rss.returncode == 0, rss.stderr[-3000:]
    posts = feed(tmp_path / "rss.jsonl")
    assert len(posts) == len(sandbox.truth_for("/feeds/shanghai-hotels.rss"))
    assert {m["location_id"] for m in posts} == {"harbor-sh-bund"} and {m["brand"] for m in posts} == {"harbor"}
    assert not (tmp_path / "proj" / "data").exists()


@pytest.mark.parametrize(("args", "says"), [
    (["hotel_reviews", "-a", "source=harbor-sh-bund/hotel_reviewz"], "unknown source 'harbor-sh-bund/hotel_reviewz'"
                                                                     " in {demo} (did you mean 'harbor-sh-bund/hotel_reviews'?)"),
    (["hotel_reviews", "-a", "source=harbor-sh-bund/rss"], "source 'harbor-sh-bund/rss' is of kind 'rss'"),
    (["hotel_reviews", "-a", "sorce=x"], "unknown -a argument(s) sorce"),
    (["hotel_reviews"], "pass -a source=ID or -a url=URL"),
    (["hotel_reviews", "-a", f"source={HOTEL}", "-a", "since=yesterday"], "-a since='yesterday': expected an ISO date"),
    (["hotel_reviews", "-a", "url=ftp://x/y"], "-a url='ftp://x/y': expected an http(s) URL"),
    (["site", "-a", "url=http://127.0.0.1:9/x"], "site: no adapter knows the host of http://127.0.0.1:9/x"),
    (["site", "-a", "url=http://127.0.0.1:9/x", "-a", "site=nope"], "-a site='nope': no such site adapter"),
    (["hotel_reviews", "-a", "config=/nonexistent/vocwatch.toml"], "/nonexistent/vocwatch.toml: file not found"),
    (["nope"], "no such spider; spiders: forum, hotel_reviews"),
])
def test_bad_arguments_end_in_one_line(args: list[str], says: str) -> None:
    proc = scrapy("crawl", *args)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"scrapy crawl {args[0]}: ") and says.format(demo=DEMO_CONFIG) in last, last


# ------------------------------------------------------------------ 3. failed pages, one line each
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_failed_pages_are_one_line_each_and_tracebacks_only_at_debug(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/reviews"  # nothing listens: connection refused
    with local_site(lambda path: (404, "text/html", b"<html><body>gone</body></html>")) as (base, _):
        cfg = tmp_path / "vocwatch.toml"
        cfg.write_text(f"""
[store]
url = "sqlite:///data/v.db"
[crawl]
delay = 0
retries = 0
timeout = 5
[[brands]]
id = "b"
[[locations]]
id = "loc"
name = "L"
brand = "b"
category = "hotel"
lat = 31.0
lon = 121.0
region = "r"
role = "own"
[[sources]]
id = "gone"
location = "loc"
kind = "hotel_reviews"
url = "{base}/hotels/nope/reviews"
[[sources]]
id = "refused"
location = "loc"
kind = "hotel_reviews"
url = "{closed}"
""", encoding="utf-8")
        crawl = vocwatch("crawl", "--log-level", "INFO", "-q", cwd=tmp_path)
        assert crawl.returncode == 1, crawl.stderr[-3000:]
        gone = scrapy("crawl", "hotel_reviews", "-a", "source=gone", cwd=tmp_path,
                      env={"SCRAPY_SETTINGS_MODULE": "config.settings"})
        refused = scrapy("crawl", "hotel_reviews", "-a", "source=refused", cwd=tmp_path,
                         env={"SCRAPY_SETTINGS_MODULE": "config.settings"})
        debug = scrapy("crawl", "hotel_reviews", "-a", "source=refused", "-L", "DEBUG", cwd=tmp_path,
                       env={"SCRAPY_SETTINGS_MODULE": "config.settings"})
    lines_404 = f"failed page {base}/hotels/nope/reviews: HTTP 404 Not Found (page_http_404)"
    refused_line = f"failed page {closed}: Connection was refused by other side: 111: Connection refused (page_connection_refused)"
    for proc, wanted in ((crawl, (lines_404, refused_line)), (gone, (lines_404,)), (refused, (refused_line,))):
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        for line in wanted:
            assert sum(line in row for row in proc.stderr.splitlines()) == 1, proc.stderr[-3000:]
        errors = [row for row in proc.stderr.splitlines() if "] ERROR: " in row]
        assert len(errors) <= 2 * len(wanted), errors  # the page's line, and robots.txt's where it failed too
    assert "Traceback (most recent call last)" in debug.stderr  # at DEBUG the whole story


# ------------------------------------------------------------------ scrapy check
def test_scrapy_check_runs_the_contracts_against_the_sandbox(sandbox: Any) -> None:
    ok = scrapy("check", env={"VOCWATCH_SANDBOX": sandbox.base_url})
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "OK" in ok.stderr.splitlines()[-1]
    listed = scrapy("check", "-l")
    assert "hotel_reviews\n  * parse" in listed.stdout and "  * parse_thread" in listed.stdout
    for name in ("mall_comments", "weibo_feed", "rss", "forum"):
        assert f"{name}\n  * parse" in listed.stdout
    # the contracts can fail: a site that answers every page with an empty listing
    empty = b"<!DOCTYPE html><html><body><p>nothing here</p></body></html>"
    with local_site(lambda path: (200, "text/html; charset=utf-8", empty)) as (base, _):
        bad = scrapy("check", "hotel_reviews", env={"VOCWATCH_SANDBOX": base})
    assert bad.returncode != 0 and "FAILED" in bad.stderr


# ------------------------------------------------------------------ 5. the sandbox's index
@pytest.fixture
def served_sandbox() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "sandbox", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **PYTHON_ENV})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line, line + (proc.stderr.read() if proc.stderr else "")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_vocwatch_sandbox_serves_an_index_linking_every_site(served_sandbox: str) -> None:
    from html.parser import HTMLParser

    with urllib.request.urlopen(served_sandbox + "/", timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        page = resp.read().decode("utf-8")

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.hrefs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self.hrefs.append(dict(attrs)["href"] or "")

    parser = Links()
    parser.feed(page)
    from vocwatch.sandbox.locations import source_paths

    for path in source_paths():  # every seed the demo config crawls is linked
        assert quote(path, safe="/?=&:") in parser.hrefs, path
    deadline = time.monotonic() + 60
    for href in parser.hrefs:  # and every link answers
        assert time.monotonic() < deadline
        with urllib.request.urlopen(served_sandbox + href, timeout=10) as resp:
            assert resp.status == 200, href
    for name in ("Harbor Hotel Shanghai Bund", "Kopi Corner Hubin", "Bean &amp; Leaf Xintiandi"):
        assert name in page


def test_paths_in_a_config_are_relative_to_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.locate import resolve_store_url
    from monitor.dashboard.auth import default_tokens_path

    monkeypatch.delenv("VOCWATCH_TOKENS_FILE", raising=False)
    base = tmp_path / "proj"
    assert resolve_store_url("sqlite:///data/x.db", base) == f"sqlite:///{base}/data/x.db"
    assert resolve_store_url("data/x.db", base) == f"sqlite:///{base}/data/x.db"
    for unchanged in ("sqlite:////abs/x.db", "/abs/x.db", "sqlite:///:memory:", ":memory:", "mongodb://h/db"):
        assert resolve_store_url(unchanged, base) == unchanged
    # the dashboard's token file: beside a SQLite store, else data/ beside the config
    assert default_tokens_path(f"sqlite:///{base}/data/x.db", base) == base / "data" / "tokens.json"
    assert default_tokens_path("mongodb://h/db", base) == base / "data" / "tokens.json"
