"""Real Weibo pages: weibo.cn (WAP) HTML and the m.weibo.cn, weibo.com and open API responses.

Handled shapes: weibo.cn comment pages (``div.c#C_<id>``) and profile timelines
(``div.c#M_<bid>``); m.weibo.cn ``container/getIndex`` (cards with ``mblog``),
``statuses/show``, ``statuses/extend`` (``longTextContent``), ``api/comments/show``
(``data`` + ``hot_data``) and ``comments/hotflow`` (``data`` + ``max_id``), and the
weibo.com web API's ``ajax/statuses/buildComments`` (a top-level ``data`` array of
comments with ``like_counts`` and a top-level ``max_id``) and ``ajax/statuses/mymblog``
(``data.list`` + ``since_id``), and the open API v2 (``api.weibo.com/2``: top-level
``statuses`` or ``comments`` + ``next_cursor``), as JSON or JS-wrapped (a saved file
with several ``let x = {...}`` responses is read whole).

Dates are shown in Asia/Shanghai wall time in every Weibo form: ``刚刚``, ``N分钟前``,
``今天 HH:MM``, ``MM-DD``, ``MM月DD日 HH:MM`` (yearless: the year of ``page.now``, or the
year before when that would be in the future) and the API's ``Sat Jun 15 11:44:46 +0800
2019``. The IP province comes from ``region_name`` ("发布于 上海") or a ``source`` /
WAP suffix "来自上海" (weibo.cn doubles it: "来自来自广东"); a client name in the same
place ("iPhone客户端", "网页", "生日动态") is not a region, so only names in
:data:`REGIONS` are taken. Counts shown as "100万+" are read as their lower bound.

Pagination (:func:`weibo_next_url`): weibo.cn follows the "下页" link; getIndex uses
``cardlistInfo.since_id`` when given, else ``page+1``; comments/show ``page+1`` up to
``max``; hotflow the ``max_id`` cursor (with ``max_id_type``) until it is 0;
buildComments its top-level ``max_id`` until it is 0; mymblog ``page+1`` with its
``since_id`` until that is empty; the open API ``max_id=next_cursor`` until it is 0.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject, html_selector
from spiders.pages.cn_common import as_int, query
from spiders.pages.htmltext import html_text
from spiders.pages.jsdata import js_assignments
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, ident, obj

REGIONS = frozenset(
    ["北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "中国香港", "中国澳门", "中国台湾", "海外", "其他"]
)
_WAP_DATE_RE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}月\d{1,2}日\s*\d{1,2}:\d{2}"
    r"|今天\s*\d{1,2}:\d{2}|\d+\s*分钟前|\d+\s*秒前|刚刚"
)
_COUNT_LINK_RE = re.compile(r"^(赞|转发|评论)\[")
# The "read more" control a feed puts after a cut post ("...展开" on weibo.com, "...全文" on
# m.weibo.cn): a button, not the author's words (the "..." before it stays: the text is cut).
_EXPAND_RE = re.compile(r"""<(span|a)\b[^>]*>\s*(?:展开|全文)\s*</\1>\s*$""")


def region(value: Any) -> str | None:
    """The IP province in "发布于 上海", "来自上海" or "来自来自广东"; None for client names."""
    if not isinstance(value, str):
        return None
    text = value.strip().removeprefix("发布于").strip()
    while text.startswith("来自"):
        text = text[2:].strip()
    return text if text in REGIONS else None


# --- m.weibo.cn API ------------------------------------------------------------------------


def _user(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["user"] if isinstance(obj.get("user"), dict) else {}


def _html(value: Any) -> str:
    return value if isinstance(value, str) else ""


_FULL_TEXT_LINK_RE = re.compile(r"<a\b[^>]*>\s*全文\s*</a>")
"""weibo.cn's "全文" (full text) link after the first ~140 characters of a long post."""


def _cut(html: Any) -> tuple[str, bool]:
    """``html`` without its "read more" control (``_EXPAND_RE``, weibo.cn's "全文" link), and
    whether it had one: the post was cut there."""
    text, n = _EXPAND_RE.subn("", _html(html))
    if not n:
        text, n = _FULL_TEXT_LINK_RE.subn("", text)
    return text, n > 0


