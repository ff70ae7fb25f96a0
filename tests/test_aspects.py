"""nlp.aspects: taxonomy matching in zh/en for every domain, user taxonomies, and the
aspect evaluation script (arithmetic on a hand-made fixture; the real data only if present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.analyze import analyze
from nlp.aspects import DOMAINS, TAXONOMY_DIR, TaxonomyError, load_taxonomy, taxonomy
from nlp.training import evaluate_aspects as ev
from tests.conftest import shared_path


def aspects(text: str, domain: str) -> dict[str, str]:
    (a,) = analyze([text], domain=domain)
    return {x.aspect: x.sentiment for x in a.aspects}


def found(text: str, domain: str) -> set[str]:
    return set(taxonomy(domain).find(text))


@pytest.mark.parametrize(("text", "domain", "want"), [
    ("房间很干净但是前台态度很差", "hotel", {"cleanliness": "positive", "service": "negative"}),
    ("The room was clean and lovely, but the front desk staff were rude.", "hotel",
     {"cleanliness": "positive", "service": "negative"}),
    ("菜很好吃，但是服务员态度很差", "restaurant", {"taste": "positive", "service": "negative"}),
    ("The food was great but the waiter was rude", "restaurant", {"taste": "positive", "service": "negative"}),
    ("质量很好，但是物流太慢了", "ecommerce", {"quality": "positive", "delivery": "negative"}),
    ("Great quality, but the delivery was terribly late.", "ecommerce",
     {"quality": "positive", "delivery": "negative"}),
])
def test_contrast_gives_each_aspect_its_clause_sentiment(text: str, domain: str, want: dict[str, str]) -> None:
    got = aspects(text, domain)
    assert {k: got.get(k) for k in want} == want


@pytest.mark.parametrize(("text", "domain", "want"), [
    ("位置很好找，地铁站出来就到", "restaurant", {"location"}),
    ("排队等了一个小时，上菜也慢", "restaurant", {"waiting"}),
    ("分量很足，价格实惠", "restaurant", {"portion", "price"}),
    ("餐具不太干净", "restaurant", {"hygiene"}),
    ("The bar was loud and the prices were steep", "restaurant", {"environment", "price"}),
    ("We waited 40 minutes for a table", "restaurant", {"waiting"}),
    ("The hostess seated us quickly and the steak was juicy", "restaurant", {"service", "waiting", "taste"}),
    ("隔音不好，晚上很吵", "hotel", {"room", "noise"}),
    ("wifi信号很差", "hotel", {"wifi"}),
    ("Check-in took ages and the lift was broken", "hotel", {"checkin", "facilities"}),
    ("尺码偏小，包装也破了", "ecommerce", {"size_fit", "packaging"}),
    ("Looks like a fake, asked for a refund", "ecommerce", {"authenticity", "customer_service"}),
])
def test_aspects_found(text: str, domain: str, want: set[str]) -> None:
    assert found(text, domain) == want


@pytest.mark.parametrize(("text", "domain", "absent"), [
    ("我们等人到齐了再点菜", "restaurant", "waiting"),  # 等人: "and others" / not a wait
    ("鸡翅、鸭脖等等都不错", "restaurant", "waiting"),
    ("菜单很丰富", "restaurant", "taste"),  # 菜单 is the menu, not the food
    ("这个价位的手机处理器很强", "ecommerce", "customer_service"),  # 处理器 is not 处理
    ("早上起床发现下雨了", "hotel", "room"),  # 起床 holds 床
    ("We placed our order at the counter", "restaurant", "environment"),  # placed is not place
    ("Our waiter was lovely", "restaurant", "waiting"),  # waiter is not wait*
    ("We grabbed fast food after the show", "restaurant", "waiting"),
    ("The mushroom soup", "hotel", "room"),
])
def test_ambiguous_short_terms_do_not_fire(text: str, domain: str, absent: str) -> None:
    assert absent not in found(text, domain)


def test_place_still_fires_and_longest_term_wins() -> None:
    assert taxonomy("restaurant").find("Nice place") == {"environment": ["place"]}
    assert taxonomy("restaurant").find("上菜很快") == {"waiting": ["上菜", "很快"]}
    assert taxonomy("restaurant").find("the waitresses") == {"service": ["waitresses"]}
    assert set(taxonomy("hotel").find("check in was quick")) == set(taxonomy("hotel").find("Check-in was quick")) == {"checkin"}


def test_every_shipped_taxonomy_loads_and_has_both_languages() -> None:
    for domain in DOMAINS:
        tax = taxonomy(domain)
        assert tax.aspects and all(a.zh and a.en for a in tax.aspects), domain
    merged = taxonomy(None)
    assert {"price", "taste", "cleanliness", "delivery", "location"} <= {a.id for a in merged.aspects}


def test_user_taxonomy_adds_aspects_terms_and_ignores(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[aspects.parking]\nlabel = "Parking"\nzh = ["停车"]\nen = ["parking", "car park*"]\n'
        '[aspects.taste]\nzh = ["火候"]\n'
        '[ignore]\nzh = ["停车场旁"]\nen = ["parking ticket"]\n', encoding="utf-8")
    tax = load_taxonomy(TAXONOMY_DIR / "restaurant.toml", extra)
    assert tax.find("停车很方便") == {"parking": ["停车"]}
    assert tax.find("the car parks were full") == {"parking": ["car parks"]}
    assert tax.find("火候正好") == {"taste": ["火候"]}
    assert "parking" not in tax.find("got a parking ticket")
    assert "parking" not in tax.find("就在停车场旁")
    assert tax.find("菜单") == {}  # the shipped ignore list still applies


def test_bad_user_taxonomy_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[ignore]\nzh = "等等"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"ignore\.zh"):
        load_taxonomy(bad)


# ---------------------------------------------------------------------- evaluation script

MAMS_FIXTURE = """<?xml version='1.0' encoding='utf-8'?>
<sentences>
  <sentence><text>The food was great but the waiter was rude.</text><aspectCategories>
    <aspectCategory category="food" polarity="positive"/>
    <aspectCategory category="staff" polarity="negative"/></aspectCategories></sentence>
  <sentence><text>Prices are fair and the music was nice.</text><aspectCategories>
    <aspectCategory category="price" polarity="positive"/>
    <aspectCategory category="menu" polarity="neutral"/></aspectCategories></sentence>
  <sentence><text>We came for a birthday.</text><aspectCategories>
    <aspectCategory category="miscellaneous" polarity="neutral"/>
    <aspectCategory category="ambience" polarity="positive"/></aspectCategories></sentence>
  <sentence><text>Slow service, friendly staff.</text><aspectCategories>
    <aspectCategory category="service" polarity="negative"/>
    <aspectCategory category="staff" polarity="positive"/></aspectCategories></sentence>
