"""`scrapy export` through the real command line, on a database built from hand-written articles.

The articles straddle Iran's switch to summer time (2018-03-22 00:00 Tehran): 818300 is published at
23:30+03:30 on 1397/01/01 and 818301 at 01:30+04:30 on 1397/01/02, 90 minutes later. 556 is published
at 00:20+04:30 on 2018-07-21, which in UTC is still 2018-07-20, so a filter or partition on the UTC
day would put it on the wrong day. 818302 has no date. Every expected value below is worked out by
hand from these items.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newscrawl.db.store import ArticleStore, Selection
from tests.conftest import DEMO_CASSETTES, run_scrapy, scrapy_env

ZWNJ = "\u200c"


def article(site, code, published_at, category, tags, **extra) -> dict:
    item = {"site": site, "news_code": code, "url": f"https://www.{site}.ir/fa/news/{code}",
            "title": f"عنوان {code}", "kicker": None, "lead": None, "body": f"متن خبر {code}",
            "published_at": published_at, "published_at_raw": None, "category": category, "tags": tags,
            "images": [], "source": None, "language": "fa", "crawled_at": "2026-11-25T02:00:00+00:00",
            "fetched_from": "live", "archive_ref": None, "captured_at": "2026-11-25T02:00:00+00:00",
            "provenance": {"news_code": "url", "title": "site", "body": "generic"},
            "story_id": None, "copy_of": None}
    item.update(extra)
    return item


ITEMS = [
    article("tabnak", "818300", "2018-03-21T23:30:00+03:30", ["سیاسی", "دولت"], [f"رئیس{ZWNJ}جمهور", "بازار ارز"],
            title=f"پیام نوروزی رئیس{ZWNJ}جمهور، با «نقل{ZWNJ}قول» و \"quotes\"",
            kicker="سال نو", body=f"پاراگراف اول، با ویرگول.\n\nپاراگراف دوم{ZWNJ}ها",
            published_at_raw="۰۱ فروردین ۱۳۹۷ - ۲۳:۳۰", images=["https://www.tabnak.ir/files/1.jpg"]),
    article("tabnak", "818301", "2018-03-22T01:30:00+04:30", ["ورزشی", "فوتبال"], [], provenance={}),
    article("isna", "555", "2018-03-22T19:40:00+04:30", ["سیاسی", "مجلس"], ["بازار ارز"], kicker="مجلس",
            source="مهر"),
    article("isna", "556", "2018-07-21T00:20:00+04:30", [f"بین{ZWNJ}الملل"], ["نوروز"]),
    article("tabnak", "818302", None, ["اجتماعی"], [], published_at_raw="۳۲ تیر ۱۳۹۷ - ۱۴:۱۵"),
]
BY_CODE = {i["news_code"]: i for i in ITEMS}


def fill(url: str, items=ITEMS) -> str:
    store = ArticleStore(url).open()
    for item in items:
        store.add(item)
    store.close()
    return url


@pytest.fixture
def db(tmp_path) -> str:
    return fill(f"sqlite:///{tmp_path}/news.sqlite3")


def export(db_url: str, *args: str):
    env = scrapy_env(NEWSCRAWL_DATABASE_URL=db_url)
    return run_scrapy("export", *args, env=env)


def ok(result) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- formats -------------------------------------------------------------------------------------------
def test_jsonl_holds_every_item_exactly(db, tmp_path):
    out = tmp_path / "out" / "all.jsonl"  # the folder is created
    result = export(db, "--format", "jsonl", "--output", str(out))
    ok(result)
    assert result.stdout.strip() == f"exported 5 articles to {out}"
    rows = read_jsonl(out)
    assert {r["news_code"]: r for r in rows} == BY_CODE
    assert list(rows[0]) == list(ITEMS[0])  # the item's field order
    dated = [r["news_code"] for r in rows if r["published_at"]]
    assert dated == ["555", "556", "818300", "818301"]  # by site, then publication time
    text = out.read_text(encoding="utf-8")
    assert "\\u" not in text and f"رئیس{ZWNJ}جمهور" in text
    assert sorted(p.name for p in out.parent.iterdir()) == ["all.jsonl"]  # no temporary file left


def test_csv_has_bom_and_round_trips_persian(db, tmp_path):
    out = tmp_path / "all.csv"
    ok(export(db, "--format", "csv", "--output", str(out)))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsite,news_code,url,title,")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["news_code"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(BY_CODE)
    first = rows["818300"]
    assert first["title"] == f"پیام نوروزی رئیس{ZWNJ}جمهور، با «نقل{ZWNJ}قول» و \"quotes\""
    assert first["body"] == f"پاراگراف اول، با ویرگول.\n\nپاراگراف دوم{ZWNJ}ها"
    assert first["category"] == '["سیاسی", "دولت"]'  # list fields: JSON arrays in the cell
    assert json.loads(first["tags"]) == [f"رئیس{ZWNJ}جمهور", "بازار ارز"]
    assert rows["818301"]["tags"] == "[]"
    assert rows["818301"]["kicker"] == ""  # null: an empty cell
    assert rows["818302"]["published_at"] == ""
    assert rows["556"]["published_at"] == "2018-07-21T00:20:00+04:30"
    assert first["provenance"] == '{"news_code": "url", "title": "site", "body": "generic"}'  # a JSON object
    assert rows["818301"]["provenance"] == "{}"


def test_parquet_types_and_values(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "all.parquet"
    ok(export(db, "--format", "parquet", "--output", str(out)))
    table = pq.read_table(out)
    schema = table.schema
    assert schema.names == list(ITEMS[0])
    assert schema.field("category").type == pa.list_(pa.string())
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("news_code").type == pa.string()
    published = schema.field("published_at").type
    assert pa.types.is_timestamp(published) and published.tz == "Asia/Tehran"
    assert schema.field("crawled_at").type.tz == "UTC"
    rows = {r["news_code"]: r for r in table.to_pylist()}
    assert rows["818300"]["published_at"].astimezone(UTC) == datetime(2018, 3, 21, 20, 0, tzinfo=UTC)
    assert rows["818301"]["published_at"].astimezone(UTC) == datetime(2018, 3, 21, 21, 0, tzinfo=UTC)
    assert rows["556"]["published_at"].astimezone(UTC) == datetime(2018, 7, 20, 19, 50, tzinfo=UTC)
    assert rows["818302"]["published_at"] is None
    assert rows["818300"]["tags"] == [f"رئیس{ZWNJ}جمهور", "بازار ارز"]
    assert rows["818301"]["tags"] == []
    assert rows["818300"]["title"] == BY_CODE["818300"]["title"]
    assert rows["818301"]["kicker"] is None
    assert rows["555"]["crawled_at"] == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert schema.field("provenance").type == pa.map_(pa.string(), pa.string())
    assert rows["555"]["provenance"] == [("news_code", "url"), ("title", "site"), ("body", "generic")]
    assert rows["818301"]["provenance"] == []


# -- filters -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "codes"), [
    (["--site", "isna"], {"555", "556"}),
    (["--site", "isna", "--site", "tabnak"], set(BY_CODE)),
    (["--since", "1397/01/02", "--until", "1397/01/02"], {"818301", "555"}),  # Jalali, one Tehran day
    (["--since", "۱۳۹۷/۰۱/۰۱", "--until", "1397-01-01"], {"818300"}),  # Persian digits, dashes
    (["--until", "2018-03-21"], {"818300"}),  # Gregorian; the undated article is left out
    (["--since", "2018-07-21"], {"556"}),  # its UTC day is 2018-07-20
    (["--since", "2018-07-22"], set()),
    (["--category", "سیاسی"], {"818300", "555"}),
    (["--category", "سياسي"], {"818300", "555"}),  # typed with Arabic ي: normalized like the items
    (["--category", "سیاس"], set()),  # a whole category, not a substring
    (["--category", f"بین{ZWNJ}الملل"], {"556"}),
    (["--tag", "بازار ارز"], {"818300", "555"}),
    (["--tag", f"رئیس{ZWNJ}جمهور"], {"818300"}),
    (["--tag", "نوروز", "--tag", "بازار ارز"], {"818300", "555", "556"}),  # any of the tags
    (["--site", "tabnak", "--category", "سیاسی"], {"818300"}),  # every option must hold
    (["--site", "yjc"], set()),  # a known site with no articles: an empty export
])
def test_filters(db, tmp_path, args, codes):
    out = tmp_path / "f.jsonl"
    result = export(db, "--format", "jsonl", "--output", str(out), *args)
    ok(result)
    assert {r["news_code"] for r in read_jsonl(out)} == codes
    assert f"exported {len(codes)} articles" in result.stdout


# -- partitions ----------------------------------------------------------------------------------------
def text_schema(fmt: str):
    """What a reader of JSON Lines or CSV parts declares (pyarrow infers each file's types on its own,
    and a column that is all null in the first file would become the null type). Parquet needs none."""
    import pyarrow as pa

    if fmt == "parquet":
        return None
    lists = ("category", "tags", "images") if fmt == "jsonl" else ()
    types = {name: pa.list_(pa.string()) for name in lists}
    if fmt == "jsonl":  # an object: a struct of the keys the reader wants
        types["provenance"] = pa.struct([(name, pa.string()) for name in ("news_code", "title", "body")])
    return pa.schema([(name, types.get(name, pa.string())) for name in ITEMS[0]] + [("date", pa.string())])


@pytest.mark.parametrize(("fmt", "arrow_format"), [("parquet", "parquet"), ("jsonl", "json"), ("csv", "csv")])
def test_partition_layout_reads_as_a_hive_dataset(db, tmp_path, fmt, arrow_format):
    import pyarrow.dataset as ds

    out = tmp_path / "dataset"
    result = export(db, "--format", fmt, "--output", str(out), "--partition")
    ok(result)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [f"site=isna/date=2018-03-22/part-0.{fmt}", f"site=isna/date=2018-07-21/part-0.{fmt}",
                     f"site=tabnak/date=2018-03-21/part-0.{fmt}", f"site=tabnak/date=2018-03-22/part-0.{fmt}",
                     f"site=tabnak/date=unknown/part-0.{fmt}"]
    assert f"exported 5 articles to {out} (5 files)" in result.stdout
    dataset = ds.dataset(out, format=arrow_format, partitioning="hive", schema=text_schema(fmt))
    rows = dataset.to_table().to_pylist()
    assert {(r["site"], r["news_code"], r["date"]) for r in rows} == {
        ("tabnak", "818300", "2018-03-21"), ("tabnak", "818301", "2018-03-22"), ("isna", "555", "2018-03-22"),
        ("isna", "556", "2018-07-21"), ("tabnak", "818302", "unknown")}
    one_day = dataset.to_table(filter=ds.field("date") == "2018-03-22").column("news_code").to_pylist()
    assert sorted(one_day) == ["555", "818301"]
    assert not list(tmp_path.glob(".*partial*"))


def test_partitioned_parquet_reads_like_pandas_reads_it(db, tmp_path):
    """pandas.read_parquet(folder) infers partition keys as dictionaries, which fails when a file holds
    the same column as a plain string: so Parquet parts leave `site` to the folder name."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    out = tmp_path / "dataset"
    ok(export(db, "--format", "parquet", "--output", str(out), "--partition"))
    part = out / "site=isna" / "date=2018-07-21" / "part-0.parquet"
    assert "site" not in pq.read_schema(part).names and "news_code" in pq.read_schema(part).names
    hive = ds.HivePartitioning.discover(infer_dictionary=True)  # what pandas asks for
    table = ds.dataset(out, format="parquet", partitioning=hive).to_table()
    assert sorted(zip(table.column("site").to_pylist(), table.column("news_code").to_pylist(), strict=True)) == [
        ("isna", "555"), ("isna", "556"), ("tabnak", "818300"), ("tabnak", "818301"), ("tabnak", "818302")]


