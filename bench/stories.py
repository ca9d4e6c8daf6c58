"""Story clusters (issue 18): quality on the evaluation set and speed at 100,000 articles.

Quality: the labelled set of testkit/stories_eval.py (2,000 articles) is stored in a scratch SQLite
database and assigned the way a crawl does it: in crawl order (shuffled: copies often come before their
original), batches of 100 through StoryIndex.assign. `stories_precision` / `stories_recall` are over pairs
of articles (a pair is positive when both are in one story), from the story ids assign returned. The same
set rebuilt from scratch (StoryIndex.rebuild, story ids read back from `articles`) gives the
`stories_rebuild_*` rows, and `stories_copy_of_accuracy` is the share of articles whose `copy_of` is the
expected one (a copy: the article of the site it credits, else the first article of its story; the rest:
null).

Speed: `stories_100k_s` is StoryIndex.rebuild over 100,000 generated articles read from the `articles`
table of a SQLite database (as `scrapy stories --rebuild` reads them), in a subprocess of its own so that
`stories_rss_mb` is that process's peak RSS (interpreter and libraries included); `stories_100k_cpu_s` is
its CPU time (wall time suffers when other work shares the cores, CPU time less). `stories_assign_ms` is
the cost of assigning one new article into that index as the crawl does it: StoriesPipeline assigns the
articles of each stored batch (NEWSCRAWL_DB_BATCH_SIZE) in one call, so it is the time of one such call
divided by its articles (the median of NEW_BATCHES calls; `stories_assign_cpu_ms` the same in CPU time).
`stories_assign_single_ms` is the median time of an `assign([article])` call of its own (one transaction
for one article, shown only). Generating and storing the articles is not timed.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from newscrawl import settings as project

ROOT = Path(__file__).resolve().parents[1]
QUALITY_ARTICLES = 2_000
SCALE_ARTICLES = 100_000
NEW_BATCHES = 5  # batches of NEWSCRAWL_DB_BATCH_SIZE assigned after the rebuild: stories_assign_ms
NEW_SINGLES = 100  # then articles assigned one per call: stories_assign_single_ms
BATCH = 100


def _stored(article: dict) -> dict:
    """An article of the set as the crawl would store it (the fields the set does not make, filled)."""
    return {**article, "url": f"https://{article['site']}/news/{article['news_code']}", "category": [],
            "tags": [], "images": [], "language": "fa", "crawled_at": datetime.now(UTC).isoformat()}


def store(db_url: str, articles) -> None:
    """Write `articles` into the `articles` table (created by ArticleStore)."""
    from newscrawl.db.store import ArticleStore

    articles_store = ArticleStore(db_url, batch_size=5000).open()
    try:
        for article in articles:
            articles_store.add(_stored(article))
        articles_store.flush()
    finally:
        articles_store.close()


def crawl_engine(db_url: str):
    """The engine a crawl gives the story index: ArticleStore's (on SQLite: WAL, synchronous=NORMAL)."""
    from newscrawl.db.store import ArticleStore

    return ArticleStore(db_url).open().engine


def stored_assignments(engine) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(story_id, copy_of) of every stored article."""
    from newscrawl.db.store import articles

    with engine.connect() as conn:
        rows = conn.execute(select(articles.c.site, articles.c.news_code, articles.c.story_id,
                                   articles.c.copy_of))
        return {(site, code): (story, copy) for site, code, story, copy in rows}


def copy_of_accuracy(made, copies: dict[tuple[str, str], str | None]) -> float:
    """Share of the set's articles whose copy_of is the expected one (stories_eval.expected_copy_of)."""
    from testkit.stories_eval import expected_copy_of

    return sum(copies.get(key) == expected_copy_of(made, key) for key in made.truth) / len(made.truth)


