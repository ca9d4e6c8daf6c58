"""A progress line every NEWSCRAWL_PROGRESS_SECONDS: Scrapy's LogStats extended with the share done and an
ETA where the crawl knows its total (ids mode: the number of ids), so a long crawl says how far it is.

It replaces LogStats in EXTENSIONS (one periodic line, not two) and keeps what LogStats does at the close
(`responses_per_minute`, `items_per_minute`). A finite archive is not given a total: the sites' archive
pages do not show how many pages follow.
"""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.logstats import LogStats

logger = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """1 h 02 min, 3 min 07 s, 42 s."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def progress_line(pages: int, pages_per_min: float, items: int, items_per_min: float,
                  done: int | None = None, total: int | None = None, elapsed: float = 0.0,
                  unit: str = "ids") -> str:
    """The progress line; with a total, the share done and the ETA at the average rate so far."""
    line = (f"progress: {pages:,} pages ({pages_per_min:,.0f}/min), "
            f"{items:,} items ({items_per_min:,.0f}/min)")
    if total:
        done = min(done or 0, total)
        line += f"; {done:,} of {total:,} {unit} done ({100 * done // total}%)"
        if done and elapsed > 0 and done < total:
            line += f", ETA {duration((total - done) * elapsed / done)}"
        elif done >= total:
            line += ", finishing"
    return line


class ProgressStats(LogStats):
    """LogStats at NEWSCRAWL_PROGRESS_SECONDS (0: off), with percent done and ETA in ids mode, where one
    article request answers each id (done = article responses received, whatever their status)."""

    def __init__(self, stats, interval: float = 60.0):
        super().__init__(stats, interval)
        self.total: int | None = None
        self.done = 0
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("NEWSCRAWL_PROGRESS_SECONDS")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler.stats, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def spider_opened(self, spider) -> None:
        options = getattr(spider, "options", None) or {}
        if options.get("mode") == "ids" and options.get("ids"):
            self.total = len(options["ids"])
        self.started = time.monotonic()
        super().spider_opened(spider)

    def response_received(self, response, request, spider) -> None:
        if self.total and request.meta.get("newscrawl_page") == "article":
            self.done += 1

    def log(self, spider) -> None:
        self.calculate_stats()
        # ids the crawl skipped as already stored count as done (newscrawl/incremental/skipped)
        done = self.done + (self.stats.get_value("newscrawl/incremental/skipped", 0) if self.total else 0)
        logger.info(progress_line(self.pages, self.prate, self.items, self.irate, done, self.total,
                                  time.monotonic() - self.started), extra={"spider": spider})
