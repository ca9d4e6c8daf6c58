"""Parse saved pages without a crawl: the site's page object (newscrawl.pages) from the bytes, then the
clean-up and checks a crawl's pipelines apply (markup out and URLs made safe, the item schema, the
required fields), so `scrapy extract`, the library, tests and benchmarks give the item a crawl stores.
No Crawler and no spider instance: a spider class is only the site's data. On a host no site spider
declares, the generic spider's pages are read with their CMS family's page when the markup names one
(newscrawl.pages.detect), as a crawl of the generic spider reads them."""

from __future__ import annotations

import functools
import logging
from functools import cached_property
from types import SimpleNamespace
from urllib.parse import urlsplit

from newscrawl.pages import site_page
from newscrawl.pages.base import log_notes
from newscrawl.pages.finish import NotAnArticle, validate

__all__ = ["Extractor", "NotAnArticle", "package_settings", "page_for_url", "spider_for_url", "spider_loader"]

logger = logging.getLogger(__name__)


def spider_for_url(spider_loader, url: str) -> str | None:
    """Name of the site spider whose domains cover the URL's host, else None (`scrapy extract` then
    uses the `generic` spider, which has no domains of its own)."""
    from newscrawl.pages.common import on_domain

    host = (urlsplit(url).hostname or "").lower()
    for name in spider_loader.list():
        if on_domain(host, getattr(spider_loader.load(name), "allowed_domains", None) or []):
            return name
    return None


@functools.cache
def package_settings():
    """The package's own settings (newscrawl.settings and the NEWSCRAWL_* environment it reads), never a
    caller's Scrapy project: the library and page lookups run from any folder."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("newscrawl.settings", priority="project")
    return settings


def page_for_url(url: str | None, loader=None):
    """The article page class for a URL: its site's (by domain), else the generic page."""
    loader = loader or spider_loader(package_settings())
    name = spider_for_url(loader, url) if url else None
    if name is None:
        from newscrawl.pages.generic import GenericArticlePage

        return GenericArticlePage
    return site_page(loader.load(name))


def spider_loader(settings):
    """The spider loader of `settings`, built once per set of spider modules (a crawl asks per page)."""
    from scrapy.spiderloader import get_spider_loader

    key = (str(settings.get("SPIDER_LOADER_CLASS")), tuple(settings.getlist("SPIDER_MODULES")))
    if key not in _LOADERS:
        _LOADERS[key] = get_spider_loader(settings)
    return _LOADERS[key]


_LOADERS: dict[tuple, object] = {}


class Stats(dict):
    """The counters of the pages extracted (Scrapy's stats collector interface, as the pipelines use it)."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count

    def get_value(self, key: str, default=None):
        return self.get(key, default)


class Extractor:
    """A site's page class plus the crawl's clean-up pipelines, reusable for many pages."""

    def __init__(self, spidercls, settings, url: str, loader=None):
        from newscrawl.pipelines.clean import SanitizePipeline, SchemaPipeline

        spidercls.check_args(mode="url", url=url)  # ArgumentError: a URL off the spider's site
        self.spidercls, self.settings, self.url = spidercls, settings, url
        self.page_class = site_page(spidercls)
        self.hints = {"digits": settings.get("NEWSCRAWL_TEXT_DIGITS")}
        #: the generic spider's pages of undeclared hosts are read by their CMS family when detected
        self.detects = spidercls.name == "generic"
        if self.detects:
            self.hints["fast"] = settings.getbool("NEWSCRAWL_GENERIC_FAST")
            self.loader = loader or spider_loader(settings)
        self.counters = Stats()
        counted = SimpleNamespace(stats=self.counters)  # all the pipelines take from a crawler
        self.cleaners = [SanitizePipeline(counted), SchemaPipeline(counted)]

    @property
    def stats(self) -> dict:
        return self.counters

    def extract(self, body: bytes | str, url: str, **hints) -> dict:
        """Item for the page at `url`; raises NotAnArticle with the reason. `hints`: the page's
        (`captured_at`, `listing_date`)."""
        from scrapy.exceptions import DropItem

        page = self.page_class(url, body, **self.hints, **hints)
        if self.detects and spider_for_url(self.loader, url) is None:
            from newscrawl.pages.detect import read_as_family

            page = read_as_family(page) or page
        try:
            item = page.to_item()
        except NotAnArticle as exc:  # the generic page of a home or section page
            self.counters.inc_value(f"newscrawl/{exc.stat}")
            raise
        except Exception as exc:  # a broken page must never stop the caller
            self.counters.inc_value("newscrawl/parse_errors")
            logger.error("cannot parse %s: %s: %s", url, type(exc).__name__, exc)
            raise NotAnArticle("no article found on the page") from None
        finally:
            log_notes(page.notes, logger, self.counters)
        try:
            for cleaner in self.cleaners:
                item = cleaner.process_item(item)
            validate(item)
        except (DropItem, NotAnArticle) as exc:
            if isinstance(exc, NotAnArticle):
                self.counters.inc_value(f"newscrawl/{exc.stat}")
            raise NotAnArticle(f"not an article page: {exc}") from None
        return item

    # -- for tests that drive the crawl's own callback on these pages ---------------------------------
    @cached_property
    def crawler(self):
        """A Crawler for the spider class, counting into `stats`."""
        from scrapy.crawler import Crawler

        crawler = Crawler(self.spidercls, self.settings)
        crawler.stats = self.counters
        return crawler

    @cached_property
    def spider(self):
        spider = self.spidercls.from_crawler(self.crawler, mode="url", url=self.url)
        self.crawler.spider = spider
        return spider
