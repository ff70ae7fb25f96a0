"""Load and validate a vocwatch configuration file (TOML, plus optional location CSVs).

Invalid configuration must never start a crawl, so everything is checked here, at
load time, and the first problem is reported as ``file: key.path: what is wrong``.
Strings may reference environment variables as ``${NAME}`` or ``${NAME:-default}``;
that is how URLs of local services and secrets (which never belong in the file) get in.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import difflib
import functools
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.locate import resolve_store_url
from config.model import (
    ALERT_KINDS,
    ALERT_SEVERITIES,
    CHANNEL_FORMATS,
    DIGEST_EVERY,
    LOCATION_CATEGORIES,
    LOCATION_ROLES,
    PROXY_ROTATIONS,
    PROXY_SOURCES,
    RENDER_MODES,
    SITE_PROXY_CHOICES,
    SOURCE_KINDS,
    WEEKDAYS,
    AlertSettings,
    Brand,
    Channel,
    CompetitorRule,
    Config,
    CrawlSettings,
    DashboardSettings,
    DigestSettings,
    DistributedSettings,
    HealthSettings,
    Location,
    RateLimit,
    Route,
    ScheduleSettings,
    SessionSettings,
    Source,
)
from config.redact import (
    TOKENISH,
    is_secret_param,
    query_params,
    redact,
    secrets_in_use,
    url_secrets,
)

STORE_URL_ENV = "VOCWATCH_STORE_URL"
REDIS_URL_ENV = "VOCWATCH_REDIS_URL"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
_TOP_LEVEL_KEYS = {"store", "crawl", "brands", "locations", "location_files", "sources", "channels", "routes",
                   "schedule", "alerts", "health", "distributed", "sessions", "dashboard", "digests"}
_INTERVAL = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$")


class ConfigError(ValueError):
    """A configuration problem, located by file and key path."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        problem = redact(problem)  # a message may quote an expanded value: never a secret in it
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + problem)


class ConfigErrors(ConfigError):
    """Every problem the loader found, not only the first: a config is fixed in one go.
    ``errors`` holds them in file order; ``file``/``key``/``problem`` are the first one's."""

    def __init__(self, errors: list[ConfigError]) -> None:
        flat = [e for err in errors for e in (err.errors if isinstance(err, ConfigErrors) else [err])]
        self.errors = flat
        self.file, self.key, self.problem = flat[0].file, flat[0].key, flat[0].problem
        ValueError.__init__(self, "\n".join(str(e) for e in flat))


class _Collector:
    """Gathers the problems of independent parts (each table, each array entry) so one load
    reports them all; ``failed`` remembers ids of entries that did not load, so their
    dependants are not reported again as "unknown id"."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self.failed: set[str] = set()

    @contextlib.contextmanager
    def part(self, failed_id: Any = None) -> Iterator[None]:
        try:
            yield
        except ConfigError as exc:
            self.errors.append(exc)
            if isinstance(failed_id, str):
                self.failed.add(failed_id)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)


class _Reader:
    """Typed access to one TOML table that remembers where it is, for error messages."""

    def __init__(self, file: str | Path, path: str, table: Any) -> None:
        self.file, self.path = file, path
        if not isinstance(table, dict):
            self.fail("", f"expected a table, got {_kind(table)}")
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> None:
        raise ConfigError(self.file, self.key(name) if name else self.path, problem)

    def get(self, name: str, types: type | tuple[type, ...], default: Any = ..., *, check: Callable[[Any], str | None] | None = None) -> Any:
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                close = difflib.get_close_matches(name, [k for k in self.table if isinstance(k, str)], n=1, cutoff=0.5)
                self.fail(name, "is required" + (f" (found {close[0]!r}: a misspelling?)" if close else ""))
            return default
        value = self.table[name]
        if isinstance(value, str):
            value = _expand_env(value, lambda p: self.fail(name, p))
        allowed = types if isinstance(types, tuple) else (types,)
        if isinstance(value, bool) and bool not in allowed:
            self.fail(name, f"expected {_type_name(types)}, got a boolean")
        if float in allowed and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, types):
            self.fail(name, f"expected {_type_name(types)}, got {_kind(value)} {value!r}")
        if check is not None and (problem := check(value)):
            self.fail(name, problem)
        return value

    def done(self) -> None:
        """Every key of the table that nothing read is an error, each with a "did you mean"."""
        unknown = sorted(set(self.table) - self.used)
        errors = []
        for key in unknown:
            allowed = ", ".join(sorted(self.used))
            close = difflib.get_close_matches(str(key), sorted(self.used), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            if self.path and key in _TOP_LEVEL_KEYS:
                hint += "in TOML a top-level key must come before the first [table] or [[array]]; "
            errors.append(ConfigError(self.file, self.key(key), f"unknown key ({hint}allowed here: {allowed})"))
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ConfigErrors(errors)


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(type(value), type(value).__name__)


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array", dict: "a table"}
    ts = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in ts)


def _expand_env(value: str, fail: Callable[[str], None]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        fail(f"environment variable {name} is not set (referenced as ${{{name}}})")
        return ""

    return _ENV_REF.sub(sub, value)


def _check_id(value: str) -> str | None:
    return None if _ID.match(value) else f"invalid id {value!r}: use letters, digits and - _ . : /"


def _check_range(lo: float, hi: float) -> Callable[[float], str | None]:
    def check(v: float) -> str | None:
        if math.isnan(v) or not lo <= v <= hi:
            return f"must be between {lo:g} and {hi:g}, got {v!r}"
        return None

    return check


def _check_choice(choices: tuple[str, ...] | dict[str, str]) -> Callable[[str], str | None]:
    def check(v: str) -> str | None:
        return None if v in choices else f"must be one of {', '.join(choices)}; got {v!r}"

    return check


def _check_url(v: str) -> str | None:
    return None if re.match(r"^https?://[^\s/]+", v) else f"must be an http(s) URL, got {v!r}"


def _check_timezone(v: str) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)"
    return None


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def interval_seconds(v: str) -> int | None:
    """Seconds between runs of an ``every 30m`` schedule; ``None`` for a crontab."""
    m = _INTERVAL.match(v.strip())
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)] if m else None


def crontab_fields(expr: str) -> dict[str, str]:
    """APScheduler ``CronTrigger`` fields for a standard 5-field crontab.

    Not ``CronTrigger.from_crontab``: APScheduler 3 numbers weekdays from Monday = 0, so
    its ``* * * * 1`` means Tuesday. Cron's day numbers (0 or 7 = Sunday) become names."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"wrong number of fields; got {len(values)}, expected 5")
    minute, hour, day, month, weekday = values
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": _cron_weekdays(weekday)}


