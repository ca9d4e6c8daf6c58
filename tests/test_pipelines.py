"""The item pipelines on a real crawler (stats, settings, signals) and real SQLite files.

Most tests call the pipeline methods directly, as Scrapy's pipeline manager does; the last one runs
them inside the real engine (`scrapy runspider` in a subprocess) to prove the wiring.
"""

import asyncio
import errno
import fcntl
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy import Spider, signals
from scrapy.exceptions import DropItem
from scrapy.exporters import JsonLinesItemExporter
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from newscrawl.db.store import ArticleStore, Selection, run_id_for, selected, store_for
from newscrawl.exports.feeds import FeedWriteError, SafeFileFeedStorage, repair_folder, write_marker
from newscrawl.extensions.halt import halt_for
from newscrawl.items import FIELDS, ArticleItem
from newscrawl.pages.finish import publication_date
from newscrawl.pipelines.checks import ValidatePipeline
from newscrawl.pipelines.store import DedupPipeline, StoragePipeline
from newscrawl.spidermiddlewares import spool
from newscrawl.spidermiddlewares.spool import replay_items

ROOT = Path(__file__).resolve().parents[1]
ZWNJ = "\u200c"


def article(code="1", **fields):
    base = dict(site="tabnak", news_code=code, url=f"https://www.tabnak.ir/fa/news/{code}",
                title=f"رئیس{ZWNJ}جمهور {code}", kicker=None, lead="لید", body="متن اول\n\nمتن دوم",
                published_at=None, published_at_raw="۳۰ تير ۱۳۹۷ - ۰۰:۲۰",
                category=["سیاسی"], tags=[f"می{ZWNJ}گوید"], images=[], source="مهر", language="fa",
                crawled_at="2026-11-25T00:00:00+00:00", fetched_from="live", archive_ref=None,
                captured_at="2026-11-25T00:00:00+00:00", provenance={}, story_id=None,
                copy_of=None)
    base.update(fields)
    return base


def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/news.sqlite3"


def make_crawler(tmp_path, batch_size=2, flush_seconds=0.01, **settings):
    settings = {"NEWSCRAWL_DATABASE_URL": db_url(tmp_path), "NEWSCRAWL_DB_BATCH_SIZE": batch_size,
                "NEWSCRAWL_DB_FLUSH_SECONDS": flush_seconds, "NEWSCRAWL_DB_RETRY_SECONDS": 0.2,
                "NEWSCRAWL_DATA_DIR": str(tmp_path / "data"),
                "ITEM_PIPELINES": {"newscrawl.pipelines.store.StoragePipeline": 400}, **settings}
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider("tabnak")
    return crawler


@pytest.fixture
def crawler(tmp_path):
    return make_crawler(tmp_path)


def stat(crawler, key):
    return crawler.stats.get_value(key)


def stored_codes(tmp_path) -> set[str]:
    """The news codes committed so far, seen from a connection of its own."""
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT news_code FROM articles")}


def run_ids(tmp_path) -> dict:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        return dict(db.execute("SELECT run_id, count(*) FROM articles GROUP BY run_id"))


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


@pytest.mark.parametrize("code", ["۸۱۸۲۴۲", "818 242", "../abc", "x" * 33, 818242])
def test_validate_drops_news_code_that_is_no_site_id(crawler, code):
    with pytest.raises(DropItem, match="bad news_code"):
        ValidatePipeline(crawler).process_item(article(news_code=code))
    assert stat(crawler, "newscrawl/dropped/bad_news_code") == 1


@pytest.mark.parametrize("make", [dict, ArticleItem])
def test_validate_passes_a_good_item_unchanged(crawler, make):
    item = make(**article("818242", kicker=None, images=[]))  # optional fields may be empty
    assert ValidatePipeline(crawler).process_item(item) is item
    assert dict(item) == article("818242")
    assert crawler.stats.get_stats().get("newscrawl/dropped/missing_kicker") is None


# -- the publication date (newscrawl.pages.finish.publication_date, which every article page uses) ------------
RAW = "۳۰ تير ۱۳۹۷ - ۰۰:۲۰"
URL = "https://www.tabnak.ir/fa/news/5"


