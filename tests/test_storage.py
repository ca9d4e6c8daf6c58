"""The article store on a real SQLite file and, marked `postgres`, a real PostgreSQL server.

The PostgreSQL variant uses the `postgres_url` fixture (tests/conftest.py): NEWSCRAWL_TEST_POSTGRES_URL when
set, else a throwaway local cluster, else a skip saying why.
"""

import errno
import logging
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime

import psycopg
import pytest
from scrapy import Spider, signals
from scrapy.utils.test import get_crawler
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, ProgrammingError

from newscrawl.db.store import (
    ITEM_COLUMNS,
    ArticleStore,
    Selection,
    StorageError,
    StorageFull,
    StorageUnavailable,
    articles,
    classify,
    count_selected,
    metadata,
    run_id_for,
    selected,
    store_for,
    stored_sites,
)
from newscrawl.items import FIELDS

ZWNJ = "\u200c"
TITLE = f"رئیس{ZWNJ}جمهور در سفر استانی"  # ZWNJ is spelling: it must come back byte for byte
TAGS = [f"می{ZWNJ}گوید", "ایران", "مجلس شورای اسلامی"]


def article(code="1", **fields):
    base = dict(site="tabnak", news_code=code, url=f"https://www.tabnak.ir/fa/news/{code}",
                title=f"{TITLE} {code}", kicker=None, lead="لید", body="متن اول\n\nمتن دوم",
                published_at="2018-07-21T00:20:00+04:30", published_at_raw="۳۰ تیر ۱۳۹۷ - ۰۰:۲۰",
                category=["سیاسی", "مجلس"], tags=list(TAGS), images=["https://www.tabnak.ir/files/a.jpg"],
                source="مهر", language="fa", crawled_at="2026-11-25T00:00:00+00:00")
    base.update(fields)
    return base