def _cron_weekdays(field: str) -> str:
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            lo, hi = 0, 6
        else:
            lo_s, _, hi_s = span.partition("-")
            lo = _cron_day(lo_s)
            hi = _cron_day(hi_s) if hi_s else (7 if step else lo)
        if (step and not step.isdigit()) or hi < lo:
            raise ValueError(f"bad day of week {part!r}")
        days.update(range(lo, hi + 1, int(step or 1)))
    return ",".join(_CRON_DAYS[d] for d in sorted({d % 7 for d in days}))


def _cron_day(text: str) -> int:
    if text.lower() in _CRON_DAYS:
        return _CRON_DAYS.index(text.lower())
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"bad day of week {text!r}")


@functools.lru_cache(maxsize=4096)
def check_schedule(v: str) -> str | None:
    """Accept ``every 30m`` style intervals or a 5-field crontab. Cached: a chain's 120,000
    sources share a handful of schedule texts, and checking a crontab compiles a trigger."""
    if interval_seconds(v) is not None:
        return None if interval_seconds(v) else "the interval must be at least 1s"
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger(**crontab_fields(v))
    except ValueError as exc:
        return f"not a schedule ({exc}); use a crontab like '*/30 * * * *' or 'every 30m'"
    return None


def _check_absolute(v: str) -> str | None:
    """Whether the file exists is checked when a rendering crawl starts (``spiders.base``):
    a config is also read on machines that only report and have no browser."""
    return None if os.path.isabs(v) else f"must be an absolute path, got {v!r}"


def _positive(v: float) -> str | None:
    return None if v > 0 else f"must be greater than 0, got {v!r}"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else f"must be 0 or more, got {v!r}"


