"""Forum engines on real saved pages: XenForo 1 and 2 (``forum_xenforo``), phpBB 3.0 and
3.2 (``forum_phpbb``), vBulletin 3, 4 and 5 (``forum_vbulletin``).

The pages are in ``tests/fixtures/pages/<site>/<name>/`` (``SOURCES.md`` says where each
came from). Every expected value was read off the raw ``input.html`` with grep and a pager
(element ids, ``data-author``, ``data-time`` epochs, the shown date next to each post, the
quote markup, pager links), never from the adapters' output; epochs were converted with
``date -u -d @N``, shown dates read in the zone the page's own footer or clock states (see
each ``meta.json``). ``now`` is the page's fetch time from ``meta.json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from parsel import Selector

from spiders.pages.base import MalformedPage, Page
from spiders.pages.forumkit import own_posts
from spiders.pages.html5 import html5_selector
from spiders.pages.registry import Reading, adapter, id_scope, sites
from vocwatch.fixtures import Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def fixture(site: str, name: str) -> tuple[Page, dict]:
    saved = Fixture(FIXTURES / site / name)
    return saved.page(), saved.meta()


def read(site: str, name: str) -> Reading:
    page, meta = fixture(site, name)
    assert meta["site"] == site
    return adapter(site).read(page)


def test_engines_are_registered_with_host_scoped_ids() -> None:
    assert {"forum_xenforo", "forum_phpbb", "forum_vbulletin"} <= set(sites())
    assert {id_scope(s) for s in ("forum_xenforo", "forum_phpbb", "forum_vbulletin")} == {"host"}


def test_every_fixture_names_a_registered_site_and_a_readable_page() -> None:
    metas = sorted(m for engine in ("forum_xenforo", "forum_phpbb", "forum_vbulletin")
                   for m in FIXTURES.glob(f"{engine}/*/meta.json"))
    assert len(metas) >= 10  # the first round's pages; later rounds add more (test_forum_pages_more.py)
    for path in metas:
        meta = json.loads(path.read_text(encoding="utf-8"))
        assert meta["site"] in sites() and len(meta["origin"]["commit"]) == 40
        assert (path.parent / "input.html").stat().st_size < 1_500_000


# -- XenForo 1 ---------------------------------------------------------------------------
def test_xenforo1_sufficient_velocity_page_54() -> None:
    r = read("forum_xenforo", "sufficientvelocity-xf1-2017")
    ms = r.mentions
    # 25 <li id="post-..."> in ol#messageList, #1326..#1350: no opening post on page 54
    assert len(ms) == 25 and {m.kind for m in ms} == {"comment"}
    assert [m.position for m in ms] == list(range(1326, 1351))
    first, second, last = ms[0], ms[1], ms[-1]
    assert (first.external_id, first.author) == ("2146286", "TheBleachDoctor")
    # span.DateTime title="Oct 30, 2014 at 10:48 PM", the guest zone is UTC-5 (CDT)
    assert first.published_raw == "Oct 30, 2014 at 10:48 PM"
    assert first.published_at == datetime(2014, 10, 31, 3, 48, tzinfo=UTC)
    assert first.url == "https://forums.sufficientvelocity.com/posts/2146286/"  # a.datePermalink under <base href>
    assert first.text.startswith("Rolling.")
    assert "OVERLORD" not in first.text  # the signature table is not the post
    # post #1327 quotes Higure (goto/post?id=2146285) and TheBleachDoctor (2146286)
    assert (second.external_id, second.author, second.in_reply_to) == ("2146297", "Crow", "2146285")
    assert second.text.startswith("OOC behavior? which part?\nI think thats wrong dok.\nEdit: Yissss! thank you pinky!")
    assert "Okay, I need rolls" not in second.text and "Click to expand" not in second.text
    assert second.quoted == ("Okay, I need rolls for OOC behavior. 2 of them.\nBoth of them have a DC of 60. You don't "
                             "get any bonuses.\nOnly one chance for this one, so first set counts.\n\nRolling.")
    assert adapter_quotes("forum_xenforo", "sufficientvelocity-xf1-2017", "2146297") == [
        ("Higure", "2146285"), ("TheBleachDoctor", "2146286")]
    assert (last.external_id, last.author, last.in_reply_to) == ("2146619", "Entropy Judge", "2146562")
    assert last.published_at == datetime(2014, 10, 31, 4, 52, tzinfo=UTC)  # "Oct 30, 2014 at 11:52 PM"
    assert last.text.startswith("I'm mildly opposed to any profligate use of magic")
    # PageNav data-page=54 data-last=347, base URL relative to <base href>
    assert r.next_url == "https://forums.sufficientvelocity.com/threads/renascence-a-homura-quest.10402/page-55"
    assert r.follow_urls == []


def adapter_quotes(site: str, name: str, post_id: str) -> list[tuple[str | None, str | None]]:
    """(author, post id) of each quote of one post, from the page object's ``quotes``."""
    page, _ = fixture(site, name)
    po = adapter(site).page_object(page)
    po.mentions()
    return [(q["author"], q["post_id"]) for q in po.quotes.get(post_id, [])]


