"""Dates in the markets' languages (``parse_datetime`` with its dateparser slow path).

One case per form and language, each with the exact UTC instant for the fixed ``NOW``
(Monday 2026-11-23 10:00 UTC) in the site's zone. Expectations are worked out by hand from
the zone's offset on that date (CET +1 and CEST +2, Moscow/Istanbul +3, Tokyo/Seoul +9,
Shanghai +8, Sao Paulo -3, New York -5 (EST, also on 2024-03-05), Sydney +11 in November),
not copied from parser output: a relative "N days ago" is ``NOW`` minus N days, a
calendar word ("gestern", "ayer") is that local day from midnight, as the fast path's
"yesterday" is.

``FAST`` cases are read by the precompiled patterns alone (the dateparser path is made to
fail the test if it is reached); ``LOCALE`` cases are ones the fast path cannot read.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import crawlers.processors as processors
from crawlers.locale_dates import date_options
from crawlers.processors import _Ctx, _parse_string, parse_datetime
from spiders.pages.base import Page

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.filterwarnings("error")  # no warnings spam from dateparser either


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (raw, site zone, languages hint, expected UTC)
FAST = [
    # ISO 8601, epochs, numeric
    ("2024-03-05T12:30:00Z", "Europe/Berlin", None, utc(2024, 3, 5, 12, 30)),
    ("2024-03-05T12:30:00+01:00", "UTC", None, utc(2024, 3, 5, 11, 30)),
    ("1709641800", "Asia/Shanghai", None, utc(2024, 3, 5, 12, 30)),
    ("1709641800000", "Asia/Shanghai", None, utc(2024, 3, 5, 12, 30)),
    ("2024-03-05 12:30", "Asia/Shanghai", None, utc(2024, 3, 5, 4, 30)),
    ("05.03.2024", "Europe/Berlin", None, utc(2024, 3, 4, 23, 0)),
    ("05.03.2024", "Europe/Berlin", "de", utc(2024, 3, 4, 23, 0)),
    # Chinese
    ("3月5日", "Asia/Shanghai", None, utc(2026, 3, 4, 16, 0)),
    ("2019年3月5日", "Asia/Shanghai", None, utc(2019, 3, 4, 16, 0)),
    ("5分钟前", "Asia/Shanghai", None, utc(2026, 11, 23, 9, 55)),
    ("昨天 12:30", "Asia/Shanghai", None, utc(2026, 11, 22, 4, 30)),
    ("刚刚", "Asia/Shanghai", None, NOW),
    ("3月5日", "Asia/Shanghai", "zh", utc(2026, 3, 4, 16, 0)),
    # Japanese written the Chinese way
    ("2019年3月5日", "Asia/Tokyo", "ja", utc(2019, 3, 4, 15, 0)),
    ("2019年3月5日 14:05", "Asia/Tokyo", None, utc(2019, 3, 5, 5, 5)),
    ("3日前", "Asia/Tokyo", None, utc(2026, 11, 20, 10, 0)),
    ("5分前", "Asia/Tokyo", None, utc(2026, 11, 23, 9, 55)),
    ("昨日 14:05", "Asia/Tokyo", None, utc(2026, 11, 22, 5, 5)),
    # English
    ("March 5, 2024", "America/New_York", None, utc(2024, 3, 5, 5, 0)),
    ("5 days ago", "America/New_York", None, utc(2026, 11, 18, 10, 0)),
    ("Today at 3:15 AM", "America/New_York", None, utc(2026, 11, 23, 8, 15)),
    ("Today at 3:15 PM", "Australia/Sydney", None, utc(2026, 11, 23, 4, 15)),
    ("Yesterday, 09:12", "America/New_York", None, utc(2026, 11, 22, 14, 12)),
    ("Posted: Mon Nov 16, 2026 2:05 pm", "UTC", None, utc(2026, 11, 16, 14, 5)),
    ("2 weeks ago", "UTC", "en", utc(2026, 11, 9, 10, 0)),
    # Norwegian/Danish/Dutch month names spelt as in English
    ("23 april 2015", "Europe/Oslo", None, utc(2015, 4, 22, 22, 0)),
]

LOCALE = [
    # German
    ("27. September 2018", "Europe/Berlin", None, utc(2018, 9, 26, 22, 0)),
    ("27. September 2018", "Europe/Berlin", "de", utc(2018, 9, 26, 22, 0)),
    ("vor 3 Tagen", "Europe/Berlin", None, utc(2026, 11, 20, 10, 0)),
    ("vor 2 Stunden", "Europe/Berlin", "de", utc(2026, 11, 23, 8, 0)),
    ("vor einer Stunde", "Europe/Berlin", None, utc(2026, 11, 23, 9, 0)),
    ("vor 2 Wochen", "Europe/Berlin", None, utc(2026, 11, 9, 10, 0)),
    ("Gestern, 14:05", "Europe/Berlin", None, utc(2026, 11, 22, 13, 5)),
    ("gestern", "Europe/Berlin", "de", utc(2026, 11, 21, 23, 0)),
    ("heute, 09:30", "Europe/Berlin", None, utc(2026, 11, 23, 8, 30)),
    ("3. März 2019 14:05", "Europe/Berlin", "de", utc(2019, 3, 3, 13, 5)),
    ("Mi 27. Sep 2018, 14:05", "Europe/Berlin", "de", utc(2018, 9, 27, 12, 5)),
    ("27.09.2018 um 14:05 Uhr", "Europe/Berlin", "de", utc(2018, 9, 27, 12, 5)),
    ("Sonntag, 22. November 2026", "Europe/Berlin", "de", utc(2026, 11, 21, 23, 0)),
    # forum engines' German (phpBB, XenForo, vBulletin language packs)
    ("Heute um 09:05 Uhr", "Europe/Berlin", None, utc(2026, 11, 23, 8, 5)),
    ("Gestern um 09:12", "Europe/Berlin", None, utc(2026, 11, 22, 8, 12)),
    ("27. Sep. 2018", "Europe/Berlin", None, utc(2018, 9, 26, 22, 0)),
    ("Mi 27. Sep 2018, 14:05", "Europe/Berlin", None, utc(2018, 9, 27, 12, 5)),
    # French
    ("mer. 27 sept. 2018 14:05", "Europe/Paris", None, utc(2018, 9, 27, 12, 5)),
    ("27/09/2018 14h05", "Europe/Paris", "fr", utc(2018, 9, 27, 12, 5)),
    ("il y a 2 jours", "Europe/Paris", None, utc(2026, 11, 21, 10, 0)),
    ("il y a 5 minutes", "Europe/Paris", "fr", utc(2026, 11, 23, 9, 55)),
    ("hier à 14:05", "Europe/Paris", "fr", utc(2026, 11, 22, 13, 5)),
    ("27 septembre 2018", "Europe/Paris", None, utc(2018, 9, 26, 22, 0)),
    ("mar. 5 mars 2019", "Europe/Paris", "fr", utc(2019, 3, 4, 23, 0)),
    ("le 5 mars 2019 à 14h05", "Europe/Paris", "fr", utc(2019, 3, 5, 13, 5)),
    # Spanish
    ("hace 3 días", "Europe/Madrid", None, utc(2026, 11, 20, 10, 0)),
    ("ayer", "Europe/Madrid", "es", utc(2026, 11, 21, 23, 0)),
    ("5 de marzo de 2019", "Europe/Madrid", None, utc(2019, 3, 4, 23, 0)),
    ("Mié Sep 27, 2018 2:05 pm", "Europe/Madrid", None, utc(2018, 9, 27, 12, 5)),
    # Italian
    ("3 giorni fa", "Europe/Rome", None, utc(2026, 11, 20, 10, 0)),
    ("ieri alle 14:05", "Europe/Rome", None, utc(2026, 11, 22, 13, 5)),
    ("5 marzo 2019", "Europe/Rome", "it", utc(2019, 3, 4, 23, 0)),
    # Dutch
    ("2 dagen geleden", "Europe/Amsterdam", None, utc(2026, 11, 21, 10, 0)),
    ("5 maart 2019", "Europe/Amsterdam", None, utc(2019, 3, 4, 23, 0)),
    # Norwegian (with the hint the English month matchers step aside: dateparser reads it)
    ("23 april 2015", "Europe/Oslo", "nb", utc(2015, 4, 22, 22, 0)),
    ("23 april 2015", "Europe/Oslo", "no", utc(2015, 4, 22, 22, 0)),
    ("for 3 dager siden", "Europe/Oslo", None, utc(2026, 11, 20, 10, 0)),
    ("i går kl. 14:05", "Europe/Oslo", "nb", utc(2026, 11, 22, 13, 5)),
    # Swedish, Danish, Finnish, Czech
    ("för 3 dagar sedan", "Europe/Stockholm", None, utc(2026, 11, 20, 10, 0)),
    ("for 3 dage siden", "Europe/Copenhagen", "da", utc(2026, 11, 20, 10, 0)),
    ("3 päivää sitten", "Europe/Helsinki", None, utc(2026, 11, 20, 10, 0)),
    ("před 3 dny", "Europe/Prague", None, utc(2026, 11, 20, 10, 0)),
    # Russian
    ("3 дня назад", "Europe/Moscow", None, utc(2026, 11, 20, 10, 0)),
    ("5 марта 2019", "Europe/Moscow", None, utc(2019, 3, 4, 21, 0)),
    ("вчера в 14:05", "Europe/Moscow", "ru", utc(2026, 11, 22, 11, 5)),
    ("14 марта 2019 г. в 14:05", "Europe/Moscow", "ru", utc(2019, 3, 14, 11, 5)),
    # Japanese
    ("3時間前", "Asia/Tokyo", None, utc(2026, 11, 23, 7, 0)),
    ("3時間前", "Asia/Tokyo", "ja", utc(2026, 11, 23, 7, 0)),
    # Korean
    ("3일 전", "Asia/Seoul", None, utc(2026, 11, 20, 10, 0)),
    ("5분 전", "Asia/Seoul", "ko", utc(2026, 11, 23, 9, 55)),
    ("2019년 3월 5일", "Asia/Seoul", None, utc(2019, 3, 4, 15, 0)),
    ("2019년 3월 5일 14:05", "Asia/Seoul", "ko", utc(2019, 3, 5, 5, 5)),
    ("어제 14:05", "Asia/Seoul", None, utc(2026, 11, 22, 5, 5)),
    # Portuguese
    ("há 2 dias", "America/Sao_Paulo", None, utc(2026, 11, 21, 10, 0)),
    ("5 de março de 2019", "America/Sao_Paulo", "pt", utc(2019, 3, 5, 3, 0)),
    ("ontem às 14:05", "America/Sao_Paulo", None, utc(2026, 11, 22, 17, 5)),
    ("Qua Set 27, 2018 2:05 pm", "America/Sao_Paulo", "pt", utc(2018, 9, 27, 17, 5)),
    # Polish
    ("3 dni temu", "Europe/Warsaw", None, utc(2026, 11, 20, 10, 0)),
    ("5 marca 2019", "Europe/Warsaw", "pl", utc(2019, 3, 4, 23, 0)),
    ("wczoraj o 14:05", "Europe/Warsaw", None, utc(2026, 11, 22, 13, 5)),
    # Turkish
    ("3 gün önce", "Europe/Istanbul", None, utc(2026, 11, 20, 10, 0)),
    ("5 Mart 2019", "Europe/Istanbul", "tr", utc(2019, 3, 4, 21, 0)),
    ("dün 14:05", "Europe/Istanbul", "tr", utc(2026, 11, 22, 11, 5)),
    ("27 Eyl 2018", "Europe/Istanbul", "tr", utc(2018, 9, 26, 21, 0)),
    # a language outside the default list, through the hint
    ("Πριν από 3 ημέρες", "Europe/Athens", "el", utc(2026, 11, 20, 10, 0)),
    ("3 ngày trước", "Asia/Ho_Chi_Minh", "vi", utc(2026, 11, 20, 10, 0)),
    # an English date on a page whose hint has no English: read after the hint's languages
    ("Sep 27th, 2018, 2:05 pm", "Europe/Berlin", "de", utc(2018, 9, 27, 12, 5)),
    ("November 20, 2026", "Europe/Paris", "fr", utc(2026, 11, 19, 23, 0)),
    # English the fast path leaves alone
    ("2 weeks, 3 days ago", "UTC", None, utc(2026, 11, 6, 10, 0)),
]


def _ids(case: tuple) -> str:
    return f"{case[0]}|{case[2] or '-'}"


@pytest.fixture
def no_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a fast-path form reached dateparser")

    monkeypatch.setattr(processors._locale, "parse_localized", fail)


@pytest.mark.parametrize(("raw", "tz", "languages", "expected"), FAST, ids=[_ids(c) for c in FAST])
def test_fast_path_forms(no_dateparser: None, raw: str, tz: str, languages: str | None, expected: datetime) -> None:
    result = parse_datetime(raw, now=NOW, tz=tz, languages=languages)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(("raw", "tz", "languages", "expected"), LOCALE, ids=[_ids(c) for c in LOCALE])
def test_locale_forms(raw: str, tz: str, languages: str | None, expected: datetime) -> None:
    result = parse_datetime(raw, now=NOW, tz=tz, languages=languages)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(("raw", "tz", "languages", "expected"), [c for c in LOCALE if c[2] is None],
                         ids=[_ids(c) for c in LOCALE if c[2] is None])
def test_locale_forms_are_beyond_the_fast_path(raw: str, tz: str, languages: None, expected: datetime) -> None:
    """These need dateparser: the fast path alone reads nothing (rather than a wrong date)."""
    zone = ZoneInfo(tz)
    assert _parse_string(raw, _Ctx(NOW, NOW.astimezone(zone), zone)) is None


# --- hints: order, formats ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [
        ("03/04/2019", {}, None),  # both readings valid: refused without an order
        ("03/04/2019", {"order": "DMY"}, utc(2019, 4, 3)),
        ("03/04/2019", {"order": "dmy"}, utc(2019, 4, 3)),
        ("03/04/2019", {"order": "MDY"}, utc(2019, 3, 4)),
        ("03/04/2019", {"order": "YMD"}, utc(2019, 3, 4)),  # month before day
        ("13/04/2019", {"order": "MDY"}, utc(2019, 4, 13)),  # the only reading there is
        ("03-04-2019 14:05", {"order": "DMY"}, utc(2019, 4, 3, 14, 5)),
        ("03/04", {"order": "DMY"}, utc(2026, 4, 3)),
        ("03/04", {}, utc(2026, 3, 4)),  # year-less m/d, as before
        ("3月4日", {"order": "DMY"}, utc(2026, 3, 4)),  # 月 says which is the month
        ("05.03.19", {}, None),
        ("05.03.19", {"order": "DMY"}, utc(2019, 3, 5)),
        ("27.09.2018 - 14:05", {"formats": "%d.%m.%Y - %H:%M"}, utc(2018, 9, 27, 14, 5)),
        ("27.09.2018 - 14:05", {"formats": ["%Y", "%d.%m.%Y - %H:%M"]}, utc(2018, 9, 27, 14, 5)),
        ("2018-09-27T14:05:00+0200", {"formats": "%Y-%m-%dT%H:%M:%S%z"}, utc(2018, 9, 27, 12, 5)),
        ("Sep 27 2018", {"formats": "%b %d %Y"}, utc(2018, 9, 27)),
        ("05.03.", {"formats": "%d.%m."}, utc(2026, 3, 5)),
        ("24.12.", {"formats": "%d.%m."}, utc(2025, 12, 24)),  # this year's is in the future
        ("27. Oktober 2018", {"formats": "%d. %B %Y", "languages": "de"}, utc(2018, 10, 27)),
        ("2018-09-27", {"formats": "%d.%m.%Y"}, utc(2018, 9, 27)),  # a format is tried first, not only
    ],
)
def test_hints(raw: str, kwargs: dict, expected: datetime | None) -> None:
    assert parse_datetime(raw, now=NOW, tz="UTC", **kwargs) == expected


def test_page_parse_date_takes_the_same_hints() -> None:
    page = Page("https://forum.example.de/t/1", "", NOW, ZoneInfo("Europe/Berlin"))
    assert page.parse_date("Gestern, 14:05", languages=["de"]) == utc(2026, 11, 22, 13, 5)
    assert page.parse_date("03/04/2019", order="DMY") == utc(2019, 4, 2, 22, 0)
    assert page.parse_date("27.09.2018 - 14:05", formats="%d.%m.%Y - %H:%M") == utc(2018, 9, 27, 12, 5)
    assert page.parse_date("2024-03-05T12:30:00Z") == utc(2024, 3, 5, 12, 30)  # old call unchanged


# --- what is refused -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "languages"),
    [
        ("morgen", None), ("demain", "fr"), ("tomorrow", None), ("in 3 Tagen", None),
        ("dans 2 jours", None), ("2027-06-01", None), ("in 3 days", "en"),
        ("ago", None),  # Spanish "ago." is August: a lone month is no date
        ("may", None), ("März", "de"),
        ("5 Mart 2019", None),  # without the hint "Mart" reads as a zone (MART): refused, not May
        ("garbage", None), ("Seite 2 von 3", "de"), ("John Smith", None), ("5 parsecs ago", None),
        ("Antworten", "de"), ("nowhere", None), ("<b>vor</b>", "de"), ("x" * 500, None),
        ("vor 3 Tagen " + "x" * 200, "de"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_refused(raw: str, languages: str | None) -> None:
    assert parse_datetime(raw, now=NOW, tz="Europe/Berlin", languages=languages) is None


def test_no_date_after_now_plus_a_day() -> None:
    assert parse_datetime("2026-11-24 09:00", now=NOW, tz="UTC") == utc(2026, 11, 24, 9)  # within a day
    assert parse_datetime("2026-11-24 10:01", now=NOW, tz="UTC") is None
    assert parse_datetime(datetime(2030, 1, 1, tzinfo=UTC), now=NOW) is None
    assert parse_datetime(1_900_000_000, now=NOW) is None  # epoch of 2030


@pytest.mark.parametrize(
    "kwargs",
    [{"languages": "klingon"}, {"languages": ["de", 3]}, {"languages": ""}, {"order": "DYM"},
     {"order": 3}, {"order": ["DMY"]}, {"formats": "no directive"}, {"formats": "%Q"}, {"formats": [3]},
     {"formats": b"%Y"}, {"formats": [["%Y"]]}, {"languages": [["de"]]}, {"languages": {"de": 1}}],
    ids=repr,
)
def test_bad_hints_are_caller_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        parse_datetime("2026-11-20", now=NOW, **kwargs)
    with pytest.raises(ValueError):
        date_options(**kwargs)


def test_language_codes_are_normalised() -> None:
    assert date_options(languages=["de-AT", "NO", "zh_CN", "pt-BR"]).languages == ("de", "nb", "zh", "pt")
    assert date_options(languages="en").english
    assert not date_options(languages=["fr"]).english
    assert date_options().languages is None


def test_dateparser_never_downloads_or_detects(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, and no optional detection model: candidates come from the hint."""
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    from crawlers import locale_dates

    locale_dates._parser.cache_clear()
    assert parse_datetime("vor 3 Tagen", now=NOW, tz="Europe/Berlin") == utc(2026, 11, 20, 10)
    parser = locale_dates._parser(("de",), None, NOW.replace(tzinfo=None))
    assert parser.detect_languages_function is None
    assert parser.languages == ["de"]


