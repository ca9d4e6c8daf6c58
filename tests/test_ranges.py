"""newscrawl.db.ranges: when a run may vouch for its archive days, how they are recorded, and when an all-known
listing page may stop a later walk. (Through the real engine: tests/test_resume.py.)"""

import datetime as dt
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine

from newscrawl.db.ranges import (
    RANGE,
    ArchiveWalk,
    Day,
    day_over,
    failed_downloads,
    incomplete,
    listing_keys,
    load,
    record,
    run_complete,
)
from newscrawl.parsing.dates import TEHRAN
from newscrawl.spiders.sites import IsnaSpider, TabnakSpider

CLEAN = {"downloader/response_count": 400, "item_scraped_count": 390, "newscrawl/stored": 390,
         "httperror/response_ignored_count": 3, "newscrawl/dropped/missing_body": 2}
EXC = "downloader/exception_type_count/"


# -- run_complete -------------------------------------------------------------------------------------------
def test_a_clean_finished_run_is_complete_even_with_permanent_answers():
    assert run_complete(CLEAN, "finished")
    assert incomplete(CLEAN, "finished") == []
    assert run_complete({**CLEAN, "newscrawl/db/retries": 3}, "finished")  # retried, then written


def test_a_halt_is_incomplete_whatever_the_finish_reason_says():
    assert incomplete({**CLEAN, "newscrawl/halt/reason": "disk_full"}, "finished") == [
        "newscrawl/halt/reason disk_full"]


@pytest.mark.parametrize("reason", ["shutdown", "closespider_itemcount", "database_unavailable", "disk_full",
                                    "jobdir_in_use", "cancelled"])
def test_any_other_finish_reason_is_incomplete(reason):
    assert not run_complete(CLEAN, reason)
    assert incomplete(CLEAN, reason) == [f"finish reason {reason}"]


@pytest.mark.parametrize("key", ["retry/max_reached", "spider_exceptions/count", "newscrawl/item_errors",
                                 "newscrawl/db/errors", "newscrawl/db/unwritten", "newscrawl/halt/spooled",
                                 "newscrawl/halt/unstored"])
def test_anything_given_up_or_unstored_is_incomplete(key):
    assert not run_complete({**CLEAN, key: 1}, "finished")
    assert incomplete({**CLEAN, key: 2}, "finished") == [f"{key} 2"]


def test_download_exceptions_count_only_when_they_ended_a_request():
    timeout = "twisted.internet.error.TimeoutError"
    retried = {**CLEAN, EXC + timeout: 2, f"retry/reason_count/{timeout}": 2}
    assert failed_downloads(retried) == 0 and run_complete(retried, "finished")
    cancelled = {**CLEAN, EXC + "scrapy.exceptions.DownloadCancelledError": 1}  # never retried
    assert failed_downloads(cancelled) == 1 and not run_complete(cancelled, "finished")
    one_final = {**retried, EXC + timeout: 3}
    assert failed_downloads(one_final) == 1
    robots = {**CLEAN, EXC + "scrapy.exceptions.IgnoreRequest": 4}  # deliberate, not a loss
    assert failed_downloads(robots) == 0 and run_complete(robots, "finished")
    unknown = {**CLEAN, EXC + "no.such.Error": 1}
    assert failed_downloads(unknown) == 1


# -- days and listings ----------------------------------------------------------------------------------------
def test_a_day_is_over_at_tehran_midnight():
    day = dt.date(2024, 10, 22)
    midnight = datetime(2024, 10, 23, tzinfo=TEHRAN)
    assert day_over(day, midnight)
    assert not day_over(day, midnight - dt.timedelta(microseconds=1))
    assert day_over(day, datetime(2024, 10, 22, 20, 30, tzinfo=UTC))  # 00:00 in Tehran (+03:30)
    assert not day_over(day, datetime(2024, 10, 22, 20, 29, tzinfo=UTC))


def test_listing_keys_follow_the_start_urls():
    since, until = dt.date(2019, 7, 10), dt.date(2019, 7, 12)
    assert listing_keys(since, until, per_day=False) == [RANGE]
    assert listing_keys(since, until, per_day=True) == ["1398/04/21", "1398/04/20", "1398/04/19"]
    urls = list(IsnaSpider(since="1398/04/19", until="1398/04/21").archive_urls(since, until))
    assert [u.split("dy=")[1] for u in urls] == ["21&mn=4&yr=1398", "20&mn=4&yr=1398", "19&mn=4&yr=1398"]
    assert len(list(TabnakSpider(since="1398/04/19").archive_urls(since, until))) == 1


# -- the table -------------------------------------------------------------------------------------------------
@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/ranges.sqlite3")
    yield engine
    engine.dispose()


def test_records_round_trip_and_a_later_record_replaces_an_earlier_one(engine):
    start = datetime(2024, 10, 22, 6, tzinfo=UTC)
    assert load(engine, "tabnak", "", ["1403/08/01"]) == {}  # creates the table
    assert record(engine, "tabnak", "", {"1403/07/30": None, "1403/08/01": ["5", "4"]}, "job-1", start) == 2
    days = load(engine, "tabnak", "", ["1403/07/29", "1403/07/30", "1403/08/01"])
    assert days == {"1403/07/30": Day(True, frozenset()), "1403/08/01": Day(False, frozenset({"4", "5"}))}
    record(engine, "tabnak", "", {"1403/08/01": None}, "job-2", start)
    assert load(engine, "tabnak", "", ["1403/08/01"]) == {"1403/08/01": Day(True, frozenset())}
    assert load(engine, "isna", "", ["1403/08/01"]) == {}
    assert record(engine, "tabnak", "", {}, "job-3", start) == 0


