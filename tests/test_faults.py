"""Reliability through the real Scrapy engine against the local test site (`python -m testkit.testsite`):
incremental re-runs, resuming a SIGKILLed JOBDIR crawl, the hostile listing (testkit.hostile), and the
end-of-crawl monitors. Every crawl is a `scrapy crawl` subprocess; the site is a subprocess too."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from testkit.demo.build import MANIFEST
from testkit.devservers import closing_stats
from testkit.hostile import (
    CASES,
    CP1256_PARAGRAPHS,
    CP1256_TITLE,
    GOOD_IDS,
    INJECTED_TITLE_TEXT,
    SHORT_CP1256_BODY,
    SHORT_CP1256_TITLE,
    TRUNCATED_KEEP,
    UTF8_PARAGRAPHS,
    UTF8_TITLE,
    article,
)
from testkit.testsite import running
from tests.conftest import ROOT, run_scrapy, scrapy_env, stored_count

pytestmark = pytest.mark.faults

GEN_ARTICLES = 400
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-L", "DEBUG")  # DEBUG: "Crawled" lines

@pytest.fixture(scope="module")
def site():
    """The test site as its own process (the demo snapshot, /gen with 400 articles, /hostile, /broken)."""
    with running(GEN_ARTICLES, env=scrapy_env()) as (base, _):
        yield base


def env_for(tmp_path, feed: bool = True) -> dict[str, str]:
    extra = {"NEWSCRAWL_DATA_DIR": str(tmp_path / "data"),
             "NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3"}
    if feed:
        extra["NEWSCRAWL_FEED"] = str(tmp_path / "items.jsonl")
    return scrapy_env(**extra)


def crawl(tmp_path, base: str, *args: str, timeout: int = 50, code: int = 0):
    result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", *args, *FAST,
                        env=env_for(tmp_path), timeout=timeout)
    assert result.returncode == code, result.stderr[-3000:]
    report = json.loads((tmp_path / "data" / "tabnak-stats.json").read_text(encoding="utf-8"))
    return result.stderr, report


def stat(log: str, key: str, default=0):
    """A value from Scrapy's closing stats dump in the log."""
    return closing_stats(log).get(key, default)


def db_codes(tmp_path) -> list[str]:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT news_code FROM articles")]


def jsonl_codes(path) -> list[str]:
    return [json.loads(line)["news_code"] for line in path.read_text(encoding="utf-8").splitlines()]


def article_responses(log: str) -> list[str]:
    return re.findall(r"Crawled \(200\) <GET \S+/fa/news/(\d+)", log)


# -- incremental ------------------------------------------------------------------------------------------
def test_incremental_rerun_of_unchanged_site_downloads_no_articles(site, tmp_path):
    base = site + "/gen"
    first, report = crawl(tmp_path, base, *ARCHIVE)
    assert report["stored"] == GEN_ARTICLES
    second, again = crawl(tmp_path, base, *ARCHIVE)
    assert article_responses(second) == []
    assert stat(second, "downloader/response_count") == 2  # robots.txt and archive page 1, nothing else
    assert stat(second, "newscrawl/incremental/skipped") == 50  # the 50 links of page 1
    assert stat(second, "newscrawl/incremental/archive_stopped") == 1
    assert again["stored"] == 0 and again["known_skipped_before_download"] == 50
    assert len(db_codes(tmp_path)) == GEN_ARTICLES
    # nothing parsed, nothing requested: coverage and item count have nothing to judge, the others pass
    assert again["monitors"]["passed"] is True
    assert {"Field Coverage Monitor/fields are found on enough parsed articles",
            "Extracted Items Monitor/items were stored where items were expected"} <= set(again["monitors"]["skipped"])


