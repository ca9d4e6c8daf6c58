"""The local test site: demo pages over real HTTP with the host rewritten, the generated /gen site in the
Tabnak structure, 404s, the fault endpoints, the command line, and a real Scrapy crawl against it."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlsplit
from urllib.request import HTTPRedirectHandler, build_opener

import pytest
from parsel import Selector

from testkit.demo.build import MANIFEST
from testkit.testsite import SiteServer, clean_env, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = "/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30"


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = build_opener(_NoRedirect)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with _opener.open(quote(url, safe=":/?&=%"), timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="module")
def site():
    server, base = serve_in_thread(port=0, articles=120)
    yield base
    server.close()


def test_base_url_is_loopback_with_a_real_port(site):
    parts = urlsplit(site)
    assert parts.hostname == "127.0.0.1" and parts.port and parts.port > 0


def test_demo_feed_links_point_at_the_test_site(site):
    status, headers, body = get(site + "/fa/rss/allnews")
    assert status == 200 and headers["Content-Type"] == "text/xml; charset=utf-8"
    feed = body.decode()
    assert "www.tabnak.ir" not in feed
    links = re.findall(r"<link>\s*(\S+?)\s*</link>", feed)
    assert links[0] == site  # the channel link
    assert len(links) == 13 and all(link.startswith(site + "/fa/news/") for link in links[1:])


def test_demo_article_is_served_with_its_structure(site):
    status, _, body = get(site + "/fa/news/818242")
    assert status == 200
    page = Selector(text=body.decode())
    assert page.css(".gutter_news h1.Htag a::text").get().strip() == (
        "نشست هیئت دولت با محوریت بازار ارز/تأکید بر شفافیت در تخصیص ارز دولتی")
    assert page.css(".fa_date::text").get() == "۳۰ تير ۱۳۹۷ - ۰۰:۲۰"
    assert page.css('meta[property="og:url"]::attr(content)').get() == site + "/fa/news/818242"
    ld = page.css('script[type="application/ld+json"]::text').get()
    assert json.loads(ld)["publisher"]["url"] == site  # PHP-escaped http:\/\/ links are rewritten too


def test_slug_forms_and_query_order(site):
    status, _, body = get(site + "/fa/news/818259/افتتاح-دو-ایستگاه-جدید-متروی-تهران")
    assert status == 200  # the https page wins over the recorded http:// 301 for the same path
    assert "۸۱۸۲۵۹".encode() in body
    assert get(site + "/fa/news/818259/any-slug-at-all")[0] == 200  # the CMS ignores the slug
    reordered = "/fa/archive?to_date=1397/04/30&rpp=100&page=2&from_date=1397/04/29"
    status, _, body = get(site + reordered)
    assert status == 200 and "◄".encode() in body and "►".encode() not in body
    assert get(site + ARCHIVE)[0] == 200


def test_robots_and_not_found(site):
    assert get(site + "/robots.txt")[2] == b"User-agent: *\nDisallow:\n"
    assert get(site + "/no/such/page")[0] == 404
    status, _, body = get(site + "/fa/news/818250")  # the demo's deleted article
    assert status == 404 and "یافت نشد".encode() in body


def test_generated_archive_pages(site):
    status, _, body = get(site + "/gen" + ARCHIVE)
    page = Selector(text=body.decode())
    links = page.css("div.linear_news a.title5::attr(href)").getall()
    assert status == 200 and len(links) == 50
    assert links[0].startswith("/gen/fa/news/900120/") and links[-1].startswith("/gen/fa/news/900071/")
    nxt = page.xpath('//div[contains(@class, "pagination")]//a[contains(., "►")]/@href').get()
    assert nxt == "/gen/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30&page=2"
    last = Selector(text=get(site + "/gen" + ARCHIVE + "&page=3")[2].decode())
    assert len(last.css("div.linear_news a.title5")) == 20  # 120 = 50 + 50 + 20
    assert not last.xpath('//div[contains(@class, "pagination")]//a[contains(., "►")]')


def test_generated_article_has_the_tabnak_structure(site):
    status, _, body = get(site + "/gen/fa/news/900010")
    assert status == 200
    page = Selector(text=body.decode())
    box = page.css("div.col-md-22.col-sm-24.gutter_news")
    assert box.css(".news_id_c::text").getall()[-1].strip() == "۹۰۰۰۱۰"
    assert re.fullmatch(r"[۰-۹]{2} تير ۱۳۹۷ - [۰-۹]{2}:[۰-۹]{2}", box.css(".fa_date::text").get())
    assert len(box.css("div.body > p")) >= 3
    assert box.css("div.body img::attr(src)").get() == "/gen/files/fa/news/1397/4/30/900010_1.jpg"
    assert "(گزارش ۱۰)" in box.css("h1.Htag a::text").get()
    assert get(site + "/gen/fa/news/900121")[0] == 404 and get(site + "/gen/fa/news/900000")[0] == 404


def test_generated_feed(site):
    feed = get(site + "/gen/fa/rss/allnews")[2].decode()
    links = re.findall(r"<link>\s*(\S+?)\s*</link>", feed)[1:]
    assert len(links) == 100 and links[0].startswith(site + "/gen/fa/news/900120/")


def test_fault_endpoints(site):
    status, _, body = get(site + "/fault/status/503")
    assert status == 503 and b"503" in body
    status, headers, _ = get(site + "/fault/redirect?to=/fa/rss/allnews&code=301")
    assert status == 301 and headers["Location"] == "/fa/rss/allnews"
    started = time.monotonic()
    status, _, body = get(site + "/fault/slow/300/robots.txt")
    assert time.monotonic() - started >= 0.3 and body == b"User-agent: *\nDisallow:\n"
    host, port = urlsplit(site).hostname, urlsplit(site).port
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/fault/drop")
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/fault/truncate/fa/news/818242")
    with pytest.raises(http.client.IncompleteRead):
        conn.getresponse().read()


def _depth(body: bytes) -> int:
    """The most <div>s open at once in a page (counted in the markup, not parsed: libxml2 stops at 2,048)."""
    depth = deepest = 0
    for tag in re.findall(rb"<(/?)div\b", body):
        depth += -1 if tag else 1
        deepest = max(deepest, depth)
    return deepest


def test_deep_articles(site):
    for k, shape in ((4, "wrap"), (1, "classed"), (2, "body"), (3, "stairs")):
        status, _, body = get(site + f"/deep/3000/fa/news/{900000 + k}/any-slug")
        assert status == 200, shape
        assert 3000 <= _depth(body) <= 3000 + 30, shape  # the levels asked for, on top of the page's own
        assert body.count(b'<div class="level">') == (3000 if shape == "classed" else 0)
        # the same article as /gen serves, with the nesting taken out
        assert re.sub(rb'<div( class="level")?>|</div>', b"", body) == re.sub(
            rb"<div>|</div>", b"", get(site + f"/gen/fa/news/{900000 + k}")[2]) or shape == "stairs"
    assert get(site + "/deep/x/fa/news/900001")[0] == 404
    assert get(site + "/deep/10/fa/news/1")[0] == 404


def test_huge_listing(site):
    status, _, body = get(site + "/listing/2000/articles/fa/archive?rpp=100&from_date=1397/04/29")
    links = Selector(text=body.decode()).css("div.linear_news a.title5::attr(href)").getall()
    assert status == 200 and len(links) == 2200 and len(set(links)) == 2000  # every 10th twice
    assert links[0] == "/listing/2000/articles/fa/news/902000" and links[-1] == "/listing/2000/articles/fa/news/900001"
    assert len(body) / 2200 < 16 * 2**20 / 110_000  # 100,000 links (110,000 listed) fit in DOWNLOAD_MAXSIZE
    assert get(site + "/listing/2000/articles/fa/news/902000")[0] == 200
    assert get(site + "/listing/2000/articles/fa/news/902001")[0] == 404
    assert get(site + "/listing/2000/missing/fa/news/900001")[0] == 404
    assert get(site + "/listing/2000/other/fa/archive")[0] == 404


def test_refuses_non_loopback_hosts():
    with pytest.raises(ValueError, match="loopback"):
        SiteServer(host="0.0.0.0")


def test_route_table_holds_every_corner():
    """Written by hand: the site's own routes and those of testkit.hostile, testkit.jspages and
    testkit.republished, which register on testkit.routes (importing the test site registers them all)."""
    from testkit.routes import ROUTES

    assert sorted(ROUTES) == ["/broken", "/challenge", "/deep", "/drift", "/fault/drop", "/fault/redirect",
                              "/fault/slow", "/fault/status", "/fault/truncate", "/gen", "/hostile", "/js",
                              "/jsgate", "/listing", "/republished"]


def test_command_line_prints_its_address_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "testkit.testsite", "--port", "0", "--articles", "3"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"serving on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        assert get(match[1] + "/gen/fa/news/900003")[0] == 200
        assert get(match[1] + "/gen/fa/news/900004")[0] == 404
        # the corners in their own modules (testkit.hostile, testkit.jspages) are served too
        for corner in ("/hostile", "/broken", "/js", "/jsgate"):
            status, _, body = get(match[1] + corner + "/fa/archive")
            assert status == 200 and b"/fa/news/" in body, (corner, status)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _crawl(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = clean_env(NEWSCRAWL_DATA_DIR=str(tmp_path), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "tabnak", *args, "-s", "DOWNLOAD_DELAY=0",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-O", f"{tmp_path}/items.jsonl", "-L", "INFO"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return result, [json.loads(line) for line in lines]


@pytest.mark.e2e
def test_scrapy_crawls_the_generated_site(site, tmp_path):
    """The real spider and downloader over HTTP: robots.txt, archive pagination, 120 article pages."""
    result, items = _crawl(tmp_path, "-a", f"base_url={site}/gen", "-a", "mode=archive", "-a", "since=1397/04/29",
                           "-a", "until=1397/04/30", "-s", "ITEM_PIPELINES={}",
                           # no pipelines, so no dates: the date coverage rule would fail this crawl
                           "-s", "SPIDERMON_FIELD_COVERAGE_RULES={}")
    assert sorted(int(i["news_code"]) for i in items) == list(range(900001, 900121))
    assert all(i["url"] == f"{site}/gen/fa/news/{i['news_code']}" for i in items)
    assert "'robotstxt/response_status_count/200': 1" in result.stderr
    assert "'downloader/response_status_count/200': 124" in result.stderr  # robots + 3 listings + 120


@pytest.mark.e2e
def test_scrapy_crawls_the_demo_snapshot_over_http(site, tmp_path):
    """The demo through the network path and the pipelines: same articles as the offline replay."""
    _, items = _crawl(tmp_path, "-a", f"base_url={site}", "-a", "mode=archive", "-a", "since=1397/04/29",
                      "-a", "until=1397/04/30")
    assert sorted(int(i["news_code"]) for i in items) == MANIFEST["archive_good_ids"]
    bad = next(i for i in items if int(i["news_code"]) == MANIFEST["bad_date_id"])
    assert bad["published_at"] is None and bad["published_at_raw"] == "۳۲ تیر ۱۳۹۷ - ۱۴:۱۵"
    _, items = _crawl(tmp_path, "-a", f"base_url={site}", "-a", "mode=rss")
    assert sorted(int(i["news_code"]) for i in items) == MANIFEST["rss_only_good_ids"]  # the rest are known
