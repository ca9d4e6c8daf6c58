"""Operations as written (issue 14): database URLs (masking, postgres://, the URL from a file, missing
folders, the data folder wherever the command runs), the progress line, a crawl's CSV in the export's
dialect, and the Scrapyd section of docs/operations.md run as written against a real Scrapyd."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newscrawl.db import url as dburl
from testkit.testsite import running
from tests.conftest import ROOT, free_port, run_scrapy, scrapy_env

BIN = Path(sys.executable).parent
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0")


# -- database URLs (pure) ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url, shown", [
    ("postgresql://news:p@ss@db.example.org/news", "postgresql://***@db.example.org/news"),
    ("postgresql+psycopg://news:pw@db/news", "postgresql+psycopg://***@db/news"),
    ("postgres://u:a/b@c@host:5432/db?sslmode=require", "postgres://***@host:5432/db?sslmode=require"),
    ("postgresql://host/db?user=u&password=secret1", "postgresql://host/db?user=u&password=***"),
    ("sqlite:////tmp/a@b/news.sqlite3", "sqlite:////tmp/a@b/news.sqlite3"),
    ("postgresql://news@db/news", "postgresql://news@db/news"),  # a user name alone is no secret
    ("news:secret1@db/news", "***@db/news"),  # no scheme: SQLAlchemy cannot parse it, still masked
])
def test_mask_hides_the_whole_userinfo(url, shown):
    assert dburl.mask(url) == shown


_PASSWORD = st.text(alphabet="abcXYZ019@/:!$&'()*+,;=-._~", min_size=6, max_size=20)


@given(password=_PASSWORD)
def test_mask_never_shows_any_password(password):
    """Any password, with @ / : and the rest as they are: the masked URL holds no 4-character piece of it
    that the rest of the URL does not hold anyway."""
    url = f"postgresql://newsuser:{password}@db.example.org:5432/news"
    shown = dburl.mask(url)
    assert shown == "postgresql://***@db.example.org:5432/news"
    assert dburl.password(url) == password


@given(password=_PASSWORD)
def test_normalize_keeps_the_password_and_the_host(password):
    from sqlalchemy.engine import make_url

    parsed = make_url(dburl.normalize(f"postgres://newsuser:{password}@db.example.org:5432/news"))
    assert (parsed.drivername, parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == \
        ("postgresql+psycopg", "newsuser", password, "db.example.org", 5432, "news")


def test_url_from_a_file_and_its_errors(tmp_path):
    secret = tmp_path / "database-url"
    secret.write_text("postgresql://u:pw@h/db\n")
    assert dburl.read_environment({"NEWSCRAWL_DATABASE_URL_FILE": str(secret)}) == ("postgresql://u:pw@h/db", None)
    assert dburl.read_environment({"NEWSCRAWL_DATABASE_URL": "sqlite:///x"}) == ("sqlite:///x", None)
    _, both = dburl.read_environment({"NEWSCRAWL_DATABASE_URL": "a", "NEWSCRAWL_DATABASE_URL_FILE": str(secret)})
    assert both == "set NEWSCRAWL_DATABASE_URL or NEWSCRAWL_DATABASE_URL_FILE, not both"
    _, missing = dburl.read_environment({"NEWSCRAWL_DATABASE_URL_FILE": str(tmp_path / "none")})
    assert missing == f"cannot read NEWSCRAWL_DATABASE_URL_FILE {tmp_path / 'none'}: No such file or directory"
    secret.write_text("postgresql://u:pw@h/db\nsecond line\n")
    _, two = dburl.read_environment({"NEWSCRAWL_DATABASE_URL_FILE": str(secret)})
    assert "must hold one line" in two and "pw" not in two


# -- crawls: database URL, data folder, start-up rejection ------------------------------------------------
def test_rejected_crawl_writes_its_reason_to_the_log_file(tmp_path):
    log = tmp_path / "job.log"
    result = run_scrapy("crawl", "tabnak", "-a", "since=1397/13/01", "-s", f"LOG_FILE={log}")
    assert result.returncode == 2
    line = "error: tabnak: since: '1397/13/01' is not a valid Jalali date"
    assert result.stderr.strip().splitlines() == [line] or result.stderr.strip().startswith(line)
    assert log.read_text(encoding="utf-8").splitlines() == [result.stderr.strip()]


def test_sqlite_folder_that_does_not_exist_is_an_error(tmp_path):
    url = f"sqlite:///{tmp_path}/typo/news.sqlite3"
    result = run_scrapy("crawl", "tabnak", "-a", "ids=1", env=scrapy_env(NEWSCRAWL_DATABASE_URL=url,
                                                                         NEWSCRAWL_DATA_DIR=str(tmp_path / "d")))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: cannot open database {url}: the folder {tmp_path}/typo does not "
                                     f"exist (create it; only the data folder {tmp_path}/d is created)")
    assert not (tmp_path / "typo").exists()


def test_database_url_file_both_and_unreadable(tmp_path):
    env = scrapy_env(NEWSCRAWL_DATABASE_URL_FILE=str(tmp_path / "none"))
    result = run_scrapy("crawl", "tabnak", "-a", "ids=1", env=env)
    assert (result.returncode, result.stderr.strip()) == (
        2, f"error: cannot read NEWSCRAWL_DATABASE_URL_FILE {tmp_path / 'none'}: No such file or directory")
    (tmp_path / "url").write_text(f"sqlite:///{tmp_path}/x.sqlite3")
    env = scrapy_env(NEWSCRAWL_DATABASE_URL_FILE=str(tmp_path / "url"), NEWSCRAWL_DATABASE_URL="sqlite:///y")
    result = run_scrapy("crawl", "tabnak", "-a", "ids=1", env=env)
    assert (result.returncode, result.stderr.strip()) == (
        2, "error: set NEWSCRAWL_DATABASE_URL or NEWSCRAWL_DATABASE_URL_FILE, not both")


def test_password_given_as_a_scrapyd_setting_is_refused(tmp_path):
    """`_job` is the argument Scrapyd gives every job: a password in a -s database URL is refused, masked."""
    result = run_scrapy("crawl", "tabnak", "-a", "ids=1", "-a", "_job=abc", "-s",
                        "NEWSCRAWL_DATABASE_URL=postgresql://news:hunter2@127.0.0.1:1/news")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr
    assert result.stderr.strip().startswith("error: NEWSCRAWL_DATABASE_URL postgresql://***@127.0.0.1:1/news "
                                            "holds a password and came as a Scrapyd setting")


def _copy_project(tmp_path: Path) -> Path:
    """A project folder of our own (scrapy.cfg only; the code comes from PYTHONPATH), so the default data
    folder is not the repository's."""
    project = tmp_path / "project"
    (project / "deep" / "er").mkdir(parents=True)
    shutil.copy(ROOT / "scrapy.cfg", project / "scrapy.cfg")
    return project


