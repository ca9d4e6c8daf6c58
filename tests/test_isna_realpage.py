"""The Nastooh family on the real 2019 ISNA article (../shared/realpages/isna/article-1.html).

Expected values are copied by hand from the page source."""

import pytest
from scrapy.utils.project import get_project_settings

from newscrawl.offline import Extractor
from newscrawl.spiders.sites import IsnaSpider

ZWNJ = "\u200c"
URL = "https://www.isna.ir/news/98042110897/وزیر-خارجه-انگلیس-به-دنبال-افزایش-تنش-با-ایران-نیستیم"


@pytest.fixture
def item(realpage):
    return Extractor(IsnaSpider, get_project_settings(), URL).extract(realpage("isna/article-1.html"), URL)


def test_isna_fields(item):
    assert item["site"] == "isna"
    assert item["news_code"] == "98042110897"
    assert item["url"] == URL  # rel=canonical names the same code
    assert item["title"] == "وزیر خارجه انگلیس: به دنبال افزایش تنش با ایران نیستیم"
    assert item["lead"] == f"وزیر امور خارجه انگیلس مدعی شد که لندن به دنبال تشدید تنش با تهران نمی{ZWNJ}گردد."
    assert item["published_at_raw"] == "۲۱ تیر ۱۳۹۸ / ۱۸:۰۰"
    # the page shows 18:00 Tehran time; JSON-LD says 13:30:56Z; both mean 18:00 at +04:30 (summer 2019)
    assert item["published_at"] == "2019-07-12T18:00:00+04:30"
    assert item["source"] is None  # «به گزارش ایسنا، به نقل رویترز» on isna.ir: the site naming itself


def test_isna_body_and_lists(item):
    paragraphs = item["body"].split("\n\n")
    assert paragraphs[0].startswith("به گزارش ایسنا، به نقل رویترز، جرمی هانت، وزیر امور خارجه انگلیس")
    assert paragraphs[-1] == "جمهوری اسلامی ایران این اقدام انگلیس را محکوم و آن را «دزدی ریایی» خوانده است."
    assert len(paragraphs) == 3  # «انتهای پیام» is a sign-off, not text
    assert f"کرده{ZWNJ}ایم" in item["body"]
    # tags are written with Arabic ي on the page (ايران, انگليس): normalized
    assert item["tags"] == ["ایران", "انگلیس", "نفتکش"]
    # no breadcrumb on this page: article:section «سیاسی > سیاست خارجی» gives the path, general first
    assert item["category"] == ["سیاسی", "سیاست خارجی"]
    assert item["images"] == ["https://cdn.isna.ir/d/2019/01/26/3/57819257.jpg"]


def test_isna_date_from_metadata_alone(realpage):
    """With the visible date removed, the UTC JSON-LD date still gives the Tehran local time."""
    page = realpage("isna/article-1.html").replace("۲۱ تیر ۱۳۹۸ / ۱۸:۰۰".encode(), b"")
    item = Extractor(IsnaSpider, get_project_settings(), URL).extract(page, URL)
    assert item["published_at"] == "2019-07-12T18:00:56+04:30"
