"""Chinese-site adapters on the real saved pages in ../shared/pages (see its SOURCES.md).

Expected values were read off the raw files (jq/grep), not copied from parser output.
The pages carry no fetch time, so each test fixes ``now`` (Asia/Shanghai) near the
page's era; relative and yearless dates are asserted against it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spiders.pages import registry
from spiders.pages.base import MalformedPage, Page
from spiders.pages.dianping import GLYPH, missing_glyphs
from spiders.pages.jsdata import js_assignments, load_js
from spiders.pages.weibo_site import region
from tests.conftest import shared_path


def next_url(site: str, page: Page) -> str | None:
    """The next page the site's page object gives for ``page``."""
    return registry.adapter(site).read(page).next_url

SH = ZoneInfo("Asia/Shanghai")


def page(rel: str, url: str, now: datetime) -> Page:
    return Page(url=url, text=shared_path("pages", *rel.split("/")).read_text("utf-8"), now=now, tz=SH)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_every_china_site_is_registered() -> None:
    assert {"jd", "taobao", "eleme", "qunar", "dianping", "weibo", "zhihu"} <= set(registry.sites())


# --- jsdata -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('cb({"a": 1})', {"a": 1}),
        ('jQuery123_456({"a": [1, 2]});', {"a": [1, 2]}),
        (')]}\'\n[1, "x"]', [1, "x"]),
        ("export const x = {a: 1, 'b': \"2\", c: [1,2,],};\nexport default x", {"a": 1, "b": "2", "c": [1, 2]}),
        ("/** c */\nmodule.exports = {ret: true, msg: ''};", {"ret": True, "msg": ""}),
        ("let requests = [1, 2];", [1, 2]),
        ("var d = {k: null}", {"k": None}),
    ],
)
def test_load_js_wrappers(text: str, expected: object) -> None:
    assert load_js(text) == expected


def test_hostile_literals_are_data_or_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = f"__import__('os').system('touch {marker}')"
    assert load_js("{a: alert(1)}") == {"a": "alert(1)"}
    assert load_js(f"var x = {{run: {payload}}}") == {"run": payload}
    assert load_js("{f: function(){ return 1 }, n: new Date()}") == {
        "f": "function(){ return 1 }", "n": "new Date()"}
    for bad in ("alert(1)", payload, "fetch('/steal')", "(function(){ return 1 })()", "let x = f();"):
        with pytest.raises(MalformedPage):
            load_js(bad)
    assert js_assignments("let a = f();\nlet b = {c: alert(2)};") == {"b": {"c": "alert(2)"}}
    assert not marker.exists()


# --- JD -----------------------------------------------------------------------------------

JD_URL = "https://club.jd.com/comment/productPageComments.action?productId=100137153194&score=0&sortType=5&page=0&pageSize=10"


def test_jd_comments() -> None:
    p = page("jd/jd_comments.json", JD_URL, datetime(2025, 3, 1, tzinfo=SH))
    ms = registry.adapter("jd")(p)
    assert len(ms) == 997
    first, last = ms[0], ms[-1]
    assert first.external_id == "22349759576"
    assert first.text.startswith("外观材质：外观非常精致美观，颜色很好看\n操作方式：")
    assert first.text.endswith("京东购买，快递放心速度，很赞😎")
    assert (first.author, first.author_region, first.variant) == ("j***珂", "江苏", "【小气泡】316L不锈钢 1L")
    assert (first.rating_raw, first.rating_scale, first.rating) == (5.0, 5.0, 5.0)
    assert first.published_at == utc(2025, 2, 7, 7, 0, 6)
    assert (first.likes, first.comments) == (6, 0)
    assert last.external_id == "21764412692"
    assert last.author == "大***3" and last.author_region == "浙江"
    assert last.variant == "⭐2L【家庭款】 316L不锈钢"
    assert last.published_at == utc(2024, 11, 12, 2, 7, 46)
    replied = next(m for m in ms if m.reply_text)
    assert replied.reply_text.startswith("尊敬的顾客：您好！很抱歉给您带来不便")
    assert replied.reply_at == utc(2024, 10, 25, 16, 10, 15)
    followed = [m for m in ms if "\n追评：" in m.text]
    assert len(followed) == 9
    assert any(m.text.endswith("追评：用后不足之处是没有烧开水功能，想喝开水要很久时间才会烧开") for m in followed)
    assert next_url("jd", p) == JD_URL.replace("page=0", "page=1")