def as_utc(value: datetime) -> datetime:
    """SQLite gives back a naive UTC datetime, PostgreSQL an aware one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows(store, *where):
    with store.engine.connect() as conn:
        result = conn.execute(select(articles).where(*where).order_by(articles.c.id))
        return [dict(r) for r in result.mappings()]


# -- round trip ----------------------------------------------------------------------------------------
def test_round_trip_keeps_persian_exactly(open_store):
    store = open_store(batch_size=10)
    store.add(article("818242", kicker=f"گزارش{ZWNJ}ها"))
    store.close()
    (row,) = rows(open_store())
    assert row["site"] == "tabnak" and row["news_code"] == "818242"
    assert row["title"] == f"رئیس{ZWNJ}جمهور در سفر استانی 818242"
    assert row["kicker"] == f"گزارش{ZWNJ}ها" and row["lead"] == "لید"
    assert row["body"] == "متن اول\n\nمتن دوم"
    assert row["tags"] == [f"می{ZWNJ}گوید", "ایران", "مجلس شورای اسلامی"]
    assert row["category"] == ["سیاسی", "مجلس"]
    assert row["images"] == ["https://www.tabnak.ir/files/a.jpg"]
    assert row["published_at"] == "2018-07-21T00:20:00+04:30"
    assert row["published_at_raw"] == "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰"
    assert as_utc(row["published_utc"]) == datetime(2018, 7, 20, 19, 50, tzinfo=UTC)  # 00:20 − 4:30
    assert row["source"] == "مهر" and row["language"] == "fa"
    assert row["crawled_at"] == "2026-11-25T00:00:00+00:00"
    assert row["stored_at"] is not None


def test_missing_optional_fields_are_null(open_store):
    store = open_store()
    store.add({"site": "isna", "news_code": "7", "url": "https://www.isna.ir/news/7",
               "title": "ت", "body": "م"})
    store.flush()
    (row,) = rows(store)
    assert row["published_at"] is None and row["published_utc"] is None
    assert row["tags"] is None and row["kicker"] is None


def test_sqlite_json_is_readable_text(tmp_path):
    """Persian in JSON columns is stored as itself, so `sqlite3 news.sqlite3` shows it (no \\u escapes)."""
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open()
    store.add(article("1"))
    store.flush()
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT tags FROM articles").scalar_one()
    store.close()
    assert raw == '["می\u200cگوید", "ایران", "مجلس شورای اسلامی"]'


def test_sqlite_uses_wal(tmp_path):
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
    store.close()
    assert (tmp_path / "news.sqlite3").is_file()


# -- batches and upserts ------------------------------------------------------------------------------
def test_batches_are_written_when_full_and_at_close(db_url, open_store):
    store = open_store(batch_size=3)
    for code in ["1", "2", "3", "4", "5"]:
        store.add(article(code))
    assert store.count() == 3  # one full batch written, two pending
    assert len(store.pending) == 2
    store.close()  # flushes the rest
    assert open_store().count() == 5


def test_a_stored_row_is_never_overwritten(open_store):
    """Insert, never overwrite: the same key again is left as first stored (and not counted as new)."""
    store = open_store(batch_size=1)  # every add is its own transaction
    store.add(article("1"))
    first = rows(store)[0]
    store.add(article("1", title="عنوان تازه", tags=["تازه"], published_at="2018-07-22T10:00:00+04:30"))
    (row,) = rows(store)
    assert row == first
    assert row["title"] == f"{TITLE} 1" and row["tags"] == TAGS
    assert as_utc(row["published_utc"]) == datetime(2018, 7, 20, 19, 50, tzinfo=UTC)
    assert store.count() == 1


def test_same_key_twice_in_one_batch_keeps_the_first(open_store):
    store = open_store(batch_size=10)
    store.add(article("1", title="اول"))
    store.add(article("1", title="دوم"))
    assert store.flush() == 1
    assert [r["title"] for r in rows(store)] == ["اول"]


def test_same_code_on_two_sites_is_two_rows(open_store):
    store = open_store()
    store.add(article("5"))
    store.add(article("5", site="isna", url="https://www.isna.ir/news/5"))
    store.flush()
    assert store.count() == 2 and store.count("tabnak") == 1 and store.count("isna") == 1
    assert store.count("mehr") == 0


# -- look-ups ---------------------------------------------------------------------------------------------
def test_is_known_pending_stored_and_across_instances(open_store):
    store = open_store(batch_size=100)
    assert not store.is_known("tabnak", "818242")
    store.add(article("818242"))
    assert store.is_known("tabnak", "818242")  # still pending, already known
    assert store.count() == 0
    assert not store.is_known("isna", "818242")
    store.close()
    other = open_store()  # a second run on the same database
    assert other.is_known("tabnak", "818242")
    assert not other.is_known("tabnak", "818243")


def test_is_known_sees_another_writer(open_store):
    """The look-up connection is long-lived; it must still see rows another process commits."""
    reader, writer = open_store(), open_store(batch_size=1)
    assert not reader.is_known("tabnak", "9")
    writer.add(article("9"))
    assert reader.is_known("tabnak", "9")
    assert reader.known_codes("tabnak", ["9", "10"]) == {"9"}


def test_known_codes(open_store):
    store = open_store(batch_size=1000)
    for code in range(0, 1200, 2):  # even codes stored
        store.add(article(str(code)))
    store.flush()
    store.add(article("1001"))  # pending
    store.add(article("3", site="isna"))  # other site
    asked = [str(c) for c in range(1200)]  # more than one chunk of 500
    known = store.known_codes("tabnak", asked + ["4", "4"])
    assert known == {str(c) for c in range(0, 1200, 2)} | {"1001"}
    assert store.known_codes("isna", ["3", "4"]) == {"3"}
    assert store.known_codes("tabnak", []) == set()


def test_selected_filters_by_site_tehran_day_and_lists(open_store):
    """The export's reads (selected, count_selected): by site then publication time, a date is a whole
    Tehran day, a datetime an instant; a category or tag is one of the list's values, exactly."""
    store = open_store()
    store.add(article("1", published_at="2018-07-21T00:20:00+04:30"))  # Tehran day 2018-07-21 (UTC: the 20th)
    store.add(article("2", published_at="2018-07-20T23:50:00+04:30", tags=["ایران"]))  # Tehran day 2018-07-20
    store.add(article("3", published_at=None, tags=[]))
    store.add(article("4", site="isna", published_at="2018-07-21T10:00:00+04:30", category=[]))
    store.flush()

    def codes(**criteria):
        chosen = Selection(**criteria)
        found = [a["news_code"] for a in selected(store.engine, chosen, chunk=1)]
        assert count_selected(store.engine, chosen) == len(found)
        return found

    everything = list(selected(store.engine, Selection()))
    assert sorted((a["site"], a["news_code"]) for a in everything) == [
        ("isna", "4"), ("tabnak", "1"), ("tabnak", "2"), ("tabnak", "3")]
    assert list(everything[0]) == ["site", "news_code", "url", "title", "kicker", "lead", "body", "published_at",
                                   "published_at_raw", "category", "tags", "images", "source", "language",
                                   "crawled_at", "fetched_from", "archive_ref", "captured_at", "provenance",
                                   "story_id", "copy_of"]
    assert [a["provenance"] for a in everything] == [{}] * 4  # these items had none: {} rather than null
    assert {a["news_code"]: a["tags"] for a in everything} == {"1": TAGS, "2": ["ایران"], "3": [], "4": TAGS}
    assert codes(sites=["tabnak"], since=date(2018, 7, 21)) == ["1"]
    assert codes(sites=["tabnak"], until=date(2018, 7, 20)) == ["2"]
    assert codes(since=date(2018, 7, 21), until=date(2018, 7, 21)) == ["4", "1"]  # isna sorts first
    instant = datetime(2018, 7, 20, 19, 50, tzinfo=UTC)  # exactly article 1's time; `until` is exclusive
    assert codes(until=instant) == ["2"]
    assert codes(sites=["tabnak"], since=instant) == ["1"]
    assert codes(tags=["ایران"]) == ["4", "2", "1"]  # ایران is one of TAGS
    assert codes(tags=[f"می{ZWNJ}گوید"]) == ["4", "1"]
    assert codes(tags=["می"]) == []  # a part of a tag is not the tag
    assert codes(categories=["مجلس"], sites=["isna"]) == []
    assert count_selected(store.engine, Selection(sites=["tabnak"])) == 3
    assert stored_sites(store.engine) == {"tabnak", "isna"}


