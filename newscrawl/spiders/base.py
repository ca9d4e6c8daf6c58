"""What every news site spider shares: crawl modes, argument checking, listing pages, error accounting.

A CMS family subclasses `NewsSpider` and implements `extract_article`; a site subclasses its family and
sets a few attributes (name, domains, base_url, paths, selector overrides). Selectors are data: CSS by
default, XPath when the string starts with "/" or "(".
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import scrapy
from parsel import Selector, SelectorList

from newscrawl.parsing.dates import jalali_str, parse_date_arg, parse_rfc822, to_tehran_iso
from newscrawl.parsing.loaders import ArticleLoader
from newscrawl.parsing.pageindex import PageIndex

MAX_IDS = 1_000_000


class ArgumentError(ValueError):
    """A bad spider argument; the crawl command prints it as one line and exits 2."""


def _truthy(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ArgumentError(f"{name}: expected 1 or 0, got {value!r}")


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


_DATE_LABEL = re.compile(r"^\s*[^0-9۰-۹٠-٩:]{1,30}:\s*")


def on_domain(host: str, domains) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one (the one rule for every domain check)."""
    return any(d and (host == d or host.endswith("." + d)) for d in domains)


def strip_date_label(text: str) -> str:
    """«تاریخ انتشار: ۲۱ تیر ۱۳۹۸ - ۱۷:۲۱» → the date as shown, without the label before its colon."""
    return _DATE_LABEL.sub("", text or "", count=1)


def sel(root: Selector | SelectorList, query: str, index: PageIndex | None = None,
        first: bool = False) -> SelectorList:
    """Run a site selector: XPath if it starts with '/' or '(' (or './'), else CSS.

    A CSS group («.body, #newsMainBody, .khabar-matn») lists a site's template variants, most likely
    first. Each part run by parsel costs a pass over the page, the largest cost of extraction, so with the
    page's `index`: parts naming a class or id the page lacks are skipped unseen, and parts in the index's
    subset are answered from it (see pageindex). With `first`, the parts are tried in order and the first
    that matches wins (for one-element fields); without, every part counts, in page order."""
    if not query:
        return SelectorList([])
    if query.startswith(("/", "(", "./")):
        return root.xpath(query)
    parts = _css_parts(query)
    scope = getattr(root, "selector", root)  # a response: its parsed page
    if index is None or not isinstance(scope, Selector):
        return _css_group(root, parts, first)

    def present(part: str) -> bool:
        return all(index.has(kind, name) for kind, name in _names(part))

    matched = []
    for i, part in enumerate(parts):
        if not present(part):
            continue
        found = index.select(scope, part)
        if found is None:  # outside the index's subset: parsel answers from here on
            rest = parts[i:] if first else parts
            return _css_group(root, [p for p in rest if present(p)], first)
        if found and first:
            return found
        if found:
            matched.append(found)
    if len(matched) > 1:  # several parts matched: XPath's union keeps page order
        return _css_group(root, [p for p in parts if present(p)], False)
    return matched[0] if matched else SelectorList([])


def _css_group(root, parts: list[str], first: bool) -> SelectorList:
    if not first:
        group = ", ".join(parts)
        return root.css(group) if group else SelectorList([])
    for part in parts:
        found = root.css(part)
        if found:
            return found
    return SelectorList([])


@functools.lru_cache(maxsize=1024)
def _names(part: str) -> tuple[tuple[str, str], ...]:
    """The classes (".", name) and ids ("#", name) a CSS selector requires: all must be on the page."""
    bare = re.sub(r"\[[^\]]*\]|::?[\w-]+(\([^)]*\))?", "", part)
    return tuple((kind, name) for kind, name in re.findall(r"([.#])([\w-]+)", bare))


