"""Fuzzing the article parser: mutated real and demo pages (deleted, duplicated and emptied nodes,
shuffled attributes, spliced random bytes, truncation) through the same spider callback and transforming
pipelines as a crawl (newscrawl.offline.Extractor). A page may stop being an article; then Extractor
raises NotAnArticle with the reason (a logged drop in a crawl). It must never raise anything else, never
hit the spider's catch-all for parser bugs, and whatever item comes out is valid and holds no markup."""

from __future__ import annotations

import re

import lxml.html
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scrapy.utils.project import get_project_settings

from newscrawl.offline import Extractor, NotAnArticle
from newscrawl.parsing.encoding import persian_legacy_encoding
from newscrawl.parsing.sanitize import strip_markup
from newscrawl.pipelines.checks import ValidatePipeline
from newscrawl.spiders.sites import TabnakSpider
from testkit.demo.build import BY_ID, render_article

REAL_URL = "https://www.tabnak.ir/fa/news/818242/slug"
#: demo pages: the `scrapy check` page (tags, comments, related news), the seed text, the bad date
DEMO_IDS = (818242, 818240, 818236)
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]")
ISO_TEHRAN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[34]:30")
#: where a template change hits: the article block and the machine-readable metadata
INTERESTING = ("//*[contains(@class, 'gutter_news')]//*", "//meta", "//script[@type='application/ld+json']",
               "//title", "//link[@rel='canonical']")
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def extractor():
    project = get_project_settings()
    return Extractor(TabnakSpider, project, REAL_URL)


# -- mutations ---------------------------------------------------------------------------------------------
index = st.integers(min_value=0, max_value=10_000)
#: what lxml accepts as node text (no control characters); the byte splices bring in everything else
TEXT = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
mutation = st.one_of(
    st.tuples(st.just("delete"), st.booleans(), index),
    st.tuples(st.just("duplicate"), st.booleans(), index),
    st.tuples(st.just("empty"), st.booleans(), index),
    st.tuples(st.just("retext"), st.booleans(), index, st.text(TEXT, max_size=40)),
    st.tuples(st.just("shuffle"), st.booleans(), index, index),
    st.tuples(st.just("bytes"), index, st.binary(min_size=1, max_size=24), st.integers(0, 24)),
    st.tuples(st.just("truncate"), index),
)


def _pick(root, interesting: bool, i: int):
    nodes = [n for xp in INTERESTING for n in root.xpath(xp)] if interesting else []
    nodes = nodes or [n for n in root.iter() if n is not root and isinstance(n.tag, str)]
    return nodes[i % len(nodes)] if nodes else None


def _tree_op(root, node, op) -> None:
    kind = op[0]
    if kind == "delete":
        node.getparent().remove(node)
    elif kind == "duplicate":
        node.addnext(lxml.html.fromstring(lxml.html.tostring(node)))
    elif kind == "empty":
        for child in list(node):
            node.remove(child)
        node.text = None
    elif kind == "retext":
        node.text = op[3]
    elif kind == "shuffle":
        other = _pick(root, op[1], op[3])
        a, b = dict(node.attrib), dict(other.attrib)
        node.attrib.clear()
        other.attrib.clear()
        node.attrib.update(b)
        other.attrib.update(a)


