"""Offline replay and recording of HTTP responses: Scrapy's HTTP cache over betamax JSON cassettes.

Why: tests, the demo and bug reports need the real Scrapy engine to run against fixed pages with no
network. Scrapy's `HttpCacheMiddleware` already serves stored responses, refuses what is missing
(HTTPCACHE_IGNORE_MISSING) and stores what it downloads; this module only gives it a storage backend
(HTTPCACHE_STORAGE) in betamax's JSON layout, so betamax and other tools can read our cassettes, and an
addon that turns it on. Bodies are stored byte-exact as base64 and *decoded* (no Content-Encoding), keyed
by the canonical URL so query order or percent-encoding differences between the recording and the
replaying crawl do not matter.

Settings: NEWSCRAWL_REPLAY=<dir> answers every request from ``<dir>/*.json`` and lets nothing missing go
to the network; with NEWSCRAWL_RECORD=1 nothing is answered and every response is written to
``<dir>/<spider>-<UTC timestamp>.json`` when the spider closes. The file format is read and written here
rather than by betamax's own classes: betamax goes through `requests`, which joins repeated headers
(Set-Cookie) into one, and its JSON is not laid out stably enough to rebuild the demo cassette byte for byte.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import NamedTuple

from scrapy.exceptions import NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.utils.httpobj import urlparse_cached
from w3lib.url import canonicalize_url, safe_url_string

logger = logging.getLogger(__name__)

#: requests a replayed crawl made that its cassettes do not answer (robots.txt aside)
MISSING = "newscrawl/replay/missing"

RECORDED_WITH = "newscrawl.extensions.cassettes (betamax 0.9 JSON format)"
STORAGE = "newscrawl.extensions.cassettes.CassetteStorage"
#: bodies are stored decoded and whole, so these would lie about them
DROP_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
#: never written into a cassette (fixtures get committed and shared)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class Recorded(NamedTuple):
    status: int
    headers: dict[str, list[str]]
    body: bytes


def canonical(url: str) -> str:
    """Lookup key of a URL: w3lib's canonical form (sorted query, normalized escaping, no fragment)."""
    return canonicalize_url(url)


# -- the cassette file format --------------------------------------------------------------------------------
def interaction(url: str, status: int, headers: dict[str, list[str]], body: bytes, *, recorded_at: str,
                method: str = "GET", request_headers: dict[str, list[str]] | None = None) -> dict:
    """One betamax interaction; `recorded_at` is naive UTC "YYYY-MM-DDTHH:MM:SS" as betamax parses it."""
    uri = safe_url_string(url)
    try:
        message = HTTPStatus(status).phrase
    except ValueError:
        message = ""
    return {
        "request": {
            "body": {"encoding": "utf-8", "string": ""},
            "headers": request_headers or {},
            "method": method,
            "uri": uri,
        },
        "response": {
            "body": {"encoding": _charset(headers), "base64_string": base64.b64encode(body).decode("ascii")},
            "headers": {k: list(v) for k, v in headers.items() if k.lower() not in DROP_HEADERS},
            "status": {"code": status, "message": message},
            "url": uri,
        },
        "recorded_at": recorded_at,
    }


def _charset(headers: dict[str, list[str]]) -> str | None:
    for name, values in headers.items():
        if name.lower() == "content-type" and values and "charset=" in values[0].lower():
            return values[0].lower().split("charset=", 1)[1].split(";")[0].strip() or None
    return None


