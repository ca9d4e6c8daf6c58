"""Backfill from Common Crawl (`-a commoncrawl=CC-MAIN-2024-10`, or `CC-NEWS` with since/until months) and the
Wayback Machine (`-a wayback=1 -a since=... -a until=...`), for every site spider and `generic` (its `url`,
`urls` and `allowed` name what to look up), and the Wayback lookup of a deleted article
(newscrawl.archives.middlewares.WaybackFallbackMiddleware asks, `parse_wayback_fallback` reads).

`RemoteArchives` is a base of newscrawl.spiders.base.BaseSpider: the spiders check these arguments with
`remote_options`, and their start walks `remote_requests` instead of the site. Every request is a Scrapy
request through the crawl's downloader (never a blocking client: see newscrawl.archives.cdx), its callback
a spider method (JOBDIR can queue it, a resumed crawl walks the index again and skips what is stored),
`dont_filter` (a data file is one URL for many records, told apart by the Range header only), in its own
download slot (settings.py's DOWNLOAD_SLOTS: the politeness of each service, docs/archives.md).

A page read from an archive goes to the spider's `article_items` like a live one, as a response at the
page's own URL, with its provenance in the meta key `newscrawl_archive` (newscrawl.archives.META_KEY).
"""

from __future__ import annotations

import gzip
import re
import zlib
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider

from newscrawl.archives import META_KEY, cdx
from newscrawl.spiders.arguments import ArgumentError, truthy

#: the spider arguments that read from a remote archive, and the crawl modes they make
REMOTE_ARGS = ("commoncrawl", "wayback")
#: the download slots (DOWNLOAD_SLOTS keys) of each service's requests
SLOTS = {"cc_index": "commoncrawl-index", "cc_data": "commoncrawl-data", "wayback_cdx": "wayback-cdx",
         "wayback": "wayback"}
#: CC-NEWS files are read this many bytes a range request (records split across two are read whole)
NEWS_CHUNK = 8 * 1024 * 1024
#: a CC-NEWS record bigger than this (or bytes that are no gzip member) ends the reading of its file
NEWS_MAX_CHUNK = 64 * 1024 * 1024
#: the stat prefix
STAT = "newscrawl/archive"


def _month_or_date(value: str, name: str) -> date:
    """A CC-NEWS month «2024-03» (its first day) or any since/until date."""
    from newscrawl.parsing.dates import parse_date_arg

    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(value))
    if m and 1 <= int(m[2]) <= 12:
        return date(int(m[1]), int(m[2]), 1)
    return parse_date_arg(value, name)