_STATUS_ID_RE = re.compile(r"[0-9A-Za-z]{1,20}")


def status_permalink(page: Page, status_id: Any) -> str | None:
    """A post's own page, ``m.weibo.cn/status/<id>`` (the numeric mid or the base-62 bid
    both open it): the form without the author's uid that ``weibo.com/<uid>/<bid>`` carries,
    so a stored link names no more of the author than the pseudonymised ``author`` does.
    A comment has no page of its own (it is shown under its post), so it gets none."""
    sid = ident(status_id)
    return page.permalink(f"https://m.weibo.cn/status/{sid}") if sid and _STATUS_ID_RE.fullmatch(sid) else None


def _post(page: Page, b: dict[str, Any]) -> Mention:
    long_text = b.get("longText") if isinstance(b.get("longText"), dict) else {}
    full = _html(long_text.get("longTextContent"))
    text, linked = _cut(full or b.get("text"))
    return Mention(
        site="weibo",
        kind="post",
        url=page.url,
        external_id=ident(b.get("id") or b.get("mid")),
        permalink=status_permalink(page, b.get("id") or b.get("mid") or b.get("mblogid") or b.get("bid")),
        text=clean_text(text),
        # a long post's list form is its first ~140 characters; statuses/extend has the rest
        truncated=not full and (b.get("isLongText") is True or linked),
        author=_user(b).get("screen_name"),
        author_region=region(b.get("region_name")) or region(b.get("source")),
        published_raw=b.get("created_at"),
        published_at=page.parse_date(b.get("created_at")),
        likes=parse_count(b.get("attitudes_count")),
        reposts=parse_count(b.get("reposts_count")),
        comments=parse_count(b.get("comments_count")),
    )


def _comment(page: Page, c: dict[str, Any]) -> Mention:
    likes = c.get("like_count", c.get("like_counts"))
    return Mention(
        site="weibo",
        kind="comment",
        url=page.url,
        external_id=ident(c.get("id")),
        text=clean_text(c.get("text")),
        author=_user(c).get("screen_name"),
        author_region=region(c.get("source")),
        published_raw=c.get("created_at"),
        published_at=page.parse_date(c.get("created_at")),
        likes=parse_count(likes),
        comments=parse_count(c.get("total_number")),
    )


def _cards(cards: Any) -> list[dict[str, Any]]:
    """mblogs of getIndex cards, including those nested in ``card_group`` (card_type 11),
    in page order (a stack, not recursion: groups nested thousands deep are data)."""
    out: list[dict[str, Any]] = []
    stack = list(reversed(dicts(cards)))
    while stack:
        card = stack.pop()
        if isinstance(card.get("mblog"), dict):
            out.append(card["mblog"])
        stack.extend(reversed(dicts(card.get("card_group"))))
    return out


def _api_mentions(page: Page, response: dict[str, Any]) -> list[Mention]:
    data = response.get("data")
    if isinstance(data, list):  # weibo.com ajax/statuses/buildComments: the comments at the top
        return [_comment(page, c) for c in dicts(data) if "created_at" in c]
    if "data" not in response:  # open API v2 (api.weibo.com/2/...): no envelope
        if isinstance(response.get("statuses"), list):  # statuses/*_timeline
            return [_post(page, b) for b in dicts(response["statuses"])]
        if isinstance(response.get("comments"), list):  # comments/show, comments/mentions
            return [_comment(page, c) for c in dicts(response["comments"])]
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("list"), list):  # weibo.com ajax/statuses/mymblog
        return [_post(page, b) for b in dicts(data["list"])]
    if "cards" in data:
        return [_post(page, b) for b in _cards(data["cards"])]
    if "statuses" in data:
        return [_post(page, b) for b in dicts(data["statuses"])]
    if "longTextContent" in data:  # statuses/extend: the id is only in the request
        post = {**data, "id": query(page.url).get("id"), "text": data["longTextContent"]}
        return [_post(page, post)]
    if isinstance(data.get("data"), list):  # comments/show, hotflow
        return [_comment(page, c) for c in [*dicts(data["data"]), *dicts(data.get("hot_data"))]]
    if "created_at" in data and "id" in data:  # statuses/show
        return [_post(page, data)]
    return []  # user info and other non-content responses


