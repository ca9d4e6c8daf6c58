"""Bounds (issue 13, cases 8 and 9): articles nested as deep as a browser renders them are extracted, and a
listing page with 100,000 links is read and crawled without holding its tree or all its requests.

Unit tests for the pure parts (the iterative text walk, `parse_page` and `flatten`, `listing_scan`, JSON-LD
walks), then crawls through the real engine against the test site's /deep and /listing pages (marker
`faults`)."""

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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from parsel import Selector
from scrapy.http import Request

from newscrawl.downloadermiddlewares.responses import PageResponse
from newscrawl.parsing import htmltext as html
from newscrawl.parsing import metadata
from newscrawl.parsing.pageindex import Compound, attribute_chain
from testkit.devservers import closing_stats
from testkit.testsite import (
    DEEP_SHAPES,
    GEN_ID_BASE,
    deep_page,
    generated_article,
    generated_page,
    listing_page,
    running,
)
from tests.conftest import ROOT, scrapy_env

ARCHIVE_LINKS = "div.linear_news a.title5::attr(href), div.archive_content a.title5::attr(href)"  # Tabnak's
ARCHIVE_NEXT = '//div[contains(@class, "pagination")]//a[contains(., "►")]/@href'


# -- case 8: deep markup ------------------------------------------------------------------------------------
def test_text_walk_goes_deeper_than_the_recursion_limit():
    """A tree built with lxml's API, deeper than Python's recursion limit and than libxml2's parser nests
    (lxml frees each element proxy in time proportional to its depth, so deeper trees are slow to build)."""
    root = etree.Element("div")
    node = root
    for level in range(5_000):
        node = etree.SubElement(node, "div")
        if level % 1_250 == 0:
            node.text = f"بند {level}"
            node.tail = "دنباله"
    page = Selector(root=root, type="html")
    assert sys.getrecursionlimit() < 5_000
    assert html.paragraphs(page) == ["بند 0", "بند 1250", "بند 2500", "بند 3750", "دنباله", "دنباله",
                                     "دنباله", "دنباله"]
    assert html.text_of([page]) == "بند 0 بند 1250 بند 2500 بند 3750 دنباله دنباله دنباله دنباله"


def _parse(body: str):
    return html.parse_page(body.encode("utf-8"), "utf-8", "http://127.0.0.1/deep")


@pytest.mark.parametrize("levels", [255, 2047, 2048, 3000, 100_000])
def test_parse_page_keeps_everything_after_a_deep_branch(levels):
    """libxml2 stops at 2,048 open elements (256 without huge_tree) and drops the rest of the page; the page
    is parsed again flattened, so what follows the deep branch is still there."""
    body = ("<html><body><div class='before'>پیش</div>" + "<div>" * levels + "<p>ژرف</p>" + "</div>" * levels
            + "<p class='after'>پس</p></body></html>")
    root = _parse(body)
    assert root.xpath("string(//div[@class='before'])") == "پیش"
    assert root.xpath("string(//p[@class='after'])") == "پس"
    assert "ژرف" in root.xpath("string(//body)")
    depth = max(len(list(el.iterancestors())) for el in root.iter())
    assert depth >= min(levels, html.KEEP_DEPTH)  # nested as deep as it was, or as deep as Chromium keeps it
    assert depth <= 2048


def test_plain_parse_would_lose_the_rest_and_parse_page_does_not(caplog):
    """The bug itself: parsel's parse (as the crawl used) ends at the depth limit."""
    from parsel.selector import create_root_node

    body = ("<html><body>" + "<div>" * 3000 + "</div>" * 3000 + "<p class='after'>پس</p></body></html>").encode()
    plain = create_root_node("", etree.HTMLParser, body=body, encoding="utf-8")
    assert plain.xpath("//p[@class='after']") == []
    with caplog.at_level("WARNING", logger="newscrawl.parsing.htmltext"):
        assert _parse(body.decode()).xpath("string(//p[@class='after'])") == "پس"
    assert "markup nested deeper than libxml2's limit" in caplog.text


