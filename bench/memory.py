"""Memory: peak RSS of `scrapy crawl` (deduplication on) at two sizes, and what deduplication costs.

Three numbers answer "does dedup state grow with the articles?":
- the growth per crawled article between the two crawls (everything: Scrapy's queues and dupefilter,
  the spider's per-process URL set, stats);
- the growth per *known* article: the small crawl again, against a database already holding many
  articles. DedupPipeline and incremental crawling ask the database, so this should be about zero;
- the in-process sets, measured directly (sys.getsizeof): the spider's `seen` URLs and Scrapy's
  dupefilter fingerprints (both per URL requested in this process, not per known article).

And one for bounds (issue 13): the peak RSS of a crawl of one archive page with 100,000 article links
(`listing_100k_rss_mb`, target under 200). The links lead to 404s on the test site, the cheapest pages; the
crawl stops after LISTING_PAGES responses: the peak comes when the listing is read, and later growth is per
requested URL (the spider's URL set and the dupefilter, about 200 bytes each), which the rows above measure.
A whole run of the 100,000 404s takes about 6 minutes on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from scrapy import Request
from scrapy.utils.request import RequestFingerprinter

from bench.crawl import SINCE, UNTIL, _settings, newscrawl_crawl, run_measured, test_site
from bench.storage import sample_items
from newscrawl.db.store import ArticleStore
from testkit.devservers import closing_stats
from testkit.testsite import GEN_PREFIX, clean_env, generated_article

ROOT = Path(__file__).resolve().parents[1]
LISTING_LINKS = 100_000
#: responses before the listing crawl stops (see the module docstring)
LISTING_PAGES = 20_000


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


def listing_crawl(links: int, pages: int | None) -> dict:
    """`scrapy crawl tabnak` over the test site's /listing/<links>/missing archive page (one page of `links`
    links to 404s), stopped after `pages` responses (None: all); its peak RSS and what the listing did."""
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-listing-") as tmp, test_site(0) as (base, _):
        folder = Path(tmp)
        env = clean_env(NEWSCRAWL_DATA_DIR=str(folder / "data"),
                        NEWSCRAWL_DATABASE_URL=f"sqlite:///{folder}/news.sqlite3",
                        NEWSCRAWL_FEED=str(folder / "items.jsonl"))
        extra = {"SPIDERMON_ENABLED": "0"}  # 404s only: the health check would fail the crawl for no items
        if pages:
            extra["CLOSESPIDER_PAGECOUNT"] = str(pages)
        cmd = [sys.executable, "-m", "scrapy", "crawl", "tabnak", "-a", f"base_url={base}/listing/{links}/missing",
               "-a", "mode=archive", "-a", f"since={SINCE}", "-a", f"until={UNTIL}", *_settings(extra)]
        measured = run_measured(cmd, ROOT, env, folder / "crawl.log", timeout=1800)
        stats = closing_stats((folder / "crawl.log").read_text(encoding="utf-8", errors="replace"))
    listed = stats.get("newscrawl/listing/archive_links")
    if listed != links + links // 10:  # every 10th link is listed twice
        raise RuntimeError(f"the listing crawl read {listed} links, not {links + links // 10}")
    return {"listing_links": links, "listing_pages": measured["pages"],
            "listing_100k_rss_mb": round(measured["rss_mb"], 1),
            "listing_scanned": int(stats.get("newscrawl/listing/scanned") or 0),
            "listing_backlog_max": int(stats.get("newscrawl/listing/backlog_max") or 0)}
