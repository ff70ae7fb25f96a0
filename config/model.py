"""Typed configuration objects, produced only by ``config.loader.load_config``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.selectors import SelectorSpec

LOCATION_CATEGORIES = ("hotel", "restaurant", "store")
LOCATION_ROLES = ("own", "competitor")

#: Alert severities, least to most urgent (a channel's ``min_severity`` compares by this order).
ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_KINDS = ("negative_spike", "negative_share", "rating_drop", "viral_post", "crawl_health")
#: Body formats a channel can be sent in; apprise converts to what the service accepts.
CHANNEL_FORMATS = ("text", "html", "markdown")

#: Source kinds vocwatch can crawl; each one is a Scrapy spider of the same name in
#: ``spiders/`` (a test checks the two lists agree).
SOURCE_KINDS: dict[str, str] = {
    "hotel_reviews": "HTML review pages with schema.org JSON-LD, paged by a rel=next link",
    "mall_comments": "e-commerce product-comment JSON API, paged by page number",
    "weibo_feed": "Weibo-style JSON feed, paged by a max_id cursor",
    "forum": "forum search/board page whose threads are followed and paged",
    "rss": "RSS 2.0 or Atom feed",
    "selectors": "any HTML or JSON site described in the config by CSS/XPath/JSON-path selectors",
    "site": "a real site vocwatch has an adapter for (`site = \"jd\"`; `vocwatch parse --help` lists them), paged by its rule",
}

#: Where a site keeps the ids of its mentions unique, which decides what a mention's
#: fingerprint digests with its id (``crawlers.items.id_scope_value``): ``global`` (the
#: whole site), ``host`` (one installation, e.g. a Discourse forum), ``url`` (one listing:
#: the source's URL), ``source`` (one configured source).
ID_SCOPES = ("global", "host", "url", "source")

#: Where ``[crawl] proxies`` takes the pool from; how a proxy is picked; per-site use.
PROXY_SOURCES = ("none", "env", "secrets")
PROXY_ROTATIONS = ("per_request", "sticky")
SITE_PROXY_CHOICES = ("auto", "always", "never")

#: How often a digest goes out (``[[digests]] every``) and the days a weekly one may go out on.
DIGEST_EVERY = ("daily", "weekly", "monthly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: How a source's pages are fetched: plain HTTP, or rendered in Chromium for pages whose
#: reviews are built by JavaScript (``crawlers/render.py``).
RENDER_MODES = ("http", "browser")


@dataclass(frozen=True, slots=True)
class Brand:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CompetitorRule:
    """How an own location's competitive set is chosen.

    Either ``ids`` (named by hand) or ``radius_km`` (every competitor location within that
    great-circle distance, of the same category unless ``same_category`` is false, and of
    the same price tier / star class when asked). ``add`` and ``exclude`` override the
    automatic set per location: a managers' "that one is not really a rival" stays in config.
    """

    ids: tuple[str, ...] = ()
    radius_km: float | None = None
    same_category: bool = True
    same_price_tier: bool = False
    same_stars: bool = False
    add: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str
    brand: str
    category: str
    lat: float
    lon: float
    region: str
    role: str
    address: str = ""
    competitors: CompetitorRule | None = None
    price_tier: int | None = None
    """1 (budget) to 5 (luxury); optional, used by ``same_price_tier`` competitive sets."""
    stars: float | None = None
    """Star class 1-5 (half stars allowed); optional, used by ``same_stars`` competitive sets."""

    @property
    def is_own(self) -> bool:
        return self.role == "own"


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to crawl for one location."""

    id: str
    location: str
    kind: str
    url: str
    schedule: str | None = None
    site: str | None = None
    """Site name stored on mentions; defaults to the spider's own. For ``kind = "site"``
    it names the site adapter that reads the pages (``spiders/pages/registry.py``)."""
    delay: float | None = None
    """Seconds between requests to this site; ``None`` = the ``[crawl]`` default."""
    timezone: str | None = None
    """Zone of naive local times on this site; ``None`` = the ``[crawl]`` default."""
    max_pages: int | None = None
    render: str = "http"
    """``browser``: pages are rendered in Chromium (JavaScript run) before extraction."""
    selectors: SelectorSpec | None = None
    """How to read the site, for ``kind = "selectors"`` only (``[sources.selectors]``)."""


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    delay: float = 1.0
    """Seconds between requests to one site (politeness default)."""
    concurrency_per_site: int = 2
    timezone: str = "Asia/Shanghai"
    timeout: float = 30.0
    retries: int = 8
    """Retries of one failed request (HTTP 5xx/408/429, connection errors, timeouts), each
    after a growing wait (``retry_backoff``); with the defaults they span 1.5-3 minutes."""
    retry_backoff: float = 1.0
    """Base of the exponential backoff: retry n waits about ``retry_backoff * 2**n`` seconds
    (between half and all of it, at random), at most ``retry_backoff_max``."""
    retry_backoff_max: float = 60.0
    retry_budget: float = 180.0
    """Seconds a site (download slot) may keep failing, with no answer that counts as a
    success in between, before its failing requests stop being retried and fail at once
    (``vocwatch/dropped/page_retry_budget_exhausted``); 0 = never retry past the first failure."""
    max_pages: int = 500
    """Pages read per run of a source (a source's own ``max_pages`` overrides it); page
    counts claimed by a page are capped by it."""
    time_limit: float = 1500.0
    """Seconds a source's crawl may run before it is closed (``closespider_timeout``, run
    ``partial``); below ``[schedule] time_limit_seconds`` so a scheduled crawl ends itself
    before it is killed. 0 = no limit."""
    memory_limit_mb: int = 2048
    """The crawl process closes its spiders (``memusage_exceeded``, run ``partial``) when its
    peak resident memory passes this (Scrapy's MEMUSAGE extension). 0 = no limit."""
    obey_robots: bool = True
    user_agent: str = "vocwatch/0.1 (+https://github.com/vocwatch/vocwatch)"
    incremental_overlap_hours: float = 24.0
    """Re-read this much before the last successful crawl so late-arriving items are not missed."""
    pseudonymise_authors: bool = True
    chromium_path: str = "/usr/bin/chromium"
    """Chromium for ``render = "browser"`` sources (Debian's package; checked when such a crawl starts)."""
    browser_max_pages: int = 2
    """At most this many browser pages open at once in a crawl process (bounds memory)."""
    browser_pages_per_context: int = 20
    """A fresh browser context (cookies, cache, JS heap) after this many pages (bounds memory)."""
    proxies: str = "none"
    """Where the proxy pool comes from (``PROXY_SOURCES``): ``env`` (``VOCWATCH_PROXIES``),
    ``secrets`` (``$VOCWATCH_SECRETS_DIR/proxies.txt``) or ``none``. Never the URLs themselves:
    a proxy URL may carry a password, and the config file is no place for one."""
    proxy_rotation: str = "per_request"
    """``per_request`` (the next usable proxy for every request) or ``sticky`` (one proxy per
    account, or per job without accounts, until it is banned)."""
    proxy_cooldown_minutes: float = 30.0
    """A proxy banned (403/429/captcha/challenge) or failing to connect is not used again for this long."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` deliveries to a channel in any sliding window of ``seconds``."""

    count: int
    seconds: float
    text: str
    """As written in the config (``"10/h"``), for messages."""


