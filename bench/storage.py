"""Storage: items per second written by the pipelines to SQLite and to PostgreSQL, with the crawl's
batch size (NEWSCRAWL_DB_BATCH_SIZE). PostgreSQL is a throwaway local cluster, as in the tests; without
the server binaries that row is skipped with a note."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from contextlib import contextmanager

from scrapy import Spider
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from bench.extract import generated_pages
from newscrawl.offline import Extractor
from newscrawl.pipelines.store import DedupPipeline, StoragePipeline
from newscrawl.spiders.sites import TabnakSpider
from testkit.devservers import postgres_cluster


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
    project = get_project_settings()
    crawler = get_crawler(Spider, {"NEWSCRAWL_DATABASE_URL": url,
                                   **{name: project[name] for name in (
                                       "NEWSCRAWL_DB_BATCH_SIZE", "NEWSCRAWL_DB_FLUSH_SECONDS",
                                       "NEWSCRAWL_DB_RETRY_SECONDS")}})
    storage = StoragePipeline.from_crawler(crawler)
    check = DedupPipeline.from_crawler(crawler) if dedup else None
    if check:
        check.open_spider()
    storage.open_spider()  # creates the schema: not timed
    start = time.perf_counter()

    async def drive():  # process_item awaits its batch's commit, as in a crawl
        await asyncio.gather(*(storage.process_item(check.process_item(i) if check else i) for i in items))
        await storage.close_spider()

    asyncio.run(drive())
    elapsed = time.perf_counter() - start
    if crawler.stats.get_value("newscrawl/db/errors"):
        raise RuntimeError(f"database errors while writing to {url}")
    return len(items) / elapsed


@contextmanager
def postgres_server():
    """NEWSCRAWL_BENCH_POSTGRES_URL (a scratch database of your own), else a throwaway cluster; None
    without PostgreSQL's binaries."""
    if os.environ.get("NEWSCRAWL_BENCH_POSTGRES_URL"):
        yield os.environ["NEWSCRAWL_BENCH_POSTGRES_URL"]
        return
    with postgres_cluster(prefix="newscrawl-bench-pg-") as url:
        yield url


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
