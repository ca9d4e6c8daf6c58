"""The article store and the pipelines on a real SQLite file and a real PostgreSQL server."""

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawl.items import ArticleItem
from newscrawl.pipelines import DatesPipeline, DedupPipeline, StoragePipeline, ValidatePipeline
from newscrawl.storage import ArticleStore, StorageError

ZWNJ = "\u200c"


def article(code="1", **fields):
    base = dict(site="tabnak", news_code=code, url=f"https://www.tabnak.ir/fa/news/{code}",
                title=f"رئیس{ZWNJ}جمهور {code}", kicker=None, lead="لید", body="متن اول\n\nمتن دوم",
                published_at="2018-07-21T00:20:00+04:30", published_at_raw="۳۰ تیر ۱۳۹۷ - ۰۰:۲۰",
                category=["سیاسی", "مجلس"], tags=[f"می{ZWNJ}گوید"], images=[], source="مهر", language="fa",
                crawled_at="2026-11-25T00:00:00+00:00")
    base.update(fields)
    return base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/sub/news.sqlite3"  # the parent folder is created
    url = request.getfixturevalue("postgres_url")
    store = ArticleStore(url).open()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
    store.close()
    return url


def test_round_trip_keeps_persian_exactly(db_url):
    store = ArticleStore(db_url, batch_size=10).open()
    store.add(article("818242"))
    assert store.is_known("tabnak", "818242")  # pending counts as known
    store.close()
    store = ArticleStore(db_url).open()
    from sqlalchemy import select

    from newscrawl.storage import articles
    with store.engine.connect() as conn:
        row = conn.execute(select(articles)).mappings().one()
    assert row["title"] == f"رئیس{ZWNJ}جمهور 818242"
    assert row["tags"] == [f"می{ZWNJ}گوید"] and row["category"] == ["سیاسی", "مجلس"]
    assert row["published_at"] == "2018-07-21T00:20:00+04:30"
    assert row["published_utc"].isoformat().startswith("2018-07-20T19:50:00")
    store.close()


def test_upsert_and_batches(db_url):
    store = ArticleStore(db_url, batch_size=3).open()
    for code in "12345":
        store.add(article(code))
    assert store.count() == 3  # one full batch written, two pending
    store.add(article("1", title="عنوان تازه"))
    store.close()  # flushes
    store = ArticleStore(db_url).open()
    assert store.count() == 5 and store.count("tabnak") == 5 and store.count("isna") == 0
    assert store.known_codes("tabnak", ["1", "5", "9"]) == {"1", "5"}
    from sqlalchemy import select

    from newscrawl.storage import articles
    with store.engine.connect() as conn:
        title = conn.execute(select(articles.c.title).where(articles.c.news_code == "1")).scalar_one()
    assert title == "عنوان تازه"
    store.close()


def test_unreachable_database_is_one_line():
    with pytest.raises(StorageError) as err:
        ArticleStore("postgresql+psycopg://nobody:secret@127.0.0.1:1/x").open()
    message = str(err.value)
    assert "\n" not in message and "secret" not in message and "127.0.0.1:1" in message


def test_sqlite_path_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot open database"):
        ArticleStore(f"sqlite:///{tmp_path}/file/news.sqlite3").open()


def test_not_a_url():
    with pytest.raises(StorageError, match="not a database URL"):
        ArticleStore("nonsense").open()


# -- pipelines ---------------------------------------------------------------------------------------------
@pytest.fixture
def crawler(tmp_path):
    return get_crawler(Spider, {"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3",
                                "NEWSCRAWL_DB_BATCH_SIZE": 2})


def stat(crawler, key):
    return crawler.stats.get_value(key)


@pytest.mark.parametrize("field", ["news_code", "title", "body", "url"])
def test_validate_drops_missing(crawler, field):
    with pytest.raises(DropItem, match=f"missing {field}"):
        ValidatePipeline(crawler).process_item(ArticleItem(**article(**{field: " " if field != "url" else None})))
    assert stat(crawler, f"newscrawl/dropped/missing_{field}") == 1


def test_validate_rejects_non_ascii_code(crawler):
    with pytest.raises(DropItem):
        ValidatePipeline(crawler).process_item(article(news_code="۸۱۸"))
    assert stat(crawler, "newscrawl/dropped/bad_news_code") == 1


def test_dates_from_page(crawler):
    item = DatesPipeline(crawler).process_item(article(published_at=None, published_at_meta="2018-07-21T00:20:18+04:30"))
    assert item["published_at"] == "2018-07-21T00:20:00+04:30" and "published_at_meta" not in item
    assert stat(crawler, "newscrawl/date/meta_mismatch") is None


def test_dates_unparseable_without_meta(crawler):
    item = DatesPipeline(crawler).process_item(article(published_at=None, published_at_raw="۳۲ تیر ۱۳۹۷ - ۰۰:۲۰"))
    assert item["published_at"] is None and item["published_at_raw"] == "۳۲ تیر ۱۳۹۷ - ۰۰:۲۰"
    assert stat(crawler, "newscrawl/date/unparseable") == 1


def test_dates_fallback_to_utc_meta(crawler):
    item = DatesPipeline(crawler).process_item(
        article(published_at=None, published_at_raw="نامعلوم", published_at_meta="2019-07-12T13:30:56Z"))
    assert item["published_at"] == "2019-07-12T18:00:56+04:30"
    assert stat(crawler, "newscrawl/date/from_meta") == 1 and stat(crawler, "newscrawl/date/unparseable") == 1


def test_dates_mismatch_counted(crawler):
    DatesPipeline(crawler).process_item(article(published_at_meta="2018-07-25T00:00:00+04:30"))
    assert stat(crawler, "newscrawl/date/meta_mismatch") == 1


def test_dedup_within_and_across_runs(tmp_path):
    def run(codes):
        crawler = get_crawler(Spider, {"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3",
                                       "NEWSCRAWL_DB_BATCH_SIZE": 2})
        dedup, storage = DedupPipeline(crawler), StoragePipeline(crawler)
        dedup.open_spider()
        storage.open_spider()
        kept = []
        for code in codes:
            try:
                kept.append(storage.process_item(dedup.process_item(article(code)))["news_code"])
            except DropItem:
                pass
        storage.close_spider()
        return kept, crawler.stats.get_value("newscrawl/duplicates", 0)

    assert run(["1", "2", "1", "3"]) == (["1", "2", "3"], 1)
    assert run(["3", "4", "1"]) == (["4"], 2)
    assert ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open().count() == 4
