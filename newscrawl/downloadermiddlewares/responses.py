"""HTML responses parsed once, from their bytes, by lxml's plain parser.

Why: Scrapy's `response.selector` decodes the body to text for parsel to encode it back, and parses with
lxml.html's parser, which makes every element's Python object through a Python callback; on a real
article these cost a fifth of extraction (issue 7's profile). `PageResponse.selector` gives the same
tree (the same libxml2 parser and options, and parsel's own clean-up of the bytes: NULs, surrounding
space, undecodable bytes replaced) with lxml's plain element objects, and caches it like Scrapy does,
so the render check, the spider callback and the item loader share one parse (and one PageIndex).

`PageResponseMiddleware` recasts every HtmlResponse of a crawl into a PageResponse
(`response.replace(cls=...)`, Scrapy's documented way to change a response's class).
"""

from __future__ import annotations

from scrapy.http import HtmlResponse
from scrapy.selector import Selector

from newscrawl.parsing.htmltext import parse_page
from newscrawl.parsing.pageindex import PageIndex


def parse(response) -> Selector:
    """The response's page, parsed from its bytes (see the module docstring)."""
    return Selector(root=parse_page(response.body, response.encoding, response.url), type="html")


class PageResponse(HtmlResponse):
    """An HtmlResponse whose `selector` is `parse(self)` and whose `index` is its PageIndex, each built on
    first use and kept."""

    __slots__ = ("_index",)

    @property
    def selector(self) -> Selector:
        if self._cached_selector is None:
            self._cached_selector = parse(self)
        return self._cached_selector

    @property
    def index(self) -> PageIndex:
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = PageIndex(self.selector)
        return index


def page_index(response) -> PageIndex:
    """The response's PageIndex: a PageResponse's own, else a new one."""
    return response.index if isinstance(response, PageResponse) else PageIndex(response.selector)


class PageResponseMiddleware:
    """Downloader middleware: HTML responses become PageResponses (other kinds are left alone)."""

    def process_response(self, request, response):
        if type(response) is HtmlResponse:
            return response.replace(cls=PageResponse)
        return response
