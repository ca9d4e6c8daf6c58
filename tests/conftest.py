"""Shared fixtures: real pages from ../shared, a scrapy runner, and real PostgreSQL/Redis servers.

Servers are started on 127.0.0.1 (random free ports) from Debian's binaries and stopped at the end.
When a binary is missing the test is skipped with the reason, except under NEWSCRAWL_REQUIRE_SERVERS=1
(set by .ci/run), where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from testkit.devservers import free_port, postgres_cluster
from testkit.testsite import clean_env

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ROOT = Path(__file__).resolve().parents[1]
REALPAGES = Path(os.environ.get("NEWSCRAWL_REALPAGES", ROOT.parent / "shared" / "realpages"))
DEMO_CASSETTES = ROOT / "testkit" / "demo" / "cassettes"
REQUIRE_SERVERS = os.environ.get("NEWSCRAWL_REQUIRE_SERVERS") == "1"


def _unavailable(reason: str):
    if REQUIRE_SERVERS:
        pytest.fail(reason + " (NEWSCRAWL_REQUIRE_SERVERS=1)")
    pytest.skip(reason)


@pytest.fixture
def realpage():
    """read('tabnak/article-1.html') -> bytes from NEWSCRAWL_REALPAGES, or skip saying why."""

    def read(rel: str) -> bytes:
        path = REALPAGES / rel
        if not path.is_file():
            pytest.skip(f"real page {path} not found (set NEWSCRAWL_REALPAGES to the realpages folder)")
        return path.read_bytes()

    return read


scrapy_env = clean_env  # no NEWSCRAWL_* from the caller, no SCRAPY_SETTINGS_MODULE left by in-process tests


def run_scrapy(*args: str, env: dict[str, str] | None = None, timeout: int = 300,
               cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run `scrapy ARGS` in the project (a real process, the real engine)."""
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=cwd, env=env or scrapy_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def scrapy_run():
    return run_scrapy


def stored_count(db_path) -> int:
    """Rows in a SQLite `articles` table while a crawl may be writing it (read-only; 0 until it exists)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


# -- PostgreSQL ----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (trust auth, loopback only); yields a SQLAlchemy URL."""
    if os.environ.get("NEWSCRAWL_TEST_POSTGRES_URL"):
        yield os.environ["NEWSCRAWL_TEST_POSTGRES_URL"]
        return
    with postgres_cluster() as url:
        if url is None:
            _unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        yield url


# -- Redis -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_url():
    """A throwaway Redis server on loopback, no persistence; yields redis://127.0.0.1:PORT/0."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server not found (apt-get install redis-server)")
    base = Path(tempfile.mkdtemp(prefix="newscrawl-redis-"))
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(base),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


# -- a store on SQLite and on PostgreSQL (test_storage, test_archive_dedup) ----------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database with no `articles` table yet."""
    if request.param == "sqlite":
        (tmp_path / "sub").mkdir()  # outside the data folder, open() creates no folder (newscrawl.db.url)
        return f"sqlite:///{tmp_path}/sub/news.sqlite3"
    from sqlalchemy import create_engine

    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles")
    engine.dispose()
    return url


@pytest.fixture
def open_store(db_url):
    """open_store(**kw) -> an opened ArticleStore on db_url; all closed at teardown."""
    from newscrawl.db.store import ArticleStore

    made = []

    def make(**kw):
        made.append(ArticleStore(db_url, **kw).open())
        return made[-1]

    yield make
    for store in made:
        store.close()
