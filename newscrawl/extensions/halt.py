"""Stop a crawl at once for a storage failure, and say so in one line.

Why our own: Scrapy's CloseSpider closes a crawl from a callback, but the storage failures come from
the item pipeline, a worker thread's result and the feed's file, and each of them would otherwise log
its own error (a full disk gave 4,606 tracebacks). One `Halt` per crawler takes the first reason
(`database_unavailable` or `disk_full`), closes the spider with it as the finish reason, counts what
was kept back or lost, and logs one ERROR line with those counts when the spider has closed.
"""

from __future__ import annotations

import logging
from collections import Counter

from scrapy import signals

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "database_unavailable"
DISK_FULL = "disk_full"


class Halt:
    def __init__(self, crawler):
        self.crawler = crawler
        self.reason: str | None = None
        self.detail = ""
        #: spooled: kept on disk for the next run; unstored: neither stored nor spooled (crawled again);
        #: unwritten: stored but without a feed line yet (the next run's feed repair adds it)
        self.counts: Counter[str] = Counter()
        self.spool_path: str | None = None
        self.notes: list[str] = []
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def __bool__(self) -> bool:
        return self.reason is not None

    def stop(self, reason: str, detail: str) -> None:
        """Close the crawl with finish reason `reason` (the first call wins; later ones only count)."""
        if self.reason is not None:
            return
        self.reason, self.detail = reason, detail
        self.crawler.stats.set_value("newscrawl/halt/reason", reason)
        logger.warning("stopping the crawl (%s): %s", reason, detail)
        engine = getattr(self.crawler, "_engine", None)
        if engine is None or getattr(engine, "spider", None) is None:
            return
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(engine.close_spider_async(reason=reason)).addErrback(
            lambda failure: logger.error("cannot close the crawl: %s", failure.getErrorMessage()))

    def count(self, what: str, n: int = 1) -> None:
        if n:
            self.counts[what] += n
            self.crawler.stats.inc_value(f"newscrawl/halt/{what}", n)

    def note(self, text: str) -> None:
        """A detail for the closing line (each once)."""
        if text not in self.notes:
            self.notes.append(text)

    def summary(self) -> str:
        parts = []
        if self.counts["spooled"]:
            parts.append(f"{self.counts['spooled']} articles kept in {self.spool_path}, stored by the next run")
        if self.counts["unstored"]:
            parts.append(f"{self.counts['unstored']} articles not stored, crawled again by the next run")
        if self.counts["unwritten"]:
            parts.append(f"{self.counts['unwritten']} stored articles without their feed line, which the next "
                         "run adds")
        return "; ".join(parts + self.notes) or "no article was lost"

    def spider_closed(self, spider, reason):
        if self.reason is not None:
            logger.error("crawl stopped (%s): %s; %s", self.reason, self.detail, self.summary())


def halt_for(crawler) -> Halt:
    """The crawler's one Halt."""
    halt = getattr(crawler, "_newscrawl_halt", None)
    if halt is None:
        halt = crawler._newscrawl_halt = Halt(crawler)
    return halt
