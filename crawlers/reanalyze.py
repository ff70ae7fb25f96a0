"""Re-label stored mentions with the current text-analysis models (``vocwatch reanalyze``).

A crawl analyses a mention once, when it is first stored; an unchanged mention is never
analysed again. After a model or taxonomy upgrade the store would keep old labels beside
new ones, and trends would shift for no reason in the data. This re-runs ``nlp.analyze``
over stored mentions whose ``nlp_model`` is not a current model (or over all of them), one
location at a time in batches, and rewrites only the NLP fields. A rated mention's labels
take its rating into account (``nlp.rating``): its current models are the text models with
the stars rule (``<model>+stars-1``), so mentions labelled before that rule, or before
their rating was known, are relabelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from config import Config
from crawlers.items import NO_TEXT_MODEL, Mention, apply_analysis, has_text
from crawlers.store import Store

BATCH = 256


@dataclass(slots=True)
class ReanalyzeResult:
    examined: int = 0
    reanalyzed: int = 0
    """Mentions whose NLP fields were rewritten."""
    current: int = 0
    """Mentions already labelled by a current model (skipped unless ``everything``)."""
    seconds: float = 0.0


def current_models(rated: bool | None = None) -> set[str]:
    """Model names a fresh analysis records. Unrated texts (``rated=False``): one per
    supported language, and ``none`` (languages without a model, for which nothing
    changed). Rated texts (``rated=True``): those with the stars rule, and the rule alone
    (a language without a text model). ``None``: both sets."""
    from nlp.analyze import NO_MODEL
    from nlp.rating import model_name
    from nlp.sentiment import SUPPORTED_LANGUAGES, scorer

    text = {scorer(lang).name for lang in SUPPORTED_LANGUAGES}
    unrated = text | {NO_MODEL}
    with_stars = {model_name(t) for t in text} | {model_name(None)}
    return unrated if rated is False else with_stars if rated else unrated | with_stars


def is_current(m: Mention, current: dict[bool, set[str]]) -> bool:
    """Whether a fresh analysis would record the same model as ``m`` has: its text
    model, with the stars rule if and only if it has a rating. A mention without text
    (``none``, never labelled) is current whatever its rating."""
    if not has_text(m):
        return m.nlp_model == NO_TEXT_MODEL
    return m.nlp_model in current[m.rating is not None]


def reanalyze(config: Config, store: Store, *, everything: bool = False,
              on_progress: Callable[[ReanalyzeResult], None] | None = None) -> ReanalyzeResult:
    """Rewrite the NLP fields of stored mentions of the configured locations that a model
    other than the current ones labelled (all of them with ``everything``)."""
    from nlp.analyze import analyze
    from nlp.aspects import CATEGORY_DOMAIN

    started = time.monotonic()
    current = {True: current_models(True), False: current_models(False)}
    result = ReanalyzeResult()

    def flush(batch: list[Mention], domain: str | None) -> None:
        # languages are detected again: detection may have changed with the models
        analyses = analyze([m.text for m in batch], domain=domain, ratings=[m.rating for m in batch])
        for m, a in zip(batch, analyses, strict=True):
            apply_analysis(m, a)
        result.reanalyzed += store.update_nlp(batch)
        batch.clear()
        if on_progress:
            on_progress(result)

    for location in config.locations.values():
        domain = CATEGORY_DOMAIN.get(location.category)
        batch: list[Mention] = []
        for m in store.iter_mentions(location_ids=[location.id]):
            result.examined += 1
            if not everything and is_current(m, current):
                result.current += 1
                continue
            batch.append(m)
            if len(batch) >= BATCH:
                flush(batch, domain)
        if batch:
            flush(batch, domain)
    result.seconds = time.monotonic() - started
    return result
