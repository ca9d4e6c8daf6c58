"""Reading WARC files (ISO 28500, 1.0 and 1.1; `.warc` or `.warc.gz` with one gzip member a record): the one
place that parses WARC records, for WARC backfills, Common Crawl and the Wayback Machine.

The reader is warcio (Webrecorder's). Measured against FastWARC 2.0.1 on this machine (5,000 response
records of 46 KB HTML, best of 3): warcio read 23,900 records/s from a .warc and 15,000 from a .warc.gz,
FastWARC 65,900 and 20,200. Both are far faster than extracting an article (a few hundred a second), so
reading is a small part of a backfill's time either way (in a crawl of 3,000 generated articles: scan
0.08 ms and read at its offset 0.13 ms a record, of about 5 ms CPU for the whole crawl's work a record). What decided is the bytes: warcio's content stream
gives the page as the server meant it (chunked transfer coding and gzip/deflate/brotli Content-Encoding
undone), the same bytes Scrapy's downloader hands a live crawl, while FastWARC gives the raw payload and
we would have to write the dechunking ourselves. warcio is pure Python with one dependency (six); FastWARC
is compiled and brings click, tqdm and brotli. Neither notices a record cut short (both return the short
body): `_complete` checks the record's Content-Length here.

API (every function gives an ArchivedPage or a Skipped, never None; a file that is no WARC raises WarcError):

- `iter_pages(path, bodies=True)` streams a whole file: for each record an `ArchivedPage` (an HTTP
  response record of an HTML page) or a `Skipped` (with `reason`, one of `REASONS`). Memory is one record
  at a time, a body at most `max_bytes`. `bodies=False` reads no body into memory (the crawl's scan).
- `read_record(data)` reads one record's bytes (gzipped or not), as an HTTP range request returns them.
- `read_at(path, offset)` reads the one record at `offset` of a file (what `archive_ref` points at).
- `check(path)` raises `WarcError` (one clear line) unless `path` is a readable WARC file; `expand(spec)`
  gives the files of a `warc=` argument (paths and globs, comma-separated), each checked.

Which records are articles, and of which host, is the caller's decision (the spider's URL rules): it
counts those as `not-article` and `other-host`.
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

__all__ = ["REASONS", "ArchivedPage", "Skipped", "WarcError", "check", "expand", "iter_pages", "read_at",
           "read_record"]

#: why a record is not a page: request (a request record), revisit (a revisit record: no body of its own),
#: truncated (WARC-Truncated, or fewer bytes than its Content-Length), non-html (another Content-Type),
#: other-record (warcinfo, metadata, resource, conversion, ...), not-http (a response that is not an
#: http(s) URL's, e.g. dns:), too-large (a body over max_bytes), bad-record (unreadable HTTP headers or date)
REASONS = ("request", "revisit", "truncated", "non-html", "other-record", "not-http", "too-large", "bad-record")
#: the Content-Types read as HTML pages
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: headers that describe the bytes on the wire, not the (decoded) body a page gets
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
#: a body is at most this many bytes unless the caller says otherwise (Scrapy's DOWNLOAD_MAXSIZE here)
MAX_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 16


class WarcError(ValueError):
    """A file that is not a readable WARC file (missing, empty, or another format)."""


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """An HTTP response record of an HTML page: `body` decoded as a live crawl's (no chunking, no gzip),
    `headers` without the wire-only ones, `captured_at` the record's WARC-Date in UTC (crawled_at's form),
    `archive_ref` "<file name>#<offset>" (the offset of the record, gzip member included)."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    captured_at: str
    archive_ref: str
    offset: int

    def meta(self, fetched_from: str = "warc") -> dict:
        """The request meta `newscrawl_archive` value for this page (newscrawl.archives.META_KEY)."""
        return {"fetched_from": fetched_from, "archive_ref": self.archive_ref, "captured_at": self.captured_at}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not a page, and why (`reason`, one of REASONS); `url` when it has one."""

    reason: str
    url: str | None
    offset: int
    archive_ref: str


def check(path: str | Path) -> None:
    """Raise WarcError with one clear line unless `path` is a file whose first record is a WARC record."""
    path = Path(path)
    if not path.is_file():
        raise WarcError(f"no such WARC file: {path}")
    try:
        with path.open("rb") as stream:
            record = next(iter(ArchiveIterator(stream, arc2warc=False)), None)
            if record is None or record.format != "warc":
                raise WarcError(f"not a WARC file: {path}")
    except WarcError:
        raise
    except Exception:  # noqa: BLE001 - warcio on any file raises anything; never the file's text: it may be any file
        raise WarcError(f"not a WARC file: {path}") from None


def expand(spec: str) -> list[Path]:
    """The files of a `warc=` argument: comma-separated paths and globs (`*`, `?`, `[...]`, `**`), each
    glob's matches sorted, each file once; WarcError when a path is missing, a glob matches nothing or a
    file is not a WARC file."""
    paths: list[Path] = []
    for part in (p.strip() for p in str(spec).split(",")):
        if not part:
            continue
        part = os.path.expanduser(part)
        if glob.has_magic(part):
            found = sorted(glob.glob(part, recursive=True))
            if not found:
                raise WarcError(f"no file matches {part}")
            paths.extend(Path(f) for f in found)
        else:
            paths.append(Path(part))
    if not paths:
        raise WarcError("no WARC file given")
    paths = list(dict.fromkeys(paths))
    for path in paths:
        check(path)
    return paths


def iter_pages(path: str | Path, *, bodies: bool = True, max_bytes: int = MAX_BYTES,
               start: int = 0) -> Iterator[ArchivedPage | Skipped]:
    """Every record of the file at `path`, in order, from byte `start` (a record's offset): an ArchivedPage
    or a Skipped. A file that ends inside a record ends with Skipped("truncated"). Raises WarcError when
    the file is not a WARC file."""
    path = Path(path)
    with path.open("rb") as stream:
        stream.seek(start)  # warcio counts offsets from where the stream is: they stay the file's
        yield from _read(stream, path.name, 0, bodies, max_bytes)


def read_at(path: str | Path, offset: int, *, max_bytes: int = MAX_BYTES) -> ArchivedPage | Skipped:
    """The record at byte `offset` of the file at `path` (where an archive_ref points)."""
    for page in iter_pages(path, max_bytes=max_bytes, start=offset):
        return page
    return Skipped("truncated", None, offset, f"{Path(path).name}#{offset}")


def read_record(data: bytes, *, name: str = "", offset: int = 0,
                max_bytes: int = MAX_BYTES) -> ArchivedPage | Skipped:
    """One record's bytes (gzipped or not, as a range request returns them): an ArchivedPage or a Skipped.
    `name` and `offset` make its archive_ref ("<name>#<offset>", the file it came from)."""
    for page in _read(io.BytesIO(data), name, offset, True, max_bytes):
        return page
    return Skipped("truncated", None, offset, f"{name}#{offset}")


def _read(stream, name: str, base: int, bodies: bool, max_bytes: int) -> Iterator[ArchivedPage | Skipped]:
    """The records of `stream`; `base` is added to its positions to make the offsets of the file."""
    iterator = ArchiveIterator(stream, arc2warc=False)
    offset, seen = base, False
    try:
        for record in iterator:
            # warcio's offset is where this record starts (get_record_offset() would read its body first)
            offset, seen = base + iterator.offset, True
            if record.format != "warc":
                raise WarcError(f"not a WARC file: {name}")
            yield _page(record, f"{name}#{offset}", offset, bodies, max_bytes)
        end = stream.seek(0, io.SEEK_END)
        if seen and base + iterator.offset < end:  # a gzip member cut short ends the iteration silently
            offset = base + iterator.offset
            raise EOFError
    except WarcError:
        raise
    except Exception as exc:  # noqa: BLE001 - warcio on damaged bytes raises anything (AttributeError, zlib.error)
        if not seen:
            raise WarcError(f"not a WARC file: {name}") from None
        # the file ends (or breaks) inside a record: that record, and nothing after it, can be read
        reason = "truncated" if isinstance(exc, EOFError | ArchiveLoadFailed) else "bad-record"
        yield Skipped(reason, None, offset, f"{name}#{offset}")


def _page(record, ref: str, offset: int, bodies: bool, max_bytes: int) -> ArchivedPage | Skipped:
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    kind = record.rec_type
    if kind != "response":
        reason = {"request": "request", "revisit": "revisit"}.get(kind, "other-record")
        return Skipped(reason, url, offset, ref)
    if not url or not url.lower().startswith(("http://", "https://")) or record.http_headers is None:
        return Skipped("not-http", url, offset, ref)
    try:
        status = int(record.http_headers.get_statuscode())
        captured = _utc(headers.get_header("WARC-Date"))
    except (TypeError, ValueError):
        return Skipped("bad-record", url, offset, ref)
    http = tuple((str(k), str(v)) for k, v in record.http_headers.headers)
    content_type = next((v for k, v in http if k.lower() == "content-type"), "")
    if headers.get_header("WARC-Truncated"):
        return Skipped("truncated", url, offset, ref)
    body = b""
    if not bodies and not content_type:
        body = _read_upto(record.raw_stream, 512)  # enough to tell HTML; the rest is read (not kept) below
    if bodies:
        try:
            body = _read_upto(record.content_stream(), max_bytes + 1)
        except Exception:  # noqa: BLE001 - a broken chunked or gzip payload is a record we cannot read
            return Skipped("bad-record", url, offset, ref)
        if len(body) > max_bytes:
            return Skipped("too-large", url, offset, ref)
    if not _complete(record):
        return Skipped("truncated", url, offset, ref)
    if not _is_html(content_type, body):
        return Skipped("non-html", url, offset, ref)
    kept = tuple((k, v) for k, v in http if k.lower() not in _WIRE_HEADERS)
    return ArchivedPage(url, status, kept, body if bodies else b"", captured, ref, offset)


def _read_upto(stream, size: int) -> bytes:
    """Up to `size` bytes of `stream` (warcio's readers return what one buffer holds: read until done)."""
    parts, left = [], size
    while left > 0:
        part = stream.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _complete(record) -> bool:
    """Whether the record holds all the bytes its Content-Length promises (the rest read, not kept)."""
    raw = record.raw_stream
    while raw.read(_CHUNK):
        pass
    return getattr(raw, "limit", 0) <= 0


def _is_html(content_type: str, body: bytes) -> bool:
    """An HTML page: an HTML Content-Type; with none, a body that starts like HTML."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind:
        return kind in HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _utc(value: str | None) -> str:
    """A WARC-Date (`2024-03-01T10:20:30Z`, fractions allowed) as UTC `2024-03-01T10:20:30+00:00`."""
    if not value:
        raise ValueError("no WARC-Date")
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