</sentences>
"""


def test_evaluate_arithmetic_on_a_fixture(tmp_path: Path) -> None:
    path = tmp_path / "datasets" / "en" / "mams_acsa" / "test.xml"
    path.parent.mkdir(parents=True)
    path.write_text(MAMS_FIXTURE, encoding="utf-8")
    examples = ev.load_mams(path)
    assert [e.gold for e in examples] == [
        {"taste": "positive", "service": "negative"},
        {"price": "positive"},                      # menu is unmapped
        {"environment": "positive"},
        {"service": "conflict"},                    # service negative + staff positive
    ]
    sc = ev.evaluate(examples, "restaurant", ("taste", "service", "price", "environment"))
    # predicted: {taste, service}, {price, environment}, {}, {service}  (waiting on "Slow"
    # is not scored on MAMS) -> tp taste, service, price, service = 4; fp environment = 1;
    # fn environment (sentence 3) = 1
    assert (sum(sc.tp.values()), sum(sc.fp.values()), sum(sc.fn.values())) == (4, 1, 1)
    p, r, f = sc.micro
    assert (p, r) == (0.8, 0.8) and f == pytest.approx(0.8)
    assert sc.aspect("environment") == (0.0, 0.0, 0.0)
    assert sc.aspect("service") == (1.0, 1.0, 1.0)
    # sentiment: taste+, service-, price+ are pos/neg gold; the conflict one is not counted
    assert sc.sent_n == 3 and sc.neutral_n == 0
    assert 0 <= sc.sent_ok <= 3


def test_prf_edge_cases() -> None:
    assert ev.Scores.prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert ev.Scores.prf(1, 1, 3) == (0.5, 0.25, pytest.approx(1 / 3))


def test_run_prints_table_for_the_datasets_present(tmp_path: Path) -> None:
    path = tmp_path / "datasets" / "en" / "mams_acsa" / "test.xml"
    path.parent.mkdir(parents=True)
    path.write_text(MAMS_FIXTURE, encoding="utf-8")
    lines: list[str] = []
    rows = ev.run(tmp_path, out=lines.append)
    assert [(r["dataset"], r["split"], r["n"]) for r in rows] == [("MAMS-ACSA (en)", "test", 4)]
    assert rows[0]["f1"] == pytest.approx(0.8)
    assert any(line.startswith("| MAMS-ACSA (en) | test | 4 | 0.800 | 0.800 | 0.800 |") for line in lines)
    assert any("menu" in line for line in lines)  # unmapped categories are listed
    assert ev.main(["--shared", str(tmp_path / "nowhere")]) == 2


def test_semeval_split_is_fixed_and_mapping_is_honest() -> None:
    assert ev.semeval_split("camera_training", "1") == ev.semeval_split("camera_training", "1")
    assert ev.semeval_map("PHONE#PRICE") == "price" and ev.semeval_map("CAMERA#QUALITY") == "quality"
    assert ev.semeval_map("DISPLAY#QUALITY") is None and ev.semeval_map("SUPPORT#GENERAL") == "customer_service"


def test_real_data_meets_the_target_on_held_out_restaurant_data() -> None:
    shared = shared_path("datasets", "en", "mams_acsa", "test.xml").parents[3]
    shared_path("datasets", "zh", "asap_dev_sample.csv")
    rows = {(r["dataset"], r["split"]): r for r in ev.run(shared, ["test", "dev"], per_aspect=False, out=lambda _: None)}
    assert rows[("MAMS-ACSA (en)", "test")]["f1"] >= 0.75
    assert rows[("ASAP sample (zh)", "dev")]["f1"] >= 0.75
