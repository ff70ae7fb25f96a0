"""User configuration (brands, locations, sources) and the Scrapy settings module."""

from config.loader import ConfigError, load_config
from config.model import (
    SOURCE_KINDS,
    AlertSettings,
    Brand,
    CompetitorRule,
    Config,
    CrawlSettings,
    Location,
    Source,
)

__all__ = [
    "SOURCE_KINDS",
    "AlertSettings",
    "Brand",
    "CompetitorRule",
    "Config",
    "ConfigError",
    "CrawlSettings",
    "Location",
    "Source",
    "load_config",
]
