"""`scrapy crawl generic`: any news site, without a selector map.

Its article page is newscrawl.pages.generic.GenericArticlePage (which says how each field is chosen);
this module is the crawling: article URLs given, from feeds, from sitemaps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from newscrawl.pages.generic import (
    CODE_RE,
    GenericArticlePage,
    news_code_for,
    registered_domain,
    url_news_code,
)
from newscrawl.pages.listing import ListingLink, SitemapPage, UnreadableListing
from newscrawl.parsing.sanitize import MAX_URL_LENGTH, url_problem
from newscrawl.spiders.base import ArgumentError, BaseSpider

#: a bigger urls_file is refused (half a million long URLs; /dev/zero is not read forever)
MAX_URLS_FILE_BYTES = 64 * 1024 * 1024
_URL_PROBLEMS = {"too_long": f"longer than {MAX_URL_LENGTH:,} characters",
                 "not_http": "not an absolute http(s) URL",
                 "invalid": "not a URL (a space, a control character or a character URLs cannot hold)"}


def read_urls_file(path: str) -> list[str]:
    """The URLs of a `urls_file`: one a line, blank lines and «#» comments skipped, UTF-8 (a BOM allowed).

    An error names the line and the reason, never the line: the file may be anything, and under Scrapyd
    `urls_file=/etc/passwd` must not put the file's first line in the job's log."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_URLS_FILE_BYTES + 1)
    except OSError as exc:
        raise ArgumentError(f"urls_file: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_URLS_FILE_BYTES:
        raise ArgumentError(f"urls_file: {path} is larger than {MAX_URLS_FILE_BYTES // 2**20} MB; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ArgumentError(f"urls_file: {path} line {line}: not UTF-8 text") from None
    urls = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        problem = url_problem(line)
        if problem:
            raise ArgumentError(f"urls_file: {path} line {number}: {_URL_PROBLEMS[problem]}")
        urls.append(line)
    return urls


def _split_urls(value: str | None) -> list[str]:
    """A comma (or space) separated argument → its items."""
    return [v for v in re.split(r"[,\s]+", value or "") if v]


class GenericSpider(BaseSpider):
    """Any news site. Arguments (at least one source):

    url=<article>, urls=<a,b,c>, urls_file=<path, one URL a line, # comments>, feed=<RSS/Atom URL[,...]>,
    sitemap=<sitemap, sitemap index or robots.txt URL[,...]>, allowed=<extra domains, comma list>,
    incremental=1|0 (default 1 with a feed or sitemap), mode=url|feed|sitemap|warc (inferred; optional),
    warc=<WARC files, paths or globs, comma-separated: every HTML page of the `allowed` domains (any
    host without `allowed`) but a site's home page is read as an article candidate>,
    commoncrawl=<index> or wayback=1 with since/until: the `url`/`urls` prefixes, else the `allowed`
    domains, looked up in the archive (newscrawl.archives.remote).
    """

    name = "generic"
    family = "generic"
    page_class = GenericArticlePage
    ARGS = ("mode", "url", "urls", "urls_file", "feed", "sitemap", "allowed", "incremental", "warc", "commoncrawl",
            "wayback", "since", "until")
    MODES: ClassVar[tuple[str, ...]] = ("url", "feed", "sitemap", "warc")

    @classmethod
    def modes(cls) -> tuple[str, ...]:
        return cls.MODES

    @classmethod
    def check_args(cls, **kwargs) -> dict[str, Any]:
        cls.unknown_args(kwargs)
        remote = cls.remote_options(kwargs)  # commoncrawl= or wayback= (newscrawl.archives.remote)
        if remote is not None:
            return remote
        given = {k: str(v).strip() for k, v in kwargs.items() if k in cls.ARGS and v not in (None, "")}
        urls = [given["url"]] if "url" in given else []
        urls += _split_urls(given.get("urls"))
        if "urls_file" in given:
            urls += read_urls_file(given["urls_file"])
        feeds, sitemaps = _split_urls(given.get("feed")), _split_urls(given.get("sitemap"))
        for label, values in (("url", urls), ("feed", feeds), ("sitemap", sitemaps)):
            for value in values:
                parts = urlsplit(value)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise ArgumentError(f"{label}: {value!r} is not an http(s) URL")
        warcs = given.get("warc")
        if not (urls or feeds or sitemaps or warcs):
            raise ArgumentError("generic needs -a url=<article>, urls=, urls_file=, feed=, sitemap= or warc=")
        if warcs and (urls or feeds or sitemaps):
            raise ArgumentError("warc reads WARC files only: not with url, urls, urls_file, feed or sitemap")
        mode = given.get("mode") or ("warc" if warcs else "feed" if feeds else "sitemap" if sitemaps else "url")
        if mode not in cls.MODES:
            raise ArgumentError(f"mode: {mode!r} is not one of {', '.join(cls.MODES)} for generic")
        needs = {"url": urls, "feed": feeds, "sitemap": sitemaps, "warc": warcs}[mode]
        if not needs:
            raise ArgumentError(f"mode={mode} needs -a {mode}=<URL>")
        allowed = [d.lower().lstrip(".") for d in _split_urls(given.get("allowed"))]
        for domain in allowed:
            if not re.fullmatch(r"[a-z0-9.-]+", domain):
                raise ArgumentError(f"allowed: {domain!r} is not a domain")
        incremental = cls.incremental_arg(given.get("incremental"), default=bool(feeds or sitemaps or warcs))
        return {"mode": mode, "url": urls[0] if urls else None, "urls": urls, "feeds": feeds,
                "sitemaps": sitemaps, "allowed": allowed, "incremental": incremental,
                "warc": cls.warc_arg(warcs)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = {urlsplit(u).hostname or "" for u in
                 self.options["urls"] + self.options["feeds"] + self.options["sitemaps"]}
        domains = {registered_domain(h) for h in hosts if h} | set(self.options["allowed"])
        self.allowed_domains = sorted(domains)

    # -- listings ------------------------------------------------------------------------------------
    def initial_requests(self):
        """Every source given: feeds, sitemaps and article URLs (`mode` only names the main one); or the
        WARC files' pages."""
        if self.options["warc"]:
            yield from self.warc_requests()
            return
        listings = [(url, self.parse_rss, "feed") for url in self.options["feeds"]]
        listings += [(url, self.parse_sitemap, "sitemap") for url in self.options["sitemaps"]]
        for url, callback, page in listings:
            request = self.request(url, callback, page)
            if request is not None:  # the same URL given twice
                yield request
        yield from self.article_requests(ListingLink(url) for url in self.new_links(self.options["urls"]))

    def news_code_from_url(self, url: str) -> str | None:
        return news_code_for(url)

    def is_article_url(self, url: str) -> bool:
        """Any page but a site's home page: the generic page tells an article from the rest (counted as
        newscrawl/dropped/not_article), as it does for a page a crawl is given."""
        parts = urlsplit(url)
        return bool(parts.path.strip("/") or parts.query)

    def site_of(self, url: str) -> str:
        """The link's registered domain: one site's articles share a key space whichever crawl found them."""
        return registered_domain(urlsplit(url).hostname or "")

    def code_pattern(self, url: str) -> str | None:
        """The numeric id rule (CODE_RE) when the URL has one; else None: a redirect anywhere but to the
        same URL is another page (its code would be another hash)."""
        return CODE_RE if url_news_code(url) else None

    def parse_rss(self, response):
        """Article links of an RSS or Atom feed (`feed_requests`)."""
        yield from self.feed_requests(response)

    def parse_sitemap(self, response):
        """A sitemap index (follow its sitemaps), a urlset (its pages; news:publication_date or lastmod
        as the fallback date) or robots.txt (its Sitemap: lines): newscrawl.pages.listing.SitemapPage.
        Gzipped sitemaps are unpacked."""
        page = SitemapPage.from_response(response, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemaps, links = page.sitemaps, page.links
        except UnreadableListing as exc:  # corrupt, or bigger than DOWNLOAD_MAXSIZE unpacked
            self.crawler.stats.inc_value("newscrawl/parse_errors")
            self.logger.error("cannot unpack sitemap %s: %s", response.url, exc)
            return
        for url in sitemaps:
            request = self.request(url, self.parse_sitemap, "sitemap")
            if request is not None:
                yield request
        if page.is_robots:
            return
        self.crawler.stats.inc_value("newscrawl/listing/sitemap_links", len(links))
        yield from self.article_requests(self.fresh(links))

    # -- the article ---------------------------------------------------------------------------------
    # No contracts here (the families' docstrings carry them): generic has no example page, and
    # `scrapy check` could not even start it without a source.
    def parse_article(self, response):
        """One page → one item, when it is an article."""
        yield from self.article_items(response)

    def article_page(self, response, **hints):
        """The generic page; on a host no site spider declares, its CMS family's page when the markup names
        one (newscrawl.pages.detect, counted as newscrawl/family/<name>)."""
        from newscrawl.offline import spider_for_url, spider_loader
        from newscrawl.pages.detect import read_as_family

        page = super().article_page(response, fast=self.settings.getbool("NEWSCRAWL_GENERIC_FAST"), **hints)
        if spider_for_url(spider_loader(self.settings), response.url) is None:
            return read_as_family(page) or page
        return page

    def extract_article(self, response):
        """The page's item (newscrawl.pages.generic); None for a page that is not HTML or not an article."""
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("newscrawl/dropped/not_html")
            self.logger.info("not an HTML page: %s", response.url)
            return None
        return super().extract_article(response)
