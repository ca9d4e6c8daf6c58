"""Item pipelines, in the order settings.ITEM_PIPELINES runs them: clean (markup, schema) → checks
(required fields, dates) → store (dedup, storage).

StoragePipeline returns an item only once its row is committed, so every feed (ours, `-o`, Scrapyd's)
gets a line only for an article the database holds.
"""

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
