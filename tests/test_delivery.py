"""Alert delivery against real receivers on 127.0.0.1: an SMTP server and HTTP webhooks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from config import Config, ConfigError, load_config
from crawlers.store import Store, open_store
from monitor.delivery import channels_for, deliveries, notify, retry_pending
from monitor.notify_render import render_html, render_markdown, render_text, subject
from tests.alert_receivers import HOSTILE, T0, Alert, Webhook, free_port, smtp_server
from tests.conftest import ROOT, run_vocwatch

BASE = """
[store]
url = "sqlite:///{db}"

[[brands]]
id = "harbor"
[[brands]]
id = "lotus"

[[locations]]
id = "harbor-sh-bund"
name = "Harbor Bund"
brand = "harbor"
category = "hotel"
lat = 31.24
lon = 121.49
region = "shanghai"
role = "own"

[[locations]]
id = "lotus-hz-lake"
name = "Lotus Lake"
brand = "lotus"
category = "hotel"
lat = 30.25
lon = 120.15
region = "hangzhou"
role = "own"
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The store of the configs below (``write_config``): where deliveries are recorded."""
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def write_config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(BASE.format(db=tmp_path / "store.db") + textwrap.dedent(extra), encoding="utf-8")
    return path


def hook_config(tmp_path: Path, port: int, *, rate_limit: str | None = None) -> Config:
    rate = f'rate_limit = "{rate_limit}"' if rate_limit else ""
    return load_config(write_config(tmp_path, f"""
        [[channels]]
        id = "hook"
        url = "json://127.0.0.1:{port}/alerts"
        {rate}

        [[routes]]
        channels = ["hook"]
        """))


# -- email ---------------------------------------------------------------------------------
def test_email_arrives_with_headers_and_escaped_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    with smtp_server() as (port, box):
        monkeypatch.setenv("VOCWATCH_MAIL_URL", f"mailto://alerts@127.0.0.1:{port}?from=vocwatch@example.com"
                                                "&to=ops@example.com")
        config = load_config(write_config(tmp_path, """
            [[channels]]
            id = "mail"
            url = "${VOCWATCH_MAIL_URL}"

            [[routes]]
            channels = ["mail"]
            """))
        assert config.channels["mail"].format == "html"  # email's preferred format by default
        [result] = notify(config, store, [Alert()], now=T0)
        assert result.status == "sent", result.error
        assert box.received.wait(5)
    [msg] = box.messages
    assert box.envelopes == [("vocwatch@example.com", ["ops@example.com"])]
    assert msg["Subject"] == "[WARNING] Negative mentions up at Harbor Bund"
    assert "ops@example.com" in msg["To"] and "vocwatch@example.com" in msg["From"]
    html = msg.get_body(("html",)).get_content()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    assert '<a href="https://reviews.example/r/1?a=1&amp;b=2" rel="noopener noreferrer"' in html
    assert 'href="javascript:' not in html and "javascript:alert(2)" in html  # shown as text, not a link
    plain = msg.get_body(("plain",)).get_content()
    assert "9 negative mentions in 24 h" in plain


def test_email_subject_is_one_line_and_marks_updates() -> None:
    alert = Alert(title="Line one\r\nBcc: victim@example.com", version=3, severity="critical")
    assert subject(alert) == "[CRITICAL] Line one Bcc: victim@example.com (updated)"


def test_renderers_escape_hostile_text() -> None:
    alert = Alert()
    assert "<script" not in render_html(alert)
    md = render_markdown(alert)
    assert "<script" not in md and "<img" not in md and "javascript:" not in md.split("second")[1]
    assert HOSTILE.split(" room")[0] in render_text(alert)  # plain text is shown as written


# -- JSON webhook --------------------------------------------------------------------------
def test_json_webhook_gets_the_alert_as_json(tmp_path: Path, store: Store) -> None:
    with Webhook() as hook:
        config = hook_config(tmp_path, hook.port)
        [r1] = notify(config, store, [Alert()], now=T0)
        [r2] = notify(config, store, [Alert(version=2, last_seen=T0 + timedelta(hours=1))], now=T0 + timedelta(hours=1))
    assert (r1.status, r2.status) == ("sent", "sent")
    first, second = (r["json"] for r in hook.requests)
    assert hook.requests[0]["path"] == "/alerts"
    assert first["title"] == "[WARNING] Negative mentions up at Harbor Bund" and first["type"] == "warning"
    alert = first["alert"]
    assert alert["id"] == "a1" and alert["version"] == 1 and alert["updated"] is False
    assert alert["summary"].endswith(HOSTILE) and alert["first_seen"] == "2025-03-01T12:00:00+00:00"
    assert alert["mentions"][0]["url"] == "https://reviews.example/r/1?a=1&b=2"
    assert second["alert"]["updated"] is True and second["title"].endswith("(updated)")


# -- failures, retries, dedupe, rate limits -------------------------------------------------
def test_failure_is_recorded_and_retried_with_backoff(tmp_path: Path, store: Store) -> None:
    with Webhook(statuses=[500]) as hook:
        config = hook_config(tmp_path, hook.port)
        [failed] = notify(config, store, [Alert()], now=T0)
        assert failed.status == "failed" and failed.attempts == 1
        assert "500" in (failed.error or "")
        assert failed.next_attempt_at == T0 + timedelta(minutes=1)
        [row] = deliveries(store)
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, T0 + timedelta(minutes=1))
        assert "500" in (row.last_error or "")

        assert retry_pending(config, store, [Alert()], now=T0 + timedelta(seconds=30)) == []  # backing off
        [waiting] = notify(config, store, [Alert()], now=T0 + timedelta(seconds=30))
        assert waiting.status == "pending" and len(hook.requests) == 1

        [retried] = retry_pending(config, store, lambda alert_id: Alert(), now=T0 + timedelta(minutes=1))
        assert retried.status == "sent" and retried.attempts == 2
        assert retry_pending(config, store, [Alert()], now=T0 + timedelta(hours=1)) == []
    assert len(hook.requests) == 2
    [row] = deliveries(store)
    assert (row.status, row.attempts, row.sent_at, row.next_attempt_at) == ("sent", 2, T0 + timedelta(minutes=1), None)


def test_backoff_doubles_and_gives_up(tmp_path: Path, store: Store) -> None:
    config = hook_config(tmp_path, free_port())  # nothing listens there: connection refused
    now = T0
    waits = []
    for _ in range(8):
        [r] = notify(config, store, [Alert()], now=now) if now == T0 else retry_pending(config, store, [Alert()], now=now)
        assert r.status == "failed" and r.error
        if r.next_attempt_at is None:
            break
        waits.append((r.next_attempt_at - now).total_seconds() / 60)
        now = r.next_attempt_at
    assert waits == [1, 2, 4, 8, 16, 32, 64]
    assert r.attempts == 8 and r.next_attempt_at is None
    assert retry_pending(config, store, [Alert()], now=now + timedelta(days=1)) == []


def test_same_version_is_never_sent_twice(tmp_path: Path, store: Store) -> None:
    with Webhook() as hook:
        config = hook_config(tmp_path, hook.port)
        assert [r.status for r in notify(config, store, [Alert(), Alert()], now=T0)] == ["sent", "duplicate"]
        assert [r.status for r in notify(config, store, [Alert()], now=T0 + timedelta(hours=1))] == ["duplicate"]
        assert retry_pending(config, store, [Alert()], now=T0 + timedelta(days=1)) == []
    assert len(hook.requests) == 1


_OTHER_PROCESS = """
import sys
from datetime import timedelta
from config import load_config
from crawlers.store import open_store
from monitor.delivery import notify
from tests.alert_receivers import T0, Alert
config = load_config(sys.argv[1])
[r] = notify(config, open_store(config.store_url), [Alert(id="a4")], now=T0 + timedelta(minutes=30))
print(r.status, r.next_attempt_at.isoformat())
"""


def test_rate_limit_is_a_sliding_window_that_survives_restarts(tmp_path: Path, store: Store) -> None:
    with Webhook() as hook:
        config = hook_config(tmp_path, hook.port, rate_limit="2/h")
        results = notify(config, store, [Alert(id="a1"), Alert(id="a2")], now=T0)
        results += notify(config, store, [Alert(id="a3")], now=T0 + timedelta(minutes=10))
        assert [r.status for r in results] == ["sent", "sent", "rate_limited"]
        assert results[2].next_attempt_at == T0 + timedelta(hours=1)

        other = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(config.path)], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert other.stdout.split() == ["rate_limited", "2025-03-01T13:00:00+00:00"]

        alerts = [Alert(id=i) for i in ("a1", "a2", "a3", "a4")]
        assert retry_pending(config, store, alerts, now=T0 + timedelta(minutes=59)) == []
        retried = retry_pending(config, store, alerts, now=T0 + timedelta(hours=1))
        assert sorted((r.alert_id, r.status) for r in retried) == [("a3", "sent"), ("a4", "sent")]
    assert [r["json"]["alert"]["id"] for r in hook.requests] == ["a1", "a2", "a3", "a4"]


def test_a_newer_version_supersedes_a_pending_one(tmp_path: Path, store: Store) -> None:
    with Webhook(statuses=[500]) as hook:
        config = hook_config(tmp_path, hook.port)
        assert notify(config, store, [Alert()], now=T0)[0].status == "failed"
        [r] = retry_pending(config, store, [Alert(version=2)], now=T0 + timedelta(minutes=5))
        assert (r.version, r.status) == (2, "sent")
    statuses = {(row.version, row.status) for row in deliveries(store)}
    assert statuses == {(1, "superseded"), (2, "sent")}
    assert [req["json"]["alert"]["version"] for req in hook.requests] == [1, 2]


# -- routing -------------------------------------------------------------------------------
def test_routing_by_location_brand_region_severity_and_kind(tmp_path: Path) -> None:
    channels = "".join(f"""
        [[channels]]
        id = "{c}"
        url = "json://127.0.0.1:9/{c}"
        {"min_severity = 'critical'" if c == "pager" else ""}
        """ for c in ("hq", "bund", "lotus", "hangzhou", "pager", "viral"))
    config = load_config(write_config(tmp_path, channels + """
        [[routes]]
        channels = ["hq"]
        match = { severity = ["warning", "critical"] }

        [[routes]]
        channels = ["bund", "hq"]
        match = { location = ["harbor-sh-bund"] }

        [[routes]]
        channels = ["lotus"]
        match = { brand = "lotus", kind = ["rating_drop", "negative_share"] }

        [[routes]]
        channels = ["hangzhou", "pager"]
        match = { region = ["hangzhou"] }

        [[routes]]
        channels = ["viral"]
        match = { kind = ["viral_post"], brand = ["harbor"] }
        """))

    def routed(**kw: object) -> list[str]:
        return [c.id for c in channels_for(config, Alert(**kw))]  # type: ignore[arg-type]

    assert routed() == ["hq", "bund"]  # all matching routes, each channel once, config order
    assert routed(severity="info") == ["bund", "hq"]
    assert routed(severity="info", kind="viral_post") == ["bund", "hq", "viral"]
    lotus = {"location_id": "lotus-hz-lake", "brand": "lotus", "region": "hangzhou"}
    assert routed(**lotus, severity="info") == ["hangzhou"]  # pager wants critical
    assert routed(**lotus, kind="rating_drop", severity="critical") == ["hq", "lotus", "hangzhou", "pager"]
    assert routed(location_id=None, brand="lotus", region=None, severity="info") == []


# -- configuration ------------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "problem"), [
    ('url = "mailtos://ops:hunter2@smtp.example.com"', "channels[0].url: contains a literal password"),
    ('url = "slack://T0AB12CD34/B0AB12CD34/xoxbAb12Cd34Ef56Gh78"', "channels[0].url: contains a literal token"),
    ('url = "dingtalk://${DT_TOKEN}/?secret=abc123"', "channels[0].url: contains a literal secret (the secret= "),
    ('url = "bogus://x"', "channels[0].url: not a URL apprise can deliver to (scheme 'bogus'"),
    ('url = "json://h/x"\nrate_limit = "ten per hour"', "channels[0].rate_limit: expected COUNT/UNIT"),
    ('url = "json://h/x"\nformat = "pdf"', "channels[0].format: must be one of text, html, markdown"),
    ('url = "json://h/x"\nmin_severity = "urgent"', "channels[0].min_severity: must be one of info"),
    ('url = "json://h/x"\npassword = "x"', "channels[0].password: unknown key"),
])
def test_channel_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: str, problem: str) -> None:
    monkeypatch.setenv("DT_TOKEN", "0123456789abcdef0123")
    path = write_config(tmp_path, f'[[channels]]\nid = "c"\n{channel}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert problem in str(err.value)
    assert "hunter2" not in str(err.value) and "xoxb" not in str(err.value)


def test_secrets_from_the_environment_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_URL", "slack://T0AB12CD34/B0AB12CD34/xoxbAb12Cd34Ef56Gh78")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("DT_TOKEN", "0123456789abcdef0123")
    config = load_config(write_config(tmp_path, """
        [[channels]]
        id = "slack"
        url = "${SLACK_URL}"
        rate_limit = "3/15m"
        [[channels]]
        id = "mail"
        url = "mailtos://ops:${SMTP_PASSWORD}@smtp.example.com?to=gm@example.com"
        [[channels]]
        id = "ding"
        url = "dingtalk://${DT_TOKEN}/"
        """))
    slack, mail, ding = config.channels.values()
    assert (slack.format, mail.format, ding.format) == ("markdown", "html", "text")
    assert slack.rate_limit is not None and (slack.rate_limit.count, slack.rate_limit.seconds) == (3, 900)
    assert "hunter2" not in repr(config)  # channel URLs stay out of reprs and logs


@pytest.mark.parametrize(("route", "problem"), [
    ('channels = ["nope"]', "routes[0].channels: unknown channel id 'nope'"),
    ('channels = []', "routes[0].channels: expected a non-empty array"),
    ('channels = ["c"]\nmatch = { location = ["harbor-sh-bnd"] }',
     "routes[0].match.location: unknown location 'harbor-sh-bnd' (did you mean 'harbor-sh-bund'?)"),
    ('channels = ["c"]\nmatch = { region = "beijing" }', "routes[0].match.region: unknown region 'beijing'"),
    ('channels = ["c"]\nmatch = { severity = ["high"] }', "routes[0].match.severity: unknown severity 'high'"),
    ('channels = ["c"]\nmatch = { kinds = ["viral_post"] }', "routes[0].match.kinds: unknown key"),
])
def test_route_config_errors(tmp_path: Path, route: str, problem: str) -> None:
    path = write_config(tmp_path, f'[[channels]]\nid = "c"\nurl = "json://h/x"\n[[routes]]\n{route}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert problem in str(err.value)


# -- vocwatch alerts test --------------------------------------------------------------------
def test_alerts_test_command_sends_and_reports(tmp_path: Path) -> None:
    with smtp_server() as (port, box), Webhook() as hook:
        path = write_config(tmp_path, f"""
            [[channels]]
            id = "mail"
            url = "mailto://alerts@127.0.0.1:{port}?from=vocwatch@example.com&to=ops@example.com"
            [[channels]]
            id = "down"
            url = "json://127.0.0.1:{free_port()}/"
            [[channels]]
            id = "hook"
            url = "json://127.0.0.1:{hook.port}/"
            """)
        ok = run_vocwatch("alerts", "test", "mail", "-c", str(path), timeout=60)
        assert box.received.wait(5)
        assert run_vocwatch("alerts", "test", "hook", "-c", str(path), timeout=60).returncode == 0
    [sample] = [r["json"]["alert"] for r in hook.requests]
    assert sample["location_id"] == "harbor-sh-bund" and "<script>" in sample["summary"]
    assert ok.returncode == 0, ok.stderr
    assert "vocwatch alerts test: mail: sent sample alert test-" in ok.stdout and " s" in ok.stdout
    html = box.messages[0].get_body(("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script" not in html and 'href="javascript' not in html

    down = run_vocwatch("alerts", "test", "down", "-c", str(path), timeout=60)
    assert down.returncode == 1 and "down: FAILED after" in down.stderr
    unknown = run_vocwatch("alerts", "test", "nope", "-c", str(path), timeout=60)
    assert unknown.returncode == 2 and "no channel with id 'nope' (channels: mail, down, hook)" in unknown.stderr
