"""newscrawl.parsing.pageindex answers site selectors without XPath: it must answer exactly what parsel answers.

Parsel is the reference throughout: every site's selectors on every fixture and real page, every part on
its own, and random pages with random selectors (hypothesis), each compared with `Selector.css`.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from parsel import Selector
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from newscrawl.parsing.pageindex import PageIndex, class_names, plan
from newscrawl.parsing.selectors import _css_parts, sel
from newscrawl.spiders.base import TemplateSpider
from tests.conftest import REALPAGES

SITE_PAGES = Path(__file__).parent / "pages"
REAL = {"tabnak": "tabnak/article-1.html", "isna": "isna/article-1.html"}


def roots(found) -> list:
    """What a result is: its nodes (lxml elements compare by identity) or strings."""
    return [s.root for s in found]


def template_spiders() -> dict[str, type]:
    loader = get_spider_loader(get_project_settings())
    return {name: cls for name in loader.list() if issubclass(cls := loader.load(name), TemplateSpider)}


def pages() -> list:
    """Every site's fixture page and the real pages, as pytest params (a real page that is absent is a
    skip that says where it was looked for)."""
    spiders = template_spiders()
    found = [pytest.param(spiders[p.parent.name], p.read_bytes(), id=f"fixture {p.parent.name}/{p.stem}")
             for p in sorted(SITE_PAGES.glob("*/*.html")) if p.parent.name in spiders]
    for name, rel in REAL.items():
        path = REALPAGES / rel
        found.append(pytest.param(spiders[name], path.read_bytes(), id=f"real {name}") if path.is_file() else
                     pytest.param(None, b"", id=f"real {name}", marks=pytest.mark.skip(
                         reason=f"real page {path} not found (set NEWSCRAWL_REALPAGES to the realpages folder)")))
    return found


PAGES = pages()  # read once, for every test parametrized over the site pages


def test_every_site_declares_a_fixture_page():
    assert set(template_spiders()) == {p.parent.name for p in SITE_PAGES.glob("*/article.html")}


@pytest.mark.parametrize("spidercls, body", PAGES)
def test_site_selectors_give_what_parsel_gives(spidercls, body):
    """Each selector of the site, with and without `first`, on the whole page and inside the container."""
    whole = Selector(body=body, type="html")
    index = PageIndex(whole)
    selectors = spidercls.selector_map()
    scopes = [whole, *sel(whole, selectors.get("container", ""), None, first=True)[:1]]
    checked = 0
    for scope in scopes:
        for key, query in selectors.items():
            if not query or query.startswith(("/", "(")) or key.endswith("_drop"):
                continue
            for first in (False, True):
                assert roots(sel(scope, query, index, first)) == roots(sel(scope, query, None, first)), (key, first)
            for part in _css_parts(query):
                answer = index.select(scope, part)
                if answer is not None:
                    assert roots(answer) == roots(scope.css(part)), part
                    checked += 1
    assert checked > 20  # the index, not parsel, answered most parts


def test_the_index_answers_the_subset_and_declines_the_rest():
    assert plan("h1.Htag") and plan(".body img::attr(src)") and plan("div#main .a.b p::text") and plan("time")
    for outside in ("div > p", "a[href]", "p:not(.ad)", "*", ".a + .b", "h1::attr()", ".x ::text", "a:first-child"):
        assert plan(outside) is None, outside
    page = Selector(text='<div class="a"><p>x</p></div>')
    assert PageIndex(page).select(page, "div > p") is None  # the caller runs parsel
    assert roots(sel(page, ".a > p::text, .missing", PageIndex(page))) == ["x"]


def test_class_names_split_as_xpath_does():
    assert class_names(" a\tb\nc\r d ") == ("a", "b", "c", "d")
    assert class_names("a\u00a0b c") == ("a\u00a0b", "c")  # a no-break space joins, as in normalize-space
    assert class_names("") == ()
    assert class_names("a b a") == ("a", "b")


def test_overlapping_matches_are_left_to_xpath_which_merges_them():
    page = Selector(text='<div class="x"><div class="x"><a>1</a></div><a>2</a></div>')
    assert PageIndex(page).select(page, ".x a::text") is None
    assert sel(page, ".x a::text", PageIndex(page)).getall() == ["1", "2"]  # once each, in page order


def test_a_scope_from_another_page_is_not_answered_from_this_index():
    page, other = Selector(text='<p class="a">1</p>'), Selector(text='<p class="a">2</p>')
    assert PageIndex(page).select(other, ".a") is None


# -- random pages, random selectors ------------------------------------------------------------------------
TAGS = ["div", "p", "span", "a", "h1", "section"]
NAMES = ["a", "b", "c", "body", "news-x"]
SPACES = [" ", "  ", "\t", "\n", "\u00a0"]


@st.composite
def trees(draw, depth=0):
    tag = draw(st.sampled_from(TAGS))
    attrs = ""
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(NAMES), max_size=3))
        sep = draw(st.sampled_from(SPACES))
        attrs += f' class="{draw(st.sampled_from(["", " "]))}{sep.join(names)}"'
    if draw(st.integers(0, 3)) == 0:
        attrs += f' id="{draw(st.sampled_from(NAMES))}"'
    children = draw(st.lists(trees(depth + 1), max_size=0 if depth > 3 else 3))
    text = draw(st.text(string.ascii_letters, max_size=3))
    return f"<{tag}{attrs}>{text}{''.join(children)}</{tag}>"


@st.composite
def compounds(draw):
    tag = draw(st.sampled_from(["", "*", *TAGS]))
    rest = draw(st.lists(st.tuples(st.sampled_from(".#"), st.sampled_from(NAMES)), max_size=2))
    text = tag + "".join(kind + name for kind, name in rest)
    return text if text not in ("", "*") else "div"


@st.composite
def selectors(draw):
    chain = " ".join(draw(st.lists(compounds(), min_size=1, max_size=3)))
    return chain + draw(st.sampled_from(["", "::text", "::attr(class)", "::attr(id)"]))


@settings(max_examples=300, deadline=None)
@given(body=st.lists(trees(), min_size=1, max_size=3), query=selectors(), pick=st.integers(0, 50))
def test_random_pages_and_selectors_agree_with_parsel(body, query, pick):
    page = Selector(text=f"<html><body>{''.join(body)}</body></html>")
    elements = page.xpath("//body//*")
    scope = elements[pick % len(elements)] if elements and pick % 3 else page
    answer = PageIndex(page).select(scope, query)
    assert answer is not None or plan(query).rest is not None  # it declines only overlapping matches
    if answer is not None:
        assert roots(answer) == roots(scope.css(query))


def test_one_index_serves_several_scopes_in_turn():
    page = Selector(text='<div id="a" class="box"><p class="x">1</p></div><div id="b" class="box"><p class="x">2</p>'
                         '<p class="x">3</p></div><p class="x">4</p>')
    index = PageIndex(page)
    a, b = page.css("#a")[0], page.css("#b")[0]
    for scope in (a, b, a, page, b):
        assert roots(index.select(scope, ".x::text")) == roots(scope.css(".x::text"))
    assert [s.get() for s in index.select(b, ".x::text")] == ["2", "3"]


# -- html._dropped: simple drop lists are checked by a walk, which must find what the XPath finds ----------
@pytest.mark.parametrize("spidercls, body", PAGES)
def test_drop_lists_find_what_their_xpath_finds(spidercls, body):
    from parsel.csstranslator import HTMLTranslator

    from newscrawl.parsing import htmltext as html

    page = Selector(body=body, type="html")
    selectors = spidercls.selector_map()
    drops = [q for key, q in selectors.items() if key.endswith("_drop")]
    assert drops
    for drop in [*drops, None]:
        assert isinstance(html._dropper(drop), tuple)  # the walk, not the XPath, serves every site
        xpath = etree.XPath(HTMLTranslator().css_to_xpath(html.ALWAYS_DROP + (", " + drop if drop else "")))
        for element in page.root.iter(etree.Element):
            assert html._dropped(element, drop) == {n for n in xpath(element) if n is not element}


def test_a_drop_list_outside_the_simple_form_is_run_as_xpath():
    from newscrawl.parsing import htmltext as html

    page = Selector(text='<div><p class="a">1</p><span><b>2</b></span><i>3</i></div>')
    div = page.css("div")[0].root
    assert not isinstance(html._dropper("span > b, [data-x]"), tuple)
    assert {n.tag for n in html._dropped(div, "span > b, i")} == {"b", "i"}
