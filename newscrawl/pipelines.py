"""Item pipelines: validate → dates → dedup → storage (order in settings.ITEM_PIPELINES).

`transforms = True` marks the pipelines that change or check an item without storing it; the
`scrapy extract` command and the benchmarks run only those.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newscrawl.dates import parse_iso, parse_jalali, to_tehran_iso
from newscrawl.storage import StorageError, store_for

logger = logging.getLogger(__name__)

REQUIRED = ("site", "news_code", "url", "title", "body")
META_MISMATCH = timedelta(hours=1)
_ASCII_DIGITS = re.compile(r"[0-9]+")
#: Scrapy's own "Dropped: <reason>" line dumps the whole item (body included) at WARNING; our pipelines
#: log one line with the URL at the right level instead, so Scrapy's goes to DEBUG.
SCRAPY_DROP_LOG_LEVEL = "DEBUG"


class _Pipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class ValidatePipeline(_Pipeline):
    """A stored article always has its key, URL, title and body; anything else is dropped, with why."""

    transforms = True

    def process_item(self, item):
        adapter = ItemAdapter(item)
        url = str(adapter.get("url") or "").strip() or "?"
        for field in REQUIRED:
            value = adapter.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.stats.inc_value(f"newscrawl/dropped/missing_{field}")
                logger.warning("dropped %s: missing %s", url, field)
                raise DropItem(f"missing {field}", log_level=SCRAPY_DROP_LOG_LEVEL)
        if not isinstance(adapter["news_code"], str) or not _ASCII_DIGITS.fullmatch(adapter["news_code"]):
            self.stats.inc_value("newscrawl/dropped/bad_news_code")
            logger.warning("dropped %s: news_code %r is not ASCII digits", url, adapter["news_code"])
            raise DropItem("bad news_code", log_level=SCRAPY_DROP_LOG_LEVEL)
        return item


class DatesPipeline(_Pipeline):
    """published_at from the date shown on the page; the machine-readable date (JSON-LD, meta, RSS)
    is the fallback when the shown date is absent or unreadable, and a cross-check otherwise."""

    transforms = True

    def process_item(self, item):
        adapter = ItemAdapter(item)
        raw = adapter.get("published_at_raw")
        meta_value = adapter.get("published_at_meta")
        shown = parse_jalali(raw) if raw else None
        meta = parse_iso(meta_value) if meta_value else None
        url = adapter.get("url")
        if raw and shown is None:
            self.stats.inc_value("newscrawl/date/unparseable")
            logger.warning("unparseable date %r on %s", raw, url)
        if shown is not None:
            adapter["published_at"] = to_tehran_iso(shown)
            if meta is not None and abs(shown - meta) > META_MISMATCH:
                self.stats.inc_value("newscrawl/date/meta_mismatch")
                logger.debug("shown date %s and metadata %s differ on %s", shown, meta_value, url)
        elif meta is not None:
            adapter["published_at"] = to_tehran_iso(meta)
            self.stats.inc_value("newscrawl/date/from_meta")
        else:
            adapter["published_at"] = None
            if not raw:
                self.stats.inc_value("newscrawl/date/missing")
        if "published_at_meta" in adapter:
            del adapter["published_at_meta"]
        return item


class DedupPipeline(_Pipeline):
    """One article per (site, news_code), across runs: the state is the database itself."""

    def open_spider(self):
        self.store = store_for(self.crawler).open()

    def process_item(self, item):
        adapter = ItemAdapter(item)
        try:
            known = self.store.is_known(adapter["site"], adapter["news_code"])
        except StorageError as exc:
            # fail open: the storage upsert keeps one row per key anyway
            self.stats.inc_value("newscrawl/db/errors")
            logger.error("duplicate check skipped for %s: %s", adapter["url"], exc)
            return item
        if known:
            self.stats.inc_value("newscrawl/duplicates")
            logger.info("duplicate %s/%s skipped (%s)", adapter["site"], adapter["news_code"], adapter["url"])
            raise DropItem("duplicate", log_level=SCRAPY_DROP_LOG_LEVEL)
        return item


class StoragePipeline(_Pipeline):
    """Batched upserts; the last batch is written when the spider closes.

    A failed write is one error line (not a traceback per item); the batch stays pending and is
    retried with the next one, so a short database outage loses nothing.
    """

    def open_spider(self):
        self.store = store_for(self.crawler).open()

    def process_item(self, item):
        adapter = ItemAdapter(item)
        # A full batch is written before the next item, not with its last one: by then that item's feed
        # line is written too, so a crash never leaves an article in the database but not in the JSON
        # Lines file (the file's repair handles the opposite case).
        if len(self.store.pending) >= self.store.batch_size:
            try:
                self.store.flush()
            except StorageError as exc:
                self.stats.inc_value("newscrawl/db/errors")
                logger.error("%s (%d articles kept pending; next one %s)", exc, len(self.store.pending),
                             adapter["url"])
        self.store.add(adapter, autoflush=False)
        self.stats.inc_value("newscrawl/stored")
        return item

    def close_spider(self):
        try:
            self.store.close()
        except StorageError as exc:
            self.stats.inc_value("newscrawl/db/errors")
            self.stats.set_value("newscrawl/db/unwritten", len(self.store.pending))
            logger.error("%s: %d articles were not written", exc, len(self.store.pending))