def remote_options(cls, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The checked options of a crawl of a remote archive, or None when `kwargs` names none.

    A site spider takes since/until (and incremental) with it; `generic` also url/urls (looked up as URL
    prefixes) and allowed (domains looked up whole). Anything else given is an ArgumentError: these crawls
    read the archive, not the site."""
    from newscrawl.parsing.dates import parse_date_arg

    given = {k: v for k, v in kwargs.items() if v not in (None, "") and not k.startswith("_")}
    index = str(given.get("commoncrawl", "")).strip() or None
    wayback = truthy(given["wayback"], "wayback") if "wayback" in given else False
    if index is None and not wayback:
        if "allowed" in cls.ARGS and ("since" in given or "until" in given):  # generic has them for these only
            raise ArgumentError("since/until are only for commoncrawl= or wayback= on generic")
        return None
    if index and wayback:
        raise ArgumentError("commoncrawl and wayback are two crawls: give one of them")
    source = "commoncrawl" if index else "wayback"
    generic = "allowed" in cls.ARGS
    allowed_with = {"commoncrawl", "wayback", "since", "until", "incremental"} | (
        {"url", "urls", "allowed"} if generic else set())
    extra = sorted(k for k in given if k not in allowed_with)
    if extra:
        raise ArgumentError(f"{extra[0]} cannot be used with {source}= (it reads the archive, not the site)")
    if index:
        try:
            index = cdx.check_index(index)
        except ValueError as exc:
            raise ArgumentError(str(exc)) from None
    try:
        if index == cdx.CC_NEWS:
            if "since" not in given:
                raise ArgumentError("commoncrawl=CC-NEWS needs -a since=<month> (YYYY-MM), and until= for more "
                                      "than one month: CC-NEWS is read month by month")
            since = _month_or_date(given["since"], "since")
            until = _month_or_date(given["until"], "until") if "until" in given else since
        else:
            since = parse_date_arg(given["since"], "since") if "since" in given else None
            until = parse_date_arg(given["until"], "until") if "until" in given else None
            if wayback and since is None:
                raise ArgumentError("wayback=1 needs -a since=<date> (and until=, default today): the "
                                      "Wayback Machine holds every year of a site")
            if wayback and until is None:
                until = parse_date_arg("today")
    except ValueError as exc:
        if type(exc).__name__ == "ArgumentError":
            raise
        raise ArgumentError(str(exc)) from None
    if since and until and since > until:
        raise ArgumentError(f"since ({since}) is after until ({until})")
    urls = ([str(given["url"]).strip()] if "url" in given else []) + [
        u for u in re.split(r"[,\s]+", str(given.get("urls", ""))) if u]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ArgumentError(f"url: {url!r} is not an http(s) URL")
    allowed = [d.lower().lstrip(".") for d in re.split(r"[,\s]+", str(given.get("allowed", ""))) if d]
    for domain in allowed:
        if not re.fullmatch(r"[a-z0-9.-]+", domain):
            raise ArgumentError(f"allowed: {domain!r} is not a domain")
    if generic and not (urls or allowed):
        raise ArgumentError(f"generic with {source}= needs -a allowed=<domain> or url=<URL prefix> to look up")
    incremental = cls.incremental_arg(given.get("incremental"), default=True)
    opts: dict[str, Any] = dict.fromkeys(cls.ARGS)
    opts.update({"mode": source, "commoncrawl": index, "wayback": bool(wayback), "since": since, "until": until,
                 "incremental": incremental, "url": urls[0] if urls else None, "urls": urls, "feeds": [],
                 "sitemaps": [], "allowed": allowed, "lookups": lookups(cls, urls, allowed)})
    return opts


def lookups(cls, urls: list[str], allowed: list[str]) -> list[tuple[str, str]]:
    """What the index is asked, as (url, matchType): a site spider's domains whole; generic's URLs as
    prefixes (without query or fragment), else its allowed domains whole."""
    if "allowed" not in cls.ARGS:
        return [(d, "domain") for d in sorted(set(getattr(cls, "allowed_domains", None) or []))]
    prefixes = [(f"{urlsplit(u).netloc}{urlsplit(u).path}", "prefix") for u in urls]
    return list(dict.fromkeys(prefixes or [(d, "domain") for d in allowed]))


def archived_response(crawler, page, request):
    """An ArchivedPage (newscrawl.archives.warc) as the response a live crawl of its URL would get: the
    class for its Content-Type, the encoding newscrawl.downloadermiddlewares.guards chooses for live pages
    (counted the same), an HTML page as a PageResponse; `request` (with the provenance in its meta) as its
    request."""
    from scrapy.http import Headers
    from scrapy.responsetypes import responsetypes

    from newscrawl.downloadermiddlewares.guards import ResponseGuardMiddleware
    from newscrawl.downloadermiddlewares.responses import PageResponseMiddleware

    headers = Headers(list(page.headers))
    cls = responsetypes.from_args(headers=headers, url=page.url, body=page.body)
    response = cls(url=page.url, status=page.status, headers=headers, body=page.body, request=request)
    if isinstance(response, scrapy.http.TextResponse):
        response = ResponseGuardMiddleware(crawler)._encoding(response)
    return PageResponseMiddleware().process_response(request, response)


def articles_requested() -> str:
    """The stat the health check reads to expect items (imported late: the spiders import this module,
    and offline extraction must not load the monitors)."""
    from newscrawl.extensions.monitors import ARTICLES_REQUESTED

    return ARTICLES_REQUESTED


def gzip_members(data, start: int = 0):
    """(start, end) of each whole gzip member of `data` from `start`, in order; stops at one cut short.
    Fed 64 KB at a time, so finding a member's end costs its own bytes, not the rest of the buffer."""
    view, size, pos = memoryview(data), len(data), start
    while pos < size:
        inflater, cursor = zlib.decompressobj(31), pos
        try:
            while not inflater.eof and cursor < size:
                inflater.decompress(view[cursor:cursor + 65536])
                cursor = min(cursor + 65536, size)
        except zlib.error:
            return
        if not inflater.eof:
            return
        end = cursor - len(inflater.unused_data)
        yield pos, end
        pos = end


class RemoteArchives:
    """Spider mixin (a base of BaseSpider): the requests and callbacks of a crawl of Common Crawl or the
    Wayback Machine, and of the Wayback lookup of a deleted article."""

    # -- what the spider asks ----------------------------------------------------------------------------
    @classmethod
    def remote_options(cls, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        return remote_options(cls, kwargs)

    @property
    def remote_mode(self) -> bool:
        return (getattr(self, "options", None) or {}).get("mode") in REMOTE_ARGS

    def archive_request(self, url: str, callback, slot: str, meta: dict | None = None, **kwargs) -> scrapy.Request:
        """A request to an archive service: its slot, no offsite or robots.txt check (the services' own
        APIs, called at their documented rates), AutoThrottle leaving the slot's delay alone."""
        return scrapy.Request(url, callback=callback, errback=self.archive_failed, dont_filter=True,
                              meta={"download_slot": SLOTS[slot], "allow_offsite": True, "dont_obey_robotstxt": True,
                                    "autothrottle_dont_adjust_delay": True, "newscrawl_page": "archive",
                                    "newscrawl_archive_slot": SLOTS[slot], **(meta or {})}, **kwargs)

    def setting(self, name: str) -> str:
        return self.crawler.settings.get(name)

    def remote_requests(self):
        """The first requests of a crawl of a remote archive."""
        opts = self.options
        if opts["mode"] == "commoncrawl" and opts["commoncrawl"] == cdx.CC_NEWS:
            for month in cdx.news_months(opts["since"], opts["until"]):
                yield self.archive_request(cdx.news_paths_url(self.setting("NEWSCRAWL_COMMONCRAWL_DATA_URL"), month),
                                           self.parse_news_paths, "cc_data", meta={"newscrawl_fatal": True})
        elif opts["mode"] == "commoncrawl":
            base = self.setting("NEWSCRAWL_COMMONCRAWL_INDEX_URL").rstrip("/")
            yield self.archive_request(f"{base}/collinfo.json", self.parse_collinfo, "cc_index",
                                       meta={"newscrawl_fatal": True})
        else:
            for url, match_type in opts["lookups"]:
                yield self.wayback_cdx_request(url, match_type)

    def archive_failed(self, failure):
        """An archive request that failed for good (retries spent, 4xx, a dead connection): an index page
        stops the crawl (what it lists would be lost without a trace), a record is counted and logged as an
        ERROR (the health check fails the crawl when there are many; a later run fetches it again)."""
        request = failure.request
        response = getattr(failure.value, "response", None)
        why = f"HTTP {response.status}" if response is not None else f"{type(failure.value).__name__}: {failure.value}"
        if request.meta.get("newscrawl_fatal"):
            self.crawler.stats.inc_value(f"{STAT}/index_failed")
            self.logger.error("archive index unavailable, the backfill stops: %s (%s)", request.url, why)
            raise CloseSpider("archive_unavailable")
        self.crawler.stats.inc_value(f"{STAT}/records_failed")
        self.logger.error("cannot fetch archived record %s: %s", request.url, why)

    def archive_fresh(self, urls: list[str], source: str, captured: str | None = None) -> list[str]:
        """The URLs of a page of index answers worth fetching: the spider's article URLs (its news code rule),
        on its domains, each once per crawl, without those stored (incremental) live or from a capture no
        later than `captured` (the page's earliest capture, ISO: no capture on it would replace those,
        newscrawl.db.store.better; the dedup pipeline judges the rest)."""
        from newscrawl.pages.common import on_domain

        domains = list(getattr(self, "allowed_domains", None) or [])
        seen: set[int] = self.__dict__.setdefault("archive_seen", set())  # hashes of the URLs asked for
        keep = []
        for url in urls:
            host = urlsplit(url).hostname or ""
            if domains and not on_domain(host, domains):
                self.crawler.stats.inc_value(f"{STAT}/{source}/other_host")
                continue
            if not self.news_code_from_url(url) or not self.archive_wanted(url):
                self.crawler.stats.inc_value(f"{STAT}/{source}/not_article")
                continue
            key = hash(url)
            if key in seen:
                continue
            seen.add(key)
            keep.append(url)
        return self.new_links(keep, than={"fetched_from": source, "captured_at": captured})

    def archive_wanted(self, url: str) -> bool:
        """Whether an archived URL is an article URL of the spider (its `is_article_url`, the rule a WARC
        backfill uses); for generic given URL prefixes, also under one of them."""
        if not self.is_article_url(url):
            return False
        prefixes = [u for u, kind in self.options.get("lookups") or () if kind == "prefix"]
        parts = urlsplit(url)
        return not prefixes or any(f"{parts.netloc}{parts.path}".startswith(p) for p in prefixes)

    # -- Common Crawl ---------------------------------------------------------------------------------------
    def parse_collinfo(self, response):
        """The index server's list of crawls: stop with one line when the asked one is not there."""
        import json

        try:
            known = [str(c.get("id")) for c in json.loads(response.body)]
        except (ValueError, AttributeError, TypeError):
            known = []
        index = self.options["commoncrawl"]
        if index not in known:
            self.logger.error("commoncrawl: %s is not an index of %s (the newest: %s)", index, response.url,
                              ", ".join(sorted(known, reverse=True)[:3]) or "none listed")
            raise CloseSpider("archive_index_unknown")
        for url, match_type in self.options["lookups"]:
            yield self.cc_index_request(url, match_type, num_pages=True)

    def cc_index_request(self, url: str, match_type: str, page: int | None = None, num_pages: bool = False):
        opts = self.options
        query = cdx.cc_query(self.setting("NEWSCRAWL_COMMONCRAWL_INDEX_URL"), opts["commoncrawl"], url, match_type,
                             since=opts["since"], until=opts["until"], page=page, num_pages=num_pages)
        callback = self.parse_cc_pages if num_pages else self.parse_cc_index
        # 404 is the index's "no captures" (a page whose lines the filter all dropped, a domain not crawled)
        return self.archive_request(query, callback, "cc_index", meta={
            "newscrawl_fatal": True, "handle_httpstatus_list": [404], "newscrawl_lookup": (url, match_type)})

    def parse_cc_pages(self, response):
        """How many index pages a lookup has: one request for each."""
        try:
            pages = cdx.num_pages(response.body) if response.status == 200 else 0
        except ValueError as exc:
            self.logger.error("unreadable page count from %s: %s", response.url, exc)
            raise CloseSpider("archive_unavailable") from None
        url, match_type = response.meta["newscrawl_lookup"]
        self.logger.info("commoncrawl %s: %d index pages for %s", self.options["commoncrawl"], pages, url)
        for page in range(pages):
            yield self.cc_index_request(url, match_type, page=page)

    def parse_cc_index(self, response):
        """One index page: a range request for each new article record on it."""
        stats = self.crawler.stats
        stats.inc_value(f"{STAT}/commoncrawl/index_pages")
        if response.status == 404:
            return
        records, bad = cdx.cc_records(response.body)
        if bad:
            stats.inc_value(f"{STAT}/commoncrawl/bad_lines", bad)
            self.logger.warning("%d unreadable lines in %s", bad, response.url)
        stats.inc_value(f"{STAT}/commoncrawl/captures", len(records))
        first: dict[str, cdx.CCRecord] = {}
        for record in records:  # the earliest capture of each URL on the page
            if record.url not in first or record.timestamp < first[record.url].timestamp:
                first[record.url] = record
        base = self.setting("NEWSCRAWL_COMMONCRAWL_DATA_URL")
        earliest = cdx.iso(min(r.timestamp for r in first.values())) if first else None
        for url in self.archive_fresh(list(first), "commoncrawl", earliest):
            record = first[url]
            provenance = {"fetched_from": "commoncrawl", "archive_ref": record.archive_ref,
                          "captured_at": cdx.iso(record.timestamp)}
            stats.inc_value(f"{STAT}/commoncrawl/records")
            stats.inc_value(articles_requested())  # the health check expects items from them, as from live pages
            yield self.archive_request(
                cdx.data_url(base, record.filename), self.parse_cc_record, "cc_data",
                headers={"Range": f"bytes={record.offset}-{record.offset + record.length - 1}"},
                meta={META_KEY: provenance, "newscrawl_record": (url, record.filename, record.offset)})

    def parse_cc_record(self, response):
        """A record's bytes (one gzip member) → the page → the spider's article items."""
        from newscrawl.archives.warc import ArchivedPage, read_record

        url, filename, offset = response.meta["newscrawl_record"]
        body = response.body
        if response.status == 200:  # a server that ignored the Range header sent the whole file
            body = body[offset:]
        page = read_record(body, name=filename.rsplit("/", 1)[-1], offset=offset)
        if not isinstance(page, ArchivedPage) or page.url != url:
            reason = getattr(page, "reason", "other-url")
            self.crawler.stats.inc_value(f"{STAT}/commoncrawl/skipped/{reason}")
            self.logger.warning("record %s#%d of %s is not its page (%s)", filename, offset, url, reason)
            return
        yield from self.archived_items(page, response.request, "commoncrawl")

    def archived_items(self, page, request, source: str):
        """The items of an ArchivedPage read from `source`, with its provenance."""
        request.meta[META_KEY] = page.meta(source)
        yield from self.article_items(archived_response(self.crawler, page, request))

    # -- CC-NEWS: no URL index, monthly lists of WARC files ------------------------------------------------
    def parse_news_paths(self, response):
        """A month's `warc.paths.gz`: each WARC file is read in NEWS_CHUNK range requests."""
        try:
            paths = gzip.decompress(response.body).decode("utf-8").split()
        except (OSError, EOFError, UnicodeDecodeError, zlib.error):
            paths = response.body.decode("utf-8", "replace").split()
        self.crawler.stats.inc_value(f"{STAT}/commoncrawl/news_files", len(paths))
        for path in paths:
            yield self.news_chunk_request(path, 0, NEWS_CHUNK)

    def news_chunk_request(self, path: str, start: int, size: int):
        base = self.setting("NEWSCRAWL_COMMONCRAWL_DATA_URL")
        return self.archive_request(cdx.data_url(base, path), self.parse_news_chunk, "cc_data",
                                    headers={"Range": f"bytes={start}-{start + size - 1}"},
                                    meta={"newscrawl_news": (path, start, size), "download_warnsize": 0,
                                          "download_maxsize": size + 1024 * 1024})

    def parse_news_chunk(self, response):
        """The whole records of a chunk of a CC-NEWS file: the site's articles among them read (no other
        request needed), then the next chunk from the first record not read whole."""
        from newscrawl.archives.warc import ArchivedPage, read_record

        path, start, size = response.meta["newscrawl_news"]
        total = int(m[1]) if (m := re.search(rb"/(\d+)$", response.headers.get(b"Content-Range") or b"")) else None
        body, name, end = response.body, path.rsplit("/", 1)[-1], 0
        for begin, end in gzip_members(body):
            page = read_record(body[begin:end], name=name, offset=start + begin)
            if not isinstance(page, ArchivedPage):
                continue
            self.crawler.stats.inc_value(f"{STAT}/commoncrawl/news_records")
            if self.archive_fresh([page.url], "commoncrawl", page.captured_at):
                request = response.request.replace(url=page.url, meta={**response.meta})
                yield from self.archived_items(page, request, "commoncrawl")
        done = start + end
        if total is None or done >= total or len(body) == 0:
            return
        if not end and len(body) < size:  # the file ends inside a record
            self.crawler.stats.inc_value(f"{STAT}/commoncrawl/skipped/truncated")
            return
        if not end and size * 2 > NEWS_MAX_CHUNK:  # no gzip member, or one bigger than any page
            self.crawler.stats.inc_value(f"{STAT}/commoncrawl/news_files_unreadable")
            self.logger.error("%s: no readable WARC record at byte %d; the rest of the file is skipped", path, done)
            return
        # nothing whole in a full chunk: a record bigger than the chunk, read with a bigger one
        yield self.news_chunk_request(path, done, size if end else size * 2)

    # -- the Wayback Machine ------------------------------------------------------------------------------
    def wayback_cdx_request(self, url: str, match_type: str, resume_key: str | None = None):
        opts = self.options
        query = cdx.wayback_query(self.setting("NEWSCRAWL_WAYBACK_URL"), url, match_type, since=opts["since"],
                                  until=opts["until"], resume_key=resume_key)
        return self.archive_request(query, self.parse_wayback_cdx, "wayback_cdx", meta={
            "newscrawl_fatal": True, "newscrawl_lookup": (url, match_type), "newscrawl_resume": resume_key})

    def parse_wayback_cdx(self, response):
        """A CDX page (the earliest 200 capture of each URL in since..until): the raw capture of each new
        article URL, then the next page by its resume key."""
        stats = self.crawler.stats
        stats.inc_value(f"{STAT}/wayback/cdx_pages")
        try:
            captures, resume = cdx.wayback_rows(response.body)
        except ValueError as exc:
            self.logger.error("unreadable CDX answer from %s: %s", response.url, exc)
            raise CloseSpider("archive_unavailable") from None
        stats.inc_value(f"{STAT}/wayback/captures", len(captures))
        first: dict[str, cdx.Capture] = {}
        for capture in captures:
            if capture.url not in first or capture.timestamp < first[capture.url].timestamp:
                first[capture.url] = capture
        earliest = cdx.iso(min(c.timestamp for c in first.values())) if first else None
        for url in self.archive_fresh(list(first), "wayback", earliest):
            yield self.wayback_capture_request(first[url])
        if resume and resume == response.meta.get("newscrawl_resume"):  # the same page again: it would never end
            self.logger.error("the CDX server repeats its resume key %r: the lookup stops", resume)
            raise CloseSpider("archive_unavailable")
        if resume:
            yield self.wayback_cdx_request(*response.meta["newscrawl_lookup"], resume_key=resume)

    def wayback_capture_request(self, capture: cdx.Capture, meta: dict | None = None):
        raw = cdx.raw_capture_url(self.setting("NEWSCRAWL_WAYBACK_URL"), capture.timestamp, capture.url)
        self.crawler.stats.inc_value(f"{STAT}/wayback/records")
        self.crawler.stats.inc_value(articles_requested())
        provenance = {"fetched_from": "wayback", "archive_ref": raw, "captured_at": cdx.iso(capture.timestamp)}
        return self.archive_request(raw, self.parse_wayback_capture, "wayback",
                                    meta={META_KEY: provenance, "newscrawl_record": capture.url, **(meta or {})})

    def parse_wayback_capture(self, response):
        """A raw capture (`id_`): the archived page at its own URL → the spider's article items. Wayback
        redirects a timestamp it has no capture at to the nearest one: the provenance follows it."""
        url = response.meta["newscrawl_record"]
        m = re.search(r"/web/(\d{14})id_/", response.url)
        if m:
            response.meta[META_KEY] = {**response.meta[META_KEY], "archive_ref": response.url,
                                       "captured_at": cdx.iso(m[1])}
        if not isinstance(response, scrapy.http.TextResponse):
            self.crawler.stats.inc_value(f"{STAT}/wayback/skipped/non-html")
            return
        fallback = response.meta.get("newscrawl_fallback")
        if fallback:
            self.crawler.stats.inc_value(f"{STAT}/fallback/fetched")
        yield from self.article_items(response.replace(url=url))

    def parse_wayback_fallback(self, response):
        """The CDX answer for a deleted article (newscrawl.archives.fallback): its capture closest to the
        article's date when the listing gave one, else the earliest."""
        stats = self.crawler.stats
        wanted = response.meta["newscrawl_fallback"]
        try:
            captures, _ = cdx.wayback_rows(response.body)
        except ValueError:
            captures = []
        capture = cdx.closest([c for c in captures if c.url], wanted.get("date"))
        if capture is None:
            stats.inc_value(f"{STAT}/fallback/not_found")
            self.logger.info("deleted article %s (HTTP %s) is not in the Wayback Machine", wanted["url"],
                             wanted["status"])
            return
        stats.inc_value(f"{STAT}/fallback/found")
        self.logger.info("deleted article %s (HTTP %s): reading its Wayback capture of %s", wanted["url"],
                         wanted["status"], cdx.iso(capture.timestamp))
        yield self.wayback_capture_request(cdx.Capture(wanted["url"], capture.timestamp),
                                           meta={"newscrawl_fallback": wanted})
