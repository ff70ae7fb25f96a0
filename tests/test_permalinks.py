"""A link to the review itself (issue 14, item 3): ``Mention.permalink`` is the review's or
post's own public address on its site, read off the page (its link to the review, a JSON
``url``) or built from the site's pattern and the id; absolute http(s) only, None where the
site gives a review no page; outside the fingerprint and the content hash; stored by every
backend (an old SQLite file gains the column), never cleared by a page that shows none, and
recorded for a stored unchanged mention whose address is new."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from config.selectors import ConfigError
from crawlers.items import (
    Mention,
    coerce_fields,
    mention_content_hash,
    mention_fingerprint,
    public_url,
)
from pipelines.dedupe import DedupePipeline
from spiders.pages.base import Page, well_typed
from spiders.pages.registry import adapter
from tests.conftest import shared_path
from vocwatch.fixtures import Fixture

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def page(url: str, text: str, tz: str = "UTC") -> Page:
    return Page(url=url, text=text, now=NOW, tz=ZoneInfo(tz))


def fixture(name: str) -> list[Mention]:
    """The mentions of a saved page in tests/fixtures/pages, as its site's adapter reads it."""
    return Fixture(FIXTURES / name).read().mentions


def shared(site: str, name: str, url: str, tz: str = "UTC") -> Page:
    return page(url, shared_path("pages", site, name).read_text(encoding="utf-8"), tz)


# --- the field -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kept"), [
    ("https://www.reddit.com/r/x/comments/abc/t/", True),
    ("http://forum.example/showthread.php?p=5#post5", True),
    ("HTTPS://Example.com/a", True),
    ("/relative/path", False),
    ("//www.dianping.com/review/1", False),  # protocol-relative: the adapter resolves it first
    ("javascript:alert(1)", False),
    ("data:text/html,<script>", False),
    ("ftp://example.com/x", False),
    ("https://", False),
    ("https://exa mple.com/", False),
    ("https://example.com/\nx", False),
    ("https://example.com:port/", False),
    ("", False),
    (None, False),
    (12, False),
])
def test_only_absolute_http_urls_are_permalinks(value: Any, kept: bool) -> None:
    assert public_url(value) == (value if kept else None)


def test_a_permalink_that_is_no_link_is_given_up_not_stored() -> None:
    m = Mention(site="x", kind="review", url="https://x.example/list", text="ok", permalink="javascript:alert(1)")
    assert well_typed(m).permalink is None and m.fields_given_up == ["permalink"]
    m = Mention(site="x", kind="review", url="https://x.example/list", text="ok", permalink="/r/1")
    given_up, fatal = coerce_fields(m)  # the clean stage's coercion: the same rule
    assert (m.permalink, given_up, fatal) == (None, ["permalink"], [])
    m = Mention(site="x", kind="review", url="https://x.example/list", text="ok", permalink="https://x.example/r/1")
    assert well_typed(m).permalink == "https://x.example/r/1" and not m.fields_given_up


def test_page_permalink_resolves_against_the_page_and_refuses_scripts() -> None:
    p = page("https://forum.example/t/5?page=2", "")
    assert p.permalink("#post-9") == "https://forum.example/t/5?page=2#post-9"
    assert p.permalink("//cdn.example/r/1") == "https://cdn.example/r/1"
    assert p.permalink("/r/1") == "https://forum.example/r/1"
    assert p.permalink(" JavaScript:void(0)") is None and p.permalink("mailto:a@b") is None
    assert p.permalink("http://[") is None and p.permalink({"url": "x"}) is None and p.permalink("") is None


def test_permalink_moves_neither_fingerprint_nor_content_hash() -> None:
    """A site moving its review pages to a new URL scheme has not edited the review: no
    update, no re-analysis, and every hash stored before the field existed stays valid."""
    base = Mention(site="reddit", kind="post", url="https://oauth.reddit.com/r/x/new", text="hello", external_id="t3_a")
    moved = base.replace(permalink="https://www.reddit.com/r/x/comments/a/hello/")
    again = base.replace(permalink="https://new.reddit.com/r/x/comments/a/hello/")
    assert mention_fingerprint(base) == mention_fingerprint(moved) == mention_fingerprint(again)
    assert mention_content_hash(base) == mention_content_hash(moved) == mention_content_hash(again)
    no_id = Mention(site="rss", kind="post", url="https://feed.example/rss", text="words")
    assert mention_fingerprint(no_id) == mention_fingerprint(no_id.replace(permalink="https://feed.example/p/1"))


