"""``analyze(texts)``: language, sentiment, aspects and keywords for a batch of texts.

Batch-first because the models score lists: every text and every aspect clause of one
language is scored in one call. Pure and deterministic; no Scrapy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nlp.aspects import Taxonomy, split_clauses, taxonomy
from nlp.keywords import keywords as text_keywords
from nlp.lang import UNDETERMINED, resolve_language
from nlp.rating import RULE, clean_rating, combine, model_name
from nlp.sentiment import SUPPORTED_LANGUAGES, scorer

MAX_CHARS = 20_000
"""Longer texts are analysed on their first MAX_CHARS characters (``truncated`` says so)."""
MAX_KEYWORDS = 10
ASPECT_NEUTRAL_BAND = 0.1
"""Aspect sentiment is neutral only for clause scores within this of 0: a clause is short,
so its score is smaller than a whole review's and the texts' band (0.4-0.45) would call
most of them neutral. Chosen on the aspect training data (MAMS train, ASAP train sample:
3-class accuracy 0.51 / 0.56 at 0.1 against 0.50 / 0.43 at the texts' band)."""


def aspect_label(score: float) -> str:
    """``positive`` / ``neutral`` / ``negative`` of one aspect's clause score."""
    if score > ASPECT_NEUTRAL_BAND:
        return "positive"
    if score < -ASPECT_NEUTRAL_BAND:
        return "negative"
    return "neutral"


@dataclass(frozen=True, slots=True)
class AspectSentiment:
    aspect: str
    sentiment: str
    """``positive``, ``neutral`` or ``negative``: the label of the clauses that mention it."""
    score: float
    """Mean score of those clauses, in [-1, 1]."""
    terms: tuple[str, ...]
    """The words that matched the aspect."""

    def to_dict(self) -> dict[str, object]:
        return {"aspect": self.aspect, "sentiment": self.sentiment, "score": self.score, "terms": list(self.terms)}


@dataclass(frozen=True, slots=True)
class Analysis:
    lang: str
    """ISO 639-1 code, or ``und`` (empty, emoji-only, too short to tell)."""
    label: str
    """``positive``, ``neutral`` or ``negative``: the text's, combined with the rating where
    one was given (``nlp.rating``); ``neutral`` when neither a model nor a rating applied."""
    score: float
    """Sentiment in [-1, 1] (text and rating blended where rated); 0.0 when neither applied."""
    aspects: tuple[AspectSentiment, ...]
    """Per aspect, from the text alone (a 4-star review can still complain about breakfast)."""
    keywords: tuple[str, ...]
    model: str
    """Name-version of the sentiment model, ``+stars-1`` after it when the rating took part
    (``stars-1`` alone when only the rating did), or ``none`` when nothing applied."""
    truncated: bool = False
    text_label: str | None = None
    """The text model's own label, before the rating (``None`` without a text model)."""
    text_score: float | None = None
    """The text model's own score, before the rating (``None`` without a text model)."""


NO_MODEL = "none"


def analyze(
    texts: Sequence[str | None],
    *,
    langs: Sequence[str | None] | None = None,
    domain: str | None = None,
    ratings: Sequence[float | None] | None = None,
    keywords: bool = True,
) -> list[Analysis]:
    """Analyse ``texts`` (``None`` counts as empty). ``langs`` gives known languages
    (``None`` entries are detected); ``domain`` picks the aspect taxonomy (``hotel``,
    ``restaurant``, ``ecommerce``; ``None`` = all of them); ``ratings`` gives each text's
    star rating normalised to 0-5 (``None`` = not rated), which the overall label and
    score then take into account by the rule in ``nlp.rating``. An empty text gets no
    label from its rating: there is nothing the label would describe.

    ``keywords=False`` leaves ``keywords`` empty: extraction is about a third of a Chinese
    text's time, and most mentions are never read for their keywords, so the crawl leaves
    them to the readers that want them (``nlp.keywords.mention_keywords``)."""
    tax = taxonomy(domain)
    n = len(texts)
    if langs is not None and len(langs) != n:
        raise ValueError(f"langs has {len(langs)} entries for {n} texts")
    if ratings is not None and len(ratings) != n:
        raise ValueError(f"ratings has {len(ratings)} entries for {n} texts")
    stars = [clean_rating(r) for r in ratings] if ratings is not None else [None] * n
    clean = [(t or "")[:MAX_CHARS] for t in texts]
    truncated = [len(t or "") > MAX_CHARS for t in texts]
    detected = [resolve_language(clean[i], langs[i] if langs is not None else None) for i in range(n)]

    # per text: its clauses with aspects found in them
    found: list[list[tuple[str, dict[str, list[str]]]]] = []
    for i in range(n):
        clauses = split_clauses(clean[i]) if clean[i].strip() else []
        found.append([(c, hits) for c in clauses if (hits := tax.find(c))])

    # one scoring call per language, texts and aspect clauses together
    text_scores: list[float | None] = [None] * n
    clause_scores: list[list[float]] = [[] for _ in range(n)]
    jobs: dict[str, list[int]] = {}
    for i in range(n):
        if detected[i] in SUPPORTED_LANGUAGES and clean[i].strip():
            jobs.setdefault(detected[i], []).append(i)
    for lang, idx in jobs.items():
        predicted = scorer(lang).predict([x for i in idx for x in (clean[i], *(c for c, _ in found[i]))], domain=domain)
        pos = 0
        for i in idx:
            k = len(found[i])
            text_scores[i] = float(predicted[pos])
            clause_scores[i] = [float(x) for x in predicted[pos + 1:pos + 1 + k]]
            pos += 1 + k

    out: list[Analysis] = []
    for i in range(n):
        lang = detected[i]
        rating = stars[i] if clean[i].strip() else None
        raw = text_scores[i]
        if raw is None:
            label, score, model = "neutral", 0.0, NO_MODEL
            if rating is not None:  # a language without a model: the stars alone
                (label, score), model = combine(None, rating, None), model_name(None)
            out.append(Analysis(lang=lang if clean[i].strip() else UNDETERMINED, label=label, score=score,
                                aspects=_aspects(found[i], None, None), keywords=_keywords(clean[i], lang) if keywords else (),
                                model=model, truncated=truncated[i]))
            continue
        s = scorer(lang)
        aspects = _aspects(found[i], clause_scores[i], aspect_label)
        text_score = round(raw, 4)
        text_label = s.label(text_score)
        label, score, model = text_label, text_score, s.name
        if rating is not None:
            (label, score), model = combine(text_score, rating, s.label), model_name(s.name)
        out.append(Analysis(lang=lang, label=label, score=score, aspects=aspects,
                            keywords=_keywords(clean[i], lang) if keywords else (), model=model, truncated=truncated[i],
                            text_label=text_label, text_score=text_score))
    return out


def _aspects(
    found: list[tuple[str, dict[str, list[str]]]],
    clause_scores: list[float] | None,
    label: Callable[[float], str] | None,
) -> tuple[AspectSentiment, ...]:
    """Per aspect: the terms that matched and the mean score of the clauses naming it.
    Without scores (no model for the language) every aspect is neutral at 0.0."""
    per_aspect: dict[str, list[float]] = {}
    terms: dict[str, list[str]] = {}
    for k, (_, hits) in enumerate(found):
        value = clause_scores[k] if clause_scores is not None else 0.0
        for aid, words in hits.items():
            if aid in per_aspect:
                per_aspect[aid].append(value)
                terms[aid] += words
            else:
                per_aspect[aid] = [value]
                terms[aid] = list(words)
    out = []
    for aid, values in per_aspect.items():
        mean = round(sum(values) / len(values), 4)
        sentiment = label(mean) if label is not None else "neutral"
        out.append(AspectSentiment(aid, sentiment, mean, tuple(dict.fromkeys(terms[aid]))))
    return tuple(out)


def _keywords(text: str, lang: str) -> tuple[str, ...]:
    """Salient words and phrases (``nlp.keywords``); none for languages without support."""
    return tuple(text_keywords(text, lang, MAX_KEYWORDS))


def analysis_to_dict(a: Analysis) -> dict[str, object]:
    """The JSON shape ``vocwatch analyze`` writes."""
    return {
        "lang": a.lang,
        "sentiment": {"label": a.label, "score": a.score,
                      # where the rating took part, what the text alone said
                      **({"text_label": a.text_label, "text_score": a.text_score}
                         if a.model.endswith(f"+{RULE}") else {})},
        "aspects": [x.to_dict() for x in a.aspects],
        "keywords": list(a.keywords),
        "model": a.model,
        **({"truncated": True} if a.truncated else {}),
    }


__all__ = ["Analysis", "AspectSentiment", "Taxonomy", "analysis_to_dict", "analyze"]
