"""Scrapy add-on that applies the user's vocwatch config file to Scrapy's settings.

An add-on runs before settings freeze, for ``scrapy crawl`` and for vocwatch's own
runner alike, so both crawl with the same store, politeness and retry settings. An
invalid config raises here, before any request is made.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from config import load_config
from config.locate import CONFIG_ENV, find_config, store_notice
from config.redact import mask_url, remember
from crawlers.spiderargs import ADHOC_STORE

__all__ = ["CONFIG_ENV", "VocwatchConfigAddon", "config_path", "explicit_config"]
logger = logging.getLogger(__name__)


def explicit_config(settings: Any) -> str | None:
    """``VOCWATCH_CONFIG`` when something set it above the settings module's default: the
    command line (``-s``), vocwatch's runner, the spider (``-a config=``)."""
    from scrapy.settings import SETTINGS_PRIORITIES

    if (settings.getpriority("VOCWATCH_CONFIG") or 0) > SETTINGS_PRIORITIES["project"]:
        return settings.get("VOCWATCH_CONFIG") or None
    return None


def config_path(settings: Any) -> str:
    """The config file a crawl with ``settings`` reads (``config.locate.find_config``)."""
    return str(find_config(explicit_config(settings)))


LOADED_SETTING = "VOCWATCH_CONFIG_LOADED"
"""Setting holding a :class:`LoadedConfig`: the config the runner already read, so that each
crawler of a run (one per source) does not read and validate the whole file again."""


class LoadedConfig:
    """A loaded :class:`config.Config` carried in Scrapy settings. Each crawler gets a deep
    copy of the settings; this hands on the one (immutable) config instead of copying it."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __deepcopy__(self, memo: dict[int, Any]) -> LoadedConfig:
        return self


class VocwatchConfigAddon:
    def update_settings(self, settings: Any) -> None:
        path = config_path(settings)
        if settings.get("VOCWATCH_STORE_URL") == ADHOC_STORE:  # set by the spider (crawlers.spiderargs)
            logger.info("vocwatch: an ad-hoc read: nothing is stored (write a feed: -O out.jsonl)")
        if not os.path.exists(path):
            return  # e.g. `scrapy list` outside a project; spiders fail clearly when they need it
        loaded = settings.get(LOADED_SETTING)
        if isinstance(loaded, LoadedConfig) and os.path.abspath(str(loaded.config.path)) == os.path.abspath(path):
            config = loaded.config
        else:
            config = load_config(path)
        remember(config.secrets)  # `scrapy crawl` too: no log line shows the store's password
        c = config.crawl
        overrides = {
            "VOCWATCH_CONFIG": path,
            "DOWNLOAD_DELAY": c.delay,
            "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_site,
            "ROBOTSTXT_OBEY": c.obey_robots,
            "USER_AGENT": c.user_agent,
            "DOWNLOAD_TIMEOUT": c.timeout,
            "RETRY_TIMES": c.retries,
            "VOCWATCH_RETRY_BACKOFF": c.retry_backoff,
            "VOCWATCH_RETRY_BACKOFF_MAX": c.retry_backoff_max,
            "VOCWATCH_RETRY_BUDGET": c.retry_budget,
            "CLOSESPIDER_TIMEOUT": c.time_limit,
            "MEMUSAGE_LIMIT_MB": c.memory_limit_mb,
            "MEMUSAGE_WARNING_MB": c.memory_limit_mb * 3 // 4,
            "VOCWATCH_PSEUDONYMISE_AUTHORS": c.pseudonymise_authors,
        }
        if not settings.get("VOCWATCH_STORE_URL"):
            overrides["VOCWATCH_STORE_URL"] = config.store_url
        for key, value in overrides.items():
            settings.set(key, value, priority="project")
        store = settings.get("VOCWATCH_STORE_URL")
        if store == ADHOC_STORE:
            logger.info("vocwatch: config %s", path)
        elif store != config.store_url or store_notice(config):  # not the obvious store: say which
            logger.info("vocwatch: config %s, store %s", path, mask_url(store))
        if config.distributed.enabled:
            share_politeness(settings)


def share_politeness(settings: Any) -> None:
    """``[distributed]``: the site delay is kept across all workers by
    :class:`crawlers.distributed.politeness.SitePolitenessMiddleware` (``VOCWATCH_SITE_DELAY``,
    the delay in force: a source's own ``delay`` or ``[crawl] delay``, or an override). The
    process's own download slots get no delay and AutoThrottle is off: the shared slot already
    spaces this process's requests too, and a local wait after the shared reservation would
    move a request off its reserved time, next to another worker's request. Their per-process
    concurrency stays (never more than the shared cap, so it never holds a request back)."""
    from scrapy.settings import SETTINGS_PRIORITIES

    from crawlers.distributed.politeness import SITE_DELAY_SETTING

    settings.set(SITE_DELAY_SETTING, settings.getfloat("DOWNLOAD_DELAY"), priority="project")
    for name, value in (("DOWNLOAD_DELAY", 0.0), ("AUTOTHROTTLE_ENABLED", False)):
        settings.set(name, value, priority=max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["project"]))
