"""The sandbox serves what its truth says, over real HTTP, with the promised quirks."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from statistics import mean
from urllib.parse import quote, urlsplit

import pytest

from vocwatch.sandbox import SANDBOX_LOCATIONS, Sandbox, TrueMention, weibo_created_at

SH = timezone(timedelta(hours=8))
FIXED_NOW = datetime(2026, 11, 20, 6, 32, 17, tzinfo=UTC)  # 14:32 in Shanghai
HOTELS = ("h1001", "h1002", "h1003", "h1004", "h2001", "h2002", "h2003")
SKUS = ("100012345", "100012346", "100022345", "100022346")
WEIBO_KEYWORDS = ("港湾酒店外滩", "莲花客栈外滩")
FORUM_SOURCE = "/forum/search?kw=港湾酒店"
RSS_SOURCE = "/feeds/shanghai-hotels.rss"
GBK_ONLY = set("喆堃珺玥镕體驗還錯態務")


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7) as sandbox:
        yield sandbox


def fetch(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def get_json(url: str) -> dict:
    status, headers, body = fetch(url)
    assert status == 200, (url, status)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(body)


def normal(text: str) -> str:
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class _Text(HTMLParser):
    """Reader's view of an HTML fragment: breaks become newlines, emoticons their alt."""

    BLOCKS = frozenset({"p", "div", "li", "br"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "img":
            self.parts.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return normal("".join(parser.parts))


def one(pattern: str, text: str) -> str:
    m = re.search(pattern, text, re.S)
    assert m, pattern
    return m.group(1)


def sh_local(text: str, fmt: str) -> datetime:
    return datetime.strptime(text, fmt).replace(tzinfo=SH).astimezone(UTC)


# --------------------------------------------------------------------------- basics
def test_robots_txt(sb: Sandbox) -> None:
    status, headers, body = fetch(sb.base_url + "/robots.txt")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert body.decode().splitlines() == ["User-agent: *", "Disallow: /forum/private/"]


def test_locations_table() -> None:
    assert len(SANDBOX_LOCATIONS) == 11
    keys = {"id", "name", "brand", "category", "lat", "lon", "address", "region", "role"}
    assert all(set(loc) == keys and loc["address"] for loc in SANDBOX_LOCATIONS)
    by_id = {loc["id"]: loc for loc in SANDBOX_LOCATIONS}
    assert by_id["harbor-sh-bund"]["lat"] == 31.2397
    assert by_id["kopi-hz-hubin"]["role"] == "competitor"
    assert sum(loc["role"] == "own" for loc in SANDBOX_LOCATIONS) == 4


@pytest.mark.parametrize("path", [
    "/hotels/h9999/reviews", "/hotels/h1001/reviews/", "/hotels/h1001/reviews?page=99",
    "/hotels/h1001/reviews?page=0", "/forum/thread/1", "/forum/thread/3018841?page=3",
    "/blog/posts/nope", "/feeds/other.rss", "/api/mall/comments?productId=1",
])
def test_unknown_paths_are_404(sb: Sandbox, path: str) -> None:
    status, headers, _ = fetch(sb.base_url + path)
    assert status == 404
    assert headers["Content-Type"]


def test_request_log_records_exact_path_and_status(sb: Sandbox) -> None:
    path = "/hotels/h1003/reviews?page=2&utm=x"
    fetch(sb.base_url + path)
    fetch(sb.base_url + "/nowhere?a=1")
    records = {r.path: r for r in sb.request_log[-2:]}
    assert records[path].status == 200
    assert records["/nowhere?a=1"].status == 404
    assert records[path].at.tzinfo is not None


def test_startup_is_fast_and_context_manager_stops() -> None:
    t0 = time.perf_counter()
    with Sandbox(seed=3) as other:
        assert time.perf_counter() - t0 < 1.0
        assert other.start() == other.base_url  # idempotent
        assert fetch(other.base_url + "/robots.txt")[0] == 200
    with pytest.raises(RuntimeError):
        _ = other.base_url


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        Sandbox(now=datetime(2026, 1, 1))


# --------------------------------------------------------------------------- StayAdvisor
def _hotel_pages(sb: Sandbox, hotel_id: str) -> list[tuple[str, str]]:
    """(path, html) of every page, following rel=next links."""
    pages, path = [], f"/hotels/{hotel_id}/reviews"
    while path:
        status, headers, body = fetch(sb.base_url + path)
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        html = body.decode("utf-8")
        pages.append((path, html))
        m = re.search(r'<a rel="next" href="([^"]+)"', html)
        path = m.group(1) if m else ""
    return pages


@pytest.mark.parametrize("hotel_id", HOTELS)
def test_hotel_pages_match_truth(sb: Sandbox, hotel_id: str) -> None:
    source = f"/hotels/{hotel_id}/reviews"
    truth = sb.truth_for(source)
    assert 22 <= len(truth) <= 38
    pages = _hotel_pages(sb, hotel_id)
    assert len(pages) == (len(truth) + 9) // 10
    seen: list[str] = []
    for page_no, (_, html) in enumerate(pages, start=1):
        assert ('rel="prev"' in html) == (page_no > 1)
        ld = json.loads(one(r'<script type="application/ld\+json">(.*?)</script>', html))
        assert ld["@type"] == "Hotel"
        assert ld["address"]["@type"] == "PostalAddress"
        agg = ld["aggregateRating"]
        assert (agg["bestRating"], agg["worstRating"], agg["reviewCount"]) == (10, 1, len(truth))
        assert agg["ratingValue"] == round(mean(t.rating for t in truth), 1)
        expected = truth[(page_no - 1) * 10: page_no * 10]
        assert len(ld["review"]) == len(expected) == (10 if page_no < len(pages) else len(expected))
        articles = re.findall(r'<article class="review" id="review-([^"]+)" '
                              r'data-review-id="\1">(.*?)</article>', html, re.S)
        assert [a[0] for a in articles] == [r["identifier"] for r in ld["review"]]
        for t, r, (_, art) in zip(expected, ld["review"], articles, strict=True):
            seen.append(r["identifier"])
            assert t.url == f"{source}?page={page_no}"
            assert r["identifier"] == t.external_id
            # each review links its own page, in the card and in its JSON-LD
            assert r["url"] == t.permalink == one(r'<a class="permalink" href="([^"]+)">', art) \
                == f"{source}/{t.external_id}"
            assert r["name"] == t.title == html_text(one(r'class="review-title">(.*?)</h3>', art))
            assert r["author"]["name"] == t.author == html_text(one(r'class="reviewer">(.*?)</span>', art))
            assert datetime.fromisoformat(r["datePublished"]) == t.published_at
            assert r["datePublished"].endswith("+08:00")
            assert one(r'<time datetime="([^"]+)"', art) == r["datePublished"]
            assert r["reviewRating"]["ratingValue"] == t.rating
            assert one(r'class="score">(\d+)/10<', art) == str(int(t.rating))
            assert r["inLanguage"] == t.lang
            assert int(one(r'class="helpful-count">(\d+)<', art)) == t.likes
            body_html = one(r'<div class="review-body">(.*?)</div>', art)
            if t.text:
                assert normal(r["reviewBody"]) == t.text == html_text(body_html)
            else:  # the rating-only review
                assert "reviewBody" not in r and body_html == "" and t.text == "" and t.valid
            if t.reply_text is None:
                assert "owner-reply" not in art
            else:
                assert html_text(one(r'class="reply-text">(.*?)</p>', art)) == t.reply_text
                reply_iso = one(r'class="reply-meta">.*?datetime="([^"]+)"', art)
                assert datetime.fromisoformat(reply_iso) == t.reply_at
    assert seen == [t.external_id for t in truth]
    assert fetch(f"{sb.base_url}{source}?page={len(pages) + 1}")[0] == 404
    status, _, own = fetch(sb.base_url + truth[-1].permalink)  # a review's own page shows that review
    assert status == 200 and f'id="review-{truth[-1].external_id}"' in own.decode()
    assert own.decode().count('<article class="review"') == 1
    assert fetch(f"{sb.base_url}{source}/no-such-review")[0] == 404


def test_exactly_one_review_without_text_on_h1002_page_2(sb: Sandbox) -> None:
    """A rating-only review (stars, no words): valid, stored with text ""."""
    assert all(t.valid for t in sb.truth)
    text_less = [t for t in sb.truth if not t.text]
    assert len(text_less) == 1
    (t,) = text_less
    assert (t.site, t.url, t.text) == ("stayadvisor", "/hotels/h1002/reviews?page=2", "")
    assert t.rating is not None
    html = fetch(sb.base_url + t.url)[2].decode()
    assert f'id="review-{t.external_id}"' in html
    ld = json.loads(one(r'<script type="application/ld\+json">(.*?)</script>', html))
    (review,) = [r for r in ld["review"] if r["identifier"] == t.external_id]
    assert "reviewBody" not in review


def test_script_in_review_is_served_escaped(sb: Sandbox) -> None:
    (t,) = [t for t in sb.truth if t.text and '<script>alert("x")</script>' in t.text]
    assert t.site == "stayadvisor"
    html = fetch(sb.base_url + t.url)[2].decode()
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    script = one(r'<script type="application/ld\+json">(.*?)</script>', html)
    assert "<" not in script and "\\u003cscript\\u003e" in script


def test_text_has_html_significant_characters(sb: Sandbox) -> None:
    texts = [t.text for t in sb.truth if t.text]
    for ch in ("&", "<", '"'):
        assert sum(ch in text for text in texts) >= 2, ch
    assert any("，但是" in text for text in texts)
    assert any(" but " in text for text in texts)
    assert any("👍" in text or "😡" in text for text in texts)


# --------------------------------------------------------------------------- mall
def _mall_url(sb: Sandbox, sku: str, page: int) -> str:
    return f"{sb.base_url}/api/mall/comments?productId={sku}&page={page}&pageSize=10"


def test_mall_429_once_with_retry_after_then_reset(sb: Sandbox) -> None:
    sb.reset_faults()
    assert get_json(_mall_url(sb, "100012345", 1))["code"] == 0
    for _ in range(2):
        status, headers, body = fetch(_mall_url(sb, "100012345", 2))
        assert status == 429
        assert headers["Retry-After"] == "1"
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["code"] == 429
        assert get_json(_mall_url(sb, "100012345", 2))["page"] == 2
        assert get_json(_mall_url(sb, "100012345", 2))["page"] == 2
        sb.reset_faults()
    assert [r.status for r in sb.request_log if "productId=100012345&page=2" in r.path][-6:] == \
        [429, 200, 200, 429, 200, 200]


def test_mall_malformed_page_is_invalid_json(sb: Sandbox) -> None:
    for _ in range(2):
        status, headers, body = fetch(_mall_url(sb, "100022345", 3))
        assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
        with pytest.raises(json.JSONDecodeError):
            json.loads(body.decode("utf-8"))
        assert '"comments": [' in body.decode()
    assert get_json(_mall_url(sb, "100022345", 4))["comments"]
    flagged = [t for t in sb.truth if t.on_malformed_page]
    assert len(flagged) == 10
    assert {t.url for t in flagged} == {"/api/mall/comments?productId=100022345&page=3&pageSize=10"}


@pytest.mark.parametrize("sku", SKUS)
def test_mall_pages_match_truth(sb: Sandbox, sku: str) -> None:
    source = f"/api/mall/comments?productId={sku}"
    truth = sb.truth_for(source)
    assert 35 <= len(truth) <= 48
    first = get_json(f"{sb.base_url}{source}")  # page and pageSize default to 1 and 10
    assert first["page"] == 1 and first["productId"] == sku
    assert first["maxPage"] == (len(truth) + 9) // 10
    summary = first["summary"]
    assert summary["commentCount"] == len(truth)
    assert summary["averageScore"] == round(mean(t.rating for t in truth), 1)
    assert summary["poorCount"] == sum(t.rating <= 2 for t in truth)
    served: list[dict] = []
    for page in range(1, first["maxPage"] + 1):
        if (sku, page) == ("100022345", 3):
            continue
        status, _, body = fetch(_mall_url(sb, sku, page))
        if status == 429:
            status, _, body = fetch(_mall_url(sb, sku, page))
        assert status == 200
        data = json.loads(body)
        for c in data["comments"]:
            c["_url"] = f"{source}&page={page}&pageSize=10"
        served += data["comments"]
    readable = [t for t in truth if not t.on_malformed_page]
    assert [c["id"] for c in served] == [t.external_id for t in readable]
    for c, t in zip(served, readable, strict=True):
        assert re.fullmatch(r".\*\*\*.", c["nickname"]) and c["nickname"] == t.author
        assert (c["content"], float(c["score"]), t.rating_scale) == (t.text, t.rating, 5.0)
        assert sh_local(c["creationTime"], "%Y-%m-%d %H:%M:%S") == t.published_at
        assert c["usefulVoteCount"] == t.likes and c["_url"] == t.url
        assert c["url"] == t.permalink == f"/mall/comments/{t.external_id}"
        assert c["replyCount"] == len(c["replies"])
        if t.reply_text is None:
            assert c["replies"] == []
        else:
            (reply,) = c["replies"]
            assert reply["content"] == t.reply_text
            assert sh_local(reply["creationTime"], "%Y-%m-%d %H:%M:%S") == t.reply_at
    status, _, own = fetch(sb.base_url + readable[0].permalink)
    assert status == 200 and f'id="comment-{readable[0].external_id}"' in own.decode()
    beyond = get_json(_mall_url(sb, sku, first["maxPage"] + 1))
    assert beyond["code"] == 0 and beyond["comments"] == []


# --------------------------------------------------------------------------- weibo
def _weibo_url(sb: Sandbox, keyword: str, max_id: int | None) -> str:
    url = f"{sb.base_url}/weibo/api/feed?q={quote(keyword)}"
    return url if max_id is None else f"{url}&max_id={max_id}"


@pytest.mark.parametrize("keyword", WEIBO_KEYWORDS)
def test_weibo_cursor_paging_covers_truth(sb: Sandbox, keyword: str) -> None:
    sb.reset_faults()
    source = f"/weibo/api/feed?q={keyword}"
    truth = {t.external_id: t for t in sb.truth_for(source)}
    assert 25 <= len(truth) <= 32
    statuses: list[tuple[dict, datetime, datetime, str]] = []
    max_id: int | None = None
    got_503 = 0
    while True:
        before = datetime.now(UTC)
        status, headers, body = fetch(_weibo_url(sb, keyword, max_id))
        if status == 503:
            got_503 += 1
            assert max_id is not None and got_503 == 1
            continue
        after = datetime.now(UTC)
        assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
        data = json.loads(body)
        assert data["ok"] == 1 and data["data"]["total_number"] == len(truth)
        page_url = source if max_id is None else f"{source}&max_id={max_id}"
        statuses += [(s, before, after, page_url) for s in data["data"]["statuses"]]
        assert len(data["data"]["statuses"]) <= 10
        max_id = data["data"]["max_id"]
        if max_id == 0:
            break
    assert got_503 == (1 if keyword == "港湾酒店外滩" else 0)
    ids = [s["id"] for s, *_ in statuses]
    assert ids == [t.external_id for t in sb.truth_for(source)]  # newest first, no gaps
    assert all(re.fullmatch(r"\d{16}", i) for i in ids)
    assert ids == sorted(ids, reverse=True)
    for s, before, after, page_url in statuses:
        t = truth[s["id"]]
        assert html_text(s["text"]) == t.text
        assert s["user"]["screen_name"] == t.author and isinstance(s["user"]["id"], int)
        assert (s["attitudes_count"], s["reposts_count"], s["comments_count"]) == \
            (t.likes, t.reposts, t.comments)
        assert s["created_at"] in {weibo_created_at(t.published_at, before),
                                   weibo_created_at(t.published_at, after)}
        assert t.url == page_url
        assert s["url"] == t.permalink == f"/weibo/status/{t.external_id}"
        assert s["region_name"].startswith("发布于 ")
    status, _, own = fetch(sb.base_url + statuses[0][0]["url"])
    assert status == 200 and f'id="M_{statuses[0][0]["id"]}"' in own.decode()
    assert fetch(f"{sb.base_url}/weibo/status/1")[0] == 404
    texts = "".join(s["text"] for s, *_ in statuses)
    assert "<a href='/n/" in texts and 'class="url-icon"' in texts and "#</a>" in texts


def test_weibo_503_once_and_reset(sb: Sandbox) -> None:
    sb.reset_faults()
    first = get_json(_weibo_url(sb, "港湾酒店外滩", None))
    cursor = first["data"]["max_id"]
    assert fetch(_weibo_url(sb, "港湾酒店外滩", cursor))[0] == 503
    assert fetch(_weibo_url(sb, "港湾酒店外滩", cursor))[0] == 200
    sb.reset_faults()
    assert fetch(_weibo_url(sb, "港湾酒店外滩", cursor))[0] == 503
    assert fetch(_weibo_url(sb, "港湾酒店外滩", cursor))[0] == 200


def test_weibo_unknown_keyword_is_empty(sb: Sandbox) -> None:
    data = get_json(_weibo_url(sb, "不存在的关键词", None))
    assert data["data"] == {"statuses": [], "max_id": 0, "total_number": 0}


def _at(local: str) -> datetime:
    return datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SH).astimezone(UTC)


@pytest.mark.parametrize(("published", "now", "expected"), [
    ("2026-11-20 14:31:30", "2026-11-20 14:32:00", "刚刚"),
    ("2026-11-20 14:31:01", "2026-11-20 14:32:00", "刚刚"),
    ("2026-11-20 14:33:00", "2026-11-20 14:32:00", "刚刚"),  # clock skew
    ("2026-11-20 14:31:00", "2026-11-20 14:32:00", "1分钟前"),
    ("2026-11-20 13:32:01", "2026-11-20 14:32:00", "59分钟前"),
    ("2026-11-20 13:32:00", "2026-11-20 14:32:00", "1小时前"),
    ("2026-11-19 14:32:01", "2026-11-20 14:32:00", "23小时前"),
    ("2026-11-19 23:50:00", "2026-11-20 00:20:00", "30分钟前"),  # yesterday but < 1 h
    ("2026-11-19 14:32:00", "2026-11-20 14:32:00", "昨天 14:32"),
    ("2026-11-19 00:05:00", "2026-11-20 14:32:00", "昨天 00:05"),
    ("2026-11-18 23:59:00", "2026-11-20 14:32:00", "11-18"),
    ("2026-01-01 00:00:00", "2026-11-20 14:32:00", "01-01"),
    ("2025-12-31 23:00:00", "2026-11-20 14:32:00", "2025-12-31"),
    ("2025-12-31 10:00:00", "2026-01-01 12:00:00", "昨天 10:00"),  # yesterday across years
    ("2025-12-30 10:00:00", "2026-01-01 12:00:00", "2025-12-30"),
    # Shanghai calendar days, not UTC: 16:30 UTC on the 18th is already the 19th in Shanghai
    ("2026-11-19 00:30:00", "2026-11-20 10:00:00", "昨天 00:30"),
])
def test_weibo_relative_time_rules(published: str, now: str, expected: str) -> None:
    assert weibo_created_at(_at(published), _at(now)) == expected


def _weibo_kind(label: str) -> str:
    for kind, pattern in (("just", r"刚刚"), ("min", r"\d{1,2}分钟前"), ("hour", r"\d{1,2}小时前"),
                          ("yesterday", r"昨天 \d\d:\d\d"), ("mmdd", r"\d\d-\d\d"),
                          ("ymd", r"\d{4}-\d\d-\d\d")):
        if re.fullmatch(pattern, label):
            return kind
    raise AssertionError(label)


@pytest.mark.parametrize("now", [
    FIXED_NOW,
    datetime(2026, 3, 2, 16, 25, tzinfo=UTC),  # 00:25 in Shanghai: a short "yesterday" window
    datetime(2026, 3, 2, 16, 0, tzinfo=UTC),  # exactly midnight in Shanghai
    datetime(2027, 7, 9, 23, 59, 59, tzinfo=UTC),
])
def test_every_relative_time_format_appears(now: datetime) -> None:
    sandbox = Sandbox(seed=7, now=now)
    labels = [weibo_created_at(t.published_at, now + timedelta(seconds=5))
              for kw in WEIBO_KEYWORDS for t in sandbox.truth_for(f"/weibo/api/feed?q={kw}")]
    assert {_weibo_kind(label) for label in labels} == {"just", "min", "hour", "yesterday", "mmdd", "ymd"}
    recent = [t for t in sandbox.truth if t.site == "weibo" and now - t.published_at < timedelta(days=4)]
    assert len(recent) >= 40


# --------------------------------------------------------------------------- forum (GBK)
def _gb2312_garbles(body: bytes) -> bool:
    """True when decoding as GB2312 fails or yields different text than GBK."""
    try:
        return body.decode("gb2312") != body.decode("gbk")
    except UnicodeDecodeError:
        return True


def test_forum_search_lists_threads_and_private_link(sb: Sandbox) -> None:
    status, headers, body = fetch(f"{sb.base_url}/forum/search?kw={quote('港湾酒店')}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=GBK"
    html = body.decode("gbk")
    assert 'content="text/html; charset=gbk"' in html
    links = re.findall(r'<a class="thread" href="([^"]+)">([^<]+)</a>', html)
    assert [href for href, _ in links if "/private/" not in href] == \
        ["/forum/thread/3018841", "/forum/thread/3019207"]
    assert [title for href, title in links if "/private/" in href] == ["版主专用：处理记录"]
    empty = fetch(f"{sb.base_url}/forum/search?kw={quote('别的酒店')}")[2].decode("gbk")
    assert 'class="thread"' not in empty


def test_forum_threads_match_truth_and_encoding(sb: Sandbox) -> None:
    truth = {t.external_id: t for t in sb.truth_for(FORUM_SOURCE)}
    served: dict[str, dict] = {}
    garbled_pages = 0
    for thread_no, tid in enumerate((3018841, 3019207)):
        path, page_no, floors = f"/forum/thread/{tid}", 1, []
        while path:
            status, headers, body = fetch(sb.base_url + path)
            assert status == 200
            bare = thread_no == 1 and page_no == 1
            assert headers["Content-Type"] == ("text/html" if bare else "text/html; charset=GBK")
            html = body.decode("gbk")
            if GBK_ONLY & set(html):
                assert _gb2312_garbles(body)
            garbled_pages += _gb2312_garbles(body)
            assert '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />' in html
            title = html_text(one(r'<h1 class="thread-title">(.*?)</h1>', html))
            posts = re.findall(
                r'<div class="post" id="post-(\d+)"><div class="author">(.*?)</div>'
                r'<div class="post-time">发表于 (.*?)</div><div class="floor">(\d+)楼</div>'
                r'<a class="permalink" href="([^"]+)">#</a>'
                r'<div class="content">(.*?)</div></div>', html)
            assert 6 <= len(posts) <= 9
            for pid, author, when, floor, link, content in posts:
                floors.append(int(floor))
                assert link == f"/forum/thread/{tid}?page={page_no}#post-{pid}"  # the post's anchor on its page
                served[f"p{pid}"] = {
                    "author": html_text(author), "at": sh_local(when, "%Y-%m-%d %H:%M"),
                    "text": html_text(content), "url": f"/forum/thread/{tid}?page={page_no}",
                    "title": title if floor == "1" else None, "permalink": link,
                }
            m = re.search(r'<a class="next" href="([^"]+)">下一页</a>', html)
            path = m.group(1) if m else ""
            page_no += 1
        assert page_no == 3  # two pages each
        assert floors == list(range(1, len(floors) + 1))
        assert fetch(f"{sb.base_url}/forum/thread/{tid}?page=3")[0] == 404
    assert garbled_pages >= 2  # at least both opening pages
    assert served.keys() == truth.keys()
    for ext_id, post in served.items():
        t = truth[ext_id]
        assert (post["author"], post["at"], post["text"], post["url"], post["title"], post["permalink"]) == \
            (t.author, t.published_at, t.text, t.url, t.title, t.permalink)
    everything = "".join((t.text or "") + t.author for t in truth.values())
    assert GBK_ONLY & set(everything) >= set("喆體驗")
    for t in truth.values():
        (t.text or "").encode("gbk")  # strict: no replacement needed anywhere


def test_forum_private_thread_is_served_but_logged(sb: Sandbox) -> None:
    assert all(t.url.startswith("/forum/thread/") for t in sb.truth if t.site == "forum")
    status, _, body = fetch(sb.base_url + "/forum/private/thread/3019000")
    assert status == 200 and 'class="post"' in body.decode("gbk")
    assert any(r.path.startswith("/forum/private/") and r.status == 200 for r in sb.request_log)


# --------------------------------------------------------------------------- RSS
def test_rss_feed_parses_and_matches_truth(sb: Sandbox) -> None:
    status, headers, body = fetch(sb.base_url + RSS_SOURCE)
    assert status == 200 and headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    raw = body.decode()
    assert "<![CDATA[<p>" in raw and "<description>&lt;p&gt;" in raw
    root = ET.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    truth = sb.truth_for(RSS_SOURCE)
    assert len(items) == len(truth) == 15
    dc = "{http://purl.org/dc/elements/1.1/}creator"
    for item, t in zip(items, truth, strict=True):
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        assert guid.text == t.external_id
        assert item.findtext("title") == t.title
        assert item.findtext(dc) == t.author
        assert item.findtext("link") == t.url == t.permalink == sb.base_url + urlsplit(t.url).path
        pub = item.findtext("pubDate") or ""
        assert pub.endswith(" +0000") and parsedate_to_datetime(pub) == t.published_at
        assert html_text(item.findtext("description") or "") == t.text
        assert (t.rating, t.likes, t.reposts, t.comments, t.lang) == (None, None, None, None, "en")
    status, headers, page = fetch(truth[0].url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert (truth[0].title or "").split(":")[0] in page.decode().replace("&amp;", "&")


# --------------------------------------------------------------------------- truth
def _key(mentions: list[TrueMention]) -> list[tuple]:
    return [(m.source_path, m.external_id, m.text, m.published_at, m.rating) for m in mentions]


def test_same_seed_same_truth() -> None:
    a, b = Sandbox(seed=7, now=FIXED_NOW), Sandbox(seed=7, now=FIXED_NOW)
    assert a.truth == b.truth
    assert _key(Sandbox(seed=8, now=FIXED_NOW).truth) != _key(a.truth)


def test_truth_for_is_newest_first_and_covers_all_sources(sb: Sandbox) -> None:
    sources = {t.source_path for t in sb.truth}
    expected = {f"/hotels/{h}/reviews" for h in HOTELS}
    expected |= {f"/api/mall/comments?productId={s}" for s in SKUS}
    expected |= {f"/weibo/api/feed?q={k}" for k in WEIBO_KEYWORDS} | {FORUM_SOURCE, RSS_SOURCE}
    assert sources == expected
    for source in sources:
        items = sb.truth_for(source)
        stamps = [t.published_at for t in items]
        assert stamps == sorted(stamps, reverse=True)
        assert len({t.external_id for t in items}) == len(items)
        assert all(t.published_at.utcoffset() == timedelta(0) for t in items)
    assert sb.truth_for(f"/weibo/api/feed?q={quote('港湾酒店外滩')}") == \
        sb.truth_for("/weibo/api/feed?q=港湾酒店外滩")
    assert 12 <= len(sb.truth_for(FORUM_SOURCE)) <= 36
    with pytest.raises(KeyError):
        sb.truth_for("/nope")


def test_truth_fields_are_consistent() -> None:
    sandbox = Sandbox(seed=7, now=FIXED_NOW)
    windows = {"stayadvisor": 121, "mall": 121, "forum": 31, "rss": 21}
    bands = {10.0: {"positive": (8, 10), "neutral": (5, 7), "negative": (1, 4)},
             5.0: {"positive": (4, 5), "neutral": (3, 3), "negative": (1, 2)}}
    for t in sandbox.truth:
        assert t.published_at <= FIXED_NOW
        if t.site in windows:
            assert FIXED_NOW - t.published_at < timedelta(days=windows[t.site])
        assert t.lang in ("zh", "en") and t.polarity in ("positive", "neutral", "negative")
        if t.rating is not None and t.rating_scale is not None:
            low, high = bands[t.rating_scale][t.polarity]
            assert low <= t.rating <= high
        if t.reply_at is not None:
            assert t.published_at < t.reply_at <= FIXED_NOW and t.reply_text
        if t.text:
            assert t.text == normal(t.text)
    hotel = [t for t in sandbox.truth if t.site == "stayadvisor"]
    zh_share = sum(t.lang == "zh" for t in hotel) / len(hotel)
    assert 0.25 <= zh_share <= 0.35


def test_own_locations_win_in_shanghai_and_trail_in_hangzhou() -> None:
    sandbox = Sandbox(seed=7, now=FIXED_NOW)
    locs = {loc["id"]: loc for loc in SANDBOX_LOCATIONS}

    def avg(region: str, role: str, site: str) -> float:
        return mean(t.rating for t in sandbox.truth if t.site == site and t.rating is not None
                    and locs[t.location_id]["region"] == region
                    and locs[t.location_id]["role"] == role)

    for site in ("stayadvisor", "mall"):
        assert avg("shanghai", "own", site) > avg("shanghai", "competitor", site)
        assert avg("hangzhou", "own", site) < avg("hangzhou", "competitor", site)


# --------------------------------------------------------------------------- index
def test_index_links_every_listing_with_its_location(sb: Sandbox) -> None:
    status, headers, body = fetch(sb.base_url + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    for hid in HOTELS:
        assert f'href="/hotels/{hid}/reviews"' in page and f'href="/js/hotels/{hid}/reviews"' in page
    for sku in SKUS:
        assert f'href="/api/mall/comments?productId={sku}"' in page
    for keyword in WEIBO_KEYWORDS:
        assert f'href="/weibo/api/feed?q={quote(keyword)}"' in page
    assert f'href="{quote(FORUM_SOURCE, safe="/?=")}"' in page and f'href="{RSS_SOURCE}"' in page
    for loc in SANDBOX_LOCATIONS:  # the places a listing is about, by name and id
        assert f"({loc['id']}, {loc['role']})" in page
    assert f"scrapy crawl hotel_reviews -a 'url={sb.base_url}/hotels/h1001/reviews' -O out.jsonl" in unescape(page)


def test_index_escapes_what_it_shows(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from vocwatch.sandbox import index

    hostile = {**index.LOCATIONS_BY_ID["harbor-sh-bund"], "name": '<script>alert(1)</script>"&'}
    monkeypatch.setitem(index.LOCATIONS_BY_ID, "harbor-sh-bund", hostile)
    page = index.index_page(sb._content, 'http://x/"><img src=x onerror=alert(1)>')
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
