"""Normalise scraped values (text, timestamps, ratings, counts) into canonical forms.

Every spider and pipeline calls these per item, so they live in one stdlib-only
module (importable without Scrapy) with precompiled patterns, never raise on
odd scraped input, and return ``None`` rather than guess when a value is unusable.
Dates in words of other languages fall through to dateparser (``crawlers.locale_dates``,
imported on first use).
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawlers import locale_dates as _locale
from crawlers.locale_dates import DateOptions

__all__ = ["clean_text", "normalise_rating", "parse_count", "parse_datetime"]

# ---------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------

# Only real HTML element names (plus custom elements / namespaced tags) count as
# markup; anything else after "<" is user text ("I <3 it", "<john@x.com>").
_HTML_TAGS = frozenset({
    "a", "abbr", "acronym", "address", "applet", "area", "article", "aside", "audio", "b",
    "base", "basefont", "bdi", "bdo", "big", "blink", "blockquote", "body", "br", "button",
    "canvas", "caption", "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd",
    "del", "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset",
    "figcaption", "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3",
    "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "img", "input",
    "ins", "kbd", "label", "legend", "li", "link", "main", "map", "mark", "marquee", "menu",
    "meta", "meter", "nav", "nobr", "noembed", "noframes", "noscript", "object", "ol",
    "optgroup", "option", "output", "p", "param", "picture", "pre", "progress", "q", "rb",
    "rp", "rt", "rtc", "ruby", "s", "samp", "script", "search", "section", "select", "slot",
    "small", "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg",
    "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "time", "title",
    "tr", "track", "tt", "u", "ul", "var", "video", "wbr",
})  # fmt: skip
# Elements whose content a reader never sees; dropped wholesale.
_DROP_CONTENT_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
# Elements that start a new line in rendered text.
_LINE_BREAK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd",
    "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr",
    "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tbody", "tfoot", "thead", "title", "tr", "ul",
})  # fmt: skip
_CELL_TAGS = frozenset({"td", "th"})

# Attribute values are length-bounded and attribute names/unquoted values cannot
# contain "<", so a failed match never scans past the next "<": linear time even
# on hostile input such as "<a<a<a...". Possessive name stops "<bfoo>" from
# being read as <b foo>.
_TAG_RE = re.compile(
    r"""<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9:._-]{0,63}+)
    (?P<attrs>(?:(?:\s+|(?<=["']))[^\s"'<>/=]+
        (?:\s*=\s*(?:"[^"]{0,4096}"|'[^']{0,4096}'|[^\s"'<>=`]+))?)*)
    \s*(?P<selfclose>/)?>""",
    re.X,
)
_ATTR_RE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>=`]+)))?""")
_DECL_RE = re.compile(r"<[!?][^<>]{0,1024}>")  # doctype, conditional comments, PIs
_DROP_END_RE = {t: re.compile(rf"</{t}\s*>", re.I) for t in _DROP_CONTENT_TAGS}

# Line separators that are not "\n" (form feed, vertical tab, NEL, U+2028/9).
_LINE_SEP_RE = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0 (minus \t \n), DEL, C1, zero-width space/joiners, word joiner, BOM, soft hyphen.
_INVISIBLE_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200d\u2060\ufeff]")
# Tabs and every Unicode space separator (NBSP, en/em spaces, U+3000, ...).
_SPACES_RE = re.compile("[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES_RE = re.compile(" ?\n[ \n]*")


def _img_alt(attrs: str) -> str:
    """Return the unescaped alt text of an <img> (Weibo emoticons live there)."""
    for m in _ATTR_RE.finditer(attrs):
        if m.group(1).lower() == "alt":
            value = m.group(2) if m.group(2) is not None else m.group(3)
            if value is None:
                value = m.group(4) or ""
            return html.unescape(value)
    return ""


def _html_to_text(s: str) -> str:
    """Tokenise just enough HTML to render text; unknown '<...' stays literal text.

    Text between tags is entity-decoded exactly once, so escaped markup such as
    '&lt;script&gt;' comes out as literal characters and is never parsed or dropped.
    """
    parts: list[str] = []
    n = len(s)
    pos = 0  # where to look for the next "<"
    text_start = 0  # start of raw text not yet emitted
    # Once a terminator is known to be absent, stop searching for it (stays linear).
    comment_end_missing = cdata_end_missing = False

    def flush(end: int) -> None:
        raw = s[text_start:end]
        if raw:
            parts.append(html.unescape(raw) if "&" in raw else raw)

    while True:
        lt = s.find("<", pos)
        if lt < 0 or lt + 1 >= n:
            break
        nxt = s[lt + 1]
        if nxt == "!" and s.startswith("<!--", lt):
            end = -1 if comment_end_missing else s.find("-->", lt + 4)
            if end < 0:  # unterminated: keep as text rather than hide the rest
                comment_end_missing = True
                pos = lt + 1
                continue
            flush(lt)
            pos = text_start = end + 3
            continue
        if nxt == "!" and s.startswith("<![CDATA[", lt):
            end = -1 if cdata_end_missing else s.find("]]>", lt + 9)
            if end < 0:
                cdata_end_missing = True
                pos = lt + 1
                continue
            flush(lt)
            parts.append(s[lt + 9 : end])
            pos = text_start = end + 3
            continue
        if nxt in "!?":
            m = _DECL_RE.match(s, lt)
            if m is None:
                pos = lt + 1
                continue
            flush(lt)
            pos = text_start = m.end()
            continue
        m = _TAG_RE.match(s, lt)
        if m is None:
            pos = lt + 1
            continue
        name = m.group("name").lower()
        if name not in _HTML_TAGS and "-" not in name and ":" not in name:
            pos = lt + 1  # "<y>" or "<john@x.com>": user text, not markup
            continue
        flush(lt)
        pos = text_start = m.end()
        closing = m.group("close") is not None
        if name in _DROP_CONTENT_TAGS:
            if not closing and m.group("selfclose") is None:
                end_m = _DROP_END_RE[name].search(s, pos)
                if end_m is None:  # unterminated script/style: browsers hide the rest
                    text_start = n
                    break
                pos = text_start = end_m.end()
        elif name in _LINE_BREAK_TAGS:
            parts.append("\n")
        elif name in _CELL_TAGS:
            parts.append(" ")
        elif name == "img" and not closing:
            parts.append(_img_alt(m.group("attrs")))
    flush(n)
    return "".join(parts)


def clean_text(raw: str | None) -> str:
    """Return the text a reader sees: markup stripped, entities decoded, spacing tidy.

    Lines are kept (one "\\n" between non-empty lines) because paragraph breaks
    carry meaning for review text; everything else is normalised so dedupe and
    NLP see one canonical form. NFC (not NFKC) keeps full-width CJK punctuation.
    A number is text ("12345"); an object or array (a JSON field of the wrong type) is not
    text, so it cleans to "" instead of its Python repr.
    """
    if raw is None:
        return ""
    if not isinstance(raw, str):
        if isinstance(raw, bytes | bytearray):
            raw = raw.decode("utf-8", "replace")
        elif isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) < 10**100):
            raw = str(raw)
        else:
            return ""
    text = raw
    if "<" in text:
        text = _html_to_text(text)
    elif "&" in text:
        text = html.unescape(text)
    return _tidy(text)


def plain_text(raw: str | None) -> str:
    """:func:`clean_text` for text that is no markup (a JSON API's plain text, an HTML text
    node already decoded): spacing, line breaks and invisible characters are tidied the same
    way, but ``<`` and ``&`` are the user's characters, so ``"a<b and c>d"`` stays whole."""
    return _tidy(raw) if isinstance(raw, str) else clean_text(raw)


def _tidy(text: str) -> str:
    if text.isprintable():
        # one line with no control, invisible or non-ASCII space character (all of them are
        # unprintable): only runs of spaces to collapse, the same text as the regexes give
        # (most text nodes of a page are such: a name, a date, a title)
        return " ".join((text if text.isascii() else unicodedata.normalize("NFC", text)).split())
    return _tidy_by_regexes(text)


def _tidy_by_regexes(text: str) -> str:
    """:func:`_tidy`'s general path (line separators, invisible characters, NFC, spaces,
    blank lines), which its one-line fast path must agree with."""
    text = _LINE_SEP_RE.sub("\n", text)
    text = _INVISIBLE_RE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _SPACES_RE.sub(" ", text)
    text = _BLANK_LINES_RE.sub("\n", text)
    return text.strip(" \n")


# ---------------------------------------------------------------------------
# parse_datetime
# ---------------------------------------------------------------------------

_MAX_DATE_LEN = 256  # nothing longer is a timestamp; bounds regex work
_YEARLESS_SLACK = timedelta(days=1)
_FUTURE_SLACK = timedelta(days=1)
"""How far past ``now`` a parsed date may be (a site's clock or zone a little off); a
later one is a misreading or a placeholder, and is None."""
_EPOCH_MIN_MS = 10**11  # numbers at/above this are epoch milliseconds
_EPOCH_MAX_MS = 10**14
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MONTH_NUM = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])"
)
_TIME = (
    r"(?:(?P<cnap>上午|下午|晚上|凌晨|中午|早上|早晨|傍晚|夜里|夜间)\s*)?"
    r"(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?:\s*(?P<ap>am|pm|a\.m\.|p\.m\.))?"
)
# Minutes east of UTC; "cst" is ambiguous and resolved per site in _zone().
_NAMED_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "est": -300, "edt": -240, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "hkt": 480, "sgt": 480,
    "jst": 540, "kst": 540, "cet": 60, "cest": 120,
}  # fmt: skip
_ZONE = (
    r"(?:\s*(?P<zone>(?:utc|gmt)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}(?::?\d{2})?"
    r"|(?:z|utc|gmt|ut|cst|est|edt|cdt|mst|mdt|pst|pdt|hkt|sgt|jst|kst|cet|cest)(?![a-z])))?"
)
_SEP = r"(?:t|[\s,@]+(?:at\s+)?)"  # between date and time
_REST = r"(?P<rest>.*)$"
_DAY = r"(?P<d>\d{1,2})(?!\d)"