# --- Taobao, Ele.me, Qunar ----------------------------------------------------------------


def test_taobao_rates() -> None:
    url = 'https://h5api.m.taobao.com/h5/mtop.wdetail.getitemrates/3.0/?data={"auctionNumId":"521422451240","pageNo":1}'
    p = page("taobao/comment.js", url, datetime(2019, 8, 25, tzinfo=SH))
    ms = registry.adapter("taobao")(p)
    assert len(ms) == 10
    assert ms[0].external_id == "1055390436782" and ms[0].author == "x**9"
    assert ms[0].text.startswith("纸张大小合适，纸质柔软") and ms[0].text.endswith("包装完好无损。")
    assert ms[0].published_at == utc(2019, 8, 20, 16) and ms[0].rating is None
    assert ms[-1].external_id == "1055232379222" and ms[-1].published_raw == "2019-08-15"
    assert ms[8].text.endswith("\n追评：纸质看起来很好，挺柔软的，也不粗糙，也不易破。非常实惠，")
    assert '"pageNo":2' in (next_url("taobao", p) or "").replace("%22", '"').replace("%3A", ":").replace("%2C", ",")


def test_eleme_ratings() -> None:
    url = "https://www.ele.me/restapi/ugc/v3/restaurants/1/ratings?limit=20&offset=0"
    p = page("eleme/comment.js", url, datetime(2018, 11, 10, tzinfo=SH))
    ms = registry.adapter("eleme")(p)
    assert len(ms) == 20
    first, last = ms[0], ms[-1]
    assert first.text == "红运热辣堡 肉有点柴。特价蜜汁手扒鸡 秘制鸡腿堡 薯条-小 都好吃！"
    assert first.author is None  # 匿名用户
    assert first.variant == "薯条-小、红运热辣堡、特价蜜汁手扒鸡、秘制鸡腿堡"
    assert first.published_at == utc(2018, 11, 3, 16) and first.reply_at == utc(2018, 11, 4, 16, 33, 47)
    assert first.reply_text.startswith("亲爱的顾客，感谢您选择品尝本店的美食")
    assert (last.text, last.author, last.rating, last.external_id) == ("非常满意！！", "a*******4", 5.0, "3029672697081182458")
    assert last.reply_at == utc(2018, 9, 30, 6, 24, 16)
    assert [m.rating_raw for m in ms].count(4.0) == 2
    assert sum(1 for m in ms if not m.text) == 4  # star-only ratings: kept as rating-only reviews
    assert next_url("eleme", p) == url.replace("offset=0", "offset=20")


def test_qunar_comments() -> None:
    url = "https://touch.qunar.com/api/hotel/hoteldetail/comment?seq=beijing_city_1&page=1"
    p = page("qunar/comment.js", url, datetime(2015, 12, 8, tzinfo=SH))
    ms = registry.adapter("qunar")(p)
    assert len(ms) == 15
    first, last = ms[0], ms[-1]
    assert (first.author, first.title, first.external_id) == ("hbwdhx", "最满意的一家7天了，全五分", "28993582")
    assert first.text.startswith("今天预定了7天酒店天坛东门地铁站店。") and first.text.endswith("推荐入住！")
    assert (first.likes, first.comments, first.rating_raw) == (24, 3, 5.0)
    assert first.published_at == utc(2015, 1, 8, 16)
    assert (last.author, last.title, last.published_raw) == ("xvss2139", "环境不错", "2015-11-20")
    assert last.text == "离地铁很近，环境不错，晚上睡觉很安静，白天能听到外面的鸟叫声，总体还是不错的"
    assert ms[10].rating == 1.0 and ms[10].likes == 9
    assert next_url("qunar", p) == url.replace("page=1", "page=2")


# --- Dianping -----------------------------------------------------------------------------


