"""``element_text`` reads a parsed element exactly as ``html_text`` reads its serialised HTML
(the selectors page object's text of an element), without the serialise-and-tokenise round trip."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from spiders.pages.base import html_selector
from spiders.pages.htmltext import element_text, html_text

TAGS = ["p", "div", "span", "b", "br", "td", "th", "tr", "table", "li", "ul", "a", "em", "h3", "hr", "section",
        "img", "pre", "script", "style", "my-el", "foo", "blockquote", "wbr", "textarea", "title", "svg"]
TEXTS = ["hello", "  ", "\n", "a  b", "&amp;", "&lt;b&gt;", "\xa0", "x\u3000y", "\r\n", "\t", "<3", "a<b and c>d",
         "é", "😀", "&nbsp;", "\u2028", "&#10;", " z ", "<!-- c -->", "<?pi x?>", "中文", "&#xD83D;&#xDE00;"]
ATTRS = ["", ' class="x"', ' href="/a?b=1&amp;c=2"', ' title="a\nb"', " data-x='q\"'", ' alt="  al  t "',
         ' id="r-1"', ' data-y="<pre>x</pre>"', ' style="' + "x" * 5000 + '"']


def fragments() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(TEXTS)
    return st.recursive(
        leaf,
        lambda inner: st.tuples(st.sampled_from(TAGS), st.sampled_from(ATTRS), st.lists(inner, max_size=4)).map(
            lambda t: f"<{t[0]}{t[1]}>{''.join(t[2])}</{t[0]}>"),
        max_leaves=12)


def _serialised(el: etree._Element) -> str:
    return html_text(etree.tostring(el, method="html", encoding="unicode", with_tail=False))


@settings(max_examples=400, deadline=None)
@given(st.lists(fragments(), max_size=4))
def test_element_text_is_html_text_of_the_serialised_element(parts: list[str]) -> None:
    root = html_selector(f"<html><body><div class='review'>{''.join(parts)}</div></body></html>").root
    for el in root.iter():
        if isinstance(el.tag, str):
            assert element_text(el) == _serialised(el)


def test_layout_of_a_review_body() -> None:
    root = html_selector("<div class='body'><p>Great  room,\n quiet.</p><p>Staff <b>very</b> kind</p>"
                         "<!-- ad --><table><tr><td>Pros</td><td>view</td></tr></table>tail</div>").root
    el = root.xpath("//div")[0]
    assert element_text(el) == "Great room, quiet.\nStaff very kind\nPros view\ntail" == _serialised(el)


def test_unusual_trees_take_the_serialising_path() -> None:
    """``<pre>`` keeps its spacing, an ``<img>`` its alt text, a script is not read."""
    root = html_selector("<div><pre>a\n  b</pre><img alt='[smile]'><script>var x=1</script>ok</div>").root
    el = root.xpath("//div")[0]
    assert element_text(el) == _serialised(el) == "a\nb\n[smile]ok"  # clean_text trims line starts
