"""Reddit: the JSON API (listings and comment trees) and the new-reddit page state.

Three shapes are read:

* a ``Listing`` of posts (``/r/NAME/hot.json``), paged by the listing's ``after`` cursor;
* a comment page (``/comments/ID.json``): ``[post listing, comment listing]``; comments nest
  under ``replies`` and elided ones sit in ``"more"`` stubs whose ids are fetched from
  ``/api/morechildren``;
* a www.reddit.com HTML page whose state is a JSON object assigned to ``window.___r``
  (read as JSON, never run).

A Betamax cassette (praw's test recordings) wraps API bodies: its first recorded API body
is read, so saved cassettes parse like the response they recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, dig, ident, obj, string

API = "https://oauth.reddit.com"
_STATE_RE = re.compile(r"window\.___r\s*=\s*")
_DOM_HOOKS = '[data-testid="post-container"], [data-testid="comment"]'
"""Markers of a rendered new-reddit page (its post and comment containers)."""
_BLOCK_NODES = frozenset({"par", "li", "h", "blockquote", "code", "hr", "table"})


def _recorded_body(data: dict[str, Any]) -> tuple[str, Any]:
    """(request URL, parsed body) of a cassette's first Listing-shaped API response."""
    for inter in dicts(data.get("interactions")):
        body = dig(inter, "response", "body", "string")
        if not isinstance(body, str):
            continue
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            continue
        if isinstance(parsed, list) or (isinstance(parsed, dict) and parsed.get("kind") == "Listing"):
            return string(dig(inter, "request", "uri")) or "", parsed
    raise MalformedPage("cassette holds no reddit Listing response")


def _state(text: str) -> dict[str, Any]:
    """The ``window.___r`` object of a www.reddit.com page, decoded as one JSON value."""
    m = _STATE_RE.search(text)
    if m is None:
        raise MalformedPage("no reddit API body and no window.___r page state")
    try:
        state, _ = json.JSONDecoder().raw_decode(text, m.end())
    except ValueError as exc:
        raise MalformedPage(f"window.___r is not JSON: {exc}") from None
    except RecursionError:
        raise MalformedPage("window.___r is nested too deeply to read") from None
    if not isinstance(state, dict):
        raise MalformedPage("window.___r is not an object")
    return state


def _richtext(nodes: Any) -> str:
    """Plain text of a new-reddit ``rtjson`` document: blocks on their own lines."""
    out: list[str] = []
    # a stack of nodes (and the line breaks that close block nodes), not recursion: a
    # document nested thousands deep is data, not a RecursionError
    stack: list[Any] = list(reversed(dicts(nodes)))
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
            continue
        if isinstance(node.get("t"), str):
            out.append(node["t"])
        if node.get("e") in _BLOCK_NODES:
            stack.append("\n")
        stack.extend(reversed(dicts(node.get("c"))))
    return "".join(out)