def test_list_criteria_are_exact_with_quotes_and_wildcards(open_store):
    """A value is compared whole: LIKE's % and _ and JSON's quotes and backslashes are plain characters."""
    store = open_store()
    store.add(article("1", tags=['۵۰% "تخفیف"', "a_b"], category=["c\\d"]))
    store.add(article("2", tags=["۵۰٪", "axb"], category=["c"]))
    store.flush()

    def codes(**criteria):
        return [a["news_code"] for a in selected(store.engine, Selection(**criteria))]

    assert codes(tags=['۵۰% "تخفیف"']) == ["1"]
    assert codes(tags=["۵۰%"]) == [] and codes(tags=["a%"]) == [] and codes(tags=["a_b"]) == ["1"]
    assert codes(tags=["axb"]) == ["2"] and codes(categories=["c\\d"]) == ["1"] and codes(categories=["c"]) == ["2"]
    assert codes(tags=["a_b", "axb"]) == ["1", "2"]  # any of the values


def older_table(db_url: str, old: MetaData, row_sql: str) -> None:
    """Create an older version's `articles` table (`old`) in the test's empty database, with one row."""
    engine = create_engine(db_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(row_sql)
    engine.dispose()


# -- schema migration ------------------------------------------------------------------------------------
def test_older_table_is_migrated(db_url):
    """A table from an older version (fewer columns) gains the new ones; its rows stay and get
    published_utc computed."""
    old = MetaData()
    Table("articles", old, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("site", String(64), nullable=False), Column("news_code", String(32), nullable=False),
          Column("url", Text, nullable=False), Column("title", Text, nullable=False),
          Column("body", Text, nullable=False), Column("published_at", String(32)),
          UniqueConstraint("site", "news_code"))
    older_table(db_url, old, "INSERT INTO articles (site, news_code, url, title, body, published_at) VALUES "
                "('tabnak', '1', 'https://www.tabnak.ir/fa/news/1', 'قدیمی', 'متن', '2018-07-21T00:20:00+04:30')")

    store = ArticleStore(db_url).open()
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("articles")}
        assert columns == {c.name for c in articles.columns}
        indexed = {tuple(i["column_names"]) for i in inspect(store.engine).get_indexes("articles")}
        assert ("published_utc",) in indexed
        (row,) = rows(store)
        assert row["title"] == "قدیمی" and row["tags"] is None
        assert as_utc(row["published_utc"]) == datetime(2018, 7, 20, 19, 50, tzinfo=UTC)
        assert store.is_known("tabnak", "1")
        store.add(article("1", title="تازه"))  # already stored: left as it is
        store.add(article("2"))
        assert store.flush() == 1
        assert [(r["news_code"], r["title"], r["tags"]) for r in rows(store)] == [
            ("1", "قدیمی", None), ("2", f"{TITLE} 2", TAGS)]
    finally:
        store.close()
    ArticleStore(db_url).open().close()  # opening an up-to-date table again changes nothing


def test_a_table_without_provenance_gains_the_column_in_place(db_url):
    """The previous version's table (every column but provenance) gains it, JSON (jsonb on PostgreSQL),
    with its rows kept; an old row reads as {} and a new one keeps its map."""
    from newscrawl.db.store import selected

    old = MetaData()
    Table("articles", old, *(c._copy() for c in articles.columns if c.name != "provenance"),
          UniqueConstraint("site", "news_code", name="uq_articles_site_code"))
    older_table(db_url, old, "INSERT INTO articles (site, news_code, url, title, body) VALUES "
                "('tabnak', '1', 'https://www.tabnak.ir/fa/news/1', 'قدیمی', 'متن')")
    store = ArticleStore(db_url).open()
    try:
        assert column_types(store)["provenance"] == ("JSONB" if "postgresql" in db_url else "JSON")
        store.add(article("2", provenance={"title": "site", "body": "generic"}))
        assert store.flush() == 1
        found = {a["news_code"]: a["provenance"] for a in selected(store.engine, Selection())}
        assert found == {"1": {}, "2": {"title": "site", "body": "generic"}}
    finally:
        store.close()


# -- failures ---------------------------------------------------------------------------------------------
def test_unreachable_database_is_one_line_without_password():
    with pytest.raises(StorageError) as err:
        ArticleStore("postgresql+psycopg://nobody:s3cr3t@127.0.0.1:1/x").open()
    message = str(err.value)
    assert "\n" not in message and "s3cr3t" not in message
    assert message.startswith("cannot open database postgresql+psycopg://***@127.0.0.1:1/x: ")  # user too
    assert "refused" in message.lower()
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained traceback


def test_sqlite_path_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError) as err:
        ArticleStore(f"sqlite:///{tmp_path}/file/news.sqlite3").open()
    message = str(err.value)
    assert message.startswith(f"cannot open database sqlite:///{tmp_path}/file/news.sqlite3: ")
    assert message.endswith(f": {tmp_path}/file is not a directory") and "\n" not in message


def test_not_a_url_and_its_password_is_hidden():
    with pytest.raises(StorageError, match="is not a database URL") as err:
        ArticleStore("nobody:s3cr3t@db.example/news").open()
    assert "s3cr3t" not in str(err.value) and "nobody" not in str(err.value) and "***@db.example" in str(err.value)


