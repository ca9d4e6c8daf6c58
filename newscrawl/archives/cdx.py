"""The URL index APIs of Common Crawl and the Wayback Machine: the queries we send and how we read the
answers. Pure functions (no I/O): the requests go through Scrapy's downloader (newscrawl.archives.remote).

Why not cdx_toolkit: it fetches with `requests`, synchronously, inside the caller's thread; inside a
Scrapy crawl every index page would block the reactor (and every download of the crawl with it), and
its own retries and sleeps would bypass what the crawl's politeness and resume rely on (Scrapy's per-host
download slots, RetryMiddleware, JOBDIR's request queue, the stats). The two APIs are small and
documented (pywb's CDX server API for Common Crawl's index.commoncrawl.org, the Internet Archive's
wayback-cdx-server README for web.archive.org/cdx/search/cdx), so the few lines that build a query and
read a page are here, and the downloading is the crawl's own.

Shapes (checked against testkit.archiveserver; docs/archives.md says what was checked only there):

- Common Crawl: `<index server>/<INDEX>-index?url=<domain>&matchType=domain&output=json` → one JSON object a
  line (urlkey, timestamp, url, mime, status, digest, length, offset, filename, ...); `showNumPages=true`
  → `{"pages": N, ...}`; `page=0..N-1`; no capture → 404. A record is the bytes
  `offset..offset+length-1` of `<data server>/<filename>` (one gzip member).
- Wayback: `<wayback>/cdx/search/cdx?url=...&output=json` → a JSON array whose first row names the fields;
  with `showResumeKey=true` and a `limit`, a page ends with `[]` and `[<resume key>]`, passed back as
  `resumeKey`. A capture's bytes as archived: `<wayback>/web/<timestamp>id_/<url>`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

#: a Common Crawl main crawl (`CC-MAIN-2024-10`: year and ISO week)
CC_MAIN_RE = re.compile(r"CC-MAIN-(\d{4})-(\d{2})")
CC_NEWS = "CC-NEWS"
#: Wayback CDX rows per request (one page of the resume-key paging)
WAYBACK_PAGE_ROWS = 5000
#: the most index pages one lookup may have (15,000 lines each)
MAX_PAGES = 100_000
#: the Content-Types read as pages (others are not fetched)
HTML_MIMES = ("text/html", "application/xhtml+xml")


def check_index(name: str) -> str:
    """A Common Crawl index name, checked: `CC-MAIN-YYYY-WW` or `CC-NEWS`; ValueError with one line."""
    value = str(name).strip()
    if value.upper() == CC_NEWS:
        return CC_NEWS
    m = CC_MAIN_RE.fullmatch(value)
    if not m or not (2008 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 53):
        raise ValueError(f"commoncrawl: {name!r} is not a Common Crawl index name "
                         "(CC-MAIN-YYYY-WW such as CC-MAIN-2024-10, or CC-NEWS)")
    return value


# -- time -------------------------------------------------------------------------------------------------
def stamp(day: date, end: bool = False) -> str:
    """The 14-digit CDX timestamp of the start (or the last second) of a UTC day."""
    return day.strftime("%Y%m%d") + ("235959" if end else "000000")


def iso(ts: str) -> str:
    """A CDX timestamp (14 digits, or fewer: a prefix) as ISO 8601 UTC, crawled_at's form."""
    moment = datetime.strptime(ts.ljust(14, "0")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


def seconds(ts: str) -> float:
    return datetime.strptime(ts.ljust(14, "0")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()


def retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), None when absent or
    unreadable; never negative."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if re.fullmatch(r"\d{1,9}", text):
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


# -- Common Crawl ---------------------------------------------------------------------------------------
def cc_query(base: str, index: str, url: str, match_type: str, *, since: date | None = None,
             until: date | None = None, page: int | None = None, num_pages: bool = False) -> str:
    """An index query URL: the page count (`num_pages`) or one page of 200 captures of `url`."""
    params: dict[str, str] = {"url": url, "matchType": match_type, "output": "json"}
    if since:
        params["from"] = stamp(since)
    if until:
        params["to"] = stamp(until, end=True)
    if num_pages:
        params["showNumPages"] = "true"
    else:
        params["filter"] = "=status:200"
        if page is not None:
            params["page"] = str(page)
    return f"{base.rstrip('/')}/{index}-index?{urlencode(params)}"


def num_pages(body: bytes) -> int:
    """The page count of a `showNumPages=true` answer; ValueError when it is not one (or claims more than
    MAX_PAGES: a billion captures of one domain is no real answer, and the crawl would page forever)."""
    found = json.loads(body)
    pages = found.get("pages") if isinstance(found, dict) else None
    if not isinstance(pages, int) or isinstance(pages, bool) or not 0 <= pages <= MAX_PAGES:
        raise ValueError(f"not a page count: {str(found)[:80]!r}")
    return pages


@dataclass(frozen=True)
class CCRecord:
    """One index line we can fetch: the page's URL, when it was captured, and where its bytes are."""

    url: str
    timestamp: str
    filename: str
    offset: int
    length: int

    @property
    def archive_ref(self) -> str:
        return f"{self.filename.rsplit('/', 1)[-1]}#{self.offset}"


def cc_records(body: bytes) -> tuple[list[CCRecord], int]:
    """The fetchable HTML 200 captures of an index page, and how many lines were unreadable."""
    found, bad = [], 0
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            mime = str(row.get("mime-detected") or row.get("mime") or "").split(";")[0].strip().lower()
            if str(row.get("status")) != "200" or mime not in HTML_MIMES:
                continue
            found.append(CCRecord(str(row["url"]), str(row["timestamp"]), str(row["filename"]),
                                  int(row["offset"]), int(row["length"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad += 1
    return found, bad


def data_url(base: str, filename: str) -> str:
    return f"{base.rstrip('/')}/{filename.lstrip('/')}"


def news_months(since: date, until: date) -> list[str]:
    """The CC-NEWS months ("YYYY/MM") from `since`'s to `until`'s."""
    months, year, month = [], since.year, since.month
    while (year, month) <= (until.year, until.month):
        months.append(f"{year:04d}/{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def news_paths_url(base: str, month: str) -> str:
    return f"{base.rstrip('/')}/crawl-data/CC-NEWS/{month}/warc.paths.gz"


# -- the Wayback Machine ----------------------------------------------------------------------------------
def wayback_query(base: str, url: str, match_type: str, *, since: date | None = None, until: date | None = None,
                  collapse: bool = True, resume_key: str | None = None) -> str:
    """A CDX query for the 200 HTML captures of `url` (the first of each URL when `collapse`), one page
    of WAYBACK_PAGE_ROWS rows with a resume key."""
    params: list[tuple[str, str]] = [("url", url), ("matchType", match_type), ("output", "json"),
                                     ("fl", "timestamp,original,mimetype,statuscode"),
                                     ("filter", "statuscode:200"), ("filter", "mimetype:text/html")]
    if since:
        params.append(("from", stamp(since)))
    if until:
        params.append(("to", stamp(until, end=True)))
    if collapse:
        params.append(("collapse", "urlkey"))
    params += [("limit", str(WAYBACK_PAGE_ROWS)), ("showResumeKey", "true")]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{base.rstrip('/')}/cdx/search/cdx?{urlencode(params)}"


@dataclass(frozen=True)
class Capture:
    url: str
    timestamp: str


def wayback_rows(body: bytes) -> tuple[list[Capture], str | None]:
    """The 200 captures of a CDX `output=json` page (header row first) and its resume key, if any.
    ValueError when the answer is not such a table."""
    table = json.loads(body or b"[]")
    if not isinstance(table, list):
        raise ValueError("not a CDX table")
    resume = None
    if len(table) >= 2 and table[-2] == [] and isinstance(table[-1], list) and len(table[-1]) == 1:
        resume, table = str(table[-1][0]), table[:-2]
    if not table:
        return [], resume
    header = table[0]
    if not isinstance(header, list) or "timestamp" not in header or "original" not in header:
        raise ValueError("a CDX table without a header row")
    at = {name: header.index(name) for name in header}
    captures = []
    for row in table[1:]:
        if not isinstance(row, list) or len(row) != len(header):
            continue
        if "statuscode" in at and str(row[at["statuscode"]]) != "200":
            continue
        if not re.fullmatch(r"\d{14}", str(row[at["timestamp"]])):
            continue
        captures.append(Capture(str(row[at["original"]]), str(row[at["timestamp"]])))
    return captures, resume


def closest(captures: list[Capture], moment: str | None) -> Capture | None:
    """The capture nearest `moment` (ISO 8601, or a date) when given, else the earliest; ties: the earlier."""
    if not captures:
        return None
    if not moment:
        return min(captures, key=lambda c: c.timestamp)
    try:
        target = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except ValueError:
        return min(captures, key=lambda c: c.timestamp)
    if target.tzinfo is None:
        target = target.replace(tzinfo=UTC)
    at = target.timestamp()
    return min(captures, key=lambda c: (abs(seconds(c.timestamp) - at), c.timestamp))


def raw_capture_url(base: str, timestamp: str, url: str) -> str:
    """The Wayback URL of a capture's bytes as archived (`id_`: no rewriting, no banner)."""
    return f"{base.rstrip('/')}/web/{timestamp}id_/{url}"
