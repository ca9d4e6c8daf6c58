"""Build the demo snapshot cassette (testkit/demo/cassettes/tabnak.json): `python -m testkit.demo.build`.

Why our own pages: the real Tabnak pages cannot be redistributed, but the crawler must be shown and tested
end to end on pages with the real 2018 IranSamaneh structure (SELECTORS.md §1): `.gutter_news` container,
`.rutitr`, `h1.Htag`, `.subtitle`, `.news_id_c` in Persian digits, the misspelled `<sapn class="fa_date">`
with Arabic ي in the month, `.news_path`, a `.body` with `&zwnj;` entities followed by an ad block, related
news and comments outside the body, PHP-escaped JSON-LD with `headLine`, an RSS feed with no weekday in
pubDate and links wrapped over lines, and archive pages paginated with a ► link. The texts are our own
short news items plus the seed article (seed/000_0518e645a12da8d5.txt).

The builder is deterministic (fixed dates, sorted JSON), so rebuilding gives identical bytes;
`--check` fails when the committed cassette is stale.

MANIFEST (hand-written, checked against the pages at build time): what each crawl mode should find.

  id      listed on                    case
  818230  archive p2                   tags
  818231  archive p2
  818232  archive p2                   no rutitr
  818233  archive p2                   inline <img> (absolute cdn URL)
  818234  archive p2                   tags
  818235  archive p2
  818236  archive p2                   BAD DATE «۳۲ تير ۱۳۹۷», no JSON-LD date: stored with published_at None
  818237  archive p2                   Arabic ي/ك in the title (and its slug)
  818238  archive p2                   a comment
  818239  archive p2
  818240  archive p2                   seed text: body starts «به گزارش مهر،», has «مللٰ»/«عراقٰ»
  818241  archive p2
  818242  archive p1                   `scrapy check` page; title with "/", shorter JSON-LD headLine, tags,
                                       2 comments, related news
  818243  archive p1
  818244  archive p1                   inline <img> with a relative src
  818245  archive p1 twice             DUPLICATE: /fa/news/818245/<slug> in the list and bare /fa/news/818245
                                       in the «ویژه» box (both `div.linear_news a.title5`)
  818246  archive p1, RSS
  818247  archive p1                   NO BODY: photo report without `.body` → dropped (missing_body)
  818248  archive p1, RSS              tags
  818249  archive p1, RSS              mixed digits «١٦٠٠», «١۴» and ASCII «12» in the body
  818250  nowhere                      deleted: /fa/news/818250 answers 404 (ids mode only)
  818251  archive p1, RSS              a comment; RSS item with description
  818252  archive p1, RSS
  818253  archive p1, RSS
  818254-818259  RSS only (31 Tir, after the archive range); 818255 inline <img>, 818256 tags

URLs per mode (every one is in the cassette; `http://` article links of the RSS answer 301 → https):
  archive  https://www.tabnak.ir/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30 (+ &page=2),
           https://www.tabnak.ir/fa/news/<id>/<slug> for the 23 listed ids, https://www.tabnak.ir/fa/news/818245
  rss      https://www.tabnak.ir/fa/rss/allnews, http://www.tabnak.ir/fa/news/<id>/<slug> → https (12 ids)
  ids      https://www.tabnak.ir/fa/news/<id> for 818230-818259 (818250 is a 404)
  robots   https://www.tabnak.ir/robots.txt and http://www.tabnak.ir/robots.txt (allow all)
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template

from w3lib.url import safe_url_string

from newscrawl.extensions.cassettes import interaction, save_cassette
from testkit.demo import CASSETTE

HOST = "https://www.tabnak.ir"
HTTP_HOST = "http://www.tabnak.ir"
ARCHIVE_PATH = "/fa/archive?rpp=100&from_date=1397/04/29&to_date=1397/04/30"
RECORDED_AT = "2018-07-22T05:00:00"
HTTP_DATE = "Sun, 22 Jul 2018 05:00:00 GMT"
SITE_NAME = "سایت خبری تحلیلی تابناك|اخبار ایران و جهان|TABNAK"
RECORDED_WITH = "testkit.demo.build (betamax 0.9 JSON format)"
REQUEST_HEADERS = {"User-Agent": ["newscrawl/0.1 (Persian news archiver)"], "Accept-Language": ["fa"]}

MANIFEST: dict = {
    "archive_page1_ids": [818253, 818252, 818251, 818249, 818248, 818247, 818246, 818245, 818244, 818243,
                          818242],
    "archive_page2_ids": [818241, 818240, 818239, 818238, 818237, 818236, 818235, 818234, 818233, 818232,
                          818231, 818230],
    "featured_bare_ids": [818245],  # linked again on archive page 1 without the slug
    "rss_ids": [818259, 818258, 818257, 818256, 818255, 818254, 818253, 818252, 818251, 818249, 818248,
                818246],
    # distinct articles an archive crawl stores: the 23 listed minus the one without a body
    "archive_good_ids": [818230, 818231, 818232, 818233, 818234, 818235, 818236, 818237, 818238, 818239,
                         818240, 818241, 818242, 818243, 818244, 818245, 818246, 818248, 818249, 818251,
                         818252, 818253],
    "rss_good_ids": [818246, 818248, 818249, 818251, 818252, 818253, 818254, 818255, 818256, 818257,
                     818258, 818259],
    "rss_only_good_ids": [818254, 818255, 818256, 818257, 818258, 818259],
    "bad_date_id": 818236,
    "no_body_id": 818247,
    "duplicate_id": 818245,
    "missing_id": 818250,
    "contract_article_id": 818242,
    "seed_article_id": 818240,
    "ids_range": (818230, 818259),
    "archive_requests": 26,  # 2 listing pages + 23 slug URLs + 1 bare duplicate link
    "rss_requests": 13,  # the feed + 12 articles (each http:// link answers 301 → https, +12 redirects)
}

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_GREGORIAN = {29: ("2018-07-20", "20 July 2018", "20 Jul 2018"),
              30: ("2018-07-21", "21 July 2018", "21 Jul 2018"),
              31: ("2018-07-22", "22 July 2018", "22 Jul 2018")}


def fa(value) -> str:
    return str(value).translate(_FA_DIGITS)


def zw(text: str) -> str:
    """Titles, leads and tags carry real U+200C on the site; only bodies use the `&zwnj;` entity."""
    return text.replace("&zwnj;", "\u200c")


def slugify(title: str) -> str:
    """Tabnak's slug: punctuation dropped (so «a/b» → «ab»), spaces → «-», ZWNJ and digits kept."""
    return "-".join(re.sub(r"[«»:؛،؟?!/\"'().]", "", zw(title)).split())


@dataclass(frozen=True)
class Article:
    id: int
    day: int  # of Tir 1397 (29 → 2018-07-20)
    clock: str  # "HH:MM:SS" Tehran time
    service: tuple[str, int]
    cat: tuple[str, int]
    rutitr: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]  # HTML; "h:" a coloured subheading, "img:" an inline image
    tags: tuple[str, ...] = ()
    comments: tuple[tuple[str, str, str], ...] = ()  # name, «HH:MM - YYYY/MM/DD», text
    shown_date: str | None = None  # overrides the date shown on the page (the bad-date case)
    body: bool = True
    headline: str | None = None  # JSON-LD headLine when it differs from the title
    rss_description: bool = False

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def date(self) -> str:
        """As shown: «۳۰ تير ۱۳۹۷ - ۰۰:۲۰», Arabic ي in the month name like the real site."""
        return self.shown_date or fa(f"{self.day} تير 1397 - {self.clock[:5]}")

    @property
    def iso(self) -> str | None:
        """JSON-LD datePublished; None for the bad-date page (its CMS entry has no valid date)."""
        return None if self.shown_date else f"{_GREGORIAN[self.day][0]}T{self.clock}+04:30"

    @property
    def pubdate(self) -> str:
        return f"{_GREGORIAN[self.day][2]} {self.clock} +0430"


