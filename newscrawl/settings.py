"""Scrapy settings for newscrawl. Every NEWSCRAWL_* setting is documented in docs/settings.md.

Settings that differ between machines (database, replay, Redis) also read the environment, so
`NEWSCRAWL_DATABASE_URL=... scrapy crawl tabnak` works as well as `-s NEWSCRAWL_DATABASE_URL=...`.
"""

import os

from newscrawl.db import url as dburl
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

# Names resolving to private addresses are refused (newscrawl.downloadermiddlewares.ssrf; opt-in: NEWSCRAWL_ALLOW_PRIVATE=1).
TWISTED_DNS_RESOLVER = "newscrawl.downloadermiddlewares.ssrf.GuardedResolver"

# No listening sockets nobody asked for.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

LOG_LEVEL = os.environ.get("NEWSCRAWL_LOG_LEVEL", "INFO")
NEWSCRAWL_PROGRESS_SECONDS = 60.0  # a progress line this often (pages, items, rates, % and ETA); 0: none

# Output: JSON Lines per spider under data/ (feed exports), and the database (pipelines).
NEWSCRAWL_DATA_DIR = dburl.data_dir()  # the environment variable, else data/ in the project folder
FEED_EXPORT_ENCODING = "utf-8"
# One JSON Lines file per spider and run (a JOBDIR resume continues its run's file); written
# crash-safe by newscrawl.exports.feeds.SafeFileFeedStorage, also for -o/-O paths.
NEWSCRAWL_FEED = os.environ.get("NEWSCRAWL_FEED") or os.path.join(NEWSCRAWL_DATA_DIR, "%(name)s", "%(run_id)s.jsonl")
FEEDS = {NEWSCRAWL_FEED: {"format": "jsonlines", "overwrite": False}}
FEED_EXPORT_FIELDS = list(FIELDS)
FEED_URI_PARAMS = "newscrawl.exports.feeds.uri_params"
FEED_STORAGES = {"": "newscrawl.exports.feeds.SafeFileFeedStorage", "file": "newscrawl.exports.feeds.SafeFileFeedStorage"}
FEED_EXPORTERS = {"csv": "newscrawl.exports.exporters.NewsCsvItemExporter"}  # the CSV dialect of `scrapy export`
# from the environment or the file NEWSCRAWL_DATABASE_URL_FILE names (newscrawl.db.url), never from Scrapyd
NEWSCRAWL_DATABASE_URL = dburl.from_environment()
NEWSCRAWL_DB_BATCH_SIZE = 200
NEWSCRAWL_DB_FLUSH_SECONDS = 0.1  # a batch is also written this long after its first article
NEWSCRAWL_DB_RETRY_SECONDS = 60.0  # transient database errors are retried this long, then the crawl stops
ITEM_PIPELINES = {
    "newscrawl.pipelines.clean.SanitizePipeline": 90,
    "newscrawl.pipelines.clean.SchemaPipeline": 95,  # the item schema, before anything is stored
    "newscrawl.pipelines.checks.ValidatePipeline": 100,
    "newscrawl.pipelines.store.DedupPipeline": 300,
    "newscrawl.pipelines.store.StoragePipeline": 400,
    "newscrawl.pipelines.stories.StoriesPipeline": 450,  # after storage: each stored article joins its story
}
# Story clusters assigned as articles are stored (newscrawl.pipelines.stories; docs/stories.md); off: the
# `scrapy stories` command assigns them later.
NEWSCRAWL_STORIES = True

# Text: digits in text fields kept as on the page (ids and dates are always ASCII).
NEWSCRAWL_TEXT_DIGITS = os.environ.get("NEWSCRAWL_TEXT_DIGITS", "keep")
# The generic spider: skip trafilatura's fallback extractors (faster, may miss a body on odd pages).
NEWSCRAWL_GENERIC_FAST = False
# `scrapy canary` (newscrawl.commands.canary): a site's body agrees with the generic page's when one holds the
# other or this share of their words match.
NEWSCRAWL_CANARY_BODY_SIMILARITY = 0.9
# Story clusters (newscrawl.stories): only articles published within this many days of each other join one
# story, so a daily template (prices, weather, prayer times) does not chain into one story.
NEWSCRAWL_STORIES_WINDOW_DAYS = 7