def test_data_folder_is_the_projects_wherever_the_crawl_runs(tmp_path):
    """Run from two folders below the project: the test-site crawl's database and feed land in
    <project>/data/testsite/ (created, being in the data folder), not in the working folder."""
    project = _copy_project(tmp_path)
    with running(articles=5) as (base, _):
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}/gen", "-a", "ids=900001-900003", *FAST,
                            cwd=project / "deep" / "er")
    assert result.returncode == 0, result.stderr[-2000:]
    db = project / "data" / "testsite" / "newscrawl.sqlite3"
    with sqlite3.connect(db) as conn:
        codes = {r[0] for r in conn.execute("SELECT news_code FROM articles")}
    assert codes == {"900001", "900002", "900003"}
    assert not (project / "deep" / "er" / "data").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_use_psycopg(tmp_path, postgres_url, scheme):
    from sqlalchemy import create_engine, text

    url = postgres_url.replace("postgresql+psycopg://", f"{scheme}://")
    schema = f"s_{scheme}_{os.getpid()}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
    url += f"?options=-csearch_path%3D{schema}"
    env = scrapy_env(NEWSCRAWL_DATABASE_URL=url, NEWSCRAWL_DATA_DIR=str(tmp_path))
    with running(articles=3) as (base, _):
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}/gen", "-a", "ids=900001-900002", *FAST,
                            env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    with engine.connect() as conn:
        codes = set(conn.execute(text(f"SELECT news_code FROM {schema}.articles")).scalars())
    engine.dispose()
    assert codes == {"900001", "900002"}


