"""The per-field fallback chain of a declared site's page (newscrawl.pages.article) and the item's
`provenance`: a changed template (our Tabnak fixture with its body class renamed, and the local test
site's /drift) still gives complete items, counted as newscrawl/fallback/<field>, with one warning."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from newscrawl import extract
from newscrawl.extensions.monitors import fallback_counts
from newscrawl.items import SOURCES
from newscrawl.pages import site_page
from newscrawl.pages.finish import NotAnArticle
from newscrawl.spiders.sites import TabnakSpider
from tests.conftest import scrapy_env

PAGES = Path(__file__).parent / "pages"
TABNAK = PAGES / "tabnak" / "article.html"
URL = "https://www.tabnak.ir/fa/news/1204518"
#: how the template drifts: what the local test site's /drift does (testkit.testsite.DRIFT)
DRIFT = (b'<div class="body">', b'<div class="news-text">')
HEALTHY_PROVENANCE = {"news_code": "family", "title": "family", "kicker": "family", "lead": "family",
                      "body": "family", "published_at": "family", "published_at_raw": "family",
                      "category": "site", "tags": "site"}


def page_of(html: bytes, url: str = URL):
    return site_page(TabnakSpider)(url, html)


def counted(page) -> dict[str, int]:
    """The page's notes as a crawl counts them."""
    stats: dict[str, int] = {}
    for note in page.notes:
        stats[f"newscrawl/{note.stat}"] = stats.get(f"newscrawl/{note.stat}", 0) + 1
    return stats


def test_a_page_whose_selectors_match_records_them_and_never_builds_the_generic_page():
    page = page_of(TABNAK.read_bytes())
    item = page.to_item()
    assert item["provenance"] == HEALTHY_PROVENANCE
    assert "generic" not in page.__dict__  # the fallback costs nothing here
    assert not [n for n in page.notes if n.stat.startswith("fallback")]


def test_a_drifted_body_comes_from_the_generic_page_with_its_zwnj_and_is_counted():
    expected = json.loads(TABNAK.with_suffix(".json").read_text(encoding="utf-8"))["item"]
    drifted = TABNAK.read_bytes().replace(*DRIFT)
    item = extract(drifted, url=URL)
    assert item["body"].startswith("به گزارش تابناک، وزیر جهاد کشاورزی گفت:")
    assert "به\u200cطور کامل" in item["body"]  # ZWNJ kept through trafilatura
    same = {k: v for k, v in item.items() if k not in ("crawled_at", "captured_at", "provenance", "story_id", "copy_of")}
    assert same == {k: v for k, v in expected.items() if k != "provenance"}
    assert item["provenance"] == {**HEALTHY_PROVENANCE, "body": "generic"}
    page = page_of(drifted)
    page.to_item()
    assert fallback_counts(counted(page)) == {"body": 1}


def _iransamaneh(head: str = "", title: str = '<h1 class="Htag">عنوان خبر</h1>', body: bool = True,
                 date: str = '<div class="fa_date">۳۰ تیر ۱۳۹۷ - ۰۰:۲۰</div>') -> bytes:
    """An IranSamaneh article page of our own, with parts left out or renamed."""
    text = ('<div class="body"><p>پاراگراف نخست خبر که به\u200cتنهایی جمله\u200cای کامل است و ادامه دارد.</p>'
            '<p>پاراگراف دوم خبر با جزئیات بیشتر درباره رویداد.</p></div>') if body else ""
    return (f'<html><head><meta charset="utf-8">{head}</head><body><div class="gutter_news">'
            f'<div class="news_id_c">کد خبر: ۸۱۸۲۴۲</div>{date}{title}'
            f'<div class="subtitle">لید خبر در یک جمله.</div>{text}</div></body></html>').encode()


def test_a_title_the_selectors_miss_comes_from_json_ld_then_opengraph_then_dublin_core():
    ld = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "عنوان از جی\u200cسون"}'
          '</script>')
    og, dc = '<meta property="og:title" content="عنوان از اوپن\u200cگراف">', '<meta name="DC.title" content="عنوان دابلین">'
    no_h1 = '<h2 class="other">عنوان دیگر</h2>'
    url = "https://www.tabnak.ir/fa/news/818242"
    cases = [(ld + og + dc, "عنوان از جی\u200cسون", "jsonld"), (og + dc, "عنوان از اوپن\u200cگراف", "opengraph"),
             (dc, "عنوان دابلین", "meta")]
    for head, title, source in cases:
        page = page_of(_iransamaneh(head=head, title=no_h1), url)
        item = page.to_item()
        assert (item["title"], item["provenance"]["title"]) == (title, source)
        assert fallback_counts(counted(page)) == {"title": 1}