def test_unsupported_database_or_driver():
    with pytest.raises(StorageError, match=r"^cannot open database mysql://\*\*\*@h/db: only SQLite and "
                                           r"PostgreSQL are supported, not mysql$"):
        ArticleStore("mysql://u:pw@h/db").open()
    with pytest.raises(StorageError,
                       match=r"^cannot open database postgresql\+nosuchdriver://u@h/db: .*nosuchdriv"):
        ArticleStore("postgresql+nosuchdriver://u@h/db").open()


@pytest.mark.postgres
def test_plain_postgresql_url_uses_psycopg3(postgres_url):
    """`postgresql://` would mean psycopg2 to SQLAlchemy, which is not installed; psycopg 3 is."""
    store = ArticleStore(postgres_url.replace("postgresql+psycopg://", "postgresql://")).open()
    try:
        assert store.engine.dialect.driver == "psycopg"
        assert store.count() >= 0
    finally:
        store.close()


def test_use_before_open_and_double_close(tmp_path):
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3")
    with pytest.raises(StorageError, match="is not open"):
        store.is_known("tabnak", "1")
    store.open()
    assert store.open() is store and store.engine is not None  # idempotent
    store.close()
    store.close()
    assert store.engine is None


def test_failed_write_keeps_the_batch_for_a_retry(open_store, db_url):
    store = open_store(batch_size=2)
    store.add(article("1"))
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE articles")  # the database loses the table under us
    with pytest.raises(StorageError, match="^cannot write 2 articles to ") as err:
        store.add(article("2"))
    assert "\n" not in str(err.value)
    assert set(store.pending) == {("tabnak", "1"), ("tabnak", "2")}
    metadata.create_all(engine)  # the database is back
    engine.dispose()
    assert store.flush() == 2
    assert store.count() == 2 and not store.pending


# -- one store per crawler --------------------------------------------------------------------------------
def test_store_for_is_one_per_crawler_and_closes_on_spider_closed(tmp_path):
    settings = {"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3", "NEWSCRAWL_DB_BATCH_SIZE": 50}
    crawler = get_crawler(Spider, settings)
    assert store_for(crawler, create=False) is None
    store = store_for(crawler)
    assert store_for(crawler) is store and store_for(crawler, create=False) is store
    assert store.batch_size == 50 and store.url == f"sqlite:///{tmp_path}/news.sqlite3"
    assert store_for(get_crawler(Spider, settings)) is not store
    store.open()
    store.add(article("1"))
    crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("x"), reason="finished")
    assert store.engine is None and not store.pending  # flushed and closed by the signal
    check = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open()
    assert check.count() == 1
    check.close()


def open_together(db_url: str, workers: int) -> tuple[list[str], list[ArticleStore]]:
    """`workers` threads open one database at the same moment; returns (errors, opened stores)."""
    barrier = threading.Barrier(workers)
    errors, stores = [], []

    def open_one():
        barrier.wait()
        try:
            stores.append(ArticleStore(db_url).open())
        except StorageError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=open_one) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors, stores


def test_workers_opening_a_new_database_together_all_get_the_schema(db_url):
    """A fleet starts its workers at once: each creates the schema that another may be creating."""
    for attempt in range(3):  # three rounds, each on a fresh database: the race is not certain every time
        with ArticleStore(db_url).open().engine.begin() as conn:
            metadata.drop_all(conn)
        errors, stores = open_together(db_url, 6)
        assert errors == [], (attempt, errors)
        stores[0].add(article("1"))
        stores[0].flush()
        assert all(s.is_known("tabnak", "1") for s in stores)
        for s in stores:
            s.close()


def test_schema_race_is_retried_and_other_errors_are_not(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/race.sqlite3"
    real_create_all, calls = metadata.create_all, []

    def create_all_losing_the_race_once(engine, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("CREATE TABLE articles", {}, Exception("table articles already exists"))
        return real_create_all(engine, *args, **kwargs)

    monkeypatch.setattr(metadata, "create_all", create_all_losing_the_race_once)
    ArticleStore(url).open().close()
    assert len(calls) == 2

    def create_all_failing(engine, *args, **kwargs):
        calls.append(1)
        raise OperationalError("CREATE TABLE articles", {}, Exception("disk I/O error"))

    calls.clear()
    monkeypatch.setattr(metadata, "create_all", create_all_failing)
    with pytest.raises(StorageError, match="disk I/O error"):
        ArticleStore(f"sqlite:///{tmp_path}/other.sqlite3").open()
    assert len(calls) == 1  # not retried


# -- insert, never overwrite: who stored what ------------------------------------------------------------
def test_write_returns_only_the_rows_it_inserted(open_store):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: a second run learns which articles it stored; the
    first run's rows keep their content and their run_id."""
    first, second = open_store(run_id="run-a"), open_store(run_id="run-b")
    inserted, rejected = first.write([first.row(article(c)) for c in ["1", "2"]])
    assert inserted == {("tabnak", "1"), ("tabnak", "2")} and rejected == {}
    inserted, rejected = second.write([second.row(article(c, title="دوباره")) for c in ["2", "3"]])
    assert inserted == {("tabnak", "3")} and rejected == {}
    assert [(r["news_code"], r["run_id"], r["title"]) for r in rows(first)] == [
        ("1", "run-a", f"{TITLE} 1"), ("2", "run-a", f"{TITLE} 2"), ("3", "run-b", "دوباره")]
    assert second.run_keys("run-b") == {("tabnak", "3")}
    assert first.run_keys("run-a") == {("tabnak", "1"), ("tabnak", "2")}
    assert first.run_keys("nobody") == set()


def test_run_articles_are_item_dicts_oldest_first(open_store):
    store = open_store(run_id="r1", batch_size=100)
    for code in ["5", "3", "9"]:
        store.add(article(code))
    store.add(article("4", site="isna", url="https://www.isna.ir/news/4"))
    store.flush()
    other = open_store(run_id="r2")
    other.add(article("6"))
    other.flush()
    found = store.run_articles("r1", [("tabnak", "9"), ("tabnak", "5"), ("isna", "4"), ("tabnak", "6")])
    assert [(a["site"], a["news_code"]) for a in found] == [("tabnak", "5"), ("tabnak", "9"), ("isna", "4")]
    assert list(found[0]) == list(ITEM_COLUMNS) == list(FIELDS)  # the export order
    assert found[0]["tags"] == TAGS and found[0]["kicker"] is None


class CommitThenFail:
    """An engine whose first transaction commits and then reports a lost connection, as when the server
    goes away between COMMIT and its answer."""

    def __init__(self, engine, error):
        self._engine, self.error, self.failed = engine, error, False

    @contextmanager
    def begin(self):
        with self._engine.begin() as conn:
            yield conn
        if not self.failed:
            self.failed = True
            raise self.error

    def __getattr__(self, name):
        return getattr(self._engine, name)


def lost_answer():
    return OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))


