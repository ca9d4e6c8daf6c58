"""The Redis fleet (newscrawl.fleet).

- FleetQueue against a real Redis server, in-process: the in-flight entries, their acknowledgement and
  the re-queueing of a dead worker's requests (hypothesis: any request comes back exactly as it was).
- Two `scrapy crawl` processes share one crawl: both do work, no URL is fetched twice, every article
  is stored once, and a clean close leaves no per-worker key behind.
- Marked `faults`, two workers over Redis and PostgreSQL: one is SIGKILLed while it holds requests
  and uncommitted articles, then restarted on the same data folder; or the database goes away under
  both, they stop, and only one is run again. Either way every article ends up exactly once in the
  database and once across the workers' JSON Lines files.
"""

from __future__ import annotations

import json
import pickle
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy import Request, Spider
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from newscrawl.fleet import ITEM_ERROR_RETRIES, FleetQueue, fleet_prefix, preflight, settle
from testkit.devservers import closing_stats, free_port
from tests.conftest import ROOT, scrapy_env

pytestmark = pytest.mark.redis

GEN_ID_BASE = 900_000  # the test site's generated article k has news id 900000 + k


class FleetSpider(Spider):
    name = "fleettest"

    def parse_page(self, response):
        pass


@pytest.fixture
def server(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def queue_key():
    return f"newscrawl:fleettest:{secrets.token_hex(4)}:requests"


def make_queue(server, key) -> FleetQueue:
    return FleetQueue(server, FleetSpider(), key)


def fleet_keys(server, prefix: str) -> list[str]:
    return sorted(k.decode() for k in server.scan_iter(f"{prefix}:*"))


# -- before the crawl -------------------------------------------------------------------------------------
def test_preflight_says_in_one_line_that_redis_is_unreachable_without_the_password():
    error = preflight({"NEWSCRAWL_REDIS_URL": f"redis://fleet:s3cr3t@127.0.0.1:{free_port()}/0"})
    assert error.startswith("cannot reach Redis redis://***@127.0.0.1:")  # the whole userinfo masked
    assert "s3cr3t" not in error and "\n" not in error


def test_preflight_passes_without_a_fleet_or_with_a_reachable_redis(redis_url):
    assert preflight({"NEWSCRAWL_REDIS_URL": ""}) is None
    assert preflight({"NEWSCRAWL_REDIS_URL": redis_url}) is None


# -- what is acknowledged -------------------------------------------------------------------------------
def test_settle_acknowledges_only_what_the_engine_has_finished():
    a, b, c, d = (Request(f"http://127.0.0.1/{n}") for n in "abcd")
    taken = {a: "0", b: "1", c: "2", d: "3"}
    assert settle(taken, inprogress={b}, failed={c}, halted=False) == ([a, d], [c])
    assert settle(taken, inprogress={a, b, c, d}, failed=set(), halted=False) == ([], [])


def test_settle_acknowledges_nothing_once_the_crawl_halted():
    """After a storage failure the finished requests' articles may be in the spool, not the database:
    they stay in flight, and the worker's close puts them back on the queue."""
    a = Request("http://127.0.0.1/a")
    assert settle({a: "0"}, inprogress=set(), failed=set(), halted=True) == ([], [])


# -- FleetQueue ----------------------------------------------------------------------------------------
def test_push_new_filters_on_the_fingerprint_in_one_step(server, queue_key):
    queue = make_queue(server, queue_key)
    dupefilter = queue_key.replace(":requests", ":dupefilter")
    assert queue.push_new(Request("http://127.0.0.1/a"), "fp-a", dupefilter) is True
    assert queue.push_new(Request("http://127.0.0.1/a?again"), "fp-a", dupefilter) is False
    assert queue.push_new(Request("http://127.0.0.1/a"), "", dupefilter) is True  # dont_filter: same member
    assert queue.push_new(Request("http://127.0.0.1/b", priority=5), "fp-b", dupefilter) is True
    assert len(queue) == 2
    assert server.smembers(dupefilter) == {b"fp-a", b"fp-b"}


def test_pop_keeps_an_in_flight_entry_until_acknowledged(server, queue_key):
    queue = make_queue(server, queue_key)
    dupefilter = queue_key.replace(":requests", ":dupefilter")
    for n, priority in ((1, 0), (2, 10), (3, -1)):
        queue.push_new(Request(f"http://127.0.0.1/{n}", priority=priority), f"fp{n}", dupefilter)
    queue.beat(30)
    first, second = queue.pop(), queue.pop()
    assert (first.url, second.url) == ("http://127.0.0.1/2", "http://127.0.0.1/1")  # priority order
    assert server.hlen(queue.inflight_key) == 2 and len(queue) == 1
    assert server.smembers(queue.workers_key) == {queue.worker.encode()}
    assert queue.ack([first]) == 1
    assert server.hlen(queue.inflight_key) == 1
    assert list(queue.taken) == [second]


def test_a_dead_workers_requests_go_back_to_the_queue_with_their_priority(server, queue_key):
    dead, alive = make_queue(server, queue_key), make_queue(server, queue_key)
    dupefilter = queue_key.replace(":requests", ":dupefilter")
    for n in range(4):
        dead.push_new(Request(f"http://127.0.0.1/{n}", priority=n), f"fp{n}", dupefilter)
    dead.beat(30)
    alive.beat(30)
    taken_by_dead = [dead.pop(), dead.pop()]  # priorities 3 and 2
    taken_by_alive = alive.pop()  # priority 1
    assert alive.busy_elsewhere() == 2 and dead.busy_elsewhere() == 1
    assert alive.requeue_dead() == (0, 0)  # every heartbeat is fresh: nothing moves
    server.delete(dead.alive_key)  # what the TTL does to a killed worker's heartbeat
    assert alive.requeue_dead() == (1, 2)
    assert not server.exists(dead.inflight_key)
    assert server.smembers(alive.workers_key) == {alive.worker.encode()}
    assert server.hlen(alive.inflight_key) == 1  # the live worker's entry is untouched
    assert [alive.pop().url for _ in range(3)] == [r.url for r in taken_by_dead] + ["http://127.0.0.1/0"]
    assert alive.busy_elsewhere() == 0
    assert taken_by_alive.url == "http://127.0.0.1/1"


def test_a_heartbeat_that_expired_is_reported(server, queue_key):
    queue = make_queue(server, queue_key)
    assert queue.beat(30) is True  # the first one
    assert queue.beat(30) is False
    server.delete(queue.alive_key)
    assert queue.beat(30) is True
    assert 0 < server.pttl(queue.alive_key) <= 30_000


def test_leave_requeues_what_is_left_and_removes_the_workers_keys(server, queue_key):
    queue = make_queue(server, queue_key)
    dupefilter = queue_key.replace(":requests", ":dupefilter")
    for n in range(3):
        queue.push_new(Request(f"http://127.0.0.1/{n}"), f"fp{n}", dupefilter)
    queue.beat(30)
    done, left = queue.pop(), queue.pop()
    queue.ack([done])
    assert queue.leave() == 1
    assert fleet_keys(server, fleet_prefix(queue_key)) == sorted([queue_key, dupefilter])
    assert {make_queue(server, queue_key).pop().url for _ in range(2)} == {left.url, "http://127.0.0.1/2"}


def test_a_request_whose_items_keep_failing_is_given_up(server, queue_key):
    queue = make_queue(server, queue_key)
    queue.push_new(Request("http://127.0.0.1/poison"), "fp", queue_key + ":df")
    queue.beat(30)
    counts = []
    for _ in range(ITEM_ERROR_RETRIES + 1):
        request = queue.pop()
        assert request is not None
        counts.append(queue.release(request, "fp", ITEM_ERROR_RETRIES))
    assert counts == [*range(1, ITEM_ERROR_RETRIES + 1), -(ITEM_ERROR_RETRIES + 1)]
    assert queue.pop() is None and server.hlen(queue.inflight_key) == 0


def test_an_unreadable_entry_is_dropped_with_an_error(server, queue_key, caplog):
    queue = make_queue(server, queue_key)
    server.zadd(queue_key, {b"not a pickle": 0})
    queue.push_new(Request("http://127.0.0.1/ok", priority=-1), "fp", queue_key + ":df")
    with caplog.at_level("ERROR", logger="newscrawl.fleet"):
        assert queue.pop().url == "http://127.0.0.1/ok"
    assert "cannot be read back" in caplog.text
    assert server.hlen(queue.inflight_key) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
       body=st.binary(max_size=200), priority=st.integers(-10**6, 10**6),
       meta=st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.integers(), max_size=3))
