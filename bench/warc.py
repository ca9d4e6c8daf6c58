"""WARC backfill (issue 17): speed per process, against trafilatura, and peak memory at two sizes.

The WARC files are written by testkit.warcs (warcio, gzipped, one member a record) from the generated
articles the crawl benchmark uses (the compact pages the test site's /gen serves, about 11 KB), at their
real site's URLs (https://www.tabnak.ir/fa/news/<id>): a WARC backfill fetches nothing, so no server runs.

- `warc_articles_per_s` and `warc_trafilatura_per_s`: in this one process, the same records read with
  newscrawl.archives.warc.iter_pages, then either the offline extractor (newscrawl.offline.Extractor: the
  extraction the crawl uses, i.e. the site's page object with the capture date as its hint, then the
  crawl's clean-up pipelines, schema check and validation: the item a crawl stores) or trafilatura.extract
  with metadata (`with_metadata=True`, JSON output: title, date, author, text). Interleaved chunks of 100
  records, each side timed in CPU time of this process (time.process_time), reading included: the 2
  cores of the machine this was measured on are shared, and code waiting for a core is not slower code.
  `warc_vs_trafilatura` is their ratio (target at least 5).
- `warc_crawl_articles_per_s`: the crawl itself, `scrapy crawl tabnak -a warc=<file>` into a new SQLite
  database and JSON Lines feed (the same extraction plus Scrapy's engine, the pipelines, deduplication,
  storage and the feed), one process; articles stored per CPU second of that process (startup included),
  and per second of the engine's wall time (`warc_crawl_articles_per_wall_s`); `warc_crawl_vs_trafilatura`
  is the crawl's CPU rate over trafilatura's extraction alone (shown only: trafilatura stores nothing).
- `warc_rss_mb_small` / `warc_rss_mb_large`: peak RSS (VmHWM) of the crawl of 5,000 and of 50,000 records,
  and their ratio (target at most 1.5: memory is flat in the number of records).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.crash import FAST
from bench.crawl import run_measured
from testkit.testsite import clean_env, generated_article, generated_page
from testkit.warcs import Record, write_warc

ROOT = Path(__file__).resolve().parents[1]
SITE = "https://www.tabnak.ir"
CAPTURED_AT = "2018-07-22T05:00:00Z"
#: records per interleaved chunk of the in-process comparison
CHUNK = 100


def records(n: int, captured_at: str = CAPTURED_AT):
    """Generated articles 1..n as WARC records at the real site's article URLs, lazily."""
    for k in range(1, n + 1):
        yield Record(f"{SITE}/fa/news/{generated_article(k).id}", generated_page(k), captured_at)


def build(path: Path, n: int) -> Path:
    write_warc(path, records(n))
    return path


def crawl(warc: Path, work: Path) -> dict:
    """`scrapy crawl tabnak -a warc=<warc>` into a new database and feed; run_measured's numbers."""
    import sys

    data = work / "data"
    env = clean_env(NEWSCRAWL_DATA_DIR=str(data), NEWSCRAWL_DATABASE_URL=f"sqlite:///{work}/news.sqlite3")
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"warc={warc}", *FAST]
    result = run_measured(cmd, ROOT, env, work / "crawl.log", timeout=3600)
    lines = sum(1 for path in data.rglob("*.jsonl") for _ in path.open("rb"))
    if result["items"] != lines:
        raise RuntimeError(f"the crawl of {warc} stored {result['items']} articles but its feed has {lines}")
    return result


def compare(warc: Path, limit: int | None = None) -> dict:
    """The offline extractor and trafilatura over the same records of `warc`, in interleaved chunks."""
    import trafilatura
    from scrapy.utils.project import get_project_settings

    from newscrawl.archives.warc import ArchivedPage, iter_pages
    from newscrawl.offline import Extractor
    from newscrawl.spiders.sites import TabnakSpider

    extractor = Extractor(TabnakSpider, get_project_settings(), f"{SITE}/fa/news/1")
    spent = {"newscrawl": 0.0, "trafilatura": 0.0}
    done = {"newscrawl": 0, "trafilatura": 0}

    def newscrawl(chunk):
        for page in chunk:
            extractor.extract(page.body, page.url, captured_at=page.captured_at)

    def reference(chunk):
        for page in chunk:
            if trafilatura.extract(page.body, url=page.url, with_metadata=True, output_format="json") is None:
                raise RuntimeError(f"trafilatura found no text in {page.url}")

    def timed(name, work, chunk):
        start = time.process_time()
        work(chunk)
        spent[name] += time.process_time() - start
        done[name] += len(chunk)

    def read(pages):  # reading the WARC is part of each side's work: time it for both
        start = time.process_time()
        chunk = []
        for page in pages:
            if isinstance(page, ArchivedPage):
                chunk.append(page)
            if len(chunk) == CHUNK:
                break
        return chunk, time.process_time() - start

    pages = iter_pages(warc)
    total = 0
    while limit is None or total < limit:
        chunk, reading = read(pages)
        if not chunk:
            break
        total += len(chunk)
        for name in spent:
            spent[name] += reading
        timed("newscrawl", newscrawl, chunk)
        timed("trafilatura", reference, chunk)
    ours, theirs = (done[n] / spent[n] for n in ("newscrawl", "trafilatura"))
    return {"warc_compared_records": total, "warc_articles_per_s": ours, "warc_trafilatura_per_s": theirs,
            "warc_vs_trafilatura": ours / theirs}


def run(small: int = 5_000, large: int = 50_000, compared: int | None = None) -> dict:
    """Build the two WARC files, crawl each, compare with trafilatura on the small one's records."""
    with tempfile.TemporaryDirectory(prefix="newscrawl-warc-bench-") as folder:
        work = Path(folder)
        results: dict = {"warc_records_small": small, "warc_records_large": large}
        for size, name in ((small, "small"), (large, "large")):
            warc = build(work / f"{name}.warc.gz", size)
            results[f"warc_file_mb_{name}"] = warc.stat().st_size / 2**20
            (work / name).mkdir()
            measured = crawl(warc, work / name)
            if measured["items"] != size:
                raise RuntimeError(f"the crawl of {size} records stored {measured['items']} articles")
            results[f"warc_rss_mb_{name}"] = measured["rss_mb"]
            if name == "small":
                results["warc_crawl_articles_per_s"] = measured["items"] / measured["cpu_s"]
                results["warc_crawl_articles_per_wall_s"] = measured["items"] / measured["elapsed_s"]
                results.update(compare(warc, compared))
            else:
                results["warc_crawl_articles_per_s_large"] = measured["items"] / measured["cpu_s"]
            warc.unlink()
        results["warc_crawl_vs_trafilatura"] = results["warc_crawl_articles_per_s"] / results["warc_trafilatura_per_s"]
        results["warc_rss_ratio"] = results["warc_rss_mb_large"] / results["warc_rss_mb_small"]
    return results
