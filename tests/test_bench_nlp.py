"""``vocwatch bench nlp`` throughput: VADER on the same texts in the same run, langdetect share."""

from __future__ import annotations

from vocwatch.bench import nlp as bench


def test_throughput_reports_vader_on_the_same_texts_and_the_langdetect_share() -> None:
    texts = {"en tiny": ("en", ["The room was clean but the staff were rude."] * 20 + ["Sehr gut, danke"] * 5)}
    (row,) = bench.throughput(texts)
    assert row["n"] == 25 and row["analyze_texts_per_s"] > 0 and row["vader_texts_per_s"] > 0
    assert row["with_keywords_texts_per_s"] > 0
    assert row["vs_vader"] == round(row["analyze_texts_per_s"] / row["vader_texts_per_s"], 2)
    assert row["langdetect_share"] == 0.2  # the German ones, not the English ones
    assert "baseline" not in row  # SnowNLP only for Chinese
    out = bench.format_result({"throughput": [row], "cold_start": {"first_result_s": 0.5, "python_start_s": 0.1}},
                              None)
    assert "vs VADER" in out and "20.0%" in out and f"{row['vs_vader']}x" in out


def test_stage_split_covers_every_stage_and_prints() -> None:
    """The split names each stage of analyze and leaves the rest to ``other``; bench nlp prints it."""
    texts = ["房间很干净，但是前台态度很差"] * 10 + ["The room was clean but the staff were rude."] * 10
    split = bench.stage_split(texts, repeat=1)
    assert set(split) == {"language", "aspects", "sentiment", "keywords", "other", "total"}
    assert all(v >= 0 for v in split.values()) and split["total"] > 0
    row = {"texts": "mixed", "n": 20, "avg_chars": 30, "langdetect_share": 0.0, "analyze_texts_per_s": 1,
           "stages_us": split}
    out = bench.format_result({"throughput": [row], "cold_start": {"first_result_s": 0.5, "python_start_s": 0.1}},
                              None)
    assert "where one text's time goes" in out and f"{split['keywords']:.1f}" in out
