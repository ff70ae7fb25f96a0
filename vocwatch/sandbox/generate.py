"""Deterministic content generation for the sandbox sites, plus the matching truth.

Everything is derived from ``seed`` and ``now`` only: each source gets its own
``random.Random`` seeded with a string derived from the seed, so adding or
changing one source never reshuffles the others. The same records feed the
renderers and the truth, which keeps the two consistent by construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from . import textbank as tb
from .locations import (
    FORUM_KEYWORDS,
    HOTEL_IDS,
    LOCAL_WORDS,
    LOCATIONS_BY_ID,
    MALL_SKUS,
    RSS_LOCATION,
    RSS_PATH,
    WEIBO_KEYWORDS,
)
from .model import (
    SHANGHAI,
    Inline,
    Rich,
    TrueMention,
    forum_post_path,
    mall_comment_path,
    normalize_text,
    plain_rich,
    review_path,
    rich_plain,
    weibo_status_path,
)

POS, NEU, NEG = tb.POS, tb.NEU, tb.NEG

HOTEL_PAGE_SIZE = 10
MALL_PAGE_SIZE = 10
WEIBO_PAGE_SIZE = 10
MALL_RATE_LIMITED = ("100012345", 2)  # (sku, page) answering 429 once
MALL_MALFORMED = ("100022345", 3)  # (sku, page) always truncated
SCRIPT_REVIEW = (
    'Posting this again because the site ate my first review: <script>alert("x")</script> '
    "Anyway: clean room, friendly staff & a great view of the Bund."
)

# Share of (positive, neutral, negative) per (region, role): own locations beat the
# competition in Shanghai and trail it in Hangzhou, so the demo comparison has a story.
POLARITY_MIX: dict[tuple[str, str], tuple[float, float, float]] = {
    ("shanghai", "own"): (0.62, 0.22, 0.16),
    ("shanghai", "competitor"): (0.45, 0.25, 0.30),
    ("hangzhou", "own"): (0.38, 0.24, 0.38),
    ("hangzhou", "competitor"): (0.58, 0.24, 0.18),
}


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class HotelReview:
    external_id: str
    title: str
    paragraphs: tuple[str, ...] | None  # None: the deliberately text-less review
    author: str
    rating: int
    published: datetime
    likes: int
    reply_text: str | None
    reply_at: datetime | None
    lang: str
    polarity: str


@dataclass(frozen=True)
class Hotel:
    hotel_id: str
    location: dict[str, Any]
    reviews: tuple[HotelReview, ...]  # newest first

    @property
    def page_count(self) -> int:
        return math.ceil(len(self.reviews) / HOTEL_PAGE_SIZE)


@dataclass(frozen=True)
class MallComment:
    id: str
    nickname: str
    score: int
    content: str
    published: datetime
    useful: int
    option: str
    reply_text: str | None
    reply_at: datetime | None
    polarity: str


@dataclass(frozen=True)
class MallProduct:
    sku: str
    location_id: str
    comments: tuple[MallComment, ...]  # newest first


@dataclass(frozen=True)
class WeiboPost:
    id: str
    rich: Rich
    published: datetime
    user_id: int
    screen_name: str
    reposts: int
    comments: int
    attitudes: int
    source: str
    region: str
    polarity: str


@dataclass(frozen=True)
class WeiboFeed:
    keyword: str
    location_id: str
    posts: tuple[WeiboPost, ...]  # newest first

    def page_cursors(self) -> list[int | None]:
        """max_id that selects each page (None for the first page)."""
        return [None if i == 0 else int(self.posts[i].id)
                for i in range(0, len(self.posts), WEIBO_PAGE_SIZE)]


@dataclass(frozen=True)
class ForumPost:
    pid: int
    floor: int
    author: str
    published: datetime
    lines: tuple[str, ...]
    polarity: str


@dataclass(frozen=True)
class ForumThread:
    tid: int
    title: str
    pages: tuple[tuple[ForumPost, ...], ...]  # floor order
    header_charset: bool  # False: page 1 only declares its charset in the meta tag
    private: bool = False


@dataclass(frozen=True)
class Forum:
    keyword: str
    location_id: str
    threads: tuple[ForumThread, ...]
    private_thread: ForumThread


@dataclass(frozen=True)
class BlogPost:
    num: int
    slug: str
    guid: str
    title: str
    author: str
    published: datetime
    rich: Rich
    polarity: str
    cdata: bool

    @property
    def path(self) -> str:
        return f"/blog/posts/{self.slug}"


@dataclass(frozen=True)
class Content:
    hotels: dict[str, Hotel]  # by hotel id
    mall: dict[str, MallProduct]  # by sku
    weibo: dict[str, WeiboFeed]  # by keyword
    forum: Forum
    blog: tuple[BlogPost, ...]  # newest first


# --------------------------------------------------------------------------- helpers
def _rng(seed: int, name: str) -> Random:
    return Random(f"vocwatch-sandbox:{seed}:{name}")


def _mix(location_id: str) -> tuple[float, float, float]:
    loc = LOCATIONS_BY_ID[location_id]
    return POLARITY_MIX[(loc["region"], loc["role"])]


def _polarities(rng: Random, n: int, mix: tuple[float, float, float]) -> list[str]:
    """Stratified polarities so every location's share is exactly as designed."""
    pos, neg = round(n * mix[0]), round(n * mix[2])
    out = [POS] * pos + [NEG] * neg + [NEU] * (n - pos - neg)
    rng.shuffle(out)
    return out


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _clause_polarities(rng: Random, polarity: str, k: int) -> list[str]:
    if polarity == POS:
        pols = [POS] * k
        if k >= 2 and rng.random() < 0.35:
            pols[-1] = rng.choice((NEG, NEU))
    elif polarity == NEG:
        pols = [NEG] * k
        if k >= 2 and rng.random() < 0.4:
            pols[-1] = POS
    elif k == 1:
        pols = [NEU]
    else:
        pols = [POS, NEG] + [NEU] * (k - 2)
    rng.shuffle(pols)
    return pols


