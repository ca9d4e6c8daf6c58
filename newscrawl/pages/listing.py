"""Listing pages: an RSS/Atom feed, a site's archive page, a sitemap (urlset, sitemap index or robots.txt).

Why page objects: a listing is read the same way in a crawl, in a test and from saved bytes, so each page is
built from its URL, its bytes and its headers alone (newscrawl.pages.base: web-poet's shape, nothing of
Scrapy's engine) and gives its fields: `links`, the article links with the listing's own date for each where
it has one, and `next_page`. What to do with them (which links are new, in which order to request them,
what to count and log) is the spider's business (newscrawl.spiders.base).

A crawl hands its response over with `from_response`, so a page is decoded and parsed once; an archive page
too big to parse is never parsed whole (see ArchivePage). Built from bytes alone, a page is decoded as a
crawl decodes it (newscrawl.pages.base.Page.encoding, newscrawl.parsing.encoding).
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar, NamedTuple
from urllib.parse import urljoin

from parsel import Selector

from newscrawl.pages.base import Page, field
from newscrawl.parsing.dates import parse_iso, parse_rfc822, to_tehran_iso
from newscrawl.parsing.htmltext import listing_scan, parse_page
from newscrawl.parsing.selectors import sel

#: list items kept in the tree of a scanned archive page (a few links, as the page had), for its pagination
KEEP_ITEMS = 10
#: the size over which an archive page is scanned, not parsed (a crawl passes NEWSCRAWL_LISTING_STREAM_BYTES)
SCAN_BYTES = 2 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b\x08"


class ListingLink(NamedTuple):
    """An article link of a listing, absolute, with the listing's date for it (Tehran ISO 8601) if any."""

    url: str
    date: str | None = None


class UnreadableListing(ValueError):
    """A listing whose bytes cannot be read at all (a corrupt or oversized gzipped sitemap)."""


class ListingPage(Page):
    """A listing: `links`, and `next_page` (None unless the kind of listing has pages)."""

    #: whether a crawl's parse of the response is reused (a sitemap is read from its unpacked bytes)
    reuse_parse: ClassVar[bool] = True

    @classmethod
    def from_response(cls, response, **options):
        """A crawl's response as this page: its codec, and its parse when the page asks for one (a page
        too big to parse never does)."""
        selector = (lambda: response.selector) if cls.reuse_parse else None
        return cls(response.url, response.body, response.headers, encoding=response.encoding,
                   selector=selector, **options)

    @property
    def selector(self) -> Selector:
        """The page's tree: the crawl's (`selector`, or a function giving it), else parsed from the bytes."""
        if callable(self._selector):
            self._selector = self._selector()
        if self._selector is None:
            self._selector = self.parse()
        return self._selector

    def parse(self) -> Selector:
        return Selector(root=parse_page(self.body, self.encoding, self.url), type="html")

    @field
    def links(self) -> list[ListingLink]:
        raise NotImplementedError

    @field
    def next_page(self) -> str | None:
        return None


class FeedPage(ListingPage):
    """An RSS or Atom feed: every item's link (link text, an alternate link's href, else the guid), with
    its pubDate, published or updated date as the link's date. Read as XML from bytes (a crawl's parse of
    a feed served as HTML is reused as it is)."""

    def parse(self) -> Selector:
        return Selector(body=self.body, type="xml", encoding=self.encoding)

    @field(cached=True)
    def links(self) -> list[ListingLink]:
        feed = self.selector
        feed.remove_namespaces()
        found = []
        for entry in feed.xpath("//item | //entry"):
            link = (entry.xpath("link/text()").get() or entry.xpath(
                'link[not(@rel) or @rel="alternate"]/@href').get() or entry.xpath("guid/text()").get() or "").strip()
            if not link:
                continue
            stamp = entry.xpath("pubDate/text() | published/text() | updated/text()").get()
            published = parse_rfc822((stamp or "").strip())
            found.append(ListingLink(self.urljoin(link), to_tehran_iso(published) if published else None))
        return found


