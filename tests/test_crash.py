"""The crash harness (bench/crash.py) at a small size: a crawl stopped at random moments by SIGKILL,
SIGTERM or SIGTERM-then-SIGKILL, with and without JOBDIR, and rerun to its end, loses nothing and stores
nothing twice, in the database or across the spider's JSON Lines files. `make bench` runs it at 20,000
articles and 8 stops per scenario."""

import random

import pytest

from bench import crash
from testkit.testsite import running
from tests.conftest import scrapy_env

pytestmark = pytest.mark.faults

ARTICLES = 600
WARC_ARTICLES = 400  # 400 + 7 records: articles 50, 100, ..., 350 come again, captured earlier


@pytest.fixture(scope="module")
def site():
    with running(ARTICLES, env=scrapy_env()) as (base, _):
        yield base


@pytest.mark.parametrize("jobdir", [False, True], ids=["plain", "jobdir"])
def test_random_stops_lose_and_duplicate_nothing(site, tmp_path, jobdir):
    outcome = crash.scenario(site, ARTICLES, kills=3, jobdir=jobdir, rng=random.Random(13 + jobdir),
                             work=tmp_path, max_wait=3.0)
    assert outcome["stored"] == ARTICLES, outcome
    assert (outcome["missing"], outcome["unexpected"], outcome["duplicated"], outcome["one_store_only"]) == \
        (0, 0, 0, 0), outcome


def test_audit_counts_what_the_stores_disagree_on(tmp_path):
    """The audit itself, on stores written by hand: one missing, one in the feed twice, one only in the
    database, one only in a feed."""
    import json
    import sqlite3

    db = tmp_path / "news.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE articles (site TEXT, news_code TEXT)")
        conn.executemany("INSERT INTO articles VALUES ('tabnak', ?)", [("1",), ("2",), ("3",)])
    data = tmp_path / "data" / "tabnak"
    data.mkdir(parents=True)
    (data / "a.jsonl").write_text("".join(json.dumps({"news_code": c}) + "\n" for c in ("1", "2")))
    (data / "b.jsonl").write_text("".join(json.dumps({"news_code": c}) + "\n" for c in ("2", "9")))
    got = crash.audit(tmp_path / "data", db, {"1", "2", "3", "4"})
    assert got == {"stored": 3, "missing": 1, "unexpected": 0, "duplicated": 1, "one_store_only": 2}


def test_a_killed_warc_backfill_loses_duplicates_and_misplaces_nothing(tmp_path):
    """A WARC backfill (JOBDIR, SQLite and JSON Lines) SIGKILLed twice at random and rerun to its end: every
    article stored once, as its earliest capture (some come twice in the file), and in the feeds."""
    outcome = crash.warc_scenario(WARC_ARTICLES, kills=2, rng=random.Random(17), work=tmp_path, max_wait=1.5)
    assert outcome["stored"] == WARC_ARTICLES and outcome["records"] == WARC_ARTICLES + 7, outcome
    assert 0 < outcome["stored_at_kills"][0] < WARC_ARTICLES, outcome  # the first kill hit a backfill storing
    assert (outcome["missing"], outcome["unexpected"], outcome["duplicated"], outcome["one_store_only"],
            outcome["wrong_copy"], outcome["stale"]) == (0, 0, 0, 0, 0, 0), outcome