def _sentences(rng: Random, lang: str, clauses: Sequence[tuple[str, str]]) -> list[str]:
    """Turn (polarity, clause) pairs into sentences, often fusing a contrast pair."""
    pos = [i for i, (p, _) in enumerate(clauses) if p == POS]
    neg = [i for i, (p, _) in enumerate(clauses) if p == NEG]
    contrast: str | None = None
    used: set[int] = set()
    if pos and neg and rng.random() < 0.6:
        a, b = clauses[pos[0]][1], clauses[neg[0]][1]
        used = {pos[0], neg[0]}
        if lang == "en":
            contrast = _cap(a) + rng.choice((" but ", ", but ")) + b + "."
        else:
            contrast = a + rng.choice(("，但是", "，不过", "，可惜")) + b + "。"
    rest = [pc for i, pc in enumerate(clauses) if i not in used]
    if lang == "en":
        out = [_cap(c) + "." for _, c in rest]
    else:
        out = []
        for i in range(0, len(rest), 2):
            group = rest[i:i + 2]
            upbeat = all(p == POS for p, _ in group) and rng.random() < 0.4
            out.append("，".join(c for _, c in group) + ("！" if upbeat else "。"))
    if contrast is not None:
        out.insert(rng.randint(0, len(out)), contrast)
    return out


def _hotel_clauses(rng: Random, lang: str, polarity: str, words: dict[str, str],
                   kmin: int = 2, kmax: int = 4) -> list[tuple[str, str]]:
    k = rng.randint(kmin, kmax)
    aspects = rng.sample(tb.HOTEL_ASPECTS, k)
    pols = _clause_polarities(rng, polarity, k)
    return [(p, rng.choice(tb.HOTEL[lang][a][p]).format(**words)) for a, p in zip(aspects, pols, strict=True)]


def _unique_offsets(rng: Random, n: int, low: int, high: int) -> list[int]:
    """n distinct offsets in [low, high), ascending (i.e. newest first once subtracted)."""
    return sorted(rng.sample(range(low, high), n))


