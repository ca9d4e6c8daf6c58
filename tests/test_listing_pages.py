"""Listing pages (newscrawl.pages.listing) built from bytes alone, and how spiders tell middlewares what a
request is (request meta, newscrawl.spiders.base.BaseSpider): the render check, the redirect guard and the
listing backlog read the meta, never the spider's methods."""

from __future__ import annotations

import gzip
import re

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from newscrawl.downloadermiddlewares.guards import ResponseGuardMiddleware, news_code
from newscrawl.downloadermiddlewares.rendering import RenderMiddleware
from newscrawl.pages.generic import url_news_code
from newscrawl.pages.listing import ArchivePage, FeedPage, ListingLink, SitemapPage, UnreadableListing
from newscrawl.spiders.generic import CODE_RE, GenericSpider
from newscrawl.spiders.sites import TabnakSpider

ZWNJ = "\u200c"

RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>خبر</title>
<item><title>یک</title><link>https://www.example.ir/fa/news/50001/می{ZWNJ}شود</link>
<pubDate>Sat, 21 Jul 2018 08:39:54 +0430</pubDate></item>
<item><title>دو</title><guid>/fa/news/50002</guid></item>
<item><title>بی‌پیوند</title></item>
</channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="alternate" href="https://example.com/news/50001/one"/><published>2024-11-24T09:15:00Z</published></entry>
<entry><link rel="edit" href="https://example.com/edit/1"/><link href="/news/50002/two"/>
<updated>2024-11-24T10:00:00+03:30</updated></entry>
</feed>"""


def test_rss_feed_gives_links_with_their_dates():
    page = FeedPage("https://www.example.ir/fa/rss/allnews", RSS, {"Content-Type": "application/rss+xml"})
    assert page.links == [
        ListingLink(f"https://www.example.ir/fa/news/50001/می{ZWNJ}شود", "2018-07-21T08:39:54+04:30"),
        ListingLink("https://www.example.ir/fa/news/50002", None),  # the guid, read against the feed's URL
    ]
    assert page.next_page is None
    assert page.to_item() == {"links": page.links, "next_page": None}


def test_atom_feed_takes_the_alternate_link():
    page = FeedPage("https://example.com/atom.xml", ATOM)
    assert page.links == [ListingLink("https://example.com/news/50001/one", "2024-11-24T12:45:00+03:30"),
                          ListingLink("https://example.com/news/50002/two", "2024-11-24T10:00:00+03:30")]


def archive(items: int, base: str = "") -> bytes:
    links = "".join(f'<div class="linear_news"><a class="title5" href="/fa/news/{60000 + k}/خبر{ZWNJ}{k}">'
                    f"خبر {k}</a></div>" for k in range(1, items + 1))
    return (f"<html><head>{base}<title>آرشیو</title></head><body><div class='archive_content'>{links}</div>"
            "<div class='pagination'><a href='?page=1'>◄</a><a href='?page=3'>►</a></div></body></html>").encode()


SELECTORS = {"links_selector": TabnakSpider.selector_map()["archive_links"],
             "next_selector": TabnakSpider.selector_map()["archive_next"]}


def test_archive_page_links_and_next_page():
    page = ArchivePage("https://www.tabnak.ir/fa/archive?page=2", archive(3), **SELECTORS)
    assert [link.url for link in page.links] == [f"https://www.tabnak.ir/fa/news/6000{k}/خبر{ZWNJ}{k}"
                                                 for k in (1, 2, 3)]
    assert page.next_page == "https://www.tabnak.ir/fa/archive?page=3"
    assert page.scanned is False


def test_archive_page_reads_links_against_its_base_href():
    body = archive(1, '<base href="https://copy.example.org/mirror/">')
    page = ArchivePage("https://www.tabnak.ir/fa/archive", body, **SELECTORS)
    assert page.links == [ListingLink(f"https://copy.example.org/fa/news/60001/خبر{ZWNJ}1")]
    assert page.next_page == "https://copy.example.org/mirror/?page=3"


def test_huge_archive_page_is_scanned_with_the_same_links_and_next_page():
    body = archive(400)
    parsed = ArchivePage("https://www.tabnak.ir/fa/archive", body, **SELECTORS)
    scanned = ArchivePage("https://www.tabnak.ir/fa/archive", body, scan_bytes=len(body) - 1, **SELECTORS)
    assert scanned.links == parsed.links and len(scanned.links) == 400
    assert scanned.links[-1].url == f"https://www.tabnak.ir/fa/news/60400/خبر{ZWNJ}400"
    assert scanned.next_page == "https://www.tabnak.ir/fa/archive?page=3"
    assert (scanned.scanned, parsed.scanned) == (True, False)
    # the tree the next page was read from holds a few list items, not 400
    assert len(scanned.selector.css("div.linear_news")) < 20


def test_huge_archive_page_with_an_xpath_selector_is_parsed():
    body = archive(50)
    page = ArchivePage("https://www.tabnak.ir/fa/archive", body, scan_bytes=10,
                       links_selector="//div[@class='linear_news']/a/@href")
    assert len(page.links) == 50 and page.scanned is False


def test_archive_page_of_a_crawl_reuses_its_parse_unless_it_scans():
    body = archive(5)
    response = HtmlResponse("https://www.tabnak.ir/fa/archive", body=body)
    page = ArchivePage.from_response(response, **SELECTORS)
    assert len(page.links) == 5 and page.selector is response.selector
    huge = HtmlResponse("https://www.tabnak.ir/fa/archive", body=body)
    page = ArchivePage.from_response(huge, scan_bytes=100, **SELECTORS)
    assert len(page.links) == 5 and huge._cached_selector is None  # the whole page was never parsed


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://example.com/fa/news/70001</loc>
<news:news><news:publication_date>2024-11-24T08:00:00+03:30</news:publication_date></news:news></url>
<url><loc> https://example.com/fa/news/70002 </loc><lastmod>2024-11-23</lastmod></url>
<url><loc>https://example.com/fa/news/70003</loc></url>
</urlset>"""
INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://example.com/s1.xml.gz</loc></sitemap><sitemap><loc>/s2.xml</loc></sitemap></sitemapindex>"""


