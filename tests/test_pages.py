"""Page objects (newscrawl.pages): built from bytes alone, fields in the item's order, what they notice, the
one validity rule, and template versions chosen by date (Tabnak's 2018 layout and its later one)."""

import json
import logging
import re
from pathlib import Path

import pytest

from newscrawl.items import FIELDS
from newscrawl.offline import page_for_url
from newscrawl.pages import site_page
from newscrawl.pages.base import Page, field
from newscrawl.pages.finish import NotAnArticle, validate
from newscrawl.pages.generic import GenericArticlePage
from newscrawl.spiders.sites import IsnaSpider, TabnakSpider, YjcSpider
from testkit.demo.build import ARTICLES, render_article

LATER = Path(__file__).parent / "pages" / "tabnak" / "layout-2024.html"
LATER_URL = "https://www.tabnak.ir/fa/news/1245678/rain"


def later_page(**hints):
    return site_page(TabnakSpider)(LATER_URL, LATER.read_bytes(), **hints)


def undated(html: str) -> str:
    """The later page without any date of its own (no JSON-LD, no date line)."""
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    return re.sub(r'<div class="news_pdate_c">.*?</div>', "", html)


# -- the page-object shape -----------------------------------------------------------------------------
def test_fields_are_collected_in_declaration_order_and_overrides_keep_their_place():
    class One(Page):
        @field
        def b(self):
            return 1

        @field(cached=True)
        def a(self):
            return [2]

    class Two(One):
        @field
        def b(self):
            return 3

        @field
        def c(self):
            return self.a

    page = Two("https://example.com/", b"<html></html>")
    assert Two.fields == ("b", "a", "c")
    assert page.to_item() == {"b": 3, "a": [2], "c": [2]}
    assert page.a is page.a  # cached: computed once


def test_an_article_page_gives_the_items_fields_in_its_order():
    page = later_page()
    assert type(page).fields == FIELDS
    assert list(page.to_item()) == list(FIELDS)


def test_a_page_is_built_from_text_and_picked_by_domain_without_a_crawler():
    html = LATER.read_text(encoding="utf-8")
    assert page_for_url("https://tabnak.ir/fa/news/1245678").__name__ == "TabnakArticlePage"
    assert page_for_url("https://www.yjc.news/fa/news/1").__name__ == "YjcArticlePage"
    assert page_for_url("https://example.com/news/12345") is GenericArticlePage
    assert page_for_url(None) is GenericArticlePage
    item = page_for_url(LATER_URL)(LATER_URL, html).to_item()
    assert item["title"] == "بارش باران در ۱۸ استان کشور"
    assert "تازه\u200cای" in item["body"]  # the ZWNJ survives


def test_the_site_page_is_the_family_page_plus_the_sites_data():
    page_class = site_page(YjcSpider)
    assert page_class.__mro__[1].__name__ == "IranSamanehArticlePage"
    assert page_class.site_name == "yjc" and page_class.domains == ("www.yjc.news", "yjc.ir", "yjc.news")
    assert site_page(IsnaSpider).selectors["body"] == IsnaSpider.selectors["body"]
    # a crawl against a copy of the site (the local test site) makes URLs there
    local = site_page(TabnakSpider, "http://127.0.0.1:8000")
    assert local(LATER_URL, LATER.read_bytes()).url == "http://127.0.0.1:8000/fa/news/1245678"


def test_a_news_code_unlike_the_urls_is_noted():
    page = site_page(TabnakSpider)("https://www.tabnak.ir/fa/news/999/x", LATER.read_bytes())
    assert page.to_item()["news_code"] == "1245678"  # the page's own code wins
    assert [(n.stat, n.level) for n in page.notes] == [("news_code_mismatch", logging.WARNING)]


def test_the_generic_page_of_a_home_page_is_not_an_article():
    home = "<html><head><title>خانه</title></head><body><h1>خانه</h1><p>متن</p></body></html>"
    with pytest.raises(NotAnArticle) as caught:
        GenericArticlePage("https://example.com/", home).to_item()
    assert caught.value.stat == "dropped/not_article"
    assert str(caught.value).startswith("not an article page")


@pytest.mark.parametrize(("change", "reason", "stat"), [
    ({"title": " "}, "missing title", "dropped/missing_title"),
    ({"body": None}, "missing body", "dropped/missing_body"),
    ({"news_code": "۱۲۳"}, "bad news_code", "dropped/bad_news_code"),
])
def test_validate_raises_one_exception_with_the_reason(change, reason, stat):
    item = {"site": "tabnak", "news_code": "123", "url": "https://www.tabnak.ir/fa/news/123", "title": "عنوان",
            "body": "متن"}
    validate(item)  # a good item passes
    with pytest.raises(NotAnArticle, match=f"^{reason}$") as caught:
        validate({**item, **change})
    assert caught.value.stat == stat


# -- template versions by date -----------------------------------------------------------------------------
def test_the_later_tabnak_page_is_read_with_the_later_template():
    expected = json.loads(LATER.with_suffix(".json").read_text(encoding="utf-8"))["item"]
    item = later_page().to_item()
    for varying in ("crawled_at", "captured_at", "story_id", "copy_of"):  # the time of the run; set when stored
        item.pop(varying)
    assert item == expected
    assert item["tags"] == ["هواشناسی", "باران"] and item["category"] == ["اجتماعی"]


def test_a_2018_tabnak_page_is_read_with_the_2018_template():
    article = next(a for a in ARTICLES if a.id == 818242)
    page = site_page(TabnakSpider)(f"https://www.tabnak.ir/fa/news/{article.id}", render_article(article))
    assert page.version_date().isoformat() == "2018-07-21"
    assert page.template_variant() == {}
    assert page.s == TabnakSpider.selector_map()


@pytest.mark.parametrize(("captured_at", "tags", "category"), [
    ("2018-07-21T10:00:00+04:30", [], []),  # an archived copy from 2018: the 2018 selectors find neither
    ("2024-07-12T09:00:00+03:30", ["هواشناسی", "باران"], ["اجتماعی"]),
    (None, ["هواشناسی", "باران"], ["اجتماعی"]),  # no date at all: today's template
])
def test_a_page_without_its_own_date_is_read_by_its_capture_date(captured_at, tags, category):
    page = site_page(TabnakSpider)(LATER_URL, undated(LATER.read_text(encoding="utf-8")), captured_at=captured_at)
    item = page.to_item()
    assert (item["tags"], item["category"]) == (tags, category)
    assert item["published_at"] is None and item["title"] == "بارش باران در ۱۸ استان کشور"


def test_the_pages_own_date_beats_its_capture_date():
    """A 2024 article fetched in 2018 cannot be; a 2018 article captured in 2024 (a backfill from an
    archive) was published with the 2018 template: the page's own date decides."""
    page = later_page(captured_at="2018-07-21T10:00:00+04:30")
    assert page.version_date().isoformat() == "2024-07-11"
    assert page.to_item()["tags"] == ["هواشناسی", "باران"]
