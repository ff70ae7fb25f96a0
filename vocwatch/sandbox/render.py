"""Renderers turning generated records into the bytes each fake site serves.

Pure functions (no I/O, no clock of their own) so formats can be unit-tested and
the server stays a thin router.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from . import textbank as tb
from .generate import (
    HOTEL_PAGE_SIZE,
    WEIBO_PAGE_SIZE,
    BlogPost,
    Forum,
    ForumThread,
    Hotel,
    HotelReview,
    MallComment,
    MallProduct,
    WeiboFeed,
    WeiboPost,
)
from .model import (
    SHANGHAI,
    Inline,
    Rich,
    forum_post_path,
    mall_comment_path,
    review_path,
    weibo_status_path,
)

ROBOTS_TXT = "User-agent: *\nDisallow: /forum/private/\n"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def iso_shanghai(dt: datetime) -> str:
    """ISO 8601 with an explicit +08:00 offset, as Chinese sites publish it."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def shanghai_local(dt: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Asia/Shanghai wall-clock time without offset (what the mall and forum show)."""
    return dt.astimezone(SHANGHAI).strftime(fmt)


def _human_date(dt: datetime) -> str:
    local = dt.astimezone(SHANGHAI)
    return f"{_MONTHS[local.month - 1]} {local.day}, {local.year}"


def json_for_script(obj: Any) -> str:
    """JSON that cannot terminate a surrounding <script> element."""
    text = json.dumps(obj, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def weibo_created_at(published: datetime, current: datetime) -> str:
    """Weibo's relative time label for ``published`` as seen at ``current``.

    < 1 min "刚刚"; < 1 h "N分钟前"; < 24 h "N小时前"; previous Shanghai calendar
    day "昨天 HH:MM"; same year "MM-DD"; otherwise "YYYY-MM-DD".
    """
    age = (current - published).total_seconds()
    if age < 60:
        return "刚刚"
    if age < 3600:
        return f"{int(age // 60)}分钟前"
    if age < 86400:
        return f"{int(age // 3600)}小时前"
    pub = published.astimezone(SHANGHAI)
    cur = current.astimezone(SHANGHAI)
    if pub.date() == cur.date() - timedelta(days=1):
        return f"昨天 {pub:%H:%M}"
    if pub.year == cur.year:
        return f"{pub:%m-%d}"
    return f"{pub:%Y-%m-%d}"


# --------------------------------------------------------------------------- StayAdvisor
def _postal_address(address: str) -> dict[str, str]:
    parts = address.split(", ")
    city, _, postcode = parts[-1].rpartition(" ")
    return {
        "@type": "PostalAddress",
        "streetAddress": ", ".join(parts[:-1]),
        "addressLocality": city,
        "postalCode": postcode,
        "addressCountry": "CN",
    }


def _review_ld(r: HotelReview, hotel_id: str) -> dict[str, Any]:
    ld: dict[str, Any] = {"@type": "Review", "identifier": r.external_id, "url": review_path(hotel_id, r.external_id),
                          "name": r.title}
    if r.paragraphs is not None:
        ld["reviewBody"] = "\n".join(r.paragraphs)
    ld.update({
        "datePublished": iso_shanghai(r.published),
        "author": {"@type": "Person", "name": r.author},
        "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 10,
                         "worstRating": 1},
        "inLanguage": r.lang,
    })
    return ld


def _review_html(r: HotelReview, hotel_id: str) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in r.paragraphs or ())
    iso = iso_shanghai(r.published)
    html = (
        f'<article class="review" id="review-{r.external_id}" data-review-id="{r.external_id}">\n'
        f'  <h3 class="review-title">{escape(r.title)}</h3>\n'
        f'  <div class="review-meta"><span class="reviewer">{escape(r.author)}</span> · '
        f'<a class="permalink" href="{review_path(hotel_id, r.external_id)}">'
        f'<time datetime="{iso}">{_human_date(r.published)}</time></a> · '
        f'<span class="score">{r.rating}/10</span></div>\n'
        f'  <div class="review-body">{body}</div>\n'
        f'  <div class="helpful"><span class="helpful-count">{r.likes}</span> found this helpful</div>\n'
    )
    if r.reply_text is not None and r.reply_at is not None:
        html += (
            '  <div class="owner-reply"><div class="reply-meta">Response from the owner · '
            f'<time datetime="{iso_shanghai(r.reply_at)}">{_human_date(r.reply_at)}</time></div>'
            f'<p class="reply-text">{escape(r.reply_text)}</p></div>\n'
        )
    return html + "</article>\n"