@st.composite
def nested(draw, depth=0):
    """(HTML, the words it holds in document order), with branches thousands of elements deep."""
    words, parts = [], []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["word", "deep", "child"] if depth < 3 else ["word", "deep"]))
        if kind == "word":
            word = draw(st.sampled_from(["خبر", "نیم\u200cفاصله", "sport", "۱۳۹۷"]))
            parts.append(f"<span>{word}</span> ")
            words.append(word)
        elif kind == "deep":
            levels = draw(st.sampled_from([10, 600, 1600, 2100, 5000]))
            tag = draw(st.sampled_from(["<div>", '<div class="x">', "<section>", "<b>"]))
            word = draw(st.sampled_from(["ژرف", "deep"]))
            parts.append(tag * levels + f"<p>{word}</p>" + f"</{tag[1:].split()[0].rstrip('>')}>" * levels + " ")
            words.append(word)
        else:
            inner, inner_words = draw(nested(depth + 1))
            parts.append(f"<div>{inner}</div> ")
            words.extend(inner_words)
    return "".join(parts), words


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested())
def test_no_word_of_a_deep_page_is_lost(case):
    inner, words = case
    root = _parse(f"<html><body>{inner}</body></html>")
    assert root.xpath("string(//body)").split() == words


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<div>", "</div>", "<p>", "</p>", "<br>", "<img src=x>", "text", " ",
                                 "<!-- <div> -->", "<script>var a = '<div>';</script>", '<a href="x">',
                                 "</a>", "<li>", "<div/>", "&amp;", "<span title='a>b'>"]), max_size=60))
def test_flatten_leaves_a_page_of_normal_depth_alone(tokens):
    text = "".join(tokens)
    assert html.flatten(text) == text


def test_flatten_cuts_wrappers_then_everything_and_keeps_paragraphs_apart():
    body = "<div class='a'>" * 3000 + "<p>یک</p><p>دو</p>" + "</div>" * 3000
    flat = html.flatten(body)
    # wrappers below KEEP_DEPTH left out; the innermost holds two paragraphs, not one element: kept
    assert flat.count("<div class='a'>") == html.KEEP_DEPTH + 1
    two = "<div>" + "<div class='s'>x<p>y</p>" * 2000 + "</div>" * 2001  # filled: kept down to HARD_DEPTH
    assert html.flatten(two).count("<div class='s'>") == html.HARD_DEPTH - 1
    page = Selector(root=_parse(f"<html><body>{two}</body></html>"), type="html")
    assert html.paragraphs(page.css("body")[0]) == ["x", "y"] * 2000


def _item(extractor, body: str, url: str) -> dict:
    item = extractor.extract(body.encode("utf-8"), url)
    item.pop("crawled_at"), item.pop("captured_at")  # the time of the run
    return item


@pytest.fixture(scope="module")
def extractor():
    from scrapy.utils.project import get_project_settings

    from newscrawl.offline import Extractor
    from newscrawl.spiders.sites import TabnakSpider

    return Extractor(TabnakSpider, get_project_settings(), "https://www.tabnak.ir/fa/news/900001")


@pytest.mark.parametrize("levels", [1_000, 100_000])
@pytest.mark.parametrize("k", [1, 2, 3, 4])  # DEEP_SHAPES[k % 4]: classed, body, stairs, wrap
def test_deep_article_gives_the_same_item_as_the_page_without_nesting(extractor, k, levels):
    url = f"https://www.tabnak.ir/fa/news/{GEN_ID_BASE + k}"
    page = deep_page(k, levels)
    assert page.count("<div") >= levels
    deep, flat = _item(extractor, page, url), _item(extractor, generated_page(k), url)
    # on the flattened copy the h1 selector misses and JSON-LD gives the same title: only provenance differs
    assert {**deep, "provenance": None} == {**flat, "provenance": None}
    article = generated_article(k)
    assert deep["news_code"] == str(article.id) and article.title in deep["title"]
    assert len(deep["body"].split("\n\n")) == len([p for p in article.paragraphs if not p.startswith("img:")])


