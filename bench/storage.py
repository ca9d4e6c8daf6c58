"""Storage: items per second written by the pipelines to SQLite and to PostgreSQL, with the crawl's
batch size (NEWSCRAWL_DB_BATCH_SIZE). PostgreSQL is a throwaway local cluster, as in the tests; without
the server binaries that row is skipped with a note."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from scrapy import Spider
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from bench.extract import generated_pages
from newscrawl.offline import Extractor
from newscrawl.pipelines import DedupPipeline, StoragePipeline
from newscrawl.spiders.sites import TabnakSpider


def sample_items(count: int, site: str = "tabnak") -> list[dict]:
    """`count` distinct articles: real extractions of generated pages, with fresh news codes (unique per
    call, so a scratch database that is reused never turns the writes into duplicates)."""
    nonce = time.time_ns() // 1000 % 10**12
    pages = generated_pages(50)
    extractor = Extractor(TabnakSpider, get_project_settings(), pages[0][0])
    templates = [extractor.extract(body, url) for url, body in pages]
    items = []
    for i in range(count):
        item = dict(templates[i % len(templates)])
        item["site"], item["news_code"] = site, f"{nonce}{i:07d}"
        item["url"] = f"https://www.tabnak.ir/fa/news/{item['news_code']}"
        items.append(item)
    return items


def write_rate(url: str, items: list[dict], dedup: bool) -> float:
    """Items per second through StoragePipeline (after DedupPipeline when `dedup`), final flush included."""
    batch = get_project_settings().getint("NEWSCRAWL_DB_BATCH_SIZE")
    crawler = get_crawler(Spider, {"NEWSCRAWL_DATABASE_URL": url, "NEWSCRAWL_DB_BATCH_SIZE": batch})
    storage = StoragePipeline.from_crawler(crawler)
    check = DedupPipeline.from_crawler(crawler) if dedup else None
    if check:
        check.open_spider()
    storage.open_spider()  # creates the schema: not timed
    start = time.perf_counter()
    for item in items:
        storage.process_item(check.process_item(item) if check else item)
    storage.close_spider()
    elapsed = time.perf_counter() - start
    if crawler.stats.get_value("newscrawl/db/errors"):
        raise RuntimeError(f"database errors while writing to {url}")
    return len(items) / elapsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth); yields its URL, or None without binaries."""
    if os.environ.get("NEWSCRAWL_BENCH_POSTGRES_URL"):  # a scratch database of your own
        yield os.environ["NEWSCRAWL_BENCH_POSTGRES_URL"]
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        yield None
        return
    pgbin = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="newscrawl-bench-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    data = str(base / "data")
    try:
        subprocess.run([*as_pg, str(pgbin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--locale=C.UTF-8"], check=True, capture_output=True)
        subprocess.run([*as_pg, str(pgbin / "pg_ctl"), "-D", data, "-l", str(base / "pg.log"), "-w", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {base}", "start"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(pgbin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def run(quick: bool = False, postgres: bool = True) -> dict:
    count = 1000 if quick else 20_000
    items = sample_items(count, site="bench")  # rows written to a reused scratch database are recognisable
    results: dict = {"storage_items": count,
                     "storage_batch_size": get_project_settings().getint("NEWSCRAWL_DB_BATCH_SIZE")}
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-db-") as tmp:
        results["sqlite_items_per_s"] = round(write_rate(f"sqlite:///{tmp}/a.sqlite3", items, False))
        results["sqlite_dedup_items_per_s"] = round(write_rate(f"sqlite:///{tmp}/b.sqlite3", items, True))
    if not postgres:
        results["postgres_note"] = "skipped (--no-postgres)"
        return results
    with postgres_server() as url:
        if url is None:
            results["postgres_note"] = "skipped: PostgreSQL server binaries not found (apt-get install postgresql)"
            return results
        results["postgres_items_per_s"] = round(write_rate(url, items, False))
        # the same keys again would be duplicates: new ones for the dedup run
        results["postgres_dedup_items_per_s"] = round(write_rate(url, sample_items(count, "bench"), True))
    return results