# --- read off the raw page, one adapter family at a time -------------------------------------


def test_amazon_review_page_from_the_title_link_without_its_tracking() -> None:
    ms = fixture("amazon/dp-christine-dvd")
    assert ms[0].external_id == "R3UENUKV2IVP67"
    # the card's title link: /gp/customer-reviews/R3UENUKV2IVP67/ref=cm_cr_dp_d_rvw_ttl?ie=UTF8&ASIN=B01MFXN4Y2
    assert ms[0].permalink == "https://www.amazon.com/gp/customer-reviews/R3UENUKV2IVP67"
    assert all(m.permalink == f"https://www.amazon.com/gp/customer-reviews/{m.external_id}" for m in ms)
    # the 2018 mobile card has no title link: the card's own id names the review
    mobile = fixture("amazon/mobile-dp-seven-languages")
    assert mobile[0].permalink == "https://www.amazon.com/gp/customer-reviews/R29YSPVB4QPPPZ"
    # a marketplace keeps its own host
    card = ('<div data-hook="review" id="R1ABCDEF2GH"><span data-hook="review-body">Gut</span>'
            '<a data-hook="review-title" href="/-/en/gp/customer-reviews/R1ABCDEF2GH/ref=x?ie=UTF8">T</a></div>')
    (m,) = adapter("amazon")(page("https://www.amazon.de/product-reviews/B0X", f"<html><body>{card}</body></html>"))
    assert m.permalink == "https://www.amazon.de/gp/customer-reviews/R1ABCDEF2GH"


def test_tripadvisor_review_pages_from_the_card_link_or_the_place_pattern() -> None:
    # the 2022 fragment: each card's title link, whatever page it was read on
    ms = fixture("tripadvisor/expanded-hsx-abba-mia-gijon-2023")
    assert ms[0].permalink == ("https://www.tripadvisor.com/ShowUserReviews-g187451-d3725014-r854904917-"
                               "Abba_Mia_Restaurant-Gijon_Asturias.html")
    # a 2015 hotel page: its link carries a booking-box fragment, which is no part of the address
    hotel = "Hotel_Review-g190502-d206868-Reviews-Radisson_Blu_Royal_Hotel_Bergen-Bergen_Hordaland_Western_Norway.html"
    (first, *_) = adapter("tripadvisor")(shared("tripadvisor", "_" + hotel, "https://www.tripadvisor.no/" + hotel,
                                                "Europe/Oslo"))
    assert first.permalink == ("https://www.tripadvisor.no/ShowUserReviews-g190502-d206868-r267503657-"
                               "Radisson_Blu_Royal_Hotel_Bergen-Bergen_Hordaland_Western_Norway.html")
    # no link on the card: built from the place page's URL and the review id
    card = ('<div id="review_501" class="reviewSelector"><div class="quote"><span class="noQuotes">T</span></div>'
            '<div class="entry"><p class="partial_entry">Quiet room.</p></div></div>')
    listing = "https://www.tripadvisor.com/Hotel_Review-g190502-d206868-Reviews-or10-Harbor_Hotel-Shanghai.html"
    (m,) = adapter("tripadvisor")(page(listing, f"<html><body>{card}</body></html>"))
    assert m.permalink == "https://www.tripadvisor.com/ShowUserReviews-g190502-d206868-r501-Harbor_Hotel-Shanghai.html"
    # ... and nothing where the page says no place (a fragment of bare cards)
    (m,) = adapter("tripadvisor")(page("https://www.tripadvisor.com/ExpandedUserReviews", f"<div>{card}</div>"))
    assert m.permalink is None
    # GraphQL: the review detail route the answer gives
    graphql = fixture("tripadvisor/graphql-cafe-sjiek-maastricht-2025")
    assert graphql[0].permalink == ("https://www.tripadvisor.com/ShowUserReviews-g188575-d807608-r1023286254-"
                                    "Cafe_Sjiek-Maastricht_Limburg_Province.html")


