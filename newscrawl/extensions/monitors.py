"""End-of-crawl health checks (Spidermon) and the one health verdict of a crawl.

Why: a news site that changes its template does not fail loudly. Its pages still answer 200, but the
body selector finds nothing (every article is dropped as missing_body) or the date disappears. A crawl
without network reaches nothing at all. These checks turn that into one ERROR line, the verdict in the
stats (`newscrawl/health/passed`, `newscrawl/health/failed`), exit code 1 of `scrapy crawl` and a failed
row in the `crawls` table; `scrapy crawl`'s exit code and the report line read that same verdict.

Spidermon's own monitors do what they can, configured in settings (SPIDERMON_*): FinishReasonMonitor,
SuccessfulRequestsMonitor, ErrorCountMonitor, ItemCountMonitor and FieldCoverageMonitor. Our code covers
only what Spidermon lacks:

- coverage counted over every parsed article, stored or dropped (`coverage()`): Spidermon's field
  coverage counts stored items only, and an article dropped for lacking its body never is one. The
  numbers are published as `spidermon_field_coverage/parsed/<field>` for FieldCoverageMonitor's rules
  and read by the report line;
- when items are expected (`items_expected()`), for ItemCountMonitor;
- an error threshold that grows with the crawl (Spidermon's is absolute);
- listing pages that gave no article links, and articles the database did not take;
- fields a site's selectors no longer give, filled by a fallback (`newscrawl/fallback/<field>`): a
  warning, not a failure (FallbackMonitor);
- a webhook alert (Spidermon's actions all need Jinja2, and its e-mail action premailer and an SMTP
  login; none of them posts to a plain URL).
"""

from __future__ import annotations

import json
import logging
import math

from spidermon import Monitor, MonitorSuite, monitors
from spidermon import settings as spidermon_settings
from spidermon.contrib.scrapy.monitors import monitors as sm
from spidermon.core.actions import Action

from newscrawl.items import REQUIRED, ArticleItem

logger = logging.getLogger(__name__)

#: the fields the report line shows (the rules in SPIDERMON_FIELD_COVERAGE_RULES may name others)
REPORTED_FIELDS = ("title", "body", "published_at")
#: FieldCoverageMonitor rules name fields as `parsed/<field>`; this is where their numbers live
COVERAGE_STAT = "spidermon_field_coverage/parsed/"
#: Spidermon's per-field counts of stored items (SPIDERMON_ADD_FIELD_COVERAGE)
STORED_COUNT = f"spidermon_item_scraped_count/{ArticleItem.__name__}"
#: article pages requested (first attempts; retries and redirects not counted), by newscrawl.extensions.report
ARTICLES_REQUESTED = "newscrawl/articles/requested"
HEALTH = "newscrawl/health/"
#: counted per field by the article pages (newscrawl.pages.article): a field a fallback gave
FALLBACK = "newscrawl/fallback/"


class _SpidermonReportAtInfo(logging.Filter):
    """Spidermon logs each failed monitor's unittest report (a separator, the traceback) at ERROR on the
    spider's logger; our one ERROR line (RecordHealth) says the same, so that report goes to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and str(record.msg).startswith("[Spidermon]"):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_spidermon_report(spider) -> None:
    """Attach _SpidermonReportAtInfo to the spider's logger (once)."""
    logger_ = logging.getLogger(spider.name)
    if not any(isinstance(f, _SpidermonReportAtInfo) for f in logger_.filters):
        logger_.addFilter(_SpidermonReportAtInfo())


def parsed_articles(stats: dict) -> int:
    """Article pages that gave an item, whether it was stored or dropped (duplicates included)."""
    return stats.get("item_scraped_count", 0) + stats.get("item_dropped_count", 0)


def coverage(stats: dict, fields=REPORTED_FIELDS) -> dict[str, float] | None:
    """Each field's share of the parsed articles; None when no article was parsed ("no items").

    A field every stored item must have (title, body: newscrawl.items.REQUIRED) counts over stored
    and dropped articles: 1 - dropped for lacking it / parsed. Any other field counts over stored items
    (Spidermon's counts), because a dropped article never reaches the pipeline that fills it (the date);
    with nothing stored it is 0."""
    parsed = parsed_articles(stats)
    if not parsed:
        return None
    stored = stats.get(STORED_COUNT, 0)
    shares = {}
    for field in fields:
        if field in REQUIRED:
            share = 1 - stats.get(f"newscrawl/dropped/missing_{field}", 0) / parsed
        else:
            share = stats.get(f"{STORED_COUNT}/{field}", 0) / stored if stored else 0.0
        shares[field] = round(share, 4)
    return shares


def publish_coverage(stats: dict, fields) -> None:
    """Put `coverage()` where FieldCoverageMonitor reads it (`parsed/<field>` in its rules)."""
    for field, share in (coverage(stats, fields) or {}).items():
        stats[COVERAGE_STAT + field] = share


