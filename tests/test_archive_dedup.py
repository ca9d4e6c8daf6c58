"""Deduplication across sources (issue 17): one row per article, holding its best copy by THE rule
(newscrawl.db.store.better): a live fetch over an archived capture, the earliest capture among archived
ones; a live row and ties are never replaced.

Unit tests over newscrawl.db.store on SQLite and (marked `postgres`) PostgreSQL, the feed repair with
replacement lines, and end to end through the engine: a live crawl of the test site and a WARC of the same
pages in both orders, and two WARCs captured at different times.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from scrapy.exporters import JsonLinesItemExporter
from sqlalchemy import create_engine, select

from newscrawl.db.store import ArticleStore, articles, better
from newscrawl.exports.feeds import repair

LIVE_AT = "2026-11-25T00:00:00+00:00"
EARLY = "2018-07-22T05:00:00+00:00"
LATE = "2019-03-01T12:00:00+00:00"
LATER = "2021-01-01T00:00:00Z"  # another spelling of UTC: the order is by time, not by text


def article(code="1", source="live", captured_at=LIVE_AT, ref=None, title=None, site="tabnak"):
    return dict(site=site, news_code=code, url=f"https://www.tabnak.ir/fa/news/{code}",
                title=title or f"عنوان {code} از {source}", kicker=None, lead=None, body="متن\u200cها",
                published_at="2018-07-21T00:20:00+04:30", published_at_raw=None, category=[], tags=[],
                images=[], source=None, language="fa", crawled_at=LIVE_AT, fetched_from=source,
                archive_ref=ref if ref or source == "live" else f"a.warc.gz#{len(code) * 100}",
                captured_at=captured_at, provenance={})


def warc(code="1", captured_at=EARLY, **kw):
    return article(code, "warc", captured_at, **kw)


# -- the rule itself --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("new", "old", "expected"), [
    ({"fetched_from": "live"}, {"fetched_from": "warc", "captured_at": EARLY}, True),
    ({"fetched_from": "wayback", "captured_at": EARLY}, {"fetched_from": "live"}, False),
    ({"fetched_from": "live"}, {"fetched_from": "live"}, False),  # a live row is never replaced
    ({"fetched_from": "live"}, {"fetched_from": None}, False),  # a row older than the field was live
    ({"fetched_from": "warc", "captured_at": EARLY}, {"fetched_from": "commoncrawl", "captured_at": LATE}, True),
    ({"fetched_from": "warc", "captured_at": LATE}, {"fetched_from": "warc", "captured_at": EARLY}, False),
    ({"fetched_from": "warc", "captured_at": EARLY}, {"fetched_from": "warc", "captured_at": EARLY}, False),
    ({"fetched_from": "warc", "captured_at": LATE}, {"fetched_from": "warc", "captured_at": LATER}, True),
    ({"fetched_from": "warc", "captured_at": "2021-01-01T03:30:00+03:30"},  # the same instant as LATER
     {"fetched_from": "warc", "captured_at": LATER}, False),
    ({"fetched_from": "warc", "captured_at": None}, {"fetched_from": "warc", "captured_at": LATE}, False),
    ({"fetched_from": "warc", "captured_at": LATE}, {"fetched_from": "warc", "captured_at": None}, True),
])
def test_the_rule(new, old, expected):
    assert better(new, old) is expected


# -- the store ------------------------------------------------------------------------------------------------
def stored(store, code="1"):
    """(fetched_from, archive_ref, title, run_id, replacements) of the one row of `code`."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(articles.c.fetched_from, articles.c.archive_ref, articles.c.title,
                                   articles.c.run_id, articles.c.replacements)
                            .where(articles.c.news_code == code)).all()
    assert len(rows) == 1, rows
    return tuple(rows[0])


def test_live_then_archive_keeps_live(open_store):
    first, second = open_store(run_id="live"), open_store(run_id="backfill")
    assert first.write([first.row(article())]).inserted == {("tabnak", "1")}
    written = second.write([second.row(warc())])
    assert (written.inserted, written.replaced, written.rejected) == (set(), set(), {})
    assert stored(first) == ("live", None, "عنوان 1 از live", "live", None)
    assert second.outranked(warc()) and second.outranked(article())


