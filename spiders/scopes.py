"""The id scope of each configured source, for mentions already stored: what
``vocwatch store migrate-ids`` gives :meth:`crawlers.store.Store.migrate_ids`.

The scope comes from the same place a crawl takes it from, the source's spider
(``SourceSpider.id_scope_of``: the spider's own, its adapter's, or its selectors'), so a
migrated store holds exactly the fingerprints the next crawl computes.
"""

from __future__ import annotations

from collections.abc import Callable

from config import Config
from crawlers.items import Mention, id_scope_value


def scope_of_stored(config: Config) -> Callable[[Mention], str | None]:
    """A stored mention -> the ``id_scope`` its source gives it now; None for a mention
    whose source is no longer configured (its scope is unknown, it is left as it is)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import get_spider_loader

    loader = get_spider_loader(Settings({"SPIDER_MODULES": ["spiders"]}))
    scopes: dict[str, str] = {}

    def scope_of(m: Mention) -> str | None:
        src = config.sources.get(m.source_id)
        if src is None:
            return None
        if src.id not in scopes:
            scopes[src.id] = loader.load(src.kind).id_scope_of(src)  # type: ignore[attr-defined]
        return id_scope_value(scopes[src.id], url=m.url, source_id=src.id, listing_url=src.url)

    return scope_of
