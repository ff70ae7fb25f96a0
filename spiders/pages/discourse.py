"""Discourse forums: a topic (``/t/ID.json`` or its HTML page) and the latest posts
(``/posts.json``).

A topic's ``post_stream.stream`` lists every post id in order while ``posts`` carries
only the first chunk (20); the rest are fetched by id from ``/t/ID/posts.json``. The
latest-posts feed pages backwards with ``before=<lowest id seen>``. Likes are the
``actions_summary`` entry with id 2 (Discourse's "like" post action). Moderator actions
in the stream (``post_type`` 3: "pinned", "closed") carry no one's words and are skipped.

An HTML topic page is read from the topic JSON it preloads (``#data-preloaded``), else
from its crawler view (``div.crawler-post`` with schema.org microdata), the markup
Discourse serves to clients without JavaScript.

A post's own address (``permalink``) is ``/t/<slug>/<topic id>/<post number>``, the link
Discourse's own share button gives.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from parsel import Selector

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, dig, ident, obj, string

LIKE_ACTION = 2
_POSITION = re.compile(r"\D")
CHUNK = 20
"""Posts Discourse returns per topic request (``/t/ID.json?page=N`` pages by the same size)."""


def _likes(post: dict[str, Any]) -> int | None:
    if isinstance(post.get("like_count"), int):
        return post["like_count"]
    for action in dicts(post.get("actions_summary")):
        if action.get("id") == LIKE_ACTION:
            return action.get("count")
    return None


_PRELOADED_TOPIC = re.compile(r'"topic_\d+":')
SMALL_ACTION = 3
"""``post_type`` of a moderator action shown in the stream ("pinned globally", "closed"):
no words of anyone, so no mention."""


def _preloaded_topic(sel: Selector) -> dict[str, Any] | None:
    """The topic JSON an HTML topic page preloads for its app: ``#data-preloaded``'s
    attribute is a JSON object of JSON strings, ``topic_ID`` among them. Only that string
    is decoded, so a broken entry elsewhere (site settings) does not lose the posts; None
    when it is absent or unreadable."""
    raw = sel.css("#data-preloaded::attr(data-preloaded)").get()
    m = _PRELOADED_TOPIC.search(raw or "")
    if m is None:
        return None
    try:
        encoded, _ = json.JSONDecoder().raw_decode(raw, m.end())  # type: ignore[arg-type]
        topic = json.loads(encoded) if isinstance(encoded, str) else None
    except (ValueError, RecursionError):
        return None
    return topic if isinstance(topic, dict) and isinstance(dig(topic, "post_stream", "posts"), list) else None


@site("discourse", id_scope="host")  # post ids count up per forum
class DiscoursePage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        self.crawler_posts: list[Selector] = []
        parts = urlsplit(page.url)
        self.base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        if page.text.lstrip("\ufeff \t\r\n")[:1] not in ("{", "["):
            self._html(page)
            return
        data = page.json()
        if isinstance(data, dict) and isinstance(dig(data, "post_stream", "posts"), list):
            self.topic: dict[str, Any] | None = data
            self.posts: list[Any] = data["post_stream"]["posts"]
        elif isinstance(data, dict) and isinstance(data.get("latest_posts"), list):
            self.topic, self.posts = None, data["latest_posts"]
        else:
            raise MalformedPage(f"{page.url}: neither a Discourse topic nor /posts.json")

    def _html(self, page: Page) -> None:
        """An HTML topic page: the preloaded topic JSON when readable (every field the JSON
        API has), else the crawler view every Discourse serves to clients without
        JavaScript (``div.crawler-post``, schema.org ``DiscussionForumPosting``)."""
        sel = page.selector
        topic = _preloaded_topic(sel)
        if topic is not None:
            self.topic, self.posts = topic, topic["post_stream"]["posts"]
            return
        self.topic, self.posts = None, []
        self.crawler_posts = sel.css("div.crawler-post, [itemtype$='schema.org/DiscussionForumPosting']")
        if not self.crawler_posts:
            raise MalformedPage(f"{page.url}: an HTML page with no Discourse topic data or crawler posts")

    def missing_post_ids(self) -> list[int]:
        """Ids in the topic's stream whose posts this response did not carry."""
        if self.topic is None:
            return []
        have = {p.get("id") for p in dicts(self.posts) if isinstance(p.get("id"), int)}
        stream = self.topic["post_stream"].get("stream")
        return [i for i in stream if isinstance(i, int) and not isinstance(i, bool) and i not in have] \
            if isinstance(stream, list) else []

    def next_url(self) -> str | None:
        """Topic: the next :data:`CHUNK` missing posts by id; latest posts: the page before
        the lowest id here; crawler view: its ``rel="next"`` page. None when nothing is left."""
        if self.crawler_posts:
            href = self.page.selector.css('link[rel="next"]::attr(href), a[rel="next"]::attr(href)').get()
            return self.page.urljoin(href) if href else None
        if self.topic is not None:
            missing = self.missing_post_ids()[:CHUNK]
            if not missing:
                return None
            query = urlencode([("post_ids[]", i) for i in missing])
            topic_id = ident(self.topic.get("id"))
            return f"{self.base}/t/{topic_id}/posts.json?{query}" if topic_id else None
        ids = [p["id"] for p in dicts(self.posts) if isinstance(p.get("id"), int) and not isinstance(p["id"], bool)]
        return with_query(f"{self.base}/posts.json", before=min(ids)) if ids else None

    def mentions(self) -> list[Mention]:
        if self.crawler_posts:
            return self._crawler_mentions()
        out = []
        topic = obj(self.topic)
        for p in dicts(self.posts):
            if p.get("deleted_at") or p.get("hidden") or p.get("post_type") == SMALL_ACTION:
                continue
            topic_id = ident(p.get("topic_id")) or ident(topic.get("id"))
            slug = string(p.get("topic_slug")) or string(topic.get("slug")) or "-"
            number = ident(p.get("post_number"))
            title = topic.get("title") or p.get("topic_title")
            link = f"{self.base}/t/{slug}/{topic_id}/{number}" if topic_id and number else None
            out.append(Mention(
                site="discourse", kind="post" if number == "1" else "comment",
                url=f"{self.base}/t/{slug}/{topic_id}/{number}" if topic_id else self.page.url,
                permalink=self.page.permalink(link),
                external_id=ident(p.get("id")),
                text=html_text(p.get("cooked")) or p.get("raw") or "",
                title=title if number == "1" else None,
                author=p.get("username"),
                published_raw=p.get("created_at"),
                published_at=self.page.parse_date(p.get("created_at")),
                likes=_likes(p), comments=p.get("reply_count"),
            ))
        return out

    def _crawler_mentions(self) -> list[Mention]:
        """Posts of the crawler view. It shows no post ids, so ``external_id`` stays None
        (a post id here and a position there would give one post two identities); the URL
        is the topic's canonical URL with the post's position."""
        sel = self.page.selector
        canonical = sel.css('link[rel="canonical"]::attr(href)').get()
        topic_url = self.page.urljoin(canonical).split("?", 1)[0].rstrip("/") if canonical else None
        title = sel.css('meta[property="og:title"]::attr(content)').get()
        out = []
        for post in self.crawler_posts:
            number = _POSITION.sub("", post.css("[itemprop=position]::text").get("")) or None
            date_raw = post.css("[itemprop=datePublished]::attr(content), "
                                "[itemprop=datePublished]::attr(datetime)").get()
            likes = post.xpath(".//*[@itemprop='interactionStatistic'][*[@itemprop='interactionType']"
                               "[contains(@content, 'LikeAction')]]/*[@itemprop='userInteractionCount']/@content").get()
            link = f"{topic_url}/{number}" if topic_url and number else None
            out.append(Mention(
                site="discourse", kind="post" if number == "1" else "comment",
                url=link or self.page.url, permalink=self.page.permalink(link),
                text=html_text(post.css("[itemprop=articleBody]").get()),
                title=(post.css("meta[itemprop=headline]::attr(content)").get() or title) if number == "1" else None,
                author=post.css("[itemprop=author] [itemprop=name]::text").get(),
                published_raw=date_raw, published_at=self.page.parse_date(date_raw),
                likes=int(likes) if likes and likes.isdigit() else None,
            ))
        return out
