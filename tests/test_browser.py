"""JavaScript pages (newscrawl.downloadermiddlewares.rendering) through real `scrapy crawl` processes against the local test site:
a listing filled by JavaScript, a JavaScript cookie challenge (testkit.jspages), plain crawls that must
never start the browser, bounded pages and recycled contexts, and a missing Chromium.

Chromium is Debian's (`apt-get install chromium`) or NEWSCRAWL_CHROMIUM. Without it the tests that need
it are skipped, and fail under NEWSCRAWL_REQUIRE_SERVERS=1 (.ci/run)."""

from __future__ import annotations

import re
import sqlite3

import pytest
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from newscrawl import settings as project_settings
from newscrawl.downloadermiddlewares import rendering
from newscrawl.downloadermiddlewares.rendering import assess, browser_selector, preflight
from newscrawl.spiders.sites import IsnaSpider, TabnakSpider
from testkit.demo.build import MANIFEST
from testkit.devservers import closing_stats
from testkit.jspages import (
    GATE_CHALLENGED,
    GATE_PLAIN,
    GATE_REFUSED,
    JS_IDS,
    challenge_page,
    js_listing,
)
from testkit.testsite import running
from tests.conftest import REQUIRE_SERVERS, run_scrapy, scrapy_env

pytestmark = pytest.mark.browser

ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
INSTALL_LINE = "apt-get install -y chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser the crawls will launch, found as the crawler finds it (rendering.chromium_path)."""
    settings = Settings()
    path = rendering.chromium_path(settings)
    if not rendering.chromium_available(settings):
        reason = f"Chromium not found at {path} (apt-get install chromium, or set NEWSCRAWL_CHROMIUM)"
        if REQUIRE_SERVERS:
            pytest.fail(reason + " (NEWSCRAWL_REQUIRE_SERVERS=1)")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def site():
    """The test site as its own process, with 10 generated articles under /gen."""
    with running(10, env=scrapy_env()) as (base, _):
        yield base