_WS_RE = re.compile(r"\s+")
_CLOCK_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_OFFSET_RE = re.compile(r"(?:utc|gmt)?([+-])(\d{1,2}):?(\d{2})?")
_EPOCH_RE = re.compile(r"\d{10}(?:\.\d{1,6})?|\d{13}")
_PREFIX_RE = re.compile(
    r"""(?:
        (?:最后)?(?:发布|发表|编辑|更新|修改|评论|回复|创建|提交|评价)(?:于|时间|日期)
      | 于
      | (?:reviewed|written|posted|published|updated|edited|modified|created|commented|visited)
        (?:\s+in\s+[^\d:]{1,60}?\s+on|\s+on)?
      | date\s+of\s+(?:stay|experience|visit|review)
      | date | time
    )\s*:?\s*""",
    re.X,
)
_WEEKDAY_RE = re.compile(
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)\.?,?\s+"
)
_ZH_WEEKDAY_RE = re.compile(r"\(?(?:星期|礼拜|周)[一二三四五六日天]\)?")
_ZH_DATE_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(?:(\d{1,2})\s*[日号]?)?")
_ZH_TIME_RE = re.compile(r"(\d{1,2})\s*[时点點]\s*(?:(\d{1,2})\s*分(?:\s*(\d{1,2})\s*秒)?)?")

