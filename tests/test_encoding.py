"""Reading each page in the encoding its bytes are in (issue 13 case 5): the pure choice
(newscrawl.parsing.encoding.choose_encoding) on hand-written pages and, with hypothesis, on random Persian
text in UTF-8 (with a few bad bytes) and in windows-1256 and on ASCII pages; then the whole read path after
the guard middleware: Scrapy's `encoding` and `text`, the selector
(newscrawl.downloadermiddlewares.responses.parse), a fresh parse of `text` (the generic spider) and the
site spider's item. The crawl through the real engine is in tests/test_faults.py."""

from __future__ import annotations

import html
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parsel import Selector
from scrapy import Spider
from scrapy.http import HtmlResponse, Request
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from newscrawl.downloadermiddlewares.guards import ResponseGuardMiddleware
from newscrawl.downloadermiddlewares.responses import PageResponse, PageResponseMiddleware, parse
from newscrawl.offline import Extractor
from newscrawl.parsing.encoding import choose_encoding
from newscrawl.spiders.sites import TabnakSpider
from testkit import hostile

ZWNJ = "\u200c"
URL = "https://www.tabnak.ir/fa/news/700028/slug"
LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآ"
#: bytes that are never part of UTF-8 at a character boundary (continuation bytes, C0, C1, F5-FF): each
#: one inserted between two characters is exactly one U+FFFD, whatever comes next
BAD_BYTES = [*range(0x80, 0xC2), *range(0xF5, 0x100)]
#: news words as they are written (Persian ی and ک); windows-1256 text uses Arabic ي for ی
WORDS = ["گزارش", "پیش\u200cبینی", "چهار", "ژاله", "کتاب", "ایران", "مردم", "مجلس", "نماینده", "دولت",
         "اقتصاد", "می\u200cشود", "شهرداری", "ورزشکاران", "آسیایی", "خبرگزاری", "تهران", "بازار", "قیمت"]
CASE = settings(max_examples=50, deadline=None)
CRAWLER = get_crawler(Spider)  # one for all: making one takes 25 ms


def page(text: str, meta: str = "", heading: str = "خبر") -> str:
    """A page whose one <p> holds `text` (escaped), with `meta` in its <head>; as str, to encode."""
    return (f"<html><head>{meta}<title>{heading}</title></head><body><h1>{heading}</h1>"
            f"<p>{html.escape(text)}</p></body></html>")


def guarded(body: bytes, content_type: str | None, url: str = URL):
    """`body` as a crawl hands it to the spider: an HtmlResponse, made a PageResponse, through the guard
    (they run in this order: 587, then 580). Returns (response, the crawler's stats)."""
    crawler = CRAWLER
    crawler.stats.clear_stats()
    headers = {"Content-Type": content_type} if content_type else {}
    response = HtmlResponse(url, body=body, headers=headers, request=Request(url))
    response = PageResponseMiddleware().process_response(None, response)
    response = ResponseGuardMiddleware(crawler).process_response(Request(url), response)
    assert isinstance(response, PageResponse)
    return response, crawler.stats.get_stats()


def read_everywhere(response) -> set[str]:
    """The <p>'s text as each reader of a crawl sees it: the cached selector (newscrawl.downloadermiddlewares.responses.parse,
    the site spiders and their loaders), a fresh parse, and a parse of `response.text` (the generic
    spider)."""
    return {"".join(response.xpath("//p//text()").getall()),
            "".join(parse(response).xpath("//p//text()").getall()),
            "".join(Selector(text=response.text).xpath("//p//text()").getall())}


# -- the choice, case by case -----------------------------------------------------------------------------
PERSIAN = "پیش\u200cبینی هوا: بارش\u200cهای پراکنده در شمال کشور"
CP1256 = "گزارش ويژه: پيشرفت چشمگير ژيمناستيک\u200cکاران کشور"  # Arabic ي: windows-1256 has no Persian ی