def test_archive_then_live_is_replaced_by_live(open_store):
    first, second = open_store(run_id="backfill"), open_store(run_id="live")
    first.write([first.row(warc(ref="x.warc#5"))])
    assert not second.outranked(article())
    written = second.write([second.row(article())])
    assert (written.inserted, written.replaced) == (set(), {("tabnak", "1")})
    assert stored(first) == ("live", None, "عنوان 1 از live", "live", 1)
    assert second.run_keys("live") == {("tabnak", "1")} and second.run_keys("backfill") == set()
    assert second.run_replaced("live") == {("tabnak", "1")}
    assert first.count() == 1


def test_two_archives_keep_the_earliest_capture_in_either_order(open_store):
    store = open_store(run_id="r")
    store.write([store.row(warc("1", LATE, ref="late.warc#1"))])
    assert store.write([store.row(warc("1", EARLY, ref="early.warc#9"))]).replaced == {("tabnak", "1")}
    store.write([store.row(warc("2", EARLY, ref="early.warc#9"))])
    assert store.write([store.row(warc("2", LATE, ref="late.warc#1"))]).stored == set()
    assert store.write([store.row(warc("2", EARLY, ref="copy.warc#3"))]).stored == set()  # a tie: first stays
    assert stored(store, "1")[:2] == ("warc", "early.warc#9") and stored(store, "1")[4] == 1
    assert stored(store, "2")[:2] == ("warc", "early.warc#9") and stored(store, "2")[4] is None
    # live beats both, and then nothing replaces it
    assert store.write([store.row(article("1"))]).replaced == {("tabnak", "1")}
    assert store.write([store.row(warc("1", "2001-01-01T00:00:00+00:00"))]).stored == set()
    assert stored(store, "1")[0] == "live" and stored(store, "1")[4] == 2


def test_several_copies_in_one_batch_keep_the_best(open_store):
    store = open_store(batch_size=100)
    for row in (warc("1", LATE), article("1"), warc("1", EARLY), warc("2", LATER), warc("2", LATE),
                warc("2", EARLY, ref="b.warc#2"), warc("2", EARLY, ref="c.warc#3")):
        store.add(row)
    assert len(store.pending) == 2
    assert store.flush() == 2
    assert stored(store, "1")[0] == "live"
    assert stored(store, "2")[:2] == ("warc", "b.warc#2")  # of two equal captures, the first
    rows = [store.row(warc("3", LATE)), store.row(warc("3", EARLY, ref="e.warc#1"))]
    assert store.write(rows).inserted == {("tabnak", "3")}  # reduced before the INSERT (PostgreSQL refuses
    assert stored(store, "3")[1] == "e.warc#1"  # one statement touching a row twice)


def test_known_codes_say_what_a_copy_would_not_replace(open_store):
    store = open_store(batch_size=100)
    store.write([store.row(r) for r in (article("1"), warc("2", EARLY), warc("3", LATE))])
    store.add(warc("4", LATE))  # pending
    codes = ["1", "2", "3", "4", "5"]
    assert store.known_codes("tabnak", codes) == {"1"}  # a live fetch replaces every archived copy
    assert store.known_codes("tabnak", codes, than=None) == {"1", "2", "3", "4"}
    capture = {"fetched_from": "warc", "captured_at": "2018-12-01T00:00:00+00:00"}
    assert store.known_codes("tabnak", codes, than=capture) == {"1", "2"}  # 3 and 4 were captured later
    assert store.known_codes("tabnak", codes, than={"fetched_from": "warc", "captured_at": LATE}) == \
        {"1", "2", "3", "4"}
    assert store.is_known("tabnak", "3") and not store.is_known("tabnak", "5")
    copies = store.stored_copies("tabnak", codes)
    assert {code: copy["fetched_from"] for code, copy in copies.items()} == \
        {"1": "live", "2": "warc", "3": "warc", "4": "warc"}
    assert not better({"fetched_from": "warc", "captured_at": LATE}, copies["2"])
    assert better({"fetched_from": "warc", "captured_at": EARLY}, copies["3"])


