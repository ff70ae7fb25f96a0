"""The site-adapter registry: one adapter per site name, found by name."""

from __future__ import annotations

import pytest

from spiders.pages import registry
from spiders.pages.base import PageObject


def test_unknown_site_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no adapter for site 'nope'"):
        registry.adapter("nope")


def test_one_adapter_per_name() -> None:
    class A(PageObject):
        def mentions(self):  # type: ignore[no-untyped-def]
            return []

    class B(PageObject):
        def mentions(self):  # type: ignore[no-untyped-def]
            return []

    registry.site("__test_site__")(A)
    try:
        assert registry.adapter("__test_site__").page_object is A
        registry.site("__test_site__")(A)  # the same class again (a module reloaded) is fine
        with pytest.raises(ValueError, match="two adapters"):
            registry.site("__test_site__")(B)
    finally:
        del registry._SITES["__test_site__"]


def test_an_adapter_is_a_page_object() -> None:
    with pytest.raises(TypeError, match="PageObject subclass"):
        registry.site("__fn__")(lambda page: [])  # type: ignore[arg-type]
    assert "__fn__" not in registry.sites()


def test_every_registered_site_is_one_page_object_with_one_reading() -> None:
    for name in registry.sites():
        po = registry.adapter(name).page_object
        assert issubclass(po, PageObject) and po.mentions is not PageObject.mentions, name


def test_registered_adapters_hand_on_well_typed_mentions() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from crawlers.items import Mention
    from spiders.pages.base import Page, field_problems

    class Sloppy(PageObject):
        def mentions(self):  # type: ignore[no-untyped-def]
            page = self.page
            return [Mention(site="x", kind="review", url=page.url, text="ok", author={"nick": "a"},  # type: ignore[arg-type]
                            published_raw=["2026"], likes="12", rating_raw=float("nan"),  # type: ignore[arg-type]
                            published_at=datetime(2026, 1, 1), external_id=123), "not a mention"]  # type: ignore[arg-type]

        def next_url(self):  # type: ignore[no-untyped-def]
            return {"next": 2}

        def follow_urls(self):  # type: ignore[no-untyped-def]
            return ["https://x.test/t/1", "", None]

    registry.site("__sloppy__")(Sloppy)
    try:
        page = Page(url="https://x.test/", text="", now=datetime(2026, 1, 2, tzinfo=UTC), tz=ZoneInfo("UTC"))
        reading = registry.adapter("__sloppy__").read(page)
        (m,) = reading.mentions
        assert field_problems(m) == []
        assert (m.author, m.published_raw, m.likes, m.rating_raw, m.published_at, m.external_id) == \
            (None, None, 12, None, None, "123")
        assert reading.next_url is None and reading.follow_urls == ["https://x.test/t/1"]
        assert registry.adapter("__sloppy__")(page) == [m]
    finally:
        del registry._SITES["__sloppy__"]