SEED = (  # seed/000_0518e645a12da8d5.txt, kept as written (its «مللٰ», «عراقٰ», missing ZWNJs)
    "به گزارش مهر، رامین مهمانپرست سخنگوی وزارت امور خارجه در حاشیه اجلاس گفتگوی ملی سوریه درباره تهاجم "
    "رژیم صهیونیستی به غزه گفت: ما از فرصتی که وزیر امور خارجه کشورمان در سفر به آفریقا داشت، استفاده و در "
    "همه مذکرات بحث غزه را مطرح کردیم.",
    "وی ادامه داد: تماس هایی در سطوح مختلف کشورمان با سایر سازمان ها و نهادهای بین المللی گرفته شده است و "
    "همچنین نامههایی که از طرف وزیر امور خارجه کشورمان برای سازمان مللٰ، اتحادیه اروپا ، اتحادیه عرب و "
    "سازمان "
    "همکاری های اسلامی ارسال شده و همچنین و اعلام آمادگی برای کمک رسانی سریع به غزه و تماس تلفنی صالحی با "
    "رمضان عبدالله و خالد مشعل صورت گرفت نشان دهنده این است که همه گونه آمادگی کمک به مردم مظلوم فلسطین و "
    "غزه را داریم.",
    "مهمانپرست تصریح کرد: باید یک بسیج عمومی بین کشورهای اسلامی به وجود آید تا مردم غزه و فلسطین احساس "
    "نکنند که در برابر این جنایت ها تنها هستند و با حمایت همه کشورهای اسلامی و حتی سایر کشورها بتوانند از "
    "حقوق خود دفاع کنند.",
    "وی تصریح کرد: نظر کشورهای چین و روسیه از طریق سفرای آنها اعلام شد و نمایندگان جریانات سیاسی مهمی مانند "
    "عراقٰ، ترکیه، لبنان و برزیل و نیکاروگوئه و نماینده اخوان المسلمین سخنرانی کردند که این امر نشان دهنده "
    "این است که جریانات مهم منطقه از این گفتگوها حمایت می کنند.",
)

POLITICS, ECONOMY, SPORT, SOCIAL, CULTURE, WORLD, PHOTO = (
    ("سیاسی", 24), ("اقتصادی", 6), ("ورزشی", 2), ("اجتماعی", 3), ("فرهنگی", 21), ("بین&zwnj;الملل", 17),
    ("عکس", 26))

