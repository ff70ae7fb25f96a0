"""Discuz! boards (``forum_discuz``) and WordPress comment threads (``wordpress_comments``).

Real pages: tests/fixtures/pages/{forum_discuz,wordpress_comments}/*/ (origins in
tests/fixtures/pages/SOURCES.md). Every expected value was read off the raw input file,
not the adapter's output: the Discuz pages with ``grep -n 'postmessage_\\|authorposton\\|postnum'``
(the GBK ones after ``iconv -f gbk -t utf-8``) and by reading each post's lines; the
WordPress pages with ``grep -o '<li id="comment-[0-9]*" class="[^"]*"'`` (nesting from the
``depth-N`` classes: a comment's parent is the nearest earlier one a depth above) and a
regex over each comment's ``class="fn"``, ``datetime=`` and ``comment-content`` lines.
Local dates are converted by hand (Asia/Shanghai = UTC+8; ISO offsets as written).

The short markup snippets further down are written for the behaviour they test (after
Discuz! X3.4's template/default/forum/viewthread_node.htm, WooCommerce's
single-product-reviews.php and the /wp/v2/comments schema); they are labelled as such and
are not fixtures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spiders.pages.base import MalformedPage, Page
from spiders.pages.discuz import DiscuzPage, floor_number
from spiders.pages.registry import adapter, id_scope, sites
from spiders.pages.wordpress import WordPressComments
from vocwatch.fixtures import Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def fixture(site: str, name: str) -> Page:
    return Fixture(FIXTURES / site / name).page()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_registered_with_host_scoped_ids() -> None:
    assert {"forum_discuz", "wordpress_comments"} <= set(sites())
    assert id_scope("forum_discuz") == id_scope("wordpress_comments") == "host"


# -- Discuz! 7 (GBK) -----------------------------------------------------------------------
def test_discuz7_thread_posts_authors_dates_and_quotes() -> None:
    page = fixture("forum_discuz", "1984bbs-dz7-thread-warranty")
    reading = adapter("forum_discuz").read(page)
    ms = reading.mentions
    assert [m.external_id for m in ms] == ["366405", "366574", "367397", "367489", "367653", "367669", "368140"]
    assert [m.author for m in ms] == ["袜子自己洗", "dlb2825", "肥猫", "lynnstar", "jetty", "肥猫", "袜子自己洗"]
    assert [m.kind for m in ms] == ["post"] + ["comment"] * 6
    assert [m.position for m in ms] == [1, 2, 3, 4, 5, 6, 7]  # floors 1楼..7楼
    first = ms[0]
    assert first.title == "问一个关于数码产品质保的事情" and all(m.title is None for m in ms[1:])
    assert first.text.startswith("本人今年9月购买台电的MP4，但是上周屏幕出现了一条白线")
    assert "\n发票上说，非人为损坏，1年的质保期\n" in first.text
    assert first.text.endswith("如何应对，谢谢先")
    assert first.url == "https://1984bbs.com/viewthread.php?tid=30634#pid366405"
    # "发表于 2009-12-10 19:58" in the board's zone (GMT+8)
    assert [m.published_raw for m in ms[:2]] == ["2009-12-10 19:58", "2009-12-10 21:01"]
    assert [m.published_at for m in ms] == [
        utc(2009, 12, 10, 11, 58), utc(2009, 12, 10, 13, 1), utc(2009, 12, 11, 3, 34), utc(2009, 12, 11, 4, 21),
        utc(2009, 12, 11, 6, 24), utc(2009, 12, 11, 6, 36), utc(2009, 12, 11, 11, 38)]
    # replies 6 and 7 quote posts 4 and 5: the quote is apart from the reply's own words
    sixth, seventh = ms[5], ms[6]
    assert (sixth.text, sixth.quoted, sixth.in_reply_to) == ("已经说了，台电", "把牌子说出来啊。。以后让大家提防着啊", "367489")
    assert (seventh.text, seventh.quoted, seventh.in_reply_to) == (
        "干过，呵呵，最近忙，放手了，实在是坚持不了，惭愧", "咦，看楼主的名号，是字幕组的么？", "367653")
    assert all(m.quoted is None and m.in_reply_to is None for m in ms[:5])
    assert not any("原帖由" in (m.text + (m.quoted or "")) for m in ms)
    assert reading.next_url is None and reading.follow_urls == []


def test_discuz7_board_listing_follows_threads_and_pages() -> None:
    reading = adapter("forum_discuz").read(fixture("forum_discuz", "1984bbs-dz7-board-rome"))
    assert reading.mentions == []
    follow = reading.follow_urls
    # 1 tbody#stickthread_ + 63 tbody#normalthread_, in page order; the listing's extra= dropped
    assert len(follow) == 64
    assert follow[:3] == ["https://1984bbs.com/viewthread.php?tid=60817", "https://1984bbs.com/viewthread.php?tid=43064",
                          "https://1984bbs.com/viewthread.php?tid=30344"]
    assert follow[-1] == "https://1984bbs.com/viewthread.php?tid=44595"
    assert reading.next_url == "https://1984bbs.com/forumdisplay.php?fid=35&filter=0&orderby=replies&ascdesc=DESC&page=2"


# -- Discuz! X3 ------------------------------------------------------------------------------
def test_discuz_x3_custom_theme_thread() -> None:
    reading = adapter("forum_discuz").read(fixture("forum_discuz", "kbinance-x3-thread-3"))
    ms = reading.mentions
    assert [m.external_id for m in ms] == ["3", "7", "8", "9"]
    assert {m.author for m in ms} == {"admin"}  # the hidden "作者：" label is not part of the name
    # no floor label on the opening post: the first post of page 1 opens the thread
    assert [m.kind for m in ms] == ["post", "comment", "comment", "comment"]
    assert [m.position for m in ms] == [1, 2, 3, 4]  # then 沙发#, 板凳#, 地板#
    assert ms[0].title == "曝光!币安组织维权火币、OK,何一亲自下场指挥市场"
    assert ms[0].published_raw == "2022-2-12 23:58:16" and ms[0].published_at == utc(2022, 2, 12, 15, 58, 16)
    assert [m.published_at for m in ms[1:]] == [utc(2022, 2, 14, 11, 29, 35), utc(2022, 2, 14, 11, 31, 23),
                                                utc(2022, 2, 14, 11, 37, 9)]
    # the video player and the image attachment's chrome (in <ignore_js_op>) are not the post
    assert ms[0].text == "阿斯顿发大水"
    assert [m.text for m in ms[1:]] == ["sf", "评论。。。", "撒反对发"]
    assert ms[1].url == "https://kbinance.com/thread-3-1-1.html#pid7"
    assert reading.next_url is None


def test_discuz_x3_board_listing() -> None:
    reading = adapter("forum_discuz").read(fixture("forum_discuz", "kbinance-x3-board-2"))
    assert reading.mentions == []
    assert reading.follow_urls == [f"https://kbinance.com/thread-{tid}-1-1.html" for tid in (12, 11, 10, 9, 8, 7, 5, 3)]
    assert reading.next_url is None  # one page, no a.nxt


def test_discuz_x34_httrack_thread() -> None:
    (m,) = adapter("forum_discuz")(fixture("forum_discuz", "bapuro-x34-thread-1"))
    assert (m.external_id, m.kind, m.author, m.title, m.position) == ("1", "post", "bapuro", "TEST，测试帖", 1)
    assert m.text == "111111111111111"  # the moderator's "本主题由 bapuro 于 ... 置顶" note is not the post
    assert (m.published_raw, m.published_at) == ("2020-2-19 19:19:11", utc(2020, 2, 19, 11, 19, 11))


def test_discuz_rejects_pages_of_other_shapes() -> None:
    with pytest.raises(MalformedPage):
        DiscuzPage(fixture("wordpress_comments", "blister-line-outline"))
    with pytest.raises(MalformedPage):
        DiscuzPage(Page(url="https://bbs.example.cn/x", text='{"Variables": {}}', now=utc(2026, 1, 1), tz=SHANGHAI))


# -- Discuz! X markup behaviours (snippets written for the test, see the module docstring) ---
NOW = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def x3_post(pid: int, floor: str, author: str, date: str, message: str) -> str:
    return f"""
