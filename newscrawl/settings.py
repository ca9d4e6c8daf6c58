"""Scrapy settings for newscrawl. Every NEWSCRAWL_* setting is documented in README ("Settings").

Settings that differ between machines (database, replay, Redis) also read the environment, so
`NEWSCRAWL_DATABASE_URL=... scrapy crawl tabnak` works as well as `-s NEWSCRAWL_DATABASE_URL=...`.
"""

import os

from newscrawl.items import FIELDS

BOT_NAME = "newscrawl"
SPIDER_MODULES = ["newscrawl.spiders"]
NEWSPIDER_MODULE = "newscrawl.spiders"
COMMANDS_MODULE = "newscrawl.commands"

# Politeness: identify ourselves, obey robots.txt, adapt to the server's latency.
USER_AGENT = "newscrawl/0.1 (Persian news archiver; +https://github.com/newscrawl/newscrawl)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# One item per article page: Scrapy's default of 100 concurrent items only adds task overhead.
CONCURRENT_ITEMS = 16
RETRY_TIMES = 3
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

# No listening sockets nobody asked for.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

LOG_LEVEL = os.environ.get("NEWSCRAWL_LOG_LEVEL", "INFO")

# Output: JSON Lines per spider under data/ (feed exports), and the database (pipelines).
NEWSCRAWL_DATA_DIR = os.environ.get("NEWSCRAWL_DATA_DIR", "data")
FEED_EXPORT_ENCODING = "utf-8"
# One JSON Lines file per spider and run (a JOBDIR resume continues its run's file); written
# crash-safe by newscrawl.feeds.SafeFileFeedStorage, also for -o/-O paths.
NEWSCRAWL_FEED = os.environ.get("NEWSCRAWL_FEED") or os.path.join(NEWSCRAWL_DATA_DIR, "%(name)s", "%(run_id)s.jsonl")
FEEDS = {NEWSCRAWL_FEED: {"format": "jsonlines", "overwrite": False}}
FEED_EXPORT_FIELDS = list(FIELDS)
FEED_URI_PARAMS = "newscrawl.feeds.uri_params"
FEED_STORAGES = {"": "newscrawl.feeds.SafeFileFeedStorage", "file": "newscrawl.feeds.SafeFileFeedStorage"}
NEWSCRAWL_DATABASE_URL = os.environ.get(
    "NEWSCRAWL_DATABASE_URL", "sqlite:///" + os.path.join(NEWSCRAWL_DATA_DIR, "newscrawl.sqlite3")
)
NEWSCRAWL_DB_BATCH_SIZE = 200
ITEM_PIPELINES = {
    "newscrawl.sanitize.SanitizePipeline": 90,
    "newscrawl.pipelines.ValidatePipeline": 100,
    "newscrawl.pipelines.DatesPipeline": 200,
    "newscrawl.pipelines.DedupPipeline": 300,
    "newscrawl.pipelines.StoragePipeline": 400,
}

# Text: digits in text fields kept as on the page (ids and dates are always ASCII).
NEWSCRAWL_TEXT_DIGITS = os.environ.get("NEWSCRAWL_TEXT_DIGITS", "keep")

# Offline replay of recorded cassettes (and recording with NEWSCRAWL_RECORD=1).
NEWSCRAWL_REPLAY = os.environ.get("NEWSCRAWL_REPLAY", "")
NEWSCRAWL_RECORD = os.environ.get("NEWSCRAWL_RECORD", "") in ("1", "true", "yes")
DOWNLOADER_MIDDLEWARES = {
    "newscrawl.replay.ReplayMiddleware": 50,
    "newscrawl.guards.ResponseGuardMiddleware": 580,
    # after decompression (590), before the render check: HTML responses parsed once, from their bytes
    "newscrawl.responses.PageResponseMiddleware": 587,
    # sees responses after decompression, before the guards and RetryMiddleware (a 503 challenge)
    "newscrawl.rendering.RenderMiddleware": 585,
}

EXTENSIONS = {
    "newscrawl.jobstate.ResumeMarker": 10,
    "newscrawl.report.CrawlReport": 500,
    # after CrawlReport: the monitors read the stats file it writes
    "spidermon.contrib.scrapy.extensions.Spidermon": 600,
}

# End-of-crawl monitors (newscrawl.monitors): a template change shows as falling field coverage.
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["newscrawl.monitors.NewsMonitorSuite"]
NEWSCRAWL_MIN_COVERAGE = {"title": 0.95, "body": 0.95, "published_at": 0.8}
NEWSCRAWL_MIN_COVERAGE_ITEMS = 20  # below that, one odd page moves coverage by more than 5 points
NEWSCRAWL_MAX_ERRORS = 10
NEWSCRAWL_MAX_ERROR_RATE = 0.01

# Distributed crawling: set NEWSCRAWL_REDIS_URL (and a NEWSCRAWL_CRAWL_ID per crawl) on every worker.
NEWSCRAWL_REDIS_URL = os.environ.get("NEWSCRAWL_REDIS_URL", "")
NEWSCRAWL_CRAWL_ID = os.environ.get("NEWSCRAWL_CRAWL_ID", "default")
NEWSCRAWL_REDIS_IDLE_CLOSE = 10.0
ADDONS = {
    "newscrawl.distributed.RedisAddon": 100,
}

SPIDER_CONTRACTS = {
    "newscrawl.contracts.PathContract": 10,
}

# JavaScript rendering (newscrawl.rendering; README "JavaScript pages"): Debian's Chromium through
# scrapy-playwright, only for pages that need it. The handler is plain HTTP until the first rendered page,
# so a plain crawl never starts Playwright or the browser. scrapy-playwright needs the asyncio reactor.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "newscrawl.rendering.BrowserDownloadHandler",
    "https": "newscrawl.rendering.BrowserDownloadHandler",
}
NEWSCRAWL_CHROMIUM = os.environ.get("NEWSCRAWL_CHROMIUM", "")  # empty: /usr/bin/chromium or PATH
NEWSCRAWL_RENDER = ""  # "listing", "article" or both: render those pages of every site
NEWSCRAWL_RENDER_AUTO = True  # retry challenges and empty shells once in Chromium
# ArvanCloud's challenge cookie; Cloudflare's challenge script
NEWSCRAWL_RENDER_MARKERS = [r"__arcsjs", r"/cdn-cgi/challenge-platform/", r"\bcf_chl_opt\b"]
NEWSCRAWL_RENDER_SHELL_TEXT = 200  # fewer visible characters than this (and a script): an empty shell
NEWSCRAWL_RENDER_WAIT = 10  # seconds to wait for the expected content in the browser
NEWSCRAWL_RENDER_MAX_PAGES = 4  # pages rendering at once
NEWSCRAWL_RENDER_CONTEXT_PAGES = 200  # pages per browser context before it is replaced
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {"headless": True, "args": [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]}
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = NEWSCRAWL_RENDER_MAX_PAGES
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = DOWNLOAD_TIMEOUT * 1000
