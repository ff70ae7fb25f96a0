"""More real pages for the forum engines and the WordPress comment reader (second round).

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
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from spiders.pages.base import Page
from spiders.pages.registry import Reading, adapter

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def read(site: str, name: str) -> Reading:
    folder = FIXTURES / site / name
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(meta["now"].replace("Z", "+00:00"))
    ext = next(p.suffix for p in folder.glob("input.*"))
    text = (folder / f"input{ext}").read_bytes().decode(meta["encoding"])
    page = Page(url=meta["url"], text=text, now=now, tz=ZoneInfo(meta["tz"]))
    return adapter(site).read(page)


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