# -- XenForo 2 ---------------------------------------------------------------------------
def test_xenforo2_community_thread_with_the_opening_post() -> None:
    r = read("forum_xenforo", "xenforo-community-xf2-2019")
    ms = r.mentions
    assert len(ms) == 8  # 8 article.message--post
    first, last = ms[0], ms[-1]
    assert (first.kind, first.position, first.external_id, first.author) == ("post", 1, "114210", "dieketzer")
    assert first.title == "a dark theme option"  # h1.p-title-value
    assert first.published_at == datetime(2010, 11, 21, 10, 51, 58, tzinfo=UTC)  # data-time="1290336718"
    assert first.published_raw == "Nov 21, 2010 at 10:51 AM"
    assert first.url == "https://xenforo.com/community/threads/a-dark-theme-option.8276/post-114210"
    assert first.text.startswith("it would be great if by default a dark theme shipped with xenforo.\nsure, many people")
    assert all(m.kind == "comment" and m.title is None for m in ms[1:])
    assert (last.position, last.external_id, last.author) == (8, "1358710", "sub_ubi")
    assert last.published_at == datetime(2019, 6, 26, 9, 25, 9, tzinfo=UTC)  # data-time="1561541109"
    # reactionsBar: "Niro, Dadparvar, siONtI and 12 others" on /posts/114210/reactions; the
    # empty bars of 115610, 1091229 and 1358710 show zero
    assert [m.likes for m in ms] == [15, 1, 1, 1, 0, 0, 1, 0]
    assert r.next_url is None  # one page: no pageNav at all


def test_xenforo2_russian_board_quotes_and_next_page() -> None:
    r = read("forum_xenforo", "tophope-xf2-ru-2020")
    ms = r.mentions
    assert len(ms) == 20 and [m.position for m in ms] == list(range(21, 41))
    first = ms[0]
    assert (first.external_id, first.author) == ("2534", "HellFire")
    assert first.published_raw == "1 Февраль 2013 в 22:43"  # the title, in the board's language
    assert first.published_at == datetime(2013, 2, 1, 18, 43, 34, tzinfo=UTC)  # data-time="1359744214"
    reply = next(m for m in ms if m.external_id == "2536")
    # blockquote.bbCodeBlock--quote, title "sheyner написал(а):" linking /goto/post?id=2533
    assert (reply.author, reply.in_reply_to) == ("overbafer1", "2533")
    assert reply.text.startswith('нужно убрать порты и "Считать клиентами/ботами"\nУ меня все стерто.')
    assert reply.quoted.startswith("все сделал как на скринах ,ип свой правда вставлял")
    assert "Нажмите для раскрытия" not in reply.text + reply.quoted  # the "click to expand" link
    assert adapter_quotes("forum_xenforo", "tophope-xf2-ru-2020", "2536") == [("sheyner", "2533")]
    assert sum(1 for m in ms if m.quoted) == 5  # 5 bbCodeBlock--quote on the page, one per post
    # "<bdi>sheyner</bdi> и <bdi>WRX23</bdi>" on 2583 and 4961, one name on the 18 others
    assert {m.external_id: m.likes for m in ms if m.likes != 1} == {"2583": 2, "4961": 2}
    last = ms[-1]
    assert (last.external_id, last.author, last.text) == ("4962", "HellFire",
                                                          "потому-что разный смысл получается(по этому и спрашиваю=))")
    assert last.published_at == datetime(2013, 6, 10, 18, 33, 8, tzinfo=UTC)  # data-time="1370889188"
    assert r.next_url == ("https://tophope.ru/threads/%D0%9E%D0%B1%D1%85%D0%BE%D0%B4-%D0%B7%D0%B0%D1%89%D0%B8%D1%82-"
                          "%D0%B8%D0%BB%D0%B8-%D0%B2%D0%B8%D1%80%D1%82%D1%83%D0%B0%D0%BB%D1%8C%D0%BD%D0%B0%D1%8F-"
                          "%D0%BC%D0%B0%D1%88%D0%B8%D0%BD%D0%B0.102/page-3")  # <link rel="next">