# -- progress ----------------------------------------------------------------------------------------------
def test_progress_lines_in_ids_mode(tmp_path):
    """A slow site (40 ms a page, one request at a time) and a line every 0.2 s: the lines count the ids
    done out of 40, the share never goes back, and an ETA appears once some are done."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "testkit.testsite", "--port", "0", "--articles", "40",
                             "--delay-ms", "40"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        base = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}/gen", "-a", "ids=900001-900040", *FAST,
                            "-s", "CONCURRENT_REQUESTS=1", "-s", "NEWSCRAWL_PROGRESS_SECONDS=0.2", env=env)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = re.findall(r"\[newscrawl\.extensions\.progress\] INFO: (progress: .*)", result.stderr)
    assert len(lines) >= 3, result.stderr[-2000:]
    assert lines[0] == "progress: 0 pages (0/min), 0 items (0/min); 0 of 40 ids done (0%)"
    shares = [int(m) for m in re.findall(r"of 40 ids done \((\d+)%\)", "\n".join(lines))]
    assert len(shares) == len(lines) and shares == sorted(shares) and shares[-1] <= 100
    assert any(re.search(r"\d+ of 40 ids done \(\d+%\), ETA \d+ (s|min)", line) for line in lines[1:]), lines


def test_progress_is_off_at_zero(tmp_path):
    with running(articles=2) as (base, _):
        result = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}/gen", "-a", "ids=900001-900002", *FAST,
                            "-s", "NEWSCRAWL_PROGRESS_SECONDS=0", env=scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "progress:" not in result.stderr and "Crawled 0 pages" not in result.stderr


def test_progress_line_pure():
    from newscrawl.extensions.progress import progress_line

    assert progress_line(10, 120.4, 8, 96, 25, 100, 50.0) == \
        "progress: 10 pages (120/min), 8 items (96/min); 25 of 100 ids done (25%), ETA 2 min 30 s"
    assert progress_line(1, 0, 0, 0) == "progress: 1 pages (0/min), 0 items (0/min)"
    assert progress_line(5, 0, 5, 0, 7, 5, 3.0).endswith("5 of 5 ids done (100%), finishing")


# -- a crawl's CSV is the export's --------------------------------------------------------------------------
def test_crawl_csv_has_the_export_dialect(tmp_path):
    """`-O items.csv` and `scrapy export --output x.csv` of the same articles: the same bytes (the rows
    sorted alike), a BOM, lists as JSON arrays, null as an empty cell."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path), NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    with running(articles=12) as (base, _):
        # stories off: /gen's articles are near-copies of each other, and a copy's line keeps the copy_of
        # known when it was written while the database re-points it (docs/stories.md)
        crawl = run_scrapy("crawl", "tabnak", "-a", f"base_url={base}/gen", "-a", "ids=900001-900012", *FAST,
                           "-s", "NEWSCRAWL_STORIES=0", "-O", str(tmp_path / "crawl.csv"), env=env)
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    export = run_scrapy("export", "--output", str(tmp_path / "export.csv"), env=env)
    assert export.returncode == 0, export.stderr[-2000:]
    raw_crawl, raw_export = (tmp_path / "crawl.csv").read_bytes(), (tmp_path / "export.csv").read_bytes()
    assert raw_crawl.startswith(b"\xef\xbb\xbfsite,news_code,url,") and raw_export.startswith(b"\xef\xbb\xbfsite,")

    def rows(raw: bytes) -> list[list[str]]:
        table = list(csv.reader(raw.decode("utf-8-sig").splitlines(keepends=True)))
        return [table[0], *sorted(table[1:], key=lambda r: r[1])]

    crawled, exported = rows(raw_crawl), rows(raw_export)
    assert len(crawled) == 13 and crawled == exported
    header = crawled[0]
    for row in crawled[1:]:
        record = dict(zip(header, row, strict=True))
        assert isinstance(json.loads(record["category"]), list) and json.loads(record["tags"]) is not None
        assert record["kicker"] != "None"
    assert any(json.loads(dict(zip(header, r, strict=True))["images"]) for r in crawled[1:])  # k % 10 == 0
    # the sorted data lines are byte-identical too (same quoting, same line ends)
    assert sorted(raw_crawl.split(b"\r\n")) == sorted(raw_export.split(b"\r\n"))


