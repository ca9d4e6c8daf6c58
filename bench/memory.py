"""Memory: peak RSS of `scrapy crawl` (deduplication on) at two sizes, and what deduplication costs.

Three numbers answer "does dedup state grow with the articles?":
- the growth per crawled article between the two crawls (everything: Scrapy's queues and dupefilter,
  the spider's per-process URL set, stats);
- the growth per *known* article: the small crawl again, against a database already holding many
  articles. DedupPipeline and incremental crawling ask the database, so this should be about zero;
- the in-process sets, measured directly (sys.getsizeof): the spider's `seen` URLs and Scrapy's
  dupefilter fingerprints (both per URL requested in this process, not per known article).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from scrapy import Request
from scrapy.utils.request import RequestFingerprinter

from bench.crawl import newscrawl_crawl, test_site
from bench.storage import sample_items
from newscrawl.storage import ArticleStore
from newscrawl.testsite import GEN_PREFIX, generated_article


def _bytes_per_entry(entries: list) -> float:
    """Bytes a set of these objects holds per entry: the hash table plus the objects themselves."""
    kept = set(entries)
    return (sys.getsizeof(kept) + sum(sys.getsizeof(e) for e in kept)) / len(kept)


def per_url_state(base: str, count: int) -> dict:
    """The spider's `seen` set holds hashes of the URLs (ints); the dupefilter 20-byte fingerprints."""
    def url(k: int) -> str:
        article = generated_article(k)
        return f"{base}{GEN_PREFIX}/fa/news/{article.id}/{article.slug}"

    urls = [url(k) for k in range(1, count + 1)]
    fingerprint = RequestFingerprinter().fingerprint
    return {"seen_set_bytes_per_url": round(_bytes_per_entry([hash(u) for u in urls])),
            "dupefilter_bytes_per_url": round(_bytes_per_entry([fingerprint(Request(u)) for u in urls]))}


def prefill(db_url: str, known: int) -> None:
    """`known` stored tabnak articles whose codes are not on the test site."""
    store = ArticleStore(db_url, batch_size=5000).open()
    template = sample_items(1)[0]
    for i in range(known):
        code = str(5_000_000 + i)
        store.add({**template, "news_code": code, "url": f"https://www.tabnak.ir/fa/news/{code}"})
    store.close()


def run(n_small: int, n_large: int, known: int) -> dict:
    results: dict = {"n_small": n_small, "n_large": n_large, "known_articles": known}
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-mem-") as tmp:
        work = Path(tmp)
        with test_site(n_small) as (base, _):
            small = newscrawl_crawl(base, work, "small")
            known_dir = work / "known"
            known_dir.mkdir()
            prefill(f"sqlite:///{known_dir}/news.sqlite3", known)
            with_known = newscrawl_crawl(base, work, "known")
        with test_site(n_large) as (base, _):
            large = newscrawl_crawl(base, work, "large")
    for run_, n in ((small, n_small), (with_known, n_small), (large, n_large)):
        if run_["items"] != n:
            raise RuntimeError(f"memory crawl stored {run_['items']} of {n} articles")
    results["rss_mb_small"] = round(small["rss_mb"], 1)
    results["rss_mb_large"] = round(large["rss_mb"], 1)
    results["rss_mb_small_with_known"] = round(with_known["rss_mb"], 1)
    results["bytes_per_article"] = round((large["rss_mb"] - small["rss_mb"]) * 2**20 / (n_large - n_small))
    results["bytes_per_known_article"] = round((with_known["rss_mb"] - small["rss_mb"]) * 2**20 / known, 1)
    results.update(per_url_state("http://127.0.0.1:65535", n_large))
    return results
