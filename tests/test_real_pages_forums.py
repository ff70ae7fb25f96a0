"""Forum and social adapters on the real saved pages in ../shared/pages.

Every expected value below was read from the raw file (grep/json), not from the parser.
Relative ages ("4 hours ago") resolve against the fixed NOW; epoch timestamps are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from spiders.pages.base import Page
from spiders.pages.discourse import DiscoursePage
from spiders.pages.hackernews import HackerNewsPage
from spiders.pages.reddit import RedditPage
from spiders.pages.registry import adapter, sites
from spiders.pages.vbulletin import VBulletinThreadPage
from tests.conftest import shared_path

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ZURICH = ZoneInfo("Europe/Zurich")
UTC_ZONE = ZoneInfo("UTC")


def saved(*parts: str, url: str, tz: ZoneInfo = UTC_ZONE, encoding: str = "utf-8") -> Page:
    return Page(url=url, text=shared_path("pages", *parts).read_text(encoding=encoding), now=NOW, tz=tz)


def test_forum_sites_are_registered() -> None:
    assert {"reddit", "hackernews", "discourse", "forum_vbulletin", "rss"} <= set(sites())


# -- reddit ------------------------------------------------------------------------------
def test_reddit_listing_cassette() -> None:
    page = saved("reddit", "TestSubredditListings.test_hot.json", url="cassette://hot")
    po = RedditPage(page)
    ms = po.mentions()
    assert len(ms) == 102 and {m.kind for m in ms} == {"post"}
    first, last = ms[0], ms[-1]
    assert first.external_id == "t3_46c00m" and first.author == "orangejulius"
    assert first.title == "THE ASKREDDIT MOBILE DESIGN EXTRAVAGANZA CONTEST!"
    assert first.text.startswith("Hi everybody! (Hi Doctor Nick!)\nAskReddit needs some mobile artwork")
    assert first.text.endswith("EDIT ALL OF THEM INTO THE TOP LEVEL COMMENT.")
    assert (first.likes, first.comments) == (1382, 433)
    assert first.published_at == datetime(2016, 2, 18, 0, 30, 45, tzinfo=UTC)  # created_utc 1455755445
    assert first.url == "https://www.reddit.com/r/AskReddit/comments/46c00m/the_askreddit_mobile_design_extravaganza_contest/"
    # a link/question post without selftext: its title is what the author said
    assert last.external_id == "t3_48dlnt" and last.author == "Niftapotamus"
    assert last.text == last.title == "What is the best piece of advice your parents once told you?"
    assert (last.likes, last.comments) == (20, 26)
    assert last.published_at == datetime(2016, 3, 1, 0, 51, 15, tzinfo=UTC)  # 1456793475
    # pagination: the listing's `after` cursor on the recorded request URL
    assert po.next_url() == "https://oauth.reddit.com/r/askreddit/hot?raw_json=1&limit=100&after=t3_48dlnt"
    assert po.more_children() == []


def test_reddit_comment_forest_cassette() -> None:
    page = saved("reddit", "TestCommentForest.test_replace__on_comment_from_submission.json", url="cassette://forest")
    po = RedditPage(page)
    ms = po.mentions()
    # 1 post + every "kind": "t1" in the body (472); the 18 "more" stubs are not mentions
    assert len(ms) == 473 and [m.kind for m in ms].count("comment") == 472
    post, first = ms[0], ms[1]
    assert (post.external_id, post.author, post.title, post.text) == (
        "t3_3hahrw", "your_local_librarian", "Ba Dum Tsss", "Ba Dum Tsss")
    assert (post.likes, post.comments) == (29779, 538)
    assert post.published_at == datetime(2015, 8, 17, 7, 44, 40, tzinfo=UTC)
    assert first.external_id == "t1_cu5pebp" and first.author == "johnnwho" and first.likes == 1132
    assert first.text == "Man I am glad there isn't someone on a drum set every time I fall over."
    assert first.url == "https://www.reddit.com/comments/3hahrw/_/cu5pebp/"
    last = ms[-1]
    assert (last.external_id, last.author, last.likes) == ("t1_cu5t92s", "TheTrampRO", -7)
    assert last.text == ("I actually laughed out loud at something on r/funny. Somebody check Hell and see "
                         "if it has frozen over.\nAll my upvotes!")
    assert last.published_at == datetime(2015, 8, 17, 12, 48, 32, tzinfo=UTC)  # 1439815712
    # pagination: the elided comments behind "more" stubs; the last top-level stub's 9 ids close it
    more = po.more_children()
    assert more[-9:] == ["cu5tt8h", "cu5v9yd", "cu5twf5", "cu5tkk4", "cu5tead", "cu5rxpy", "cu5oufs",
                         "cu5tpek", "cu5pbdh"]
    assert po.next_url() is None


def test_reddit_new_site_page_state() -> None:
    page = saved("reddit", "reddit.com.init.html", url="https://www.reddit.com/r/Python/comments/1bbbwk/")
    ms = RedditPage(page).mentions()
    assert len(ms) == 27  # the post + the 26 comments in comments.models
    post, last = ms[0], ms[-1]
    assert post.title == "What's your opinion on what to include in __init__.py ?"
    assert (post.external_id, post.author, post.likes, post.comments) == ("t3_1bbbwk", "barisumog", 124, 50)
    assert post.published_at == datetime(2013, 3, 30, 18, 46, 24, tzinfo=UTC)  # created 1364669184000 ms
    assert post.text.startswith("I'm new to packaging and publishing on PyPI.")
    assert "\nLeave the __init__.py blank." in post.text
    assert post.text.endswith("http://stackoverflow.com/questions/2360724/in-python-what-exactly-does-import-import")
    assert (last.external_id, last.author, last.likes) == ("t1_c95f5v9", "sirk390", 4)
    assert last.text.startswith("I think this is a very bad idea as it will create a coupling between all modules.")
    assert "\nIt is also very annoying when you want to use some parts of an API" in last.text
    assert last.published_at == datetime(2013, 3, 30, 23, 2, 9, tzinfo=UTC)  # 1364684529
    assert last.url == "https://www.reddit.com/r/Python/comments/1bbbwk/whats_your_opinion_on_what_to_include_in_init_py/c95f5v9/"


# -- Hacker News -------------------------------------------------------------------------
def test_hackernews_item_page_2016_markup() -> None:
    po = HackerNewsPage(saved("hackernews", "comments_9989667.html", url="https://news.ycombinator.com/item?id=12423794"))
    ms = po.mentions()
    assert len(ms) == 4  # the story + "3 comments"
    story, first, last = ms[0], ms[1], ms[-1]
    assert (story.kind, story.external_id, story.author, story.title) == (
        "post", "12423794", "ingve", "GPU Ray Tracing the Wrong Way")
    assert (story.likes, story.comments, story.published_raw) == (48, 3, "4 hours ago")
    assert story.published_at == datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
    assert (first.external_id, first.author, first.published_raw) == ("12424346", "fulafel", "2 hours ago")
    assert first.text.startswith("Makes you wonder how many cool things people would have written")
    assert first.text.endswith("in Intel-provided open source drivers for many many years.")  # no "reply" link
    assert (last.external_id, last.author) == ("12425045", "exDM69")
    assert last.published_at == datetime(2026, 11, 23, 1, 56, tzinfo=UTC)  # "4 minutes ago"
    assert last.url == "https://news.ycombinator.com/item?id=12425045"
    assert po.next_url() is None  # no morelink: one page


def test_hackernews_item_page_2015_markup() -> None:
    po = HackerNewsPage(saved("hackernews", "comments_ask_998917.html", url="https://news.ycombinator.com/item?id=9996335"))
    ms = po.mentions()
    assert len(ms) == 53  # the Ask HN + "52 comments" (52 class='athing' comment rows)
    story, first, last = ms[0], ms[1], ms[-1]
    assert story.title == "Ask HN: Who wants to be hired? (August 2015)"
    assert (story.author, story.likes, story.comments) == ("whoishiring", 50, 52)
    assert story.text == ("Share your information if you are looking for work. Please use this format:\n"
                          "Location:\nRemote:\nWilling to relocate:\nTechnologies:\nRésumé/CV:\nEmail:\n"
                          "Readers: please only email these addresses to discuss work opportunities.")
    assert (first.external_id, first.author) == ("9997329", "lucaspiller")
    assert first.text.startswith("Location: Dubai, UAE\nRemote: Yes\nWilling to relocate: Yes, planning to move back to Europe")
    assert (last.external_id, last.author, last.published_raw) == ("9996800", "cowkrs_knw_user", "47 minutes ago")
    assert last.published_at == datetime(2026, 11, 23, 1, 13, tzinfo=UTC)
    assert last.text == ("Location: Washington, DC\nRemote: Will Consider\nWilling to relocate: Possibly\n"
                         "Technologies: Python, Django/Flask, MongoDB, Javascript\n"
                         "Résumé/CV: Will send upon reqeust\nEmail: newstart@boun.cr")


def test_hackernews_morelink_rule() -> None:
    html = ('<html op="item"><table><tr><td class="subtext"><span class="score">1 point</span></td></tr>'
            '</table><a href="item?id=25015967&amp;p=2" class="morelink" rel="next">More</a></html>')
    page = Page(url="https://news.ycombinator.com/item?id=25015967", text=html, now=NOW, tz=ZoneInfo("UTC"))
    assert HackerNewsPage(page).next_url() == "https://news.ycombinator.com/item?id=25015967&p=2"


def test_hackernews_hnpwa_json() -> None:
    po = HackerNewsPage(saved("hackernews", "comments.json", url="https://api.hnpwa.com/v0/item/25015967.json"))
    ms = po.mentions()
    # story + 2170 nested comments - 98 deleted ("[deleted]", no user)
    assert len(ms) == 2073
    story, first, last = ms[0], ms[1], ms[-1]
    assert story.title == "Biden wins White House, vowing new direction for divided U.S."
    assert (story.author, story.likes, story.comments) == ("granzymes", 3089, 2170)
    assert story.published_at == datetime(2020, 11, 7, 16, 25, 47, tzinfo=UTC)  # 1604766347
    assert (first.external_id, first.author) == ("25017129", "dang")
    assert first.text.startswith("All: before reading further, make sure you're up on the site guidelines")
    assert first.published_at == datetime(2020, 11, 7, 18, 26, 30, tzinfo=UTC)
    assert (last.external_id, last.author) == ("25028072", "_hyn3")
    assert last.text.startswith("> We’re all familiar with projecting/crowning a winner")
    assert last.text.endswith("so using them to project victory is fraught with peril.\n> New information can affect outcomes.\nIndeed. ;)")
    assert all(m.text != "[deleted]" for m in ms)
    assert po.next_url() is None


# -- Discourse ---------------------------------------------------------------------------
def test_discourse_topic() -> None:
    po = DiscoursePage(saved("discourse", "topic.json", url="https://try.discourse.org/t/57.json"))
    ms = po.mentions()
    assert len(ms) == 4  # post_stream.stream [83, 84, 86, 226]
    first, last = ms[0], ms[-1]
    assert (first.kind, first.external_id, first.author) == ("post", "83", "samsaffron")
    assert first.title == "THIS SITE IS A SANDBOX -- it is reset every day"
    assert first.text.startswith("Welcome!\nTry is a sandbox, a safe place to play with Discourse and its features.")
    assert first.published_at == datetime(2013, 2, 4, 20, 26, 26, 278000, tzinfo=UTC)  # 15:26:26.278-05:00
    assert (first.likes, first.comments) == (0, 1)
    assert first.url == "https://try.discourse.org/t/this-site-is-a-sandbox-it-is-reset-every-day/57/1"
    assert (last.kind, last.external_id, last.author, last.likes) == ("comment", "226", "splattne", 5)
    assert last.text.startswith("What? So I have to post this every day?")
    assert last.url.endswith("/57/14")
    assert po.missing_post_ids() == [] and po.next_url() is None


def test_discourse_topic_pages_by_missing_ids() -> None:
    text = ('{"id": 9, "slug": "s", "title": "T", "post_stream": {"stream": [1, 2, 3],'
            ' "posts": [{"id": 1, "post_number": 1, "cooked": "<p>a</p>", "username": "u"}]}}')
    po = DiscoursePage(Page(url="https://forum.test/t/9.json", text=text, now=NOW, tz=ZoneInfo("UTC")))
    assert po.missing_post_ids() == [2, 3]
    assert po.next_url() == "https://forum.test/t/9/posts.json?post_ids%5B%5D=2&post_ids%5B%5D=3"


def test_discourse_latest_posts() -> None:
    po = DiscoursePage(saved("discourse", "posts_latest.json", url="https://try.discourse.org/posts.json"))
    ms = po.mentions()
    assert len(ms) == 4
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.text, first.kind) == ("15", "johndoe", "holla bullhonky.", "comment")
    assert first.published_at == datetime(2020, 1, 25, 2, 10, 7, 971000, tzinfo=UTC)
    assert first.url == "https://try.discourse.org/t/this-is-an-uncategorized-title/11/2"
    assert (last.external_id, last.author, last.title) == ("2", "system", "About the Site Feedback category")
    assert last.text == "Discussion about this site, its organization, how it works, and how we can improve it."
    assert po.next_url() == "https://try.discourse.org/posts.json?before=2"


# -- vBulletin ---------------------------------------------------------------------------
VB_URL = "https://www.pocketpc.ch/windows-phone-7-allgemein/122760-microsoft-beginnt-auslieferung-vorbereitungsupdate-34.html"


def vb_page() -> Page:
    return saved("forum_vbulletin", "pocketpc.ch.auslieferung.html", url=VB_URL, tz=ZURICH, encoding="iso-8859-1")


def test_vbulletin_thread_page() -> None:
    po = VBulletinThreadPage(vb_page())
    ms = po.mentions()
    assert len(ms) == 20 and {m.kind for m in ms} == {"comment"}  # posts #661..#680, not the opening post
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.likes) == ("949757", "Predator", 0)
    # the quote of TheFreeman and the Tapatalk signature are not Predator's words
    assert first.text == "Das war noch nicht das Update, sondern nur die Vorbereitung. Warum auch immer"
    assert first.published_raw == "03.03.2011, 14:17"
    assert first.published_at == datetime(2011, 3, 3, 13, 17, tzinfo=UTC)  # CET = UTC+1
    assert first.url.startswith("https://www.pocketpc.ch/windows-phone-7-allgemein/122760-microsoft-beginnt-auslieferung-vorbereitungsupdate-post949757.html")
    assert ms[1].text == ("Starte mal Zune, und klicke oben rechts auf Einstellungen.\nDann oben Links auf Gerät, "
                          "Telefon oder Handy.\nDann links im Menü auf aktualisieren.\nWas kommt da dann?")
    assert (last.external_id, last.author) == ("949908", "tommyp")
    assert last.text == "ich glaube bei mir auch net, firmware ist auch noch 1601, aber 7008, komisch, oder?"
    assert last.published_at == datetime(2011, 3, 3, 15, 31, tzinfo=UTC)
    assert po.title() == "Microsoft beginnt mit der Auslieferung des Vorbereitungsupdate!"
    assert po.next_url() == ("https://www.pocketpc.ch/windows-phone-7-allgemein/122760-microsoft-beginnt-"
                             "auslieferung-vorbereitungsupdate-35.html?s=22c09551c71c1a6b64e4364ca45cbf28")


# -- RSS ---------------------------------------------------------------------------------
def test_rss_tumblr_feed() -> None:
    ms = adapter("rss")(saved("rss", "onethingwell.rss", url="http://onethingwell.org/rss"))
    assert len(ms) == 20
    first, last = ms[0], ms[-1]
    assert (first.title, first.url) == ("CSVfix", "http://onethingwell.org/post/127163643556")
    assert first.text.startswith("CSVfix:\nCSVfix is a command-line tool specifically designed to deal with CSV data.")
    assert first.published_at == datetime(2015, 8, 20, 16, 0, 10, tzinfo=UTC)  # 17:00:10 +0100
    assert (last.title, last.external_id) == ("Showgoers", "http://onethingwell.org/post/125509667816")
    assert last.published_at == datetime(2015, 7, 31, 12, 0, 13, tzinfo=UTC)


def test_rss_deal_feed_with_pixel_only_descriptions() -> None:
    ms = adapter("rss")(saved("rss", "slickdeals.atom", url="http://feeds.feedburner.com/SlickdealsnetFP"))
    assert len(ms) == 79
    first, last = ms[0], ms[-1]
    # the title is double-escaped in the feed ("&amp;amp;"); the description is a 1x1 pixel
    assert first.text == first.title == "PC Games: Tomb Raider: Game of the Year $6, Hitman Absolution: Elite Edition $5 & More"
    assert first.published_at == datetime(2014, 9, 13, 18, 13, 44, tzinfo=UTC)
    assert last.title == "Rearth Ringke Fusion Bumper Hybrid Case for iPhone 6 Free + Free Shipping"
    assert last.published_at == datetime(2014, 9, 11, 8, 30, tzinfo=UTC)
