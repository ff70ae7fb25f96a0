"""kind = "site": a registered site adapter crawled over real HTTP with its own pagination
rule (JD's 0-based page numbers up to maxPage), incremental on the second crawl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from config.loader import ConfigError, load_config
from crawlers.store import open_store
from tests.conftest import local_site, run_vocwatch

CONFIG = """
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0.05
retries = 0

[[brands]]
id = "kettle"

[[locations]]
id = "kettle-store"
name = "Kettle Store"
brand = "kettle"
category = "store"
lat = 31.2
lon = 121.4
region = "shanghai"
role = "own"

[[sources]]
location = "kettle-store"
kind = "site"
site = "{site}"
url = "{base}/comment/productPageComments.action?productId=42&page=0&pageSize=2"
"""


def _comment(n: int) -> dict[str, Any]:
    return {"id": 9000 - n, "content": f"第{n}条评价：烧水很快，外观好看", "nickname": f"j***{n}",
            "score": 5 - n % 3, "creationTime": f"2026-11-{20 - n:02d} 10:00:00", "usefulVoteCount": n,
            "replyCount": 0, "productColor": "白色", "location": "江苏"}


COMMENTS = [_comment(n) for n in range(5)]  # newest first, 2 a page: pages 0, 1, 2


def _jd_page(path: str) -> tuple[int, str, bytes]:
    parts = urlsplit(path)
    if parts.path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    page = int(parse_qs(parts.query)["page"][0])
    body = json.dumps({"maxPage": 3, "comments": COMMENTS[2 * page: 2 * page + 2]}, ensure_ascii=False)
    return 200, "application/json; charset=utf-8", body.encode()


@pytest.fixture
def jd_site() -> Iterator[tuple[str, list[str]]]:
    with local_site(_jd_page) as site:
        yield site


def test_site_source_follows_the_adapters_pagination(jd_site: tuple[str, list[str]], tmp_path: Path) -> None:
    base, hits = jd_site
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base, site="jd"), encoding="utf-8")
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [urlsplit(h).query.split("&")[1] for h in hits[1:]] == ["page=0", "page=1", "page=2"]
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    got = sorted(store.iter_mentions(), key=lambda m: m.external_id or "")
    assert [m.external_id for m in got] == ["8996", "8997", "8998", "8999", "9000"]
    first = got[-1]
    assert (first.site, first.text, first.author_region, first.rating, first.variant) == (
        "jd", "第0条评价：烧水很快，外观好看", "江苏", 5.0, "白色")
    assert first.published_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
    assert first.sentiment_label is not None  # enriched like every crawl
    # the second crawl stops on page 0: everything there is already stored
    before = len(hits)
    assert run_vocwatch("crawl", "-c", str(cfg), "-q").returncode == 0
    assert [h for h in hits[before:] if "page=" in h] == [hits[1]]
    store.close()


@pytest.mark.parametrize(("site", "problem"), [("", 'kind = "site" needs site'), ("nope", "no adapter for site 'nope'")])
def test_site_source_must_name_a_known_adapter(tmp_path: Path, site: str, problem: str) -> None:
    text = CONFIG.format(db=tmp_path / "s.db", base="http://127.0.0.1:1", site=site)
    if not site:
        text = text.replace('site = ""\n', "")
    cfg = tmp_path / "v.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "sources[0].site" in str(err.value) and problem in str(err.value)
