"""The item's JSON Schema: every item of the demo crawl (the real engine, offline replay) validates, bad
items written by hand do not, `scrapy export` writes the same items as the live feed, and README's
data dictionary is the table generated from the schema."""

import json
import re
import subprocess
import sys

import pytest

from newscrawl.items import FIELDS
from newscrawl.schema import errors, load, markdown_table
from testkit.demo.build import MANIFEST
from tests.conftest import ROOT, run_scrapy, scrapy_env
from tests.test_demo_crawl import ARCHIVE, crawl, jsonl

GOOD = {"site": "tabnak", "news_code": "818242", "url": "https://www.tabnak.ir/fa/news/818242",
        "title": "درخواست سپنتا نیکنام از رئیس‌جمهور", "kicker": None, "lead": None,
        "body": "تحولات در گذر است.\n\nرصد‌خانه «تابناک»", "published_at": "2018-07-21T00:20:00+04:30",
        "published_at_raw": "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰", "category": ["بسته ویژه خبری", "عمومی"], "tags": [],
        "images": [], "source": None, "language": "fa", "crawled_at": "2026-11-25T02:00:00+00:00",
        "fetched_from": "live", "archive_ref": None, "captured_at": "2026-11-25T02:00:00+00:00",
        "provenance": {"title": "family", "body": "family"},
        "story_id": None, "copy_of": None}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo crawl, archive then RSS, into one folder: (folder, feed items)."""
    folder = tmp_path_factory.mktemp("demo")
    crawl(folder, *ARCHIVE)
    crawl(folder, "-a", "mode=rss")
    return folder, jsonl(folder)


@pytest.mark.e2e
def test_every_demo_item_is_valid(demo):
    _, items = demo
    expected = set(MANIFEST["archive_good_ids"]) | set(MANIFEST["rss_only_good_ids"])
    assert sorted(int(i["news_code"]) for i in items) == sorted(expected)
    for item in items:
        assert errors(item) == [], item["news_code"]


@pytest.mark.e2e
def test_export_writes_the_feed_items(demo, tmp_path):
    folder, items = demo
    out = tmp_path / "export.jsonl"
    env = scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3")
    result = run_scrapy("export", "--format", "jsonl", "--output", str(out), env=env)
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(exported, key=lambda i: i["news_code"]) == sorted(items, key=lambda i: i["news_code"])
    assert all(errors(i) == [] for i in exported)


def test_hand_written_good_item_is_valid():
    assert errors(GOOD) == []
    assert errors({**GOOD, "site": "tabnak.ir", "news_code": "104729384756"}) == []  # the generic spider


def test_site_must_be_a_name_or_domain():
    assert errors({**GOOD, "site": "Tabnak"}) and errors({**GOOD, "site": "a/b"}) and errors({**GOOD, "site": ""})


@pytest.mark.parametrize(("change", "field"), [
    ({"news_code": "۸۱۸۲۴۲"}, "news_code"),  # Persian digits: news codes are ASCII
    ({"published_at": "2018-07-21T00:20:00"}, "published_at"),  # no offset
    ({"published_at": "۳۰ تیر ۱۳۹۷"}, "published_at"),
    ({"published_at": "2018-07-32T00:20:00+04:30"}, "published_at"),  # no such day
    ({"crawled_at": "2026-11-25T05:30:00+03:30"}, "crawled_at"),  # must be UTC
    ({"captured_at": "2018-07-22T09:30:00+04:30"}, "captured_at"),  # must be UTC too
    ({"fetched_from": "ftp"}, "fetched_from"),  # live, warc, commoncrawl or wayback
    ({"fetched_from": None}, "fetched_from"),
    ({"archive_ref": ""}, "archive_ref"),  # null when there is none
    ({"url": "/fa/news/818242"}, "url"),  # relative
    ({"title": ""}, "title"),
    ({"category": "عمومی"}, "category"),  # a list, not a string
    ({"tags": [""]}, "tags/0"),
    ({"images": ["files/1.jpg"]}, "images/0"),
    ({"kicker": 5}, "kicker"),
    ({"published_at_meta": "2018-07-20T19:50:00Z"}, "(item)"),  # internal fields never leak
])
def test_bad_items_are_rejected(change, field):
    found = errors({**GOOD, **change})
    assert found and all(line.startswith(f"{field}: ") for line in found), found


def test_missing_title_is_rejected():
    item = dict(GOOD)
    del item["title"]
    assert errors(item) == ["(item): 'title' is a required property"]


def test_schema_lists_the_item_fields_in_order():
    schema = load()
    assert list(schema["properties"]) == list(FIELDS)
    assert schema["required"] == list(FIELDS)
    for name, prop in schema["properties"].items():
        assert prop["description"] and prop["examples"], name
        assert errors({**GOOD, name: prop["examples"][0]}) == [], name  # the examples are valid values


def test_readme_data_dictionary_is_generated_from_the_schema():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- item-table: begin .*? -->\n(.*?)\n<!-- item-table: end -->", readme, re.S)
    assert block, "README lacks the generated item table markers"
    assert block[1] == markdown_table()
    generated = subprocess.run([sys.executable, "-m", "newscrawl.schema", "--markdown"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout
    assert generated.strip() == block[1]
    row = next(line for line in block[1].splitlines() if line.startswith("| `published_at` |"))
    assert row.startswith("| `published_at` | date-time string or null | ISO 8601 with the Asia/Tehran offset")
    assert row.endswith("| `\"2018-07-21T00:20:00+04:30\"` |")


def test_validate_command_reports_bad_lines(tmp_path):
    feed = tmp_path / "feed.jsonl"
    bad = {**GOOD, "news_code": "۸۱۸۲۴۲"}
    feed.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in (GOOD, bad, GOOD)) + "\n",
                    encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "newscrawl.schema", "--validate", str(feed)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{feed}:2: news_code: '۸۱۸۲۴۲' does not match '^[A-Za-z0-9][A-Za-z0-9_-]{{0,31}}$'"]
    assert result.stderr.strip() == "2 of 3 items valid"


# -- one field list: newscrawl.items ----------------------------------------------------------------------
def test_required_and_list_fields_come_from_the_item_definition():
    """items.py declares each field once; the pipelines' and the sanitizer's field sets are derived from it."""
    from newscrawl import items
    from newscrawl.parsing import sanitize
    from newscrawl.pipelines import clean

    assert items.FIELDS == ("site", "news_code", "url", "title", "kicker", "lead", "body", "published_at",
                            "published_at_raw", "category", "tags", "images", "source", "language", "crawled_at",
                            "fetched_from", "archive_ref", "captured_at", "provenance", "story_id", "copy_of")
    assert items.REQUIRED == ("site", "news_code", "url", "title", "body")
    assert clean.REQUIRED is items.REQUIRED
    assert items.LIST_FIELDS == ("category", "tags", "images")
    # the sanitizer strips markup from text, and checks URLs instead: images is a list, but of URLs
    assert sanitize.LIST_FIELDS == ("category", "tags")
    assert sanitize.TEXT_FIELDS == ("title", "kicker", "lead", "published_at_raw", "source", "archive_ref")
    assert items.of_kind("url") == ("url", "images") and items.of_kind("url", lists=False) == ("url",)
    assert "published_at_meta" not in items.FIELDS  # declared without a kind: internal, never exported


def test_schema_properties_follow_the_field_declarations():
    schema = load()
    assert schema["properties"]["images"] == {
        "type": "array", "items": {"type": "string", "format": "iri", "pattern": "^https?://", "maxLength": 2048},
        "description": "Absolute URLs of the images in the article.",
        "examples": [["https://www.tabnak.ir/files/fa/news/1397/4/30/910244_311.jpg"]]}
    assert schema["properties"]["kicker"]["type"] == ["string", "null"]  # nullable
    assert schema["properties"]["title"]["type"] == "string"  # required: never null
    assert schema["properties"]["language"]["type"] == "string"  # filled by the loader: never null either
    load()["properties"].clear()
    assert list(load()["properties"]) == list(FIELDS)  # each call is a fresh copy


def test_schema_command_prints_the_schema():
    printed = subprocess.run([sys.executable, "-m", "newscrawl.schema"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert json.loads(printed) == load()
    assert printed.startswith('{\n  "$schema": "https://json-schema.org/draft/2020-12/schema",\n')
    assert "رصدخانه «تابناک»؛" in printed  # Persian as itself, not \u escapes


def test_provenance_is_an_object_of_field_names_to_sources():
    assert errors({**GOOD, "provenance": {}}) == []
    assert errors({**GOOD, "provenance": {"title": "site", "body": "generic"}}) == []
    assert errors({**GOOD, "provenance": ["site"]}) == ["provenance: ['site'] is not of type 'object'"]
    assert errors({**GOOD, "provenance": None}) == ["provenance: None is not of type 'object'"]
