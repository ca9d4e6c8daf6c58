"""Extraction: the full path (the site's page object with its normalization and date, then sanitizing,
the schema check and validation: newscrawl.offline.Extractor) against a bare parsel baseline that parses
the page and takes the title and body text with two selectors. Same pages, same process, interleaved
rounds; the median of each side is reported."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import parsel
from scrapy.utils.project import get_project_settings

from newscrawl.offline import Extractor
from newscrawl.spiders.sites import TabnakSpider
from testkit.testsite import generated_article, generated_page

ROOT = Path(__file__).resolve().parents[1]
REAL_URL = "https://www.tabnak.ir/fa/news/818242"
TITLE, BODY = "h1.Htag ::text", ".body ::text"  # the baseline's two selectors


def real_page() -> bytes | None:
    """The real Tabnak article from NEWSCRAWL_REALPAGES (or ../shared/realpages), None when absent."""
    base = Path(os.environ.get("NEWSCRAWL_REALPAGES", ROOT.parent / "shared" / "realpages"))
    path = base / "tabnak" / "article-1.html"
    return path.read_bytes() if path.is_file() else None


def generated_pages(count: int, full: bool = True) -> list[tuple[str, bytes]]:
    """Generated articles with the real page's structure around the article (menus, sidebar lists,
    comments, footer: about 1,000 elements, 100 KB); with `full=False`, the compact pages /gen serves
    (about 120 elements, 11 KB), on which the fixed cost per article dominates."""
    pages = []
    for k in range(1, count + 1):
        body = generated_page(k, full).encode("utf-8")
        pages.append((f"https://www.tabnak.ir/fa/news/{generated_article(k).id}", body))
    return pages


def baseline(body: bytes) -> tuple[str, str]:
    """The cheapest extraction: parse, one selector for the title, one for the body text."""
    sel = parsel.Selector(body=body, encoding="utf-8")
    return " ".join(sel.css(TITLE).getall()), " ".join(sel.css(BODY).getall())


def _rate(func, pages: list[tuple[str, bytes]], seconds: float) -> float:
    """Pages per second over whole passes through `pages`, for at least `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        for url, body in pages:
            func(url, body)
        done += len(pages)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def compare(pages: list[tuple[str, bytes]], extractor: Extractor, rounds: int, seconds: float) -> dict:
    """Both sides in `rounds` short pairs (ours, then the baseline, `seconds` each): a burst of machine noise
    then hits one pair, not one side. The ratio is the median of the pairs' ratios; the rates are the
    medians of each side's."""
    for url, body in pages:  # warm-up, and a check that both sides really extract something
        item = extractor.extract(body, url)
        title, text = baseline(body)
        if not (item["title"] and item["body"] and title.strip() and text.strip()):
            raise RuntimeError(f"no title or body extracted from {url}")
    full, bare = [], []
    for _ in range(rounds):
        full.append(_rate(lambda url, body: extractor.extract(body, url), pages, seconds))
        bare.append(_rate(lambda url, body: baseline(body), pages, seconds))
    ratio = statistics.median(ours / theirs for ours, theirs in zip(full, bare, strict=True))
    return {"per_s": round(statistics.median(full), 1), "baseline_per_s": round(statistics.median(bare), 1),
            "ratio": round(ratio, 3)}


def run(quick: bool = False) -> dict:
    extractor = Extractor(TabnakSpider, get_project_settings(), REAL_URL)
    rounds, seconds = (3, 0.05) if quick else (40, 0.1)
    results: dict = {}
    real = real_page()
    if real is not None:
        for key, value in compare([(REAL_URL, real)], extractor, rounds, seconds).items():
            results[f"extract_real_{key}"] = value
    else:
        results["extract_real_note"] = "real page not found (set NEWSCRAWL_REALPAGES)"
    count = 20 if quick else 200
    for key, value in compare(generated_pages(count), extractor, rounds, seconds).items():
        results[f"extract_gen_{key}"] = value
    ratios = [results[k] for k in ("extract_real_ratio", "extract_gen_ratio") if k in results]
    results["extract_ratio"] = min(ratios)  # the worse of the two page kinds
    # shown, not part of extract_ratio: the compact pages are a tenth of a real page, so what they
    # measure is the fixed cost per article (item loader, pipelines), not extraction from a page
    for key, value in compare(generated_pages(count, full=False), extractor, rounds, seconds).items():
        results[f"extract_compact_{key}"] = value
    return results
