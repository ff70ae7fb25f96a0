"""Secrets never printed and alerts that reach nobody, end to end: the real CLI in a
subprocess, real webhook receivers on 127.0.0.1, a real scheduler process delivering after a
real crawl (issue 10, items 9 and 10). vocwatch's own helpers are imported inside the tests
that use them, so the end-to-end tests also run against a checkout without them."""

from __future__ import annotations

import io
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import ConfigError, load_config
from crawlers.store.sqlite import SQLiteStore
from tests.alert_receivers import Webhook, free_port
from tests.conftest import ROOT, local_site, run_vocwatch
from tests.test_alerting import NOW, burst, config_toml, mention

TOKEN = "s3cr3t-hook-Token-4242"
STORE_PASSWORD = "secretpw"
EMPTY_RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>quiet</title></channel></rss>'


@pytest.fixture(autouse=True)
def _no_secrets_from_other_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secrets a process remembers are process-wide: start each test with none (another
    test's store password "secret" would mask that word in these messages)."""
    try:
        import config.redact
    except ImportError:  # a checkout without it: the end-to-end tests run in subprocesses anyway
        return
    monkeypatch.setattr(config.redact, "_known", set())
    monkeypatch.setattr(config.redact, "_known_re", None)


def _seed(db: Path, now: datetime, spike: int) -> None:
    """28 days of calm for bund and pudong (one mention every 2 h, every fifth negative),
    then ``spike`` negative mentions at bund in the hour before ``now``."""
    store = SQLiteStore(str(db))
    store.insert_new([mention(loc, now - timedelta(days=29) + timedelta(hours=2 * i, minutes=7), negative=i % 5 == 0)
                      for loc in ("bund", "pudong") for i in range(29 * 12)])
    burst(store, now, spike)
    store.close()


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(config_toml(tmp_path / "s.db") + extra, encoding="utf-8")
    return path


def _wait_for(cond: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


# -- item 10: store URL passwords -------------------------------------------------------
def test_check_never_prints_the_store_password(tmp_path: Path) -> None:
    cfg = _write(tmp_path, "")
    url = f"mongodb://u:{STORE_PASSWORD}@127.0.0.1:1/db"
    by_flag = run_vocwatch("check", "-c", str(cfg), "--store", url, timeout=60)
    by_env = run_vocwatch("check", "-c", str(cfg), env={"VOCWATCH_STORE_URL": url}, timeout=60)
    for r in (by_flag, by_env):
        assert r.returncode == 0, r.stderr
        assert STORE_PASSWORD not in r.stdout + r.stderr
        assert "store mongodb://u:***@127.0.0.1:1/db" in r.stdout


def test_a_store_error_never_prints_the_password(tmp_path: Path) -> None:
    """An exception while opening the store (here the SQLite URL check, which quotes the URL)
    reaches the terminal as a traceback: scrubbed like every log line."""
    cfg = _write(tmp_path, "")
    r = run_vocwatch("runs", "-c", str(cfg), "--store", f"sqlite://u:{STORE_PASSWORD}@h/x.db", timeout=60)
    assert r.returncode != 0 and "bad SQLite URL" in r.stderr
    assert STORE_PASSWORD not in r.stdout + r.stderr


# -- item 10: tokens in DEBUG logs --------------------------------------------------------
def test_debug_logs_of_a_scheduled_delivery_never_print_the_webhook_token(tmp_path: Path) -> None:
    """``vocwatch schedule run --log-level DEBUG``: a real crawl of a local feed, then the
    spike in the store is delivered to a webhook whose token is a query parameter; urllib3
    and apprise log the request at DEBUG, the token must not be in what they print."""
    now = datetime.now(UTC)
    _seed(tmp_path / "s.db", now, 12)
    with Webhook() as hook, local_site(lambda path: (200, "application/rss+xml", EMPTY_RSS)) as (base, _):
        cfg = _write(tmp_path, f"""
[crawl]
retries = 0
obey_robots = false
[schedule]
default = "every 1h"
jitter_seconds = 0
[[sources]]
id = "bund/rss"
location = "bund"
kind = "rss"
url = "{base}/feed.xml"
[[channels]]
id = "hook"
url = "json://127.0.0.1:{hook.port}/alerts?-token=${{HOOK_TOKEN}}"
[[routes]]
channels = ["hook"]
""")
        env = {**os.environ, "HOOK_TOKEN": TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "schedule", "run", "-c", str(cfg),
                                 "--log-level", "DEBUG"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: bool(hook.requests), 90)
            time.sleep(0.5)  # let the scheduler log the outcome
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
    assert hook.requests[0]["path"] == f"/alerts?token={TOKEN}"  # the token was in use ...
    assert TOKEN not in out + err
    assert "DEBUG" in err and "POST /alerts?token=***" in err  # ... and logged, masked


def test_debug_logs_of_alerts_test_never_print_the_webhook_token(tmp_path: Path) -> None:
    with Webhook() as hook:
        cfg = _write(tmp_path, f"""
[[channels]]
id = "hook"
url = "json://alerts:${{HOOK_TOKEN}}@127.0.0.1:{hook.port}/alerts?+X-Hook-Key=${{HOOK_TOKEN}}"
""")
        r = run_vocwatch("alerts", "test", "hook", "-c", str(cfg),
                         env={"HOOK_TOKEN": TOKEN, "VOCWATCH_LOG_LEVEL": "DEBUG"}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert hook.requests[0]["headers"]["X-Hook-Key"] == TOKEN
    assert "DEBUG" in r.stderr and TOKEN not in r.stdout + r.stderr


def test_debug_logs_of_a_crawl_never_print_an_api_key(tmp_path: Path) -> None:
    """``vocwatch crawl --log-level DEBUG`` of a source whose URL carries an API key: Scrapy
    logs every request URL at DEBUG; the key must not be in what it prints."""
    with local_site(lambda path: (200, "application/rss+xml", EMPTY_RSS)) as (base, hits):
        cfg = _write(tmp_path, f"""
[crawl]
retries = 0
obey_robots = false
[[sources]]
id = "bund/rss"
location = "bund"
kind = "rss"
url = "{base}/feed.xml?key=${{FEED_KEY}}"
""")
        r = run_vocwatch("crawl", "-c", str(cfg), "--log-level", "DEBUG", "-q", env={"FEED_KEY": TOKEN}, timeout=120)
    assert hits == [f"/feed.xml?key={TOKEN}"]  # the key was used ...
    assert TOKEN not in r.stdout + r.stderr
    assert "feed.xml?key=***>" in r.stderr  # ... and the request logged, masked


def test_log_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    from config.redact import SecretFilter, install_log_scrubbing, remember

    remember(["known-Secret-value-77"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter())
    log = logging.getLogger("tests.secrets")
    log.addHandler(handler)
    try:
        log.warning("GET %s failed", "https://api.example/x?access_token=abc123&page=2")
        try:
            raise RuntimeError("cannot reach mongodb://ops:hunter22@db.example/vw with known-Secret-value-77")
        except RuntimeError:
            log.exception("store")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "access_token=***&page=2" in text and "mongodb://ops:***@db.example/vw" in text
    assert "abc123" not in text and "hunter22" not in text and "known-Secret-value-77" not in text
    install_log_scrubbing()  # idempotent, and scrubs records for every handler
    install_log_scrubbing()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "pw=%s", ("known-Secret-value-77",),
                                               None)
    assert record.getMessage() == "pw=***"


@pytest.mark.parametrize(("url", "shown"), [
    ("mongodb://user:pw1234@host:27017/db?authSource=admin", "mongodb://user:***@host:27017/db?authSource=admin"),
    ("sqlite:///data/vocwatch.db", "sqlite:///data/vocwatch.db"),
    ("https://h/hook?key=k1&sign=s2&x=1", "https://h/hook?key=***&sign=***&x=1"),
])
def test_mask_url(url: str, shown: str) -> None:
    from config.redact import mask_url, redact

    assert mask_url(url) == shown
    assert redact(f"error at {url}: down") == f"error at {shown}: down"


# -- item 10: a secret the notification library would ignore --------------------------------
def test_a_token_the_webhook_ignores_is_a_config_error(tmp_path: Path) -> None:
    """apprise's json:// plugin drops a plain ``?token=``: the alert would reach the webhook
    without it. That is refused when the config is loaded, before anything is sent."""
    with Webhook() as hook:
        cfg = _write(tmp_path, f"""
[[channels]]
id = "hook"
url = "json://127.0.0.1:{hook.port}/alerts?token=${{HOOK_TOKEN}}"
""")
        env = {"HOOK_TOKEN": TOKEN}
        sent = run_vocwatch("alerts", "test", "hook", "-c", str(cfg), env=env, timeout=60)
        checked = run_vocwatch("check", "-c", str(cfg), env=env, timeout=60)
    assert not hook.requests  # nothing went out unauthenticated
    for r in (sent, checked):
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"{cfg}: channels[0].url: the token= parameter comes from the environment but apprise's" in r.stderr
        assert "-name=VALUE" in r.stderr and TOKEN not in r.stdout + r.stderr


@pytest.mark.parametrize(("url", "where"), [
    ("slack://bot:${PW}@T0AB12CD34/B0AB12CD34/${SLACK_KEY}", "the password (user:password@)"),
    ("dingtalk://${SLACK_KEY}/?token=${DT_KEY}", "a secret part of the URL"),  # token= replaces the path's key
    ("json://127.0.0.1/alerts?password=${PW}", "the password= parameter"),
])
def test_ignored_secrets_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str,
                                           where: str) -> None:
    monkeypatch.setenv("PW", "hunter2-Pw-77")
    monkeypatch.setenv("SLACK_KEY", "xoxbAb12Cd34Ef56Gh78")
    monkeypatch.setenv("DT_KEY", "dt0Secret0Key1234")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, f'[[channels]]\nid = "c"\nurl = "{url}"\n'))
    assert err.value.key == "channels[0].url" and err.value.problem.startswith(where)
    assert "hunter2-Pw-77" not in str(err.value) and "xoxbAb12Cd34Ef56Gh78" not in str(err.value)