def test_relative_base_is_the_pages_now_not_the_clock() -> None:
    now = datetime(2019, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_datetime("vor 3 Tagen", now=now, tz="Europe/Berlin") == now - timedelta(days=3)
    assert parse_datetime("Gestern, 14:05", now=now, tz="Europe/Berlin") == utc(2019, 3, 9, 13, 5)


def test_no_warnings_on_leap_day_without_year() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_datetime("29. Februar", now=datetime(2028, 3, 1, tzinfo=UTC), tz="UTC", languages="de") == \
            utc(2028, 2, 29)


def test_a_clock_time_the_fast_path_leaves_in_words_is_read_by_dateparser() -> None:
    """"27.09.2018 um 14:05 Uhr": the fast path reads the day and would drop the time in
    the words around it; dateparser reads both. When it cannot, the day still stands."""
    berlin = {"now": NOW, "tz": "Europe/Berlin"}
    assert parse_datetime("27.09.2018 um 14:05 Uhr", **berlin) == utc(2018, 9, 27, 12, 5)
    assert parse_datetime("20.11.2026 xyzzy 14:05", **berlin) == utc(2026, 11, 19, 23, 0)
    assert parse_datetime("2026-11-20 来自 14:05", **berlin) == utc(2026, 11, 19, 23, 0)


@pytest.mark.parametrize(("raw", "tz", "languages", "expected"), LOCALE, ids=[_ids(c) for c in LOCALE])
def test_locale_forms_with_a_dateparser_that_reports_no_parts(
        monkeypatch: pytest.MonkeyPatch, raw: str, tz: str, languages: str | None, expected: datetime) -> None:
    """dateparser before 1.5 has no ``DateData.parts``: the parts are guessed from the
    period and the text, and the same forms read the same."""
    from crawlers import locale_dates

    real = locale_dates._read

    def no_parts(*args: object) -> tuple:
        return (*real(*args)[:2], ())

    monkeypatch.setattr(locale_dates, "_read", no_parts)
    assert parse_datetime(raw, now=NOW, tz=tz, languages=languages) == expected