def save_cassette(path: str | Path, interactions: list[dict], recorded_with: str = RECORDED_WITH) -> Path:
    """Write a cassette; stable key order and layout so rebuilding the same data gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"http_interactions": interactions, "recorded_with": recorded_with}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def decoded(raw: bytes, headers: dict[str, list[str]], limit: int = 0) -> tuple[bytes, dict[str, list[str]]]:
    """The body without its gzip/deflate Content-Encoding (betamax and the wire keep it), and the headers
    without the ones a decoded, whole body makes wrong. An encoding zlib cannot undo, a corrupt body, or
    one inflating past `limit` bytes (0: no limit) stays encoded, with its header, for Scrapy's
    HttpCompressionMiddleware to undo, or refuse (DOWNLOAD_MAXSIZE), on replay."""
    named = ",".join(v for k, vs in headers.items() if k.lower() == "content-encoding" for v in vs)
    encodings = [e.strip().lower() for e in named.split(",") if e.strip()]
    while encodings and encodings[-1] in ("gzip", "x-gzip", "deflate", "identity"):
        enc = encodings[-1]
        if enc in ("gzip", "x-gzip") and raw[:2] == b"\x1f\x8b":
            plain = _inflate(raw, (16 + zlib.MAX_WBITS,), limit)
        elif enc == "deflate":
            plain = _inflate(raw, (zlib.MAX_WBITS, -zlib.MAX_WBITS), limit)
        else:  # identity, or gzip named over a body some recorder already decoded
            plain = raw
        if plain is None:
            break
        raw = plain
        encodings.pop()
    kept = {k: v for k, v in headers.items() if k.lower() not in DROP_HEADERS}
    if encodings:
        kept["Content-Encoding"] = [", ".join(encodings)]
    return raw, kept


def _inflate(raw: bytes, formats: tuple[int, ...], limit: int) -> bytes | None:
    """zlib's output in the first format that reads `raw` (zlib or raw deflate: servers send both as
    "deflate"), or None: unreadable, or more than `limit` bytes (a recording must not inflate a bomb)."""
    for wbits in formats:
        inflater = zlib.decompressobj(wbits)
        try:
            plain = inflater.decompress(raw, limit)  # max_length 0: everything
        except zlib.error:
            continue
        return None if inflater.unconsumed_tail else plain
    return None


def load_cassette(path: str | Path) -> dict[str, Recorded]:
    """{canonical URL: Recorded} of one cassette file; a later interaction for the same URL wins."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, Recorded] = {}
    for entry in data.get("http_interactions", []):
        request, response = entry["request"], entry["response"]
        headers = {k: v if isinstance(v, list) else [v] for k, v in response.get("headers", {}).items()}
        stored = response.get("body", {})
        if "base64_string" in stored:
            raw = base64.b64decode(stored["base64_string"])
        else:
            raw = (stored.get("string") or "").encode(stored.get("encoding") or "utf-8")
        body, headers = decoded(raw, headers)
        status = response["status"]["code"] if "status" in response else response["status_code"]
        out[canonical(request["uri"])] = Recorded(int(status), headers, body)
    return out


def load_cassettes(directory: str | Path) -> dict[str, Recorded]:
    """All `*.json` cassettes of a directory (or one file), in name order: later files win."""
    directory = Path(directory)
    files = [directory] if directory.is_file() else sorted(directory.glob("*.json"))
    recorded: dict[str, Recorded] = {}
    for path in files:
        recorded.update(load_cassette(path))
    return recorded


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _text_headers(headers: Headers) -> dict[str, list[str]]:
    return {_text(k): [_text(v) for v in vs] for k, vs in headers.items()}