def test_incremental_rerun_of_demo_refetches_only_the_unstorable_article(site, tmp_path):
    """The demo has a photo report without a body: it is never stored, so it is the one article page
    a re-run fetches again (and its listing page is therefore not 'all known')."""
    first, report = crawl(tmp_path, site, *ARCHIVE)
    assert report["stored"] == len(MANIFEST["archive_good_ids"])
    assert report["monitors"]["passed"] is True
    second, again = crawl(tmp_path, site, *ARCHIVE)
    assert article_responses(second) == [str(MANIFEST["no_body_id"])]
    assert again["stored"] == 0 and again["dropped"] == {"missing_body": 1}
    # page 1: 12 links, 11 known (818245 twice); page 2: all 12 known → stop
    assert stat(second, "newscrawl/incremental/skipped") == 23
    assert stat(second, "newscrawl/incremental/archive_stopped") == 1
    assert stat(second, "newscrawl/listing/archive_pages") == 2


def test_incremental_rss_rerun_downloads_no_articles(site, tmp_path):
    first, report = crawl(tmp_path, site, "-a", "mode=rss")
    assert sorted(article_responses(first)) == sorted(str(i) for i in MANIFEST["rss_good_ids"])
    second, again = crawl(tmp_path, site, "-a", "mode=rss")
    assert article_responses(second) == []
    assert stat(second, "newscrawl/incremental/skipped") == len(MANIFEST["rss_ids"])
    assert stat(second, "downloader/response_count") == 2  # robots.txt and the feed
    assert again["stored"] == 0


def test_incremental_off_downloads_everything_again(site, tmp_path):
    crawl(tmp_path, site + "/gen", "-a", "mode=ids", "-a", "ids=900001-900010")
    log, report = crawl(tmp_path, site + "/gen", "-a", "mode=ids", "-a", "ids=900001-900010", "-a", "incremental=0")
    assert sorted(article_responses(log)) == [str(900000 + k) for k in range(1, 11)]
    assert report["stored"] == 0 and report["duplicates_skipped"] == 10


# -- resume after SIGKILL -----------------------------------------------------------------------------------
#: Scrapy's documented breadth-first order: the newest archive pages' articles are stored first, so a
#: resumed crawl that stopped at the first all-known page would never reach the older ones
BFS = ("-s", "DEPTH_PRIORITY=1", "-s", "SCHEDULER_DISK_QUEUE=scrapy.squeues.PickleFifoDiskQueue",
       "-s", "SCHEDULER_MEMORY_QUEUE=scrapy.squeues.FifoMemoryQueue")


def _lines(path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("order", ["lifo", "bfs"])
def test_resume_after_sigkill_stores_every_article_once(site, tmp_path, order):
    env = env_for(tmp_path, feed=False)  # the default per-run feed of a test-site crawl, named after JOBDIR
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={site}/gen", *ARCHIVE,
           "-s", f"JOBDIR={tmp_path / 'job'}", "-s", "CONCURRENT_REQUESTS=2", "-s", "NEWSCRAWL_DB_BATCH_SIZE=25",
           "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0.01", "-L", "INFO",
           *(BFS if order == "bfs" else ())]
    db, feed = tmp_path / "news.sqlite3", tmp_path / "data" / "testsite" / "tabnak" / "job.jsonl"
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        # kill about half-way; a feed line follows its commit, so the feed may lag the database, never lead it
        while not stored_count(db) >= GEN_ARTICLES // 2:
            assert first.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, f"no progress: {stored_count(db)} stored"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
        log.close()
    stored_before, lines_before = stored_count(db), _lines(feed)
    assert GEN_ARTICLES // 2 <= stored_before < GEN_ARTICLES and lines_before <= stored_before

    second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=50)
    assert second.returncode == 0, second.stderr[-3000:]
    expected = sorted(str(900000 + k) for k in range(1, GEN_ARTICLES + 1))
    codes = db_codes(tmp_path)
    assert sorted(codes) == expected  # every article, exactly once
    raw = feed.read_bytes()
    assert raw.endswith(b"\n")
    assert sorted(jsonl_codes(feed)) == expected  # each line parses; every article exactly once
    log_text = second.stderr
    # the lines of rows committed just before the kill were added from the database
    assert stat(log_text, "newscrawl/feed/repaired_lines_added") == stored_before - lines_before
    assert stat(log_text, "newscrawl/resumed_after_crash") is True
    assert stat(log_text, "newscrawl/incremental/archive_stopped") == 0  # a resumed crawl walks on
    assert stat(log_text, "newscrawl/stored") == GEN_ARTICLES - stored_before
    print(f"[{order}] killed with {stored_before} stored and {lines_before} feed lines; "
          f"resumed run stored {GEN_ARTICLES - stored_before}; duplicates 0")


