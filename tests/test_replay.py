"""Replay and recording through Scrapy's HTTP cache with the betamax cassette backend
(newscrawl.extensions.cassettes): the file format (betamax can read it), byte-exact bodies, canonical
lookup, the missing-response path, a real record-then-replay crawl and an offline crawl of names that
never resolve, in Scrapy subprocesses. Also the demo snapshot's promised pages and its deterministic build."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import re
import subprocess
import sys
import threading
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from betamax.cassette import Cassette
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcache import HttpCacheMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from newscrawl.extensions.cassettes import (
    ReplayAddon,
    canonical,
    decoded,
    interaction,
    load_cassette,
    load_cassettes,
    save_cassette,
)
from testkit.demo import CASSETTE, CASSETTE_DIR
from testkit.demo.build import MANIFEST
from testkit.devservers import closing_stats
from tests.conftest import run_scrapy, scrapy_env

ROOT = Path(__file__).resolve().parents[1]
AT = "2020-01-02T03:04:05"


def _cassette(tmp_path: Path, name: str = "site.json") -> Path:
    entries = [
        interaction("https://example.test/a?b=2&a=1", 200,
                    {"Content-Type": ["text/html; charset=utf-8"], "Content-Length": ["999"],
                     "Set-Cookie": ["x=1", "y=2"]},
                    "<html><title>سلام\u200cدنیا</title></html>".encode(), recorded_at=AT),
        interaction("https://example.test/feed", 200, {"Content-Type": ["text/xml"]},
                    b'<?xml version="1.0"?><rss><channel/></rss>', recorded_at=AT),
        interaction("https://example.test/blob", 200, {"Content-Type": ["application/octet-stream"]},
                    b"\x00\xff\xfe raw \r\n bytes", recorded_at=AT),
        interaction("https://example.test/fa/news/1/سلام\u200cدنیا", 200, {"Content-Type": ["text/plain"]},
                    b"persian path", recorded_at=AT),
        interaction("https://example.test/old", 301, {"Location": ["https://example.test/feed"]}, b"",
                    recorded_at=AT),
    ]
    return save_cassette(tmp_path / name, entries)


# -- cassette files ----------------------------------------------------------------------------------------
def test_cassette_roundtrip_is_byte_exact(tmp_path):
    rec = load_cassettes(_cassette(tmp_path).parent)
    blob = rec["https://example.test/blob"]
    assert blob.body == b"\x00\xff\xfe raw \r\n bytes"
    page = rec["https://example.test/a?a=1&b=2"]
    assert page.status == 200
    assert page.body.decode() == "<html><title>سلام\u200cدنیا</title></html>"
    assert page.headers["Set-Cookie"] == ["x=1", "y=2"]
    assert "Content-Length" not in page.headers  # bodies are whole and decoded: the length would lie
    assert rec["https://example.test/old"].headers["Location"] == ["https://example.test/feed"]


def test_cassette_file_is_betamax_json(tmp_path):
    path = _cassette(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    first = data["http_interactions"][0]
    assert first["recorded_at"] == AT
    assert first["request"]["method"] == "GET"
    assert first["request"]["uri"] == "https://example.test/a?b=2&a=1"
    assert first["response"]["status"] == {"code": 200, "message": "OK"}
    assert base64.b64decode(first["response"]["body"]["base64_string"]).startswith(b"<html><title>")
    # the non-ASCII path is stored percent-encoded, as a client sends it
    assert data["http_interactions"][3]["request"]["uri"] == (
        "https://example.test/fa/news/1/%D8%B3%D9%84%D8%A7%D9%85%E2%80%8C%D8%AF%D9%86%DB%8C%D8%A7")


def test_betamax_itself_reads_our_cassette(tmp_path):
    _cassette(tmp_path, "ours.json")
    cassette = Cassette("ours", "json", record_mode="none", cassette_library_dir=str(tmp_path))
    assert len(cassette.interactions) == 5
    response = cassette.interactions[2].as_response()
    assert response.status_code == 200
    assert response.content == b"\x00\xff\xfe raw \r\n bytes"
    assert cassette.interactions[4].as_response().headers["Location"] == "https://example.test/feed"


def test_betamax_reads_the_demo_snapshot():
    cassette = Cassette("tabnak", "json", record_mode="none", cassette_library_dir=str(CASSETTE_DIR))
    by_url = {i.data["request"]["uri"]: i.as_response() for i in cassette.interactions}
    page = by_url["https://www.tabnak.ir/fa/news/818242"]
    assert page.status_code == 200
    assert "۸۱۸۲۴۲".encode() in page.content


def test_later_cassette_file_wins(tmp_path):
    save_cassette(tmp_path / "a-old.json", [interaction("http://h/x", 200, {}, b"old", recorded_at=AT)])
    save_cassette(tmp_path / "b-new.json", [interaction("http://h/x", 200, {}, b"new", recorded_at=AT)])
    assert load_cassettes(tmp_path)["http://h/x"].body == b"new"


def test_gzip_body_from_another_recorder_is_decoded(tmp_path):
    """Betamax keeps the wire encoding when a response was gzipped; replay must hand Scrapy plain bytes."""
    packed = gzip.compress("<p>متن</p>".encode())
    data = {"http_interactions": [{
        "request": {"body": {"encoding": "utf-8", "string": ""}, "headers": {}, "method": "GET",
                    "uri": "http://h/z"},
        "response": {"body": {"encoding": None, "base64_string": base64.b64encode(packed).decode()},
                     "headers": {"Content-Encoding": ["gzip"], "Content-Type": ["text/html"]},
                     "status": {"code": 200, "message": "OK"}, "url": "http://h/z"},
        "recorded_at": AT}], "recorded_with": "betamax/0.9.0"}
    (tmp_path / "z.json").write_text(json.dumps(data), encoding="utf-8")
    rec = load_cassette(tmp_path / "z.json")["http://h/z"]
    assert rec.body == "<p>متن</p>".encode()
    assert "Content-Encoding" not in rec.headers


def test_recording_decodes_within_the_size_limit_only():
    """A recording keeps what zlib cannot undo, or what would inflate past DOWNLOAD_MAXSIZE, encoded (its
    header kept), for Scrapy's HttpCompressionMiddleware to undo or refuse on replay."""
    packed = gzip.compress(b"a" * 10_000)
    wire = {"Content-Encoding": ["gzip"], "Content-Length": [str(len(packed))], "Content-Type": ["text/html"]}
    assert decoded(packed, wire, limit=20_000) == (b"a" * 10_000, {"Content-Type": ["text/html"]})
    assert decoded(packed, wire, limit=1_000) == (packed, {"Content-Type": ["text/html"],
                                                         "Content-Encoding": ["gzip"]})
    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # raw deflate, as some servers send "deflate"
    raw = squeezer.compress("متن\u200cها".encode()) + squeezer.flush()
    assert decoded(raw, {"Content-Encoding": ["deflate"]}) == ("متن\u200cها".encode(), {})
    assert decoded(b"\x1f\x8bnot gzip", {"Content-Encoding": ["br, gzip"]}) == (
        b"\x1f\x8bnot gzip", {"Content-Encoding": ["br, gzip"]})


