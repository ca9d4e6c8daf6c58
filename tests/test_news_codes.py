"""News codes that are not numbers: a site's own id of ASCII letters, digits, - and _ («کد خبر: d1Gjx»,
`/news/d1Gjx/…`), read by the generic page from its label or its URL, checked by `finish.validate` and the
item schema, deduplicated in a real crawl into SQLite and exported. Family pages keep their digit codes.

The whole items of our pages are in tests/pages/generic-code/ (tests/test_fixtures.py runs them). Expected
values are written by hand; hashes were computed with `printf … | sha1sum`."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from parsel import Selector

from newscrawl import NotAnArticle, extract
from newscrawl.downloadermiddlewares.guards import news_code as guard_news_code
from newscrawl.pages.finish import validate
from newscrawl.pages.generic import CODE_RE, GenericArticlePage, shown_news_code, url_news_code
from newscrawl.parsing import loaders
from newscrawl.schema import errors
from tests.conftest import run_scrapy, scrapy_env

ZWNJ = "\u200c"
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
GOOD = {"site": "khabarshahr.ir", "news_code": "d1Gjx", "url": "https://www.khabarshahr.ir/news/d1Gjx/x",
        "title": "عنوان", "kicker": None, "lead": None, "body": "متن", "published_at": None,
        "published_at_raw": None, "category": [], "tags": [], "images": [], "source": None, "language": "fa",
        "crawled_at": "2024-05-12T07:00:00+00:00", "fetched_from": "live", "archive_ref": None,
        "captured_at": "2024-05-12T07:00:00+00:00", "provenance": {},
        "story_id": None, "copy_of": None}
#: `printf 'khabarshahr.ir/fa/culture/library-opens' | sha1sum` starts 2500bffe994d, which is 40685151361357
SLUG_URL = "https://www.khabarshahr.ir/fa/culture/library-opens"
SLUG_HASH = "40685151361357"


# -- the rule: validate and the item schema ------------------------------------------------------------------
@pytest.mark.parametrize("code", ["818242", "d1Gjx", "x7Kp2Q", "a_b-c", "9-Z", "x" * 32, "0"])
def test_a_site_id_is_a_valid_news_code(code):
    validate({**GOOD, "news_code": code})
    assert errors({**GOOD, "news_code": code}) == []


@pytest.mark.parametrize("code", [
    "x" * 33,  # longer than the column (VARCHAR(32))
    "ab cd", "d1Gjx ",  # spaces
    "کدخبر", "d1Gjxب", "۸۱۸۲۴۲",  # Persian letters and digits: ids are ASCII
    "../etc", "a/b", "a.b",  # no path
    "-x", "_x",  # starts with a letter or digit
    "d1Gjx\n",  # Python's `$` would let it through
])
def test_other_codes_are_dropped(code):
    with pytest.raises(NotAnArticle) as caught:
        validate({**GOOD, "news_code": code})
    assert caught.value.stat == "dropped/bad_news_code"


def test_schema_rejects_what_validate_rejects():
    for code in ("x" * 33, "ab cd", "d1Gjxب", "../etc", "-x"):
        assert errors({**GOOD, "news_code": code}) == [
            f"news_code: {code!r} does not match '^[A-Za-z0-9][A-Za-z0-9_-]{{0,31}}$'"], code


# -- reading a code: the label's text, the URL, family pages -------------------------------------------------
@pytest.mark.parametrize("text, code", [
    ("d1Gjx", "d1Gjx"),
    ("۸۱۸۲۴۲", "818242"),  # Persian digits as ASCII
    ("d۱Gjx", "d1Gjx"),
    ("ab_1-2", "ab_1-2"),
    (" d1Gjx. ", "d1Gjx"),
    ("818242 تاریخ انتشار: ۲۳ اردیبهشت", "818242"),  # a Persian word ends it
    ("818242 | بازدید: 1234", "818242"),  # so does a separator
    ("d1Gjx، ۱۰:۳۰", "d1Gjx"),
    ("ab cd", None),  # two words: not one id
    ("../../etc/passwd", None),
    ("d1Gjxب", None),
    ("الف۱۲۳", None),
    ("x" * 33, None),
    ("-x", None),
    ("", None),
    (None, None),
])
def test_site_code(text, code):
    assert loaders.site_code(text) == code


def test_family_pages_keep_digit_codes():
    """IranSamaneh and Nastooh number their articles: their code is the digits shown, as before."""
    assert loaders.news_code(["کد خبر: ۸۱۸۲۴۲", "999"]) == "818242"
    assert loaders.news_code([None, "", "1204518"]) == "1204518"


@pytest.mark.parametrize("url, code", [
    ("https://www.khabarshahr.ir/news/d1Gjx/slug", "d1Gjx"),
    ("https://www.khabarshahr.ir/fa/news/d1Gjx", "d1Gjx"),
    ("https://www.khabarshahr.ir/n/x7Kp2Q", "x7Kp2Q"),
    ("https://www.khabarshahr.ir/News/d1Gjx.html?utm_source=x", "d1Gjx"),
    ("https://www.khabarshahr.ir/news/d1Gjx?utm_id=123456", "d1Gjx"),  # the path's id before a query number
    ("https://www.khabarshahr.ir/news/covid19/818242", "818242"),  # numeric ids keep their rule, first
    ("https://www.khabarshahr.ir/news/politics/", None),  # a section: no digit
    ("https://www.khabarshahr.ir/news/2024/", None),  # a year: no letter, fewer than 5 digits
    ("https://www.khabarshahr.ir/news/abc/", None),  # too short
    ("https://www.khabarshahr.ir/news/a1b2c3d4e5f6g7h8i/", None),  # 17: too long
    ("https://www.khabarshahr.ir/news/new-bridge-2024/", None),  # a slug: hyphens
    ("https://www.khabarshahr.ir/story/d1Gjx/", None),  # only after `news` or `n`
    ("https://www.khabarshahr.ir/news/../d1Gjx", None),
])
def test_url_news_code_reads_alphanumeric_ids(url, code):
    assert url_news_code(url) == code
    assert guard_news_code(CODE_RE, url) == code  # the redirect guard reads the same code from request meta


def test_redirect_guard_tells_the_same_article_from_another():
    wanted = guard_news_code(CODE_RE, "https://www.khabarshahr.ir/news/d1Gjx")
    assert guard_news_code(CODE_RE, "https://khabarshahr.ir/news/d1Gjx/library-opens") == wanted
    assert guard_news_code(CODE_RE, "https://www.khabarshahr.ir/news/e2Hky7/other") != wanted


def page(label_html: str = "", head: str = "") -> str:
    """An article page with og metadata, `label_html` under its headline."""
    return f"""<!DOCTYPE html><html lang="fa"><head><meta charset="utf-8"><title>گزارش آزمایشی</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="2024-05-12T10:30:00+03:30">{head}</head><body><main>
