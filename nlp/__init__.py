"""Language, sentiment, aspects and keywords for Chinese and English text. Never imports Scrapy."""

from nlp.lang import detect_language
from nlp.sentiment import Sentiment, sentiment

__all__ = ["Sentiment", "detect_language", "sentiment"]