# Offline replay of recorded cassettes (and recording with NEWSCRAWL_RECORD=1): Scrapy's HTTP cache over
# betamax JSON cassettes, turned on by the ReplayAddon in ADDONS (newscrawl.extensions.cassettes).
NEWSCRAWL_REPLAY = os.environ.get("NEWSCRAWL_REPLAY", "")
NEWSCRAWL_RECORD = os.environ.get("NEWSCRAWL_RECORD", "") in ("1", "true", "yes")
DOWNLOADER_MIDDLEWARES = {
    # no private addresses (newscrawl.downloadermiddlewares.ssrf): literal ones and ports before robots.txt; the
    # resolver's refusals before DownloaderStats (850) and RetryMiddleware see a DNS error
    "newscrawl.downloadermiddlewares.ssrf.PrivateAddressMiddleware": 40,
    "newscrawl.downloadermiddlewares.ssrf.RefusedLookupMiddleware": 900,
    "newscrawl.downloadermiddlewares.guards.ResponseGuardMiddleware": 580,
    # after decompression (590), before the render check: HTML responses parsed once, from their bytes
    "newscrawl.downloadermiddlewares.responses.PageResponseMiddleware": 587,
    # sees responses after decompression, before the guards and RetryMiddleware (a 503 challenge)
    "newscrawl.downloadermiddlewares.rendering.RenderMiddleware": 585,
}

# Huge listings (newscrawl.spidermiddlewares.listings): a listing page over this many bytes is scanned for its links, not
# parsed; article requests beyond NEWSCRAWL_LISTING_QUEUE queued ones wait as strings (0: never).
NEWSCRAWL_LISTING_STREAM_BYTES = 2 * 1024 * 1024
NEWSCRAWL_LISTING_QUEUE = 1000
SPIDER_MIDDLEWARES = {"newscrawl.spidermiddlewares.listings.ListingBacklog": 10}  # the last to see a callback's output
SPIDER_MIDDLEWARES["newscrawl.spidermiddlewares.spool.SpoolReplay"] = 20  # spooled articles of an earlier run, first
DOWNLOADER_MIDDLEWARES["newscrawl.spidermiddlewares.listings.HeadOnlyMiddleware"] = 586  # before meta refresh (580) decodes
# WARC backfills (`-a warc=`; docs/archives.md): a record's request is answered from the file, before any
# middleware that could reach the network; the scan keeps at most NEWSCRAWL_WARC_QUEUE requests scheduled.
DOWNLOADER_MIDDLEWARES["newscrawl.downloadermiddlewares.archives.WarcMiddleware"] = 10
NEWSCRAWL_WARC_QUEUE = 1000
# Common Crawl and the Wayback Machine (`-a commoncrawl=`, `-a wayback=1`; newscrawl.archives.remote): the services'
# addresses (tests point them at testkit.archiveserver), one download slot each at its documented rate, retries
# that wait as long as a 429/503 asks; deleted articles looked up in the Wayback Machine only when asked.
NEWSCRAWL_COMMONCRAWL_INDEX_URL = "https://index.commoncrawl.org"
NEWSCRAWL_COMMONCRAWL_DATA_URL = "https://data.commoncrawl.org"
NEWSCRAWL_WAYBACK_URL = "https://web.archive.org"
NEWSCRAWL_WAYBACK_FALLBACK = os.environ.get("NEWSCRAWL_WAYBACK_FALLBACK", "") in ("1", "true", "yes")
NEWSCRAWL_ARCHIVE_RETRY_TIMES = 6
NEWSCRAWL_ARCHIVE_MAX_BACKOFF = 600.0
DOWNLOAD_SLOTS = {
    "commoncrawl-index": {"concurrency": 1, "delay": 1.0, "jitter": 0},  # Common Crawl: at most 1 index query/s
    "commoncrawl-data": {"concurrency": 1, "delay": 0.5, "jitter": 0},
    "wayback-cdx": {"concurrency": 1, "delay": 2.5, "jitter": 0},  # the Internet Archive's 24 CDX queries a minute
    "wayback": {"concurrency": 1, "delay": 1.0, "jitter": 0},
}
DOWNLOADER_MIDDLEWARES["newscrawl.archives.middlewares.ArchiveBackoffMiddleware"] = 560  # before RetryMiddleware
DOWNLOADER_MIDDLEWARES["newscrawl.archives.middlewares.WaybackFallbackMiddleware"] = 570

