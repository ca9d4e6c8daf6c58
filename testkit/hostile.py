"""A hostile corner of the local test site: one archive listing whose links fail in every way a real news
site (or the network in front of it) fails, and a site whose template changed half-way.

Why: a news archive must be complete and must never hold garbage. These pages let a real crawl through the
Scrapy engine prove both: every good article is stored, every fault is handled and counted, and nothing
else gets in. Crawl it with

    scrapy crawl tabnak -a base_url=http://127.0.0.1:PORT/hostile -a mode=archive \\
        -a since=1397/04/29 -a until=1397/04/30 -s DOWNLOAD_TIMEOUT=4 -s RETRY_TIMES=1

`CASES` says what each linked article does and what the crawl must do with it (docs/reliability.md, "Hostile input").
`/broken` is a 20-article archive in which every odd article uses a new template (no `.body`, no date):
the coverage monitor must notice. Handlers are registered on the test site with testkit.routes' `@route`.
"""

from __future__ import annotations

import re
import threading
import time

from testkit import routes
from testkit.demo.build import Article, fa, render_archive, render_article

PREFIX = "/hostile"
BROKEN_PREFIX = "/broken"
ID_BASE = 700_000
#: longer than the DOWNLOAD_TIMEOUT the tests use (4 s, since on a loaded machine a page that normally
#: takes milliseconds may take seconds), short enough not to hold a test for long
SLOW_SECONDS = 5.0
#: no handler ever sleeps longer than this, whatever a URL asks for
MAX_SLEEP = 10.0
HUGE_BYTES = 20 * 1024 * 1024
#: listed first on the page: never requested (offsite/filtered for the two http ones; NewsSpider.request
#: drops non-HTTP schemes, which used to raise in scrapy.Request and lose the rest of the page)
OFFSITE_LINKS = ("http://evil.example/fa/news/700090/offsite", "//evil.example/fa/news/700091",
                 "data:text/html,<h1 class=Htag>x</h1>/fa/news/700092", "javascript:void('/fa/news/700093')")

#: news id → (case, what the crawl must do). Written by hand; the tests read their expectations from here.
CASES: dict[int, tuple[str, str]] = {
    700001: ("good", "stored"),
    700002: ("good", "stored"),
    700003: ("good, listed twice (with and without slug)", "stored once, one duplicate dropped"),
    700004: ("slow, 0.5 s (inside the timeout)", "stored"),
    700010: ("404", "not stored; httperror/response_ignored_status_count/404"),
    700011: ("500 once, then 200", "stored after one retry (retry/reason_count/500 Internal Server Error)"),
    700012: ("503 always", "retried, given up (retry/max_reached), not stored"),
    700013: ("slow beyond DOWNLOAD_TIMEOUT", "timed out, retried, given up, not stored"),
    700014: ("connection closed without an answer, always", "retried, given up, not stored"),
    700015: ("connection closed without an answer once, then 200", "stored after one retry"),
    700016: ("HTTP truncation: half of the announced Content-Length, then close",
             "data loss, retried, given up, not stored (crawled again by the next incremental run)"),
    700017: ("HTML cut mid-body (complete HTTP answer)", "stored with the paragraphs that arrived"),
    700018: ("HTML cut before the body (complete HTTP answer)", "dropped: missing_body"),
    700019: ("windows-1256 bytes, Content-Type text/html without charset, <meta> charset",
             "stored, correct Persian (Scrapy reads the <meta>)"),
    700020: ("windows-1256 bytes, no charset anywhere", "stored, correct Persian (newscrawl.downloadermiddlewares.guards detects it)"),
    700021: ("empty 200", "retried as empty_response, given up, counted newscrawl/dropped/empty_response"),
    700022: ("302 to the home page", "no item; newscrawl/dropped/redirected"),
    700023: ("20 MB with Content-Length", "cancelled before the body (DOWNLOAD_MAXSIZE 16 MB), not stored"),
    700024: ("20 MB without Content-Length", "cancelled at 16 MB received, not stored"),
    700025: ("<script>, <img onerror>, <iframe>, <style>, on* attributes in title and body",
             "stored; title and body are plain text"),
    700026: ("no <h1>, no JSON-LD; og:title with escaped <script> and <b> tags",
             "stored; the title from og:title is plain text (newscrawl.parsing.sanitize)"),
    700027: ("a short page in windows-1256 bytes, no charset anywhere",
             "stored, correct Persian (charset_normalizer alone guesses wrong on so little text)"),
    700028: ("UTF-8, declared in Content-Type and <meta>, one invalid byte (0xFF) in a trailing HTML comment",
             "stored, correct Persian; newscrawl/encoding/invalid_bytes 1 (read as windows-1256 before issue 13)"),
    700029: ("UTF-8 bytes declared windows-1252 in Content-Type and <meta>",
             "stored, correct Persian (newscrawl.downloadermiddlewares.guards); newscrawl/encoding/override/cp1252->utf-8"),
    700030: ("windows-1256 bytes declared UTF-8 in Content-Type and <meta> (old text in a new template)",
             "stored, correct Persian (newscrawl.downloadermiddlewares.guards); newscrawl/encoding/override/utf-8->cp1256"),
}
GOOD_IDS = (700001, 700002, 700003, 700004, 700011, 700015, 700017, 700019, 700020, 700025, 700026, 700027,
            700028, 700029, 700030)
