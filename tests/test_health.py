"""Failures that look failed (issue 14): `scrapy crawl` exits 1 when the crawl ran but failed its health
check, the report line and the monitors read the same numbers, every run leaves its own stats file and a
row in the `crawls` table, `scrapy summary` marks failed runs, and a failed check reaches a webhook.

Crawls are real `scrapy crawl` subprocesses against the local test site (marker `faults`); the pure
parts (coverage, when items are expected, the exit code, masking arguments) have unit tests."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newscrawl.commands.crawl import exit_code
from newscrawl.db.history import safe_arguments
from newscrawl.extensions.monitors import ARTICLES_REQUESTED, STORED_COUNT, coverage, items_expected
from newscrawl.extensions.report import coverage_text
from testkit.devservers import free_port
from testkit.testsite import running
from tests.conftest import run_scrapy, scrapy_env

ARTICLES = 60  # two archive pages of /gen
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
NO_REQUESTS = "Successful Requests monitor/Should have at least the minimum number of successful requests"
NO_ITEMS = "Extracted Items Monitor/items were stored where items were expected"


# -- pure parts ------------------------------------------------------------------------------------------
def test_coverage_counts_dropped_articles_for_required_fields():
    stats = {"item_scraped_count": 10, "item_dropped_count": 10, "newscrawl/dropped/missing_body": 10,
             STORED_COUNT: 10, f"{STORED_COUNT}/title": 10, f"{STORED_COUNT}/body": 10,
             f"{STORED_COUNT}/published_at": 9}
    assert coverage(stats) == {"title": 1.0, "body": 0.5, "published_at": 0.9}


def test_coverage_of_nothing_is_no_items():
    assert coverage({}) is None
    assert coverage({"item_scraped_count": 0, "item_dropped_count": 0}) is None
    assert coverage_text(None) == "coverage: no items"
    assert coverage_text({"title": 1.0, "body": 0.5}) == "coverage title 100% body 50%"


@given(stored=st.integers(0, 500), dropped=st.integers(0, 500), data=st.data())
def test_coverage_is_a_share(stored, dropped, data):
    missing = data.draw(st.integers(0, dropped))
    dated = data.draw(st.integers(0, stored))
    stats = {"item_scraped_count": stored, "item_dropped_count": dropped, "newscrawl/dropped/missing_body": missing,
             STORED_COUNT: stored, f"{STORED_COUNT}/published_at": dated}
    shares = coverage(stats)
    if stored + dropped == 0:
        assert shares is None
        return
    assert all(0.0 <= v <= 1.0 for v in shares.values())
    assert shares["body"] == round(1 - missing / (stored + dropped), 4)
    assert shares["published_at"] == (round(dated / stored, 4) if stored else 0.0)


@pytest.mark.parametrize("stats, expected", [
    ({}, False),  # nothing requested: an incremental rerun over an unchanged site
    ({ARTICLES_REQUESTED: 5}, True),  # five article pages, no item at all (404s, timeouts, no network)
    ({ARTICLES_REQUESTED: 5, "item_dropped_count": 5}, False),  # all duplicates or dropped for content
    ({ARTICLES_REQUESTED: 5, "item_dropped_count": 4}, True),
])
def test_items_expected(stats, expected):
    assert items_expected(stats) is expected


@pytest.mark.parametrize("stats, code, words", [
    ({"finish_reason": "finished", "newscrawl/health/passed": True}, 0, None),
    ({"finish_reason": "finished", "newscrawl/health/passed": False,
      "newscrawl/health/failed": ["Storage/x: 3 articles were not written"]}, 1, "3 articles were not written"),
    ({"finish_reason": "shutdown", "newscrawl/health/passed": False, "newscrawl/health/failed": ["x: y"]}, 1,
     "finish reason: shutdown"),
    ({"finish_reason": "finished", "newscrawl/health/passed": True, "newscrawl/history/error": "db down"}, 1,
     "db down"),
])
def test_exit_code_reads_the_verdict(stats, code, words):
    got, line = exit_code(stats)
    assert got == code
    assert (line is None) if words is None else (words in line)


def test_arguments_are_stored_without_secrets():
    args = {"url": "https://user:p@ss:w0rd@example.com/fa/news/1", "api_token": "abc", "mode": "ids"}
    assert safe_arguments(args) == {"url": "https://***@example.com/fa/news/1", "api_token": "***", "mode": "ids"}


# -- through the real engine ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site():
    with running(ARTICLES, env=scrapy_env()) as (base, _):
        yield base


def crawl(tmp_path, base: str, *args: str, env_extra: dict | None = None):
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3",
                     NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"), **(env_extra or {}))
    result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", *args, *FAST, env=env, timeout=60)
    report = json.loads((tmp_path / "data" / "tabnak-stats.json").read_text(encoding="utf-8"))
    return result, report


def report_line(log: str) -> str:
    lines = re.findall(r"newscrawl report tabnak: .*", log)
    assert len(lines) == 1, log[-3000:]
    return lines[0]


def crawl_rows(tmp_path) -> list[dict]:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM crawls ORDER BY id")]


@pytest.mark.faults
def test_no_network_exits_1(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    result, report = crawl(tmp_path, closed, *ARCHIVE, "-s", "RETRY_TIMES=0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: tabnak: the crawl failed its health check: {NO_REQUESTS}: Too few (0) successful requests")
    assert report["pages"] == 0 and report["coverage"] is None and report["exit_code"] == 1
    line = report_line(result.stderr)
    assert "coverage: no items" in line and "health FAILED" in line and "exit code 1" in line
    [row] = crawl_rows(tmp_path)
    assert (row["health"], row["exit_code"], row["pages"], row["items_stored"]) == ("failed", 1, 0, 0)


@pytest.mark.faults
def test_storing_nothing_where_items_were_expected_exits_1(site, tmp_path):
    """Five article pages asked for by id, all 404 (robots.txt answers 200): nothing stored."""
    result, report = crawl(tmp_path, site + "/gen", "-a", "mode=ids", "-a", "ids=950001-950005")
    assert result.returncode == 1, result.stderr[-3000:]
    assert report["articles_requested"] == 5 and report["stored"] == 0 and report["http_errors"] == 5
    assert [f.split(":")[0] for f in report["monitors"]["failed"]] == [NO_ITEMS]
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: tabnak: the crawl failed its health check: {NO_ITEMS}: ")
    assert "coverage: no items" in report_line(result.stderr)


@pytest.mark.faults
def test_healthy_crawl_then_unchanged_rerun_exit_0_and_are_recorded(site, tmp_path):
    first, report = crawl(tmp_path, site + "/gen", *ARCHIVE)
    assert first.returncode == 0, first.stderr[-3000:]
    assert report["stored"] == ARTICLES and report["monitors"]["failed"] == []
    line = report_line(first.stderr)
    assert "coverage title 100% body 100% published_at 100%; health passed; exit code 0" in line
    # an incremental rerun over the unchanged site stores nothing, legitimately
    second, again = crawl(tmp_path, site + "/gen", *ARCHIVE)
    assert second.returncode == 0, second.stderr[-3000:]
    assert again["stored"] == 0 and again["articles_requested"] == 0 and again["coverage"] is None
    assert "coverage: no items; health passed" in report_line(second.stderr)
    assert any(s.startswith("Extracted Items Monitor/") for s in again["monitors"]["skipped"])
    # two runs: two stats files (the latest one copied to tabnak-stats.json), two rows
    files = sorted((tmp_path / "data" / "stats").glob("tabnak-*.json"))
    assert len(files) == 2
    assert [json.loads(f.read_text("utf-8"))["stored"] for f in files] == [ARTICLES, 0]
    rows = crawl_rows(tmp_path)
    assert [(r["spider"], r["items_stored"], r["exit_code"], r["health"]) for r in rows] == [
        ("tabnak", ARTICLES, 0, "passed"), ("tabnak", 0, 0, "passed")]
    assert [r["stats_file"] for r in rows] == [str(f) for f in files]
    assert json.loads(rows[0]["arguments"]) == {"base_url": site + "/gen", "mode": "archive",
                                                "since": "1397/04/29", "until": "1397/04/30"}
    assert json.loads(rows[0]["coverage"]) == {"title": 1.0, "body": 1.0, "published_at": 1.0}
    assert rows[1]["coverage"] in (None, "null")
    assert rows[0]["job_id"] != rows[1]["job_id"]


@pytest.mark.faults
def test_changed_template_is_read_by_fallbacks_warns_and_passes(site, tmp_path):
    """/broken (half the articles in a new template: body and date renamed) under a Scrapyd job id: the
    fallbacks (docs/reliability.md, "Fallbacks and provenance") give every article its body and date, so
    the crawl stores all 20 and exits 0, with one warning naming the site and the fields."""
    result, report = crawl(tmp_path, site + "/broken", *ARCHIVE, "-a", "_job=job-42")
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["coverage"] == {"title": 1.0, "body": 1.0, "published_at": 1.0}
    assert "coverage title 100% body 100% published_at 100%; health passed" in report_line(result.stderr)
    warnings = [line for line in result.stderr.splitlines() if " WARNING: " in line and "fallbacks" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith("tabnak: fields its selectors no longer give, read from fallbacks "
                                "(articles/parsed): body 10/20, published_at 10/20, images 1/20")
    [row] = crawl_rows(tmp_path)
    assert (row["job_id"], row["exit_code"], row["items_stored"], row["items_dropped"]) == ("job-42", 0, 20, 0)
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(i["provenance"]["body"] for i in items) == ["family"] * 10 + ["generic"] * 10


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.faults
def test_failed_check_reaches_the_webhook(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hook = f"http://127.0.0.1:{server.server_port}/hook"
        closed = f"http://127.0.0.1:{free_port()}"
        result, report = crawl(tmp_path, closed, *ARCHIVE, "-s", "RETRY_TIMES=0",
                               env_extra={"NEWSCRAWL_ALERT_WEBHOOK": hook})
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    [(path, ctype, message)] = _Receiver.received
    assert path == "/hook" and ctype.startswith("application/json")
    assert message["spider"] == "tabnak" and message["finish_reason"] == "finished"
    assert message["failed"] == [f"{NO_REQUESTS}: Too few (0) successful requests"]
    assert "newscrawl/alert/sent" in result.stderr


def test_database_down_at_close_is_one_line_and_exit_1(tmp_path, caplog):
    """The `crawls` row cannot be written (here: the database's folder is a file): one ERROR line, the
    stat, exit code 1; no exception leaves the close."""
    from scrapy.utils.test import get_crawler

    from newscrawl.extensions.report import CrawlReport

    (tmp_path / "file").write_text("")
    crawler = get_crawler(settings_dict={"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/file/news.sqlite3"})
    report = {"spider": "tabnak", "job_id": "j", "dropped": {}, "monitors": {"passed": True, "failed": []},
              "finish_reason": "finished", "pages": 1, "stored": 1, "duplicates_skipped": 0, "coverage": None,
              "exit_code": 0}
    with caplog.at_level("ERROR"):
        CrawlReport(crawler).record_run(report, str(tmp_path / "r.json"))
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("cannot record the run in the crawls table: cannot open database")
    stats = {**crawler.stats.get_stats(), "finish_reason": "finished", "newscrawl/health/passed": True}
    assert exit_code(stats)[0] == 1