# -- the hostile listing --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile(site, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    started = time.monotonic()
    log, report = crawl(tmp_path, site + "/hostile", *ARCHIVE, "-s", "DOWNLOAD_TIMEOUT=4", "-s", "RETRY_TIMES=1")
    items = {i["news_code"]: i for i in map(json.loads, (tmp_path / "items.jsonl").read_text("utf-8").splitlines())}
    return {"log": log, "report": report, "items": items, "db": db_codes(tmp_path),
            "seconds": time.monotonic() - started, "path": tmp_path}


def test_hostile_crawl_finishes_with_every_good_article(hostile):
    assert hostile["report"]["finish_reason"] == "finished"
    good = sorted(str(i) for i in GOOD_IDS)
    assert sorted(hostile["items"]) == good
    assert sorted(hostile["db"]) == good
    assert hostile["report"]["duplicates_skipped"] == 1  # 700003 listed twice
    assert stat(hostile["log"], "spider_exceptions/count") == 0
    assert hostile["seconds"] < 45


def test_hostile_http_failures_are_counted(hostile):
    log = hostile["log"]
    assert stat(log, "httperror/response_ignored_status_count/404") == 1
    assert stat(log, "retry/reason_count/500 Internal Server Error") == 1  # 700011, then stored
    assert stat(log, "retry/reason_count/503 Service Unavailable") == 1  # 700012, given up
    assert stat(log, "httperror/response_ignored_status_count/503") == 1
    exc = "downloader/exception_type_count/scrapy.exceptions."
    assert stat(log, exc + "DownloadTimeoutError") == 2  # 700013, twice
    assert stat(log, exc + "DownloadFailedError") == 3  # 700014 twice, 700015 once (then stored)
    assert stat(log, exc + "ResponseDataLossError") == 2  # 700016, twice
    assert stat(log, exc + "DownloadCancelledError") == 2  # 700023 and 700024, never retried
    assert stat(log, "retry/max_reached") == 5  # 700012, 700013, 700014, 700016, 700021
    for news_id in (700012, 700013, 700014, 700016, 700021):
        assert re.search(rf"Gave up retrying <GET \S+/fa/news/{news_id}\b", log), news_id
    assert "larger than download max size (16777216)" in log
    report = hostile["report"]
    assert (report["failed_requests"], report["http_errors"], report["offsite_filtered"]) == (5, 2, 2)


def test_hostile_truncated_html(hostile):
    body = hostile["items"]["700017"]["body"]
    assert body.startswith(TRUNCATED_KEEP) and "هرگز" not in body
    assert "700018" not in hostile["items"]
    assert hostile["report"]["dropped"]["missing_body"] == 1
    assert re.search(r"dropped \S+/fa/news/700018\S*: missing body", hostile["log"])


def test_hostile_windows_1256_is_read_as_persian(hostile):
    items = hostile["items"]
    assert items["700019"]["title"] == items["700020"]["title"] == CP1256_TITLE
    assert items["700020"]["body"].startswith("چهار ورزشکار جوان گیلانی")
    assert items["700027"]["title"] == SHORT_CP1256_TITLE
    assert items["700027"]["body"] == SHORT_CP1256_BODY
    assert stat(hostile["log"], "newscrawl/encoding/guessed/cp1256") == 2  # 700020 and 700027


