"""Names of vocwatch's crawl counters, shared by spiders, pipelines, run records and the CLI."""

from __future__ import annotations

from typing import Any

DROPPED = "vocwatch/dropped/"
"""Prefix of every drop counter: ``vocwatch/dropped/<reason>`` (items and pages)."""
ERROR_PREFIXES = (DROPPED + "page_", DROPPED + "store_error", "spider_exceptions/")
"""Counters that make a run partial (``crawlers.extensions.run_outcome``): failed pages,
failed writes, callbacks that raised."""


def drops(stats: dict[str, Any]) -> dict[str, int]:
    """``reason -> count`` of the drop counters in a stats dict, sorted by reason."""
    return {k.removeprefix(DROPPED): v for k, v in sorted(stats.items()) if k.startswith(DROPPED)}
