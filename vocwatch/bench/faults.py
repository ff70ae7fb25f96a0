"""Fault probe: a site on 127.0.0.1 that misbehaves on purpose, crawled by the real CLI.

``python -m vocwatch.bench.faults`` (or ``vocwatch bench faults``) runs each fault of the
"trustworthy crawls" list against ``vocwatch crawl`` in fresh processes and prints what a
user would see: how many of the expected mentions are stored, run outcomes, exit codes,
memory, seconds to stop. It is self-contained on purpose (standard library only, reads
the SQLite store with ``sqlite3``, drives only ``vocwatch crawl`` / ``vocwatch check``),
so the same file also measures an older checkout: ``--repo PATH`` crawls with that tree.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[2]
PAGE_SIZE = 10

LOCATION = """
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

HTML_SELECTORS = """
[sources.selectors]
item = "article.review"
next_page = "a.next::attr(href)"

[sources.selectors.fields]
text = "p.body"
author = ".who::text"
date = "time::attr(datetime)"
rating = ".score::text"
external_id = "xpath:@data-id"
"""

Respond = Callable[[str, dict[str, list[str]], int], tuple[int, dict[str, str], bytes]]
"""``(path, query, hit number of this path) -> (status, headers, body)``."""


# -- the misbehaving site -------------------------------------------------------------
@contextmanager
def site(respond: Respond) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    counts: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/robots.txt":
                body = b"User-agent: *\nAllow: /\n"
                status, headers = 200, {"Content-Type": "text/plain"}
            else:
                with lock:
                    hits.append(self.path)
                    counts[self.path] = n = counts.get(self.path, 0) + 1
                status, headers, body = respond(parts.path, parse_qs(parts.query), n)
            self.send_response(status)
            headers = {"Content-Type": "text/html; charset=utf-8", **headers}
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(body)
            self.close_connection = True

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


def review_dates(n: int, now: datetime) -> list[datetime]:
    """``n`` review dates, newest first, weeks old: older than any incremental cut-off."""
    return [now - timedelta(days=14 + i) for i in range(n)]


def html_page(reviews: list[tuple[str, str, datetime]], next_url: str | None, charset: str = "utf-8") -> str:
    cards = "\n".join(
        f'<article class="review" data-id="{rid}"><span class="who">guest {rid}</span>'
        f'<time datetime="{when.isoformat()}">{when:%Y-%m-%d}</time><span class="score">4</span>'
        f'<p class="body">{text}</p></article>' for rid, text, when in reviews)
    nxt = f'<a class="next" href="{next_url}">next</a>' if next_url else ""
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>reviews</title></head>'
            f"<body><main>{cards}</main>{nxt}</body></html>")


def paged_reviews(total: int, now: datetime, prefix: str = "") -> Callable[[int], tuple[str, int]]:
    """``page -> (html, reviews on it)`` for ``total`` reviews, ten a page, rel-next paged."""
    dates = review_dates(total, now)
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE

    def render(page: int) -> tuple[str, int]:
        lo = (page - 1) * PAGE_SIZE
        rows = [(f"{prefix}{i + 1}", f"Review number {i + 1}{prefix}: the room was quiet and the staff kind.",
                 dates[i]) for i in range(lo, min(total, lo + PAGE_SIZE))]
        nxt = f"?page={page + 1}" if page < pages else None
        return html_page(rows, nxt), len(rows)

    return render


