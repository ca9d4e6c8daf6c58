"""newscrawl.spiders.base.sel: how a site's selector group is run (first match, union, skipped parts)."""

from parsel import Selector

from newscrawl.spiders.base import PageNames, _css_parts, _names, sel

PAGE = b"""<html><body>
<div class="news_path"><a>one</a></div>
<div class="subtitle"><img src="/lead.jpg"></div>
<div class="body-wrap"><div class="khabar-matn"><p>text</p><img src="/body.jpg"></div></div>
<span class="fa_date">date</span>
</body></html>"""


def page() -> Selector:
    return Selector(body=PAGE, type="html")


def test_first_takes_the_first_part_that_matches_in_the_order_written():
    found = sel(page(), ".missing, .khabar-matn, .subtitle", PAGE, first=True)
    assert found.xpath("@class").getall() == ["khabar-matn"]  # not .subtitle, which comes first in the page
    found = sel(page(), ".subtitle, .khabar-matn", PAGE, first=True)
    assert found.xpath("@class").getall() == ["subtitle"]


def test_without_first_every_part_counts_in_page_order():
    """List fields (images, tags) take what every part finds."""
    assert sel(page(), ".khabar-matn img::attr(src), .subtitle img::attr(src)", PAGE).getall() == \
        ["/lead.jpg", "/body.jpg"]


def test_nothing_found_is_an_empty_list_for_both_kinds():
    assert sel(page(), ".nothing, #none", PAGE, first=True).getall() == []
    assert sel(page(), ".nothing, #none", PAGE).getall() == []
    assert sel(page(), "", PAGE).getall() == []


def test_xpath_is_run_as_written():
    assert sel(page(), '//span[@class="fa_date"]/text()', PAGE).getall() == ["date"]


def test_a_part_whose_class_is_absent_from_the_source_is_skipped_but_the_rest_still_match():
    # «.body» is a substring of «body-wrap» and of the <body> tag: present, tried, and it matches nothing
    assert sel(page(), ".body, .khabar-matn", PAGE, first=True).xpath("@class").get() == "khabar-matn"
    names = PageNames(PAGE)
    assert sel(page(), ".gutter_news, .news_path a::text", names).getall() == ["one"]
    assert names == {b"gutter_news": False, b"news_path": True}  # each looked up once


def test_the_same_result_with_and_without_the_source():
    for query in (".subtitle img::attr(src), .khabar-matn p::text", "div.news_path a::text, span.fa_date::text",
                  ".nothing", "p, img::attr(src)"):
        assert sel(page(), query, PAGE).getall() == sel(page(), query).getall(), query


def test_names_a_selector_requires():
    assert _names(".body img::attr(src)") == (b"body",)
    assert _names("div.linear_news a.title5::attr(href)") == (b"linear_news", b"title5")
    assert _names("#newsMainBody") == (b"newsMainBody",)
    assert _names('a[href*=".x"]') == ()  # inside [..]: not a class
    assert _names("p:not(.ad)") == ()  # excluded, not required
    assert _names("h1") == ()


def test_groups_split_only_at_top_level_commas():
    assert _css_parts('.a, .b[title="x, y"], h1:not(.c, .d)') == (".a", '.b[title="x, y"]', "h1:not(.c, .d)")
