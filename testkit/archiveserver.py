"""A local stand-in for Common Crawl and the Wayback Machine on 127.0.0.1, serving WARC files written by the
tests (testkit.warcs): `ArchiveServer(...).add_commoncrawl(...)`, then point NEWSCRAWL_COMMONCRAWL_INDEX_URL,
NEWSCRAWL_COMMONCRAWL_DATA_URL and NEWSCRAWL_WAYBACK_URL at `server.base_url`.

Why our own: the tests may not use the internet, and no library ships a server in these shapes (pywb could
serve the CDX side but not Common Crawl's paging or data server, and brings a web app with it). What is
spoken here is the shape of the real answers as documented by pywb's CDX server API (Common Crawl's index
runs pywb), the Internet Archive's wayback-cdx-server README and Common Crawl's "Get started" page:

- Common Crawl's URL index, `/<INDEX>-index?url=...&output=json`: one JSON object a line with the fields
  urlkey, timestamp, url, mime, mime-detected, status, digest, length, offset, filename, languages,
  encoding; `matchType` exact/prefix/host/domain (or `*.example.com`, `example.com/*`); `from`/`to`
  (timestamp prefixes); `filter` (pywb: `[!][=|~]field:value`: substring, exact, full regex; `!` negates);
  `showNumPages=true` → `{"pages": N, "pageSize": ..., "blocks": ...}` and `page=0..N-1` (a page outside
  that range is a 400); no capture → 404 `{"message": "No Captures found for: ..."}`; an unknown index
  → 404. `/collinfo.json` lists the indexes (id, name, timegate, cdx-api, from, to).
- Common Crawl's data server: `/crawl-data/...` files with `Range: bytes=a-b` → 206 and Content-Range
  (416 outside the file); CC-NEWS's monthly listing `/crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz` (gzipped
  lines of WARC paths). CC-NEWS has no URL index (nothing under `/CC-NEWS-index`).
- The Wayback Machine's CDX server, `/cdx/search/cdx?url=...&output=json`: a JSON table whose first row is
  the field names (urlkey, timestamp, original, mimetype, statuscode, digest, length; `fl` picks them);
  `matchType`, `from`/`to`, `filter=[!]field:regex` (full match), `collapse=field[:N]` (the first of each
  run of equal values), `limit`, `showResumeKey=true` (after the rows: `[]` then `[<resume key>]`) and
  `resumeKey`; no capture → `[]`. Without `output=json`: space-separated lines.
- Wayback's raw captures, `/web/<14 digits>id_/<url>`: the archived body as captured, its original headers
  as `x-archive-orig-*`, Content-Type as captured, `Memento-Datetime`; a timestamp that is not a capture's
  answers 302 to the nearest capture (as the real one does); a URL never captured answers 404.

`static` serves a test's own pages (a feed). `fail(kind, status, times, retry_after)` makes the next answers of one endpoint kind ("index", "data",
"cdx", "web") a 429/503 (with Retry-After), and `requests`, `in_flight_max` record what the crawl asked
(paths, Range headers) and the most concurrent requests each kind saw.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import math
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from warcio.archiveiterator import ArchiveIterator

CC_FIELDS = ("urlkey", "timestamp", "url", "mime", "mime-detected", "status", "digest", "length", "offset",
             "filename", "languages", "encoding")
WAYBACK_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def surt(url: str) -> str:
    """The SURT key of a URL as the CDX servers sort by it: `ir,tabnak)/fa/news/1?a=1&b=2` (host reversed,
    «www.» dropped, lower case, the query sorted)."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return key + ")" + (parts.path or "/").lower() + (f"?{query.lower()}" if query else "")


