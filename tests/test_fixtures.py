"""Every page fixture through `newscrawl.extract`, the library call, and the library itself.

A fixture is a page and the whole item it must give (tests/pages/<site>/<name>.html + .json, format in
testkit.fixtures; `python -m testkit.fixtures add` drafts a new one). Each site's `article` page is our own
page in the structure SELECTORS.md documents for the site or its CMS family, not a copy of a real one; its
expected values were written by hand from the page source (Jalali dates converted by counting days from
each year's Nowruz, offsets checked against `zdump -v Asia/Tehran`: +04:30 in summer until 2022, +03:30
from 2023 on), and the fields nobody had written down were read against the page before committing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from newscrawl import NotAnArticle, extract
from newscrawl.pages.common import utc_instant
from testkit.fixtures import PAGES, expected_item, fixtures
from tests.conftest import scrapy_env

Z = "\u200c"
FIXTURES = fixtures()
#: each site's reference page (the structure SELECTORS.md documents); the generic spider is checked on these
REFERENCE = "article"
TABNAK = PAGES / "tabnak" / "article.html"
TABNAK_CANONICAL = "https://www.tabnak.ir/fa/news/1204518"


def by_id(found) -> list:
    return [pytest.param(f, id=f.id) for f in found]


def test_every_page_has_its_expected_item():
    assert len([f for f in FIXTURES if f.name == REFERENCE]) >= 17  # one per site spider (test_sites checks which)
    for page in PAGES.glob("*/*"):
        assert page.suffix in (".html", ".json"), page
        assert page.with_suffix(".html").is_file() and page.with_suffix(".json").is_file(), page


@pytest.mark.parametrize("fixture", by_id(FIXTURES))
def test_fixture(fixture):
    """The page gives exactly the item of its JSON. The spider is the one the URL's domain picks (the
    library's default), except in the `generic` folder."""
    item = extract(fixture.html.read_bytes(), url=fixture.url, site="generic" if fixture.site == "generic" else None,
                   captured_at=fixture.captured_at)
    assert expected_item(item) == fixture.item
    assert datetime.fromisoformat(item["crawled_at"]).tzinfo is not None
    # a live page is captured when it is read; an archived one when the input says (UTC)
    assert item["captured_at"] == (utc_instant(fixture.captured_at) or item["crawled_at"])
    for text in fixture.not_in_body:
        assert text not in item["body"], text


@pytest.mark.parametrize("fixture", by_id(FIXTURES))
def test_expected_items_are_normalized_text(fixture):
    """A reviewed JSON must not have accepted un-normalized text: Arabic ي/ك, doubled ZWNJ."""
    for field in ("title", "kicker", "lead", "body"):
        value = fixture.item.get(field) or ""
        assert Z * 2 not in value and "ي" not in value and "ك" not in value, field


@pytest.mark.parametrize("fixture", by_id(f for f in FIXTURES if f.name == REFERENCE and f.site != "generic"))
def test_generic_spider_on_each_sites_page(fixture):
    """Without the site's selectors: title, date and the body's paragraphs still come out, the text around
    the article does not. The generic body may start with the lead (or a «کد خبر» line) when the page has
    no description metadata to recognise it by; so only its first and last paragraphs are looked for."""
    item = extract(fixture.html.read_bytes(), url=fixture.url, site="generic")
    want = fixture.item
    assert item["title"] == want["title"]
    assert item["published_at"] == want["published_at"]
    paragraphs, wanted = item["body"].split("\n\n"), want["body"].split("\n\n")
    assert wanted[0] in paragraphs and paragraphs[-1] == wanted[-1]
    assert fixture.not_in_body  # every reference page names its junk
    for text in fixture.not_in_body:
        assert text not in item["body"], text
    assert item["site"] == urlsplit(fixture.url).hostname.removeprefix("www.")  # the registered domain


# -- the library ------------------------------------------------------------------------------------------------
def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    """`python -c CODE` in `cwd`, without SCRAPY_SETTINGS_MODULE or any NEWSCRAWL_* of ours."""
    env = scrapy_env()
    assert not any(k.startswith("SCRAPY_") for k in env)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_extract_from_another_folder_without_a_project(tmp_path):
    """No scrapy.cfg, no settings module: the URL from the page, the site from its domain."""
    code = ("import json, sys\nfrom newscrawl import extract\n"
            f"print(json.dumps(extract(open({str(TABNAK)!r}, 'rb').read()), ensure_ascii=False))")
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)
    assert item["url"] == TABNAK_CANONICAL and item["site"] == "tabnak" and item["news_code"] == "1204518"
    assert item["published_at"] == "2023-10-07T08:45:00+03:30"
    assert f"به{Z}طور کامل" in item["body"]  # ZWNJ survives the whole path
    assert list(tmp_path.iterdir()) == []  # nothing written (no data/ folder, no database)


