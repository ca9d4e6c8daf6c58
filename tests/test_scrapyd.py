"""Deploy to a real Scrapyd with scrapyd-deploy, schedule `tabnak` against the local test site through
schedule.json, wait for it to finish, and check the items it wrote."""

import json
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
    proc = subprocess.Popen([sys.executable, "-m", "newscrawl.testsite", "--port", "0"], cwd=ROOT,
                            env=scrapy_env(), stdout=subprocess.PIPE, text=True)
    base = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def scrapyd(tmp_path):
    if not (BIN / "scrapyd").exists():
        pytest.fail("scrapyd is not installed in the virtual environment (requirements.txt)")
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home}/eggs\nlogs_dir = {home}/logs\nitems_dir = {home}/items\n"
        f"dbs_dir = {home}/dbs\nmax_proc = 1\npoll_interval = 0.5\n")
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, env=scrapy_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            get_json(url + "/daemonstatus.json")
            break
        except OSError:
            time.sleep(0.1)
    yield url, home
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
    from newscrawl.demo.build import MANIFEST

    assert sorted(i["news_code"] for i in items) == sorted(str(i) for i in MANIFEST["archive_good_ids"])
    assert all(i["url"].startswith(testsite) for i in items)
    log = (home / "logs" / "newscrawl" / "tabnak" / f"{job['jobid']}.log").read_text(encoding="utf-8")
    assert "newscrawl report tabnak" in log
    report = json.loads((tmp_path / "tabnak-stats.json").read_text(encoding="utf-8"))
    assert report["stored"] == len(items)