<div id="post_{pid}"><table id="pid{pid}" class="plhin" summary="pid{pid}"><tr>
<td class="pls" rowspan="2"><div id="favatar{pid}" class="pls favatar"><div class="pi"><div class="authi">
<a href="home.php?mod=space&amp;uid=1{pid}" target="_blank" class="xw1">{author}</a></div></div></div></td>
<td class="plc"><div class="pi"><strong><a href="forum.php?mod=redirect&amp;goto=findpost&amp;ptid=77&amp;pid={pid}"
 id="postnum{pid}" onclick="setCopy(this.href, '帖子地址复制成功');return false;">{floor}</a></strong>
<div class="pti"><div class="authi"><em id="authorposton{pid}">发表于 {date}</em><span class="pipe">|</span>
<a href="forum.php?mod=viewthread&amp;tid=77&amp;page=1&amp;authorid=1" rel="nofollow">只看该作者</a></div></div></div>
<div class="pct"><div class="pcb"><div class="t_fsz"><table cellspacing="0" cellpadding="0"><tr>
<td class="t_f" id="postmessage_{pid}">{message}</td></tr></table></div></div></div></td></tr></table></div>"""


X3_THREAD = f"""<html><head><title>屏幕漏光怎么办 - 数码 - 某论坛 - Powered by Discuz!</title></head><body>
<div id="postlist" class="pl bm"><table><tr><td class="plc"><h1 class="ts"><span id="thread_subject">屏幕漏光怎么办</span></h1></td></tr></table>
{x3_post(101, "楼主", "老王", '<span title="2026-4-28 12:00">3&nbsp;天前</span>',
         '<i class="pstatus"> 本帖最后由 老王 于 2026-4-28 13:00 编辑 </i><br /><br />新买的显示器<font class="jammer">x9Kq</font>右下角漏光<span style="display:none">广告</span>，能退吗？')}
{x3_post(102, "沙发", "小李", '<span title="2026-4-29 12:30">前天&nbsp;12:30</span>', "七天无理由")}
{x3_post(103, "<em>5</em><sup>#</sup>", "阿明", '<span title="2026-5-1 11:30">半小时前</span>',
         '<div class="quote"><blockquote><font size="2"><a href="forum.php?mod=redirect&amp;goto=findpost&amp;pid=102&amp;ptid=77" target="_blank"><font color="#999999">小李 发表于 2026-4-29 12:30</font></a></font><br />七天无理由</blockquote></div><br />过了七天也能保修')}
{x3_post(104, "<em>6</em><sup>#</sup>", "阿强", "2019-3-5 12:30", '<div>坏了<div>就修</div></div></div></div></td></tr></table></div>')}
{x3_post(105, "<em>7</em><sup>#</sup>", "阿华", "2019-3-6 08:00", "修好了")}
</div><div class="pg"><strong>1</strong><a href="forum.php?mod=viewthread&amp;tid=77&amp;page=2">2</a>
<a href="forum.php?mod=viewthread&amp;tid=77&amp;page=2" class="nxt">下一页</a></div></body></html>"""


def test_discuz_x3_relative_dates_quotes_edit_notes_and_junk() -> None:
    page = Page(url="https://bbs.example.cn/forum.php?mod=viewthread&tid=77", text=X3_THREAD, now=NOW, tz=SHANGHAI)
    po = DiscuzPage(page)
    ms = po.mentions()
    assert [(m.external_id, m.kind, m.author) for m in ms] == [
        ("101", "post", "老王"), ("102", "comment", "小李"), ("103", "comment", "阿明"),
        ("104", "comment", "阿强"), ("105", "comment", "阿华")]
    assert [m.position for m in ms] == [1, 2, 5, 6, 7]  # 楼主, 沙发, <em>5</em><sup>#</sup>, ...
    op, sofa, fifth = ms[0], ms[1], ms[2]
    assert op.title == "屏幕漏光怎么办"
    # the edit note, the anti-copy <font class="jammer"> and the hidden span are not the author's words
    assert op.text == "新买的显示器右下角漏光，能退吗？"
    # relative forms shown, the exact time from the span's title
    assert (op.published_raw, op.published_at) == ("3 天前", utc(2026, 4, 28, 4, 0))
    assert (sofa.published_raw, sofa.published_at) == ("前天 12:30", utc(2026, 4, 29, 4, 30))
    assert (fifth.published_raw, fifth.published_at) == ("半小时前", utc(2026, 5, 1, 3, 30))
    # an X3 quote: the attribution line is dropped, the quoted pid kept
    assert (fifth.text, fifth.quoted, fifth.in_reply_to) == ("过了七天也能保修", "七天无理由", "102")
    assert sofa.url == "https://bbs.example.cn/forum.php?mod=redirect&goto=findpost&ptid=77&pid=102"
    assert po.next_url() == "https://bbs.example.cn/forum.php?mod=viewthread&tid=77&page=2"
    assert po.mentions() == ms  # reading cuts quotes from copies: a second reading is the same


def test_discuz_stray_closing_tags_do_not_nest_the_next_post() -> None:
    """Post 104's user HTML closes more divs and tables than it opened, which ends
    ``#postlist`` early in any parser (``#postlist > div[id^=post_]`` then misses post 105).
    Posts are found by their ``postmessage_<pid>`` ids and their parts by pid, so 105 is
    still read whole, with its own author and date, and 104 keeps only its own words."""
    ms = DiscuzPage(Page(url="https://bbs.example.cn/t", text=X3_THREAD, now=NOW, tz=SHANGHAI)).mentions()
    broken, after = ms[3], ms[4]
    assert broken.text == "坏了\n就修"
    assert (after.text, after.author, after.published_at) == ("修好了", "阿华", utc(2019, 3, 6, 0, 0))


def touch_post(pid: int, floor: str, author: str, time: str, message: str, first: bool = False) -> str:
    counters = '<span class="y"><i class="dm-eye"></i><em>88</em><i class="dm-chat-s"></i><em>2</em></span>' if first else ""
    return f"""<div class="plc cl" id="pid{pid}"><div class="avatar"><img src="uc_server/avatar.php?uid=7&size=small" /></div>
