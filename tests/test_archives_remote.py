"""Common Crawl and Wayback backfills, and the Wayback lookup of deleted articles (issue 17, parts 2 and 3),
end to end: `scrapy crawl` subprocesses through the real downloader against testkit.archiveserver (which
serves WARC files written by testkit.warcs) and the local test site. Expected values are written by hand
from the data the tests put in the archives."""

from __future__ import annotations

import gzip
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newscrawl.archives import cdx
from newscrawl.archives.remote import gzip_members
from testkit.archiveserver import ArchiveServer
from testkit.devservers import closing_stats
from testkit.testsite import running
from testkit.warcs import DEMO_IDS, Record, demo_records, write_warc
from tests.conftest import ROOT, scrapy_env, stored_count

TABNAK = "https://www.tabnak.ir"
INDEX = "CC-MAIN-2024-10"
#: the demo's article pages but the one without a body (818247: a photo report, dropped as missing_body)
STORED_IDS = sorted(str(i) for i in DEMO_IDS if i != 818247)
#: no waiting in the crawls that test what is fetched (the defaults are tested on their own, by their config)
FAST_SLOTS = json.dumps({name: {"concurrency": 1, "delay": 0} for name in
                         ("commoncrawl-index", "commoncrawl-data", "wayback-cdx", "wayback")})
#: the five articles put in the Wayback Machine, each captured three times
WAYBACK_IDS = ("818240", "818241", "818242", "818243", "818244")
LATER = " (نسخهٔ بعدی)"  # the later capture's title suffix: an article edited after publication


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The archive server: the demo site's 29 articles and feed as one Common Crawl crawl (one gzipped WARC),
    and five of them in the Wayback Machine, each as a 404 before publication, its first 200 capture
    (2018-07-22) and a later edited one (2018-09-01), plus one capture after the tests' date range."""
    folder = tmp_path_factory.mktemp("archives")
    records = demo_records(TABNAK, captured_at="2018-07-22T05:00:00Z")
    cc_path = folder / "CC-MAIN-20240220000000-00001.warc.gz"
    offsets = dict(zip((r.url for r in records), write_warc(cc_path, records), strict=True))
    by_url = {r.url: r for r in records}
    wayback = []
    for news_id in WAYBACK_IDS:
        first = by_url[f"{TABNAK}/fa/news/{news_id}"]
        later = first.data.replace(b"</h1>", LATER.encode() + b"</h1>", 1)
        wayback += [Record(first.url, b"<html>404</html>", "2018-07-20T00:00:00Z", status=404),
                    first,
                    Record(first.url, later, "2018-09-01T00:00:00Z"),
                    Record(first.url, later, "2019-03-01T00:00:00Z")]
    wb_path = folder / "wayback.warc.gz"
    write_warc(wb_path, wayback)
    server = ArchiveServer(page_lines=3, max_rows=3).start()
    server.add_commoncrawl(INDEX, [cc_path])
    server.add_wayback([wb_path])
    server.offsets = offsets
    server.folder = folder
    yield server
    server.close()


class Crawl:
    """One test's crawls: their database, feeds and environment, pointed at the archive server."""

    def __init__(self, tmp_path: Path, endpoint: str, **env: str):
        self.tmp = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.db = tmp_path / "news.sqlite3"
        self.feeds = tmp_path / "feeds"
        self.env = scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{self.db}", NEWSCRAWL_DATA_DIR=str(tmp_path / "data"),
                              NEWSCRAWL_FEED=str(self.feeds / "%(name)s" / "%(run_id)s.jsonl"), **env)
        self.endpoint = endpoint

    def run(self, spider: str, *args: str, fast: bool = True, timeout: int = 120):
        endpoints = ("-s", f"NEWSCRAWL_COMMONCRAWL_INDEX_URL={self.endpoint}", "-s",
                     f"NEWSCRAWL_COMMONCRAWL_DATA_URL={self.endpoint}", "-s", f"NEWSCRAWL_WAYBACK_URL={self.endpoint}")
        slots = ("-s", f"DOWNLOAD_SLOTS={FAST_SLOTS}") if fast else ()
        cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args, *endpoints, *slots,
               "-s", "NEWSCRAWL_PROGRESS_SECONDS=0"]
        result = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        return result, closing_stats(result.stderr)

    def rows(self) -> list[dict]:
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(
                "SELECT news_code, url, title, body, fetched_from, archive_ref, captured_at FROM articles "
                "ORDER BY news_code")]

    def feed_codes(self) -> list[str]:
        return sorted(json.loads(line)["news_code"] for path in sorted(self.feeds.rglob("*.jsonl"))
                      for line in path.read_text(encoding="utf-8").splitlines())