# -- running the CLI --------------------------------------------------------------------
class Probe:
    def __init__(self, repo: Path, workdir: Path, *, outage: float = 9.0, stop_after: float = 8.0,
                 stop_signal: int = signal.SIGINT) -> None:
        self.repo, self.workdir = repo, workdir
        self.outage, self.stop_after, self.stop_signal = outage, stop_after, stop_signal
        self.env = {**os.environ, "PYTHONPATH": str(repo), "VOCWATCH_NLP_WORKERS": "0"}
        self.env.pop("VOCWATCH_CONFIG", None)
        self.env.pop("VOCWATCH_STORE_URL", None)

    def config(self, name: str, sources: str, crawl: str = "") -> tuple[Path, Path]:
        db = self.workdir / f"{name}.db"
        path = self.workdir / f"{name}.toml"
        path.write_text(f'[store]\nurl = "sqlite:///{db}"\n\n[crawl]\ndelay = 0\ntimeout = 5\n{crawl}\n'
                        + LOCATION + sources, encoding="utf-8")
        return path, db

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "vocwatch", *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cmd(*args), cwd=self.repo, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def crawl(self, config: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run("crawl", "-c", str(config), "--quiet", timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.cmd(*args), cwd=self.repo, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)


def q(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def stored(db: Path) -> int:
    return q(db, "SELECT count(*) FROM mentions")[0][0] if db.exists() else 0


def outcomes(db: Path) -> list[str]:
    return [r[0] for r in q(db, "SELECT outcome FROM crawl_runs ORDER BY id")]


def selectors_source(sid: str, url: str, extra: str = "") -> str:
    return (f'\n[[sources]]\nid = "{sid}"\nlocation = "harbor-sh-bund"\nkind = "selectors"\nurl = "{url}"\n{extra}'
            + HTML_SELECTORS)


# -- the faults -----------------------------------------------------------------------
def broken_first_page(p: Probe, name: str, broken: Callable[[str, int], tuple[int, dict[str, str], bytes]],
                      after_first: Callable[[Path], dict[str, Any]] | None = None) -> dict[str, Any]:
    """33 reviews on 4 pages; on the first crawl page 1 is broken, then the site recovers;
    three crawls. A run that trusted the broken page moves the cut-off and loses the rest."""
    now = datetime.now(UTC)
    render = paged_reviews(33, now)
    state = {"crawl": 0}

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        page = int(query.get("page", ["1"])[0])
        html, _ = render(page)
        if page == 1 and state["crawl"] == 1:
            return broken(html, n)
        return 200, {}, html.encode()

    codes, first = [], {}
    with site(respond) as (base, _):
        cfg, db = p.config(name, selectors_source("probe", f"{base}/reviews?page=1"))
        for crawl in (1, 2, 3):
            state["crawl"] = crawl
            codes.append(p.crawl(cfg).returncode)
            if crawl == 1 and after_first is not None:
                first = after_first(db)
    return {"stored": f"{stored(db)}/33", "outcomes": outcomes(db), "exit codes": codes, **first}


def fault_empty_first_page(p: Probe) -> dict[str, Any]:
    return broken_first_page(p, "empty", lambda html, n: (200, {}, b""))


def fault_truncated_first_page(p: Probe) -> dict[str, Any]:
    # cut mid-document, inside the fourth review's text; Content-Length matches what is sent
    def cut(html: str, n: int) -> tuple[int, dict[str, str], bytes]:
        body = html.encode()
        at = body.index(b"Review number 4") + 20
        return 200, {}, body[:at]

    def cut_texts(db: Path) -> dict[str, Any]:
        short = q(db, "SELECT count(*) FROM mentions WHERE text NOT LIKE '%staff kind.'")
        return {"cut-off texts stored by crawl 1": short[0][0] if short else 0}

    return broken_first_page(p, "truncated", cut, cut_texts)


def fault_redirect_loop(p: Probe) -> dict[str, Any]:
    return broken_first_page(p, "redirect", lambda html, n: (302, {"Location": "/reviews?page=1"}, b""))


def fault_two_sources_one_host(p: Probe) -> dict[str, Any]:
    """Two sources on one host, each numbering its five reviews 1..5."""
    now = datetime.now(UTC)

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        which = path.strip("/").split("/")[0]
        rows = [(str(i), f"{which} review {i}: breakfast was fine.", now - timedelta(days=i)) for i in range(1, 6)]
        return 200, {}, html_page(rows, None).encode()

    with site(respond) as (base, _):
        cfg, db = p.config("twohosts", selectors_source("hotel-a", f"{base}/a/reviews")
                           + selectors_source("hotel-b", f"{base}/b/reviews"))
        code = p.crawl(cfg).returncode
    right = q(db, "SELECT count(*) FROM mentions WHERE (source_id LIKE '%hotel-a' AND text LIKE 'a %') "
                  "OR (source_id LIKE '%hotel-b' AND text LIKE 'b %')")
    return {"rows": f"{stored(db)}/10", "rows whose text is their source's": right[0][0] if right else 0,
            "exit code": code}


def fault_bad_fields(p: Probe) -> dict[str, Any]:
    """A product-comment API page of 10 where one nickname is a dict and one date a list."""
    now = datetime.now(UTC)

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        comments = []
        for i in range(1, 11):
            c: dict[str, Any] = {"id": i, "content": f"商品{i}号很好，物流也快。", "nickname": f"buyer{i}", "score": 5,
                                 "creationTime": (now - timedelta(days=i)).strftime("%Y-%m-%d %H:%M:%S")}
            if i == 3:
                c["nickname"] = {"name": "buyer3", "level": 2}
            if i == 6:
                c["creationTime"] = ["2026", "11", "20"]
            comments.append(c)
        body = json.dumps({"maxPage": 1, "comments": comments}, ensure_ascii=False).encode()
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    with site(respond) as (base, _):
        src = f'\n[[sources]]\nid = "mall"\nlocation = "harbor-sh-bund"\nkind = "mall_comments"\nurl = "{base}/comments"\n'
        cfg, db = p.config("badfields", src)
        proc = p.crawl(cfg)
    return {"stored": f"{stored(db)}/10", "outcomes": outcomes(db), "exit code": proc.returncode}


def fault_million_pages(p: Probe) -> dict[str, Any]:
    """A page that claims 1,000,000 pages; SIGINT (``--signal``) after 8 s (``--stop-after``)."""
    now = datetime.now(UTC)

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        page = int(query.get("page", ["1"])[0])
        comments = [{"id": page * 100 + i, "content": f"第{page}页第{i}条评论，质量不错。", "nickname": f"u{i}", "score": 4,
                     "creationTime": (now - timedelta(minutes=page * 10 + i)).strftime("%Y-%m-%d %H:%M:%S")}
                    for i in range(10)]
        time.sleep(0.05)
        body = json.dumps({"maxPage": 1_000_000, "comments": comments}, ensure_ascii=False).encode()
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    with site(respond) as (base, hits):
        src = f'\n[[sources]]\nid = "mall"\nlocation = "harbor-sh-bund"\nkind = "mall_comments"\nurl = "{base}/comments"\n'
        cfg, db = p.config("million", src)
        proc = p.popen("crawl", "-c", str(cfg), "--quiet")
        peak = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < p.stop_after and proc.poll() is None:
            peak = max(peak, rss_mb(proc.pid))
            time.sleep(0.2)
        proc.send_signal(p.stop_signal)
        t1 = time.monotonic()
        stopped = None
        while time.monotonic() - t1 < 30:
            peak = max(peak, rss_mb(proc.pid))
            if proc.poll() is not None:
                stopped = time.monotonic() - t1
                break
            time.sleep(0.2)
        if stopped is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.communicate()
        requested = len(hits)
    sig = signal.Signals(p.stop_signal).name
    return {f"peak RSS MB ({p.stop_after:g} s)": round(peak), "pages requested": requested,
            f"stop after {sig}": f"{stopped:.1f} s" if stopped is not None else "not within 30 s (killed)",
            "outcomes": outcomes(db), "exit code": proc.returncode}


def rss_mb(pid: int) -> int:
    """Resident memory of a process and its children, MB (from /proc)."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total // 1024


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def fault_all_sources_fail(p: Probe) -> dict[str, Any]:
    src = (selectors_source("dead-a", "http://127.0.0.1:9/reviews") + selectors_source("dead-b", "http://127.0.0.1:9/x"))
    cfg, db = p.config("allfail", src, crawl="retries = 1")
    proc = p.crawl(cfg)
    return {"exit code": proc.returncode, "outcomes": outcomes(db),
            "traceback in output": "Traceback" in proc.stdout + proc.stderr}


def fault_outage(p: Probe) -> dict[str, Any]:
    """The site answers 503 for 9 s (``--outage``) from the crawl's first request, then recovers."""
    now = datetime.now(UTC)
    render = paged_reviews(20, now)
    first: list[float] = []

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        if not first:
            first.append(time.monotonic())
        if time.monotonic() - first[0] < p.outage:
            return 503, {}, b"<html><body>down for maintenance</body></html>"
        return 200, {}, render(int(query.get("page", ["1"])[0]))[0].encode()

    with site(respond) as (base, hits):
        cfg, db = p.config("outage", selectors_source("probe", f"{base}/reviews?page=1"))
        t0 = time.monotonic()
        proc = p.crawl(cfg)
        took = time.monotonic() - t0
    return {"stored": f"{stored(db)}/20", "requests": len(hits), "took": f"{took:.0f} s",
            "outcomes": outcomes(db), "exit code": proc.returncode}


def fault_kill9(p: Probe) -> dict[str, Any]:
    """kill -9 a crawl mid-way (analysis worker on), then crawl again."""
    now = datetime.now(UTC)
    render = paged_reviews(60, now)

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.3)
        return 200, {}, render(int(query.get("page", ["1"])[0]))[0].encode()

    with site(respond) as (base, _hits):
        cfg, db = p.config("kill9", selectors_source("probe", f"{base}/reviews?page=1"))
        env = {**p.env, "VOCWATCH_NLP_WORKERS": "1"}
        proc = subprocess.Popen(p.cmd("crawl", "-c", str(cfg), "--quiet"), cwd=p.repo, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=False)
        t0 = time.monotonic()
        workers: list[int] = []
        while time.monotonic() - t0 < 60 and not (stored(db) and workers):
            workers = children(proc.pid)
            time.sleep(0.2)
        workers = children(proc.pid)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(w) for w in workers):
            time.sleep(0.2)
        orphans = [w for w in workers if alive(w)]
        for w in orphans:
            os.kill(w, signal.SIGKILL)
        before = stored(db)
        code = p.crawl(cfg).returncode
    return {"orphaned workers 10 s after kill -9": len(orphans), "outcomes": outcomes(db),
            "stored before/after recrawl": f"{before}/{stored(db)} of 60", "exit code": code}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def fault_redesign(p: Probe) -> dict[str, Any]:
    """The site renames its markup between two runs: the selector matches nothing."""
    now = datetime.now(UTC)
    render = paged_reviews(10, now)
    state = {"crawl": 0}

    def respond(path: str, query: dict[str, list[str]], n: int) -> tuple[int, dict[str, str], bytes]:
        html = render(1)[0]
        if state["crawl"] == 2:
            html = html.replace('class="review"', 'class="rv-card"').replace('class="body"', 'class="rv-text"')
        return 200, {}, html.encode()

    with site(respond) as (base, _):
        cfg, db = p.config("redesign", selectors_source("probe", f"{base}/reviews"))
        procs = []
        for crawl in (1, 2):
            state["crawl"] = crawl
            procs.append(p.crawl(cfg))
    out = procs[1].stdout + procs[1].stderr
    return {"run 2 outcome": (outcomes(db) or ["-"])[-1], "run 2 exit code": procs[1].returncode,
            "run 2 says 'health'/'lost'": any(w in out.lower() for w in ("health", "lost", "stopped yielding"))}


