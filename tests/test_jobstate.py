"""newscrawl.extensions.jobstate: how a JOBDIR crawl knows the last run was killed, which saved request queues it
trusts, and the lock that keeps a second crawl out. (The whole stories, through the real engine, are in
tests/test_resume.py and tests/test_faults.py::test_resume_after_sigkill...)"""

import fcntl
import json
import os
import pickle

import pytest
import scrapy
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.exceptions import CloseSpider
from scrapy.pqueues import _path_safe
from scrapy.settings import Settings
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from newscrawl.extensions import jobstate
from newscrawl.extensions.jobstate import (
    LOCK,
    MARKER,
    RUNNING,
    JobdirGuard,
    ResumeMarker,
    Verdict,
    jobdir_busy,
    prepare,
    queue_problem,
)

SLOT = "127.0.0.1"


class Spider(scrapy.Spider):
    name = "s"

    def parse_archive(self, response):
        pass


def opened(jobdir, state=None):
    crawler = get_crawler(Spider, {"JOBDIR": str(jobdir)})
    ext = ResumeMarker.from_crawler(crawler)
    spider = Spider()
    if state is not None:
        spider.state = state
    ext.spider_opened(spider)
    return ext, spider, crawler


FIFO = Settings({"SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue"})  # breadth-first crawls


def saved_queue(jobdir, urls=("http://127.0.0.1/fa/news/1", "http://127.0.0.1/fa/news/2"), prio=0,
                settings=None):
    """A request queue as Scrapy's clean close leaves it (default queue classes: a file; FIFO: a folder of
    chunks), and active.json."""
    queues = jobdir / "requests.queue"
    reader = next(c for c in load_object((settings or Settings()).get("SCHEDULER_DISK_QUEUE")).__mro__
                  if c.__name__ == "SerializableQueue")
    path = queues / _path_safe(SLOT) / str(prio)
    queue = reader(str(path))
    spider = Spider()
    for url in urls:
        queue.push(scrapy.Request(url, callback=spider.parse_archive).to_dict(spider=spider))
    queue.close()
    (queues / "active.json").write_text(json.dumps({SLOT: [prio]}))
    return path


def problem(jobdir):
    return queue_problem(jobdir / "requests.queue", Settings(), Spider())


# -- kills and markers --------------------------------------------------------------------------------------
def test_a_first_run_is_not_a_resume_and_leaves_the_running_marker_until_it_closes(tmp_path):
    ext, spider, crawler = opened(tmp_path)
    assert spider.state == {}
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is None
    assert (tmp_path / MARKER).exists() and (tmp_path / RUNNING).exists()
    ext.spider_closed(spider, "finished")
    assert (tmp_path / MARKER).exists() and not (tmp_path / RUNNING).exists()


def test_a_clean_close_then_a_new_run_is_a_plain_resume_and_keeps_a_sound_queue(tmp_path):
    (tmp_path / MARKER).touch()
    path = saved_queue(tmp_path)
    before = path.read_bytes()
    _, spider, crawler = opened(tmp_path, state={"started": True})
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is None
    assert crawler.stats.get_value("newscrawl/jobdir/queue_rebuilt") is None
    assert path.read_bytes() == before  # read on a copy only


def test_killed_first_run_is_detected_and_its_queues_removed(tmp_path):
    (tmp_path / MARKER).touch()
    (tmp_path / RUNNING).touch()
    (tmp_path / "requests.queue" / "x").mkdir(parents=True)
    (tmp_path / "requests.queue" / "x" / "1").write_bytes(b"")  # a queue file the kill left empty
    _, spider, crawler = opened(tmp_path)  # no spider.state: it is saved only on a clean close
    assert spider.state == {"started": True}
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is True
    assert crawler.stats.get_value("newscrawl/jobdir/queue_rebuilt") == "the last crawl was killed"
    assert not (tmp_path / "requests.queue").exists()


def test_a_kill_after_an_earlier_clean_close_distrusts_the_listed_queues_too(tmp_path):
    """The killed run reopened the queues a clean close had listed and changed them after active.json
    was written: nothing of Scrapy's queue is kept (it used to keep them, and every later run died)."""
    (tmp_path / MARKER).touch()
    (tmp_path / RUNNING).touch()
    path = saved_queue(tmp_path)
    path.write_bytes(b"")  # what the SIGTERM → resume → SIGKILL sequence left
    _, spider, crawler = opened(tmp_path, state={"started": True})
    assert crawler.stats.get_value("newscrawl/resumed_after_crash") is True
    assert not (tmp_path / "requests.queue").exists()


def test_an_unreadable_spider_state_is_removed_and_the_marker_still_says_resumed(tmp_path):
    (tmp_path / MARKER).touch()
    (tmp_path / "spider.state").write_bytes(pickle.dumps({"started": True})[:5])  # cut by a kill
    verdict = prepare(str(tmp_path), Settings())
    assert verdict == Verdict(killed=False, rebuilt=None)
    assert not (tmp_path / "spider.state").exists()
    _, spider, crawler = opened(tmp_path, state={})  # SpiderState found no state
    assert spider.state == {"started": True}


# -- a saved queue after a clean stop ------------------------------------------------------------------------
def test_a_sound_saved_queue_has_no_problem(tmp_path):
    saved_queue(tmp_path)
    assert problem(tmp_path) is None
    assert queue_problem(tmp_path / "nothing-here", Settings()) is None


