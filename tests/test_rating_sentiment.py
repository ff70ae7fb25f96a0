"""Rating and sentiment agree (issue 14, item 6): a rated review's label follows the stars
rule of ``nlp.rating``, on every path that labels a mention: ``analyze``, the crawl's
enrichment stage (thread and worker process), ``vocwatch reanalyze`` and ``vocwatch analyze``."""

from __future__ import annotations

import asyncio
import io
import json
import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from config.loader import load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.reanalyze import current_models, reanalyze
from crawlers.store.sqlite import SQLiteStore
from nlp.analyze import analysis_to_dict, analyze
from nlp.jsonl import analyze_jsonl
from nlp.rating import RULE, clean_rating, combine, model_name, stars_label, stars_score
from nlp.sentiment import band_label, scorer
from pipelines.clean import CleanPipeline
from pipelines.enrich import EnrichPipeline
from pipelines.store import StorePipeline

NEGATIVE_TEXT = "Filthy room and rude staff, never again"
POSITIVE_TEXT = "Wonderful stay, spotless room and the friendliest staff"
T0 = datetime(2026, 11, 20, 6, 32, tzinfo=UTC)


def _grid(n: int = 41) -> list[float]:
    return [round(-1 + 2 * i / (n - 1), 4) for i in range(n)]


# -- the rule ---------------------------------------------------------------------------
@pytest.mark.parametrize("band", [0.05, 0.2, 0.4, 0.45])  # VADER, SnowNLP, our en and zh bands
def test_high_stars_are_never_negative_and_low_stars_never_positive(band: float) -> None:
    def label(s: float) -> str:
        return band_label(s, band)

    for t in _grid():
        for r in (4.0, 4.3, 5.0):
            assert combine(t, r, label)[0] != "negative", (t, r)
        for r in (0.0, 1.0, 1.5, 2.0):
            assert combine(t, r, label)[0] != "positive", (t, r)


def test_a_three_keeps_the_texts_polarity_only_when_it_is_strong() -> None:
    def label(s: float) -> str:
        return band_label(s, 0.4)

    assert combine(0.95, 3.0, label) == ("positive", 0.475)
    assert combine(-0.95, 3.0, label) == ("negative", -0.475)
    assert combine(0.7, 3.0, label)[0] == "neutral"  # positive text, not strongly: the 3 wins
    assert combine(-0.7, 3.0, label)[0] == "neutral"


