"""Language, sentiment, aspects and keywords for Chinese and English text. Never imports Scrapy."""

from nlp.analyze import Analysis, AspectSentiment, analyze
from nlp.lang import detect_language
from nlp.sentiment import scorer

__all__ = ["Analysis", "AspectSentiment", "analyze", "detect_language", "scorer"]
