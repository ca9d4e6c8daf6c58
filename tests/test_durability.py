"""Storage failures through the real engine: `scrapy crawl` subprocesses against the local test site's
/gen archive, with a database server of our own that the tests restart and stop, a data folder on a small
tmpfs that fills up, SIGKILL, and two crawls writing one SQLite file at once.

Every test ends the same way: each article of the range exactly once in the database and exactly once
across the feed files (all of them, whichever run wrote them), with no manual repair."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

import newscrawl.settings as project_settings
from testkit.devservers import closing_stats, postgres_bin, postgres_cluster
from testkit.testsite import running
from tests.conftest import REQUIRE_SERVERS, ROOT, _unavailable, scrapy_env

pytestmark = pytest.mark.faults

ARTICLES = 300
EXPECTED = sorted(str(900000 + k) for k in range(1, ARTICLES + 1))
#: the whole range every time: a rerun must fetch what an interrupted run did not store
ARCHIVE = ("-a", "mode=archive", "-a", "since=1397/04/29", "-a", "until=1397/04/30", "-a", "incremental=0")


@pytest.fixture(scope="module")
def site():
    with running(ARTICLES, env=scrapy_env()) as (base, _):
        yield base + "/gen"


def command(site: str, *extra: str, pace: bool = False) -> list[str]:
    """`scrapy crawl tabnak` of the whole /gen archive; `pace`: slow enough (about 100 pages/s at most) that
    the test can act while it runs."""
    pacing = ("-s", "CONCURRENT_REQUESTS=2", "-s", "DOWNLOAD_DELAY=0.01") if pace else ("-s", "DOWNLOAD_DELAY=0")
    return [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={site}", *ARCHIVE,
            "-s", "AUTOTHROTTLE_ENABLED=0", *pacing, "-s", "NEWSCRAWL_DB_BATCH_SIZE=25", "-L", "INFO",
            *extra]


def environment(data: Path, db_url: str, feeds: Path) -> dict[str, str]:
    """Everything named explicitly: the database, the data folder, and one feed file per run in `feeds`."""
    return scrapy_env(NEWSCRAWL_DATA_DIR=str(data), NEWSCRAWL_DATABASE_URL=db_url,
                      NEWSCRAWL_FEED=str(feeds / "%(run_id)s.jsonl"))


def crawl(cmd, env, timeout: int = 60) -> tuple[int, str]:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stderr


@contextmanager
def crawling(cmd, env, log: Path):
    """A crawl in the background; killed if the test leaves it running."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def wait_for(condition, proc, what: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the crawl ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.02)


