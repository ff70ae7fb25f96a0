"""``vocwatch bench nlp`` throughput: VADER on the same texts in the same run, langdetect share."""

from __future__ import annotations

from vocwatch.bench import nlp as bench


def test_throughput_reports_vader_on_the_same_texts_and_the_langdetect_share() -> None:
    texts = {"en tiny": ("en", ["The room was clean but the staff were rude."] * 20 + ["Sehr gut, danke"] * 5)}
    (row,) = bench.throughput(texts)
    assert row["n"] == 25 and row["analyze_texts_per_s"] > 0 and row["vader_texts_per_s"] > 0
    assert row["vs_vader"] == round(row["analyze_texts_per_s"] / row["vader_texts_per_s"], 2)
    assert row["langdetect_share"] == 0.2  # the German ones, not the English ones
    assert "baseline" not in row  # SnowNLP only for Chinese
    out = bench.format_result({"throughput": [row], "cold_start": {"first_result_s": 0.5, "python_start_s": 0.1}},
                              None)
    assert "vs VADER" in out and "20.0%" in out and f"{row['vs_vader']}x" in out