def test_a_lost_commit_answer_is_still_counted_as_a_replacement(open_store):
    """The retry of a write whose COMMIT went through finds the row with this run's id and stamp: its
    own replacement, not another copy's."""
    from sqlite3 import OperationalError as SQLiteError

    from sqlalchemy.exc import OperationalError

    store = open_store(run_id="mine", retry_seconds=5)
    store.write([store.row(warc("1", LATE)), store.row(warc("2", EARLY))])
    real = store.engine

    class CommitThenFail:
        failed = False

        @contextmanager
        def begin(self):
            with real.begin() as conn:
                yield conn
            if not CommitThenFail.failed:
                CommitThenFail.failed = True
                raise OperationalError("COMMIT", {}, SQLiteError("database is locked"))

        def __getattr__(self, name):
            return getattr(real, name)

    store.engine = CommitThenFail()
    written = store.write([store.row(warc("1", EARLY)), store.row(warc("2", LATE)), store.row(warc("3"))])
    store.engine = real
    assert CommitThenFail.failed
    assert (written.inserted, written.replaced) == ({("tabnak", "3")}, {("tabnak", "1")})
    assert not store.uncertain


def test_a_fleet_racing_on_the_same_articles_stores_each_once_and_the_best_wins(open_store):
    """Four writers, each with another copy of the same 60 articles, all at once: one row per article,
    the live copy where there is one, else the earliest capture."""
    copies = {
        "live": [article(str(c)) for c in range(0, 60, 3)],
        "early": [warc(str(c), EARLY, ref="early.warc#1") for c in range(60)],
        "late": [warc(str(c), LATE, ref="late.warc#1") for c in range(60)],
        "later": [warc(str(c), LATER, ref="later.warc#1") for c in range(60)],
    }
    stores = {name: open_store(run_id=name, retry_seconds=30) for name in copies}
    start = threading.Barrier(len(stores))
    errors = []

    def run(name):
        store = stores[name]
        start.wait()
        try:
            for i in range(0, 60, 10):
                store.write([store.row(r) for r in copies[name][i:i + 10]])
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = stores["live"]
    assert store.count() == 60
    with store.engine.connect() as conn:
        rows = dict(conn.execute(select(articles.c.news_code, articles.c.run_id)).all())
    assert {code for code, run in rows.items() if run == "live"} == {str(c) for c in range(0, 60, 3)}
    assert {code for code, run in rows.items() if run == "early"} == {str(c) for c in range(60) if c % 3}


# -- the pipelines -------------------------------------------------------------------------------------------
def test_copies_meeting_in_the_pipelines_batch_keep_the_best(tmp_path):
    """Copies of one article arriving together (concurrent items of one crawl): the dedup pipeline drops
    one the waiting copy outranks, the storage batch keeps the better of two; one row, one item out."""
    import asyncio

    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from newscrawl.pipelines.store import DedupPipeline, StoragePipeline

    crawler = get_crawler(settings_dict={
        "NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3", "NEWSCRAWL_DB_BATCH_SIZE": 100,
        "NEWSCRAWL_DB_FLUSH_SECONDS": 60, "NEWSCRAWL_DATA_DIR": str(tmp_path / "data")})
    dedup, storage = DedupPipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    out, dropped = [], []

    async def one(item):
        try:
            out.append(await storage.process_item(dedup.process_item(item)))
        except DropItem:
            dropped.append((item["news_code"], item["fetched_from"], item["captured_at"]))

    async def go():
        dedup.open_spider()
        storage.open_spider()
        tasks = []
        for item in (warc("1", LATE), warc("1", LATER), warc("1", EARLY), warc("2", EARLY), article("2"),
                     warc("2", LATE)):
            tasks.append(asyncio.ensure_future(one(item)))
            await asyncio.sleep(0)
        await storage.close_spider()
        await asyncio.gather(*tasks)

    asyncio.run(go())
    assert sorted((i["news_code"], i["fetched_from"], i["captured_at"]) for i in out) == \
        [("1", "warc", EARLY), ("2", "live", LIVE_AT)]
    assert sorted(dropped) == [("1", "warc", LATE), ("1", "warc", LATER), ("2", "warc", EARLY), ("2", "warc", LATE)]
    stats = crawler.stats.get_stats()
    # LATER and 2's last capture: outranked by the waiting copy (kept); LATE and 2's EARLY: superseded
    assert (stats["newscrawl/dedup/kept"], stats["newscrawl/dedup/superseded"], stats["newscrawl/stored"]) == (2, 2, 2)
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open()
    assert stored(store, "1")[:2] == ("warc", "a.warc.gz#100") and stored(store, "2")[0] == "live"
    store.close()


