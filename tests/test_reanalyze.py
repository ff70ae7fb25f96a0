"""vocwatch reanalyze: stored mentions labelled by an older model get the current labels;
nothing else about them changes, and a second run has nothing to do."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

from config.loader import load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.reanalyze import current_models, reanalyze
from crawlers.store.sqlite import SQLiteStore
from vocwatch.cli import main

T0 = datetime(2026, 11, 20, 6, 32, tzinfo=UTC)
CONFIG = """\
[store]
url = "sqlite:///{db}"
[[brands]]
id = "harbor"
[[locations]]
id = "bund"
name = "Harbor Bund"
brand = "harbor"
category = "hotel"
lat = 31.0
lon = 121.0
region = "shanghai"
role = "own"
"""


def _mention(ext: str, text: str, location: str = "bund", model: str = "vocwatch-sent-zh-0") -> Mention:
    m = Mention(site="s", kind="review", url=f"http://x/{ext}", text=text, external_id=ext, location_id=location,
                brand="harbor", published_at=T0, crawled_at=T0, likes=3, language="zh",
                sentiment_label="positive", sentiment_score=0.9, aspects=[], keywords=["旧"], nlp_model=model)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def _setup(tmp_path: Path) -> tuple[Path, SQLiteStore]:
    db = tmp_path / "s.db"
    cfg = tmp_path / "v.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(db=db)), encoding="utf-8")
    store = SQLiteStore(str(db))
    store.upsert_mentions([
        _mention("a", "房间很脏，前台态度很差，再也不来了"),
        _mention("b", "The room was clean and the staff were friendly.", model=sorted(current_models())[0]),
        _mention("c", "房间很脏", location="gone"),  # a location no longer configured: left alone
    ])
    return cfg, store


def test_old_labels_are_replaced_and_nothing_else_changes(tmp_path: Path) -> None:
    cfg, store = _setup(tmp_path)
    before = {m.external_id: m for m in store.iter_mentions()}
    r = reanalyze(load_config(cfg), store)
    assert (r.examined, r.reanalyzed, r.current) == (2, 1, 1)
    after = {m.external_id: m for m in store.iter_mentions()}
    a = after["a"]
    assert a.nlp_model in current_models() and a.sentiment_label == "negative" and a.sentiment_score < 0
    assert {x["aspect"] for x in a.aspects} >= {"cleanliness", "service"} and "旧" not in a.keywords
    for field in ("text", "likes", "published_at", "content_hash", "fingerprint", "location_id"):
        assert getattr(a, field) == getattr(before["a"], field)
    assert after["b"] == before["b"] and after["c"] == before["c"]
    assert reanalyze(load_config(cfg), store).reanalyzed == 0  # nothing left to do
    store.close()


def test_all_relabels_every_configured_mention_via_the_cli(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg, store = _setup(tmp_path)
    assert main(["reanalyze", "-c", str(cfg), "--all"]) == 0
    assert "2 mentions examined, 2 re-labelled" in capsys.readouterr().out
    assert {m.external_id: m.sentiment_label for m in store.iter_mentions()}["b"] == "positive"
    store.close()
