r"""More real pages for the forum engines and the WordPress comment reader (second round).

Pages: tests/fixtures/pages/<site>/<name>/ (origins, commits and licenses in
tests/fixtures/pages/SOURCES.md). Every expected value below was read off the raw input
file, not the adapter's output:

* thepoliticalinsider.com (postlight/parser fixture): ``grep -o 'li class="comment[^"]*" id="comment-[0-9]*"'``
  gives the 14 comments in page order and their ``depth-N`` classes (a depth-2 comment
  answers the nearest depth-1 one before it, inside its ``ol.children``); each comment's
  ``cite class="fn"`` link text is its author and the ``comment-meta`` link text its date,
  site time (the page's ``article:published_time`` is ``-05:00``: America/New_York, EST in
  December, so 12:40 pm is 17:40 UTC).
* hacks.mozilla.org (mozilla/readability test page 002): ``ol#comment-list`` holds
  ``li#comment-17303`` (``cite class="author fn"`` Alexander Petrov, ``abbr.published``
  2015-03-11 "at 02:57") and, in its ``ol.children``, ``li#comment-17305`` with class
  ``bypostauthor`` (Nikhil Marathe, the post's ``rel="author"``; "at 08:00"). The post's
  ``datetime`` is ``-07:00`` (PDT), so 02:57 is 09:57 UTC. Its permalinks point at
  ``comment-page-1/#comment-N``: the page's own comments, not other comment pages.
* statnews.com (WordPress 5.5.3, in a site-mirror repo): ``grep -oE '<li id="comment-[0-9]+"'``
  gives 1177988, 28849, 26836 (all ``depth-1``), each with ``class="fn"`` Pam Horner / Al Lewis
  / Anne Marie Desmarais and ``datetime="2018-06-04T13:51:44-04:00"`` / ``2016-09-05T17:17:08-04:00``
  / ``2016-09-02T15:34:03-04:00``.
* DomenForum.net (vBulletin 3.8.4, Russian): ``grep -oE 'id="post_message_[0-9]+"'`` gives the
  10 post ids in order, ``grep -oE 'class="bigusername"[^>]*>[^<]*'`` their authors and
  ``grep -oE '[0-9]{2}\.[0-9]{2}\.[0-9]{4}, [0-9]{2}:[0-9]{2}'`` their dates; the footer says
  "Часовой пояс GMT +4", so 17:33 is 13:33 UTC. Post 1373043 opens with a restyled quote box
  (``div.tcat`` "Сообщение от <strong>MrKIM</strong>" + a link to ``p=1373025``, then the words
  "Нет, я доменер, а не разработчик или монетизатор )"); the page nav links ``page=2``.
* forums.rusmedserv.com (vBulletin 3, Russian, 2005): the same three greps give 15 ids,
  authors and dates ("Часовой пояс GMT +3"); each ``td.thead`` holds the floated
  ``#<a id="postcountN">`` box *before* the date div. Counting ``Цитата:`` per
  ``post_message`` block: 93945 (1, from Юлия_Мел), 93946 (1), 93996 (3: Наталья П.,
  Studentsov, terro, then "Наталья, я тоже сомневался. ..."), 94019 (2), 94082 (1, Alon:
  "Думаю, вас просто разводят"); none links a post. The pager has no ``rel=next``: it shows
  ``<strong>1</strong>`` and links "2" (``showthread.php?t=13217&amp;page=2``).
* book.caltech.edu/bookforum (vBulletin 3.8.3 stock style, English): one ``post_message_11744``
  by ``bigusername`` admin, thead date "10-05-2014, 12:43 AM" and footer "All times are GMT -8"
  (so 08:43 UTC), breadcrumb title "PDF File (Dynamic e-Chapter 7) - Neural Networks", no pager.
* granado-espada.to (XenForo 2 forum_view listing): ``grep -oE 'js-threadListItem-[0-9]+'``
  gives 24 threads in order (7, 6, 285, 170, 603, ..., 476); each ``.structItem-title a``
  links ``/index.php?threads/<slug>.<id>/`` (a board without friendly URLs); the head has
  ``<link rel="next" href="/index.php?forums/news-notice-and-events.7/page-2"/>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from spiders.pages.registry import Reading, adapter
from vocwatch.fixtures import Fixture

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def read(site: str, name: str) -> Reading:
    return adapter(site).read(Fixture(FIXTURES / site / name).page())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- WordPress -----------------------------------------------------------------------------
def test_wordpress_tpi_comments_threads_and_local_times() -> None:
    r = read("wordpress_comments", "tpi-faithless-electors-2016")
    ms = {m.external_id: m for m in r.mentions}
    assert len(r.mentions) == 14  # "This story has: 14 Comments"
    assert [m.external_id for m in r.mentions][:3] == ["135665", "135659", "135656"]
    # replies, from the depth-2 items inside ol.children
    assert {m.external_id: m.in_reply_to for m in r.mentions if m.in_reply_to} == {
        "135666": "135648", "135657": "135644", "135631": "135630", "135632": "135630"}
    assert ms["135666"].author == "Marilyn"
    assert ms["135666"].text == "What total , corrupt losers they all are. Boy, am I enjoying this."
    assert ms["135666"].published_raw == "December 20, 2016 at 12:40 pm"
    assert ms["135666"].published_at == utc(2016, 12, 20, 17, 40)
    assert ms["135634"].published_at == utc(2016, 12, 20, 15, 51)  # 10:51 am EST
    # two <p> in one comment stay two paragraphs; the linked author name is the name
    assert ms["135657"].author == "Rich"
    assert ms["135657"].text.startswith("The Lemming-of-the-Liberal-Left have a lot in common")
    assert "\n" in ms["135657"].text and ms["135657"].text.rstrip().endswith("manufacturers. \U0001F642")
    assert ms["135648"].text.splitlines()[0] == "Republicans 3 Democrats 0."
    assert all(m.kind == "comment" and m.quoted is None for m in r.mentions)
    assert r.next_url is None and r.follow_urls == []


def test_wordpress_hacks_owner_answer_is_a_reply_and_permalinks_are_not_pages() -> None:
    r = read("wordpress_comments", "hacks-mozilla-fetch-2015")
    a, b = r.mentions
    assert (a.external_id, a.author, a.text) == ("17303", "Alexander Petrov", "how do you abort a fetch?")
    assert a.published_at == utc(2015, 3, 11, 9, 57) and a.in_reply_to is None
    assert (b.external_id, b.author, b.in_reply_to) == ("17305", "Nikhil Marathe", "17303")
    assert b.published_at == utc(2015, 3, 11, 15, 0)
    # the re-indented <p> is one paragraph: line breaks inside it are spaces
    assert b.text == ("At this point there is no way to do so. As mentioned in the future improvements "
                      "sections, there are ongoing attempts to find a nice way to plug abort() "
                      "into Promise based APIs.")
    assert b.url == "https://hacks.mozilla.org/2015/03/this-api-is-so-fetching/comment-page-1/#comment-17305"
    # ".../comment-page-1/#comment-17303" is a comment's permalink, not comment navigation
    assert r.follow_urls == [] and r.next_url is None


def test_wordpress_statnews_three_top_level_comments_with_offsets() -> None:
    r = read("wordpress_comments", "statnews-triclosan-2016")
    assert [(m.external_id, m.author) for m in r.mentions] == [
        ("1177988", "Pam Horner"), ("28849", "Al Lewis"), ("26836", "Anne Marie Desmarais")]
    assert [m.published_at for m in r.mentions] == [
        utc(2018, 6, 4, 17, 51, 44), utc(2016, 9, 5, 21, 17, 8), utc(2016, 9, 2, 19, 34, 3)]
    assert all(m.in_reply_to is None and m.reply_text is None for m in r.mentions)
    assert r.mentions[0].text.startswith("Should have included a full list or at least a link to one")
    assert r.follow_urls == [] and r.next_url is None


# -- vBulletin 3 ---------------------------------------------------------------------------
def test_vb3_domenforum_restyled_quote_dates_in_board_offset_and_next_page() -> None:
    r = read("forum_vbulletin", "domenforum-vb38-ru-2016")
    ms = r.mentions
    assert [m.external_id for m in ms] == ["1367797", "1373017", "1373021", "1373025", "1373043",
                                           "1373044", "1374951", "1405464", "1405466", "1405468"]
    assert [m.author for m in ms] == ["MrKIM", "MrKIM", "DacaGroup", "MrKIM", "N1k", "MrKIM",
                                      "Ustababaev", "YuriyGorlov", "MrKIM", "YuriyGorlov"]
    assert [m.position for m in ms] == list(range(1, 11))
    assert ms[0].kind == "post" and all(m.kind == "comment" for m in ms[1:])
    assert ms[0].published_raw == "03.05.2016, 17:33" and ms[0].published_at == utc(2016, 5, 3, 13, 33)
    assert ms[4].published_at == utc(2016, 6, 9, 20, 5)  # "10.06.2016, 00:05" at GMT+4
    assert ms[0].text.startswith("Домен: AnNews.ru")
    quoting = ms[4]
    assert quoting.quoted == "Нет, я доменер, а не разработчик или монетизатор )"
    assert quoting.in_reply_to == "1373025"
    assert quoting.text.startswith("С восстановленным сайтом было бы легче продать.")
    assert "Сообщение от" not in quoting.text and "доменер" not in quoting.text
    assert all(m.quoted is None for m in ms if m is not quoting)
    assert r.next_url == "https://domenforum.net/showthread.php?t=202519&highlight=annews.ru&page=2"


def test_vb3_rusmedserv_date_after_the_post_counter_quotes_and_numbered_pager() -> None:
    po_reading = read("forum_vbulletin", "rusmedserv-vb3-ru-2005")
    ms = {m.external_id: m for m in po_reading.mentions}
    assert len(ms) == 15
    first = po_reading.mentions[0]
    assert (first.external_id, first.author, first.kind, first.position) == ("93661", "Юлия_Мел", "post", 1)
    assert first.title == "SOS! Врачу нужна помощь!"  # the breadcrumb's text, runs of spaces collapsed
    assert first.published_raw == "23.03.2005, 19:46" and first.published_at == utc(2005, 3, 23, 16, 46)
    assert ms["93665"].published_raw == "23.03.2005, 20:09"  # not "#2 23.03.2005, 20:09"
    assert ms["93959"].published_at == utc(2005, 3, 24, 21, 49)  # "25.03.2005, 00:49" at GMT+3
    assert all(m.published_at is not None for m in ms.values())
    assert {k for k, m in ms.items() if m.quoted} == {"93945", "93946", "93996", "94019", "94082"}
    three = ms["93996"]
    assert three.quoted.startswith("Не первый раз на форуме раздается просьба о помощи")
    assert three.text == ("Наталья, я тоже сомневался. А как оказалось: дисков - тьма, на 20 лет хватит, "
                          "а лекарства нет. Лекарство есть - дисков нема...")
    assert ms["94082"].quoted == "Думаю, вас просто разводят"
    assert ms["94082"].text.startswith("Мне не до шуток.")
    assert all(m.in_reply_to is None for m in ms.values())  # these quote boxes link no post
    assert po_reading.next_url == "https://forums.rusmedserv.com/showthread.php?t=13217&page=2"


def test_vb3_lfd_bookforum_us_dates_in_a_fixed_offset() -> None:
    r = read("forum_vbulletin", "lfd-bookforum-vb383-2014")
    (m,) = r.mentions
    assert (m.external_id, m.author, m.kind, m.position) == ("11744", "admin", "post", 1)
    assert m.title == "PDF File (Dynamic e-Chapter 7) - Neural Networks"
    assert m.published_raw == "10-05-2014, 12:43 AM" and m.published_at == utc(2014, 10, 5, 8, 43)
    assert m.text.startswith("Attached is the latest version of e-Chapter 7 (pdf file).")
    assert m.quoted is None and r.next_url is None


# -- XenForo listings ----------------------------------------------------------------------
def test_xf2_listing_without_friendly_urls_follows_its_24_threads() -> None:
    r = read("forum_xenforo", "granado-espada-xf2-forum-view-2021")
    assert r.mentions == []  # a listing names threads; their pages hold the posts
    ids = ["7", "6", "285", "170", "603", "596", "572", "567", "566", "545", "554", "530",
           "538", "518", "522", "507", "498", "503", "499", "489", "484", "482", "478", "476"]
    assert [u.rsplit(".", 1)[1].rstrip("/") for u in r.follow_urls] == ids
    assert r.follow_urls[0] == "https://granado-espada.to/index.php?threads/notice-server-features-customizations.7/"
    assert all(u.startswith("https://granado-espada.to/index.php?threads/") for u in r.follow_urls)
    assert r.next_url == "https://granado-espada.to/index.php?forums/news-notice-and-events.7/page-2"
