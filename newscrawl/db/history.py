"""Run history: one row per crawl in the `crawls` table of the crawl's own database (SQLAlchemy Core).

Why a table and not only the stats files: `scrapy summary` shows the last runs per spider, and a fleet
(many workers, one PostgreSQL) has one place to look. The table has its own MetaData, so the article
schema (newscrawl.db.store) knows nothing of it; it is created on first use on
`store_for(crawler).open().engine`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.engine import Engine

from newscrawl.db import url as dburl
from newscrawl.db.store import create_tables

metadata = MetaData()
crawls = Table(
    "crawls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("spider", String(64), nullable=False, index=True),
    Column("job_id", String(128)),  # Scrapyd's _job, else the run id (storage.run_id_for)
    Column("arguments", JSON),  # spider arguments, secrets masked
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("finish_reason", String(64)),
    Column("pages", Integer),
    Column("items_stored", Integer),
    Column("items_dropped", Integer),  # dropped for their content (duplicates not included)
    Column("items_duplicate", Integer),
    Column("coverage", JSON),  # field -> share of parsed articles; null: no items
    Column("health", String(16)),  # "passed", "failed" or "unchecked" (monitors off)
    Column("health_failures", JSON),  # ["monitor: reason", ...]
    Column("exit_code", Integer),
    Column("stats_file", Text),
)

#: argument names whose values are never recorded
SECRET_NAME = re.compile(r"pass|secret|token|key|auth|credential|database_url|dsn", re.I)


def safe_arguments(arguments: Mapping[str, object]) -> dict[str, str]:
    """Spider arguments fit to store: a secret-looking name hides its value, and the userinfo of a URL
    is masked whole (dburl.mask, the one masking rule)."""
    return {name: "***" if SECRET_NAME.search(name) else dburl.mask(str(value))
            for name, value in arguments.items()}


def create(engine: Engine) -> None:
    """Create the table if missing (storage.create_tables: a fleet's workers may race to create it)."""
    create_tables(engine, metadata)


def record(engine: Engine, row: dict) -> None:
    """Insert one run's row (creating the table first when needed)."""
    create(engine)
    with engine.begin() as conn:
        conn.execute(insert(crawls).values(**{k: v for k, v in row.items() if k in crawls.c}))


def last_runs(engine: Engine, per_spider: int = 5) -> dict[str, list[dict]]:
    """The newest `per_spider` rows of each spider, newest first; {} when the table does not exist."""
    from sqlalchemy import func, inspect

    if not inspect(engine).has_table("crawls"):
        return {}
    rank = func.row_number().over(partition_by=crawls.c.spider,
                                  order_by=(crawls.c.started_at.desc(), crawls.c.id.desc())).label("rank")
    inner = select(crawls, rank).subquery()
    query = (select(*(inner.c[c.name] for c in crawls.columns)).where(inner.c.rank <= per_spider)
             .order_by(inner.c.spider, inner.c.rank))
    runs: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            runs.setdefault(row["spider"], []).append(dict(row))
    return runs


def failed(row: Mapping) -> bool:
    """A run is failed when its exit code was not 0 (the health verdict and the finish reason are in it)."""
    return row.get("exit_code") not in (0, None) or row.get("health") == "failed"
