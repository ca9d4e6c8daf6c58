"""End-of-crawl report: pages, items, drops by reason, field coverage, date failures, duplicates, the health
verdict and the exit code; one row in the `crawls` table (newscrawl.db.history) for every run.

Logged as one line and written per run to `<NEWSCRAWL_DATA_DIR>/stats/<spider>-<start>.json` (a run's
file is never overwritten by the next) and copied to `<NEWSCRAWL_DATA_DIR>/<spider>-stats.json` (the
latest run), so an analyst can see at a glance whether a site changed its template and a failure stays
on record. Coverage and the verdict are not computed here: `newscrawl.extensions.monitors.coverage()` and the
monitors' `newscrawl/health/*` stats are, and this report, the monitors and the exit code read them.

Order at the close: `spider_closed` here publishes the coverage (before Spidermon, later in EXTENSIONS),
Spidermon's monitors set the verdict, then `finish` (connected when the spider opens, so after
Spidermon) writes the report, the `crawls` row and the line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os

from scrapy import signals

from newscrawl.extensions import monitors

logger = logging.getLogger(__name__)


def write_json(path: str, data) -> None:
    """Write `data` as JSON to `path` whole or not at all: a temporary file renamed over the old one, so a
    full disk never leaves an empty or half report (the old one stays)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run_name(start_time) -> str:
    """A run's name in file names: its UTC start time to the microsecond (unique per process, sortable)."""
    return start_time.strftime("%Y-%m-%dT%H-%M-%S.%fZ") if hasattr(start_time, "strftime") else str(start_time)


def report_path(settings, spider_name: str, run: str | None = None) -> str:
    """Where a spider's report goes: `<NEWSCRAWL_DATA_DIR>/<spider>-stats.json` for the latest run, and
    `<NEWSCRAWL_DATA_DIR>/stats/<spider>-<run>.json` for run `run` (see run_name)."""
    data = settings.get("NEWSCRAWL_DATA_DIR")
    if run is None:
        return os.path.join(data, f"{spider_name}-stats.json")
    return os.path.join(data, "stats", f"{spider_name}-{run}.json")


def job_id(crawler) -> str:
    """Scrapyd's `_job` argument, else the crawl's run id (storage.run_id_for: the id in its rows and its
    feed file's name)."""
    arguments = getattr(crawler, "newscrawl_arguments", None) or {}
    if arguments.get("_job"):
        return str(arguments["_job"])
    from newscrawl.db.store import run_id_for

    return run_id_for(crawler)


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def coverage_text(shares: dict[str, float] | None) -> str:
    return "coverage: no items" if shares is None else "coverage " + " ".join(
        f"{field} {_pct(share)}" for field, share in shares.items())


