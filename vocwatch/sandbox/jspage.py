"""A StayAdvisor variant whose reviews are built by JavaScript (``/js/hotels/<id>/reviews``).

The HTML is a shell: a served script fetches the page's reviews as JSON and builds the same
``article.review`` cards and ``rel=next`` link as the plain site, so only a crawler that runs
the script sees any review. The shell also loads an image, a web font and a video, which a
rendering crawler must not download (tests read the server's request log).
"""

from __future__ import annotations

from html import escape
from typing import Any

from .generate import HOTEL_PAGE_SIZE, Hotel, HotelReview
from .render import iso_shanghai

SCRIPT_PATH = "/js/static/reviews.js"
ASSET_PATHS = {"image": "/js/static/hotel.jpg", "font": "/js/static/brand.woff2", "media": "/js/static/tour.mp4"}
"""Resources the shell references that a browser would fetch, by Playwright resource type."""

#: Builds cards with createElement/textContent only: review text is never parsed as HTML.
SCRIPT = """(function () {
  "use strict";
  var root = document.getElementById("reviews");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function time(iso, label) {
    var t = el("time", null, label);
    t.setAttribute("datetime", iso);
    return t;
  }
  function card(r) {
    var a = el("article", "review");
    a.id = "review-" + r.id;
    a.setAttribute("data-review-id", r.id);
    a.appendChild(el("h3", "review-title", r.title));
    var meta = el("div", "review-meta");
    meta.appendChild(el("span", "reviewer", r.author));
    meta.appendChild(document.createTextNode(" \\u00b7 "));
    meta.appendChild(time(r.published, r.published.slice(0, 10)));
    meta.appendChild(document.createTextNode(" \\u00b7 "));
    meta.appendChild(el("span", "score", r.rating + "/" + r.best));
    a.appendChild(meta);
    var body = el("div", "review-body");
    (r.paragraphs || []).forEach(function (p) { body.appendChild(el("p", null, p)); });
    a.appendChild(body);
    var helpful = el("div", "helpful");
    helpful.appendChild(el("span", "helpful-count", String(r.likes)));
    helpful.appendChild(document.createTextNode(" found this helpful"));
    a.appendChild(helpful);
    if (r.reply) {
      var reply = el("div", "owner-reply");
      var rm = el("div", "reply-meta", "Response from the owner \\u00b7 ");
      rm.appendChild(time(r.reply.at, r.reply.at.slice(0, 10)));
      reply.appendChild(rm);
      reply.appendChild(el("p", "reply-text", r.reply.text));
      a.appendChild(reply);
    }
    return a;
  }
  fetch(root.getAttribute("data-src"), {headers: {"Accept": "application/json"}})
    .then(function (resp) { return resp.json(); })
    .then(function (data) {
      data.reviews.forEach(function (r) { root.appendChild(card(r)); });
      var pager = document.getElementById("pager");
      pager.appendChild(el("span", "current", "Page " + data.page + " of " + data.pages));
      if (data.next) {
        var next = el("a", null, "Next");
        next.rel = "next";
        next.href = data.next;
        pager.appendChild(document.createTextNode(" "));
        pager.appendChild(next);
      }
      root.setAttribute("data-state", "ready");
    });
})();
"""


def shell(hotel: Hotel, page: int) -> str | None:
    """The HTML shell of one review page (no review text), or None when it does not exist."""
    if not 1 <= page <= hotel.page_count:
        return None
    name = escape(hotel.location["name"])
    api = f"/js/api/hotels/{hotel.hotel_id}/reviews?page={page}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{name} - Guest Reviews (page {page}) - StayAdvisor</title>\n"
        "<style>\n"
        f"@font-face {{ font-family: 'StayBrand'; src: url('{ASSET_PATHS['font']}') format('woff2'); }}\n"
        "body { font-family: 'StayBrand', sans-serif; }\n"
        "</style>\n"
        f'<script src="{SCRIPT_PATH}" defer></script>\n'
        "</head>\n<body>\n"
        '<header class="site-header"><span class="logo">StayAdvisor</span></header>\n'
        f'<main>\n<h1 class="hotel-name">{name}</h1>\n'
        f'<img class="hero" src="{ASSET_PATHS["image"]}" alt="" width="640" height="320">\n'
        f'<video class="tour" src="{ASSET_PATHS["media"]}" preload="auto" autoplay muted></video>\n'
        f'<section class="reviews" id="reviews" data-src="{api}" data-state="loading"></section>\n'
        '<nav class="pager" id="pager"></nav>\n'
        "<noscript>Enable JavaScript to read the reviews.</noscript>\n"
        "</main>\n</body>\n</html>\n"
    )


def _review_json(r: HotelReview) -> dict[str, Any]:
    reply = None
    if r.reply_text is not None and r.reply_at is not None:
        reply = {"text": r.reply_text, "at": iso_shanghai(r.reply_at)}
    return {"id": r.external_id, "title": r.title, "author": r.author, "published": iso_shanghai(r.published),
            "rating": r.rating, "best": 10, "paragraphs": list(r.paragraphs or ()), "likes": r.likes,
            "reply": reply}


def reviews_json(hotel: Hotel, page: int) -> dict[str, Any] | None:
    """What the shell's script fetches for one page, or None when the page does not exist."""
    if not 1 <= page <= hotel.page_count:
        return None
    reviews = hotel.reviews[(page - 1) * HOTEL_PAGE_SIZE: page * HOTEL_PAGE_SIZE]
    next_url = f"/js/hotels/{hotel.hotel_id}/reviews?page={page + 1}" if page < hotel.page_count else None
    return {"page": page, "pages": hotel.page_count, "next": next_url, "reviews": [_review_json(r) for r in reviews]}