# -- lxml's nesting of broken markup --------------------------------------------------------
BROKEN = ('<ol id="messageList">'
          '<li id="post-1" class="message" data-author="ann"><div class="messageContent">'
          '<blockquote class="messageText">first</blockquote>'  # its </div> is missing
          '<div class="messageMeta"><a class="datePermalink" href="posts/1/">'
          '<abbr class="DateTime" data-time="1400000000">x</abbr></a><a class="postNumber">#1</a></div></li>'
          '<li id="post-2" class="message" data-author="bob"><div class="messageContent">'
          '<blockquote class="messageText">second</blockquote></div>'
          '<div class="messageMeta"><a class="datePermalink" href="posts/2/">'
          '<abbr class="DateTime" data-time="1400003600">y</abbr></a><a class="postNumber">#2</a></div>'
          '<div class="likesSummary"><span class="LikeText"><a href="members/c.3/" class="username">cy</a> and '
          '<a href="posts/2/likes" class="OverlayTrigger">4 others</a> like this.</span></div></li></ol>')


def test_a_missing_close_tag_nests_posts_in_lxml_but_not_here() -> None:
    """The issue's board: under lxml the second post becomes a child of the first (an
    ``<li>`` closes the open ``<li>`` only when nothing is open inside it), so ``::attr``
    on the first post joins both dates. The HTML5 tree closes it; each post is read alone."""
    lxml_first = Selector(text=BROKEN).css("li.message")[0]
    assert lxml_first.css(".DateTime::attr(data-time)").getall() == ["1400000000", "1400003600"]
    page = Page(url="https://board.example/threads/t.1/", text=BROKEN, now=datetime(2020, 1, 1, tzinfo=UTC),
                tz=ZoneInfo("UTC"))
    assert [p.css(".DateTime::attr(data-time)").getall() for p in own_posts(html5_selector(page, "a thread"), "li.message")] \
        == [["1400000000"], ["1400003600"]]
    ms = adapter("forum_xenforo")(page)
    assert [(m.author, m.text, m.published_at, m.likes) for m in ms] == [
        ("ann", "first", datetime(2014, 5, 13, 16, 53, 20, tzinfo=UTC), None),  # no LikeText: not shown
        ("bob", "second", datetime(2014, 5, 13, 17, 53, 20, tzinfo=UTC), 5)]  # "cy and 4 others like this"


