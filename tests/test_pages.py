"""Page objects on small hand-written pages: fallbacks and odd shapes the sandbox does not serve."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from spiders.pages.base import MalformedPage, Page
from spiders.pages.feed import FeedPage
from spiders.pages.mall import MallCommentsPage
from spiders.pages.schema_hotel import SchemaHotelReviewPage
from spiders.pages.weibo import WeiboFeedPage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SH = ZoneInfo("Asia/Shanghai")


def page(text: str, url: str = "http://site.test/p?page=1") -> Page:
    return Page(url=url, text=text, now=NOW, tz=SH)


CARD = """<article class="review" data-review-id="r1">
  <h3 class="review-title">Quiet &amp; clean</h3>
  <div class="review-meta"><span class="reviewer">Ann</span> · <time datetime="2026-11-20T14:32:00+08:00">Nov 20</time> · <span class="score">8/10</span></div>
  <div class="review-body"><p>Room was spotless.</p><p>Staff kind.</p></div>
  <div class="helpful"><span class="helpful-count">3</span> found this helpful</div>
  <div class="owner-reply"><time datetime="2026-11-21T09:00:00+08:00">x</time><p class="reply-text">Thank you!</p></div>
</article>"""


def test_hotel_cards_alone_when_jsonld_is_broken() -> None:
    html = f'<html><head><script type="application/ld+json">{{"@type": "Hotel", "review": [</script></head><body>{CARD}<a rel="next" href="?page=2">Next</a></body></html>'
    po = SchemaHotelReviewPage(page(html))
    (m,) = po.mentions()
    assert (m.external_id, m.rating_raw, m.rating_scale, m.likes) == ("r1", 8.0, 10.0, 3)
    assert m.published_at == datetime(2026, 11, 20, 6, 32, tzinfo=UTC)
    assert m.reply_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    assert "Room was spotless." in m.text and "Thank you!" in (m.reply_text or "")
    assert po.next_url() == "http://site.test/p?page=2"


def test_hotel_jsonld_in_graph_without_cards() -> None:
    html = """<script type="application/ld+json">{"@graph": [{"@type": "Hotel", "review": {"@type": "Review",
      "identifier": "x9", "reviewBody": "Too noisy", "author": {"name": "Bo"}, "datePublished": "2026-11-01",
      "reviewRating": {"ratingValue": "2", "bestRating": "5"}}}]}</script>"""
    (m,) = SchemaHotelReviewPage(page(html)).mentions()
    assert (m.external_id, m.text, m.author, m.rating_raw, m.rating_scale) == ("x9", "Too noisy", "Bo", 2.0, 5.0)
    assert m.published_at == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # local midnight in Shanghai


def test_mall_shapes() -> None:
    with pytest.raises(MalformedPage):
        MallCommentsPage(page('{"comments": [{"id": 1, "content": "好'))
    with pytest.raises(MalformedPage):
        MallCommentsPage(page('{"comments": "none"}'))
    po = MallCommentsPage(page('{"maxPage": 3, "comments": [{"id": 7, "content": "不错", "score": "x", "replies": null}, 5]}'))
    (m,) = po.mentions()
    assert po.max_page == 3 and m.rating_raw is None and m.reply_text is None and m.external_id == "7"


def test_weibo_cursor_end_and_region() -> None:
    po = WeiboFeedPage(page('{"ok": 1, "data": {"statuses": [{"id": 5, "text": "好", "created_at": "刚刚", '
                            '"region_name": "发布于 浙江", "user": null}], "max_id": 0}}'))
    (m,) = po.mentions()
    assert po.next_cursor is None and m.author_region == "浙江" and m.published_at == NOW
    with pytest.raises(MalformedPage):
        WeiboFeedPage(page('{"ok": 0, "msg": "请先登录"}'))


def test_atom_feed_and_non_feed() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
      <entry><id>urn:1</id><title>T</title><link href="/a/1"/><published>2026-11-20T10:00:00Z</published>
      <author><name>Cy</name></author><summary>&lt;b&gt;great&lt;/b&gt; stay</summary></entry></feed>"""
    (m,) = FeedPage(page(atom)).mentions()
    assert (m.external_id, m.url, m.author, m.text) == ("urn:1", "http://site.test/a/1", "Cy", "<b>great</b> stay")
    with pytest.raises(MalformedPage):
        FeedPage(page("<html><body>not a feed</body></html>")).mentions()
