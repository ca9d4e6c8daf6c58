"""End-of-crawl health checks (Spidermon): did the crawl finish, did it log too many errors, did the
listing pages still give links, and are title, body and date still found on the article pages?

Why: a news site that changes its template does not fail loudly. Its pages still answer 200, but the
body selector finds nothing (every article is dropped as missing_body) or the date disappears (items are
stored without published_at). These monitors turn that into one ERROR line, the stat
`newscrawl/monitor/failed`, and a "monitors" section in `<NEWSCRAWL_DATA_DIR>/<spider>-stats.json`.

Coverage of a field is measured two ways and the lower wins: the share of stored items that have it
(`newscrawl/coverage/<field>`, from newscrawl.report), and, for fields an item cannot be stored without
(title, body), the share of parsed articles that were not dropped for lacking it (`newscrawl/dropped/
missing_<field>` against items scraped + dropped). The first alone cannot see a lost body: such items
never reach the store. Settings: NEWSCRAWL_MIN_COVERAGE, NEWSCRAWL_MIN_COVERAGE_ITEMS,
NEWSCRAWL_MAX_ERRORS, NEWSCRAWL_MAX_ERROR_RATE, NEWSCRAWL_MONITOR_FINISH_REASONS.
"""

from __future__ import annotations

import json
import logging
import os

from spidermon import Monitor, MonitorSuite, monitors
from spidermon import settings as spidermon_settings
from spidermon.core.actions import Action

from newscrawl import settings as project
from newscrawl.pipelines import REQUIRED
from newscrawl.report import report_path, write_json

logger = logging.getLogger(__name__)

# the thresholds live in the project's settings; these fallbacks serve a crawler run with other settings
DEFAULT_MIN_COVERAGE = project.NEWSCRAWL_MIN_COVERAGE
DEFAULT_MIN_COVERAGE_ITEMS = project.NEWSCRAWL_MIN_COVERAGE_ITEMS
DEFAULT_MAX_ERRORS = project.NEWSCRAWL_MAX_ERRORS
DEFAULT_MAX_ERROR_RATE = project.NEWSCRAWL_MAX_ERROR_RATE
DEFAULT_FINISH_REASONS = ("finished",)


def parsed_articles(stats: dict) -> int:
    """Article pages that gave an item, whether it was stored or dropped (duplicates included)."""
    return stats.get("item_scraped_count", 0) + stats.get("item_dropped_count", 0)


def coverage(stats: dict, field: str) -> float | None:
    """The field's coverage as described in the module docstring; None when nothing was parsed."""
    parsed = parsed_articles(stats)
    if not parsed:
        return None
    values = []
    if stats.get("item_scraped_count", 0):
        values.append(float(stats.get(f"newscrawl/coverage/{field}", 0.0)))
    if field in REQUIRED:
        values.append(1 - stats.get(f"newscrawl/dropped/missing_{field}", 0) / parsed)
    return round(min(values), 4) if values else None


class _NewsMonitor(Monitor):
    longMessage = False  # the message alone, not unittest's repr of the compared values

    @property
    def settings(self):
        return self.data.crawler.settings


@monitors.name("Finish reason")
class FinishReasonMonitor(_NewsMonitor):
    @monitors.name("the crawl finished normally")
    def test_finish_reason(self):
        allowed = self.settings.getlist("NEWSCRAWL_MONITOR_FINISH_REASONS") or list(DEFAULT_FINISH_REASONS)
        reason = self.data.stats.get("finish_reason")
        self.assertIn(reason, allowed, msg=f"finish reason {reason!r} is not one of {', '.join(allowed)}")


@monitors.name("Errors")
class ErrorCountMonitor(_NewsMonitor):
    @monitors.name("few errors were logged")
    def test_errors(self):
        errors = self.data.stats.get("log_count/ERROR", 0)
        requests = self.data.stats.get("downloader/request_count", 0)
        allowed = max(self.settings.getint("NEWSCRAWL_MAX_ERRORS", DEFAULT_MAX_ERRORS),
                      int(self.settings.getfloat("NEWSCRAWL_MAX_ERROR_RATE", DEFAULT_MAX_ERROR_RATE) * requests))
        self.assertLessEqual(errors, allowed, msg=f"{errors} errors logged (at most {allowed} allowed for "
                                                  f"{requests} requests)")


