"""Smoke test of the benchmarks (`make bench`): a --quick run writes every key, and the two crawls
fetched the same pages. No timing is asserted: the numbers of a quick run are noise."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import REALPAGES, ROOT, scrapy_env

QUICK_ARTICLES = 120  # bench --quick: /gen with 120 articles, archive pages of 50 links


def run_bench(tmp_path, *args: str, **env: str) -> dict:
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--output", str(out), *args], cwd=ROOT,
                            env=scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), **env),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| measure" in result.stdout  # the table
    return json.loads(out.read_text(encoding="utf-8"))


def positive(results: dict, *keys: str) -> None:
    for key in keys:
        value = results.get(key)
        assert isinstance(value, int | float) and not isinstance(value, bool) and value > 0, (key, value)


@pytest.mark.e2e
def test_quick_bench_writes_every_key(tmp_path):
    # the crash section is the harness tests/test_crash.py runs at a small size
    r = run_bench(tmp_path, "--no-postgres", "--only", "extract,library,crawl,storage,memory")
    positive(r, "extract_ratio", "extract_gen_per_s", "extract_gen_baseline_per_s", "extract_compact_ratio",
             "crawl_ratio",
             "crawl_pages_per_s", "crawl_baseline_pages_per_s", "sqlite_items_per_s", "rss_mb_small",
             "rss_mb_large", "n_small", "n_large", "seen_set_bytes_per_url", "dupefilter_bytes_per_url")
    if (REALPAGES / "tabnak" / "article-1.html").is_file():  # the library row reads the real page, like the extraction row
        positive(r, "library_per_s", "library_url_from_page_per_s", "generic_ms_per_page",
                 "family_unknown_host_cost")
    else:
        assert r["library_note"] == "real page not found (set NEWSCRAWL_REALPAGES)"
    assert r["extract_ratio"] == min(r[k] for k in ("extract_real_ratio", "extract_gen_ratio") if k in r)
    assert r["n_small"] < r["n_large"]
    # robots.txt + 3 archive pages (120 articles, 50 a page) + 120 articles, for both crawls
    assert r["crawl_pages"] == r["crawl_baseline_pages"] == 1 + 3 + QUICK_ARTICLES
    assert r["crawl_items"] == QUICK_ARTICLES
    assert r["postgres_note"] == "skipped (--no-postgres)" and "postgres_items_per_s" not in r
    assert r["meta"]["quick"] is True
    assert not (tmp_path / "data" / "bench.json").exists()  # --output wins over NEWSCRAWL_DATA_DIR


@pytest.mark.postgres
def test_quick_storage_bench_on_postgres(tmp_path, postgres_url):
    scratch = f"bench_{uuid.uuid4().hex[:12]}"  # its own database on the session's server
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {scratch}"))
    engine.dispose()
    url = make_url(postgres_url).set(database=scratch).render_as_string(hide_password=False)
    r = run_bench(tmp_path, "--only", "storage", NEWSCRAWL_BENCH_POSTGRES_URL=url)
    positive(r, "sqlite_items_per_s", "postgres_items_per_s", "postgres_dedup_items_per_s")
    assert r["storage_items"] == 1000 and "crawl_ratio" not in r
    engine = create_engine(url)
    with engine.connect() as conn:  # both runs wrote to the scratch database: 1000 new rows each
        assert conn.execute(text("SELECT count(*) FROM articles WHERE site = 'bench'")).scalar() == 2000
    engine.dispose()


@pytest.mark.e2e
def test_quick_warc_bench_writes_its_keys(tmp_path):
    """`--only warc` at the quick sizes: WARC files of 100 and 200 records crawled whole (the bench checks
    that the feed has a line per stored article), and the same 100 records through trafilatura."""
    r = run_bench(tmp_path, "--only", "warc")
    positive(r, "warc_articles_per_s", "warc_trafilatura_per_s", "warc_vs_trafilatura", "warc_crawl_articles_per_s",
             "warc_crawl_articles_per_wall_s", "warc_crawl_vs_trafilatura", "warc_rss_mb_small", "warc_rss_mb_large",
             "warc_rss_ratio")
    assert (r["warc_records_small"], r["warc_records_large"], r["warc_compared_records"]) == (100, 200, 100)
    from bench.__main__ import table

    assert "full extraction / trafilatura.extract with metadata" in table(r)


def test_quick_stories_bench(tmp_path):
    """The story rows: quality on 300 labelled articles, the rebuild of 3,000 in a subprocess of its own."""
    r = run_bench(tmp_path, "--only", "stories")
    positive(r, "stories_precision", "stories_recall", "stories_rebuild_precision", "stories_rebuild_recall",
             "stories_copy_of_accuracy", "stories_100k_s", "stories_100k_cpu_s", "stories_rss_mb",
             "stories_assign_ms", "stories_assign_cpu_ms", "stories_assign_single_ms")
    for key in ("stories_precision", "stories_recall", "stories_rebuild_precision", "stories_rebuild_recall",
                "stories_copy_of_accuracy"):
        assert r[key] <= 1, key
    assert r["stories_eval_articles"] == 300 and r["stories_scale_articles"] == 3_000
    assert 100 < r["stories_eval_stories"] < 300
    assert "crawl_ratio" not in r and r["meta"]["quick"] is True


def test_unknown_section_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench", "--only", "extract,nope"], cwd=ROOT,
                            env=scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: unknown section 'nope'; known: extract, library, crawl, storage, "
                                     "memory, crash, warc, stories")
    assert not (tmp_path / "bench.json").exists()


def test_full_generated_pages_have_the_real_pages_weight_and_the_same_article(realpage):
    """The extraction benchmark's generated pages: the real article page's structure around the article
    (within a factor of two of its elements and bytes), and nothing in it changes what is extracted."""
    from lxml import etree
    from scrapy.utils.project import get_project_settings

    from newscrawl.offline import Extractor
    from newscrawl.spiders.sites import TabnakSpider
    from testkit.testsite import generated_article, generated_page

    real = realpage("tabnak/article-1.html")

    def elements(body: bytes) -> int:
        return sum(1 for _ in etree.fromstring(body, etree.HTMLParser()).iter(etree.Element))

    extractor = Extractor(TabnakSpider, get_project_settings(), "https://www.tabnak.ir/fa/news/1")
    for k in (1, 7, 10):
        full, compact = generated_page(k, full=True).encode(), generated_page(k).encode()
        assert elements(real) / 2 < elements(full) < elements(real) * 2
        assert len(real) / 2 < len(full) < len(real) * 2
        assert elements(compact) < elements(real) / 5
        url = f"https://www.tabnak.ir/fa/news/{generated_article(k).id}"
        one, other = extractor.extract(full, url), extractor.extract(compact, url)
        for item in (one, other):  # the time of the run
            item.pop("crawled_at"), item.pop("captured_at")
        assert one == other
        assert one["title"] and one["body"]
