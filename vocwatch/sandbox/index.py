"""The sandbox's home page (``/``): every site it serves, each listing with the location it
is about, and the command that crawls it, so a newcomer needs no code to find the URLs.

Every name and keyword is escaped for HTML and every URL percent-encoded: the page is
generated like the sites are, and is held to the same rule as any page vocwatch writes.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from .generate import MALL_MALFORMED, MALL_RATE_LIMITED, Content
from .locations import LOCATIONS_BY_ID, RSS_LOCATION, RSS_PATH

CSS = ("body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
       "h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.8rem}table{border-collapse:collapse;width:100%}"
       "td,th{text-align:left;padding:.25rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}"
       "code{background:#f3f3f3;padding:0 .25rem;font-size:.85em;word-break:break-all}.role{color:#666}")


def _href(path: str) -> str:
    """``path`` percent-encoded (keywords are Chinese) and escaped for an attribute."""
    return escape(quote(path, safe="/?=&:"), quote=True)


def _location(location_id: str) -> str:
    loc = LOCATIONS_BY_ID.get(location_id, {"name": location_id, "role": ""})
    return (f'{escape(loc["name"])} <span class="role">({escape(location_id)}, {escape(loc["role"])})</span>')


def _rows(rows: list[tuple[str, str, str]], kind: str, base_url: str) -> str:
    """Table rows: a link to each listing, its location, and ``scrapy crawl`` for it."""
    out = []
    for path, label, location_id in rows:
        # quoted: a ? or & in the URL means something else to a shell
        command = f"scrapy crawl {kind} -a 'url={base_url}{quote(path, safe='/?=&:')}' -O out.jsonl"
        out.append(f'<tr><td><a href="{_href(path)}">{escape(label)}</a></td><td>{_location(location_id)}</td>'
                   f"<td><code>{escape(command)}</code></td></tr>\n")
    return "".join(out)


def _section(title: str, what: str, kind: str, rows: list[tuple[str, str, str]], base_url: str) -> str:
    return (f"<h2>{escape(title)}</h2>\n<p>{escape(what)} Spider: <code>{escape(kind)}</code>.</p>\n"
            "<table><tr><th>listing</th><th>about</th><th>read it ad hoc</th></tr>\n"
            f"{_rows(rows, kind, base_url)}</table>\n")


def index_page(content: Content, base_url: str) -> str:
    """The HTML of ``/`` for a sandbox serving ``content`` at ``base_url``."""
    hotels = [(f"/hotels/{h.hotel_id}/reviews", f"StayAdvisor {h.hotel_id}", h.location["id"])
              for h in content.hotels.values()]
    js = [(f"/js/hotels/{h.hotel_id}/reviews", f"StayAdvisor {h.hotel_id} (built by JavaScript)", h.location["id"])
          for h in content.hotels.values()]
    mall = [(f"/api/mall/comments?productId={p.sku}", f"product {p.sku}", p.location_id) for p in content.mall.values()]
    weibo = [(f"/weibo/api/feed?q={f.keyword}", f"search {f.keyword}", f.location_id) for f in content.weibo.values()]
    forum = [(f"/forum/search?kw={content.forum.keyword}", f"search {content.forum.keyword}", content.forum.location_id)]
    forum += [(f"/forum/thread/{t.tid}", f"thread {t.tid}", content.forum.location_id) for t in content.forum.threads]
    rss = [(RSS_PATH, "RSS feed of the hotel blog", RSS_LOCATION), ("/blog/", "the blog's home page", RSS_LOCATION)]
    sections = "".join((
        _section("StayAdvisor: hotel reviews", "HTML review pages with schema.org JSON-LD, paged by rel=next.",
                 "hotel_reviews", hotels, base_url),
        _section("Mall: product comments", "A JSON comment API paged by page number; page "
                 f"{MALL_MALFORMED[1]} of product {MALL_MALFORMED[0]} is cut off on purpose, page {MALL_RATE_LIMITED[1]} "
                 f"of {MALL_RATE_LIMITED[0]} answers 429 once.", "mall_comments", mall, base_url),
        _section("Weibo: keyword feeds", "A JSON feed paged by a max_id cursor, with relative times.",
                 "weibo_feed", weibo, base_url),
        _section("Forum: search and threads", "A GBK-encoded forum; /forum/private/ is closed by robots.txt.",
                 "forum", forum, base_url),
        _section("Blog and RSS", "An RSS 2.0 feed whose items link to blog posts.", "rss", rss, base_url),
        _section("StayAdvisor with JavaScript", "The same hotels, reviews built in the browser: a source needs "
                 'render = "browser".', "hotel_reviews", js, base_url),
    ))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>vocwatch sandbox</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<h1>vocwatch sandbox</h1>\n"
        f"<p>Made-up review sites served at <code>{escape(base_url)}</code> for demos and tests. "
        "The demo config (<code>config/demo/vocwatch.toml</code>) crawls every listing below: "
        f"<code>export VOCWATCH_SANDBOX={escape(base_url)}</code>, then "
        "<code>vocwatch crawl -c config/demo/vocwatch.toml</code> or "
        "<code>scrapy crawl hotel_reviews -a source=harbor-sh-bund/hotel_reviews</code> from the repository. "
        'Also: <a href="/robots.txt">robots.txt</a>.</p>\n'
        f"{sections}</body>\n</html>\n"
    )