def dated(raw, machine):
    """(published_at, the notes' stats, their log levels)."""
    notes = []
    value = publication_date(raw, machine, URL, lambda stat, level, *message: notes.append((stat, level, message)))
    return value, [n[0] for n in notes], [n[1] for n in notes]


def test_dates_from_the_shown_jalali_date():
    assert dated(RAW, "2018-07-21T00:20:18+04:30") == ("2018-07-21T00:20:00+04:30", [], [])


def test_dates_after_2022_have_no_summer_time():
    assert dated("۲۱ تیر ۱۴۰۳ / ۱۸:۰۰", None)[0] == "2024-07-11T18:00:00+03:30"


def test_dates_unparseable_without_meta():
    value, stats, levels = dated("۳۲ تير ۱۳۹۷ - ۰۰:۲۰", None)
    assert (value, stats, levels) == (None, ["date/unparseable"], [logging.WARNING])


def test_dates_fall_back_to_utc_meta():
    value, stats, _ = dated("نامعلوم", "2019-07-12T13:30:56Z")
    assert value == "2019-07-12T18:00:56+04:30"  # 13:30:56 UTC in Tehran summer time
    assert stats == ["date/unparseable", "date/from_meta"]


def test_dates_meta_only():
    assert dated(None, "2024-11-24T08:00:00+0330")[:2] == ("2024-11-24T08:00:00+03:30", ["date/from_meta"])


def test_dates_nothing_at_all():
    assert dated(None, "not a date")[:2] == (None, ["date/missing"])


def test_dates_mismatch_is_counted_but_the_shown_date_wins():
    assert dated(RAW, "2018-07-25T00:00:00+04:30") == ("2018-07-21T00:20:00+04:30", ["date/meta_mismatch"],
                                                      [logging.DEBUG])


def test_dates_within_an_hour_is_no_mismatch():
    # 00:20 Tehran = 19:50 UTC the day before; 20:45 UTC is 55 minutes later
    assert dated(RAW, "2018-07-20T20:45:00Z")[1] == []


def test_the_shown_date_is_read_without_markup():
    """As it is stored: SanitizePipeline strips markup from published_at_raw."""
    assert dated("<b>۳۰ تير ۱۳۹۷ - ۰۰:۲۰</b>", None)[0] == "2018-07-21T00:20:00+04:30"


# -- DedupPipeline + StoragePipeline ---------------------------------------------------------------------
def run(coro):
    return asyncio.run(coro)


async def through(crawler, items, dedup=True):
    """What Scrapy does for one crawl, one item after the other: open, process, close. Returns the
    news codes that came out (that is, went on to the feeds)."""
    check, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    check.open_spider()
    storage.open_spider()
    kept = []
    for item in items:
        try:
            kept.append((await storage.process_item(check.process_item(item) if dedup else item))["news_code"])
        except DropItem as exc:
            assert str(exc) == "duplicate"
    await storage.close_spider()
    return kept


def test_dedup_within_a_run_and_across_runs(tmp_path, caplog):
    first = make_crawler(tmp_path, batch_size=2)
    with caplog.at_level(logging.INFO, logger="newscrawl.pipelines"):
        kept = run(through(first, [article(c) for c in ["1", "2", "1", "3", "2"]]))
    assert kept == ["1", "2", "3"]
    assert stat(first, "newscrawl/duplicates") == 2 and stat(first, "newscrawl/stored") == 3
    assert {r.levelname for r in caplog.records} == {"INFO"}  # a duplicate is not a warning
    assert "https://www.tabnak.ir/fa/news/1" in caplog.records[0].getMessage()

    second = make_crawler(tmp_path, batch_size=2)  # a new run: a new crawler and store, the same file
    kept = run(through(second, [article(c) for c in ["3", "4", "1", "5"]]
                       + [article("4", site="isna", url="https://www.isna.ir/news/4")]))
    assert kept == ["4", "5", "4"]
    assert stat(second, "newscrawl/duplicates") == 2 and stat(second, "newscrawl/stored") == 3
    assert stored_count(tmp_path) == 6 and stored_count(tmp_path, "isna") == 1
    assert run_ids(tmp_path) == {run_id_for(first): 3, run_id_for(second): 3}


