"""The article database, through SQLAlchemy Core, so SQLite (default) and PostgreSQL share one code path.
Every SQL statement over the `articles` table is here: the writes, the dedup look-ups, and the reads of
`scrapy export` and `scrapy summary`.

The columns are the item's fields (newscrawl.items). SQLite stores instants as the exported text and
lists as JSON text; PostgreSQL uses `timestamptz` and `jsonb`, and an older table with text instants
and `json` lists is converted in place when the store opens it (ArticleStore._native_types). Both give
back the same text, so an export is byte for byte the same from either.

One row per (site, news_code). A batch is one transaction of INSERT ... ON CONFLICT DO UPDATE ... WHERE
<the new copy is better> RETURNING, so the writer learns which rows it stored, which it replaced and
which another copy keeps. Which copy is better is THE rule of `better` (docs/archives.md, "Provenance and
deduplication across sources"): a live fetch over an archived capture; among archived captures, the
earliest. A row is otherwise never overwritten (a live copy is never replaced; equal copies keep the
first). The database evaluates the rule on the row it locks, so a fleet racing on one article stores it
once, and the best copy wins whatever the order. Every row carries the `run_id` of the crawl process that
stored (or last replaced) it and `replacements`, how often a better copy replaced it; the feed repair
(newscrawl.exports.feeds) uses both to make a run's JSON Lines file agree with the database.

Transient errors (a server restart, a reset connection, "database is locked", a serialization
failure) are retried with exponential backoff for `retry_seconds`; after that the store raises
StorageUnavailable and every later call fails at once. A full disk raises StorageFull at once.
`is_known` answers from the batches not yet written or one indexed query, so memory does not grow
with the number of articles already stored.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    func,
    inspect,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError as SAArgumentError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from newscrawl import settings as project
from newscrawl.db import url as dburl
from newscrawl.items import FIELDS, LIST_FIELDS, ArticleItem, of_kind
from newscrawl.parsing.dates import TEHRAN, parse_iso

logger = logging.getLogger(__name__)

#: the zone published_at is written in: a Tehran day is the date part of its text
TEHRAN_ZONE = ArticleItem.fields["published_at"]["zone"]


class Instant(TypeDecorator):
    """An ISO 8601 instant (published_at, crawled_at): text as exported on SQLite, `timestamptz` on
    PostgreSQL, read back as the same text there too: in the field's zone, seconds unless it has a
    fraction. A text PostgreSQL cannot read as an instant is refused by the database (StorageRejected)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, zone: str):
        super().__init__(length)
        self.zone = zone
        self.tz = ZoneInfo(zone)

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(self.impl.length))

    def process_bind_param(self, value, dialect):
        if dialect.name != "postgresql" or not isinstance(value, str):
            return value
        return parse_iso(value) or value

    def process_result_value(self, value, dialect):
        if isinstance(value, datetime):
            return value.astimezone(self.tz).isoformat()
        return value


def _column(name: str) -> Column:
    """The column of an item field (newscrawl.items): lists and maps are JSON (`jsonb` on PostgreSQL),
    instants Instant, text VARCHAR(sql_length) or TEXT; a required field is NOT NULL."""
    meta = ArticleItem.fields[name]
    if meta["list"] or meta["kind"] == "map":
        kind = JSON().with_variant(postgresql.JSONB(), "postgresql")
    elif meta["kind"] == "instant":
        kind = Instant(meta["sql_length"], meta["zone"])
    else:
        kind = String(meta["sql_length"]) if meta["sql_length"] else Text()
    return Column(name, kind, nullable=not meta["required"])


metadata = MetaData()
articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *(_column(name) for name in FIELDS),
    Column("published_utc", DateTime(timezone=True), index=True),  # for range queries (UTC; naive on SQLite)
    Column("stored_at", DateTime(timezone=True)),
    # the crawl process that stored the row (see run_id_for); NULL for rows older than the column
    Column("run_id", String(128), index=True),
    # how many times a better copy of the article replaced the row (`better`); NULL: never
    Column("replacements", Integer),
    UniqueConstraint("site", "news_code", name="uq_articles_site_code"),
)
# the articles without a story yet (newscrawl.pipelines.stories assigns them): a partial index, so finding them
# costs nothing however large the table
Index("ix_articles_no_story", articles.c.id, sqlite_where=articles.c.story_id.is_(None),
      postgresql_where=articles.c.story_id.is_(None))
#: the item fields a row holds, in export order
ITEM_COLUMNS = list(FIELDS)
#: JSON object fields (provenance): {} when a row has none
MAP_FIELDS = of_kind("map")
_KEY = ("site", "news_code")
Key = tuple[str, str]
T = TypeVar("T")

# Built once: constructing a statement costs more than running it on SQLite.
_IS_KNOWN = (
    select(articles.c.id)
    .where(articles.c.site == bindparam("site"), articles.c.news_code == bindparam("code"))
    .limit(1)
)
_KNOWN_CODES = select(articles.c.news_code).where(
    articles.c.site == bindparam("site"), articles.c.news_code.in_(bindparam("codes", expanding=True))
)
_OWNED = select(articles.c.news_code, articles.c.stored_at, articles.c.replacements).where(
    articles.c.site == bindparam("site"), articles.c.news_code.in_(bindparam("codes", expanding=True)),
    articles.c.run_id == bindparam("run_id"))
