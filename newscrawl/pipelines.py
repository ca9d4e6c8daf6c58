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
from newscrawl.storage import store_for

logger = logging.getLogger(__name__)

REQUIRED = ("site", "news_code", "url", "title", "body")
META_MISMATCH = timedelta(hours=1)


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
        for field in REQUIRED:
            value = adapter.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.stats.inc_value(f"newscrawl/dropped/missing_{field}")
                logger.warning("dropped %s: missing %s", adapter.get("url") or "?", field)
                raise DropItem(f"missing {field}")
        if not re.fullmatch(r"[0-9]+", adapter["news_code"]):
            self.stats.inc_value("newscrawl/dropped/bad_news_code")
            logger.warning("dropped %s: news_code %r is not ASCII digits", adapter["url"], adapter["news_code"])
            raise DropItem("bad news_code")
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
        if self.store.is_known(adapter["site"], adapter["news_code"]):
            self.stats.inc_value("newscrawl/duplicates")
            logger.info("duplicate %s/%s skipped (%s)", adapter["site"], adapter["news_code"], adapter["url"])
            raise DropItem("duplicate")
        return item


class StoragePipeline(_Pipeline):
    """Batched upserts; the last batch is written when the spider closes."""

    def open_spider(self):
        self.store = store_for(self.crawler).open()

    def process_item(self, item):
        self.store.add(ItemAdapter(item))
        self.stats.inc_value("newscrawl/stored")
        return item

    def close_spider(self):
        self.store.close()
