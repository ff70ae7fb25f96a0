"""Block and captcha pages: recognised, retried with backoff, counted, never stored."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.store import open_store
from spiders.pages.blocked import block_reason
from tests.conftest import ONE_HOTEL, ROOT, crawl_head, local_site

CF = ('<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>'
      '<script>window._cf_chl_opt={cvId: "3"};</script></body></html>')
FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Lobby is lovely</title><link>http://x.test/1</link><guid>g1</guid>
<description>Great stay, the lobby is lovely.</description><pubDate>Thu, 20 Aug 2015 17:00:10 +0100</pubDate></item>
<item><title>Noisy</title><link>http://x.test/2</link><guid>g2</guid>
<description>Too noisy at night.</description><pubDate>Thu, 20 Aug 2015 18:00:10 +0100</pubDate></item>
</channel></rss>"""


@pytest.mark.parametrize(("status", "url", "text", "reason"), [
    (200, "https://x.test/p", CF, "challenge"),
    (403, "https://x.test/p", "<html><head><title>Attention Required! | Cloudflare</title></head></html>", "challenge"),
    (200, "https://www.amazon.com/errors/validateCaptcha", "<title>Amazon.com</title>", "captcha"),
    (200, "https://www.amazon.com/product-reviews/B0", "<html><head><title>Robot Check</title></head>"
     "<body>Enter the characters you see below</body></html>", "captcha"),
    (200, "https://login.taobao.com/member/login.jhtml?redirectURL=x", "<html></html>", "login_wall"),
    (200, "https://passport.jd.com/new/login.aspx?ReturnUrl=x", "<html></html>", "login_wall"),
    (200, "https://h5api.m.taobao.com/h5/mtop.x/1.0/", '{"ret":["FAIL_SYS_USER_VALIDATE::哎哟喂,被挤爆啦"]}', "captcha"),
    (200, "https://m.weibo.cn/api/container/getIndex", '{"ok":-100,"url":"https://passport.weibo.cn/signin/welcome"}',
     "login_wall"),
    (200, "https://club.jd.com/x", "<html><body><div id='nc_1_n1z'>请按住滑块，拖动到最右边</div></body></html>", "captcha"),
    (200, "https://www.dianping.com/x", "<html><title>验证中心</title></html>", "captcha"),
    (429, "https://x.test/p", "<html><form action='/verify'><input name='a'></form></html>", "challenge"),
])
def test_block_pages_are_recognised(status: int, url: str, text: str, reason: str) -> None:
    assert block_reason(status, url, text) == reason


def test_real_pages_are_not_blocks() -> None:
    review = "<p>" + "酒店很好，就是前台发验证码太慢了。" * 2000 + "</p>"  # a user complaining about captchas
    assert block_reason(200, "https://www.dianping.com/shop/1", f"<html><title>某酒店</title>{review}</html>") is None
    assert block_reason(200, "http://x.test/feed", FEED) is None
    assert block_reason(403, "http://x.test/p", "Forbidden") is None  # a plain 403: an HTTP error, not a challenge
    assert block_reason(200, "https://www.reddit.com/r/Python", "<title>How do I log in to PyPI? : Python</title>") is None


@pytest.fixture
def flaky_site() -> Iterator[tuple[str, dict[str, Any]]]:
    """``/feed`` answers with a Cloudflare challenge for the first ``state['blocks']`` hits."""
    state: dict[str, Any] = {"blocks": 1, "hits": 0}

    def respond(path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 404, "text/plain", b""
        state["hits"] += 1
        blocked = state["hits"] <= state["blocks"]
        status = 503 if blocked and state["hits"] % 2 == 0 else 200
        return status, "text/html" if blocked else "application/rss+xml", (CF if blocked else FEED).encode()

    with local_site(respond) as (base, _):
        yield base, state


CONFIG = crawl_head(timeout=None) + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "rss"
url = "{base}/feed"
"""

CRAWL = """
import json, sys
from config import load_config
from crawlers.runner import crawl_sources
(r,) = crawl_sources(load_config(sys.argv[1]), settings={"VOCWATCH_BLOCK_BACKOFF": 0.1, "LOG_LEVEL": "WARNING"})
print(json.dumps(r.run.stats if r.run else {}, default=str))
"""


def crawl(tmp_path: Path, base: str) -> tuple[dict[str, Any], Any]:
    import json

    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "b.db", base=base))
    proc = subprocess.run([sys.executable, "-c", CRAWL, str(cfg)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), open_store(f"sqlite:///{tmp_path}/b.db")


def test_captcha_then_real_page_is_retried_and_read(flaky_site: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    base, state = flaky_site
    stats, store = crawl(tmp_path, base)
    assert state["hits"] == 2
    assert stats["vocwatch/blocked/challenge"] == 1 and stats["vocwatch/blocked/retried"] == 1
    assert "vocwatch/dropped/page_blocked" not in stats
    assert sorted(m.external_id for m in store.iter_mentions()) == ["g1", "g2"]


def test_page_still_blocked_is_dropped_not_stored(flaky_site: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    base, state = flaky_site
    state["blocks"] = 99
    stats, store = crawl(tmp_path, base)
    assert state["hits"] == 3  # the first try and 2 retries (VOCWATCH_BLOCK_RETRIES default)
    assert stats["vocwatch/blocked/challenge"] == 3 and stats["vocwatch/blocked/retried"] == 2
    assert stats["vocwatch/dropped/page_blocked"] == 1
    assert store.count_mentions() == 0