def crawl(tmp_path, base: str, *args: str, chromium: str = "", debug: bool = False, code: int = 0):
    """`scrapy crawl tabnak` against `base`, exiting with `code` (1: a failed health check); returns (log,
    stats from Scrapy's closing dump)."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    if chromium:
        env["NEWSCRAWL_CHROMIUM"] = chromium
    result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", *args, *FAST,
                        "-L", "DEBUG" if debug else "INFO", env=env, timeout=120)
    assert result.returncode == code, result.stderr[-3000:]
    return result.stderr, closing_stats(result.stderr)


def stored_codes(tmp_path) -> list[str]:
    db = tmp_path / "news.sqlite3"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return sorted(row[0] for row in conn.execute("SELECT news_code FROM articles"))


def browser_keys(stats: dict) -> list[str]:
    return sorted(k for k in stats if k.startswith(("playwright/", "newscrawl/render/")))


# -- JavaScript pages ------------------------------------------------------------------------------------
def test_listing_filled_by_javascript_is_retried_in_chromium(site, tmp_path, chromium):
    log, stats = crawl(tmp_path, site + "/js", *ARCHIVE, chromium=chromium)
    assert stored_codes(tmp_path) == [str(i) for i in JS_IDS]
    assert stats["newscrawl/render/retried"] == 1
    assert stats["newscrawl/render/retried/shell"] == 1
    assert stats["playwright/page_count"] == 1  # the listing only: its articles are plain pages
    assert stats["newscrawl/listing/archive_links"] == len(JS_IDS)
    assert "newscrawl/render/failed" not in stats


def test_listing_rendering_declared_for_the_crawl(site, tmp_path, chromium):
    log, stats = crawl(tmp_path, site + "/js", *ARCHIVE, "-s", "NEWSCRAWL_RENDER=listing", chromium=chromium)
    assert stored_codes(tmp_path) == [str(i) for i in JS_IDS]
    assert "newscrawl/render/retried" not in stats  # rendered at once, not after a plain try
    assert stats["newscrawl/render/pages"] == 1
    assert stats["playwright/page_count"] == 1


def test_cookie_challenge_passes_after_the_reload(site, tmp_path, chromium):
    log, stats = crawl(tmp_path, site + "/jsgate", *ARCHIVE, chromium=chromium, debug=True)
    assert stored_codes(tmp_path) == [str(GATE_PLAIN), str(GATE_CHALLENGED)]
    assert stats["newscrawl/render/retried"] == 1
    assert stats["newscrawl/render/retried/challenge"] == 1
    assert stats["playwright/page_count"] == 1
    # the plain try got the challenge (403); the rendered page is the article, with the final status
    assert re.search(rf"Crawled \(200\) <GET \S+/jsgate/fa/news/{GATE_CHALLENGED}> .*\['playwright'\]", log)
    assert len(re.findall(rf"Crawled \(\d+\) <GET \S+/fa/news/{GATE_PLAIN}>", log)) == 1
    assert not re.search(rf"/fa/news/{GATE_PLAIN}> .*\['playwright'\]", log)
    # the page's stylesheet, script and image on cdn.tabnak.ir never left the browser
    asked = re.findall(r"Request: <GET (\S+)>", log)
    aborted = set(re.findall(r"Aborted Playwright request <GET (\S+)>", log))
    offsite = [u for u in asked if not u.startswith(site)]
    assert offsite and set(offsite) <= aborted


def test_challenge_that_rendering_cannot_pass_is_an_error_with_the_url(site, tmp_path, chromium):
    url = f"{site}/jsgate/fa/news/{GATE_REFUSED}"
    log, stats = crawl(tmp_path, site + "/jsgate", "-a", f"url={url}", "-s", "NEWSCRAWL_RENDER_WAIT=2",
                       chromium=chromium, code=1)  # the one article asked for was not stored: a failed run
    errors = [line for line in log.splitlines() if " ERROR: " in line]
    assert len(errors) == 2, errors  # one line each: the page, the verdict
    assert url in errors[0] and "did not help" in errors[0]
    assert "health check failed" in errors[1] and "items were stored where items were expected" in errors[1]
    assert stats["newscrawl/render/retried"] == 1
    assert stats["newscrawl/render/failed"] == 1
    assert stored_codes(tmp_path) == []


def test_pages_are_closed_bounded_and_contexts_replaced(site, tmp_path, chromium):
    """10 articles rendered, 2 at a time at most, 3 pages per context: contexts 0-2 are closed during the
    crawl (the last one when the crawl ends)."""
    log, stats = crawl(tmp_path, site + "/gen", "-a", "ids=900001-900010", "-s", "NEWSCRAWL_RENDER=article",
                       "-s", "NEWSCRAWL_RENDER_CONTEXT_PAGES=3", "-s", "NEWSCRAWL_RENDER_MAX_PAGES=2",
                       chromium=chromium)
    assert stored_codes(tmp_path) == [str(900000 + k) for k in range(1, 11)]
    assert stats["playwright/page_count"] == 10
    assert stats["playwright/page_count/closed"] == 10
    assert stats["playwright/page_count/max_concurrent"] <= 2
    assert stats["playwright/context_count"] == 4
    assert stats["newscrawl/render/contexts_closed"] == 3


# -- the browser stays off -------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["", "/broken"])
def test_plain_crawl_never_starts_the_browser(site, tmp_path, prefix):
    """The demo archive, and /broken (half its articles have neither the expected title nor body)."""
    # /broken's changed template is read through the fallbacks (a warning, exit 0), and needs no browser
    log, stats = crawl(tmp_path, site + prefix, *ARCHIVE, code=0)
    assert browser_keys(stats) == []
    assert "Starting download handler" not in log and "Launching browser" not in log
    if prefix == "":
        assert stored_codes(tmp_path) == sorted(str(i) for i in MANIFEST["archive_good_ids"])
    else:
        assert len(stored_codes(tmp_path)) == 20  # 10 in the old template, 10 through the fallbacks


# -- Chromium missing ------------------------------------------------------------------------------------
def test_declared_rendering_without_chromium_stops_with_one_line(site, tmp_path):
    """`scrapy crawl` checks before it starts: one line on stderr, exit code 2, nothing fetched."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3", NEWSCRAWL_CHROMIUM="/nonexistent")
    result = run_scrapy("crawl", "tabnak", "-a", f"base_url={site}/js", *ARCHIVE, "-s", "NEWSCRAWL_RENDER=listing",
                        env=env, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and INSTALL_LINE in lines[0], result.stderr[-2000:]
    assert "/nonexistent" in lines[0] and "NEWSCRAWL_CHROMIUM" in lines[0]
    assert stored_codes(tmp_path) == []


def test_misspelled_render_setting_is_one_line(tmp_path):
    result = run_scrapy("crawl", "tabnak", "-s", "NEWSCRAWL_RENDER=listings",
                        env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3"), timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: NEWSCRAWL_RENDER:"), result.stderr[-2000:]


def test_challenge_without_chromium_is_skipped_and_the_crawl_goes_on(site, tmp_path):
    log, stats = crawl(tmp_path, site + "/jsgate", *ARCHIVE, chromium="/nonexistent")
    hint = [line for line in log.splitlines() if INSTALL_LINE in line]
    assert len(hint) == 1 and f"/fa/news/{GATE_CHALLENGED}" in hint[0]
    assert stats["finish_reason"] == "finished"
    assert stats["newscrawl/render/failed"] == 1
    assert stored_codes(tmp_path) == [str(GATE_PLAIN)]
    assert not [k for k in stats if k.startswith("playwright/")]


# -- detection, without a browser ------------------------------------------------------------------------
def _markers():
    return [re.compile(m, re.IGNORECASE) for m in project_settings.NEWSCRAWL_RENDER_MARKERS]


def _tabnak(key: str) -> str:
    return TabnakSpider.selector_map()[key]


@pytest.mark.parametrize("page, spider, keys", [
    ("tabnak/article-1.html", TabnakSpider, ("body", "title")),
    ("tabnak/listing-1.html", TabnakSpider, ("archive_links",)),
    ("isna/article-1.html", IsnaSpider, ("body", "title")),
])
def test_real_pages_are_not_taken_for_challenges_or_shells(realpage, page, spider, keys):
    selectors = spider.selector_map()
    response = HtmlResponse(f"https://example.org/{page}", body=realpage(page))
    assert assess(response, [selectors[k] for k in keys], _markers(), 200) is None


def test_challenge_and_shell_are_told_apart():
    article = [_tabnak("body"), _tabnak("title")]
    challenge = HtmlResponse("http://127.0.0.1/a", status=403, body=challenge_page(False).encode())
    shell = HtmlResponse("http://127.0.0.1/l", body=js_listing().encode(), encoding="utf-8")
    assert assess(challenge, article, _markers(), 200) == "challenge"
    assert assess(shell, [_tabnak("archive_links")], _markers(), 200) == "shell"
    assert assess(shell, [_tabnak("archive_links")], _markers(), 0) is None  # threshold respected
    # a 404 page is neither: no marker, and only a 200 can be a shell
    missing = HtmlResponse("http://127.0.0.1/x", status=404, body=b"<html><script></script></html>")
    assert assess(missing, article, _markers(), 200) is None


def test_spider_selectors_become_browser_selectors():
    assert browser_selector(_tabnak("archive_links")) == "div.linear_news a.title5, div.archive_content a.title5"
    assert browser_selector('//section[contains(@class, "list")]//li//h3/a/@href | //div//h3/a/@href') == (
        'xpath=//section[contains(@class, "list")]//li//h3/a | //div//h3/a')
    assert browser_selector(".tags li a::text") == ".tags li a"
    assert browser_selector("") is None


def test_preflight_names_what_cannot_be_rendered():
    from scrapy.settings import Settings

    class DeclaringSpider(TabnakSpider):
        name = "declaring"
        render = frozenset({"listing"})

    missing = {"NEWSCRAWL_CHROMIUM": "/nonexistent"}
    assert preflight(Settings({"NEWSCRAWL_RENDER": "listings"}), TabnakSpider) == (
        "NEWSCRAWL_RENDER: 'listings' is not 'listing' or 'article'")
    assert preflight(Settings(missing), TabnakSpider) is None  # nothing declared: no browser needed
    error = preflight(Settings(missing), DeclaringSpider)
    assert error.startswith("Chromium is needed (declaring renders its listing pages) but /nonexistent ")
    assert INSTALL_LINE in error
    error = preflight(Settings({**missing, "NEWSCRAWL_RENDER": "article"}), DeclaringSpider)
    assert "(declaring renders its article and listing pages)" in error