def hotel_page(hotel: Hotel, page: int) -> str | None:
    """One StayAdvisor review page, or None when the page does not exist."""
    if not 1 <= page <= hotel.page_count:
        return None
    loc = hotel.location
    reviews = hotel.reviews[(page - 1) * HOTEL_PAGE_SIZE: page * HOTEL_PAGE_SIZE]
    ratings = [r.rating for r in hotel.reviews]
    average = round(sum(ratings) / len(ratings), 1)
    ld = {
        "@context": "https://schema.org",
        "@type": "Hotel",
        "name": loc["name"],
        "address": _postal_address(loc["address"]),
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": average, "bestRating": 10,
                            "worstRating": 1, "reviewCount": len(hotel.reviews)},
        "review": [_review_ld(r, hotel.hotel_id) for r in reviews],
    }
    base = f"/hotels/{hotel.hotel_id}/reviews"
    pager = []
    if page > 1:
        pager.append(f'<a rel="prev" href="{base}?page={page - 1}">Previous</a>')
    pager.append(f'<span class="current">Page {page} of {hotel.page_count}</span>')
    if page < hotel.page_count:
        pager.append(f'<a rel="next" href="{base}?page={page + 1}">Next</a>')
    name = escape(loc["name"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{name} - Guest Reviews (page {page}) - StayAdvisor</title>\n"
        f'<link rel="canonical" href="{base}?page={page}">\n'
        f'<script type="application/ld+json">\n{json_for_script(ld)}\n</script>\n'
        "</head>\n<body>\n"
        '<header class="site-header"><span class="logo">StayAdvisor</span></header>\n'
        "<main>\n"
        f'<h1 class="hotel-name">{name}</h1>\n'
        f'<div class="hotel-address">{escape(loc["address"])}</div>\n'
        f'<div class="rating-summary"><span class="avg">{average}</span>/10 · '
        f'<span class="count">{len(hotel.reviews)}</span> reviews</div>\n'
        '<section class="reviews">\n'
        + "".join(_review_html(r, hotel.hotel_id) for r in reviews)
        + "</section>\n"
        f'<nav class="pager">{" ".join(pager)}</nav>\n'
        "</main>\n<footer>&copy; StayAdvisor sandbox</footer>\n</body>\n</html>\n"
    )


def _item_page(title: str, inner: str) -> str:
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n</head>\n<body>\n{inner}</body>\n</html>\n")


def review_page(hotel: Hotel, review_id: str) -> str | None:
    """One StayAdvisor review on a page of its own (its permalink), or None when unknown."""
    r = next((r for r in hotel.reviews if r.external_id == review_id), None)
    if r is None:
        return None
    name = escape(hotel.location["name"])
    return _item_page(f"{escape(r.title)} - {name} - StayAdvisor",
                      f'<h1 class="hotel-name">{name}</h1>\n<section class="reviews">\n'
                      f"{_review_html(r, hotel.hotel_id)}</section>\n"
                      f'<p><a href="/hotels/{hotel.hotel_id}/reviews">All reviews</a></p>\n')


def mall_comment_page(product: MallProduct, comment_id: str) -> str | None:
    """One mall comment on a page of its own, or None when unknown."""
    c = next((c for c in product.comments if c.id == comment_id), None)
    if c is None:
        return None
    reply = (f'<div class="reply"><p>{escape(c.reply_text)}</p><time>{shanghai_local(c.reply_at)}</time></div>\n'
             if c.reply_text is not None and c.reply_at is not None else "")
    return _item_page(f"评价详情 - {escape(product.sku)}",
                      f'<div class="comment" id="comment-{c.id}"><span class="nickname">{escape(c.nickname)}</span> '
                      f'<span class="score">{c.score}/5</span> <time>{shanghai_local(c.published)}</time>\n'
                      f'<p class="content">{escape(c.content)}</p>\n{reply}</div>\n')


def weibo_status_page(post: WeiboPost) -> str:
    """One sandbox Weibo post on a page of its own."""
    return _item_page(f"{escape(post.screen_name)}的微博",
                      f'<div class="status" id="M_{post.id}"><span class="screen-name">{escape(post.screen_name)}</span>\n'
                      f'<div class="text">{weibo_html(post.rich)}</div>\n'
                      f'<time>{shanghai_local(post.published)}</time></div>\n')


# --------------------------------------------------------------------------- mall
def mall_comment_json(c: MallComment) -> dict[str, Any]:
    replies = []
    if c.reply_text is not None and c.reply_at is not None:
        replies.append({"content": c.reply_text, "creationTime": shanghai_local(c.reply_at)})
    return {
        "id": c.id,
        "url": mall_comment_path(c.id),
        "nickname": c.nickname,
        "score": c.score,
        "content": c.content,
        "creationTime": shanghai_local(c.published),
        "usefulVoteCount": c.useful,
        "productColor": c.option,
        "replyCount": len(replies),
        "replies": replies,
    }


def mall_page(product: MallProduct, page: int, page_size: int) -> dict[str, Any]:
    """The productPageComments-style payload for one page (empty past the end)."""
    comments = product.comments
    scores = [c.score for c in comments]
    chunk = comments[(page - 1) * page_size: page * page_size]
    return {
        "code": 0,
        "productId": product.sku,
        "page": page,
        "maxPage": math.ceil(len(comments) / page_size),
        "summary": {
            "commentCount": len(comments),
            "averageScore": round(sum(scores) / len(scores), 1),
            "goodRate": round(sum(s >= 4 for s in scores) / len(scores), 2),
            "poorCount": sum(s <= 2 for s in scores),
        },
        "comments": [mall_comment_json(c) for c in chunk],
    }


def truncated_json(payload: dict[str, Any]) -> str:
    """Serialise and cut the text in the middle of the comments array."""
    text = json.dumps(payload, ensure_ascii=False)
    start = text.index('"comments": [') + len('"comments": [')
    return text[: start + (len(text) - start) // 2]


# --------------------------------------------------------------------------- weibo
def _weibo_run(run: Inline) -> str:
    if run.kind == "mention":
        return f"<a href='/n/{escape(run.text)}'>@{escape(run.text)}</a>"
    if run.kind == "topic":
        q = quote("#" + run.text + "#", safe="")
        return f"<a href='/search?containerid=231522type%3D1%26q%3D{q}'>#{escape(run.text)}#</a>"
    if run.kind == "emoticon":
        return (f'<span class="url-icon"><img alt="{escape(run.text)}" '
                f'src="/emoticons/{run.href}.png" style="width:1em; height:1em;" /></span>')
    return escape(run.text)


def weibo_html(rich: Rich) -> str:
    """Status text the way m.weibo.cn serves it (inline HTML, <br /> line breaks)."""
    return "<br />".join("".join(_weibo_run(run) for run in line) for line in rich)


def _status(p: WeiboPost, current: datetime) -> dict[str, Any]:
    return {
        "id": p.id,
        "url": weibo_status_path(p.id),
        "created_at": weibo_created_at(p.published, current),
        "text": weibo_html(p.rich),
        "user": {"id": p.user_id, "screen_name": p.screen_name},
        "reposts_count": p.reposts,
        "comments_count": p.comments,
        "attitudes_count": p.attitudes,
        "source": p.source,
        "region_name": p.region,
    }


def weibo_page(feed: WeiboFeed | None, max_id: int | None, current: datetime) -> dict[str, Any]:
    """One cursor page: posts with id <= max_id (all when None), newest first."""
    posts = feed.posts if feed is not None else ()
    if max_id is not None:
        posts = tuple(p for p in posts if int(p.id) <= max_id)
    page, rest = posts[:WEIBO_PAGE_SIZE], posts[WEIBO_PAGE_SIZE:]
    return {
        "ok": 1,
        "data": {
            "statuses": [_status(p, current) for p in page],
            "max_id": int(rest[0].id) if rest else 0,
            "total_number": len(feed.posts) if feed is not None else 0,
        },
    }


# --------------------------------------------------------------------------- forum (GBK)
_FORUM_HEAD = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset=gbk" />\n'
    "<title>{title} - 西子湖畔旅游论坛 - Powered by Discuz!</title>\n</head>\n<body>\n"
    '<div id="hd"><span class="bbs-name">西子湖畔旅游论坛</span></div>\n'
)
_FORUM_FOOT = '<div id="ft">Powered by Discuz! X3.4</div>\n</body>\n</html>\n'


def gbk(text: str) -> bytes:
    """GBK bytes; characters outside GBK become numeric references rather than errors."""
    return text.encode("gbk", errors="xmlcharrefreplace")


def forum_search(forum: Forum, keyword: str) -> str:
    """Discuz-like search results (the private thread is listed too, as on real boards)."""
    items = []
    if keyword and keyword == forum.keyword:
        listed = [forum.threads[0], forum.private_thread, *forum.threads[1:]]
        for t in listed:
            prefix = "/forum/private/thread" if t.private else "/forum/thread"
            replies = sum(len(p) for p in t.pages) - 1
            items.append(
                f'<li><a class="thread" href="{prefix}/{t.tid}">{escape(t.title)}</a> '
                f'<span class="by">{escape(t.pages[0][0].author)}</span> '
                f'<span class="replies">回复 {replies}</span></li>\n'
            )
    body = (
        f'<div class="search-result"><h2>搜索“{escape(keyword)}”的结果，共 {len(items)} 个主题</h2>\n'
        '<ul class="threads">\n' + "".join(items) + "</ul>\n"
        + ("" if items else '<p class="empty">没有找到相关内容</p>\n')
        + "</div>\n"
    )
    return _FORUM_HEAD.format(title="搜索") + body + _FORUM_FOOT


def forum_thread(thread: ForumThread, page: int) -> str | None:
    """One page of a thread in floor order, or None when the page does not exist."""
    if not 1 <= page <= len(thread.pages):
        return None
    prefix = "/forum/private/thread" if thread.private else "/forum/thread"
    posts = []
    for p in thread.pages[page - 1]:
        content = "<br />".join(escape(line) for line in p.lines)
        posts.append(
            f'<div class="post" id="post-{p.pid}"><div class="author">{escape(p.author)}</div>'
            f'<div class="post-time">发表于 {shanghai_local(p.published, "%Y-%m-%d %H:%M")}</div>'
            f'<div class="floor">{p.floor}楼</div>'
            f'<a class="permalink" href="{forum_post_path(thread.tid, page, p.pid, private=thread.private)}">#</a>'
            f'<div class="content">{content}</div></div>\n'
        )
    nav = []
    if page > 1:
        nav.append(f'<a class="prev" href="{prefix}/{thread.tid}?page={page - 1}">上一页</a>')
    if page < len(thread.pages):
        nav.append(f'<a class="next" href="{prefix}/{thread.tid}?page={page + 1}">下一页</a>')
    return (
        _FORUM_HEAD.format(title=escape(thread.title))
        + f'<h1 class="thread-title">{escape(thread.title)}</h1>\n'
        + '<div class="posts">\n' + "".join(posts) + "</div>\n"
        + f'<div class="pg">{"".join(nav)}</div>\n'
        + _FORUM_FOOT
    )


# --------------------------------------------------------------------------- blog / RSS
def _blog_run(run: Inline, base_url: str) -> str:
    if run.kind == "link":
        href = base_url + run.href if run.href.startswith("/") else run.href
        return f'<a href="{escape(href)}">{escape(run.text)}</a>'
    if run.kind == "em":
        return f"<em>{escape(run.text)}</em>"
    return escape(run.text)


def blog_html(rich: Rich, base_url: str) -> str:
    """A post body as paragraphs of HTML."""
    return "".join("<p>" + "".join(_blog_run(r, base_url) for r in line) + "</p>" for line in rich)


def rss_feed(posts: tuple[BlogPost, ...], base_url: str, path: str) -> str:
    """RSS 2.0 with dc:creator; descriptions alternate between CDATA and escaped HTML."""
    items = []
    for post in posts:
        body = blog_html(post.rich, base_url)
        desc = f"<![CDATA[{body}]]>" if post.cdata else xml_escape(body)
        items.append(
            "    <item>\n"
            f"      <title>{xml_escape(post.title)}</title>\n"
            f"      <link>{xml_escape(base_url + post.path)}</link>\n"
            f'      <guid isPermaLink="false">{post.guid}</guid>\n'
            f"      <pubDate>{format_datetime(post.published)}</pubDate>\n"
            f"      <dc:creator>{xml_escape(post.author)}</dc:creator>\n"
            f"      <description>{desc}</description>\n"
            "    </item>\n"
        )
    build = format_datetime(posts[0].published)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n  <channel>\n'
        f"    <title>{tb.BLOG_NAME} — Hotel Notes</title>\n"
        f"    <link>{base_url}/blog/</link>\n"
        f'    <atom:link href="{base_url}{path}" rel="self" type="application/rss+xml" />\n'
        "    <description>Honest hotel reviews from a Shanghai-based travel blogger.</description>\n"
        "    <language>en</language>\n"
        f"    <lastBuildDate>{build}</lastBuildDate>\n"
        + "".join(items)
        + "  </channel>\n</rss>\n"
    )


def _blog_shell(title: str, inner: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)} | {tb.BLOG_NAME}</title>\n</head>\n<body>\n"
        f'<header><a href="/blog/">{tb.BLOG_NAME}</a></header>\n{inner}'
        "<footer>Feed: <a href=\"/feeds/shanghai-hotels.rss\">RSS</a></footer>\n</body>\n</html>\n"
    )


def blog_post_page(post: BlogPost, base_url: str) -> str:
    """The article an RSS item links to."""
    inner = (
        f'<article class="post">\n<h1>{escape(post.title)}</h1>\n'
        f'<p class="byline">By <span class="author">{escape(post.author)}</span> · '
        f'<time datetime="{post.published.isoformat()}">{_human_date(post.published)}</time></p>\n'
        f'<div class="entry">{blog_html(post.rich, base_url)}</div>\n</article>\n'
    )
    return _blog_shell(post.title, inner)


def blog_index(posts: tuple[BlogPost, ...]) -> str:
    """The blog's home page, which the feed's channel link points to."""
    items = "".join(f'<li><a href="{p.path}">{escape(p.title)}</a></li>\n' for p in posts)
    return _blog_shell("Home", f"<ul class=\"posts\">\n{items}</ul>\n")
