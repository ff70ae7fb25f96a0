"""Google Maps reviews from the place JSON (``APP_INITIALIZATION_STATE``, reviews at
``[6][175][9][0][0]``) and from the ``listugcposts`` reviews RPC (``[null, next_token,
[entry, ...]]``, or a bare entry ``[review, null, token]``).

Both wrap the same positional review array: ``[0]`` id, ``[1][2]`` published (epoch µs),
``[1][4]`` author (``[5][0]`` in the RPC, ``[0][4]`` in the place JSON), ``[2][0][0]``
stars of 5, ``[2][15][0][0]`` original text (``[2][1][0]`` in older responses),
``[2][14][0]`` language, ``[3][1]`` reply time (µs), ``[3][14][0][0]`` reply text.
Responses start with the ``)]}'`` XSSI guard; it is stripped, and nothing is evaluated.
Pagination: the RPC's ``[1]`` is the next-page token (``!2s<token>`` in the next ``pb``).

The official Places API answers in named JSON: a place (``places/{id}`` with ``reviews``),
a ``places:searchText`` result (``{"places": [...]}``, each with its ``reviews``), or the
legacy Place Details (``{"result": {"reviews": [...]}}``). A review there carries ``name``
``places/PID/reviews/RID`` (RID is the same review id the Maps arrays carry at ``[0]``),
``rating``, ``originalText``/``text`` (``{text, languageCode}``), ``authorAttribution``,
``publishTime`` (ISO, UTC) and ``relativePublishTimeDescription``; legacy reviews have
``author_name``, ``text``, ``language``, ``time`` (epoch s) and
``relative_time_description``. Only the five "most relevant" reviews are sent per place.
"""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, ident, number, obj, review, string

SITE = "google_maps"
def _at(node: Any, *path: int) -> Any:
    for i in path:
        if not isinstance(node, list) or i >= len(node):
            return None
        node = node[i]
    return node


def load(page: Page) -> Any:
    """The response as data, the ``)]}'`` guard dropped first (``jsdata.load_js``)."""
    return page.data


def _micros(value: Any, page: Page):  # type: ignore[no-untyped-def]
    """A time in epoch microseconds; None for anything else (a bool, an int too large
    for a float)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 10**18:
        return None
    return page.parse_date(value / 1000)


def _review(el: list[Any], page: Page) -> Mention | None:
    text = _at(el, 2, 15, 0, 0) or _at(el, 2, 1, 0)
    stars = number(_at(el, 2, 0, 0))
    if not isinstance(text, str):
        if stars is None:
            return None
        text = ""  # a star-only review (most on Google Maps): kept, counted in ratings
    author = _at(el, 1, 4, 5, 0) or _at(el, 1, 4, 0, 4)
    lang = _at(el, 2, 14, 0) or _at(el, 2, 1, 1)
    return review(
        SITE, page.url, text, rating_raw=stars, rating_scale=5.0,
        external_id=_at(el, 0), author=author if isinstance(author, str) else None,
        published_raw=_at(el, 1, 6), published_at=_micros(_at(el, 1, 2), page),
        reply_text=_at(el, 3, 14, 0, 0), reply_at=_micros(_at(el, 3, 1), page),
        language=lang if isinstance(lang, str) else None,
    )


def _entries(data: Any) -> list[Any]:
    place = _at(data, 6, 175, 9, 0, 0)
    if isinstance(place, list):
        return [_at(e, 0) for e in place]
    if isinstance(_at(data, 0, 0), str):  # one bare RPC entry: [review, null, token]
        return [data[0]]
    if isinstance(_at(data, 2), list):  # RPC page: [null, token, [entry, ...]]
        return [_at(e, 0) for e in data[2]]
    return [_at(e, 0) for e in data] if isinstance(data, list) else []


def _api_review(r: dict[str, Any], page: Page) -> Mention | None:
    """One review of the Places API (new: ``originalText``/``authorAttribution``/
    ``publishTime``; legacy: ``text``/``author_name``/``time``)."""
    original, translated = obj(r.get("originalText")), obj(r.get("text"))
    text = string(original.get("text")) or string(translated.get("text")) or string(r.get("text")) or ""
    stars = number(r.get("rating"))
    if not text and stars is None:
        return None
    published = string(r.get("publishTime")) or r.get("time")
    rid = string(r.get("name"))
    lang = string(original.get("languageCode")) or string(translated.get("languageCode")) or string(r.get("language"))
    return review(
        SITE, string(r.get("googleMapsUri")) or page.url, text, rating_raw=stars, rating_scale=5.0,
        external_id=rid.rsplit("/", 1)[-1] if rid else None,
        # the Places API (new) links each review on Google Maps; the legacy API and the Maps
        # arrays give a review no address of its own (its place page shows it among the rest)
        permalink=page.permalink(string(r.get("googleMapsUri"))),
        author=string(obj(r.get("authorAttribution")).get("displayName")) or string(r.get("author_name")),
        published_raw=string(r.get("relativePublishTimeDescription")) or string(r.get("relative_time_description"))
        or ident(published),
        published_at=page.parse_date(published) if isinstance(published, str | int) else None,
        language=lang,
    )


def _api_reviews(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The review objects of a Places API answer, None when ``data`` is none of its shapes."""
    if isinstance(data.get("reviews"), list):
        return dicts(data["reviews"])
    if isinstance(data.get("places"), list):
        return [r for place in dicts(data["places"]) for r in dicts(place.get("reviews"))]
    if isinstance(obj(data.get("result")).get("reviews"), list):
        return dicts(data["result"]["reviews"])
    return None


@site(SITE)
class GoogleMapsPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Reviews from a place JSON, a reviews-RPC response or a Places API answer."""
        page = self.page
        data = load(page)
        if isinstance(data, dict) and (reviews := _api_reviews(data)) is not None:
            return [m for m in (_api_review(r, page) for r in reviews) if m]
        if not isinstance(data, list):
            raise MalformedPage(f"{page.url}: neither a Maps array nor a Places API answer")
        return [m for m in (_review(e, page) for e in _entries(data) if isinstance(e, list)) if m]


def next_page_token(page: Page) -> str | None:
    """The reviews RPC's next-page token (``[1]``), None on the last page."""
    token = _at(load(page), 1)
    return token if isinstance(token, str) and token else None