ARTICLES: tuple[Article, ...] = (
    Article(818230, 29, "08:05:41", SOCIAL, ("محیط زیست", 70), "سازمان هواشناسی اعلام کرد؛",
            "هشدار هواشناسی درباره گرد و خاک در استان&zwnj;های غربی",
            "سازمان هواشناسی از وزش باد شدید و خیزش گرد و خاک در استان&zwnj;های غربی و جنوب غربی کشور طی "
            "سه روز آینده خبر داد.",
            ("به گزارش تابناك، بر اساس آخرین نقشه&zwnj;های پیش&zwnj;بینی، از امروز تا دوشنبه وزش باد شدید در "
             "خوزستان، ایلام و کرمانشاه پیش&zwnj;بینی می&zwnj;شود و کیفیت هوا در برخی ساعات به وضعیت ناسالم "
             "می&zwnj;رسد.",
             "کارشناسان هواشناسی به بیماران قلبی و تنفسی، سالمندان و کودکان توصیه کرده&zwnj;اند تا حد "
             "امکان از "
             "تردد غیرضروری در فضای باز خودداری کنند.",
             "دمای هوای تهران نیز در این مدت به ۳۸ درجه سانتی&zwnj;گراد می&zwnj;رسد."),
            tags=("هواشناسی", "گرد و خاک")),
    Article(818231, 29, "09:40:12", ECONOMY, ("بانک و بیمه", 41), "با تصمیم شورای پول و اعتبار؛",
            "سقف تسهیلات خرید کالای ایرانی دو برابر شد",
            "شورای پول و اعتبار سقف تسهیلات خرید کالای ایرانی را برای هر متقاضی دو برابر کرد.",
            ("بر اساس این مصوبه، سقف وام خرید کالای ایرانی از ۵۰ میلیون ریال به ۱۰۰ میلیون ریال افزایش "
             "می&zwnj;یابد و بانک&zwnj;ها موظف&zwnj;اند درخواست&zwnj;ها را حداکثر ظرف دو هفته بررسی کنند.",
             "یک مقام مسئول در بانک مرکزی گفت: هدف از این تصمیم حمایت از تولید داخلی و تحریک تقاضا در بازار "
             "کالاهای بادوام است.")),
    Article(818232, 29, "10:15:03", SPORT, ("فوتبال", 30), "",
            "اردوی تیم ملی فوتبال جوانان در تهران آغاز شد",
            "نخستین اردوی آماده&zwnj;سازی تیم ملی فوتبال جوانان برای مسابقات قهرمانی آسیا از امروز در مرکز "
            "ملی فوتبال آغاز شد.",
            ("در این اردو ۲۸ بازیکن حضور دارند و کادر فنی قرار است پس از پایان هفته نخست، فهرست نهایی را به "
             "۲۳ نفر کاهش دهد.",
             "سرمربی تیم گفت: زمان کمی تا مسابقات داریم اما بازیکنان با انگیزه در تمرینات حاضر "
             "شده&zwnj;اند و "
             "امیدواریم با آمادگی کامل به مسابقات برسیم.")),
    Article(818233, 29, "11:30:27", SOCIAL, ("محیط زیست", 70), "دبیر ستاد ملی مقابله با کم&zwnj;آبی:",
            "ذخایر سدهای تهران به کمترین میزان ده سال اخیر رسید",
            "حجم آب ذخیره&zwnj;شده در پنج سد تأمین&zwnj;کننده آب تهران نسبت به سال گذشته ۲۱ درصد کاهش "
            "یافته است.",
            ("به گفته مسئولان شرکت آب منطقه&zwnj;ای، اکنون تنها ۳۴ درصد از ظرفیت مخازن سدهای امیرکبیر، لار، "
             "طالقان، لتیان و ماملو پر است.",
             "img:http://cdn.tabnak.ir/files/fa/news/1397/4/29/910233_120.jpg",
             "شهروندان تهرانی در ماه گذشته به طور میانگین روزانه ۳۰۰ لیتر آب مصرف کرده&zwnj;اند که از "
             "استانداردهای جهانی بسیار بیشتر است.",
             "مسئولان از مردم خواسته&zwnj;اند در ساعات اوج مصرف از آبیاری فضای سبز خانگی و "
             "شست&zwnj;وشوی خودرو "
             "خودداری کنند.")),
    Article(818234, 29, "12:45:50", CULTURE, ("سینما", 90), "",
            "فراخوان جشنواره فیلم فجر منتشر شد",
            "دبیرخانه جشنواره فیلم فجر فراخوان بخش&zwnj;های مسابقه سینمای ایران و بین&zwnj;الملل را "
            "منتشر کرد.",
            ("متقاضیان می&zwnj;توانند تا پایان آبان&zwnj;ماه آثار خود را از طریق سامانه جشنواره ثبت کنند. "
             "فیلم&zwnj;هایی که پیش&zwnj;تر در جشنواره&zwnj;های داخلی نمایش داده شده&zwnj;اند امکان "
             "حضور در بخش "
             "مسابقه را ندارند.",
             "دبیر جشنواره گفت: امسال بخش «نگاه نو» برای فیلم&zwnj;اولی&zwnj;ها با داوری مستقل برگزار "
             "می&zwnj;شود."),
            tags=("جشنواره فیلم فجر", "سینما")),
    Article(818235, 29, "13:20:09", POLITICS, ("مجلس", 56), "در جلسه علنی مجلس؛",
            "کلیات طرح شفافیت آرای نمایندگان به کمیسیون برگشت",
            "نمایندگان مجلس با ارجاع دوباره کلیات طرح شفافیت آرا به کمیسیون آیین&zwnj;نامه داخلی موافقت "
            "کردند.",
            ("این طرح که امضای ۱۰۰ نماینده را دارد، قرار بود در جلسه امروز بررسی شود اما با درخواست گروهی از "
             "نمایندگان برای اصلاح برخی مواد به کمیسیون بازگشت.",
             "رئیس کمیسیون آیین&zwnj;نامه گفت: ایرادهای مطرح&zwnj;شده ظرف دو هفته بررسی و گزارش جدید به صحن "
             "ارائه می&zwnj;شود.")),
    Article(818236, 29, "14:15:00", SOCIAL, ("شهری", 72), "",
            "طرح زوج و فرد در تهران تا پایان شهریور تمدید شد",
            "شورای ترافیک استان تهران اجرای طرح زوج و فرد را با همان ساعات قبلی تا پایان شهریور تمدید کرد.",
            ("معاون حمل و نقل شهرداری تهران گفت: بررسی&zwnj;ها نشان می&zwnj;دهد اجرای طرح در "
             "ماه&zwnj;های گذشته "
             "حجم ترافیک محدوده را حدود ۱۵ درصد کاهش داده است.",
             "بر اساس این تصمیم، ساعت پایان طرح همچنان ۱۹ خواهد بود و خودروهای برقی و هیبریدی از محدودیت "
             "معاف هستند."),
            shown_date="۳۲ تير ۱۳۹۷ - ۱۴:۱۵"),
    Article(818237, 29, "15:00:33", ECONOMY, ("صنعت", 44), "وزیر صنعت، معدن و تجارت:",
            "صادرات فولاد كشور ۱۸ درصد افزايش يافت",
            "صادرات محصولات فولادی در سه ماه نخست امسال نسبت به مدت مشابه سال قبل ۱۸ درصد رشد داشته است.",
            ("به گفته وزیر صنعت، معدن و تجارت، بیشترین صادرات به کشورهای همسایه و شرق آسیا انجام شده و سهم "
             "شمش و میلگرد از کل صادرات بیش از نیمی است.",
             "وی افزود: تأمین پایدار برق و گاز واحدهای فولادی در تابستان از اولویت&zwnj;های وزارتخانه است تا "
             "تولید با افت روبه&zwnj;رو نشود.")),
    Article(818238, 29, "16:35:18", SPORT, ("کشتی", 33), "",
            "تیم کشتی آزاد نوجوانان ایران قهرمان آسیا شد",
            "تیم ملی کشتی آزاد نوجوانان ایران با کسب پنج مدال طلا عنوان قهرمانی رقابت&zwnj;های آسیایی را به "
            "دست آورد.",
            ("ملی&zwnj;پوشان کشورمان در پایان رقابت&zwnj;ها با ۱۸۵ امتیاز در جایگاه نخست ایستادند و "
             "تیم&zwnj;های "
             "ژاپن و قزاقستان دوم و سوم شدند.",
             "سرمربی تیم پس از پایان مسابقات گفت: این نسل پشتوانه خوبی برای تیم&zwnj;های جوانان و بزرگسالان "
             "است."),
            comments=(("ناشناس", "۱۸:۱۲ - ۱۳۹۷/۰۴/۲۹",
                       "دست مریزاد به این بچه&zwnj;ها، کاش به ورزش پایه بیشتر توجه شود."),)),
    Article(818239, 29, "18:50:44", WORLD, ("آسیا", 80), "",
            "زمین&zwnj;لرزه ۵.۱ ریشتری در جنوب ژاپن خسارتی نداشت",
            "زمین&zwnj;لرزه&zwnj;ای به بزرگی ۵.۱ ریشتر بامداد امروز جزیره کیوشو در جنوب ژاپن را لرزاند اما "
            "گزارشی از خسارت یا تلفات منتشر نشده است.",
            ("سازمان هواشناسی ژاپن اعلام کرد کانون این زمین&zwnj;لرزه در عمق ۴۰ کیلومتری زمین بوده و خطر "
             "سونامی وجود ندارد.",
             "قطارهای سریع&zwnj;السیر منطقه برای بازرسی خطوط به مدت یک ساعت متوقف شدند.")),
    Article(818240, 29, "21:10:05", WORLD, ("خاورمیانه", 81), "سخنگوی وزارت امور خارجه:",
            "جزئیات مذاکرات مقامات ایرانی درباره غزه",
            "سخنگوی وزارت امور خارجه از جزئیات مذاکرات مقامات ایرانی درباره غزه خبر داد.",
            SEED),
    Article(818241, 29, "23:30:21", CULTURE, ("کتاب", 92), "",
            "نمایشگاه کتاب کودک و نوجوان در ۳۱ استان برگزار می&zwnj;شود",
            "نخستین نمایشگاه سراسری کتاب کودک و نوجوان هم&zwnj;زمان در مراکز ۳۱ استان کشور برپا می&zwnj;شود.",
            ("در این نمایشگاه بیش از ۴۰۰ ناشر آثار خود را با ۲۰ درصد تخفیف عرضه می&zwnj;کنند و "
             "برنامه&zwnj;های "
             "قصه&zwnj;گویی و دیدار با نویسندگان نیز پیش&zwnj;بینی شده است.",
             "مدیرعامل کانون پرورش فکری کودکان و نوجوانان گفت: هدف اصلی این رویداد رساندن کتاب به "
             "شهرهایی است که کتاب&zwnj;فروشی تخصصی کودک ندارند.")),
    Article(818242, 30, "00:20:18", POLITICS, ("دولت", 57), "رصدخانه «تابناک»؛",
            "نشست هیئت دولت با محوریت بازار ارز/تأکید بر شفافیت در تخصیص ارز دولتی",
            "در نشست امروز هیئت دولت، گزارش تازه بانک مرکزی از وضعیت بازار ارز بررسی شد.",
            ("سخنگوی دولت پس از پایان جلسه گفت: وزرا بر لزوم انتشار فهرست دریافت&zwnj;کنندگان ارز دولتی و "
             "نظارت دقیق&zwnj;تر بر واردات کالاهای اساسی تأکید کردند.",
             "h:تأکید بر شفافیت",
             "قرار است گزارش بعدی بانک مرکزی هفته آینده به دولت ارائه شود."),
            tags=("هیئت دولت", "بازار ارز"),
            comments=(("ناشناس", "۰۱:۲۰ - ۱۳۹۷/۰۴/۳۰", "چرا فهرست کامل منتشر نمی&zwnj;شود؟"),
                      ("علی", "۰۷:۴۵ - ۱۳۹۷/۰۴/۳۰", "امیدوارم این بار به نتیجه برسد.")),
            headline="نشست هیئت دولت با محوریت بازار ارز"),
    Article(818243, 30, "07:10:52", SOCIAL, ("آموزش", 74), "",
            "نتایج اولیه کنکور سراسری هفته آینده اعلام می&zwnj;شود",
            "رئیس سازمان سنجش آموزش کشور از اعلام نتایج اولیه آزمون سراسری در هفته آینده خبر داد.",
            ("داوطلبان پس از اعلام نتایج اولیه یک هفته فرصت دارند رشته&zwnj;های مورد نظر خود را انتخاب کنند.",
             "به گفته وی، امسال ظرفیت پذیرش دانشگاه&zwnj;های دولتی نسبت به سال گذشته حدود پنج درصد افزایش "
             "یافته است.")),
    Article(818244, 30, "08:05:14", SOCIAL, ("سلامت", 75), "معاون بهداشت وزارت بهداشت:",
            "پوشش واکسیناسیون کودکان در کشور به ۹۸ درصد رسید",
            "معاون بهداشت وزارت بهداشت گفت پوشش واکسیناسیون کودکان زیر پنج سال در کشور به ۹۸ درصد رسیده است.",
            ("وی افزود: این رقم در مناطق روستایی و حاشیه شهرها نیز با کمک خانه&zwnj;های بهداشت و "
             "تیم&zwnj;های "
             "سیار به بیش از ۹۵ درصد رسیده است.",
             "img:/files/fa/news/1397/4/30/910244_311.jpg",
             "بر اساس اعلام سازمان جهانی بهداشت، ایران از جمله کشورهای موفق منطقه در اجرای برنامه "
             "ایمن&zwnj;سازی است.")),
    Article(818245, 30, "09:30:00", SPORT, ("فوتبال", 30), "",
            "برنامه فصل جدید لیگ برتر فوتبال اعلام شد",
            "سازمان لیگ فوتبال برنامه هفته&zwnj;های نخست فصل جدید لیگ برتر را اعلام کرد.",
            ("بر اساس این برنامه، مسابقات فصل جدید از اوایل مرداد آغاز می&zwnj;شود و هفته نخست در سه روز "
             "برگزار خواهد شد.",
             "سازمان لیگ اعلام کرد باشگاه&zwnj;ها تا پایان هفته آینده فرصت دارند مدارک مربوط به مجوز "
             "حرفه&zwnj;ای خود را ارائه کنند.")),
    Article(818246, 30, "10:40:37", ECONOMY, ("مسکن", 45), "",
            "معاملات مسکن تهران در تیرماه کاهش یافت",
            "تعداد معاملات آپارتمان&zwnj;های مسکونی در شهر تهران در تیرماه نسبت به ماه قبل کاهش یافته است.",
            ("بر اساس گزارش مشاوران املاک، در سه هفته نخست تیر حدود ۹ هزار قرارداد خرید و فروش در پایتخت "
             "ثبت شده است.",
             "كارشناسان بازار مسکن معتقدند نوسان قیمت ارز و انتظار برای ثبات بازار، خریداران را به صبر و "
             "انتظار واداشته است.")),
    Article(818247, 30, "11:50:26", PHOTO, ("گزارش تصویری", 120), "گزارش تصویری",
            "جشنواره گل محمدی در کاشان",
            "تصاویری از برداشت گل محمدی و گلاب&zwnj;گیری سنتی در روستاهای اطراف کاشان.",
            ("img:http://cdn.tabnak.ir/files/fa/album/1397/4/30/41027_1.jpg",
             "img:http://cdn.tabnak.ir/files/fa/album/1397/4/30/41027_2.jpg",
             "img:http://cdn.tabnak.ir/files/fa/album/1397/4/30/41027_3.jpg"),
            body=False),
    Article(818248, 30, "13:05:49", CULTURE, ("موسیقی", 91), "",
            "کنسرت ارکستر ملی در تالار وحدت برگزار می&zwnj;شود",
            "ارکستر ملی ایران هفته آینده با اجرای آثاری از آهنگسازان معاصر در تالار وحدت روی صحنه "
            "می&zwnj;رود.",
            ("در این کنسرت قطعاتی از آهنگسازان ایرانی با تنظیم تازه اجرا می&zwnj;شود و گروه کُر نیز "
             "ارکستر را "
             "همراهی می&zwnj;کند.",
             "بلیت&zwnj;های این اجرا از روز شنبه از طریق سامانه فروش اینترنتی عرضه خواهد شد."),
            tags=("ارکستر ملی", "موسیقی")),
    Article(818249, 30, "14:20:11", ECONOMY, ("بانک و بیمه", 41), "در گزارش بانک مرکزی آمد؛",
            "رشد ۲۲ درصدی نقدینگی در یک سال",
            "بانک مرکزی اعلام کرد حجم نقدینگی در پایان خرداد نسبت به سال قبل ۲۲ درصد افزایش یافته است.",
            ("بر اساس اين گزارش، حجم نقدینگی به ١٦٠٠ هزار میلیارد تومان رسیده و سهم پول از آن حدود ١۴ درصد "
             "است.",
             "کارشناسان اقتصادی رشد نقدینگی را از مهم&zwnj;ترین عوامل افزایش تورم در ماه&zwnj;های آینده "
             "می&zwnj;دانند. بدهی بانک&zwnj;ها به بانک مرکزی نیز در همین مدت 12 درصد بیشتر شده است.")),
    Article(818251, 30, "16:45:30", POLITICS, ("سیاست خارجی", 58), "",
            "هیئت پارلمانی ایران به ژنو سفر کرد",
            "یک هیئت پارلمانی ایران برای شرکت در نشست اتحادیه بین&zwnj;المجالس راهی ژنو شد.",
            ("این هیئت در حاشیه نشست با رؤسای پارلمان چند کشور اروپایی و آسیایی دیدار و درباره "
             "همکاری&zwnj;های پارلمانی گفت&zwnj;وگو خواهد کرد.",
             "نشست اتحادیه بین&zwnj;المجالس هر سال دو بار برگزار می&zwnj;شود و نمایندگان بیش از ۱۷۰ "
             "کشور در آن "
             "حضور دارند."),
            comments=(("رضا", "۱۷:۰۲ - ۱۳۹۷/۰۴/۳۰", "سفرهای پارلمانی باید گزارش عملکرد هم داشته باشد."),),
            rss_description=True),
    Article(818252, 30, "18:30:08", SPORT, ("والیبال", 34), "",
            "تیم ملی والیبال بانوان به مرحله نیمه&zwnj;نهایی رسید",
            "تیم ملی والیبال بانوان ایران با پیروزی سه بر یک مقابل حریف خود به نیمه&zwnj;نهایی "
            "رقابت&zwnj;های "
            "قهرمانی آسیای مرکزی راه یافت.",
            ("ملی&zwnj;پوشان ایران پس از واگذاری ست نخست، در سه ست بعدی برتری کامل داشتند.",
             "تیم ایران در مرحله نیمه&zwnj;نهایی روز دوشنبه به مصاف برنده دیدار قزاقستان و ازبکستان "
             "می&zwnj;رود.")),
    Article(818253, 30, "22:55:40", SOCIAL, ("حوادث", 71), "رئیس پلیس راه کشور:",
            "ترافیک سنگین در جاده چالوس و آزادراه تهران - شمال",
            "رئیس پلیس راه از ترافیک سنگین در محورهای شمالی کشور در آستانه تعطیلات آخر هفته خبر داد.",
            ("به گفته وی، تردد در محور چالوس از ساعت ۱۵ امروز به صورت یک&zwnj;طرفه شده و رانندگان باید "
             "پیش از "
             "سفر از وضعیت جاده&zwnj;ها آگاه شوند.",
             "پلیس راه از رانندگان خواست از سبقت&zwnj;های غیرمجاز و توقف در حاشیه جاده خودداری کنند.")),
    Article(818254, 31, "07:05:16", ECONOMY, ("کشاورزی", 46), "",
            "خرید تضمینی گندم از مرز ۸ میلیون تن گذشت",
            "میزان خرید تضمینی گندم از کشاورزان از ابتدای فصل برداشت تاکنون از ۸ میلیون تن فراتر رفته است.",
            ("مدیرعامل شرکت بازرگانی دولتی گفت: بیشترین خرید در استان&zwnj;های خوزستان، گلستان و فارس انجام "
             "شده است.",
             "وی افزود: بیش از ۸۰ درصد مطالبات گندمکاران تاکنون پرداخت شده و باقی&zwnj;مانده آن تا پایان "
             "مرداد پرداخت می&zwnj;شود.")),
    Article(818255, 31, "07:40:02", CULTURE, ("میراث فرهنگی", 93), "",
            "بازگشایی موزه تاریخ طبیعی پس از مرمت",
            "موزه تاریخ طبیعی پس از دو سال مرمت و بازسازی از امروز پذیرای بازدیدکنندگان است.",
            ("در بازسازی این موزه، سیستم نورپردازی و تهویه ویترین&zwnj;ها نوسازی شده و بخش تازه&zwnj;ای برای "
             "گونه&zwnj;های در معرض خطر انقراض اضافه شده است.",
             "img:http://cdn.tabnak.ir/files/fa/news/1397/4/31/910255_487.jpg",
             "ساعت بازدید از موزه همه روزه به جز شنبه&zwnj;ها از ۹ تا ۱۷ است.")),
    Article(818256, 31, "08:10:55", SPORT, ("وزنه&zwnj;برداری", 35), "",
            "اعلام ترکیب تیم ملی وزنه&zwnj;برداری برای بازی&zwnj;های آسیایی",
            "فدراسیون وزنه&zwnj;برداری ترکیب نهایی تیم ملی را برای حضور در بازی&zwnj;های آسیایی اعلام کرد.",
            ("در این فهرست هشت وزنه&zwnj;بردار حضور دارند که سه نفر از آن&zwnj;ها برای نخستین بار در "
             "بازی&zwnj;های آسیایی شرکت می&zwnj;کنند.",
             "سرمربی تیم ملی گفت: هدف ما کسب دست&zwnj;کم سه مدال طلاست و بازیکنان در شرایط خوبی قرار دارند."),
            tags=("وزنه&zwnj;برداری", "بازی&zwnj;های آسیایی"), rss_description=True),
    Article(818257, 31, "08:25:31", POLITICS, ("مجلس", 56), "",
            "جلسه غیرعلنی مجلس درباره وضعیت بازار ارز برگزار شد",
            "نمایندگان مجلس در جلسه&zwnj;ای غیرعلنی گزارش وزیر اقتصاد درباره بازار ارز را شنیدند.",
            ("سخنگوی هیئت رئیسه مجلس گفت: در این جلسه راهکارهای کنترل نوسان قیمت ارز و حمایت از "
             "تولیدکنندگان بررسی شد.",
             "وی افزود: قرار شد کمیسیون اقتصادی گزارش تکمیلی خود را تا دو هفته آینده به صحن ارائه کند.")),
    Article(818258, 31, "08:35:47", WORLD, ("اروپا", 82), "",
            "موج گرما در اروپا رکورد دما را شکست",
            "موج گرمای بی&zwnj;سابقه در شمال اروپا دمای هوا را در چند کشور به بالاترین میزان "
            "ثبت&zwnj;شده رساند.",
            ("در برخی شهرهای اسکاندیناوی دمای هوا از ۳۳ درجه سانتی&zwnj;گراد فراتر رفت و آتش&zwnj;سوزی "
             "جنگل&zwnj;ها چند منطقه را تهدید می&zwnj;کند.",
             "مقامات بهداشتی از سالمندان خواسته&zwnj;اند در ساعات گرم روز از منزل خارج نشوند."),
            rss_description=True),
    Article(818259, 31, "08:45:12", SOCIAL, ("شهری", 72), "",
            "افتتاح دو ایستگاه جدید متروی تهران",
            "دو ایستگاه جدید خط هفت متروی تهران از امروز به روی مسافران باز شد.",
            ("با بهره&zwnj;برداری از این ایستگاه&zwnj;ها، فاصله زمانی حرکت قطارها در خط هفت به ۱۲ دقیقه "
             "کاهش می&zwnj;یابد.",
             "مدیرعامل شرکت بهره&zwnj;برداری متروی تهران گفت: تا پایان سال سه ایستگاه دیگر نیز به این خط "
             "افزوده می&zwnj;شود.")),
)
BY_ID = {a.id: a for a in ARTICLES}
#: «خبرهای مرتبط» under an article (one link, like the real page)
RELATED = {818242: 818257, 818245: 818232, 818249: 818231, 818240: 818251, 818236: 818259}