def test_hostile_encodings_are_read_by_evidence(hostile):
    """700028: UTF-8 declared twice, one bad byte in a trailing comment (was read as windows-1256);
    700029: UTF-8 declared windows-1252; 700030: windows-1256 declared UTF-8. The database and the feed
    hold the page's own text, ZWNJs included, and its visible date."""
    utf8_body, cp1256_body = "\n\n".join(UTF8_PARAGRAPHS), "\n\n".join(CP1256_PARAGRAPHS)
    expected = {"700028": (UTF8_TITLE, utf8_body), "700029": (UTF8_TITLE, utf8_body),
                "700030": (CP1256_TITLE, cp1256_body)}
    with sqlite3.connect(hostile["path"] / "news.sqlite3") as db:
        rows = {code: rest for code, *rest in db.execute(
            "SELECT news_code, title, body, published_at, published_at_raw FROM articles WHERE news_code IN "
            "('700028', '700029', '700030')")}
    for code, (title, body) in expected.items():
        a = article(int(code))
        # the visible date (to the minute; Arabic ي normalised to Persian ی like every stored text)
        date = (a.iso[:16] + ":00+04:30", a.date.replace("ي", "ی"))
        item = hostile["items"][code]
        assert (item["title"], item["body"], item["published_at"], item["published_at_raw"]) == (title, body, *date)
        assert tuple(rows[code]) == (title, body, *date), code
    assert "\u200c" in UTF8_TITLE and "\u200c" in CP1256_TITLE
    log = hostile["log"]
    assert stat(log, "newscrawl/encoding/invalid_bytes") == 1  # 700028's 0xFF
    assert stat(log, "newscrawl/encoding/invalid_pages") == 1
    assert stat(log, "newscrawl/encoding/override/cp1252->utf-8") == 1  # 700029
    assert stat(log, "newscrawl/encoding/override/utf-8->cp1256") == 1  # 700030
    assert sorted(k for k in closing_stats(log) if k.startswith("newscrawl/encoding/override/")) == [
        "newscrawl/encoding/override/cp1252->utf-8", "newscrawl/encoding/override/utf-8->cp1256"]
    assert re.search(r"INFO: \S+/fa/news/700029/\S* declares cp1252, read as utf-8: ", log)
    assert re.search(r"INFO: \S+/fa/news/700030/\S* declares utf-8, read as cp1256: ", log)


def test_hostile_empty_answer_and_redirect_home_make_no_item(hostile):
    log, report = hostile["log"], hostile["report"]
    assert stat(log, "retry/reason_count/empty_response") == 1
    assert report["dropped"]["empty_response"] == 1
    assert report["dropped"]["redirected"] == 1
    assert re.search(r"article \S+/fa/news/700022\S* redirected to \S+/hostile/, which is not", log)
    assert "missing_news_code" not in report["dropped"] and "missing_title" not in report["dropped"]
    assert all(item["url"].rstrip("/").rsplit("/", 1)[-1].isdigit() for item in hostile["items"].values())


def test_hostile_markup_never_reaches_the_store(hostile):
    items = hostile["items"]
    assert items["700025"]["title"] == INJECTED_TITLE_TEXT
    assert items["700025"]["body"].startswith("بند نخست پررنگ\n\nپیوند جعلی پایان.")
    assert items["700026"]["title"] == INJECTED_TITLE_TEXT + "!"
    for item in items.values():
        for field in ("title", "kicker", "lead", "body"):
            text = item[field] or ""
            assert "<" not in text and "alert(" not in text and "javascript" not in text, (item["news_code"], field)
    assert stat(hostile["log"], "newscrawl/sanitized/markup") == 7  # 700026's og:title; title and body of 700040-700042


