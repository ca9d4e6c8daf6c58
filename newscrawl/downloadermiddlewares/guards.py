"""Downloader middleware that keeps broken answers out of the archive: a page whose bytes are not in the
charset it declares (or that declares none), an article URL redirected to some other page, an empty 200.

Why here: Scrapy parses whatever comes back. An undeclared windows-1256 page is decoded by a statistical
guess that fails on short pages (mojibake stored as text); a page that declares windows-1252 but is UTF-8
is decoded as declared (mojibake again); a deleted article that redirects to the home page is parsed as an
article page; an empty 200 (a server hiccup) turns into a "missing title" drop and is never tried again.
Each case is counted and logged with its URL (README, "Reliability").
"""

from __future__ import annotations

import codecs
import logging
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

logger = logging.getLogger(__name__)

#: share of the non-ASCII letters that must be Arabic script for a page to count as Persian/Arabic text
ARABIC_SHARE = 0.8
#: at most this share of the non-ASCII bytes may fail to decode for the bytes to be "UTF-8 with a few bad
#: bytes" (a stray byte in a comment, a cut multi-byte character); windows-1256 Persian fails on 85-98%
UTF8_MAX_INVALID_SHARE = 0.1
#: at least this share must fail before a page that declares UTF-8 is read as windows-1256 instead; in
#: between, the declaration stands (UTF-8, bad bytes replaced): a damaged UTF-8 page stays mostly legible
NOT_UTF8_MIN_INVALID_SHARE = 0.5

_ASCII, _NON_ASCII = bytes(range(0x80)), bytes(range(0x80, 0x100))
#: non-ASCII characters looked at for the Arabic share: plenty for a page in one encoding, and it bounds
#: the cost on a long page (the count is Python work per character)
SAMPLE_CHARS = 8192
#: Arabic, Arabic Supplement, Extended-A, Presentation Forms-A and -B
_ARABIC = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


@dataclass(frozen=True)
class EncodingChoice:
    """How a page is to be read, and why (see `choose_encoding`)."""

    #: the codec to read the page with; None leaves it to Scrapy (ASCII, a BOM, or nothing to go on)
    encoding: str | None
    #: what the page declares, as Scrapy reads it (Content-Type charset, else <meta>), as a codec name
    declared: str | None
    #: why, for the log line
    reason: str
    #: bytes that are not UTF-8 on a page read as UTF-8: each is read as U+FFFD
    invalid_bytes: int = 0

    @property
    def override(self) -> bool:
        """The page must be read as `encoding`, which is not what it declares (or it declares nothing)."""
        return self.encoding is not None and self.encoding != self.declared


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _arabic(body: bytes, codec: str) -> bool:
    """Are the page's non-ASCII letters, read in `codec`, Arabic script (ARABIC_SHARE of the first
    SAMPLE_CHARS of them)? The ASCII bytes are dropped first: in UTF-8 and in single-byte code pages
    no character shares a byte with ASCII, so what is left decodes to the same non-ASCII characters."""
    sample = body.translate(None, _ASCII)[: 4 * SAMPLE_CHARS].decode(codec, "ignore")[:SAMPLE_CHARS]
    letters = arabic = 0
    for char, n in Counter(sample).items():
        if char.isalpha():
            letters += n
            if any(low <= ord(char) <= high for low, high in _ARABIC):
                arabic += n
    return bool(letters) and arabic / letters >= ARABIC_SHARE


def _utf8_damage(body: bytes) -> tuple[int, float]:
    """(how many bytes of `body` are not UTF-8, their share of the non-ASCII bytes). Python's decoder
    drops exactly those bytes with errors="ignore", so the count is what re-encoding lost."""
    try:
        body.decode("utf-8")
        return 0, 0.0
    except UnicodeDecodeError:
        pass
    invalid = len(body) - len(body.decode("utf-8", "ignore").encode("utf-8"))
    return invalid, invalid / (len(body) - len(body.translate(None, _NON_ASCII)))


def choose_encoding(body: bytes, content_type: str = "") -> EncodingChoice:
    """Read the page the way its bytes say, not only the way its headers say.

    - A declared UTF-8 stands while at most UTF8_MAX_INVALID_SHARE of the non-ASCII bytes fail (they
      are replaced and counted); it gives way to windows-1256 only when most of them fail
      (NOT_UTF8_MIN_INVALID_SHARE) and windows-1256 reads them as Arabic script.
    - Any other declared charset gives way to UTF-8 when the bytes are (almost all) valid UTF-8 with
      Arabic-script text: what the declared charset would show is Persian mojibake ("Ø³Ù„Ø§Ù…",
      "ط³ظ„ط§ظ…"). Legacy-encoded Persian is practically never valid UTF-8 (85-98% of its bytes fail).
    - No declaration: UTF-8 when the bytes are (almost all) valid UTF-8, windows-1256 when they are not
      and read as Arabic script; else Scrapy's guess.
    ASCII-only pages and pages with a byte order mark are left to Scrapy, which reads them correctly.
    """
    bom = read_bom(body)[0]
    if bom:
        invalid = _utf8_damage(body)[0] if _is_utf8(bom) else 0
        return EncodingChoice(None, bom, "byte order mark", invalid)
    declared = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
    declared = resolve_encoding(declared) if declared else None
    if body.isascii():
        return EncodingChoice(None, declared, "ASCII only")
    invalid, share = _utf8_damage(body)
    utf8 = share <= UTF8_MAX_INVALID_SHARE
    if declared and _is_utf8(declared):
        if share >= NOT_UTF8_MIN_INVALID_SHARE and _arabic(body, "cp1256"):
            return EncodingChoice("cp1256", declared, f"{share:.0%} of its non-ASCII bytes are not UTF-8 and "
                                  "read as Arabic script in windows-1256")
        return EncodingChoice(declared, declared, "declared", invalid)
    if declared:
        if utf8 and _arabic(body, "utf-8"):
            return EncodingChoice("utf-8", declared, "its bytes are UTF-8 with Arabic-script text (Persian "
                                  f"mojibake in {declared})", invalid)
        return EncodingChoice(declared, declared, "declared")
    if utf8:
        if not invalid:
            return EncodingChoice(None, None, "valid UTF-8, which Scrapy's detection reads as such")
        return EncodingChoice("utf-8", None, f"UTF-8 but for {invalid} bytes", invalid)
    if _arabic(body, "cp1256"):
        return EncodingChoice("cp1256", None, "not UTF-8; Arabic script in windows-1256")
    return EncodingChoice(None, None, "not UTF-8 nor windows-1256 Persian: Scrapy's guess")


def persian_legacy_encoding(body: bytes, content_type: str = "") -> str | None:
    """'cp1256' when `choose_encoding` reads the page as windows-1256 against what it declares (or when it
    declares nothing); None otherwise."""
    choice = choose_encoding(body, content_type)
    return "cp1256" if choice.override and choice.encoding == "cp1256" else None


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
