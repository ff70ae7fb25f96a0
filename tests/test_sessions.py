"""Sessions (``crawlers.sessions``): the three secret formats, the owner-only permission
check, the config refusing literal cookies, every secret masked, the account pool's
rotation and states, the downloader middleware's rules, the health findings, and the
browser handler putting the same account into its Playwright context."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request

from config import ConfigError, load_config
from config.model import HealthSettings, SessionSettings
from config.redact import redact
from crawlers.sessions import (
    ACCOUNT_META,
    Account,
    AccountPool,
    NoAccountLeft,
    SessionMiddleware,
    load_accounts,
    parse_cookie_file,
    parse_cookie_header,
    parse_netscape,
    parse_storage_state,
)
from crawlers.store import CrawlRun, open_store
from monitor.health import check_run, session_findings
from tests.conftest import ONE_HOTEL

SID = "sidQ9w8e7r6t5y4u3"
TOKEN = "csrfTok3n9876543"


@pytest.fixture(autouse=True)
def _no_ambient_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VOCWATCH_SESSION_") or key == "VOCWATCH_SECRETS_DIR":
            monkeypatch.delenv(key)


# -- formats ---------------------------------------------------------------------------
def test_cookie_header_string_and_header_lines() -> None:
    assert [(c.name, c.value, c.domain) for c in parse_cookie_header(f"Cookie: SUB={SID}; lang=zh_CN; x=")] == [
        ("SUB", SID, ""), ("lang", "zh_CN", ""), ("x", "", "")]
    cookies, headers, raw = parse_cookie_file(f"SUB={SID}; a=b\n")
    assert [c.name for c in cookies] == ["SUB", "a"] and headers == [] and raw == f"SUB={SID}; a=b"
    cookies, headers, raw = parse_cookie_file(f"# weibo, acc1\nCookie: SUB={SID}\nX-CSRF-Token: {TOKEN}\n")
    assert [(c.name, c.value) for c in cookies] == [("SUB", SID)] and headers == [("X-CSRF-Token", TOKEN)]
    with pytest.raises(ValueError):
        parse_cookie_file("Cookie: a=1\nthis is not a header\n")


def test_netscape_cookies_txt() -> None:
    text = ("# Netscape HTTP Cookie File\n\n"
            f".weibo.com\tTRUE\t/\tTRUE\t1893456000\tSUB\t{SID}\n"
            "#HttpOnly_m.weibo.cn\tFALSE\t/api\tFALSE\t0\tXSRF\tabc\n")
    assert [(c.domain, c.path, c.name, c.value) for c in parse_netscape(text)] == [
        (".weibo.com", "/", "SUB", SID), ("m.weibo.cn", "/api", "XSRF", "abc")]
    with pytest.raises(ValueError, match="line 1"):
        parse_netscape("weibo.com TRUE / TRUE 0 SUB x\n")  # spaces, not tabs


def test_playwright_storage_state() -> None:
    state = {"cookies": [{"name": "SUB", "value": SID, "domain": ".weibo.com", "path": "/", "expires": -1,
                          "httpOnly": True, "secure": True, "sameSite": "None"}],
             "origins": [{"origin": "https://m.weibo.cn", "localStorage": [{"name": "k", "value": "v"}]}],
             "headers": {"X-CSRF-Token": TOKEN}}
    cookies, headers, for_playwright = parse_storage_state(json.dumps(state))
    assert [(c.domain, c.name) for c in cookies] == [(".weibo.com", "SUB")] and headers == [("X-CSRF-Token", TOKEN)]
    assert set(for_playwright) == {"cookies", "origins"} and for_playwright["origins"] == state["origins"]
    for bad in ("[]", '{"cookies": [{"name": 1}]}', '{"cookies": [], "headers": {"a": 1}}'):
        with pytest.raises(ValueError):
            parse_storage_state(bad)


def test_cookies_go_only_to_their_domain_and_path() -> None:
    acc = Account("weibo", "a", "x", tuple(parse_netscape(
        f".weibo.com\tTRUE\t/\tTRUE\t0\tSUB\t{SID}\nm.weibo.cn\tFALSE\t/api\tFALSE\t0\tXSRF\tabc\n")))
    assert acc.cookie_header("m.weibo.cn", "/api/container") == "XSRF=abc"  # .weibo.com is not weibo.cn
    assert acc.cookie_header("weibo.com", "/") == f"SUB={SID}"
    assert acc.cookie_header("evil-weibo.com", "/") == ""
    assert acc.cookie_header("m.weibo.cn", "/") == ""
    assert SID not in repr(acc) and "weibo" in repr(acc)


# -- loading: env, secrets dir, permissions --------------------------------------------
def secrets_tree(tmp_path: Path, files: dict[str, str], mode: int = 0o600) -> Path:
    root = tmp_path / "secrets"
    folder = root / "sessions" / "weibo"
    folder.mkdir(parents=True)
    for p in (root, root / "sessions", folder):
        os.chmod(p, 0o700)
    for name, text in files.items():
        (folder / name).write_text(text)
        os.chmod(folder / name, mode)
    return root


def test_accounts_from_files_and_env(tmp_path: Path) -> None:
    root = secrets_tree(tmp_path, {
        "acc1.cookie": f"SUB={SID}", "acc2.txt": ".weibo.com\tTRUE\t/\tTRUE\t0\tSUB\tsub2Value99\n",
        "acc3.json": json.dumps({"cookies": [{"name": "SUB", "value": "sub3Value99", "domain": ".weibo.com",
                                              "path": "/"}], "origins": []}),
        "notes.md": "not an account", "acc4.cookie": "SUB=fromFile444"})
    env = {"VOCWATCH_SECRETS_DIR": str(root), "VOCWATCH_SESSION_WEIBO_ACC4": "SUB=fromEnv4444",
           "VOCWATCH_SESSION_WEIBO_BACKUP_2": "SUB=backup22222", "VOCWATCH_SESSION_JD_X": "a=ignored123"}
    accounts = {a.name: a for a in load_accounts("weibo", env)}
    assert sorted(accounts) == ["acc1", "acc2", "acc3", "acc4", "backup_2"]
    assert accounts["acc4"].cookies[0].value == "fromEnv4444"  # the environment wins
    assert accounts["acc3"].storage_state is not None and accounts["acc1"].storage_state is None
    assert accounts["acc4"].origin == "$VOCWATCH_SESSION_WEIBO_ACC4"
    assert accounts["acc2"].origin.endswith("sessions/weibo/acc2.txt")
    # every value registered for masking, the whole header string too
    masked = redact(f"GET /x Cookie: SUB={SID}; sub2Value99 sub3Value99 fromEnv4444 backup22222")
    for value in (SID, "sub2Value99", "sub3Value99", "fromEnv4444", "backup22222"):
        assert value not in masked
    assert load_accounts("dianping", env) == []


@pytest.mark.parametrize("where", ["root", "site", "file"])
def test_secrets_readable_by_others_are_a_config_error(tmp_path: Path, where: str) -> None:
    root = secrets_tree(tmp_path, {"acc1.cookie": f"SUB={SID}"})
    target = {"root": root, "site": root / "sessions" / "weibo", "file": root / "sessions" / "weibo" / "acc1.cookie"}[where]
    os.chmod(target, 0o755 if target.is_dir() else 0o644)
    with pytest.raises(ConfigError) as err:
        load_accounts("weibo", {"VOCWATCH_SECRETS_DIR": str(root)})
    assert str(target) in str(err.value) and "owner only" in str(err.value) and "chmod" in str(err.value)


def test_a_broken_secret_file_is_named_not_quoted(tmp_path: Path) -> None:
    root = secrets_tree(tmp_path, {"acc1.txt": f"weibo.com SUB {SID}\n"})
    with pytest.raises(ConfigError) as err:
        load_accounts("weibo", {"VOCWATCH_SECRETS_DIR": str(root)})
    assert "acc1.txt" in str(err.value) and "netscape" in str(err.value) and SID not in str(err.value)
    with pytest.raises(ConfigError, match="names no directory"):
        load_accounts("weibo", {"VOCWATCH_SECRETS_DIR": str(tmp_path / "nope")})


def test_a_session_saved_by_vocwatch_login_is_an_account_and_renews_an_expired_one(tmp_path: Path) -> None:
    """``vocwatch login`` writes ``sessions/<site>/<account>.json`` (0600, atomically); the
    crawl reads it as an account, and a new login for an expired account makes it usable."""
    from vocwatch.login import session_path, write_private

    root = tmp_path / "secrets"
    root.mkdir(mode=0o700)
    os.chmod(root, 0o700)
    env = {"VOCWATCH_SECRETS_DIR": str(root)}

    def login(value: str) -> None:
        state = {"cookies": [{"name": "SUB", "value": value, "domain": ".weibo.com", "path": "/", "expires": -1,
                              "httpOnly": True, "secure": True, "sameSite": "None"}], "origins": []}
        write_private(session_path("weibo", "a1", env), json.dumps(state).encode())

    login("firstSession111")
    (account,) = load_accounts("weibo", env)
    assert account.name == "a1" and account.storage_state is not None
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    pool = AccountPool("weibo", [account], store.identities, SessionSettings("weibo"))
    pool.expire(pool.accounts["a1"], "login_wall")
    assert AccountPool("weibo", load_accounts("weibo", env), store.identities, SessionSettings("weibo")).usable() == []
    login("secondSession22")
    again = AccountPool("weibo", load_accounts("weibo", env), store.identities, SessionSettings("weibo"))
    assert again.renewed == ["a1"] and [a.name for a in again.usable()] == ["a1"]
    store.close()


# -- config ----------------------------------------------------------------------------
def config_with(tmp_path: Path, extra: str) -> Path:
    cfg = tmp_path / "v.toml"
    cfg.write_text(ONE_HOTEL + textwrap.dedent(extra), encoding="utf-8")
    return cfg


def test_sessions_table_is_read_and_validated(tmp_path: Path) -> None:
    cfg = load_config(config_with(tmp_path, """
        [sessions.weibo]
        required = true
        cooldown_minutes = 90
        proxies = "always"
        [sessions.dianping]
        """))
    assert cfg.sessions["weibo"] == SessionSettings("weibo", True, 90.0, "always")
    assert cfg.sessions["dianping"] == SessionSettings("dianping")
    for bad, key, what in (('proxies = "sometimes"', "sessions.weibo.proxies", "must be one of"),
                           ("cooldown_minutes = 0", "sessions.weibo.cooldown_minutes", "greater than 0"),
                           ("required = 1", "sessions.weibo.required", "boolean"),
                           ("accounts = 2", "sessions.weibo.accounts", "unknown key")):
        with pytest.raises(ConfigError) as err:
            load_config(config_with(tmp_path, f"[sessions.weibo]\n{bad}\n"))
        assert f"{key}: " in str(err.value) and what in str(err.value), str(err.value)


@pytest.mark.parametrize(("extra", "key"), [
    (f'[sessions.weibo]\ncookie = "SUB={SID}"\n', "sessions.weibo.cookie"),
    (f'[sessions.weibo.headers]\nCookie = "SUB={SID}"\n', "sessions.weibo.headers.Cookie"),
    (f'[sessions.weibo]\ncookies = ["SUB={SID}"]\n', "sessions.weibo.cookies"),
    (f'[sessions.jd]\nAuthorization = "Bearer {SID}"\n', "sessions.jd.Authorization"),
    ('[[sources]]\nlocation = "harbor-sh-bund"\nkind = "rss"\nurl = "http://x.test/f"\n'
     f'cookie = "SUB={SID}"\n', "sources[0].cookie"),
])
def test_a_literal_cookie_in_the_config_is_an_error(tmp_path: Path, extra: str, key: str) -> None:
    path = config_with(tmp_path, extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}: a literal ") and "VOCWATCH_SECRETS_DIR" in message
    assert SID not in message


# -- the pool --------------------------------------------------------------------------
def accounts(*names: str) -> list[Account]:
    return [Account("weibo", n, "test", tuple(parse_cookie_header(f"SUB=value-of-{n}"))) for n in names]


def test_pool_rotates_per_job_and_persists_states(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    settings = SessionSettings("weibo", cooldown_minutes=30)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    jobs = [AccountPool("weibo", accounts("a1", "a2", "a3"), store.identities, settings).pick(now=t0 + timedelta(minutes=i))
            for i in range(4)]
    assert [a.name for a in jobs if a] == ["a1", "a2", "a3", "a1"]  # one job each, in turn, across processes
    pool = AccountPool("weibo", accounts("a1", "a2", "a3"), store.identities, settings)
    pool.expire(pool.accounts["a2"], "login_wall", now=t0)
    st = pool.cool(pool.accounts["a3"], "captcha", now=t0)
    assert st.until == t0 + timedelta(minutes=30) and st.failures == 1
    again = AccountPool("weibo", accounts("a1", "a2", "a3"), store.identities, settings)
    assert [a.name for a in again.usable(t0 + timedelta(minutes=29))] == ["a1"]
    assert [a.name for a in again.usable(t0 + timedelta(minutes=30))] == ["a1", "a3"]  # cool-down over
    assert again.pick(exclude=["a1"], now=t0 + timedelta(minutes=5)) is None
    # a new login for a2 (other cookies): usable again, counted as renewed
    renewed = [Account("weibo", "a2", "test", tuple(parse_cookie_header("SUB=a-new-session")))]
    fresh = AccountPool("weibo", renewed, store.identities, settings)
    assert fresh.renewed == ["a2"] and store.identities.get("account", "weibo", "a2").state == "ok"
    assert all("value-of" not in repr(s) for s in store.identities.list())  # a digest, never the cookie
    store.close()


# -- the middleware --------------------------------------------------------------------
class FakeStats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def inc_value(self, key: str, n: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + n

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def middleware(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...]) -> SessionMiddleware:
    from scrapy.settings import Settings

    for n in names:
        monkeypatch.setenv(f"VOCWATCH_SESSION_WEIBO_{n.upper()}", f"SUB=secret-{n}-123")
    settings = Settings({"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/v.db"})
    spider = SimpleNamespace(config=SimpleNamespace(sessions={"weibo": SessionSettings("weibo")}),
                             source=SimpleNamespace(id="s", site=None), site="weibo")
    crawler = SimpleNamespace(settings=settings, stats=FakeStats(), spider=spider,
                              signals=SimpleNamespace(connect=lambda *a, **k: None))
    return SessionMiddleware(crawler)


def page(request: Request, status: int = 200, body: str = "<html><body>reviews</body></html>",
         url: str | None = None) -> HtmlResponse:
    return HtmlResponse(url or request.url, status=status, body=body.encode(), request=request, encoding="utf-8")


def test_middleware_puts_the_account_on_and_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mw = middleware(tmp_path, monkeypatch, ("acc1", "acc2", "acc3"))
    req = Request("https://m.weibo.cn/api/x?page=2", meta={"vocwatch_callback": "parse"})
    mw.process_request(req)
    assert req.meta[ACCOUNT_META] == "acc1" and req.headers["Cookie"] == b"SUB=secret-acc1-123"
    robots = Request("https://m.weibo.cn/robots.txt")
    mw.process_request(robots)
    assert b"Cookie" not in robots.headers  # robots.txt is read anonymously
    assert mw.process_response(req, page(req)) is not None and mw.current.name == "acc1"
    # a login wall after a redirect: acc1 expired, the page asked for again through acc2
    walled = req.replace(url="https://passport.weibo.cn/signin", meta={**req.meta, "redirect_urls": [req.url]})
    retry = mw.process_response(walled, page(walled))
    assert isinstance(retry, Request) and retry.url == req.url and retry.dont_filter
    assert retry.meta[ACCOUNT_META] == "acc2" and "redirect_urls" not in retry.meta and b"Cookie" not in retry.headers
    mw.process_request(retry)
    assert retry.headers["Cookie"] == b"SUB=secret-acc2-123"
    # a 403 through a pool proxy is the proxy pool's business
    proxied = retry.replace(meta={**retry.meta, "vocwatch_proxy": "p1"})
    assert isinstance(mw.process_response(proxied, page(proxied, 403, "Forbidden")), HtmlResponse)
    # a 429 without a proxy: acc2 cools down, acc3 next
    retry2 = mw.process_response(retry, page(retry, 429, "slow down"))
    assert isinstance(retry2, Request) and retry2.meta[ACCOUNT_META] == "acc3"
    stats = mw.crawler.stats.values
    assert stats["vocwatch/account/expired"] == 1 and stats["vocwatch/account/cooled"] == 1
    assert stats["vocwatch/account/rescheduled"] == 2
    assert stats["vocwatch/account/expired_accounts"] == [{"site": "weibo", "account": "acc1", "reason": "login_wall"}]
    assert {s["account"]: s["state"] for s in stats["vocwatch/account/states"]} == {
        "acc1": "expired", "acc2": "cooling", "acc3": "ok"}
    # the last one banned by a captcha page: nothing left, the page fails at once, kept for the next run
    mw.process_request(retry2)
    last = mw.process_response(retry2, page(retry2, 200, "<html><head><title>安全验证</title></head></html>"))
    assert isinstance(last, Request) and ACCOUNT_META not in last.meta
    with pytest.raises(NoAccountLeft):
        mw.process_request(last)
    assert stats["vocwatch/account/none_left"] == 1 and stats["vocwatch/account/exhausted"] == "weibo"
    assert "secret-acc" not in json.dumps(stats)


def test_middleware_leaves_sites_without_a_sessions_table_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mw = middleware(tmp_path, monkeypatch, ("acc1",))
    mw.crawler.spider.site = "jd"
    mw.ready, mw.pool = False, None
    mw._setup(mw.crawler.spider)
    req = Request("https://club.jd.com/x")
    mw.process_request(req)
    assert b"Cookie" not in req.headers and ACCOUNT_META not in req.meta


# -- health ----------------------------------------------------------------------------
def test_health_findings_name_the_account_never_a_secret() -> None:
    states = [{"site": "weibo", "account": "acc1", "state": "ok", "reason": "", "until": None},
              {"site": "weibo", "account": "acc2", "state": "expired", "reason": "login_wall", "until": None}]
    run = CrawlRun(7, "weibo-feed", "weibo_feed", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
                   "finished", {"vocwatch/account/states": states, "vocwatch/mentions/extracted": 3})
    (f,) = [f for f in check_run(run, [], HealthSettings()) if f.problem.startswith("session")]
    assert f.problem == "session_expired" and f.severity == "warning"
    assert "weibo account acc2 needs a new login (vocwatch login weibo)" in f.message
    all_out = dict(run.stats, **{"vocwatch/account/states": [dict(s, state="cooling", until="2026-12-01T10:00:00+00:00")
                                                              for s in states],
                                 "vocwatch/account/exhausted": "weibo",
                                 "vocwatch/failed_requests": [{"url": "u", "callback": "parse"}]})
    run2 = CrawlRun(8, "weibo-feed", "weibo_feed", run.started_at, run.finished_at, "partial", all_out)
    (g,) = session_findings(run2, "weibo_feed source weibo-feed")
    assert g.problem == "sessions_exhausted" and g.severity == "critical"
    assert "every weibo account was cooling down or expired; 1 page(s) kept" in g.message and "10:00" in g.message
    failed = CrawlRun(9, "weibo-feed", "weibo_feed", run.started_at, run.finished_at, "failed",
                      {"vocwatch/account/states": [dict(states[1])], "vocwatch/account/none_usable": 1})
    problems = {f.problem: f.severity for f in check_run(failed, [], HealthSettings())}
    assert problems == {"session_expired": "critical", "sessions_exhausted": "critical"}


# -- the browser handler ---------------------------------------------------------------
class FakeContext:
    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs, self.cookies, self.pages = kwargs, [], []

    async def add_cookies(self, cookies: list[dict[str, Any]]) -> None:
        self.cookies += cookies

    async def route(self, *args: Any) -> None:
        pass

    async def close(self) -> None:
        pass


class FakeBrowser:
    def __init__(self) -> None:
        self.contexts: list[FakeContext] = []

    async def new_context(self, **kwargs: Any) -> FakeContext:
        self.contexts.append(FakeContext(kwargs))
        return self.contexts[-1]


def test_browser_contexts_carry_the_account() -> None:
    from scrapy.utils.test import get_crawler

    from crawlers.render import BrowserDownloadHandler

    state = {"cookies": [{"name": "SUB", "value": SID, "domain": ".weibo.com", "path": "/"}], "origins": []}
    stored = Account("weibo", "a1", "x", tuple(parse_storage_state(json.dumps(state))[0]), (("X-T", TOKEN),), state)
    header = Account("weibo", "a2", "x", tuple(parse_cookie_header(f"SUB={SID}")))
    browser = FakeBrowser()

    async def go() -> None:
        handler = BrowserDownloadHandler(get_crawler())  # inside a running loop, as in a crawl
        await handler._fresh_context(browser, account=stored, url="https://m.weibo.cn/p")
        await handler._fresh_context(browser, account=stored, url="https://m.weibo.cn/p2")  # same account: same context
        await handler._fresh_context(browser, account=header, url="https://m.weibo.cn/p3")  # another: a new context
        await handler._fresh_context(browser, account=None, url="https://m.weibo.cn/p4")

    asyncio.run(go())
    first, second, third = browser.contexts
    assert first.kwargs["storage_state"] == state and first.kwargs["extra_http_headers"] == {"X-T": TOKEN}
    assert first.cookies == []
    assert "storage_state" not in second.kwargs
    assert second.cookies == [{"name": "SUB", "value": SID, "domain": "m.weibo.cn", "path": "/"}]
    assert "storage_state" not in third.kwargs and third.cookies == []


def test_an_expired_account_reaches_the_alert_routes(tmp_path: Path) -> None:
    """The ``session_expired`` finding stored with a run becomes a ``crawl_health`` alert
    through ``monitor.alerting.health_alerts``, like every other finding."""
    from monitor.alerting import health_alerts
    from monitor.health import check_and_record

    cfg = load_config(config_with(tmp_path, """
        [[sources]]
        id = "weibo-feed"
        location = "harbor-sh-bund"
        kind = "weibo_feed"
        url = "https://m.weibo.cn/api/container/getIndex?containerid=1"
        [sessions.weibo]
        """))
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    now = datetime.now(UTC)
    rid = store.start_run("weibo-feed", "weibo_feed", now)
    store.finish_run(rid, now, "finished", {"vocwatch/mentions/extracted": 4, "vocwatch/account/states": [
        {"site": "weibo", "account": "acc2", "state": "expired", "reason": "login_wall", "until": None},
        {"site": "weibo", "account": "acc1", "state": "ok", "reason": "", "until": None}]})
    check_and_record(store, "weibo-feed", rid, cfg.health)
    (alert,) = [a for a in health_alerts(cfg, store, now=now, run_ids=[rid]) if "session" in a.details["problem"]]
    assert alert.kind == "crawl_health" and alert.details["problem"] == "session_expired"
    assert "weibo account acc2 needs a new login" in alert.title and alert.location_id == "harbor-sh-bund"
    store.close()
