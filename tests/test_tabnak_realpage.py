"""The tabnak spider on the real 2018 Tabnak article and RSS feed (../shared/realpages).

Expected values are copied by hand from the page source (ZWNJs written as \u200c)."""

import pytest
from scrapy.crawler import Crawler
from scrapy.http import Request, XmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.project import get_project_settings

from newscrawl.offline import Extractor
from newscrawl.spiders.sites import TabnakSpider

ZWNJ = "\u200c"
URL = "https://www.tabnak.ir/fa/news/818242/slug"


@pytest.fixture(scope="module")
def extractor():
    return Extractor(TabnakSpider, get_project_settings(), URL)


@pytest.fixture
def item(extractor, realpage):
    return extractor.extract(realpage("tabnak/article-1.html"), URL)


def test_identity_and_date(item):
    assert item["site"] == "tabnak"
    assert item["news_code"] == "818242"
    assert item["url"] == "https://www.tabnak.ir/fa/news/818242"
    assert item["published_at"] == "2018-07-21T00:20:00+04:30"
    # as shown on the page, with the Arabic ي of «تير» normalized
    assert item["published_at_raw"] == "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰"
    assert item["language"] == "fa"
    assert "published_at_meta" not in item


def test_headline_fields(item):
    assert item["kicker"] == "هزار و دویست و هفتاد و نهمین بسته ویژه خبری «تابناک»؛"
    assert item["title"] == (
        f"درخواست سپنتا نیکنام از رئیس{ZWNJ}جمهور/پرونده نماینده سپرده گذار ۴۰ میلیاردی در هیات نظارت بر"
        " رفتار نمایندگان/بانک مرکزی به روزنامه شرق گفته خبرسازی کند؟"
    )
    assert item["lead"].startswith(f"رصد{ZWNJ}خانه «تابناک»، خبر{ZWNJ}هایی برای مخاطبان آماده می{ZWNJ}کند")
    assert item["lead"].endswith(f"رصد{ZWNJ}خانه امروز تابناک را تشکیل می{ZWNJ}دهند.")
    assert item["category"] == ["بسته ویژه خبری", "عمومی"]
    assert item["tags"] == []  # the 2018 page has no tags block


def test_body(item):
    body = item["body"]
    paragraphs = body.split("\n\n")
    assert paragraphs[0].startswith(f"تحولات در گذر است و خبر هیچ گاه متوقف نخواهد شد؛ خبر{ZWNJ}هایی رسمی")
    assert paragraphs[2] == "درخواست روحانی برای تشکیل اتاق فکر"  # a bold sub-heading is its own paragraph
    assert paragraphs[-1].startswith("سهیلا جورکش قربانی اسید پاشی به ایسنا گفت")
    assert paragraphs[-1].endswith("پرونده مختومه شد.")
    assert len(paragraphs) == 28  # 28 <p> in div.body
    assert f"رئیس{ZWNJ}جمهور" in body
    # the body ends at div.body: no ad, no related news, no comments, no like button
    for junk in ("خبرهای مرتبط", "این انتخابِ آخر روحانی", "پسندیدم", "magnetadservices"):
        assert junk not in body
    assert "\n\n\n" not in body and "  " not in body


def test_no_arabic_letters_or_marks_left(item):
    for field in ("title", "kicker", "lead", "body", "published_at_raw"):
        for ch in "يك\u200e\u200f\u0640":
            assert ch not in item[field], (field, ch)
    assert ZWNJ * 2 not in item["body"]


def test_rss_links(realpage):
    crawler = Crawler(TabnakSpider, get_project_settings())
    crawler.stats = MemoryStatsCollector(crawler)
    spider = TabnakSpider.from_crawler(crawler)
    body = realpage("tabnak/rss-1.xml")
    response = XmlResponse(url="https://www.tabnak.ir/fa/rss/allnews", body=body,
                           request=Request("https://www.tabnak.ir/fa/rss/allnews"))
    requests = list(spider.parse_rss(response))
    assert len(requests) == 100
    assert all(r.url.startswith("http://www.tabnak.ir/fa/news/") for r in requests)
    assert all(r.callback == spider.parse_article for r in requests)
    # the feed's pubDate has no weekday ("21 Jul 2018 08:39:54 +0430"); it is kept as a Tehran time
    assert all(r.meta["listing_date"].endswith("+04:30") for r in requests)