def test_a_date_the_selectors_miss_comes_from_metadata_and_says_which():
    url = "https://www.tabnak.ir/fa/news/818242"
    og = '<meta property="og:article:published_time" content="2018-07-21T00:20:00+04:30">'
    page = page_of(_iransamaneh(head=og, date=""), url)
    item = page.to_item()
    assert item["published_at"] == "2018-07-21T00:20:00+04:30"
    assert item["provenance"]["published_at"] == "opengraph"
    assert "published_at_raw" not in item["provenance"]  # nothing shown on the page
    dc = '<meta name="DC.date.issued" content="2018-07-21T00:20:00+04:30">'
    item = page_of(_iransamaneh(head=dc, date=""), url).to_item()
    assert item["provenance"]["published_at"] == "meta"


def test_a_site_override_that_misses_falls_back_to_the_family_selector():
    """Entekhab reads its body with its own selector (div.khabar-matn, div.body); the family's also knows
    #newsMainBody: a page with only that gives the family's reading, counted as a fallback."""
    from newscrawl.spiders.sites import EntekhabSpider

    html = _iransamaneh().replace(b'<div class="body">', b'<div id="newsMainBody">')
    page = site_page(EntekhabSpider)("https://www.entekhab.ir/fa/news/818242", html)
    item = page.to_item()
    assert item["body"].startswith("پاراگراف نخست خبر که به\u200cتنهایی")
    assert item["provenance"]["body"] == "family"
    assert item["provenance"]["title"] == "site"  # Entekhab's own title selector
    assert fallback_counts(counted(page)) == {"body": 1}


def test_a_photo_report_is_not_given_its_page_chrome_as_a_body():
    """No text body, and the generic page's body would be the header (lead, date): still missing_body."""
    from testkit.demo.build import BY_ID, MANIFEST, render_article

    code = MANIFEST["no_body_id"]
    with pytest.raises(NotAnArticle, match="missing body"):
        extract(render_article(BY_ID[code]), url=f"https://www.tabnak.ir/fa/news/{code}")


def test_provenance_values_are_the_documented_sources():
    for html in PAGES.glob("*/*.json"):
        item = json.loads(html.read_text(encoding="utf-8"))["item"]
        assert set(item["provenance"].values()) <= set(SOURCES), html
        assert set(item["provenance"]) <= set(item), html


def test_generic_pages_record_their_sources():
    item = json.loads((PAGES / "generic-meta" / "og-article.json").read_text(encoding="utf-8"))["item"]
    assert item["provenance"]["published_at"] == "opengraph"  # og:article:published_time
    assert item["provenance"]["body"] == "generic"


# -- a real crawl of the local test site's drifted template ---------------------------------------------
@pytest.fixture(scope="module")
def site():
    from testkit.testsite import running

    with running(0, env=scrapy_env()) as (base, _):
        yield base


def _crawl(tmp_path: Path, base_url: str):
    from tests.conftest import run_scrapy

    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base_url}", "-a", "ids=818251-818253",
                        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                        "-O", f"{tmp_path}/items.jsonl", "-L", "INFO", env=env)
    lines = (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return result, {i["news_code"]: i for i in map(json.loads, lines)}


@pytest.mark.e2e
def test_a_crawl_of_a_drifted_template_stores_complete_items_and_warns(site, tmp_path):
    result, items = _crawl(tmp_path / "drift", f"{site}/drift")
    assert result.returncode == 0, result.stderr[-3000:]
    _, healthy = _crawl(tmp_path / "healthy", site)
    assert sorted(items) == ["818251", "818252", "818253"]
    for code, item in items.items():
        assert item["body"] and item["provenance"]["body"] == "generic"
        assert healthy[code]["provenance"]["body"] == "family"
        for name in ("title", "kicker", "lead", "body", "published_at", "category", "tags", "news_code"):
            assert item[name] == healthy[code][name], (code, name)
    assert "'newscrawl/fallback/body': 3" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING: " in line and "fallbacks" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith("tabnak: fields its selectors no longer give, read from fallbacks "
                                "(articles/parsed): body 3/3")


def test_fallback_counts_are_per_field_most_first_without_other_stats():
    stats = {"newscrawl/fallback/images": 1, "newscrawl/fallback/title": 3, "newscrawl/fallback/body": 3,
             "newscrawl/fallback_rejected/body": 2, "newscrawl/dropped/missing_body": 1}
    assert fallback_counts(stats) == {"body": 3, "title": 3, "images": 1}
