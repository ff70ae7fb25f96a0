"""Booking.com review cards: the GraphQL ``ReviewCard`` nodes of the review list.

Booking shows a review as "Liked" and "Disliked" parts; both are kept in ``text`` under
those labels so sentiment sees which is which. Score is out of 10; ``reviewedDate`` is
epoch seconds; the room booked is the ``variant``; ``lang`` "xu" means undetermined.
The saved fragment is the nodes only, without the query's offset, so no pager rule here.
"""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import dig, ident, number, obj, review

SITE = "booking"
SCALE = 10.0


def _node(card: dict[str, Any], page: Page) -> Mention:
    details = obj(card.get("textDetails"))
    parts = [f"{label}: {details[key].strip()}" for label, key in (("Liked", "positiveText"), ("Disliked", "negativeText"))
             if isinstance(details.get(key), str) and details[key].strip()]
    guest, reply = obj(card.get("guestDetails")), obj(card.get("partnerReply"))
    lang = details.get("lang")
    return review(
        SITE, page.url, "\n".join(parts), rating_raw=number(card.get("reviewScore")), rating_scale=SCALE,
        external_id=card.get("reviewUrl"), title=details.get("title"),
        author=None if guest.get("anonymous") else guest.get("username"),
        author_region=guest.get("countryName"),
        published_raw=ident(card.get("reviewedDate")),
        published_at=page.parse_date(card.get("reviewedDate")),
        likes=card.get("helpfulVotesCount") if isinstance(card.get("helpfulVotesCount"), int) else None,
        reply_text=reply.get("reply"),
        variant=dig(card, "bookingDetails", "roomType", "name"),
        language=lang if isinstance(lang, str) and len(lang) == 2 and lang != "xu" else None,
    )


@site(SITE)
class BookingPage(PageObject):
    def mentions(self) -> list[Mention]:
        """One review per ``ReviewCard`` node (a bare list or under ``reviewCards``)."""
        page = self.page
        data = page.json()
        if isinstance(data, dict):
            data = data.get("reviewCards")
        if not isinstance(data, list):
            raise MalformedPage(f"{page.url}: no ReviewCard list")
        cards = [c for c in data if isinstance(c, dict) and c.get("__typename", "ReviewCard") == "ReviewCard"]
        return [m for m in (_node(c, page) for c in cards) if m.text or m.rating is not None]