_NOW_RE = re.compile(
    r"(?:just\s+now|right\s+now|now|a\s+moment\s+ago|moments?\s+ago|刚刚|刚才|刚)" + _REST
)
_EN_REL_RE = re.compile(
    r"""(?:about|around|over|almost|nearly|roughly|~)?\s*
    (?P<n>\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve
       |a\s+few|few|several|a\s+couple(?:\s+of)?|couple(?:\s+of)?|half\s+an?)
    \s*(?P<u>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w
       |months?|mos?|years?|yrs?|y)
    \s+ago"""
    + _REST,
    re.X,
)
_ZH_REL_RE = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+|几)?\s*个?\s*(?P<half>半)?\s*个?\s*"
    r"(?P<u>秒钟?|分钟?|小时|钟头|天|日|周|星期|礼拜|月|年)\s*以?前" + _REST
)
_DAYWORD_RE = re.compile(
    r"(?P<w>today|yesterday|今天|今日|昨天|昨日|大前天|前天)(?:[\s,]*(?:at\s+)?"
    + _TIME
    + r")?"
    + _REST
)
_WEIBO_RE = re.compile(_MONTH + r"\s+" + _DAY + r"\s+" + _TIME + _ZONE + r"\s+(?P<y>\d{4})" + _REST)
_RFC822_RE = re.compile(
    r"\d{1,2}\s+[a-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s*(?P<zone>[+-]\d{4}|ut|utc|gmt|z|[ecmp][sd]t)(?![a-z]))?" + _REST
)
_YMD_RE = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)" + _DAY
    + r"(?:" + _SEP + _TIME + _ZONE + r")?" + _REST
)  # fmt: skip
_YM_RE = re.compile(r"(?P<y>\d{4})[-/](?P<m>\d{1,2})(?!\d)" + _REST)
_AB_Y_RE = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})(?!\d)"
    + r"(?:" + _SEP + _TIME + _ZONE + r")?" + _REST
)  # fmt: skip
_MD_RE = re.compile(r"(?P<m>\d{1,2})[-/]" + _DAY + r"(?:" + _SEP + _TIME + _ZONE + r")?" + _REST)
_EN_MDY_RE = re.compile(
    _MONTH + r"\s*" + _DAY + r"(?:st|nd|rd|th)?(?:,?\s*(?P<y>\d{4})(?!\d))?"
    + r"(?:" + _SEP + _TIME + _ZONE + r")?" + _REST
)  # fmt: skip
_EN_DMY_RE = re.compile(
    _DAY + r"(?:st|nd|rd|th)?[\s-]*(?:of\s+)?" + _MONTH + r"(?:[\s,-]*(?P<y>\d{4})(?!\d))?"
    + r"(?:" + _SEP + _TIME + _ZONE + r")?" + _REST
)  # fmt: skip
_EN_MY_RE = re.compile(_MONTH + r",?\s*(?P<y>\d{4})(?!\d)" + _REST)

