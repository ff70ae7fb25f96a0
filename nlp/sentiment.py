"""Sentence sentiment scorers behind one small interface.

A scorer has ``name`` ("model-version"), ``predict(texts, domain=None) -> scores in
[-1, 1]`` and ``label(score)``. ``domain`` (``hotel``, ``restaurant``, ``ecommerce`` or
``None``) lets a model use its domain-specific weights; scorers without them ignore it.
vocwatch's own trained models (``nlp.textcat``) are used when their files are present;
SnowNLP (Chinese) and VADER (English) are the baselines they are measured against, and the
fallback. Every result records which scorer produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from typing import Any, Protocol

SUPPORTED_LANGUAGES = ("zh", "en")


class Scorer(Protocol):
    name: str

    def predict(self, texts: Sequence[str], domain: str | None = None) -> list[float]: ...

    def label(self, score: float) -> str: ...


def band_label(score: float, band: float) -> str:
    if score > band:
        return "positive"
    if score < -band:
        return "negative"
    return "neutral"


class SnowNLPScorer:
    """SnowNLP's naive Bayes sentiment; p in [0, 1] mapped to 2p - 1."""

    band = 0.2

    def __init__(self) -> None:
        from snownlp import SnowNLP

        self._cls = SnowNLP
        self.name = f"snownlp-{version('snownlp')}"

    def predict(self, texts: Sequence[str], domain: str | None = None) -> list[float]:
        del domain  # no domain-specific weights
        return [round(2 * self._cls(t).sentiments - 1, 4) if t.strip() else 0.0 for t in texts]

    def label(self, score: float) -> str:
        return band_label(score, self.band)


class VaderScorer:
    """VADER's compound score, with its own recommended +-0.05 neutral band."""

    band = 0.05

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self.name = f"vader-{version('vaderSentiment')}"

    def predict(self, texts: Sequence[str], domain: str | None = None) -> list[float]:
        del domain  # no domain-specific weights
        return [round(self._vader.polarity_scores(t)["compound"], 4) if t.strip() else 0.0 for t in texts]

    def label(self, score: float) -> str:
        return band_label(score, self.band)


@cache
def baseline_scorer(lang: str) -> Scorer:
    if lang == "zh":
        return SnowNLPScorer()
    if lang == "en":
        return VaderScorer()
    raise ValueError(f"no sentiment model for language {lang!r}")


@cache
def scorer(lang: str) -> Scorer:
    """The best available scorer for ``lang`` (``zh`` or ``en``)."""
    try:
        from nlp import textcat
    except ImportError:
        return baseline_scorer(lang)
    try:
        model: Any = textcat.load(lang)
    except FileNotFoundError:
        return baseline_scorer(lang)
    return _TextcatScorer(model)


class _TextcatScorer:
    def __init__(self, model: Any) -> None:
        self._model = model
        self.name = f"{model.name}-{model.version}"

    def predict(self, texts: Sequence[str], domain: str | None = None) -> list[float]:
        """Each distinct text scored once: a short review is often its own only aspect
        clause ("Staff were rude"), and "Great!" comes many times in a batch."""
        unique = list(dict.fromkeys(texts))
        if len(unique) == len(texts):
            return list(self._model.predict(unique, domain=domain))
        scores = dict(zip(unique, self._model.predict(unique, domain=domain), strict=True))
        return [scores[t] for t in texts]

    def label(self, score: float) -> str:
        return str(self._model.label(score))
