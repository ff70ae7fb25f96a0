"""Logged-in sessions ("accounts") for the sites that serve their reviews only to one, and
the account pool that rotates them when a site expires or bans one.

Secrets never come from the config (``config.loader.literal_credential`` refuses them):

- ``$VOCWATCH_SECRETS_DIR/sessions/<site>/<account>.cookie``: a ``Cookie:`` header string
  as copied from a browser's developer tools (``a=1; b=2``), or header lines
  (``Cookie: a=1; b=2`` and any other ``Name: value`` the site wants, e.g. ``X-CSRF-Token``);
- ``<account>.txt``: a Netscape ``cookies.txt`` (curl, yt-dlp, the browser add-ons);
- ``<account>.json``: a Playwright ``storage_state`` (what ``vocwatch login`` saves), with
  an optional ``"headers": {...}`` object of extra request headers;
- env ``VOCWATCH_SESSION_<SITE>_<ACCOUNT>`` = a Cookie header string (SITE and ACCOUNT
  upper-cased, ``-`` and ``.`` as ``_``; the account is named by the lower-cased rest).

The directory, ``sessions/``, each site folder and each file must be readable by their
owner only (0700 / 0600): anything else is a :class:`config.ConfigError` naming the path,
before a request is made. Every cookie value (``MIN_COOKIE_SECRET`` characters or more),
each whole Cookie header and every extra header value is registered with
``config.redact.remember``, so it is masked in logs, errors, run records and exports.

:class:`AccountPool` keeps each account's state in the store (``store.identities``,
``crawlers.store.identities``): a login wall makes an account ``expired`` (it needs a new
login, no time heals it), a ban / captcha / 403 / 429 makes it ``cooling`` until now +
``[sessions.<site>] cooldown_minutes``. A state holds for every later process until the
cool-down ends or the account's secret changes (a new login).

:class:`SessionMiddleware` (downloader middleware) puts one account on each request of a
source whose site has a ``[sessions.<site>]`` table; see its docstring for the rules.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from config.loader import ConfigError
from config.model import SessionSettings
from config.redact import remember
from config.secrets import SECRETS_DIR_ENV, check_private
from crawlers.identity import ACCOUNT_META, PROXY_META, ban_reason, site_of
from crawlers.store.identities import IdentityState, IdentityTable

logger = logging.getLogger(__name__)

SESSION_ENV_PREFIX = "VOCWATCH_SESSION_"
TRIED_META = "vocwatch_accounts_tried"
STATS = "vocwatch/account/"
EXPIRED_STAT = STATS + "expired_accounts"
"""Run stat: ``[{site, account, reason}]`` of the accounts this run found expired (crawl health)."""
STATES_STAT = STATS + "states"
"""Run stat: ``[{site, account, state, until, reason}]``, every account's state as the run
last saw it (no secret: names and states), for crawl health and ``vocwatch runs``."""
EXHAUSTED_STAT = STATS + "exhausted"
"""Run stat: the site whose accounts were all cooling or expired before the run ended."""
MIN_COOKIE_SECRET = 6
"""Shorter cookie values (``lang=en``, ``v=1``) are not secrets and would mask common words
everywhere; the whole Cookie header is masked anyway."""
STATE_TTL = 10.0
"""Seconds an account's state read from the store is trusted before it is read again."""
ACCOUNT_FILES = {".cookie": "cookie header", ".txt": "netscape", ".json": "storage_state"}


class NoAccountLeft(IgnoreRequest):
    """Every account of the request's site is cooling down or expired: the page is not read
    this run (``SourceSpider.on_error`` keeps it for the next one as ``page_no_account``)."""


@dataclass(frozen=True, slots=True)
class SessionCookie:
    name: str
    value: str = field(repr=False)
    domain: str = ""
    """Empty: sent with every request of the account's sources (a Cookie header string has no domain)."""
    path: str = "/"

    def applies_to(self, host: str, path: str) -> bool:
        d = self.domain.lstrip(".").lower()
        host = host.lower()
        if d and host != d and not host.endswith("." + d):
            return False
        return path.startswith(self.path or "/")


