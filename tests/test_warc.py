"""WARC backfills (docs/archives.md, "WARC files"): the reader (newscrawl.archives.warc) on files written by
warcio and by hand to the standard's bytes, and `scrapy crawl SITE -a warc=...` through the real engine:
exact stored and skipped counts, globs and several files, `generic` with `allowed`, usage errors, the
provenance fields on stored rows and in the feed, and the same item as a live crawl of the same page."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newscrawl.archives.warc import (
    ArchivedPage,
    Skipped,
    WarcError,
    check,
    expand,
    iter_pages,
    read_at,
    read_record,
)
from testkit import warcs
from testkit.devservers import closing_stats
from testkit.testsite import running
from tests.conftest import run_scrapy, scrapy_env

BASE = "http://127.0.0.1:9"  # nothing listens there: a WARC crawl never connects
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
#: the demo's article ids that give an item (818247 is a photo report without a body: missing_body)
STORED = sorted(str(i) for i in warcs.DEMO_IDS if i != 818247)
PROVENANCE = ("crawled_at", "captured_at", "fetched_from", "archive_ref")


def reasons(path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in iter_pages(path):
        key = "page" if isinstance(record, ArchivedPage) else record.reason
        counts[key] = counts.get(key, 0) + 1
    return counts


# -- the reader ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mixed.warc", "mixed.warc.gz"])
def test_the_reader_sorts_every_record_of_a_warcio_file(tmp_path, name):
    path = tmp_path / name
    offsets = warcs.write_warc(path, warcs.mixed_records(BASE))
    # 29 articles + another host's page + /fa/about; the feed and the JPEG are not HTML
    assert reasons(path) == {"page": 31, "request": 2, "revisit": 1, "truncated": 1, "non-html": 2}
    records = list(iter_pages(path))
    assert [r.offset for r in records] == offsets
    first = next(r for r in records if isinstance(r, ArchivedPage))
    assert first.url == f"{BASE}/fa/news/818230" and first.status == 200
    assert first.captured_at == "2018-07-22T05:00:00+00:00"
    assert first.archive_ref == f"{name}#{first.offset}"
    assert first.body == warcs.demo_records(BASE)[0].data  # the bytes exactly
    assert read_at(path, first.offset) == first
    # one record as an HTTP range request returns it: its own bytes, gzip member or not
    end = offsets[offsets.index(first.offset) + 1]
    data = path.read_bytes()[first.offset:end]
    assert read_record(data, name=name, offset=first.offset) == first


@pytest.mark.parametrize("name", ["standard.warc", "standard.warc.gz"])
def test_the_reader_reads_the_standard_bytes_written_by_hand(tmp_path, name):
    path = tmp_path / name
    records = [r for r in warcs.mixed_records(BASE) if r.kind in ("response", "request", "truncated")]
    offsets = warcs.write_standard_warc(path, records)
    assert reasons(path) == {"page": 31, "request": 2, "truncated": 1, "non-html": 2}
    pages = [r for r in iter_pages(path) if isinstance(r, ArchivedPage)]
    assert pages[0].offset in offsets and pages[0].body == warcs.demo_records(BASE)[0].data
    assert "\u200c" in pages[0].body.decode("utf-8")  # ZWNJ survives


def test_a_file_cut_inside_its_last_record_ends_with_a_truncated_record(tmp_path):
    for name in ("cut.warc", "cut.warc.gz"):
        path = tmp_path / name
        warcs.write_warc(path, warcs.demo_records(BASE)[:3])
        warcs.cut_tail(path, 500)
        assert reasons(path) == {"page": 2, "truncated": 1}, name


def _record(payload: bytes, headers: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(f"{BASE}/fa/news/1", "response", payload=io.BytesIO(payload),
                                                  http_headers=http))
    return buffer.getvalue()


def test_chunked_and_gzip_payloads_are_decoded_as_a_live_crawl_gets_them():
    html = "<html><body><p>می\u200cشود</p></body></html>".encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(html), html)
    for payload, headers in ((chunked, [("Transfer-Encoding", "chunked")]),
                             (gzip.compress(html), [("Content-Encoding", "gzip")])):
        page = read_record(_record(payload, headers))
        assert isinstance(page, ArchivedPage) and page.body == html
        names = {name.lower() for name, _ in page.headers}
        assert "content-encoding" not in names and "transfer-encoding" not in names  # decoded already


def test_a_body_over_the_limit_is_skipped_not_read_whole():
    page = read_record(_record(b"<html>" + b"x" * 5000 + b"</html>", []), max_bytes=1000)
    assert isinstance(page, Skipped) and page.reason == "too-large"


def test_what_is_not_a_warc_file_is_one_clear_error(tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:secret line\n")
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    with pytest.raises(WarcError, match="^no such WARC file: .*missing.warc$"):
        check(tmp_path / "missing.warc")
    for path in (secret, empty):
        with pytest.raises(WarcError, match="^not a WARC file: ") as caught:
            check(path)
        assert "secret" not in str(caught.value).removeprefix(f"not a WARC file: {tmp_path}")  # never its text
    with pytest.raises(WarcError, match="^no file matches "):
        expand(str(tmp_path / "*.warc.gz"))


def test_globs_and_paths_expand_sorted_each_file_once(tmp_path):
    for name in ("b.warc.gz", "a.warc.gz", "c.warc"):
        warcs.write_warc(tmp_path / name, warcs.demo_records(BASE)[:1])
    got = expand(f"{tmp_path}/*.warc.gz, {tmp_path}/c.warc,{tmp_path}/a.warc.gz")
    assert [p.name for p in got] == ["a.warc.gz", "b.warc.gz", "c.warc"]


# -- scrapy crawl -a warc= --------------------------------------------------------------------------------
def crawl(tmp_path: Path, spider: str, *args: str, env: dict | None = None):
    """`scrapy crawl` into tmp_path's database and feed: (result, closing stats)."""
    env = env or scrapy_env()
    tmp_path.mkdir(parents=True, exist_ok=True)
    env.update(NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3", NEWSCRAWL_DATA_DIR=str(tmp_path / "data"),
               NEWSCRAWL_FEED=str(tmp_path / "feed.jsonl"))
    result = run_scrapy("crawl", spider, *args, *FAST, env=env, timeout=180)
    return result, closing_stats(result.stderr)