# -- templates ---------------------------------------------------------------------------------------------
PAGE = Template("""<!-- $page_id --> <!DOCTYPE html> <html lang="fa-IR"> <head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"> <meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
$meta
<link rel="shortcut icon" href="/client/themes/fa/main/img/favicon.ico">
<link rel="alternate" type="application/rss+xml" title="RSS FEED" href="$p/fa/rss/allnews">
<link rel="stylesheet" type="text/css" href="http://cdn.tabnak.ir/client/themes/fa/main/css/layout_48503.css">
<script type="text/javascript" src="http://cdn.tabnak.ir/client/themes/fa/main/js/lib.iransamaneh_48503.js">
</script>
$jsonld$head_more
<title>$title - $site</title> </head> <body id="$body_id">
<div class="container"> <header>$header_more <nav class="main_nav"> <ul>
<li class="nav_link"><a href="$p/">صفحه نخست</a></li> <li class="nav_link"><a
href="$p/fa/world">تابناک جهان</a></li>
<li class="nav_link"><a href="$p/fa/economic">اقتصادی</a></li> <li class="nav_link"><a
href="$p/fa/sport">ورزشی</a></li>
</ul> </nav> </header>
<div class="row"> <div class="visible-lg visible-md"> <script>
document.write( renderAds({"sec_id":"90","adv":[]} ,"http://www.tabnak.ir/fa/ads/redirect", 0 , 0));
</script> </div>
$main
<aside class="col-md-14 gutter_left"> <header class="top_title"> <span>پربحث ترین عناوین</span> </header>
$most$side_more </aside> </div> </div>
<footer> <div class="footer_service_nav"> <ul>
<li class="nav_link"><a href="http://www.tabnak.ir/fa/archive" title="archive"
target="_blank"><span>آرشیو</span>
</a></li> <li class="nav_link"><a href="http://www.tabnak.ir/fa/rss" title="rss"
target="_blank"><span>RSS</span>
</a></li> </ul> </div> <div class="copyright"> تمام حقوق مادی و معنوی این سایت متعلق به تابناک می باشد و
استفاده از مطالب با ذکر منبع بلامانع است. </div> <div class="iransamaneh"> طراحی و تولید
<a href="http://iransamaneh.com" target="_blank">"ایران سامانه"</a> </div>$footer_more </footer> </body> </html>
""")

