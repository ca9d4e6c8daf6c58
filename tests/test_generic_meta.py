"""Metadata and date rules of the generic page (issue 16), on pages of our own that reproduce what real
pages of undeclared sites do: Open Graph's article namespace written og:article:*, a JSON-LD breadcrumb
ending with the article itself, the time shown in an element apart from the date, and machine dates
without an offset. The whole-item fixtures are in tests/pages/generic-meta/ (test_fixtures runs them).

Expected values are written by hand: 11 Ordibehesht 1398 = 2019-05-01 (Nowruz 1398 was 21 March 2019,
then 31 + 11 days), Tehran +04:30 in summer until 2022 and +03:30 otherwise (no DST from 2023)."""

from __future__ import annotations

import pytest
from parsel import Selector

from newscrawl import extract
from newscrawl.parsing import metadata
from newscrawl.parsing.dates import clock_text, jalali_has_time
from testkit.fixtures import PAGES

Z = "\u200c"
URL = "https://www.khabar-nemouneh.ir/news/615020/x"
PARAGRAPHS = (
    f"<p>سازمان هواشناسی اعلام کرد از بامداد فردا سامانه{Z}ای بارشی از غرب وارد کشور می{Z}شود و آسمان تهران تا"
    " پایان هفته ابری و بارانی خواهد بود.</p>"
    f"<p>به گفته کارشناس این سازمان، دمای هوای پایتخت در این مدت تا شش درجه کاهش می{Z}یابد و احتمال وزش باد"
    f" شدید در ساعت{Z}های بعدازظهر وجود دارد.</p>"
)


def page(head: str = "", info: str = "", header: str = "") -> str:
    """An article page of an undeclared site: `head` in <head>, `info` under the <h1>, `header` above it."""
    return (f'<html lang="fa"><head><meta charset="utf-8"><meta property="og:type" content="article">{head}'
            f"<title>بارش باران در تهران</title></head><body><header>{header}<nav><a href='/'>صفحه اصلی</a>"
            "<a href='/a'>سیاسی</a><a href='/b'>اقتصادی</a><a href='/c'>اجتماعی</a></nav></header>"
            f"<main><h1>بارش باران در تهران</h1>{info}<div class='text'>{PARAGRAPHS}</div></main>"
            "<footer>همه حقوق محفوظ است.</footer></body></html>")


def generic(html: str, url: str = URL) -> dict:
    return extract(html, url, site="generic")


# -- Open Graph's article namespace as og:article:* ------------------------------------------------------
OG_ARTICLE = Selector(text=(
    '<head><meta property="og:article:published_time" content="2019-05-01T19:04:00">'
    '<meta property="og:article:modified_time" content="2019-05-02T08:30:00">'
    '<meta property="og:article:section" content="اقتصادی">'
    '<meta property="og:article:tag" content="بانک مرکزی"><meta property="og:article:tag" content="نرخ سود">'
    "</head>"))


def test_og_article_names_are_read_as_article_names():
    assert metadata.meta(OG_ARTICLE, "article:published_time") == "2019-05-01T19:04:00"
    assert metadata.meta(OG_ARTICLE, "article:modified_time") == "2019-05-02T08:30:00"
    assert metadata.meta(OG_ARTICLE, "article:section") == "اقتصادی"
    assert metadata.meta_all(OG_ARTICLE, "article:tag") == ["بانک مرکزی", "نرخ سود"]
    assert metadata.published_date(OG_ARTICLE, {}) == "2019-05-01T19:04:00"
    assert metadata.meta(OG_ARTICLE, "og:description") is None  # only the article namespace has two spellings


def test_article_names_come_first_when_a_page_writes_both():
    both = Selector(text=(
        '<head><meta property="og:article:tag" content="قدیمی"><meta property="article:tag" content="تازه">'
        '<meta property="og:article:section" content="ورزشی"><meta property="article:section" content="اقتصادی">'
        "</head>"))
    assert metadata.meta_all(both, "article:tag") == ["تازه"]
    assert metadata.meta(both, "article:section") == "اقتصادی"