# -- Scrapy's HTTP cache with the addon ------------------------------------------------------------------------
ADDON = {"newscrawl.extensions.cassettes.ReplayAddon": 0}


def _middleware(settings: dict) -> tuple[HttpCacheMiddleware, object]:
    """Scrapy's own middleware, configured by the addon as in a crawl."""
    crawler = get_crawler(Spider, {"ADDONS": ADDON, **settings})
    crawler.stats.open_spider()
    crawler.spider = crawler._create_spider("replayed")
    middleware = HttpCacheMiddleware.from_crawler(crawler)
    middleware.spider_opened(crawler.spider)  # as the engine does when the spider opens
    return middleware, crawler


def test_addon_turns_on_scrapys_http_cache_over_the_folder(tmp_path):
    settings = Settings({"NEWSCRAWL_REPLAY": str(tmp_path)})
    ReplayAddon().update_settings(settings)
    assert settings.getbool("HTTPCACHE_ENABLED") is True
    assert settings["HTTPCACHE_DIR"] == str(tmp_path)
    assert settings["HTTPCACHE_STORAGE"] == "newscrawl.extensions.cassettes.CassetteStorage"
    assert settings["HTTPCACHE_POLICY"] == "scrapy.extensions.httpcache.DummyPolicy"
    assert settings.getbool("HTTPCACHE_IGNORE_MISSING") is True
    recording = Settings({"NEWSCRAWL_REPLAY": str(tmp_path), "NEWSCRAWL_RECORD": "1"})
    ReplayAddon().update_settings(recording)
    assert recording.getbool("HTTPCACHE_IGNORE_MISSING") is False  # recording downloads what it lacks


