"""Nastooh CMS family (ISNA, Mehr, IRNA, Hamshahri Online, Khabaronline): SELECTORS.md §3.

Nastooh archives list one day per page (`/archive?...&dy=&mn=&yr=`), so archive mode walks the days.
The news code is in the URL and in `meta[property="nastooh:code"]`."""

from newscrawl.pages.article import NastoohArticlePage
from newscrawl.spiders.base import TemplateSpider


class NastoohSpider(TemplateSpider):
    family = "nastooh"
    page_class = NastoohArticlePage
    rss_path = "/rss"
    service_rss_path = "/rss/tp/{service}"
    archive_per_day = True
    archive_path = "/archive?pi=1&ms=0&dy={day}&mn={month}&yr={year}"
    archive_service_path = "/archive?tp={service}&pi=1&ms=0&dy={day}&mn={month}&yr={year}"
    article_path = "/news/{id}"
    article_url_re = r"/news/(\d+)"
    selectors = {
        "container": "article#item, article.item, .news-content, main",
        "title": "h1.first-title, h1[itemprop=headline], .item-title h1, h1.title, span.headline, h1",
        "kicker": ".kicker, .rutitr, .uptitle",
        "lead": "p.summary, .introtext, .item-summary, .lead",
        "body": "div.item-text, div[itemprop=articleBody], .item-body .item-text",
        "body_drop": ".item-img, figure, .item-nav, .tags, .ads, .related",
        "news_code": '//meta[@property="nastooh:code"]/@content | '
                     '//li[span[contains(., "کد خبر")]]/span[contains(@class, "text-meta")]',
        "date": '//div[contains(@class, "meta-news")]//li[1]/span[contains(@class, "text-meta")]'
                ' | //div[contains(@class, "item-date")]/span | //div[contains(@class, "item-date")]',
        "category": ".breadcrumb li a::text",
        "category_fallback": "span[itemprop=articleSection]::text",
        "tags": ".tags li a::text",
        "images": ".item-body img::attr(src), figure.item-img img::attr(src)",
        "archive_links": '//section[contains(@class, "list")]//li//h3/a/@href | //div[contains(@class, "items")]'
                         '//li//h3/a/@href',
        "archive_next": '//ul[contains(@class, "pagination")]//a[@rel="next" or contains(., "بعدی")]/@href',
    }
    contract_paths = {"article": "/news/98042110897", "rss": "/rss",
                      "archive": "/archive?pi=1&ms=0&dy=21&mn=4&yr=1398"}
