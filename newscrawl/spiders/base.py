"""What spiders share. `BaseSpider` is the crawling every spider does (the site spiders and `generic`, which
build on it side by side): arguments, each URL once, incremental skipping, resumption, feeds, parse errors,
and the request meta that tells the middlewares what each request is. `NewsSpider` adds one site's crawl
modes (rss, archive, ids, url), its archive walk and its listing pages (newscrawl.pages.listing).

A CMS family subclasses `NewsSpider` and names its article page (`page_class`, newscrawl.pages); a site
subclasses its family and sets a few attributes (name, domains, base_url, paths, selector overrides,
template versions). Selectors are data: CSS by default, XPath when the string starts with "/" or "("
(newscrawl.parsing.selectors).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy

from newscrawl.archives import META_KEY
from newscrawl.archives.remote import RemoteArchives
from newscrawl.downloadermiddlewares.archives import WARC_KEY
from newscrawl.items import ArticleItem
from newscrawl.pages.base import log_notes
from newscrawl.pages.common import READ_MORE_RE, SIGNOFF_RE, on_domain, rebase, utc_instant
from newscrawl.pages.finish import NotAnArticle
from newscrawl.pages.listing import ArchivePage, FeedPage, ListingLink
from newscrawl.parsing.dates import jalali_str, parse_date_arg
from newscrawl.parsing.sanitize import url_problem
from newscrawl.parsing.selectors import sel
from newscrawl.spiders.arguments import ArgumentError, truthy

__all__ = ["ArgumentError", "BaseSpider", "NewsSpider", "TemplateSpider", "on_domain", "sel"]

MAX_IDS = 1_000_000


def parse_ids(spec: str) -> list[int]:
    """'818200-818300' or '1,5,7-9' → ids in the order given (ranges inclusive)."""
    ids: list[int] = []
    for part in str(spec).replace(" ", "").split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ArgumentError(f"ids: {part!r} is not a number or a range like 818200-818300")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if hi < lo:
            raise ArgumentError(f"ids: range {part!r} runs backwards")
        if len(ids) + hi - lo + 1 > MAX_IDS:
            raise ArgumentError(f"ids: more than {MAX_IDS:,} ids; split the crawl")
        ids.extend(range(lo, hi + 1))
    return ids


def with_archive(item: dict, response) -> dict:
    """The item with the provenance of an archived response (meta newscrawl.archives.META_KEY): its
    fetched_from, archive_ref and capture time; a live response's item is left as its page made it."""
    archive = (getattr(response, "meta", None) or {}).get(META_KEY)  # no meta without a request
    if archive:
        item["fetched_from"] = archive["fetched_from"]
        item["archive_ref"] = archive.get("archive_ref")
        item["captured_at"] = utc_instant(archive.get("captured_at")) or item.get("captured_at")
    return item


