"""Downloader middleware that keeps broken answers out of the archive: a Persian page in windows-1256
that does not say so, an article URL redirected to some other page, an empty 200.

Why here: Scrapy parses whatever comes back. An undeclared windows-1256 page is decoded by a statistical
guess that fails on short pages (mojibake stored as text); a deleted article that redirects to the home
page is parsed as an article page; an empty 200 (a server hiccup) turns into a "missing title" drop and
is never tried again. Each case is counted and logged with its URL (README, "Reliability").
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

logger = logging.getLogger(__name__)

#: share of the non-ASCII letters that must be Arabic script for a guess of windows-1256
ARABIC_SHARE = 0.8


def _arabic_share(text: str) -> float:
    letters = [c for c in text if ord(c) > 0x7F and c.isalpha()]
    if not letters:
        return 0.0
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff")
    return arabic / len(letters)


def persian_legacy_encoding(body: bytes, content_type: str = "") -> str | None:
    """'cp1256' when `body` is windows-1256 Persian/Arabic text that is not declared as such (no charset
    at all, or a utf-8 label on bytes that are not UTF-8); None to leave the decision to Scrapy."""
    declared = (read_bom(body)[0] or http_content_type_encoding(content_type)
                or html_body_declared_encoding(body))
    if declared and resolve_encoding(declared) != "utf-8":
        return None  # the page names a legacy encoding: Scrapy uses it
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    return "cp1256" if _arabic_share(body.decode("cp1256", errors="replace")) >= ARABIC_SHARE else None


class ResponseGuardMiddleware:
    """Fix the encoding of undeclared windows-1256 pages; skip article requests redirected away from
    their article; retry an empty 200 like a 5xx, then give it up."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if not isinstance(response, TextResponse):
            return response
        encoding = persian_legacy_encoding(response.body, response.headers.get(b"Content-Type", b"").decode(
            "latin-1"))
        if encoding:
            self.stats.inc_value(f"newscrawl/encoding/guessed/{encoding}")
            logger.debug("%s declares no usable charset; reading it as %s", response.url, encoding)
            response = response.replace(encoding=encoding)
        self._check_redirect(request, response)
        if response.status == 200 and not response.body.strip() and urlsplit(response.url).path != "/robots.txt":
            return self._empty(request, response)
        return response

    def _check_redirect(self, request, response) -> None:
        redirects = request.meta.get("redirect_urls")
        code_of = getattr(self.crawler.spider, "news_code_from_url", None)
        if not redirects or code_of is None:
            return
        wanted = code_of(redirects[0])
        if wanted and code_of(response.url) != wanted:
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
