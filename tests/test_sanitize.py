"""Untrusted input stays harmless (issue 14): stored text never holds markup, stored URLs are absolute
http(s) URLs on the site, every item matches the schema. Unit tests and hypothesis over the sanitizer
(newscrawl/parsing/sanitize.py), then a crawl of the hostile test site's issue-14 articles through the real engine."""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from scrapy.exceptions import DropItem

from newscrawl.parsing.sanitize import (
    MAX_URL_LENGTH,
    clean_url,
    strip_markup,
    strip_paragraphs,
    url_problem,
)
from newscrawl.parsing.text import normalize
from newscrawl.pipelines.clean import SanitizePipeline, SchemaPipeline
from testkit.devservers import closing_stats
from testkit.hostile import (
    ESCAPED_STORED_BODY,
    ESCAPED_TITLE,
    IMAGE_PATH,
    PREFIX,
    SANITIZE_CASES,
    escaped_markup_page,
)
from testkit.testsite import running
from tests.conftest import run_scrapy, scrapy_env

ZWNJ = "\u200c"
#: a tag, comment or declaration starts here in a browser (HTML5 tag-open state; «</» at the very end
#: of a text is two characters of text, «< a>» is text too)
TAG_START = re.compile(r"<[A-Za-z!?]|</[A-Za-z]")
#: elements an HTML parser makes up around any text
IMPLIED = {"html", "body", "p"}


def harmless(text: str) -> bool:
    """Rendered as HTML, `text` makes no element and no attribute (on…= or other): no tag can start in it
    (a regex, independent of the code under test), and a browser-grade parser (libxml2's HTML5 tokenizer)
    finds no element but the implied ones. Checked on the text and on it with its entities decoded,
    once or as often as they decode."""
    forms, decoded = [text], text
    while (decoded := html.unescape(decoded)) != forms[-1]:
        forms.append(decoded)
    for form in forms:
        if TAG_START.search(form):
            return False
        root = etree.fromstring(form, etree.HTMLParser()) if form.strip() else None
        if root is not None and any(e.tag not in IMPLIED or e.attrib for e in root.iter()):
            return False
    return True


def FakeCrawler():  # noqa: N802 - reads like the class it stands for
    from scrapy.utils.test import get_crawler

    return get_crawler(settings_dict={"STATS_CLASS": "scrapy.statscollectors.MemoryStatsCollector"})


def item(**fields) -> dict:
    base = {"site": "tabnak", "news_code": "818242", "url": "https://www.tabnak.ir/fa/news/818242",
            "title": "عنوان خبر", "kicker": None, "lead": None, "body": "بند نخست.\n\nبند دوم.",
            "published_at": None, "published_at_raw": "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰", "category": ["سیاسی"],
            "tags": [], "images": [], "source": None, "language": "fa", "crawled_at": "2026-11-25T02:00:00+00:00",
            "fetched_from": "live", "archive_ref": None, "captured_at": "2026-11-25T02:00:00+00:00",
            "provenance": {}, "story_id": None, "copy_of": None}
    base.update(fields)
    return base


# -- text ----------------------------------------------------------------------------------------------------
def test_libxml2_tokenizes_html5():
    """The sanitizer relies on libxml2's HTML5 tokenizer (2.14 on): an older lxml wheel would not see
    `<img/src=x/onerror=…>` the way a browser does."""
    assert etree.LIBXML_VERSION >= (2, 14)


