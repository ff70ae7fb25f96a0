"""Identity states contract (``crawlers.store.identities``), the same assertions on every
store backend (``any_store``): save/get/list/forget, aware times, a reopened store keeping
the states (a cool-down seen by one crawl process holds for the next)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawlers.store.identities import IdentityState
from tests.test_store_schedule import reopened

T0 = datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=UTC)  # milliseconds: what BSON dates keep


def test_save_get_list_forget(any_store: Any) -> None:
    table = any_store.identities
    assert table.get("account", "weibo", "acc1") is None and table.list() == []
    table.save(IdentityState("account", "weibo", "acc1", "cooling", T0 + timedelta(hours=1), "captcha", T0, "f1", 1))
    table.save(IdentityState("account", "weibo", "acc2", "expired", None, "login_wall", T0, "f2", 1))
    table.save(IdentityState("account", "dianping", "a", updated_at=T0))
    table.save(IdentityState("proxy", "", "p1", "cooling", T0, "http_403", T0))
    got = table.get("account", "weibo", "acc1")
    assert got == IdentityState("account", "weibo", "acc1", "cooling", T0 + timedelta(hours=1), "captcha", T0, "f1", 1)
    assert got.until.tzinfo is not None
    assert [s.name for s in table.list(kind="account", site="weibo")] == ["acc1", "acc2"]
    assert [(s.kind, s.site, s.name) for s in table.list()] == [
        ("account", "dianping", "a"), ("account", "weibo", "acc1"), ("account", "weibo", "acc2"), ("proxy", "", "p1")]
    assert [s.name for s in table.list(kind="proxy")] == ["p1"]
    table.save(IdentityState("account", "weibo", "acc1", "ok", None, "", T0 + timedelta(hours=2), "f1", 0))
    assert table.get("account", "weibo", "acc1").state == "ok"  # replaced, not a second row
    assert len(table.list(site="weibo")) == 2
    assert table.forget("account", "weibo", "acc2") and not table.forget("account", "weibo", "acc2")
    assert table.get("account", "weibo", "acc2") is None


def test_usable_and_validation(any_store: Any) -> None:
    table = any_store.identities
    cooling = IdentityState("account", "jd", "x", "cooling", T0, "http_429", T0)
    assert not cooling.usable(T0 - timedelta(seconds=1)) and cooling.usable(T0)
    assert not IdentityState("account", "jd", "x", "expired").usable(T0)
    assert IdentityState("account", "jd", "x").usable(T0)
    with pytest.raises(ValueError, match="state"):
        table.save(IdentityState("account", "jd", "x", "banned"))
    with pytest.raises(ValueError, match="kind"):
        table.save(IdentityState("cookie", "jd", "x"))
    with pytest.raises(ValueError, match="naive"):
        table.save(IdentityState("account", "jd", "x", "cooling", datetime(2026, 12, 1, 9, 0)))
    fresh = IdentityState("account", "jd", "y")
    table.save(fresh)
    assert fresh.updated_at is not None and table.get("account", "jd", "y").updated_at is not None


def test_states_survive_a_reopened_store(any_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    any_store.identities.save(IdentityState("account", "weibo", "acc1", "cooling", T0, "captcha", T0, "f", 2))
    again = reopened(any_store, monkeypatch)
    try:
        assert again.identities.get("account", "weibo", "acc1") == IdentityState(
            "account", "weibo", "acc1", "cooling", T0, "captcha", T0, "f", 2)
    finally:
        if again is not any_store:
            again.close()
