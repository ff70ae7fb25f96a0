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
    assert registry.adapter("__test_site__") is a
    with pytest.raises(ValueError, match="two adapters"):
        registry.site("__test_site__")(b)
    del registry._ADAPTERS["__test_site__"]