def quality(n: int = QUALITY_ARTICLES, seed: int = 0) -> dict:
    """Pair precision and recall on the evaluation set, assigned incrementally and rebuilt."""
    from newscrawl.stories import StoryIndex
    from testkit.stories_eval import build_set, pair_scores

    made = build_set(n, seed)
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-stories-") as work:
        url = f"sqlite:///{work}/eval.sqlite3"
        store(url, made.articles)
        engine = crawl_engine(url)
        try:
            index = StoryIndex(engine)
            predicted: dict = {}
            for start in range(0, len(made.articles), BATCH):
                got = index.assign(made.articles[start:start + BATCH])
                predicted |= {key: a.story_id for key, a in got.items()}
            precision, recall = pair_scores(made.truth, predicted)
            incremental = stored_assignments(engine)
            index.rebuild(made.articles)
            rebuilt = stored_assignments(engine)
        finally:
            engine.dispose()
    re_precision, re_recall = pair_scores(made.truth, {k: v[0] for k, v in rebuilt.items()})
    copies = copy_of_accuracy(made, {k: v[1] for k, v in incremental.items()})
    return {"stories_precision": round(precision, 4), "stories_recall": round(recall, 4),
            "stories_rebuild_precision": round(re_precision, 4),
            "stories_rebuild_recall": round(re_recall, 4),
            "stories_copy_of_accuracy": round(copies, 4), "stories_eval_articles": len(made.articles),
            "stories_eval_stories": len(set(made.truth.values()))}


def measure(db_url: str, new_file: Path) -> dict:
    """In the measuring subprocess: rebuild the index over the stored articles but the new ones, then
    assign the new ones one at a time."""
    from newscrawl.db.store import Selection, selected
    from newscrawl.stories import StoryIndex

    new = json.loads(new_file.read_text(encoding="utf-8"))
    skip = {(a["site"], a["news_code"]) for a in new}
    engine = crawl_engine(db_url)
    index = StoryIndex(engine)
    fields = ("site", "news_code", "title", "body", "published_at", "source")
    rows = ({name: item[name] for name in fields} for item in selected(engine, Selection(), chunk=2000)
            if (item["site"], item["news_code"]) not in skip)
    start, cpu = time.perf_counter(), time.process_time()
    count = index.rebuild(rows)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    batch = project.NEWSCRAWL_DB_BATCH_SIZE
    batched, batched_cpu, single = [], [], []
    for first in range(0, len(new) - NEW_SINGLES, batch):
        articles = new[first:first + batch]
        start, cpu = time.perf_counter(), time.process_time()
        index.assign(articles)
        batched.append((time.perf_counter() - start) * 1000 / len(articles))
        batched_cpu.append((time.process_time() - cpu) * 1000 / len(articles))
    for article in new[-NEW_SINGLES:]:
        start = time.perf_counter()
        index.assign([article])
        single.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return {"rebuilt": count, "seconds": seconds, "cpu_s": cpu, "rss_mb": peak_mb,
            "assign_ms": statistics.median(batched), "assign_cpu_ms": statistics.median(batched_cpu),
            "assign_single_ms": statistics.median(single)}


def scale(n: int = SCALE_ARTICLES, batches: int = NEW_BATCHES, timeout: float = 1800) -> dict:
    """Store n + new generated articles, then time the rebuild of n and the assignment of the others in a
    subprocess of its own (its peak RSS is the rebuild's)."""
    from testkit.stories_eval import stream

    new = batches * project.NEWSCRAWL_DB_BATCH_SIZE + NEW_SINGLES
    with tempfile.TemporaryDirectory(prefix="newscrawl-bench-stories-") as work:
        url = f"sqlite:///{work}/scale.sqlite3"
        generated = list(stream(n + new, seed=7))
        store(url, generated)
        new_file = Path(work) / "new.json"
        new_file.write_text(json.dumps(generated[n:], ensure_ascii=False), encoding="utf-8")
        del generated
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            result = subprocess.run([sys.executable, "-m", "bench.stories", url, str(new_file)], cwd=ROOT,
                                    env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"rebuilding the story index of {n:,} articles took over {timeout:.0f} s") \
                from None
        if result.returncode != 0:
            raise RuntimeError(f"the story index benchmark failed: {result.stderr.strip()[-2000:]}")
        got = json.loads(result.stdout.strip().splitlines()[-1])
    if got["rebuilt"] != n:
        raise RuntimeError(f"StoryIndex.rebuild assigned {got['rebuilt']:,} articles of {n:,}")
    return {"stories_scale_articles": n, "stories_100k_s": round(got["seconds"], 1),
            "stories_100k_cpu_s": round(got["cpu_s"], 1),
            "stories_rss_mb": round(got["rss_mb"], 1), "stories_assign_ms": round(got["assign_ms"], 3),
            "stories_assign_cpu_ms": round(got["assign_cpu_ms"], 3),
            "stories_assign_single_ms": round(got["assign_single_ms"], 2)}


def run(quick: bool = False) -> dict:
    """Both; --quick: 300 labelled articles and 3,000 at scale (numbers are noise)."""
    if quick:
        return quality(300) | scale(3_000, 1)
    return quality() | scale()


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
