"""Test WARC files: the local test site's pages as WARC records, written with warcio (the reader newscrawl
uses, newscrawl.archives.warc) or by hand to the standard's bytes (ISO 28500 WARC/1.1), so a reader bug
that warcio's writer would mirror cannot hide.

- `Record(url, body, captured_at, kind=...)`: one record. Kinds: response (an HTTP 200 response),
  request, revisit (an identical-payload revisit: headers only), truncated (a response marked
  `WARC-Truncated: length`, its body cut in half, as a crawler's size limit writes it), resource,
  warcinfo. A non-HTML payload is a response with another `content_type`.
- `write_warc(path, records)` (warcio; gzipped when the name ends in .gz, a gzip member a record) and
  `write_standard_warc(path, records)` (by hand): they return each record's offset.
- `demo_records(base)`: the demo snapshot's 29 article pages (`/fa/news/<id>`, 818230-818259 but the
  deleted 818250) and its feed, their links pointed at `base` as the test site serves them: a WARC crawl
  with `-a base_url=<base>` reads what a live crawl of the test site at `base` reads.
- `mixed_records(base)`: the demo records plus one of each record a backfill must skip (`SKIPS` says
  which); `generated_records(n, base)`: n generated articles (the test site's /gen pages), lazily.
- `cut_tail(path, nbytes)`: the file cut short inside its last record (a download that stopped).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HTML = "text/html; charset=utf-8"
#: when the demo pages were captured (the cassette's recording time)
CAPTURED_AT = "2018-07-22T05:00:00Z"
#: the demo's article ids that answer 200 (818250 was deleted: the snapshot's 404)
DEMO_IDS = tuple(i for i in range(818230, 818260) if i != 818250)
OTHER_HOST = "https://www.isna.ir"


@dataclass(frozen=True)
class Record:
    url: str
    body: bytes | str = b""
    captured_at: str = CAPTURED_AT
    kind: str = "response"
    content_type: str = HTML
    status: int = 200

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


def demo_records(base: str, captured_at: str = CAPTURED_AT) -> list[Record]:
    """The demo snapshot's article pages and its feed (`/fa/rss/allnews`, text/xml), served at `base`."""
    from testkit.testsite import Snapshot, path_key

    snapshot = Snapshot()
    records = []
    for news_id in DEMO_IDS:
        found = snapshot.pages[path_key(f"/fa/news/{news_id}")]
        records.append(Record(f"{base}/fa/news/{news_id}", snapshot.rewrite(found.body, base), captured_at))
    feed = snapshot.pages[path_key("/fa/rss/allnews")]
    records.append(Record(f"{base}/fa/rss/allnews", snapshot.rewrite(feed.body, base), captured_at,
                          content_type="text/xml; charset=utf-8"))
    return records


#: what `mixed_records` adds to the demo records, by the reason a backfill skips it
SKIPS = ("request", "revisit", "truncated", "other-host", "non-html", "not-article")


def mixed_records(base: str) -> list[Record]:
    """The demo records with, among them, a request record for each of the first two articles, a revisit
    of the first, a truncated copy of 818242, 818243's page on another host, a JPEG at an article URL and
    an HTML page of the site that is not an article (its robots.txt-like /fa/about page)."""
    records = demo_records(base)
    first, other = records[0], records[13]  # 818230 and 818244
    extra = [
        Record(first.url, kind="request"), Record(records[1].url, kind="request"),
        Record(first.url, kind="revisit", captured_at="2018-08-01T00:00:00Z"),
        replace(records[12], kind="truncated", captured_at="2018-07-23T00:00:00Z"),
        replace(other, url=OTHER_HOST + urlsplit(other.url).path),
        Record(f"{base}/fa/news/818999", b"\xff\xd8\xff\xe0" + bytes(200), content_type="image/jpeg"),
        Record(f"{base}/fa/about", "<html><body><p>درباره‌ی ما</p></body></html>"),
    ]
    out = list(records)
    for position, record in zip((0, 3, 4, 10, 16, 22, 30), extra, strict=True):  # among the pages
        out.insert(position, record)
    return out


def generated_records(n: int, base: str, captured_at: str = CAPTURED_AT) -> Iterator[Record]:
    """Generated articles 1..n as the test site's /gen serves them (`base` is the site's root; the
    records are at `<base>/gen/fa/news/<id>`: crawl them with `-a base_url=<base>/gen`)."""
    from testkit.testsite import GEN_PREFIX, generated_article, generated_page

    for k in range(1, n + 1):
        page = generated_page(k).replace('href="/gen', f'href="{base}/gen')
        yield Record(f"{base}{GEN_PREFIX}/fa/news/{generated_article(k).id}", page, captured_at)