@pytest.mark.parametrize("url", [
    "json://127.0.0.1/alerts?-token=${PW}",
    "json://127.0.0.1/alerts?+X-Token=${PW}",
    "json://hook:${PW}@127.0.0.1/alerts",
    "dingtalk://${SLACK_KEY}/?secret=${DT_KEY}",
    "mailtos://ops:${PW}@smtp.example.com?to=gm@example.com",
    "${WHOLE}",
])
def test_secrets_the_plugin_reads_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("PW", "hunter2-Pw-77")
    monkeypatch.setenv("SLACK_KEY", "xoxbAb12Cd34Ef56Gh78")
    monkeypatch.setenv("DT_KEY", "dt0Secret0Key1234")
    monkeypatch.setenv("WHOLE", "slack://T0AB12CD34/B0AB12CD34/xoxbAb12Cd34Ef56Gh78")
    config = load_config(_write(tmp_path, f'[[channels]]\nid = "c"\nurl = "{url}"\n'))
    assert "c" in config.channels


# -- item 9: alerts that reach nobody -----------------------------------------------------------
ONLY_PUDONG = """
[[channels]]
id = "hook"
url = "json://127.0.0.1:{port}/alerts"
[[routes]]
channels = ["hook"]
match = {{ location = "pudong" }}
"""


