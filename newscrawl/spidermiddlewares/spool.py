"""Articles that could not be stored, kept on disk until a later run stores them.

When the database stays unreachable (newscrawl.db.store.StorageUnavailable), StoragePipeline appends the
articles it holds to `<NEWSCRAWL_DATA_DIR>/spool/<spider>.<database>.spool` (spool_name) and the crawl
stops. The next crawl of
that spider yields them again, before its own requests, through the normal pipelines (dedup, storage,
feed), through the `SpoolReplay` spider middleware (SPIDER_MIDDLEWARES), so every spider replays.

Why our own files and not a queue library: the spool must survive SIGKILL and a full disk line by line
(each write is whole lines or nothing, fsynced), be readable by an operator, and be handed from one
process to the next without loss while other crawls may be spooling at the same time:
- a writer appends under a shared flock, after checking that the path is still the file it opened;
- a replaying run claims the spool by renaming it to `<spider>.<database>.<run_id>.replay` under an
  exclusive flock, which it holds until it exits; new failures meanwhile go to a new spool file;
- a claimed file is deleted only when the replaying run closes with finish reason `finished`; else the
  lock dies with the process and the next run claims the file again. Replaying twice is harmless: the
  database stores an article once, and only the run that stored it writes its feed line.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy import signals

logger = logging.getLogger(__name__)

SUFFIX = ".spool"  # JSON Lines, but not *.jsonl: a glob for the feeds must not take unstored articles
REPLAY_SUFFIX = ".replay"


def spool_dir(settings) -> Path:
    from newscrawl.db import url as dburl

    return Path(settings.get("NEWSCRAWL_DATA_DIR") or dburl.data_dir()) / "spool"


def spool_name(spider_name: str, db_url: str) -> str:
    """`<spider>.<database>`: the spool's name names its database too (a short hash of the URL, shown with
    its secrets masked), so a crawl replays only articles meant for its own database; a test-site crawl
    (its own database) never replays into the real one, even with the same data folder."""
    from newscrawl.db.store import _safe

    return f"{spider_name}.{hashlib.sha1(_safe(db_url).encode()).hexdigest()[:8]}"


def spool_path(crawler, spider_name: str | None = None) -> Path:
    """Where this crawl's unstored articles go: <NEWSCRAWL_DATA_DIR>/spool/<spider>.<database>.spool."""
    from newscrawl.db.store import store_for

    name = spider_name or crawler.spider.name
    return spool_dir(crawler.settings) / f"{spool_name(name, store_for(crawler).url)}{SUFFIX}"


def write_all(fd: int, data: bytes, write=os.write) -> None:
    """os.write until every byte is written (a write to a regular file can be short, e.g. on a full disk)."""
    view = memoryview(data)
    while view:
        written = write(fd, view)
        if written <= 0:
            raise OSError("write() wrote nothing")
        view = view[written:]


def append(path: Path, items: Iterable) -> int:
    """Append `items` (one JSON line each) to the spool file `path`, all or nothing, and fsync it.
    Returns how many were written; raises OSError (the file is left as it was)."""
    lines = b"".join(json.dumps(ItemAdapter(item).asdict(), ensure_ascii=False, default=str).encode() + b"\n"
                     for item in items)
    if not lines:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            try:
                # never wait for a replaying run's exclusive lock: it is renaming this file away
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except (BlockingIOError, FileNotFoundError):
                same = False
            if not same:  # claimed (renamed) by a replaying run: write to a new file
                time.sleep(0.01)
                continue
            start = os.fstat(fd).st_size
            try:
                write_all(fd, lines)
                os.fsync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise
            return lines.count(b"\n")
        finally:
            os.close(fd)


def read(path: Path) -> Iterator[dict]:
    """The items of a spool file; a line cut by a crash is skipped."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                logger.warning("%s: line %d is incomplete (the run writing it was killed); skipped", path, number)
                continue
            try:
                item = json.loads(line)
            except ValueError:
                logger.warning("%s: line %d is not JSON; skipped", path, number)
                continue
            if isinstance(item, dict):
                yield item


class _Claims:
    """The spool files a run has claimed; deleted when it closes with finish reason `finished`."""

    def __init__(self, crawler):
        self.files: list[tuple[Path, int]] = []
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_closed(self, spider, reason):
        for path, fd in self.files:
            if reason == "finished":
                path.unlink(missing_ok=True)
            os.close(fd)
        if self.files and reason == "finished":
            logger.info("the replayed spool is stored; removed %s", ", ".join(str(p) for p, _ in self.files))
        self.files = []


def claim(directory: Path, name: str, run_id: str) -> list[tuple[Path, int]]:
    """Take the spool files `name` (see spool_name) that no live run holds: (path, locked fd) each."""
    if not directory.is_dir():
        return []
    taken = []
    fresh = directory / f"{name}{SUFFIX}"
    candidates = sorted(directory.glob(f"{glob.escape(name)}.*{REPLAY_SUFFIX}"))
    if fresh.exists():
        candidates.append(fresh)
    for path in candidates:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            # a writer holds its shared lock for one write: wait for it; a replaying run holds its lock for
            # the whole run: skip its files
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if path == fresh else fcntl.LOCK_NB))
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            continue
        if path == fresh:
            target = directory / f"{name}.{run_id}{REPLAY_SUFFIX}"
            os.rename(path, target)
            path = target
        taken.append((path, fd))
    return taken


def replay_items(crawler) -> Iterator[dict]:
    """The articles earlier runs of this spider spooled, for the spider's start() to yield first:

        async def start(self):
            for item in replay_items(self.crawler):
                yield item
            ...

    Each goes through every pipeline as if just scraped. The spool is removed when this run closes
    with finish reason `finished`."""
    from newscrawl.db.store import run_id_for

    path = spool_path(crawler)
    claims = getattr(crawler, "_newscrawl_spool_claims", None)
    if claims is None:
        claims = crawler._newscrawl_spool_claims = _Claims(crawler)
    taken = claim(path.parent, path.name.removesuffix(SUFFIX), run_id_for(crawler))
    claims.files.extend(taken)
    for path, _fd in taken:
        count = 0
        for item in read(path):
            count += 1
            crawler.stats.inc_value("newscrawl/spool/replayed")
            yield item
        logger.info("replayed %d spooled articles from %s", count, path)


class SpoolReplay:
    """Spider middleware: yields the spooled articles (replay_items) before the spider's start output."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_start(self, start):
        for item in replay_items(self.crawler):
            yield item
        async for item_or_request in start:
            yield item_or_request