def load_config(path: str | Path) -> Config:
    """Read, expand and validate a configuration file; raise :class:`ConfigError`."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"invalid TOML: {exc}") from None
    return build_config(raw, path)


def build_config(raw: dict[str, Any], path: Path) -> Config:
    """The typed config, or :class:`ConfigErrors` naming every problem of every part."""
    literal_credential(raw, path)
    top = _Reader(path, "", raw)
    found = _Collector()

    # a path in the file is relative to the file's folder; one in the environment to the
    # current folder (config.locate): every entry point then opens the same store
    folder, env_url = Path(os.path.abspath(path)).parent, os.environ.get(STORE_URL_ENV)
    file_url = resolve_store_url("sqlite:///vocwatch.db", folder)
    with found.part():
        store = _Reader(path, "store", top.get("store", dict, {}))
        file_url = resolve_store_url(store.get("url", str, "sqlite:///vocwatch.db"), folder)
        store.done()
    store_url = resolve_store_url(env_url, Path.cwd()) if env_url else file_url

    crawl, schedule = CrawlSettings(), ScheduleSettings()
    with found.part():
        crawl = _read_crawl(_Reader(path, "crawl", top.get("crawl", dict, {})))
    with found.part():
        schedule = _read_schedule(_Reader(path, "schedule", top.get("schedule", dict, {})))

    brands: dict[str, Brand] = {}
    for i, table in enumerate(_entries(top, "brands", found)):
        with found.part(table.get("id") if isinstance(table, dict) else None):
            r = _Reader(path, f"brands[{i}]", table)
            b = Brand(id=r.get("id", str, check=_check_id), name=r.get("name", str, ""))
            r.done()
            if b.id in brands:
                r.fail("id", f"duplicate brand id {b.id!r}")
            brands[b.id] = Brand(b.id, b.name or b.id)

    location_rows: list[tuple[_Reader, dict[str, Any]]] = []
    for i, t in enumerate(_entries(top, "locations", found)):
        with found.part():
            location_rows.append((_Reader(path, f"locations[{i}]", t), t))
    for j, csv_name in enumerate(_entries(top, "location_files", found)):
        with found.part():
            if not isinstance(csv_name, str):
                top.fail(f"location_files[{j}]", "expected a file name")
            location_rows.extend(_read_location_csv(path.parent / csv_name))

    locations: dict[str, Location] = {}
    for r, t in location_rows:
        if t.get("brand") in found.failed:
            found.failed.add(t.get("id"))  # type: ignore[arg-type]
            continue  # its brand was reported already
        with found.part(t.get("id")):
            loc = _read_location(r, brands)
            if loc.id in locations:
                r.fail("id", f"duplicate location id {loc.id!r}")
            locations[loc.id] = loc
    for r, t in location_rows:
        loc = locations.get(t.get("id"))  # type: ignore[arg-type]
        if loc is not None and loc.competitors:
            with found.part():
                _check_competitor_ids(r, loc, {**locations, **dict.fromkeys(found.failed, loc)})

    sources: dict[str, Source] = {}
    for i, table in enumerate(_entries(top, "sources", found)):
        if isinstance(table, dict) and table.get("location") in found.failed:
            continue  # its location was reported already
        with found.part():
            r = _Reader(path, f"sources[{i}]", table)
            src = _read_source(r, locations)
            if src.id in sources:
                r.fail("id", f"duplicate source id {src.id!r}")
            sources[src.id] = src

    channels: dict[str, Channel] = {}
    for i, table in enumerate(_entries(top, "channels", found)):
        with found.part(table.get("id") if isinstance(table, dict) else None):
            r = _Reader(path, f"channels[{i}]", table)
            ch = _read_channel(r)
            if ch.id in channels:
                r.fail("id", f"duplicate channel id {ch.id!r}")
            channels[ch.id] = ch
    routes: list[Route] = []
    for i, t in enumerate(_entries(top, "routes", found)):
        if isinstance(t, dict) and any(c in found.failed for c in (t.get("channels") or [])):
            continue
        with found.part():
            routes.append(_read_route(_Reader(path, f"routes[{i}]", t), channels, brands, locations))
    alerts, health = AlertSettings(), HealthSettings()
    distributed, sessions = DistributedSettings(), dict[str, SessionSettings]()
    with found.part():
        alerts = _read_alerts(_Reader(path, "alerts", top.get("alerts", dict, {})))
    with found.part():
        health = _read_health(_Reader(path, "health", top.get("health", dict, {})))
    with found.part():
        distributed = _read_distributed(_Reader(path, "distributed", top.get("distributed", dict, {})))
    with found.part():
        sessions = _read_sessions(_Reader(path, "sessions", top.get("sessions", dict, {})))
    dashboard = DashboardSettings()
    with found.part():
        dashboard = _read_dashboard(_Reader(path, "dashboard", top.get("dashboard", dict, {})))
    digest_tables = _entries(top, "digests", found)
    with found.part():
        top.done()
    config = Config(path=Path(os.path.abspath(path)), store_url=store_url,
                    store_from=STORE_URL_ENV if env_url and store_url != file_url else "config", crawl=crawl, brands=brands, locations=locations, sources=sources,
                    channels=channels, routes=tuple(routes), schedule=schedule, alerts=alerts, health=health,
                    distributed=distributed, sessions=sessions, dashboard=dashboard,
                    site_proxies={site: t.proxies for site, t in sessions.items()})
    # a digest's scope is checked against the locations, so it is read from the built config
    digests = _read_digests(path, digest_tables, config, found)
    found.raise_any()
    return dataclasses.replace(config, digests=digests) if digests else config


def _read_digests(path: Path, tables: list[Any], config: Config, found: _Collector) -> tuple[DigestSettings, ...]:
    """``[[digests]]``: each names a scope that sees own locations and configured channels,
    so a typo fails at load time instead of mailing an empty digest (or nobody). A digest
    whose channel or scope may name an entry that failed to load is not reported again."""
    from monitor.dashboard.auth import Scope, ScopeError
    from monitor.metrics import parse_window

    # a brand, location or channel that did not load, or a broken location table or file
    broken = bool(found.failed) or any(e.key.startswith(("locations", "location_files")) or e.file != str(path)
                                       for e in found.errors)

    def check_scope(v: str) -> str | None:
        try:
            Scope.parse(v).validate(config)
        except ScopeError as exc:
            return str(exc)
        return None

    def depends_on_failed(t: Any) -> bool:
        if not isinstance(t, dict):
            return False
        channels = t.get("channels")
        if any(c in found.failed for c in (channels if isinstance(channels, list) else [channels])):
            return True
        scope = t.get("scope")
        if not isinstance(scope, str) or check_scope(scope) is None:
            return False
        # a scope that sees nothing may be the doing of an entry that failed to load
        return broken

    def check_window(v: str) -> str | None:
        try:
            parse_window(v)
        except ValueError as exc:
            return str(exc)
        return None

    out: dict[str, DigestSettings] = {}
    for i, table in enumerate(tables):
        if depends_on_failed(table):
            continue
        with found.part():
            _read_digest(_Reader(path, f"digests[{i}]", table), config, out, check_scope, check_window)
    return tuple(out.values())


def _read_digest(r: _Reader, config: Config, out: dict[str, DigestSettings],
                 check_scope: Callable[[str], str | None], check_window: Callable[[str], str | None]) -> None:
    """One ``[[digests]]`` entry, added to ``out`` by name."""
    from monitor.dashboard.auth import Scope

    scope = str(Scope.parse(r.get("scope", str, check=check_scope)))
    channels = _string_list(r, "channels", required=True)
    for name in channels:
        if name not in config.channels:
            r.fail("channels", f"unknown channel id {name!r}" + (
                f"; declared: {', '.join(config.channels)}" if config.channels else " (declare it under [[channels]])"))
    if len(set(channels)) != len(channels):
        r.fail("channels", "names a channel twice")
    every = r.get("every", str, "weekly", check=_check_choice(DIGEST_EVERY))
    if "day" in r.table and every != "weekly":
        r.fail("day", f"only a weekly digest has a day (a daily one goes out every day, a monthly one on the 1st); "
               f"this one is {every}")
    d = DigestSettings(
        name=r.get("name", str, f"{every}-{scope}", check=_check_id),
        scope=scope,
        channels=channels,
        every=every,
        day=r.get("day", str, "mon", check=_check_choice(WEEKDAYS)),
        hour=r.get("hour", int, 8, check=_check_range(0, 23)),
        timezone=r.get("timezone", str, config.crawl.timezone, check=_check_timezone),
        window=r.get("window", str, None, check=check_window),
        index_window=r.get("index_window", str, "90d", check=check_window),
    )
    r.done()
    if d.name in out:
        r.fail("name", f"duplicate digest name {d.name!r}" + ("" if "name" in r.table else
                                                              " (the default, every-scope): give each a name"))
    out[d.name] = d



def _entries(top: _Reader, name: str, found: _Collector) -> list[Any]:
    """The entries of a top-level array (an error, and none, when it is not an array)."""
    with found.part():
        return list(top.get(name, list, []))
    return []


#: Keys that would hold a session's credential (compared case-insensitively). They are
#: refused anywhere in a config file: cookies and tokens come only from the environment or
#: ``VOCWATCH_SECRETS_DIR`` (``crawlers.sessions``), which are kept out of version control.
CREDENTIAL_KEYS = frozenset({"cookie", "cookies", "set-cookie", "authorization", "proxy-authorization",
                             "storage_state", "session_cookie", "access_token"})


def literal_credential(raw: Any, path: Path, where: str = "") -> None:
    """Raise :class:`ConfigError` naming the first credential-holding key in the TOML
    (``cookie``, ``cookies``, a ``Cookie`` header, ``authorization``, ...), wherever it is."""
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            literal_credential(item, path, f"{where}[{i}]")
        return
    if not isinstance(raw, dict):
        return
    for key, value in raw.items():
        at = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and key.lower() in CREDENTIAL_KEYS:
            site = where.split(".", 1)[1] if where.startswith("sessions.") else "SITE"
            raise ConfigError(path, at, f"a literal {key} in the config: session cookies and credentials never "
                              "belong in a config file; put them in $VOCWATCH_SECRETS_DIR/sessions/"
                              f"{site}/<account>.cookie (a Cookie header string), .txt (Netscape cookies.txt) "
                              f"or .json (Playwright storage_state), or in VOCWATCH_SESSION_{site.upper()}_<ACCOUNT>")
        literal_credential(value, path, at)


def _read_sessions(r: _Reader) -> dict[str, SessionSettings]:
    """``[sessions.<site>]`` tables: how a site's accounts are used (never the accounts' secrets)."""
    out: dict[str, SessionSettings] = {}
    for site in list(r.table):
        t = _Reader(r.file, r.key(site), r.get(site, dict))
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", site):
            r.fail(site, f"invalid site name {site!r}: use letters, digits and - _ .")
        d = SessionSettings(site=site)
        out[site] = SessionSettings(
            site=site,
            required=t.get("required", bool, d.required),
            cooldown_minutes=t.get("cooldown_minutes", float, d.cooldown_minutes, check=_positive),
            proxies=read_site_proxy_choice(t),
        )
        t.done()
    r.done()
    return out


def read_site_proxy_choice(r: _Reader) -> str:
    """``[sessions.<site>] proxies``: the one key of a site's sessions table the proxy pool
    reads (the sessions reader owns and checks the others, so this one never calls ``done``)."""
    raw = r.table.get("proxies")
    if isinstance(raw, str) and "://" in raw:
        r.fail("proxies", "holds a proxy URL; proxy URLs (and their passwords) come only from the environment "
               "(VOCWATCH_PROXIES) or $VOCWATCH_SECRETS_DIR/proxies.txt: set [crawl] proxies = \"env\" or "
               "\"secrets\" and write here \"always\", \"never\" or \"auto\"")
    return str(r.get("proxies", str, "auto", check=_check_choice(SITE_PROXY_CHOICES)))


def _check_proxy_setting(v: str) -> str | None:
    """``[crawl] proxies`` names where the pool comes from; a URL here (with a password, the
    worst case) is refused before anything else is said about it."""
    if "://" in v:
        return ("holds a proxy URL; proxy URLs come only from the environment (proxies = \"env\": "
                "VOCWATCH_PROXIES) or the secrets directory (proxies = \"secrets\": "
                "$VOCWATCH_SECRETS_DIR/proxies.txt), never from a config file"
                + (" (and this one carries a password)" if proxy_url_password(v) else ""))
    return _check_choice(PROXY_SOURCES)(v)


def proxy_url_password(url: str) -> str | None:
    """The password of a ``scheme://user:password@host`` URL, or None."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    return userinfo.partition(":")[2] or None