def damaged(body: bytes, letters: str) -> bytes:
    """`body` with the second byte of each of `letters` (two bytes in UTF-8) made FF."""
    for letter in letters:
        body = body.replace(letter.encode(), letter.encode()[:1] + b"\xff")
    return body


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    # declared UTF-8 and one bad byte in a trailing comment (hostile 700028): the declaration stands
    (page(PERSIAN, '<meta charset="utf-8">').encode() + b"<!-- \xff -->", "text/html; charset=utf-8",
     ("utf-8", "utf-8", False, 1)),
    # UTF-8 declared windows-1252 (700029), latin-1, windows-1256: UTF-8, counted as overrides
    (page(PERSIAN, '<meta charset="windows-1252">').encode(), "text/html; charset=windows-1252",
     ("utf-8", "cp1252", True, 0)),
    (page(PERSIAN).encode(), "text/html; charset=ISO-8859-1", ("utf-8", "cp1252", True, 0)),
    (page(PERSIAN, '<meta charset="windows-1256">').encode() + b"\xff", "text/html",
     ("utf-8", "cp1256", True, 1)),
    # windows-1256 declared UTF-8 in the header (700030; the header wins over a truthful <meta>, as in Scrapy)
    (page(CP1256, '<meta charset="windows-1256">').encode("cp1256"), "text/html; charset=utf-8",
     ("cp1256", "utf-8", True, 0)),
    # windows-1256 declared so, or not at all (700019, 700020)
    (page(CP1256, '<meta charset="windows-1256">').encode("cp1256"), "text/html", ("cp1256", "cp1256", False, 0)),
    (page(CP1256).encode("cp1256"), "text/html", ("cp1256", None, True, 0)),
    # undeclared UTF-8: Scrapy's own detection reads valid UTF-8; with a bad byte it would guess
    (page(PERSIAN).encode(), "text/html", (None, None, False, 0)),
    (page(PERSIAN).encode() + b"\xfe", "text/html", ("utf-8", None, True, 1)),
    # ASCII only: any declared charset reads it alike
    (page("Tehran, 20 July", heading="News").encode(), "text/html; charset=windows-1256", (None, "cp1256", False, 0)),
    # a byte order mark decides, in Scrapy too
    (b"\xef\xbb\xbf" + page(PERSIAN, '<meta charset="windows-1252">').encode() + b"\xff", "text/html",
     (None, "utf-8", False, 1)),
    # a damaged UTF-8 page is not windows-1256: the second byte of each ا, ی and ش (13 letters) made FF,
    # 26 bad bytes of 86 non-ASCII ones: the declaration stands
    (damaged(page(PERSIAN).encode(), "ایش"), "text/html; charset=utf-8", ("utf-8", "utf-8", False, 26)),
    # declared UTF-8, bytes latin-1 French (not Arabic script in windows-1256): left as declared
    (page("Les élèves étaient là, café à côté", heading="Nouvelles").encode("latin-1"), "text/html; charset=utf-8",
     ("utf-8", "utf-8", False, 8)),  # é è é à é à ô é
    # UTF-8 French declared windows-1252: valid UTF-8 but not Persian, no evidence of a wrong declaration
    (page("Les élèves étaient là", heading="Nouvelles").encode(), "text/html; charset=windows-1252", ("cp1252", "cp1252", False, 0)),
], ids=["utf8-one-bad-byte", "utf8-as-1252", "utf8-as-latin1", "utf8-as-1256", "1256-as-utf8", "1256-declared",
        "1256-undeclared", "utf8-undeclared", "utf8-undeclared-bad-byte", "ascii", "bom", "damaged-utf8",
        "latin1-as-utf8", "french-utf8-as-1252"])
def test_choose_encoding(body, content_type, expected):
    choice = choose_encoding(body, content_type)
    assert (choice.encoding, choice.declared, choice.override, choice.invalid_bytes) == expected
    assert choice.reason


def test_bytes_that_are_valid_utf8_are_read_as_utf8():
    """The ambiguity there is: windows-1256 «عک» is the bytes DA 98, which are UTF-8 «ژ». Valid UTF-8 is
    read as UTF-8 (Scrapy's detection does so), whatever a shorter text in windows-1256 would be."""
    body = page("عک", heading="x").encode("cp1256")
    assert body.decode("utf-8") == page("ژ", heading="x")
    assert choose_encoding(body, "text/html").encoding is None
    assert guarded(body, "text/html")[0].encoding == "utf-8"


def test_a_utf8_page_with_a_bad_byte_was_read_as_windows_1256_before_issue_13():
    """What issue 13 saw, kept as the reason for the test above: windows-1256 reads such a page as
    Arabic-script mojibake, so «is it Arabic script in windows-1256» alone is no evidence."""
    body = page(PERSIAN, '<meta charset="utf-8">').encode() + b"<!-- \xff -->"
    mojibake = body.decode("cp1256")
    assert "پیش" not in mojibake and "ظ¾غŒط´" in mojibake  # «پیش» read in windows-1256