def _mask_nick(rng: Random) -> str:
    first = rng.choice("abcdefghjklmnpqrstwxyz" + "小大阿老喵")
    last = rng.choice("0123456789" + "abcdefghkmnprstuvwxyz" + "鱼酱猫熊")
    return f"{first}***{last}"


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


# --------------------------------------------------------------------------- hotels
def _hotels(seed: int, anchor: datetime) -> dict[str, Hotel]:
    anchor_min = anchor.replace(second=0)
    hotels: dict[str, Hotel] = {}
    for loc_id, hid in HOTEL_IDS.items():
        rng = _rng(seed, f"hotel:{hid}")
        words = LOCAL_WORDS[loc_id]
        n = rng.randint(22, 38)
        pols = _polarities(rng, n, _mix(loc_id))
        n_zh = round(n * 0.3)
        langs = ["zh"] * n_zh + ["en"] * (n - n_zh)
        rng.shuffle(langs)
        offsets = _unique_offsets(rng, n, 180, 120 * 1440)
        reviews: list[HotelReview] = []
        for i in range(n):
            lang, pol = langs[i], pols[i]
            published = anchor_min - timedelta(minutes=offsets[i])
            own_pool, other_pool = (tb.ZH_NAMES, tb.EN_NAMES) if lang == "zh" else (tb.EN_NAMES, tb.ZH_NAMES)
            author = rng.choice(own_pool if rng.random() < 0.85 else other_pool)
            fill = dict(words, nights=rng.choice(tb.NIGHTS_EN if lang == "en" else tb.NIGHTS_ZH),
                        trip=rng.choice(tb.TRIPS_EN))
            sents: list[str] = []
            if rng.random() < 0.6:
                sents.append(rng.choice(tb.OPENERS[lang][pol]).format(**fill))
            sents += _sentences(rng, lang, _hotel_clauses(rng, lang, pol, words))
            if rng.random() < 0.6:
                sents.append(rng.choice(tb.CLOSERS[lang][pol]))
            joiner = " " if lang == "en" else ""
            if len(sents) >= 3 and rng.random() < 0.65:
                cut = rng.randint(1, len(sents) - 1)
                paragraphs = (joiner.join(sents[:cut]), joiner.join(sents[cut:]))
            else:
                paragraphs = (joiner.join(sents),)
            rating = {POS: rng.randint(8, 10), NEU: rng.randint(5, 7), NEG: rng.randint(1, 4)}[pol]
            reply_text = reply_at = None
            if rng.random() < 0.3:
                at = published + timedelta(minutes=rng.randint(120, 4 * 1440))
                if at <= anchor_min:
                    reply_at = at
                    reply_text = rng.choice(tb.HOTEL_REPLIES[lang][pol]).format(author=author)
            reviews.append(HotelReview(
                external_id=f"r{hid[1:]}-{n - i:04d}",
                title=rng.choice(tb.TITLES[lang][pol]),
                paragraphs=paragraphs,
                author=author,
                rating=rating,
                published=published,
                likes=rng.choice((0, 0, 0, 1, 1, 2, 3, 4, 6, 9, 14, 23)),
                reply_text=reply_text,
                reply_at=reply_at,
                lang=lang,
                polarity=pol,
            ))
        if hid == "h1001":  # the XSS probe: must be served escaped and kept literally
            r = reviews[2]
            reviews[2] = HotelReview(r.external_id, "Second try at posting this review",
                                     (SCRIPT_REVIEW,), "nomad_nick", 9, r.published, r.likes,
                                     None, None, "en", POS)
        if hid == "h1002":  # the single review without text, on page 2
            j = rng.randint(HOTEL_PAGE_SIZE, min(2 * HOTEL_PAGE_SIZE, n) - 1)
            r = reviews[j]
            reviews[j] = HotelReview(r.external_id, r.title, None, r.author, r.rating,
                                     r.published, r.likes, None, None, r.lang, r.polarity)
        hotels[hid] = Hotel(hid, LOCATIONS_BY_ID[loc_id], tuple(reviews))
    return hotels