<div class="display pi{' pione' if first else ''}" href="#replybtn_{pid}"><ul class="authi">
<li class="mtit"><span class="y">{floor}</span><span class="z"><a href="home.php?mod=space&uid=7{pid}">{author}</a></span></li>
<li class="mtime">{counters}<em class="mgl"><a href="forum.php?mod=post&action=edit&fid=2&tid=9&pid={pid}&page=1">编辑</a></em>
{time}</li></ul>
<div class="message">{message}</div>
<div id="comment_{pid}"><div class="pgs cl"><div class="page"><a href="javascript:;" class="nxt" onclick="ajaxget('forum.php?mod=misc&action=commentmore&tid=9&pid={pid}&page=2', 'comment_{pid}')">下一页</a></div></div></div>
</div></div>"""


TOUCH_THREAD = f"""<html><body><div class="header cl"><h2><a href="forum.php?mod=forumdisplay&fid=2&">数码</a></h2></div>
<div class="viewthread"><div class="view_tit">手机壳发黄</div>
{touch_post(201, "楼主", "小红", '<span title="2026-4-30 09:10">昨天&nbsp;09:10</span>', "用了两周就发黄了", first=True)}
{touch_post(202, "沙发", "阿杰", "2026-4-30 10:00", '<div class="quote"><blockquote><font size="2"><a href="forum.php?mod=redirect&amp;goto=findpost&amp;pid=201&amp;ptid=9" target="_blank"><font color="#999999">小红 发表于 昨天 09:10</font></a></font><br />用了两周就发黄了</blockquote></div><br />透明壳都这样')}
{touch_post(203, "3#", "路人", "2026-4-30 11:00", '<div class="quote">提示: 该帖被管理员或版主屏蔽</div>')}
</div><div class="pg"><strong>1</strong><a href="forum.php?mod=viewthread&tid=9&page=2&mobile=2" class="nxt">下一页</a></div>
</body></html>"""


def test_discuz_touch_template_mobile_2() -> None:
    """The touch template (``mobile=2``), markup written after Discuz! X3.5's
    template/default/touch/forum/viewthread.htm: no postmessage_ ids, posts are div.plc#pid<pid>."""
    url = "https://bbs.example.cn/forum.php?mod=viewthread&tid=9&mobile=2"
    reading = adapter("forum_discuz").read(Page(url=url, text=TOUCH_THREAD, now=NOW, tz=SHANGHAI))
    op, reply = reading.mentions  # post 203 is a moderator's notice, no words of its author: no mention
    assert (op.external_id, op.kind, op.position, op.author, op.title) == ("201", "post", 1, "小红", "手机壳发黄")
    assert (op.text, op.published_raw, op.published_at) == ("用了两周就发黄了", "昨天 09:10", utc(2026, 4, 30, 1, 10))
    assert (reply.external_id, reply.kind, reply.position, reply.author) == ("202", "comment", 2, "阿杰")
    assert (reply.text, reply.quoted, reply.in_reply_to) == ("透明壳都这样", "用了两周就发黄了", "201")
    assert (reply.published_raw, reply.published_at) == ("2026-4-30 10:00", utc(2026, 4, 30, 2, 0))
    assert reply.url == url + "#pid202"
    # the comment box's "下一页" is a script link; the thread's pager is the next page
    assert reading.next_url == "https://bbs.example.cn/forum.php?mod=viewthread&tid=9&page=2&mobile=2"