def test_a_commit_whose_answer_was_lost_counts_as_ours(open_store):
    store = open_store(run_id="mine", retry_seconds=5)
    other = open_store(run_id="theirs")
    other.write([other.row(article("2"))])
    real = store.engine
    store.engine = CommitThenFail(real, lost_answer())
    inserted, _ = store.write([store.row(article(c)) for c in ["1", "2", "3"]])
    store.engine = real
    # the retry finds 1 and 3 already there, with our run id: ours; 2 is the other run's
    assert inserted == {("tabnak", "1"), ("tabnak", "3")}
    assert not store.uncertain
    assert store.run_keys("mine") == {("tabnak", "1"), ("tabnak", "3")}


def test_refused_rows_are_isolated(open_store):
    """One article the database refuses (NOT NULL here) does not block its batch."""
    store = open_store(run_id="r")
    inserted, rejected = store.write([store.row(article("1")), store.row(article("2", title=None)),
                                      store.row(article("3"))])
    assert inserted == {("tabnak", "1"), ("tabnak", "3")}
    assert list(rejected) == [("tabnak", "2")]
    assert "\n" not in rejected[("tabnak", "2")] and "title" in rejected[("tabnak", "2")].lower()
    assert store.count() == 2


@pytest.mark.postgres
def test_postgres_refuses_an_overlong_site_alone(postgres_url):
    store = ArticleStore(postgres_url, run_id="r").open()
    try:
        with store.engine.begin() as conn:
            conn.execute(articles.delete())
        long_site = "x" * 65  # VARCHAR(64)
        inserted, rejected = store.write([store.row(article("1")), store.row(article("2", site=long_site))])
        assert inserted == {("tabnak", "1")} and list(rejected) == [(long_site, "2")]
    finally:
        store.close()


# -- the run_id column ------------------------------------------------------------------------------------
def test_table_without_run_id_gains_it_with_its_index(db_url):
    """A table of the previous version (every column but run_id) is migrated: its rows have no run,
    new rows carry theirs."""
    old = MetaData()
    Table("articles", old, *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                             for c in articles.columns if c.name != "run_id"),
          UniqueConstraint("site", "news_code"))
    older_table(db_url, old, "INSERT INTO articles (site, news_code, url, title, body) VALUES "
                "('tabnak', '1', 'https://www.tabnak.ir/fa/news/1', 'قدیمی', 'متن')")
    store = ArticleStore(db_url, run_id="new-run").open()
    try:
        assert "run_id" in {c["name"] for c in inspect(store.engine).get_columns("articles")}
        assert ("run_id",) in {tuple(i["column_names"]) for i in inspect(store.engine).get_indexes("articles")}
        store.add(article("2"))
        store.flush()
        assert [(r["news_code"], r["run_id"]) for r in rows(store)] == [("1", None), ("2", "new-run")]
    finally:
        store.close()


def test_run_id_is_one_per_crawler_and_the_jobdir_name_when_resumable(tmp_path):
    a, b = get_crawler(Spider), get_crawler(Spider)
    assert run_id_for(a) == run_id_for(a) != run_id_for(b)  # same second, different processes' crawlers
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[0-9a-f]{6}", run_id_for(a))
    job = get_crawler(Spider, {"JOBDIR": str(tmp_path / "crawls" / "tabnak-1") + "/"})
    assert run_id_for(job) == "tabnak-1"
    settings = {"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3", "NEWSCRAWL_DB_RETRY_SECONDS": 7}
    crawler = get_crawler(Spider, settings)
    store = store_for(crawler)
    assert store.run_id == run_id_for(crawler) and store.retry_seconds == 7


# -- transient errors, outages, full disks -------------------------------------------------------------
def dbapi(orig, connection_invalidated=False):
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=connection_invalidated)


