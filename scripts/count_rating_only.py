"""Count rating-only reviews (a rating, no text) and snippets (a text the page cut,
``truncated``) that survive adapter + clean stage on the shared real pages:
``python scripts/count_rating_only.py [../shared/pages]``.

Prints, per saved page, the mentions the adapter returned, how many of those the clean
stage keeps, and how many kept ones are rating-only and how many are snippets."""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.clean import CleanPipeline
from spiders.pages.base import MalformedPage, Page
from spiders.pages.registry import adapter

SITE = {"schema_org_jsonld": "schema_org"}
URL = {"google_maps": "https://www.google.com/maps/rpc/listugcposts"}


def main(root: Path, db: str) -> None:
    crawler = get_crawler(settings_dict={"VOCWATCH_STORE_URL": db})
    crawler.stats.open_spider()
    clean = CleanPipeline.from_crawler(crawler)
    total = cut_total = 0
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            page = Page(url=URL.get(d.name, f"https://example.com/{d.name}/{f.name}"),
                        text=f.read_text("utf-8", errors="replace"), now=datetime(2026, 3, 1, tzinfo=UTC),
                        tz=ZoneInfo("UTC"))
            try:
                read = adapter(SITE.get(d.name, d.name))(page)
            except MalformedPage as exc:
                sys.stdout.write(f"{d.name}/{f.name}\tmalformed: {exc}\n")
                continue
            kept = []
            for m in read:
                with contextlib.suppress(DropItem):  # counted by the stage, as in a crawl
                    kept.append(clean.process_item(m))
            rating_only = sum(1 for m in kept if not m.text and m.rating is not None)
            cut = sum(1 for m in kept if m.truncated)
            total, cut_total = total + rating_only, cut_total + cut
            sys.stdout.write(f"{d.name}/{f.name}\tread={len(read)}\tkept={len(kept)}\trating_only={rating_only}"
                             f"\ttruncated={cut}\n")
    sys.stdout.write(f"total rating-only kept: {total}\ntotal snippets kept (truncated): {cut_total}\n")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/pages"), f"sqlite:///{tmp}/count.db")