def test_partition_refuses_a_folder_with_files(db, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = export(db, "--format", "parquet", "--output", str(out), "--partition")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {out} is not empty (--overwrite replaces an earlier "
                                                  "partitioned export)"]
    # --overwrite replaces only an earlier export (site= folders), never a folder holding anything else
    result = export(db, "--format", "parquet", "--output", str(out), "--partition", "--overwrite")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {out} holds 'keep.txt', which is not a site= folder "
                                                  "of an export; not replaced"]
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_overwrite_replaces_a_partitioned_export(db, tmp_path):
    out = tmp_path / "dataset"
    ok(export(db, "--output", str(out), "--partition", "--format", "jsonl"))
    assert {p.name for p in out.iterdir()} == {"site=isna", "site=tabnak"}
    ok(export(db, "--output", str(out), "--partition", "--format", "jsonl", "--overwrite", "--site", "isna"))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["site=isna/date=2018-03-22/part-0.jsonl", "site=isna/date=2018-07-21/part-0.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_partition_fills_an_empty_folder_and_filters_apply(db, tmp_path):
    out = tmp_path / "dataset"
    out.mkdir()
    ok(export(db, "--format", "jsonl", "--output", str(out), "--partition", "--site", "isna"))
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.jsonl"))
    assert files == ["site=isna/date=2018-03-22/part-0.jsonl", "site=isna/date=2018-07-21/part-0.jsonl"]
    assert [r["news_code"] for r in read_jsonl(out / files[1])] == ["556"]


def test_existing_file_is_replaced(db, tmp_path):
    out = tmp_path / "all.jsonl"
    out.write_text("old\n")
    ok(export(db, "--format", "jsonl", "--output", str(out), "--site", "isna"))
    assert [r["news_code"] for r in read_jsonl(out)] == ["555", "556"]


# -- progress and errors -------------------------------------------------------------------------------
def test_progress_lines_when_stderr_is_not_a_terminal(db, tmp_path):
    result = export(db, "--format", "csv", "--output", str(tmp_path / "a.csv"), "--progress", "2",
                    "--category", "سیاسی")
    ok(result)
    # 2 rows pass the SQL prefilter for the category; --progress 2 prints after every second row read
    assert result.stderr.splitlines() == ["export: 2 of 2 articles read (100%), 2 written"]
    result = export(db, "--format", "csv", "--output", str(tmp_path / "a.csv"), "--progress", "2")
    assert result.stderr.splitlines() == ["export: 2 of 5 articles read (40%), 2 written",
                                          "export: 4 of 5 articles read (80%), 4 written"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--format", "xml", "--output", "x.xml"], 2, "error: format: 'xml' is not one of jsonl, csv, parquet"),
    (["--output", "x.txt"], 2, "error: give --format: "),
    (["--output", "-"], 2, "error: give --format jsonl, csv or parquet with --output -"),
    (["--output", "-", "--format", "csv", "--partition"], 2, "error: --partition writes a folder, not standard"),
    (["--output", "x.csv", "--overwrite"], 2, "error: --overwrite is for --partition"),
    (["--output", "x.csv", "--progress", "-1"], 2, "error: progress: -1 is negative; give N >= 0"),
    (["--format", "csv"], 2, "error: give --output PATH"),
    (["--format", "csv", "--output", "x.csv", "--since", "1397/13/01"], 2,
     "error: since: '1397/13/01' is not a valid Jalali date"),
    (["--format", "csv", "--output", "x.csv", "--until", "last week"], 2, "error: until: 'last week' is not a date"),
    (["--format", "csv", "--output", "x.csv", "--since", "1397/02/01", "--until", "1397/01/01"], 2,
     "error: since (2018-04-21) is after until (2018-03-21)"),
    (["--format", "csv", "--output", "x.csv", "--site", "tabnk"], 2, "error: site: 'tabnk' is not a site (known: "),
    (["--format", "csv", "--output", "x.csv", "--tag", " "], 2, "error: tag: give a non-empty value"),
    (["--format", "csv", "--output", "x.csv", "extra"], 2, "error: unexpected argument 'extra'"),
])
def test_bad_input_is_one_line(db, tmp_path, args, code, message):
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    result = export(db, *args)
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("x.*")) == []


