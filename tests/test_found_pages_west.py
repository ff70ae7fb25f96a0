"""Western adapters on real pages found in public repositories (tests/fixtures/pages), pages
none of them was first written for.

Each fixture folder holds the page byte-for-byte (``input.*``) and ``meta.json`` (URL, the
fetch time read off the page or its commit, the site's zone, the charset, origin repo/path/
commit). The expected values below were read off the raw files, not from parser output:
feeds with ``grep -o '<published>[^<]*'`` / ``grep -o '<item rdf:about="[^"]*"'``; Amazon
cards with ``grep -o 'data-hook="review-author" ...>[^<]*'``, ``grep -o 'a-star-[0-9]'`` and
the ``helpful-vote-statement`` texts; Discourse JSON with ``python -m json.tool`` and the
crawler view with ``grep -o "post-likes'>[^<]*"``; reddit listings with ``jq
'.data.children[].data | {name, author, created_utc}'``; HN with ``grep -o 'class="age"
title="[^"]*"><a href="item?id=[0-9]*">[^<]*'`` and ``grep -c 'athing comtr'``; JSON-LD by
reading the ``<script type="application/ld+json">`` blocks. Times are asserted in UTC.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spiders.pages import registry, schema_org
from spiders.pages.base import Page
from spiders.pages.registry import Reading
from vocwatch.fixtures import KEPT_FOR_INDEPENDENT_CHECKS, Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
WEST_SITES = ("tripadvisor", "amazon", "booking", "google_maps", "yelp", "schema_org", "reddit", "hackernews",
              "discourse", "rss")
FORBIDDEN = KEPT_FOR_INDEPENDENT_CHECKS


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fixture_dirs() -> list[Path]:
    return sorted(d for s in WEST_SITES for d in (FIXTURES / s).glob("*/") if (d / "meta.json").exists())


def load(rel: str) -> Page:
    return Fixture(FIXTURES / rel).page()


def read(rel: str) -> Reading:
    return Fixture(FIXTURES / rel).read()


# --- the fixtures themselves ------------------------------------------------------------


@pytest.mark.parametrize("folder", fixture_dirs(), ids=lambda d: f"{d.parent.name}/{d.name}")
def test_fixture_is_documented_and_allowed(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    assert meta["site"] in registry.sites() and meta["site"] == folder.parent.name
    assert re.fullmatch(r"[0-9a-f]{40}", meta["origin"]["commit"])
    assert meta["origin"]["repo"] not in FORBIDDEN and meta["origin"]["license"]
    assert meta["url"].startswith("http") and ZoneInfo(meta["tz"])
    assert datetime.fromisoformat(meta["now"]).tzinfo is not None
    inputs = list(folder.glob("input.*"))
    assert len(inputs) == 1 and inputs[0].stat().st_size < 1_500_000
    inputs[0].read_bytes().decode(meta["encoding"])  # decodes with the declared charset
    row = next(line for line in (FIXTURES / "SOURCES.md").read_text("utf-8").splitlines()
               if line.startswith(f"| {folder.parent.name}/{folder.name} |"))
    assert meta["origin"]["commit"] in row and f"| {inputs[0].stat().st_size} |" in row


# --- rss ----------------------------------------------------------------------------------


def test_rss_heise_atom_entries_take_the_feed_author() -> None:
    r = read("rss/heise-developer-atom")
    ms = r.mentions
    assert len(ms) == 15 and {m.kind for m in ms} == {"post"} and r.next_url is None
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.title) == ("http://heise.de/-3088438", "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei")
    assert first.url.startswith("http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html")
    assert first.published_at == utc(2016, 2, 1, 16, 22)  # <published>2016-02-01T17:22:00+01:00
    assert "Die nun verfügbare Version 10 des Enterprise-Java-Servers" in first.text
    assert first.text.endswith("seit dem Namenswechsel des Open-Source-Projekts.")
    assert {m.author for m in ms} == {"heise online"}  # only the <feed> has an <author>
    assert (last.external_id, last.title) == ("http://heise.de/-3086458", "Apache Software Foundation bekommt ein neues Logo")
    assert last.published_at == utc(2016, 1, 28, 16, 7)


def test_rss_craigslist_rss1_rdf_items() -> None:
    ms = read("rss/craigslist-rdf").mentions  # RSS 1.0: every item in the purl.org/rss/1.0/ namespace
    assert len(ms) == 25
    first, last = ms[0], ms[-1]
    assert first.external_id == first.url == "http://sfbay.craigslist.org/eby/apa/6186664607.html"  # rdf:about
    assert first.title == "Bright, Spacious Beautiful Victorian (oakland north / temescal) $4300 3bd 1930ft2"
    assert first.published_at == utc(2017, 6, 21, 17, 33, 10)  # dc:date 10:33:10-07:00
    assert first.text.startswith("Updated 3+ Bedroom, 2.5 Bath, Victorian home.")
    assert first.text.endswith("Radiant floor heating throughou [...]")  # the site's own cut
    assert first.author is None  # the channel's dc:creator is robot@craigslist.org, not a writer
    assert last.external_id == "http://sfbay.craigslist.org/eby/apa/6170845890.html"
    assert last.published_at == utc(2017, 6, 21, 17, 31, 19)


def test_rss_reddit_front_page_feed() -> None:
    ms = read("rss/reddit-frontpage").mentions
    assert len(ms) == 24
    first, last = ms[0], ms[-1]
    assert first.title == "The water is too deep, so he improvises"
    assert first.external_id == first.url == "https://www.reddit.com/r/funny/comments/3skxqc/the_water_is_too_deep_so_he_improvises/"
    assert first.published_at == utc(2015, 11, 12, 21, 16, 39)
    assert "submitted by cakebeerandmorebeer to funny" in first.text and "[275 comments]" in first.text
    assert last.title == '"The best years of your life..." [Image]'
    assert last.published_at == utc(2015, 11, 12, 15, 9, 19)


# --- schema.org ---------------------------------------------------------------------------


def test_schema_org_seriouseats_text_reviews_without_ratings() -> None:
    page = load("schema_org/seriouseats-three-cup-chicken")
    ms = registry.adapter("schema_org")(page)
    assert [m.author for m in ms] == ["Zilchie", "SiliconValleyGeek", "Lion", "Sarah_Ann727", "poppyxcheska"]
    assert all(m.rating is None and m.published_at is None for m in ms)  # no reviewRating, no datePublished
    assert ms[0].text.startswith("I wanted a lighter version of this, so I seared bone-in chicken parts")
    assert ms[0].text.endswith("The crispy ginger bits are a real treat!")
    assert ms[-1].text.startswith("I'm confused-- you mentioned \"equal parts soy sayce, sesame oil and rice wine\"")
    assert "\n" in ms[-1].text  # its reviewBody has a paragraph break
    assert schema_org.aggregate_ratings(page) == [{"rating": 4.0, "scale": 5.0, "count": 5.0}]


def test_schema_org_bonappetit_has_only_the_aggregate() -> None:
    page = load("schema_org/bonappetit-detroit-pizza")
    assert registry.adapter("schema_org")(page) == []  # the reviews are app state, not schema.org
    assert schema_org.aggregate_ratings(page) == [{"rating": 2.96, "scale": 5.0, "count": 38.0}]


# --- amazon -------------------------------------------------------------------------------


def test_amazon_2017_desktop_product_page() -> None:
    r = read("amazon/dp-christine-dvd")
    ms = r.mentions
    assert [m.external_id for m in ms] == ["R3UENUKV2IVP67", "R15QA7D8KUI2A2", "R27N4A5F5FHZ2M", "R3MT3TNOF6007L",
                                           "R1Y4SXK7H9TETH", "R14DE5FQVNLFOT", "R2Y2ZOUUY5HHEV", "RRVMP1M06UZ67"]
    assert [m.author for m in ms] == ["Blue Leaf", "Linda L", "C-Reader", "Erin", "Jon Molzan", "Julie Galindo",
                                      "S. West", "jeff peake"]
    assert [m.rating_raw for m in ms] == [4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 4.0, 4.0]  # a-star-N of each card
    assert [m.likes for m in ms] == [13, 13, 1, 2, 3, 2, 2, 1]  # "One person found this helpful." = 1
    first, last = ms[0], ms[-1]
    assert first.title == "Rebecca Hall is Outstanding as Christine" and first.variant == "Format: Amazon Video"
    assert (first.published_raw, first.author_region) == ("on March 2, 2017", None)  # no marketplace on 2017 pages
    assert first.published_at == utc(2017, 3, 2, 8)  # Los Angeles midnight
    assert first.text.startswith("This film, directed by Antonio Campos, is based on the real-life story of Christine Chubbuck")
    assert first.text.endswith("while pursuing a career that she excelled at.")  # the "Read more" toggle is no text
    assert "Read more" not in " ".join(m.text for m in ms)
    assert ms[2].title.startswith("... very moving story of an intense person with a good heart")
    assert last.title == "A solid but depressing film with a breakoout performance by Rebecca Hall"
    assert last.text.endswith("Rebecca Hall's performance carries it to the finish line.")
    assert last.published_at == utc(2017, 2, 23, 8) and r.next_url is None


def test_amazon_2018_mobile_product_page_snippets() -> None:
    ms = read("amazon/mobile-dp-seven-languages").mentions  # bare div#customer_review-RID cards
    assert [(m.external_id, m.author, m.rating_raw) for m in ms] == [
        ("R29YSPVB4QPPPZ", "David J. Anderson", 4.0), ("R2SPV2IY5ASBK5", "SemioticLabyrinth", 5.0),
        ("R3PTNRE4693B2O", "Yun-Peng Wang", 3.0), ("R3BEMLU7G94UF9", "Mark Livingstone", 4.0),
        ("R2RAZ7N2CGN3P0", "Amazon Customer", 4.0), ("R2RZ76QHNR9MBI", "Amazon Customer", 4.0),
        ("R1RN6XSRMI652W", "R. Friesel Jr.", 3.0), ("R2A1V60RUTRFGS", "Scott Piper", 5.0),
    ]
    assert ms[0].text.startswith("Seven Languages in Seven Weeks gives us a good overview of seven interesting languages.")
    assert ms[-1].text.endswith("You're expected to know a...")  # the site's snippet cut
    assert all(m.published_at is None and m.likes is None for m in ms)  # the mobile card shows neither


# --- discourse ----------------------------------------------------------------------------


def test_discourse_topic_json_skips_moderator_actions() -> None:
    r = read("discourse/rust-users-42214")
    ms = r.mentions  # 6 posts in the stream; #3 and #6 are post_type 3 (pinned, closed), cooked ""
    assert [(m.external_id, m.author, m.likes) for m in ms] == [
        ("165427", "chrisd", 55), ("165432", "alice", 10), ("165467", "Ixrec", 12), ("165470", "chrisd", 3)]
    first = ms[0]
    assert (first.kind, first.title) == ("post", "Forum Code Formatting and Syntax Highlighting")
    assert first.url == "https://users.rust-lang.org/t/forum-code-formatting-and-syntax-highlighting/42214/1"
    assert first.published_at == datetime(2020, 5, 7, 15, 5, 15, 788000, tzinfo=UTC)
    assert first.text.startswith("To format code in this forum you need to surround the code with three backticks")
    assert ms[1].text == "Seems like pinning this thread would be fine?" and ms[1].kind == "comment"
    assert ms[-1].text.endswith("the syntax was now in the CommonMark spec. Thanks for the correction.")
    assert r.next_url is None  # the stream holds no id beyond the six posts sent


def test_discourse_html_topic_page_crawler_view() -> None:
    r = read("discourse/meta-topic-12483-html")  # its #data-preloaded JSON is damaged in this copy
    ms = r.mentions
    assert [(m.kind, m.author, m.likes) for m in ms] == [("post", "techAPJ", 8), ("comment", "codinghorror", 1)]
    first, second = ms
    assert first.title == "Congratulations, most stars in 2013 GitHub Octoverse!"
    assert first.url == "https://meta.discourse.org/t/congratulations-most-stars-in-2013-github-octoverse/12483/1"
    assert first.published_at == utc(2014, 2, 6, 4, 55, 19)  # datePublished, not the dateModified shown
    assert first.text.startswith("Congratulations Discourse for qualifying Repositories with the most stars on GitHub Octoverse.")
    assert second.published_at == utc(2014, 2, 6, 5, 27, 6) and second.external_id is None
    assert second.text.startswith("Ah, cool. I was not sure how to see that since GitHub changed around")
    assert r.next_url is None


# --- reddit -------------------------------------------------------------------------------


def test_reddit_search_listing() -> None:
    r = read("reddit/search-test-listing")
    ms = r.mentions
    assert [(m.external_id, m.author, m.likes, m.comments) for m in ms] == [
        ("t3_hybow9", "chocolat_ice_cream", 103829, 3748), ("t3_hmwhd7", "Jeremy_Martin", 149238, 7415)]
    assert ms[0].url == "https://www.reddit.com/r/WatchPeopleDieInside/comments/hybow9/pregnancy_test/"
    assert ms[0].published_at == utc(2020, 7, 26, 18, 14, 24)  # created_utc 1595787264
    assert ms[1].title == "Brazilian president Jair Bolsonaro tests positive for coronavirus"
    assert r.next_url == "https://oauth.reddit.com/r/all/search?q=test&after=t3_hmwhd7"


def test_reddit_user_overview_escaped_html_bodies() -> None:
    r = read("reddit/user-overview-v95")
    post, comment = r.mentions  # one t3 and one t1 in the same listing
    assert (post.kind, post.external_id, post.author) == ("post", "t3_gczwql", "v_95")
    assert post.title == ("GET /user/{username}/gilded: does it return other user's things you've gilded, or your things that "
                          "have been gilded? Does it return both comments and posts?")
    assert post.text.startswith("Talking about this endpoint specifically.")  # selftext_html was &lt;div...
    assert "<" not in post.text and "&lt;" not in post.text
    assert (comment.kind, comment.external_id, comment.text, comment.likes) == ("comment", "t1_f0zsa37", "Thank you!", 1)
    assert comment.published_at == utc(2019, 9, 21, 21, 38, 16)
    assert r.next_url == "https://oauth.reddit.com/user/v_95/overview?after=t1_f0zsa37"


# --- hacker news --------------------------------------------------------------------------


def test_hackernews_2021_item_page_absolute_ages() -> None:
    r = read("hackernews/branson-space-flight-2021")
    story, *comments = r.mentions
    assert len(comments) == 147  # grep -c 'athing comtr'; the subtext says 147 comments
    assert (story.external_id, story.author, story.likes, story.comments) == ("28385024", "zlsa", 312, 147)
    assert story.title == "The Red Warning Light on Richard Branson’s Space Flight"
    assert (story.published_raw, story.published_at) == ("7 hours ago", utc(2021, 9, 1, 20, 15, 25))  # span.age[title]
    first, last = comments[0], comments[-1]
    assert (first.external_id, first.author, first.published_at) == ("28385973", "bryananderson", utc(2021, 9, 1, 21, 52, 28))
    assert first.text.startswith("I recommend Schmidle’s recent book “Test Gods” if you are interested in Virgin G")
    assert (last.external_id, last.author, last.published_at) == ("28387667", "thefounder", utc(2021, 9, 2, 1, 24, 9))
    assert r.next_url is None and r.follow_urls == []


def test_hackernews_front_page_listing() -> None:
    r = read("hackernews/front-page-2022")
    ms = r.mentions
    assert len(ms) == 30 and {m.kind for m in ms} == {"post"}
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.likes, first.comments) == ("33005585", "tosh", 61, 8)
    assert first.title == first.text == "High-performance image generation using Stable Diffusion in KerasCV"
    assert first.published_at == utc(2022, 9, 28, 8, 28, 43)
    assert (last.external_id, last.author, last.likes, last.comments) == ("32998091", "ivank", 341, 147)
    # a second-chance story: shown "13 hours ago", stamped with its first submission
    resubmitted = next(m for m in ms if m.external_id == "32980061")
    assert (resubmitted.published_raw, resubmitted.published_at) == ("13 hours ago", utc(2022, 9, 26, 6, 24, 29))
    assert r.follow_urls[:2] == ["https://news.ycombinator.com/item?id=33005585", "https://news.ycombinator.com/item?id=33003777"]
    assert len(r.follow_urls) == 30 and r.next_url == "https://news.ycombinator.com/news?p=2"


# --- google maps --------------------------------------------------------------------------


def test_google_places_api_place_reviews() -> None:
    ms = read("google_maps/places-api-rca-therapy").mentions  # a JS-wrapped Places API (New) answer
    assert [(m.external_id, m.author) for m in ms] == [
        ("ChdDSUhNMG9nS0VJQ0FnTUNZaUw3QzFBRRAB", "Sheila Bogard Cato"),
        ("Ci9DQUlRQUNvZENodHljRjlvT21WMFpVTk9UbkV5VUVGblMwZzJXRnBGUldsamVXYxAB", "LaTonya Davis"),
        ("ChdDSUhNMG9nS0VJQ0FnTURvcy1PbDVRRRAB", "Ella Westby"),
        ("ChZDSUhNMG9nS0VJQ0FnTUR3elpDeVpBEAE", "Erica Sparks"),
        ("ChdDSUhNMG9nS0VJQ0FnTUNnOWZ5ZzF3RRAB", "Patricia Miller"),
    ]  # the RID of each review's name "places/PID/reviews/RID"
    assert {(m.rating_raw, m.rating_scale, m.language) for m in ms} == {(5.0, 5.0, "en")}
    first = ms[0]
    assert (first.published_raw, first.published_at) == ("3 months ago", datetime(2025, 4, 30, 16, 17, 29, 806781, tzinfo=UTC))
    assert first.text.startswith("i’ve had a very good experience with RCA therapy.")
    assert first.text.endswith("Recommend anyone to come very good people understanding caring")
    assert first.url.startswith("https://www.google.com/maps/reviews/data=!4m6!14m5!1m4!2m3!1sChdDSUhNMG9nS0VJQ0FnTUNZaUw3QzFBRRAB")
    assert ms[1].published_at == datetime(2025, 6, 25, 18, 52, 30, 145661, tzinfo=UTC)  # nanoseconds sent, µs kept
    assert ms[-1].text.endswith("I give them five stars anytime")


def test_google_places_api_search_text_places() -> None:
    ms = read("google_maps/places-search-oslo").mentions  # Crispy Clubs Gunerius: 5 reviews; Oslo Pizza: none
    assert [m.author for m in ms] == ["Kathy Nguyen", "Patty Dangwang", "lulu neela", "anis fadzil", "Artitaya Andersen"]
    assert ms[0].published_raw == "in the last week" and ms[0].published_at == datetime(2025, 8, 14, 19, 43, 4, 950843, tzinfo=UTC)
    assert ms[0].text.startswith("I’ve been been a handful of times, although service can sometimes be a bit slow")
    assert ms[1].text.endswith("Worth a visit!") and "\n" in ms[1].text
    assert ms[3].published_at == datetime(2024, 10, 15, 12, 1, 36, 389498, tzinfo=UTC)
    assert ms[-1].external_id == "ChZDSUhNMG9nS0VJQ0FnTURRdmFuc1NREAE"


# --- yelp ---------------------------------------------------------------------------------


def test_yelp_fusion_reviews_pacific_time() -> None:
    ms = read("yelp/fusion-reviews-eleven-madison-park").mentions  # export default {"reviews": [...], "total": 2405}
    assert [(m.external_id, m.author, m.rating_raw) for m in ms] == [
        ("YazjnGL3tNGNp6v-BXi3gw", "Dori G.", 5.0), ("SY0E3asN2tPsYfC95Qg3Sw", "Shawn B.", 1.0),
        ("CdNz5HNOGcAwcrt24Qaogw", "Amanda W.", 4.0)]
    first = ms[0]
    assert first.url == "https://www.yelp.com/biz/eleven-madison-park-new-york"  # the API key's tracking query dropped
    assert first.published_raw == "2023-04-10 18:57:16"
    assert first.published_at == utc(2023, 4, 11, 1, 57, 16)  # Pacific (PDT, -7), as Yelp documents
    assert first.text.startswith("Eleven Madison Park exceeded all expectations. It lived up to the name!\n")
    assert first.text.endswith("the service was absolutely impeccable. Every...")  # Yelp's snippet cut
    assert ms[1].published_at == utc(2023, 6, 11, 18, 33, 42)


def test_yelp_fusion_reviews_js_object_literal() -> None:
    ms = read("yelp/fusion-reviews-da-long-yi").mentions  # unquoted keys: read by chompjs, never run
    assert [(m.external_id, m.author) for m in ms] == [
        ("EEsl9OZX6uUTgg1QAqJDcQ", "J L."), ("hhwLz-L0W-Tpekr-pbQ8gg", "宝宝"), ("x2SSbIUfJT_7bKglIZ3P4A", "Jia G.")]
    assert {m.rating_raw for m in ms} == {5.0}
    assert ms[0].published_at == utc(2022, 9, 23, 17, 53, 28)  # "2022-09-23 10:53:28" PDT
    assert ms[2].text.startswith("great delicious\nvery famous Chinese hotpot\nlove it\n喜欢喜欢喜欢\n好吃好吃！！都去吃！快来吃！")
    assert ms[2].published_at == utc(2022, 9, 17, 1, 21, 44)
    assert {m.url for m in ms} == {"https://www.yelp.com/biz/da-long-yi-hot-pot-new-york-3"}


def test_yelp_graphql_search_reviews_per_business() -> None:
    ms = read("yelp/graphql-search-mon-ami-gabi").mentions  # 20 businesses x 3 reviews
    assert len(ms) == 60 and len({m.url for m in ms}) == 20
    first = ms[0]
    assert (first.external_id, first.author, first.rating_raw) == ("D3FpE6X_w6wwgQvkiwwF7Q", "Jax M.", 5.0)
    assert first.url == "https://www.yelp.com/biz/4JNXUYY8wbaaDmk3BPzlWw"  # Mon Ami Gabi's id: no URL in the answer
    assert first.published_at == utc(2019, 9, 16, 15, 58, 7)
    assert first.text.startswith("We were seated quickly, at a table overlooking the outside patio")
    assert ms[1].author == "Chalisar V." and ms[1].rating_raw == 4.0
    last = ms[-1]
    assert (last.external_id, last.author, last.url) == ("WPFGI9NPYtyuhf2e94zy4w", "Kim J.", "https://www.yelp.com/biz/eaNenRk_liZBERFFLCXqqQ")
    assert last.published_at == utc(2019, 8, 29, 23, 39, 57)


def test_reddit_rendered_thread_dom_without_state() -> None:
    r = read("reddit/new-reddit-askreddit-dom")  # no window.___r: data-testid hooks and t1_ fullnames only
    post, *comments = r.mentions
    assert (post.kind, post.external_id) == ("post", "t3_axtih6")
    assert post.title == post.text == 'What is the most "worth it" item you have ever purchased?'
    assert post.url == "https://www.reddit.com/r/AskReddit/comments/axtih6/what_is_the_most_worth_it_item_you_have_ever/"
    assert post.comments == 25400  # "25.4k comments"
    assert post.published_raw == "3 years ago" and post.published_at == utc(2019, 12, 14, 16)  # against now
    assert len(comments) == 12  # 15 comment blocks, 3 deleted (post-comment-header-deleted, no words)
    first = comments[0]
    assert (first.external_id, first.author, first.published_raw) == ("t1_ehwfe48", "TheEngLife", "3 yr. ago")
    assert first.published_at == utc(2019, 12, 14, 16)  # "yr." read as years
    assert first.url == "https://www.reddit.com/r/AskReddit/comments/axtih6/comment/ehwfe48/"
    assert first.text.startswith("A Miele canister vacuum. I had read the 4 AMAs from the vacuum repair tech")
    assert (comments[-1].external_id, comments[-1].author) == ("t1_ehwt27q", "WorshipNickOfferman")
    video = read("reddit/new-reddit-video-dom").mentions
    assert video[0].title == "Thanks! Human" and video[0].comments == 219
    assert len(video) == 1 + 18 and video[1].author == "HR_Dragonfly"
    assert video[1].text == "Pulled that wiener back from the brink."