CP1256_TITLE = "گزارش ویژه: پیشرفت چشمگیر ژیمناستیک\u200cکاران کشور"
CP1256_PARAGRAPHS = ("چهار ورزشکار جوان گیلانی در مسابقات آسیایی پنج مدال گرفتند.",
                     "مربی تیم گفت: این پیروزی حاصل تمرین\u200cهای پیگیر یک\u200cساله است.")
INJECTED_TITLE_TEXT = "هشدار امنیتی درباره پیوندهای جعلی"
TRUNCATED_KEEP = "این بند پیش از قطع شدن صفحه رسیده است."

_lock = threading.Lock()


def _hits(req, key: str) -> int:
    """How many times this server has been asked for `key` (1 on the first request)."""
    with _lock:
        counts = req.server.__dict__.setdefault("hostile_hits", {})
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


def article(news_id: int, title: str | None = None, paragraphs: tuple[str, ...] | None = None) -> Article:
    """A demo-structured article for a hostile id (text borrowed from the demo templates)."""
    return routes.borrowed_article(news_id, fa(news_id - ID_BASE), title, paragraphs)


def page(news_id: int, prefix: str = PREFIX, **kwargs) -> str:
    return render_article(article(news_id, **kwargs), prefix=prefix)


def _send_raw(req, status: int, headers: dict[str, str], chunks, *, close: bool = False) -> None:
    """Write a response by hand (lying headers, streaming); a client that hangs up is not an error."""
    try:
        req.send_response(status)
        for name, value in headers.items():
            req.send_header(name, value)
        if close:
            req.send_header("Connection", "close")
        req.end_headers()
        for chunk in chunks:
            req.wfile.write(chunk)
        req.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass
    if close:
        req.close_connection = True


def _reply(req, status: int, body: bytes | str = b"", content_type: str = routes.HTML,
           headers: dict[str, str] | None = None) -> None:
    """`req.reply` on a connection closed after it. Why: Twisted's pool silently resends a request once
    when a reused connection closes without an answer, so 700014/700015 would fail once or not at all
    depending on which connection their request happened to go out on."""
    req.reply(status, body, content_type, headers={"Connection": "close", **(headers or {})})


def cp1256_page(news_id: int, meta: bool) -> bytes:
    """The article in windows-1256 bytes, the way old Persian CMSs served it: Arabic ي (cp1256 has no
    Persian ی) and character references for what the code page lacks (Persian digits)."""
    html = page(news_id, title=CP1256_TITLE, paragraphs=CP1256_PARAGRAPHS)
    declared = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">' if meta else ""
    html = html.replace('<meta http-equiv="Content-Type" content="text/html; charset=utf-8"> '
                        '<meta charset="utf-8">', declared)
    assert "utf-8" not in html.lower()
    return html.replace("ی", "ي").encode("cp1256", errors="xmlcharrefreplace")