@dataclass(frozen=True, slots=True)
class Channel:
    """Where alerts are delivered: one apprise URL (mailto://, json://, slack://, dingtalk://, ...)."""

    id: str
    url: str = field(repr=False)
    """Expanded from the environment and may hold passwords or tokens: never log or print it."""
    format: str = "text"
    """Body format (``CHANNEL_FORMATS``); defaults to what the service prefers (email: html)."""
    min_severity: str = "info"
    rate_limit: RateLimit | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The secret values in ``url`` (``config.loader.channel_secrets``): masked wherever they appear."""


@dataclass(frozen=True, slots=True)
class Route:
    """Alerts matching every non-empty filter go to ``channels``; an empty filter matches all.

    Every route an alert matches delivers (the union of their channels, each channel once),
    so a catch-all route for head office and a per-location route for its manager coexist.
    """

    channels: tuple[str, ...]
    locations: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """A ``[[digests]]`` entry: a periodic summary of one scope (``monitor.digest``), sent
    through the named alert channels at ``hour`` (in ``timezone``) every day, every week on
    ``day``, or every month on the 1st. Not routed (it names its channels) and not filtered
    by a channel's ``min_severity``: a digest is not an alert."""

    name: str
    scope: str
    """A dashboard scope (``location:ID``, ``region:R``, ``brand:B`` or ``all``), checked
    against the config as ``vocwatch token create`` checks it."""
    channels: tuple[str, ...]
    every: str = "weekly"
    day: str = "mon"
    """Weekday of a weekly digest (``WEEKDAYS``)."""
    hour: int = 8
    """Hour of the day (0-23) in ``timezone`` it goes out."""
    timezone: str = "Asia/Shanghai"
    """The schedule's time zone (``[crawl] timezone`` unless given)."""
    window: str | None = None
    """The days its counts cover (``7d``, ``4w``: ``monitor.metrics.parse_window``); None:
    the period since the previous digest (1, 7 days, or the last calendar month's days)."""
    index_window: str = "90d"
    """The reputation index lookback (as on the dashboard); its change is since the previous digest."""


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """The optional ``[schedule]`` table: how ``vocwatch schedule run`` plans and bounds crawls."""

    default: str = "every 6h"
    """Schedule of sources without their own ``schedule`` (``every 30m`` or a crontab)."""
    jitter_seconds: float = 60.0
    """Each run starts up to this many seconds late, at random, so crawls do not bunch up."""
    misfire_grace_seconds: float = 900.0
    """A run missed (scheduler down, all slots busy) still starts if at most this late."""
    time_limit_seconds: float = 1800.0
    """A crawl process still running after this long is killed and its run closed as ``killed``."""
    max_parallel: int = 2
    """Crawl processes running at once."""


