"""The bundled demo snapshot crawled through the real Scrapy engine (subprocess `scrapy crawl`) with
offline replay: item counts, drops, duplicates, the database, and a second run adding nothing."""

import json
import sqlite3

import pytest

from tests.conftest import DEMO_CASSETTES, run_scrapy, scrapy_env

pytestmark = pytest.mark.e2e

# From the demo manifest (testkit/demo/build.py), counted by hand there.
from testkit.demo.build import MANIFEST  # noqa: E402


def crawl(tmp_path, *args):
    env = scrapy_env(NEWSCRAWL_REPLAY=str(DEMO_CASSETTES), NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3",
                     NEWSCRAWL_FEED=str(tmp_path / "tabnak.jsonl"))
    result = run_scrapy("crawl", "tabnak", *args, "-L", "INFO", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "tabnak-stats.json").read_text(encoding="utf-8"))
    return result, report


def jsonl(tmp_path):
    return [json.loads(line) for line in (tmp_path / "tabnak.jsonl").read_text(encoding="utf-8").splitlines()]


def db_codes(tmp_path):
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT news_code FROM articles ORDER BY news_code")]


ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")


def test_archive_crawl_counts(tmp_path):
    result, report = crawl(tmp_path, *ARCHIVE)
    good = MANIFEST["archive_good_ids"]
    items = jsonl(tmp_path)
    assert sorted(i["news_code"] for i in items) == sorted(str(i) for i in good)
    assert db_codes(tmp_path) == sorted(str(i) for i in good)
    assert report["stored"] == len(good)
    assert report["duplicates_skipped"] == 1  # the article linked with and without its slug
    assert report["dropped"] == {"missing_body": 1}
    assert report["date_unparseable"] == 1
    assert report["parse_errors"] == 0
    bad = next(i for i in items if i["news_code"] == str(MANIFEST["bad_date_id"]))
    assert bad["published_at"] is None and bad["published_at_raw"]
    assert str(MANIFEST["no_body_id"]) in result.stderr  # the drop is logged with the URL
    assert "no recorded response" not in result.stderr


def test_items_are_clean(tmp_path):
    crawl(tmp_path, *ARCHIVE)
    for item in jsonl(tmp_path):
        assert item["site"] == "tabnak" and item["language"] == "fa"
        assert item["url"] == f"https://www.tabnak.ir/fa/news/{item['news_code']}"
        for field in ("title", "body", "lead"):
            assert not set("يك\u200e\u200f") & set(item[field] or ""), (item["news_code"], field)
            assert "<" not in (item[field] or "")
        if item["published_at"]:
            assert item["published_at"].endswith(("+04:30", "+03:30"))
    text = (tmp_path / "tabnak.jsonl").read_text(encoding="utf-8")
    assert "\\u" not in text and "\u200c" in text


def test_default_feed_is_one_file_per_run(tmp_path):
    env = scrapy_env(NEWSCRAWL_REPLAY=str(DEMO_CASSETTES), NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    assert run_scrapy("crawl", "tabnak", *ARCHIVE, env=env).returncode == 0
    assert run_scrapy("crawl", "tabnak", "-a", "mode=rss", env=env).returncode == 0
    runs = sorted((tmp_path / "tabnak").glob("*.jsonl"))
    assert len(runs) == 2
    counts = [len(p.read_text(encoding="utf-8").splitlines()) for p in runs]
    assert counts == [len(MANIFEST["archive_good_ids"]), len(MANIFEST["rss_only_good_ids"])]


def test_second_run_adds_nothing(tmp_path):
    crawl(tmp_path, *ARCHIVE)
    first = db_codes(tmp_path)
    _, report = crawl(tmp_path, "-a", "mode=rss")
    assert report["stored"] == len(MANIFEST["rss_only_good_ids"])
    _, again = crawl(tmp_path, *ARCHIVE)
    assert again["stored"] == 0
    codes = db_codes(tmp_path)
    assert len(codes) == len(set(codes)) == len(first) + len(MANIFEST["rss_only_good_ids"])


def test_contracts_offline(tmp_path):
    env = scrapy_env(NEWSCRAWL_REPLAY=str(DEMO_CASSETTES), NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    result = run_scrapy("check", "tabnak", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Ran 4 contracts" in result.stderr  # rss, archive: @returns; article: @returns, @scrapes
    assert "OK" in result.stderr