def _responses(page: Page) -> list[dict[str, Any]]:
    values = [v for v in js_assignments(page.text, page.url).values() if isinstance(v, dict)]
    if not values:
        data = page.data
        values = [data] if isinstance(data, dict) else []
    if not values:
        raise MalformedPage(f"{page.url}: no Weibo API response")
    return values


# --- weibo.cn WAP HTML ---------------------------------------------------------------------


def _wap_when(text: str) -> tuple[str | None, str]:
    """(date as shown, what follows it) from a ``span.ct`` such as "01月10日 12:43 来自来自河南"."""
    text = clean_text(text)
    m = _WAP_DATE_RE.search(text)
    return (m.group(0), text[m.end():].strip()) if m else (None, text)


def _counts(links: list[str]) -> dict[str, int | None]:
    found = {m.group(1): parse_count(t) for t in links if (m := _COUNT_LINK_RE.match(t.strip()))}
    return {"likes": found.get("赞"), "reposts": found.get("转发"), "comments": found.get("评论")}


def _is_wap_tail_end(node: Selector) -> bool:
    """The controls after a comment's words: its 举报 link, 赞/回复 (``span.cc``), time."""
    root = node.root
    if isinstance(root, str):
        return False
    cls = (node.attrib.get("class") or "").split()
    return ("cc" in cls or "ct" in cls) or (root.tag == "a" and "/spam" in (node.attrib.get("href") or ""))


def _wap_comment_text(c: Selector) -> str:
    """The words of a weibo.cn comment: ``span.ctt`` and whatever follows it up to the
    comment's controls. Emoticon markup often closes ``span.ctt`` early (a stray
    ``</span>`` after ``<img alt="[允悲]">``); a browser still shows the rest of the
    sentence, so it is read too instead of being cut off at the emoticon."""
    ctt = c.css("span.ctt")
    if not ctt:
        return ""
    parts = [ctt[0].get()]
    for node in ctt[0].xpath("following-sibling::node()"):
        if _is_wap_tail_end(node):
            break
        parts.append(escape(node.get(), quote=False) if isinstance(node.root, str) else node.get())
    return html_text("".join(parts))


def _wap_comment(page: Page, c: Selector) -> Mention:
    when, rest = _wap_when("".join(c.css("span.ct ::text").getall()))
    return Mention(
        site="weibo",
        kind="comment",
        url=page.url,
        external_id=c.attrib["id"].removeprefix("C_"),
        text=_wap_comment_text(c),
        author=clean_text(c.css("a::text").get()) or None,
        author_region=region(rest),
        published_raw=when,
        published_at=page.parse_date(when),
        likes=_counts(c.css("span.cc a::text").getall())["likes"],
    )


def _wap_post(page: Page, c: Selector, author: str | None) -> Mention:
    last = c.xpath("./div[last()]")
    when, rest = _wap_when("".join(last.css("span.ct ::text").getall()))
    cut = False  # a repost's reason is whole; a long post's span.ctt ends in a "全文" link
    if c.css("span.cmt"):  # a repost: the author's own words are the reason
        full = html_text(last.get())
        reason = full.split("转发理由:", 1)[-1]
        text = reason[: reason.rfind("赞[")].strip() if "赞[" in reason else reason.strip()
    else:
        html, cut = _cut(c.css("span.ctt").get())
        text = html_text(html)
    return Mention(
        site="weibo",
        kind="post",
        url=page.url,
        external_id=c.attrib["id"].removeprefix("M_"),
        permalink=status_permalink(page, c.attrib["id"].removeprefix("M_")),
        text=text,
        truncated=cut,
        author=author,
        author_region=region(rest),
        published_raw=when,
        published_at=page.parse_date(when),
        **_counts(last.xpath(".//a/text()").getall()),
    )