# --------------------------------------------------------------------------- mall
def _mall(seed: int, anchor: datetime) -> dict[str, MallProduct]:
    products: dict[str, MallProduct] = {}
    for loc_id, sku in MALL_SKUS.items():
        rng = _rng(seed, f"mall:{sku}")
        n = rng.randint(35, 48)
        pols = _polarities(rng, n, _mix(loc_id))
        offsets = _unique_offsets(rng, n, 3600, 120 * 86400)
        next_id = 17_890_000_000 + rng.randint(0, 9_000_000)
        ids = []
        for _ in range(n):
            next_id += rng.randint(3_000, 900_000)
            ids.append(str(next_id))
        ids.reverse()  # newest comment has the highest id
        comments: list[MallComment] = []
        for i in range(n):
            pol = pols[i]
            published = anchor - timedelta(seconds=offsets[i])
            k = rng.randint(1, 3)
            aspects = rng.sample(tb.FOOD_ASPECTS, k)
            cpols = _clause_polarities(rng, pol, k)
            clauses = [(p, rng.choice(tb.FOOD[a][p])) for a, p in zip(aspects, cpols, strict=True)]
            content = "".join(_sentences(rng, "zh", clauses)) + rng.choice(tb.MALL_CLOSERS[pol])
            score = {POS: rng.choice((4, 5, 5)), NEU: 3, NEG: rng.choice((1, 2))}[pol]
            reply_text = reply_at = None
            if rng.random() < 0.3:
                at = published + timedelta(seconds=rng.randint(1800, 2 * 86400))
                if at <= anchor:
                    reply_at, reply_text = at, rng.choice(tb.MALL_REPLIES[pol])
            comments.append(MallComment(
                id=ids[i], nickname=_mask_nick(rng), score=score, content=content,
                published=published, useful=rng.choice((0, 0, 0, 1, 2, 3, 5, 8)),
                option=rng.choice(tb.MALL_OPTIONS), reply_text=reply_text, reply_at=reply_at,
                polarity=pol,
            ))
        products[sku] = MallProduct(sku, loc_id, tuple(comments))
    return products