def test_a_requeued_request_comes_back_exactly_as_it_was(server, path, body, priority, meta):
    """The in-flight entry is the queue's own bytes plus the score, split again at the first newline:
    bodies with newlines, ZWNJ or any byte, and any priority, survive the round trip."""
    key = f"newscrawl:fleettest:{secrets.token_hex(4)}:requests"
    dead, alive = make_queue(server, key), make_queue(server, key)
    original = Request("http://127.0.0.1/" + path, method="POST", body=body, priority=priority,
                       meta=meta, callback=FleetSpider().parse_page)
    dead.push_new(original, "", key + ":df")
    dead.beat(30)
    alive.beat(30)
    taken = dead.pop()
    server.delete(dead.alive_key)
    assert alive.requeue_dead() == (1, 1)
    back = alive.pop()
    assert (back.url, back.body, back.priority, back.meta, back.callback.__name__) == \
           (taken.url, original.body, priority, meta, "parse_page")
    alive.leave()
    server.delete(key)


# -- two scrapy crawl processes ---------------------------------------------------------------------------
@contextmanager
def local_site(articles: int, delay_ms: int):
    """The local test site with generated articles, slowed down so that both workers get work."""
    proc = subprocess.Popen([sys.executable, "-m", "testkit.testsite", "--port", "0", "--articles",
                             str(articles), "--delay-ms", str(delay_ms)], cwd=ROOT, env=scrapy_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        yield re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def worker(folder, base: str, env: dict[str, str], *settings: str) -> subprocess.Popen:
    """A fleet worker crawling the test site's archive; its log is folder/crawl.log (appended)."""
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", "mode=archive", "-a",
           "since=1397/04/29", "-a", "until=1397/04/30", "-a", f"base_url={base}/gen",
           "-s", "NEWSCRAWL_REDIS_IDLE_CLOSE=3", "-s", "AUTOTHROTTLE_ENABLED=False",
           "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False", "-s", "CONCURRENT_REQUESTS=4",
           "-s", "LOG_LEVEL=DEBUG", *settings]
    log = open(folder / "crawl.log", "a", encoding="utf-8")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    return proc


