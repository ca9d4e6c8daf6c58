"""Resume that always works, and incremental runs that know what is complete (issue 13, cases 1 and 2),
through the real engine: `scrapy crawl` subprocesses against the local test site's /gen archive, stopped,
killed, damaged and doubled on purpose. Each test ends with every article of the range exactly once in the
database and exactly once across the spider's JSON Lines files."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from twisted.internet.error import ConnectionRefusedError as Refused

from newscrawl import settings as project_settings
from testkit.devservers import closing_stats
from testkit.testsite import running
from tests.conftest import ROOT, scrapy_env, stored_count

pytestmark = pytest.mark.faults

ARTICLES = 150  # three archive pages of 50, newest first: page 1 holds 900150..900101
EXPECTED = sorted(str(900000 + k) for k in range(1, ARTICLES + 1))
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
#: slow enough to be stopped halfway, with database batches small enough to see progress
SLOW = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0.01", "-s", "CONCURRENT_REQUESTS=2",
        "-s", "NEWSCRAWL_DB_BATCH_SIZE=25")


@pytest.fixture(scope="module")
def site():
    with running(ARTICLES, env=scrapy_env()) as (base, _):
        yield base + "/gen"


class Crawls:
    """The crawls of one test: one database, one data folder, one feed folder (a file per run, or per JOBDIR)."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.db = tmp_path / "news.sqlite3"
        self.feeds = tmp_path / "feeds" / "tabnak"
        self.env = scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{self.db}", NEWSCRAWL_DATA_DIR=str(tmp_path / "data"),
                              NEWSCRAWL_FEED=str(tmp_path / "feeds" / "%(name)s" / "%(run_id)s.jsonl"))
        self.runs = 0

    def cmd(self, base: str, *args: str, jobdir: Path | None = None) -> list[str]:
        job = ("-s", f"JOBDIR={jobdir}") if jobdir else ()
        return [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}", *args, *job]

    def start(self, base: str, *args: str, jobdir: Path | None = None) -> subprocess.Popen:
        self.runs += 1
        log = open(self.tmp / f"run{self.runs}.log", "w")  # noqa: SIM115  (closed when the process is)
        return subprocess.Popen(self.cmd(base, *args, jobdir=jobdir), cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)

    def run(self, base: str, *args: str, jobdir: Path | None = None) -> tuple[subprocess.CompletedProcess, dict]:
        result = subprocess.run(self.cmd(base, *args, jobdir=jobdir), cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=120)
        return result, closing_stats(result.stderr)

    def count(self) -> int:
        return stored_count(self.db)

    def db_codes(self) -> list[str]:
        with sqlite3.connect(self.db) as db:
            return sorted(row[0] for row in db.execute("SELECT news_code FROM articles"))

    def feed_codes(self) -> list[str]:
        """Every line of every feed file of the spider (each must parse)."""
        return sorted(json.loads(line)["news_code"] for path in sorted(self.feeds.glob("*.jsonl"))
                      for line in path.read_text(encoding="utf-8").splitlines())

    def assert_every_article_once(self) -> None:
        assert self.db_codes() == EXPECTED  # every article, exactly once
        assert self.feed_codes() == EXPECTED, "the feed files (see the feed reconciliation)"


def stop_when_stored(proc: subprocess.Popen, crawls: Crawls, stored: int, sig: int) -> None:
    """Send `sig` once `stored` articles are in the database; wait for the process to end unless paused."""
    deadline = time.monotonic() + 60
    while crawls.count() < stored:
        assert proc.poll() is None, f"the crawl ended with {crawls.count()} stored, before it could be stopped"
        assert time.monotonic() < deadline, f"no progress: {crawls.count()} stored"
        time.sleep(0.02)
    proc.send_signal(sig)
    if sig != signal.SIGSTOP:
        proc.wait(timeout=60)


