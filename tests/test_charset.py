"""Charset by evidence (crawlers.charset, crawlers.middlewares.CharsetEvidenceMiddleware) on
real Chinese review text encoded in the charsets Chinese and Japanese sites use, served with
right, wrong and missing charset headers, through Scrapy's own response classes."""

from __future__ import annotations

import csv
import html
from functools import cache

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawlers.charset import codec_name, evidence_encoding, is_multibyte
from crawlers.middlewares import CHARSET_MISMATCH, CharsetEvidenceMiddleware
from tests.conftest import shared_path

URL = "http://127.0.0.1/reviews"
WRONG_HEADERS = ["utf-8", "iso-8859-1", "windows-1252"]


@cache
def reviews() -> tuple[str, ...]:
    path = shared_path("datasets", "zh", "chnsenticorp_htl.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [" ".join(r["review"].split()) for r in csv.DictReader(f)]
    return tuple(r for r in rows if 30 <= len(r) <= 200)[:15]


def page(texts: list[str], meta: str | None = None) -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    cards = "".join(f'<article class="review"><p>{html.escape(t)}</p></article>\n' for t in texts)
    return f"<!DOCTYPE html><html><head>{head}<title>酒店点评</title></head><body>{cards}</body></html>"


def encoded(encoding: str, meta: str | None = None) -> tuple[bytes, str]:
    """The page's bytes in ``encoding`` and the text a reader should see. Characters a
    charset cannot hold (simplified Chinese in Big5) are left out, as a site would."""
    body = page(list(reviews()), meta).encode(encoding, "ignore")
    return body, body.decode(encoding)


def response(body: bytes, header: str | None, cls: type[TextResponse] = HtmlResponse) -> TextResponse:
    ctype = "text/html" + (f"; charset={header}" if header else "")
    return cls(URL, body=body, headers={"Content-Type": ctype}, request=Request(URL))


def middleware() -> CharsetEvidenceMiddleware:
    return CharsetEvidenceMiddleware(get_crawler(Spider))


CJK = ["gbk", "gb18030", "big5", "shift_jis", "utf-8"]


@pytest.mark.parametrize(("encoding", "header"),
                         [(e, h) for e in CJK for h in WRONG_HEADERS if codec_name(e) != codec_name(h)])
def test_wrong_header_is_overruled_by_the_bytes(encoding: str, header: str) -> None:
    body, want = encoded(encoding)
    mw = middleware()
    before = response(body, header)
    assert before.text != want  # what Scrapy alone would store: mojibake or U+FFFD
    after = mw.process_response(before.request, before)  # type: ignore[arg-type]
    assert after.text == want, (encoding, header, after.encoding)
    assert mw.crawler.stats.get_value(CHARSET_MISMATCH) == 1
    assert mw.crawler.stats.get_value(f"{CHARSET_MISMATCH}/{codec_name(before.encoding)}->{codec_name(after.encoding)}") == 1


@pytest.mark.parametrize("encoding", CJK)
def test_right_header_is_kept(encoding: str) -> None:
    body, want = encoded(encoding)
    mw = middleware()
    before = response(body, encoding)
    after = mw.process_response(before.request, before)  # type: ignore[arg-type]
    assert after is before and after.text == want
    assert mw.crawler.stats.get_value(CHARSET_MISMATCH) is None


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5", "shift_jis", "utf-8"])
def test_meta_declaration_is_evidence_when_the_header_lies(encoding: str) -> None:
    body, want = encoded(encoding, meta=encoding)
    for header in (None, "iso-8859-1", "utf-8"):
        before = response(body, header)
        after = middleware().process_response(before.request, before)  # type: ignore[arg-type]
        assert after.text == want, (encoding, header)


def test_missing_header_gbk_without_meta() -> None:
    body, want = encoded("gbk")
    before = response(body, None)
    after = middleware().process_response(before.request, before)  # type: ignore[arg-type]
    assert after.text == want


WESTERN = ("café, naïve",
           "<html><body><p>Un café très agréable, à côté de l'hôtel. Déjà vu, señor. Grüße aus München.</p></body></html>")


@pytest.mark.parametrize("text", WESTERN)
@pytest.mark.parametrize("header", ["iso-8859-1", "windows-1252"])
def test_latin1_western_page_with_a_latin1_header_stays(text: str, header: str | None) -> None:
    body = text.encode("latin-1")
    mw = middleware()
    before = response(body, header, TextResponse if len(text) < 20 else HtmlResponse)
    after = mw.process_response(before.request, before)  # type: ignore[arg-type]
    assert after.text == text
    assert mw.crawler.stats.get_value(CHARSET_MISMATCH) is None


@pytest.mark.parametrize("text", WESTERN)
def test_latin1_page_with_a_utf8_header_is_read_as_windows_1252(text: str) -> None:
    before = response(text.encode("latin-1"), "utf-8")
    after = middleware().process_response(before.request, before)  # type: ignore[arg-type]
    assert after.text == text and after.encoding == "cp1252"


def test_utf8_page_with_a_stray_broken_byte_stays_utf8() -> None:
    body, _ = encoded("utf-8")
    broken = body.replace("酒店点评".encode(), "酒店点评".encode()[:-1] + b"?", 1)
    before = response(broken, "utf-8")
    after = middleware().process_response(before.request, before)  # type: ignore[arg-type]
    assert after is before  # one broken byte is no evidence of another charset


def test_bom_wins_and_ascii_is_left_alone() -> None:
    assert evidence_encoding("\ufeff酒店".encode("utf-8-sig"), "cp1252") is None  # Scrapy honours the BOM
    assert evidence_encoding(b"<html><body>plain ascii</body></html>", "utf-8") is None


def test_warned_once_per_crawl(caplog: pytest.LogCaptureFixture) -> None:
    body, _ = encoded("gbk")
    mw = middleware()
    with caplog.at_level("WARNING", logger="crawlers.middlewares"):
        for _ in range(3):
            r = response(body, "utf-8")
            mw.process_response(r.request, r)  # type: ignore[arg-type]
    assert len([r for r in caplog.records if "charset" in r.getMessage()]) == 1
    assert mw.crawler.stats.get_value(CHARSET_MISMATCH) == 3


def test_multibyte() -> None:
    assert [is_multibyte(e) for e in ("utf-8", "gbk", "big5", "shift_jis", "euc-kr")] == [True] * 5
    assert [is_multibyte(e) for e in ("latin-1", "cp1252", "koi8-r", "ascii", "no-such")] == [False] * 5