# -- the choice, by hypothesis ------------------------------------------------------------------------------
persian_text = st.lists(
    st.tuples(st.one_of(st.text(alphabet=LETTERS, min_size=2, max_size=8), st.sampled_from(["۱۳۹۷", "۲۹"])),
              st.sampled_from([" ", ZWNJ, "، ", ". ", "؟ "])),
    min_size=8, max_size=40).map(lambda words: "".join(w + s for w, s in words).strip())


def with_bad_bytes(text: str, bad: list[tuple[int, int]]) -> tuple[bytes, str]:
    """(`text` in UTF-8 with each (position, byte) of `bad` inserted before that character, the text a
    correct reader sees: U+FFFD for each bad byte)."""
    out, seen = bytearray(), []
    for i, char in enumerate([*text, ""]):
        for _, byte in sorted(b for b in bad if b[0] == i):
            out.append(byte)
            seen.append("\ufffd")
        out += char.encode()
        seen.append(char)
    return bytes(out), "".join(seen)


#: (Content-Type header, <meta>, (encoding, declared, override) chosen with bad bytes, ... without)
DECLARATIONS = [
    ("text/html; charset=utf-8", "", ("utf-8", "utf-8", False), ("utf-8", "utf-8", False)),
    ("text/html", '<meta charset="utf-8">', ("utf-8", "utf-8", False), ("utf-8", "utf-8", False)),
    ("text/html", "", ("utf-8", None, True), (None, None, False)),
    (None, "", ("utf-8", None, True), (None, None, False)),
    ("text/html; charset=windows-1252", '<meta charset="windows-1252">', ("utf-8", "cp1252", True),
     ("utf-8", "cp1252", True)),
    ("text/html; charset=iso-8859-1", "", ("utf-8", "cp1252", True), ("utf-8", "cp1252", True)),
    ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
     ("utf-8", "cp1256", True), ("utf-8", "cp1256", True)),
]


@pytest.mark.parametrize(("content_type", "meta", "with_bad", "without_bad"), DECLARATIONS,
                         ids=["header", "meta", "no-charset", "no-header", "1252", "latin1", "1256-meta"])
@CASE
@given(text=persian_text, data=st.data())
def test_persian_utf8_with_a_few_bad_bytes_is_read_as_utf8(content_type, meta, with_bad, without_bad, text,
                                                           data):
    k = data.draw(st.integers(0, 3), label="bad bytes")
    bad = data.draw(st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from(BAD_BYTES)),
                             min_size=k, max_size=k), label="where")
    inserted, expected = with_bad_bytes(text, bad)
    head, tail = page("@@", meta).split("@@")
    body = head.encode() + inserted + tail.encode()
    choice = choose_encoding(body, content_type or "")
    assert (choice.encoding, choice.declared, choice.override) == (with_bad if k else without_bad)
    assert choice.invalid_bytes == k
    response, stats = guarded(body, content_type)
    assert response.encoding == "utf-8"
    assert read_everywhere(response) == {expected}  # text intact but for one U+FFFD per bad byte
    assert expected.count(ZWNJ) == text.count(ZWNJ)
    assert stats.get("newscrawl/encoding/invalid_bytes", 0) == k
    assert stats.get("newscrawl/encoding/invalid_pages", 0) == (1 if k else 0)


windows_1256_text = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", ZWNJ, "، ", ". "])),
                             min_size=1, max_size=30).map(lambda words: "".join(w + s for w, s in words).strip())


@pytest.mark.parametrize(("content_type", "meta", "expected"), [
    ("text/html", "", ("cp1256", None, True)),
    (None, "", ("cp1256", None, True)),
    ("text/html; charset=utf-8", '<meta charset="utf-8">', ("cp1256", "utf-8", True)),
    ("text/html", '<meta charset="windows-1256">', ("cp1256", "cp1256", False)),
], ids=["no-charset", "no-header", "utf8", "declared"])
@CASE
@given(text=windows_1256_text)
def test_persian_in_windows_1256_is_read_as_windows_1256(content_type, meta, expected, text):
    arabic_yeh = text.replace("ی", "ي")
    body = page(arabic_yeh, meta).encode("cp1256")
    choice = choose_encoding(body, content_type or "")
    assert (choice.encoding, choice.declared, choice.override, choice.invalid_bytes) == (*expected, 0)
    response, stats = guarded(body, content_type)
    assert response.encoding == "cp1256"
    assert read_everywhere(response) == {arabic_yeh}
    key = f"newscrawl/encoding/override/{expected[1]}->cp1256" if expected[1] else "newscrawl/encoding/guessed/cp1256"
    assert stats.get(key, 0) == (1 if expected[2] else 0)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200),
       declared=st.sampled_from([None, "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1252",
                                 "text/html; charset=windows-1256"]))
