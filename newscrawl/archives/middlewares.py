"""Downloader middlewares of the archive crawls (newscrawl.archives.remote): backing off when an archive says
it is overloaded, and looking a deleted article up in the Wayback Machine.

Why ours: Scrapy's RetryMiddleware retries a 429 or 503 at once, never later than the slot's delay, and
reads no Retry-After. The Internet Archive answers a client that goes on after its 429s by blocking the
address at the firewall for an hour (doubling each time), and Common Crawl's data server answers 503 "Slow
Down" under load, so an archive's 429/503 must slow the whole slot down, for as long as it asks.
"""

from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.retry import get_retry_request

from newscrawl.archives import META_KEY, cdx

logger = logging.getLogger(__name__)

STAT = "newscrawl/archive"
#: the answers of an archive that mean "later"
BACKOFF_CODES = (429, 503)
#: the answers of a live article that mean "deleted"
DELETED_CODES = (404, 410)


class ArchiveBackoffMiddleware:
    """A 429 or 503 from an archive (a request with `newscrawl_archive_slot` in its meta): its slot waits
    Retry-After seconds (else twice the slot's delay, doubling with each retry of the request, at most
    NEWSCRAWL_ARCHIVE_MAX_BACKOFF) before its next request, and the request is retried up to
    NEWSCRAWL_ARCHIVE_RETRY_TIMES times; the slot's own delay comes back with its next good answer.
    Placed before RetryMiddleware (550), which never sees these answers."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.max_backoff = settings.getfloat("NEWSCRAWL_ARCHIVE_MAX_BACKOFF")
        self.retry_times = settings.getint("NEWSCRAWL_ARCHIVE_RETRY_TIMES")
        self.slots = settings.getdict("DOWNLOAD_SLOTS")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def configured_delay(self, key: str) -> float:
        return float(self.slots.get(key, {}).get("delay", self.crawler.settings.getfloat("DOWNLOAD_DELAY")))

    def process_response(self, request, response, spider=None):
        key = request.meta.get("newscrawl_archive_slot")
        if not key:
            return response
        slot = self.crawler.engine.downloader.slots.get(key) if self.crawler.engine else None
        if slot is not None and self.stats.get_value(f"{STAT}/slot/{key}") is None:  # the politeness applied
            self.stats.set_value(f"{STAT}/slot/{key}", f"concurrency={slot.concurrency} delay={slot.delay:g}")
        if response.status not in BACKOFF_CODES:
            if slot is not None and slot.delay != self.configured_delay(key):
                slot.delay = self.configured_delay(key)
            return response
        tries = request.meta.get("retry_times", 0) + 1
        asked = cdx.retry_after(response.headers.get(b"Retry-After"))
        wait = asked if asked is not None else self.configured_delay(key) * 2 ** tries
        wait = min(max(wait, self.configured_delay(key)), self.max_backoff)
        self.stats.inc_value(f"{STAT}/throttled")
        self.stats.inc_value(f"{STAT}/throttled/{response.status}")
        self.stats.inc_value(f"{STAT}/backoff_seconds", wait)
        if slot is not None:
            slot.delay = max(slot.delay, wait)
        logger.info("%s answered %d: slot %s waits %.1f s before its next request (%s)", request.url,
                    response.status, key, wait, "Retry-After" if asked is not None else "backoff")
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"archive_{response.status}",
                                  max_retry_times=self.retry_times)
        if retry is None:
            request.meta["dont_retry"] = True  # given up here: RetryMiddleware must not try (and count) again
            return response
        return retry


class WaybackFallbackMiddleware:
    """With NEWSCRAWL_WAYBACK_FALLBACK=1, a live article request answered 404 or 410 becomes a Wayback CDX
    lookup of its URL (newscrawl.archives.remote.RemoteArchives.parse_wayback_fallback), which reads the
    capture closest to the listing's date for it (else the earliest) as the article, fetched_from wayback.

    Why a middleware: the spiders do not see 404s (HttpErrorMiddleware drops them before any callback),
    and here the only coupling is the request meta every spider already sets (`newscrawl_page`).
    Counted as newscrawl/archive/fallback/looked_up (and /404, /410), then /found or /not_found."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.enabled = crawler.settings.getbool("NEWSCRAWL_WAYBACK_FALLBACK")
        self.base = crawler.settings.get("NEWSCRAWL_WAYBACK_URL")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        if (not self.enabled or response.status not in DELETED_CODES
                or request.meta.get("newscrawl_page") != "article" or META_KEY in request.meta):
            return response
        spider = self.crawler.spider
        if not hasattr(spider, "parse_wayback_fallback"):
            return response
        self.stats.inc_value(f"{STAT}/fallback/looked_up")
        self.stats.inc_value(f"{STAT}/fallback/{response.status}")
        logger.info("article %s answered %d: looking it up in the Wayback Machine", request.url, response.status)
        wanted = {"url": request.url, "status": response.status, "date": request.meta.get("listing_date")}
        query = cdx.wayback_query(self.base, request.url, "exact", collapse=False)
        return spider.archive_request(query, spider.parse_wayback_fallback, "wayback_cdx",
                                      meta={"newscrawl_fallback": wanted})
