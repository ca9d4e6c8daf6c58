"""Sites as data: a name, its domains, its root URL and only what differs from its CMS family.

Evidence for each selector is in ../shared/realpages/SELECTORS.md; docs/sites.md's site table says which
sites were checked on a real page and which on a fixture written from that documentation."""

from newscrawl.spiders.iransamaneh import IranSamanehSpider
from newscrawl.spiders.nastooh import NastoohSpider

# -- IranSamaneh ------------------------------------------------------------------------------------


class TabnakSpider(IranSamanehSpider):
    name = "tabnak"
    allowed_domains = ["tabnak.ir"]
    base_url = "https://www.tabnak.ir"
    #: the later template (SELECTORS.md §1, from the scrapers of 2023-2025) links the service as
    #: `a.newsbody_servicename` and the tags as `a.btn-primary-news` (tests/pages/tabnak/layout-2024.html);
    #: when the 2018 one ended is not known (between the saved 1397 page and those scrapers): the end of
    #: 1398 is assumed
    template_versions = (
        ("2020-03-19", {}),
        (None, {"category": "a.newsbody_servicename::text, " + IranSamanehSpider.selectors["category"],
                "tags": "a.btn-primary-news::text, " + IranSamanehSpider.selectors["tags"]}),
    )


class YjcSpider(IranSamanehSpider):
    name = "yjc"
    allowed_domains = ["yjc.news", "yjc.ir"]
    base_url = "https://www.yjc.news"


class AsriranSpider(IranSamanehSpider):
    name = "asriran"
    allowed_domains = ["asriran.com"]
    base_url = "https://www.asriran.com"
    # the path starts with the home page («صفحه نخست»), which is no category
    selector_overrides = {"container": ".col1-news, .gutter_news", "title": "h1.Htag, h1.title, h1",
                          "category": '//div[contains(@class, "news_path")]//a[normalize-space() != "صفحه نخست"]'
                                      "/text()"}


class EntekhabSpider(IranSamanehSpider):
    name = "entekhab"
    allowed_domains = ["entekhab.ir"]
    base_url = "https://www.entekhab.ir"
    selector_overrides = {"title": "h1.title, h1.Htag, h1", "body": "div.khabar-matn, div.body"}


class FararuSpider(IranSamanehSpider):
    name = "fararu"
    allowed_domains = ["fararu.com"]
    base_url = "https://fararu.com"
    selector_overrides = {"container": ".col-main-news, .gutter_news", "lead": ".content-lead-news, .subtitle"}


class BultannewsSpider(IranSamanehSpider):
    name = "bultannews"
    allowed_domains = ["bultannews.com"]
    base_url = "https://www.bultannews.com"
    selector_overrides = {"container": ".main_body .col-md-27, .main_body", "title": "h1",
                          "date": "time, .news_pdate_c"}


class AftabnewsSpider(IranSamanehSpider):
    name = "aftabnews"
    allowed_domains = ["aftabnews.ir"]
    base_url = "https://aftabnews.ir"
    selector_overrides = {"container": ".col_r_inner_news, .gutter_news",
                          "body_drop": IranSamanehSpider.selectors["body_drop"] + ", .aftab_news"}
    #: the body opens with a bare «آفتاب‌نیوز :» line (Targoman ignores it)
    read_more_re = IranSamanehSpider.read_more_re + "|\\s*آفتاب\u200c?نیوز\\s*:\\s*$"


class KayhanSpider(IranSamanehSpider):
    """The article sits in `.margin_bt_fari div[style='direction: rtl;']`, its date and path outside it:
    no container, so the whole page is read."""

    name = "kayhan"
    allowed_domains = ["kayhan.ir"]
    base_url = "https://kayhan.ir"


class IribnewsSpider(IranSamanehSpider):
    name = "iribnews"
    allowed_domains = ["iribnews.ir"]
    base_url = "https://www.iribnews.ir"
    selector_overrides = {"container": ".news_general_dl, .photo_body",
                          "category": ".news_path2 a::text, .news_path a::text"}


class SnnSpider(IranSamanehSpider):
    name = "snn"
    allowed_domains = ["snn.ir"]
    base_url = "https://snn.ir"
    selector_overrides = {"container": ".main_col, .photo_news_content"}


class MizanSpider(IranSamanehSpider):
    name = "mizan"
    allowed_domains = ["mizanonline.ir"]
    base_url = "https://www.mizanonline.ir"
    selector_overrides = {"container": ".main_news_body, .main-body"}


# -- Nastooh --------------------------------------------------------------------------------------------


class IsnaSpider(NastoohSpider):
    name = "isna"
    allowed_domains = ["isna.ir"]
    base_url = "https://www.isna.ir"


class MehrSpider(NastoohSpider):
    name = "mehr"
    allowed_domains = ["mehrnews.com"]
    base_url = "https://www.mehrnews.com"


class IrnaSpider(NastoohSpider):
    name = "irna"
    allowed_domains = ["irna.ir"]
    base_url = "https://www.irna.ir"


class HamshahriSpider(NastoohSpider):
    name = "hamshahri"
    allowed_domains = ["hamshahrionline.ir"]
    base_url = "https://www.hamshahrionline.ir"
    selector_overrides = {"container": ".main-content, article#item"}


class MashreghSpider(NastoohSpider):
    name = "mashregh"
    allowed_domains = ["mashreghnews.ir"]
    base_url = "https://www.mashreghnews.ir"


class KhabaronlineSpider(NastoohSpider):
    name = "khabaronline"
    allowed_domains = ["khabaronline.ir"]
    base_url = "https://www.khabaronline.ir"
    selector_overrides = {"body_drop": NastoohSpider.selectors["body_drop"] + ", .read-more, .readmore"}
