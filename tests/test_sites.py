"""Every site spider: its CMS family, its page fixtures, its listing URLs; and `scrapy list`.

What each site's pages must give is in tests/pages/<site>/ (tests/test_fixtures.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from newscrawl.spiders.iransamaneh import IranSamanehSpider
from newscrawl.spiders.nastooh import NastoohSpider
from tests.conftest import run_scrapy

PAGES = Path(__file__).parent / "pages"  # each site's page fixtures (tests/test_fixtures.py runs them)

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


def test_every_site_has_a_family_and_a_page_fixture(loader):
    sites = {name for name in loader.list() if name != "generic"}
    assert sites == set(BASES)
    for name in sites:
        assert (PAGES / name / "article.html").is_file() and (PAGES / name / "article.json").is_file(), name
    for name in IRANSAMANEH:
        assert issubclass(loader.load(name), IranSamanehSpider), name
    for name in NASTOOH:
        assert issubclass(loader.load(name), NastoohSpider), name
    assert IRANSAMANEH | NASTOOH == sites


# -- listing URLs -----------------------------------------------------------------------------------------------
def start_urls(spidercls, **kwargs) -> list[str]:
    return [r.url for r in spidercls(**kwargs).initial_requests()]


@pytest.mark.parametrize("name", sorted(IRANSAMANEH))
def test_iransamaneh_start_urls(loader, name):
    cls, base = loader.load(name), BASES[name]
    assert cls.modes() == ("rss", "archive", "ids", "url", "warc")
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
    assert cls.modes() == ("rss", "archive", "ids", "url", "warc")
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
    assert set(result.stdout.split()) >= set(BASES) | {"generic"}


def test_one_domain_rule_for_every_domain_check():
    from newscrawl.pages.common import on_domain

    assert on_domain("tabnak.ir", ["tabnak.ir"]) and on_domain("www.tabnak.ir", ["x.ir", "tabnak.ir"])
    assert not on_domain("nottabnak.ir", ["tabnak.ir"])  # a suffix is not a subdomain
    assert not on_domain("tabnak.ir", ["www.tabnak.ir"]) and not on_domain("tabnak.ir", ["", None])