def queries(server: ArchiveServer, kind: str) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(path).query) for k, path, _ in server.requests if k == kind]


# -- Common Crawl --------------------------------------------------------------------------------------------
def test_commoncrawl_backfill_pages_the_index_and_reads_records_by_range(archives, tmp_path):
    archives.requests.clear()
    archives.fail("index", status=429, times=1, retry_after="1")  # the index server is busy once
    crawl = Crawl(tmp_path, archives.base_url)
    result, stats = crawl.run("tabnak", "-a", f"commoncrawl={INDEX}")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = crawl.rows()
    assert [r["news_code"] for r in rows] == STORED_IDS
    assert {r["fetched_from"] for r in rows} == {"commoncrawl"}
    assert {r["captured_at"] for r in rows} == {"2018-07-22T05:00:00+00:00"}
    for row in rows:  # the WARC file's name and the record's offset as the writer put it
        assert row["archive_ref"] == f"CC-MAIN-20240220000000-00001.warc.gz#{archives.offsets[row['url']]}"
        assert row["url"].startswith(f"{TABNAK}/fa/news/")
    assert "\u200c" in next(r["body"] for r in rows if r["news_code"] == "818242")  # ZWNJ survives
    # the index: collinfo (after one 429), the page count, then its 10 pages of 3 lines (30 captures)
    paths = [urlsplit(p).path for k, p, _ in archives.requests if k == "index"]
    assert paths[:3] == ["/collinfo.json", "/collinfo.json", f"/{INDEX}-index"]
    pages = sorted(int(q["page"][0]) for q in queries(archives, "index") if "page" in q)
    assert pages == list(range(10))
    assert all(q["url"] == ["tabnak.ir"] and q["matchType"] == ["domain"] for q in queries(archives, "index")
               if "url" in q)
    # one range request per article record (the feed is text/xml: not fetched), none without a Range
    ranges = [rng for k, _, rng in archives.requests if k == "data"]
    assert len(ranges) == 29 and all(rng.startswith("bytes=") for rng in ranges)
    assert stats["newscrawl/archive/commoncrawl/records"] == 29
    assert stats["newscrawl/archive/throttled/429"] == 1
    assert stats["newscrawl/archive/backoff_seconds"] == 1.0  # Retry-After: 1, honoured
    assert stats["downloader/response_status_count/206"] == 29
    assert crawl.feed_codes() == STORED_IDS