def rows(tmp_path: Path) -> list[dict]:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM articles ORDER BY news_code")]


def feed(tmp_path: Path) -> list[dict]:
    lines = (tmp_path / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda item: item["news_code"])


@pytest.mark.e2e
def test_a_warc_backfill_stores_the_articles_and_counts_every_skip(tmp_path):
    path = tmp_path / "mixed.warc.gz"
    records = warcs.mixed_records(BASE)
    offsets = dict(zip((id(r) for r in records), warcs.write_warc(path, records), strict=True))
    result, stats = crawl(tmp_path, "tabnak", "-a", f"base_url={BASE}", "-a", f"warc={path}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/warc/files"] == 1 and stats["newscrawl/warc/records"] == 37
    assert stats["newscrawl/warc/articles"] == 29
    assert {k.removeprefix("newscrawl/warc/"): v for k, v in stats.items()
            if k.startswith("newscrawl/warc/") and k.split("/")[-1] not in ("files", "records", "articles")} == {
        "request": 2, "revisit": 1, "truncated": 1, "other-host": 1, "non-html": 2, "not-article": 1}
    assert stats["newscrawl/stored"] == 28 and stats["newscrawl/dropped/missing_body"] == 1
    assert "downloader/exception_count" not in stats  # nothing was fetched
    stored = rows(tmp_path)
    assert [r["news_code"] for r in stored] == STORED
    first = next(r for r in records if r.url == f"{BASE}/fa/news/818230" and r.kind == "response")
    row = stored[0]
    assert (row["fetched_from"], row["archive_ref"], row["captured_at"]) == (
        "warc", f"mixed.warc.gz#{offsets[id(first)]}", "2018-07-22T05:00:00+00:00")
    assert all(r["fetched_from"] == "warc" and r["archive_ref"].startswith("mixed.warc.gz#") for r in stored)
    items = feed(tmp_path)
    assert [i["news_code"] for i in items] == STORED
    assert (items[0]["fetched_from"], items[0]["archive_ref"], items[0]["captured_at"]) == (
        "warc", row["archive_ref"], "2018-07-22T05:00:00+00:00")
    assert items[0]["crawled_at"] != items[0]["captured_at"]
    # again: the stored copies are as good as the file's (newscrawl.db.store.better), so only 818247,
    # which gave no item, is read again
    result, stats = crawl(tmp_path, "tabnak", "-a", f"base_url={BASE}", "-a", f"warc={path}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (stats["newscrawl/incremental/skipped"], stats["newscrawl/warc/articles"]) == (28, 1)
    assert stats.get("newscrawl/stored", 0) == 0 and len(rows(tmp_path)) == 28


@pytest.mark.e2e
def test_a_backfill_run_again_with_nothing_new_passes_without_a_request(tmp_path):
    """Every article of the file is stored already: the second run requests nothing, and that is a
    healthy run (monitors.SuccessfulRequestsMonitor), not "Too few (0) successful requests"."""
    path = tmp_path / "demo.warc.gz"
    warcs.write_warc(path, [r for r in warcs.demo_records(BASE) if "/fa/news/" in r.url][:5])
    first, stats = crawl(tmp_path, "tabnak", "-a", f"base_url={BASE}", "-a", f"warc={path}")
    assert first.returncode == 0, first.stderr[-3000:]
    assert stats["newscrawl/stored"] == 5
    again, stats = crawl(tmp_path, "tabnak", "-a", f"base_url={BASE}", "-a", f"warc={path}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert stats["newscrawl/incremental/skipped"] == 5 and "downloader/request_count" not in stats
    assert stats["newscrawl/health/passed"] is True


@pytest.mark.e2e
def test_globs_and_several_files_and_the_hand_written_standard_file(tmp_path):
    folder = tmp_path / "warcs"
    folder.mkdir()
    records = warcs.demo_records(BASE)
    warcs.write_standard_warc(folder / "a.warc", records[:10])  # by hand, uncompressed
    warcs.write_warc(folder / "b.warc.gz", records[10:20])
    warcs.write_warc(tmp_path / "c.warc.gz", records[20:])  # the rest and the feed,
    warcs.cut_tail(tmp_path / "c.warc.gz", 100)  # which a download cut short
    result, stats = crawl(tmp_path, "tabnak", "-a", f"base_url={BASE}",
                          "-a", f"warc={folder}/*.warc*,{tmp_path}/c.warc.gz")
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/warc/files"] == 3 and stats["newscrawl/warc/records"] == 30
    assert stats["newscrawl/warc/truncated"] == 1 and "newscrawl/warc/non-html" not in stats  # the feed
    assert f"{tmp_path}/c.warc.gz: the record at byte " in result.stderr  # a line names it
    assert f"is cut short ({BASE}/fa/rss/allnews)" in result.stderr
    stored = rows(tmp_path)
    assert [r["news_code"] for r in stored] == STORED
    files = {r["news_code"]: r["archive_ref"].split("#")[0] for r in stored}
    assert (files["818230"], files["818241"], files["818259"]) == ("a.warc", "b.warc.gz", "c.warc.gz")


GENERIC_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article"><meta property="og:title" content="{title}">
<meta property="article:published_time" content="2018-07-21T10:00:00+04:30"></head><body><article>
<h1>{title}</h1><p>{para}</p><p>{para} دوباره.</p></article></body></html>"""


def generic_record(url: str, title: str) -> warcs.Record:
    para = "این متن خبر است و برای آزمودن خواندن بایگانی نوشته شده است، با نیم‌فاصله‌ای که باید بماند" * 3
    return warcs.Record(url, GENERIC_HTML.format(title=title, para=para))


@pytest.mark.e2e
def test_generic_reads_the_allowed_hosts_and_fetches_nothing(tmp_path):
    """`generic -a warc= -a allowed=`: the allowed host's article is stored from the file, another host's
    record is skipped; a record claiming a loopback address is read from the file, never fetched (the
    crawl runs without the private-address opt-in); markup in a title never reaches stored text."""
    path = tmp_path / "dump.warc.gz"
    warcs.write_warc(path, [
        generic_record("https://www.example-news.ir/news/1001/x", "خبر &lt;b&gt;یک&lt;/b&gt;"),
        generic_record("http://127.0.0.1:1/news/1002/x", "خبر دو"),
        generic_record("https://www.other-news.ir/news/2001/x", "خبر دیگر"),
        warcs.Record("https://www.example-news.ir/", "<html><body>خانه</body></html>"),
    ])
    env = {k: v for k, v in scrapy_env().items() if k != "NEWSCRAWL_ALLOW_PRIVATE"}
    result, stats = crawl(tmp_path, "generic", "-a", f"warc={path}", "-a", "allowed=example-news.ir,127.0.0.1",
                          env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert stats["newscrawl/warc/records"] == 4 and stats["newscrawl/warc/articles"] == 2
    assert stats["newscrawl/warc/other-host"] == 1 and stats["newscrawl/warc/not-article"] == 1
    assert "downloader/exception_count" not in stats and "newscrawl/ssrf/refused" not in str(stats)
    stored = rows(tmp_path)
    assert sorted(r["url"] for r in stored) == ["http://127.0.0.1:1/news/1002/x",
                                                "https://www.example-news.ir/news/1001/x"]
    title = next(r["title"] for r in stored if "example-news" in r["url"])
    assert "<" not in title and "یک" in title
    assert all(r["fetched_from"] == "warc" and r["archive_ref"].startswith("dump.warc.gz#") for r in stored)


@pytest.mark.parametrize(("spider", "arg", "message"), [
    ("tabnak", "warc={tmp}/missing.warc.gz", "tabnak: warc: no such WARC file: {tmp}/missing.warc.gz"),
    ("tabnak", "warc={tmp}/*.warc", "tabnak: warc: no file matches {tmp}/*.warc"),
    ("generic", "warc={tmp}/notes.txt", "generic: warc: not a WARC file: {tmp}/notes.txt"),
])
def test_a_bad_warc_path_is_a_usage_error(tmp_path, spider, arg, message):
    (tmp_path / "notes.txt").write_text("not a warc\n")
    result = run_scrapy("crawl", spider, "-a", arg.format(tmp=tmp_path), env=scrapy_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(message.format(tmp=tmp_path))


def test_warc_goes_with_no_other_mode(tmp_path):
    path = tmp_path / "a.warc.gz"
    warcs.write_warc(path, warcs.demo_records(BASE)[:1])
    from newscrawl.spiders.base import ArgumentError
    from newscrawl.spiders.generic import GenericSpider
    from newscrawl.spiders.sites import TabnakSpider

    assert TabnakSpider.check_args(warc=str(path))["mode"] == "warc"
    assert TabnakSpider.check_args(warc=str(path))["incremental"] is True  # a copy as good is not read again
    with pytest.raises(ArgumentError, match="warc is only for mode=warc"):
        TabnakSpider.check_args(warc=str(path), mode="rss")
    with pytest.raises(ArgumentError, match="only for mode=archive"):
        TabnakSpider.check_args(warc=str(path), since="1397/04/29")
    with pytest.raises(ArgumentError, match="warc reads WARC files only"):
        GenericSpider.check_args(warc=str(path), url="https://www.isna.ir/news/1/x")


@pytest.mark.e2e
def test_a_warc_page_gives_the_live_crawls_item_but_its_provenance(tmp_path):
    with running(env=scrapy_env()) as (base, _):
        live, stats = crawl(tmp_path / "live", "tabnak", "-a", f"base_url={base}", "-a", "ids=818230-818259")
        assert live.returncode == 0, live.stderr[-3000:]
        path = tmp_path / "site.warc.gz"
        warcs.write_warc(path, warcs.demo_records(base))
    # the site is stopped now: the backfill reads the file only
    archived, _ = crawl(tmp_path / "warc", "tabnak", "-a", f"base_url={base}", "-a", f"warc={path}")
    assert archived.returncode == 0, archived.stderr[-3000:]
    live_items, warc_items = feed(tmp_path / "live"), feed(tmp_path / "warc")
    assert [i["news_code"] for i in live_items] == [i["news_code"] for i in warc_items] == STORED
    for a, b in zip(live_items, warc_items, strict=True):
        if a["news_code"] == "818236":
            # the page shows no date it can read: the live crawl reads it with today's template version
            # (its category selector is the site's), the backfill with the one of its capture date, 2018
            assert (a["provenance"]["category"], b["provenance"]["category"]) == ("site", "family")
            a["provenance"]["category"] = b["provenance"]["category"]
        assert {k: v for k, v in a.items() if k not in PROVENANCE} == {
            k: v for k, v in b.items() if k not in PROVENANCE}
        assert (a["fetched_from"], a["archive_ref"], a["captured_at"]) == ("live", None, a["crawled_at"])
        assert (b["fetched_from"], b["captured_at"]) == ("warc", "2018-07-22T05:00:00+00:00")


RECORD = _record("<html><body><p>می\u200cشود</p></body></html>".encode(), [])
PLAIN = warcs._standard_bytes(warcs.demo_records(BASE)[0])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_damaged_record_is_a_page_a_skip_or_one_clear_error(data):
    """A WARC is a file from anywhere: a record cut anywhere or with bytes changed anywhere reads as a page,
    a counted skip, or WarcError; never another exception."""
    original = data.draw(st.sampled_from([RECORD, PLAIN]))
    damaged = bytearray(original[:data.draw(st.integers(0, len(original)))])
    for _ in range(data.draw(st.integers(0, 4))):
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    try:
        result = read_record(bytes(damaged))
    except WarcError:
        return
    assert isinstance(result, ArchivedPage | Skipped)


def test_the_capture_time_hint_is_the_items_captured_at_in_utc():
    """The library's `captured_at` (an archived copy's date) becomes the item's, in UTC; without it, a page
    is captured when it is read (crawled_at)."""
    from newscrawl import extract

    page = warcs.demo_records("https://www.tabnak.ir")[12].data  # 818242
    item = extract(page, url="https://www.tabnak.ir/fa/news/818242", captured_at="2018-07-22T09:30:00+04:30")
    assert (item["fetched_from"], item["archive_ref"], item["captured_at"]) == (
        "live", None, "2018-07-22T05:00:00+00:00")
    item = extract(page, url="https://www.tabnak.ir/fa/news/818242")
    assert item["captured_at"] == item["crawled_at"]
