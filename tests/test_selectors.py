"""newscrawl.parsing.selectors.sel: how a site's selector group is run (first match, union, skipped parts)."""

from parsel import Selector

from newscrawl.parsing.pageindex import PageIndex
from newscrawl.parsing.selectors import _css_parts, _names, sel

PAGE = b"""<html><body>
<div class="news_path"><a>one</a></div>
<div class="subtitle"><img src="/lead.jpg"></div>
<div class="body-wrap"><div class="khabar-matn"><p>text</p><img src="/body.jpg"></div></div>
<span class="fa_date">date</span>
</body></html>"""


def run(query: str, first: bool = False, indexed: bool = True):
    """`sel` on a fresh copy of PAGE, with its PageIndex (as extraction runs it) or parsel alone."""
    page = Selector(body=PAGE, type="html")
    return sel(page, query, PageIndex(page) if indexed else None, first=first)


def test_first_takes_the_first_part_that_matches_in_the_order_written():
    found = run(".missing, .khabar-matn, .subtitle", first=True)
    assert found.xpath("@class").getall() == ["khabar-matn"]  # not .subtitle, which comes first in the page
    found = run(".subtitle, .khabar-matn", first=True)
    assert found.xpath("@class").getall() == ["subtitle"]


def test_without_first_every_part_counts_in_page_order():
    """List fields (images, tags) take what every part finds."""
    assert run(".khabar-matn img::attr(src), .subtitle img::attr(src)").getall() == ["/lead.jpg", "/body.jpg"]


def test_nothing_found_is_an_empty_list_for_both_kinds():
    assert run(".nothing, #none", first=True).getall() == []
    assert run(".nothing, #none").getall() == []
    assert run("").getall() == []


def test_xpath_is_run_as_written():
    assert run('//span[@class="fa_date"]/text()').getall() == ["date"]


def test_a_part_whose_class_is_absent_is_skipped_but_the_rest_still_match():
    # «.body» is a substring of «body-wrap» and of the <body> tag, but no element has the class
    assert run(".body, .khabar-matn", first=True).xpath("@class").get() == "khabar-matn"
    assert run(".gutter_news, .news_path a::text").getall() == ["one"]
    page = Selector(body=PAGE, type="html")
    index = PageIndex(page)
    assert index.has(".", "news_path") and not index.has(".", "body") and not index.has("#", "none")


def test_the_same_result_with_and_without_the_index():
    for query in (".subtitle img::attr(src), .khabar-matn p::text", "div.news_path a::text, span.fa_date::text",
                  ".nothing", "p, img::attr(src)", "div > a::text, .subtitle img::attr(src)"):
        for first in (False, True):
            assert run(query, first).getall() == run(query, first, indexed=False).getall(), query


def test_names_a_selector_requires():
    assert _names(".body img::attr(src)") == ((".", "body"),)
    assert _names("div.linear_news a.title5::attr(href)") == ((".", "linear_news"), (".", "title5"))
    assert _names("#newsMainBody") == (("#", "newsMainBody"),)
    assert _names('a[href*=".x"]') == ()  # inside [..]: not a class
    assert _names("p:not(.ad)") == ()  # excluded, not required
    assert _names("h1") == ()


def test_groups_split_only_at_top_level_commas():
    assert _css_parts('.a, .b[title="x, y"], h1:not(.c, .d)') == (".a", '.b[title="x, y"]', "h1:not(.c, .d)")
