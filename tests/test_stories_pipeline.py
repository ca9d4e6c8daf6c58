"""Stories brought to users: the item fields, the pipeline that assigns a story to each stored article,
healing after a crash between storage and assignment, `scrapy stories`, `scrapy summary` (text and HTML),
the exports, and two PostgreSQL workers assigning near-duplicates at once.

Crawls run in real processes over the demo snapshot (replay) and the local test site, where
testkit.republished serves another outlet's copies of five demo articles (new headline, a credit line
first, an hour later, the four-paragraph one cut short). Expected values are written by hand from those
pages: copy 700000 + n is the same story as demo article n and copies it.
"""

from __future__ import annotations

import asyncio
import csv
import html
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Spider
from scrapy.utils.test import get_crawler

from newscrawl.commands.summary import gather, render_html, render_text
from newscrawl.db.store import ArticleStore
from newscrawl.items import FIELDS
from newscrawl.pipelines.store import StoragePipeline
from newscrawl.pipelines.stories import StoriesPipeline
from newscrawl.stories import StoryIndex
from testkit.demo.build import ARTICLES, MANIFEST
from testkit.testsite import running
from tests.conftest import DEMO_CASSETTES, ROOT, run_scrapy, scrapy_env

FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30")
ZWNJ = "\u200c"
#: demo article -> its copy on /republished (testkit.republished), and the original's headline
COPIES = {"818230": "1518230", "818233": "1518233", "818240": "1518240", "818242": "1518242",
          "818244": "1518244"}
HEADLINE_818240 = "جزئیات مذاکرات مقامات ایرانی درباره غزه"