def timestamp(warc_date: str) -> str:
    moment = datetime.fromisoformat(warc_date.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y%m%d%H%M%S")


@dataclass
class Capture:
    """One indexed record: its CDX fields and where its bytes are (`path`, `offset`, `length`)."""

    urlkey: str
    timestamp: str
    url: str
    mime: str
    status: str
    digest: str
    offset: int
    length: int
    path: Path
    served: str  # the data server path ("crawl-data/...")

    def cc(self) -> dict:
        return {"urlkey": self.urlkey, "timestamp": self.timestamp, "url": self.url, "mime": self.mime,
                "mime-detected": self.mime, "status": self.status, "digest": self.digest,
                "length": str(self.length), "offset": str(self.offset), "filename": self.served,
                "languages": "fas", "encoding": "UTF-8"}

    def wayback(self) -> dict:
        return {"urlkey": self.urlkey, "timestamp": self.timestamp, "original": self.url, "mimetype": self.mime,
                "statuscode": self.status, "digest": self.digest, "length": str(self.length)}


def index_warc(path: Path, served: str) -> list[Capture]:
    """The CDX entries of a WARC file (response and revisit records), as a CDX indexer writes them."""
    found = []
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream, arc2warc=False)
        try:
            for record in iterator:
                if record.rec_type not in ("response", "revisit"):
                    continue
                headers = record.rec_headers
                url = headers.get_header("WARC-Target-URI") or ""
                http = record.http_headers
                status = http.get_statuscode() if http is not None else "-"
                mime = "warc/revisit" if record.rec_type == "revisit" else (
                    (http.get_header("Content-Type") or "unk").split(";")[0].strip().lower() if http else "unk")
                digest = (headers.get_header("WARC-Payload-Digest") or "").split(":")[-1]
                offset = iterator.get_record_offset()
                record.raw_stream.read()
                iterator.read_to_end(record)
                found.append(Capture(surt(url), timestamp(headers.get_header("WARC-Date")), url, mime,
                                     status or "-", digest, offset, iterator.get_record_length(), path, served))
        except Exception:  # noqa: BLE001 - a file cut short ends its index where it breaks, like cdx-indexer
            pass
    return found


def payload(capture: Capture) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, original headers, body as the server sent it decoded) of the record at a capture."""
    with capture.path.open("rb") as stream:
        stream.seek(capture.offset)
        record = next(iter(ArchiveIterator(stream, arc2warc=False)))
        http = record.http_headers
        body = record.content_stream().read()
        return int(http.get_statuscode()), [(str(k), str(v)) for k, v in http.headers], body


def _match(key: str, pattern: str, match_type: str) -> bool:
    if match_type == "exact":
        return key == pattern
    if match_type == "prefix":
        return key.startswith(pattern)
    host = key.split(")", 1)[0]
    want = pattern.split(")", 1)[0]
    if match_type == "host":
        return host == want
    return host == want or host.startswith(want + ",")  # domain


def _query_url(query: dict[str, list[str]]) -> tuple[str, str]:
    """(SURT pattern, match type) of a CDX query's url= and matchType=."""
    url = query.get("url", [""])[0]
    match_type = query.get("matchType", ["exact"])[0]
    if url.startswith("*."):
        url, match_type = url[2:], "domain"
    elif url.endswith("*"):
        url, match_type = url[:-1], "prefix"
    key = surt(url)
    if match_type == "prefix" and not urlsplit(url if "://" in url else "http://" + url).path:
        key = key.rstrip("/")  # «tabnak.ir*»: every path of the host
    return key, match_type


def _in_time(ts: str, query: dict[str, list[str]]) -> bool:
    low = query.get("from", [""])[0]
    high = query.get("to", [""])[0]
    return (not low or ts >= low.ljust(14, "0")) and (not high or ts <= high.ljust(14, "9"))


def _cc_filter(spec: str):
    """pywb's `[!][=|~]field:value`: substring, exact or full regex match; `!` negates."""
    negate = spec.startswith("!")
    spec = spec[1:] if negate else spec
    kind = spec[0] if spec[:1] in ("=", "~") else ""
    field, _, value = spec[len(kind):].partition(":")
    if kind == "=":
        test = lambda v: v == value  # noqa: E731
    elif kind == "~":
        rx = re.compile(value)
        test = lambda v: bool(rx.fullmatch(v))  # noqa: E731
    else:
        test = lambda v: value in v  # noqa: E731
    return lambda row: test(str(row.get(field, ""))) != negate


