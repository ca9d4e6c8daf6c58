"""Distributed crawling over Redis (scrapy-redis), switched on by NEWSCRAWL_REDIS_URL.

Every `scrapy crawl` process given the same Redis URL and crawl id shares one request queue and one
dupefilter, so a fleet on one or many machines works through one crawl and no URL is fetched twice.
Keys are namespaced by NEWSCRAWL_CRAWL_ID, so a new crawl does not inherit the last one's dupefilter;
SCHEDULER_PERSIST is on because with several workers the first to finish must not wipe the queue.
"""

from __future__ import annotations

import time

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured


class RedisAddon:
    """Listed in ADDONS; does nothing unless NEWSCRAWL_REDIS_URL is set."""

    def update_settings(self, settings):
        url = settings.get("NEWSCRAWL_REDIS_URL")
        if not url:
            return
        crawl = settings.get("NEWSCRAWL_CRAWL_ID") or "default"
        settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", "addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
        settings.set("SCHEDULER_PERSIST", True, "addon")
        settings.set("REDIS_URL", url, "addon")
        settings.set("SCHEDULER_QUEUE_KEY", f"newscrawl:%(spider)s:{crawl}:requests", "addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"newscrawl:%(spider)s:{crawl}:dupefilter", "addon")
        settings["EXTENSIONS"][FleetIdle] = 600


class FleetIdle:
    """Keep an idle worker alive for NEWSCRAWL_REDIS_IDLE_CLOSE seconds: another worker may still be
    parsing a listing page that will fill the shared queue again."""

    def __init__(self, crawler, wait: float):
        self.crawler = crawler
        self.wait = wait
        self.idle_since: float | None = None
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("NEWSCRAWL_REDIS_URL"):
            raise NotConfigured
        return cls(crawler, crawler.settings.getfloat("NEWSCRAWL_REDIS_IDLE_CLOSE", 10.0))

    def request_scheduled(self, request, spider):
        self.idle_since = None

    def response_received(self, response, request, spider):
        self.idle_since = None

    def spider_idle(self, spider):
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.wait:
            raise DontCloseSpider