ARTICLE = Template("""<div class="col-md-22 col-sm-24 gutter_news"> <div class="row top_mrg">
<div class="col-md-12 col-sm-36 col-ms-14"> <div class="news_path">
<a href="$p/fa/archive?service_id=$sid">$service</a> » <a
href="$p/fa/archive?service_id=$sid&amp;cat_id=$cid">
$cat </a> </div> </div> <div class="col-md-5 col-sm-8 col-ms-5 col-xs-7"> <div class="news_nav
news_hits">$hits<span
class="news_nav_title">بازدید </span></div> </div> <div class="col-md-5 col-sm-8 col-ms-5 col-xs-7">
<div class="news_nav news_comments"> <a href="#comments"><span
class="news_comment_icon"></span>$n_comments_fa</a>
</div> </div> </div>
<div class="top_news_title"> <div class="rutitr">$rutitr</div> <div class="title"> <h1 class="Htag">
<a href="$p/fa/news/$id/$slug"> $title </a> </h1> </div>
<div class="subtitle"> <div class="subtitle_img"></div> $lead <div class="wrapper"></div> </div> </div>
<div class="row md_mrg"> <div class="news_navbox"> <div class="col-md-16"> <div class="news_id_c"> <span
class="news_title">کد خبر: </span> $id_fa </div> </div> <div class="col-md-20">
<div class="news_nav news_pdate_c"> <span class="news_title">تاریخ انتشار: </span>
<sapn class="fa_date">$date</sapn> $en_date </div> </div> </div> </div>
$body
<div class="adv_news"> <div class="th_news"> <div class="cycle_adv_news"> </div> </div>
<iframe width="622" height="90" src="http://ads.tabnak.invalid/box/adunit/622x90" frameborder="0"
scrolling="no">
</iframe> </div>
$tags
<div class="row"> <a onclick="newsUp($id);" class="news_rate_like_img_up like_icon" id="up_butt_$id"
title="پسندیدم"> <span class="t_like">پسندیدم</span> <span class="like_number">0</span> <div
class="wrapper"></div>
</a> </div> <header class="top_title"> <span>خبرهای مرتبط</span> </header>
<div style="padding-bottom: 10px;"> $related </div>
<div class="comments_topic" id="comments"> <header class="top_title"> <span>نظرات بینندگان</span> </header>
<div class="publish_div"> <div class="com_title_p">انتشار یافته: <span>$n_comments_fa</span></div>
</div> </div>
<div class="comments_container" id="comm_t"> <div> $comments </div> </div> </div>
""")

