"""RSS 2.0 and Atom feeds: each entry becomes a post."""

from __future__ import annotations

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject, well_typed, xml_selector
from spiders.pages.htmltext import html_text
from spiders.pages.registry import site

_NS = {"atom": "http://www.w3.org/2005/Atom", "dc": "http://purl.org/dc/elements/1.1/",
       "content": "http://purl.org/rss/1.0/modules/content/"}


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
        for item in self.sel.xpath("//item"):
            date_raw = item.xpath("pubDate/text()").get() or item.xpath("dc:date/text()").get()
            link = item.xpath("link/text()").get("").strip()
            out.append(Mention(
                site="",
                kind="post",
                url=page.urljoin(link) if link else page.url,
                external_id=item.xpath("guid/text()").get("").strip() or link or None,
                title=item.xpath("title/text()").get(),
                text=item.xpath("content:encoded/text()").get() or item.xpath("description/text()").get() or "",
                author=item.xpath("dc:creator/text()").get() or item.xpath("author/text()").get(),
                published_raw=date_raw,
                published_at=page.parse_date(date_raw),
            ))
        for entry in self.sel.xpath("//atom:entry"):
            date_raw = entry.xpath("atom:published/text()").get() or entry.xpath("atom:updated/text()").get()
            link = entry.xpath("atom:link[not(@rel) or @rel='alternate']/@href").get("")
            out.append(Mention(
                site="",
                kind="post",
                url=page.urljoin(link) if link else page.url,
                external_id=entry.xpath("atom:id/text()").get("").strip() or link or None,
                title=entry.xpath("atom:title/text()").get(),
                text=entry.xpath("atom:content/text()").get() or entry.xpath("atom:summary/text()").get() or "",
                author=entry.xpath("atom:author/atom:name/text()").get(),
                published_raw=date_raw,
                published_at=page.parse_date(date_raw),
            ))
        if not out and not self.sel.xpath("//channel | //atom:feed"):
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
