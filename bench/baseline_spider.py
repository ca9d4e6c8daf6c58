"""The cheapest crawl of the test site's archive: follow the same archive and article links as the
tabnak spider and yield only each article's URL. Run with `scrapy runspider` outside the project (plain
Scrapy settings), e.g.

    scrapy runspider bench/baseline_spider.py -a start=http://127.0.0.1:PORT/gen/fa/archive?...
"""

import scrapy

LINKS = "div.linear_news a.title5::attr(href), div.archive_content a.title5::attr(href)"  # as IranSamaneh
NEXT = '//div[contains(@class, "pagination")]//a[contains(., "►")]/@href'


class BaselineSpider(scrapy.Spider):
    name = "baseline"

    def __init__(self, start: str = "", **kwargs):
        super().__init__(**kwargs)
        self.start_url = start

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse_archive)

    def parse_archive(self, response):
        links = response.css(LINKS).getall()
        for href in links:
            yield response.follow(href, callback=self.parse_article)
        next_href = response.xpath(NEXT).get()
        if links and next_href:
            yield response.follow(next_href, callback=self.parse_archive)

    def parse_article(self, response):
        yield {"url": response.url}