def test_generic_page_reads_og_article_section_tags_and_date():
    head = ('<meta property="og:article:published_time" content="2019-05-01T19:04:00">'
            '<meta property="og:article:section" content="اجتماعی > محیط زیست">'
            f'<meta property="og:article:tag" content="باران، هواشناسی,سامانه{Z}های بارشی">')
    item = generic(page(head))
    assert item["published_at"] == "2019-05-01T19:04:00+04:30" and item["published_at_raw"] is None
    assert item["category"] == ["اجتماعی", "محیط زیست"]
    assert item["tags"] == ["باران", "هواشناسی", f"سامانه{Z}های بارشی"]


def test_template_page_reads_og_article_date_and_section():
    """A declared site's page object shares metadata.py: Tabnak's page without its shown date, JSON-LD
    and category links, its metadata written og:article:*."""
    html = (PAGES / "tabnak" / "article.html").read_text(encoding="utf-8")
    for old, new in (
        ('<meta property="article:published_time" content="۱۴۰۲/۰۷/۱۵ - ۰۸:۴۵">',
         '<meta property="og:article:published_time" content="2023-10-07T08:45:00">'
         '<meta property="og:article:section" content="اقتصادی / کشاورزی">'),
        ("<sapn class=\"fa_date\">۱۵ مهر ۱۴۰۲ - ۰۸:۴۵</sapn>", ""),
        ("<a href=\"/fa/archive?service_id=6\">اقتصادی</a> » "
         "<a href=\"/fa/archive?service_id=6&amp;cat_id=41\"> کشاورزی </a>", ""),
    ):
        assert old in html
        html = html.replace(old, new)
    html = html[:html.index('<script  type="application/ld+json">')] + html[html.index("</head>"):]
    item = extract(html, "https://www.tabnak.ir/fa/news/1204518")
    assert item["site"] == "tabnak" and item["published_at_raw"] is None
    assert item["published_at"] == "2023-10-07T08:45:00+03:30"
    assert item["category"] == ["اقتصادی", "کشاورزی"]


# -- a machine date without an offset is Tehran time ---------------------------------------------------------
@pytest.mark.parametrize("head, published", [
    ('<meta property="og:article:published_time" content="2019-05-01T19:04:00">', "2019-05-01T19:04:00+04:30"),
    ('<meta property="article:published_time" content="2024-03-05 21:40">', "2024-03-05T21:40:00+03:30"),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2021-12-01T08:15:00"}'
     "</script>", "2021-12-01T08:15:00+03:30"),
    # an offset, when given, is kept: 14:34 UTC is 19:04 in Tehran that day
    ('<meta property="og:article:published_time" content="2019-05-01T14:34:00Z">', "2019-05-01T19:04:00+04:30"),
])
def test_machine_date_without_offset_is_tehran_time(head, published):
    item = generic(page(head))
    assert item["published_at"] == published


# -- the breadcrumb's last item is the article, not a category ----------------------------------------------
def crumbs(*entries: tuple[str, str | None], head: str = "") -> Selector:
    items = ", ".join(
        f'{{"@type": "ListItem", "position": {i}, "name": "{name}"' + (f', "item": "{url}"}}' if url else "}")
        for i, (name, url) in enumerate(entries, 1))
    return Selector(text=(f"<html><head>{head}<script type='application/ld+json'>"
                          f'{{"@type": "BreadcrumbList", "itemListElement": [{items}]}}</script></head>'
                          "<body><h1>استقلال با دو گل پرسپولیس را برد</h1></body></html>"))


HOME = ("خانه", "https://www.varzesh-nemouneh.ir/")
FOOTBALL = ("فوتبال", "https://www.varzesh-nemouneh.ir/football")
CANONICAL = '<link rel="canonical" href="https://www.varzesh-nemouneh.ir/news/730554/derby">'