def _nest_json(inner: str, key: str, levels: int) -> str:
    """`inner` inside `levels` objects {key: [...]}: json.dumps would recurse as deep."""
    return f'{{"{key}": [' * levels + inner + "]}" * levels


def _ld_page(*scripts: str) -> PageResponse:
    body = "<html><head>" + "".join(f'<script type="application/ld+json">{s}</script>' for s in scripts)
    return PageResponse(url="http://127.0.0.1/x", body=(body + "</head><body></body></html>").encode(),
                        request=Request("http://127.0.0.1/x"))


def test_deep_json_ld_is_skipped_not_fatal():
    too_deep = "[" * 100_000 + "]" * 100_000  # deeper than json's recursion limit: RecursionError, not ValueError
    article = _nest_json('{"@type": "NewsArticle", "headline": "تیتر"}', "@graph", 100)
    assert metadata.jsonld_article(_ld_page(too_deep, article))["headline"] == "تیتر"
    crumbs = _nest_json('{"@type": "BreadcrumbList", "itemListElement": [{"position": 1, "name": "سیاسی"}]}',
                        "x", 100)
    assert metadata.ld_breadcrumb(_ld_page(too_deep, crumbs)) == ["سیاسی"]


def test_json_ld_walks_go_deeper_than_the_recursion_limit():
    """json.loads stops near Python's recursion limit, but only just: a walk that recursed on top of a
    callback's stack would not reach as deep. Built here without json: 5,000 levels."""
    data = {"@type": "NewsArticle", "headline": "ژرف"}
    for _ in range(5_000):
        data = {"@graph": [data]}
    assert [o.get("headline") for o in metadata._objects(data) if "headline" in o] == ["ژرف"]


# -- case 9: huge listings, the pure parts -----------------------------------------------------------------------
def test_attribute_chain_reads_only_what_a_scan_can_answer():
    chain, name = attribute_chain("div.linear_news a.title5::attr(href)")
    assert name == "href" and chain == (Compound("div", ("linear_news",), ()), Compound("a", ("title5",), ()))
    assert attribute_chain("#main .list > a::attr(href)") is None  # a child combinator
    assert attribute_chain("a.title5::text") is None
    assert attribute_chain("a[href]::attr(href)") is None


def test_listing_scan_reads_the_links_of_the_test_listing_and_keeps_the_rest():
    page = listing_page(1000, "/listing/1000/articles") + (
        '<div class="pagination"><a href="/next?page=2">►</a></div>')
    links, rest = html.listing_scan(page, ARCHIVE_LINKS, keep=5)
    expected = []
    for k in range(1000, 0, -1):
        expected += [f"/listing/1000/articles/fa/news/{GEN_ID_BASE + k}"] * (2 if k % 10 == 0 else 1)
    assert links == expected
    kept = Selector(text=rest)
    assert kept.css(ARCHIVE_LINKS).getall() == expected[:5]  # five list items left for the callback
    assert kept.xpath(ARCHIVE_NEXT).getall() == ["/next?page=2"]  # and the pagination
    assert len(rest) < len(page) // 50


def test_listing_scan_matches_parsel_on_real_and_fixture_pages():
    pages = sorted((ROOT / "tests" / "pages").rglob("*.htm*"))
    real = ROOT.parent / "shared" / "realpages"
    pages += sorted(real.rglob("*.html")) if real.is_dir() else []
    assert len(pages) >= 10
    queries = [ARCHIVE_LINKS, "a::attr(href)", "div a::attr(href)", ".news_path a::attr(href)", "img::attr(src)",
               "meta::attr(content)", "link::attr(href)", "ul li a::attr(title)"]
    for path in pages:
        text = path.read_text(encoding="utf-8", errors="replace")
        for query in queries:
            assert html.listing_scan(text, query)[0] == Selector(text=text).css(query).getall(), (path, query)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    '<div class="linear_news">', "</div>", '<a class="title5" href="/n/1">', '<a class="title5 x" href="/n/2">',
    "<a href='/n/3' class=title5>", "</a>", "<div>", "<p>", "</p>", "<li>", "<br>", "متن", "&amp;",
    '<div class="archive_content">', '<a class="title5" href="/n/4?a=1&amp;b=2">', "<!-- <a class=title5 href=/c> -->",
    "<script>'<a class=\"title5\" href=\"/s\">'</script>", '<img class="title5" src="x">']), max_size=50))
