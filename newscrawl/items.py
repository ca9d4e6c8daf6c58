"""The one item schema every site produces (documented in README, "The item")."""

import scrapy

#: Field order as exported; list fields are always lists, missing scalars None.
FIELDS = (
    "site", "news_code", "url", "title", "kicker", "lead", "body",
    "published_at", "published_at_raw", "category", "tags", "images",
    "source", "language", "crawled_at",
)
LIST_FIELDS = ("category", "tags", "images")


class ArticleItem(scrapy.Item):
    site = scrapy.Field()
    news_code = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    kicker = scrapy.Field()
    lead = scrapy.Field()
    body = scrapy.Field()
    published_at = scrapy.Field()
    published_at_raw = scrapy.Field()
    #: machine-readable date from JSON-LD/meta/RSS; consumed (and removed) by DatesPipeline
    published_at_meta = scrapy.Field()
    category = scrapy.Field()
    tags = scrapy.Field()
    images = scrapy.Field()
    source = scrapy.Field()
    language = scrapy.Field()
    crawled_at = scrapy.Field()