@functools.lru_cache(maxsize=1024)
def _css_parts(query: str) -> tuple[str, ...]:
    """A CSS selector group split at its top-level commas (none occur inside [..] or (..) here)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(query):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(query[start:i].strip())
            start = i + 1
    parts.append(query[start:].strip())
    return tuple(p for p in parts if p)


class NewsSpider(scrapy.Spider):
    """Base of all site spiders. Spider arguments (all optional):

    mode=rss|archive|ids|url (inferred from the other arguments when absent), since/until (archive;
    Jalali 1397/04/30 or Gregorian 2018-07-21, 'today', 'yesterday'), ids=818200-818300, url=<article>,
    service=<service id>, base_url=<override scheme://host[/prefix], e.g. the local test site>.
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
    signoff_re: ClassVar[str] = r"(انتهای پیام|انتهای خبر|پایان خبر)\s*[/.]?"
    #: a "read more" box inside the body links elsewhere (Khabaronline's «بیشتر بخوانید:»)
    read_more_re: ClassVar[str] = r"\s*(بیشتر بخوانید|بخوانید|پیشنهاد ما|مطالب مرتبط)\s*:"

    ARGS = ("mode", "since", "until", "ids", "url", "service", "base_url", "incremental")

    def __init__(self, *args, **kwargs):
        spider_kwargs = {k: v for k, v in kwargs.items() if k not in self.ARGS}
        super().__init__(*args, **spider_kwargs)
        self.options = self.check_args(**{k: v for k, v in kwargs.items() if k in self.ARGS})
        self.root = self.options["base_url"] or self.base_url
        hosts = {urlsplit(self.root).hostname or ""} | set(getattr(self, "allowed_domains", None) or [])
        self.allowed_domains = sorted(h for h in hosts if h)
        self.sel_map = self.selector_map()
        #: hashes of the URLs requested in this process (see `request`): ~60 bytes each, not the ~370 of
        #: a Persian-slugged URL; a 64-bit collision in one crawl is not a practical risk
        self.seen: set[int] = set()
        self.resumed = False
        self.bypass_dupefilter = False
        #: archive mode: which days earlier runs completed (newscrawl.db.ranges), set when the crawl starts
        self.walk = None

    @classmethod
    def selector_map(cls) -> dict[str, str]:
        """The family's selectors with the site's overrides on top (an instance keeps it as `sel_map`)."""
        return {**cls.selectors, **cls.selector_overrides}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # JOBDIR persists the dupefilter; see `request` for why a resumable crawl goes around it
        spider.bypass_dupefilter = bool(crawler.settings.get("JOBDIR")) and not crawler.settings.get(
            "NEWSCRAWL_REDIS_URL")
        return spider

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
        available.append("url")
        return tuple(available)

    @classmethod
    def check_args(cls, **kwargs) -> dict[str, Any]:
        """Validate spider arguments; raise ArgumentError with a one-line message. Unknown names are
        rejected by the crawl command (Scrapyd adds its own `_job`, which is allowed)."""
        unknown = sorted(k for k in kwargs if k not in cls.ARGS and not k.startswith("_"))
        if unknown:
            raise ArgumentError(f"unknown argument {unknown[0]!r}; known: {', '.join(cls.ARGS)}")
        opts: dict[str, Any] = dict.fromkeys(cls.ARGS)
        opts.update({k: v for k, v in kwargs.items() if k in cls.ARGS and v not in (None, "")})
        mode = opts["mode"]
        if mode is None:
            mode = ("url" if opts["url"] else "ids" if opts["ids"] else
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
            if cls.name != "generic" and not on_domain(host, known):
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
        default_incremental = mode in ("rss", "archive")
        opts["incremental"] = (default_incremental if opts["incremental"] is None
                               else _truthy(opts["incremental"], "incremental"))
        if opts["service"] is not None and not re.fullmatch(r"[\w-]+", str(opts["service"])):
            raise ArgumentError(f"service: {opts['service']!r} is not a service id")
        return opts

    # -- URLs ----------------------------------------------------------------------------------------
    def site_url(self, path: str) -> str:
        return self.root + path

    def rebase(self, url: str) -> str:
        """Point an absolute link on the real site at the overridden base_url (local test site)."""
        if not self.options["base_url"]:
            return url
        parts = urlsplit(url)
        real = urlsplit(self.base_url)
        host = parts.hostname or ""
        real_host = (real.hostname or "").removeprefix("www.")
        if host and on_domain(host, [real_host]):
            base = urlsplit(self.root)
            return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))
        return url

    def news_code_from_url(self, url: str) -> str | None:
        m = re.search(self.article_url_re, url)
        return m.group(1) if m else None

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
        state = getattr(self, "state", None)  # set by Scrapy's SpiderState when JOBDIR is used
        if state is not None:
            self.resumed = bool(state.get("started"))
            state["started"] = True
        if self.resumed and not self.options["incremental"]:
            # the lost queue is rebuilt by walking everything again: stored articles are skipped, as fetching
            # them would change nothing (DedupPipeline drops them)
            self.options["incremental"] = True
            self.logger.info("resumed crawl: articles already stored are skipped before download")
        if self.options["mode"] == "archive":
            self.walk = self.open_walk()
        for request in self.initial_requests():
            if request is not None:
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

    def request(self, url: str, callback, **kwargs) -> scrapy.Request | None:
        """A request, once per URL per process.

        With JOBDIR it bypasses the persisted dupefilter: after a crash the articles that were in
        flight are neither queued nor stored, and a resumed crawl must be able to request them again.
        Stored articles are skipped by the database (incremental mode) instead. A Redis fleet keeps
        the shared dupefilter: it is what stops two workers fetching one URL."""
        key = hash(url)
        if key in self.seen or urlsplit(url).scheme not in ("http", "https"):  # javascript:, mailto:, data:
            return None
        self.seen.add(key)
        return scrapy.Request(url, callback=callback, dont_filter=self.bypass_dupefilter, **kwargs)

    def initial_requests(self):
        mode, opts = self.options["mode"], self.options
        if mode == "rss":
            path = self.service_rss_path.format(service=opts["service"]) if (
                opts["service"] and self.service_rss_path) else self.rss_path
            yield self.request(self.site_url(path), self.parse_rss)
        elif mode == "archive":
            from newscrawl.db.ranges import FIRST, LISTING, listing_keys

            keys = listing_keys(opts["since"], opts["until"], self.archive_per_day)
            for url, key in zip(self.archive_urls(opts["since"], opts["until"]), keys, strict=True):
                yield self.request(url, self.parse_archive, meta={LISTING: key, FIRST: True})
        elif mode == "ids":
            codes = [str(i) for i in opts["ids"]]
            known = self.known_codes(codes) if opts["incremental"] else set()  # on when resumed (start)
            if known:  # progress counts them as done
                self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(known))
            for code in codes:
                if code not in known:
                    yield self.request(self.site_url(self.article_path.format(id=code)), self.parse_article)
        else:
            yield self.request(self.rebase(opts["url"]), self.parse_article)

    def known_codes(self, codes: list[str], site: str | None = None) -> set[str]:
        """News codes already stored for `site` (default: this spider's name), for incremental crawling;
        empty when there is no store. A database that stays unreachable (or a full disk) stops the crawl
        here (newscrawl.extensions.halt) rather than killing a listing callback with a traceback."""
        from scrapy.exceptions import CloseSpider

        from newscrawl.db.store import StorageError, StorageFull, store_for
        from newscrawl.extensions.halt import DATABASE_UNAVAILABLE, DISK_FULL, halt_for

        store = store_for(self.crawler, create=False)
        if store is None or store.engine is None or not codes:  # no storage in this crawl (`scrapy check`)
            return set()
        try:
            return store.known_codes(site or self.name, codes)
        except StorageError as exc:
            reason = DISK_FULL if isinstance(exc, StorageFull) else DATABASE_UNAVAILABLE
            halt_for(self.crawler).stop(reason, str(exc))
            raise CloseSpider(reason) from None

    def new_links(self, urls: list[str]) -> list[str]:
        """Each link once, in page order, without those to articles already stored (when incremental),
        before downloading them. The database is asked 5,000 links at a time: a 100,000-link listing never
        builds one giant set or query (newscrawl.spidermiddlewares.listings)."""
        urls, size = list(dict.fromkeys(urls)), 5000
        if not self.options["incremental"]:
            return urls
        fresh: list[str] = []
        for start in range(0, len(urls), size):
            chunk = urls[start:start + size]
            codes = [self.news_code_from_url(url) for url in chunk]
            known = self.known_codes([c for c in codes if c])
            fresh.extend(url for url, code in zip(chunk, codes, strict=True) if code not in known)
        self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(urls) - len(fresh))
        return fresh

    def article_requests(self, urls, meta_dates: dict[str, str] | None = None):
        """Requests for article links found on a listing page (RSS, archive), each link once. Beyond what
        the scheduler should hold, they wait in newscrawl.spidermiddlewares.listings.ListingBacklog as short tuples."""
        for url in dict.fromkeys(urls):
            meta = {"listing_date": meta_dates[url]} if meta_dates and meta_dates.get(url) else {}
            request = self.request(self.rebase(url), self.parse_article, meta=meta)
            if request is not None:
                yield request

    def parse_rss(self, response):
        """Article links of an RSS or Atom feed; pubDate/published kept as a fallback date, and the
        requests marked `from_feed` (the generic spider takes a feed's page for an article).

        @path rss
        @returns requests 1
        """
        response.selector.remove_namespaces()
        urls, dates = [], {}
        for entry in response.xpath("//item | //entry"):
            link = (entry.xpath("link/text()").get() or entry.xpath(
                'link[not(@rel) or @rel="alternate"]/@href').get() or entry.xpath("guid/text()").get() or "").strip()
            if not link:
                continue
            url = response.urljoin(link)
            urls.append(url)
            stamp = entry.xpath("pubDate/text() | published/text() | updated/text()").get()
            published = parse_rfc822((stamp or "").strip())
            if published:
                dates[url] = to_tehran_iso(published)
        self.crawler.stats.inc_value("newscrawl/listing/rss_links", len(urls))
        if not urls:
            self.logger.warning("no article links in feed %s", response.url)
        for request in self.article_requests(self.new_links(urls), dates):
            request.meta["from_feed"] = True
            yield request

    def parse_archive(self, response):
        """Article links of an archive page, then the next page.

        @path archive
        @returns requests 1
        """
        from newscrawl.spidermiddlewares.listings import listing_links

        links = listing_links(self, response)  # a huge page is scanned, not parsed
        links = [u for u in links if self.news_code_from_url(u)]
        self.crawler.stats.inc_value("newscrawl/listing/archive_pages")
        self.crawler.stats.inc_value("newscrawl/listing/archive_links", len(links))
        fresh = self.new_links(links)
        yield from self.article_requests(fresh)
        next_href = sel(response, self.sel_map.get("archive_next", "")).get()
        from newscrawl.db.ranges import FIRST, LISTING, PASSED

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
        elif next_href and links:
            if all_known:  # its days are not all recorded complete: an earlier run may have left holes
                self.crawler.stats.inc_value("newscrawl/incremental/archive_walked_on")
            # after this page's articles: otherwise Scrapy's last-in-first-out queue reads every listing
            # page first and holds every article request of the archive in memory at once
            request = self.request(self.rebase(response.urljoin(next_href.strip())), self.parse_archive,
                                   priority=-1, meta={LISTING: listing, PASSED: passed})
            if request is not None:
                yield request

    def parse_article(self, response):
        """One article page → one item (validation happens in the pipelines).

        @path article
        @returns items 1 1
        @scrapes site news_code url title body published_at_raw
        """
        try:
            item = self.extract_article(response)
        except Exception as exc:  # a broken page must never stop the crawl
            self.crawler.stats.inc_value("newscrawl/parse_errors")
            self.logger.error("cannot parse %s: %s: %s", response.url, type(exc).__name__, exc)
            return
        if item is not None:
            yield item

    def new_loader(self, response) -> ArticleLoader:
        digits = self.settings.get("NEWSCRAWL_TEXT_DIGITS", "keep") if self.settings else "keep"
        loader = ArticleLoader(response=response, digits=digits)
        loader.add_value("site", self.name)
        return loader

    def extract_article(self, response):
        raise NotImplementedError


