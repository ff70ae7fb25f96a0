"""Storage backends behind one interface: SQLite (embedded default) and MongoDB."""

from crawlers.store.base import CrawlRun, Store, UpsertResult, open_store

__all__ = ["CrawlRun", "Store", "UpsertResult", "open_store"]
