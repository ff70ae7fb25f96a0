"""Chinese shop adapters (jd, taobao, qunar, dianping) on real pages found in public repositories.

Each fixture folder under ``tests/fixtures/pages`` holds the page byte-for-byte (``input.*``),
``meta.json`` (URL, fetch time, zone, charset, origin repo/path/commit) and ``output.json``
(checked field by field in ``tests/test_fixtures.py``). The expectations below were read off
the raw files, not off parser output: JSON with ``python -c 'json.load(...)'`` over the raw
``rateList`` (counts, first/last rates, placeholders) and ``grep -c '"rateDate":'``. Dates are
Asia/Shanghai wall time, asserted in UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from spiders.pages import registry
from spiders.pages.base import Page
from spiders.pages.registry import Reading

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(rel: str) -> tuple[Page, dict]:
    folder = FIXTURES / rel
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    raw = next(folder.glob("input.*")).read_bytes()
    page = Page(url=meta["url"], text=raw.decode(meta["encoding"]),
                now=datetime.fromisoformat(meta["now"]), tz=ZoneInfo(meta["tz"]))
    return page, meta


def read(rel: str) -> Reading:
    page, meta = load(rel)
    return registry.adapter(meta["site"]).read(page)


# --- Taobao / Tmall -------------------------------------------------------------------------


def test_tmall_rate_list_all_54_pages_joined() -> None:
    """Norcy/Taobao_Comment data.json: page 1's ``rateDetail`` (paginator page 1 of 54,
    rateCount.total 1073) whose ``rateList`` holds the rates of all 54 pages (the repo's
    script appended them). Read off the raw file: 1073 rates with 1073 distinct ids; 45 say
    "此用户没有填写评论!" (Tmall's "no words" placeholder), 34 of those have an appended
    review, so 11 rates carry no words at all; 61 appended reviews; 507 shop replies on the
    rate itself and 47 on the appended review, 552 rates with one or both."""
    r = read("taobao/tmall-lamp-603314107202-all-pages")
    ms = r.mentions
    assert len(ms) == 1073 and len({m.external_id for m in ms}) == 1073
    assert {m.site for m in ms} == {"taobao"} and {m.kind for m in ms} == {"review"}
    assert sum(1 for m in ms if m.text == "") == 11
    assert sum(1 for m in ms if m.text.startswith("追评：")) == 34  # placeholder + follow-up
    assert sum(1 for m in ms if "追评：" in m.text) == 61
    assert not any("此用户没有填写评论" in m.text for m in ms)
    assert sum(1 for m in ms if m.reply_text) == 552
    assert all(m.rating is None for m in ms)  # the rate list carries no star score

    first = ms[0]
    assert (first.external_id, first.author) == ("1082190478546", "曹***宾")
    assert first.text == "灯特别亮 感谢装修师傅了🙏"
    assert (first.published_raw, first.published_at) == ("2020-04-24 15:39:24", utc(2020, 4, 24, 7, 39, 24))
    assert first.variant == "颜色分类:长方形110CM三色分段112W"
    assert first.reply_text.startswith("有时候，一首歌就能让回忆泛滥。") and first.reply_text.endswith("温暖为向。")

    second = ms[1]  # "anony": true, the nick is masked either way
    assert (second.external_id, second.author) == ("1082460968486", "s***1")
    assert second.text == "买了4个；质量很好，很快收到，好安装，亮还省电"
    assert second.published_at == utc(2020, 5, 1, 3, 50, 10)
    assert second.variant == "颜色分类:方形55CM单色白光48W"

    both = ms[74]  # the first rate with words of its own and an appended review, each replied to
    assert both.external_id == "1062228083177"
    body, follow = both.text.split("\n追评：")
    assert body.startswith("质量非常的不错 外观超级好看 好几种款式 性价比很高")
    assert follow.startswith("很好看，安装起来很方便，看起来超级高档")
    reply, follow_reply = both.reply_text.split("\n")
    assert reply.startswith("非常感谢您对罗弗利灯具旗舰店的支持与信赖")
    assert follow_reply.startswith("收到您的好评，我竟不知如何回复才能体现此")

    last = ms[-1]
    assert (last.external_id, last.author) == ("1083005897395", "古***巴")
    assert last.text == "不诚信商家，不诚信商家，不诚信经营企业\n追评：客户就是个骗子"
    assert last.published_at == utc(2020, 5, 3, 9, 6, 12)
    assert last.reply_text is None  # "reply": "" on both the rate and the follow-up

    published = sorted(m.published_at for m in ms)
    assert (published[0], published[-1]) == (utc(2019, 9, 22, 5, 26, 51), utc(2020, 5, 3, 9, 6, 12))
    # page 1 of 54 by its own paginator: the next page is currentPage=2
    assert r.next_url == r.mentions[0].url.replace("currentPage=1", "currentPage=2")
