"""newscrawl.jobstate.ResumeMarker: how a JOBDIR crawl knows the last run was killed, and what it cleans up.
(The whole story, a SIGKILLed crawl resumed, is tests/test_faults.py::test_resume_after_sigkill...)"""

import json

import scrapy
from scrapy.utils.test import get_crawler

from newscrawl.jobstate import MARKER, RUNNING, ResumeMarker


class Spider(scrapy.Spider):
    name = "s"


def opened(jobdir, state=None):
    crawler = get_crawler(Spider, {"JOBDIR": str(jobdir)})
    ext = ResumeMarker.from_crawler(crawler)
    spider = Spider()
    if state is not None:
        spider.state = state
    ext.spider_opened(spider)
    return ext, spider, crawler


def stale_queue(jobdir, active=None):
    queues = jobdir / "requests.queue"
    (queues / "127.0.0.1-abc").mkdir(parents=True)
    (queues / "127.0.0.1-abc" / "1").write_bytes(b"")  # a queue file the kill left empty
    if active is not None:
        (queues / "active.json").write_text(json.dumps(active))
    return queues


def test_a_first_run_is_not_a_resume_and_leaves_the_running_marker_until_it_closes(tmp_path):
    ext, spider, crawler = opened(tmp_path)
    assert spider.state == {}
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is None
    assert (tmp_path / MARKER).exists() and (tmp_path / RUNNING).exists()
    ext.spider_closed(spider, "finished")
    assert (tmp_path / MARKER).exists() and not (tmp_path / RUNNING).exists()


def test_a_clean_close_then_a_new_run_is_a_plain_resume(tmp_path):
    (tmp_path / MARKER).touch()
    queues = stale_queue(tmp_path, active=[])
    _, spider, crawler = opened(tmp_path, state={"started": True})
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is None
    assert (queues / "127.0.0.1-abc" / "1").exists()  # nothing removed


def test_killed_first_run_is_detected_and_its_queues_removed(tmp_path):
    (tmp_path / MARKER).touch()
    (tmp_path / RUNNING).touch()
    queues = stale_queue(tmp_path)
    _, spider, crawler = opened(tmp_path)  # no spider.state: it is saved only on a clean close
    assert spider.state == {"started": True}
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is True
    assert list(queues.iterdir()) == []


def test_killed_run_after_an_earlier_clean_close_is_detected_too(tmp_path):
    """The saved state says started (from the clean close), but the running marker was left by a kill."""
    (tmp_path / MARKER).touch()
    (tmp_path / RUNNING).touch()
    queues = stale_queue(tmp_path, active=[])
    _, spider, crawler = opened(tmp_path, state={"started": True})
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is True
    assert [p.name for p in queues.iterdir()] == ["active.json"]


def test_queues_an_earlier_clean_close_listed_are_kept(tmp_path):
    """Scrapy has already opened those when the spider opens: removing them would pull files from under it."""
    (tmp_path / RUNNING).touch()
    queues = stale_queue(tmp_path, active=[0])
    opened(tmp_path, state={"started": True})
    assert (queues / "127.0.0.1-abc" / "1").exists()