def mutate(page: bytes, ops) -> bytes:
    for op in ops:
        kind = op[0]
        if kind == "bytes":
            _, at, data, cut = op
            at %= len(page) + 1
            page = page[:at] + data + page[at + cut:]
            continue
        if kind == "truncate":
            page = page[: op[1] * len(page) // 10_000]
            continue
        try:
            root = lxml.html.document_fromstring(page)
        except (ValueError, lxml.etree.ParserError):
            continue  # nothing left to parse as a tree; the byte-level mutations still apply
        node = _pick(root, op[1], op[2])
        if node is None or node.getparent() is None:
            continue
        try:
            _tree_op(root, node, op)
        except (ValueError, lxml.etree.ParserError):
            continue  # lxml refuses what a byte splice put in an attribute: skip this one mutation
        page = lxml.html.tostring(root, encoding="utf-8")
    return page


def check(extractor, page: bytes, url: str, record: bool = True) -> dict | None:
    """The fuzz property; returns the item (None for a drop) so the tests can count what they saw."""
    errors = extractor.stats.get("newscrawl/parse_errors", 0)
    try:
        item = extractor.extract(page, url)
    except NotAnArticle as exc:
        assert str(exc)
        if record:  # `--hypothesis-show-statistics` shows the share of items and of each drop reason
            event(f"drop: {str(exc).split(': ')[-1]}")
        item = None
    assert extractor.stats.get("newscrawl/parse_errors", 0) == errors, "the parser raised (see the log)"
    if item is None:
        return None
    if record:
        event("item")
    assert ValidatePipeline(extractor.crawler).process_item(dict(item)) is not None
    assert item["site"] == "tabnak" and item["news_code"].isascii() and item["news_code"].isdigit()
    assert item["url"].startswith("https://www.tabnak.ir/fa/news/")
    assert item["published_at"] is None or ISO_TEHRAN.fullmatch(item["published_at"])
    for field in ("title", "kicker", "lead", "body", "source", "published_at_raw"):
        assert not MARKUP.search(item[field] or ""), (field, item[field])
    for field in ("category", "tags", "images"):
        assert isinstance(item[field], list) and all(isinstance(v, str) and v for v in item[field])
    assert all(p.strip() for p in item["body"].split("\n\n"))
    return item


# -- tests -------------------------------------------------------------------------------------------------
def test_unmutated_pages_are_articles(extractor, realpage):
    """The baseline the fuzzing starts from: every page is an article as it is."""
    assert check(extractor, realpage("tabnak/article-1.html"), REAL_URL, False)["news_code"] == "818242"
    for news_id in DEMO_IDS:
        url = f"https://www.tabnak.ir/fa/news/{news_id}"
        assert check(extractor, render_article(BY_ID[news_id]).encode(), url, False)["news_code"] == str(news_id)


@pytest.mark.parametrize("body", [
    '<div class="body"><p>بند یک</p><div class="wrapper"></div>\x0bبند دو</div>',  # Word's vertical tab
    '<div class="body">\x08بند یک<script>ad()</script> بند دو</div>',
])
def test_control_character_next_to_a_dropped_node(extractor, body):
    """Found by the fuzzing: one stray control byte (Word pastes them) next to a dropped node (an ad
    block, a script) lost the whole article to a parse error."""
    page = render_article(BY_ID[818242]).replace('<div class="body">', body + '<div class="x">', 1)
    item = check(extractor, page.encode(), "https://www.tabnak.ir/fa/news/818242", False)
    assert item is not None and item["body"].startswith("بند یک")


@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_real_page(extractor, realpage, ops):
    check(extractor, mutate(realpage("tabnak/article-1.html"), ops), REAL_URL)


@FUZZ
@given(which=st.sampled_from(DEMO_IDS), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_demo_page(extractor, which, ops):
    check(extractor, mutate(render_article(BY_ID[which]).encode(), ops), f"https://www.tabnak.ir/fa/news/{which}")


@FUZZ
@given(junk=st.binary(max_size=2048))
def test_random_bytes_are_never_an_article(extractor, junk):
    """No news code, no title block: pure noise is a drop, never an item (and never a crash)."""
    assert check(extractor, junk, "https://www.tabnak.ir/fa/news/1") is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("<>/ab =\"'!-sciptyle") + ["ب", "\n"]), max_size=60))
def test_strip_markup_leaves_no_tag(text):
    clean = strip_markup(text)
    assert not re.search(r"<[A-Za-z!?]|</[A-Za-z]", clean)  # an HTML5 tag open: «< a>» is text
    assert strip_markup(clean) == clean


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=512), content_type=st.sampled_from(["", "text/html", "text/html; charset=utf-8"]))
def test_encoding_guess_never_raises(body, content_type):
    assert persian_legacy_encoding(body, content_type) in (None, "cp1256")


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.sampled_from(["گزارش", "پیش\u200cبینی", "چهار", "ژاله", "کتاب", "ایران", "مردم"]),
                      min_size=1, max_size=12))
def test_encoding_guess_recognises_undeclared_windows_1256(words):
    text = " ".join(words).replace("ی", "ي")
    page = f"<html><body><p>{text}</p></body></html>"
    assert persian_legacy_encoding(page.encode("cp1256"), "text/html") == "cp1256"
    assert persian_legacy_encoding(page.encode("utf-8"), "text/html") is None
    declared = page.replace("<html>", '<html><meta charset="windows-1256">').encode("cp1256")
    assert persian_legacy_encoding(declared, "text/html") is None  # Scrapy reads the <meta> itself
