"""Detection and delivery wired together, as they run after every scheduled crawl: a burst
in the store reaches a real HTTP receiver once, the alert is marked notified, a failed
delivery is retried by the next check, and the scheduler's hook does all of it."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from config.loader import load_config
from crawlers.store.sqlite import SQLiteStore
from monitor.alerting import check_and_notify
from monitor.scheduler import after_crawl
from tests.alert_receivers import Webhook
from tests.test_alerting import NOW, burst, config_toml, mention


def _env(tmp_path: Path, port: int) -> tuple[object, SQLiteStore]:
    db = tmp_path / "s.db"
    path = tmp_path / "vocwatch.toml"
    path.write_text(config_toml(db) + f"""
[[channels]]
id = "hook"
url = "json://127.0.0.1:{port}/alerts"

[[routes]]
channels = ["hook"]
""", encoding="utf-8")
    store = SQLiteStore(str(db))
    store.insert_new([mention(loc, NOW - timedelta(days=29) + timedelta(hours=2 * i, minutes=7), negative=i % 5 == 0)
                      for loc in ("bund", "pudong") for i in range(29 * 12)])
    return load_config(path), store


def test_burst_is_delivered_once_and_marked_notified(tmp_path: Path) -> None:
    with Webhook() as hook:
        config, store = _env(tmp_path, hook.port)
        burst(store, NOW, 8, text="床单不干净 <script>alert(1)</script>")
        found, results = check_and_notify(config, store, now=NOW)  # type: ignore[arg-type]
        assert [a.kind for a in found] == ["negative_spike"]
        assert [(r.channel, r.status) for r in results] == [("hook", "sent")]
        assert len(hook.requests) == 1
        payload = hook.requests[0]["json"]
        assert payload["alert"]["id"] == found[0].id and payload["alert"]["location_id"] == "bund"
        alerts = store.alerts
        stored = alerts.get(found[0].id)
        assert stored is not None and (stored.state, stored.notified_version) == ("notified", 1)
        # the same incident half an hour later: nothing new, nothing sent again
        assert check_and_notify(config, store, now=NOW + timedelta(minutes=30)) == ([], [])  # type: ignore[arg-type]
        assert len(hook.requests) == 1
    store.close()


def test_failed_delivery_is_retried_by_the_next_check(tmp_path: Path) -> None:
    with Webhook(statuses=[500]) as hook:
        config, store = _env(tmp_path, hook.port)
        burst(store, NOW, 8)
        found, results = check_and_notify(config, store, now=NOW)  # type: ignore[arg-type]
        assert [r.status for r in results] == ["failed"]
        alerts = store.alerts
        assert alerts.get(found[0].id).notified_version == 0  # type: ignore[union-attr]
        _, later = check_and_notify(config, store, now=NOW + timedelta(minutes=5))  # type: ignore[arg-type]
        assert "sent" in [r.status for r in later] and len(hook.requests) == 2
        again = alerts.get(found[0].id)
        # the retry sends the incident's current version (it may have grown meanwhile)
        assert again is not None and again.state == "notified" and again.notified_version == again.version
    store.close()


def test_scheduler_hook_detects_and_delivers_right_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.scheduler as scheduler

    with Webhook() as hook:
        config, store = _env(tmp_path, hook.port)
        burst(store, NOW, 8)
        store.close()

        class Clock:  # the hook reads the wall clock; the fixture's data sits at NOW
            @staticmethod
            def now(tz: object = None) -> object:
                return NOW

        monkeypatch.setattr(scheduler, "datetime", Clock)
        t0 = time.perf_counter()
        after_crawl(config, "bund/weibo", "finished")  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
        assert len(hook.requests) == 1 and hook.requests[0]["json"]["alert"]["kind"] == "negative_spike"
        assert seconds < 60  # the bound; figures live in vocwatch bench alerts
