"""The project's commands as a user runs them: `scrapy crawl` refusing bad arguments or an unreachable
database with one line, before fetching anything (`scrapy extract`: tests/test_extract_command.py)."""

import pytest

from tests.conftest import run_scrapy, scrapy_env


@pytest.mark.parametrize("args, message", [
    (["-a", "since=1397/13/01"], "since"),
    (["-a", "mode=sitemap"], "mode: 'sitemap' is not one of rss, archive, ids, url"),
    (["-a", "ids=12-x"], "ids: '12-x' is not a number or a range"),
    (["-a", "ids=20-10"], "runs backwards"),
    (["-a", "url=https://www.isna.ir/news/1"], "is not on tabnak"),
    (["-a", "color=red"], "unknown argument 'color'"),
    (["-a", "since=1397/05/01", "-a", "until=1397/04/01"], "is after until"),
    (["-a", "incremental=maybe"], "incremental: expected 1 or 0"),
    (["-a", "base_url=ftp://x"], "base_url"),
])
def test_bad_crawl_arguments_stop_with_one_line(tmp_path, args, message):
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")
    result = run_scrapy("crawl", "tabnak", *args, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: tabnak: ") and message in lines[0]
    assert not (tmp_path / "x.sqlite3").exists()  # nothing started


def test_unreachable_database_stops_before_crawling(tmp_path):
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL="postgresql+psycopg://news:secret@127.0.0.1:1/news")
    result = run_scrapy("crawl", "tabnak", "-a", "ids=1-3", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open database")
    assert "secret" not in result.stderr and "127.0.0.1:1" in result.stderr
    assert not list(tmp_path.glob("*-stats.json"))  # the crawl never started


def test_list_shows_sites():
    result = run_scrapy("list")
    assert result.returncode == 0
    names = result.stdout.split()
    assert {"tabnak", "isna", "yjc", "mehr"} <= set(names)


@pytest.mark.parametrize("stats, code", [
    ({"finish_reason": "finished"}, 0),
    ({"finish_reason": "closespider_itemcount"}, 0),  # a limit the operator asked for
    ({"finish_reason": "shutdown"}, 1),  # SIGTERM / Ctrl-C: the range is not done
    ({"finish_reason": "database_unavailable"}, 1),
    ({"finish_reason": "disk_full"}, 1),
    ({}, 1),
])
def test_crawl_exit_code_follows_the_finish_reason(stats, code):
    from newscrawl.commands.crawl import exit_code

    got, line = exit_code(stats)
    assert got == code
    assert (line is None) == (code == 0)
    if stats.get("finish_reason") and code:
        assert stats["finish_reason"] in line


def test_crawl_stopped_by_sigterm_exits_1_with_one_line(tmp_path):
    """A crawl that SIGTERM stops (systemd, docker stop, Scrapyd's cancel) is not reported as a success."""
    import signal
    import subprocess
    import sys
    import time

    from testkit.testsite import running
    from tests.conftest import ROOT

    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
                     NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"))
    with running(2000, env=scrapy_env()) as (base, _):
        proc = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}/gen",
                                 "-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30",
                                 "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-L", "INFO"],
                                cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        feed = tmp_path / "items.jsonl"
        while time.time() < deadline and not (feed.exists() and feed.stat().st_size):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert "'finish_reason': 'shutdown'" in err
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == (
        "error: tabnak: the crawl stopped before it finished (finish reason: shutdown); see the log")


def test_test_site_crawl_keeps_its_articles_out_of_the_real_archive(tmp_path):
    """A crawl of the local test site (base_url) with no database named writes under data/testsite/; `make
    demo` afterwards still stores its 28 articles in data/newscrawl.sqlite3 (issue 13, case 10)."""
    import shutil
    import sqlite3

    from testkit.testsite import running
    from tests.conftest import DEMO_CASSETTES, ROOT

    shutil.copy(ROOT / "scrapy.cfg", tmp_path / "scrapy.cfg")  # a project folder of its own: data/ is here
    archive = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
    fast = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
    with running(0, env=scrapy_env()) as (base, _):
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", *archive, *fast, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    data = tmp_path / "data"
    assert not (data / "newscrawl.sqlite3").exists()
    with sqlite3.connect(data / "testsite" / "newscrawl.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 22
    assert len(list((data / "testsite" / "tabnak").glob("*.jsonl"))) == 1
    assert not (data / "tabnak").exists()
    demo = scrapy_env(NEWSCRAWL_REPLAY=str(DEMO_CASSETTES), NEWSCRAWL_FEED="data/tabnak.jsonl")
    for mode in (archive, ("-a", "mode=rss")):
        assert run_scrapy("crawl", "tabnak", *mode, env=demo, cwd=tmp_path).returncode == 0
    with sqlite3.connect(data / "newscrawl.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 28
    assert len((data / "tabnak.jsonl").read_text(encoding="utf-8").splitlines()) == 28


def test_test_site_crawl_uses_a_database_named_explicitly(tmp_path):
    from scrapy.settings import Settings

    from newscrawl.commands.crawl import scope_test_crawl
    from newscrawl.settings import NEWSCRAWL_FEED

    settings = Settings({"NEWSCRAWL_DATA_DIR": "d", "NEWSCRAWL_DATABASE_URL": "sqlite:///d/newscrawl.sqlite3",
                         "NEWSCRAWL_FEED": NEWSCRAWL_FEED, "FEEDS": {NEWSCRAWL_FEED: {"format": "jsonlines"}}})
    scope_test_crawl(settings, {"mode": "rss"})  # not a test-site crawl: unchanged
    assert settings.get("NEWSCRAWL_DATABASE_URL") == "sqlite:///d/newscrawl.sqlite3"
    scope_test_crawl(settings, {"base_url": "http://127.0.0.1:8000"})
    assert settings.get("NEWSCRAWL_DATABASE_URL") == "sqlite:///d/testsite/newscrawl.sqlite3"
    assert list(settings.getdict("FEEDS")) == ["d/testsite/%(name)s/%(run_id)s.jsonl"]
    named = Settings({"NEWSCRAWL_DATA_DIR": "d", "FEEDS": {"x.jsonl": {}}})
    named.set("NEWSCRAWL_DATABASE_URL", "postgresql://db/news", priority="cmdline")
    named.set("FEEDS", {"x.jsonl": {}}, priority="cmdline")
    scope_test_crawl(named, {"base_url": "http://127.0.0.1:8000"})
    assert named.get("NEWSCRAWL_DATABASE_URL") == "postgresql://db/news"
    assert list(named.getdict("FEEDS")) == ["x.jsonl"]
