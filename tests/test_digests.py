"""Digests: config validation, periods and the cron trigger, the figures on the dashboard
chain, escaping of hostile text in every format, delivery through a real SMTP server and
a webhook (once per period and channel, failures retried), the CLI and the scheduler job."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import Config, ConfigError, load_config
from config.model import DigestSettings
from crawlers.store import Store, open_store
from monitor import delivery
from monitor.digest import (
    Complaint,
    LocationFigures,
    Period,
    Quote,
    build_digest,
    cron_fields,
    delivery_id,
    latest_slot,
    parse_delivery_id,
    period_at,
    render_html,
    render_markdown,
    render_text,
    subject,
)
from monitor.digest_send import collect, deliver, retry_digests, select, send_digest
from monitor.metrics import benchmark
from tests.alert_receivers import Webhook, smtp_server
from tests.dashboard_data import NOW, XSS_SCRIPT
from tests.digests_data import HOSTILE_TITLE, PERIOD_START, SLOT, mention_fp, write_digest_chain

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[Config, Store]]:
    cfg, _ = write_digest_chain(tmp_path)
    config = load_config(cfg)
    store = open_store(config.store_url)
    yield config, store
    store.close()


def digest_of(config: Config, name: str) -> DigestSettings:
    return select(config, name=name)[0]


# -- configuration ----------------------------------------------------------------------
def _with_digest(tmp_path: Path, body: str) -> Path:
    cfg, _ = write_digest_chain(tmp_path)
    text = cfg.read_text(encoding="utf-8") + "\n[[digests]]\n" + textwrap.dedent(body)
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_digest_defaults(chain: tuple[Config, Store]) -> None:
    config, _ = chain
    weekly, daily, monthly = config.digests
    assert (weekly.name, weekly.scope, weekly.channels, weekly.every, weekly.day, weekly.hour, weekly.timezone,
            weekly.window, weekly.index_window) == ("shanghai-weekly", "region:shanghai", ("hook",), "weekly", "mon", 8,
                                                    "Asia/Shanghai", None, "90d")
    assert (daily.name, daily.every, daily.hour) == ("daily-brand:harbor", "daily", 9)  # the default name
    assert monthly.every == "monthly"


@pytest.mark.parametrize(("body", "key", "problem"), [
    ('scope = "region:mars"\nchannels = ["hook"]', "digests[3].scope", "no own locations with region 'mars'; known: beijing, shanghai"),
    ('scope = "location:rival-sh"\nchannels = ["hook"]', "digests[3].scope", "'rival-sh' is a competitor location"),
    ('scope = "shanghai"\nchannels = ["hook"]', "digests[3].scope", "bad scope 'shanghai'"),
    ('scope = "all"\nchannels = ["pager"]', "digests[3].channels", "unknown channel id 'pager'; declared: hook"),
    ('scope = "all"\nchannels = []', "digests[3].channels", "expected a non-empty array of strings"),
    ('scope = "all"\nchannels = ["hook", "hook"]', "digests[3].channels", "names a channel twice"),
    ('scope = "all"\nchannels = ["hook"]\nevery = "hourly"', "digests[3].every", "must be one of daily, weekly, monthly"),
    ('scope = "all"\nchannels = ["hook"]\nday = "monday"', "digests[3].day", "must be one of mon, tue"),
    ('scope = "all"\nchannels = ["hook"]\nevery = "monthly"\nday = "mon"', "digests[3].day",
     "only a weekly digest has a day"),
    ('scope = "all"\nchannels = ["hook"]\nhour = 24', "digests[3].hour", "must be between 0 and 23, got 24"),
    ('scope = "all"\nchannels = ["hook"]\nhour = 8.5', "digests[3].hour", "expected an integer"),
    ('scope = "all"\nchannels = ["hook"]\nwindow = "a week"', "digests[3].window", "bad window 'a week'"),
    ('scope = "all"\nchannels = ["hook"]\ntimezone = "Mars/Olympus"', "digests[3].timezone", "unknown time zone"),
    ('scope = "all"\nchannels = ["hook"]\nname = "shanghai-weekly"', "digests[3].name",
     "duplicate digest name 'shanghai-weekly'"),
    ('scope = "brand:harbor"\nchannels = ["hook"]\nevery = "daily"', "digests[3].name",
     "duplicate digest name 'daily-brand:harbor' (the default, every-scope): give each a name"),
    ('scope = "all"\nchannels = ["hook"]\nrecipients = ["gm@example.com"]', "digests[3].recipients", "unknown key"),
    ('channels = ["hook"]', "digests[3].scope", "is required"),
])
def test_digest_config_errors_name_file_key_and_problem(tmp_path: Path, body: str, key: str, problem: str) -> None:
    path = _with_digest(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.file == str(path)
    assert err.value.key == key
    assert problem in err.value.problem, err.value.problem


def test_every_digest_problem_is_reported_at_once_but_not_the_echo_of_another(tmp_path: Path) -> None:
    from config.loader import ConfigErrors

    path = _with_digest(tmp_path, 'scope = "all"\nchannels = ["pager"]\n\n[[digests]]\nscope = "all"\n'
                                  'channels = ["hook"]\nhour = -1\n')
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    assert [(e.key, e.problem.split(";")[0]) for e in err.value.errors] == [
        ("digests[3].channels", "unknown channel id 'pager'"), ("digests[4].hour", "must be between 0 and 23, got -1")]
    # a location that fails to load: its digest is not reported as "not a location id" too
    text = path.read_text(encoding="utf-8").replace('name = "Harbor Bund"\n', 'name = "Harbor Bund"\nstars = 9\n', 1)
    path.write_text(text.split("\n[[digests]]\nscope = \"all\"")[0], encoding="utf-8")
    with pytest.raises(ConfigError) as one:
        load_config(path)
    assert not isinstance(one.value, ConfigErrors) and one.value.key == "locations[0].stars"


# -- periods ----------------------------------------------------------------------------
def _settings(**kw: object) -> DigestSettings:
    base: dict[str, object] = {"name": "d", "scope": "all", "channels": ("hook",), **kw}
    return DigestSettings(**base)  # type: ignore[arg-type]


def test_weekly_period_is_the_whole_utc_days_before_the_slot() -> None:
    weekly = _settings()
    p = period_at(weekly, NOW)
    assert p == Period(slot=SLOT, start=PERIOD_START, end=datetime(2026, 3, 30, tzinfo=UTC),
                       previous_end=datetime(2026, 3, 23, tzinfo=UTC))
    assert p.days == 7
    # the slot itself belongs to its period; a second before it, the week before's
    assert period_at(weekly, SLOT).slot == SLOT
    assert period_at(weekly, SLOT - timedelta(seconds=1)).slot == SLOT - timedelta(days=7)
    # a fixed window overrides "since the previous digest"; the index change still is since then
    p28 = period_at(_settings(window="4w"), NOW)
    assert (p28.start, p28.end, p28.previous_end) == (datetime(2026, 3, 2, tzinfo=UTC), p.end, p.previous_end)


def test_daily_and_monthly_periods() -> None:
    daily = period_at(_settings(every="daily", hour=9), NOW)  # 09:00 CST = 01:00 UTC
    assert daily.slot == datetime(2026, 3, 31, 1, tzinfo=UTC)
    assert (daily.start, daily.end) == (datetime(2026, 3, 30, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    monthly = period_at(_settings(every="monthly"), NOW)  # the 1st, 08:00 CST = 00:00 UTC
    assert monthly.slot == datetime(2026, 3, 1, tzinfo=UTC)
    assert (monthly.start, monthly.end, monthly.days) == (datetime(2026, 2, 1, tzinfo=UTC),
                                                          datetime(2026, 3, 1, tzinfo=UTC), 28)
    january = period_at(_settings(every="monthly"), datetime(2026, 2, 15, tzinfo=UTC))
    assert (january.start, january.days) == (datetime(2026, 1, 1, tzinfo=UTC), 31)
    # New York, 08:00 local: 13:00 UTC in winter, 12:00 UTC in summer time
    ny = _settings(every="daily", timezone="America/New_York")
    assert latest_slot(ny, datetime(2026, 1, 15, 14, tzinfo=UTC)) == datetime(2026, 1, 15, 13, tzinfo=UTC)
    assert latest_slot(ny, datetime(2026, 7, 15, 12, 30, tzinfo=UTC)) == datetime(2026, 7, 15, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        period_at(ny, datetime(2026, 1, 1))


@pytest.mark.parametrize("settings", [_settings(), _settings(day="fri", hour=18), _settings(every="daily", hour=0),
                                      _settings(every="monthly", hour=23),
                                      _settings(every="weekly", day="sun", timezone="America/New_York")])
def test_the_cron_trigger_fires_at_the_slots(settings: DigestSettings) -> None:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger(**cron_fields(settings), timezone=ZoneInfo(settings.timezone))
    when = datetime(2026, 1, 3, 5, 17, tzinfo=UTC)
    for _ in range(6):  # each fire time is a slot: the latest slot at that time is itself
        nxt = trigger.get_next_fire_time(None, when)
        assert nxt is not None
        assert latest_slot(settings, nxt) == nxt.astimezone(UTC)
        assert latest_slot(settings, nxt - timedelta(seconds=1)) < nxt
        when = nxt + timedelta(seconds=1)


def test_delivery_ids_round_trip_and_never_look_like_alert_ids() -> None:
    key = delivery_id("shanghai-weekly", SLOT)
    assert key == "digest:shanghai-weekly@2026-03-30T00:00:00Z"
    assert parse_delivery_id(key) == ("shanghai-weekly", SLOT)
    assert parse_delivery_id(delivery_id("weekly-region:a@b", SLOT)) == ("weekly-region:a@b", SLOT)
    assert parse_delivery_id("negative_spike-harbor-sh-bund-1") is None


# -- figures ----------------------------------------------------------------------------
def test_the_region_digest_figures(chain: tuple[Config, Store]) -> None:
    config, store = chain
    d = collect(config, store, digest_of(config, "shanghai-weekly"), now=NOW)
    assert d.period.slot == SLOT
    assert d.scope_title == "Region shanghai"
    rows = {r.location_id: r for r in d.rows}
    assert list(rows) != [] and set(rows) == {"harbor-sh-bund", "harbor-sh-pudong", "lotus-sh"}  # not Beijing
    # the chain's mentions of days 2..8 (one a day) fall in 23-29 March; day 5 is negative;
    # Lotus also has the hostile complaint of day 3
    assert {lid: (r.mentions, r.negative, r.mentions_before) for lid, r in rows.items()} == {
        "harbor-sh-bund": (7, 1, 7), "harbor-sh-pudong": (7, 1, 7), "lotus-sh": (8, 2, 7)}
    # index and rank are the dashboard's 90-day benchmark at the period's end, the change is
    # against the same benchmark a week earlier
    tick = timedelta(microseconds=1)
    at_end = {b.location.id: b for b in benchmark(config, store, location_ids=list(rows), window="90d",
                                                   now=d.period.end - tick)}
    before = {b.location.id: b for b in benchmark(config, store, location_ids=list(rows), window="90d",
                                                   now=d.period.previous_end - tick)}
    week = {b.location.id: b for b in benchmark(config, store, location_ids=list(rows), window="7d",
                                                 now=d.period.end - tick)}
    for lid, r in rows.items():
        assert r.index == at_end[lid].current.reputation_index is not None
        assert r.index_change == pytest.approx(at_end[lid].current.reputation_index
                                               - before[lid].current.reputation_index)
        assert (r.rank, r.rank_of) == (at_end[lid].rank, at_end[lid].rank_of)
        assert r.rating == week[lid].current.avg_rating
    assert [r.location_id for r in d.rows] == sorted(rows, key=lambda lid: -rows[lid].index)  # type: ignore[operator]
    # movers: by the index change, drops then rises, each at most 3
    assert all(r.index_change < 0 for r in d.drops) and all(r.index_change > 0 for r in d.rises)  # type: ignore[operator]
    assert len(d.drops) + len(d.rises) == sum(r.index_change != 0 for r in d.rows)
    # complaints: Bund's breakfast on odd days (3, 5, 7), service on the negative day of
    # each location, cleanliness in the hostile review; the week before: days 9..15
    assert [(c.aspect, c.label, c.negative, c.negative_before, c.worst_location) for c in d.complaints] == [
        ("breakfast", "Breakfast", 3, 4, "harbor-sh-bund"),  # not in the taxonomies: the id, readable
        ("service", "Service and staff", 3, 6, "harbor-sh-bund"),
        ("cleanliness", "Cleanliness", 1, 0, "lotus-sh")]
    # unanswered: the negatives without a site reply, minus Pudong's answered in the workflow
    assert d.unanswered == 3
    assert [q.fingerprint for q in d.quotes][1:] == sorted([mention_fp("harbor-sh-bund", 5), mention_fp("lotus-sh", 5)])
    newest = d.quotes[0]
    assert newest.location_id == "lotus-sh" and newest.url is None  # a javascript: URL is no link
    assert "\n" not in newest.text and newest.waiting_days == 3
    # alerts: Bund's (not acknowledged) and Pudong's (acknowledged); not the resolved,
    # Beijing's, nor the brand-wide one
    assert (d.open_alerts, d.unacknowledged, d.alerts_by_severity) == (2, 1, {"critical": 1, "warning": 1})
    assert [a.id for a in d.worst_alerts] == ["a-pudong", "a-bund"]
    assert d.home_link is None  # no dashboard URL in this config


def test_brand_and_location_scopes(chain: tuple[Config, Store]) -> None:
    config, store = chain
    brand = collect(config, store, digest_of(config, "daily-brand:harbor"), now=NOW)
    assert brand.scope_title == "Brand Harbor Hotels"
    assert {r.location_id for r in brand.rows} == {"harbor-sh-bund", "harbor-sh-pudong", "harbor-bj"}
    assert brand.period.days == 1 and brand.totals["mentions"] == 3  # 30 March: day 1 of each
    assert {a.id for a in collect(config, store, digest_of(config, "daily-brand:harbor"), now=NOW).worst_alerts} == {
        "a-bund", "a-pudong", "a-bj"}
    assert brand.open_alerts == 4  # with the brand-wide alert that names no location
    one = collect(config, store, digest_of(config, "bund-monthly"), now=NOW)
    assert [r.location_id for r in one.rows] == ["harbor-sh-bund"] and one.scope_title == "Harbor Bund"
    assert (one.drops, one.rises) == ((), ())  # no movers in a one-location digest
    assert one.period.days == 28 and one.rows[0].mentions == 28  # February


# -- rendering --------------------------------------------------------------------------
EVIL = '<script>alert("x")</script> *bold* _it_ [link](javascript:alert(1)) | pipe'


def hostile_digest(dashboard_url: str | None = "https://dash.example/vw") -> object:
    p = Period(SLOT, PERIOD_START, datetime(2026, 3, 30, tzinfo=UTC), datetime(2026, 3, 23, tzinfo=UTC))
    row = LocationFigures("loc<1>", f"Hotel {EVIL}\r\nBcc: x@example.com", "r", "hotel", 70.0, 72.5, 4.1, 4.3, 12,
                          9, 3, 2, 5)
    other = LocationFigures("loc2", "Plain", "r", "hotel", 60.0, 58.0, None, None, 0, 0, 0, None, 0)
    complaint = Complaint("cleanliness", f"Clean {EVIL}", 4, 1, 9, "loc<1>", row.name, 4)
    quote = Quote("fp", "loc<1>", row.name, "site<x>", NOW - timedelta(days=2), 1.0, f"Awful {EVIL}",
                  "https://reviews.example/r?a=1&b=<2>", 2)
    bad_link = Quote("fp2", "loc2", "Plain", "s", None, None, "no link", None, None)

    class A:
        id, severity, state, title, last_seen = "al<1>", "critical", "new", HOSTILE_TITLE, NOW

    return build_digest(_settings(name="n<1>", scope="region:r"), period=p, now=NOW, title=f"Region {EVIL}",
                        rows=[row, other], complaints=[complaint], unanswered=2, quotes=[quote, bad_link],
                        alerts=[A()], dashboard_url=dashboard_url)


def test_subject_is_one_line_without_header_injection() -> None:
    d = hostile_digest()
    s = subject(d)  # type: ignore[arg-type]
    assert "\n" not in s and "\r" not in s and len(s) <= 200
    assert s.startswith("vocwatch weekly digest: Region ")
    assert s.endswith("23 Mar – 29 Mar 2026")


def test_html_escapes_every_piece_of_text() -> None:
    out = render_html(hostile_digest())  # type: ignore[arg-type]
    assert "<script>" not in out and "<img" not in out and "\r" not in out and "\n" not in out
    links = re.findall(r'<a href="([^"]*)"', out)
    inbox = "https://dash.example/vw/#/inbox?window=9d&amp;sentiment=negative"  # 23 March to NOW: 8.5 days
    assert links == ["https://dash.example/vw/#/location/loc%3C1%3E", "https://dash.example/vw/#/location/loc2",
                     f"{inbox}&amp;aspect=cleanliness",
                     f"{inbox}&amp;replied=no&amp;status=new&amp;status=assigned",
                     "https://dash.example/vw/#/alerts/al%3C1%3E", "https://dash.example/vw/#/portfolio?region=r"]
    assert out.count("<a ") == len(links)  # the review's URL holds <>: shown as text, not a link
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    assert 'href="https://reviews.example/r?a=1&amp;b=&lt;2&gt;"' not in out  # not an http(s) URL without <>
    assert 'href="https://dash.example/vw/#/location/loc%3C1%3E"' in out
    assert 'href="https://dash.example/vw/#/alerts/al%3C1%3E"' in out
    assert "Bcc: x@example.com" in out  # as text on the line, never a header
    assert "site&lt;x&gt;" in out


def test_markdown_escapes_markup_and_html() -> None:
    out = render_markdown(hostile_digest())  # type: ignore[arg-type]
    assert "<script>" not in out and "](javascript" not in out
    assert r"&lt;script&gt;" in out and r"\*bold\*" in out and r"\_it\_" in out and r"\[link\]" in out
    assert r"\| pipe" in out  # a pipe would split the table cell
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 3 and all(line.count(" | ") == 8 for line in table)  # 9 cells each
    assert "[Open the dashboard](<https://dash.example/vw/#/portfolio?region=r>)" in out


def test_text_is_flat_and_marks_missing_figures() -> None:
    out = render_text(hostile_digest())  # type: ignore[arg-type]
    assert "\r" not in out
    assert not any(line.startswith("Bcc:") for line in out.splitlines())
    html_out = render_html(hostile_digest())  # type: ignore[arg-type]
    assert 'style="padding:2px 8px;color:#b00020">-2.5<' in html_out  # one style attribute, red for a drop
    assert 'style="padding:2px 8px;color:#1b7f3b">+2.0<' in html_out
    plain = next(line for line in out.splitlines() if line.strip().startswith("Plain"))
    assert plain.split()[1:] == ["60.0", "+2.0", "–", "–", "0", "±0", "0", "–"]
    assert "down  Hotel" in out and "up    Plain: 58.0 → 60.0 (+2.0)" in out
    assert "Dashboard: https://dash.example/vw/#/portfolio?region=r" in out


def test_a_scope_mixing_categories_is_grouped_by_category() -> None:
    p = period_at(_settings(), NOW)

    def row(lid: str, category: str, index: float) -> LocationFigures:
        return LocationFigures(lid, lid.title(), "r", category, index, index, 4.0, 4.0, 5, 5, 0, 1, 2)

    rows = [row("hotel-a", "hotel", 70.0), row("cafe-b", "restaurant", 90.0), row("hotel-c", "hotel", 80.0)]
    d = build_digest(_settings(), period=p, now=NOW, title="All", rows=rows, complaints=[], unanswered=0, quotes=[],
                     alerts=[])
    assert [r.location_id for r in d.rows] == ["hotel-c", "hotel-a", "cafe-b"]
    assert "Hotel-C (hotel)" in render_text(d) and "Cafe-B (restaurant)" in render_html(d)
    same = build_digest(_settings(), period=p, now=NOW, title="All", rows=rows[::2], complaints=[], unanswered=0,
                        quotes=[], alerts=[])
    assert [r.location_id for r in same.rows] == ["hotel-c", "hotel-a"] and "(hotel)" not in render_text(same)


def test_no_links_without_a_safe_dashboard_url() -> None:
    for url in (None, "javascript:alert(1)"):
        d = hostile_digest(url)
        assert d.home_link is None  # type: ignore[attr-defined]
        html_out = render_html(d)  # type: ignore[arg-type]
        assert "<a " not in html_out and "#/" not in html_out
        assert "](<" not in render_markdown(d)  # type: ignore[arg-type]
        assert "Dashboard:" not in render_text(d)  # type: ignore[arg-type]


def test_the_digest_from_the_store_escapes_scraped_reviews(chain: tuple[Config, Store]) -> None:
    config, store = chain
    d = collect(config, store, digest_of(config, "shanghai-weekly"), now=NOW)
    out = render_html(d)
    assert XSS_SCRIPT not in out and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in out
    assert "javascript:" not in out and "Spike at Bund &lt;img" in out
    assert "Subject: injected" in out  # in the quote's text, on one line
    assert '<a href="https://reviews.example/harbor-sh-bund/5" rel="noopener noreferrer"' in out
    md = render_markdown(d)
    assert XSS_SCRIPT not in md and "[link](<https://reviews.example/harbor-sh-bund/5>)" in md


# -- delivery ---------------------------------------------------------------------------
def test_email_through_a_real_smtp_server_once_per_period(tmp_path: Path) -> None:
    with smtp_server() as (port, box), Webhook() as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port, mail_url=(
            f"mailto://digest@127.0.0.1:{port}?from=vocwatch@example.com&to=gm@example.com"),
            dashboard_url="https://voc.example.com/")
        config = load_config(cfg)
        assert config.channels["mail"].format == "html"
        store = open_store(config.store_url)
        try:
            weekly = digest_of(config, "shanghai-weekly")
            run = send_digest(config, store, weekly, now=NOW)
            assert [(r.channel, r.status) for r in run.results] == [("hook", "sent"), ("mail", "sent")], run.results
            assert box.received.wait(10)
            [msg] = box.messages
            assert msg["Subject"] == "vocwatch weekly digest: Region shanghai · 23 Mar – 29 Mar 2026"
            assert msg["To"] == "gm@example.com" and msg.get("Bcc") is None
            body = msg.get_body(("html",)).get_content()
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in body and XSS_SCRIPT not in body
            assert "Harbor Bund" in body and "Service and staff" in body
            # [dashboard] url: the rows, the complaints, the unanswered and the alerts link to their views
            for href in ("https://voc.example.com/#/portfolio?region=shanghai",
                         "https://voc.example.com/#/location/harbor-sh-bund",
                         "https://voc.example.com/#/alerts/a-bund",
                         "https://voc.example.com/#/inbox?window=9d&amp;sentiment=negative&amp;aspect=breakfast",
                         "https://voc.example.com/#/inbox?window=9d&amp;sentiment=negative&amp;replied=no&amp;"
                         "status=new&amp;status=assigned"):
                assert f'href="{href}"' in body, href
            [req] = hook.requests
            sent = req["json"]["digest"]
            assert (sent["slot"], sent["unanswered"], sent["open_alerts"]) == ("2026-03-30T00:00:00Z", 3, 2)
            assert req["json"]["title"] == msg["Subject"]

            # the same period again (a restart, a manual re-run later that week): nothing sent
            again = send_digest(config, store, weekly, now=NOW + timedelta(days=2))
            assert [r.status for r in again.results] == ["duplicate", "duplicate"]
            assert len(box.messages) == 1 and len(hook.requests) == 1
            keys = {(d.alert_id, d.channel): d.status for d in store.deliveries.list()}
            assert keys == {("digest:shanghai-weekly@2026-03-30T00:00:00Z", "hook"): "sent",
                            ("digest:shanghai-weekly@2026-03-30T00:00:00Z", "mail"): "sent"}
            # next week's is a new period
            nxt = send_digest(config, store, weekly, now=NOW + timedelta(days=7))
            assert [r.status for r in nxt.results] == ["sent", "sent"]
        finally:
            store.close()


def test_a_failed_send_is_recorded_and_retried_not_given_up_by_the_alerts(tmp_path: Path) -> None:
    with Webhook(statuses=[500]) as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port)
        config = load_config(cfg)
        store = open_store(config.store_url)
        try:
            bund = digest_of(config, "bund-monthly")
            [first] = send_digest(config, store, bund, now=NOW).results
            assert first.status == "failed" and first.error and first.next_attempt_at == NOW + timedelta(minutes=1)
            later = NOW + timedelta(minutes=2)
            # the alerts' retry looks the id up among alerts: it must leave a digest's record alone
            assert delivery.retry_pending(config, store, store.alerts.get, now=later) == []
            [row] = store.deliveries.list()
            assert (row.status, row.next_attempt_at) == ("failed", NOW + timedelta(minutes=1))
            assert retry_digests(config, store, now=NOW + timedelta(seconds=30)) == []  # not due yet
            [retried] = retry_digests(config, store, now=later)
            assert (retried.status, retried.attempts) == ("sent", 2)
            assert [r["json"]["digest"]["slot"] for r in hook.requests] == ["2026-03-01T00:00:00Z"] * 2
            assert retry_digests(config, store, now=later + timedelta(hours=1)) == []
        finally:
            store.close()


def test_a_digest_that_left_the_config_is_given_up(tmp_path: Path) -> None:
    with Webhook(statuses=[500]) as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port)
        config = load_config(cfg)
        store = open_store(config.store_url)
        try:
            send_digest(config, store, digest_of(config, "bund-monthly"), now=NOW)
            from dataclasses import replace

            without = replace(config, digests=tuple(d for d in config.digests if d.name != "bund-monthly"))
            assert retry_digests(without, store, now=NOW + timedelta(hours=1)) == []
            [row] = store.deliveries.list()
            assert row.next_attempt_at is None and row.last_error == "given up: digest no longer configured"
        finally:
            store.close()


def test_deliver_respects_the_channel_rate_limit(tmp_path: Path) -> None:
    with Webhook() as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port)
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(
            'url = "json://127.0.0.1:', 'rate_limit = "1/h"\nurl = "json://127.0.0.1:', 1), encoding="utf-8")
        config = load_config(cfg)
        store = open_store(config.store_url)
        try:
            a = collect(config, store, digest_of(config, "shanghai-weekly"), now=NOW)
            b = collect(config, store, digest_of(config, "bund-monthly"), now=NOW)
            assert [r.status for r in deliver(config, store, a, ["hook"], now=NOW)] == ["sent"]
            [limited] = deliver(config, store, b, ["hook"], now=NOW)
            assert limited.status == "rate_limited" and limited.next_attempt_at is not None
            assert [r.status for r in retry_digests(config, store, now=limited.next_attempt_at)] == ["sent"]
            assert len(hook.requests) == 2
        finally:
            store.close()


# -- the command line and the scheduler --------------------------------------------------
def test_cli_dry_run_prints_the_text_and_sends_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vocwatch.cli import main

    with Webhook() as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port)
        assert main(["digest", "send", "-c", str(cfg), "--name", "shanghai-weekly", "--dry-run",
                     "--now", "2026-03-31T12:00"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("vocwatch weekly digest: Region shanghai · 23 Mar – 29 Mar 2026\n")
        assert "Unanswered negative reviews: 3" in out and hook.requests == []
        assert main(["digest", "send", "-c", str(cfg), "--scope", "location:harbor-sh-bund",
                     "--now", "2026-03-31T12:00"]) == 0
        assert capsys.readouterr().out == "digest bund-monthly (2026-02-01..2026-02-28) -> hook: sent\n"
        assert main(["digest", "send", "-c", str(cfg), "--scope", "location:harbor-sh-bund",
                     "--now", "2026-03-31T13:00"]) == 0
        assert "hook: duplicate (already sent for this period)" in capsys.readouterr().out
        assert len(hook.requests) == 1
        assert main(["digest", "send", "-c", str(cfg), "--name", "shanghai-weekyl"]) == 2
        assert ("--name 'shanghai-weekyl' is not a configured digest; did you mean 'shanghai-weekly'?; known: "
                "shanghai-weekly, daily-brand:harbor, bund-monthly") in capsys.readouterr().err
        assert main(["digest", "send", "-c", str(cfg), "--scope", "region:beijing"]) == 2
        assert "--scope 'region:beijing' is not the scope of a configured digest" in capsys.readouterr().err
        assert main(["-c", str(cfg), "digest", "send", "--name", "bund-monthly,daily-brand:harbor", "--dry-run",
                     "--now", "2026-03-31T12:00"]) == 0
        both = capsys.readouterr().out
        assert "vocwatch daily digest: Brand Harbor Hotels · 30 Mar 2026" in both and "Harbor Bund · 01 Feb" in both
        assert main(["digest", "list", "-c", str(cfg), "--now", "2026-03-31T12:00"]) == 0
        listing = capsys.readouterr().out
        assert "shanghai-weekly" in listing and "next 2026-04-06 08:00 CST" in listing


def test_the_scheduler_registers_one_cron_job_per_digest(tmp_path: Path) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from monitor.scheduler import DIGEST_CATCH_UP, DIGEST_RETRY_JOB, CrawlScheduler

    cfg, _ = write_digest_chain(tmp_path)
    config = load_config(cfg)
    s = CrawlScheduler(config, command=lambda c, src: ["true"])
    try:
        now = datetime.now(UTC)
        # Tuesday 20:00 in Shanghai: the weekly and monthly slots are more than a day old, the
        # daily one (09:00) is not, so it runs at once: sent unless already sent for that slot
        s.add_digest_jobs(NOW)
        s.scheduler.start(paused=True)
        jobs = {j.id: j for j in s.scheduler.get_jobs()}
        weekly = jobs["digest:shanghai-weekly"]
        assert isinstance(weekly.trigger, CronTrigger) and str(weekly.trigger.timezone) == "Asia/Shanghai"
        fields = {f.name: str(f) for f in weekly.trigger.fields}
        assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "8", "0")
        local = weekly.next_run_time.astimezone(SHANGHAI)
        assert (local.weekday(), local.hour, local.minute) == (0, 8, 0) and weekly.next_run_time > now
        assert weekly.executor == "digests" and weekly.misfire_grace_time == DIGEST_CATCH_UP.total_seconds()
        monthly = jobs["digest:bund-monthly"].next_run_time.astimezone(SHANGHAI)
        assert (monthly.day, monthly.hour) == (1, 8)
        daily = jobs["digest:daily-brand:harbor"]
        assert daily.next_run_time == NOW
        assert {f.name: str(f) for f in daily.trigger.fields}["hour"] == "9"
        assert DIGEST_RETRY_JOB in jobs
        assert s.state.load() == {}  # digests are rebuilt from the config, never persisted
        # started soon after a slot (the scheduler was down at 08:00): that digest runs at once
        s.scheduler.remove_all_jobs()
        slot = latest_slot(digest_of(config, "shanghai-weekly"), now)
        s.add_digest_jobs(slot + timedelta(hours=1))
        assert s.scheduler.get_job("digest:shanghai-weekly").next_run_time == slot + timedelta(hours=1)
        assert slot + timedelta(hours=1) - slot <= DIGEST_CATCH_UP
    finally:
        s.scheduler.shutdown(wait=False)
        s.store.close()


def test_json_payload_is_plain_json(chain: tuple[Config, Store]) -> None:
    config, store = chain
    d = collect(config, store, digest_of(config, "shanghai-weekly"), now=NOW)
    data = json.loads(json.dumps(d.to_dict()))
    assert data["start"] == "2026-03-23T00:00:00Z" and data["end"] == "2026-03-30T00:00:00Z"
    assert {row["location_id"] for row in data["locations"]} == {"harbor-sh-bund", "harbor-sh-pudong", "lotus-sh"}


def test_a_started_scheduler_sends_the_missed_daily_digest_once(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The scheduler was down at today's slot: at start the digest goes out; a second start
    (a restart) finds it sent for that slot and sends nothing."""
    import logging
    import time
    from dataclasses import replace

    from monitor.scheduler import CrawlScheduler

    caplog.set_level(logging.INFO, logger="monitor.scheduler")
    with Webhook() as hook:
        cfg, _ = write_digest_chain(tmp_path, hook_port=hook.port)
        config = replace(load_config(cfg), sources={})  # digests only: no crawl is spawned
        slot = latest_slot(digest_of(config, "daily-brand:harbor"), datetime.now(UTC))
        expected = f"{slot:%Y-%m-%dT%H:%M:%SZ}"  # today's 09:00 in Shanghai, or yesterday's

        def logged(status: str) -> bool:
            return any(r.getMessage().startswith("digest daily-brand:harbor of ") and r.getMessage().endswith(status)
                       for r in caplog.records)

        for status in ("hook sent", "hook duplicate"):
            s = CrawlScheduler(config)
            s.start()
            try:
                deadline = time.monotonic() + 60
                while not logged(status) and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                s.stop()
            assert logged(status), caplog.text
        daily = [r["json"]["digest"] for r in hook.requests if r["json"]["digest"]["name"] == "daily-brand:harbor"]
        assert len(daily) == 1 and daily[0]["slot"] == expected
