"""The generic page's title, body, kicker and source rules (issue 16), on pages of our own that reproduce
the structures seen on real sites: two og:title tags, a 100-link «آخرین اخبار» sidebar beside a
three-paragraph article, the line above the headline, and a desk credit naming a whole agency.

The whole-item fixtures are tests/pages/generic-text/*.html (+ .json, run by test_fixtures.py); here
each rule is checked on its own. Expected values are written by hand (ZWNJs as \\u200c)."""

from __future__ import annotations

import lxml.html
import pytest
from parsel import Selector

from newscrawl import extract
from newscrawl.pages.generic import kicker_above, link_lists
from newscrawl.parsing.text import credited_source
from testkit.fixtures import PAGES

Z = "\u200c"
SIDEBAR = PAGES / "generic-text" / "sidebar.html"
SIDEBAR_URL = "https://www.akhbar-nemune.ir/fa/news/300001/library"
STALE = "پوشش زنده: آخرین خبرها از بازگشایی کتابخانه‌ها"
HEADLINE = "بازگشایی کتابخانه مرکزی کرمان پس از دو سال"
FIRST = ("به گزارش گروه فرهنگی باشگاه خبرنگاران جوان؛ کتابخانه مرکزی کرمان پس از دو سال بازسازی صبح امروز با "
         "حضور وزیر فرهنگ و ارشاد اسلامی دوباره به روی مردم باز شد و کتاب\u200cخوانان از ساعت هشت صبح در صف "
         "ورود ایستاده بودند.")
LAST = ("به گفته او، کتابخانه از این پس هر روز از ساعت هشت صبح تا ده شب باز است و عضویت برای "
        "دانش\u200cآموزان و دانشجویان تا پایان سال رایگان خواهد بود.")


def generic(page: str | bytes, url: str = "https://www.khabar-nemune.ir/fa/news/512345/x") -> dict:
    return extract(page, url=url, site="generic")


# -- title -----------------------------------------------------------------------------------------------------
def test_the_visible_headline_wins_over_a_stale_first_og_title():
    page = SIDEBAR.read_text(encoding="utf-8")
    assert page.index(f'content="{STALE}"') < page.index(f'content="{HEADLINE}"')  # the stale og:title first
    assert f"<title>{STALE} - " in page  # and <title> is stale too: only the second og:title confirms the <h1>
    assert generic(page, SIDEBAR_URL)["title"] == HEADLINE
    # the same with the two tags swapped, and with the headline only in twitter:title
    swapped = page.replace(f'content="{STALE}"', "content=@").replace(f'content="{HEADLINE}"', f'content="{STALE}"')
    assert generic(swapped.replace("content=@", f'content="{HEADLINE}"'), SIDEBAR_URL)["title"] == HEADLINE
    twitter = page.replace(f'property="og:title" content="{HEADLINE}"', f'name="twitter:title" content="{HEADLINE}"')
    assert generic(twitter, SIDEBAR_URL)["title"] == HEADLINE


def test_without_an_h1_the_first_og_title_is_still_the_title():
    page = SIDEBAR.read_text(encoding="utf-8").replace(f"<h1>{HEADLINE}</h1>", "")
    assert generic(page, SIDEBAR_URL)["title"] == STALE


# -- body ------------------------------------------------------------------------------------------------------
def test_a_sidebar_of_headline_links_stays_out_of_the_body():
    item = generic(SIDEBAR.read_bytes(), SIDEBAR_URL)
    paragraphs = item["body"].split("\n\n")
    assert len(paragraphs) == 3 and paragraphs[0] == FIRST and paragraphs[-1] == LAST
    assert len(item["body"].split()) == 107  # the article alone (with the sidebar: 1,129 words)
    for junk in ("آخرین اخبار", "خبر شماره", "قیمت طلا"):
        assert junk not in item["body"]
    # the article's own picture is kept, the sidebar's 50 thumbnails are not
    assert item["images"] == ["https://www.akhbar-nemune.ir/files/og/300001.jpg",
                              "https://www.akhbar-nemune.ir/files/news/300001-main.jpg"]
    assert f"قفسه{Z}های تازه" in item["body"] and f"دانش{Z}آموزان" in item["body"]