def test_the_real_xenforo1_page_with_one_close_tag_lost() -> None:
    """The Sufficient Velocity page with the first post's ``</div>`` after ``</article>``
    dropped (in memory; the fixture is untouched): lxml then nests all 25 posts in the
    first one, whose ``::attr`` holds every date. The adapter still reads 25 posts, each
    with its own date, text and quotes."""
    page, _ = fixture("forum_xenforo", "sufficientvelocity-xf1-2017")
    at = page.text.index("</article>\n</div>", page.text.index('id="post-2146286"'))
    broken = page.text[:at] + "</article>\n" + page.text[at + len("</article>\n</div>"):]
    lxml_first = Selector(text=broken).css("li.message")[0]
    assert len(lxml_first.css("li.message")) == 25  # itself and the 24 posts nested in it
    assert len(lxml_first.css(".datePermalink .DateTime::attr(title)").getall()) == 25
    good = adapter("forum_xenforo")(page)
    got = adapter("forum_xenforo")(Page(page.url, broken, page.now, page.tz))
    keys = ("external_id", "author", "published_at", "text", "quoted", "in_reply_to", "position")
    assert [[getattr(m, k) for k in keys] for m in got] == [[getattr(m, k) for k in keys] for m in good]
    assert len({m.published_at for m in got}) > 20


# -- phpBB -------------------------------------------------------------------------------
def test_phpbb30_prosilver_ilovephilosophy_page_2() -> None:
    r = read("forum_phpbb", "ilovephilosophy-30-2019")
    ms = r.mentions
    assert len(ms) == 25 and [m.position for m in ms] == list(range(26, 51))  # start=25
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author) == ("2729870", "Jakob")
    # p.author "by Jakob » Sun May 26, 2019 4:34 pm"; "All times are UTC [ DST ]" = UTC+1
    assert first.published_raw == "Sun May 26, 2019 4:34 pm"
    assert first.published_at == datetime(2019, 5, 26, 15, 34, tzinfo=UTC)
    assert first.url == "https://www.ilovephilosophy.com/viewtopic.php?p=2729870#p2729870"
    assert first.text.startswith("Good lecture. Believe me I know the clown part.")
    assert "For behold, all acts of love" not in first.text  # div.signature
    uncited = next(m for m in ms if m.external_id == "2729875")  # blockquote.uncited
    assert uncited.quoted == "https://vocaroo.com/i/s0WJlPuchytm"
    assert uncited.text.startswith("Well I think we can get a long way in designing such a morality.")
    cited = next(m for m in ms if m.external_id == "2729876")  # <cite>Urwrongx1000 wrote:</cite>
    assert cited.author == "Jakob" and cited.published_at == datetime(2019, 5, 26, 16, 32, tzinfo=UTC)
    assert cited.quoted.startswith("I don't know if you've read this thread but you should")
    assert "wrote:" not in cited.quoted
    assert adapter_quotes("forum_phpbb", "ilovephilosophy-30-2019", "2729876")[0] == ("Urwrongx1000", None)
    assert (last.external_id, last.author) == ("2730442", "promethean75")
    assert last.published_at == datetime(2019, 6, 1, 18, 20, tzinfo=UTC)  # "Sat Jun 01, 2019 7:20 pm"
    assert r.next_url == "https://www.ilovephilosophy.com/viewtopic.php?f=1&t=194998&start=50"  # a.right-box "Next"


def test_phpbb32_dostips_topic_page_4_with_quotes() -> None:
    r = read("forum_phpbb", "dostips-32-topic-7153-page4-2016")
    ms = r.mentions
    # 15 div.post#pNNN (the 16th div.post is the style's header row); "Message #46".."#60"
    assert len(ms) == 15 and [m.position for m in ms] == list(range(46, 61))
    first, second, last = ms[0], ms[1], ms[-1]
    assert (first.external_id, first.author, first.published_raw) == ("47980", "misol101", "22 Jul 2016 16:55")
    assert first.published_at == datetime(2016, 7, 22, 22, 55, tzinfo=UTC)  # "All times are UTC-06:00"
    assert (second.external_id, second.author) == ("47981", "penpen")  # a.username-coloured
    assert second.published_at == datetime(2016, 7, 22, 23, 59, tzinfo=UTC)
    assert second.quoted == ("Is there a faster way to create and blit the output to the screen than what I'm doing "
                             "below?\n\nWhy not use OpenGL instead godammit")
    assert second.text.startswith('I\'m unsure if how much speed you would gain, but you could minimize the amount of '
                                  '"malloc" and "free" calls')
    assert adapter_quotes("forum_phpbb", "dostips-32-topic-7153-page4-2016", "47981") == [
        ("misol101", None), ("misol101", None)]  # 3.2 cites here carry no post link
    assert (last.external_id, last.author) == ("49052", "misol101")
    assert last.published_at == datetime(2016, 9, 15, 21, 46, tzinfo=UTC)  # "15 Sep 2016 15:46"
    # a[rel=next] (HTTrack rewrote the file name; the query is the board's)
    assert r.next_url == "https://www.dostips.com/forum/viewtopic023b.html?f=3&t=7153&start=60"