def test_ascii_pages_are_left_to_scrapy(text, declared):
    body = page(text, heading="News").encode("ascii")
    choice = choose_encoding(body, declared or "")
    assert (choice.encoding, choice.override, choice.invalid_bytes) == (None, False, 0)
    response, stats = guarded(body, declared)
    assert read_everywhere(response) == {text}
    assert not any(key.startswith("newscrawl/encoding/") for key in stats)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=1024),
       content_type=st.sampled_from(["", "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1252",
                                     "text/html; charset=windows-1256", "text/html; charset=nonsense"]))
def test_any_bytes_get_an_answer(body, content_type):
    choice = choose_encoding(body, content_type)
    assert choice.encoding in (None, "utf-8", "cp1256", choice.declared)
    assert 0 <= choice.invalid_bytes <= len(body)
    response, _ = guarded(b"<p>" + body, content_type)  # not empty: an empty 200 is retried, not read
    response.text  # noqa: B018 - must not raise
    parse(response)


# -- the read path after the middleware -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def extractor():
    return Extractor(TabnakSpider, get_project_settings(), URL)


@pytest.mark.parametrize(("news_id", "body", "content_type", "title", "paragraphs"), [
    (700028, hostile.utf8_page(700028, "utf-8"), "text/html; charset=utf-8", hostile.UTF8_TITLE,
     hostile.UTF8_PARAGRAPHS),
    (700029, hostile.utf8_page(700029, "windows-1252"), "text/html; charset=windows-1252", hostile.UTF8_TITLE,
     hostile.UTF8_PARAGRAPHS),
    (700030, hostile.cp1256_declared_utf8_page(700030), "text/html; charset=utf-8", hostile.CP1256_TITLE,
     hostile.CP1256_PARAGRAPHS),
], ids=["utf8-bad-byte", "utf8-as-1252", "1256-as-utf8"])
def test_the_spider_reads_the_hostile_pages_correctly(extractor, news_id, body, content_type, title, paragraphs):
    """The site spider's callback and loaders on the guarded response: the page's own title and body,
    ZWNJs kept, and the visible date (mojibake before issue 13)."""
    url = f"https://www.tabnak.ir/fa/news/{news_id}/slug"
    response, _ = guarded(body, content_type, url)
    [item] = [r for r in extractor.spider.parse_article(response) if not isinstance(r, Request)]
    a = hostile.article(news_id)
    assert (item["title"], item["body"]) == (title, "\n\n".join(paragraphs))
    assert item["published_at_raw"] == a.date.replace("ي", "ی")
    assert ZWNJ in item["title"] and ZWNJ in item["body"]


@pytest.mark.parametrize(("news_id", "body", "title"), [
    (700028, hostile.utf8_page(700028, "utf-8"), hostile.UTF8_TITLE),
    (700029, hostile.utf8_page(700029, "windows-1252"), hostile.UTF8_TITLE),
    (700030, hostile.cp1256_declared_utf8_page(700030), hostile.CP1256_TITLE),
    (700027, hostile.short_cp1256_page(700027), hostile.SHORT_CP1256_TITLE),
], ids=["utf8-bad-byte", "utf8-as-1252", "1256-as-utf8", "short-1256"])
def test_offline_extraction_reads_saved_pages_the_same_way(extractor, news_id, body, title):
    """`scrapy extract` and the benchmarks (newscrawl.offline.Extractor) have the bytes and no headers:
    the same choice applies (700029 came out as mojibake before)."""
    item = extractor.extract(body, f"https://www.tabnak.ir/fa/news/{news_id}/slug")
    assert item["title"] == title


GOOD = ('<html><head><title>خبر</title></head><body><h1>عنوان</h1><p class="lead">بند نخست با '
        'نیم\u200cفاصله</p><p>بند دوم</p><p>بند سوم</p></body></html>').encode()
#: where the one bad byte goes: (what it replaces, the replacement, what the <title> and <p>s then read)
BAD_PLACES = {
    "title": ("<title>خبر".encode(), "<title>خ".encode() + b"\xff" + "بر".encode(), "خ\ufffdبر", None),
    "attribute": (b'class="lead"', b'class="le\xffad"', None, None),
    "between tags": (b"</h1>", b"</h1>\xff", None, None),
    "inside a paragraph": ("بند دوم".encode(), "بند".encode() + b"\xff" + " دوم".encode(), None,
                           (1, "بند\ufffd دوم")),
    "a cut character": ("بند سوم".encode(), "بند ".encode() + "س".encode()[:1] + " سوم".encode(), None,
                        (2, "بند \ufffd سوم")),
    "start": (b"<html>", b"\xff<html>", None, None),
    "script": (b"</head>", b"<script>var a = '\xfe';</script></head>", None, None),
}


