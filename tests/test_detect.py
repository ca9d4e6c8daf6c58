"""CMS family detection (newscrawl.pages.detect): a page of a host with no declaration is read with its
family's selectors when its markup names IranSamaneh or Nastooh, and gives the fields its own site's
spider gives; `site` (the host's registered domain) and `url` (on the host it was served from) differ.

Expected values are written by hand from the pages (tests/pages/<site>/article.html, the real pages in
../shared/realpages); the hypothesis tests compare the two readings of pages built from each family's
template with random Persian text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from newscrawl import extract
from newscrawl.offline import Extractor, package_settings
from newscrawl.pages.article import IranSamanehArticlePage, NastoohArticlePage
from newscrawl.pages.base import Page
from newscrawl.pages.detect import detect_family, family_page
from newscrawl.spiders.generic import GenericSpider
from testkit.demo.build import Article, render_article
from testkit.fixtures import PAGES

Z = "\u200c"
HOST = "https://news.example.ir"
TABNAK = (PAGES / "tabnak" / "article.html").read_bytes()
ISNA = (PAGES / "isna" / "article.html").read_bytes()
#: what an undeclared host may change: the item's site and url, the source (a site crediting itself is
#: no source, but on another host it is one: checked by hand below), crawled_at and captured_at (the time of
#: the run)
HOST_FIELDS = ("site", "url", "source", "crawled_at", "captured_at", "provenance")


def same_fields(declared: dict, detected: dict) -> dict:
    """The fields that differ between two items, beyond those a host changes."""
    return {k: (declared[k], detected.get(k)) for k in declared
            if k not in HOST_FIELDS and declared[k] != detected.get(k)}


def family_of(html: str | bytes, url: str = HOST + "/x") -> str | None:
    return detect_family(Page(url, html))


# -- the markers -------------------------------------------------------------------------------------------
def test_nastooh_is_named_by_its_generator_or_its_meta_properties():
    assert family_of(ISNA) == "nastooh"
    assert family_of('<html><head><meta name="generator" content="www.nastooh.ir"></head></html>') == "nastooh"
    assert family_of('<html><head><meta property="nastooh:code" content="1"></head></html>') == "nastooh"


def test_iransamaneh_is_named_by_its_assets_credit_or_two_of_its_box_classes():
    assert family_of(TABNAK) == "iransamaneh"
    script = '<script src="http://cdn.x.ir/client/themes/fa/main/js/lib.iransamaneh_1.js"></script>'
    assert family_of(f"<html><head>{script}</head></html>") == "iransamaneh"
    credit = '<footer><div class="iransamaneh"><a href="http://iransamaneh.com">ایران سامانه</a></div></footer>'
    assert family_of(f"<html><body>{credit}</body></html>") == "iransamaneh"
    boxes = '<div class="news_nav news_id_c">کد خبر: ۱</div><div class="news_nav news_pdate_c">۱ تیر ۱۴۰۰</div>'
    assert family_of(f"<html><body>{boxes}</body></html>") == "iransamaneh"


def test_a_kicker_class_or_one_box_class_names_no_family():
    """«rutitr» is the Persian word for a kicker, and one `news_path` may be any site's."""
    page = ('<html><head><meta name="generator" content="WordPress 6.4"></head><body><div class="rutitr">'
            'رو تیتر</div><div class="news_path"><a href="/c">سیاسی</a></div><h1>تیتر</h1></body></html>')
    assert family_of(page) is None
    assert family_of("<html><body><article><h1>تیتر</h1><p>متن</p></article></body></html>") is None


# -- the same fields as the site's spider ---------------------------------------------------------------------
def test_tabnak_page_on_an_unknown_host_gives_tabnak_fields():
    declared = extract(TABNAK, "https://www.tabnak.ir/fa/news/1204518/x")
    detected = extract(TABNAK, HOST + "/fa/news/1204518/x")
    assert same_fields(declared, detected) == {}
    assert detected["kicker"] == "وزیر جهاد کشاورزی خبر داد؛"
    assert detected["category"] == ["اقتصادی", "کشاورزی"]
    assert detected["source"] == "تابناک"  # «به گزارش تابناک،»: on this host, another outlet
    assert detected["news_code"] == "1204518"
    assert (detected["site"], declared["site"]) == ("example.ir", "tabnak")  # the registered domain
    # the family's short form on the host served from (og:url names tabnak.ir: off this host)
    assert detected["url"] == HOST + "/fa/news/1204518"


def test_isna_page_on_an_unknown_host_gives_isna_fields():
    declared = extract(ISNA, "https://www.isna.ir/news/1403070208791/x")
    detected = extract(ISNA, HOST + "/news/1403070208791/x")
    assert same_fields(declared, detected) == {}
    assert detected["kicker"] == "پیش\u200cبینی هواشناسی"
    assert detected["category"] == ["اجتماعی", "محیط زیست"]
    assert detected["tags"] == ["باران", "هواشناسی", "تهران"]
    assert detected["source"] == "ایسنا"
    assert (detected["site"], detected["url"]) == ("example.ir", HOST + "/news/1403070208791")