def test_listing_scan_matches_parsel_on_random_listings(tokens):
    text = "<html><body>" + "".join(tokens) + "</body></html>"
    links, rest = html.listing_scan(text, ARCHIVE_LINKS, keep=3)
    assert links == Selector(text=text).css(ARCHIVE_LINKS).getall()


def test_listing_scan_of_latin1_read_bytes_decodes_the_links():
    page = '<div class="linear_news"><a class="title5" href="/fa/news/1/خبر-تازه">1</a></div>' * 2
    for encoding in ("utf-8", "cp1256"):
        raw = page.encode(encoding).decode("latin-1")
        links, _ = html.listing_scan(raw, ARCHIVE_LINKS, encoding=encoding)
        assert links == ["/fa/news/1/خبر-تازه"] * 2


# -- through the engine --------------------------------------------------------------------------------------------
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=16",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16")


@pytest.fixture(scope="module")
def site():
    with running(0, env=scrapy_env()) as (base, _):
        yield base


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3",
                      NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"), NEWSCRAWL_ALLOW_PRIVATE="1", **extra)


def _crawl(tmp_path: Path, base: str, *args: str, timeout: int = 120, **env: str) -> str:
    result = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}", *args,
                             *FAST], cwd=ROOT, env=_env(tmp_path, **env), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def _db(tmp_path: Path) -> dict[str, dict]:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return {row["news_code"]: dict(row) for row in db.execute("SELECT news_code, title, body FROM articles")}


def _feed(tmp_path: Path) -> list[str]:
    path = tmp_path / "items.jsonl"
    return [json.loads(line)["news_code"] for line in path.read_text(encoding="utf-8").splitlines()] if (
        path.exists()) else []



@pytest.mark.faults
@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_deep_articles_are_stored_by_a_crawl(site, tmp_path, extractor, levels):
    ids = range(GEN_ID_BASE + 1, GEN_ID_BASE + 9)  # two of each DEEP_SHAPES
    log = _crawl(tmp_path, f"{site}/deep/{levels}", "-a", "mode=ids", "-a", f"ids={ids[0]}-{ids[-1]}")
    stored = _db(tmp_path)
    assert set(stored) == {str(i) for i in ids}
    assert sorted(_feed(tmp_path)) == sorted(stored)
    for code, row in stored.items():
        k = int(code) - GEN_ID_BASE
        flat = _item(extractor, generated_page(k), f"https://www.tabnak.ir/fa/news/{code}")
        assert (row["title"], row["body"]) == (flat["title"], flat["body"]), DEEP_SHAPES[k % 4]
    stats = closing_stats(log)
    assert "newscrawl/parse_errors" not in stats
    assert ("markup nested deeper than libxml2's limit" in log) == (levels > 2048)


LISTING = 1_500  # links (every 10th twice); small articles behind them


@pytest.mark.faults
def test_a_huge_listing_is_scanned_and_its_links_wait_in_the_backlog(site, tmp_path):
    """A listing read without its tree (over NEWSCRAWL_LISTING_STREAM_BYTES, lowered here) and its links
    scheduled 200 at a time: every article once in the database and the feed."""
    log = _crawl(tmp_path, f"{site}/listing/{LISTING}/articles", *ARCHIVE,
                 "-s", "NEWSCRAWL_LISTING_STREAM_BYTES=50000", "-s", "NEWSCRAWL_LISTING_QUEUE=200")
    expected = {str(GEN_ID_BASE + k) for k in range(1, LISTING + 1)}
    assert set(_db(tmp_path)) == expected
    assert sorted(_feed(tmp_path)) == sorted(expected)
    stats = closing_stats(log)
    assert stats["newscrawl/listing/scanned"] == 1
    assert stats["newscrawl/listing/archive_links"] == LISTING + LISTING // 10
    # the scheduler drains while the callback runs, so a few more than 200 go straight to it
    assert LISTING // 2 <= stats["newscrawl/listing/deferred"] <= LISTING - 200
    assert stats["newscrawl/listing/backlog_max"] <= LISTING
    assert stats["downloader/response_count"] == LISTING + 2  # robots.txt, the listing: each article once
    assert "newscrawl/listing/not_requested" not in stats


