"""Discourse forums: a topic (``/t/ID.json``) and the latest posts (``/posts.json``).

A topic's ``post_stream.stream`` lists every post id in order while ``posts`` carries
only the first chunk (20); the rest are fetched by id from ``/t/ID/posts.json``. The
latest-posts feed pages backwards with ``before=<lowest id seen>``. Likes are the
``actions_summary`` entry with id 2 (Discourse's "like" post action).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, dig, ident, obj, string

LIKE_ACTION = 2
CHUNK = 20
"""Posts Discourse returns per topic request (``/t/ID.json?page=N`` pages by the same size)."""


def _likes(post: dict[str, Any]) -> int | None:
    if isinstance(post.get("like_count"), int):
        return post["like_count"]
    for action in dicts(post.get("actions_summary")):
        if action.get("id") == LIKE_ACTION:
            return action.get("count")
    return None


@site("discourse", id_scope="host")  # post ids count up per forum
class DiscoursePage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        data = page.json()
        if isinstance(data, dict) and isinstance(dig(data, "post_stream", "posts"), list):
            self.topic: dict[str, Any] | None = data
            self.posts: list[Any] = data["post_stream"]["posts"]
        elif isinstance(data, dict) and isinstance(data.get("latest_posts"), list):
            self.topic, self.posts = None, data["latest_posts"]
        else:
            raise MalformedPage(f"{page.url}: neither a Discourse topic nor /posts.json")
        parts = urlsplit(page.url)
        self.base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

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
        the lowest id here. None when nothing is left."""
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
        out = []
        topic = obj(self.topic)
        for p in dicts(self.posts):
            if p.get("deleted_at") or p.get("hidden"):
                continue
            topic_id = ident(p.get("topic_id")) or ident(topic.get("id"))
            slug = string(p.get("topic_slug")) or string(topic.get("slug")) or "-"
            number = ident(p.get("post_number"))
            title = topic.get("title") or p.get("topic_title")
            out.append(Mention(
                site="discourse", kind="post" if number == "1" else "comment",
                url=f"{self.base}/t/{slug}/{topic_id}/{number}" if topic_id else self.page.url,
                external_id=ident(p.get("id")),
                text=html_text(p.get("cooked")) or p.get("raw") or "",
                title=title if number == "1" else None,
                author=p.get("username"),
                published_raw=p.get("created_at"),
                published_at=self.page.parse_date(p.get("created_at")),
                likes=_likes(p), comments=p.get("reply_count"),
            ))
        return out