@pytest.mark.parametrize(("error", "kind"), [
    (OperationalError("x", {}, sqlite3.OperationalError("database is locked")), "transient"),
    (OperationalError("x", {}, sqlite3.OperationalError("database or disk is full")), "full"),
    (OperationalError("x", {}, sqlite3.OperationalError("no such table: articles")), "fatal"),
    (IntegrityError("x", {}, sqlite3.IntegrityError("NOT NULL constraint failed: articles.title")), "data"),
    (OperationalError("x", {}, psycopg.errors.AdminShutdown("terminating connection")), "transient"),
    (OperationalError("x", {}, psycopg.errors.CannotConnectNow("the database system is starting up")),
     "transient"),
    (OperationalError("x", {}, psycopg.errors.SerializationFailure("could not serialize")), "transient"),
    (OperationalError("x", {}, psycopg.errors.DeadlockDetected("deadlock")), "transient"),
    (OperationalError("x", {}, psycopg.errors.TooManyConnections("too many")), "transient"),
    (OperationalError("x", {}, psycopg.errors.DiskFull("could not extend file")), "full"),
    (OperationalError("x", {}, psycopg.OperationalError("connection refused")), "transient"),
    (IntegrityError("x", {}, psycopg.errors.NotNullViolation("null value")), "data"),
    (DataError("x", {}, psycopg.errors.StringDataRightTruncation("value too long")), "data"),
    (ProgrammingError("x", {}, psycopg.errors.UndefinedTable("relation does not exist")), "fatal"),
    (dbapi(Exception("server closed the connection unexpectedly"), connection_invalidated=True), "transient"),
    (OSError(errno.ENOSPC, "No space left on device"), "full"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "full"),
    (OSError(errno.EACCES, "Permission denied"), "fatal"),
])
def test_errors_are_classified(error, kind):
    assert classify(error) == kind


class Flaky:
    """An engine whose transactions fail with `error` the first `failures` times."""

    def __init__(self, engine, error, failures):
        self._engine, self.error, self.failures, self.calls = engine, error, failures, 0

    def _attempt(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def begin(self):
        self._attempt()
        return self._engine.begin()

    def connect(self):
        self._attempt()
        return self._engine.connect()

    def __getattr__(self, name):
        return getattr(self._engine, name)


def test_transient_errors_are_retried_then_heal(open_store, caplog):
    store = open_store(run_id="r", retry_seconds=30)
    real = store.engine
    store.engine = Flaky(real, OperationalError("x", {}, sqlite3.OperationalError("database is locked")), 3)
    with caplog.at_level(logging.INFO, logger="newscrawl.db.store"):
        inserted, _ = store.write([store.row(article("1"))])
    assert inserted == {("tabnak", "1")} and store.engine.calls == 4
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == ["WARNING", "INFO"]  # one line when it starts, one when over
    assert "database is locked; retrying for up to 30 s" in messages[0][1]
    assert messages[1][1].startswith("database ") and " is back after " in messages[1][1]


def test_an_outage_longer_than_the_window_is_unavailable_and_then_fails_at_once(open_store):
    store = open_store(run_id="r", retry_seconds=0.3)
    real = store.engine
    store.engine = Flaky(real, OperationalError("x", {}, psycopg.OperationalError("connection refused")), 10**6)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="connection refused.*still failing after 0.3 s") as err:
        store.write([store.row(article("1"))])
    assert time.monotonic() - started >= 0.3
    assert "\n" not in str(err.value)
    calls = store.engine.calls
    assert calls > 2  # retried with backoff
    for call in (lambda: store.is_known("tabnak", "1"), lambda: store.known_codes("tabnak", ["1"]),
                 lambda: store.write([store.row(article("2"))])):
        with pytest.raises(StorageUnavailable):
            call()
    assert store.engine.calls == calls  # no more attempts: the crawl is stopping
    store.engine = real


def test_a_full_disk_is_not_retried(open_store):
    store = open_store(run_id="r", retry_seconds=30)
    real = store.engine
    store.engine = Flaky(real, OperationalError("x", {}, sqlite3.OperationalError("database or disk is full")), 1)
    with pytest.raises(StorageFull, match="database or disk is full"):
        store.write([store.row(article("1"))])
    assert store.engine.calls == 1
    store.engine = real


def test_reads_are_retried_too(open_store):
    store = open_store(retry_seconds=30)
    assert not store.is_known("tabnak", "1")  # the long-lived reader connection exists now
    real = store.engine
    store._drop_reader()
    store.engine = Flaky(real, OperationalError("x", {}, sqlite3.OperationalError("database is locked")), 2)
    assert store.known_codes("tabnak", ["1"]) == set()
    assert store.engine.calls == 3
    store.engine = real


@pytest.mark.postgres
def test_postgres_reader_survives_its_backend_being_killed(postgres_url):
    """What a server restart does to the long-lived look-up connection: the next look-up reconnects."""
    store = ArticleStore(postgres_url, retry_seconds=10).open()
    try:
        store.is_known("tabnak", "1")
        pid = store._reader.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with store.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        store.add(article("1"))
        store.flush()
        assert store.is_known("tabnak", "1") and store.known_codes("tabnak", ["1", "2"]) == {"1"}
    finally:
        store.close()