def test_sitemap_urlset_index_gzip_and_robots():
    page = SitemapPage("https://example.com/news.xml.gz", gzip.compress(URLSET))
    assert page.links == [ListingLink("https://example.com/fa/news/70001", "2024-11-24T08:00:00+03:30"),
                          ListingLink("https://example.com/fa/news/70002", "2024-11-23T00:00:00+03:30"),
                          ListingLink("https://example.com/fa/news/70003", None)]
    assert page.sitemaps == []
    index = SitemapPage("https://example.com/sitemap.xml", INDEX)
    assert index.sitemaps == ["https://example.com/s1.xml.gz", "https://example.com/s2.xml"]
    assert index.links == []
    robots = SitemapPage("https://example.com/robots.txt", b"User-agent: *\nSitemap: /sitemap.xml\n")
    assert robots.to_item() == {"links": [], "next_page": None,
                                "sitemaps": ["https://example.com/sitemap.xml"]}


def test_corrupt_or_oversized_gzip_sitemap_is_unreadable():
    with pytest.raises(UnreadableListing):
        SitemapPage("https://example.com/s.xml.gz", b"\x1f\x8b\x08not really gzip").to_item()
    with pytest.raises(UnreadableListing, match="DecompressionMaxSizeExceeded"):
        SitemapPage("https://example.com/s.xml.gz", gzip.compress(URLSET), max_size=100).to_item()


def test_archive_page_from_undeclared_windows_1256_bytes():
    """Bytes alone are read as a crawl reads them (newscrawl.parsing.encoding): Persian in windows-1256."""
    body = ("<html><body><div class='linear_news'><a class='title5' href='/fa/news/60001/خبر'>خبر فوري "
            "درباره بازار امروز تهران</a></div></body></html>").encode("cp1256")  # Arabic ي: cp1256 has no ی
    page = ArchivePage("https://www.tabnak.ir/fa/archive", body, **SELECTORS)
    assert page.encoding == "cp1256"
    assert page.links == [ListingLink("https://www.tabnak.ir/fa/news/60001/خبر")]


# -- what spiders tell middlewares -------------------------------------------------------------------------
def tabnak():
    return TabnakSpider.from_crawler(get_crawler(TabnakSpider), mode="url",
                                     url="https://www.tabnak.ir/fa/news/818242")


def test_site_spider_marks_its_requests():
    spider = tabnak()
    article = spider.request("https://www.tabnak.ir/fa/news/1", spider.parse_article, "article")
    assert article.meta == {
        "newscrawl_page": "article", "newscrawl_code_re": r"/fa/news/(\d+)",
        "newscrawl_expect": (".body, #newsMainBody, .khabar-matn, .baznashr-body",
                             "h1.Htag, h1.Htags, .title h1, h1.title, .title-news, .news-title")}
    listing = spider.request("https://www.tabnak.ir/fa/archive", spider.parse_archive, "listing",
                             meta={"x": 1})
    assert listing.meta == {"newscrawl_page": "listing", "x": 1, "newscrawl_expect": (
        "div.linear_news a.title5::attr(href), div.archive_content a.title5::attr(href)",)}
    feed = spider.request("https://www.tabnak.ir/fa/rss/allnews", spider.parse_rss, "feed")
    assert feed.meta == {"newscrawl_page": "feed"}