def fault_gbk(p: Probe) -> dict[str, Any]:
    """A GBK page whose header says utf-8, or latin-1."""
    now = datetime.now(UTC)
    text = "房间很干净，服务热情，早餐丰富。"
    rows = [("1", text, now - timedelta(days=20))]
    body = html_page(rows, None, charset="gbk").encode("gbk")
    got = {}
    for header in ("utf-8", "iso-8859-1"):
        def respond(path: str, query: dict[str, list[str]], n: int, header: str = header) -> tuple[int, dict[str, str], bytes]:
            return 200, {"Content-Type": f"text/html; charset={header}"}, body

        with site(respond) as (base, _):
            cfg, db = p.config(f"gbk-{header}", selectors_source("probe", f"{base}/reviews"))
            p.crawl(cfg)
        rows_ = q(db, "SELECT text FROM mentions")
        got[header] = ("right" if rows_ and rows_[0][0] == text else "mojibake" if rows_ else "none stored") + \
            f", {(outcomes(db) or ['-'])[-1]}"
    return {f"header {k}": v for k, v in got.items()}


def fault_check_password(p: Probe) -> dict[str, Any]:
    cfg, _ = p.config("check", selectors_source("probe", "http://127.0.0.1:9/r"))
    proc = p.run("check", "-c", str(cfg), "--store", "mongodb://vw:s3cretpw@127.0.0.1:9/vocwatch")
    return {"password printed": "s3cretpw" in proc.stdout + proc.stderr, "exit code": proc.returncode}