def _read_crawl(r: _Reader) -> CrawlSettings:
    d = CrawlSettings()
    c = CrawlSettings(
        delay=r.get("delay", float, d.delay, check=_non_negative),
        concurrency_per_site=r.get("concurrency_per_site", int, d.concurrency_per_site, check=_positive),
        timezone=r.get("timezone", str, d.timezone, check=_check_timezone),
        timeout=r.get("timeout", float, d.timeout, check=_positive),
        retries=r.get("retries", int, d.retries, check=_non_negative),
        retry_backoff=r.get("retry_backoff", float, d.retry_backoff, check=_non_negative),
        retry_backoff_max=r.get("retry_backoff_max", float, d.retry_backoff_max, check=_non_negative),
        retry_budget=r.get("retry_budget", float, d.retry_budget, check=_non_negative),
        max_pages=r.get("max_pages", int, d.max_pages, check=_positive),
        time_limit=r.get("time_limit", float, d.time_limit, check=_non_negative),
        memory_limit_mb=r.get("memory_limit_mb", int, d.memory_limit_mb, check=_non_negative),
        obey_robots=r.get("obey_robots", bool, d.obey_robots),
        user_agent=r.get("user_agent", str, d.user_agent),
        incremental_overlap_hours=r.get("incremental_overlap_hours", float, d.incremental_overlap_hours, check=_non_negative),
        pseudonymise_authors=r.get("pseudonymise_authors", bool, d.pseudonymise_authors),
        chromium_path=r.get("chromium_path", str, d.chromium_path, check=_check_absolute),
        browser_max_pages=r.get("browser_max_pages", int, d.browser_max_pages, check=_check_range(1, 64)),
        browser_pages_per_context=r.get("browser_pages_per_context", int, d.browser_pages_per_context,
                                        check=_positive),
        proxies=r.get("proxies", str, d.proxies, check=_check_proxy_setting),
        proxy_rotation=r.get("proxy_rotation", str, d.proxy_rotation, check=_check_choice(PROXY_ROTATIONS)),
        proxy_cooldown_minutes=r.get("proxy_cooldown_minutes", float, d.proxy_cooldown_minutes, check=_non_negative),
    )
    if c.retry_backoff_max < c.retry_backoff:
        r.fail("retry_backoff_max", f"must be at least retry_backoff ({c.retry_backoff:g}), got {c.retry_backoff_max:g}")
    r.done()
    return c


