"""Huge listing pages: their article links requested as the crawl drains, and never decoded whole.

A listing page with 100,000 article links took a crawl from about 115 MB to 586 MB (issue 13). Measured
on such a page (11 MB): its lxml tree takes 145 MB, the selectors that read the links 68 MB more, and the
100,000 Scrapy Requests in the scheduler's memory queue about 90 MB (400 bytes each and a cached
fingerprint). So three parts:

- the archive page (newscrawl.pages.listing.ArchivePage) reads the links of a page over
  NEWSCRAWL_LISTING_STREAM_BYTES with `htmltext.listing_scan` (a pass over the tags, no tree), and its
  pagination from a tree of the page without its list items but for the first few;
- `ListingBacklog` (spider middleware) keeps the article requests of listing callbacks that come while the
  scheduler already holds NEWSCRAWL_LISTING_QUEUE requests as their URLs (about 100 bytes a link), and
  schedules them as the scheduler drains. Scrapy has no such limit: a callback's requests all go to the
  scheduler at once. An article request is one the spider marked `meta["newscrawl_page"] = "article"`
  (newscrawl.spiders.base); it is scheduled again with its own callback, so the backlog knows nothing of
  the spider;
- `HeadOnlyMiddleware` keeps Scrapy from decoding a huge page whole for its <base> and meta-refresh checks.

The backlog is for Scrapy's memory queue only. A JOBDIR crawl's disk queue and a fleet's Redis queue hold
requests outside the process, and they outlive a stop or a kill, which a backlog in memory would not.
Without JOBDIR a stopped crawl loses its backlog as it loses its memory queue: the next run walks the
listing again and requests the articles the database lacks; a stop with links still waiting is counted as
`newscrawl/listing/not_requested` (the range is not complete).
"""

from __future__ import annotations

import logging
from collections import deque

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import TextResponse
from scrapy.utils.response import _baseurl_cache, _metaref_cache
from w3lib import html as w3lib_html

logger = logging.getLogger(__name__)

class HeadOnlyMiddleware:
    """Downloader middleware: on a page over NEWSCRAWL_LISTING_STREAM_BYTES, Scrapy's <base> and
    <meta http-equiv=refresh> lookups read the page's first 4,096 characters only.

    Why: they do read only those, but from `response.text`, which decodes the whole page and keeps it (22 MB
    for an 11 MB listing of Persian text, more than everything else its crawl holds). The results go where
    Scrapy looks first (scrapy.utils.response's caches, private but stable since Scrapy 1.x)."""

    def __init__(self, crawler):
        self.limit = crawler.settings.getint("NEWSCRAWL_LISTING_STREAM_BYTES")
        self.ignore_tags = crawler.settings.getlist("METAREFRESH_IGNORE_TAGS")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if (isinstance(response, TextResponse) and len(response.body) > self.limit
                and response._cached_ubody is None and response not in _baseurl_cache):
            encoding = response.encoding
            head = response.body[:16384].decode(encoding, "replace")[:4096]  # 4,096 characters fit in 16 KB
            base = _baseurl_cache[response] = w3lib_html.get_base_url(head, response.url, encoding)
            _metaref_cache[response] = w3lib_html.get_meta_refresh(head, base, encoding,
                                                                  ignore_tags=self.ignore_tags)
        return response


class ListingBacklog:
    """Spider middleware (see the module docstring): article requests wait as their URL, in runs that
    share one (callback, meta, priority, dont_filter, Referer), while the scheduler holds
    NEWSCRAWL_LISTING_QUEUE requests; they are scheduled when it holds fewer than half that, checked as
    each request leaves the downloader and when the crawl falls idle (which it then does not, while any
    wait)."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.limit = settings.getint("NEWSCRAWL_LISTING_QUEUE")
        if self.limit <= 0 or settings.get("JOBDIR") or settings.get("NEWSCRAWL_REDIS_URL"):
            raise NotConfigured("the scheduler's queue is not in memory (or NEWSCRAWL_LISTING_QUEUE is 0)")
        self.crawler = crawler
        self.stats = crawler.stats
        self.waiting: deque[tuple[tuple, deque[str]]] = deque()  # (template, URLs) runs, oldest first
        self.count = 0
        self._templates: dict[tuple, tuple] = {}  # one template per distinct (meta, priority, ...)
        crawler.signals.connect(self.top_up, signals.request_left_downloader)
        crawler.signals.connect(self.idle, signals.spider_idle)
        crawler.signals.connect(self.closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def queued(self) -> int:
        return len(self.crawler.engine.scheduler)

    def process_spider_output(self, response, result, spider):
        for request in result:
            if not self._held(request):
                yield request

    async def process_spider_output_async(self, response, result, spider):
        async for request in result:
            if not self._held(request):
                yield request

    def _held(self, request) -> bool:
        """Whether `request` waits here: an article request while others wait or the scheduler is full."""
        if not isinstance(request, scrapy.Request) or not (self.count or self.queued() >= self.limit):
            return False
        template = self._template(request)
        if template is None:
            return False
        if self.waiting and self.waiting[-1][0] is template:
            self.waiting[-1][1].append(request.url)
        else:
            self.waiting.append((template, deque([request.url])))
        self.count += 1
        self.stats.inc_value("newscrawl/listing/deferred")
        self.stats.max_value("newscrawl/listing/backlog_max", self.count)
        return True

    def _template(self, request) -> tuple | None:
        """What the request shares with others (callback, meta, priority, dont_filter, Referer), for a plain
        article GET; None for anything else (never held)."""
        if (request.meta.get("newscrawl_page") != "article" or request.callback is None
                or request.method != "GET" or request.body or request.errback or request.cb_kwargs
                or set(request.headers) - {b"Referer"}):
            return None
        template = (request.callback, request.meta, request.priority, request.dont_filter,
                    request.headers.get(b"Referer"))
        try:
            key = (template[0], tuple(sorted(request.meta.items())), *template[2:])
        except TypeError:  # an unhashable meta value: kept as it is
            return template
        return self._templates.setdefault(key, template)

    def _schedule(self, count: int) -> int:
        done = 0
        while self.waiting and done < count:
            (callback, meta, priority, dont_filter, referer), urls = self.waiting[0]
            self.crawler.engine.crawl(scrapy.Request(
                urls.popleft(), callback=callback, meta=dict(meta), priority=priority,
                dont_filter=dont_filter, headers={b"Referer": referer} if referer else None))
            if not urls:
                self.waiting.popleft()
            done += 1
        self.count -= done
        if not self.count:
            self._templates.clear()  # per-link metas (a feed's dates) are not kept past their links
        return done

    def top_up(self, request=None, spider=None) -> None:
        if self.count:
            room = self.limit - self.queued()
            if room * 2 >= self.limit:  # in chunks of at least half the limit
                self._schedule(room)

    def idle(self, spider) -> None:
        if self.count:
            self._schedule(self.limit)
            raise DontCloseSpider

    def closed(self, spider, reason) -> None:
        if self.count:
            self.stats.set_value("newscrawl/listing/not_requested", self.count)
            logger.warning("%d article links of listing pages were never requested: the crawl stopped (%s); "
                           "the next run walks those listings again", self.count, reason)
            self.waiting.clear()
