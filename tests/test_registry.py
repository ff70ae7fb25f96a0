"""The site-adapter registry: one adapter per site name, found by name."""

from __future__ import annotations

import pytest

from spiders.pages import registry


def test_unknown_site_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no adapter for site 'nope'"):
        registry.adapter("nope")


def test_one_adapter_per_name() -> None:
    def a(page):  # type: ignore[no-untyped-def]
        return []

    def b(page):  # type: ignore[no-untyped-def]
        return []

    registry.site("__test_site__")(a)
    assert registry.adapter("__test_site__").__wrapped__ is a  # type: ignore[attr-defined]
    registry.site("__test_site__")(a)  # the same function again (a module reloaded) is fine
    with pytest.raises(ValueError, match="two adapters"):
        registry.site("__test_site__")(b)
    del registry._ADAPTERS["__test_site__"]


def test_registered_adapters_hand_on_well_typed_mentions() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from crawlers.items import Mention
    from spiders.pages.base import Page, field_problems

    def sloppy(page):  # type: ignore[no-untyped-def]
        return [Mention(site="x", kind="review", url=page.url, text="ok", author={"nick": "a"},  # type: ignore[arg-type]
                        published_raw=["2026"], likes="12", rating_raw=float("nan"),  # type: ignore[arg-type]
                        published_at=datetime(2026, 1, 1), external_id=123)]  # type: ignore[arg-type]

    def pages(page):  # type: ignore[no-untyped-def]
        return {"next": 2}

    registry.site("__sloppy__")(sloppy)
    registry.pager("__sloppy__")(pages)
    try:
        page = Page(url="https://x.test/", text="", now=datetime(2026, 1, 2, tzinfo=UTC), tz=ZoneInfo("UTC"))
        (m,) = registry.adapter("__sloppy__")(page)
        assert field_problems(m) == []
        assert (m.author, m.published_raw, m.likes, m.rating_raw, m.published_at, m.external_id) == \
            (None, None, 12, None, None, "123")
        assert registry.next_url_rule("__sloppy__")(page) is None  # type: ignore[misc]
    finally:
        del registry._ADAPTERS["__sloppy__"], registry._PAGERS["__sloppy__"]
