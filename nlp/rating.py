"""Star rating and text sentiment combined into a review's one label (the "stars" rule).

A review's stars are its writer's own verdict; the text model only reads the words, and
short warm texts ("Lovely staff & great views", 5/5) or ironic ones fool it. Where a
review has a rating (normalised 0-5, ``Mention.rating``) its overall label and score
combine both; without one they are the text's, unchanged.

The rule (version :data:`RULE_VERSION`, recorded as ``+stars-1`` after the text model's
name in ``nlp_model`` so ``vocwatch reanalyze`` relabels mentions stored before it):

- stars as a score: ``s = clamp((rating - 3) / 2, -1, 1)`` (5 -> 1, 4 -> 0.5, 3 -> 0,
  2 -> -0.5, 1 and 0 -> -1);
- score: ``(1 - w) * text_score + w * s`` with ``w = RATING_WEIGHT = 0.5`` (the writer's
  stars and the words weigh the same);
- label: the text model's own neutral band applied to that score, then bounded by the
  stars: rating >= 4 is never negative, rating <= 2 is never positive. A 3 (and anything
  strictly between 2 and 4) keeps the text's polarity only when the text is strongly
  polar: with ``w = 0.5`` the text score must pass twice the band (0.8 en, 0.9 zh);
- text in a language without a model (no text score): the label is the stars' by the
  usual convention (4-5 positive, 1-2 negative, otherwise neutral) and the score is ``s``;
  ``nlp_model`` is ``stars-1``.

Aspect sentiment stays text-based: a 4-star review can still complain about breakfast,
and that complaint is what an aspect figure is for.
"""

from __future__ import annotations

import math
from collections.abc import Callable

RULE_VERSION = "1"
RULE = f"stars-{RULE_VERSION}"
"""``nlp_model`` suffix (``<text model>+stars-1``), or the whole name when no text model applied."""
RATING_WEIGHT = 0.5
"""Share of the stars in the combined score."""
POSITIVE_FROM = 4.0
"""Ratings from here up are never labelled negative."""
NEGATIVE_UPTO = 2.0
"""Ratings up to here are never labelled positive."""


def clean_rating(rating: float | None) -> float | None:
    """A usable 0-5 rating, or ``None``: non-numbers and non-finite values are no rating;
    values off the scale are clamped to it (a bad normalisation is not a new verdict)."""
    if rating is None or isinstance(rating, bool):
        return None
    try:
        r = float(rating)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(r):
        return None
    return min(max(r, 0.0), 5.0)


def stars_score(rating: float) -> float:
    """The rating as a score in [-1, 1]: 3 is 0, each star above or below 0.5."""
    return min(max((rating - 3.0) / 2.0, -1.0), 1.0)


def stars_label(rating: float) -> str:
    """The convention for a rating alone: 4-5 positive, 1-2 negative, between neutral."""
    if rating >= POSITIVE_FROM:
        return "positive"
    if rating <= NEGATIVE_UPTO:
        return "negative"
    return "neutral"


def model_name(text_model: str | None) -> str:
    """``nlp_model`` of a rated review: the text model's name with the rule, or the rule alone."""
    return f"{text_model}+{RULE}" if text_model else RULE


def combine(text_score: float | None, rating: float, label: Callable[[float], str] | None, *,
            weight: float = RATING_WEIGHT) -> tuple[str, float]:
    """``(label, score)`` of a rated review. ``text_score`` and ``label`` (the text model's
    banded labeller) are ``None`` when no text model applied; ``weight`` is there for the
    benchmark's comparison of other weights (the product uses :data:`RATING_WEIGHT`)."""
    s = stars_score(rating)
    if text_score is None or label is None:
        return stars_label(rating), round(s, 4)
    score = round((1.0 - weight) * text_score + weight * s, 4)
    out = label(score)
    if (rating >= POSITIVE_FROM and out == "negative") or (rating <= NEGATIVE_UPTO and out == "positive"):
        out = "neutral"  # the stars bound the label: a 4-5 is never a complaint, a 1-2 never praise
    return out, score