@dataclass(frozen=True, slots=True)
class Account:
    """One logged-in session of one site. Its repr names it and where it came from, never a secret."""

    site: str
    name: str
    origin: str
    """The file path or environment variable it was read from."""
    cookies: tuple[SessionCookie, ...] = field(default=(), repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    storage_state: dict[str, Any] | None = field(default=None, repr=False, hash=False, compare=False)
    """The Playwright storage state as read (``.json`` accounts), for browser contexts."""
    raw_header: str = field(default="", repr=False)

    def cookie_header(self, host: str, path: str = "/") -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies if c.applies_to(host, path))

    def secrets(self) -> list[str]:
        """Every value to mask: the whole header string, the cookie values, the header values."""
        out = [self.raw_header] if self.raw_header else []
        out += [c.value for c in self.cookies if len(c.value) >= MIN_COOKIE_SECRET]
        out += [v for _, v in self.headers if len(v) >= MIN_COOKIE_SECRET]
        return out

    @property
    def fingerprint(self) -> str:
        """A short digest of the cookies (not reversible to them): changes with a new login."""
        text = "\n".join(sorted(f"{c.domain}\t{c.name}={c.value}" for c in self.cookies))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def playwright_cookies(self, url_host: str) -> list[dict[str, Any]]:
        """The cookies as Playwright's ``BrowserContext.add_cookies`` takes them; a cookie
        without a domain is given the host of the page being rendered."""
        return [{"name": c.name, "value": c.value, "domain": c.domain or url_host, "path": c.path or "/"}
                for c in self.cookies]


# -- parsing the three formats ----------------------------------------------------------
def parse_cookie_header(text: str) -> list[SessionCookie]:
    """``a=1; b=2`` (optionally prefixed ``Cookie:``) as cookies without a domain."""
    text = text.strip()
    if text.lower().startswith("cookie:"):
        text = text[len("cookie:"):]
    out = []
    for part in text.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name.strip():
            out.append(SessionCookie(name.strip(), value.strip()))
    return out


def parse_cookie_file(text: str) -> tuple[list[SessionCookie], list[tuple[str, str]], str]:
    """A ``.cookie`` file: one bare Cookie header string, or ``Name: value`` header lines
    one of which is ``Cookie:``; returns the cookies, the other headers and the header string."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) == 1 and not _header_line(lines[0]):
        return parse_cookie_header(lines[0]), [], lines[0]
    cookies: list[SessionCookie] = []
    headers: list[tuple[str, str]] = []
    raw = ""
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "cookie":
            raw = value.strip()
            cookies += parse_cookie_header(raw)
        elif _header_line(line):
            headers.append((name.strip(), value.strip()))
        else:
            raise ValueError("expected a Cookie header string or 'Name: value' header lines")
    return cookies, headers, raw


def _header_line(line: str) -> bool:
    name, colon, _ = line.partition(":")
    return bool(colon) and name.strip().replace("-", "").isalnum() and "=" not in name


def parse_netscape(text: str) -> list[SessionCookie]:
    """A Netscape ``cookies.txt``: tab-separated domain, subdomains flag, path, secure,
    expiry, name, value; ``#`` comments except the ``#HttpOnly_`` prefix."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n")
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise ValueError(f"line {n}: a cookies.txt line has 7 tab-separated fields, this one {len(fields)}")
        domain, _, path, _, _, name, value = fields
        out.append(SessionCookie(name, value, domain, path or "/"))
    return out


