"""The item pipelines on a real crawler (stats, settings, signals) and real SQLite files.

Most tests call the pipeline methods directly, as Scrapy's pipeline manager does; the last one runs
them inside the real engine (`scrapy runspider` in a subprocess) to prove the wiring.
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawl.items import ArticleItem
from newscrawl.pipelines import DatesPipeline, DedupPipeline, StoragePipeline, ValidatePipeline
from newscrawl.storage import ArticleStore, store_for

ROOT = Path(__file__).resolve().parents[1]
ZWNJ = "\u200c"


def article(code="1", **fields):
    base = dict(site="tabnak", news_code=code, url=f"https://www.tabnak.ir/fa/news/{code}",
                title=f"رئیس{ZWNJ}جمهور {code}", kicker=None, lead="لید", body="متن اول\n\nمتن دوم",
                published_at=None, published_at_raw="۳۰ تير ۱۳۹۷ - ۰۰:۲۰", published_at_meta=None,
                category=["سیاسی"], tags=[f"می{ZWNJ}گوید"], images=[], source="مهر", language="fa",
                crawled_at="2026-11-25T00:00:00+00:00")
    base.update(fields)
    return base


def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/news.sqlite3"


def make_crawler(tmp_path, batch_size=2):
    settings = {"NEWSCRAWL_DATABASE_URL": db_url(tmp_path), "NEWSCRAWL_DB_BATCH_SIZE": batch_size}
    return get_crawler(Spider, settings)


@pytest.fixture
def crawler(tmp_path):
    return make_crawler(tmp_path)


def stat(crawler, key):
    return crawler.stats.get_value(key)


def stored_count(tmp_path, site=None):
    store = ArticleStore(db_url(tmp_path)).open()
    try:
        return store.count(site)
    finally:
        store.close()


# -- ValidatePipeline ------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["site", "news_code", "url", "title", "body"])
@pytest.mark.parametrize("empty", [None, "", " \n "])
def test_validate_drops_missing_field(crawler, caplog, field, empty):
    pipeline = ValidatePipeline.from_crawler(crawler)
    with caplog.at_level(logging.WARNING), pytest.raises(DropItem, match=f"^missing {field}$"):
        pipeline.process_item(ArticleItem(**article("818242", **{field: empty})))
    assert stat(crawler, f"newscrawl/dropped/missing_{field}") == 1
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    expected_url = "?" if field == "url" else "https://www.tabnak.ir/fa/news/818242"
    assert caplog.records[0].getMessage() == f"dropped {expected_url}: missing {field}"


def test_validate_drops_item_without_the_key_at_all(crawler):
    item = article()
    del item["title"]
    with pytest.raises(DropItem, match="missing title"):
        ValidatePipeline(crawler).process_item(item)
    assert stat(crawler, "newscrawl/dropped/missing_title") == 1


@pytest.mark.parametrize("code", ["۸۱۸۲۴۲", "818-242", "abc", 818242])
def test_validate_drops_news_code_that_is_not_ascii_digits(crawler, code):
    with pytest.raises(DropItem, match="bad news_code"):
        ValidatePipeline(crawler).process_item(article(news_code=code))
    assert stat(crawler, "newscrawl/dropped/bad_news_code") == 1


@pytest.mark.parametrize("make", [dict, ArticleItem])
def test_validate_passes_a_good_item_unchanged(crawler, make):
    item = make(**article("818242", kicker=None, images=[]))  # optional fields may be empty
    assert ValidatePipeline(crawler).process_item(item) is item
    assert dict(item) == article("818242")
    assert crawler.stats.get_stats().get("newscrawl/dropped/missing_kicker") is None


# -- DatesPipeline ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [dict, ArticleItem])
def test_dates_from_the_shown_jalali_date(crawler, make):
    item = DatesPipeline(crawler).process_item(make(**article(published_at_meta="2018-07-21T00:20:18+04:30")))
    assert item["published_at"] == "2018-07-21T00:20:00+04:30"
    assert "published_at_meta" not in item
    assert item["published_at_raw"] == "۳۰ تير ۱۳۹۷ - ۰۰:۲۰"  # kept as shown
    assert stat(crawler, "newscrawl/date/meta_mismatch") is None
    assert stat(crawler, "newscrawl/date/from_meta") is None


def test_dates_after_2022_have_no_summer_time(crawler):
    item = DatesPipeline(crawler).process_item(article(published_at_raw="۲۱ تیر ۱۴۰۳ / ۱۸:۰۰"))
    assert item["published_at"] == "2024-07-11T18:00:00+03:30"


def test_dates_unparseable_without_meta(crawler, caplog):
    with caplog.at_level(logging.WARNING):
        item = DatesPipeline(crawler).process_item(article("5", published_at_raw="۳۲ تير ۱۳۹۷ - ۰۰:۲۰"))
    assert item["published_at"] is None and item["published_at_raw"] == "۳۲ تير ۱۳۹۷ - ۰۰:۲۰"
    assert stat(crawler, "newscrawl/date/unparseable") == 1
    assert stat(crawler, "newscrawl/date/from_meta") is None
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "https://www.tabnak.ir/fa/news/5" in caplog.records[0].getMessage()


def test_dates_fall_back_to_utc_meta(crawler):
    item = DatesPipeline(crawler).process_item(
        article(published_at_raw="نامعلوم", published_at_meta="2019-07-12T13:30:56Z"))
    assert item["published_at"] == "2019-07-12T18:00:56+04:30"  # 13:30:56 UTC in Tehran summer time
    assert "published_at_meta" not in item
    assert stat(crawler, "newscrawl/date/from_meta") == 1
    assert stat(crawler, "newscrawl/date/unparseable") == 1


def test_dates_meta_only(crawler):
    item = DatesPipeline(crawler).process_item(
        article(published_at_raw=None, published_at_meta="2024-11-24T08:00:00+0330"))
    assert item["published_at"] == "2024-11-24T08:00:00+03:30"
    assert stat(crawler, "newscrawl/date/from_meta") == 1
    assert stat(crawler, "newscrawl/date/unparseable") is None


def test_dates_nothing_at_all(crawler):
    item = DatesPipeline(crawler).process_item(
        article(published_at="stale", published_at_raw=None, published_at_meta="not a date"))
    assert item["published_at"] is None
    assert stat(crawler, "newscrawl/date/missing") == 1
    assert stat(crawler, "newscrawl/date/from_meta") is None


def test_dates_mismatch_is_counted_but_the_shown_date_wins(crawler, caplog):
    with caplog.at_level(logging.DEBUG, logger="newscrawl.pipelines"):
        item = DatesPipeline(crawler).process_item(article(published_at_meta="2018-07-25T00:00:00+04:30"))
    assert item["published_at"] == "2018-07-21T00:20:00+04:30"
    assert stat(crawler, "newscrawl/date/meta_mismatch") == 1
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


def test_dates_within_an_hour_is_no_mismatch(crawler):
    # 00:20 Tehran = 19:50 UTC the day before; 20:45 UTC is 55 minutes later
    DatesPipeline(crawler).process_item(article(published_at_meta="2018-07-20T20:45:00Z"))
    assert stat(crawler, "newscrawl/date/meta_mismatch") is None


# -- DedupPipeline + StoragePipeline ---------------------------------------------------------------------
def run_store_pipelines(crawler, items):
    """What Scrapy does for one crawl: open (in order), process each item, close (in reverse order)."""
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedup.open_spider()
    storage.open_spider()
    kept = []
    for item in items:
        try:
            kept.append(storage.process_item(dedup.process_item(item))["news_code"])
        except DropItem as exc:
            assert str(exc) == "duplicate"
    storage.close_spider()
    return kept


def test_dedup_within_a_run_and_across_runs(tmp_path, caplog):
    first = make_crawler(tmp_path, batch_size=2)
    with caplog.at_level(logging.INFO, logger="newscrawl.pipelines"):
        kept = run_store_pipelines(first, [article(c) for c in ["1", "2", "1", "3", "2"]])
    assert kept == ["1", "2", "3"]
    assert stat(first, "newscrawl/duplicates") == 2 and stat(first, "newscrawl/stored") == 3
    assert {r.levelname for r in caplog.records} == {"INFO"}  # a duplicate is not a warning
    assert "https://www.tabnak.ir/fa/news/1" in caplog.records[0].getMessage()

    second = make_crawler(tmp_path, batch_size=2)  # a new run: a new crawler and store, the same file
    kept = run_store_pipelines(second, [article(c) for c in ["3", "4", "1", "5"]]
                               + [article("4", site="isna", url="https://www.isna.ir/news/4")])
    assert kept == ["4", "5", "4"]
    assert stat(second, "newscrawl/duplicates") == 2 and stat(second, "newscrawl/stored") == 3
    assert stored_count(tmp_path) == 6 and stored_count(tmp_path, "isna") == 1


def test_storage_writes_the_last_partial_batch_at_close(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=3)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    for code in ["1", "2", "3", "4"]:
        assert storage.process_item(ArticleItem(**article(code))) is not None
    assert stored_count(tmp_path) == 3  # one batch written so far
    storage.close_spider()
    assert stored_count(tmp_path) == 4
    assert stat(crawler, "newscrawl/stored") == 4


def test_a_full_batch_waits_for_the_next_item(tmp_path):
    """The batch is committed only once its last item has left the pipelines (and reached the feed):
    a crash then never leaves an article stored but missing from the JSON Lines file."""
    crawler = make_crawler(tmp_path, batch_size=2)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.process_item(ArticleItem(**article("1")))
    storage.process_item(ArticleItem(**article("2")))
    assert stored_count(tmp_path) == 0
    storage.process_item(ArticleItem(**article("3")))
    assert stored_count(tmp_path) == 2
    storage.close_spider()
    assert stored_count(tmp_path) == 3


def test_storage_alone_upserts_the_same_key(tmp_path):
    """Without DedupPipeline (a refresh crawl) the same article twice stays one row, updated."""
    crawler = make_crawler(tmp_path, batch_size=1)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.process_item(article("1", title="قدیم"))
    storage.process_item(article("1", title="جدید"))
    storage.close_spider()
    store = ArticleStore(db_url(tmp_path)).open()
    assert [(a["news_code"], a["title"]) for a in store.iter_articles()] == [("1", "جدید")]
    store.close()


def test_pipelines_share_one_store_opened_and_closed_once(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=100)
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedup.open_spider()
    engine = dedup.store.engine
    storage.open_spider()
    assert dedup.store is storage.store is store_for(crawler)
    assert storage.store.engine is engine  # the second open() did not reconnect
    storage.process_item(dedup.process_item(article("1")))
    with pytest.raises(DropItem):
        dedup.process_item(article("1"))  # known from the other pipeline's pending batch
    storage.close_spider()
    assert storage.store.engine is None
    crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("x"), reason="finished")  # no-op now
    assert stored_count(tmp_path) == 1


def test_spider_closed_before_close_spider_is_fine(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=100)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.process_item(article("1"))
    crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("x"), reason="finished")
    assert stored_count(tmp_path) == 1  # the signal flushed it
    storage.close_spider()
    assert stored_count(tmp_path) == 1


def test_database_lost_mid_crawl_is_logged_once_per_failure_and_retried(tmp_path, caplog):
    crawler = make_crawler(tmp_path, batch_size=2)
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedup.open_spider()
    storage.open_spider()
    with storage.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE articles RENAME TO articles_away")
    with caplog.at_level(logging.ERROR, logger="newscrawl.pipelines"):
        for code in ["1", "2", "3"]:
            storage.process_item(dedup.process_item(article(code)))  # no exception reaches Scrapy
    assert stat(crawler, "newscrawl/db/errors") == 4  # three failed look-ups, one failed batch write
    assert all("\n" not in r.getMessage() for r in caplog.records)
    assert "2 articles kept pending" in caplog.records[-1].getMessage()
    with storage.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE articles_away RENAME TO articles")
    storage.close_spider()
    assert stored_count(tmp_path) == 3  # the batch that failed and the item after it
    assert stat(crawler, "newscrawl/db/unwritten") is None


# -- inside the real engine ------------------------------------------------------------------------------
SPIDER = '''
import scrapy

class Tabnak(scrapy.Spider):
    name = "tabnak"

    async def start(self):
        for code, raw in [("1", "۳۰ تير ۱۳۹۷ - ۰۰:۲۰"), ("2", "۳۲ تير ۱۳۹۷"), ("1", None), ("", None)]:
            yield {"site": "tabnak", "news_code": code, "url": "https://www.tabnak.ir/fa/news/" + code,
                   "title": "عنوان", "body": "متن", "published_at_raw": raw,
                   "published_at_meta": None, "tags": ["می\u200cگوید"]}
'''


def test_pipelines_in_a_real_crawl_twice(tmp_path):
    """Scrapy calls our spider-less open/process/close methods without deprecation warnings, and a
    second run on the same database drops everything as duplicates."""
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    pipelines = {"newscrawl.pipelines.ValidatePipeline": 100, "newscrawl.pipelines.DatesPipeline": 200,
                 "newscrawl.pipelines.DedupPipeline": 300, "newscrawl.pipelines.StoragePipeline": 400}
    # no project settings: neither NEWSCRAWL_* nor a SCRAPY_SETTINGS_MODULE left by in-process tests
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_"))}
    env["PYTHONPATH"] = str(ROOT)

    def crawl():
        result = subprocess.run(
            [sys.executable, "-W", "always", "-m", "scrapy", "runspider", "spider.py", "-L", "INFO",
             "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}",
             "-s", f"NEWSCRAWL_DATABASE_URL={db_url(tmp_path)}",
             "-s", "TELNETCONSOLE_ENABLED=False", "-s", "REMOTE_CONTROL_ENABLED=False"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stderr

    log = crawl()
    assert "(bot: scrapybot)" in log  # really without the project's settings
    assert "Traceback" not in log and "requires a spider argument" not in log
    assert "Deprecat" not in "\n".join(line for line in log.splitlines() if "newscrawl" in line)
    assert "'newscrawl/stored': 2" in log and "'newscrawl/duplicates': 1" in log
    assert "'newscrawl/dropped/missing_news_code': 1" in log and "'newscrawl/date/unparseable': 1" in log
    assert "Dropped:" not in log  # Scrapy's item dump is DEBUG; ours is one line with the URL
    assert "INFO: duplicate tabnak/1 skipped (https://www.tabnak.ir/fa/news/1)" in log
    assert "WARNING: dropped https://www.tabnak.ir/fa/news/: missing news_code" in log
    store = ArticleStore(db_url(tmp_path)).open()
    assert [(a["news_code"], a["published_at"], a["tags"]) for a in store.iter_articles()] == [
        ("1", "2018-07-21T00:20:00+04:30", ["می\u200cگوید"]), ("2", None, ["می\u200cگوید"])]
    store.close()

    log = crawl()
    assert "'newscrawl/duplicates': 3" in log and "newscrawl/stored" not in log
    assert stored_count(tmp_path) == 2