@pytest.mark.parametrize("last, head", [
    (("استقلال با دو گل پرسپولیس را برد", None), ""),  # the <h1>'s text
    (("استقلال با دو گل پرسپولیس را برد", "https://www.varzesh-nemouneh.ir/news/730554/derby"), CANONICAL),
    (("خبر دربی", "https://varzesh-nemouneh.ir/news/730554/derby/"), CANONICAL),  # its URL: no www, a slash
    (("خبر دربی", "/news/730554/derby"), '<meta property="og:url" content="https://www.varzesh-nemouneh.ir'
                                         '/news/730554/derby">'),  # a relative URL, og:url
    (("استقلال با دو گل…", None), ""),  # the headline shortened
    ((f"نشست{Z}های خبری", None), '<meta property="og:title" content="نشست های خبری">'),  # ZWNJ written as space
])
def test_breadcrumb_without_the_article_itself(last, head):
    assert metadata.ld_breadcrumb(crumbs(HOME, FOOTBALL, last, head=head)) == ["فوتبال"]


def test_breadcrumb_ending_with_a_category_keeps_it():
    """Tabnak's trail ends with its category, whose URL carries the article's id in a query."""
    last = ("لیگ برتر", "https://www.varzesh-nemouneh.ir/archive?cat_id=730554")
    assert metadata.ld_breadcrumb(crumbs(HOME, FOOTBALL, last, head=CANONICAL)) == ["فوتبال", "لیگ برتر"]
    assert metadata.ld_breadcrumb(crumbs(HOME, ("استقلال", None))) == ["استقلال"]  # a word of the headline only


def test_breadcrumb_of_home_and_the_article_gives_no_category():
    html = page('<script type="application/ld+json">{"@type": "BreadcrumbList", "itemListElement": ['
                '{"@type": "ListItem", "position": 1, "name": "خانه", "item": "https://www.khabar-nemouneh.ir/"},'
                '{"@type": "ListItem", "position": 2, "name": "بارش باران در تهران", "item": "' + URL + '"}]}'
                '</script><meta property="article:published_time" content="2019-05-01T19:04:00">')
    assert generic(html)["category"] == []


# -- the time of day shown apart from the date ---------------------------------------------------------------
@pytest.mark.parametrize("text, clock", [
    ("19:04", "19:04"),
    ("زمان: 19:04", "19:04"),
    ("ساعت ۱۹:۰۴", "۱۹:۰۴"),  # digits as written
    ("| ۰۷:۰۴ ب.ظ -", "۰۷:۰۴ ب.ظ"),
    ("ساعت انتشار: ۱۹:۰۴:۱۰", "۱۹:۰۴:۱۰"),
    ("24:10", None),  # no time of day
    ("1398/02/11", None),
    ("۱۹:۰۴ ۱۳۹۸/۰۲/۱۱", None),  # a date with its time is no time alone
    ("مدت 12:30", None),  # a label that names no time of day: a video's length
    ("مدت: ۰۳:۴۵", None),
    ("زمان انتشار: 19:04", "19:04"),
    ("12:30 امروز", None),
])
def test_clock_text(text, clock):
    assert clock_text(text) == clock


@pytest.mark.parametrize("text, has_time", [
    ("1398/02/11", False), ("۱۱ اردیبهشت ۱۳۹۸", False), ("19:04 1398/02/11", True),
    ("۱۳۹۸/۰۲/۱۱ ساعت ۱۹:۰۴", True), ("19:04", False), (None, False),
])
def test_jalali_has_time(text, has_time):
    assert jalali_has_time(text) is has_time


