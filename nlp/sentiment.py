"""Baseline sentiment: SnowNLP for Chinese, VADER for English.

Both load lazily and once per process. Scores are mapped to [-1, 1]; labels use a
neutral band around 0 so weak signals are not forced into a polarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

ZH_NEUTRAL_BAND = 0.2  # SnowNLP p in (0.4, 0.6) -> neutral
EN_NEUTRAL_BAND = 0.05  # VADER's own recommended compound threshold


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: str
    """``positive``, ``neutral`` or ``negative``."""
    score: float
    """In [-1, 1]."""
    model: str
    """Model name and version that produced it."""


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def model_names() -> dict[str, str]:
    return {"zh": f"snownlp-{version('snownlp')}", "en": f"vader-{version('vaderSentiment')}"}


def _label(score: float, band: float) -> str:
    if score > band:
        return "positive"
    if score < -band:
        return "negative"
    return "neutral"


def sentiment(text: str, lang: str | None) -> Sentiment | None:
    """Sentiment of one text in ``lang``; ``None`` for languages without a model."""
    if not text.strip():
        return None
    if lang == "zh":
        from snownlp import SnowNLP

        score = round(2 * SnowNLP(text).sentiments - 1, 4)
        return Sentiment(_label(score, ZH_NEUTRAL_BAND), score, model_names()["zh"])
    if lang == "en":
        score = round(_vader().polarity_scores(text)["compound"], 4)
        return Sentiment(_label(score, EN_NEUTRAL_BAND), score, model_names()["en"])
    return None
