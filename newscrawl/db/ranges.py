"""Which archive days a crawl walked to the end with everything stored, kept in the database, so that a
later incremental run knows where it may stop early.

Why: an archive lists its articles newest first, and an incremental run stops paginating at a page whose
articles are all stored, on the rule "everything older is stored too". That rule holds only after a run
that walked the older part to the end and stored everything it found. After a run that ended early (a
kill, a database outage, a full disk, requests given up) the older part has holes, and stopping at the
first known page would never come back to them. So a run that completes records the days of its range
here, per site, service and Jalali day; a later run stops early only where every day of the listing it
walks is recorded, and otherwise walks the whole range, fetching only the articles the database lacks.

A day that was not over when the recording run started (today) is recorded with an anchor: the news codes
on the first page of its listing at that run. Everything listed from there on was stored; articles
published later sit above the anchor and may have holes (a run killed at noon stores the newest first).
A later run may stop at an all-known page only once its walk has reached an anchor of each such day.

Scrapy has no notion of this, and storage.py's table is about articles, so this is a table of our own,
with its own MetaData, created on the crawl's database engine.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from scrapy import signals
from scrapy.utils.misc import load_object
from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from newscrawl.db.store import create_tables
from newscrawl.parsing.dates import TEHRAN, jalali_str

logger = logging.getLogger(__name__)

metadata = MetaData()
crawl_ranges = Table(
    "crawl_ranges",
    metadata,
    Column("site", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # "archive"
    Column("service", String(64), primary_key=True),  # "" for the whole archive
    Column("day", String(10), primary_key=True),  # Jalali YYYY/MM/DD, ASCII digits (sorts as text)
    Column("run_id", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("anchor", JSON),  # news codes of the listing's first page; null when the day was over
)

#: request meta: which listing a page belongs to (a Jalali day, or RANGE), whether it is the first page,
#: and the days whose anchor this walk has reached
LISTING, FIRST, PASSED = "newscrawl_listing", "newscrawl_first_page", "newscrawl_passed"
RANGE = "range"

#: stats that mean an article may be missing although the crawl finished: a request given up after its
#: retries, a callback that raised (a listing page may have hidden links), an item lost in a pipeline,
#: storage trouble (errors, items left unwritten, a halt with articles spooled for the next run or lost), and
#: pages an offline replay had no recording of
LOSS_STATS = ("retry/max_reached", "spider_exceptions/count", "newscrawl/item_errors", "newscrawl/db/errors",
              "newscrawl/db/unwritten", "newscrawl/halt/reason", "newscrawl/halt/spooled",
              "newscrawl/halt/unstored", "newscrawl/listing/not_requested", "newscrawl/replay/missing")
_EXC = "downloader/exception_type_count/"


def failed_downloads(stats: Mapping) -> int:
    """Requests ended by a download exception. Each exception of a type is either retried (counted in
    `retry/reason_count/<type>`) or ends its request; IgnoreRequest (robots.txt, off-site) is deliberate."""
    from scrapy.exceptions import IgnoreRequest

    failed = 0
    for key, count in stats.items():
        if not key.startswith(_EXC):
            continue
        name = key[len(_EXC):]
        try:
            if issubclass(load_object(name), IgnoreRequest):
                continue
        except (ImportError, ValueError, NameError, AttributeError, TypeError):
            pass
        failed += max(0, count - stats.get(f"retry/reason_count/{name}", 0))
    return failed


def incomplete(stats: Mapping, reason: str) -> list[str]:
    """Why a crawl cannot vouch that it stored everything it walked: [] when it can (see run_complete)."""
    why = [] if reason == "finished" else [f"finish reason {reason}"]
    why += [f"{key} {stats[key]}" for key in LOSS_STATS if stats.get(key)]
    failed = failed_downloads(stats)
    if failed:
        why.append(f"{failed} requests ended by download errors")
    return why


def run_complete(stats: Mapping, reason: str) -> bool:
    """Whether a crawl stored everything its walk found, the one rule for recording a range complete.

    It must have finished normally (not `shutdown`, a `closespider_*` limit, `database_unavailable` or
    `disk_full`), given nothing up (no `retry/max_reached`, no download exception that ended a request),
    had no callback raise (a listing page that raised may have hidden links), lost no item in a pipeline,
    and got every item into the database (no `newscrawl/db/errors`, no halt: nothing unwritten, spooled
    to disk for the next run or lost; retried database errors that then succeeded are fine).
    Permanent answers (a 404, a page without a body, a duplicate) do not count: a rerun cannot change them.
    """
    return not incomplete(stats, reason)


def day_over(day: dt.date, at: datetime) -> bool:
    """Whether the Tehran day `day` had ended at `at` (so its archive could not grow any more)."""
    return datetime.combine(day + dt.timedelta(days=1), dt.time(), TEHRAN) <= at


def listing_keys(since: dt.date, until: dt.date, per_day: bool) -> list[str]:
    """The listing each start URL of `NewsSpider.archive_urls` walks, in its order: one per Jalali day
    (newest first) when the site's archive shows a day per listing, else RANGE for the one listing."""
    if not per_day:
        return [RANGE]
    return [jalali_str(until - dt.timedelta(days=n)) for n in range((until - since).days + 1)]