@pytest.mark.parametrize("damage, expected", [
    (lambda p: p.write_bytes(b""), "127.0.0.1-"),  # the reported struct.error: a 0-byte listed file
    (lambda p: p.write_bytes(p.read_bytes()[:-7]), "127.0.0.1-"),
    (lambda p: p.write_bytes(p.read_bytes() + b"\x00\x00\x00\x09"), "127.0.0.1-"),
    (lambda p: (p.parent / "3").write_bytes(b""), "3 is not listed in active.json"),
    (lambda p: (p.parent.parent / "active.json").write_text("{"), "active.json is unreadable"),
    (lambda p: (p.parent.parent / "active.json").unlink(), "queue files but no active.json"),
    (lambda p: (p.parent.parent / "active.json").write_text('"x"'), "active.json is not a queue state"),
])
def test_a_damaged_saved_queue_is_found(tmp_path, damage, expected):
    damage(saved_queue(tmp_path))
    found = problem(tmp_path)
    assert found is not None and expected in found


def test_a_breadth_first_queue_is_checked_too(tmp_path):
    path = saved_queue(tmp_path, settings=FIFO)
    assert path.is_dir() and queue_problem(tmp_path / "requests.queue", FIFO, Spider()) is None
    chunk = next(p for p in path.iterdir() if p.name != "info.json")
    chunk.write_bytes(chunk.read_bytes()[:-3])
    found = queue_problem(tmp_path / "requests.queue", FIFO, Spider())
    assert found is not None and found.startswith("127.0.0.1-")


def test_a_request_whose_callback_is_gone_is_a_problem(tmp_path):
    saved_queue(tmp_path)

    class Renamed(scrapy.Spider):
        name = "s"

    found = queue_problem(tmp_path / "requests.queue", Settings(), Renamed())
    assert found is not None and "parse_archive" in found


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000), n=st.integers(min_value=1, max_value=5))
def test_any_cut_short_queue_file_is_found(tmp_path_factory, cut, n):
    jobdir = tmp_path_factory.mktemp("job")
    path = saved_queue(jobdir, urls=[f"http://127.0.0.1/fa/news/{i}" for i in range(n)])
    data = path.read_bytes()
    path.write_bytes(data[:cut % len(data)])
    assert problem(jobdir) is not None


def test_prepare_drops_a_damaged_queue_after_a_clean_stop(tmp_path):
    saved_queue(tmp_path).write_bytes(b"")
    verdict = prepare(str(tmp_path), Settings(), Spider())
    assert not verdict.killed and "127.0.0.1-" in verdict.rebuilt
    assert not (tmp_path / "requests.queue").exists()


# -- the lock ---------------------------------------------------------------------------------------------------
@pytest.fixture
def other_process_lock(tmp_path):
    """JOBDIR's lock held as another process would hold it (flock conflicts between open files)."""
    fd = os.open(tmp_path / LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242\n")
    yield tmp_path
    os.close(fd)


@pytest.fixture(autouse=True)
def forget_locks():
    yield
    for key, fd in list(jobstate._locks.items()):
        os.close(fd)
        del jobstate._locks[key]
    jobstate._owners.clear()


def test_jobdir_busy_names_the_holder_and_takes_a_free_lock(other_process_lock, tmp_path_factory):
    busy = jobdir_busy(Settings({"JOBDIR": str(other_process_lock)}))
    assert busy == f"JOBDIR {other_process_lock} is in use by another crawl (pid 4242)"
    free = tmp_path_factory.mktemp("free")
    assert jobdir_busy(Settings({"JOBDIR": str(free)})) is None
    assert (free / LOCK).read_text() == f"{os.getpid()}\n"
    assert jobdir_busy(Settings({"JOBDIR": str(free)})) is None  # this process holds it already
    fd = os.open(free / LOCK, os.O_RDWR)
    with pytest.raises(BlockingIOError):  # and really holds it
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
    assert jobdir_busy(Settings()) is None


def test_a_crawl_that_finds_its_jobdir_taken_touches_nothing_and_closes(other_process_lock):
    settings = Settings({"JOBDIR": str(other_process_lock), "FEEDS": {"x.jsonl": {"format": "jsonlines"}},
                         "ITEM_PIPELINES": {"newscrawl.pipelines.store.StoragePipeline": 400}}, priority="cmdline")
    guard = JobdirGuard.from_crawler(get_crawler(Spider))
    guard.update_settings(settings)
    assert settings.get("JOBDIR") is None and settings.getdict("FEEDS") == {}
    assert settings.getdict("ITEM_PIPELINES") == {}
    with pytest.raises(CloseSpider) as stopped:
        guard.refuse(Spider())
    assert stopped.value.reason == "jobdir_in_use"
    assert sorted(p.name for p in other_process_lock.iterdir()) == [LOCK]


def test_two_crawlers_of_one_process_cannot_share_a_jobdir(tmp_path):
    first, second = get_crawler(Spider, {"JOBDIR": str(tmp_path)}), get_crawler(Spider, {"JOBDIR": str(tmp_path)})
    assert jobstate.claim(str(tmp_path), first) is None
    assert jobstate.claim(str(tmp_path), second) == f"JOBDIR {tmp_path} is in use by another crawl in this process"
    assert jobdir_busy(Settings({"JOBDIR": str(tmp_path)})) is not None
    jobstate.release(str(tmp_path), first)
    assert jobstate.claim(str(tmp_path), second) is None