# -- resume that always works -----------------------------------------------------------------------------------
def test_sigterm_resume_sigkill_resume_stores_every_article_once(site, tmp_path):
    """The reported sequence (Scrapyd's cancel, systemd, docker stop): every later run died in a second
    with `struct.error: unpack requires a buffer of 4 bytes`."""
    crawls, job = Crawls(tmp_path), tmp_path / "job"
    first = crawls.start(site, *ARCHIVE, *SLOW, jobdir=job)
    stop_when_stored(first, crawls, 25, signal.SIGTERM)
    assert json.loads((job / "requests.queue" / "active.json").read_text())  # a clean stop, requests saved
    stored = crawls.count()
    assert stored < ARTICLES
    second = crawls.start(site, *ARCHIVE, *SLOW, jobdir=job)
    stop_when_stored(second, crawls, stored + 25, signal.SIGKILL)
    assert second.returncode == -signal.SIGKILL and (job / "newscrawl.running").exists()

    result, stats = crawls.run(site, *ARCHIVE, *FAST, jobdir=job)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/resumed_after_crash"] is True
    assert stats["newscrawl/jobdir/queue_rebuilt"] == "the last crawl was killed"
    assert stats.get("newscrawl/incremental/archive_stopped", 0) == 0  # a resumed crawl walks the whole range
    assert "struct.error" not in result.stderr and "Traceback" not in result.stderr
    crawls.assert_every_article_once()

    again, stats = crawls.run(site, *ARCHIVE, *FAST, jobdir=job)  # and the JOBDIR keeps working
    assert again.returncode == 0, again.stderr[-3000:]
    assert stats.get("item_scraped_count", 0) == 0
    crawls.assert_every_article_once()


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_damaged_queue_after_a_clean_stop_is_rebuilt(site, tmp_path, damage):
    crawls, job = Crawls(tmp_path), tmp_path / "job"
    first = crawls.start(site, *ARCHIVE, *SLOW, jobdir=job)
    stop_when_stored(first, crawls, 25, signal.SIGTERM)
    queues = job / "requests.queue"
    files = [p for p in queues.rglob("*") if p.is_file() and p.name != "active.json"]
    victim = max(files, key=lambda p: p.stat().st_size)  # the article requests' queue
    assert victim.stat().st_size > 100
    victim.write_bytes(b"" if damage == "empty" else victim.read_bytes()[:-7])

    result, stats = crawls.run(site, *ARCHIVE, *FAST, jobdir=job)
    assert result.returncode == 0, result.stderr[-3000:]
    assert victim.name in stats["newscrawl/jobdir/queue_rebuilt"]
    assert re.search(r"WARNING: the request queue in \S+ cannot be trusted \(", result.stderr)
    assert "Traceback" not in result.stderr
    crawls.assert_every_article_once()


def test_a_resumed_ids_crawl_fetches_only_the_ids_not_stored(site, tmp_path):
    """ids mode is not incremental by default, but a resumed crawl rebuilds its queue from the whole id
    range: it must skip the stored ids rather than fetch everything again."""
    crawls, job = Crawls(tmp_path), tmp_path / "job"
    ids = ("-a", f"ids=900001-{900000 + ARTICLES}")
    first = crawls.start(site, *ids, *SLOW, jobdir=job)
    stop_when_stored(first, crawls, 50, signal.SIGKILL)
    stored = crawls.count()
    assert stored < ARTICLES

    result, stats = crawls.run(site, *ids, *FAST, jobdir=job)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/resumed_after_crash"] is True
    assert stats["downloader/response_count"] == 1 + ARTICLES - stored  # robots.txt and the missing ids
    assert stats.get("newscrawl/duplicates", 0) == 0
    assert stats["item_scraped_count"] == ARTICLES - stored
    crawls.assert_every_article_once()


LOCK_SCRIPT = """
import sys
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

settings = get_project_settings()
settings.set("JOBDIR", sys.argv[2], priority="cmdline")
process = CrawlerProcess(settings)
process.crawl("tabnak", base_url=sys.argv[1], mode="archive", since="1397/04/29", until="1397/04/30")
process.start()
"""


def test_a_second_crawl_on_a_busy_jobdir_stops_without_touching_it(site, tmp_path):
    crawls, job = Crawls(tmp_path), tmp_path / "job"
    first = crawls.start(site, *ARCHIVE, *SLOW, jobdir=job)
    try:
        stop_when_stored(first, crawls, 25, signal.SIGSTOP)  # paused: it holds the lock, its files stand still
        before = {p: p.read_bytes() for p in job.rglob("*") if p.is_file()}
        feeds_before = {p: p.read_bytes() for p in crawls.feeds.glob("*")}

        # `scrapy crawl` (the preflight, or the crawl itself) and a script (as Scrapyd and cron jobs run it)
        second, _ = crawls.run(site, *ARCHIVE, *FAST, jobdir=job)
        assert second.returncode != 0
        assert f"JOBDIR {job} is in use by another crawl (pid {first.pid})" in second.stderr
        script = subprocess.run([sys.executable, "-c", LOCK_SCRIPT, site, str(job)], cwd=ROOT, env=crawls.env,
                                capture_output=True, text=True, timeout=120)
        assert closing_stats(script.stderr)["finish_reason"] == "jobdir_in_use", script.stderr[-3000:]
        assert len(re.findall(r"ERROR: JOBDIR \S+ is in use by another crawl", script.stderr)) == 1

        assert {p: p.read_bytes() for p in job.rglob("*") if p.is_file()} == before
        assert {p: p.read_bytes() for p in crawls.feeds.glob("*")} == feeds_before
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=120) == 0
    log = (tmp_path / "run1.log").read_text()
    assert "cannot be trusted" not in log and "did not close" not in log
    crawls.assert_every_article_once()


