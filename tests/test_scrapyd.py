"""Deploy to a real Scrapyd with scrapyd-deploy, schedule `tabnak` against the local test site through
schedule.json, wait for it to finish, and check the items it wrote."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, scrapy_env

pytestmark = pytest.mark.scrapyd

BIN = Path(sys.executable).parent


def get_json(url, data=None):
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=10) as resp:
        return json.loads(resp.read().decode())


@pytest.fixture
def testsite():
    proc = subprocess.Popen([sys.executable, "-m", "testkit.testsite", "--port", "0"], cwd=ROOT,
                            env=scrapy_env(), stdout=subprocess.PIPE, text=True)
    base = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def scrapyd(tmp_path):
    with start_scrapyd(tmp_path) as server:
        yield server


@contextlib.contextmanager
def start_scrapyd(tmp_path, **env):
    """A real Scrapyd on a free loopback port, in its own folder, with `env` added to its environment
    (which every job inherits); yields (its URL, its folder)."""
    if not (BIN / "scrapyd").exists():
        pytest.fail("scrapyd is not installed in the virtual environment (requirements.txt)")
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home}/eggs\nlogs_dir = {home}/logs\nitems_dir = {home}/items\n"
        f"dbs_dir = {home}/dbs\nmax_proc = 1\npoll_interval = 0.5\n")
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, env=scrapy_env(**env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            get_json(url + "/daemonstatus.json")
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield url, home
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_deploy_schedule_and_collect(tmp_path, scrapyd, testsite):
    url, home = scrapyd
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    # a deploy target for this server only; the project's own scrapy.cfg is read too
    (xdg / "scrapy.cfg").write_text(f"[deploy:pytest]\nurl = {url}\nproject = newscrawl\n")
    env = scrapy_env(XDG_CONFIG_HOME=str(xdg), PATH=f"{BIN}:/usr/bin:/bin")
    deploy = subprocess.run([str(BIN / "scrapyd-deploy"), "pytest"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert deploy.returncode == 0, deploy.stderr[-2000:]
    assert '"status": "ok"' in deploy.stdout + deploy.stderr
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert "tabnak" in get_json(f"{url}/listspiders.json?project=newscrawl")["spiders"]

    db = tmp_path / "news.sqlite3"
    job = get_json(url + "/schedule.json", {
        "project": "newscrawl", "spider": "tabnak", "mode": "archive", "since": "1397/04/29",
        "until": "1397/04/30", "base_url": testsite,
        "setting": [f"NEWSCRAWL_DATABASE_URL=sqlite:///{db}", f"NEWSCRAWL_DATA_DIR={tmp_path}",
                    "AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0"],
    })
    assert job["status"] == "ok", job
    for _ in range(600):
        jobs = get_json(f"{url}/listjobs.json?project=newscrawl")
        if any(j["id"] == job["jobid"] for j in jobs["finished"]):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"job did not finish: {jobs}")
    items_file = home / "items" / "newscrawl" / "tabnak" / f"{job['jobid']}.jl"
    items = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()]
    from testkit.demo.build import MANIFEST

    assert sorted(i["news_code"] for i in items) == sorted(str(i) for i in MANIFEST["archive_good_ids"])
    assert all(i["url"].startswith(testsite) for i in items)
    log = (home / "logs" / "newscrawl" / "tabnak" / f"{job['jobid']}.log").read_text(encoding="utf-8")
    assert "newscrawl report tabnak" in log
    report = json.loads((tmp_path / "tabnak-stats.json").read_text(encoding="utf-8"))
    assert report["stored"] == len(items)


def deploy(tmp_path, url: str) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(exist_ok=True)
    (xdg / "scrapy.cfg").write_text(f"[deploy:pytest]\nurl = {url}\nproject = newscrawl\n")
    env = scrapy_env(XDG_CONFIG_HOME=str(xdg), PATH=f"{BIN}:/usr/bin:/bin")
    result = subprocess.run([str(BIN / "scrapyd-deploy"), "pytest"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]


def wait_finished(url: str, jobids: list[str]) -> dict[str, dict]:
    for _ in range(1200):
        jobs = get_json(f"{url}/listjobs.json?project=newscrawl")
        finished = {j["id"]: j for j in jobs["finished"]}
        if all(job in finished for job in jobids):
            return finished
        time.sleep(0.2)
    pytest.fail(f"jobs did not finish: {jobs}")


def test_jobs_refused_at_start_have_a_log_with_the_reason(tmp_path, scrapyd):
    """A bad argument, a SQLite folder that does not exist, a password passed as a setting: each job is
    listed as finished with a log_url, and the log holds exactly its one reason line (no password)."""
    url, home = scrapyd
    deploy(tmp_path, url)
    cases = {
        "error: tabnak: since: '1397/13/01' is not a valid Jalali date": {"since": "1397/13/01"},
        f"error: cannot open database sqlite:///{tmp_path}/nope/x.sqlite3: the folder {tmp_path}/nope does not "
        f"exist (create it; only the data folder {home}/data is created)":  # data/ in Scrapyd's folder
            {"setting": f"NEWSCRAWL_DATABASE_URL=sqlite:///{tmp_path}/nope/x.sqlite3"},
        "error: NEWSCRAWL_DATABASE_URL postgresql://***@127.0.0.1:9/news holds a password and came as a Scrapyd "
        "setting; give it to Scrapyd's environment (NEWSCRAWL_DATABASE_URL or NEWSCRAWL_DATABASE_URL_FILE)":
            {"setting": "NEWSCRAWL_DATABASE_URL=postgresql://news:hunter2@127.0.0.1:9/news"},
    }
    jobs = {}
    for line, fields in cases.items():
        reply = get_json(url + "/schedule.json", {"project": "newscrawl", "spider": "tabnak", **fields})
        assert reply["status"] == "ok", reply
        jobs[reply["jobid"]] = line
    finished = wait_finished(url, list(jobs))
    for job, line in jobs.items():
        assert finished[job]["log_url"] == f"/logs/newscrawl/tabnak/{job}.log"
        with urllib.request.urlopen(url + finished[job]["log_url"], timeout=10) as resp:
            assert resp.read().decode("utf-8").splitlines() == [line]
    assert not (tmp_path / "nope").exists()


SECRET = "S3cr@t/pw:x!"  # with @, / and : in it


def password_role(postgres_url: str) -> str:
    """A role with a password and a database it owns, in the test cluster; password authentication for that
    role when the cluster's pg_hba.conf can be edited (the fixture's cluster trusts loopback otherwise).
    Returns the URL with the password, as an operator writes it (raw @ and /)."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"news{os.getpid()}"
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {name}"))
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{SECRET}'"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {name}"))
        hba = conn.execute(text("SHOW hba_file")).scalar_one()
        try:
            rules = Path(hba).read_text()
            Path(hba).write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + rules)
            conn.execute(text("SELECT pg_reload_conf()"))
        except OSError:
            pass
    engine.dispose()
    server = make_url(postgres_url)
    raw = f"postgresql://{name}:{SECRET}@{server.host}:{server.port}/{name}"
    with contextlib.suppress(OSError):
        if Path(hba).read_text().startswith(f"host all {name} "):  # the password is really checked
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(host=server.host, port=server.port, user=name, password="wrong", dbname=name,
                                connect_timeout=5).close()
    return raw


