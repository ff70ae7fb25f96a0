"""NLP stages: language, then sentiment (``nlp`` does the work; these only wire it in)."""

from __future__ import annotations

from crawlers.items import Mention
from nlp import detect_language, sentiment
from pipelines.base import VocwatchPipeline


class LanguagePipeline(VocwatchPipeline):
    def process_item(self, item: Mention) -> Mention:
        if not item.language:
            item.language = detect_language(f"{item.title or ''}\n{item.text}")
        self.stats.inc_value(f"vocwatch/language/{item.language}")
        return item


class SentimentPipeline(VocwatchPipeline):
    def process_item(self, item: Mention) -> Mention:
        result = sentiment(item.text, item.language)
        if result is None:
            self.stats.inc_value("vocwatch/sentiment/unsupported_language")
            return item
        item.sentiment_label, item.sentiment_score, item.nlp_model = result.label, result.score, result.model
        return item