@pytest.mark.parametrize("where", list(BAD_PLACES))
def test_a_lone_bad_byte_does_not_cut_the_tree(where):
    """libxml2 stops at, or passes on, an invalid byte; parsel then parses the decoded text: every
    paragraph is there, U+FFFD for the byte, ZWNJ kept, wherever the byte is."""
    old, new, title, changed = BAD_PLACES[where]
    assert GOOD.count(old) == 1
    response, stats = guarded(GOOD.replace(old, new), "text/html; charset=utf-8")
    assert stats["newscrawl/encoding/invalid_bytes"] == 1
    expected = ["بند نخست با نیم\u200cفاصله", "بند دوم", "بند سوم"]
    if changed:
        expected[changed[0]] = changed[1]
    for tree in (response.selector, parse(response), Selector(text=response.text)):
        assert ["".join(p.xpath(".//text()").getall()) for p in tree.xpath("//p")] == expected
        assert tree.xpath("//h1/text()").get() == "عنوان"
        assert tree.xpath("//title/text()").get() == (title or "خبر")


def test_a_tree_built_before_the_guard_is_not_kept():
    """The render check (RenderMiddleware, 585) parses the page before the guard (580) reads its bytes:
    the guard's response must not carry that tree (or its PageIndex) over."""
    body = hostile.utf8_page(700029, "windows-1252")
    url = "https://www.tabnak.ir/fa/news/700029/slug"
    response = PageResponseMiddleware().process_response(None, HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html; charset=windows-1252"}, request=Request(url)))
    assert response.encoding == "cp1252"
    mojibake = response.css("h1 a::text").get().strip()
    assert mojibake != hostile.UTF8_TITLE and response.index is not None
    guard = ResponseGuardMiddleware(get_crawler(Spider))
    fixed = guard.process_response(Request(url), response)
    assert fixed is not response and fixed.encoding == "utf-8"
    assert fixed.css("h1 a::text").get().strip() == hostile.UTF8_TITLE
    assert fixed.index is not response.index


def test_overrides_are_counted_and_logged_with_the_url(caplog):
    crawler = get_crawler(Spider)
    guard = ResponseGuardMiddleware(crawler)
    body = hostile.utf8_page(700029, "windows-1252")
    with caplog.at_level(logging.DEBUG, logger="newscrawl.downloadermiddlewares.guards"):
        for n in (1, 2):
            url = f"https://www.tabnak.ir/fa/news/70002{n}/x"
            guard.process_response(Request(url), HtmlResponse(
                url, body=body, headers={"Content-Type": "text/html; charset=windows-1252"}))
        url = "https://www.tabnak.ir/fa/news/700030/x"
        guard.process_response(Request(url), HtmlResponse(url, body=hostile.cp1256_declared_utf8_page(700030),
                                                          headers={"Content-Type": "text/html; charset=utf-8"}))
        url = "https://www.tabnak.ir/fa/news/700020/x"
        guard.process_response(Request(url), HtmlResponse(url, body=hostile.cp1256_page(700020, meta=False),
                                                          headers={"Content-Type": "text/html"}))
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("newscrawl/encoding/")} == {
        "newscrawl/encoding/override/cp1252->utf-8": 2, "newscrawl/encoding/override/utf-8->cp1256": 1,
        "newscrawl/encoding/guessed/cp1256": 1}
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    # the first override of each kind at INFO, the rest (and guesses for undeclared pages) at DEBUG
    assert [(level, msg.split(" ")[0]) for level, msg in lines] == [
        (logging.INFO, "https://www.tabnak.ir/fa/news/700021/x"), (logging.DEBUG, "https://www.tabnak.ir/fa/news/700022/x"),
        (logging.INFO, "https://www.tabnak.ir/fa/news/700030/x"), (logging.DEBUG, "https://www.tabnak.ir/fa/news/700020/x")]
    assert "declares cp1252, read as utf-8" in lines[0][1]
    assert "declares utf-8, read as cp1256" in lines[2][1]
    assert "declares no charset, read as cp1256" in lines[3][1]