@dataclass(frozen=True, slots=True)
class DistributedSettings:
    """The optional ``[distributed]`` table: crawling on many machines through one Redis
    (scrapy-redis queues, job leases, the scheduler's leader lock). Off unless a Redis URL is
    given (``VOCWATCH_REDIS_URL`` wins over ``redis_url``; a password only from the environment)."""

    redis_url: str | None = None
    """``redis://host:6379/0``; None: crawls run as local processes (the single-machine default)."""
    key_prefix: str = "vocwatch"
    """Every Redis key starts with ``<key_prefix>:``, so deployments can share one Redis."""
    lease_seconds: float = 60.0
    """An in-flight request or a taken job not renewed for this long (its worker died) is
    given to another worker."""
    leader_ttl_seconds: float = 15.0
    """The scheduler's leader lock expires this long after its last renewal: a standby
    scheduler takes over within about this time when the leader dies."""
    workers_per_job: int = 4
    """At most this many worker processes crawl one source's queue together."""

    @property
    def enabled(self) -> bool:
        return bool(self.redis_url)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Detector thresholds (the optional ``[alerts]`` table); docs/monitoring.md "Alerts" gives the formulas."""

    enabled: bool = True
    watch_competitors: bool = False
    """Also watch competitor locations (default: own locations and brands only)."""
    baseline_days: int = 28
    """Days of history before each window that the baselines are learned from."""
    spike_window_hours: int = 3
    """Negative-volume spikes compare the last N hours (the current one prorated) with the baseline."""
    min_count: int = 5
    """A spike needs at least this many negative mentions in the window."""
    min_ratio: float = 2.0
    """... and at least this many times the expected count."""
    dispersion: float = 10.0
    """Negative-binomial size r (variance = mean + mean^2 / r): how bursty ordinary days are."""
    p_info: float = 1e-5
    p_warning: float = 1e-6
    p_critical: float = 1e-9
    """Tail-probability tiers: a finding needs p <= p_info; smaller p gives the higher tiers."""
    share_window_hours: int = 24
    share_min_mentions: int = 10
    share_jump: float = 0.2
    """Negative share in the window must exceed the baseline share by this much (absolute)."""
    rating_window_hours: int = 72
    rating_min_rated: int = 5
    rating_drop: float = 0.75
    """Average rating (0-5) in the window must fall this far below the baseline average."""
    viral_window_hours: int = 48
    """Only mentions published this recently are watched for viral growth."""
    viral_min_growth: int = 200
    """Likes + reposts + comments gained since the previous detector run ..."""
    viral_ratio: float = 2.0
    """... and the engagement at least this many times the previous value."""
    cooldown_hours: float = 12.0
    """An incident quiet this long is resolved; a later finding opens a new one."""
    update_growth: float = 0.5
    """An open incident is re-notified when its severity rises or its size grows by this share."""


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """Crawl-health thresholds (the optional ``[health]`` table): after every finished or
    partial run, each source is compared with its own earlier finished/partial runs
    (``monitor/health.py``). Findings are stored with the run and alerted as ``crawl_health``."""

    enabled: bool = True
    """Check every run (findings stored, shown by ``vocwatch health``, alerted)."""
    history_runs: int = 5
    """A run is compared with this many of the source's previous finished/partial runs."""
    min_history: int = 3
    """The item-count check needs at least this many earlier runs (a median of fewer says little)."""
    items_ratio: float = 0.5
    """``items_drop`` when a run reads fewer mentions than this share of its history's median."""
    min_mentions: int = 5
    """Field coverage is judged only on runs that read at least this many mentions."""
    coverage_was: float = 0.8
    """``fields_lost`` when a field's coverage was at least this (median of the history) ..."""
    coverage_now: float = 0.2
    """... and is now below this (``rating (100% -> 0%)``)."""
    error_ratio: float = 0.2
    """``error_ratio`` when more than this share of a run's pages failed (HTTP error, timeout,
    refused connection, lost data)."""
    blocked_ratio: float = 0.2
    """``blocked_ratio`` when more than this share of its pages were still block/captcha pages."""
    malformed_ratio: float = 0.2
    """``malformed_ratio`` when more than this share of its pages could not be parsed."""
    stale_runs: int = 4
    """``no_new`` when this many runs in a row (this one included) read mentions but stored
    none new."""


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """A ``[sessions.<site>]`` table: the site's requests carry one of its accounts (logged-in
    sessions whose cookies come from the environment or ``VOCWATCH_SECRETS_DIR``, never from
    the config: ``crawlers.sessions``)."""

    site: str
    required: bool = False
    """A source of this site with no usable account does not read a page: its run says why
    (``vocwatch/account/none_usable``) and crawl health reports it."""
    cooldown_minutes: float = 60.0
    """An account that met a ban, a captcha or a 403/429 rests this long before it is used again."""
    proxies: str = "auto"
    """``always`` | ``never`` | ``auto`` (use the proxy pool when one is configured)."""


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """``[dashboard]``: where people reach ``vocwatch serve``."""

    url: str | None = None
    """The dashboard's public address (``https://voc.example.com``, no trailing slash): an
    alert message links to its incident page there (``<url>/#/alerts/<id>``); no link when unset."""


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    store_url: str
    crawl: CrawlSettings
    brands: dict[str, Brand]
    locations: dict[str, Location]
    sources: dict[str, Source] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    distributed: DistributedSettings = field(default_factory=DistributedSettings)
    sessions: dict[str, SessionSettings] = field(default_factory=dict)
    """``[sessions.<site>]`` tables, by site (an adapter name, a source's ``site`` or a spider's)."""
    digests: tuple[DigestSettings, ...] = ()
    """``[[digests]]`` entries, in config order (names unique)."""
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    site_proxies: dict[str, str] = field(default_factory=dict)
    """Site -> ``[sessions.<site>] proxies`` (``SITE_PROXY_CHOICES``); a site not named is ``auto``.
    The same as ``sessions[site].proxies`` (``config.loader.read_site_proxy_choice`` checks it)."""
    store_from: str = "config"
    """Where ``store_url`` came from: ``config`` (the file's ``[store] url``, or its default),
    ``VOCWATCH_STORE_URL`` or ``--store`` (``config.locate.store_notice`` says so when not the file)."""

    def proxy_choice(self, site: str) -> str:
        """Whether ``site``'s requests go through the proxy pool: ``always``, ``never`` or ``auto``
        (through the pool when one is configured)."""
        return self.site_proxies.get(site, "auto")

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values this config puts in use (store password, channel secrets), for
        ``config.redact.remember``: the log filter then masks them wherever they appear."""
        from config.redact import url_secrets

        return (*url_secrets(self.store_url, tokenish=False),
                *url_secrets(self.distributed.redis_url or "", tokenish=False),
                *(s for ch in self.channels.values() for s in ch.secrets))

    def sources_for(self, location_id: str) -> list[Source]:
        return [s for s in self.sources.values() if s.location == location_id]

    def own_locations(self) -> list[Location]:
        return [loc for loc in self.locations.values() if loc.is_own]
