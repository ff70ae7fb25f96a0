"""Block, captcha and login-wall pages: what a site serves instead of the page asked for.

Such a page must never be read as content (it would yield zero reviews, or junk ones), and
it is often temporary, so the spider retries it later. Signals are deliberately narrow:
the page ``<title>``, challenge markup (script/form ids), redirects to login or verify
hosts, and anti-bot error codes in JSON. Words like "验证码" in the body count only on
small pages: a real review page may well contain a user complaining about captchas.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlsplit

SMALL_PAGE = 20_000
"""Challenge pages are small; body keywords are trusted only below this many characters."""

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title", re.I | re.S)

# (reason, pattern) checked against the <title>
_TITLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("challenge", re.compile(r"just a moment|attention required|checking your browser|ddos-guard|"
                             r"please wait while we verify|security check", re.I)),
    ("captcha", re.compile(r"robot check|captcha|are you a robot|验证码|滑块|安全验证|访问验证|人机验证|"
                           r"请验证|身份验证|验证中心", re.I)),
    ("login_wall", re.compile(r"^\s*(?:sign in|log in|login|登录|新浪通行证|京东-欢迎登录)", re.I)),
)

# markup only challenge pages carry, anywhere in the page: literal tokens, lower case, found
# with ``in`` on one lower-cased copy of the page's head (a substring search per token, not
# a case-insensitive regex scan per pattern over the whole page)
_MARKUP: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("challenge", ("cf-browser-verification", "cf_chl_opt", "/cdn-cgi/challenge-platform", "cf-challenge",
                   "_cf_chl", 'id="challenge-form"')),
    ("captcha", ("/errors/validatecaptcha", "fail_sys_user_validate", "rgv587_error", "_____tmd_____/punish",
                 "nc_1_n1z", "baxia-dialog", "geetest_", 'class="g-recaptcha"', 'class="h-captcha"')),
)

# body words trusted only on small pages
_SMALL_BODY = ("enter the characters you see below", "验证码", "滑块", "拖动下方", "请按住滑块", "unusual traffic",
               "verify you are a human", "verify you are human", "请完成安全验证")

# hosts/paths a site redirects a blocked crawler to
_LOGIN_HOSTS = ("login.taobao.com", "login.tmall.com", "passport.jd.com", "passport.weibo.com",
                "passport.weibo.cn", "login.sina.com.cn", "passport.meituan.com", "account.dianping.com",
                "passport.ctrip.com", "accounts.google.com")
_VERIFY_HOSTS = ("sec.taobao.com", "verify.meituan.com", "h5.m.taobao.com/punish", "cfcaptcha",
                 "verify.snssdk.com", "www.dianping.com/verify", "optimus-ads.amazon", "/errors/validatecaptcha",
                 "_____tmd_____")


def block_reason(status: int, url: str, text: str) -> str | None:
    """Why this response is a block page (``"challenge"``, ``"captcha"``, ``"login_wall"``),
    or None for a page to read normally. ``url`` is the final URL after redirects."""
    low_url = url.lower()
    parts = urlsplit(low_url)
    where = parts.netloc + parts.path
    if any(h in where or h in low_url for h in _VERIFY_HOSTS):
        return "captcha"
    if parts.netloc in _LOGIN_HOSTS:
        return "login_wall"
    head = text[:SMALL_PAGE * 5]
    m = _TITLE_RE.search(head)
    title = " ".join(m.group(1).split()) if m else ""
    for reason, pattern in _TITLES:
        if title and pattern.search(title):
            return reason
    low = head.lower()
    for reason, tokens in _MARKUP:
        if any(t in low for t in tokens):
            return reason
    if len(text) < SMALL_PAGE and any(t in low for t in _SMALL_BODY):
        return "captcha"
    if "passport.weibo" in text and '"ok":-100' in text.replace(" ", "")[:2000]:
        return "login_wall"  # m.weibo.cn's JSON answer when it wants a login
    if status in (403, 429, 503) and len(text) < SMALL_PAGE and re.search(r"<script|<form", text, re.I):
        return "challenge"  # an error status with a scripted/form page: a JS or form challenge
    return None


_UNSET = object()
_CACHE = "_vocwatch_block_reason"


def response_block_reason(response: Any, text: str) -> str | None:
    """:func:`block_reason` of a fetched response, computed once per response object: the
    spider, the account pool and the proxy pool all ask about the same response."""
    cached = getattr(response, _CACHE, _UNSET)
    if cached is _UNSET:
        cached = block_reason(response.status, response.url, text)
        with contextlib.suppress(AttributeError):  # an object that takes no attributes: computed each time
            setattr(response, _CACHE, cached)
    return cached  # type: ignore[return-value]