_REPLACED_RUN_ROWS = select(articles.c.site, articles.c.news_code).where(
    articles.c.run_id == bindparam("run_id"), articles.c.replacements.is_not(None))
_RUN_KEYS = select(articles.c.site, articles.c.news_code).where(articles.c.run_id == bindparam("run_id"))
_RUN_ARTICLES = (
    select(articles.c.id, *(articles.c[name] for name in ITEM_COLUMNS))
    .where(articles.c.run_id == bindparam("run_id"), articles.c.site == bindparam("site"),
           articles.c.news_code.in_(bindparam("codes", expanding=True)))
    .order_by(articles.c.id)
)


# -- which copy of an article the database keeps ---------------------------------------------------------
#: the provenance fields the rule reads (newscrawl.items, issue 17); without them every copy is live
RANKED = {"fetched_from", "captured_at"} <= set(FIELDS)
LIVE = "live"
#: what a live fetch is, for `known_codes(..., than=)`
LIVE_COPY: Mapping = {"fetched_from": LIVE}


def _is_live(copy: Mapping) -> bool:
    return copy.get("fetched_from") in (None, LIVE)  # a row stored before the field existed was fetched live


def better(new: Mapping, old: Mapping) -> bool:
    """THE rule: does copy `new` of an article replace the stored copy `old` (items, rows or archive meta
    with `fetched_from` and `captured_at`)? A live fetch beats an archived capture; between archived
    captures the earlier one wins (a capture closer to publication, before later edits or a takedown;
    "complete" is implied: only a copy that passed validation reaches the store); a live copy is never
    replaced, and a tie keeps the stored one. `_better_sql` is the same rule for the database."""
    if _is_live(old):
        return False
    if _is_live(new):
        return True
    new_at, old_at = _instant(new.get("captured_at")), _instant(old.get("captured_at"))
    return new_at is not None and (old_at is None or new_at < old_at)


