"""Crash harness: kill an archive crawl of the local test site at random moments, rerun the same command
until it finishes, and count what the archive lost (issue 13).

Each scenario starts `scrapy crawl tabnak` over N generated articles, stops it `kills` times at a random
moment (SIGKILL; SIGTERM, the clean stop; or SIGTERM followed by SIGKILL a moment later, as Scrapyd's
cancel, systemd and `docker stop` do), and then lets the same command run to its end. It is run with and
without JOBDIR. Afterwards every article of the range must be in the database once and in the spider's
JSON Lines files (all of them, concatenated) once: `missing`, `duplicated` and `one_store_only` must be 0.

`python -m bench --only crash` runs the full size (20,000 articles, 8 stops per scenario);
tests/test_crash.py runs a small one.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from testkit.devservers import closing_stats
from testkit.testsite import GEN_ID_BASE, clean_env, running

ROOT = Path(__file__).resolve().parents[1]
SINCE, UNTIL = "1397/04/29", "1397/04/30"
FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=16",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "LOG_LEVEL=INFO")
STOPS = ("kill", "term", "term+kill")


def _command(base: str, jobdir: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}/gen",
           "-a", "mode=archive", "-a", f"since={SINCE}", "-a", f"until={UNTIL}", *FAST]
    return cmd + (["-s", f"JOBDIR={jobdir}"] if jobdir else [])


def _stop(proc: subprocess.Popen, how: str, rng: random.Random) -> None:
    if how == "kill":
        proc.kill()
    else:
        proc.send_signal(signal.SIGTERM)
        if how == "term+kill":
            time.sleep(rng.uniform(0.05, 1.0))
            if proc.poll() is None:
                proc.kill()
    proc.wait(timeout=300)


def audit(data: Path, database: Path, expected: set[str]) -> dict:
    """What the stores hold against `expected` news codes: every count but `stored` must be 0."""
    with sqlite3.connect(database) as db:
        stored = [row[0] for row in db.execute("SELECT news_code FROM articles WHERE site = 'tabnak'")]
    feed: Counter[str] = Counter()
    for path in sorted(data.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            feed[json.loads(line)["news_code"]] += 1
    in_db = set(stored)
    return {
        "stored": len(in_db),
        "missing": len(expected - in_db),
        "unexpected": len(in_db - expected),
        "duplicated": sum(1 for n in feed.values() if n > 1) + (len(stored) - len(in_db)),
        "one_store_only": len(in_db ^ set(feed)),
    }


def scenario(base: str, articles: int, kills: int, jobdir: bool, rng: random.Random, work: Path,
             max_wait: float) -> dict:
    """Stop one crawl `kills` times at random, then rerun it to its end; the audit and what happened."""
    data = work / "data"
    database = work / "news.sqlite3"
    env = clean_env(NEWSCRAWL_DATA_DIR=str(data), NEWSCRAWL_DATABASE_URL=f"sqlite:///{database}")
    cmd = _command(base, work / "job" if jobdir else None)
    stops: list[str] = []
    for i in range(kills):
        how = rng.choice(STOPS)
        with open(work / f"run-{i}.log", "w") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
            time.sleep(rng.uniform(0.5, max_wait))
            if proc.poll() is None:
                _stop(proc, how, rng)
                stops.append(how)
            else:
                stops.append("ended")
    finals = 0
    for finals in range(1, 4):  # a run stopped by SIGTERM may leave work for one more run
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        (work / f"final-{finals}.log").write_text(result.stderr, encoding="utf-8")
        if result.returncode == 0 and closing_stats(result.stderr).get("finish_reason") == "finished":
            break
    else:
        raise RuntimeError(f"the crawl did not finish after its stops; logs in {work}")
    expected = {str(GEN_ID_BASE + k) for k in range(1, articles + 1)}
    return {**audit(data, database, expected), "stops": stops, "final_runs": finals}


def run(articles: int = 20_000, kills: int = 8, seed: int | None = None, max_wait: float = 12.0) -> dict:
    """Both scenarios (without and with JOBDIR) against one test site; the numbers `make bench` reports."""
    seed = random.randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    results: dict = {"crash_articles": articles, "crash_stops": kills, "crash_seed": seed}
    with running(articles) as (base, _):
        for name, jobdir in (("plain", False), ("jobdir", True)):
            with tempfile.TemporaryDirectory(prefix=f"newscrawl-crash-{name}-") as folder:
                outcome = scenario(base, articles, kills, jobdir, rng, Path(folder), max_wait)
            for key, value in outcome.items():
                results[f"crash_{name}_{key}"] = value
    return results
