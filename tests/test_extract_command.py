"""`scrapy extract` as a user runs it (a real process): pages from files or standard input, the URL from
the page unless given, one JSON line per page, one error line per failed page, quiet in a pipe."""

import json
import signal
import subprocess
import sys

import pytest

from tests.conftest import REALPAGES, ROOT, run_scrapy, scrapy_env

TABNAK_URL = "https://www.tabnak.ir/fa/news/818242/slug"
PAGES = ROOT / "tests" / "pages"
TABNAK = PAGES / "tabnak" / "article.html"  # its og:url: http://www.tabnak.ir/fa/news/1204518
ISNA = PAGES / "isna" / "article.html"  # its rel=canonical: https://www.isna.ir/news/1403070208791/<slug>
NOT_AN_ARTICLE = "<html><body><p>no article here</p></body></html>"


def test_extract_real_page_prints_one_json_object(realpage):
    realpage("tabnak/article-1.html")  # skips with the reason when the real pages are absent
    result = run_scrapy("extract", str(REALPAGES / "tabnak/article-1.html"), "--url", TABNAK_URL)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "\\u" not in lines[0]  # UTF-8, not escapes
    item = json.loads(lines[0])
    assert item["site"] == "tabnak" and item["news_code"] == "818242"
    assert item["published_at"] == "2018-07-21T00:20:00+04:30"
    assert "\u200c" in item["body"]


def test_extract_listing_page_is_not_an_article(realpage):
    realpage("tabnak/listing-1.html")
    result = run_scrapy("extract", str(REALPAGES / "tabnak/listing-1.html"), "--url", "http://www.tabnak.ir/")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_the_url_is_taken_from_the_page():
    result = run_scrapy("extract", str(TABNAK))
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)
    assert item["url"] == "https://www.tabnak.ir/fa/news/1204518" and item["site"] == "tabnak"


def test_dash_reads_standard_input():
    result = subprocess.run([sys.executable, "-m", "scrapy", "extract", "-"], input=ISNA.read_bytes(), cwd=ROOT,
                            env=scrapy_env(), capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    item = json.loads(result.stdout.decode("utf-8"))
    assert item["site"] == "isna" and item["news_code"] == "1403070208791"
    assert item["title"] == "نخستین باران پاییزی در تهران"


def test_several_pages_give_a_line_each_and_an_error_line_for_the_one_that_fails(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(NOT_AN_ARTICLE.replace("<body>", '<head><link rel="canonical" href="https://www.tabnak.ir/fa/'
                                          'news/1"></head><body>'), encoding="utf-8")
    result = run_scrapy("extract", str(TABNAK), str(bad), str(ISNA))
    assert result.returncode == 1  # one page failed; the others were still printed
    codes = [json.loads(line)["news_code"] for line in result.stdout.splitlines()]
    assert codes == ["1204518", "1403070208791"]  # in the order given
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: "), result.stderr


def test_output_into_a_closed_pipe_ends_quietly():
    """`scrapy extract *.html | head -1`: no BrokenPipeError traceback, and the exit code of a Unix tool
    killed by SIGPIPE (128 + 13), as `cat` gives. 300 pages are ~600 KB of JSON: more than a pipe holds,
    so the command is still writing when the reader goes."""
    proc = subprocess.Popen([sys.executable, "-m", "scrapy", "extract", *[str(TABNAK)] * 300], cwd=ROOT,
                            env=scrapy_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 128 + signal.SIGPIPE
    assert json.loads(first)["news_code"] == "1204518"
    assert err == ""


@pytest.mark.parametrize("args, message", [
    (["missing.html", "--url", TABNAK_URL], "error: cannot read missing.html: No such file or directory"),
    (["{page}", "--url", TABNAK_URL, "--spider", "nosuch"], "error: unknown spider 'nosuch'"),
    (["{page}", "--url", "https://www.isna.ir/news/1", "--spider", "tabnak"], "is not on tabnak"),
    (["{page}"], "the page names no URL of its own (rel=canonical, og:url)"),
])
def test_extract_errors_are_one_line(tmp_path, args, message):
    page = tmp_path / "page.html"
    page.write_text(NOT_AN_ARTICLE, encoding="utf-8")
    result = run_scrapy("extract", *[a.format(page=page) for a in args])
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("args, message", [
    ([], "give at least one PAGE"),
    (["a.html", "b.html", "--url", TABNAK_URL], "--url is for one PAGE"),
    (["-", "-"], "standard input (-) can be read once"),
])
def test_usage_errors_exit_2(args, message):
    result = run_scrapy("extract", *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