def test_phpbb32_dostips_single_page_topic_has_the_opening_post() -> None:
    r = read("forum_phpbb", "dostips-32-topic-8820-2018")
    ms = r.mentions
    assert len(ms) == 7 and [m.position for m in ms] == list(range(1, 8))
    first = ms[0]
    assert (first.kind, first.external_id, first.author) == ("post", "57944", "aGerman")
    assert first.title == "Refresh Desktop (Powershell hybrid)"  # h2.topic-title
    assert first.published_at == datetime(2018, 9, 5, 16, 44, tzinfo=UTC)  # "05 Sep 2018 10:44", UTC-6
    assert "@echo off &setlocal" in first.text and "Code: Select all" not in first.text
    # 3.2 cites: <a href=memberlist..>Squashman</a> wrote: <a href="...?p=57950#p57950" data-post-id="57950">
    reply = next(m for m in ms if m.external_id == "57953")
    assert (reply.author, reply.in_reply_to) == ("ShadowThief", "57950")
    assert reply.quoted == ("I am not a .net programmer but didn't someone show an example of creating and compiling "
                            "quick and dirty .net code. Not sure if that would be faster.")
    assert adapter_quotes("forum_phpbb", "dostips-32-topic-8820-2018", "57953") == [("Squashman", "57950")]
    nested = next(m for m in ms if m.external_id == "57956")  # quotes 57953, which quoted 57950
    assert nested.in_reply_to == "57953" and "wrote:" not in nested.quoted and "18:17" not in nested.quoted
    assert (ms[-1].external_id, ms[-1].author) == ("57957", "aGerman")
    assert ms[-1].published_at == datetime(2018, 9, 6, 16, 34, tzinfo=UTC)
    assert r.next_url is None  # "Page 1 of 1"


def test_phpbb_forum_listing_follows_its_topics() -> None:
    r = read("forum_phpbb", "dostips-32-viewforum-3-2018")
    assert r.mentions == []
    # 51 a.topictitle, each topic once (announcements included), in page order
    assert len(r.follow_urls) == 51 == len(set(r.follow_urls))
    assert r.follow_urls[0] == "https://www.dostips.com/forum/viewtopic4b2d.html?f=3&t=8046&sid=c04d3b67eaf4f93448cfa176972dc457"
    assert r.follow_urls[1] == "https://www.dostips.com/forum/viewtopicb970.html?f=3&t=6108&sid=c04d3b67eaf4f93448cfa176972dc457"
    assert r.next_url == "https://www.dostips.com/forum/viewforum068e.html?f=3&sid=c04d3b67eaf4f93448cfa176972dc457&start=50"