def test_floor_labels() -> None:
    assert [floor_number(s) for s in ("楼主", "沙发", "板凳", "地板", "5#", "5 #", "12楼", "沙发#", "电梯")] == [
        1, 2, 3, 4, 5, 5, 12, 2, None]


@pytest.mark.parametrize(("shown", "expected"), [
    ("3 天前", utc(2026, 4, 28, 4, 0)), ("前天 12:30", utc(2026, 4, 29, 4, 30)), ("昨天 08:32", utc(2026, 4, 30, 0, 32)),
    ("半小时前", utc(2026, 5, 1, 3, 30)), ("1 小时前", utc(2026, 5, 1, 3, 0)), ("5 分钟前", utc(2026, 5, 1, 3, 55)),
    ("刚刚", NOW), ("2019-3-5 12:30", utc(2019, 3, 5, 4, 30)),
])
def test_discuz_date_forms_in_the_board_zone(shown: str, expected: datetime) -> None:
    """The forms Discuz prints (after entity decoding: "3&nbsp;天前" reaches us as "3\\xa0天前")."""
    page = Page(url="https://bbs.example.cn/", text="", now=NOW, tz=SHANGHAI)
    assert page.parse_date(shown) == expected
    assert page.parse_date(shown.replace(" ", "\xa0")) == expected