def test_dianping_glyphs_are_flagged_not_dropped() -> None:
    p = page("dianping/dianping.html", "https://www.dianping.com/shop/3500059", datetime(2018, 8, 1, tzinfo=SH))
    ms = registry.adapter("dianping")(p)
    assert len(ms) == 10
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author) == ("440332154", "学忘情")
    assert first.text.startswith(f"听说这{GLYPH}广{GLYPH}{GLYPH}一家做蒸汽火锅{GLYPH}店")
    assert "大虾🍤刚" in first.text  # surrogate-pair entities joined, not turned into GLYPH
    assert missing_glyphs(first) == 41  # <span class="fr-…"> in its full text
    assert (first.rating_raw, first.rating_scale, first.rating) == (50.0, 50.0, 5.0)
    assert first.published_at == utc(2018, 7, 26, 11, 13)
    assert (first.likes, first.comments) == (0, 1)
    assert first.reply_text == "亲！谢谢！期待您的下次光临！" and first.reply_at == utc(2018, 7, 30, 13, 13, 7)
    assert (last.external_id, last.author, last.rating) == ("439102019", "wuli番茄", 4.0)
    assert (last.likes, last.comments, last.published_raw) == (46, 4, "2018-07-22 14:53")
    assert [m.rating_raw for m in ms].count(30.0) == 1
    assert next_url("dianping", p) == "https://www.dianping.com/shop/3500059/review_all"


# --- Weibo --------------------------------------------------------------------------------

WEIBO = "weibo/"


def test_weibo_cn_comment_page() -> None:
    p = page(WEIBO + "4d5ed0a3ebd0303cb45edd544dbc0ab5e86d43e103405f0c60515884.html",
             "https://weibo.cn/comment/J5cVGuUNq", datetime(2025, 3, 1, 12, tzinfo=SH))
    ms = registry.adapter("weibo")(p)
    assert len(ms) == 12 and {m.kind for m in ms} == {"comment"}
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.text) == ("4512413737386822", "LUX力士", "大家和迪迪一起保护动物[心]")
    assert first.likes == 18737 and first.author_region is None  # "网页" is a client
    assert first.published_at == utc(2020, 6, 5, 3, 12, 14)
    assert (ms[3].published_raw, ms[3].author_region) == ("01月10日 12:43", "河南")
    assert ms[3].published_at == utc(2025, 1, 10, 4, 43)
    assert (last.external_id, last.author, last.text) == ("4763485294037480", "诗润我心", "太棒了，热巴姐姐")
    assert (last.author_region, last.published_at, last.likes) == ("河北", utc(2022, 4, 28, 23, 0, 58), 0)
    assert next_url("weibo", p) == "https://weibo.cn/comment/J5cVGuUNq?page=2"


def test_weibo_cn_profile_timeline() -> None:
    p = page(WEIBO + "d486235d4a17dd0accb0f2cc77b3648abfa03580b9e0cdb61f1e618f.html",
             "https://weibo.cn/1669879400/profile?page=3", datetime(2020, 6, 10, tzinfo=SH))
    ms = registry.adapter("weibo")(p)
    assert len(ms) == 10 and {m.author for m in ms} == {"Dear-迪丽热巴"}
    first, last = ms[0], ms[-1]
    assert first.external_id == "J3xfm61AZ" and first.text.startswith("粉色天空、闪耀夜色、浪漫爱意…")
    assert (first.likes, first.reposts, first.comments) == (692092, 1000000, 1000000)
    assert first.published_at == utc(2020, 5, 25, 3, 13)
    assert last.external_id == "IFHwwaVNL"
    assert last.text.startswith("#极限挑战#举手之劳，岳岳哥别客气！//@岳云鹏:")
    assert (last.likes, last.reposts, last.comments) == (983376, 1000000, 1000000)  # not the 原文 counts
    assert last.published_at == utc(2020, 4, 30, 4, 30)
    assert next_url("weibo", p) == "https://weibo.cn/1669879400?page=4"


