"""A test-only pipeline stage that raises for one item (text starting with ``EXPLODE``): how
tests/test_accounting_e2e.py checks that an exception in any stage is counted, not lost."""

from __future__ import annotations

from crawlers.items import Mention


class FaultyStagePipeline:
    def process_item(self, item: Mention) -> Mention:
        if item.text.startswith("EXPLODE"):
            raise RuntimeError("a bug in a pipeline stage")
        return item