# -- WordPress: rendered comment threads -------------------------------------------------
BLISTER_PARENTS = {
    "340606": None, "341163": "340606", "340608": None, "340715": "340608", "341174": "340715", "341296": "340715",
    "515791": "340608", "340712": None, "341172": None, "341175": "341172", "341258": "341175", "353504": None,
    "353560": None, "353956": None, "384169": None, "406402": None, "445418": "406402", "431868": None,
    "502031": None, "502044": "502031", "534177": None, "535360": "534177",
}


def test_wordpress_nested_thread_with_author_answers() -> None:
    reading = adapter("wordpress_comments").read(fixture("wordpress_comments", "blister-line-outline"))
    ms = reading.mentions
    assert len(ms) == 22  # "22 comments on “2021-2022 Line Outline”"
    assert {m.external_id: m.in_reply_to for m in ms} == BLISTER_PARENTS
    assert [m.external_id for m in ms] == list(BLISTER_PARENTS)  # page order
    assert {m.kind for m in ms} == {"comment"} and all(m.rating_raw is None and m.reply_text is None for m in ms)
    by = {m.external_id: m for m in ms}
    first = by["340606"]
    assert (first.author, first.published_raw) == ("toddball", "2019-02-20T15:42:20-07:00")
    assert first.published_at == utc(2019, 2, 20, 22, 42, 20)
    assert first.text == ("“the LINE Outline Skis are the ultimate development of freestyle powder ski design…the "
                          "LINE Outline is the penultimate collaboration between Eric Pollard and LINE Skis.”\n"
                          "So, these are the best freestyle powder skis ever, but EP + Line are going to make one ski after them?")
    assert first.url == "https://blisterreview.com/gear-reviews/2019-2020-line-outline#comment-340606"
    # the post author's answers (li.bypostauthor) under unrated comments stay comments, parent noted
    answer = by["341163"]
    assert (answer.author, answer.in_reply_to, answer.published_at) == ("Luke Koppa", "340606", utc(2019, 2, 22, 17, 5, 5))
    assert answer.text == "Just talked to Line and they confirmed that it was a typo — they meant to say “ultimate,” not “penultimate.”"
    assert by["535360"].published_at == utc(2021, 10, 21, 3, 31, 52)  # -06:00 after the DST change
    assert (by["515791"].author, by["515791"].published_at) == ("Cholmeski", utc(2021, 7, 16, 19, 42, 20))
    assert not any("Reply" in m.text for m in ms)
    assert reading.next_url is None and reading.follow_urls == []


