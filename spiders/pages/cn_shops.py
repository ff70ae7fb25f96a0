"""Chinese shop/review JSON APIs: JD, Taobao, Ele.me and Qunar comment responses.

Each adapter reads the response as the site serves it (plain JSON, JSONP or JS-wrapped,
via :func:`spiders.pages.jsdata.load_js`) and keeps every field the response carries.
A follow-up review by the same buyer (JD ``afterUserComment``, Taobao ``appendedFeed``)
is part of what the reader sees under the review, so it is appended to ``text`` after a
``"\\n追评："`` line rather than dropped. Dates are Asia/Shanghai wall time (``page.tz``).

Pagination (``*_next_url``): JD and Qunar count pages (``page`` query parameter, up to
``maxPage`` / ``totalPageNum``), Taobao's mtop API carries ``pageNo`` inside its JSON
``data`` parameter (up to ``totalPage``), Ele.me pages by ``offset``/``limit``. Each rule
stops on an empty page.

Only JD gives a review a page of its own (``permalink``, see :func:`_jd_permalink`); a
Taobao/Tmall rate, an Ele.me rating and a Qunar comment live only inside their listing, so
their ``permalink`` stays None.
"""

from __future__ import annotations

import json
from typing import Any

from crawlers.items import Mention
from crawlers.processors import clean_text, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject
from spiders.pages.cn_common import as_int, query
from spiders.pages.jsdata import js_assignments
from spiders.pages.paging import with_query
from spiders.pages.registry import site
from spiders.pages.reviewkit import dicts, ident, rating_fields, string

FOLLOW_UP = "\n追评："
ANONYMOUS = frozenset({"匿名用户", "匿名"})


# What the shop sites print where a buyer wrote nothing: not the buyer's words, so the
# review is kept as words-less (a rating-only review where it has a score).
PLACEHOLDERS = frozenset({
    "此用户没有填写评论!",  # Tmall rate list
    "此用户未填写评价内容",  # JD
    "评价方未及时做出评价,系统默认好评!",  # Taobao: rated by the system after 15 days
})


def _own_words(value: Any) -> str:
    text = clean_text(value)
    return "" if text in PLACEHOLDERS else text


def _with_follow_up(text: Any, follow_up: Any) -> str:
    body, extra = _own_words(text), _own_words(follow_up)
    if not extra:
        return body
    return f"{body}{FOLLOW_UP}{extra}" if body else f"{FOLLOW_UP.strip()}{extra}"


def _shown(value: Any) -> str | None:
    """A variant value as shown (a string or number); None for an object or array."""
    return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else None


# --- JD club.jd.com productPageComments ------------------------------------------------


def _jd_comments(page: Page) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data = page.data
    if isinstance(data, list):  # saved fixture: the comments arrays of several pages joined
        return dicts(data), {}
    if isinstance(data, dict) and isinstance(data.get("comments", []), list):
        return dicts(data.get("comments")), data
    raise MalformedPage(f"{page.url}: no JD comments array")


def _jd_follow_up(after: Any) -> Any:
    """The follow-up's words: ``afterUserComment.content``, or, in the 2019-era answers,
    ``afterUserComment.hAfterUserComment.content`` (the words nested one level down)."""
    if not isinstance(after, dict):
        return None
    inner = after.get("hAfterUserComment")
    return after.get("content") or (inner.get("content") if isinstance(inner, dict) else None)


def _jd_permalink(c: dict[str, Any], page: Page) -> str | None:
    """A JD comment's own page, ``club.jd.com/repay/<product>_<guid>_1.html`` (评价详情: what
    the comment list's date links to), from the comment's ``referenceId`` (the product, else
    the ``productId`` the request asked for) and ``guid``; None without a guid."""
    guid = ident(c.get("guid"))
    product = ident(c.get("referenceId")) or query(page.url).get("productId")
    if not guid or not product or not all(ch.isalnum() or ch == "-" for ch in guid + product):
        return None
    return page.permalink(f"https://club.jd.com/repay/{product}_{guid}_1.html")


