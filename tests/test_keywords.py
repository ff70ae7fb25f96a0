"""Keywords: content words and phrases, negation kept, fast paths per language."""

from __future__ import annotations

import pytest

from nlp.analyze import analyze
from nlp.keywords import en_phrases, keywords, top_terms, zh_terms


def test_zh_content_words_only() -> None:
    kws = keywords("房间很干净但是前台态度很差", "zh")
    assert set(kws) == {"房间", "干净", "前台", "态度"}
    assert not {"很", "但是"} & set(kws)


def test_zh_negator_stays_with_its_word() -> None:
    kws = keywords("房间不干净，没有热水", "zh")
    assert "不干净" in kws and "没有热水" in kws
    assert "干净" not in kws


def test_zh_generic_words_are_not_keywords() -> None:
    assert keywords("感觉还是可以的，就是有点问题", "zh") == []


def test_zh_tfidf_ranks_repeated_specific_word_first() -> None:
    kws = keywords("蟑螂！房间里有蟑螂，床上也有蟑螂，酒店", "zh")
    assert kws[0] == "蟑螂"


def test_zh_terms_in_order() -> None:
    assert zh_terms("早餐丰富，位置方便") == ["早餐", "丰富", "位置", "方便"]


def test_mixed_zh_en_text_reads_both() -> None:
    kws = keywords("酒店的breakfast很好", "zh")
    assert "酒店" in kws and "breakfast" in kws


def test_en_rake_phrases_split_at_stop_words_and_punctuation() -> None:
    assert en_phrases("The front desk staff were rude, but the location is great.") == [
        ["front", "desk", "staff"], ["rude"], ["location"], ["great"]]


def test_en_multiword_phrases_rank_first_and_negation_is_kept() -> None:
    kws = keywords("The room was not clean and the front desk staff were rude.", "en")
    assert kws[0] == "front desk staff"
    assert "not clean" in kws and "clean" not in kws


def test_en_phrases_capped_at_three_words() -> None:
    assert all(len(p) <= 3 for p in en_phrases("amazing rooftop pool bar terrace view"))


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "the and of it was", "1234 5678"])
def test_nothing_to_say_gives_no_keywords(text: str) -> None:
    assert keywords(text, "en") == [] and keywords(text, "zh") == []


def test_unsupported_language_gives_no_keywords() -> None:
    assert keywords("Das Zimmer war sauber", "de") == []


def test_top_terms_count_each_text_once() -> None:
    assert top_terms([["蟑螂", "蟑螂", "房间"], ["蟑螂"], ["早餐"]], k=2) == [("蟑螂", 2), ("房间", 1)]


def test_analyze_reports_keywords() -> None:
    zh, en = analyze(["早餐很丰富，但是房间有蟑螂", "Great breakfast buffet but noisy air conditioning."])
    assert "蟑螂" in zh.keywords and "早餐" in zh.keywords
    assert "great breakfast buffet" in en.keywords and "noisy air conditioning" in en.keywords