def items_expected(stats: dict) -> bool:
    """Whether this crawl had to end with items: it requested article pages (links it did not already
    have; an incremental rerun over an unchanged site requests none), and not every one of them was
    accounted for by an item the pipelines dropped (a duplicate, or a page without a body, which the
    coverage rules judge). So a crawl whose article pages all failed (HTTP errors, timeouts, redirects,
    no network) or that never got their items through is expected to store at least
    SPIDERMON_MIN_ITEMS."""
    requested = stats.get(ARTICLES_REQUESTED, 0)
    return requested > 0 and stats.get("item_dropped_count", 0) < requested


class _Settings:
    longMessage = False  # the message alone, not unittest's repr of the compared values

    @property
    def settings(self):
        return self.data.crawler.settings


@monitors.name("Error Count Monitor")
class ErrorCountMonitor(sm.ErrorCountMonitor):
    """Spidermon's, with a threshold that grows with the crawl: at most SPIDERMON_MAX_ERRORS or
    NEWSCRAWL_MAX_ERROR_RATE x requests ERROR lines, whichever is more (a fixed number either fails
    every 100,000-page crawl or lets a 50-page one fail everywhere)."""

    def get_threshold(self):
        settings = self.crawler.settings
        requests = self.stats.get("downloader/request_count", 0)
        return max(settings.getint("SPIDERMON_MAX_ERRORS"),
                   int(settings.getfloat("NEWSCRAWL_MAX_ERROR_RATE") * requests))


@monitors.name("Successful Requests monitor")
class SuccessfulRequestsMonitor(sm.SuccessfulRequestsMonitor):
    """Spidermon's (at least SPIDERMON_MIN_SUCCESSFUL_REQUESTS 200s), unless the crawl requested nothing
    because every page it found was stored already: a WARC backfill run again reads its files, finds each
    article stored, and needs no request (a live crawl always fetches its listing)."""

    @monitors.name("Should have at least the minimum number of successful requests")
    def test_minimum_successful_requests(self):
        if not self.stats.get("downloader/request_count") and self.stats.get("newscrawl/incremental/skipped"):
            self.skipTest("nothing to request: every page found was stored already")
        super().test_minimum_successful_requests()


@monitors.name("Extracted Items Monitor")
class ItemCountMonitor(sm.ItemCountMonitor):
    """Spidermon's (stored items >= SPIDERMON_MIN_ITEMS), judged only when items are expected."""

    @monitors.name("items were stored where items were expected")
    def test_stat_monitor(self):
        if not items_expected(self.stats):
            self.skipTest("no items expected: no new article page was requested, or every one gave an "
                          "item the pipelines dropped")
        super().test_stat_monitor()


@monitors.name("Field Coverage Monitor")
class FieldCoverageMonitor(sm.FieldCoverageMonitor):
    """Spidermon's rules (SPIDERMON_FIELD_COVERAGE_RULES) over `coverage()`, each judged only on enough
    articles: NEWSCRAWL_MIN_COVERAGE_ITEMS parsed for the required fields, as many stored for the others
    (below that one odd page moves coverage by more than 5 points). Spidermon can only skip at 0 items,
    and a crawl whose articles were all duplicates (a second crawl of the same range) stores none, so its
    date coverage would read 0: the rule loop is ours for that reason."""

    @monitors.name("fields are found on enough parsed articles")
    def test_check_if_field_coverage_rules_are_met(self):
        stats = self.data.stats
        parsed, stored = parsed_articles(stats), stats.get(STORED_COUNT, 0)
        enough = self.crawler.settings.getint("NEWSCRAWL_MIN_COVERAGE_ITEMS")
        if parsed < enough:
            self.skipTest(f"{parsed} articles parsed; coverage is judged from {enough}")
        tolerance = self.crawler.settings.getfloat("SPIDERMON_FIELD_COVERAGE_TOLERANCE", 0)
        failures = []
        for field, expected in self.crawler.settings.getdict("SPIDERMON_FIELD_COVERAGE_RULES").items():
            if field.removeprefix("parsed/") not in REQUIRED and stored < enough:
                continue  # counted over stored items, and too few were stored to judge
            actual = stats.get(f"spidermon_field_coverage/{field}", 0)
            if actual < expected and not math.isclose(actual, expected, abs_tol=tolerance):
                failures.append(f"{field} (expected {expected}, got {actual}, tolerance: {tolerance})")
        # Spidermon's own message, which the report and the crawls table quote
        self.assertTrue(not failures, "\nThe following items did not meet field coverage rules:\n"
                        + "\n".join(failures))


@monitors.name("Listing pages")
class ListingMonitor(_Settings, Monitor):
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


@monitors.name("Storage")
class StorageMonitor(_Settings, Monitor):
    @monitors.name("every stored article was written to the database")
    def test_nothing_unwritten(self):
        unwritten = self.data.stats.get("newscrawl/db/unwritten", 0)
        self.assertEqual(unwritten, 0, msg=f"{unwritten} articles were not written to the database")


