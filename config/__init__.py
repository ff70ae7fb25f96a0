"""User configuration (brands, locations, sources) and the Scrapy settings module."""

from config.loader import ConfigError, load_config
from config.model import (
    SOURCE_KINDS,
    AlertSettings,
    Brand,
    Channel,
    CompetitorRule,
    Config,
    CrawlSettings,
    Location,
    RateLimit,
    Route,
    Source,
)

__all__ = [
    "SOURCE_KINDS",
    "AlertSettings",
    "Brand",
    "Channel",
    "CompetitorRule",
    "Config",
    "ConfigError",
    "CrawlSettings",
    "Location",
    "RateLimit",
    "Route",
    "Source",
    "load_config",
]