def test_commoncrawl_resume_after_a_stop_loses_and_duplicates_nothing(archives, tmp_path):
    crawl = Crawl(tmp_path, archives.base_url)
    jobdir = tmp_path / "job"
    first, stats = crawl.run("tabnak", "-a", f"commoncrawl={INDEX}", "-s", f"JOBDIR={jobdir}",
                             "-s", "CLOSESPIDER_ITEMCOUNT=5", "-s", "CONCURRENT_REQUESTS=1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert stats["finish_reason"] == "closespider_itemcount"
    stopped = len(crawl.rows())
    assert 5 <= stopped < len(STORED_IDS)
    second, stats = crawl.run("tabnak", "-a", f"commoncrawl={INDEX}", "-s", f"JOBDIR={jobdir}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert [r["news_code"] for r in crawl.rows()] == STORED_IDS
    assert crawl.feed_codes() == STORED_IDS  # each article in exactly one run's feed


def test_commoncrawl_resume_after_a_kill_loses_and_duplicates_nothing(archives, tmp_path):
    crawl = Crawl(tmp_path, archives.base_url)
    jobdir = tmp_path / "job"
    slow = json.dumps({"commoncrawl-index": {"concurrency": 1, "delay": 0},
                       "commoncrawl-data": {"concurrency": 1, "delay": 0.3}})
    endpoints = [f"NEWSCRAWL_COMMONCRAWL_{kind}_URL={archives.base_url}" for kind in ("INDEX", "DATA")]
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"commoncrawl={INDEX}", "-s", f"JOBDIR={jobdir}",
           "-s", f"DOWNLOAD_SLOTS={slow}", "-s", endpoints[0], "-s", endpoints[1], "-s", "NEWSCRAWL_DB_BATCH_SIZE=1"]
    with (tmp_path / "killed.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=crawl.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while stored_count(crawl.db) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    killed_at = len(crawl.rows())
    assert 5 <= killed_at < len(STORED_IDS)
    result, stats = crawl.run("tabnak", "-a", f"commoncrawl={INDEX}", "-s", f"JOBDIR={jobdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/resumed_after_crash"] is True
    assert [r["news_code"] for r in crawl.rows()] == STORED_IDS
    assert stats["newscrawl/incremental/skipped"] >= killed_at  # stored ones were not fetched again


def test_commoncrawl_unknown_index_stops_with_one_line(archives, tmp_path):
    result, stats = Crawl(tmp_path, archives.base_url).run("tabnak", "-a", "commoncrawl=CC-MAIN-2023-50")
    assert result.returncode == 1
    assert stats["finish_reason"] == "archive_index_unknown"
    assert "commoncrawl: CC-MAIN-2023-50 is not an index of" in result.stderr


def test_an_index_that_stays_overloaded_stops_the_crawl(archives, tmp_path):
    archives.failures.clear()
    archives.fail("index", status=503, times=7, retry_after="0")  # the first try and the 6 retries
    try:
        result, stats = Crawl(tmp_path, archives.base_url).run("tabnak", "-a", f"commoncrawl={INDEX}")
    finally:
        archives.failures.clear()
    assert result.returncode == 1
    assert stats["finish_reason"] == "archive_unavailable"
    assert stats["newscrawl/archive/throttled/503"] == 7
    assert stats["retry/max_reached"] == 1
    assert "archive index unavailable, the backfill stops" in result.stderr


def test_cc_news_reads_the_months_files_by_ranges(tmp_path):
    """CC-NEWS has no URL index: the month's warc.paths.gz, then every listed file in chunks."""
    records = demo_records(TABNAK, captured_at="2024-03-02T00:00:00Z")
    news = [Record(r.url.replace(TABNAK, "https://www.isna.ir"), r.body, r.captured_at) for r in records[:3]]
    path = tmp_path / "CC-NEWS-20240302000000-00001.warc.gz"
    write_warc(path, news + records[:4])
    server = ArchiveServer().start()
    try:
        server.add_news("2024/03", [path])
        crawl = Crawl(tmp_path, server.base_url)
        result, stats = crawl.run("tabnak", "-a", "commoncrawl=CC-NEWS", "-a", "since=2024-03")
        assert result.returncode == 0, result.stderr[-3000:]
        assert [r["news_code"] for r in crawl.rows()] == ["818230", "818231", "818232", "818233"]
        assert {r["fetched_from"] for r in crawl.rows()} == {"commoncrawl"}
        assert stats["newscrawl/archive/commoncrawl/other_host"] == 3
        assert [urlsplit(p).path for k, p, _ in server.requests if k == "data"][0] == \
            "/crawl-data/CC-NEWS/2024/03/warc.paths.gz"
    finally:
        server.close()


# -- the Wayback Machine ----------------------------------------------------------------------------------
def test_wayback_backfill_takes_the_earliest_200_capture_in_range(archives, tmp_path):
    archives.requests.clear()
    crawl = Crawl(tmp_path, archives.base_url)
    result, stats = crawl.run("tabnak", "-a", "wayback=1", "-a", "since=2018-07-01", "-a", "until=2018-12-31")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = crawl.rows()
    assert [r["news_code"] for r in rows] == list(WAYBACK_IDS)
    for row in rows:
        assert row["fetched_from"] == "wayback"
        assert row["captured_at"] == "2018-07-22T05:00:00+00:00"
        assert row["archive_ref"] == f"{archives.base_url}/web/20180722050000id_/{TABNAK}/fa/news/{row['news_code']}"
        assert LATER not in row["title"]
    # 5 URLs, 3 rows a page: two CDX pages, the second asked by the first's resume key
    cdx_queries = queries(archives, "cdx")
    assert len(cdx_queries) == 2 and "resumeKey" not in cdx_queries[0] and "resumeKey" in cdx_queries[1]
    assert cdx_queries[0]["from"] == ["20180701000000"] and cdx_queries[0]["to"] == ["20181231235959"]
    assert cdx_queries[0]["filter"] == ["statuscode:200", "mimetype:text/html"]
    assert stats["newscrawl/archive/wayback/records"] == 5


def test_generic_wayback_backfill_by_url_prefix(archives, tmp_path):
    crawl = Crawl(tmp_path, archives.base_url)
    result, _ = crawl.run("generic", "-a", "wayback=1", "-a", f"url={TABNAK}/fa/news/81824",
                          "-a", "since=2018-07-01", "-a", "until=2018-07-31")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["url"] for r in crawl.rows()] == [f"{TABNAK}/fa/news/{i}" for i in ("818240", "818241", "818242",
                                                                                   "818243", "818244")]


# -- deleted articles ----------------------------------------------------------------------------------------
def test_deleted_articles_are_read_from_the_wayback_machine_with_default_politeness(tmp_path):
    """A live crawl of a feed meets a 404, a 410 and a 404 the Wayback Machine never saw; with the fallback
    on, the two archived ones are stored from the capture closest to the feed's date for them. The
    archive's slots are the defaults."""
    with running(0, env=scrapy_env()) as (site, _):
        gone, removed, never = (f"{site}/fa/news/818250", f"{site}/fault/status/410/fa/news/818251",
                                f"{site}/fa/news/818299")
        source = {r.url: r for r in demo_records(TABNAK)}
        captures = [Record(gone, source[f"{TABNAK}/fa/news/818249"].data, "2018-07-21T08:00:00Z"),
                    Record(gone, source[f"{TABNAK}/fa/news/818248"].data, "2019-01-01T00:00:00Z"),
                    Record(removed, source[f"{TABNAK}/fa/news/818252"].data, "2018-07-22T09:30:00Z")]
        path = tmp_path / "deleted.warc.gz"
        write_warc(path, captures)
        server = ArchiveServer().start()
        server.add_wayback([path])
        dates = {gone: "Tue, 01 Jan 2019 03:00:00 +0330", removed: "Sun, 22 Jul 2018 10:00:00 +0430",
                 never: "Sun, 22 Jul 2018 11:00:00 +0430"}  # gone: published on 1 January 2019
        items = "".join(f"<item><title>{i}</title><link>{url}</link><pubDate>{when}</pubDate></item>"
                        for i, (url, when) in enumerate(dates.items()))
        server.static["/feed.xml"] = ("text/xml; charset=utf-8", (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode())
        # a name, not 127.0.0.1: a request to another port of the crawled host is offsite (ssrf.py)
        endpoint = server.base_url.replace("127.0.0.1", "localhost")
        feed = ("-a", f"feed={endpoint}/feed.xml", "-a", "allowed=127.0.0.1")
        try:
            off = Crawl(tmp_path / "off", endpoint)
            result, stats = off.run("generic", *feed, fast=False)
            assert stats["finish_reason"] == "finished"  # it ran, and
            assert off.rows() == [] and server.count("cdx") == 0  # did not look anything up: off by default
            on = Crawl(tmp_path / "on", endpoint, NEWSCRAWL_WAYBACK_FALLBACK="1")
            result, stats = on.run("generic", *feed, fast=False)
        finally:
            server.close()
    rows = on.rows()
    assert sorted(r["url"] for r in rows) == sorted([gone, removed])
    by_url = {r["url"]: r for r in rows}
    # the capture nearest the feed's date (2019-01-01), not the earliest (2018-07-21)
    assert by_url[gone]["archive_ref"] == f"{endpoint}/web/20190101000000id_/{gone}"
    assert by_url[gone]["captured_at"] == "2019-01-01T00:00:00+00:00"
    assert by_url[removed]["archive_ref"] == f"{endpoint}/web/20180722093000id_/{removed}"
    assert {r["fetched_from"] for r in rows} == {"wayback"}
    assert stats["newscrawl/archive/fallback/looked_up"] == 3
    assert stats["newscrawl/archive/fallback/404"] == 2 and stats["newscrawl/archive/fallback/410"] == 1
    assert stats["newscrawl/archive/fallback/found"] == 2
    assert stats["newscrawl/archive/fallback/not_found"] == 1
    # the politeness applied: the slots as the downloader had them (settings.py's DOWNLOAD_SLOTS)
    assert stats["newscrawl/archive/slot/wayback-cdx"] == "concurrency=1 delay=2.5"
    assert stats["newscrawl/archive/slot/wayback"] == "concurrency=1 delay=1"
    assert server.in_flight_max["cdx"] == 1


# -- usage errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "line"), [
    (("tabnak", "-a", "commoncrawl=CC-MAIN-24"), "error: tabnak: commoncrawl: 'CC-MAIN-24' is not a Common Crawl"),
    (("tabnak", "-a", "wayback=1"), "error: tabnak: wayback=1 needs -a since=<date>"),
    (("isna", "-a", "wayback=1", "-a", "since=2019-01-01", "-a", "until=2018-01-01"),
     "error: isna: since (2019-01-01) is after until (2018-01-01)"),
    (("generic", "-a", "commoncrawl=CC-MAIN-2024-10"), "error: generic: generic with commoncrawl= needs -a allowed="),
])
def test_usage_errors_exit_2_with_one_line(args, line):
    result = subprocess.run([sys.executable, "-m", "scrapy", "crawl", *args], cwd=ROOT, env=scrapy_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(line)


# -- the pure parts ------------------------------------------------------------------------------------------
def test_closest_capture_to_the_articles_date():
    captures = [cdx.Capture("u", "20180720000000"), cdx.Capture("u", "20180722050000"),
                cdx.Capture("u", "20180901000000")]
    assert cdx.closest(captures, "2018-07-21T23:00:00+04:30").timestamp == "20180722050000"
    assert cdx.closest(captures, "2018-08-20").timestamp == "20180901000000"
    assert cdx.closest(captures, None).timestamp == "20180720000000"
    assert cdx.closest(captures, "not a date").timestamp == "20180720000000"
    assert cdx.closest([], "2018-07-21") is None


def test_page_counts():
    assert cdx.num_pages(b'{"pages": 10, "pageSize": 5, "blocks": 48}') == 10
    assert cdx.num_pages(b'{"pages": 0}') == 0
    for bad in (b'{"pages": 100000000000}', b'{"pages": "3"}', b'{"pages": true}', b"[]", b"<html>"):
        with pytest.raises(ValueError):
            cdx.num_pages(bad)


def test_wayback_table_with_resume_key():
    body = json.dumps([["timestamp", "original", "statuscode"], ["20180722050000", "https://a.ir/1", "200"],
                       ["20180722050001", "https://a.ir/2", "404"], [], ["ir,a)/2+20180722050001"]]).encode()
    assert cdx.wayback_rows(body) == ([cdx.Capture("https://a.ir/1", "20180722050000")], "ir,a)/2+20180722050001")
    assert cdx.wayback_rows(b"[]") == ([], None)
    with pytest.raises(ValueError):
        cdx.wayback_rows(b'{"a": 1}')


def test_retry_after_forms():
    from datetime import UTC, datetime

    now = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert cdx.retry_after("120") == 120.0
    assert cdx.retry_after(b"Fri, 01 Mar 2024 12:00:30 GMT", now) == 30.0
    assert cdx.retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now) == 0.0
    assert cdx.retry_after("soon") is None and cdx.retry_after(None) is None