def test_an_item_goes_on_only_once_its_row_is_committed(tmp_path):
    """Write after commit: whenever process_item returns, its row is already in the database, whether
    its batch was written because it was full, by the timer, or at close."""
    crawler = make_crawler(tmp_path, batch_size=3, flush_seconds=60)
    storage = StoragePipeline.from_crawler(crawler)
    seen_in_db = {}

    async def one(code):
        item = await storage.process_item(ArticleItem(**article(code)))
        seen_in_db[code] = stored_codes(tmp_path)
        return item

    async def go():
        storage.open_spider()
        tasks = [asyncio.ensure_future(one(c)) for c in ["1", "2", "3", "4"]]
        done, waiting = await asyncio.wait(tasks, timeout=5)
        assert len(done) == 3 and stored_codes(tmp_path) == {"1", "2", "3"}  # one full batch
        assert not tasks[3].done()  # the fourth waits for its batch: the timer is a minute away
        await storage.close_spider()  # writes the last batch
        await asyncio.gather(*tasks)

    run(go())
    assert all(code in committed for code, committed in seen_in_db.items())
    assert stat(crawler, "newscrawl/stored") == 4


def test_a_small_batch_is_written_by_the_timer(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=100, flush_seconds=0.05)
    storage = StoragePipeline.from_crawler(crawler)

    async def go():
        storage.open_spider()
        item = await asyncio.wait_for(storage.process_item(article("1")), timeout=5)  # no close needed
        assert item["news_code"] == "1" and stored_codes(tmp_path) == {"1"}
        await storage.close_spider()

    run(go())


def test_a_batch_grows_while_the_previous_one_is_written(tmp_path):
    """Group commit: articles arriving while a batch is written go together in the next one."""
    crawler = make_crawler(tmp_path, batch_size=100, flush_seconds=0)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    real_write, sizes, release = storage.store.write, [], threading.Event()

    def held_write(rows):
        sizes.append(len(rows))
        assert release.wait(timeout=30)
        return real_write(rows)

    storage.store.write = held_write

    async def go():
        first = asyncio.ensure_future(storage.process_item(article("1")))
        while not sizes:  # the first batch (one article) is being written, and held there
            await asyncio.sleep(0.01)
        rest = []
        for code in ["2", "3", "4", "5"]:  # one at a time, each with its own timer that fires
            rest.append(asyncio.ensure_future(storage.process_item(article(code))))
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(first, *rest)
        await storage.close_spider()

    run(go())
    assert sizes == [1, 4] and stored_codes(tmp_path) == {"1", "2", "3", "4", "5"}


def test_storage_alone_keeps_the_first_article(tmp_path):
    """Without DedupPipeline the same article twice is one row, the first; the second makes no feed line,
    whether it comes after the first's commit or while the first is still waiting for it."""
    crawler = make_crawler(tmp_path, batch_size=10, flush_seconds=0.05)
    assert run(through(crawler, [article("1", title="قدیم"), article("1", title="جدید")], dedup=False)) == ["1"]
    storage = StoragePipeline.from_crawler(crawler)

    async def together():
        storage.open_spider()
        results = await asyncio.gather(storage.process_item(article("2", title="اول")),
                                       storage.process_item(article("2", title="دوم")), return_exceptions=True)
        await storage.close_spider()
        return results

    first, second = run(together())
    assert first["title"] == "اول" and isinstance(second, DropItem)
    store = ArticleStore(db_url(tmp_path)).open()
    assert sorted((a["news_code"], a["title"]) for a in selected(store.engine, Selection())) == [
        ("1", "قدیم"), ("2", "اول")]
    store.close()
    assert stat(crawler, "newscrawl/stored") == 2 and stat(crawler, "newscrawl/duplicates") == 2


def test_an_article_another_process_stored_first_is_a_duplicate(tmp_path):
    """Two crawls into one database: the one whose insert loses makes no feed line for the article."""
    other = ArticleStore(db_url(tmp_path), run_id="other-crawl").open()
    other.add(article("2", title="از دیگری"))
    other.close()
    crawler = make_crawler(tmp_path)
    # no DedupPipeline: as when the other crawl commits between our look-up and our insert
    assert run(through(crawler, [article(c) for c in ["1", "2", "3"]], dedup=False)) == ["1", "3"]
    assert stat(crawler, "newscrawl/stored") == 2 and stat(crawler, "newscrawl/duplicates") == 1
    assert run_ids(tmp_path) == {"other-crawl": 1, run_id_for(crawler): 2}