def test_an_unrouted_critical_alert_warns_and_is_recorded(tmp_path: Path) -> None:
    """A critical spike at bund, routes only for pudong: ``alerts check`` says the alert
    reached nobody, and the delivery record keeps it; ``check`` warned beforehand."""
    _seed(tmp_path / "s.db", NOW, 40)
    with Webhook() as hook:
        cfg = _write(tmp_path, ONLY_PUDONG.format(port=hook.port))
        checked = run_vocwatch("check", "-c", str(cfg), timeout=60)
        r = run_vocwatch("alerts", "check", "-c", str(cfg), "--now", NOW.isoformat(), timeout=60)
    assert not hook.requests
    assert checked.returncode == 0, checked.stderr
    assert ("vocwatch check: warning: a critical negative_spike/negative_share/rating_drop/viral_post/crawl_health alert "
            "would reach nobody (no route to a channel) for bund\n") in checked.stderr
    assert "a critical negative_spike alert would reach nobody (no route to a channel) for brand:harbor" \
        in checked.stderr
    assert r.returncode == 0, r.stderr
    assert "[critical]" in r.stdout
    warning = [line for line in r.stderr.splitlines() if line.startswith("vocwatch alerts: warning: critical alert")]
    assert len(warning) == 1 and "was delivered to nobody: no route delivers a critical negative_spike alert " \
        "(location bund, brand harbor, region shanghai) to any channel" in warning[0]
    with sqlite3.connect(tmp_path / "s.db") as db:
        rows = db.execute("SELECT channel, status, last_error FROM alert_deliveries").fetchall()
    assert [(c, s) for c, s, _ in rows] == [("-", "unrouted")] and "negative_spike" in rows[0][2]
    listed = run_vocwatch("alerts", "list", "-c", str(cfg), timeout=60)
    assert "[reached nobody: no route delivers a critical negative_spike alert" in listed.stdout


def test_a_critical_alert_whose_every_send_failed_is_warned(tmp_path: Path) -> None:
    _seed(tmp_path / "s.db", NOW, 40)
    cfg = _write(tmp_path, ONLY_PUDONG.format(port=free_port()).replace('location = "pudong"', 'location = "bund"'))
    r = run_vocwatch("alerts", "check", "-c", str(cfg), "--now", NOW.isoformat(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "has reached nobody yet: hook failed (retried by the next check)" in r.stderr


def test_no_channels_at_all_is_warned_too(tmp_path: Path) -> None:
    _seed(tmp_path / "s.db", NOW, 40)
    cfg = _write(tmp_path, "")
    r = run_vocwatch("alerts", "check", "-c", str(cfg), "--now", NOW.isoformat(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "vocwatch alerts: warning: critical alert" in r.stderr


def test_check_is_quiet_when_every_critical_alert_has_a_route(tmp_path: Path) -> None:
    from monitor.alerting import unrouted

    cfg = _write(tmp_path, ONLY_PUDONG.format(port=1) + '[[routes]]\nchannels = ["hook"]\n'
                 'match = { severity = "critical" }\n')
    assert unrouted(load_config(cfg)) == []
    r = run_vocwatch("check", "-c", str(cfg), timeout=60)
    assert r.returncode == 0 and "warning" not in r.stderr


def test_unrouted_covers_every_kind_including_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import config.model
    from monitor.alerting import unrouted

    monkeypatch.setattr(config.model, "ALERT_KINDS", (*config.model.ALERT_KINDS, "future_kind"))
    cfg = _write(tmp_path, ONLY_PUDONG.format(port=1) + '[[routes]]\nchannels = ["hook"]\n'
                 'match = { location = "bund", kind = ["negative_spike", "rating_drop"] }\n')
    gaps = dict(unrouted(load_config(cfg)))
    assert gaps == {"bund": ("negative_share", "viral_post", "crawl_health", "future_kind"),
                    "brand:harbor": ("negative_spike",)}
