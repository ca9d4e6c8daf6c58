"""Crawl: `scrapy crawl tabnak` of N generated articles on the local test site (JSON Lines + SQLite,
deduplication on) against bench/baseline_spider.py, which follows the same links and yields only URLs.
Same server, same concurrency, throttling off. Pages and time come from Scrapy's closing stats."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

from testkit.devservers import closing_stats
from testkit.testsite import clean_env, running

ROOT = Path(__file__).resolve().parents[1]
SINCE, UNTIL = "1397/04/29", "1397/04/30"
ARCHIVE = f"/gen/fa/archive?rpp=100&from_date={SINCE}&to_date={UNTIL}"  # IranSamanehSpider.archive_path
#: the same for both crawls: no throttling, one concurrency, robots.txt obeyed as in production
COMMON = {"AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0", "CONCURRENT_REQUESTS": "16",
          "CONCURRENT_REQUESTS_PER_DOMAIN": "16", "ROBOTSTXT_OBEY": "1", "LOG_LEVEL": "INFO",
          "TELNETCONSOLE_ENABLED": "0"}


@contextmanager
def test_site(articles: int):
    """`python -m testkit.testsite --articles N` on a free loopback port; yields (base URL, process)."""
    with running(articles) as (base, proc):
        yield base, psutil.Process(proc.pid)


def stat(log: str, key: str):
    """A number from Scrapy's closing stats dump in the log (None when absent)."""
    value = closing_stats(log).get(key)
    return float(value) if isinstance(value, int | float) else None


def peak_rss_kb(pid: int) -> int:
    """The kernel's high-water mark of the process's resident memory (VmHWM), 0 when unreadable.

    Not wait4's ru_maxrss: on Linux that also counts the forked copy of the parent before exec, so it
    would report the benchmark process's own size whenever that is larger than the crawl's."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float = 900) -> dict:
    """Run a crawl; its exit code, wall time, CPU time, peak RSS (VmHWM, read every 20 ms) and stats."""
    peak = 0
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while True:
            peak = max(peak, peak_rss_kb(proc.pid))  # before wait4: the process still exists
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                raise RuntimeError(f"{' '.join(cmd[:5])} ... took over {timeout} s; see {log}")
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} ... exited {proc.returncode}; see {log}\n{text[-2000:]}")
    if not peak:
        raise RuntimeError(f"could not read the peak memory of {' '.join(cmd[:5])} ... (/proc/PID/status)")
    pages = stat(text, "downloader/response_count")
    elapsed = stat(text, "elapsed_time_seconds")
    if not pages or not elapsed:
        raise RuntimeError(f"no closing stats in {log}")
    return {"pages": int(pages), "items": int(stat(text, "item_scraped_count") or 0), "elapsed_s": elapsed,
            "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": peak / 1024,
            "pages_per_s": pages / elapsed}


def _settings(extra: dict[str, str] | None = None) -> list[str]:
    args = []
    for name, value in {**COMMON, **(extra or {})}.items():
        args += ["-s", f"{name}={value}"]
    return args


def newscrawl_crawl(base: str, work: Path, tag: str, settings: dict[str, str] | None = None) -> dict:
    """`scrapy crawl tabnak` over the generated archive into a fresh JSON Lines file and SQLite database."""
    folder = work / tag
    folder.mkdir(parents=True, exist_ok=True)
    env = clean_env(NEWSCRAWL_DATA_DIR=str(folder / "data"),
                    NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3",
                    NEWSCRAWL_FEED=str(folder / "items.jsonl"))
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}/gen",
           "-a", "mode=archive", "-a", f"since={SINCE}", "-a", f"until={UNTIL}", *_settings(settings)]
    return run_measured(cmd, ROOT, env, folder / "crawl.log")


def baseline_crawl(base: str, work: Path, tag: str) -> dict:
    """The bare spider with Scrapy's default settings (run outside the project: no scrapy.cfg there)."""
    folder = work / tag
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(ROOT / "bench" / "baseline_spider.py"),
           "-a", f"start={base}{ARCHIVE}", *_settings()]
    return run_measured(cmd, folder, clean_env(), folder / "crawl.log")


def run(n: int, rounds: int) -> dict:
    """Alternate the two crawls `rounds` times against one server; medians of pages/s, and the median of
    the runs' ratios."""
    ours, theirs, server_cpu = [], [], []
    work = Path(tempfile.mkdtemp(prefix="newscrawl-bench-"))  # kept when something fails, for its logs
    with test_site(n) as (base, server):
        for i in range(rounds):
            before = sum(server.cpu_times()[:2])
            ours.append(newscrawl_crawl(base, work, f"newscrawl-{i}"))
            theirs_cpu = sum(server.cpu_times()[:2])
            theirs.append(baseline_crawl(base, work, f"baseline-{i}"))
            after = sum(server.cpu_times()[:2])
            server_cpu.append(((theirs_cpu - before) / ours[-1]["elapsed_s"],
                               (after - theirs_cpu) / theirs[-1]["elapsed_s"]))
    pages = {r["pages"] for r in ours}, {r["pages"] for r in theirs}
    if len(pages[0]) != 1 or len(pages[1]) != 1:
        raise RuntimeError(f"page counts differ between runs: {pages}; logs in {work}")
    if pages[0] != pages[1]:  # then the two did not do the same work, and the ratio would mean nothing
        raise RuntimeError(f"newscrawl fetched {pages[0]} pages, the baseline {pages[1]}; logs in {work}")
    shutil.rmtree(work, ignore_errors=True)
    ours_rate = statistics.median(r["pages_per_s"] for r in ours)
    theirs_rate = statistics.median(r["pages_per_s"] for r in theirs)
    return {
        "crawl_articles": n,
        "crawl_pages": ours[0]["pages"],
        "crawl_baseline_pages": theirs[0]["pages"],
        "crawl_items": ours[0]["items"],
        "crawl_pages_per_s": round(ours_rate, 1),
        "crawl_baseline_pages_per_s": round(theirs_rate, 1),
        # each run's rate against the baseline run just after it: drift of the machine's speed over the
        # benchmark then cancels out (as in the extraction benchmark)
        "crawl_ratio": round(statistics.median(a["pages_per_s"] / b["pages_per_s"]
                                               for a, b in zip(ours, theirs, strict=True)), 3),
        "crawl_rounds": rounds,
        "crawl_runs_pages_per_s": [round(r["pages_per_s"], 1) for r in ours],
        "crawl_baseline_runs_pages_per_s": [round(r["pages_per_s"], 1) for r in theirs],
        "crawl_server_cpu_share": round(statistics.median(c[0] for c in server_cpu), 2),
        "crawl_baseline_server_cpu_share": round(statistics.median(c[1] for c in server_cpu), 2),
        # CPU seconds of the whole process (startup included): less sensitive to other load than pages/s
        "crawl_cpu_s": round(statistics.median(r["cpu_s"] for r in ours), 2),
        "crawl_baseline_cpu_s": round(statistics.median(r["cpu_s"] for r in theirs), 2),
        "crawl_rss_mb": round(statistics.median(r["rss_mb"] for r in ours), 1),
        "crawl_baseline_rss_mb": round(statistics.median(r["rss_mb"] for r in theirs), 1),
    }
