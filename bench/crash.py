"""Crash harness: kill an archive crawl of the local test site at random moments, rerun the same command
until it finishes, and count what the archive lost (issue 13).

Each scenario starts `scrapy crawl tabnak` over N generated articles, stops it `kills` times at a random
moment (SIGKILL; SIGTERM, the clean stop; or SIGTERM followed by SIGKILL a moment later, as Scrapyd's
cancel, systemd and `docker stop` do), and then lets the same command run to its end. It is run with and
without JOBDIR. Afterwards every article of the range must be in the database once and in the spider's
JSON Lines files (all of them, concatenated) once: `missing`, `duplicated` and `one_store_only` must be 0.

`warc_scenario` does the same to a WARC backfill (issue 17): `scrapy crawl tabnak -a warc=<file>` with
JOBDIR, SIGKILLed at random moments. Its file repeats some articles with an earlier capture a little later,
so replacements (newscrawl.db.store.better) happen while it is killed: each article must end as its
earliest capture in the database, and the feeds' best line of each must be that copy (`audit_copies`).

`python -m bench --only crash` runs the full size (20,000 articles, 8 stops per scenario; a WARC of
20,000 articles, 4 kills); tests/test_crash.py runs small ones.
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


# -- a WARC backfill (issue 17) ----------------------------------------------------------------------------
WARC_LATE, WARC_EARLY = "2019-03-01T12:00:00Z", "2018-07-22T05:00:00Z"
#: every this many articles, an earlier capture of one comes again a little later in the file
WARC_REPEAT = 50


def build_warc(path: Path, articles: int) -> tuple[dict[str, str], int]:
    """A WARC of `articles` generated articles captured at WARC_LATE, with an earlier capture (WARC_EARLY)
    of every WARC_REPEAT-th one 25 records after it; the archive_ref each article must end with (its
    earliest capture: newscrawl.db.store.better), and the number of records."""
    from bench.warc import SITE
    from testkit.testsite import generated_article, generated_page
    from testkit.warcs import Record, write_warc

    order: list[tuple[int, str]] = []
    for k in range(1, articles + 1):
        order.append((k, WARC_LATE))
        if k > 25 and (k - 25) % WARC_REPEAT == 0:
            order.append((k - 25, WARC_EARLY))
    records = (Record(f"{SITE}/fa/news/{generated_article(k).id}", generated_page(k), at) for k, at in order)
    offsets = write_warc(path, records)
    expected: dict[str, str] = {}
    for (k, _), offset in zip(order, offsets, strict=True):
        expected[str(generated_article(k).id)] = f"{path.name}#{offset}"  # the later record is the earlier capture
    return expected, len(order)


def audit_copies(data: Path, database: Path, expected: dict[str, str]) -> dict:
    """audit() for a backfill with replaced copies: `duplicated` counts a copy (news code and archive_ref)
    twice in the feeds or a code twice in the database, `wrong_copy` a row that is not the article's
    expected copy, `stale` an article whose best feed line (newscrawl.db.store.better) is not the row's
    copy. Every count but `stored` must be 0."""
    from newscrawl.db.store import better

    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT news_code, archive_ref FROM articles WHERE site = 'tabnak'").fetchall()
    stored = dict(rows)
    copies: Counter[tuple] = Counter()
    best: dict[str, dict] = {}
    for path in sorted(data.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            copies[(item["news_code"], item["archive_ref"])] += 1
            if item["news_code"] not in best or better(item, best[item["news_code"]]):
                best[item["news_code"]] = item
    return {
        "stored": len(stored),
        "missing": len(expected.keys() - stored.keys()),
        "unexpected": len(stored.keys() - expected.keys()),
        "duplicated": sum(1 for n in copies.values() if n > 1) + (len(rows) - len(stored)),
        "one_store_only": len(stored.keys() ^ best.keys()),
        "wrong_copy": sum(1 for code, ref in stored.items() if expected.get(code, ref) != ref),
        "stale": sum(1 for code, item in best.items() if code in stored and item["archive_ref"] != stored[code]),
    }


def warc_scenario(articles: int, kills: int, rng: random.Random, work: Path, max_wait: float) -> dict:
    """`scrapy crawl tabnak -a warc=<file>` with JOBDIR into SQLite and JSON Lines, SIGKILLed `kills` times
    at random moments, then rerun to its end; audit_copies and what happened."""
    warc = work / "backfill.warc.gz"
    expected, records = build_warc(warc, articles)
    data, database = work / "data", work / "news.sqlite3"
    env = clean_env(NEWSCRAWL_DATA_DIR=str(data), NEWSCRAWL_DATABASE_URL=f"sqlite:///{database}")
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"warc={warc}", *FAST,
           "-s", f"JOBDIR={work / 'job'}"]
    stops: list[str] = []
    stored_at_kills: list[int] = []
    for i in range(kills):
        with open(work / f"run-{i}.log", "w") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
            before = _rows(database)
            _storing(proc, database, before)  # a process start takes seconds: kill while it stores
            time.sleep(rng.uniform(0.1, max_wait))
            if proc.poll() is None:
                _stop(proc, "kill", rng)
                stops.append("kill")
                stored_at_kills.append(_rows(database))
            else:
                stops.append("ended")
    finals = 0
    for finals in range(1, 3):
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
        (work / f"final-{finals}.log").write_text(result.stderr, encoding="utf-8")
        if result.returncode == 0 and closing_stats(result.stderr).get("finish_reason") == "finished":
            break
    else:
        raise RuntimeError(f"the backfill did not finish after its stops; logs in {work}")
    return {**audit_copies(data, database, expected), "records": records,
            "stops": stops, "stored_at_kills": stored_at_kills, "final_runs": finals}


def _rows(database: Path) -> int:
    """Rows in the `articles` table while a crawl may be writing it (0 until it exists)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def _storing(proc: subprocess.Popen, database: Path, before: int, timeout: float = 300.0) -> None:
    """Wait until the crawl has stored something (or ended)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline and _rows(database) <= before:
        time.sleep(0.05)


def run_warc(articles: int = 20_000, kills: int = 4, seed: int | None = None, max_wait: float = 45.0) -> dict:
    """The WARC backfill scenario; the numbers `make bench` reports (crash_warc_*)."""
    seed = random.randrange(1 << 30) if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="newscrawl-crash-warc-") as folder:
        outcome = warc_scenario(articles, kills, random.Random(seed), Path(folder), max_wait)
    return {"crash_warc_seed": seed, **{f"crash_warc_{key}": value for key, value in outcome.items()}}