def env_for(folder: Path, feed: str, **extra) -> dict:
    return scrapy_env(NEWSCRAWL_DATA_DIR=str(folder / "data"), NEWSCRAWL_FEED=str(folder / feed),
                      NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3", **extra)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rows(folder: Path) -> dict[tuple[str, str], tuple]:
    """(site, news_code) -> (story_id, copy_of) of every stored article."""
    with sqlite3.connect(folder / "news.sqlite3") as db:
        return {(s, c): (story, copy) for s, c, story, copy in
                db.execute("SELECT site, news_code, story_id, copy_of FROM articles")}


def groups(assigned: dict) -> set[frozenset]:
    """The stories as sets of keys: what must not change when the ids do."""
    found: dict[str, set] = {}
    for key, (story, _) in assigned.items():
        found.setdefault(story, set()).add(key)
    return {frozenset(keys) for keys in found.values()}


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def report(folder: Path, spider: str) -> dict:
    return json.loads((folder / "data" / f"{spider}-stats.json").read_text(encoding="utf-8"))


# -- the item -------------------------------------------------------------------------------------------
def test_the_story_fields_follow_provenance_and_a_page_gives_them_null():
    from newscrawl import extract

    assert FIELDS[-3:] == ("provenance", "story_id", "copy_of")
    item = extract((ROOT / "tests" / "pages" / "tabnak" / "article.html").read_bytes(),
                   url="https://www.tabnak.ir/fa/news/1204518")
    assert item["story_id"] is None and item["copy_of"] is None  # a page alone cannot know its story


# -- the demo snapshot ----------------------------------------------------------------------------------
def test_every_demo_article_gets_a_story_in_the_feed_and_the_database(tmp_path):
    env = env_for(tmp_path, "tabnak.jsonl", NEWSCRAWL_REPLAY=str(DEMO_CASSETTES))
    ok(run_scrapy("crawl", "tabnak", *ARCHIVE, env=env))
    items = lines(tmp_path / "tabnak.jsonl")
    assert sorted(i["news_code"] for i in items) == sorted(str(i) for i in MANIFEST["archive_good_ids"])
    stored = rows(tmp_path)
    for item in items:
        assert item["story_id"] and item["copy_of"] is None
        assert stored[("tabnak", item["news_code"])] == (item["story_id"], None)  # the feed line agrees
    # the demo's articles are 22 different stories (read by hand: no two share their text)
    assert len({i["story_id"] for i in items}) == len(items) == 22
    assert report(tmp_path, "tabnak")["stories"] == {"assigned": 22, "copies": 0, "healed": 0, "failed": 0}


# -- the test site: an outlet republishing Tabnak -----------------------------------------------------------
@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Tabnak's demo articles and another outlet's copies of five of them, crawled from the test site
    into one database: (folder, copies' feed lines)."""
    folder = tmp_path_factory.mktemp("copies")
    with running(env=scrapy_env()) as (site, _):
        ok(run_scrapy("crawl", "tabnak", "-a", f"base_url={site}", *ARCHIVE, *FAST,
                      env=env_for(folder, "tabnak.jsonl")))
        ok(run_scrapy("crawl", "generic", "-a", f"feed={site}/republished/fa/rss/allnews", *FAST,
                      env=env_for(folder, "copies.jsonl")))
    return folder, lines(folder / "copies.jsonl")


def test_a_republished_copy_joins_the_story_of_the_original_and_points_at_it(copies):
    folder, items = copies
    stored = rows(folder)
    assert sorted(i["news_code"] for i in items) == sorted(COPIES.values())
    for original, copy in COPIES.items():
        story, copy_of = stored[("127.0.0.1", copy)]
        assert story == stored[("tabnak", original)][0]
        assert copy_of == f"tabnak:{original}"
        assert stored[("tabnak", original)][1] is None  # the original copies nobody
        line = next(i for i in items if i["news_code"] == copy)
        assert (line["story_id"], line["copy_of"]) == (story, copy_of)  # the feed carries them
    # 22 demo stories, five of which now have a copy: still 22 stories for 27 articles
    assert len(stored) == 27 and len({story for story, _ in stored.values()}) == 22
    assert report(folder, "generic")["stories"] == {"assigned": 5, "copies": 5, "healed": 0, "failed": 0}


def test_stories_command_then_rebuild_gives_the_same_stories(copies, tmp_path):
    folder, _ = copies
    db = tmp_path / "news.sqlite3"
    db.write_bytes((folder / "news.sqlite3").read_bytes())
    env = scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{db}")
    before = rows(tmp_path)
    out = ok(run_scrapy("stories", env=env)).stdout
    assert out.strip() == ("assigned stories to 0 articles that had none; 27 of 27 articles have a story: "
                           "22 stories, 5 copies")
    out = ok(run_scrapy("stories", "--rebuild", env=env)).stdout
    assert out.strip() == "rebuilt the stories of 27 articles; 27 of 27 articles have a story: 22 stories, 5 copies"
    after = rows(tmp_path)
    assert groups(after) == groups(before)
    assert {key: copy for key, (_, copy) in after.items()} == {key: copy for key, (_, copy) in before.items()}
    out = ok(run_scrapy("stories", "--site", "127.0.0.1", env=env)).stdout
    assert out.strip().endswith("5 of 5 articles selected have a story: 5 stories, 5 copies")


@pytest.mark.parametrize(("args", "message"), [
    (("--rebuild", "--site", "tabnak"), "--rebuild recomputes every story"),
    (("--site", "nosuch"), "site: 'nosuch' is not a site"),
])
def test_stories_command_usage_errors_exit_2_with_one_line(copies, args, message):
    folder, _ = copies
    result = run_scrapy("stories", *args, env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1


def test_stories_command_without_a_database_exits_1(tmp_path):
    result = run_scrapy("stories", env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/none.sqlite3"))
    assert result.returncode == 1 and result.stderr.startswith("error: no database at")


def test_summary_lists_the_biggest_stories_in_text_and_html(copies, tmp_path):
    folder, _ = copies
    result = ok(run_scrapy("summary", "--stories", "3", "--html", str(tmp_path / "s.html"),
                           env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3")))
    text = result.stdout.splitlines()
    start = next(n for n, line in enumerate(text) if line.startswith("biggest stories"))
    listed = text[start + 1:start + 4]
    assert text[start + 4] == ""
    # three of the five stories with two sites, each headed by the original's headline, not the copy's
    assert all(line.split()[:2] == ["2", "2"] for line in listed)
    assert not any("گزارش:" in line for line in listed)
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    table = page[page.index('<table id="stories">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 4  # the header and three stories
    out = ok(run_scrapy("summary", env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3"))).stdout
    [line] = [ln for ln in out.splitlines() if ln.endswith(HEADLINE_818240) and ln.split()[:2] == ["2", "2"]]
    # the original at 21:10 on 29 Tir 1397, the copy an hour later
    assert "2018-07-20 21:10:00 … 2018-07-20 22:10:00" in line


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_exports_carry_story_id_and_copy_of(copies, tmp_path, fmt):
    folder, _ = copies
    out = tmp_path / f"all.{fmt}"
    ok(run_scrapy("export", "--output", str(out), "--progress", "0",
                  env=scrapy_env(NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3")))
    if fmt == "jsonl":
        got = lines(out)
    elif fmt == "csv":
        with open(out, encoding="utf-8-sig", newline="") as fh:
            got = [{k: v or None for k, v in row.items()} for row in csv.DictReader(fh)]
    else:
        import pyarrow.parquet as pq

        got = pq.read_table(out).to_pylist()
    assert all(list(row)[-2:] == ["story_id", "copy_of"] for row in got)
    by_key = {(r["site"], r["news_code"]): (r["story_id"], r["copy_of"]) for r in got}
    assert by_key == rows(folder)
    assert by_key[("127.0.0.1", "1518240")][1] == "tabnak:818240"


# -- healing ---------------------------------------------------------------------------------------------
def test_articles_stored_without_a_story_are_assigned_by_the_command_or_the_next_crawl(tmp_path):
    """A crawl with NEWSCRAWL_STORIES off leaves what a kill between the commit and the assignment leaves:
    committed rows without a story, not in the story index. `scrapy stories` assigns those it is asked
    for; the next crawl assigns the rest when it opens, though it stores nothing itself."""
    env = env_for(tmp_path, "tabnak.jsonl", NEWSCRAWL_REPLAY=str(DEMO_CASSETTES))
    ok(run_scrapy("crawl", "tabnak", *ARCHIVE, "-s", "NEWSCRAWL_STORIES=0", env=env))
    assert set(rows(tmp_path).values()) == {(None, None)}
    assert all(i["story_id"] is None for i in lines(tmp_path / "tabnak.jsonl"))
    out = ok(run_scrapy("stories", "--since", "1397/04/30", env=env)).stdout
    assert out.startswith("assigned stories to 10 articles that had none")  # those of 30 Tir (by hand)
    ok(run_scrapy("crawl", "tabnak", *ARCHIVE, env=env))  # stores nothing new: all 22 known
    stored = rows(tmp_path)
    assert len(stored) == 22 and all(story for story, _ in stored.values())
    # the other 12: 11 of 29 Tir and the one without a date
    assert report(tmp_path, "tabnak")["stories"] == {"assigned": 12, "copies": 0, "healed": 12, "failed": 0}
    out = ok(run_scrapy("stories", env=env)).stdout
    assert out.strip() == "assigned stories to 0 articles that had none; 22 of 22 articles have a story: " \
                          "22 stories, 0 copies"


@pytest.mark.faults
def test_a_crawl_killed_between_storage_and_assignment_is_healed_by_the_next(tmp_path):
    """Real kills: an archive crawl of 300 generated articles is SIGKILLed as soon as new rows are
    committed, until a kill has left committed rows without a story (the moment between the commit and
    the assignment); the same crawl, run again to its end, leaves no stored article without a story and
    every article in the database and the JSON Lines files once (bench/crash.py's audit)."""
    import time

    from bench import crash
    from tests.conftest import stored_count

    database = tmp_path / "news.sqlite3"
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_DATABASE_URL=f"sqlite:///{database}")
    with running(300, env=scrapy_env()) as (site, _):
        cmd = crash._command(site, None)
        unassigned = 0
        for _ in range(8):
            before = stored_count(database)
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while proc.poll() is None and stored_count(database) == before:
                time.sleep(0.005)
            proc.kill()
            proc.wait(timeout=60)
            unassigned = sum(1 for story, _ in rows(tmp_path).values() if story is None)
            if unassigned:
                break
        assert unassigned, "no kill landed between a commit and its assignment"
        result = ok(subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600))
    outcome = crash.audit(tmp_path / "data", database, {str(crash.GEN_ID_BASE + k) for k in range(1, 301)})
    assert outcome == {"stored": 300, "missing": 0, "unexpected": 0, "duplicated": 0, "one_store_only": 0}
    assert [key for key, (story, _) in rows(tmp_path).items() if not story] == []
    assert f"assigned stories to {unassigned} articles stored earlier without one" in result.stderr


def article(site: str, code: str, body: str, published_at: str | None = "2024-05-01T10:00:00+03:30",
            **fields) -> dict:
    return {"site": site, "news_code": code, "url": f"https://www.{site}.ir/news/{code}", "title": f"عنوان {code}",
            "kicker": None, "lead": None, "body": body, "published_at": published_at, "published_at_raw": None,
            "category": [], "tags": [], "images": [], "source": None, "language": "fa",
            "crawled_at": "2026-11-25T00:00:00+00:00", "provenance": {}, "story_id": None, "copy_of": None,
            **fields}


#: a story's text: six sentences of our own, ZWNJs included
TEXT = ("وزارت نیرو اعلام کرد ذخایر سدهای کشور در تیرماه امسال به کمترین میزان ده سال اخیر رسیده است. "
        f"سخنگوی صنعت آب گفت مصرف آب در تهران نسبت به سال گذشته دوازده درصد افزایش یافته و این روند ادامه دارد. "
        f"به گفته او اگر مصرف کاهش نیابد از هفته آینده فشار آب در ساعات اوج شب کم خواهد شد.\n\n"
        f"کارشناسان می{ZWNJ}گویند بارش{ZWNJ}های زمستان گذشته سی درصد کمتر از میانگین بلندمدت بوده است. "
        f"شرکت آب و فاضلاب از شهروندان خواست از شستن خودرو با شلنگ و آبیاری باغچه در روز خودداری کنند. "
        f"همچنین قرار است تعرفه{ZWNJ}های پلکانی برای مشترکان پرمصرف از ماه آینده اجرا شود.")


def crawler_for(tmp_path, **settings):
    crawler = get_crawler(Spider, {"NEWSCRAWL_DATABASE_URL": f"sqlite:///{tmp_path}/news.sqlite3",
                                   "NEWSCRAWL_DB_BATCH_SIZE": 10, "NEWSCRAWL_DB_FLUSH_SECONDS": 0.01,
                                   "NEWSCRAWL_DB_RETRY_SECONDS": 0.2, "NEWSCRAWL_DATA_DIR": str(tmp_path / "data"),
                                   "NEWSCRAWL_STORIES": True, **settings})
    crawler.spider = Spider("tabnak")
    return crawler


async def store_and_assign(crawler, items) -> list[dict]:
    """What Scrapy does with these items: StoragePipeline then StoriesPipeline, all at once, then close."""
    storage, stories = StoragePipeline.from_crawler(crawler), StoriesPipeline.from_crawler(crawler)
    storage.open_spider()
    await stories.open_spider()

    async def one(item):
        return await stories.process_item(await storage.process_item(item))

    out = await asyncio.gather(*(one(i) for i in items))
    await asyncio.gather(stories.close_spider(), storage.close_spider())
    return out


def test_a_failed_assignment_lets_the_article_go_on_and_the_next_run_heals_it(tmp_path, monkeypatch, caplog):
    def broken(self, articles):
        raise RuntimeError("the index is broken")

    copy = TEXT.replace("وزارت نیرو", "به گزارش مهر، وزارت نیرو")
    items = [article("mehr", "1", TEXT), article("isna", "2", copy, "2024-05-01T11:00:00+03:30")]
    with monkeypatch.context() as patch:
        patch.setattr(StoryIndex, "assign", broken)
        first = crawler_for(tmp_path)
        out = asyncio.run(store_and_assign(first, [dict(i) for i in items]))
    assert [(i["news_code"], i["story_id"]) for i in out] == [("1", None), ("2", None)]  # stored: they go on
    assert first.stats.get_value("newscrawl/stories/failed") == 2
    assert "2 stored articles have no story yet (RuntimeError: the index is broken)" in caplog.text
    assert set(rows(tmp_path).values()) == {(None, None)}

    second = crawler_for(tmp_path)
    asyncio.run(store_and_assign(second, []))  # opens, heals, stores nothing
    stored = rows(tmp_path)
    assert stored[("isna", "2")] == (stored[("mehr", "1")][0], "mehr:1") and stored[("mehr", "1")][1] is None
    assert second.stats.get_value("newscrawl/stories/healed") == 2


def test_the_pipeline_is_left_out_when_stories_are_off(tmp_path):
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        StoriesPipeline.from_crawler(crawler_for(tmp_path, NEWSCRAWL_STORIES=False))


def test_an_old_database_gains_the_story_columns_and_its_articles_their_stories(tmp_path):
    """A database written before stories existed: the columns are added (nothing lost), `scrapy stories`
    assigns its articles."""
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    store = ArticleStore(url).open()
    store.add(article("mehr", "1", TEXT))
    store.add(article("isna", "2", TEXT.replace("وزارت نیرو", "به گزارش مهر، وزارت نیرو"),
                      "2024-05-01T11:00:00+03:30"))
    store.close()
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:  # back to the table before stories
        db.execute("DROP INDEX ix_articles_no_story")
        db.execute("ALTER TABLE articles DROP COLUMN story_id")
        db.execute("ALTER TABLE articles DROP COLUMN copy_of")
    out = ok(run_scrapy("stories", env=scrapy_env(NEWSCRAWL_DATABASE_URL=url))).stdout
    assert out.startswith("assigned stories to 2 articles that had none; 2 of 2 articles have a story: 1 story,")
    stored = rows(tmp_path)
    assert stored[("isna", "2")] == (stored[("mehr", "1")][0], "mehr:1")
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM articles WHERE title = 'عنوان 1'").fetchone() == (1,)


# -- the HTML summary is hostile-proof --------------------------------------------------------------------
def test_a_hostile_headline_is_escaped_in_the_summary(tmp_path):
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    store = ArticleStore(url).open()
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> "&" خبر'
    items = [article("mehr", "1", TEXT, title=hostile),
             article("isna", "2", TEXT.replace("وزارت نیرو", "به گزارش مهر، وزارت نیرو"),
                     "2024-05-01T11:00:00+03:30", title="عنوان دیگر")]
    for item in items:
        store.add(item)
    store.flush()
    StoryIndex(store.engine).assign(items)
    s = gather(store.engine, stories=5)
    store.close()
    assert [(n["title"], n["sites"], n["articles"]) for n in s["stories"]] == [(hostile, 2, 2)]
    text = render_text(s)
    assert text[text.index("biggest stories"):].splitlines()[1] == \
        f"    2     2  2024-05-01 10:00:00 … 2024-05-01 11:00:00  {hostile}"  # a terminal shows no markup
    page = render_html(s)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert ("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &quot;&amp;&quot; خبر"
            in page[page.index('<table id="stories">'):])


@given(title=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80),
       story=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=64))
@settings(max_examples=60, deadline=None)
def test_any_story_text_comes_back_from_the_html_as_text(title, story):
    """Whatever a headline or story id holds, the stories table shows it as text: the parsed table has
    exactly one row of six plain cells holding the values, and no other element."""
    from lxml import html as lxml_html

    s = {"total": 0, "sites": [], "per_site": {}, "undated": {}, "per_day": {}, "older": 0, "coverage": {},
         "first_published": None, "last_published": None, "last_crawled": None, "newest": [],
         "stories": [{"story_id": story, "title": title, "sites": 2, "articles": 3,
                      "first": "2024-05-01T10:00:00+03:30", "last": "2024-05-01T11:00:00+03:30"}]}
    page = render_html(s)
    table = lxml_html.fromstring(page).get_element_by_id("stories")
    rows_ = table.findall(".//tr")
    assert len(rows_) == 2
    cells = rows_[1].findall("td")
    assert [c.text_content() for c in cells] == [title, "2", "3", "2024-05-01 10:00:00", "2024-05-01 11:00:00",
                                                 story]
    assert all(len(c) == 0 for c in cells)  # no element inside a cell


# -- PostgreSQL: two workers at once ------------------------------------------------------------------------
def demo_texts(n: int) -> list[str]:
    """The plain text of the first `n` demo articles of 40 words or more (all different stories)."""
    texts = []
    for a in ARTICLES:
        paragraphs = [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in a.paragraphs
                      if not p.startswith(("img:", "h:"))]
        if a.body and len(" ".join(paragraphs).split()) >= 40:
            texts.append("\n\n".join(paragraphs))
    assert len(texts) >= n
    return texts[:n]


WORKER = textwrap.dedent("""
    import json, sys, time
    from newscrawl.db.store import ArticleStore
    from newscrawl.stories import StoryIndex

    url, start, items = sys.argv[1], float(sys.argv[2]), json.loads(sys.stdin.read())
    store = ArticleStore(url).open()
    index = StoryIndex(store.engine)
    time.sleep(max(0.0, start - time.time()))
    for item in items:  # one article per call, as a crawl's small batches: the most chances to race
        store.write([store.row(item)])
        index.assign([item])
    store.close()
""")


@pytest.mark.postgres
def test_two_postgresql_workers_assigning_near_duplicates_at_once_never_split_a_story(postgres_url, tmp_path):
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"stories_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        ArticleStore(url).open().close()  # the tables, before the race
        StoryIndex(create_engine(url))
        # 12 stories (demo texts); worker A stores each story's original, worker B a copy crediting it
        stories = demo_texts(12)
        a = [article("mehr", str(k), body) for k, body in enumerate(stories)]
        b = [article("isna", str(k), "به گزارش مهر، " + body, "2024-05-01T10:30:00+03:30")
             for k, body in enumerate(stories)]
        start = str(time.time() + 3)
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, start], cwd=ROOT, stdin=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=scrapy_env()) for _ in (a, b)]
        for proc, items in zip(procs, (a, b), strict=True):
            proc.stdin.write(json.dumps(items, ensure_ascii=False))
            proc.stdin.close()
        for proc in procs:
            assert proc.wait(timeout=120) == 0, proc.stderr.read()[-3000:]
        engine = create_engine(url)
        with engine.connect() as conn:
            got = {(s, c): (story, copy) for s, c, story, copy in
                   conn.execute(text("SELECT site, news_code, story_id, copy_of FROM articles"))}
        engine.dispose()
        assert len(got) == 24
        for k in range(12):
            assert got[("isna", str(k))][0] == got[("mehr", str(k))][0], k  # one story, not two
            assert got[("isna", str(k))][1] == f"mehr:{k}"
        assert len({story for story, _ in got.values()}) == 12
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