def test_yelp_review_on_its_business_page_by_hrid() -> None:
    ms = fixture("yelp/fusion-reviews-eleven-madison-park")
    # the API's url without adjust_creative and utm_*: /biz/<alias>?hrid=<id>
    assert ms[0].permalink == "https://www.yelp.com/biz/eleven-madison-park-new-york?hrid=YazjnGL3tNGNp6v-BXi3gw"
    search = fixture("yelp/graphql-search-mon-ami-gabi")  # GraphQL: the business id's page
    assert search[0].permalink == "https://www.yelp.com/biz/4JNXUYY8wbaaDmk3BPzlWw?hrid=D3FpE6X_w6wwgQvkiwwF7Q"
    nodes = [{"encid": "Abc-1", "text": {"full": "Great"}, "rating": 5, "createdAt": "2024-01-01T00:00:00Z"}]
    (m,) = adapter("yelp")(page("https://www.yelp.com/biz/cafe-x-new-york?osq=cafe", json.dumps(nodes)))
    assert m.permalink == "https://www.yelp.com/biz/cafe-x-new-york?hrid=Abc-1"
    (m,) = adapter("yelp")(page("https://api.example/reviews", json.dumps(nodes)))  # no business page: none
    assert m.permalink is None


def test_google_maps_places_api_links_each_review_the_maps_arrays_do_not() -> None:
    api = fixture("google_maps/places-api-rca-therapy")
    assert all(m.permalink and m.permalink.startswith("https://www.google.com/maps/reviews/data=") for m in api)
    assert api[0].external_id in api[0].permalink
    raw = shared("google_maps", "raw.json", "https://www.google.com/maps/place/Kipriakon")
    assert [m.permalink for m in adapter("google_maps")(raw)] == [None] * 8


def test_shop_sites_jd_has_review_pages_taobao_and_eleme_have_none() -> None:
    jd = shared("jd", "jd_comments.json", "https://club.jd.com/comment/productPageComments.action?productId=100137153194"
                "&score=0&sortType=5&page=0&pageSize=10", "Asia/Shanghai")
    first = adapter("jd")(jd)[0]
    # JD's comment list links each comment's date to club.jd.com/repay/<referenceId>_<guid>_1.html
    assert first.permalink == "https://club.jd.com/repay/100141581986_7cc90dcc8f867a85ec4291ac5c1b7771_1.html"
    no_guid = {"comments": [{"id": 1, "content": "好", "score": 5, "creationTime": "2024-01-01 10:00:00"}]}
    assert adapter("jd")(page(jd.url, json.dumps(no_guid)))[0].permalink is None
    assert not any(m.permalink for m in fixture("taobao/tmall-lamp-603314107202-all-pages"))
    assert not any(m.permalink for m in fixture("eleme/vc-vue-elm-tag-all-2018"))
    booking = shared("booking", "hotel_review.json", "https://www.booking.com/reviewlist.html")
    assert not any(m.permalink for m in adapter("booking")(booking))  # reviewUrl is an id, not a page


def test_dianping_review_page_from_the_items_own_link() -> None:
    ms = fixture("dianping/cinema-shop-1705426-2018")
    assert ms[0].external_id == "431053143"
    assert ms[0].permalink == "https://www.dianping.com/review/431053143"  # href="//www.dianping.com/review/431053143"
    bare = '<div id="review-list"><li class="comment-item"><p class="desc">好看</p></li></div>'
    (m,) = adapter("dianping")(page("https://www.dianping.com/shop/1", f"<html><body>{bare}</body></html>"))
    assert m.permalink is None  # no link of its own: never the shop page


def test_weibo_posts_on_m_weibo_cn_without_the_authors_uid_comments_have_none() -> None:
    timeline = fixture("weibo/openapi-home-timeline-2020")
    assert timeline[0].permalink == f"https://m.weibo.cn/status/{timeline[0].external_id}"
    mymblog = fixture("weibo/weibocom-ajax-mymblog-2022")
    assert mymblog[0].permalink == "https://m.weibo.cn/status/4758670926415685"
    assert all("1259110474" not in (m.permalink or "") for m in mymblog)  # the author's uid is not in it
    assert not any(m.permalink for m in fixture("weibo/weibocom-ajax-buildcomments-2024"))
    assert not any(m.permalink for m in fixture("weibo/wap-comment-IEY7vfLUm-2020"))


