"""Accounting end to end, over real HTTP on 127.0.0.1 with the real CLI: every item a run
reads is stored, updated, unchanged or dropped with a reason (the balance closes); one bad
item never takes its batch-mates down; ids are scoped to what the site guarantees."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.store import CrawlRun, open_store
from tests.conftest import ONE_HOTEL, ROOT, crawl_head, local_site, run_vocwatch

HEAD = crawl_head(timeout=None) + ONE_HOTEL


def comment(i: int, **fields: Any) -> dict[str, Any]:
    c = {"id": 5000 + i, "content": f"Comment number {i}: the kettle boils fast and looks good.",
         "nickname": f"buyer{i}", "score": 5, "creationTime": f"2026-11-{10 + i:02d} 10:00:00",
         "usefulVoteCount": i, "replyCount": 0}
    return c | fields


def mall_page(comments: list[dict[str, Any]]) -> bytes:
    return json.dumps({"maxPage": 1, "comments": comments}).encode()


@pytest.fixture
def mall_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A JSON comment API serving ``pages[product]`` at ``/api/comments?productId=...``."""
    pages: dict[str, bytes] = {}

    def respond(path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 404, "text/plain", b""
        for product, body in pages.items():
            if f"productId={product}" in path:
                return 200, "application/json", body
        return 404, "text/plain", b""

    with local_site(respond) as (base, _):
        yield base, pages


def mall_config(tmp_path: Path, base: str, product: str = "p1") -> Path:
    cfg = tmp_path / "vocwatch.toml"
    cfg.write_text(HEAD.format(db=tmp_path / "v.db") + f"""
[[sources]]
id = "mall"
location = "harbor-sh-bund"
kind = "mall_comments"
url = "{base}/api/comments?productId={product}"
""")
    return cfg


def runs(db: Path) -> list[CrawlRun]:
    store = open_store(f"sqlite:///{db}")
    try:
        return list(reversed(store.list_runs(limit=100)))
    finally:
        store.close()


def texts(db: Path) -> dict[str, str]:
    store = open_store(f"sqlite:///{db}")
    try:
        return {m.fingerprint: m.text for m in store.iter_mentions()}
    finally:
        store.close()


def crawl(cfg: Path) -> subprocess.CompletedProcess[str]:
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--log-level", "INFO")
    assert "Traceback" not in proc.stdout
    return proc


# -- (a) malformed field types ----------------------------------------------------------
def test_a_dict_author_and_a_list_date_do_not_take_the_batch_down(
        mall_site: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, pages = mall_site
    page = [comment(i) for i in range(10)]
    page[2]["nickname"] = {"name": "buyer2", "level": "PLUS"}  # a dict where a name belongs
    page[5]["creationTime"] = ["2026-11-15", "10:00:00"]  # a list where a date belongs
    page[8]["content"] = {"text": "not a body"}  # a body no one can read: the one mention dropped
    pages["p1"] = mall_page(page)
    cfg = mall_config(tmp_path, base)
    proc = crawl(cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs(tmp_path / "v.db")
    s = run.stats
    assert s["vocwatch/mentions/extracted"] == 10
    assert s["vocwatch/store/inserted"] == 9  # all but the one without a readable body
    assert s["vocwatch/dropped/bad_field_text"] == 1
    assert s["vocwatch/warnings/bad_field/author"] == 1 and s["vocwatch/warnings/bad_field/published_raw"] == 1
    assert (s["vocwatch/balance/read"], s["vocwatch/balance/accounted"], s["vocwatch/balance/unaccounted"]) == (10, 10, 0)
    assert run.outcome == "finished"  # a malformed item is counted data, not an error of the crawl
    stored = open_store(f"sqlite:///{tmp_path}/v.db")
    got = {m.external_id: m for m in stored.iter_mentions()}
    stored.close()
    assert got["5002"].author is None and got["5002"].published_at is not None  # the rest of it is kept
    assert got["5005"].published_at is None and got["5005"].published_raw is None and got["5005"].author
    assert "5008" not in got

    # `vocwatch runs` prints it readably: a header, counts, reasons, balance; --json for machines
    out = run_vocwatch("runs", "-c", str(cfg))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["run", "started", "(UTC)", "took", "outcome", "source", "pages", "read", "stored",
                                "updated", "unchanged", "dropped", "balance"]
    row = lines[1].split()
    assert row[4:] == ["finished", "mall", "1", "10", "9", "0", "0", "1", "ok"]
    assert "dropped: bad_field_text: 1" in out.stdout
    assert "warnings: bad_field/author: 1, bad_field/published_raw: 1" in out.stdout
    assert "{" not in out.stdout and "'" not in out.stdout  # no Python reprs
    records = json.loads(run_vocwatch("runs", "-c", str(cfg), "--json").stdout)
    assert records[0]["balance"] == {"read": 10, "accounted": 10, "unaccounted": 0, "closes": True}
    assert records[0]["drops"] == {"bad_field_text": 1} and records[0]["stored"] == 9


# -- (b) a stage that raises, a store that rejects ----------------------------------------
def test_an_item_a_pipeline_stage_raises_on_is_counted_and_its_batch_mates_stored(
        mall_site: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    """A test-only stage (tests/faulty_stage.py) raises for one item; it is enabled the way
    Scrapy enables any component for one crawl, ``scrapy crawl -s ITEM_PIPELINES=...``."""
    base, pages = mall_site
    page = [comment(i) for i in range(10)]
    page[4]["content"] = "EXPLODE: this one makes the faulty stage raise"
    pages["p1"] = mall_page(page)
    cfg = mall_config(tmp_path, base)
    pipelines = {"pipelines.clean.CleanPipeline": 100, "pipelines.dedupe.DedupePipeline": 200,
                 "tests.faulty_stage.FaultyStagePipeline": 250, "pipelines.enrich.EnrichPipeline": 300,
                 "pipelines.store.StorePipeline": 900}
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "mall_comments", "-a", "source=mall",
                           "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}", "-s", "LOG_LEVEL=INFO"],
                          cwd=ROOT, env={**os.environ, "VOCWATCH_CONFIG": str(cfg)},
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs(tmp_path / "v.db")
    s = run.stats
    assert s["vocwatch/dropped/item_error_faultystage"] == 1
    assert s["vocwatch/store/inserted"] == 9
    assert s["vocwatch/balance/unaccounted"] == 0 and s["vocwatch/balance/read"] == 10
    assert run.outcome == "partial"  # an error lost an item: not a clean run
    errors = [line for line in proc.stderr.splitlines() if "Error processing" in line]
    assert len(errors) == 1 and "EXPLODE" not in errors[0]  # logged once, by URL, not by its text


def test_an_item_the_store_rejects_is_dropped_alone(mall_site: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    """The store itself refuses one row (a SQLite trigger, as a constraint would): the
    batch is retried item by item, the one is dropped as store_rejected, nine are stored."""
    base, pages = mall_site
    page = [comment(i) for i in range(10)]
    page[7]["content"] = "REJECT-ME please, store"
    pages["p1"] = mall_page(page)
    cfg = mall_config(tmp_path, base)
    open_store(f"sqlite:///{tmp_path}/v.db").close()  # create the schema
    db = sqlite3.connect(tmp_path / "v.db")
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON mentions WHEN NEW.text LIKE 'REJECT-ME%' "
               "BEGIN SELECT RAISE(ABORT, 'refused by the store'); END")
    db.commit()
    db.close()
    proc = crawl(cfg)
    assert proc.returncode == 3, proc.stderr[-3000:]  # partial: one write refused
    (run,) = runs(tmp_path / "v.db")
    s = run.stats
    assert s["vocwatch/store/inserted"] == 9 and s["vocwatch/dropped/store_rejected"] == 1
    assert s["vocwatch/balance/unaccounted"] == 0
    assert run.outcome == "partial"
    assert "REJECT-ME" not in proc.stderr  # the log names the fingerprint and URL, not the text
    assert "store rejected mention" in proc.stderr
    out = run_vocwatch("runs", "-c", str(cfg)).stdout
    assert "dropped: store_rejected: 1" in out and " partial " in out


# -- (c) ids scoped to what the site guarantees --------------------------------------------
def numbered_reviews(name: str) -> bytes:
    items = "".join(f'<div class="review" data-id="{i}"><div class="body">{name} review {i}: '
                    f'breakfast was fine, the room was clean.</div></div>' for i in range(1, 6))
    return f"<html><body>{items}</body></html>".encode()


@pytest.fixture
def two_listings() -> Iterator[str]:
    """One host, two listings whose pages number their reviews 1..5."""

    def respond(path: str) -> tuple[int, str, bytes]:
        if path in ("/a", "/b"):
            return 200, "text/html; charset=utf-8", numbered_reviews(path[1:].upper())
        return 404, "text/plain", b""

    with local_site(respond) as (base, _):
        yield base


def selectors_config(tmp_path: Path, base: str, scope: str | None = None) -> Path:
    cfg = tmp_path / "vocwatch.toml"
    scope_line = f'id_scope = "{scope}"\n' if scope else ""
    cfg.write_text(HEAD.format(db=tmp_path / "v.db") + "".join(f"""
[[sources]]
id = "{name}"
location = "harbor-sh-bund"
kind = "selectors"
url = "{base}/{name}"

[sources.selectors]
item = "div.review"
{scope_line}
[sources.selectors.fields]
text = ".body"
external_id = "xpath:@data-id"
""" for name in ("a", "b")))
    return cfg


def test_two_sources_numbering_their_reviews_alike_keep_their_own(two_listings: str, tmp_path: Path) -> None:
    cfg = selectors_config(tmp_path, two_listings)
    proc = crawl(cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    got = list(store.iter_mentions())
    store.close()
    assert len(got) == 10
    for m in got:
        assert m.text.startswith(f"{m.source_id.upper()} review {m.external_id}:"), (m.source_id, m.text)
    assert all(r.outcome == "finished" and r.stats["vocwatch/balance/unaccounted"] == 0 for r in runs(tmp_path / "v.db"))


def test_migrate_ids_rekeys_an_old_store_and_merges_duplicates(two_listings: str, tmp_path: Path) -> None:
    """A store written with global ids (what every source used before scopes) is re-keyed
    so that the next crawl finds what it stored; the migration is idempotent; and sources
    whose ids are made global again merge their duplicates."""
    db = tmp_path / "v.db"
    old = selectors_config(tmp_path, two_listings, scope="global")
    assert crawl(old).returncode == 0
    assert len(texts(db)) == 5  # the fault: one source's ids overwrote the other's
    new = selectors_config(tmp_path, two_listings)  # the default: ids unique per source
    first = run_vocwatch("store", "migrate-ids", "-c", str(new))
    assert first.returncode == 0, first.stderr
    assert "5 stored mentions with a site id: re-keyed 5, merged 0 duplicates, 0 unchanged" in first.stdout
    again = run_vocwatch("store", "migrate-ids", "-c", str(new))
    assert "re-keyed 0, merged 0 duplicates, 5 unchanged" in again.stdout
    assert crawl(new).returncode == 0
    last_two = runs(db)[-2:]
    # what was stored is found again: 5 unchanged (dedupe) + the other source's 5 now stored
    assert sorted(r.stats.get("vocwatch/store/inserted", 0) for r in last_two) == [0, 5]
    assert len(texts(db)) == 10
    back = selectors_config(tmp_path, two_listings, scope="global")
    merged = run_vocwatch("store", "migrate-ids", "-c", str(back))
    assert "10 stored mentions with a site id: re-keyed 5, merged 5 duplicates, 0 unchanged" in merged.stdout
    assert len(texts(db)) == 5


def test_a_store_crawled_before_it_was_migrated_is_repaired_by_migrating(two_listings: str, tmp_path: Path) -> None:
    """Forgetting the migration after an upgrade doubles what the sources read again; the
    migration run later merges each old row into the new one."""
    db = tmp_path / "v.db"
    assert crawl(selectors_config(tmp_path, two_listings, scope="global")).returncode == 0
    new = selectors_config(tmp_path, two_listings)
    assert crawl(new).returncode == 0
    assert len(texts(db)) == 15
    out = run_vocwatch("store", "migrate-ids", "-c", str(new)).stdout
    assert "15 stored mentions with a site id: re-keyed 0, merged 5 duplicates, 10 unchanged" in out
    got = texts(db)
    assert len(got) == 10