def test_pipelines_share_one_store_opened_and_closed_once(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=100, flush_seconds=60)
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedup.open_spider()
    engine = dedup.store.engine
    storage.open_spider()
    assert dedup.store is storage.store is store_for(crawler)
    assert storage.store.engine is engine  # the second open() did not reconnect

    async def go():
        task = asyncio.ensure_future(storage.process_item(dedup.process_item(article("1"))))
        await asyncio.sleep(0)
        with pytest.raises(DropItem):
            dedup.process_item(article("1"))  # known from the other pipeline's waiting batch
        await storage.close_spider()
        await task

    run(go())
    assert storage.store.engine is None
    crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("x"), reason="finished")  # no-op now
    assert stored_count(tmp_path) == 1


def test_spider_closed_before_close_spider_is_fine(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=100)
    storage = StoragePipeline.from_crawler(crawler)

    async def go():
        storage.open_spider()
        await storage.process_item(article("1"))
        crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("x"), reason="finished")
        await storage.close_spider()

    run(go())
    assert stored_count(tmp_path) == 1


# -- outages and full disks ---------------------------------------------------------------------------------
def spooled(crawler):
    path = spool.spool_path(crawler, "tabnak")
    return [json.loads(line)["news_code"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_database_lost_mid_crawl_stops_and_spools_everything(tmp_path, caplog):
    crawler = make_crawler(tmp_path, batch_size=2)
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedup.open_spider()
    storage.open_spider()
    with storage.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE articles RENAME TO articles_away")

    async def go():
        out = []
        for code in ["1", "2", "3"]:
            try:
                out.append(await storage.process_item(dedup.process_item(article(code))))
            except DropItem as exc:  # no other exception reaches Scrapy
                out.append(str(exc))
        await storage.close_spider()
        return out

    with caplog.at_level(logging.WARNING):
        out = run(go())
        crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("tabnak"), reason="database_unavailable")
    assert out == ["not stored: database_unavailable"] * 3
    assert halt_for(crawler).reason == "database_unavailable"
    assert spooled(crawler) == ["1", "2", "3"]  # nothing lost: every article waits in the spool
    assert stat(crawler, "newscrawl/halt/spooled") == 3 and stat(crawler, "newscrawl/stored") is None
    # (the spider_closed signal of a crawl that never started upsets Scrapy's CoreStats: not ours)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name.startswith("newscrawl")]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("crawl stopped (database_unavailable): cannot read sqlite:///")
    assert "no such table: articles" in errors[0] and "3 articles kept in " in errors[0]

    engine = create_engine(db_url(tmp_path))  # the database is back; the next run replays the spool
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE articles_away RENAME TO articles")
    engine.dispose()
    second = make_crawler(tmp_path)
    replayed = list(replay_items(second))
    assert [i["news_code"] for i in replayed] == ["1", "2", "3"] and replayed[0] == article("1")
    assert run(through(second, replayed)) == ["1", "2", "3"]
    second.signals.send_catch_log(signals.spider_closed, spider=Spider("tabnak"), reason="finished")
    assert stored_codes(tmp_path) == {"1", "2", "3"}
    assert list((tmp_path / "data" / "spool").iterdir()) == []  # a clean close removes what it replayed


def test_a_long_outage_stops_after_the_retry_window(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=2, NEWSCRAWL_DB_RETRY_SECONDS=0.2)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.store.engine = Down(storage.store.engine,
                                OperationalError("x", {}, psycopg.OperationalError("connection refused")))

    async def go():
        results = await asyncio.gather(*(storage.process_item(article(c)) for c in ["1", "2", "3"]),
                                       return_exceptions=True)
        late = await asyncio.gather(storage.process_item(article("4")), return_exceptions=True)
        await storage.close_spider()
        return results + late

    results = run(go())
    assert [str(r) for r in results] == ["not stored: database_unavailable"] * 4
    assert "still failing after 0.2 s" in halt_for(crawler).detail
    assert sorted(spooled(crawler)) == ["1", "2", "3", "4"]  # the late one too
    assert stat(crawler, "newscrawl/db/retries") >= 2


def test_a_full_disk_stops_at_once(tmp_path):
    crawler = make_crawler(tmp_path, batch_size=1, NEWSCRAWL_DB_RETRY_SECONDS=30)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    down = storage.store.engine = Down(storage.store.engine,
                                       OperationalError("x", {}, sqlite3.OperationalError("database or disk is full")))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "spool").write_text("not a folder")  # and the spool cannot be written either

    async def go():
        results = await asyncio.gather(storage.process_item(article("1")), return_exceptions=True)
        await storage.close_spider()
        return results

    results = run(go())
    assert down.calls == 1  # not retried for the 30 s window
    assert [str(r) for r in results] == ["not stored: disk_full"]
    halt = halt_for(crawler)
    assert halt.reason == "disk_full"
    assert halt.counts == {"unstored": 1}
    assert "1 articles not stored, crawled again by the next run" in halt.summary()
    assert "cannot be written" in halt.summary()


