"""Chinese-site adapters on real pages found in public repositories (tests/fixtures/pages).

Each fixture folder holds the page byte-for-byte (``input.*``) and ``meta.json`` (URL, the
fetch time read off the page or its commit, the site's zone, encoding, origin repo/path/
commit). The expected values below were read off the raw files with grep/sed (JS literals
and HTML source read by eye, e.g. ``grep -n 'rated_at\\|^    rating:' input.js``,
``grep -o 'itemProp="upvoteCount" content="[^"]*"' input.html``), not copied from parser
output. Dates are Asia/Shanghai wall time, asserted in UTC.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spiders.pages import registry
from spiders.pages.base import Page, html_selector
from spiders.pages.dianping import GLYPH, missing_glyphs
from spiders.pages.registry import Reading
from spiders.pages.weibo import WeiboFeedPage
from spiders.pages.weibo_site import _wap_author
from vocwatch.fixtures import KEPT_FOR_INDEPENDENT_CHECKS, Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
CHINA_SITES = ("jd", "taobao", "eleme", "qunar", "dianping", "weibo", "zhihu", "mall_comments", "weibo_feed")
FORBIDDEN = KEPT_FOR_INDEPENDENT_CHECKS


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fixture_dirs() -> list[Path]:
    return sorted(d for s in CHINA_SITES for d in (FIXTURES / s).glob("*/") if (d / "meta.json").exists())


def load(rel: str) -> tuple[Page, dict]:
    fixture = Fixture(FIXTURES / rel)
    return fixture.page(), fixture.meta()


def read(rel: str) -> Reading:
    return Fixture(FIXTURES / rel).read()


# --- the fixtures themselves ------------------------------------------------------------


@pytest.mark.parametrize("folder", fixture_dirs(), ids=lambda d: f"{d.parent.name}/{d.name}")
def test_fixture_is_documented_and_allowed(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    assert meta["site"] in registry.sites()
    assert re.fullmatch(r"[0-9a-f]{40}", meta["origin"]["commit"])
    assert meta["origin"]["repo"] not in FORBIDDEN
    assert meta["url"].startswith("http") and meta["tz"] == "Asia/Shanghai"
    assert datetime.fromisoformat(meta["now"]).tzinfo is not None
    inputs = list(folder.glob("input.*"))
    assert len(inputs) == 1 and inputs[0].stat().st_size < 3_000_000  # the 3 MB page limit
    inputs[0].read_bytes().decode(meta["encoding"])  # decodes with the declared charset
    sources = (FIXTURES / "SOURCES.md").read_text("utf-8")
    assert f"{folder.parent.name}/{folder.name}" in sources


# --- Ele.me -------------------------------------------------------------------------------


def test_eleme_v2_era_keeps_star_only_ratings() -> None:
    """node-elm rate.js: 10 ugc/v2 ratings (``rating_star``, ``item_ratings``); 9 of them have
    ``rating_text: ""``. Before the v2 fields were read, all 10 had no rating and the 9
    star-only ones had neither text nor rating, so the pipeline dropped them."""
    r = read("eleme/node-elm-rate-2017")
    ms = r.mentions
    assert len(ms) == 10
    assert {m.rating for m in ms} == {5.0} and {m.rating_scale for m in ms} == {5.0}
    assert sum(1 for m in ms if m.text == "") == 9
    first = ms[0]
    assert (first.author, first.published_raw) == ("4*******b", "2017-02-10")
    assert first.published_at == utc(2017, 2, 9, 16)
    assert first.variant == "超级至尊比萨-铁盘、韩式浓情风味鸡（标准份）"
    assert (ms[7].author, ms[7].text, ms[7].variant) == ("3*******7", "送餐速度很快！", None)
    assert (ms[2].author, ms[2].variant) == ("，******C", "冰柠檬红茶（标准份）")
    assert (ms[-1].author, ms[-1].published_raw) == ("景***0", "2017-02-09")
    assert {m.external_id for m in ms} == {None}  # v2 ratings carry no id
    assert r.next_url == "https://elm.cangdu.org/ugc/v2/restaurants/1/ratings?offset=10&limit=10"


def test_eleme_v3_all_ratings_with_replies() -> None:
    r = read("eleme/vc-vue-elm-tag-all-2018")
    ms = r.mentions
    assert len(ms) == 20
    first, last = ms[0], ms[-1]
    assert first.external_id == "1223732262997769342"
    assert (first.author, first.text) == (None, "包装的超级好，骑手送货速度也很快！超级好评")  # 匿名用户
    assert (first.rating, first.variant) == (5.0, "好搭档专享：1鸡排1烤翅3鸡肉1饮料套餐")
    assert first.published_at == utc(2018, 8, 5, 16)
    assert first.reply_text.startswith("亲爱的顾客，感谢您选择品尝本店的美食")
    assert first.reply_at == utc(2018, 8, 6, 16, 12, 22)
    assert (last.external_id, last.author, last.text) == ("1222512261515148414", "3*******4", "")
    assert last.variant == "正新鸡排（香辣味）、阿根廷鱿鱼片"
    assert last.reply_text.startswith("简单两个字，是满满的信任。")
    assert last.reply_at == utc(2018, 7, 16, 7, 48, 23)
    assert [m.rating for m in ms].count(4.0) == 2 and [m.rating for m in ms].count(5.0) == 18
    assert sum(1 for m in ms if m.text == "") == 13  # star-only: kept with their rating
    assert sum(1 for m in ms if m.author is None) == 3
    assert all(m.reply_text for m in ms)
    assert r.next_url.endswith("&offset=20&limit=20")


def test_eleme_v3_unsatisfied_tag() -> None:
    r = read("eleme/vc-vue-elm-tag-unsatisfied-2018")
    ms = r.mentions
    assert len(ms) == 11
    assert sorted(m.rating for m in ms) == [1.0] * 9 + [2.0] * 2
    assert {m.author for m in ms} == {None}
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.text, first.rating) == ("3027153998603379838", "中间肉有黑点，无良商家，哎", 2.0)
    assert (first.reply_text, first.reply_at) == (None, None)
    assert first.variant == "正新鸡排（香辣味）、阿拉伯烤肉串"
    assert (last.external_id, last.text) == ("3023658749562355838", "辣味不够，别给老板节约辣椒粉")
    assert last.published_at == utc(2018, 5, 22, 16)
    assert last.reply_at == utc(2018, 5, 24, 2, 54, 4)
    assert sum(1 for m in ms if m.reply_text) == 9
    assert r.next_url is None  # 11 < limit 20: the last page


# --- Dianping -----------------------------------------------------------------------------


def test_dianping_cinema_shop_page() -> None:
    """A cinema's shop page (2018, prettified by BeautifulSoup as saved): cinema pages put the
    review body straight in ``.content > p.desc`` (the short/full ``J-info`` pair only on
    reviews with a 展开 button), so every text came out empty before. Glyph counts per
    body were counted in the raw file (``<span class="fr-`` in the full body)."""
    r = read("dianping/cinema-shop-1705426-2018")
    ms = r.mentions
    assert [m.external_id for m in ms] == ["431053143", "429704700", "431512477", "428999758", "409189519",
                                           "416560974", "429084417", "415267334", "390293592", "426636323"]
    assert [m.author for m in ms] == ["离离'原上草", "小奇奇奇奇奇奇幻", "哗啦哗啦_好好吃", "loveshi22", "wangz727",
                                      "cansun", "草禾鱼", "pipi&xixi", "丘小咔", "StarLord"]
    assert [m.rating for m in ms] == [4.0, 5.0, 5.0, 5.0, 4.0, 5.0, 4.0, 4.0, 5.0, 4.0]  # sml-str40/50
    assert [missing_glyphs(m) for m in ms] == [56, 26, 54, 41, 64, 67, 30, 31, 39, 27]
    assert all(m.text for m in ms)
    first = ms[0]
    assert first.text.startswith(f"为 {GLYPH} 我喜欢 {GLYPH} 李易峰，去橙天嘉禾")
    assert first.text.endswith(f"有，李易峰 {GLYPH} 真帅，身材 {GLYPH} 超级 {GLYPH} [害羞]")
    assert first.published_at == utc(2018, 6, 30, 11, 21)
    assert ms[3].text.endswith(f"座位排与排 {GLYPH} 间 {GLYPH} 间距 {GLYPH} {GLYPH} 小。")  # the full body, not the cut one
    edited = ms[5]
    assert (edited.likes, edited.comments) == (75, 20)  # 赞(75) 回应(20)
    assert edited.published_raw == "2018-05-05 更新于18-05-06 12:29"
    assert edited.published_at == utc(2018, 5, 4, 16)  # posted on the 5th (day only); edited later
    assert r.next_url == "https://www.dianping.com/shop/1705426/review_all"


# --- Zhihu --------------------------------------------------------------------------------


def test_zhihu_question_one_answer() -> None:
    r = read("zhihu/articlespider-zhihu-2018")
    [a] = r.mentions
    assert (a.external_id, a.author, a.likes, a.comments) == ("549372907", "寰宇视野", 259, 66)
    assert a.title == "1000公里路程，开车走国道和高速哪个省钱？"
    assert a.url == "https://www.zhihu.com/question/24705495/answer/549372907"
    assert a.published_at == utc(2018, 12, 10, 13, 41, 41)  # the answer's, not the question's 2014 date
    assert a.text.startswith("作为一个自驾游到全国的人来说，我是有经验的。\n这个问题首先你要确认你目的，你要赶时间，肯定高速；")
    assert a.text.endswith("我每年都会出游几次，欢迎关注本人和专栏：交易哲学家")
    assert r.next_url == "https://www.zhihu.com/api/v4/questions/24705495/answers?offset=1&limit=20"


def test_zhihu_question_two_answers() -> None:
    r = read("zhihu/articlespider-zhihu1-2018")
    ms = r.mentions
    assert [m.external_id for m in ms] == ["488767728", "399050228"]
    assert [m.author for m in ms] == ["马前卒", "鬼木知"]
    assert [(m.likes, m.comments) for m in ms] == [(1622, 96), (912, 46)]
    assert [m.published_at for m in ms] == [utc(2018, 9, 10, 3, 16, 54), utc(2018, 5, 23, 4, 45, 37)]
    assert {m.title for m in ms} == {"为什么中国普遍不支持高中生恋爱？"}
    assert ms[0].text.startswith("因为在中国，恋爱和结婚之间的关联度非常大，而到现在为止，婚姻还是一个家庭经济行为")
    assert ms[1].text.startswith("很多中学生还没搞清楚一件事：\n你以为学校是为你这个学生服务的？（并不）")
    assert ms[1].text.endswith("相信你们可以决定自己生活方式的地步。")
    assert r.next_url == "https://www.zhihu.com/api/v4/questions/277756007/answers?offset=2&limit=20"


def test_zhihu_topic_page_answers_and_a_column_article() -> None:
    """Topic "Python" top answers (Dec 2018, re-indented by BeautifulSoup as saved): 4 answers
    to 4 questions, each Answer holding its own Question (so each gets its own title), and
    one column article (SocialMediaPosting, URL written "https:////zhuanlan..."). The
    topic page shows excerpts (cut with "…" and a 阅读全文 button)."""
    r = read("zhihu/topic-python-top-answers-2018")
    ms = r.mentions
    assert [m.external_id for m in ms] == ["81972368", "24923424", "449795157", "p/20385885", "88744491"]
    assert [m.title for m in ms] == ["如何系统地自学 Python？", "如何入门 Python 爬虫？", "一行代码可以做什么？",
                                     "25 岁才开始学习编程靠谱吗？40 岁都不晚！", "Python 的练手项目有哪些值得推荐？"]
    assert [m.author for m in ms] == ["李金ECHO", "谢科", "鬼谷弈邪", "张瑶", "Wayne Shi"]
    assert [m.likes for m in ms] == [14197, 13104, 12286, None, 12042]  # the article has no upvoteCount meta
    assert [m.comments for m in ms] == [370, 285, 871, 447, 226]
    assert ms[0].url == "https://www.zhihu.com/question/29138020/answer/81972368"
    assert ms[0].published_at == utc(2016, 1, 17, 5, 1, 26)
    assert ms[0].text.startswith("基于这个笔记的实体书了解一下？书名叫《自学Python——编程基础科学计算及数据分析》")
    assert ms[0].text.endswith("我用 Python 做科学计算，自…")
    article = ms[3]
    assert (article.url, article.published_at) == ("https://zhuanlan.zhihu.com/p/20385885", utc(2015, 12, 3, 8, 55, 4))
    assert article.text.startswith("为什么要学编程？可能你有一个伟大的想法要实现，就差一个程序员了。")
    assert ms[2].text.endswith("后来的结局是程序顺利通过编译运行结果正确！")
    assert r.next_url is None  # a topic page: no question to page through


# --- Weibo (weibo.cn WAP) ---------------------------------------------------------------------


def test_weibo_cn_comment_page_hot_and_latest() -> None:
    """weibo.cn/comment/IEY7vfLUm, page 1 of 190: the post (div#M_, not content) then 3
    [热门] comments and 10 latest. Yearless dates take the year of the fetch (2020)."""
    r = read("weibo/wap-comment-IEY7vfLUm-2020")
    ms = r.mentions
    assert len(ms) == 13 and {m.kind for m in ms} == {"comment"}
    assert [m.external_id for m in ms[:4]] == ["4497642757550198", "4497642580915774", "4497642388311464",
                                               "4513211570098004"]
    assert [(m.author, m.likes) for m in ms[:3]] == [("淸晨_love", 7970), ("仙气女girl", 4644), ("·-_-·", 2622)]
    assert ms[0].text == "猫：“老子就是因为不想上课这辈子才投生做猫的！！！”"
    assert ms[0].published_raw == "04月25日 16:57" and ms[0].published_at == utc(2020, 4, 25, 8, 57)
    assert ms[2].text == "大家别一直光盯着猫 看看黑板！"  # a source line break inside the text is a space
    assert (ms[3].author, ms[3].text, ms[3].likes) == ("PEIQI要努力", "回复@酒窝小吴:好像是！", 0)
    assert ms[3].published_at == utc(2020, 6, 7, 8, 2)
    # span.ctt closed after the emoticon; the words after it are still the comment's
    cut = next(m for m in ms if m.external_id == "4513109635614231")
    assert cut.text == "回复@酒窝小吴:没看见过你[允悲]我小学和杨贺一个班的，她妈十分霸道"
    last = ms[-1]
    assert (last.external_id, last.author, last.text) == ("4512781828783971", "比较擅长开心", "回复@酒窝小吴:几班的[喵喵]")
    assert last.published_at == utc(2020, 6, 6, 3, 34)
    assert {m.author_region for m in ms} == {None}  # "来自网页" is a client, not a region
    assert r.next_url == "https://weibo.cn/comment/IEY7vfLUm?page=2"


def test_weibo_cn_profile_header_with_the_name_in_a_child_span() -> None:
    """Unit test of the owner reader on the two header shapes of weibo.cn profiles. The
    page-1 header below is the ``div.ut`` of a real weibo.cn profile (演员任重, Jan 2018)
    that a public Go test embeds in a string, reduced to the header plus one of its posts;
    no such page is stored as a file in an allowed repository (see the report). Page 1
    puts the name in ``<span class="ctt">`` with a V badge image, a VIP link and
    "男/北京"; the old reader took the header's first direct text node, a ``&nbsp;``, and
    gave every post ``author=None``."""
    page1 = ('<html><head><title>任重的微博</title></head><body><div class="u"><div class="ut">'
             '<span class="ctt">任重<img src="https://h5.sinaimg.cn/upload/2016/05/26/319/5338.gif" alt="V"/>'
             '<a href="http://vip.weibo.cn/?F=W_tq_zsbs_01"><img src="x.png" alt="M"/></a>&nbsp;男/北京    &nbsp;    '
             '<a href="/attention/add?uid=1296947890">加关注</a></span><br /><span class="ctt">认证：演员任重</span>'
             '<br /><a href="/1296947890/info">资料</a>&nbsp;<a href="/1296947890/operation?rl=0">操作</a>'
             '</div></div></body></html>')
    page2 = ('<html><head><title>Dear-迪丽热巴的微博</title></head><body><div class="ut">Dear-迪丽热巴的微博&nbsp;'
             '<a href="/attention/add?uid=1669879400">加关注</a></div></body></html>')
    assert _wap_author(html_selector(page1)) == "任重"
    assert _wap_author(html_selector(page2)) == "Dear-迪丽热巴"
    assert _wap_author(html_selector("<html><head><title>评论列表</title></head><body></body></html>")) is None
    post = ('<div class="c" id="M_FFvZziWIi"><div><span class="ctt">这碗狗粮我喜欢！</span></div><div>'
            '<a href="https://weibo.cn/attitude/FFvZziWIi/add">赞[8593]</a>&nbsp;<span class="ct">01月22日 10:56'
            '&nbsp;来自iPhone X</span></div></div>')
    page = Page("https://weibo.cn/yanyuanrenzhong", page1.replace("</body>", post + "</body>"),
                datetime(2018, 1, 24, 13, 38, tzinfo=ZoneInfo("Asia/Shanghai")), ZoneInfo("Asia/Shanghai"))
    [m] = registry.adapter("weibo")(page)
    assert (m.external_id, m.author, m.likes) == ("FFvZziWIi", "任重", 8593)


def test_weibo_com_ajax_build_comments() -> None:
    """weibo.com's web API (Sept 2024): the comments sit in a top-level ``data`` array,
    likes in ``like_counts``, the IP province in ``source`` ("来自江苏"); ``max_id`` 0 with
    "已加载全部评论" is the last page. The reader knew only m.weibo.cn's ``data.data``
    and returned nothing for this shape."""
    r = read("weibo/weibocom-ajax-buildcomments-2024")
    ms = r.mentions
    assert len(ms) == 7 and {m.kind for m in ms} == {"comment"}
    assert [m.external_id for m in ms] == ["5079687065764999", "5079274283865867", "5079225880805516",
                                           "5079249186721981", "5079249302325934", "5079242818456652",
                                           "5079245016008423"]
    first = ms[0]
    assert (first.author, first.text, first.likes) == ("得安_Dan", "点赞评论发一份[哈哈][哈哈][哈哈]", 0)
    assert first.published_at == utc(2024, 9, 17, 12, 13, 55)  # "Tue Sep 17 20:13:55 +0800 2024"
    assert {m.author_region for m in ms} == {"江苏"}
    assert (ms[2].author, ms[2].text) == ("Cloud__1", "我要，给不给[doge]")
    assert (ms[3].author, ms[3].likes, ms[3].text) == ("慕容吹雪爱吃菠萝", 1, "不好吃，因为我没抽到[泪]")
    assert (ms[-1].author, ms[-1].published_at) == ("asakiri__", utc(2024, 9, 16, 6, 57, 22))
    assert r.next_url is None


def test_weibo_com_ajax_mymblog_user_timeline() -> None:
    """weibo.com ajax/statuses/mymblog (April 2022), page 1 of 赵丽颖's timeline: 21 posts in
    ``data.list``; cut posts (``isLongText``) end in "...展开", a button, not text."""
    r = read("weibo/weibocom-ajax-mymblog-2022")
    ms = r.mentions
    assert len(ms) == 21 and {m.kind for m in ms} == {"post"}
    first = ms[0]
    assert (first.external_id, first.author) == ("4758670926415685", "赵丽颖")
    assert first.text == "向航天英雄致敬！#欢迎翟志刚王亚平叶光富回地球# 欢迎回家[心]"
    assert (first.reposts, first.comments, first.likes) == (18327, 19940, 153463)
    assert first.published_at == utc(2022, 4, 15, 16, 10, 23)
    assert (ms[1].external_id, ms[1].likes) == ("4758143726259017", 414409)
    assert ms[1].text == "想和春天有个约会～ 感谢@小荔BAZAAR @宋斐BAZAAR 的邀请。"
    assert (ms[11].author, ms[11].external_id) == ("虫圈春晚", "4732207577172941")
    last = ms[-1]
    assert (last.external_id, last.published_at) == ("4716573564605399", utc(2021, 12, 20, 12, 10, 30))
    assert last.text.startswith("#谁是凶手# “如果这一切都没有发生，沈雨和爸爸会过着最普通的生活")
    assert last.text.endswith("爸，我学习成绩很 ...") and not any(m.text.endswith("展开") for m in ms)
    assert r.next_url == ("https://weibo.com/ajax/statuses/mymblog?uid=1259110474&page=2&feature=0"
                          "&since_id=4716273549709004kp2")


def test_weibo_open_api_comments_show() -> None:
    """api.weibo.com/2/comments/show.json (March 2012): 42 comments, no envelope, no likes
    field yet; ``next_cursor`` 0 is the last page."""
    r = read("weibo/openapi-comments-show-2012")
    ms = r.mentions
    assert len(ms) == 42 and {m.kind for m in ms} == {"comment"}
    assert (ms[0].external_id, ms[0].author, ms[0].text) == ("3420514393725560", "hold住华子", "中国烟草公司有钱，正合兴业意呀")
    assert ms[0].published_at == utc(2012, 3, 6, 1, 34, 4)
    assert ms[1].author == "未名投资" and ms[1].text.endswith("//@薛蛮子: 中国烟草总公司与贵行有啥战略意义？")
    assert (ms[-1].external_id, ms[-1].author, ms[-1].text) == ("3420500699151632", "咆哮的王子", "等待股价拉升 [鼓掌]")
    assert {m.likes for m in ms} == {None} and {m.author_region for m in ms} == {None}  # "新浪微博" is a client
    assert sum(1 for m in ms if "//@" in m.text) == 18
    assert r.next_url is None


# --- weibo_feed (the feed spider's page object) ---------------------------------------------


def feed(rel: str) -> WeiboFeedPage:
    return WeiboFeedPage(load(rel)[0])


def test_weibo_feed_open_api_friends_timeline_2014() -> None:
    po = feed("weibo/openapi-friends-timeline-2014")
    ms = po.mentions()
    assert len(ms) == 20
    assert (ms[0].external_id, ms[0].author) == ("3707603341519610", "GeekPark")
    assert ms[0].text.startswith("嗑技馆 02期，想要知道可穿戴哪些不靠谱？听听比文字更性感的声音吧")
    assert ms[0].published_at == utc(2014, 5, 7, 6, 43, 3)
    assert (ms[1].author, ms[1].reposts) == ("hongqn", 1)
    assert ms[1].text.startswith("//@刘鑫Mars: //@王四哥达家码: 添加了送Thinking in Java么")
    assert (ms[-1].external_id, ms[-1].author, ms[-1].text) == ("3707577861387765", "InfoQ", "转发微博")
    assert (ms[-1].likes, ms[-1].reposts, ms[-1].comments) == (2, 1, 0)
    assert po.next_cursor == "3707577479533415"  # next_cursor: the next page's max_id


def test_weibo_feed_open_api_home_timeline_2020() -> None:
    po = feed("weibo/openapi-home-timeline-2020")
    ms = po.mentions()
    assert len(ms) == 20
    assert (ms[0].external_id, ms[0].author, ms[0].text) == ("4501124306308565", "张闲鱼要翻身", "转发微博")
    assert ms[0].published_at == utc(2020, 5, 4, 23, 32, 4)
    assert (ms[1].author, ms[1].text) == ("棋士柯洁", "You just gotta believe in yourself , and Try.")
    assert (ms[1].likes, ms[1].reposts, ms[1].comments) == (11124, 64, 1402)
    assert (ms[-1].external_id, ms[-1].author) == ("4500857590800312", "马頔-麻油叶")
    assert ms[-1].text == "马頔《青年王国》http://t.cn/A6Ai6JvG @QQ音乐"
    assert po.next_cursor == "4500851547135173"


def test_weibo_feed_open_api_home_timeline_2012() -> None:
    po = feed("weibo/openapi-home-timeline-2012")
    ms = po.mentions()
    assert len(ms) == 20
    assert (ms[0].external_id, ms[0].author) == ("3418988106843667", "薛蛮子")
    assert ms[0].text == "//@陈劲松: 今年两会只要解决这个问题，本届政府可完美收官！"
    assert ms[0].published_at == utc(2012, 3, 1, 20, 29, 9)
    assert (ms[0].reposts, ms[0].comments, ms[0].likes) == (1, 4, None)  # no attitudes_count in 2012
    assert (ms[-1].external_id, ms[-1].author, ms[-1].reposts, ms[-1].comments) == ("3418918981191981", "Fenng", 86, 58)
    assert ms[-1].text.startswith("保安哥成功应聘腾讯工程师，连马化腾也说「励志」")
    assert po.next_cursor == "3418915638055630"


# --- Taobao / Tmall -------------------------------------------------------------------------

TMALL_TWO_RATES = (
    # Two rates of rate.tmall.com/list_detail_rate.htm (itemId 603314107202, May 2020) from
    # Norcy/Taobao_Comment output/603314107202_2064852052/data.json,
    # commit 44666dacd9c462906e5debfec9b971bb67c043c0 (the whole file is 2.6 MB, over the
    # fixture limit), reduced to the fields the reader uses and the two shop replies
    # shortened: a unit test of the Tmall shape, not a fixture.
    '{"rateDetail":{"paginator":{"items":1073,"page":1,"lastPage":54},"rateList":['
    '{"id":1082190478546,"rateContent":"灯特别亮 感谢装修师傅了🙏","rateDate":"2020-04-24 15:39:24",'
    '"displayUserNick":"曹***宾","auctionSku":"颜色分类:长方形110CM三色分段112W","reply":"有时候，一首歌就能让'
    '回忆泛滥。有时候，一个简单的好评，就足以让我们欢欣鼓舞的了。","appendComment":null},'
    '{"id":1082486147882,"rateContent":"此用户没有填写评论!","rateDate":"2020-04-18 09:56:22",'
    '"displayUserNick":"情***b","auctionSku":"颜色分类:长方形82CM三色分段80W","reply":"","appendComment":'
    '{"content":"老家在搞安装，灯安装完之后已经试用了一段时间，推荐购买","commentTime":"2020-04-24 21:06:47",'
    '"reply":"感谢亲的好评，授人玫瑰手有余香","days":21}}]}}'
)


def test_tmall_rate_list_shape() -> None:
    """The Tmall PC rate list (``rateDetail``) beside the H5 mtop one: content, nick, date,
    SKU, shop reply, follow-up with its reply; "此用户没有填写评论!" is Tmall's placeholder for
    "no words", not the buyer's text."""
    url = "https://rate.tmall.com/list_detail_rate.htm?itemId=603314107202&sellerId=2064852052&currentPage=1&order=3"
    page = Page(url, TMALL_TWO_RATES, datetime(2020, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai")), ZoneInfo("Asia/Shanghai"))
    r = registry.adapter("taobao").read(page)
    first, second = r.mentions
    assert (first.external_id, first.author, first.text) == ("1082190478546", "曹***宾", "灯特别亮 感谢装修师傅了🙏")
    assert first.published_at == utc(2020, 4, 24, 7, 39, 24)
    assert first.variant == "颜色分类:长方形110CM三色分段112W"
    assert first.reply_text.startswith("有时候，一首歌就能让回忆泛滥。")
    assert second.text == "追评：老家在搞安装，灯安装完之后已经试用了一段时间，推荐购买"
    assert second.reply_text == "感谢亲的好评，授人玫瑰手有余香"
    assert r.next_url == url.replace("currentPage=1", "currentPage=2")