def _trafilatura(page: bytes, images: bool, prune: bool) -> tuple[int, list[str]]:
    """(words, image sources) of trafilatura's body for the page without its <h1>, as the generic page calls it."""
    import trafilatura

    tree = lxml.html.fromstring(page)
    for node in [*tree.xpath("//h1"), *(link_lists(tree) if prune else [])]:
        node.getparent().remove(node)
    doc = trafilatura.bare_extraction(tree, with_metadata=False, include_comments=False, include_tables=False,
                                      include_images=images)
    return len(" ".join(doc.body.itertext()).split()), [g.get("src") for g in doc.body.iter("graphic")]


def test_why_headline_lists_are_removed_before_trafilatura():
    """With include_images=True trafilatura takes the 100-link sidebar into the body; without it the body is
    right but the article's picture is lost. With the lists removed first, both are right."""
    page = SIDEBAR.read_bytes()
    words, images = _trafilatura(page, images=True, prune=False)
    assert words == 1129 and "/files/thumb/1.jpg" in images
    assert _trafilatura(page, images=False, prune=False) == (107, [])
    assert _trafilatura(page, images=True, prune=True) == (107, ["/files/news/300001-main.jpg"])


LIST_ITEM = '<li><a href="/n/{i}">عنوان خبر شماره {i}</a></li>'


@pytest.mark.parametrize(("box", "dropped"), [
    ("<ul>" + "".join(LIST_ITEM.format(i=i) for i in range(5)) + "</ul>", True),
    ("<ul>" + "".join(LIST_ITEM.format(i=i) for i in range(4)) + "</ul>", False),  # four links: too few to tell
    # a time beside each link is still a list of headlines (the links hold more than 80% of the text)
    ("<div>" + "".join(f'<div><a href="/n/{i}">عنوان خبر شماره {i} درباره بازار</a> <span>۱۲:۳۰</span></div>'
                       for i in range(6)) + "</div>", True),
    # paragraphs with a link each: mostly text outside the links
    ("<div>" + "".join(f'<p>متن پاراگراف {i} که از <a href="/t">یک برچسب</a> نام می{Z}برد و ادامه دارد.</p>'
                       for i in range(6)) + "</div>", False),
    ("<ul>" + "".join(f'<li><a href="/n/{i}"><img src="/t/{i}.jpg"></a></li>' for i in range(6)) + "</ul>", False),
])
def test_link_lists(box, dropped):
    tree = lxml.html.fromstring(f"<html><body><main>{box}</main></body></html>")
    found = link_lists(tree)
    assert [n.getparent().tag for n in found] == (["main"] if dropped else [])


# -- kicker ----------------------------------------------------------------------------------------------------
TITLE = "افتتاح خط دوم قطار شهری شیراز پس از هشت سال"
BODY = ("<div class='text'><p>به گزارش خبرنامه فارس، خط دوم قطار شهری شیراز امروز با حضور استاندار افتتاح شد و "
        "از فردا مسافران می\u200cتوانند از ساعت شش صبح از آن استفاده کنند.</p><p>مدیرعامل قطار شهری گفت: این خط "
        "دوازده ایستگاه دارد و روزانه صد هزار مسافر را جابه\u200cجا می\u200cکند.</p></div>")


def kicker_page(header: str) -> str:
    return (f'<html><head><meta property="og:title" content="{TITLE}"><meta property="og:type" content="article">'
            '<meta property="article:published_time" content="2024-03-02T10:00:00+03:30"></head><body>'
            f"<main>{header}{BODY}</main></body></html>")


