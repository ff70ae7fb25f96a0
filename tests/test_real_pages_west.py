"""Real saved pages (../shared/pages) of TripAdvisor, Amazon, Booking, Google Maps, Yelp
and schema.org pages through their site adapters.

Expected values were read off the raw files (grep/jq), not copied from parser output.
The pages carry no fetch time, so a fixed ``now`` is passed; zones are the site's local
one where the page shows local dates (Oslo for tripadvisor.no, Ljubljana for the Kranj
attraction, Los Angeles for amazon.com), UTC where the data is epoch/ISO-Z.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from spiders.pages import google_maps, schema_org, tripadvisor, yelp
from spiders.pages.base import Page
from spiders.pages.registry import adapter
from tests.conftest import shared_path

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TA_HOTEL = "_Hotel_Review-g190502-d206868-Reviews-Radisson_Blu_Royal_Hotel_Bergen-Bergen_Hordaland_Western_Norway.html"


def load(*parts: str, url: str, tz: str = "UTC", encoding: str = "utf-8", now: datetime = NOW) -> Page:
    text = shared_path("pages", *parts).read_text(encoding=encoding)
    return Page(url=url, text=text, now=now, tz=ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_tripadvisor_2015_hotel_page() -> None:
    page = load("tripadvisor", TA_HOTEL, url="https://www.tripadvisor.no/" + TA_HOTEL.lstrip("_"),
                tz="Europe/Oslo", now=utc(2015, 4, 27, 12))
    ms = adapter("tripadvisor")(page)
    assert len(ms) == 7  # 10 reviewSelector divs, 3 of them empty placeholders
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.title) == ("267503657", "Frode G", "Meget bra")
    assert (first.rating_raw, first.rating_scale, first.rating) == (4.0, 5.0, 4.0)
    assert first.published_raw == "23 april 2015"  # shown as "Anmeldt 4 dager siden"
    assert first.published_at == utc(2015, 4, 22, 22)
    assert first.text.startswith("Et flott hotell forholdsvis sentralt i Bergen.")
    assert first.text.endswith("Men mangler heis helt...")  # the "Mer" link is not text
    assert first.author_region is None
    assert (last.external_id, last.author, last.author_region) == ("259848290", "123Regine", "Bergen, Norge")
    assert last.published_at == utc(2015, 3, 15, 23) and last.rating_raw == 5.0
    assert (last.reply_text or "").startswith("Takk for din tilbakemelding 123Regine.\nVi setter pris på")
    assert adapter("tripadvisor").read(page).next_url == (
        "https://www.tripadvisor.no/Hotel_Review-g190502-d206868-Reviews-or10-"
        "Radisson_Blu_Royal_Hotel_Bergen-Bergen_Hordaland_Western_Norway.html")


def test_tripadvisor_2015_expanded_fragment_with_manager_replies() -> None:
    page = load("tripadvisor", "ExpandedUserReview1.html", encoding="cp1252", tz="Europe/Oslo",
                url="https://www.tripadvisor.no/ExpandedUserReviews-g1006204-d2440155", now=utc(2015, 4, 20, 12))
    ms = adapter("tripadvisor")(page)
    assert len(ms) == 10  # 20 blocks; 10 are the replies repeated as "Owner response"
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.author_region) == ("264384292", "Gudbrand T", "Oslo, Norge")
    assert first.title == "Flott beliggenhet, sviktende komfort" and first.rating_raw == 3.0
    assert first.published_at == utc(2015, 4, 6, 22)
    assert first.text.endswith("for svak til å få tørre støvler om morgenen.")
    assert (first.reply_text or "").startswith("Hej Gudbrand T,\nTack så mycket")
    assert (first.reply_text or "").endswith("Med vänliga hälsningar,\nJonas")
    assert first.reply_at == utc(2015, 4, 12, 22)  # "1 uke siden", title 13 april 2015
    assert (last.external_id, last.author, last.author_region, last.rating_raw) == ("250992709", "Paal K", "Geilo", 4.0)
    assert last.published_at == utc(2015, 1, 25, 23)
    assert last.reply_at == utc(2015, 1, 26, 23)  # shown "27 januar 2015" (its title says 20 mars)
    assert all(m.reply_text for m in ms)


def test_tripadvisor_2018_attraction_page() -> None:
    page = load("tripadvisor", "reviews-www.tripadvisor.com.html", tz="Europe/Ljubljana",
                url="https://www.tripadvisor.com/Attraction_Review-g644300-d7289577-Reviews.html")
    ms = adapter("tripadvisor")(page)
    assert len(ms) == 10
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.author_region) == ("599246690", "123jeroens", "Hengelo, The Netherlands")
    assert (first.title, first.rating_raw, first.likes) == ("Kranj is small but worth a visit", 4.0, 0)
    assert first.published_at == utc(2018, 7, 23, 22)
    assert ms[2].author == "Sabina M" and ms[2].likes == 1 and ms[2].author_region is None
    assert (last.external_id, last.author, last.rating_raw) == ("498251323", "genmartin22", 3.0)
    assert last.published_at == utc(2017, 7, 2, 22)
    assert last.text.startswith("The young ladies were friendly and helpful")
    assert adapter("tripadvisor").read(page).next_url == (
        "https://www.tripadvisor.com/Attraction_Review-g644300-d7289577-Reviews-or10-"
        "Tourist_Information_Centre_Kranj_House-Kranj_Upper_Carniola_Region.html")
    assert tripadvisor.aggregate(page) == {"rating": 4.5, "count": 34.0}


def test_tripadvisor_reshaped_json() -> None:
    page = load("tripadvisor", "hotels.json", url="https://scrapfly.test/tripadvisor/hotels.json")
    ms = adapter("tripadvisor")(page)
    assert len(ms) == 40
    assert ms[0].url.endswith("Hotel_Review-g190327-d264936-Reviews-1926_Le_Soleil_Hotel_Spa-Sliema_Island_of_Malta.html")
    assert (ms[0].title, ms[0].rating_raw, ms[0].rating) == ("Not for us", 3.0, 3.0)
    assert ms[0].text.startswith("We had to stay here overnight as our hotel (The Waterfront)")
    assert (ms[-1].title, ms[-1].rating_raw) == ("Perfect stay in Sliema", 5.0)
    assert ms[-1].published_at is None  # only the stay month is given
    assert tripadvisor.aggregate(page) == {"rating": 4.3, "count": 1215.0}
    assert adapter("tripadvisor").read(page).next_url is None


def test_amazon_review_page() -> None:
    page = load("amazon", "Amazon.com_Customer_reviews.html", tz="America/Los_Angeles",
                url="https://www.amazon.com/Dawn-Ultra-Dishwashing-Liquid-Original/product-reviews/B0BBPNPZTC")
    ms = adapter("amazon")(page)
    assert len(ms) == 10
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.title) == ("RIY0N097PYR7K", "Tina Haskett Cambar", "Name brand and performance")
    assert (first.rating_raw, first.rating_scale, first.author_region, first.likes) == (5.0, 5.0, "United States", 0)
    assert first.published_at == utc(2024, 7, 1, 7)
    assert first.text.startswith("This is the dish liquid I always buy")
    assert [m.likes for m in ms] == [0, 4, 1, 3, 0, 0, 22, 16, 0, 0]  # "One person found this helpful" = 1
    assert ms[7].author == "Jeff" and ms[7].rating_raw == 4.0
    assert (last.external_id, last.author, last.title) == ("R1P6IWGF3BKZQT", "Bear", "Excellent product")
    assert last.published_at == utc(2024, 7, 9, 7)
    assert adapter("amazon").read(page).next_url == (
        "https://www.amazon.com/Dawn-Ultra-Dishwashing-Liquid-Original/product-reviews/B0BBPNPZTC/"
        "ref=cm_cr_arp_d_paging_btm_2?ie=UTF8&pageNumber=2")


def test_amazon_reshaped_json() -> None:
    page = load("amazon", "reviews.json", tz="America/Los_Angeles", url="https://www.amazon.com/product-reviews/PS5")
    ms = adapter("amazon")(page)
    assert len(ms) == 5
    assert (ms[0].title, ms[0].text, ms[0].rating_raw) == ("Game player", "Fantastic system works great the graphics are stunning", 5.0)
    assert ms[0].published_at == utc(2025, 12, 9, 8) and ms[0].author_region == "United States"
    assert ms[-1].title == "Great quality, perfect packaging!" and ms[-1].published_at == utc(2025, 10, 25, 7)


def test_booking_review_cards() -> None:
    ms = adapter("booking")(load("booking", "hotel_review.json", url="https://www.booking.com/reviewlist.html"))
    assert len(ms) == 30
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.author_region) == ("42e1dfde2a3bf242", "Robert", "United Kingdom")
    assert (first.rating_raw, first.rating_scale, first.rating) == (7.0, 10.0, 3.5)
    assert first.published_at == utc(2025, 12, 14, 21, 46, 52)  # reviewedDate 1765748812
    assert first.text.startswith("Liked: Lovely quiet location.")
    assert "\nDisliked: Room very warm - unable to turn radiators down." in first.text
    assert first.variant == "Deluxe Double Room" and first.likes == 0 and first.language is None  # lang "xu"
    assert (first.reply_text or "").startswith("Dear Robert, Thank you for sharing your detailed feedback.")
    assert (last.external_id, last.author, last.author_region, last.rating_raw) == ("7961ffc0fac22d71", "Oksana", "Ukraine", 8.0)
    assert last.text == "Liked: Very positive and helpful staff" and last.language == "en"
    assert last.published_at == utc(2026, 2, 20, 11, 0, 45) and last.variant == "Single Room"


def test_google_maps_place_json() -> None:
    ms = adapter("google_maps")(load("google_maps", "raw.json", url="https://www.google.com/maps/place/Kipriakon"))
    assert len(ms) == 8
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.rating_raw) == ("ChdDSUhNMG9nS0VJQ0FnSUNKbVp5Q25nRRAB", "Cristina Dragoi", 5.0)
    assert first.published_at == datetime(2023, 6, 30, 11, 46, 30, 509285, tzinfo=UTC)  # 1688125590509285 µs
    assert first.published_raw == "2 months ago" and first.language == "en"
    assert first.text.startswith("The food we had was AMAZING! We only had two starters")
    assert (last.author, last.published_raw) == ("Lior Zeira", "4 years ago")
    assert last.published_at == datetime(2018, 10, 27, 19, 7, 54, 917081, tzinfo=UTC)
    assert last.text.startswith("Local restaurant in a touristic area")


def test_google_maps_rpc_review_with_owner_reply() -> None:
    (m,) = adapter("google_maps")(load("google_maps", "review_native_with_reply.json", url="https://www.google.com/maps/rpc/listugcposts"))
    assert (m.author, m.rating_raw, m.rating, m.language) == ("E. Ö.", 1.0, 1.0, "de")
    assert m.text.startswith("Ich bin sehr enttäuscht vom Verhalten der Rezeption in dieser Praxis.\n")
    assert m.published_at == datetime(2026, 2, 27, 10, 2, 2, 193853, tzinfo=UTC)
    assert (m.reply_text or "").startswith("Es tut uns sehr leid, dass Sie sich")
    assert m.reply_at == utc(2026, 2, 28, 8, 22, 27)


def test_google_maps_rpc_guard_and_next_token() -> None:
    page = Page(url="https://www.google.com/maps/rpc/listugcposts", text=")]}'\n[null,\"CAESY0\",[]]", now=NOW, tz=ZoneInfo("UTC"))
    assert google_maps.next_page_token(page) == "CAESY0" and adapter("google_maps")(page) == []
    last = Page(url=page.url, text=")]}'\n[null,null,[]]", now=NOW, tz=ZoneInfo("UTC"))
    assert google_maps.next_page_token(last) is None


def test_yelp_graphql_reviews() -> None:
    ms = adapter("yelp")(load("yelp", "reviews.json", url="https://www.yelp.com/biz/vons-1000-spirits-seattle-4"))
    assert len(ms) == 30
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.author_region) == ("BEKMpvESK6PzbN4gbXzntQ", "Anne W.", "Rancho Santa Margarita, CA")
    assert first.text == "The food (Basil Almond Pesto Pasta) is amazing. Service was excellent (Skylar and bar staff)"
    assert (first.rating_raw, first.likes, first.language) == (5.0, 0, "en")
    assert first.published_at == utc(2025, 8, 17, 1, 8, 14)
    assert (last.external_id, last.author, last.author_region, last.rating_raw) == ("N_3-zxYHQmYYqx1IEyRfPA", "Nw C.", "Skokomish, WA", 1.0)
    assert last.published_at == utc(2025, 7, 28, 15, 53, 5)
    assert last.text.startswith("Von's 1000 Spirits - A Disappointing Detour in an Otherwise Lovely Weekend\nWe came up")


def test_yelp_search_api_snippets_and_offset() -> None:
    page = load("yelp", "yelp.json", url="https://api.yelp.com/v2/search?location=Durham")
    ms = adapter("yelp")(page)
    assert len(ms) == 21
    assert ms[0].url == "http://www.yelp.com/biz/fullsteam-brewery-durham"
    assert ms[0].text.startswith("Love this place...its where Durham comes together for great beer!")
    assert ms[0].rating_raw is None  # the 4.5 there is the business's rating
    assert ms[-1].url == "http://www.yelp.com/biz/loaf-durham-2"
    assert yelp.next_search_offset(page, 0) == 21  # total 2771
    assert yelp.next_search_offset(page, 2750) is None


def test_schema_org_jsonld_pages() -> None:
    page = load("schema_org_jsonld", "allrecipescurated.testhtml", url="https://www.allrecipes.com/recipe/133948/")
    ms = adapter("schema_org")(page)
    assert len(ms) == 10
    assert (ms[0].author, ms[0].rating_raw, ms[0].rating_scale, ms[0].published_at) == ("G8RTCHR", 5.0, 5.0, None)
    assert ms[0].text.startswith("This was great - even if I just used the mozzarella and parmesan cheeses.")
    assert ms[-1].author == "Bobbie" and ms[-1].published_at == datetime(2021, 4, 18, 22, 4, 52, 400000, tzinfo=UTC)
    assert schema_org.aggregate_ratings(page) == [{"rating": 4.8, "scale": 5.0, "count": 489.0}]

    page = load("schema_org_jsonld", "pinchofyum.testhtml", tz="America/Chicago", url="https://pinchofyum.com/broccoli-cheese-soup")
    ms = adapter("schema_org")(page)
    assert len(ms) == 15  # the 49 WordPress comments are Comment, not Review
    assert (ms[0].author, ms[0].published_at) == ("Danielle", utc(2020, 9, 8, 5))
    assert ms[0].text.startswith("This has always been my favorite soup and this was such an easy copycat!")
    assert (ms[-1].author, ms[-1].published_at) == ("Donna McPhee", utc(2020, 9, 13, 5))
    assert ms[-1].text == "Made the soup for dinner. It’s a winner! Simple, creamy, and super tasty!"
    assert schema_org.aggregate_ratings(page) == [{"rating": 5.0, "scale": 5.0, "count": 62.0}]


def test_schema_org_on_tripadvisor_jsonld() -> None:
    page = load("tripadvisor", "reviews-www.tripadvisor.com.html", url="https://www.tripadvisor.com/Attraction_Review")
    assert adapter("schema_org")(page) == []  # the JSON-LD there holds only the aggregate
    assert schema_org.aggregate_ratings(page) == [{"rating": 4.5, "scale": 5.0, "count": 34.0}]


MICRODATA = """<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Kettle</span>
<div itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating">
<span itemprop="ratingValue">4.2</span>/<span itemprop="bestRating">5</span> (<span itemprop="reviewCount">12</span>)</div>
<div itemprop="review" itemscope itemtype="https://schema.org/Review">
<span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Ann</span></span>
<meta itemprop="datePublished" content="2024-05-01"><h4 itemprop="name">Fast</h4>
<div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating"><span itemprop="ratingValue">8</span>/<span itemprop="bestRating">10</span></div>
<p itemprop="reviewBody">Boils fast.</p></div></div>"""

RDFA = """<html><body><div vocab="https://schema.org/" typeof="Product"><span property="name">Kettle</span>
<div property="aggregateRating" typeof="AggregateRating"><span property="ratingValue">3.5</span> of <span property="reviewCount">7</span></div>
<div property="review" typeof="Review"><span property="author" typeof="Person"><span property="name">Bo</span></span>
<span property="datePublished">2024-06-02</span><div property="reviewRating" typeof="Rating"><span property="ratingValue">2</span></div>
<p property="reviewBody">Leaks.</p></div></div></body></html>"""


def test_schema_org_microdata_and_rdfa() -> None:
    page = Page(url="https://shop.test/kettle", text=MICRODATA, now=NOW, tz=ZoneInfo("Europe/Berlin"))
    (m,) = adapter("schema_org")(page)
    assert (m.text, m.author, m.title, m.rating_raw, m.rating_scale, m.rating) == ("Boils fast.", "Ann", "Fast", 8.0, 10.0, 4.0)
    assert m.published_at == utc(2024, 4, 30, 22)
    assert schema_org.aggregate_ratings(page) == [{"rating": 4.2, "scale": 5.0, "count": 12.0}]
    page = Page(url="https://shop.test/kettle", text=RDFA, now=NOW, tz=ZoneInfo("UTC"))
    (m,) = adapter("schema_org")(page)
    assert (m.text, m.author, m.rating_raw, m.rating_scale, m.published_at) == ("Leaks.", "Bo", 2.0, 5.0, utc(2024, 6, 2))
    assert schema_org.aggregate_ratings(page) == [{"rating": 3.5, "scale": 5.0, "count": 7.0}]
    assert adapter("schema_org")(Page(url="u", text="<p>no markup</p>", now=NOW, tz=ZoneInfo("UTC"))) == []