@pytest.mark.parametrize(("escaped", "stored"), [
    # issue 14's three cases, as the page shows them (the loaders decode the entities)
    ("&lt;svg/onload=alert(1)&gt;عنوان خبر", "عنوان خبر"),
    ("پیش &lt;img/src=x/onerror=alert(2)&gt; پس", "پیش پس"),
    ("&lt;a href='x&gt;y' onclick=alert(3)&gt;پیوند&lt;/a&gt; پایان", "پیوند پایان"),
    # a tag cut off at the end, nested tags that make a tag once removed, script text, a comment
    ("متن &lt;img src=x onerror=alert(1)", "متن"),
    ("&lt;&lt;b&gt;img src=x onerror=alert(1)&gt;متن", "متن"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;متن", "متن"),
    ("متن&lt;!-- &lt;img src=x onerror=alert(1)&gt; --&gt; پایان", "متن پایان"),
    # escaped twice: the text still holds entities after the loaders' decoding
    ("&amp;lt;img src=x onerror=alert(1)&amp;gt;متن", "متن"),
    # block tags separate words; inline ones do not
    ("&lt;p&gt;یک&lt;/p&gt;&lt;p&gt;دو&lt;/p&gt;", "یک دو"),
    ("می&lt;b&gt;\u200cرود&lt;/b&gt;", "می\u200cرود"),
])
def test_markup_in_text_is_removed(escaped, stored):
    text = normalize(escaped)  # what the loaders give the pipeline
    assert strip_markup(text) == stored


@pytest.mark.parametrize("text", [
    "a < b", "۳<۵", "۲ < ۳ و ۵ > ۴", "x <5", "قیمت‌ها > دیروز", "R&D و AT&T", "<", "a <= b", "می\u200cروند",
    "۳ &lt; ۵", "AT&amp;amp;T",  # entities left after decoding that hide no markup stay as written
])
def test_plain_text_with_less_than_survives(text):
    assert strip_markup(text) is text


def test_body_paragraphs_are_cleaned_one_by_one():
    assert strip_paragraphs("<b>یک</b>\n\n<script>x</script>\n\nسه <i>چهار</i>") == "یک\n\nسه چهار"


# -- hypothesis: generated markup ---------------------------------------------------------------------------
PERSIAN = st.text(alphabet="ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی۰۱۲۳۴۵۶۷۸۹ \u200c.،", min_size=1, max_size=12)
TAGS = st.sampled_from(["svg", "img", "a", "script", "style", "iframe", "b", "p", "div", "title", "textarea",
                        "math", "noscript", "x-y", "scr", "body", "html", "select", "object", "template"])
EVENTS = st.sampled_from(["onload", "onerror", "onclick", "onmouseover", "ONFOCUS", "onbegin"])
VALUE_TEXT = st.text(alphabet="ab>< /='\"x()1", max_size=8)


@st.composite
def attribute(draw) -> str:
    name = draw(st.one_of(EVENTS, st.sampled_from(["src", "href", "title", "style", "x"])))
    value = draw(VALUE_TEXT)
    quote = draw(st.sampled_from(["'", '"', ""]))
    if quote:
        value = value.replace(quote, "")
    else:
        value = re.sub(r"[\s>'\"=<`]", "", value) or "x"
    return f"{name}={quote}{value}{quote}"


@st.composite
def tag(draw, slashes: bool = True) -> str:
    """A start, end or self-closing tag; attributes apart by spaces or slashes, values quoted or bare.
    (A slash right after a bare value is part of the value: in «<img/src=x/onerror=…>» there is no
    onerror attribute, and «<svg/a=x/b='>'>» ends at the first «>», leaving «'>» as text.)"""
    name = draw(TAGS)
    attrs = draw(st.lists(attribute(), max_size=3))
    sep = draw(st.sampled_from([" ", "/", "\n", " / "] if slashes else [" ", "\n"]))
    kind = draw(st.sampled_from(["start", "end", "self"]))
    inner, bare = "", False
    for a in attrs:  # after a bare value a slash would belong to the value: a space there
        inner += (" " if bare and sep == "/" else sep) + a
        bare = a[-1:] not in "'\""
    return {"start": f"<{name}{inner}>", "end": f"</{name}{inner}>", "self": f"<{name}{inner}/>"}[kind]


@st.composite
def hostile_text(draw) -> str:
    """Persian text mixed with tags, comments, tags cut short, nested and entity-escaped markup."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        choice = draw(st.integers(0, 8))
        if choice <= 1:
            parts.append(draw(PERSIAN))
        elif choice == 2:
            parts.append(draw(tag()))
        elif choice == 3:  # a quote never closed swallows the rest: «<a title='x>…»
            parts.append(draw(tag()).replace(">", " title='>", 1))
        elif choice == 4:  # a tag that appears when another is removed: «<<b>img onerror=…>»
            outer, inner = draw(tag()), draw(tag())
            parts.append("<" + inner + outer[1:])
        elif choice == 5:
            parts.append(html.escape(draw(tag()), quote=draw(st.booleans())))
        elif choice == 6:
            parts.append(html.escape(html.escape(draw(tag()))))
        elif choice == 7:
            parts.append(f"<!--{draw(PERSIAN)}{draw(tag())}-->")
        else:
            parts.append(draw(st.sampled_from(["<", " < ", "۳<۵", ">", "&", "&amp;"])))
    if draw(st.booleans()):  # cut short at the end, no closing «>» (earlier, the next «>» closes it)
        parts.append(draw(tag())[:-1])
    return "".join(parts)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_text())
def test_no_tag_or_event_attribute_survives(text):
    for given_text in (text, normalize(text)):  # as a loader passes it, and as any other source might
        assert harmless(strip_markup(given_text))


PIPELINE = SanitizePipeline(FakeCrawler())


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile_text(), min_size=1, max_size=4), hostile_text(), hostile_text())
def test_no_stored_text_field_holds_markup(paragraphs, title, tag_text):
    out = PIPELINE.process_item(item(
        title=title, kicker=title, lead=title, source=title, published_at_raw=title,
        body="\n\n".join(paragraphs), tags=[tag_text, title], category=[tag_text]))
    for field in ("title", "kicker", "lead", "source", "published_at_raw", "body"):
        assert out[field] is None or harmless(out[field]), field
    for field in ("tags", "category"):
        assert all(harmless(value) for value in out[field]), field


@st.composite
def text_around_closed_markup(draw) -> tuple[str, list[str]]:
    """Persian words (with ZWNJs) between complete tags that hold no text: (the text, the words)."""
    words = draw(st.lists(st.text(alphabet="ابپتسشکگمنوهی\u200c", min_size=1, max_size=8).filter(
        lambda w: w.strip(ZWNJ) == w), min_size=1, max_size=5))
    gaps = [draw(st.one_of(st.just(" "), tag(slashes=False).map(lambda t: f" {t} ").filter(
        lambda t: not re.match(r" <(script|style|iframe|title|textarea|noscript|template)\b", t))))
        for _ in words]
    return "".join(g + w for g, w in zip(gaps, words, strict=True)), words


@settings(max_examples=300, deadline=None)
@given(text_around_closed_markup())
def test_words_and_their_zwnj_survive_around_markup(case):
    text, words = case
    assert strip_markup(text).split() == words


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ابپتسشکگمنوهی۳۵\u200c <>=-.،", max_size=40))
def test_text_with_less_than_but_no_tag_is_unchanged(raw):
    text = normalize(raw)
    assert strip_markup(text) == text


# -- URLs ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.tabnak.ir/fa/news/818242", ("https://www.tabnak.ir/fa/news/818242", None)),
    ("https://www.isna.ir/news/1/وزیر-خارجه", ("https://www.isna.ir/news/1/وزیر-خارجه", None)),  # IRI kept
    ("http://x.ir/files/عکس 1.jpg", ("http://x.ir/files/عکس%201.jpg", None)),
    ('http://x.ir/a"><script>', ("http://x.ir/a%22%3E%3Cscript%3E", None)),
    ("javascript:alert(document.cookie)//www.tabnak.ir/fa/news/1", (None, "not_http")),
    ("data:text/html,<h1>x</h1>", (None, "not_http")),
    ("/fa/news/1", (None, "not_http")),
    ("http:///fa/news/1", (None, "not_http")),
    ("http://[::1/x", (None, "invalid")),
    ("http://x.ir:port/", (None, "invalid")),
    ("http://x.ir/" + "a" * (MAX_URL_LENGTH - 12), ("http://x.ir/" + "a" * (MAX_URL_LENGTH - 12), None)),
    ("http://x.ir/" + "a" * (MAX_URL_LENGTH - 11), (None, "too_long")),
])
def test_clean_url(url, expected):
    assert clean_url(url) == expected


def test_url_problem_refuses_what_no_url_holds():
    assert url_problem("http://x.ir/a b") == "invalid"
    assert url_problem("http://x.ir/a\x01") == "invalid"
    assert url_problem("https://x.ir/a") is None


# -- the pipelines -------------------------------------------------------------------------------------------
def test_sanitize_pipeline_counts_each_field_and_each_image(caplog):
    crawler = FakeCrawler()
    long_image = "https://www.tabnak.ir/files/" + "a" * 2 * 1024 * 1024 + ".jpg"
    caplog.set_level(logging.WARNING, "newscrawl.parsing.sanitize")
    out = SanitizePipeline(crawler).process_item(item(
        title="<svg/onload=alert(1)>عنوان", body="<img/src=x/onerror=alert(2)>بند\n\nدوم", lead="لید",
        images=["https://www.tabnak.ir/files/1.jpg", long_image, "javascript:alert(1)",
                "https://www.tabnak.ir/files/1.jpg", "https://www.tabnak.ir/files/2 b.jpg"]))
    assert (out["title"], out["body"], out["lead"]) == ("عنوان", "بند\n\nدوم", "لید")
    assert out["images"] == ["https://www.tabnak.ir/files/1.jpg", "https://www.tabnak.ir/files/2%20b.jpg"]
    stats = crawler.stats.get_stats()
    assert stats == {"newscrawl/sanitized/markup": 2, "newscrawl/sanitized/image_too_long": 1,
                     "newscrawl/sanitized/image_not_http": 1}
    assert all(len(r.getMessage()) < 400 for r in caplog.records)  # the 2 MB URL is never logged
    assert [r.getMessage() for r in caplog.records][0] == (
        "removed markup from title, body of https://www.tabnak.ir/fa/news/818242")


def test_sanitize_pipeline_leaves_a_clean_item_alone():
    crawler = FakeCrawler()
    clean = item(images=["https://www.tabnak.ir/files/1.jpg"])
    assert SanitizePipeline(crawler).process_item(dict(clean)) == clean
    assert crawler.stats.get_stats() == {}


def test_schema_pipeline_passes_a_good_item():
    crawler = FakeCrawler()
    good = item()
    assert SchemaPipeline(crawler).process_item(good) is good
    assert crawler.stats.get_stats() == {}


@pytest.mark.parametrize(("fields", "field"), [
    ({"url": "javascript:alert(document.cookie)//www.tabnak.ir/fa/news/1"}, "url"),
    ({"url": "https://www.tabnak.ir/" + "a" * MAX_URL_LENGTH}, "url"),
    ({"images": ["/files/1.jpg"]}, "images"),
    ({"site": "Tabnak News"}, "site"),
    ({"tags": ["", "x"]}, "tags"),
    ({"kicker": ""}, "kicker"),
    ({"language": "farsi"}, "language"),
    ({"crawled_at": "yesterday"}, "crawled_at"),
])
def test_schema_pipeline_drops_with_the_field(fields, field, caplog):
    crawler = FakeCrawler()
    caplog.set_level(logging.WARNING, "newscrawl.parsing.sanitize")
    with pytest.raises(DropItem):
        SchemaPipeline(crawler).process_item(item(**fields))
    assert crawler.stats.get_stats() == {f"newscrawl/dropped/schema_{field}": 1}
    [line] = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(rf"dropped \S+: {field} fails the item schema \(\w+\)", line), line
    assert len(line) < 300


@pytest.mark.parametrize("field", ["title", "body", "url", "news_code", "site"])
def test_schema_pipeline_leaves_missing_required_fields_to_validate_pipeline(field):
    crawler = FakeCrawler()
    SchemaPipeline(crawler).process_item(item(**{field: None}))
    SchemaPipeline(crawler).process_item(item(**{field: "  "}) if field != "news_code" else item())
    assert crawler.stats.get_stats() == {}


FIELD_VALUES = st.sampled_from([
    None, "", " ", "x", "tabnak", "Tabnak", "tabnak.ir", "818242", "۸۱۸۲۴۲", "fa", "farsi", "عنوان",
    "https://www.tabnak.ir/fa/news/1", "https://www.isna.ir/news/1/وزیر", "http://x.ir/a b", "/fa/news/1",
    "javascript:alert(1)", "http://x.ir/%zz", "https://x.ir/" + "a" * 2100, "2026-11-25T02:00:00+00:00",
    "2026-11-25T02:00:00+04:30", "2018-07-21T00:20:00+04:30", "2018-07-21 00:20", "tabnak\n", 1, True, {},
    [], ["x"], [""], ["https://www.tabnak.ir/files/1.jpg"], ["https://x.ir/" + "a" * 2100], [None], ["/x.jpg"],
])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from([*item(), "extra"]), FIELD_VALUES, max_size=5), st.sets(
    st.sampled_from(list(item())), max_size=2))
def test_fast_schema_agrees_with_jsonschema(changes, removed):
    """SchemaPipeline's fast path never passes an item that jsonschema rejects, nor the reverse."""
    from newscrawl.pipelines.clean import _fast_schema, _validator

    data = {k: v for k, v in {**item(), **changes}.items() if k not in removed}
    assert _fast_schema().is_valid(data) == (not list(_validator().iter_errors(data)))


def test_pipelines_run_in_order_before_validation():
    from scrapy.utils.project import get_project_settings

    order = sorted(get_project_settings().getdict("ITEM_PIPELINES").items(), key=lambda kv: kv[1])
    names = [path.rsplit(".", 1)[1] for path, _ in order]
    assert names.index("SanitizePipeline") < names.index("SchemaPipeline") < names.index("ValidatePipeline")
    assert names.index("ValidatePipeline") < names.index("StoragePipeline")


def test_extract_drops_nothing_good_and_sanitizes_the_escaped_page():
    """The offline path (`scrapy extract`, the benchmark) runs the same pipelines."""
    from scrapy.utils.project import get_project_settings

    from newscrawl.offline import Extractor
    from newscrawl.spiders.sites import TabnakSpider

    url = "https://www.tabnak.ir/fa/news/700040"
    extractor = Extractor(TabnakSpider, get_project_settings(), url)
    out = extractor.extract(escaped_markup_page(700040).encode(), url)
    assert (out["title"], out["body"]) == (ESCAPED_TITLE, ESCAPED_STORED_BODY)
    assert extractor.stats["newscrawl/sanitized/markup"] == 2


# -- through the real engine ---------------------------------------------------------------------------------
IDS = sorted(SANITIZE_CASES)
TEXT_FIELDS = ("title", "kicker", "lead", "body", "source", "published_at_raw")


@pytest.mark.faults
def test_hostile_markup_and_urls_store_nothing_harmful(tmp_path):
    """tabnak, ids mode, against the hostile site's issue-14 articles: every one stored once, with exactly
    the expected text, URL and images, and the refusals counted."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    with running(env=env) as (site, _):
        base = site + PREFIX
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}", "-a", f"ids={IDS[0]}-{IDS[-1]}",
                            "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = closing_stats(result.stderr)
    feed = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text("utf-8").splitlines()]
    items = {i["news_code"]: i for i in feed}
    assert sorted(items) == [str(i) for i in IDS] and len(feed) == len(IDS)
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        db.row_factory = sqlite3.Row
        rows = {r["news_code"]: dict(r) for r in db.execute("SELECT * FROM articles")}
    assert sorted(rows) == sorted(items)

    for code in ("700040", "700041", "700042"):
        assert (items[code]["title"], items[code]["body"]) == (ESCAPED_TITLE, ESCAPED_STORED_BODY), code
    for code in ("700043", "700044"):  # the javascript: and the off-site canonical are ignored
        assert items[code]["url"] == f"{base}/fa/news/{code}"
    assert items["700045"]["images"] == [site + PREFIX + IMAGE_PATH]
    assert all(i["images"] == [] for code, i in items.items() if code != "700045")

    for code, stored in [*items.items(), *rows.items()]:
        for field in TEXT_FIELDS:
            assert stored[field] is None or harmless(stored[field]), (code, field)
            assert "alert(" not in (stored[field] or ""), (code, field)
        assert stored["url"].startswith(base + "/fa/news/"), code
        images = stored["images"] if isinstance(stored["images"], list) else json.loads(stored["images"] or "[]")
        assert all(i.startswith(site + "/") and len(i) <= MAX_URL_LENGTH for i in images), code

    assert stats.get("newscrawl/sanitized/markup") == 6  # title and body of 700040-700042
    assert stats.get("newscrawl/url/unsafe_canonical") == 1
    assert stats.get("newscrawl/url/offsite_canonical") == 1
    assert stats.get("newscrawl/sanitized/image_too_long") == 1
    assert not [k for k in stats if k.startswith("newscrawl/dropped/")]
    assert "javascript:alert" not in (tmp_path / "items.jsonl").read_text("utf-8")