@pytest.mark.faults
def test_a_jobdir_crawl_of_a_huge_listing_keeps_its_requests_on_disk(site, tmp_path):
    log = _crawl(tmp_path, f"{site}/listing/{LISTING}/articles", *ARCHIVE, "-s", f"JOBDIR={tmp_path / 'job'}",
                 "-s", "NEWSCRAWL_LISTING_STREAM_BYTES=50000", "-s", "NEWSCRAWL_LISTING_QUEUE=200")
    expected = {str(GEN_ID_BASE + k) for k in range(1, LISTING + 1)}
    assert set(_db(tmp_path)) == expected and sorted(_feed(tmp_path)) == sorted(expected)
    stats = closing_stats(log)
    assert "newscrawl/listing/deferred" not in stats  # the disk queue holds them: no backlog
    assert stats["scheduler/enqueued/disk"] >= LISTING


@pytest.mark.faults
def test_a_stopped_crawl_counts_its_backlog_and_the_next_run_completes_it(site, tmp_path):
    """SIGTERM while links wait: the crawl says how many were never requested; the same command again walks
    the listing and fetches only what the database lacks. Every article ends up once in each store."""
    base = f"{site}/listing/{LISTING}/articles"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}", *ARCHIVE, *FAST,
           "-s", "NEWSCRAWL_LISTING_QUEUE=100", "-s", "CONCURRENT_REQUESTS=2", "-L", "DEBUG"]  # "Crawled" lines
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(re.findall(r"Crawled \(200\) <GET \S+/fa/news/",
                                                             log_path.read_text())) < 200:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) in (0, 1)
    first = closing_stats(log_path.read_text())
    waiting = first["newscrawl/listing/not_requested"]
    assert 0 < waiting < LISTING
    assert re.search(rf"{waiting} article links of listing pages were never requested", log_path.read_text())
    stored_first = set(_db(tmp_path))
    assert stored_first and sorted(_feed(tmp_path)) == sorted(stored_first)
    log = _crawl(tmp_path, base, *ARCHIVE)
    expected = {str(GEN_ID_BASE + k) for k in range(1, LISTING + 1)}
    assert set(_db(tmp_path)) == expected
    assert sorted(_feed(tmp_path)) == sorted(expected)  # both runs' lines: each article once
    assert closing_stats(log)["newscrawl/incremental/skipped"] == len(stored_first)


@pytest.mark.faults
@pytest.mark.redis
def test_a_fleet_worker_crawls_a_huge_listing_through_redis(site, tmp_path, redis_url):
    """With a Redis fleet the shared queue holds the requests (outside the worker, surviving it): no backlog."""
    log = _crawl(tmp_path, f"{site}/listing/{LISTING}/articles", *ARCHIVE, "-s", "NEWSCRAWL_REDIS_IDLE_CLOSE=2",
                 "-s", "NEWSCRAWL_LISTING_QUEUE=200", NEWSCRAWL_REDIS_URL=redis_url,
                 NEWSCRAWL_CRAWL_ID=f"bounds-{time.time_ns()}")
    expected = {str(GEN_ID_BASE + k) for k in range(1, LISTING + 1)}
    assert set(_db(tmp_path)) == expected and sorted(_feed(tmp_path)) == sorted(expected)
    assert "newscrawl/listing/deferred" not in closing_stats(log)