class Down:
    """An engine that always fails with `error`."""

    def __init__(self, engine, error):
        self._engine, self.error, self.calls = engine, error, 0

    def begin(self):
        self.calls += 1
        raise self.error

    connect = begin

    def __getattr__(self, name):
        return getattr(self._engine, name)


# -- the spool ------------------------------------------------------------------------------------------------
def test_spool_round_trip_keeps_items_exactly(tmp_path):
    path = tmp_path / "spool" / "tabnak.spool"
    items = [ArticleItem(**{k: v for k, v in article(c).items() if k != "published_at_meta"}) for c in "12"]
    assert spool.append(path, items) == 2
    assert spool.append(path, [article("3")]) == 1
    with open(path, "ab") as fh:
        fh.write(b'{"site": "tabnak", "news_co')  # a line cut by a kill
    back = list(spool.read(path))
    assert [i["news_code"] for i in back] == ["1", "2", "3"]
    assert back[0] == dict(items[0]) and back[0]["title"] == f"رئیس{ZWNJ}جمهور 1"


def test_spool_is_claimed_by_one_run_and_removed_only_after_a_clean_close(tmp_path):
    folder = tmp_path / "spool"
    spool.append(folder / "tabnak.spool", [article("1")])
    spool.append(folder / "isna.spool", [article("9", site="isna")])
    first = spool.claim(folder, "tabnak", "run-1")
    assert [p.name for p, _ in first] == ["tabnak.run-1.replay"]
    assert spool.claim(folder, "tabnak", "run-2") == []  # held by a live run
    spool.append(folder / "tabnak.spool", [article("2")])  # a failure meanwhile: a new file
    second = spool.claim(folder, "tabnak", "run-2")
    assert [p.name for p, _ in second] == ["tabnak.run-2.replay"]
    for _, fd in first:
        os.close(fd)  # run-1 dies without a clean close: its claim is free again
    third = spool.claim(folder, "tabnak", "run-3")
    assert [p.name for p, _ in third] == ["tabnak.run-1.replay"]
    for _, fd in second + third:
        os.close(fd)
    assert sorted(p.name for p in folder.iterdir()) == [
        "isna.spool", "tabnak.run-1.replay", "tabnak.run-2.replay"]


def test_replay_items_are_removed_on_finished_only(tmp_path):
    crawler = make_crawler(tmp_path)
    path = spool.spool_path(crawler, "tabnak")
    assert path.parent == tmp_path / "data" / "spool" and re.fullmatch(r"tabnak\.[0-9a-f]{8}\.spool", path.name)
    spool.append(path, [article("1")])
    assert [i["news_code"] for i in replay_items(crawler)] == ["1"]
    crawler.signals.send_catch_log(signals.spider_closed, spider=Spider("tabnak"), reason="database_unavailable")
    later = make_crawler(tmp_path)
    assert [i["news_code"] for i in replay_items(later)] == ["1"]  # still there
    later.signals.send_catch_log(signals.spider_closed, spider=Spider("tabnak"), reason="finished")
    assert list((tmp_path / "data" / "spool").iterdir()) == []
    assert stat(later, "newscrawl/spool/replayed") == 1