COMMENT = Template("""<div class="comments_item" id="comm_$cid"> <div class="row comm_info_bar"> <div
class="col-sm-19 col-xs-36 comm_info"> <div class="comm_info_content"> <div class="comm_info_name">$name</div>
<span class="comm_sep">|</span> <div class="comm_info_date">$date</div> </div> </div> <div class="col-sm-6
col-xs-18 comm_answer_link"> <a style="cursor:pointer" onclick="renderForm('$cid', '$id')"> پاسخ </a> </div>
<div class="wrapper"></div> </div> <div class="comments"> $text </div> <div class="wrapper"></div> </div>""")

ARCHIVE = Template("""<div class="col-md-22 col-sm-24 archive_page"> <header class="top_title">
<span>آرشیو اخبار</span> </header> <form class="archive_form" action="$p/fa/archive" method="get">
<input type="text" name="from_date" value="$from_date"> <input type="text" name="to_date"
value="$to_date"> </form>
<div class="archive_list"> $items </div>
<div class="pagination"> <ul> $pages </ul> </div> </div>
$featured""")

ARCHIVE_ITEM = Template("""<div class="col-xs-36 padd_box news_parent"><div class="linear_news">
<h3 class="Htag"> <a class="title5" href="$href" title="$title" target="_blank">$title</a> </h3>
<span class="sdate">$date</span> </div></div>""")

RSS_ITEM = Template("""        <item>
            <title>$title</title>
            $link
$description            <author>info@tabnak.ir</author>
            <pubDate>$pubdate</pubDate>
        </item>
""")


def _attr(text: str) -> str:
    return html.escape(zw(text), quote=True)


def php_json(obj) -> str:
    """JSON as PHP's json_encode writes it on the site: \\u escapes and escaped slashes."""
    return json.dumps(obj, ensure_ascii=True, indent=4).replace("/", "\\/")


def _paragraph(text: str, prefix: str) -> str:
    if text.startswith("img:"):
        src = text[4:]
        src = prefix + src if src.startswith("/") else src
        return f'<p style="text-align: center;"><img alt="" src="{src}" width="450" height="300"></p>'
    text = text.replace("«", "&laquo;").replace("»", "&raquo;")
    if text.startswith("h:"):
        return f'<p><span style="color: #0000ff;"><strong>{text[2:]}</strong></span></p>'
    return f"<p>{text}</p>"


def _jsonld(a: Article) -> str:
    org = {"@context": "https://schema.org", "@type": "Organization", "name": SITE_NAME,
           "description": "سايت خبري تحليلي تابناك", "url": "http://www.tabnak.ir"}
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headLine": zw(a.headline or a.title)}
    if a.body:
        data["articleBody"] = zw(re.sub(r"<[^>]+>", "", a.paragraphs[0]))
    logo = {"@context": "https://schema.org", "@type": "ImageObject", "name": "admin.gif",
            "url": "http://www.tabnak.ir/client/themes/fa/main/img/admin.gif"}
    data.update({"author": org, "publisher": {**org, "logo": logo}})
    if a.iso:
        data.update({"datePublished": a.iso, "dateModified": a.iso})
    (_, sid), (cat, _) = a.service, a.cat
    archive = f"http://www.tabnak.ir/fa/archive?service_id={sid}"
    data["mainEntityOfPage"] = {
        "@context": "https://schema.org", "@type": "WebPage",
        "breadcrumb": {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1,
             "item": {"@id": archive, "name": ""}},
            # the real site puts the news id in cat_id here (a CMS bug the parsers must not trust)
            {"@type": "ListItem", "position": 2,
             "item": {"@id": f"{archive}&cat_id={a.id}", "name": zw(cat)}},
        ]},
    }
    return f'<script  type="application/ld+json">\n{php_json(data)}\n</script>'


def most_commented(prefix: str) -> str:
    """Sidebar list on every page: `a.title_news` links (not `a.title5`), which the archive must ignore."""
    return " ".join(
        f'<div class="linear_news rtl-news"> <h3 class="Htag"> <a class="title_news" href="{prefix}/fa/news/'
        f'{a.id}/{a.slug}" title="{_attr(a.title)}" target="_blank"> {zw(a.title)}<span>&nbsp; '
        f'({fa(n)} نظر)</span> </a> </h3> </div>'
        for a, n in ((BY_ID[818242], 146), (BY_ID[818236], 76))
    )

#: the services menu of the full chrome: (path, name, sub-sections)
_MENU = (("world", "تابناک جهان", ("آسیا", "اروپا", "آمریکا", "آفریقا", "خاورمیانه", "بین‌الملل")),
         ("economic", "اقتصادی", ("بازار", "بورس", "انرژی", "مسکن", "بانک", "خودرو")),
         ("sport", "ورزشی", ("فوتبال", "والیبال", "کشتی", "جام جهانی", "المپیک", "لیگ برتر")),
         ("social", "اجتماعی", ("آموزش", "سلامت", "محیط زیست", "حوادث", "شهری", "خانواده")),
         ("political", "سیاسی", ("مجلس", "دولت", "احزاب", "انتخابات", "دیپلماسی", "دفاعی")),
         ("culture", "فرهنگی", ("سینما", "کتاب", "موسیقی", "تئاتر", "میراث", "رسانه")),
         ("science", "علمی", ("فناوری", "فضا", "پزشکی", "دانشگاه", "اینترنت", "تلفن همراه")),
         ("provinces", "استان‌ها", ("تهران", "اصفهان", "فارس", "خراسان", "آذربایجان", "گیلان")),
         ("video", "ویدئو", ("گزارش", "گفت‌وگو", "مستند", "ورزش", "طنز", "حوادث")),
         ("photo", "عکس", ("خبری", "ورزشی", "هنری", "طبیعت", "شهری", "مراسم")),
         ("opinion", "دیدگاه", ("سرمقاله", "یادداشت", "تحلیل", "گفت‌وگو", "نقد", "پاسخ")),
         ("special", "ویژه", ("پرونده", "گزارش ویژه", "بسته خبری", "تاریخ", "مناسبت", "آرشیو")))