def _instant(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_iso(value) if isinstance(value, str) and value else None


class instant_order(FunctionElement):
    """An instant column as a value that sorts by time: julianday() of the ISO text on SQLite (an offset or
    a Z does not break the order there), the `timestamptz` itself on PostgreSQL."""

    type = String()
    name = "instant_order"
    inherit_cache = True


@compiles(instant_order, "sqlite")
def _instant_order_sqlite(element, compiler, **kw):
    return f"julianday({compiler.process(element.clauses, **kw)})"


@compiles(instant_order, "postgresql")
def _instant_order_postgresql(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


def _live_sql(columns):
    return or_(columns.fetched_from.is_(None), columns.fetched_from == LIVE)


def _better_sql(new, old):
    """`better` in SQL: `new` and `old` are column collections (the INSERT's `excluded` and `articles.c`)."""
    earlier = and_(new.captured_at.is_not(None), or_(
        old.captured_at.is_(None), instant_order(new.captured_at) < instant_order(old.captured_at)))
    return and_(not_(_live_sql(old)), or_(_live_sql(new), earlier))


def _insert(dialect_insert):
    """Insert; a row whose key exists is replaced by a better copy (`better`) and otherwise left as it is.
    The rows written come back, with `replacements` (NULL: inserted, else replaced)."""
    stmt = dialect_insert(articles)
    returning = (articles.c.site, articles.c.news_code, articles.c.replacements)
    if not RANKED:
        return stmt.on_conflict_do_nothing(index_elements=list(_KEY)).returning(*returning)
    values = {name: stmt.excluded[name] for name in (*ITEM_COLUMNS, "published_utc", "stored_at", "run_id")}
    values["replacements"] = func.coalesce(articles.c.replacements, 0) + 1
    return stmt.on_conflict_do_update(index_elements=list(_KEY), set_=values,
                                      where=_better_sql(stmt.excluded, articles.c)).returning(*returning)


_INSERTS = {"sqlite": _insert(sqlite.insert), "postgresql": _insert(postgresql.insert)}

if RANKED:
    _COPY = select(articles.c.fetched_from, articles.c.captured_at).where(
        articles.c.site == bindparam("site"), articles.c.news_code == bindparam("code")).limit(1)
    _COPIES = select(articles.c.news_code, articles.c.fetched_from, articles.c.captured_at).where(
        articles.c.site == bindparam("site"), articles.c.news_code.in_(bindparam("codes", expanding=True)))
    #: codes whose stored copy a live fetch would not replace: the live ones
    _KNOWN_LIVE = _KNOWN_CODES.where(_live_sql(articles.c))
    #: codes whose stored copy an archived capture of `at` would not replace: live, or captured by then
    _KNOWN_BY = _KNOWN_CODES.where(or_(_live_sql(articles.c), and_(
        articles.c.captured_at.is_not(None),
        instant_order(articles.c.captured_at) <= instant_order(bindparam("at", type_=articles.c.captured_at.type)))))


@dataclass
class Written:
    """What one `upsert` did: keys `inserted` (new), `replaced` (a better copy over a stored one) and
    `rejected` ({key: why}, refused by the database). Any other key of the batch kept its stored copy."""

    inserted: set = field(default_factory=set)
    replaced: set = field(default_factory=set)
    rejected: dict = field(default_factory=dict)

    @property
    def stored(self) -> set:
        return self.inserted | self.replaced

    def __iter__(self):
        """`stored, rejected = store.write(rows)`: the two-value form older callers unpack."""
        return iter((self.stored, self.rejected))


class StorageError(Exception):
    """The database cannot be used; the message is one line and never shows a password."""


class StorageUnavailable(StorageError):
    """The database stayed unreachable (or locked) for the whole retry window."""


class StorageFull(StorageError):
    """The database's disk is full (SQLite SQLITE_FULL, PostgreSQL 53100, ENOSPC/EDQUOT)."""


class StorageRejected(StorageError):
    """The database refuses this data (a constraint or a value it cannot hold): retrying cannot help."""


# -- error classification ------------------------------------------------------------------------------
#: PostgreSQL SQLSTATEs (prefixes) worth retrying: connection exceptions (08), the server shutting down,
#: restarting or starting up (57P01-57P03), serialization failure and deadlock (40001, 40P01), too many
#: connections (53300), a lock not available (55P03)
_PG_TRANSIENT = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "53300", "55P03")
_PG_FULL = ("53100",)
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def classify(exc: BaseException) -> str:
    """What a database error means for the caller: "transient" (retry), "full" (disk full: stop),
    "data" (this row cannot be stored) or "fatal" (anything else: the database cannot be used)."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError):
        return "full" if orig.errno in _FULL_ERRNOS else "fatal"
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        if name.startswith("SQLITE_FULL") or "database or disk is full" in str(orig):
            return "full"
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(orig):
            return "transient"
        if isinstance(orig, (sqlite3.IntegrityError, sqlite3.DataError)):
            return "data"
        return "fatal"
    state = getattr(orig, "sqlstate", None)
    if state:
        if state.startswith(_PG_FULL):
            return "full"
        if state.startswith(_PG_TRANSIENT):
            return "transient"
        if state[:2] in ("22", "23"):  # data exception, integrity constraint violation
            return "data"
        return "fatal"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "transient"
    # psycopg's "connection refused", "server closed the connection unexpectedly" (no SQLSTATE), a
    # closed connection, a pool timeout
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                        sa_exc.DisconnectionError)):
        return "transient"
    return "fatal"


def _safe(url: str) -> str:
    """The URL with its whole userinfo masked, also when SQLAlchemy cannot parse it (newscrawl.db.url)."""
    return dburl.mask(url)


def one_line(exc: BaseException, secret: str | None = None) -> str:
    """The driver's own first line (e.g. "connection refused") rather than SQLAlchemy's wrapper."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = lines[0].strip() if lines else type(exc).__name__
    return reason.replace(secret, "***") if secret else reason


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # Persian stays readable in the sqlite3/psql shell


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer; several workers can share
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; a crash loses at most the last batch
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _utc(value: dt.date | datetime | None, end: bool = False) -> datetime | None:
    """Bound for published_utc: a date is a Tehran day (`end`: the day after), naive means Tehran."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value + dt.timedelta(days=1 if end else 0), dt.time(), TEHRAN)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=TEHRAN)
    return value.astimezone(UTC)


def narrowed(query, sites: Iterable[str] = (), since: dt.date | datetime | None = None,
             until: dt.date | datetime | None = None):
    """`query` on `articles` limited to `sites` and to a publication window: a date means a whole Tehran
    day (`until` inclusive), a datetime an instant (`until` exclusive). Undated rows are left out then."""
    sites = list(sites)
    if sites:
        query = query.where(articles.c.site.in_(sites))
    if since is not None:
        query = query.where(articles.c.published_utc >= _utc(since))
    if until is not None:
        query = query.where(articles.c.published_utc < _utc(until, end=True))
    return query


# -- reads for `scrapy export` and `scrapy summary` -------------------------------------------------
class tehran_day(FunctionElement):
    """The Tehran publication day (YYYY-MM-DD) of published_at: the date part of its text on SQLite
    (written with the Tehran offset), the instant converted to Tehran time on PostgreSQL."""

    type = String()
    name = "tehran_day"
    inherit_cache = True


@compiles(tehran_day, "sqlite")
def _tehran_day_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(tehran_day, "postgresql")
def _tehran_day_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE '{TEHRAN_ZONE}', 'YYYY-MM-DD')"


class holds(FunctionElement):
    """`holds(list_column, value)`: the JSON list holds `value`, exactly (json_each on SQLite, jsonb
    containment on PostgreSQL), so the database sends only the rows asked for."""

    type = Boolean()
    name = "holds"
    inherit_cache = True


@compiles(holds, "sqlite")
def _holds_sqlite(element, compiler, **kw):
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"


@compiles(holds, "postgresql")
def _holds_postgresql(element, compiler, **kw):
    column, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} @> jsonb_build_array(CAST({value} AS TEXT)))"


@dataclass
class Selection:
    """Which articles to read: `sites`, a publication window (narrowed: a date is a Tehran day, `until`
    inclusive), and `categories` and `tags` (any of the values). Different criteria must all hold."""

    sites: list[str] = field(default_factory=list)
    since: dt.date | None = None
    until: dt.date | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def where(self, query):
        """`query` narrowed to the selected articles, all in SQL."""
        query = narrowed(query, self.sites, self.since, self.until)
        for column, values in ((articles.c.category, self.categories), (articles.c.tags, self.tags)):
            if values:
                query = query.where(or_(*(holds(column, bindparam(None, v, String())) for v in values)))
        return query


def stored_sites(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(articles.c.site).distinct()).scalars())


def count_selected(engine: Engine, selection: Selection) -> int:
    """How many articles `selected` gives."""
    with engine.connect() as conn:
        return conn.execute(selection.where(select(func.count()).select_from(articles))).scalar_one()


def selected(engine: Engine, selection: Selection, chunk: int = 1000) -> Iterator[dict]:
    """The selected articles as item dicts (lists never null), by site then publication time (so each
    site/day is one contiguous run), streamed `chunk` rows at a time."""
    query = selection.where(select(*(articles.c[name] for name in ITEM_COLUMNS)))
    query = query.order_by(articles.c.site, articles.c.published_utc, articles.c.id)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=chunk).execute(query).mappings():
            item = dict(row)
            for name in LIST_FIELDS:
                item[name] = list(item[name] or [])
            for name in MAP_FIELDS:  # NULL in a row stored before the column existed
                item[name] = dict(item[name] or {})
            yield item


def _filled(name: str):
    """1 when the field has a value: not null, not "", and for lists not [] (or JSON null)."""
    column = articles.c[name]
    if name in LIST_FIELDS or name in MAP_FIELDS:
        test = cast(column, Text).not_in(["[]", "{}", "null"])  # the JSON text, on SQLite and PostgreSQL
    elif isinstance(column.type, Instant):
        test = column.is_not(None)  # a timestamptz is never ""
    else:
        test = and_(column.is_not(None), column != "")
    return case((test, 1), else_=0)


def summary_counts(engine: Engine, newest: int) -> dict:
    """What `scrapy summary` shows, counted by the database (GROUP BY: one scan, no memory here):
    `per_site_day` (site, Tehran day or None, count), `coverage` (site, count, filled per item field),
    the `first` and `last` publication, the `newest` rows and when the last article was `crawled`."""
    a = articles.c
    day = tehran_day(a.published_at)
    dated = a.published_utc.is_not(None)
    with engine.connect() as conn:
        return {
            "per_site_day": conn.execute(select(a.site, day, func.count()).group_by(a.site, day)).all(),
            "coverage": conn.execute(select(a.site, func.count(), *(func.sum(_filled(name)) for name in FIELDS))
                                     .group_by(a.site)).all(),
            "first": conn.execute(select(a.published_at).where(dated).order_by(a.published_utc).limit(1))
            .scalar(),
            "last": conn.execute(select(a.published_at).where(dated).order_by(a.published_utc.desc()).limit(1))
            .scalar(),
            "newest": [dict(r) for r in conn.execute(
                select(a.published_at, a.site, a.news_code, a.title, a.url).where(dated)
                .order_by(a.published_utc.desc(), a.id.desc()).limit(newest)).mappings()],
            "crawled": conn.execute(select(func.max(a.crawled_at))).scalar(),
        }


#: what the story index (newscrawl.stories) reads of an article
STORY_INPUT = ("site", "news_code", "title", "body", "published_at", "source")


def story_inputs(engine: Engine, selection: Selection | None = None, unassigned: bool = False, after: int = 0,
                 upto: int | None = None, chunk: int = 1000) -> Iterator[list[dict]]:
    """The articles for the story index (STORY_INPUT and the row `id`), `chunk` at a time in storage order:
    the `selection`'s, only those without a story_id when `unassigned` (ix_articles_no_story finds them),
    with ids in (after, upto]. One short query per chunk, keyed on the id, so a long assignment holds no
    transaction open and sees the rows it has just assigned as assigned."""
    query = select(articles.c.id, *(articles.c[name] for name in STORY_INPUT))
    if selection is not None:
        query = selection.where(query)
    if unassigned:
        query = query.where(articles.c.story_id.is_(None))
    if upto is not None:
        query = query.where(articles.c.id <= upto)
    query = query.where(articles.c.id > bindparam("after")).order_by(articles.c.id).limit(chunk)
    while True:
        with engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query, {"after": after}).mappings()]
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        after = rows[-1]["id"]


def last_id(engine: Engine) -> int:
    """The highest row id (0 for an empty table): the rows stored so far are those up to it."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(articles.c.id))).scalar() or 0


def story_counts(engine: Engine, selection: Selection | None = None) -> dict:
    """How many of the `selection`'s articles have a story, how many stories they are in and how many are
    copies (copy_of set), for `scrapy stories`."""
    a = articles.c
    query = select(func.count(a.story_id), func.count(a.story_id.distinct()), func.count(a.copy_of),
                   func.count()).select_from(articles)
    if selection is not None:
        query = selection.where(query)
    with engine.connect() as conn:
        assigned, stories, copies, total = conn.execute(query).one()
    return {"articles": total, "assigned": assigned, "stories": stories, "copies": copies}


def _by_site(keys: Iterable[Key], chunk: int = 500) -> Iterator[tuple[str, list[str]]]:
    """(site, up to `chunk` codes) groups of `keys`, for IN queries."""
    sites: dict[str, list[str]] = {}
    for site, code in keys:
        sites.setdefault(site, []).append(code)
    for site, codes in sites.items():
        for start in range(0, len(codes), chunk):
            yield site, codes[start:start + chunk]


def create_tables(engine: Engine, tables: MetaData, migrate=None, attempts: int = 5) -> None:
    """Create `tables` where missing, then run `migrate(engine)`. Workers of a fleet start (and close)
    together: when another one creates a table, index or column between our check and our CREATE, the
    statement fails with "already exists" (or PostgreSQL's duplicate pg_type key); the check is then
    simply run again. The one rule for every table of ours (articles, crawls, crawl_ranges)."""
    for attempt in range(attempts):
        try:
            tables.create_all(engine)
            if migrate is not None:
                migrate(engine)
            return
        except SQLAlchemyError as exc:
            message = str(exc).lower()
            if attempt == attempts - 1 or not ("already exists" in message or "duplicate" in message):
                raise
            time.sleep(0.05 * (attempt + 1))


def _retyped(bind) -> list[Column]:
    """The item columns whose type in the database is not the one declared (PostgreSQL's native types
    for instants and lists, see _column), e.g. in a table an older version created."""
    found = {c["name"]: c["type"] for c in inspect(bind).get_columns("articles")}
    dialect = bind.dialect
    return [column for column in articles.columns
            if column.name in ITEM_COLUMNS and column.name in found
            and isinstance(column.type, (Instant, JSON))
            and found[column.name].compile(dialect=dialect) != column.type.compile(dialect=dialect)]


class ArticleStore:
    """Batched inserts and key look-ups on the `articles` table; `open()` before use, `close()` after.

    `run_id` is written into every row; `retry_seconds` is how long transient errors are retried.
    `add`/`flush` buffer and write synchronously (scripts, the benchmarks); the crawl's StoragePipeline
    writes with `write` from a worker thread and registers its unwritten keys in `inflight`.
    """

    def __init__(self, url: str, batch_size: int = project.NEWSCRAWL_DB_BATCH_SIZE, run_id: str | None = None,
                 retry_seconds: float = project.NEWSCRAWL_DB_RETRY_SECONDS, stats=None):
        self.url = url
        self.batch_size = max(1, int(batch_size))
        self.run_id = run_id
        self.retry_seconds = max(0.0, float(retry_seconds))
        self.stats = stats
        self.engine: Engine | None = None
        self.pending: dict[Key, dict] = {}
        #: rows the async pipeline holds but has not committed yet, by key (is_known counts them as known)
        self.inflight: dict[Key, dict] = {}
        #: why the database is unusable, once the retry window ran out: later calls fail at once
        self.unavailable: str | None = None
        #: a write failed in a way that may have committed (the answer was lost): the feed repair decides
        self.uncertain = False
        self._reader: Connection | None = None
        self._trouble_since: float | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ArticleStore({_safe(self.url)!r}, batch_size={self.batch_size})"

    @property
    def safe_url(self) -> str:
        return _safe(self.url)

    # -- lifecycle ----------------------------------------------------------------------------------
    def open(self) -> ArticleStore:
        """Connect and create or migrate the schema; StorageError when that is impossible. Idempotent."""
        if self.engine is not None:
            return self
        try:
            parsed = make_url(dburl.normalize(self.url))  # postgres:// → psycopg, an @ in the password
        except SAArgumentError:
            raise StorageError(
                f"database URL {_safe(self.url)!r} is not a database URL "
                "(expected e.g. sqlite:///data/newscrawl.sqlite3 or postgresql+psycopg://user@host/db)"
            ) from None
        backend = parsed.get_backend_name()
        if backend not in _INSERTS:
            raise StorageError(f"cannot open database {_safe(self.url)}: only SQLite and PostgreSQL are "
                               f"supported, not {backend}")
        engine = None
        try:
            options: dict = {"pool_pre_ping": True, "json_serializer": _json}
            if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
                dburl.sqlite_folder(parsed.database)  # created only inside the data folder
            if backend == "postgresql" and "connect_timeout" not in parsed.query:
                options["connect_args"] = {"connect_timeout": 10}  # a dropped SYN must not hang the crawl
            engine = create_engine(parsed, **options)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            self._create_schema(engine)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            if engine is not None:
                engine.dispose()
            raise StorageError(f"cannot open database {_safe(self.url)}: {one_line(exc, parsed.password)}") \
                from None
        self.engine = engine
        return self

    @staticmethod
    def _create_schema(engine: Engine) -> None:
        """Create or migrate the schema (create_tables)."""
        create_tables(engine, metadata, ArticleStore._migrate)

    @staticmethod
    def _migrate(engine: Engine) -> None:
        """Bring an older `articles` table up to date: add missing columns (nullable, nothing is ever
        dropped), their indexes, published_utc computed from published_at when it is new, and a live
        crawl's provenance (fetched_from `live`, captured_at = crawled_at) on rows older than it; on
        PostgreSQL, text instants and `json` lists become `timestamptz` and `jsonb` (native_types)."""
        have = {c["name"] for c in inspect(engine).get_columns("articles")}
        missing = [c for c in articles.columns if c.name not in have]
        if missing:
            with engine.begin() as conn:
                for column in missing:
                    ddl = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE articles ADD COLUMN "{column.name}" {ddl}'))
                for index in articles.indexes:
                    index.create(conn, checkfirst=True)
        if engine.dialect.name == "postgresql" and _retyped(engine):
            ArticleStore._native_types(engine)
        if "published_utc" in (c.name for c in missing):
            ArticleStore._backfill_utc(engine)
        if "fetched_from" in (c.name for c in missing):  # every row stored before it came from a live crawl
            with engine.begin() as conn:
                conn.execute(update(articles).where(articles.c.fetched_from.is_(None)).values(
                    fetched_from="live", captured_at=articles.c.crawled_at))

    @staticmethod
    def _native_types(engine: Engine) -> None:
        """Convert in place, rows kept, in one transaction: text instants to `timestamptz` (an empty text
        becomes NULL) and `json` lists to `jsonb`. The table is locked first and checked again, so of two
        workers opening an old table together one converts it and the other finds nothing to do."""
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE"))
            for column in _retyped(conn):
                ddl = column.type.compile(dialect=engine.dialect)
                value = f'NULLIF("{column.name}", \'\')' if isinstance(column.type, Instant) else f'"{column.name}"'
                conn.execute(text(f'ALTER TABLE articles ALTER COLUMN "{column.name}" TYPE {ddl} '
                                  f'USING {value}::{ddl}'))
                logger.info("articles.%s is now %s", column.name, ddl)

    @staticmethod
    def _backfill_utc(engine: Engine, chunk: int = 1000) -> None:
        query = select(articles.c.id, articles.c.published_at).where(
            articles.c.published_utc.is_(None), articles.c.published_at.is_not(None),
            articles.c.id > bindparam("after"),
        ).order_by(articles.c.id).limit(chunk)
        stmt = update(articles).where(articles.c.id == bindparam("row_id")).values(
            published_utc=bindparam("utc"))
        after = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(query, {"after": after}).all()
                values = [{"row_id": r.id, "utc": _published_utc(r.published_at)} for r in rows]
                values = [v for v in values if v["utc"] is not None]
                if values:
                    conn.execute(stmt, values)
            if len(rows) < chunk:
                return
            after = rows[-1].id

    def close(self) -> None:
        """Write the pending batch and release the connections. Safe to call twice."""
        if self.engine is None:
            return
        try:
            if not self.unavailable:
                self.flush()
        finally:
            self._drop_reader()
            self.engine.dispose()
            self.engine = None

    def _require_open(self) -> Engine:
        if self.engine is None:
            raise StorageError(f"database {_safe(self.url)} is not open (call open() first)")
        return self.engine

    def _drop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except SQLAlchemyError:
                pass

    # -- retrying ---------------------------------------------------------------------------------------
    def retrying(self, what: str, attempt: Callable[[int], T]) -> T:
        """`attempt(n)` (n = 0, 1, ...) until it succeeds. Transient errors are retried with exponential
        backoff (0.05 s doubling to 2 s) for `retry_seconds`, then StorageUnavailable; a full disk is
        StorageFull, refused data StorageRejected, anything else StorageError, all at once. The first
        failure of an outage is one WARNING line, the recovery one INFO line."""
        if self.unavailable:
            raise StorageUnavailable(self.unavailable)
        deadline, delay, n = None, 0.05, 0
        while True:
            try:
                result = attempt(n)
            except (SQLAlchemyError, OSError) as exc:
                kind = classify(exc)
                message = f"cannot {what} {_safe(self.url)}: {one_line(exc)}"
                if kind == "full":
                    raise StorageFull(message) from None
                if kind == "data":
                    raise StorageRejected(message) from None
                if kind == "fatal":
                    raise StorageError(message) from None
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.retry_seconds
                    self._troubled(message)
                if now >= deadline:
                    self.unavailable = f"{message} (still failing after {self.retry_seconds:g} s of retries)"
                    raise StorageUnavailable(self.unavailable) from None
                if self.stats is not None:
                    self.stats.inc_value("newscrawl/db/retries")
                time.sleep(min(delay, max(0.0, deadline - now)))
                delay = min(delay * 2, 2.0)
                n += 1
                continue
            if n:
                self._recovered()
            return result

    def _troubled(self, message: str) -> None:
        with self._lock:
            first = self._trouble_since is None
            if first:
                self._trouble_since = time.monotonic()
        if first:
            logger.warning("%s; retrying for up to %g s", message, self.retry_seconds)

    def _recovered(self) -> None:
        with self._lock:
            since, self._trouble_since = self._trouble_since, None
        if since is not None:
            logger.info("database %s is back after %.1f s", _safe(self.url), time.monotonic() - since)

    def _read(self, stmt, params: dict | None = None) -> list:
        """Rows of a small query on one long-lived autocommit connection: no pool checkout, ping or
        transaction per look-up (3-5x faster on PostgreSQL), yet every query sees the latest commits.
        A failed attempt replaces the connection (a server restart breaks it)."""
        engine = self._require_open()

        def attempt(n: int) -> list:
            if n or self._reader is None or self._reader.invalidated or self._reader.closed:
                self._drop_reader()
                self._reader = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self._reader.execute(stmt, params or {}).all()

        return self.retrying("read", attempt)

    # -- reads ----------------------------------------------------------------------------------------
    def _held(self, key: Key) -> bool:
        return key in self.pending or key in self.inflight

    def _held_row(self, key: Key) -> dict | None:
        """The pending or in-flight row of `key` (the pending one first: it is the newer)."""
        return self.pending.get(key) or self.inflight.get(key)

    def is_known(self, site: str, news_code: str) -> bool:
        """Stored or waiting to be written: one indexed query, nothing cached."""
        if self._held((site, news_code)):
            return True
        return bool(self._read(_IS_KNOWN, {"site": site, "code": news_code}))

    def known_codes(self, site: str, codes: Iterable[str], than: Mapping | None = LIVE_COPY) -> set[str]:
        """Which of `codes` need no fetch (incremental crawling): those whose stored or pending copy a copy
        like `than` would not replace (`better`). The default is a live fetch, so an article stored from an
        archive is fetched live again; an archive's meta (`fetched_from`, `captured_at`) gives the codes
        held live or captured no later; `than=None`: every stored or pending code. One query per 500."""
        codes = list(dict.fromkeys(codes))
        found = {c for c in codes if self._held((site, c)) and (
            than is None or not better(than, self._held_row((site, c))))}
        rest = [(site, c) for c in codes if c not in found and not self._held((site, c))]
        query, params = _KNOWN_CODES, {}
        if than is not None and RANKED:
            query = _KNOWN_LIVE if _is_live(than) else _KNOWN_BY
            params = {} if _is_live(than) else {"at": than.get("captured_at")}
            if not _is_live(than) and not params["at"]:
                query, params = _KNOWN_LIVE, {}  # a capture of unknown time replaces no archived copy
        for group_site, chunk in _by_site(rest):
            found.update(r[0] for r in self._read(query, {"site": group_site, "codes": chunk, **params}))
        return found

    def stored_copies(self, site: str, codes: Iterable[str]) -> dict[str, dict]:
        """{code: {"fetched_from", "captured_at"}} of the stored or pending copies among `codes`, for a
        caller that decides per copy with `better` (a WARC backfill: each record has its own capture time).
        One query per 500 codes."""
        codes = list(dict.fromkeys(codes))
        found = {c: {"fetched_from": self._held_row((site, c))["fetched_from"],
                     "captured_at": self._held_row((site, c))["captured_at"]}
                 for c in codes if self._held((site, c))}
        if not RANKED:
            return found | {c: {"fetched_from": LIVE, "captured_at": None}
                            for c in self.known_codes(site, [c for c in codes if c not in found], than=None)}
        for group_site, chunk in _by_site((site, c) for c in codes if c not in found):
            for code, fetched_from, captured_at in self._read(_COPIES, {"site": group_site, "codes": chunk}):
                found[code] = {"fetched_from": fetched_from, "captured_at": captured_at}
        return found

    def outranked(self, item) -> bool:
        """Whether the stored or pending copy of `item`'s article is at least as good as `item` (so `item`
        would not replace it: `better`); False when there is none. One indexed query."""
        key = (item.get("site"), item.get("news_code"))
        copy = {"fetched_from": item.get("fetched_from"), "captured_at": item.get("captured_at")}
        held = self._held_row(key)
        if held is not None:  # a copy waiting to be written: as good, unless this one is better
            return not better(copy, held)
        if not RANKED:
            return bool(self._read(_IS_KNOWN, {"site": key[0], "code": key[1]}))
        rows = self._read(_COPY, {"site": key[0], "code": key[1]})
        return bool(rows) and not better(copy, {"fetched_from": rows[0][0], "captured_at": rows[0][1]})

    def count(self, site: str | None = None) -> int:
        """Stored rows (the pending batch is not counted until flushed)."""
        query = select(func.count()).select_from(articles)
        if site:
            query = query.where(articles.c.site == site)
        return self._read(query)[0][0]

    def run_keys(self, run_id: str) -> set[Key]:
        """The keys of the rows that run `run_id` stored."""
        return {(r[0], r[1]) for r in self._read(_RUN_KEYS, {"run_id": run_id})}

    def run_replaced(self, run_id: str) -> set[Key]:
        """The keys of the rows run `run_id` stored over an earlier copy (the feed repair checks those)."""
        return {(r[0], r[1]) for r in self._read(_REPLACED_RUN_ROWS, {"run_id": run_id})}

    def run_articles(self, run_id: str, keys: Iterable[Key]) -> list[dict]:
        """The item dicts (ITEM_COLUMNS) of the rows among `keys` that run `run_id` stored, oldest first."""
        found: list[tuple[int, dict]] = []
        for site, chunk in _by_site(keys):
            for row in self._read(_RUN_ARTICLES, {"run_id": run_id, "site": site, "codes": chunk}):
                item = dict(zip(ITEM_COLUMNS, row[1:], strict=True))
                found.append((row[0], item | {name: dict(item[name] or {}) for name in MAP_FIELDS}))
        return [item for _, item in sorted(found, key=lambda pair: pair[0])]

    # -- writes ---------------------------------------------------------------------------------------
    def row(self, item) -> dict:
        """The database row for an article (dict, Item or ItemAdapter), stamped with this store's run."""
        row = {name: item.get(name) for name in ITEM_COLUMNS}
        row |= {name: dict(row[name] or {}) for name in MAP_FIELDS}  # an item made before the field: {}
        if RANKED and not row["fetched_from"]:
            row["fetched_from"] = LIVE  # an item made before the field (a spool's, a script's) was fetched live
        row["published_utc"] = _published_utc(row["published_at"])
        row["stored_at"] = datetime.now(UTC)
        row["run_id"] = self.run_id
        return row

    def add(self, item, autoflush: bool = True) -> None:
        """Buffer one article; a full batch is written at once unless `autoflush` is off. The same key
        twice keeps the better copy (`better`; equal: the first), as the database does."""
        row = self.row(item)
        key = (row["site"], row["news_code"])
        if key not in self.pending or better(row, self.pending[key]):
            self.pending[key] = row
        if autoflush and len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> int:
        """Write the pending batch in one transaction; returns how many rows were new or replaced. On
        failure the batch stays pending (the next flush tries again) and a StorageError says why."""
        if not self.pending:
            return 0
        written = self.write(list(self.pending.values()))
        self.pending.clear()
        return len(written.stored)

    def write(self, rows: list[dict]) -> Written:
        """Write `rows` (from `row()`) in one transaction, retrying transient errors: a new key is
        inserted, a stored one replaced when the row is a better copy (`better`), else left as it is.
        Rows of one key in `rows` are first reduced to the best. When the whole batch is refused (a
        constraint, a value too long), its rows are tried one by one so that one bad article does not
        block the others.

        A retry after an error may find rows its failed attempt committed (the commit went through but
        its answer was lost): rows carrying this store's run_id and the row's own stored_at are its own."""
        best: dict[Key, dict] = {}
        for row in rows:
            key = (row["site"], row["news_code"])
            if key not in best or better(row, best[key]):
                best[key] = row
        rows = list(best.values())
        if not rows:
            return Written()
        engine = self._require_open()
        stmt = _INSERTS[engine.dialect.name]

        def attempt_for(batch: list[dict]) -> Callable[[int], Written]:
            def attempt(n: int) -> Written:
                self.uncertain = True  # until the commit's answer arrives
                written = Written()
                with engine.begin() as conn:
                    for site, code, replacements in conn.execute(stmt, batch):
                        (written.inserted if replacements is None else written.replaced).add((site, code))
                    if n and self.run_id is not None:
                        self._owned(conn, batch, written)
                self.uncertain = False
                return written
            return attempt

        try:
            return self.retrying(f"write {len(rows)} articles to", attempt_for(rows))
        except StorageRejected:
            if len(rows) == 1:
                raise
        written = Written()
        for row in rows:
            try:
                one = self.retrying("write an article to", attempt_for([row]))
            except StorageRejected as exc:
                written.rejected[(row["site"], row["news_code"])] = str(exc)
                continue
            written.inserted |= one.inserted
            written.replaced |= one.replaced
        return written

    def _owned(self, conn: Connection, batch: list[dict], written: Written) -> None:
        """Add to `written` the rows of `batch` it lacks that its own earlier attempt committed: this
        store's run_id and the row's stored_at (a copy this run stored earlier is not this row)."""
        stamps = {(r["site"], r["news_code"]): r["stored_at"] for r in batch}
        keys = [k for k in stamps if k not in written.stored]
        for site, chunk in _by_site(keys):
            rows = conn.execute(_OWNED, {"site": site, "codes": chunk, "run_id": self.run_id})
            for code, stored_at, replacements in rows:
                if _same_instant(stored_at, stamps[(site, code)]):
                    (written.inserted if replacements is None else written.replaced).add((site, code))


def _same_instant(a, b) -> bool:
    """Two stored_at values, one as read back (naive UTC on SQLite), the other as written (aware UTC)."""
    if not isinstance(a, datetime) or not isinstance(b, datetime):
        return a == b
    a = a.astimezone(UTC).replace(tzinfo=None) if a.tzinfo else a
    b = b.astimezone(UTC).replace(tzinfo=None) if b.tzinfo else b
    return a == b


def _published_utc(published_at: str | None) -> datetime | None:
    published = parse_iso(published_at) if published_at else None
    return published.astimezone(UTC) if published else None


def run_id_for(crawler) -> str:
    """The crawl process's run id, in every row it stores and in its feed file's name (%(run_id)s).

    With JOBDIR, the folder's name: a resumed crawl continues its run. Otherwise the UTC start time
    and a random part, so two crawls started in the same second never share a feed file. Computed once
    per crawler."""
    run_id = getattr(crawler, "_newscrawl_run_id", None)
    if run_id is None:
        jobdir = crawler.settings.get("JOBDIR")
        if jobdir:
            run_id = os.path.basename(os.path.normpath(jobdir))[:100]
        else:
            run_id = f"{datetime.now(UTC):%Y-%m-%dT%H-%M-%SZ}-{secrets.token_hex(3)}"
        crawler._newscrawl_run_id = run_id
    return run_id


def open_existing(url: str) -> ArticleStore:
    """The opened store of an existing database, for reading (`scrapy export`, `scrapy summary`): a SQLite
    file that does not exist is a StorageError here, not a new empty database as `open()` would make."""
    try:
        parsed = make_url(dburl.normalize(url))
    except SAArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite" \
            and parsed.database not in (None, "", ":memory:") and not os.path.exists(parsed.database):
        raise StorageError(f"no database at {parsed.database} (crawl first, or set NEWSCRAWL_DATABASE_URL)")
    return ArticleStore(url).open()


def store_for(crawler, create: bool = True) -> ArticleStore | None:
    """The crawl's one store, shared by the pipelines, the spider (incremental crawling) and the feed.

    Created unopened from NEWSCRAWL_DATABASE_URL, NEWSCRAWL_DB_BATCH_SIZE and NEWSCRAWL_DB_RETRY_SECONDS,
    writing the crawl's run_id; whoever needs it calls `open()` (idempotent). It is closed by the
    spider_closed signal (close is idempotent), so a crawl without StoragePipeline closes it too.
    """
    store = getattr(crawler, "_newscrawl_store", None)
    if store is None and create:
        from scrapy import signals

        settings = crawler.settings
        store = ArticleStore(settings.get("NEWSCRAWL_DATABASE_URL") or dburl.default_url(),
                             settings.getint("NEWSCRAWL_DB_BATCH_SIZE"), run_id=run_id_for(crawler),
                             retry_seconds=settings.getfloat("NEWSCRAWL_DB_RETRY_SECONDS"), stats=crawler.stats)
        crawler.signals.connect(store.close, signal=signals.spider_closed)
        crawler._newscrawl_store = store
    return store