class ArchivePage(ListingPage):
    """A site's archive (listing) page, read with the site's selectors: `links_selector` for its article
    links, `next_selector` for the next page's link.

    A page over `scan_bytes` is scanned for its links without a tree when the selector allows it
    (`parsing.htmltext.listing_scan`: a tree takes about 13 times the page's size, 145 MB for an 11 MB page
    of 100,000 links, and the selectors reading it 68 MB more); the next page is then read from a tree of
    the page without its list items but for the first few. `scanned` says which happened."""

    def __init__(self, url: str, body: bytes, headers=None, *, links_selector: str, next_selector: str = "",
                 scan_bytes: int = SCAN_BYTES, **kwargs):
        super().__init__(url, body, headers, **kwargs)
        self.links_selector = links_selector
        self.next_selector = next_selector
        self.scan_bytes = scan_bytes
        self.scanned = False

    @cached_property
    def hrefs(self) -> list[str]:
        """The links as written, by a scan when the page is too big to parse (its tree is then the rest)."""
        if len(self.body) > self.scan_bytes and _ascii_compatible(self.encoding):
            # the bytes as latin-1, one character a byte: tags are ASCII, the links decoded from its codec
            text = self.body.decode("latin-1")
            scanned = listing_scan(text, self.links_selector, KEEP_ITEMS, self.encoding)
            if scanned is not None:
                hrefs, rest = scanned
                self._selector = Selector(root=parse_page(rest.encode("latin-1"), self.encoding, self.url),
                                          type="html")
                self.scanned = True
                return hrefs
        return sel(self.selector, self.links_selector).getall()

    @field(cached=True)
    def links(self) -> list[ListingLink]:
        return [ListingLink(self.urljoin(href.strip())) for href in self.hrefs]

    @field(cached=True)
    def next_page(self) -> str | None:
        self.hrefs  # noqa: B018 - a scan, when there is one, comes first: it decides the tree read here
        href = sel(self.selector, self.next_selector).get()
        return self.urljoin(href.strip()) if href else None


class SitemapPage(ListingPage):
    """A sitemap: a urlset's pages (news:publication_date, else lastmod, as the link's date), a sitemap
    index's sitemaps, or robots.txt's Sitemap: lines (both as `sitemaps`). A gzipped file is unpacked, up
    to `max_size` bytes (0: no limit); one that cannot be raises UnreadableListing when a field is read."""

    reuse_parse = False

    def __init__(self, url: str, body: bytes, headers=None, *, max_size: int = 0, **kwargs):
        super().__init__(url, body, headers, **kwargs)
        self.max_size = max_size

    @property
    def is_robots(self) -> bool:
        return self.url.endswith("/robots.txt")

    def parse(self) -> Selector:
        body = self.body
        if body[:3] == _GZIP_MAGIC:
            from scrapy.utils.gz import gunzip  # a library function (with a size limit), not the engine

            try:
                body = gunzip(body, max_size=self.max_size)
            except Exception as exc:  # corrupt, or bigger than max_size unpacked
                raise UnreadableListing(f"{type(exc).__name__}: {exc}") from exc
        sitemap = Selector(body=body, type="xml")
        sitemap.remove_namespaces()
        return sitemap

    @field(cached=True)
    def sitemaps(self) -> list[str]:
        """The sitemaps this one points to: a sitemap index's, or robots.txt's."""
        if self.is_robots:
            from scrapy.utils.sitemap import sitemap_urls_from_robots

            return list(sitemap_urls_from_robots(self.body, base_url=self.url))
        locs = self.selector.xpath("//sitemap/loc/text()").getall()
        return [urljoin(self.url, loc.strip()) for loc in locs]

    @field(cached=True)
    def links(self) -> list[ListingLink]:
        if self.is_robots:
            return []
        found = []
        for entry in self.selector.xpath("//url"):
            loc = (entry.xpath("loc/text()").get() or "").strip()
            if not loc:
                continue
            stamp = entry.xpath("news/publication_date/text()").get() or entry.xpath("lastmod/text()").get()
            published = parse_iso((stamp or "").strip())
            found.append(ListingLink(urljoin(self.url, loc), to_tehran_iso(published) if published else None))
        return found


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "<a href='x'>".encode(encoding) == b"<a href='x'>"
    except (LookupError, UnicodeError):
        return False
