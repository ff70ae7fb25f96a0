"""Site adapters by name: which page object reads a saved or fetched page of each site.

Every real-site page object registers itself with :func:`site` under the site's name
(``"jd"``, ``"tripadvisor"``, ...), so ``vocwatch parse FILE --site NAME``, the spiders and
the tests find it in one place. An adapter is a function ``Page -> list[Mention]`` that
raises :class:`~spiders.pages.base.MalformedPage` for a page it cannot read; it never
evaluates page content and imports no Scrapy.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from functools import cache

from crawlers.items import ID_SCOPES, Mention
from spiders.pages.base import Page, well_typed

Adapter = Callable[[Page], list[Mention]]
Pager = Callable[[Page], "str | None"]
_ADAPTERS: dict[str, Adapter] = {}
_PAGERS: dict[str, Pager] = {}
_ID_SCOPES: dict[str, str] = {}


def _same(registered: Callable[..., object] | None, fn: Callable[..., object]) -> bool:
    return registered is None or getattr(registered, "__wrapped__", registered) is fn


def site(name: str, *, id_scope: str = "global") -> Callable[[Adapter], Adapter]:
    """Decorator: register ``fn`` as the adapter for site ``name`` (one per name).

    ``id_scope`` says where the site keeps the ids the adapter reads unique (one of
    ``crawlers.items.ID_SCOPES``): ``global`` for platform-wide ids (a Weibo status id, a
    JD comment id), ``host`` for software many sites run (a Discourse post id is unique
    only on its own forum), ``url`` for ids unique only within one listing.

    The adapter is returned (and registered) wrapped so that every mention it yields is
    well typed (:func:`~spiders.pages.base.well_typed`): a dict where the site's JSON
    should have a nickname never leaves the page object, whatever the adapter forgot."""
    if id_scope not in ID_SCOPES:
        raise ValueError(f"site {name!r}: id_scope must be one of {', '.join(ID_SCOPES)}")

    def register(fn: Adapter) -> Adapter:
        if not _same(_ADAPTERS.get(name), fn):
            raise ValueError(f"two adapters for site {name!r}")

        @functools.wraps(fn)
        def typed(page: Page) -> list[Mention]:
            return [well_typed(m) for m in fn(page) if isinstance(m, Mention)]

        _ADAPTERS[name] = typed
        _ID_SCOPES[name] = id_scope
        return typed

    return register


def pager(name: str) -> Callable[[Pager], Pager]:
    """Decorator: register ``fn`` as site ``name``'s pagination rule, ``Page -> next URL or
    None``, which the generic ``site`` spider follows (page numbers, cursors, offsets).
    Returned wrapped, like an adapter: anything but a non-empty string is "no next page"."""

    def register(fn: Pager) -> Pager:
        if not _same(_PAGERS.get(name), fn):
            raise ValueError(f"two pagination rules for site {name!r}")

        @functools.wraps(fn)
        def checked(page: Page) -> str | None:
            url = fn(page)
            return url if isinstance(url, str) and url else None

        _PAGERS[name] = checked
        return checked

    return register


def next_url_rule(name: str) -> Pager | None:
    """Site ``name``'s pagination rule, or None for a site read one page at a time."""
    _load_all()
    return _PAGERS.get(name)


@cache
def _load_all() -> None:
    """Import every module of ``spiders.pages`` so their adapters register (once: the
    site spider asks for its adapter on every page)."""
    import spiders.pages as package

    for mod in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"spiders.pages.{mod.name}")


def adapter(name: str) -> Adapter:
    """The adapter of site ``name``; ``KeyError`` names the known sites."""
    _load_all()
    try:
        return _ADAPTERS[name]
    except KeyError:
        raise KeyError(f"no adapter for site {name!r}; known: {', '.join(sorted(_ADAPTERS))}") from None


def id_scope(name: str) -> str:
    """Where site ``name`` keeps its ids unique (what its adapter declared)."""
    adapter(name)
    return _ID_SCOPES[name]


def sites() -> list[str]:
    _load_all()
    return sorted(_ADAPTERS)
