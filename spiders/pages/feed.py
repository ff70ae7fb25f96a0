"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds: each entry becomes a post. Its text is the full
content (``content:encoded``, ``atom:content``) when the feed has it, else the description or
summary, flagged ``truncated`` when it ends the way excerpts do ("…", "[…]", "Read more").

RSS 1.0 puts ``item`` and its ``title``/``link``/``description`` in the
``http://purl.org/rss/1.0/`` namespace (craigslist, many CMSs), RSS 0.9x/2.0 in none: item
fields are matched in either. An RSS 1.0 item's id is its ``rdf:about``. An Atom entry
without its own ``author`` has the feed's (RFC 4287 §4.2.1); RSS has no such rule (a
channel's ``dc:creator`` is the feed robot, not the writer), so it is not inherited.
"""

from __future__ import annotations

import re
from typing import Any

from parsel import Selector

from crawlers.items import Mention, public_url
from spiders.pages.base import (
    MalformedPage,
    Page,
    PageObject,
    html_selector,
    well_typed,
    xml_selector,
)
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site
from spiders.pages.reviewkit import ends_cut, says_more

_NS = {"atom": "http://www.w3.org/2005/Atom", "dc": "http://purl.org/dc/elements/1.1/",
       "content": "http://purl.org/rss/1.0/modules/content/", "rss1": "http://purl.org/rss/1.0/",
       "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


def _field(item: Selector, name: str) -> str | None:
    """The text of ``item``'s child ``name`` in no namespace (RSS 0.9x/2.0) or RSS 1.0's."""
    return item.xpath(f"*[local-name()='{name}' and (namespace-uri()='' or namespace-uri()=$rss1)]/text()",
                      rss1=_NS["rss1"]).get()


def _atom_part(entry: Selector, name: str) -> str | None:
    """``atom:<name>`` (``content``, ``summary``) as markup: escaped HTML is text,
    ``type="xhtml"`` is a child ``div`` whose markup is the content."""
    node = entry.xpath(f"atom:{name}")[:1]
    if not node:
        return None
    if node.attrib.get("type") == "xhtml":
        return "".join(node.xpath("*").getall()) or None
    return node.xpath("text()").get() or None


_BRACKETED_CUT = re.compile(r"\[\s*(?:…|\.\.\.|&hellip;|&#8230;)\s*\]\s*$")
"""WordPress's excerpt end, "[…]"."""


def _body(content: str | None, summary: str | None) -> dict[str, Any]:
    """``text`` and ``truncated`` of an entry: its full content, else its description or
    summary, which a feed often cuts into an excerpt: one that ends in "…", "[…]" or a
    "Continue reading"/"Read more" link is flagged (a summary without such an end is taken as
    the whole post, as many feeds send)."""
    if content:
        return {"text": content, "truncated": False}
    summary = summary or ""
    plain = html_text(summary).strip()
    link = " ".join(html_selector(summary).xpath("(//a)[last()]//text()").getall()).strip() if "<a" in summary else ""
    more = bool(link) and plain.endswith(link) and (says_more(link) or link.lower().startswith("continue reading"))
    cut = ends_cut(plain) or bool(_BRACKETED_CUT.search(plain)) or more
    return {"text": summary, "truncated": bool(plain) and cut}


class FeedPage(PageObject):
    def __init__(self, page: Page) -> None:
        self.page = page
        try:
            self.sel = xml_selector(page.text)
        except ValueError as exc:
            raise MalformedPage(f"{page.url}: not XML ({exc})") from None
        for prefix, uri in _NS.items():
            self.sel.register_namespace(prefix, uri)

    def mentions(self) -> list[Mention]:
        page, out = self.page, []
        for item in self.sel.xpath("//item | //rss1:item"):
            date_raw = _field(item, "pubDate") or item.xpath("dc:date/text()").get()
            link = (_field(item, "link") or "").strip()
            guid = item.xpath("guid[not(@isPermaLink='false')]/text()").get("").strip()
            out.append(Mention(
                site="",
                kind="post",
                url=page.urljoin(link) if link else page.url,
                # the item's link, else a guid the feed says is a permalink (isPermaLink defaults to true)
                permalink=page.permalink(link) or (public_url(guid) if guid else None),
                external_id=(_field(item, "guid") or "").strip() or item.attrib.get(f"{{{_NS['rdf']}}}about")
                or link or None,
                title=_field(item, "title"),
                **_body(item.xpath("content:encoded/text()").get(), _field(item, "description")),
                author=item.xpath("dc:creator/text()").get() or _field(item, "author"),
                published_raw=date_raw,
                published_at=page.parse_date(date_raw),
            ))
        feed_author = self.sel.xpath("/atom:feed/atom:author/atom:name/text()").get()
        for entry in self.sel.xpath("//atom:entry"):
            date_raw = entry.xpath("atom:published/text()").get() or entry.xpath("atom:updated/text()").get()
            link = entry.xpath("atom:link[not(@rel) or @rel='alternate']/@href").get("")
            out.append(Mention(
                site="",
                kind="post",
                url=page.urljoin(link) if link else page.url,
                permalink=page.permalink(link),  # the entry's alternate link: its page on the site
                external_id=entry.xpath("atom:id/text()").get("").strip() or link or None,
                title=entry.xpath("atom:title/text()").get(),
                **_body(_atom_part(entry, "content"), _atom_part(entry, "summary")),
                author=entry.xpath("atom:author/atom:name/text()").get() or feed_author,
                published_raw=date_raw,
                published_at=page.parse_date(date_raw),
            ))
        if not out and not self.sel.xpath("//channel | //rss1:channel | //atom:feed"):
            raise MalformedPage(f"{page.url}: neither RSS nor Atom")
        return [well_typed(m) for m in out]


@site("rss", id_scope="host")  # a guid is unique within its publisher only
class RssPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Feed entries with text and title cleaned (descriptions are escaped HTML); an entry
        whose description is only a tracking pixel (feedburner deal feeds) is its title."""
        page = self.page
        out = FeedPage(page).mentions()
        for m in out:
            m.site, m.title = "rss", html_text(m.title) or None
            m.text = html_text(m.text) or m.title or ""
        return out