_UNIT_SECONDS = {
    "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400, "y": 365 * 86400,
}  # fmt: skip
_EN_UNIT = {
    "second": "s", "seconds": "s", "sec": "s", "secs": "s", "s": "s",
    "minute": "m", "minutes": "m", "min": "m", "mins": "m", "m": "m",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h", "h": "h",
    "day": "d", "days": "d", "d": "d",
    "week": "w", "weeks": "w", "wk": "w", "wks": "w", "w": "w",
    "month": "mo", "months": "mo", "mo": "mo", "mos": "mo",
    "year": "y", "years": "y", "yr": "y", "yrs": "y", "y": "y",
}  # fmt: skip
_ZH_UNIT = {
    "秒": "s", "秒钟": "s", "分": "m", "分钟": "m", "小时": "h", "钟头": "h", "天": "d",
    "日": "d", "周": "w", "星期": "w", "礼拜": "w", "月": "mo", "年": "y",
}  # fmt: skip
_EN_NUM = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "few": 3, "a few": 3, "several": 3, "a couple": 2, "a couple of": 2, "couple": 2,
    "couple of": 2, "half a": 0.5, "half an": 0.5,
}  # fmt: skip
_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_DAYWORD_OFFSET = {
    "today": 0, "今天": 0, "今日": 0, "yesterday": 1, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3,
}  # fmt: skip
_PM_WORDS = frozenset({"下午", "晚上", "傍晚", "夜里", "夜间"})


class _Ctx(NamedTuple):
    now: datetime  # aware, UTC
    local_now: datetime  # now in the site's zone
    tz: tzinfo
    order: str | None = None  # "DMY"/"MDY"/"YMD" for all-numeric day/month, None: never guess
    english: bool = True  # English month names may be read (no hint, or a hint with "en")