# -- vBulletin 3, 4, 5 ---------------------------------------------------------------------
def test_vbulletin3_animesuki_page_152() -> None:
    r = read("forum_vbulletin", "animesuki-vb3-2016")
    ms = r.mentions
    assert len(ms) == 20 and [m.position for m in ms] == list(range(3021, 3041))  # a#postcountNNN name=
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author) == ("5768670", "Shirohige")  # a.bigusername
    assert first.published_raw == "2016-02-01, 02:21"  # td.thead text; "All times are GMT -5"
    assert first.published_at == datetime(2016, 2, 1, 7, 21, tzinfo=UTC)
    assert first.url == "https://forums.animesuki.com/showthread.php?p=5768670#post5768670"
    # "Originally Posted by <strong>TinyRedLeaf</strong>" + a showthread.php?...p=5768621 link
    assert first.in_reply_to == "5768621"
    assert first.quoted.startswith("Well, what's offensive to me is that \"lesbians\" insist on thinking")
    assert first.text.startswith('Let me reword it from lesbians to "non-straight" girls')
    assert "Originally Posted by" not in first.text and "Quote:" not in first.text
    assert adapter_quotes("forum_vbulletin", "animesuki-vb3-2016", "5768670")[0] == ("TinyRedLeaf", "5768621")
    assert (last.external_id, last.author) == ("5778211", "Kamieichi")
    assert last.published_at == datetime(2016, 2, 13, 15, 38, tzinfo=UTC)  # "2016-02-13, 10:38"
    assert r.next_url == "https://forums.animesuki.com/showthread.php?t=128882&page=153"  # a[rel=next]


def test_vbulletin5_fandompost_first_page() -> None:
    r = read("forum_vbulletin", "fandompost-vb5-2019")
    ms = r.mentions
    assert len(ms) == 15 and [m.position for m in ms] == list(range(1, 16))  # li[data-node-id], a.b-post__count
    first, second, third, last = ms[0], ms[1], ms[2], ms[-1]
    assert (first.kind, first.external_id, first.author) == ("post", "727744", "Buckeye")
    assert first.title == "Isekai Quartet Discussion Thread"  # h1.main-title
    # shown "04-09-2019, 10:37 AM" in GMT-5; datetime="2019-04-09T08:37:23" is the server's clock
    assert first.published_raw == "04-09-2019, 10:37 AM"
    assert first.published_at == datetime(2019, 4, 9, 15, 37, tzinfo=UTC)
    assert second.published_at == datetime(2019, 4, 9, 16, 55, tzinfo=UTC)  # "04-09-2019, 11:55 AM"
    assert second.text.startswith("Episode 1\nFour-in-one.\nAnd the characters from the four Kadokawa isekai shows")
    assert "MyAnimeList" not in second.text  # .post-signature
    # .bbcode_postedby "Originally posted by <strong>Buckeye</strong>" linking ?p=727754#post727754
    assert (third.author, third.in_reply_to) == ("General Hentai", "727754")
    assert third.quoted.startswith("Episode 1\nFour-in-one.")
    assert third.text.startswith("Re: Episode 1\nO.M.G.")
    assert (last.external_id, last.position) == ("731647", 15)
    assert last.published_at == datetime(2019, 5, 29, 2, 2, tzinfo=UTC)  # "05-28-2019, 09:02 PM" GMT-5
    assert r.next_url == ("https://fandompost.vbulletin.net/forum/anime-manga-discussions/general-anime-discussions/"
                          "727744-isekai-quartet-discussion-thread/page2")


def test_vbulletin4_militarytimes_is_read_by_the_same_site() -> None:
    r = read("forum_vbulletin", "militarytimes-vb4-2016")
    ms = r.mentions
    assert len(ms) == 10 and [m.position for m in ms] == list(range(1, 11))  # li#post_NNN, a.postcounter
    first, last = ms[0], ms[-1]
    assert (first.kind, first.external_id, first.author) == ("post", "365266", "Rainmaker")
    assert first.published_raw == "06-15-2016, 03:03 PM"  # span.date; "All times are GMT"
    assert first.published_at == datetime(2016, 6, 15, 15, 3, tzinfo=UTC)
    assert first.text == "http://www.airforcetimes.com/story/m...s-76/85869288/\nRIP Mr. Dorr."
    assert last.external_id == "367742" and last.published_at == datetime(2016, 9, 19, 14, 38, tzinfo=UTC)


