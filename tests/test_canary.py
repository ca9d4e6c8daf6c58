"""`scrapy canary` offline, against the local test site: its snapshot (healthy), /drift (the body moved to
another class), /challenge (an ArvanCloud challenge for every article) and a closed port."""

from __future__ import annotations

import json

import pytest

from newscrawl.commands.canary import (
    BLOCKED,
    DRIFTED,
    HEALTHY,
    UNREACHABLE,
    Report,
    compare,
    dates_agree,
    exit_code,
    texts_agree,
)
from testkit.devservers import free_port
from tests.conftest import run_scrapy, scrapy_env

#: the newest article of the demo feed (818259), as its page shows it
TITLE = "افتتاح دو ایستگاه جدید متروی تهران"
BODY_START = "با بهره\u200cبرداری از این ایستگاه\u200cها،"


@pytest.fixture(scope="module")
def site():
    from testkit.testsite import running

    with running(0, env=scrapy_env()) as (base, _):
        yield base


def canary(*args: str, data_dir):
    return run_scrapy("canary", *args, "-L", "CRITICAL", "-s", "RETRY_TIMES=0",
                      env=scrapy_env(NEWSCRAWL_DATA_DIR=str(data_dir)))


# -- the comparison -------------------------------------------------------------------------------------
def test_texts_agree_when_one_holds_the_other_or_most_words_match():
    assert texts_agree("یک دو سه", "صفر یک  دو\nسه چهار", 0.9)  # within, whitespace aside
    assert texts_agree("a b c d e f g h i j", "a b c d e f g h i k", 0.9)  # 9 of 10 words
    assert not texts_agree("a b c d e f g h i j", "a b c d e f g h x y", 0.9)  # 8 of 10


def test_dates_agree_within_a_minute_or_on_a_date_only_day():
    assert dates_agree("2018-07-22T08:45:00+04:30", "2018-07-22T08:45:12+04:30")
    assert dates_agree("2018-07-22T08:45:00+04:30", "2018-07-22T00:00:00+04:30")
    assert not dates_agree("2018-07-22T08:45:00+04:30", "2018-07-22T09:45:00+04:30")
    assert not dates_agree("2018-07-22T08:45:00+04:30", "2018-07-21T00:00:00+04:30")


def test_compare_names_missing_and_disagreeing_fields():
    site = {"title": "الف", "lead": None, "body": "متن خبر", "category": ["اجتماعی", "شهری"], "tags": ["x"],
            "news_code": "12", "published_at": "2018-07-22T08:45:00+04:30"}
    generic = {"title": "ب", "lead": "لید", "body": "متن خبر", "category": ["شهری"], "tags": ["y"],
               "news_code": "12", "published_at": None, "kicker": None}
    assert compare(site, generic, 0.9) == {
        "title": "differs", "kicker": "-", "lead": "missing", "body": "same", "published_at": "-",
        "category": "same", "tags": "differs", "news_code": "same"}


def test_exit_code_asks_for_action_first():
    assert exit_code([Report("a", HEALTHY), Report("b", HEALTHY)]) == 0
    assert exit_code([Report("a", HEALTHY), Report("b", UNREACHABLE)]) == 3
    assert exit_code([Report("a", UNREACHABLE), Report("b", DRIFTED)]) == 1
    assert exit_code([Report("a", BLOCKED)]) == 1


# -- against the test site ------------------------------------------------------------------------------
def test_a_site_as_its_spider_reads_it_is_healthy(site, tmp_path):
    result = canary("tabnak", "--base-url", site, "--save", str(tmp_path / "saved"), data_dir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("tabnak: healthy\n")
    assert f"  url: {site}/fa/news/818259/" in result.stdout
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[3:11]}
    assert rows == {"title": "same", "kicker": "-", "lead": "same", "body": "same", "published_at": "same",
                    "category": "same", "tags": "-", "news_code": "same"}
    assert result.stdout.rstrip().endswith("1 healthy")
    assert not (tmp_path / "saved").exists()


def test_a_drifted_template_is_reported_and_saved_as_a_fixture_candidate(site, tmp_path):
    from testkit.fixtures import load

    result = canary("tabnak", "--base-url", f"{site}/drift", data_dir=tmp_path)  # the default folder
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("tabnak: drifted (fields: body)\n")
    assert "  body         fallback " in result.stdout
    saved = list((tmp_path / "canary" / "tabnak").glob("*.html"))
    assert len(saved) == 1
    assert b'<div class="news-text">' in saved[0].read_bytes()
    fixture = load(saved[0])  # testkit.fixtures' format
    assert fixture.url.startswith(f"{site}/drift/fa/news/818259/")
    assert fixture.item["title"] == TITLE
    assert fixture.item["body"].startswith(BODY_START)  # from the generic page (the fallback)
    assert fixture.item["provenance"]["body"] == "generic"
    data = json.loads(saved[0].with_suffix(".json").read_text(encoding="utf-8"))
    assert data["generic_item"]["body"].startswith(BODY_START)  # ZWNJ kept
    assert data["canary"]["state"] == "drifted"
    assert data["canary"]["fields"]["body"] == "fallback"
    assert data["canary"]["fields"]["title"] == "same"


def test_a_challenge_page_is_blocked(site, tmp_path):
    result = canary("tabnak", "--base-url", f"{site}/challenge", data_dir=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("tabnak: blocked (a challenge page (NEWSCRAWL_RENDER_MARKERS))\n")
    assert f"  url: {site}/challenge/fa/news/818259/" in result.stdout
    assert not (tmp_path / "canary").exists()


def test_a_closed_port_is_unreachable(tmp_path):
    base = f"http://127.0.0.1:{free_port()}"
    result = canary("tabnak", "--base-url", base, data_dir=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"tabnak: unreachable (DownloadConnectionRefusedError at {base}/fa/rss/allnews")
    assert result.stdout.rstrip().endswith("1 unreachable")


def test_an_unknown_site_is_a_usage_error(tmp_path):
    result = canary("nosuch", data_dir=tmp_path)
    assert result.returncode == 2
    assert "unknown site 'nosuch'" in result.stderr