class TemplateSpider(NewsSpider):
    """A family whose pages are read with a selector map (`selectors`, overridden per site).

    Keys: container, title, kicker, lead, lead_drop, body, body_drop, news_code, date, date_drop,
    category, tags, images, archive_links, archive_next. JSON-LD/OpenGraph fill what the template lacks
    and give a machine-readable date that the Dates pipeline uses as a cross-check and fallback.
    """

    def extract_article(self, response):
        from newscrawl.downloadermiddlewares.responses import page_index
        from newscrawl.parsing import htmltext as html  # local: keeps spider import light for `scrapy list`
        from newscrawl.parsing import metadata

        s = self.sel_map
        whole = response.selector  # in a crawl a PageResponse's: parsed once, from the bytes
        index = page_index(response)
        scope = sel(whole, s["container"], index, first=True)[:1] if s.get("container") else None
        page = scope[0] if scope else whole
        ld = metadata.jsonld_article(response)
        loader = self.new_loader(response)
        body = sel(page, s["body"], index, first=True)[:1]
        if body:
            paragraphs = html.paragraphs(body[0], s.get("body_drop"))
            paragraphs = [p for p in paragraphs if not re.match(self.read_more_re, p)]
            while paragraphs and re.fullmatch(self.signoff_re, paragraphs[-1].strip()):
                paragraphs.pop()  # «انتهای پیام» and the like close the article; they are not text
            loader.add_value("body", paragraphs)
        for field in ("title", "kicker", "lead"):
            nodes = sel(page, s.get(field, ""), index, first=True)[:1]
            text = html.text_of(nodes, s.get(f"{field}_drop"))
            if text:
                loader.add_value(field, text)
        if not loader.get_output_value("title"):
            loader.add_value("title", metadata.ld_text(ld, "headline") or metadata.meta(response, "og:title"))
        if not loader.get_output_value("lead"):
            loader.add_value("lead", metadata.ld_text(ld, "description"))
        code_text = html.text_of(sel(page, s.get("news_code", ""), index, first=True), s.get("news_code_drop"))
        url_code = self.news_code_from_url(response.url)
        loader.add_value("news_code", code_text or None)
        loader.add_value("news_code", url_code)
        code = loader.get_output_value("news_code")
        if code and url_code and code != url_code:
            self.crawler.stats.inc_value("newscrawl/news_code_mismatch")
            self.logger.warning("news code %s on page differs from URL %s", code, response.url)
        loader.add_value("url", self.canonical_url(response, code))
        raw_date = strip_date_label(html.text_of(sel(page, s.get("date", ""), index, first=True),
                                                 s.get("date_drop")))
        loader.add_value("published_at_raw", raw_date or None)
        loader.add_value("published_at_meta", metadata.ld_text(ld, "datePublished")
                         or metadata.meta(response, "article:published_time", "datePublished")
                         or response.meta.get("listing_date"))
        section = metadata.meta(response, "article:section")
        loader.add_value("category", sel(page, s.get("category", ""), index).getall()
                         or (re.split(r"\s*[>»/]\s*", section) if section else [])
                         or sel(page, s.get("category_fallback", ""), index).getall()
                         or metadata.ld_list(ld, "articleSection"))
        loader.add_value("tags", sel(page, s.get("tags", ""), index).getall() or metadata.ld_list(ld, "keywords"))
        loader.add_value("images", sel(page, s.get("images", ""), index).getall())
        return loader.load_item()

    def canonical_url(self, response, code: str | None) -> str:
        """The article's stable URL: rel=canonical when it names the same news code, else the short
        `article_path` form (slug-less, so /fa/news/1 and /fa/news/1/slug are one article).

        A canonical that is no absolute http(s) URL («javascript:…//www.tabnak.ir/fa/news/1») or is longer
        than MAX_URL_LENGTH is ignored and counted as `newscrawl/url/unsafe_canonical`; one off the site's
        domains, or on the site's host at another port, as `newscrawl/url/offsite_canonical`."""
        import logging

        from newscrawl.parsing.sanitize import clean_url

        canonical = response.xpath('descendant::link[@rel="canonical"]/@href').get()
        if canonical and code and self.news_code_from_url(canonical) == code:
            url, problem = clean_url(self.rebase(response.urljoin(canonical.strip())))
            if url:
                parts, root = urlsplit(url), urlsplit(self.root)
                ports = [p.port or {"http": 80, "https": 443}[p.scheme] for p in (parts, root)]
                if on_domain(parts.hostname, self.allowed_domains) and (
                        ports[0] == ports[1] or parts.port is root.port is None):
                    return url
                problem = "offsite"
            kind = "offsite" if problem == "offsite" else "unsafe"
            self.crawler.stats.inc_value(f"newscrawl/url/{kind}_canonical")
            level = logging.WARNING if kind == "unsafe" else logging.INFO  # an off-site one is harmless
            self.logger.log(level, "ignored the %s rel=canonical of %s (%s)", kind, response.url, problem)
        if code and self.article_path:
            return self.site_url(self.article_path.format(id=code))
        return response.url
