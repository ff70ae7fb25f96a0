"""Dates in the markets' languages: the slow path behind ``parse_datetime``'s fast paths.

``crawlers.processors.parse_datetime`` reads the common forms (ISO 8601, epochs, numeric
layouts, Chinese, English) with its own precompiled patterns; what they cannot read and
that looks like a date in words ("27. September 2018", "vor 3 Tagen", "Gestern, 14:05",
"il y a 2 jours", "3 giorni fa", "3일 전") comes here and goes to `dateparser`_, which
knows absolute and relative dates in some 200 locales.

dateparser is imported on first use (``import crawlers.processors`` stays stdlib-only and
fast), runs offline (no language-detection model: candidates come from the ``languages``
hint or :data:`DEFAULT_LANGUAGES`, never from auto-detection over every locale), and is
configured so its answers follow the fast path's rules: relative forms against the page's
``now`` in the site's zone, incomplete dates from the past (``PREFER_DATES_FROM='past'``),
a month without a day on the 1st, and nothing it guessed from a lone word ("ago" is
Spanish for August, "may" is a month) unless the word is a day ("gestern", "ayer").

.. _dateparser: https://dateparser.readthedocs.io/
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple

__all__ = ["DEFAULT_LANGUAGES", "DateOptions", "date_options", "parse_localized"]

DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en", "zh", "de", "fr", "es", "it", "nl", "pt", "ru", "ja", "ko", "pl", "tr", "nb", "sv",
    "da", "fi", "cs",
)  # fmt: skip
"""Candidates when no ``languages`` hint is given: the markets vocwatch is run on. A hint
("el", "vi", any of dateparser's languages) replaces them; detection over all ~200 locales
is never run (slow on its first call, and more locales means more misreadings of text
that is no date)."""

MAX_LENGTH = 100
"""Longer strings are not sent to dateparser: no date in words is this long, and its cost
grows with the length."""

ORDERS = ("DMY", "MDY", "YMD")

_ALIASES = {"no": "nb", "nn": "nb", "zh-cn": "zh", "zh-sg": "zh", "zh-hans": "zh", "zh-tw": "zh-Hant",
            "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "iw": "he", "in": "id", "jp": "ja", "kr": "ko"}
_DIGIT_RE = re.compile(r"\d")
_PARSERS = ["relative-time", "custom-formats", "absolute-time"]
"""Not "timestamp" (the fast path reads epochs, and would read "1234567890" noise as one)
nor "no-spaces-time" ("20181213" style digits: the fast path's business too)."""


class DateOptions(NamedTuple):
    """``parse_datetime``'s optional hints, checked and normalised once (:func:`date_options`)."""

    formats: tuple[str, ...] = ()
    """strptime formats tried before anything else ("%d.%m.%Y %H:%M")."""
    languages: tuple[str, ...] | None = None
    """dateparser language codes; None: :data:`DEFAULT_LANGUAGES`."""
    order: str | None = None
    """"DMY", "MDY" or "YMD" for all-numeric dates such as "03/04/2019"; None: refuse to
    guess when both readings are valid."""
    english: bool = True
    """Whether the fast path reads English month names first (no hint, or a hint with "en")."""


NO_OPTIONS = DateOptions()


@lru_cache(maxsize=1)
def _known_languages() -> dict[str, str]:
    from dateparser.data.languages_info import language_order

    return {code.lower(): code for code in language_order}


def _language(code: Any) -> str:
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"date language must be a language code such as 'de', not {code!r}")
    key = code.strip().replace("_", "-").lower()
    known = _known_languages()
    key = _ALIASES.get(key, key)
    if key in known or key in known.values():
        return known.get(key, key)
    base = key.split("-")[0]
    base = _ALIASES.get(base, base)
    if base in known:
        return known[base]
    raise ValueError(f"unknown date language {code!r} (dateparser's codes: 'de', 'fr', 'pt', 'zh', ...)")


def _format(fmt: Any) -> str:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise ValueError(f"date format must be a strptime format such as '%d.%m.%Y', not {fmt!r}")
    sample = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        if "directive" in str(exc):  # "'Q' is a bad directive in format '%Q'"
            raise ValueError(f"bad date format {fmt!r}: {exc}") from None
        # a format strptime cannot read its own output of (%c in some locales) still works on real input
    return fmt


def _strings(value: str | Iterable[str] | None, what: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{what} must be a string or a list of strings, not {value!r}")
    return tuple(value)


def date_options(
    formats: str | Iterable[str] | None = None,
    languages: str | Iterable[str] | None = None,
    order: str | None = None,
) -> DateOptions:
    """The hints as :class:`DateOptions`; ValueError for a hint no date can be read with
    (unknown language, "%Q", order "DYM"): a config error, reported where the config is
    loaded, not per date. Cached: a page's dates share one set of hints."""
    try:
        return _date_options(formats, languages, order)
    except TypeError:  # a list from a config: the same hints as a tuple, cached too
        if order is not None and not isinstance(order, str):
            raise ValueError(f"date order must be one of {', '.join(ORDERS)}, not {order!r}") from None
        fmts, langs = _strings(formats, "date_format"), _strings(languages, "date_languages")
        try:
            return _date_options(fmts, langs, order)
        except TypeError:  # an element is a list too: no valid hint, say which
            return _date_options.__wrapped__(fmts, langs, order)


@lru_cache(maxsize=256)
def _date_options(formats: Any, languages: Any, order: Any) -> DateOptions:
    fmts = tuple(dict.fromkeys(_format(f) for f in _strings(formats, "date_format")))
    langs = tuple(dict.fromkeys(_language(c) for c in _strings(languages, "date_languages"))) or None
    if order is not None:
        if not isinstance(order, str) or order.strip().upper() not in ORDERS:
            raise ValueError(f"date order must be one of {', '.join(ORDERS)}, not {order!r}")
        order = order.strip().upper()
    return DateOptions(fmts, langs, order, langs is None or "en" in langs)


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], order: str | None, base: datetime) -> Any:
    """One dateparser parser per (languages, order, page clock): a page's dates share it."""
    from dateparser import DateDataParser

    settings: dict[str, Any] = {
        "RELATIVE_BASE": base,  # the page's now as wall-clock time in the site's zone ...
        "TIMEZONE": "UTC",  # ... read as is (not the machine's zone): naive results are site
        # time, and a result is aware only when the text names a zone ("14:05 CET")
        "PREFER_DATES_FROM": "past",  # "5. März", "Montag": the last one, not the next
        "PREFER_DAY_OF_MONTH": "first",  # "September 2018" is Sept 1, as on the fast path
        "PARSERS": _PARSERS,
    }
    if order is not None:
        settings["DATE_ORDER"] = order
        settings["PREFER_LOCALE_DATE_ORDER"] = False
    return DateDataParser(languages=list(languages), settings=settings)