@lru_cache(maxsize=64)
def _zoneinfo(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc


def _to_utc(dt: datetime) -> datetime | None:
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _from_epoch(value: float) -> datetime | None:
    """Epoch seconds, or milliseconds when too large to be seconds (year > 5138)."""
    if value <= 0 or value >= _EPOCH_MAX_MS or not math.isfinite(value):
        return None  # 0 is the usual "missing" placeholder, not 1970
    try:
        if value >= _EPOCH_MIN_MS:
            return _EPOCH + timedelta(milliseconds=value)
        return _EPOCH + timedelta(seconds=value)
    except OverflowError:
        return None


def _zone(token: str | None, naive: datetime, ctx: _Ctx) -> tzinfo | None:
    """Resolve an explicit offset/abbreviation; None when the token is invalid."""
    if token is None:
        return ctx.tz
    token = token.replace(" ", "")
    if token == "cst":
        # Chinese servers (Java Date.toString) print China Standard Time as "CST".
        offset = naive.replace(tzinfo=ctx.tz).utcoffset()
        return (
            timezone(timedelta(hours=8))
            if offset == timedelta(hours=8)
            else timezone(timedelta(hours=-6))
        )
    if token in _NAMED_ZONES:
        return timezone(timedelta(minutes=_NAMED_ZONES[token])) if _NAMED_ZONES[token] else UTC
    m = _OFFSET_RE.fullmatch(token)
    if m is None:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 18 or minutes > 59:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _clock(gd: dict[str, str | None]) -> tuple[int, int, int, int] | None:
    """(hour, minute, second, microsecond) from _TIME groups; midnight if absent."""
    if gd.get("hh") is None:
        return 0, 0, 0, 0
    hour, minute = int(gd["hh"] or 0), int(gd["mi"] or 0)
    second = int(gd.get("ss") or 0)
    frac = gd.get("frac")
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    ap, cnap = gd.get("ap"), gd.get("cnap")
    if ap:
        if ap[0] == "p" and hour < 12:
            hour += 12
        elif ap[0] == "a" and hour == 12:
            hour = 0
    elif cnap:
        if (cnap in _PM_WORDS and hour < 12) or (cnap == "中午" and hour < 11):
            hour += 12
        elif cnap == "凌晨" and hour == 12:
            hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second, micro


def _build(
    year: int, month: int, day: int, gd: dict[str, str | None], ctx: _Ctx
) -> datetime | None:
    clock = _clock(gd)
    if clock is None:
        return None
    try:
        naive = datetime(year, month, day, *clock)
    except ValueError:
        return None  # 2026-02-30 and friends
    zone = _zone(gd.get("zone"), naive, ctx)
    return None if zone is None else _to_utc(naive.replace(tzinfo=zone))


def _yearless(month: int, day: int, gd: dict[str, str | None], ctx: _Ctx) -> datetime | None:
    """Sites omit the current year; a date >1 day in the future means last year."""
    for year in (ctx.local_now.year, ctx.local_now.year - 1):
        dt = _build(year, month, day, gd, ctx)
        if dt is not None and dt <= ctx.now + _YEARLESS_SLACK:
            return dt
    return None


def _ago(amount: float, unit: str, ctx: _Ctx) -> datetime | None:
    try:
        return ctx.now - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    except (OverflowError, ValueError):
        return None


def _zh_number(text: str) -> float | None:
    """Small Chinese numerals (一, 两, 十五, 二十三, 一百) used in '三天前'."""
    if text == "几":
        return 3
    total = current = 0
    for ch in text:
        if ch in _ZH_DIGIT:
            current = _ZH_DIGIT[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _h_now(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    return ctx.now


def _h_en_rel(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    raw_n = _WS_RE.sub(" ", m.group("n"))
    amount = float(raw_n) if raw_n[0].isdigit() else _EN_NUM[raw_n]
    return _ago(amount, _EN_UNIT[m.group("u")], ctx)


def _h_zh_rel(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    raw_n, half = m.group("n"), m.group("half")
    if raw_n is None and half is None:
        return None
    amount: float | None = 0.0
    if raw_n is not None:
        amount = float(raw_n) if raw_n[0].isdigit() else _zh_number(raw_n)
    if amount is None:
        return None
    return _ago(amount + (0.5 if half else 0), _ZH_UNIT[m.group("u")], ctx)


def _h_dayword(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    day = ctx.local_now.date() - timedelta(days=_DAYWORD_OFFSET[m.group("w")])
    return _build(day.year, day.month, day.day, m.groupdict(), ctx)


def _h_weibo(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    gd = m.groupdict()
    return _build(int(gd["y"]), _MONTH_NUM[gd["mon"][:3]], int(gd["d"]), gd, ctx)


def _h_rfc822(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    text = m.string[: m.start("rest")]
    zone = m.group("zone")
    if zone == "cst":  # same China-vs-US-Central ambiguity as _zone()
        local_offset = ctx.local_now.utcoffset()
        text = text[: m.start("zone")] + (
            "+0800" if local_offset == timedelta(hours=8) else "-0600"
        )
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt.tzinfo is None:  # "-0000" is UTC by RFC 5322; no zone at all means site time
        dt = dt.replace(tzinfo=UTC if zone == "-0000" else ctx.tz)
    return _to_utc(dt)


def _h_ymd(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    gd = m.groupdict()
    return _build(int(gd["y"]), int(gd["m"]), int(gd["d"]), gd, ctx)


def _h_ym(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    return _build(int(m.group("y")), int(m.group("m")), 1, {}, ctx)


def _day_first(a: int, b: int, order: str) -> tuple[int, int]:
    """(day, month) of two numbers in the declared order; the other reading when the
    declared one cannot be a date (13/04 under MDY is still the 13th of April)."""
    day, month = (a, b) if order.index("D") < order.index("M") else (b, a)
    return (month, day) if month > 12 else (day, month)


def _h_ab_y(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    """d.m.Y is European; for '/' and '-' guess only when one side is > 12, unless the
    site's date order is declared."""
    gd = m.groupdict()
    a, b = int(gd["a"]), int(gd["b"])
    if ctx.order is not None:
        day, month = _day_first(a, b, ctx.order)
    elif gd["sep"] == "." or a > 12 or a == b:
        day, month = a, b
    elif b > 12:
        day, month = b, a
    else:
        return None  # 03/04/2026: March 4 or 3 April? refuse to guess
    return _build(int(gd["y"]), month, day, gd, ctx)


def _h_md(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    gd = m.groupdict()
    month, day = int(gd["m"]), int(gd["d"])
    if ctx.order is not None:
        day, month = _day_first(month, day, ctx.order)
    return _yearless(month, day, gd, ctx)


def _h_en_date(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    gd = m.groupdict()
    month, day = _MONTH_NUM[gd["mon"][:3]], int(gd["d"])
    if gd.get("y") is None:
        return _yearless(month, day, gd, ctx)
    return _build(int(gd["y"]), month, day, gd, ctx)


def _h_en_my(m: re.Match[str], ctx: _Ctx) -> datetime | None:
    return _build(int(m.group("y")), _MONTH_NUM[m.group("mon")[:3]], 1, {}, ctx)


# Order matters: specific shapes first (Weibo before "Nov 22 10:00", RFC 822
# before day-month-year), relative expressions before absolute ones.
_ENGLISH_MONTHS = frozenset({_EN_MY_RE, _EN_MDY_RE, _EN_DMY_RE})
"""Matchers of English month names, skipped under a language hint without English: French
"mar. 5 mars 2019" is Tuesday (mardi) 5 March, not "Mar 5"."""
_MATCHERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], _Ctx], datetime | None]], ...] = (
    (_NOW_RE, _h_now),
    (_EN_REL_RE, _h_en_rel),
    (_ZH_REL_RE, _h_zh_rel),
    (_DAYWORD_RE, _h_dayword),
    (_WEIBO_RE, _h_weibo),
    (_RFC822_RE, _h_rfc822),
    (_YMD_RE, _h_ymd),
    (_AB_Y_RE, _h_ab_y),
    (_YM_RE, _h_ym),
    (_MD_RE, _h_md),
    (_EN_MY_RE, _h_en_my),
    (_EN_MDY_RE, _h_en_date),
    (_EN_DMY_RE, _h_en_date),
)


def _rest_ok(rest: str) -> bool:
    """Allow trailing text ('1小时前 来自 iPhone') but not a token we cut in half."""
    if not rest:
        return True
    first = rest[0]
    if first.isascii() and (first.isalnum() or first in ":./-+_"):
        return False
    tail = rest.lstrip()
    return not tail or not tail[0].isdigit()


def _zh_date_sub(m: re.Match[str]) -> str:
    year, month, day = m.groups()
    if day is None:
        return f"{year}-{month} " if year else m.group(0)
    return f"{year}-{month}-{day} " if year else f"{month}-{day} "


def _zh_time_sub(m: re.Match[str]) -> str:
    hour, minute, second = m.groups()
    return f"{hour}:{(minute or '0').zfill(2)}" + (f":{second.zfill(2)}" if second else "")


def _parse_string(raw: str, ctx: _Ctx) -> datetime | None:
    """The fast paths' reading of ``raw`` (None: none of them reads it)."""
    return _fast_parse(raw, ctx)[0]


def _fast_parse(raw: str, ctx: _Ctx) -> tuple[datetime | None, bool]:
    """(the fast paths' reading, whether it left a clock time in the text around it:
    "27.09.2018 um 14:05 Uhr" reads as the day, and dateparser may read the time too)."""
    s = raw.strip()
    if not s or len(s) > _MAX_DATE_LEN:
        return None, False
    # NFKC folds full-width digits/colons (２０２６：) that CJK sites emit.
    s = _WS_RE.sub(" ", unicodedata.normalize("NFKC", s).lower()).strip(" ()[]【】|·•")
    if _EPOCH_RE.fullmatch(s):
        return _from_epoch(float(s) if "." in s else int(s)), False
    s = _PREFIX_RE.sub("", s, count=1)
    s = _WEEKDAY_RE.sub("", s, count=1)
    if "年" in s or "月" in s:
        s = _ZH_DATE_RE.sub(_zh_date_sub, s)
        ctx = ctx._replace(order=None)  # 3月5日 says which is the month: no order applies
    if "时" in s or "点" in s or "點" in s:
        s = _ZH_TIME_RE.sub(_zh_time_sub, s)
    if "周" in s or "星期" in s or "礼拜" in s:
        s = _ZH_WEEKDAY_RE.sub(" ", s)
    s = _WS_RE.sub(" ", s).strip()
    if not s:
        return None, False
    for pattern, handler in _MATCHERS:
        if not ctx.english and pattern in _ENGLISH_MONTHS:
            continue
        m = pattern.match(s)
        if m is not None and _rest_ok(rest := m.group("rest")):
            clock_left = bool(rest and "hh" in pattern.groupindex and m.group("hh") is None
                              and _CLOCK_RE.search(rest))
            return handler(m, ctx), clock_left
    return None, False


_LOCALE_STRIP = " ()[]【】|·•"


def _from_formats(raw: str, formats: tuple[str, ...], ctx: _Ctx) -> datetime | None:
    """``raw`` read with the site's strptime formats; a format without a year reads the
    date as the latest one not after ``now`` (like "11-20")."""
    s = _WS_RE.sub(" ", unicodedata.normalize("NFKC", raw)).strip()
    if not s or len(s) > _MAX_DATE_LEN:
        return None
    for fmt in formats:
        try:
            dt = datetime.strptime(s, fmt)
        except (ValueError, OverflowError, TypeError):
            continue
        if dt.tzinfo is not None:
            return _to_utc(dt)
        if not any(d in fmt for d in ("%Y", "%y", "%G")):
            for year in (ctx.local_now.year, ctx.local_now.year - 1):
                try:
                    cand = _to_utc(dt.replace(year=year, tzinfo=ctx.tz))
                except ValueError:
                    continue  # Feb 29 in a common year
                if cand is not None and cand <= ctx.now + _YEARLESS_SLACK:
                    return cand
            continue
        return _to_utc(dt.replace(tzinfo=ctx.tz))
    return None


def _parse_text(raw: str, ctx: _Ctx, options: DateOptions) -> datetime | None:
    """Declared formats, then the fast paths, then dateparser for dates in words."""
    if options.formats:
        dt = _from_formats(raw, options.formats, ctx)
        if dt is not None:
            return dt
    fast, clock_left = _fast_parse(raw, ctx)
    if fast is not None and not clock_left:
        return fast
    if len(raw) > 4 * _locale.MAX_LENGTH:
        return fast
    text = _WS_RE.sub(" ", unicodedata.normalize("NFKC", raw)).strip(_LOCALE_STRIP)
    if not text or len(text) > _locale.MAX_LENGTH:
        return fast
    # All-digit text the fast path refused ("03/04/2026", "123456789") stays refused
    # unless the site declared its format or order: dateparser would guess.
    if not (options.order or options.formats or any(ch.isalpha() for ch in text)):
        return fast
    dt = _locale.parse_localized(text, now=ctx.now, local_now=ctx.local_now, tz=ctx.tz, options=options)
    if dt is None and fast is None and not ctx.english:
        # the hint's languages read nothing: an English date on the page ("Sep 27th, 2018"
        # on a German board) is still one, read after them so "mar. 5 mars" stays French
        dt = _parse_string(raw, ctx._replace(english=True))
    # dateparser's reading, with the time the fast path left; else the fast path's day
    return dt if dt is not None else fast


def parse_datetime(
    raw: str | int | float | datetime | None,
    *,
    now: datetime,
    tz: str | tzinfo = "Asia/Shanghai",
    formats: str | Iterable[str] | None = None,
    languages: str | Iterable[str] | None = None,
    order: str | None = None,
) -> datetime | None:
    """Parse a scraped timestamp into an aware UTC datetime, or None if unusable.

    ``tz`` is the site's zone for values without an offset; relative values
    ("3小时前", "yesterday", "vor 3 Tagen") are resolved against ``now`` so re-parsing
    old crawls stays reproducible. The common forms (ISO 8601, epochs, numeric layouts,
    Chinese, English) are read by precompiled patterns; dates in words of other
    languages ("27. September 2018", "Gestern, 14:05", "il y a 2 jours") go to
    dateparser (``crawlers.locale_dates``).

    Optional hints from a site's config: ``formats``, strptime format(s) tried first
    ("%d.%m.%Y %H:%M"); ``languages``, dateparser language code(s) the site writes dates
    in ("de", ["fr", "en"]; without it a fixed list of market languages is tried);
    ``order``, "DMY", "MDY" or "YMD" for all-numeric dates that read both ways
    ("03/04/2019": refused without it).

    A date more than a day after ``now`` is None (no post is from the future).
    Bad ``raw`` of any type yields None, never an exception; a naive ``now``, an unknown
    ``tz`` or a hint no date can be read with is a caller bug (ValueError).
    """
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = _zoneinfo(tz) if isinstance(tz, str) else tz
    options = _locale.NO_OPTIONS if formats is languages is order is None else _locale.date_options(
        formats, languages, order)
    if raw is None or isinstance(raw, bool):
        return None
    now_utc = now.astimezone(UTC)
    if isinstance(raw, datetime):
        result = _to_utc(raw if raw.utcoffset() is not None else raw.replace(tzinfo=zone))
    elif isinstance(raw, date):
        result = _to_utc(datetime.combine(raw, time(), tzinfo=zone))
    elif isinstance(raw, int | float):
        result = _from_epoch(raw)
    elif isinstance(raw, str):
        ctx = _Ctx(now_utc, now_utc.astimezone(zone), zone, options.order, options.english)
        result = _parse_text(raw, ctx, options)
    else:
        return None
    if result is not None and result - now_utc > _FUTURE_SLACK:
        return None
    return result


# ---------------------------------------------------------------------------
# normalise_rating
# ---------------------------------------------------------------------------

_NUM = r"\d{1,6}(?:[.,]\d{1,6})?"
_RATING_RE = re.compile(
    rf"""(?:(?:rated|rating|score|评分|打分|得分|总评)\s*:?\s*)?
    (?P<v>{_NUM})\s*
    (?:(?P<pct>%)|(?:/|out\s+of|of)\s*(?P<s>{_NUM}))?
    \s*(?:stars?|points?|pts?|分|星|颗星|颗)?""",
    re.X,
)
_FILLED_STARS = frozenset("★⭐")
_STAR_CHARS = frozenset("★⭐☆✩\ufe0f ")


def _num(text: str) -> float:
    return float(text.replace(",", "."))  # ratings never have thousands separators


def normalise_rating(
    value: str | float | int | None,
    scale: float | None = 5,
    *,
    worst: float | None = None,
) -> float | None:
    """Map a rating onto 0-5 as ``value / scale * 5``, rounded to 2 decimals.

    Deliberately the ratio to the best score, not a min-max rescale: sites show
    "8/10" meaning four stars, and a 1-5 widget's "1" is one star, not zero.
    ``worst`` only rejects values below the site's minimum. A scale embedded in
    the value ("8.2 / 10", "80%", "★★★★☆") overrides ``scale``; ``scale=None``
    means the value must carry its own scale.
    """
    if value is None or isinstance(value, bool):
        return None
    best: float | None = scale
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int beyond 1e308 is no rating
            return None
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().lower()
        if not text or len(text) > 64:
            return None
        if set(text) <= _STAR_CHARS:
            filled = sum(ch in _FILLED_STARS for ch in text)
            total = filled + text.count("☆") + text.count("✩")
            if total == 0:
                return None
            number, best = float(filled), float(max(5, total))
        else:
            m = _RATING_RE.fullmatch(text)
            if m is None:
                return None
            number = _num(m.group("v"))
            if m.group("pct"):
                best = 100.0
            elif m.group("s"):
                best = _num(m.group("s"))
    else:
        return None
    if best is None or isinstance(best, bool):
        return None
    try:
        best = float(best)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(number) and math.isfinite(best)) or best <= 0:
        return None
    if number < 0 or number > best or (worst is not None and number < worst):
        return None
    return round(number / best * 5, 2)


# ---------------------------------------------------------------------------
# parse_count
# ---------------------------------------------------------------------------

_COUNT_RE = re.compile(
    r"(?P<neg>-\s*)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<unit>千万|百万|万|萬|亿|億|千|[kmbw](?![a-z]))?"
)
_COUNT_UNITS = {
    None: 1, "k": 10**3, "千": 10**3, "w": 10**4, "万": 10**4, "萬": 10**4,
    "m": 10**6, "百万": 10**6, "千万": 10**7, "亿": 10**8, "億": 10**8, "b": 10**9,
}  # fmt: skip
# Labels sites render instead of "0" (Weibo shows a bare "转发" for no reposts).
_ZERO_LABELS = frozenset({
    "转发", "评论", "赞", "点赞", "收藏", "分享", "回复", "回应", "喜欢", "有用", "推荐", "like", "likes", "reply",
    "replies", "comment", "comments", "share", "shares", "retweet", "retweets", "repost",
    "reposts", "helpful", "upvote", "upvotes", "vote", "votes", "favorite", "favorites",
})  # fmt: skip


# "Ann, Bo and 3 others like this": the names shown plus the others counted.
_NAMES_AND_OTHERS_RE = re.compile(
    r"^(?P<names>[^\d\n]{1,150}?)\s*(?:,\s*)?(?:\band|&|\bund|\bet|\by|\be|\ben|\boch|\bog)\s+"
    r"(?P<others>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s*[km]?)\s+"
    r"(?:others?|more|other people|people|weitere[nr]?|andere[n]?|autres?|otros?|outros?|altri|anderen)\b"
)
_NAME_SEP_RE = re.compile(r"\s*(?:,|、|，)\s*")


def _names_and_others(text: str) -> int | None:
    m = _NAMES_AND_OTHERS_RE.match(text)
    if m is None:
        return None
    names = [n for n in _NAME_SEP_RE.split(m.group("names").strip()) if n.strip()]
    others = parse_count(m.group("others"))
    return None if others is None or not names else len(names) + others


def parse_count(raw: str | int | float | None) -> int | None:
    """Parse an engagement count as displayed ("1.2万", "1.2k", "1,234", "赞[12]", "100+",
    "Ann, Bo and 3 others" = 5: the names shown plus the others).

    None when no single non-negative number is present; 0 for a bare zero-label.
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and raw >= 0 and raw.is_integer() else None
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    if not text or len(text) > 200:
        return None
    if text in _ZERO_LABELS:
        return 0
    if (named := _names_and_others(text)) is not None:
        return named
    matches = list(_COUNT_RE.finditer(text))
    if len(matches) != 1 or matches[0].group("neg"):
        return None  # "2 of 3 found this helpful" is not one count
    num, unit = matches[0].group("num").replace(",", ""), matches[0].group("unit")
    value = float(num) * _COUNT_UNITS[unit]
    if unit is None and not value.is_integer():
        return None  # "1.5" people is nonsense; "1.5万" is fine
    return round(value)