def test_weibo_api_responses_js() -> None:
    text = shared_path("pages", "weibo", "response.js").read_text("utf-8")
    responses = js_assignments(text)
    urls = responses.pop("requests")
    assert list(responses) == ["userInfo", "cards1", "statuses1", "retweet01", "comments1", "comments2"]
    now = datetime(2019, 6, 16, 12, tzinfo=SH)
    read = {name: Page(url, json.dumps(resp, ensure_ascii=False), now, SH)
            for url, (name, resp) in zip(urls, responses.items(), strict=True)}
    got = {name: registry.adapter("weibo")(pg) for name, pg in read.items()}
    assert {k: len(v) for k, v in got.items()} == {
        "userInfo": 0, "cards1": 10, "statuses1": 1, "retweet01": 1, "comments1": 12, "comments2": 20}
    cards = got["cards1"]
    assert (cards[0].external_id, cards[0].text) == ("4383183661430868", "搬完这块砖，就可以吃好吃的了[偷笑][偷笑][偷笑]")
    assert (cards[0].reposts, cards[0].comments, cards[0].likes) == (240492, 95535, 348872)
    assert cards[0].published_at == utc(2019, 6, 13, 16)  # "06-14"
    assert cards[-1].external_id == "4378514142544199" and cards[-1].reposts == 1000000  # "100万+"
    assert got["statuses1"][0].external_id == "4383487819465288"
    assert got["statuses1"][0].text.startswith("😄😆😊😃")
    show = got["retweet01"][0]
    assert (show.text, show.author, show.published_at) == ("转发微博", "九月九的晴天", utc(2019, 6, 15, 3, 44, 46))
    c1 = got["comments1"]
    assert (c1[0].published_raw, c1[0].published_at, c1[0].author) == ("刚刚", utc(2019, 6, 16, 4), "迪热热的毛裤诶")
    assert (c1[-1].author, c1[-1].likes) == ("爱吃青菜-m", 1058)
    c2 = got["comments2"]
    assert (c2[0].author, c2[0].likes, c2[0].comments) == ("护舒宝", 6183, 143)
    assert c2[0].published_at == utc(2019, 6, 14, 12, 39, 20)
    assert (c2[-1].external_id, c2[-1].author) == ("4383206419276344", "Dear-迪丽热巴部落")
    assert next_url("weibo", read["comments2"]).endswith("max_id_type=0&max_id=314345666829623")
    assert next_url("weibo", read["comments1"]).endswith("page=2")
    assert next_url("weibo", read["cards1"]).endswith("&page=3")
    assert next_url("weibo", read["retweet01"]) is None
    assert len(registry.adapter("weibo")(Page("file:response.js", text, now, SH))) == 44


def test_weibo_data_js_literal() -> None:
    url = "https://m.weibo.cn/api/container/getIndex?containerid=1076035529945701&page=2"
    p = page(WEIBO + "data.js", url, datetime(2019, 7, 15, 10, tzinfo=SH))
    ms = registry.adapter("weibo")(p)
    assert len(ms) == 11
    assert (ms[0].external_id, ms[0].published_raw, ms[0].author) == ("4387933362623405", "06-27", "绝地求生刺激战场游戏攻略")
    assert (ms[0].reposts, ms[0].comments, ms[0].likes) == (6, 3, 6)
    assert (ms[1].published_raw, ms[1].published_at) == ("15小时前", utc(2019, 7, 14, 11))
    assert ms[-1].external_id == "4391217448415784" and ms[-1].published_at == utc(2019, 7, 6, 16)
    assert (ms[-1].reposts, ms[-1].comments, ms[-1].likes) == (2, 3, 12)
    assert next_url("weibo", p) == url.replace("page=2", "page=3")


def test_weibo_region_forms() -> None:
    assert region("发布于 上海") == "上海"
    assert region("来自上海") == "上海"
    assert region("来自来自广东") == "广东"
    assert region("iPhone客户端") is None and region("生日动态") is None and region(None) is None


# --- Zhihu --------------------------------------------------------------------------------


def test_zhihu_question_page() -> None:
    p = page("zhihu/zhihu.html", "https://www.zhihu.com/question/50903751", datetime(2017, 9, 12, tzinfo=SH))
    ms = registry.adapter("zhihu")(p)
    assert len(ms) == 1
    a = ms[0]
    assert (a.external_id, a.author, a.likes, a.comments) == ("227090134", "阿宝", 300, 184)
    assert a.title == "发型对于一个人气质的改变到底有多大作用？"
    assert a.url == "https://www.zhihu.com/question/50903751/answer/227090134"
    assert a.published_at == utc(2017, 9, 8, 5, 2, 3)
    assert a.text.startswith("评论里有说看起来没差的\n我找了三个发型的拼一起对比一下")
    assert a.text.endswith("不过有个爆照的机会还被夸真是开心(///▽///)\n感谢善良的知友们")
    assert next_url("zhihu", p) == "https://www.zhihu.com/api/v4/questions/50903751/answers?offset=1&limit=20"
