"""Shared fixtures: the sandbox sites on 127.0.0.1, small local sites, one own location for
small configs, and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo" / "vocwatch.toml"
SHARED = ROOT.parent / "shared"

ONE_HOTEL = """
[[brands]]
id = "harbor"

[[locations]]
id = "harbor-sh-bund"
name = "Harbor"
brand = "harbor"
category = "hotel"
lat = 31.2397
lon = 121.4905
region = "shanghai"
role = "own"
"""
"""One own hotel location (``harbor-sh-bund``) for configs that only need somewhere to put sources."""


def crawl_head(*, delay: object = 0, timeout: object = 5, retries: object = 0, extra: str = "") -> str:
    """The head of a test config: a SQLite store at ``{db}`` (left as a ``str.format`` field)
    and a ``[crawl]`` table for local sites (no delay, a short timeout, no retries unless
    asked), then ``extra`` lines of ``[crawl]``. A value may itself be a format field
    (``timeout="{timeout}"``); ``timeout=None`` leaves the config's default."""
    lines = [f"delay = {delay}", *([f"timeout = {timeout}"] if timeout is not None else []), f"retries = {retries}"]
    return '\n[store]\nurl = "sqlite:///{db}"\n\n[crawl]\n' + "\n".join(lines) + f"\n{extra}\n"


def runs_by_source(url: str) -> dict[str, list[Any]]:
    """Every crawl run in the store at ``url``, oldest first, by source id."""
    from crawlers.store import open_store

    store = open_store(url)
    try:
        out: dict[str, list[Any]] = {}
        for run in reversed(store.list_runs(limit=1000)):
            out.setdefault(run.source_id, []).append(run)
        return out
    finally:
        store.close()


@contextmanager
def local_site(respond: Callable[[str], tuple[int, str, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``respond(path) -> (status, content type, body)`` over real HTTP on 127.0.0.1;
    yields the base URL and the list of paths requested, in order."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            status, ctype, body = respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    from vocwatch.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


def run_vocwatch(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vocwatch ARGS`` in a fresh process (a fresh Twisted reactor)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vocwatch", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real pages/datasets are not checked out beside the repo")
    return path


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real ``redis-server`` for the session (``tests/redis_server.py``). Tests that
    stop or restart Redis start their own :class:`~tests.redis_server.RedisServer` instead."""
    from tests.redis_server import RedisServer, require_redis_server

    require_redis_server()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: Any) -> str:
    """The session Redis, emptied for this test: ``redis://127.0.0.1:<port>/0``."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


# -- one contract, both backends: SQLite for real, MongoDB through mongomock, and a real
# MongoDB server as well whenever VOCWATCH_TEST_MONGO_URL names one ------------------------
STORE_BACKENDS = ["sqlite", "mongomock"] + (["mongodb"] if os.environ.get("VOCWATCH_TEST_MONGO_URL") else [])


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The same test on every store backend: SQLite for real, MongoDB through mongomock, and a
    real MongoDB server too whenever ``VOCWATCH_TEST_MONGO_URL`` names one. The contract suite
    of every store table (``tests/test_store*.py``) takes this fixture."""
    from crawlers.store import open_store

    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/v.db")
    elif request.param == "mongomock":
        import mongomock
        import pymongo

        monkeypatch.setattr(pymongo, "MongoClient", mongomock.MongoClient)
        # mongomock 4.3 predates pymongo 4.11's UpdateOne(sort=...): accept and ignore it
        add_update = mongomock.collection.BulkOperationBuilder.add_update
        monkeypatch.setattr(mongomock.collection.BulkOperationBuilder, "add_update",
                            lambda self, *a, sort=None, **kw: add_update(self, *a, **kw))
        s = open_store("mongodb://127.0.0.1:27017/vocwatch")
    else:  # a real server: a database of its own per test, dropped afterwards
        import pymongo

        base = os.environ["VOCWATCH_TEST_MONGO_URL"].rstrip("/")
        name = f"vocwatch_test_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
        s = open_store(f"{base}/{name}")
    yield s
    if request.param == "mongodb":
        client = pymongo.MongoClient(os.environ["VOCWATCH_TEST_MONGO_URL"])
        client.drop_database(name)
        client.close()
    s.close()
