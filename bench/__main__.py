"""`python -m bench [--quick] [--output PATH] [--only SECTION,...]`: run the benchmarks, print a table and
write the numbers as JSON (default $NEWSCRAWL_DATA_DIR/bench.json, i.e. data/bench.json). Sections: extract,
library, crawl, storage, memory, crash, warc, stories."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawl.settings")

SECTIONS = ("extract", "library", "crawl", "storage", "memory", "crash", "warc", "stories")


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def table(r: dict) -> str:
    """The results as a Markdown table (docs/performance.md shows one)."""
    rows = [("measure", "newscrawl", "baseline", "ratio", "target")]

    def add(name, ours, base=None, ratio=None, target=""):
        rows.append((name, ours, base or "", ratio or "", target))

    if "extract_gen_ratio" in r:
        if "extract_real_ratio" in r:
            add("extraction, real Tabnak article (articles/s)", _num(r["extract_real_per_s"]),
                _num(r["extract_real_baseline_per_s"]), _num(r["extract_real_ratio"], 2), "ratio ≥ 0.5")
        add("extraction, generated articles, real page structure (articles/s)", _num(r["extract_gen_per_s"]),
            _num(r["extract_gen_baseline_per_s"]), _num(r["extract_gen_ratio"], 2), "ratio ≥ 0.5")
        if "extract_compact_ratio" in r:
            add("extraction, compact generated pages, as /gen serves (articles/s)",
                _num(r["extract_compact_per_s"]), _num(r["extract_compact_baseline_per_s"]),
                _num(r["extract_compact_ratio"], 2), "(shown only)")
    if "library_per_s" in r:
        add("extract() as a library, real Tabnak article, URL given / from the page (articles/s)",
            f"{_num(r['library_per_s'])} / {_num(r['library_url_from_page_per_s'])}")
    elif "library_note" in r:
        add("extract() as a library, real Tabnak article", r["library_note"])
    if "generic_ms_per_page" in r:
        add("generic page, real Tabnak article (ms per page)", _num(r["generic_ms_per_page"], 1), target="≤ 40")
        add("family page on an undeclared host, cost relative to the declared site's", "",
            ratio=_num(r["family_unknown_host_cost"], 2), target="≤ 2")
    if "crawl_ratio" in r:
        add(f"crawl, {r['crawl_articles']:,} articles = {r['crawl_pages']:,} pages (pages/s)",
            _num(r["crawl_pages_per_s"]), _num(r["crawl_baseline_pages_per_s"]), _num(r["crawl_ratio"], 2),
            "ratio ≥ 0.65")
    if "sqlite_items_per_s" in r:
        batch = r["storage_batch_size"]
        add(f"SQLite writes, batches of {batch} (items/s)", _num(r["sqlite_items_per_s"]), target="≥ 5,000")
        add("SQLite, dedup check + write (items/s)", _num(r["sqlite_dedup_items_per_s"]))
        if "postgres_items_per_s" in r:
            add(f"PostgreSQL writes, batches of {batch} (items/s)", _num(r["postgres_items_per_s"]))
            add("PostgreSQL, dedup check + write (items/s)", _num(r["postgres_dedup_items_per_s"]))
        else:
            add("PostgreSQL writes", r.get("postgres_note", "skipped"))
    if "rss_mb_small" in r:
        add(f"peak RSS, crawl of {r['n_small']:,} / {r['n_large']:,} articles (MB)",
            f"{r['rss_mb_small']:.1f} / {r['rss_mb_large']:.1f}")
        add("RSS growth per crawled article (bytes)", _num(r["bytes_per_article"]))
        add(f"RSS growth per known article ({r['known_articles']:,} in the database) (bytes)",
            _num(r["bytes_per_known_article"], 1), target="a few")
        add("spider's per-process URL set / Scrapy dupefilter, per URL (bytes)",
            f"{r['seen_set_bytes_per_url']} / {r['dupefilter_bytes_per_url']}")
    if "listing_100k_rss_mb" in r:
        add(f"peak RSS, crawl of one {r['listing_links']:,}-link listing, {r['listing_pages']:,} pages (MB)",
            f"{r['listing_100k_rss_mb']:.1f}", target="< 200")
    for scenario, label in (("plain", "without JOBDIR"), ("jobdir", "with JOBDIR")):
        if f"crash_{scenario}_missing" in r:
            counts = [r[f"crash_{scenario}_{k}"] for k in ("missing", "duplicated", "one_store_only")]
            add(f"crash harness, {r['crash_articles']:,} articles stopped {r['crash_stops']} times {label}: "
                "missing / duplicated / in one store only", " / ".join(map(str, counts)), target="0 / 0 / 0")
    if "crash_warc_missing" in r:
        counts = [r[f"crash_warc_{k}"] for k in ("missing", "duplicated", "one_store_only", "wrong_copy", "stale")]
        add(f"crash harness, WARC backfill of {r['crash_warc_records']:,} records SIGKILLed "
            f"{len(r['crash_warc_stops'])} times: missing / duplicated / in one store only / not the earliest "
            "capture / feed's best line not the row", " / ".join(map(str, counts)), target="0 / 0 / 0 / 0 / 0")
    if "warc_articles_per_s" in r:
        add(f"WARC records, {r['warc_compared_records']:,}: full extraction / trafilatura.extract with metadata "
            "(articles per CPU s)", _num(r["warc_articles_per_s"]), _num(r["warc_trafilatura_per_s"]),
            _num(r["warc_vs_trafilatura"], 1), "ratio ≥ 5")
        add(f"WARC backfill crawl of {r['warc_records_small']:,} records into SQLite + JSONL "
            "(articles per CPU s; per wall s) / trafilatura", f"{_num(r['warc_crawl_articles_per_s'])}; "
            f"{_num(r['warc_crawl_articles_per_wall_s'])}", _num(r["warc_trafilatura_per_s"]),
            _num(r["warc_crawl_vs_trafilatura"], 1), "(shown only)")
        add(f"peak RSS, WARC backfill of {r['warc_records_small']:,} / {r['warc_records_large']:,} records (MB)",
            f"{r['warc_rss_mb_small']:.1f} / {r['warc_rss_mb_large']:.1f}", ratio=_num(r["warc_rss_ratio"], 2),
            target="ratio ≤ 1.5")
    if "stories_precision" in r:
        add(f"story clusters, {r['stories_eval_articles']:,} labelled articles, assigned in crawl order: "
            "pair precision / recall", f"{r['stories_precision']:.3f} / {r['stories_recall']:.3f}",
            target="≥ 0.98 / ≥ 0.95")
        add("story clusters, the same set rebuilt from scratch: pair precision / recall",
            f"{r['stories_rebuild_precision']:.3f} / {r['stories_rebuild_recall']:.3f}",
            target="≥ 0.98 / ≥ 0.95")
        add("story clusters: articles whose copy_of is the expected one (share)",
            f"{r['stories_copy_of_accuracy']:.3f}")
    if "stories_100k_s" in r:
        add(f"story index rebuilt from scratch, {r['stories_scale_articles']:,} articles on SQLite (s)",
            f"{_num(r['stories_100k_s'], 1)} (CPU {_num(r['stories_100k_cpu_s'], 1)})", target="≤ 120")
        add("peak RSS of that rebuild (MB)", _num(r["stories_rss_mb"], 1), target="≤ 1,024")
        add("assigning one new article into that index, in the crawl's batches (ms per article)",
            f"{_num(r['stories_assign_ms'], 2)} (CPU {_num(r['stories_assign_cpu_ms'], 2)})", target="< 2")
        add("assigning one new article alone, one call and transaction (ms)",
            _num(r["stories_assign_single_ms"], 1))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=" ".join(__doc__.split()))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test (numbers are noise)")
    parser.add_argument("--output", type=Path, help="JSON file (default: $NEWSCRAWL_DATA_DIR/bench.json)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    parser.add_argument("--articles", type=int, help="articles in the crawl benchmark (default 2000)")
    parser.add_argument("--rounds", type=int, help="crawl runs per side; the medians are reported (default 5)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL storage benchmark")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"error: unknown section {unknown[0]!r}; known: {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    output = args.output or Path(os.environ.get("NEWSCRAWL_DATA_DIR", "data")) / "bench.json"
    articles = args.articles or (120 if args.quick else 2000)
    rounds = args.rounds or (1 if args.quick else 5)

    import scrapy

    from bench import crash, crawl, extract, library, memory, storage, stories, warc

    results: dict = {}
    started = time.perf_counter()
    for section in sections:
        print(f"bench: {section} ...", file=sys.stderr, flush=True)
        try:
            if section == "extract":
                results.update(extract.run(quick=args.quick))
            elif section == "library":
                results.update(library.run(quick=args.quick))
            elif section == "crawl":
                results.update(crawl.run(articles, rounds))
            elif section == "storage":
                results.update(storage.run(quick=args.quick, postgres=not args.no_postgres))
            elif section == "crash":
                results.update(crash.run(*((600, 2) if args.quick else (20_000, 8))))
                results.update(crash.run_warc(*((400, 2) if args.quick else (20_000, 4))))
            elif section == "warc":
                results.update(warc.run(*((100, 200) if args.quick else (5_000, 50_000))))
            elif section == "stories":
                results.update(stories.run(quick=args.quick))
            else:
                results.update(memory.run(*((60, 120, 2_000) if args.quick else (500, 5_000, 200_000))))
                results.update(memory.listing_crawl(*((2_000, None) if args.quick else
                                                      (memory.LISTING_LINKS, memory.LISTING_PAGES))))
        except RuntimeError as exc:
            print(f"error: {section}: {exc}", file=sys.stderr)
            return 1
    results["meta"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
        "seconds": round(time.perf_counter() - started, 1), "cpus": os.cpu_count(),
        "python": platform.python_version(), "scrapy": scrapy.__version__, "machine": platform.machine(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwritten to {output} in {results['meta']['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