@site("jd")
class JdPage(PageObject):
    def mentions(self) -> list[Mention]:
        """JD product comments: 5-star score, colour/size variant, buyer province, shop reply."""
        page = self.page
        out = []
        for c in _jd_comments(page)[0]:
            reply = next(iter(dicts(c.get("replies"))), {})
            after = _jd_follow_up(c.get("afterUserComment"))
            variant = " ".join(" ".join(v.split()) for k in ("productColor", "productSize") if (v := _shown(c.get(k))))
            out.append(Mention(
                site="jd",
                kind="review",
                url=page.url,
                external_id=ident(c.get("id")),
                permalink=_jd_permalink(c, page),
                text=_with_follow_up(c.get("content"), after),
                author=c.get("nickname"),
                author_region=_first(c, "location", "userProvince"),  # 2016-era answers: userProvince
                **rating_fields(c.get("score"), 5.0),
                published_raw=c.get("creationTime"),
                published_at=page.parse_date(c.get("creationTime")),
                likes=parse_count(c.get("usefulVoteCount")),
                comments=parse_count(c.get("replyCount")),
                reply_text=clean_text(reply.get("content")) or None,
                reply_at=page.parse_date(reply.get("creationTime")),
                variant=variant or None,
            ))
        return out

    def next_url(self) -> str | None:
        """Next ``page=`` of productPageComments (0-based); None past ``maxPage`` or when empty."""
        page = self.page
        comments, data = _jd_comments(page)
        current = as_int(query(page.url).get("page"))
        last = as_int(data.get("maxPage"))
        if not comments or current is None or (last is not None and current + 1 >= last):
            return None
        return with_query(page.url, page=current + 1)


# --- Taobao H5 mtop.wdetail.getitemrates -----------------------------------------------


def _taobao_data(page: Page) -> dict[str, Any]:
    """The rates envelope: the H5 mtop API's ``data`` (``rateList``, ``totalPage``) or the
    Tmall PC API's ``rateDetail`` (``rate.tmall.com/list_detail_rate.htm``: ``rateList``,
    ``paginator.lastPage``)."""
    data = page.data
    for key in ("data", "rateDetail"):
        inner = data.get(key) if isinstance(data, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("rateList"), list):
            return inner
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "rateList" not in data["data"]:
        return data["data"]  # an mtop answer with no rates at all: an empty page
    raise MalformedPage(f"{page.url}: no data.rateList or rateDetail.rateList")


def _taobao_variant(r: dict[str, Any]) -> str | None:
    """mtop's ``skuMap`` {"颜色分类": "…"} or Tmall's ``auctionSku`` "颜色分类:…;尺码:…"."""
    sku = r.get("skuMap") if isinstance(r.get("skuMap"), dict) else {}
    shown = "; ".join(f"{k}:{v}" for k, raw in sku.items() if (v := _shown(raw)))
    return shown or clean_text(r.get("auctionSku")).replace(";", "; ") or None


@site("taobao")
class TaobaoPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Taobao/Tmall rates, from either API (mtop: ``feedback``/``userNick``/
        ``feedbackDate``/``appendedFeed``; Tmall PC: ``rateContent``/``displayUserNick``/
        ``rateDate``/``appendComment``). ``rateType`` (1 good / 0 neutral / -1 bad) is a
        verdict, not a star score, so ``rating`` stays empty."""
        page = self.page
        out = []
        for r in dicts(_taobao_data(page).get("rateList")):
            appended = next((a for a in (r.get("appendedFeed"), r.get("appendComment")) if isinstance(a, dict)), {})
            replies = [clean_text(x) for x in (r.get("reply"), appended.get("reply")) if clean_text(x)]
            when = _first(r, "feedbackDate", "rateDate")
            out.append(Mention(
                site="taobao",
                kind="review",
                url=page.url,
                external_id=ident(r.get("id")),
                text=_with_follow_up(_first(r, "feedback", "rateContent"),
                                     _first(appended, "appendedFeedback", "content")),
                author=_first(r, "userNick", "displayUserNick"),
                published_raw=when,
                published_at=page.parse_date(when),
                reply_text="\n".join(replies) or None,
                variant=_taobao_variant(r),
            ))
        return out

    def next_url(self) -> str | None:
        """mtop: bump ``pageNo`` inside the ``data`` JSON parameter, up to ``totalPage``;
        Tmall PC: ``currentPage+1`` up to ``paginator.lastPage``."""
        page = self.page
        inner = _taobao_data(page)
        if not inner.get("rateList"):
            return None
        if isinstance(inner.get("paginator"), dict):
            current = as_int(query(page.url).get("currentPage")) or as_int(inner["paginator"].get("page")) or 1
            last = as_int(inner["paginator"].get("lastPage"))
            return with_query(page.url, currentPage=current + 1) if last is not None and current < last else None
        try:
            params = json.loads(query(page.url).get("data") or "")
        except (ValueError, RecursionError):
            return None
        current = as_int(params.get("pageNo")) if isinstance(params, dict) else None
        last = as_int(inner.get("totalPage"))
        if current is None or (last is not None and current >= last):
            return None
        params["pageNo"] = current + 1
        return with_query(page.url, data=json.dumps(params, separators=(",", ":"), ensure_ascii=False))


# --- Ele.me shop ratings -----------------------------------------------------------------


_ELEME_KEYS = ("rated_at", "rating_text", "rating_star")


def _eleme_list(value: Any) -> list[dict[str, Any]] | None:
    """``value`` as a ratings list: a bare array of rating objects, or ``{"comments": [...]}``."""
    if isinstance(value, dict) and isinstance(value.get("comments"), list):
        return dicts(value["comments"])
    if isinstance(value, list) and (not value or any(k in r for r in dicts(value) for k in _ELEME_KEYS)):
        return dicts(value)
    return None


def _eleme_ratings(page: Page) -> list[dict[str, Any]]:
    """The ratings of a response: the array itself (``ugc/v2`` and ``ugc/v3 .../ratings``),
    ``{"comments": [...]}``, or, in a saved JS file exporting several responses of one
    shop (ratings, scores, tags), the one that holds ratings."""
    if (ratings := _eleme_list(page.data)) is not None:
        return ratings
    for value in js_assignments(page.text, page.url).values():  # only for multi-export files
        if (ratings := _eleme_list(value)) is not None:
            return ratings
    raise MalformedPage(f"{page.url}: no Ele.me ratings")


def _first(r: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that ``r`` has with a value (API eras renamed fields)."""
    return next((r[k] for k in keys if r.get(k) not in (None, "")), None)


