"""End to end, real HTTP on 127.0.0.1 and the real CLI: the incremental cut-off moves only
on evidence; empty, truncated, non-text and redirect-loop pages are failed pages; a page
whose charset header lies is decoded by the evidence of its bytes."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.store import CrawlRun, open_store
from tests.conftest import (
    ONE_HOTEL,
    crawl_head,
    local_site,
    run_vocwatch,
    runs_by_source,
    shared_path,
)
from tests.evidence_site import PAGE_SIZE, REVIEWS, FaultySite, Hotel, faulty_site, now, reviews_for

CONFIG = crawl_head(retries=2) + ONE_HOTEL

SOURCE = """
[[sources]]
id = "{name}"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{base}/{name}/reviews"
"""


def write_config(tmp_path: Path, site: FaultySite) -> Path:
    cfg = tmp_path / "vocwatch.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "v.db") + "".join(
        SOURCE.format(name=name, base=site.base_url) for name in site.hotels), encoding="utf-8")
    return cfg


def crawl(cfg: Path) -> subprocess.CompletedProcess[str]:
    return run_vocwatch("crawl", "-c", str(cfg), "-q")


def runs_of(tmp_path: Path) -> dict[str, list[CrawlRun]]:
    return runs_by_source(f"sqlite:///{tmp_path}/v.db")


def stored(tmp_path: Path) -> dict[str, dict[str, str]]:
    """source id -> review id -> stored text"""
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    try:
        out: dict[str, dict[str, str]] = {}
        for m in store.iter_mentions():
            out.setdefault(m.source_id, {})[m.external_id or ""] = m.text
        return out
    finally:
        store.close()


BROKEN_FIRST_PAGES = {
    "empty": "page_empty",  # 200, zero bytes
    "cut": "page_truncated",  # the document stops mid-review, Content-Length matching
    "short": "page_truncated",  # fewer bytes than Content-Length, then the connection closes
    "chunked_cut": "page_truncated",  # chunked body without its last chunk
    "loop": "page_redirect_loop",  # two URLs redirecting to each other
    "self_loop": "page_redirect_loop",  # a URL redirecting to itself
    "binary": "page_wrong_type",  # an image where the listing should be
}


def test_a_broken_first_page_never_moves_the_cut_off(tmp_path: Path) -> None:
    """The issue's probe: a 33-review source whose first page is broken on the first crawl
    and fine afterwards, crawled three times. Before: the broken run ended `finished` with
    0 stored, moved the cut-off, and the later crawls stopped at page 1 (10 of 33)."""
    t = now()
    hotels = {name: Hotel(reviews_for(name, t), fault=name) for name in BROKEN_FIRST_PAGES}
    with faulty_site(hotels) as site:
        cfg = write_config(tmp_path, site)
        first = crawl(cfg)
        for hotel in hotels.values():
            hotel.fault = None  # the site recovers
        second, third = crawl(cfg), crawl(cfg)
    assert second.returncode == 0 and third.returncode == 0, second.stdout + third.stdout
    runs = runs_of(tmp_path)
    texts = stored(tmp_path)
    for name, reason in BROKEN_FIRST_PAGES.items():
        broken, after, last = runs[name]
        # not one page read: the run failed (and said so), it never counts as a clean run
        assert broken.outcome == "failed", (name, broken.outcome, first.stdout)
        assert broken.stats[f"vocwatch/dropped/{reason}"] == 1, (name, broken.stats)
        assert broken.stats["retry/count"] == 2 and broken.stats["retry/max_reached"] == 1, (name, broken.stats)
        if name in ("empty", "cut", "binary"):  # read, then retried by the spider: with backoff, like downloads
            assert broken.stats["vocwatch/retry/page_backoff_waits"] == 2, (name, broken.stats)
        assert broken.stats["vocwatch/cutoff/advanced"] == 0, name
        assert reason in broken.stats["vocwatch/cutoff/why_not"], name
        # the cut-off did not move: the next crawl read every page, not page 1 only
        assert after.stats["vocwatch/pages/read"] == -(-REVIEWS // PAGE_SIZE), (name, after.stats)
        assert after.outcome == "finished" and after.stats["vocwatch/cutoff/advanced"] == 1, name
        assert last.outcome == "finished" and last.stats["vocwatch/pages/read"] == 1, name  # now incremental
        assert len(texts.get(name, {})) == REVIEWS, (name, len(texts.get(name, {})))


def test_endless_redirect_chain_is_a_failed_page_not_a_polite_skip(tmp_path: Path) -> None:
    """A redirect to a new URL on every hop ends in Scrapy's "max redirections reached"
    (an IgnoreRequest, like robots.txt's): a failed first page, not a skipped one."""
    t = now()
    hotel = Hotel(reviews_for("chain", t), fault="chain")
    with faulty_site({"chain": hotel}) as site:
        cfg = write_config(tmp_path, site)
        cfg.write_text(cfg.read_text().replace("retries = 2", "retries = 0"))  # 21 hops a try, ~1 s each
        crawl(cfg)
    (broken,) = runs_of(tmp_path)["chain"]
    assert broken.outcome == "failed" and broken.stats["vocwatch/dropped/page_redirect_loop"] == 1
    assert "vocwatch/skipped/ignored_request" not in broken.stats
    assert broken.stats["vocwatch/cutoff/advanced"] == 0
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    try:
        assert store.last_successful_run("chain") is None  # the next crawl reads every page
    finally:
        store.close()


def test_truncated_page_is_not_stored_as_complete(tmp_path: Path) -> None:
    """Page 2 is always cut off half-way into its fifth review: nothing of the cut page
    is stored (its reviews are not known to be whole), the rest of the source is, and
    the run says so."""
    t = now()
    hotel = Hotel(reviews_for("cutpage", t), fault="cut", fault_page=2)
    with faulty_site({"cutpage": hotel}) as site:
        cfg = write_config(tmp_path, site)
        crawl(cfg)
        requests_for_page_2 = [h for h in site.hits if h.endswith("page=2")]
    truth = {r.rid: r.text for r in hotel.reviews}
    got = stored(tmp_path).get("cutpage", {})
    for rid, text in got.items():
        assert text == truth[rid], f"{rid} stored as {text!r}, but the review reads {truth[rid]!r}"
    cut_review = hotel.reviews[PAGE_SIZE + 4].rid
    assert cut_review not in got
    assert set(got) == {r.rid for r in hotel.reviews[:PAGE_SIZE]}
    (run,) = runs_of(tmp_path)["cutpage"]
    assert run.outcome == "partial"
    assert run.stats["vocwatch/dropped/page_truncated"] == 1
    assert run.stats["vocwatch/cutoff/advanced"] == 0
    assert len(requests_for_page_2) == 3  # read once, retried twice (retries = 2)


def chinese_reviews(n: int = 12) -> list[str]:
    """Real Chinese hotel reviews (ChnSentiCorp) that GBK can encode."""
    path = shared_path("datasets", "zh", "chnsenticorp_htl.csv")
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = " ".join(row["review"].split())
            try:
                text.encode("gbk")
            except UnicodeEncodeError:
                continue
            if 20 <= len(text) <= 300 and "<" not in text and "&" not in text:
                out.append(text)
            if len(out) == n:
                return out
    return out


WESTERN = ["Un café très agréable, à côté de l'hôtel; la chambre était propre et le personnel aimable.",
           "Naïve décor, but the crème brûlée at breakfast was superb. Über freundlich, señor!",
           "Große Zimmer, ruhige Lage, Frühstück gut. Würde wiederkommen."]


@pytest.mark.parametrize("header", ["utf-8", "iso-8859-1"])
def test_gbk_page_with_a_lying_charset_header_is_stored_correctly(tmp_path: Path, header: str) -> None:
    texts = chinese_reviews()
    t = now()
    hotels = {
        # GBK bytes, the header lies, the page declares nothing: byte statistics decide
        "gbk-lies": Hotel(reviews_for("gbk-lies", t, texts), charset_header=header, body_encoding="gbk",
                          meta_charset=None),
        # GBK bytes, the header lies, <meta charset="gbk"> tells the truth
        "gbk-meta": Hotel(reviews_for("gbk-meta", t, texts), charset_header=header, body_encoding="gbk",
                          meta_charset="gbk"),
        # controls: a correct GBK header, and a correct Latin-1 western page
        "gbk-right": Hotel(reviews_for("gbk-right", t, texts), charset_header="gbk", body_encoding="gbk",
                           meta_charset=None),
        "latin1-right": Hotel(reviews_for("latin1-right", t, WESTERN), charset_header="iso-8859-1",
                              body_encoding="latin-1", meta_charset=None),
    }
    with faulty_site(hotels) as site:
        cfg = write_config(tmp_path, site)
        proc = crawl(cfg)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    got = stored(tmp_path)
    runs = {k: v[-1] for k, v in runs_of(tmp_path).items()}
    for name, hotel in hotels.items():
        want = {r.rid: r.text for r in hotel.reviews}
        assert got[name] == want, (name, next(iter(got[name].values())))
        assert runs[name].outcome == "finished", name
    for name in ("gbk-lies", "gbk-meta"):
        assert runs[name].stats["vocwatch/decoding/charset_mismatch"] == -(-REVIEWS // PAGE_SIZE), name
    for name in ("gbk-right", "latin1-right"):
        assert "vocwatch/decoding/charset_mismatch" not in runs[name].stats, name
    assert "decoded as gb" in proc.stderr


def test_unreadable_first_page_is_retried_within_the_run(tmp_path: Path) -> None:
    """A JSON API whose first answer is well-formed JSON of the wrong shape (a busy
    server's ``["busy"]``) and fine on the next try: the page is retried, and the run
    stores everything and ends clean."""
    t = now()
    comments = [{"id": 9000 + i, "content": f"商品{i}号很好用，物流也快，包装完整，会回购的。第{i}条评价。",
                 "creationTime": (t - timedelta(days=3 + i)).strftime("%Y-%m-%d %H:%M:%S"), "score": 5,
                 "nickname": f"buyer{i}"} for i in range(25)]
    answered: list[str] = []

    def respond(path: str) -> tuple[int, str, bytes]:
        if not path.startswith("/api/comments"):
            return 404, "text/plain", b""
        answered.append(path)
        page = int(parse_qs(urlsplit(path).query)["page"][0])
        if page == 1 and len(answered) == 1:
            return 200, "application/json", b'["busy"]'
        payload = {"code": 0, "page": page, "maxPage": 3, "comments": comments[(page - 1) * 10: page * 10]}
        return 200, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode()

    with local_site(respond) as (base, _):
        cfg = tmp_path / "vocwatch.toml"
        cfg.write_text(CONFIG.format(db=tmp_path / "v.db") + f'''
[[sources]]
id = "shop"
location = "harbor-sh-bund"
kind = "mall_comments"
url = "{base}/api/comments?productId=1"
''', encoding="utf-8")
        proc = crawl(cfg)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    (run,) = runs_of(tmp_path)["shop"]
    assert run.stats["retry/reason_count/page_malformed"] == 1
    assert "vocwatch/dropped/page_malformed" not in run.stats
    assert run.outcome == "finished" and run.stats["vocwatch/cutoff/advanced"] == 1
    assert len(stored(tmp_path)["shop"]) == len(comments)