def test_wordpress_hatom_theme_date_only_attribute() -> None:
    ms = adapter("wordpress_comments")(fixture("wordpress_comments", "firefox-nightly-issue85"))
    assert [(m.external_id, m.author) for m in ms] == [("7443", "Alan Goodale"), ("7588", "John Doe")]
    # time[datetime="2020-12-24"] has no time: the text "December 24, 2020 at 3:53 am:" has
    assert ms[0].published_at == utc(2020, 12, 24, 3, 53) and ms[1].published_at == utc(2021, 2, 9, 22, 16)
    assert ms[0].text.startswith("Enhancement: Are there plans to provide a “collections” functionality for the desktop")
    assert ms[0].text.endswith("Sync to Android would be a very desirable bonus.")
    assert ms[1].text == ("Thank you for fixing Bug 1553982! I have moved most of my work to another browser due to "
                          "the need to restart so often but will try Firefox again now.")
    assert all(m.in_reply_to is None for m in ms)


def test_wordpress_epoch_plugin_comments() -> None:
    ms = adapter("wordpress_comments")(fixture("wordpress_comments", "wptavern-epoch-2017"))
    assert len(ms) == 13  # "There are 13 comments"
    parents = {m.external_id: m.in_reply_to for m in ms}
    assert parents == {"215101": None, "215114": None, "215125": "215114", "215173": "215125", "215254": "215173",
                       "215219": "215114", "215302": "215114", "215128": None, "215138": "215128", "215176": None,
                       "215180": "215176", "215186": "215180", "215190": "215186"}
    by = {m.external_id: m for m in ms}
    assert by["215219"].author == "Ammon"  # a name without a link, as bare text
    assert by["215101"].author == "Sallie Goetsch (rhymes with sketch)"
    # datetime="comment_date" is the plugin's placeholder: the shown date is read
    assert by["215101"].published_at == utc(2017, 3, 10, 0, 20)
    assert by["215219"].text.endswith("THAT is development.")  # the "Report" link is not the comment
    assert not any(m.text.endswith("Report") for m in ms)


# -- WordPress behaviours (snippets written for the test, see the module docstring) --------
WOO = """<html><body><div id="reviews"><ol class="commentlist">
<li class="review even thread-even depth-1 parent" id="li-comment-41">
 <div id="comment-41" class="comment_container"><div class="comment-text">
  <div class="star-rating" role="img" aria-label="Rated 2 out of 5"><span style="width:40%">Rated <strong class="rating">2</strong> out of 5</span></div>
  <p class="meta"><strong class="woocommerce-review__author">Anna </strong><span class="woocommerce-review__dash">&ndash;</span>
  <time class="woocommerce-review__published-date" datetime="2024-03-02T09:15:00+00:00">March 2, 2024</time></p>
  <div class="description"><p>The lid cracked after a week.</p></div></div></div>
 <ul class="children">
  <li class="review byuser comment-author-shop bypostauthor odd alt depth-2 parent" id="li-comment-42">
   <div id="comment-42" class="comment_container"><div class="comment-text">
    <p class="meta"><strong class="woocommerce-review__author">Shop Team </strong>
    <time class="woocommerce-review__published-date" datetime="2024-03-03T10:00:00+00:00">March 3, 2024</time></p>
    <div class="description"><p>Sorry, Anna! A new lid is on its way.</p></div></div></div>
   <ul class="children"><li class="review even depth-3" id="li-comment-43">
    <div id="comment-43" class="comment_container"><div class="comment-text">
     <p class="meta"><strong class="woocommerce-review__author">Anna </strong>
     <time class="woocommerce-review__published-date" datetime="2024-03-05T08:00:00+00:00">March 5, 2024</time></p>
     <div class="description"><p>Got it, thanks.</p></div></div></div></li></ul>
  </li>
 </ul>
</li>
<li class="review odd alt thread-odd depth-1" id="li-comment-44"><div id="comment-44" class="comment_container"><div class="comment-text">
  <div class="star-rating" role="img" aria-label="Rated 5 out of 5"><span style="width:100%">Rated <strong class="rating">5</strong> out of 5</span></div>
  <p class="meta"><strong class="woocommerce-review__author">Ben </strong>
  <time class="woocommerce-review__published-date" datetime="2024-03-04T12:00:00+00:00">March 4, 2024</time></p>
  <div class="description"><p>Great kettle.</p></div></div></div></li>
<li class="pingback even thread-even depth-1" id="comment-45"><div class="comment-body">Pingback: <a href="https://x.example/">A blog</a></div></li>
</ol></div><div id="respond" class="comment-respond"></div></body></html>"""