# -- incremental runs that know what is complete -------------------------------------------------------------------
def test_an_archive_killed_without_jobdir_is_completed_by_the_rerun(site, tmp_path):
    """3,000 articles killed after 400 used to rerun to 400: the newest pages were stored, so the rerun
    stopped at its first page. Here the killed run never recorded its days, so the rerun walks on."""
    crawls = Crawls(tmp_path)
    first = crawls.start(site, *ARCHIVE, *SLOW)
    stop_when_stored(first, crawls, 50, signal.SIGKILL)
    stored = crawls.count()
    assert stored < ARTICLES

    result, stats = crawls.run(site, *ARCHIVE, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/ranges/unrecorded_days"] == 2
    assert stats.get("newscrawl/incremental/archive_stopped", 0) == 0
    assert stats["newscrawl/incremental/archive_walked_on"] >= 1  # where the old rule stopped
    assert stats["item_scraped_count"] == ARTICLES - stored
    assert stats["newscrawl/ranges/recorded_days"] == 2
    crawls.assert_every_article_once()

    # that run was complete: the next one stops at its first page, as before
    result, stats = crawls.run(site, *ARCHIVE, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/incremental/archive_stopped"] == 1
    assert stats["downloader/response_count"] == 2  # robots.txt and archive page 1
    crawls.assert_every_article_once()


class FailOldArticles:
    """Downloader middleware for one run: articles up to 900000 + NEWSCRAWL_TEST_FAIL_UPTO are refused,
    as by a dead connection, and RetryMiddleware gives them up (RETRY_TIMES=0)."""

    def __init__(self, upto: int):
        self.upto = upto

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("NEWSCRAWL_TEST_FAIL_UPTO"))

    def process_request(self, request, spider=None):
        m = re.search(r"/fa/news/(\d+)", request.url)
        if m and int(m[1]) <= 900000 + self.upto:
            raise Refused("refused by the test")


GIVE_UP_OLD = ("-s", "RETRY_TIMES=0", "-s", "NEWSCRAWL_TEST_FAIL_UPTO=30", "-s", "DOWNLOADER_MIDDLEWARES=" + json.dumps(
    {**project_settings.DOWNLOADER_MIDDLEWARES, "tests.test_resume.FailOldArticles": 560}))


@pytest.mark.parametrize("ending", ["closespider_itemcount", "given_up"])
def test_a_run_that_ended_early_does_not_make_the_next_one_stop_early(site, tmp_path, ending):
    crawls = Crawls(tmp_path)
    early = ("-s", "CLOSESPIDER_ITEMCOUNT=30") if ending == "closespider_itemcount" else GIVE_UP_OLD
    first, stats = crawls.run(site, *ARCHIVE, *FAST, *early)
    stored = crawls.count()
    if ending == "given_up":  # it "finished", but the 30 oldest articles were given up
        assert stats["finish_reason"] == "finished" and stats["retry/max_reached"] == 30
        assert stored == ARTICLES - 30
    else:
        assert stats["finish_reason"] == "closespider_itemcount" and stored < ARTICLES
    assert "newscrawl/ranges/recorded_days" not in stats
    assert re.search(r"INFO: archive 1397/04/29–1397/04/30 not recorded complete \(", first.stderr)

    result, stats = crawls.run(site, *ARCHIVE, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats.get("newscrawl/incremental/archive_stopped", 0) == 0
    assert stats["newscrawl/incremental/archive_walked_on"] >= 1  # where the old rule stopped
    assert stats["item_scraped_count"] == ARTICLES - stored
    crawls.assert_every_article_once()


def test_today_recorded_complete_stops_a_later_run_only_past_its_anchor(site, tmp_path):
    """At 10:00 a complete walk of today stores everything listed then (articles 1-50). By 14:00 the
    site lists 100 more, and a run that ended early stored only the newest 50 of them. The next run must
    not stop at that first all-known page (50 articles below it are missing), but may stop at the page
    that holds the 10:00 run's first page, its anchor."""
    crawls = Crawls(tmp_path)
    today = ("-a", "mode=archive", "-a", "since=today")
    with running(50, env=scrapy_env()) as (morning, _):
        result, stats = crawls.run(morning + "/gen", *today, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/ranges/recorded_days"] == 1
    result, _ = crawls.run(site, "-a", "ids=900101-900150", *FAST)  # ids mode records no archive day
    assert result.returncode == 0 and crawls.count() == 100

    result, stats = crawls.run(site, *today, *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/incremental/archive_walked_on"] == 1  # page 1: all known, but above the anchor
    assert stats["newscrawl/incremental/archive_stopped"] == 1  # page 3: 900050..900001, the anchor
    assert stats["newscrawl/listing/archive_pages"] == 3
    assert stats["item_scraped_count"] == 50  # page 2: 900100..900051
    crawls.assert_every_article_once()
