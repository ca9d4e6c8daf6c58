"""`scrapy crawl` that stops bad arguments and an unreachable database before crawling, with one line,
and whose exit code says whether the crawl finished.

The check runs in `process_options`, before Scrapy creates the crawler process and starts logging,
so the user sees only the error line and exit code 2. Scrapy's own command exits 0 whatever the finish
reason; ours exits 1 when the crawl closed for any reason but `finished` or a CLOSESPIDER_* limit (a database
outage, a full disk, a stop by signal), so cron, systemd and Scrapyd see a failed run as failed."""

import os
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.spiderloader import get_spider_loader

from newscrawl.spiders.base import ArgumentError

#: exit codes of `scrapy crawl` (README, "Exit codes")
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
    from newscrawl.rendering import preflight as rendering_preflight

    error = rendering_preflight(settings, spidercls)
    if error:
        return error
    if "newscrawl.pipelines.StoragePipeline" in settings.getdict("ITEM_PIPELINES"):
        from newscrawl.storage import ArticleStore, StorageError

        try:
            ArticleStore(settings.get("NEWSCRAWL_DATABASE_URL")).open().close()
        except StorageError as exc:
            return str(exc)
    return None


#: where a crawl of a copy of a site (`-a base_url=`, e.g. the local test site) writes, inside the data folder
TEST_SITE_DIR = "testsite"


def _explicit(settings, name: str) -> bool:
    """Named by the operator: in the environment, or with -s / -o (command-line priority and above)."""
    return bool(os.environ.get(name)) or (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]


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
    failure (None when it finished)."""
    reason = stats.get("finish_reason")
    if reason == "finished" or str(reason).startswith("closespider_"):  # CLOSESPIDER_*: a limit asked for
        return EXIT_OK, None
    if reason is None:
        return EXIT_FAILED, "the crawl did not run to its end (no finish reason recorded)"
    return EXIT_FAILED, f"the crawl stopped before it finished (finish reason: {reason}); see the log"


class Command(ScrapyCrawl):
    def process_options(self, args, opts):
        super().process_options(args, opts)
        if len(args) == 1:
            scope_test_crawl(self.settings, opts.spargs)
            error = preflight(self.settings, args[0], opts.spargs)
            if error:
                print(f"error: {error}", file=sys.stderr)
                sys.exit(EXIT_USAGE)

    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("running 'scrapy crawl' needs exactly one spider name")
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = EXIT_FAILED
            return
        self.exitcode, line = exit_code(crawler.stats.get_stats())
        if line:
            print(f"error: {args[0]}: {line}", file=sys.stderr)