def test_generic_spider_marks_its_requests():
    spider = GenericSpider.from_crawler(get_crawler(GenericSpider), url="https://example.com/a/12345")
    with_id = spider.request("https://example.com/a/12345", spider.parse_article, "article")
    assert with_id.meta == {"newscrawl_page": "article", "newscrawl_code_re": CODE_RE}
    without = spider.request("https://example.com/story/slug", spider.parse_article, "article")
    assert without.meta == {"newscrawl_page": "article"}  # the guard compares whole URLs


@pytest.mark.parametrize("url, code", [
    ("https://example.com/fa/news/818242/slug", "818242"),
    ("https://example.com/818242.html?page=12345", "818242"),
    ("https://example.com/a/12345/b/67890/c", "67890"),  # the last one
    ("https://example.com/a/1234/b", None),
    ("https://example.com/a/12345x/b?id=5555", None),
    ("https://example.com/read?cat=2&id=98765&p=11111", "98765"),  # the first query value
    ("https://example.com/read?a=b=12345", None),
    ("https://example.com/12345.abcdefgh", None),
    ("https://example.com/story#p12345", None),
])
def test_code_re_is_the_generic_url_rule(url, code):
    assert news_code(CODE_RE, url) == code
    assert url_news_code(url) == code


class Other(Spider):
    """A spider that has none of newscrawl's methods or attributes: the middlewares need none."""

    name = "other"

    def parse_archive(self, response):
        pass


@pytest.fixture
def render():
    crawler = get_crawler(Other, {"NEWSCRAWL_RENDER_AUTO": True, "NEWSCRAWL_RENDER_SHELL_TEXT": 200})
    crawler.spider = Other()
    return RenderMiddleware(crawler)


def test_render_middleware_reads_the_kind_of_page_from_meta(render):
    spider = Other()
    named = Request("http://127.0.0.1/l", callback=spider.parse_archive)  # a callback's name means nothing
    assert render.page_kind(named) is None
    marked = Request("http://127.0.0.1/l",
                     meta={"newscrawl_page": "listing", "newscrawl_expect": ("a.x::attr(href)",)})
    assert render.page_kind(marked) == "listing"
    assert render.page_kind(Request("http://127.0.0.1/f", meta={"newscrawl_page": "feed"})) is None
    render.kinds = {"listing"}
    render.process_request(marked)
    assert marked.meta["playwright"] is True and marked.meta["newscrawl_render_wait"] == "a.x"


def redirected(meta: dict, start: str, final: str):
    request = Request(final, meta={**meta, "redirect_urls": [start]})
    return request, HtmlResponse(final, body=b"<html><body><p>x</p></body></html>", request=request)


def test_redirect_guard_reads_what_the_request_is_from_meta():
    guard = ResponseGuardMiddleware(get_crawler(Other))
    article = {"newscrawl_page": "article", "newscrawl_code_re": r"/fa/news/(\d+)"}
    with pytest.raises(IgnoreRequest, match="redirected away"):
        guard.process_response(*redirected(article, "http://h/fa/news/700022", "http://h/"))
    # the same article at another address (https, a slug) passes
    request, response = redirected(article, "http://h/fa/news/700022", "https://h/fa/news/700022/slug")
    assert guard.process_response(request, response).url == "https://h/fa/news/700022/slug"
    # a redirected feed is no article: followed
    request, response = redirected({"newscrawl_page": "feed"}, "http://h/rss", "http://h/feed/")
    assert guard.process_response(request, response).url == "http://h/feed/"
    # without a code rule: another URL is another page, the same one (scheme, www.) is not
    plain = {"newscrawl_page": "article"}
    with pytest.raises(IgnoreRequest):
        guard.process_response(*redirected(plain, "http://example.com/story/a", "http://example.com/story/b"))
    request, response = redirected(plain, "http://example.com/story/a", "https://www.example.com/story/a")
    assert guard.process_response(request, response) is not None


def test_middlewares_do_not_reach_into_spiders():
    """No middleware module names a spider method or attribute any more."""
    import inspect

    from newscrawl.downloadermiddlewares import guards, rendering
    from newscrawl.spidermiddlewares import listings

    for module in (guards, rendering, listings):
        source = inspect.getsource(module)
        assert not re.search(r"spider\.(sel_map|root|options|news_code_from_url|parse_article)\b|"
                             r"\"parse_(archive|article)\"", source), module.__name__
