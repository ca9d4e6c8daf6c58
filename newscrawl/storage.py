"""The article database, through SQLAlchemy Core, so SQLite (default) and PostgreSQL share one code path.

One row per (site, news_code). Writes are buffered and upserted in batches (one transaction each);
`is_known` answers from the pending batch or one indexed query, so memory does not grow with the
number of articles already stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError as SAArgumentError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from newscrawl.dates import TEHRAN, parse_iso

metadata = MetaData()
articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("news_code", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("kicker", Text),
    Column("lead", Text),
    Column("body", Text, nullable=False),
    Column("published_at", String(32)),  # ISO 8601 with the Tehran offset, as exported
    Column("published_utc", DateTime(timezone=True), index=True),  # for range queries (UTC; naive on SQLite)
    Column("published_at_raw", Text),
    Column("category", JSON),
    Column("tags", JSON),
    Column("images", JSON),
    Column("source", Text),
    Column("language", String(8)),
    Column("crawled_at", String(40)),
    Column("stored_at", DateTime(timezone=True)),
    UniqueConstraint("site", "news_code", name="uq_articles_site_code"),
)
#: the item fields a row holds, in export order
ITEM_COLUMNS = [c.name for c in articles.columns if c.name not in ("id", "published_utc", "stored_at")]
_KEY = ("site", "news_code")

# Built once: constructing a statement costs more than running it on SQLite.
_IS_KNOWN = (
    select(articles.c.id)
    .where(articles.c.site == bindparam("site"), articles.c.news_code == bindparam("code"))
    .limit(1)
)
_KNOWN_CODES = select(articles.c.news_code).where(
    articles.c.site == bindparam("site"), articles.c.news_code.in_(bindparam("codes", expanding=True))
)


def _upsert(dialect_insert):
    stmt = dialect_insert(articles)
    changed = {c.name: stmt.excluded[c.name] for c in articles.columns if c.name not in ("id", *_KEY)}
    return stmt.on_conflict_do_update(index_elements=list(_KEY), set_=changed)


_UPSERTS = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}


class StorageError(Exception):
    """The database cannot be used; the message is one line and never shows a password."""


def _safe(url: str) -> str:
    """The URL with its password masked, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SAArgumentError:
        return re.sub(r":[^:@/]*@", ":***@", str(url))


def _one_line(exc: BaseException, secret: str | None = None) -> str:
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