def injected_page(news_id: int) -> str:
    """Markup an attacker (or a broken CMS) put in the title and the body."""
    html = page(news_id, title=INJECTED_TITLE_TEXT)
    bad_title = f'<script>alert(1)</script>{INJECTED_TITLE_TEXT}<img src=x onerror="alert(2)">'
    html = html.replace(f"> {INJECTED_TITLE_TEXT} </a> </h1>", f"> {bad_title} </a> </h1>", 1)
    assert bad_title in html
    evil = ('<p onclick="alert(3)">بند نخست <b>پررنگ</b><script>document.write("<p>x</p>")</script></p>'
            '<style>p{background:url(javascript:alert(4))}</style><img src="x" onerror="alert(5)">'
            '<iframe src="javascript:alert(6)"></iframe><svg onload="alert(7)"><text>svg</text></svg>'
            '<p><a href="javascript:alert(8)">پیوند جعلی</a> پایان.</p>')
    return re.sub(r'<div class="body">', '<div class="body">' + evil, html, count=1)


def no_h1_page(news_id: int) -> str:
    """No <h1> and no JSON-LD: the title comes from og:title, which here carries tags."""
    html = page(news_id, title=INJECTED_TITLE_TEXT)
    html = re.sub(r'<h1 class="Htag">.*?</h1>', "", html, count=1, flags=re.S)
    html = re.sub(r'<script\s+type="application/ld\+json">.*?</script>', "", html, count=1, flags=re.S)
    return re.sub(r'<meta property="og:title" content="[^"]*">',
                  '<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt;'
                  f'{INJECTED_TITLE_TEXT}&lt;b&gt;!&lt;/b&gt;">', html, count=1)


#: 700028 and 700029: UTF-8 text with ZWNJs (U+200C) and the Persian ی, which windows-1256 lacks
UTF8_TITLE = "پیش\u200cبینی هواشناسی: بارش\u200cهای پراکنده در شمال کشور"
UTF8_PARAGRAPHS = ("کارشناسان می\u200cگویند بارش\u200cها تا پایان هفته ادامه دارد.",
                   "رانندگان باید در جاده\u200cهای کوهستانی با احتیاط بیشتری رانندگی کنند.")
#: the trailing comment of 700028: one byte that is not UTF-8 (0xFF never is)
BAD_BYTE_COMMENT = b"<!-- page cache \xff -->\n"


def utf8_page(news_id: int, declared: str) -> bytes:
    """The article in UTF-8 bytes, declared `declared` in its <meta> tags (the Content-Type is the
    handler's); 700028 also ends with BAD_BYTE_COMMENT."""
    html = page(news_id, title=UTF8_TITLE, paragraphs=UTF8_PARAGRAPHS)
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"> <meta charset="utf-8">'
    assert meta in html
    html = html.replace(meta, meta.replace("utf-8", declared))
    return html.encode("utf-8") + (BAD_BYTE_COMMENT if news_id == 700028 else b"")


def cp1256_declared_utf8_page(news_id: int) -> bytes:
    """cp1256_page's bytes under <meta> tags that say UTF-8 (the header says so too)."""
    html = page(news_id, title=CP1256_TITLE, paragraphs=CP1256_PARAGRAPHS)
    return html.replace("ی", "ي").encode("cp1256", errors="xmlcharrefreplace")


SHORT_CP1256_TITLE = "پیش‌بینی هوا"
SHORT_CP1256_BODY = "گرم و آفتابی."


def short_cp1256_page(news_id: int) -> bytes:
    html = (f'<html><head><title>{SHORT_CP1256_TITLE}</title></head><body><div class="gutter_news">'
            f'<h1 class="Htag">{SHORT_CP1256_TITLE}</h1><div class="news_id_c">{news_id}</div>'
            f'<div class="body"><p>{SHORT_CP1256_BODY}</p></div></div></body></html>')
    return html.replace("ی", "ي").encode("cp1256")


def listing() -> str:
    """Off-site and non-HTTP links first: a link that cannot be requested must not cost the rest."""
    links = [(href, article(700001)) for href in OFFSITE_LINKS]
    links += [(f"{PREFIX}/fa/news/{i}/{article(i).slug}", article(i)) for i in sorted(CASES)]
    links.append((f"{PREFIX}/fa/news/700003", article(700003)))  # the duplicate
    return render_archive(links, prefix=PREFIX)


def home() -> str:
    """A home page with an h1 and a text box, so only the redirect check keeps it out of the archive."""
    return ('<!DOCTYPE html><html lang="fa-IR"><head><meta charset="utf-8"><title>تابناک</title></head><body>'
            '<div class="gutter_news"><h1 class="Htag">صفحه نخست</h1><div class="body"><p>پربازدیدترین '
            'خبرهای امروز</p></div></div></body></html>')


