"""`scrapy summary` on the hand-written database of tests/test_export.py: the text report (counts per
site and day, histogram, coverage, date range, newest items) and `--html`, opened in headless Chromium
(marker `browser`). Expected numbers are counted by hand from ITEMS there:

    tabnak: 818300 (2018-03-21), 818301 (2018-03-22), 818302 (no date)
    isna:   555 (2018-03-22), 556 (2018-07-21)
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.conftest import REQUIRE_SERVERS, run_scrapy, scrapy_env
from tests.test_export import fill, fresh_pg_database

BARS = "█"


@pytest.fixture
def db(tmp_path) -> str:
    return fill(f"sqlite:///{tmp_path}/news.sqlite3")


def summary(db_url: str, *args: str):
    result = run_scrapy("summary", *args, env=scrapy_env(NEWSCRAWL_DATABASE_URL=db_url))
    assert "Traceback" not in result.stderr
    return result


def line(text: str, first: str) -> list[str]:
    """The cells of the indented report line (not a heading) whose first cell is `first`."""
    found = [ln.split() for ln in text.splitlines() if ln.startswith("  ") and ln.split()[:1] == [first]]
    assert len(found) == 1, (first, text)
    return found[0]


def test_text_report(db):
    result = summary(db, "--days", "200")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.splitlines()[:3] == [
        "5 articles from 2 sites",
        "published 2018-03-21T23:30:00+03:30 … 2018-07-21T00:20:00+04:30 (1 without a date)",
        "last crawled 2026-11-25T02:00:00+00:00"]
    assert line(out, "tabnak")[:2] == ["tabnak", "3"]
    assert line(out, "isna") == ["isna", "2", BARS * round(40 * 2 / 3)]
    # per day: date, Jalali date, tabnak, isna, total, bar (40 wide for the busiest day, 2 articles)
    assert "per day (Tehran publication day, 2018-01-03 … 2018-07-21):" in out
    assert line(out, "2018-03-21") == ["2018-03-21", "1397/01/01", "1", "0", "1", BARS * 20]
    assert line(out, "2018-03-22") == ["2018-03-22", "1397/01/02", "1", "1", "2", BARS * 40]
    assert line(out, "2018-05-01") == ["2018-05-01", "1397/02/11", "0", "0", "0"]
    assert line(out, "2018-07-21") == ["2018-07-21", "1397/04/30", "0", "1", "1", BARS * 20]
    # coverage: all, tabnak, isna
    assert line(out, "field") == ["field", "all", "tabnak", "isna"]
    assert line(out, "title") == ["title", "100%", "100%", "100%"]
    assert line(out, "kicker") == ["kicker", "40.0%", "33.3%", "50.0%"]
    assert line(out, "published_at") == ["published_at", "80.0%", "66.7%", "100%"]
    assert line(out, "tags") == ["tags", "60.0%", "33.3%", "100%"]
    assert line(out, "images") == ["images", "20.0%", "33.3%", "0%"]
    assert line(out, "source") == ["source", "20.0%", "0%", "50.0%"]
    newest = out.split("newest:\n")[1].split("\n\n")[0].splitlines()
    assert newest == ["  2018-07-21T00:20:00+04:30  isna/556  عنوان 556",
                      "  2018-03-22T19:40:00+04:30  isna/555  عنوان 555",
                      "  2018-03-22T01:30:00+04:30  tabnak/818301  عنوان 818301",
                      "  2018-03-21T23:30:00+03:30  tabnak/818300  " + "پیام نوروزی رئیس\u200cجمهور، با «نقل\u200cقول» و \"quotes\""]


def test_default_window_is_two_weeks_and_says_what_it_leaves_out(db):
    out = summary(db).stdout
    assert "per day (Tehran publication day, 2018-07-08 … 2018-07-21):" in out
    days = [ln.split()[0] for ln in out.splitlines() if re.match(r"  \d{4}-\d\d-\d\d ", ln)]
    assert days == [f"2018-07-{d:02d}" for d in range(8, 22)]
    assert "(3 articles on earlier days; --days shows more)" in out


def test_brief(db):
    result = summary(db, "--brief")
    assert result.stdout.strip() == ("5 articles in the database (tabnak 3, isna 2); published "
                                     "2018-03-21T23:30:00+03:30 … 2018-07-21T00:20:00+04:30")


def test_missing_database_is_one_line(tmp_path):
    result = summary(f"sqlite:///{tmp_path}/none.sqlite3")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no database at {tmp_path}/none.sqlite3 (crawl first, or set NEWSCRAWL_DATABASE_URL)"]
    assert not (tmp_path / "none.sqlite3").exists()


def test_empty_database(tmp_path):
    url = fill(f"sqlite:///{tmp_path}/empty.sqlite3", items=[])
    result = summary(url, "--html", str(tmp_path / "s.html"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 articles from 0 sites\npublished - … -\n")
    assert (tmp_path / "s.html").exists()


@pytest.mark.postgres
def test_text_report_on_postgresql(postgres_url, tmp_path):
    with fresh_pg_database(postgres_url) as url:
        result = summary(url, "--days", "200", "--html", str(tmp_path / "pg.html"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    data = json.loads(re.search(r'id="data">(.*?)</script>', (tmp_path / "pg.html").read_text("utf-8"), re.S)[1])
    assert data["coverage"]["tags"] == {"all": 0.6, "tabnak": 1 / 3, "isna": 1.0}
    assert line(out, "tabnak")[:2] == ["tabnak", "3"]
    assert line(out, "2018-03-22") == ["2018-03-22", "1397/01/02", "1", "1", "2", BARS * 40]
    assert line(out, "tags") == ["tags", "60.0%", "33.3%", "100%"]  # JSON lists counted on PostgreSQL too
    assert line(out, "published_at") == ["published_at", "80.0%", "66.7%", "100%"]
    assert "  2018-07-21T00:20:00+04:30  isna/556  عنوان 556" in out  # not the undated one first


# -- HTML ----------------------------------------------------------------------------------------------
@pytest.fixture
def page_file(db, tmp_path):
    path = tmp_path / "summary.html"
    result = summary(db, "--days", "200", "--html", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"wrote {path}")
    return path


def test_html_is_self_contained(page_file):
    text = page_file.read_text(encoding="utf-8")
    assert not re.search(r"""\b(src|srcset|xlink:href)\s*=|<link\b|url\(|@import|<iframe|<object|<embed""",
                         text, re.I)
    assert re.findall(r"<script[^>]*>", text) == ['<script type="application/json" id="data">']
    hrefs = re.findall(r'href="([^"]+)"', text)  # the only URLs: links to the newest articles
    assert hrefs == ["https://www.isna.ir/fa/news/556", "https://www.isna.ir/fa/news/555",
                     "https://www.tabnak.ir/fa/news/818301", "https://www.tabnak.ir/fa/news/818300"]
    data = json.loads(re.search(r'id="data">(.*?)</script>', text, re.S)[1])
    assert data["per_site"] == {"tabnak": 3, "isna": 2}


def chromium_path() -> str:
    path = os.environ.get("NEWSCRAWL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        message = f"Chromium not found at {path} (apt-get install chromium, or set NEWSCRAWL_CHROMIUM)"
        if REQUIRE_SERVERS:
            pytest.fail(message + " (NEWSCRAWL_REQUIRE_SERVERS=1)")
        pytest.skip(message)
    return path


@pytest.mark.browser
def test_html_renders_in_chromium(page_file):
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=flags, headless=True)
        try:
            page = browser.new_page()
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            assert page.title() == "newscrawl summary"
            assert requests == [page_file.as_uri()]  # nothing else is fetched
            bars = page.locator("#chart rect.bar")
            # one bar per site and day with articles: tabnak 03-21, 03-22; isna 03-22, 07-21
            assert bars.count() == 4
            heights = {}
            for i in range(bars.count()):
                bar = bars.nth(i)
                box = bar.bounding_box()
                assert box and box["width"] > 0
                key = (bar.get_attribute("data-site"), bar.get_attribute("data-day"))
                heights[key] = box["height"]
            assert set(heights) == {("tabnak", "2018-03-21"), ("tabnak", "2018-03-22"),
                                    ("isna", "2018-03-22"), ("isna", "2018-07-21")}
            # 180 px is the busiest day (2 articles, stacked); a day with 1 article is half of it
            assert heights[("tabnak", "2018-03-22")] + heights[("isna", "2018-03-22")] == pytest.approx(180, abs=1)
            assert heights[("tabnak", "2018-03-21")] == pytest.approx(90, abs=1)
            sites = page.locator("#sites tr").all_inner_texts()
            assert [s.split() for s in sites[1:]] == [["tabnak", "3", "1"], ["isna", "2", "0"]]
            assert page.locator("#total").inner_text() == "5"
            assert page.locator("#newest li").count() == 4
        finally:
            browser.close()


def test_html_escapes_stored_values_and_links_only_http(tmp_path):
    """Issue 14: a stored `javascript:` url is text, not a link; markup in any stored value is escaped;
    a Content-Security-Policy forbids scripts and fetches anyway."""
    from tests.test_export import ITEMS

    evil = dict(ITEMS[0], news_code="818399", url="javascript:alert(document.cookie)//www.tabnak.ir/fa/news/1",
                title="<svg/onload=alert(1)>", site="tab<b>nak")
    url = fill(f"sqlite:///{tmp_path}/evil.sqlite3", items=[*ITEMS, evil])
    result = summary(url, "--days", "200", "--html", str(tmp_path / "s.html"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "s.html").read_text("utf-8")
    assert "javascript:" not in re.sub(r'<script type="application/json" id="data">.*?</script>', "", text, flags=re.S)
    assert "<svg/onload" not in text and "<b>nak" not in text
    assert "&lt;svg/onload=alert(1)&gt;" in text and "tab&lt;b&gt;nak" in text
    assert all(h.startswith("https://") for h in re.findall(r'href="([^"]+)"', text))
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text)[1]
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    data = json.loads(re.search(r'id="data">(.*?)</script>', text, re.S)[1])
    assert data["per_site"]["tab<b>nak"] == 1  # the data block keeps the values, as JSON