# -- the columns derive from the item; native PostgreSQL types ---------------------------------------------
def column_types(store) -> dict[str, str]:
    dialect = store.engine.dialect
    return {c["name"]: c["type"].compile(dialect=dialect) for c in inspect(store.engine).get_columns("articles")}


def test_columns_are_the_item_fields(open_store):
    """One column per item field in item order (then the store's own), NOT NULL exactly for the required
    fields; SQLite keeps text instants and JSON lists, PostgreSQL has timestamptz and jsonb."""
    store = open_store()
    found = inspect(store.engine).get_columns("articles")
    assert [c["name"] for c in found] == ["id", "site", "news_code", "url", "title", "kicker", "lead", "body",
                                          "published_at", "published_at_raw", "category", "tags", "images",
                                          "source", "language", "crawled_at", "fetched_from", "archive_ref",
                                          "captured_at", "provenance", "story_id", "copy_of", "published_utc", "stored_at",
                                          "run_id", "replacements"]
    assert {c["name"] for c in found if not c["nullable"]} == {"id", "site", "news_code", "url", "title", "body"}
    types = column_types(store)
    if store.engine.dialect.name == "postgresql":
        assert {name: types[name] for name in ("published_at", "crawled_at", "category", "tags", "images")} == {
            "published_at": "TIMESTAMP WITH TIME ZONE", "crawled_at": "TIMESTAMP WITH TIME ZONE",
            "category": "JSONB", "tags": "JSONB", "images": "JSONB"}
        assert types["provenance"] == "JSONB"
    else:
        assert {name: types[name] for name in ("published_at", "crawled_at", "category", "tags", "images")} == {
            "published_at": "VARCHAR(32)", "crawled_at": "VARCHAR(40)", "category": "JSON", "tags": "JSON",
            "images": "JSON"}
        assert types["provenance"] == "JSON"
    assert types["site"] == "VARCHAR(64)" and types["news_code"] == "VARCHAR(32)" and types["url"] == "TEXT"


def test_instants_come_back_as_written(open_store):
    """published_at in its Tehran offset (+04:30 in the summer of 2018, +03:30 in winter and since 2022),
    crawled_at in UTC, a fraction of a second kept: on PostgreSQL too, where they are timestamptz."""
    store = open_store()
    store.add(article("1", published_at="2018-07-21T00:20:00+04:30", crawled_at="2026-11-25T00:00:00+00:00"))
    store.add(article("2", published_at="2018-01-10T09:05:07+03:30", crawled_at="2026-11-25T00:00:00.250000+00:00"))
    store.add(article("3", published_at="2023-07-21T00:20:00+03:30"))
    store.flush()
    got = {a["news_code"]: (a["published_at"], a["crawled_at"]) for a in selected(store.engine, Selection())}
    assert got == {"1": ("2018-07-21T00:20:00+04:30", "2026-11-25T00:00:00+00:00"),
                   "2": ("2018-01-10T09:05:07+03:30", "2026-11-25T00:00:00.250000+00:00"),
                   "3": ("2023-07-21T00:20:00+03:30", "2026-11-25T00:00:00+00:00")}


@pytest.mark.postgres
def test_postgres_refuses_a_published_at_that_is_not_an_instant_alone(postgres_url):
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
    engine.dispose()
    store = ArticleStore(postgres_url, run_id="r").open()
    try:
        inserted, rejected = store.write([store.row(article("1")),
                                          store.row(article("2", published_at="۳۰ تیر ۱۳۹۷"))])
        assert inserted == {("tabnak", "1")} and list(rejected) == [("tabnak", "2")]
        assert "invalid input syntax for type timestamp with time zone" in rejected[("tabnak", "2")]
    finally:
        store.close()


#: the `articles` table as the version before native types created it on PostgreSQL (text instants, json)
PREVIOUS_DDL = """CREATE TABLE articles (
    id SERIAL PRIMARY KEY, site VARCHAR(64) NOT NULL, news_code VARCHAR(32) NOT NULL, url TEXT NOT NULL,
    title TEXT NOT NULL, kicker TEXT, lead TEXT, body TEXT NOT NULL, published_at VARCHAR(32),
    published_utc TIMESTAMP WITH TIME ZONE, published_at_raw TEXT, category JSON, tags JSON, images JSON,
    source TEXT, language VARCHAR(8), crawled_at VARCHAR(40), stored_at TIMESTAMP WITH TIME ZONE,
    run_id VARCHAR(128), CONSTRAINT uq_articles_site_code UNIQUE (site, news_code))"""
PREVIOUS_ROWS = """INSERT INTO articles (site, news_code, url, title, kicker, lead, body, published_at,
    published_utc, published_at_raw, category, tags, images, source, language, crawled_at, run_id) VALUES
    ('tabnak', '1', 'https://www.tabnak.ir/fa/news/1', 'رئیس\u200cجمهور', NULL, 'لید', 'متن اول

متن دوم', '2018-07-21T00:20:00+04:30', '2018-07-20T19:50:00+00:00', '۳۰ تیر ۱۳۹۷ - ۰۰:۲۰', '["سیاسی", "مجلس"]',
     '["می\u200cگوید"]', '["https://www.tabnak.ir/files/a.jpg"]', 'مهر', 'fa', '2026-11-25T00:00:00+00:00', 'old'),
    ('tabnak', '2', 'https://www.tabnak.ir/fa/news/2', 'دوم', NULL, NULL, 'متن', NULL, NULL, NULL, '[]', '[]',
     '[]', NULL, 'fa', '2026-11-25T00:00:01+00:00', 'old')"""