@routes.route(PREFIX)
def hostile(req, rest: str, query) -> None:
    if rest in ("", "/"):
        _reply(req, 200, home())
        return
    if rest.startswith("/fa/archive"):
        _reply(req, 200, listing())
        return
    news_id = routes.news_id(rest)
    if news_id not in CASES:
        _reply(req, 404, routes.NOT_FOUND)
        return
    serve_case(req, news_id)


def serve_case(req, news_id: int) -> None:  # noqa: C901 - one branch per case, in CASES order
    n = _hits(req, f"{PREFIX}/{news_id}")
    if news_id in SANITIZE_PAGES:  # issue 14's cases, with their pages, after the other cases
        _reply(req, 200, SANITIZE_PAGES[news_id](news_id))
        return
    if news_id in (700001, 700002, 700003):
        _reply(req, 200, page(news_id))
    elif news_id == 700004:
        time.sleep(0.5)
        _reply(req, 200, page(news_id))
    elif news_id == 700010:
        _reply(req, 404, routes.NOT_FOUND)
    elif news_id == 700011:
        if n == 1:
            _reply(req, 500, "<html><body>Internal Server Error</body></html>\n")
        else:
            _reply(req, 200, page(news_id))
    elif news_id == 700012:
        _reply(req, 503, "<html><body>Service Unavailable</body></html>\n")
    elif news_id == 700013:
        time.sleep(min(SLOW_SECONDS, MAX_SLEEP))
        try:
            _reply(req, 200, page(news_id))
        except (BrokenPipeError, ConnectionResetError):
            req.close_connection = True
    elif news_id == 700014 or (news_id == 700015 and n == 1):
        req.close_connection = True  # not a byte back
    elif news_id == 700015:
        _reply(req, 200, page(news_id))
    elif news_id == 700016:
        body = page(news_id).encode()
        _send_raw(req, 200, {"Content-Type": routes.HTML, "Content-Length": str(len(body))},
                  [body[: len(body) // 2]], close=True)
    elif news_id in (700017, 700018):
        html = page(news_id, paragraphs=(TRUNCATED_KEEP, "این بند هرگز کامل نمی‌رسد و بریده می‌شود"))
        cut = html.index("هرگز کامل") if news_id == 700017 else html.index('<div class="body">')
        _reply(req, 200, html[:cut])
    elif news_id in (700019, 700020):
        _reply(req, 200, cp1256_page(news_id, meta=news_id == 700019), "text/html")
    elif news_id == 700021:
        _reply(req, 200, b"")
    elif news_id == 700022:
        _reply(req, 302, "", headers={"Location": f"{req.base}{PREFIX}/"})
    elif news_id == 700023:
        chunk = b" " * 65536
        _send_raw(req, 200, {"Content-Type": routes.HTML, "Content-Length": str(HUGE_BYTES)},
                  (chunk for _ in range(HUGE_BYTES // len(chunk))), close=True)
    elif news_id == 700024:
        chunk = b"<p>" + "متن بسیار بلند ".encode() * 4000 + b"</p>\n"
        _send_raw(req, 200, {"Content-Type": routes.HTML},
                  (chunk for _ in range(HUGE_BYTES // len(chunk) + 1)), close=True)
    elif news_id == 700025:
        _reply(req, 200, injected_page(news_id))
    elif news_id == 700026:
        _reply(req, 200, no_h1_page(news_id))
    elif news_id == 700027:
        _reply(req, 200, short_cp1256_page(news_id), "text/html")
    elif news_id == 700028:
        _reply(req, 200, utf8_page(news_id, "utf-8"), "text/html; charset=utf-8")
    elif news_id == 700029:
        _reply(req, 200, utf8_page(news_id, "windows-1252"), "text/html; charset=windows-1252")
    elif news_id == 700030:
        _reply(req, 200, cp1256_declared_utf8_page(news_id), "text/html; charset=utf-8")


# -- markup and URLs an attacker controls (newscrawl.parsing.sanitize, the spiders' canonical_url; issue 14) --------
#: the three escaped payloads of issue 14, shown literally by the page (so tags once the loaders decode them)
ESCAPED_MARKUP = ("&lt;svg/onload=alert(1)&gt;", "&lt;img/src=x/onerror=alert(2)&gt;",
                  "&lt;a href='x&gt;y' onclick=alert(3)&gt;")
ESCAPED_TITLE = "هشدار درباره پیوندهای آلوده در پیام‌رسان‌ها"
ESCAPED_PARAGRAPHS = ("کارشناسان امنیت {} می‌گویند کاربران نباید روی پیوندها بزنند.",
                      "این پیوندها از راه پیام‌های کوتاه پخش می‌شوند.")
#: what the crawl must store for every escaped-markup article: the text around the payload, no more
ESCAPED_STORED_BODY = ("کارشناسان امنیت می‌گویند کاربران نباید روی پیوندها بزنند.\n\n"
                       "این پیوندها از راه پیام‌های کوتاه پخش می‌شوند.")
LONG_IMAGE_CHARS = 2 * 1024 * 1024
IMAGE_PATH = "/files/fa/news/1397/4/30/700045_1.jpg"
SANITIZE_CASES: dict[int, tuple[str, str]] = {
    700040: (f"title and body holding {ESCAPED_MARKUP[0]}", "stored; title and body are the text around it"),
    700041: (f"title and body holding {ESCAPED_MARKUP[1]}", "stored; title and body are the text around it"),
    700042: (f"title and body holding {ESCAPED_MARKUP[2]}", "stored; title and body are the text around it"),
    700043: ("rel=canonical javascript:alert(document.cookie)//www.tabnak.ir/fa/news/700043",
             "stored under the short URL; newscrawl/url/unsafe_canonical"),
    700044: ("rel=canonical http://evil.example/fa/news/700044 (another site)",
             "stored under the short URL; newscrawl/url/offsite_canonical"),
    700045: ("a 2 MB image URL next to a normal image",
             "stored with the normal image only; newscrawl/sanitized/image_too_long"),
}
CASES.update(SANITIZE_CASES)
GOOD_IDS += tuple(SANITIZE_CASES)


def escaped_markup_page(news_id: int) -> str:
    payload = ESCAPED_MARKUP[news_id - 700040]
    return page(news_id, title=payload + ESCAPED_TITLE,
                paragraphs=(ESCAPED_PARAGRAPHS[0].format(payload), ESCAPED_PARAGRAPHS[1]))


def canonical_page(news_id: int) -> str:
    href = {700043: f"javascript:alert(document.cookie)//www.tabnak.ir/fa/news/{news_id}",
            700044: f"http://evil.example/fa/news/{news_id}"}[news_id]
    return page(news_id).replace("</head>", f'<link rel="canonical" href="{href}"> </head>', 1)


def long_image_page(news_id: int) -> str:
    images = (f'<p><img src="{PREFIX}{IMAGE_PATH}"></p>'
              f'<p><img src="{PREFIX}/files/{"a" * LONG_IMAGE_CHARS}.jpg"></p>')
    return page(news_id).replace('<div class="body">', '<div class="body">' + images, 1)


SANITIZE_PAGES = {700040: escaped_markup_page, 700041: escaped_markup_page, 700042: escaped_markup_page,
                  700043: canonical_page, 700044: canonical_page, 700045: long_image_page}


# -- a template change half-way through the archive -------------------------------------------------------
BROKEN_COUNT = 20
BROKEN_ID_BASE = 710_000


def broken_page(k: int) -> str:
    """Article k of /broken: even k in the known template, odd k in a new one (body and date renamed)."""
    html = page(BROKEN_ID_BASE + k, prefix=BROKEN_PREFIX)
    if k % 2:
        html = html.replace('<div class="body">', '<div class="article-content">', 1)
        html = re.sub(r'<sapn class="fa_date">', '<time class="published">', html, count=1)
        html = html.replace('<div class="news_nav news_pdate_c">', '<div class="news_nav">', 1)
        html = html.replace('<h1 class="Htag">', '<h1 class="news-headline">', 1)
    return html


@routes.route(BROKEN_PREFIX)
def broken(req, rest: str, query) -> None:
    if rest.startswith("/fa/archive"):
        links = [(f"{BROKEN_PREFIX}/fa/news/{BROKEN_ID_BASE + k}", article(BROKEN_ID_BASE + k))
                 for k in range(BROKEN_COUNT, 0, -1)]
        req.reply(200, render_archive(links, prefix=BROKEN_PREFIX))
        return
    k = routes.news_id(rest) - BROKEN_ID_BASE
    if 1 <= k <= BROKEN_COUNT:
        req.reply(200, broken_page(k))
    else:
        req.reply(404, routes.NOT_FOUND)
