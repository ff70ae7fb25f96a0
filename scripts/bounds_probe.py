"""Crawl bounds and outages measured with the real CLI against sites of our own on 127.0.0.1.

``million``: a product-comment API whose page 1 claims 1,000,000 pages (each answer takes
``--answer`` s). The crawl runs ``--run`` seconds; the crawl process's resident memory is
sampled, then it gets SIGINT (or ``--signal TERM``). Prints the peak memory, the pages
requested, how long the process took to exit after the signal and the run's outcome.

``outage``: a three-page API that answers 503 for its first ``--down`` seconds (its own
clock, from the first request) and then recovers. Prints how many of the 30 reviews were
stored, the retries made and the run's outcome.

Only config keys that exist on every version are used, so ``--code DIR`` can point at an
older checkout for a before/after comparison::

    .venv/bin/python scripts/bounds_probe.py million [--run 20] [--answer 0.2] [--delay 0]
    .venv/bin/python scripts/bounds_probe.py outage [--down 9]
    .venv/bin/python scripts/bounds_probe.py million --code /tmp/base   # the same on another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """
[store]
url = "sqlite:///{db}"

[crawl]
delay = {delay}
timeout = 10

[[brands]]
id = "b"

[[locations]]
id = "l"
name = "L"
brand = "b"
category = "hotel"
lat = 31.2
lon = 121.5
region = "r"
role = "own"

[[sources]]
id = "s"
location = "l"
kind = "mall_comments"
url = "{url}/api/comments"
"""


def body(page: int, max_page: int) -> bytes:
    comments = [{"id": page * 1000 + i, "content": f"page {page} review {i}", "nickname": f"u{i}", "score": 4,
                 "creationTime": "2026-11-20 10:00:00"} for i in range(10)]
    return json.dumps({"maxPage": max_page, "comments": comments}).encode()


def serve(answer: Callable[[int, float], tuple[int, bytes]]) -> tuple[ThreadingHTTPServer, list[int]]:
    hits: list[int] = []
    first: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/robots.txt":
                self.send_error(404)
                return
            page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
            hits.append(page)
            first.append(time.monotonic())
            status, data = answer(page, time.monotonic() - first[0])
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MiB (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def last_run(db: Path) -> tuple[str, dict[str, Any]]:
    if not db.exists():
        return "none", {}
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT outcome, stats FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], json.loads(row[1] or "{}")) if row else ("none", {})


def crawl(code: Path, cfg: Path, log: Path, flags: tuple[str, ...] = ("-q",)) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    return subprocess.Popen([sys.executable, "-m", "vocwatch", "crawl", "-c", str(cfg), *flags], cwd=code, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def million(args: argparse.Namespace, tmp: Path) -> None:
    server, hits = serve(lambda page, _: (time.sleep(args.answer), (200, body(page, 1_000_000)))[1])
    db = tmp / "p.db"
    cfg = tmp / "p.toml"
    cfg.write_text(CONFIG.format(db=db, delay=args.delay, url=f"http://127.0.0.1:{server.server_address[1]}"))
    proc = crawl(args.code, cfg, tmp / "crawl.log", ("--log-level", "INFO") if args.log else ("-q",))
    peak, end = 0.0, time.monotonic() + args.run
    while time.monotonic() < end and proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid))
        time.sleep(0.25)
    requested_at_signal = len(hits)
    sig = signal.SIGTERM if args.signal == "TERM" else signal.SIGINT
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=args.grace)
        took = f"{time.monotonic() - sent:.1f} s"
    except subprocess.TimeoutExpired:
        took = f"still running after {args.grace:g} s (killed)"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    server.shutdown()
    outcome, stats = last_run(db)
    print(f"million-page claim, {args.run:g} s then SIG{args.signal}: peak RSS {peak:.0f} MiB, "
          f"{requested_at_signal} pages requested at the signal, {len(hits)} at exit, exit {took}, "
          f"run {outcome}, pages read {stats.get('vocwatch/pages/read', '?')}, "
          f"stored {stats.get('vocwatch/store/inserted', '?')}")


def outage(args: argparse.Namespace, tmp: Path) -> None:
    def answer(page: int, since_first: float) -> tuple[int, bytes]:
        return (503, b"{}") if since_first < args.down else (200, body(page, 3))

    server, hits = serve(answer)
    db = tmp / "o.db"
    cfg = tmp / "o.toml"
    cfg.write_text(CONFIG.format(db=db, delay=args.delay, url=f"http://127.0.0.1:{server.server_address[1]}"))
    started = time.monotonic()
    proc = crawl(args.code, cfg, tmp / "crawl.log", ("--log-level", "INFO") if args.log else ("-q",))
    proc.wait()
    server.shutdown()
    outcome, stats = last_run(db)
    stored = stats.get("vocwatch/store/inserted", 0)
    print(f"{args.down:g} s outage (HTTP 503): {stored} of 30 reviews stored, {len(hits)} requests, "
          f"{stats.get('retry/count', 0)} retries, run {outcome}, crawl took {time.monotonic() - started:.1f} s, "
          f"drops {({k.removeprefix('vocwatch/dropped/'): v for k, v in stats.items() if k.startswith('vocwatch/dropped/')})}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("scenario", choices=["million", "outage"])
    p.add_argument("--code", type=Path, default=ROOT, help="checkout whose vocwatch is run (default: this one)")
    p.add_argument("--run", type=float, default=20.0, help="million: seconds before the signal")
    p.add_argument("--answer", type=float, default=0.2, help="million: seconds each answer takes")
    p.add_argument("--signal", choices=["INT", "TERM"], default="INT")
    p.add_argument("--grace", type=float, default=60.0, help="million: seconds to wait for the exit")
    p.add_argument("--down", type=float, default=9.0, help="outage: seconds the site answers 503")
    p.add_argument("--delay", type=float, default=0.0, help="[crawl] delay")
    p.add_argument("--log", action="store_true", help="print the crawl's log afterwards")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (million if args.scenario == "million" else outage)(args, Path(tmp))
        if args.log:
            print((Path(tmp) / "crawl.log").read_text(errors="replace"))


if __name__ == "__main__":
    main()