# -- what must hold --------------------------------------------------------------------------------------
def sqlite_codes(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT news_code FROM articles")]


def sqlite_count(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def feed_codes(folder: Path) -> list[str]:
    """The news codes of every line of every feed file in `folder`; each line whole and valid JSON."""
    codes = []
    for path in sorted(folder.glob("*.jsonl")):
        raw = path.read_bytes()
        assert not raw or raw.endswith(b"\n"), f"{path.name} ends with half a line"
        codes += [json.loads(line)["news_code"] for line in raw.decode("utf-8").splitlines()]
    return codes


def assert_exactly_once(db: list[str], feeds: Path) -> None:
    assert sorted(db) == EXPECTED, f"database: {len(db)} rows, {len(set(db))} distinct"
    lines = feed_codes(feeds)
    assert sorted(lines) == EXPECTED, f"feeds: {len(lines)} lines, {len(set(lines))} distinct"
    assert not list(feeds.glob("*.open")), "a feed marker was left behind"


#: the storage side: its one line for a stop comes from newscrawl.extensions.halt (the health check and the report
#: say that the crawl failed, each in its own line)
STORAGE_LOGGERS = ("newscrawl.extensions.halt", "newscrawl.db.store", "newscrawl.pipelines", "newscrawl.exports.feeds", "newscrawl.spidermiddlewares.spool")


def newscrawl_errors(log: str) -> list[str]:
    """ERROR lines of the storage side."""
    return [message for name, message in re.findall(r"^\S+ \S+ \[(newscrawl[^\]]*)\] ERROR: (.*)$", log, flags=re.M)
            if name in STORAGE_LOGGERS]


def tracebacks(log: str) -> int:
    """Tracebacks of errors in the log. Spidermon prints each failed monitor as a traceback of its assertion
    (the finish-reason monitor fails on purpose here): those are its report, not errors."""
    parts = log.split("Traceback (most recent call last):")[1:]
    return sum("spidermon/contrib/scrapy/monitors" not in part.split("\n", 2)[1] for part in parts)


def finish_reason(log: str) -> str | None:
    return closing_stats(log).get("finish_reason")


# -- PostgreSQL restarted and stopped ------------------------------------------------------------------------
class Server:
    """A throwaway PostgreSQL cluster of this test's own (testkit.devservers.postgres_cluster), which the
    test can restart, stop and start again."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url, pool_pre_ping=True)
        with self.engine.connect() as conn:
            self.data = conn.execute(text("SHOW data_directory")).scalar_one()
        self.port = make_url(url).port
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.pg_ctl = str(postgres_bin() / "pg_ctl")
        self.log = str(Path(self.data).parent / "pg.log")

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.as_pg, self.pg_ctl, "-D", self.data, "-w", *args], check=True, capture_output=True)

    def restart(self) -> float:
        started = time.monotonic()
        # -l: the server's output to its log, not to our pipe (which would then never close)
        self._ctl("-m", "fast", "-l", self.log, "restart")
        return time.monotonic() - started

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def start(self) -> None:
        base = str(Path(self.data).parent)
        self._ctl("-l", self.log, "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {base}", "start")

    def count(self) -> int:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        except Exception:  # noqa: BLE001  (no table yet, or the server is down)
            return 0

    def codes(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(text("SELECT news_code FROM articles")).scalars())


@pytest.fixture
def server():
    with postgres_cluster(prefix="newscrawl-durability-pg-") as url:
        if url is None:
            _unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        server = Server(url)
        yield server
        server.engine.dispose()


@pytest.mark.postgres
def test_postgres_restart_mid_crawl_heals_and_loses_nothing(site, server, tmp_path):
    """`pg_ctl restart -m fast` while articles are being written: the broken connections are retried,
    the crawl finishes normally, and nothing is lost or doubled."""
    feeds = tmp_path / "feeds"
    env = environment(tmp_path / "data", server.url, feeds)
    with crawling(command(site, pace=True), env, tmp_path / "crawl.log") as proc:
        wait_for(lambda: server.count() >= 60, proc, "60 stored articles")
        took = server.restart()
        proc.wait(timeout=90)
    log = (tmp_path / "crawl.log").read_text()
    assert proc.returncode == 0, log[-3000:]
    assert finish_reason(log) == "finished"
    assert closing_stats(log).get("newscrawl/db/retries", 0) >= 1  # the crawl did run into the restart
    assert "retrying for up to 60 s" in log and " is back after " in log
    assert newscrawl_errors(log) == [] and tracebacks(log) == 0
    assert_exactly_once(server.codes(), feeds)
    print(f"restart took {took:.2f} s; retries {closing_stats(log)['newscrawl/db/retries']}")


@pytest.mark.postgres
def test_postgres_down_longer_than_the_retry_window_stops_spools_and_the_rerun_completes(site, server, tmp_path):
    feeds, data = tmp_path / "feeds", tmp_path / "data"
    env = environment(data, server.url, feeds)
    cmd = command(site, "-s", "NEWSCRAWL_DB_RETRY_SECONDS=2", pace=True)
    with crawling(cmd, env, tmp_path / "first.log") as proc:
        wait_for(lambda: server.count() >= 60, proc, "60 stored articles")
        server.stop()
        proc.wait(timeout=90)
    log = (tmp_path / "first.log").read_text()
    assert proc.returncode == 1, log[-3000:]
    assert finish_reason(log) == "database_unavailable"
    errors = newscrawl_errors(log)
    assert len(errors) == 1, errors
    assert errors[0].startswith("crawl stopped (database_unavailable): cannot ") and "after 2 s of retries" in errors[0]
    assert tracebacks(log) == 0
    (spool,) = (data / "spool").glob("tabnak.*.spool")  # tabnak.<database>.spool
    spooled = [json.loads(line)["news_code"] for line in spool.read_text("utf-8").splitlines()]
    assert spooled and len(spooled) == closing_stats(log)["newscrawl/halt/spooled"]
    assert f"{len(spooled)} articles kept in {spool}" in errors[0]

    server.start()
    first_feed = feed_codes(feeds)
    assert set(first_feed) <= set(server.codes()) and not set(first_feed) & set(spooled)
    code, log = crawl(command(site), env)
    assert code == 0, log[-3000:]
    assert closing_stats(log)["newscrawl/spool/replayed"] == len(spooled)
    assert_exactly_once(server.codes(), feeds)
    assert list((data / "spool").iterdir()) == []  # replayed, stored, and removed


# -- full disks ------------------------------------------------------------------------------------------------
@contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of `size` at `path` (we run as root); a skip when it cannot be mounted, unless servers are
    required. Yields a function that remounts it with another size."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs for the full-disk test: {mounted.stderr.strip()}"
        if REQUIRE_SERVERS:
            pytest.fail(reason + " (NEWSCRAWL_REQUIRE_SERVERS=1)")
        pytest.skip(reason)

    def resize(new: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new}", str(path)], check=True)

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def assert_stopped_for_a_full_disk(code: int, log: str) -> None:
    assert code == 1, log[-3000:]
    assert finish_reason(log) == "disk_full"
    assert tracebacks(log) <= 1, log[-5000:]  # at most Scrapy's "Error storing jsonlines feed"
    errors = newscrawl_errors(log)
    stopped = [e for e in errors if e.startswith("crawl stopped (disk_full): ")]
    assert len(stopped) == 1, errors
    # Scrapy reports a feed as stored only when it holds every line it was given
    for count, path in re.findall(r"Stored jsonlines feed \((\d+) items\) in: (\S+)", log):
        assert Path(path).read_bytes().count(b"\n") == int(count)
    unwritten = closing_stats(log).get("newscrawl/feed/unwritten", 0)
    assert ("Error storing jsonlines feed" in log) == (unwritten > 0)


def test_full_data_disk_stops_at_once_and_the_rerun_completes(site, tmp_path):
    """The database, the feed and the spool on one small disk that fills mid-crawl."""
    disk = tmp_path / "disk"
    with small_disk(disk, "600k") as resize:
        feeds, db = disk / "feeds", disk / "news.sqlite3"
        env = environment(disk / "data", f"sqlite:///{db}", feeds)
        code, log = crawl(command(site), env)
        assert_stopped_for_a_full_disk(code, log)
        stored, lines = sqlite_codes(db), feed_codes(feeds)  # every line whole (feed_codes checks)
        assert 0 < len(stored) < ARTICLES
        assert len(lines) == len(set(lines)) and set(lines) <= set(stored)  # no line without its row
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        resize("16m")
        code, log = crawl(command(site), env)
        assert code == 0, log[-3000:]
        assert_exactly_once(sqlite_codes(db), feeds)


def test_full_feed_disk_alone_stops_and_the_rerun_adds_the_missing_lines(site, tmp_path):
    """Only the feed's disk fills: the articles stored before the stop get their lines from the rerun's
    repair, from the database."""
    disk = tmp_path / "disk"
    with small_disk(disk, "160k") as resize:
        feeds, db = disk / "feeds", tmp_path / "news.sqlite3"
        env = environment(tmp_path / "data", f"sqlite:///{db}", feeds)
        code, log = crawl(command(site), env)
        assert_stopped_for_a_full_disk(code, log)
        assert "No space left on device" in log
        stats = closing_stats(log)
        stored, lines = sqlite_codes(db), feed_codes(feeds)
        assert set(lines) < set(stored) and len(lines) == len(set(lines))
        assert stats["newscrawl/feed/unwritten"] >= len(stored) - len(lines) > 0
        assert list(feeds.glob("*.open"))  # kept for the repair

        resize("16m")
        code, log = crawl(command(site), env)
        assert code == 0, log[-3000:]
        assert closing_stats(log)["newscrawl/feed/repaired_lines_added"] >= 1
        assert_exactly_once(sqlite_codes(db), feeds)


# -- SIGKILL and concurrent crawls ----------------------------------------------------------------------------
def test_sigkill_without_jobdir_then_rerun_gives_every_article_once(site, tmp_path):
    feeds, db = tmp_path / "feeds", tmp_path / "news.sqlite3"
    env = environment(tmp_path / "data", f"sqlite:///{db}", feeds)
    with crawling(command(site, pace=True), env, tmp_path / "first.log") as proc:
        wait_for(lambda: sqlite_count(db) >= ARTICLES // 3, proc, f"{ARTICLES // 3} stored articles")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    stored = sqlite_codes(db)
    assert ARTICLES // 3 <= len(stored) < ARTICLES
    assert len(list(feeds.glob("*.open"))) == 1  # the killed run's marker
    code, log = crawl(command(site), env)
    assert code == 0, log[-3000:]
    assert closing_stats(log)["newscrawl/stored"] == ARTICLES - len(stored)
    assert_exactly_once(sqlite_codes(db), feeds)


def test_sigkill_with_jobdir_then_resume_continues_its_own_file_exactly_once(site, tmp_path):
    """A resumed JOBDIR crawl is the same run (run_id = the JOBDIR's name): it repairs and continues
    its own feed file, which ends with every article once."""
    feeds, db = tmp_path / "feeds", tmp_path / "news.sqlite3"
    env = environment(tmp_path / "data", f"sqlite:///{db}", feeds)
    cmd = command(site, "-s", f"JOBDIR={tmp_path / 'job'}", pace=True)
    with crawling(cmd, env, tmp_path / "first.log") as proc:
        wait_for(lambda: sqlite_count(db) >= ARTICLES // 3, proc, f"{ARTICLES // 3} stored articles")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert sorted(p.name for p in feeds.iterdir()) == ["job.jsonl", "job.jsonl.job.open"]
    code, log = crawl(cmd, env)
    assert code == 0, log[-3000:]
    assert [p.name for p in feeds.iterdir()] == ["job.jsonl"]
    assert_exactly_once(sqlite_codes(db), feeds)


@pytest.mark.parametrize("dedup", [True, False], ids=["with-dedup", "insert-race"])
def test_two_crawls_into_one_sqlite_file_store_and_export_each_article_once(site, tmp_path, dedup):
    """Two crawls of the same range at once. Without DedupPipeline both try to insert every article, so
    which one stores it is decided by the insert alone (ON CONFLICT DO NOTHING RETURNING)."""
    feeds, db = tmp_path / "feeds", tmp_path / "news.sqlite3"
    env = environment(tmp_path / "data", f"sqlite:///{db}", feeds)
    pipelines = {k: v for k, v in project_settings.ITEM_PIPELINES.items() if dedup or "DedupPipeline" not in k}
    # the crawl that loses every race may store nothing: still a healthy run (date coverage not judged)
    cmd = command(site, "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}")
    with crawling(cmd, env, tmp_path / "a.log") as a, crawling(cmd, env, tmp_path / "b.log") as b:
        a.wait(timeout=90)
        b.wait(timeout=90)
    logs = [(tmp_path / name).read_text() for name in ("a.log", "b.log")]
    assert a.returncode == 0 and b.returncode == 0, [log[-2000:] for log in logs]
    stats = [closing_stats(log) for log in logs]
    assert sum(s.get("newscrawl/stored", 0) for s in stats) == ARTICLES  # each stored by one of the two
    assert sum(s.get("newscrawl/duplicates", 0) for s in stats) == ARTICLES  # and dropped by the other
    assert len(list(feeds.glob("*.jsonl"))) == 2
    assert_exactly_once(sqlite_codes(db), feeds)
    print("stored by each:", [s.get("newscrawl/stored", 0) for s in stats])
