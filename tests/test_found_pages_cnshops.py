"""Chinese shop adapters (jd, taobao, qunar, dianping) on real pages found in public repositories.

Each fixture folder under ``tests/fixtures/pages`` holds the page byte-for-byte (``input.*``),
``meta.json`` (URL, fetch time, zone, charset, origin repo/path/commit) and ``output.json``
(checked field by field in ``tests/test_fixtures.py``). The expectations below were read off
the raw files, not off parser output: JSON with ``python -c 'json.load(...)'`` over the raw
``rateList`` (counts, first/last rates, placeholders) and ``grep -c '"rateDate":'``. Dates are
Asia/Shanghai wall time, asserted in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from spiders.pages import registry
from spiders.pages.base import Page
from spiders.pages.registry import Reading
from vocwatch.fixtures import Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(rel: str) -> tuple[Page, dict]:
    fixture = Fixture(FIXTURES / rel)
    return fixture.page(), fixture.meta()


def read(rel: str) -> Reading:
    return Fixture(FIXTURES / rel).read()


# --- Taobao / Tmall -------------------------------------------------------------------------


def test_tmall_rate_list_all_54_pages_joined() -> None:
    """Norcy/Taobao_Comment data.json: page 1's ``rateDetail`` (paginator page 1 of 54,
    rateCount.total 1073) whose ``rateList`` holds the rates of all 54 pages (the repo's
    script appended them). Read off the raw file: 1073 rates with 1073 distinct ids; 45 say
    "此用户没有填写评论!" (Tmall's "no words" placeholder), 34 of those have an appended
    review, so 11 rates carry no words at all; 61 appended reviews; 507 shop replies on the
    rate itself and 47 on the appended review, 552 rates with one or both."""
    r = read("taobao/tmall-lamp-603314107202-all-pages")
    ms = r.mentions
    assert len(ms) == 1073 and len({m.external_id for m in ms}) == 1073
    assert {m.site for m in ms} == {"taobao"} and {m.kind for m in ms} == {"review"}
    assert sum(1 for m in ms if m.text == "") == 11
    assert sum(1 for m in ms if m.text.startswith("追评：")) == 34  # placeholder + follow-up
    assert sum(1 for m in ms if "追评：" in m.text) == 61
    assert not any("此用户没有填写评论" in m.text for m in ms)
    assert sum(1 for m in ms if m.reply_text) == 552
    assert all(m.rating is None for m in ms)  # the rate list carries no star score

    first = ms[0]
    assert (first.external_id, first.author) == ("1082190478546", "曹***宾")
    assert first.text == "灯特别亮 感谢装修师傅了🙏"
    assert (first.published_raw, first.published_at) == ("2020-04-24 15:39:24", utc(2020, 4, 24, 7, 39, 24))
    assert first.variant == "颜色分类:长方形110CM三色分段112W"
    assert first.reply_text.startswith("有时候，一首歌就能让回忆泛滥。") and first.reply_text.endswith("温暖为向。")

    second = ms[1]  # "anony": true, the nick is masked either way
    assert (second.external_id, second.author) == ("1082460968486", "s***1")
    assert second.text == "买了4个；质量很好，很快收到，好安装，亮还省电"
    assert second.published_at == utc(2020, 5, 1, 3, 50, 10)
    assert second.variant == "颜色分类:方形55CM单色白光48W"

    both = ms[74]  # the first rate with words of its own and an appended review, each replied to
    assert both.external_id == "1062228083177"
    body, follow = both.text.split("\n追评：")
    assert body.startswith("质量非常的不错 外观超级好看 好几种款式 性价比很高")
    assert follow.startswith("很好看，安装起来很方便，看起来超级高档")
    reply, follow_reply = both.reply_text.split("\n")
    assert reply.startswith("非常感谢您对罗弗利灯具旗舰店的支持与信赖")
    assert follow_reply.startswith("收到您的好评，我竟不知如何回复才能体现此")

    last = ms[-1]
    assert (last.external_id, last.author) == ("1083005897395", "古***巴")
    assert last.text == "不诚信商家，不诚信商家，不诚信经营企业\n追评：客户就是个骗子"
    assert last.published_at == utc(2020, 5, 3, 9, 6, 12)
    assert last.reply_text is None  # "reply": "" on both the rate and the follow-up

    published = sorted(m.published_at for m in ms)
    assert (published[0], published[-1]) == (utc(2019, 9, 22, 5, 26, 51), utc(2020, 5, 3, 9, 6, 12))
    # page 1 of 54 by its own paginator: the next page is currentPage=2
    assert r.next_url == r.mentions[0].url.replace("currentPage=1", "currentPage=2")


# --- Dianping ------------------------------------------------------------------------------


def test_dianping_cinema_page_saved_as_a_json_string() -> None:
    """wangqian6151/dazhongdianping_requests bak/6.html: the rendered shop page written as a
    JSON string without its outer quotes (``<html xmlns=\\"…\\"``, ``\\u3010``). Read off the
    raw file with ``grep -o 'data-id=\\\\"[0-9]*'``, ``grep -o 'sml-rank-stars sml-str[0-9]*'``,
    ``grep -o 'class=\\\\"time\\\\">[^<]*'`` and the ``\\uXXXX`` names decoded by hand: 10
    reviews, ids 421576610 … 395726948, stars 40 40 50 40 40 40 50 30 40 30 (of 50), "赞 (n)"
    on 8 of them, no shop replies, no glyph spans; ``p.comment-all`` links review_all."""
    r = read("dianping/cinema-shop-17922309-json-escaped-2018")
    ms = r.mentions
    assert [m.external_id for m in ms] == [
        "421576610", "421878021", "422913495", "417067103", "401966306",
        "420574985", "398246431", "420631270", "399209948", "395726948",
    ]
    assert [m.author for m in ms] == [
        "你猜猜为什么", "妈哒妈哒", "就爱吃就爱买", "八姐的优雅", "虎鸽13",
        "徐呵呵吃遍世界", "Sebrina瑶", "achilleustao", "米有樱桃", "丫丫丸子",
    ]
    assert [m.rating for m in ms] == [4.0, 4.0, 5.0, 4.0, 4.0, 4.0, 5.0, 3.0, 4.0, 3.0]
    assert [m.rating_raw for m in ms][:3] == [40.0, 40.0, 50.0] and {m.rating_scale for m in ms} == {50.0}
    assert [m.likes for m in ms] == [1, 13, 2, 1, 10, 1, 0, 0, 1, 1]
    first = ms[0]  # "2018-05-26  更新于2018-05-26 23:36": the post date counts
    assert first.published_raw.startswith("2018-05-26") and "更新于2018-05-26 23:36" in first.published_raw
    assert first.published_at == utc(2018, 5, 25, 16)
    assert ms[1].published_at == utc(2018, 5, 27, 15, 40)
    assert ms[-1].published_at == utc(2018, 1, 24, 10, 1)
    third = ms[2].text
    assert third.startswith("好久没来这边看电影，设施比之前好很多，而且现在3d眼镜可以自助购买")
    assert "\n服务态度还是一般般" in third  # <br /> kept as a line break
    assert ms[-1].text.startswith("南山欢乐颂那边的一家电影院，叫百川国际影城。")
    assert ms[-1].text.endswith("票价三十几，还比较划算。")
    assert all(m.text and "\\u" not in m.text and '\\"' not in m.text for m in ms)
    assert {m.reply_text for m in ms} == {None}
    assert r.next_url == "https://www.dianping.com/shop/17922309/review_all"


def test_dianping_shop_page_whose_list_was_left_to_script() -> None:
    """bak/4.html: 太平洋电影城 shop page that counts "3865条评论" (``grep -o 'id="reviewCount"
    [^<]*'``) while ``#reviewlist-wrapper`` is empty in the saved HTML: no reviews to read, and
    the crawl goes on to the shop's review_all list instead of stopping."""
    r = read("dianping/cinema-shop-4230103-list-by-script-2018")
    assert r.mentions == []
    assert r.next_url == "https://www.dianping.com/shop/4230103/review_all"


# --- JD (no real page found: shapes from documented answers) -------------------------------

JD_TWO_ERAS = (
    'fetchJSON_comment98({"productCommentSummary":{"commentCount":53},"maxPage":6,"comments":['
    '{"id":1334913681,"content":"还行吧，字好小","creationTime":"2016-02-18 22:08:37","score":5,'
    '"nickname":"j***o","userProvince":"广东","productColor":"玫瑰红","productSize":"","replyCount":0,'
    '"usefulVoteCount":0},'
    '{"id":10681890470,"content":"Dior这款567很好的，缪斯玫红色","creationTime":"2017-08-08 00:44:24",'
    '"score":5,"nickname":"山***彡","userProvince":"","productColor":"567#缪斯玫红","replyCount":3,'
    '"usefulVoteCount":31,"replies":[{"content":"您好，我们可以保证京东所售商品都是正品/真品",'
    '"creationTime":"2019-04-24 14:41:40"}],"afterDays":6,"afterUserComment":{"id":38334463,'
    '"created":"2019-03-12 19:07:41","hAfterUserComment":{"id":38334463,'
    '"content":"挺好的，不会有唇纹，用过的最好的一款口红了"}}}]})'
)


def test_jd_answers_of_two_eras() -> None:
    """No saved productPageComments answer outside forbidden repositories turned up (see the
    lane report), so this reads two comments reduced from documented answers: a 2016 one
    (``userProvince`` for the buyer's province, a 2016 club.jd.com answer pasted into a public
    Python file) and a 2019 one whose follow-up sits one level down, in
    ``afterUserComment.hAfterUserComment.content`` (a public JD API write-up quoting a real
    answer). Both eras' follow-ups and provinces are read."""
    url = ("https://club.jd.com/comment/productPageComments.action?callback=fetchJSON_comment98"
           "&productId=1548519301&score=0&sortType=5&page=0&pageSize=10")
    page = Page(url, JD_TWO_ERAS, datetime(2019, 4, 25, tzinfo=ZoneInfo("Asia/Shanghai")), ZoneInfo("Asia/Shanghai"))
    r = registry.adapter("jd").read(page)
    old, new = r.mentions
    assert (old.external_id, old.author, old.author_region, old.variant) == ("1334913681", "j***o", "广东", "玫瑰红")
    assert old.published_at == utc(2016, 2, 18, 14, 8, 37)
    assert (new.external_id, new.author, new.author_region) == ("10681890470", "山***彡", None)
    assert new.text == "Dior这款567很好的，缪斯玫红色\n追评：挺好的，不会有唇纹，用过的最好的一款口红了"
    assert (new.likes, new.comments, new.rating) == (31, 3, 5.0)
    assert new.reply_text == "您好，我们可以保证京东所售商品都是正品/真品"
    assert new.reply_at == utc(2019, 4, 24, 6, 41, 40)
    assert r.next_url == url.replace("page=0", "page=1")