#: the JSON Lines `scrapy export` wrote for those rows before the migration (written by hand)
PREVIOUS_EXPORT = (
    '{"site": "tabnak", "news_code": "1", "url": "https://www.tabnak.ir/fa/news/1", "title": "رئیس\u200cجمهور", '
    '"kicker": null, "lead": "لید", "body": "متن اول\\n\\nمتن دوم", "published_at": "2018-07-21T00:20:00+04:30", '
    '"published_at_raw": "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰", "category": ["سیاسی", "مجلس"], "tags": ["می\u200cگوید"], '
    '"images": ["https://www.tabnak.ir/files/a.jpg"], "source": "مهر", "language": "fa", '
    '"crawled_at": "2026-11-25T00:00:00+00:00"}\n'
    '{"site": "tabnak", "news_code": "2", "url": "https://www.tabnak.ir/fa/news/2", "title": "دوم", '
    '"kicker": null, "lead": null, "body": "متن", "published_at": null, "published_at_raw": null, '
    '"category": [], "tags": [], "images": [], "source": null, "language": "fa", '
    '"crawled_at": "2026-11-25T00:00:01+00:00"}\n')
#: what it exports after the migration: the same, a live crawl's provenance (captured when crawled), and
#: `provenance` ({} for a row stored before the column)
MIGRATED_EXPORT = PREVIOUS_EXPORT.replace(
    '"crawled_at": "2026-11-25T00:00:00+00:00"}\n',
    '"crawled_at": "2026-11-25T00:00:00+00:00", "fetched_from": "live", "archive_ref": null, '
    '"captured_at": "2026-11-25T00:00:00+00:00", "provenance": {}, "story_id": null, "copy_of": null}\n').replace(
    '"crawled_at": "2026-11-25T00:00:01+00:00"}\n',
    '"crawled_at": "2026-11-25T00:00:01+00:00", "fetched_from": "live", "archive_ref": null, '
    '"captured_at": "2026-11-25T00:00:01+00:00", "provenance": {}, "story_id": null, "copy_of": null}\n')


def exported(store, tmp_path) -> str:
    from newscrawl.commands.export import export

    out = tmp_path / f"export-{time.monotonic_ns()}.jsonl"
    export(store.engine, "jsonl", out, Selection(), progress_every=0)
    return out.read_text(encoding="utf-8")


@pytest.mark.postgres
def test_postgres_text_columns_become_native_in_place(postgres_url, tmp_path):
    """A table with text instants and json lists (the previous version's) is altered in place: its rows
    stay, exported byte for byte as before; opening it again changes nothing (the table is not rewritten)."""
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
        conn.exec_driver_sql(PREVIOUS_DDL)
        conn.exec_driver_sql(PREVIOUS_ROWS)
    engine.dispose()

    def relfilenode(store) -> int:
        with store.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT relfilenode FROM pg_class WHERE relname = 'articles'").scalar()

    store = ArticleStore(postgres_url, run_id="new").open()
    try:
        types = column_types(store)
        assert (types["published_at"], types["crawled_at"]) == ("TIMESTAMP WITH TIME ZONE",) * 2
        assert (types["category"], types["tags"], types["images"]) == ("JSONB",) * 3
        assert types["provenance"] == "JSONB"
        assert exported(store, tmp_path) == MIGRATED_EXPORT
        assert store.is_known("tabnak", "1") and not store.is_known("tabnak", "3")
        store.add(article("3"))
        assert store.flush() == 1
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM articles WHERE tags @> '[\"ایران\"]' AND published_at < '2019-01-01'"
            ).scalar() == 1  # jsonb containment and timestamptz comparison work in SQL
        rewritten = relfilenode(store)
    finally:
        store.close()
    again = ArticleStore(postgres_url).open()  # up to date now: no ALTER, the table's file is the same
    try:
        assert relfilenode(again) == rewritten
        lines = exported(again, tmp_path).splitlines(keepends=True)
        assert len(lines) == 3 and set(MIGRATED_EXPORT.splitlines(keepends=True)) < set(lines)
    finally:
        again.close()


@pytest.mark.postgres
def test_export_is_the_same_bytes_from_sqlite_and_postgresql(postgres_url, tmp_path):
    """The same articles exported from SQLite (text) and PostgreSQL (timestamptz, jsonb) as JSON Lines."""
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
    engine.dispose()
    items = [article("1"), article("2", published_at="2018-01-10T09:05:07+03:30", tags=[], kicker="روتیتر"),
             article("3", published_at=None, site="isna", images=[])]
    outputs = []
    for url in (f"sqlite:///{tmp_path}/news.sqlite3", postgres_url):
        store = ArticleStore(url).open()
        try:
            for item in items:
                store.add(item)
            store.flush()
            outputs.append(exported(store, tmp_path))
        finally:
            store.close()
    assert outputs[0] == outputs[1]
    assert '"published_at": "2018-01-10T09:05:07+03:30"' in outputs[0] and outputs[0].count("\n") == 3