@pytest.mark.parametrize("info, raw, published", [
    # the page: «زمان: 19:04 1398/02/11», the label, the time and the date each in an element
    ("<div class='info'><span>زمان:</span> <span>19:04</span> <span>1398/02/11</span></div>",
     "19:04 1398/02/11", "2019-05-01T19:04:00+04:30"),
    # the date first, its label in it; the time after a «|»
    ("<div class='info'><span>تاریخ: ۱۱ اردیبهشت ۱۳۹۸</span> | <span>ساعت: ۱۹:۰۴</span></div>",
     "۱۱ اردیبهشت ۱۳۹۸ ۱۹:۰۴", "2019-05-01T19:04:00+04:30"),
    # in a list, each in an <li>, the label in the time's own text; p.m.
    ("<ul class='meta'><li><i class='icon'></i>ساعت ۰۷:۰۴ ب.ظ</li><li>۱۳۹۸/۰۲/۱۱</li></ul>",
     "۰۷:۰۴ ب.ظ ۱۳۹۸/۰۲/۱۱", "2019-05-01T19:04:00+04:30"),
    # a date that shows its time already: the clock beside it is left alone
    ("<div class='info'><span>۱۱ اردیبهشت ۱۳۹۸ - ۱۹:۰۴</span> <span>08:00</span></div>",
     "۱۱ اردیبهشت ۱۳۹۸ - ۱۹:۰۴", "2019-05-01T19:04:00+04:30"),
    # a time in another box, far from the date (a sidebar's), is not the article's: midnight
    ("<div class='info'><span>1398/02/11</span></div><div class='box'><div><div><p>"
     "<span>08:00</span></p></div></div></div>", "1398/02/11", "2019-05-01T00:00:00+04:30"),
    # nor one past a longer text
    ("<div class='info'><span>1398/02/11</span> <span>تعداد بازدید این خبر</span> <span>08:00</span></div>",
     "1398/02/11", "2019-05-01T00:00:00+04:30"),
])
def test_time_shown_apart_from_the_date_is_kept(info, raw, published):
    item = generic(page(info=info))
    assert item["published_at_raw"] == raw
    assert item["published_at"] == published


def test_a_date_with_its_time_apart_beats_the_headers_today_as_near():
    """The date and its time count as one: the header's «today» is two texts before the <h1> (a link
    between), the time two after it (its label between) and the date three; on a tie, the one after wins."""
    html = page(info="<div class='info'><span>زمان:</span> <span>19:04</span> <span>1398/02/11</span></div>",
                header="<div class='today'>چهارشنبه ۱۸ اردیبهشت ۱۳۹۸</div>").replace(
        "<a href='/a'>سیاسی</a><a href='/b'>اقتصادی</a><a href='/c'>اجتماعی</a>", "")
    item = generic(html)
    assert item["published_at_raw"] == "19:04 1398/02/11"
    assert item["published_at"] == "2019-05-01T19:04:00+04:30"


def test_fixture_pages_keep_their_structure():
    """What tests/pages/generic-meta/ is for (its items are checked by test_fixtures)."""
    folder = PAGES / "generic-meta"
    assert '<meta property="og:article:tag"' in (folder / "og-article.html").read_text(encoding="utf-8")
    assert '"name": "استقلال با دو گل پرسپولیس را برد"' in (folder / "breadcrumb.html").read_text(encoding="utf-8")
    assert '<span class="time">19:04</span> <span class="date">1398/02/11</span>' in (
        folder / "time-apart.html").read_text(encoding="utf-8")


# -- what the two real pages of ../shared taught (Tabnak 818242, ISNA 98042110897), on pages of our own --
LONG = f"سازمان هواشناسی از ورود سامانه{Z}ای بارشی خبر داد؛ کارشناسان می{Z}گویند «هشدار زرد» تا پایان هفته برقرار است."


def test_a_description_cut_by_an_unescaped_quote_is_completed_by_a_whole_one():
    # og:description's raw quote ends its attribute after «می‌گویند »; the description meta writes &quot;
    cut = LONG.replace("«هشدار زرد»", '"هشدار زرد"')
    head = (f'<meta property="og:description" content="{cut}">'
            f'<meta name="description" content="{cut.replace(chr(34), "&quot;")}">')
    item = generic(page(head=head))
    assert item["lead"] == (f'سازمان هواشناسی از ورود سامانه{Z}ای بارشی خبر داد؛ کارشناسان می{Z}گویند "هشدار زرد"'
                            " تا پایان هفته برقرار است.")
    assert item["provenance"]["lead"] == "meta"


def test_descriptions_that_differ_keep_the_first_source():
    head = ('<meta property="og:description" content="باران فردا به تهران می‌رسد.">'
            '<meta name="description" content="سایت خبری نمونه، اخبار ایران و جهان">')
    assert generic(page(head=head))["lead"] == f"باران فردا به تهران می{Z}رسد."