# -- the feed repair ----------------------------------------------------------------------------------------
def line(item) -> bytes:
    return (json.dumps(item, ensure_ascii=False) + "\n").encode()


def test_repair_keeps_replacement_lines_and_adds_a_lost_one(tmp_path):
    """A killed run's file: 1's later capture then its earlier one (a replacement: both kept), 2's
    capture twice (the repeat is cut), 3 replaced in the database but its line lost (appended)."""
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3", run_id="dead").open()
    for rows in ([warc("1", LATE), warc("2", EARLY), warc("3", LATE)], [warc("1", EARLY), warc("3", EARLY)]):
        store.write([store.row(r) for r in rows])
    path = tmp_path / "dead.jsonl"
    path.write_bytes(line(warc("1", LATE)) + line(warc("2", EARLY)) + line(warc("1", EARLY))
                     + line(warc("2", EARLY)) + line(warc("3", LATE)))
    done = repair(path, [{"run_id": "dead", "offset": 0}], store, JsonLinesItemExporter)
    got = [(d["news_code"], d["captured_at"]) for d in map(json.loads, path.read_bytes().splitlines())]
    assert got == [("1", LATE), ("2", EARLY), ("1", EARLY), ("3", LATE), ("3", EARLY)]
    assert (done.cut_lines, done.added_lines) == (1, 1)
    again = repair(path, [{"run_id": "dead", "offset": 0}], store, JsonLinesItemExporter)
    assert (again.cut_lines, again.added_lines, again.cut_bytes) == (0, 0, 0)
    store.close()


def test_repair_cuts_a_line_worse_than_the_one_before_it(tmp_path):
    """Only a better copy is a replacement: a later capture after an earlier one is a repeat."""
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3", run_id="dead").open()
    store.write([store.row(warc("1", EARLY))])
    path = tmp_path / "dead.jsonl"
    path.write_bytes(line(warc("1", EARLY)) + line(warc("1", LATE)))
    assert repair(path, [{"run_id": "dead", "offset": 0}], store, JsonLinesItemExporter).cut_lines == 1
    assert [json.loads(x)["captured_at"] for x in path.read_bytes().splitlines()] == [EARLY]
    store.close()


def feed_lines(folder: Path) -> list[dict]:
    return [json.loads(x) for p in sorted(folder.rglob("*.jsonl")) for x in p.read_text("utf-8").splitlines()]


# -- end to end: the real engine, the local test site and WARC files of its pages -----------------------------
#: the demo's 29 article pages give 28 articles (818245 has no body: dropped by the checks)
ARTICLES = 28
WARC_EARLY, WARC_LATE = "2018-07-22T05:00:00Z", "2019-03-01T12:00:00Z"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from testkit.testsite import running
    from testkit.warcs import demo_records, write_warc
    from tests.conftest import scrapy_env

    folder = tmp_path_factory.mktemp("warcs")
    with running(env=scrapy_env()) as (base, _):
        write_warc(folder / "early.warc.gz", demo_records(base, WARC_EARLY))
        write_warc(folder / "late.warc", demo_records(base, WARC_LATE))
        yield base, folder


def crawl(site, tmp_path, database: str, *sources: str) -> dict:
    """`scrapy crawl tabnak` of the test site (`live`: its 30 ids) or of WARC files (`early`, `late`,
    `late+early`: both in one run); the closing stats."""
    from testkit.devservers import closing_stats
    from tests.conftest import run_scrapy, scrapy_env

    base, folder = site
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_DATABASE_URL=database)
    stats = []
    for source in sources:
        if source == "live":
            args = ["-a", "ids=818230-818259"]
        else:
            files = [folder / ("early.warc.gz" if name == "early" else "late.warc") for name in source.split("+")]
            args = ["-a", "warc=" + ",".join(map(str, files))]
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", *args, "-s", "LOG_LEVEL=INFO", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        stats.append(closing_stats(result.stderr))
    return stats