# --------------------------------------------------------------------------- weibo
def _weibo_ages(rng: Random, now: datetime, feed_index: int, n: int) -> list[int]:
    """Post ages in seconds, chosen so every relative-time format shows up.

    Feed 0 holds a just-now post; both feeds get minute-, hour-, yesterday-,
    same-year- and previous-year-aged posts; the rest fall within the last 4 days.
    """
    local = now.astimezone(SHANGHAI)
    tod = int((local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds())
    day = 86400
    if feed_index == 0:
        special = [0, 4 * 60 + rng.randint(0, 50), 23 * 60 + rng.randint(0, 50),
                   2 * 3600 + rng.randint(0, 3000), 7 * 3600 + rng.randint(0, 3000),
                   rng.randint(2 * day + 3600, 3 * day), 45 * day + rng.randint(0, day),
                   400 * day + rng.randint(0, day)]
        yesterday_share = 0.5
    else:
        special = [37 * 60 + rng.randint(0, 50), 3 * 3600 + rng.randint(0, 3000),
                   20 * 3600 + rng.randint(0, 1800), rng.randint(3 * day, 4 * day),
                   20 * day + rng.randint(0, day), 500 * day + rng.randint(0, day)]
        yesterday_share = 0.25
    # "昨天 HH:MM" needs a post older than 24 h yet from yesterday's Shanghai date: any age
    # in [24 h, 24 h + time of day] qualifies, and keeps qualifying until next midnight.
    special.append(day + int(tod * yesterday_share))
    ages = set(special)
    while len(ages) < n:
        ages.add(rng.randint(10 * 60, 4 * day))
    return sorted(ages)


def _weibo_rich(rng: Random, polarity: str, location_id: str) -> Rich:
    words = LOCAL_WORDS[location_id]
    line1: list[Inline] = []
    if rng.random() < 0.6:
        line1 += [Inline("topic", rng.choice(tb.WEIBO_TOPICS[polarity])), Inline("text", " ")]
    line1.append(Inline("text", rng.choice(tb.WEIBO_INTROS[polarity])))
    line1.append(Inline("mention", tb.WEIBO_MENTIONS[location_id]))
    sents = _sentences(rng, "zh", _hotel_clauses(rng, "zh", polarity, words, 2, 3))
    line1.append(Inline("text", " " + sents[0]))
    alt, img = rng.choice(tb.WEIBO_EMOTICONS[polarity])
    line1.append(Inline("emoticon", alt, img))
    lines: list[tuple[Inline, ...]] = [tuple(line1)]
    if len(sents) > 1:
        tail = "".join(sents[1:]) + rng.choice(tb.WEIBO_EMOJI[polarity])
        lines.append((Inline("text", tail),))
    return tuple(lines)


def _weibo(seed: int, anchor: datetime) -> dict[str, WeiboFeed]:
    feeds: dict[str, WeiboFeed] = {}
    used_ids: set[int] = set()
    for index, (loc_id, keyword) in enumerate(WEIBO_KEYWORDS.items()):
        rng = _rng(seed, f"weibo:{keyword}")
        n = rng.randint(25, 32)
        ages = _weibo_ages(rng, anchor, index, n)
        pols = _polarities(rng, n, _mix(loc_id))
        posts: list[WeiboPost] = []
        # Ids grow with time, like Weibo's, but depend only on the seed and the post's
        # chronological rank: a sandbox anchored to a later `now` shows the same posts
        # under the same ids, as a real site does between two crawls.
        id_rng = _rng(seed, f"weibo-id:{keyword}")
        rank = {i: r for r, i in enumerate(sorted(range(n), key=lambda i: -ages[i]))}
        for i, (age, pol) in enumerate(zip(ages, pols, strict=True)):
            published = anchor - timedelta(seconds=age)
            mid = 4_890_000_000_000_000 + index * 100_000_000 + rank[i] * 1000 + id_rng.randint(0, 899)
            while mid in used_ids:
                mid += 1
            used_ids.add(mid)
            big = rng.random() < 0.15
            posts.append(WeiboPost(
                id=str(mid),
                rich=_weibo_rich(rng, pol, loc_id),
                published=published,
                user_id=rng.randint(1_000_000_000, 7_999_999_999),
                screen_name=rng.choice(tb.WEIBO_NAMES),
                reposts=rng.randint(0, 300 if big else 12),
                comments=rng.randint(0, 500 if big else 20),
                attitudes=rng.randint(0, 3000 if big else 60),
                source=rng.choice(tb.WEIBO_SOURCES),
                region=rng.choice(tb.WEIBO_REGIONS),
                polarity=pol,
            ))
        feeds[keyword] = WeiboFeed(keyword, loc_id, tuple(posts))
    return feeds


# --------------------------------------------------------------------------- forum
def _forum(seed: int, anchor: datetime) -> Forum:
    rng = _rng(seed, "forum")
    loc_id, keyword = next(iter(FORUM_KEYWORDS.items()))
    words = LOCAL_WORDS[loc_id]
    anchor_min = anchor.replace(second=0)

    def clause(pol: str) -> str:
        return rng.choice(tb.HOTEL["zh"][rng.choice(tb.HOTEL_ASPECTS)][pol]).format(**words)

    threads: list[ForumThread] = []
    next_pid = 58_200_000 + rng.randint(0, 9_999)
    for t, spec in enumerate(tb.FORUM_THREADS):
        start_age = int((rng.uniform(26, 29) if t == 0 else rng.uniform(10, 14)) * 1440)
        sizes = (rng.randint(6, 9), rng.randint(6, 9))
        total = sum(sizes)
        # minutes after the opening post, all at least an hour before now
        later = sorted(rng.sample(range(1, start_age - 60), total - 1))
        pols = [NEU, *_polarities(rng, total - 1, _mix(loc_id))]
        a1, a2 = rng.sample(tb.HOTEL_ASPECTS, 2)
        b1, b2 = rng.sample(tb.HOTEL_ASPECTS, 2)
        opening = tuple(line.format(
            pos1=rng.choice(tb.HOTEL["zh"][a1][POS]).format(**words),
            pos2=rng.choice(tb.HOTEL["zh"][a2][POS]).format(**words),
            neg1=rng.choice(tb.HOTEL["zh"][b1][NEG]).format(**words),
            neg2=rng.choice(tb.HOTEL["zh"][b2][NEG]).format(**words),
        ) for line in spec["opening"])
        posts: list[ForumPost] = []
        for floor in range(1, total + 1):
            next_pid += rng.randint(1, 400)
            pol = pols[floor - 1]
            if floor == 1:
                lines = opening
                published = anchor_min - timedelta(minutes=start_age)
            else:
                published = anchor_min - timedelta(minutes=start_age - later[floor - 2])
                first = rng.choice(tb.FORUM_REPLIES[pol]).format(clause=clause(pol))
                lines = (first, "另外" + clause(pol) + "。") if rng.random() < 0.3 else (first,)
            posts.append(ForumPost(next_pid, floor, rng.choice(tb.FORUM_NAMES), published,
                                   lines, pol))
        posts[0] = ForumPost(posts[0].pid, 1, tb.FORUM_NAMES[t], posts[0].published,
                             posts[0].lines, posts[0].polarity)
        threads.append(ForumThread(
            tid=3_018_841 if t == 0 else 3_019_207,
            title=spec["title"],
            pages=(tuple(posts[:sizes[0]]), tuple(posts[sizes[0]:])),
            header_charset=t == 0,
        ))
    private_post = ForumPost(58_299_999, 1, tb.FORUM_PRIVATE["author"],
                             anchor_min - timedelta(days=5), tb.FORUM_PRIVATE["text"], NEU)
    private = ForumThread(3_019_000, tb.FORUM_PRIVATE["title"], ((private_post,),), True, True)
    return Forum(keyword, loc_id, tuple(threads), private)


# --------------------------------------------------------------------------- blog / RSS
def _blog(seed: int, anchor: datetime) -> tuple[BlogPost, ...]:
    rng = _rng(seed, "blog")
    words = LOCAL_WORDS[RSS_LOCATION]
    specs = list(tb.BLOG_POSTS)
    rng.shuffle(specs)
    offsets = _unique_offsets(rng, len(specs), 2 * 3600, 20 * 86400)
    posts: list[BlogPost] = []
    for i, (title, pol) in enumerate(specs):
        num = 1000 + len(specs) - i
        fill = dict(words, nights=rng.choice(tb.NIGHTS_EN), trip=rng.choice(tb.TRIPS_EN))
        intro = rng.choice(tb.BLOG_INTROS[pol]).format(**fill)
        body = " ".join(_sentences(rng, "en", _hotel_clauses(rng, "en", pol, words, 3, 4)))
        paragraphs: list[tuple[Inline, ...]] = [
            (Inline("text", intro),),
            (Inline("text", body),),
        ]
        if rng.random() < 0.5:
            paragraphs.append((Inline("em", "Tip:"),
                               Inline("text", f" ask for a {words['view']} room on a high floor.")))
        paragraphs.append((Inline("text", "More photos & prices in "),
                           Inline("link", "my Shanghai hotel guide", "/blog/"),
                           Inline("text", ".")))
        slug = f"{num}-{_slugify(title)}"
        posts.append(BlogPost(
            num=num, slug=slug, guid=f"wanderlust-shanghai-{num}", title=title,
            author=rng.choice(tb.BLOG_AUTHORS), published=anchor - timedelta(seconds=offsets[i]),
            rich=tuple(paragraphs), polarity=pol, cdata=i % 2 == 0,
        ))
    return tuple(posts)


def generate(seed: int, now: datetime) -> Content:
    """Build every site's records for ``seed``, with timestamps anchored to ``now``."""
    anchor = now.astimezone(UTC).replace(microsecond=0)
    return Content(
        hotels=_hotels(seed, anchor),
        mall=_mall(seed, anchor),
        weibo=_weibo(seed, anchor),
        forum=_forum(seed, anchor),
        blog=_blog(seed, anchor),
    )


# --------------------------------------------------------------------------- truth
def build_truth(content: Content, base_url: str | None) -> tuple[TrueMention, ...]:
    """Everything a correct crawler should extract, in the normal text form.

    RSS urls are the item links; they are absolute once ``base_url`` is known and
    plain paths before the server has started.
    """
    out: list[TrueMention] = []
    for hid, hotel in content.hotels.items():
        source = f"/hotels/{hid}/reviews"
        for i, r in enumerate(hotel.reviews):
            out.append(TrueMention(
                site="stayadvisor", source_path=source, location_id=hotel.location["id"],
                external_id=r.external_id, url=f"{source}?page={i // HOTEL_PAGE_SIZE + 1}",
                author=r.author, title=r.title,
                # the deliberately text-less review has stars: a rating-only review, stored with text ""
                text=normalize_text("\n".join(r.paragraphs)) if r.paragraphs else "",
                rating=float(r.rating), rating_scale=10.0, published_at=r.published,
                likes=r.likes, reposts=None, comments=None, reply_text=r.reply_text,
                reply_at=r.reply_at, lang=r.lang, polarity=r.polarity,
                valid=True, on_malformed_page=False, permalink=review_path(hotel.hotel_id, r.external_id),
            ))
    for sku, product in content.mall.items():
        source = f"/api/mall/comments?productId={sku}"
        for i, c in enumerate(product.comments):
            page = i // MALL_PAGE_SIZE + 1
            out.append(TrueMention(
                site="mall", source_path=source, location_id=product.location_id,
                external_id=c.id, url=f"{source}&page={page}&pageSize={MALL_PAGE_SIZE}",
                author=c.nickname, title=None, text=normalize_text(c.content),
                rating=float(c.score), rating_scale=5.0, published_at=c.published,
                likes=c.useful, reposts=None, comments=1 if c.reply_text else 0,  # replyCount
                reply_text=c.reply_text, reply_at=c.reply_at, lang="zh", polarity=c.polarity, valid=True,
                on_malformed_page=(sku, page) == MALL_MALFORMED, permalink=mall_comment_path(c.id),
            ))
    for keyword, feed in content.weibo.items():
        source = f"/weibo/api/feed?q={keyword}"
        cursors = feed.page_cursors()
        for i, p in enumerate(feed.posts):
            cursor = cursors[i // WEIBO_PAGE_SIZE]
            out.append(TrueMention(
                site="weibo", source_path=source, location_id=feed.location_id,
                external_id=p.id, url=source if cursor is None else f"{source}&max_id={cursor}",
                author=p.screen_name, title=None, text=rich_plain(p.rich), rating=None,
                rating_scale=None, published_at=p.published, likes=p.attitudes,
                reposts=p.reposts, comments=p.comments, reply_text=None, reply_at=None,
                lang="zh", polarity=p.polarity, valid=True, on_malformed_page=False,
                permalink=weibo_status_path(p.id),
            ))
    forum = content.forum
    source = f"/forum/search?kw={forum.keyword}"
    for thread in forum.threads:
        for page_no, page in enumerate(thread.pages, start=1):
            for post in page:
                out.append(TrueMention(
                    site="forum", source_path=source, location_id=forum.location_id,
                    external_id=f"p{post.pid}", url=f"/forum/thread/{thread.tid}?page={page_no}",
                    author=post.author, title=thread.title if post.floor == 1 else None,
                    text=rich_plain(plain_rich(*post.lines)), rating=None, rating_scale=None,
                    published_at=post.published, likes=None, reposts=None, comments=None,
                    reply_text=None, reply_at=None, lang="zh", polarity=post.polarity,
                    valid=True, on_malformed_page=False, permalink=forum_post_path(thread.tid, page_no, post.pid),
                ))
    for post in content.blog:
        out.append(TrueMention(
            site="rss", source_path=RSS_PATH, location_id=RSS_LOCATION, external_id=post.guid,
            url=(base_url or "") + post.path, author=post.author, title=post.title,
            text=rich_plain(post.rich), rating=None, rating_scale=None,
            published_at=post.published, likes=None, reposts=None, comments=None,
            reply_text=None, reply_at=None, lang="en", polarity=post.polarity, valid=True,
            on_malformed_page=False, permalink=(base_url or "") + post.path,  # the feed item's link
        ))
    return tuple(out)
