"""The fictional brands and places the sandbox sites talk about.

The ids and per-site keys (hotel ids, SKUs, keywords) are part of the spec the
spiders are written against, so they live in one place.
"""

from __future__ import annotations

from typing import Any

SANDBOX_LOCATIONS: tuple[dict[str, Any], ...] = (
    {
        "id": "harbor-sh-bund",
        "name": "Harbor Hotel Shanghai Bund",
        "brand": "harbor",
        "category": "hotel",
        "lat": 31.2397,
        "lon": 121.4905,
        "address": "88 Zhongshan East 1st Road, Huangpu District, Shanghai 200002",
        "region": "shanghai",
        "role": "own",
    },
    {
        "id": "lotus-sh-bund",
        "name": "Lotus Inn The Bund",
        "brand": "lotus",
        "category": "hotel",
        "lat": 31.2330,
        "lon": 121.4850,
        "address": "25 Sichuan Middle Road, Huangpu District, Shanghai 200002",
        "region": "shanghai",
        "role": "competitor",
    },
    {
        "id": "summit-sh-peoples",
        "name": "Summit Suites People's Square",
        "brand": "summit",
        "category": "hotel",
        "lat": 31.2304,
        "lon": 121.4737,
        "address": "170 Xizang Middle Road, Huangpu District, Shanghai 200001",
        "region": "shanghai",
        "role": "competitor",
    },
    {
        "id": "summit-sh-pudong",
        "name": "Summit Suites Pudong Airport",
        "brand": "summit",
        "category": "hotel",
        "lat": 31.1443,
        "lon": 121.8083,
        "address": "6001 Yingbin Avenue, Pudong New Area, Shanghai 201202",
        "region": "shanghai",
        "role": "competitor",
    },
    {
        "id": "harbor-hz-westlake",
        "name": "Harbor Hotel Hangzhou West Lake",
        "brand": "harbor",
        "category": "hotel",
        "lat": 30.2590,
        "lon": 120.1640,
        "address": "78 Hubin Road, Shangcheng District, Hangzhou 310006",
        "region": "hangzhou",
        "role": "own",
    },
    {
        "id": "lotus-hz-westlake",
        "name": "Lotus Inn West Lake",
        "brand": "lotus",
        "category": "hotel",
        "lat": 30.2560,
        "lon": 120.1680,
        "address": "12 Nanshan Road, Shangcheng District, Hangzhou 310002",
        "region": "hangzhou",
        "role": "competitor",
    },
    {
        "id": "summit-hz-wulin",
        "name": "Summit Suites Wulin",
        "brand": "summit",
        "category": "hotel",
        "lat": 30.2750,
        "lon": 120.1630,
        "address": "1 Wulin Square, Gongshu District, Hangzhou 310005",
        "region": "hangzhou",
        "role": "competitor",
    },
    {
        "id": "beanleaf-sh-xintiandi",
        "name": "Bean & Leaf Xintiandi",
        "brand": "beanleaf",
        "category": "restaurant",
        "lat": 31.2196,
        "lon": 121.4750,
        "address": "123 Madang Road, Huangpu District, Shanghai 200021",
        "region": "shanghai",
        "role": "own",
    },
    {
        "id": "kopi-sh-xintiandi",
        "name": "Kopi Corner Xintiandi",
        "brand": "kopi",
        "category": "restaurant",
        "lat": 31.2210,
        "lon": 121.4712,
        "address": "181 Taicang Road, Huangpu District, Shanghai 200021",
        "region": "shanghai",
        "role": "competitor",
    },
    {
        "id": "beanleaf-hz-hubin",
        "name": "Bean & Leaf Hubin",
        "brand": "beanleaf",
        "category": "restaurant",
        "lat": 30.2580,
        "lon": 120.1660,
        "address": "58 Pinghai Road, Shangcheng District, Hangzhou 310006",
        "region": "hangzhou",
        "role": "own",
    },
    {
        "id": "kopi-hz-hubin",
        "name": "Kopi Corner Hubin",
        "brand": "kopi",
        "category": "restaurant",
        "lat": 30.2600,
        "lon": 120.1690,
        "address": "35 Yan'an Road, Shangcheng District, Hangzhou 310006",
        "region": "hangzhou",
        "role": "competitor",
    },
)

LOCATIONS_BY_ID: dict[str, dict[str, Any]] = {loc["id"]: loc for loc in SANDBOX_LOCATIONS}

#: StayAdvisor hotel id per location.
HOTEL_IDS: dict[str, str] = {
    "harbor-sh-bund": "h1001",
    "lotus-sh-bund": "h1002",
    "summit-sh-peoples": "h1003",
    "summit-sh-pudong": "h1004",
    "harbor-hz-westlake": "h2001",
    "lotus-hz-westlake": "h2002",
    "summit-hz-wulin": "h2003",
}

#: Mall product id (SKU) per location.
MALL_SKUS: dict[str, str] = {
    "beanleaf-sh-xintiandi": "100012345",
    "kopi-sh-xintiandi": "100012346",
    "beanleaf-hz-hubin": "100022345",
    "kopi-hz-hubin": "100022346",
}

#: Weibo search keyword per location.
WEIBO_KEYWORDS: dict[str, str] = {
    "harbor-sh-bund": "港湾酒店外滩",
    "lotus-sh-bund": "莲花客栈外滩",
}

#: Forum search keyword per location.
FORUM_KEYWORDS: dict[str, str] = {
    "harbor-hz-westlake": "港湾酒店",
}

RSS_PATH = "/feeds/shanghai-hotels.rss"
RSS_LOCATION = "harbor-sh-bund"

#: Words the text templates substitute per location ({area}, {view}, ...).
LOCAL_WORDS: dict[str, dict[str, str]] = {
    "harbor-sh-bund": {"area": "the Bund", "area_zh": "外滩", "view": "river view", "view_zh": "江景", "city_zh": "上海"},
    "lotus-sh-bund": {"area": "the Bund", "area_zh": "外滩", "view": "river view", "view_zh": "江景", "city_zh": "上海"},
    "summit-sh-peoples": {"area": "People's Square", "area_zh": "人民广场", "view": "city view", "view_zh": "城景", "city_zh": "上海"},
    "summit-sh-pudong": {"area": "the airport terminals", "area_zh": "机场航站楼", "view": "garden view", "view_zh": "园景", "city_zh": "上海"},
    "harbor-hz-westlake": {"area": "West Lake", "area_zh": "西湖", "view": "lake view", "view_zh": "湖景", "city_zh": "杭州"},
    "lotus-hz-westlake": {"area": "West Lake", "area_zh": "西湖", "view": "lake view", "view_zh": "湖景", "city_zh": "杭州"},
    "summit-hz-wulin": {"area": "Wulin Square", "area_zh": "武林广场", "view": "city view", "view_zh": "城景", "city_zh": "杭州"},
}


def source_paths() -> list[str]:
    """Every seed path the sandbox serves, in a stable order (handy for demos)."""
    paths = [f"/hotels/{hid}/reviews" for hid in HOTEL_IDS.values()]
    paths += [f"/api/mall/comments?productId={sku}" for sku in MALL_SKUS.values()]
    paths += [f"/weibo/api/feed?q={kw}" for kw in WEIBO_KEYWORDS.values()]
    paths += [f"/forum/search?kw={kw}" for kw in FORUM_KEYWORDS.values()]
    paths.append(RSS_PATH)
    return paths
