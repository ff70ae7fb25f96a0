"""The ``-a`` arguments of ``scrapy crawl`` for vocwatch's spiders, checked in one place.

``scrapy crawl SPIDER -a source=ID`` crawls a configured source; ``-a url=URL`` reads one
page (and its next pages) ad hoc, with ``-a site=NAME`` or the adapter the URL's host
names for the ``site`` spider, or a configured source's selectors (``-a source=ID``) on
another URL for the ``selectors`` spider. ``-a config=FILE`` names the config (else
``config.locate.find_config``), ``-a location=ID`` stamps ad-hoc mentions with a
location, ``-a since=ISO`` sets the incremental cut-off.

An ad-hoc read belongs to no configured source, so it is not stored: its crawl uses an
in-memory store (run record, dedupe) and its mentions reach only a feed (``-O out.jsonl``).

Every problem is a :class:`SpiderArgumentError` whose message is one line: the ``crawl``
command (``crawlers.commands.crawl``) checks the arguments before the crawl starts and
prints it instead of a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from config import Config, ConfigError, Location, Source
from config.model import CrawlSettings

ADHOC_STORE = "sqlite:///:memory:"
"""The store of an ad-hoc read or a ``scrapy check`` run: nothing of it is kept."""
KNOWN_ARGS = ("source", "config", "url", "site", "location", "since")
ADHOC_LOCATION = Location(id="adhoc", name="ad-hoc read", brand="", category="", lat=0.0, lon=0.0,
                          region="", role="competitor")


class SpiderArgumentError(ValueError):
    """A ``-a`` value that cannot start a crawl; the message is one line."""


@dataclass(frozen=True, slots=True)
class Bound:
    """What a spider crawls: the config, the source (configured or ad hoc), the location
    its mentions are stamped with, and whether nothing may be stored (ad hoc, check)."""

    config: Config
    source: Source
    location: Location
    adhoc: bool


def bind(spider_name: str, *, config: Config | str | None = None, source: Source | str | None = None,
         url: str | None = None, site: str | None = None, location: str | None = None,
         settings_config: str | None = None, checking: bool = False) -> Bound:
    """Resolve a spider's arguments; raises :class:`SpiderArgumentError` (one line)."""
    from config.locate import find_config, open_config

    if isinstance(config, Config):
        cfg = config
    else:
        named = config or settings_config
        if not named and (url or checking) and not find_config().exists():
            cfg = default_config()  # an ad-hoc read or a contract check needs no config file
        else:
            try:
                cfg = open_config(named)
            except ConfigError as exc:
                raise SpiderArgumentError(str(exc)) from None
    if isinstance(source, Source):
        return Bound(cfg, source, cfg.locations[source.location], adhoc=False)
    if url is not None:
        return _adhoc(spider_name, cfg, source, url, site, location)
    if site is not None or location is not None:
        raise SpiderArgumentError("-a site= and -a location= go with -a url=URL (an ad-hoc read)")
    if source is None:
        ours = [s for s in cfg.sources.values() if s.kind == spider_name]
        if checking and len(ours) != 1:
            return Bound(cfg, Source(id=f"check/{spider_name}", location=ADHOC_LOCATION.id, kind=spider_name, url=""),
                         ADHOC_LOCATION, adhoc=True)
        if len(ours) != 1:
            raise SpiderArgumentError(f"{spider_name}: pass -a source=ID or -a url=URL; configured {spider_name} "
                                      f"sources in {cfg.path}: " + (", ".join(s.id for s in ours) or "none"))
        src = ours[0]
    else:
        src = _configured(spider_name, cfg, source)
    return Bound(cfg, src, cfg.locations[src.location], adhoc=False)


def _configured(spider_name: str, cfg: Config, source_id: str) -> Source:
    if source_id not in cfg.sources:
        import difflib

        close = difflib.get_close_matches(source_id, list(cfg.sources), n=1)
        ours = [s.id for s in cfg.sources.values() if s.kind == spider_name]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpiderArgumentError(f"{spider_name}: unknown source {source_id!r} in {cfg.path}{hint}; its "
                                  f"{spider_name} sources: {', '.join(ours) or 'none'}")
    src = cfg.sources[source_id]
    if src.kind != spider_name:
        raise SpiderArgumentError(f"source {source_id!r} is of kind {src.kind!r}: run `scrapy crawl {src.kind} "
                                  f"-a source={source_id}`, not {spider_name}")
    return src


def _adhoc(spider_name: str, cfg: Config, source_id: str | None, url: str, site: str | None,
           location_id: str | None) -> Bound:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpiderArgumentError(f"-a url={url!r}: expected an http(s) URL")
    base = _configured(spider_name, cfg, source_id) if source_id else None
    if location_id is not None and location_id not in cfg.locations:
        raise SpiderArgumentError(f"-a location={location_id!r}: no such location in {cfg.path}; "
                                  f"configured: {', '.join(cfg.locations) or 'none'}")
    if spider_name == "site":
        site = site or (base.site if base else None) or _site_for(url)
        from spiders.pages.registry import adapter, sites

        try:
            adapter(site)
        except KeyError:
            raise SpiderArgumentError(f"-a site={site!r}: no such site adapter; known: {', '.join(sites())}") from None
    elif spider_name == "selectors" and (base is None or base.selectors is None):
        raise SpiderArgumentError("selectors: -a url=URL reads a page with a configured source's selectors: "
                                  "add -a source=ID (a kind = \"selectors\" source)")
    if base is not None:
        src = replace(base, id=f"adhoc/{base.id}", url=url, site=site or base.site, schedule=None)
    else:
        src = Source(id=f"adhoc/{spider_name}/{parts.hostname}", location=ADHOC_LOCATION.id, kind=spider_name,
                     url=url, site=site)
    loc_id = location_id or (base.location if base else None)
    loc = cfg.locations[loc_id] if loc_id else ADHOC_LOCATION
    return Bound(cfg, replace(src, location=loc.id), loc, adhoc=True)


def _site_for(url: str) -> str:
    from spiders.pages.registry import site_for_url, sites

    found = site_for_url(url)
    if found is None:
        raise SpiderArgumentError(f"site: no adapter knows the host of {url}: add -a site=NAME "
                                  f"(known: {', '.join(sites())})")
    return found


def parse_since(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        since = datetime.fromisoformat(str(value))
    except ValueError:
        raise SpiderArgumentError(f"-a since={value!r}: expected an ISO date or time, e.g. 2026-11-01 "
                                  "or 2026-11-01T08:00+08:00") from None
    if since.tzinfo is None:
        from datetime import UTC

        since = since.replace(tzinfo=UTC)
    return since


def unknown_args(spargs: dict[str, Any]) -> list[str]:
    """The ``-a`` names no vocwatch spider takes; ``_job`` and other names starting with
    ``_`` are scrapyd's own (its job id), never a typo."""
    return sorted(k for k in spargs if k not in KNOWN_ARGS and not k.startswith("_"))


def default_config() -> Config:
    """The built-in defaults, for an ad-hoc read where no config file is."""
    from pathlib import Path

    return Config(path=Path(os.getcwd()) / "(no config: defaults)", store_url=ADHOC_STORE, crawl=CrawlSettings(),
                  brands={}, locations={})