def _wayback_filter(spec: str):
    """The Wayback CDX server's `[!]field:regex` (full match)."""
    negate = spec.startswith("!")
    field, _, value = (spec[1:] if negate else spec).partition(":")
    rx = re.compile(value)
    return lambda row: bool(rx.fullmatch(str(row.get(field, "")))) != negate


class ArchiveServer(ThreadingHTTPServer):
    """The archive endpoints (see the module docstring) in a daemon thread: `start()`, `close()`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, host: str = "127.0.0.1", page_lines: int = 3, max_rows: int = 3):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"host {host!r}: the archive server only listens on loopback addresses")
        super().__init__((host, port), ArchiveHandler)
        #: index lines per Common Crawl page (the real one pages by blocks of 3,000 lines; small here to page)
        self.page_lines = page_lines
        #: the most CDX rows one Wayback answer holds (the real one caps pages too; small here to page)
        self.max_rows = max_rows
        self.collections: dict[str, list[Capture]] = {}
        self.wayback: list[Capture] = []
        self.files: dict[str, Path] = {}
        self.news: dict[str, list[str]] = {}  # "YYYY/MM" -> served WARC paths
        #: other pages a test needs from a host of its own (a feed): path -> (Content-Type, body)
        self.static: dict[str, tuple[str, bytes]] = {}
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str]] = []  # (kind, path and query, Range header)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.in_flight_max: dict[str, int] = defaultdict(int)
        self.failures: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
        self.base_url = f"http://{host}:{self.server_address[1]}"

    # -- data -----------------------------------------------------------------------------------------
    def _serve_file(self, path: Path, folder: str) -> str:
        served = f"crawl-data/{folder}/{Path(path).name}"
        self.files[served] = Path(path)
        return served

    def add_commoncrawl(self, index: str, warcs: list[Path]) -> None:
        """Index `warcs` as the Common Crawl crawl `index` (CC-MAIN-YYYY-WW), served by the data server."""
        captures = self.collections.setdefault(index, [])
        for path in warcs:
            captures += index_warc(Path(path), self._serve_file(path, f"{index}/segments/1700000000000.1/warc"))
        captures.sort(key=lambda c: (c.urlkey, c.timestamp))

    def add_news(self, month: str, warcs: list[Path]) -> None:
        """`warcs` as CC-NEWS files of `month` ("YYYY/MM"), listed in its warc.paths.gz (not indexed)."""
        self.news.setdefault(month, []).extend(self._serve_file(p, f"CC-NEWS/{month}") for p in warcs)

    def add_wayback(self, warcs: list[Path]) -> None:
        """Index `warcs` as Wayback Machine captures."""
        for path in warcs:
            self.wayback += index_warc(Path(path), self._serve_file(path, "wayback"))
        self.wayback.sort(key=lambda c: (c.urlkey, c.timestamp))

    def fail(self, kind: str, status: int = 429, times: int = 1, retry_after: str | None = "1") -> None:
        """The next `times` answers of `kind` ("index", "data", "cdx", "web") are `status` with Retry-After."""
        self.failures[kind] += [(status, retry_after)] * times

    def count(self, kind: str) -> int:
        return sum(1 for k, _, _ in self.requests if k == kind)

    def start(self) -> ArchiveServer:
        threading.Thread(target=self.serve_forever, name="newscrawl-archiveserver", daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class ArchiveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ArchiveServer

    def log_message(self, format, *args):
        pass

    def reply(self, status: int, body: bytes | str = b"", content_type: str = "text/plain; charset=utf-8",
              headers: list[tuple[str, str]] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers or ():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def kind(self, path: str) -> str:
        if path.startswith("/cdx/"):
            return "cdx"
        if path.startswith("/web/"):
            return "web"
        if path.startswith("/crawl-data/"):
            return "data"
        return "index"

    def do_GET(self):
        parts = urlsplit(self.path)
        kind = self.kind(parts.path)
        server = self.server
        with server.lock:
            server.requests.append((kind, self.path, self.headers.get("Range") or ""))
            server.in_flight[kind] += 1
            server.in_flight_max[kind] = max(server.in_flight_max[kind], server.in_flight[kind])
            failure = server.failures[kind].pop(0) if server.failures[kind] else None
        try:
            if parts.path == "/robots.txt":
                self.reply(404, "no robots.txt")
            elif parts.path in server.static:
                self.reply(200, server.static[parts.path][1], server.static[parts.path][0])
            elif failure is not None:
                status, retry_after = failure
                self.reply(status, "Too Many Requests" if status == 429 else "Slow Down",
                           headers=[("Retry-After", retry_after)] if retry_after is not None else None)
            else:
                query = parse_qs(parts.query, keep_blank_values=True)
                {"cdx": self.cdx, "web": self.web, "data": self.data, "index": self.index}[kind](parts.path, query)
        finally:
            with server.lock:
                server.in_flight[kind] -= 1

    # -- Common Crawl's index ---------------------------------------------------------------------------
    def index(self, path: str, query: dict[str, list[str]]) -> None:
        server = self.server
        if path == "/collinfo.json":
            base = server.base_url
            info = [{"id": name, "name": f"{name} crawl", "timegate": f"{base}/{name}/",
                     "cdx-api": f"{base}/{name}-index", "from": "2024-02-20T00:00:00", "to": "2024-03-05T00:00:00"}
                    for name in sorted(server.collections, reverse=True)]
            self.reply(200, json.dumps(info), "application/json")
            return
        m = re.fullmatch(r"/(.+)-index", path)
        captures = server.collections.get(m[1]) if m else None
        if captures is None:
            self.reply(404, "Not Found: collection unknown")
            return
        pattern, match_type = _query_url(query)
        rows = [c.cc() for c in captures if _match(c.urlkey, pattern, match_type) and _in_time(c.timestamp, query)]
        pages = max(1, math.ceil(len(rows) / server.page_lines))
        if query.get("showNumPages", [""])[0].lower() == "true":
            self.reply(200, json.dumps({"pages": pages if rows else 0, "pageSize": 5,
                                        "blocks": math.ceil(len(rows) / server.page_lines)}), "application/json")
            return
        if "page" in query:
            page = int(query["page"][0] or 0)
            if page >= pages or page < 0:
                self.reply(400, f"Page {page} invalid: First Page is 0, Last Page is {pages - 1}")
                return
            rows = rows[page * server.page_lines:(page + 1) * server.page_lines]
        for spec in query.get("filter", []):
            rows = [r for r in rows if _cc_filter(spec)(r)]
        if not rows:
            self.reply(404, json.dumps({"message": f"No Captures found for: {query.get('url', [''])[0]}"}),
                       "application/json")
            return
        fields = query.get("fl", [""])[0].split(",") if query.get("fl", [""])[0] else None
        lines = [json.dumps({k: r[k] for k in fields} if fields else r) for r in rows]
        self.reply(200, "\n".join(lines) + "\n", "text/x-ndjson")

    # -- Common Crawl's data server ---------------------------------------------------------------------
    def data(self, path: str, query) -> None:
        server = self.server
        news = re.fullmatch(r"/crawl-data/CC-NEWS/(\d{4}/\d{2})/warc\.paths\.gz", path)
        if news:
            if news[1] not in server.news:
                self.reply(404, "<Error><Code>NoSuchKey</Code></Error>", "application/xml")
                return
            listing = "".join(p + "\n" for p in server.news[news[1]]).encode()
            self.reply(200, gzip.compress(listing), "binary/octet-stream")
            return
        found = server.files.get(unquote(path[1:]))
        if found is None:
            self.reply(404, "<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        data = found.read_bytes()
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if not wanted:
            self.reply(200, data, "application/octet-stream")
            return
        start = int(wanted[1])
        end = min(int(wanted[2]) if wanted[2] else len(data) - 1, len(data) - 1)
        if start >= len(data) or end < start:
            self.reply(416, "", headers=[("Content-Range", f"bytes */{len(data)}")])
            return
        self.reply(206, data[start:end + 1], "application/octet-stream",
                   [("Content-Range", f"bytes {start}-{end}/{len(data)}"), ("Accept-Ranges", "bytes")])

    # -- the Wayback Machine ------------------------------------------------------------------------------
    def cdx(self, path: str, query: dict[str, list[str]]) -> None:
        pattern, match_type = _query_url(query)
        rows = [c.wayback() for c in self.server.wayback
                if _match(c.urlkey, pattern, match_type) and _in_time(c.timestamp, query)]
        resume = unquote(query.get("resumeKey", [""])[0])
        collapse = query.get("collapse", [""])[0]
        if resume:
            key, _, ts = resume.partition(" ")
            rows = [r for r in rows if (r["urlkey"], r["timestamp"]) > (key, ts)
                    and not (collapse == "urlkey" and r["urlkey"] == key)]
        for spec in query.get("filter", []):
            rows = [r for r in rows if _wayback_filter(spec)(r)]
        if collapse:
            field, _, size = collapse.partition(":")
            kept, last = [], object()
            for row in rows:
                value = row.get(field, "")[:int(size)] if size else row.get(field, "")
                if value != last:
                    kept.append(row)
                last = value
            rows = kept
        limit = int(query.get("limit", ["0"])[0] or 0)
        limit = min(limit or self.server.max_rows, self.server.max_rows)  # the server's own cap on a page
        more = bool(limit) and len(rows) > limit
        rows = rows[:limit] if limit else rows
        fields = query.get("fl", [""])[0].split(",") if query.get("fl", [""])[0] else list(WAYBACK_FIELDS)
        table = [[r[f] for f in fields] for r in rows]
        if query.get("output", [""])[0] != "json":
            self.reply(200, "".join(" ".join(row) + "\n" for row in table))
            return
        out = [fields, *table] if table else []
        if more and query.get("showResumeKey", [""])[0] == "true":
            out += [[], [quote(f"{rows[-1]['urlkey']} {rows[-1]['timestamp']}")]]
        self.reply(200, json.dumps(out), "application/json")

    def web(self, path: str, query) -> None:
        m = re.fullmatch(r"/web/(\d{14})id_/(.+)", path)
        if not m:
            self.reply(404, "not a raw capture URL")
            return
        wanted, url = m[1], m[2] + (f"?{urlsplit(self.path).query}" if urlsplit(self.path).query else "")
        key = surt(url)
        captures = [c for c in self.server.wayback if c.urlkey == key and c.mime != "warc/revisit"]
        if not captures:
            self.reply(404, "Wayback Machine has not archived that URL.", "text/html")
            return
        nearest = min(captures, key=lambda c: abs(_seconds(c.timestamp) - _seconds(wanted)))
        if nearest.timestamp != wanted:
            self.reply(302, "", headers=[("Location", f"{self.server.base_url}/web/{nearest.timestamp}id_/{url}")])
            return
        status, headers, body = payload(nearest)
        out = [(f"x-archive-orig-{k.lower()}", v) for k, v in headers]
        kind = next((v for k, v in headers if k.lower() == "content-type"), "text/html")
        moment = datetime.strptime(nearest.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        out += [("Memento-Datetime", format_datetime(moment, usegmt=True)), ("X-Archive-Src", nearest.served)]
        self.reply(status, body, kind, out)


def _seconds(ts: str) -> float:
    return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