def test_import_newscrawl_is_cheap(tmp_path):
    """`scrapy list` and every crawl import the package: the library loads only when used."""
    result = run_python("import sys, newscrawl\nprint(sorted(m for m in sys.modules if m.startswith(('scrapy', "
                        "'newscrawl'))))\nnewscrawl.extract\nprint('newscrawl.api' in sys.modules)", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['newscrawl']", "True"]


def test_a_str_page_is_text_whatever_its_meta_charset_says():
    """Decoded text stays as it is: a page declaring ISO-8859-1 given as str is not decoded again (as bytes
    in UTF-8 it would read «CafÃ©»)."""
    page = ('<html><head><meta charset="iso-8859-1"><title>Café opens downtown</title>'
            '<link rel="canonical" href="https://example.com/news/123/cafe">'
            '<meta property="article:published_time" content="2024-01-02T03:04:05+00:00"></head><body><article>'
            "<h1>Café opens downtown</h1>"
            "<p>A new café opened on the main street today, the first one in the old town for ten years.</p>"
            "<p>The café serves coffee and cake from seven in the morning until late in the evening.</p>"
            "</article></body></html>")
    item = extract(page)
    assert item["title"] == "Café opens downtown"
    assert item["url"] == "https://example.com/news/123/cafe" and item["site"] == "example.com"  # generic
    assert item["body"].startswith("A new café opened")


def test_str_and_bytes_give_the_same_item():
    body = TABNAK.read_bytes()
    assert expected_item(extract(body.decode("utf-8"))) == expected_item(extract(body))


def test_url_from_og_url_when_no_canonical_and_none_without_either():
    page = TABNAK.read_text(encoding="utf-8")
    assert '<meta property="og:url" content="http://www.tabnak.ir/fa/news/1204518">' in page  # no rel=canonical
    assert extract(page)["url"] == TABNAK_CANONICAL  # the site spider's own form of it
    relative = page.replace('content="http://www.tabnak.ir/fa/news/1204518"', 'content="/fa/news/1204518"')
    with pytest.raises(ValueError, match=r"names no URL of its own \(rel=canonical, og:url\)"):
        extract(relative)  # nothing to resolve a relative URL against


def test_bad_calls_are_value_errors():
    page = TABNAK.read_bytes()
    with pytest.raises(ValueError, match=r"unknown site 'nosuch'; known: .*tabnak"):
        extract(page, site="nosuch")
    with pytest.raises(ValueError, match=r"'https://www.isna.ir/news/1' is not on tabnak"):
        extract(page, url="https://www.isna.ir/news/1", site="tabnak")


def test_a_page_without_an_article_raises_not_an_article():
    with pytest.raises(NotAnArticle) as caught:
        extract("<html><body><p>no article here</p></body></html>", url="https://www.tabnak.ir/fa/news/1")
    reason = str(caught.value)
    assert reason and "\n" not in reason


# -- the tool that drafts a fixture ----------------------------------------------------------------------------
def test_add_drafts_the_json_for_review(tmp_path):
    from testkit.fixtures import add, load

    target = add(TABNAK, "tabnak", "https://www.tabnak.ir/fa/news/1204518/x", name="draft", root=tmp_path)
    assert target == tmp_path / "tabnak" / "draft.json"
    assert (tmp_path / "tabnak" / "draft.html").read_bytes() == TABNAK.read_bytes()  # the page beside it
    draft = load(tmp_path / "tabnak" / "draft.html")
    assert draft.url == "https://www.tabnak.ir/fa/news/1204518/x" and draft.captured_at is None
    assert draft.item["url"] == TABNAK_CANONICAL and draft.item["news_code"] == "1204518"
    assert "crawled_at" not in draft.item and draft.not_in_body == ()
    with pytest.raises(FileExistsError, match="--force replaces it"):
        add(TABNAK, "tabnak", "https://www.tabnak.ir/fa/news/1204518", name="draft", root=tmp_path)


def test_add_never_replaces_a_reviewed_fixture_unasked(tmp_path):
    before = TABNAK.with_suffix(".json").read_bytes()
    result = run_python("from testkit.fixtures import main\nraise SystemExit(main(['add', "
                        f"{str(TABNAK)!r}, '--site', 'tabnak', '--url', {TABNAK_CANONICAL!r}]))", tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "article.json exists" in result.stderr
    assert TABNAK.with_suffix(".json").read_bytes() == before