class BaseSpider(RemoteArchives, scrapy.Spider):
    """What every newscrawl spider does to crawl, whatever it reads: arguments checked once (`ARGS`,
    `check_args`), each URL requested once, articles already stored skipped before download (incremental),
    a resumed crawl walked again, feeds read (newscrawl.pages.listing), article pages read by the spider's
    `page_class` with parse errors counted, never raised.

    A spider says which URLs, in which order, with which callback and page (`initial_requests`, its
    callbacks, `page_class`, `news_code_from_url`, `site_of`); it tells the middlewares about each
    request in its meta, never through its methods or attributes:

    - `newscrawl_page`: the kind of page, "article", "listing" (an archive page), "feed" or "sitemap";
    - `newscrawl_expect`: the selectors of what the callback reads on it, most telling first (the render
      middleware's challenge and empty-shell check, and what Chromium waits for);
    - `newscrawl_code_re`: on an article request, a pattern whose first matching group is the URL's news
      code (the guard middleware skips an article redirected to a URL with another code).
    """

    ARGS: ClassVar[tuple[str, ...]] = ()
    #: the article page of the family (newscrawl.pages); the site's page is it plus the site's data
    page_class: ClassVar[type | None] = None
    #: the root URL of the one site the spider reads (None: any site)
    root: str | None = None
    #: the domains a browser rendering a page may load from (newscrawl.downloadermiddlewares.rendering;
    #: None: `allowed_domains`)
    browser_domains: list[str] | None = None

    def __init__(self, *args, **kwargs):
        spider_kwargs = {k: v for k, v in kwargs.items() if k not in self.ARGS}
        super().__init__(*args, **spider_kwargs)
        self.options = self.check_args(**{k: v for k, v in kwargs.items() if k in self.ARGS})
        #: hashes of the URLs requested in this process (see `request`): ~60 bytes each, not the ~370 of
        #: a Persian-slugged URL; a 64-bit collision in one crawl is not a practical risk
        self.seen: set[int] = set()
        self.resumed = False
        self.bypass_dupefilter = False
        #: the selectors `newscrawl_expect` names, by kind of page (see the class docstring)
        self.expect: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # JOBDIR persists the dupefilter; see `request` for why a resumable crawl goes around it
        spider.bypass_dupefilter = bool(crawler.settings.get("JOBDIR")) and not crawler.settings.get(
            "NEWSCRAWL_REDIS_URL")
        return spider

    # -- what each spider says -----------------------------------------------------------------------
    @classmethod
    def check_args(cls, **kwargs) -> dict[str, Any]:
        """The spider arguments, checked: a dict with at least `mode` and `incremental`; ArgumentError with
        a one-line message otherwise."""
        raise NotImplementedError

    def initial_requests(self):
        """The crawl's first requests (None for one not made: a URL given twice)."""
        raise NotImplementedError

    def news_code_from_url(self, url: str) -> str | None:
        raise NotImplementedError

    def rebase(self, url: str) -> str:
        """Where the crawl fetches a link it found (a spider reading a copy of a site points it there)."""
        return url

    def site_of(self, url: str) -> str:
        """The `site` an article at `url` is stored under (incremental crawling asks the store by it)."""
        return self.name

    def article_page(self, response, **hints):
        """The site's article page of a response (newscrawl.pages.site_page), with the crawl's hints."""
        from newscrawl.pages import site_page

        digits = self.settings.get("NEWSCRAWL_TEXT_DIGITS") if self.settings else None
        return site_page(type(self), self.root).from_response(response, digits=digits or "keep", **hints)

    def extract_article(self, response):
        """The page's item, or None when the page says it is no article; what the page noticed (a date it
        could not read, a news code unlike the URL's, an ignored canonical URL) is counted and logged."""
        page = self.article_page(response)
        try:
            return ArticleItem(**with_archive(page.to_item(), response))
        except NotAnArticle as exc:
            self.crawler.stats.inc_value(f"newscrawl/{exc.stat}")
            self.logger.info("%s: %s", exc, response.url)
            return None
        finally:
            log_notes(page.notes, self.logger, self.crawler.stats)

    # -- arguments ---------------------------------------------------------------------------------
    @classmethod
    def unknown_args(cls, kwargs) -> None:
        """Unknown names are an ArgumentError (Scrapyd adds its own `_job`, which is allowed)."""
        unknown = sorted(k for k in kwargs if k not in cls.ARGS and not k.startswith("_"))
        if unknown:
            raise ArgumentError(f"unknown argument {unknown[0]!r}; known: {', '.join(cls.ARGS)}")

    @staticmethod
    def incremental_arg(value: Any, default: bool) -> bool:
        """`incremental=1|0`, `default` when not given."""
        return default if value is None else truthy(value, "incremental")

    # -- crawl -----------------------------------------------------------------------------------------
    async def start(self):
        state = getattr(self, "state", None)  # set by Scrapy's SpiderState when JOBDIR is used
        if state is not None:
            self.resumed = bool(state.get("started"))
            state["started"] = True
        if self.resumed and not self.options["incremental"]:
            # the lost queue is rebuilt by walking everything again: stored articles are skipped, as fetching
            # them would change nothing (DedupPipeline drops them)
            self.options["incremental"] = True
            self.logger.info("resumed crawl: articles already stored are skipped before download")
        # -a commoncrawl= / -a wayback=: the archive's index instead of the site (newscrawl.archives.remote)
        for request in self.remote_requests() if self.remote_mode else self.initial_requests():
            if request is not None:
                if WARC_KEY in request.meta:
                    await self.warc_room()
                yield request

    def page_meta(self, page: str, url: str) -> dict[str, Any]:
        """The request meta that tells the middlewares what `url` is (see the class docstring)."""
        meta: dict[str, Any] = {"newscrawl_page": page}
        if self.expect.get(page):
            meta["newscrawl_expect"] = self.expect[page]
        if page == "article":
            pattern = self.code_pattern(url)
            if pattern:
                meta["newscrawl_code_re"] = pattern
        return meta

    def code_pattern(self, url: str) -> str | None:
        """The `newscrawl_code_re` of an article request for `url` (None: the guard compares whole URLs)."""
        return None

    def request(self, url: str, callback, page: str, meta: dict | None = None,
                **kwargs) -> scrapy.Request | None:
        """A request for a `page` ("article", "listing", "feed" or "sitemap"), once per URL per process.

        With JOBDIR it bypasses the persisted dupefilter: after a crash the articles that were in
        flight are neither queued nor stored, and a resumed crawl must be able to request them again.
        Stored articles are skipped by the database (incremental mode) instead. A Redis fleet keeps
        the shared dupefilter: it is what stops two workers fetching one URL."""
        key = hash(url)
        if key in self.seen or urlsplit(url).scheme not in ("http", "https"):  # javascript:, mailto:, data:
            return None
        self.seen.add(key)
        return scrapy.Request(url, callback=callback, dont_filter=self.bypass_dupefilter,
                              meta={**self.page_meta(page, url), **(meta or {})}, **kwargs)

    # -- WARC files (docs/archives.md) ----------------------------------------------------------------
    @staticmethod
    def warc_arg(value) -> list[str] | None:
        """`warc=PATH[,PATH...]` (globs allowed): the files, each checked to be a WARC file; ArgumentError
        with one line for a missing path, a glob matching nothing, or a file that is no WARC."""
        from newscrawl.archives.warc import WarcError, expand

        if value in (None, ""):
            return None
        try:
            return [str(path) for path in expand(str(value))]
        except WarcError as exc:
            raise ArgumentError(f"warc: {exc}") from None

    def on_site(self, url: str) -> bool:
        """Whether a WARC record's URL is on this crawl's hosts (`allowed_domains`; none: any host)."""
        domains = getattr(self, "allowed_domains", None) or []
        return not domains or on_domain(urlsplit(url).hostname, domains)

    def is_article_url(self, url: str) -> bool:
        """Whether a WARC record's URL is an article's, by the spider's URL rules (its news code)."""
        return self.news_code_from_url(url) is not None

    def warc_skip(self, record) -> str | None:
        """Why a WARC record is not read as an article (counted as newscrawl/warc/<reason>), or None. The
        reader's reasons first (newscrawl.archives.warc.REASONS), then: status (not a 200), bad-url, other-host,
        not-article."""
        from newscrawl.archives.warc import Skipped

        if isinstance(record, Skipped):
            return record.reason
        if record.status != 200:
            return "status"
        if url_problem(record.url):
            return "bad-url"
        if not self.on_site(record.url):
            return "other-host"
        if not self.is_article_url(record.url):
            return "not-article"
        return None

    def warc_requests(self, batch_size: int = 500):
        """One request per article record of the `warc` files, in file order; the other records counted as
        newscrawl/warc/<reason>. Records are scanned, not read (no body in memory): WarcMiddleware reads
        each when its request is downloaded. With `incremental` (the default), records that would not
        replace their article's stored copy are skipped (`_replacing`), `batch_size` at a time."""
        from newscrawl.archives.warc import iter_pages

        stats = self.crawler.stats
        max_bytes = self.settings.getint("DOWNLOAD_MAXSIZE") if self.settings else 0
        batch: list = []
        for path in self.options["warc"]:
            stats.inc_value("newscrawl/warc/files")
            for record in iter_pages(path, bodies=False, **({"max_bytes": max_bytes} if max_bytes else {})):
                stats.inc_value("newscrawl/warc/records")
                reason = self.warc_skip(record)
                if reason:
                    stats.inc_value(f"newscrawl/warc/{reason}")
                    if reason in ("truncated", "bad-record"):  # a damaged file (or record): one line each
                        self.logger.warning("%s: the record at byte %d is %s (%s)%s", path, record.offset,
                                            "cut short" if reason == "truncated" else "damaged",
                                            record.url or "no URL",
                                            "" if record.url else "; the rest of the file is not read")
                    continue
                batch.append((path, record))
                if len(batch) >= batch_size:
                    yield from self._warc_batch(batch)
                    batch = []
        yield from self._warc_batch(batch)

    def _warc_batch(self, batch: list):
        if self.options["incremental"]:
            batch = self._replacing(batch)
        for path, record in batch:
            self.crawler.stats.inc_value("newscrawl/warc/articles")
            meta = {**self.page_meta("article", record.url), META_KEY: record.meta("warc"),
                    WARC_KEY: (path, record.offset), "dont_redirect": True, "dont_retry": True,
                    "dont_obey_robotstxt": True, "dont_merge_cookies": True}
            # every record once, whatever its URL: two captures of one article both reach the dedup pipeline
            yield scrapy.Request(record.url, callback=self.parse_article, meta=meta, dont_filter=True)

    def _replacing(self, batch: list) -> list:
        """The records of `batch` whose capture would replace the stored copy of their article, or that
        have none (newscrawl.db.store.better: live over archive, the earliest capture among archives); the
        others are counted as newscrawl/incremental/skipped. One query per site and batch."""
        from scrapy.exceptions import CloseSpider

        from newscrawl.db.store import StorageError, StorageFull, better, store_for
        from newscrawl.extensions.halt import DATABASE_UNAVAILABLE, DISK_FULL, halt_for

        store = store_for(self.crawler, create=False)
        if store is None or store.engine is None or not batch:
            return batch
        keys = [(self.site_of(record.url), self.news_code_from_url(record.url)) for _, record in batch]
        by_site: dict[str, list[str]] = {}
        for site, code in keys:
            if code:
                by_site.setdefault(site, []).append(code)
        try:
            copies = {(site, code): copy for site, codes in by_site.items()
                      for code, copy in store.stored_copies(site, codes).items()}
        except StorageError as exc:
            reason = DISK_FULL if isinstance(exc, StorageFull) else DATABASE_UNAVAILABLE
            halt_for(self.crawler).stop(reason, str(exc))
            raise CloseSpider(reason) from None
        kept = [(path, record) for (path, record), key in zip(batch, keys, strict=True)
                if key not in copies or better(record.meta("warc"), copies[key])]
        self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(batch) - len(kept))
        return kept

    async def warc_room(self) -> None:
        """Wait while the scheduler holds NEWSCRAWL_WARC_QUEUE requests: the scan keeps pace with the crawl,
        so a WARC of a million records never becomes a million queued requests."""
        limit = self.settings.getint("NEWSCRAWL_WARC_QUEUE") if self.settings else 0
        engine = getattr(self.crawler, "engine", None)
        while limit > 0 and engine is not None and engine.running and len(engine.scheduler) >= limit:
            await asyncio.sleep(0.01)

    def known_codes(self, codes: list[str], site: str | None = None, than: dict | None = None) -> set[str]:
        """News codes already stored for `site` (default: this spider's name), for incremental crawling;
        those a copy like `than` (archive meta; default: a live fetch) would not replace; empty when there
        is no store. A database that stays unreachable (or a full disk) stops the crawl
        here (newscrawl.extensions.halt) rather than killing a listing callback with a traceback."""
        from scrapy.exceptions import CloseSpider

        from newscrawl.db.store import StorageError, StorageFull, store_for
        from newscrawl.extensions.halt import DATABASE_UNAVAILABLE, DISK_FULL, halt_for

        store = store_for(self.crawler, create=False)
        if store is None or store.engine is None or not codes:  # no storage in this crawl (`scrapy check`)
            return set()
        try:
            return store.known_codes(site or self.name, codes, **({"than": than} if than else {}))
        except StorageError as exc:
            reason = DISK_FULL if isinstance(exc, StorageFull) else DATABASE_UNAVAILABLE
            halt_for(self.crawler).stop(reason, str(exc))
            raise CloseSpider(reason) from None

    def new_links(self, urls: list[str], than: dict | None = None) -> list[str]:
        """Each link once, in page order, without those to articles already stored (when incremental),
        before downloading them: stored under (`site_of`, `news_code_from_url`). The database is asked
        5,000 links at a time: a 100,000-link listing never builds one giant set or query
        (newscrawl.spidermiddlewares.listings)."""
        urls, size = list(dict.fromkeys(urls)), 5000
        if not self.options["incremental"]:
            return urls
        fresh: list[str] = []
        for start in range(0, len(urls), size):
            chunk = urls[start:start + size]
            keys = [(self.site_of(url), self.news_code_from_url(url)) for url in chunk]
            by_site: dict[str, list[str]] = {}
            for site, code in keys:
                if code:
                    by_site.setdefault(site, []).append(code)
            known = {(site, code) for site, codes in by_site.items()
                     for code in self.known_codes(codes, site, than)}
            fresh.extend(url for url, key in zip(chunk, keys, strict=True) if key not in known)
        self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(urls) - len(fresh))
        return fresh

    def article_requests(self, links, **meta):
        """Requests for article links (ListingLink: the URL and the listing's date for it, if any), each link
        once, to `parse_article`. Beyond what the scheduler should hold, they wait in
        newscrawl.spidermiddlewares.listings.ListingBacklog as short tuples."""
        for url, date_ in dict.fromkeys(links):
            extra = {"listing_date": date_, **meta} if date_ else meta
            request = self.request(self.rebase(url), self.parse_article, "article", meta=extra)
            if request is not None:
                yield request

    def feed_requests(self, response):
        """The article requests of an RSS or Atom feed: its new links, pubDate/published kept as a fallback
        date, marked `from_feed` (the generic spider takes a feed's page for an article)."""
        links = FeedPage.from_response(response).links
        self.crawler.stats.inc_value("newscrawl/listing/rss_links", len(links))
        if not links:
            self.logger.warning("no article links in feed %s", response.url)
        yield from self.article_requests(self.fresh(links), from_feed=True)

    def fresh(self, links: list[ListingLink]) -> list[ListingLink]:
        """`new_links` of listing links, each with the last date the listing gave its URL."""
        dates: dict[str, str | None] = {}
        for url, date_ in links:
            if date_ or url not in dates:
                dates[url] = date_
        return [ListingLink(url, dates[url]) for url in self.new_links(list(dates))]

    def article_items(self, response):
        """The item of an article page, when it is one: a broken page never stops the crawl, it is counted
        (`newscrawl/parse_errors`) and logged."""
        try:
            item = self.extract_article(response)
        except Exception as exc:  # a broken page must never stop the crawl
            self.crawler.stats.inc_value("newscrawl/parse_errors")
            self.logger.error("cannot parse %s: %s: %s", response.url, type(exc).__name__, exc)
            return
        if item is not None:
            yield item