def test_missing_database_is_one_line_and_not_created(tmp_path):
    result = export(f"sqlite:///{tmp_path}/none.sqlite3", "--format", "csv", "--output", str(tmp_path / "x.csv"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no database at {tmp_path}/none.sqlite3 (crawl first, or set NEWSCRAWL_DATABASE_URL)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_unreachable_postgresql_hides_the_password(tmp_path):
    from tests.conftest import free_port

    url = f"postgresql+psycopg://news:s3cr3t@127.0.0.1:{free_port()}/news"
    result = export(url, "--format", "csv", "--output", str(tmp_path / "x.csv"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open database postgresql+psycopg://***@")
    assert "s3cr3t" not in result.stderr


# -- PostgreSQL ----------------------------------------------------------------------------------------
@contextmanager
def fresh_pg_database(postgres_url: str) -> Iterator[str]:
    """A new database on the test server holding ITEMS, so no other test's articles are in it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"export_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield fill(make_url(postgres_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def pg_db(postgres_url):
    with fresh_pg_database(postgres_url) as url:
        yield url


@pytest.mark.postgres
def test_postgresql_export(pg_db, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "pg.jsonl"
    ok(export(pg_db, "--format", "jsonl", "--output", str(out)))
    rows = read_jsonl(out)
    assert {r["news_code"]: r for r in rows} == BY_CODE
    assert [r["news_code"] for r in rows if r["published_at"]] == ["555", "556", "818300", "818301"]
    ok(export(pg_db, "--format", "jsonl", "--output", str(out), "--since", "1397/01/02", "--tag", "بازار ارز"))
    assert [r["news_code"] for r in read_jsonl(out)] == ["555"]
    ok(export(pg_db, "--format", "jsonl", "--output", str(out), "--category", f"بین{ZWNJ}الملل"))
    assert [r["news_code"] for r in read_jsonl(out)] == ["556"]
    ok(export(pg_db, "--format", "parquet", "--output", str(tmp_path / "pg"), "--partition"))
    table = pq.read_table(tmp_path / "pg" / "site=tabnak" / "date=2018-03-22" / "part-0.parquet")
    assert table.column("news_code").to_pylist() == ["818301"]
    assert table.column("category").to_pylist() == [["ورزشی", "فوتبال"]]


# -- live feeds: the documented FEEDS override ---------------------------------------------------------
@pytest.mark.e2e
def test_feeds_setting_replaces_the_default_feed(tmp_path):
    """README, Feeds: `-s FEEDS=<JSON>` replaces the per-run JSON Lines feed with any feed Scrapy supports."""
    feeds = json.dumps({f"file://{tmp_path}/feed/%(name)s.csv": {"format": "csv"}})
    env = scrapy_env(NEWSCRAWL_REPLAY=str(DEMO_CASSETTES), NEWSCRAWL_DATA_DIR=str(tmp_path / "data"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    result = run_scrapy("crawl", "tabnak", "-a", "mode=rss", "-s", f"FEEDS={feeds}", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    from testkit.demo.build import MANIFEST

    with (tmp_path / "feed" / "tabnak.csv").open(encoding="utf-8", newline="") as fh:
        codes = sorted(r["news_code"] for r in csv.DictReader(fh))
    assert codes == sorted(str(i) for i in MANIFEST["rss_good_ids"])  # a fresh database: all are new
    assert not (tmp_path / "data" / "tabnak").exists()  # the default per-run feed is replaced


def test_parquet_is_written_in_batches(db, tmp_path, monkeypatch):
    """In process, with a batch of 2 rows: 5 articles become row groups of 2, 2 and 1."""
    import pyarrow.parquet as pq

    from newscrawl.commands import export as command

    monkeypatch.setattr(command, "BATCH_ROWS", 2)
    store = ArticleStore(db).open()
    try:
        written, files = command.export(store.engine, "parquet", tmp_path / "b.parquet", Selection(),
                                        progress_every=0)
    finally:
        store.close()
    assert (written, files) == (5, 1)
    meta = pq.ParquetFile(tmp_path / "b.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [2, 2, 1]


# -- standard output, format from the extension, schema --validate on other formats ---------------------------
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_output_dash_writes_to_standard_output(db, tmp_path, fmt):
    """`--output -`: the data alone on stdout (the summary line goes to stderr), the same bytes as a file
    export (Parquet: the same table)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = scrapy_env(NEWSCRAWL_DATABASE_URL=db)
    piped = subprocess.run([sys.executable, "-m", "scrapy", "export", "--output", "-", "--format", fmt], cwd=ROOT,
                           env=env, capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr.decode()[-2000:]
    assert piped.stderr.decode().strip().splitlines()[-1] == "exported 5 articles to standard output"
    out = tmp_path / f"file.{fmt}"
    ok(export(db, "--output", str(out)))  # the format from the extension
    if fmt == "parquet":
        import io

        import pyarrow.parquet as pq

        assert pq.read_table(io.BytesIO(piped.stdout)).equals(pq.read_table(out))
    else:
        assert piped.stdout == out.read_bytes()
    if fmt == "csv":
        assert piped.stdout.startswith(b"\xef\xbb\xbfsite,news_code,")


@pytest.mark.parametrize(("name", "first"), [("a.jsonl", b'{"site"'), ("a.ndjson", b'{"site"'),
                                            ("a.csv", b"\xef\xbb\xbfsite,"), ("a.parquet", b"PAR1")])
def test_format_from_the_extension(db, tmp_path, name, first):
    ok(export(db, "--output", str(tmp_path / name)))
    assert (tmp_path / name).read_bytes().startswith(first)


def _validate(path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run([sys.executable, "-m", "newscrawl.schema", "--validate", str(path)], cwd=ROOT,
                          env=scrapy_env(), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("name", "says"), [
    ("x.parquet", "is a Parquet file, not JSON Lines (one JSON object per line)"),
    ("x.csv", "looks like CSV or other text, not JSON Lines (one JSON object per line; first line: 'site,news_code,"),
])
def test_validate_says_in_one_line_that_a_file_is_not_json_lines(db, tmp_path, name, says):
    ok(export(db, "--output", str(tmp_path / name)))
    result = _validate(tmp_path / name)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.strip().startswith(f"error: {tmp_path / name} {says}")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_validate_reads_an_export_as_json_lines(db, tmp_path):
    ok(export(db, "--output", str(tmp_path / "x.jsonl")))
    result = _validate(tmp_path / "x.jsonl")
    assert (result.returncode, result.stderr.strip()) == (0, "5 of 5 items valid")
    (tmp_path / "bad.jsonl").write_bytes((tmp_path / "x.jsonl").read_bytes() + b"\xff\xfe\n")
    result = _validate(tmp_path / "bad.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'bad.jsonl'}:6: not UTF-8 text; JSON Lines is UTF-8"