def fault_unrouted_critical(p: Probe) -> dict[str, Any]:
    cfg, _ = p.config("unrouted", selectors_source("probe", "http://127.0.0.1:9/r"))
    proc = p.run("check", "-c", str(cfg))
    out = (proc.stdout + proc.stderr).lower()
    return {"check warns of critical alerts with no route": "route" in out and ("no route" in out or "nobody" in out
                                                                                or "warning" in out)}


FAULTS: dict[str, Callable[[Probe], dict[str, Any]]] = {
    "empty first page (200, 0 bytes), 3 crawls": fault_empty_first_page,
    "truncated first page, 3 crawls": fault_truncated_first_page,
    "redirect loop on first page, 3 crawls": fault_redirect_loop,
    "dict nickname + list date in a batch of 10": fault_bad_fields,
    "two sources on one host, ids 1..5 each": fault_two_sources_one_host,
    "page claims 1,000,000 pages, then a stop signal": fault_million_pages,
    "every source fails": fault_all_sources_fail,
    "outage (503 for --outage s)": fault_outage,
    "kill -9 mid-crawl, then crawl again": fault_kill9,
    "markup redesign between two runs": fault_redesign,
    "GBK page, wrong charset header": fault_gbk,
    "vocwatch check with a store password": fault_check_password,
    "critical alerts with no route": fault_unrouted_critical,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vocwatch bench faults", description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=REPO, help="checkout whose `vocwatch crawl` is probed")
    ap.add_argument("--only", action="append", default=[], help="run faults whose name contains this")
    ap.add_argument("--json", action="store_true", help="one JSON object per fault")
    ap.add_argument("--outage", type=float, default=9.0, help="seconds the outage fault's site answers 503")
    ap.add_argument("--stop-after", type=float, default=8.0, help="seconds before the million-page crawl is signalled")
    ap.add_argument("--signal", choices=["INT", "TERM"], default="INT", help="signal that stops the million-page crawl")
    args = ap.parse_args(argv)
    chosen = {k: f for k, f in FAULTS.items() if not args.only or any(o in k for o in args.only)}
    with tempfile.TemporaryDirectory(prefix="vocwatch-faults-") as tmp:
        probe = Probe(args.repo.resolve(), Path(tmp), outage=args.outage, stop_after=args.stop_after,
                      stop_signal=getattr(signal, f"SIG{args.signal}"))
        if not args.json:
            print(f"fault probe of {probe.repo} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
            print("| fault | result |\n|---|---|")
        for name, fn in chosen.items():
            t0 = time.monotonic()
            try:
                result = fn(probe)
            except Exception as exc:  # the probe reports, it does not stop
                result = {"probe error": f"{type(exc).__name__}: {exc}"}
            if args.json:
                print(json.dumps({"fault": name, **result, "seconds": round(time.monotonic() - t0, 1)}), flush=True)
            else:
                cells = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                  for k, v in result.items())
                print(f"| {name} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