def test_score_blends_text_and_stars_half_and_half() -> None:
    def label(s: float) -> str:
        return band_label(s, 0.4)

    assert [stars_score(r) for r in (0, 1, 2, 3, 4, 5)] == [-1.0, -1.0, -0.5, 0.0, 0.5, 1.0]
    assert combine(-0.9, 5.0, label) == ("neutral", 0.05)  # 5 stars, text reads negative
    assert combine(0.2, 4.0, label) == ("neutral", 0.35)
    assert combine(0.5, 4.0, label) == ("positive", 0.5)
    assert combine(0.9, 1.0, label) == ("neutral", -0.05)  # 1 star, text reads positive
    assert combine(None, 4.5, None) == ("positive", 0.75)  # no text model: the stars alone
    assert [stars_label(r) for r in (1, 2, 2.5, 3, 3.9, 4, 5)] == [
        "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]


def test_unusable_ratings_are_no_rating_and_off_scale_ones_clamped() -> None:
    assert [clean_rating(v) for v in (None, math.nan, math.inf, "x", True)] == [None] * 5
    assert (clean_rating(7), clean_rating(-1), clean_rating(3.5)) == (5.0, 0.0, 3.5)
    assert model_name("vocwatch-sent-en-1") == f"vocwatch-sent-en-1+{RULE}" and model_name(None) == RULE


# -- analyze ------------------------------------------------------------------------------
def test_analyze_takes_the_rating_into_account_and_keeps_aspects_text_based() -> None:
    texts = [NEGATIVE_TEXT, POSITIVE_TEXT, NEGATIVE_TEXT, "房间很脏，前台态度很差，再也不来了"]
    plain = analyze(texts)
    rated = analyze(texts, ratings=[5, 1, None, 4.0])
    assert [a.label for a in plain] == ["negative", "positive", "negative", "negative"]
    assert [a.label for a in rated] == ["neutral", "neutral", "negative", "neutral"]
    en, zh = scorer("en").name, scorer("zh").name
    assert [a.model for a in rated] == [f"{en}+{RULE}", f"{en}+{RULE}", en, f"{zh}+{RULE}"]
    for p, r in zip(plain, rated, strict=True):
        assert r.aspects == p.aspects  # "the breakfast was awful" stays a breakfast complaint at 4 stars
        assert r.text_label == p.label and r.text_score == p.score
    assert rated[2] == plain[2]  # unrated: exactly as before
    assert any(x.sentiment == "negative" for x in rated[3].aspects)
    d = analysis_to_dict(rated[0])["sentiment"]
    assert d["label"] == "neutral" and d["text_label"] == "negative" and d["text_score"] == plain[0].score
    assert "text_label" not in analysis_to_dict(rated[2])["sentiment"]


def test_a_language_without_a_model_takes_the_stars_and_an_empty_text_nothing() -> None:
    fr, empty, unrated = analyze(["Séjour décevant, chambre sale et personnel désagréable", "", "Très bien"],
                                 ratings=[1.0, 5.0, None])
    assert (fr.label, fr.score, fr.model) == ("negative", -1.0, RULE)
    assert (empty.label, empty.score, empty.model) == ("neutral", 0.0, "none")  # nothing for the label to describe
    assert (unrated.label, unrated.model) == ("neutral", "none")


def test_ratings_must_match_the_texts() -> None:
    with pytest.raises(ValueError, match="ratings has 1 entries for 2 texts"):
        analyze(["a", "b"], ratings=[5])
    assert analyze([NEGATIVE_TEXT], ratings=[math.nan])[0].label == "negative"  # NaN: not rated


# -- the crawl's pipeline -------------------------------------------------------------------
@pytest.mark.parametrize("enrich_stage", [False, True], ids=["store-analyses", "enrich-stage"])
@pytest.mark.parametrize("workers", [0, 1], ids=["thread", "worker-process"])
def test_a_crawled_five_star_review_is_never_stored_negative(tmp_path: Path, workers: int, enrich_stage: bool) -> None:
    """The default pipelines analyse in the store's flush; an EnrichPipeline before the store
    labels in the crawl process instead, and the flush leaves its labels alone."""
    url = f"sqlite:///{tmp_path}/p.db"
    crawler = get_crawler(settings_dict={"VOCWATCH_STORE_URL": url, "VOCWATCH_NLP_WORKERS": workers})
    crawler.stats.open_spider()
    clean, enrich, store = (CleanPipeline.from_crawler(crawler), EnrichPipeline.from_crawler(crawler),
                            StorePipeline.from_crawler(crawler))

    def raw(ext: str, text: str, rating_raw: float | None, scale: float | None = 10.0) -> Mention:
        return Mention(site="s", kind="review", url=f"http://s/{ext}", text=text, external_id=ext, author="Ann",
                       rating_raw=rating_raw, rating_scale=scale, published_at=T0)

    async def run() -> None:
        items = [clean.process_item(m) for m in (
            raw("five", NEGATIVE_TEXT, 10.0), raw("one", POSITIVE_TEXT, 1.0, 5.0),
            raw("none", NEGATIVE_TEXT, None, None), raw("stars", "", 5.0, 5.0))]
        if enrich_stage:
            items = await asyncio.gather(*(enrich.process_item(m) for m in items))
        for m in items:
            store.process_item(m)
        await store.close_spider()

    asyncio.run(run())
    s = SQLiteStore(url.removeprefix("sqlite:///"))
    got = {m.external_id: m for m in s.iter_mentions()}
    s.close()
    assert got["five"].rating == 5.0 and got["five"].sentiment_label in ("positive", "neutral")
    assert got["five"].nlp_model.endswith(f"+{RULE}")
    assert got["one"].sentiment_label in ("negative", "neutral")
    assert (got["none"].sentiment_label, got["none"].nlp_model) == ("negative", scorer("en").name)
    assert (got["stars"].sentiment_label, got["stars"].nlp_model) == (None, "none")  # rating-only: unlabelled
    assert crawler.stats.get_value("vocwatch/nlp/worker_failures") is None


# -- reanalyze ----------------------------------------------------------------------------
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


def _stored(ext: str, text: str, rating: float | None, label: str | None, model: str) -> Mention:
    m = Mention(site="s", kind="review", url=f"http://x/{ext}", text=text, external_id=ext, location_id="bund",
                brand="harbor", published_at=T0, crawled_at=T0, rating_raw=rating, rating_scale=5.0 if rating else None,
                rating=rating, language="en" if text else None, sentiment_label=label,
                sentiment_score=-0.9 if label == "negative" else None, aspects=[], keywords=[], nlp_model=model)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def test_reanalyze_relabels_rated_mentions_stored_before_the_rule(tmp_path: Path) -> None:
    db, cfg = tmp_path / "s.db", tmp_path / "v.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(db=db)), encoding="utf-8")
    en = scorer("en").name
    store = SQLiteStore(str(db))
    store.upsert_mentions([
        _stored("five", NEGATIVE_TEXT, 5.0, "negative", en),  # the current text model, but before the rule
        _stored("plain", NEGATIVE_TEXT, None, "negative", en),  # unrated and current: left alone
        _stored("stars", "", 4.0, None, "none"),  # rating-only: never labelled
    ])
    before = {m.external_id: m for m in store.iter_mentions()}
    r = reanalyze(load_config(cfg), store)
    assert (r.examined, r.reanalyzed, r.current) == (3, 1, 2)
    after = {m.external_id: m for m in store.iter_mentions()}
    assert after["five"].sentiment_label == "neutral" and after["five"].nlp_model == f"{en}+{RULE}"
    assert after["five"].nlp_model in current_models(True) and after["five"].nlp_model not in current_models(False)
    assert after["plain"] == before["plain"] and after["stars"] == before["stars"]
    assert reanalyze(load_config(cfg), store).reanalyzed == 0  # nothing left to do
    store.close()


# -- vocwatch analyze (JSON lines) --------------------------------------------------------------
def test_jsonl_takes_an_optional_rating_and_refuses_a_bad_one() -> None:
    src = io.StringIO(json.dumps({"id": 1, "text": NEGATIVE_TEXT, "rating": 5}) + "\n"
                      + json.dumps({"id": 2, "text": NEGATIVE_TEXT, "rating": 9}) + "\n"
                      + json.dumps({"id": 3, "text": NEGATIVE_TEXT, "rating": "5"}) + "\n"
                      + json.dumps({"id": 4, "text": NEGATIVE_TEXT, "rating": None}) + "\n")
    dst, warnings = io.StringIO(), []
    report = analyze_jsonl(src, dst, warn=warnings.append)
    rows = {r["id"]: r for r in map(json.loads, dst.getvalue().splitlines())}
    assert (report.analyzed, report.skipped) == (2, 2) and set(rows) == {1, 4}
    assert rows[1]["sentiment"]["label"] == "neutral" and rows[1]["sentiment"]["text_label"] == "negative"
    assert rows[4]["sentiment"]["label"] == "negative"
    assert all("'rating' must be a number from 0 to 5" in w for w in warnings)


# -- the benchmark's table --------------------------------------------------------------------
def test_rating_agreement_table_on_a_small_shared_dir(tmp_path: Path) -> None:
    from nlp.training.data import split_of
    from nlp.training.evaluate_ratings import evaluate, format_table

    d = tmp_path / "datasets"
    (d / "en").mkdir(parents=True)
    (d / "zh").mkdir()
    texts = [t for t in (f"{i} {NEGATIVE_TEXT}" for i in range(200)) if split_of(t, "en") != "train"][:4]
    lines = ["rating\tdate\tvariation\tverified_reviews\tfeedback"]
    lines += [f"5\t31-Jul-18\tx\t{t}\t1" for t in texts[:2]] + [f"1\t31-Jul-18\tx\t{t}\t0" for t in texts[2:]]
    (d / "en" / "amazon_alexa.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    head = "index,reviewbody,star,service_waiters_attitude,dish_taste\n"
    (d / "zh" / "asap_train_sample.csv").write_text(head + "1,菜很好吃，服务员态度很差，再也不来了,5.0,1,1\n", encoding="utf-8")
    (d / "zh" / "asap_dev_sample.csv").write_text(head + "2,服务很好，菜也好吃,5.0,1,-2\n", encoding="utf-8")
    rows = evaluate(tmp_path)
    by = {(r["dataset"], str(r["rule"]).split(" (")[0]): r for r in rows}
    text, rule = by[("amazon_alexa (test+dev)", "text only")], by[("amazon_alexa (test+dev)", "stars rule w=0.5")]
    assert text["n"] == rule["n"] == 4
    assert text["contradict_n"] == 2 and rule["contradict_n"] == 0  # the 5-star ones read negative
    asap_text, asap_rule = by[("asap samples", "text only")], by[("asap samples", "stars rule w=0.5")]
    assert asap_text["human_n"] == asap_rule["human_n"] == 2
    assert asap_rule["contradict_n"] == 0 and asap_rule["human"] >= asap_text["human"]
    assert "stars rule w=0.5" in format_table(rows)