def test_a_host_with_another_url_shape_keeps_the_fetched_url_and_the_shown_code():
    detected = extract(TABNAK, HOST + "/story/latest-wheat")
    assert detected["news_code"] == "1204518"  # «کد خبر: ۱۲۰۴۵۱۸» on the page
    assert detected["url"] == HOST + "/story/latest-wheat"


def test_a_path_prefix_before_the_familys_shape_is_kept():
    detected = extract(TABNAK, HOST + "/mirror/fa/news/1204518/x")
    assert detected["url"] == HOST + "/mirror/fa/news/1204518"


def test_real_tabnak_page_on_an_unknown_host(realpage):
    page = realpage("tabnak/article-1.html")
    declared = extract(page, "https://www.tabnak.ir/fa/news/818242/slug")
    detected = extract(page, HOST + "/fa/news/818242/slug")
    assert same_fields(declared, detected) == {}
    assert detected["kicker"] == "هزار و دویست و هفتاد و نهمین بسته ویژه خبری «تابناک»؛"
    assert detected["category"] == ["بسته ویژه خبری", "عمومی"]
    assert detected["published_at"] == "2018-07-21T00:20:00+04:30"
    assert detected["lead"].startswith(f"رصد{Z}خانه «تابناک»، خبر{Z}هایی برای مخاطبان آماده می{Z}کند")
    assert len(detected["body"].split("\n\n")) == 28


def test_real_isna_page_on_an_unknown_host(realpage):
    page = realpage("isna/article-1.html")
    declared = extract(page, "https://www.isna.ir/news/98042110897/slug")
    detected = extract(page, HOST + "/news/98042110897/slug")
    assert same_fields(declared, detected) == {}
    assert detected["news_code"] == "98042110897"
    assert detected["url"] == HOST + "/news/98042110897"


def test_declared_hosts_are_read_by_their_site_and_generic_stays_generic_there():
    """On a declared host, `site="generic"` asks for the generic page: no family reads it."""
    extractor = Extractor(GenericSpider, package_settings(), "https://www.tabnak.ir/fa/news/1204518/x")
    item = extractor.extract(TABNAK, "https://www.tabnak.ir/fa/news/1204518/x")
    assert item["site"] == "tabnak.ir"
    assert not [k for k in extractor.stats if k.startswith("newscrawl/family/")]


def test_detection_is_counted():
    extractor = Extractor(GenericSpider, package_settings(), HOST + "/fa/news/1204518/x")
    extractor.extract(TABNAK, HOST + "/fa/news/1204518/x")
    extractor.extract(ISNA, HOST + "/news/1403070208791/x")
    extractor.extract(TABNAK, "https://other.example.com/fa/news/1204518/x")
    assert extractor.stats["newscrawl/family/iransamaneh"] == 2
    assert extractor.stats["newscrawl/family/nastooh"] == 1


def test_a_family_page_its_map_cannot_read_is_read_by_the_generic_page():
    """IranSamaneh's boxes around an article in a layout the family map does not know (no `.body`)."""
    page = ('<html><head><meta property="og:type" content="article"><meta property="og:title" '
            'content="بازگشایی مدارس از مهر"><meta property="article:published_time" '
            'content="2024-09-01T08:00:00+03:30"></head><body><div class="news_path"><a href="/c">اجتماعی</a>'
            '</div><div class="news_pdate_c">۱۱ شهریور ۱۴۰۳ - ۰۸:۰۰</div><article><h1>بازگشایی مدارس از مهر</h1>'
            '<div class="story"><p>وزیر آموزش و پرورش گفت مدارس سراسر کشور از اول مهر با حضور همه دانش'
            f'{Z}آموزان بازگشایی می{Z}شوند و کلاس{Z}ها حضوری برگزار خواهد شد.</p><p>وی افزود کتاب{Z}های درسی'
            ' تا پایان شهریور به دست دانش‌آموزان می‌رسد و ثبت‌نام تا هفته آینده ادامه دارد.</p></div>'
            '</article></body></html>')
    url = HOST + "/fa/news/55555/x"
    extractor = Extractor(GenericSpider, package_settings(), url)
    item = extractor.extract(page, url)
    assert extractor.stats["newscrawl/family/iransamaneh/unread"] == 1
    assert "newscrawl/family/iransamaneh" not in extractor.stats
    assert item["title"] == "بازگشایی مدارس از مهر"
    assert item["body"].startswith("وزیر آموزش و پرورش گفت مدارس سراسر کشور")
    assert item["published_at"] == "2024-09-01T08:00:00+03:30"


def test_the_generic_spider_reads_an_undeclared_host_with_its_family_page():
    url = HOST + "/fa/news/1204518/x"
    extractor = Extractor(GenericSpider, package_settings(), url)
    response = HtmlResponse(url, body=TABNAK, encoding="utf-8")
    page = extractor.spider.article_page(response)
    assert isinstance(page, IranSamanehArticlePage)
    assert page.kicker == "وزیر جهاد کشاورزی خبر داد؛"
    item = extractor.spider.extract_article(response)
    assert (item["site"], item["news_code"]) == ("example.ir", "1204518")
    assert extractor.stats["newscrawl/family/iransamaneh"] == 1
    declared = extractor.spider.article_page(HtmlResponse("https://www.tabnak.ir/fa/news/1204518/x",
                                                          body=TABNAK, encoding="utf-8"))
    assert not isinstance(declared, IranSamanehArticlePage)


