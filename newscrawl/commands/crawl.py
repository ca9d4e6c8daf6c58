"""`scrapy crawl` that stops bad arguments and an unreachable database before crawling, with one line,
and whose exit code says whether the crawl finished.

The check runs in `process_options`, before Scrapy creates the crawler process and starts logging,
so the user sees only the error line and exit code 2. Scrapy's own command exits 0 whatever the finish
reason; ours exits 1 when the crawl closed for any reason but `finished` or a CLOSESPIDER_* limit (a database
outage, a full disk, a stop by signal) or failed its health check (`exit_code`), so cron, systemd and Scrapyd
see a failed run as failed."""

import os
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spiderloader import get_spider_loader

from newscrawl.spiders.base import ArgumentError

#: exit codes of `scrapy crawl` (docs/operations.md, "Exit codes")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def preflight(settings, spider_name: str, spargs: dict) -> str | None:
    """Return a one-line error if the crawl cannot work, else None."""
    try:
        spidercls = get_spider_loader(settings).load(spider_name)
    except KeyError:
        return f"unknown spider {spider_name!r}; `scrapy list` shows them"
    check = getattr(spidercls, "check_args", None)
    if check is not None:
        try:
            check(**spargs)
        except ArgumentError as exc:
            return f"{spider_name}: {exc}"
    from newscrawl.extensions.jobstate import jobdir_busy

    busy = jobdir_busy(settings)  # takes the JOBDIR's lock for this process when it is free
    if busy:
        return busy
    from newscrawl.downloadermiddlewares.rendering import preflight as rendering_preflight

    error = rendering_preflight(settings, spidercls)
    if error:
        return error
    if "newscrawl.pipelines.store.StoragePipeline" in settings.getdict("ITEM_PIPELINES"):
        from newscrawl.db.store import ArticleStore, StorageError

        try:
            ArticleStore(settings.get("NEWSCRAWL_DATABASE_URL")).open().close()
        except StorageError as exc:
            return str(exc)
    from newscrawl.fleet import preflight as fleet_preflight

    error = fleet_preflight(settings)  # an unreachable Redis: one line, not a stack of tracebacks
    if error:
        return error
    from newscrawl.downloadermiddlewares.ssrf import preflight as ssrf_preflight

    return ssrf_preflight(settings, spargs)  # no private addresses (exit 2 when every target is one)


#: where a crawl of a copy of a site (`-a base_url=`, e.g. the local test site) writes, inside the data folder
TEST_SITE_DIR = "testsite"


def _explicit(settings, name: str) -> bool:
    """Named by the operator: in the environment, or with -s / -o (command-line priority and above)."""
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE")) or \
        (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]


def scope_test_crawl(settings, spargs: dict) -> None:
    """A crawl with `base_url` (a copy of a site, such as the local test site) gets its own database and feed
    under <NEWSCRAWL_DATA_DIR>/testsite/, so its generated articles never enter the real archive under real
    news codes (where they would be skipped as known forever); a database or feed the operator names
    explicitly is used as named."""
    if not spargs.get("base_url"):
        return
    folder = os.path.join(settings.get("NEWSCRAWL_DATA_DIR"), TEST_SITE_DIR)
    if not _explicit(settings, "NEWSCRAWL_DATABASE_URL"):
        settings.set("NEWSCRAWL_DATABASE_URL", "sqlite:///" + os.path.join(folder, "newscrawl.sqlite3"),
                     priority="cmdline")
    if not (_explicit(settings, "NEWSCRAWL_FEED") or _explicit(settings, "FEEDS")):
        feeds = settings.getdict("FEEDS")
        default = settings.get("NEWSCRAWL_FEED")
        options = feeds.pop(default, {"format": "jsonlines", "overwrite": False})
        feeds[os.path.join(folder, "%(name)s", "%(run_id)s.jsonl")] = options
        settings.set("FEEDS", feeds, priority="cmdline")


def exit_code(stats: dict) -> tuple[int, str | None]:
    """The exit code for a crawl that ran, from its closing stats, and the one line that explains a
    failure (None for 0). 1 when the crawl closed for any reason but `finished` or a CLOSESPIDER_* limit,
    when it failed its health check (the verdict of newscrawl.extensions.monitors, `newscrawl/health/passed`: no
    successful response, no items stored where items were expected, a failing monitor, articles the
    database did not take), or when the run could not be recorded in the `crawls` table. The report line
    and the `crawls` row use this same function."""
    reason = stats.get("finish_reason")
    if reason is None:
        return EXIT_FAILED, "the crawl did not run to its end (no finish reason recorded)"
    if reason != "finished" and not str(reason).startswith("closespider_"):  # CLOSESPIDER_*: a limit asked for
        return EXIT_FAILED, f"the crawl stopped before it finished (finish reason: {reason}); see the log"
    if stats.get("newscrawl/health/passed") is False:
        failed = "; ".join(stats.get("newscrawl/health/failed") or ["see the log"])
        return EXIT_FAILED, f"the crawl failed its health check: {failed}"
    if stats.get("newscrawl/history/error"):
        return EXIT_FAILED, f"the run could not be recorded in the crawls table: {stats['newscrawl/history/error']}"
    return EXIT_OK, None


def database_url_error(settings, spargs: dict) -> str | None:
    """Why the configured database URL cannot be used before anything else is checked: an unreadable
    NEWSCRAWL_DATABASE_URL_FILE, or a URL with a password given as a setting of a Scrapyd job (`_job`
    is Scrapyd's argument), where listjobs.json, the process list and the log would show it."""
    from newscrawl.db import url as dburl

    error = dburl.check_environment()
    if error:
        return error
    url = settings.get("NEWSCRAWL_DATABASE_URL") or ""
    from_setting = (settings.getpriority("NEWSCRAWL_DATABASE_URL") or 0) >= SETTINGS_PRIORITIES["cmdline"]
    if "_job" in spargs and from_setting and not os.environ.get("NEWSCRAWL_DATABASE_URL") \
            and dburl.has_secret(url):
        return (f"NEWSCRAWL_DATABASE_URL {dburl.mask(url)} holds a password and came as a Scrapyd setting; "
                "give it to Scrapyd's environment (NEWSCRAWL_DATABASE_URL or NEWSCRAWL_DATABASE_URL_FILE)")
    return None


def reject(settings, line: str) -> None:
    """Print the one-line reason, append it to LOG_FILE too (Scrapyd passes the job's log file as a
    setting and lists the job with a log only when the file exists; the crawl's own logging never
    started), and exit 2."""
    print(line, file=sys.stderr)
    log_file = settings.get("LOG_FILE")
    if log_file:
        try:
            with open(log_file, "a", encoding=settings.get("LOG_ENCODING") or "utf-8") as fh:
                fh.write(line + "\n")
        except OSError:
            pass
    sys.exit(EXIT_USAGE)


class Command(ScrapyCrawl):
    def process_options(self, args, opts):
        super().process_options(args, opts)
        if len(args) == 1:
            error = database_url_error(self.settings, opts.spargs)
            if not error:
                scope_test_crawl(self.settings, opts.spargs)
                error = preflight(self.settings, args[0], opts.spargs)
            if error:
                reject(self.settings, f"error: {error}")

    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("running 'scrapy crawl' needs exactly one spider name")
        crawler = self._create_crawler(args[0])
        crawler.newscrawl_arguments = dict(opts.spargs)  # for the `crawls` row (newscrawl.extensions.report)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        self.exitcode, line = exit_code(crawler.stats.get_stats())
        if line:
            print(f"error: {args[0]}: {line}", file=sys.stderr)
