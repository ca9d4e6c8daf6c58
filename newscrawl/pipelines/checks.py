"""Checks on a parsed article: required fields and a clean news code (Validate).

The rule itself is newscrawl.pages.finish.validate, which the library (newscrawl.offline) applies too. The
publication date is no pipeline any more: the page dates its item (newscrawl.pages.finish.publication_date)
and the spider counts what it noticed (`newscrawl/date/*`).
"""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newscrawl.pages.finish import NotAnArticle, validate
from newscrawl.pipelines import SCRAPY_DROP_LOG_LEVEL, _Pipeline

logger = logging.getLogger(__name__)


class ValidatePipeline(_Pipeline):
    """A stored article always has its key, URL, title and body; anything else is dropped, with why."""

    def process_item(self, item):
        adapter = ItemAdapter(item)
        try:
            validate(adapter)
        except NotAnArticle as exc:
            self.stats.inc_value(f"newscrawl/{exc.stat}")
            url = str(adapter.get("url") or "").strip() or "?"
            if exc.stat == "dropped/bad_news_code":
                logger.warning("dropped %s: news_code %r is no site id (ASCII letters, digits, - and _)", url,
                               adapter["news_code"])
            else:
                logger.warning("dropped %s: %s", url, exc)
            raise DropItem(str(exc), log_level=SCRAPY_DROP_LOG_LEVEL) from None
        return item
