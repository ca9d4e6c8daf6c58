"""Offline replay and recording of HTTP responses as betamax JSON cassettes.

Why: tests, the demo and bug reports need the real Scrapy engine to run against fixed pages with no
network. Cassettes use betamax's JSON layout (so betamax and other tools can read them) with bodies
stored byte-exact as base64 and *decoded* (no Content-Encoding), keyed by the canonical URL so query
order or percent-encoding differences between the recording and the replaying crawl do not matter.

Settings: NEWSCRAWL_REPLAY=<dir> answers every request from ``<dir>/*.json``; with NEWSCRAWL_RECORD=1 the
middleware answers nothing and instead writes ``<dir>/<spider>-<UTC timestamp>.json`` when the spider closes.
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

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from w3lib.url import canonicalize_url, safe_url_string

logger = logging.getLogger(__name__)

RECORDED_WITH = "newscrawl.downloadermiddlewares.replay (betamax 0.9 JSON format)"
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


def _decoded_body(body: dict, headers: dict[str, list[str]]) -> bytes:
    if "base64_string" in body:
        raw = base64.b64decode(body["base64_string"])
    else:
        raw = (body.get("string") or "").encode(body.get("encoding") or "utf-8")
    encodings = [v.strip().lower() for k, vs in headers.items()
                 if k.lower() == "content-encoding" for v in vs]
    for enc in reversed(encodings):  # cassettes made by other tools may keep the wire encoding
        if enc in ("gzip", "x-gzip") and raw[:2] == b"\x1f\x8b":
            raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                raw = zlib.decompress(raw, -zlib.MAX_WBITS)
    return raw


def load_cassette(path: str | Path) -> dict[str, Recorded]:
    """{canonical URL: Recorded} of one cassette file; a later interaction for the same URL wins."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, Recorded] = {}
    for entry in data.get("http_interactions", []):
        request, response = entry["request"], entry["response"]
        headers = {k: v if isinstance(v, list) else [v] for k, v in response.get("headers", {}).items()}
        body = _decoded_body(response.get("body", {}), headers)
        headers = {k: v for k, v in headers.items() if k.lower() not in DROP_HEADERS}
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


def _header_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _text_headers(headers: Headers) -> dict[str, list[str]]:
    return {_header_text(k): [_header_text(v) for v in vs] for k, vs in headers.items()}


class ReplayMiddleware:
    """Downloader middleware: answer requests from cassettes, or record responses into one.

    Replay sits before the network (priority 50), so robots.txt is not consulted again: the recorded
    pages were fetched under it. Recording sees final responses only (redirects are already followed at
    this priority), so each hop of a redirect chain is rebuilt from the request's ``redirect_urls`` meta.
    Recorded responses are held in memory until the spider closes: this is for fixtures, not bulk crawls.
    """

    def __init__(self, crawler, directory: str, record: bool):
        self.crawler = crawler
        self.directory = Path(directory)
        self.record = record
        self.recorded: dict[str, dict] = {}
        self.cassettes: dict[str, Recorded] = {}
        if record:
            crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        else:
            self.cassettes = load_cassettes(self.directory) if self.directory.exists() else {}
            if not self.cassettes:
                # never fall back to the network silently when an offline run was asked for
                raise ValueError(f"NEWSCRAWL_REPLAY={directory}: no recorded responses (no *.json cassette)")
            logger.info("replaying %d recorded responses from %s", len(self.cassettes), self.directory)

    @classmethod
    def from_crawler(cls, crawler):
        directory = crawler.settings.get("NEWSCRAWL_REPLAY")
        if not directory:
            if crawler.settings.getbool("NEWSCRAWL_RECORD"):
                logger.warning("NEWSCRAWL_RECORD=1 needs NEWSCRAWL_REPLAY=<dir> to write to; not recording")
            raise NotConfigured("NEWSCRAWL_REPLAY is not set")
        return cls(crawler, str(directory), crawler.settings.getbool("NEWSCRAWL_RECORD"))

    # -- replay ------------------------------------------------------------------------------------------
    def process_request(self, request, spider=None):
        if self.record:
            return None
        found = self.cassettes.get(canonical(request.url))
        if found is None:
            logger.error("no recorded response for %s in %s", request.url, self.directory)
            self.crawler.stats.inc_value("newscrawl/downloadermiddlewares/replay/missing")
            raise IgnoreRequest(f"no recorded response for {request.url}")
        self.crawler.stats.inc_value("newscrawl/downloadermiddlewares/replay/hits")
        headers = Headers({k: v for k, v in found.headers.items() if k.lower() not in DROP_HEADERS})
        cls = responsetypes.from_args(headers=headers, url=request.url, body=found.body)
        return cls(url=request.url, status=found.status, headers=headers, body=found.body, request=request,
                   flags=["replay"])

    # -- record ------------------------------------------------------------------------------------------
    def process_response(self, request, response, spider=None):
        if not self.record:
            return response
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        request_headers = {k: v for k, v in _text_headers(request.headers).items()
                           if k.lower() not in SECRET_HEADERS}
        chain = [*request.meta.get("redirect_urls", []), request.url]
        reasons = request.meta.get("redirect_reasons", [])
        for i, source in enumerate(chain[:-1]):
            status = reasons[i] if i < len(reasons) and isinstance(reasons[i], int) else 302
            self._keep(interaction(source, status, {"Location": [safe_url_string(chain[i + 1])]}, b"",
                                   recorded_at=now, request_headers=request_headers))
        headers = _text_headers(response.headers)
        self._keep(interaction(request.url, response.status, headers, response.body, recorded_at=now,
                               method=request.method, request_headers=request_headers))
        return response

    def _keep(self, entry: dict) -> None:
        self.recorded[canonical(entry["request"]["uri"])] = entry
        self.crawler.stats.inc_value("newscrawl/downloadermiddlewares/replay/recorded")

    def spider_closed(self, spider):
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
