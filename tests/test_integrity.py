"""crawlers.integrity: which fetched pages are whole. Real saved pages are never called
truncated; the same pages cut off are."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.integrity import (
    PAGE_EMPTY,
    PAGE_TRUNCATED,
    PAGE_WRONG_TYPE,
    is_truncated,
    json_truncated,
    jsonp_truncated,
    page_problem,
)
from tests.conftest import shared_path


def real_pages() -> list[Path]:
    root = shared_path("pages")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md")


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def test_empty_whitespace_binary_and_whole_pages() -> None:
    assert page_problem(200, b"", "") == PAGE_EMPTY
    assert page_problem(200, b" \r\n\t ", " \r\n\t ") == PAGE_EMPTY
    assert page_problem(200, b"\x89PNG\r\n\x1a\n\x00\x01", None) == PAGE_WRONG_TYPE
    assert page_problem(200, b"<html><body>ok</body></html>", "<html><body>ok</body></html>") is None
    assert page_problem(200, b"<html><body><p>cut", "<html><body><p>cut") == PAGE_TRUNCATED
    # error statuses and redirects are not judged here (block/HTTP-error handling has them)
    assert page_problem(403, b"", "") is None
    assert page_problem(503, b"<html><body>cut", "<html><body>cut") is None


def test_every_real_saved_page_is_whole() -> None:
    pages = real_pages()
    assert len(pages) >= 30
    for path in pages:
        text = read(path)
        assert not is_truncated(text), path
        assert page_problem(200, path.read_bytes(), text) is None, path


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_real_documents_cut_off_are_truncated(fraction: float) -> None:
    judged = 0
    for path in real_pages():
        text = read(path)
        cut = text[: int(len(text) * fraction)]
        stripped = text.lstrip()
        if stripped[:1] in "{[" or "<html" in text.lower() or path.suffix in (".rss", ".atom"):
            judged += 1
            assert is_truncated(cut), (path, fraction, cut[-80:])
    assert judged >= 25


def test_html_fragments_are_not_judged() -> None:
    # an AJAX fragment never opened <html>/<body>: whole or cut, it cannot be told
    assert not is_truncated('<div class="review"><p>Great stay')
    assert not is_truncated("plain text")


def test_html_closing_either_tag_is_whole() -> None:
    assert not is_truncated("<!DOCTYPE html><html><head></head><body><p>x</p></body>")
    assert not is_truncated("<HTML><BODY>x</BODY></HTML>")
    assert not is_truncated("<html><body>x</body></html><!-- served by cache -->")
    assert is_truncated("<!DOCTYPE html><html lang=en><head><title>t</title></head><body><article>x")


def test_json_cut_at_the_end_vs_broken_in_the_middle() -> None:
    for cut in ('{"a": [1, 2', '{"a": "abc', '{"a": 1, ', '{"a": 1, "b": tr', '{"a": 1.5e', '[1, {"x": nu', '{'):
        assert json_truncated(cut), cut
    for whole_or_malformed in ('{"a": 1}', "[]", '{"a": 1,, "b": 2}', '{"a": xyz}', '{"a": 1} trailing'):
        assert not json_truncated(whole_or_malformed), whole_or_malformed


def test_jsonp() -> None:
    assert not jsonp_truncated('fetchJSON_comment98({"comments": [{"id": 1}]});')
    assert not is_truncated('fetchJSON_comment98({"comments": [{"id": 1}]})\n')
    assert jsonp_truncated('fetchJSON_comment98({"comments": [{"id": 1}')
    assert is_truncated('cb({"comments": [{"id": 1}]}')  # the closing parenthesis is missing


def test_feeds() -> None:
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><item><title>a</title></item></channel></rss>'
    assert not is_truncated(rss)
    assert is_truncated(rss[: rss.index("</channel>")])
    atom = '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title></entry></feed>'
    assert not is_truncated(atom)
    assert is_truncated(atom[:-7])