def _things(children: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(thing, its ``data``) for every thing of a listing's children and of the comment
    ``replies`` nested in them, depth first in page order (a stack, not recursion: a
    thread nested thousands deep is data, not a RecursionError)."""
    stack = list(reversed(children))
    while stack:
        child = stack.pop()
        data = child.get("data")
        if not isinstance(data, dict):
            continue
        yield child, data
        if child.get("kind") == "t1":
            stack.extend(reversed(dicts(dig(data, "replies", "data", "children"))))


@site("reddit")
class RedditPage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        self.api_url = page.url
        self.state: dict[str, Any] | None = None
        self.body: Any = None
        self.dom: Selector | None = None
        stripped = page.text.lstrip()
        if stripped.startswith(("{", "[")):
            data = page.json()
            if isinstance(data, dict) and "interactions" in data:
                self.api_url, data = _recorded_body(data)
            self.body = data
        elif _STATE_RE.search(page.text) is None and page.selector.css(_DOM_HOOKS):
            self.dom = page.selector  # a rendered page saved without its state script
        else:
            self.state = _state(page.text)

    # -- listing shapes -----------------------------------------------------------------
    def _listings(self) -> list[dict[str, Any]]:
        body = self.body if isinstance(self.body, list) else [self.body]
        out = [x.get("data") for x in body if isinstance(x, dict) and x.get("kind") == "Listing"]
        if not out or not all(isinstance(d, dict) for d in out):
            raise MalformedPage(f"{self.page.url}: not a reddit Listing")
        return out

    def next_url(self) -> str | None:
        """Next page of a post listing: the same URL with ``after=<cursor>`` (None at the end
        and on comment pages, whose elided comments come from :meth:`more_children`)."""
        if self.body is None or isinstance(self.body, list):
            return None
        after = self._listings()[0].get("after")
        return with_query(self.api_url, after=after) if after else None

    def more_children(self) -> list[str]:
        """Ids of comments elided behind ``"more"`` stubs, in page order, for
        ``/api/morechildren?link_id=t3_POST&children=ID,ID,...``."""
        if not isinstance(self.body, list):
            return []
        ids: list[str] = []
        for child, data in _things([c for listing in self._listings()[1:] for c in dicts(listing.get("children"))]):
            if child.get("kind") == "more" and isinstance(data.get("children"), list):
                ids.extend(i for i in map(ident, data["children"]) if i is not None)
        return ids

    def mentions(self) -> list[Mention]:
        if self.dom is not None:
            return self._dom_mentions(self.dom)
        if self.state is not None:
            return self._state_mentions(self.state)
        out: list[Mention] = []
        for child, data in _things([c for listing in self._listings() for c in dicts(listing.get("children"))]):
            if child.get("kind") == "t3":
                out.append(self._post(data))
            elif child.get("kind") == "t1":
                out.append(self._comment(data))
        return out

    def _url(self, permalink: Any) -> str:
        return self._permalink(permalink) or self.page.url

    def _permalink(self, path: Any) -> str | None:
        """A thing's own page from its ``permalink`` (a path on www.reddit.com, as the API and
        the app's state send it; a full URL as the DOM writes it), without its query (share
        tracking); None without one."""
        if not isinstance(path, str) or not path.strip():
            return None
        path = path.strip().split("?", 1)[0]
        return self.page.permalink(f"https://www.reddit.com{path}" if path.startswith("/") else path)

    @staticmethod
    def _body(d: dict[str, Any], key: str) -> str:
        """The rendered body (``KEY_html``: markdown already applied) else the markdown source.

        Without ``raw_json=1`` the API sends ``KEY_html`` entity-escaped
        (``&lt;div class="md"&gt;``): read as HTML that is literal tag text, so it is
        unescaped once first (no tag can start with ``&lt;`` in real markup)."""
        html = d.get(f"{key}_html")
        if not isinstance(html, str) or not html:
            return clean_text(d.get(key))
        if html.lstrip().startswith("&lt;"):
            html = unescape(html)
        return html_text(html)

    def _post(self, d: dict[str, Any]) -> Mention:
        created = d.get("created_utc")
        title = clean_text(d.get("title")) or None
        return Mention(
            site="reddit", kind="post", url=self._url(d.get("permalink")),
            permalink=self._permalink(d.get("permalink")), external_id=d.get("name") or None,
            text=self._body(d, "selftext") or title or "",
            title=title, author=d.get("author"),
            published_raw=None if created is None else str(created),
            published_at=self.page.parse_date(created),
            likes=d.get("score"), comments=d.get("num_comments"),
        )

    def _comment(self, d: dict[str, Any]) -> Mention:
        created = d.get("created_utc")
        permalink = d.get("permalink")
        if not permalink and d.get("link_id") and d.get("id"):
            permalink = f"/comments/{str(d['link_id']).removeprefix('t3_')}/_/{d['id']}/"
        return Mention(
            site="reddit", kind="comment", url=self._url(permalink), permalink=self._permalink(permalink),
            external_id=d.get("name") or None, text=self._body(d, "body"),
            author=d.get("author"),
            published_raw=None if created is None else str(created),
            published_at=self.page.parse_date(created),
            likes=d.get("score"),
        )

    def _state_mentions(self, state: dict[str, Any]) -> list[Mention]:
        posts, comments = obj(dig(state, "posts", "models")), obj(dig(state, "comments", "models"))
        out: list[Mention] = []
        for kind, models in (("post", posts), ("comment", comments)):
            for key, d in models.items():
                if not isinstance(d, dict):
                    continue
                created = d.get("created")  # epoch ms for posts, epoch s for comments
                title = clean_text(d.get("title")) or None
                text = clean_text(_richtext(dig(d, "media", "richtextContent", "document")))
                path = urlsplit(string(d.get("permalink")) or "").path or None
                out.append(Mention(
                    site="reddit", kind=kind, url=self._url(path), permalink=self._permalink(path),
                    external_id=d.get("id") or key, text=text or title or "", title=title,
                    author=d.get("author"),
                    published_raw=None if created is None else str(created),
                    published_at=self.page.parse_date(created),
                    likes=d.get("score"), comments=d.get("numComments"),
                ))
        return out

    # -- rendered new-reddit DOM ------------------------------------------------------------
    def _dom_mentions(self, sel: Selector) -> list[Mention]:
        """Post and comments of a rendered www.reddit.com page (2018-2023 "new reddit"),
        read from the hooks its markup keeps across class renames: ``data-testid``
        attributes and the ``t3_``/``t1_`` fullname in ids and class lists. Ages are shown
        relative only ("3 yr. ago") and resolve against the fetch time."""
        out: list[Mention] = []
        for post in sel.css('[data-testid="post-container"]')[:1]:
            title = _squash(post.xpath("string(.//h1)").get())
            when = _squash(post.css('[data-testid="post_timestamp"]').xpath("string()").get())
            body = post.css('[data-click-id="text"]').get()
            n_comments = _squash(post.css('[data-test-id="comments-page-link-num-comments"], '
                                          '[data-testid="comments-page-link-num-comments"]').xpath("string()").get())
            out.append(Mention(
                site="reddit", kind="post", url=self._canonical() or self.page.url, permalink=self._canonical(),
                external_id=post.attrib.get("id") or None, text=html_text(body) or title or "", title=title,
                author=_user(post.css('a[href^="/user/"]::attr(href)').get()),
                published_raw=when, published_at=self.page.parse_date(_age(when)),
                comments=parse_count(n_comments.split()[0]) if n_comments else None,
            ))
        for node in sel.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' Comment ')]"):
            fullname = next((c for c in (node.attrib.get("class") or "").split() if c.startswith("t1_")), None)
            stamp = node.css('[data-testid="comment_timestamp"]')[:1]
            when = _squash(stamp.xpath("string()").get()) if stamp else None
            permalink = stamp.attrib.get("href") if stamp else None
            text = html_text(node.css('[data-testid="comment"]').get())
            if not text:
                continue  # a deleted or removed comment: a header with no words and no author
            out.append(Mention(
                site="reddit", kind="comment",
                url=permalink.split("?", 1)[0] if permalink else self.page.url, permalink=self._permalink(permalink),
                external_id=fullname, text=text,
                author=_user(node.css('a[data-testid="comment_author_icon"]::attr(href), '
                                      'a[data-testid="comment_author_link"]::attr(href)').get()),
                published_raw=when, published_at=self.page.parse_date(_age(when)),
            ))
        return out

    def _canonical(self) -> str | None:
        href = self.dom.css('link[rel="canonical"]::attr(href)').get() if self.dom is not None else None
        return self.page.urljoin(href.strip()) if href else None


def _user(href: str | None) -> str | None:
    """``/user/NAME/`` -> NAME."""
    name = (href or "").strip().removeprefix("/user/").strip("/")
    return name or None


_AGE_UNITS = {"yr": "years", "mo": "months", "hr": "hours", "min": "minutes", "sec": "seconds"}
_AGE_RE = re.compile(r"\b(yr|mo|hr|min|sec)s?\.", re.I)


def _age(shown: str | None) -> str | None:
    """Reddit's abbreviated ages ("3 yr. ago", "5 mo. ago") in words the date parser reads."""
    return _AGE_RE.sub(lambda m: _AGE_UNITS[m.group(1).lower()], shown) if shown else None


def _squash(s: str | None) -> str | None:
    return " ".join(s.split()) or None if s else None