def test_cc_index_lines():
    lines = b"\n".join([
        json.dumps({"url": "https://www.tabnak.ir/fa/news/1", "timestamp": "20240301000000", "status": "200",
                    "mime": "text/html", "filename": "crawl-data/x/a.warc.gz", "offset": "10", "length": "5"}).encode(),
        json.dumps({"url": "https://www.tabnak.ir/fa/rss", "timestamp": "20240301000000", "status": "200",
                    "mime": "application/rss+xml", "filename": "f", "offset": "1", "length": "1"}).encode(),
        b"{broken"])
    records, bad = cdx.cc_records(lines)
    assert records == [cdx.CCRecord("https://www.tabnak.ir/fa/news/1", "20240301000000", "crawl-data/x/a.warc.gz",
                                    10, 5)]
    assert records[0].archive_ref == "a.warc.gz#10" and bad == 1


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8), st.integers(min_value=1, max_value=200))
def test_gzip_members_finds_each_whole_member(payloads, cut):
    members = [gzip.compress(p) for p in payloads]
    data = b"".join(members)
    ends = [sum(len(m) for m in members[:i + 1]) for i in range(len(members))]
    assert [end for _, end in gzip_members(data)] == ends
    short = data[:-min(cut, len(members[-1]))]  # the last member cut short: every whole one before it
    assert [end for _, end in gzip_members(short)] == ends[:-1]


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                     max_leaves=30)


@given(_json)
def test_index_answers_of_any_shape_are_read_or_refused_cleanly(value):
    """An archive's answer is input like any page: whatever JSON comes back, the readers return or raise
    ValueError (the callbacks' one handled error), never anything else."""
    body = json.dumps(value).encode()
    try:
        captures, _ = cdx.wayback_rows(body)
        assert all(len(c.timestamp) == 14 for c in captures)
    except ValueError:
        pass
    records, bad = cdx.cc_records(body + b"\n" + body)
    assert bad + len(records) <= 2
    try:
        assert 0 <= cdx.num_pages(body) <= cdx.MAX_PAGES
    except ValueError:
        pass