def _wap_author(sel: Selector) -> str | None:
    """The timeline owner of a weibo.cn profile page.

    The header ``div.ut`` comes in two shapes: "Name的微博&nbsp;<a>加关注</a>" (later
    pages) and, on page 1, the name inside a child "<span class=ctt>Name<img alt=V>
    &nbsp;男/北京 <a>加关注</a></span>" with more spans after it. The first text of the
    header that is not a link and not blank is the name, whatever element holds it; the
    ``<title>`` "Name的微博" is the fallback when the header is missing.
    """
    for text in sel.css("div.ut").xpath(".//text()[not(ancestor::a)]").getall():
        if name := clean_text(text).removesuffix("的微博").strip():
            return name
    title = clean_text(sel.css("title::text").get())
    return title.removesuffix("的微博").strip() or None if title.endswith("的微博") else None


def _wap_mentions(page: Page, sel: Selector) -> list[Mention]:
    comments = sel.css("div.c[id^=C_]")
    posts = sel.css("div.c[id^=M_]")
    if not comments and not posts:
        raise MalformedPage(f"{page.url}: no weibo.cn posts or comments")
    author = _wap_author(sel)
    # A comment page repeats its post as div#M_ (no bid); only the comments are its content.
    if comments:
        return [_wap_comment(page, c) for c in comments]
    return [_wap_post(page, c, author) for c in posts]


def _is_html(page: Page) -> bool:
    return page.text.lstrip("\ufeff \r\n\t")[:1] == "<"


@site("weibo")
class WeiboPage(PageObject):
    def mentions(self) -> list[Mention]:
        page = self.page
        if _is_html(page):
            return _wap_mentions(page, html_selector(page.text))
        return [m for r in _responses(page) for m in _api_mentions(page, r)]

    def expand_urls(self, snippets: list[Mention]) -> list[str]:
        """``statuses/extend?id=`` of each long post m.weibo.cn's API cut (``isLongText``): its
        ``longTextContent`` is the whole post. weibo.cn pages name none (their "全文" page
        is the post's comment page, whose copy of the post carries no id)."""
        page = self.page
        if _is_html(page) or urlsplit(page.url).hostname != "m.weibo.cn":
            return []  # the open API and weibo.com's ajax have no statuses/extend of this shape
        return [page.urljoin(f"/statuses/extend?id={m.external_id}") for m in snippets if m.external_id]

    def next_url(self) -> str | None:
        """The next page/cursor URL of any handled Weibo page, None at the end."""
        page = self.page
        if _is_html(page):
            sel = html_selector(page.text)
            href = sel.xpath('//div[@id="pagelist"]//a[normalize-space()="下页"]/@href').get()
            return page.urljoin(href) if href else None
        response = _responses(page)[0]
        data = response.get("data")
        if isinstance(data, list):  # buildComments: a top-level max_id cursor, 0 on the last page
            cursor = as_int(response.get("max_id"))
            return with_query(page.url, max_id=cursor) if cursor and data else None
        if "data" not in response and "next_cursor" in response:  # open API: max_id=next_cursor
            cursor = as_int(response.get("next_cursor"))
            return with_query(page.url, max_id=cursor) if cursor else None
        if not isinstance(data, dict):
            return None
        params = query(page.url)
        if isinstance(data.get("list"), list):  # mymblog: page+1 with since_id, until it is ""
            since_id, current = ident(data.get("since_id")), as_int(params.get("page")) or 1
            return with_query(page.url, page=current + 1, since_id=since_id) if since_id and data["list"] else None
        if "cards" in data:
            info = obj(data.get("cardlistInfo"))
            if since_id := ident(info.get("since_id")):
                return with_query(page.url, since_id=since_id)
            current = as_int(info.get("page")) or as_int(params.get("page")) or 1
            return with_query(page.url, page=current + 1) if _cards(data["cards"]) else None
        if "max_id" in data:  # hotflow
            cursor = as_int(data.get("max_id"))
            if not cursor:
                return None
            return with_query(page.url, max_id=cursor, max_id_type=ident(data.get("max_id_type")) or 0)
        if isinstance(data.get("data"), list):  # comments/show
            current, last = as_int(params.get("page")) or 1, as_int(data.get("max"))
            return with_query(page.url, page=current + 1) if last and current < last else None
        return None
