"""Two `scrapy crawl` processes share one crawl through a real Redis server (scrapy-redis): both do
work, no URL is fetched twice, every article is stored once."""

import json
import re
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT, scrapy_env

pytestmark = pytest.mark.redis

N_ARTICLES = 300


@pytest.fixture
def site():
    """The local test site with generated articles, slowed down so that both workers get work."""
    proc = subprocess.Popen([sys.executable, "-m", "newscrawl.testsite", "--port", "0", "--articles",
                             str(N_ARTICLES), "--delay-ms", "100"], cwd=ROOT, env=scrapy_env(),
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    base = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_two_workers_share_one_crawl(tmp_path, site, redis_url):
    env = scrapy_env(NEWSCRAWL_REDIS_URL=redis_url, NEWSCRAWL_CRAWL_ID="t1", NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    workers = []
    for n in (1, 2):
        cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", "mode=archive", "-a",
               "since=1397/04/29", "-a", "until=1397/04/30", "-a", f"base_url={site}/gen",
               "-s", "NEWSCRAWL_REDIS_IDLE_CLOSE=3", "-s", "AUTOTHROTTLE_ENABLED=False",
               "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False", "-s", "CONCURRENT_REQUESTS=4",
               "-s", f"FEEDS={{\"{tmp_path}/w{n}.jsonl\": {{\"format\": \"jsonlines\"}}}}",
               "-s", "LOG_LEVEL=DEBUG", "--logfile", str(tmp_path / f"w{n}.log")]
        workers.append(subprocess.Popen(cmd, cwd=ROOT, env=env))
    for w in workers:
        assert w.wait(timeout=300) == 0
    fetched = []
    for n in (1, 2):
        log = (tmp_path / f"w{n}.log").read_text(encoding="utf-8")
        urls = re.findall(r"Crawled \(200\) <GET (\S+)>", log)
        articles = [u for u in urls if "/fa/news/" in u]
        assert articles, f"worker {n} fetched no article"
        fetched += urls
    assert len(fetched) == len(set(fetched)), "a URL was fetched twice"
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        codes = [r[0] for r in db.execute("SELECT news_code FROM articles")]
    assert len(codes) == len(set(codes)) == N_ARTICLES
    exported = [json.loads(line)["news_code"] for n in (1, 2)
                for line in (tmp_path / f"w{n}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(exported) == sorted(codes)
