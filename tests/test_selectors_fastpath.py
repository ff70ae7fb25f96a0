"""The selectors page object's shortcuts give the general path's values: a ``::text`` rule
read off the elements' own text nodes, the usual rule without the generators."""

from __future__ import annotations

import pytest
from parsel import Selector

from config.selectors import FieldRule
from spiders.pages import selectors as S

HTML = """<html><body>
<article class="r" id="review-1"><span class="a">Alice</span> <span class="a">Bob</span>
  <p class="t">Hello <b>big</b> again <!-- note --> end</p><p class="t"></p>
  <div class="n">outer <div class="n">inner</div> tail</div>
  <h3 class="t2">  spaced   out\u00a0title </h3><span class="e"><i>only child</i></span>
  <ul><li>one</li><li>two <em>2</em> more</li></ul></article>
</body></html>"""

SELECTS = [".a::text", ".t::text", ".n::text", ".t2::text", ".e::text", "li::text", "li, .a::text", ".missing::text",
           "xpath://p[@class='t']/text()", "xpath:(//li)[2]/text()", "xpath://*[@class='n']/text()", ".t ::text",
           "xpath://comment()/text()", ".r::text"]


def _general(node: Selector, rule: FieldRule) -> str | None:
    return S._pick(S._html_matches(node, rule.select, rule.html), rule) or None


@pytest.mark.parametrize("select", SELECTS)
@pytest.mark.parametrize("html", [False, True])
def test_usual_rule_shortcuts_give_the_general_value(select: str, html: bool) -> None:
    item = Selector(text=HTML).css("article")[0]
    rule = FieldRule(select, html=html)
    assert S._html_value(item, rule) == _general(item, rule)


def test_text_groups_decline_nested_matches() -> None:
    item = Selector(text=HTML).css("article")[0]
    xpath = S._text_children_xpath(".n::text")
    assert xpath is not None and S._text_groups(item, xpath) is None  # an .n inside an .n: general path
    assert S._text_groups(item, S._text_children_xpath(".t::text")) == [["Hello ", " again ", " end"]]
    assert S._text_children_xpath("li, .a::text") is None  # a union
    assert S._text_children_xpath(".body") is None  # no text() step