def test_addon_is_off_without_a_replay_dir():
    with pytest.raises(NotConfigured):
        ReplayAddon().update_settings(Settings({}))
    with pytest.raises(NotConfigured, match="NEWSCRAWL_RECORD=1 needs NEWSCRAWL_REPLAY"):
        ReplayAddon().update_settings(Settings({"NEWSCRAWL_RECORD": "1"}))
    with pytest.raises(NotConfigured):  # so Scrapy's middleware stays off too
        _middleware({})


def test_replay_dir_without_cassettes_is_an_error(tmp_path):
    """An offline run must never quietly fall back to the network."""
    with pytest.raises(ValueError, match="no recorded responses"):
        _middleware({"NEWSCRAWL_REPLAY": str(tmp_path)})


def test_replay_answers_with_the_right_response_class(tmp_path):
    mw, crawler = _middleware({"NEWSCRAWL_REPLAY": str(_cassette(tmp_path).parent)})
    page = mw.process_request(Request("https://example.test/a?a=1&b=2#top"))  # other order, a fragment
    assert type(page) is HtmlResponse
    assert page.url == "https://example.test/a?a=1&b=2#top"
    assert page.css("title::text").get() == "سلام\u200cدنیا"
    assert b"Content-Length" not in page.headers
    assert "cached" in page.flags
    assert type(mw.process_request(Request("https://example.test/feed"))) is XmlResponse
    text = mw.process_request(Request("https://example.test/fa/news/1/سلام\u200cدنیا"))
    assert isinstance(text, TextResponse) and text.body == b"persian path"
    moved = mw.process_request(Request("https://example.test/old"))
    assert moved.status == 301 and moved.headers["Location"] == b"https://example.test/feed"
    assert crawler.stats.get_value("httpcache/hit") == 4


def test_missing_response_is_logged_counted_and_ignored(tmp_path, caplog):
    directory = _cassette(tmp_path).parent
    mw, crawler = _middleware({"NEWSCRAWL_REPLAY": str(directory)})
    with caplog.at_level(logging.INFO, logger="newscrawl.extensions.cassettes"):
        with pytest.raises(IgnoreRequest):
            mw.process_request(Request("https://example.test/nope"))
        with pytest.raises(IgnoreRequest):  # RobotsTxtMiddleware then allows the site, as with no robots.txt
            mw.process_request(Request("https://example.test/robots.txt"))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"no recorded response for https://example.test/nope in {directory}"]
    assert "no recorded https://example.test/robots.txt: every page of its site is allowed" in caplog.text
    assert crawler.stats.get_value("httpcache/miss") == 2
    assert crawler.stats.get_value("httpcache/ignore") == 2
    assert crawler.stats.get_value("newscrawl/replay/missing") == 1  # robots.txt is no loss


@pytest.mark.e2e
def test_a_replayed_crawl_missing_a_page_fails_its_health_check(tmp_path):
    """The archive of a day the snapshot does not hold: robots.txt answers, the listing is missing. A live
    crawl would have fetched it, so the run is incomplete: exit 1 with the reason, never 'health passed'."""
    env = scrapy_env(NEWSCRAWL_REPLAY=str(CASSETTE_DIR), NEWSCRAWL_DATA_DIR=str(tmp_path))
    result = run_scrapy("crawl", "tabnak", "-a", "since=1397/05/10", "-a", "until=1397/05/10", env=env)
    assert result.returncode == 1, result.stderr[-2000:]
    assert ("newscrawl health check failed for tabnak: Offline replay/every page asked for was recorded: "
            "1 pages asked for are not in the recorded snapshot") in result.stderr