EXTENSIONS = {
    # LogStats' periodic line with percent done and ETA (newscrawl.extensions.progress), every NEWSCRAWL_PROGRESS_SECONDS
    "scrapy.extensions.logstats.LogStats": None,
    "newscrawl.extensions.progress.ProgressStats": 0,
    "newscrawl.extensions.jobstate.ResumeMarker": 10,
    "newscrawl.extensions.report.CrawlReport": 500,
    # after CrawlReport: the monitors read the stats file it writes
    "spidermon.contrib.scrapy.extensions.Spidermon": 600,
}

# End-of-crawl health checks (newscrawl.extensions.monitors; docs/operations.md, "Monitoring"): a failed one makes `scrapy crawl` exit 1.
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["newscrawl.extensions.monitors.NewsMonitorSuite"]
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished", "closespider_timeout", "closespider_itemcount",
                                     "closespider_pagecount"]  # CLOSESPIDER_* limits asked for
SPIDERMON_MIN_SUCCESSFUL_REQUESTS = 1  # a crawl with no 200 at all (no network, blocked) failed
SPIDERMON_MIN_ITEMS = 1  # stored, when items are expected (newscrawl.extensions.monitors.items_expected)
SPIDERMON_MAX_ERRORS = 10  # ERROR lines; or NEWSCRAWL_MAX_ERROR_RATE x requests, whichever is more
NEWSCRAWL_MAX_ERROR_RATE = 0.01
# coverage over parsed articles, stored or dropped (newscrawl.extensions.monitors.coverage): fields as parsed/<field>
SPIDERMON_ADD_FIELD_COVERAGE = True
SPIDERMON_FIELD_COVERAGE_SKIP_NONE = True
SPIDERMON_FIELD_COVERAGE_RULES = {"parsed/title": 0.95, "parsed/body": 0.95, "parsed/published_at": 0.8}
NEWSCRAWL_MIN_COVERAGE_ITEMS = 20  # below that, one odd page moves coverage by more than 5 points
NEWSCRAWL_ALERT_WEBHOOK = os.environ.get("NEWSCRAWL_ALERT_WEBHOOK", "")  # POST JSON here on a failed check
NEWSCRAWL_ALERT_TIMEOUT = 10.0

# Distributed crawling: set NEWSCRAWL_REDIS_URL (and a NEWSCRAWL_CRAWL_ID per crawl) on every worker.
NEWSCRAWL_REDIS_URL = os.environ.get("NEWSCRAWL_REDIS_URL", "")
NEWSCRAWL_CRAWL_ID = os.environ.get("NEWSCRAWL_CRAWL_ID") or "default"
NEWSCRAWL_REDIS_IDLE_CLOSE = 10.0
NEWSCRAWL_REDIS_HEARTBEAT = 30.0  # seconds without a heartbeat before the fleet re-queues a worker's requests
ADDONS = {
    "newscrawl.fleet.RedisAddon": 100,
    # JOBDIR: one crawl at a time (a lock), and a request queue checked before Scrapy opens it
    "newscrawl.extensions.jobstate.JobdirGuard": 50,
    "newscrawl.extensions.cassettes.ReplayAddon": 0,  # NEWSCRAWL_REPLAY / NEWSCRAWL_RECORD
}

SPIDER_CONTRACTS = {
    "newscrawl.spiders.contracts.PathContract": 10,
}

# JavaScript rendering (newscrawl.downloadermiddlewares.rendering; docs/sites.md, "JavaScript pages"): Debian's Chromium through
# scrapy-playwright, only for pages that need it. The handler is plain HTTP until the first rendered page,
# so a plain crawl never starts Playwright or the browser. scrapy-playwright needs the asyncio reactor.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "newscrawl.downloadermiddlewares.rendering.BrowserDownloadHandler",
    "https": "newscrawl.downloadermiddlewares.rendering.BrowserDownloadHandler",
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