# -- Scrapy's HTTP cache -------------------------------------------------------------------------------------
class CassetteStorage:
    """HTTPCACHE_STORAGE backend: cassettes in HTTPCACHE_DIR (a plain path, not under `.scrapy/`).

    Replaying, every cassette is read at start, and an empty folder is an error: an offline run must never
    quietly become an online one. Recording (NEWSCRAWL_RECORD), nothing is answered and responses are held
    in memory until the spider closes (this is for fixtures, not bulk crawls). HttpCacheMiddleware sits at
    900, next to the download handler, so it records each redirect hop and retry as it arrives, and the
    replayed responses pass through robots.txt, redirects, the guards and the page parsing like live ones.
    """

    def __init__(self, settings):
        self.directory = Path(settings["HTTPCACHE_DIR"])
        self.record = settings.getbool("NEWSCRAWL_RECORD")
        self.maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        self.recorded: dict[str, dict] = {}
        self.stats = None  # the crawl's, once the spider opens
        self.cassettes: dict[str, Recorded] = {}
        if not self.record:
            self.cassettes = load_cassettes(self.directory) if self.directory.exists() else {}
            if not self.cassettes:
                raise ValueError(f"{self.directory}: no recorded responses (no *.json cassette)")

    def open_spider(self, spider) -> None:
        self.stats = spider.crawler.stats
        if self.record:
            logger.info("recording responses into %s", self.directory)
        else:
            logger.info("replaying %d recorded responses from %s", len(self.cassettes), self.directory)

    def retrieve_response(self, spider, request):
        if self.record:
            return None
        found = self.cassettes.get(canonical(request.url))
        if found is None:
            if urlparse_cached(request).path == "/robots.txt":
                # as a site without one: RobotsTxtMiddleware allows everything after the IgnoreRequest
                logger.info("no recorded %s: every page of its site is allowed", request.url)
            else:
                # the page asked for is not in the snapshot: what a live crawl would have fetched is missing,
                # so the run is incomplete (newscrawl.db.ranges.LOSS_STATS) and fails its health check
                self.stats.inc_value(MISSING)
                logger.error("no recorded response for %s in %s", request.url, self.directory)
            return None
        headers = Headers(found.headers)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=found.body)
        return cls(url=request.url, status=found.status, headers=headers, body=found.body, request=request)

    def store_response(self, spider, request, response) -> None:
        if not self.record:
            return  # a replayed run downloads nothing (HTTPCACHE_IGNORE_MISSING)
        request_headers = {k: v for k, v in _text_headers(request.headers).items()
                           if k.lower() not in SECRET_HEADERS}
        body, headers = decoded(response.body, _text_headers(response.headers), self.maxsize)
        entry = interaction(request.url, response.status, headers, body, method=request.method,
                            recorded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                            request_headers=request_headers)
        self.recorded[canonical(request.url)] = entry

    def close_spider(self, spider) -> None:
        if not self.record:
            return
        if not self.recorded:
            logger.warning("nothing recorded; no cassette written to %s", self.directory)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{spider.name}-{stamp}.json"
        n = 1
        while path.exists():
            path = self.directory / f"{spider.name}-{stamp}-{n}.json"
            n += 1
        save_cassette(path, list(self.recorded.values()))
        logger.info("recorded %d responses to %s", len(self.recorded), path)


class ReplayAddon:
    """Scrapy addon (ADDONS): NEWSCRAWL_REPLAY=<dir> turns on Scrapy's HTTP cache over that folder's
    cassettes, with DummyPolicy (whatever is recorded is served, whatever its age or Cache-Control: the
    demo's pages date from 2018) and HTTPCACHE_IGNORE_MISSING (nothing missing goes to the network);
    NEWSCRAWL_RECORD=1 records instead. Set at addon priority, so project settings or -s can override."""

    def update_settings(self, settings) -> None:
        directory = settings.get("NEWSCRAWL_REPLAY")
        record = settings.getbool("NEWSCRAWL_RECORD")
        if not directory:
            if record:
                raise NotConfigured("NEWSCRAWL_RECORD=1 needs NEWSCRAWL_REPLAY=<dir> to write to; not recording")
            raise NotConfigured
        for name, value in (("HTTPCACHE_ENABLED", True), ("HTTPCACHE_DIR", str(directory)),
                            ("HTTPCACHE_STORAGE", STORAGE),
                            ("HTTPCACHE_POLICY", "scrapy.extensions.httpcache.DummyPolicy"),
                            ("HTTPCACHE_IGNORE_MISSING", not record)):
            settings.set(name, value, priority="addon")