@site("eleme")
class ElemePage(PageObject):
    def mentions(self) -> list[Mention]:
        """Ele.me ratings: 5-star score, dishes rated as ``variant``, merchant reply with time.

        Two API eras are read: ``ugc/v3`` (``rating``, ``food_ratings[].rate_name``,
        ``order_id``) and the older ``ugc/v2`` (``rating_star``,
        ``item_ratings[].food_name``, no rating id). A star-only rating keeps
        ``text == ""`` and its score: it is a rating-only review, kept and counted.
        """
        page = self.page
        out = []
        for r in _eleme_ratings(page):
            reply = r.get("reply") if isinstance(r.get("reply"), dict) else {}
            dishes = [clean_text(_first(f, "rate_name", "food_name"))
                      for f in [*dicts(r.get("food_ratings")), *dicts(r.get("item_ratings"))]]
            author = string(r.get("username"))
            out.append(Mention(
                site="eleme",
                kind="review",
                url=page.url,
                external_id=ident(r.get("order_id")),
                text=clean_text(r.get("rating_text")),
                author=None if author in ANONYMOUS else author,
                **rating_fields(_first(r, "rating", "rating_star"), 5.0),
                published_raw=r.get("rated_at"),
                published_at=page.parse_date(r.get("rated_at")),
                reply_text=clean_text(reply.get("content")) or None,
                reply_at=page.parse_date(reply.get("created_at")),
                variant="、".join(d for d in dishes if d) or None,
            ))
        return out

    def next_url(self) -> str | None:
        """Next ``offset`` (+``limit``, default 20) while a full page came back."""
        page = self.page
        params = query(page.url)
        offset, limit = as_int(params.get("offset")) or 0, as_int(params.get("limit")) or 20
        if len(_eleme_ratings(page)) < limit:
            return None
        return with_query(page.url, offset=offset + limit, limit=limit)


# --- Qunar touch hotel comments ----------------------------------------------------------


def _qunar_data(page: Page) -> dict[str, Any]:
    data = page.data
    inner = data.get("data") if isinstance(data, dict) else None
    comment_data = inner.get("commentData") if isinstance(inner, dict) else None
    if not isinstance(comment_data, dict) or not isinstance(comment_data.get("comments", []), list):
        raise MalformedPage(f"{page.url}: no data.commentData.comments")
    return inner


@site("qunar")
class QunarPage(PageObject):
    def mentions(self) -> list[Mention]:
        """Qunar hotel reviews: title, 5-point score, useful votes, reply count."""
        page = self.page
        out = []
        for c in dicts(_qunar_data(page)["commentData"].get("comments")):
            out.append(Mention(
                site="qunar",
                kind="review",
                url=page.url,
                external_id=ident(c.get("commentId")),
                text=clean_text(c.get("content")),
                title=clean_text(c.get("title")) or None,
                author=c.get("author"),
                **rating_fields(c.get("score"), 5.0),
                published_raw=c.get("date"),
                published_at=page.parse_date(c.get("date")),
                likes=parse_count(c.get("numOfUseful")),
                comments=parse_count(c.get("replyNum")),
            ))
        return out

    def next_url(self) -> str | None:
        """``page=currentPageNum+1`` up to ``totalPageNum``."""
        page = self.page
        inner = _qunar_data(page)
        current, last = as_int(inner.get("currentPageNum")), as_int(inner.get("totalPageNum"))
        if current is None or last is None or current >= last:
            return None
        return with_query(page.url, page=current + 1)