def test_hostile_offsite_links_are_never_requested(hostile):
    log = hostile["log"]
    assert stat(hostile["log"], "offsite/filtered") == 2  # http://evil.example/… and //evil.example/…
    assert "Filtered offsite request to 'evil.example'" in log
    assert not re.search(r"(Crawled|Retrying|Error downloading|Gave up)[^\n]*(evil\.example|javascript:|data:)", log)
    assert "CannotResolveHost" not in log and "DNSLookupError" not in log
    requested = set(re.findall(r"(?:Crawled \(\d+\)|Retrying|Error downloading|Gave up retrying) <GET (\w+://[^/\s>]+)",
                               log))
    assert all(host.startswith("http://127.0.0.1:") for host in requested), requested


def test_hostile_cases_are_documented():
    """Every hostile id has its expected outcome written down (docs/reliability.md's table is built from it)."""
    assert set(GOOD_IDS) <= set(CASES)
    assert all(outcome for _, outcome in CASES.values())


# -- monitors ------------------------------------------------------------------------------------------------
def test_coverage_monitor_fails_when_a_field_goes_missing(site, tmp_path):
    """/broken's changed template no longer loses its bodies (the fallbacks read them: test_health), so a
    coverage rule on the kicker, which the fallback does not fill for most of these articles, stands for a
    field that went missing: the run fails with the monitor's reason, in the report, the log and the exit."""
    rules = '{"parsed/title": 0.95, "parsed/body": 0.95, "parsed/kicker": 0.95}'
    log, report = crawl(tmp_path, site + "/broken", *ARCHIVE, "-s", f"SPIDERMON_FIELD_COVERAGE_RULES={rules}",
                        code=1)
    assert report["stored"] == 20 and report["dropped"] == {}
    assert stat(log, "newscrawl/fallback/body") == 10  # the 10 articles in the changed template
    monitors = report["monitors"]
    assert monitors["passed"] is False
    [failed] = monitors["failed"]
    assert failed.startswith("Field Coverage Monitor/fields are found on enough parsed articles: The following "
                             "items did not meet field coverage rules: parsed/kicker (expected 0.95, got 0.")
    assert report["coverage"]["title"] == 1.0 and report["coverage"]["body"] == 1.0
    assert stat(log, "newscrawl/health/passed") is False
    assert re.search(r"ERROR: newscrawl health check failed for tabnak: Field Coverage Monitor", log)
    assert log.strip().splitlines()[-1].startswith("error: tabnak: the crawl failed its health check: Field Coverage")


def test_monitors_pass_on_a_healthy_crawl_and_fail_on_an_unexpected_finish(site, tmp_path):
    # items already in flight when the crawl closes are parsed too (10 to 22 seen), so coverage is judged
    # only from 100 articles here, more than the demo has: the skip is certain. CLOSESPIDER_* limits are
    # expected finish reasons by default; here only "finished" is.
    log, report = crawl(tmp_path, site, *ARCHIVE, "-s", "CLOSESPIDER_ITEMCOUNT=3",
                        "-s", "NEWSCRAWL_MIN_COVERAGE_ITEMS=100", "-s", "SPIDERMON_EXPECTED_FINISH_REASONS=finished",
                        code=1)
    assert report["finish_reason"] == "closespider_itemcount"
    assert "Field Coverage Monitor/fields are found on enough parsed articles" in report["monitors"]["skipped"]
    assert report["monitors"]["failed"] == [
        "Finish Reason Monitor/Should have the expected finished reason(s): Finished with "
        "\"closespider_itemcount\" the expected reasons are ['finished']"]
    (tmp_path / "ok").mkdir()  # a database folder is never created outside the data folder
    log, report = crawl(tmp_path / "ok", site, *ARCHIVE)
    assert report["monitors"]["passed"] is True and report["monitors"]["failed"] == []
    assert report["coverage"] == {"title": 1.0, "body": 0.9583, "published_at": 0.9545}
    assert stat(log, "newscrawl/health/passed") is True