class NewsSpider(BaseSpider):
    """Base of all site spiders. Spider arguments (all optional):

    mode=rss|archive|ids|url|warc (inferred from the other arguments when absent), since/until (archive;
    Jalali 1397/04/30 or Gregorian 2018-07-21, 'today', 'yesterday'), ids=818200-818300, url=<article>,
    service=<service id>, base_url=<override scheme://host[/prefix], e.g. the local test site>,
    warc=<WARC files: paths or globs, comma-separated; the site's article records are read from them>,
    commoncrawl=<CC-MAIN-YYYY-WW or CC-NEWS> or wayback=1 with since/until (newscrawl.archives.remote).
    """

    family: ClassVar[str] = ""
    #: the site's real root; `-a base_url=` replaces it (e.g. http://127.0.0.1:8000)
    base_url: ClassVar[str] = ""
    rss_path: ClassVar[str | None] = None
    service_rss_path: ClassVar[str | None] = None
    #: format fields: {since} {until} as Jalali YYYY/MM/DD, {service}
    archive_path: ClassVar[str | None] = None
    archive_service_path: ClassVar[str | None] = None
    archive_per_day: ClassVar[bool] = False
    #: format field {id}
    article_path: ClassVar[str | None] = None
    #: news code from an article URL (group 1)
    article_url_re: ClassVar[str] = r"/news/(\d+)"
    selectors: ClassVar[dict[str, str]] = {}
    selector_overrides: ClassVar[dict[str, str]] = {}
    #: paths used by `scrapy check` (contracts), relative to base_url
    contract_paths: ClassVar[dict[str, str]] = {}
    #: pages always rendered in Chromium: {"listing"} (archive pages), {"article"} or both
    #: (newscrawl.downloadermiddlewares.rendering); other pages are rendered only when they come back as a challenge or shell
    render: ClassVar[frozenset[str]] = frozenset()
    #: a closing line that is not article text
    signoff_re: ClassVar[str] = SIGNOFF_RE
    #: a "read more" box inside the body links elsewhere (Khabaronline's «بیشتر بخوانید:»)
    read_more_re: ClassVar[str] = READ_MORE_RE
    #: template variants by date: ((until ISO date, selector overrides), ..., (None, today's overrides));
    #: a page is read with the variant of its own date (newscrawl.pages.article)
    template_versions: ClassVar[tuple[tuple[str | None, dict[str, str]], ...]] = ()

    ARGS = ("mode", "since", "until", "ids", "url", "service", "base_url", "incremental", "warc", "commoncrawl",
            "wayback")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.root = self.options["base_url"] or self.base_url
        hosts = {urlsplit(self.root).hostname or ""} | set(getattr(self, "allowed_domains", None) or [])
        self.allowed_domains = sorted(h for h in hosts if h)
        if self.options["base_url"]:  # a copy of the site: the browser never loads from the real one
            self.browser_domains = [urlsplit(self.root).hostname or ""]
        self.sel_map = self.selector_map()
        self.expect = {"listing": self.expected("archive_links"), "article": self.expected("body", "title")}
        #: archive mode: which days earlier runs completed (newscrawl.db.ranges), set when the crawl starts
        self.walk = None

    @classmethod
    def selector_map(cls) -> dict[str, str]:
        """The family's selectors with the site's overrides on top (an instance keeps it as `sel_map`)."""
        return {**cls.selectors, **cls.selector_overrides}

    def expected(self, *keys: str) -> tuple[str, ...]:
        """The selectors of `keys` the site has, for `newscrawl_expect`; none when it lacks the first (then
        only a challenge's markers tell a page is not what the callback reads)."""
        found = [self.sel_map.get(key) for key in keys]
        return tuple(q for q in found if q) if found[0] else ()

    # -- arguments ---------------------------------------------------------------------------------
    @classmethod
    def modes(cls) -> tuple[str, ...]:
        available = []
        if cls.rss_path:
            available.append("rss")
        if cls.archive_path:
            available.append("archive")
        if cls.article_path:
            available.append("ids")
        available.extend(("url", "warc"))
        return tuple(available)

    @classmethod
    def check_args(cls, **kwargs) -> dict[str, Any]:
        """Validate spider arguments; raise ArgumentError with a one-line message. Unknown names are
        rejected by the crawl command (Scrapyd adds its own `_job`, which is allowed)."""
        cls.unknown_args(kwargs)
        remote = cls.remote_options(kwargs)  # commoncrawl= or wayback= (newscrawl.archives.remote)
        if remote is not None:
            return remote
        opts: dict[str, Any] = dict.fromkeys(cls.ARGS)
        opts.update({k: v for k, v in kwargs.items() if k in cls.ARGS and v not in (None, "")})
        mode = opts["mode"]
        if mode is None:
            mode = ("warc" if opts["warc"] else "url" if opts["url"] else "ids" if opts["ids"] else
                    "archive" if (opts["since"] or opts["until"]) else cls.modes()[0])
        if mode not in cls.modes():
            raise ArgumentError(f"mode: {mode!r} is not one of {', '.join(cls.modes())} for {cls.name}")
        opts["mode"] = mode
        if opts["base_url"]:
            parts = urlsplit(opts["base_url"])
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ArgumentError(f"base_url: {opts['base_url']!r} is not an http(s) URL")
            opts["base_url"] = opts["base_url"].rstrip("/")
        if mode == "url":
            if not opts["url"]:
                raise ArgumentError("url mode needs -a url=<article URL>")
            host = urlsplit(opts["url"]).hostname or ""
            known = set(getattr(cls, "allowed_domains", None) or []) | {
                urlsplit(opts["base_url"] or cls.base_url).hostname or ""}
            if not on_domain(host, known):
                raise ArgumentError(f"url: {opts['url']!r} is not on {cls.name} ({', '.join(sorted(known))})")
        elif opts["url"]:
            raise ArgumentError(f"url is only for mode=url, not mode={mode}")
        if mode == "ids":
            if not opts["ids"]:
                raise ArgumentError("ids mode needs -a ids=<from-to>, e.g. ids=818200-818300")
            opts["ids"] = parse_ids(opts["ids"])
        elif opts["ids"]:
            raise ArgumentError(f"ids is only for mode=ids, not mode={mode}")
        if mode == "archive":
            try:
                until = parse_date_arg(opts["until"], "until") if opts["until"] else None
                since = parse_date_arg(opts["since"], "since") if opts["since"] else None
            except ValueError as exc:
                raise ArgumentError(str(exc)) from None
            until = until or parse_date_arg("today")
            since = since or until
            if since > until:
                raise ArgumentError(f"since ({since}) is after until ({until})")
            opts["since"], opts["until"] = since, until
        elif opts["since"] or opts["until"]:
            raise ArgumentError(f"since/until are only for mode=archive, not mode={mode}")
        if mode == "warc" and not opts["warc"]:
            raise ArgumentError("warc mode needs -a warc=<file.warc.gz>[,<file>...] (globs allowed)")
        if opts["warc"] and mode != "warc":
            raise ArgumentError(f"warc is only for mode=warc, not mode={mode}")
        opts["warc"] = cls.warc_arg(opts["warc"])
        # warc: a record is skipped when the stored copy is as good (newscrawl.db.store.better)
        opts["incremental"] = cls.incremental_arg(opts["incremental"], default=mode in ("rss", "archive", "warc"))
        if opts["service"] is not None and not re.fullmatch(r"[\w-]+", str(opts["service"])):
            raise ArgumentError(f"service: {opts['service']!r} is not a service id")
        return opts

    # -- URLs ----------------------------------------------------------------------------------------
    def site_url(self, path: str) -> str:
        return self.root + path

    def rebase(self, url: str) -> str:
        """Point an absolute link on the real site at the overridden base_url (local test site)."""
        return rebase(url, self.base_url, self.root) if self.options["base_url"] else url

    def news_code_from_url(self, url: str) -> str | None:
        m = re.search(self.article_url_re, url)
        return m.group(1) if m else None

    def code_pattern(self, url: str) -> str:
        return self.article_url_re

    def archive_urls(self, since: date, until: date):
        """First listing page(s) of the archive: one URL for the range, or one per day when the
        site's archive shows a single day (`archive_per_day`, format fields {year} {month} {day})."""
        service = self.options["service"]
        template = self.archive_service_path if service and self.archive_service_path else self.archive_path
        if not self.archive_per_day:
            yield self.site_url(template.format(since=jalali_str(since), until=jalali_str(until), service=service))
            return
        day = until
        while day >= since:  # newest first, like the site's own archive
            year, month, dom = (int(p) for p in jalali_str(day).split("/"))
            yield self.site_url(template.format(year=year, month=month, day=dom, service=service))
            day -= timedelta(days=1)

    # -- crawl -----------------------------------------------------------------------------------------
    async def start(self):
        if self.options["mode"] == "archive":  # before the first listing page: it may stop the walk
            self.walk = self.open_walk()
        async for request in super().start():
            yield request

    def open_walk(self):
        """The archive's completeness records (newscrawl.db.ranges): where an all-known page may stop the walk."""
        from newscrawl.db.ranges import ArchiveWalk
        from newscrawl.db.store import StorageError, store_for

        opts = self.options
        walk = ArchiveWalk(self.crawler, self.name, opts["service"] or "", opts["since"], opts["until"],
                           self.archive_per_day)
        try:
            engine = store_for(self.crawler).open().engine
        except StorageError as exc:
            self.logger.warning("%s: the whole archive range is walked", exc)
            engine = None
        walk.open(engine)
        return walk

    def initial_requests(self):
        mode, opts = self.options["mode"], self.options
        if mode == "rss":
            path = self.service_rss_path.format(service=opts["service"]) if (
                opts["service"] and self.service_rss_path) else self.rss_path
            yield self.request(self.site_url(path), self.parse_rss, "feed")
        elif mode == "archive":
            from newscrawl.db.ranges import FIRST, LISTING, listing_keys

            keys = listing_keys(opts["since"], opts["until"], self.archive_per_day)
            for url, key in zip(self.archive_urls(opts["since"], opts["until"]), keys, strict=True):
                yield self.request(url, self.parse_archive, "listing", meta={LISTING: key, FIRST: True})
        elif mode == "ids":
            codes = [str(i) for i in opts["ids"]]
            known = self.known_codes(codes) if opts["incremental"] else set()  # on when resumed (start)
            if known:  # progress counts them as done
                self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(known))
            for code in codes:
                if code not in known:
                    yield self.request(self.site_url(self.article_path.format(id=code)), self.parse_article,
                                       "article")
        elif mode == "warc":
            yield from self.warc_requests()
        else:
            yield self.request(self.rebase(opts["url"]), self.parse_article, "article")

    def parse_rss(self, response):
        """Article links of an RSS or Atom feed (`feed_requests`).

        @path rss
        @returns requests 1
        """
        yield from self.feed_requests(response)

    def parse_archive(self, response):
        """Article links of an archive page (newscrawl.pages.listing.ArchivePage), then the next page.

        @path archive
        @returns requests 1
        """
        from newscrawl.db.ranges import FIRST, LISTING, PASSED

        page = ArchivePage.from_response(response, links_selector=self.sel_map["archive_links"],
                                         next_selector=self.sel_map.get("archive_next", ""),
                                         scan_bytes=self.settings.getint("NEWSCRAWL_LISTING_STREAM_BYTES"))
        found = page.links  # a huge page is scanned, not parsed
        if page.scanned:
            self.crawler.stats.inc_value("newscrawl/listing/scanned")
            self.logger.info("scanned %s without a tree: %d links in %.1f MB", response.url, len(found),
                             len(response.body) / 2**20)
        links = [link.url for link in found if self.news_code_from_url(link.url)]
        self.crawler.stats.inc_value("newscrawl/listing/archive_pages")
        self.crawler.stats.inc_value("newscrawl/listing/archive_links", len(links))
        fresh = self.new_links(links)
        yield from self.article_requests(ListingLink(url) for url in fresh)
        listing, passed = response.meta.get(LISTING), tuple(response.meta.get(PASSED, ()))
        if self.walk is not None:
            passed = self.walk.page(listing, map(self.news_code_from_url, links), passed,
                                    first=bool(response.meta.get(FIRST)))
        all_known = bool(links) and not fresh
        if all_known and not self.resumed and self.walk is not None and self.walk.may_stop(listing, passed):
            # a whole page of known articles, in days an earlier run completed (newscrawl.db.ranges): the rest
            # of the listing is older and already stored (a resumed crawl walks on: articles in flight at
            # the crash may be further back)
            self.logger.info("archive page %s is all known; not paginating further", response.url)
            self.crawler.stats.inc_value("newscrawl/incremental/archive_stopped")
        elif page.next_page and links:
            if all_known:  # its days are not all recorded complete: an earlier run may have left holes
                self.crawler.stats.inc_value("newscrawl/incremental/archive_walked_on")
            # after this page's articles: otherwise Scrapy's last-in-first-out queue reads every listing
            # page first and holds every article request of the archive in memory at once
            request = self.request(self.rebase(page.next_page), self.parse_archive, "listing", priority=-1,
                                   meta={LISTING: listing, PASSED: passed})
            if request is not None:
                yield request

    def parse_article(self, response):
        """One article page → one item (validation happens in the pipelines).

        @path article
        @returns items 1 1
        @scrapes site news_code url title body published_at_raw
        """
        yield from self.article_items(response)


class TemplateSpider(NewsSpider):
    """A family whose pages are read with a selector map (`selectors`, overridden per site): its
    `page_class` is a newscrawl.pages.article.TemplateArticlePage, which lists the keys."""
