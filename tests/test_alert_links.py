"""An alert message links to its incident page on the dashboard (``[dashboard] url``):
through a real SMTP server (HTML + text email) and real JSON webhooks (text, Markdown, and
the structured payload); no link when the address is not configured; bad addresses refused."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import ConfigError, load_config
from crawlers.store import Store, open_store
from monitor.delivery import notify
from monitor.notify_render import incident_url, render_html, render_markdown, render_text
from tests.alert_receivers import T0, Alert, Webhook, smtp_server
from tests.test_delivery import BASE

URL = "https://voc.example.com/vw"
HOSTILE_ID = 'a1"><script>x</script>&#'
"""Ids are hex in practice; this one checks the link is encoded and escaped anyway."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(BASE.format(db=tmp_path / "store.db") + textwrap.dedent(extra), encoding="utf-8")
    return path


def test_incident_url_encodes_the_id() -> None:
    assert incident_url(URL, "3f2a9c") == "https://voc.example.com/vw/#/alerts/3f2a9c"
    assert incident_url(URL + "/", "a/b c") == "https://voc.example.com/vw/#/alerts/a%2Fb%20c"
    assert incident_url(None, "3f2a9c") is None and incident_url("", "x") is None
    link = incident_url(URL, HOSTILE_ID)
    assert link is not None and re.fullmatch(r"[A-Za-z0-9:/._%#-]+", link)


def test_renderers_add_the_link_only_when_configured() -> None:
    alert = Alert(id=HOSTILE_ID)
    link = incident_url(URL, HOSTILE_ID)
    assert f"Incident page (acknowledge, assign, resolve): {link}" in render_text(alert, URL)
    assert f'Incident page: <a href="{link}" class="incident">{link}</a>' in render_html(alert, URL)
    assert f"[Open the incident page](<{link}>)" in render_markdown(alert, URL)
    for render in (render_text, render_html, render_markdown):
        assert "#/alerts/" not in render(alert)
    assert "<script>x" not in render_html(alert, URL) and "<script>x" not in render_markdown(alert, URL)


def test_email_links_to_the_incident_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    with smtp_server() as (port, box):
        monkeypatch.setenv("VOCWATCH_MAIL_URL", f"mailto://alerts@127.0.0.1:{port}?from=vocwatch@example.com"
                                                "&to=ops@example.com")
        config = load_config(write(tmp_path, f"""
            [dashboard]
            url = "{URL}/"

            [[channels]]
            id = "mail"
            url = "${{VOCWATCH_MAIL_URL}}"

            [[routes]]
            channels = ["mail"]
            """))
        assert config.dashboard.url == URL  # the trailing slash dropped
        [result] = notify(config, store, [Alert(id="3f2a9c")], now=T0)
        assert result.status == "sent", result.error
        assert box.received.wait(5)
    [msg] = box.messages
    html = msg.get_body(("html",)).get_content()
    link = "https://voc.example.com/vw/#/alerts/3f2a9c"
    assert f'<a href="{link}" class="incident">{link}</a>' in html
    assert "<script" not in html.lower()
    plain = msg.get_body(("plain",)).get_content()
    assert "https://voc.example.com/vw/#/alerts/3f2a9c" in plain


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_webhooks_carry_the_link_in_the_body_and_the_payload(tmp_path: Path, store: Store, fmt: str) -> None:
    with Webhook() as hook:
        config = load_config(write(tmp_path, f"""
            [dashboard]
            url = "{URL}"

            [[channels]]
            id = "hook"
            url = "json://127.0.0.1:{hook.port}/alerts"
            format = "{fmt}"

            [[routes]]
            channels = ["hook"]
            """))
        [result] = notify(config, store, [Alert(id="3f2a9c")], now=T0)
    assert result.status == "sent", result.error
    [req] = hook.requests
    link = "https://voc.example.com/vw/#/alerts/3f2a9c"
    assert req["json"]["alert"]["incident_url"] == link
    body = req["json"]["message"]
    assert (f"[Open the incident page](<{link}>)" if fmt == "markdown" else f"resolve): {link}") in body


def test_no_dashboard_address_no_link(tmp_path: Path, store: Store) -> None:
    with Webhook() as hook:
        config = load_config(write(tmp_path, f"""
            [[channels]]
            id = "hook"
            url = "json://127.0.0.1:{hook.port}/alerts"

            [[routes]]
            channels = ["hook"]
            """))
        assert config.dashboard.url is None
        notify(config, store, [Alert()], now=T0)
    [req] = hook.requests
    assert req["json"]["alert"]["incident_url"] is None and "#/alerts/" not in req["json"]["message"]


@pytest.mark.parametrize(("table", "problem"), [
    ('url = "ftp://voc.example.com"', "dashboard.url: must be an http(s) URL"),
    ('url = "voc.example.com"', "dashboard.url: must be an http(s) URL"),
    ('url = "https://"', "dashboard.url: must be an http(s) URL"),
    ('url = "https://admin:pw@voc.example.com"', "dashboard.url: must not contain a user name or password"),
    ('url = "https://voc.example.com/?team=1"', "dashboard.url: must have no query or fragment"),
    ('url = "https://voc.example.com/#/x"', "dashboard.url: must have no query or fragment"),
    ('url = "https://voc.example.com/a b"', "dashboard.url: must be an http(s) URL"),
    ('url = "https://voc.example.com/<x>"', "dashboard.url: must be an http(s) URL"),
    ('url = "https://voc.example.com:99999"', "dashboard.url: has a bad port"),
    ("url = 5", "dashboard.url: expected a string"),
    ('address = "https://voc.example.com"', "dashboard.address: unknown key"),
])
def test_bad_dashboard_addresses_are_refused(tmp_path: Path, table: str, problem: str) -> None:
    path = write(tmp_path, f"\n[dashboard]\n{table}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {problem}"), str(info.value)