def _read_schedule(r: _Reader) -> ScheduleSettings:
    d = ScheduleSettings()
    s = ScheduleSettings(
        default=r.get("default", str, d.default, check=check_schedule),
        jitter_seconds=r.get("jitter_seconds", float, d.jitter_seconds, check=_non_negative),
        misfire_grace_seconds=r.get("misfire_grace_seconds", float, d.misfire_grace_seconds, check=_positive),
        time_limit_seconds=r.get("time_limit_seconds", float, d.time_limit_seconds, check=_positive),
        max_parallel=r.get("max_parallel", int, d.max_parallel, check=_positive),
    )
    r.done()
    return s


def _read_distributed(r: _Reader) -> DistributedSettings:
    d = DistributedSettings()

    def check_redis_url(url: str) -> str | None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return "expected a redis://host:port/db URL (rediss:// for TLS, unix:// for a socket)"
        return None

    raw = r.table.get("redis_url")
    if isinstance(raw, str) and (secret := literal_secret(raw)):
        r.fail("redis_url", f"contains {secret}; a Redis password comes only from the environment: "
               f"set {REDIS_URL_ENV}, or write ${{REDIS_PASSWORD}} in the URL")
    file_url = r.get("redis_url", str, None, check=check_redis_url)
    s = DistributedSettings(
        redis_url=os.environ.get(REDIS_URL_ENV) or file_url,
        key_prefix=r.get("key_prefix", str, d.key_prefix, check=_check_id),
        lease_seconds=r.get("lease_seconds", float, d.lease_seconds, check=_check_range(1, 3600)),
        leader_ttl_seconds=r.get("leader_ttl_seconds", float, d.leader_ttl_seconds, check=_check_range(1, 600)),
        workers_per_job=r.get("workers_per_job", int, d.workers_per_job, check=_positive),
    )
    r.done()
    return s


def _read_alerts(r: _Reader) -> AlertSettings:
    d = AlertSettings()
    share = _check_range(0.01, 1)
    hours = _check_range(1, 24 * 14)
    probability = _check_range(1e-300, 0.5)
    a = AlertSettings(
        enabled=r.get("enabled", bool, d.enabled),
        watch_competitors=r.get("watch_competitors", bool, d.watch_competitors),
        baseline_days=r.get("baseline_days", int, d.baseline_days, check=_check_range(7, 365)),
        spike_window_hours=r.get("spike_window_hours", int, d.spike_window_hours, check=hours),
        min_count=r.get("min_count", int, d.min_count, check=_positive),
        min_ratio=r.get("min_ratio", float, d.min_ratio, check=_check_range(1, 1000)),
        dispersion=r.get("dispersion", float, d.dispersion, check=_positive),
        p_info=r.get("p_info", float, d.p_info, check=probability),
        p_warning=r.get("p_warning", float, d.p_warning, check=probability),
        p_critical=r.get("p_critical", float, d.p_critical, check=probability),
        share_window_hours=r.get("share_window_hours", int, d.share_window_hours, check=hours),
        share_min_mentions=r.get("share_min_mentions", int, d.share_min_mentions, check=_positive),
        share_jump=r.get("share_jump", float, d.share_jump, check=share),
        rating_window_hours=r.get("rating_window_hours", int, d.rating_window_hours, check=hours),
        rating_min_rated=r.get("rating_min_rated", int, d.rating_min_rated, check=_positive),
        rating_drop=r.get("rating_drop", float, d.rating_drop, check=_check_range(0.05, 5)),
        viral_window_hours=r.get("viral_window_hours", int, d.viral_window_hours, check=hours),
        viral_min_growth=r.get("viral_min_growth", int, d.viral_min_growth, check=_positive),
        viral_ratio=r.get("viral_ratio", float, d.viral_ratio, check=_check_range(1, 1000)),
        cooldown_hours=r.get("cooldown_hours", float, d.cooldown_hours, check=_check_range(0, 24 * 30)),
        update_growth=r.get("update_growth", float, d.update_growth, check=_positive),
    )
    r.done()
    if not a.p_critical < a.p_warning < a.p_info:
        r.fail("p_warning", f"tiers must shrink: p_critical ({a.p_critical:g}) < p_warning ({a.p_warning:g}) "
               f"< p_info ({a.p_info:g})")
    return a


def check_public_url(v: str) -> str | None:
    """The dashboard's public address, which every alert message links to: an http(s)
    origin with an optional path, no credentials (they would be mailed to everyone), no
    query or fragment (the link appends ``/#/alerts/<id>``)."""
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname \
            or re.search(r"[\s<>\"'`\\{}|^]", v):
        return f"must be an http(s) URL such as https://voc.example.com, got {v!r}"
    if "@" in parts.netloc:
        return "must not contain a user name or password (the link is sent in every alert)"
    if parts.query or parts.fragment or "?" in v or "#" in v:
        return "must have no query or fragment (the incident link appends /#/alerts/<id>)"
    try:
        parts.port  # noqa: B018  (raises for a bad port)
    except ValueError:
        return f"has a bad port: {v!r}"
    return None


