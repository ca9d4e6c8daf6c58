"""The article store on a real SQLite file and, marked `postgres`, a real PostgreSQL server.

The PostgreSQL variant uses the `postgres_url` fixture (tests/conftest.py): NEWSCRAWL_TEST_POSTGRES_URL when
set, else a throwaway local cluster, else a skip saying why.
"""

import threading
from datetime import UTC, date, datetime

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
from sqlalchemy.exc import OperationalError

from newscrawl.storage import ArticleStore, StorageError, articles, metadata, store_for

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database with no `articles` table yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sub/news.sqlite3"  # `sub` does not exist: open() creates it
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
    engine.dispose()
    return url


@pytest.fixture
def open_store(db_url):
    """open_store(**kw) -> an opened ArticleStore on db_url; all closed at teardown."""
    made = []

    def make(**kw):
        made.append(ArticleStore(db_url, **kw).open())
        return made[-1]

    yield make
    for store in made:
        store.close()


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


def test_upsert_same_key_updates_the_row(open_store):
    store = open_store(batch_size=1)  # every add is its own transaction
    store.add(article("1"))
    first = rows(store)[0]
    store.add(article("1", title="عنوان تازه", tags=["تازه"], published_at="2018-07-22T10:00:00+04:30"))
    (row,) = rows(store)
    assert row["id"] == first["id"]
    assert row["title"] == "عنوان تازه" and row["tags"] == ["تازه"]
    assert row["published_at"] == "2018-07-22T10:00:00+04:30"
    assert as_utc(row["published_utc"]) == datetime(2018, 7, 22, 5, 30, tzinfo=UTC)
    assert store.count() == 1


def test_same_key_twice_in_one_batch_keeps_the_last(open_store):
    store = open_store(batch_size=10)
    store.add(article("1", title="اول"))
    store.add(article("1", title="دوم"))
    assert store.flush() == 1
    assert [r["title"] for r in rows(store)] == ["دوم"]


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


def test_iter_articles_filters_by_site_and_tehran_day(open_store):
    store = open_store()
    store.add(article("1", published_at="2018-07-21T00:20:00+04:30"))  # Tehran day 2018-07-21 (UTC: the 20th)
    store.add(article("2", published_at="2018-07-20T23:50:00+04:30"))  # Tehran day 2018-07-20
    store.add(article("3", published_at=None))
    store.add(article("4", site="isna", published_at="2018-07-21T10:00:00+04:30"))
    # no flush: iter_articles writes the pending batch first
    everything = list(store.iter_articles())
    assert [(a["site"], a["news_code"]) for a in everything] == [
        ("tabnak", "1"), ("tabnak", "2"), ("tabnak", "3"), ("isna", "4")]
    assert set(everything[0]) == {"site", "news_code", "url", "title", "kicker", "lead", "body",
                                  "published_at", "published_at_raw", "category", "tags", "images",
                                  "source", "language", "crawled_at"}
    assert everything[0]["tags"] == TAGS
    codes = [a["news_code"] for a in store.iter_articles(site="tabnak", since=date(2018, 7, 21))]
    assert codes == ["1"]
    codes = [a["news_code"] for a in store.iter_articles(site="tabnak", until=date(2018, 7, 20))]
    assert codes == ["2"]
    codes = [a["news_code"] for a in store.iter_articles(since=date(2018, 7, 21), until=date(2018, 7, 21))]
    assert codes == ["1", "4"]
    instant = datetime(2018, 7, 20, 19, 50, tzinfo=UTC)  # exactly article 1's time; `until` is exclusive
    assert [a["news_code"] for a in store.iter_articles(until=instant)] == ["2"]
    assert [a["news_code"] for a in store.iter_articles(since=instant, chunk=1)] == ["1", "4"]


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
    store = ArticleStore(db_url)
    if db_url.startswith("sqlite"):
        store.open().close()  # creates the folder; replaced below by the old table
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE articles")
    engine = create_engine(db_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO articles (site, news_code, url, title, body, published_at) VALUES "
                             "('tabnak', '1', 'https://www.tabnak.ir/fa/news/1', 'قدیمی', 'متن', "
                             "'2018-07-21T00:20:00+04:30')")
    engine.dispose()

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
        store.add(article("1", title="تازه"))
        store.add(article("2"))
        store.flush()
        assert [(r["news_code"], r["title"], r["tags"]) for r in rows(store)] == [
            ("1", "تازه", TAGS), ("2", f"{TITLE} 2", TAGS)]
    finally:
        store.close()
    ArticleStore(db_url).open().close()  # opening an up-to-date table again changes nothing


# -- failures ---------------------------------------------------------------------------------------------
def test_unreachable_database_is_one_line_without_password():
    with pytest.raises(StorageError) as err:
        ArticleStore("postgresql+psycopg://nobody:s3cr3t@127.0.0.1:1/x").open()
    message = str(err.value)
    assert "\n" not in message and "s3cr3t" not in message
    assert message.startswith("cannot open database postgresql+psycopg://nobody:***@127.0.0.1:1/x: ")
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
    assert "s3cr3t" not in str(err.value) and "nobody:***@db.example" in str(err.value)


def test_unsupported_database_or_driver():
    with pytest.raises(StorageError, match=r"^cannot open database mysql://u:\*\*\*@h/db: only SQLite and "
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