def test_family_page_class_is_the_familys_own_for_the_host():
    cls = family_page("nastooh", "https://news.example.ir/news/1")
    assert issubclass(cls, NastoohArticlePage)
    assert (cls.site_name, cls.domains, cls.root) == ("example.ir", ("news.example.ir",), HOST)
    assert cls.template_versions == ()
    assert family_page("nastooh", "https://news.example.ir/news/2") is cls


# -- hypothesis: the family's template with random text -----------------------------------------------------
LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
WORD = st.text(alphabet=LETTERS, min_size=2, max_size=7).map(
    lambda w: w if len(w) < 5 else w[:2] + Z + w[2:])  # some words carry a ZWNJ inside
TEXT = st.lists(WORD, min_size=2, max_size=9).map(" ".join)
PARAGRAPH = st.lists(WORD, min_size=6, max_size=30).map(lambda ws: " ".join(ws) + ".")


def _both(html: str, declared_url: str, detected_url: str) -> tuple[dict, dict]:
    """The item of the page under its site's spider and on an undeclared host."""
    return extract(html, declared_url), extract(html, detected_url)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.integers(100000, 9999999), day=st.sampled_from([29, 30, 31]), hour=st.integers(0, 23),
       rutitr=st.one_of(st.just(""), TEXT), title=TEXT, lead=TEXT, paragraphs=st.lists(PARAGRAPH, min_size=1,
       max_size=5), service=TEXT, cat=TEXT, tags=st.lists(WORD, max_size=4))
def test_iransamaneh_template_detection_agrees_with_the_declared_spider(code, day, hour, rutitr, title, lead,
                                                                        paragraphs, service, cat, tags):
    article = Article(code, day, f"{hour:02d}:15:00", (service, 24), (cat, 70), rutitr, title, lead,
                      tuple(paragraphs), tags=tuple(tags))
    html = render_article(article)
    declared, detected = _both(html, f"https://www.tabnak.ir/fa/news/{code}/x", f"{HOST}/fa/news/{code}/x")
    assert same_fields(declared, detected) == {}
    assert detected["site"] == "example.ir"


def nastooh_page(code: str, kicker: str, title: str, lead: str, paragraphs: list[str], section: str,
                 topic: str, tags: list[str], day: int) -> str:
    """An article in Nastooh's template (SELECTORS.md §3: ISNA's markup)."""
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    tag_items = "".join(f'<li><a href="/tag/{t}" rel="Index, Tag">{t}</a></li>' for t in tags)
    return f"""<!DOCTYPE html><html lang="fa-IR" dir="rtl"><head>
<meta property="og:type" content="article" />
<meta property="article:section" content="{section} &gt; {topic}" />
<meta property="nastooh:code" content="{code}" />
<meta property="og:title" itemprop="headline" content="{title}" />
<meta itemprop="datePublished" property="article:published_time" content="2024-09-{day - 9:02d}T03:45:00Z" />
<meta name="generator" content="www.nastooh.ir" />
<title>{title} - ایسنا</title>
<link rel="canonical" href="https://www.isna.ir/news/{code}/x" />
</head><body><main><article id="item" class="page item">
<div class="meta-news"><ul>
<li><span class="title-meta">دوشنبه /</span> <span class="text-meta">{str(day).translate(digits)} شهریور ۱۴۰۳ /
۰۷:۱۵</span></li>
<li><span class="title-meta">کد خبر: </span> <span class="text-meta">{code}</span></li></ul></div>
<header class="item-header"><h3 class="kicker">{kicker}</h3><h1 class="first-title" itemprop="headline">{title}</h1>
</header><div class="item-body content-full-news"><p class="summary" itemprop="description">{lead}</p>
<div itemprop="articleBody" class="item-text">{body}</div></div>
<footer class="tags"><ul>{tag_items}</ul></footer>
<section class="box related"><ul><li><a href="/news/1403060100001/x">خبر دیگر</a></li></ul></section>
</article></main></body></html>"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.integers(10**10, 10**13), kicker=TEXT, title=TEXT, lead=TEXT,
       paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=5), section=TEXT, topic=TEXT,
       tags=st.lists(WORD, max_size=4), day=st.integers(10, 29))
def test_nastooh_template_detection_agrees_with_the_declared_spider(code, kicker, title, lead, paragraphs,
                                                                    section, topic, tags, day):
    html = nastooh_page(str(code), kicker, title, lead, paragraphs, section, topic, tags, day)
    declared, detected = _both(html, f"https://www.isna.ir/news/{code}/x", f"{HOST}/news/{code}/x")
    assert same_fields(declared, detected) == {}
    assert (detected["site"], detected["url"]) == ("example.ir", f"{HOST}/news/{code}")