<h1>گزارش آزمایشی</h1>{label_html}<div class="content">
<p>این متن نخستین بند یک گزارش آزمایشی است که برای خواندن کد خبر نوشته شده و چند جمله دارد.</p>
<p>بند دوم گزارش نیز چند جمله دارد تا متن خبر برای استخراج کافی باشد و چیزی از آن کم نشود.</p>
</div></main></body></html>"""


@pytest.mark.parametrize("html, code", [
    ("<p>کد خبر: d1Gjx</p>", "d1Gjx"),
    ("<div><span>کد خبر:</span> <b>d1Gjx</b></div>", "d1Gjx"),  # the value in the next element
    ("<p>کد خبر: <b>۸۱۸۲۴۲</b></p>", "818242"),
    ("<p><i>۱۰:۳۰</i>شناسه خبر <b>ab_1-2</b></p>", "ab_1-2"),  # the label in a tail
    ("<p>كد خبر : x7Kp2Q</p>", "x7Kp2Q"),  # Arabic kaf
    (f"<p>کد{ZWNJ}خبر: d1Gjx</p>", "d1Gjx"),
    ("<p>کد مطلب: 48211</p>", "48211"),
    ("<p>کد خبر: d1Gjx</p><p>کد خبر: e2Hky7</p>", "d1Gjx"),  # the first label
    ("<p>کد خبرنگار: 5512</p>", None),  # the reporter's code
    ("<p>کد خبر:</p><p>۲۳ اردیبهشت ۱۴۰۳</p>", None),  # no value, then a date: no code
    ("<script>var s = 'کد خبر: zz99';</script>", None),
    ("<p>" + "متن بلند " * 12 + "کد خبر: d1Gjx</p>", None),  # a sentence of the body, not a label
])
def test_shown_news_code(html, code):
    assert shown_news_code(Selector(text=page(html))) == code


# -- the generic page: label, then URL, then hash; hostile labels never stored -------------------------------
@pytest.mark.parametrize("value", [
    "x" * 40,  # too long
    "ab cd",  # spaces
    "ب۱۲۳۴",  # Persian letters
    "../../etc/passwd",  # a path
    "d1Gjx&lt;script&gt;",  # markup
])
def test_hostile_label_falls_back_to_the_url(value):
    label = f'<div class="info"><span>کد خبر:</span> <span>{value}</span></div>'
    assert extract(page(label), url="https://www.khabarshahr.ir/news/k9Qw3e/tree")["news_code"] == "k9Qw3e"
    assert extract(page(label), url=SLUG_URL)["news_code"] == SLUG_HASH  # no id in the URL: its hash


def test_label_gives_the_code_of_a_slug_url():
    item = extract(page("<p>کد خبر: d1Gjx</p>"), url=SLUG_URL)
    assert item["news_code"] == "d1Gjx" and item["site"] == "khabarshahr.ir" and item["url"] == SLUG_URL
    assert extract(page(), url=SLUG_URL)["news_code"] == SLUG_HASH  # without the label, as before


def test_shown_code_wins_over_the_urls_and_is_noted():
    url = "https://www.khabarshahr.ir/fa/news/818242/slug"
    generic = GenericArticlePage(url, page("<p>کد خبر: d1Gjx</p>"))
    assert generic.news_code == "d1Gjx"
    assert [n.stat for n in generic.notes] == ["news_code_mismatch"]
    same = GenericArticlePage(url, page("<p>کد خبر: ۸۱۸۲۴۲</p>"))
    assert same.news_code == "818242" and same.notes == []


def test_id_in_the_url_and_a_visible_date_make_an_article():
    """A page without metadata is an article when it shows a date and its URL has an id, numeric or not."""
    bare = page().replace('<meta property="og:type" content="article">', "").replace(
        '<meta property="article:published_time" content="2024-05-12T10:30:00+03:30">', "").replace(
        "<h1>گزارش آزمایشی</h1>", "<h1>گزارش آزمایشی</h1><div>۱۰:۳۰ - ۱۴۰۳/۰۲/۲۳</div>")
    assert extract(bare, url="https://www.khabarshahr.ir/news/x7Kp2Q/a")["news_code"] == "x7Kp2Q"
    with pytest.raises(NotAnArticle):
        extract(bare, url="https://www.khabarshahr.ir/fa/culture/a")


# -- a real crawl into SQLite, then an export ----------------------------------------------------------------
ARTICLES = {
    # the article under its id URL, and again under a slug URL showing the same code: one is a duplicate
    "/news/d1Gjx/library-opens": ("گشایش کتابخانه در کرمان", "<p>کد خبر: d1Gjx</p>"),
    "/fa/culture/library-opens": ("گشایش کتابخانه در کرمان", "<p>کد خبر: d1Gjx</p>"),
    "/news/e2Hky7/new-bridge": ("بهره\u200cبرداری از پل تازه", ""),
}


def article_html(title: str, label: str) -> bytes:
    return page(label).replace("گزارش آزمایشی", title).encode("utf-8")


@pytest.fixture
def local_site():
    """ARTICLES on a throwaway loopback server, in a thread of this process."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            found = ARTICLES.get(self.path)
            body = article_html(*found) if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_crawl_dedups_an_alphanumeric_code_and_exports_it(local_site, tmp_path):
    db = tmp_path / "news.sqlite3"
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{db}")
    urls = ",".join(local_site + path for path in ARTICLES)
    result = run_scrapy("crawl", "generic", "-a", f"urls={urls}", "-s", "CONCURRENT_REQUESTS=1", *FAST,
                        env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT site, news_code, title FROM articles ORDER BY news_code").fetchall()
    assert rows == [("127.0.0.1", "d1Gjx", "گشایش کتابخانه در کرمان"),
                    ("127.0.0.1", "e2Hky7", "بهره\u200cبرداری از پل تازه")]
    stats = json.loads((tmp_path / "data" / "generic-stats.json").read_text(encoding="utf-8"))
    assert stats["stored"] == 2 and stats["duplicates_skipped"] == 1

    # again, incremental: the two id URLs are known before download; the slug URL's key is its hash, so it
    # is fetched and then dropped as a duplicate of d1Gjx
    again = run_scrapy("crawl", "generic", "-a", f"urls={urls}", "-a", "incremental=1", *FAST, env=env,
                       timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    stats = json.loads((tmp_path / "data" / "generic-stats.json").read_text(encoding="utf-8"))
    assert stats["known_skipped_before_download"] == 2 and stats["duplicates_skipped"] == 1
    assert stats["stored"] == 0

    out = tmp_path / "all.csv"
    exported = run_scrapy("export", "--format", "csv", "--output", str(out),
                          env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{db}"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    with out.open(encoding="utf-8-sig", newline="") as fh:
        by_code = {r["news_code"]: r for r in csv.DictReader(fh)}
    assert set(by_code) == {"d1Gjx", "e2Hky7"}
    assert by_code["d1Gjx"]["site"] == "127.0.0.1"
    # either of the two URLs, whichever was stored first
    assert by_code["d1Gjx"]["url"] in (f"{local_site}/news/d1Gjx/library-opens",
                                       f"{local_site}/fa/culture/library-opens")
    assert by_code["e2Hky7"]["url"] == f"{local_site}/news/e2Hky7/new-bridge"
    jsonl = tmp_path / "all.jsonl"
    exported = run_scrapy("export", "--format", "jsonl", "--output", str(jsonl),
                          env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{db}"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    items = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert sorted(i["news_code"] for i in items) == ["d1Gjx", "e2Hky7"]
    assert all(errors(i) == [] for i in items)  # the schema accepts what was stored
