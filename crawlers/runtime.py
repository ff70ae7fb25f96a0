"""Process-wide shared resources for Scrapy components (one store per URL per process)."""

from __future__ import annotations

import threading
from typing import Any

from crawlers.store import Store, open_store

STORE_URL_SETTING = "VOCWATCH_STORE_URL"
_stores: dict[str, Store] = {}
_lock = threading.Lock()


def store_for(settings: Any) -> Store:
    """The store named by the ``VOCWATCH_STORE_URL`` Scrapy setting, opened once per process
    so that every spider, pipeline and extension of a multi-source crawl shares it."""
    url = settings.get(STORE_URL_SETTING) or "sqlite:///vocwatch.db"
    with _lock:
        if url not in _stores:
            _stores[url] = open_store(url)
        return _stores[url]


def source_id_of(spider: Any) -> str:
    """The configured source a spider crawls, or its name for a spider without one."""
    return getattr(getattr(spider, "source", None), "id", None) or getattr(spider, "name", "")


def close_stores() -> None:
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