class CrawlReport:
    def __init__(self, crawler):
        self.crawler = crawler
        self.report: dict | None = None
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def request_scheduled(self, request, spider):
        """Count article pages asked for (first attempts), for monitors.items_expected()."""
        if request.meta.get("retry_times") or request.meta.get("redirect_times"):
            return
        if request.meta.get("newscrawl_page") == "article":
            self.crawler.stats.inc_value(monitors.ARTICLES_REQUESTED)

    def spider_opened(self, spider):
        # connected now, after every extension (Spidermon included): runs after the monitors at the close
        self.crawler.signals.connect(self.finish, signal=signals.spider_closed)
        monitors.quiet_spidermon_report(spider)

    def spider_closed(self, spider, reason):
        rules = self.crawler.settings.getdict("SPIDERMON_FIELD_COVERAGE_RULES")
        fields = {rule.split("/", 1)[1] for rule in rules if rule.startswith("parsed/")}
        monitors.publish_coverage(self.crawler.stats.get_stats(), sorted(fields | set(monitors.REPORTED_FIELDS)))

    def build(self, reason: str) -> dict:
        stats = self.crawler.stats.get_stats()
        drops = {k.removeprefix("newscrawl/dropped/"): v for k, v in stats.items()
                 if k.startswith("newscrawl/dropped/")}
        checked = monitors.HEALTH + "passed" in stats
        return {
            "spider": self.crawler.spider.name,
            "job_id": job_id(self.crawler),
            "finish_reason": reason,
            "pages": stats.get("downloader/response_count", 0),
            "parsed": monitors.parsed_articles(stats),
            "items": stats.get("item_scraped_count", 0),
            "stored": stats.get("newscrawl/stored", 0),
            "duplicates_skipped": stats.get("newscrawl/duplicates", 0),
            "known_skipped_before_download": stats.get("newscrawl/incremental/skipped", 0),
            # story clusters (newscrawl.pipelines.stories): failed ones are assigned by the next run
            "stories": {what: stats.get(f"newscrawl/stories/{what}", 0)
                        for what in ("assigned", "copies", "healed", "failed")},
            "articles_requested": stats.get(monitors.ARTICLES_REQUESTED, 0),
            "dropped": drops,
            "failed_requests": stats.get("retry/max_reached", 0),
            "http_errors": stats.get("httperror/response_ignored_count", 0),
            "offsite_filtered": stats.get("offsite/filtered", 0),
            "parse_errors": stats.get("newscrawl/parse_errors", 0),
            "date_unparseable": stats.get("newscrawl/date/unparseable", 0),
            "date_from_meta": stats.get("newscrawl/date/from_meta", 0),
            "errors": stats.get("log_count/ERROR", 0),
            "coverage": monitors.coverage(stats),
            "monitors": {"passed": stats[monitors.HEALTH + "passed"] if checked else None,
                         "failed": list(stats.get(monitors.HEALTH + "failed", [])),
                         "skipped": list(stats.get(monitors.HEALTH + "skipped", []))},
            "start_time": str(stats.get("start_time", "")),
            "finish_time": str(stats.get("finish_time", "")),
        }

    def finish(self, spider, reason):
        """After the monitors: the report files, the `crawls` row, the report line."""
        from newscrawl.commands.crawl import exit_code

        settings, stats = self.crawler.settings, self.crawler.stats
        report = self.build(reason)
        run = run_name(stats.get_value("start_time"))
        path = report_path(settings, spider.name, run)
        report["exit_code"] = exit_code(stats.get_stats())[0]
        self.record_run(report, path)
        report["exit_code"], line = exit_code(stats.get_stats())  # a run that could not be recorded fails
        self.report = report
        for target in (path, report_path(settings, spider.name)):
            try:
                write_json(target, report)
            except OSError as exc:  # a full disk: one line, and the report still goes to the log below
                logger.error("cannot write the crawl report %s: %s", target, exc.strerror or exc)
        checked = report["monitors"]["passed"]
        health = ("health passed" if checked else "health FAILED: " + "; ".join(report["monitors"]["failed"])
                  if checked is not None else "health not checked (Spidermon off)")
        logger.info(
            "newscrawl report %s: %d pages, %d articles parsed (%d stored, %d duplicates skipped, dropped %s), "
            "%d known skipped, %d assigned a story (%d copies), %d parse errors, %d unparseable dates; %s; %s; "
            "exit code %d; written to %s",
            spider.name, report["pages"], report["parsed"], report["stored"], report["duplicates_skipped"],
            report["dropped"] or "none", report["known_skipped_before_download"], report["stories"]["assigned"],
            report["stories"]["copies"], report["parse_errors"],
            report["date_unparseable"], coverage_text(report["coverage"]), health, report["exit_code"], path,
        )

    def record_run(self, report: dict, path: str) -> None:
        """One row in `crawls`. A database that is down costs one ERROR line and the stat
        `newscrawl/history/error` (which makes the exit code 1), never the close."""
        from sqlalchemy.exc import SQLAlchemyError

        from newscrawl.db import history
        from newscrawl.db.store import StorageError, store_for

        stats = self.crawler.stats.get_stats()
        drops = sum(v for k, v in report["dropped"].items())
        checked = report["monitors"]["passed"]
        row = {
            "spider": report["spider"], "job_id": report["job_id"],
            "arguments": history.safe_arguments({k: v for k, v in
                                                 (getattr(self.crawler, "newscrawl_arguments", None) or {}).items()
                                                 if k != "_job"}),
            "started_at": stats.get("start_time"), "finished_at": stats.get("finish_time"),
            "finish_reason": report["finish_reason"], "pages": report["pages"], "items_stored": report["stored"],
            "items_dropped": drops, "items_duplicate": report["duplicates_skipped"],
            "coverage": report["coverage"],
            "health": "unchecked" if checked is None else "passed" if checked else "failed",
            "health_failures": report["monitors"]["failed"], "exit_code": report["exit_code"],
            "stats_file": os.path.abspath(path),
        }
        store = store_for(self.crawler)
        try:
            history.record(store.open().engine, row)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            message = lines[0] if lines else type(exc).__name__
            self.crawler.stats.set_value("newscrawl/history/error", message)
            logger.error("cannot record the run in the crawls table: %s", message)
        finally:
            with contextlib.suppress(StorageError, SQLAlchemyError, OSError):
                store.close()