def _read_dashboard(r: _Reader) -> DashboardSettings:
    url = r.get("url", str, None, check=check_public_url)
    r.done()
    return DashboardSettings(url=url.rstrip("/") if url else None)


def _read_health(r: _Reader) -> HealthSettings:
    d = HealthSettings()
    share = _check_range(0, 1)
    h = HealthSettings(
        enabled=r.get("enabled", bool, d.enabled),
        history_runs=r.get("history_runs", int, d.history_runs, check=_check_range(1, 100)),
        min_history=r.get("min_history", int, d.min_history, check=_check_range(1, 100)),
        items_ratio=r.get("items_ratio", float, d.items_ratio, check=share),
        min_mentions=r.get("min_mentions", int, d.min_mentions, check=_positive),
        coverage_was=r.get("coverage_was", float, d.coverage_was, check=share),
        coverage_now=r.get("coverage_now", float, d.coverage_now, check=share),
        error_ratio=r.get("error_ratio", float, d.error_ratio, check=share),
        blocked_ratio=r.get("blocked_ratio", float, d.blocked_ratio, check=share),
        malformed_ratio=r.get("malformed_ratio", float, d.malformed_ratio, check=share),
        stale_runs=r.get("stale_runs", int, d.stale_runs, check=_check_range(2, 101)),
    )
    r.done()
    if h.min_history > h.history_runs:
        r.fail("min_history", f"must not exceed history_runs ({h.history_runs}), got {h.min_history}")
    if h.coverage_now >= h.coverage_was:
        r.fail("coverage_now", f"must be below coverage_was ({h.coverage_was:g}), got {h.coverage_now:g}")
    return h


def _read_location(r: _Reader, brands: dict[str, Brand]) -> Location:
    lid = r.get("id", str, check=_check_id)
    brand = r.get("brand", str)
    if brand not in brands:
        r.fail("brand", f"unknown brand {brand!r} (declare it under [[brands]])")
    role = r.get("role", str, check=_check_choice(LOCATION_ROLES))
    comp_raw = r.get("competitors", (list, dict), None)
    competitors: CompetitorRule | None = None
    if comp_raw is not None:
        if role != "own":
            r.fail("competitors", "only own locations (role = \"own\") have a competitive set")
        if isinstance(comp_raw, list):
            if not comp_raw or not all(isinstance(c, str) for c in comp_raw):
                r.fail("competitors", "expected a non-empty array of location ids")
            competitors = CompetitorRule(ids=tuple(comp_raw))
        else:
            cr = _Reader(r.file, r.key("competitors"), comp_raw)
            competitors = CompetitorRule(
                radius_km=cr.get("radius_km", float, check=_positive),
                same_category=cr.get("same_category", bool, True),
                same_price_tier=cr.get("same_price_tier", bool, False),
                same_stars=cr.get("same_stars", bool, False),
                add=_id_list(cr, "add"),
                exclude=_id_list(cr, "exclude"),
            )
            cr.done()
    loc = Location(
        id=lid,
        name=r.get("name", str),
        brand=brand,
        category=r.get("category", str, check=_check_choice(LOCATION_CATEGORIES)),
        lat=r.get("lat", float, check=_check_range(-90, 90)),
        lon=r.get("lon", float, check=_check_range(-180, 180)),
        region=r.get("region", str),
        role=role,
        address=r.get("address", str, ""),
        competitors=competitors,
        price_tier=r.get("price_tier", int, None, check=_check_range(1, 5)),
        stars=r.get("stars", float, None, check=_check_stars),
    )
    r.done()
    if competitors and competitors.same_price_tier and loc.price_tier is None:
        r.fail("competitors.same_price_tier", "needs this location's price_tier")
    if competitors and competitors.same_stars and loc.stars is None:
        r.fail("competitors.same_stars", "needs this location's stars")
    return loc


def _check_stars(v: float) -> str | None:
    if math.isnan(v) or not 1 <= v <= 5 or v * 2 != int(v * 2):
        return f"must be a star class from 1 to 5 in half stars, got {v!r}"
    return None


def _id_list(r: _Reader, name: str) -> tuple[str, ...]:
    ids = r.get(name, list, [])
    if not all(isinstance(i, str) for i in ids):
        r.fail(name, "expected an array of location ids")
    return tuple(ids)


def _check_competitor_ids(r: _Reader, loc: Location, locations: dict[str, Location]) -> None:
    """Named, added and excluded competitors must exist and not be the location itself."""
    rule = loc.competitors
    assert rule is not None
    for key, ids in (("competitors", rule.ids), ("competitors.add", rule.add), ("competitors.exclude", rule.exclude)):
        for cid in ids:
            if cid not in locations:
                r.fail(key, f"unknown location id {cid!r}")
            if cid == loc.id:
                r.fail(key, "a location cannot be its own competitor")
    both = sorted(set(rule.add) & set(rule.exclude))
    if both:
        r.fail("competitors.exclude", f"{both[0]!r} is both added and excluded")


_CSV_NUMBERS = {"lat": float, "lon": float, "radius_km": float, "stars": float, "price_tier": int}
_CSV_RULE_COLUMNS = {"competitors_add": "add", "competitors_exclude": "exclude"}