# -- warcio --------------------------------------------------------------------------------------------
def write_warc(path: str | Path, records: Iterable[Record], *, compress: bool | None = None) -> list[int]:
    """The records as a WARC file written by warcio (gzipped when `compress`, default: the name ends in
    .gz); the offset of each record."""
    path = Path(path)
    compress = path.name.endswith(".gz") if compress is None else compress
    offsets = []
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=compress)
        for record in records:
            offsets.append(stream.tell())
            writer.write_record(_warcio_record(writer, record))
    return offsets


def _warcio_record(writer: WARCWriter, record: Record):
    date = {"WARC-Date": record.captured_at}
    host = urlsplit(record.url).netloc
    if record.kind == "request":
        http = StatusAndHeaders(f"GET {urlsplit(record.url).path or '/'} HTTP/1.1",
                                [("Host", host), ("User-Agent", "newscrawl-test")], is_http_request=True)
        return writer.create_warc_record(record.url, "request", payload=io.BytesIO(b""), length=0,
                                         http_headers=http, warc_headers_dict=date)
    if record.kind == "revisit":
        http = StatusAndHeaders("200 OK", [("Content-Type", record.content_type)], protocol="HTTP/1.1")
        return writer.create_revisit_record(record.url, digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                            refers_to_uri=record.url, refers_to_date=CAPTURED_AT,
                                            http_headers=http, warc_headers_dict=date)
    if record.kind in ("resource", "warcinfo"):
        return writer.create_warc_record(record.url, record.kind, payload=io.BytesIO(record.data),
                                         length=len(record.data), warc_content_type=record.content_type,
                                         warc_headers_dict=date)
    body = record.data
    headers = dict(date)
    if record.kind == "truncated":
        headers["WARC-Truncated"] = "length"
        body = body[: len(body) // 2]
    http = StatusAndHeaders(f"{record.status} {'OK' if record.status == 200 else 'Status'}",
                            [("Content-Type", record.content_type), ("Content-Length", str(len(record.data)))],
                            protocol="HTTP/1.1")
    return writer.create_warc_record(record.url, "response", payload=io.BytesIO(body), length=len(body),
                                     http_headers=http, warc_headers_dict=headers)


# -- by hand -------------------------------------------------------------------------------------------
def write_standard_warc(path: str | Path, records: Iterable[Record]) -> list[int]:
    """The records (kinds response, request and truncated) as WARC/1.1 written byte by byte from the
    standard: version line, named fields, CRLF, a block of Content-Length bytes, CRLF CRLF; gzipped one
    member a record when the name ends in .gz. The offset of each record."""
    path = Path(path)
    offsets, position = [], 0
    with path.open("wb") as stream:
        for record in records:
            data = _standard_bytes(record)
            if path.name.endswith(".gz"):
                data = gzip.compress(data)
            offsets.append(position)
            stream.write(data)
            position += len(data)
    return offsets


def _standard_bytes(record: Record) -> bytes:
    parts = urlsplit(record.url)
    if record.kind == "request":
        block = (f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n").encode("ascii")
        kind, extra = "request", []
    else:
        body = record.data
        extra = []
        if record.kind == "truncated":
            body, extra = body[: len(body) // 2], ["WARC-Truncated: length"]
        head = (f"HTTP/1.1 {record.status} OK\r\nContent-Type: {record.content_type}\r\n"
                f"Content-Length: {len(record.data)}\r\n\r\n").encode("ascii")
        block = head + body
        kind = "response"
        extra.append(f"WARC-Payload-Digest: sha1:{_base32_sha1(body)}")
    msgtype = "request" if kind == "request" else "response"
    fields = [f"WARC-Type: {kind}", f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>",
              f"WARC-Date: {record.captured_at}", f"WARC-Target-URI: {record.url}",
              f"Content-Type: application/http;msgtype={msgtype}", *extra,
              f"Content-Length: {len(block)}"]
    return ("WARC/1.1\r\n" + "\r\n".join(fields) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"


def _base32_sha1(data: bytes) -> str:
    import base64

    return base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def cut_tail(path: str | Path, nbytes: int) -> None:
    """Cut the last `nbytes` bytes off the file: its last record ends short."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("r+b") as stream:
        stream.truncate(max(0, size - nbytes))