@pytest.mark.parametrize(("header", "kicker"), [
    (f"<h4>پس از هشت سال انتظار</h4><h1>{TITLE}</h1>", "پس از هشت سال انتظار"),  # an <h4> subtitle before the h1
    # IranSamaneh: the rutitr beside the title's box, the subtitle (a lead) under it
    (f'<div class="top_news_title"><div class="rutitr">گزارش تصویری</div><div class="title"><h1 class="Htag">'
     f'<a href="/fa/news/1">{TITLE}</a></h1></div><div class="subtitle">خلاصه خبر</div></div>', "گزارش تصویری"),
    (f'<div class="rutitr_body"><strong class="news_strong">در آستانه نوروز</strong></div><h1>{TITLE}</h1>',
     "در آستانه نوروز"),
    (f'<header><span class="kicker">حمل و نقل</span><h1 class="title">{TITLE}</h1></header>', "حمل و نقل"),
    (f'<div class="news-rotitr">خبر ویژه</div><span class="date">امروز</span><h1>{TITLE}</h1>', "خبر ویژه"),
    (f'<p class="subtitle">بالای تیتر</p><h1>{TITLE}</h1>', "بالای تیتر"),
    (f'<h1>{TITLE}</h1><p class="subtitle">خلاصه خبر زیر تیتر</p>', None),  # below the headline: a lead
    (f"<h1>{TITLE}</h1><h2>زیر تیتر</h2>", None),
    (f'<div class="rutitr">خیلی دور</div><p>یک</p><p>دو</p><h1>{TITLE}</h1>', None),  # not beside the headline
    (f"<div class='crumbs'><a href='/'>خانه</a></div><h1>{TITLE}</h1>", None),  # no kicker class, no heading
    (f"<h3>{TITLE}</h3><h1>{TITLE}</h1>", None),  # the headline itself
    (f"<h2>{'بسیار ' * 40}</h2><h1>{TITLE}</h1>", None),  # too long for a kicker
])
def test_kicker_is_the_line_above_the_headline(header, kicker):
    """Through extract() and, since markup of a CMS family may be read with that family's page (family
    detection), through the generic page's own rule too."""
    assert kicker_above(Selector(text=kicker_page(header)), TITLE) == kicker
    item = generic(kicker_page(header))
    assert item["title"] == TITLE
    assert item["kicker"] == kicker
    assert "به گزارش خبرنامه فارس، خط دوم" in item["body"]
    assert kicker is None or kicker not in item["body"]  # the kicker is no body text


def test_kicker_found_whatever_the_digits_of_the_title():
    """With NEWSCRAWL_TEXT_DIGITS=ascii the title holds «12» where the <h1> shows «۱۲»."""
    page = Selector(text='<div class="rutitr">گزارش ویژه</div><h1>۱۲ ایستگاه تازه</h1>')
    assert kicker_above(page, "12 ایستگاه تازه") == kicker_above(page, "۱۲ ایستگاه تازه") == "گزارش ویژه"
    assert kicker_above(page, "13 ایستگاه تازه") is None  # not the headline


def test_no_kicker_without_the_headline_on_the_page():
    assert generic(kicker_page('<div class="rutitr">گزارش تصویری</div>'))["kicker"] is None


# -- agency credit ---------------------------------------------------------------------------------------------
YJC = "به گزارش گروه سیاسی باشگاه خبرنگاران جوان؛ وزیر امور خارجه امروز گفت"


@pytest.mark.parametrize(("body", "domains", "source"), [
    (YJC, (), "باشگاه خبرنگاران جوان"),  # the whole name, not its last word («جوان» is the newspaper Javan)
    (YJC, ("yjc.ir",), None),  # the site naming itself
    (YJC, ("www.yjc.news",), None),
    (YJC, ("tabnak.ir",), "باشگاه خبرنگاران جوان"),
    ("به گزارش ایسنا، وزیر گفت", ("isna.ir",), None),
    ("به گزارش ایسنا، وزیر گفت", ("tabnak.ir", "127.0.0.1"), "ایسنا"),
    ("به گزارش خبرنگار سیاسی ایسنا، وزیر گفت", ("mehrnews.com",), "ایسنا"),
    ("به گزارش خبرگزاری دانشجو، وزیر گفت", ("snn.ir",), None),  # the name without «خبرگزاری»
    ("به گزارش گروه اجتماعی خبرگزاری دانشجو، وزیر گفت", ("isna.ir",), "دانشجو"),
    ("به گزارش گروه سیاسی جوان، وزیر گفت", (), "جوان"),  # the newspaper itself, by its whole name
    ("به گزارش گروه اقتصادی روزنامه دنیای اقتصاد، وزیر گفت", (), "دنیای اقتصاد"),  # after an outlet word
    ("به گزارش خبرنگار خبرنامه شهر، وزیر گفت", (), None),  # a desk of no outlet named whole
    ("به گزارش خبرنامه شهر، وزیر گفت", ("khabarnameh.example",), "خبرنامه شهر"),  # no desk: the name as given
])
def test_credited_source_names_a_whole_agency_and_never_the_site_itself(body, domains, source):
    assert credited_source(body, domains) == source


def test_a_yjc_page_credits_nobody_on_yjc_and_yjc_elsewhere():
    page = SIDEBAR.read_bytes()  # «به گزارش گروه فرهنگی باشگاه خبرنگاران جوان؛»
    assert generic(page, SIDEBAR_URL)["source"] == "باشگاه خبرنگاران جوان"
    assert generic(page, "https://www.yjc.ir/fa/news/300001/library")["source"] is None
