"""nlp.analyze: aspects from clauses, contrast, mixed language, defined answers for odd input."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from nlp.analyze import MAX_CHARS, analyze
from nlp.aspects import TAXONOMY_DIR, load_taxonomy, split_clauses
from nlp.jsonl import analyze_jsonl


def aspects(text: str, domain: str | None = "hotel") -> dict[str, str]:
    (a,) = analyze([text], domain=domain)
    return {x.aspect: x.sentiment for x in a.aspects}


def test_contrast_gives_each_aspect_its_own_clause_sentiment() -> None:
    got = aspects("房间很干净但是前台态度很差")
    assert got["cleanliness"] == "positive" and got["service"] == "negative"
    got = aspects("The location was perfect, but the staff were rude and unhelpful.")
    assert got["location"] == "positive" and got["service"] == "negative"


@pytest.mark.parametrize(("text", "want"), [
    ("早餐很丰富，性价比很高", {"food", "value"}),
    ("Wifi kept dropping and the shower had no hot water", {"wifi", "room"}),
    ("酒店的breakfast很好", {"food"}),  # English term inside Chinese text
    ("送餐太慢了，汤都洒了", {"waiting", "packaging"}),
])
def test_aspects_found_in_both_languages(text: str, want: set[str]) -> None:
    domain = "restaurant" if "送餐" in text else "hotel"
    assert want <= set(aspects(text, domain))


def test_words_inside_other_words_are_not_aspects() -> None:
    assert "room" not in aspects("The mushroom soup", "hotel")
    assert aspects("bedroom", "hotel") == {}


def test_clause_splitting() -> None:
    assert split_clauses("房间很干净，但是前台态度很差。") == ["房间很干净", "但是前台态度很差"]
    assert split_clauses("Nice room but noisy. Great view!") == ["Nice room", "but noisy", "Great view"]
    assert split_clauses("3.5 stars") == ["3.5 stars"]  # decimals are not sentence ends


def test_language_and_model_recorded() -> None:
    zh, en, mixed = analyze(["非常满意，下次还来", "Absolutely loved it", "这家酒店的location很好，staff也很nice"])
    assert (zh.lang, en.lang, mixed.lang) == ("zh", "en", "zh")
    assert zh.model != "none" and en.model != "none" and zh.model != en.model
    assert zh.label == "positive" and en.label == "positive"


@pytest.mark.parametrize("text", ["", "   \n\t", "😀👍🎉", None, "!!!???", "12345"])
def test_empty_and_symbol_only_texts_get_a_defined_answer(text: str | None) -> None:
    (a,) = analyze([text])
    assert (a.lang, a.label, a.score, a.aspects, a.keywords, a.model) == ("und", "neutral", 0.0, (), (), "none")


def test_huge_text_is_truncated_not_an_error() -> None:
    (a,) = analyze(["房间很干净。" * 10_000])
    assert a.truncated and a.lang == "zh" and a.label in ("positive", "neutral", "negative")
    assert MAX_CHARS < 60_000


def test_unsupported_language_is_neutral_without_model() -> None:
    (a,) = analyze(["Das Zimmer war sehr sauber und das Personal freundlich"])
    assert a.lang == "de" and a.model == "none" and a.score == 0.0


def test_given_languages_are_used_and_lengths_checked() -> None:
    (a,) = analyze(["ok"], langs=["en"])
    assert a.lang == "en"
    with pytest.raises(ValueError, match="langs has 2 entries for 1 texts"):
        analyze(["x"], langs=["en", "zh"])


def test_user_taxonomy_extends_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text('[aspects.wifi]\nen = ["hotspot"]\n[aspects.pets]\nlabel = "Pets"\nzh = ["宠物"]\nen = ["dog*"]\n', encoding="utf-8")
    tax = load_taxonomy(TAXONOMY_DIR / "hotel.toml", extra)
    assert tax.find("the hotspot was slow") == {"wifi": ["hotspot"]}
    assert tax.find("可以带宠物") == {"pets": ["宠物"]} and tax.find("dogs welcome") == {"pets": ["dogs"]}


def test_jsonl_reports_bad_lines_and_processes_the_rest() -> None:
    src = io.StringIO('{"id": 1, "text": "服务很好"}\nnot json\n{"text": 3}\n["x"]\n{"id": 2}\n\n{"id": 9, "text": "bad", "lang": "en"}\n')
    dst, warnings = io.StringIO(), []
    report = analyze_jsonl(src, dst, warn=warnings.append)
    rows = [json.loads(line) for line in dst.getvalue().splitlines()]
    assert [r["id"] for r in rows] == [1, 9]
    assert rows[0]["text"] == "服务很好" and rows[0]["lang"] == "zh"
    assert set(rows[0]) == {"id", "text", "lang", "sentiment", "aspects", "keywords", "model"}
    assert rows[1]["sentiment"]["label"] == "negative"
    assert (report.analyzed, report.skipped) == (2, 4)
    assert [w.split(":")[0] for w in warnings] == ["line 2", "line 3", "line 4", "line 5"]


def test_keywords_off_leaves_every_other_field_as_it_was() -> None:
    """What the crawl runs (keywords on demand): the same analysis, no keywords."""
    texts = ["房间很干净，但是早餐太差了，前台态度也不好", "Great breakfast buffet, but the air conditioning was noisy.",
             "", "Truly awful."]
    full, bare = analyze(texts, ratings=[4.0, None, 5.0, 1.0]), analyze(texts, ratings=[4.0, None, 5.0, 1.0],
                                                                        keywords=False)
    assert any(a.keywords for a in full) and not any(a.keywords for a in bare)
    assert [dataclasses.replace(a, keywords=()) for a in full] == bare
