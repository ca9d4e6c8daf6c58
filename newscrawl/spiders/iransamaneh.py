"""IranSamaneh CMS family (Tabnak, YJC, Asriran, ...): one selector map for the template variants in
SELECTORS.md §1-2. Sites live in `sites.py`."""

from newscrawl.pages.article import IranSamanehArticlePage
from newscrawl.spiders.base import TemplateSpider

#: labels and the other calendar inside date/code boxes (`.fa_date` is a <sapn>: select by class)
_LABELS = ".news_title, .news_nav_title, .en_date"


class IranSamanehSpider(TemplateSpider):
    family = "iransamaneh"
    page_class = IranSamanehArticlePage
    rss_path = "/fa/rss/allnews"
    service_rss_path = "/fa/rss/{service}"
    archive_path = "/fa/archive?rpp=100&from_date={since}&to_date={until}"
    archive_service_path = "/fa/archive?service_id={service}&rpp=100&from_date={since}&to_date={until}"
    article_path = "/fa/news/{id}"
    article_url_re = r"/fa/news/(\d+)"
    contract_paths = {"article": "/fa/news/818242", "rss": "/fa/rss/allnews",
                      "archive": "/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30"}
    selectors = {
        "container": ".gutter_news, .col1-news, .col-main-news, .main_body",
        "title": "h1.Htag, h1.Htags, .title h1, h1.title, .title-news, .news-title",
        "kicker": ".rutitr, .rutitr_body, .news-rutitr",
        "lead": ".subtitle, .subtitle-news, .news-subtitle, .content-lead-news",
        "lead_drop": ".subtitle_img, .wrapper",
        "body": ".body, #newsMainBody, .khabar-matn, .baznashr-body",
        "body_drop": ".wrapper, .adv_news, .linear_news, .related_news, .news_corner_image_caption",
        "news_code": ".news_id_c, .news_id",
        "news_code_drop": _LABELS,
        "date": ".fa_date, .news_pdate_c, .news-date, .date-color-news, .item-date span",
        "date_drop": _LABELS,
        "category": ".news_path a::text, .path_bottom_body a::text",
        "tags": ".tags_title a::text, .tag_items a.tags_item::text, .tags li a::text",
        "images": ".body img::attr(src), .subtitle img::attr(src)",
        "archive_links": "div.linear_news a.title5::attr(href), div.archive_content a.title5::attr(href)",
        "archive_next": '//div[contains(@class, "pagination")]//a[contains(., "►")]/@href',
    }
