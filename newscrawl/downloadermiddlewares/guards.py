"""Downloader middleware that keeps broken answers out of the archive: a page whose bytes are not in the
charset it declares (or that declares none), an article URL redirected to some other page, an empty 200.

Why here: Scrapy parses whatever comes back. An undeclared windows-1256 page is decoded by a statistical
guess that fails on short pages (mojibake stored as text); a page that declares windows-1252 but is UTF-8
is decoded as declared (mojibake again); a deleted article that redirects to the home page is parsed as an
article page; an empty 200 (a server hiccup) turns into a "missing title" drop and is never tried again.
Each case is counted and logged with its URL (docs/reliability.md, "Hostile input").

The spider says in the request's meta what it asked for (newscrawl.spiders.base.BaseSpider): an article
(`newscrawl_page`) and how to read its news code from a URL (`newscrawl_code_re`). The codec rule itself
is newscrawl.parsing.encoding's.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse

from newscrawl.parsing.encoding import choose_encoding

logger = logging.getLogger(__name__)


class ResponseGuardMiddleware:
    """Read each page in the encoding its bytes are in (`choose_encoding`); skip article requests
    redirected away from their article; retry an empty 200 like a 5xx, then give it up."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if not isinstance(response, TextResponse):
            return response
        response = self._encoding(response)
        self._check_redirect(request, response)
        if response.status == 200 and not response.body.strip() and urlsplit(response.url).path != "/robots.txt":
            return self._empty(request, response)
        return response

    def _encoding(self, response):
        """The response, to be read as `choose_encoding` says (`response.replace(encoding=...)`: Scrapy's
        `encoding`, `text` and selector, and newscrawl.downloadermiddlewares.responses.parse, all follow it)."""
        choice = choose_encoding(response.body, response.headers.get(b"Content-Type", b"").decode("latin-1"))
        if choice.invalid_bytes:
            self.stats.inc_value("newscrawl/encoding/invalid_bytes", choice.invalid_bytes)
            self.stats.inc_value("newscrawl/encoding/invalid_pages")
            logger.debug("%s: %d bytes are not UTF-8; each is read as U+FFFD", response.url, choice.invalid_bytes)
        if not choice.override:
            return response
        if choice.declared:
            key = f"newscrawl/encoding/override/{choice.declared}->{choice.encoding}"
            # INFO once per kind (a site that mislabels one page mislabels them all), then DEBUG
            level = logging.DEBUG if self.stats.get_value(key) else logging.INFO
            logger.log(level, "%s declares %s, read as %s: %s", response.url, choice.declared, choice.encoding,
                       choice.reason)
        else:
            key = f"newscrawl/encoding/guessed/{choice.encoding}"
            logger.debug("%s declares no charset, read as %s: %s", response.url, choice.encoding, choice.reason)
        self.stats.inc_value(key)
        return response.replace(encoding=choice.encoding)

    def _check_redirect(self, request, response) -> None:
        """An article request redirected to a URL with another news code (by `newscrawl_code_re`; without
        one, to another URL but for scheme, «www.», fragment and query order) is not that article."""
        redirects = request.meta.get("redirect_urls")
        if not redirects or request.meta.get("newscrawl_page") != "article":
            return
        pattern = request.meta.get("newscrawl_code_re")
        if pattern:
            wanted = news_code(pattern, redirects[0])
            elsewhere = bool(wanted) and news_code(pattern, response.url) != wanted
        else:
            from newscrawl.pages.generic import url_hash_code  # the generic page's "same URL" rule

            elsewhere = url_hash_code(redirects[0]) != url_hash_code(response.url)
        if elsewhere:
            self.stats.inc_value("newscrawl/dropped/redirected")
            logger.info("article %s redirected to %s, which is not that article: skipped", redirects[0],
                        response.url)
            raise IgnoreRequest(f"redirected away from the article: {redirects[0]} -> {response.url}")

    def _empty(self, request, response):
        retry = None if request.meta.get("dont_retry") else get_retry_request(
            request, spider=self.crawler.spider, reason="empty_response")
        if retry is not None:
            return retry
        self.stats.inc_value("newscrawl/dropped/empty_response")
        logger.warning("empty answer (200, no body) for %s: skipped", response.url)
        raise IgnoreRequest(f"empty response: {response.url}")


def news_code(pattern: str, url: str) -> str | None:
    """The news code in `url`: the first group of `pattern` that matched."""
    m = re.search(pattern, url)
    return next((g for g in m.groups() if g), None) if m else None
