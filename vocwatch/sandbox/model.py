"""Value types shared by the sandbox generator, renderers and server.

Kept free of any I/O so that tests and spiders can import them cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: Asia/Shanghai has had a fixed +08:00 offset since 1991; a fixed offset keeps the
#: sandbox independent of the host's tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


# --- each item's own page (its permalink), as the renderers link it and the truth expects it


def review_path(hotel_id: str, review_id: str) -> str:
    """A StayAdvisor review's own page: what its card and its JSON-LD ``url`` link to."""
    return f"/hotels/{hotel_id}/reviews/{review_id}"


def mall_comment_path(comment_id: str) -> str:
    """A mall comment's own page (the comment JSON's ``url``)."""
    return f"/mall/comments/{comment_id}"


def weibo_status_path(status_id: str) -> str:
    """A sandbox Weibo post's own page (the status JSON's ``url``)."""
    return f"/weibo/status/{status_id}"


def forum_post_path(tid: int, page: int, pid: int, *, private: bool = False) -> str:
    """A forum post's anchor on its thread page (its floor link)."""
    prefix = "/forum/private/thread" if private else "/forum/thread"
    return f"{prefix}/{tid}?page={page}#post-{pid}"



@dataclass(frozen=True)
class TrueMention:
    """Ground truth for one item a correct crawler should extract from the sandbox."""

    site: str
    source_path: str
    location_id: str
    external_id: str
    url: str
    author: str
    title: str | None
    text: str | None
    rating: float | None
    rating_scale: float | None
    published_at: datetime
    likes: int | None
    reposts: int | None
    comments: int | None
    reply_text: str | None
    reply_at: datetime | None
    lang: str
    polarity: str
    valid: bool
    on_malformed_page: bool
    permalink: str | None = None
    """The item's own page on the sandbox (a path, or absolute for the feed's links), as the
    listing links it: what a correct crawler stores as ``Mention.permalink``."""


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the sandbox answered, so tests can assert on crawler behaviour."""

    path: str
    status: int
    at: datetime


@dataclass(frozen=True)
class Inline:
    """A run of rich text; lets one source of truth feed both the HTML and the plain text.

    kind: "text" | "mention" | "topic" | "emoticon" | "link" | "em".
    For "emoticon" ``text`` is the alt text (e.g. "[哈哈]") and ``href`` the image name.
    """

    kind: str
    text: str
    href: str = ""

    @property
    def plain(self) -> str:
        """What a reader sees for this run (the normal form used by the truth)."""
        if self.kind == "mention":
            return "@" + self.text
        if self.kind == "topic":
            return "#" + self.text + "#"
        return self.text


#: A rich text: lines (paragraphs / <br /> separated) of inline runs.
Rich = tuple[tuple[Inline, ...], ...]

_SPACES = re.compile(r"[ \t]+")


def normalize_text(text: str) -> str:
    """Bring text into the normal form crawlers are expected to produce.

    Runs of spaces/tabs collapse to one space, each line is stripped and empty
    lines disappear, so a paragraph or <br /> break is exactly one "\\n".
    """
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def rich_plain(rich: Rich) -> str:
    """Normal-form plain text of a rich text."""
    return normalize_text("\n".join("".join(run.plain for run in line) for line in rich))


def plain_rich(*lines: str) -> Rich:
    """Wrap plain lines as a rich text with a single text run per line."""
    return tuple((Inline("text", line),) for line in lines)