BREADCRUMB_LD = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "BreadcrumbList",'
                 ' "itemListElement": [{"@type": "ListItem", "position": 1, "item": {"@id": "/", "name": ""}},'
                 ' {"@type": "ListItem", "position": 2, "item": {"@id": "/s/9", "name": "محیط زیست"}}]}</script>')


@pytest.mark.parametrize("trail, category", [
    # the visible trail ends with the metadata's one level and says more: the whole path
    ("<div class='news_path'><a href='/s/3'>جامعه</a> » <a href='/s/9'>محیط زیست</a></div>",
     ["جامعه", "محیط زیست"]),
    ("<nav class='breadcrumb'><a href='/'>صفحه نخست</a> / <a href='/s/3'>جامعه</a> / <a href='/s/9'>محیط زیست</a>"
     " / <a href='/news/615020'>بارش باران در تهران</a></nav>", ["جامعه", "محیط زیست"]),
    # a trail that does not end with the metadata's section is some other box's: metadata is kept
    ("<div class='path'><a href='/s/4'>ورزشی</a> » <a href='/s/5'>فوتبال</a></div>", ["محیط زیست"]),
])
def test_a_visible_breadcrumb_completes_the_metadata_section(trail, category):
    assert generic(page(head=BREADCRUMB_LD, info=trail))["category"] == category


JSONLD_DATE = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
               ' "headline": "بارش باران در تهران", "datePublished": "2019-05-01T19:04:41+04:30"}</script>')


@pytest.mark.parametrize("info, raw, published", [
    # shown to the minute of JSON-LD's date: the shown date (a site's spider reads the same)
    ("<div class='info'>۱۱ اردیبهشت ۱۳۹۸ - ۱۹:۰۴</div>", "۱۱ اردیبهشت ۱۳۹۸ - ۱۹:۰۴", "2019-05-01T19:04:00+04:30"),
    # shown without its time, on the same day: shown text kept, JSON-LD's time kept
    ("<div class='info'>۱۱ اردیبهشت ۱۳۹۸</div>", "۱۱ اردیبهشت ۱۳۹۸", "2019-05-01T19:04:41+04:30"),
    # another date (an update the next day): not this article's publication; JSON-LD wins, no raw
    ("<div class='info'>۱۲ اردیبهشت ۱۳۹۸ - ۰۸:۱۰</div>", None, "2019-05-01T19:04:41+04:30"),
])
def test_a_shown_date_agreeing_with_the_metadata_is_the_raw_date(info, raw, published):
    item = generic(page(head=JSONLD_DATE, info=info))
    assert (item["published_at_raw"], item["published_at"]) == (raw, published)


@pytest.mark.parametrize("og_url, url", [
    ("http://www.khabar-nemouneh.ir/news/615020", "https://www.khabar-nemouneh.ir/news/615020"),
    # another host of the same site keeps its scheme: only the page's own host is known to serve https
    ("http://old.khabar-nemouneh.ir/news/615020", "http://old.khabar-nemouneh.ir/news/615020"),
])
def test_an_http_canonical_of_a_page_served_over_https(og_url, url):
    item = generic(page(head=f'<meta property="og:url" content="{og_url}">'))
    assert item["url"] == url
    assert item["provenance"]["url"] == "opengraph"


def test_og_image_in_another_size_folder_gives_the_picture_in_the_page():
    head = '<meta property="og:image" content="https://cdn.khabar-nemouneh.ir/d/2019/05/01/4/6150.jpg">'
    info = ("<figure><img src='https://cdn.khabar-nemouneh.ir/d/2019/05/01/3/6150.jpg' alt=''></figure>"
            "<aside><img src='https://cdn.khabar-nemouneh.ir/d/2019/05/01/3/9999.jpg'></aside>")
    item = generic(page(head=head, info=info))
    assert item["images"] == ["https://cdn.khabar-nemouneh.ir/d/2019/05/01/3/6150.jpg"]