def test_reddit_things_by_their_permalink_hacker_news_by_item_id() -> None:
    listing = fixture("reddit/user-overview-v95")
    assert [m.permalink for m in listing] == [
        "https://www.reddit.com/r/redditdev/comments/gczwql/get_userusernamegilded_does_it_return_other_users/",
        "https://www.reddit.com/r/apple/comments/d7ejpn/im_giving_away_an_iphone_11_pro_to_a_commenter_at/f0zsa37/"]
    dom = fixture("reddit/new-reddit-askreddit-dom")
    assert dom[1].permalink == "https://www.reddit.com/r/AskReddit/comments/axtih6/comment/ehwfe48/"
    hn = fixture("hackernews/hnreader-xcode7-2015")
    assert all(m.permalink == f"https://news.ycombinator.com/item?id={m.external_id}" for m in hn)


def test_discourse_posts_by_topic_and_post_number() -> None:
    ms = fixture("discourse/rust-users-42214")
    assert [m.permalink for m in ms][:2] == [
        "https://users.rust-lang.org/t/forum-code-formatting-and-syntax-highlighting/42214/1",
        "https://users.rust-lang.org/t/forum-code-formatting-and-syntax-highlighting/42214/2"]
    crawler_view = fixture("discourse/meta-topic-12483-html")
    assert crawler_view[1].permalink == \
        "https://meta.discourse.org/t/congratulations-most-stars-in-2013-github-octoverse/12483/2"


def test_forum_engines_post_links_or_post_anchors() -> None:
    phpbb = fixture("forum_phpbb/ilovephilosophy-30-2019")
    assert phpbb[0].permalink == "https://www.ilovephilosophy.com/viewtopic.php?p=2729870#p2729870"
    vb = fixture("forum_vbulletin/animesuki-vb3-2016")
    assert vb[0].permalink == "https://forums.animesuki.com/showthread.php?p=5768670#post5768670"
    xf1 = fixture("forum_xenforo/sufficientvelocity-xf1-2017")  # relative to the page's <base href>
    assert xf1[0].permalink == "https://forums.sufficientvelocity.com/posts/2146286/"
    xf2 = fixture("forum_xenforo/xenforo-community-xf2-2019")
    assert xf2[0].permalink == "https://xenforo.com/community/threads/a-dark-theme-option.8276/post-114210"
    dz = fixture("forum_discuz/kbinance-x3-thread-3")
    assert dz[0].permalink == "https://kbinance.com/thread-3-1-1.html#pid3"
    # a post whose link does not name it: its anchor on the page it was read on
    post = ('<div class="post" id="p77"><div class="postbody"><p class="author"><a href="./viewtopic.php?t=9">x</a>'
            ' by <strong>ann</strong> » Sun May 26, 2019 4:34 pm</p><div class="content">Hello</div></div></div>')
    (m,) = adapter("forum_phpbb")(page("https://board.example/viewtopic.php?t=9&start=20", f"<html><body>{post}</body></html>"))
    assert m.permalink == "https://board.example/viewtopic.php?t=9&start=20#p77"


def test_wordpress_comment_anchors_and_rest_links() -> None:
    ms = fixture("wordpress_comments/hacks-mozilla-fetch-2015")
    assert ms[0].permalink == "https://hacks.mozilla.org/2015/03/this-api-is-so-fetching/comment-page-1/#comment-17303"
    api = [{"id": 5, "post": 1, "parent": 0, "author_name": "a", "date_gmt": "2024-01-01T00:00:00",
            "content": {"rendered": "<p>Hi</p>"}, "link": "https://blog.example/p/#comment-5", "type": "comment"}]
    (m,) = adapter("wordpress_comments")(page("https://blog.example/wp-json/wp/v2/comments?post=1", json.dumps(api)))
    assert m.permalink == "https://blog.example/p/#comment-5"


def test_feed_items_by_their_link_or_a_permalink_guid() -> None:
    atom = fixture("rss/heise-developer-atom")
    assert atom[0].permalink == atom[0].url and atom[0].permalink.startswith("http://www.heise.de/developer/meldung/")
    rss = ('<rss version="2.0"><channel><title>t</title>'
           '<item><title>a</title><guid>https://blog.example/a</guid><description>x</description></item>'
           '<item><title>b</title><guid isPermaLink="false">tag:blog.example,2024:b</guid><description>y</description></item>'
           '<item><title>c</title><link>/c</link><description>z</description></item>'
           "</channel></rss>")
    got = [m.permalink for m in adapter("rss")(page("https://blog.example/feed", rss))]
    assert got == ["https://blog.example/a", None, "https://blog.example/c"]