@pytest.mark.postgres
def test_database_password_never_shows(tmp_path, testsite, postgres_url):
    """Scrapyd gets the database URL only through NEWSCRAWL_DATABASE_URL_FILE: the job stores its
    articles in PostgreSQL (so the password worked), and neither listjobs.json, nor the job's log, nor its
    stats files, nor its feed, nor the `crawls` row hold the password or a piece of it."""
    from sqlalchemy import create_engine, text

    from newscrawl.db import url as dburl
    from testkit.demo.build import MANIFEST

    raw = password_role(postgres_url)
    secret_file = tmp_path / "database-url"
    secret_file.write_text(raw + "\n")
    secret_file.chmod(0o600)
    data = tmp_path / "data"
    with start_scrapyd(tmp_path, NEWSCRAWL_DATABASE_URL_FILE=str(secret_file), NEWSCRAWL_DATA_DIR=str(data)) \
            as (url, home):
        deploy(tmp_path, url)
        job = get_json(url + "/schedule.json", {
            "project": "newscrawl", "spider": "tabnak", "mode": "archive", "since": "1397/04/29",
            "until": "1397/04/30", "base_url": testsite, "setting": ["AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0"],
        })
        assert job["status"] == "ok", job
        pending = json.dumps(get_json(f"{url}/listjobs.json?project=newscrawl"))
        finished = wait_finished(url, [job["jobid"]])
        listed = pending + json.dumps(get_json(f"{url}/listjobs.json?project=newscrawl"))
        assert finished[job["jobid"]]["log_url"]
    log = (home / "logs" / "newscrawl" / "tabnak" / f"{job['jobid']}.log").read_text(encoding="utf-8")
    assert "newscrawl report tabnak" in log, log[-3000:]

    engine = create_engine(dburl.normalize(raw))
    with engine.connect() as conn:
        codes = set(conn.execute(text("SELECT news_code FROM articles")).scalars())
        crawls = json.dumps([dict(r) for r in conn.execute(text("SELECT * FROM crawls")).mappings()], default=str)
    engine.dispose()
    assert codes == {str(i) for i in MANIFEST["archive_good_ids"]}
    files = [p for p in [*data.rglob("*"), *(home / "items").rglob("*")] if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and any(p.suffix == ".jl" for p in files)  # stats, items
    outputs = {"listjobs.json": listed, "log": log, "crawls": crawls,
               **{str(p): p.read_text(encoding="utf-8", errors="replace") for p in files}}
    pieces = [SECRET] + [SECRET[i:i + 4] for i in range(len(SECRET) - 3)]
    for where, text_ in outputs.items():
        for piece in pieces:
            assert piece not in text_, f"{piece!r} in {where}"