def parse_storage_state(text: str) -> tuple[list[SessionCookie], list[tuple[str, str]], dict[str, Any]]:
    """A Playwright ``storage_state`` JSON (``{"cookies": [...], "origins": [...]}``), plus
    vocwatch's optional ``"headers"`` object; returns cookies, headers and the state to give
    Playwright (cookies and origins only)."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("cookies", []), list):
        raise ValueError('expected a Playwright storage_state object {"cookies": [...], "origins": [...]}')
    cookies = []
    for c in data.get("cookies", []):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("value"), str):
            raise ValueError("a cookie of the storage_state lacks a string name or value")
        cookies.append(SessionCookie(c["name"], c["value"], str(c.get("domain", "")), str(c.get("path", "/"))))
    headers = data.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError('"headers" must be an object of strings')
    state = {"cookies": data.get("cookies", []), "origins": data.get("origins", [])}
    return cookies, [(str(k), v) for k, v in headers.items()], state


# -- loading ---------------------------------------------------------------------------
def env_name(site: str, account: str = "") -> str:
    """``VOCWATCH_SESSION_<SITE>_<ACCOUNT>`` for a site (and account)."""
    def norm(s: str) -> str:
        return s.upper().replace("-", "_").replace(".", "_")
    return SESSION_ENV_PREFIX + norm(site) + "_" + (norm(account) if account else "")



def secrets_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$VOCWATCH_SECRETS_DIR`` checked for its permissions, or None when unset."""
    value = (os.environ if environ is None else environ).get(SECRETS_DIR_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(path, "", f"{SECRETS_DIR_ENV} names no directory")
    check_private(path)
    return path


def load_accounts(site: str, environ: Mapping[str, str] | None = None) -> list[Account]:
    """The accounts of ``site`` from the environment and ``$VOCWATCH_SECRETS_DIR`` (files
    first, by name; an environment variable of the same account name wins). Every secret is
    registered for masking before this returns. ConfigError for a readable-by-others path
    or a file that is not one of the three formats (naming the file, never its content)."""
    env = os.environ if environ is None else environ
    found: dict[str, Account] = {}
    root = secrets_dir(env)
    folder = root / "sessions" / site if root else None
    if root and (root / "sessions").is_dir():
        check_private(root / "sessions")
    if folder is not None and folder.is_dir():
        check_private(folder)
        for path in sorted(folder.iterdir()):
            if path.suffix not in ACCOUNT_FILES or path.name.startswith(".") or not path.is_file():
                continue
            check_private(path)
            account = _read_account_file(site, path)
            found[account.name] = account
    prefix = env_name(site)
    for key in sorted(env):
        if key.startswith(prefix) and len(key) > len(prefix):
            name = key[len(prefix):].lower()
            cookies, headers, raw = parse_cookie_file(env[key])
            found[name] = Account(site, name, f"${key}", tuple(cookies), tuple(headers), None, raw)
    accounts = [found[name] for name in sorted(found)]
    for account in accounts:
        remember(account.secrets())
        if not account.cookies and not account.headers:
            raise ConfigError(account.origin, "", f"{site} account {account.name!r} holds no cookie")
    return accounts


def _read_account_file(site: str, path: Path) -> Account:
    try:
        text = path.read_text(encoding="utf-8")
        state = None
        if path.suffix == ".cookie":
            cookies, headers, raw = parse_cookie_file(text)
        elif path.suffix == ".txt":
            cookies, headers, raw = parse_netscape(text), [], ""
        else:
            cookies, headers, state = parse_storage_state(text)
            raw = ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # the parsers' reasons name a line number or a shape, json's and the codec's a position:
        # never the content, which is not known to be secret-free
        raise ConfigError(path, "", f"not a {ACCOUNT_FILES[path.suffix]} file: {type(exc).__name__}: "
                          f"{str(exc)[:200]}") from None
    return Account(site, path.stem, str(path), tuple(cookies), tuple(headers), state, raw)


# -- the pool --------------------------------------------------------------------------
class AccountPool:
    """The accounts of one site and their persisted states (``store.identities``).

    Rotation per job: :meth:`pick` takes the usable account used longest ago (its state's
    ``updated_at``; never used first), and marks it used, so successive runs of a site's
    sources take turns, across processes. Sticky within a job: the middleware keeps the
    picked account until it is cooled down or expired."""

    def __init__(self, site: str, accounts: Iterable[Account], table: IdentityTable | None,
                 settings: SessionSettings) -> None:
        self.site, self.settings, self.table = site, settings, table
        self.accounts = {a.name: a for a in accounts}
        self._read: dict[str, tuple[float, IdentityState]] = {}
        """name -> (monotonic time read, state): without a store, the only copy."""
        self.renewed: list[str] = []
        for account in self.accounts.values():
            st = self.state(account.name)
            if st.state != "ok" and st.fingerprint and st.fingerprint != account.fingerprint:
                # a new login replaced the session that expired or was banned: a new account
                self.renewed.append(account.name)
                self._save(IdentityState("account", site, account.name, "ok", None, "renewed",
                                         datetime.now(UTC), account.fingerprint, 0))

    def state(self, name: str) -> IdentityState:
        """The account's state, read from the store at most every ``STATE_TTL`` seconds (a ban
        another process saw reaches this one within that; this pool's own marks at once)."""
        now = time.monotonic()
        cached = self._read.get(name)
        if self.table is not None and (cached is None or now - cached[0] >= STATE_TTL):
            st = self.table.get("account", self.site, name) or IdentityState("account", self.site, name)
            self._read[name] = (now, st)
            return st
        return cached[1] if cached else IdentityState("account", self.site, name)

    def _save(self, st: IdentityState) -> None:
        if self.table is not None:
            self.table.save(st)
        self._read[st.name] = (time.monotonic(), st)

    def usable(self, now: datetime | None = None) -> list[Account]:
        now = now or datetime.now(UTC)
        return [a for a in self.accounts.values() if self.state(a.name).usable(now)]

    def pick(self, exclude: Iterable[str] = (), now: datetime | None = None) -> Account | None:
        """The usable account used longest ago (not in ``exclude``), marked used; None when none is left."""
        now = now or datetime.now(UTC)
        skip = set(exclude)
        states = [(self.state(a.name), a) for a in self.accounts.values() if a.name not in skip]
        ready = [(st, a) for st, a in states if st.usable(now)]
        if not ready:
            return None
        epoch = datetime.min.replace(tzinfo=UTC)
        st, account = min(ready, key=lambda p: (p[0].updated_at or epoch, p[1].name))
        self._save(IdentityState("account", self.site, account.name, "ok", None, st.reason if st.state == "ok" else "",
                                 now, account.fingerprint, 0 if st.state == "ok" else st.failures))
        return account

    def expire(self, account: Account, reason: str, now: datetime | None = None) -> IdentityState:
        """A login wall: the session is over until someone logs in again."""
        return self._mark(account, "expired", None, reason, now)

    def cool(self, account: Account, reason: str, now: datetime | None = None) -> IdentityState:
        """A ban, a captcha, a 403/429: unusable until now + ``cooldown_minutes``."""
        now = now or datetime.now(UTC)
        return self._mark(account, "cooling", now + timedelta(minutes=self.settings.cooldown_minutes), reason, now)

    def _mark(self, account: Account, state: str, until: datetime | None, reason: str,
              now: datetime | None) -> IdentityState:
        old = self.state(account.name)
        st = IdentityState("account", self.site, account.name, state, until, reason, now or datetime.now(UTC),
                           account.fingerprint, old.failures + 1)
        self._save(st)
        return st


def identity_table(crawler: Any) -> IdentityTable | None:
    """The run's store's identities table (None when the store cannot be opened: states stay in memory)."""
    from crawlers.runtime import store_for

    try:
        return store_for(crawler.settings).identities
    except Exception as exc:  # a store without the table: the crawl goes on, states are per process
        logger.warning("account states are not persisted: %s", exc)
        return None


def pool_of(crawler: Any) -> AccountPool | None:
    """The account pool of a crawler's source (set by :class:`SessionMiddleware`), for the
    browser handler (``crawlers.render``)."""
    return getattr(crawler, "vocwatch_accounts", None)


def account_of(request: Request, crawler: Any) -> Account | None:
    """The account a request carries, if any."""
    pool = pool_of(crawler)
    name = request.meta.get(ACCOUNT_META)
    return pool.accounts.get(name) if pool is not None and isinstance(name, str) else None


class SessionMiddleware:
    """Downloader middleware: each request of a source whose site has a ``[sessions.<site>]``
    table goes out with one of the site's accounts (its cookies as the ``Cookie`` header,
    its extra headers; for ``render = "browser"`` the browser handler puts the same account
    into the Playwright context), named in ``meta["vocwatch_account"]``.

    - Per job, one account (:meth:`AccountPool.pick`: the one used longest ago), kept for
      every request of the job unless it is cooled down or expired.
    - A response that is a login wall → the account becomes ``expired``; a ban, captcha,
      challenge, 403 or 429 on a request that did not go through a pool proxy
      (``meta["vocwatch_proxy"]``: the proxy pool reacts to those first) → ``cooling``. The
      request is sent again through the next usable account (``vocwatch/account/rescheduled``;
      the spider never saw the block page, so nothing is counted twice).
    - No account left (``vocwatch/account/none_left``) → the page (its URL before any login
      redirect) and every later request of the site fail at once with :class:`NoAccountLeft`,
      which the spider keeps for the next run (``page_no_account``): the run stops reading
      honestly (partial) and the next one, on an account usable again, starts from that page.
      Not the spider's block back-off: its 30-60 s retries cannot outlast a cool-down of
      ``cooldown_minutes``, and would retry the login page a redirect led to.
    - ``required = true`` and no usable account at the start: no request is sent (``vocwatch/
      account/none_usable``); the run ends partial or failed with every seed kept.

    Counters ``vocwatch/account/{used,rescheduled,expired,cooled,none_left,renewed}``,
    ``used/<name>``; run stats ``vocwatch/account/expired_accounts`` (for crawl health)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.pool: AccountPool | None = None
        self.current: Account | None = None
        self.site = ""
        self.ready = False
        self.exhausted = False
        if getattr(crawler, "spider", None) is not None:
            # the spider is bound before the engine builds the middlewares: a secrets problem
            # (a file others may read, a broken cookies.txt) fails the crawl here, before a
            # request, instead of being logged by a signal handler and crawled without a session
            self._setup(crawler.spider)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SessionMiddleware:
        if not crawler.settings.getbool("VOCWATCH_SESSIONS_ENABLED", True):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        self._setup(spider)

    def _setup(self, spider: Any) -> None:
        """Find the source's site and its accounts once, when the spider opens."""
        if self.ready:
            return
        self.ready = True
        config, source = getattr(spider, "config", None), getattr(spider, "source", None)
        if config is None or source is None:
            return
        self.site = site_of(spider)
        settings = getattr(config, "sessions", {}).get(self.site)
        if settings is None:
            return
        accounts = load_accounts(self.site)
        self.pool = AccountPool(self.site, accounts, identity_table(self.crawler), settings)
        self.crawler.vocwatch_accounts = self.pool
        stats = self.crawler.stats
        stats.set_value(STATS + "accounts", len(accounts))
        for name in self.pool.renewed:
            stats.inc_value(STATS + "renewed")
            logger.info("%s account %s has a new session: usable again", self.site, name)
        if not accounts:
            (logger.warning if settings.required else logger.info)("%s: [sessions.%s] is configured but no account was found (%s or "
                           "$%s/sessions/%s/<account>.cookie|.txt|.json)", source.id, self.site,
                           env_name(self.site, "<ACCOUNT>"), SECRETS_DIR_ENV, self.site)
        self.current = self.pool.pick()
        self._record_states()
        if self.current is None:
            stats.set_value(STATS + "none_usable", 1)
            self.exhausted = True
            why = "; ".join(f"{s.name}: {s.state}" + (f" until {s.until:%Y-%m-%d %H:%M} UTC" if s.until else "")
                            for s in (self.pool.state(n) for n in self.pool.accounts)) or "no account"
            log = logger.error if settings.required else logger.warning
            log("%s: no usable %s account (%s)%s", source.id, self.site, why,
                "; required = true: no page is read this run" if settings.required else "; crawling without one")
            if not settings.required:
                self.pool = None  # read what can be read without a session
        else:
            logger.info("%s: crawling as %s account %s", source.id, self.site, self.current.name)

    def _record_states(self) -> None:
        if self.pool is None:
            return
        states = [self.pool.state(n) for n in sorted(self.pool.accounts)]
        self.crawler.stats.set_value(STATES_STAT, [
            {"site": self.site, "account": s.name, "state": s.state, "reason": s.reason,
             "until": s.until.isoformat() if s.until else None} for s in states])

    def process_request(self, request: Request, spider: Any = None) -> None:
        if not self.ready and spider is not None:
            self._setup(spider)
        if self.pool is None:
            return
        if request.meta.get("vocwatch_callback") is None and urlparse_cached(request).path == "/robots.txt":
            return  # robots.txt is read as an anonymous visitor
        account = self._account_for(request)
        if account is None:
            self.crawler.stats.inc_value(STATS + "refused")
            raise NoAccountLeft(f"no usable {self.site} account left for {request.url}")
        request.meta[ACCOUNT_META] = account.name
        host = urlparse_cached(request).hostname or ""
        if cookie := account.cookie_header(host, urlparse_cached(request).path or "/"):
            request.headers["Cookie"] = cookie
        for name, value in account.headers:
            request.headers[name] = value
        self.crawler.stats.inc_value(STATS + "used")
        self.crawler.stats.inc_value(f"{STATS}used/{account.name}")

    def _account_for(self, request: Request) -> Account | None:
        """The job's account; the next usable one when it is no longer usable."""
        assert self.pool is not None
        now = datetime.now(UTC)
        if self.current is not None and self.pool.state(self.current.name).usable(now):
            return self.current
        tried = request.meta.get(TRIED_META, [])
        self.current = self.pool.pick(exclude=tried, now=now) or self.pool.pick(now=now)
        if self.current is not None:
            self.exhausted = False
            logger.info("%s: now crawling as account %s", self.site, self.current.name)
        return self.current

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if self.pool is None or (name := request.meta.get(ACCOUNT_META)) not in self.pool.accounts:
            return response
        reason = ban_reason(response)
        if reason is None:
            return response
        if reason != "login_wall" and request.meta.get(PROXY_META):
            return response  # the proxy pool's to react to (it had no other proxy, or cooled this one)
        account = self.pool.accounts[name]
        stats = self.crawler.stats
        state = self.pool.state(name)
        if state.usable(datetime.now(UTC)):  # not already marked by another request of this job
            if reason == "login_wall":
                self.pool.expire(account, reason)
                stats.inc_value(STATS + "expired")
                expired = list(stats.get_value(EXPIRED_STAT) or [])
                expired.append({"site": self.site, "account": name, "reason": reason})
                stats.set_value(EXPIRED_STAT, expired)
                logger.warning("%s account %s met a login wall at %s: session expired, needs a new login "
                               "(vocwatch login %s)", self.site, name, response.url, self.site)
            else:
                st = self.pool.cool(account, reason)
                stats.inc_value(STATS + "cooled")
                logger.warning("%s account %s got %s at %s: cooling down until %s UTC", self.site, name, reason,
                               response.url, f"{st.until:%Y-%m-%d %H:%M}")
            self._record_states()
        tried = [*request.meta.get(TRIED_META, []), name]
        nxt = self._account_for(request.replace(meta={**request.meta, TRIED_META: tried}))
        first = request.meta.get("redirect_urls", [request.url])[0]  # a login redirect: back to the page asked for
        meta = {k: v for k, v in request.meta.items()
                if k not in ("redirect_times", "redirect_ttl", "redirect_urls", "redirect_reasons", "download_latency")}
        meta[TRIED_META] = tried
        if nxt is None or nxt.name in tried:
            # nothing to rotate to: the page, as it was asked for (not the login page it was sent
            # to), goes back once more and fails at once with NoAccountLeft in process_request,
            # so the spider keeps it for the next run (page_no_account) instead of backing off
            # and retrying a block page on an account that stays banned for cooldown_minutes
            self.exhausted = True
            self.current = None
            stats.inc_value(STATS + "none_left")
            stats.set_value(EXHAUSTED_STAT, self.site)
            logger.warning("%s: every account is cooling down or expired; %s is kept for the next run",
                           self.site, first)
            meta.pop(ACCOUNT_META, None)
            return request.replace(url=first, meta=meta, dont_filter=True)
        stats.inc_value(STATS + "rescheduled")
        meta[ACCOUNT_META] = nxt.name
        retry = request.replace(url=first, meta=meta, dont_filter=True)
        retry.headers.pop(b"Cookie", None)
        for header, _ in account.headers:
            retry.headers.pop(header.encode(), None)
        return retry