class ArticleStore:
    """Batched upserts and key look-ups on the `articles` table; `open()` before use, `close()` after."""

    def __init__(self, url: str, batch_size: int = 200):
        self.url = url
        self.batch_size = max(1, int(batch_size))
        self.engine: Engine | None = None
        self.pending: dict[tuple[str, str], dict] = {}
        self._reader: Connection | None = None

    def __repr__(self) -> str:
        return f"ArticleStore({_safe(self.url)!r}, batch_size={self.batch_size})"

    # -- lifecycle ----------------------------------------------------------------------------------
    def open(self) -> ArticleStore:
        """Connect and create or migrate the schema; StorageError when that is impossible. Idempotent."""
        if self.engine is not None:
            return self
        try:
            parsed = make_url(self.url)
        except SAArgumentError:
            raise StorageError(
                f"database URL {_safe(self.url)!r} is not a database URL "
                "(expected e.g. sqlite:///data/newscrawl.sqlite3 or postgresql+psycopg://user@host/db)"
            ) from None
        backend = parsed.get_backend_name()
        if backend not in _UPSERTS:
            raise StorageError(f"cannot open database {_safe(self.url)}: only SQLite and PostgreSQL are "
                               f"supported, not {backend}")
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we ship, not psycopg2
        engine = None
        try:
            options: dict = {"pool_pre_ping": True, "json_serializer": _json}
            if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
                folder = os.path.dirname(os.path.abspath(parsed.database))
                try:
                    os.makedirs(folder, exist_ok=True)
                except FileExistsError:
                    raise OSError(f"{folder} is not a directory") from None
            if backend == "postgresql" and "connect_timeout" not in parsed.query:
                options["connect_args"] = {"connect_timeout": 10}  # a dropped SYN must not hang the crawl
            engine = create_engine(parsed, **options)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            self._create_schema(engine)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            if engine is not None:
                engine.dispose()
            raise StorageError(f"cannot open database {_safe(self.url)}: {_one_line(exc, parsed.password)}") \
                from None
        self.engine = engine
        return self

    @staticmethod
    def _create_schema(engine: Engine, attempts: int = 5) -> None:
        """Create or migrate the schema. Workers of a fleet start together: when another one creates a
        table, index or column between our check and our CREATE, the statement fails with "already
        exists" (or PostgreSQL's duplicate pg_type key); the check is then simply run again."""
        for attempt in range(attempts):
            try:
                metadata.create_all(engine)
                ArticleStore._migrate(engine)
                return
            except SQLAlchemyError as exc:
                message = str(exc).lower()
                if attempt == attempts - 1 or not ("already exists" in message or "duplicate" in message):
                    raise
                time.sleep(0.05 * (attempt + 1))

    @staticmethod
    def _migrate(engine: Engine) -> None:
        """Bring an older `articles` table up to date: add missing columns (nullable, nothing is ever
        dropped), their indexes, and published_utc computed from published_at when it is new."""
        have = {c["name"] for c in inspect(engine).get_columns("articles")}
        missing = [c for c in articles.columns if c.name not in have]
        if not missing:
            return
        with engine.begin() as conn:
            for column in missing:
                ddl = column.type.compile(dialect=engine.dialect)
                conn.execute(text(f'ALTER TABLE articles ADD COLUMN "{column.name}" {ddl}'))
            for index in articles.indexes:
                index.create(conn, checkfirst=True)
        if "published_utc" in (c.name for c in missing):
            ArticleStore._backfill_utc(engine)

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
            self.flush()
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self.engine.dispose()
            self.engine = None

    def _require_open(self) -> Engine:
        if self.engine is None:
            raise StorageError(f"database {_safe(self.url)} is not open (call open() first)")
        return self.engine

    def _read(self, stmt, params: dict | None = None) -> list:
        """Rows of a small query on one long-lived autocommit connection: no pool checkout, ping or
        transaction per look-up (3-5x faster on PostgreSQL), yet every query sees the latest commits.
        A connection lost in between (server restart) is replaced once."""
        engine = self._require_open()
        for attempt in (1, 2):
            try:
                if self._reader is None or self._reader.invalidated or self._reader.closed:
                    self._reader = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                return self._reader.execute(stmt, params or {}).all()
            except DBAPIError as exc:
                if attempt == 1 and exc.connection_invalidated:
                    self._reader = None
                    continue
                raise StorageError(f"cannot read {_safe(self.url)}: {_one_line(exc)}") from None
            except SQLAlchemyError as exc:
                raise StorageError(f"cannot read {_safe(self.url)}: {_one_line(exc)}") from None
        raise AssertionError("unreachable")

    # -- reads ----------------------------------------------------------------------------------------
    def is_known(self, site: str, news_code: str) -> bool:
        """Stored or waiting in the current batch: one indexed query, nothing cached."""
        if (site, news_code) in self.pending:
            return True
        return bool(self._read(_IS_KNOWN, {"site": site, "code": news_code}))

    def known_codes(self, site: str, codes: Iterable[str]) -> set[str]:
        """Which of `codes` are stored or pending (for incremental crawling): one query per 500 codes."""
        codes = list(dict.fromkeys(codes))
        found = {c for c in codes if (site, c) in self.pending}
        rest = [c for c in codes if c not in found]
        for start in range(0, len(rest), 500):
            chunk = rest[start:start + 500]
            found.update(r[0] for r in self._read(_KNOWN_CODES, {"site": site, "codes": chunk}))
        return found

    def count(self, site: str | None = None) -> int:
        """Stored rows (the pending batch is not counted until flushed)."""
        query = select(func.count()).select_from(articles)
        if site:
            query = query.where(articles.c.site == site)
        return self._read(query)[0][0]

    def iter_articles(self, site: str | None = None, since: dt.date | datetime | None = None,
                      until: dt.date | datetime | None = None, chunk: int = 1000) -> Iterator[dict]:
        """Stored articles as item dicts (ITEM_COLUMNS), oldest row first, streamed `chunk` rows at a time.

        `since`/`until` filter on the publication time; a date means a whole Tehran day (`until`
        inclusive), a datetime is an instant (`until` exclusive). Rows without a date are left out then.
        """
        self.flush()
        query = select(*(articles.c[name] for name in ITEM_COLUMNS)).order_by(articles.c.id)
        query = narrowed(query, [site] if site else (), since, until)
        with self._require_open().connect() as conn:
            for row in conn.execution_options(yield_per=chunk).execute(query).mappings():
                yield dict(row)

    # -- writes ---------------------------------------------------------------------------------------
    def add(self, item, autoflush: bool = True) -> None:
        """Buffer one article (dict, Item or ItemAdapter); a full batch is written at once unless
        `autoflush` is off. The same key twice in a batch keeps the last one (an upsert would too)."""
        row = {name: item.get(name) for name in ITEM_COLUMNS}
        row["published_utc"] = _published_utc(row["published_at"])
        row["stored_at"] = datetime.now(UTC)
        self.pending[(row["site"], row["news_code"])] = row
        if autoflush and len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> int:
        """Upsert the pending batch in one transaction; returns how many rows were written.
        On failure the batch stays pending (the next flush retries it) and StorageError says why."""
        if not self.pending:
            return 0
        engine = self._require_open()
        rows = list(self.pending.values())
        try:
            with engine.begin() as conn:
                conn.execute(_UPSERTS[engine.dialect.name], rows)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot write {len(rows)} articles to {_safe(self.url)}: {_one_line(exc)}") \
                from None
        self.pending.clear()
        return len(rows)


def _published_utc(published_at: str | None) -> datetime | None:
    published = parse_iso(published_at) if published_at else None
    return published.astimezone(UTC) if published else None


def store_for(crawler, create: bool = True) -> ArticleStore | None:
    """The crawl's one store, shared by the pipelines and the spider (incremental crawling).

    Created unopened from NEWSCRAWL_DATABASE_URL / NEWSCRAWL_DB_BATCH_SIZE; whoever needs it calls
    `open()` (idempotent). It is closed by StoragePipeline.close_spider or, whichever comes first,
    the spider_closed signal (close is idempotent), so a crawl without StoragePipeline closes it too.
    """
    store = getattr(crawler, "_newscrawl_store", None)
    if store is None and create:
        from scrapy import signals

        store = ArticleStore(crawler.settings.get("NEWSCRAWL_DATABASE_URL") or "sqlite:///data/newscrawl.sqlite3",
                             crawler.settings.getint("NEWSCRAWL_DB_BATCH_SIZE", 200))
        crawler.signals.connect(store.close, signal=signals.spider_closed)
        crawler._newscrawl_store = store
    return store