def test_schema_org_review_url_only_zhihu_answer_pages() -> None:
    assert not any(m.permalink for m in fixture("schema_org/seriouseats-three-cup-chicken"))  # no url given
    ld = {"@context": "https://schema.org", "@type": "Product", "name": "P", "review": [
        {"@type": "Review", "@id": "https://shop.example/p#r1", "reviewBody": "Fine", "author": "a",
         "url": "https://shop.example/reviews/1"},
        {"@type": "Review", "@id": "https://shop.example/p#r2", "reviewBody": "Also", "author": "b"}]}
    html = f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body></body></html>'
    got = [m.permalink for m in adapter("schema_org")(page("https://shop.example/p", html))]
    assert got == ["https://shop.example/reviews/1", None]  # an @id is a name, not a page
    zhihu = fixture("zhihu/topic-python-top-answers-2018")
    assert zhihu[0].permalink == "https://www.zhihu.com/question/29138020/answer/81972368"


def test_selectors_permalink_field_and_template(tmp_path: Path) -> None:
    from config.loader import _Reader
    from config.selectors import read_selector_spec
    from spiders.pages.selectors import SelectorPage

    def spec(fields: dict[str, Any], **extra: Any) -> Any:
        return read_selector_spec(_Reader(tmp_path / "c.toml", "selectors", {"item": extra.pop("item", "li"),
                                                                              "fields": fields, **extra}))

    html = ('<ul><li id="r-7"><p>Nice</p><a class="share" href="/reviews/7">link</a></li>'
            '<li id="r-8"><p>Bad</p></li></ul>')
    p = page("https://reviews.example/place/1", html)
    linked = SelectorPage(p, spec({"text": "p", "permalink": "a.share::attr(href)"})).mentions()
    assert [m.permalink for m in linked] == ["https://reviews.example/reviews/7", None]
    built = SelectorPage(p, spec({"text": "p", "permalink": {"select": "xpath:@id", "regex": r"r-(\d+)",
                                                             "template": "https://reviews.example/r/{}"}})).mentions()
    assert [m.permalink for m in built] == ["https://reviews.example/r/7", "https://reviews.example/r/8"]
    js = page("https://api.example/reviews", json.dumps([{"id": "ab12", "text": "ok"}, {"id": 9, "text": "no"}]))
    rows = SelectorPage(js, spec({"text": "text", "permalink": {"select": "id", "template": "javascript:{}"}},
                                 item="$", type="json")).mentions()
    assert [m.permalink for m in rows] == [None, None]  # what the template makes must still be a web address
    with pytest.raises(ConfigError, match="template"):
        spec({"text": "p", "permalink": {"select": "xpath:@id", "template": "https://x.example/{}/{}"}})


def test_sandbox_page_objects_read_the_links_the_sandbox_serves() -> None:
    from spiders.pages.forum import ForumThreadPage
    from spiders.pages.mall import MallCommentsPage
    from spiders.pages.schema_hotel import SchemaHotelReviewPage
    from spiders.pages.weibo import WeiboFeedPage
    from vocwatch.sandbox import render
    from vocwatch.sandbox.generate import generate

    content = generate(7, NOW)
    hotel = next(iter(content.hotels.values()))
    base = "http://127.0.0.1:8000"
    ms = SchemaHotelReviewPage(page(f"{base}/hotels/{hotel.hotel_id}/reviews", render.hotel_page(hotel, 1) or "")).mentions()
    assert ms[0].permalink == f"{base}/hotels/{hotel.hotel_id}/reviews/{hotel.reviews[0].external_id}"
    product = next(iter(content.mall.values()))
    body = json.dumps(render.mall_page(product, 1, 10), ensure_ascii=False)
    assert MallCommentsPage(page(f"{base}/api/mall/comments?productId={product.sku}", body)).mentions()[0].permalink == \
        f"{base}/mall/comments/{product.comments[0].id}"
    feed = next(iter(content.weibo.values()))
    body = json.dumps(render.weibo_page(feed, None, NOW), ensure_ascii=False)
    assert WeiboFeedPage(page(f"{base}/weibo/api/feed?q=x", body)).mentions()[0].permalink == \
        f"{base}/weibo/status/{feed.posts[0].id}"
    thread = content.forum.threads[0]
    post = ForumThreadPage(page(f"{base}/forum/thread/{thread.tid}", render.forum_thread(thread, 1) or "")).mentions()[0]
    assert post.permalink == f"{base}/forum/thread/{thread.tid}?page=1#post-{thread.pages[0][0].pid}"