@dataclass(frozen=True)
class Day:
    """What the records say of one day: over when recorded (closed), else the anchors that vouch for it."""

    closed: bool
    anchor: frozenset[str]


def _line(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy's wrapper adds SQL and a link), or the type."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _create(engine: Engine) -> None:
    """Create the table when missing (storage.create_tables: a fleet's workers may race to create it)."""
    create_tables(engine, metadata)


def load(engine: Engine, site: str, service: str, days: Iterable[str], kind: str = "archive") -> dict[str, Day]:
    """The records of `days` for a crawl of `service` ("" for the whole archive). A record of the whole
    archive vouches for every service too; two records of one day vouch together (any anchor will do)."""
    days = sorted(set(days))
    if not days:
        return {}
    _create(engine)
    t = crawl_ranges
    query = select(t.c.day, t.c.anchor).where(
        t.c.site == site, t.c.kind == kind, t.c.service.in_(sorted({service, ""})),
        t.c.day >= days[0], t.c.day <= days[-1])
    wanted = set(days)
    found: dict[str, Day] = {}
    with engine.connect() as conn:
        for day, anchor in conn.execute(query):
            if day not in wanted:
                continue
            old = found.get(day, Day(False, frozenset()))
            found[day] = Day(old.closed or anchor is None, old.anchor | frozenset(map(str, anchor or ())))
    return found


def record(engine: Engine, site: str, service: str, days: Mapping[str, list[str] | None], run_id: str,
           started_at: datetime, kind: str = "archive") -> int:
    """Record `days` complete (day → anchor codes, None for a day that was over); returns the rows written."""
    if not days:
        return 0
    _create(engine)
    now = datetime.now(UTC)
    rows = [{"site": site, "kind": kind, "service": service, "day": day, "run_id": run_id[:128],
             "started_at": started_at, "completed_at": now, "anchor": anchor} for day, anchor in days.items()]
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(crawl_ranges)
    stmt = insert.on_conflict_do_update(
        index_elements=["site", "kind", "service", "day"],
        set_={c: insert.excluded[c] for c in ("run_id", "started_at", "completed_at", "anchor")})
    with engine.begin() as conn:
        conn.execute(stmt, rows)
    return len(rows)


class ArchiveWalk:
    """One archive crawl's use of the records: loaded when the crawl starts, asked at every all-known
    listing page (`page`, `may_stop`), written when the crawl closes complete.

    For a site whose archive shows one day per listing (`archive_per_day`) each day is its own listing:
    an all-known page stops that day's pagination when that day is recorded. For an archive that lists
    the whole range at once, every day of the range must be recorded."""

    def __init__(self, crawler, site: str, service: str, since: dt.date, until: dt.date, per_day: bool):
        self.crawler = crawler
        self.site, self.service = site, service
        self.since, self.until = since, until
        self.started_at = datetime.now(UTC)
        dates = [until - dt.timedelta(days=n) for n in range((until - since).days + 1)]
        self.dates = {jalali_str(d): d for d in dates}
        keys = listing_keys(since, until, per_day)
        self.listings: dict[str, tuple[str, ...]] = (
            {key: (key,) for key in keys} if per_day else {RANGE: tuple(self.dates)})
        self.book: dict[str, Day] = {}
        #: listing → news codes on its first page, as this run saw it (anchors for days not over)
        self.first_pages: dict[str, list[str]] = {}
        crawler.signals.connect(self.item_error, signal=signals.item_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @property
    def span(self) -> str:
        first, last = jalali_str(self.since), jalali_str(self.until)
        service = f" (service {self.service})" if self.service else ""
        return (first if first == last else f"{first}–{last}") + service

    def open(self, engine: Engine | None) -> None:
        """Load the records (none without a database, or when it cannot be read: the whole range is walked)."""
        if engine is not None:
            try:
                self.book = load(engine, self.site, self.service, self.dates)
            except SQLAlchemyError as exc:
                logger.warning("cannot read the complete archive days (%s): walking the whole range", _line(exc))
        missing = [day for day in self.dates if day not in self.book]
        self.crawler.stats.set_value("newscrawl/ranges/unrecorded_days", len(missing))
        if missing:
            logger.info("archive %s: %d of %d days not recorded complete by an earlier run; the whole range is "
                        "walked (only articles not stored are fetched)", self.span, len(missing), len(self.dates))

    def page(self, listing: str | None, codes: Iterable[str | None], passed: Iterable[str] = (),
             first: bool = False) -> tuple[str, ...]:
        """Note a listing page's news codes; returns the days whose anchor the walk has now reached."""
        codes = [c for c in codes if c]
        if first and listing in self.listings:
            self.first_pages[listing] = codes
        reached = set(passed)
        found = set(codes)
        for day in self.listings.get(listing, ()):
            entry = self.book.get(day)
            if entry is not None and not entry.closed and entry.anchor & found:
                reached.add(day)
        return tuple(sorted(reached))

    def may_stop(self, listing: str | None, passed: Iterable[str]) -> bool:
        """Whether an all-known page of `listing` means everything older in it is stored: every day of the
        listing is recorded complete, and the walk has reached the anchor of each day not over then."""
        days = self.listings.get(listing, ())
        reached = set(passed)
        return bool(days) and all(day in self.book and (self.book[day].closed or day in reached) for day in days)

    def item_error(self, item, response, spider, failure):
        self.crawler.stats.inc_value("newscrawl/item_errors")

    def completed_days(self) -> dict[str, list[str] | None]:
        """The days this run vouches for: those of each listing whose first page it read with links."""
        days: dict[str, list[str] | None] = {}
        for listing, codes in self.first_pages.items():
            if not codes:  # an empty first page (or a changed template) vouches for nothing
                continue
            for day in self.listings[listing]:
                days[day] = None if day_over(self.dates[day], self.started_at) else codes
        return days

    def spider_closed(self, spider, reason):
        stats = self.crawler.stats
        if self.crawler.settings.get("NEWSCRAWL_REDIS_URL"):
            logger.info("archive %s not recorded: a fleet worker cannot tell whether the others lost anything",
                        self.span)
            return
        why = incomplete(stats.get_stats(), reason)
        if why:
            logger.info("archive %s not recorded complete (%s): the next run walks it again", self.span,
                        "; ".join(why))
            return
        days = self.completed_days()
        jobdir = self.crawler.settings.get("JOBDIR")
        run_id = (jobdir.rstrip("/").rsplit("/", 1)[-1] if jobdir else "") or self.started_at.isoformat()
        engine = None
        try:
            from newscrawl.db.store import store_for

            engine = store_for(self.crawler).open().engine
            written = record(engine, self.site, self.service, days, run_id, self.started_at)
        except Exception as exc:  # noqa: BLE001  (StorageError, SQLAlchemyError: the next run walks it all)
            stats.inc_value("newscrawl/ranges/errors")
            logger.warning("cannot record archive %s complete (%s): the next run walks it again", self.span,
                           _line(exc))
            return
        finally:
            if engine is not None:
                engine.dispose()
        stats.set_value("newscrawl/ranges/recorded_days", written)
        logger.info("archive %s recorded complete (%d days)", self.span, written)
