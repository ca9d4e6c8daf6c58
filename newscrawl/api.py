"""`newscrawl.extract(page)`: one saved page → the item a crawl stores, from any folder, without a Scrapy
project. It runs the crawl's own path (newscrawl.offline: the site's page parsing and the transforming
pipelines), so the library, `scrapy extract` and a crawl cannot disagree about an item."""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import urlsplit

from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader

from newscrawl.offline import Extractor, NotAnArticle, package_settings, spider_for_url
from newscrawl.parsing import metadata
from newscrawl.parsing.sanitize import clean_url
from newscrawl.spiders.base import ArgumentError

__all__ = ["Extractors", "NotAnArticle", "extract", "page_url"]


def extract(page: bytes | str, url: str | None = None, site: str | None = None, *,
            captured_at: str | datetime | None = None) -> dict:
    """The item a crawl would store for `page` (its bytes as fetched, or its text, which is not decoded
    again whatever its `<meta charset>` says): normalized, dated, validated, `crawled_at` set to now.

    url: the address the page was fetched from; by default the page's own rel=canonical, else og:url.
    site: a spider name (`scrapy list`); by default the site whose domains cover the URL's host, else
    `generic`, which reads any news page without site selectors; on a host no site declares, `generic`
    reads a page whose markup names a CMS family (IranSamaneh, Nastooh) with that family's selectors
    (newscrawl.pages.detect).
    captured_at: when the page was fetched (an archived copy's date, ISO 8601): a site's template of
    that time reads a page that gives no date of its own.

    Raises NotAnArticle (its message is the reason, in one line) for a page that gives no valid article,
    and ValueError (newscrawl.spiders.base.ArgumentError, the crawl's own) for a call that cannot be
    answered: an unknown site, a URL that is not on the site asked for, or no URL given for a page that
    names none. The settings are the package's own (newscrawl.settings, plus the NEWSCRAWL_* environment
    variables it reads), never the caller's Scrapy project; each site's extractor is built on its first
    use and kept for the process."""
    return _default().extract(page, url, site, captured_at=captured_at)


@functools.cache
def _default() -> Extractors:
    return Extractors(package_settings())


class Extractors:
    """One reusable Extractor per site under the given settings (`scrapy extract` passes the project's,
    with its -s options): built once, on the site's first page, so a loop over saved pages pays only
    for each page's parsing."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.loader = get_spider_loader(settings)
        self._extractors: dict[str, Extractor] = {}
        self._site_of_host: dict[str, str] = {}

    def extract(self, page: bytes | str, url: str | None = None, site: str | None = None, *,
                captured_at: str | datetime | None = None) -> dict:
        """See `newscrawl.extract`."""
        if not url:
            url = page_url(page)
            if not url:
                raise ArgumentError("the page names no URL of its own (rel=canonical, og:url): give its URL")
        name = site or self.site_for(url)
        try:
            spidercls = self.loader.load(name)
        except KeyError:
            raise ArgumentError(f"unknown site {name!r}; known: {', '.join(self.loader.list())}") from None
        spidercls.check_args(url=url)  # the crawl's own rule: a URL off the site is an ArgumentError
        extractor = self._extractors.get(name)
        if extractor is None:
            extractor = self._extractors[name] = Extractor(spidercls, self.settings, url, self.loader)
        return extractor.extract(page, url, **({"captured_at": captured_at} if captured_at else {}))

    def site_for(self, url: str) -> str:
        """The spider for the URL's host (asked once per host), else `generic`."""
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._site_of_host:
            self._site_of_host[host] = spider_for_url(self.loader, url) or "generic"
        return self._site_of_host[host]


def page_url(page: bytes | str) -> str | None:
    """The address the page gives itself: its rel=canonical, else og:url, when absolute http(s) and
    storable (there is no fetched URL to resolve a relative one against)."""
    from newscrawl.pages.base import Page

    selector = Page("about:blank", page).selector  # decoded as a crawl decodes it
    for href in (selector.xpath('//link[@rel="canonical"]/@href').get(), metadata.meta(selector, "og:url")):
        if href and href.strip():
            url, _ = clean_url(href)
            if url:
                return url.split("#", 1)[0]
    return None