def test_record_mode_downloads_everything_and_keeps_each_hop(tmp_path):
    save_cassette(tmp_path / "old.json", [interaction("http://h/final", 200, {}, b"old", recorded_at=AT)])
    mw, crawler = _middleware({"NEWSCRAWL_REPLAY": str(tmp_path), "NEWSCRAWL_RECORD": "1"})
    start = Request("http://h/start", headers={"Authorization": "Basic c2VjcmV0", "Accept-Language": "fa",
                                               "Cookie": "session=1"})
    assert mw.process_request(start) is None  # already recorded or not, it goes to the network
    hop = Response("http://h/start", status=301, headers={"Location": "http://h/final"})
    assert mw.process_response(start, hop) is hop
    final = Request("http://h/final", headers={"Accept-Language": "fa"})
    assert mw.process_request(final) is None  # old.json has it: recording serves nothing
    packed = gzip.compress("<html>تمام\u200cشد</html>".encode())
    wire = HtmlResponse("http://h/final", body=packed, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip", "Content-Length": str(len(packed))})
    assert mw.process_response(final, wire) is wire
    assert crawler.stats.get_value("httpcache/store") == 2
    mw.spider_closed(Spider(name="demo"))
    (path,) = tmp_path.glob("demo-*.json")
    assert re.fullmatch(r"demo-\d{8}T\d{6}Z\.json", path.name)
    rec = load_cassette(path)
    assert rec["http://h/start"].status == 301
    assert rec["http://h/start"].headers["Location"] == ["http://h/final"]
    assert rec["http://h/final"].body == "<html>تمام\u200cشد</html>".encode()  # stored decoded
    saved = json.loads(path.read_text(encoding="utf-8"))["http_interactions"]
    assert saved[0]["request"]["headers"] == {"Accept-Language": ["fa"]}  # credentials never reach a file
    assert sorted(saved[1]["response"]["headers"]) == ["Content-Type", "Date"]  # Date: HttpCacheMiddleware's


# -- a real crawl: record from a live local server, then replay with the server gone -------------------------
SPIDER = '''
import hashlib
import scrapy


class RecSpider(scrapy.Spider):
    name = "rec"

    def __init__(self, base=None, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    async def start(self):
        yield scrapy.Request(self.base + "/index.html")

    def parse(self, response):
        yield {"url": response.url, "status": response.status, "title": response.css("title::text").get(),
               "sha1": hashlib.sha1(response.body).hexdigest()}
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href)
'''


class _Handler(SimpleHTTPRequestHandler):
    """Static files, plus /gz.html sent gzip-encoded (to prove cassettes store decoded bodies)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/gz.html":
            data = gzip.compress("<html><title>فشرده</title></html>".encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


def _run_spider(cwd: Path, base: str, cassettes: Path, out: str, record: bool,
                *extra: str) -> subprocess.CompletedProcess:
    # SCRAPY_SETTINGS_MODULE is left in os.environ by in-process get_project_settings() calls elsewhere
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_"))}
    env.update(TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="", PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "scrapy", "runspider", "spider.py", "-a", f"base={base}", "-o", out,
            "-s", f"NEWSCRAWL_REPLAY={cassettes}",
            "-s", f"ADDONS={json.dumps(ADDON)}",
            "-s", "TELNETCONSOLE_ENABLED=False", "-s", "REMOTE_CONTROL_ENABLED=False", "-L", "INFO", *extra]
    if record:
        args += ["-s", "NEWSCRAWL_RECORD=1"]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _items(path: Path) -> list[dict]:
    return sorted((json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()),
                  key=lambda i: i["url"])


def test_record_then_replay_a_real_crawl(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text(
        '<html><title>خانه</title><a href="/a.html">a</a> <a href="/sub">sub</a> <a href="/gz.html">gz</a>'
        "</html>", encoding="utf-8")
    (site / "a.html").write_text("<html><title>صفحه\u200cالف</title></html>", encoding="utf-8")
    (site / "sub" / "index.html").write_text("<html><title>زیر</title></html>", encoding="utf-8")
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    cassettes = tmp_path / "cassettes"

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        recorded = _run_spider(tmp_path, base, cassettes, "live.jsonl", record=True)
    finally:
        server.shutdown()
        server.server_close()
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    (cassette,) = cassettes.glob("rec-*.json")
    live = _items(tmp_path / "live.jsonl")
    assert [i["title"] for i in live] == ["صفحه\u200cالف", "فشرده", "خانه", "زیر"]
    assert live[-1]["url"] == f"{base}/sub/"  # reached through http.server's 301 from /sub

    data = json.loads(cassette.read_text(encoding="utf-8"))
    by_uri = {e["request"]["uri"]: e["response"] for e in data["http_interactions"]}
    assert by_uri[f"{base}/sub"]["status"]["code"] == 301
    gz = by_uri[f"{base}/gz.html"]
    assert "Content-Encoding" not in gz["headers"]
    assert base64.b64decode(gz["body"]["base64_string"]) == "<html><title>فشرده</title></html>".encode()

    replayed = _run_spider(tmp_path, base, cassettes, "replayed.jsonl", record=False)  # server is gone
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert "no recorded response" not in replayed.stderr
    stats = closing_stats(replayed.stderr)
    assert stats["httpcache/hit"] == 5  # index, a, gz, /sub (301), /sub/
    assert "httpcache/miss" not in stats
    assert _items(tmp_path / "replayed.jsonl") == live


def test_replay_resolves_no_name_and_obeys_only_recorded_robots(tmp_path):
    """`.invalid` names never resolve (RFC 2606), so any DNS lookup or connection would fail the pages.
    news.invalid has no recorded robots.txt (allowed, as today); other.invalid's recorded one forbids all."""
    html = {"Content-Type": ["text/html; charset=utf-8"]}
    save_cassette(tmp_path / "cassettes" / "site.json", [
        interaction("http://news.invalid/index.html", 200, html, (
            '<html><title>خانه</title><a href="/a.html">a</a> <a href="/gone.html">gone</a> '
            '<a href="http://other.invalid/x.html">x</a></html>').encode(), recorded_at=AT),
        interaction("http://news.invalid/a.html", 200, html, "<title>صفحه\u200cالف</title>".encode(),
                    recorded_at=AT),
        interaction("http://other.invalid/robots.txt", 200, {"Content-Type": ["text/plain"]},
                    b"User-agent: *\nDisallow: /\n", recorded_at=AT),
        interaction("http://other.invalid/x.html", 200, html, b"<title>x</title>", recorded_at=AT),
    ])
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    result = _run_spider(tmp_path, "http://news.invalid", tmp_path / "cassettes", "out.jsonl", False,
                         "-s", "ROBOTSTXT_OBEY=True")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [i["title"] for i in _items(tmp_path / "out.jsonl")] == ["صفحه\u200cالف", "خانه"]
    stats = closing_stats(result.stderr)
    assert stats["httpcache/hit"] == 3  # index, a, other.invalid's robots.txt
    assert stats["httpcache/ignore"] == 2  # news.invalid's robots.txt, gone.html
    assert stats["robotstxt/forbidden"] == 1  # x.html
    assert stats["log_count/ERROR"] == 1
    assert "no recorded response for http://news.invalid/gone.html" in result.stderr
    # those two and the forbidden one, nothing else (a lookup or connection would add its own error)
    assert stats["downloader/exception_count"] == 3
    assert stats["downloader/exception_type_count/scrapy.exceptions.IgnoreRequest"] == 3


# -- the demo snapshot ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    return load_cassettes(CASSETTE_DIR)


def _page(demo, url: str) -> str:
    return demo[canonical(url)].body.decode("utf-8")


def test_demo_build_is_deterministic_and_current():
    result = subprocess.run([sys.executable, "-m", "testkit.demo.build", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert CASSETTE.stat().st_size > 100_000


def test_demo_archive_pages_link_what_the_manifest_says(demo):
    page1 = _page(demo, "https://www.tabnak.ir/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30")
    page2 = _page(demo, "https://www.tabnak.ir/fa/archive?to_date=1397/04/30&from_date=1397/04/29&rpp=100&page=2")
    ids1 = [int(i) for i in re.findall(r'class="title5" href="/fa/news/(\d+)', page1)]
    assert ids1 == [818253, 818252, 818251, 818249, 818248, 818247, 818246, 818245, 818244, 818243, 818242,
                    818245]  # the last one is the bare link in the «ویژه» box
    assert 'href="/fa/news/818245"' in page1
    assert re.search(r'href="/fa/archive\?rpp=100&amp;from_date=1397/04/29&amp;to_date=1397/04/30&amp;page=2">►',
                     page1)
    assert len(re.findall(r'class="title5" href="/fa/news/(\d+)/', page2)) == 12
    assert "►" not in page2
    assert len(MANIFEST["archive_good_ids"]) == 22 and len(MANIFEST["rss_only_good_ids"]) == 6


def test_demo_rss_links_are_http_and_redirect(demo):
    feed = _page(demo, "https://www.tabnak.ir/fa/rss/allnews")
    links = re.findall(r"<link>\s*(http://www\.tabnak\.ir/fa/news/\d+/\S+?)\s*</link>", feed)
    assert len(links) == 12
    assert "<link>\n                http://www.tabnak.ir/fa/news/" in feed  # wrapped like the real feed
    assert "<pubDate>22 Jul 2018 08:45:12 +0430</pubDate>" in feed
    assert feed.count("            <description>") == 3  # three items have one (plus the channel)
    for link in links:
        hop = demo[canonical(link)]
        assert hop.status == 301
        assert demo[canonical(hop.headers["Location"][0])].status == 200


def test_demo_pages_carry_the_promised_traps(demo):
    contract = _page(demo, "https://www.tabnak.ir/fa/news/818242")
    assert '<sapn class="fa_date">۳۰ تير ۱۳۹۷ - ۰۰:۲۰</sapn>' in contract
    assert re.search(r'<span\s+class="news_title">کد خبر: </span> ۸۱۸۲۴۲ </div>', contract)
    assert '"datePublished": "2018-07-21T00:20:18+04:30"' in contract
    assert '"headLine": "\\u0646\\u0634\\u0633\\u062a' in contract  # PHP-escaped, shorter than the h1
    assert '<div class="comm_info_date">۰۱:۲۰ - ۱۳۹۷/۰۴/۳۰</div>' in contract
    assert re.search(r'<div class="tags_title"> برچسب ها: <a [^>]*>هیئت دولت</a>', contract)
    assert re.search(r'<div class="wrapper"></div> </div>\s*<div class="adv_news">', contract)
    assert "<span>خبرهای مرتبط</span>" in contract
    seed = _page(demo, "https://www.tabnak.ir/fa/news/818240")
    assert '<div class="body"> <p>به گزارش مهر،' in seed and "مللٰ" in seed
    bad = _page(demo, "https://www.tabnak.ir/fa/news/818236")
    assert "۳۲ تير ۱۳۹۷ - ۱۴:۱۵" in bad and "datePublished" not in bad
    assert 'class="body"' not in _page(demo, "https://www.tabnak.ir/fa/news/818247")
    digits = _page(demo, "https://www.tabnak.ir/fa/news/818249")
    assert "١٦٠٠" in digits and "١۴" in digits and "اين" in digits
    assert "كشور" in _page(demo, "https://www.tabnak.ir/fa/news/818237")
    assert "&zwnj;" in _page(demo, "https://www.tabnak.ir/fa/news/818230")
    assert demo["https://www.tabnak.ir/fa/news/818250"].status == 404
    assert demo["https://www.tabnak.ir/robots.txt"].body == b"User-agent: *\nDisallow:\n"