@monitors.name("Offline replay")
class ReplayMonitor(_Settings, Monitor):
    @monitors.name("every page asked for was recorded")
    def test_nothing_missing(self):
        missing = self.data.stats.get("newscrawl/replay/missing", 0)
        self.assertEqual(missing, 0, msg=f"{missing} pages asked for are not in the recorded snapshot "
                                         f"({self.settings.get('NEWSCRAWL_REPLAY')})")


def fallback_counts(stats: dict) -> dict[str, int]:
    """Field -> how many parsed articles had it from a fallback, most first."""
    counts = {key.removeprefix(FALLBACK): n for key, n in stats.items() if key.startswith(FALLBACK) and n}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@monitors.name("Template fallbacks")
class FallbackMonitor(_Settings, Monitor):
    """One WARNING line naming the site and each field its selectors no longer gave, with how often, and
    the same text in `newscrawl/health/warnings`. It passes: the items are complete and stored (a field
    the fallbacks cannot fill either, a missing body, is the coverage monitor's failure), so failing the
    run would alert and retry a crawl that delivered its data; the template still needs a person, which
    is what the warning (and `scrapy canary`) is for."""

    @monitors.name("fields came from the site's own selectors")
    def test_fallbacks(self):
        counts = fallback_counts(self.data.stats)
        if not counts:
            return
        parsed = parsed_articles(self.data.stats)
        fields = ", ".join(f"{field} {n}/{parsed}" for field, n in counts.items())
        message = (f"{self.data.spider.name}: fields its selectors no longer give, read from fallbacks "
                   f"(articles/parsed): {fields}")
        logger.warning("%s", message)
        stats = self.data.crawler.stats
        stats.set_value(HEALTH + "warnings", [*(stats.get_value(HEALTH + "warnings") or []), message])


def _reason(error: str | None) -> str:
    """The assertion message out of a unittest traceback, on one line (a line ending in ':' introduces
    the next: Spidermon's field coverage message)."""
    text = (error or "").strip()
    marker = text.rfind("Error: ")
    message = text[marker + len("Error: "):] if marker >= 0 else text
    reason = ""
    for line in filter(None, (part.strip() for part in message.splitlines())):
        reason += ("" if not reason else " " if reason.endswith(":") else "; ") + line
    return reason


class RecordHealth(Action):
    """The verdict, once: `newscrawl/health/passed` (bool), `newscrawl/health/failed` ("monitor: reason"
    lines) and `newscrawl/health/skipped` in the stats, and one ERROR line when it failed. The report,
    the `crawls` row and the exit code read these stats."""

    def run_action(self):
        stats = self.data.crawler.stats
        failed = [f"{r.monitor.name}: {_reason(r.error)}" for r in self.result.monitors_failed_results]
        skipped = [r.monitor.name for r in self.result.monitor_results
                   if r.status == spidermon_settings.MONITOR.STATUS.SKIPPED]
        stats.set_value(HEALTH + "passed", not failed)
        stats.set_value(HEALTH + "failed", failed)
        stats.set_value(HEALTH + "skipped", skipped)
        if failed:
            logger.error("newscrawl health check failed for %s: %s", self.data.spider.name, "; ".join(failed))


class WebhookAlert(Action):
    """POST a small JSON message to NEWSCRAWL_ALERT_WEBHOOK when the health check fails (off when empty).

    Our own because Spidermon 1.27 has no generic webhook action (only Slack, Discord, Telegram, SNS,
    Sentry and e-mail, all through Jinja2 templates)."""

    def run_action(self):
        crawler = self.data.crawler
        url = crawler.settings.get("NEWSCRAWL_ALERT_WEBHOOK")
        if not url:
            return
        import requests

        stats = crawler.stats.get_stats()
        message = {
            "spider": self.data.spider.name,
            "finish_reason": stats.get("finish_reason"),
            "start_time": str(stats.get("start_time", "")),
            "failed": stats.get(HEALTH + "failed", []),
            "text": f"newscrawl: the {self.data.spider.name} crawl failed its health check: "
                    + "; ".join(stats.get(HEALTH + "failed", [])),
        }
        try:
            response = requests.post(url, data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"},
                                     timeout=crawler.settings.getfloat("NEWSCRAWL_ALERT_TIMEOUT"))
            response.raise_for_status()
        except requests.RequestException as exc:
            reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
            crawler.stats.set_value("newscrawl/alert/error", reason)
            logger.error("cannot send the alert to the webhook: %s", reason)
            return
        crawler.stats.set_value("newscrawl/alert/sent", True)


class NewsMonitorSuite(MonitorSuite):
    """SPIDERMON_SPIDER_CLOSE_MONITORS = ["newscrawl.extensions.monitors.NewsMonitorSuite"]"""

    monitors = [sm.FinishReasonMonitor, SuccessfulRequestsMonitor, ErrorCountMonitor, ItemCountMonitor,
                ListingMonitor, FieldCoverageMonitor, StorageMonitor, ReplayMonitor, FallbackMonitor]
    monitors_finished_actions = [RecordHealth]
    monitors_failed_actions = [WebhookAlert]