def test_a_spool_is_replayed_only_into_its_own_database(tmp_path):
    """A test-site crawl (its own database) must never replay its articles into the real one, although
    both use the same data folder."""
    real = make_crawler(tmp_path)
    testsite = make_crawler(tmp_path, NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/testsite.sqlite3")
    spool.append(spool.spool_path(testsite, "tabnak"), [article("1")])
    assert list(replay_items(real)) == []
    assert [i["news_code"] for i in replay_items(testsite)] == ["1"]


# -- the feed: whole lines, markers, repair ------------------------------------------------------------------
FEED_OPTIONS = {"format": "jsonlines", "fields": list(FIELDS), "encoding": "utf-8", "indent": None,
                "overwrite": False}


def feed_item(code, **fields):
    return {k: v for k, v in article(code, **fields).items() if k != "published_at_meta"}


def exported(items) -> bytes:
    """What Scrapy's feed exporter writes for `items` with our settings."""
    buffer = io.BytesIO()
    exporter = JsonLinesItemExporter(buffer, fields_to_export=list(FIELDS), encoding="utf-8")
    for item in items:
        exporter.export_item(item)
    return buffer.getvalue()


def open_feed(crawler, path):
    storage = SafeFileFeedStorage.from_crawler(crawler, str(path), feed_options=dict(FEED_OPTIONS))
    return storage, storage.open(Spider("tabnak"))


def test_feed_marker_lives_while_the_run_writes(tmp_path):
    crawler = make_crawler(tmp_path)
    path = tmp_path / "feed" / "items.jsonl"
    path.parent.mkdir()
    path.write_bytes(exported([feed_item("0")]))
    storage, file = open_feed(crawler, path)
    marker = json.loads(storage.marker.read_text())
    assert storage.marker.name == f"items.jsonl.{run_id_for(crawler)}.open"
    assert marker["run_id"] == run_id_for(crawler) and marker["offset"] == path.stat().st_size
    assert marker["pid"] == os.getpid() and marker["fields"] == list(FIELDS)
    fd = os.open(path, os.O_RDONLY)
    with pytest.raises(BlockingIOError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a repairing process tries
    file.write(exported([feed_item("1")]))
    assert storage.store(file) is None
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
    os.close(fd)
    assert not storage.marker.exists()
    assert path.read_bytes() == exported([feed_item("0"), feed_item("1")])


def short_then_full(after: int, chunk: int = 7):
    """A write() that writes at most `chunk` bytes per call and fails with ENOSPC after `after` calls."""
    calls = []

    def write(fd, data):
        calls.append(1)
        if len(calls) > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, bytes(data[:chunk]))

    return write


def test_a_full_feed_disk_writes_whole_lines_stops_and_fails_store(tmp_path, caplog):
    crawler = make_crawler(tmp_path)
    path = tmp_path / "items.jsonl"
    storage, file = open_feed(crawler, path)
    lines = [exported([feed_item(c)]) for c in "1234"]
    calls_for_two = sum(-(-len(line) // 7) for line in lines[:2])
    file.write_call = short_then_full(after=calls_for_two + 3)  # the third line is cut mid-way
    with caplog.at_level(logging.ERROR):
        for line in lines:
            assert file.write(line) == len(line)  # never an exception: no traceback per item
    assert path.read_bytes() == lines[0] + lines[1]  # whole lines only
    assert halt_for(crawler).reason == "disk_full"
    assert stat(crawler, "newscrawl/feed/unwritten") == 2
    with pytest.raises(FeedWriteError, match=r"items.jsonl: 2 lines written, 2 not \(No space left on device\)"):
        storage.store(file)
    assert storage.marker.exists()  # the next run adds the stored articles' lines
    assert caplog.records == []


def stored_run(tmp_path, run_id, codes, **fields):
    store = ArticleStore(db_url(tmp_path), run_id=run_id).open()
    for code in codes:
        store.add(feed_item(code, **fields))
    store.close()


def test_repair_cuts_what_the_database_lacks_and_adds_what_the_file_lacks(tmp_path):
    """The repair rules, on a file left by a killed run `dead`: before its start offset nothing changes;
    after it a line without a row, a repeated article and a partial line go; lines of rows that exist
    stay (another live writer's, here `other`'s); the run's rows missing from the file are appended
    exactly as the feed exporter writes them."""
    stored_run(tmp_path, "old", ["9"])
    stored_run(tmp_path, "dead", ["1", "2", "3", "4", "5"])
    stored_run(tmp_path, "other", ["6"])
    path = tmp_path / "feed" / "tabnak.jsonl"
    path.parent.mkdir()
    before = exported([feed_item("9")])
    path.write_bytes(before + exported([feed_item(c) for c in ["1", "2", "7", "1", "6", "3"]])
                     + b'{"site": "tabnak", "news_code": "4", "ur')
    write_marker(path.with_name("tabnak.jsonl.dead.open"),
                 {"file": "tabnak.jsonl", "run_id": "dead", "offset": len(before), "pid": 1,
                  "fields": list(FIELDS), "encoding": "utf-8", "indent": None, "db": "elsewhere"})
    crawler = make_crawler(tmp_path)
    store = store_for(crawler).open()
    repair_folder(path.parent, store, JsonLinesItemExporter, crawler.stats)
    assert path.read_bytes() == before + exported([feed_item(c) for c in ["1", "2", "6", "3", "4", "5"]])
    assert list(path.parent.iterdir()) == [path]  # the marker is gone
    assert stat(crawler, "newscrawl/feed/repaired_lines_added") == 2
    store.close()


def test_repair_leaves_files_being_written_and_other_databases_alone(tmp_path):
    stored_run(tmp_path, "dead", ["1"])
    folder = tmp_path / "feed"
    folder.mkdir()
    for name, run in (("busy.jsonl", "dead"), ("foreign.jsonl", "not-in-this-db")):
        (folder / name).write_bytes(b"")
        write_marker(folder / f"{name}.{run}.open", {"file": name, "run_id": run, "offset": 0, "pid": 1,
                                                      "fields": list(FIELDS), "db": "postgresql://elsewhere/db"})
    (folder / "gone.jsonl.dead.open").write_text(json.dumps({"file": "gone.jsonl", "run_id": "dead"}))
    live = os.open(folder / "busy.jsonl", os.O_WRONLY)
    fcntl.flock(live, fcntl.LOCK_SH)  # a live crawl writes it
    crawler = make_crawler(tmp_path)
    store = store_for(crawler).open()
    repair_folder(folder, store, JsonLinesItemExporter)
    assert sorted(p.name for p in folder.iterdir()) == [
        "busy.jsonl", "busy.jsonl.dead.open", "foreign.jsonl", "foreign.jsonl.not-in-this-db.open"]
    assert (folder / "busy.jsonl").read_bytes() == b"" and (folder / "foreign.jsonl").read_bytes() == b""
    os.close(live)  # the crawl is gone: now it is repaired
    repair_folder(folder, store, JsonLinesItemExporter)
    assert (folder / "busy.jsonl").read_bytes() == exported([feed_item("1")])
    assert not (folder / "busy.jsonl.dead.open").exists()
    store.close()


def test_a_feed_opened_after_a_kill_repairs_the_killed_run_first(tmp_path):
    """The whole path: a killed run's file lacks its last committed article; the next run's feed, in the
    same folder, appends it before writing its own lines."""
    stored_run(tmp_path, "killed", ["1", "2"])
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "killed.jsonl").write_bytes(exported([feed_item("1")]) + b'{"site": "tab')
    write_marker(folder / "killed.jsonl.killed.open", {"file": "killed.jsonl", "run_id": "killed", "offset": 0,
                                                        "pid": 1, "fields": list(FIELDS), "encoding": "utf-8"})
    crawler = make_crawler(tmp_path)
    storage, file = open_feed(crawler, folder / "next.jsonl")
    assert (folder / "killed.jsonl").read_bytes() == exported([feed_item("1"), feed_item("2")])
    storage.store(file)
    assert sorted(p.name for p in folder.iterdir()) == ["killed.jsonl", "next.jsonl"]


# -- inside the real engine ------------------------------------------------------------------------------
SPIDER = '''
import scrapy

class Tabnak(scrapy.Spider):
    name = "tabnak"

    async def start(self):
        for code, raw, published in [("1", "۳۰ تير ۱۳۹۷ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),
                                     ("2", "۳۲ تير ۱۳۹۷", None), ("1", None, None), ("", None, None)]:
            yield {"site": "tabnak", "news_code": code, "url": "https://www.tabnak.ir/fa/news/" + code,
                   "title": "عنوان", "body": "متن", "published_at_raw": raw, "published_at": published,
                   "tags": ["می\u200cگوید"]}
'''


def test_pipelines_in_a_real_crawl_twice(tmp_path):
    """Scrapy calls our spider-less open/process/close methods without deprecation warnings, and a
    second run on the same database drops everything as duplicates."""
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    pipelines = {"newscrawl.pipelines.checks.ValidatePipeline": 100,
                 "newscrawl.pipelines.store.DedupPipeline": 300, "newscrawl.pipelines.store.StoragePipeline": 400}
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
    assert "'newscrawl/dropped/missing_news_code': 1" in log
    assert "Dropped:" not in log  # Scrapy's item dump is DEBUG; ours is one line with the URL
    assert "INFO: duplicate tabnak/1 skipped (https://www.tabnak.ir/fa/news/1)" in log
    assert "WARNING: dropped https://www.tabnak.ir/fa/news/: missing news_code" in log
    store = ArticleStore(db_url(tmp_path)).open()
    assert sorted((a["news_code"], a["published_at"], a["tags"]) for a in selected(store.engine, Selection())) == [
        ("1", "2018-07-21T00:20:00+04:30", ["می\u200cگوید"]), ("2", None, ["می\u200cگوید"])]
    store.close()

    log = crawl()
    assert "'newscrawl/duplicates': 3" in log and "newscrawl/stored" not in log
    assert stored_count(tmp_path) == 2


def test_a_listing_look_up_that_fails_stops_the_crawl_instead_of_the_callback(tmp_path):
    """NewsSpider.known_codes (incremental crawling) turns an unavailable database into the crawl's stop
    (CloseSpider, finish reason database_unavailable), not a traceback in a listing callback."""
    from scrapy.exceptions import CloseSpider

    from newscrawl.spiders.sites import TabnakSpider

    crawler = get_crawler(TabnakSpider, {"NEWSCRAWL_DATABASE_URL": db_url(tmp_path)})
    spider = TabnakSpider.from_crawler(crawler)
    crawler.spider = spider
    store = store_for(crawler).open()
    assert spider.known_codes(["1"]) == set()
    store.unavailable = "cannot read sqlite:///news.sqlite3: connection refused (still failing after 60 s of retries)"
    with pytest.raises(CloseSpider) as stop:
        spider.known_codes(["1", "2"])
    assert stop.value.reason == "database_unavailable"
    assert halt_for(crawler).reason == "database_unavailable" and "connection refused" in halt_for(crawler).detail
    store.close()


CODES = [str(c) for c in range(1, 9)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.dictionaries(st.sampled_from(CODES), st.sampled_from(["dead", "other"])),
       before=st.lists(st.sampled_from(CODES), max_size=4),
       after=st.lists(st.one_of(st.sampled_from(CODES), st.just("garbage")), max_size=10),
       partial=st.booleans())
def test_repair_keeps_each_stored_article_once_and_adds_the_dead_runs_missing_ones(rows, before, after, partial):
    """Any file a killed run `dead` can leave (or worse): after the repair, the part before its start is
    untouched, each line after it is an article the database has and the file had not yet, and every
    article `dead` stored is in the file, appended in the order it was stored."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for run in ("dead", "other"):
            stored_run(tmp_path, run, [c for c in CODES if rows.get(c) == run])
        head = exported([feed_item(c) for c in before])
        tail = b"".join(b"{not json\n" if c == "garbage" else exported([feed_item(c)]) for c in after)
        path = tmp_path / "feed" / "f.jsonl"
        path.parent.mkdir()
        path.write_bytes(head + tail + (b'{"site": "tabnak", "news_co' if partial else b""))
        write_marker(path.with_name("f.jsonl.dead.open"), {"file": "f.jsonl", "run_id": "dead", "offset": len(head),
                                                           "fields": list(FIELDS), "encoding": "utf-8"})
        store = ArticleStore(db_url(tmp_path)).open()
        repair_folder(path.parent, store, JsonLinesItemExporter)
        store.close()
        seen, kept = set(before), []
        for code in after:  # the model: what must stay, in order
            if code != "garbage" and code in rows and code not in seen:
                kept.append(code)
                seen.add(code)
        added = [c for c in CODES if rows.get(c) == "dead" and c not in seen]
        assert path.read_bytes() == head + exported([feed_item(c) for c in kept + added])
        assert not path.with_name("f.jsonl.dead.open").exists()