def test_owner_answer_to_a_rated_review_is_its_reply() -> None:
    """Under a review-like (rated) comment the post author's first answer becomes the review's
    reply_text/reply_at and is no mention of its own; what others answer stays a comment."""
    page = Page(url="https://shop.example/product/kettle/", text=WOO, now=utc(2024, 4, 1), tz=ZoneInfo("UTC"))
    ms = WordPressComments(page).mentions()
    assert [m.external_id for m in ms] == ["41", "43", "44"]  # the answer 42 folded, the pingback skipped
    review, follow_up, other = ms
    assert (review.kind, review.author, review.rating_raw, review.rating_scale) == ("review", "Anna", 2.0, 5.0)
    assert review.text == "The lid cracked after a week."
    assert (review.reply_text, review.reply_at) == ("Sorry, Anna! A new lid is on its way.", utc(2024, 3, 3, 10))
    assert (follow_up.kind, follow_up.in_reply_to, follow_up.text) == ("comment", "42", "Got it, thanks.")
    assert (other.kind, other.rating_raw, other.reply_text, other.published_at) == ("review", 5.0, None, utc(2024, 3, 4, 12))


def test_rest_api_comments_and_next_page() -> None:
    body = json.dumps([
        {"id": 9, "post": 3, "parent": 0, "author": 0, "author_name": "Mia", "date": "2024-05-01T10:00:00",
         "date_gmt": "2024-05-01T08:00:00", "content": {"rendered": "<p>Too loud at night.</p>\n"},
         "link": "https://blog.example/p/#comment-9", "status": "approved", "type": "comment"},
        {"id": 10, "post": 3, "parent": 9, "author": 1, "author_name": "Editor", "date": "2024-05-01T12:30:00",
         "date_gmt": "2024-05-01T10:30:00", "content": {"rendered": "<p>Try the night mode.</p>"},
         "link": "https://blog.example/p/#comment-10", "type": "comment"},
    ])
    url = "https://blog.example/wp-json/wp/v2/comments?post=3&per_page=2"
    reading = adapter("wordpress_comments").read(Page(url=url, text=body, now=utc(2024, 6, 1), tz=ZoneInfo("Europe/Berlin")))
    a, b = reading.mentions
    assert (a.external_id, a.author, a.text, a.published_at, a.in_reply_to) == (
        "9", "Mia", "Too loud at night.", utc(2024, 5, 1, 8), None)
    assert (b.external_id, b.in_reply_to, b.url, b.published_raw) == (
        "10", "9", "https://blog.example/p/#comment-10", "2024-05-01T12:30:00")
    assert reading.next_url == "https://blog.example/wp-json/wp/v2/comments?post=3&per_page=2&page=2"
    last = adapter("wordpress_comments").read(Page(url=url, text=json.dumps([json.loads(body)[0]]), now=utc(2024, 6, 1),
                                                   tz=ZoneInfo("UTC")))
    assert last.next_url is None  # fewer than per_page: the last page


def test_wordpress_empty_thread_and_other_pages() -> None:
    empty = '<html><body><article>Post</article><div id="respond" class="comment-respond"><form id="commentform"></form></div></body></html>'
    assert WordPressComments(Page(url="https://b.example/p", text=empty, now=utc(2024, 1, 1), tz=ZoneInfo("UTC"))).mentions() == []
    with pytest.raises(MalformedPage):
        WordPressComments(fixture("forum_discuz", "kbinance-x3-board-2"))
    with pytest.raises(MalformedPage):
        WordPressComments(Page(url="https://b.example/wp-json", text='{"code": "rest_no_route"}', now=utc(2024, 1, 1),
                               tz=ZoneInfo("UTC")))


def test_wordpress_comment_pages_are_followed() -> None:
    html = """<html><body><ol class="comment-list"><li id="comment-7" class="comment depth-1"><article class="comment-body">
    <div class="comment-content"><p>Hi</p></div></article></li></ol>
    <nav class="comment-navigation"><div class="nav-previous"><a href="https://b.example/p/comment-page-1/#comments">Older Comments</a></div></nav>
    <div class="pagination"><a class="page-numbers" href="https://b.example/p/comment-page-1/#comments">1</a>
    <span class="page-numbers current">2</span></div></body></html>"""
    reading = adapter("wordpress_comments").read(Page(url="https://b.example/p/", text=html, now=utc(2024, 1, 1), tz=ZoneInfo("UTC")))
    assert [m.text for m in reading.mentions] == ["Hi"]
    assert reading.follow_urls == ["https://b.example/p/comment-page-1/"] and reading.next_url is None