def db_copies(database: str) -> dict[str, tuple]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(articles.c.news_code, articles.c.fetched_from, articles.c.archive_ref,
                                       articles.c.replacements)).all()
    finally:
        engine.dispose()
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes))
    return {r[0]: (r[1], r[2].split("#")[0] if r[2] else None, r[3]) for r in rows}


def assert_feeds_agree(tmp_path, copies: dict) -> list[dict]:
    """Every stored article has lines, no copy has two, and the best line of each is the database's copy."""
    lines = feed_lines(tmp_path / "data")
    seen: dict[tuple, int] = {}
    best: dict[str, dict] = {}
    for item in lines:
        ident = (item["news_code"], item["fetched_from"], item["archive_ref"], item["captured_at"])
        seen[ident] = seen.get(ident, 0) + 1
        code = item["news_code"]
        if code not in best or better(item, best[code]):
            best[code] = item
    assert [ident for ident, n in seen.items() if n > 1] == []
    assert {code: (item["fetched_from"], item["archive_ref"] and item["archive_ref"].split("#")[0])
            for code, item in best.items()} == {code: copy[:2] for code, copy in copies.items()}
    return lines


@pytest.mark.e2e
def test_live_first_then_both_warcs_keep_the_live_copies(site, tmp_path):
    database = f"sqlite:///{tmp_path}/news.sqlite3"
    live, backfill = crawl(site, tmp_path, database, "live", "late+early")
    assert live["newscrawl/stored"] == ARTICLES
    assert backfill.get("newscrawl/stored", 0) == 0 and backfill.get("newscrawl/dedup/replaced", 0) == 0
    # each of the 56 copies skipped before download (incremental) or dropped by the dedup pipeline
    assert sum(backfill.get(f"newscrawl/{name}", 0) for name in
               ("incremental/skipped", "dedup/kept", "dedup/superseded")) == 2 * ARTICLES, backfill
    copies = db_copies(database)
    assert set(copies.values()) == {("live", None, None)} and len(copies) == ARTICLES
    assert len(assert_feeds_agree(tmp_path, copies)) == ARTICLES


@pytest.mark.e2e
def test_warcs_then_live_end_with_the_earliest_capture_then_the_live_copy(site, tmp_path):
    database = f"sqlite:///{tmp_path}/news.sqlite3"
    late, early = crawl(site, tmp_path, database, "late", "early")
    assert (late["newscrawl/stored"], early["newscrawl/stored"], early["newscrawl/dedup/replaced"]) == \
        (ARTICLES, ARTICLES, ARTICLES)
    copies = db_copies(database)
    assert set(copies.values()) == {("warc", "early.warc.gz", 1)} and len(copies) == ARTICLES
    assert len(assert_feeds_agree(tmp_path, copies)) == 2 * ARTICLES
    (live,) = crawl(site, tmp_path, database, "live")
    assert (live["newscrawl/stored"], live["newscrawl/dedup/replaced"]) == (ARTICLES, ARTICLES)
    copies = db_copies(database)
    assert set(copies.values()) == {("live", None, 2)} and len(copies) == ARTICLES
    assert len(assert_feeds_agree(tmp_path, copies)) == 3 * ARTICLES


@pytest.mark.e2e
def test_two_warcs_in_one_run_store_each_article_once_as_its_earliest_capture(site, tmp_path, db_url):
    (both,) = crawl(site, tmp_path, db_url, "late+early")
    copies = db_copies(db_url)
    assert {copy[:2] for copy in copies.values()} == {("warc", "early.warc.gz")} and len(copies) == ARTICLES
    lines = assert_feeds_agree(tmp_path, copies)
    # each article: its late copy's line, then its early one's (a replacement), unless both met in one batch
    assert len(lines) == both["newscrawl/stored"] == ARTICLES + both.get("newscrawl/dedup/replaced", 0)
    assert both.get("newscrawl/dedup/superseded", 0) + both.get("newscrawl/dedup/replaced", 0) == ARTICLES
