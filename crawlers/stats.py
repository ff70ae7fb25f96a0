"""Names of vocwatch's crawl counters, shared by spiders, pipelines, run records and the CLI."""

from __future__ import annotations

from typing import Any

DROPPED = "vocwatch/dropped/"
"""Prefix of every drop counter: ``vocwatch/dropped/<reason>`` (items and pages)."""
CUTOFF = "vocwatch/cutoff/"
"""Prefix of the evidence a run needs to move its source's incremental cut-off (see
``crawlers.extensions.cutoff_blocker``) and of the verdict recorded with the run:
``vocwatch/cutoff/advanced`` (0/1) and ``vocwatch/cutoff/why_not``."""


def drops(stats: dict[str, Any]) -> dict[str, int]:
    """``reason -> count`` of the drop counters in a stats dict, sorted by reason."""
    return {k.removeprefix(DROPPED): v for k, v in sorted(stats.items()) if k.startswith(DROPPED)}
