"""Crash-safe JSON Lines files for Scrapy's feed exports.

Scrapy's file storage writes through a buffer, so a SIGKILL can leave a half-written last line, and
the items of the database batch that was never committed are in the file but not in the database.
This storage writes each item with one unbuffered write and, when it opens an existing file to
append (a resumed or repeated crawl), first cuts a partial last line and then the trailing lines whose
article is not in the database: those articles will be crawled again, so each ends up exactly once
in the file and in the database.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from scrapy.extensions.feedexport import FileFeedStorage

from newscrawl.storage import ArticleStore, StorageError

logger = logging.getLogger(__name__)


def _line_start(fh, end: int, chunk: int = 8192) -> int:
    """Offset where the line that ends (with its newline) at `end` starts."""
    pos = end - 1  # skip the line's own newline
    while pos > 0:
        step = min(chunk, pos)
        fh.seek(pos - step)
        found = fh.read(step).rfind(b"\n")
        if found >= 0:
            return pos - step + found + 1
        pos -= step
    return 0


def repair(path: str | Path, known=None) -> int:
    """Make `path` end at a complete line whose article is stored; return the bytes cut.

    `known(site, news_code) -> bool` says whether the database has an article (None: keep all)."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    with path.open("r+b") as fh:
        end = size
        if size:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":  # a partial last line: everything after the last newline goes
                fh.seek(0)
                head = fh.read(size)
                end = head.rfind(b"\n") + 1
        while known is not None and end > 0:  # drop trailing lines whose article is not stored
            start = _line_start(fh, end)
            fh.seek(start)
            line = fh.read(end - start)
            try:
                row = json.loads(line)
                stored = known(row.get("site"), row.get("news_code"))
            except (ValueError, AttributeError):
                stored = False
            if stored:
                break
            end = start
        if end != size:
            fh.truncate(end)
    return size - end


class SafeFileFeedStorage(FileFeedStorage):
    """FileFeedStorage with unbuffered writes and repair-on-append (see the module docstring)."""

    def __init__(self, uri, *, feed_options=None, crawler=None):
        super().__init__(uri, feed_options=feed_options)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler, uri, *, feed_options=None):
        return cls(uri, feed_options=feed_options, crawler=crawler)

    def open(self, spider):
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.write_mode == "ab" and path.exists() and path.stat().st_size:
            store = self._store()
            try:
                cut = repair(path, (lambda site, code: bool(site and code) and store.is_known(site, code))
                             if store is not None else None)
            finally:
                if store is not None:
                    store.close()
            if cut:
                logger.warning("repaired %s: cut %d bytes of lines not in the database or incomplete", path, cut)
                if self.crawler is not None:
                    self.crawler.stats.inc_value("newscrawl/feed/repaired_bytes", cut)
        return open(path, self.write_mode, buffering=0)  # one write() per item line

    def _store(self) -> ArticleStore | None:
        """The crawl's database, to tell which trailing lines were stored (None: keep them all)."""
        if self.crawler is None or "newscrawl.pipelines.StoragePipeline" not in \
                self.crawler.settings.getdict("ITEM_PIPELINES"):
            return None
        try:
            return ArticleStore(self.crawler.settings.get("NEWSCRAWL_DATABASE_URL")).open()
        except StorageError:
            return None


def run_id(settings) -> str:
    """A name for this run's feed file: stable across a JOBDIR resume, else the start time."""
    jobdir = settings.get("JOBDIR")
    if jobdir:
        return os.path.basename(os.path.normpath(jobdir))
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def uri_params(params: dict, spider) -> dict:
    """FEED_URI_PARAMS: adds %(run_id)s for every spider, ours or not (e.g. `scrapy runspider`)."""
    params.setdefault("run_id", run_id(spider.crawler.settings))
    return params