def crawled(log: str) -> list[str]:
    return re.findall(r"Crawled \(200\) <GET (\S+)>", log)


def feed_codes(path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["news_code"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_two_workers_share_one_crawl(tmp_path, redis_url, server):
    articles = 300
    env = scrapy_env(NEWSCRAWL_REDIS_URL=redis_url, NEWSCRAWL_CRAWL_ID="t1", NEWSCRAWL_DATA_DIR=str(tmp_path),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    with local_site(articles, delay_ms=100) as base:
        workers = [worker(tmp_path / f"w{n}", base, env, "-s",
                          f"FEEDS={{\"{tmp_path}/w{n}.jsonl\": {{\"format\": \"jsonlines\"}}}}")
                   for n in (1, 2)]
        for w in workers:
            assert w.wait(timeout=300) == 0
    fetched = []
    for n in (1, 2):
        urls = crawled((tmp_path / f"w{n}" / "crawl.log").read_text(encoding="utf-8"))
        assert [u for u in urls if "/fa/news/" in u], f"worker {n} fetched no article"
        fetched += urls
    assert len(fetched) == len(set(fetched)), "a URL was fetched twice"
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        codes = [r[0] for r in db.execute("SELECT news_code FROM articles")]
    assert sorted(codes) == sorted(str(GEN_ID_BASE + k) for k in range(1, articles + 1))
    exported = feed_codes(tmp_path / "w1.jsonl") + feed_codes(tmp_path / "w2.jsonl")
    assert sorted(exported) == sorted(codes)
    # a clean close leaves only the crawl's shared queue (empty, so gone) and dupefilter
    assert fleet_keys(server, "newscrawl:tabnak:t1") == ["newscrawl:tabnak:t1:dupefilter"]


@pytest.fixture
def fleet_database(postgres_url):
    """A new PostgreSQL database on the test cluster, dropped after."""
    name = f"fleet_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


def stored_codes(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        codes = [r[0] for r in conn.exec_driver_sql("SELECT news_code FROM articles")]
    engine.dispose()
    return codes


def held_articles(server, prefix: str, pid: int) -> set[str]:
    """The news codes of the article requests in the in-flight hash of the worker with process id `pid`
    (an entry is "<score>\n<scrapy-redis's pickled request dict>")."""
    held = set()
    for worker_id in server.smembers(f"{prefix}:workers"):
        if f"-{pid}-" in worker_id.decode():
            for entry in server.hvals(f"{prefix}:inflight:{worker_id.decode()}"):
                match = re.search(r"/fa/news/(\d+)", pickle.loads(entry.split(b"\n", 1)[1])["url"])
                if match:
                    held.add(match[1])
    return held


def counted(codes: list[str], expected: list[str]) -> str:
    return f"missing {len(set(expected) - set(codes))}, duplicated {len(codes) - len(set(codes))}"


@pytest.mark.faults
@pytest.mark.postgres
@pytest.mark.parametrize("restart", ["at_once", "after_the_fleet_finished"])
def test_a_killed_worker_loses_nothing(restart, tmp_path, redis_url, server, fleet_database):
    """Worker 1 is SIGKILLed once it has stored articles and while it holds requests for articles the
    database does not have (downloading, or waiting for their batch's commit). Its heartbeat expires after 3 s and the fleet re-queues
    what it held, around the dupefilter. It is restarted on the same data folder at once, or only after
    worker 2 has finished the crawl alone: then, before the restart, the database is already whole and
    the feeds hold no article twice; only the last batch worker 1 committed may lack its lines, which
    the restarted worker's feed repair adds."""
    articles, crawl_id = 400, f"kill-{secrets.token_hex(3)}"
    prefix = f"newscrawl:tabnak:{crawl_id}"
    folders = {n: tmp_path / f"w{n}" for n in (1, 2)}
    expected = sorted(str(GEN_ID_BASE + k) for k in range(1, articles + 1))

    def env(n):
        return scrapy_env(NEWSCRAWL_REDIS_URL=redis_url, NEWSCRAWL_CRAWL_ID=crawl_id,
                          NEWSCRAWL_DATA_DIR=str(folders[n] / "data"), NEWSCRAWL_FEED=str(folders[n] / "items.jsonl"),
                          NEWSCRAWL_DATABASE_URL=fleet_database)

    def exported():
        return feed_codes(folders[1] / "items.jsonl") + feed_codes(folders[2] / "items.jsonl")

    fleet = ("-s", "NEWSCRAWL_REDIS_HEARTBEAT=3", "-s", "NEWSCRAWL_DB_BATCH_SIZE=20")
    # the restarted worker may find the crawl done: in a fleet, "at least one successful request" is off
    # (RedisAddon; the fleet's work is checked below)
    with local_site(articles, delay_ms=40) as base:
        w1 = worker(folders[1], base, env(1), *fleet)
        w2 = worker(folders[2], base, env(2), *fleet)
        unstored: set[str] = set()  # articles worker 1 holds that the database does not have
        deadline = time.monotonic() + 60
        while w1.poll() is None and time.monotonic() < deadline:
            if len(feed_codes(folders[1] / "items.jsonl")) >= 40:
                unstored = held_articles(server, prefix, w1.pid) - set(stored_codes(fleet_database))
                if unstored:
                    w1.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.02)
        assert w1.wait(timeout=10) == -signal.SIGKILL, "worker 1 finished before it could be killed"
        assert unstored
        if restart == "at_once":
            w1 = worker(folders[1], base, env(1), *fleet)  # the same data folder and feed
            assert w1.wait(timeout=120) == 0
            assert w2.wait(timeout=120) == 0
        else:
            assert w2.wait(timeout=120) == 0
            assert sorted(stored_codes(fleet_database)) == expected, counted(stored_codes(fleet_database), expected)
            lines = exported()
            assert len(lines) == len(set(lines)) and set(lines) <= set(expected), counted(lines, expected)
            assert len(set(expected) - set(lines)) <= 20
            assert worker(folders[1], base, env(1), *fleet).wait(timeout=120) == 0

    logs = {n: (folders[n] / "crawl.log").read_text(encoding="utf-8") for n in (1, 2)}
    restarted = logs[1].rsplit("Scrapy 2.", 1)[1]
    requeued = sum(closing_stats(log).get("newscrawl/fleet/requeued", 0) for log in (restarted, logs[2]))
    assert requeued >= 1, "nobody re-queued the killed worker's requests"
    codes = stored_codes(fleet_database)
    assert sorted(codes) == expected, counted(codes, expected)
    assert sorted(exported()) == expected, "feeds: " + counted(exported(), expected)
    assert fleet_keys(server, prefix) == [f"{prefix}:dupefilter"]


@pytest.mark.faults
@pytest.mark.postgres
def test_a_worker_stopped_by_a_database_outage_leaves_its_articles_to_the_fleet(tmp_path, redis_url, server,
                                                                               fleet_database):
    """The database refuses connections under both workers: each stops (database_unavailable), keeping
    its uncommitted articles in its spool and putting what it held back on the queue. Only worker 2
    is run again: worker 1's spooled articles come to the database through the fleet, not its spool."""
    articles, crawl_id = 240, f"outage-{secrets.token_hex(3)}"
    name = make_url(fleet_database).database
    folders = {n: tmp_path / f"w{n}" for n in (1, 2)}

    def env(n):
        return scrapy_env(NEWSCRAWL_REDIS_URL=redis_url, NEWSCRAWL_CRAWL_ID=crawl_id,
                          NEWSCRAWL_DATA_DIR=str(folders[n] / "data"), NEWSCRAWL_FEED=str(folders[n] / "items.jsonl"),
                          NEWSCRAWL_DATABASE_URL=fleet_database)

    fleet = ("-s", "NEWSCRAWL_DB_BATCH_SIZE=20", "-s", "NEWSCRAWL_DB_RETRY_SECONDS=1")
    admin = create_engine(make_url(fleet_database).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with local_site(articles, delay_ms=40) as base:
        w1 = worker(folders[1], base, env(1), *fleet)
        w2 = worker(folders[2], base, env(2), *fleet)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and w1.poll() is None and w2.poll() is None:
            if min(len(feed_codes(folders[n] / "items.jsonl")) for n in (1, 2)) >= 30:
                break
            time.sleep(0.02)
        assert w1.poll() is None and w2.poll() is None, "a worker finished before the outage"
        with admin.connect() as conn:  # the outage: no new connection, the open ones cut
            conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        codes = {n: w.wait(timeout=60) for n, w in ((1, w1), (2, w2))}
        with admin.connect() as conn:
            conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        first = {n: closing_stats((folders[n] / "crawl.log").read_text(encoding="utf-8")) for n in (1, 2)}
        assert [first[n].get("finish_reason") for n in (1, 2)] == ["database_unavailable"] * 2, codes
        assert codes[1] != 0 and codes[2] != 0
        assert first[1].get("newscrawl/halt/spooled", 0) > 0  # worker 1 held articles it could not store
        assert first[1].get("newscrawl/fleet/requeued_at_close", 0) > 0
        # worker 1 is never run again
        assert worker(folders[2], base, env(2), *fleet, "-s", "CONCURRENT_REQUESTS=16",
                      "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16").wait(timeout=120) == 0
    admin.dispose()

    expected = sorted(str(GEN_ID_BASE + k) for k in range(1, articles + 1))
    stored = stored_codes(fleet_database)
    assert sorted(stored) == expected, counted(stored, expected)
    exported = feed_codes(folders[1] / "items.jsonl") + feed_codes(folders[2] / "items.jsonl")
    assert sorted(exported) == expected, "feeds: " + counted(exported, expected)
