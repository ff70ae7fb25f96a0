"""The parts of accounting and id scopes that need no crawl: field coercion, the balance,
fingerprints per scope, the id migration on a real SQLite store, BSON checks for MongoDB."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from config.model import ID_SCOPES
from crawlers.items import (
    Mention,
    coerce_fields,
    id_scope_value,
    mention_content_hash,
    mention_fingerprint,
)
from crawlers.stats import balance, item_drops, page_drops
from crawlers.store import open_store


def mention(**kw: Any) -> Mention:
    return Mention(**{"site": "s", "kind": "review", "url": "http://s/p?page=2", "text": "fine", **kw})


# -- coercion to the declared types ---------------------------------------------------
def test_coercion_keeps_the_mention_and_gives_up_only_the_bad_field() -> None:
    m = mention(author={"name": "x"}, published_raw=["2026-01-01"], published_at="2026-01-01", likes="1.2万",
                rating_raw="4,5", external_id=123, title=7, reply_at=datetime(2026, 1, 2, 8), comments=True,
                keywords="a", author_region=float("nan"))
    given_up, fatal = coerce_fields(m, timezone(timedelta(hours=8)))
    assert fatal == []
    assert sorted(given_up) == ["author", "author_region", "comments", "keywords", "published_at", "published_raw"]
    assert (m.author, m.published_raw, m.published_at, m.comments, m.keywords) == (None, None, None, None, [])
    assert (m.likes, m.rating_raw, m.external_id, m.title) == (12000, 4.5, "123", "7")
    assert m.reply_at == datetime(2026, 1, 2, 0, tzinfo=UTC)  # naive: read in the source's zone


@pytest.mark.parametrize("field", ["text", "url", "kind", "site"])
def test_a_required_field_that_cannot_be_text_is_fatal(field: str) -> None:
    assert coerce_fields(mention(**{field: {"a": 1}})) == ([], [field])


def test_absent_text_is_left_to_the_missing_text_check() -> None:
    m = mention(text=None)
    assert coerce_fields(m) == ([], []) and m.text == ""


def test_clean_stage_counts_what_it_gives_up(tmp_path: Path) -> None:
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from pipelines.clean import CleanPipeline

    crawler = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db"})
    crawler.stats.open_spider()
    clean = CleanPipeline.from_crawler(crawler)
    m = clean.process_item(mention(author={"nick": "x"}, external_id="1"))
    assert m.author is None and m.fingerprint
    assert crawler.stats.get_value("vocwatch/warnings/bad_field/author") == 1
    with pytest.raises(DropItem, match="bad_field_text"):
        clean.process_item(mention(text=["a", "list"]))
    assert crawler.stats.get_value("vocwatch/dropped/bad_field_text") == 1


# -- the balance -----------------------------------------------------------------------
def test_balance_counts_item_drops_not_page_drops() -> None:
    stats = {"vocwatch/mentions/extracted": 10, "vocwatch/store/inserted": 6, "vocwatch/store/updated": 1,
             "vocwatch/store/unchanged": 1, "vocwatch/dropped/already_stored": 1,
             "vocwatch/dropped/item_error_enrich": 1, "vocwatch/dropped/page_malformed": 3}
    b = balance(stats)
    assert (b.read, b.accounted, b.unaccounted, b.closes) == (10, 10, 0, True)
    assert item_drops(stats) == {"already_stored": 1, "item_error_enrich": 1}
    assert page_drops(stats) == {"page_malformed": 3}
    assert balance({**stats, "vocwatch/mentions/extracted": 12}).unaccounted == 2


def test_pipeline_stage_is_named_from_the_raising_frame() -> None:
    from twisted.python.failure import Failure

    from crawlers.extensions import pipeline_stage

    class DedupePipeline:
        def process_item(self, item: Any) -> Any:
            raise KeyError(item)

    stage, other = DedupePipeline(), object()
    try:
        stage.process_item(1)
    except KeyError:
        failure = Failure()
    assert pipeline_stage(failure, [other, stage]) == "dedupe"
    assert pipeline_stage(failure, [other]) == "unknown"


# -- fingerprints per id scope ----------------------------------------------------------
def test_a_global_id_keeps_its_fingerprint_byte_for_byte() -> None:
    """Stores written before scopes existed keep their ids: sha1 of site, kind, id."""
    m = mention(site="weibo", kind="post", external_id="4871234567890")
    assert mention_fingerprint(m) == hashlib.sha1(b"weibo\x1fpost\x1f4871234567890").hexdigest()


def test_scoped_ids_differ_by_scope_and_only_by_it() -> None:
    values = {s: id_scope_value(s, url="https://forum.example:8443/t/9?page=3", source_id="loc/src",
                                listing_url="http://forum.example/t/9#top") for s in ID_SCOPES}
    assert values == {"global": "", "host": "host:forum.example", "url": "url:forum.example/t/9",
                      "source": "source:loc/src"}
    fps = {mention_fingerprint(mention(external_id="1", id_scope=v)) for v in values.values()}
    assert len(fps) == 4
    # the text is not part of an id-based fingerprint: a re-crawl with new text updates it
    assert mention_fingerprint(mention(external_id="1", id_scope="source:a", text="other")) == \
        mention_fingerprint(mention(external_id="1", id_scope="source:a"))


def test_every_registered_adapter_declares_a_known_scope() -> None:
    from spiders.pages.registry import id_scope, sites

    scopes = {name: id_scope(name) for name in sites()}
    assert set(scopes.values()) <= set(ID_SCOPES)
    assert {n for n, s in scopes.items() if s != "global"} == {
        "discourse", "forum_discuz", "forum_phpbb", "forum_vbulletin", "forum_xenforo", "rss", "schema_org",
        "wordpress_comments"}


def test_selectors_id_scope_is_validated(tmp_path: Path) -> None:
    from config.loader import ConfigError
    from config.selectors import load_selector_file

    path = tmp_path / "s.toml"
    path.write_text('item = "div"\n[fields]\ntext = "p"\n')
    assert load_selector_file(path).id_scope == "source"
    path.write_text('item = "div"\nid_scope = "planet"\n[fields]\ntext = "p"\n')
    with pytest.raises(ConfigError, match="id_scope: must be one of: global, host, url, source"):
        load_selector_file(path)


# -- the id migration on a real store ------------------------------------------------------
def stored(ext: str, source: str, scope: str = "", text: str = "t") -> Mention:
    m = mention(external_id=ext, source_id=source, id_scope=scope, text=text, published_at=datetime(2026, 1, 1, tzinfo=UTC))
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def test_migrate_ids_follows_chains_merges_and_is_idempotent(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/m.db")
    # "a" rows were written with global ids; "b" rows with per-source ids that become global
    store.upsert_mentions([stored("1", "a"), stored("2", "a"), stored("1", "b", "source:b"),
                           stored("3", "b", "source:b"), stored("9", "gone")])
    scope = {"a": "source:a", "b": ""}

    def scope_of(m: Mention) -> str | None:
        return scope.get(m.source_id)

    dry = store.migrate_ids(scope_of, dry_run=True)
    assert (dry.checked, dry.rekeyed, dry.merged, dry.unknown_source) == (5, 4, 0, 1)
    assert store.count_mentions() == 5
    r = store.migrate_ids(scope_of)
    # b's "1" takes the global key that a's "1" held until a moved to its own scope
    assert (r.rekeyed, r.merged, r.unchanged, r.unknown_source) == (4, 0, 0, 1)
    by_fp = {m.fingerprint: m for m in store.iter_mentions()}
    for m in by_fp.values():
        assert m.fingerprint == mention_fingerprint(m) and m.id_scope == scope.get(m.source_id, "")
    again = store.migrate_ids(scope_of)
    assert (again.rekeyed, again.merged, again.unchanged) == (0, 0, 4)
    # now both sources' ids are global: "1" of a and "1" of b are one mention
    scope["a"] = ""
    merged = store.migrate_ids(scope_of)
    assert (merged.rekeyed, merged.merged) == (1, 1) and store.count_mentions() == 4
    store.close()


def test_an_old_store_gains_the_id_scope_column(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = open_store(f"sqlite:///{db}")
    store.upsert_mentions([stored("1", "a")])
    store.close()
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE mentions DROP COLUMN id_scope")  # as a store from before scopes
    con.commit()
    con.close()
    store = open_store(f"sqlite:///{db}")
    (m,) = store.iter_mentions()
    assert m.id_scope == "" and m.fingerprint == mention_fingerprint(m)
    store.close()


def test_mongo_documents_are_checked_before_a_batch_is_sent() -> None:
    import bson

    from crawlers.store.mongo import checked_doc

    assert checked_doc(stored("1", "a"))["_id"]
    with pytest.raises(OverflowError):
        checked_doc(stored("1", "a").replace(likes=2**70))
    with pytest.raises(bson.errors.InvalidDocument):
        checked_doc(stored("1", "a").replace(author={1, 2}))
