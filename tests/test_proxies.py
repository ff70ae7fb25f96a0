"""Proxy pools without a network: config checks, where the pool comes from, masking,
picking and cool-downs, and the middleware's reactions to bans and dead proxies."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DownloadConnectionRefusedError
from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

import config.redact
from config import ConfigError, load_config
from config.redact import redact
from crawlers.proxies import (
    META,
    NoProxyAvailable,
    ProxyMiddleware,
    ProxyPool,
    load_proxies,
    parse_proxy,
    split_urls,
)
from tests.conftest import ONE_HOTEL, crawl_head

PASSWORD = "Pr0xy-pass-9931"


@pytest.fixture(autouse=True)
def _fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.redact, "_known", set())
    monkeypatch.setattr(config.redact, "_known_re", None)


def write(tmp_path: Path, crawl_extra: str = "", more: str = "") -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(crawl_head(extra=crawl_extra).format(db=tmp_path / "s.db") + more + ONE_HOTEL, encoding="utf-8")
    return path


def test_config_reads_pool_settings_and_site_choice(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'proxies = "env"\nproxy_rotation = "sticky"\nproxy_cooldown_minutes = 5',
                            '\n[sessions.weibo]\nproxies = "always"\n[sessions.jd]\nproxies = "never"\n'))
    assert (cfg.crawl.proxies, cfg.crawl.proxy_rotation, cfg.crawl.proxy_cooldown_minutes) == ("env", "sticky", 5.0)
    assert [cfg.proxy_choice(s) for s in ("weibo", "jd", "other")] == ["always", "never", "auto"]


@pytest.mark.parametrize(("extra", "more", "key"), [
    (f'proxies = "http://u:{PASSWORD}@10.0.0.1:8080"', "", "crawl.proxies"),
    ("", f'\n[sessions.weibo]\nproxies = "http://u:{PASSWORD}@10.0.0.1:8080"\n', "sessions.weibo.proxies"),
    ('proxies = "everywhere"', "", "crawl.proxies"),
    ('proxy_rotation = "random"', "", "crawl.proxy_rotation"),
    ("", '\n[sessions.weibo]\nproxies = "sometimes"\n', "sessions.weibo.proxies"),
])
def test_config_refuses_proxy_urls_and_unknown_choices(tmp_path: Path, extra: str, more: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, extra, more))
    assert err.value.key == key
    assert PASSWORD not in str(err.value)
    if "://" in extra + more:
        assert "proxy URL" in err.value.problem


def test_split_and_parse() -> None:
    assert split_urls("# pool\nhttp://a:1, http://b:2  # second\n\nhttp://c:3\n") == ["http://a:1", "http://b:2", "http://c:3"]
    p = parse_proxy(f"http://bob:{PASSWORD}@10.1.2.3:3128", 2, "VOCWATCH_PROXIES")
    assert (p.name, p.address, p.username, p.password, p.server) == ("p2", "10.1.2.3:3128", "bob", PASSWORD,
                                                                     "http://10.1.2.3:3128")
    assert PASSWORD not in repr(p)
    assert p.for_browser() == {"server": "http://10.1.2.3:3128", "username": "bob", "password": PASSWORD}
    for bad in ("socks5://h:1", "http://h", f"http://u:{PASSWORD}@h:port", "http://h:1/path"):
        with pytest.raises(ConfigError) as err:
            parse_proxy(bad, 1, "proxies.txt")
        assert PASSWORD not in str(err.value) and "proxy 1" in str(err.value)


def test_pool_from_env_masks_every_password(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'proxies = "env"'))
    with pytest.raises(ConfigError, match="VOCWATCH_PROXIES is not set"):
        load_proxies(cfg, {})
    pool = load_proxies(cfg, {"VOCWATCH_PROXIES": f"http://127.0.0.1:1 http://alice:{PASSWORD}@127.0.0.1:2"})
    assert [p.address for p in pool] == ["127.0.0.1:1", "127.0.0.1:2"]
    b64 = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert redact(f"bare {PASSWORD} and header Basic {b64}") == "bare *** and header Basic ***"


def test_pool_from_secrets_dir_needs_owner_only_modes(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'proxies = "secrets"'))
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o755)
    (secrets / "proxies.txt").write_text(f"# mine\nhttp://u:{PASSWORD}@127.0.0.1:3\n", encoding="utf-8")
    env = {"VOCWATCH_SECRETS_DIR": str(secrets)}
    secrets.chmod(0o755)
    with pytest.raises(ConfigError, match="group or others may read it") as err:
        load_proxies(cfg, env)
    assert err.value.file == str(secrets)
    secrets.chmod(0o700)
    (secrets / "proxies.txt").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_proxies(cfg, env)
    (secrets / "proxies.txt").chmod(0o600)
    assert [p.name for p in load_proxies(cfg, env)] == ["p1"]
    assert redact(PASSWORD) == "***"


def pool(n: int, rotation: str = "per_request", cooldown: float = 60.0) -> ProxyPool:
    proxies = [parse_proxy(f"http://127.0.0.1:{100 + i}", i, "env") for i in range(1, n + 1)]
    return ProxyPool(proxies, cooldown, rotation, MemoryStatsCollector(_Crawler()))


def test_pick_rotates_skips_cooling_and_sticks() -> None:
    p = pool(3)
    assert [p.pick().name for _ in range(4)] == ["p1", "p2", "p3", "p1"]  # type: ignore[union-attr]
    p.cool_down(p.by_name["p2"], "test")
    assert [p.pick().name for _ in range(3)] == ["p3", "p1", "p3"]  # type: ignore[union-attr]
    for name in ("p1", "p3"):
        p.cool_down(p.by_name[name], "test")
    assert p.pick() is None and 59 < p.soonest_free() <= 60
    s = pool(3, "sticky")
    assert [s.pick("a").name, s.pick("b").name, s.pick("a").name, s.pick("b").name] == ["p1", "p2", "p1", "p2"]  # type: ignore[union-attr]
    s.cool_down(s.by_name["p1"], "ban")
    assert s.pick("a").name == "p3" and s.pick("a").name == "p3"  # type: ignore[union-attr]


class _Crawler:
    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = Settings({"RETRY_EXCEPTIONS": Settings().getlist("RETRY_EXCEPTIONS"),
                                  "VOCWATCH_PROXY_MAX_WAIT": 0, **(settings or {})})
        self.stats = MemoryStatsCollector(self)  # type: ignore[arg-type]
        self.engine = None


def middleware(choice: str, n: int = 2) -> ProxyMiddleware:
    crawler = _Crawler()
    proxies = [parse_proxy(f"http://u:{PASSWORD}@127.0.0.1:{100 + i}", i, "env") for i in range(1, n + 1)]
    p = ProxyPool(proxies, 60.0, "per_request", crawler.stats)
    return ProxyMiddleware(crawler, None, choice, p)  # type: ignore[arg-type]


def test_ban_cools_the_proxy_and_reschedules_through_another() -> None:
    mw = middleware("always")
    req = Request("http://site.test/r?page=1")
    asyncio.run(mw.process_request(req))
    assert req.meta[META] == "p1" and req.meta["proxy"].endswith("127.0.0.1:101")
    again = mw.process_response(req, HtmlResponse(req.url, status=403, body=b"no", request=req))
    assert isinstance(again, Request) and again.dont_filter and META not in again.meta
    asyncio.run(mw.process_request(again))
    assert again.meta[META] == "p2"
    ok = HtmlResponse(again.url, status=200, body=b"<html><title>Reviews</title></html>", request=again)
    assert mw.process_response(again, ok) is ok
    assert "proxy" not in again.meta and b"Proxy-Authorization" not in again.headers
    stats = mw.crawler.stats.get_stats()
    assert stats["vocwatch/proxy/p1/bans"] == 1 and stats["vocwatch/proxy/rotated"] == 1
    assert stats["vocwatch/proxy/p2/responses"] == 1 and PASSWORD not in repr(stats)
    # the only proxy left is banned too: the ban goes on to the spider's own back-off
    last = mw.process_response(again, HtmlResponse(again.url, status=200, request=again,
                                                   body=b"<html><title>Captcha</title><body>captcha</body></html>"))
    assert isinstance(last, HtmlResponse)
    assert mw.crawler.stats.get_value("vocwatch/proxy/exhausted") == 1


def test_login_wall_is_left_to_the_sessions_middleware() -> None:
    mw = middleware("auto")
    req = Request("http://site.test/")
    asyncio.run(mw.process_request(req))
    wall = HtmlResponse(req.url, status=200, body=b"<html><title>Log in</title></html>", request=req)
    assert mw.process_response(req, wall) is wall
    assert mw.crawler.stats.get_value("vocwatch/proxy/bans") is None


def test_dead_proxy_is_skipped_and_none_left_fails_or_goes_direct() -> None:
    mw = middleware("always")
    req = Request("http://site.test/")
    asyncio.run(mw.process_request(req))
    retry = mw.process_exception(req, DownloadConnectionRefusedError("refused"))
    assert isinstance(retry, Request)
    asyncio.run(mw.process_request(retry))
    assert retry.meta[META] == "p2"
    assert mw.process_exception(retry, DownloadConnectionRefusedError("refused")) is None  # the retry middleware's
    with pytest.raises(NoProxyAvailable, match="not fetched directly"):
        asyncio.run(mw.process_request(Request("http://site.test/2")))
    auto = middleware("auto", 1)
    auto.pool.cool_down(auto.pool.by_name["p1"], "test")
    direct = Request("http://site.test/3")
    asyncio.run(auto.process_request(direct))
    assert direct.meta["proxy"] is None and auto.crawler.stats.get_value("vocwatch/proxy/direct_fallback") == 1


def test_never_sites_fetch_directly() -> None:
    mw = middleware("never")
    req = Request("http://site.test/", meta={"proxy": "http://127.0.0.1:101", META: "p1"})
    asyncio.run(mw.process_request(req))
    assert req.meta["proxy"] is None and META not in req.meta


def test_cooldowns_are_shared_through_redis(redis_url: str) -> None:
    """[distributed]: a proxy one worker saw banned is rested by every worker."""
    import redis

    from crawlers.proxies import SharedCooldowns

    async def scenario() -> tuple[bool, bool]:
        a, b = pool(2), pool(2)
        a.shared = SharedCooldowns(redis.Redis.from_url(redis_url), "vocwatch:proxy:cooldown")
        b.shared = SharedCooldowns(redis.Redis.from_url(redis_url), "vocwatch:proxy:cooldown")
        a.cool_down(a.by_name["p1"], "ban seen by worker a")
        for _ in range(100):  # the write runs in a thread
            await asyncio.sleep(0.02)
            if redis.Redis.from_url(redis_url).hget("vocwatch:proxy:cooldown", "127.0.0.1:101"):
                break
        before = b.usable(b.by_name["p1"])
        await b.shared.refresh(b)
        return before, b.usable(b.by_name["p1"])

    assert asyncio.run(scenario()) == (True, False)