# -- not a forum page ------------------------------------------------------------------------
@pytest.mark.parametrize("site", ["forum_xenforo", "forum_phpbb", "forum_vbulletin"])
def test_other_pages_are_malformed_not_empty(site: str) -> None:
    page, _ = fixture("forum_xenforo" if site != "forum_xenforo" else "forum_phpbb",
                      "tophope-xf2-ru-2020" if site != "forum_xenforo" else "dostips-32-topic-8820-2018")
    with pytest.raises(MalformedPage):
        adapter(site)(page)
    with pytest.raises(MalformedPage):
        adapter(site)(Page(url="https://x.example/", text='{"posts": []}', now=page.now, tz=page.tz))


# -- board listings (no real listing page of these engines found: minimal markup) --------------
LISTINGS = {
    "xf2": ("forum_xenforo", '<div class="structItem structItem--thread"><div class="structItem-title">'
            '<a href="/forums/f.2/?prefix_id=1" class="labelLink">Prefix</a>'
            '<a href="/threads/hello.10/" data-tp-primary="on">Hello</a></div></div>'
            '<div class="structItem structItem--thread"><div class="structItem-title">'
            '<a href="/threads/second.11/">Second</a></div></div>'
            '<a class="pageNav-jump pageNav-jump--next" href="/forums/f.2/page-2">Next</a>',
            ["https://board.example/threads/hello.10/", "https://board.example/threads/second.11/"],
            "https://board.example/forums/f.2/page-2"),
    "xf1": ("forum_xenforo", '<ol class="discussionListItems"><li class="discussionListItem" id="thread-10">'
            '<h3 class="title"><a href="threads/hello.10/" class="PreviewTooltip">Hello</a></h3></li></ol>'
            '<div class="PageNav" data-page="1" data-last="3" data-sentinel="{{sentinel}}" '
            'data-baseurl="forums/f.2/page-{{sentinel}}"></div>',
            ["https://board.example/forums/threads/hello.10/"], "https://board.example/forums/forums/f.2/page-2"),
    "vb3": ("forum_vbulletin", '<a href="showthread.php?t=10" id="thread_title_10">Hello</a>'
            '<a href="showthread.php?t=11" id="thread_title_11">Second</a>'
            '<a rel="next" href="forumdisplay.php?f=2&amp;page=2">&gt;</a>',
            ["https://board.example/forums/showthread.php?t=10", "https://board.example/forums/showthread.php?t=11"],
            "https://board.example/forums/forumdisplay.php?f=2&page=2"),
    "vb5": ("forum_vbulletin", '<a class="topic-title js-topic-title" href="/forum/f/10-hello">Hello</a>',
            ["https://board.example/forum/f/10-hello"], None),
}


@pytest.mark.parametrize("engine", sorted(LISTINGS))
def test_board_listings_follow_their_threads(engine: str) -> None:
    site, body, threads, next_url = LISTINGS[engine]
    page = Page(url="https://board.example/forums/", text=f"<html><body>{body}</body></html>",
                now=datetime(2020, 1, 1, tzinfo=UTC), tz=ZoneInfo("UTC"))
    r = adapter(site).read(page)
    assert (r.mentions, r.follow_urls, r.next_url) == ([], threads, next_url)


def test_forum_fields_survive_the_store(tmp_path: Path) -> None:
    """A real page's posts through SQLite and back: ``position``, ``quoted`` and
    ``in_reply_to`` are stored like every other field."""
    from crawlers.items import mention_content_hash, mention_fingerprint
    from crawlers.store.sqlite import SQLiteStore

    ms = read("forum_vbulletin", "animesuki-vb3-2016").mentions
    for m in ms:
        m.source_id, m.location_id, m.brand, m.id_scope = "s", "loc", "b", "host:forums.animesuki.com"
        m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    store = SQLiteStore(f"sqlite:///{tmp_path / 'x.db'}")
    store.upsert_mentions(ms)
    back = {m.external_id: m for m in store.iter_mentions()}
    store.close()
    first = back["5768670"]
    assert (first.position, first.in_reply_to) == (3021, "5768621")
    assert first.quoted == ms[0].quoted and first.quoted.startswith("Well, what's offensive to me")
