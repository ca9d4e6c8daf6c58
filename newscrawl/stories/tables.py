"""The story index's own tables, beside `articles` in the same database (SQLite or PostgreSQL).

- `story_articles`: one row per indexed article: its story, copy_of, time, title, source, shingle count,
  number contexts (for the series rule) and MinHash signature (NUM_PERM little-endian uint32).
- `story_bands`: one row per LSH band of an article with shingles; the index on `band` is what makes an
  assignment read only the candidate rows.
- `story_lock`: one row; updating it first is how an assignment on SQLite takes the write lock before it
  reads (PostgreSQL uses a transaction-scoped advisory lock instead, which leaves no dead rows).

Assignments are serialized by that lock: two workers assigning near-duplicates at once would otherwise
each see none of the other's rows and found two stories for one.
"""

from __future__ import annotations

import zlib

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from newscrawl.db.store import create_tables

metadata = MetaData()
story_articles = Table(
    "story_articles",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # stored order, given under the lock
    Column("site", String(200), nullable=False),
    Column("news_code", String(200), nullable=False),
    Column("story_id", String(64), nullable=False, index=True),
    Column("copy_of", String(401)),
    Column("published_ts", Float),  # POSIX seconds; NULL: unknown
    Column("published_at", String(64)),
    Column("title", Text),
    Column("source", String(200)),
    Column("size", Integer, nullable=False),
    Column("numbers", Text),  # the body's number contexts (shingles), space-separated: the series rule
    Column("signature", LargeBinary),
    UniqueConstraint("site", "news_code", name="uq_story_articles_key"),
)
story_bands = Table(
    "story_bands",
    metadata,
    Column("band", BigInteger, nullable=False),
    Column("article", BigInteger, nullable=False),
)
BAND_INDEX = Index("ix_story_bands_band", story_bands.c.band, story_bands.c.article)  # latest first per band
story_lock = Table("story_lock", metadata, Column("id", Integer, primary_key=True), Column("n", BigInteger))

#: the `articles` columns an assignment writes (added by newscrawl.items' story_id and copy_of fields)
articles = table("articles", column("site"), column("news_code"), column("story_id"), column("copy_of"))
_ADVISORY_KEY = zlib.crc32(b"newscrawl.stories")


def create(engine: Engine) -> None:
    """Create the tables where missing (newscrawl.db.store.create_tables: safe when workers start together)."""
    create_tables(engine, metadata)
    with engine.begin() as conn:
        if conn.execute(select(story_lock.c.id)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(story_lock).values(id=1, n=0))
            except IntegrityError:  # another worker inserted it first
                pass


def articles_columns(engine: Engine) -> bool:
    """Whether the `articles` table exists with story_id and copy_of (items.py's fields) to update."""
    found = inspect(engine)
    if not found.has_table("articles"):
        return False
    return {"story_id", "copy_of"} <= {c["name"] for c in found.get_columns("articles")}


def lock(conn: Connection) -> None:
    """Serialize assignments until this transaction ends (see the module docstring)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    else:
        conn.connection.cursor().execute("UPDATE story_lock SET n = n + 1")  # plain: a third of a small call
