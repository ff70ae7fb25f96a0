"""Storage backends behind one interface: SQLite (embedded default) and MongoDB."""

from crawlers.store.base import (
    BUCKETS,
    ROLLUP_KEYS,
    CrawlRun,
    IdMigration,
    RollupRow,
    Store,
    UpsertResult,
    open_store,
)

__all__ = ["BUCKETS", "ROLLUP_KEYS", "CrawlRun", "IdMigration", "RollupRow", "Store", "UpsertResult", "open_store"]