def _read_location_csv(csv_path: Path) -> list[tuple[_Reader, dict[str, Any]]]:
    """Locations from a CSV with a header row (id,name,brand,category,lat,lon,region,role,
    address[,price_tier][,stars][,competitors][,radius_km][,competitors_add][,competitors_exclude]).
    ``competitors`` and the add/exclude overrides of a radius set are ``;``-separated ids."""
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(csv_path, "", "location file not found") from None
    rows = []
    for n, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        table: dict[str, Any] = {}
        for key, value in row.items():
            if key is None:
                raise ConfigError(csv_path, f"line {n}", "more values than header columns")
            value = (value or "").strip()
            if value == "":
                continue
            if key in _CSV_NUMBERS:
                try:
                    table[key] = _CSV_NUMBERS[key](value)
                except ValueError:
                    what = "an integer" if _CSV_NUMBERS[key] is int else "a number"
                    raise ConfigError(csv_path, f"line {n}.{key}", f"expected {what}, got {value!r}") from None
            else:
                table[key] = value
        for key in ("competitors", *_CSV_RULE_COLUMNS):
            if key in table:
                table[key] = [c.strip() for c in table[key].split(";") if c.strip()]
        if "radius_km" in table:
            if "competitors" in table:
                raise ConfigError(csv_path, f"line {n}", "give either competitors or radius_km, not both")
            table["competitors"] = {"radius_km": table.pop("radius_km")}
            for column, key in _CSV_RULE_COLUMNS.items():
                if column in table:
                    table["competitors"][key] = table.pop(column)
        for column in _CSV_RULE_COLUMNS:
            if column in table:
                raise ConfigError(csv_path, f"line {n}.{column}", "only applies to a radius_km set")
        rows.append((_Reader(csv_path, f"line {n}", table), table))
    return rows


def _read_source(r: _Reader, locations: dict[str, Location]) -> Source:
    location = r.get("location", str)
    if location not in locations:
        r.fail("location", f"unknown location id {location!r}")
    kind = r.get("kind", str, check=_check_choice(SOURCE_KINDS))
    selectors = None
    if kind == "selectors":  # a site described by selectors in the config (config/selectors.py)
        from config.selectors import read_selector_spec

        selectors = read_selector_spec(_Reader(r.file, r.key("selectors"), r.get("selectors", dict)))
    src = Source(
        id=r.get("id", str, f"{location}/{kind}", check=_check_id),
        location=location,
        kind=kind,
        url=r.get("url", str, check=_check_url),
        schedule=r.get("schedule", str, None, check=check_schedule),
        site=r.get("site", str, None),
        delay=r.get("delay", float, None, check=_non_negative),
        timezone=r.get("timezone", str, None, check=_check_timezone),
        max_pages=r.get("max_pages", int, None, check=_positive),
        render=r.get("render", str, "http", check=_check_choice(RENDER_MODES)),
        selectors=selectors,
    )
    if kind == "site":
        from spiders.pages.registry import sites

        if src.site is None:
            r.fail("site", f'kind = "site" needs site = one of: {", ".join(sites())}')
        elif src.site not in sites():
            r.fail("site", f"no adapter for site {src.site!r}; known: {', '.join(sites())}")
    r.done()
    return src


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_FROM_ENV = "\x00"


def _parse_rate(v: str) -> RateLimit | str:
    m = _RATE.match(v)
    if not m or int(m.group(1)) < 1:
        return f"expected COUNT/UNIT such as '10/h', '3/15m' or '100/d' (count >= 1), got {v!r}"
    seconds = int(m.group(2) or 1) * _UNIT_SECONDS[m.group(3)]
    return RateLimit(count=int(m.group(1)), seconds=float(seconds), text=v.strip())


def literal_secret(raw_url: str) -> str | None:
    """Name the secret written literally into an apprise URL, or ``None`` if there is none.

    Works on the URL *as written*: every ``${ENV}`` reference is first replaced by a marker,
    so a password or token counts as safe only when it (or the whole URL) comes from the
    environment. Checked: ``user:password@``, token-looking host/user/path parts (bot keys
    of Slack, DingTalk, WeCom, Feishu sit there) and secret-named or token-looking query values.
    """
    template = _ENV_REF.sub(_FROM_ENV, raw_url)
    if "://" not in template:
        return None
    rest = template.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, host = netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    if has_password and password and _FROM_ENV not in password:
        return "a literal password (user:password@ in the URL)"
    host = re.sub(r":\d+$", "", host)
    for part in (user, host, *path.split("/")):
        if _FROM_ENV not in part and TOKENISH.match(unquote(part)):
            return "a literal token (a key-like part of the URL)"
    for key, value in query_params(query):
        if value and _FROM_ENV not in value and (is_secret_param(key) or TOKENISH.match(value)):
            return f"a literal secret (the {key}= parameter)"
    return None


def _apprise_formats(url: str) -> tuple[str, ...] | str:
    """The body formats the URL's service accepts (its preferred first), or why apprise refuses it."""
    import logging

    import apprise

    with apprise.LogCapture(level=logging.WARNING) as log:
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        said = [line for line in log.getvalue().splitlines() if "://" not in line]
        reason = f": {said[-1].split(' - ', 2)[-1]}" if said else ""
        return (f"not a URL apprise can deliver to (scheme {scheme!r}{reason}); see "
                "https://github.com/caronc/apprise/wiki for mailto://, json://, slack://, dingtalk://, ...")
    formats = plugin.notify_format if isinstance(plugin.notify_format, tuple) else (plugin.notify_format,)
    return tuple(f.value for f in formats)


#: A value from the environment in a URL's user, host or path counts as a secret when it
#: looks like one (letters and digits, 8+ characters): ``json://${HOOK_HOST}/${HOOK_PATH}``
#: names a place, ``dingtalk://${DT_TOKEN}/`` a key.
_KEYISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])\S{8,}$")


