"""Parse saved pages without a crawl: the same spider callback, loaders and transforming pipelines as
a live crawl, so `scrapy extract`, tests and benchmarks exercise the real path."""

from __future__ import annotations

import inspect
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.misc import build_from_crawler, load_object

from newscrawl.downloadermiddlewares.guards import choose_encoding
from newscrawl.downloadermiddlewares.responses import PageResponse


class NotAnArticle(Exception):
    """The page gave no valid article; the message says why in one line."""


def spider_for_url(spider_loader, url: str) -> str | None:
    """Name of the site spider whose domains cover the URL's host, else None (`scrapy extract` then
    uses the `generic` spider, which has no domains of its own)."""
    from newscrawl.spiders.base import on_domain

    host = (urlsplit(url).hostname or "").lower()
    for name in spider_loader.list():
        if on_domain(host, getattr(spider_loader.load(name), "allowed_domains", None) or []):
            return name
    return None


class Extractor:
    """A spider instance plus its transforming pipelines, reusable for many pages."""

    def __init__(self, spidercls, settings: Settings, url: str):
        self.crawler = Crawler(spidercls, settings)
        self.crawler.stats = MemoryStatsCollector(self.crawler)
        self.spider = spidercls.from_crawler(self.crawler, mode="url", url=url)
        self.crawler.spider = self.spider
        self.pipelines = []
        order = sorted(self.crawler.settings.getdict("ITEM_PIPELINES").items(), key=lambda kv: kv[1])
        for path, _ in order:
            cls = load_object(path)
            if getattr(cls, "transforms", False):
                pipeline = build_from_crawler(cls, self.crawler)
                wants_spider = len(inspect.signature(pipeline.process_item).parameters) >= 2
                self.pipelines.append((pipeline, wants_spider))

    @property
    def stats(self) -> dict:
        return self.crawler.stats.get_stats()

    def extract(self, body: bytes, url: str) -> dict:
        """Item for the page at `url`; raises NotAnArticle with the reason."""
        from scrapy.exceptions import DropItem

        # as a crawl's middlewares make it, read in the encoding its bytes are in (newscrawl.downloadermiddlewares.guards)
        response = PageResponse(url=url, body=body, request=Request(url), encoding=choose_encoding(body).encoding)
        items = [r for r in self.spider.parse_article(response) if not isinstance(r, Request)]
        if not items:
            raise NotAnArticle("no article found on the page")
        item = items[0]
        try:
            for pipeline, wants_spider in self.pipelines:
                item = pipeline.process_item(item, self.spider) if wants_spider else pipeline.process_item(item)
        except DropItem as exc:
            raise NotAnArticle(f"not an article page: {exc}") from None
        return dict(item)