def page_chrome(prefix: str, sidebar: list[Article] | None) -> dict[str, str]:
    """What the real article page has around its article and the demo's compact pages leave out: head
    scripts, the top bar and the services menu, tabbed lists of other news, the footer's link columns.
    Written to the structure and weight of the saved Tabnak page (about 1,200 elements, 150 KB), so the
    extraction benchmark's generated pages cost what a real page costs to parse. None of it holds
    anything the spider reads: a page extracts the same item with or without it (a test checks)."""
    if sidebar is None:
        return {"head_more": "", "header_more": "", "side_more": "", "footer_more": ""}
    scripts = "\n".join(
        f'<script type="text/javascript">var slot_{i} = {{"zone": {i}, "w": 300, "h": 250, "lazy": true}};'
        f" (function(d){{var s=d.createElement('script');s.async=true;s.src='/client/js/ad_{i}.js';"
        f"d.getElementsByTagName('head')[0].appendChild(s);}})(document);</script>" for i in range(45))
    head = "\n" + scripts + "\n" + "\n".join(
        f'<meta name="twitter:{k}" content="{_attr(v)}">' for k, v in
        (("card", "summary"), ("site", "@tabnak"), ("title", SITE_NAME), ("description", SITE_NAME)))
    top = " ".join(f'<li><a href="{prefix}/fa/{p}" title="{p}" target="_blank">{n}</a></li> <li>|</li>'
                   for p, n in (("about", "درباره ما"), ("contacts", "تماس با ما"), ("newsletter", "خبرنامه"),
                                ("links", "پیوندها"), ("search", "جستجو"), ("archive", "آرشیو"),
                                ("weather", "آب و هوا"), ("prayer", "اوقات شرعی"), ("rss", "RSS")))
    menu = " ".join(
        f'<li class="nav_link dropdown"><a href="{prefix}/fa/{path}"><span>{zw(name)}</span></a> '
        f'<ul class="dropdown-menu sub_menu">'
        + " ".join(f'<li class="sub_link"><a href="{prefix}/fa/{path}?cat={j}"><span>{zw(sub)}</span></a></li>'
                   for j, sub in enumerate(subs, 1))
        + "</ul> </li>" for path, name, subs in _MENU)
    header = (f' <div class="row"> <div class="top_nav"> <div class="container"> <div class="left_nav"> <ul> {top}'
              f' </ul> </div> </div> </div> </div> <div class="row"> <div class="nav_bg"> <div class="container">'
              f' <div class="collapse navbar-collapse menu_accordion"> <ul class="nav navbar-nav bg_menu">'
              f" {menu} </ul> </div> </div> </div> </div>")

    def news_list(articles: list[Article]) -> str:
        return " ".join(
            f'<div class="col-xs-36 padd_box"> <div class="linear_news rtl-news"> <a class="title_news" '
            f'href="{prefix}/fa/news/{a.id}/{safe_url_string(a.slug)}" title="{_attr(a.title)}" '
            f'target="_blank"> {zw(a.title)} </a> <span class="sdate">{fa(a.clock[:5])}</span> </div> </div>'
            for a in articles)

    third = len(sidebar) // 3
    side = (' <div class="row box"> <header class="top_title"> <span>آخرین اخبار</span> </header> '
            f'{news_list(sidebar[2 * third:])} </div>'
            ' <div class="tabs-container box"> <ul class="nav nav-tabs bg_tab"> <li class="active title_tab1">'
            '<a href="#tab_aa" data-toggle="tab"><span>پربیننده</span></a></li> <li class="title_tab1"><a '
            'href="#tab_bb" data-toggle="tab"><span>پربحث</span></a></li> </ul> <div class="tab_most_body '
            f'tab-content"> <div class="tab-pane fade in active" id="tab_aa"> {news_list(sidebar[:third])} </div>'
            f' <div class="tab-pane fade" id="tab_bb"> {news_list(sidebar[third:2 * third])} </div> </div> </div>')
    columns = " ".join(
        '<div class="col-ms-9 col-xs-18 clear-box"> <div class="br_left"> <ul> '
        + " ".join(f'<li class="nav_link"><a href="{prefix}/fa/{path}"><span>{zw(name)}</span></a></li>'
                   for path, name, _ in _MENU[i::4])
        + " </ul> </div> </div>" for i in range(4))
    footer = f' <div class="footer_links"> <div class="container"> {columns} </div> </div>'
    return {"head_more": head, "header_more": header, "side_more": side, "footer_more": footer}


def render_article(a: Article, prefix: str = "", related: Article | None = None,
                   sidebar: list[Article] | None = None) -> str:
    """An article page; `prefix` goes in front of site-relative links (the test site's /gen pages).
    With `sidebar`, the page has the real page's full chrome (see page_chrome) around the same article."""
    (service, sid), (cat, cid) = a.service, a.cat
    if a.body:
        paragraphs = " ".join(_paragraph(p, prefix) for p in a.paragraphs)
        body = f'<div class="body"> {paragraphs} <div class="wrapper"></div> </div>'
    else:  # a photo report: pictures, no text body
        pictures = " ".join(f'<img class="image_album img-responsive" src="{p[4:]}" alt="{_attr(a.title)}">'
                            for p in a.paragraphs)
        body = f'<div class="album_listi"> <div class="album_content"> {pictures} </div> </div>'
    tags = ""
    if a.tags:
        links = " ".join(f'<a href="{prefix}/fa/tag/1/{html.escape(zw(t))}" target="_blank">{zw(t)}</a>'
                         for t in a.tags)
        tags = f'<div class="tags_container"> <div class="tags_title"> برچسب ها: {links} </div> </div>'
    related = related or BY_ID.get(RELATED.get(a.id, 0))
    related_html = (f'<div class="linear_news"> <a class="title5" href="{prefix}/fa/news/{related.id}/'
                    f'{related.slug}">{zw(related.title)}</a> </div>') if related else ""
    comments = " ".join(COMMENT.substitute(cid=13970000 + a.id % 1000 * 10 + i, name=name, date=date,
                                           text=text, id=a.id)
                        for i, (name, date, text) in enumerate(a.comments))
    en_date = (f'<span class="en_date visible-lg visible-md"> {_GREGORIAN[a.day][1]} </span>'
               if a.iso else "")
    main = ARTICLE.substitute(
        p=prefix, sid=sid, cid=cid, service=zw(service), cat=zw(cat), hits=1000 + a.id % 997 * 13,
        n_comments_fa=fa(len(a.comments)), rutitr=zw(a.rutitr), id=a.id, slug=a.slug, title=zw(a.title),
        lead=html.escape(zw(a.lead), quote=False), id_fa=fa(a.id), date=a.date, en_date=en_date,
        body=body, tags=tags, related=related_html, comments=comments)
    meta = "\n".join([
        f'<meta name="description" content="{_attr(a.lead)}">',
        '<meta property="og:locale" content="fa_IR">', '<meta property="og:type" content="website">',
        f'<meta property="og:title" content="{_attr(a.title)}">',
        f'<meta property="og:url" content="http://www.tabnak.ir/fa/news/{a.id}">',
        f'<meta property="og:site_name" content="{_attr(SITE_NAME)}">',
        f'<meta property="og:description" content="{_attr(a.lead)}">',
    ])
    return PAGE.substitute(page_id=3549000 + a.id % 1000, meta=meta, p=prefix, jsonld=_jsonld(a),
                           title=zw(a.title), site=SITE_NAME, body_id="news", main=main,
                           most=most_commented(prefix), **page_chrome(prefix, sidebar))


def render_archive(links: list[tuple[str, Article]], *, prefix: str = "", next_href: str | None = None,
                   prev_href: str | None = None, page: int = 1, featured: list[tuple[str, Article]] = (),
                   from_date: str = "1397/04/29", to_date: str = "1397/04/30") -> str:
    """An archive page: `div.linear_news a.title5` items and a `div.pagination` whose next link has ►."""
    items = "\n".join(ARCHIVE_ITEM.substitute(href=href, title=_attr(a.title), date=a.date)
                      for href, a in links)
    pages = []
    if prev_href:
        pages += [f'<li><a href="{html.escape(prev_href)}">◄</a></li>',
                  f'<li><a href="{html.escape(prev_href)}">{fa(page - 1)}</a></li>']
    pages.append(f'<li class="active"><a>{fa(page)}</a></li>')
    if next_href:
        pages += [f'<li><a href="{html.escape(next_href)}">{fa(page + 1)}</a></li>',
                  f'<li><a href="{html.escape(next_href)}">►</a></li>']
    box = ""
    if featured:
        box = ('<aside class="col-md-14"> <header class="top_title"> <span>ویژه&zwnj;ها</span> </header> '
               + " ".join(f'<div class="col-xs-36 padd_box"> <div class="linear_news"> <h3 class="Htag"> '
                          f'<a class="title5" href="{href}" target="_blank">{zw(a.title)}</a> </h3> </div> '
                          "</div>" for href, a in featured) + " </aside>")
    main = ARCHIVE.substitute(p=prefix, from_date=from_date, to_date=to_date, items=items,
                              pages=" ".join(pages), featured=box)
    return PAGE.substitute(page_id=3548000 + page, meta='<meta name="description" content="آرشیو اخبار">',
                           p=prefix, jsonld="", title="آرشیو اخبار", site=SITE_NAME, body_id="archive",
                           main=main, most=most_commented(prefix), **page_chrome(prefix, None))