@lru_cache(maxsize=4096)
def _read(
    text: str, languages: tuple[str, ...], order: str | None, formats: tuple[str, ...], base: datetime
) -> tuple[datetime | None, str | None, tuple[str, ...]]:
    """dateparser's (date, period, parts) for ``text``; cached, since a page repeats its
    relative dates ("vor 3 Tagen") and pages of one crawl share a clock."""
    # built outside the guard below: options are checked, so a failure here is a bug to see
    parser = _parser(languages, order, base)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a library's deprecation notes are no crawl's business
            data = parser.get_date_data(text, date_formats=list(formats) or None)
    except Exception:  # hostile text must never become a traceback in a crawl
        return None, None, ()
    return data.date_obj, data.period, tuple(getattr(data, "parts", ()) or ())


def _usable(parts: tuple[str, ...], period: str | None) -> bool:
    """A day, a time, or a month of a known year: not a lone month ("may") or year."""
    return "day" in parts or "time" in parts or ("month" in parts and "year" in parts) or period == "time"


_CLOCK_RE = re.compile(r"\d{1,2}\s*(?:[:h]\s*\d{2}|[ap]\.?m\b)", re.I)
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")


def _guessed_parts(text: str, period: str | None) -> tuple[str, ...]:
    """What ``DateData.parts`` (dateparser 1.5) would say, read from the text and the
    period, for an older dateparser that reports no parts."""
    parts: list[str] = []
    if period in ("day", "week", "time"):
        parts += ["year", "month", "day"]
    elif period == "month" and _YEAR_RE.search(text):
        parts += ["year", "month"]
    if _CLOCK_RE.search(text):
        parts.append("time")
    return tuple(parts)


def parse_localized(
    text: str, *, now: datetime, local_now: datetime, tz: tzinfo, options: DateOptions = NO_OPTIONS
) -> datetime | None:
    """``text`` (already stripped, at most :data:`MAX_LENGTH` characters) read by dateparser
    as an aware UTC datetime, or None. ``now`` is the page's fetch time in UTC and
    ``local_now`` the same instant in ``tz``. Never raises on any text."""
    if not text or len(text) > MAX_LENGTH:
        return None
    languages = options.languages or DEFAULT_LANGUAGES
    base = local_now.replace(tzinfo=None)
    value, period, parts = _read(text, languages, options.order, options.formats, base)
    if value is None:
        return None
    parts = parts or _guessed_parts(text, period)
    if not _usable(parts, period):
        return None
    if value.utcoffset() is not None and "time" not in parts:
        return None  # a zone with no clock time: a word read as a zone ("5 Mart 2019": MART)
    # "gestern", "ayer", "morgen": dateparser moves now by whole days and keeps its clock
    calendar_word = (not _DIGIT_RE.search(text) and "time" not in parts and period == "day"
                     and (value.hour, value.minute) == (base.hour, base.minute))
    if calendar_word:
        # that calendar day from midnight, like the fast path's "yesterday"
        value = value.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        result = (value.replace(tzinfo=tz) if value.utcoffset() is None else value).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if calendar_word and result > now:
        return None  # "morgen", "demain", "tomorrow": no post is from tomorrow
    return result

