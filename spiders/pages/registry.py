"""Site adapters by name: which page object reads a saved or fetched page of each site.

Every real-site page object is a :class:`~spiders.pages.base.PageObject` subclass that
registers itself with :func:`site` under the site's name (``"jd"``, ``"tripadvisor"``,
...), so ``vocwatch parse FILE --site NAME``, the spiders, the fixtures and the tests find
it in one place and read a page the same way: one page object per page, which gives the
mentions, the next page and the pages to follow. Page objects never evaluate page
content and import no Scrapy.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

from crawlers.items import ID_SCOPES, Mention
from spiders.pages.base import Page, PageObject, well_typed

P = TypeVar("P", bound=type[PageObject])


@dataclass(frozen=True)
class Reading:
    """What one page gave: its mentions (well typed), the next page of the same listing
    or thread (None: last page), other pages to read with the same adapter, and the pages
    that hold the full texts of its snippets (``PageObject.expand_urls``)."""

    mentions: list[Mention]
    next_url: str | None = None
    follow_urls: list[str] = field(default_factory=list)
    expand_urls: list[str] = field(default_factory=list)


def _url(value: object) -> str | None:
    """Anything but a non-empty string is "no URL"."""
    return value if isinstance(value, str) and value else None


def _urls(values: object) -> list[str]:
    """The non-empty strings of a list; anything else is "no URLs"."""
    return [u for u in values if _url(u)] if isinstance(values, list) else []


def read(po: PageObject) -> Reading:
    """What the page object ``po`` gives under the protocol, from that one instance: every
    mention passed through :func:`~spiders.pages.base.well_typed` (a dict where the site's
    JSON should have a nickname never leaves here, whatever the page object forgot) and
    URLs that are not non-empty strings dropped. Site adapters are read through it
    (:meth:`SiteAdapter.read`), and so are the page objects a spider builds itself (the
    sandbox sites' spiders). Raises MalformedPage."""
    mentions = [well_typed(m) for m in po.mentions() if isinstance(m, Mention)]
    follow = po.follow_urls()
    # asked only when a snippet is there to expand: a page of full texts costs no request
    snippets = [m for m in mentions if m.truncated]
    expand = po.expand_urls(snippets) if snippets else []
    return Reading(mentions, _url(po.next_url()), _urls(follow), _urls(expand))


@dataclass(frozen=True)
class SiteAdapter:
    """A registered site: its name, its page object and where its ids are unique."""

    name: str
    page_object: type[PageObject]
    id_scope: str

    def read(self, page: Page) -> Reading:
        """``page`` read by one instance of the site's page object (:func:`read`).
        Raises MalformedPage."""
        return read(self.page_object(page))

    def __call__(self, page: Page) -> list[Mention]:
        """The mentions of ``page`` (``read(page).mentions``)."""
        return self.read(page).mentions


_SITES: dict[str, SiteAdapter] = {}


def site(name: str, *, id_scope: str = "global"):  # type: ignore[no-untyped-def]
    """Class decorator: register a PageObject subclass as the adapter of site ``name``
    (one per name; the same class again, a module reloaded, is fine).

    ``id_scope`` says where the site keeps the ids the adapter reads unique (one of
    ``crawlers.items.ID_SCOPES``): ``global`` for platform-wide ids (a Weibo status id, a
    JD comment id), ``host`` for software many sites run (a Discourse post id is unique
    only on its own forum), ``url`` for ids unique only within one listing."""
    if id_scope not in ID_SCOPES:
        raise ValueError(f"site {name!r}: id_scope must be one of {', '.join(ID_SCOPES)}")

    def register(cls: P) -> P:
        if not (isinstance(cls, type) and issubclass(cls, PageObject)):
            raise TypeError(f"site {name!r}: an adapter is a PageObject subclass, not {cls!r}")
        known = _SITES.get(name)
        if known is not None and (known.page_object.__module__, known.page_object.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"two adapters for site {name!r}")
        _SITES[name] = SiteAdapter(name, cls, id_scope)
        return cls

    return register


@cache
def _load_all() -> None:
    """Import every module of ``spiders.pages`` so their adapters register (once: the
    site spider asks for its adapter on every page)."""
    import spiders.pages as package

    for mod in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"spiders.pages.{mod.name}")


def adapter(name: str) -> SiteAdapter:
    """The adapter of site ``name``; ``KeyError`` names the known sites."""
    _load_all()
    try:
        return _SITES[name]
    except KeyError:
        raise KeyError(f"no adapter for site {name!r}; known: {', '.join(sorted(_SITES))}") from None


def id_scope(name: str) -> str:
    """Where site ``name`` keeps its ids unique (what its adapter declared)."""
    return adapter(name).id_scope


def sites() -> list[str]:
    _load_all()
    return sorted(_SITES)


#: Hosts (a host or its subdomains) whose site adapter ``scrapy crawl site -a url=URL``
#: picks without ``-a site=NAME``. Adapters for software many sites run (Discourse,
#: phpBB, WordPress, RSS, schema.org markup) have no host: name them.
SITE_HOSTS: dict[str, str] = {
    "amazon.com": "amazon", "amazon.co.uk": "amazon", "amazon.de": "amazon", "amazon.co.jp": "amazon",
    "booking.com": "booking", "dianping.com": "dianping", "ele.me": "eleme", "google.com": "google_maps",
    "news.ycombinator.com": "hackernews", "jd.com": "jd", "qunar.com": "qunar", "reddit.com": "reddit",
    "taobao.com": "taobao", "tmall.com": "taobao", "tripadvisor.com": "tripadvisor", "tripadvisor.cn": "tripadvisor",
    "weibo.cn": "weibo", "weibo.com": "weibo", "yelp.com": "yelp", "zhihu.com": "zhihu",
}


def site_for_url(url: str) -> str | None:
    """The adapter :data:`SITE_HOSTS` names for ``url``'s host (or a parent domain of it)."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    while host:
        if host in SITE_HOSTS:
            return SITE_HOSTS[host]
        host = host.partition(".")[2]
    return None
