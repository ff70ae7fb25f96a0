"""Tests for crawlers.processors: the per-item normalisers every spider relies on."""

from __future__ import annotations

import subprocess
import sys
import time as time_mod
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawlers.processors import clean_text, normalise_rating, parse_count, parse_datetime

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def sh(*args: int) -> datetime:
    """An instant given as Asia/Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ---------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   \n\t  ", ""),
        ("plain text", "plain text"),
        # entities
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("1 &lt; 2 &gt; 0", "1 < 2 > 0"),
        ("&#x4e2d;&#25991;", "中文"),
        ("a&nbsp;b", "a b"),
        ("AT&T &copy; 2026", "AT&T © 2026"),
        ("&quot;quoted&quot; &#39;single&#39;", "\"quoted\" 'single'"),
        ("<p>R&amp;D &hellip;</p>", "R&D …"),
        # tags that break lines
        ("<p>Hello</p><p>World</p>", "Hello\nWorld"),
        ("a<br>b<br/>c<BR />d<br >e", "a\nb\nc\nd\ne"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        ("<ul><li>one</li><li>two</li></ul>after", "one\ntwo\nafter"),
        ("<h1>Title</h1>body<h3>Sub</h3>", "Title\nbody\nSub"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<P>Upper</P><DIV>case</DIV>", "Upper\ncase"),
        # inline tags vanish without adding spaces
        ("<b>bold</b><i>italic</i> <span>span</span>", "bolditalic span"),
        ('<a href="https://weibo.com/n/x">@someone</a>: hi', "@someone: hi"),
        ("<div class=\"a\"id='b'>attrs without space</div>", "attrs without space"),
        ("<p title='<b>not a tag</b>'>z</p>", "z"),
        ("<o:p>office</o:p> <my-widget>custom</my-widget>", "office custom"),
        # images become their alt text (Weibo emoticons)
        ('<img alt="[哈哈]" src="h.png">', "[哈哈]"),
        ('真好笑<img src="x.png" alt="[哈哈]" />', "真好笑[哈哈]"),
        ("<img src=x alt=[嘻嘻]>ok", "[嘻嘻]ok"),
        ('<img alt="a &amp; b">', "a & b"),
        ('<img src="no-alt.png">text', "text"),
        ('<span class="url-icon"><img alt="[doge]"></span>', "[doge]"),
        # hidden content
        ("<script>alert(1)</script>ok", "ok"),
        ("<SCRIPT type='text/javascript'>var a = '<p>';</SCRIPT>ok", "ok"),
        ("<style>p { color: red }</style>styled", "styled"),
        ("<noscript><p>enable js</p></noscript>shown", "shown"),
        ("<template><b>tpl</b></template>shown", "shown"),
        ("<svg><title>icon</title><path d='M0'/></svg>text", "text"),
        ("<script src=x.js />after", "after"),
        ("before<script>never closed <p>x</p>", "before"),
        ("<!-- comment -->x<!DOCTYPE html>y<?xml version='1.0'?>z", "xyz"),
        ("<![CDATA[cdata text]]>", "cdata text"),
        # escaped markup is user text: decoded, never dropped or evaluated
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"),
        ("&lt;b&gt;not bold&lt;/b&gt;", "<b>not bold</b>"),
        ("&amp;lt;", "&lt;"),
        # stray "<" in plain text survives
        ("I <3 it", "I <3 it"),
        ("a < b and c > d", "a < b and c > d"),
        ("价格<100元", "价格<100元"),
        ("I </3 you > everything", "I </3 you > everything"),
        ("x<y>z", "x<y>z"),
        ("mail <john@example.com>", "mail <john@example.com>"),
        ("<bfoo>", "<bfoo>"),
        ("ends with <", "ends with <"),
        ("a <b", "a <b"),
        ("<<<>>>", "<<<>>>"),
        ("wow <!-- unclosed", "wow <!-- unclosed"),
        ("<3 &amp; <3", "<3 & <3"),
        # whitespace and line handling
        ("line1\r\nline2\rline3\nline4", "line1\nline2\nline3\nline4"),
        ("a\u00a0b\u3000c\u2002d\u202fe", "a b c d e"),
        ("a \t  b\t\tc", "a b c"),
        ("  padded  \n  lines  ", "padded\nlines"),
        ("\n\n\npara1\n\n\n\npara2\n \n\t\npara3\n\n", "para1\npara2\npara3"),
        ("<p>\n  <b>x</b>\n</p>\n\n<p>y</p>", "x\ny"),
        ("a\fb\vc\u2028d\u2029e\x85f", "a\nb\nc\nd\ne\nf"),
        # invisible / control characters
        ("a\u200bb\u200cc\u200dd\ufeffe\u2060f", "abcdef"),
        ("\ufeffBOM at start", "BOM at start"),
        ("soft\u00adhyphen", "softhyphen"),
        ("ctl\x00\x01\x07\x1b\x7f\x80\x9fchars", "ctlchars"),
        ("tab\tkept as space", "tab kept as space"),
        # Unicode: NFC, not NFKC
        ("e\u0301", "\u00e9"),
        ("你好，世界！（测试）「引号」", "你好，世界！（测试）「引号」"),
        ("ＡＢＣ１２３", "ＡＢＣ１２３"),
        ("喆堃 镕 昇", "喆堃 镕 昇"),
        ("<p>喆堃的店&nbsp;👍</p>", "喆堃的店 👍"),
        ("😀 emoji 😀", "😀 emoji 😀"),
    ],
)
def test_clean_text(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_weibo_status() -> None:
    raw = (
        '今天去了<a href="/n/某店">@某店</a> 真不错<img alt="[赞]" src="//face/zan.png">'
        '<br />排队1小时&hellip;<br /><br /><span class="surl-text">网页链接</span>'
    )
    assert clean_text(raw) == "今天去了@某店 真不错[赞]\n排队1小时…\n网页链接"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"bytes &amp; more", "bytes & more"),
        (bytearray("中文".encode()), "中文"),
        (12, "12"),
        (4.5, "4.5"),
    ],
)
def test_clean_text_non_string_input(raw: object, expected: str) -> None:
    assert clean_text(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        "<a" * 100_000,
        "</" * 100_000,
        "<?" * 100_000,
        "<!" * 100_000,
        "<!--" * 50_000,
        "<![CDATA[" * 30_000,
        '<a x="' * 50_000,
        "<a " + "x " * 100_000,
        "<" * 200_000,
        "&" * 200_000,
        "<b>x</b>" * 50_000,
        "<script>" * 50_000,
        "字" * 1_000_000,
    ],
    ids=lambda s: repr(s[:12]),
)
def test_clean_text_hostile_input_is_linear(raw: str) -> None:
    start = time_mod.perf_counter()
    result = clean_text(raw)
    assert isinstance(result, str)
    assert time_mod.perf_counter() - start < 2.0


def test_clean_text_output_is_stable_for_plain_text() -> None:
    once = clean_text("<p>第一段</p>\n\n<p>第二段  with   spaces</p>")
    assert clean_text(once) == once == "第一段\n第二段 with spaces"


# ---------------------------------------------------------------------------
# parse_datetime
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # ISO 8601
        ("2026-11-20T14:32:00+08:00", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T06:32:00Z", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T06:32:00z", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T06:32:00.123456Z", sh(2026, 11, 20, 14, 32, 0, 123456)),
        ("2026-11-20T06:32:00.5Z", sh(2026, 11, 20, 14, 32, 0, 500000)),
        ("2026-11-20T06:32:00.123456789+00:00", sh(2026, 11, 20, 14, 32, 0, 123456)),
        ("2026-11-20T01:32:00-05:00", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T14:32:00+0800", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T14:32:00+08", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20T14:32:00", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20", sh(2026, 11, 20)),
        ("2026-11-20T14:32:00+08:00[Asia/Shanghai]", sh(2026, 11, 20, 14, 32)),
        # common numeric layouts
        ("2026-11-20 14:32", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20 14:32:10", sh(2026, 11, 20, 14, 32, 10)),
        ("2026/11/20 14:32", sh(2026, 11, 20, 14, 32)),
        ("2026/11/20", sh(2026, 11, 20)),
        ("2026.11.20", sh(2026, 11, 20)),
        ("2026-1-5 9:05", sh(2026, 1, 5, 9, 5)),
        ("2026-11-20 06:32 UTC", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20 14:32 GMT+8", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20 2:32 pm", sh(2026, 11, 20, 14, 32)),
        ("2026-11", sh(2026, 11, 1)),
        ("20.11.2026", sh(2026, 11, 20)),
        ("13/04/2026", sh(2026, 4, 13)),
        ("04/13/2026", sh(2026, 4, 13)),
        ("13/04/2026 14:32", sh(2026, 4, 13, 14, 32)),
        # Chinese absolute
        ("2026年11月20日", sh(2026, 11, 20)),
        ("2026年11月20日 14:32", sh(2026, 11, 20, 14, 32)),
        ("2026年11月20日14:32", sh(2026, 11, 20, 14, 32)),
        ("2026年11月20日 14时32分", sh(2026, 11, 20, 14, 32)),
        ("2026年11月20日 14时32分10秒", sh(2026, 11, 20, 14, 32, 10)),
        ("2026年11月20日 14点", sh(2026, 11, 20, 14, 0)),
        ("2026年11月20日 下午2:32", sh(2026, 11, 20, 14, 32)),
        ("2026年11月20日 上午9:05", sh(2026, 11, 20, 9, 5)),
        ("2026年11月20日 星期五 14:32", sh(2026, 11, 20, 14, 32)),
        ("2026年11月20号", sh(2026, 11, 20)),
        ("2026 年 11 月 20 日", sh(2026, 11, 20)),
        ("２０２６年１１月２０日　１４：３２", sh(2026, 11, 20, 14, 32)),
        ("2026年11月", sh(2026, 11, 1)),
        # year-less (current year, in tz)
        ("11-20", sh(2026, 11, 20)),
        ("11-20 14:32", sh(2026, 11, 20, 14, 32)),
        ("11月20日", sh(2026, 11, 20)),
        ("11月20日 14:32", sh(2026, 11, 20, 14, 32)),
        ("11月20日 14时32分", sh(2026, 11, 20, 14, 32)),
        ("11/20", sh(2026, 11, 20)),
        ("01-05", sh(2026, 1, 5)),
        # Chinese relative
        ("刚刚", NOW),
        ("刚才", NOW),
        ("30秒前", NOW - timedelta(seconds=30)),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("5分前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("3个小时前", NOW - timedelta(hours=3)),
        ("2天前", NOW - timedelta(days=2)),
        ("2日前", NOW - timedelta(days=2)),
        ("1周前", NOW - timedelta(weeks=1)),
        ("3个月前", NOW - timedelta(days=90)),
        ("1年前", NOW - timedelta(days=365)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("半个小时前", NOW - timedelta(minutes=30)),
        ("1个半小时前", NOW - timedelta(minutes=90)),
        ("一小时前", NOW - timedelta(hours=1)),
        ("两天前", NOW - timedelta(days=2)),
        ("十五分钟前", NOW - timedelta(minutes=15)),
        ("二十三分钟前", NOW - timedelta(minutes=23)),
        ("今天 14:32", sh(2026, 11, 23, 14, 32)),
        ("今天14:32", sh(2026, 11, 23, 14, 32)),
        ("今天", sh(2026, 11, 23)),
        ("昨天 14:32", sh(2026, 11, 22, 14, 32)),
        ("昨天 14时32分", sh(2026, 11, 22, 14, 32)),
        ("昨天下午2:32", sh(2026, 11, 22, 14, 32)),
        ("昨天 晚上 9:00", sh(2026, 11, 22, 21, 0)),
        ("昨天", sh(2026, 11, 22)),
        ("前天 14:32", sh(2026, 11, 21, 14, 32)),
        ("大前天", sh(2026, 11, 20)),
        # prefixes, surrounding whitespace and trailing text
        ("发布于 3小时前", NOW - timedelta(hours=3)),
        ("发表于 2026-11-20 14:32", sh(2026, 11, 20, 14, 32)),
        ("编辑于 昨天 14:32", sh(2026, 11, 22, 14, 32)),
        ("更新于2026年11月20日", sh(2026, 11, 20)),
        ("于 11-20 14:32", sh(2026, 11, 20, 14, 32)),
        ("发布时间：2026-11-20 14:32", sh(2026, 11, 20, 14, 32)),
        ("最后编辑于 5分钟前", NOW - timedelta(minutes=5)),
        ("  \t 3小时前 \n", NOW - timedelta(hours=3)),
        ("1小时前 来自 iPhone", NOW - timedelta(hours=1)),
        ("1小时前 来自 iPhone 15 Pro", NOW - timedelta(hours=1)),
        ("3分钟前发布", NOW - timedelta(minutes=3)),
        ("刚刚 来自 微博 weibo.com", NOW),
        ("11-20 14:32 来自 HUAWEI Mate 60", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20 14:32 · 北京", sh(2026, 11, 20, 14, 32)),
        ("2026-11-20 14:32 IP属地：北京", sh(2026, 11, 20, 14, 32)),
        ("(2026-11-20)", sh(2026, 11, 20)),
        # English relative
        ("just now", NOW),
        ("now", NOW),
        ("Just Now", NOW),
        ("a moment ago", NOW),
        ("30 seconds ago", NOW - timedelta(seconds=30)),
        ("a minute ago", NOW - timedelta(minutes=1)),
        ("5 minutes ago", NOW - timedelta(minutes=5)),
        ("5 mins ago", NOW - timedelta(minutes=5)),
        ("5 min ago", NOW - timedelta(minutes=5)),
        ("5m ago", NOW - timedelta(minutes=5)),
        ("an hour ago", NOW - timedelta(hours=1)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("3h ago", NOW - timedelta(hours=3)),
        ("2 hrs ago", NOW - timedelta(hours=2)),
        ("half an hour ago", NOW - timedelta(minutes=30)),
        ("about an hour ago", NOW - timedelta(hours=1)),
        ("a day ago", NOW - timedelta(days=1)),
        ("3 days ago", NOW - timedelta(days=3)),
        ("2d ago", NOW - timedelta(days=2)),
        ("a few minutes ago", NOW - timedelta(minutes=3)),
        ("2 weeks ago", NOW - timedelta(weeks=2)),
        ("1w ago", NOW - timedelta(weeks=1)),
        ("1 month ago", NOW - timedelta(days=30)),
        ("a month ago", NOW - timedelta(days=30)),
        ("a year ago", NOW - timedelta(days=365)),
        ("2 years ago", NOW - timedelta(days=730)),
        ("Posted 3 days ago", NOW - timedelta(days=3)),
        ("3 days ago · Edited", NOW - timedelta(days=3)),
        ("yesterday", sh(2026, 11, 22)),
        ("Yesterday at 2:32 PM", sh(2026, 11, 22, 14, 32)),
        ("today", sh(2026, 11, 23)),
        ("today, 09:15", sh(2026, 11, 23, 9, 15)),
        # English absolute
        ("Nov 20, 2026", sh(2026, 11, 20)),
        ("Nov. 20, 2026", sh(2026, 11, 20)),
        ("November 20, 2026", sh(2026, 11, 20)),
        ("November 20th, 2026", sh(2026, 11, 20)),
        ("Sept 3, 2026", sh(2026, 9, 3)),
        ("20 November 2026", sh(2026, 11, 20)),
        ("20 Nov 2026", sh(2026, 11, 20)),
        ("20-Nov-2026", sh(2026, 11, 20)),
        ("20th of November, 2026", sh(2026, 11, 20)),
        ("Thursday, November 20, 2026", sh(2026, 11, 20)),
        ("November 20, 2026 at 2:32 PM", sh(2026, 11, 20, 14, 32)),
        ("Reviewed 20 November 2026", sh(2026, 11, 20)),
        ("Reviewed November 20, 2026", sh(2026, 11, 20)),
        ("Reviewed in the United States on November 20, 2026", sh(2026, 11, 20)),
        ("Written November 20, 2026", sh(2026, 11, 20)),
        ("Date of stay: November 2026", sh(2026, 11, 1)),
        ("Date of experience: October 2026", sh(2026, 10, 1)),
        ("Posted on Nov 20, 2026", sh(2026, 11, 20)),
        ("November 2026", sh(2026, 11, 1)),
        ("Nov 20", sh(2026, 11, 20)),
        ("20 Nov", sh(2026, 11, 20)),
        # RFC 822 / 2822 (RSS)
        ("Thu, 20 Nov 2026 14:32:00 +0000", utc(2026, 11, 20, 14, 32)),
        ("Thu, 20 Nov 2026 14:32:00 GMT", utc(2026, 11, 20, 14, 32)),
        ("Thu, 20 Nov 2026 14:32:00 -0500", utc(2026, 11, 20, 19, 32)),
        ("Thu, 20 Nov 2026 14:32:00 +0800", utc(2026, 11, 20, 6, 32)),
        ("Thu, 20 Nov 2026 14:32:00 -0000", utc(2026, 11, 20, 14, 32)),
        ("Thu, 20 Nov 2026 14:32:00 EST", utc(2026, 11, 20, 19, 32)),
        ("20 Nov 2026 14:32 +0000", utc(2026, 11, 20, 14, 32)),
        ("Thu, 20 Nov 2026 14:32:00", sh(2026, 11, 20, 14, 32)),
        # Weibo API / Java Date.toString()
        ("Tue Nov 22 10:00:00 +0800 2026", sh(2026, 11, 22, 10, 0)),
        ("Sun Nov 22 02:00:00 +0000 2026", sh(2026, 11, 22, 10, 0)),
        ("Fri Nov 20 14:32:00 CST 2026", sh(2026, 11, 20, 14, 32)),
    ],
)
def test_parse_datetime_strings(raw: str, expected: datetime) -> None:
    result = parse_datetime(raw, now=NOW)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1763620320, utc(2025, 11, 20, 6, 32)),
        (1763620320.5, utc(2025, 11, 20, 6, 32, 0, 500000)),
        (1763620320123, utc(2025, 11, 20, 6, 32, 0, 123000)),
        ("1763620320", utc(2025, 11, 20, 6, 32)),
        ("1763620320123", utc(2025, 11, 20, 6, 32, 0, 123000)),
        (" 1763620320 ", utc(2025, 11, 20, 6, 32)),
        ("1763620320.25", utc(2025, 11, 20, 6, 32, 0, 250000)),
        (datetime(2026, 11, 20, 14, 32), sh(2026, 11, 20, 14, 32)),
        (datetime(2026, 11, 20, 6, 32, tzinfo=UTC), utc(2026, 11, 20, 6, 32)),
        (datetime(2026, 11, 20, 14, 32, tzinfo=SHANGHAI), sh(2026, 11, 20, 14, 32)),
        (date(2026, 11, 20), sh(2026, 11, 20)),
    ],
)
def test_parse_datetime_epochs_and_objects(raw: object, expected: datetime) -> None:
    result = parse_datetime(raw, now=NOW)  # type: ignore[arg-type]
    assert result == expected
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "garbage",
        "nowhere",
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "2025-02-29",
        "0000-00-00 00:00:00",
        "2026-11-20 25:00",
        "2026-11-20 14:60",
        "2026-11-20 14:32:99",
        "2026-11-2099",
        "2026-11-20 9999",
        "2026-11-20T14:32:00+99:00",
        "03/04/2026",
        "13-13",
        "11月32日",
        "Feb 30, 2026",
        "Thu, 30 Feb 2026 14:32:00 +0000",
        "Mon Feb 30 10:00:00 +0800 2026",
        "天前",
        "ago",
        "5 parsecs ago",
        "123456789",
        "12345678901",
        "12345678901234",
        "-1763620320",
        "3小时前" * 100,
        "2026-11-20 " + "x" * 300,
        "x" * 100_000,
        "1" * 100_000,
        0,
        -1,
        10**20,
        float("nan"),
        float("inf"),
        float("-inf"),
        True,
        False,
        b"2026-11-20",
        [2026, 11, 20],
        {"date": "2026-11-20"},
        object(),
        "9" * 13 + "0",
        "99999999999999999 years ago",
        "\x00\x01",
        "<script>alert(1)</script>",
    ],
    ids=lambda v: repr(v)[:30],
)
def test_parse_datetime_rejects_bad_input(raw: object) -> None:
    assert parse_datetime(raw, now=NOW) is None  # type: ignore[arg-type]


def test_parse_datetime_requires_aware_now() -> None:
    with pytest.raises(ValueError):
        parse_datetime("2026-11-20", now=datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError):
        parse_datetime(None, now=datetime(2026, 11, 23, 10, 0))


def test_parse_datetime_now_must_be_a_datetime() -> None:
    with pytest.raises(TypeError):
        parse_datetime("2026-11-20", now="2026-11-23T10:00:00+08:00")  # type: ignore[arg-type]


def test_parse_datetime_unknown_zone_is_caller_error() -> None:
    with pytest.raises(ValueError):
        parse_datetime("2026-11-20", now=NOW, tz="Mars/Olympus_Mons")


def test_parse_datetime_accepts_tzinfo_object() -> None:
    assert parse_datetime("2026-11-20 14:32", now=NOW, tz=UTC) == utc(2026, 11, 20, 14, 32)
    plus9 = timezone(timedelta(hours=9))
    assert parse_datetime("昨天 10:00", now=NOW, tz=plus9) == datetime(
        2026, 11, 22, 10, 0, tzinfo=plus9
    )


def test_parse_datetime_now_in_other_zone_is_converted() -> None:
    now_utc = NOW.astimezone(UTC)  # 02:00 UTC, 10:00 in Shanghai
    assert parse_datetime("昨天 14:32", now=now_utc) == sh(2026, 11, 22, 14, 32)
    assert parse_datetime("3小时前", now=now_utc) == NOW - timedelta(hours=3)


# --- boundaries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11-23 23:59", sh(2026, 11, 23, 23, 59)),  # later today: same year
        ("11-24", sh(2026, 11, 24)),  # 14h ahead: clock skew tolerated
        ("11-24 10:00", sh(2026, 11, 24, 10, 0)),  # exactly +1 day: still this year
        ("11-24 10:01", sh(2025, 11, 24, 10, 1)),  # more than +1 day: last year
        ("11-25", sh(2025, 11, 25)),
        ("12-20", sh(2025, 12, 20)),
        ("12月31日 23:59", sh(2025, 12, 31, 23, 59)),
        ("Dec 25", sh(2025, 12, 25)),
        ("25 Dec", sh(2025, 12, 25)),
        ("01-01", sh(2026, 1, 1)),
    ],
)
def test_parse_datetime_yearless_rolls_back_when_in_future(raw: str, expected: datetime) -> None:
    assert parse_datetime(raw, now=NOW) == expected


def test_parse_datetime_yearless_around_new_year() -> None:
    now = sh(2027, 1, 1, 0, 30)
    assert parse_datetime("12-31 23:50", now=now) == sh(2026, 12, 31, 23, 50)
    assert parse_datetime("01-01 00:10", now=now) == sh(2027, 1, 1, 0, 10)
    assert parse_datetime("昨天 23:50", now=now) == sh(2026, 12, 31, 23, 50)


def test_parse_datetime_yearless_leap_day() -> None:
    # 2029 has no Feb 29; a year-less "02-29" seen in Jan 2029 is from 2028.
    assert parse_datetime("02-29", now=sh(2029, 1, 10)) == sh(2028, 2, 29)
    assert parse_datetime("02-29", now=sh(2028, 3, 1)) == sh(2028, 2, 29)


def test_parse_datetime_calendar_words_use_site_zone_after_midnight() -> None:
    # 00:30 in Shanghai is still the previous day in UTC (16:30Z on the 22nd).
    now = sh(2026, 11, 23, 0, 30)
    assert now.astimezone(UTC).day == 22
    assert parse_datetime("昨天", now=now) == sh(2026, 11, 22)
    assert parse_datetime("昨天 23:59", now=now) == sh(2026, 11, 22, 23, 59)
    assert parse_datetime("今天 00:10", now=now) == sh(2026, 11, 23, 0, 10)
    assert parse_datetime("yesterday", now=now) == sh(2026, 11, 22)
    assert parse_datetime("前天", now=now) == sh(2026, 11, 21)
    assert parse_datetime("1小时前", now=now) == sh(2026, 11, 22, 23, 30)


@pytest.mark.parametrize(
    ("raw", "shanghai_utc", "berlin_utc"),
    [
        # winter: Berlin is UTC+1
        ("2026-01-15 12:00", utc(2026, 1, 15, 4, 0), utc(2026, 1, 15, 11, 0)),
        # summer: Berlin is UTC+2 (DST); Shanghai has no DST
        ("2026-07-01 12:00", utc(2026, 7, 1, 4, 0), utc(2026, 7, 1, 10, 0)),
        ("2026年7月1日", utc(2026, 6, 30, 16, 0), utc(2026, 6, 30, 22, 0)),
        ("Jul 1, 2026 at 12:00", utc(2026, 7, 1, 4, 0), utc(2026, 7, 1, 10, 0)),
        (datetime(2026, 7, 1, 12, 0), utc(2026, 7, 1, 4, 0), utc(2026, 7, 1, 10, 0)),
        # explicit offsets ignore the site zone
        ("2026-07-01T12:00:00+08:00", utc(2026, 7, 1, 4, 0), utc(2026, 7, 1, 4, 0)),
        ("Wed, 01 Jul 2026 12:00:00 +0000", utc(2026, 7, 1, 12), utc(2026, 7, 1, 12)),
    ],
)
def test_parse_datetime_naive_values_use_site_zone(
    raw: str | datetime, shanghai_utc: datetime, berlin_utc: datetime
) -> None:
    assert parse_datetime(raw, now=NOW, tz="Asia/Shanghai") == shanghai_utc
    assert parse_datetime(raw, now=NOW, tz="Europe/Berlin") == berlin_utc
    assert parse_datetime(raw, now=NOW, tz=BERLIN) == berlin_utc


def test_parse_datetime_day_words_across_dst_change() -> None:
    # EU DST ended 2026-10-25 03:00 CEST; each calendar day keeps its own offset.
    now = datetime(2026, 10, 26, 12, 0, tzinfo=BERLIN)
    assert parse_datetime("昨天 12:00", now=now, tz="Europe/Berlin") == utc(2026, 10, 25, 11, 0)
    assert parse_datetime("前天 12:00", now=now, tz="Europe/Berlin") == utc(2026, 10, 24, 10, 0)
    assert parse_datetime("yesterday", now=now, tz="Europe/Berlin") == utc(2026, 10, 24, 22, 0)
    # relative durations are exact elapsed time, not wall-clock arithmetic
    # (aware ZoneInfo arithmetic would be wall-clock: 10:00Z, one hour off)
    two_days = parse_datetime("2 days ago", now=now, tz="Europe/Berlin")
    assert two_days == now.astimezone(UTC) - timedelta(days=2) == utc(2026, 10, 24, 11, 0)


def test_parse_datetime_cst_depends_on_site_zone() -> None:
    raw = "Fri Nov 20 14:32:00 CST 2026"
    assert parse_datetime(raw, now=NOW, tz="Asia/Shanghai") == utc(2026, 11, 20, 6, 32)
    assert parse_datetime(raw, now=NOW, tz="America/Chicago") == utc(2026, 11, 20, 20, 32)
    rss = "Fri, 20 Nov 2026 14:32:00 CST"
    assert parse_datetime(rss, now=NOW, tz="Asia/Shanghai") == utc(2026, 11, 20, 6, 32)
    assert parse_datetime(rss, now=NOW, tz="America/Chicago") == utc(2026, 11, 20, 20, 32)


def test_parse_datetime_huge_input_is_fast() -> None:
    start = time_mod.perf_counter()
    for raw in ("3小时前" + "x" * 200, "<a" * 120, "2026-" * 50, "1" * 1_000_000):
        parse_datetime(raw, now=NOW)
    assert time_mod.perf_counter() - start < 0.5


# ---------------------------------------------------------------------------
# normalise_rating
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (4, 5, 4.0),
        (4.5, 5, 4.5),
        ("4", 5, 4.0),
        ("8", 10, 4.0),
        ("8.0", 10, 4.0),
        (8, 10, 4.0),
        ("4,5", 5, 4.5),
        ("4.5/5", 5, 4.5),
        ("4.5/5", 10, 4.5),  # the scale in the string wins
        ("8.2 / 10", 5, 4.1),
        ("8.2/10", None, 4.1),
        ("7,5/10", 5, 3.75),
        ("4 out of 5", 5, 4.0),
        ("4.5 out of 5 stars", None, 4.5),
        ("40", 50, 4.0),  # Dianping
        (45, 50, 4.5),
        ("★★★★☆", 5, 4.0),
        ("★★★☆☆", 10, 3.0),  # stars carry their own scale
        ("★★★★★", None, 5.0),
        ("★★★", 5, 3.0),
        ("★★★★★★★★☆☆", 5, 4.0),  # ten-star widget
        ("⭐⭐⭐⭐", 5, 4.0),
        ("80%", 5, 4.0),
        ("100 %", None, 5.0),
        ("4.5分", 5, 4.5),
        ("4星", 5, 4.0),
        ("Rating: 4/5", 5, 4.0),
        ("评分：8.6", 10, 4.3),
        ("４．５", 5, 4.5),
        (" 3 ", 5, 3.0),
        (0, 5, 0.0),
        (5, 5, 5.0),
        (10, 10, 5.0),
        (1, 3, 1.67),
        (2, 3, 3.33),
    ],
)
def test_normalise_rating(value: str | float, scale: float | None, expected: float) -> None:
    assert normalise_rating(value, scale) == expected


@pytest.mark.parametrize(
    ("value", "scale"),
    [
        (None, 5),
        ("", 5),
        ("   ", 5),
        ("abc", 5),
        ("four", 5),
        ("-1", 5),
        (-0.5, 5),
        (6, 5),
        ("11/10", 5),
        ("120%", 5),
        ("55", 50 - 1),
        (4, 0),
        (4, -5),
        ("4/0", 5),
        (4, None),  # no scale anywhere
        ("4", None),
        (float("nan"), 5),
        (float("inf"), 5),
        (4, float("nan")),
        (4, float("inf")),
        (True, 5),
        ([4], 5),
        ("\ufe0f", 5),
        ("4.5.1", 5),
        ("1e3", 5000),
        ("4" * 100, 5),
    ],
)
def test_normalise_rating_rejects(value: object, scale: float | None) -> None:
    assert normalise_rating(value, scale) is None  # type: ignore[arg-type]


def test_normalise_rating_empty_stars_are_zero() -> None:
    assert normalise_rating("☆☆☆☆☆") == 0.0


def test_normalise_rating_worst_only_rejects() -> None:
    # worst does not rescale: 1 on a 1-5 widget is still one star
    assert normalise_rating(1, 5, worst=1) == 1.0
    assert normalise_rating(3, 5, worst=1) == 3.0
    assert normalise_rating(0, 5, worst=1) is None
    assert normalise_rating("0.5", 5, worst=1) is None
    assert normalise_rating(2, 10, worst=2) == 1.0


def test_normalise_rating_default_scale_is_five() -> None:
    assert normalise_rating("3.5") == 3.5
    assert normalise_rating(6) is None


# ---------------------------------------------------------------------------
# parse_count
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        (0, 0),
        (12.0, 12),
        ("12", 12),
        ("0", 0),
        (" 12 ", 12),
        ("1,234", 1234),
        ("1,234,567", 1234567),
        ("1.2万", 12000),
        ("1.2萬", 12000),
        ("10万", 100000),
        ("10万+", 100000),
        ("1.2w", 12000),
        ("3.4亿", 340000000),
        ("1.2k", 1200),
        ("1.2K", 1200),
        ("1.25k", 1250),
        ("12K+ likes", 12000),
        ("2M", 2000000),
        ("2.5m", 2500000),
        ("1B", 1000000000),
        ("赞[12]", 12),
        ("转发 5", 5),
        ("评论(3)", 3),
        ("评论（3）", 3),
        ("100+", 100),
        ("999+ comments", 999),
        ("12 likes", 12),
        ("Like 12", 12),
        ("１２", 12),
        ("转发", 0),
        ("评论", 0),
        ("赞", 0),
        ("Like", 0),
        ("like", 0),
        ("Reply", 0),
        (" 转发 ", 0),
        ("Comments", 0),
    ],
)
def test_parse_count(raw: str | int | float, expected: int) -> None:
    result = parse_count(raw)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "nonsense",
        "转发转发",
        "-5",
        "赞 -3",
        -1,
        -0.5,
        1.5,
        "1.5",
        float("nan"),
        float("inf"),
        True,
        [12],
        b"12",
        "2 of 3 people found this helpful",
        "1 234",
        "12" * 200,
    ],
    ids=lambda v: repr(v)[:30],
)
def test_parse_count_rejects(raw: object) -> None:
    assert parse_count(raw) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# module hygiene
# ---------------------------------------------------------------------------


def test_module_imports_without_scrapy() -> None:
    code = (
        "import sys, crawlers.processors\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'scrapy', 'twisted', 'bs4', 'lxml'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
