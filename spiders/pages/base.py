"""What page objects share: the fetched page, the clock and zone it is read against,
and the error for a page that cannot be read.

Page objects turn one fetched page into Mentions and navigation hints. They hold every
selector, import no Scrapy (``vocwatch parse`` and tests feed them saved files), and
never evaluate page content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from parsel import Selector

from crawlers.processors import parse_datetime


class MalformedPage(ValueError):
    """The page is not in the shape its site serves (truncated JSON, missing markup)."""


@dataclass(frozen=True)
class Page:
    url: str
    text: str
    now: datetime
    """Fetch time (aware); relative dates ("5分钟前") are resolved against it."""
    tz: ZoneInfo
    """The site's local zone for dates shown without an offset."""

    @cached_property
    def selector(self) -> Selector:
        return Selector(text=self.text)

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise MalformedPage(f"invalid JSON: {exc}") from None

    def parse_date(self, raw: Any) -> datetime | None:
        """``raw`` as shown on this page, resolved to UTC against its fetch time and zone
        (relative and Chinese forms too); None when absent or unreadable."""
        return parse_datetime(raw, now=self.now, tz=self.tz)

    def urljoin(self, href: str) -> str:
        return urljoin(self.url, href)