def channel_secrets(raw_url: str, url: str) -> list[str]:
    """The secret values of a channel URL, as written (``raw_url``) and expanded (``url``):
    the credential parts of the expanded URL (its password, secret-named or key-like query
    values, key-like parts: ``config.redact.url_secrets``; the URL may come whole from the
    environment) and the key-like values ``${ENV}`` references put into its user, host or
    path. The log filter masks them; :func:`_ignored_secret` checks each reaches the plugin."""
    found = url_secrets(url)
    start = raw_url.find("://") + 3
    if start < 3:
        return found
    query_start = raw_url.find("?", start)
    for m in _ENV_REF.finditer(raw_url):
        value = os.environ.get(m.group(1), m.group(2) or "")
        if m.start() < start or "://" in value or 0 <= query_start < m.start():
            continue  # the scheme, a whole URL or a query value: their secrets are in ``found``
        if _KEYISH.match(value):
            found.append(value)
    return list(dict.fromkeys(found))


def _ignored_secret(url: str, secrets: list[str]) -> str | None:
    """Why a secret of the URL would not reach the service, or ``None``: apprise parses each
    service's URL its own way and silently drops what that plugin does not read (a ``token=``
    on a ``json://`` webhook, a password on a ``slack://`` URL), so the alert would go out
    unauthenticated or be refused. The plugin's own round-trip ``url(privacy=False)`` holds
    every credential it will use; a secret missing from it is ignored. Never quotes the secret."""
    import logging

    import apprise

    if not secrets:
        return None
    with apprise.LogCapture(level=logging.WARNING):
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return None
    kept = unquote(plugin.url(privacy=False)).lower()
    for secret in secrets:
        if any(form.lower() in kept for form in (secret, unquote(secret), secret.replace("+", " "))):
            continue
        rest = url.split("://", 1)[-1]
        netloc, query = re.split(r"[/?]", rest, maxsplit=1)[0], rest.partition("?")[2]
        password = netloc.rpartition("@")[0].partition(":")[2]
        where = "the password (user:password@)" if secret in (password, unquote(password)) else next(
            (f"the {key}= parameter" for key, value in query_params(query) if value == secret),
            "a secret part of the URL")
        hint = ""
        if url.split("://", 1)[0].lower() in ("json", "jsons", "xml", "xmls", "form", "forms"):
            hint = ("; a webhook's own query parameter is written -name=VALUE (sent as ?name=VALUE), "
                    "a header +Name=VALUE, a login user:password@")
        return (f"{where} comes from the environment but apprise's {plugin.service_name} plugin ignores it, "
                f"so alerts would go out without it{hint}; see https://github.com/caronc/apprise/wiki "
                f"for the {url.split('://', 1)[0]}:// URL format")
    return None


def _read_channel(r: _Reader) -> Channel:
    cid = r.get("id", str, check=_check_id)
    raw_url = r.table.get("url")
    if isinstance(raw_url, str) and (secret := literal_secret(raw_url)):
        r.fail("url", f"contains {secret}; secrets come only from the environment: write "
               f'url = "${{VOCWATCH_{cid.upper().replace("-", "_")}_URL}}" (or ${{NAME}} for just the secret part) '
               "and set that variable")
    url = r.get("url", str)
    secrets = channel_secrets(raw_url if isinstance(raw_url, str) else url, url)
    with secrets_in_use(secrets):  # apprise logs the URLs it parses, and may quote a key in its reason
        formats = _apprise_formats(url)
        if isinstance(formats, str):
            r.fail("url", formats)
        if ignored := _ignored_secret(url, secrets):
            r.fail("url", ignored)
    default_format = next((f for f in formats if f in CHANNEL_FORMATS), "text")
    rate = r.get("rate_limit", str, None)
    rate_limit = _parse_rate(rate) if rate is not None else None
    if isinstance(rate_limit, str):
        r.fail("rate_limit", rate_limit)
    ch = Channel(
        id=cid,
        url=url,
        format=r.get("format", str, default_format, check=_check_choice(CHANNEL_FORMATS)),
        min_severity=r.get("min_severity", str, "info", check=_check_choice(ALERT_SEVERITIES)),
        rate_limit=rate_limit,
        secrets=tuple(secrets),
    )
    r.done()
    return ch


def _read_route(r: _Reader, channels: dict[str, Channel], brands: dict[str, Brand],
                locations: dict[str, Location]) -> Route:
    """A route names existing channels, and its filters name things the config knows, so a
    typo fails at load time instead of silently routing nothing."""
    names = _string_list(r, "channels", required=True)
    for name in names:
        if name not in channels:
            r.fail("channels", f"unknown channel id {name!r}" + (f"; declared: {', '.join(channels)}" if channels else
                                                                  " (declare it under [[channels]])"))
    m = _Reader(r.file, r.key("match"), r.get("match", dict, {}))
    known = {
        "location": tuple(locations),
        "brand": tuple(brands),
        "region": tuple(sorted({loc.region for loc in locations.values()})),
        "severity": ALERT_SEVERITIES,
        "kind": ALERT_KINDS,
    }
    values: dict[str, tuple[str, ...]] = {}
    for key, allowed in known.items():
        values[key] = _string_list(m, key)
        for v in values[key]:
            if v not in allowed:
                close = difflib.get_close_matches(v, allowed, n=1)
                m.fail(key, f"unknown {key} {v!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    m.done()
    r.done()
    return Route(channels=names, locations=values["location"], brands=values["brand"], regions=values["region"],
                 severities=values["severity"], kinds=values["kind"])


def _string_list(r: _Reader, name: str, *, required: bool = False) -> tuple[str, ...]:
    """A string or an array of strings (``brand = "harbor"`` reads like ``brand = ["harbor"]``)."""
    value = r.get(name, (str, list), ... if required else [])
    items = [value] if isinstance(value, str) else value
    if not all(isinstance(v, str) for v in items) or (required and not items):
        r.fail(name, "expected " + ("a non-empty " if required else "an ") + "array of strings")
    return tuple(items)
