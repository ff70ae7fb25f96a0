"""Language, sentiment, aspects and keywords for Chinese and English text. Never imports Scrapy."""

from nlp.analyze import Analysis, AspectSentiment, analyze
from nlp.lang import detect_language
from nlp.sentiment import Sentiment, sentiment

__all__ = ["Analysis", "AspectSentiment", "Sentiment", "analyze", "detect_language", "sentiment"]
