"""The article database, through SQLAlchemy Core, so SQLite (default) and PostgreSQL share one code path.

One row per (site, news_code). Writes are buffered and upserted in batches (one transaction each);
`is_known` answers from the pending batch or one indexed query, so memory does not grow with the
number of articles already stored.
"""

from __future__ import annotations

import os
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
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError as SAArgumentError
from sqlalchemy.exc import SQLAlchemyError

from newscrawl.dates import parse_iso

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
    Column("published_utc", DateTime(timezone=True), index=True),  # for range queries
    Column("published_at_raw", Text),
    Column("category", JSON),
    Column("tags", JSON),
    Column("images", JSON),
    Column("source", Text),
    Column("language", String(8)),
    Column("crawled_at", String(32)),
    Column("stored_at", DateTime(timezone=True)),
    UniqueConstraint("site", "news_code", name="uq_articles_site_code"),
)
ITEM_COLUMNS = [c.name for c in articles.columns if c.name not in ("id", "published_utc", "stored_at")]


class StorageError(Exception):
    """The database cannot be used; the message is one line and never shows a password."""


def _safe(url) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SAArgumentError:
        return "<invalid URL>"


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer; several workers can share
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class ArticleStore:
    def __init__(self, url: str, batch_size: int = 200):
        self.url = url
        self.batch_size = max(1, int(batch_size))
        self.engine = None
        self.pending: dict[tuple[str, str], dict] = {}

    # -- lifecycle ----------------------------------------------------------------------------------
    def open(self) -> ArticleStore:
        """Connect and create or migrate the schema; StorageError when that is impossible."""
        if self.engine is not None:
            return self
        try:
            parsed = make_url(self.url)
        except SAArgumentError:
            raise StorageError(f"NEWSCRAWL_DATABASE_URL {self.url!r} is not a database URL") from None
        try:
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
            engine = create_engine(parsed, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            metadata.create_all(engine)
            self._migrate(engine)
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StorageError(f"cannot open database {_safe(self.url)}: {reason[0] if reason else exc}") from None
        self.engine = engine
        return self

    @staticmethod
    def _migrate(engine) -> None:
        """Add columns a newer version defines to an older table (nothing is ever dropped)."""
        have = {c["name"] for c in inspect(engine).get_columns("articles")}
        with engine.begin() as conn:
            for column in articles.columns:
                if column.name not in have:
                    ddl = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE articles ADD COLUMN "{column.name}" {ddl}'))

    def close(self) -> None:
        if self.engine is None:
            return
        try:
            self.flush()
        finally:
            self.engine.dispose()
            self.engine = None

    # -- reads ----------------------------------------------------------------------------------------
    def is_known(self, site: str, news_code: str) -> bool:
        if (site, news_code) in self.pending:
            return True
        query = select(articles.c.id).where(articles.c.site == site, articles.c.news_code == news_code)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def known_codes(self, site: str, codes) -> set[str]:
        """Which of `codes` are stored or pending, in one query (for incremental crawling)."""
        codes = list(dict.fromkeys(codes))
        found = {c for c in codes if (site, c) in self.pending}
        rest = [c for c in codes if c not in found]
        for start in range(0, len(rest), 500):
            chunk = rest[start:start + 500]
            query = select(articles.c.news_code).where(articles.c.site == site, articles.c.news_code.in_(chunk))
            with self.engine.connect() as conn:
                found.update(r[0] for r in conn.execute(query))
        return found

    def count(self, site: str | None = None) -> int:
        query = select(func.count()).select_from(articles)
        if site:
            query = query.where(articles.c.site == site)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    # -- writes ---------------------------------------------------------------------------------------
    def add(self, item) -> None:
        row = {name: item.get(name) for name in ITEM_COLUMNS}
        published = parse_iso(row["published_at"]) if row["published_at"] else None
        row["published_utc"] = published.astimezone(UTC) if published else None
        row["stored_at"] = datetime.now(UTC)
        self.pending[(row["site"], row["news_code"])] = row
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> int:
        if not self.pending:
            return 0
        rows = list(self.pending.values())
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(articles)
        update = {c: stmt.excluded[c] for c in rows[0] if c not in ("site", "news_code")}
        stmt = stmt.on_conflict_do_update(index_elements=["site", "news_code"], set_=update)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        self.pending.clear()
        return len(rows)


def store_for(crawler, create: bool = True) -> ArticleStore | None:
    """The crawl's one store, shared by the pipelines and the spider (incremental crawling)."""
    store = getattr(crawler, "_newscrawl_store", None)
    if store is None and create:
        store = ArticleStore(crawler.settings.get("NEWSCRAWL_DATABASE_URL"),
                             crawler.settings.getint("NEWSCRAWL_DB_BATCH_SIZE", 200))
        crawler._newscrawl_store = store
    return store
