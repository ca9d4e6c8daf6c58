"""Every site on a hand-written article page (tests/fixtures/sites/<site>.html) that follows the structure
SELECTORS.md documents for that site or its CMS family; its listing URLs; and `scrapy list`.

The fixtures are our own pages, not copies of real ones. Expected values are written by hand from the
fixture sources; Jalali dates were converted by counting days from each year's Nowruz, and the offsets
checked against `zdump -v Asia/Tehran` (+04:30 in summer until 2022, +03:30 from 2023 on).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from newscrawl.offline import Extractor
from newscrawl.spiders.generic import GenericSpider
from newscrawl.spiders.iransamaneh import IranSamanehSpider
from newscrawl.spiders.nastooh import NastoohSpider
from tests.conftest import run_scrapy

Z = "\u200c"
FIXTURES = Path(__file__).parent / "fixtures" / "sites"

#: site → what its fixture must give. body: (first paragraph, last paragraph, number of paragraphs);
#: junk: text on the page around the body (ads, related news, read-more boxes) that must not be in it.
SITES = {
    "tabnak": dict(
        url="https://www.tabnak.ir/fa/news/1204518/خرید-تضمینی-گندم", canonical="https://www.tabnak.ir/fa/news/1204518",
        news_code="1204518", title="خرید تضمینی گندم از مرز ۸ میلیون تن گذشت", kicker="وزیر جهاد کشاورزی خبر داد؛",
        lead="وزیر جهاد کشاورزی از خرید تضمینی بیش از ۸ میلیون تن گندم از کشاورزان خبر داد.",
        raw="۱۵ مهر ۱۴۰۲ - ۰۸:۴۵", published_at="2023-10-07T08:45:00+03:30",
        body=(f"به گزارش تابناک، وزیر جهاد کشاورزی گفت: تا امروز بیش از ۸ میلیون تن گندم به صورت تضمینی از کشاورزان"
              f" خریداری شده و بهای آن به{Z}طور کامل پرداخت شده است.",
              f"وزیر جهاد کشاورزی همچنین درباره ذخایر گفت: ذخایر استراتژیک گندم کشور برای دست{Z}کم ۹ ماه کافی است و"
              f" نیازی به واردات در ماه{Z}های آینده نیست.", 4),
        junk=("تبلیغات", "پیش‌پرداخت", "نرخ خرید تضمینی گندم اعلام شد", "کاش قیمت نان"),
        tags=["گندم", "خرید تضمینی", "کشاورزی"], category=["اقتصادی", "کشاورزی"]),
    "yjc": dict(
        url="https://www.yjc.news/fa/news/8512346/پیش-بینی-بارش", canonical="https://www.yjc.news/fa/news/8512346",
        news_code="8512346", title=f"پیش{Z}بینی بارش باران در ۱۲ استان", kicker="سازمان هواشناسی هشدار داد؛",
        lead="کارشناس سازمان هواشناسی از بارش باران و وزش باد شدید در ۱۲ استان کشور طی دو روز آینده خبر داد.",
        raw="۲۱ تیر ۱۳۹۸ - ۱۷:۲۱", published_at="2019-07-12T17:21:00+04:30",  # label «تاریخ انتشار:» is bare text
        body=(f"کارشناس سازمان هواشناسی در گفت{Z}وگو با خبرنگار باشگاه خبرنگاران جوان گفت: از فردا سامانه{Z}ای بارشی"
              f" وارد کشور می{Z}شود و در استان{Z}های شمالی و غربی باران می{Z}بارد.",
              f"وی افزود: رانندگان در جاده{Z}های کوهستانی احتیاط کنند و از سفرهای غیرضروری بپرهیزند.", 2),
        junk=("عکس تزئینی", "آگهی", "انتهای پیام", "هشدار سیل"),
        tags=["باران", "هواشناسی"], category=["اجتماعی", "محیط زیست"],
        images=["https://www.yjc.news/files/fa/news/1398/4/21/1_1.jpg"]),
    "asriran": dict(
        url="https://www.asriran.com/fa/news/912345/بازگشایی-مدارس",
        canonical="https://www.asriran.com/fa/news/912345/بازگشایی-مدارس",  # its rel=canonical
        news_code="912345", title=f"بازگشایی مدارس از اول مهر با حضور دانش{Z}آموزان", kicker="وزیر آموزش و پرورش:",
        lead=f"مدارس سراسر کشور از اول مهر به صورت حضوری بازگشایی می{Z}شوند و کلاس{Z}های مجازی فقط برای مناطق محروم"
             " ادامه دارد.",
        raw="۰۸:۱۵ - ۱۴۰۱/۰۶/۳۰", published_at="2022-09-21T08:15:00+04:30",  # the last day of DST 2022
        body=(f"وزیر آموزش و پرورش امروز در نشست خبری گفت: همه مدارس از اول مهر به صورت حضوری بازگشایی می{Z}شوند و"
              " والدین نگران نباشند.",
              f"به گفته وزیر، کلاس{Z}های مجازی فقط در روستاهای دورافتاده و برای دانش{Z}آموزان بیمار ادامه خواهد داشت.", 3),
        junk=("ثبت‌نام مدارس تمدید شد", "کنکور", "تیتر یک"),
        tags=["مدارس", "آموزش و پرورش"], category=["اجتماعی", "آموزش"]),  # without «صفحه نخست»
    "entekhab": dict(
        url="https://www.entekhab.ir/fa/news/745120/سد-کرج", canonical="https://www.entekhab.ir/fa/news/745120",
        news_code="745120", title="سد کرج به کمترین حجم ده سال اخیر رسید", kicker=f"مدیرعامل شرکت آب منطقه{Z}ای:",
        lead="حجم آب پشت سد امیرکبیر کرج به ۶۰ میلیون مترمکعب رسیده که کمترین مقدار در ده سال گذشته است.",
        raw="۱۴:۴۱ - ۱۳۹۴/۰۳/۲۶", published_at="2015-06-16T14:41:00+04:30",
        body=(f"مدیرعامل شرکت آب منطقه{Z}ای تهران گفت: ورودی سد کرج نسبت به سال گذشته ۴۰ درصد کمتر شده و مردم باید"
              f" در مصرف آب صرفه{Z}جویی کنند.",
              f"وی افزود: اگر مصرف کاهش نیابد، در ساعت{Z}های اوج فشار آب در مناطق شمالی شهر کم خواهد شد.", 2),
        junk=("کولر آبی", "قطعی آب"),
        tags=["سد کرج", f"کم{Z}آبی"], category=["اجتماعی", "محیط زیست"]),
    "fararu": dict(
        url="https://fararu.com/fa/news/654321/جشنواره", canonical="https://fararu.com/fa/news/654321",
        news_code="654321", title="جشنواره فیلم کوتاه تهران برگزیدگان خود را شناخت", kicker="با معرفی برگزیدگان؛",
        lead="چهلمین جشنواره فیلم کوتاه تهران با معرفی برگزیدگان به کار خود پایان داد.",
        raw="۲ دی ۱۴۰۲ - ۱۹:۳۰", published_at="2023-12-23T19:30:00+03:30",
        body=(f"آیین اختتامیه جشنواره فیلم کوتاه تهران شب گذشته در تالار وحدت برگزار شد و داوران برگزیدگان"
              f" بخش{Z}های مختلف را معرفی کردند.",
              f"جایزه بهترین فیلم داستانی به فیلمی درباره زندگی یک خانواده روستایی رسید که پیش{Z}تر در چند جشنواره"
              " خارجی هم دیده شده بود.", 2),
        junk=("راه‌یافته", "بلیت سینما", "قیمت طلا"),
        tags=["سینما", "فیلم کوتاه"], category=["فرهنگی", "سینما"]),
    "bultannews": dict(
        url="https://www.bultannews.com/fa/news/812345/ترافیک", canonical="https://www.bultannews.com/fa/news/812345",
        news_code="812345", title=f"ترافیک سنگین نوروزی در جاده{Z}های شمال", kicker="پلیس راه اعلام کرد:",
        lead="پلیس راه از ترافیک سنگین در محورهای چالوس و هراز در پنجمین روز فروردین خبر داد.",
        raw="۱۴۰۰/۰۱/۰۵ ۱۰:۳۰", published_at="2021-03-25T10:30:00+04:30",  # in <time>
        body=(f"رئیس پلیس راه گفت: از صبح امروز ترافیک در محور چالوس و آزادراه تهران{Z}شمال سنگین است و رانندگان باید"
              " صبور باشند.",
              f"وی افزود: محور هراز به دلیل ریزش کوه در دو نقطه یک{Z}طرفه شده است.", 2),
        junk=("اجاره ویلا", "توده هوای سرد"),
        tags=["ترافیک", "نوروز"], category=["اجتماعی"]),
    "aftabnews": dict(
        url="https://aftabnews.ir/fa/news/870123/تورم", canonical="https://aftabnews.ir/fa/news/870123",
        news_code="870123", title="نرخ تورم نقطه به نقطه کاهش یافت", kicker="گزارش مرکز آمار؛",
        lead=f"مرکز آمار ایران نرخ تورم نقطه به نقطه بهمن{Z}ماه را ۵۳ درصد اعلام کرد.",
        raw="۱۰ اسفند ۱۴۰۱ - ۱۱:۰۰", published_at="2023-03-01T11:00:00+03:30",
        body=(f"مرکز آمار ایران امروز اعلام کرد نرخ تورم نقطه{Z}به{Z}نقطه در بهمن{Z}ماه نسبت به ماه قبل دو واحد درصد"
              " کاهش یافته است.",
              f"بر پایه این گزارش، بیشترین افزایش قیمت در گروه خوراکی{Z}ها و آشامیدنی{Z}ها ثبت شده است.", 2),
        junk=("آفتاب‌نیوز", "قیمت دلار", "وام فوری"),
        tags=["تورم", "مرکز آمار"], category=["اقتصادی", "اقتصاد کلان"]),
    "kayhan": dict(
        url="https://kayhan.ir/fa/news/290123/نمایشگاه", canonical="https://kayhan.ir/fa/news/290123",
        news_code="290123", title="نمایشگاه صنایع دستی در اصفهان گشایش یافت", kicker="با حضور ۲۰۰ هنرمند؛",
        lead="نمایشگاه ملی صنایع دستی با آثار ۲۰۰ هنرمند از ۲۰ استان در اصفهان گشایش یافت.",
        raw="۳ آبان ۱۴۰۳ - ۲۱:۰۵", published_at="2024-10-24T21:05:00+03:30",  # date and path outside the article box
        body=(f"مدیرکل میراث فرهنگی استان اصفهان گفت: در این نمایشگاه آثار قلم{Z}زنی، خاتم{Z}کاری و میناکاری به"
              " نمایش گذاشته شده و بازدید از آن رایگان است.",
              "وی افزود: نمایشگاه تا پایان هفته از ساعت ۹ صبح تا ۹ شب برپاست.", 2),
        junk=("تور یک‌روزه", "گزارش هفته هنر"),
        tags=["صنایع دستی", "اصفهان"], category=["فرهنگی", "هنر"]),
    "iribnews": dict(
        url="https://www.iribnews.ir/fa/news/4512345/مترو", canonical="https://www.iribnews.ir/fa/news/4512345",
        news_code="4512345", title="افتتاح نخستین بخش خط ۱۰ متروی تهران", kicker="با حضور شهردار تهران؛",
        lead=f"نخستین بخش خط ۱۰ متروی تهران با پنج ایستگاه به بهره{Z}برداری رسید.",
        raw="۱۴۰۲/۰۵/۱۸ - ۱۳:۴۰", published_at="2023-08-09T13:40:00+03:30",  # summer, but no DST since 2023
        body=(f"شهردار تهران در آیین افتتاح گفت: با بهره{Z}برداری از این بخش، روزانه ۱۵۰ هزار مسافر جابه{Z}جا"
              f" می{Z}شوند.",
              f"مدیرعامل شرکت مترو نیز گفت: بخش دوم این خط تا پایان سال آینده آماده می{Z}شود.", 2),
        junk=("اخبار مرتبط", "قیمت بلیت", "کارت بلیت"),
        tags=["مترو", "تهران"], category=["اجتماعی", "شهری"]),  # from .news_path2
    "snn": dict(
        url="https://snn.ir/fa/news/1098765/کنکور", canonical="https://snn.ir/fa/news/1098765",
        news_code="1098765", title=f"آغاز ثبت{Z}نام کنکور از هفته آینده", kicker="سازمان سنجش اعلام کرد:",
        lead=f"ثبت{Z}نام کنکور سراسری سال ۱۳۹۹ از هفته آینده به مدت ده روز انجام می{Z}شود.",
        raw="۲۵ خرداد ۱۳۹۹ - ۲۲:۱۰", published_at="2020-06-14T22:10:00+04:30",
        body=(f"مشاور رئیس سازمان سنجش گفت: داوطلبان می{Z}توانند از شنبه آینده با مراجعه به سایت سازمان ثبت{Z}نام"
              " کنند.",
              f"وی افزود: زمان برگزاری آزمون پس از پایان ثبت{Z}نام اعلام خواهد شد.", 2),
        junk=("کلاس کنکور رایگان",),
        tags=["کنکور", "سازمان سنجش"], category=["دانشگاه", "کنکور"]),
    "mizan": dict(
        url="https://www.mizanonline.ir/fa/news/4987654/قاچاق", canonical="https://www.mizanonline.ir/fa/news/4987654",
        news_code="4987654", title="پرونده قاچاق کالا به دادگاه رفت", kicker="سخنگوی دادگستری:",
        lead="کیفرخواست متهمان پرونده قاچاق لوازم خانگی صادر و پرونده برای رسیدگی به دادگاه فرستاده شد.",
        raw="۱۸ بهمن ۱۳۹۶ - ۱۶:۲۰", published_at="2018-02-07T16:20:00+03:30",
        body=("سخنگوی دادگستری گفت: در این پرونده ۱۲ متهم حضور دارند و ارزش کالاهای قاچاق بیش از ۲۰۰ میلیارد ریال"
              " برآورد شده است.",
              f"وی افزود: نخستین جلسه دادگاه هفته آینده به{Z}صورت علنی برگزار می{Z}شود.", 2),
        junk=("بیشتر بخوانید", "قاچاقچیان سوخت", "مشاوره حقوقی"),
        tags=["قاچاق کالا", "دادگستری"], category=["قضایی"]),
    "isna": dict(
        url="https://www.isna.ir/news/1403070208791/x",
        canonical="https://www.isna.ir/news/1403070208791/نخستین-باران-پاییزی-در-تهران",
        news_code="1403070208791", title="نخستین باران پاییزی در تهران", kicker=f"پیش{Z}بینی هواشناسی",
        lead="هواشناسی از بارش نخستین باران پاییزی در تهران از فردا خبر داد.",
        # shown 07:15; JSON-LD-less, article:published_time says 03:45Z: the same instant
        raw="۲ مهر ۱۴۰۳ / ۰۷:۱۵", published_at="2024-09-23T07:15:00+03:30",
        body=(f"به گزارش ایسنا، کارشناس اداره کل هواشناسی استان تهران گفت: از فردا با ورود سامانه{Z}ای بارشی، آسمان"
              f" تهران ابری می{Z}شود و باران می{Z}بارد.",
              f"وی افزود: دمای هوا در روزهای آینده تا هشت درجه کاهش می{Z}یابد و شهروندان از سفرهای غیرضروری به"
              " ارتفاعات خودداری کنند.", 2),
        junk=("انتهای پیام", "تبلیغات", "بیمه عمر", "هشدار سیل"),
        tags=["باران", "هواشناسی", "تهران"], category=["اجتماعی", "محیط زیست"],
        images=["https://cdn.isna.ir/d/2024/09/23/3/61234567.jpg"]),
    "mehr": dict(
        url="https://www.mehrnews.com/news/6212345/طرح-جدید", canonical="https://www.mehrnews.com/news/6212345",
        news_code="6212345", title=f"طرح جدید مجلس برای سقف اجاره{Z}بها", kicker="نایب رئیس کمیسیون عمران:",
        lead=f"نمایندگان مجلس طرحی برای تعیین سقف افزایش اجاره{Z}بهای مسکن در شهرهای بزرگ تدوین کرده{Z}اند.",
        raw="۵ اردیبهشت ۱۴۰۳، ۱۴:۲۰", published_at="2024-04-24T14:20:00+03:30",
        body=(f"به گزارش خبرنگار مهر، نایب رئیس کمیسیون عمران مجلس گفت: بر اساس این طرح، اجاره{Z}بها در تهران و"
              f" کلان{Z}شهرها بیش از ۲۵ درصد در سال افزایش نمی{Z}یابد.",
              f"وی افزود: این طرح هفته آینده در صحن علنی مجلس بررسی می{Z}شود.", 2),
        junk=("نمای مجلس", "خبر بعدی", "خرید اقساطی"),
        tags=[f"اجاره{Z}بها", "مجلس"], category=["سیاست", "مجلس"],
        images=["https://www.mehrnews.com/d/2024/04/24/4/4912345.jpg"]),
    "irna": dict(
        url="https://www.irna.ir/news/85012345/واکسن", canonical="https://www.irna.ir/news/85012345",
        news_code="85012345", title="واکسیناسیون آنفلوآنزا برای سالمندان رایگان شد", kicker="معاون وزیر بهداشت خبر داد",
        lead="تزریق واکسن آنفلوآنزا برای سالمندان بالای ۶۵ سال در مراکز بهداشتی رایگان شد.",
        raw="۴ آذر ۱۴۰۳، ۱۰:۱۵", published_at="2024-11-24T10:15:00+03:30",
        body=(f"معاون بهداشت وزارت بهداشت گفت: سالمندان و بیماران مزمن می{Z}توانند با مراجعه به نزدیک{Z}ترین مرکز"
              " بهداشت، واکسن را رایگان دریافت کنند.",
              f"وی افزود: تا کنون بیش از دو میلیون دوز واکسن میان استان{Z}ها توزیع شده است.", 2),
        junk=("عکس از آرشیو", "اخبار مرتبط", "شیوع آنفلوآنزا"),
        tags=["واکسن", "آنفلوآنزا", "سالمندان"], category=["جامعه", "سلامت"]),
    "hamshahri": dict(
        url="https://www.hamshahrionline.ir/news/712345/پل-طبیعت", canonical="https://www.hamshahrionline.ir/news/712345",
        news_code="712345", title="بازگشایی پل طبیعت پس از مرمت", kicker="پس از شش ماه؛",
        lead="پل طبیعت پس از شش ماه تعمیر و مرمت از امروز دوباره به روی شهروندان باز شد.",
        raw="۱۲ مرداد ۱۴۰۱ - ۰۹:۴۵", published_at="2022-08-03T09:45:00+04:30",  # DST's last summer
        body=(f"معاون فنی شهرداری تهران گفت: در این مدت سازه پل بازبینی و کف{Z}پوش{Z}های فرسوده آن تعویض شد.",
              f"به گفته او، پل طبیعت از ساعت هفت صبح تا نیمه{Z}شب باز است.", 2),
        junk=("آگهی", "شهرگردی"),
        tags=["پل طبیعت", "شهرداری تهران"], category=["تهران", "شهری"]),
    "khabaronline": dict(
        url="https://www.khabaronline.ir/news/1734567/نوروز", canonical="https://www.khabaronline.ir/news/1734567",
        news_code="1734567", title="آغاز سال نو با رکورد سفرهای نوروزی", kicker="ستاد سفرهای نوروزی:",
        lead="در نخستین روز سال ۱۴۰۲ بیش از دو میلیون نفر به سفر رفتند.",
        raw="۱ فروردین ۱۴۰۲ - ۱۲:۰۰", published_at="2023-03-21T12:00:00+03:30",  # Nowruz 1402: no DST any more
        body=(f"دبیر ستاد سفرهای نوروزی گفت: از ساعت تحویل سال تا ظهر امروز بیش از دو میلیون نفر از تهران خارج"
              f" شده{Z}اند.",
              f"وی افزود: اقامتگاه{Z}های شمال کشور تا پایان هفته اول فروردین پر شده{Z}اند.", 2),
        junk=("بیشتر بخوانید", "وضعیت جاده", "هوای نوروز", "بلیت قطار"),
        tags=["نوروز", "سفر"], category=["جامعه", "گردشگری"]),
    "mashregh": dict(
        url="https://www.mashreghnews.ir/news/1523456/تجریش", canonical="https://www.mashreghnews.ir/news/1523456",
        news_code="1523456", title="آخرین شب سال در بازار تجریش", kicker="گزارش تصویری؛",
        lead="بازار تجریش در آخرین شب سال ۱۴۰۰ میزبان هزاران خریدار بود.",
        raw="۲۹ اسفند ۱۴۰۰ - ۲۳:۵۰", published_at="2022-03-20T23:50:00+03:30",  # two days before DST 2022
        body=(f"در آخرین ساعت{Z}های سال، بازار تجریش شلوغ{Z}تر از همیشه بود و مردم برای خرید ماهی، سبزه و شیرینی"
              " صف کشیده بودند.",
              f"کسبه بازار می{Z}گویند فروش امسال از سال گذشته بیشتر بوده است.", 2),
        junk=("سفر نوروزی به کیش", "چه شب شلوغی"),
        tags=["نوروز", "بازار تجریش"], category=["جامعه"]),
}

#: each site's real root, copied from SELECTORS.md / the sites' addresses
BASES = {
    "tabnak": "https://www.tabnak.ir", "yjc": "https://www.yjc.news", "asriran": "https://www.asriran.com",
    "entekhab": "https://www.entekhab.ir", "fararu": "https://fararu.com", "bultannews": "https://www.bultannews.com",
    "aftabnews": "https://aftabnews.ir", "kayhan": "https://kayhan.ir", "iribnews": "https://www.iribnews.ir",
    "snn": "https://snn.ir", "mizan": "https://www.mizanonline.ir", "isna": "https://www.isna.ir",
    "mehr": "https://www.mehrnews.com", "irna": "https://www.irna.ir", "hamshahri": "https://www.hamshahrionline.ir",
    "khabaronline": "https://www.khabaronline.ir", "mashregh": "https://www.mashreghnews.ir",
}
IRANSAMANEH = {"tabnak", "yjc", "asriran", "entekhab", "fararu", "bultannews", "aftabnews", "kayhan", "iribnews",
               "snn", "mizan"}
NASTOOH = {"isna", "mehr", "irna", "hamshahri", "khabaronline", "mashregh"}


@pytest.fixture(scope="module")
def loader():
    return get_spider_loader(get_project_settings())


def extract(spidercls, name: str) -> dict:
    url = SITES[name]["url"]
    return Extractor(spidercls, get_project_settings(), url).extract((FIXTURES / f"{name}.html").read_bytes(), url)


def test_every_site_has_a_fixture_and_a_family(loader):
    sites = {name for name in loader.list() if name != "generic"}
    assert sites == set(SITES) == set(BASES)
    for name in IRANSAMANEH:
        assert issubclass(loader.load(name), IranSamanehSpider), name
    for name in NASTOOH:
        assert issubclass(loader.load(name), NastoohSpider), name
    assert IRANSAMANEH | NASTOOH == set(SITES)


@pytest.mark.parametrize("name", sorted(SITES))
def test_site_fixture(loader, name):
    want = SITES[name]
    item = extract(loader.load(name), name)
    assert item["site"] == name
    assert item["news_code"] == want["news_code"]
    assert item["url"] == want["canonical"]
    assert item["title"] == want["title"]
    assert item["kicker"] == want["kicker"]
    assert item["lead"] == want["lead"]
    assert item["published_at_raw"] == want["raw"]
    assert item["published_at"] == want["published_at"]
    first, last, count = want["body"]
    paragraphs = item["body"].split("\n\n")
    assert paragraphs[0] == first
    assert paragraphs[-1] == last
    assert len(paragraphs) == count
    for junk in want["junk"]:
        assert junk not in item["body"], junk
    assert item["tags"] == want["tags"]
    assert item["category"] == want["category"]
    if "images" in want:
        assert item["images"] == want["images"]
    assert Z * 2 not in item["body"] and "ي" not in item["body"] and "ك" not in item["body"]


@pytest.mark.parametrize("name", sorted(SITES))
def test_generic_spider_on_the_site_fixture(name):
    """Without the site's selectors: title, date and the body's paragraphs still come out, ads do not.

    The generic body may start with the lead when the page has no description metadata to recognise
    it by; so only the first and last body paragraphs are looked for, not the paragraph count."""
    want = SITES[name]
    item = extract(GenericSpider, name)
    assert item["title"] == want["title"]
    assert item["published_at"] == want["published_at"]
    first, last, _ = want["body"]
    paragraphs = item["body"].split("\n\n")
    assert first in paragraphs and paragraphs[-1] == last
    for junk in want["junk"]:
        assert junk not in item["body"], junk
    assert item["site"] == urlsplit(BASES[name]).hostname.removeprefix("www.")


# -- listing URLs -----------------------------------------------------------------------------------------------
def start_urls(spidercls, **kwargs) -> list[str]:
    return [r.url for r in spidercls(**kwargs).initial_requests()]


@pytest.mark.parametrize("name", sorted(IRANSAMANEH))
def test_iransamaneh_start_urls(loader, name):
    cls, base = loader.load(name), BASES[name]
    assert cls.modes() == ("rss", "archive", "ids", "url")
    assert start_urls(cls, mode="rss") == [f"{base}/fa/rss/allnews"]
    assert start_urls(cls, mode="rss", service="24") == [f"{base}/fa/rss/24"]
    assert start_urls(cls, since="1402/07/15", until="1402/07/16") == [
        f"{base}/fa/archive?rpp=100&from_date=1402/07/15&to_date=1402/07/16"]
    assert start_urls(cls, since="2023-10-07", until="2023-10-08", service="6") == [
        f"{base}/fa/archive?service_id=6&rpp=100&from_date=1402/07/15&to_date=1402/07/16"]
    assert start_urls(cls, ids="1204518,1204520-1204521") == [
        f"{base}/fa/news/1204518", f"{base}/fa/news/1204520", f"{base}/fa/news/1204521"]
    for url in start_urls(cls, mode="rss") + start_urls(cls, ids="1"):
        host = urlsplit(url).hostname
        assert any(host == d or host.endswith("." + d) for d in cls.allowed_domains), url


@pytest.mark.parametrize("name", sorted(NASTOOH))
def test_nastooh_start_urls(loader, name):
    cls, base = loader.load(name), BASES[name]
    assert cls.modes() == ("rss", "archive", "ids", "url")
    assert start_urls(cls, mode="rss") == [f"{base}/rss"]
    assert start_urls(cls, mode="rss", service="5") == [f"{base}/rss/tp/5"]
    # one archive page per day, newest first (Nastooh archives show a single day)
    assert start_urls(cls, since="1403/12/29", until="1404/01/01") == [
        f"{base}/archive?pi=1&ms=0&dy=1&mn=1&yr=1404", f"{base}/archive?pi=1&ms=0&dy=30&mn=12&yr=1403",
        f"{base}/archive?pi=1&ms=0&dy=29&mn=12&yr=1403"]  # 1403 is a leap year: 30 Esfand exists
    assert start_urls(cls, since="1402/07/15", until="1402/07/15", service="5") == [
        f"{base}/archive?tp=5&pi=1&ms=0&dy=15&mn=7&yr=1402"]
    assert start_urls(cls, ids="6212345") == [f"{base}/news/6212345"]
    for url in start_urls(cls, mode="rss") + start_urls(cls, ids="1"):
        host = urlsplit(url).hostname
        assert any(host == d or host.endswith("." + d) for d in cls.allowed_domains), url


def test_scrapy_list_shows_every_site_and_generic():
    result = run_scrapy("list")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) >= set(SITES) | {"generic"}


def test_one_domain_rule_for_every_domain_check():
    from newscrawl.spiders.base import on_domain

    assert on_domain("tabnak.ir", ["tabnak.ir"]) and on_domain("www.tabnak.ir", ["x.ir", "tabnak.ir"])
    assert not on_domain("nottabnak.ir", ["tabnak.ir"])  # a suffix is not a subdomain
    assert not on_domain("tabnak.ir", ["www.tabnak.ir"]) and not on_domain("tabnak.ir", ["", None])