def test_pages_nested_beyond_any_site_are_refused_before_parsing() -> None:
    """lexbor's HTML5 tree building is quadratic in nesting depth: 100,000 nested divs would
    take most of a minute, so a page nested deeper than html5.MAX_DEPTH is malformed at once;
    an ordinary deep page (900 levels) is still read. (Parsed, the 100,000-deep page would
    outlast the test timeout.)"""
    from spiders.pages.html5 import MAX_DEPTH, nesting_depth

    page = fixture("forum_discuz", "bapuro-x34-thread-1")
    at = page.text.index("<body")
    deep = page.text[:at] + "<div>" * 100_000 + "x" + "</div>" * 100_000 + page.text[at:]
    with pytest.raises(MalformedPage):
        DiscuzPage(Page(url=page.url, text=deep, now=page.now, tz=page.tz))
    with pytest.raises(MalformedPage):
        WordPressComments(Page(url=page.url, text=deep, now=page.now, tz=page.tz))
    assert nesting_depth(deep) == MAX_DEPTH + 1
    ok = page.text[:at] + "<span>" * 900 + "x" + "</span>" * 900 + page.text[at:]
    (m,) = DiscuzPage(Page(url=page.url, text=ok, now=page.now, tz=page.tz)).mentions()
    assert m.text == "111111111111111"
    assert nesting_depth("<p><li><br><div><img><div></div></div><td>") == 2  # implicit closes do not count


# -- a crawl: board listing -> threads, a GBK page, the new fields stored ----------------
def test_crawl_reads_a_board_and_its_threads_into_the_store(tmp_path: Path) -> None:
    """``kind = "site"``, ``site = "forum_discuz"`` over real HTTP: the board listing's threads
    are followed; three are real thread pages (one served as GBK, the 1984bbs page, charset
    in the header), the others get the board page again (no posts, no new links);
    quoted/in_reply_to/position reach the SQLite store."""
    from urllib.parse import urlsplit

    from crawlers.store import open_store
    from tests.conftest import local_site, run_vocwatch
    from tests.test_site_spider import CONFIG

    files = {
        "/forum-2-1.html": ("kbinance-x3-board-2", "utf-8"),
        "/thread-3-1-1.html": ("kbinance-x3-thread-3", "utf-8"),
        "/thread-12-1-1.html": ("1984bbs-dz7-thread-warranty", "gbk"),
        "/thread-11-1-1.html": ("bapuro-x34-thread-1", "utf-8"),
    }

    def respond(path: str) -> tuple[int, str, bytes]:
        path = urlsplit(path).path
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        name, charset = files.get(path, files["/forum-2-1.html"])  # the other threads: the board again
        return 200, f"text/html; charset={charset}", (FIXTURES / "forum_discuz" / name / "input.html").read_bytes()

    with local_site(respond) as (base, hits):
        cfg = tmp_path / "v.toml"
        cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base, site="forum_discuz").replace(
            f"{base}/comment/productPageComments.action?productId=42&page=0&pageSize=2", f"{base}/forum-2-1.html"),
            encoding="utf-8")
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
        assert proc.returncode == 0, proc.stderr[-3000:]
        followed = {urlsplit(h).path for h in hits}
    assert {f"/thread-{t}-1-1.html" for t in (12, 11, 10, 9, 8, 7, 5, 3)} <= followed
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    got = {m.external_id: m for m in store.iter_mentions()}
    store.close()
    assert set(got) == {"1", "3", "7", "8", "9", "366405", "366574", "367397", "367489", "367653", "367669", "368140"}
    reply = got["367669"]
    assert (reply.text, reply.quoted, reply.in_reply_to, reply.position) == (
        "已经说了，台电", "把牌子说出来啊。。以后让大家提防着啊", "367489", 6)
    assert got["366405"].title == "问一个关于数码产品质保的事情" and got["366405"].kind == "post"
    assert got["3"].id_scope == "host:127.0.0.1" and got["3"].published_at == utc(2022, 2, 12, 15, 58, 16)