def render_rss(articles: list[Article], link_base: str = HTTP_HOST, prefix: str = "",
               build_date: str = "Sun, 22 Jul 2018 08:50:00 +0430") -> str:
    """RSS 2.0 like SepehrFeed's: pubDate without weekday, some links wrapped onto their own lines."""
    def esc(text: str) -> str:
        return html.escape(zw(text), quote=False)

    items = []
    for i, a in enumerate(articles):
        url = f"{link_base}{prefix}/fa/news/{a.id}/{a.slug}"
        link = [f"<link>{url}</link>", f"<link>\n                {url}\n            </link>",
                f"<link>{url}\n            </link>"][i % 3]
        description = ""
        if a.rss_description:
            wrapped = textwrap.fill(esc(a.lead), 90, subsequent_indent=" " * 16)
            description = f"            <description>{wrapped}\n            </description>\n"
        items.append(RSS_ITEM.substitute(title=esc(a.title), link=link, description=description,
                                         pubdate=a.pubdate))
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n    <channel>\n'
            f"        <title>{SITE_NAME}</title>\n        <link>{link_base}{prefix}</link>\n"
            "        <description>سايت خبري تحليلي تابناك</description>\n"
            "        <managingEditor>info@tabnak.ir</managingEditor>\n"
            "        <webMaster>info@iransamaneh.com</webMaster>\n"
            f"        <lastBuildDate>{build_date}</lastBuildDate>\n"
            "        <generator>SepehrFeed V1.2</generator>\n"
            + "".join(items) + "    </channel>\n</rss>\n")


HTML, XML = "text/html; charset=utf-8", "text/xml; charset=utf-8"
ROBOTS = b"User-agent: *\nDisallow:\n"
NOT_FOUND = ('<!DOCTYPE html> <html lang="fa-IR"> <head> <meta charset="utf-8"> <title>خطای ۴۰۴ - '
             f'{SITE_NAME}</title> </head> <body> <div class="error_page"> صفحه مورد نظر یافت نشد. </div> '
             "</body> </html>\n")
MOVED = (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved "
         b"Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


# -- cassette ----------------------------------------------------------------------------------------------
def _headers(content_type: str, **extra: str) -> dict[str, list[str]]:
    headers = {"Content-Type": [content_type], "Date": [HTTP_DATE], "Server": ["nginx"]}
    headers.update({k.replace("_", "-"): [v] for k, v in extra.items()})
    return headers


def interactions() -> list[dict]:
    out: list[dict] = []

    def add(url: str, status: int, body: str | bytes, content_type: str = HTML, **extra):
        data = body.encode("utf-8") if isinstance(body, str) else body
        out.append(interaction(url, status, _headers(content_type, **extra), data, recorded_at=RECORDED_AT,
                               request_headers=REQUEST_HEADERS))

    m = MANIFEST
    add(f"{HOST}/robots.txt", 200, ROBOTS, "text/plain; charset=utf-8")
    add(f"{HTTP_HOST}/robots.txt", 200, ROBOTS, "text/plain; charset=utf-8")
    add(f"{HOST}/fa/rss/allnews", 200, render_rss([BY_ID[i] for i in m["rss_ids"]]), XML)
    page2 = f"{ARCHIVE_PATH}&page=2"
    featured = [(f"/fa/news/{i}", BY_ID[i]) for i in m["featured_bare_ids"]]
    add(HOST + ARCHIVE_PATH, 200, render_archive(
        [(f"/fa/news/{i}/{BY_ID[i].slug}", BY_ID[i]) for i in m["archive_page1_ids"]],
        next_href=page2, featured=featured))
    add(HOST + page2, 200, render_archive(
        [(f"/fa/news/{i}/{BY_ID[i].slug}", BY_ID[i]) for i in m["archive_page2_ids"]],
        prev_href=ARCHIVE_PATH, page=2))
    for a in ARTICLES:
        page = render_article(a)
        add(f"{HOST}/fa/news/{a.id}/{a.slug}", 200, page)
        add(f"{HOST}/fa/news/{a.id}", 200, page)
        if a.id in m["rss_ids"]:
            add(f"{HTTP_HOST}/fa/news/{a.id}/{a.slug}", 301, MOVED,
                Location=safe_url_string(f"{HOST}/fa/news/{a.id}/{a.slug}"))
    add(f"{HOST}/fa/news/{m['missing_id']}", 404, NOT_FOUND)
    return out


def check_manifest() -> None:
    """The hand-written MANIFEST must agree with the articles (so the numbers the tests use are right)."""
    m = MANIFEST
    listed = set(m["archive_page1_ids"]) | set(m["archive_page2_ids"])
    problems = []
    if len(listed) != len(m["archive_page1_ids"]) + len(m["archive_page2_ids"]):
        problems.append("an id is on both archive pages")
    if sorted(listed - {i for i in listed if not BY_ID[i].body}) != m["archive_good_ids"]:
        problems.append("archive_good_ids is not the listed ids minus the body-less ones")
    if sorted(m["rss_ids"]) != m["rss_good_ids"] or any(not BY_ID[i].body for i in m["rss_ids"]):
        problems.append("rss_good_ids does not match rss_ids")
    if sorted(set(m["rss_ids"]) - listed) != m["rss_only_good_ids"]:
        problems.append("rss_only_good_ids is not the RSS ids missing from the archive")
    if BY_ID[m["bad_date_id"]].iso is not None or BY_ID[m["no_body_id"]].body:
        problems.append("bad_date_id/no_body_id do not point at those cases")
    if m["duplicate_id"] not in m["featured_bare_ids"] or m["duplicate_id"] not in m["archive_page1_ids"]:
        problems.append("duplicate_id is not linked twice on archive page 1")
    if m["missing_id"] in BY_ID or m["missing_id"] in listed | set(m["rss_ids"]):
        problems.append("missing_id is an article or is linked")
    lo, hi = m["ids_range"]
    if sorted(BY_ID) != [i for i in range(lo, hi + 1) if i != m["missing_id"]]:
        problems.append("ids_range does not cover exactly the articles plus the missing id")
    if m["archive_requests"] != 2 + len(listed) + len(m["featured_bare_ids"]):
        problems.append("archive_requests is wrong")
    if m["rss_requests"] != 1 + len(m["rss_ids"]):
        problems.append("rss_requests is wrong")
    if problems:
        raise AssertionError("demo MANIFEST: " + "; ".join(problems))


def build(path: Path = CASSETTE) -> Path:
    check_manifest()
    return save_cassette(path, interactions(), recorded_with=RECORDED_WITH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.demo.build",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=CASSETTE, help="cassette to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only verify that the cassette is up to date")
    args = parser.parse_args(argv)
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            fresh = build(Path(tmp) / "tabnak.json").read_bytes()
        if not args.out.is_file() or args.out.read_bytes() != fresh:
            print(f"{args.out} is stale: run python -m testkit.demo.build", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    path = build(args.out)
    print(f"wrote {path} ({len(interactions())} responses, {path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