@monitors.name("Listing pages")
class ListingMonitor(_NewsMonitor):
    @monitors.name("listing pages gave article links")
    def test_listing_links(self):
        stats = self.data.stats
        empty = []
        if stats.get("newscrawl/listing/archive_pages", 0) and not stats.get("newscrawl/listing/archive_links"):
            empty.append(f"{stats['newscrawl/listing/archive_pages']} archive pages")
        if "newscrawl/listing/rss_links" in stats and not stats["newscrawl/listing/rss_links"]:
            empty.append("the RSS feed")
        self.assertFalse(empty, msg=f"no article links on {' and '.join(empty)}: has the listing template "
                                    "changed?")


@monitors.name("Field coverage")
class CoverageMonitor(_NewsMonitor):
    @monitors.name("title, body and date are found on enough articles")
    def test_coverage(self):
        minimum = self.settings.getdict("NEWSCRAWL_MIN_COVERAGE") or DEFAULT_MIN_COVERAGE
        parsed = parsed_articles(self.data.stats)
        enough = self.settings.getint("NEWSCRAWL_MIN_COVERAGE_ITEMS", DEFAULT_MIN_COVERAGE_ITEMS)
        if parsed < enough:
            self.skipTest(f"{parsed} articles parsed; coverage is judged from {enough}")
        low = []
        for field, need in sorted(minimum.items()):
            have = coverage(self.data.stats, field)
            if have is not None and have < float(need):
                low.append(f"{field} {have:.0%} < {float(need):.0%}")
        self.assertFalse(low, msg=f"coverage too low over {parsed} articles: {', '.join(low)} (has the "
                                  "article template changed?)")


def _reason(error: str | None) -> str:
    """The assertion message out of a unittest traceback."""
    last = (error or "").strip().splitlines()[-1:] or [""]
    return last[0].split("Error: ", 1)[-1]


class RecordMonitorResults(Action):
    """Stats, one ERROR line per failed crawl, and the "monitors" section of the report file."""

    def run_action(self):
        crawler = self.data.crawler
        failed = [(r.monitor.name, _reason(r.error)) for r in self.result.monitors_failed_results]
        skipped = [r.monitor.name for r in self.result.monitor_results
                   if r.status == spidermon_settings.MONITOR.STATUS.SKIPPED]
        crawler.stats.set_value("newscrawl/monitor/passed", not failed)
        if failed:
            crawler.stats.set_value("newscrawl/monitor/failed", len(failed))
            logger.error("newscrawl monitors failed for %s: %s", self.data.spider.name,
                         "; ".join(f"{name}: {why}" for name, why in failed))
        path = report_path(crawler.settings, self.data.spider.name)
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
        if report.get("start_time") != str(self.data.stats.get("start_time", "")):
            # Spidermon must come after newscrawl.report.CrawlReport in EXTENSIONS, or this is last run's file
            logger.warning("%s is not this crawl's report; monitor results not added to it", path)
            return
        report["monitors"] = {"passed": not failed, "failed": [{"monitor": n, "reason": w} for n, w in failed],
                              "skipped": skipped,
                              "coverage": {f: coverage(self.data.stats, f) for f in DEFAULT_MIN_COVERAGE}}
        try:
            write_json(path, report)
        except OSError as exc:
            logger.error("cannot add the monitor results to %s: %s", path, exc.strerror or exc)


class NewsMonitorSuite(MonitorSuite):
    """SPIDERMON_SPIDER_CLOSE_MONITORS = ["newscrawl.monitors.NewsMonitorSuite"]"""

    monitors = [FinishReasonMonitor, ErrorCountMonitor, ListingMonitor, CoverageMonitor]
    monitors_finished_actions = [RecordMonitorResults]
