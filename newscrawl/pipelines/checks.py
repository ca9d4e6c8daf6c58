"""Checks on a parsed article: required fields and a clean news code (Validate), the publication date
from the date as shown, cross-checked with the machine-readable one (Dates)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newscrawl.parsing.dates import parse_iso, parse_jalali, to_tehran_iso
from newscrawl.pipelines import SCRAPY_DROP_LOG_LEVEL, _Pipeline

logger = logging.getLogger(__name__)

REQUIRED = ("site", "news_code", "url", "title", "body")
META_MISMATCH = timedelta(hours=1)
_ASCII_DIGITS = re.compile(r"[0-9]+")


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