# -- docs/operations.md's Scrapyd section, run as written ----------------------------------------------------
def readme_blocks(kind: str) -> list[str]:
    """The fenced blocks of docs/operations.md after `<!-- ops-test -->` (kind "") or `<!-- ops-test: KIND -->`."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    marker = "<!-- ops-test -->" if not kind else f"<!-- ops-test: {kind} -->"
    pattern = re.escape(marker) + r"\s*\n```[a-z]*\n(.*?)\n```"
    return re.findall(pattern, text, flags=re.S)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read().decode())


def wait_finished(url: str, count: int, timeout: float = 240) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = get_json(f"{url}/listjobs.json?project=newscrawl")
        if len(jobs["finished"]) >= count and not jobs["pending"] and not jobs["running"]:
            return jobs["finished"]
        time.sleep(0.3)
    pytest.fail(f"jobs did not finish: {jobs}")


@pytest.mark.scrapyd
def test_readme_scrapyd_section_as_written(tmp_path):
    """Start Scrapyd, deploy, schedule (a good job and one refused at start), then run the crontab's job
    lines: each job is listed as finished with a log, the good one's report is in its log, the refused
    one's log holds its one reason line, and the cron jobs ran."""
    [start] = readme_blocks("background")
    [commands] = readme_blocks("")
    [crontab] = readme_blocks("crontab")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_", "SCRAPYD_"))}
    env.pop("PYTHONPATH", None)  # the jobs must run the deployed egg
    env.update(HOME=str(home), PATH=f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", SCRAPYD_URL=url,
               SCRAPYD_HTTP_PORT=str(port), TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    server = subprocess.Popen(["bash", "-euo", "pipefail", "-c", start], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for _ in range(150):
            try:
                get_json(url + "/daemonstatus.json")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        assert done.returncode == 0, done.stderr[-3000:]
        replies = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert [r["status"] for r in replies] == ["ok"] * 4, done.stdout
        good, refused = replies[1]["jobid"], replies[2]["jobid"]
        finished = {j["id"]: j for j in wait_finished(url, 2)}
        logs = home / "scrapyd" / "logs" / "newscrawl" / "tabnak"

        assert finished[refused]["log_url"] == f"/logs/newscrawl/tabnak/{refused}.log"
        with urllib.request.urlopen(url + finished[refused]["log_url"], timeout=10) as resp:
            assert resp.read().decode("utf-8").splitlines() == [
                "error: tabnak: since: '1397/13/01' is not a valid Jalali date"]
        good_log = (logs / f"{good}.log").read_text(encoding="utf-8")
        report = re.search(r"newscrawl report tabnak: .*", good_log)
        assert report and "22 stored" in report.group(0) and "exit code 0" in report.group(0), good_log[-3000:]
        with sqlite3.connect(home / "scrapyd" / "data" / "newscrawl.sqlite3") as conn:
            assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 22

        # the crontab: its variable lines, with SCRAPYD_URL as this server's, and its job lines' commands
        cron_env = dict(env)
        jobs = []
        for line in crontab.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if re.match(r"^[A-Z_]+=", line):
                name = line.split("=", 1)[0]
                cron_env.setdefault(name, line.split("=", 1)[1])
                continue
            fields = line.split(None, 5)
            assert len(fields) == 6 and "%" not in fields[5], line  # % is a newline to cron
            jobs.append(fields[5])
        assert len(jobs) == 2
        for command in jobs:
            ran = subprocess.run(["/bin/sh", "-c", command], cwd=home, env=cron_env, capture_output=True,
                                 text=True, timeout=30)
            assert ran.returncode == 0, (command, ran.stderr)
        finished = wait_finished(url, 4)
        cron_ids = [j["id"] for j in finished if j["id"] not in (good, refused)]
        assert len(cron_ids) == 2 and all(j["log_url"] for j in finished)
        outcomes = set()
        for job in cron_ids:
            log = (logs / f"{job}.log").read_text(encoding="utf-8")
            if re.search(r"newscrawl report tabnak: .*\(6 stored, .*exit code 0", log):
                outcomes.add("rss: the 6 articles only the feed lists")
            elif "health check failed for tabnak: Offline replay/every page asked for was recorded" in log:
                outcomes.add("yesterday: not in the offline snapshot, so failed")  # a live crawl would fetch it
        assert outcomes == {"rss: the 6 articles only the feed lists",
                            "yesterday: not in the offline snapshot, so failed"}
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        shutil.rmtree(ROOT / "build", ignore_errors=True)


def test_readme_curl_commands_never_send_plus_or_ampersand_raw():
    """Every curl in docs/operations.md: a `-d` value holds no `+`, `&`, `%` or space (curl would send it
    as it is, and the server reads `+` as a space); such values go through --data-urlencode."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    commands = [c.replace("\\\n", " ") for c in re.findall(r"curl (?:[^\n]*\\\n)*[^\n]*", text)]
    assert commands
    for command in commands:
        words = shlex.split(command.split("#")[0].split(">/dev/null")[0])
        for flag, value in zip(words, words[1:], strict=False):
            if flag in ("-d", "--data"):
                assert not re.search(r"[+&% ]", value), command
