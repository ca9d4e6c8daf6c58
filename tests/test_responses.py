"""newscrawl.downloadermiddlewares.responses: a crawl's HTML responses are PageResponses, whose selector is the same tree as
Scrapy's, parsed from the bytes by lxml's plain parser."""

from __future__ import annotations

import pytest
from lxml import etree
from scrapy.http import HtmlResponse, Request, TextResponse, XmlResponse
from scrapy.settings.default_settings import DOWNLOADER_MIDDLEWARES_BASE

from newscrawl import settings
from newscrawl.downloadermiddlewares.responses import PageResponse, PageResponseMiddleware
from tests.test_pageindex import PAGES

URL = "https://example.ir/fa/news/1"


def same_tree(body: bytes, headers: dict | None = None) -> None:
    ours = PageResponse(URL, body=body, headers=headers or {}, request=Request(URL))
    scrapys = HtmlResponse(URL, body=body, headers=headers or {}, request=Request(URL))
    assert etree.tostring(ours.selector.root, encoding="unicode") == \
        etree.tostring(scrapys.selector.root, encoding="unicode")
    assert type(ours.selector.root) is etree._Element  # plain lxml elements: no Python lookup per element
    assert ours.selector is ours.selector  # parsed once


@pytest.mark.parametrize("spidercls, body", PAGES)
def test_site_pages_parse_as_scrapy_parses_them(spidercls, body):
    same_tree(body)


def test_awkward_bytes_parse_as_scrapy_parses_them():
    text = "<html><body><p>رئیس\u200cجمهور گفت</p></body></html>"
    same_tree(text.encode("utf-8"))
    same_tree(b"\xef\xbb\xbf" + text.encode("utf-8"))  # a byte order mark
    arabic = text.replace("ی", "ي")  # windows-1256 has the Arabic yeh, not the Persian one
    same_tree(arabic.encode("cp1256"), {"Content-Type": "text/html; charset=windows-1256"})
    same_tree(arabic.encode("cp1256"))  # undeclared: both fall back to the same guess
    same_tree(b"  <html><body><p>a\x00b \xff\xfe c</p></body></html>\n")  # NULs and bytes that are not UTF-8
    same_tree(b"")


def test_the_middleware_recasts_html_only_and_keeps_everything_else():
    middleware = PageResponseMiddleware()
    request = Request(URL)
    html = HtmlResponse(URL, body="<p>ي</p>".encode("cp1256"), encoding="cp1256", status=203,
                        headers={"X-A": "1"}, request=request, flags=["cached"])
    recast = middleware.process_response(request, html)
    assert type(recast) is PageResponse
    assert (recast.url, recast.body, recast.status, recast.encoding, recast.flags, recast.headers["X-A"]) == \
        (html.url, html.body, 203, "cp1256", ["cached"], b"1")
    assert recast.xpath("//p/text()").get() == "ي"
    for other in (XmlResponse(URL, body=b"<rss/>", request=request), TextResponse(URL, body=b"x", request=request),
                  recast):
        assert middleware.process_response(request, other) is other


def test_it_runs_after_decompression_and_before_the_render_check():
    """Responses pass middlewares from the highest number down: decompression re-picks the response class,
    so the recast must come after it, and the render check must see the PageResponse."""
    ours = settings.DOWNLOADER_MIDDLEWARES["newscrawl.downloadermiddlewares.responses.PageResponseMiddleware"]
    decompression = DOWNLOADER_MIDDLEWARES_BASE["scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware"]
    assert settings.DOWNLOADER_MIDDLEWARES["newscrawl.downloadermiddlewares.rendering.RenderMiddleware"] < ours < decompression


def test_a_page_response_keeps_one_index_for_the_render_check_and_the_spider():
    from newscrawl.downloadermiddlewares.responses import page_index

    page = PageResponse(URL, body=b'<div class="body">x</div>', request=Request(URL))
    assert page_index(page) is page_index(page) is page.index
    assert page.index.page is page.selector and page.index.has(".", "body")
    plain = HtmlResponse(URL, body=b'<div class="body">x</div>', request=Request(URL))
    assert page_index(plain) is not page_index(plain) and page_index(plain).page is plain.selector
    assert page.replace(body=b"<p>y</p>").index is not page.index  # a new response, a new index