def test_a_whole_archive_record_vouches_for_a_service_but_not_the_other_way(engine):
    start = datetime(2024, 10, 22, 6, tzinfo=UTC)
    record(engine, "tabnak", "", {"1403/08/01": ["9"]}, "all", start)
    record(engine, "tabnak", "24", {"1403/08/01": ["7"], "1403/08/02": None}, "s24", start)
    assert load(engine, "tabnak", "24", ["1403/08/01", "1403/08/02"]) == {
        "1403/08/01": Day(False, frozenset({"7", "9"})), "1403/08/02": Day(True, frozenset())}
    assert load(engine, "tabnak", "", ["1403/08/01", "1403/08/02"]) == {"1403/08/01": Day(False, frozenset({"9"}))}


# -- the walk ------------------------------------------------------------------------------------------------------
def walk_for(since, until, per_day=False, book=None):
    walk = ArchiveWalk(get_crawler(TabnakSpider), "tabnak", "", since, until, per_day)
    walk.book = book or {}
    return walk


D1, D2 = dt.date(2018, 7, 20), dt.date(2018, 7, 21)  # 1397/04/29, 1397/04/30


def test_a_listing_may_stop_only_when_every_day_is_recorded():
    walk = walk_for(D1, D2, book={"1397/04/30": Day(True, frozenset())})
    assert not walk.may_stop(RANGE, ())
    walk.book["1397/04/29"] = Day(True, frozenset())
    assert walk.may_stop(RANGE, ())
    assert not walk.may_stop(None, ())  # a page of no known listing (an old queue, a contract check)
    assert not walk.may_stop("1397/04/29", ())


def test_a_day_recorded_before_it_was_over_needs_its_anchor_reached_first():
    walk = walk_for(D2, D2, book={"1397/04/30": Day(False, frozenset({"251", "252"}))})
    passed = walk.page(RANGE, ["400", "399"], (), first=True)
    assert passed == () and not walk.may_stop(RANGE, passed)  # newer than the anchor: holes possible
    passed = walk.page(RANGE, ["253", "252", None], passed)
    assert passed == ("1397/04/30",) and walk.may_stop(RANGE, passed)
    assert walk.page(RANGE, ["100"], passed) == passed  # reached once, reached for the rest of the walk
    assert walk.first_pages == {RANGE: ["400", "399"]}


def test_per_day_listings_stop_day_by_day():
    walk = walk_for(D1, D2, per_day=True, book={"1397/04/29": Day(True, frozenset())})
    assert walk.may_stop("1397/04/29", ())
    assert not walk.may_stop("1397/04/30", ())


@given(recorded=st.sets(st.sampled_from(["1397/04/28", "1397/04/29", "1397/04/30"])),
       closed=st.booleans(), passed=st.sets(st.sampled_from(["1397/04/29", "1397/04/30"])))
def test_may_stop_implies_every_day_vouched_for(recorded, closed, passed):
    walk = walk_for(D1, D2, book={d: Day(closed, frozenset({"1"})) for d in recorded})
    if walk.may_stop(RANGE, passed):
        assert {"1397/04/29", "1397/04/30"} <= recorded
        assert closed or {"1397/04/29", "1397/04/30"} <= passed


def test_completed_days_are_those_of_first_pages_with_links_and_open_days_keep_their_anchor():
    today = datetime.now(TEHRAN).date()
    walk = walk_for(today - dt.timedelta(days=1), today)
    assert walk.completed_days() == {}
    walk.page(RANGE, ["9", "8"], first=True)
    yesterday, now = walk.listings[RANGE][1], walk.listings[RANGE][0]
    assert walk.completed_days() == {now: ["9", "8"], yesterday: None}
    empty = walk_for(today, today)
    empty.page(RANGE, [], first=True)
    assert empty.completed_days() == {}  # an empty first page (or a changed template) vouches for nothing


def test_a_complete_crawl_records_its_days_and_an_incomplete_one_does_not(tmp_path):
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    for reason, stats, expected in (("shutdown", {}, {}), ("finished", {"retry/max_reached": 1}, {}),
                                     ("finished", {}, {"1397/04/29": Day(True, frozenset()),
                                                       "1397/04/30": Day(True, frozenset())})):
        crawler = get_crawler(TabnakSpider, {"NEWSCRAWL_DATABASE_URL": url})
        walk = ArchiveWalk(crawler, "tabnak", "", D1, D2, False)
        for key, value in stats.items():
            crawler.stats.set_value(key, value)
        walk.page(RANGE, ["900400"], first=True)
        walk.spider_closed(None, reason)
        engine = create_engine(url)
        assert load(engine, "tabnak", "", ["1397/04/29", "1397/04/30"]) == expected, reason
        engine.dispose()
