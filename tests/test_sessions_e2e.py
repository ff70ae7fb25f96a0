"""Sessions end to end, for real on 127.0.0.1: a review site that demands a session cookie,
serves a login wall when the cookie is missing or its session has expired, and bans an
account (a 403, or a captcha page) after a number of requests. ``vocwatch crawl`` runs in
a fresh process each time, with accounts in all three secret formats (a ``.cookie`` header
string, a Netscape ``.txt``, a Playwright ``.json``) and one from the environment.

Checked: the crawl finishes through account rotation with every review stored once; the
expired account becomes the ``session_expired`` health finding and the cooled ones are
persisted in the store; when every account is banned the run stops partial with the page
it stopped at kept, and the next run starts from that page and completes; no cookie value
appears in the crawl's stderr, its run record, its findings or ``vocwatch sessions status``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.store import open_store
from tests.conftest import ONE_HOTEL, ROOT, crawl_head, run_vocwatch, runs_by_source
from tests.evidence_site import PAGE_SIZE, Review, now, page_html, reviews_for

HOTEL = "h"
REVIEWS: list[Review] = reviews_for("h", now()) + reviews_for("k", now())  # 66 reviews: 7 pages
PAGES = -(-len(REVIEWS) // PAGE_SIZE)
LOGIN = b"<!DOCTYPE html><html><head><title>Log in</title></head><body><form>...</form></body></html>"
CAPTCHA = b"<!DOCTYPE html><html><head><title>\xe5\xae\x89\xe5\x85\xa8\xe9\xaa\x8c\xe8\xaf\x81</title></head><body></body></html>"


@dataclass
class Rule:
    """What the site does to one session: expire it (a login wall) or ban it (``ban``: a
    ``403`` or a ``captcha`` page) once it has made ``after`` good requests."""

    after: int = 10**6
    then: str = "ok"


@dataclass
class SessionSite:
    sessions: dict[str, Rule]
    """Session cookie value -> what the site does to it."""
    base_url: str = ""
    served: dict[str, int] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)
    """(path, session or "-") of every request but robots.txt, in order."""
    proxy_bans: dict[str, int] = field(default_factory=dict)
    """Proxy id (tinyproxy's ``X-Proxy-Id``) -> answered 403 after this many requests through it."""
    via: list[str] = field(default_factory=list)
    """The proxy id of every request but robots.txt ("-" direct)."""

    def respond(self, path: str, cookie: str, proxy: str = "") -> tuple[int, dict[str, str], bytes]:
        if path == "/robots.txt":
            return 404, {"Content-Type": "text/plain"}, b""
        if path.startswith("/login"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN
        sid = dict(p.strip().partition("=")[::2] for p in cookie.split(";") if "=" in p).get("sid", "")
        self.hits.append((path, sid or "-"))
        self.via.append(proxy or "-")
        if proxy in self.proxy_bans and self.via.count(proxy) > self.proxy_bans[proxy]:
            return 403, {"Content-Type": "text/plain"}, b"Forbidden"  # this IP is banned, whoever is logged in
        rule = self.sessions.get(sid)
        wall = {"Location": f"{self.base_url}/login?next={path}"}
        if rule is None:
            return 302, wall, b""
        n = self.served.get(sid, 0)
        if n >= rule.after and rule.then != "ok":
            if rule.then == "expire":
                return 302, wall, b""
            if rule.then == "403":
                return 403, {"Content-Type": "text/plain"}, b"Forbidden"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, CAPTCHA
        self.served[sid] = n + 1
        page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page_html(HOTEL, REVIEWS, page).encode()


@contextmanager
def session_site(sessions: dict[str, Rule]) -> Iterator[SessionSite]:
    site = SessionSite(sessions)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path)._replace(scheme="", netloc="").geturl() or "/"  # absolute through a proxy
            status, headers, body = site.respond(path, self.headers.get("Cookie", ""), self.headers.get("X-Proxy-Id", ""))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


SECRET = {n: f"sess{n}Zq8v{n * 7}Xk2p{n * 13}" for n in range(1, 5)}
"""The session cookie values (what must never be printed)."""

CONFIG = crawl_head(extra="obey_robots = false") + ONE_HOTEL + """
[[sources]]
id = "h-reviews"
location = "harbor-sh-bund"
kind = "hotel_reviews"
site = "sandboxhotel"
url = "{base}/h/reviews"

[sessions.sandboxhotel]
required = true
cooldown_minutes = {cooldown}
"""


CRAWL = """
import json, sys
from config import load_config
from config.redact import install_log_scrubbing
from crawlers.runner import crawl_sources
install_log_scrubbing()
(r,) = crawl_sources(load_config(sys.argv[1]), settings={"VOCWATCH_BLOCK_BACKOFF": 0.1, "LOG_LEVEL": "INFO"})
print(r.outcome)
"""


def crawl_fast_backoff(cfg: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A crawl as ``vocwatch crawl`` runs it, with the block back-off at 0.1 s (a setting, not a flag)."""
    return subprocess.run([sys.executable, "-c", CRAWL, str(cfg)], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=180)


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_secret(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)


def setup(tmp_path: Path, base: str, cooldown: float, accounts: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """Config and secrets: ``accounts`` maps account name -> format (cookie, txt, json, env)."""
    cfg = tmp_path / "vocwatch.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "v.db", base=base, cooldown=cooldown), encoding="utf-8")
    secrets = private_dir(tmp_path / "secrets")
    folder = private_dir(private_dir(secrets / "sessions") / "sandboxhotel")
    env = {"VOCWATCH_SECRETS_DIR": str(secrets)}
    for i, (name, kind) in enumerate(accounts.items(), start=1):
        value = SECRET[i]
        if kind == "cookie":
            write_secret(folder / f"{name}.cookie", f"lang=en; sid={value}; theme=dark\n")
        elif kind == "txt":
            write_secret(folder / f"{name}.txt", "# Netscape HTTP Cookie File\n"
                         f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t{value}\n"
                         "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tcsrf\tAbc123456789\n")
        elif kind == "json":
            write_secret(folder / f"{name}.json", json.dumps({"cookies": [
                {"name": "sid", "value": value, "domain": "127.0.0.1", "path": "/", "expires": -1,
                 "httpOnly": True, "secure": False, "sameSite": "Lax"}], "origins": []}))
        else:
            env[f"VOCWATCH_SESSION_SANDBOXHOTEL_{name.upper()}"] = f"sid={value}"
    return cfg, env


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for value in SECRET.values():
            assert value not in text


def stored_ids(tmp_path: Path) -> list[str]:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    try:
        return sorted(m.external_id or "" for m in store.iter_mentions())
    finally:
        store.close()


def account_states(tmp_path: Path) -> dict[str, tuple[str, str]]:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    try:
        return {s.name: (s.state, s.reason) for s in store.identities.list(kind="account", site="sandboxhotel")}
    finally:
        store.close()


def findings(tmp_path: Path, run_id: int) -> list[Any]:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    try:
        return store.list_health(run_id=run_id)
    finally:
        store.close()


def test_crawl_survives_two_bans_and_an_expired_session(tmp_path: Path) -> None:
    """acc1 (.cookie) expires after 2 pages, acc2 (.txt) gets a 403 after 2, acc3 (.json) a
    captcha page after 1; acc4 (env) reads the rest: 7 pages, 66 reviews, each stored once."""
    rules = {SECRET[1]: Rule(2, "expire"), SECRET[2]: Rule(2, "403"), SECRET[3]: Rule(1, "captcha"),
             SECRET[4]: Rule()}
    with session_site(rules) as site:
        cfg, env = setup(tmp_path, site.base_url, 60,
                         {"acc1": "cookie", "acc2": "txt", "acc3": "json", "acc4": "env"})
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--log-level", "INFO", env=env)
        status = run_vocwatch("sessions", "status", "-c", str(cfg), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_by_source(f"sqlite:///{tmp_path}/v.db")["h-reviews"]
    assert run.outcome == "finished", run.stats
    assert stored_ids(tmp_path) == sorted(r.rid for r in REVIEWS)
    s = run.stats
    assert s["vocwatch/store/inserted"] == len(REVIEWS) and s["vocwatch/pages/read"] == PAGES
    assert s["vocwatch/balance/unaccounted"] == 0 if "vocwatch/balance/unaccounted" in s else True
    assert s["vocwatch/account/expired"] == 1 and s["vocwatch/account/cooled"] == 2
    assert s["vocwatch/account/rescheduled"] == 3
    assert not any(k.startswith("vocwatch/dropped/") for k in s)
    # who read what: the site saw each account in turn, the walled/banned page asked again
    sessions_seen = [sid for _, sid in site.hits]
    assert sessions_seen == [SECRET[1]] * 3 + [SECRET[2]] * 3 + [SECRET[3]] * 2 + [SECRET[4]] * 2
    assert account_states(tmp_path) == {"acc1": ("expired", "login_wall"), "acc2": ("cooling", "http_403"),
                                        "acc3": ("cooling", "captcha"), "acc4": ("ok", "")}
    problems = {f.problem: f for f in findings(tmp_path, run.id)}
    assert "sandboxhotel account acc1 needs a new login" in problems["session_expired"].message
    assert problems["session_expired"].severity == "warning"
    assert status.returncode == 0, status.stderr
    lines = {line.split()[1]: line.split() for line in status.stdout.splitlines()[1:]}
    assert lines["acc1"][2] == "expired" and lines["acc2"][2] == "cooling" and lines["acc4"][2] == "ok"
    assert lines["acc4"][-1] == "$VOCWATCH_SESSION_SANDBOXHOTEL_ACC4"
    no_secret_in(proc.stderr, proc.stdout, json.dumps(run.stats, default=str), status.stdout, status.stderr,
                 *(f.message + json.dumps(f.details) for f in problems.values()))
    assert "sandboxhotel account acc1 met a login wall" in proc.stderr  # the logs say what happened, by name


def test_all_accounts_banned_stops_partial_and_the_next_run_resumes(tmp_path: Path) -> None:
    """Both accounts get a captcha page after 2 pages each: run 1 reads 4 pages, stops at page
    5 (kept, ``page_no_account``), partial. After the cool-down the site lets them in again:
    run 2 asks for page 5 first, reads to the end and re-reads 1-4 from the seed (the cut-off
    did not move); every review is stored once."""
    rules = {SECRET[1]: Rule(2, "captcha"), SECRET[2]: Rule(2, "captcha")}
    cooldown_min = 0.05  # 3 s
    with session_site(rules) as site:
        cfg, env = setup(tmp_path, site.base_url, cooldown_min, {"acc1": "env", "acc2": "cookie"})
        first = crawl_fast_backoff(cfg, env)
        hits_first = list(site.hits)
        for rule in rules.values():
            rule.then = "ok"  # the ban is lifted
        time.sleep(cooldown_min * 60 + 0.5)
        site.hits.clear()
        second = run_vocwatch("crawl", "-c", str(cfg), "-q", env=env)
    runs = runs_by_source(f"sqlite:///{tmp_path}/v.db")["h-reviews"]
    assert len(runs) == 2, first.stderr[-3000:]
    r1, r2 = runs
    assert r1.outcome == "partial", r1.stats
    assert r1.stats["vocwatch/pages/read"] == 4 and r1.stats["vocwatch/dropped/page_no_account"] == 1
    assert [e["url"] for e in r1.stats["vocwatch/failed_requests"]] == [f"{site.base_url}/h/reviews?page=5"]
    assert r1.stats["vocwatch/store/inserted"] == 4 * PAGE_SIZE
    assert r1.stats["vocwatch/account/none_left"] >= 1
    assert len(hits_first) == 6  # 4 pages read + page 5 refused to each account; nothing after
    assert {f.problem for f in findings(tmp_path, r1.id)} >= {"sessions_exhausted"}
    assert r2.outcome == "finished", (r2.stats, second.stderr[-3000:])
    assert r2.stats["vocwatch/retried_from_last_run"] == 1
    assert site.hits[0][0] == "/h/reviews?page=5"  # it resumed where it stopped
    assert stored_ids(tmp_path) == sorted(r.rid for r in REVIEWS)
    assert r2.stats["vocwatch/store/inserted"] == len(REVIEWS) - 4 * PAGE_SIZE
    no_secret_in(first.stderr, second.stderr, json.dumps(r1.stats, default=str), json.dumps(r2.stats, default=str))


def test_required_site_without_a_usable_account_reads_nothing(tmp_path: Path) -> None:
    """``required = true`` and the only account expired in the store: no page is requested,
    the run says why and the finding names the account."""
    with session_site({SECRET[1]: Rule(0, "expire")}) as site:
        cfg, env = setup(tmp_path, site.base_url, 60, {"acc1": "env"})
        run_vocwatch("crawl", "-c", str(cfg), "-q", env=env)
        assert len(site.hits) == 1  # the login wall
        site.hits.clear()
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", env=env)
        assert site.hits == []
        status = run_vocwatch("sessions", "status", "-c", str(cfg), env=env)
    last = runs_by_source(f"sqlite:///{tmp_path}/v.db")["h-reviews"][-1]
    assert last.stats["vocwatch/account/none_usable"] == 1 and last.outcome in ("failed", "partial")
    assert [e["reason"] for e in last.stats["vocwatch/failed_requests"]] == ["page_no_account"], last.stats
    problems = {f.problem: f for f in findings(tmp_path, last.id)}
    assert "acc1 needs a new login" in problems["session_expired"].message
    assert problems["session_expired"].severity == "critical"
    assert status.returncode == 1  # a required site with no usable account
    no_secret_in(proc.stderr, status.stdout)


@pytest.fixture(autouse=True)
def _no_ambient_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VOCWATCH_SESSION_") or key == "VOCWATCH_SECRETS_DIR":
            monkeypatch.delenv(key)


CHROMIUM = "/usr/bin/chromium"


def _browser_missing() -> str | None:
    from crawlers.render import browser_problem

    return browser_problem(CHROMIUM)


@pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))
def test_rendered_pages_carry_the_same_account(tmp_path: Path) -> None:
    """``render = "browser"``: the account's storage_state (acc1, ``.json``) is the Chromium
    context's; at its login wall the next account (acc2, a Cookie header from the
    environment) gets a context of its own, its cookies added; every review stored once."""
    rules = {SECRET[1]: Rule(3, "expire"), SECRET[2]: Rule()}
    with session_site(rules) as site:
        cfg, env = setup(tmp_path, site.base_url, 60, {"acc1": "json", "acc2": "env"})
        cfg.write_text(cfg.read_text().replace('site = "sandboxhotel"', 'site = "sandboxhotel"\nrender = "browser"')
                       .replace("obey_robots = false", f'obey_robots = false\nchromium_path = "{CHROMIUM}"'))
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--log-level", "INFO", env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_by_source(f"sqlite:///{tmp_path}/v.db")["h-reviews"]
    assert run.outcome == "finished", run.stats
    assert stored_ids(tmp_path) == sorted(r.rid for r in REVIEWS)
    assert [sid for _, sid in site.hits] == [SECRET[1]] * 4 + [SECRET[2]] * 4
    assert run.stats["vocwatch/render/contexts_created"] == 2 and run.stats["vocwatch/render/pages_open"] == 0
    assert account_states(tmp_path)["acc1"] == ("expired", "login_wall")
    no_secret_in(proc.stderr, json.dumps(run.stats, default=str))


def test_a_secret_others_can_read_stops_the_crawl_before_a_request(tmp_path: Path) -> None:
    """A session file with mode 0644: ``vocwatch check`` and ``vocwatch crawl`` both refuse,
    naming the file and the chmod that fixes it; the site sees no request; no secret printed."""
    with session_site({SECRET[1]: Rule()}) as site:
        cfg, env = setup(tmp_path, site.base_url, 60, {"acc1": "cookie"})
        leaky = tmp_path / "secrets" / "sessions" / "sandboxhotel" / "acc1.cookie"
        os.chmod(leaky, 0o644)
        check = run_vocwatch("check", "-c", str(cfg), env=env)
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", env=env)
        assert site.hits == []
    assert check.returncode == 2 and str(leaky) in check.stderr and f"chmod 600 {leaky}" in check.stderr
    assert proc.returncode != 0 and str(leaky) in proc.stdout + proc.stderr
    no_secret_in(check.stdout, check.stderr, proc.stdout, proc.stderr)
    os.chmod(leaky, 0o600)
    ok = run_vocwatch("check", "-c", str(cfg), env=env)
    assert ok.returncode == 0 and "sessions.sandboxhotel: 1 account(s)" in ok.stdout


def test_accounts_and_proxies_each_take_their_own_bans(tmp_path: Path) -> None:
    """Two tinyproxies (``tests/proxy_server.py``) and two accounts, sticky proxies: proxy tp1
    is banned (403) after 2 requests whoever is logged in, acc1's session expires after 2 pages.
    Page 3 gets the 403 through tp1 (acc1 goes on through tp2), then acc1's login wall. The 403s
    through tp1 rest the proxy, never the account (the proxy pool reacts first); the login
    wall expires acc1 and the crawl goes on as acc2; every review stored once, no secret shown."""
    from tests.proxy_server import ProxyServer, require_tinyproxy

    require_tinyproxy()
    servers = [ProxyServer(tmp_path / "proxies", "tp1"), ProxyServer(tmp_path / "proxies", "tp2")]
    for server in servers:
        server.start()
    try:
        with session_site({SECRET[1]: Rule(2, "expire"), SECRET[2]: Rule()}) as site:
            site.proxy_bans = {"tp1": 2}
            cfg, env = setup(tmp_path, site.base_url, 60, {"acc1": "cookie", "acc2": "env"})
            cfg.write_text(cfg.read_text().replace("obey_robots = false", 'obey_robots = false\nproxies = "env"\n'
                                                   'proxy_rotation = "sticky"'))
            env["VOCWATCH_PROXIES"] = " ".join(s.url for s in servers)
            proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--log-level", "INFO", env=env, timeout=240)
    finally:
        for server in servers:
            server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_by_source(f"sqlite:///{tmp_path}/v.db")["h-reviews"]
    assert run.outcome == "finished", run.stats
    assert stored_ids(tmp_path) == sorted(r.rid for r in REVIEWS)
    assert set(site.via) == {"tp1", "tp2"}  # every page went through a pool proxy
    assert site.via == ["tp1"] * 3 + ["tp2"] * 6  # p1, p2, p3 (403) via tp1; p3 (login wall), p3..p7 via tp2
    assert run.stats["vocwatch/proxy/bans"] == 1 and run.stats["vocwatch/proxy/rotated"] >= 1
    assert run.stats["vocwatch/account/expired"] == 1 and "vocwatch/account/cooled" not in run.stats  # not acc1's fault
    assert account_states(tmp_path) == {"acc1": ("expired", "login_wall"), "acc2": ("ok", "")}
    assert [sid for _, sid in site.hits] == [SECRET[1]] * 4 + [SECRET[2]] * 5
    no_secret_in(proc.stderr, json.dumps(run.stats, default=str))