# --- stores --------------------------------------------------------------------------------


def mention(text: str = "The room was quiet.", link: str | None = "https://h.example/r/1", **kw: Any) -> Mention:
    m = Mention(site="stayadvisor", kind="review", url="https://h.example/hotel?page=1", text=text,
                external_id=kw.pop("ext", "r1"), source_id="src", location_id="loc", brand="b",
                published_at=NOW, crawled_at=NOW, permalink=link, **kw)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def test_store_round_trip_and_update_rules_on_every_backend(any_store: Any) -> None:
    s = any_store
    assert s.upsert_mentions([mention(), mention(ext="r2", link=None)]).inserted == 2
    got = {m.external_id: m.permalink for m in s.iter_mentions()}
    assert got == {"r1": "https://h.example/r/1", "r2": None}
    assert s.known_permalinks("src") == {mention().fingerprint: "https://h.example/r/1"}
    # a listing that shows no link, with new content: updated, the known address kept
    assert s.upsert_mentions([mention("The room was quiet and clean.", link=None)]).updated == 1
    (r1,) = [m for m in s.iter_mentions() if m.external_id == "r1"]
    assert (r1.text, r1.permalink) == ("The room was quiet and clean.", "https://h.example/r/1")
    # unchanged content, a first or a new address: recorded, not counted as an update
    result = s.upsert_mentions([mention(ext="r2", link="https://h.example/r/2"),
                                mention("The room was quiet and clean.", link="https://h.example/reviews/1")])
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 2)
    assert {m.external_id: m.permalink for m in s.iter_mentions()} == \
        {"r1": "https://h.example/reviews/1", "r2": "https://h.example/r/2"}
    # unchanged and without a link: nothing moves
    assert s.upsert_mentions([mention(ext="r2", link=None)]).unchanged == 1
    assert {m.external_id: m.permalink for m in s.iter_mentions()}["r2"] == "https://h.example/r/2"


def test_an_older_sqlite_store_gains_the_column_and_fills_it_on_the_next_crawl(tmp_path: Path) -> None:
    from crawlers.store.sqlite import SQLiteStore

    db = tmp_path / "old.db"
    s = SQLiteStore(str(db))
    s.upsert_mentions([mention(link=None)])
    s.close()
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE mentions DROP COLUMN permalink")  # as a store from before the field
    con.commit()
    assert "permalink" not in {r[1] for r in con.execute("PRAGMA table_info(mentions)")}
    con.close()
    s = SQLiteStore(str(db))
    try:
        (m,) = s.iter_mentions()
        assert m.permalink is None and m.text == "The room was quiet."
        assert s.known_permalinks("src") == {}
        assert s.upsert_mentions([mention()]).unchanged == 1  # same content, now with its address
        (m,) = s.iter_mentions()
        assert m.permalink == "https://h.example/r/1"
    finally:
        s.close()


def test_mongo_documents_from_before_the_field_read_without_one() -> None:
    from crawlers.store.mongo import doc_to_mention, mention_to_doc

    doc = mention_to_doc(mention())
    assert doc["permalink"] == "https://h.example/r/1"
    del doc["permalink"]
    assert doc_to_mention(doc).permalink is None


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db"})
    c.spider = type("S", (), {"name": "src"})()  # source_id_of: the spider's name
    c.stats.open_spider()
    return c


@pytest.mark.parametrize(("stored", "incoming", "passes"), [
    (None, "https://h.example/r/1", True),  # stored before the field: the address is news
    ("https://h.example/r/1", "https://h.example/reviews/1", True),  # the site moved its review pages
    ("https://h.example/r/1", "https://h.example/r/1", False),
    ("https://h.example/r/1", None, False),  # a page without the link: nothing to record
    (None, None, False),
])
def test_dedupe_passes_an_unchanged_mention_only_for_an_address_the_store_lacks(
        crawler: Any, stored: str | None, incoming: str | None, passes: bool) -> None:
    dedupe = DedupePipeline.from_crawler(crawler)
    dedupe.store.upsert_mentions([mention(link=stored)])
    asyncio.run(dedupe.open_spider())
    item = mention(link=incoming)
    if passes:
        assert dedupe.process_item(item) is item
        assert crawler.stats.get_value("vocwatch/permalink/new") == 1
    else:
        with pytest.raises(DropItem, match="already_stored"):
            dedupe.process_item(item)
