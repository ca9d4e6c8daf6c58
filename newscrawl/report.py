"""End-of-crawl report: pages, items, drops by reason, field coverage, date failures, duplicates.

Logged as a short block and written to `<NEWSCRAWL_DATA_DIR>/<spider>-stats.json`, so an analyst (or a
monitor) can see at a glance whether a site changed its template (coverage of title/body/date falls).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import Counter

from itemadapter import ItemAdapter
from scrapy import signals

from newscrawl.items import FIELDS

logger = logging.getLogger(__name__)


def write_json(path: str, data) -> None:
    """Write `data` as JSON to `path` whole or not at all: a temporary file renamed over the old one, so a
    full disk never leaves an empty or half report (the old one stays)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def report_path(settings, spider_name: str) -> str:
    """Where a spider's report goes: <NEWSCRAWL_DATA_DIR>/<spider>-stats.json."""
    return os.path.join(settings.get("NEWSCRAWL_DATA_DIR", "data"), f"{spider_name}-stats.json")


class CrawlReport:
    def __init__(self, crawler):
        self.crawler = crawler
        self.filled: Counter[str] = Counter()
        self.items = 0
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def item_scraped(self, item, response, spider):
        self.items += 1
        adapter = ItemAdapter(item)
        for field in FIELDS:
            if adapter.get(field) not in (None, "", []):
                self.filled[field] += 1
        if self.items % 100 == 1:  # live coverage now and then (every item would cost ~2% of a crawl)
            self.set_coverage()

    def coverage(self) -> dict[str, float]:
        """The share of items with each field."""
        return {f: round(self.filled[f] / self.items, 4) if self.items else 0.0 for f in FIELDS}

    def set_coverage(self) -> None:
        for field, share in self.coverage().items():
            self.crawler.stats.set_value(f"newscrawl/coverage/{field}", share)

    def build(self, reason: str) -> dict:
        stats = self.crawler.stats.get_stats()
        drops = {k.removeprefix("newscrawl/dropped/"): v for k, v in stats.items()
                 if k.startswith("newscrawl/dropped/")}
        return {
            "spider": self.crawler.spider.name,
            "finish_reason": reason,
            "pages": stats.get("downloader/response_count", 0),
            "items": self.items,
            "stored": stats.get("newscrawl/stored", 0),
            "duplicates_skipped": stats.get("newscrawl/duplicates", 0),
            "known_skipped_before_download": stats.get("newscrawl/incremental/skipped", 0),
            "dropped": drops,
            "failed_requests": stats.get("retry/max_reached", 0),
            "http_errors": stats.get("httperror/response_ignored_count", 0),
            "offsite_filtered": stats.get("offsite/filtered", 0),
            "parse_errors": stats.get("newscrawl/parse_errors", 0),
            "date_unparseable": stats.get("newscrawl/date/unparseable", 0),
            "date_from_meta": stats.get("newscrawl/date/from_meta", 0),
            "errors": stats.get("log_count/ERROR", 0),
            "coverage": self.coverage(),
            "start_time": str(stats.get("start_time", "")),
            "finish_time": str(stats.get("finish_time", "")),
        }

    def spider_closed(self, spider, reason):
        if self.items:
            self.set_coverage()  # exact at the end, before the monitors (connected later) read it
        report = self.build(reason)
        path = report_path(self.crawler.settings, spider.name)
        try:
            write_json(path, report)
        except OSError as exc:  # a full disk: one line, and the report still goes to the log below
            logger.error("cannot write the crawl report %s: %s", path, exc.strerror or exc)
        cov = report["coverage"]
        logger.info(
            "newscrawl report %s: %d pages, %d items (%d stored), %d duplicates skipped, %d known skipped, "
            "dropped %s, %d parse errors, %d unparseable dates; coverage title %.0f%% body %.0f%% "
            "published_at %.0f%%; written to %s",
            spider.name, report["pages"], report["items"], report["stored"], report["duplicates_skipped"],
            report["known_skipped_before_download"], report["dropped"] or "none", report["parse_errors"],
            report["date_unparseable"], 100 * cov["title"], 100 * cov["body"], 100 * cov["published_at"], path,
        )
